"""What every payload format shares: the parsed value, the per-subscription spec, JSON/time helpers.

A format is a module with ``NAME``, ``DEFAULT_FIELDS`` (for formats carrying
several quantities) and ``parse(payload: bytes, spec: FormatSpec) -> Parsed``.
``parse`` never raises: whatever is wrong with the payload is returned in
``Parsed.problems`` (the runtime keeps the raw payload as a dead letter with
those reasons), and values that could be read are returned in
``Parsed.values`` — one bad field does not cost the good ones.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

MAX_DEPTH = 32  # JSON nesting we are willing to walk (json itself stops at ~1000)


@dataclass(frozen=True, slots=True)
class Value:
    """One number read from a payload.

    ``channel`` None: the channel comes from the topic or the subscription.
    ``unit`` None: the value is already in the channel's unit.
    ``ts_ms`` None: the payload carries no time; energimon stamps it on receipt (src/energimon/stamps.py).
    """

    channel: str | None
    value: float
    unit: str | None = None
    ts_ms: int | None = None


@dataclass
class Parsed:
    values: list[Value] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FieldSpec:
    path: str
    channel: str
    unit: str | None


@dataclass(frozen=True)
class FormatSpec:
    """The parts of a subscription a parser needs (built once per subscription)."""

    unit: str | None = None  # single-value formats
    value_path: str = "value"  # json
    time_path: str | None = None  # json / tasmota / zigbee2mqtt
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Copenhagen"))
    component: str = "switch:0"  # shelly_gen2
    fields: tuple[FieldSpec, ...] = ()  # multi-value formats


class BadPayload(Exception):
    """Raised inside parsers and turned into ``Parsed.problems``."""


def _reject_constant(name: str) -> float:
    raise BadPayload(f"JSON contains {name} (not a number; missing is not zero)")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def load_json(payload: bytes) -> object:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"payload is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise BadPayload(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadPayload("malformed JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise BadPayload(f"malformed JSON: {exc}") from None


_MISSING = object()


def get_path(doc: object, path: str) -> object:
    """``a.b.0.c``: object keys and list indices separated by dots; ``""`` is the document itself.

    Returns the sentinel :data:`MISSING` when a step does not exist.
    """
    if path == "":
        return doc
    node = doc
    for step in path.split("."):
        if isinstance(node, dict):
            if step not in node:
                return _MISSING
            node = node[step]
        elif isinstance(node, list) and step.lstrip("-").isdigit():
            i = int(step)
            if not -len(node) <= i < len(node):
                return _MISSING
            node = node[i]
        else:
            return _MISSING
    return node


MISSING = _MISSING


def number(value: object, what: str) -> float:
    """A finite float from a JSON number or a numeric string; anything else is :class:`BadPayload`."""
    if isinstance(value, bool) or value is None:
        raise BadPayload(f"{what}: expected a number, got {json.dumps(value)}")
    if isinstance(value, int | float):
        try:
            v = float(value)
        except OverflowError:
            raise BadPayload(f"{what}: number out of range") from None
    elif isinstance(value, str):
        if len(value) > 64:
            raise BadPayload(f"{what}: expected a number, got a {len(value)}-character string")
        try:
            v = float(value.strip())
        except ValueError:
            raise BadPayload(f"{what}: expected a number, got {value[:40]!r}") from None
    else:
        raise BadPayload(f"{what}: expected a number, got a JSON {type(value).__name__}")
    if not math.isfinite(v):
        raise BadPayload(f"{what}: {value!r} is not finite (missing is not zero)")
    return v


def timestamp_ms(value: object, tz: ZoneInfo, what: str) -> int:
    """Epoch seconds or milliseconds (numbers from 1e11 on are milliseconds), or ISO 8601 text.

    ISO text without a UTC offset is local time in ``tz`` (Danish devices: Europe/Copenhagen).
    Range checks (before 2000, over 24 h ahead) are the data model's, applied later.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            return _epoch_ms(float(text), what)
        except ValueError:
            pass
        if len(text) > 40:
            raise BadPayload(f"{what}: not a time: {text[:40]!r}…")
        try:
            t = datetime.fromisoformat(text)
        except ValueError:
            raise BadPayload(f"{what}: not an ISO 8601 time or epoch number: {text!r}") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=tz)
        try:
            return int(t.timestamp() * 1000)
        except (OverflowError, ValueError, OSError):
            raise BadPayload(f"{what}: time {text!r} out of range") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadPayload(f"{what}: expected a time, got {json.dumps(value)[:40]}")
    return _epoch_ms(value, what)


def _epoch_ms(v: float, what: str) -> int:
    try:
        v = float(v)
    except OverflowError:
        raise BadPayload(f"{what}: time out of range") from None
    if not math.isfinite(v) or abs(v) > 1e16:
        raise BadPayload(f"{what}: time {v!r} out of range")
    return round(v) if abs(v) >= 1e11 else round(v * 1000)


def read_fields(doc: object, spec: FormatSpec, ts_ms: int | None, out: Parsed) -> None:
    """Multi-value formats: every configured field that is present becomes a value.

    Absent fields and JSON ``null`` are missing (not errors, not zero); a field
    that is present but not a finite number is a problem.  A document carrying
    none of the fields is a problem too (wrong topic or wrong ``fields``).
    """
    found = 0
    for f in spec.fields:
        raw = get_path(doc, f.path)
        if raw is MISSING or raw is None:
            continue
        found += 1
        try:
            out.values.append(Value(f.channel, number(raw, f.path), f.unit, ts_ms))
        except BadPayload as exc:
            out.problems.append(str(exc))
    if not found:
        wanted = ", ".join(f.path for f in spec.fields)
        out.problems.append(f"none of the mapped fields present ({wanted})")
