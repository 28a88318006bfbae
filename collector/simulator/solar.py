"""Synthetic counter data for PV sites (tests, benchmark, demonstrations), vectorised.

Uses the demo buildings' parameters (:data:`energimon.collector.simulator.buildings.SORO_BUILDINGS`:
base and peak load, opening hours, kWp) with numpy instead of the simulator's per-sample Python, so a
year of 1-minute data for three sites is generated in seconds.  PV follows the simulator's
clear-sky-shaped day (sine of the solar elevation) times a cloudiness per day and per half hour.
Counters are written exactly as the collector would: grid ``energy_import_wh`` / ``energy_export_wh``
(the main meter nets load and PV per step) and the inverter's ``pv_energy_wh``.

Outages: ``pv_outages`` switch the inverter off (no production, no readings: its counter stays flat,
the building imports instead); ``meter_outages`` drop the grid meter's readings (it keeps counting).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from energimon.calendar import local_midnight
from energimon.collector.simulator.buildings import BuildingModel
from energimon.model import LOCAL_TZ, Reading

Window = tuple[pd.Timestamp, pd.Timestamp]


def solar_elevation_deg(t_s: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """The simulator's approximate solar elevation (Cooper's declination), vectorised."""
    ts = pd.to_datetime(t_s, unit="s", utc=True)
    day = ts.day_of_year.to_numpy()
    decl = np.radians(23.45) * np.sin(np.radians(360 * (284 + day) / 365))
    solar_hour = (t_s % 86400) / 3600 + lon / 15
    hour_angle = np.radians(15 * (solar_hour - 12))
    phi = np.radians(lat)
    sin_el = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(hour_angle)
    return np.degrees(np.arcsin(np.clip(sin_el, -1, 1)))


def _in_windows(t_s: np.ndarray, windows: Sequence[Window]) -> np.ndarray:
    mask = np.zeros(len(t_s), dtype=bool)
    for a, b in windows:
        mask |= (t_s >= a.timestamp()) & (t_s < b.timestamp())
    return mask


def site_profile(b: BuildingModel, start: dt.date, end: dt.date, step_s: int = 60, seed: int = 0,
                 pv_outages: Sequence[Window] = ()) -> pd.DataFrame:
    """Load and PV power (W) per step over local days ``[start, end)``; index UTC seconds."""
    t0 = local_midnight(start).timestamp()
    t1 = local_midnight(end).timestamp()
    return power_at(b, np.arange(t0, t1 + step_s, step_s, dtype=np.int64), seed, pv_outages)


def power_at(b: BuildingModel, t_s: np.ndarray, seed: int = 0, pv_outages: Sequence[Window] = ()) -> pd.DataFrame:
    """Load and PV power (W) at the UTC seconds ``t_s`` (increasing; any spacing); index UTC seconds.
    Clouds vary per day and per half hour counted from ``t_s[0]``."""
    t_s = np.asarray(t_s, dtype=np.int64)
    rng = np.random.default_rng(seed)
    local = pd.to_datetime(t_s, unit="s", utc=True).tz_convert(LOCAL_TZ)
    hour = local.hour.to_numpy() + local.minute.to_numpy() / 60
    weekday = local.day_of_week.to_numpy()
    occ = np.zeros(len(t_s))
    for wd, a, c in b.busy:
        m = (weekday == wd) & (hour >= a) & (hour < c)
        occ[m] = np.minimum(1.0, np.minimum((hour[m] - a) * 2, (c - hour[m]) * 2))
    noise = rng.uniform(-1, 1, len(t_s))
    load = b.base_load_w * (1 + 0.05 * noise) + b.peak_load_w * occ * (0.9 + 0.1 * noise)
    el = solar_elevation_deg(t_s.astype(float), b.latitude, b.longitude)
    clear = np.where(el > 0, np.sin(np.radians(np.maximum(el, 0))) ** 1.2, 0.0)
    day_idx = ((t_s - t_s[0]) // 86400).astype(int)
    day_sky = rng.beta(2.0, 1.2, day_idx.max() + 1) * 0.85 + 0.15  # overcast .. clear days
    half_hour = ((t_s - t_s[0]) // 1800).astype(int)
    jitter = 0.8 + 0.2 * rng.uniform(0, 1, half_hour.max() + 1)
    pv = b.pv_kwp * 1000 * 0.85 * clear * day_sky[day_idx] * jitter[half_hour]
    pv[_in_windows(t_s, pv_outages)] = 0.0
    return pd.DataFrame({"load_w": load, "pv_w": pv}, index=pd.Index(t_s, name="t_s"))


def step_energy_wh(profile: pd.DataFrame) -> pd.DataFrame:
    """Energy (Wh) of each step of a :func:`power_at` profile, from one sample time to the next (the power at
    the step's start, as :func:`counters` does): ``import_wh``, ``export_wh`` (the meter nets load − PV) and
    ``pv_wh``; one row fewer than the profile, indexed by the step's end."""
    t = profile.index.to_numpy(dtype=float)
    dt_h = np.diff(t) / 3600
    net = (profile["load_w"] - profile["pv_w"]).to_numpy()[:-1] * dt_h
    return pd.DataFrame({"import_wh": np.maximum(net, 0), "export_wh": np.maximum(-net, 0),
                         "pv_wh": profile["pv_w"].to_numpy()[:-1] * dt_h}, index=profile.index[1:])


def counters(profile: pd.DataFrame, step_s: int) -> pd.DataFrame:
    """Import, export and PV counters (Wh) from powers: the meter nets load − PV per step."""
    net_wh = (profile["load_w"] - profile["pv_w"]).to_numpy() * step_s / 3600
    pv_wh = profile["pv_w"].to_numpy() * step_s / 3600
    # energy of step k (from t_k to t_k+1) shows at t_k+1
    imp = np.concatenate(([0.0], np.cumsum(np.maximum(net_wh, 0))[:-1]))
    exp = np.concatenate(([0.0], np.cumsum(np.maximum(-net_wh, 0))[:-1]))
    pv = np.concatenate(([0.0], np.cumsum(pv_wh)[:-1]))
    return pd.DataFrame({"import_wh": imp + 5_000_000, "export_wh": exp + 100_000, "pv_wh": pv + 20_000_000},
                        index=profile.index)


def site_readings(b: BuildingModel, start: dt.date, end: dt.date, step_s: int = 60, seed: int = 0,
                  pv_outages: Sequence[Window] = (), meter_outages: Sequence[Window] = (),
                  with_export: bool = True, chunk: int = 200_000) -> Iterator[list[Reading]]:
    """Readings in chunks (``hovedmaaler`` grid counters, ``inverter`` PV counter)."""
    prof = site_profile(b, start, end, step_s, seed, pv_outages)
    c = counters(prof, step_s)
    t_s = c.index.to_numpy()
    pv_ok = ~_in_windows(t_s, pv_outages)
    grid_ok = ~_in_windows(t_s, meter_outages)
    series = [("hovedmaaler", "grid", "energy_import_wh", c["import_wh"].to_numpy(), grid_ok),
              ("inverter", "pv", "pv_energy_wh", c["pv_wh"].to_numpy(), pv_ok)]
    if with_export:
        series.append(("hovedmaaler", "grid", "energy_export_wh", c["export_wh"].to_numpy(), grid_ok))
    ms = (t_s * 1000).tolist()
    for device, role, channel, values, ok in series:
        vals = values.tolist()
        idx = np.nonzero(ok)[0].tolist()
        for k in range(0, len(idx), chunk):
            yield [Reading(b.site, device, channel, role, ms[i], vals[i]) for i in idx[k:k + chunk]]


def write_sites(store, buildings: Sequence[BuildingModel], start: dt.date, end: dt.date, step_s: int = 60,
                **kw) -> int:
    """Write every building's readings to ``store``; returns the number written.  ``kw`` per building id:
    ``pv_outages={site: [...]}``, ``meter_outages={site: [...]}``, ``net_only={site, …}``."""
    n = 0
    for i, b in enumerate(buildings):
        for batch in site_readings(b, start, end, step_s, seed=i,
                                   pv_outages=kw.get("pv_outages", {}).get(b.site, ()),
                                   meter_outages=kw.get("meter_outages", {}).get(b.site, ()),
                                   with_export=b.site not in kw.get("net_only", set())):
            rejected = store.write(batch)
            if rejected:
                raise ValueError(f"store refused {len(rejected)} readings: {rejected[0].reason}")
            n += len(batch)
    return n
