"""The durable spool: a local SQLite (WAL) queue between the collectors and the store.

Contract:

* :meth:`Spool.put` returns only after the readings are committed to disk
  (``synchronous=FULL`` by default: survives a power cut, not just a crash).
  Only then may a source acknowledge them (MQTT ack, next Modbus poll).
* :meth:`Spool.take` hands out the oldest readings; :meth:`Spool.ack` deletes
  exactly those, and is called only after the store confirmed the write.  A
  crash between the two re-delivers the batch, which the idempotent store
  absorbs: at-least-once here, exactly-once in the store.
* **Full policy**: the spool is bounded by ``max_readings``.  When it is full,
  new readings are *refused* (:class:`SpoolFull`) and nothing already accepted
  is ever dropped.  Sources apply back-pressure: MQTT leaves messages
  unacknowledged at the broker, a Modbus poll is skipped (the device's energy
  counters still hold the energy, so consumption across the hole stays exact).
  Filling is logged once each time it crosses 50 %, 80 % and 95 %.  A write the
  disk refuses (full, I/O error) is refused the same way (:class:`SpoolUnwritable`).
* Readings that fail validation, or that the store refuses for good, go to the
  ``dead_letters`` table with the reason, for ``energimon deadletters`` (the
  store's refusals in the same transaction as the batch's :meth:`Spool.ack`).
* Whether energimon stamped a reading's time or the device did
  (:class:`~energimon.model.DeviceTimedReading`) is kept with it (column ``conflict``), so the
  store applies the right rule (:class:`~energimon.model.OnConflict`).
* The collectors' last stamps (:mod:`energimon.stamps`) are committed in the same
  transaction as the readings they stamped (table ``stamps``), so that no stamp is given
  twice across a restart.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import sys
import threading
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, overload

from energimon.model import (
    MAX_FUTURE_MS,
    MIN_TIMESTAMP_MS,
    DeviceTimedReading,
    OnConflict,
    Reading,
    RevisableReading,
    _series_minimum,
    now_ms,
    validate_reading,
)

log = logging.getLogger("energimon.spool")

# How a reading's kind (where its time came from, :class:`OnConflict`) is kept in the spool's ``conflict`` column.
_CONFLICT_CODE = {OnConflict.OVERWRITE: 0, OnConflict.KEEP: 1, OnConflict.REVISE: 2}
_READING_OF_CODE = {0: Reading, 1: DeviceTimedReading, 2: RevisableReading}

FILL_WARNINGS = (0.5, 0.8, 0.95)

SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id      INTEGER PRIMARY KEY,                -- a series and its role, stored once (not 4 strings a reading)
    site    TEXT NOT NULL,
    device  TEXT NOT NULL,
    channel TEXT NOT NULL,
    role    TEXT NOT NULL,
    UNIQUE (site, device, channel, role)
);
CREATE TABLE IF NOT EXISTS queue (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a batch's id range names only its readings
    stream  INTEGER NOT NULL,                   -- streams.id
    ts_ms   INTEGER NOT NULL,
    value   REAL NOT NULL,
    conflict INTEGER NOT NULL DEFAULT 0,        -- the reading's OnConflict: 0 overwrite, 1 keep, 2 revise
    n       INTEGER NOT NULL DEFAULT 1,         -- readings in the row: 1, or a pack's (see PACK_MAX)
    packed  BLOB                                -- a pack: n times (int64) then n values (float64), little-endian;
                                                -- ts_ms and value are then its first reading's
);
CREATE TABLE IF NOT EXISTS stamps (
    stream  TEXT PRIMARY KEY,               -- energimon.stamps: the last stamp given to each stream
    last_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id          INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    source      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    payload     TEXT NOT NULL,
    reason      TEXT NOT NULL
);
"""


class SpoolFull(Exception):
    """The spool cannot take the readings now: nothing was written, try again later."""


class SpoolUnwritable(SpoolFull):
    """The spool's file refused the write (a full disk, an I/O error).

    A kind of :class:`SpoolFull`, so every producer answers it the same way (back-pressure) instead of
    failing: a Modbus poller that got an unexpected exception from its sink would stop polling.
    """


StreamKey = tuple[str, str, str, str]  # site, device, channel, role
Row = tuple[int, int, int, float, int]  # id, stream, ts_ms, value, conflict: a queue row as take() reads it
Pack = tuple[list[int], list[float]]  # a packed row's times and values
# a batch as columns (ReadingRows.columns): stream ids, times, values, conflict codes, one item per reading
Columns = tuple[Sequence[int], Sequence[int], Sequence[float], Sequence[int]]

PACK_MAX = 5_000
"""Readings per packed row at most: a series' readings handed over as columns (:class:`SeriesReadings`, a live
source's page of history) enter the queue as one row per this many readings (``n`` and ``packed``), not a row
each; two packs fill the writer's default batch of 10,000."""

_LITTLE = sys.byteorder == "little"


def pack_columns(ts_ms: Sequence[int], values: Sequence[float]) -> bytes:
    """The ``packed`` column of a queue row: times as int64, then values as float64, little-endian."""
    t, v = array("q", ts_ms), array("d", values)
    if not _LITTLE:
        t.byteswap()
        v.byteswap()
    return t.tobytes() + v.tobytes()


def unpack_columns(blob: bytes) -> Pack:
    """(times, values) of a ``packed`` column (:func:`pack_columns`)."""
    n = len(blob) // 16
    t, v = array("q"), array("d")
    t.frombytes(blob[:8 * n])
    v.frombytes(blob[8 * n:16 * n])
    if not _LITTLE:
        t.byteswap()
        v.byteswap()
    return t.tolist(), v.tolist()


class ReadingRows(Sequence[Reading]):
    """A batch's readings as the spool holds them: rows ``(id, stream, ts_ms, value, conflict)`` and the streams they
    name.  A ``Sequence[Reading]`` (a :class:`Reading` is built only for the rows someone looks at), so any store
    can take it; the stores' fast paths read :attr:`rows` and :attr:`streams` directly, without an object per
    reading (``bench/influx_write.py``, ``bench/spool_throughput.py``).

    ``packs``: the packed rows among :attr:`rows` (by row id) with their times and values; such a row in
    :attr:`rows` stands for all of them (its ``ts_ms`` and ``value`` are the first reading's).  The readings, the
    length and :meth:`flat_rows` count every reading of a pack, in the queue's order."""

    __slots__ = ("_columns", "_flat", "_n", "packs", "rows", "streams")

    def __init__(self, rows: list[Row], streams: Mapping[int, StreamKey], packs: Mapping[int, Pack] | None = None):
        self.rows = rows
        self.streams = streams
        self.packs: Mapping[int, Pack] = packs or {}
        self._n = len(rows) + sum(len(ts) - 1 for ts, _ in self.packs.values())
        self._flat: list[Row] | None = None if self.packs else rows
        self._columns: Columns | None = None

    def columns(self) -> Columns:
        """The batch as columns (stream ids, times, values, conflict codes), a pack's readings each their own, in
        the queue's order: what the stores' fast paths read, with no tuple or object per reading."""
        if self._columns is None:
            rows, packs = self.rows, self.packs
            if not rows:
                self._columns = ((), (), (), ())
            elif not packs:
                _, streams, ts, values, codes = zip(*rows, strict=False)  # rows of 5: no check needed
                self._columns = (streams, ts, values, codes)
            else:
                s: list[int] = []
                t: list[int] = []
                v: list[float] = []
                c: list[int] = []
                start = 0  # the first row of the current run of one-reading rows
                for i, row in enumerate(rows):
                    pack = packs.get(row[0])
                    if pack is None:
                        continue
                    if start < i:
                        _, s_run, t_run, v_run, c_run = zip(*rows[start:i], strict=False)
                        s += s_run
                        t += t_run
                        v += v_run
                        c += c_run
                    n = len(pack[0])
                    s += repeat(row[1], n)
                    t += pack[0]
                    v += pack[1]
                    c += repeat(row[4], n)
                    start = i + 1
                if start < len(rows):
                    _, s_run, t_run, v_run, c_run = zip(*rows[start:], strict=False)
                    s += s_run
                    t += t_run
                    v += v_run
                    c += c_run
                self._columns = (s, t, v, c)
        return self._columns

    def flat_rows(self) -> list[Row]:
        """A row per reading, the packs' readings as rows of their own (with the pack's id)."""
        if self._flat is None:
            packs, out = self.packs, []
            for row in self.rows:
                pack = packs.get(row[0])
                if pack is None:
                    out.append(row)
                else:
                    out += zip(repeat(row[0]), repeat(row[1]), pack[0], pack[1], repeat(row[4]))
            self._flat = out
        return self._flat

    def reading(self, row: Row) -> Reading:
        site, device, channel, role = self.streams[row[1]]
        return _READING_OF_CODE[row[4]](site, device, channel, role, row[2], row[3])

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Reading: ...

    @overload
    def __getitem__(self, i: slice) -> list[Reading]: ...

    def __getitem__(self, i: int | slice) -> Reading | list[Reading]:
        if isinstance(i, slice):
            return [self.reading(row) for row in self.flat_rows()[i]]
        return self.reading(self.flat_rows()[i])

    def __iter__(self) -> Iterator[Reading]:
        reading = self.reading
        for row in self.flat_rows():
            yield reading(row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"ReadingRows({self._n} readings)"


class SeriesReadings(Sequence[Reading]):
    """Many readings of one series and kind as columns (``ts_ms``, ``values``): what a live source's backfill
    hands the spool (energimon.collector.sources), millions at a time.  A ``Sequence[Reading]`` (a
    :class:`Reading` is built only for the items someone looks at), so every sink takes it; :meth:`Spool.put`
    validates the series once and the columns in bulk instead of building and checking an object per
    reading (``bench/sources_backfill.py``)."""

    __slots__ = ("channel", "cls", "device", "role", "site", "ts_ms", "values")

    def __init__(self, cls: type[Reading], site: str, device: str, channel: str, role: str,
                 ts_ms: list[int], values: list[float]):
        if len(ts_ms) != len(values):
            raise ValueError(f"{len(ts_ms)} times but {len(values)} values")
        self.cls, self.site, self.device, self.channel, self.role = cls, site, device, channel, role
        self.ts_ms, self.values = ts_ms, values

    def __len__(self) -> int:
        return len(self.ts_ms)

    @overload
    def __getitem__(self, i: int) -> Reading: ...

    @overload
    def __getitem__(self, i: slice) -> list[Reading]: ...

    def __getitem__(self, i: int | slice) -> Reading | list[Reading]:
        if isinstance(i, slice):
            return [self.cls(self.site, self.device, self.channel, self.role, t, v)
                    for t, v in zip(self.ts_ms[i], self.values[i], strict=True)]
        return self.cls(self.site, self.device, self.channel, self.role, self.ts_ms[i], self.values[i])

    def __iter__(self) -> Iterator[Reading]:
        cls, site, device, channel, role = self.cls, self.site, self.device, self.channel, self.role
        for t, v in zip(self.ts_ms, self.values, strict=True):
            yield cls(site, device, channel, role, t, v)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"SeriesReadings({self.site}/{self.device}/{self.channel}, {len(self)} readings)"

    def all_valid(self, now: int) -> bool:
        """Whether every reading passes :func:`validate_reading` (checked in bulk; False: check them one by one)."""
        try:
            minimum = _series_minimum(self.site, self.device, self.channel, self.role)
        except (ValueError, TypeError):
            return False
        ts, values = self.ts_ms, self.values
        if not ts:
            return True
        # exact types as validate_reading wants them (a bool is neither a number nor a time here)
        if not set(map(type, values)) <= {float, int} or not set(map(type, ts)) <= {int}:
            return False
        return (all(map(math.isfinite, values)) and (minimum is None or min(values) >= minimum)
                and min(ts) >= MIN_TIMESTAMP_MS and max(ts) <= now + MAX_FUTURE_MS)


class SeriesGroup(Sequence[Reading]):
    """Several series' readings as columns (a :class:`SeriesReadings` each): what a live source's runner hands the
    spool for one request (DataHub: 10 metering points × a window).  :meth:`Spool.put` commits them in one
    transaction, one fsync instead of one per series (``bench/sources_backfill.py``).  A ``Sequence[Reading]``
    (each part's readings in turn, in the parts' order), so every sink takes it."""

    __slots__ = ("_n", "parts")

    def __init__(self, parts: Sequence[SeriesReadings]):
        self.parts = list(parts)
        self._n = sum(map(len, self.parts))

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> Reading: ...

    @overload
    def __getitem__(self, i: slice) -> list[Reading]: ...

    def __getitem__(self, i: int | slice) -> Reading | list[Reading]:
        if isinstance(i, slice):
            return list(self)[i]
        k = i + self._n if i < 0 else i
        if not 0 <= k < self._n:
            raise IndexError(i)
        for part in self.parts:
            if k < len(part):
                return part[k]
            k -= len(part)
        raise IndexError(i)  # not reached: the parts' lengths add up to _n

    def __iter__(self) -> Iterator[Reading]:
        return chain.from_iterable(self.parts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"SeriesGroup({len(self.parts)} series, {self._n} readings)"


@dataclass
class Batch:
    first_id: int
    last_id: int
    readings: ReadingRows

    def __len__(self) -> int:
        return len(self.readings)


@dataclass
class PutResult:
    accepted: int = 0
    rejected: list[tuple[Reading, str]] = field(default_factory=list)


class Spool:
    def __init__(self, path: str | Path, max_readings: int = 10_000_000, synchronous: str = "FULL"):
        if max_readings < 1:
            raise ValueError("max_readings must be at least 1")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_readings = max_readings
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(SCHEMA)
        self._add_pack_columns()
        self._migrate_readings_table()
        self._streams: dict[int, StreamKey] = {}  # id -> key; only grows (a stream is never deleted)
        self._stream_ids: dict[StreamKey, int] = {}
        self._load_streams()
        self._count: int = self._db.execute("SELECT coalesce(sum(n), 0) FROM queue").fetchone()[0]
        self._warned: set[float] = {f for f in FILL_WARNINGS if self._count >= f * max_readings}
        if self._warned:
            log.warning("spool %s opened %d%% full (%d of %d readings waiting for the store)",
                        self.path, round(100 * self._count / max_readings), self._count, max_readings)
        elif self._count:
            log.info("spool %s opened with %d readings waiting for the store", self.path, self._count)

    def _add_pack_columns(self) -> None:
        """A spool written before packed rows existed gets the columns (its rows are one reading each), and the
        partial index that finds the packs of a batch without reading the other rows."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(queue)")}
        if "packed" not in columns:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("ALTER TABLE queue ADD COLUMN n INTEGER NOT NULL DEFAULT 1")
                self._db.execute("ALTER TABLE queue ADD COLUMN packed BLOB")
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        self._db.execute("CREATE INDEX IF NOT EXISTS queue_packs ON queue (id) WHERE packed IS NOT NULL")

    def _migrate_readings_table(self) -> None:
        """A spool written by an earlier version keeps its readings in ``readings`` (four strings a row): move
        them into ``queue`` (oldest first, ids in the same order) in one transaction, so nothing is lost or doubled
        by a crash in the middle, and drop the old table."""
        legacy = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'"
        if self._db.execute(legacy).fetchone() is None:
            return
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        # the reading's kind: the ``conflict`` code, or an older spool's ``keep`` flag (1 = the device's time), or
        # before both existed every reading was stamped by energimon
        conflict = "r.conflict" if "conflict" in columns else "r.keep" if "keep" in columns else "0"
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR IGNORE INTO streams (site, device, channel, role) "
                             "SELECT DISTINCT site, device, channel, role FROM readings")
            moved = self._db.execute(
                f"INSERT INTO queue (stream, ts_ms, value, conflict) SELECT s.id, r.ts_ms, r.value, {conflict} "
                "FROM readings r JOIN streams s ON s.site = r.site AND s.device = r.device AND s.channel = r.channel "
                "AND s.role = r.role ORDER BY r.id").rowcount
            self._db.execute("DROP TABLE readings")
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        log.info("spool %s: moved %d waiting readings into the current layout", self.path, moved)

    def _load_streams(self) -> None:
        for sid, *key in self._db.execute("SELECT id, site, device, channel, role FROM streams"):
            self._streams[sid] = tuple(key)
            self._stream_ids[tuple(key)] = sid

    def _stream_id(self, key: StreamKey, created: list[StreamKey]) -> int:
        """The id of a stream, created (inside the caller's transaction) when new."""
        sid = self._db.execute("INSERT INTO streams (site, device, channel, role) VALUES (?, ?, ?, ?) "
                               "ON CONFLICT DO NOTHING RETURNING id", key).fetchone()
        if sid is None:  # another process added it meanwhile
            sid = self._db.execute("SELECT id FROM streams WHERE site = ? AND device = ? AND channel = ? "
                                   "AND role = ?", key).fetchone()
        new_id: int = sid[0]
        self._stream_ids[key] = new_id
        self._streams[new_id] = key
        created.append(key)
        return new_id

    # -- producers ------------------------------------------------------------------------
    def put(self, readings: Sequence[Reading], source: str = "unknown",
            stamps: Mapping[str, int] | None = None) -> PutResult:
        """Validate and durably commit ``readings``.  Invalid ones go to dead letters.

        ``stamps``: the last stamp of each stream (:meth:`energimon.stamps.Stamper.pending`), committed in
        the same transaction.  Raises :class:`SpoolFull` (writing nothing) when the valid readings do not fit.
        Columns (:class:`SeriesReadings`, or several series as a :class:`SeriesGroup`) whose values all pass
        validation enter as packed rows; else every reading is checked and put on its own, as a list would be.
        """
        result = PutResult()
        valid: list[Reading] = []
        now = now_ms()
        if not stamps:
            if isinstance(readings, SeriesReadings) and readings.all_valid(now):
                return self._put_series([readings], source)
            if isinstance(readings, SeriesGroup) and all(p.all_valid(now) for p in readings.parts):
                return self._put_series(readings.parts, source)
        for r in readings:
            try:
                validate_reading(r, now)
            except (ValueError, TypeError) as exc:
                result.rejected.append((r, str(exc)))
            else:
                valid.append(r)
        with self._lock:
            if valid and self._count + len(valid) > self.max_readings:
                raise SpoolFull(
                    f"spool {self.path} is full ({self._count} of {self.max_readings} readings); "
                    f"{len(valid)} new readings refused from {source}"
                )
            created: list[StreamKey] = []
            try:
                self._db.execute("BEGIN IMMEDIATE")
                ids, code, rows = self._stream_ids, _CONFLICT_CODE, []
                for r in valid:
                    key = (r.site, r.device, r.channel, r.role)
                    sid = ids.get(key)
                    if sid is None:
                        sid = self._stream_id(key, created)
                    rows.append((sid, r.ts_ms, float(r.value), code[r.on_conflict]))
                self._db.executemany("INSERT INTO queue (stream, ts_ms, value, conflict) VALUES (?, ?, ?, ?)", rows)
                if stamps:
                    self._db.executemany(
                        "INSERT INTO stamps (stream, last_ms) VALUES (?, ?) "
                        "ON CONFLICT (stream) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)",
                        list(stamps.items()),
                    )
                self._insert_dead_letters(
                    (source, str(r.key), _reading_json(r), reason) for r, reason in result.rejected
                )
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                self._forget(created)
                raise SpoolUnwritable(
                    f"spool {self.path} cannot be written ({exc}: is its disk full?); "
                    f"{len(valid)} new readings refused from {source}"
                ) from exc
            except BaseException:
                self._rollback()
                self._forget(created)
                raise
            self._count += len(valid)
            self._check_fill()
        result.accepted = len(valid)
        return result

    def _put_series(self, parts: Sequence[SeriesReadings], source: str) -> PutResult:
        """:meth:`put` of columns that all passed validation (one series each, all in one transaction): rows
        without an object per reading."""
        n = sum(map(len, parts))
        with self._lock:
            if n and self._count + n > self.max_readings:
                raise SpoolFull(
                    f"spool {self.path} is full ({self._count} of {self.max_readings} readings); "
                    f"{n} new readings refused from {source}"
                )
            created: list[StreamKey] = []
            try:
                self._db.execute("BEGIN IMMEDIATE")
                rows: list[tuple[int, int, float, int, int, bytes]] = []
                for readings in parts:
                    key = (readings.site, readings.device, readings.channel, readings.role)
                    sid = self._stream_ids.get(key)
                    if sid is None:
                        sid = self._stream_id(key, created)
                    code = _CONFLICT_CODE[readings.cls.on_conflict]
                    ts, values = readings.ts_ms, readings.values
                    # one row per PACK_MAX readings: no row, index entry, take and delete per reading
                    rows += [(sid, ts[i], float(values[i]), code, len(ts[i:i + PACK_MAX]),
                              pack_columns(ts[i:i + PACK_MAX], values[i:i + PACK_MAX]))
                             for i in range(0, len(ts), PACK_MAX)]
                self._db.executemany(
                    "INSERT INTO queue (stream, ts_ms, value, conflict, n, packed) VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                self._forget(created)
                raise SpoolUnwritable(
                    f"spool {self.path} cannot be written ({exc}: is its disk full?); "
                    f"{n} new readings refused from {source}"
                ) from exc
            except BaseException:
                self._rollback()
                self._forget(created)
                raise
            self._count += n
            self._check_fill()
        return PutResult(accepted=n)

    def _forget(self, created: list[StreamKey]) -> None:
        """Stream ids created in a transaction that was rolled back do not exist."""
        for key in created:
            sid = self._stream_ids.pop(key, None)
            if sid is not None:
                self._streams.pop(sid, None)

    def dead_letter(self, source: str, subject: str, payload: str | bytes, reason: str) -> None:
        """Keep input that could not become readings, with why, for inspection."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._insert_dead_letters([(source, subject, payload, reason)])
                self._db.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _insert_dead_letters(self, rows: Iterable[tuple[str, str, str | bytes, str]]) -> None:
        now = now_ms()
        self._db.executemany(
            "INSERT INTO dead_letters (received_ms, source, subject, payload, reason) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (now, src, subj, p.decode("utf-8", "backslashreplace") if isinstance(p, bytes) else p, why)
                for src, subj, p, why in rows
            ],
        )

    # -- the writer -----------------------------------------------------------------------
    def take(self, limit: int, after_id: int = 0) -> Batch | None:
        """The oldest ``limit`` readings (after ``after_id``: the batch after one not yet acknowledged), still in
        the spool until :meth:`ack`.  A packed row comes whole: a batch may hold more than ``limit`` readings
        only when its first row alone does."""
        with self._lock:
            db = self._db
            packs = db.execute("SELECT id, n FROM queue WHERE packed IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                               (after_id, limit)).fetchall()
            if not packs:  # rows of one reading each (the partial index answers this without reading them)
                rows = db.execute("SELECT id, stream, ts_ms, value, conflict FROM queue WHERE id > ? ORDER BY id "
                                  "LIMIT ?", (after_id, limit)).fetchall()
                unpacked: dict[int, Pack] = {}
            else:
                rows, unpacked = self._take_with_packs(after_id, limit, packs)
            if not rows:
                return None
            streams = self._streams
            if not streams.keys() >= set(map(itemgetter(1), rows)):  # added by another process (an import) meanwhile
                self._load_streams()
        return Batch(rows[0][0], rows[-1][0], ReadingRows(rows, streams, unpacked))

    def _take_with_packs(self, after_id: int, limit: int,
                         packs: list[tuple[int, int]]) -> tuple[list[Row], dict[int, Pack]]:
        """:meth:`take` where packed rows are among the next ones: the last id that keeps the batch within
        ``limit`` readings, counting each row between two packs as one reading (ids only grow, and the queue is
        deleted from its head, so the ids between two packs bound the rows there)."""
        db = self._db
        first = db.execute("SELECT min(id) FROM queue WHERE id > ?", (after_id,)).fetchone()[0]
        if first is None:
            return [], {}
        total, prev, cut = 0, first - 1, None
        for pid, n in packs:
            plain = pid - prev - 1  # at most this many one-reading rows before this pack
            if total + plain >= limit:
                cut = prev + (limit - total)
                break
            total += plain
            if total and total + n > limit:
                cut = pid - 1
                break
            total += n
            prev = pid
            if total >= limit:
                cut = pid
                break
        if cut is None:
            cut = prev + (limit - total)
        rows = db.execute("SELECT id, stream, ts_ms, value, conflict FROM queue WHERE id > ? AND id <= ? ORDER BY id",
                          (after_id, cut)).fetchall()
        if not rows:  # a gap in the ids: take the next row, whatever its size, so the queue moves on
            rows = db.execute("SELECT id, stream, ts_ms, value, conflict FROM queue WHERE id > ? ORDER BY id LIMIT 1",
                              (after_id,)).fetchall()
        unpacked = {rid: unpack_columns(blob) for rid, blob in db.execute(
            "SELECT id, packed FROM queue WHERE packed IS NOT NULL AND id >= ? AND id <= ?",
            (rows[0][0], rows[-1][0]))} if rows else {}
        return rows, unpacked

    def ack(
        self, batch: Batch, dead: Sequence[tuple[Reading, str]] = (), source: str = "store"
    ) -> None:
        """Forget a batch the store has confirmed.

        ``dead`` are readings of the batch the store refused for good, with the
        reason: they become dead letters in the same transaction that deletes
        the batch, so a crash cannot lose them nor record them twice.
        """
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._insert_dead_letters((source, str(r.key), _reading_json(r), why) for r, why in dead)
                deleted_rows = self._db.execute(
                    "DELETE FROM queue WHERE id BETWEEN ? AND ?", (batch.first_id, batch.last_id)
                ).rowcount
                self._db.execute("COMMIT")
                deleted = len(batch) if deleted_rows == len(batch.readings.rows) else None
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise SpoolUnwritable(
                    f"spool {self.path} cannot be written ({exc}: is its disk full?); the batch the store "
                    f"took stays in the spool and goes out again"
                ) from exc
            except BaseException:
                self._rollback()
                raise
            if deleted is None:  # not the rows taken (another process changed the queue): count again
                self._count = self._db.execute("SELECT coalesce(sum(n), 0) FROM queue").fetchone()[0]
            else:
                self._count = max(0, self._count - deleted)
            self._check_fill()

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a COMMIT that could not write): a second
        # ROLLBACK would raise "no transaction is active" and hide the error that matters.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    # -- inspection -----------------------------------------------------------------------
    def stamps(self) -> dict[str, int]:
        """The last stamp committed for each stream (for :meth:`energimon.stamps.Stamper.load` at start)."""
        with self._lock:
            return dict(self._db.execute("SELECT stream, last_ms FROM stamps").fetchall())

    def backlog(self) -> int:
        return self._count

    def dead_letter_count(self) -> int:
        """How many dead letters the spool keeps (all sources)."""
        with self._lock:
            count: int = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        return count

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, received_ms, source, subject, payload, reason FROM dead_letters "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("id", "received_ms", "source", "subject", "payload", "reason")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _check_fill(self) -> None:
        fill = self._count / self.max_readings
        crossed = [level for level in FILL_WARNINGS if fill >= level and level not in self._warned]
        if crossed:  # one line even when a single put jumps past several levels
            self._warned.update(crossed)
            log.warning(
                "spool %d%% full (%d of %d readings): the store is not keeping up or is "
                "unreachable; at 100%% new readings are refused (nothing accepted is dropped)",
                round(fill * 100), self._count, self.max_readings,
            )
        for level in FILL_WARNINGS:
            if fill < level - 0.1 and level in self._warned:
                self._warned.discard(level)
                log.info("spool back below %d%% (%d readings)", round(level * 100), self._count)

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- read-only views for the commands (another process, while the daemon writes) ------------------------------
@dataclass(frozen=True)
class SpoolCounts:
    waiting: int  # readings not yet written to the store
    dead_letters: int


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_ms: int
    source: str  # e.g. "mqtt", "modbus", "store"
    subject: str  # the MQTT topic or the series
    payload: str  # the raw input (a reading as JSON for refused readings)
    reason: str


def _read_only(path: str | Path) -> sqlite3.Connection:
    """The spool file opened read-only (nothing created or changed); :class:`sqlite3.Error` when it cannot be."""
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=10)


def read_counts(path: str | Path) -> SpoolCounts:
    """How many readings wait for the store and how many dead letters the spool at ``path`` keeps."""
    db = _read_only(path)
    try:
        waiting = count_waiting(db)
        dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    finally:
        db.close()
    return SpoolCounts(int(waiting), int(dead))


def read_dead_letters(path: str | Path, limit: int = 100, subject: str | None = None) -> list[DeadLetter]:
    """The newest ``limit`` dead letters of the spool at ``path``, newest first; with ``subject``, only those
    whose subject contains it (case-sensitive, as the topic or series is written)."""
    db = _read_only(path)
    try:
        rows = db.execute(
            "SELECT id, received_ms, source, subject, payload, reason FROM dead_letters "
            + ("WHERE instr(subject, ?) > 0 " if subject else "") + "ORDER BY id DESC LIMIT ?",
            (subject, limit) if subject else (limit,),
        ).fetchall()
    finally:
        db.close()
    return [DeadLetter(*row) for row in rows]


def count_waiting(db: sqlite3.Connection) -> int:
    """Readings waiting in a spool file that another process opened (``energimon status``, read-only while the
    daemon writes), in the current layout or an earlier version's (not yet moved)."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    waiting = sum(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("readings",) if t in tables)
    if "queue" in tables:
        packed = any(row[1] == "n" for row in db.execute("PRAGMA table_info(queue)"))
        waiting += db.execute(f"SELECT {'coalesce(sum(n), 0)' if packed else 'count(*)'} FROM queue").fetchone()[0]
    return int(waiting)


def _reading_json(r: Reading) -> str:
    return json.dumps(
        {"site": r.site, "device": r.device, "channel": r.channel, "role": r.role,
         "ts_ms": r.ts_ms, "value": repr(r.value),
         "time_from": "device" if r.on_conflict is OnConflict.KEEP else "energimon"},
        ensure_ascii=False, default=repr,  # a dead letter is kept even when a field has a strange type
    )
