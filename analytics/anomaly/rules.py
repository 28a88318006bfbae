"""Consumption and data-quality rules: small pure functions over hourly data.

Every rule takes plain pandas data and its parameters (``[alerts.rules.<rule>]``)
and returns a :class:`~energimon.analytics.anomaly.findings.Finding` or None.
None of them reads the store or the clock: the engine passes ``end`` (the end of
the last complete hour), so the same code runs live, in tests and in the
evaluation.

The hourly frame (:func:`hourly_frame`) is indexed by the start of each local
(Europe/Copenhagen) hour and has the columns

* ``kwh`` — energy in the hour (= mean kW), NaN when unknown (a gap is not zero);
* ``open`` — the site calendar says the building is in use in (part of) the hour;
* ``open_grace`` — the same, widened by the out-of-hours grace time;
* ``pv_kwh`` — PV production in the hour (0 without PV), optional.

**The reference night load** (natforbrug) is the median, over the nights of
``reference_days`` days ending ``reference_lag_days`` before the night tested,
of the mean load between ``night_start_h`` and ``night_end_h`` on nights when
the building is closed.  The lag keeps a fresh fault from becoming the norm: a
persistent fault is compared with the building before it, for
``reference_lag_days`` days at least and until it fills half the reference
window.  Rules that use it need at least 7 such nights; before that they stay
silent (the data-quality rules still run).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import (
    DataQualityRule,
    NeverBaseRule,
    NightLoadRule,
    OutOfHoursRule,
)
from energimon.model import LOCAL_TZ

MIN_REFERENCE_NIGHTS = 7
HOUR = pd.Timedelta(hours=1)


def hourly_frame(kwh: pd.Series, calendar: SiteCalendar, grace_h: float = 1.0,
                 pv_kwh: pd.Series | None = None) -> pd.DataFrame:
    """Build the hourly frame from energy per local hour (index: local hour starts)."""
    idx = pd.DatetimeIndex(kwh.index).tz_convert(LOCAL_TZ)
    df = pd.DataFrame({"kwh": kwh.to_numpy(dtype=float)}, index=idx)
    df["open"] = calendar.open_mask(idx)
    df["open_grace"] = calendar.open_mask(idx, grace_h=grace_h) if grace_h else df["open"]
    if pv_kwh is not None:
        df["pv_kwh"] = pv_kwh.reindex(kwh.index).to_numpy(dtype=float)
    else:
        df["pv_kwh"] = 0.0
    return df


def _utc(ts: pd.Timestamp) -> dt.datetime:
    return ts.tz_convert("UTC").to_pydatetime()


def _window(hourly: pd.DataFrame, end: pd.Timestamp, hours: int = 24) -> pd.DataFrame:
    return hourly[(hourly.index >= end - hours * HOUR) & (hourly.index < end)]


# -- the reference night load --------------------------------------------------------------------
def night_kw_by_date(hourly: pd.DataFrame, night_start_h: int = 1, night_end_h: int = 5) -> pd.Series:
    """Mean load (kW) between ``night_start_h`` and ``night_end_h`` local time, per date, on nights when the
    building is closed in all those hours and at least 3/4 of them have data; NaN otherwise."""
    h = pd.DatetimeIndex(hourly.index).hour
    night = hourly[(h >= night_start_h) & (h < night_end_h)]
    dates = pd.DatetimeIndex(night.index).date
    g = night.groupby(dates)
    n_hours = night_end_h - night_start_h
    mean = g["kwh"].mean()
    present = g["kwh"].count()
    closed = ~g["open"].any()
    out = mean.where((present >= 0.75 * n_hours) & closed)
    out.index = pd.Index(out.index, name="date")
    return out


def reference_kw(night_kw: pd.Series, date: dt.date, reference_days: int = 28, lag_days: int = 7) -> float:
    """Median night load of the ``reference_days`` days ending ``lag_days`` before ``date`` (NaN: too few)."""
    hi = date - dt.timedelta(days=lag_days)
    lo = hi - dt.timedelta(days=reference_days)
    sel = night_kw[(night_kw.index >= lo) & (night_kw.index < hi)].dropna()
    if len(sel) < MIN_REFERENCE_NIGHTS:
        return float("nan")
    return float(sel.median())


def _limit(ref_kw: float, pct: float, min_kw: float) -> float:
    """Both conditions: more than ``pct`` % and more than ``min_kw`` above the reference."""
    return max(ref_kw * (1 + pct / 100), ref_kw + min_kw)


# -- natforbrug -------------------------------------------------------------------------------
def night_load(hourly: pd.DataFrame, night_kw: pd.Series, end: pd.Timestamp, p: NightLoadRule,
               site: str, device: str) -> Finding | None:
    """Natforbrug: the last closed night's mean load is above the reference night load.

    Fires when ``night_kW > max(ref·(1 + min_excess_pct/100), ref + min_excess_kw)``.
    Impact: the energy above the reference in the closed hours of the last 24 h.
    """
    end_local = end.tz_convert(LOCAL_TZ)
    date = end_local.date()
    if end_local.hour < p.night_end_h:  # tonight's night is not over yet: the last one was yesterday
        date -= dt.timedelta(days=1)
    kw = night_kw.get(date, np.nan)
    if not np.isfinite(kw):
        return None
    ref = reference_kw(night_kw, date, p.reference_days, p.reference_lag_days)
    if not np.isfinite(ref):
        return None
    limit = _limit(ref, p.min_excess_pct, p.min_excess_kw)
    if kw <= limit:
        return None
    # since: the first of the consecutive bad nights before this one
    first = date
    while np.isfinite(v := night_kw.get(first - dt.timedelta(days=1), np.nan)) and v > limit:
        first -= dt.timedelta(days=1)
    win = _window(hourly, end)
    closed = win[~win["open_grace"]]
    excess_kwh = float(np.clip(closed["kwh"] - ref, 0, None).sum())
    since = pd.Timestamp(dt.datetime.combine(first, dt.time(p.night_start_h)), tz=LOCAL_TZ)
    return Finding(
        rule="night_load", site=site, device=device, severity=p.severity, since=_utc(since),
        evidence={"night_kw": round(kw, 2), "reference_kw": round(ref, 2), "limit_kw": round(limit, 2),
                  "night": f"{p.night_start_h:02d}-{p.night_end_h:02d}", "date": date.isoformat()},
        kwh_per_day=round(max(excess_kwh, (kw - ref) * (p.night_end_h - p.night_start_h)), 1),
        channel="load_kwh",
    )


# -- out of hours ------------------------------------------------------------------------------
def out_of_hours(hourly: pd.DataFrame, ref_kw: float, end: pd.Timestamp, p: OutOfHoursRule,
                 night: tuple[int, int], site: str, device: str) -> Finding | None:
    """Use outside opening hours: at least ``min_hours`` consecutive closed hours (evening, weekend,
    holiday, closure; ``grace_h`` around opening hours ignored; the night hours belong to ``night_load``)
    in the last ``window_h`` hours above ``max(ref·(1 + pct), ref + min_kw)``; the latest such run is
    reported.  Impact: its energy above ``ref``."""
    if not np.isfinite(ref_kw):
        return None
    win = _window(hourly, end, p.window_h)
    h = pd.DatetimeIndex(win.index).hour
    candidate = (~win["open_grace"].to_numpy()) & ~((h >= night[0]) & (h < night[1]))
    limit = _limit(ref_kw, p.min_excess_pct, p.min_excess_kw)
    over = candidate & (win["kwh"].to_numpy() > limit)
    best_len, best_end, run = 0, -1, 0
    for i, o in enumerate(over):
        run = run + 1 if o else 0
        if run >= p.min_hours and (run > best_len or best_end < i - run):  # the latest qualifying run
            best_len, best_end = run, i
    if best_len < p.min_hours:
        return None
    hours = win.iloc[best_end - best_len + 1: best_end + 1]
    excess = float((hours["kwh"] - ref_kw).sum())
    return Finding(
        rule="out_of_hours", site=site, device=device, severity=p.severity, since=_utc(hours.index[0]),
        evidence={"hours": best_len, "mean_kw": round(float(hours["kwh"].mean()), 2),
                  "reference_kw": round(ref_kw, 2), "limit_kw": round(limit, 2),
                  "from": hours.index[0].strftime("%Y-%m-%d %H:%M"),
                  "to": (hours.index[-1] + HOUR).strftime("%Y-%m-%d %H:%M")},
        kwh_per_day=round(excess, 1), channel="load_kwh",
    )


# -- never falls to base load --------------------------------------------------------------------
def never_base(hourly: pd.DataFrame, ref_kw: float, end: pd.Timestamp, p: NeverBaseRule,
               site: str, device: str) -> Finding | None:
    """Never falls to base load: the lowest hour of the last 24 h (at least 20 hours with data) is above
    ``max(ref·(1 + pct), ref + min_kw)`` — something is on around the clock.
    Impact: ``(lowest − ref) × 24`` kWh/day (the whole floor is lifted)."""
    if not np.isfinite(ref_kw):
        return None
    win = _window(hourly, end)
    kwh = win["kwh"].dropna()
    if len(kwh) < 20:
        return None
    low = float(kwh.min())
    limit = _limit(ref_kw, p.min_excess_pct, p.min_excess_kw)
    if low <= limit:
        return None
    # since: walk back through the closed hours while they stay above the limit (open hours are skipped)
    before = hourly[hourly.index < end]
    above = (before["kwh"] > limit).to_numpy()
    is_open = before["open"].to_numpy()
    i = since_i = len(above) - 1
    while i >= 0 and (is_open[i] or above[i]):
        if not is_open[i]:
            since_i = i
        i -= 1
    since = before.index[since_i]
    return Finding(
        rule="never_base", site=site, device=device, severity=p.severity, since=_utc(since),
        evidence={"lowest_kw_24h": round(low, 2), "reference_kw": round(ref_kw, 2), "limit_kw": round(limit, 2)},
        kwh_per_day=round((low - ref_kw) * 24, 1), channel="load_kwh",
    )


# -- data quality -------------------------------------------------------------------------------
def stuck_counter(hourly_counter_kwh: pd.Series, pv_kwh: pd.Series | None, ref_kw: float, end: pd.Timestamp,
                  p: DataQualityRule, site: str, device: str, channel: str) -> Finding | None:
    """A counter that has not moved for ``stuck_hours`` although the building's reference night load is at
    least ``stuck_min_kw`` (it must have used energy).  Hours with PV production are not evidence (the import
    counter stands still while PV covers the load): only the hours of the run without PV count."""
    if not np.isfinite(ref_kw) or ref_kw < p.stuck_min_kw:
        return None
    s = hourly_counter_kwh[hourly_counter_kwh.index < end]
    if s.empty:
        return None
    vals = s.to_numpy()
    pv = (pv_kwh.reindex(s.index).fillna(0.0).to_numpy() if pv_kwh is not None else np.zeros(len(s)))
    i = len(vals)
    while i > 0 and vals[i - 1] == 0.0:  # exactly zero with data (NaN is a gap, not a stuck counter)
        i -= 1
    run = len(vals) - i
    if int((pv[i:] < 0.05).sum()) < p.stuck_hours:
        return None
    return Finding(
        rule="stuck_value", site=site, device=device, severity=p.severity, since=_utc(s.index[i]),
        evidence={"hours_without_change": run, "channel": channel, "reference_kw": round(ref_kw, 2)},
        kwh_per_day=None, channel=channel,
    )


def counter_resets(resets: pd.DataFrame, end: pd.Timestamp, p: DataQualityRule, site: str, device: str,
                   channel: str, hold_h: float = 24.0) -> Finding | None:
    """A counter that went backwards (reset, rollover, meter swap) within the last ``hold_h`` hours.
    The consumption across the reset is unknown (never negative); the alert clears itself after ``hold_h``."""
    if resets is None or resets.empty:
        return None
    t = pd.to_datetime(resets["time"], utc=True)
    recent = resets[(t >= end - hold_h * HOUR) & (t < end)]
    if recent.empty:
        return None
    first = recent.iloc[0]
    return Finding(
        rule="counter_reset", site=site, device=device, severity="info",
        since=pd.Timestamp(first["time"]).tz_convert("UTC").to_pydatetime(),
        evidence={"channel": channel, "resets": len(recent), "before": float(first["before"]),
                  "after": float(first["after"])},
        channel=channel,
    )


def impossible_values(power_max_w: float, hour_max_kwh: float, rated_w: float | None, end: pd.Timestamp,
                      p: DataQualityRule, site: str, device: str, channel: str,
                      since: dt.datetime | None = None) -> Finding | None:
    """Values above the device's rated power (+ ``rated_margin_pct``): a scaling error, a wrong CT ratio or
    a counter jump.  ``power_max_w``: highest power reading; ``hour_max_kwh``: highest energy in one hour
    (a counter jump), both over the last 24 h."""
    if rated_w is None or rated_w <= 0:
        return None
    limit_w = rated_w * (1 + p.rated_margin_pct / 100)
    worst_w = max(power_max_w if np.isfinite(power_max_w) else -np.inf,
                  hour_max_kwh * 1000 if np.isfinite(hour_max_kwh) else -np.inf)
    if worst_w <= limit_w:
        return None
    return Finding(
        rule="impossible_value", site=site, device=device, severity=p.severity,
        since=since or _utc(end - 24 * HOUR),
        evidence={"highest_w": round(worst_w, 0), "rated_w": round(rated_w, 0), "limit_w": round(limit_w, 0),
                  "channel": channel},
        channel=channel,
    )


def stale_device(latest: pd.DataFrame, now: dt.datetime, p: DataQualityRule, site: str, device: str,
                 role: str) -> Finding | None:
    """No fresh data from a device: every series older than ``stale_after_min``, or ``device_online`` = 0.

    ``latest``: the store's ``latest()`` rows of this device.  PV devices are handled by the PV rules
    (inverters sleep at night)."""
    if latest.empty or role == "pv":
        return None
    times = pd.to_datetime(latest["time"], utc=True)
    newest = times.max()
    age_min = (pd.Timestamp(now) - newest).total_seconds() / 60
    online = latest[latest["channel"] == "device_online"]
    offline = not online.empty and float(online["value"].iloc[0]) == 0.0
    data = latest[~latest["channel"].isin(["device_online", "poll_errors", "fields_missing"])]
    newest_data = pd.to_datetime(data["time"], utc=True).max() if not data.empty else newest
    data_age_min = (pd.Timestamp(now) - newest_data).total_seconds() / 60
    if age_min <= p.stale_after_min and data_age_min <= p.stale_after_min and not offline:
        return None
    return Finding(
        rule="device_offline" if offline or age_min > p.stale_after_min else "stale_data",
        site=site, device=device, severity=p.severity, since=newest_data.to_pydatetime(),
        evidence={"minutes_without_data": round(data_age_min), "last_reading": newest_data.isoformat(),
                  "device_online": 0.0 if offline else 1.0},
    )
