"""The sources' own state file (SQLite, WAL): what each source said, per series, and how far it has been fetched.

Only this module writes SQL on it; everyone else reads through :class:`SourceState` (the runner)
or :func:`read_status` (``energimon status``, ``energimon sources status``, a data-quality rule).

* ``series``: one row per configured series (``source:ident``) with its **watermark**
  ``fetched_until_ms`` (the source has answered for everything before it), the end of its latest
  value (``last_end_ms``: the lag is now minus this), counts, and the last failure.
* ``points``: every value the source delivered, with its quality code (DataHub: measured, estimated …)
  — the source's ledger.  It is what makes revisions visible (a value that differs from the one
  fetched before) and what an energy counter is rebuilt from when an old hour changes.
* ``revisions``: each change of an already fetched value (old, new, qualities, when noticed).

Values are kept exactly as parsed (Wh for interval series: DataHub's kWh with at most three decimals
are whole Wh, so sums are exact in floating point).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path

from energimon.collector.sources.base import Point, PointColumns, SeriesSpec
from energimon.model import now_ms

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
CREATE TABLE IF NOT EXISTS points (
    series_id INTEGER NOT NULL,
    start_ms  INTEGER NOT NULL,
    end_ms    INTEGER NOT NULL,
    value     REAL NOT NULL,
    quality   TEXT,
    counter   REAL,              -- interval series: the energy counter written at end_ms (see runner)
    PRIMARY KEY (series_id, start_ms)
) WITHOUT ROWID;
-- values not measured (estimated, adjusted, incomplete) per series, for the status without a full scan
CREATE INDEX IF NOT EXISTS points_not_measured ON points (series_id) WHERE quality IS NOT NULL AND quality != 'A04';
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

    # -- points --------------------------------------------------------------------------
    def merge(self, series_id: int, points: Sequence[Point],
              counters_for: Callable[[Merge], Sequence[tuple[int, float]]] | None = None) -> Merge:
        """Store ``points`` (call inside :meth:`transaction`), comparing each with the value fetched before.

        ``counters_for(merge)`` (interval series) is called before anything is written, with the comparison
        done; it returns ``(start_ms, counter)`` for every interval whose counter changes, stored with the
        values in the same statement (the changed ones) or updated (later unchanged ones)."""
        result = Merge()
        if not points:
            return result
        starts = points.starts if isinstance(points, PointColumns) else [p.start_ms for p in points]
        lo, hi = min(starts), max(starts)
        old = {r[0]: (r[1], r[2]) for r in self._db.execute(
            "SELECT start_ms, value, quality FROM points WHERE series_id=? AND start_ms BETWEEN ? AND ?",
            (series_id, lo, hi))}
        row = self._db.execute("SELECT first_ms FROM series WHERE id=?", (series_id,)).fetchone()
        result.old_first_ms = row[0] if row else None
        revisions: list[tuple[int, int, float, float, str | None, str | None, int]] = []
        write: Sequence[Point]
        if not old:  # every value is new (a backfill, the next hours): no comparison per value
            write = points if isinstance(points, PointColumns) else list(points)
            result.new = len(write)
            result.changed = write
            result.first_changed_ms = lo
        else:
            changed_or_requalified: list[Point] = []
            changed: list[Point] = []
            write, result.changed = changed_or_requalified, changed
            noticed = now_ms()
            for p in points:
                before = old.get(p.start_ms)
                if before is None:
                    result.new += 1
                elif before[0] != p.value:
                    result.revised.append(Revision(p.start_ms, before[0], p.value, before[1], p.quality))
                    revisions.append((series_id, p.start_ms, before[0], p.value, before[1], p.quality, noticed))
                elif before[1] != p.quality:
                    result.requalified += 1
                    changed_or_requalified.append(p)
                    continue
                else:
                    result.unchanged += 1
                    continue
                changed_or_requalified.append(p)
                changed.append(p)
                if result.first_changed_ms is None or p.start_ms < result.first_changed_ms:
                    result.first_changed_ms = p.start_ms
        made = counters_for(result) if counters_for is not None and result.changed else []
        rows: Iterable[tuple[int, int, int, float, str | None, float | None]]
        if (isinstance(write, PointColumns) and len(made) == len(write)
                and all(map(int.__eq__, write.starts, map(itemgetter(0), made)))):
            # a page of new values and their counters, one for one (a backfill): the columns as rows
            counters: dict[int, float] = {}
            rows = zip(repeat(series_id), write.starts, write.ends, write.values, write.qualities,
                       map(itemgetter(1), made))
        else:
            counters = dict(made)
            pop = counters.pop
            rows = [(series_id, p.start_ms, p.end_ms, p.value, p.quality, pop(p.start_ms, None)) for p in write]
        if write:
            self._db.executemany("INSERT INTO points (series_id, start_ms, end_ms, value, quality, counter) "
                                 "VALUES (?,?,?,?,?,?) ON CONFLICT (series_id, start_ms) DO UPDATE SET "
                                 "end_ms=excluded.end_ms, value=excluded.value, quality=excluded.quality, "
                                 "counter=coalesce(excluded.counter, points.counter)", rows)
        if counters:  # intervals after the change that themselves did not change: their counter moved
            self._db.executemany("UPDATE points SET counter=? WHERE series_id=? AND start_ms=?",
                                 [(c, series_id, start) for start, c in counters.items()])
        if revisions:
            self._db.executemany("INSERT INTO revisions (series_id, start_ms, old_value, new_value, old_quality, "
                                 "new_quality, noticed_ms) VALUES (?,?,?,?,?,?,?)", revisions)
        if result.new or revisions:
            last_end = max(points.ends) if isinstance(points, PointColumns) else max(p.end_ms for p in points)
            self._db.execute(
                "UPDATE series SET points = points + ?, revisions = revisions + ?, "
                "first_ms = CASE WHEN first_ms IS NULL OR ? < first_ms THEN ? ELSE first_ms END, "
                "last_end_ms = CASE WHEN last_end_ms IS NULL OR ? > last_end_ms THEN ? ELSE last_end_ms END "
                "WHERE id = ?", (result.new, len(revisions), lo, lo, last_end, last_end, series_id))
        return result

    def counter_before(self, series_id: int, start_ms: int) -> tuple[int, float] | None:
        """``(end_ms, counter)`` of the latest interval before ``start_ms`` (None: it is the series' first)."""
        row = self._db.execute("SELECT end_ms, counter FROM points WHERE series_id=? AND start_ms < ? "
                               "ORDER BY start_ms DESC LIMIT 1", (series_id, start_ms)).fetchone()
        return None if row is None else (row[0], float(row[1] if row[1] is not None else 0.0))

    def count_from(self, series_id: int, start_ms: int) -> int:
        return self._db.execute("SELECT count(*) FROM points WHERE series_id=? AND start_ms >= ?",
                                (series_id, start_ms)).fetchone()[0]

    def points_from(self, series_id: int, start_ms: int) -> list[Point]:
        rows = self._db.execute("SELECT start_ms, end_ms, value, quality FROM points WHERE series_id=? AND "
                                "start_ms >= ? ORDER BY start_ms", (series_id, start_ms)).fetchall()
        return [Point(*r) for r in rows]

    def values(self, spec: SeriesSpec, start_ms: int = 0, end_ms: int = 2**62) -> list[Point]:
        """The fetched values of a series in ``[start_ms, end_ms)`` (for the CLI and tests)."""
        with self._lock:
            sid = self.series_id(spec)
            rows = self._db.execute("SELECT start_ms, end_ms, value, quality FROM points WHERE series_id=? AND "
                                    "start_ms >= ? AND start_ms < ? ORDER BY start_ms",
                                    (sid, start_ms, end_ms)).fetchall()
        return [Point(*r) for r in rows]

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
    estimated = dict(db.execute("SELECT series_id, count(*) FROM points WHERE quality IS NOT NULL AND quality != 'A04' "
                                "GROUP BY series_id").fetchall())
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
