"""``zigbee2mqtt``: the device state JSON Zigbee2MQTT publishes on ``zigbee2mqtt/<friendly name>``.

Source: Zigbee2MQTT documentation, "MQTT Topics and Messages"
(https://www.zigbee2mqtt.io/guide/usage/mqtt_topics_and_messages.html): every
device publishes a JSON object on ``zigbee2mqtt/FRIENDLY_NAME``; the keys are
the device's "exposes" (e.g. ``temperature`` °C, ``humidity`` %, ``power`` W,
``energy`` kWh, ``voltage`` V, ``current`` A). With the ``last_seen`` option
enabled the object carries ``last_seen`` (ISO 8601 or epoch milliseconds),
used as the reading time; without it the receive time is used.

Example payload on ``zigbee2mqtt/soro-raadhus/udefoeler`` (Aqara outdoor sensor),
mapped with ``fields = { temperature = "outdoor_temp_c" }``::

    {"battery": 97, "humidity": 88.2, "linkquality": 116, "pressure": 1012.4,
     "temperature": 3.7, "voltage": 3015, "last_seen": "2026-11-29T11:15:00+01:00"}

Defaults map a metering plug: ``power`` → power_w, ``energy`` (kWh) →
energy_import_wh, ``voltage`` → voltage_v, ``current`` → current_a. Battery
sensors report ``voltage`` in mV — give ``fields`` (which replaces the
defaults) for anything that is not a metering plug. ``null`` values are missing.
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

NAME = "zigbee2mqtt"
MULTI_VALUE = True
DEFAULT_TIME_PATH = "last_seen"
DEFAULT_FIELDS: dict[str, tuple[str, str | None]] = {
    "power": ("power_w", "W"),
    "energy": ("energy_import_wh", "kWh"),
    "voltage": ("voltage_v", "V"),
    "current": ("current_a", "A"),
}
FIELD_UNITS: dict[str, str] = {
    "power": "W", "energy": "kWh", "current": "A", "temperature": "degC",
    "local_temperature": "degC", "device_temperature": "degC", "produced_energy": "kWh",
}


def parse(payload: bytes, spec: FormatSpec) -> Parsed:
    out = Parsed()
    try:
        doc = load_json(payload)
        if not isinstance(doc, dict):
            raise BadPayload("Zigbee2MQTT device payload must be a JSON object")
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
