"""The durable outbox: a mail waits in SQLite until the server took it; nothing is lost, nothing sent twice.

The outbox **table** is owned here, whichever file holds it:

* the alert state file (``[alerts] state_path``): an alert's state change and the mails it queues commit
  in **one** transaction (:func:`enqueue` takes the caller's connection inside its transaction), so a
  restart either has both or neither and sends nothing twice;
* :class:`MailDB` (``[smtp] outbox_file``, default ``mail.db`` beside the spool): report mails, and the
  record of which report period went to which recipient list (``report_deliveries``, written in the
  same transaction as the mail it queues), so reports are mailed without ``[alerts]``.

Delivery (:func:`deliver`): each due message is first *claimed* (its next attempt moved ``CLAIM_S``
ahead, in a transaction), so two processes delivering the same file (the daemon and
``energimon report mail``) never send one message twice; then sent; then marked sent.  A failed attempt
is retried with back-off (1, 2, 4 … minutes, at most ``MAX_BACKOFF_S``, or the server's Retry-After when
longer), for ever.  The window between "the server accepted" and "marked sent" is the only place a crash
could send a mail twice (each message carries a stable Message-ID, so mail clients show it once).
Times are Unix seconds (UTC).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from energimon.mail.render import to_wire
from energimon.mail.transport import MailError

log = logging.getLogger("energimon.mail")

MAX_BACKOFF_S = 3600.0
CLAIM_S = 600.0  # a message being sent is not due for others this long (a crash mid-send: retried after it)

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe TEXT NOT NULL UNIQUE,     -- the caller's key: queuing the same mail again does nothing
    created REAL NOT NULL,
    recipients TEXT NOT NULL,        -- JSON list
    subject TEXT NOT NULL,
    message BLOB NOT NULL,           -- the whole RFC 5322 message
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    sent_at REAL,
    last_error TEXT,                 -- the last failed attempt's error (step, what, the fix)
    failed_at REAL                   -- when that attempt failed
);
"""

MAILDB_SCHEMA = """
CREATE TABLE IF NOT EXISTS report_deliveries (
    kind TEXT NOT NULL,              -- savings | solar
    period TEXT NOT NULL,            -- YYYY-MM (local calendar)
    recipients TEXT NOT NULL,        -- sorted, comma-separated; '' = the files were written, not mailed
    preliminary TEXT NOT NULL DEFAULT '',  -- '' = the month was over; else the local day it was asked for
    delivered_at REAL NOT NULL,      -- when the report was produced and its mail queued
    outbox_id INTEGER REFERENCES outbox(id),
    files TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (kind, period, recipients, preliminary)
);
CREATE TABLE IF NOT EXISTS report_schedule (
    kind TEXT NOT NULL, recipients TEXT NOT NULL,
    since TEXT NOT NULL,             -- the first period this recipient list is due (YYYY-MM)
    PRIMARY KEY (kind, recipients)
);
"""

Sender = Callable[[list[str], bytes], None]


class OutboxFile(Protocol):
    """What :func:`deliver` needs of a file holding the outbox (AlertDB and MailDB have it)."""

    conn: sqlite3.Connection

    def transaction(self): ...


def ensure_outbox_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox table, or bring an older one up to date (``failed_at`` came later)."""
    conn.executescript(OUTBOX_SCHEMA)
    cols = {r[1] for r in conn.execute("PRAGMA table_info(outbox)")}
    if "failed_at" not in cols:
        conn.execute("ALTER TABLE outbox ADD COLUMN failed_at REAL")
    conn.execute("CREATE INDEX IF NOT EXISTS outbox_due ON outbox(next_attempt) WHERE sent_at IS NULL")


def ts(t: dt.datetime | float) -> float:
    if isinstance(t, dt.datetime):
        if t.tzinfo is None:
            raise ValueError("naive datetime; pass an aware one (UTC)")
        return t.timestamp()
    return float(t)


def enqueue(conn: sqlite3.Connection, dedupe: str, recipients: Sequence[str], msg: EmailMessage,
            now: float) -> bool:
    """Queue ``msg`` in the caller's open transaction (idempotent by ``dedupe``).  False: it was queued before."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO outbox(dedupe, created, recipients, subject, message, next_attempt) "
        "VALUES (?,?,?,?,?,?)",
        (dedupe, now, json.dumps(list(recipients)), str(msg["Subject"]), to_wire(msg), now))
    return cur.rowcount > 0


def backoff_s(attempts: int) -> float:
    """Wait after ``attempts`` failed attempts: 60 s, 120 s, 240 s … at most an hour."""
    return min(MAX_BACKOFF_S, 60.0 * 2 ** max(0, attempts - 1))


def count_waiting(db: OutboxFile) -> int:
    """How many mails in ``db``'s outbox the server has not taken yet."""
    return int(db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])


@dataclass
class Delivery:
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> int:  # counts as a dict, as callers used them
        return getattr(self, key)


def deliver(db: OutboxFile, send: Sender, now: dt.datetime | float, limit: int = 100) -> Delivery:
    """Try every due message once, oldest first; stop at the first failure (the server is down or refusing:
    do not hammer it with the rest of the queue)."""
    t = ts(now)
    due = db.conn.execute("SELECT id FROM outbox WHERE sent_at IS NULL AND next_attempt <= ? ORDER BY id LIMIT ?",
                          (t, limit)).fetchall()
    result = Delivery(errors=[])
    for (msg_id,) in due:
        with db.transaction() as c:  # claim it: another process delivering this file skips it now
            if c.execute("UPDATE outbox SET next_attempt = ? WHERE id = ? AND sent_at IS NULL AND next_attempt <= ?",
                         (t + CLAIM_S, msg_id, t)).rowcount == 0:
                continue
            row = c.execute("SELECT recipients, message, subject, attempts FROM outbox WHERE id = ?",
                            (msg_id,)).fetchone()
        try:
            send(json.loads(row[0]), bytes(row[1]))
        except Exception as exc:
            if not isinstance(exc, MailError):
                log.exception("mail transport failed unexpectedly")
            n = row[3] + 1
            wait = max(backoff_s(n), getattr(exc, "retry_after_s", None) or 0.0)
            text = str(exc) if isinstance(exc, MailError) else f"send: {type(exc).__name__}: {exc}"
            with db.transaction() as c:
                c.execute("UPDATE outbox SET attempts = ?, next_attempt = ?, last_error = ?, failed_at = ? "
                          "WHERE id = ?", (n, t + wait, text, t, msg_id))
            result.failed += 1
            result.errors.append(text)
            log.warning("mail «%s» not delivered (attempt %d, next in %.0f s): %s", row[2], n, wait, text)
            break
        with db.transaction() as c:
            c.execute("UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE id = ?", (t, msg_id))
        result.sent += 1
        if row[3]:
            log.info("mail «%s» delivered after %d failed attempt(s)", row[2], row[3])
    result.waiting = count_waiting(db)
    if result.sent:
        log.info("mails sent=%d waiting=%d", result.sent, result.waiting)
    return result


class MailDBClosed(RuntimeError):
    """A write after :meth:`MailDB.close` (a job thread still running while the daemon stops)."""


class MailDB:
    """The mail package's own file: the report outbox and the report delivery record (WAL, thread-safe)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        ensure_outbox_schema(self.conn)
        self.conn.executescript(MAILDB_SCHEMA)
        self.lock = threading.RLock()
        self.closed = False

    def close(self) -> None:
        # Under the lock: a report job's thread may outlive the daemon's stop grace and must find the file
        # closed (MailDBClosed), not half-closed.
        with self.lock:
            self.closed = True
            self.conn.close()

    def __enter__(self) -> MailDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        db = self

        class _Tx:
            def __enter__(self):
                db.lock.acquire()
                if db.closed:
                    db.lock.release()
                    raise MailDBClosed(f"{db.path} is closed (the daemon is stopping)")
                db.conn.execute("BEGIN IMMEDIATE")
                return db.conn

            def __exit__(self, et, ev, tb):
                try:
                    db.conn.execute("COMMIT" if et is None else "ROLLBACK")
                finally:
                    db.lock.release()

        return _Tx()

    # -- the report delivery record ---------------------------------------------------------------------
    def delivered(self, kind: str, period: str, recipients: str, preliminary: str = "") -> bool:
        with self.transaction() as c:
            return c.execute("SELECT 1 FROM report_deliveries WHERE kind = ? AND period = ? AND recipients = ? "
                             "AND preliminary = ?", (kind, period, recipients, preliminary)).fetchone() is not None

    def schedule_since(self, kind: str, recipients: str, latest_due: str) -> str:
        """The first period due for this report and recipient list: the newest due one when the list is first
        seen (new recipients do not get the history).  Never moved back: a clock set back must not make an
        older period due."""
        with self.transaction() as c:
            c.execute("INSERT OR IGNORE INTO report_schedule(kind, recipients, since) VALUES (?,?,?)",
                      (kind, recipients, latest_due))
            return c.execute("SELECT since FROM report_schedule WHERE kind = ? AND recipients = ?",
                             (kind, recipients)).fetchone()[0]

    def record_delivery(self, kind: str, period: str, recipients: Sequence[str], msg: EmailMessage | None,
                        now: dt.datetime | float, files: Sequence[Path] = (), preliminary: str = "") -> bool:
        """Queue the report's mail and record the delivery, in one transaction.  False: already delivered."""
        key = recipients_key(recipients)
        t = ts(now)
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM report_deliveries WHERE kind = ? AND period = ? AND recipients = ? AND "
                         "preliminary = ?", (kind, period, key, preliminary)).fetchone():
                return False
            outbox_id = None
            if msg is not None:
                dedupe = f"report:{kind}:{period}:{key}" + (f":preliminary:{preliminary}" if preliminary else "")
                enqueue(c, dedupe, recipients, msg, t)
                outbox_id = c.execute("SELECT id FROM outbox WHERE dedupe = ?", (dedupe,)).fetchone()[0]
            c.execute("INSERT INTO report_deliveries(kind, period, recipients, preliminary, delivered_at, outbox_id, "
                      "files) VALUES (?,?,?,?,?,?,?)",
                      (kind, period, key, preliminary, t, outbox_id, json.dumps([str(p) for p in files])))
            return True


def recipients_key(recipients: Sequence[str]) -> str:
    """One recipient list, whatever its order or case."""
    return ",".join(sorted({r.strip().lower() for r in recipients}))


# -- read-only views for `energimon status` (another process, while the daemon runs) -------------------------
@dataclass(frozen=True)
class OutboxSummary:
    queued: int
    oldest_queued: float | None
    next_attempt: float | None
    last_sent: float | None
    last_failed: float | None
    last_error: str | None


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)


def read_outbox_summary(path: Path) -> OutboxSummary | None:
    """The outbox in ``path`` (None: the file or its outbox does not exist yet)."""
    if not Path(path).exists():
        return None
    conn = _ro(path)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone() is None:
            return None
        has_failed_at = "failed_at" in {r[1] for r in conn.execute("PRAGMA table_info(outbox)")}
        q, oldest, nxt = conn.execute("SELECT COUNT(*), MIN(created), MIN(next_attempt) FROM outbox "
                                      "WHERE sent_at IS NULL").fetchone()
        (last_sent,) = conn.execute("SELECT MAX(sent_at) FROM outbox").fetchone()
        failed = conn.execute("SELECT failed_at, last_error FROM outbox WHERE failed_at IS NOT NULL "
                              "ORDER BY failed_at DESC LIMIT 1").fetchone() if has_failed_at else None
    finally:
        conn.close()
    return OutboxSummary(int(q), oldest, nxt, last_sent, failed[0] if failed else None, failed[1] if failed else None)


@dataclass(frozen=True)
class LastDelivery:
    kind: str
    recipients: str
    period: str
    delivered_at: float
    sent_at: float | None  # None: still in the outbox (or files only)
    mailed: bool


def read_last_deliveries(path: Path) -> list[LastDelivery]:
    """The last final (not preliminary) period delivered per report kind and recipient list."""
    if not Path(path).exists():
        return []
    conn = _ro(path)
    try:
        rows = conn.execute(
            "SELECT d.kind, d.recipients, MAX(d.period), d.delivered_at, o.sent_at, d.outbox_id IS NOT NULL "
            "FROM report_deliveries d LEFT JOIN outbox o ON o.id = d.outbox_id WHERE d.preliminary = '' "
            "GROUP BY d.kind, d.recipients ORDER BY d.kind, d.recipients").fetchall()
    except sqlite3.OperationalError:  # an older file without the table
        return []
    finally:
        conn.close()
    return [LastDelivery(k, r, p, at, sent, bool(m)) for k, r, p, at, sent, m in rows]
