"""The job-run log behind `energimon status`, and the Prometheus /metrics endpoint of a running daemon.

Real pieces throughout: the daemon as a subprocess polling pymodbus TCP servers (one healthy meter, one
port where nothing answers), /metrics scraped over HTTP and parsed with prometheus_client's own parser,
`energimon status` as a subprocess, SMTP to a loopback port where no server listens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers.net import free_port
from helpers.wait import async_wait_for
from prometheus_client.parser import text_string_to_metric_families

from energimon.app.daemon import Daemon
from energimon.app.demo import write_demo_config
from energimon.app.jobruns import JobRunLog, RecordingScheduler, jobs_path, read_job_runs
from energimon.app.metrics import MetricsServer, is_loopback
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.config.settings import ConfigError, load_settings, settings_from_dict
from energimon.model import LOCAL_TZ

SITE = SORO_BUILDINGS[0].site
DEAD_DEVICE = (f'\n[[devices]]\nsite = "{SITE}"\nid = "undermaaler"\nrole = "submeter"\nprotocol = "modbus_tcp"\n'
               'host = "127.0.0.1"\nport = {port}\nprofile = "eastron.sdm630"\ninterval_s = 1\ntimeout_s = 0.5\n')


def write_config(folder: Path, sim: MeterSimulator, extra: str = "") -> Path:
    """The demo's config for the simulated meters plus a device nobody answers for."""
    cfg = write_demo_config(folder, sim, interval_s=1)
    text = cfg.read_text(encoding="utf-8").replace("status_log_interval_s = 60", "status_log_interval_s = 10")
    cfg.write_text(text + DEAD_DEVICE.format(port=free_port()) + extra, encoding="utf-8")
    return cfg


def run_by_id(path: Path) -> dict:
    return {r.job_id: r for r in read_job_runs(path)}


# -- the recorder -------------------------------------------------------------------------------------
def test_job_run_log_records_start_end_outcome_and_survives_reopen(tmp_path):
    path = tmp_path / "jobs.db"
    log = JobRunLog(path)
    log.daemon_started({"a": 1_000_000, "b": None})
    log.started("a", 10_000)
    assert run_by_id(path)["a"].outcome == "running"  # visible to another process while it runs
    log.finished("a", 12_500, 2.5, "ok", None, 2_000_000)
    log.started("a", 20_000)
    log.finished("a", 20_300, 0.3, "error", "OSError: disk full", 3_000_000)
    log.started("b", 30_000)  # then the daemon is killed mid-run: no finish
    log.close()

    a, b = run_by_id(path)["a"], run_by_id(path)["b"]
    assert (a.last_start_ms, a.last_end_ms, a.last_duration_s) == (20_000, 20_300, 0.3)
    assert (a.outcome, a.error, a.last_success_ms, a.next_due_ms) == ("error", "OSError: disk full", 12_500, 3_000_000)
    assert (a.runs, a.failures) == (2, 1)
    assert b.outcome == "running" and b.runs == 0

    log = JobRunLog(path)  # the next daemon start: b was cut off, a is no longer scheduled
    log.daemon_started({"b": 5_000_000})
    log.missed("b", 4_000_000, "the daemon was busy or stopped")
    runs = run_by_id(path)
    assert not runs["a"].scheduled and runs["a"].next_due_ms is None and runs["a"].failures == 1
    assert runs["b"].scheduled and runs["b"].outcome == "missed" and "skipped" in runs["b"].error
    log.daemon_stopped()
    assert run_by_id(path)["b"].next_due_ms is None
    log.close()
    log.started("b", 1)  # a closed log is a no-op, not a crash


def test_recording_scheduler_wraps_every_job_and_logs_failures(tmp_path, caplog):
    """Sync and async jobs, ok and failing, through APScheduler for real; the loop and the scheduler go on."""
    log = JobRunLog(tmp_path / "jobs.db")
    ticks = []

    def tick():
        ticks.append(time.monotonic())

    async def broken():
        raise PermissionError("[Errno 13] Permission denied: '/srv/rapporter/2026-03.pdf'")

    async def scenario():
        scheduler = RecordingScheduler(log, timezone=LOCAL_TZ)
        scheduler.add_job(tick, "interval", seconds=0.2, id="tick")
        scheduler.add_job(broken, "interval", seconds=0.2, id="broken")
        # due 10 s ago with 1 s grace: APScheduler skips it (a daemon that was busy or down)
        scheduler.add_job(tick, "interval", seconds=60, id="late", misfire_grace_time=1,
                          next_run_time=dt.datetime.now(tz=LOCAL_TZ) - dt.timedelta(seconds=10))
        scheduler.start()

        def done() -> bool:
            runs = {r.job_id: r for r in log.runs()}
            return (len(ticks) >= 3 and "tick" in runs and runs["tick"].runs == len(ticks)
                    and "broken" in runs and runs["broken"].runs >= 3
                    and "late" in runs and runs["late"].outcome == "missed")

        await async_wait_for(done, 30, "three ticks, three failures and the skipped run recorded")
        scheduler.shutdown(wait=False)

    with caplog.at_level(logging.ERROR, logger="energimon.jobs"):
        asyncio.run(scenario())
    runs = {r.job_id: r for r in log.runs()}
    log.close()
    assert len(ticks) >= 3 and runs["tick"].outcome == "ok" and runs["tick"].runs == len(ticks)
    assert runs["tick"].last_success_ms == runs["tick"].last_end_ms
    broken_run = runs["broken"]
    assert broken_run.outcome == "error" and broken_run.failures == broken_run.runs >= 3
    assert broken_run.error == "PermissionError: [Errno 13] Permission denied: '/srv/rapporter/2026-03.pdf'"
    assert broken_run.last_success_ms is None
    assert runs["late"].outcome == "missed" and runs["late"].runs == 0 and "skipped" in runs["late"].error
    assert all(r.next_due_ms is None for r in runs.values())  # the scheduler stopped
    assert "job broken failed after" in caplog.text and "Traceback" in caplog.text


# -- alert jobs: failures reach the recorder --------------------------------------------------------
def test_outbox_job_with_smtp_down_is_recorded_as_error_not_ok(tmp_path):
    from email.message import EmailMessage

    from energimon.analytics.alerting.jobs import register_jobs
    from energimon.mail.outbox import enqueue
    from energimon.mail.service import Mailer

    smtp_port = free_port()  # nothing listens here: connection refused, as with a server that is down
    settings = settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "sender": "energimon@example.dk",
                 "timeout_s": 2},
        "alerts": {"state_path": str(tmp_path / "alerts.db")},
        "store": {"path": str(tmp_path / "store.db")},
        "spool": {"path": str(tmp_path / "spool.db")},
    })
    log = JobRunLog(jobs_path(settings))

    async def scenario():
        scheduler = RecordingScheduler(log, timezone=LOCAL_TZ)
        mailer = Mailer.for_settings(settings)
        runner = register_jobs(scheduler, settings, store_factory=lambda: None, mailer=mailer)
        mailer.register_job(scheduler)
        msg = EmailMessage()
        msg["Subject"] = "Natforbrug over normalen"
        msg.set_content("Prøve")
        with runner.db.transaction() as c:
            enqueue(c, "test#0", ["drift@example.dk"], msg, time.time())
        scheduler.start()
        scheduler.modify_job("mail.outbox", next_run_time=dt.datetime.now(tz=LOCAL_TZ))
        await async_wait_for(lambda: _ran(log, "mail.outbox"), 10, "a run of mail.outbox")
        scheduler.shutdown(wait=False)
        runner.close()
        mailer.close()

    asyncio.run(scenario())
    run = {r.job_id: r for r in log.runs()}["mail.outbox"]
    log.close()
    assert run.outcome == "error" and run.failures == 1
    assert "1 mail(s) not delivered, 1 waiting" in run.error
    assert f"cannot reach SMTP server 127.0.0.1:{smtp_port}" in run.error


def _ran(log: JobRunLog, job_id: str) -> bool:
    return any(r.job_id == job_id and r.runs > 0 for r in log.runs())


# -- the daemon: a failing job is recorded, collection goes on --------------------------------------
def test_failing_job_in_the_daemon_is_recorded_and_shown_by_status_while_collection_goes_on(tmp_path):
    async def failing_report():
        raise PermissionError(f"[Errno 13] Permission denied: '{tmp_path}/rapporter'")

    metrics_port = free_port()

    async def scenario():
        async with MeterSimulator(buildings=SORO_BUILDINGS[:1]) as sim:
            cfg = write_config(tmp_path, sim, f'\n[metrics]\nenabled = true\nlisten = "127.0.0.1:{metrics_port}"\n')
            daemon = Daemon(load_settings(cfg))
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            await async_wait_for(lambda: daemon.scheduler is not None and daemon.scheduler.running, 30,
                                 "the scheduler to start")
            daemon.scheduler.add_job(failing_report, "interval", seconds=0.5, id="failing-job")

            def failed() -> int:
                return sum(r.failures for r in daemon.jobs.runs() if r.job_id == "failing-job")

            await async_wait_for(lambda: failed() >= 3, 30, "three failures of the job")
            accepted_after_failures = daemon.accepted
            await async_wait_for(lambda: daemon.accepted > accepted_after_failures, 30, "more readings")
            code, out = await status(cfg)  # while the daemon runs
            samples = await asyncio.to_thread(scrape, metrics_port)
            assert daemon.accepted > accepted_after_failures  # still collecting
            failures = run_by_id(jobs_path(daemon.settings))["failing-job"].failures
            daemon.request_stop()
            assert await asyncio.wait_for(runner, timeout=10) == 0
            return code, out, failures, samples

    code, out, failures, samples = asyncio.run(scenario())
    assert failures >= 3  # it failed, and failed again: the scheduler kept running it
    assert value(samples, "energimon_job_last_outcome", job="failing-job", outcome="error") == 1
    assert value(samples, "energimon_job_last_outcome", job="failing-job", outcome="ok") == 0
    assert value(samples, "energimon_job_failures_total", job="failing-job") >= 1
    assert ("energimon_job_last_success_timestamp_seconds", frozenset({("job", "failing-job")})) not in samples
    with pytest.raises(OSError):  # the endpoint stopped with the daemon (this process lives on)
        socket.create_connection(("127.0.0.1", metrics_port), timeout=1).close()
    assert code == 0, out
    line = next(x for x in out.splitlines() if x.strip().startswith("failing-job:"))
    assert f"ERROR: PermissionError: [Errno 13] Permission denied: '{tmp_path}/rapporter'" in line
    assert "never succeeded" in line and "; next " in line
    assert "status-line: not run yet" in out  # every 10 s: not yet


async def status(cfg: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "energimon", "--lang", "en", "status", "--config", str(cfg),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, out.decode()


# -- /metrics and `energimon status` of a daemon subprocess --------------------------------------------
def scrape(port: int) -> dict[tuple[str, frozenset], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, frozenset(labels.items()))]


async def wait_for_metrics(port: int, proc, timeout_s: float = 15.0) -> dict:
    """The first scrape in which both devices were tried at least once and the live one has delivered (under
    load its first poll can come after the dead one's first attempt)."""
    dead, live = frozenset({"site": SITE, "device": "undermaaler"}.items()), \
        frozenset({"site": SITE, "device": "hovedmaaler"}.items())
    samples: dict = {}

    def ready() -> bool:
        if proc.returncode is not None:
            raise AssertionError(f"daemon exited with {proc.returncode}")
        try:
            fresh = scrape(port)  # a local scrape: short enough to run on the loop
        except OSError:
            return False
        samples.clear()
        samples.update(fresh)
        polls = samples.get(("energimon_device_polls_total", dead))
        return (polls or 0) >= 1 and samples.get(("energimon_device_online", live)) == 1

    await async_wait_for(ready, timeout_s, f"/metrics on port {port} with both devices polled", 0.1)
    return samples


@pytest.mark.slow
def test_metrics_endpoint_and_job_status_of_a_running_daemon(tmp_path):
    metrics_port = free_port()

    async def scenario():
        async with MeterSimulator(buildings=SORO_BUILDINGS[:1]) as sim:
            cfg = write_config(tmp_path, sim, f'\n[metrics]\nenabled = true\nlisten = "127.0.0.1:{metrics_port}"\n')
            t_start = time.time()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "energimon", "run", "--config", str(cfg),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
            try:
                first = await wait_for_metrics(metrics_port, proc)
                latest: dict = {}

                def grown() -> bool:  # more polls since the first scrape, and written too
                    latest.clear()
                    latest.update(scrape(metrics_port))
                    return all(value(latest, name) > value(first, name) for name in (
                        "energimon_readings_accepted_total", "energimon_readings_written_total"))

                await async_wait_for(grown, 30, "the readings counters to grow", 0.2)
                second = dict(latest)
                jobs = jobs_path(load_settings(cfg))
                # status-line runs 10 s after start
                await async_wait_for(lambda: jobs.exists() and _ok(jobs, "status-line"), 20,
                                     "a successful status-line run", 0.2)
                running_status = await status(cfg)
                third = await asyncio.to_thread(scrape, metrics_port)
                proc.send_signal(signal.SIGTERM)
                out, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
                stopped_status = await status(cfg)
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            return t_start, first, second, third, running_status, stopped_status, proc.returncode, out.decode()

    t_start, first, second, third, (code, running), (_, stopped), exit_code, log_text = asyncio.run(scenario())
    assert exit_code == 0, log_text
    assert f"metrics endpoint on http://127.0.0.1:{metrics_port}/metrics" in log_text
    # devices: the meter answers, the dead port does not
    for s in (first, second):
        assert value(s, "energimon_device_online", site=SITE, device="hovedmaaler") == 1
        assert value(s, "energimon_device_online", site=SITE, device="undermaaler") == 0
    assert value(second, "energimon_device_poll_errors_total", site=SITE, device="undermaaler") >= 1
    assert value(second, "energimon_device_poll_errors_total", site=SITE, device="hovedmaaler") == 0
    assert value(second, "energimon_device_last_success_timestamp_seconds", site=SITE,
                 device="hovedmaaler") >= t_start
    # counters grow between scrapes; the spool gauges are there
    for name in ("energimon_readings_accepted_total", "energimon_readings_written_total"):
        assert value(second, name) > value(first, name) > 0, name
    assert value(second, "energimon_spool_backlog_readings") >= 0
    assert value(second, "energimon_spool_dead_letters") == 0
    assert value(second, "energimon_store_reachable") == 1
    assert ("energimon_mqtt_connected", frozenset()) not in second  # no [mqtt]: no MQTT metrics
    # the job: ok in the log, in /metrics and in `energimon status`
    assert value(third, "energimon_job_last_outcome", job="status-line", outcome="ok") == 1
    assert value(third, "energimon_job_last_outcome", job="status-line", outcome="error") == 0
    assert t_start < value(third, "energimon_job_last_success_timestamp_seconds", job="status-line") < time.time()
    assert value(third, "process_resident_memory_bytes") > 0
    assert code == 0, running
    line = next(x for x in running.splitlines() if x.strip().startswith("status-line:"))
    assert ", ok; next " in line and line.count("CE") >= 2, line  # local times (CET/CEST)
    assert "status-line: last run" in stopped and "the daemon is not running" in stopped


def _ok(path: Path, job_id: str) -> bool:
    run = run_by_id(path).get(job_id)
    return run is not None and run.outcome == "ok"


# -- configuration and start-up problems ------------------------------------------------------------
def test_metrics_listen_is_validated_and_jobs_path_is_relative_to_the_config(tmp_path):
    cfg = tmp_path / "energimon.toml"
    for bad, why in [("9464", "is not host:port"), ("127.0.0.1:70000", "port must be a number"),
                     ("::1:9464", "IPv6 address in brackets")]:
        cfg.write_text(f'[metrics]\nenabled = true\nlisten = "{bad}"\n', encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_settings(cfg)
        assert "metrics.listen" in str(err.value) and why in str(err.value), str(err.value)
    cfg.write_text('[metrics]\nlisten = "[::1]:9100"\n[spool]\npath = "var/spool.db"\n', encoding="utf-8")
    s = load_settings(cfg)
    assert (s.metrics.enabled, s.metrics.host, s.metrics.port) == (False, "::1", 9100)
    assert jobs_path(s) == tmp_path / "var" / "jobs.db"
    cfg.write_text('[schedule]\njobs_path = "state/jobs.db"\n', encoding="utf-8")
    assert jobs_path(load_settings(cfg)) == tmp_path / "state" / "jobs.db"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("energi.soroe.dk")


def test_metrics_server_that_cannot_listen_is_logged_not_fatal(tmp_path, caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with caplog.at_level(logging.INFO, logger="energimon.metrics"):
            assert MetricsServer(daemon=None, host="127.0.0.1", port=port).start() is False
            # 192.0.2.1 (TEST-NET-1) is not on this machine: warned about, then not bindable
            assert MetricsServer(daemon=None, host="192.0.2.1", port=port).start() is False
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
    assert "192.0.2.1" in caplog.text and "no authentication" in caplog.text
    assert "no authentication" not in caplog.text.split("192.0.2.1")[0]  # loopback: no warning


def test_job_runs_read_while_the_daemon_has_not_created_its_table_yet(tmp_path):
    """`energimon status` (and tests polling the log) may open jobs.db in the moment between the daemon
    creating the file and its table: no runs yet, not an error."""
    import sqlite3

    path = tmp_path / "jobs.db"
    sqlite3.connect(path).close()  # the file exists, empty
    assert read_job_runs(path) == []
