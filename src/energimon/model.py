"""The data model every part of energimon agrees on.

A **series** is identified by ``site``, ``device`` and ``channel``; the device's
``role`` travels with it as metadata (a low-cardinality tag in InfluxDB).

Channels come from a closed vocabulary.  Units are SI and part of the name
(``power_w``, ``energy_import_wh``); there are no free-form units anywhere.

Sign convention (every device profile maps its own convention onto this):

* Energy is always two non-negative, non-decreasing counters:
  ``energy_import_wh`` (drawn from the grid) and ``energy_export_wh`` (fed into
  the grid).  A net/bidirectional counter is never stored as one signed number.
* ``power_w`` of a ``grid`` meter is positive when the building draws from the
  grid, negative when it exports.
* ``pv_power_w`` is positive when the array produces.
* Counters going backwards are resets, rollovers or meter swaps.  They are
  detected where consumption is computed (:mod:`energimon.store.counters`),
  never turned into negative consumption.

Missing is not zero: a reading that does not exist is absent (or an explicit
null), never ``0.0``.  :func:`validate_reading` (applied by the spool and the
stores) therefore refuses NaN and infinities.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import ClassVar
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Copenhagen")
"""Calendars, reports and schedules use Danish local time; storage is UTC."""


class Kind(StrEnum):
    GAUGE = "gauge"  # an instantaneous value (power, temperature)
    COUNTER = "counter"  # a non-decreasing total (energy, volume)


class Role(StrEnum):
    GRID = "grid"  # the building's main/utility meter
    PV = "pv"  # a solar inverter or PV production meter
    SUBMETER = "submeter"
    HEAT = "heat"  # district heating meter
    GAS = "gas"  # natural gas meter (volume; energy through the calorific value, see energimon.carriers)
    WATER = "water"  # cold water meter
    WEATHER = "weather"  # outdoor temperature, irradiance
    MARKET = "market"  # spot price and CO2 intensity of a price area (Energi Data Service)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    name: str
    unit: str
    kind: Kind
    description: str
    minimum: float | None = None  # physically impossible below this


_CHANNELS: tuple[ChannelInfo, ...] = (
    ChannelInfo("power_w", "W", Kind.GAUGE, "active power, + = drawn from the grid"),
    ChannelInfo("energy_import_wh", "Wh", Kind.COUNTER, "energy drawn from the grid", 0.0),
    ChannelInfo("energy_export_wh", "Wh", Kind.COUNTER, "energy fed into the grid", 0.0),
    ChannelInfo("pv_power_w", "W", Kind.GAUGE, "PV AC power, + = producing"),
    ChannelInfo("pv_energy_wh", "Wh", Kind.COUNTER, "PV AC energy produced", 0.0),
    ChannelInfo("pv_dc_power_w", "W", Kind.GAUGE, "PV DC input power"),
    ChannelInfo("voltage_v", "V", Kind.GAUGE, "line-to-neutral voltage (mean of phases)", 0.0),
    ChannelInfo("voltage_l1_v", "V", Kind.GAUGE, "phase L1 line-to-neutral voltage", 0.0),
    ChannelInfo("voltage_l2_v", "V", Kind.GAUGE, "phase L2 line-to-neutral voltage", 0.0),
    ChannelInfo("voltage_l3_v", "V", Kind.GAUGE, "phase L3 line-to-neutral voltage", 0.0),
    ChannelInfo("current_a", "A", Kind.GAUGE, "current (sum of phases)"),
    # per phase (L1-L3; Shelly's phases a, b, c): same conventions as the totals above
    ChannelInfo("power_l1_w", "W", Kind.GAUGE, "phase L1 active power, + = drawn from the grid"),
    ChannelInfo("power_l2_w", "W", Kind.GAUGE, "phase L2 active power, + = drawn from the grid"),
    ChannelInfo("power_l3_w", "W", Kind.GAUGE, "phase L3 active power, + = drawn from the grid"),
    ChannelInfo("current_l1_a", "A", Kind.GAUGE, "phase L1 current"),
    ChannelInfo("current_l2_a", "A", Kind.GAUGE, "phase L2 current"),
    ChannelInfo("current_l3_a", "A", Kind.GAUGE, "phase L3 current"),
    ChannelInfo("energy_import_l1_wh", "Wh", Kind.COUNTER, "energy drawn from the grid on phase L1", 0.0),
    ChannelInfo("energy_import_l2_wh", "Wh", Kind.COUNTER, "energy drawn from the grid on phase L2", 0.0),
    ChannelInfo("energy_import_l3_wh", "Wh", Kind.COUNTER, "energy drawn from the grid on phase L3", 0.0),
    ChannelInfo("energy_export_l1_wh", "Wh", Kind.COUNTER, "energy fed into the grid on phase L1", 0.0),
    ChannelInfo("energy_export_l2_wh", "Wh", Kind.COUNTER, "energy fed into the grid on phase L2", 0.0),
    ChannelInfo("energy_export_l3_wh", "Wh", Kind.COUNTER, "energy fed into the grid on phase L3", 0.0),
    ChannelInfo("frequency_hz", "Hz", Kind.GAUGE, "grid frequency", 0.0),
    ChannelInfo("reactive_power_var", "var", Kind.GAUGE, "reactive power"),
    ChannelInfo("power_factor", "1", Kind.GAUGE, "power factor"),
    ChannelInfo("heat_energy_wh", "Wh", Kind.COUNTER, "district heating energy", 0.0),
    ChannelInfo("heat_power_w", "W", Kind.GAUGE, "district heating power", 0.0),
    ChannelInfo("volume_m3", "m3", Kind.COUNTER, "volume through the meter (water, the heat meter's water, gas)",
                0.0),
    ChannelInfo("flow_m3_h", "m3/h", Kind.GAUGE, "volume flow"),
    ChannelInfo("supply_temp_c", "degC", Kind.GAUGE, "supply (forward) temperature"),
    ChannelInfo("return_temp_c", "degC", Kind.GAUGE, "return temperature"),
    ChannelInfo("operating_time_h", "h", Kind.COUNTER, "the meter's operating hour counter (hours it has measured)",
                0.0),
    ChannelInfo("outdoor_temp_c", "degC", Kind.GAUGE, "outdoor air temperature"),
    # one value per local day (Europe/Copenhagen), stored at the day's local midnight: a source's own daily mean
    # (DMI climateData, quality controlled), which degree days prefer to a mean of the hourly outdoor_temp_c
    ChannelInfo("outdoor_temp_day_mean_c", "degC", Kind.GAUGE, "mean outdoor air temperature of the local day"),
    ChannelInfo("irradiance_w_m2", "W/m2", Kind.GAUGE, "plane-of-array irradiance", 0.0),
    ChannelInfo("module_temp_c", "degC", Kind.GAUGE, "PV module temperature"),
    # the electricity market of a price area (Energi Data Service), stored as series of the area
    ChannelInfo("price_dkk_per_kwh", "DKK/kWh", Kind.GAUGE, "day-ahead spot price, excl. tariffs, taxes and VAT "
                "(can be negative)"),
    ChannelInfo("co2_g_per_kwh", "g/kWh", Kind.GAUGE, "CO2 intensity of the electricity consumed in the area", 0.0),
    # collector health, stored as series of the device itself
    ChannelInfo("device_online", "1", Kind.GAUGE, "1: the last poll got answers, 0: unreachable", 0.0),
    ChannelInfo("poll_errors", "1", Kind.COUNTER, "failed requests since the daemon started", 0.0),
    ChannelInfo("fields_missing", "1", Kind.GAUGE, "configured values the device does not deliver (quarantined)", 0.0),
    ChannelInfo("serial_changes", "1", Kind.COUNTER,
                "times the device's serial number changed (swapped device or wrong unit id)", 0.0),
    # what the meter itself reports about its health (M-Bus heat meters), 0 = no error
    ChannelInfo("info_code", "1", Kind.GAUGE, "the meter's own info/error bits as it sends them (vendor-specific "
                "bit field, e.g. Kamstrup's info code; 0 = no error)", 0.0),
    ChannelInfo("meter_status", "1", Kind.GAUGE, "status byte of the meter's M-Bus answer (EN 13757-3): 4 power low, "
                "8 permanent error, 16 temporary error, 1/2 application busy/error; 0 = no error", 0.0),
)

CHANNELS: dict[str, ChannelInfo] = {c.name: c for c in _CHANNELS}
"""The closed channel vocabulary, by name."""

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ID_RULE = "1-63 characters: lower-case letters a-z, digits, '-' or '_', starting with a letter or digit"

# Readings older than this or further in the future than MAX_FUTURE are refused:
# they come from a device with a wrong clock, not from the building.
MIN_TIMESTAMP_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_FUTURE_MS = 24 * 3600 * 1000


def is_valid_id(value: str) -> bool:
    """Site and device ids: short, lower-case, safe in file names, SQL and line protocol."""
    return bool(_ID_RE.match(value))


def channel_info(name: str) -> ChannelInfo:
    try:
        return CHANNELS[name]
    except KeyError:
        raise ValueError(
            f"unknown channel {name!r}; expected one of: {', '.join(sorted(CHANNELS))}"
        ) from None


@dataclass(frozen=True, slots=True)
class SeriesKey:
    site: str
    device: str
    channel: str

    def __str__(self) -> str:
        return f"{self.site}/{self.device}/{self.channel}"

    @classmethod
    def parse(cls, text: str) -> SeriesKey:
        """Parse ``site/device/channel`` (the CLI's way of naming a series)."""
        parts = text.split("/")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"series must be written site/device/channel, got {text!r}")
        channel_info(parts[2])
        return cls(*parts)


class OnConflict(StrEnum):
    """What a store does with a reading when its series already holds a value at the same millisecond.

    Decided by where the reading's time came from (README, "Data model and conventions", Time):
    """

    OVERWRITE = "overwrite"
    """The time was given by energimon (:mod:`energimon.stamps`): it is never given twice, so the only
    reading that can meet it again is this one, redelivered by the spool — writing it again is harmless,
    and costs no look-up."""
    KEEP = "keep"
    """The time came from the device or the payload: the same value again is a redelivery (idempotent); a
    *different* value is refused — a dead letter with the reason — and the stored one is kept."""
    REVISE = "revise"
    """The source corrects its own data (DataHub revises metered hours; a counter rebuilt from a corrected hour
    shifts every later value): a later value for the same instant is a **revision** and replaces the stored
    one.  Only :class:`RevisableReading` takes this path, and its source logs each revision
    (energimon.collector.sources); the store writes it like ``OVERWRITE``."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one series at one instant (``ts_ms``: Unix epoch milliseconds, UTC), stamped by energimon
    (or from a file: imports keep the plain overwrite rule).  See :class:`DeviceTimedReading` for readings whose
    time came from the device."""

    site: str
    device: str
    channel: str
    role: str
    ts_ms: int
    value: float
    # A class attribute, not a field: a seventh field made every Reading() 30 % slower to build, on paths that
    # build one per reading (spool take, collectors).
    on_conflict: ClassVar[OnConflict] = OnConflict.OVERWRITE

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.site, self.device, self.channel)

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.ts_ms / 1000, tz=UTC)

    @property
    def revisable(self) -> bool:
        """Whether a later value for the same series and instant is a revision (see :class:`RevisableReading`)."""
        return self.on_conflict is OnConflict.REVISE


class RevisableReading(Reading):
    """A reading whose source may later send another value for the same series and instant, and that value is
    a **revision** that replaces the stored one: DataHub corrects metered hours, and a counter rebuilt from a
    corrected hour shifts every later value (energimon.collector.sources).  Readings of live devices are
    plain readings.  The kind travels through the spool (its ``conflict`` column), so the store can tell
    a revision from a collision (:attr:`OnConflict.REVISE`).  A type rather than a field: a reading is built
    millions of times a day, and one more dataclass field costs every collector about 20 % per reading.
    """

    __slots__ = ()
    on_conflict = OnConflict.REVISE


class DeviceTimedReading(Reading):
    """A reading whose time came from the device or the payload, not from energimon's stamper: the store never lets
    it replace a *different* value already stored at that time (:attr:`OnConflict.KEEP`).  Travels through the spool
    as such (column ``conflict``).  Not equal to a :class:`Reading` with the same fields."""

    __slots__ = ()
    on_conflict = OnConflict.KEEP


_ROLES = frozenset(Role)


@lru_cache(maxsize=65536)
def _series_minimum(site: str, device: str, channel: str, role: str) -> float | None:
    """Checks that depend only on the series (cached: a daemon sees the same few thousand
    series over and over; this was 60 % of the spool's put time)."""
    if not is_valid_id(site):
        raise ValueError(f"site {site!r} is not a valid id ({ID_RULE})")
    if not is_valid_id(device):
        raise ValueError(f"device {device!r} is not a valid id ({ID_RULE})")
    info = channel_info(channel)
    if role not in _ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(Role)}")
    return info.minimum


def validate_reading(r: Reading, now_ms: int | None = None) -> None:
    """Raise ``ValueError`` naming the field that makes ``r`` unacceptable."""
    try:
        minimum = _series_minimum(r.site, r.device, r.channel, r.role)
    except TypeError:  # unhashable or non-string parts
        raise ValueError(f"site/device/channel/role must be text, got {r.site!r}/{r.device!r}/"
                         f"{r.channel!r}/{r.role!r}") from None
    if isinstance(r.value, bool) or not isinstance(r.value, int | float):
        raise ValueError(f"{r.key}: value must be a number, got {type(r.value).__name__}")
    if not math.isfinite(r.value):
        raise ValueError(f"{r.key}: value {r.value!r} is not finite (missing is not zero: omit it)")
    if minimum is not None and r.value < minimum:
        raise ValueError(f"{r.key}: value {r.value} below the physical minimum {minimum}")
    if not isinstance(r.ts_ms, int) or isinstance(r.ts_ms, bool):
        raise ValueError(f"{r.key}: ts_ms must be an integer (epoch milliseconds)")
    if r.ts_ms < MIN_TIMESTAMP_MS:
        raise ValueError(f"{r.key}: timestamp {r.ts_ms} ms is before the year 2000")
    if now_ms is not None and r.ts_ms > now_ms + MAX_FUTURE_MS:
        raise ValueError(f"{r.key}: timestamp {r.ts_ms} ms is more than 24 h in the future")


def now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)
