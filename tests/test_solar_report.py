"""`energimon report solar` end to end: real SQLite store, real config file, PDF text checked with pdftotext.

The expected numbers are computed here from the raw counter readings at the month's edges (a different
path than the hourly KPI code): PV = counter(1 July 00:00) − counter(1 June 00:00), and so on.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess

import pandas as pd
import pytest

from energimon.analytics.report.csv_out import column_keys
from energimon.analytics.report.numbers import fmt_number, fmt_percent
from energimon.analytics.report.solar_report import summary_line
from energimon.app.cli import main
from energimon.app.demo import DEMO_CONFIG
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.solar import write_sites
from energimon.config.settings import load_settings
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.sqlite import SqliteStore

TZ = "Europe/Copenhagen"


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    d = tmp_path_factory.mktemp("solar")
    (d / "energimon.toml").write_text(DEMO_CONFIG.format(config="energimon.toml", devices=""), encoding="utf-8")
    store = SqliteStore(d / "store.db")
    # Stenlille: inverter off 10-14 on 12 June and the main meter silent 08:10-11:20 on 20 June;
    # Dianalund: a net-only meter (no export counter); Sorø: clean.
    write_sites(store, SORO_BUILDINGS, dt.date(2026, 6, 1), dt.date(2026, 7, 1), step_s=300,
                pv_outages={"stenlille-hallen": [(pd.Timestamp("2026-06-12 10:00", tz=TZ),
                                                  pd.Timestamp("2026-06-12 14:00", tz=TZ))]},
                meter_outages={"stenlille-hallen": [(pd.Timestamp("2026-06-20 08:10", tz=TZ),
                                                     pd.Timestamp("2026-06-20 11:20", tz=TZ))]},
                net_only={"dianalund-bibliotek"})
    store.close()
    return d


def _raw_diff_kwh(store, key: SeriesKey, a: str, b: str) -> float:
    """Counter at local time b minus at a (readings exist exactly there: 5-minute data from local midnight)."""
    ta, tb = pd.Timestamp(a, tz=TZ), pd.Timestamp(b, tz=TZ)
    va = store.read(key, ta, ta + pd.Timedelta(seconds=1)).iloc[0]
    vb = store.read(key, tb, tb + pd.Timedelta(seconds=1)).iloc[0]
    return (vb - va) / 1000.0


def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_solar_report_danish_pdf_and_csv(configured, capsys):
    cfg = str(configured / "energimon.toml")
    assert main(["report", "solar", "--config", cfg, "--month", "2026-06", "--daily-table"]) == 0
    out = capsys.readouterr().out
    pdf = configured / "rapporter" / "solceller-2026-06.pdf"
    csv_path = pdf.with_suffix(".csv")
    assert f"skrev {pdf}" in out and pdf.exists() and csv_path.exists()

    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        a, b = "2026-06-01 00:00", "2026-07-01 00:00"
        pv = _raw_diff_kwh(store, SeriesKey("soro-raadhus", "inverter", "pv_energy_wh"), a, b)
        imp = _raw_diff_kwh(store, SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh"), a, b)
        exp = _raw_diff_kwh(store, SeriesKey("soro-raadhus", "hovedmaaler", "energy_export_wh"), a, b)
        pv_dia = _raw_diff_kwh(store, SeriesKey("dianalund-bibliotek", "inverter", "pv_energy_wh"), a, b)
    finally:
        store.close()
    load = imp + pv - exp
    scr, ssr = (pv - exp) / pv, (load - imp) / load

    text = " ".join(_pdftotext(pdf).split())  # lines wrap anywhere: compare word sequences
    assert "Solceller: produktion og egetforbrug — juni 2026" in text
    for word in ("Sorø Rådhus", "Stenlille hallen", "Dianalund Bibliotek", "Egetforbrugsandel", "Selvforsyningsgrad",
                 "Ydelse mod skyfri himmel", "Tilgængelighed", "Måneden", "Bemærkninger", "Dag for dag"):
        assert word in text, word
    # one performance figure, explained once: no second "against clear sky" figure (the clear-sky PR), no jargon
    for gone in ("PR mod clear-sky-kuvert", "Produktion / klar himmel", "clear-sky-kuvert", "Y_f / Y_r", "PR*"):
        assert gone not in text, gone
    assert text.count("* Ydelse for") == 1 and "skyfri himmel (beregnet; der er ingen indstrålingsmåler)" in text
    assert text.count("Ydelse mod skyfri himmel") == 3  # a row in each site's month table, nowhere else
    # Sorø's month in Danish number format, as computed from the counters' month edges
    for number in (fmt_number(pv, 0), fmt_number(imp, 0), fmt_number(exp, 0), fmt_number(load, 0),
                   fmt_percent(scr, 1), fmt_percent(ssr, 1), fmt_number(pv / 60.0, 2)):
        assert number in text, number
    # Dianalund has no export counter: the PDF says what cannot be computed, and shows no number for it
    assert "Kan ikke beregnes" in text and "eksport måles ikke separat" in text
    assert fmt_number(pv_dia, 0) in text
    # outage notes: Stenlille's inverter off 10-14 on the 12th (no readings 10:00-13:55; the gap 09:55-14:00
    # holds the 09:55-10:00 energy, so hours 09, 10, 11, 12, 13 are unknown: 5), its meter silent on the 20th
    # (readings 08:05 and 11:20: hours 08, 09, 10, 11 unknown: 4)
    assert "2026-06-12: ingen målt produktion i 5 af" in text and "heraf 5 uden data" in text
    assert "2026-06-20: 4 af 24 timer mangler målerdata" in text

    with csv_path.open(encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader)
        assert "Egetforbrugsandel" in header and "self_consumption_ratio" not in header  # Danish headers
        keys = column_keys(header, "da")
        rows = [dict(zip(keys, row, strict=True)) for row in reader]
    month = {r["site"]: r for r in rows if r["period"] == "month"}
    assert set(month) == {"soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"}
    assert len([r for r in rows if r["period"] == "day" and r["site"] == "soro-raadhus"]) == 30

    def num(cell: str) -> float:
        return float(cell.replace(",", "."))

    m = month["soro-raadhus"]
    assert num(m["pv_kwh"]) == pytest.approx(pv, rel=1e-9)
    assert num(m["consumption_kwh"]) == pytest.approx(load, rel=1e-9)
    assert num(m["self_consumption_ratio"]) == pytest.approx(scr, rel=1e-6)
    assert num(m["self_sufficiency_ratio"]) == pytest.approx(ssr, rel=1e-6)
    assert "," in m["pv_kwh"] and m["reference"] == "clear-sky" and m["hours"] == "720"
    # the site's performance figure in the PDF is production / clear-sky expectation from the CSV
    assert f"Ydelse mod skyfri himmel {fmt_percent(num(m['yield_vs_expected']), 1)}" in text
    dia = month["dianalund-bibliotek"]
    assert dia["export_kwh"] == dia["consumption_kwh"] == dia["self_consumption_ratio"] == ""
    assert num(dia["pv_kwh"]) == pytest.approx(pv_dia, rel=1e-9)
    sten = month["stenlille-hallen"]
    assert int(sten["expected_hours_no_data"]) == 5 and num(sten["availability"]) < 1


def test_solar_report_english_and_options(configured, capsys):
    cfg = str(configured / "energimon.toml")
    out_dir = configured / "en"
    assert main(["report", "solar", "--config", cfg, "--month", "2026-06", "--lang", "en", "--site", "soro-raadhus",
                 "--out", str(out_dir)]) == 0
    # a report for one site is named by it (solar-2026-06_<site>), in English as in Danish
    text = " ".join(_pdftotext(out_dir / "solar-2026-06_soro-raadhus.pdf").split())
    assert "Self-consumption ratio" in text and "Performance against clear sky" in text
    assert "Stenlille" not in text
    with (out_dir / "solar-2026-06_soro-raadhus.csv").open(encoding="utf-8-sig") as f:
        header = f.readline()
    assert header.startswith("Building (id),Period,From,Installed power kWp")  # English headers in English
    assert main(["report", "solar", "--config", cfg, "--month", "2026-13"]) == 64
    assert main(["report", "solar", "--config", cfg, "--month", "2026-06", "--site", "nowhere"]) == 64
    bare = configured / "bare.toml"
    bare.write_text(f'[sites.x]\nname = "Ørsted"\nlatitude = 55.4\nlongitude = 11.5\n[store]\npath = '
                    f'"{configured / "store.db"}"\n', encoding="utf-8")
    assert main(["report", "solar", "--config", str(bare), "--month", "2026-06"]) == 64
    assert "no site with PV" in capsys.readouterr().err


def test_a_report_for_some_sites_keeps_the_report_of_every_site(configured, tmp_path, capsys):
    # `--site` into the folder of the month's report of every site: both reports stay, each under its own names, and
    # the command names exactly the files it wrote
    cfg = str(configured / "energimon.toml")
    assert main(["report", "solar", "--config", cfg, "--month", "2026-06", "--out", str(tmp_path)]) == 0
    full = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(full) == {"solceller-2026-06.pdf", "solceller-2026-06.csv"}
    capsys.readouterr()
    assert main(["report", "solar", "--config", cfg, "--month", "2026-06", "--site", "stenlille-hallen", "--site",
                 "soro-raadhus", "--site", "soro-raadhus", "--out", str(tmp_path)]) == 0
    printed = [line.removeprefix("skrev ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("skrev ")]
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in full} == full  # untouched
    stem = "solceller-2026-06_soro-raadhus+stenlille-hallen"  # the ids sorted, whatever order they were given in
    written = {p.name for p in tmp_path.iterdir()} - set(full)
    assert written == {f"{stem}.pdf", f"{stem}.csv"}
    assert sorted(printed) == sorted(str(tmp_path / name) for name in written)
    text = _pdftotext(tmp_path / f"{stem}.pdf")
    assert "Sorø Rådhus" in text and "Stenlille hallen" in text and "Dianalund" not in text
    assert "Dianalund" in _pdftotext(tmp_path / "solceller-2026-06.pdf")
    # a site given twice is reported once, as its name (which counts it once) says
    with (tmp_path / f"{stem}.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))[1:]
    assert sorted(r[0] for r in rows if r[1] == "month") == ["soro-raadhus", "stenlille-hallen"]


def test_summary_line(configured):
    settings = load_settings(configured / "energimon.toml")
    settings.store.path = configured / "store.db"
    store = SqliteStore(settings.store.path, readonly=True)
    try:
        line = summary_line(settings, store, dt.date(2026, 6, 15))
        pv = _raw_diff_kwh(store, SeriesKey("soro-raadhus", "inverter", "pv_energy_wh"),
                           "2026-06-15 00:00", "2026-06-16 00:00")
    finally:
        store.close()
    assert line.startswith("sol 2026-06-15: Sorø Rådhus ")
    assert f"Sorø Rådhus {fmt_number(pv, 0)} kWh ({fmt_number(pv / 60, 2)} kWh/kWp)" in line
    # the net-only site: self-consumption and self-sufficiency are unknown, shown as a dash
    assert "Dianalund Bibliotek" in line and "egetforbrug –, selvforsyningsgrad –" in line
    assert dt.datetime.now(tz=LOCAL_TZ)  # local calendar in use


def test_summary_for_latest(configured, tmp_path):
    from energimon.analytics.report.solar_cli import solar_summary_for_latest

    settings = load_settings(configured / "energimon.toml")
    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        line = solar_summary_for_latest(settings, store, "soro-raadhus")
        assert line.startswith("sol ") and "Sorø Rådhus" in line and "Stenlille" not in line  # today: no data, dashes
        assert solar_summary_for_latest(settings, store, "nowhere") is None
    finally:
        store.close()
    empty = SqliteStore(tmp_path / "empty.db")
    try:
        settings.sites = {}
        assert solar_summary_for_latest(settings, empty) is None
    finally:
        empty.close()


def test_pv_alerts_from_the_anomaly_rules_become_report_notes(tmp_path):
    import datetime as dt
    from types import SimpleNamespace

    from energimon.analytics.alerting.state import AlertDB
    from energimon.analytics.report.solar_report import pv_alert_notes
    from energimon.model import LOCAL_TZ

    db = AlertDB(tmp_path / "alerts.db")

    def add(site, rule, since, resolved=None, state="resolved"):
        t0 = since.timestamp()
        db.conn.execute(
            "INSERT INTO alerts(key, site, device, rule, state, severity, since, first_seen, last_seen, "
            "resolved_at, finding) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (f"{site}/inverter/{rule}", site, "inverter", rule, state, "warning", t0, t0, t0,
             resolved.timestamp() if resolved else None, "{}"))

    june = dt.datetime(2026, 6, 10, 9, 0, tzinfo=LOCAL_TZ)
    add("stenlille-hallen", "pv_underperformance", june, june + dt.timedelta(days=3))
    add("soro-raadhus", "pv_zero", june + dt.timedelta(days=20), None, state="firing")
    add("soro-raadhus", "night_load", june)  # not a PV rule: not a solar note
    add("dianalund-bibliotek", "pv_zero", june - dt.timedelta(days=40), june - dt.timedelta(days=35))  # April
    db.conn.close()

    settings = SimpleNamespace(alerts=SimpleNamespace(state_path=tmp_path / "alerts.db"))
    sites = ["soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"]
    notes = pv_alert_notes(settings, sites, dt.date(2026, 6, 1))
    assert notes == {
        "stenlille-hallen": ["PV-alarm på inverter: underydelse pr. kWp, fra 2026-06-10 09:00 til 2026-06-13 09:00."],
        "soro-raadhus": ["PV-alarm på inverter: ingen produktion i dagslys, fra 2026-06-30 09:00 stadig aktiv."],
    }
    # without alerting configured the report simply has no alert notes
    assert pv_alert_notes(SimpleNamespace(alerts=None), sites, dt.date(2026, 6, 1)) == {}


def test_an_mppt_input_without_data_prints_no_row_and_no_empty_table(configured, tmp_path):
    """An MPPT input known to the store but silent in the month (its only reading in May) has no row of "– W";
    with no MPPT data at all the table is left out.  A reporting input keeps its row (the mean of its readings)."""
    import sqlite3

    from energimon.model import Reading

    def report(db, tag: str) -> str:
        cfg = tmp_path / f"{tag}.toml"
        cfg.write_text((configured / "energimon.toml").read_text(encoding="utf-8").replace(
            'path = "store.db"', f'path = "{db.name}"'), encoding="utf-8")
        assert main(["report", "solar", "--config", str(cfg), "--month", "2026-06", "--site", "soro-raadhus",
                     "--out", str(tmp_path / tag)]) == 0
        return " ".join(_pdftotext(tmp_path / tag / "solceller-2026-06_soro-raadhus.pdf").split())

    may = int(pd.Timestamp("2026-05-15 12:00", tz=TZ).timestamp() * 1000)
    june = int(pd.Timestamp("2026-06-15 12:00", tz=TZ).timestamp() * 1000)
    silent = tmp_path / "silent.db"
    with sqlite3.connect(configured / "store.db") as src, sqlite3.connect(silent) as dst:
        src.backup(dst)
    store = SqliteStore(silent)
    store.write([Reading("soro-raadhus", "inverter-mppt2", "pv_dc_power_w", "pv", may, 5000.0)])
    store.close()
    text = report(silent, "silent")
    assert "Pr. MPPT" not in text and "– W" not in text
    both = tmp_path / "both.db"
    with sqlite3.connect(silent) as src, sqlite3.connect(both) as dst:
        src.backup(dst)
    store = SqliteStore(both)
    store.write([Reading("soro-raadhus", "inverter-mppt1", "pv_dc_power_w", "pv", june, 12000.0),
                 Reading("soro-raadhus", "inverter-mppt1", "pv_dc_power_w", "pv", june + 300_000, 14000.0)])
    store.close()
    text = report(both, "both")
    # mean DC power of mppt1 = (12000 + 14000) / 2; its share of the inverter's DC power is 100 % (mppt2 silent)
    assert "Pr. MPPT" in text and "inverter-mppt1 13.000 W 100,0 %" in text
    assert "inverter-mppt2" not in text and "– W" not in text


def test_the_daily_chart_legend_lies_below_the_axes_clear_of_the_100_percent_line(configured):
    from matplotlib.figure import Figure

    from energimon.analytics.report.document import Chart
    from energimon.analytics.report.solar_report import build_report, compute

    settings = load_settings(configured / "energimon.toml")
    store = SqliteStore(configured / "store.db", readonly=True)
    try:
        results = compute(settings, store, dt.date(2026, 6, 1), ["soro-raadhus"])
    finally:
        store.close()
    report = build_report(results, dt.date(2026, 6, 1))
    chart = next(b for b in report.sections[1].blocks if isinstance(b, Chart))
    fig = Figure(figsize=(7, 3))
    ax = fig.add_axes((0.08, 0.3, 0.84, 0.6))
    chart.draw(ax)
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.y1 <= ax.get_window_extent().y0  # entirely under the plotting area (and its 100 % line)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Klar himmel", "Forbrug", "Produktion", "Egetforbrugt", "Egetforbrugsandel (højre akse)"]
