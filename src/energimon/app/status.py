"""What `energimon status` shows beyond the store and spool: devices, sites, open alerts, job runs.

Everything is read from what the daemon leaves behind (the store's health series, the alert state
file, the job-run log), so `status` works from another process, while the daemon runs, without
talking to devices.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from energimon.app.jobruns import JobRun, jobs_path, read_job_runs
from energimon.collector.modbus.poller import MAX_BACKOFF_S
from energimon.model import LOCAL_TZ

STALE_FACTOR = 3  # a device whose last poll is older than 3 intervals is reported as stale
OVERDUE_GRACE_MS = 120_000  # a job this late was not started: a killed daemon leaves its next runs behind


def device_lines(settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    """One line per configured device: online/offline/stale/never seen, and when it last delivered."""
    lines = []
    for dev in settings.devices:
        rows = latest[(latest["site"] == dev.site) & (latest["device"] == dev.id)]
        if not dev.enabled:
            lines.append(f"  {dev.site}/{dev.id}: disabled")
            continue
        health = rows[rows["channel"] == "device_online"]
        values = rows[~rows["channel"].isin(["device_online", "poll_errors", "fields_missing"])]
        if health.empty:
            lines.append(f"  {dev.site}/{dev.id}: never polled (has the daemon run with this device?)")
            continue
        age_s = (now - health["time"].iloc[0]).total_seconds()
        online = health["value"].iloc[0] >= 1
        state = "online" if online else f"OFFLINE (last attempt {age_s:.0f} s ago)"
        # An offline device is retried with back-off (up to MAX_BACKOFF_S), so its last health point
        # can be that old while the daemon runs: only beyond that is the silence the daemon's.
        stale_after_s = STALE_FACTOR * dev.interval_s if online else MAX_BACKOFF_S + STALE_FACTOR * dev.interval_s
        if age_s > stale_after_s:
            state = f"STALE (no poll for {age_s / 60:.0f} min: is the daemon running?)"
        last = values["time"].max() if not values.empty else None
        last_txt = f"last value {(now - last).total_seconds():.0f} s ago" if last is not None else "no values yet"
        missing = rows[rows["channel"] == "fields_missing"]["value"]
        extra = f", {int(missing.iloc[0])} fields quarantined" if len(missing) and missing.iloc[0] > 0 else ""
        lines.append(f"  {dev.site}/{dev.id}: {state}, {last_txt}{extra}")
    return lines


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


def alert_lines(settings) -> list[str]:
    """Open alerts per site from the alert state file (read-only), or why there are none to show."""
    if settings.alerts is None:
        return ["  alerting not configured ([alerts])"]
    path = Path(settings.alerts.state_path)
    if not path.exists():
        return ["  no alert state yet (the rules have not run)"]
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT site, device, rule, state FROM alerts WHERE state IN ('pending', 'firing') "
                              "ORDER BY site, device, rule").fetchall()
            queued = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return [f"  cannot read {path}: {exc}"]
    lines = [f"  {site}/{device}: {rule} ({state})" for site, device, rule, state in rows] or ["  no open alerts"]
    lines.append(f"  {queued} mails waiting in the outbox" if queued else "  outbox empty")
    return lines


def source_lines(settings) -> list[str]:
    """The live sources (Eloverblik, Energi Data Service, DMI): lag and failures, from their state file."""
    from energimon.collector.sources.lag import status_lines
    from energimon.collector.sources.service import state_path

    return status_lines(state_path(settings), settings.sources.configured())


def _local(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def job_line(run: JobRun, now_ms: int) -> str:
    """One job: last run (local time), duration, outcome, last success when the last run was not one, next run."""
    if run.last_start_ms is None and run.outcome is None:
        text = "not run yet"
    elif run.outcome == "running":
        text = f"running since {_local(run.last_start_ms)}"
    else:
        text = f"last run {_local(run.last_start_ms)}" if run.last_start_ms is not None else "never ran"
        if run.last_duration_s is not None and run.outcome != "missed":
            text += f" ({_duration(run.last_duration_s)})"
        text += ", ok" if run.outcome == "ok" else f", {(run.outcome or '?').upper()}"
        if run.error:
            text += f": {run.error}"
        if run.outcome != "ok":
            text += f"; last success {_local(run.last_success_ms)}" if run.last_success_ms else "; never succeeded"
    if run.next_due_ms is not None:
        late = now_ms - run.next_due_ms > OVERDUE_GRACE_MS
        text += f"; next {_local(run.next_due_ms)}" + (" (OVERDUE: is the daemon running?)" if late else "")
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


def device_identity_lines(settings) -> list[str]:
    """Which device answers for each configured Modbus device (manufacturer, model, serial …) and any
    serial-number change, from the ``devices.json`` the daemon keeps (read-only)."""
    from energimon.collector.modbus.identity import describe, device_info_path, read_device_info
    from energimon.collector.modbus.profiles import ProfileError, load_profile

    path = device_info_path(settings)
    try:
        records = read_device_info(path)
    except ValueError as exc:
        return [f"  cannot read device identities: {exc}"]
    lines = []
    for dev in settings.devices:
        rec = records.get((dev.site, dev.id))
        if rec is None:
            try:  # only devices that can tell who they are are worth a line (an M-Bus meter always can)
                readable = (dev.protocol == "mbus_tcp" or dev.profile == "sunspec"
                            or bool(dev.profile and load_profile(dev.profile).info))
            except ProfileError:
                readable = False
            if readable:
                lines.append(f"  {dev.site}/{dev.id}: identity not read yet")
            continue
        via = f"{rec.source}, " if rec.source else ""
        text = f"  {dev.site}/{dev.id}: {describe(rec.info)} ({via}since {_local(rec.since_ms)})"
        if rec.last_change is not None:
            c = rec.last_change
            text += (f"; SERIAL CHANGED {_local(c.at_ms)}: {c.old} -> {c.new} "
                     f"({rec.serial_changes} change{'s' if rec.serial_changes != 1 else ''}; swapped device "
                     "or wrong unit id?)")
        lines.append(text)
    return lines or [f"  no device identities recorded ({path})"]


def mqtt_lines(settings, now: pd.Timestamp) -> list[str]:
    """Each broker: connected or not (since when), the session-present flag of the last connection, the last
    message — from the state file the MQTT collector keeps (collector/mqtt/state.py), read-only."""
    if settings.mqtt is None:
        return ["  not configured ([mqtt])"]
    from energimon.collector.mqtt.state import pid_alive, read_states, state_path

    path = state_path(settings)
    try:
        brokers = read_states(path)
    except (OSError, ValueError) as exc:
        return [f"  cannot read {path}: {exc}"]
    if not brokers:
        return [f"  {path}: no connection recorded yet (the daemon has not run with [mqtt])"]
    now_ms = int(now.timestamp() * 1000)
    lines = []
    for broker, st in sorted(brokers.items()):
        running = pid_alive(st.get("pid"))
        since = f" since {_local(st['since_ms'])}" if st.get("since_ms") else ""
        if st.get("connected") and running:
            text = f"connected{since}"
        elif st.get("connected"):  # the daemon died without saying goodbye
            text = f"NOT connected: the daemon (pid {st.get('pid')}) is not running; it was connected{since}"
        elif st.get("stopped") or not running:
            text = f"not connected: energimon stopped{since.replace(' since', ' at')}"
        else:
            text = f"NOT connected{since}" + (f": {st['last_error']}" if st.get("last_error") else "")
        if st.get("session_present") is True:
            text += ", session present: yes"
        elif st.get("session_lost"):
            text += ", session present: NO — the broker had lost our session, messages may have been lost"
        elif st.get("session_present") is False:
            text += ", session present: no (a new session: the first connection with this client id)"
        last = st.get("last_message_ms")
        text += (f", last message {(now_ms - last) / 1000:.0f} s ago ({_local(last)})" if last
                 else ", no message yet")
        lines.append(f"  {broker} (client id {st.get('client_id', '?')}): {text}")
    return lines
def mail_lines(settings) -> list[str]:
    """The mail transport (last success, last error, queued mails) and the last period each scheduled report
    delivered: the mail package's own read-only view."""
    from energimon.mail.status import status_lines

    return status_lines(settings)
