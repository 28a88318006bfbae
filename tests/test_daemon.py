"""The daemon and the demo, end to end: real Modbus TCP, real spool and store files, real signals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers.net import free_port
from helpers.wait import async_wait_for, wait_for

from energimon.app.daemon import Daemon
from energimon.app.demo import write_demo_config
from energimon.cliutil import set_lang
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.config.settings import load_settings
from energimon.store.sqlite import SqliteStore

SITES = {"soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"}


def sites_in_store(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        store = SqliteStore(path, readonly=True)
        try:
            return set(store.latest()["site"])
        finally:
            store.close()
    except sqlite3.OperationalError:  # the daemon has created the file but not yet its tables
        return set()


def test_daemon_collects_all_sites_despite_a_dead_device_and_stops_cleanly(tmp_path):
    async def scenario():
        async with MeterSimulator() as sim:
            cfg = write_demo_config(tmp_path, sim, interval_s=1)
            text = cfg.read_text(encoding="utf-8")
            text += (f'\n[[devices]]\nsite = "soro-raadhus"\nid = "undermaaler"\nrole = "submeter"\n'
                     f'protocol = "modbus_tcp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
                     f'profile = "eastron.sdm630"\ninterval_s = 1\ntimeout_s = 0.5\n')
            cfg.write_text(text, encoding="utf-8")
            daemon = Daemon(load_settings(cfg))
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            dead = next(p for p in daemon.pollers if p.device.id == "undermaaler")
            await async_wait_for(lambda: sites_in_store(tmp_path / "store.db") == SITES
                                 and dead.health.errors.get("unreachable", 0) >= 1, 60,
                                 "readings of every site and a failed poll of the dead device", 0.2)
            daemon.request_stop()
            t0 = time.monotonic()
            code = await asyncio.wait_for(runner, timeout=10)
            return code, time.monotonic() - t0, daemon
    code, stop_s, daemon = asyncio.run(scenario())
    assert code == 0 and stop_s < 5
    assert sites_in_store(tmp_path / "store.db") == SITES
    dead = next(p for p in daemon.pollers if p.device.id == "undermaaler")
    assert not dead.health.online and dead.health.errors.get("unreachable", 0) >= 1
    # nothing left behind: every accepted reading reached the store
    assert daemon.accepted > 0 and daemon.writer.written == daemon.accepted
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        latest = store.latest()
    finally:
        store.close()
    # the dead device has no measurements, only its health: offline
    dead_rows = latest[latest["device"] == "undermaaler"]
    assert set(dead_rows["channel"]) == {"device_online", "poll_errors", "fields_missing"}
    assert dead_rows.set_index("channel").loc["device_online", "value"] == 0.0
    live = latest[(latest["device"] == "hovedmaaler") & (latest["channel"] == "device_online")]
    assert set(live["value"]) == {1.0}


def test_demo_shows_all_three_sites_and_exits_0_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "energimon", "demo", "--dir", str(tmp_path / "demo"), "--interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        # how fast belongs to a benchmark (bench/startup.py: run's first reading); here only that all three come,
        # with room for a loaded 2-core machine (the demo now also starts the web server and an M-Bus gateway)
        wait_for(lambda: sites_in_store(tmp_path / "demo" / "store.db") == SITES, 60,
                 lambda: f"all three sites in the demo's store (have {sites_in_store(tmp_path / 'demo' / 'store.db')})"
                         f"\nstdout:\n{''.join(lines)}", 0.2)
        # the live table the demo prints (every few seconds) with the sports hall's power in it
        wait_for(lambda: any("stenlille-hallen" in x and "power_w" in x for x in list(lines)), 30,
                 lambda: f"a table with stenlille-hallen's power_w\nstdout:\n{''.join(lines)}", 0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        reader.join(10)
        out, err = "".join(lines), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (out, err)
    assert "3 simulerede bygninger i Sorø" in out  # Danish by default
    assert "stenlille-hallen" in out and "power_w" in out
    # not a terminal: one line per update, no table of 16 lines every 5 s
    updates = [x for x in lines if x.startswith("[")]
    assert any("stenlille-hallen: power_w" in x for x in updates), out
    assert not any(x.strip().startswith(("bygning", "site")) for x in lines), out  # no table header
    assert "energimon demo er stoppet" in out


def test_run_notifies_systemd_logs_one_line_per_event_and_stops_on_sigterm(tmp_path):
    async def serve():
        async with MeterSimulator() as sim:
            write_demo_config(tmp_path, sim, interval_s=1)
            notify_path = tmp_path / "notify.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(notify_path))
            sock.setblocking(False)
            env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "2000000"}
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "energimon", "run", "--config", str(tmp_path / "energimon.toml"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
            )
            messages: list[str] = []
            try:
                def seen(what: str) -> bool:
                    messages.extend(_drain(sock))
                    return any(what in m for m in messages)

                await async_wait_for(lambda: seen("READY=1"), 30, "READY=1", 0.1)
                # WATCHDOG_USEC=2 s: a ping every second; and every site's readings stored
                await async_wait_for(lambda: seen("WATCHDOG=1") and sites_in_store(tmp_path / "store.db") == SITES,
                                     30, "a watchdog ping and readings of every site", 0.1)
                proc.send_signal(signal.SIGTERM)
                out, err = await asyncio.wait_for(proc.communicate(), timeout=10)
                messages += _drain(sock)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
                sock.close()
            return proc.returncode, out.decode(), err.decode(), messages

    code, out, err, messages = asyncio.run(serve())
    assert code == 0, err
    assert any(m.startswith("READY=1") for m in messages)
    assert "WATCHDOG=1" in messages and "STOPPING=1" in messages
    lines = out.strip().splitlines()
    assert any("energimon.daemon: started: 3 devices" in line for line in lines)
    assert any("energimon.daemon: stopped: flushed" in line for line in lines)
    for line in lines:  # one event per line, ISO UTC timestamp, level, logger
        stamp, level, rest = line.split(" ", 2)
        assert stamp.endswith("Z") and level in {"DEBUG", "INFO", "WARNING", "ERROR"} and ":" in rest
    assert sites_in_store(tmp_path / "store.db") == SITES


def _drain(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_daemon_schedules_alert_jobs_and_stops_them(tmp_path):
    """With [alerts] configured the daemon registers the rule, outbox and digest jobs and shuts them down."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from energimon.config.settings import settings_from_dict

    settings = settings_from_dict({
        "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "smtp": {"host": "127.0.0.1", "port": free_port(), "security": "none", "sender": "energimon@example.dk"},
        "alerts": {"state_path": str(tmp_path / "alerts.db")},
        "store": {"path": str(tmp_path / "store.db")},
        "spool": {"path": str(tmp_path / "spool.db")},
    })
    seen: list[str] = []
    original_start = AsyncIOScheduler.start

    def spy_start(self, *a, **kw):
        seen.extend(job.id for job in self.get_jobs())
        return original_start(self, *a, **kw)

    async def scenario():
        daemon = Daemon(settings)
        AsyncIOScheduler.start = spy_start
        try:
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            await async_wait_for(lambda: daemon.scheduler is not None and daemon.scheduler.running, 30,
                                 "the scheduler to start")
            daemon.request_stop()
            return await asyncio.wait_for(runner, timeout=10)
        finally:
            AsyncIOScheduler.start = original_start

    assert asyncio.run(scenario()) == 0
    assert "status-line" in seen and len(seen) >= 3, seen  # the status line plus the alert jobs
    assert (tmp_path / "alerts.db").exists()


def test_demo_history_gives_reports_data_and_the_live_counters_continue_it(tmp_path):
    import datetime as dt

    from energimon.app.demo import write_history
    from energimon.model import LOCAL_TZ, SeriesKey

    last = write_history(tmp_path / "store.db", days=3)
    assert {site for site, _ in last} == SITES
    assert {ch for _, ch in last} == {"energy_import_wh", "energy_export_wh", "pv_energy_wh"}
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        today = dt.datetime.now(tz=LOCAL_TZ).date()
        day = dt.datetime.combine(today - dt.timedelta(days=2), dt.time(), tzinfo=LOCAL_TZ)
        result = store.energy(SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh"), day,
                              day + dt.timedelta(days=1), "day")
        # a whole local day of 5-minute counter readings: complete, and a town hall uses energy every day
        assert bool(result.windows["complete"].iloc[0]) and result.windows["energy_wh"].iloc[0] > 0
    finally:
        store.close()

    async def first_poll():
        async with MeterSimulator(with_pv=False, start_wh=last) as sim:
            meter = sim.meters[0]
            return meter.building.site, meter.meter.import_wh

    site, live_start = asyncio.run(first_poll())
    # the live meter starts where the history ended (within what it integrated since start-up)
    assert live_start == pytest.approx(last[(site, "energy_import_wh")], abs=100)


def test_status_shows_devices_online_offline_and_the_last_reading_per_site(tmp_path, capsys):
    from energimon.app.cli import main

    async def scenario():
        async with MeterSimulator() as sim:
            cfg = write_demo_config(tmp_path, sim, interval_s=2)
            cfg.write_text(cfg.read_text(encoding="utf-8") + (
                f'\n[[devices]]\nsite = "soro-raadhus"\nid = "undermaaler"\nrole = "submeter"\n'
                f'protocol = "modbus_tcp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
                f'profile = "eastron.sdm630"\ninterval_s = 2\ntimeout_s = 0.5\n'), encoding="utf-8")
            daemon = Daemon(load_settings(cfg))
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            # every device polled at least once, the live ones successfully, and their health stored
            await async_wait_for(lambda: all(p.health.polls >= 1 for p in daemon.pollers)
                                 and sum(p.health.online for p in daemon.pollers) == len(daemon.pollers) - 1
                                 and daemon.writer.written == daemon.accepted > 0, 60,
                                 "a poll of every device, all written to the store", 0.1)
            daemon.request_stop()
            await asyncio.wait_for(runner, timeout=10)
            return cfg

    cfg = asyncio.run(scenario())
    assert main(["--lang", "en", "status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "soro-raadhus/hovedmaaler: online" in out
    assert "soro-raadhus/undermaaler: OFFLINE" in out
    assert "Stenlille hallen (stenlille-hallen): last reading" in out
    assert "alerting not configured" in out


def test_an_offline_device_in_back_off_is_offline_not_stale_but_a_silent_daemon_is_stale(tmp_path):
    """The poller retries an offline device with back-off up to MAX_BACKOFF_S, writing a health point
    per attempt: a 200 s old "offline" point with a 10 s interval is a running daemon, not a silent one."""
    set_lang("en")  # the status texts checked below are the English ones
    import pandas as pd

    from energimon.app.status import device_lines
    from energimon.collector.health import MAX_BACKOFF_S

    async def config():
        async with MeterSimulator(with_pv=False) as sim:
            return load_settings(write_demo_config(tmp_path, sim, interval_s=10))

    settings = asyncio.run(config())
    settings.devices = settings.devices[:2]
    (a, b) = settings.devices
    now = pd.Timestamp("2026-12-03 12:00", tz="UTC")

    def latest(age_a_s: float, online_a: float, age_b_s: float) -> pd.DataFrame:
        return pd.DataFrame([
            {"site": a.site, "device": a.id, "channel": "device_online", "time": now - pd.Timedelta(seconds=age_a_s),
             "value": online_a},
            {"site": b.site, "device": b.id, "channel": "device_online", "time": now - pd.Timedelta(seconds=age_b_s),
             "value": 1.0}])

    lines = device_lines(settings, latest(200, 0.0, 40), now)
    assert "OFFLINE (last attempt 200 s ago)" in lines[0] and "STALE" not in lines[0]
    assert "STALE" in lines[1]  # online, but 40 s > 3 × 10 s without a poll: the daemon is silent
    lines = device_lines(settings, latest(MAX_BACKOFF_S + 60, 0.0, 5), now)
    assert "STALE" in lines[0] and lines[1].endswith("no values yet") and "online" in lines[1]
