"""Backfill of N years x M DataHub metering points from a local Eloverblik server into the embedded store.

B (the pipeline): ``SourceRunner`` + ``EloverblikSource`` fetch every metering point's interval energy
from ``tests/sources_fakes.FakeEloverblik`` on 127.0.0.1 (hourly, 15-minute since 2025-10-01; 10
metering points and ``--days`` days per request, as the API allows), parse it with pydantic, merge it
into the state file, turn it into counter readings and put them into the spool (``synchronous=FULL``,
the default), while a writer thread drains the spool into a ``SqliteStore`` (take / write / ack, like
the daemon's ``SpoolWriter``).  Time: from the first request until the last reading is in the store.

A (the baseline): the raw store write rate — ``SqliteStore.write`` of the same number of readings of
the same shape (one counter per metering point, same timestamps) in batches of 10,000, into a fresh
store.

The pairs run A B A B … (``--pairs``), each B with fresh state, spool and store; the server's answers
are rendered once before timing (the fake's cache), so B measures energimon, not the fake.  Reported:
readings/s of each, and the ratio B/A per pair (median, min-max).  Goal (issue 16): B >= 50 % of A.

    .venv/bin/python bench/sources_backfill.py                    # 3 years x 100 metering points
    .venv/bin/python bench/sources_backfill.py --quick       # 10 metering points x 3 months, one pair
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import threading
import time
from pathlib import Path

from _common import Row, bench_dir, emit, fmt_rate, fresh_subdir, load_average, machine_line, print_table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sources_fakes import CPH, FakeEloverblik, local_midnight, ms  # noqa: E402  (tests/ on sys.path from here)

from energimon.collector.sources.eloverblik.settings import EloverblikSettings  # noqa: E402
from energimon.collector.sources.eloverblik.source import EloverblikSource  # noqa: E402
from energimon.collector.sources.http import HttpClient  # noqa: E402
from energimon.collector.sources.runner import SourceRunner  # noqa: E402
from energimon.collector.sources.state import SourceState  # noqa: E402
from energimon.model import Reading, RevisableReading  # noqa: E402
from energimon.store.spool import Spool  # noqa: E402
from energimon.store.sqlite import SqliteStore  # noqa: E402

GOAL = 0.5
BATCH = 10_000


def gsrns(n: int) -> list[str]:
    return [f"5713131741{i:08d}" for i in range(n)]


def settings(fake: FakeEloverblik, ids: list[str], days: int) -> EloverblikSettings:
    points = [{"id": g, "site": "soro", "device": f"dh{i}"} for i, g in enumerate(ids)]
    return EloverblikSettings(refresh_token="refresh-secret-token", base_url=f"{fake.server.url}/thirdpartyapi/api",
                              days_per_request=days, metering_points=points)


def run_pipeline(root: Path, fake: FakeEloverblik, ids: list[str], since: dt.date, until: dt.date,
                 days: int) -> tuple[float, int, int]:
    """(seconds, readings in the store, values fetched)."""
    state = SourceState(root / "sources.db")
    spool = Spool(root / "spool.db", max_readings=50_000_000)
    store = SqliteStore(root / "store.db")
    done = threading.Event()
    written = [0]

    def drain() -> None:
        while True:
            batch = spool.take(BATCH)
            if batch is None:
                if done.is_set():
                    return
                time.sleep(0.01)
                continue
            rejected = store.write(batch.readings)
            spool.ack(batch, [(r.reading, r.reason) for r in rejected])
            written[0] += len(batch) - len(rejected)

    runner = SourceRunner(state, spool.put, backfill_days=1, revision_days=0,
                          clock=lambda: ms(local_midnight(until)))
    src = EloverblikSource(settings(fake, ids, days), HttpClient("eloverblik", fake.server.url, max_retries=0))
    writer = threading.Thread(target=drain, name="drain")
    t0 = time.perf_counter()
    writer.start()
    summary = runner.run(src, since_ms=ms(local_midnight(since)))
    done.set()
    writer.join()
    seconds = time.perf_counter() - t0
    src.close()
    for c in (state, spool, store):
        c.close()
    if not summary.ok:
        raise RuntimeError(f"backfill failed: {summary.line()} {summary.errors[:3]}")
    return seconds, written[0], summary.new


def warm_up(fake: FakeEloverblik, ids: list[str], since: dt.date, until: dt.date, days: int) -> int:
    """Render every answer the backfill will ask for (the same requests: 10 metering points, ``days`` days)."""
    import json

    from sources_fakes import Request

    fake.tokens["warm"] = time.time() + 3600
    n = 0
    for i in range(0, len(ids), 10):
        batch, d = ids[i:i + 10], since
        while d < until:
            nxt = min(d + dt.timedelta(days=days), until)
            path = f"{fake.PREFIX}/meterdata/gettimeseries/{d}/{nxt}/Actual"
            body = json.dumps({"meteringPoints": {"meteringPoint": batch}}).encode()
            n += len(fake.app(Request(0.0, "POST", path, {}, {"Authorization": "Bearer warm"}, body)).body)
            d = nxt
    return n


def raw_readings(ids: list[str], since: dt.date, until: dt.date) -> list[list[Reading]]:
    """Batches of readings shaped like the backfill's: per metering point a counter at every interval end."""
    t0, t1 = ms(local_midnight(since)), ms(local_midnight(until))
    switch = ms(local_midnight(dt.date(2025, 10, 1)))
    stamps = [t0, *range(t0 + 3_600_000, min(switch, t1) + 1, 3_600_000)]
    stamps += list(range(max(stamps[-1], switch) + 900_000, t1 + 1, 900_000))
    out, batch = [], []
    for i, _g in enumerate(ids):
        for k, t in enumerate(stamps):
            batch.append(RevisableReading("soro", f"dh{i}", "energy_import_wh", "grid", t, float(k * 1000)))
            if len(batch) == BATCH:
                out.append(batch)
                batch = []
    if batch:
        out.append(batch)
    return out


def run_raw(root: Path, batches: list[list[Reading]]) -> tuple[float, int]:
    store = SqliteStore(root / "store.db")
    t0 = time.perf_counter()
    n = 0
    for b in batches:
        store.write(b)
        n += len(b)
    seconds = time.perf_counter() - t0
    store.close()
    return seconds, n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mps", type=int, default=100, help="metering points (default 100)")
    ap.add_argument("--years", type=float, default=3.0, help="years of backfill (default 3)")
    ap.add_argument("--days", type=int, default=60, help="days per request (default 60, the config default)")
    ap.add_argument("--pairs", type=int, default=3, help="A B pairs (default 3)")
    ap.add_argument("--dir", help="parent folder for the temp files (default: the system's temp dir)")
    ap.add_argument("--quick", action="store_true", help="CI smoke run: 10 metering points, 3 months, 2 pairs")
    ap.add_argument("--json", default=None, help="also write the result row to this file (for run_all.py)")
    args = ap.parse_args()
    if args.quick:
        args.mps, args.years, args.pairs = 10, 0.25, 2

    until = dt.datetime.now(tz=CPH).date()
    since = until - dt.timedelta(days=round(args.years * 365.25))
    ids = gsrns(args.mps)
    fake = FakeEloverblik(ids, cache=True)
    print(machine_line())
    print(f"backfill {since} .. {until} ({args.years:g} years) x {args.mps} metering points, {args.days} days and "
          f"10 metering points per request; hourly before 2025-10-01, 15-minute after")
    with fake.server, bench_dir(args.dir) as root:
        t = time.perf_counter()
        n_bytes = warm_up(fake, ids, since, until, args.days)
        print(f"warm-up (the fake renders and caches its {n_bytes / 1e6:,.0f} MB of answers; not counted): "
              f"{time.perf_counter() - t:.1f} s")
        batches = raw_readings(ids, since, until)
        rows, ratios, load = [], [], [load_average()]
        project, reference = [], []
        for pair in range(1, args.pairs + 1):
            a_s, a_n = run_raw(fresh_subdir(root, f"a{pair}"), batches)
            b_s, b_n, _ = run_pipeline(fresh_subdir(root, f"b{pair}"), fake, ids, since, until, args.days)
            a_rate, b_rate = a_n / a_s, b_n / b_s
            ratios.append(b_rate / a_rate)
            project.append(b_s)
            reference.append(b_n / a_rate)  # the seconds A takes for B's readings (the counts differ by a few)
            rows.append([str(pair), fmt_rate(a_rate), f"{a_s:.1f}", fmt_rate(b_rate), f"{b_s:.1f}", f"{b_n:,}",
                         f"{b_rate / a_rate:.0%}"])
        print()
        print_table(["pair", "A raw store readings/s", "A s", "B backfill readings/s", "B s", "B readings",
                     "B/A"], rows)
        med = statistics.median(ratios)
        print(f"\nB/A: median {med:.0%}, min {min(ratios):.0%}, max {max(ratios):.0%} (goal >= {GOAL:.0%}: "
              f"{'met' if med >= GOAL else 'NOT met'})")
        load.append(load_average())
    emit([Row("sources_backfill", f"DataHub backfill, {args.years:g} years × {args.mps} metering points: local "
              "Eloverblik → state file → counter → spool (FULL) → embedded store", "readings/s", b_n, "rate",
              "SqliteStore.write of the same readings, batches of 10,000", project, reference,
              {"ratio_min": GOAL}, load)], args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
