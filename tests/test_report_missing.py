"""Missing is never zero in a report: a month without (enough) data and a month that is not over, in the savings
and the solar report — PDF text (pdftotext, page by page), CSV, XLSX and the console, from a real SQLite store.

Savings data: Sorø Rådhus has meter data only for the baseline year (its meter "stopped" at the measure date);
Stenlille hallen has data up to 10 April 2026 (measure 1 January 2026).  Solar data: Sorø and Stenlille from
1 to 9 June 2026, Dianalund none at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess

import openpyxl
import pytest
from helpers.esco_config import esco_config

from energimon.analytics.report.csv_out import column_keys
from energimon.analytics.report.savings_report import CSV_HEADER, generate_savings_report
from energimon.analytics.report.solar_report import generate_solar_report
from energimon.app.cli import main
from energimon.app.demo import DEMO_CONFIG
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.solar import write_sites
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import load_settings
from energimon.store.sqlite import SqliteStore

SAVINGS_SITES = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4
longitude = 11.5
[sites.stenlille-hallen]
name = "Stenlille hallen"
latitude = 55.5
longitude = 11.6
"""

SAVINGS_ESCO_TABLES = """
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.115
source = "Energinet miljødeklaration"
[esco.sites.soro-raadhus]
energy = "hovedmaaler/energy_import_wh"
guarantee_kwh_per_year = 10000
[esco.sites.stenlille-hallen]
energy = "hovedmaaler/energy_import_wh"
guarantee_kwh_per_year = 20000
"""

SAVINGS_CONFIG = esco_config(SAVINGS_SITES, SAVINGS_ESCO_TABLES, spool=None, guarantee_kwh_per_year=30000,
                             price_dkk_per_kwh=2.0, temperature="stenlille-hallen/vejr/outdoor_temp_c")

AMOUNTS = ["adjusted_baseline_kwh", "actual_kwh", "savings_kwh", "uncertainty_68_kwh", "uncertainty_90_kwh",
           "savings_dkk", "co2_kg", "normalised_savings_kwh", "uncertainty_68_dkk", "uncertainty_90_dkk",
           "price_dkk_per_kwh"]


def _pdf_pages(path) -> list[str]:
    """The text of every page, each read on its own with pdftotext -f N -l N."""
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    n = int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))
    return [" ".join(subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), str(path), "-"],
                                    check=True, capture_output=True, text=True).stdout.split())
            for i in range(1, n + 1)]


def _csv(path, sep=";") -> list[dict]:
    """The rows by column key (Danish headers in a ';' file, English in a ',' one)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=sep)
        keys = column_keys(next(reader), "da" if sep == ";" else "en")
        return [dict(zip(keys, row, strict=True)) for row in reader]


@pytest.fixture(scope="module")
def savings(tmp_path_factory):
    d = tmp_path_factory.mktemp("missing")
    (d / "energimon.toml").write_text(SAVINGS_CONFIG, encoding="utf-8")
    store = SqliteStore(d / "store.db")
    soro, _ = synthetic_readings(SyntheticBuilding("soro-raadhus"), dt.date(2025, 1, 1), dt.date(2026, 1, 1),
                                 dt.date(2026, 1, 1), seed=1)
    sten, _ = synthetic_readings(SyntheticBuilding("stenlille-hallen", 600, 40), dt.date(2025, 1, 1),
                                 dt.date(2026, 4, 10), dt.date(2026, 1, 1), seed=2)
    assert store.write(soro) == [] and store.write(sten) == []
    store.close()
    return d


def test_a_savings_month_without_data_shows_dashes_and_why_and_no_g14_verdict(savings, capsys):
    cfg = savings / "energimon.toml"
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    # console (in the report's language): the building without data says so; never "0 kWh ± nan … G14 pass"
    assert ("soro-raadhus: 2026-03: – (ingen data — ingen dage med fuldstændige målerdata); ASHRAE G14: ikke "
            "vurderet") in out
    assert "stenlille-hallen: " in out and "kWh ±" in out and "nan" not in out and "foreløbig" not in out
    folder = savings / "rapporter"
    pages = _pdf_pages(folder / "besparelse-2026-03.pdf")
    portfolio = next(p for p in pages if "Portefølje" in p)  # after the summary and the glossary
    assert "Sorø Rådhus – – – – – –" in portfolio  # every cell of its row a dash
    assert "Sorø Rådhus — måned: – (ingen data — ingen dage med fuldstændige målerdata)." in portfolio
    # the total sums only Stenlille, and says so
    assert "* Måned: summen omfatter kun bygninger med nok data — udeladt: Sorø Rådhus." in portfolio
    assert "FORELØBIG" not in " ".join(pages)
    first = next(i for i, p in enumerate(pages) if "marts 2026 Sorø Rådhus Justeret" in p)  # its section's pages
    soro = " ".join(pages[first:next(i for i, p in enumerate(pages) if "marts 2026 Stenlille hallen Justeret" in p)])
    assert "Måned 0/31 – – – – – – – – Kontraktår til dato 0/90 – – – – – – – – Siden start 0/90" in soro
    assert "Måned: – (ingen data — ingen dage med fuldstændige målerdata)." in soro
    assert "ASHRAE Guideline 14: ikke vurderet — ingen målte data siden idriftsættelsen." in soro
    assert "Sorø Rådhus: realiseret besparelse, manko og overskud vises ikke (ingen målte data i kontraktåret " \
           "til dato)." in soro
    # CSV: the building's periods have empty amounts, status and reason; Stenlille's month is a result
    rows = _csv(folder / "besparelse-2026-03.csv")
    assert list(rows[0]) == CSV_HEADER
    for r in (r for r in rows if r["site"] == "soro-raadhus"):
        assert all(r[c] == "" for c in AMOUNTS), r
        assert r["points_with_data"] == "0" and r["status"] == "no_data"
        assert r["status_reason"] == "ingen data — ingen dage med fuldstændige målerdata"
    sten = next(r for r in rows if r["site"] == "stenlille-hallen" and r["period"] == "month")
    assert sten["status"] == "ok" and float(sten["savings_kwh"].replace(",", ".")) > 0
    total = next(r for r in rows if r["site"] == "portfolio" and r["period"] == "month")
    assert total["status"] == "partial" and total["savings_kwh"] == sten["savings_kwh"]
    # XLSX: the same empty cells, and no G14 verdict on "Om rapporten"
    wb = openpyxl.load_workbook(folder / "besparelse-2026-03.xlsx")
    header = [c.value for c in wb["Sorø Rådhus"][1]]
    for row in wb["Sorø Rådhus"].iter_rows(min_row=2, values_only=True):
        if all(v is None for v in row):
            break  # the building's monthly history follows its table
        cells = dict(zip(header, row, strict=True))
        assert cells["Besparelse kWh"] is None and cells["Faktisk forbrug kWh"] is None and cells["CO₂ kg"] is None
        assert cells["Status"] == "ingen data"
    about = [r for r in wb["Om rapporten"].iter_rows(values_only=True) if r[0] == "Sorø Rådhus"]
    assert about and about[0][2] == "ikke vurderet"


def test_a_savings_month_with_too_few_days_is_incomplete_not_a_small_number(savings, tmp_path):
    settings = load_settings(savings / "energimon.toml")
    store = SqliteStore(savings / "store.db", readonly=True)
    try:  # Stenlille's meter data end on 10 April: 9 of April's 30 days
        files = generate_savings_report(settings, store, dt.date(2026, 4, 1), ["stenlille-hallen"], out_dir=tmp_path,
                                        today=dt.date(2026, 6, 1))
    finally:
        store.close()
    sten = next(r for r in files.results if r.site == "stenlille-hallen")
    assert (sten.month.m, sten.month.points, sten.month.status) == (9, 30, "incomplete")
    row = next(r for r in _csv(files.csv) if r["site"] == "stenlille-hallen" and r["period"] == "month")
    assert all(row[c] == "" for c in AMOUNTS) and row["status"] == "incomplete"
    assert row["status_reason"] == "ufuldstændig — kun 9 af 30 dage med fuldstændige målerdata (kræver 90 %)"
    text = " ".join(_pdf_pages(files.pdf))
    assert "Måned: – (ufuldstændig — kun 9 af 30 dage med fuldstændige målerdata (kræver 90 %))." in text
    assert "Måned: ingen bygning har nok data, så der er ingen sum." in text


def test_a_savings_report_for_a_running_month_is_preliminary_and_counts_only_days_that_are_over(savings, tmp_path,
                                                                                                 capsys):
    from energimon.analytics.report.cli import console_lines

    settings = load_settings(savings / "energimon.toml")
    store = SqliteStore(savings / "store.db", readonly=True)
    try:  # "today" is Wednesday 8 April 2026: 1-7 April are over, the 8th is running, the rest is future
        files = generate_savings_report(settings, store, dt.date(2026, 4, 1), out_dir=tmp_path,
                                        today=dt.date(2026, 4, 8))
        with pytest.raises(ValueError, match="2026-05 has not begun"):
            generate_savings_report(settings, store, dt.date(2026, 5, 1), out_dir=tmp_path, today=dt.date(2026, 4, 8))
    finally:
        store.close()
    assert files.preliminary and files.cutoff == dt.date(2026, 4, 8)
    assert [p.name for p in (files.pdf, files.csv, files.xlsx)] == [
        "besparelse-2026-04-foreloebig.pdf", "besparelse-2026-04-foreloebig.csv", "besparelse-2026-04-foreloebig.xlsx"]
    assert all(p.name.startswith("besparelse-2026-04-foreloebig.") for p in files.site_csvs)
    pages = _pdf_pages(files.pdf)
    assert len(pages) >= 3
    for i, page in enumerate(pages, 1):  # a printed page on its own still says it
        assert "ESCO-besparelse — april 2026 (foreløbig)" in page and "FORELØBIG" in page, i
    assert ("Foreløbig rapport: april 2026 er ikke slut. Tallene omfatter kun de afsluttede dage til og med 7. april "
            "2026 (7 dage)") in pages[0]
    sten = next(r for r in files.results if r.site == "stenlille-hallen")
    # 7 days, all with data: a result, not "23 days missing"; the guarantee pro rata to 8 April (97 days)
    assert (sten.month.points, sten.month.m, sten.month.status, sten.month.end) == (7, 7, "ok", dt.date(2026, 4, 7))
    assert sten.since_start.points == 97 and sten.ledger.days_elapsed == 97
    assert sten.ledger.guarantee_to_date_kwh == pytest.approx(20000 * 97 / 365)
    row = next(r for r in _csv(files.csv) if r["site"] == "stenlille-hallen" and r["period"] == "month")
    assert (row["points"], row["points_with_data"], row["end"], row["status"]) == ("7", "7", "2026-04-07", "ok")
    lines = console_lines(files, dt.date(2026, 4, 1))
    assert lines[0] == "preliminary: 2026-04 is not over; counted up to and including 2026-04-07"


@pytest.fixture(scope="module")
def solar(tmp_path_factory):
    d = tmp_path_factory.mktemp("solar-missing")
    (d / "energimon.toml").write_text(DEMO_CONFIG.format(config="energimon.toml", devices=""), encoding="utf-8")
    store = SqliteStore(d / "store.db")
    write_sites(store, SORO_BUILDINGS[:2], dt.date(2026, 6, 1), dt.date(2026, 6, 9), step_s=300)
    store.close()
    return d


def test_a_solar_month_without_data_shows_dashes_and_why(solar, capsys):
    cfg = str(solar / "energimon.toml")
    assert main(["report", "solar", "--config", cfg, "--month", "2026-02"]) == 0
    out = capsys.readouterr().out
    assert "soro-raadhus: – (ingen data — ingen timer med fuldstændige målerdata)" in out
    assert "dianalund-bibliotek: – (ingen data — ingen tællere for anlægget i lageret)" in out
    assert "nan" not in out and "0 kWh fra solceller" not in out
    pdf = solar / "rapporter" / "solceller-2026-02.pdf"
    pages = _pdf_pages(pdf)
    assert "Intet anlæg har nok data i måneden, så der er ingen sum." in pages[0]
    assert "Sorø Rådhus: – (ingen data — ingen timer med fuldstændige målerdata)." in pages[0]
    assert "Sorø Rådhus 60 – – – – – – –" in pages[0]
    site = next(p for p in pages if "Sorø Rådhus — 60,0 kWp" in p)
    assert "Måneden: – (ingen data — ingen timer med fuldstændige målerdata)." in site
    assert "Tilgængelighed –" in site and "Timer (data/alle) 0/672" in site
    assert "Ingen udfald" not in " ".join(pages)  # no data is not "no outages"
    rows = _csv(pdf.with_suffix(".csv"))
    month = {r["site"]: r for r in rows if r["period"] == "month"}
    for r in month.values():
        assert r["status"] == "no_data" and r["pv_kwh"] == r["availability"] == r["consumption_kwh"] == ""
    assert int(month["soro-raadhus"]["expected_hours"]) > 150  # the sun was up; production is unknown, not 0 %


def test_a_solar_report_for_a_running_month_is_preliminary_and_future_days_are_not_missing(solar, tmp_path):
    from energimon.analytics.report.solar_cli import console_lines

    settings = load_settings(solar / "energimon.toml")
    store = SqliteStore(solar / "store.db", readonly=True)
    try:  # "today" is 5 June 2026: 1-4 June are over
        files = generate_solar_report(settings, store, dt.date(2026, 6, 1), out_dir=tmp_path,
                                      today=dt.date(2026, 6, 5))
        with pytest.raises(ValueError, match="2026-07 has not begun"):
            generate_solar_report(settings, store, dt.date(2026, 7, 1), out_dir=tmp_path, today=dt.date(2026, 6, 5))
    finally:
        store.close()
    assert files.preliminary and [files.pdf.name, files.csv.name] == ["solceller-2026-06-foreloebig.pdf",
                                                                      "solceller-2026-06-foreloebig.csv"]
    pages = _pdf_pages(files.pdf)
    assert len(pages) >= 4
    for i, page in enumerate(pages, 1):
        assert "Solceller: produktion og egetforbrug — juni 2026 (foreløbig)" in page and "FORELØBIG" in page, i
    assert "til og med 4. juni 2026 (4 dage)" in pages[0]
    text = " ".join(pages)
    assert "2026-06-05" not in text and "2026-06-30" not in text  # no note about a day that has not been
    rows = _csv(files.csv)
    soro_days = [r for r in rows if r["site"] == "soro-raadhus" and r["period"] == "day"]
    assert [r["start"] for r in soro_days] == ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04"]
    m = next(r for r in rows if r["site"] == "soro-raadhus" and r["period"] == "month")
    # 96 hours, all with data; availability over the expected hours of those 4 days only, none without data
    assert (m["hours"], m["hours_complete"], m["status"], m["expected_hours_no_data"]) == ("96", "96", "ok", "0")
    assert int(m["expected_hours"]) == sum(int(r["expected_hours"]) for r in soro_days)
    assert float(m["availability"].replace(",", ".")) == pytest.approx(1.0)
    lines = console_lines(files, dt.date(2026, 6, 1))
    assert lines[0] == "preliminary: 2026-06 is not over; counted up to and including 2026-06-04"
    assert lines[1].startswith("soro-raadhus: ") and "kWh PV" in lines[1]
