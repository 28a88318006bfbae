"""The alert lifecycle: one mail per problem, a reminder while it persists, a mail when it is over.

For each deduplication key (site + device + rule family, see ``findings.FAMILIES``) there is at most one
*active* alert (an episode); its ``rule`` is the latest finding's:

``pending``  — seen, but not yet for ``pending_min`` minutes: no mail (a blip is not a problem).
``firing``   — a ``new`` mail went out (or waits for a mute/snooze to end); a ``reminder`` every
               ``reminder_h`` hours while it persists, unless acknowledged, snoozed or muted.
``resolved`` — not seen for ``resolve_after_min`` minutes: a ``resolved`` mail, if a ``new`` mail was sent.
``dropped``  — a pending alert that went away before firing: nothing is sent.

:func:`step` takes the current findings and ``now`` (simulated time in tests) and commits the state
changes and the queued mails (via ``render``) in one transaction, so a restart between steps sends
nothing twice and a crash inside a step sends nothing at all.  The same findings at the same ``now`` twice
(the autumn DST hour, a job run twice) change nothing the second time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Callable
from email.message import EmailMessage

from energimon.analytics.alerting.state import AlertDB, ts
from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import AlertSettings
from energimon.mail.outbox import enqueue

log = logging.getLogger(__name__)

# render(kind, alert row, finding or None) -> [(recipients, message)]; None in digest mode
Render = Callable[[str, sqlite3.Row, Finding | None], list[tuple[list[str], EmailMessage]]]


def finding_to_json(f: Finding) -> str:
    d = dataclasses.asdict(f)
    d["since"] = f.since.isoformat()
    return json.dumps(d, ensure_ascii=False, sort_keys=True)


def finding_from_json(text: str) -> Finding:
    d = json.loads(text)
    d["since"] = dt.datetime.fromisoformat(d["since"])
    return Finding(**d)


def _notify(c: sqlite3.Connection, cfg: AlertSettings, row: sqlite3.Row, kind: str, dedupe: str,
            finding: Finding | None, now: float, render: Render | None) -> None:
    # Info-level findings (a slow drift, a sustained small shift) are told once a day in the digest, not
    # one mail each: a facility manager who gets a mail for every small thing stops reading them.
    to_digest = cfg.digest or (cfg.info_digest and row["severity"] == "info")
    cur = c.execute("INSERT OR IGNORE INTO notifications(dedupe, alert_id, kind, created, for_digest) "
                    "VALUES (?,?,?,?,?)", (dedupe, row["id"], kind, now, int(to_digest)))
    if cur.rowcount == 0:
        return
    log.info("alert %s site=%s device=%s rule=%s id=%d%s", kind, row["site"], row["device"], row["rule"], row["id"],
             " (for the digest)" if to_digest else "")
    if to_digest or render is None:
        return
    for i, (recipients, msg) in enumerate(render(kind, row, finding)):
        enqueue(c, f"{dedupe}#{i}", recipients, msg, now)


def step(db: AlertDB, cfg: AlertSettings, findings: list[Finding], now: dt.datetime,
         render: Render | None = None, unevaluated_sites: frozenset[str] = frozenset()) -> dict[str, int]:
    """Advance every alert to ``now`` given the current ``findings``; returns counts of what happened.

    ``unevaluated_sites``: sites whose rules failed this run — no finding there means "not known",
    not "over", so their open alerts are neither dropped nor resolved (no false "Løst" mail).
    """
    t = ts(now)
    pending_s, remind_s, resolve_s = cfg.pending_min * 60, cfg.reminder_h * 3600, cfg.resolve_after_min * 60
    counts = {"new": 0, "reminder": 0, "resolved": 0, "pending": 0, "dropped": 0}
    by_key: dict[str, Finding] = {}
    for f in findings:
        by_key.setdefault(f.key, f)  # one finding per key
    with db.transaction() as c:
        for key, f in by_key.items():
            row = c.execute("SELECT * FROM alerts WHERE key = ? AND state IN ('pending', 'firing')", (key,)).fetchone()
            if row is None:
                c.execute("INSERT INTO alerts(key, site, device, rule, state, severity, since, first_seen, last_seen,"
                          " finding) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (key, f.site, f.device, f.rule, "pending", f.severity, ts(f.since), t, t, finding_to_json(f)))
                counts["pending"] += 1
            elif t >= row["last_seen"]:
                c.execute("UPDATE alerts SET last_seen = ?, severity = ?, rule = ?, finding = ? WHERE id = ?",
                          (t, f.severity, f.rule, finding_to_json(f), row["id"]))
        for row in c.execute("SELECT * FROM alerts WHERE state IN ('pending', 'firing') ORDER BY id").fetchall():
            found = by_key.get(row["key"])
            if found is None and row["site"] in unevaluated_sites:
                continue
            if found is None:
                if row["state"] == "pending":
                    c.execute("UPDATE alerts SET state = 'dropped', resolved_at = ? WHERE id = ?", (t, row["id"]))
                    counts["dropped"] += 1
                elif t - row["last_seen"] >= resolve_s:
                    c.execute("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ?", (t, row["id"]))
                    if row["notified_at"] is not None:
                        row = c.execute("SELECT * FROM alerts WHERE id = ?", (row["id"],)).fetchone()
                        _notify(c, cfg, row, "resolved", f"alert{row['id']}:resolved",
                                _last_finding(row), t, render)
                        counts["resolved"] += 1
                continue
            if row["state"] == "pending":
                if t - row["first_seen"] < pending_s:
                    continue
                c.execute("UPDATE alerts SET state = 'firing', fired_at = ? WHERE id = ?", (t, row["id"]))
                row = c.execute("SELECT * FROM alerts WHERE id = ?", (row["id"],)).fetchone()
            quiet = db.muted(c, row["site"], row["device"], t) or (
                row["snoozed_until"] is not None and t < row["snoozed_until"])
            if quiet:
                continue
            if row["notified_at"] is None:
                _notify(c, cfg, row, "new", f"alert{row['id']}:new", found, t, render)
                c.execute("UPDATE alerts SET notified_at = ? WHERE id = ?", (t, row["id"]))
                counts["new"] += 1
            elif row["acked_at"] is None:
                snooze_over = row["snoozed_until"] is not None and row["notified_at"] < row["snoozed_until"] <= t
                if t - row["notified_at"] >= remind_s or snooze_over:
                    n = row["reminders"] + 1
                    _notify(c, cfg, row, "reminder", f"alert{row['id']}:reminder{n}", found, t, render)
                    c.execute("UPDATE alerts SET notified_at = ?, reminders = ? WHERE id = ?", (t, n, row["id"]))
                    counts["reminder"] += 1
    return counts


def _last_finding(row: sqlite3.Row) -> Finding | None:
    try:
        return finding_from_json(row["finding"])
    except (ValueError, TypeError, KeyError):
        return None


def digest(db: AlertDB, now: dt.datetime,
           render_digest: Callable[[list[tuple[str, sqlite3.Row, Finding | None]]], list[tuple[list[str],
                                                                                                 EmailMessage]]],
           ) -> int:
    """Put every notification waiting for the digest (digest mode, or an info-level alert) into digest mails, one
    per recipient list, queued in the outbox in the same transaction that marks the notifications (idempotent,
    and nothing is lost: a crash leaves both for the next call).  Returns the number of mails queued."""
    from energimon.model import LOCAL_TZ

    t = ts(now)
    day = now.astimezone(LOCAL_TZ).date().isoformat()
    with db.transaction() as c:
        rows = c.execute("SELECT n.id AS nid, n.kind, a.* FROM notifications n JOIN alerts a ON a.id = n.alert_id "
                         "WHERE n.digested IS NULL AND n.for_digest = 1 ORDER BY n.id").fetchall()
        if not rows:
            return 0
        items = [(r["kind"], r, _last_finding(r)) for r in rows]
        queued = 0
        for i, (recipients, msg) in enumerate(render_digest(items)):
            queued += enqueue(c, f"digest:{day}:{rows[0]['nid']}:{i}", recipients, msg, t)
        c.executemany("UPDATE notifications SET digested = ? WHERE id = ?", [(t, r["nid"]) for r in rows])
    return queued
