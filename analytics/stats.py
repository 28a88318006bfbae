"""Goodness-of-fit and savings-uncertainty statistics (ASHRAE Guideline 14-2014).

Names follow the guideline: ``n`` observations, ``p`` model parameters (the
intercept included), ``y`` measured, ``ŷ`` predicted, ``ȳ`` mean of ``y``.

* ``CV(RMSE) = sqrt(Σ(y−ŷ)² / (n−p)) / ȳ``          (G14 §5.2.11.3 / Annex B, "n−p" form)
* ``NMBE     = Σ(y−ŷ) / ((n−p) · ȳ)``                  (G14 Annex B)
* the same with ``n`` instead of ``n−p`` ("n" form, as many calibration tools report them);
  both are returned, labelled, because tools disagree on which one they print.
* ``R² = 1 − SSE/SST``; adjusted ``R²_adj = 1 − (1−R²)(n−1)/(n−p)``
  (``p`` counts the intercept, so ``n−p = n−k−1`` for ``k`` regressors).
* ``ρ`` lag-1 autocorrelation of the residuals, ``n′ = n(1−ρ)/(1+ρ)`` effective observations.
* fractional savings uncertainty (G14 Annex B, eq. B-14, Reddy & Claridge 2000):
  ``ΔE_save/E_save = 1.26 · t · CV · sqrt((n/n′)(1 + 2/n′)(1/m)) / F``
  with ``m`` reporting points and ``F = E_save / E_baseline`` the savings fraction — kept for reference and
  for models without their fit's design; the reports use the exact form for a sum of predictions,
  :func:`aggregate_savings_uncertainty_kwh` (below: why, and what it needs from the residuals).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Defaults for the G14 verdict (all configurable).  G14-2014 §4.3.2.4 (whole-building approach):
# the savings uncertainty must be below 50 % of the reported savings at 68 % confidence; where it is not
# computed, the baseline model needs CV(RMSE) ≤ 20 % (< 12 months of reporting data), 25 % (12-60 months),
# 30 % (> 60 months), and a net determination bias of at most 0.005 % — which least squares with an
# intercept meets by construction; we flag |NMBE| above 0.5 % (0.005 as a fraction) as the bias check.
G14_CVRMSE_MAX = 0.25
G14_NMBE_MAX = 0.005
G14_FSU_MAX_68 = 0.50
DATA_SUFFICIENCY_MIN = 0.90
"""Share of baseline days that must have complete data (CalTRACK 2.0 §2.2.4: 90 % of 365 days)."""


@dataclass(frozen=True)
class FitStatistics:
    n: int
    p: int
    mean_y: float
    sse: float
    r2: float
    r2_adj: float
    cv_rmse: float  # n−p form (G14)
    cv_rmse_n: float  # n form
    nmbe: float  # n−p form (G14), fraction (0.01 = 1 %)
    nmbe_n: float  # n form
    rho: float  # lag-1 autocorrelation of residuals
    n_eff: float  # n′


def sum_squared_errors(y: np.ndarray, y_hat: np.ndarray) -> float:
    """``Σ(y−ŷ)²``."""
    r = np.asarray(y, float) - np.asarray(y_hat, float)
    return float(r @ r)


def cv_rmse(y: np.ndarray, y_hat: np.ndarray, p: int, form: str = "n-p") -> float:
    """Coefficient of variation of the RMSE (ASHRAE G14 Annex B): ``sqrt(SSE/(n−p))/ȳ`` ("n-p") or ``/n`` ("n")."""
    y = np.asarray(y, float)
    dof = len(y) - p if form == "n-p" else len(y)
    if form not in ("n-p", "n"):
        raise ValueError(f"form must be 'n-p' or 'n', got {form!r}")
    if dof <= 0:
        return math.nan
    return math.sqrt(sum_squared_errors(y, y_hat) / dof) / float(np.mean(y))


def nmbe(y: np.ndarray, y_hat: np.ndarray, p: int, form: str = "n-p") -> float:
    """Normalised mean bias error (ASHRAE G14 Annex B): ``Σ(y−ŷ) / ((n−p)·ȳ)`` ("n-p") or ``/(n·ȳ)`` ("n")."""
    y = np.asarray(y, float)
    if form not in ("n-p", "n"):
        raise ValueError(f"form must be 'n-p' or 'n', got {form!r}")
    dof = len(y) - p if form == "n-p" else len(y)
    if dof <= 0:
        return math.nan
    return float(np.sum(y - np.asarray(y_hat, float))) / (dof * float(np.mean(y)))


def r_squared(y: np.ndarray, y_hat: np.ndarray) -> float:
    """Coefficient of determination ``1 − SSE/SST`` (0 when y is constant and fitted exactly by its mean)."""
    y = np.asarray(y, float)
    sst = float(np.sum((y - y.mean()) ** 2))
    if sst == 0.0:
        return 0.0
    return 1.0 - sum_squared_errors(y, y_hat) / sst


def adjusted_r_squared(r2: float, n: int, p: int) -> float:
    """``1 − (1−R²)(n−1)/(n−p)``, ``p`` counting the intercept (an intercept-only model has R²_adj = 0)."""
    if n - p <= 0:
        return math.nan
    return 1.0 - (1.0 - r2) * (n - 1) / (n - p)


def lag1_autocorrelation(residuals: np.ndarray) -> float:
    """Lag-1 autocorrelation ``ρ = Σ_{i≥2} e_i·e_{i−1} / Σ e_i²`` of residuals in time order (G14 Annex B)."""
    e = np.asarray(residuals, float)
    if len(e) < 2:
        return math.nan
    denom = float(e @ e)
    if denom == 0.0:
        return 0.0
    return float(e[1:] @ e[:-1]) / denom


def effective_n(n: int, rho: float) -> float:
    """Effective number of independent observations ``n′ = n(1−ρ)/(1+ρ)`` (G14 Annex B).

    The correction is for positively autocorrelated residuals.  With ρ ≤ 0 no credit is taken
    (n′ = n): negative autocorrelation would otherwise make n′ exceed the number of observations
    and the savings look more certain than independent data could make them.
    """
    if rho <= 0.0:
        return float(n)
    return n * (1.0 - rho) / (1.0 + rho)


RHO_SIGNIFICANCE_Z = 1.645
"""One-sided 95 % point of the normal distribution: the test of ρ > 0 in :func:`significant_rho`."""


def significant_rho(rho: float, n: int, z: float = RHO_SIGNIFICANCE_Z) -> float:
    """``ρ`` where it is significantly positive (``ρ > z/√n``), else 0 (no autocorrelation correction).

    Under white noise the lag-1 autocorrelation of ``n`` residuals is ≈ N(0, 1/n) (Bartlett 1946; Box &
    Jenkins, *Time Series Analysis*, §6.2: the large-lag standard error ``1/√n``).  G14 Annex B takes n′ = n
    for ρ ≤ 0 but inflates for any ρ > 0, so on white residuals the inflation is biased upward (half of the
    fits get ``n/n′ > 1`` from noise alone); testing ρ first — as :func:`autocorrelation_decay` already tests
    before fitting φ — removes that bias and keeps the correction wherever the persistence is real.
    E.g. 365 days: ``1.645/√365 = 0.0861``; 12 billing periods: ``1.645/√12 = 0.475``.
    """
    if not (n > 0 and math.isfinite(rho)) or rho <= z / math.sqrt(n):
        return 0.0
    return float(rho)


def fit_statistics(y: np.ndarray, y_hat: np.ndarray, p: int) -> FitStatistics:
    """All G14 goodness-of-fit numbers for one fitted model (residuals in time order)."""
    y = np.asarray(y, float)
    y_hat = np.asarray(y_hat, float)
    n = len(y)
    r2 = r_squared(y, y_hat)
    rho = lag1_autocorrelation(y - y_hat)
    return FitStatistics(
        n=n, p=p, mean_y=float(np.mean(y)) if n else math.nan, sse=sum_squared_errors(y, y_hat),
        r2=r2, r2_adj=adjusted_r_squared(r2, n, p),
        cv_rmse=cv_rmse(y, y_hat, p, "n-p"), cv_rmse_n=cv_rmse(y, y_hat, p, "n"),
        nmbe=nmbe(y, y_hat, p, "n-p"), nmbe_n=nmbe(y, y_hat, p, "n"),
        rho=rho, n_eff=effective_n(n, rho),
    )


def t_value(confidence: float, dof: float) -> float:
    """Two-sided Student-t critical value, e.g. ``t_value(0.90, 30) = 1.697``."""
    if dof <= 0:
        return math.nan
    return student_t_ppf(0.5 + confidence / 2.0, dof)


# -- Student's t without scipy.stats (which costs a report about a second of imports for one quantile) --------
def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function, by the modified Lentz method (Press et al.,
    *Numerical Recipes*, 3rd ed., §6.4, ``betacf``)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function ``I_x(a, b)`` (Numerical Recipes §6.4, ``betai``)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def f_test_p_value(f: float, dof_num: float, dof_den: float) -> float:
    """``P(F > f)`` for Fisher's F with (``dof_num``, ``dof_den``) degrees of freedom:
    ``I_{d₂/(d₂ + d₁f)}(d₂/2, d₁/2)`` (Abramowitz & Stegun 26.6.2 with 26.5.27)."""
    if not (f > 0.0) or dof_num <= 0 or dof_den <= 0:
        return 1.0
    return _betainc(dof_den / 2.0, dof_num / 2.0, dof_den / (dof_den + dof_num * f))


CALENDAR_TERM_P = 0.10
"""The school holidays' day types are used where the baseline shows them: their partial F-test's p-value below
this (CalTRACK 1.0's p < 0.1 for a model's terms).  A term the data cannot support only absorbs noise — with
persistent noise, blocks of holiday weeks take up part of it and the intervals come out too narrow
(bench/README.md, calibration)."""


def student_t_cdf(t: float, dof: float) -> float:
    """``P(T ≤ t)`` for Student's t with ``dof`` (real, > 0) degrees of freedom:
    ``1 − ½·I_{ν/(ν+t²)}(ν/2, ½)`` for t > 0 (Abramowitz & Stegun 26.7.1 with 26.5.27)."""
    tail = 0.5 * _betainc(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_ppf(q: float, dof: float) -> float:
    """The ``q`` quantile of Student's t (``dof`` real, > 0): Newton's method on :func:`student_t_cdf` with its
    density, kept inside a bisection bracket; to ~1e-10 relative (tests: against published tables and scipy)."""
    if not 0.0 < q < 1.0 or not dof > 0:
        return math.nan
    if q < 0.5:
        return -student_t_ppf(1.0 - q, dof)
    if q == 0.5:
        return 0.0
    from statistics import NormalDist

    z = NormalDist().inv_cdf(q)
    t = z + (z**3 + z) / (4.0 * dof) + (5.0 * z**5 + 16.0 * z**3 + 3.0 * z) / (96.0 * dof * dof)  # Cornish-Fisher
    lo, hi = 0.0, max(2.0 * t, 1.0)
    while student_t_cdf(hi, dof) < q:
        lo, hi = hi, hi * 2.0
    log_norm = math.lgamma((dof + 1.0) / 2.0) - math.lgamma(dof / 2.0) - 0.5 * math.log(dof * math.pi)
    t = min(max(t, lo), hi)
    for _ in range(200):
        f = student_t_cdf(t, dof) - q
        if f == 0.0:
            return t
        if f > 0:
            hi = t
        else:
            lo = t
        pdf = math.exp(log_norm - (dof + 1.0) / 2.0 * math.log1p(t * t / dof))
        step = t - f / pdf if pdf > 0 else (lo + hi) / 2.0
        t_new = step if lo < step < hi else (lo + hi) / 2.0
        if abs(t_new - t) <= 1e-12 * t or hi - lo <= 1e-12 * t:  # the CDF itself is good to ~1e-15
            return t_new
        t = t_new
    return t


def _ar1_filter(g: np.ndarray, phi: float) -> np.ndarray:
    """``h_i = g_i + φ·h_{i−1}`` (``h_0 = g_0``): the first-order recursive filter ``scipy.signal.lfilter([1],
    [1, −φ], g)``, without importing scipy.signal (about 2 s of a report's start on a loaded machine)."""
    out, acc = [], 0.0
    for x in np.asarray(g, float).tolist():
        acc = x + phi * acc
        out.append(acc)
    return np.array(out)


def savings_uncertainty_kwh(
    baseline_kwh: float,
    cv_rmse_value: float,
    n: int,
    n_eff: float,
    p: int,
    m: int,
    confidence: float,
) -> float:
    """Absolute savings uncertainty (kWh) of ``m`` reporting points (ASHRAE G14 Annex B, eq. B-14).

    ``ΔE_save = 1.26 · t · E_baseline · CV · sqrt((n/n′)(1 + 2/n′)(1/m))``, which is the
    fractional form multiplied by ``E_save = F · E_baseline``.  ``t`` has ``n′ − p``
    degrees of freedom (the effective sample size after the autocorrelation correction),
    ``E_baseline`` is the adjusted baseline energy of the reporting points.
    """
    if m <= 0 or n_eff <= 0:
        return math.nan
    t = t_value(confidence, n_eff - p)
    return 1.26 * t * abs(baseline_kwh) * cv_rmse_value * math.sqrt((n / n_eff) * (1.0 + 2.0 / n_eff) / m)


def fractional_savings_uncertainty(
    savings_fraction: float, cv_rmse_value: float, n: int, n_eff: float, p: int, m: int, confidence: float
) -> float:
    """``1.26 · t · CV · sqrt((n/n′)(1 + 2/n′)(1/m)) / F`` (ASHRAE G14 Annex B, eq. B-14)."""
    if savings_fraction == 0:
        return math.inf
    return savings_uncertainty_kwh(1.0, cv_rmse_value, n, n_eff, p, m, confidence) / abs(savings_fraction)


def combine_in_quadrature(uncertainties_kwh) -> float:
    """Uncertainty of a sum of independent savings: ``sqrt(Σ U_i²)`` (IPMVP uncertainty appendix)."""
    u = np.asarray(list(uncertainties_kwh), float)
    return float(math.sqrt(np.sum(u * u)))


# --------------------------------------------------------------------------- savings uncertainty of a sum
#
# ASHRAE G14 eq. B-14 (above) was derived for monthly models; with daily or hourly data it is too narrow
# (Koran et al. 2017; CalTRACK 2.0's empirical correction in eemeter: ``_compute_fsu_error`` multiplies it by
# ``-0.00024·M² + 0.03535·M + 1.00286``, M = reporting months, ≈ 1.39 for 12 months, where G14 uses 1.26).
# The reason is visible in the exact form for a linear model (Reddy & Claridge 2000, G14 Annex B's matrix
# form; the "exact algebraic approach" of Koran et al. 2017): the error of a *sum* of m predictions has
#
#     Var = σ² · [ Σ_{i,j∈R} corr(e_i, e_j)          (reporting-period noise: ≈ m·n/n′)
#                 + x_Rᵀ (XᵀX)⁻¹ x_R · n/n′ ]         (model error, x_R = Σ_{j∈R} x_j: ≈ m²/n′)
#
# and the model-error term grows with m², not with m as in B-14's (1 + 2/n′): with a year of baseline and a
# year of reporting it is as large as the noise term (√2 = 1.41 against G14's 1.26, CalTRACK's 1.39).
# :func:`aggregate_savings_uncertainty_kwh` computes this form; :class:`UnitResiduals` holds what it needs
# from the baseline residuals, per *uncertainty unit*: a day for the daily and the hourly models (hourly
# residuals summed per local day: day-to-day persistence, which an hour-to-hour ρ cannot see, is what
# dominates the error of sums of hours — CalTRACK's hourly working group, 2018, on correlated hourly
# errors), a billing period for the billing model.

WEEKDAY_TYPES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_TYPES = (*WEEKDAY_TYPES, "holiday", *(f"{d}_school_holiday" for d in WEEKDAY_TYPES))
"""Daily residuals are grouped by these types: the CalTRACK daily model has no day-of-week term, and a
weekly pattern it leaves in the residuals is neither noise nor AR(1) (it sums to ≈ 0 over whole weeks).  The
weekdays of the site's school holidays (its calendar's ``school_holidays``, when configured) are types of their
own: a school, a sports hall or a town hall is used differently in them, the daily and hourly models have no term
for it, and the pattern recurs at the same time every year — a systematic error the year's sum hardly carries,
not persistent noise (counted as noise, it made the sports hall's year intervals too wide: bench/README.md)."""


@dataclass(frozen=True)
class UnitResiduals:
    """The baseline residuals per uncertainty unit, as the savings uncertainty needs them.

    ``sigma2`` is the residual variance per unit (kWh², per day for billing periods: a period's
    residual variance is ``days · sigma2``) after the mean of each day type is removed,
    corrected for the parameters fitted (``n − p``, or the smoother's ``n − tr(H)``); ``rho`` is the lag-1
    autocorrelation of the noise behind those residuals (G14 Annex B; with the fit's design, corrected for the
    bias of residual autocorrelations: :func:`projected_noise_parameters`), ``phi`` its decay beyond lag 1 and
    ``n_eff = n/(1 + 2ρ/(1 − φ))`` (AR(1): G14's ``n(1−ρ)/(1+ρ)``).  ``day_type_kwh``
    holds the removed means (:data:`DAY_TYPES`), used as a known bias of the reporting sum; for billing periods
    the calendar term's kWh per public-holiday and school-holiday day (:func:`unit_residuals_periods`), with the
    baseline's share of such days in ``calendar_share``.
    """

    unit: str  # "day" or "period"
    n: int
    p: int  # parameters behind the residual variance: the model's plus the day-type means (7)
    sigma2: float
    rho: float  # lag-1 autocorrelation
    day_type_kwh: tuple[float, ...] = ()
    phi: float | None = None  # decay of the autocorrelation beyond lag 1 (None: = rho, G14's AR(1))
    school_holidays: frozenset[dt.date] = frozenset()  # the site calendar's, to type the reporting days alike
    calendar_share: tuple[float, ...] = ()  # periods: the baseline's public/school-holiday days per day
    # the residuals fitted on the model's regressors and the day types together (unit_residuals_daily with a
    # design): the model's correction per regressor and per day type, which a reporting day's bias sums
    joint_design_kwh: tuple[float, ...] = ()
    joint_day_type_kwh: tuple[float, ...] = ()
    # the F-test of a configured calendar's school holidays (None: none configured); used below CALENDAR_TERM_P
    school_holidays_p: float | None = None
    # the baseline's days with a residual that the site calendar makes school-holiday types (public holidays in them
    # are holidays); None: no calendar given.  Without such days a calendar has no pattern to learn from
    school_holiday_days: int | None = None

    @property
    def school_holidays_use(self) -> str:
        """How the site calendar's school holidays entered the uncertainty, as a report says it: ``"none"`` (no
        calendar given), ``"absent"`` (given, but no baseline day is a school-holiday day), ``"not_significant"``
        (the daily models' F-test, :attr:`school_holidays_p` ≥ :data:`CALENDAR_TERM_P`: left out) or ``"used"``
        (their own day types; the billing model's calendar columns, which it keeps without a test)."""
        if self.school_holiday_days is None:
            return "none"
        if self.school_holiday_days == 0:
            return "absent"
        if self.school_holidays_p is not None and self.school_holidays_p >= CALENDAR_TERM_P:
            return "not_significant"
        return "used"

    @property
    def decay(self) -> float:
        return self.rho if self.phi is None else self.phi

    @property
    def variance_inflation(self) -> float:
        """``n/n′``: long-run over one-unit variance, ``1 + 2ρ/(1 − φ)`` (AR(1): ``(1+ρ)/(1−ρ)``, G14)."""
        if self.rho <= 0.0:
            return 1.0
        return 1.0 + 2.0 * self.rho / (1.0 - self.decay)

    @property
    def n_eff(self) -> float:
        return self.n / self.variance_inflation


def day_types(days, school_holidays: frozenset[dt.date] = frozenset()) -> np.ndarray:
    """Index into :data:`DAY_TYPES` of local days: 0..6 Monday..Sunday, 7 a Danish public holiday, 8..14
    Monday..Sunday in ``school_holidays`` (a public holiday in them stays 7)."""
    from energimon.calendar import danish_holidays

    idx = pd.DatetimeIndex(days)
    out = idx.day_of_week.to_numpy().copy()
    if len(idx):
        dates = idx.date
        if school_holidays:
            out[np.array([d in school_holidays for d in dates], bool)] += len(WEEKDAY_TYPES) + 1
        hol = set().union(*(danish_holidays(y) for y in range(idx.year.min(), idx.year.max() + 1)))
        out[np.array([d in hol for d in dates], bool)] = len(WEEKDAY_TYPES)
    return out


def unit_residuals_daily(residual_kwh: np.ndarray, days, p_model: int, variance_factor: float = 1.0,
                         design: np.ndarray | None = None,
                         school_holidays: frozenset[dt.date] = frozenset()) -> UnitResiduals:
    """:class:`UnitResiduals` of daily residuals (in time order, one per local day in ``days``).

    The mean residual of each day type (:data:`DAY_TYPES`) is removed before σ² and ρ are estimated;
    ``variance_factor`` scales σ² for models whose in-sample residuals understate the noise (TOWT: n/(n − tr H)).
    With the fit's ``design`` (its regressor rows for the same days, NaN days included) σ², ρ and φ are the
    noise's, corrected for what the least-squares fit and the day-type means took up
    (:func:`projected_noise_parameters`); ``p_model`` beyond the design's columns (searched balance points)
    still counts as parameters in σ².  ``school_holidays``: the site calendar's (:func:`day_types`).
    """
    r = np.asarray(residual_kwh, float)
    ok = ~np.isnan(r)
    r = r[ok]
    if days is None:  # no calendar: the residuals as they are (G14's own estimate)
        n = len(r)
        sigma2 = float(r @ r) / (n - p_model) * variance_factor if n > p_model else math.nan
        return UnitResiduals("day", n, p_model, sigma2, significant_rho(lag1_autocorrelation(r), n))
    school_p = None
    school_days = _school_holiday_days(pd.DatetimeIndex(days)[ok], school_holidays)
    if school_holidays and design is not None:
        school_p = school_holidays_p_value(r, pd.DatetimeIndex(days)[ok], np.asarray(design, float)[ok],
                                           school_holidays)
        if school_p >= CALENDAR_TERM_P:
            school_holidays = frozenset()
    types = day_types(pd.DatetimeIndex(days)[ok], school_holidays)
    means = np.array([r[types == k].mean() if np.any(types == k) else 0.0 for k in range(len(DAY_TYPES))])
    used = int(sum(np.any(types == k) for k in range(len(DAY_TYPES))))
    u = r - means[types]
    p = p_model + max(0, used - 1)  # the day-type means add used − 1 parameters beyond the model's intercept
    n = len(u)
    if design is not None and n > p:
        x = np.asarray(design, float)[ok]
        basis = day_type_basis(x, types)
        u = r - basis @ (basis.T @ r)  # = the residuals of the model and the day types fitted together
        sigma2, rho, phi = projected_noise_parameters(u, basis)
        searched = max(0, p_model - np.asarray(design).shape[1])  # balance points: one white-noise unit each
        ss = float(u @ u)
        if searched and ss > 0.0:
            sigma2 = ss / max(ss / sigma2 - searched, 1.0)
        delta, gamma = joint_day_type_fit(r, x, types)
        return UnitResiduals("day", n, p, sigma2 * variance_factor, rho, tuple(float(v) for v in means), phi,
                             school_holidays, (), tuple(float(v) for v in delta), tuple(float(v) for v in gamma),
                             school_p, school_days)
    sigma2 = float(u @ u) / (n - p) * variance_factor if n > p else math.nan
    rho = significant_rho(lag1_autocorrelation(u), n)
    return UnitResiduals("day", n, p, sigma2, rho, tuple(float(x) for x in means), autocorrelation_decay(u, rho),
                         school_holidays, school_holiday_days=school_days)


def _school_holiday_days(days, school_holidays: frozenset[dt.date]) -> int | None:
    """How many of ``days`` are school-holiday types (:func:`day_types`); None without a calendar."""
    if not school_holidays:
        return None
    return int(np.sum(day_types(days, school_holidays) > len(WEEKDAY_TYPES)))


def day_type_basis(design: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Orthonormal basis of a model's regressors and the day types the days hold (:data:`DAY_TYPES`)."""
    onehot = (types[:, None] == np.arange(len(DAY_TYPES))[None, :]).astype(float)
    return _orthonormal_basis(np.column_stack([design, onehot[:, onehot.any(axis=0)]]))


def school_holidays_p_value(residual_kwh: np.ndarray, days, design: np.ndarray,
                            school_holidays: frozenset[dt.date]) -> float:
    """Whether the school holidays' day types explain the residuals beyond the weekdays and public holidays:
    the p-value of a partial F-test (used below :data:`CALENDAR_TERM_P`) with the noise's variance inflation
    ``n/n′`` in the denominator —
    the types are blocks of consecutive days, and a persistent noise's block means vary ``n/n′`` times more than
    white noise's."""
    r = np.asarray(residual_kwh, float)

    def fit(types):
        basis = day_type_basis(design, types)
        return basis, r - basis @ (basis.T @ r)

    basis_full, u_full = fit(day_types(days, school_holidays))
    basis_red, u_red = fit(day_types(days))
    extra = basis_full.shape[1] - basis_red.shape[1]
    dof = len(r) - basis_full.shape[1]
    if extra <= 0 or dof <= 0:
        return 1.0
    sigma2, rho, phi = projected_noise_parameters(u_full, basis_full)
    inflation = 1.0 if rho <= 0.0 else 1.0 + 2.0 * rho / (1.0 - (rho if phi is None else phi))
    f = (float(u_red @ u_red) - float(u_full @ u_full)) / extra / (sigma2 * inflation)
    return f_test_p_value(f, extra, dof / inflation)


def joint_day_type_fit(residual_kwh: np.ndarray, design: np.ndarray, types: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``(δ, γ)``: least squares of a model's residuals on its own regressors and the day types together.

    ``design·δ + γ[type]`` is what the model misses on a day of that type and weather: the day types' pattern
    *and* what that pattern did to the model's coefficients.  The second part matters where the pattern and a
    regressor go together — a school's winter and Christmas holidays fall on cold days, so a heating slope
    fitted without them is biased, and in a reporting period with other weather that bias is not in the day
    types' mean residuals (their raw means, ``UnitResiduals.day_type_kwh``, see only the first part).  With an
    intercept in ``design`` the most frequent type is the reference (γ = 0), so the split is unique; a type the
    baseline never saw gets γ = 0 (it is taken as the reference type).
    """
    r = np.asarray(residual_kwh, float)
    x = np.asarray(design, float)
    k = len(DAY_TYPES)
    counts = np.bincount(types, minlength=k)
    cols = [t for t in range(k) if counts[t]]
    has_intercept = any(np.ptp(c) == 0.0 and c[0] != 0.0 for c in x.T) if len(x) else False
    if has_intercept and cols:
        cols.remove(int(np.argmax(counts)))
    onehot = (types[:, None] == np.array(cols, int)[None, :]).astype(float)
    coef = np.linalg.lstsq(np.column_stack([x, onehot]), r, rcond=None)[0]
    gamma = np.zeros(k)
    gamma[cols] = coef[x.shape[1]:]
    return coef[:x.shape[1]], gamma


def period_calendar_days(starts, days_per_period, school_holidays: frozenset[dt.date] = frozenset()) -> np.ndarray:
    """Per billing period (local start day, days): its Danish public holidays and its school-holiday days (the
    site calendar's, public holidays not counted twice) — the columns of :func:`unit_residuals_periods`'s
    calendar term (the first only without ``school_holidays``)."""
    out = []
    for start, d in zip(pd.DatetimeIndex(starts), np.asarray(days_per_period, int), strict=True):
        day0 = pd.Timestamp(start.date())
        types = day_types(pd.date_range(day0, periods=int(d), freq="D"), school_holidays)
        out.append((int(np.sum(types == len(WEEKDAY_TYPES))), int(np.sum(types > len(WEEKDAY_TYPES)))))
    counts = np.array(out, float).reshape(-1, 2)
    return counts if school_holidays else counts[:, :1]


def unit_residuals_periods(residual_kwh: np.ndarray, days_per_period: np.ndarray, p_model: int,
                           design: np.ndarray | None = None, calendar_days: np.ndarray | None = None,
                           school_holidays: frozenset[dt.date] = frozenset()) -> UnitResiduals:
    """:class:`UnitResiduals` of billing periods: residual kWh per period, scaled to one day's variance
    (``r/√days``: a period's noise grows with its days, as in the CalTRACK billing WLS weights).

    With the fit's ``design`` (per-day regressors of each period) and ``calendar_days``
    (:func:`period_calendar_days`), the part of the residuals the calendar explains — a month's share of public
    holidays and school holidays, in which a building is used differently and which the CalTRACK billing model
    has no term for — is fitted with the model's regressors (WLS), kept as ``day_type_kwh`` (kWh per such day
    against an average day) and, with what it did to the model's coefficients (``joint_design_kwh``, per day:
    :func:`joint_day_type_fit`), counted as a known bias of the reporting periods, not as noise; σ² counts those
    columns as parameters.  This is the daily models' day types at a month's resolution: twelve points cannot
    tell a pattern that recurs each Easter, July and Christmas from noise, the calendar can.
    """
    r = np.asarray(residual_kwh, float)
    d = np.asarray(days_per_period, float)
    u = r / np.sqrt(d)
    n = len(u)
    if design is not None and calendar_days is not None and len(calendar_days):
        c = np.asarray(calendar_days, float)
        share = c.sum(axis=0) / d.sum()
        z = (c - d[:, None] * share[None, :]) / np.sqrt(d)[:, None]
        keep = np.abs(z).max(axis=0) > 1e-9  # a column the baseline never varies (no school holidays) says nothing
        # no F-test here, unlike the daily types (CALENDAR_TERM_P): on twelve points it kept too little — in the
        # calibration it cost two cases at ρ ≤ 0.4 and recovered none at ρ = 0.8 (bench/README.md)
        x_w = np.column_stack([np.asarray(design, float) * np.sqrt(d)[:, None], z[:, keep]])
        coef = np.linalg.lstsq(x_w, u, rcond=None)[0]
        gamma = np.zeros(c.shape[1])
        gamma[keep] = coef[-int(keep.sum()):] if keep.any() else []
        e = u - x_w @ coef
        p = p_model + int(keep.sum())
        sigma2 = float(e @ e) / (n - p) if n > p else math.nan
        delta = coef[:x_w.shape[1] - int(keep.sum())]
        school_days = int(c[:, 1].sum()) if school_holidays and c.shape[1] > 1 else None
        return UnitResiduals("period", n, p, sigma2, significant_rho(lag1_autocorrelation(e), n),
                             tuple(float(g) for g in gamma), None, school_holidays, tuple(float(x) for x in share),
                             tuple(float(v) for v in delta), school_holiday_days=school_days)
    sigma2 = float(u @ u) / (n - p_model) if n > p_model else math.nan
    return UnitResiduals("period", n, p_model, sigma2, significant_rho(lag1_autocorrelation(u), n))


MAX_DECAY = 0.95
DECAY_LAGS = 14


def arma11_correlation(n: int, rho: float, phi: float) -> np.ndarray:
    """The ``n × n`` correlation matrix ``Ω_ii = 1``, ``Ω_ij = ρ·φ^(|i−j|−1)`` (ARMA(1,1); φ = ρ: AR(1))."""
    lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return np.where(lag == 0, 1.0, rho * phi ** np.maximum(lag - 1, 0).astype(float))


def expected_residual_autocovariances(absorbed: np.ndarray, omega: np.ndarray, lags: int) -> np.ndarray:
    """``E[Σ_i u_{i+k} u_i] / σ²`` for k = 0..lags, of residuals ``u = M η`` with ``Cov(η) = σ²Ω``.

    ``M = absorbed`` maps the noise to the residuals (``I − H`` for a linear fit, H its hat matrix): the
    expectation of the quadratic form ``uᵀL_k u`` is ``σ²·tr(L_k M Ω Mᵀ)`` — the moments of residual
    autocorrelations that the Durbin-Watson test is built on (Durbin & Watson 1950, Biometrika 37).
    """
    q = absorbed @ omega @ absorbed.T
    return np.array([float(np.trace(q, offset=-k)) for k in range(lags + 1)])


def absorbed_noise_parameters(u: np.ndarray, absorbed: np.ndarray, iterations: int = 8,
                              decay: float | None = None) -> tuple[float, float, float | None]:
    """``(σ², ρ, φ)`` of the noise behind residuals ``u = M η``, correcting for what the fit absorbed.

    A fit with many parameters (TOWT: 168 hour-of-week levels per month segment on ~13 weighted weeks)
    absorbs part of the noise: the residuals' variance *and* their persistence understate the noise's
    (part of a month's shift of persistent noise is taken up by its segment's levels).  G14 corrects the
    variance of white noise by ``n − p``, in general ``tr((I−H)(I−H)ᵀ)``; with correlated noise the same
    moment is ``tr(M Ω Mᵀ)`` (:func:`expected_residual_autocovariances`).  ρ is found by the method of
    moments — the ρ whose *expected* residual lag-1 autocorrelation is the one observed (fixed-point
    iteration) — and kept only where the observed one exceeds the white-noise expectation significantly
    (:func:`significant_rho`); the decay φ is ``decay`` where given (estimated where less of the noise was
    absorbed), else the observed one (:func:`autocorrelation_decay`), at least ρ;
    σ² = ``uᵀu / tr(M Ω Mᵀ)``, unbiased for that Ω.  (Matching φ by moments as well was tried and widened
    the hourly model's year intervals far beyond their coverage: bench/README.md.)
    """
    u = np.asarray(u, float)
    n, dim = absorbed.shape
    white = expected_residual_autocovariances(absorbed, np.eye(dim), 1)
    rho_obs = lag1_autocorrelation(u)
    if significant_rho(rho_obs - white[1] / white[0], n) <= 0.0:
        return float(u @ u) / white[0], 0.0, None
    phi_obs = decay if decay is not None else autocorrelation_decay(u, rho_obs)
    rho = rho_obs
    for _ in range(iterations):
        phi = rho if phi_obs is None else max(rho, phi_obs)
        c = expected_residual_autocovariances(absorbed, arma11_correlation(dim, rho, phi), 1)
        rho_new = min(max(rho + rho_obs - c[1] / c[0], 0.0), MAX_DECAY)
        done = abs(rho_new - rho) < 1e-3
        rho = rho_new
        if done:
            break
    phi = rho if phi_obs is None else max(rho, phi_obs)
    c0 = expected_residual_autocovariances(absorbed, arma11_correlation(dim, rho, phi), 0)[0]
    return float(u @ u) / c0, rho, (None if phi_obs is None else phi)


def unit_residuals_absorbed(residual_kwh: np.ndarray, days, absorbed: np.ndarray, p_model: int,
                            school_holidays: frozenset[dt.date] = frozenset(),
                            decay: float | None = None) -> UnitResiduals:
    """:class:`UnitResiduals` of daily residuals ``r = M η`` of a fit that absorbed part of the noise η.

    ``absorbed`` (``M``, residual days × all baseline days) maps day-level noise to these residuals;
    the day-type means are removed as in :func:`unit_residuals_daily` (their projection is applied to ``M``
    too), then σ², ρ and φ come from :func:`absorbed_noise_parameters` (``decay``: a φ estimated elsewhere).
    """
    r = np.asarray(residual_kwh, float)
    types = day_types(pd.DatetimeIndex(days), school_holidays)
    k = len(DAY_TYPES)
    onehot = (types[:, None] == np.arange(k)[None, :]).astype(float)
    count = onehot.sum(axis=0)
    used = count > 0
    centre = np.eye(len(r)) - (onehot[:, used] / count[used]) @ onehot[:, used].T  # removes each type's mean
    means = np.zeros(k)
    means[used] = (onehot[:, used].T @ r) / count[used]
    sigma2, rho, phi = absorbed_noise_parameters(centre @ r, centre @ absorbed, decay=decay)
    p = p_model + max(0, int(used.sum()) - 1)
    return UnitResiduals("day", len(r), p, sigma2, rho, tuple(float(x) for x in means), phi, school_holidays,
                         school_holiday_days=_school_holiday_days(pd.DatetimeIndex(days), school_holidays))


def _orthonormal_basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning ``x``'s columns (rank-revealing: an intercept and a full set of
    day-type dummies are one direction, not two)."""
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, s > s[0] * 1e-10] if len(s) else u


def projected_residual_autocovariances(basis: np.ndarray, rho: float, phi: float, lags: int) -> np.ndarray:
    """:func:`expected_residual_autocovariances` for ``M = I − QQᵀ`` (a least-squares fit's ``I − H``), in O(n²·p).

    ``basis`` is ``Q`` (n × p, orthonormal columns spanning the fit's regressors).  With
    ``MΩMᵀ = Ω − QQᵀΩ − ΩQQᵀ + Q(QᵀΩQ)Qᵀ`` the k-th lower diagonal of each term is a sum over n·p products, so
    no n × n product is formed (a daily model's 365 days cost milliseconds where the dense form costs ~0.1 s).
    """
    q = np.asarray(basis, float)
    n = q.shape[0]
    b = arma11_correlation(n, rho, phi) @ q  # ΩQ
    qg = q @ (q.T @ b)  # Q(QᵀΩQ)
    out = np.empty(lags + 1)
    for k in range(lags + 1):
        omega_k = 1.0 if k == 0 else rho * phi ** (k - 1)
        out[k] = ((n - k) * omega_k - float(np.sum(q[k:] * b[:n - k])) - float(np.sum(b[k:] * q[:n - k]))
                  + float(np.sum(qg[k:] * q[:n - k])))
    return out


def residual_autocorrelations(e: np.ndarray, lags: int) -> np.ndarray:
    """``r_k = Σ_i e_{i+k}·e_i / Σ e_i²`` for k = 1..lags (the estimator of :func:`lag1_autocorrelation`)."""
    e = np.asarray(e, float)
    denom = float(e @ e)
    if denom == 0.0:
        return np.zeros(lags)
    return np.array([float(e[k:] @ e[:-k]) / denom for k in range(1, lags + 1)])


def projected_noise_parameters(u: np.ndarray, basis: np.ndarray, lags: int = DECAY_LAGS, iterations: int = 8
                               ) -> tuple[float, float, float | None]:
    """``(σ², ρ, φ)`` of ARMA(1,1) noise behind the residuals ``u = (I − QQᵀ)η`` of a least-squares fit.

    Autocorrelations of residuals are biased low when the fit estimated a mean (and slopes) from the same
    series — for AR(1) noise ``E[r₁] ≈ ρ − (1 + 3ρ)/n`` (Marriott & Pope 1954, Biometrika 41), more at the
    longer lags that set the decay φ — so a persistent noise's ``n/n′ = 1 + 2ρ/(1 − φ)`` is underestimated
    and the intervals of long sums come out too narrow.  Both ρ and φ are found by the method of moments on
    the residual autocorrelations r₁…r_lags: the bias of each, ``E[r_k] − ρφ^(k−1)`` under the current
    (ρ, φ) (:func:`projected_residual_autocovariances`: the Durbin-Watson moments, Durbin & Watson 1950),
    is taken off the observed ones, ρ and φ are refitted to the corrected ones as in
    :func:`autocorrelation_decay`, and the two steps repeat to a fixed point.  ρ is kept only where the
    observed r₁ exceeds its white-noise expectation significantly (:func:`significant_rho`); φ only where
    :func:`autocorrelation_decay` fits one.  σ² = ``uᵀu / tr(MΩMᵀ)`` (G14's ``n − p`` for that Ω).
    """
    u = np.asarray(u, float)
    n = len(u)
    white = projected_residual_autocovariances(basis, 0.0, 0.0, 1)
    r = residual_autocorrelations(u, lags)
    if significant_rho(r[0] - white[1] / white[0], n) <= 0.0:
        return float(u @ u) / white[0], 0.0, None
    phi_obs = autocorrelation_decay(u, r[0], lags)
    if phi_obs is None:  # too few residuals for a decay: ρ alone, as absorbed_noise_parameters does
        return absorbed_noise_parameters(u, np.eye(n) - basis @ basis.T)
    k = np.arange(1, lags + 1)
    rho, phi = float(r[0]), phi_obs
    for _ in range(iterations):
        c = projected_residual_autocovariances(basis, rho, phi, lags)
        target = r - (c[1:] / c[0] - rho * phi ** (k - 1))
        rho_new = min(max(float(target[0]), 0.0), MAX_DECAY)
        phi_new = decay_from_autocorrelations(target[1:], rho_new) if rho_new > 0.0 else 0.0
        done = abs(rho_new - rho) < 1e-3 and abs(phi_new - phi) < 1e-3
        rho, phi = rho_new, phi_new
        if done:
            break
    if rho <= 0.0:
        return float(u @ u) / white[0], 0.0, None
    c0 = projected_residual_autocovariances(basis, rho, phi, 0)[0]
    return float(u @ u) / c0, rho, phi


def autocorrelation_decay(e: np.ndarray, rho: float, lags: int = DECAY_LAGS) -> float | None:
    """How fast the residuals' autocorrelation decays beyond lag 1: ``φ`` in ``r_k ≈ ρ·φ^(k−1)`` (k ≥ 1).

    Residuals are rarely pure AR(1): a persistent part (weather, occupancy) plus a part that is new every
    day gives ``r_1 < φ`` — an ARMA(1,1) autocorrelation (Box & Jenkins) — and G14's n′ from ``r_1`` alone
    then understates the variance of long sums.  ``φ`` is fitted by least squares to ``r_2 … r_lags``
    within ``[ρ, 0.95]``; ``None`` (= ρ, G14's AR(1)) when ρ is not significant (< 2/√n), where the
    fit would only amplify noise.
    """
    e = np.asarray(e, float)
    n = len(e)
    if not (rho > 2.0 / math.sqrt(max(n, 1))) or n < 3 * lags:
        return None
    denom = float(e @ e)
    r = np.array([float(e[k:] @ e[:-k]) / denom for k in range(2, lags + 1)])
    return decay_from_autocorrelations(r, rho)


def decay_from_autocorrelations(r_from_lag2: np.ndarray, rho: float) -> float:
    """Least-squares ``φ ∈ [ρ, 0.95]`` of ``r_k ≈ ρ·φ^(k−1)`` for ``r_from_lag2 = (r_2, r_3, …)``."""
    r = np.asarray(r_from_lag2, float)
    k = np.arange(2, len(r) + 2)
    grid = np.linspace(rho, MAX_DECAY, 200)
    sse = ((r[None, :] - rho * grid[:, None] ** (k[None, :] - 1)) ** 2).sum(axis=1)
    return float(grid[int(np.argmin(sse))])


def arma11_quadratic_form(g: np.ndarray, rho: float, phi: float) -> float:
    """``gᵀΩg`` with ``Ω_ii = 1`` and ``Ω_ij = ρ·φ^(|i−j|−1)`` (consecutive units), in O(n).

    ``φ = ρ`` is AR(1) (:func:`ar1_quadratic_form`).  ρ ≤ 0 is taken as 0, as in :func:`effective_n`.
    """
    g = np.asarray(g, float)
    if rho <= 0.0 or len(g) < 2:
        return float(g @ g)
    h = _ar1_filter(g, phi)[:-1]  # h_i = Σ_{j≤i} φ^{i−j} g_j, paired with g_{i+1}
    return float(g @ g + 2.0 * rho * (g[1:] @ h))


def ar1_quadratic_form(g: np.ndarray, rho: float) -> float:
    """``gᵀΩg`` with ``Ω_ij = ρ^|i−j|`` (AR(1) correlation of consecutive units), in O(n).

    With ``g`` all ones over m units this is the variance factor of a sum of m AR(1) terms,
    ``m(1+ρ)/(1−ρ) − 2ρ(1−ρᵐ)/(1−ρ)²`` (→ m·n/n′ for long sums: G14's autocorrelation correction).
    ρ ≤ 0 is taken as 0, as in :func:`effective_n`.
    """
    g = np.asarray(g, float)
    if rho <= 0.0:
        return float(g @ g)
    h = _ar1_filter(g, rho)  # h_i = Σ_{j≤i} ρ^{i−j} g_j
    return float(2.0 * (g @ h) - g @ g)


def ar1_sum_factor(m: int, rho: float) -> float:
    """``Σ_{i,j=1..m} ρ^|i−j| = m(1+ρ)/(1−ρ) − 2ρ(1−ρᵐ)/(1−ρ)²`` (ρ ≤ 0 → m)."""
    if rho <= 0.0:
        return float(m)
    return m * (1 + rho) / (1 - rho) - 2 * rho * (1 - rho ** m) / (1 - rho) ** 2


def aggregate_savings_uncertainty_kwh(
    res: UnitResiduals,
    noise_factor: float,
    leverage: float,
    bias_kwh: float,
    confidence: float,
) -> float:
    """Uncertainty (kWh, ± at ``confidence``) of savings summed over a reporting period.

    ``U = t(conf, n′ − p) · sqrt( σ²·(noise_factor + leverage·n/n′) + bias² )``

    * ``noise_factor`` = ``wᵀΩw``: the reporting units' noise, AR(1)-correlated (:func:`ar1_quadratic_form`
      of the units' weights: 1 a day, √days a billing period, the share of a day's hours with data);
    * ``leverage`` = ``x_Rᵀ(XᵀWX)⁻¹x_R`` (white-noise variance of the summed prediction, in units of σ²),
      inflated by n/n′ for autocorrelated baseline residuals as G14 Annex B does for its n′;
    * ``bias_kwh``: the day-type pattern of the baseline residuals summed over the reporting days (a known
      systematic error of the model, combined in quadrature as GUM does for an uncorrected bias);
    * ``t`` with n′ − p degrees of freedom (G14 Annex B).

    Sources: ASHRAE Guideline 14-2014 Annex B (n′ = n(1−ρ)/(1+ρ), t with n′ − p); Reddy & Claridge (2000),
    "Uncertainty of 'measured' energy savings from statistical baseline models", HVAC&R Research 6(1) (the
    exact variance of a sum of regression predictions); Koran et al. (2017), "A comparison of approaches to
    estimating the time-aggregated uncertainty of savings estimated from meter data", IEPEC (G14's
    approximation against the exact form for daily data).
    """
    n_eff = res.n_eff
    if not (n_eff > res.p) or not math.isfinite(res.sigma2):
        return math.nan
    t = t_value(confidence, n_eff - res.p)
    var = res.sigma2 * (noise_factor + leverage * res.variance_inflation) + bias_kwh * bias_kwh
    return t * math.sqrt(max(var, 0.0))


def daily_unit_terms(days, weights: np.ndarray, res: UnitResiduals, design: np.ndarray | None = None
                     ) -> tuple[float, float]:
    """Noise factor ``wᵀΩw`` and day-type bias (kWh) of reporting days with weights ``w`` (1 = a whole day).

    ``days`` are local days (any order, unique); gaps between them are kept (ρ^distance).  With the model's
    regressor rows of these days (``design``) and a joint fit in ``res`` (:func:`joint_day_type_fit`), the bias
    is ``Σ w·(design·δ + γ[type])``; else the day types' mean residuals summed.
    """
    idx = pd.DatetimeIndex(days)
    if len(idx) == 0:
        return 0.0, 0.0
    w = np.asarray(weights, float)
    if design is not None and res.joint_design_kwh:
        joint = np.asarray(design, float) @ np.asarray(res.joint_design_kwh)
        joint = joint + np.asarray(res.joint_day_type_kwh)[day_types(idx, res.school_holidays)]
        bias_joint = float(w @ joint)
    else:
        bias_joint = None
    order = np.argsort(idx.asi8)
    idx, w = idx[order], w[order]
    ordinal = (idx.tz_localize(None).normalize() - idx[0].tz_localize(None).normalize()).days.to_numpy()
    g = np.zeros(int(ordinal[-1]) + 1)
    np.add.at(g, ordinal, w)
    bias = 0.0
    if bias_joint is not None:
        bias = bias_joint
    elif res.day_type_kwh:
        bias = float(w @ np.asarray(res.day_type_kwh)[day_types(idx, res.school_holidays)])
    return arma11_quadratic_form(g, res.rho, res.decay), bias
