"""A synthetic lighting submeter: a sports hall's lighting circuit whose load drops when LED fittings replace the old
ones on an installation day — the data behind the IPMVP Option B measure of the demo and its tests.

Per local day: ``kwh_per_day`` (before) or ``kwh_per_day · (1 − drop_share)`` (from ``installed``), plus normal noise
drawn per day from a fixed seed; the day's energy is spread evenly over the hall's opening hours (07–23 local time,
the same hours on 23- and 25-hour days), nothing outside them.  Readings are the circuit meter's energy counter
(``energy_import_wh``, role ``submeter``), one at every hour start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.calendar import local_day_index
from energimon.model import LOCAL_TZ, Reading

OPEN_HOURS = range(7, 23)
"""Local hours the hall's lights are on (07:00–23:00)."""


@dataclass(frozen=True)
class LightingLoad:
    site: str
    device: str
    kwh_per_day: float  # before the installation
    drop_share: float  # of the load, from ``installed`` (0.35: 35 % less)
    noise_kwh_per_day: float
    installed: dt.date
    seed: int = 0


def lighting_day_kwh(load: LightingLoad, days: pd.DatetimeIndex, origin: dt.date | None = None) -> np.ndarray:
    """The circuit's use per local day in ``days`` (contiguous).  Noise is drawn per day from ``origin`` (default the
    first day), so a day's value does not depend on which days are asked for."""
    first = days[0].date()
    origin = origin or first
    skip = (first - origin).days
    noise = np.random.default_rng(load.seed).normal(0.0, load.noise_kwh_per_day, skip + len(days))[skip:]
    after = days >= pd.Timestamp(load.installed).tz_localize(LOCAL_TZ)
    return np.where(after, load.kwh_per_day * (1.0 - load.drop_share), load.kwh_per_day) + noise


def lighting_hour_kwh(start: dt.date, end: dt.date, day_kwh: np.ndarray) -> pd.Series:
    """Each day's energy over its opening hours; every hour of the local days ``[start, end)``, indexed by the hour's
    start (local time)."""
    edges = local_day_index(start, end + dt.timedelta(days=1)).tz_convert("UTC")
    hours = pd.date_range(edges[0], edges[-1], freq="h", inclusive="left").tz_convert(LOCAL_TZ)
    day = np.searchsorted(edges.asi8, hours.tz_convert("UTC").asi8, side="right") - 1
    lit = np.isin(hours.hour.to_numpy(), list(OPEN_HOURS))
    per_day = np.bincount(day, weights=lit.astype(float), minlength=len(day_kwh))
    return pd.Series(np.where(lit, day_kwh[day] / per_day[day], 0.0), index=hours)


def lighting_readings(load: LightingLoad, start: dt.date, end: dt.date, origin: dt.date | None = None
                      ) -> tuple[list[Reading], pd.Series]:
    """The circuit meter's counter readings (Wh, at every hour start and the end) over ``[start, end)`` and the
    truth: kWh per local day."""
    days = local_day_index(start, end)
    day_kwh = lighting_day_kwh(load, days, origin)
    hourly = lighting_hour_kwh(start, end, day_kwh)
    counter = 5_000_000.0 + np.concatenate([[0.0], np.cumsum(hourly.to_numpy() * 1000.0)])
    ms = pd.DatetimeIndex(hourly.index).tz_convert("UTC").as_unit("ms").asi8
    ts = np.concatenate([ms, [ms[-1] + 3_600_000]])
    readings = [Reading(load.site, load.device, "energy_import_wh", "submeter", int(t), float(v))
                for t, v in zip(ts, counter, strict=True)]
    return readings, pd.Series(day_kwh, index=days)
