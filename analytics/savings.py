"""Avoided energy (IPMVP Option C) with its uncertainty (ASHRAE Guideline 14 Annex B, exact form for sums).

IPMVP Core Concepts (2016) §8.1, "avoided energy":

    savings = (baseline energy ± routine adjustments to reporting conditions ± non-routine adjustments)
              − reporting-period energy

Routine adjustment is the baseline model evaluated at the reporting period's
weather; non-routine adjustments (floor area, opening hours, ...) are added per
day.  Savings are summed over the days whose measured energy is complete; the
number of such days is ``m`` in the uncertainty.  CUSUM is the running sum
of daily savings since the measure.

Money is summed per reporting row (``savings_kwh × price_dkk_per_kwh``), so a price that
changes inside a period is applied to the savings of the days it was in force.  The DKK
uncertainty is the kWh uncertainty times one price: the period's savings-weighted mean price
``Σ sᵢpᵢ / Σ sᵢ`` (= DKK / kWh saved; with a fixed price, that price).  When daily savings
change sign that mean can leave the range of the prices (or divide by ≈ 0); then the
adjusted-baseline-weighted mean price ``Σ bᵢpᵢ / Σ bᵢ`` is used — the uncertainty grows with the
baseline energy (G14 eq. B-14 is proportional to it), so that is the natural weight for its price.

A period without enough data is not reported as a number (missing is never zero): with no
reporting point that has data its sums are NaN (:attr:`PeriodSavings.status` ``"no_data"``), and
with fewer than :data:`MIN_PERIOD_COVERAGE` of its points it is ``"incomplete"`` — the report
shows "–" and the reason instead of a total over the days that happened to have data.

Everything here is pure: daily frames in, numbers out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from energimon.analytics.baseline import DailyModel
from energimon.analytics.degree_days import NormalYear, graddagekorrektion, heating_degree_days_c
from energimon.analytics.stats import (
    DATA_SUFFICIENCY_MIN,
    aggregate_savings_uncertainty_kwh,
    combine_in_quadrature,
    savings_uncertainty_kwh,
)

CONFIDENCES = (0.68, 0.90)

MIN_PERIOD_COVERAGE = DATA_SUFFICIENCY_MIN
"""A reporting period is shown only when at least this share of its points (days, hours or months) has
complete data: CalTRACK 2.0's 90 % data-sufficiency rule for the baseline, applied to reporting periods,
so a month with a week of meter outage is not presented as that month's savings."""



def daily_savings(
    model: DailyModel,
    temp_mean_c: pd.Series,
    actual_kwh: pd.Series,
    adjustment_kwh: pd.Series | None = None,
) -> pd.DataFrame:
    """Per reporting day: baseline, adjustment, adjusted baseline, actual, savings and CUSUM (all kWh).

    ``actual_kwh`` is NaN on days without complete data: those days have no
    savings (NaN) and do not move the CUSUM.
    """
    baseline = pd.Series(model.predict_kwh_per_day(temp_mean_c.to_numpy()), index=temp_mean_c.index)
    return savings_frame(baseline, actual_kwh, temp_mean_c, adjustment_kwh)


def savings_frame(
    baseline_kwh: pd.Series,
    actual_kwh: pd.Series,
    temp_c: pd.Series,
    adjustment_kwh: pd.Series | None = None,
) -> pd.DataFrame:
    """Savings per reporting point (a day, or an hour for hourly models) from the routine-adjusted baseline."""
    adj = adjustment_kwh.reindex(baseline_kwh.index).fillna(0.0) if adjustment_kwh is not None else baseline_kwh * 0.0
    adjusted = baseline_kwh + adj
    actual = actual_kwh.reindex(baseline_kwh.index)
    savings = adjusted - actual
    df = pd.DataFrame({
        "temp_mean_c": temp_c.reindex(baseline_kwh.index), "baseline_kwh": baseline_kwh, "adjustment_kwh": adj,
        "adjusted_baseline_kwh": adjusted, "actual_kwh": actual, "savings_kwh": savings,
    })
    df["cusum_kwh"] = savings.fillna(0.0).cumsum().where(savings.notna().cumsum() > 0)
    return df


def with_prices(rows: pd.DataFrame, price_dkk_per_kwh: pd.Series) -> pd.DataFrame:
    """The rows with their price and the money saved per row (NaN where the price is unknown)."""
    out = rows.copy()
    out["price_dkk_per_kwh"] = price_dkk_per_kwh.reindex(rows.index).to_numpy(float)
    out["savings_dkk"] = out["savings_kwh"] * out["price_dkk_per_kwh"]
    return out


def uncertainty_price_dkk_per_kwh(savings_kwh: np.ndarray, baseline_kwh: np.ndarray, price: np.ndarray) -> float:
    """The one price that turns a period's kWh uncertainty into DKK (see the module docstring)."""
    s, b, p = (np.asarray(x, float) for x in (savings_kwh, baseline_kwh, price))
    if len(p) == 0 or np.isnan(p).any():
        return math.nan
    lo, hi = float(p.min()), float(p.max())
    total = float(s.sum())
    if total != 0.0:
        mean = float(s @ p) / total
        if lo - 1e-9 <= mean <= hi + 1e-9:
            return mean
    wb = float(b.sum())
    return float(b @ p) / wb if wb > 0 else float(p.mean())


UNITS = {"day": "days", "hour": "hours", "month": "months"}
"""The unit of a reporting point of each granularity (a row of the savings frame)."""


@dataclass(frozen=True)
class PeriodSavings:
    """Savings over a set of reporting points (days, hours or months: ``granularity``), with their uncertainty
    at 68 % and 90 %."""

    label: str
    points: int  # reporting points in the period: local days, hours or months (``granularity``)
    m: int  # of them with complete data
    adjusted_baseline_kwh: float
    actual_kwh: float
    savings_kwh: float
    uncertainty_68_kwh: float
    uncertainty_90_kwh: float
    normalised_savings_kwh: float = math.nan
    savings_dkk: float = math.nan  # Σ savings × price per row; NaN if a row with savings has no price
    uncertainty_68_dkk: float = math.nan
    uncertainty_90_dkk: float = math.nan
    price_dkk_per_kwh: float = math.nan  # the price scaling the uncertainty (savings-weighted mean)
    start: dt.date | None = None  # first and last day of the period (set by the caller)
    end: dt.date | None = None
    granularity: str = "day"  # what a reporting point is: "day", "hour" (TOWT) or "month" (billing)

    @property
    def unit(self) -> str:
        """``"days"``, ``"hours"`` or ``"months"``: what :attr:`points` and :attr:`m` count."""
        return UNITS[self.granularity]

    @property
    def status(self) -> str:
        """``"ok"``; ``"no_data"`` (no reporting point with complete data, or none elapsed yet);
        ``"incomplete"`` (data for fewer than :data:`MIN_PERIOD_COVERAGE` of its points)."""
        if self.m == 0:
            return "no_data"
        if self.m < MIN_PERIOD_COVERAGE * self.points:
            return "incomplete"
        return "ok"

    def shown(self) -> PeriodSavings:
        """What a report may show: itself when :attr:`status` is ok, else a copy with every amount NaN
        (printed as "–" / an empty cell, with the reason beside it)."""
        if self.status == "ok":
            return self
        nan = math.nan
        return replace(self, adjusted_baseline_kwh=nan, actual_kwh=nan, savings_kwh=nan, uncertainty_68_kwh=nan,
                       uncertainty_90_kwh=nan, normalised_savings_kwh=nan, savings_dkk=nan, uncertainty_68_dkk=nan,
                       uncertainty_90_dkk=nan, price_dkk_per_kwh=nan)

    @property
    def savings_fraction(self) -> float:
        return self.savings_kwh / self.adjusted_baseline_kwh if self.adjusted_baseline_kwh else math.nan

    @property
    def fsu_68(self) -> float:
        """Fractional savings uncertainty at 68 % (uncertainty / savings)."""
        return abs(self.uncertainty_68_kwh / self.savings_kwh) if self.savings_kwh else math.inf

    @property
    def fsu_90(self) -> float:
        return abs(self.uncertainty_90_kwh / self.savings_kwh) if self.savings_kwh else math.inf


def savings_uncertainty(model, rows: pd.DataFrame, valid: np.ndarray, adjusted_baseline_kwh: float, m: int,
                        confidences: tuple[float, ...] = CONFIDENCES) -> dict[float, float]:
    """± kWh of the savings summed over ``rows[valid]``, per confidence level.

    A model fitted by this package carries what the exact form needs (``residuals`` and
    ``uncertainty_terms``): :func:`~energimon.analytics.stats.aggregate_savings_uncertainty_kwh` — model
    error growing with the square of the reporting points, AR(1) noise per day (or billing period), day-type
    pattern as a known bias.  Otherwise (a model built by hand with only its G14 statistics) the G14
    Annex B eq. B-14 approximation.
    """
    st = model.stats
    res = getattr(model, "residuals", None)
    if not m or (res is None and st is None):
        return dict.fromkeys(confidences, math.nan)
    if res is not None and hasattr(model, "uncertainty_terms"):
        noise, leverage, bias = model.uncertainty_terms(rows, valid)
        return {c: aggregate_savings_uncertainty_kwh(res, noise, leverage, bias, c) for c in confidences}
    return {c: savings_uncertainty_kwh(adjusted_baseline_kwh, st.cv_rmse, st.n, st.n_eff, model.p, m, c)
            for c in confidences}


def period_savings(
    label: str,
    daily: pd.DataFrame,
    model,
    normal_year: NormalYear | None = None,
    weather_independent_share: float | None = None,
    base_c: float = 17.0,
    granularity: str = "day",
) -> PeriodSavings:
    """Sum the savings of one period's rows and attach their uncertainty (:func:`savings_uncertainty`).

    ``model`` has ``stats`` (its baseline :class:`FitStatistics`) and ``p``; a row is a
    reporting point of the model's resolution (``granularity``: a day for the daily model, an hour
    for TOWT, a month for billing), so ``m`` is the number of rows with savings.

    Normalised savings (to the normal year) apply the graddagekorrektion to the
    period's savings with ``G_actual`` from the days' mean temperatures (base
    ``base_c``) and ``G_normal`` from the normal year's monthly values spread over
    the same days.  ``f`` is ``weather_independent_share`` when configured, else
    the model's share of the adjusted baseline that does not depend on weather
    (intercept · m / adjusted baseline, or the ``base_load_kwh`` column when present).
    Rows other than days carry their degree days in ``hdd_c`` / ``hdd_normal_c``.
    """
    valid = daily["savings_kwh"].notna()
    d = daily[valid]
    m = int(valid.sum())
    # no reporting point with data: the sums are unknown, not 0 (missing is never zero)
    base = float(d["adjusted_baseline_kwh"].sum()) if m else math.nan
    act = float(d["actual_kwh"].sum()) if m else math.nan
    sav = float(d["savings_kwh"].sum()) if m else math.nan
    unc = savings_uncertainty(model, daily, valid.to_numpy(), base, m)  # NaN when m == 0
    norm = math.nan
    if normal_year is not None and m:
        if "hdd_c" in d.columns:  # rows other than days (hours): degree days per row given by the caller
            g_act, g_norm = float(d["hdd_c"].sum()), float(d["hdd_normal_c"].sum())
        else:
            g_act = float(np.nansum(heating_degree_days_c(d["temp_mean_c"].to_numpy(), base_c)))
            g_norm = float(normal_year.per_day(pd.DatetimeIndex(d.index)).sum())
        if weather_independent_share is not None:
            f = weather_independent_share
        elif "base_load_kwh" in d.columns:  # the model's use without heating/cooling, given by the caller
            f = min(1.0, max(0.0, float(d["base_load_kwh"].sum()) / base)) if base > 0 else 1.0
        else:
            f = min(1.0, max(0.0, model.intercept_kwh_per_day * m / base)) if base > 0 else 1.0
        norm = sav if g_act == 0 and f == 1.0 else float(graddagekorrektion(sav, g_act, g_norm, f))
    out = PeriodSavings(label, len(daily), m, base, act, sav, unc[0.68], unc[0.90], norm, granularity=granularity)
    if "savings_dkk" in d.columns and m:
        price = d["price_dkk_per_kwh"].to_numpy(float)
        p_unc = uncertainty_price_dkk_per_kwh(d["savings_kwh"].to_numpy(), d["adjusted_baseline_kwh"].to_numpy(),
                                              price)
        out = replace(out, savings_dkk=float(d["savings_dkk"].sum(skipna=False)), price_dkk_per_kwh=p_unc,
                      uncertainty_68_dkk=unc[0.68] * p_unc, uncertainty_90_dkk=unc[0.90] * p_unc)
    return out


def monthly_savings(daily: pd.DataFrame, model, **kw) -> list[PeriodSavings]:
    """One :class:`PeriodSavings` per local calendar month (days are local days, so DST months add up)."""
    idx = pd.DatetimeIndex(daily.index)
    keys = idx.strftime("%Y-%m")
    return [period_savings(k, daily[keys == k], model, **kw) for k in dict.fromkeys(keys)]


@dataclass(frozen=True)
class PortfolioTotal:
    savings_kwh: float
    adjusted_baseline_kwh: float
    actual_kwh: float
    uncertainty_68_kwh: float
    uncertainty_90_kwh: float
    savings_dkk: float = math.nan
    uncertainty_68_dkk: float = math.nan
    uncertainty_90_dkk: float = math.nan
    sites_included: int = 0  # buildings whose period is reportable (status ok) and is in the sums
    sites_total: int = 0


def portfolio_total(periods: list[PeriodSavings]) -> PortfolioTotal:
    """Sum of sites' savings (kWh and DKK; DKK unknown if one site's is); uncertainties combined in quadrature
    (sites' errors independent).  Only periods with enough data (:attr:`PeriodSavings.status` ok) are summed;
    ``sites_included`` of ``sites_total`` says how many, and with none every sum is NaN (not 0)."""
    ok = [p for p in periods if p.status == "ok"]
    if not ok:
        return PortfolioTotal(math.nan, math.nan, math.nan, math.nan, math.nan, sites_total=len(periods))
    return PortfolioTotal(
        savings_kwh=float(sum(p.savings_kwh for p in ok)),
        adjusted_baseline_kwh=float(sum(p.adjusted_baseline_kwh for p in ok)),
        actual_kwh=float(sum(p.actual_kwh for p in ok)),
        uncertainty_68_kwh=combine_in_quadrature(p.uncertainty_68_kwh for p in ok),
        uncertainty_90_kwh=combine_in_quadrature(p.uncertainty_90_kwh for p in ok),
        savings_dkk=float(sum(p.savings_dkk for p in ok)) if ok else math.nan,
        uncertainty_68_dkk=combine_in_quadrature(p.uncertainty_68_dkk for p in ok) if ok else math.nan,
        uncertainty_90_dkk=combine_in_quadrature(p.uncertainty_90_dkk for p in ok) if ok else math.nan,
        sites_included=len(ok), sites_total=len(periods),
    )


# -- what the figures mean ---------------------------------------------------------------------
def savings_verdict_code(savings_kwh: float, uncertainty_90_kwh: float) -> str:
    """What a period's savings show at 90 % confidence (two-sided: the interval excludes zero or not).

    ``"demonstrated"`` (the interval lies above zero), ``"increase"`` (it lies below zero: the building uses
    measurably more than its adjusted baseline), ``"not_demonstrable"`` (the interval holds zero: the saving
    cannot be told from none — which is not the same as no saving) or ``"no_data"``.
    """
    if not (math.isfinite(savings_kwh) and math.isfinite(uncertainty_90_kwh)):
        return "no_data"
    if abs(savings_kwh) <= uncertainty_90_kwh:
        return "not_demonstrable"
    return "demonstrated" if savings_kwh > 0 else "increase"


@dataclass(frozen=True)
class LimitCheck:
    """One ASHRAE Guideline 14 criterion: ``name`` is ``"cvrmse"``, ``"nmbe"`` or ``"fsu"``."""

    name: str
    value: float
    limit: float

    @property
    def ok(self) -> bool:
        if self.name == "fsu":
            return self.value < self.limit  # G14 §4.3.2.4: below 50 % at 68 %
        return abs(self.value) <= self.limit


@dataclass(frozen=True)
class SavingsVerdict:
    """The baseline model against G14's limits, and what the savings since the measure show.

    ``model`` holds the CV(RMSE) and |NMBE| checks (the model itself), ``fsu`` the fractional savings
    uncertainty at 68 % (G14's precision requirement on the savings), ``savings`` the code of
    :func:`savings_verdict_code` for the period since the measure.
    """

    model: tuple[LimitCheck, ...]
    fsu: LimitCheck
    savings: str
    savings_kwh: float = math.nan
    uncertainty_90_kwh: float = math.nan

    @property
    def model_ok(self) -> bool:
        return all(c.ok for c in self.model)

    @property
    def failed(self) -> tuple[LimitCheck, ...]:
        """The limits not met, model first; the FSU only when there is a saving to measure it against."""
        out = tuple(c for c in self.model if not c.ok)
        if self.savings == "demonstrated" and not self.fsu.ok:
            out += (self.fsu,)
        return out

    @property
    def ok(self) -> bool:
        """G14 passed: the model within its limits and the saving demonstrated with FSU(68 %) < 50 %."""
        return self.model_ok and self.savings == "demonstrated" and self.fsu.ok

    def notes(self) -> list[str]:
        """Short English notes (logs, the CLI's English output): which limit, and the savings verdict."""
        fmt = {"cvrmse": lambda c: f"CV(RMSE) {c.value:.1%} > {c.limit:.0%}",
               "nmbe": lambda c: f"|NMBE| {abs(c.value):.2%} > {c.limit:.1%}",
               "fsu": lambda c: f"FSU(68 %) {c.value:.0%} ≥ {c.limit:.0%}"}
        out = [fmt[c.name](c) for c in self.failed]
        if self.savings == "not_demonstrable":
            out.append("saving not demonstrable (90 % interval holds zero)")
        elif self.savings == "increase":
            out.append("use increased (90 % interval below zero)")
        elif self.savings == "no_data":
            out.append("no savings to test")
        return out


def savings_verdict(st, since_start: PeriodSavings, cv_max: float, nmbe_max: float,
                    fsu_max: float = 0.50) -> SavingsVerdict:
    """Judge a site: its baseline model's G14 statistics ``st`` and its savings since the measure."""
    model = (LimitCheck("cvrmse", st.cv_rmse, cv_max), LimitCheck("nmbe", st.nmbe, nmbe_max))
    code = savings_verdict_code(since_start.savings_kwh, since_start.uncertainty_90_kwh)
    return SavingsVerdict(model, LimitCheck("fsu", since_start.fsu_68, fsu_max), code, since_start.savings_kwh,
                          since_start.uncertainty_90_kwh)
