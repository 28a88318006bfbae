"""District-heating cooling and water-leak rules: pure functions over the daily cooling and nightly minimum flow
(``analytics/district_heating.py``, ``analytics/water.py``), and the loader that reads their input.

``bad_cooling``  the volume-weighted ΔT of ``min_days`` judged days in a row below the utility's requirement
                 (days with too little water through the meter are not judged and end a run);
``water_leak``   the lowest hourly flow of ``min_nights`` nights in a row above ``threshold_m3_h``.

Neither is an energy waste the rules can price in kWh (the utility bills bad cooling by its own tariff, a leak
in m³), so their findings carry no kWh per day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from energimon.analytics import district_heating, water
from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import AlertSettings, BadCoolingRule, WaterLeakRule
from energimon.model import LOCAL_TZ
from energimon.store import energy

if TYPE_CHECKING:
    from energimon.analytics.anomaly.engine import SiteData

LOOKBACK_DAYS = 7  # beyond the rule's run, so the start of a run is found


def bad_cooling(daily: pd.DataFrame, last_day: dt.date, required_k: float, p: BadCoolingRule, site: str,
                device: str) -> Finding | None:
    """Dårlig afkøling: ``daily`` (:func:`~energimon.analytics.district_heating.cooling_by_day`) below
    ``required_k`` on each of the ``p.min_days`` judged days ending with ``last_day`` (the last complete day)."""
    run = district_heating.bad_cooling_run(daily, last_day, required_k)
    if len(run) < p.min_days:
        return None
    sel = daily.reindex(pd.Index(run))
    vol = float(sel["volume_m3"].sum())
    mean = float((sel["volume_m3"] * sel["delta_t_vw_k"]).sum() / vol) if vol > 0 else math.nan
    since = pd.Timestamp(dt.datetime.combine(run[0], dt.time()), tz=LOCAL_TZ)
    return Finding(
        rule="bad_cooling", site=site, device=device, severity=p.severity,
        since=since.tz_convert("UTC").to_pydatetime(),
        evidence={"delta_t_k": round(mean, 1), "last_day_delta_t_k": round(float(sel["delta_t_vw_k"].iloc[-1]), 1),
                  "required_k": round(required_k, 1), "days": len(run), "volume_m3": round(vol, 1),
                  "date": run[-1].isoformat()},
    )


def water_leak(night_min: pd.Series, end: pd.Timestamp, p: WaterLeakRule, site: str, device: str) -> Finding | None:
    """Vandspild: the night's lowest hourly flow above ``p.threshold_m3_h`` on ``p.min_nights`` nights in a row,
    the last being the latest night that is over at ``end``."""
    end_local = end.tz_convert(LOCAL_TZ)
    last = end_local.date()
    if end_local.hour < p.night_end_h:  # tonight's night is not over yet
        last -= dt.timedelta(days=1)
    run = water.leak_run(night_min, last, p.threshold_m3_h)
    if len(run) < p.min_nights:
        return None
    lows = night_min.reindex(pd.Index(run))
    lowest = float(lows.min())
    since = pd.Timestamp(dt.datetime.combine(run[0], dt.time(p.night_start_h)), tz=LOCAL_TZ)
    return Finding(
        rule="water_leak", site=site, device=device, severity=p.severity,
        since=since.tz_convert("UTC").to_pydatetime(),
        evidence={"night_min_m3_h": round(float(lows.iloc[-1]), 3), "lowest_m3_h": round(lowest, 3),
                  "threshold_m3_h": p.threshold_m3_h, "nights": len(run),
                  "night": f"{p.night_start_h:02d}-{p.night_end_h:02d}",
                  "leak_m3_per_day": round(lowest * 24, 2), "date": run[-1].isoformat()},
    )


def findings(data: SiteData, cfg: AlertSettings, end: pd.Timestamp, last_day: dt.date) -> list[Finding | None]:
    """Both rules for every heat and water meter of the site (as loaded by :func:`load`)."""
    r = cfg.rules
    out: list[Finding | None] = []
    if r.bad_cooling.enabled:
        required = cfg.required_cooling_k(data.site)
        for device, daily in data.cooling.items():
            out.append(bad_cooling(daily, last_day, required, r.bad_cooling, data.site, device))
    if r.water_leak.enabled:
        for device, night_min in data.water_nights.items():
            out.append(water_leak(night_min, end, r.water_leak, data.site, device))
    return out


def load(store, data: SiteData, cfg: AlertSettings, series: pd.DataFrame, end: pd.Timestamp,
         live: Callable[[str], bool]) -> None:
    """Fill ``data.cooling`` (per heat meter with a volume counter) and ``data.water_nights`` (per water meter)
    with the days the rules look at."""
    r = cfg.rules
    if r.bad_cooling.enabled:
        days = r.bad_cooling.min_days + LOOKBACK_DAYS
        start = (end - pd.Timedelta(days=days)).tz_convert(LOCAL_TZ).normalize()
        heat = energy.site_meters(series, data.site, "district_heating", live)
        vols = set(series[(series["site"] == data.site) & (series["channel"] == "volume_m3")]["device"])
        for k in heat.consumption:
            if k.device in vols:
                hours = district_heating.heat_hours(store, data.site, k.device, start.to_pydatetime(),
                                                    end.to_pydatetime())
                data.cooling[k.device] = district_heating.cooling_by_day(hours, r.bad_cooling.min_volume_m3_per_day)
    if r.water_leak.enabled:
        p = r.water_leak
        start = (end - pd.Timedelta(days=p.min_nights + LOOKBACK_DAYS)).tz_convert(LOCAL_TZ).normalize()
        for k in energy.site_meters(series, data.site, "water", live).consumption:
            vol = water.water_hours(store, data.site, k.device, start.to_pydatetime(), end.to_pydatetime())
            data.water_nights[k.device] = water.night_min_flow_m3_h(vol, p.night_start_h, p.night_end_h)
