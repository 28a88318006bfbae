"""The ESCO contract applied to one building: baseline fit and savings per model granularity, up to a month's end.

Reads the building's energy and outdoor temperature (:mod:`.inputs`), fits its baseline model on the
baseline period — CalTRACK daily (reporting rows are local days), CalTRACK hourly TOWT (hours) or
CalTRACK billing (calendar months) — applies non-routine adjustments and PV add-back, prices every
reporting row (:mod:`.prices`), sums the month, the contract year to date and the time since the measure
(:func:`~energimon.analytics.savings.period_savings`), keeps the guarantee ledger (:mod:`.ledger`) and
judges the result against ASHRAE Guideline 14.  Everything the monthly report shows is computed here;
the report only renders it.  Never talks to devices.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.analytics.baseline import (
    BillingFit,
    DailyFit,
    DailyModel,
    fit_caltrack_billing,
    fit_caltrack_daily,
)
from energimon.analytics.degree_days import (
    NormalYear,
    daily_mean_from_hourly_c,
    graddagekorrektion,
    heating_degree_days_c,
)
from energimon.analytics.esco.inputs import (
    GRANULARITY,
    Sufficiency,
    data_sufficiency,
    days_with_temperature,
    monthly_frame,
    series_key,
    site_balance,
    site_frame,
)
from energimon.analytics.esco.ledger import Ledger, site_ledger
from energimon.analytics.esco.prices import PriceBasis, carrier_price_basis, price_basis, price_table, row_prices
from energimon.analytics.esco.settings import Adjustment, EscoSettings
from energimon.analytics.savings import (
    UNITS,
    PeriodSavings,
    SavingsVerdict,
    daily_savings,
    monthly_savings,
    period_savings,
    savings_frame,
    savings_verdict,
    with_prices,
)
from energimon.analytics.stats import G14_FSU_MAX_68
from energimon.analytics.towt import TowtModel, fit_towt_hourly
from energimon.calendar import contract_year, local_day_index, month_keys, next_month, report_cutoff
from energimon.model import LOCAL_TZ

__all__ = ["GRANULARITY", "UNITS", "LastYearMonth", "MonthWeather", "SiteResult", "billing_periods", "billing_savings",
           "evaluate_site", "g14_thresholds", "hourly_degree_days"]


@dataclass(frozen=True)
class MonthWeather:
    """The report month's degree days: measured (``hdd_c``, NaN without any day with a temperature), the normal
    year's for the same days (``normal_hdd_c``: the whole month, or in a running month the days reported) and
    the days with a temperature."""

    hdd_c: float
    normal_hdd_c: float
    temp_days: int


@dataclass(frozen=True)
class LastYearMonth:
    """The report month's days one year earlier beside this year's: what the building used then, and that use
    corrected to this year's degree days (graddagekorrektion: the weather-dependent share scaled by this year's
    degree days over last year's) — what it would have used last year in this year's weather.

    ``start``/``end`` (exclusive) are last year's days: the whole month, or in a running month the same days as
    those reported this year.  Amounts are NaN when a day lacks complete meter data (a month with a gap is not a
    smaller month), degree days NaN when fewer than 90 % of the days have a temperature."""

    start: dt.date
    end: dt.date
    actual_kwh: float  # last year's use on those days
    hdd_c: float  # last year's degree days on those days
    this_hdd_c: float  # this year's degree days on the report month's days
    corrected_kwh: float  # last year's use in this year's weather
    this_kwh: float  # this year's use on the report month's days (NaN unless every row is known)
    weather_independent_share: float  # f in the correction

    @property
    def change(self) -> float:
        """This year's use against last year's corrected: -0.12 is 12 % less (NaN when either is unknown)."""
        if not (math.isfinite(self.this_kwh) and math.isfinite(self.corrected_kwh)) or self.corrected_kwh <= 0:
            return math.nan
        return self.this_kwh / self.corrected_kwh - 1.0


BaselineModel = DailyModel | TowtModel
"""The baseline models the savings are computed with: CalTRACK daily and billing (kWh/day coefficients), TOWT."""


@dataclass
class SiteResult:
    site: str
    name: str
    carrier: str
    sufficiency: Sufficiency
    fit: DailyFit | BillingFit | None
    daily: pd.DataFrame | None = None  # reporting rows up to the end of the month (days, hours or months)
    month: PeriodSavings | None = None
    ytd: PeriodSavings | None = None  # contract year to date: from the contract year's first day (``ytd.start``)
    since_start: PeriodSavings | None = None
    months: list[PeriodSavings] = field(default_factory=list)
    ledger: Ledger | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    g14_ok: bool | None = False  # None: not assessed (no reporting point with data since the measure)
    g14_notes: list[str] = field(default_factory=list)  # short English reasons (logs); reports use ``verdict``
    verdict: SavingsVerdict | None = None  # None with g14_ok None: nothing to judge
    error: str = ""
    granularity: str = "day"  # what one row of ``daily`` is: "day" (CalTRACK daily), "hour" (TOWT), "month" (billing)
    model: BaselineModel | None = None  # the baseline model used (daily and billing: DailyModel; hourly: TowtModel)
    cvrmse_max: float = math.nan
    nmbe_max: float = math.nan
    price_days: pd.DataFrame | None = None  # per reporting day: price, hours, hours_in_file (see price_table)
    cutoff: dt.date | None = None  # reporting rows end before this day: the month's end, or today in a running month
    preliminary: bool = False  # the month is not over: only its days before ``cutoff`` count (foreløbig)
    weather: MonthWeather | None = None  # the report month's degree days against the normal year
    month_price_dkk_per_kwh: float = math.nan  # the month's price weighted by the building's measured use
    last_year: LastYearMonth | None = None  # the same month a year earlier, degree-day corrected
    floor_area_m2: float | None = None  # heated floor area, when configured (for kWh/m²)
    gas_kwh_per_m3: tuple[float, int, str] | None = None  # natural gas: (kWh/m³, year, source) for its kWh

    @property
    def unit(self) -> str:
        """What a reporting row is counted in: ``"days"``, ``"hours"`` or ``"months"``."""
        return UNITS[self.granularity]

    def per_m2(self, kwh: float | None) -> float:
        """``kwh`` per m² of heated floor area; NaN without a configured floor area or an amount."""
        if not self.floor_area_m2 or kwh is None or not math.isfinite(kwh):
            return math.nan
        return kwh / self.floor_area_m2


def evaluate_site(store, esco: EscoSettings, site: str, name: str, month_start: dt.date,
                  prices: PriceBasis | None = None, today: dt.date | None = None,
                  floor_area_m2: float | None = None, school_holidays: frozenset[dt.date] = frozenset()) -> SiteResult:
    """Fit the baseline and compute savings (kWh and DKK) up to the end of the month starting at ``month_start``
    (for the running month: up to ``today``, see :func:`energimon.calendar.report_cutoff`).

    The site's ``model`` decides the reporting points: ``caltrack_daily`` (local days),
    ``towt_hourly`` (hours; CalTRACK hourly TOWT) or ``caltrack_billing`` (calendar months;
    CalTRACK billing method by weighted least squares, for meters read once a month).
    ``prices`` is the contract's price basis (default: :func:`~.prices.price_basis` of ``esco``).
    ``floor_area_m2``: the site's heated floor area (``[sites.<id>] floor_area_m2``), for kWh/m².
    ``school_holidays``: its calendar's school-holiday days (``[alerts.sites.<id>]``), day types of their own in the
    daily and hourly models' savings uncertainty (:data:`~energimon.analytics.stats.DAY_TYPES`).
    """
    cfg = esco.sites[site]
    gran = GRANULARITY[cfg.model]
    month_end = next_month(month_start)
    cutoff = report_cutoff(month_start, today)
    window = "1h" if gran == "hour" else "day"
    base = site_frame(store, esco, site, cfg, esco.baseline_start, esco.baseline_end, window)
    base_rows = monthly_frame(base) if gran == "month" else base
    suff = data_sufficiency(base_rows, unit=UNITS[gran])
    res = SiteResult(site, name, cfg.carrier, suff, None, adjustments=list(cfg.adjustments), granularity=gran,
                     cutoff=cutoff, preliminary=cutoff < month_end, floor_area_m2=floor_area_m2)
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
    balance = site_balance(store, site, cfg, esco.measure_date, cutoff)
    rep = site_frame(store, esco, site, cfg, esco.measure_date, cutoff, window, balance)
    ny = NormalYear(esco.normal_year.total, esco.normal_year.source, tuple(esco.normal_year.monthly))
    model: BaselineModel
    if gran == "hour":
        model, daily = _hourly_rows(base, rep, cfg.adjustments, ny, esco.base_temperature_c, school_holidays)
    elif gran == "month":
        res.fit = fit_caltrack_billing(base["temp_mean_c"], billing_periods(base_rows),
                                       school_holidays=school_holidays)
        model = res.fit.model
        daily = billing_savings(model, rep, cfg.adjustments, ny, esco.base_temperature_c)
    else:
        res.fit, daily = _daily_rows(base, rep, cfg.adjustments, school_holidays)
        model = res.fit.model
    # a carrier with its own prices (gas and water per m³) is priced by them, else by the contract's price
    prices = carrier_price_basis(esco, cfg.carrier) or prices or price_basis(esco, store)
    # a file's or the spot price's hours are weighted by the building's hourly use; a fixed or per-period price
    # is the same in every hour of a day
    hourly_kwh = balance.hourly["load_wh"] * carriers.carrier(cfg.carrier).per_counter_unit \
        if prices.kind == "file" or gran == "hour" else None
    res.price_days = price_table(prices, esco.measure_date, cutoff, hourly_kwh)
    daily = with_prices(daily, row_prices(daily, gran, prices, res.price_days,
                                          rep["energy_kwh"] if gran == "month" else None))
    res.model = model
    res.daily = daily
    since_start = _periods(res, daily, model, esco, cfg.weather_independent_share, ny, month_start, cutoff)
    res.weather = month_weather(daily, gran, ny, esco.base_temperature_c, month_start, cutoff)
    if cutoff > month_start:  # a month with no day over yet has nothing to compare
        days = _last_year_days(store, esco, site, cfg, month_start, cutoff, base if gran != "hour" else None,
                               rep if gran != "hour" else None)
        res.last_year = last_year_month(days, daily, model, res.weather, cfg.weather_independent_share,
                                        esco.base_temperature_c, month_start, cutoff)
    res.month_price_dkk_per_kwh = month_mean_price_dkk_per_kwh(daily, month_start)
    if cfg.guarantee_kwh_per_year is not None:
        y0, y1 = contract_year(esco.measure_date, month_end)
        res.ledger = site_ledger(daily, cfg.guarantee_kwh_per_year, y0, y1, cutoff, esco.surplus_share_municipality)
    res.cvrmse_max, res.nmbe_max = g14_thresholds(esco, gran)
    if since_start.m == 0:  # nothing measured since the measure: there are no savings to judge
        res.g14_ok, res.g14_notes = None, []
        return res
    res.verdict = savings_verdict(model.stats, since_start, res.cvrmse_max, res.nmbe_max, G14_FSU_MAX_68)
    res.g14_notes = res.verdict.notes()
    res.g14_ok = res.verdict.ok
    return res


# -- reporting rows per model granularity ------------------------------------------------------
def _daily_rows(base: pd.DataFrame, rep: pd.DataFrame, adjustments: list[Adjustment],
                school_holidays: frozenset[dt.date] = frozenset()) -> tuple[DailyFit, pd.DataFrame]:
    """CalTRACK daily: the change-point model fitted on the baseline days, savings per reporting day."""
    fit = fit_caltrack_daily(base["temp_mean_c"].to_numpy(), base["energy_kwh"].to_numpy(),
                             days=pd.DatetimeIndex(base.index), school_holidays=school_holidays)
    model = fit.model
    baseline_kwh = pd.Series(model.predict_kwh_per_day(rep["temp_mean_c"].to_numpy()), index=rep.index)
    adj = adjustment_kwh_per_day(adjustments, baseline_kwh)
    return fit, daily_savings(model, rep["temp_mean_c"], rep["energy_kwh"], adj)


def _hourly_rows(base: pd.DataFrame, rep: pd.DataFrame, adjustments: list[Adjustment], ny: NormalYear,
                 base_c: float, school_holidays: frozenset[dt.date] = frozenset()) -> tuple[TowtModel, pd.DataFrame]:
    """CalTRACK hourly (TOWT): savings per reporting hour, with each hour's share of its day's degree days."""
    model = fit_towt_hourly(base["energy_kwh"], base["temp_mean_c"], school_holidays)
    idx_h = pd.DatetimeIndex(rep.index)
    baseline_kwh = pd.Series(model.predict_kwh(idx_h, rep["temp_mean_c"].to_numpy()), index=rep.index)
    adj = adjustment_kwh_per_day(adjustments, baseline_kwh, rows_per_day=24)
    rows = savings_frame(baseline_kwh, rep["energy_kwh"], rep["temp_mean_c"], adj)
    rows["base_load_kwh"] = model.predict_kwh(idx_h, np.full(len(rep), base_c))
    rows["hdd_c"], rows["hdd_normal_c"] = hourly_degree_days(rep["temp_mean_c"], ny, base_c)
    return model, rows


def _periods(res: SiteResult, daily: pd.DataFrame, model: BaselineModel, esco: EscoSettings, share: float | None,
             ny: NormalYear, month_start: dt.date, cutoff: dt.date) -> PeriodSavings:
    """The month, the contract year to date, the time since the measure (returned too), and every month since it.

    The year to date is the contract year's (from the measure date's anniversary that begins the contract year
    holding the month, :func:`energimon.calendar.contract_year`), as the guarantee ledger's: the committee
    compares the two."""
    kw = dict(normal_year=ny, weather_independent_share=share, base_c=esco.base_temperature_c,
              granularity=res.granularity)
    idx = pd.DatetimeIndex(daily.index)
    in_month = idx >= pd.Timestamp(month_start).tz_localize(LOCAL_TZ)
    year_start = max(contract_year(esco.measure_date, next_month(month_start))[0], esco.measure_date)
    in_year = idx >= pd.Timestamp(year_start).tz_localize(LOCAL_TZ)
    last = cutoff - dt.timedelta(days=1)  # None below: no day of the period is over yet
    m_start = max(month_start, esco.measure_date)
    def period(label: str, rows: pd.DataFrame) -> PeriodSavings:
        return period_savings(label, rows, model, normal_year=ny, weather_independent_share=share,
                              base_c=esco.base_temperature_c, granularity=res.granularity)

    res.month = replace(period(month_start.strftime("%Y-%m"), daily[in_month]),
                        start=m_start, end=last if last >= m_start else None)
    res.ytd = replace(period(f"{year_start:%Y-%m-%d}..", daily[in_year]),
                      start=year_start, end=last if last >= year_start else None)
    since_start = replace(period(f"{esco.measure_date:%Y-%m-%d}..", daily), start=esco.measure_date, end=last)
    res.since_start = since_start
    res.months = monthly_savings(daily, model, **kw)
    return since_start


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
        elif a.percent is not None:  # the settings require one of the two
            out[inside] += baseline_kwh[inside] * a.percent / 100.0
    return out


# -- what the report shows beside the savings ----------------------------------------------------
def month_weather(rows: pd.DataFrame, granularity: str, ny: NormalYear, base_c: float, month: dt.date,
                  cutoff: dt.date) -> MonthWeather:
    """The report month's degree days from its reporting rows (hour and month rows carry their share of their
    days' degree days in ``hdd_c``; day rows their mean temperature), and the normal year's for the same days."""
    d_month = rows[pd.DatetimeIndex(rows.index) >= pd.Timestamp(month).tz_localize(LOCAL_TZ)]
    if "hdd_c" in d_month.columns:
        hdd = float(d_month["hdd_c"].sum())
    else:
        hdd = float(np.nansum(heating_degree_days_c(d_month["temp_mean_c"].to_numpy(), base_c)))
    temp_days = days_with_temperature(d_month, granularity)
    if cutoff < next_month(month):  # compare like with like: the normal year's degree days of the days reported
        days = local_day_index(month, cutoff)
        normal = float(ny.per_day(days).sum()) if len(days) else math.nan
    else:
        normal = ny.month(month.month)
    return MonthWeather(hdd if temp_days else math.nan, normal, temp_days)


def month_mean_price_dkk_per_kwh(rows: pd.DataFrame, month: dt.date) -> float:
    """The month's mean price weighted by the building's measured use (what it paid per kWh on average)."""
    d = rows[pd.DatetimeIndex(rows.index) >= pd.Timestamp(month).tz_localize(LOCAL_TZ)]
    ok = d["actual_kwh"].notna() & d["price_dkk_per_kwh"].notna()
    a, p = d.loc[ok, "actual_kwh"].to_numpy(), d.loc[ok, "price_dkk_per_kwh"].to_numpy()
    return float(a @ p / a.sum()) if ok.any() and a.sum() > 0 else math.nan


def _last_year_days(store, esco: EscoSettings, site: str, cfg, month: dt.date, cutoff: dt.date,
                    base: pd.DataFrame | None, rep: pd.DataFrame | None) -> pd.DataFrame:
    """Daily ``energy_kwh`` and ``temp_mean_c`` of the report month's days one year earlier (see
    :class:`LastYearMonth`): taken from the baseline's or the reporting period's days when those hold them (daily
    frames), else read from the store."""
    start = month.replace(year=month.year - 1)
    end = min(start + (cutoff - month), next_month(start))
    t0, t1 = pd.Timestamp(start).tz_localize(LOCAL_TZ), pd.Timestamp(end).tz_localize(LOCAL_TZ)
    for frame, first, stop in ((base, esco.baseline_start, esco.baseline_end), (rep, esco.measure_date, cutoff)):
        if frame is not None and first <= start and end <= stop:
            idx = pd.DatetimeIndex(frame.index)
            return frame[(idx >= t0) & (idx < t1)]
    return site_frame(store, esco, site, cfg, start, end, "day")


def last_year_month(days: pd.DataFrame, rows: pd.DataFrame, model: BaselineModel, weather: MonthWeather,
                    share: float | None, base_c: float, month: dt.date, cutoff: dt.date) -> LastYearMonth:
    """The same days last year (``days``: daily ``energy_kwh``, ``temp_mean_c``) beside this year's reporting rows
    ``rows`` of the month, degree-day corrected to this year's weather (:func:`graddagekorrektion` with this year's
    degree days in the place of the normal year's).  The weather-independent share ``f`` is the contract's
    (``share``) or the baseline model's for this month, as in the normal-year correction of the savings."""
    start = month.replace(year=month.year - 1)
    end = min(start + (cutoff - month), next_month(start))
    n = len(days)
    energy = days["energy_kwh"].to_numpy(float)
    last_kwh = float(energy.sum()) if n and np.isfinite(energy).all() else math.nan
    temp = days["temp_mean_c"].to_numpy(float)
    with_temp = np.isfinite(temp)
    # degree days per day with a temperature times the days: a missing temperature is not a warm day
    hdd = float(np.nanmean(heating_degree_days_c(temp[with_temp], base_c)) * n) \
        if n and with_temp.sum() >= 0.9 * n else math.nan
    this_days = (cutoff - month).days
    this_hdd = weather.hdd_c / weather.temp_days * this_days \
        if weather.temp_days >= 0.9 * this_days and weather.temp_days else math.nan
    d = rows[pd.DatetimeIndex(rows.index) >= pd.Timestamp(month).tz_localize(LOCAL_TZ)]
    actual = d["actual_kwh"].to_numpy(float)
    this_kwh = float(actual.sum()) if len(actual) and np.isfinite(actual).all() else math.nan
    baseline = float(d["adjusted_baseline_kwh"].sum())
    if share is not None:
        f = share
    elif "base_load_kwh" in d.columns:  # the model's use without heating or cooling (hourly and billing rows)
        f = float(d["base_load_kwh"].sum()) / baseline if baseline > 0 else 1.0
    elif isinstance(model, DailyModel):
        f = model.intercept_kwh_per_day * len(d) / baseline if baseline > 0 else 1.0
    else:
        f = 1.0
    f = min(1.0, max(0.0, f))
    if not (math.isfinite(hdd) and math.isfinite(this_hdd)):
        corrected = math.nan
    elif hdd == 0:  # no heating last year on these days: only a building without weather-dependent use compares
        corrected = last_kwh if this_hdd == 0 or f == 1.0 else math.nan
    else:
        corrected = float(graddagekorrektion(last_kwh, hdd, this_hdd, f))
    return LastYearMonth(start, end, last_kwh, hdd, this_hdd, corrected, this_kwh, f)


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
    for start, days, kwh in zip(pd.DatetimeIndex(months.index), months["days"], months["energy_kwh"], strict=True):
        end = (start.tz_localize(None) + pd.Timedelta(days=int(days))).tz_localize(LOCAL_TZ)
        out.append((start, end, float(kwh)))
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
