"""Bytes on disk per stored reading: the embedded SQLite store against influxd 1.6.7, on the same data.

80 series of 10-second data: 20 grid meters × 4 channels (``power_w``, ``energy_import_wh``,
``voltage_v``, ``current_a``), values as a Modbus meter's float32 registers give them (an energy counter
in kWh × 1000), one instant per poll (the 10-second tick plus 0–39 ms of poll latency), ``--days`` days
(default 14; ``--days 365`` for a year: about an hour).  Written day by day, in time order, as the daemon
would:

* **energimon**: ``SqliteStore.write`` in batches of 10,000 (the writer's batch) and, after each day,
  ``SqliteStore.maintain`` as the spool writer runs it (compacts days that ended more than
  ``compact_after_days`` = 2 days ago); the size is the file with its WAL after a checkpoint — the last
  two days still as rows, as in a running daemon;
* **reference**: influxd 1.6.7 (Debian, default storage settings except that cold shards are snapshotted
  and fully compacted after 5 s instead of 10 min / 4 h, so it reaches its smallest size within the run),
  the same readings as line protocol (one point per meter and instant, 4 fields), ``POST /write`` in
  bodies of 5,000 points; the size is its ``data`` and ``wal`` folders once they stop changing, counted as
  the disk blocks they occupy (``du``: its series-index segments are preallocated sparse files).

Unit: bytes per reading (= per field value).  Goal: energimon <= 2× influxd.  One measurement each (sizes
do not depend on the machine's load); the year query on a compacted store is ``store_year_query.py``.

    .venv/bin/python bench/store_footprint.py [--quick] [--days N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from _common import Influxd, Row, add_common_args, bench_dir, dir_bytes, emit, file_bytes, load_average

from energimon.model import Reading
from energimon.store.sqlite import SqliteStore

DAY_MS = 86_400_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
METERS, STEP_MS = 20, 10_000
CHANNELS = ("current_a", "energy_import_wh", "power_w", "voltage_v")


def day_data(day: int, rng: np.random.Generator, energy_kwh: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One UTC day: times (meters × ticks) and per channel values (meters × ticks), float32 as registers."""
    ticks = T0 + day * DAY_MS + np.arange(DAY_MS // STEP_MS, dtype=np.int64) * STEP_MS
    ts = ticks[None, :] + rng.integers(0, 40, (METERS, len(ticks)))
    hour = ((ticks // 3_600_000) % 24)[None, :]
    base = 2000.0 + 500.0 * np.arange(METERS)[:, None]
    power = base * (1 + 1.5 * ((hour >= 7) & (hour < 17))) + rng.normal(0, 150, (METERS, len(ticks)))
    power = np.maximum(power, 0.0)
    kwh = energy_kwh[:, None] + np.cumsum(power * STEP_MS / 3.6e9, axis=1)
    energy_kwh[:] = kwh[:, -1]
    volt = 230.0 + rng.normal(0, 1.2, (METERS, len(ticks)))
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731 - what a float32 register gives
    values = {"power_w": f32(power), "energy_import_wh": f32(kwh) * 1000.0, "voltage_v": f32(volt),
              "current_a": f32(power / volt / 3.0)}
    return ts, values


def write_sqlite(store: SqliteStore, ts: np.ndarray, values: dict[str, np.ndarray]) -> None:
    """In poll order (every meter's channels at one instant), batches of 10,000 readings."""
    batch: list[Reading] = []
    cols = {ch: v.tolist() for ch, v in values.items()}
    tl = ts.tolist()
    for k in range(ts.shape[1]):
        for m in range(METERS):
            t = tl[m][k]
            for ch in CHANNELS:
                batch.append(Reading("soro-raadhus", f"maaler-{m:02d}", ch, "grid", t, cols[ch][m][k]))
            if len(batch) >= 10_000:
                assert not store.write(batch)
                batch = []
    if batch:
        assert not store.write(batch)


def line_protocol(ts: np.ndarray, values: dict[str, np.ndarray]) -> list[bytes]:
    lines = []
    cols = {ch: v.tolist() for ch, v in values.items()}
    tl = ts.tolist()
    for k in range(ts.shape[1]):
        for m in range(METERS):
            fields = ",".join(f"{ch}={cols[ch][m][k]!r}" for ch in CHANNELS)
            lines.append(f"electricity,device=maaler-{m:02d},role=grid,site=soro-raadhus {fields} {tl[m][k]}")
    return ["\n".join(lines[i:i + 5000]).encode() for i in range(0, len(lines), 5000)]


def settled_size(root: Path, timeout_s: float = 600.0) -> int:
    """influxd's data + wal bytes once nothing changed for 20 s and no compaction is in progress."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        size = dir_bytes(root / "data") + dir_bytes(root / "wal")
        busy = any(p.suffix == ".tmp" for p in (root / "data").rglob("*"))
        if size != last or busy:
            last, since = size, time.monotonic()
        elif time.monotonic() - since > 20:
            return size
        time.sleep(1)
    print("warning: influxd's size did not settle", file=sys.stderr)
    return last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--days", type=int, default=None, help="days of data (default 14, quick 3)")
    args = ap.parse_args()
    days = args.days or (3 if args.quick else 14)
    n = days * (DAY_MS // STEP_MS) * METERS * len(CHANNELS)
    print(f"store footprint: {METERS * len(CHANNELS)} series × 10 s × {days} days = {n:,} readings", file=sys.stderr)
    load = [load_average()]
    with bench_dir(args.dir) as root:
        cold = 'cache-snapshot-write-cold-duration = "5s"\n  compact-full-write-cold-duration = "5s"'
        with Influxd(root / "influxd", cold) as server:
            server.query("CREATE DATABASE footprint")
            store = SqliteStore(root / "store.db")
            rng = np.random.default_rng(7)
            energy = 10_000.0 + 1000.0 * np.arange(METERS)
            t_sql = t_influx = 0.0
            for day in range(days):
                ts, values = day_data(day, rng, energy)
                t0 = time.perf_counter()
                write_sqlite(store, ts, values)
                while store.maintain(now_ms=T0 + (day + 1) * DAY_MS + 3_600_000):  # the writer, hourly
                    pass
                t1 = time.perf_counter()
                for body in line_protocol(ts, values):
                    server.post("footprint", body)
                t_influx += time.perf_counter() - t1
                t_sql += t1 - t0
                print(f"  day {day + 1}/{days}: sqlite {t1 - t0:.1f} s, influxd {time.perf_counter() - t1:.1f} s",
                      file=sys.stderr, flush=True)
            store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            hot = store._db.execute("SELECT count(*) FROM points").fetchone()[0]
            blob_bytes, in_chunks = store._db.execute("SELECT sum(length(data)), sum(n) FROM chunks").fetchone()
            store.close()
            sqlite_bytes = file_bytes(root / "store.db")
            doc = server.query("SELECT count(power_w) FROM electricity", db="footprint")
            stored = doc["results"][0]["series"][0]["values"][0][1] * len(CHANNELS)
            if stored != n:
                raise SystemExit(f"influxd holds {stored} readings, expected {n}")
            influx_bytes = settled_size(root / "influxd")
            tsm_bytes = sum(p.stat().st_size for p in (root / "influxd" / "data").rglob("*.tsm"))
    load.append(load_average())
    per_chunked = (blob_bytes or 0) / in_chunks if in_chunks else float("nan")
    note = (f"{days} days; sqlite {sqlite_bytes / 1e6:.1f} MB ({hot:,} readings of the last 2 days still as rows; "
            f"the compacted days' blobs {per_chunked:.2f} B/reading), influxd {influx_bytes / 1e6:.1f} MB after "
            f"full compaction, of which TSM files {tsm_bytes / n:.2f} B/reading (the rest: its series index, "
            f"a fixed ~{(influx_bytes - tsm_bytes) / 1e6:.0f} MB per database); "
            f"write time sqlite {t_sql:.0f} s, influxd {t_influx:.0f} s")
    print(note, file=sys.stderr)
    rows = [Row("store_footprint", f"disk per reading, 80 series × 10 s × {days} days: embedded store vs influxd",
                "bytes/reading", n, "size", "influxd 1.6.7 (TSM, fully compacted), same readings", [sqlite_bytes],
                [influx_bytes], {"ratio_max": 2.0}, load, note)]
    emit(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
