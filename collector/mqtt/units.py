"""Unit conversion from what a device publishes into our channel units (SI, in the channel name).

Only conversions that are exact and unambiguous are listed; a unit that does not
fit a channel (``kWh`` for ``power_w``) is a configuration error, found by
``energimon check-config`` when the channel is fixed, or a dead letter when the
channel comes from the topic.
"""

from __future__ import annotations

from energimon.model import channel_info

# unit as written by devices -> (our unit, factor, offset): ours = value * factor + offset
UNITS: dict[str, tuple[str, float, float]] = {
    "W": ("W", 1.0, 0.0),
    "kW": ("W", 1e3, 0.0),
    "MW": ("W", 1e6, 0.0),
    "Wh": ("Wh", 1.0, 0.0),
    "kWh": ("Wh", 1e3, 0.0),
    "MWh": ("Wh", 1e6, 0.0),
    "MJ": ("Wh", 1e6 / 3600, 0.0),
    "GJ": ("Wh", 1e9 / 3600, 0.0),
    "V": ("V", 1.0, 0.0),
    "A": ("A", 1.0, 0.0),
    "mA": ("A", 1e-3, 0.0),
    "Hz": ("Hz", 1.0, 0.0),
    "var": ("var", 1.0, 0.0),
    "kvar": ("var", 1e3, 0.0),
    "1": ("1", 1.0, 0.0),
    "degC": ("degC", 1.0, 0.0),
    "°C": ("degC", 1.0, 0.0),
    "C": ("degC", 1.0, 0.0),
    "K": ("degC", 1.0, -273.15),
    "m3": ("m3", 1.0, 0.0),
    "L": ("m3", 1e-3, 0.0),
    "l": ("m3", 1e-3, 0.0),
    "m3/h": ("m3/h", 1.0, 0.0),
    "L/h": ("m3/h", 1e-3, 0.0),
    "l/h": ("m3/h", 1e-3, 0.0),
    "W/m2": ("W/m2", 1.0, 0.0),
}


def check_unit(unit: str, channel: str) -> None:
    """Raise ``ValueError`` unless values in ``unit`` can be stored in ``channel``."""
    info = channel_info(channel)
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of: {', '.join(UNITS)}")
    ours = UNITS[unit][0]
    if ours != info.unit:
        raise ValueError(f"unit {unit!r} ({ours}) does not fit channel {channel!r} ({info.unit})")


def convert(value: float, unit: str | None, channel: str) -> float:
    """``value`` in ``unit`` (None: already the channel's unit) expressed in the channel's unit."""
    if unit is None:
        channel_info(channel)
        return value
    check_unit(unit, channel)
    _, factor, offset = UNITS[unit]
    return value * factor + offset
