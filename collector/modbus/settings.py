"""Settings of the Modbus TCP collector: the ``[[devices]]`` tables with ``protocol = "modbus_tcp"``.

Each device names its site, its id and role, where it answers (host, port, unit id) and its register
map: a profile from ``config/profiles/`` (``profile = "eastron.sdm630"``), SunSpec discovery
(``profile = "sunspec"``) or an inline ``registers`` list.  Profile values for request planning and
gateway quirks can be overridden per device.  See ``sample.toml`` in this folder.

Loaded as part of the configuration (``energimon.config``); :func:`cross_check_devices` holds the
rules that need all devices and the sites at once.  Nothing here opens a connection:
``energimon check-config`` stays offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon.collector.modbus.fields import RegisterField
from energimon.model import Role
from energimon.validators import check_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class ModbusTcpDevice(_Strict):
    protocol: Literal["modbus_tcp"]
    site: str
    id: str
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name in mails and reports, e.g. 'Hovedmåler' (default: the id)")
    role: Role
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    profile: str | None = Field(default=None, description="profile name, e.g. 'eastron.sdm630', or 'sunspec'")
    registers: list[RegisterField] = Field(default_factory=list, description="inline register map")
    interval_s: float = Field(default=10.0, ge=1, le=86_400)
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    enabled: bool = True
    # Overrides of the profile's request planning and gateway quirks (None: the profile's value).
    max_registers_per_read: int | None = Field(default=None, ge=1, le=125)
    max_gap: int | None = Field(default=None, ge=-1, le=124, description="-1: one request per field")
    connect_delay_s: float | None = Field(default=None, ge=0, le=10)
    request_pause_s: float | None = Field(default=None, ge=0, le=10)
    close_after_poll: bool | None = None

    _check_id = field_validator("id")(check_id)

    @model_validator(mode="after")
    def _map_given(self) -> ModbusTcpDevice:
        if (self.profile is None) == (not self.registers):
            raise ValueError("give exactly one of 'profile' or 'registers'")
        return self


def cross_check_devices(devices: Sequence[tuple[int, ModbusTcpDevice]]) -> list[tuple[str, str]]:
    """(key path, message) for what one Modbus device cannot check alone: no two enabled devices share an
    endpoint, its profile loads, no channel is mapped twice.  ``devices``: (index in [[devices]], device); the
    checks every device needs (its site exists, its id is unique in the site) are the configuration's."""
    from energimon.collector.modbus.profiles import ProfileError, load_profile

    problems: list[tuple[str, str]] = []
    endpoints: dict[tuple[str, int, int], str] = {}
    for i, dev in devices:
        where = f"devices[{i}] (id {dev.id!r})"
        endpoint = (dev.host, dev.port, dev.unit_id)
        if endpoint in endpoints and dev.enabled:
            problems.append((f"{where}.unit_id",
                             f"{dev.host}:{dev.port} unit {dev.unit_id} is already used by {endpoints[endpoint]}"))
        endpoints.setdefault(endpoint, f"{dev.site}/{dev.id}")
        if dev.profile is not None and dev.profile != "sunspec":  # sunspec: discovered on the device
            try:
                load_profile(dev.profile)
            except ProfileError as exc:
                problems.append((f"{where}.profile", str(exc)))
        channels = Counter(f.channel for f in dev.registers)
        for ch, n in channels.items():
            if n > 1:
                problems.append((f"{where}.registers", f"channel {ch!r} mapped {n} times"))
    return problems
