"""Embedded time-series store on SQLite: the default when no InfluxDB is configured.

WAL mode, so the CLI (another process) reads while the daemon writes.  One
``WITHOUT ROWID`` table keyed by (series, timestamp) makes writes idempotent —
the spool delivers at least once, the store keeps each reading exactly once.

A reading whose time came from the device (:attr:`OnConflict.KEEP`) never replaces a
different value already stored at that millisecond: it is inserted only where the
key is free (in SQL, ``ON CONFLICT DO NOTHING``), and a different stored value makes
it a :class:`Rejected` with the reason.  Readings energimon stamped take the plain
upsert (no look-up: their stamps are never given twice).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from energimon.model import OnConflict, Reading, SeriesKey, validate_reading
from energimon.store.base import Rejected, Store, StoreError, StoreHealth, collision_reason

log = logging.getLogger("energimon.store.sqlite")

_UPSERT = ("INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
           "ON CONFLICT (series_id, ts_ms) DO UPDATE SET value = excluded.value")

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id      INTEGER PRIMARY KEY,
    site    TEXT NOT NULL,
    device  TEXT NOT NULL,
    channel TEXT NOT NULL,
    role    TEXT NOT NULL,
    UNIQUE (site, device, channel)
);
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL REFERENCES series(id),
    ts_ms     INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
"""


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str, str], tuple[int, str]] = {}  # key -> (series id, role)
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"embedded store {self.path} does not exist (has the daemon run?)")
                # as_uri() percent-encodes: a '?', '#' or '%' in the path must not end up in the URI as is
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                # A batch from 1,000+ series touches 1,000+ pages of the (series, time) index: with
                # SQLite's 2 MB default cache and 1000-page autocheckpoint every commit spilled and
                # checkpointed (bench/store: 69k -> ~200k readings/s on a store holding 3M points).
                self._db.execute("PRAGMA cache_size=-65536")
                self._db.execute("PRAGMA wal_autocheckpoint=10000")
                self._db.executescript(SCHEMA)
            self._db.execute("PRAGMA busy_timeout=10000")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open embedded store {self.path}: {exc}") from exc

    # -- writes -------------------------------------------------------------------------
    def write(self, readings: Sequence[Reading]) -> list[Rejected]:
        # Refuse for good what can never be stored (NaN, unknown channel, bad id...):
        # one such reading must not turn the whole batch into a retry-forever error.
        rejected: list[Rejected] = []
        good: list[Reading] = []
        for r in readings:
            try:
                validate_reading(r)
            except ValueError as exc:
                rejected.append(Rejected(r, str(exc)))
            else:
                good.append(r)
        if not good:
            return rejected
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    rows = [(self._series_id(r), r.ts_ms, float(r.value)) for r in good]
                    if any(r.on_conflict is OnConflict.KEEP for r in good):
                        collisions = self._write_keeping(good, rows)
                    else:
                        self._db.executemany(_UPSERT, rows)
                        collisions = []
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    self._ids.clear()  # ids created in the rolled-back transaction are gone
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: {exc}") from exc
        if collisions:
            log.warning("embedded store kept %d stored value(s) and refused the device-stamped reading(s) that "
                        "collided with them (dead letters), e.g. %s", len(collisions), collisions[0].reason)
        return rejected + collisions

    def _write_keeping(self, good: list[Reading], rows: list[tuple[int, int, float]]) -> list[Rejected]:
        """The batch in order: runs of energimon-stamped readings upserted, each device-stamped one inserted only
        where its (series, ms) is free or already holds the same value."""
        collisions: list[Rejected] = []
        run: list[tuple[int, int, float]] = []
        for r, row in zip(good, rows, strict=True):
            if r.on_conflict is not OnConflict.KEEP:
                run.append(row)
                continue
            if run:
                self._db.executemany(_UPSERT, run)
                run = []
            if self._db.execute("INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (series_id, ts_ms) DO NOTHING", row).rowcount == 0:
                (stored,) = self._db.execute("SELECT value FROM points WHERE series_id = ? AND ts_ms = ?",
                                             row[:2]).fetchone()
                if stored != row[2]:
                    collisions.append(Rejected(r, collision_reason(r, stored)))
        if run:
            self._db.executemany(_UPSERT, run)
        return collisions

    def _series_id(self, r: Reading) -> int:
        key = (r.site, r.device, r.channel)
        cached = self._ids.get(key)
        if cached is not None:
            sid, role = cached
        else:
            row = self._db.execute(
                "SELECT id, role FROM series WHERE site=? AND device=? AND channel=?", key
            ).fetchone()
            if row is None:
                sid = self._db.execute(
                    "INSERT INTO series (site, device, channel, role) VALUES (?, ?, ?, ?)",
                    (*key, r.role),
                ).lastrowid
                role = r.role
            else:
                sid, role = row
        if role != r.role:  # the device was re-classified in the config
            self._db.execute("UPDATE series SET role=? WHERE id=?", (r.role, sid))
        self._ids[key] = (sid, r.role)
        return sid

    # -- reads --------------------------------------------------------------------------
    def _lookup(self, key: SeriesKey) -> int | None:
        row = self._db.execute(
            "SELECT id FROM series WHERE site=? AND device=? AND channel=?",
            (key.site, key.device, key.channel),
        ).fetchone()
        return None if row is None else row[0]

    def series(self) -> pd.DataFrame:
        with self._lock:
            rows = self._db.execute(
                "SELECT site, device, channel, role FROM series ORDER BY site, device, channel"
            ).fetchall()
        return pd.DataFrame(rows, columns=["site", "device", "channel", "role"])

    def latest(self) -> pd.DataFrame:
        with self._lock:
            rows = self._db.execute(
                """SELECT s.site, s.device, s.channel, s.role, p.ts_ms, p.value
                   FROM series s JOIN points p ON p.series_id = s.id
                   AND p.ts_ms = (SELECT max(ts_ms) FROM points WHERE series_id = s.id)
                   ORDER BY s.site, s.device, s.channel"""
            ).fetchall()
        df = pd.DataFrame(rows, columns=["site", "device", "channel", "role", "ts_ms", "value"])
        df.insert(4, "time", pd.to_datetime(df.pop("ts_ms"), unit="ms", utc=True))
        return df

    def read_raw_ms(self, key: SeriesKey, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            sid = self._lookup(key)
            if sid is None:
                return np.empty(0, np.int64), np.empty(0, np.float64)
            cur = self._db.execute(
                "SELECT ts_ms, value FROM points WHERE series_id=? AND ts_ms>=? AND ts_ms<? "
                "ORDER BY ts_ms",
                (sid, start_ms, end_ms),
            )
            rows = cur.fetchall()
        if not rows:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        arr = np.fromiter(rows, dtype=[("t", "i8"), ("v", "f8")], count=len(rows))
        return np.ascontiguousarray(arr["t"]), np.ascontiguousarray(arr["v"])

    def partials_ms(self, key: SeriesKey, start_ms: int, end_ms: int, bucket_s: int) -> pd.DataFrame:
        bucket_ms = bucket_s * 1000
        with self._lock:
            sid = self._lookup(key)
            rows = []
            if sid is not None:
                rows = self._db.execute(
                    """WITH b AS (
                         SELECT ts_ms / :b AS bucket, count(*) AS n, sum(value) AS s,
                                min(value) AS lo, max(value) AS hi, max(ts_ms) AS t_last
                         FROM points WHERE series_id = :sid AND ts_ms >= :t0 AND ts_ms < :t1
                         GROUP BY bucket)
                       SELECT b.bucket, b.n, b.s, b.lo, b.hi, p.value
                       FROM b JOIN points p ON p.series_id = :sid AND p.ts_ms = b.t_last
                       ORDER BY b.bucket""",
                    {"b": bucket_ms, "sid": sid, "t0": start_ms, "t1": end_ms},
                ).fetchall()
        df = pd.DataFrame(rows, columns=["bucket", "count", "sum", "min", "max", "last"])
        df.index = pd.to_datetime(df.pop("bucket").astype(np.int64) * bucket_ms, unit="ms", utc=True)
        return df

    def ping(self) -> StoreHealth:
        try:
            with self._lock:
                n = self._db.execute("SELECT count(*) FROM series").fetchone()[0]
        except sqlite3.Error as exc:
            return StoreHealth(False, self.kind, f"{self.path}: {exc}")
        return StoreHealth(True, self.kind, f"{self.path} ({n} series)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
