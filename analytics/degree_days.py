"""Outdoor temperature, degree days (graddage) and the graddagekorrektion.

Danish practice (graddage, base 17 °C, as Teknologisk Institut computes them and the district heating
companies publish them): a day's degree days are ``max(0, 17 °C − daily mean outdoor temperature)``;
a period's degree days are the sum over its days.
Heat use is corrected to a *normal year* (normalår) with

    Q_norm = Q · ((1 − f) · G_normal / G_actual + f)

where ``f`` is the share of the heat that does not depend on the weather
(varmt brugsvand, losses).  The normal-year total differs by source (DTI 2906,
DMI 3175, "ELO" 3112, supplier ten-year means ...), so it is configured together
with the name of its source, which the reports print.

All functions here are pure (numbers in, numbers out) except
:func:`daily_mean_temperature_c`, which reads the store.

A local day's mean temperature comes from the source's own **daily mean** where the store has one
(channel ``outdoor_temp_day_mean_c`` beside the hourly ``outdoor_temp_c`` series, same site and device:
DMI's quality-controlled climateData ``mean_temp``, collector/sources/dmi/README.md), else from the
hourly means.  A daily value is never read as an hour, nor an hourly mean as a day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from energimon.calendar import day_hours
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.windows import to_ms

BASE_TEMPERATURE_C = 17.0
"""Danish degree-day base (DMI, DTI, the district-heating companies)."""

MIN_HOURS_SHARE = 0.5
"""A local day's mean temperature needs hourly means for at least this share of its hours (CalTRACK 2.0 §2.2)."""


def heating_degree_days_c(temp_mean_c: np.ndarray | float, base_c: float = BASE_TEMPERATURE_C) -> np.ndarray:
    """Heating degree days (K·day) per day: ``max(0, base_c − T_mean)``.

    ``temp_mean_c`` is the daily mean outdoor temperature in °C.  NaN stays NaN
    (missing is not zero).  Danish graddage use ``base_c = 17``.
    """
    t = np.asarray(temp_mean_c, dtype=float)
    return np.where(np.isnan(t), np.nan, np.maximum(0.0, base_c - t))


def cooling_degree_days_c(temp_mean_c: np.ndarray | float, base_c: float) -> np.ndarray:
    """Cooling degree days (K·day) per day: ``max(0, T_mean − base_c)``; NaN stays NaN."""
    t = np.asarray(temp_mean_c, dtype=float)
    return np.where(np.isnan(t), np.nan, np.maximum(0.0, t - base_c))


def graddagekorrektion(
    energy_kwh: float | np.ndarray,
    degree_days_actual: float | np.ndarray,
    degree_days_normal: float | np.ndarray,
    weather_independent_share: float,
) -> float | np.ndarray:
    """Energy corrected to a normal year (graddagekorrigeret forbrug).

    ``Q_norm = Q · ((1 − f) · G_normal / G_actual + f)`` with ``f`` the
    weather-independent share (0..1).  Works for a year or any sub-period as long
    as ``G_actual`` and ``G_normal`` cover the same period.  A period without
    degree days (G_actual = 0) cannot be corrected: the result is NaN.
    """
    f = float(weather_independent_share)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"weather_independent_share must be within 0..1, got {f}")
    g_act = np.asarray(degree_days_actual, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(g_act > 0, np.asarray(degree_days_normal, dtype=float) / g_act, np.nan)
    out = np.asarray(energy_kwh, dtype=float) * ((1.0 - f) * ratio + f)
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class NormalYear:
    """A normal year's degree days (normalår), its monthly split and where it comes from.

    ``monthly`` has 12 values (January..December) summing to ``total``; when not
    given, the total is split by the default Danish monthly profile
    :data:`DEFAULT_MONTHLY_SHARE`.
    """

    total: float
    source: str
    monthly: Sequence[float] = field(default_factory=tuple)

    def month(self, month: int) -> float:
        """Normal-year degree days of one calendar month (1..12)."""
        if self.monthly:
            return float(self.monthly[month - 1])
        return self.total * DEFAULT_MONTHLY_SHARE[month - 1]

    def per_day(self, days: pd.DatetimeIndex) -> np.ndarray:
        """Normal degree days for each local day: the month's normal spread evenly over its days."""
        out = np.empty(len(days))
        for i, d in enumerate(days):
            out[i] = self.month(d.month) / d.days_in_month
        return out


# The monthly split used when a normal year gives only its total: the shares of the
# 2,500-degree-day normal year published by Nature Energy Distribution (DTI skyggegraddage),
# https://www.natureenergy-distribution.dk/teknisk-information/graddage/ ("% af normalår"):
# 18.07, 16.52, 15.80, 10.39, 2.72, 0, 0, 0, 1.24, 7.56, 12.01, 15.66 % — rescaled to sum to 1.
_SHARES_PCT = (18.07, 16.52, 15.80, 10.39, 2.72, 0.0, 0.0, 0.0, 1.24, 7.56, 12.01, 15.66)
DEFAULT_MONTHLY_SHARE: tuple[float, ...] = tuple(s / sum(_SHARES_PCT) for s in _SHARES_PCT)


DAY_MEAN_CHANNEL = "outdoor_temp_day_mean_c"
"""A source's own mean of the local day, stored at the day's local midnight (energimon.model)."""


def day_mean_key(key: SeriesKey) -> SeriesKey:
    """The daily-mean series beside an hourly outdoor temperature series (the same site and device)."""
    return SeriesKey(key.site, key.device, DAY_MEAN_CHANNEL)


def daily_mean_temperature_c(store, key: SeriesKey, start: datetime, end: datetime) -> pd.Series:
    """Daily mean outdoor temperature (°C) per local day (Europe/Copenhagen) from the store.

    A day the store has a daily mean for (:data:`DAY_MEAN_CHANNEL` beside ``key``) takes it: DMI's
    climateData mean is quality controlled and gap-filled by DMI, so it beats our mean of the hourly
    observations.  Other days (climateData lags a working day behind; a station without it) are the
    mean of the hourly means, so an uneven sampling rate does not weight some hours more than
    others; such a day with hourly means for less than half of its hours (23, 24 or 25 on DST days)
    is NaN.  ``key`` may also name a daily-mean series itself.  Indexed by local midnight.
    """
    daily = stored_day_means_c(store, day_mean_key(key), start, end)
    if key.channel == DAY_MEAN_CHANNEL:
        return daily
    hourly = daily_mean_from_hourly_c(store.aggregate(key, start, end, "1h", "mean"))
    if daily.empty:
        return hourly
    out = daily.combine_first(hourly)
    out.name = "temp_mean_c"
    return out


def stored_day_means_c(store, key: SeriesKey, start: datetime, end: datetime) -> pd.Series:
    """A daily-mean series' values in ``[start, end)`` by local day; a value not at a local midnight is ignored
    (it cannot be a day's mean, so it is not taken for one)."""
    ts, values = store.read_raw_ms(key, to_ms(start), to_ms(end))
    index = pd.DatetimeIndex(pd.to_datetime(ts, unit="ms", utc=True)).tz_convert(LOCAL_TZ)
    at_midnight = index == index.normalize()
    return pd.Series(np.asarray(values, dtype=float)[at_midnight], index=index[at_midnight], name="temp_mean_c")


def daily_mean_from_hourly_c(hourly_mean_c: pd.Series) -> pd.Series:
    """Local-day means of hourly means (index: UTC or aware hour starts); NaN below half the day's hours."""
    if hourly_mean_c.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz=LOCAL_TZ), name="temp_mean_c")
    local = hourly_mean_c.copy()
    local.index = pd.DatetimeIndex(local.index).tz_convert(LOCAL_TZ)
    day = local.index.normalize()
    grouped = local.groupby(day)
    mean = grouped.mean()
    have = grouped.count()
    days = pd.DatetimeIndex(mean.index)
    n_hours = day_hours(days)  # 23, 24 or 25 on DST days
    mean[have.to_numpy() < MIN_HOURS_SHARE * n_hours] = np.nan
    mean.name = "temp_mean_c"
    return mean
