"""A simulated water meter on the M-Bus (beside the town hall's MULTICAL), and the history of both meters.

The water meter answers ``REQ_UD2`` like any EN 13757-3 meter: the fixed header with medium 07h (water) and
the records volume (DIF 04h, VIF 13h = m³·10⁻³, i.e. litres), volume flow (04 3B, l/h) and its clock (04 6D,
type F).  No particular product's datagram: the collector reads the standard's VIFs, not a vendor's layout.
The manufacturer code ``DEM`` is made up for the demo.

The town hall's water use (:class:`WaterModel`) is a flow per local hour — nothing at night, a morning and
afternoon peak on working days — plus an injected leak (``leak_m3_h`` from ``leak_from_s`` until
``leak_until_s``; whole hours: the flow is constant within each hour).  The counter is
the exact integral since :data:`~energimon.collector.simulator.mbus_gateway.COUNTER_EPOCH_S` (the flow is
constant within each hour), so a restarted demo continues it and a history written from the same model meets
the live meter without a jump.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.collector.simulator.buildings import HeatingModel
from energimon.collector.simulator.mbus_gateway import (
    C_RSP_UD,
    CI_RSP_UD,
    COUNTER_EPOCH_S,
    SimulatedMultical,
    int_le,
    long_frame,
    type_f,
)
from energimon.model import LOCAL_TZ

MEDIUM_WATER = 0x07
START_M3 = 1_250.0  # the counter at COUNTER_EPOCH_S
WORKDAY_M3_H = {7: 0.15, 8: 0.45, 9: 0.35, 10: 0.3, 11: 0.4, 12: 0.55, 13: 0.35, 14: 0.3, 15: 0.25, 16: 0.1}
"""A town hall's working day, m³ per hour by local hour (toilets, kitchenette, cleaning); 0 otherwise."""


@dataclass(frozen=True)
class WaterModel:
    leak_m3_h: float = 0.0  # injected fault: a running cistern, a dripping pipe
    leak_from_s: float = 0.0
    leak_until_s: float = math.inf

    def flow_at(self, hour_starts_s: np.ndarray) -> np.ndarray:
        """Mean flow (m³/h) in each hour starting at ``hour_starts_s`` (UTC seconds on hour boundaries)."""
        local = pd.DatetimeIndex(pd.to_datetime(np.asarray(hour_starts_s, dtype=np.int64), unit="s", utc=True)
                                 ).tz_convert(LOCAL_TZ)
        workday = local.day_of_week.to_numpy() < 5
        base = np.array([WORKDAY_M3_H.get(h, 0.0) for h in range(24)])[local.hour.to_numpy()]
        h = np.asarray(hour_starts_s, dtype=float)
        leak = np.where((h >= self.leak_from_s) & (h < self.leak_until_s), self.leak_m3_h, 0.0)
        return np.where(workday, base, 0.0) + leak

    def volume_m3(self, times_s: np.ndarray) -> np.ndarray:
        """The counter (m³) at each time: the exact integral of the hourly flow since the epoch."""
        t = np.asarray(times_s, dtype=float)
        n_max = math.ceil((float(t.max()) - COUNTER_EPOCH_S) / 3600.0) + 1
        starts = COUNTER_EPOCH_S + 3600.0 * np.arange(n_max)
        flow = self.flow_at(starts)
        cum = np.concatenate(([0.0], np.cumsum(flow)))
        k = np.floor((t - COUNTER_EPOCH_S) / 3600.0).astype(np.int64)
        return START_M3 + cum[k] + flow[k] * (t - starts[k]) / 3600.0


@dataclass
class SimulatedWaterMeter(SimulatedMultical):
    """A water meter on the bus (primary ``address``); its answer carries volume, flow and clock."""

    address: int = 2
    ident: str = "71234502"
    water: WaterModel = field(default_factory=WaterModel)
    manufacturer: str = "DEM"
    version: int = 0x01
    medium: int = MEDIUM_WATER

    def rsp_ud(self, t_s: float) -> bytes:
        litres = int(self.water.volume_m3(np.array([t_s]))[0] * 1000)  # the register counts whole litres
        hour = COUNTER_EPOCH_S + 3600.0 * math.floor((t_s - COUNTER_EPOCH_S) / 3600.0)
        flow_l_h = round(float(self.water.flow_at(np.array([hour]))[0]) * 1000)
        local = dt.datetime.fromtimestamp(t_s, tz=dt.UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)
        records = (b"\x04\x13" + int_le(litres, 4)  # VIF 13h = m³·10⁻³
                   + b"\x04\x3b" + int_le(flow_l_h, 4)  # VIF 3Bh = m³/h·10⁻³ (l/h)
                   + b"\x04\x6d" + type_f(local))
        return long_frame(C_RSP_UD, self.address, CI_RSP_UD, self.header() + records)


# -- history: what the two meters would have sent ---------------------------------------------------------
def heat_history(heating: HeatingModel, times_s: np.ndarray) -> dict[str, np.ndarray]:
    """The MULTICAL's channels at ``times_s`` as the collector stores them (Wh, m³, °C, W, m³/h), computed as
    :func:`~energimon.collector.simulator.mbus_gateway.live_state` does (the hourly trapezoid since the
    epoch, the meter's resolution) without its per-call integration."""
    t = np.asarray(times_s, dtype=float)
    n_max = math.ceil((float(t.max()) - COUNTER_EPOCH_S) / 3600.0) + 1
    hours = COUNTER_EPOCH_S + 3600.0 * np.arange(n_max)
    p_h = np.array([heating.heat_w(x) for x in hours])
    f_h = np.array([heating.flow_m3_h(x) for x in hours])
    e_cum = np.concatenate(([0.0], np.cumsum((p_h[1:] + p_h[:-1]) / 2)))  # Wh at each hour
    v_cum = np.concatenate(([0.0], np.cumsum((f_h[1:] + f_h[:-1]) / 2)))
    k = np.floor((t - COUNTER_EPOCH_S) / 3600.0).astype(np.int64)
    p_t = np.array([heating.heat_w(x) for x in t])
    f_t = np.array([heating.flow_m3_h(x) for x in t])
    frac = (t - hours[k]) / 3600.0
    energy_wh = e_cum[k] + (p_h[k] + p_t) / 2 * frac
    volume = v_cum[k] + (f_h[k] + f_t) / 2 * frac
    ret = np.array([heating.return_c(x) for x in t])
    return {"heat_energy_wh": (np.floor(energy_wh / 1000) + 250_000) * 1000.0,
            "volume_m3": (np.floor(volume * 100) + 400_000) / 100.0,
            "supply_temp_c": np.full(len(t), round(heating.supply_c * 100) / 100.0),
            "return_temp_c": np.round(ret * 100) / 100.0,
            "heat_power_w": np.round(p_t / 100) * 100.0,
            "flow_m3_h": np.round(f_t * 1000) / 1000.0}


def water_history(water: WaterModel, times_s: np.ndarray) -> dict[str, np.ndarray]:
    """The water meter's channels at ``times_s`` as the collector stores them (m³ in whole litres, m³/h)."""
    t = np.asarray(times_s, dtype=float)
    hour = COUNTER_EPOCH_S + 3600.0 * np.floor((t - COUNTER_EPOCH_S) / 3600.0)
    return {"volume_m3": np.floor(water.volume_m3(t) * 1000) / 1000.0,
            "flow_m3_h": np.round(water.flow_at(hour) * 1000) / 1000.0}
