"""The savings report's XLSX workbook: the CSV's tables as real numbers and dates, Danish headers, one sheet per
building, the portfolio and "Om rapporten" — written by the CLI next to the CSV, opened here with openpyxl."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess

import openpyxl
import pytest
from helpers.esco_config import esco_config

from energimon.analytics.report.i18n import ABOUT, COLUMNS, TEXTS
from energimon.analytics.report.savings_report import CSV_HEADER
from energimon.app.cli import main
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.model import LOCAL_TZ, Reading
from energimon.store.sqlite import SqliteStore

SITES = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4
longitude = 11.5
[sites.stenlille-hallen]
name = "Stenlille hallen"
latitude = 55.5
longitude = 11.6
"""

ESCO_TABLES = """
prices = [
  { from = 2025-01-01, dkk_per_kwh = 2.10, source = "Kontrakt bilag 3" },
  { from = 2026-03-16, dkk_per_kwh = 2.45, source = "Tarifændring 16. marts" },
]
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.115
source = "Energinet miljødeklaration"
[[esco.co2]]
carrier = "district_heating"
year = 2026
kg_per_kwh = 0.045
source = "Sorø Fjernvarme deklaration"
[esco.sites.soro-raadhus]
energy = "hovedmaaler/energy_import_wh"
[[esco.sites.soro-raadhus.adjustments]]
start = 2026-03-01
end = 2026-04-01
kwh_per_day = 20
reason = "Ny kantine åbnet på 2. sal"
[esco.sites.stenlille-hallen]
model = "caltrack_billing"
carrier = "district_heating"
energy = "fjernvarme/heat_energy_wh"
temperature = "soro-raadhus/vejr/outdoor_temp_c"
"""

# the price per period (``prices``, in ESCO_TABLES) instead of the one fixed price
CONFIG = esco_config(SITES, ESCO_TABLES, esco="Eksempel ESCO A/S", price_dkk_per_kwh=None,
                     temperature="soro-raadhus/vejr/outdoor_temp_c")


def monthly_heat_readings(readings, start: str, end: str):
    """The counter only at local midnight on the 1st (a meter read once a month), as district heating."""
    import pandas as pd

    firsts = {int(t.timestamp() * 1000) for t in pd.date_range(start, end, freq="MS", tz=LOCAL_TZ)}
    return [Reading(r.site, "fjernvarme", "heat_energy_wh", "heat", r.ts_ms, r.value)
            for r in readings if r.channel == "energy_import_wh" and r.ts_ms in firsts]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("xlsx")
    (d / "energimon.toml").write_text(CONFIG, encoding="utf-8")
    store = SqliteStore(d / "store.db")
    r1, _ = synthetic_readings(SyntheticBuilding("soro-raadhus", 400, 25, 15.0, 16.0, 60),
                               dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=1)
    r2, _ = synthetic_readings(SyntheticBuilding("stenlille-hallen", 600, 40, 15.0, 24.0, 90),
                               dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=1,
                               with_temperature=False)  # same seed: the weather the town hall's sensor measures
    store.write(r1 + monthly_heat_readings(r2, "2025-01-01", "2026-04-01"))
    store.close()
    assert main(["report", "savings", "--month", "2026-03", "-c", str(d / "energimon.toml"), "--workers", "1"]) == 0
    return d / "rapporter"


def _csv(path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f, delimiter=";"))


def _first_table(ws) -> list[tuple]:
    """The sheet's rows below the header up to the first empty row (a building's monthly history follows)."""
    rows = []
    for row in ws.iter_rows(min_row=2, values_only=True):
        if all(v is None for v in row):
            break
        rows.append(row)
    return rows


def _check_table(ws, csv_rows: list[list[str]]) -> int:
    """Every cell of the sheet against the CSV: numbers as numbers equal to the CSV's, dates as dates."""
    header, body = csv_rows[0], csv_rows[1:]
    assert header == [COLUMNS[c]["da"] for c in CSV_HEADER]  # the Danish CSV has the workbook's Danish headers
    # Danish headers; the first column names buildings by their display name, not the CSV's id
    assert [c.value for c in ws[1]] == ["Bygning", *(COLUMNS[c]["da"] for c in CSV_HEADER[1:])]
    assert ws.freeze_panes == "A2"
    assert all(ws.column_dimensions[chr(ord("A") + i)].width >= 8 for i in range(len(CSV_HEADER)))
    rows = _first_table(ws)
    assert len(rows) == len(body)
    numbers = 0
    for xrow, crow in zip(rows, body, strict=True):
        for name, x, c in zip(CSV_HEADER, xrow, crow, strict=True):
            if name in ("site", "period", "label", "resolution", "status", "status_reason"):
                assert x is None or isinstance(x, str)
            elif name == "unit":  # the carrier's unit of the row's amounts, as the CSV says it
                assert x == c and c in ("kWh", "m³"), (x, c)
            elif name == "verdict":  # the CSV's code, in words (savings.savings_verdict_code)
                assert x == (ABOUT[f"verdict_{c}"]["da"] if c else None), (x, c)
            elif name in ("start", "end"):
                assert (x.date().isoformat() if x is not None else "") == c, name
            elif c == "":
                assert x is None, (name, x)  # missing is an empty cell, never 0
            else:
                assert isinstance(x, int | float) and not isinstance(x, bool), (name, x)
                assert x == pytest.approx(float(c.replace(",", ".")), rel=1e-6, abs=1e-6), name
                numbers += 1
    return numbers


def test_workbook_sheets_headers_numbers_and_dates(report):
    path = report / "besparelse-2026-03.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Portefølje", "Sorø Rådhus", "Stenlille hallen", "Om rapporten"]
    assert _check_table(wb["Portefølje"], _csv(report / "besparelse-2026-03.csv")) > 40
    assert _check_table(wb["Sorø Rådhus"], _csv(report / "besparelse-2026-03.soro-raadhus.csv")) > 20
    assert _check_table(wb["Stenlille hallen"], _csv(report / "besparelse-2026-03.stenlille-hallen.csv")) > 20
    ws = wb["Sorø Rådhus"]
    col = {c: i + 1 for i, c in enumerate(CSV_HEADER)}
    month = ws.cell(row=2, column=col["savings_kwh"])
    assert month.number_format == "#,##0" and ws.cell(row=2, column=col["start"]).number_format == "yyyy-mm-dd"
    assert ws.cell(row=2, column=col["period"]).value == "Måned"
    assert ws.cell(row=2, column=col["resolution"]).value == "dag"
    assert wb["Stenlille hallen"].cell(row=2, column=col["resolution"]).value == "måned"
    # the step price inside March: DKK is not the month's kWh times either price
    dkk = ws.cell(row=2, column=col["savings_dkk"]).value
    assert all(abs(dkk - month.value * p) > 10 for p in (2.10, 2.45))
    assert 2.10 < ws.cell(row=2, column=col["price_dkk_per_kwh"]).value < 2.45


def test_about_sheet(report):
    ws = openpyxl.load_workbook(report / "besparelse-2026-03.xlsx")["Om rapporten"]
    assert ws.freeze_panes == "A2" and [c.value for c in ws[1]][:4] == ["Emne", "Værdi", "Detalje", "Kilde"]
    rows = [r for r in ws.iter_rows(min_row=2, values_only=True)]
    by_topic = {}
    for r in rows:
        by_topic.setdefault(r[0], []).append(r[1:])
    assert by_topic["Kontrakt"][0][0] == "Sorø Kommune ESCO-kontrakt 2025"
    assert by_topic["Baselineperiode fra"][0][0] == dt.datetime(2025, 1, 1)
    assert by_topic["Baselineperiode til (inkl.)"][0][0] == dt.datetime(2025, 12, 31)
    assert by_topic["Besparelsesperiode fra (idriftsættelse)"][0][0] == dt.datetime(2026, 1, 1)
    assert by_topic["Normalår (graddage)"][0][:3] == (2906, None, "DTI normalår, 2906 graddage")
    prices = by_topic["Prisgrundlag"]
    assert [(p[0], p[1], p[2]) for p in prices] == [(2.10, "pris fra 2025-01-01", "Kontrakt bilag 3"),
                                                    (2.45, "pris fra 2026-03-16", "Tarifændring 16. marts")]
    co2 = {p[1]: (p[0], p[2]) for p in by_topic["CO₂-faktor kg/kWh"]}
    assert co2["fjernvarme 2026"] == (0.045, "Sorø Fjernvarme deklaration")
    models = {r[0]: r for r in rows if isinstance(r[1], str) and r[1].startswith("CalTRACK")}
    assert models["Sorø Rådhus"][1:3] == ("CalTRACK daglig", "bestået")
    assert models["Stenlille hallen"][1:3] == ("CalTRACK måned (fakturering)", "bestået")
    assert models["Stenlille hallen"][4] == 12 and isinstance(models["Stenlille hallen"][5], float)  # n, CV(RMSE)
    # the monthly model's limit, for the one building that has it (bench/README.md: what twelve months cannot show)
    assert [r[:2] for r in by_topic["Usikkerhed for månedsmodeller"]] == [
        ("Stenlille hallen", TEXTS["billing_uncertainty"]["da"])]
    adj = [r for r in rows if r[0] == "Sorø Rådhus" and isinstance(r[1], dt.datetime)]
    assert adj == [("Sorø Rådhus", dt.datetime(2026, 3, 1), dt.datetime(2026, 4, 1), 20, None,
                    "Ny kantine åbnet på 2. sal", None, None)]


def test_pdf_shows_the_billing_model_and_the_price_periods(report):
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    text = subprocess.run(["pdftotext", str(report / "besparelse-2026-03.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    for words in ("CalTRACK månedsmodel (faktureringsperioder, vægtet mindste kvadraters metode)",
                  "Måneder (data/alle)", "n = 12 måneder", "CV(RMSE) ≤ 15 %, |NMBE| ≤ 5,0 %",
                  "Pris pr. periode: fra 2025-01-01 2,10 kr./kWh (kilde: Kontrakt bilag 3); fra 2026-03-16 2,45 "
                  "kr./kWh (kilde: Tarifændring 16. marts).", "Usikkerhed i kr. (90 %)"):
        assert words in flat, words
    # the monthly model's limit on the billing building's page only, not on the daily-model town hall's
    assert flat.count("Usikkerheden for en månedsmodel: tolv månedsaflæsninger kan ikke vise") == 1
    assert flat.index("Usikkerheden for en månedsmodel") > flat.index("CalTRACK månedsmodel (faktureringsperioder")


def test_savings_workbook_names_buildings_and_has_every_month_since_the_measure(report, tmp_path):
    """The workbook of :mod:`energimon.analytics.report.savings_xlsx`: display names, not ids, and per building
    its monthly history as date cells and numbers (the months are the evaluation's, summed by hand below)."""
    from energimon.analytics.report import xlsx_out
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.analytics.report.savings_xlsx import HISTORY
    from energimon.config.settings import load_settings

    settings = load_settings(report.parent / "energimon.toml")
    store = SqliteStore(report.parent / "store.db", readonly=True)
    try:
        files = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path,
                                        today=dt.date(2026, 4, 15))
    finally:
        store.close()
    assert files.xlsx is not None
    path = files.xlsx  # the report's own workbook
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Portefølje", "Sorø Rådhus", "Stenlille hallen", "Om rapporten"]
    names = {row[0] for row in wb["Portefølje"].iter_rows(min_row=2, values_only=True)}
    assert names == {"Sorø Rådhus", "Stenlille hallen", "Portefølje"}  # display names, no site ids
    for r in files.results:
        rows = list(wb[r.name].iter_rows(values_only=True))
        assert rows[0][0] == "Bygning" and {row[0] for row in rows[1:4]} == {r.name}
        start = next(i for i, row in enumerate(rows) if row[0] == HISTORY["history"]["da"])
        header, history = rows[start + 1], [row for row in rows[start + 2:] if row[0] is not None]
        assert header[0] == "Måned" and header[6] == COLUMNS["savings_kwh"]["da"]
        # every month since the measure (2026-01-01) up to the report month: date cells, one per month
        assert [row[0] for row in history] == [dt.datetime(2026, m, 1) for m in (1, 2, 3)]
        assert len(r.months) == 3
        cusum = 0.0
        for row, p in zip(history, r.months, strict=True):
            assert row[6] == pytest.approx(p.savings_kwh) and row[4] == pytest.approx(p.adjusted_baseline_kwh)
            cusum += p.savings_kwh
            assert row[11] == pytest.approx(cusum)  # the cumulative saving, month by month
        ws = wb[r.name]
        first = start + 3  # 1-based row of the first month
        assert ws.cell(row=first, column=1).number_format == "yyyy-mm"
        assert ws.cell(row=first, column=7).number_format == xlsx_out.KWH
