"""The daemon's own health in InfluxDB (``energimon_status``), with the real influxd and simulated Modbus meters:
points at start and every ``status_interval_s``, read back with InfluxQL; a status write that fails is said
once and never touches collection."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import socket
import urllib.request

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from conftest import unique_db
from helpers.wait import async_wait_for

from energimon.app.daemon import Daemon
from energimon.app.demo import write_demo_config
from energimon.app.jobruns import read_job_runs
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.config.settings import ConfigError, Settings, load_settings, settings_from_dict
from energimon.model import Reading, now_ms
from energimon.store.influx import STATUS_FIELDS, STATUS_MEASUREMENT


def influx_config(tmp_path, sim, url: str, db: str, status_interval_s: float = 1) -> Settings:
    cfg = write_demo_config(tmp_path, sim, interval_s=1)
    text = cfg.read_text(encoding="utf-8")
    assert '[store]\npath = "store.db"\n' in text
    cfg.write_text(text.replace('[store]\npath = "store.db"\n', (
        f'[store]\nkind = "influxdb"\n[store.influxdb]\nurl = "{url}"\nmode = "v1"\ndatabase = "{db}"\n'
        f'create_database = true\ntimeout_s = 5\nstatus_interval_s = {status_interval_s}\n')), encoding="utf-8")
    return load_settings(cfg)


def status_points(influxd, db: str) -> tuple[dict, list[dict]]:
    """(tags, points) of energimon_status, with the tests' own InfluxQL."""
    doc = influxd.query(f'SELECT * FROM "{STATUS_MEASUREMENT}" GROUP BY "host"', db=db)
    series = doc["results"][0].get("series", [])
    assert len(series) == 1, series
    cols = series[0]["columns"]
    return series[0]["tags"], [dict(zip(cols, row, strict=True)) for row in series[0]["values"]]


@pytest.mark.slow  # runs the daemon for some seconds
def test_daemon_writes_status_points_read_back_with_influxql(influxd, tmp_path):
    db = unique_db("status")

    async def scenario():
        async with MeterSimulator(with_pv=True) as sim:
            settings = influx_config(tmp_path, sim, influxd.url, db)
            daemon = Daemon(settings)
            started_ms = now_ms()
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            await async_wait_for(lambda: daemon.status_points is not None and daemon.status_points.written >= 2
                                 and sum(p.health.online for p in daemon.pollers) == 6, 60,
                                 "two status points and every device online", 0.05)
            # an invalid reading becomes a dead letter: the next points must count it
            assert await daemon.accept([Reading("soro-raadhus", "hovedmaaler", "power_w", "grid", now_ms(),
                                                math.nan)], "test")
            n = daemon.status_points.written
            await async_wait_for(lambda: daemon.status_points.written >= n + 2, 30, "two more status points", 0.05)
            dead = daemon.spool.dead_letter_count()
            daemon.request_stop()
            assert await asyncio.wait_for(runner, timeout=10) == 0
            return daemon, settings, started_ms, dead

    daemon, settings, started_ms, dead = asyncio.run(scenario())
    tags, points = status_points(influxd, db)
    assert tags == {"host": socket.gethostname()}
    # one at start, then one a second (waited for: at least 4)
    assert len(points) >= 4, points
    assert daemon.status_points.written == len(points) and daemon.status_points.failing is None
    assert abs(points[0]["time"] - started_ms) < 1000  # the first one when the daemon starts
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(points)]
    assert all(800 <= g <= 1500 for g in gaps), gaps
    no_mqtt = set(STATUS_FIELDS) - {"mqtt_connected"}
    assert all(set(p) - {"time"} == no_mqtt for p in points)  # no MQTT configured: no mqtt field
    assert all(p["devices_configured"] == len(settings.devices) == 6 for p in points)  # 3 meters, 3 inverters
    assert points[-1]["devices_online"] == 6
    for a, b in itertools.pairwise(points):
        assert a["readings_accepted"] <= b["readings_accepted"] and a["readings_written"] <= b["readings_written"]
    assert all(p["readings_written"] <= p["readings_accepted"] for p in points)
    assert 0 < points[-1]["readings_accepted"] <= daemon.accepted
    assert points[-1]["readings_written"] > 0
    assert dead == 1 and points[0]["dead_letters"] == 0 and points[-1]["dead_letters"] == 1
    assert all(p["spool_backlog"] >= 0 for p in points)


@pytest.mark.slow  # runs the daemon for some seconds
def test_failing_status_writes_are_said_once_and_never_touch_collection(influxd, tmp_path, caplog):
    """energimon_status already has a string field where we write integers: every status point is refused
    (HTTP 400) while the readings go on being written; after the operator drops the measurement, points flow."""
    caplog.set_level(logging.INFO)
    db = unique_db("status")
    influxd.query(f'CREATE DATABASE "{db}"')
    conflict = f'{STATUS_MEASUREMENT},host=other spool_backlog="broken" {now_ms()}'.encode()
    urllib.request.urlopen(urllib.request.Request(f"{influxd.url}/write?db={db}&precision=ms", data=conflict,
                                                  method="POST"), timeout=5).read()

    async def scenario():
        async with MeterSimulator() as sim:
            daemon = Daemon(influx_config(tmp_path, sim, influxd.url, db))
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))

            def status_failures() -> int:
                return sum(r.failures for r in daemon.jobs.runs() if r.job_id == "status-point")

            await async_wait_for(lambda: status_failures() >= 3 and daemon.writer.written > 0, 60,
                                 "three refused status points while readings are written", 0.05)
            refused_while_collecting = (daemon.status_points.written, daemon.accepted, daemon.writer.written)
            await asyncio.to_thread(influxd.query, f'DROP MEASUREMENT "{STATUS_MEASUREMENT}"', db)
            await async_wait_for(lambda: daemon.status_points.written >= 1, 30, "a status point written again")
            daemon.request_stop()
            assert await asyncio.wait_for(runner, timeout=10) == 0
            return daemon, refused_while_collecting

    daemon, (status_written, accepted, written) = asyncio.run(scenario())
    assert status_written == 0 and accepted > 0 and written > 0  # readings went on being written
    assert daemon.writer.written == daemon.accepted
    msgs = [r.getMessage() for r in caplog.records if r.name == "energimon.store.influx"]
    refused = [m for m in msgs if "status point to InfluxDB not written" in m]
    assert len(refused) == 1, msgs  # three or more failures, one line
    assert "field type conflict" in refused[0] and "readings are not affected" in refused[0]
    assert msgs.count("status points to InfluxDB written again") == 1
    assert daemon.status_points.written >= 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, ("collection was affected", [logging.Formatter().format(r) for r in errors])
    _, points = status_points(influxd, db)
    assert len(points) == daemon.status_points.written  # the refused ones left nothing behind
    # the job log tells the truth about each run: refused runs are failures, the last run is ok again
    (run,) = [r for r in read_job_runs(daemon.jobs.path) if r.job_id == "status-point"]
    assert run.failures >= 2 and run.outcome == "ok" and run.runs == run.failures + daemon.status_points.written


def test_no_status_points_for_the_embedded_store_or_when_turned_off(influxd, tmp_path):
    sqlite = settings_from_dict({"store": {"path": str(tmp_path / "store.db")},
                                 "spool": {"path": str(tmp_path / "spool.db")}})
    off = settings_from_dict({"spool": {"path": str(tmp_path / "spool2.db")}, "store": {
        "kind": "influxdb", "influxdb": {"url": influxd.url, "mode": "v1", "database": unique_db(),
                                         "status_interval_s": 0}}})
    for settings in (sqlite, off):
        daemon = Daemon(settings)
        scheduler = AsyncIOScheduler()
        daemon._add_status_point_job(scheduler)
        assert scheduler.get_jobs() == [] and daemon.status_points is None
        daemon.close()
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"store": {"kind": "influxdb", "influxdb": {
            "url": influxd.url, "mode": "v1", "database": "x", "status_interval_s": 0.5}}})
    assert [str(p) for p in err.value.problems] == [
        "store.influxdb.status_interval_s: must be 0 (off) or at least 1 second (got 0.5)"]
