"""The ``mail:`` block of ``energimon status``: the transport, its last success and last error, the queued
mails, and the last period delivered of each scheduled report — read-only from the files the daemon
writes, so it works from another process while the daemon runs.  In the run's language (``cliutil.t``); a
transport's own description and error texts are quoted as they were recorded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from energimon.cliutil import number, t
from energimon.mail.outbox import OutboxSummary, read_last_deliveries, read_outbox_summary
from energimon.mail.service import mail_db_path
from energimon.model import LOCAL_TZ


def _local(when: float | None) -> str:
    import datetime as dt

    if when is None:
        return t("aldrig", "never")
    return dt.datetime.fromtimestamp(when, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")


def status_lines(settings) -> list[str]:
    smtp = settings.smtp
    lines = [f"  transport: {smtp.describe()}" if smtp is not None
             else t("  transport: ikke sat op ([smtp])", "  transport: not configured ([smtp])")]
    files: list[tuple[str, Path]] = [(t("rapportmails", "report mails"), mail_db_path(settings))]
    if getattr(settings, "alerts", None) is not None:
        files.insert(0, (t("alarmmails", "alert mails"), Path(settings.alerts.state_path)))
    summaries: list[OutboxSummary] = []
    for label, path in files:
        try:
            s = read_outbox_summary(path)
        except sqlite3.Error as exc:
            lines.append(t(f"  {label}: kan ikke læse {path}: {exc}", f"  {label}: cannot read {path}: {exc}"))
            continue
        if s is None:
            continue
        summaries.append(s)
        if s.queued:
            queued, oldest, nxt = number(s.queued), _local(s.oldest_queued), _local(s.next_attempt)
            lines.append(t(f"  {label}: {queued} i kø siden {oldest}, næste forsøg {nxt} ({path})",
                           f"  {label}: {queued} queued since {oldest}, next attempt {nxt} ({path})"))
        else:
            lines.append(t(f"  {label}: ingen i kø ({path})", f"  {label}: none queued ({path})"))
    if smtp is not None:
        last_ok = max((s.last_sent for s in summaries if s.last_sent), default=None)
        failures = [(s.last_failed, s.last_error) for s in summaries if s.last_failed is not None]
        lines.append(t(f"  sidst sendt: {_local(last_ok)}", f"  last sent: {_local(last_ok)}"))
        if failures:
            failed_at, error = max(failures, key=lambda f: f[0])
            state = t("FEJLER: ", "FAILING: ") if last_ok is None or failed_at > last_ok else ""
            lines.append(t(f"  sidste fejl: {state}{_local(failed_at)}: {error}",
                           f"  last error: {state}{_local(failed_at)}: {error}"))
        else:
            lines.append(t("  sidste fejl: ingen", "  last error: none"))
    try:
        deliveries = read_last_deliveries(mail_db_path(settings))
    except sqlite3.Error as exc:
        deliveries = []
        lines.append(t(f"  rapporter: kan ikke læse {mail_db_path(settings)}: {exc}",
                       f"  reports: cannot read {mail_db_path(settings)}: {exc}"))
    for d in deliveries:
        to = t(f"til {d.recipients}", f"to {d.recipients}") if d.mailed else t("kun filer", "files only")
        if d.sent_at:
            how = t(f"sendt {_local(d.sent_at)}", f"sent {_local(d.sent_at)}")
        elif d.mailed:
            how = t(f"i kø {_local(d.delivered_at)}", f"queued {_local(d.delivered_at)}")
        else:
            how = t(f"skrevet {_local(d.delivered_at)}", f"written {_local(d.delivered_at)}")
        lines.append(t(f"  rapport {d.kind} ({to}): sidste periode {d.period}, {how}",
                       f"  report {d.kind} ({to}): last period {d.period}, {how}"))
    if not deliveries:
        lines.append(t("  rapporter: ingen leveret endnu", "  reports: none delivered yet"))
    return lines
