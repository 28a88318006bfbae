"""The durable outbox: mails wait in the state file until the SMTP server took them.

An SMTP outage delays mails, it loses none: a failed attempt is retried with back-off
(1, 2, 4 … minutes, at most ``MAX_BACKOFF_S``), for ever.  A message is marked sent only after the
server accepted it; the window between "accepted" and "marked" is the only place a crash could send a
mail twice (each message carries a stable Message-ID, so mail clients show it once).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

from energimon.analytics.alerting.smtp import MailError
from energimon.analytics.alerting.state import AlertDB, ts

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 3600.0

Sender = Callable[[list[str], bytes], None]


def backoff_s(attempts: int) -> float:
    """Wait after ``attempts`` failed attempts: 60 s, 120 s, 240 s … at most an hour."""
    return min(MAX_BACKOFF_S, 60.0 * 2 ** max(0, attempts - 1))


def deliver(db: AlertDB, send: Sender, now: dt.datetime, limit: int = 100) -> dict[str, int]:
    """Try every due message once; returns counts ``sent`` / ``failed`` / ``waiting``."""
    t = ts(now)
    due = db.conn.execute("SELECT id, recipients, message, attempts FROM outbox WHERE sent_at IS NULL AND "
                          "next_attempt <= ? ORDER BY id LIMIT ?", (t, limit)).fetchall()
    sent = failed = 0
    for row in due:
        try:
            send(json.loads(row["recipients"]), bytes(row["message"]))
        except MailError as exc:
            failed += 1
            n = row["attempts"] + 1
            with db.transaction() as c:
                c.execute("UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ? WHERE id = ?",
                          (n, t + backoff_s(n), str(exc), row["id"]))
            log.warning("alert mail not delivered (attempt %d, retry in %.0f s): %s", n, backoff_s(n), exc)
            break  # the server is down: do not hammer it with the rest of the queue
        with db.transaction() as c:
            c.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?", (t, row["id"]))
        sent += 1
    waiting = db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    if sent:
        log.info("alert mails sent=%d waiting=%d", sent, waiting)
    return {"sent": sent, "failed": failed, "waiting": int(waiting)}
