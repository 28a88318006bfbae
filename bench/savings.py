"""ESCO savings reports as whole processes: ``energimon report savings`` for one site and for 200 sites.

Synthetic buildings (:mod:`energimon.collector.simulator.synthetic`: CalTRACK-shaped daily use, a known saving from
the measure date) are written as hourly energy counters and hourly outdoor temperatures into a fresh
embedded store: a baseline year (2025) and January–March 2026 (untimed).  Then, in pairs, A B A B …:

* **one site**: ``energimon report savings --month 2026-03 --site bygning-000`` — the process from start to
  exit: imports, config, store reads, CalTRACK daily fit over the 30–90 °F balance-point grid, G14
  uncertainty, the PDF, CSV and XLSX files (goal < 3 s);
* **portfolio**: the same for every site (``--sites``, default 200; the default worker pool): a 201-page PDF,
  CSVs and the workbook (goal < 60 s for 200 sites).

Reference in every pair: a fixed CPU workload in a fresh interpreter (``python -c`` summing squares, about
0.2 s on an idle core): the goals are absolute, the reference shows how much CPU the run got.  The
recovered savings are checked against the injected ones (exit 1 if more than 20 % of the sites lie
outside their 90 % interval; about 10 % is expected).

    .venv/bin/python bench/savings.py [--quick] [--pairs N] [--sites 200]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from _common import Row, add_common_args, bench_dir, emit, machine_line, pairs

from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.store.sqlite import SqliteStore

BASE0, BASE1, MEASURE, END = dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 4, 1)
CALIBRATION = [sys.executable, "-c", "sum(i * i for i in range(2_000_000))"]
CALIBRATION_NAME = "fixed CPU workload in a fresh python (sum of 2 M squares)"


def site_id(i: int) -> str:
    return f"bygning-{i:03d}"


def write_config(root: Path, n: int) -> Path:
    lines = [f'[store]\nkind = "sqlite"\npath = "{root / "store.db"}"\n', f'[spool]\npath = "{root / "spool.db"}"\n']
    for i in range(n):
        lines.append(f'[sites.{site_id(i)}]\nname = "Bygning {i:03d} (Sorø)"\nlatitude = 55.43\nlongitude = 11.56\n')
    lines.append(f'[esco]\ncontract = "Benchmark-kontrakt"\nbaseline_start = {BASE0}\nbaseline_end = {BASE1}\n'
                 f'measure_date = {MEASURE}\nprice_dkk_per_kwh = 2.0\n'
                 f'temperature = "{site_id(0)}/vejr/outdoor_temp_c"\n'
                 f'guarantee_kwh_per_year = {1000.0 * n}\nreports_dir = "{root / "reports"}"\n'
                 '[esco.normal_year]\ntotal = 2906\nsource = "DTI normalår"\n'
                 '[[esco.co2]]\ncarrier = "electricity"\nyear = 2026\nkg_per_kwh = 0.1\nsource = "benchmark"\n')
    for i in range(n):
        lines.append(f'[esco.sites.{site_id(i)}]\nenergy = "hovedmaaler/energy_import_wh"\n'
                     f'temperature = "{site_id(i)}/vejr/outdoor_temp_c"\nguarantee_kwh_per_year = 1000.0\n')
    path = root / "energimon.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_data(root: Path, n: int) -> dict:
    store = SqliteStore(root / "store.db")
    truth = {}
    t0 = time.perf_counter()
    for i in range(n):
        b = SyntheticBuilding(site_id(i), intercept_kwh_per_day=100 + 5 * (i % 50), beta_hdd_kwh_per_k_day=8 + i % 7,
                              noise_kwh_per_day=6.0, saving_kwh_per_day=15.0 + i % 10)
        readings, tr = synthetic_readings(b, BASE0, END, MEASURE, seed=i)
        store.write(readings)
        truth[b.site] = float(tr["saving_kwh"].loc[lambda s: s.index >= "2026-01-01"].sum())
    store.close()
    print(f"wrote {n} sites × 15 months of hourly readings in {time.perf_counter() - t0:.0f} s (untimed)",
          file=sys.stderr)
    return truth


def report(energimon: str, config: Path, out: Path, sites: list[str] | None) -> float:
    cmd = [energimon, "report", "savings", "--config", str(config), "--month", "2026-03", "--out", str(out)]
    for s in sites or ():
        cmd += ["--site", s]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"report failed ({r.returncode}): {r.stderr[-2000:]}")
    return t


def calibration() -> float:
    t0 = time.perf_counter()
    subprocess.run(CALIBRATION, check=True)
    return time.perf_counter() - t0


def outside_interval(out: Path, truth: dict) -> int:
    """Sites whose injected saving since the start lies outside the reported 90 % interval (portfolio CSV)."""
    outside = 0
    path = min(out.glob("besparelse-2026-03*.csv"), key=lambda p: len(p.name))  # the portfolio's, not a building's
    with path.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    if not rows:
        raise SystemExit(f"no rows in {path}")
    cols = rows[0].keys()
    # a row per building and period (the CSV's "Periode": month, ytd, since_start), the saving and its 90 % half-width
    # in the columns "Besparelse kWh" and "Usikkerhed 90 % kWh" (the unit in the header since issue 18)
    period = next((c for c in cols if c.lower() in ("periode", "period")), None)
    site_col = next((c for c in cols if c.lower().startswith(("bygning", "site"))), None)
    saving = next((c for c in cols if c.lower().startswith(("besparelse kwh", "savings kwh"))), None)
    unc = next((c for c in cols if "90" in c and c.lower().startswith(("usikkerhed", "uncertainty")) and "kwh" in
                c.lower()), None)
    if None in (period, site_col, saving, unc):  # the CSV's columns changed: say so instead of guessing
        print(f"note: cannot find the since-start columns in {path.name}: {list(cols)[:12]}", file=sys.stderr)
        return -1
    checked = 0
    ratios = []
    for row in rows:
        site = row[site_col]
        if row[period] != "since_start" or site not in truth:
            continue
        num = lambda s: float(s.replace(".", "").replace(",", ".")) if s else float("nan")  # noqa: E731
        checked += 1
        ratios.append(abs(num(row[saving]) - truth[site]) / num(row[unc]))
        if not abs(num(row[saving]) - truth[site]) <= num(row[unc]):  # NaN (no interval) counts as outside
            outside += 1
    if checked == 0:
        print(f"note: no since-start rows of the injected sites in {path.name}", file=sys.stderr)
        return -1
    ratios.sort()
    print(f"{checked} sites checked; |error| / 90 % half-width: median {ratios[len(ratios) // 2]:.2f}, "
          f"max {ratios[-1]:.2f}", file=sys.stderr)
    return outside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--sites", type=int, default=None, help="sites in the portfolio run (default 200, quick 20)")
    args = ap.parse_args()
    n = args.sites or (20 if args.quick else 200)
    n_pairs = args.pairs or (2 if args.quick else 3)
    energimon = str(Path(sys.executable).with_name("energimon"))
    print(f"savings reports: 1 and {n} sites, {n_pairs} pairs; {machine_line()}", file=sys.stderr)
    with bench_dir(args.dir) as root:
        config = write_config(root, n)
        truth = write_data(root, n)
        report(energimon, config, root / "warm", [site_id(0)])
        p1, r1, load1 = pairs(n_pairs, lambda: report(energimon, config, root / "one", [site_id(0)]), calibration,
                              progress="one site")
        pn, rn, loadn = pairs(n_pairs, lambda: report(energimon, config, root / "all", None), calibration,
                              progress=f"{n} sites")
        outside = outside_interval(root / "all", truth)
    if outside >= 0:
        print(f"injected saving outside the 90 % interval: {outside} of {n} sites (expected about 10 %)",
              file=sys.stderr)
    rows = [Row("savings", "savings report, one site, whole process (PDF + CSV + XLSX)", "s", 1, "time",
                CALIBRATION_NAME, p1, r1, {"seconds_max": 3.0}, load1),
            Row("savings", f"savings report, {n} sites, whole process (PDF of 2 pages a building, CSVs, XLSX)", "s",
                1, "time", CALIBRATION_NAME, pn, rn, {"seconds_max": 60.0} if n == 200 else {}, loadn,
                "" if n == 200 else "goal is for 200 sites")]
    emit(rows, args.json)
    return 1 if outside > 0.2 * n else 0


if __name__ == "__main__":
    raise SystemExit(main())
