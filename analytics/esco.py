"""The ESCO contract applied to the store's data: one site's or the portfolio's savings for a month.

Reads daily energy (local days, from counters: :meth:`Store.energy`) and the daily
mean outdoor temperature, fits the CalTRACK daily baseline on the baseline
period, applies non-routine adjustments and PV add-back, and returns everything
the monthly report shows.  Never talks to devices.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.analytics.baseline import DailyFit, fit_caltrack_daily
from energimon.analytics.degree_days import (
    NormalYear,
    daily_mean_from_hourly_c,
    daily_mean_temperature_c,
    heating_degree_days_c,
)
from energimon.analytics.savings import PeriodSavings, daily_savings, monthly_savings, period_savings, savings_frame
from energimon.analytics.stats import DATA_SUFFICIENCY_MIN, G14_FSU_MAX_68
from energimon.analytics.towt import fit_towt_hourly
from energimon.config.esco_settings import Adjustment, EscoSettings, EscoSite
from energimon.model import LOCAL_TZ, SeriesKey


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


def site_daily_frame(store, esco: EscoSettings, site: str, cfg: EscoSite, start: dt.date, end: dt.date,
                     window: str = "day") -> pd.DataFrame:
    """Per local day (or hour, ``window="1h"``) in ``[start, end)``: ``temp_mean_c`` and ``energy_kwh``
    (gross consumption, NaN if unknown).

    Gross consumption = energy − export + PV production (PV add-back); PV production
    before ``pv_installed`` is zero by definition (the panels did not exist), after it a
    window without complete PV data is unknown.  Hourly temperatures are hourly means.
    """
    t0, t1 = local_midnight(start), local_midnight(end)
    if window == "day":
        idx = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left").tz_localize(LOCAL_TZ)
    else:
        idx = pd.date_range(pd.Timestamp(t0).tz_convert("UTC"), pd.Timestamp(t1).tz_convert("UTC"), freq="h",
                            inclusive="left").tz_convert(LOCAL_TZ)
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
    temp_key = series_key(cfg.temperature or esco.temperature, site)
    if window == "day":
        temp = daily_mean_temperature_c(store, temp_key, t0, t1).reindex(idx)
    else:
        hourly = store.aggregate(temp_key, t0, t1, "1h", "mean")
        hourly.index = pd.DatetimeIndex(hourly.index).tz_convert(LOCAL_TZ)
        temp = hourly.reindex(idx)
    return pd.DataFrame({"temp_mean_c": temp, "energy_kwh": energy}, index=idx)


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
           until: dt.date, share_municipality: float) -> Ledger:
    """Guaranteed (pro rata by days) vs realised savings; shortfall paid by the ESCO, surplus split."""
    days_year = (year_end - year_start).days
    elapsed = max(0, min((until - year_start).days, days_year))
    g = guarantee_kwh_per_year * elapsed / days_year
    short = max(0.0, g - realised_kwh)
    surplus = max(0.0, realised_kwh - g)
    return Ledger(year_start, year_end, elapsed, guarantee_kwh_per_year, g, realised_kwh, short, surplus,
                  surplus * share_municipality, surplus * (1 - share_municipality))


@dataclass
class SiteResult:
    site: str
    name: str
    carrier: str
    sufficiency: Sufficiency
    fit: DailyFit | None
    daily: pd.DataFrame | None = None  # reporting days up to the end of the month
    month: PeriodSavings | None = None
    ytd: PeriodSavings | None = None  # calendar year to date
    since_start: PeriodSavings | None = None
    months: list[PeriodSavings] = field(default_factory=list)
    ledger: Ledger | None = None
    adjustments: list[Adjustment] = field(default_factory=list)
    g14_ok: bool = False
    g14_notes: list[str] = field(default_factory=list)
    error: str = ""
    granularity: str = "day"  # "day" (CalTRACK daily) or "hour" (TOWT): what one row of ``daily`` is
    model: object = None  # the baseline model used (DailyModel or TowtModel)
    cvrmse_max: float = math.nan


def evaluate_site(store, esco: EscoSettings, site: str, name: str, month_start: dt.date) -> SiteResult:
    """Fit the baseline and compute savings up to the end of the month starting at ``month_start``.

    The site's ``model`` decides the resolution: ``caltrack_daily`` (reporting points are
    local days) or ``towt_hourly`` (hours; CalTRACK hourly TOWT).
    """
    cfg = esco.sites[site]
    hourly = cfg.model == "towt_hourly"
    window = "1h" if hourly else "day"
    month_end = add_months(month_start, 1)
    base = site_daily_frame(store, esco, site, cfg, esco.baseline_start, esco.baseline_end, window)
    suff = data_sufficiency(base, unit="hours" if hourly else "days")
    res = SiteResult(site, name, cfg.carrier, suff, None, adjustments=list(cfg.adjustments),
                     granularity="hour" if hourly else "day")
    if month_end <= esco.measure_date:
        res.error = f"the month ends before the measure date {esco.measure_date}"
        return res
    if not suff.ok:
        temp_ref = cfg.temperature or esco.temperature
        res.error = f"{suff.reason} (energy {series_key(cfg.energy, site)}, temperature {series_key(temp_ref, site)})"
        return res
    rep = site_daily_frame(store, esco, site, cfg, esco.measure_date, month_end, window)
    ny = NormalYear(esco.normal_year.total, esco.normal_year.source, tuple(esco.normal_year.monthly))
    if hourly:
        model = fit_towt_hourly(base["energy_kwh"], base["temp_mean_c"])
        idx_h = pd.DatetimeIndex(rep.index)
        baseline_kwh = pd.Series(model.predict_kwh(idx_h, rep["temp_mean_c"].to_numpy()), index=rep.index)
        adj = adjustment_kwh_per_day(cfg.adjustments, baseline_kwh, rows_per_day=24)
        daily = savings_frame(baseline_kwh, rep["energy_kwh"], rep["temp_mean_c"], adj)
        daily["base_load_kwh"] = model.predict_kwh(idx_h, np.full(len(rep), esco.base_temperature_c))
        daily["hdd_c"], daily["hdd_normal_c"] = hourly_degree_days(rep["temp_mean_c"], ny, esco.base_temperature_c)
    else:
        fit = fit_caltrack_daily(base["temp_mean_c"].to_numpy(), base["energy_kwh"].to_numpy())
        res.fit = fit
        model = fit.model
        baseline_kwh = pd.Series(model.predict_kwh_per_day(rep["temp_mean_c"].to_numpy()), index=rep.index)
        adj = adjustment_kwh_per_day(cfg.adjustments, baseline_kwh)
        daily = daily_savings(model, rep["temp_mean_c"], rep["energy_kwh"], adj)
    res.model = model
    res.daily = daily
    kw = dict(normal_year=ny, weather_independent_share=cfg.weather_independent_share,
              base_c=esco.base_temperature_c)
    idx = pd.DatetimeIndex(daily.index)
    in_month = idx >= pd.Timestamp(month_start).tz_localize(LOCAL_TZ)
    year_start = max(dt.date(month_start.year, 1, 1), esco.measure_date)
    in_year = idx >= pd.Timestamp(year_start).tz_localize(LOCAL_TZ)
    res.month = period_savings(month_start.strftime("%Y-%m"), daily[in_month], model, **kw)
    res.ytd = period_savings(f"{year_start:%Y-%m-%d}..", daily[in_year], model, **kw)
    res.since_start = period_savings(f"{esco.measure_date:%Y-%m-%d}..", daily, model, **kw)
    res.months = monthly_savings(daily, model, **kw)
    if cfg.guarantee_kwh_per_year is not None:
        y0, y1 = contract_year(esco.measure_date, month_end)
        in_cy = (idx >= pd.Timestamp(y0).tz_localize(LOCAL_TZ)) & (idx < pd.Timestamp(y1).tz_localize(LOCAL_TZ))
        realised = float(daily.loc[in_cy, "savings_kwh"].sum())
        res.ledger = ledger(cfg.guarantee_kwh_per_year, realised, y0, y1, month_end, esco.surplus_share_municipality)
    st = model.stats
    notes = []
    cv_max = esco.cvrmse_max_hourly if hourly else esco.cvrmse_max
    res.cvrmse_max = cv_max
    if not st.cv_rmse <= cv_max:
        notes.append(f"CV(RMSE) {st.cv_rmse:.1%} > {cv_max:.0%}")
    if not abs(st.nmbe) <= esco.nmbe_max:
        notes.append(f"|NMBE| {abs(st.nmbe):.2%} > {esco.nmbe_max:.1%}")
    fsu = res.since_start.fsu_68
    if not fsu < G14_FSU_MAX_68:
        notes.append(f"FSU(68 %) {fsu:.0%} ≥ {G14_FSU_MAX_68:.0%}" if math.isfinite(fsu) else "no savings to test")
    res.g14_ok = not notes
    res.g14_notes = notes
    return res


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


def money_dkk(kwh: float, esco: EscoSettings) -> float:
    return kwh * esco.price_dkk_per_kwh if esco.price_dkk_per_kwh is not None else math.nan


def co2_kg(kwh: float, esco: EscoSettings, carrier: str, year: int) -> float:
    """CO2 in kg for ``kwh`` of ``carrier`` in ``year`` (the year's factor, else the latest earlier one)."""
    f = esco.co2_factor(carrier, year)
    return kwh * f.kg_per_kwh if f is not None else math.nan
