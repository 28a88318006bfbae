"""The alert state file (SQLite, WAL): alerts and their episodes, mutes, notifications, and the outbox.

One file (``[alerts] state_path``) so that a lifecycle step and the mails it queues commit in
one transaction: after a crash or restart either both happened or neither did, and nothing is
sent twice.  The outbox table's schema and delivery belong to the mail package
(:mod:`energimon.mail.outbox`); this file only holds it.  Times are Unix seconds (UTC).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from energimon.mail.outbox import ensure_outbox_schema, ts

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,               -- site/device/rule: the deduplication key
    site TEXT NOT NULL, device TEXT NOT NULL, rule TEXT NOT NULL,
    state TEXT NOT NULL,             -- pending | firing | resolved | dropped
    severity TEXT NOT NULL,
    since REAL NOT NULL,             -- when the problem started, as the data shows
    first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    fired_at REAL, notified_at REAL, reminders INTEGER NOT NULL DEFAULT 0, resolved_at REAL,
    acked_at REAL, acked_by TEXT, snoozed_until REAL,
    finding TEXT NOT NULL            -- the latest finding, JSON
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_active ON alerts(key) WHERE state IN ('pending', 'firing');
CREATE TABLE IF NOT EXISTS mutes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL, device TEXT,  -- device NULL: the whole site
    start REAL NOT NULL, until REAL NOT NULL, reason TEXT NOT NULL DEFAULT '', created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe TEXT NOT NULL UNIQUE,     -- alert<id>:new | alert<id>:reminder<n> | alert<id>:resolved
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    kind TEXT NOT NULL,              -- new | reminder | resolved
    created REAL NOT NULL,
    digested REAL,                   -- when it went into a digest mail
    for_digest INTEGER NOT NULL DEFAULT 0  -- 1: told in the daily digest (digest mode, info level), not alone
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


ACTIVE = ("pending", "firing")
STATES = ("pending", "firing", "resolved", "dropped")


def to_dt(t: float | None) -> dt.datetime | None:
    return None if t is None else dt.datetime.fromtimestamp(t, tz=dt.UTC)


# -- read-only views for other processes and packages (status, reports): never SQL against these tables -----
@dataclass(frozen=True)
class AlertRecord:
    id: int
    site: str
    device: str
    rule: str
    state: str  # pending | firing | resolved | dropped
    severity: str
    since: dt.datetime  # when the problem started, as the data shows (UTC)
    resolved_at: dt.datetime | None


def read_alerts(path: str | Path, *, states: Collection[str] = ACTIVE, rules: Collection[str] | None = None,
                overlapping: tuple[dt.datetime, dt.datetime] | None = None) -> list[AlertRecord]:
    """The alerts in the state file at ``path`` in ``states`` (of ``rules``, when given), oldest first, read-only
    (nothing is created or changed; ``[]`` when the file does not exist yet).

    ``overlapping=(start, end)``: only alerts whose problem began before ``end`` and was not resolved before
    ``start``.  Raises :class:`sqlite3.Error` when the file cannot be read.
    """
    path = Path(path)
    if not path.exists():
        return []
    where: list[str] = [f"state IN ({','.join('?' * len(states))})"]
    params: list[str | float] = [*states]
    if rules is not None:
        where.append(f"rule IN ({','.join('?' * len(rules))})")
        params += [*rules]
    if overlapping is not None:
        where.append("since < ? AND (resolved_at IS NULL OR resolved_at >= ?)")
        params += [ts(overlapping[1]), ts(overlapping[0])]
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT id, site, device, rule, state, severity, since, resolved_at FROM alerts WHERE "
                          + " AND ".join(where) + " ORDER BY since, id", params).fetchall()
    finally:
        db.close()
    return [AlertRecord(i, site, device, rule, state, severity, dt.datetime.fromtimestamp(since, tz=dt.UTC),
                        to_dt(resolved))
            for i, site, device, rule, state, severity, since, resolved in rows]


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a state file from before ``for_digest`` up to date.  Its notifications not yet in a digest wait for
    one only if the file was in digest mode (it has digested notifications); otherwise they were mailed alone."""
    cols = {r[1] for r in conn.execute("PRAGMA table_info(notifications)")}
    if "for_digest" in cols:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE notifications ADD COLUMN for_digest INTEGER NOT NULL DEFAULT 0")
        if conn.execute("SELECT 1 FROM notifications WHERE digested IS NOT NULL LIMIT 1").fetchone():
            conn.execute("UPDATE notifications SET for_digest = 1 WHERE digested IS NULL")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class AlertDB:
    """A connection to the state file (thread-safe: one lock around each transaction)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        _migrate(self.conn)
        ensure_outbox_schema(self.conn)
        self.lock = threading.RLock()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AlertDB:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self):
        db = self

        class _Tx:
            def __enter__(self):
                db.lock.acquire()
                db.conn.execute("BEGIN IMMEDIATE")
                return db.conn

            def __exit__(self, et, ev, tb):
                try:
                    db.conn.execute("COMMIT" if et is None else "ROLLBACK")
                finally:
                    db.lock.release()

        return _Tx()

    # -- mutes --------------------------------------------------------------------------------
    def add_mute(self, site: str, device: str | None, start: dt.datetime, until: dt.datetime, reason: str) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO mutes(site, device, start, until, reason, created) VALUES (?,?,?,?,?,?)",
                            (site, device, ts(start), ts(until), reason, ts(start)))
            return int(cur.lastrowid)

    def remove_mute(self, mute_id: int) -> bool:
        with self.transaction() as c:
            return c.execute("DELETE FROM mutes WHERE id = ?", (mute_id,)).rowcount > 0

    def muted(self, c: sqlite3.Connection, site: str, device: str, now: float) -> bool:
        row = c.execute("SELECT 1 FROM mutes WHERE site = ? AND (device IS NULL OR device = ?) AND start <= ? "
                        "AND until > ? LIMIT 1", (site, device, now, now)).fetchone()
        return row is not None

    def mutes(self, now: float | None = None) -> list[sqlite3.Row]:
        q = "SELECT * FROM mutes" + (" WHERE until > ?" if now is not None else "") + " ORDER BY id"
        return self.conn.execute(q, (now,) if now is not None else ()).fetchall()

    # -- alerts -------------------------------------------------------------------------------
    def alerts(self, states: tuple[str, ...] = ("pending", "firing")) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(states))
        return self.conn.execute(f"SELECT * FROM alerts WHERE state IN ({marks}) ORDER BY id", states).fetchall()

    def history(self, states: tuple[str, ...] = ("pending", "firing", "resolved", "dropped"),
                sites: tuple[str, ...] | None = None, limit: int = 500) -> list[sqlite3.Row]:
        """Alerts newest first, optionally of some sites only (the web application's lists)."""
        q = f"SELECT * FROM alerts WHERE state IN ({','.join('?' * len(states))})"
        args: list = list(states)
        if sites is not None:
            q += f" AND site IN ({','.join('?' * len(sites))})"
            args += list(sites)
        return self.conn.execute(q + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()

    def alert(self, alert_id: int) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()

    def ack(self, alert_id: int, now: dt.datetime, by: str = "") -> bool:
        with self.transaction() as c:
            return c.execute("UPDATE alerts SET acked_at = ?, acked_by = ? WHERE id = ? AND state IN "
                             "('pending', 'firing')", (ts(now), by, alert_id)).rowcount > 0

    def snooze(self, alert_id: int, until: dt.datetime) -> bool:
        with self.transaction() as c:
            return c.execute("UPDATE alerts SET snoozed_until = ? WHERE id = ? AND state IN ('pending', 'firing')",
                             (ts(until), alert_id)).rowcount > 0
