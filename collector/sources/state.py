"""The sources' own state file (SQLite, WAL): what each source said, per series, and how far it has been fetched.

Only this module writes SQL on it; everyone else reads through :class:`SourceState` (the runner)
or :func:`read_status` (``energimon status``, ``energimon sources status``, a data-quality rule).

* ``series``: one row per configured series (``source:ident``) with its **watermark**
  ``fetched_until_ms`` (the source has answered for everything before it), the end of its latest
  value (``last_end_ms``: the lag is now minus this), counts, and the last failure.
* ``point_packs``: every value the source delivered, with its quality code (DataHub: measured, estimated …)
  and the counter written for it — the source's ledger, packed: one row holds up to :data:`PACK_MAX`
  consecutive values of a series as columns (int64 starts and ends, float64 values and counters, the
  quality codes run-length encoded).  It is what makes revisions visible (a value that differs from the one
  fetched before) and what an energy counter is rebuilt from when an old hour changes.  A row per value
  (the earlier ``points`` table, migrated when such a file is opened) cost a backfill more than the
  store's own write of the same readings (``bench/sources_backfill.py``).
* ``revisions``: each change of an already fetched value (old, new, qualities, when noticed).

Values are kept exactly as parsed (Wh for interval series: DataHub's kWh with at most three decimals
are whole Wh, so sums are exact in floating point).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import operator
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from energimon.collector.sources.base import Point, PointColumns, SeriesSpec
from energimon.model import now_ms

log = logging.getLogger("energimon.sources")

PACK_MAX = 10_000
"""Values per packed row at most (a 60-day request window of quarter hours, 5,760, fits in one)."""

_I8, _F8 = np.dtype("<i8"), np.dtype("<f8")  # a pack's columns, the same bytes on any machine

CounterColumns = tuple[Sequence[int], Sequence[float]]
"""``(starts, counters)``: an interval series' counter at the end of each of these intervals."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,    -- source:ident
    source           TEXT NOT NULL,
    site             TEXT NOT NULL,
    device           TEXT NOT NULL,
    channel          TEXT NOT NULL,
    role             TEXT NOT NULL,
    kind             TEXT NOT NULL,           -- interval | gauge
    fetched_until_ms INTEGER,                 -- watermark: the source answered for everything before this
    first_ms         INTEGER,                 -- start of the earliest value
    last_end_ms      INTEGER,                 -- end of the latest value (lag = now - this)
    points           INTEGER NOT NULL DEFAULT 0,
    revisions        INTEGER NOT NULL DEFAULT 0,
    last_success_ms  INTEGER,
    last_error       TEXT,
    last_error_ms    INTEGER,
    info             TEXT                     -- e.g. the DMI station chosen for a site and its distance
);
CREATE TABLE IF NOT EXISTS point_packs (
    series_id    INTEGER NOT NULL,
    first_ms     INTEGER NOT NULL,   -- start of the pack's first value
    last_ms      INTEGER NOT NULL,   -- start of its last value (the packs of a series never overlap)
    n            INTEGER NOT NULL,
    not_measured INTEGER NOT NULL,   -- values with a quality code other than measured (DataHub A04)
    starts       BLOB NOT NULL,      -- little-endian int64, strictly increasing
    ends         BLOB NOT NULL,      -- little-endian int64
    vals         BLOB NOT NULL,      -- little-endian float64
    counters     BLOB NOT NULL,      -- little-endian float64: interval series' counter at the end; NaN: none
    qualities    TEXT NOT NULL       -- JSON run lengths: [[code or null, count], ...]
);
CREATE UNIQUE INDEX IF NOT EXISTS point_packs_key ON point_packs (series_id, first_ms);
CREATE TABLE IF NOT EXISTS revisions (
    id          INTEGER PRIMARY KEY,
    series_id   INTEGER NOT NULL,
    start_ms    INTEGER NOT NULL,
    old_value   REAL NOT NULL,
    new_value   REAL NOT NULL,
    old_quality TEXT,
    new_quality TEXT,
    noticed_ms  INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class Revision:
    start_ms: int
    old_value: float
    new_value: float
    old_quality: str | None
    new_quality: str | None


@dataclass
class Merge:
    """How a chunk of points compared with what was fetched before."""

    new: int = 0
    revised: list[Revision] = field(default_factory=list)
    changed: Sequence[Point] = field(default_factory=list)  # the new and revised points (a list, or PointColumns)
    requalified: int = 0  # same value, another quality code (e.g. estimated -> measured)
    unchanged: int = 0
    first_changed_ms: int | None = None  # start of the earliest new or revised value
    old_first_ms: int | None = None  # the series' earliest value before this merge


@dataclass(frozen=True)
class SeriesStatus:
    name: str
    source: str
    site: str
    device: str
    channel: str
    kind: str
    fetched_until_ms: int | None
    first_ms: int | None
    last_end_ms: int | None
    points: int
    revisions: int
    last_success_ms: int | None
    last_error: str | None
    last_error_ms: int | None
    info: str | None
    estimated: int = 0  # values whose quality is not "measured" (DataHub A04) where the source has codes

    @property
    def key_text(self) -> str:
        return f"{self.site}/{self.device}/{self.channel} ({self.name})"

    def lag_s(self, now: int) -> float | None:
        """Seconds between ``now`` (ms) and the end of the latest value; None before the first value."""
        return None if self.last_end_ms is None else max(0.0, (now - self.last_end_ms) / 1000.0)


_STATUS_COLS = ("name", "source", "site", "device", "channel", "kind", "fetched_until_ms", "first_ms",
                "last_end_ms", "points", "revisions", "last_success_ms", "last_error", "last_error_ms", "info")


class SourceState:
    """The runner's connection to the state file (thread-safe; one transaction at a time)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # the spool holds the readings; this is re-fetchable
        # A backfill appends millions of values at as many places in the (series, start) key as there are series:
        # SQLite's 2 MB default cache and 1000-page autocheckpoint spilled and checkpointed every few chunks (the
        # store's own settings, store/sqlite.py; bench/sources_backfill.py).
        self._db.execute("PRAGMA cache_size=-65536")
        self._db.execute("PRAGMA wal_autocheckpoint=10000")
        self._db.executescript(SCHEMA)
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (the runner commits after the spool took the
        readings: a crash in between re-fetches the same values, which the idempotent store absorbs)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- series --------------------------------------------------------------------------
    def series_id(self, spec: SeriesSpec) -> int:
        """The series' row, created (or re-pointed after a config change of site/device) as needed."""
        with self._lock:
            row = self._db.execute("SELECT id, site, device, channel, role, kind FROM series WHERE name=?",
                                   (spec.name,)).fetchone()
            target = (spec.site, spec.device, spec.channel, spec.role, spec.kind)
            if row is None:
                new_id = self._db.execute(
                    "INSERT INTO series (name, source, site, device, channel, role, kind) VALUES (?,?,?,?,?,?,?)",
                    (spec.name, spec.source, *target)).lastrowid
                if new_id is None:  # sqlite3 gives None only when no row was inserted
                    raise sqlite3.DatabaseError(f"state file {self.path}: series {spec.name} was not added")
                return new_id
            if tuple(row[1:]) != target:
                self._db.execute("UPDATE series SET site=?, device=?, channel=?, role=?, kind=? WHERE id=?",
                                 (*target, row[0]))
            return row[0]

    def watermark(self, spec: SeriesSpec) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT fetched_until_ms FROM series WHERE name=?", (spec.name,)).fetchone()
        return None if row is None else row[0]

    def first_ms(self, spec: SeriesSpec) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT first_ms FROM series WHERE name=?", (spec.name,)).fetchone()
        return None if row is None else row[0]

    def advance(self, series_id: int, fetched_until_ms: int) -> None:
        """The source answered for everything before ``fetched_until_ms`` (never moves backwards)."""
        self._db.execute("UPDATE series SET fetched_until_ms = max(coalesce(fetched_until_ms, 0), ?), "
                         "last_success_ms = ?, last_error = NULL WHERE id = ?",
                         (fetched_until_ms, now_ms(), series_id))

    def record_error(self, spec: SeriesSpec, text: str) -> None:
        with self._lock:
            sid = self.series_id(spec)
            self._db.execute("UPDATE series SET last_error=?, last_error_ms=? WHERE id=?", (text[:300], now_ms(), sid))

    def set_info(self, spec: SeriesSpec, info: str) -> None:
        with self._lock:
            sid = self.series_id(spec)
            self._db.execute("UPDATE series SET info=? WHERE id=?", (info, sid))

    def info(self, spec: SeriesSpec) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT info FROM series WHERE name=?", (spec.name,)).fetchone()
        return None if row is None else row[0]

    # -- points ----------------------------------------------------------------------------
    def merge(self, series_id: int, points: Sequence[Point],
              counters_for: Callable[[Merge], CounterColumns] | None = None) -> Merge:
        """Store ``points`` (call inside :meth:`transaction`), comparing each with the value fetched before.

        ``counters_for(merge)`` (interval series) is called before anything is written, with the comparison
        done; it returns ``(starts, counters)``: the counter at the end of every interval whose counter changes
        (new, revised, or later ones that moved), stored with the values.

        The comparison runs on columns: the packs that overlap the chunk are decoded, each new value is found
        by its start (``searchsorted``) and compared by value and quality code; then those packs and the
        chunk are written back as packs of at most :data:`PACK_MAX` values."""
        result = Merge()
        if not points:
            return result
        new = _Columns.of_points(points)
        lo, hi = int(new.starts[0]), int(new.starts[-1])
        loaded = self._packs(series_id, lo, hi)
        old = _Columns.join([c for _, c in loaded])
        row = self._db.execute("SELECT first_ms FROM series WHERE id=?", (series_id,)).fetchone()
        result.old_first_ms = row[0] if row else None
        revisions: list[tuple[int, int, float, float, str | None, str | None, int]] = []
        if not len(old):
            # every value is new (a backfill, the next hours): no comparison per value
            write = np.ones(len(new), dtype=bool)
            found = np.zeros(len(new), dtype=bool)
            at = np.zeros(len(new), dtype=np.intp)
            result.new = len(new)
            in_order = isinstance(points, PointColumns) and points.in_order()
            result.changed = points if in_order else new.points()
            result.first_changed_ms = lo
        else:
            at = np.minimum(np.searchsorted(old.starts, new.starts), len(old) - 1)
            found = old.starts[at] == new.starts
            same_value = found & (old.values[at] == new.values)
            old_q = [old.qualities[i] for i in at.tolist()]
            same_quality = np.fromiter(map(operator.eq, old_q, new.qualities), dtype=bool, count=len(new))
            revised = found & ~same_value
            changed = ~found | revised
            write = changed | (same_value & ~same_quality)  # a new quality code alone is stored, not a change
            result.new = int((~found).sum())
            result.requalified = int((same_value & ~same_quality).sum())
            result.unchanged = int((same_value & same_quality).sum())
            noticed = now_ms()
            for i in np.flatnonzero(revised).tolist():
                j = int(at[i])
                rev = Revision(int(new.starts[i]), float(old.values[j]), float(new.values[i]), old.qualities[j],
                               new.qualities[i])
                result.revised.append(rev)
                revisions.append((series_id, rev.start_ms, rev.old_value, rev.new_value, rev.old_quality,
                                  rev.new_quality, noticed))
            result.changed = new.take(np.flatnonzero(changed)).points()
            if result.changed:
                result.first_changed_ms = result.changed[0].start_ms
        made = counters_for(result) if counters_for is not None and result.changed else ([], [])
        if not write.any() and not len(made[0]):
            return result
        made_starts = np.asarray(made[0], dtype=np.int64)
        made_counters = np.asarray(made[1], dtype=np.float64)
        if len(made_starts) and (made_starts[0] < lo or made_starts[-1] > hi):
            # later intervals whose counter moved lie outside the chunk: their packs are rewritten too
            seen = {first for first, _ in loaded}
            more = [(f, c) for f, c in self._packs(series_id, min(lo, int(made_starts[0])),
                                                    max(hi, int(made_starts[-1]))) if f not in seen]
            if more:
                loaded += more
                loaded.sort(key=lambda fc: fc[0])
                old = _Columns.join([c for _, c in loaded])
                at = np.minimum(np.searchsorted(old.starts, new.starts), len(old) - 1)
                found = old.starts[at] == new.starts
        # the chunk's written values keep the counter they had unless counters_for gave a new one (the old
        # table's coalesce(excluded.counter, points.counter))
        written = new if write.all() else new.take(np.flatnonzero(write))
        if len(old):
            written.counters = np.where(found[write], old.counters[at[write]], np.nan)
            keep = ~np.isin(old.starts, written.starts, assume_unique=True)
            union = _Columns.join([old.take(np.flatnonzero(keep)), written]).sorted()
        else:
            union = written
        if len(made_starts):
            pos = np.minimum(np.searchsorted(union.starts, made_starts), len(union) - 1)
            hit = union.starts[pos] == made_starts
            union.counters[pos[hit]] = made_counters[hit]
        if loaded:
            self._db.executemany("DELETE FROM point_packs WHERE series_id=? AND first_ms=?",
                                 [(series_id, first) for first, _ in loaded])
        self._db.executemany(
            "INSERT INTO point_packs (series_id, first_ms, last_ms, n, not_measured, starts, ends, vals, counters, "
            "qualities) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(series_id, *pack.encode()) for pack in union.split(PACK_MAX)])
        if revisions:
            self._db.executemany("INSERT INTO revisions (series_id, start_ms, old_value, new_value, old_quality, "
                                 "new_quality, noticed_ms) VALUES (?,?,?,?,?,?,?)", revisions)
        if result.new or revisions:
            last_end = int(new.ends.max())
            self._db.execute(
                "UPDATE series SET points = points + ?, revisions = revisions + ?, "
                "first_ms = CASE WHEN first_ms IS NULL OR ? < first_ms THEN ? ELSE first_ms END, "
                "last_end_ms = CASE WHEN last_end_ms IS NULL OR ? > last_end_ms THEN ? ELSE last_end_ms END "
                "WHERE id = ?", (result.new, len(revisions), lo, lo, last_end, last_end, series_id))
        return result

    def _packs(self, series_id: int, lo: int, hi: int) -> list[tuple[int, _Columns]]:
        """The packs holding any start in ``[lo, hi]`` (packs of a series never overlap), in time order."""
        return [(r[0], _Columns.decode(*r[1:])) for r in self._db.execute(
            "SELECT first_ms, starts, ends, vals, counters, qualities FROM point_packs "
            "WHERE series_id=? AND first_ms <= ? AND last_ms >= ? ORDER BY first_ms", (series_id, hi, lo))]

    def counter_before(self, series_id: int, start_ms: int) -> tuple[int, float] | None:
        """``(end_ms, counter)`` of the latest interval before ``start_ms`` (None: it is the series' first)."""
        row = self._db.execute("SELECT starts, ends, counters FROM point_packs WHERE series_id=? "
                               "AND first_ms < ? ORDER BY first_ms DESC LIMIT 1", (series_id, start_ms)).fetchone()
        if row is None:
            return None
        starts, ends, counters = (np.frombuffer(b, t) for b, t in zip(row, (_I8, _I8, _F8), strict=True))
        i = int(np.searchsorted(starts, start_ms)) - 1  # >= 0: the pack's first start is before start_ms
        counter = float(counters[i])
        return int(ends[i]), 0.0 if math.isnan(counter) else counter

    def count_from(self, series_id: int, start_ms: int) -> int:
        return len(self._range(series_id, start_ms, 2**62))

    def points_from(self, series_id: int, start_ms: int) -> list[Point]:
        return self._range(series_id, start_ms, 2**62).points()

    def _range(self, series_id: int, start_ms: int, end_ms: int) -> _Columns:
        """The values whose start is in ``[start_ms, end_ms)``, in time order."""
        cols = _Columns.join([c for _, c in self._packs(series_id, start_ms, end_ms - 1)])
        return cols.take(np.flatnonzero((cols.starts >= start_ms) & (cols.starts < end_ms)))

    def _migrate(self) -> None:
        """A state file of the earlier layout (a row per value in ``points``) gets its values as packs, once."""
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "points" not in tables:
            return
        with self.transaction():
            ids = [r[0] for r in self._db.execute("SELECT DISTINCT series_id FROM points")]
            for sid in ids:
                rows = self._db.execute("SELECT start_ms, end_ms, value, quality, counter FROM points "
                                        "WHERE series_id=? ORDER BY start_ms", (sid,)).fetchall()
                starts, ends, values, qualities, counters = (list(c) for c in zip(*rows, strict=True))
                cols = _Columns(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64),
                                np.array(values, dtype=np.float64), qualities,
                                np.array([np.nan if c is None else c for c in counters], dtype=np.float64))
                self._db.executemany(
                    "INSERT INTO point_packs (series_id, first_ms, last_ms, n, not_measured, starts, ends, vals, "
                    "counters, qualities) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(sid, *pack.encode()) for pack in cols.split(PACK_MAX)])
            self._db.execute("DROP INDEX IF EXISTS points_not_measured")
            self._db.execute("DROP TABLE points")
        log.info("state file %s: %d series' values moved to packed rows (point_packs)", self.path, len(ids))

    def values(self, spec: SeriesSpec, start_ms: int = 0, end_ms: int = 2**62) -> list[Point]:
        """The fetched values of a series in ``[start_ms, end_ms)`` (for the CLI and tests)."""
        with self._lock:
            sid = self.series_id(spec)
            return self._range(sid, start_ms, end_ms).points()

    def revisions(self, spec: SeriesSpec) -> list[Revision]:
        with self._lock:
            sid = self.series_id(spec)
            rows = self._db.execute("SELECT start_ms, old_value, new_value, old_quality, new_quality FROM revisions "
                                    "WHERE series_id=? ORDER BY id", (sid,)).fetchall()
        return [Revision(*r) for r in rows]

    def status(self) -> list[SeriesStatus]:
        with self._lock:
            return _status_rows(self._db)


def _status_rows(db: sqlite3.Connection, names: Iterable[str] | None = None) -> list[SeriesStatus]:
    rows = db.execute(f"SELECT {', '.join(_STATUS_COLS)}, id FROM series ORDER BY source, name").fetchall()
    try:
        estimated = dict(db.execute("SELECT series_id, sum(not_measured) FROM point_packs "
                                    "GROUP BY series_id").fetchall())
    except sqlite3.OperationalError:  # a file of the earlier layout, read-only here (the runner migrates it)
        estimated = dict(db.execute("SELECT series_id, count(*) FROM points WHERE quality IS NOT NULL AND "
                                    "quality != 'A04' GROUP BY series_id").fetchall())
    wanted = set(names) if names is not None else None
    return [SeriesStatus(**dict(zip(_STATUS_COLS, r[:-1], strict=True)), estimated=estimated.get(r[-1], 0))
            for r in rows if wanted is None or r[0] in wanted]


def read_status(path: str | Path) -> list[SeriesStatus]:
    """Every series' status, read-only (another process may be fetching).  Raises :class:`sqlite3.Error`."""
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)
    try:
        return _status_rows(db)
    finally:
        db.close()



class _Columns:
    """Values of one series as columns, in time order: what a pack holds, and what merging works on."""

    __slots__ = ("counters", "ends", "qualities", "starts", "values")

    def __init__(self, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], values: npt.NDArray[np.float64],
                 qualities: list[str | None], counters: npt.NDArray[np.float64] | None = None):
        self.starts, self.ends, self.values, self.qualities = starts, ends, values, qualities
        self.counters = np.full(len(starts), np.nan) if counters is None else counters

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def of_points(cls, points: Sequence[Point]) -> _Columns:
        """The points in time order, one per start (the last one given, as the row-per-value table kept)."""
        if isinstance(points, PointColumns):
            cols = cls(np.array(points.starts, dtype=np.int64), np.array(points.ends, dtype=np.int64),
                       np.array(points.values, dtype=np.float64), points.qualities)  # never changed in place
            if points.in_order():
                return cols
        else:
            cols = cls(np.array([p.start_ms for p in points], dtype=np.int64),
                       np.array([p.end_ms for p in points], dtype=np.int64),
                       np.array([p.value for p in points], dtype=np.float64), [p.quality for p in points])
        if len(cols) > 1 and not bool((np.diff(cols.starts) > 0).all()):
            order = np.argsort(cols.starts, kind="stable")
            s = cols.starts[order]
            last = np.ones(len(s), dtype=bool)
            last[:-1] = s[1:] != s[:-1]  # the last of equal starts
            cols = cols.take(order[last])
        return cols

    @classmethod
    def join(cls, parts: Sequence[_Columns]) -> _Columns:
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64), [])
        return cls(np.concatenate([p.starts for p in parts]), np.concatenate([p.ends for p in parts]),
                   np.concatenate([p.values for p in parts]), [q for p in parts for q in p.qualities],
                   np.concatenate([p.counters for p in parts]))

    def take(self, idx: npt.NDArray[np.intp]) -> _Columns:
        return _Columns(self.starts[idx], self.ends[idx], self.values[idx], [self.qualities[i] for i in idx.tolist()],
                        self.counters[idx])

    def sorted(self) -> _Columns:
        return self.take(np.argsort(self.starts, kind="stable"))

    def points(self) -> list[Point]:
        return list(map(Point, self.starts.tolist(), self.ends.tolist(), self.values.tolist(), self.qualities))

    def split(self, size: int) -> Iterator[_Columns]:
        for i in range(0, len(self), size):
            yield _Columns(self.starts[i:i + size], self.ends[i:i + size], self.values[i:i + size],
                           self.qualities[i:i + size], self.counters[i:i + size])

    def encode(self) -> tuple[int, int, int, int, bytes, bytes, bytes, bytes, str]:
        """``(first_ms, last_ms, n, not_measured, starts, ends, vals, counters, qualities)`` of a pack's row."""
        q = self.qualities
        # run boundaries found by C loops (a groupby and a count per value cost a backfill 0.5 µs a value)
        cuts = [0, *itertools.compress(range(1, len(q)), map(operator.ne, q[1:], q[:-1])), len(q)]
        runs = [(q[a], b - a) for a, b in itertools.pairwise(cuts)]
        not_measured = sum(k for q, k in runs if q is not None and q != "A04")
        return (int(self.starts[0]), int(self.starts[-1]), len(self), not_measured,
                self.starts.astype(_I8).tobytes(), self.ends.astype(_I8).tobytes(),
                self.values.astype(_F8).tobytes(), self.counters.astype(_F8).tobytes(), json.dumps(runs))

    @classmethod
    def decode(cls, starts: bytes, ends: bytes, vals: bytes, counters: bytes, qualities: str) -> _Columns:
        runs: list[tuple[str | None, int]] = json.loads(qualities)
        return cls(np.frombuffer(starts, _I8).astype(np.int64), np.frombuffer(ends, _I8).astype(np.int64),
                   np.frombuffer(vals, _F8).astype(np.float64),
                   list(itertools.chain.from_iterable(itertools.repeat(q, k) for q, k in runs)),
                   np.frombuffer(counters, _F8).astype(np.float64))
