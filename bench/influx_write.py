"""From the spool into a real influxd: readings/s through energimon vs posting pre-built line protocol.

Starts Debian's influxd (1.6.7) from a temporary config on a free 127.0.0.1 port
(stopped by PID at the end), then for each batch size (1000, 5000, 10000
readings) measures, best of ``--repeat``, each case into a fresh database:

* **drain**: ``SpoolWriter.drain_once`` until the spool is empty — take a batch
  from the spool file, ``InfluxStore.write`` (v1 mode: build line protocol,
  POST ``/write``), ``ack`` — the daemon's real path (spool ``synchronous=FULL``,
  the production default);
* **store.write**: ``InfluxStore.write`` alone on the same batches (no spool);
* **spool take+ack alone**: the spool's part of *drain* (no store), for the breakdown;
* **bare** (baseline): the same line-protocol bytes, already built, POSTed per
  batch to ``/write`` with ``urllib.request`` — nothing else.

``ratio`` = rate of the case ÷ rate of the bare baseline in the same round.
The fleet looks like the daemon's: 300 grid meters × 4 channels, one reading per
series per minute; the four channels of a meter at one instant share one line
(one InfluxDB point with four fields), so lines/s = readings/s ÷ 4.

Goal (issue 5): >= 50,000 readings/s and >= 70 % of the bare rate.  After each
run the database is counted: a lost or duplicated reading is an error (exit 1);
missing the goal prints MISS and exits 0.

``--device-time``: every reading carries the device's own time (``DeviceTimedReading``,
as from Shelly NotifyStatus, Tasmota, ``json`` with ``time_path``), so each batch first
asks influxd what it holds at those times (the collision rule); and one more case,
**store.write again**, writes every batch a second time (a full redelivery: the check
finds every point).

    .venv/bin/python bench/influx_write.py            # 300,000 readings, best of 3 (about a minute)
    .venv/bin/python bench/influx_write.py --quick    # 40,000 readings, 1 round (a few seconds)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_dir, best_of, fmt_rate, machine_line, print_table, time_once

from energimon.config.influx_settings import InfluxSettings
from energimon.model import DeviceTimedReading, Reading
from energimon.store.influx import InfluxStore
from energimon.store.spool import Spool
from energimon.store.writer import SpoolWriter

CHANNELS = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v")
T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
GOAL_RATE, GOAL_RATIO = 50_000, 0.70


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_influxd(root: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("influxd")
    if binary is None:
        raise SystemExit("influxd not found: apt-get install influxdb")
    port = free_port()
    conf = root / "influxd.conf"
    conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
""")
    log = (root / "influxd.log").open("ab")
    proc = subprocess.Popen([binary, "-config", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=1).read()
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"influxd exited: {(root / 'influxd.log').read_text()[-2000:]}") from None
            time.sleep(0.05)
    raise SystemExit("influxd did not start")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def query(url: str, q: str, db: str | None = None) -> dict:
    params = {"q": q, **({"db": db} if db else {})}
    with urllib.request.urlopen(urllib.request.Request(
            f"{url}/query", data=urllib.parse.urlencode(params).encode(), method="POST"), timeout=60) as resp:
        return json.loads(resp.read())


def fleet(n: int, meters: int = 300) -> list[Reading]:
    out: list[Reading] = []
    for minute in itertools.count():
        for m in range(meters):
            for i, ch in enumerate(CHANNELS):
                ts = T0 + minute * 60_000
                out.append(Reading("soro-raadhus", f"maaler-{m:03d}", ch, "grid", ts,
                                   230.0 + i if ch == "voltage_v" else 1000.0 * m + minute + i / 7))
                if len(out) == n:
                    return out
    raise AssertionError


def measure(url: str, root: Path, batch: int, readings: list[Reading], repeat: int, dbs,
            again: bool = False) -> tuple[list, int]:
    """Best-of timings of (bare, drain, store.write) for one batch size; and how many databases were wrong."""
    n = len(readings)
    chunks = [readings[i:i + batch] for i in range(0, n, batch)]
    state: dict = {"dbs": []}

    def fresh_db() -> str:
        db = f"bench_{next(dbs)}"
        query(url, f"CREATE DATABASE {db}")
        state["dbs"].append(db)
        return db

    def setup_drain():
        db = fresh_db()
        spool_dir = root / f"spool-{db}"
        spool_dir.mkdir()
        spool = Spool(spool_dir / "spool.db", max_readings=10 * n)
        for c in chunks:
            spool.put(c, "bench")
        store = InfluxStore(InfluxSettings(url=url, mode="v1", database=db, timeout_s=60))
        state["drain"] = (spool, store, SpoolWriter(spool, store, batch_size=batch))

    def run_drain():
        spool, store, writer = state["drain"]

        async def drain():
            while await writer.drain_once():
                pass

        t = time_once(lambda: asyncio.run(drain()))
        assert spool.backlog() == 0 and spool.dead_letters() == []
        writer.close()
        store.close()
        spool.close()
        return t

    def setup_spool_only():
        spool_dir = root / f"spool-only-{next(dbs)}"
        spool_dir.mkdir()
        spool = Spool(spool_dir / "spool.db", max_readings=10 * n)
        for c in chunks:
            spool.put(c, "bench")
        state["spool_only"] = spool

    def run_spool_only():
        spool = state["spool_only"]

        def go():
            while (b := spool.take(batch)) is not None:
                spool.ack(b)

        t = time_once(go)
        spool.close()
        return t

    def setup_write():
        state["store"] = InfluxStore(InfluxSettings(url=url, mode="v1", database=fresh_db(), timeout_s=60))

    def run_write():
        store = state["store"]

        def go():
            for c in chunks:
                if store.write(c):
                    raise AssertionError("readings rejected")

        t = time_once(go)
        store.close()
        return t

    def setup_again():
        store = InfluxStore(InfluxSettings(url=url, mode="v1", database=fresh_db(), timeout_s=60))
        for c in chunks:
            assert not store.write(c)
        state["again"] = store

    def run_again():
        store = state["again"]

        def go():
            for c in chunks:
                if store.write(c):  # the same values at the same times: idempotent, nothing refused
                    raise AssertionError("readings rejected")

        t = time_once(go)
        store.close()
        return t

    def setup_bare():
        db = fresh_db()
        builder = InfluxStore(InfluxSettings(url=url, mode="v1", database=db))
        bodies = ["\n".join(ln.text for ln in builder.lines(c)).encode() for c in chunks]
        builder.close()
        state["bare"] = (db, bodies)

    def run_bare():
        db, bodies = state["bare"]
        endpoint = f"{url}/write?db={db}&precision=ms"

        def go():
            for body in bodies:
                req = urllib.request.Request(endpoint, data=body, method="POST")
                with urllib.request.urlopen(req, timeout=60) as resp:
                    assert resp.status == 204

        return time_once(go)

    cases = [(setup_bare, run_bare), (setup_drain, run_drain), (setup_write, run_write),
             (setup_spool_only, run_spool_only)]
    timings = best_of(repeat, *cases, *([(setup_again, run_again)] if again else []))
    errors = 0
    # every database must hold exactly n readings (n/4 points of 4 fields each)
    for db in state["dbs"]:
        doc = query(url, "SELECT count(power_w), count(energy_import_wh), count(energy_export_wh), "
                         "count(voltage_v) FROM electricity", db=db)
        counts = doc["results"][0]["series"][0]["values"][0][1:]
        if sum(counts) != n or len(set(counts)) != 1:
            print(f"ERROR: database {db} holds {counts} readings, expected {n} in total", file=sys.stderr)
            errors += 1
        query(url, f"DROP DATABASE {db}")
    return timings, errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run for CI (a few seconds)")
    ap.add_argument("--repeat", type=int, default=None, help="rounds; best of them is reported (default 3, quick 1)")
    ap.add_argument("--batches", default="1000,5000,10000", help="batch sizes in readings (default 1000,5000,10000)")
    ap.add_argument("--dir", default=None, help="parent folder for the temp dir (spool fsync cost depends on the disk)")
    ap.add_argument("--device-time", action="store_true",
                    help="readings with the device's own time: the collision check on every batch")
    args = ap.parse_args()
    n = 40_000 if args.quick else 300_000
    repeat = args.repeat or (1 if args.quick else 3)
    batches = [int(b) for b in args.batches.split(",")]
    readings = fleet(n)
    if args.device_time:
        readings = [DeviceTimedReading(*(getattr(r, f) for f in ("site", "device", "channel", "role", "ts_ms",
                                                                   "value"))) for r in readings]
    print(f"{n:,} readings ({n // len(CHANNELS):,} lines){', device time' if args.device_time else ''}, "
          f"best of {repeat}; {machine_line()}")
    errors = 0
    with bench_dir(args.dir) as root:
        proc, url = start_influxd(root)
        try:
            version = urllib.request.urlopen(f"{url}/ping").headers.get("X-Influxdb-Version")
            print(f"influxd {version} at {url} (v1 mode: POST /write, precision=ms)\n")
            dbs = itertools.count()
            rows = []
            for batch in batches:
                timings, errs = measure(url, root, batch, readings, repeat, dbs, again=args.device_time)
                errors += errs
                bare = n / timings[0].best
                named = [("drain (spool → influxd)", timings[1]), ("store.write", timings[2]),
                         ("  of which: spool take+ack alone", timings[3])]
                if args.device_time:
                    named.append(("store.write again (every point found)", timings[4]))
                for name, t in named:
                    rate = n / t.best
                    ok = rate >= GOAL_RATE and rate / bare >= GOAL_RATIO
                    verdict = "–" if name.startswith("  of which") else "ok" if ok else "MISS"
                    rows.append([f"{name}, batch {batch}", fmt_rate(rate), fmt_rate(rate / 4), fmt_rate(bare),
                                 f"{rate / bare:.2f}", verdict])
            print_table(["case", "readings/s", "lines/s", "bare readings/s", "ratio", "goal"], rows)
            print(f"\ngoal: >= {GOAL_RATE:,} readings/s and ratio >= {GOAL_RATIO:.2f}")
        finally:
            stop(proc)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
