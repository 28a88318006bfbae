"""Savings of one measure metered by itself (IPMVP Option B, retrofit isolation), up to a report month's end.

IPMVP Core Concepts (2016) §8.1 applied to the measure's own submeter:

    avoided energy = adjusted baseline (the baseline model at the reporting period's conditions) − measured

The baseline model is fitted on the baseline period's local days (:mod:`.measure_settings` names the three:
``constant``, ``operating_hours``, ``degree_days``); a reporting day's adjusted baseline is the model at that
day's conditions (its operating hours, its mean outdoor temperature; the constant model has none).  Days are
read only through :mod:`energimon.store.energy` (a day counts when all its hours are known, as in the Option C
evaluation, :mod:`.inputs`), sums, the savings uncertainty and the ASHRAE Guideline 14 verdict come from
:mod:`energimon.analytics.savings` and :mod:`energimon.analytics.stats` — the same numbers and rules as the
whole-building contract.  Everything here but :func:`measure_frame` / :func:`evaluate_measure` is pure.

**Not double-counted.**  A measure in a building with an Option C contract on the same carrier is part of
that building's whole-building saving: its saving is a share of it ("heraf"), never added to it
(:func:`contained_in_option_c`); the municipality's total counts the Option C savings, plus the measures of
buildings that have no Option C contract on the measure's carrier (:func:`municipality_total`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.analytics.baseline import DailyModel, fit_caltrack_daily
from energimon.analytics.degree_days import daily_mean_temperature_c
from energimon.analytics.esco.inputs import Sufficiency, series_key
from energimon.analytics.esco.ledger import Ledger, site_ledger
from energimon.analytics.esco.measure_settings import SUBMETER_ROLE, MeasureSettings
from energimon.analytics.savings import (
    PeriodSavings,
    PortfolioTotal,
    SavingsVerdict,
    period_savings,
    portfolio_total,
    savings_frame,
    savings_verdict,
)
from energimon.analytics.stats import (
    DATA_SUFFICIENCY_MIN,
    G14_CVRMSE_MAX,
    G14_FSU_MAX_68,
    G14_NMBE_MAX,
    FitStatistics,
    UnitResiduals,
    daily_unit_terms,
    fit_statistics,
    unit_residuals_daily,
)
from energimon.calendar import contract_year, local_day_index, local_midnight, next_month, report_cutoff
from energimon.model import LOCAL_TZ
from energimon.store.energy import daily_energy_wh


# -- the baseline models ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OperatingHoursModel:
    """``kWh per day = k · operating hours of the day``: a regression through the origin (no load without
    operating hours), ``k`` by least squares, ``k = Σ hᵢyᵢ / Σ hᵢ²``."""

    kwh_per_hour: float
    stats: FitStatistics
    cov_unscaled: np.ndarray = field(compare=False, repr=False)  # (XᵀX)⁻¹ = 1/Σh²
    residuals: UnitResiduals | None = field(default=None, compare=False, repr=False)
    kind: str = "operating_hours"
    intercept_kwh_per_day: float = 0.0  # no weather-independent base load term (period_savings reads it)

    @property
    def p(self) -> int:
        return 1

    def predict_kwh(self, hours: np.ndarray) -> np.ndarray:
        return self.kwh_per_hour * np.asarray(hours, float)

    def uncertainty_terms(self, rows: pd.DataFrame, valid: np.ndarray) -> tuple[float, float, float]:
        """``(noise_factor, leverage, bias_kWh)`` of the reporting days ``rows[valid]`` (column ``hours``) for
        :func:`~energimon.analytics.stats.aggregate_savings_uncertainty_kwh`: ``x_R = Σ hours``, ``leverage =
        x_R² / Σh²`` (the error of ``k`` summed over the reporting hours), the days' noise and day-type bias as for the
        daily model (the bias through the joint fit on the hours and the day types)."""
        r = rows[valid]
        if self.residuals is None:
            raise ValueError("the operating-hours model has no baseline residuals: fit it with fit_operating_hours")
        x_r = float(r["hours"].sum())
        noise, bias = daily_unit_terms(r.index, np.ones(len(r)), self.residuals, r["hours"].to_numpy(float)[:, None])
        return noise, x_r * x_r * float(self.cov_unscaled[0, 0]), bias


MeasureModel = DailyModel | OperatingHoursModel


def fit_constant(days: pd.DatetimeIndex, kwh: np.ndarray,
                 school_holidays: frozenset[dt.date] = frozenset()) -> DailyModel:
    """The mean daily energy of the baseline days with data (an intercept-only daily model, ``p = 1``).
    ``school_holidays``: the site calendar's, day types of their own in the savings uncertainty
    (:func:`~energimon.analytics.stats.unit_residuals_daily`), as for the fits below."""
    y_all = np.asarray(kwh, float)
    ok = np.isfinite(y_all)
    y = y_all[ok]
    if len(y) < 3:
        raise ValueError(f"need at least 3 baseline days with energy, got {len(y)}")
    mu = float(y.mean())
    pred = np.full(len(y), mu)
    return DailyModel("intercept_only", mu, stats=fit_statistics(y, pred, 1),
                      cov_unscaled=np.array([[1.0 / len(y)]]),
                      residuals=unit_residuals_daily(y - pred, pd.DatetimeIndex(days)[ok], 1,
                                                     design=np.ones((len(y), 1)), school_holidays=school_holidays))


def fit_operating_hours(days: pd.DatetimeIndex, kwh: np.ndarray, hours: np.ndarray,
                        school_holidays: frozenset[dt.date] = frozenset()) -> OperatingHoursModel:
    """Energy per operating hour by least squares through the origin on the baseline days with both known."""
    y_all, h_all = np.asarray(kwh, float), np.asarray(hours, float)
    ok = np.isfinite(y_all) & np.isfinite(h_all)
    y, h = y_all[ok], h_all[ok]
    if len(y) < 3:
        raise ValueError(f"need at least 3 baseline days with energy and operating hours, got {len(y)}")
    hh = float(h @ h)
    if hh <= 0:
        raise ValueError("no operating hour in the baseline period: energy per operating hour is undefined")
    k = float(h @ y) / hh
    pred = k * h
    return OperatingHoursModel(k, fit_statistics(y, pred, 1), np.array([[1.0 / hh]]),
                               unit_residuals_daily(y - pred, pd.DatetimeIndex(days)[ok], 1, design=h[:, None],
                                                    school_holidays=school_holidays))


def fit_measure_model(kind: str, base: pd.DataFrame, school_holidays: frozenset[dt.date] = frozenset()
                      ) -> MeasureModel:
    """Fit ``kind`` on the baseline days ``base`` (columns ``energy_kwh``, and ``hours`` or ``temp_mean_c``);
    ``school_holidays``: the site calendar's, covering the baseline and the reporting days (the residuals type
    both by it)."""
    days = pd.DatetimeIndex(base.index)
    y = base["energy_kwh"].to_numpy(float)
    if kind == "constant":
        return fit_constant(days, y, school_holidays)
    if kind == "operating_hours":
        return fit_operating_hours(days, y, base["hours"].to_numpy(float), school_holidays)
    if kind == "degree_days":  # the Option C contract's CalTRACK daily model on the measure's own meter
        return fit_caltrack_daily(base["temp_mean_c"].to_numpy(float), y, days=days,
                                  school_holidays=school_holidays).model
    raise ValueError(f"unknown measure model {kind!r}")


def adjusted_baseline_kwh(model: MeasureModel, rows: pd.DataFrame) -> pd.Series:
    """The baseline model at each reporting day's conditions (NaN where they are unknown)."""
    if isinstance(model, OperatingHoursModel):
        values = model.predict_kwh(rows["hours"].to_numpy(float))
    elif model.kind == "intercept_only":  # the constant model: needs no conditions at all
        values = np.full(len(rows), model.intercept_kwh_per_day)
    else:
        values = model.predict_kwh_per_day(rows["temp_mean_c"].to_numpy(float))
    return pd.Series(values, index=rows.index)


def measure_rows(model: MeasureModel, rep: pd.DataFrame) -> pd.DataFrame:
    """Per reporting day: baseline, adjusted baseline, measured, savings and CUSUM (:func:`savings_frame`), and
    the day's operating hours where the model uses them."""
    temp = rep["temp_mean_c"] if "temp_mean_c" in rep.columns else pd.Series(np.nan, index=rep.index)
    rows = savings_frame(adjusted_baseline_kwh(model, rep), rep["energy_kwh"], temp)
    if "hours" in rep.columns:
        rows["hours"] = rep["hours"]
    return rows


def baseline_sufficiency(base: pd.DataFrame, regressor: str | None,
                         minimum: float = DATA_SUFFICIENCY_MIN) -> Sufficiency:
    """Share of baseline days with energy (and the model's regressor) known; CalTRACK 2.0's 90 % rule."""
    n = len(base)
    ok = base["energy_kwh"].notna()
    if regressor is not None:
        ok &= base[regressor].notna()
    k = int(ok.sum())
    share = k / n if n else 0.0
    if share >= minimum:
        return Sufficiency(True, share, n, k)
    what = {"hours": "operating hours", "temp_mean_c": "temperature"}.get(regressor or "", "")
    reason = (f"{k} of {n} baseline days usable ({share:.0%} < {minimum:.0%}): "
              f"{int(base['energy_kwh'].isna().sum())} days without complete energy data"
              + (f", {int(base[regressor].isna().sum())} days without {what}" if regressor else ""))
    return Sufficiency(False, share, n, k, reason)


REGRESSOR = {"constant": None, "operating_hours": "hours", "degree_days": "temp_mean_c"}


# -- the result ------------------------------------------------------------------------------------
GUARANTEE_CODES = ("met", "met_not_demonstrable", "short", "no_data")
"""Against the guarantee pro rata: ``met`` — the saving's 90 % interval lies at or above it; ``met_not_demonstrable``
— the estimate meets it, the interval reaches below; ``short`` — the estimate is below it; ``no_data``."""


@dataclass(frozen=True)
class GuaranteeCheck:
    ledger: Ledger  # the guarantee pro rata over the measure's contract year to date and the realised saving
    uncertainty_90_kwh: float  # of the realised saving (the same days)
    code: str  # one of GUARANTEE_CODES


def guarantee_code(ledger: Ledger, uncertainty_90_kwh: float) -> str:
    """The realised saving against the guarantee to date, at 90 % (see :data:`GUARANTEE_CODES`)."""
    if ledger.status != "ok" or not math.isfinite(uncertainty_90_kwh):
        return "no_data"
    if ledger.realised_kwh - uncertainty_90_kwh >= ledger.guarantee_to_date_kwh:
        return "met"
    return "met_not_demonstrable" if ledger.realised_kwh >= ledger.guarantee_to_date_kwh else "short"


@dataclass
class MeasureResult:
    id: str
    name: str
    site: str
    carrier: str
    model_kind: str  # constant, operating_hours, degree_days
    installed: dt.date
    baseline_start: dt.date
    baseline_end: dt.date  # exclusive
    reporting_start: dt.date
    sufficiency: Sufficiency | None = None
    model: MeasureModel | None = None
    rows: pd.DataFrame | None = None  # reporting days up to the cutoff
    month: PeriodSavings | None = None
    ytd: PeriodSavings | None = None  # the measure's contract year (from reporting_start's anniversaries) to date
    since_start: PeriodSavings | None = None
    verdict: SavingsVerdict | None = None
    guarantee: GuaranteeCheck | None = None
    cvrmse_max: float = G14_CVRMSE_MAX
    nmbe_max: float = G14_NMBE_MAX
    cutoff: dt.date | None = None
    error: str = ""  # why there is no result (English; the report prints it as it is, like SiteResult.error)
    regressor_note: str = ""  # where the operating hours came from: "schedule" or the counter's key

    @property
    def unit(self) -> str:
        """The unit of every amount (the "…_kwh" fields): the carrier's — kWh, or m³ for natural gas as metered."""
        return carriers.unit_of(self.carrier)


def measure_savings(m: MeasureSettings, base: pd.DataFrame, rep: pd.DataFrame, month_start: dt.date,
                    cutoff: dt.date, cvrmse_max: float = G14_CVRMSE_MAX, nmbe_max: float = G14_NMBE_MAX,
                    share_municipality: float = 0.5, school_holidays: frozenset[dt.date] = frozenset()
                    ) -> MeasureResult:
    """The measure's result from its baseline days ``base`` and reporting days ``rep`` (up to ``cutoff``, exclusive;
    columns ``energy_kwh`` and the model's regressor), for the month starting ``month_start``.  ``school_holidays``:
    its site calendar's school-holiday days (:func:`fit_measure_model`)."""
    first = m.first_reporting_day
    res = MeasureResult(m.id, m.name, m.site, m.carrier, m.model, m.installed, m.baseline_start, m.baseline_end,
                        first, cvrmse_max=cvrmse_max, nmbe_max=nmbe_max, cutoff=cutoff)
    res.sufficiency = suff = baseline_sufficiency(base, REGRESSOR[m.model])
    if not suff.ok:
        res.error = suff.reason
        return res
    try:
        model = fit_measure_model(m.model, base, school_holidays)
    except ValueError as e:  # e.g. no operating hour in the baseline
        res.error = str(e)
        return res
    res.model = model
    rows = measure_rows(model, rep)
    res.rows = rows
    idx = pd.DatetimeIndex(rows.index)
    month_end = next_month(month_start)
    last = cutoff - dt.timedelta(days=1)

    def period(label: str, start: dt.date, inside: np.ndarray) -> PeriodSavings:
        p = period_savings(label, rows[inside], model, granularity="day")
        return replace(p, start=start, end=last if last >= start else None)

    def since(d: dt.date) -> np.ndarray:
        return np.asarray(idx >= pd.Timestamp(d).tz_localize(LOCAL_TZ))

    m_start = max(month_start, first)
    res.month = period(month_start.strftime("%Y-%m"), m_start, since(month_start))
    y0, y1 = contract_year(first, max(month_end, first + dt.timedelta(days=1)))
    y0 = max(y0, first)
    res.ytd = period(f"{y0:%Y-%m-%d}..", y0, since(y0))
    res.since_start = period(f"{first:%Y-%m-%d}..", first, np.ones(len(rows), bool))
    if res.since_start.m:
        res.verdict = savings_verdict(model.stats, res.since_start, cvrmse_max, nmbe_max, G14_FSU_MAX_68)
    if m.guarantee_kwh_per_year is not None:
        lg = site_ledger(rows, m.guarantee_kwh_per_year, y0, y1, cutoff, share_municipality)
        u90 = res.ytd.uncertainty_90_kwh
        res.guarantee = GuaranteeCheck(lg, u90, guarantee_code(lg, u90))
    return res


# -- reading the measure's days from the store ----------------------------------------------------------
def measure_frame(store, m: MeasureSettings, temperature: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The measure's local days ``[start, end)``: ``energy_kwh`` from its submeter (NaN unless all the day's hours
    are known, :mod:`energimon.store.energy`) in its carrier's unit — kWh from a Wh counter, m³ as metered for
    natural gas, as an Option C contract's (:func:`~energimon.analytics.esco.inputs.site_energy_kwh`) — and its
    model's regressor: ``hours`` (the operating-hour counter's daily difference, or the schedule's hours of the
    weekday) or ``temp_mean_c`` (``temperature``'s daily mean)."""
    idx = local_day_index(start, end)
    days = daily_energy_wh(store, series_key(m.energy, m.site), start, end)
    # the counter's unit is the carrier's (measure_problems refuses a Wh counter for gas and an m³ one for kWh)
    per_unit = carriers.carrier(m.carrier).per_counter_unit
    frame = pd.DataFrame({"energy_kwh": (days["energy_wh"] * per_unit).reindex(idx)}, index=idx)
    if m.model == "operating_hours":
        if m.schedule is not None:
            frame["hours"] = np.asarray(m.schedule, float)[idx.day_of_week.to_numpy()]
        elif m.hours is not None:  # a counter in hours: store.energy's "energy_wh" is the counter's difference
            frame["hours"] = daily_energy_wh(store, series_key(m.hours, m.site), start, end)["energy_wh"].reindex(idx)
    elif m.model == "degree_days":
        key = series_key(temperature, m.site)
        frame["temp_mean_c"] = daily_mean_temperature_c(store, key, local_midnight(start),
                                                        local_midnight(end)).reindex(idx)
    return frame


def meter_problem(series: pd.DataFrame, m: MeasureSettings) -> str:
    """Why the store's series list (columns site, device, channel, role) does not hold the measure's submeter, or
    ``""``: the series must exist and its device's role be ``submeter``."""
    key = series_key(m.energy, m.site)
    hit = series[(series["site"] == key.site) & (series["device"] == key.device) & (series["channel"] == key.channel)]
    if hit.empty:
        return f"no data for the measure's meter {key} in the store"
    role = str(hit["role"].iloc[0])
    if role != SUBMETER_ROLE:
        return (f"the measure's meter {key} has role {role!r}, not {SUBMETER_ROLE!r}: a measure is metered on its own "
                "submeter")
    return ""


def evaluate_measure(store, m: MeasureSettings, month_start: dt.date, today: dt.date | None = None,
                     temperature: str = "", cvrmse_max: float = G14_CVRMSE_MAX, nmbe_max: float = G14_NMBE_MAX,
                     share_municipality: float = 0.5, series: pd.DataFrame | None = None,
                     school_holidays: frozenset[dt.date] = frozenset()) -> MeasureResult:
    """Read the measure's baseline and reporting days and compute its savings up to the end of the month starting
    at ``month_start`` (a running month: up to ``today``, :func:`energimon.calendar.report_cutoff`), never past its
    ``reporting_end``.  ``temperature``: the degree-day model's series when the measure names none (the
    contract's).  ``series``: the store's series list, if already read.  ``school_holidays``: the site calendar's
    school-holiday days from the baseline's start to the cutoff (:func:`fit_measure_model`)."""
    first = m.first_reporting_day
    cutoff = report_cutoff(month_start, today)
    if m.reporting_end is not None:
        cutoff = min(cutoff, m.reporting_end)
    empty = MeasureResult(m.id, m.name, m.site, m.carrier, m.model, m.installed, m.baseline_start, m.baseline_end,
                          first, cvrmse_max=cvrmse_max, nmbe_max=nmbe_max, cutoff=cutoff)
    if next_month(month_start) <= first:
        empty.error = f"the month ends before the measure's reporting period begins ({first})"
        return empty
    if cutoff <= first:
        empty.error = f"no day of the measure's reporting period (from {first}) is over yet"
        return empty
    why = meter_problem(store.series() if series is None else series, m)
    if why:
        empty.error = why
        return empty
    temp = m.temperature or temperature
    base = measure_frame(store, m, temp, m.baseline_start, m.baseline_end)
    rep = measure_frame(store, m, temp, first, cutoff)
    res = measure_savings(m, base, rep, month_start, cutoff, cvrmse_max, nmbe_max, share_municipality,
                          school_holidays)
    res.regressor_note = ("schedule" if m.schedule is not None else str(series_key(m.hours, m.site))
                          if m.hours is not None else "")
    return res


def evaluate_measures(store, esco, month_start: dt.date, today: dt.date | None = None,
                      school_holidays: Mapping[str, frozenset[dt.date]] | None = None) -> list[MeasureResult]:
    """Every ``[[esco.measures]]`` of the contract ``esco`` for the month (G14 limits of daily data, the
    contract's temperature and surplus share).  ``school_holidays``: per site, its calendar's school-holiday days
    over its measures' baseline and reporting days (the caller reads the calendar: esco does not import anomaly)."""
    if not esco.measures:
        return []
    series = store.series()
    holidays = school_holidays or {}
    return [evaluate_measure(store, m, month_start, today, esco.temperature, esco.cvrmse_max, esco.nmbe_max,
                             esco.surplus_share_municipality, series, holidays.get(m.site, frozenset()))
            for m in esco.measures]


# -- not double-counting ----------------------------------------------------------------------------
def contained_in_option_c(measure: MeasureResult, option_c: dict[str, str]) -> bool:
    """Whether the measure's saving is already inside a whole-building (Option C) saving: its building has an
    Option C contract on the same carrier (``option_c``: site → carrier of ``[esco.sites]``)."""
    return option_c.get(measure.site) == measure.carrier


@dataclass(frozen=True)
class MunicipalityTotal:
    """The municipality's saving for a period without double counting: Option C's buildings, plus the measures of
    buildings without an Option C contract on their carrier (measures inside Option C are a part of it)."""

    option_c: PortfolioTotal
    standalone_measures: PortfolioTotal
    total_kwh: float
    uncertainty_90_kwh: float


def municipality_total(option_c_periods: Iterable[PeriodSavings], measures: Iterable[MeasureResult],
                       option_c: dict[str, str], key: str = "month") -> MunicipalityTotal:
    """Sum the Option C periods and the periods ``key`` (month, ytd, since_start) of the measures not contained in
    Option C; each part by :func:`~energimon.analytics.savings.portfolio_total` (only periods with enough data; the
    uncertainties in quadrature: the meters are independent)."""
    oc = portfolio_total(list(option_c_periods))
    alone = [getattr(r, key) for r in measures if not contained_in_option_c(r, option_c)
             and getattr(r, key) is not None]
    st = portfolio_total(alone)
    parts = [p for p in (oc, st) if math.isfinite(p.savings_kwh)]
    total = float(sum(p.savings_kwh for p in parts)) if parts else math.nan
    unc = math.sqrt(sum(p.uncertainty_90_kwh ** 2 for p in parts)) if parts else math.nan
    return MunicipalityTotal(oc, st, total, unc)
