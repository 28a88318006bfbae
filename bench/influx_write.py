"""From the spool into a real influxd (Debian 1.6.7, loopback): the writer against a bare POST of the same bytes.

Starts influxd from a temporary config on a free 127.0.0.1 port (stopped by PID at the end).  The fleet
looks like the daemon's: 300 grid meters × 4 channels, one reading per series per minute; the four
channels of a meter at one instant share one line, so **1 point = 1 line = 4 readings** (field values).
In pairs, A B A B …, each into a fresh database:

* **energimon**: a spool file (``synchronous=FULL``) holding N readings (filled untimed), drained by
  ``SpoolWriter.run`` at the default batch (10,000 readings) into ``InfluxStore`` (v1 mode: line protocol,
  ``POST /write?precision=ms``), each batch acknowledged in the spool after the 204: the daemon's path.
  The clock stops when the last batch is acknowledged (every point durable in influxd).
* **reference**: the same line-protocol bytes, built beforehand, one ``POST /write`` per batch with
  ``urllib.request`` — nothing else.

Goal: >= 50,000 points/s and >= 0.5 of the bare POST.  Every database is counted afterwards (a lost or
duplicated reading is an error, exit 1).  ``--breakdown`` also times ``InfluxStore.write`` alone and the
spool's take+ack alone (best of the pairs; not in the table).  ``--device-time``: readings with the
device's own time (the collision check before every batch).

    .venv/bin/python bench/influx_write.py [--quick] [--pairs N] [--batch 10000] [--breakdown] [--device-time]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import urllib.request
from pathlib import Path

from _common import Influxd, Row, add_common_args, bench_dir, emit, machine_line, pairs, time_once

from energimon.model import DeviceTimedReading, Reading
from energimon.store.influx import InfluxStore
from energimon.store.settings import InfluxSettings
from energimon.store.spool import Spool
from energimon.store.writer import SpoolWriter

CHANNELS = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v")
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def fleet(n: int, meters: int = 300, device_time: bool = False) -> list[Reading]:
    cls = DeviceTimedReading if device_time else Reading
    out: list[Reading] = []
    for minute in itertools.count():
        for m in range(meters):
            for i, ch in enumerate(CHANNELS):
                out.append(cls("soro-raadhus", f"maaler-{m:03d}", ch, "grid", T0 + minute * 60_000,
                               230.0 + i if ch == "voltage_v" else 1000.0 * m + minute + i / 7))
                if len(out) == n:
                    return out
    raise AssertionError


class Bench:
    def __init__(self, server: Influxd, root: Path, readings: list[Reading], batch: int):
        self.server, self.root, self.readings, self.batch = server, root, readings, batch
        self.chunks = [readings[i:i + batch] for i in range(0, len(readings), batch)]
        self.dbs = itertools.count()
        self.errors = 0
        self.breakdown: dict[str, list[float]] = {"store.write": [], "spool take+ack": []}

    def fresh_db(self) -> str:
        db = f"bench_{next(self.dbs)}"
        self.server.query(f"CREATE DATABASE {db}")
        return db

    def check_and_drop(self, db: str) -> None:
        doc = self.server.query("SELECT count(power_w), count(energy_import_wh), count(energy_export_wh), "
                                "count(voltage_v) FROM electricity", db=db)
        counts = doc["results"][0]["series"][0]["values"][0][1:]
        if sum(counts) != len(self.readings) or len(set(counts)) != 1:
            print(f"ERROR: database {db} holds {counts} readings, expected {len(self.readings)}", file=sys.stderr)
            self.errors += 1
        self.server.query(f"DROP DATABASE {db}")

    def filled_spool(self) -> Spool:
        path = self.root / f"spool-{next(self.dbs)}.db"
        spool = Spool(path, max_readings=10 * len(self.readings))  # synchronous=FULL, the default
        for c in self.chunks:
            spool.put(c, "bench")
        return spool

    def store(self, db: str) -> InfluxStore:
        return InfluxStore(InfluxSettings(url=self.server.url, mode="v1", database=db, timeout_s=120))

    def energimon(self) -> float:
        db, spool = self.fresh_db(), self.filled_spool()
        store = self.store(db)
        writer = SpoolWriter(spool, store, batch_size=self.batch)
        n = len(self.readings)

        async def drain() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            while writer.written < n:
                await asyncio.sleep(0.0005)
            stop.set()
            await task

        t = time_once(lambda: asyncio.run(drain()))
        assert spool.backlog() == 0 and spool.dead_letters() == [], "readings left in the spool"
        writer.close()
        store.close()
        spool.close()
        self.check_and_drop(db)
        return t

    def reference(self) -> float:
        db = self.fresh_db()
        builder = self.store(db)
        bodies = ["\n".join(ln.text for ln in builder.lines(c)).encode() for c in self.chunks]
        builder.close()
        endpoint = f"{self.server.url}/write?db={db}&precision=ms"

        def go() -> None:
            for body in bodies:
                with urllib.request.urlopen(urllib.request.Request(endpoint, data=body, method="POST"),
                                            timeout=120) as resp:
                    assert resp.status == 204

        t = time_once(go)
        self.check_and_drop(db)
        return t

    def more(self) -> None:
        """The parts of ``energimon`` alone: InfluxStore.write on the batches, and the spool's take+ack."""
        db = self.fresh_db()
        store = self.store(db)

        def write() -> None:
            for c in self.chunks:
                assert not store.write(c)

        self.breakdown["store.write"].append(time_once(write))
        store.close()
        self.check_and_drop(db)
        spool = self.filled_spool()

        def take_ack() -> None:
            while (b := spool.take(self.batch)) is not None:
                spool.ack(b)

        self.breakdown["spool take+ack"].append(time_once(take_ack))
        spool.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--readings", type=int, default=None, help="readings per run (default 300,000, quick 40,000)")
    ap.add_argument("--batch", type=int, default=10_000, help="the writer's batch (default: the production 10,000)")
    ap.add_argument("--breakdown", action="store_true", help="also time store.write alone and take+ack alone")
    ap.add_argument("--device-time", action="store_true", help="readings with the device's own time")
    args = ap.parse_args()
    n = args.readings or (40_000 if args.quick else 300_000)
    n_pairs = args.pairs or (3 if args.quick else 7)
    readings = fleet(n, device_time=args.device_time)
    print(f"InfluxDB: {n:,} readings = {n // 4:,} points per run, batch {args.batch:,}, {n_pairs} pairs; "
          f"{machine_line()}", file=sys.stderr)
    with bench_dir(args.dir) as root, Influxd(root / "influxd") as server:
        b = Bench(server, root, readings, args.batch)
        b.energimon()  # warm-up
        p, r, load = pairs(n_pairs, b.energimon, b.reference, progress="influx")
        if args.breakdown:
            for _ in range(n_pairs):
                b.more()
            for name, runs in b.breakdown.items():
                print(f"  {name} alone (best of {n_pairs}): {n / 4 / min(runs):,.0f} points/s")
        version = server.version()
    what = "device-time readings (collision check per batch)" if args.device_time else "readings energimon stamped"
    rows = [Row("influx_write", f"spool (FULL) → influxd {version}, writer batch {args.batch:,} readings",
                "points/s", n / 4, "rate", f"bare POST /write of the same line protocol (influxd {version})",
                p, r, {"rate_min": 50_000, "ratio_min": 0.5}, load, f"1 point = 4 readings; {what}",
                per={"readings/s": 4})]
    emit(rows, args.json)
    return 1 if b.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
