"""The ESCO path a user follows on the demo sites: `energimon demo --esco`, then exactly the commands it prints
(import eloverblik, import csv, report savings), through the CLI entry point, on the real SQLite store."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

from energimon.analytics.report.csv_out import column_keys
from energimon.app import demo_esco
from energimon.app.cli import main
from energimon.app.demo import DEMO_ELECTRICITY_CO2, write_demo_config
from energimon.collector.simulator.mbus_gateway import MbusGateway, SimulatedMultical
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.collector.simulator.water_meter import SimulatedWaterMeter
from energimon.config.settings import load_settings
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.sqlite import SqliteStore

TODAY = dt.date(2026, 11, 29)  # the seeds in demo_esco.DEMO_ESCO_SITES were fixed for this reporting period
NAMES = ("Sorø Rådhus", "Stenlille hallen", "Dianalund Bibliotek")


def _raw_points(store_path) -> dict[tuple[str, str, str], tuple[list, list]]:
    store = SqliteStore(store_path, readonly=True)
    try:
        out = {}
        for s in store.series().itertuples():
            ts, values = store.read_raw_ms(SeriesKey(s.site, s.device, s.channel), 0, 2**62)
            out[(s.site, s.device, s.channel)] = (ts.tolist(), values.tolist())
        return out
    finally:
        store.close()


def _daily_store_kwh(store_path, site: str, start: dt.date, end: dt.date):
    store = SqliteStore(store_path, readonly=True)
    try:
        t0 = dt.datetime.combine(start, dt.time(), tzinfo=LOCAL_TZ)
        t1 = dt.datetime.combine(end, dt.time(), tzinfo=LOCAL_TZ)
        w = store.energy(SeriesKey(site, demo_esco.DATAHUB_DEVICE, "energy_import_wh"), t0, t1, "day").windows
        return w["energy_wh"].to_numpy() / 1000.0, w["complete"].to_numpy()
    finally:
        store.close()


def _csv_rows(path) -> list[dict[str, str]]:
    """The rows by column key (the file has Danish headers)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=";")
        keys = column_keys(next(reader), "da")
        return [dict(zip(keys, row, strict=True)) for row in reader]


def _num(text: str) -> float:
    return float(text.replace(",", "."))


def test_esco_periods_end_with_last_month_and_cross_the_year():
    p = demo_esco.esco_periods(dt.date(2027, 1, 15))
    assert (p.report_month, p.end) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert (p.baseline_start, p.measure_date) == (dt.date(2025, 7, 1), dt.date(2026, 7, 1))
    # the demo's config must pass the contract validation: a baseline of at least 365 days
    assert (p.measure_date - p.baseline_start).days >= 365


def test_esco_refuses_live_demo_options(tmp_path, capsys):
    assert main(["demo", "--esco", "--history-days", "5", "--dir", str(tmp_path / "d")]) == 64
    assert "--esco" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


@pytest.mark.slow
def test_demo_esco_import_and_savings_report(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demo_esco, "local_today", lambda: TODAY)
    assert main(["demo", "--esco"]) == 0
    out = capsys.readouterr().out
    folder = tmp_path / "energimon-demo"
    assert [p.name for p in tmp_path.iterdir()] == ["energimon-demo"]  # nothing written outside the demo folder
    assert "Kør derefter:" in out and "ingen besparelse" in out

    commands = [shlex.split(line) for line in out.split("Kør derefter:")[1].splitlines() if line.startswith("  ")]
    assert [c[1:3] for c in commands] == [["import", "eloverblik"], ["import", "csv"], ["import", "csv"],
                                          ["report", "savings"]]
    assert commands[3][-2:] == ["--month", "2026-10"]  # the last complete month before TODAY

    # the printed commands, exactly, twice: the second import changes nothing (idempotent)
    for cmd in commands[:3]:
        assert main(cmd[1:]) == 0
    first = _raw_points(folder / "store.db")
    for cmd in commands[:3]:
        assert main(cmd[1:]) == 0
    assert _raw_points(folder / "store.db") == first
    capsys.readouterr()

    periods = demo_esco.esco_periods(TODAY)
    # in UTC: subtracting two datetimes of one tzinfo ignores the DST changes between them
    hours = int(dt.datetime.combine(periods.end, dt.time(), tzinfo=LOCAL_TZ).timestamp()
                - dt.datetime.combine(periods.baseline_start, dt.time(), tzinfo=LOCAL_TZ).timestamp()) // 3600
    assert len(first[("soro-raadhus", "vejr", "outdoor_temp_c")][0]) == hours  # every hour once, DST days included
    # each site's imported daily energy is what the generator meant (23/25-hour days, decimal comma, kWh -> Wh)
    days = demo_esco._days(periods.baseline_start, periods.end)
    day_c = demo_esco.daily_weather_c(periods.baseline_start, periods.end)
    saving_per_day = {}
    for s in demo_esco.DEMO_ESCO_SITES:
        site = s.building.site
        assert len(first[(site, demo_esco.DATAHUB_DEVICE, "energy_import_wh")][0]) == hours + 1  # counter edges
        saving_per_day[site] = demo_esco.saving_kwh_per_day(s, periods)
        truth = demo_esco.daily_use_kwh(s, days, day_c, periods.measure_date, saving_per_day[site])
        kwh, complete = _daily_store_kwh(folder / "store.db", site, periods.baseline_start, periods.end)
        assert complete.all()
        np.testing.assert_allclose(kwh, truth, atol=0.02)  # 3-decimal kWh per hour in the export

    assert main(commands[3][1:]) == 0
    reports = folder / "rapporter"
    pdf, table = reports / "besparelse-2026-10.pdf", reports / "besparelse-2026-10.csv"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=30,
                          check=True).stdout
    assert "ESCO-besparelse — oktober 2026" in text and "Besparelse" in text and "Siden start" in text
    assert all(ch in text for ch in "æøå")
    for name in NAMES:
        assert name in text

    since = {r["site"]: r for r in _csv_rows(table) if r["period"] == "since_start"}
    assert set(since) == {s.building.site for s in demo_esco.DEMO_ESCO_SITES} | {"portfolio"}
    for s in demo_esco.DEMO_ESCO_SITES:
        r = since[s.building.site]
        assert (r["start"], r["end"]) == (f"{periods.measure_date}", "2026-10-31")
        assert r["points"] == r["points_with_data"]  # no reporting point lost on the way through the files
        savings, unc90 = _num(r["savings_kwh"]), _num(r["uncertainty_90_kwh"])
        injected = saving_per_day[s.building.site] * periods.reporting_days
        assert abs(savings - injected) <= unc90, (s.building.site, savings, injected, unc90)
        if s.saving_percent:
            assert savings - unc90 > 0  # the interval is narrow enough to tell the saving from none
        else:
            assert injected == 0 and savings - unc90 <= 0 <= savings + unc90

    # the LED measure (IPMVP Option B) under Stenlille hallen: its own saving, inside its 90 % interval of the
    # injected 40 kWh/day × 35 % = 14 kWh/day since the installation, and shown as a part of the hall's ("heraf")
    flat = " ".join(text.split())
    led = demo_esco.LED_MEASURE
    assert f"heraf {led.name}" in flat and f"Tiltag: {led.name} (IPMVP Option B)" in flat
    rows = {(r["measure_id"], r["period"]): r for r in _csv_rows(reports / "besparelse-2026-10-tiltag.csv")}
    r = rows[(led.id, "since_start")]
    injected = led.kwh_per_day * led.drop_share * periods.reporting_days
    assert r["points"] == r["points_with_data"] == str(periods.reporting_days)  # every submeter day imported
    assert abs(_num(r["savings_kwh"]) - injected) <= _num(r["uncertainty_90_kwh"]), (r, injected)
    assert r["in_option_c"] == "1"


def _live_demo_config(folder, web_port: int | None = None, full: bool = False):
    """The config `energimon demo` writes into ``folder`` (``web_port``: with its web application; ``full``: also the
    town hall's M-Bus meters and the mail and alert sections — all of it, as the demo runs)."""

    async def rewrite():
        async with MeterSimulator(with_pv=True) as sim:
            if not full:
                return write_demo_config(folder, sim, interval_s=5, web_port=web_port)
            gateway = MbusGateway([SimulatedMultical(), SimulatedWaterMeter()])
            gateway.port = 10001  # not started: only the config is written
            return write_demo_config(folder, sim, interval_s=5, web_port=web_port, mbus=gateway, mail=True)

    return load_settings(asyncio.run(rewrite()))


def test_live_demo_keeps_the_esco_sections(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo_esco, "local_today", lambda: TODAY)
    assert main(["demo", "--esco", "--dir", str(tmp_path)]) == 0

    settings = _live_demo_config(tmp_path)
    assert settings.devices and settings.esco is not None  # the live meters added, the contract still there
    assert [mp.id for mp in settings.datahub.metering_points] == [s.metering_point for s in demo_esco.DEMO_ESCO_SITES]
    assert settings.esco.reports_dir == (tmp_path / "rapporter").resolve()


def test_the_esco_demo_has_the_climate_settings_whichever_demo_ran_first(tmp_path, monkeypatch, capsys):
    # the climate account (`report climate`, which demo --esco prints) takes its baseline year, target path and CO2
    # factors from [web.barometer]; before, only the live demo wrote it, so a fresh `demo --esco` folder had none (and
    # `demo --esco` after a live run dropped it with the rest of the file it rewrites)
    monkeypatch.setattr(demo_esco, "local_today", lambda: TODAY)
    fresh, live_first = tmp_path / "fresh", tmp_path / "live-first"

    def climate(settings):
        b = settings.web.barometer
        return b.baseline_year, b.baseline_t_co2, b.target_year, [(c.year, c.kg_per_kwh) for c in b.co2], list(b.sites)

    live = climate(_live_demo_config(tmp_path / "live", web_port=8080))
    assert live[0] == 2019
    assert main(["demo", "--esco", "--dir", str(fresh)]) == 0
    settings = load_settings(fresh / "energimon.toml")
    assert climate(settings) == live and not settings.web.enabled  # the live demo's settings; no web app runs here
    _live_demo_config(live_first, web_port=8080)
    assert main(["demo", "--esco", "--dir", str(live_first)]) == 0
    assert climate(load_settings(live_first / "energimon.toml")) == live
    # a later live run writes its own block in place of the ESCO demo's (one [web.barometer] table, not two)
    settings = _live_demo_config(fresh, web_port=8080)
    assert climate(settings) == live and settings.web.enabled and settings.esco is not None


def test_both_demos_count_a_years_electricity_with_the_same_co2_factor(tmp_path, monkeypatch, capsys):
    # the climate account took the barometer's 2023 factor (0.12 kg/kWh) for 2025 and 2026, the savings report of the
    # same folder [[esco.co2]]'s own 2025 one (0.112): the two reports of one demo disagreed on a year's electricity
    from energimon.analytics.barometer import declared_factor_fn

    monkeypatch.setattr(demo_esco, "local_today", lambda: TODAY)
    _live_demo_config(tmp_path, web_port=8080)
    assert main(["demo", "--esco", "--dir", str(tmp_path)]) == 0
    settings = load_settings(tmp_path / "energimon.toml")
    account_factor = declared_factor_fn(settings.web.barometer, settings.esco)  # `report climate`'s rule
    periods = demo_esco.esco_periods(TODAY)
    for year in range(periods.baseline_start.year, periods.end.year + 1):  # the years the demo's exports cover
        savings = settings.esco.co2_factor("electricity", year)  # `report savings`' rule
        account = account_factor("electricity", year)
        assert (savings.year, savings.kg_per_kwh) == (account.year, account.kg), year
    assert account_factor("electricity", 2025).kg == 0.12  # the climate account tests' demo factor
    # the README names them
    (y0, kg0), (y1, kg1) = DEMO_ELECTRICITY_CO2
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert f"electricity {kg0} kg CO₂/kWh from {y0} and {kg1} from {y1}, the same factors `demo --esco`" in readme


def test_the_esco_demo_keeps_the_live_demos_sections(tmp_path, monkeypatch, capsys):
    # `demo --esco` wrote the whole file anew: after a live run it dropped the simulated meters, [web], [smtp] and
    # [alerts] until the next live run (as the live demo keeps the ESCO sections, the ESCO demo keeps the live ones)
    monkeypatch.setattr(demo_esco, "local_today", lambda: TODAY)

    def live_sections(settings):
        return ([(d.site, d.id, d.protocol, d.port) for d in settings.devices], settings.web, settings.smtp,
                settings.alerts)

    for run in range(2):  # the ESCO demo after the live one, and again after a live run that kept its sections
        live = _live_demo_config(tmp_path, web_port=8080, full=True)
        devices, web, smtp, alerts = live_sections(live)
        # 3 main meters, 3 inverters, the town hall's heat and water meters on M-Bus
        assert len(devices) == 8 and web.enabled and smtp.transport == "folder" and alerts is not None
        assert (live.esco is not None) == (run > 0)
        assert main(["demo", "--esco", "--dir", str(tmp_path)]) == 0
        settings = load_settings(tmp_path / "energimon.toml")
        assert live_sections(settings) == (devices, web, smtp, alerts)
        assert [mp.id for mp in settings.datahub.metering_points] == \
            [s.metering_point for s in demo_esco.DEMO_ESCO_SITES]
        assert settings.esco is not None and settings.web.barometer.baseline_year == 2019
    # a live demo without its web application wrote no [web.barometer]: the ESCO demo adds it for the climate account
    bare = tmp_path / "bare"
    _live_demo_config(bare)
    assert main(["demo", "--esco", "--dir", str(bare)]) == 0
    settings = load_settings(bare / "energimon.toml")
    assert settings.devices and settings.web.barometer.baseline_year == 2019 and not settings.web.enabled
