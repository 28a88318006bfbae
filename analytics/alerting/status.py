"""The ``alerts:`` block of ``energimon status``: open alerts per site and the alert mails waiting, read-only
from the alert state file (another process, while the daemon runs)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from energimon.analytics.alerting.state import read_alerts
from energimon.cliutil import t
from energimon.mail.outbox import read_outbox_summary


def alert_lines(settings) -> list[str]:
    """Open alerts per site from the alert state file, or why there are none to show."""
    if settings.alerts is None:
        return [t("  alarmer ikke sat op ([alerts])", "  alerting not configured ([alerts])")]
    path = Path(settings.alerts.state_path)
    if not path.exists():
        return [t("  ingen alarmtilstand endnu (reglerne har ikke kørt)",
                  "  no alert state yet (the rules have not run)")]
    try:
        alerts = sorted(read_alerts(path), key=lambda a: (a.site, a.device, a.rule))
        outbox = read_outbox_summary(path)
    except sqlite3.Error as exc:
        return [t(f"  kan ikke læse {path}: {exc}", f"  cannot read {path}: {exc}")]
    lines = ([f"  {a.site}/{a.device}: {a.rule} ({a.state})" for a in alerts]
             or [t("  ingen åbne alarmer", "  no open alerts")])
    queued = outbox.queued if outbox is not None else 0
    lines.append(t(f"  {queued} mails venter i udbakken", f"  {queued} mails waiting in the outbox") if queued
                 else t("  udbakken er tom", "  outbox empty"))
    return lines
