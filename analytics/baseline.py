"""Baseline models for IPMVP Option C: the CalTRACK daily change-point models.

CalTRACK 2.0 daily methods (§3.2-3.4), usage per day

    U = μ + β_H · HDD(T_bH) + β_C · CDD(T_bC)

with degree days from the daily mean outdoor temperature
(``HDD = max(0, T_bH − T)``, ``CDD = max(0, T − T_bC)``).  Four candidate
forms are fitted by ordinary least squares — intercept-only, HDD-only,
CDD-only and HDD+CDD — with the balance points searched over a grid (CalTRACK
2.0: 30-90 °F in 1 °F steps, here the same grid in °C; cooling ≥ heating for
the combined form).  A candidate qualifies when its slope coefficients are
strictly positive and its degree days are sufficient (≥ 10 days with non-zero
degree days and ≥ 20 °F·days = 11.1 K·days in total, CalTRACK §3.3.1.3);
the qualified candidate with the highest adjusted R² is the model.

Units: temperatures in °C, degree days in K·day, energy in kWh per day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.analytics.stats import (
    FitStatistics,
    UnitResiduals,
    arma11_quadratic_form,
    daily_unit_terms,
    day_type_basis,
    fit_statistics,
    period_calendar_days,
    unit_residuals_daily,
    unit_residuals_periods,
)

CALTRACK_BALANCE_POINTS_C: tuple[float, ...] = tuple((f - 32.0) * 5.0 / 9.0 for f in range(30, 91))
"""CalTRACK 2.0 balance-point grid: 30..90 °F in 1 °F steps, as °C."""

MIN_NONZERO_DEGREE_DAYS = 10
MIN_TOTAL_DEGREE_DAYS_K = 20.0 * 5.0 / 9.0  # 20 °F·day
KINDS = ("intercept_only", "hdd_only", "cdd_only", "hdd_cdd")


@dataclass(frozen=True)
class DailyModel:
    """A fitted CalTRACK daily model: kWh/day as a function of the daily mean temperature (°C)."""

    kind: str
    intercept_kwh_per_day: float
    beta_hdd_kwh_per_k_day: float = 0.0
    beta_cdd_kwh_per_k_day: float = 0.0
    heating_balance_c: float | None = None
    cooling_balance_c: float | None = None
    stats: FitStatistics | None = None
    # for the savings uncertainty: (XᵀWX)⁻¹ of the fit and the baseline residuals per unit (day or period)
    cov_unscaled: np.ndarray | None = field(default=None, compare=False, repr=False)
    residuals: UnitResiduals | None = field(default=None, compare=False, repr=False)

    @property
    def p(self) -> int:
        """Number of parameters, intercept included (balance points are not counted, as in CalTRACK)."""
        return 1 + (self.heating_balance_c is not None) + (self.cooling_balance_c is not None)

    @property
    def p_searched(self) -> int:
        """Parameters with the searched balance points counted, as ASHRAE's change-point models do (a 3P model
        has intercept, slope and change point; Kissock, Haberl & Claridge 2003, RP-1050): the residual variance
        and t of the savings uncertainty use it — with 12 billing periods the search fits the noise noticeably."""
        return 2 * self.p - 1

    def predict_kwh_per_day(self, temp_mean_c: np.ndarray) -> np.ndarray:
        t = np.asarray(temp_mean_c, float)
        y = np.full(t.shape, self.intercept_kwh_per_day)
        if self.heating_balance_c is not None:
            y = y + self.beta_hdd_kwh_per_k_day * np.maximum(0.0, self.heating_balance_c - t)
        if self.cooling_balance_c is not None:
            y = y + self.beta_cdd_kwh_per_k_day * np.maximum(0.0, t - self.cooling_balance_c)
        return np.where(np.isnan(t), np.nan, y)

    def weather_independent_kwh_per_day(self) -> float:
        return self.intercept_kwh_per_day

    def design(self, hdd_k: np.ndarray, cdd_k: np.ndarray | None = None) -> np.ndarray:
        """Regressor rows ``[1, HDD, CDD]`` (the model's own columns only) from degree days per day."""
        cols = [np.ones(len(hdd_k))]
        if self.heating_balance_c is not None:
            cols.append(np.asarray(hdd_k, float))
        if self.cooling_balance_c is not None:
            cols.append(np.asarray(cdd_k, float))
        return np.column_stack(cols)

    def degree_days(self, temp_mean_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """HDD and CDD per day at the model's balance points (zeros for a form without them)."""
        t = np.asarray(temp_mean_c, float)
        hdd = np.maximum(0.0, self.heating_balance_c - t) if self.heating_balance_c is not None else 0 * t
        cdd = np.maximum(0.0, t - self.cooling_balance_c) if self.cooling_balance_c is not None else 0 * t
        return hdd, cdd

    def uncertainty_terms(self, rows: pd.DataFrame, valid: np.ndarray) -> tuple[float, float, float]:
        """``(noise_factor, leverage, bias_kWh)`` of the reporting rows ``rows[valid]`` for
        :func:`~energimon.analytics.stats.aggregate_savings_uncertainty_kwh`.

        Day rows (CalTRACK daily): ``x_R = Σ_days [1, HDD, CDD]``, ``leverage = x_Rᵀ(XᵀX)⁻¹x_R``, the noise
        of the days AR(1)-correlated day to day.  Month rows (CalTRACK billing, columns ``days``,
        ``model_hdd_k``, ``model_cdd_k`` = the month's mean degree days per day): ``x_R = Σ_months days·[1,
        HDD̄, CDD̄]`` with the WLS ``(XᵀWX)⁻¹``, and a month's noise weight √days.
        """
        r = rows[valid]
        if self.residuals is not None and self.residuals.unit == "period":
            d = r["days"].to_numpy(float)
            x = self.design(r["model_hdd_k"].to_numpy(float), r["model_cdd_k"].to_numpy(float)) * d[:, None]
            x_r = x.sum(axis=0)
            idx = pd.DatetimeIndex(r.index)
            months = (idx.year * 12 + idx.month).to_numpy()
            g = np.zeros(int(months.max() - months.min()) + 1) if len(months) else np.zeros(0)
            g[months - months.min()] = np.sqrt(d)
            noise = arma11_quadratic_form(g, self.residuals.rho, self.residuals.decay)
            bias = 0.0
            if self.residuals.calendar_share:  # the calendar's days of the reporting periods against the baseline's
                c = period_calendar_days(idx, d, self.residuals.school_holidays)
                excess = c - d[:, None] * np.asarray(self.residuals.calendar_share)[None, :]
                bias = float(excess.sum(axis=0) @ np.asarray(self.residuals.day_type_kwh)
                             + x_r @ np.asarray(self.residuals.joint_design_kwh))
            return noise, float(x_r @ self.cov_unscaled @ x_r), bias
        hdd, cdd = self.degree_days(r["temp_mean_c"].to_numpy())
        x = self.design(hdd, cdd)
        x_r = x.sum(axis=0)
        if self.residuals is None:
            raise ValueError("the daily model has no baseline residuals: fit it with fit_caltrack_daily")
        noise, bias = daily_unit_terms(r.index, np.ones(len(r)), self.residuals, x)
        return noise, float(x_r @ self.cov_unscaled @ x_r), bias


@dataclass(frozen=True)
class Candidate:
    kind: str
    heating_balance_c: float | None
    cooling_balance_c: float | None
    r2_adj: float
    qualified: bool
    reason: str = ""


@dataclass(frozen=True)
class DailyFit:
    model: DailyModel
    candidates: list[Candidate] = field(default_factory=list)

    def best_of(self, kind: str) -> Candidate | None:
        """Best qualified candidate of one form (for the report's model summary)."""
        cs = [c for c in self.candidates if c.kind == kind and c.qualified]
        return max(cs, key=lambda c: c.r2_adj) if cs else None


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares coefficients and SSE via the normal equations (X has few columns)."""
    xtx = X.T @ X
    try:
        beta = np.linalg.solve(xtx, X.T @ y)
    except np.linalg.LinAlgError:
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    return beta, float(r @ r)


def _dd_sufficient(dd: np.ndarray, min_nonzero_days: int = MIN_NONZERO_DEGREE_DAYS) -> str:
    """CalTRACK §3.2.2.2: at least ``min_nonzero_days`` days with degree days and 20 °F·day in all."""
    nonzero = int(np.count_nonzero(dd > 0))
    if nonzero < min_nonzero_days:
        return f"{nonzero} days with degree days (< {min_nonzero_days})"
    if float(dd.sum()) < MIN_TOTAL_DEGREE_DAYS_K:
        return f"{dd.sum():.1f} K·day in total (< {MIN_TOTAL_DEGREE_DAYS_K:.1f})"
    return ""


def fit_caltrack_daily(
    temp_mean_c: np.ndarray,
    usage_kwh_per_day: np.ndarray,
    heating_balance_points_c: tuple[float, ...] = CALTRACK_BALANCE_POINTS_C,
    cooling_balance_points_c: tuple[float, ...] = CALTRACK_BALANCE_POINTS_C,
    days: pd.DatetimeIndex | None = None,
    school_holidays: frozenset[dt.date] = frozenset(),
) -> DailyFit:
    """Fit the four CalTRACK daily candidate forms and select by adjusted R² (CalTRACK 2.0 §3.4).

    Days where temperature or usage is NaN are left out.  Returns the selected
    model with its G14 fit statistics (per day, in time order) and every candidate tried.
    ``days`` (the local days of the inputs) lets the savings uncertainty tell weekdays and Danish
    holidays apart in the residuals (:func:`~energimon.analytics.stats.unit_residuals_daily`), and the site's
    ``school_holidays`` (its calendar's) the weekdays in them.
    """
    t_all = np.asarray(temp_mean_c, float)
    y_all = np.asarray(usage_kwh_per_day, float)
    ok = ~(np.isnan(t_all) | np.isnan(y_all))
    t, y = t_all[ok], y_all[ok]
    if len(y) < 3:
        raise ValueError(f"need at least 3 days with both usage and temperature, got {len(y)}")
    hdd = {bp: np.maximum(0.0, bp - t) for bp in heating_balance_points_c}
    cdd = {bp: np.maximum(0.0, t - bp) for bp in cooling_balance_points_c}
    kind, hb, cb, beta, candidates = _select(y, np.ones(len(y)), hdd, cdd, hdd, cdd)
    model = _model(kind, hb, cb, beta)
    pred = model.predict_kwh_per_day(t)
    stats = fit_statistics(y, pred, model.p)
    X = model.design(*model.degree_days(t))
    res = unit_residuals_daily(y - pred, None if days is None else pd.DatetimeIndex(days)[ok], model.p_searched,
                               design=X, school_holidays=school_holidays)
    return DailyFit(_model(kind, hb, cb, beta, stats, _inverse(X.T @ X), res), candidates)


def day_type_daily_basis(temp_mean_c: np.ndarray, usage_kwh_per_day: np.ndarray, types: np.ndarray,
                         balance_points_c: tuple[float, ...] = CALTRACK_BALANCE_POINTS_C) -> np.ndarray:
    """Orthonormal basis of the CalTRACK daily design whose balance points are searched *with* the day types
    (:data:`~energimon.analytics.stats.DAY_TYPES` indices ``types``) in the fit, and of those day types.

    The CalTRACK daily model has no day-type term, so its balance-point search takes up what the calendar does: a
    sports hall that is quiet in the summer holidays gets a heating balance point several kelvin too high, and the
    wrong heating curve leaves a misfit that follows the weather — persistent, as the weather is.  Its residuals
    are right for its own savings uncertainty (the day types are removed afterwards, with the model's columns),
    but a *decay* read from them overstates the noise's persistence (bench/README.md, calibration: the sports
    hall's hourly intervals at ρ = 0.4).  Here the same candidate forms, grid, sufficiency rules and selection by
    adjusted R² (:func:`_select`) are fitted jointly with the day types by partialling them out first
    (Frisch-Waugh-Lovell: the residual sum of squares of ``[day types, HDD, CDD]`` on ``y`` is that of the
    partialled-out HDD and CDD on the partialled-out ``y``).  Days with NaN are the caller's to leave out.
    """
    t = np.asarray(temp_mean_c, float)
    y = np.asarray(usage_kwh_per_day, float)
    onehot = (np.asarray(types)[:, None] == np.unique(types)[None, :]).astype(float)
    q = np.linalg.qr(onehot)[0]  # the day types' columns are disjoint indicators: full rank

    def partial(v: np.ndarray) -> np.ndarray:
        return v - q @ (q.T @ v)

    hdd = {bp: np.maximum(0.0, bp - t) for bp in balance_points_c}
    cdd = {bp: np.maximum(0.0, t - bp) for bp in balance_points_c}
    # _select's intercept must come out non-negative: the partialled-out y has mean zero, so it is lifted by a
    # constant, which the intercept takes and no slope or residual sees
    lifted = partial(y) + 1.0 + abs(float(np.mean(y)))
    _, hb, cb, _, _ = _select(lifted, np.ones(len(y)), {bp: partial(x) for bp, x in hdd.items()},
                              {bp: partial(x) for bp, x in cdd.items()}, hdd, cdd)
    cols = [x for x in (hdd[hb] if hb is not None else None, cdd[cb] if cb is not None else None) if x is not None]
    return day_type_basis(np.column_stack([np.ones(len(y)), *cols]), np.asarray(types))


def _inverse(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)


def _model(kind, hb, cb, beta, stats=None, cov=None, residuals=None) -> DailyModel:
    b_h = float(beta[1]) if hb is not None else 0.0
    b_c = float(beta[-1]) if cb is not None else 0.0
    return DailyModel(kind, float(beta[0]), b_h, b_c, hb, cb, stats, cov, residuals)


def _select(y: np.ndarray, w: np.ndarray, hdd: dict, cdd: dict, hdd_days: dict, cdd_days: dict,
            min_nonzero_days: int = MIN_NONZERO_DEGREE_DAYS):
    """Weighted least squares over every candidate; the qualified one with the best adjusted R² wins.

    ``hdd``/``cdd`` map a balance point to the regressor per observation (degree days per day,
    or a billing period's mean degree days per day); ``hdd_days``/``cdd_days`` map it to the
    degree days per *day* used for the sufficiency test.  ``w`` are the weights (days per period).
    A candidate qualifies with positive slopes and a non-negative intercept (CalTRACK §3.4.3.2:
    a negative base load is not physical, however well it fits).
    """
    n = len(y)
    sw = np.sqrt(w)
    y_mean = float(np.sum(w * y) / np.sum(w))
    sst = float(np.sum(w * (y - y_mean) ** 2))
    ones = np.ones(n)

    def r2_adj(sse: float, p: int) -> float:
        r2 = 1.0 - sse / sst if sst > 0 else 0.0
        return 1.0 - (1.0 - r2) * (n - 1) / (n - p) if n > p else -math.inf

    candidates: list[Candidate] = [Candidate("intercept_only", None, None, 0.0, True)]
    # (adjusted R², kind, heating and cooling balance points, coefficients: None until the winner is refitted)
    best: tuple[float, str, float | None, float | None, np.ndarray | None] = (
        0.0, "intercept_only", None, None, np.array([y_mean]))
    suff_h = {bp: _dd_sufficient(x, min_nonzero_days) for bp, x in hdd_days.items()}
    suff_c = {bp: _dd_sufficient(x, min_nonzero_days) for bp, x in cdd_days.items()}

    def consider(kind, hb, cb, cols, reasons):
        nonlocal best
        reasons = [r for r in reasons if r]
        if reasons:
            candidates.append(Candidate(kind, hb, cb, math.nan, False, "; ".join(reasons)))
            return
        X = np.column_stack([ones, *cols])
        beta, sse = _ols(X * sw[:, None], y * sw)
        score = r2_adj(sse, X.shape[1])
        if np.any(beta[1:] <= 0):
            candidates.append(Candidate(kind, hb, cb, score, False, "coefficient not positive"))
            return
        if beta[0] < 0:
            candidates.append(Candidate(kind, hb, cb, score, False, "intercept negative"))
            return
        candidates.append(Candidate(kind, hb, cb, score, True))
        if score > best[0] + 1e-12 * abs(best[0]):  # a tie goes to the first tried (as in _scores_all's use)
            best = (score, kind, hb, cb, beta)

    try:
        scored = _scores_all(y, w, hdd, cdd, suff_h, suff_c, r2_adj)
    except np.linalg.LinAlgError:  # a singular candidate somewhere: fit them one by one
        scored = None
    if scored is None:
        for hb, x in hdd.items():
            consider("hdd_only", hb, None, [x], [suff_h[hb]])
        for cb, x in cdd.items():
            consider("cdd_only", None, cb, [x], [suff_c[cb]])
        for hb, xh in hdd.items():
            for cb, xc in cdd.items():
                if cb >= hb:
                    consider("hdd_cdd", hb, cb, [xh, xc], [suff_h[hb], suff_c[cb]])
    else:
        winner = None
        for kind, hb, cb, score, reason in scored:
            candidates.append(Candidate(kind, hb, cb, score, not reason, reason))
            # a tie (e.g. two heating balance points above every day's temperature give the same fit) goes to
            # the first one tried, whatever the last bits of rounding say
            if not reason and score > best[0] + 1e-12 * abs(best[0]):
                best, winner = (score, kind, hb, cb, None), (kind, hb, cb)
        if winner is not None:  # the winner's coefficients exactly as one fit computes them
            kind, hb, cb = winner
            cols = [x for x in (hdd.get(hb) if hb is not None else None, cdd.get(cb) if cb is not None else None)
                    if x is not None]
            X = np.column_stack([ones, *cols])
            beta, _ = _ols(X * sw[:, None], y * sw)
            best = (best[0], kind, hb, cb, beta)
    _, kind, hb, cb, coef = best
    if coef is None:  # the grid path leaves the winner's coefficients to its refit above, which always runs
        raise RuntimeError(f"the selected {kind} candidate was not refitted")
    return kind, hb, cb, coef, candidates


def _scores_all(y: np.ndarray, w: np.ndarray, hdd: dict, cdd: dict, suff_h: dict, suff_c: dict, r2_adj):
    """Every candidate of the grid at once: the weighted normal equations of all of them come from a few sums
    and one matrix product (Σw·x_H·x_C for every pair of balance points), solved as a stack of 2×2 and 3×3
    systems — the same least squares as fitting them one by one (:func:`_ols`), ~2,000 fits in milliseconds.

    Returns ``(kind, hb, cb, adjusted R², why not qualified)`` in the order the one-by-one loop tries them.
    """
    n = len(y)
    hb_list, cb_list = list(hdd), list(cdd)
    H = np.column_stack([hdd[b] for b in hb_list]) if hb_list else np.empty((n, 0))
    C = np.column_stack([cdd[b] for b in cb_list]) if cb_list else np.empty((n, 0))
    wH, wC = H * w[:, None], C * w[:, None]
    s1, sy, syy = float(w.sum()), float(w @ y), float(w @ (y * y))
    sh, shh, shy = wH.sum(0), (wH * H).sum(0), wH.T @ y
    sc, scc, scy = wC.sum(0), (wC * C).sum(0), wC.T @ y
    shc = wH.T @ C
    r2_of = np.frompyfunc(r2_adj, 2, 1)

    def solved(m: np.ndarray, rhs: np.ndarray, reasons: list[str], p: int) -> tuple[list, list]:
        """Scores and reasons; only candidates with enough degree days are solved (an all-zero column would
        make the system singular; they are not fitted, as one by one)."""
        fit = np.array([not r for r in reasons], bool)
        beta = np.full(rhs.shape, np.nan)
        if fit.any():
            beta[fit] = np.linalg.solve(m[fit], rhs[fit][..., None])[..., 0]
        sse = syy - np.einsum("ij,ij->i", beta, rhs)
        scores = np.where(fit, r2_of(sse, p).astype(float), np.nan)
        slopes_ok = np.all(beta[:, 1:] > 0, axis=1)
        base_ok = beta[:, 0] >= 0
        out = [r if r else ("" if ok_s and ok_b else "coefficient not positive" if not ok_s else "intercept negative")
               for r, ok_s, ok_b in zip(reasons, slopes_ok.tolist(), base_ok.tolist(), strict=True)]
        return scores.tolist(), out

    def system2(a: np.ndarray, aa: np.ndarray, ay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.empty((len(a), 2, 2))
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = s1, a, a, aa
        return m, np.stack([np.full(len(a), sy), ay], axis=1)

    out = []
    if hb_list:
        scores, why = solved(*system2(sh, shh, shy), [suff_h[b] for b in hb_list], 2)
        out += [("hdd_only", b, None, sc_, r) for b, sc_, r in zip(hb_list, scores, why, strict=True)]
    if cb_list:
        scores, why = solved(*system2(sc, scc, scy), [suff_c[b] for b in cb_list], 2)
        out += [("cdd_only", None, b, sc_, r) for b, sc_, r in zip(cb_list, scores, why, strict=True)]
    if hb_list and cb_list:
        ii, jj = np.nonzero(np.array(cb_list)[None, :] >= np.array(hb_list)[:, None])
        m = np.empty((len(ii), 3, 3))
        m[:, 0, 0] = s1
        m[:, 0, 1] = m[:, 1, 0] = sh[ii]
        m[:, 0, 2] = m[:, 2, 0] = sc[jj]
        m[:, 1, 1] = shh[ii]
        m[:, 1, 2] = m[:, 2, 1] = shc[ii, jj]
        m[:, 2, 2] = scc[jj]
        rhs = np.stack([np.full(len(ii), sy), shy[ii], scy[jj]], axis=1)
        pairs = [(hb_list[i], cb_list[j]) for i, j in zip(ii.tolist(), jj.tolist(), strict=True)]
        reasons = ["; ".join(r for r in (suff_h[hb], suff_c[cb]) if r) if (suff_h[hb] or suff_c[cb]) else ""
                   for hb, cb in pairs]
        scores, why = solved(m, rhs, reasons, 3)
        out += [("hdd_cdd", hb, cb, sc_, r) for (hb, cb), sc_, r in zip(pairs, scores, why, strict=True)]
    return out


@dataclass(frozen=True)
class BillingFit:
    """A CalTRACK billing model: kWh/day per period by weighted least squares (weights: days per period)."""

    model: DailyModel  # coefficients per day; stats are on the periods' total kWh
    candidates: list[Candidate]
    period_days: np.ndarray
    period_kwh: np.ndarray
    predicted_kwh: np.ndarray


def fit_caltrack_billing(
    daily_temp_c: pd.Series,
    periods: list[tuple[pd.Timestamp, pd.Timestamp, float]],
    heating_balance_points_c: tuple[float, ...] = CALTRACK_BALANCE_POINTS_C,
    cooling_balance_points_c: tuple[float, ...] = CALTRACK_BALANCE_POINTS_C,
    school_holidays: frozenset[dt.date] = frozenset(),
) -> BillingFit:
    """CalTRACK 2.0 billing (monthly) method: usage per day of each billing period against the period's
    mean daily degree days, fitted by weighted least squares with the number of days as weights (CalTRACK
    §3.2-3.4 for billing data).  ``periods`` are ``(start, end_exclusive, kWh)`` in local days;
    ``daily_temp_c`` the daily mean temperatures indexed by local day.  The G14 statistics are computed
    on the periods' totals (kWh per period, ``n`` = number of periods).  The savings uncertainty takes the
    periods' public holidays and the site calendar's ``school_holidays`` apart from the noise
    (:func:`~energimon.analytics.stats.unit_residuals_periods`).
    """
    days_idx = pd.DatetimeIndex(daily_temp_c.index)
    t_all = daily_temp_c.to_numpy(float)
    rows = []
    for start, end, kwh in periods:
        inside = (days_idx >= start) & (days_idx < end) & ~np.isnan(t_all)
        n_days = int((end.tz_localize(None) - start.tz_localize(None)) / pd.Timedelta(days=1))
        if inside.sum() < 0.9 * n_days or not np.isfinite(kwh):
            continue  # a period without enough temperature data (or usage) is left out
        rows.append((inside, n_days, kwh, start))
    if len(rows) < 3:
        raise ValueError(f"need at least 3 billing periods with usage and temperature, got {len(rows)}")
    w = np.array([r[1] for r in rows], float)
    y = np.array([r[2] / r[1] for r in rows])

    def per_period(fn, bps):
        reg, daily = {}, {}
        for bp in bps:
            dd = fn(bp)
            reg[bp] = np.array([dd[r[0]].mean() for r in rows])
            daily[bp] = np.concatenate([dd[r[0]] for r in rows])
        return reg, daily

    hdd, hdd_days = per_period(lambda bp: np.maximum(0.0, bp - t_all), heating_balance_points_c)
    cdd, cdd_days = per_period(lambda bp: np.maximum(0.0, t_all - bp), cooling_balance_points_c)
    # §3.2.2.2.1 (10 days with degree days) "does not apply when using billing data"; the 20 °F·day total does
    kind, hb, cb, beta, candidates = _select(y, w, hdd, cdd, hdd_days, cdd_days, min_nonzero_days=0)
    m = _model(kind, hb, cb, beta)
    pred_per_day = np.full(len(rows), m.intercept_kwh_per_day)
    if hb is not None:
        pred_per_day += m.beta_hdd_kwh_per_k_day * hdd[hb]
    if cb is not None:
        pred_per_day += m.beta_cdd_kwh_per_k_day * cdd[cb]
    y_kwh, pred_kwh = y * w, pred_per_day * w
    X = m.design(hdd[hb] if hb is not None else 0 * w, cdd[cb] if cb is not None else 0 * w)
    cov = _inverse(X.T @ (X * w[:, None]))  # (XᵀWX)⁻¹: per-day noise σ², a period's mean has σ²/days
    calendar = period_calendar_days([r[3] for r in rows], w, school_holidays)
    res = unit_residuals_periods(y_kwh - pred_kwh, w, m.p_searched, X, calendar, school_holidays)
    return BillingFit(_model(kind, hb, cb, beta, fit_statistics(y_kwh, pred_kwh, m.p), cov, res), candidates, w,
                      y_kwh, pred_kwh)
