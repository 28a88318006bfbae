"""InfluxDB down while the collectors keep producing: paused (SIGSTOP), then stopped for what stands for a
10-minute outage, then started again — every reading lands exactly once.

A real influxd 1.6.7 of its own (stopped and restarted by PID, same data dir and port), a real spool file,
the daemon's SpoolWriter.  Simulated time: the readings a 10-minute outage produces at a 10 s interval
(timestamps spread over 10 minutes) are produced while influxd is down, in about a second of wall time.

* The pause makes writes time out *after* they were sent: influxd applies them when it resumes, but the
  writer never saw the 2xx and sends them again — the idempotent schema must absorb that.
* While influxd is down nothing leaves the spool, and the writer backs off (it does not hammer a dead
  server): failed attempts are bounded by the back-off, and it says so once ("store unavailable").

(Moved here from tests/test_influx_outage.py, with the 10-minute outage and the table row added.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import InfluxServer
from helpers.wait import async_wait_for

from energimon.model import Reading, now_ms
from energimon.store.base import StoreError
from energimon.store.influx import InfluxStore
from energimon.store.settings import InfluxSettings
from energimon.store.spool import Spool
from energimon.store.writer import SpoolWriter
from faults.harness import Tally, assert_exact, influx_rows, tally

SITES = ("soro-raadhus", "stenlille-hallen", "dianalund-bibliotek")
CHANNELS = ("power_w", "energy_import_wh", "voltage_v")


class CountingStore(InfluxStore):
    """The real store; counts failed writes so the test knows the outage was felt, and when."""

    def __init__(self, settings):
        super().__init__(settings)
        self.failures = 0

    def write(self, readings):
        try:
            return super().write(readings)
        except StoreError:
            self.failures += 1
            raise


def tick_readings(t0_ms: int, i: int, interval_s: int, devices: int) -> list[Reading]:
    """One poll of every device at tick ``i``; each value unique in its series (and exact in binary)."""
    ts = t0_ms + i * interval_s * 1000
    out = []
    for d in range(devices):
        site, dev = SITES[d % len(SITES)], f"maaler-{d}"
        out.append(Reading(site, dev, "power_w", "submeter", ts, 1000.0 + i * 0.25 + d))
        out.append(Reading(site, dev, "energy_import_wh", "submeter", ts, 5e6 + i * 12.5 + d * 1e5))
        out.append(Reading(site, dev, "voltage_v", "submeter", ts, 200.0 + i / 64))
    return out


@dataclass
class Outcome:
    tally: Tally
    failures: int  # failed writes in all
    down_failures: int  # failed writes while influxd was stopped
    down_s: float  # how long (wall time) it was stopped
    written_while_down: int  # readings that left the spool while influxd was stopped (must be 0)
    spooled_at_restart: int
    log: str


def run_store_outage(workdir: Path, *, devices: int = 12, interval_s: int = 10, outage_min: float = 10,
                     hold_s: float = 1.5, pause_s: float = 1.2, max_backoff_s: float = 0.5) -> Outcome:
    server = InfluxServer(workdir / "influxd").start()
    log_records: list[str] = []
    handler = _ListHandler(log_records)
    logging.getLogger("energimon.writer").addHandler(handler)
    logging.getLogger("energimon.writer").setLevel(logging.INFO)
    try:
        settings = InfluxSettings(url=server.url, mode="v1", database="outage", create_database=True,
                                  timeout_s=0.5)
        store = CountingStore(settings)
        spool = Spool(workdir / "spool.db", synchronous="NORMAL")
        writer = SpoolWriter(spool, store, batch_size=1000, idle_wait_s=0.05, max_backoff_s=max_backoff_s)
        outage_ticks = round(outage_min * 60 / interval_s)
        t0 = (now_ms() - 2 * 3600_000) // 1000 * 1000
        produced: dict = {}
        state = {"i": 0}
        obs: dict = {}

        async def produce(n: int, spacing_s: float) -> None:
            for _ in range(n):
                batch = tick_readings(t0, state["i"], interval_s, devices)
                state["i"] += 1
                await asyncio.to_thread(spool.put, batch, "test")
                produced.update({(r.site, r.device, r.channel, r.ts_ms): r.value for r in batch})
                writer.wake()
                await asyncio.sleep(spacing_s)

        async def main() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            await produce(10, 0.02)
            server.pause()  # requests sent now time out; influxd applies them on SIGCONT
            await produce(max(1, round(pause_s / 0.05)), 0.05)
            server.resume()
            await produce(5, 0.02)
            await asyncio.to_thread(server.stop)  # SIGTERM by PID: connection refused from now on
            down_at, failures_before = time.monotonic(), store.failures
            # the readings of a 10-minute outage, as fast as the spool takes them
            await produce(outage_ticks, 0.0)
            await async_wait_for(lambda: store.failures > failures_before, 10, "the writer's first failed write",
                                 0.02)
            written_then = writer.written  # from the first failure on, nothing can leave the spool
            await asyncio.sleep(max(0.0, hold_s - (time.monotonic() - down_at)))
            obs["written_while_down"] = writer.written - written_then
            obs["spooled_at_restart"] = spool.backlog()
            obs["down_failures"] = store.failures - failures_before
            await asyncio.to_thread(server.start)  # same data dir, same port
            obs["down_s"] = time.monotonic() - down_at
            await produce(10, 0.02)
            await async_wait_for(lambda: spool.backlog() == 0, 30,
                                 lambda: f"the spool drained ({spool.backlog()} left)")
            stop.set()
            await task

        asyncio.run(main())
        writer.close()
        assert spool.backlog() == 0 and spool.dead_letters() == []
        rows = influx_rows(server, "outage")
        store.close()
        spool.close()
        return Outcome(tally(f"influxdb down ({outage_min:g} min of readings)", produced, rows), store.failures,
                       obs["down_failures"], obs["down_s"], obs["written_while_down"], obs["spooled_at_restart"],
                       "\n".join(log_records))
    finally:
        logging.getLogger("energimon.writer").removeHandler(handler)
        server.stop()


class _ListHandler(logging.Handler):
    def __init__(self, out: list[str]):
        super().__init__(logging.INFO)
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        self.out.append(record.getMessage())


@pytest.mark.slow
def test_influxd_paused_then_down_for_10_minutes_of_readings_loses_and_duplicates_nothing(tmp_path, fault_table):
    out = run_store_outage(tmp_path)
    t = fault_table.add(out.tally)
    assert t.produced == (10 + 24 + 5 + 60 + 10) * 12 * 3  # ticks × devices × channels
    assert_exact(t)
    assert out.failures >= 2, "the outage was not felt by the writer"
    # down: nothing left the spool, all of the outage's readings waited there
    assert out.written_while_down == 0
    assert out.spooled_at_restart >= 60 * 12 * 3
    # back-off, not a busy loop: at most one attempt per max_backoff_s (0.5 s) while down, plus the first few
    assert 1 <= out.down_failures <= out.down_s / 0.5 + 3, (out.down_failures, out.down_s)
    assert out.log.count("store unavailable") <= 3  # said once per distinct error, not per attempt
    assert "store unavailable" in out.log and "store reachable again" in out.log


def test_daemon_store_opens_while_influxd_is_down_and_creates_the_database_when_it_is_up(tmp_path):
    server = InfluxServer(tmp_path / "influxd")  # not started yet: its port refuses connections
    settings = InfluxSettings(url=server.url, mode="v1", database="late", create_database=True, timeout_s=2)
    store = InfluxStore(settings)  # must not raise: the daemon starts and spools
    readings = tick_readings(now_ms() // 1000 * 1000, 0, 10, 4)
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
        assert doc["results"][0]["series"][0]["values"][0][1] == 4
    finally:
        store.close()
        server.stop()
