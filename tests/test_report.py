"""The monthly savings report through the CLI: real store, real config file, PDF text checked with pdftotext."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import shutil
import subprocess

import pytest
from helpers.esco_config import esco_config

from energimon.analytics.report.csv_out import column_keys, csv_cell, write_csv
from energimon.analytics.report.numbers import fmt_number, fmt_percent, fmt_pm
from energimon.app.cli import main
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.store.sqlite import SqliteStore

SITES = {"soro-raadhus": ("Sorø Rådhus", 400, 25, 60), "stenlille-hallen": ("Stenlille hallen", 600, 40, 90),
         "dianalund-bibliotek": ("Dianalund Bibliotek", 120, 8, 10)}

CONFIG_ESCO_SITES = """
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.115
source = "Energinet miljødeklaration"
[esco.sites.soro-raadhus]
energy = "hovedmaaler/energy_import_wh"
guarantee_kwh_per_year = 10000
[[esco.sites.soro-raadhus.adjustments]]
start = 2026-03-01
end = 2026-04-01
kwh_per_day = 20
reason = "Ny kantine åbnet på 2. sal — udvidet åbningstid"
[esco.sites.stenlille-hallen]
energy = "hovedmaaler/energy_import_wh"
temperature = "stenlille-hallen/vejr/outdoor_temp_c"
[esco.sites.dianalund-bibliotek]
model = "towt_hourly"
energy = "hovedmaaler/energy_import_wh"
temperature = "dianalund-bibliotek/vejr/outdoor_temp_c"
"""


def config(sites: str) -> str:
    return esco_config(sites, CONFIG_ESCO_SITES, esco="Eksempel ESCO A/S", guarantee_kwh_per_year=50000,
                       temperature="soro-raadhus/vejr/outdoor_temp_c")


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    sites = "\n".join(f'[sites.{sid}]\nname = "{n}"\nlatitude = 55.4\nlongitude = 11.5'
                      for sid, (n, *_) in SITES.items())
    (d / "energimon.toml").write_text(config(sites), encoding="utf-8")
    store = SqliteStore(d / "store.db")
    for i, (sid, (_, mu, beta, saving)) in enumerate(SITES.items()):
        b = SyntheticBuilding(sid, mu, beta, 15.0, 0.04 * mu, saving)
        readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=i)
        store.write(readings)
    store.close()
    return d


def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_savings_report_danish_pdf_and_csv(configured, capsys):
    cfg = configured / "energimon.toml"
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "soro-raadhus:" in out and "ASHRAE G14: bestået" in out  # the console speaks the report's language
    folder = configured / "rapporter"  # relative reports_dir: next to the config file
    pdf = folder / "besparelse-2026-03.pdf"
    text = _pdftotext(pdf)
    # Danish words with æ, ø, å survive into the PDF text
    for word in ("Sorø Rådhus", "Portefølje", "Måned", "Kontraktår til dato", "Ikke-rutinemæssige justeringer",
                 "Ny kantine åbnet på 2. sal", "Normalår", "DTI normalår, 2906 graddage",
                 "ASHRAE Guideline 14: bestået", "marts 2026", "CalTRACK timemodel (ugetime og temperatur, TOWT)",
                 "Timer", "743/743", "8.760 timer", "Garantiregnskab", "Manko kWh", "CO₂"):
        assert word in text, word
    # the numbers in the PDF are the CSV's numbers, formatted the Danish way (1.234)
    rows = [line.split(";") for line in (folder / "besparelse-2026-03.csv").read_text("utf-8-sig").splitlines()]
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Bygning (id)", "Periode", "Betegnelse"]  # Danish headers for Danish Excel
    col = {h: i for i, h in enumerate(column_keys(header, "da"))}
    month_rows = {r[col["site"]]: r for r in body if r[col["period"]] == "month"}
    for sid in SITES:
        kwh = float(month_rows[sid][col["savings_kwh"]].replace(",", "."))
        assert fmt_number(kwh, 0, "da") in text, (sid, kwh)
    # portfolio total = sum of the sites (uncertainty in quadrature, checked in test_savings)
    total = float(month_rows["portfolio"][col["savings_kwh"]].replace(",", "."))
    assert total == pytest.approx(sum(float(month_rows[s][col["savings_kwh"]].replace(",", ".")) for s in SITES))
    assert fmt_number(total, 0, "da") in text
    # CSV for Danish Excel: ';' and decimal comma, BOM for Excel's UTF-8 detection
    raw = (folder / "besparelse-2026-03.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw and b"," in raw
    assert (folder / "besparelse-2026-03.soro-raadhus.csv").exists()
    # one look at page 1 (pdftoppm), as the issue asks
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(folder / "side")], check=True)
    assert (folder / "side-1.png").stat().st_size > 10_000


def test_savings_report_english_one_site(configured, tmp_path):
    cfg = configured / "energimon.toml"
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg), "--site", "stenlille-hallen",
                 "--lang", "en", "--out", str(tmp_path), "--per-site-pdf"]) == 0
    # a report for one building is named by it (savings-2026-03_<site>…), its own files after that as in every report
    assert "Stenlille hallen" in _pdftotext(tmp_path / "savings-2026-03_stenlille-hallen.stenlille-hallen.pdf")
    text = _pdftotext(tmp_path / "savings-2026-03_stenlille-hallen.pdf")
    assert "Stenlille hallen" in text and "Portfolio" in text and "Contract year to date" in text
    assert "Sorø Rådhus" not in text
    csv_text = (tmp_path / "savings-2026-03_stenlille-hallen.csv").read_text("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Building (id),Period,Label")


def test_a_report_for_some_buildings_keeps_the_report_of_every_building(configured, tmp_path, capsys):
    # `--site` into the folder of the month's report of every building: both reports stay, each under its own names,
    # and the command names exactly the files it wrote
    cfg = str(configured / "energimon.toml")
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--out", str(tmp_path)]) == 0
    full = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert "besparelse-2026-03.pdf" in full and "besparelse-2026-03.soro-raadhus.csv" in full
    capsys.readouterr()
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "stenlille-hallen", "--site",
                 "soro-raadhus", "--out", str(tmp_path), "--per-site-pdf"]) == 0
    printed = [line.removeprefix("skrev ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("skrev ")]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in full} == full  # untouched
    stem = "besparelse-2026-03_soro-raadhus+stenlille-hallen"  # the ids sorted, whatever order they were given in
    written = {p.name for p in tmp_path.iterdir()} - set(full)
    assert written == {f"{stem}.pdf", f"{stem}.csv", f"{stem}.xlsx", f"{stem}.stenlille-hallen.csv",
                       f"{stem}.soro-raadhus.csv", f"{stem}.stenlille-hallen.pdf", f"{stem}.soro-raadhus.pdf"}
    assert sorted(printed) == sorted(str(tmp_path / name) for name in written)
    text = _pdftotext(tmp_path / f"{stem}.pdf")
    assert "Sorø Rådhus" in text and "Stenlille hallen" in text and "Dianalund" not in text
    assert "Dianalund" in _pdftotext(tmp_path / "besparelse-2026-03.pdf")


def test_a_selection_of_many_buildings_is_named_by_its_count_and_a_digest():
    from energimon.analytics.report.i18n import selection_suffix
    from energimon.model import is_valid_id

    assert selection_suffix(["b", "a_1", "b"], "da") == "_a_1+b"
    many = [f"bygning-nummer-{k:02d}" for k in range(12)]
    mark = selection_suffix(many, "da")
    assert re.fullmatch(r"_12-bygninger~[0-9a-f]{16}", mark) and selection_suffix(reversed(many), "da") == mark
    assert selection_suffix(many, "en").startswith("_12-sites~") and selection_suffix(many[1:], "da") != mark
    # "~" is no site id's: no selection of buildings named by their ids reads like one named by its digest
    assert not is_valid_id(mark[1:]) and is_valid_id(mark[1:].replace("~", "-"))


def test_no_file_of_any_report_is_named_like_a_file_of_another():
    """The names alone, over ids chosen to meet: the report's marks (``co2``, ``tiltag``, ``foreloebig`` …), ids that
    continue one another (``a``, ``b``, ``a-b``, ``a-co2``) and ids spelled like a selection named by its digest, every
    report of a month — of every building or some, final or preliminary, Danish or English: each file is one report's,
    and one file of it."""
    from energimon.analytics.report.i18n import PRELIMINARY_SUFFIX, report_file_name, selection_suffix, site_file_name

    ids = ["a", "b", "a-b", "a_b", "a-co2", "b-co2", "a-tiltag", "b-measures", "a-foreloebig", "co2", "tiltag",
           "measures", "foreloebig", "preliminary", *LONG_IDS, DIGEST_LIKE, DIGEST_LIKE.replace("bygninger", "sites")]
    owner: dict[str, tuple] = {}
    for lang, prelim, chosen in itertools.product(("da", "en"), (False, True),
                                                  [None, *([x] for x in ids), *itertools.combinations(ids, 2)]):
        stem = ("besparelse" if lang == "da" else "savings") + "-2026-03" + (PRELIMINARY_SUFFIX[lang] if prelim else "")
        selection = selection_suffix(chosen, lang) if chosen else ""
        files = [report_file_name(stem, selection, ext) for ext in ("pdf", "csv", "xlsx")]
        files += [report_file_name(stem, selection, "csv", mark) for mark in ("co2", "tiltag" if lang == "da" else
                                                                                "measures")]
        files += [site_file_name(stem + selection, site, ext) for site in chosen or ids for ext in ("csv", "pdf")]
        for name in files:
            assert owner.setdefault(name, (lang, prelim, chosen)) == (lang, prelim, chosen), (name, owner[name])
        assert len(set(files)) == len(files), chosen


def test_report_cli_errors(configured, capsys):
    cfg = configured / "energimon.toml"
    assert main(["report", "savings", "--month", "2026-13", "-c", str(cfg)]) == 64
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg), "--site", "nowhere"]) == 64
    err = capsys.readouterr().err
    # the run's language (Danish by default): the month format and the unknown ESCO site, with the known ones
    assert "ÅÅÅÅ-MM" in err and "ukendt bygning 'nowhere'" in err and "i [esco.sites]" in err
    assert "soro-raadhus" in err
    # a month before the measure: the building is listed with the reason, not a crash
    assert main(["report", "savings", "--month", "2025-11", "-c", str(cfg), "--out", str(configured / "x")]) == 0
    assert "before the measure date" in capsys.readouterr().out


def test_number_formats():
    assert fmt_number(1234567.891, 1, "da") == "1.234.567,9"
    assert fmt_number(1234567.891, 1, "en") == "1,234,567.9"
    assert fmt_number(-0.2, 0, "da") == "0"  # no "-0"
    assert fmt_number(float("nan"), 0) == "–"  # missing is not zero
    assert fmt_percent(0.0394, 1, "da") == "3,9 %"
    assert fmt_pm(191.6, 0, "da") == "± 192"


def test_csv_cells_and_refusal(tmp_path):
    assert csv_cell(1234.5, True) == "1234,5" and csv_cell(1234.5, False) == "1234.5"
    assert csv_cell(float("nan"), True) == "" and csv_cell(3.0, True) == "3"
    with pytest.raises(ValueError, match="separator"):
        write_csv(tmp_path / "x.csv", ["a"], [[1.5]], sep=",", decimal_comma=True)


def test_report_schedule_first_working_day(configured, tmp_path):
    from energimon.analytics.report.schedule import first_working_day, latest_due_month, run_due_reports
    from energimon.config.settings import load_settings
    from energimon.mail.outbox import MailDB
    from energimon.model import LOCAL_TZ

    # 1 March 2026 is a Sunday -> Monday 2 March; 1 January 2027 (Friday) is Nytårsdag -> Monday 4 January
    assert dt.date(2026, 3, 1).weekday() == 6
    assert first_working_day(2026, 3) == dt.date(2026, 3, 2)
    assert first_working_day(2027, 1, {dt.date(2027, 1, 1)}) == dt.date(2027, 1, 4)
    assert latest_due_month(dt.date(2026, 3, 2)) == dt.date(2026, 2, 1)
    assert latest_due_month(dt.date(2026, 3, 1)) == dt.date(2026, 1, 1)  # Sunday: February is not due yet
    assert latest_due_month(dt.date(2027, 1, 4), {dt.date(2027, 1, 1)}) == dt.date(2026, 12, 1)
    assert latest_due_month(dt.date(2027, 1, 1), {dt.date(2027, 1, 1)}) == dt.date(2026, 11, 1)
    # the day after the first working day the month is still due (it was not: no catch-up after downtime)
    assert latest_due_month(dt.date(2026, 12, 2)) == dt.date(2026, 11, 1)
    settings = load_settings(configured / "energimon.toml")  # no [smtp]: the report is written, not mailed
    settings.esco.reports_dir = configured / "planlagt"
    with MailDB(tmp_path / "mail.db") as db:
        def run(day: dt.date) -> list[str]:
            return run_due_reports(settings, lambda: SqliteStore(configured / "store.db", readonly=True), db,
                                   dt.datetime.combine(day, dt.time(7, 5), tzinfo=LOCAL_TZ))

        assert run(dt.date(2026, 4, 3)) == ["savings 2026-03: files written"]  # Friday 3 April: March
        assert (configured / "planlagt" / "besparelse-2026-03.pdf").exists()
        assert run(dt.date(2026, 4, 3)) == [] and run(dt.date(2026, 4, 30)) == []  # once


def test_process_pool_gives_the_same_numbers(configured, tmp_path, monkeypatch):
    import energimon.analytics.report.savings_report as sr
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.config.settings import load_settings

    monkeypatch.setattr(sr, "POOL_MIN_SITES", 2)  # use the pool even for three buildings
    settings = load_settings(configured / "energimon.toml")
    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        seq = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "seq")
        par = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "par", workers=2)
    finally:
        store.close()
    assert [r.site for r in par.results] == [r.site for r in seq.results]  # configured order kept
    assert seq.csv.read_bytes() == par.csv.read_bytes()


def test_the_pool_draws_the_same_portfolio_pdf(configured, tmp_path, monkeypatch):
    """The pool's workers draw parts of the report the main process built (its charts travel as module functions
    with their data) while the CSVs and the workbook are written: the joined PDF reads page for page as the one
    drawn at once, page numbers included, and no part file is left behind."""
    import energimon.analytics.report.savings_report as sr
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.config.settings import load_settings

    monkeypatch.setattr(sr, "POOL_MIN_SITES", 2)
    settings = load_settings(configured / "energimon.toml")
    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        seq = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "seq")
        monkeypatch.setattr(sr, "PARALLEL_PAGES", 2)  # three buildings' report drawn in two parts
        par = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "par", workers=2)
    finally:
        store.close()
    seq_text, par_text = _pdftotext(seq.pdf), _pdftotext(par.pdf)
    assert par_text == seq_text
    assert seq_text.count("\f") >= 6 and "side 6" in par_text  # several pages, numbered as in the whole
    assert sorted(p.name for p in (tmp_path / "par").iterdir() if p.suffix == ".pdf") == [par.pdf.name]
    assert par.xlsx is not None and par.xlsx.exists() and par.csv.read_bytes() == seq.csv.read_bytes()


def test_a_long_subtitle_wraps_instead_of_running_off_the_page(tmp_path):
    from energimon.analytics.report.document import Report, Section
    from energimon.analytics.report.pdf import render_pdf

    subtitle = ("Kontrakt: Energirenovering af kommunale bygninger i Sorø Kommune 2025-2035 (Eksempel ESCO A/S) · "
                "baseline 1. maj 2025 – 30. april 2026 · slutord-æøå")
    pdf = render_pdf(Report("Titel", subtitle, sections=[Section("Afsnit").text("tekst")]), tmp_path / "r.pdf")
    text = _pdftotext(pdf)
    assert "slutord-æøå" in text  # the end of the subtitle is on the page, not cut at its right edge
    assert max(len(line.rstrip()) for line in text.splitlines()) < 110


def test_a_long_table_continues_on_the_next_pages_and_a_report_rendered_in_parts_is_the_same(tmp_path):
    """200 buildings make a portfolio table longer than a page: its rows continue on the next pages under the
    header again (none is cut off). A report rendered in page ranges (the worker pool's parts) and joined is
    page for page the report rendered at once, page numbers included."""
    from energimon.analytics.report.document import Report, Section, Table
    from energimon.analytics.report.pdf import merge_pdfs, page_count, render_pdf

    rows = [[f"Bygning {i:03d}", f"{1000 + i}", f"± {i % 50}"] for i in range(120)]
    report = Report("Titel", "Undertitel", sections=[
        Section("Portefølje").text("Før tabellen.").table(Table(["Bygning", "Måned kWh", "Usikkerhed"], rows)),
        Section("Næste bygning").text("Næste afsnit på en ny side.")])
    whole = render_pdf(report, tmp_path / "whole.pdf")
    n = page_count(report)
    pages = [subprocess.run(["pdftotext", "-layout", "-f", str(k), "-l", str(k), str(whole), "-"], check=True,
                            capture_output=True, text=True).stdout for k in range(1, n + 1)]
    assert n == len(pages) >= 3
    for i in range(120):  # every row once, none cut off at the bottom of a page
        assert sum(f"Bygning {i:03d}" in p for p in pages) == 1, i
    table_pages = [p for p in pages if "Bygning 0" in p and "Måned" in p]
    assert len(table_pages) >= 2  # the header again where the table continues
    assert "Næste afsnit" in pages[-1] and f"side {n}" in pages[-1]
    parts = [render_pdf(report, tmp_path / "a.pdf", range(0, 2)), render_pdf(report, tmp_path / "b.pdf", range(2, n))]
    joined = merge_pdfs(parts, tmp_path / "joined.pdf")
    assert _pdftotext(joined) == _pdftotext(whole)


@pytest.mark.parametrize("pool", [False, True])
def test_the_site_calendars_school_holidays_reach_the_savings_uncertainty(configured, tmp_path, monkeypatch, pool):
    """A building's school holidays (``[alerts.sites.<id>] school_holidays``, the calendar the alerts already use)
    are day types of their own in its savings uncertainty, in the baseline and in the reporting days — through the
    process pool too; a building without a calendar keeps the plain day types."""
    import energimon.analytics.report.savings_report as sr
    from energimon.analytics.report.savings_report import _school_holidays, generate_savings_report
    from energimon.analytics.stats import CALENDAR_TERM_P, DAY_TYPES
    from energimon.config.settings import load_settings

    calendar = """
[alerts]
enabled = false
[alerts.sites.stenlille-hallen]
school_holidays = [{ start = 2025-07-05, end = 2025-08-10, reason = "sommerferie" },
                   { start = 2026-02-09, end = 2026-02-15, reason = "vinterferie" }]
"""
    config = tmp_path / "energimon.toml"
    config.write_text((configured / "energimon.toml").read_text(encoding="utf-8").replace(
        'path = "store.db"', f'path = "{configured / "store.db"}"').replace(
        'path = "spool.db"', f'path = "{tmp_path / "spool.db"}"') + calendar, encoding="utf-8")
    if pool:
        monkeypatch.setattr(sr, "POOL_MIN_SITES", 2)
    settings = load_settings(config)
    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        files = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "out",
                                        workers=2 if pool else 1)
    finally:
        store.close()
    by_site = {r.site: r for r in files.results}
    hall = by_site["stenlille-hallen"].model.residuals
    summer = {dt.date(2025, 7, 5) + dt.timedelta(days=i) for i in range(37)}  # 5 July - 10 August 2025, inclusive
    winter = {dt.date(2026, 2, 9) + dt.timedelta(days=i) for i in range(7)}
    # the building's synthetic use has no school-holiday pattern: the calendar is tested and, not showing in the
    # baseline (CALENDAR_TERM_P), not used — the plain day types
    assert hall.school_holidays_p is not None and hall.school_holidays_p >= CALENDAR_TERM_P
    assert hall.school_holidays == frozenset() and not any(hall.day_type_kwh[8:])
    assert len(hall.day_type_kwh) == len(DAY_TYPES) == 15
    # the dates the report computed from the calendar (what the test is given to decide)
    assert _school_holidays(settings, "stenlille-hallen", dt.date(2025, 1, 1), dt.date(2026, 4, 1)) == frozenset(
        summer | winter)
    raadhus = by_site["soro-raadhus"].model.residuals
    assert raadhus.school_holidays == frozenset() and raadhus.school_holidays_p is None


def _quieter_on(readings, days: set[dt.date], factor: float) -> list:
    """The energy counter's hours on ``days`` (local) used at ``factor`` of their rate — a school quiet in its
    holidays; the other readings (the temperature) as they were."""
    from dataclasses import replace

    from energimon.model import LOCAL_TZ

    energy = [r for r in readings if r.channel == "energy_import_wh"]
    out, total = [energy[0]], energy[0].value
    for prev, r in itertools.pairwise(energy):
        day = dt.datetime.fromtimestamp(prev.ts_ms / 1000, LOCAL_TZ).date()  # the hour's start
        total += (r.value - prev.value) * (factor if day in days else 1.0)
        out.append(replace(r, value=total))
    return out + [r for r in readings if r.channel != "energy_import_wh"]


def test_the_report_tells_per_building_whether_its_school_holidays_were_used(configured, tmp_path):
    """Each building's page and the workbook's "Om rapporten" say how its site calendar entered the savings
    uncertainty: none configured (with what to configure and why), configured but none in the baseline period,
    configured but showing no significant pattern (with its p), used (a school quiet in its holidays, with its p)."""
    import openpyxl

    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.analytics.stats import CALENDAR_TERM_P
    from energimon.config.settings import load_settings

    store_path = tmp_path / "store.db"
    shutil.copy(configured / "store.db", store_path)
    holidays = [(dt.date(2025, 2, 10), dt.date(2025, 2, 16)), (dt.date(2025, 6, 28), dt.date(2025, 8, 10)),
                (dt.date(2025, 10, 13), dt.date(2025, 10, 19)), (dt.date(2026, 2, 9), dt.date(2026, 2, 15))]
    school_days = {a + dt.timedelta(days=i) for a, b in holidays for i in range((b - a).days + 1)}
    readings, _ = synthetic_readings(SyntheticBuilding("skolen", 300, 20, 15.0, 12.0, 45), dt.date(2025, 1, 1),
                                     dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=7)
    store = SqliteStore(store_path)
    store.write(_quieter_on(readings, school_days, 0.6))
    store.close()
    periods = ", ".join(f'{{ start = {a}, end = {b}, reason = "ferie" }}' for a, b in holidays)
    extra = """
[sites.skolen]
name = "Skolen"
latitude = 55.4
longitude = 11.5
[esco.sites.skolen]
energy = "hovedmaaler/energy_import_wh"
temperature = "skolen/vejr/outdoor_temp_c"
[alerts]
enabled = false
[alerts.sites.stenlille-hallen]
school_holidays = [{ start = 2025-07-05, end = 2025-08-10, reason = "sommerferie" }]
[alerts.sites.dianalund-bibliotek]
school_holidays = [{ start = 2026-02-09, end = 2026-02-15, reason = "vinterferie" }]
[alerts.sites.skolen]
school_holidays = [{periods}]
""".replace("{periods}", periods)
    config = tmp_path / "energimon.toml"
    config.write_text((configured / "energimon.toml").read_text(encoding="utf-8").replace(
        'path = "store.db"', f'path = "{store_path}"').replace(
        'path = "spool.db"', f'path = "{tmp_path / "spool.db"}"') + extra, encoding="utf-8")
    settings = load_settings(config)
    store = SqliteStore(store_path, readonly=True)
    try:
        files = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "out")
    finally:
        store.close()
    by_site = {r.site: r for r in files.results}
    p_hall = by_site["stenlille-hallen"].model.residuals.school_holidays_p
    p_school = by_site["skolen"].model.residuals.school_holidays_p
    assert p_hall >= CALENDAR_TERM_P > p_school  # no pattern in the hall's synthetic use; 40 % less in the school's
    expected = {
        "Sorø Rådhus": "Skoleferier: ingen angivet i bygningens kalender ([alerts.sites.soro-raadhus] "
                       "school_holidays). For skoler, haller og rådhuse kan de gøre usikkerhedsintervallet smallere "
                       "og mere retvisende.",
        "Stenlille hallen": "Skoleferier: angivet i kalenderen, men ikke brugt: de viste intet signifikant mønster i "
                            f"baselineperioden (p = {fmt_number(p_hall, 3)}; kræver p < 0,1).",
        "Dianalund Bibliotek": "Skoleferier: angivet i kalenderen, men ikke brugt: ingen af dem ligger i "
                               "baselineperioden, så der er intet mønster at lære af.",
        "Skolen": "Skoleferier: bygningens kalender er brugt: skoleferierne indgår for sig i usikkerheden (de viste et "
                  "signifikant mønster i baselineperioden, p < 0,001).",
    }
    # on each building's own page (its heading first), once
    pages = [" ".join(page.split()) for page in _pdftotext(files.pdf).split("\f")]
    for name, line in expected.items():
        found = [page for page in pages if line in page]
        assert len(found) == 1, (name, line)
        assert found[0].startswith(f"ESCO-besparelse — marts 2026 {name} "), name
    # the workbook's "Om rapporten": a row per building with the same words and the test's p as a number
    about = openpyxl.load_workbook(files.xlsx)["Om rapporten"]
    rows = [row[:3] for row in about.iter_rows(values_only=True)]
    head = rows.index(("Bygning", "Skoleferier", "p (F-test)"))
    table = {row[0]: row[1:3] for row in rows[head + 1:head + 5]}
    assert set(table) == set(expected)
    for name, line in expected.items():
        assert f"Skoleferier: {table[name][0]}".startswith(line), name
    assert table["Stenlille hallen"][1] == pytest.approx(p_hall) and table["Skolen"][1] == pytest.approx(p_school)
    assert table["Sorø Rådhus"][1] is None and table["Dianalund Bibliotek"][1] is None
    # in English too
    from energimon.analytics.report.savings_report import school_holidays_text

    assert school_holidays_text(by_site["dianalund-bibliotek"], "en").startswith(
        "configured but not used: none of them lies in the baseline period")
    assert school_holidays_text(by_site["soro-raadhus"], "en").startswith(
        "none configured in the building's calendar ([alerts.sites.soro-raadhus] school_holidays). For schools, "
        "sports halls and town halls")


# -- a site whose id is one of the report's own file marks ------------------------------------------------------
MARK_SITES = ("co2", "tiltag", "measures", "foreloebig")
"""Site ids that are also the marks of the report's own files: the CO₂ account's ``-co2.csv``, the measures'
``-tiltag.csv`` (Danish) and ``-measures.csv`` (English), and the preliminary report's ``-foreloebig``."""

MARK_MEASURE = """
[[esco.measures]]
id = "led"
name = "LED i hallen"
site = "tiltag"
installed = 2026-02-02
energy = "belysning/energy_import_wh"
baseline_start = 2025-12-01
baseline_end = 2026-02-02
"""


def _portfolio_with_a_measure(d, site_ids, measure: str, measure_site: str):
    """A store and config in ``d``: every site a synthetic building on its own ``hovedmaaler`` with an Option C
    contract, the first site's weather for all, ``measure`` (a lighting measure on ``measure_site``) and a month of
    the grid's CO₂ intensity — a report of each of the report's kinds of files."""
    from energimon.collector.simulator.lighting import LightingLoad, lighting_readings
    from energimon.model import Reading

    sites = "\n".join(f'[sites.{sid}]\nname = "Bygning {sid}"\nlatitude = 55.4\nlongitude = 11.5' for sid in site_ids)
    esco_sites = "\n".join(f'[esco.sites.{sid}]\nenergy = "hovedmaaler/energy_import_wh"' for sid in site_ids)
    (d / "energimon.toml").write_text(esco_config(sites, esco_sites + "\n" + measure, contract="Kontrakt",
                                                    co2_intensity="dk2/energinet/co2_g_per_kwh",
                                                    temperature=f"{site_ids[0]}/vejr/outdoor_temp_c"), encoding="utf-8")
    store = SqliteStore(d / "store.db")
    for i, sid in enumerate(site_ids):
        b = SyntheticBuilding(sid, 300, 20, 15.0, 12, 40)
        readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=i,
                                         with_temperature=i == 0)
        store.write(readings)
    lit, _ = lighting_readings(LightingLoad(measure_site, "belysning", 40.0, 0.35, 3.0, dt.date(2026, 2, 2), 3),
                               dt.date(2025, 12, 1), dt.date(2026, 4, 1))
    store.write(lit)
    t0 = int(dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp() * 1000) - 3_600_000
    store.write([Reading("dk2", "energinet", "co2_g_per_kwh", "market", t0 + h * 3_600_000, 100.0)
                 for h in range(31 * 24 + 2)])
    store.close()
    return d


@pytest.fixture(scope="module")
def marks(tmp_path_factory):
    return _portfolio_with_a_measure(tmp_path_factory.mktemp("marks"), MARK_SITES, MARK_MEASURE, "tiltag")


def _keys(path) -> list[str]:
    text = path.read_text("utf-8-sig")
    header = text.splitlines()[0]
    return column_keys(header.split(";" if ";" in header else ","), "da" if ";" in header else "en")


def _sites_in(path) -> set[str]:
    rows = path.read_text("utf-8-sig").splitlines()
    sep = ";" if ";" in rows[0] else ","
    return {r.split(sep)[0] for r in rows[1:]}


def test_a_site_named_like_one_of_the_reports_own_files_replaces_none_of_them(marks):
    """A building's own files are named after its id beside the report's own files: a building called ``co2``,
    ``tiltag``, ``measures`` or ``foreloebig`` must not overwrite the CO₂ account, the measures' CSV or the month's
    preliminary report with its own rows — every file written holds what it says it holds."""
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.config.settings import load_settings

    settings = load_settings(marks / "energimon.toml")
    out = marks / "arkiv"
    store = SqliteStore(marks / "store.db", readonly=True)
    try:
        # the preliminary report written during the month, then the final one and the English one in the same folder
        prelim = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=out, today=dt.date(2026, 3, 20))
        final = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=out, per_site_pdf=True,
                                        today=dt.date(2026, 4, 2))
        english = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=out, lang="en",
                                          per_site_pdf=True, today=dt.date(2026, 4, 2))
    finally:
        store.close()
    for files in (prelim, final, english):
        assert files.co2_csv is not None and files.measures_csv is not None
        paths = files.paths()
        assert len(set(paths)) == len(paths), sorted(p.name for p in paths)  # no file written twice
        assert "method" in _keys(files.co2_csv) and _sites_in(files.co2_csv) == set(MARK_SITES)  # the CO₂ account
        assert "measure_id" in _keys(files.measures_csv)  # the measures' CSV
        assert _sites_in(files.csv) == {*MARK_SITES, "portfolio"}
        for r, path in zip(files.results, files.site_csvs, strict=True):
            assert _sites_in(path) == {r.site}, path.name
    # no report's file is another's: the final one's building "foreloebig" left the preliminary report whole
    written = [p for files in (prelim, final, english) for p in files.paths()]
    assert len(set(written)) == len(written)
    assert _sites_in(prelim.csv) == {*MARK_SITES, "portfolio"}
    assert prelim.pdf.read_bytes()[:5] == b"%PDF-" and "FORELØBIG" in _pdftotext(prelim.pdf)
    assert {p.name for p in out.iterdir()} == {p.name for p in written}


# -- two reports for different buildings in one folder ----------------------------------------------------------
LONG_IDS = ("bygning-med-et-langt-navn-nummer-et", "bygning-med-et-langt-navn-nummer-to")
"""Two ids longer together than ``SELECTION_MAX_CHARS``: a report for both is named by their count and a digest."""
DIGEST_LIKE = "2-bygninger-" + hashlib.sha256("+".join(LONG_IDS).encode()).hexdigest()[:8]
"""A site id spelled as the previous version named the report for ``LONG_IDS`` (``_2-bygninger-<digest>``)."""
NEIGHBOUR_SITES = ("hal", "hal-co2", "hal-tiltag", *LONG_IDS, DIGEST_LIKE)
"""``hal`` has a measure and the CO₂ account; ``hal-co2`` and ``hal-tiltag`` are ``hal`` with the marks of those
files after it."""

NEIGHBOUR_MEASURE = MARK_MEASURE.replace('site = "tiltag"', 'site = "hal"')


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory):
    return _portfolio_with_a_measure(tmp_path_factory.mktemp("neighbours"), NEIGHBOUR_SITES, NEIGHBOUR_MEASURE, "hal")


def _report_for(folder, out, capsys, *sites: str) -> set[str]:
    """``report savings --site …`` for March 2026 into ``out``: the names of the files it says it wrote."""
    capsys.readouterr()
    args = ["report", "savings", "--month", "2026-03", "-c", str(folder / "energimon.toml"), "--out", str(out),
            "--workers", "1"]
    assert main([*args, *(a for s in sites for a in ("--site", s))]) == 0
    return {line.removeprefix("skrev ").rsplit("/", 1)[-1] for line in capsys.readouterr().out.splitlines()
            if line.startswith("skrev ")}


def test_a_report_for_one_building_shares_no_file_with_the_report_for_a_building_named_after_its_files(
        neighbours, tmp_path, capsys):
    """``--site hal`` writes the CO₂ account and the measures' CSV of its selection beside its own CSV; ``--site
    hal-co2`` and ``--site hal-tiltag`` are other buildings, whose CSV must not take those files' names: each run's
    files are its own, and ``hal``'s CO₂ account and measures stay what they are after the other two ran."""
    hal = _report_for(neighbours, tmp_path, capsys, "hal")
    co2 = _report_for(neighbours, tmp_path, capsys, "hal-co2")
    tiltag = _report_for(neighbours, tmp_path, capsys, "hal-tiltag")
    assert not hal & co2 and not hal & tiltag and not co2 & tiltag, sorted((hal & co2) | (hal & tiltag))
    # what hal's files hold after the other two runs: its CO₂ account and its measures, not another building's rows
    csvs = [n for n in hal if n.endswith(".csv")]
    accounts = [n for n in csvs if "method" in _keys(tmp_path / n)]
    measures = [n for n in csvs if "measure_id" in _keys(tmp_path / n)]
    assert len(accounts) == 1 and len(measures) == 1, sorted(hal)
    assert _sites_in(tmp_path / accounts[0]) == {"hal"}
    assert {p.name for p in tmp_path.iterdir()} == hal | co2 | tiltag


def test_a_building_named_like_a_selections_digest_shares_no_file_with_that_selection(neighbours, tmp_path, capsys):
    """A report for many buildings is named by their count and a digest; a building whose id reads like that name
    (``2-bygninger-…``) is another report, with files of its own."""
    many = _report_for(neighbours, tmp_path, capsys, *LONG_IDS)
    one = _report_for(neighbours, tmp_path, capsys, DIGEST_LIKE)
    assert many and one and not many & one, sorted(many & one)
    # the selection's CSV still holds its two buildings, not the third one's rows
    portfolio = [n for n in many if n.endswith(".csv") and "portfolio" in _sites_in(tmp_path / n)]
    assert len(portfolio) == 1 and _sites_in(tmp_path / portfolio[0]) == {*LONG_IDS, "portfolio"}
