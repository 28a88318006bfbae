"""Settings of the MQTT collector: the ``[mqtt]`` table and its ``[[mqtt.subscriptions]]``.

Owned by the MQTT collector (see README.md and sample.toml in this folder) and loaded as part
of the configuration (``energimon.config``); the cross-checks that need the whole configuration
(sites exist) are in :func:`cross_check_mqtt`.  Nothing here connects to a broker:
``energimon check-config`` stays offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from energimon.collector.mqtt.formats import FORMATS
from energimon.collector.mqtt.topics import TopicTemplate
from energimon.collector.mqtt.units import UNITS, check_unit
from energimon.model import CHANNELS, ID_RULE, Role, is_valid_id

FORMAT_NAMES = ("plain", "json", "shelly_gen2", "tasmota", "zigbee2mqtt")
MULTI_VALUE_FORMATS = ("shelly_gen2", "tasmota", "zigbee2mqtt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class MqttTls(_Strict):
    """TLS to the broker.  The broker's certificate and host name are always verified."""

    ca_file: Path | None = Field(default=None, description="CA bundle (PEM); default: the system's CAs")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM), for brokers that ask")
    key_file: Path | None = Field(default=None, description="client private key (PEM)")

    @model_validator(mode="after")
    def _pair(self) -> MqttTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give both 'cert_file' and 'key_file', or neither")
        for name in ("ca_file", "cert_file", "key_file"):
            p = getattr(self, name)
            if p is not None and not p.is_file():
                raise ValueError(f"{name}: file not found: {p}")
        return self


class MqttPublish(_Strict):
    """Optional: publish normalised readings and alert events back to the broker (for a BMS or Home Assistant).

    Best effort: the spool and the store are the record.  While the broker is unreachable up to
    ``max_queued`` messages wait in memory; beyond that they are dropped and counted.
    """

    enabled: bool = False
    topic_prefix: str = Field(
        default="energimon", min_length=1, pattern=r"^[^#+]+$",
        description="readings: <prefix>/<site>/<device>/<channel>; alerts: <prefix>/alerts/<site>",
    )
    qos: Literal[0, 1] = 1
    retain: bool = False
    readings: bool = True
    alerts: bool = True
    max_queued: int = Field(default=10_000, ge=1, le=1_000_000)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if v.startswith("/") or v.endswith("/") or "//" in v:
            raise ValueError("topic_prefix: no leading, trailing or double '/'")
        return v


class MqttSubscription(_Strict):
    """One topic (filter or template) and how its payloads become readings."""

    topic: str = Field(description="topic or template, e.g. 'bygning/{site}/{device}/{channel}'")
    format: Literal["plain", "json", "shelly_gen2", "tasmota", "zigbee2mqtt"] = "plain"
    role: Role
    site: str | None = None
    device: str | None = None
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name of the fixed `device` in mails and reports, e.g. "
                                         "'Bimåler køkken' (default: the id)")
    channel: str | None = None
    unit: str | None = Field(default=None, description="unit of the published number, e.g. 'kWh'")
    value_path: str = Field(default="value", description="json: where the number is ('' = whole payload)")
    time_path: str | None = Field(default=None, description="json/tasmota/zigbee2mqtt: where the time is")
    timezone: str = Field(default="Europe/Copenhagen", description="for times without a UTC offset")
    component: str = Field(default="switch:0", description="shelly_gen2: the component, e.g. 'switch:0', 'em1:0'")
    fields: dict[str, str] | None = Field(
        default=None, description="multi-value formats: payload path -> channel (replaces the format's defaults)"
    )
    field_units: dict[str, str] = Field(default_factory=dict, description="payload path -> unit, for 'fields'")

    @field_validator("site", "device")
    @classmethod
    def _ids(cls, v: str | None) -> str | None:
        if v is not None and not is_valid_id(v):
            raise ValueError(f"{v!r} is not a valid id ({ID_RULE})")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str | None) -> str | None:
        if v is not None and v not in CHANNELS:
            raise ValueError(f"unknown channel {v!r}; expected one of: {', '.join(sorted(CHANNELS))}")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (e.g. 'Europe/Copenhagen', 'UTC')") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> MqttSubscription:
        if self.name is not None and self.device is None:
            raise ValueError("'name' names a fixed device: give 'device' too (a {device} placeholder has no "
                             "single name)")
        try:
            tpl = TopicTemplate.parse(self.topic)
        except ValueError as exc:
            raise ValueError(f"topic: {exc}") from None
        bound = tpl.placeholders
        multi = self.format in MULTI_VALUE_FORMATS
        wanted = ("site", "device") if multi else ("site", "device", "channel")
        for name in wanted:
            given = getattr(self, name) is not None
            if given and name in bound:
                raise ValueError(f"'{name}' is given both as {{{name}}} in the topic and as a key; keep one")
            if not given and name not in bound:
                raise ValueError(f"'{name}' missing: put {{{name}}} in the topic or give '{name} = \"…\"'")
        if multi:
            if self.channel is not None or "channel" in bound:
                raise ValueError(f"format {self.format!r} carries several channels: map them with 'fields', "
                                 "not 'channel' or {channel}")
            if self.unit is not None:
                raise ValueError(f"format {self.format!r}: give units per field in 'field_units', not 'unit'")
            module = FORMATS[self.format]
            for path, ch in (self.fields or {}).items():
                if ch not in CHANNELS:
                    raise ValueError(f"fields.{path}: unknown channel {ch!r}; expected one of: "
                                     f"{', '.join(sorted(CHANNELS))}")
                unit = self.field_units.get(path, module.FIELD_UNITS.get(path))
                if unit is not None:
                    try:
                        check_unit(unit, ch)
                    except ValueError as exc:
                        raise ValueError(f"fields.{path}: {exc}") from None
            for path in self.field_units:
                if path not in (self.fields or {}):
                    raise ValueError(f"field_units.{path}: not a key of 'fields'")
        else:
            if self.fields is not None or self.field_units:
                raise ValueError(f"'fields' is for multi-value formats ({', '.join(MULTI_VALUE_FORMATS)})")
            if self.unit is not None and self.channel is not None:
                check_unit(self.unit, self.channel)
            elif self.unit is not None and self.unit not in UNITS:
                raise ValueError(f"unknown unit {self.unit!r}; expected one of: {', '.join(UNITS)}")
        if self.format == "plain" and self.time_path is not None:
            raise ValueError("format 'plain' carries no time; use format 'json' for 'time_path'")
        return self


class MqttSettings(_Strict):
    """The broker connection, the persistent session and the subscriptions."""

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535, description="default 1883, or 8883 with TLS")
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    client_id: str = Field(
        default="energimon", min_length=1, max_length=23, pattern=r"^[0-9A-Za-z_-]+$",
        description="fixed: the broker keeps our session (and queues messages) under this id",
    )
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    tls: MqttTls | None = None
    keepalive_s: int = Field(default=60, ge=5, le=65535)
    session_expiry_s: int = Field(
        default=7 * 86400, ge=60, le=0xFFFFFFFE,
        description="MQTT 5: how long the broker keeps our session while we are away",
    )
    reconnect_min_s: float = Field(default=1, ge=0.1, le=3600)
    reconnect_max_s: float = Field(default=60, ge=1, le=3600)
    max_payload_bytes: int = Field(default=65536, ge=64, le=16 * 1024 * 1024)
    batch_max: int = Field(default=1000, ge=1, le=100_000, description="messages per spool commit")
    bad_input_log_interval_s: float = Field(default=300, ge=1, description="log bad input once per topic per …")
    subscriptions: list[MqttSubscription] = Field(min_length=1)
    publish: MqttPublish = Field(default_factory=MqttPublish)

    @model_validator(mode="after")
    def _secrets(self) -> MqttSettings:
        if self.password_file is not None:
            if self.password is not None:
                raise ValueError("give 'password' or 'password_file', not both")
            try:
                self.password = SecretStr(self.password_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ValueError(f"password_file: cannot read secret file {self.password_file}: "
                                 f"{exc.strerror}") from None
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a 'username'")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be at least reconnect_min_s")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (8883 if self.tls is not None else 1883)


def cross_check_mqtt(mqtt: MqttSettings | None, sites: set[str]) -> list[tuple[str, str]]:
    """(key path, message) for references the models cannot check alone."""
    problems: list[tuple[str, str]] = []
    if mqtt is None:
        return problems
    known = ", ".join(sorted(sites)) or "none"
    seen: dict[str, int] = {}
    for i, sub in enumerate(mqtt.subscriptions):
        where = f"mqtt.subscriptions[{i}] (topic {sub.topic!r})"
        if sub.site is not None and sub.site not in sites:
            problems.append((f"{where}.site", f"unknown site {sub.site!r}; known sites: {known}"))
        if sub.topic in seen:
            problems.append((f"{where}.topic", f"same topic as mqtt.subscriptions[{seen[sub.topic]}]"))
        seen.setdefault(sub.topic, i)
        if mqtt.publish.enabled:
            tpl = TopicTemplate.parse(sub.topic)
            prefix = mqtt.publish.topic_prefix
            for probe in (f"{prefix}/s/d/c", f"{prefix}/alerts/s"):
                if tpl.match(probe) is not None:
                    problems.append((f"{where}.topic", f"matches what energimon publishes under "
                                                       f"mqtt.publish.topic_prefix {prefix!r}: it would "
                                                       "read its own messages back"))
                    break
    return problems
