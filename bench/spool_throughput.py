"""From the spool into the embedded SQLite store: the writer against raw sqlite3 inserts of the same points.

The fleet looks like the daemon's: 300 grid meters × 4 channels (1,200 series), one reading per series
per minute, in poll order, so every batch mixes every series.  In pairs, A B A B …, each run writing N
new readings (later minutes each time) into a store that keeps growing across the runs:

* **energimon**: a spool file (``synchronous=FULL``) holding N readings (filled untimed), drained by
  ``SpoolWriter.run`` at the default batch (10,000) into ``SqliteStore``: take, write (validation, series
  ids, the upsert, commit), ack (fsync).  The clock stops when the last batch is acknowledged.
* **reference**: raw ``sqlite3``: the same points as prebuilt ``(series_id, ts_ms, value)`` tuples,
  ``executemany`` of the store's own upsert into a file with the store's schema and pragmas, one
  ``BEGIN IMMEDIATE … COMMIT`` per 10,000.

Unit: readings/s (one reading = one stored point).  Goal: >= 100,000 readings/s.
``--put``: also ``Spool.put`` (batch 1,000, FULL) against raw inserts into a spool-shaped table (pairs).

    .venv/bin/python bench/spool_throughput.py [--quick] [--pairs N] [--readings N] [--put]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
from pathlib import Path

from _common import Row, add_common_args, bench_dir, emit, file_bytes, machine_line, pairs, time_once

from energimon.model import Reading
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore
from energimon.store.writer import SpoolWriter

SITES = ("soroe-raadhus", "stenlille-hallen", "dianalund-bibliotek")
GRID_CHANNELS = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v")
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: in the past, so validation accepts it
BATCH = 10_000  # the writer's default (spool.batch_size)
STORE_UPSERT = ("INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
                "ON CONFLICT (series_id, ts_ms) DO UPDATE SET value = excluded.value")


def make_readings(n: int, first_cycle: int, devices: int = 300, seed: int = 1) -> list[Reading]:
    """``n`` readings as the daemon sees them: every minute one reading of each series of each grid meter."""
    rng = random.Random(seed + first_cycle)
    series = [(SITES[d % len(SITES)], f"meter-{d:03d}", ch) for d in range(devices) for ch in GRID_CHANNELS]
    out: list[Reading] = []
    for i in range(n):
        cycle, j = divmod(i, len(series))
        cycle += first_cycle
        site, device, channel = series[j]
        if channel == "power_w":
            value = 1500.0 + round(rng.uniform(-500.0, 500.0), 1)
        elif channel == "energy_import_wh":
            value = 1_000_000.0 + 25.0 * cycle + j
        elif channel == "energy_export_wh":
            value = 2.5 * cycle
        else:
            value = 230.0 + round(rng.uniform(-3.0, 3.0), 1)
        out.append(Reading(site, device, channel, "grid", BASE_MS + cycle * 60_000, value))
    return out


class Bench:
    def __init__(self, root: Path, n: int):
        self.root, self.n = root, n
        self.cycle = 0
        self.store = SqliteStore(root / "store.db")
        self.ref_path = root / "raw.db"
        self.spools = 0
        self.series: dict[tuple[str, str, str], int] = {}
        self.ref = sqlite3.connect(self.ref_path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "wal_autocheckpoint=10000"):
            self.ref.execute(f"PRAGMA {pragma}")  # the store's own pragmas (store/sqlite.py)
        self.ref.executescript(
            "CREATE TABLE series (id INTEGER PRIMARY KEY, site TEXT, device TEXT, channel TEXT, role TEXT);"
            "CREATE TABLE points (series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL, "
            "PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID;")

    def next_readings(self) -> list[Reading]:
        readings = make_readings(self.n, self.cycle)
        self.cycle += -(-self.n // 1200)
        return readings

    def energimon(self) -> float:
        readings = self.next_readings()
        self.spools += 1
        spool = Spool(self.root / f"spool-{self.spools}.db", max_readings=10 * self.n)  # FULL, the default
        for i in range(0, len(readings), 1000):
            spool.put(readings[i:i + 1000], "bench")
        writer = SpoolWriter(spool, self.store, batch_size=BATCH)

        async def drain() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(writer.run(stop))
            while writer.written < self.n:
                await asyncio.sleep(0.0005)
            stop.set()
            await task

        t = time_once(lambda: asyncio.run(drain()))
        assert spool.backlog() == 0 and spool.dead_letters() == [], "readings left in the spool"
        writer.close()
        spool.close()
        (self.root / f"spool-{self.spools}.db").unlink()
        return t

    def reference(self) -> float:
        readings = self.next_readings()
        for r in readings:
            key = (r.site, r.device, r.channel)
            if key not in self.series:
                self.series[key] = self.ref.execute("INSERT INTO series (site, device, channel, role) "
                                                    "VALUES (?, ?, ?, ?)", (*key, r.role)).lastrowid
        rows = [(self.series[(r.site, r.device, r.channel)], r.ts_ms, r.value) for r in readings]
        batches = [rows[i:i + BATCH] for i in range(0, len(rows), BATCH)]

        def go() -> None:
            for b in batches:
                self.ref.execute("BEGIN IMMEDIATE")
                self.ref.executemany(STORE_UPSERT, b)
                self.ref.execute("COMMIT")

        return time_once(go)

    def check(self, runs: int) -> None:
        db = sqlite3.connect(self.root / "store.db")
        (got,) = db.execute("SELECT count(*) FROM points").fetchone()
        db.close()
        if got != self.n * (runs + 1):  # + the warm-up run
            raise SystemExit(f"ERROR: the store holds {got} points, expected {self.n * (runs + 1)}")


def put_pairs(root: Path, n: int, n_pairs: int) -> Row:
    readings = make_readings(n, 0)
    batches = [readings[i:i + 1000] for i in range(0, n, 1000)]
    counter = iter(range(10**6))

    def energimon() -> float:
        spool = Spool(root / f"put-{next(counter)}.db", max_readings=10 * n)
        t = time_once(lambda: [spool.put(b, "bench") for b in batches])
        assert spool.backlog() == n
        spool.close()
        return t

    def reference() -> float:
        db = sqlite3.connect(root / f"put-raw-{next(counter)}.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, "
                   "device TEXT NOT NULL, channel TEXT NOT NULL, role TEXT NOT NULL, ts_ms INTEGER NOT NULL, "
                   "value REAL NOT NULL, keep INTEGER NOT NULL DEFAULT 0)")
        tuples = [[(r.site, r.device, r.channel, r.role, r.ts_ms, r.value) for r in b] for b in batches]

        def go() -> None:
            for b in tuples:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO readings (site, device, channel, role, ts_ms, value) "
                               "VALUES (?, ?, ?, ?, ?, ?)", b)
                db.execute("COMMIT")

        t = time_once(go)
        db.close()
        return t

    p, r, load = pairs(n_pairs, energimon, reference, progress="spool.put")
    return Row("spool_throughput", "Spool.put, batch 1,000, FULL", "readings/s", n, "rate",
               "raw sqlite3 executemany into the spool's table, same pragmas", p, r, {}, load)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--readings", type=int, default=None, help="readings per run (default 300,000, quick 60,000)")
    ap.add_argument("--put", action="store_true", help="also Spool.put against raw inserts")
    args = ap.parse_args()
    n = args.readings or (60_000 if args.quick else 300_000)
    n_pairs = args.pairs or (3 if args.quick else 7)
    print(f"spool → embedded store: {n:,} readings per run, batch {BATCH:,}, {n_pairs} pairs; {machine_line()}",
          file=sys.stderr)
    with bench_dir(args.dir) as root:
        b = Bench(root, n)
        b.energimon()  # warm-up: the store's series ids and first pages
        b.reference()
        p, r, load = pairs(n_pairs, b.energimon, b.reference, progress="spool→store")
        b.check(n_pairs)
        size = file_bytes(root / "store.db")
        b.store.close()
        rows = [Row("spool_throughput", "spool (FULL) → embedded SQLite store, writer batch 10,000", "readings/s",
                    n, "rate", "raw sqlite3 executemany of the same points (store's schema, upsert, pragmas)",
                    p, r, {"rate_min": 100_000}, load,
                    f"store grows to {n * (n_pairs + 1):,} points ({size / 1e6:.0f} MB) during the run")]
        if args.put:
            rows.append(put_pairs(root, n, n_pairs))
    emit(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
