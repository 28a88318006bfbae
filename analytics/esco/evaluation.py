"""The ESCO contract applied to the store's data: one site's or the portfolio's savings for a month.

Reads energy (local days, hours or calendar months, from counters: :meth:`Store.energy`)
and the outdoor temperature, fits the site's baseline model on the baseline period
(CalTRACK daily, CalTRACK hourly TOWT or CalTRACK billing), applies non-routine
adjustments and PV add-back, prices every reporting row (fixed price, a price per period,
or an hourly price file) and returns everything the monthly report shows.  Never talks to
devices.

Money is computed per reporting row, never as a total times one price:
``DKK = Σ_rows avoided kWh(row) × price(row)``.  A day's price from an hourly price file is
the mean of its hourly prices weighted by the building's measured hourly consumption that
day (the plain mean when a day's hourly consumption is not fully known); an hour row (TOWT)
takes its hour's price; a month row (billing) the days' prices weighted by daily consumption.
Hours the price file lacks take the last earlier price in the file, and the report counts the
days that had no or only part of their hours in the file; days before the file's first price
have no price, and any period containing one shows no DKK (missing is not zero).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from energimon.analytics.baseline import BillingFit, DailyFit, fit_caltrack_billing, fit_caltrack_daily
from energimon.analytics.degree_days import (
    NormalYear,
    daily_mean_from_hourly_c,
    daily_mean_temperature_c,
    heating_degree_days_c,
)
from energimon.analytics.savings import (
    MIN_PERIOD_COVERAGE,
    PeriodSavings,
    SavingsVerdict,
    daily_savings,
    monthly_savings,
    period_savings,
    savings_frame,
    savings_verdict,
    with_prices,
)
from energimon.analytics.stats import DATA_SUFFICIENCY_MIN, G14_FSU_MAX_68
from energimon.analytics.towt import fit_towt_hourly
from energimon.config.esco_settings import Adjustment, EscoSettings, EscoSite, PricePeriod
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.timeseries_csv import CsvFormatError, most_common_step_ms, parse_time_value


def local_midnight(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ)


def series_key(ref: str, site: str) -> SeriesKey:
    """``device/channel`` (of ``site``) or ``site/device/channel``."""
    parts = ref.split("/")
    return SeriesKey(site, *parts) if len(parts) == 2 else SeriesKey(*parts)


def energy_kwh(store, key: SeriesKey, start: dt.datetime, end: dt.datetime, window: str = "day") -> pd.Series:
    """kWh per window (local days, or hours) from a counter; NaN where the window is not complete."""
    res = store.energy(key, start, end, window)
    w = res.windows
    kwh = (w["energy_wh"] / 1000.0).where(w["complete"].astype(bool))
    kwh.index = pd.DatetimeIndex(w.index).tz_convert(LOCAL_TZ)
    return kwh


def daily_energy_kwh(store, key: SeriesKey, start: dt.datetime, end: dt.datetime) -> pd.Series:
    """kWh per local day from a counter; NaN where the day is not complete (gap, reset, no data)."""
    return energy_kwh(store, key, start, end, "day")


def local_index(start: dt.date, end: dt.date, window: str = "day") -> pd.DatetimeIndex:
    """Local days (``"day"``) or hour starts (``"1h"``, in local time: 23 or 25 on DST days) in ``[start, end)``."""
    if window == "day":
        return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left").tz_localize(LOCAL_TZ)
    t0, t1 = pd.Timestamp(local_midnight(start)), pd.Timestamp(local_midnight(end))
    return pd.date_range(t0.tz_convert("UTC"), t1.tz_convert("UTC"), freq="h", inclusive="left").tz_convert(LOCAL_TZ)


def site_energy_kwh(store, site: str, cfg: EscoSite, start: dt.date, end: dt.date, window: str = "day") -> pd.Series:
    """Gross consumption per local day (or hour) in ``[start, end)``, NaN where unknown.

    Gross consumption = energy − export + PV production (PV add-back); PV production
    before ``pv_installed`` is zero by definition (the panels did not exist), after it a
    window without complete PV data is unknown.
    """
    t0, t1 = local_midnight(start), local_midnight(end)
    idx = local_index(start, end, window)
    energy = energy_kwh(store, series_key(cfg.energy, site), t0, t1, window).reindex(idx)
    before_pv = (idx < pd.Timestamp(cfg.pv_installed).tz_localize(LOCAL_TZ)) if cfg.pv_installed else None
    if cfg.export:
        export = energy_kwh(store, series_key(cfg.export, site), t0, t1, window).reindex(idx)
        if before_pv is not None:  # nothing to export before the panels: a missing export counter is 0 then
            export[before_pv & export.isna().to_numpy()] = 0.0
        energy = energy - export
    for ref in cfg.pv:
        pv = energy_kwh(store, series_key(ref, site), t0, t1, window).reindex(idx)
        if before_pv is not None:
            pv[before_pv] = 0.0
        energy = energy + pv
    return energy


def site_daily_frame(store, esco: EscoSettings, site: str, cfg: EscoSite, start: dt.date, end: dt.date,
                     window: str = "day") -> pd.DataFrame:
    """Per local day (or hour, ``window="1h"``) in ``[start, end)``: ``temp_mean_c`` and ``energy_kwh``
    (gross consumption, :func:`site_energy_kwh`; NaN if unknown).  Hourly temperatures are hourly means."""
    t0, t1 = local_midnight(start), local_midnight(end)
    idx = local_index(start, end, window)
    energy = site_energy_kwh(store, site, cfg, start, end, window)
    temp_key = series_key(cfg.temperature or esco.temperature, site)
    if window == "day":
        temp = daily_mean_temperature_c(store, temp_key, t0, t1).reindex(idx)
    else:
        hourly = store.aggregate(temp_key, t0, t1, "1h", "mean")
        hourly.index = pd.DatetimeIndex(hourly.index).tz_convert(LOCAL_TZ)
        temp = hourly.reindex(idx)
    return pd.DataFrame({"temp_mean_c": temp, "energy_kwh": energy}, index=idx)


def month_keys(index: pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(index).strftime("%Y-%m").to_numpy()


def monthly_frame(days: pd.DataFrame, min_temperature_share: float = DATA_SUFFICIENCY_MIN) -> pd.DataFrame:
    """Calendar months (local; a first or last month may be partial) from a daily frame.

    ``energy_kwh`` is the sum of the days when every day is known (else NaN: a month with a gap
    is not a smaller month); ``temp_mean_c`` the mean of the days with a temperature when at least
    ``min_temperature_share`` of the days have one (CalTRACK's 90 %), else NaN.  ``days`` counts the
    month's days in the frame, ``temp_days`` those with a temperature.  Indexed by the first day.
    """
    idx = pd.DatetimeIndex(days.index)
    keys = month_keys(idx)
    g = days.groupby(keys, sort=False)
    n = g.size()
    energy = g["energy_kwh"].sum().where(g["energy_kwh"].count() == n)
    temp_days = g["temp_mean_c"].count()
    temp = g["temp_mean_c"].mean().where(temp_days >= min_temperature_share * n)
    first = pd.Series(idx, index=idx).groupby(keys, sort=False).first()
    out = pd.DataFrame({"temp_mean_c": temp, "energy_kwh": energy, "days": n, "temp_days": temp_days})
    out.index = pd.DatetimeIndex(first.to_list())
    return out


def adjustment_kwh_per_day(adjustments: list[Adjustment], baseline_kwh: pd.Series, rows_per_day: int = 1) -> pd.Series:
    """Non-routine adjustments per row: fixed kWh/day (spread evenly over ``rows_per_day`` rows, 24 for
    hours) or a percentage of the (routine-adjusted) baseline."""
    out = pd.Series(0.0, index=baseline_kwh.index)
    idx = pd.DatetimeIndex(baseline_kwh.index)
    for a in adjustments:
        a0, a1 = pd.Timestamp(a.start).tz_localize(LOCAL_TZ), pd.Timestamp(a.end).tz_localize(LOCAL_TZ)
        inside = (idx >= a0) & (idx < a1)
        if a.kwh_per_day is not None:
            out[inside] += a.kwh_per_day / rows_per_day
        else:
            out[inside] += baseline_kwh[inside] * a.percent / 100.0
    return out


@dataclass(frozen=True)
class Sufficiency:
    ok: bool
    share: float
    days_total: int
    days_ok: int
    reason: str = ""


def data_sufficiency(frame: pd.DataFrame, minimum: float = DATA_SUFFICIENCY_MIN, unit: str = "days") -> Sufficiency:
    """Share of baseline days (or hours) with both complete energy and a temperature (CalTRACK 2.0: ≥ 90 %)."""
    n = len(frame)
    ok_days = int((frame["energy_kwh"].notna() & frame["temp_mean_c"].notna()).sum())
    share = ok_days / n if n else 0.0
    if share >= minimum:
        return Sufficiency(True, share, n, ok_days)
    miss_e = int(frame["energy_kwh"].isna().sum())
    miss_t = int(frame["temp_mean_c"].isna().sum())
    reason = (f"{ok_days} of {n} baseline {unit} usable ({share:.0%} < {minimum:.0%}): "
              f"{miss_e} {unit} without complete energy data, {miss_t} {unit} without temperature")
    return Sufficiency(False, share, n, ok_days, reason)


@dataclass(frozen=True)
class Ledger:
    """Guarantee ledger for the contract year containing the report month."""

    year_start: dt.date
    year_end: dt.date  # exclusive
    days_elapsed: int
    guarantee_kwh_per_year: float
    guarantee_to_date_kwh: float  # pro rata
    realised_kwh: float
    shortfall_kwh: float  # paid by the ESCO
    surplus_kwh: float
    surplus_municipality_kwh: float
    surplus_esco_kwh: float
    points: int = 0  # reporting points (days, hours, months) of the contract year up to ``until``
    points_with_data: int = 0  # of them with measured savings

    @property
    def status(self) -> str:
        """Like :attr:`PeriodSavings.status`: realised savings over too few measured points are not a result."""
        if not self.points_with_data:
            return "no_data"
        return "incomplete" if self.points_with_data < MIN_PERIOD_COVERAGE * self.points else "ok"


def contract_year(measure_date: dt.date, month_end: dt.date) -> tuple[dt.date, dt.date]:
    """The contract year (measure date + k years) that contains the last day before ``month_end``."""
    last = month_end - dt.timedelta(days=1)
    k = last.year - measure_date.year
    start = _add_years(measure_date, k)
    if start > last:
        start = _add_years(measure_date, k - 1)
    return start, _add_years(start, 1)


def _add_years(d: dt.date, k: int) -> dt.date:
    try:
        return d.replace(year=d.year + k)
    except ValueError:  # 29 February
        return d.replace(year=d.year + k, day=28)


def ledger(guarantee_kwh_per_year: float, realised_kwh: float, year_start: dt.date, year_end: dt.date,
           until: dt.date, share_municipality: float, points: int = 0, points_with_data: int = 0) -> Ledger:
    """Guaranteed (pro rata by days up to ``until``, exclusive) vs realised savings; shortfall paid by the ESCO,
    surplus split.  Realised NaN (no day with data) leaves shortfall and surplus unknown, not 0."""
    days_year = (year_end - year_start).days
    elapsed = max(0, min((until - year_start).days, days_year))
    g = guarantee_kwh_per_year * elapsed / days_year
    short = max(0.0, g - realised_kwh) if math.isfinite(realised_kwh) else math.nan
    surplus = max(0.0, realised_kwh - g) if math.isfinite(realised_kwh) else math.nan
    return Ledger(year_start, year_end, elapsed, guarantee_kwh_per_year, g, realised_kwh, short, surplus,
                  surplus * share_municipality, surplus * (1 - share_municipality), points, points_with_data)


@dataclass
class SiteResult:
    site: str
    name: str
    carrier: str
    sufficiency: Sufficiency
    fit: DailyFit | BillingFit | None
    daily: pd.DataFrame | None = None  # reporting rows up to the end of the month (days, hours or months)
    month: PeriodSavings | None = None
    ytd: PeriodSavings | None = None  # calendar year to date
    since_start: PeriodSavings | None = None
    months: list[PeriodSavings] = field(default_factory=list)
    ledger: Ledger | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    g14_ok: bool | None = False  # None: not assessed (no reporting point with data since the measure)
    g14_notes: list[str] = field(default_factory=list)  # short English reasons (logs); reports use ``verdict``
    verdict: SavingsVerdict | None = None  # None with g14_ok None: nothing to judge
    error: str = ""
    granularity: str = "day"  # what one row of ``daily`` is: "day" (CalTRACK daily), "hour" (TOWT), "month" (billing)
    model: object = None  # the baseline model used (DailyModel or TowtModel)
    cvrmse_max: float = math.nan
    nmbe_max: float = math.nan
    price_days: pd.DataFrame | None = None  # per reporting day: price, hours, hours_in_file (see price_table)
    cutoff: dt.date | None = None  # reporting rows end before this day: the month's end, or today in a running month
    preliminary: bool = False  # the month is not over: only its days before ``cutoff`` count (foreløbig)


GRANULARITY = {"caltrack_daily": "day", "towt_hourly": "hour", "caltrack_billing": "month"}
UNITS = {"day": "days", "hour": "hours", "month": "months"}


def report_cutoff(month_start: dt.date, today: dt.date | None = None) -> dt.date:
    """The first day *not* reported for the month starting ``month_start``: its end, or — while the month is
    running — today (local), so only days that are over count; a day still in progress is neither missing nor
    counted.  ``today`` defaults to the local date now."""
    today = today or dt.datetime.now(tz=LOCAL_TZ).date()
    return min(add_months(month_start, 1), max(today, month_start))


def evaluate_site(store, esco: EscoSettings, site: str, name: str, month_start: dt.date,
                  prices: PriceBasis | None = None, today: dt.date | None = None) -> SiteResult:
    """Fit the baseline and compute savings (kWh and DKK) up to the end of the month starting at ``month_start``
    (for the running month: up to ``today``, see :func:`report_cutoff`).

    The site's ``model`` decides the reporting points: ``caltrack_daily`` (local days),
    ``towt_hourly`` (hours; CalTRACK hourly TOWT) or ``caltrack_billing`` (calendar months;
    CalTRACK billing method by weighted least squares, for meters read once a month).
    ``prices`` is the contract's price basis (default: :func:`price_basis` of ``esco``).
    """
    cfg = esco.sites[site]
    gran = GRANULARITY[cfg.model]
    month_end = add_months(month_start, 1)
    cutoff = report_cutoff(month_start, today)
    window = "1h" if gran == "hour" else "day"
    base = site_daily_frame(store, esco, site, cfg, esco.baseline_start, esco.baseline_end, window)
    base_rows = monthly_frame(base) if gran == "month" else base
    suff = data_sufficiency(base_rows, unit=UNITS[gran])
    res = SiteResult(site, name, cfg.carrier, suff, None, adjustments=list(cfg.adjustments), granularity=gran,
                     cutoff=cutoff, preliminary=cutoff < month_end)
    if month_end <= esco.measure_date:
        res.error = f"the month ends before the measure date {esco.measure_date}"
        return res
    if cutoff <= esco.measure_date:
        res.error = f"no day since the measure date {esco.measure_date} is over yet"
        return res
    if not suff.ok:
        temp_ref = cfg.temperature or esco.temperature
        res.error = f"{suff.reason} (energy {series_key(cfg.energy, site)}, temperature {series_key(temp_ref, site)})"
        return res
    rep = site_daily_frame(store, esco, site, cfg, esco.measure_date, cutoff, window)
    ny = NormalYear(esco.normal_year.total, esco.normal_year.source, tuple(esco.normal_year.monthly))
    if gran == "hour":
        model = fit_towt_hourly(base["energy_kwh"], base["temp_mean_c"])
        idx_h = pd.DatetimeIndex(rep.index)
        baseline_kwh = pd.Series(model.predict_kwh(idx_h, rep["temp_mean_c"].to_numpy()), index=rep.index)
        adj = adjustment_kwh_per_day(cfg.adjustments, baseline_kwh, rows_per_day=24)
        daily = savings_frame(baseline_kwh, rep["energy_kwh"], rep["temp_mean_c"], adj)
        daily["base_load_kwh"] = model.predict_kwh(idx_h, np.full(len(rep), esco.base_temperature_c))
        daily["hdd_c"], daily["hdd_normal_c"] = hourly_degree_days(rep["temp_mean_c"], ny, esco.base_temperature_c)
    elif gran == "month":
        res.fit = fit_caltrack_billing(base["temp_mean_c"], billing_periods(base_rows))
        model = res.fit.model
        daily = billing_savings(model, rep, cfg.adjustments, ny, esco.base_temperature_c)
    else:
        fit = fit_caltrack_daily(base["temp_mean_c"].to_numpy(), base["energy_kwh"].to_numpy(),
                                 days=pd.DatetimeIndex(base.index))
        res.fit = fit
        model = fit.model
        baseline_kwh = pd.Series(model.predict_kwh_per_day(rep["temp_mean_c"].to_numpy()), index=rep.index)
        adj = adjustment_kwh_per_day(cfg.adjustments, baseline_kwh)
        daily = daily_savings(model, rep["temp_mean_c"], rep["energy_kwh"], adj)
    prices = prices or price_basis(esco, store)
    if gran == "hour":
        hourly_kwh = rep["energy_kwh"]
    elif prices.kind == "file":  # the day's price is weighted by the building's hourly use
        hourly_kwh = site_energy_kwh(store, site, cfg, esco.measure_date, cutoff, "1h")
    else:
        hourly_kwh = None  # a fixed or per-period price is the same in every hour of a day
    res.price_days = price_table(prices, esco.measure_date, cutoff, hourly_kwh)
    daily = with_prices(daily, row_prices(daily, gran, prices, res.price_days,
                                          rep["energy_kwh"] if gran == "month" else None))
    res.model = model
    res.daily = daily
    kw = dict(normal_year=ny, weather_independent_share=cfg.weather_independent_share,
              base_c=esco.base_temperature_c)
    idx = pd.DatetimeIndex(daily.index)
    in_month = idx >= pd.Timestamp(month_start).tz_localize(LOCAL_TZ)
    year_start = max(dt.date(month_start.year, 1, 1), esco.measure_date)
    in_year = idx >= pd.Timestamp(year_start).tz_localize(LOCAL_TZ)
    last = cutoff - dt.timedelta(days=1)  # None below: no day of the period is over yet
    m_start = max(month_start, esco.measure_date)
    res.month = replace(period_savings(month_start.strftime("%Y-%m"), daily[in_month], model, **kw),
                        start=m_start, end=last if last >= m_start else None)
    res.ytd = replace(period_savings(f"{year_start:%Y-%m-%d}..", daily[in_year], model, **kw),
                      start=year_start, end=last if last >= year_start else None)
    res.since_start = replace(period_savings(f"{esco.measure_date:%Y-%m-%d}..", daily, model, **kw),
                              start=esco.measure_date, end=last)
    res.months = monthly_savings(daily, model, **kw)
    if cfg.guarantee_kwh_per_year is not None:
        y0, y1 = contract_year(esco.measure_date, month_end)
        in_cy = (idx >= pd.Timestamp(y0).tz_localize(LOCAL_TZ)) & (idx < pd.Timestamp(y1).tz_localize(LOCAL_TZ))
        cy = daily.loc[in_cy, "savings_kwh"]
        res.ledger = ledger(cfg.guarantee_kwh_per_year, float(cy.sum(min_count=1)), y0, y1, cutoff,
                            esco.surplus_share_municipality, len(cy), int(cy.notna().sum()))
    res.cvrmse_max, res.nmbe_max = g14_thresholds(esco, gran)
    if res.since_start.m == 0:  # nothing measured since the measure: there are no savings to judge
        res.g14_ok, res.g14_notes = None, []
        return res
    res.verdict = savings_verdict(model.stats, res.since_start, res.cvrmse_max, res.nmbe_max, G14_FSU_MAX_68)
    res.g14_notes = res.verdict.notes()
    res.g14_ok = res.verdict.ok
    return res


def g14_thresholds(esco: EscoSettings, granularity: str) -> tuple[float, float]:
    """CV(RMSE) and |NMBE| limits for the model's data resolution (ASHRAE G14-2014: monthly 15 % / 5 %)."""
    if granularity == "hour":
        return esco.cvrmse_max_hourly, esco.nmbe_max
    if granularity == "month":
        return esco.cvrmse_max_monthly, esco.nmbe_max_monthly
    return esco.cvrmse_max, esco.nmbe_max


# -- the billing (monthly) model ---------------------------------------------------------------
def billing_periods(months: pd.DataFrame) -> list[tuple[pd.Timestamp, pd.Timestamp, float]]:
    """``(start, end_exclusive, kWh)`` per month row of :func:`monthly_frame` (local midnights)."""
    out = []
    for start, row in months.iterrows():
        end = (start.tz_localize(None) + pd.Timedelta(days=int(row["days"]))).tz_localize(LOCAL_TZ)
        out.append((start, end, float(row["energy_kwh"])))
    return out


def billing_savings(model, days: pd.DataFrame, adjustments: list[Adjustment], normal_year: NormalYear,
                    base_c: float) -> pd.DataFrame:
    """Savings per calendar month from a billing model (kWh/day coefficients) and the reporting days.

    A month's baseline is the mean predicted kWh/day over its days with a temperature times its
    days (CalTRACK billing: the period's mean degree days), when at least 90 % of the days have a
    temperature; adjustments are added per day (a percentage of the day's baseline).  Degree days
    per month (``hdd_c``, scaled to the month's days) and the normal year's (``hdd_normal_c``) go
    with each row for the normal-year correction, ``base_load_kwh`` = μ · days.
    """
    idx = pd.DatetimeIndex(days.index)
    keys = month_keys(idx)
    months = monthly_frame(days)
    pred = pd.Series(model.predict_kwh_per_day(days["temp_mean_c"].to_numpy()), index=idx)
    mean_pred = pred.groupby(keys, sort=False).mean().to_numpy()
    n = months["days"].to_numpy()
    baseline = pd.Series(np.where(months["temp_mean_c"].notna(), mean_pred * n, np.nan), index=months.index)
    filled = pred.fillna(pd.Series(np.repeat(mean_pred, n), index=idx))  # a day without temperature: month's mean
    adj = adjustment_kwh_per_day(adjustments, filled).groupby(keys, sort=False).sum()
    adj.index = months.index
    rows = savings_frame(baseline, months["energy_kwh"], months["temp_mean_c"], adj)
    hdd = pd.Series(heating_degree_days_c(days["temp_mean_c"].to_numpy(), base_c), index=idx)
    temp_days = months["temp_days"].to_numpy()
    hdd_sum = hdd.groupby(keys, sort=False).sum().to_numpy()
    rows["hdd_c"] = np.where(temp_days > 0, hdd_sum * n / np.maximum(temp_days, 1), np.nan)
    rows["hdd_normal_c"] = pd.Series(normal_year.per_day(idx), index=idx).groupby(keys, sort=False).sum().to_numpy()
    rows["base_load_kwh"] = model.intercept_kwh_per_day * n
    # the model's regressors per month (mean degree days per day at its balance points): savings uncertainty
    hdd_m, cdd_m = model.degree_days(days["temp_mean_c"].to_numpy())
    for col, x in (("model_hdd_k", hdd_m), ("model_cdd_k", cdd_m)):
        rows[col] = pd.Series(x, index=idx).groupby(keys, sort=False).mean().to_numpy()
    rows["days"] = n
    rows["temp_days"] = temp_days
    return rows


# -- prices ------------------------------------------------------------------------------------
MAX_PLAUSIBLE_DKK_PER_KWH = 100.0
"""A price above this is taken for a unit error (DKK/MWh or øre/kWh) rather than a price."""


@dataclass(frozen=True)
class PriceFile:
    """An interval price series (DKK/kWh) as hourly prices: the time-weighted mean of an hour's intervals,
    NaN for an hour the file does not cover completely."""

    path: Path
    interval_min: int
    hourly: pd.Series  # DKK/kWh per hour start (UTC), one row per hour from the first to the last in the file

    @property
    def name(self) -> str:
        return self.path.name


def parse_price_text(text: str, name: str) -> tuple[int, pd.Series]:
    """``time,value`` CSV (:mod:`energimon.timeseries_csv`, as the importer reads it: ``;`` with decimal comma,
    Danish or ISO times, local time unless an offset is given) -> (interval in minutes, hourly prices).
    Raises :class:`~energimon.timeseries_csv.CsvFormatError` naming every bad line."""
    rows = parse_time_value(text, name)
    if not rows:
        raise CsvFormatError([f"{name}: no prices in the file"])
    errors = [f"{name}:{r.line}: price {r.value:g} DKK/kWh is not plausible (the file must be in DKK/kWh, "
              "not DKK/MWh or øre/kWh)" for r in rows if abs(r.value) > MAX_PLAUSIBLE_DKK_PER_KWH]
    seen: dict[int, int] = {}
    for r in rows:
        if r.ts_ms in seen:
            errors.append(f"{name}:{r.line}: the same time as line {seen[r.ts_ms]}")
        seen.setdefault(r.ts_ms, r.line)
    step_ms = most_common_step_ms(r.ts_ms for r in rows)
    if len(rows) > 1 and (step_ms > 3_600_000 or 3_600_000 % step_ms):
        errors.append(f"{name}: prices every {step_ms / 60000:g} min; expected hourly or shorter intervals that "
                      "divide an hour (15, 30 or 60 min). For a price per period use prices = [...]")
    else:
        errors += [f"{name}:{r.line}: time is not on a {step_ms // 60000}-minute boundary"
                   for r in rows if r.ts_ms % step_ms]
    if errors:
        raise CsvFormatError(errors)
    ts = np.array([r.ts_ms for r in rows], np.int64)
    values = np.array([r.value for r in rows])
    hour = ts - ts % 3_600_000
    per_hour = 3_600_000 // step_ms
    g = pd.Series(values).groupby(hour)
    mean = g.mean().where(g.count() == per_hour)  # an hour with some intervals missing has no price
    grid = np.arange(hour.min(), hour.max() + 1, 3_600_000)
    hourly = mean.reindex(grid)
    hourly.index = pd.to_datetime(grid, unit="ms", utc=True)
    return step_ms // 60000, hourly


@functools.lru_cache(maxsize=8)
def _load_price_file(path: Path, _mtime_ns: int, _size: int) -> PriceFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"esco.price_file: cannot read {path}: {exc}") from None
    try:
        interval, hourly = parse_price_text(text, path.name)
    except CsvFormatError as exc:
        raise ValueError(f"esco.price_file {path}: {exc}") from None
    return PriceFile(path, interval, hourly)


def load_price_file(path: Path) -> PriceFile:
    """The price file, parsed once per content (cached on modification time and size: the energy team may
    append next month's prices while the daemon runs)."""
    try:
        st = Path(path).stat()
    except OSError:
        raise ValueError(f"esco.price_file: file not found: {path}") from None
    return _load_price_file(Path(path), st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class PriceBasis:
    """How savings are priced: a fixed price, a price per period (step function by local day), or a file."""

    kind: str  # "fixed" | "periods" | "file"
    fixed_dkk_per_kwh: float | None = None
    periods: tuple[PricePeriod, ...] = ()
    file: PriceFile | None = None


def price_basis(esco: EscoSettings, store=None) -> PriceBasis:
    kind = esco.price_kind
    if kind == "spot":  # the stored spot price + tariffs per period (analytics/spot_prices.py)
        if store is None:
            raise ValueError("esco.spot_price is read from the store: call price_basis(esco, store)")
        from energimon.analytics.spot_prices import spot_price_basis

        return spot_price_basis(store, esco)
    if kind == "fixed":
        return PriceBasis(kind, fixed_dkk_per_kwh=esco.price_dkk_per_kwh)
    if kind == "periods":
        return PriceBasis(kind, periods=tuple(esco.prices))
    return PriceBasis(kind, file=load_price_file(esco.price_file))


def step_prices(days: pd.DatetimeIndex, periods: tuple[PricePeriod, ...]) -> np.ndarray:
    """The price in force on each local day (the latest period starting on or before it; NaN before the first)."""
    starts = np.array([np.datetime64(p.from_, "D") for p in periods])
    values = np.array([p.dkk_per_kwh for p in periods])
    d = pd.DatetimeIndex(days).tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
    i = np.searchsorted(starts, d, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)


def hourly_prices(hours: pd.DatetimeIndex, basis: PriceBasis) -> tuple[np.ndarray, np.ndarray]:
    """Price per hour start and whether the price source has that hour itself (a file's missing hour takes the
    last earlier price in the file; an hour before the file's first price stays NaN)."""
    n = len(hours)
    if basis.kind == "fixed":
        return np.full(n, basis.fixed_dkk_per_kwh), np.ones(n, bool)
    if basis.kind == "periods":
        p = step_prices(hours, basis.periods)
        return p, ~np.isnan(p)
    s = basis.file.hourly
    utc = pd.DatetimeIndex(hours).tz_convert("UTC")
    own = s.reindex(utc).to_numpy()
    filled = s.ffill().reindex(utc, method="ffill").to_numpy()
    return filled, ~np.isnan(own)


def price_table(basis: PriceBasis, start: dt.date, end: dt.date, hourly_kwh: pd.Series | None = None) -> pd.DataFrame:
    """Per local day in ``[start, end)``: ``price_dkk_per_kwh``, ``hours`` (23/24/25) and ``hours_in_file``
    (hours with their own price; the others took the last earlier one).

    The day's price is the mean of its hourly prices weighted by ``hourly_kwh`` (the building's measured
    use per hour) when that is known, non-negative and not all zero for every priced hour of the day;
    otherwise the plain mean.  A day with no priced hour (before a price file starts) has NaN.
    """
    if basis.kind != "file":  # one price per local day: no need to go through the hours
        days = local_index(start, end, "day")
        edges_ms = local_index(start, end + dt.timedelta(days=1), "day").tz_convert("UTC").as_unit("ms").asi8
        n_hours = np.diff(edges_ms) // 3_600_000
        price = (np.full(len(days), basis.fixed_dkk_per_kwh) if basis.kind == "fixed"
                 else step_prices(days, basis.periods))
        return pd.DataFrame({"price_dkk_per_kwh": price, "hours": n_hours,
                             "hours_in_file": np.where(np.isnan(price), 0, n_hours), "weighted": False}, index=days)
    hours = local_index(start, end, "1h")
    price, own = hourly_prices(hours, basis)
    day = hours.normalize()
    kwh = hourly_kwh.reindex(hours).to_numpy(float) if hourly_kwh is not None else np.full(len(hours), np.nan)
    priced = ~np.isnan(price)
    df = pd.DataFrame({"day": day, "p": np.where(priced, price, 0.0), "priced": priced, "own": own,
                       "w": np.where(priced, kwh, 0.0), "w_bad": priced & (np.isnan(kwh) | (kwh < 0))})
    df["wp"] = df["w"] * df["p"]
    g = df.groupby("day", sort=True)
    agg = g.agg(hours=("p", "size"), priced=("priced", "sum"), own=("own", "sum"), p_sum=("p", "sum"),
                w_sum=("w", "sum"), wp_sum=("wp", "sum"), w_bad=("w_bad", "sum"))
    plain = agg["p_sum"] / agg["priced"].where(agg["priced"] > 0)
    weighted_ok = (agg["w_bad"] == 0) & (agg["w_sum"] > 0)
    weighted = agg["wp_sum"] / agg["w_sum"].where(weighted_ok)
    out = pd.DataFrame({"price_dkk_per_kwh": weighted.where(weighted_ok, plain), "hours": agg["hours"],
                        "hours_in_file": agg["own"], "weighted": weighted_ok & (agg["priced"] > 0)})
    out.index = pd.DatetimeIndex(out.index)
    return out


def row_prices(rows: pd.DataFrame, granularity: str, basis: PriceBasis, days: pd.DataFrame,
               day_kwh: pd.Series | None = None) -> pd.Series:
    """The price of each reporting row: its day's (day rows), its hour's (hour rows), or for month rows the
    days' prices weighted by the days' measured use (plain mean when a day's use is unknown)."""
    idx = pd.DatetimeIndex(rows.index)
    if granularity == "hour":
        return pd.Series(hourly_prices(idx, basis)[0], index=idx)
    if granularity == "day":
        return days["price_dkk_per_kwh"].reindex(idx)
    p = days["price_dkk_per_kwh"]
    w = day_kwh.reindex(p.index) if day_kwh is not None else pd.Series(np.nan, index=p.index)
    keys = month_keys(pd.DatetimeIndex(p.index))
    frame = pd.DataFrame({"p": p, "w": w, "wp": w * p})
    g = frame.groupby(keys, sort=False)
    ok = (g["w"].count() == g.size()) & (g["w"].min() >= 0) & (g["w"].sum() > 0) & (g["p"].count() == g.size())
    weighted = g["wp"].sum() / g["w"].sum().where(ok)
    plain = g["p"].mean().where(g["p"].count() == g.size())
    out = weighted.where(ok, plain)
    return pd.Series(out.to_numpy(), index=idx)


@dataclass(frozen=True)
class PriceGaps:
    """Days of a period whose price file had all / some / none of their hours."""

    days_partial: int  # some hours missing in the file (they took the last earlier price)
    days_missing: int  # no hour in the file (the whole day took the last earlier price)
    days_unpriced: int  # no price at all (before the file's first price): the period has no DKK


def price_gaps(days: pd.DataFrame | None, start: dt.date, end_inclusive: dt.date) -> PriceGaps:
    if days is None or days.empty:
        return PriceGaps(0, 0, 0)
    d = pd.DatetimeIndex(days.index).tz_localize(None)
    sel = days[(d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end_inclusive))]
    unpriced = sel["price_dkk_per_kwh"].isna()
    partial = (sel["hours_in_file"] > 0) & (sel["hours_in_file"] < sel["hours"]) & ~unpriced
    missing = (sel["hours_in_file"] == 0) & ~unpriced
    return PriceGaps(int(partial.sum()), int(missing.sum()), int(unpriced.sum()))


def hourly_degree_days(temp_c: pd.Series, normal_year: NormalYear, base_c: float) -> tuple[np.ndarray, np.ndarray]:
    """Degree days per hour row: each local day's ``max(0, base − daily mean)`` (and the normal year's day)
    spread evenly over the day's hours, so sums over hours give the days' degree days."""
    idx = pd.DatetimeIndex(temp_c.index)
    day_mean = daily_mean_from_hourly_c(temp_c)
    days = idx.normalize()
    hours_in_day = pd.Series(1, index=idx).groupby(days).transform("count").to_numpy()
    hdd_day = heating_degree_days_c(day_mean.reindex(days).to_numpy(), base_c)
    normal_day = normal_year.per_day(pd.DatetimeIndex(days))
    return hdd_day / hours_in_day, normal_day / hours_in_day


def add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    return dt.date(d.year + y, m + 1, 1)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month."""
    try:
        y, m = text.split("-")
        return dt.date(int(y), int(m), 1)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, e.g. 2026-03; got {text!r}") from None


def co2_kg(kwh: float, esco: EscoSettings, carrier: str, year: int) -> float:
    """CO2 in kg for ``kwh`` of ``carrier`` in ``year`` (the year's factor, else the latest earlier one)."""
    f = esco.co2_factor(carrier, year)
    return kwh * f.kg_per_kwh if f is not None else math.nan
