"""The ``mail:`` block of ``energimon status``: the transport, its last success and last error, the queued
mails, and the last period delivered of each scheduled report — read-only from the files the daemon
writes, so it works from another process while the daemon runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from energimon.mail.outbox import OutboxSummary, read_last_deliveries, read_outbox_summary
from energimon.mail.service import mail_db_path
from energimon.model import LOCAL_TZ


def _local(t: float | None) -> str:
    import datetime as dt

    return "never" if t is None else dt.datetime.fromtimestamp(t, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")


def status_lines(settings) -> list[str]:
    smtp = settings.smtp
    lines = [f"  transport: {smtp.describe()}" if smtp is not None else "  transport: not configured ([smtp])"]
    files: list[tuple[str, Path]] = [("report mails", mail_db_path(settings))]
    if getattr(settings, "alerts", None) is not None:
        files.insert(0, ("alert mails", Path(settings.alerts.state_path)))
    summaries: list[OutboxSummary] = []
    for label, path in files:
        try:
            s = read_outbox_summary(path)
        except sqlite3.Error as exc:
            lines.append(f"  {label}: cannot read {path}: {exc}")
            continue
        if s is None:
            continue
        summaries.append(s)
        if s.queued:
            lines.append(f"  {label}: {s.queued} queued since {_local(s.oldest_queued)}, next attempt "
                         f"{_local(s.next_attempt)} ({path})")
        else:
            lines.append(f"  {label}: none queued ({path})")
    if smtp is not None:
        last_ok = max((s.last_sent for s in summaries if s.last_sent), default=None)
        failures = [(s.last_failed, s.last_error) for s in summaries if s.last_failed is not None]
        if failures:
            failed_at, error = max(failures, key=lambda f: f[0])
            state = "FAILING: " if last_ok is None or failed_at > last_ok else ""
            lines.append(f"  last sent: {_local(last_ok)}")
            lines.append(f"  last error: {state}{_local(failed_at)}: {error}")
        else:
            lines.append(f"  last sent: {_local(last_ok)}")
            lines.append("  last error: none")
    try:
        deliveries = read_last_deliveries(mail_db_path(settings))
    except sqlite3.Error as exc:
        deliveries = []
        lines.append(f"  reports: cannot read {mail_db_path(settings)}: {exc}")
    for d in deliveries:
        to = f"to {d.recipients}" if d.mailed else "files only"
        how = ("sent " + _local(d.sent_at)) if d.sent_at else ("queued " + _local(d.delivered_at) if d.mailed
                                                               else "written " + _local(d.delivered_at))
        lines.append(f"  report {d.kind} ({to}): last period {d.period}, {how}")
    if not deliveries:
        lines.append("  reports: none delivered yet")
    return lines
