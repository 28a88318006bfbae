"""Synthetic buildings with a known saving: for tests, the benchmark and demonstrations.

A building whose daily use follows a CalTRACK heating model
``U = μ + β_H·max(0, T_b − T)`` plus noise, with an injected saving of a known
number of kWh per day from the measure date.  Readings are hourly, written as an
energy counter (Wh) and an outdoor temperature, exactly as the collector would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.calendar import local_day_index, local_midnight
from energimon.model import LOCAL_TZ, Reading


@dataclass(frozen=True)
class SyntheticBuilding:
    site: str
    intercept_kwh_per_day: float = 400.0
    beta_hdd_kwh_per_k_day: float = 25.0
    balance_c: float = 15.0
    noise_kwh_per_day: float = 15.0
    saving_kwh_per_day: float = 60.0
    device: str = "hovedmaaler"
    weather_device: str = "vejr"
    weekend_factor: float = 1.0  # the day's use on Saturdays and Sundays relative to weekdays
    office_hours: bool = False  # weekdays 07-17 use three times the other hours' rate (same daily total)


def daily_temperature_c(days: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """A Danish-looking year: 8 °C mean, ±9 °C seasonal swing (coldest mid-January), AR(1) weather noise."""
    rng = np.random.default_rng(seed)
    doy = days.day_of_year.to_numpy()
    seasonal = 8.0 - 9.0 * np.cos(2 * math.pi * (doy - 15) / 365.25)
    noise = np.zeros(len(days))
    for i in range(1, len(days)):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 2.0)
    return seasonal + noise


def synthetic_readings(b: SyntheticBuilding, start: dt.date, end: dt.date, measure: dt.date,
                       seed: int = 1, with_temperature: bool = True) -> tuple[list[Reading], pd.DataFrame]:
    """Hourly counter and temperature readings for ``[start, end)`` (local days) and the truth per day.

    The truth frame has ``temp_c``, ``usage_kwh`` (what the meter measured) and
    ``saving_kwh`` (injected) per local day.  Energy is spread evenly over the
    hours of each local day (23/24/25 on DST days).
    """
    days = local_day_index(start, end)
    rng = np.random.default_rng(seed + 1000)
    temp = daily_temperature_c(days, seed)
    saving = np.where(days >= pd.Timestamp(local_midnight(measure)), b.saving_kwh_per_day, 0.0)
    weekend = days.day_of_week.to_numpy() >= 5
    usage = ((b.intercept_kwh_per_day + b.beta_hdd_kwh_per_k_day * np.maximum(0.0, b.balance_c - temp))
             * np.where(weekend, b.weekend_factor, 1.0) + rng.normal(0, b.noise_kwh_per_day, len(days)) - saving)
    edges = local_day_index(start, end + dt.timedelta(days=1))
    edge_ms = edges.tz_convert("UTC").as_unit("ms").asi8
    n_hours = ((edge_ms[1:] - edge_ms[:-1]) // 3_600_000).astype(int)
    hour_ms = np.concatenate([np.arange(a, b_, 3_600_000) for a, b_ in itertools.pairwise(edge_ms)])
    if b.office_hours:
        local = pd.DatetimeIndex(pd.to_datetime(hour_ms, unit="ms", utc=True)).tz_convert(LOCAL_TZ)
        open_ = (local.day_of_week.to_numpy() < 5) & (local.hour.to_numpy() >= 7) & (local.hour.to_numpy() < 17)
        weight = np.where(open_, 3.0, 1.0)
        day_of_hour = np.repeat(np.arange(len(days)), n_hours)
        weight_sum = np.bincount(day_of_hour, weights=weight)
        per_hour_wh = usage[day_of_hour] * 1000.0 * weight / weight_sum[day_of_hour]
    else:
        per_hour_wh = np.repeat(usage * 1000.0 / n_hours, n_hours)
    counter = np.concatenate([[0.0], np.cumsum(per_hour_wh)]) + 1_000_000.0
    ts = np.concatenate([hour_ms, [edge_ms[-1]]])
    out = [Reading(b.site, b.device, "energy_import_wh", "grid", int(t), float(v))
           for t, v in zip(ts, counter, strict=True)]
    if with_temperature:
        hour_temp = np.repeat(temp, n_hours) + 2.0 * np.sin(2 * math.pi * (np.arange(len(hour_ms)) % 24) / 24)
        out += [Reading(b.site, b.weather_device, "outdoor_temp_c", "weather", int(t), round(float(v), 2))
                for t, v in zip(hour_ms, hour_temp, strict=True)]
    truth = pd.DataFrame({"temp_c": temp, "usage_kwh": usage, "saving_kwh": saving}, index=days)
    return out, truth
