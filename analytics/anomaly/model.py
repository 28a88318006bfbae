"""Expected consumption: time of week with the calendar's open/closed state, plus outdoor temperature.

The model, fitted on hourly energy of one meter:

1. **Time of week.**  Each hour falls in a bin ``(open, weekday, hour)`` where ``open`` is the site
   calendar's state (so a holiday Monday is binned with closed hours, not with ordinary Mondays).
   The bin's value is the median of its hours in the fit window; a bin with fewer than
   ``MIN_BIN_COUNT`` hours falls back to ``(open, hour)`` and then to ``(open,)``.
2. **Temperature change point** (CalTRACK-style, on daily totals): the daily residual after step 1 is
   fitted as ``a + β·max(0, T_b − T)`` with ``T_b`` searched in 8…20 °C and ``β ≥ 0``
   (intercept-only when no heating slope is found).  ``T`` is the day's mean outdoor temperature.
3. **Spread**: ``sigma_kwh_per_day`` = standard deviation of the daily residuals of the full model
   (the band in the charts and the scale of the CUSUM rule).

**Minimum history**: ``min_days`` complete days (default 28, ``[alerts] min_history_days``) in the
fit window.  Before that :func:`fit_expected` returns None and the model-based rules (deviation,
CUSUM) do not run; the rules that need no model (night load, out of hours, never-base, data quality,
PV) run from the first week.  The engine refits once a day on the last ``fit_days`` days ending
``lag_days`` before today, so a fresh fault is not learnt as normal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import CusumRule, DeviationRule
from energimon.model import LOCAL_TZ
from energimon.store import energy

MIN_BIN_COUNT = 3


@dataclass
class ExpectedModel:
    bins: dict[Hashable, float]  # (open, weekday, hour) -> kWh
    bins_hour: dict[Hashable, float]  # (open, hour) -> kWh
    bins_state: dict[Hashable, float]  # (open,) -> kWh
    intercept_kwh_per_day: float
    beta_kwh_per_k_day: float
    balance_c: float
    sigma_kwh_per_day: float
    n_days: int
    fitted_until: dt.date

    def hourly(self, index: pd.DatetimeIndex, open_: np.ndarray) -> np.ndarray:
        """Time-of-week part per hour, kWh (no temperature term)."""
        local = index.tz_convert(LOCAL_TZ)
        out = np.empty(len(index))
        for i, (t, o) in enumerate(zip(local, open_, strict=True)):
            v = self.bins.get((bool(o), t.day_of_week, t.hour))
            if v is None:
                v = self.bins_hour.get((bool(o), t.hour))
            if v is None:
                v = self.bins_state.get((bool(o),), np.nan)
            out[i] = v
        return out

    def temp_term(self, temp_c: np.ndarray | float) -> np.ndarray:
        """Daily temperature part, kWh/day; NaN when the model has a slope and the temperature is unknown."""
        t = np.asarray(temp_c, dtype=float)
        if self.beta_kwh_per_k_day == 0.0:
            return np.full(t.shape, self.intercept_kwh_per_day)
        return self.intercept_kwh_per_day + self.beta_kwh_per_k_day * np.maximum(0.0, self.balance_c - t)

    def daily(self, hourly: pd.DataFrame) -> pd.DataFrame:
        """Expected kWh per local day for the days of ``hourly`` (columns open, temp_c optional):
        columns ``expected_kwh``, ``low_kwh``, ``high_kwh`` (± 2 sigma)."""
        index = pd.DatetimeIndex(hourly.index)
        tow = pd.Series(self.hourly(index, hourly["open"].to_numpy()), index=index)
        days = index.tz_convert(LOCAL_TZ).date
        base = tow.groupby(days).sum(min_count=1)
        temps = (hourly["temp_c"].groupby(days).mean() if "temp_c" in hourly
                 else pd.Series(np.nan, index=base.index))
        exp = base + self.temp_term(temps.reindex(base.index).to_numpy())
        return pd.DataFrame({"expected_kwh": exp, "low_kwh": exp - 2 * self.sigma_kwh_per_day,
                             "high_kwh": exp + 2 * self.sigma_kwh_per_day})


def fit_expected(hourly: pd.DataFrame, min_days: int = 28, time_of_week: bool = True) -> ExpectedModel | None:
    """Fit on ``hourly`` (columns kwh, open, temp_c optional).  None: less than ``min_days`` complete days.

    ``time_of_week=False``: the change point alone on daily totals (CalTRACK daily) — for heat meters, whose
    use follows the weather far more than the week."""
    local = pd.DatetimeIndex(hourly.index).tz_convert(LOCAL_TZ)
    days = pd.Index(local.date)
    known = energy.daily(hourly["kwh"] * 1000.0)["energy_wh"].dropna()  # every hour of the day known
    complete = pd.Index(pd.DatetimeIndex(known.index).date)
    if len(complete) < min_days:
        return None
    keep = days.isin(complete)
    h = hourly[keep]
    lh = local[keep]
    df = pd.DataFrame({"kwh": h["kwh"].to_numpy(), "open": h["open"].to_numpy().astype(bool),
                       "wd": lh.day_of_week, "hour": lh.hour})
    full = df.groupby(["open", "wd", "hour"])["kwh"].agg(["median", "count"])
    bins: dict[Hashable, float]
    bins_hour: dict[Hashable, float]
    bins_state: dict[Hashable, float]
    if time_of_week:
        bins = {k: float(v) for k, v in full["median"][full["count"] >= MIN_BIN_COUNT].items()}
        bins_hour = {k: float(v) for k, v in df.groupby(["open", "hour"])["kwh"].median().items()}
        bins_state = {(k,): float(v) for k, v in df.groupby("open")["kwh"].median().items()}
    else:
        bins, bins_hour, bins_state = {}, {}, {(True,): 0.0, (False,): 0.0}
    model = ExpectedModel(bins, bins_hour, bins_state, 0.0, 0.0, 0.0, 0.0, len(complete), max(complete))
    # daily residuals against the time-of-week part
    tow = pd.Series(model.hourly(pd.DatetimeIndex(h.index), df["open"].to_numpy()), index=h.index)
    dkeys = pd.Index(lh.date)
    actual = h["kwh"].groupby(dkeys).sum()
    resid = actual - tow.groupby(dkeys).sum()
    temps = h["temp_c"].groupby(dkeys).mean() if "temp_c" in h else pd.Series(np.nan, index=actual.index)
    a, beta, tb = _change_point(resid.to_numpy(), temps.reindex(actual.index).to_numpy())
    model.intercept_kwh_per_day, model.beta_kwh_per_k_day, model.balance_c = a, beta, tb
    t = temps.reindex(actual.index).to_numpy()
    fitted = a + beta * np.maximum(0.0, tb - np.where(np.isfinite(t), t, tb))
    r = resid.to_numpy() - fitted
    model.sigma_kwh_per_day = float(np.std(r, ddof=min(3, len(r) - 1))) if len(r) > 3 else float("nan")
    return model


def _change_point(y: np.ndarray, t: np.ndarray) -> tuple[float, float, float]:
    """Least squares ``y = a + β·max(0, T_b − t)``, β ≥ 0, T_b in 8…20 °C (0.5 steps); intercept-only
    when there is no temperature or no positive slope.  Returns (a, β, T_b)."""
    ok = np.isfinite(y) & np.isfinite(t)
    a0 = float(np.median(y[np.isfinite(y)])) if np.isfinite(y).any() else 0.0
    if ok.sum() < 10:
        return a0, 0.0, 0.0
    y, t = y[ok], t[ok]
    best = (float(np.sum((y - y.mean()) ** 2)), float(y.mean()), 0.0, 0.0)
    for tb in np.arange(8.0, 20.01, 0.5):
        x = np.maximum(0.0, tb - t)
        if x.std() == 0:
            continue
        beta, a = np.polyfit(x, y, 1)
        if beta <= 0:
            continue
        sse = float(np.sum((y - a - beta * x) ** 2))
        if sse < best[0]:
            best = (sse, float(a), float(beta), float(tb))
    return best[1], best[2], best[3]


# -- rules on the model ------------------------------------------------------------------------
def deviation(daily: pd.DataFrame, end_date: dt.date, p: DeviationRule, site: str, device: str,
              channel: str = "load_kwh") -> Finding | None:
    """Deviation from expected with **all three** conditions on each of the last ``min_days`` complete days:
    actual above expected by more than ``min_excess_pct`` % **and** by more than
    ``min_excess_kwh_per_day`` kWh.  ``daily``: columns actual_kwh, expected_kwh, indexed by date;
    ``end_date``: the last complete day.  Impact: the mean excess over the bad days."""
    d = daily[daily.index <= end_date].dropna(subset=["actual_kwh", "expected_kwh"])
    if len(d) < p.min_days or d.index[-1] != end_date:
        return None
    excess = d["actual_kwh"] - d["expected_kwh"]
    bad = (excess > d["expected_kwh"].abs() * p.min_excess_pct / 100) & (excess > p.min_excess_kwh_per_day)
    vals = bad.to_numpy()
    run = 0
    while run < len(vals) and vals[len(vals) - 1 - run]:
        run += 1
    if run < p.min_days:
        return None
    sel = d.iloc[len(d) - run:]
    ex = sel["actual_kwh"] - sel["expected_kwh"]
    since = pd.Timestamp(dt.datetime.combine(sel.index[0], dt.time()), tz=LOCAL_TZ)
    return Finding(
        rule="deviation", site=site, device=device, severity=p.severity,
        since=since.tz_convert("UTC").to_pydatetime(),
        evidence={"days": run, "actual_kwh_per_day": round(float(sel["actual_kwh"].mean()), 1),
                  "expected_kwh_per_day": round(float(sel["expected_kwh"].mean()), 1),
                  "excess_pct": round(float(ex.sum() / sel["expected_kwh"].sum() * 100), 1)},
        kwh_per_day=round(float(ex.mean()), 1), channel=channel,
    )


def cusum(daily: pd.DataFrame, end_date: dt.date, sigma: float, p: CusumRule, site: str, device: str,
          lookback_days: int = 28, channel: str = "load_kwh") -> Finding | None:
    """Sustained upward level shift: tabular CUSUM ``S = max(0, S + z − k)`` on standardised daily residuals
    ``z = (actual − expected) / sigma`` over the last ``lookback_days`` days; fires while ``S > h`` and the mean
    residual since S last left zero is at least ``min_shift_pct`` % of expected and the last 3 days are still
    up by 2k on average (a shift that is over resolves instead of decaying slowly).  Days marked ``special``
    (the calendar explains them: holiday, closure, school holiday, event) are left out of the sequence."""
    if not np.isfinite(sigma) or sigma <= 0:
        return None
    d = daily[(daily.index <= end_date) & (daily.index > end_date - dt.timedelta(days=lookback_days))]
    d = d.dropna(subset=["actual_kwh", "expected_kwh"])
    if d.empty or d.index[-1] != end_date:
        return None
    if "special" in d:  # calendar-special days (school holidays, closures …) are skipped: the model knows
        d = d[~d["special"].astype(bool)]  # them least, and a level shift shows on ordinary days too
        if d.empty:
            return None
    z = ((d["actual_kwh"] - d["expected_kwh"]) / sigma).to_numpy()
    s, start = 0.0, 0
    for i, zi in enumerate(z):
        if s == 0.0:
            start = i
        s = max(0.0, s + zi - p.k_sigma)
    # S decays by only k per day after a shift ends: fire only while the last 3 days are still clearly
    # up (mean z ≥ 2k), so the alert resolves when the shift does
    if s <= p.h_sigma or z[-3:].mean() < 2 * p.k_sigma:
        return None
    sel = d.iloc[start:]
    shift = float((sel["actual_kwh"] - sel["expected_kwh"]).mean())
    if shift < p.min_shift_pct / 100 * float(sel["expected_kwh"].mean()):
        return None
    since = pd.Timestamp(dt.datetime.combine(sel.index[0], dt.time()), tz=LOCAL_TZ)
    return Finding(
        rule="cusum", site=site, device=device, severity=p.severity,
        since=since.tz_convert("UTC").to_pydatetime(),
        evidence={"cusum_sigma": round(s, 1), "limit_sigma": p.h_sigma, "shift_kwh_per_day": round(shift, 1),
                  "days": len(sel), "sigma_kwh_per_day": round(sigma, 1)},
        kwh_per_day=round(shift, 1), channel=channel,
    )
