"""Embedded time-series store on SQLite: the default when no InfluxDB is configured.

WAL mode, so the CLI (another process) reads while the daemon writes.  New readings land in one
``WITHOUT ROWID`` table keyed by (series, timestamp), which makes writes idempotent — the spool
delivers at least once, the store keeps each reading exactly once.

A reading whose time came from the device (:attr:`OnConflict.KEEP`) never replaces a
different value already stored at that millisecond: it is inserted only where the
key is free (in SQL, ``ON CONFLICT DO NOTHING``), and a different stored value makes
it a :class:`Rejected` with the reason.  Readings energimon stamped take the plain
upsert (no look-up: their stamps are never given twice).

**Old days are kept compactly** (:meth:`SqliteStore.maintain`, run by the spool writer in its idle time): a
series' readings of a UTC day that ended more than ``compact_after_days`` ago move from a row each (about
25 bytes) into one ``chunks`` row of :mod:`energimon.store.chunks` (about 3-5 bytes a reading, lossless),
in the same transaction that deletes the rows.  Readings written later for such a day (an import, a
redelivery) go to the rows as usual, win over the chunk on reads (the newer write), and are merged into
the chunk at the next maintenance.  Reads see both, in one read transaction.  A file written by an
earlier version (no ``chunks`` table) opens as it is and keeps all its data; maintenance compacts its old
days over time.
"""

from __future__ import annotations

import logging
import math
import operator
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

from energimon.model import MIN_TIMESTAMP_MS, OnConflict, Reading, SeriesKey, _series_minimum, validate_reading
from energimon.store.base import Rejected, Store, StoreError, StoreHealth, collision_reason, partials_from_raw
from energimon.store.spool import ReadingRows

if TYPE_CHECKING:  # numpy and pandas are imported where reads and maintenance use them: not on the write path
    import numpy as np
    import pandas as pd

log = logging.getLogger("energimon.store.sqlite")

# (series id, ts_ms, value) rows of a batch's valid readings; for each whether it keeps a stored value (device
# time), or None when none does; the reading of row j (to name it in a refusal)
_Rows = tuple[list[tuple[int, int, float]], list[bool] | None, Callable[[int], Reading]]

_UPSERT = ("INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
           "ON CONFLICT (series_id, ts_ms) DO UPDATE SET value = excluded.value")

DAY_MS = 86_400_000
_KEEP = 1  # the spool's conflict code of OnConflict.KEEP (energimon.store.spool)
_FLOAT, _INT = {float}, {int}
MIN_CHUNK = 8  # readings of a series-day below which it stays as rows (a chunk costs ~60 bytes besides its data)

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
CREATE TABLE IF NOT EXISTS chunks (
    series_id  INTEGER NOT NULL REFERENCES series(id),
    day_ms     INTEGER NOT NULL,              -- the UTC day (epoch ms of its midnight) the readings belong to
    first_ms   INTEGER NOT NULL,
    last_ms    INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    last_value REAL NOT NULL,
    data       BLOB NOT NULL,                 -- energimon.store.chunks.encode(times, values)
    PRIMARY KEY (series_id, day_ms)
);
"""


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, path: str | Path, *, readonly: bool = False, compact_after_days: float = 2.0):
        """``compact_after_days``: a series-day is compacted by :meth:`maintain` once it ended this long ago."""
        self.path = Path(path)
        self.compact_after_days = compact_after_days
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str, str], tuple[int, str]] = {}  # key -> (series id, role)
        self._checked: dict[tuple[str, str, str, str], tuple[int | None, float | None, str | None]] = {}
        self._next_day: dict[int, int] = {}  # series id -> first day maintenance has not yet looked at
        self._maintained_to = 0  # the cutoff of the last maintenance
        try:
            if readonly:
                if not self.path.exists():
                    raise StoreError(f"embedded store {self.path} does not exist (has the daemon run?)")
                # as_uri() percent-encodes: a '?', '#' or '%' in the path must not end up in the URI as is
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
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
            # a file of an earlier version opened read-only has no chunks table: nothing is compacted in it
            self._has_chunks = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chunks'").fetchone() is not None
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open embedded store {self.path}: {exc}") from exc

    # -- writes -------------------------------------------------------------------------
    def write(self, readings: Sequence[Reading]) -> list[Rejected]:
        # Refuse for good what can never be stored (NaN, unknown channel, bad id...):
        # one such reading must not turn the whole batch into a retry-forever error.
        rejected: list[Rejected] = []
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if isinstance(readings, ReadingRows):  # from the spool: no object per reading
                        rows, keeps, reading_at = self._rows_of_spool(readings, rejected)
                    else:
                        rows, keeps, reading_at = self._rows_of_readings(readings, rejected)
                    if rows and self._next_day and min(map(operator.itemgetter(1), rows)) < self._maintained_to:
                        self._next_day.clear()  # a day maintenance already passed got rows again: look again
                    if keeps:
                        collisions = self._write_keeping(rows, keeps, reading_at)
                    else:
                        if rows:
                            self._db.executemany(_UPSERT, rows)
                        collisions = []
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    self._ids.clear()  # ids created in the rolled-back transaction are gone
                    self._checked.clear()
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: {exc}") from exc
        if collisions:
            log.warning("embedded store kept %d stored value(s) and refused the device-stamped reading(s) that "
                        "collided with them (dead letters), e.g. %s", len(collisions), collisions[0].reason)
        return rejected + collisions

    def _rows_of_readings(self, readings: Sequence[Reading], rejected: list[Rejected]) -> _Rows:
        """(series id, ts, value) rows of the valid readings, which of them keep (device time), and a way back to
        the reading of a row."""
        good: list[Reading] = []
        for r in readings:
            try:
                validate_reading(r)
            except ValueError as exc:
                rejected.append(Rejected(r, str(exc)))
            else:
                good.append(r)
        rows = [(self._series_id(r.site, r.device, r.channel, r.role), r.ts_ms, float(r.value)) for r in good]
        keep = OnConflict.KEEP
        keeps = [r.on_conflict is keep for r in good]
        return rows, (keeps if any(keeps) else None), good.__getitem__

    def _rows_of_spool(self, batch: ReadingRows, rejected: list[Rejected]) -> _Rows:
        """As :meth:`_rows_of_readings`, from the spool's rows: the checks that depend on the series run once per
        stream (cached); per reading only the value and time are looked at, and a pack's (a series' columns,
        :data:`energimon.store.spool.PACK_MAX` readings at most) in bulk."""
        fast = self._rows_of_columns(batch)
        if fast is not None:
            return fast, None, batch.__getitem__  # every reading a row, in order: row j is reading j
        streams, checked, packs = batch.streams, self._checked, batch.packs
        local: dict[int, tuple[int | None, float | None, str | None]] = {}
        rows: list[tuple[int, int, float]] = []
        index: list[int] = []  # the position in batch (flat: a pack's readings counted) of each row
        keeps: list[bool] = []
        any_keep = False
        flat_at = 0
        for i, (rid, stream, ts, v, keep) in enumerate(batch.rows):  # keep: the spool's conflict code
            info = local.get(stream)
            if info is None:
                key = streams[stream]
                info = checked.get(key)
                if info is None:
                    info = checked[key] = self._check_series(key)
                local[stream] = info
            sid, minimum, why = info
            pack = packs.get(rid) if packs else None
            if pack is not None:
                tss, vals = pack
                n = len(tss)
                # a pack's values are floats (its float64 column); NaN or inf makes the sum NaN or inf
                if (sid is not None and keep != _KEEP and math.isfinite(sum(vals)) and min(tss) >= MIN_TIMESTAMP_MS
                        and (minimum is None or min(vals) >= minimum)):
                    rows += zip(repeat(sid), tss, vals)
                    index += range(flat_at, flat_at + n)
                    keeps += repeat(False, n)
                    flat_at += n
                    continue
                # something to refuse, or device times: each reading on its own, as below
                self._rows_one_by_one(batch, flat_at, n, sid, why, rows, index, keeps, rejected)
                any_keep = any_keep or keep == _KEEP
                flat_at += n
                continue
            if (sid is None or v.__class__ is not float or v - v != 0.0 or ts.__class__ is not int
                    or ts < MIN_TIMESTAMP_MS or (minimum is not None and v < minimum)):
                r = batch.reading(batch.rows[i])
                try:
                    validate_reading(r)
                    v = float(r.value)
                except (ValueError, TypeError) as exc:
                    rejected.append(Rejected(r, str(exc)))
                    flat_at += 1
                    continue
                if sid is None:  # validate_reading refuses what _check_series refused; never trust that blindly
                    rejected.append(Rejected(r, why or "invalid"))
                    flat_at += 1
                    continue
            rows.append((sid, ts, v))
            index.append(flat_at)
            keeps.append(keep == _KEEP)  # only the device's own time keeps what is stored; a revision replaces
            any_keep = any_keep or keep == _KEEP
            flat_at += 1
        return rows, (keeps if any_keep else None), lambda j: batch.reading(batch.flat_rows()[index[j]])

    def _rows_of_columns(self, batch: ReadingRows) -> list[tuple[int, int, float]] | None:
        """The rows of a batch in which every reading passes and none keeps a stored value (device time), checked
        column by column (:meth:`ReadingRows.columns`) with no Python step per reading; None when something in it
        needs a look reading by reading (:meth:`_rows_of_spool` names what is refused)."""
        streams, times, values, codes = batch.columns()
        if not times:
            return []
        if _KEEP in codes:
            return None
        sid_of: dict[int, int] = {}
        low_of: dict[int, float] = {}
        checked = self._checked
        for stream in set(streams):
            key = batch.streams[stream]
            info = checked.get(key)
            if info is None:
                info = checked[key] = self._check_series(key)
            sid, minimum, _ = info
            if sid is None:
                return None
            sid_of[stream] = sid
            low_of[stream] = -math.inf if minimum is None else minimum
        # exact types as validate_reading wants them (a bool is not a number here; the spool's REAL column gives
        # floats); a NaN or an infinity makes the sum NaN or infinite (so does an overflow: then the slow way)
        if (set(map(type, values)) != _FLOAT or set(map(type, times)) != _INT or not math.isfinite(sum(values))
                or min(times) < MIN_TIMESTAMP_MS):
            return None
        if min(values) < max(low_of.values()) and not all(map(operator.ge, values, map(low_of.__getitem__, streams))):
            return None  # below a series' physical minimum
        return list(zip(map(sid_of.__getitem__, streams), times, values, strict=True))

    @staticmethod
    def _rows_one_by_one(batch: ReadingRows, at: int, n: int, sid: int | None, why: str | None,
                         rows: list[tuple[int, int, float]], index: list[int], keeps: list[bool],
                         rejected: list[Rejected]) -> None:
        """The readings ``at .. at+n`` of the batch (a pack's) checked one by one: refusals named, the rest kept."""
        for j, row in enumerate(batch.flat_rows()[at:at + n], start=at):
            r = batch.reading(row)
            try:
                validate_reading(r)
            except (ValueError, TypeError) as exc:
                rejected.append(Rejected(r, str(exc)))
                continue
            if sid is None:
                rejected.append(Rejected(r, why or "invalid"))
                continue
            rows.append((sid, row[2], float(row[3])))
            index.append(j)
            keeps.append(row[4] == _KEEP)

    def _check_series(self, key: tuple[str, str, str, str]) -> tuple[int | None, float | None, str | None]:
        """(series id, physical minimum, None), or (None, None, why) for a series that can never be stored."""
        try:
            minimum = _series_minimum(*key)
        except (ValueError, TypeError) as exc:
            return None, None, str(exc)
        return self._series_id(*key), minimum, None

    def _write_keeping(self, rows: list[tuple[int, int, float]], keeps: list[bool],
                       reading_at: Callable[[int], Reading]) -> list[Rejected]:
        """The batch in order: runs of energimon-stamped readings upserted, each device-stamped one inserted only
        where its (series, ms) is free or already holds the same value (in the rows or in a day's chunk)."""
        collisions: list[Rejected] = []
        run: list[tuple[int, int, float]] = []
        decoded: dict[tuple[int, int], dict[int, float]] = {}
        for j, (row, keep) in enumerate(zip(rows, keeps, strict=True)):
            if not keep:
                run.append(row)
                continue
            if run:
                self._db.executemany(_UPSERT, run)
                run = []
            if self._db.execute("INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
                                "ON CONFLICT (series_id, ts_ms) DO NOTHING", row).rowcount == 0:
                (stored,) = self._db.execute("SELECT value FROM points WHERE series_id = ? AND ts_ms = ?",
                                             row[:2]).fetchone()
            else:
                stored = self._chunk_value(row[0], row[1], decoded)
                if stored is not None and stored != row[2]:
                    self._db.execute("DELETE FROM points WHERE series_id = ? AND ts_ms = ?", row[:2])
            if stored is not None and stored != row[2]:
                r = reading_at(j)
                collisions.append(Rejected(r, collision_reason(r, stored)))
        if run:
            self._db.executemany(_UPSERT, run)
        return collisions

    def _chunk_value(self, sid: int, ts: int, cache: dict[tuple[int, int], dict[int, float]]) -> float | None:
        """The value a compacted day holds for the series at ``ts``, or None."""
        from energimon.store import chunks

        day = ts - ts % DAY_MS
        values = cache.get((sid, day))
        if values is None:
            row = self._db.execute("SELECT data FROM chunks WHERE series_id = ? AND day_ms = ?", (sid, day)).fetchone()
            values = {}
            if row is not None:
                t, v = chunks.decode(row[0])
                values = dict(zip(t.tolist(), v.tolist(), strict=True))
            cache[(sid, day)] = values
        return values.get(ts)

    def _series_id(self, site: str, device: str, channel: str, role: str) -> int:
        key = (site, device, channel)
        cached = self._ids.get(key)
        if cached is not None:
            sid, stored_role = cached
        else:
            row = self._db.execute(
                "SELECT id, role FROM series WHERE site=? AND device=? AND channel=?", key
            ).fetchone()
            if row is None:
                new_id = self._db.execute(
                    "INSERT INTO series (site, device, channel, role) VALUES (?, ?, ?, ?)", (*key, role),
                ).lastrowid
                assert new_id is not None  # an INSERT into a rowid table always sets it
                sid, stored_role = new_id, role
            else:
                sid, stored_role = row
        if stored_role != role:  # the device was re-classified in the config
            self._db.execute("UPDATE series SET role=? WHERE id=?", (role, sid))
        self._ids[key] = (sid, role)
        return sid

    # -- maintenance ---------------------------------------------------------------------
    def maintain(self, now_ms: int | None = None, budget_s: float = 2.0) -> bool:
        """Compact series-days that ended more than ``compact_after_days`` ago (see the module's docstring).

        Works for about ``budget_s`` (one transaction per series-day), so the writer is not held up; returns
        True when there is more to do (the writer calls again soon), False when everything due is compacted.
        """
        now = int(time.time() * 1000) if now_ms is None else now_ms
        cutoff = (now - int(self.compact_after_days * DAY_MS)) // DAY_MS * DAY_MS  # days ending by then
        deadline = time.monotonic() + budget_s
        with self._lock:
            if cutoff < self._maintained_to:  # a clock set back: look again from the start
                self._next_day.clear()
            self._maintained_to = cutoff
            try:
                for (sid,) in self._db.execute("SELECT id FROM series ORDER BY id").fetchall():
                    day = self._next_day.get(sid, 0)
                    while day + DAY_MS <= cutoff:
                        row = self._db.execute("SELECT min(ts_ms) FROM points WHERE series_id = ? AND ts_ms >= ? "
                                               "AND ts_ms < ?", (sid, day, cutoff)).fetchone()
                        if row[0] is None:
                            day = cutoff
                            break
                        day = row[0] - row[0] % DAY_MS
                        self._compact_day(sid, day)
                        day += DAY_MS
                        self._next_day[sid] = day
                        if time.monotonic() > deadline:
                            return True
                    self._next_day[sid] = max(day, self._next_day.get(sid, 0))
            except sqlite3.Error as exc:
                raise StoreError(f"embedded store {self.path}: maintenance: {exc}") from exc
        return False

    def _compact_day(self, sid: int, day: int) -> None:
        """One series-day from rows into its chunk (merged with the chunk it may already have), in one transaction."""
        import numpy as np

        from energimon.store import chunks

        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = db.execute("SELECT ts_ms, value FROM points WHERE series_id = ? AND ts_ms >= ? AND ts_ms < ? "
                              "ORDER BY ts_ms", (sid, day, day + DAY_MS)).fetchall()
            old = db.execute("SELECT data FROM chunks WHERE series_id = ? AND day_ms = ?", (sid, day)).fetchone()
            if not rows or (old is None and len(rows) < MIN_CHUNK):
                db.execute("COMMIT")  # a sparse day (e.g. one utility reading a day) is smaller as rows
                return
            arr = np.fromiter(rows, dtype=[("t", "i8"), ("v", "f8")], count=len(rows))
            ts, v = arr["t"], arr["v"]
            if old is not None:
                ts, v = _merge(*chunks.decode(old[0]), ts, v)
            db.execute("INSERT OR REPLACE INTO chunks (series_id, day_ms, first_ms, last_ms, n, last_value, data) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (sid, day, int(ts[0]), int(ts[-1]), len(ts), float(v[-1]), chunks.encode(ts, v)))
            db.execute("DELETE FROM points WHERE series_id = ? AND ts_ms >= ? AND ts_ms < ?", (sid, day, day + DAY_MS))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reads --------------------------------------------------------------------------
    def _lookup(self, key: SeriesKey) -> int | None:
        row = self._db.execute(
            "SELECT id FROM series WHERE site=? AND device=? AND channel=?",
            (key.site, key.device, key.channel),
        ).fetchone()
        return None if row is None else row[0]

    def _chunk_blobs(self, sid: int, start_ms: int, end_ms: int) -> list[bytes]:
        if not self._has_chunks:
            return []
        first_day = start_ms - start_ms % DAY_MS
        return [b for (b,) in self._db.execute(
            "SELECT data FROM chunks WHERE series_id = ? AND day_ms >= ? AND day_ms < ? ORDER BY day_ms",
            (sid, first_day, end_ms))]

    def series(self) -> pd.DataFrame:
        import pandas as pd

        with self._lock:
            rows = self._db.execute(
                "SELECT site, device, channel, role FROM series ORDER BY site, device, channel"
            ).fetchall()
        return pd.DataFrame(rows, columns=["site", "device", "channel", "role"])

    def latest(self) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        with self._lock, self._snapshot():
            last: dict[int, tuple[int, float]] = {}
            for sid, ts, v in self._db.execute(
                    """SELECT p.series_id, p.ts_ms, p.value FROM points p
                       WHERE p.ts_ms = (SELECT max(ts_ms) FROM points WHERE series_id = p.series_id)"""):
                last[sid] = (ts, v)
            if self._has_chunks:
                for sid, ts, v in self._db.execute(
                        """SELECT c.series_id, c.last_ms, c.last_value FROM chunks c
                           WHERE c.day_ms = (SELECT max(day_ms) FROM chunks WHERE series_id = c.series_id)"""):
                    if sid not in last or ts > last[sid][0]:
                        last[sid] = (ts, v)
            series = self._db.execute(
                "SELECT id, site, device, channel, role FROM series ORDER BY site, device, channel").fetchall()
        rows = [(site, device, channel, role, *last[sid]) for sid, site, device, channel, role in series
                if sid in last]
        df = pd.DataFrame(rows, columns=["site", "device", "channel", "role", "ts_ms", "value"])
        df.insert(4, "time", pd.to_datetime(df.pop("ts_ms").astype(np.int64), unit="ms", utc=True))
        df["value"] = df["value"].astype(np.float64)
        return df

    def read_raw_ms(self, key: SeriesKey, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        from energimon.store import chunks

        empty = np.empty(0, np.int64), np.empty(0, np.float64)
        with self._lock, self._snapshot():
            sid = self._lookup(key)
            if sid is None:
                return empty
            blobs = self._chunk_blobs(sid, start_ms, end_ms)
            rows = self._db.execute(
                "SELECT ts_ms, value FROM points WHERE series_id=? AND ts_ms>=? AND ts_ms<? ORDER BY ts_ms",
                (sid, start_ms, end_ms),
            ).fetchall()
        if rows:
            arr = np.fromiter(rows, dtype=[("t", "i8"), ("v", "f8")], count=len(rows))
            ts, v = np.ascontiguousarray(arr["t"]), np.ascontiguousarray(arr["v"])
        else:
            ts, v = empty
        if blobs:
            parts = [chunks.decode(b) for b in blobs]
            cts = np.concatenate([p[0] for p in parts])
            cv = np.concatenate([p[1] for p in parts])
            inside = (cts >= start_ms) & (cts < end_ms)
            ts, v = _merge(cts[inside], cv[inside], ts, v)
        return ts, v

    def partials_ms(self, key: SeriesKey, start_ms: int, end_ms: int, bucket_s: int) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        bucket_ms = bucket_s * 1000
        with self._lock, self._snapshot():
            sid = self._lookup(key)
            rows = []
            compacted = sid is not None and self._has_chunks and self._db.execute(
                "SELECT 1 FROM chunks WHERE series_id = ? AND day_ms >= ? AND day_ms < ? LIMIT 1",
                (sid, start_ms - start_ms % DAY_MS, end_ms)).fetchone() is not None
            if sid is not None and not compacted:
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
        if compacted:  # decoding the chunks and bucketing with numpy beats pulling the rows through SQL
            ts, v = self.read_raw_ms(key, start_ms, end_ms)
            return partials_from_raw(ts, v, bucket_s)
        df = pd.DataFrame(rows, columns=["bucket", "count", "sum", "min", "max", "last"])
        df.index = pd.to_datetime(df.pop("bucket").astype(np.int64) * bucket_ms, unit="ms", utc=True)
        return df

    def _snapshot(self) -> _ReadTransaction:
        """One read transaction: a read of the chunks and then the rows sees one state of the file, also while
        the writer's maintenance moves a day from one to the other."""
        return _ReadTransaction(self._db)

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


class _ReadTransaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, *exc: object) -> None:
        if self.db.in_transaction:
            self.db.execute("COMMIT")


def _merge(ts_a: np.ndarray, v_a: np.ndarray, ts_b: np.ndarray, v_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sorted series as one, sorted; where a time is in both, ``b`` (the newer write) wins."""
    import numpy as np

    if len(ts_b) == 0:
        return ts_a, v_a
    if len(ts_a) == 0:
        return ts_b, v_b
    ts = np.concatenate((ts_a, ts_b))
    v = np.concatenate((v_a, v_b))
    order = np.argsort(ts, kind="stable")  # a before b at equal times
    ts, v = ts[order], v[order]
    last = np.concatenate((ts[1:] != ts[:-1], [True]))  # keep the last of equal times: b's
    return ts[last], v[last]
