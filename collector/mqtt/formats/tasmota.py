"""``tasmota``: Tasmota telemetry, ``tele/<topic>/SENSOR`` with an ``ENERGY`` object.

Source: Tasmota documentation, "MQTT" (https://tasmota.github.io/docs/MQTT/) —
telemetry is published every ``TelePeriod`` seconds on ``tele/%topic%/SENSOR``
as JSON with a ``Time`` field (the device's local time, ISO 8601 without
offset) — and "Power Monitoring" (https://tasmota.github.io/docs/Power-Monitoring/):
``ENERGY`` holds ``Total`` / ``Yesterday`` / ``Today`` in kWh, ``Power`` W,
``ApparentPower`` VA, ``ReactivePower`` var, ``Factor``, ``Voltage`` V,
``Current`` A. A real payload of that shape is quoted in
https://github.com/arendst/Tasmota/issues/1621.

Example payload on ``tele/stenlille-vvb/SENSOR``::

    {"Time": "2026-11-29T10:15:00", "ENERGY": {"TotalStartTime": "2025-01-10T09:00:00",
     "Total": 1523.417, "Yesterday": 12.1, "Today": 4.2, "Period": 3, "Power": 1840,
     "ApparentPower": 1900, "ReactivePower": 120, "Factor": 0.97, "Voltage": 231, "Current": 8.1}}

``Time`` is read in the subscription's ``timezone`` (default Europe/Copenhagen,
Tasmota's ``Timezone 99`` with Danish DST rules); a device without NTP reports
1970 and its readings are refused as dead letters (timestamps before 2000).
Multi-channel devices publish arrays (``"Power": [10, 20]``); map them with
``fields = { "ENERGY.Power.0" = "power_w" }``. Other sensors on the same
message (``"DS18B20": {"Temperature": 3.1}``) are mapped the same way.
"""

from __future__ import annotations

from energimon.collector.mqtt.formats.base import (
    MISSING,
    BadPayload,
    FormatSpec,
    Parsed,
    get_path,
    load_json,
    read_fields,
    timestamp_ms,
)

NAME = "tasmota"
MULTI_VALUE = True
DEFAULT_TIME_PATH = "Time"
DEFAULT_FIELDS: dict[str, tuple[str, str | None]] = {
    "ENERGY.Power": ("power_w", "W"),
    "ENERGY.Total": ("energy_import_wh", "kWh"),
    "ENERGY.Voltage": ("voltage_v", "V"),
    "ENERGY.Current": ("current_a", "A"),
    "ENERGY.Factor": ("power_factor", "1"),
    "ENERGY.Frequency": ("frequency_hz", "Hz"),
}
FIELD_UNITS: dict[str, str] = {
    "ENERGY.Power": "W", "ENERGY.Total": "kWh", "ENERGY.Today": "kWh", "ENERGY.Yesterday": "kWh",
    "ENERGY.Voltage": "V", "ENERGY.Current": "A", "ENERGY.Factor": "1", "ENERGY.Frequency": "Hz",
    "ENERGY.ReactivePower": "var", "ENERGY.ExportActive": "kWh",
}


def parse(payload: bytes, spec: FormatSpec) -> Parsed:
    out = Parsed()
    try:
        doc = load_json(payload)
        if not isinstance(doc, dict):
            raise BadPayload("Tasmota SENSOR payload must be a JSON object")
        ts = None
        if spec.time_path:
            raw_t = get_path(doc, spec.time_path)
            if raw_t is not MISSING and raw_t is not None:
                ts = timestamp_ms(raw_t, spec.timezone, spec.time_path)
    except BadPayload as exc:
        out.problems.append(str(exc))
        return out
    read_fields(doc, spec, ts, out)
    return out
