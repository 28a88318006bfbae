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
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from energimon.model import DeviceTimedReading, OnConflict, Reading, RevisableReading, now_ms, validate_reading

log = logging.getLogger("energimon.spool")

# How a reading's kind (where its time came from, :class:`OnConflict`) is kept in the spool's ``conflict`` column.
_CONFLICT_CODE = {OnConflict.OVERWRITE: 0, OnConflict.KEEP: 1, OnConflict.REVISE: 2}
_READING_OF_CODE = {0: Reading, 1: DeviceTimedReading, 2: RevisableReading}

FILL_WARNINGS = (0.5, 0.8, 0.95)

SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a batch's id range names only its readings
    site    TEXT NOT NULL,
    device  TEXT NOT NULL,
    channel TEXT NOT NULL,
    role    TEXT NOT NULL,
    ts_ms   INTEGER NOT NULL,
    value   REAL NOT NULL,
    conflict INTEGER NOT NULL DEFAULT 0   -- the reading's OnConflict: 0 overwrite, 1 keep, 2 revise
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


@dataclass
class Batch:
    first_id: int
    last_id: int
    readings: list[Reading]

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
        self._add_conflict_column()
        self._count = self._db.execute("SELECT count(*) FROM readings").fetchone()[0]
        self._warned: set[float] = {f for f in FILL_WARNINGS if self._count >= f * max_readings}
        if self._warned:
            log.warning("spool %s opened %d%% full (%d of %d readings waiting for the store)",
                        self.path, round(100 * self._count / max_readings), self._count, max_readings)
        elif self._count:
            log.info("spool %s opened with %d readings waiting for the store", self.path, self._count)

    def _add_conflict_column(self) -> None:
        """A spool written by an older energimon lacks ``conflict``: add it (its readings were all stamped by
        energimon, so :attr:`OnConflict.OVERWRITE`)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        if "conflict" not in columns:
            self._db.execute("ALTER TABLE readings ADD COLUMN conflict INTEGER NOT NULL DEFAULT 0")

    # -- producers ------------------------------------------------------------------------
    def put(self, readings: Sequence[Reading], source: str = "unknown",
            stamps: Mapping[str, int] | None = None) -> PutResult:
        """Validate and durably commit ``readings``.  Invalid ones go to dead letters.

        ``stamps``: the last stamp of each stream (:meth:`energimon.stamps.Stamper.pending`), committed in
        the same transaction.  Raises :class:`SpoolFull` (writing nothing) when the valid readings do not fit.
        """
        result = PutResult()
        valid: list[Reading] = []
        now = now_ms()
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
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO readings (site, device, channel, role, ts_ms, value, conflict) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(r.site, r.device, r.channel, r.role, r.ts_ms, float(r.value), _CONFLICT_CODE[r.on_conflict])
                     for r in valid],
                )
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
                raise SpoolUnwritable(
                    f"spool {self.path} cannot be written ({exc}: is its disk full?); "
                    f"{len(valid)} new readings refused from {source}"
                ) from exc
            except BaseException:
                self._rollback()
                raise
            self._count += len(valid)
            self._check_fill()
        result.accepted = len(valid)
        return result

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
    def take(self, limit: int) -> Batch | None:
        """The oldest ``limit`` readings, still in the spool until :meth:`ack`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, site, device, channel, role, ts_ms, value, conflict FROM readings "
                "ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        if not rows:
            return None
        return Batch(rows[0][0], rows[-1][0], [_READING_OF_CODE[row[7]](*row[1:7]) for row in rows])

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
                deleted = self._db.execute(
                    "DELETE FROM readings WHERE id BETWEEN ? AND ?", (batch.first_id, batch.last_id)
                ).rowcount
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise SpoolUnwritable(
                    f"spool {self.path} cannot be written ({exc}: is its disk full?); the batch the store "
                    f"took stays in the spool and goes out again"
                ) from exc
            except BaseException:
                self._rollback()
                raise
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
            return self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]

    def dead_letters(self, limit: int = 100) -> list[dict]:
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


def _reading_json(r: Reading) -> str:
    return json.dumps(
        {"site": r.site, "device": r.device, "channel": r.channel, "role": r.role,
         "ts_ms": r.ts_ms, "value": repr(r.value),
         "time_from": "device" if r.on_conflict is OnConflict.KEEP else "energimon"},
        ensure_ascii=False, default=repr,  # a dead letter is kept even when a field has a strange type
    )
