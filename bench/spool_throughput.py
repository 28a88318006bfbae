"""Throughput of the durable spool and of the spool -> SqliteStore path.

(a) readings/s into the spool through ``Spool.put`` (batch sizes x synchronous
    FULL/NORMAL); baseline: raw ``sqlite3`` ``executemany`` of the same tuples into
    a same-shaped table with the same pragmas and the same transaction per batch.
(b) readings/s from the spool into the embedded store through
    ``SpoolWriter.drain_once`` (and through take/write/ack called directly, with
    a breakdown), and ``SqliteStore.write`` alone; baseline: raw ``executemany``
    of prebuilt ``(series_id, ts_ms, value)`` tuples into a same-shaped
    ``WITHOUT ROWID`` table with the same upsert, pragmas and batch size.
    Goal (issue): >= 100,000 readings/s into the store.

Also prints the spool's on-disk bytes per reading (to size ``max_readings``).

Every figure is the best of ``--repeat`` runs; cases and their baseline run
interleaved so they share the machine's noise, and each is also given as a
ratio against its baseline (``1.00`` = as fast as raw sqlite3).

    .venv/bin/python bench/spool_throughput.py            # full sizes, < 2 min
    .venv/bin/python bench/spool_throughput.py --quick    # CI smoke run, a few seconds

Exit status is non-zero only on errors (an exception, readings lost or
duplicated), never for missing the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from _common import (
    bench_dir,
    best_of,
    file_bytes,
    fmt_rate,
    fresh_subdir,
    machine_line,
    print_table,
    time_once,
    written_bytes,
)

from energimon.model import Reading
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore
from energimon.store.writer import SpoolWriter

GOAL_STORE_RATE = 100_000  # readings/s into the store (issue)

SITES = ("soroe-raadhus", "stenlille-hallen", "dianalund-bibliotek")
GRID_CHANNELS = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v")
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: in the past, so validation accepts it

SPOOL_DDL = """
CREATE TABLE readings (
    id      INTEGER PRIMARY KEY,
    site    TEXT NOT NULL,
    device  TEXT NOT NULL,
    channel TEXT NOT NULL,
    role    TEXT NOT NULL,
    ts_ms   INTEGER NOT NULL,
    value   REAL NOT NULL
);
"""
SPOOL_INSERT = "INSERT INTO readings (site, device, channel, role, ts_ms, value) VALUES (?, ?, ?, ?, ?, ?)"

STORE_DDL = """
CREATE TABLE series (
    id      INTEGER PRIMARY KEY,
    site    TEXT NOT NULL,
    device  TEXT NOT NULL,
    channel TEXT NOT NULL,
    role    TEXT NOT NULL,
    UNIQUE (site, device, channel)
);
CREATE TABLE points (
    series_id INTEGER NOT NULL REFERENCES series(id),
    ts_ms     INTEGER NOT NULL,
    value     REAL NOT NULL,
    PRIMARY KEY (series_id, ts_ms)
) WITHOUT ROWID;
"""
# what-if for the store (see README): a 64 MiB page cache and a 40 MB WAL before auto-checkpoint
TUNED_PRAGMAS = ("PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=10000")
STORE_UPSERT = (
    "INSERT INTO points (series_id, ts_ms, value) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id, ts_ms) DO UPDATE SET value = excluded.value"
)


@dataclass(frozen=True)
class Sizes:
    put: dict[int, int]  # batch size -> readings per run
    store_n: int  # readings written into the store per run
    store_batch: int
    drain_batches: tuple[int, ...]
    devices: int
    grown_rows: int  # points already in the store for (c)
    grown_n: int  # readings written into it per run


FULL = Sizes(put={1: 2_000, 100: 50_000, 1000: 200_000}, store_n=300_000, store_batch=5000,
             drain_batches=(1000, 5000, 20_000), devices=300, grown_rows=3_000_000, grown_n=150_000)
QUICK = Sizes(put={1: 200, 100: 5_000, 1000: 20_000}, store_n=20_000, store_batch=5000,
              drain_batches=(5000,), devices=50, grown_rows=100_000, grown_n=20_000)


def make_readings(n: int, devices: int, seed: int = 1) -> list[Reading]:
    """``n`` readings as the daemon sees them: every minute one reading of each series of each grid meter."""
    rng = random.Random(seed)
    series = [(SITES[d % len(SITES)], f"meter-{d:03d}", ch) for d in range(devices) for ch in GRID_CHANNELS]
    out: list[Reading] = []
    for i in range(n):
        cycle, j = divmod(i, len(series))
        site, device, channel = series[j]
        ts = BASE_MS + cycle * 60_000
        if channel == "power_w":
            value = 1500.0 + rng.uniform(-500.0, 500.0)
        elif channel == "energy_import_wh":
            value = 1_000_000.0 + 25.0 * cycle + j
        elif channel == "energy_export_wh":
            value = 2.5 * cycle
        else:
            value = 230.0 + rng.uniform(-3.0, 3.0)
        out.append(Reading(site, device, channel, "grid", ts, value))
    return out


WRITTEN: dict[str, int] = {}  # case -> bytes passed to write(2) during its last timed run


def timed(case: str, fn) -> float:
    """:func:`time_once`, also noting how many bytes the process wrote meanwhile (SQLite's WAL and checkpoints)."""
    w0 = written_bytes()
    secs = time_once(fn)
    w1 = written_bytes()
    if w0 is not None and w1 is not None:
        WRITTEN[case] = w1 - w0
    return secs


def per_reading(case: str, n: int) -> str:
    return f"{WRITTEN[case] / n:,.0f}" if case in WRITTEN else "-"


def batched(seq: list, size: int) -> list[list]:
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def raw_connect(path: Path, synchronous: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=10000")
    return db


def raw_batches(db: sqlite3.Connection, sql: str, batches: list[list[tuple]]) -> None:
    for rows in batches:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(sql, rows)
        db.execute("COMMIT")


def count_rows(path: Path, table: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


# -- (a) into the spool -----------------------------------------------------------------------------
def bench_put(root: Path, readings: list[Reading], sizes: Sizes, repeat: int) -> list[list[str]]:
    rows: list[list[str]] = []
    state: dict = {}
    for sync in ("FULL", "NORMAL"):
        for bs, n in sizes.put.items():
            batches = batched(readings[:n], bs)
            tuples = [[(r.site, r.device, r.channel, r.role, r.ts_ms, r.value) for r in b] for b in batches]

            def setup_spool(sync=sync):
                state["spool"] = Spool(fresh_subdir(root, "put") / "spool.db", max_readings=10**9, synchronous=sync)

            def run_spool(batches=batches, n=n, case=f"put-{sync}-{bs}"):
                spool = state.pop("spool")
                secs = timed(case, lambda: [spool.put(b, source="bench") for b in batches])
                backlog = spool.backlog()
                spool.close()
                if backlog != n:
                    raise RuntimeError(f"spool holds {backlog} readings after putting {n}")
                return secs

            def setup_raw(sync=sync):
                db = raw_connect(fresh_subdir(root, "put-raw") / "raw.db", sync)
                db.executescript(SPOOL_DDL)
                state["db"] = db

            def run_raw(tuples=tuples, case=f"raw-{sync}-{bs}"):
                db = state.pop("db")
                secs = timed(case, lambda: raw_batches(db, SPOOL_INSERT, tuples))
                db.close()
                return secs

            t_spool, t_raw = best_of(repeat, (setup_spool, run_spool), (setup_raw, run_raw))
            rate, base = n / t_spool.best, n / t_raw.best
            rows.append([f"Spool.put  sync={sync:<6} batch={bs}", f"{n:,}", fmt_rate(rate), fmt_rate(base),
                         f"{rate / base:.2f}", f"{bs * 1e6 / rate:,.0f}", per_reading(f"put-{sync}-{bs}", n),
                         per_reading(f"raw-{sync}-{bs}", n)])
    return rows


def spool_bytes_per_reading(root: Path, readings: list[Reading]) -> tuple[int, float]:
    path = fresh_subdir(root, "size") / "spool.db"
    spool = Spool(path, max_readings=10**9, synchronous="NORMAL")
    for b in batched(readings, 5000):
        spool.put(b, source="bench")
    spool.close()  # the last connection checkpoints and removes the WAL
    return len(readings), file_bytes(path) / len(readings)


# -- (b) into the store -----------------------------------------------------------------------------
def series_ids(readings: list[Reading]) -> dict[tuple[str, str, str], int]:
    ids: dict[tuple[str, str, str], int] = {}
    for r in readings:
        ids.setdefault((r.site, r.device, r.channel), len(ids) + 1)
    return ids


def raw_store_case(root: Path, readings: list[Reading], batch: int, state: dict, case: str, pragmas: tuple = ()):
    ids = series_ids(readings)
    roles = {(r.site, r.device, r.channel): r.role for r in readings}
    tuples = [[(ids[(r.site, r.device, r.channel)], r.ts_ms, r.value) for r in b] for b in batched(readings, batch)]

    def setup():
        db = raw_connect(fresh_subdir(root, "store-raw") / "raw.db", "NORMAL")
        for pragma in pragmas:
            db.execute(pragma)
        db.executescript(STORE_DDL)
        db.executemany("INSERT INTO series (id, site, device, channel, role) VALUES (?, ?, ?, ?, ?)",
                       [(sid, *key, roles[key]) for key, sid in ids.items()])
        state["raw"] = db

    def run():
        db = state.pop("raw")
        secs = timed(case, lambda: raw_batches(db, STORE_UPSERT, tuples))
        db.close()
        return secs

    return setup, run


def bench_store(root: Path, readings: list[Reading], sizes: Sizes, repeat: int) -> tuple[list[list[str]], list[str]]:
    n = len(readings)
    state: dict = {}
    notes: list[str] = []

    # a prefilled spool, copied for every run so each drain starts from the same file
    master = fresh_subdir(root, "master") / "spool.db"
    spool = Spool(master, max_readings=10**9, synchronous="NORMAL")
    for b in batched(readings, 5000):
        spool.put(b, source="bench")
    spool.close()

    def open_pair(name: str) -> tuple[Spool, SqliteStore, Path]:
        d = fresh_subdir(root, name)
        shutil.copyfile(master, d / "spool.db")
        # synchronous FULL: the spool as the daemon opens it by default (ack's DELETE commits with fsync)
        return Spool(d / "spool.db", max_readings=10**9, synchronous="FULL"), SqliteStore(d / "store.db"), d

    def check(spool: Spool, store: SqliteStore, d: Path, what: str) -> None:
        backlog = spool.backlog()
        spool.close()
        store.close()
        stored = count_rows(d / "store.db", "points")
        if backlog != 0 or stored != n:
            raise RuntimeError(f"{what}: {stored} points stored and {backlog} left in the spool, expected {n} and 0")

    # -- SqliteStore.write alone
    write_batches = batched(readings, sizes.store_batch)

    def setup_write():
        state["store"] = SqliteStore(fresh_subdir(root, "store") / "store.db")

    def run_write():
        store = state.pop("store")
        secs = timed("write", lambda: [store.write(b) for b in write_batches])
        store.close()
        return secs

    # -- SpoolWriter.drain_once, as the daemon's writer task runs it
    def make_drain(batch: int):
        def setup():
            state["drain"] = open_pair("drain")

        def run():
            spool, store, d = state.pop("drain")
            writer = SpoolWriter(spool, store, batch_size=batch)

            async def drain() -> None:
                while await writer.drain_once():
                    pass

            secs = timed(f"drain-{batch}", lambda: asyncio.run(drain()))
            writer.close()
            check(spool, store, d, f"drain_once batch={batch}")
            return secs

        return setup, run

    # -- take / write / ack called directly (no event loop, no thread hops), with a breakdown
    parts: dict[str, list[float]] = {"take": [], "write": [], "ack": []}

    def setup_direct():
        state["direct"] = open_pair("direct")

    def run_direct():
        spool, store, d = state.pop("direct")
        acc = {"take": 0.0, "write": 0.0, "ack": 0.0}

        def go() -> None:
            pc = time.perf_counter
            while True:
                t0 = pc()
                batch = spool.take(sizes.store_batch)
                t1 = pc()
                acc["take"] += t1 - t0
                if batch is None:
                    return
                store.write(batch.readings)
                t2 = pc()
                spool.ack(batch)
                acc["write"] += t2 - t1
                acc["ack"] += pc() - t2

        secs = timed("direct", go)
        check(spool, store, d, "take/write/ack")
        for k, v in acc.items():
            parts[k].append(v)
        return secs

    cases = [raw_store_case(root, readings, sizes.store_batch, state, "raw"),
             (setup_write, run_write), (setup_direct, run_direct)]
    keys = ["write", "direct"]
    labels = [f"SqliteStore.write  batch={sizes.store_batch}", f"take/write/ack     batch={sizes.store_batch}"]
    for b in sizes.drain_batches:
        cases.append(make_drain(b))
        keys.append(f"drain-{b}")
        labels.append(f"SpoolWriter.drain_once batch={b}")
    # what-if: the raw baseline with the pragmas suggested for SqliteStore (not a goal row)
    cases.append(raw_store_case(root, readings, sizes.store_batch, state, "raw-tuned", TUNED_PRAGMAS))
    timings = best_of(repeat, *cases)
    base = n / timings[0].best
    rows = [[f"raw executemany    batch={sizes.store_batch}", f"{n:,}", fmt_rate(base), fmt_rate(base), "1.00",
             per_reading("raw", n), "-"]]
    for key, label, t in zip(keys, labels, timings[1:-1], strict=True):
        rate = n / t.best
        verdict = "PASS" if rate >= GOAL_STORE_RATE else "MISS"
        rows.append([label, f"{n:,}", fmt_rate(rate), fmt_rate(base), f"{rate / base:.2f}", per_reading(key, n),
                     verdict])
    rate = n / timings[-1].best
    rows.append(["what-if: raw + cache_size/autocheckpoint", f"{n:,}", fmt_rate(rate), fmt_rate(base),
                 f"{rate / base:.2f}", per_reading("raw-tuned", n), "-"])

    best_i = min(range(repeat), key=lambda i: parts["take"][i] + parts["write"][i] + parts["ack"][i])
    total = sum(parts[k][best_i] for k in parts)
    notes.append(
        "take/write/ack breakdown (best run): "
        + ", ".join(f"{k} {parts[k][best_i]:.3f} s ({parts[k][best_i] / total:.0%})" for k in parts)
    )
    return rows, notes


# -- (c) into a store that already holds data ---------------------------------------------------
def bench_grown_store(root: Path, readings: list[Reading], sizes: Sizes, repeat: int) -> list[list[str]]:
    """``SqliteStore.write`` into a store already holding ``grown_rows`` older points of the same series."""
    n = len(readings)
    ids = series_ids(readings)
    roles = {(r.site, r.device, r.channel): r.role for r in readings}
    per_series = sizes.grown_rows // len(ids)
    master = fresh_subdir(root, "grown-master") / "store.db"
    db = raw_connect(master, "OFF")
    db.executescript(STORE_DDL)
    db.executemany("INSERT INTO series (id, site, device, channel, role) VALUES (?, ?, ?, ?, ?)",
                   [(sid, *key, roles[key]) for key, sid in ids.items()])
    first_ms = min(r.ts_ms for r in readings)
    for sid in ids.values():  # older history, in key order (as years of appends leave it)
        db.execute("BEGIN")
        db.executemany("INSERT INTO points VALUES (?, ?, ?)",
                       ((sid, first_ms - (per_series - k) * 60_000, 1.0) for k in range(per_series)))
        db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    mb = file_bytes(master) / 1e6

    state: dict = {}
    write_batches = batched(readings, sizes.store_batch)
    tuples = [[(ids[(r.site, r.device, r.channel)], r.ts_ms, r.value) for r in b] for b in write_batches]

    def copy() -> Path:
        d = fresh_subdir(root, "grown")
        shutil.copyfile(master, d / "store.db")
        return d / "store.db"

    def raw_case(case: str, pragmas: tuple):
        def setup():
            db = raw_connect(copy(), "NORMAL")
            for pragma in pragmas:
                db.execute(pragma)
            state["db"] = db

        def run():
            db = state.pop("db")
            secs = timed(case, lambda: raw_batches(db, STORE_UPSERT, tuples))
            db.close()
            return secs

        return setup, run

    def setup_write():
        state["store"] = SqliteStore(copy())

    def run_write():
        store = state.pop("store")
        secs = timed("grown-write", lambda: [store.write(b) for b in write_batches])
        store.close()
        return secs

    t_raw, t_write, t_tuned = best_of(repeat, raw_case("grown-raw", ()), (setup_write, run_write),
                                      raw_case("grown-raw-tuned", TUNED_PRAGMAS))
    base = n / t_raw.best
    rate = n / t_write.best
    tuned = n / t_tuned.best
    label = f"{sizes.grown_rows / 1e6:g}M points, {mb:,.0f} MB"
    return [
        [f"raw executemany    ({label})", f"{n:,}", fmt_rate(base), fmt_rate(base), "1.00",
         per_reading("grown-raw", n), "-"],
        [f"SqliteStore.write  ({label})", f"{n:,}", fmt_rate(rate), fmt_rate(base), f"{rate / base:.2f}",
         per_reading("grown-write", n), "PASS" if rate >= GOAL_STORE_RATE else "MISS"],
        [f"what-if: raw + cache_size/autocheckpoint ({label})", f"{n:,}", fmt_rate(tuned), fmt_rate(base),
         f"{tuned / base:.2f}", per_reading("grown-raw-tuned", n), "-"],
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run (a few seconds)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case, at least 3; the best is reported")
    ap.add_argument("--dir", default=None,
                    help="parent of the temp dir (default: the system temp dir); fsync cost depends on its disk")
    args = ap.parse_args(argv)
    if args.repeat < 3:
        ap.error("--repeat must be at least 3")
    sizes = QUICK if args.quick else FULL

    started = time.perf_counter()
    n_max = max(max(sizes.put.values()), sizes.store_n)
    readings = make_readings(n_max, sizes.devices)
    print(f"energimon spool/store throughput ({'quick' if args.quick else 'full'}, best of {args.repeat})")
    print(machine_line())
    print(f"readings: {sizes.devices} grid meters x {len(GRID_CHANNELS)} channels, one reading per series per minute")

    with bench_dir(args.dir) as root:
        print(f"temp dir: {root}\n")
        print("(a) into the spool: Spool.put vs raw sqlite3 executemany (same table, pragmas, one transaction/batch)")
        put_rows = bench_put(root, readings, sizes, args.repeat)
        print_table(["case", "readings", "readings/s", "raw readings/s", "ratio", "us/put", "B written/rdg",
                     "raw B written/rdg"], put_rows)

        n_size, per_reading = spool_bytes_per_reading(root, readings[: sizes.store_n])
        print(f"\nspool on disk: {per_reading:,.1f} bytes/reading ({n_size:,} readings, after checkpoint); "
              f"max_readings=10,000,000 -> {per_reading * 1e7 / 1e9:.2f} GB")

        print(f"\n(b) into the store ({sizes.store_n:,} readings, goal >= {GOAL_STORE_RATE:,} readings/s): "
              "vs raw executemany into a WITHOUT ROWID table")
        store_rows, notes = bench_store(root, readings[: sizes.store_n], sizes, args.repeat)
        print_table(["case", "readings", "readings/s", "raw readings/s", "ratio", "B written/rdg", "goal"],
                    store_rows)
        for note in notes:
            print(note)

        print(f"\n(c) into a store that already holds {sizes.grown_rows:,} older points of the same "
              f"{sizes.devices * len(GRID_CHANNELS):,} series (batch {sizes.store_batch}, goal >= "
              f"{GOAL_STORE_RATE:,} readings/s)")
        grown_rows = bench_grown_store(root, readings[: sizes.grown_n], sizes, args.repeat)
        print_table(["case", "readings", "readings/s", "raw readings/s", "ratio", "B written/rdg", "goal"],
                    grown_rows)
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
