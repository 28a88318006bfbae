"""From (topic, payload) to readings and dead letters: subscriptions, formats, units, validation.

Pure and synchronous (no broker, no spool): the runtime calls :meth:`Router.process`
for each message, from a worker thread, and commits what it returns.

Times: a value with its own time (from the payload) keeps it, as a
:class:`~energimon.model.DeviceTimedReading` — the store never lets it replace a different value. A value
without one is stamped by the :class:`~energimon.stamps.Stamper`, per series, from the
receive time: strictly increasing, never a stamp given before, so two messages of one
series received in the same millisecond stay two readings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from zoneinfo import ZoneInfo

from energimon.collector.mqtt.formats import FORMATS
from energimon.collector.mqtt.formats.base import FieldSpec, FormatSpec, Parsed
from energimon.collector.mqtt.settings import MqttSubscription
from energimon.collector.mqtt.topics import TopicTemplate
from energimon.collector.mqtt.units import convert
from energimon.model import DeviceTimedReading, Reading, validate_reading
from energimon.stamps import Stamper

log = logging.getLogger("energimon.collector.mqtt")

DEAD_LETTER_PAYLOAD_MAX = 4096  # bytes of a huge payload kept for inspection


@dataclass(frozen=True)
class Route:
    index: int
    template: TopicTemplate
    subscription: MqttSubscription
    module: ModuleType
    spec: FormatSpec

    @classmethod
    def build(cls, index: int, sub: MqttSubscription) -> Route:
        module = FORMATS[sub.format]
        fields: tuple[FieldSpec, ...] = ()
        if module.MULTI_VALUE:
            if sub.fields is None:
                fields = tuple(FieldSpec(p, ch, unit) for p, (ch, unit) in module.DEFAULT_FIELDS.items())
            else:
                fields = tuple(
                    FieldSpec(p, ch, sub.field_units.get(p, module.FIELD_UNITS.get(p)))
                    for p, ch in sub.fields.items()
                )
        time_path = sub.time_path if sub.time_path is not None else getattr(module, "DEFAULT_TIME_PATH", None)
        spec = FormatSpec(
            unit=sub.unit, value_path=sub.value_path, time_path=time_path or None,
            timezone=ZoneInfo(sub.timezone), component=sub.component, fields=fields,
        )
        return cls(index, TopicTemplate.parse(sub.topic), sub, module, spec)


@dataclass
class Message:
    """One MQTT message as handed over from the network thread."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    retain: bool
    received_ms: int
    generation: int = 0  # the connection it arrived on (acks only go back on that one)


@dataclass
class Outcome:
    readings: list[Reading] = field(default_factory=list)
    dead_letters: list[tuple[str, bytes, str]] = field(default_factory=list)  # (topic, payload, reason)
    retained_skipped: int = 0


class Router:
    def __init__(self, subscriptions: Iterable[MqttSubscription], sites: Iterable[str], max_payload_bytes: int,
                 stamper: Stamper | None = None):
        self.routes = [Route.build(i, s) for i, s in enumerate(subscriptions)]
        self.sites = frozenset(sites)
        self.max_payload_bytes = max_payload_bytes
        self.stamper = stamper or Stamper()

    @property
    def filters(self) -> list[str]:
        return list(dict.fromkeys(r.template.filter for r in self.routes))

    def process(self, messages: Iterable[Message], now_ms: int | None = None) -> Outcome:
        out = Outcome()
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        for msg in messages:
            try:
                self._one(msg, now, out)
            except Exception as exc:  # a bug in a parser must not stop ingest or lose the message
                log.error("internal error on topic %s", msg.topic, exc_info=True)
                out.dead_letters.append((msg.topic, _clip(msg.payload), f"internal error: {type(exc).__name__}: {exc}"))
        return out

    def _one(self, msg: Message, now: int, out: Outcome) -> None:
        if len(msg.payload) > self.max_payload_bytes:
            out.dead_letters.append((msg.topic, _clip(msg.payload),
                                     f"payload of {len(msg.payload)} bytes exceeds max_payload_bytes "
                                     f"({self.max_payload_bytes})"))
            return
        for route in self.routes:
            bound = route.template.match(msg.topic)
            if bound is not None:
                break
        else:
            out.dead_letters.append((msg.topic, msg.payload, "unknown topic: matches no subscription"))
            return
        sub = route.subscription
        site = sub.site or bound.get("site", "")
        device = sub.device or bound.get("device", "")
        if site not in self.sites:
            out.dead_letters.append((msg.topic, msg.payload,
                                     f"unknown site {site!r} from the topic (subscription {sub.topic!r})"))
            return
        parsed: Parsed = route.module.parse(msg.payload, route.spec)
        problems = list(parsed.problems)
        for v in parsed.values:
            channel = v.channel or sub.channel or bound.get("channel", "")
            if msg.retain and v.ts_ms is None:
                # A retained message is an old value replayed on subscribe; without its own
                # time it would be stored as a fresh reading.  Skipped, not an error.
                out.retained_skipped += 1
                continue
            try:
                value = convert(v.value, v.unit, channel)
                stream = f"{site}/{device}/{channel}"
                if v.ts_ms is None:
                    r = Reading(site, device, channel, sub.role.value, self.stamper.stamp(stream, msg.received_ms),
                                value)
                else:
                    r = DeviceTimedReading(site, device, channel, sub.role.value, v.ts_ms, value)
                validate_reading(r, now)
                if v.ts_ms is not None:
                    self.stamper.observe(stream, v.ts_ms, now)
            except (ValueError, OverflowError) as exc:
                problems.append(str(exc))
                continue
            out.readings.append(r)
        if problems:
            out.dead_letters.append((msg.topic, msg.payload, "; ".join(problems)))


def _clip(payload: bytes) -> bytes:
    if len(payload) <= DEAD_LETTER_PAYLOAD_MAX:
        return payload
    return payload[:DEAD_LETTER_PAYLOAD_MAX] + f"… [truncated, {len(payload)} bytes]".encode()
