"""Simulated Sorø buildings: a load pattern per hour of the week, rooftop PV, meter counters.

Deterministic for a given time, so tests can compute what a meter must show.
The shapes are plausible, not measured: a town hall busy in office hours, a
sports hall busy in the evenings and at weekends, a library with opening hours.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from energimon.model import LOCAL_TZ


@dataclass(frozen=True)
class BuildingModel:
    site: str
    name: str
    latitude: float
    longitude: float
    base_load_w: float
    peak_load_w: float
    pv_kwp: float
    # (weekday 0=Monday, start hour, end hour) in local time when the building is in use
    busy: tuple[tuple[int, float, float], ...]

    def occupancy(self, t_s: float) -> float:
        local = datetime.fromtimestamp(t_s, tz=UTC).astimezone(LOCAL_TZ)
        hour = local.hour + local.minute / 60
        for weekday, start, end in self.busy:
            if local.weekday() == weekday and start <= hour < end:
                # ramp up and down over half an hour at each end
                return min(1.0, (hour - start) * 2, (end - hour) * 2)
        return 0.0

    def load_w(self, t_s: float) -> float:
        """Building consumption (before PV), W."""
        minute_noise = _noise(self.site, int(t_s // 60))
        return self.base_load_w * (1 + 0.05 * minute_noise) + self.peak_load_w * self.occupancy(t_s) * (
            0.9 + 0.1 * minute_noise
        )

    def pv_w(self, t_s: float) -> float:
        """PV AC output, W: a clear-sky-shaped day scaled by a slowly varying cloud factor."""
        if self.pv_kwp <= 0:
            return 0.0
        elevation = solar_elevation_deg(t_s, self.latitude, self.longitude)
        if elevation <= 0:
            return 0.0
        clear = math.sin(math.radians(elevation)) ** 1.2
        clouds = 0.55 + 0.45 * (0.5 + 0.5 * _noise(self.site + "/sky", int(t_s // 1800)))
        return self.pv_kwp * 1000 * 0.85 * clear * clouds

    def net_w(self, t_s: float) -> float:
        """Grid power at the main meter, W: + import, − export."""
        return self.load_w(t_s) - self.pv_w(t_s)


def solar_elevation_deg(t_s: float, lat: float, lon: float) -> float:
    """Approximate solar elevation (Cooper's declination, no equation of time): good to ~1-2°."""
    dt = datetime.fromtimestamp(t_s, tz=UTC)
    day = dt.timetuple().tm_yday
    decl = math.radians(23.45) * math.sin(math.radians(360 * (284 + day) / 365))
    solar_hour = dt.hour + dt.minute / 60 + dt.second / 3600 + lon / 15
    hour_angle = math.radians(15 * (solar_hour - 12))
    phi = math.radians(lat)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_el))))


def _noise(key: str, n: int) -> float:
    """Deterministic pseudo-random number in [-1, 1] for (key, n)."""
    h = hashlib.blake2b(f"{key}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**63 - 1.0


_WEEKDAYS = range(5)

SORO_BUILDINGS: tuple[BuildingModel, ...] = (
    BuildingModel(
        site="soro-raadhus", name="Sorø Rådhus", latitude=55.4318, longitude=11.5560,
        base_load_w=9_000, peak_load_w=38_000, pv_kwp=60,
        busy=tuple((d, 7.5, 16.0) for d in _WEEKDAYS),
    ),
    BuildingModel(
        site="stenlille-hallen", name="Stenlille hallen", latitude=55.5390, longitude=11.5950,
        base_load_w=5_000, peak_load_w=30_000, pv_kwp=80,
        busy=(*((d, 15.0, 22.0) for d in _WEEKDAYS), (5, 8.0, 18.0), (6, 9.0, 17.0)),
    ),
    BuildingModel(
        site="dianalund-bibliotek", name="Dianalund Bibliotek", latitude=55.5330, longitude=11.4930,
        base_load_w=2_500, peak_load_w=11_000, pv_kwp=20,
        busy=(*((d, 10.0, 19.0) for d in _WEEKDAYS), (5, 10.0, 14.0)),
    ),
)


def outdoor_temp_c(t_s: float) -> float:
    """A Danish-looking outdoor temperature: 8 °C mean, ±8 °C over the year (coldest early
    February), ±3 °C over the day (warmest mid-afternoon)."""
    day = t_s / 86400
    seasonal = -8.0 * math.cos(2 * math.pi * (day - 35) / 365.25)  # day 35 of the year ~ 4 February
    daily = -3.0 * math.cos(2 * math.pi * ((t_s % 86400) / 86400 - 0.125))  # 03:00 UTC coldest
    return 8.0 + seasonal + daily


@dataclass(frozen=True)
class HeatingModel:
    """District heating of a building: space heating below 17 °C (the Danish degree-day base)
    plus hot water, with a constant supply temperature and the return following the load.

    The cooling (supply − return) is 32 K at light load and rises to 38 K at full load, as a well-adjusted
    installation cools (utilities ask for about 30 K: see analytics/district_heating.py).  ``bypass_k`` is an
    injected fault: a leaking bypass or a hot-water circulation short-circuit lifts the return by that much from
    ``bypass_from_s`` until ``bypass_until_s`` (bad cooling, and more water through the meter for the same
    heat)."""

    ua_w_per_k: float = 2_500.0  # heat loss coefficient of the building
    hot_water_w: float = 4_000.0
    supply_c: float = 70.0
    bypass_k: float = 0.0
    bypass_from_s: float = 0.0
    bypass_until_s: float = math.inf

    def heat_w(self, t_s: float) -> float:
        return self.ua_w_per_k * max(0.0, 17.0 - outdoor_temp_c(t_s)) + self.hot_water_w

    def return_c(self, t_s: float) -> float:
        # closed at both ends: the meter integrates hour by hour with the trapezoid rule, so a fault that ends on an
        # hour boundary still counts at that boundary and its counters never step back (mbus_gateway._hourly)
        bypass = self.bypass_k if self.bypass_from_s <= t_s <= self.bypass_until_s else 0.0
        return self.supply_c - 32.0 - 6.0 * min(1.0, self.heat_w(t_s) / 50_000.0) + bypass

    def flow_m3_h(self, t_s: float) -> float:
        # Q = rho * c_p * V' * dT  ->  V' = Q / (1.163 kWh/(m3 K) * dT)   (water at ~60 °C)
        return self.heat_w(t_s) / 1000.0 / (1.163 * (self.supply_c - self.return_c(t_s)))


@dataclass
class MainMeter:
    """A grid meter integrating a building's net power into import/export counters."""

    building: BuildingModel
    t_s: float
    import_wh: float = 0.0
    export_wh: float = 0.0
    step_s: float = field(default=10.0, repr=False)

    def advance(self, t_s: float) -> None:
        """Integrate net power up to ``t_s`` (trapezoid in steps of at most ``step_s``)."""
        while self.t_s < t_s:
            t1 = min(t_s, self.t_s + self.step_s)
            p = 0.5 * (self.building.net_w(self.t_s) + self.building.net_w(t1))
            e_wh = p * (t1 - self.t_s) / 3600
            if e_wh >= 0:
                self.import_wh += e_wh
            else:
                self.export_wh -= e_wh
            self.t_s = t1
