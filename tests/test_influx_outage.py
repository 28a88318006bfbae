"""influxd paused and then stopped mid-run while the spool writer drains: every reading lands exactly once.

A real influxd 1.6.7 of its own (stopped and restarted by PID), a real spool file, the real SpoolWriter.
The pause (SIGSTOP) makes writes time out *after* they were sent: influxd applies them when it resumes,
but the writer never saw the 2xx and sends them again — the idempotent schema must absorb that.
"""

from __future__ import annotations

import asyncio
import logging

from conftest import InfluxServer

from energimon.config.influx_settings import InfluxSettings
from energimon.model import Reading
from energimon.store.base import StoreError
from energimon.store.influx import InfluxStore
from energimon.store.spool import Spool
from energimon.store.writer import SpoolWriter

T0 = 1_768_478_400_000  # 2026-01-15 12:00 UTC
DEVICES = ("hovedmaaler", "undermaaler-1", "undermaaler-2", "ventilation")
CHUNKS, PER_CHUNK = 60, 400  # 24,000 readings


def chunk(i: int) -> list[Reading]:
    """Two channels of four devices per instant, unique instants: PER_CHUNK readings."""
    out = []
    for j in range(PER_CHUNK // (2 * len(DEVICES))):
        ts = T0 + (i * PER_CHUNK + j) * 1000
        for d in DEVICES:
            out.append(Reading("soro-raadhus", d, "power_w", "submeter", ts, ts / 1000.0 % 7919))
            out.append(Reading("soro-raadhus", d, "energy_import_wh", "submeter", ts, (ts - T0) / 10.0))
    return out


class CountingStore(InfluxStore):
    """The real store; counts the failed writes so the test knows the outage was felt."""

    failures = 0

    def write(self, readings):
        try:
            return super().write(readings)
        except StoreError:
            type(self).failures += 1
            raise


def test_influxd_paused_and_restarted_mid_run_loses_nothing_and_duplicates_nothing(tmp_path, caplog):
    server = InfluxServer(tmp_path / "influxd").start()
    try:
        settings = InfluxSettings(url=server.url, mode="v1", database="outage", create_database=True, timeout_s=0.5)
        store = CountingStore(settings)
        spool = Spool(tmp_path / "spool.db", synchronous="NORMAL")
        writer = SpoolWriter(spool, store, batch_size=1000, idle_wait_s=0.05, max_backoff_s=0.5)
        expected: dict[tuple[str, str, int], float] = {}

        produced = 0

        async def produce():
            nonlocal produced
            for i in range(CHUNKS):
                batch = chunk(i)
                await asyncio.to_thread(spool.put, batch, "test")
                expected.update({(r.device, r.channel, r.ts_ms): r.value for r in batch})
                produced = i + 1
                writer.wake()
                await asyncio.sleep(0.05)

        async def at_chunk(i: int):
            while produced < i:
                await asyncio.sleep(0.01)

        async def faults():  # while the producer keeps producing
            await at_chunk(10)
            server.pause()  # requests sent now time out; influxd applies them on SIGCONT
            await asyncio.sleep(1.2)
            server.resume()
            await at_chunk(35)
            await asyncio.to_thread(server.stop)  # SIGTERM by PID: connection refused
            await asyncio.sleep(1.0)
            await asyncio.to_thread(server.start)  # same data dir, same port

        async def main():
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            await asyncio.gather(produce(), faults())
            for _ in range(400):
                if spool.backlog() == 0:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await task

        with caplog.at_level(logging.INFO, logger="energimon.writer"):
            asyncio.run(main())
        writer.close()
        assert spool.backlog() == 0 and spool.dead_letters() == []
        assert CountingStore.failures >= 2, "the outage was not felt by the writer"
        assert "store unavailable" in caplog.text and "store reachable again" in caplog.text

        # Count and compare, with the tests' own queries (not through the store code).
        n = CHUNKS * PER_CHUNK
        assert len(expected) == n
        doc = server.query('SELECT count("power_w"), count("energy_import_wh") FROM "electricity"', db="outage")
        assert doc["results"][0]["series"][0]["values"][0][1:] == [n // 2, n // 2]
        doc = server.query('SELECT "power_w", "energy_import_wh" FROM "electricity" GROUP BY "device"', db="outage")
        got: dict[tuple[str, str, int], float] = {}
        rows = 0
        for s in doc["results"][0]["series"]:
            for t, p, e in s["values"]:
                rows += 1
                got[(s["tags"]["device"], "power_w", t)] = p
                got[(s["tags"]["device"], "energy_import_wh", t)] = e
        assert rows == n // 2  # one point per device and instant: no duplicate points
        assert got == expected  # every reading exactly once, with its value
        store.close()
        spool.close()
    finally:
        server.stop()


def test_daemon_store_opens_while_influxd_is_down_and_creates_the_database_when_it_is_up(tmp_path):
    server = InfluxServer(tmp_path / "influxd")  # not started yet: its port refuses connections
    settings = InfluxSettings(url=server.url, mode="v1", database="late", create_database=True, timeout_s=2)
    store = InfluxStore(settings)  # must not raise: the daemon starts and spools
    readings = chunk(0)
    try:
        try:
            store.write(readings)
        except StoreError as exc:
            assert "unreachable" in str(exc)
        else:
            raise AssertionError("write succeeded with influxd down")
        server.start()
        assert store.write(readings) == []
        doc = server.query('SELECT count("power_w") FROM "electricity"', db="late")
        assert doc["results"][0]["series"][0]["values"][0][1] == PER_CHUNK // 2
    finally:
        store.close()
        server.stop()
