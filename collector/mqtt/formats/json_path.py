"""``json``: one number picked out of a JSON document by a path, with an optional time field.

For BMS gateways and sensors that publish small JSON objects. ``value_path``
(default ``value``) and ``time_path`` (optional) are dot-separated object keys
and list indices (``data.0.v``); ``""`` is the whole document (a bare JSON
number). Times are epoch seconds, epoch milliseconds (numbers from 1e11 on) or
ISO 8601 text; text without a UTC offset is local time in the subscription's
``timezone`` (default Europe/Copenhagen). Numeric strings (``"21.5"``) are
accepted, booleans and ``null`` are not numbers.

Example payload on ``soroe/raadhus/udefoeler`` with ``value_path = "temperature"``,
``time_path = "ts"``::

    {"temperature": 3.7, "humidity": 88, "ts": 1764403200}

A payload carrying its own time is stored idempotently: if it is delivered
twice (after a crash between spool commit and acknowledgement) the store keeps
one reading.
"""

from __future__ import annotations

from energimon.collector.mqtt.formats.base import (
    MISSING,
    BadPayload,
    FormatSpec,
    Parsed,
    Value,
    get_path,
    load_json,
    number,
    timestamp_ms,
)

NAME = "json"
MULTI_VALUE = False
DEFAULT_FIELDS: dict[str, tuple[str, str | None]] = {}


def parse(payload: bytes, spec: FormatSpec) -> Parsed:
    out = Parsed()
    try:
        doc = load_json(payload)
        raw = get_path(doc, spec.value_path)
        if raw is MISSING:
            raise BadPayload(f"missing value path {spec.value_path!r}")
        if raw is None:
            raise BadPayload(f"{spec.value_path or 'payload'} is null (missing is not zero)")
        value = number(raw, spec.value_path or "payload")
        ts = None
        if spec.time_path:
            raw_t = get_path(doc, spec.time_path)
            if raw_t is MISSING or raw_t is None:
                raise BadPayload(f"missing time path {spec.time_path!r}")
            ts = timestamp_ms(raw_t, spec.timezone, spec.time_path)
    except BadPayload as exc:
        out.problems.append(str(exc))
        return out
    out.values.append(Value(None, value, spec.unit, ts))
    return out
