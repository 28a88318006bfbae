"""Settings of an M-Bus meter: a ``[[devices]]`` table with ``protocol = "mbus_tcp"``.

M-Bus meters are devices like the Modbus ones — same ``site``/``id``/``role``, same list, same checks (a
known site, one id per site) — so they sit in ``[[devices]]`` and the protocol tells them apart.  The
configuration assembles this model into its device list (``energimon.config.settings``).

::

    [[devices]]
    protocol = "mbus_tcp"
    site = "soro-raadhus"
    id = "fjernvarme"
    role = "heat"
    host = "10.20.0.15"          # the M-Bus/TCP gateway (transparent: M-Bus frames over TCP)
    port = 10001
    address = 1                  # primary address 0-250, or:
    # secondary_address = "67020000"   # the 8-digit identification number (and manufacturer = "KAM")
    interval_s = 60
    timeout_s = 2.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon.collector.mbus.frames import ADDRESS_MAX_PRIMARY, SecondaryAddress, manufacturer_code
from energimon.model import ID_RULE, Role, is_valid_id


class MbusTcpDevice(BaseModel):
    """One meter behind an M-Bus/TCP gateway (several meters on one gateway share its connection)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    protocol: Literal["mbus_tcp"]
    site: str
    id: str
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name in mails and reports, e.g. 'Hovedmåler' (default: the id)")
    role: Role = Role.HEAT
    host: str = Field(min_length=1, description="the M-Bus/TCP gateway")
    port: int = Field(ge=1, le=65535, description="the gateway's TCP port for transparent M-Bus (no default: "
                                                  "gateways differ, e.g. 10001, 9999, 5000)")
    address: int | None = Field(default=None, ge=0, le=ADDRESS_MAX_PRIMARY,
                                description="primary address 0-250 (0: an unconfigured meter)")
    secondary_address: str | None = Field(default=None, description="8-digit identification number (secondary "
                                          "address, usually on the meter's label); F is a wildcard digit")
    manufacturer: str | None = Field(default=None, description="3-letter manufacturer code for the select "
                                     "(KAM for Kamstrup); only with secondary_address")
    interval_s: float = Field(default=60.0, ge=1, le=86_400,
                              description="a battery MULTICAL keeps its battery life when read every 10 s or "
                                          "less often")
    timeout_s: float = Field(default=2.0, gt=0, le=30, description="per request, for the first byte of the answer")
    retries: int = Field(default=1, ge=0, le=5, description="repeats of a request that got no valid answer (a "
                                                            "sleeping battery meter may miss the first)")
    enabled: bool = True

    @field_validator("site", "id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not is_valid_id(value):
            raise ValueError(f"{value!r} is not a valid id ({ID_RULE})")
        return value

    @field_validator("secondary_address")
    @classmethod
    def _check_secondary(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.replace(" ", "").upper()
        SecondaryAddress(text)  # raises ValueError naming the problem
        return text

    @field_validator("manufacturer")
    @classmethod
    def _check_manufacturer(cls, value: str | None) -> str | None:
        if value is not None:
            manufacturer_code(value)
        return value

    @model_validator(mode="after")
    def _one_address(self) -> MbusTcpDevice:
        if (self.address is None) == (self.secondary_address is None):
            raise ValueError("give exactly one of 'address' (primary, 0-250) or 'secondary_address' (8 digits)")
        if self.manufacturer is not None and self.secondary_address is None:
            raise ValueError("'manufacturer' narrows a secondary-address select: give it with 'secondary_address'")
        return self

    @property
    def target(self) -> SecondaryAddress | None:
        """The select's target for a secondary address (None with a primary address)."""
        if self.secondary_address is None:
            return None
        return SecondaryAddress(self.secondary_address, self.manufacturer)

    @property
    def where(self) -> str:
        """The meter on the bus, in words: ``primary address 1`` / ``secondary address 67020000 KAM``."""
        return f"primary address {self.address}" if self.address is not None else f"secondary address {self.target}"


def cross_check_mbus(devices: list[tuple[int, MbusTcpDevice]]) -> list[tuple[str, str]]:
    """Two enabled meters on one gateway with the same address would answer together (a collision).
    ``devices``: (index in ``[[devices]]``, device).  Returns (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    seen: dict[tuple[str, int, str], str] = {}
    for i, dev in devices:
        if not dev.enabled:
            continue
        key = (dev.host, dev.port, str(dev.address) if dev.address is not None else dev.secondary_address or "")
        where = f"devices[{i}] (id {dev.id!r})"
        field = "address" if dev.address is not None else "secondary_address"
        if key in seen:
            problems.append((f"{where}.{field}", f"{dev.host}:{dev.port} {dev.where} is already used by {seen[key]}"))
        seen.setdefault(key, f"{dev.site}/{dev.id}")
    return problems
