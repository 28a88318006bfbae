"""Solar KPIs + report on a year of 1-minute data for the three Sorø sites.

The demo's three sites (:data:`energimon.collector.simulator.buildings.SORO_BUILDINGS`: 60, 80 and
20 kWp) get a year (2025) of 1-minute counter readings — grid import and export, PV production — from
:mod:`energimon.collector.simulator.solar`, written into a fresh embedded :class:`SqliteStore`
(3 sites × 3 counters × 525,600 minutes ≈ 4.7 M readings; untimed).  Then, best of ``--repeat``:

* **KPIs, year, 3 sites** — ``site_kpis`` for 2025 per site: every hourly counter window from the store
  (8,760 hours × 3 counters × 3 sites), the pvlib clear-sky envelope, hour → day → month aggregation;
  once with the pvlib cache cleared ("cold") and once warm;
* **report, one month** — ``generate_solar_report`` for June 2025 (KPIs + 4-page PDF + CSV), cold, and
  the same with ``daily_table=True`` (a day-by-day table per site: 7 pages);
* **year KPIs + one month's report** — the issue's case (goal < 5 s), cold;
* **store raw reads alone** — ``read_raw_ms`` of the 9 counters over the year: the floor under the KPIs;
* **12 monthly reports** — every month of 2025 in turn (one run, cold), for scale.

    .venv/bin/python bench/solar.py
    .venv/bin/python bench/solar.py --days 60 --repeat 1     # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import tomllib

import pandas as pd
from _common import bench_dir, best_of, machine_line, print_table, time_once

from energimon.analytics.report.solar_report import generate_solar_report
from energimon.analytics.solar import expected
from energimon.analytics.solar.kpis import site_inputs, site_kpis
from energimon.app.demo import DEMO_CONFIG
from energimon.calendar import next_month
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.solar import write_sites
from energimon.config.settings import settings_from_dict
from energimon.model import LOCAL_TZ
from energimon.store.sqlite import SqliteStore

START = dt.date(2025, 1, 1)
MONTH = dt.date(2025, 6, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365, help="days of data from 1 January 2025 (default 365)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", help="parent folder for the temporary store (default: system temp)")
    args = ap.parse_args()
    print(machine_line())
    end = START + dt.timedelta(days=args.days)
    settings = settings_from_dict(tomllib.loads(DEMO_CONFIG.format(config="bench", devices="")))
    with bench_dir(args.dir) as root:
        store = SqliteStore(root / "store.db")
        t0 = time.perf_counter()
        n = write_sites(store, SORO_BUILDINGS, START, end, step_s=60)
        print(f"wrote {n:,} readings (3 sites, {args.days} days, 1 min) in {time.perf_counter() - t0:.0f} s "
              "(untimed)", file=sys.stderr)
        series = store.series()
        inputs = [site_inputs(sid, settings.sites[sid], series) for sid in settings.sites]
        month = MONTH if end > MONTH else START

        def year_kpis():
            return [site_kpis(store, i, START, end) for i in inputs]

        def report():
            return generate_solar_report(settings, store, month, None, root / "out")

        def both():
            year_kpis()
            report()

        t_a = int(pd.Timestamp(START).tz_localize(LOCAL_TZ).value // 1_000_000)
        t_b = int(pd.Timestamp(end).tz_localize(LOCAL_TZ).value // 1_000_000)
        keys = [k for i in inputs for k in (*i.pv, *i.grid_import, *i.grid_export)]

        def raw_reads():  # the floor under the KPIs: the store's raw counter reads (same range, no windowing)
            return [store.read_raw_ms(k, t_a, t_b) for k in keys]

        def report_days():
            return generate_solar_report(settings, store, month, None, root / "out-days", daily_table=True)

        report()  # warm imports (matplotlib, pvlib) and SQLite's page cache
        t_raw, t_cold, t_warm, t_report, t_days, t_both = best_of(
            args.repeat,
            (None, lambda: time_once(raw_reads)),
            (expected.cache_clear, lambda: time_once(year_kpis)),
            (None, lambda: time_once(year_kpis)),
            (expected.cache_clear, lambda: time_once(report)),
            (expected.cache_clear, lambda: time_once(report_days)),
            (expected.cache_clear, lambda: time_once(both)),
        )
        expected.cache_clear()
        months = []
        m = START
        while m < end:
            months.append(m)
            m = next_month(m)
        t_all = time_once(lambda: [generate_solar_report(settings, store, m, None, root / "all") for m in months])
        res = year_kpis()
        store.close()
    print_table(
        ["case", "seconds (best)", "goal"],
        [[f"store raw reads alone: {len(keys)} counters × {args.days} days", f"{t_raw.best:.2f}", ""],
         [f"KPIs, {args.days} days, 3 sites (pvlib cache cold)", f"{t_cold.best:.2f}", ""],
         [f"KPIs, {args.days} days, 3 sites (pvlib cache warm)", f"{t_warm.best:.2f}", ""],
         [f"report {month:%Y-%m} (KPIs + PDF + CSV, cold)", f"{t_report.best:.2f}", ""],
         [f"report {month:%Y-%m} with --daily-table (cold)", f"{t_days.best:.2f}", ""],
         [f"KPIs {args.days} days + report {month:%Y-%m} (cold)", f"{t_both.best:.2f}", "< 5 s"],
         [f"{len(months)} monthly reports in turn (one run, cold)", f"{t_all:.1f}", ""]],
    )
    for r in res:
        y = r.monthly.sum(numeric_only=True)
        print(f"{r.inputs.site}: {y.pv_kwh:,.0f} kWh PV in {args.days} days "
              f"({y.pv_kwh / r.inputs.p0_kwp:,.0f} kWh/kWp), self-consumption "
              f"{(y.pv_kwh - y.export_kwh) / y.pv_kwh:.1%}, hours complete {int(y.hours_complete)}/{int(y.hours)}")
    return 0 if t_both.best < 5.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
