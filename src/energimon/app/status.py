"""``energimon status``: each owner's view, side by side — store, spool, devices, sites, MQTT, alerts, mail,
live sources and the scheduled jobs.

Everything is read from what the daemon leaves behind (the store and its health series, the spool, the
state files of the collectors, alerting, mail and the sources, the job-run log), each through its owner's
read functions, so ``status`` works from another process, while the daemon runs, without talking to
devices.
"""

from __future__ import annotations

import sqlite3

import pandas as pd

from energimon.analytics.alerting.status import alert_lines
from energimon.app.jobruns import JobRun, jobs_path, read_job_runs
from energimon.cliutil import local_time
from energimon.collector.modbus.status import device_identity_lines, device_lines
from energimon.collector.mqtt.status import mqtt_lines
from energimon.mail.status import status_lines as mail_lines

__all__ = ["alert_lines", "device_identity_lines", "device_lines", "job_line", "job_lines", "mail_lines",
           "mqtt_lines", "print_status", "site_lines", "source_lines"]

OVERDUE_GRACE_MS = 120_000  # a job this late was not started: a killed daemon leaves its next runs behind


def print_status(settings) -> bool:
    """Print every block as it is read (a slow store does not hold back the rest); True when the store is
    usable."""
    from energimon.security import redact_url_credentials
    from energimon.store import open_store
    from energimon.store.base import StoreError
    from energimon.store.spool import read_counts

    ok = True
    latest = None  # None: the store cannot be read, so devices and sites are unknown
    try:
        store = open_store(settings.store, readonly=True)
    except (StoreError, ValueError, OSError, sqlite3.Error) as exc:  # e.g. an embedded store not created yet
        print(redact_url_credentials(f"store:   {settings.store.kind}: NOT usable: {exc}"))
        ok = False
    else:
        try:
            health = store.ping()
            if health.reachable:
                latest = store.latest()
        finally:
            store.close()
        print(redact_url_credentials(
            f"store:   {health.kind}: {'reachable' if health.reachable else 'NOT usable'} — {health.detail}"))
        ok = health.reachable
    spool = settings.spool.path
    if not spool.exists():
        print(f"spool:   {spool}: not created yet (the daemon has not run)")
    else:
        try:
            counts = read_counts(spool)
        except sqlite3.Error as exc:
            print(f"spool:   {spool}: cannot read: {exc}")
        else:
            fill = counts.waiting / settings.spool.max_readings
            print(f"spool:   {spool}: {counts.waiting} readings waiting for the store ({fill:.1%} of "
                  f"{settings.spool.max_readings}), {counts.dead_letters} dead letters")
    now = pd.Timestamp.now(tz="UTC")
    if latest is not None:
        print("devices:", *device_lines(settings, latest, now), sep="\n")
        print("sites:", *site_lines(settings, latest, now), sep="\n")
    else:
        print("devices: unknown (the store cannot be read)")
    print("device identity:", *device_identity_lines(settings), sep="\n")
    print("mqtt:", *mqtt_lines(settings, now), sep="\n")
    print("alerts:", *alert_lines(settings), sep="\n")
    print("mail:", *mail_lines(settings), sep="\n")
    if settings.sources is not None:
        print("sources:", *source_lines(settings), sep="\n")
    print("jobs:", *job_lines(settings, now), sep="\n")
    return ok


def site_lines(settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    lines = []
    for site_id, site in settings.sites.items():
        rows = latest[latest["site"] == site_id]
        if rows.empty:
            lines.append(f"  {site.name} ({site_id}): no readings yet")
            continue
        age = (now - rows["time"].max()).total_seconds()
        lines.append(f"  {site.name} ({site_id}): last reading {age:.0f} s ago, {rows['channel'].nunique()} channels")
    return lines


def source_lines(settings) -> list[str]:
    """The live sources (Eloverblik, Energi Data Service, DMI): lag and failures, from their state file."""
    from energimon.collector.sources.lag import status_lines
    from energimon.collector.sources.service import state_path

    return status_lines(state_path(settings), settings.sources.configured())


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def job_line(run: JobRun, now_ms: int) -> str:
    """One job: last run (local time), duration, outcome, last success when the last run was not one, next run."""
    if run.last_start_ms is None and run.outcome is None:
        text = "not run yet"
    elif run.outcome == "running":
        text = f"running since {local_time(run.last_start_ms)}"
    else:
        text = f"last run {local_time(run.last_start_ms)}" if run.last_start_ms is not None else "never ran"
        if run.last_duration_s is not None and run.outcome != "missed":
            text += f" ({_duration(run.last_duration_s)})"
        text += ", ok" if run.outcome == "ok" else f", {(run.outcome or '?').upper()}"
        if run.error:
            text += f": {run.error}"
        if run.outcome != "ok":
            text += f"; last success {local_time(run.last_success_ms)}" if run.last_success_ms else "; never succeeded"
    if run.next_due_ms is not None:
        late = now_ms - run.next_due_ms > OVERDUE_GRACE_MS
        text += f"; next {local_time(run.next_due_ms)}" + (" (OVERDUE: is the daemon running?)" if late else "")
    return f"  {run.job_id}: {text}"


def job_lines(settings, now: pd.Timestamp) -> list[str]:
    """The scheduled jobs from the job-run log the daemon keeps (read-only), or why there is nothing to show."""
    path = jobs_path(settings)
    if not path.exists():
        return [f"  {path}: no job runs recorded yet (the daemon has not run)"]
    try:
        runs = read_job_runs(path)
    except sqlite3.Error as exc:
        return [f"  cannot read {path}: {exc}"]
    now_ms = int(now.timestamp() * 1000)
    lines = [job_line(r, now_ms) for r in runs if r.scheduled] or ["  no jobs scheduled"]
    if runs and all(r.next_due_ms is None for r in runs if r.scheduled):
        lines.append("  (no next runs: the daemon is not running)")
    return lines
