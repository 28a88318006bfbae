"""``plain``: the payload is one number as text, nothing else.

The simplest MQTT convention, used by BMS gateways, Node-RED flows and
Tasmota's/ESPHome's per-value state topics. The number is in the channel's unit
unless the subscription gives ``unit`` (e.g. ``unit = "kWh"`` for an energy
counter channel in Wh). The payload carries no time: energimon stamps it from the
receive time, strictly increasing per series (a burst in one millisecond stays a
burst of readings, 1 ms apart; see src/energimon/stamps.py).

Example payload on ``bygning/soro-raadhus/udefoeler/outdoor_temp_c``::

    3.7

Refused (dead letter with the reason): empty payloads, text that is not a
number, ``nan``/``inf`` (missing is not zero), more than 64 bytes.
"""

from __future__ import annotations

import math

from energimon.collector.mqtt.formats.base import FormatSpec, Parsed, Value

NAME = "plain"
MULTI_VALUE = False
DEFAULT_FIELDS: dict[str, tuple[str, str | None]] = {}
MAX_BYTES = 64


def parse(payload: bytes, spec: FormatSpec) -> Parsed:
    out = Parsed()
    if len(payload) > MAX_BYTES:
        out.problems.append(f"plain number expected, got {len(payload)} bytes")
        return out
    try:
        text = payload.decode("ascii").strip()
    except UnicodeDecodeError:
        out.problems.append("plain number expected, payload is not ASCII text")
        return out
    if not text:
        out.problems.append("empty payload")
        return out
    try:
        v = float(text)
    except ValueError:
        out.problems.append(f"not a number: {text!r}")
        return out
    if not math.isfinite(v):
        out.problems.append(f"{text!r} is not finite (missing is not zero)")
        return out
    out.values.append(Value(None, v, spec.unit, None))
    return out
