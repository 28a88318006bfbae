"""A year of 1-minute readings in the embedded SQLite store, queried into windows.

One local calendar year (2025, Europe/Copenhagen: 525,600 one-minute readings)
of a gauge (``power_w``) and of a counter (``energy_import_wh``) is written into
a fresh :class:`SqliteStore`.  Then, best of ``--repeat`` runs each:

* ``store.aggregate(key, start, end, window, "mean")`` for 15min, day, month;
* ``store.energy(key, start, end, window)`` for 15min and day;
* ``store.read_raw_ms`` of the whole year (what ``energy`` reads);

each against two baselines measured in the same run:

* **SQL**: a raw ``GROUP BY`` on the same table through a plain ``sqlite3``
  connection (15-minute buckets for 15min; hour buckets for day and month, the
  smallest buckets any local day or month is made of across DST; ``avg`` for
  the gauge, ``max - min`` for the counter; for the raw read a plain
  ``SELECT ts_ms, value`` fetched into lists);
* **pandas**: ``resample`` of a Series built from the raw numpy arrays (index
  construction included; local-time ``D``/``MS`` for day and month; for the
  counter ``resample().last().diff()``).

Goal (issue): the year into 15-minute windows in < 0.5 s.  The results are
also checked (untimed) against pandas; a wrong result is an error (exit 1).

    .venv/bin/python bench/store_year_query.py            # the full year, < 2 min
    .venv/bin/python bench/store_year_query.py --quick    # 31 days, a few seconds
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from _common import Row, add_common_args, bench_dir, emit, machine_line, pairs, time_once

from energimon.model import LOCAL_TZ, Reading, SeriesKey
from energimon.store.sqlite import SqliteStore

GOAL_15MIN_S = 0.5
SITE, DEVICE = "soroe-raadhus", "main-meter"
POWER = SeriesKey(SITE, DEVICE, "power_w")
ENERGY = SeriesKey(SITE, DEVICE, "energy_import_wh")
WRITE_BATCH = 10_000


def make_year(start: datetime, end: datetime, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """1-minute timestamps in [start, end), a power profile (W) and the matching import counter (Wh)."""
    t0 = int(pd.Timestamp(start).value // 1_000_000)
    t1 = int(pd.Timestamp(end).value // 1_000_000)
    ts = np.arange(t0, t1, 60_000, dtype=np.int64)
    rng = np.random.default_rng(seed)
    hour = (ts // 3_600_000 + 1) % 24
    power = 8_000.0 + 6_000.0 * ((hour >= 7) & (hour < 17)) + rng.normal(0.0, 800.0, len(ts))
    power = np.maximum(power, 0.0)
    counter = 5_000_000.0 + np.concatenate(([0.0], np.cumsum(power[:-1] / 60.0)))  # Wh
    return ts, power, counter


def write_series(store: SqliteStore, key: SeriesKey, ts: np.ndarray, v: np.ndarray) -> float:
    """Write through the store's public API; returns the seconds spent in ``store.write``."""
    spent = 0.0
    for i in range(0, len(ts), WRITE_BATCH):
        batch = [Reading(key.site, key.device, key.channel, "grid", t, x)
                 for t, x in zip(ts[i:i + WRITE_BATCH].tolist(), v[i:i + WRITE_BATCH].tolist(), strict=True)]
        t0 = time.perf_counter()
        rejected = store.write(batch)
        spent += time.perf_counter() - t0
        if rejected:
            raise RuntimeError(f"store refused {len(rejected)} readings, e.g. {rejected[0]}")
    return spent


def series_id(db: sqlite3.Connection, key: SeriesKey) -> int:
    row = db.execute("SELECT id FROM series WHERE site=? AND device=? AND channel=?",
                     (key.site, key.device, key.channel)).fetchone()
    if row is None:
        raise RuntimeError(f"{key} not in the store")
    return row[0]


def sql_group_by(db: sqlite3.Connection, sid: int, t0: int, t1: int, bucket_s: int, expr: str) -> Callable[[], list]:
    sql = (f"SELECT ts_ms / :b AS bucket, count(*), {expr} FROM points "
           "WHERE series_id = :sid AND ts_ms >= :t0 AND ts_ms < :t1 GROUP BY bucket ORDER BY bucket")
    params = {"b": bucket_s * 1000, "sid": sid, "t0": t0, "t1": t1}
    return lambda: db.execute(sql, params).fetchall()


def pandas_resample(ts: np.ndarray, v: np.ndarray, rule: str, counter: bool) -> Callable[[], pd.Series]:
    def run() -> pd.Series:
        s = pd.Series(v, index=pd.to_datetime(ts, unit="ms", utc=True))
        if rule in ("D", "MS"):
            s = s.tz_convert(LOCAL_TZ)
        r = s.resample(rule)
        return r.last().diff() if counter else r.mean()
    return run


def check_close(what: str, got: np.ndarray, want: np.ndarray, errors: list[str], rtol: float = 1e-9) -> None:
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        errors.append(f"{what}: {got.shape[0]} windows, expected {want.shape[0]}")
    elif not np.allclose(got, want, rtol=rtol, atol=1e-6, equal_nan=True):
        bad = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=1e-6, equal_nan=True)))
        errors.append(f"{what}: {bad} of {len(want)} windows differ from the reference")


def verify(store: SqliteStore, start: datetime, end: datetime, ts, power, counter, errors: list[str]) -> None:
    """Untimed: the store's answers against pandas/numpy on the same arrays."""
    s = pd.Series(power, index=pd.to_datetime(ts, unit="ms", utc=True))
    for window, rule in (("15min", "15min"), ("day", "D"), ("month", "MS")):
        got = store.aggregate(POWER, start, end, window, "mean")
        ref = s.tz_convert(LOCAL_TZ).resample(rule).mean() if rule != "15min" else s.resample(rule).mean()
        check_close(f"aggregate {window} mean", got.to_numpy(), ref.to_numpy(), errors)
    for window in ("15min", "day"):
        res = store.energy(ENERGY, start, end, window)
        edges = res.windows.index.tz_convert("UTC").as_unit("ms").asi8.astype(np.int64)
        edges = np.append(edges, int(pd.Timestamp(end).value // 1_000_000))
        ref = np.diff(np.interp(edges, ts, counter))
        check_close(f"energy {window}", res.windows["energy_wh"].to_numpy(), ref, errors, rtol=1e-7)
        if not np.isclose(res.total_wh, counter[-1] - counter[0], rtol=1e-9):
            errors.append(f"energy {window}: total {res.total_wh:.1f} Wh, counter says {counter[-1] - counter[0]:.1f}")
    rts, rv = store.read_raw_ms(POWER, int(ts[0]), int(ts[-1]) + 1)
    if len(rts) != len(ts) or not np.array_equal(rts, ts) or not np.array_equal(rv, power):
        errors.append(f"read_raw_ms: {len(rts)} readings back, {len(ts)} written, or values differ")


def reference_db(path: Path, key_ts: list[tuple[np.ndarray, np.ndarray]]) -> sqlite3.Connection:
    """The reference: the same readings in a plain (series_id, ts_ms, value) WITHOUT ROWID table, raw sqlite3."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE points (series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL, "
               "PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID")
    db.execute("BEGIN")
    for sid, (ts, v) in enumerate(key_ts, start=1):
        db.executemany("INSERT INTO points VALUES (?, ?, ?)", zip([sid] * len(ts), ts.tolist(), v.tolist(),
                                                                   strict=True))
    db.execute("COMMIT")
    return db


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap)
    ap.add_argument("--all", action="store_true", help="also the day/month/raw queries (best of the pairs)")
    args = ap.parse_args(argv)
    n_pairs = args.pairs or (3 if args.quick else 9)
    start = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
    end = datetime(2025, 2, 1, tzinfo=LOCAL_TZ) if args.quick else datetime(2026, 1, 1, tzinfo=LOCAL_TZ)
    ts, power, counter = make_year(start, end)
    n = len(ts)
    print(f"year query: {n:,} one-minute readings per series ({start:%Y-%m-%d} .. {end:%Y-%m-%d}), {n_pairs} pairs; "
          f"{machine_line()}", file=sys.stderr)
    errors: list[str] = []
    with bench_dir(args.dir) as root:
        store = SqliteStore(root / "store.db")
        try:
            w = write_series(store, POWER, ts, power) + write_series(store, ENERGY, ts, counter)
            # what the daemon's writer does in its idle time: old days into the store's long-term form
            maintain = getattr(store, "maintain", None)
            t_m = time_once(lambda: maintain(now_ms=int(ts[-1]) + 3 * 86_400_000)) if maintain else 0.0
            print(f"written 2 × {n:,} readings in {w:.1f} s; maintenance {t_m:.1f} s", file=sys.stderr)
            db = reference_db(root / "reference.db", [(ts, power), (ts, counter)])
            t0, t1 = int(ts[0]), int(ts[-1]) + 1
            verify(store, start, end, ts, power, counter, errors)
            rows = []
            cases = [("aggregate 15min mean", lambda: store.aggregate(POWER, start, end, "15min", "mean"),
                      sql_group_by(db, 1, t0, t1, 900, "avg(value)"), {"seconds_max": GOAL_15MIN_S}),
                     ("energy 15min", lambda: store.energy(ENERGY, start, end, "15min"),
                      sql_group_by(db, 2, t0, t1, 900, "max(value) - min(value)"), {})]
            if args.all:
                raw_sql = "SELECT ts_ms, value FROM points WHERE series_id=? AND ts_ms>=? AND ts_ms<? ORDER BY ts_ms"
                cases += [("aggregate day mean", lambda: store.aggregate(POWER, start, end, "day", "mean"),
                           sql_group_by(db, 1, t0, t1, 3600, "avg(value)"), {}),
                          ("read_raw_ms (all)", lambda: store.read_raw_ms(POWER, t0, t1),
                           lambda: db.execute(raw_sql, (1, t0, t1)).fetchall(), {})]
            span = "a year" if not args.quick else "31 days"
            for name, q_store, q_sql, goal in cases:
                p, r, load = pairs(n_pairs, lambda q=q_store: time_once(q), lambda q=q_sql: time_once(q),
                                   progress=name)
                rows.append(Row("store_year_query", f"embedded store: {span} of 1-minute readings → {name}", "s", 1,
                                "time", "raw sqlite3 GROUP BY on a plain (series, time, value) table, same data",
                                p, r, goal if not args.quick else {}, load,
                                "" if not args.quick else "goal judged on the full year"))
            db.close()
        finally:
            store.close()
    emit(rows, args.json)
    for e in errors:
        print(f"WRONG: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
