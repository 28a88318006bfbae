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
  with ``m`` reporting points and ``F = E_save / E_baseline`` the savings fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sp

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
    return float(_sp.t.ppf(0.5 + confidence / 2.0, dof))


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
