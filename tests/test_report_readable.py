"""The savings and solar reports read by a municipal committee (issue 19): a plain summary on page 1, a glossary,
the same month last year, kWh/m², one month-label format, long names that wrap instead of running off the page,
and in the solar report one performance figure and no empty tables.  Checked in the PDF text (pdftotext)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess

import numpy as np
import pytest
from helpers.esco_config import esco_config

from energimon.analytics.report.csv_out import column_keys
from energimon.analytics.report.document import Chart
from energimon.analytics.report.numbers import fmt_number
from energimon.analytics.report.savings_report import build_report, generate_savings_report
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import load_settings
from energimon.store.sqlite import SqliteStore

LONG = "Den Kommunale Administrationsbygning ved Storegade og Torvet"  # 60 characters
assert len(LONG) == 60
# (site, name, intercept kWh/day, beta kWh/K·day, noise kWh/day, saving kWh/day, floor area m²)
SITES = [("raadhus", LONG, 400, 25, 16, 60, 2000), ("skolen", "Skolen", 300, 20, 12, 0, None)]

CO2 = """
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.1
source = "Energinet miljødeklaration"
"""


@pytest.fixture(scope="module")
def savings(tmp_path_factory):
    d = tmp_path_factory.mktemp("readable")
    sites, esco_sites = [], []
    truth = {}
    store = SqliteStore(d / "store.db")
    for i, (sid, name, mu, beta, noise, saving, area) in enumerate(SITES):
        sites.append(f'[sites.{sid}]\nname = "{name}"\nlatitude = 55.4\nlongitude = 11.5'
                     + (f"\nfloor_area_m2 = {area}" if area else ""))
        esco_sites.append(f'[esco.sites.{sid}]\nenergy = "hovedmaaler/energy_import_wh"\n'
                          f'temperature = "{sid}/vejr/outdoor_temp_c"')
        b = SyntheticBuilding(sid, mu, beta, 15.0, noise, saving)
        readings, truth[sid] = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1),
                                                  seed=i + 3)
        store.write(readings)
    config = esco_config("\n".join(sites), CO2 + "\n".join(esco_sites), guarantee_kwh_per_year=30000,
                         price_dkk_per_kwh=2.0, temperature="raadhus/vejr/outdoor_temp_c",
                         normal_year={"total": 2906, "source": "DMI normalår"})
    (d / "energimon.toml").write_text(config, encoding="utf-8")
    settings = load_settings(d / "energimon.toml")
    files = generate_savings_report(settings, store, dt.date(2026, 3, 1), today=dt.date(2026, 4, 10))
    store.close()
    with files.csv.open(encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=";")
        keys = column_keys(next(reader), "da")  # the Danish headers back to the columns' keys
        rows = [dict(zip(keys, row, strict=True)) for row in reader]
    return files, settings, truth, {(r["site"], r["period"]): r for r in rows}


def _num(cell: str) -> float:
    return float(cell.replace(",", "."))


def _pages(pdf) -> list[str]:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_page_one_is_a_plain_summary_with_the_csv_numbers(savings):
    files, _, _, csv_rows = savings
    page1 = _flat(_pages(files.pdf)[0])
    month = csv_rows[("portfolio", "month")]
    co2 = sum(_num(csv_rows[(sid, "month")]["co2_kg"]) for sid, *_ in SITES)
    assert "Sammenfatning" in page1
    assert (f"I marts 2026 brugte de 2 bygninger {fmt_number(_num(month['actual_kwh']))} kWh. Uden "
            f"energiforbedringerne ville forbruget efter beregningen have været "
            f"{fmt_number(_num(month['adjusted_baseline_kwh']))} kWh (justeret for vejret). Besparelsen er "
            f"{fmt_number(_num(month['savings_kwh']))} kWh, svarende til {fmt_number(_num(month['savings_dkk']))} kr. "
            f"og {fmt_number(co2)} kg CO₂.") in page1
    # 2.0 kr./kWh fixed: the kroner are the kWh times two (hand computation)
    assert _num(month["savings_dkk"]) == pytest.approx(2.0 * _num(month["savings_kwh"]), rel=1e-9)
    ytd = csv_rows[("portfolio", "ytd")]
    assert (f"I kontraktåret til dato (kontraktår fra 1. januar 2026) er besparelsen "
            f"{fmt_number(_num(ytd['savings_kwh']))} kWh") in page1
    assert "Holder besparelsen statistisk?" in page1
    since = csv_rows[("portfolio", "since_start")]
    s, u = _num(since["savings_kwh"]), _num(since["uncertainty_90_kwh"])
    assert since["verdict"] == "demonstrated"  # 60 kWh/day saved by one building over 90 days
    assert (f"Ja. Siden start er der sparet {fmt_number(s)} kWh, og med 90 % sikkerhed ligger besparelsen mellem "
            f"{fmt_number(s - u)} og {fmt_number(s + u)} kWh") in page1
    assert "Bygningerne i marts 2026" in page1 and "Ordforklaring på næste side" in page1


def test_a_near_zero_saving_is_not_demonstrable_not_failed(savings):
    files, _, _, csv_rows = savings
    assert csv_rows[("skolen", "since_start")]["verdict"] == "not_demonstrable"  # no saving injected
    pages = _pages(files.pdf)
    row = next(line for line in pages[0].splitlines() if line.strip().startswith("Skolen"))
    assert row.rstrip().endswith("ikke påviselig")
    assert "ikke bestået" not in " ".join(pages)
    assert "Besparelse siden start: ikke påviselig" in _flat(" ".join(pages))


def test_the_glossary_explains_every_term(savings):
    files, *_ = savings
    glossary = _flat(_pages(files.pdf)[1])
    assert glossary.startswith("ESCO-besparelse — marts 2026 Ordforklaring")
    terms = [line.strip() for line in _pages(files.pdf)[1].splitlines()]
    for term in ("Baseline", "IPMVP Option C", "IPMVP Option B", "Graddage", "Normalår", "Kontraktår", "CUSUM",
                 "Usikkerhed 68 % / 90 %", "CV(RMSE)", "NMBE", "ρ (rho)", "n′", "FSU", "ASHRAE Guideline 14"):
        assert terms.count(term) == 1, term  # each on a line of its own, its explanation below
    assert "hvor mange grader middeltemperaturen lå under 17 °C" in glossary  # the contract's base temperature
    assert "idriftsættelsesdatoen (1. januar 2026)" in glossary
    # Option B right after Option C: retrofit isolation, everything the saving is worked out from measured
    assert terms.index("IPMVP Option B") > terms.index("IPMVP Option C")
    assert ("IPMVP Option B Den internationale metode til at opgøre et enkelt tiltags besparelse for sig (isolering "
            "af tiltaget): tiltaget har sin egen måler, f.eks. en bimåler på belysningen, og alt, hvad besparelsen "
            "beregnes ud fra, måles.") in glossary


def test_contract_year_last_year_and_per_m2_on_the_building_page(savings):
    files, _, truth, csv_rows = savings
    text = _flat(" ".join(_pages(files.pdf)))
    assert "Kontraktår til dato: fra 1. januar 2026 til og med 31. marts 2026" in text
    assert "År til dato" not in text
    r = next(x for x in files.results if x.site == "raadhus")
    ly = r.last_year
    # last year's March from the synthetic meter's own daily use (hand sum), and its degree days (base 17 °C)
    t = truth["raadhus"]
    march25 = t[(t.index >= "2025-03-01") & (t.index < "2025-04-01")]
    march26 = t[(t.index >= "2026-03-01") & (t.index < "2026-04-01")]
    assert ly.actual_kwh == pytest.approx(march25["usage_kwh"].sum(), rel=1e-9)
    assert ly.hdd_c == pytest.approx(np.maximum(0, 17 - march25["temp_c"]).sum(), abs=0.5)  # DST day: 23 h mean
    assert ly.this_hdd_c == pytest.approx(np.maximum(0, 17 - march26["temp_c"]).sum(), abs=0.5)
    # graddagekorrektion: Q · ((1 − f) · G_this / G_last + f)
    f = ly.weather_independent_share
    assert ly.corrected_kwh == pytest.approx(ly.actual_kwh * ((1 - f) * ly.this_hdd_c / ly.hdd_c + f), rel=1e-12)
    assert ly.this_kwh == pytest.approx(_num(csv_rows[("raadhus", "month")]["actual_kwh"]), rel=1e-9)
    assert (f"Samme måned sidste år (marts 2025): {fmt_number(ly.actual_kwh)} kWh ved {fmt_number(ly.hdd_c)} "
            f"graddage; korrigeret til i års {fmt_number(ly.this_hdd_c)} graddage {fmt_number(ly.corrected_kwh)} kWh"
            ) in text
    change = ly.this_kwh / ly.corrected_kwh - 1
    assert f"{'−' if change < 0 else '+'}{fmt_number(abs(change) * 100, 0)} % ift. sidste år" in text
    # kWh/m² only where a floor area is configured (2000 m² for the town hall, none for the school)
    per_m2 = _num(csv_rows[("raadhus", "month")]["actual_kwh"]) / 2000
    assert f"Forbrug pr. m² (etageareal 2.000 m²): {fmt_number(per_m2, 1)} kWh/m² i marts 2026" in text
    assert text.count("Forbrug pr. m² (etageareal") == 1


def test_long_names_wrap_and_nothing_runs_off_the_page(savings, tmp_path):
    files, *_ = savings
    pages = _pages(files.pdf)
    # whole on its own page's heading, and in the tables the wrapped pieces of the name column join up to it
    assert any(LONG in page for page in pages[3:])
    for page in (pages[0], pages[2]):  # the summary and the portfolio table
        first_cells = " ".join(re.split(r"\s{2,}", line.strip())[0] for line in page.splitlines() if line.strip())
        assert LONG in first_cells
    # wrapped, not squeezed: the tables naming the building fit the page at the table font size (no smaller font)
    from energimon.analytics.report.document import Table
    from energimon.analytics.report.pdf import _layout_table, _table_chars

    report = build_report(files.results, savings[1].esco, dt.date(2026, 3, 1))
    tables = [b for sec in report.sections for b in sec.blocks if isinstance(b, Table)]
    named = [t for t in tables if any(LONG in row[0] for row in t.rows)]
    assert len(named) == 2  # the summary's and the portfolio's
    assert all(sum(_layout_table(t)[0]) <= _table_chars() for t in named)
    # no word of any page lies beyond the right margin (A4 is 595 pt wide; the report's margin is 7 %)
    bbox = subprocess.run(["pdftotext", "-bbox", str(files.pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert right and max(right) <= 595.0 * 0.95
    # the uncertainty header keeps its "%" with the number; no header line holds a lone "%"
    site_page = next(p for p in pages if "Usikkerhed" in p and "Kontraktår til dato" in p and LONG in p)
    assert re.search(r"\b68 %", site_page) and re.search(r"\b90 %", site_page)
    assert not any(re.search(r"(^|\s{2,})%(\s{2,}|$)", line) for line in site_page.splitlines())


def test_both_charts_label_months_the_same_way(savings):
    from matplotlib.figure import Figure

    files, settings, *_ = savings
    report = build_report(files.results, settings.esco, dt.date(2026, 3, 1))
    site = next(sec for sec in report.sections if sec.heading == "Skolen")
    charts = [b for b in site.blocks if isinstance(b, Chart)]
    assert len(charts) == 2  # baseline vs actual per month; CUSUM
    labels = []
    for chart in charts:
        fig = Figure()
        ax = fig.add_subplot()
        chart.draw(ax)
        fig.canvas.draw()
        labels.append([t.get_text() for t in ax.get_xticklabels() if t.get_text()])
    bars, cusum = labels
    assert bars == ["jan 26", "feb 26", "mar 26"]
    assert set(bars) <= set(cusum) and all(re.fullmatch(r"[a-zæøå]{3} \d\d", x) for x in cusum), cusum


def test_english_report_has_the_same_pages(savings, tmp_path):
    _, settings, *_ = savings
    store = SqliteStore(settings.store.path, readonly=True)
    try:
        en = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path, lang="en",
                                     today=dt.date(2026, 4, 10))
    finally:
        store.close()
    pages = _pages(en.pdf)
    assert "Summary" in pages[0] and "In March 2026 the 2 buildings used" in _flat(pages[0])
    assert "Glossary" in pages[1] and "not demonstrable" in _flat(" ".join(pages))
    assert ("IPMVP Option B The international method for determining one measure's saving on its own (retrofit "
            "isolation)") in _flat(pages[1])
    assert "Contract year to date: from 1 January 2026" in _flat(" ".join(pages))


def test_a_month_with_no_day_over_has_no_last_year_comparison_and_still_renders(savings, tmp_path):
    _, settings, *_ = savings
    store = SqliteStore(settings.store.path, readonly=True)
    try:
        files = generate_savings_report(settings, store, dt.date(2026, 4, 1), out_dir=tmp_path,
                                        today=dt.date(2026, 4, 1))
    finally:
        store.close()
    assert all(r.last_year is None for r in files.results)
    page1 = _flat(_pages(files.pdf)[0])
    assert "Foreløbig rapport: april 2026 er netop begyndt" in page1 and "sidste år, korrigeret" not in page1
