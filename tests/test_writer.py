"""The spool -> store writer on real SQLite files: SIGKILL mid-drain, store outages, refusals, shutdown flush."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers.wait import async_wait_for, wait_for

from energimon.model import Reading, now_ms
from energimon.store.base import Rejected, StoreError
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore
from energimon.store.writer import SpoolWriter

WORKER = Path(__file__).parent / "helpers" / "spool_worker.py"
_spec = importlib.util.spec_from_file_location("spool_worker", WORKER)
spool_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spool_worker)

BASE_MS = now_ms() - 30 * 86_400_000


def make(n: int, base_ms: int = BASE_MS) -> list[Reading]:
    return spool_worker.readings(base_ms, n)


def as_rows(readings: Sequence[Reading]) -> list[tuple]:
    return [(r.site, r.device, r.channel, r.ts_ms, float(r.value)) for r in readings]


def store_rows(path: Path) -> list[tuple]:
    """Everything in the store file, read with plain sqlite3 (not through the code under test)."""
    db = sqlite3.connect(path)
    try:
        return db.execute(
            "SELECT s.site, s.device, s.channel, p.ts_ms, p.value FROM points p JOIN series s ON s.id = p.series_id"
        ).fetchall()
    finally:
        db.close()


def count(path: Path, table: str) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(path, timeout=5)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0
    finally:
        db.close()


def assert_exactly_once(store_path: Path, expected: Sequence[Reading]) -> None:
    rows = store_rows(store_path)
    assert len(rows) == len(expected)
    assert set(rows) == set(as_rows(expected))


def filled_spool(path: Path, readings: Sequence[Reading]) -> None:
    spool = Spool(path)
    spool.put(readings, source="test")
    spool.close()


async def run_until_drained(writer: SpoolWriter, timeout_s: float = 10.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        await async_wait_for(lambda: not writer.spool.backlog(), timeout_s,
                             lambda: f"the writer to drain the spool (last error: {writer.last_error})", 0.005)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def drain_in_new_instance(spool_path: Path, store_path: Path, batch_size: int = 1000) -> int:
    """The 'restart': fresh Spool, store and writer on the same files, drained to the end."""
    async def go() -> int:
        spool, store = Spool(spool_path), SqliteStore(store_path)
        writer = SpoolWriter(spool, store, batch_size=batch_size)
        try:
            moved = 0
            while n := await writer.drain_once():
                moved += n
            assert spool.backlog() == 0
            return moved
        finally:
            writer.close()
            store.close()
            spool.close()
    return asyncio.run(go())


# -- test doubles of OUR Store interface, around the real SQLite store -------------------------------
class FlakyStore(SqliteStore):
    """Fails the first ``fail_first`` writes; with ``write_then_fail`` the data lands before the error
    (a timeout after the server accepted the batch)."""

    def __init__(self, path, fail_first: int, exc: type[Exception] = StoreError, write_then_fail: bool = False):
        super().__init__(path)
        self.fail_first, self.exc, self.write_then_fail = fail_first, exc, write_then_fail
        self.calls = 0

    def write(self, readings):
        self.calls += 1
        if self.calls <= self.fail_first:
            if self.write_then_fail:
                super().write(readings)
            raise self.exc("connection refused")
        return super().write(readings)


class RejectingStore(SqliteStore):
    """Refuses for good every reading of device 'defekt' (like a field type conflict in InfluxDB)."""

    def __init__(self, path):
        super().__init__(path)
        self.batches: list[int] = []

    def write(self, readings):
        self.batches.append(len(readings))
        bad = [Rejected(r, "field type conflict: power_w is integer") for r in readings if r.device == "defekt"]
        return [*super().write([r for r in readings if r.device != "defekt"]), *bad]


class SlowStore(SqliteStore):
    def __init__(self, path, delay_s: float):
        super().__init__(path)
        self.delay_s = delay_s

    def write(self, readings):
        time.sleep(self.delay_s)
        return super().write(readings)


# -- crash safety ---------------------------------------------------------------------------------
N = 20_000


def _start_drain(tmp_path: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), "drain", str(tmp_path / "spool.db"), str(tmp_path / "store.db"), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    proc.stderr.close()


@pytest.mark.parametrize("where", ["before", "after"])
def test_writer_killed_mid_drain_then_restarted_delivers_every_reading_exactly_once(tmp_path, where):
    """SIGKILL while batches go out (the pause is before or after the store's commit), restart, finish."""
    spool_path, store_path = tmp_path / "spool.db", tmp_path / "store.db"
    data = make(N)
    filled_spool(spool_path, data)
    proc = _start_drain(tmp_path, "100", "0.003", where)
    try:
        wait_for(lambda: proc.poll() is not None or count(store_path, "points") >= N // 5, 15,
                 "a fifth of the readings in the store", 0.005)
        assert proc.poll() is None, f"drain finished or died before the kill: {proc.stderr.read().decode()[-2000:]}"
        proc.kill()
        proc.wait(timeout=10)
    finally:
        _stop(proc)
    in_store, spooled = count(store_path, "points"), count(spool_path, "queue")
    assert 0 < in_store < N and 0 < spooled < N, (in_store, spooled)
    assert in_store + spooled >= N, "a reading left the spool without reaching the store"

    assert drain_in_new_instance(spool_path, store_path) == spooled
    assert count(spool_path, "queue") == 0
    assert_exactly_once(store_path, data)
    for path in (spool_path, store_path):
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()


def test_writer_killed_between_store_commit_and_spool_ack_redelivers_without_duplicates(tmp_path):
    """The worst moment, hit deterministically: batch 7 is committed in the store but not acked."""
    spool_path, store_path, marker = tmp_path / "spool.db", tmp_path / "store.db", tmp_path / "hung"
    data = make(N)
    filled_spool(spool_path, data)
    proc = _start_drain(tmp_path, "1000", "0", "after", "7", str(marker))
    try:
        wait_for(lambda: proc.poll() is not None or marker.exists(), 15, "the worker to reach batch 7", 0.005)
        assert marker.exists(), f"worker never reached batch 7: {proc.stderr.read().decode()[-2000:]}"
        assert count(store_path, "points") == 7000
        assert count(spool_path, "queue") == N - 6000  # batch 7 is in both
        proc.kill()
        proc.wait(timeout=10)
    finally:
        _stop(proc)
    assert drain_in_new_instance(spool_path, store_path, batch_size=3000) == N - 6000
    assert count(spool_path, "queue") == 0
    assert_exactly_once(store_path, data)


# -- the writer loop ------------------------------------------------------------------------------
def test_batches_go_out_oldest_first_and_no_larger_than_batch_size(tmp_path):
    data = make(250)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), RejectingStore(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=64)
        try:
            await run_until_drained(writer)
            return store.batches, writer.written
        finally:
            writer.close()
            store.close()
            spool.close()

    batches, written = asyncio.run(go())
    assert batches == [64, 64, 64, 58] and written == 250
    assert_exactly_once(tmp_path / "store.db", data)


def test_store_down_keeps_readings_in_the_spool_then_delivers_each_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="energimon.writer")
    data = make(500)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), FlakyStore(tmp_path / "store.db", fail_first=4)
        writer = SpoolWriter(spool, store, batch_size=100, max_backoff_s=0.02)
        try:
            with pytest.raises(StoreError):
                await writer.drain_once()
            assert spool.backlog() == 500 and count(tmp_path / "store.db", "points") == 0
            t0 = time.monotonic()
            await run_until_drained(writer)
            assert time.monotonic() - t0 < 0.8, "backoff must honour max_backoff_s below 1 s"
            return store.calls, writer
        finally:
            writer.close()
            store.close()
            spool.close()

    calls, writer = asyncio.run(go())
    assert calls == 4 + 5 and writer.written == 500 and writer.last_error is None
    assert_exactly_once(tmp_path / "store.db", data)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "connection refused" in errors[0].getMessage(), "one line per outage, not per retry"
    assert sum("reachable again" in r.getMessage() for r in caplog.records) == 1


def test_a_batch_written_before_the_error_is_redelivered_without_duplicates(tmp_path):
    data = make(300)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool = Spool(tmp_path / "spool.db")
        store = FlakyStore(tmp_path / "store.db", fail_first=3, write_then_fail=True)
        writer = SpoolWriter(spool, store, batch_size=100, max_backoff_s=0.01)
        try:
            await run_until_drained(writer)
        finally:
            writer.close()
            store.close()
            spool.close()

    asyncio.run(go())
    assert_exactly_once(tmp_path / "store.db", data)


def test_an_unexpected_exception_does_not_kill_the_writer(tmp_path, caplog):
    data = make(200)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool = Spool(tmp_path / "spool.db")
        store = FlakyStore(tmp_path / "store.db", fail_first=2, exc=RuntimeError)
        writer = SpoolWriter(spool, store, batch_size=50, max_backoff_s=0.01)
        try:
            await run_until_drained(writer)
        finally:
            writer.close()
            store.close()
            spool.close()

    asyncio.run(go())
    assert_exactly_once(tmp_path / "store.db", data)
    (err,) = [r for r in caplog.records if r.name == "energimon.writer" and r.levelno == logging.ERROR]
    assert "RuntimeError: connection refused" in err.getMessage() and err.exc_info is not None


def test_readings_the_store_refuses_become_dead_letters_and_the_queue_keeps_moving(tmp_path):
    good = make(200)
    # the whole first batch is refused, then one in ten
    bad = [Reading("soro-raadhus", "defekt", "power_w", "grid", BASE_MS + i * 1000, float(i)) for i in range(40)]
    data = bad[:10] + [r for i, g in enumerate(good) for r in ([g, bad[10 + i // 10]] if i % 10 == 9 else [g])]
    assert len(data) == 230
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), RejectingStore(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=10)
        try:
            await run_until_drained(writer)
            return writer.written, spool.dead_letters(limit=1000)
        finally:
            writer.close()
            store.close()
            spool.close()

    written, dead = asyncio.run(go())
    assert written == 200
    assert_exactly_once(tmp_path / "store.db", good)
    assert len(dead) == 30
    assert {d["source"] for d in dead} == {"store:sqlite"}
    assert {d["reason"] for d in dead} == {"field type conflict: power_w is integer"}
    assert {d["subject"] for d in dead} == {"soro-raadhus/defekt/power_w"}


def test_the_real_sqlite_store_refusing_an_old_spool_reading_does_not_block_the_queue(tmp_path):
    # A spool written by an older version (its `readings` table, four strings a row) may hold a channel that no
    # longer exists: opened now, its readings move into the current layout, in order, and go out with the rest.
    data = make(50)
    db = sqlite3.connect(tmp_path / "spool.db")
    db.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, device TEXT NOT "
               "NULL, channel TEXT NOT NULL, role TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL, "
               "keep INTEGER NOT NULL DEFAULT 0)")
    db.executemany("INSERT INTO readings (site, device, channel, role, ts_ms, value) VALUES (?, ?, ?, ?, ?, ?)",
                   [(r.site, r.device, r.channel, r.role, r.ts_ms, r.value) for r in data[:25]]
                   + [("soro-raadhus", "hovedmaaler", "power_kw", "grid", BASE_MS, 1.5)])
    db.commit()
    db.close()
    filled_spool(tmp_path / "spool.db", data[25:])

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), SqliteStore(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=20)
        try:
            await run_until_drained(writer)
            return spool.dead_letters()
        finally:
            writer.close()
            store.close()
            spool.close()

    dead = asyncio.run(go())
    assert_exactly_once(tmp_path / "store.db", data)
    (d,) = dead
    assert d["subject"] == "soro-raadhus/hovedmaaler/power_kw" and "unknown channel" in d["reason"]


def test_wake_sends_a_fresh_put_without_waiting_for_the_idle_timer(tmp_path):
    async def go():
        spool, store = Spool(tmp_path / "spool.db"), SqliteStore(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=100, idle_wait_s=30)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        try:
            await asyncio.sleep(0.1)  # idle, waiting
            spool.put(make(5))
            writer.wake()
            t0 = time.monotonic()
            await async_wait_for(lambda: not spool.backlog(), 5, "the fresh put written", 0.005)
            latency = time.monotonic() - t0
            stop.set()
            t1 = time.monotonic()
            await asyncio.wait_for(task, 5)
            return latency, time.monotonic() - t1
        finally:
            stop.set()
            writer.close()
            store.close()
            spool.close()

    latency, stop_s = asyncio.run(go())
    assert latency < 1 and stop_s < 1
    assert_exactly_once(tmp_path / "store.db", make(5))


# -- flush on shutdown ----------------------------------------------------------------------------
def test_flush_drains_everything_within_its_timeout(tmp_path):
    data = make(10_000)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), SqliteStore(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=500)
        try:
            t0 = time.monotonic()
            moved = await writer.flush(5.0)
            return moved, time.monotonic() - t0, spool.backlog()
        finally:
            writer.close()
            store.close()
            spool.close()

    moved, elapsed, backlog = asyncio.run(go())
    assert moved == 10_000 and backlog == 0 and elapsed < 5
    assert_exactly_once(tmp_path / "store.db", data)


def test_flush_gives_up_at_its_timeout_and_the_rest_is_delivered_after_restart(tmp_path):
    data = make(1000)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), SlowStore(tmp_path / "store.db", delay_s=0.6)
        writer = SpoolWriter(spool, store, batch_size=100)
        try:
            t0 = time.monotonic()
            moved = await writer.flush(0.2)
            return moved, time.monotonic() - t0, spool.backlog()
        finally:
            writer.close()  # waits for the write already handed to the store
            store.close()
            spool.close()

    moved, elapsed, backlog = asyncio.run(go())
    assert moved == 0 and backlog == 1000 and elapsed < 0.5
    # The batch in flight reached the store without an ack: re-delivered, stored once.
    assert count(tmp_path / "store.db", "points") == 100
    assert drain_in_new_instance(tmp_path / "spool.db", tmp_path / "store.db") == 1000
    assert_exactly_once(tmp_path / "store.db", data)


@pytest.mark.parametrize("exc", [StoreError, RuntimeError])
def test_flush_with_the_store_down_returns_at_once_and_keeps_the_readings(tmp_path, exc, caplog):
    data = make(100)
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool = Spool(tmp_path / "spool.db")
        store = FlakyStore(tmp_path / "store.db", fail_first=10**6, exc=exc)
        writer = SpoolWriter(spool, store, batch_size=10)
        try:
            t0 = time.monotonic()
            moved = await writer.flush(5.0)
            return moved, time.monotonic() - t0, spool.backlog()
        finally:
            writer.close()
            store.close()
            spool.close()

    moved, elapsed, backlog = asyncio.run(go())
    assert moved == 0 and backlog == 100 and elapsed < 1
    assert any("flush stopped" in r.getMessage() and "100 readings stay" in r.getMessage() for r in caplog.records)


# -- store maintenance in the writer's idle time ------------------------------------------------
class FailingMaintenance(SqliteStore):
    def __init__(self, path):
        super().__init__(path)
        self.rounds = 0

    def maintain(self, now_ms=None, budget_s=2.0):
        self.rounds += 1
        if self.rounds == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return super().maintain(now_ms, budget_s)


def test_the_writer_compacts_old_days_when_idle_and_a_failing_round_does_not_stop_it(tmp_path, caplog):
    data = make(2000)  # a month ago: long past compact_after_days
    filled_spool(tmp_path / "spool.db", data)

    async def go():
        spool, store = Spool(tmp_path / "spool.db"), FailingMaintenance(tmp_path / "store.db")
        writer = SpoolWriter(spool, store, batch_size=500, idle_wait_s=0.05, maintain_after_s=0, maintain_every_s=0)
        try:
            await run_until_drained(writer)
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            deadline = time.monotonic() + 10
            while store.rounds < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            stop.set()
            await task
            return store.rounds, count(tmp_path / "store.db", "chunks")
        finally:
            writer.close()
            store.close()
            spool.close()

    rounds, n_chunks = asyncio.run(go())
    assert rounds >= 2 and n_chunks > 0
    assert any("store maintenance failed" in r.getMessage() and "disk I/O error" in r.getMessage()
               for r in caplog.records)
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    got = sorted((r.site, r.device, r.channel, r.ts_ms, r.value) for r in data)
    back = []
    for key in {(r.site, r.device, r.channel) for r in data}:
        from energimon.model import SeriesKey

        ts, v = store.read_raw_ms(SeriesKey(*key), 0, 2**62)
        back += [(*key, int(t), float(x)) for t, x in zip(ts, v, strict=True)]
    store.close()
    assert sorted(back) == got


class FailingSecondWrite(SqliteStore):
    """The second write fails (after the first batch, while the writer has read the third batch ahead)."""

    def __init__(self, path):
        super().__init__(path)
        self.firsts: list[int] = []

    def write(self, readings):
        self.firsts.append(readings[0].ts_ms)
        if len(self.firsts) == 2:
            raise StoreError("connection reset")
        return super().write(readings)


def test_a_batch_read_ahead_is_dropped_when_the_write_before_it_fails(tmp_path):
    """With a backlog the writer reads the next batch while the store writes the current one; when that write
    fails, the batch read ahead must not be sent before the failed one: every reading once, in order."""
    data = make(1000)
    filled_spool(tmp_path / "spool.db", data)
    store = FailingSecondWrite(tmp_path / "store.db")
    spool = Spool(tmp_path / "spool.db")
    writer = SpoolWriter(spool, store, batch_size=250, max_backoff_s=0.01)
    try:
        asyncio.run(run_until_drained(writer))
    finally:
        writer.close()
        spool.close()
        store.close()
    assert_exactly_once(tmp_path / "store.db", data)
    # batch 2 failed, then came again before batch 3: the first reading of each write never goes backwards
    firsts = store.firsts
    assert firsts[1] == firsts[2] and firsts == sorted(firsts) and len(firsts) == 5
