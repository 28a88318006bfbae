"""A savings report with a water and a natural-gas contract beside an electricity one: every page, CSV header and
cell says the carrier's unit (m³, and kWh for gas through its calorific value), prices are per m³, CO₂ only for
energy — checked in the PDF text (pdftotext) and the CSV, numbers against hand computation."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from helpers.esco_config import esco_config

from energimon.analytics.report.csv_out import column_keys
from energimon.analytics.report.numbers import fmt_number
from energimon.app.cli import main
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.model import Reading
from energimon.store.sqlite import SqliteStore

SITES = """
[sites.raadhus]
name = "Rådhuset"
latitude = 55.4
longitude = 11.5
[sites.vandvaerk]
name = "Svømmehallen"
latitude = 55.4
longitude = 11.5
[sites.gasfyr]
name = "Gasfyret skole"
latitude = 55.4
longitude = 11.5
[[carriers.gas_calorific_value]]
year = 2025
kwh_per_m3 = 12.157
source = "Evida: afregnet m³ = 12,157 kWh"
"""

ESCO_TABLES = """
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.115
source = "Energinet"
[[esco.co2]]
carrier = "natural_gas"
year = 2023
kg_per_m3 = 2.2627
source = "Evida/Energinet 2023"
[[esco.carrier_prices.water]]
from = 2025-01-01
dkk_per_unit = 45.5
source = "Vandtakst 2026"
[[esco.carrier_prices.natural_gas]]
from = 2025-01-01
dkk_per_unit = 9.5
source = "Gasaftale 2026"
[esco.sites.raadhus]
energy = "hovedmaaler/energy_import_wh"
[esco.sites.vandvaerk]
carrier = "water"
energy = "vandmaaler/volume_m3"
temperature = "raadhus/vejr/outdoor_temp_c"
[esco.sites.gasfyr]
carrier = "natural_gas"
energy = "gasmaaler/volume_m3"
temperature = "raadhus/vejr/outdoor_temp_c"
"""

CONFIG = esco_config(SITES, ESCO_TABLES, contract="Kontrakt", co2_intensity="dk2/energinet/co2_g_per_kwh",
                     temperature="raadhus/vejr/outdoor_temp_c")


def _as_volume(readings: list[Reading], device: str, role: str) -> list[Reading]:
    """The synthetic building's counter (Wh) as a volume counter: 1 m³ per synthetic kWh."""
    return [Reading(r.site, device, "volume_m3", role, r.ts_ms, r.value / 1000.0)
            for r in readings if r.channel == "energy_import_wh"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("carriers")
    (d / "energimon.toml").write_text(CONFIG, encoding="utf-8")
    store = SqliteStore(d / "store.db")
    truth = {}
    start, end, measure = dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1)
    el, truth["raadhus"] = synthetic_readings(SyntheticBuilding("raadhus", 400, 25, 15.0, 16, 60), start, end,
                                              measure, seed=1)
    store.write(el)
    # water: 12 m³/day, no weather dependence, 2 m³/day saved; gas: 40 m³/day + 4 m³/K·day, 5 m³/day saved; the
    # same seed gives every building the town hall's weather (the gas model reads the town hall's temperatures)
    w, truth["vandvaerk"] = synthetic_readings(SyntheticBuilding("vandvaerk", 12, 0, 15.0, 0.4, 2), start, end,
                                               measure, seed=1, with_temperature=False)
    store.write(_as_volume(w, "vandmaaler", "water"))
    g, truth["gasfyr"] = synthetic_readings(SyntheticBuilding("gasfyr", 40, 4, 15.0, 1.5, 5), start, end, measure,
                                            seed=1, with_temperature=False)
    store.write(_as_volume(g, "gasmaaler", "gas"))
    # the grid's CO₂ intensity: 100 g/kWh every hour of March 2026 (for the CO₂ account's electricity)
    t0 = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000) - 3_600_000
    store.write([Reading("dk2", "energinet", "co2_g_per_kwh", "market", t0 + h * 3_600_000, 100.0)
                 for h in range(31 * 24 + 2)])
    store.close()
    assert main(["report", "savings", "--month", "2026-03", "-c", str(d / "energimon.toml")]) == 0
    return d / "rapporter", truth


def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _csv(path) -> tuple[list[str], list[dict[str, str]]]:
    rows = [line.split(";") for line in path.read_text("utf-8-sig").splitlines()]
    keys = column_keys(rows[0], "da")
    return rows[0], [dict(zip(keys, r, strict=True)) for r in rows[1:]]


def _num(cell: str) -> float:
    return float(cell.replace(",", "."))


def test_water_contract_in_m3_with_price_per_m3_and_no_co2(report):
    folder, truth = report
    header, rows = _csv(folder / "besparelse-2026-03.vandvaerk.csv")
    assert "Besparelse m³" in header and "Faktisk forbrug m³" in header and "Besparelse kWh" not in header
    month = next(r for r in rows if r["period"] == "month")
    assert month["unit"] == "m³"
    # the month's measured use is the meter's m³ (not ÷ 1000): the sum of the synthetic days of March 2026
    march = truth["vandvaerk"].loc["2026-03-01":"2026-03-31", "usage_kwh"].sum()
    assert _num(month["actual_kwh"]) == pytest.approx(march, rel=1e-6)
    assert 300 < march < 340  # 31 days × (12 − 2) m³ ± noise
    # priced per m³: every day 45.50 kr./m³, so DKK = 45.5 × the saved m³
    assert _num(month["savings_dkk"]) == pytest.approx(45.5 * _num(month["savings_kwh"]), rel=1e-6)
    assert month["co2_kg"] == ""  # water is no energy: no CO₂, an empty cell (not 0)


def test_gas_contract_in_m3_and_kwh_with_co2_per_m3(report):
    folder, truth = report
    _, rows = _csv(folder / "besparelse-2026-03.gasfyr.csv")
    month = next(r for r in rows if r["period"] == "month")
    saved, used = _num(month["savings_kwh"]), _num(month["actual_kwh"])
    assert month["unit"] == "m³"
    assert used == pytest.approx(truth["gasfyr"].loc["2026-03-01":"2026-03-31", "usage_kwh"].sum(), rel=1e-6)
    assert _num(month["co2_kg"]) == pytest.approx(saved * 2.2627, rel=1e-6)  # Evida's kg CO₂ per m³
    assert _num(month["savings_dkk"]) == pytest.approx(saved * 9.5, rel=1e-6)
    text = _pdftotext(folder / "besparelse-2026-03.pdf")
    # the gas page names both units: m³ × 12.157 kWh/m³
    line = (f"Naturgas i kWh: forbrug {fmt_number(used, 0, 'da')} m³ = {fmt_number(used * 12.157, 0, 'da')} kWh, "
            f"besparelse {fmt_number(saved, 0, 'da')} m³ = {fmt_number(saved * 12.157, 0, 'da')} kWh")
    assert line in " ".join(text.split()), line
    assert "kr./m³" in text and "2,263 kg/m³" in text  # the gas price and CO₂ factor per m³


def test_each_building_page_in_its_unit_and_the_portfolio_sums_only_kwh(report):
    folder, _ = report
    text = _pdftotext(folder / "besparelse-2026-03.pdf")
    pages = text.split("\f")
    water = next(p for p in pages if "\nSvømmehallen\n" in p)  # the building's own page starts with its name
    assert "kWh" not in water
    assert "45,50 kr./m³ (kilde: Vandtakst 2026). CO₂-faktor: –." in water
    assert "Justeret baseline og faktisk forbrug pr. måned (m³)" in water
    header, rows = _csv(folder / "besparelse-2026-03.csv")
    assert "Besparelse [enhed]" in header  # mixed units: the header says the unit column decides
    by = {(r["site"], r["period"]): r for r in rows}
    assert by[("portfolio", "month")]["unit"] == "kWh"
    # the kWh portfolio is the electricity building alone; the m³ buildings are named as left out
    portfolio, raadhus = by[("portfolio", "month")], by[("raadhus", "month")]
    assert _num(portfolio["savings_kwh"]) == pytest.approx(_num(raadhus["savings_kwh"]))
    assert by[("portfolio", "month")]["status"] == "partial"
    assert "Svømmehallen, Gasfyret skole" in by[("portfolio", "month")]["status_reason"]


def test_workbook_sheets_name_their_unit(report):
    from openpyxl import load_workbook

    folder, _ = report
    wb = load_workbook(folder / "besparelse-2026-03.xlsx", read_only=True)
    header = {ws.title: [c.value for c in next(ws.iter_rows(max_row=1))] for ws in wb.worksheets[:4]}
    assert "Besparelse m³" in header["Svømmehallen"] and "Besparelse kWh" not in header["Svømmehallen"]
    assert "Besparelse m³" in header["Gasfyret skole"]
    assert "Besparelse kWh" in header["Rådhuset"]
    assert header["Svømmehallen"][-1] == "Enhed"


def test_the_co2_account_counts_gas_in_m3_and_water_not_at_all(report):
    folder, truth = report
    rows = [line.split(";") for line in (folder / "besparelse-2026-03-co2.csv").read_text("utf-8-sig").splitlines()]
    keys = column_keys(rows[0], "da")
    by = {r[0]: dict(zip(keys, r, strict=True)) for r in rows[1:]}
    gas, water, el = by["gasfyr"], by["vandvaerk"], by["raadhus"]
    assert (gas["unit"], water["unit"], el["unit"]) == ("m³", "m³", "kWh")
    # gas: the month's m³ × 2.2627 kg/m³ (Evida's factor, the latest year <= 2026)
    m3 = truth["gasfyr"].loc["2026-03-01":"2026-03-31", "usage_kwh"].sum()
    assert _num(gas["kwh"]) == pytest.approx(m3, rel=1e-6)
    assert _num(gas["co2_kg"]) == pytest.approx(m3 * 2.2627, rel=1e-6)
    assert water["method"] == "none" and water["co2_kg"] == ""  # water has no CO₂ (empty, not 0)
    # electricity hour by hour at 100 g/kWh: kg = kWh × 0.1
    assert _num(el["co2_kg"]) == pytest.approx(_num(el["kwh"]) * 0.1, rel=1e-6)


def test_in_english_the_water_building_says_m3_too(report, tmp_path, capsys):
    folder, _ = report
    cfg = folder.parent / "energimon.toml"
    capsys.readouterr()
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg), "--site", "vandvaerk", "--lang", "en",
                 "--out", str(tmp_path)]) == 0
    # the command names every file it wrote, the CO₂ account's CSV too
    printed = {line.removeprefix("wrote ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("wrote ")}
    assert printed == {str(p) for p in tmp_path.iterdir()}
    assert str(tmp_path / "savings-2026-03-co2_vandvaerk.csv") in printed
    header = (tmp_path / "savings-2026-03_vandvaerk.vandvaerk.csv").read_text("utf-8-sig").splitlines()[0].split(",")
    assert "Savings m³" in header and "Actual use m³" in header and header[-1] == "Unit"
    text = _pdftotext(tmp_path / "savings-2026-03_vandvaerk.pdf")
    assert "from 2025-01-01 45.50 DKK/m³ (source: Vandtakst 2026)" in " ".join(text.split())
