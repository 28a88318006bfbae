"""Calibration of the savings uncertainty: do 68 % / 90 % intervals hold the true saving 68 % / 90 % of the time?

    .venv/bin/python bench/savings_calibration.py                 # full: 1,000 seeds per model, 2 processes
    .venv/bin/python bench/savings_calibration.py --seeds 40 --cases raadhus-0.4

Synthetic buildings with a *known* saving, hourly, over a baseline year (2025) and a reporting year
(2026), in Danish local time (23/25-hour DST days included):

* **weather**: :func:`energimon.collector.simulator.synthetic.daily_temperature_c` (a Danish year: 8 °C mean,
  ±9 °C seasonal swing, AR(1) day-to-day weather) plus a diurnal swing of ±3 °C;
* **use** = occupancy(hour) × (base + heating + cooling) with heating ``β_H·max(0, T_bH − T)`` and
  cooling ``β_C·max(0, T − T_bC)`` on the *hourly* temperature (so the daily models see a slightly
  curved response, as in real buildings);
* **calendar**: weekday/weekend opening hours, Danish public holidays from the ``holidays`` package
  (``country_holidays("DK", language="da", categories=("public", "optional"))``) used like Sundays,
  and **occupancy changes**: the building runs at reduced occupancy in the school holidays (winter
  week 7, autumn week 42, three summer weeks 28-30, Christmas to New Year) — in both years;
* **noise**: a day-level AR(1) component (lag one day, ρ) spread over the day's hours in
  proportion to use, plus an hour-level AR(1) component (lag one hour, the same ρ) — ρ ∈ {0, 0.4, 0.8};
* **saving**: from 2026-01-01 the building uses ``saving_share`` less of its counterfactual use
  (noise excluded, so the injected saving is exactly known). The true saving of a period is the sum
  of the injected saving; the estimate's error is the adjusted baseline minus the counterfactual.

Each seed draws a new weather year and new noise for one building; the three CalTRACK models are
fitted on the same baseline year — daily (``fit_caltrack_daily``), billing (calendar months,
``fit_caltrack_billing``) and hourly TOWT (``fit_towt_hourly``) — and each reports the saving of
the reporting year with its 68 % and 90 % intervals (``period_savings``, the reports' code path).
Coverage = share of seeds whose interval holds the true saving (its binomial standard error: below).
The calendar months of the reporting
year are counted as well (12 intervals per seed, pooled) as a second row.

Cases are ``building-ρ``; the process pool runs one seed per task (``--workers``, default 2).

Seeds per model (:data:`SEEDS`): 1,000 for each (a TOWT fit takes ~0.25 s on an idle machine, the daily and
billing fits ~0.02 s; the hourly model had 300 while its fit took ~1.5 s on a loaded one).  The targets are a
test only if a calibrated method meets them: the
binomial standard error of a coverage from N intervals is ``sqrt(p(1−p)/N)`` — at N = 300, 2.7 points at 68 %
and 1.7 at 90 %, so the bands 64-72 % and 87-93 % are only ±1.5 and ±1.7 standard errors wide and a perfectly
calibrated method misses one of them in about one case in five (two-sided normal tails: 13 % + 8 %); at
N = 1,000 (1.5 and 0.95 points) the bands are ±2.7 and ±3.2 standard errors, a miss by chance ~1 %.
``--seeds N`` runs N seeds for every model instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd

from energimon.analytics.baseline import fit_caltrack_billing, fit_caltrack_daily
from energimon.analytics.esco.evaluation import billing_periods, billing_savings
from energimon.analytics.esco.inputs import monthly_frame
from energimon.analytics.savings import daily_savings, period_savings, savings_frame
from energimon.analytics.stats import savings_uncertainty_kwh
from energimon.analytics.towt import fit_towt_hourly
from energimon.collector.simulator.synthetic import daily_temperature_c
from energimon.model import LOCAL_TZ

BASELINE = (dt.date(2025, 1, 1), dt.date(2026, 1, 1))
REPORTING = (dt.date(2026, 1, 1), dt.date(2027, 1, 1))
RHOS = (0.0, 0.4, 0.8)
MODELS = ("daily", "billing", "hourly")
TARGETS = {0.90: (0.87, 0.93), 0.68: (0.64, 0.72)}
SEEDS = {"daily": 1000, "billing": 1000, "hourly": 1000}
"""Seeds per model by default (module docstring: why 1,000)."""


@dataclass(frozen=True)
class Building:
    """A building archetype.  Energy in kWh per hour at full occupancy; temperatures °C."""

    name: str
    base_kwh_per_h: float
    beta_hdd_kwh_per_k_h: float  # heating per kelvin below the heating balance point, per hour
    heating_balance_c: float
    beta_cdd_kwh_per_k_h: float  # cooling per kelvin above the cooling balance point, per hour
    cooling_balance_c: float
    open_hours: tuple[int, int]  # local opening hours on days it is open, [start, end)
    open_weekend: bool  # open on Saturdays and Sundays (a sports hall), else closed like holidays
    closed_level: float  # occupancy outside opening hours (share of full)
    school_holiday_level: float  # occupancy during the school holidays, opening hours
    day_noise_share: float  # sd of the day-level noise, as a share of the day's mean use
    hour_noise_share: float  # sd of the hour-level noise, as a share of the mean hourly use
    saving_share: float  # injected saving: share of the counterfactual use (noise excluded)


BUILDINGS = {
    # a town hall: offices on weekdays 07-17, closed at weekends and on holidays, heated, a little cooling
    "raadhus": Building("raadhus", 18.0, 1.1, 15.0, 0.6, 19.0, (7, 17), False, 0.55, 0.9, 0.06, 0.05, 0.10),
    # a sports hall: open every day 08-22, heated only, quiet in the summer holidays
    "hal": Building("hal", 12.0, 0.9, 14.0, 0.0, 99.0, (8, 22), True, 0.35, 0.9, 0.07, 0.05, 0.08),
    # an office with a server room: large base load, cooled in summer and heated in winter
    "kontor": Building("kontor", 30.0, 0.7, 13.0, 2.0, 16.0, (7, 18), False, 0.75, 0.95, 0.04, 0.03, 0.06),
}


def school_holiday(days: pd.DatetimeIndex) -> np.ndarray:
    """Danish school holidays (weeks 7, 28-30, 42 and 23 Dec - 1 Jan): reduced occupancy, both years alike."""
    week = days.isocalendar().week.to_numpy()
    md = days.month.to_numpy() * 100 + days.day.to_numpy()
    return np.isin(week, (7, 28, 29, 30, 42)) | (md >= 1223) | (md <= 101)


@dataclass
class SyntheticYear:
    hours: pd.DatetimeIndex  # local hour starts, baseline + reporting
    temp_c: np.ndarray  # hourly
    counterfactual_kwh: np.ndarray  # what the building would have used without the measure (noise included)
    saving_kwh: np.ndarray  # injected (0 in the baseline year)

    @property
    def actual_kwh(self) -> np.ndarray:
        return self.counterfactual_kwh - self.saving_kwh


@functools.lru_cache(maxsize=4)
def _danish_holidays(first_year: int, last_year: int) -> frozenset:
    dk = holidays.country_holidays("DK", language="da", categories=("public", "optional"),
                                   years=range(first_year, last_year + 1))
    return frozenset(dk)


def _ar1(rng: np.random.Generator, n: int, rho: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with lag-1 correlation ``rho`` and marginal standard deviation ``sd``."""
    e = rng.normal(0.0, sd * math.sqrt(1.0 - rho * rho), n)
    x = np.empty(n)
    x[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + e[i]
    return x


def seed_streams(seed: int) -> tuple[int, np.random.Generator, np.random.Generator]:
    """Independent random streams of one seed: the weather's seed, the day-level and the hour-level noise.

    ``numpy.random.SeedSequence(seed).spawn`` gives statistically independent children, so the weather of
    a seed does not depend on how the noise is drawn (and vice versa) and a case is the same building-year
    for every model and every version of the noise.  (Seeding both from the bare ``seed`` made the
    weather's AR(1) innovations and the noise's draws the *same* normals: noise correlated with weather.)
    """
    weather, day, hour = np.random.SeedSequence(seed).spawn(3)
    return int(weather.generate_state(1)[0]), np.random.default_rng(day), np.random.default_rng(hour)


def synthetic_year(b: Building, rho: float, seed: int) -> SyntheticYear:
    """Hourly temperature, counterfactual use and injected saving over the baseline and reporting years."""
    weather_seed, day_rng, hour_rng = seed_streams(seed)
    start, end = BASELINE[0], REPORTING[1]
    days = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left").tz_localize(LOCAL_TZ)
    t0 = pd.Timestamp(start).tz_localize(LOCAL_TZ).tz_convert("UTC")
    t1 = pd.Timestamp(end).tz_localize(LOCAL_TZ).tz_convert("UTC")
    hours = pd.date_range(t0, t1, freq="h", inclusive="left").tz_convert(LOCAL_TZ)
    # local day number of each hour (DST days have 23/25 hours; naive local dates, so no 23-hour "day" is lost)
    day_of_hour = (hours.tz_localize(None).normalize() - days[0].tz_localize(None)).days.to_numpy()
    temp_day = daily_temperature_c(days, weather_seed)
    hod = hours.hour.to_numpy()
    temp = temp_day[day_of_hour] + 3.0 * np.sin(2 * math.pi * (hod - 9) / 24)
    dk = _danish_holidays(start.year, end.year)
    is_holiday = np.array([d.date() in dk for d in days])
    weekend = days.day_of_week.to_numpy() >= 5
    open_day = ~is_holiday & (b.open_weekend | ~weekend)
    level_day = np.where(school_holiday(days), b.school_holiday_level, 1.0)
    in_hours = (hod >= b.open_hours[0]) & (hod < b.open_hours[1])
    occupancy = np.where(in_hours & open_day[day_of_hour], level_day[day_of_hour], b.closed_level)
    # heating and cooling run less when the building is empty (set-back), but never stop
    hvac = np.where(occupancy >= b.closed_level + 1e-9, 1.0, 0.7)
    load = (b.base_kwh_per_h * occupancy
            + hvac * b.beta_hdd_kwh_per_k_h * np.maximum(0.0, b.heating_balance_c - temp)
            + hvac * b.beta_cdd_kwh_per_k_h * np.maximum(0.0, temp - b.cooling_balance_c))
    mean_h = float(load.mean())
    day_load = np.bincount(day_of_hour, weights=load)
    day_noise = _ar1(day_rng, len(days), rho, b.day_noise_share * float(day_load.mean()))
    noise = day_noise[day_of_hour] * load / day_load[day_of_hour] + _ar1(hour_rng, len(hours), rho,
                                                                        b.hour_noise_share * mean_h)
    counterfactual = load + noise
    reporting = np.asarray(hours >= pd.Timestamp(REPORTING[0]).tz_localize(LOCAL_TZ))
    saving = np.where(reporting, b.saving_share * load, 0.0)
    return SyntheticYear(hours, temp, counterfactual, saving)


# --------------------------------------------------------------------------- one seed, three models


def _daily(y: SyntheticYear) -> pd.DataFrame:
    key = y.hours.normalize()
    df = pd.DataFrame({"temp_mean_c": y.temp_c, "energy_kwh": y.actual_kwh, "cf": y.counterfactual_kwh,
                       "saving": y.saving_kwh}, index=y.hours)
    return df.groupby(key).agg({"temp_mean_c": "mean", "energy_kwh": "sum", "cf": "sum", "saving": "sum"})


def _split(df: pd.DataFrame):
    r0 = pd.Timestamp(REPORTING[0]).tz_localize(LOCAL_TZ)
    idx = pd.DatetimeIndex(df.index)
    return df[idx < r0], df[idx >= r0]


def caltrack_factor(reporting_months: float, billing: bool) -> float:
    """eemeter's empirical replacement for G14's 1.26 (``eemeter.derivatives._compute_fsu_error``, CalTRACK 2.0):
    ``a·M² + b·M + c`` with M reporting months; billing a, b, c = −0.00022, 0.03306, 0.94054, daily −0.00024,
    0.03535, 1.00286 (eemeter has none for hourly data: the daily one is used with M = hours / 720)."""
    a, b, c = (-0.00022, 0.03306, 0.94054) if billing else (-0.00024, 0.03535, 1.00286)
    return a * reporting_months ** 2 + b * reporting_months + c


def _periods(rows: pd.DataFrame, model, truth: pd.Series, points_per_month: float) -> list[tuple]:
    """(estimate, true saving, U68, U90, G14 U68, G14 U90, CalTRACK U68, CalTRACK U90) for the reporting year
    and each of its calendar months: ours (``period_savings``, what the reports show), G14 eq. B-14 as
    before (1.26), and G14 with eemeter's CalTRACK correction factor instead of 1.26."""
    out = []
    keys = pd.DatetimeIndex(rows.index).strftime("%Y-%m")
    groups = [("year", np.ones(len(rows), bool))] + [(k, keys == k) for k in dict.fromkeys(keys)]
    st = model.stats
    for label, sel in groups:
        p = period_savings(label, rows[sel], model)
        g14 = [savings_uncertainty_kwh(p.adjusted_baseline_kwh, st.cv_rmse, st.n, st.n_eff, model.p, p.m, c)
               for c in (0.68, 0.90)]
        k = caltrack_factor(p.m / points_per_month, points_per_month == 1) / 1.26
        out.append((p.savings_kwh, float(truth[sel].sum()), p.uncertainty_68_kwh, p.uncertainty_90_kwh,
                    *g14, g14[0] * k, g14[1] * k))
    return out


def site_calendar_school_holidays(days: pd.DatetimeIndex) -> frozenset[dt.date]:
    """The school holidays as a site's calendar holds them (``[alerts.sites.<id>] school_holidays``): the days of
    :func:`school_holiday` — what an energy team configures for a school or a sports hall."""
    idx = pd.DatetimeIndex(days)
    return frozenset(idx[school_holiday(idx)].date)


def run_seed(case: str, seed: int, models: tuple[str, ...] = MODELS, site_calendar: bool = True) -> dict[str, list]:
    """Fit each model on one synthetic building-year and return its reporting-year and month intervals.

    ``site_calendar``: the fits get the building's school holidays, as the reports do from a configured site
    calendar (:func:`site_calendar_school_holidays`); without it, as for a site with none configured."""
    name, rho = case.rsplit("-", 1)
    y = synthetic_year(BUILDINGS[name], float(rho), seed)
    days = _daily(y)
    base_d, rep_d = _split(days)
    school = site_calendar_school_holidays(pd.DatetimeIndex(days.index)) if site_calendar else frozenset()
    out: dict[str, list] = {}
    if "daily" in models:
        model = fit_caltrack_daily(base_d["temp_mean_c"].to_numpy(), base_d["energy_kwh"].to_numpy(),
                                   days=pd.DatetimeIndex(base_d.index), school_holidays=school).model
        rows = daily_savings(model, rep_d["temp_mean_c"], rep_d["energy_kwh"])
        out["daily"] = _periods(rows, model, rep_d["saving"], 30.0)
    if "billing" in models:
        fit = fit_caltrack_billing(base_d["temp_mean_c"], billing_periods(monthly_frame(base_d)),
                                   school_holidays=school)
        from energimon.analytics.degree_days import NormalYear

        ny = NormalYear(2906.0, "calibration", ())
        rows = billing_savings(fit.model, rep_d, [], ny, 17.0)
        months = pd.DatetimeIndex(rows.index).strftime("%Y-%m")
        truth = rep_d["saving"].groupby(pd.DatetimeIndex(rep_d.index).strftime("%Y-%m")).sum().reindex(months)
        out["billing"] = _periods(rows, fit.model, pd.Series(truth.to_numpy(), index=rows.index), 1.0)
    if "hourly" in models:
        hours = pd.DataFrame({"t": y.temp_c, "u": y.actual_kwh, "s": y.saving_kwh}, index=y.hours)
        base_h, rep_h = _split(hours)
        model = fit_towt_hourly(base_h["u"], base_h["t"], school)
        baseline = pd.Series(model.predict_kwh(pd.DatetimeIndex(rep_h.index), rep_h["t"].to_numpy()), index=rep_h.index)
        rows = savings_frame(baseline, rep_h["u"], rep_h["t"])
        out["hourly"] = _periods(rows, model, rep_h["s"], 720.0)
    return out


# --------------------------------------------------------------------------- the run


METHODS = {"ours": (2, 3), "g14": (4, 5), "caltrack": (6, 7)}


def coverage(results: list[list[tuple]], which: str, method: str = "ours") -> dict[float, float]:
    """Share of intervals holding the true saving: ``which`` = "year" (first row) or "months" (the rest)."""
    rows = [r[0] for r in results] if which == "year" else [x for r in results for x in r[1:]]
    a = np.array(rows, float)
    err = np.abs(a[:, 0] - a[:, 1])
    i68, i90 = METHODS[method]
    return {0.68: float(np.mean(err <= a[:, i68])), 0.90: float(np.mean(err <= a[:, i90]))}


def coverage_standard_error(p: float, n: int) -> float:
    """Binomial standard error ``sqrt(p(1−p)/n)`` of a coverage ``p`` measured on ``n`` intervals."""
    return math.sqrt(p * (1.0 - p) / n)


def make_tasks(cases, seeds: dict[str, int], first_seed: int = 1, site_calendar: bool = True
               ) -> list[tuple[str, int, tuple[str, ...], bool]]:
    """One task per (case, seed) with the models that still need that seed: model ``m`` sees the seeds
    ``first_seed … first_seed + seeds[m] − 1`` — the same building-years as every other model, fewer of them."""
    last = first_seed + max(seeds.values())
    return [(c, s, tuple(m for m in seeds if s < first_seed + seeds[m]), site_calendar)
            for c in cases for s in range(first_seed, last)]


def _task(args):
    case, seed, models, site_calendar = args
    return case, seed, run_seed(case, seed, models, site_calendar)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=None,
                    help="seeds per case for every model (default: " + ", ".join(f"{m} {n}" for m, n in SEEDS.items())
                    + ")")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--cases", nargs="*", default=[f"{b}-{r:g}" for b in BUILDINGS for r in RHOS])
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-site-calendar", action="store_true",
                    help="fit without the buildings' school holidays (a site with no calendar configured)")
    ap.add_argument("--dump", help="write every interval (case, model, seed, period, estimate, truth, U68, U90, "
                                   "G14 and CalTRACK U68/U90) to this CSV file")
    args = ap.parse_args(argv)
    seeds = {m: args.seeds if args.seeds is not None else SEEDS[m] for m in args.models}
    tasks = make_tasks(args.cases, seeds, args.first_seed, not args.no_site_calendar)
    # one BLAS thread per worker: the pool is the parallelism (several BLAS threads per process on a shared
    # 2-core machine made the TOWT fits ~10× slower); spawned workers read these before importing numpy
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    t0 = time.perf_counter()
    results: dict[tuple[str, str], list] = {}
    done = dict.fromkeys(args.cases, 0)
    bad = 0
    dumped: list[tuple] = []
    print("| case | model | seeds | year 68 % | year 90 % | months 68 % | months 90 % | G14 B-14 year 68 / 90 % "
          "| CalTRACK-corrected year 68 / 90 % |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for i, (case, seed, out) in enumerate(pool.map(_task, tasks, chunksize=4), 1):
            for model, rows in out.items():
                results.setdefault((case, model), []).append(rows)
                dumped.extend((case, model, seed, k, *row) for k, row in enumerate(rows))
            done[case] += 1
            if done[case] == max(seeds.values()):  # a case is complete: its rows now (a long run shows progress)
                bad += print_case(case, args.models, results)
            if i % 50 == 0 or i == len(tasks):
                print(f"\r{i}/{len(tasks)} seeds ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr,
                      flush=True)
    wall = time.perf_counter() - t0
    print(file=sys.stderr)
    if args.dump:
        pd.DataFrame(dumped, columns=["case", "model", "seed", "period", "estimate_kwh", "true_kwh", "u68_kwh",
                                      "u90_kwh", "g14_u68_kwh", "g14_u90_kwh", "caltrack_u68_kwh",
                                      "caltrack_u90_kwh"]).to_csv(args.dump, index=False)
    print(f"\n{len(tasks)} building-years, {args.workers} processes, wall time {wall:.0f} s "
          f"(os.cpu_count() = {os.cpu_count()}); cases outside the targets: {bad}")
    return 1 if bad else 0


def print_case(case: str, models, results) -> int:
    """Print a case's rows; return how many of its models miss the coverage targets (year)."""
    bad = 0
    for model in models:
        res = results[(case, model)]
        y, mo = coverage(res, "year"), coverage(res, "months")
        g, c = coverage(res, "year", "g14"), coverage(res, "year", "caltrack")
        ok = all(TARGETS[k][0] <= y[k] <= TARGETS[k][1] for k in TARGETS)
        bad += not ok
        print(f"| {case} | {model} | {len(res)} | {y[0.68]:.1%} | {y[0.90]:.1%}{'' if ok else ' ✗'} | "
              f"{mo[0.68]:.1%} | {mo[0.90]:.1%} | {g[0.68]:.1%} / {g[0.90]:.1%} | {c[0.68]:.1%} / {c[0.90]:.1%} |",
              flush=True)
    return bad


if __name__ == "__main__":
    raise SystemExit(main())
