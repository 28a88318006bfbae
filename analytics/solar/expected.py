"""Expected PV yield with pvlib, offline: clear-sky envelope per array and hour.

Chain (all pvlib, no network: the Linke turbidity and altitude files ship in the wheel):

1. solar position (NREL SPA, numpy) at the middle of each sub-hourly step;
2. clear-sky GHI/DNI/DHI, Ineichen/Perez with the Linke turbidity climatology for the site
   and the site's altitude from pvlib's lookup;
3. transposition to the array's plane (Hay-Davies, ground albedo 0.25) → POA irradiance G_POA;
4. cell temperature, SAPM (open rack, glass/polymer) at a fixed air temperature and wind speed;
5. PVWatts DC (P_DC0 = kWp, γ = −0.4 %/K), minus the configured system losses, and PVWatts AC
   (nominal efficiency 96 %, AC rating = DC rating).

Results are hourly energies on Europe/Copenhagen hours (epoch-aligned, so the same hours
as the store's ``"1h"`` windows): ``poa_wh_m2`` (H_POA, the IEC 61724-1 in-plane
irradiation), ``dc_wh`` and ``ac_wh``.  Each step's power is taken at its midpoint and
summed (midpoint rule).  Results are cached per array and local day, and a range
computes all missing days in one vectorised call.

This is an **envelope**: the most a clean, unshaded array would give under a cloudless
sky.  A ratio against it is not an IEC 61724-1 performance ratio, which needs measured
irradiance.
"""

from __future__ import annotations

import datetime as dt
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.model import LOCAL_TZ

STEP_MIN = 15  # sub-hourly step of the model (midpoints at :07:30, :22:30, :37:30, :52:30)
G_STC_W_M2 = 1000.0


@dataclass(frozen=True)
class ArraySpec:
    """One array: location, orientation, size and model assumptions (hashable: the cache key)."""

    latitude: float
    longitude: float
    kwp: float
    tilt_deg: float
    azimuth_deg: float  # 0 = north, 180 = south
    losses_percent: float = 14.0  # PVWatts' default system losses (soiling, wiring, mismatch, …)
    gamma_pdc_per_k: float = -0.004
    inverter_eta: float = 0.96
    temp_air_c: float = 20.0
    wind_speed_m_s: float = 1.0
    albedo: float = 0.25


_cache: dict[tuple[ArraySpec, dt.date], pd.DataFrame] = {}
_lock = threading.Lock()
_CACHE_MAX_DAYS = 50_000


def cache_clear() -> None:
    with _lock:
        _cache.clear()


def cache_size() -> int:
    return len(_cache)


def _local_days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def _day_edges_utc(days: list[dt.date]) -> pd.DatetimeIndex:
    """Local midnights of ``days`` and the day after the last one, in UTC."""
    local = pd.DatetimeIndex([pd.Timestamp(d) for d in days] + [pd.Timestamp(days[-1] + dt.timedelta(days=1))])
    return local.tz_localize(LOCAL_TZ).tz_convert("UTC")


def _model(spec: ArraySpec, hours_utc: pd.DatetimeIndex) -> pd.DataFrame:
    """Hourly energies for the given hour starts (UTC)."""
    import pvlib

    n_sub = 60 // STEP_MIN
    offsets = pd.to_timedelta((np.arange(n_sub) + 0.5) * STEP_MIN, unit="min")
    times = hours_utc.repeat(n_sub) + pd.TimedeltaIndex(np.tile(offsets, len(hours_utc)))
    altitude = pvlib.location.lookup_altitude(spec.latitude, spec.longitude)
    loc = pvlib.location.Location(spec.latitude, spec.longitude, tz="UTC", altitude=altitude)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, model="ineichen", solar_position=sp)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    poa = pvlib.irradiance.get_total_irradiance(
        spec.tilt_deg, spec.azimuth_deg, sp["apparent_zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"],
        dni_extra=dni_extra, model="haydavies", albedo=spec.albedo)
    g_poa = poa["poa_global"].fillna(0.0).clip(lower=0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]
    t_cell = pvlib.temperature.sapm_cell(g_poa, spec.temp_air_c, spec.wind_speed_m_s, **params)
    pdc0_w = spec.kwp * 1000.0
    dc = pvlib.pvsystem.pvwatts_dc(g_poa, t_cell, pdc0_w, spec.gamma_pdc_per_k) * (1 - spec.losses_percent / 100)
    ac = pvlib.inverter.pvwatts(dc, pdc0_w / spec.inverter_eta, eta_inv_nom=spec.inverter_eta)
    ac = ac.clip(lower=0.0)  # no night-time tare consumption in an envelope
    step_h = STEP_MIN / 60.0

    def per_hour(x: pd.Series) -> np.ndarray:
        return np.asarray(x, dtype=float).reshape(len(hours_utc), n_sub).sum(axis=1) * step_h

    return pd.DataFrame({"poa_wh_m2": per_hour(g_poa), "dc_wh": per_hour(dc.clip(lower=0.0)),
                         "ac_wh": per_hour(ac)}, index=hours_utc)


def clear_sky_hourly(spec: ArraySpec, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Clear-sky envelope per hour for the local days ``[start, end)``.

    Index: hour starts in Europe/Copenhagen (23/24/25 per day); columns ``poa_wh_m2``
    (in-plane irradiation H_POA in Wh/m²), ``dc_wh``, ``ac_wh``.
    """
    if end <= start:
        raise ValueError(f"end {end} must be after start {start}")
    days = _local_days(start, end)
    with _lock:
        missing = [d for d in days if (spec, d) not in _cache]
    if missing:
        edges = _day_edges_utc(missing)
        hours = pd.DatetimeIndex(np.concatenate([
            pd.date_range(edges[i], edges_next, freq="1h", inclusive="left").as_unit("ns").asi8
            for i, edges_next in enumerate(_day_edges_utc([d])[1] for d in missing)]), tz="UTC")
        with warnings.catch_warnings():  # pvlib 0.16 on pandas 3: DatetimeIndex.dayofyear deprecation
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=DeprecationWarning)
            frame = _model(spec, hours)
        day_of_hour = pd.DatetimeIndex(frame.index).tz_convert(LOCAL_TZ).date
        with _lock:
            if len(_cache) + len(missing) > _CACHE_MAX_DAYS:
                _cache.clear()
            for d, part in frame.groupby(pd.Series(day_of_hour, index=frame.index)):
                _cache[(spec, d)] = part
    with _lock:
        parts = [_cache[(spec, d)] for d in days]
    out = pd.concat(parts)
    out.index = pd.DatetimeIndex(out.index).tz_convert(LOCAL_TZ)
    return out


def clear_sky_day_kwh(spec: ArraySpec, day: dt.date) -> float:
    """Clear-sky AC energy of one local day, kWh."""
    return float(clear_sky_hourly(spec, day, day + dt.timedelta(days=1))["ac_wh"].sum()) / 1000.0


def spec_for(site, array) -> ArraySpec:
    """An :class:`ArraySpec` from the settings' ``Site`` and ``PvArray``."""
    return ArraySpec(site.latitude, site.longitude, array.kwp, array.tilt_deg, array.azimuth_deg,
                     losses_percent=array.losses_percent)
