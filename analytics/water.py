"""Water: m³ per month and the night-flow leak test, from a water meter's ``volume_m3`` counter.

Small pure functions over hourly volumes, plus :func:`water_hours` and :func:`month_water`, which read the
store through :mod:`energimon.store.energy` (the hour of a counter is known, or unknown with its reason, by
the same rule as every energy counter: a gap is never zero).

**The night-flow test.**  A building that nobody uses at night draws (almost) no water then; a running
toilet cistern, a dripping tap or a burst pipe keeps a steady flow through the night.  Water utilities and
smart-meter leak alarms look at the *minimum* flow over the night: when even the quietest hour has a flow,
water runs continuously.  Here: per local date, the minimum hourly volume (m³ in the hour = mean m³/h) over
the hours ``night_start_h`` – ``night_end_h`` local time, provided at least :data:`MIN_HOURS_SHARE` of those
hours are known (an unknown hour is left out, never taken as a zero that would hide a leak or invent one).
A night is suspicious when that minimum is above ``threshold_m3_h``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.calendar import local_midnight, next_month
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store import energy

MIN_HOURS_SHARE = 0.75
DEFAULT_NIGHT = (1, 5)
DEFAULT_THRESHOLD_M3_H = 0.02
"""20 litres an hour: about what a running toilet cistern loses; a closed building's quietest hour is 0."""


def night_min_flow_m3_h(hourly_m3: pd.Series, night_start_h: int = DEFAULT_NIGHT[0],
                        night_end_h: int = DEFAULT_NIGHT[1], min_hours_share: float = MIN_HOURS_SHARE) -> pd.Series:
    """The lowest hourly volume (= mean flow, m³/h) between ``night_start_h`` and ``night_end_h`` local time per
    date (index: the date), over the known hours; NaN when fewer than ``min_hours_share`` of them are known."""
    idx = pd.DatetimeIndex(hourly_m3.index).tz_convert(LOCAL_TZ)
    s = pd.Series(hourly_m3.to_numpy(dtype=float), index=idx)
    h = idx.hour
    night = s[(h >= night_start_h) & (h < night_end_h)]
    if night.empty:
        return pd.Series(dtype=float, index=pd.Index([], name="date"))
    dates = [ts.date() for ts in pd.DatetimeIndex(night.index)]
    g = night.groupby(dates)
    n_hours = night_end_h - night_start_h
    out = g.min().where(g.count() >= min_hours_share * n_hours)
    out.index = pd.Index(out.index, name="date")
    return out.astype(float)


def leak_nights(night_min: pd.Series, threshold_m3_h: float = DEFAULT_THRESHOLD_M3_H) -> list[dt.date]:
    """The nights whose minimum flow is above ``threshold_m3_h`` (nights that could not be judged are not)."""
    s = night_min.dropna()
    return [d for d, v in zip(s.index, s.to_numpy(dtype=float), strict=True) if v > threshold_m3_h]


def leak_run(night_min: pd.Series, last_night: dt.date, threshold_m3_h: float) -> list[dt.date]:
    """The consecutive suspicious nights ending with ``last_night`` (empty when it is not one); a night that
    could not be judged ends the run."""
    run: list[dt.date] = []
    d = last_night
    while True:
        v = float(night_min.get(d, math.nan)) if d in night_min.index else math.nan
        if not (math.isfinite(v) and v > threshold_m3_h):
            return run[::-1]
        run.append(d)
        d -= dt.timedelta(days=1)


def water_hours(store, site: str, device: str, start: dt.datetime, end: dt.datetime) -> pd.Series:
    """A water meter's m³ per local hour over ``[start, end)`` (NaN where unknown: store.energy's rule)."""
    index = pd.DatetimeIndex(pd.date_range(pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC"),
                                           freq="h", inclusive="left").tz_convert(LOCAL_TZ))
    vol = energy.counter_hours(store, SeriesKey(site, device, "volume_m3"), start, end).energy_wh  # m³ per hour
    return vol.reindex(index).astype(float)


@dataclass(frozen=True)
class WaterMonth:
    site: str
    device: str
    volume_m3: float  # the known days' volume
    days: int
    days_known: int
    nights_judged: int
    leak_nights: list[dt.date]
    threshold_m3_h: float
    night_min: pd.Series


def month_water(store, site: str, device: str, month: dt.date, cutoff: dt.date,
                night: tuple[int, int] = DEFAULT_NIGHT, threshold_m3_h: float = DEFAULT_THRESHOLD_M3_H) -> WaterMonth:
    """One water meter's month up to ``cutoff`` (exclusive): m³ of the known days and the suspicious nights."""
    t0, t1 = local_midnight(month), local_midnight(min(next_month(month), cutoff))
    hours = water_hours(store, site, device, t0, t1)
    days = energy.daily(hours)
    known = days["energy_wh"].dropna()  # m³ for a volume counter
    nm = night_min_flow_m3_h(hours, *night)
    return WaterMonth(site, device, float(known.sum()), len(days), len(known), int(np.isfinite(nm).sum()),
                      leak_nights(nm, threshold_m3_h), threshold_m3_h, nm)
