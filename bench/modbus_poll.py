"""Modbus: the daemon's poll path, until the readings are in the store, against the raw pymodbus client.

One simulated Eastron SDM630 (a pymodbus server in a subprocess, so its work does not share our
event loop).  In pairs, A B A B …, each for ``--polls`` polls back to back:

* **energimon**: the daemon's own objects built from a config (:class:`energimon.app.daemon.Daemon`:
  spool ``synchronous=FULL``, the embedded store, the writer's default batch).  Each poll does what
  ``ModbusPoller.run`` does per tick — ``poll_once`` (plan, 2 coalesced read requests, decode,
  stamp) and ``_deliver`` of the values plus the health readings into ``Daemon.accept`` (the spool
  commit) — while ``SpoolWriter.run`` drains into the store as in the daemon.  The clock stops when the
  store holds every reading (``writer.written``).
* **reference**: the same two read requests with a bare ``AsyncModbusTcpClient``, answers discarded.

Unit: polls/s (one poll = 7 values + 3 health readings = 10 readings).  Goal: ratio >= 0.5.
``--jitter``: also N devices on a wall-clock interval (poll start minus the tick it was due).

    .venv/bin/python bench/modbus_poll.py [--quick] [--pairs N] [--polls N] [--jitter]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import Row, add_common_args, bench_dir, emit, free_port, machine_line, pairs, stop_process

SERVER_CODE = r"""
import asyncio, json, sys, time
from energimon.collector.simulator.buildings import SORO_BUILDINGS, MainMeter
from energimon.collector.simulator.modbus_server import SimulatedMeter
from energimon.logs import setup_logging
from pymodbus.server import ModbusTcpServer

async def main(ports):
    setup_logging("ERROR")
    servers = []
    for i, port in enumerate(ports):
        b = SORO_BUILDINGS[i % 3]
        m = SimulatedMeter(b, port, MainMeter(b, time.time()))
        s = ModbusTcpServer(m.device(), address=("127.0.0.1", port))
        servers.append(asyncio.create_task(s.serve_forever()))
    await asyncio.sleep(0.5)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(json.loads(sys.argv[1])))
"""
READINGS_PER_POLL = 10


def start_servers(ports: list[int]) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE, json.dumps(ports)], stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        stop_process(proc)
        raise RuntimeError("simulated devices did not start")
    return proc


def daemon_for(root: Path, ports: list[int], interval_s: float = 10.0):
    from energimon.app.daemon import Daemon
    from energimon.config.settings import settings_from_dict

    settings = settings_from_dict({
        "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "spool": {"path": str(root / "spool.db")},  # production defaults: FULL, batch 10,000
        "store": {"kind": "sqlite", "path": str(root / "store.db")},
        "devices": [{"protocol": "modbus_tcp", "site": "soro-raadhus", "id": f"m{i}", "role": "grid",
                     "host": "127.0.0.1", "port": port, "profile": "eastron.sdm630", "interval_s": interval_s,
                     "timeout_s": 3} for i, port in enumerate(ports)],
    })
    return Daemon(settings)


async def raw_polls(port: int, n: int) -> float:
    from pymodbus.client import AsyncModbusTcpClient

    from energimon.collector.modbus.profiles import load_profile
    from energimon.collector.modbus.registers import plan_reads

    p = load_profile("eastron.sdm630")
    blocks = plan_reads(p.fields, p.max_registers_per_read, p.max_gap)
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, reconnect_delay=0)
    await client.connect()
    t0 = time.perf_counter()
    for _ in range(n):
        for b in blocks:
            rr = await client.read_input_registers(b.address, count=b.count, device_id=1)
            assert not rr.isError()
    t = time.perf_counter() - t0
    client.close()
    return t


async def daemon_polls(daemon, n: int) -> float:
    """``n`` polls through the daemon's path; seconds until the store holds all their readings."""
    poller, writer = daemon.pollers[0], daemon.writer
    stop = asyncio.Event()
    t0 = time.perf_counter()
    writer_task = asyncio.create_task(writer.run(stop))
    for _ in range(n):  # what ModbusPoller.run does per tick, without waiting for the tick
        readings = await poller.poll_once()
        ts = readings[-1].ts_ms
        ok = await poller._deliver([*readings, *poller.health_readings(ts, with_identity=bool(readings))])
        assert ok and len(readings) == 7
    while writer.written < daemon.accepted:  # every accepted reading is in the store
        await asyncio.sleep(0.0005)
    t = time.perf_counter() - t0
    stop.set()
    await writer_task
    assert daemon.spool.backlog() == 0
    return t


async def jitter(ports: list[int], interval_s: float, ticks: int, root: Path) -> list[float]:
    from energimon.collector.modbus import poller as poller_mod

    daemon = daemon_for(root, ports, interval_s)
    lateness: list[float] = []
    for p in daemon.pollers:  # when each poll actually starts, against the tick it was due
        original = p.poll_once

        async def timed(original=original):
            now = time.time()
            lateness.append(now - (now // interval_s) * interval_s)
            return await original()

        p.poll_once = timed
    stop_event = asyncio.Event()
    start = poller_mod.next_tick(time.time(), interval_s)
    tasks = [asyncio.create_task(p.run(stop_event)) for p in daemon.pollers]
    tasks.append(asyncio.create_task(daemon.writer.run(stop_event)))
    await asyncio.sleep(start - time.time() + interval_s * ticks - interval_s / 2)
    stop_event.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    daemon.close()
    return lateness


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--polls", type=int, default=None, help="polls per run (default 2000, quick 300)")
    ap.add_argument("--jitter", action="store_true", help="also the poll jitter of 200 devices (50 with --quick)")
    args = ap.parse_args()
    n = args.polls or (300 if args.quick else 2000)
    n_pairs = args.pairs or (3 if args.quick else 7)

    from energimon.logs import setup_logging

    setup_logging("ERROR")
    print(f"Modbus: {n} polls per run, {n_pairs} pairs; {machine_line()}", file=sys.stderr)
    with bench_dir(args.dir) as root:
        port = free_port()
        proc = start_servers([port])
        try:
            daemon = daemon_for(root / "daemon", [port])
            loop = asyncio.new_event_loop()
            loop.run_until_complete(daemon_polls(daemon, 20))  # warm-up: connection, plan, imports
            p, r, load = pairs(n_pairs, lambda: loop.run_until_complete(daemon_polls(daemon, n)),
                               lambda: asyncio.run(raw_polls(port, n)), progress="modbus")
            stored = daemon.store.read_raw_ms  # the store must hold every poll's readings
            from energimon.model import SeriesKey

            ts, _ = stored(SeriesKey("soro-raadhus", "m0", "device_online"), 0, 2**62)
            loop.close()
            daemon.close()
            if len(ts) != 20 + n * n_pairs:
                print(f"ERROR: the store holds {len(ts)} polls, expected {20 + n * n_pairs}", file=sys.stderr)
                return 1
        finally:
            stop_process(proc)
        rows = [Row("modbus_poll", "Modbus: poll → spool (FULL) → embedded store, vs raw reads", "polls/s", n,
                    "rate", "raw pymodbus AsyncModbusTcpClient, same 2 requests per poll", p, r,
                    {"ratio_min": 0.5}, load, per={"readings/s": READINGS_PER_POLL})]
        emit(rows, args.json)
        if args.jitter:
            n_dev = 50 if args.quick else 200
            interval = 2.0 if args.quick else 10.0
            ports = [free_port() for _ in range(n_dev)]
            proc = start_servers(ports)
            try:
                late = sorted(asyncio.run(jitter(ports, interval, 2 if args.quick else 4, root / "jitter")))
            finally:
                stop_process(proc)

            def pct(q: float) -> float:
                return late[min(len(late) - 1, int(q / 100 * len(late)))] * 1000

            print(f"jitter, {n_dev} devices every {interval:g} s, {len(late)} polls: p50 {pct(50):.1f} ms, "
                  f"p99 {pct(99):.1f} ms, max {late[-1] * 1000:.1f} ms; RSS (max) "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
