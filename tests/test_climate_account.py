"""The annual climate and energy account (årligt klima- og energiregnskab): a small store of two buildings over two
years, with a gap, checked against hand computation; the PDF's text and the XLSX's cells carry the same numbers;
the CLI in Danish and English."""

from __future__ import annotations

import datetime as dt
import math
import shlex
import shutil
import subprocess

import numpy as np
import openpyxl
import pandas as pd
import pytest

from energimon.analytics.climate_account import AccountSettings, Factor, Why, co2_of, compute_account
from energimon.analytics.degree_days import NormalYear
from energimon.analytics.report.climate_account import build_report, console_lines
from energimon.analytics.report.numbers import fmt_number
from energimon.app.cli import main
from energimon.cliutil import EXIT_USAGE
from energimon.model import LOCAL_TZ, Reading, SeriesKey
from energimon.store.sqlite import SqliteStore

TODAY = dt.date(2026, 2, 1)  # 2025 is over; 2024 is the baseline year
HOUR_MS = 3_600_000


def _ms(day: str) -> int:
    return int(pd.Timestamp(day, tz=LOCAL_TZ).value // 1_000_000)


def _counter(store, site, device, channel, role, rates: list[tuple[str, float]], end: str,
             hole: tuple[str, str] | None = None) -> None:
    """An hourly counter (Wh or m³) rising by ``rate`` per hour from each ``(from, rate)`` on; the readings strictly
    inside ``hole`` are left out (a gap across which the counter moved)."""
    t0, t1 = _ms(rates[0][0]), _ms(end)
    ts = np.arange(t0, t1 + 1, HOUR_MS)
    starts = [_ms(d) for d, _ in rates]
    rate = np.array([rates[int(np.searchsorted(starts, t, side="right")) - 1][1] for t in ts[:-1]])
    values = np.concatenate(([1000.0], 1000.0 + np.cumsum(rate)))
    if hole is not None:
        keep = (ts <= _ms(hole[0])) | (ts >= _ms(hole[1]))
        ts, values = ts[keep], values[keep]
    assert store.write([Reading(site, device, channel, role, int(t), float(v))
                        for t, v in zip(ts, values, strict=True)]) == []


def _hourly(store, site, device, channel, role, value: float, start: str, end: str) -> None:
    ts = np.arange(_ms(start), _ms(end), HOUR_MS)
    assert store.write([Reading(site, device, channel, role, int(t), value) for t in ts]) == []


def build_store(path):
    """Site a (1,000 m²): electricity 12 kW in 2024, 10 kW in 2025; district heating 20 kW, then 18 kW; water
    0.1 m³/h.  Site b (no floor area): electricity 5 kW with a day's gap on 1 March 2024; natural gas 2 m³/h.
    Outdoor temperature 7 °C all the time; the grid's CO₂ intensity 100 g/kWh every hour of 2025 (none in 2024)."""
    store = SqliteStore(path)
    _counter(store, "a", "el", "energy_import_wh", "grid", [("2024-01-01", 12_000.0), ("2025-01-01", 10_000.0)],
             "2026-01-01 01:00")
    _counter(store, "a", "fv", "heat_energy_wh", "heat", [("2024-01-01", 20_000.0), ("2025-01-01", 18_000.0)],
             "2026-01-01 01:00")
    _counter(store, "a", "vand", "volume_m3", "water", [("2024-01-01", 0.1)], "2026-01-01 01:00")
    _counter(store, "b", "el", "energy_import_wh", "grid", [("2024-01-01", 5_000.0)], "2026-01-01 01:00",
             hole=("2024-03-01", "2024-03-02"))
    _counter(store, "b", "gas", "volume_m3", "gas", [("2024-01-01", 2.0)], "2026-01-01 01:00")
    _hourly(store, "a", "vejr", "outdoor_temp_c", "weather", 7.0, "2024-01-01", "2026-01-01")
    _hourly(store, "dk2", "energinet", "co2_g_per_kwh", "market", 100.0, "2025-01-01", "2026-01-01")
    return store


FACTORS = {("electricity", 2024): 0.2, ("district_heating", 2024): 0.06, ("natural_gas", 2024): 2.2}


def factor(carrier: str, year: int):
    """The declared factor of the year, else the latest earlier one (the barometer's rule); test values, natural
    gas per m³ (as Evida/Energinet publish it), the others per kWh."""
    years = [y for (c, y) in FACTORS if c == carrier and y <= year]
    if not years:
        return None
    return Factor(max(years), FACTORS[(carrier, max(years))], "testværdi", "m³" if carrier == "natural_gas" else "kWh")


def settings(**kw) -> AccountSettings:
    base = dict(sites={"a": ("Rådhuset", 1000.0), "b": ("Hallen", None)}, factor=factor,
                calorific=lambda site, year: (11.0, "testværdi 11 kWh/m³"),
                intensity=SeriesKey("dk2", "energinet", "co2_g_per_kwh"),
                temperature=SeriesKey("a", "vejr", "outdoor_temp_c"),
                normal_year=NormalYear(2906.0, "DTI normalår, 2906 graddage"),
                baseline_year=2024, baseline_t=80.0, baseline_source="klimaplan (test)", target_year=2030,
                reduction_pct=70.0)
    base.update(kw)
    return AccountSettings(**base)


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("climate") / "store.db"
    build_store(path).close()
    return path


@pytest.fixture(scope="module")
def store(store_file):
    s = SqliteStore(store_file, readonly=True)
    yield s
    s.close()


def test_the_account_against_hand_computation(store):
    acc = compute_account(store, settings(), 2025, today=TODAY)
    assert not acc.preliminary and (acc.start, acc.end) == (dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    a_el, a_fv, a_water = acc.site_rows("a")
    b_el, b_gas = acc.site_rows("b")
    # a, electricity: 10 kW × 8,760 h = 87,600 kWh; / 1,000 m² = 87.6 kWh/m²; hour by hour at 100 g/kWh:
    # 87,600 × 0.1 kg = 8,760 kg = 8.76 t
    assert a_el.kwh == pytest.approx(87_600) and a_el.kwh_per_m2 == pytest.approx(87.6)
    assert a_el.t_co2 == pytest.approx(8.76) and a_el.co2.method == "hourly" and a_el.complete
    # a, district heating: 18 kW × 8,760 h = 157,680 kWh; the 2024 factor (the latest before 2025) 0.06 kg/kWh:
    # 9.4608 t; degree days: 365 days × (17 − 7) = 3,650; normal year 2,906: 157,680 × 2,906 / 3,650 = 125,539.2
    assert a_fv.kwh == pytest.approx(157_680) and a_fv.t_co2 == pytest.approx(9.4608)
    assert (a_fv.co2.method, a_fv.co2.factor_year) == ("declared", 2024)
    assert acc.degree_days.actual == pytest.approx(3_650) and acc.degree_days.normal == pytest.approx(2_906)
    assert a_fv.kwh_normalised == pytest.approx(125_539.2)
    # a, water: 0.1 m³/h × 8,760 h = 876 m³, no energy, no CO₂
    assert a_water.quantity == pytest.approx(876) and math.isnan(a_water.kwh) and math.isnan(a_water.t_co2)
    assert a_water.why["t_co2"].code == "not_energy"
    # b, electricity: 5 kW × 8,760 h = 43,800 kWh, 4.38 t hour by hour; no floor area: kWh/m² is "–" and why
    assert b_el.kwh == pytest.approx(43_800) and b_el.t_co2 == pytest.approx(4.38)
    assert math.isnan(b_el.kwh_per_m2) and b_el.why["kwh_per_m2"].code == "no_floor_area"
    # b, natural gas: 2 m³/h × 8,760 h = 17,520 m³ × 11 kWh/m³ = 192,720 kWh; CO₂ 17,520 m³ × 2.2 kg/m³ = 38.544 t;
    # normalised 192,720 × 2,906 / 3,650 = 153,436.8
    assert b_gas.quantity == pytest.approx(17_520) and b_gas.kwh == pytest.approx(192_720)
    assert b_gas.t_co2 == pytest.approx(38.544) and b_gas.kwh_normalised == pytest.approx(153_436.8)
    # the municipality: electricity 87,600 + 43,800 = 131,400 kWh, 13.14 t; all energy 87,600 + 43,800 + 157,680
    # + 192,720 = 481,800 kWh; CO₂ 8.76 + 4.38 + 9.4608 + 38.544 = 61.1448 t
    m = {r.carrier: r for r in acc.municipality}
    assert m["electricity"].kwh == pytest.approx(131_400) and m["electricity"].t_co2 == pytest.approx(13.14)
    assert m["water"].quantity == pytest.approx(876)
    assert acc.total.kwh == pytest.approx(481_800) and acc.total.t_co2 == pytest.approx(61.1448)
    assert math.isnan(acc.total.kwh_per_m2)  # b has no floor area
    # the target path: 80 t in 2024 → −70 % in 2030, straight: 2025 = 80 × (1 − 0.7 × 1/6) = 70.6667 t
    assert acc.target is not None and acc.target.path_t == pytest.approx(80 * (1 - 0.7 / 6))
    assert acc.target.target_t == pytest.approx(24.0)
    # against the baseline year 2024 (8,784 h): a's electricity 12 kW × 8,784 = 105,408 kWh → 87,600 is
    # (87,600 − 105,408) / 105,408 = −16.894 %; a's heat normalised 20 × 8,784 × 2,906 / 3,660 = 139,488 →
    # 125,539.2 / 139,488 − 1 = −10 %
    assert acc.compare(a_el, "kwh").change == pytest.approx(-17_808 / 105_408)
    assert acc.compare(a_fv, "kwh_normalised").baseline == pytest.approx(139_488)
    assert acc.compare(a_fv, "kwh_normalised").change == pytest.approx(-0.10)


@pytest.mark.parametrize(("baseline_t", "lang", "expected"), [
    # 61.1448 t against the path 80 × (1 − 0.7 / 6) = 70.6667 t: 9.52 t under it
    (80.0, "da", "2025: 481.800 kWh, 61,14 ton CO₂ i alt (målsti 70,67 ton) — 9,52 ton under stien"),
    (80.0, "en", "2025: 481,800 kWh, 61.14 t CO₂ in total (target path 70.67 t) — 9.52 t below the path"),
    # from 60 t: the path 60 × (1 − 0.7 / 6) = 53 t, 61.1448 − 53 = 8.14 t over it
    (60.0, "da", "2025: 481.800 kWh, 61,14 ton CO₂ i alt (målsti 53,00 ton) — 8,14 ton over stien"),
])
def test_the_line_of_a_year_over_says_how_far_under_or_over_the_path_as_the_pdf_does(store, baseline_t, lang,
                                                                                      expected):
    acc = compute_account(store, settings(baseline_t=baseline_t), 2025, today=TODAY)
    assert console_lines(acc, lang)[0] == expected
    # the PDF's "against the path" cell says the same: "−9,52 (under stien)"
    amount, side = expected.rsplit(" — ", 1)[1].split(" ", 1)
    side = side.split(" ", 1)[1]  # less the unit
    target = next(b for b in build_report(acc, lang).sections[0].blocks if getattr(b, "title", "") in
                  ("CO₂ mod målstien", "CO₂ against the target path"))
    assert target.rows[0][-1].endswith(f"{amount} ({side})"), target.rows


def test_the_line_of_a_year_over_with_an_unknown_total_claims_no_side_of_the_path(store):
    # without the gas's factor the municipality's CO₂ is unknown: under or over the path cannot be said
    acc = compute_account(store, settings(factor=lambda c, y: factor(c, y) if c != "natural_gas" else None), 2025,
                          today=TODAY)
    line = console_lines(acc, "da")[0]
    assert line.endswith("(målsti 70,67 ton)") and "stien" not in line, line


def test_electricity_hours_without_intensity_take_the_declared_factor():
    hours = pd.date_range("2025-01-01", periods=3, freq="h", tz=LOCAL_TZ)
    kwh = pd.Series([1.0, 2.0, 3.0], index=hours)
    intensity = pd.Series([100.0, np.nan, 200.0], index=hours)  # g/kWh; the second hour has none
    t, basis, why = co2_of(kwh, math.nan, "electricity", 2025, factor, intensity)
    # hour by hour 1 × 0.1 + 3 × 0.2 = 0.7 kg; the 2 kWh of the hour without intensity × 0.2 kg (the 2024
    # factor) = 0.4 kg; 1.1 kg = 0.0011 t; 4 of the 6 kWh counted hour by hour
    assert why is None and t == pytest.approx(0.0011)
    assert (basis.method, basis.factor_year, basis.hourly_share) == ("mixed", 2024, pytest.approx(4 / 6))
    # no intensity at all: the declared factor, 6 × 0.2 = 1.2 kg
    t, basis, _ = co2_of(kwh, math.nan, "electricity", 2025, factor, None)
    assert t == pytest.approx(0.0012) and basis.method == "declared"
    # no factor for a carrier: unknown, with why
    t, basis, why = co2_of(kwh, math.nan, "district_heating", 2023, factor, None)
    assert math.isnan(t) and why is not None and why.code == "no_factor"


def test_heat_normalisation_with_a_weather_independent_share_and_without_temperature(store):
    acc = compute_account(store, settings(weather_independent_share={"a": 0.25}, baseline_year=None), 2025,
                          today=TODAY)
    # Q × ((1 − f) × G_normal / G_actual + f) = 157,680 × (0.75 × 2,906 / 3,650 + 0.25) = 133,574.4
    assert acc.find("a", "district_heating").kwh_normalised == pytest.approx(133_574.4)
    # b has no share of its own: f = 0, 192,720 × 2,906 / 3,650 as before
    assert acc.find("b", "natural_gas").kwh_normalised == pytest.approx(153_436.8)
    acc = compute_account(store, settings(temperature=SeriesKey("a", "vejr2", "outdoor_temp_c"), baseline_year=None),
                          2025, today=TODAY)
    heat = acc.find("a", "district_heating")
    # no temperature on any of the 365 days: no degree days, so no normal-year figure — the kWh stand
    assert heat.kwh == pytest.approx(157_680) and math.isnan(heat.kwh_normalised)
    assert heat.why["kwh_normalised"] == Why.of("no_temperature", days=365)


def test_unknown_hours_make_the_figures_unknown_with_the_reason(store):
    acc = compute_account(store, settings(baseline_t=None), 2025, today=TODAY)
    base = acc.baseline
    assert base is not None and base.year == 2024
    b_el = base.find("b", "electricity")
    # the day's hole in b's electricity: 1 March 2024 00:00–24:00, 24 of 2024's 8,784 hours unknown
    assert b_el is not None and math.isnan(b_el.quantity) and math.isnan(b_el.kwh) and math.isnan(b_el.t_co2)
    assert b_el.hours == 8_784 and b_el.hours_known == 8_784 - 24
    w = b_el.why["quantity"].kw
    assert b_el.why["quantity"].code == "unknown_hours"
    assert (w["unknown"], w["hours"], w["reason"], w["first"], w["last"]) == \
        (24, 8_784, "gap", dt.date(2024, 3, 1), dt.date(2024, 3, 1))
    # so the municipality's 2024 is unknown, and with no climate-plan figure the path has no start
    assert math.isnan(base.total.t_co2) and acc.target is not None and math.isnan(acc.target.path_t)
    # and 2025's b electricity cannot be compared with it
    c = acc.compare(acc.find("b", "electricity"), "kwh")
    assert math.isnan(c.change) and c.why is not None and c.why.code == "no_baseline"


def test_gas_without_a_calorific_value_is_shown_in_m3_only(store):
    acc = compute_account(store, settings(calorific=None), 2025, today=TODAY)
    gas = acc.find("b", "natural_gas")
    assert gas is not None and gas.quantity == pytest.approx(17_520)
    assert math.isnan(gas.kwh) and gas.why["kwh"].code == "no_calorific"
    assert math.isnan(gas.kwh_normalised) and math.isnan(gas.kwh_per_m2)
    # its CO₂ is per m³ (17,520 × 2.2 kg = 38.544 t): known; the total kWh needs gas in kWh, its CO₂ does not
    assert gas.t_co2 == pytest.approx(38.544)
    assert math.isnan(acc.total.kwh) and acc.total.why["kwh"].code == "carrier"
    assert acc.total.t_co2 == pytest.approx(61.1448)


def test_a_year_not_over_is_preliminary(store):
    # on 15 March 2025: January and February counted; the normal year's share of them (DTI monthly split)
    acc = compute_account(store, settings(), 2025, today=dt.date(2025, 3, 15))
    assert acc.preliminary and acc.end == dt.date(2025, 3, 1)
    # (31 + 28) days × 24 h × 10 kW = 14,160 kWh
    assert acc.find("a", "electricity").kwh == pytest.approx(14_160)
    assert acc.compare(acc.find("a", "electricity"), "kwh").why.code == "preliminary"
    with pytest.raises(ValueError, match="no month of the year is over"):
        compute_account(store, settings(), 2025, today=dt.date(2025, 1, 20))


CONFIG = """
[store]
path = "{store}"
[spool]
path = "spool.db"
[sites.a]
name = "Rådhuset"
latitude = 55.4
longitude = 11.5
floor_area_m2 = 1000
[sites.b]
name = "Hallen"
latitude = 55.5
longitude = 11.6
[web.barometer]
municipality = "Testkommune"
baseline_year = 2024
baseline_t_co2 = 80.0
baseline_source = "klimaplan (test)"
co2_intensity = "dk2/energinet/co2_g_per_kwh"
co2 = [
  {{ carrier = "electricity", year = 2024, kg_per_kwh = 0.2, source = "testværdi el" }},
  {{ carrier = "district_heating", year = 2024, kg_per_kwh = 0.06, source = "testværdi fjernvarme" }},
]
"""


def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def _run_cli(tmp_path, store_file, capsys, *lang: str) -> tuple[str, str]:
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(CONFIG.format(store=store_file), encoding="utf-8")
    code = main([*lang, "report", "climate", "--config", str(cfg), "--year", "2025", "--out", str(tmp_path / "out")])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out, out.err


def _numbers_agree(pdf_text: str, xlsx, lang: str) -> int:
    """Every number of the municipality's and the buildings' sheets, formatted as the PDF formats it, is in the
    PDF's text."""
    checked = 0
    for ws in xlsx.worksheets[:2]:
        checked += _sheet_numbers_agree(pdf_text, ws, lang)
    return checked


def _sheet_numbers_agree(pdf_text: str, ws, lang: str) -> int:
    header = [c.value for c in ws[1]]
    checked = 0
    for row in ws.iter_rows(min_row=2, values_only=True):
        cells = dict(zip(header, row, strict=True))
        for col, decimals in (("kWh", 0), ("kWh/m²", 1), ("CO₂ ton" if lang == "da" else "CO₂ t", 2),
                              ("Normalår kWh" if lang == "da" else "Normal year kWh", 0)):
            value = cells[col]
            if value is not None:
                assert fmt_number(value, decimals, lang) in pdf_text, (col, value)
                checked += 1
    return checked


def test_the_cli_writes_the_pdf_and_xlsx_in_danish_with_the_same_numbers(tmp_path, store_file, capsys):
    # on the configuration of main (no calorific value, no gas factor yet): gas in m³ only, its kWh and CO₂ "–"
    out, _ = _run_cli(tmp_path, store_file, capsys)
    # the buildings' lines: a's 87,600 kWh el at 100 g/kWh = 8.76 t; heat 157,680 kWh × 0.06 = 9.46 t
    assert "a: el 87.600 kWh 8,76 t, fjernvarme 157.680 kWh 9,46 t, vand 876 m³" in out
    assert "b: el 43.800 kWh 4,38 t, naturgas – kWh – t" in out
    assert "målsti 70,67 ton" in out  # 80 × (1 − 0.7 / 6)
    pdf, xlsx_path = tmp_path / "out" / "klimaregnskab-2025.pdf", tmp_path / "out" / "klimaregnskab-2025.xlsx"
    assert f"skrev {pdf}" in out and f"skrev {xlsx_path}" in out
    text = _pdftotext(pdf)
    assert "Klima- og energiregnskab 2025" in text and "Testkommune — 2 bygninger, 1.1.2025 – 31.12.2025" in text
    # the heat normalised: 157,680 × 2,906 / 3,650 = 125,539 (DTI's normal year, the default without [esco])
    assert "125.539" in text and "DTI normalår, 2906 graddage" in text
    # the gas: 17,520 m³, and why its kWh is "–"
    assert "17.520" in text and "ingen brændværdi (kWh pr. m³)" in text
    assert "ingen CO₂-faktor for naturgas i 2025 eller før" in text
    # b's electricity in 2024: the day's gap makes the comparison "–", with the baseline's reason
    assert "24 af 8.784 timer ukendte (hul i målingerne, 1.3.2024 – 1.3.2024)" in " ".join(text.split())
    assert "Metode" in text and "Hvad \"–\" betyder" in text
    wb = openpyxl.load_workbook(xlsx_path)
    assert wb.sheetnames[:2] == ["Kommunen samlet", "Bygninger"]
    # buildings — a: electricity kWh, kWh/m², CO₂ and heat kWh, kWh/m², CO₂, normal year; b: electricity kWh, CO₂
    # (b has no floor area, its gas no kWh); the municipality: electricity kWh, CO₂, heat's four (the gas and so
    # the total unknown): 9 + 6 numbers
    assert _numbers_agree(text, wb, "da") == 15
    sites = wb["Bygninger"]
    header = [c.value for c in sites[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sites.iter_rows(min_row=2, values_only=True)]
    a_el = next(r for r in rows if r["Bygning"] == "Rådhuset" and r["Energiart"] == "El")
    assert a_el["kWh"] == pytest.approx(87_600) and a_el["CO₂ ton"] == pytest.approx(8.76)
    assert a_el["kWh 2024"] == pytest.approx(105_408) and a_el["Ændring kWh"] == pytest.approx(-17_808 / 105_408)
    gas = next(r for r in rows if r["Energiart"] == "Naturgas")
    assert gas["Målt forbrug"] == pytest.approx(17_520) and gas["kWh"] is None and "brændværdi" in gas["Bemærkning"]
    target = wb[wb.sheetnames[2]]
    assert [c.value for c in target["B"]][1:3] == [pytest.approx(80.0), pytest.approx(80 * (1 - 0.7 / 6))]


def test_the_cli_in_english(tmp_path, store_file, capsys):
    out, _ = _run_cli(tmp_path, store_file, capsys, "--lang", "en")
    assert "a: electricity 87,600 kWh 8.76 t, district heating 157,680 kWh 9.46 t, water 876 m³" in out
    pdf = tmp_path / "out" / "climate-account-2025.pdf"
    assert f"wrote {pdf}" in out
    text = _pdftotext(pdf)
    assert "Climate and energy account 2025" in text and "no calorific value (kWh per m³)" in text
    wb = openpyxl.load_workbook(tmp_path / "out" / "climate-account-2025.xlsx")
    assert wb.sheetnames[:2] == ["The municipality", "Buildings"]
    assert _numbers_agree(text, wb, "en") == 15


def test_an_account_for_some_buildings_keeps_the_account_of_every_building(tmp_path, store_file, capsys):
    # `--site` into the folder of the municipality's account: both stay, each under its own names, and the command
    # names exactly the files it wrote
    _run_cli(tmp_path, store_file, capsys)
    out_dir = tmp_path / "out"
    full = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    assert set(full) == {"klimaregnskab-2025.pdf", "klimaregnskab-2025.xlsx"}
    code = main(["report", "climate", "--config", str(tmp_path / "energimon.toml"), "--year", "2025", "--site", "b",
                 "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert {p.name: p.read_bytes() for p in out_dir.iterdir() if p.name in full} == full  # untouched
    written = {p.name for p in out_dir.iterdir()} - set(full)
    assert written == {"klimaregnskab-2025_b.pdf", "klimaregnskab-2025_b.xlsx"}
    printed = [line.removeprefix("skrev ") for line in out.splitlines() if line.startswith("skrev ")]
    assert sorted(printed) == sorted(str(out_dir / name) for name in written)
    text = _pdftotext(out_dir / "klimaregnskab-2025_b.pdf")
    assert "Hallen" in text and "Rådhuset" not in text
    assert "Rådhuset" in _pdftotext(out_dir / "klimaregnskab-2025.pdf")


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_cli_line_of_a_year_not_over_holds_back_the_path_as_the_pdf_does(tmp_path, store_file, capsys,
                                                                              monkeypatch, lang):
    # on 15 July 2025 the account counts January – June: 6 months' CO₂ beside the whole year's path (70.67 t) read as
    # if the municipality were far below it; the PDF and XLSX leave that difference "–" ("the year is not over")
    monkeypatch.setattr("energimon.calendar.today", lambda now=None: dt.date(2025, 7, 15))
    out, _ = _run_cli(tmp_path, store_file, capsys, "--lang", lang)
    total = next(line for line in out.splitlines() if line.startswith("2025: "))
    path = fmt_number(80 * (1 - 0.7 / 6), 2, lang)
    assert path not in total and ("målsti" if lang == "da" else "target path") in total
    if lang == "da":
        assert total.endswith(" — foreløbigt: året er ikke slut, talt 1.1.2025 – 30.6.2025; sammenlignes med "
                              "målstien, når året er slut"), total
        pdf = tmp_path / "out" / "klimaregnskab-2025-foreloebig.pdf"
        flat = " ".join(_pdftotext(pdf).split())
        assert "Foreløbigt regnskab: 2025 er ikke slut; talt fra 1.1.2025 til og med 30.6.2025" in flat
        assert "Forskel til stien: året er ikke slut." in flat  # the PDF's own word for the same difference
    else:
        assert total.endswith(" — preliminary: the year is not over, counted 2025-01-01 – 2025-06-30; compared "
                              "with the target path when the year is over"), total


def test_the_cli_refuses_a_year_not_begun(tmp_path, store_file, capsys):
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(CONFIG.format(store=store_file), encoding="utf-8")
    assert main(["report", "climate", "--config", str(cfg), "--year", "2099"]) == EXIT_USAGE
    assert "ingen måned af 2099 er slut endnu" in capsys.readouterr().err


def test_a_live_meters_incomplete_year_counts_its_complete_imported_copy(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    # one meter, read live ("maaler", a day's gap on 1 March 2025) and imported from DataHub ("datahub",
    # complete): both 4 kW → 4 × 8,760 = 35,040 kWh
    _counter(store, "c", "maaler", "energy_import_wh", "grid", [("2025-01-01", 4_000.0)], "2026-01-01 01:00",
             hole=("2025-03-01", "2025-03-02"))
    _counter(store, "c", "datahub", "energy_import_wh", "grid", [("2025-01-01", 4_000.0)], "2026-01-01 01:00")
    cfg = settings(sites={"c": ("Skolen", 500.0)}, baseline_year=None, live=lambda site, device: device == "maaler")
    row = compute_account(store, cfg, 2025, today=TODAY).find("c", "electricity")
    assert row is not None and row.kwh == pytest.approx(35_040) and row.imported_copy
    assert row.devices == ("datahub",)  # never both: the same meter counted twice would be 70,080
    # a complete live year is what counts (the live meter wins, as in the anomaly rules and the solar report)
    _counter(store, "c", "maaler", "energy_import_wh", "grid", [("2025-01-01", 4_000.0)], "2026-01-01 01:00")
    row = compute_account(store, cfg, 2025, today=TODAY).find("c", "electricity")
    assert row is not None and row.devices == ("maaler",) and not row.imported_copy and row.complete
    store.close()


def _esco_demo_account(tmp_path, monkeypatch, capsys, today: dt.date, imports: int):
    """README's ESCO demo flow on ``today``: `demo --esco` in ``tmp_path``, the first ``imports`` commands it prints,
    then the climate account it suggests.  Returns (the printed commands, the suggestion line, the account's
    console output)."""
    from energimon.app import demo_esco

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_esco, "local_today", lambda: today)
    monkeypatch.setattr("energimon.calendar.today", lambda now=None: today)
    assert main(["demo", "--esco"]) == 0
    out = capsys.readouterr().out
    commands = [shlex.split(line) for line in out.split("Kør derefter:")[1].splitlines() if line.startswith("  ")]
    for cmd in commands[:imports]:  # the imports, as printed
        assert main(cmd[1:]) == 0
    hint = next(line for line in out.splitlines() if "report climate" in line)
    capsys.readouterr()
    assert main(shlex.split(hint.split(": ", 1)[1])[1:]) == 0
    return commands, hint, capsys.readouterr().out


@pytest.mark.slow
def test_the_demo_municipalitys_account(tmp_path, monkeypatch, capsys):
    from energimon.app import demo_esco

    today = dt.date(2026, 11, 29)  # tests/test_demo_esco.py's date: exports from 1 May 2025 to 31 October 2026
    commands, hint, printed = _esco_demo_account(tmp_path, monkeypatch, capsys, today, imports=2)
    assert [c[1:3] for c in commands[:2]] == [["import", "eloverblik"], ["import", "csv"]]
    # 2025 is not all in the exports (they begin in May): this year so far, January to October
    assert "Klima- og energiregnskabet for 2026" in hint
    reports = tmp_path / "energimon-demo" / "rapporter"
    text = _pdftotext(reports / "klimaregnskab-2026-foreloebig.pdf")
    assert "FORELØBIG" in text and "1.1.2026 – 31.10.2026" in text
    assert all(name in text for name in ("Sorø Rådhus", "Stenlille hallen", "Dianalund Bibliotek"))
    # each building's electricity is the generator's use of 1 January – 31 October 2026; its CO₂ the factor of the
    # demo's [web.barometer] (it lists electricity, so it wins over [esco]'s): 2023's, the latest before 2026
    days = demo_esco._days(dt.date(2026, 1, 1), dt.date(2026, 11, 1))
    periods = demo_esco.esco_periods(today)
    day_c = demo_esco.daily_weather_c(dt.date(2026, 1, 1), dt.date(2026, 11, 1))
    wb = openpyxl.load_workbook(reports / "klimaregnskab-2026-foreloebig.xlsx")
    ws = wb["Bygninger"]
    header = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    total = 0.0
    for s in demo_esco.DEMO_ESCO_SITES:
        truth = float(demo_esco.daily_use_kwh(s, days, day_c, periods.measure_date,
                                              demo_esco.saving_kwh_per_day(s, periods)).sum())
        name = {"soro-raadhus": "Sorø Rådhus", "stenlille-hallen": "Stenlille hallen",
                "dianalund-bibliotek": "Dianalund Bibliotek"}[s.building.site]
        assert rows[name]["kWh"] == pytest.approx(truth, abs=5.0)  # 3-decimal kWh per hour in the exports
        assert rows[name]["CO₂ ton"] == pytest.approx(rows[name]["kWh"] * 0.12 / 1000)
        assert fmt_number(rows[name]["kWh"], 0, "da") in text
        total += truth
    assert rows["Sorø Rådhus"]["kWh/m²"] == pytest.approx(rows["Sorø Rådhus"]["kWh"] / 4800)  # floor_area_m2
    assert f"2026: {fmt_number(wb.worksheets[0]['D3'].value, 0, 'da')} kWh" in printed
    assert wb.worksheets[0]["D3"].value == pytest.approx(total, abs=15.0)  # the municipality's total


@pytest.mark.slow
def test_a_fresh_esco_demo_folders_account_has_the_baseline_year_and_the_path(tmp_path, monkeypatch, capsys):
    # a fresh `demo --esco` folder, then the commands it prints: before, its config had no [web.barometer] (only the
    # live demo wrote one), so the account said "Intet basisår er konfigureret" and compared with nothing
    today = dt.date(2026, 3, 15)  # exports from 1 September 2024 to 28 February 2026: all of 2025, a year that is over
    # the electricity is all the account needs here (no heat to normalise): the first import only
    commands, hint, printed = _esco_demo_account(tmp_path, monkeypatch, capsys, today, imports=1)
    assert commands[0][1:3] == ["import", "eloverblik"]
    assert "Klima- og energiregnskabet for 2025" in hint
    reports = tmp_path / "energimon-demo" / "rapporter"
    text = _pdftotext(reports / "klimaregnskab-2025.pdf")
    flat = " ".join(text.split())
    assert "Intet basisår" not in text and "Sorø Kommune" in text  # the demo municipality's [web.barometer]
    # the rows against 2019: the demo's data do not reach back to it, and the account says so rather than showing 0
    assert "Sammenlignet med basisåret 2019" in text and "basisåret 2019 kan ikke opgøres" in flat
    # the municipality against the straight path from the demo's 80 t in 2019 to −70 % in 2030
    wb = openpyxl.load_workbook(reports / "klimaregnskab-2025.xlsx")
    target = {r[0]: r[1] for r in wb["CO₂ mod målstien"].iter_rows(min_row=2, values_only=True)}
    values = list(target.values())
    path = 80.0 - (80.0 - 24.0) * (2025 - 2019) / (2030 - 2019)
    kwh = wb.worksheets[0]["D3"].value  # the municipality's total
    assert values[0] == 80.0 and values[1] == pytest.approx(path) and values[3] == pytest.approx(24.0)
    assert values[2] == pytest.approx(kwh * 0.12 / 1000)  # the barometer's 2023 factor, the latest before 2025
    assert values[4] == pytest.approx(values[2] - path)  # compared: a number, not "–"
    assert f"(målsti {fmt_number(path, 2, 'da')} ton)" in printed


def test_a_barometer_listing_only_electricity_still_counts_heat_with_the_contracts_factor():
    # the web barometer's own factors replace [esco]'s carrier by carrier, not wholesale: before, a barometer
    # with only electricity factors left district heating without any factor (the demo's account showed "–")
    from energimon.analytics.barometer import declared_factor
    from energimon.analytics.esco.settings import Co2Factor as EscoFactor
    from energimon.web.settings import BarometerSettings

    barometer = BarometerSettings(baseline_year=2019,
                                  co2=[{"carrier": "electricity", "year": 2023, "kg_per_kwh": 0.12, "source": "b"}])
    esco = type("Esco", (), {})()
    esco_factors = [EscoFactor(carrier="electricity", year=2025, kg_per_kwh=0.112, source="e"),
                    EscoFactor(carrier="district_heating", year=2025, kg_per_kwh=0.045, source="h")]
    esco.co2_factor = lambda carrier, year: max((f for f in esco_factors if f.carrier == carrier and f.year <= year),
                                                key=lambda f: f.year, default=None)
    assert declared_factor("electricity", 2026, barometer, esco).source == "b"  # the barometer's own, not [esco]'s
    assert declared_factor("district_heating", 2026, barometer, esco).kg_per_kwh == 0.045
    assert declared_factor("district_heating", 2024, barometer, esco) is None  # none for 2024 or before
    assert declared_factor("district_heating", 2026, None, esco).source == "h"
