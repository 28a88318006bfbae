"""ESCO savings: fit + savings + report, for one site and for a simulated portfolio.

Synthetic buildings (:mod:`energimon.collector.simulator.synthetic`: CalTRACK-shaped daily use,
a known saving from the measure date) are written as hourly energy counters and hourly
outdoor temperatures into a fresh embedded :class:`SqliteStore`: a baseline year (2025)
and three reporting months (January-March 2026).  Untimed.  Then:

* **one site, warm** (best of ``--repeat``): ``evaluate_site`` (store reads of a year
  and three months of hourly data into local days, CalTRACK daily fit over the 30-90 °F
  balance-point grid, daily savings, month/YTD/since-start with G14 uncertainty, DKK per
  day), and ``generate_savings_report`` for that site (PDF + CSV + XLSX files);
* **portfolio** (``--sites``, default 200; one run): ``generate_savings_report`` for
  every site — one PDF with a page per building, the portfolio CSV, a CSV per building and
  the XLSX workbook (a sheet per building).

``--price-file`` prices the savings from an hourly price file (a year and a quarter of
hourly prices) instead of a fixed price: each building's day price is then weighted by its
hourly use, which reads the reporting period's hourly energy as well.

The recovered savings are checked against the injected ones (untimed): a site whose
injected saving lies outside its 90 % interval is counted, and more than 20 % of them
(expected: about 10 %) is an error (exit 1).

Goals (issue #7): one site < 1 s warm, 200 sites < 60 s.

    .venv/bin/python bench/savings.py               # 200 sites, a few minutes (writing the data dominates)
    .venv/bin/python bench/savings.py --sites 20    # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from _common import bench_dir, best_of, machine_line, print_table, time_once

from energimon.analytics.esco.evaluation import evaluate_site
from energimon.analytics.report.savings_report import generate_savings_report
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import settings_from_dict
from energimon.store.sqlite import SqliteStore

BASE0, BASE1, MEASURE, END = dt.date(2025, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 4, 1)
MONTH = dt.date(2026, 3, 1)


def site_id(i: int) -> str:
    return f"bygning-{i:03d}"


def write_price_file(path) -> None:
    """Hourly prices 2025-01-01 .. 2026-04-01 (local), dearer in the day than at night."""
    import pandas as pd

    hours = pd.date_range("2024-12-31 23:00", "2026-03-31 21:00", freq="h", tz="UTC").tz_convert("Europe/Copenhagen")
    lines = ["time,value"] + [f"{h.isoformat()},{2.8 if 7 <= h.hour < 20 else 1.6}" for h in hours]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def settings_for(n: int, price_file=None):
    sites = {site_id(i): {"name": f"Bygning {i:03d} (Sorø)", "latitude": 55.43, "longitude": 11.56} for i in range(n)}
    esco = {
        "contract": "Benchmark-kontrakt", "baseline_start": BASE0, "baseline_end": BASE1, "measure_date": MEASURE,
        **({"price_file": price_file} if price_file else {"price_dkk_per_kwh": 2.0}),
        "temperature": f"{site_id(0)}/vejr/outdoor_temp_c",
        "normal_year": {"total": 2906, "source": "DTI normalår"}, "guarantee_kwh_per_year": 1000.0 * n,
        "co2": [{"carrier": "electricity", "year": 2026, "kg_per_kwh": 0.1, "source": "benchmark"}],
        "sites": {site_id(i): {"energy": "hovedmaaler/energy_import_wh",
                               "temperature": f"{site_id(i)}/vejr/outdoor_temp_c",
                               "guarantee_kwh_per_year": 1000.0} for i in range(n)},
    }
    return settings_from_dict({"sites": sites, "esco": esco})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", help="parent folder for the temporary store (default: system temp)")
    ap.add_argument("--price-file", action="store_true", help="hourly prices from a file instead of a fixed price")
    args = ap.parse_args()
    print(machine_line())
    with bench_dir(args.dir) as root:
        if args.price_file:
            write_price_file(root / "priser.csv")
        settings = settings_for(args.sites, root / "priser.csv" if args.price_file else None)
        store = SqliteStore(root / "store.db")
        t0 = time.perf_counter()
        truth = {}
        for i in range(args.sites):
            b = SyntheticBuilding(site_id(i), intercept_kwh_per_day=100 + 5 * (i % 50),
                                  beta_hdd_kwh_per_k_day=8 + i % 7, noise_kwh_per_day=6.0,
                                  saving_kwh_per_day=15.0 + i % 10)
            readings, tr = synthetic_readings(b, BASE0, END, MEASURE, seed=i)
            store.write(readings)
            truth[b.site] = tr
            if (i + 1) % 20 == 0 or i + 1 == args.sites:
                print(f"\rwriting data: {i + 1}/{args.sites} sites", end="", file=sys.stderr, flush=True)
        print(f"\nwrote {args.sites} sites x 15 months of hourly readings in {time.perf_counter() - t0:.0f} s "
              "(untimed)", file=sys.stderr)
        one = site_id(0)
        evaluate_site(store, settings.esco, one, "warm-up", MONTH)  # warm caches and imports
        out1 = root / "one"
        t_eval, t_report = best_of(
            args.repeat,
            (None, lambda: time_once(lambda: evaluate_site(store, settings.esco, one, "x", MONTH))),
            (None, lambda: time_once(lambda: generate_savings_report(settings, store, MONTH, [one], out1))),
        )
        outp = root / "portfolio"
        settings.store.path = root / "store.db"  # the pool's workers open the store themselves
        workers = os.cpu_count() or 1
        files = None

        def portfolio():
            nonlocal files
            files = generate_savings_report(settings, store, MONTH, None, outp, workers=workers)

        t_port = time_once(portfolio)
        pages = (outp / "besparelse-2026-03.pdf").stat().st_size
        outside = 0
        for r in files.results:
            injected = float(truth[r.site]["saving_kwh"].loc[lambda s: s.index >= "2026-01-01"].sum())
            if abs(r.since_start.savings_kwh - injected) > r.since_start.uncertainty_90_kwh:
                outside += 1
        store.close()
    print_table(
        ["case", "seconds (best)", "goal"],
        [["one site: fit + savings (evaluate_site)", f"{t_eval.best:.3f}", ""],
         ["one site: fit + savings + PDF/CSV/XLSX report", f"{t_report.best:.3f}", "< 1 s"],
         [f"{args.sites} sites: fit + savings + portfolio PDF/CSV/XLSX ({workers} workers)", f"{t_port:.1f}",
          "< 60 s"]],
    )
    print(f"portfolio PDF {pages / 1e6:.1f} MB; injected saving outside the 90 % interval: {outside} of "
          f"{args.sites} sites (expected about 10 %)")
    return 1 if outside > 0.2 * args.sites else 0


if __name__ == "__main__":
    raise SystemExit(main())
