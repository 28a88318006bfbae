"""CalTRACK hourly: the time-of-week-and-temperature (TOWT) model with monthly weighted segments.

CalTRACK 2.0 hourly methods (after LBNL's TOWT, Mathieu et al. 2011):

* **time of week**: one indicator per hour of the week (168), in local time;
* **temperature**: a piecewise-linear basis with knots at 30, 45, 55, 65, 75, 90 °F
  (here in °C); a bin with fewer than 20 hours of data is merged with its neighbour;
* **occupancy**: a preliminary fit ``U ~ 1 + HDD(50 °F) + CDD(65 °F)`` per hour; an hour of
  the week is *occupied* when more than 65 % of its residuals are positive; occupied and
  unoccupied hours get their own temperature slopes, each on its own bins (the 20 hours are counted
  among that state's hours, as eemeter 4.x does);
* **segmentation**: one model per calendar month, fitted by weighted least squares on that
  month (weight 1) and the two neighbouring months (weight 0.5) — "three-month weighted".

Units: kWh per hour, °C.  Pure functions on pandas objects indexed by local hour start.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.analytics.baseline import day_type_daily_basis
from energimon.analytics.stats import (
    FitStatistics,
    UnitResiduals,
    daily_unit_terms,
    day_types,
    fit_statistics,
    projected_noise_parameters,
    unit_residuals_absorbed,
    unit_residuals_daily,
)
from energimon.calendar import day_hours
from energimon.model import LOCAL_TZ

TOWT_KNOTS_C: tuple[float, ...] = tuple((f - 32.0) * 5.0 / 9.0 for f in (30, 45, 55, 65, 75, 90))
MIN_HOURS_PER_BIN = 20
OCCUPANCY_THRESHOLD = 0.65
NEIGHBOUR_WEIGHT = 0.5


def hour_of_week(index: pd.DatetimeIndex) -> np.ndarray:
    """0..167 (Monday 00-01 = 0) in Danish local time."""
    local = index.tz_convert(LOCAL_TZ)
    return (local.day_of_week.to_numpy() * 24 + local.hour.to_numpy()).astype(int)


def merge_sparse_knots(temp_c: np.ndarray, knots: tuple[float, ...],
                       min_hours: int = MIN_HOURS_PER_BIN) -> list[float]:
    """Drop knots until every temperature bin holds at least ``min_hours`` observations (CalTRACK §3.8)."""
    ks = list(knots)
    changed = True
    while changed and ks:
        changed = False
        edges = [-np.inf, *ks, np.inf]
        counts = np.histogram(temp_c, bins=edges)[0]
        for i, c in enumerate(counts):
            if c < min_hours:
                # merge the sparse bin with its neighbour by removing the knot between them
                del ks[min(i, len(ks) - 1)]
                changed = True
                break
    return ks


def temperature_basis(temp_c: np.ndarray, knots: list[float]) -> np.ndarray:
    """Piecewise-linear segments: ``min(T, k1)``, ``clip(T − k_{i−1}, 0, k_i − k_{i−1})``, ``max(0, T − k_n)``."""
    t = np.asarray(temp_c, float)
    if not knots:
        return t[:, None]
    cols = [np.minimum(t, knots[0])]
    for lo, hi in itertools.pairwise(knots):
        cols.append(np.clip(t - lo, 0.0, hi - lo))
    cols.append(np.maximum(0.0, t - knots[-1]))
    return np.column_stack(cols)


def occupied_hours_of_week(usage_kwh: np.ndarray, temp_c: np.ndarray, how: np.ndarray,
                           weights: np.ndarray) -> np.ndarray:
    """168 booleans: hours of the week whose residuals from ``U ~ 1 + HDD50F + CDD65F`` are > 65 % positive."""
    X = np.column_stack([np.ones(len(temp_c)), np.maximum(0.0, 10.0 - temp_c), np.maximum(0.0, temp_c - 18.333)])
    sw = np.sqrt(weights)
    beta = np.linalg.lstsq(X * sw[:, None], usage_kwh * sw, rcond=None)[0]
    positive = (usage_kwh - X @ beta) > 0
    occ = np.zeros(168, bool)
    for h in range(168):
        sel = how == h
        if sel.any():
            occ[h] = positive[sel].mean() > OCCUPANCY_THRESHOLD
    return occ


@dataclass
class TowtSegment:
    month: int
    knots: list[float]  # temperature knots of the occupied hours' slopes
    occupied: np.ndarray  # 168 bool
    coef: np.ndarray  # 168 time-of-week + occupied temperature + unoccupied temperature
    knots_unoccupied: list[float] | None = None  # the unoccupied hours' knots (None: the same as ``knots``)
    rank: int = 0  # parameters the data could determine (for p in the G14 statistics)
    gram_pinv: np.ndarray | None = field(default=None, repr=False)  # (XᵀWX)⁺ of the fit (savings uncertainty)
    day_design: np.ndarray | None = field(default=None, repr=False)  # per baseline day: mean of w·x over its hours
    days: np.ndarray | None = field(default=None, repr=False)  # the baseline day numbers of day_design's rows

    def design(self, how: np.ndarray, temp_c: np.ndarray) -> np.ndarray:
        tow = np.zeros((len(how), 168))
        tow[np.arange(len(how)), how] = 1.0
        occ = self.occupied[how][:, None]
        unoccupied_knots = self.knots if self.knots_unoccupied is None else self.knots_unoccupied
        return np.hstack([tow, temperature_basis(temp_c, self.knots) * occ,
                          temperature_basis(temp_c, unoccupied_knots) * ~occ])


@dataclass
class TowtModel:
    segments: dict[int, TowtSegment] = field(default_factory=dict)
    stats: FitStatistics | None = None
    kind: str = "towt_hourly"
    baseline_days: int = 0  # local days spanned by the baseline (for the savings uncertainty)
    residuals: UnitResiduals | None = field(default=None, repr=False)  # per local day (hourly residuals summed)
    day_hat: np.ndarray | None = field(default=None, repr=False)  # H_D: baseline day sums' hat matrix (days × days)

    @property
    def p(self) -> int:
        """Parameters per segment (the mean rank of the monthly fits), as used in the G14 statistics."""
        return self.stats.p if self.stats is not None else 1

    @property
    def occupied_hours(self) -> int:
        """Occupied hours of the week, averaged over the monthly segments."""
        return round(float(np.mean([s.occupied.sum() for s in self.segments.values()]))) if self.segments else 0

    def predict_kwh(self, index: pd.DatetimeIndex, temp_c: np.ndarray) -> np.ndarray:
        """kWh per hour for hour starts ``index`` at temperatures ``temp_c`` (NaN where temperature is)."""
        how = hour_of_week(index)
        months = index.tz_convert(LOCAL_TZ).month.to_numpy()
        t = np.asarray(temp_c, float)
        out = np.full(len(index), np.nan)
        ok = ~np.isnan(t)
        for m, seg in self.segments.items():
            sel = ok & (months == m)
            if sel.any():
                out[sel] = seg.design(how[sel], t[sel]) @ seg.coef
        return out

    def uncertainty_terms(self, rows: pd.DataFrame, valid: np.ndarray) -> tuple[float, float, float]:
        """``(noise_factor, leverage, bias_kWh)`` of the reporting hours ``rows[valid]`` (index: hour starts,
        column ``temp_mean_c``) for :func:`~energimon.analytics.stats.aggregate_savings_uncertainty_kwh`,
        in units of a day (the residuals are summed per local day, :func:`fit_towt_hourly`).

        The summed prediction is linear in the baseline use, ``Σ_R ŷ = gᵀy``: each segment contributes
        ``g = W X (XᵀWX)⁺ c`` over its weighted baseline hours, ``c`` the sum of its reporting design rows
        (neighbouring segments share baseline hours, so their errors add up correlated, as they should).
        With day-level residuals ``g`` is averaged per baseline day: ``leverage = Σ_days ḡ²``.  The noise
        counts each reporting day by its share of hours with data.
        """
        res = self.residuals
        if res is None:
            raise ValueError("the TOWT model has no baseline residuals: fit it with fit_towt_hourly")
        idx = pd.DatetimeIndex(rows.index)
        local = idx.tz_convert(LOCAL_TZ)
        how, months = hour_of_week(idx), local.month.to_numpy()
        t = rows["temp_mean_c"].to_numpy(float)
        g_day = np.zeros(self.baseline_days)
        for m, seg in self.segments.items():
            sel = valid & (months == m)
            if not sel.any() or seg.gram_pinv is None:
                continue
            v = seg.gram_pinv @ seg.design(how[sel], t[sel]).sum(axis=0)
            g_day[seg.days] += seg.day_design @ v  # ḡ per baseline day (mean over its hours) of W X v
        leverage = float(g_day @ g_day)
        day = local.normalize()
        counts = pd.Series(valid.astype(float), index=day).groupby(level=0)
        share = counts.sum() / counts.size()
        share = share[share > 0]
        noise, bias = daily_unit_terms(share.index, share.to_numpy(), res)
        return noise, leverage, bias


def _segment_weights(months: np.ndarray, m: int) -> np.ndarray:
    """Three-month weighting of CalTRACK hourly: 1 for month ``m``, 0.5 for its neighbours, else 0."""
    prev_m, next_m = (m - 2) % 12 + 1, m % 12 + 1
    return np.where(months == m, 1.0, np.where((months == prev_m) | (months == next_m), NEIGHBOUR_WEIGHT, 0.0))


def _weighted_lstsq(X: np.ndarray, y: np.ndarray, sqrt_w: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Minimum-norm weighted least squares through the (small) normal equations.

    ``pinv(XᵀWX)·XᵀWy = pinv(W½X)·W½y``, so this is the same solution as ``lstsq`` on the
    tall system (rank-deficient designs included: hours of the week without data), about
    30 times faster for 2,000 × 180 designs.
    """
    Xw = X * sqrt_w[:, None]
    gram = Xw.T @ Xw
    # the pseudo-inverse with lstsq's default cut-off: the same minimum-norm solution, and (XᵀWX)⁺ is kept
    # for the savings uncertainty
    u, sv, vt = np.linalg.svd(gram, hermitian=True)
    keep = sv > np.finfo(float).eps * max(gram.shape) * (sv[0] if len(sv) else 0.0)
    pinv = (vt[keep].T / sv[keep]) @ u[:, keep].T
    return pinv @ (Xw.T @ (y * sqrt_w)), int(keep.sum()), pinv


def fit_towt_hourly(usage_kwh: pd.Series, temp_c: pd.Series,
                    school_holidays: frozenset[dt.date] = frozenset()) -> TowtModel:
    """Fit the CalTRACK hourly TOWT model (12 three-month-weighted segments) on hourly data.

    ``usage_kwh`` and ``temp_c`` share an hourly index (hour starts, any zone); hours with
    NaN in either are left out.  A month without data gets no segment (no prediction).  ``school_holidays``
    (the site calendar's) are day types of their own in the savings uncertainty
    (:data:`~energimon.analytics.stats.DAY_TYPES`).
    """
    df = pd.DataFrame({"u": usage_kwh, "t": temp_c}).dropna()
    idx = pd.DatetimeIndex(df.index)
    how = hour_of_week(idx)
    local = idx.tz_convert(LOCAL_TZ)
    months = local.month.to_numpy()
    u, t = df["u"].to_numpy(), df["t"].to_numpy()
    day = local.normalize()
    day_no = ((day.tz_localize(None) - day[0].tz_localize(None)).days.to_numpy() if len(day)
              else np.zeros(0, int))
    model = TowtModel(baseline_days=int(day_no.max()) + 1 if len(day_no) else 0)
    hours_per_day = np.bincount(day_no, minlength=model.baseline_days)
    pred = np.full(len(df), np.nan)
    # day-level hat matrix: H_D[d, d′] = change of day d's predicted sum per kWh of noise spread over day d′
    # (a_dᵀ (XᵀWX)⁺ b_d′, a_d = Σ of day d's own-month design rows, b_d′ = day d′'s mean of w·x)
    day_hat = np.zeros((model.baseline_days, model.baseline_days))
    for m in range(1, 13):
        w = _segment_weights(months, m)
        sel = w > 0
        if not (months == m).any():
            continue
        occ = occupied_hours_of_week(u[sel], t[sel], how[sel], w[sel])
        # CalTRACK §3.8's 20 hours per temperature bin, counted for each slope the bin gets: the occupied and
        # the unoccupied hours have their own slopes, and counted together (as eemeter does) an unoccupied
        # top bin can rest on a handful of warm nights and extrapolate wildly in a warmer reporting summer
        # (bench/README.md, calibration: one August of the sports hall +6,454 kWh on a slope of 130 kWh/K·h)
        occupied_hour = occ[how[sel]]
        seg = TowtSegment(m, merge_sparse_knots(t[sel][occupied_hour], TOWT_KNOTS_C), occ, np.zeros(0),
                          merge_sparse_knots(t[sel][~occupied_hour], TOWT_KNOTS_C))
        X = seg.design(how[sel], t[sel])
        sw = np.sqrt(w[sel])
        seg.coef, seg.rank, pinv = _weighted_lstsq(X, u[sel], sw)
        seg.gram_pinv = pinv
        seg_days = day_no[sel]  # time order: each day's hours are consecutive
        starts = np.flatnonzero(np.r_[True, seg_days[1:] != seg_days[:-1]])
        seg.days = seg_days[starts]
        seg.day_design = np.add.reduceat(X * w[sel][:, None], starts, axis=0) / hours_per_day[seg.days][:, None]
        model.segments[m] = seg
        own = months == m
        X_own = seg.design(how[own], t[own])
        pred[own] = X_own @ seg.coef
        own_days = day_no[own]
        own_starts = np.flatnonzero(np.r_[True, own_days[1:] != own_days[:-1]])
        day_hat[np.ix_(own_days[own_starts], seg.days)] += (
            np.add.reduceat(X_own, own_starts, axis=0) @ pinv @ seg.day_design.T)
    p = round(float(np.mean([s.rank for s in model.segments.values()]))) if model.segments else 1
    model.stats = fit_statistics(u, pred, p)
    model.day_hat = day_hat
    model.residuals = _daily_residuals(u - pred, day, day_hat, school_holidays,
                                       day_noise_decay(u, t, day, school_holidays))
    return model


def day_noise_decay(usage_kwh: np.ndarray, temp_c: np.ndarray, day: pd.DatetimeIndex,
                    school_holidays: frozenset[dt.date] = frozenset()) -> float | None:
    """How fast the day-level noise's persistence decays (φ; None: no persistence found), from a daily model of
    the baseline's day sums and day-mean temperatures: CalTRACK daily's forms and balance-point search, fitted
    jointly with the day types (:func:`~energimon.analytics.baseline.day_type_daily_basis`; the site calendar's
    school holidays always among them), and φ by :func:`~energimon.analytics.stats.projected_noise_parameters`.

    TOWT's own residuals cannot show it: twelve month segments of ~180 parameters on ~13 weighted weeks each take
    up the slow tail of a persistent noise, so the decay its residuals show is far below the noise's — the year
    intervals came out too narrow at ρ = 0.8 in every calibration building — and matching φ by moments through
    TOWT's hat matrix overshoots on the persistent misfit the segments' compromise leaves on noise-free years
    (bench/README.md, calibration).  A daily model takes up little of a slow noise (a few parameters on a year of
    days).  It must not take up the calendar either: the plain CalTRACK daily model, whose balance points absorb a
    summer-holiday dip, leaves a weather-following misfit that reads as persistence (a sports hall at ρ = 0.4 got
    φ ≈ 0.6-0.8 and year intervals too wide).  Only the decay is taken from it: σ² and ρ stay TOWT's own (by
    moments through its hat matrix), so that a building whose use a daily model fits badly — heating only in
    opening hours, say — is not given that model's larger misfit as noise.  A day without every hour is left out
    (typed by its date, its neighbours then adjacent in the lags, as in the daily model's own residuals).
    """
    sums, temps = _full_day_sums(usage_kwh, day), _full_day_sums(temp_c, day, "mean")
    if len(sums) < 3:
        return None
    local = pd.DatetimeIndex(sums.index).tz_localize(None)
    calendar = pd.date_range(local[0], local[-1], freq="D")
    y = pd.Series(sums.to_numpy(), index=local).reindex(calendar).to_numpy()
    tm = pd.Series(temps.to_numpy(), index=local).reindex(calendar).to_numpy()
    ok = ~(np.isnan(y) | np.isnan(tm))
    if ok.sum() < 3:
        return None
    basis = day_type_daily_basis(tm[ok], y[ok], day_types(calendar[ok], school_holidays))
    u = y[ok] - basis @ (basis.T @ y[ok])
    return projected_noise_parameters(u, basis)[2]


def _full_day_sums(values: np.ndarray, day: pd.DatetimeIndex, how: str = "sum") -> pd.Series:
    """Per local day with every hour (23, 24 or 25 on DST days): the hours' sum (or mean); other days left out."""
    g = pd.Series(values, index=day).groupby(level=0)
    out, counts = g.agg(how), g.size()
    return out[counts.to_numpy() == day_hours(pd.DatetimeIndex(out.index))]


def _daily_residuals(resid_kwh: np.ndarray, day: pd.DatetimeIndex, day_hat: np.ndarray,
                     school_holidays: frozenset[dt.date] = frozenset(), decay: float | None = None) -> UnitResiduals:
    """Hourly residuals summed per local day (days with every hour only: 23, 24 or 25 on DST days).

    In-sample residuals of a model with ~180 parameters per month segment understate the noise — its
    variance and, with persistent day-to-day noise, its autocorrelation (each segment's levels take up part
    of a month's shift).  Both are estimated at the day level through ``I − H_D`` (``day_hat``, the fit's
    hat matrix on day sums; :func:`~energimon.analytics.stats.unit_residuals_absorbed`): the general form of
    G14's ``n − p`` for a linear smoother (``tr H``), applied to the days whose sums the savings are made of
    (CalTRACK's hourly working group, 2018, and Touzani et al. 2019 on day-to-day correlation of hourly
    errors).  ``decay``: the noise's φ where the segments hide it (:func:`day_noise_decay`); σ² and ρ are matched
    to it.
    """
    sums = _full_day_sums(resid_kwh, day)
    days = pd.DatetimeIndex(sums.index)
    if sums.empty:
        return unit_residuals_daily(sums.to_numpy(), days, 1, school_holidays=school_holidays)
    day_no = (days.tz_localize(None) - day[0].tz_localize(None)).days.to_numpy()
    absorbed = (np.eye(len(day_hat)) - day_hat)[day_no]
    return unit_residuals_absorbed(sums.to_numpy(), days, absorbed, 1, school_holidays, decay)
