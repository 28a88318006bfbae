"""Settings of an M-Bus meter: a ``[[devices]]`` table with ``protocol = "mbus_tcp"`` (through an M-Bus/TCP
gateway) or ``protocol = "mbus_serial"`` (through a serial M-Bus master / level converter on this computer).

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

    [[devices]]
    protocol = "mbus_serial"
    site = "soro-raadhus"
    id = "fjernvarme-kaelder"
    port = "/dev/ttyUSB0"        # the serial M-Bus master (USB level converter)
    baudrate = 2400              # EN 13757-2: 8 data bits, even parity, 1 stop bit
    address = 2
"""

from __future__ import annotations

from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon.collector.mbus.frames import ADDRESS_MAX_PRIMARY, SecondaryAddress, manufacturer_code
from energimon.model import ID_RULE, Role, is_valid_id

BaudRate = Literal[300, 600, 1200, 2400, 4800, 9600, 19200, 38400]
"""The M-Bus baud rates (EN 13757-2, "Physical layer"); 2400 is what most masters and meters default to."""
BAUD_RATES: tuple[int, ...] = get_args(BaudRate)
PARITIES = {"even": "E", "none": "N", "odd": "O"}
"""Parity names in the settings -> pyserial's letters; M-Bus is 8E1 (EN 13757-2), the others are for odd
converters only."""


class _MbusMeter(BaseModel):
    """What every M-Bus meter has, however its bus is reached (:class:`MbusTcpDevice`, :class:`MbusSerialDevice`)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    site: str
    id: str
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name in mails and reports, e.g. 'Hovedmåler' (default: the id)")
    role: Role = Role.HEAT
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
    def _one_address(self) -> Self:
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

class MbusTcpDevice(_MbusMeter):
    """One meter behind an M-Bus/TCP gateway (several meters on one gateway share its connection)."""

    protocol: Literal["mbus_tcp"]
    host: str = Field(min_length=1, description="the M-Bus/TCP gateway")
    port: int = Field(ge=1, le=65535, description="the gateway's TCP port for transparent M-Bus (no default: "
                                                  "gateways differ, e.g. 10001, 9999, 5000)")

    @property
    def bus(self) -> str:
        """Where the bus is reached (messages; meters with one ``bus`` share its connection)."""
        return f"{self.host}:{self.port}"


class MbusSerialDevice(_MbusMeter):
    """One meter on a bus driven by a serial M-Bus master on this computer (a USB or RS-232 level converter);
    several meters on one port share it."""

    protocol: Literal["mbus_serial"]
    port: str = Field(min_length=1, description="the serial port of the M-Bus master, e.g. /dev/ttyUSB0 or "
                                                "/dev/serial/by-id/… (stable across reboots)")
    baudrate: BaudRate = Field(
        default=2400, description="the bus's baud rate (EN 13757-2); every meter on the port must use it")
    parity: Literal["even", "none", "odd"] = Field(default="even", description="EN 13757-2 says even (8E1)")

    @property
    def bus(self) -> str:
        """Where the bus is reached (messages; meters with one ``bus`` share the port)."""
        return self.port


MbusDevice = MbusTcpDevice | MbusSerialDevice


def cross_check_mbus(devices: list[tuple[int, MbusDevice]]) -> list[tuple[str, str]]:
    """Two enabled meters on one bus with the same address would answer together (a collision); meters on one
    serial port share its baud rate and parity (the port is opened once).  ``devices``: (index in
    ``[[devices]]``, device).  Returns (key path, message) pairs."""
    problems: list[tuple[str, str]] = []
    seen: dict[tuple[str, str, str], str] = {}
    lines: dict[str, tuple[int, str, str]] = {}  # serial port -> (baud rate, parity, the first meter on it)
    for i, dev in devices:
        if not dev.enabled:
            continue
        key = (dev.protocol, dev.bus, str(dev.address) if dev.address is not None else dev.secondary_address or "")
        where = f"devices[{i}] (id {dev.id!r})"
        field = "address" if dev.address is not None else "secondary_address"
        if key in seen:
            problems.append((f"{where}.{field}", f"{dev.bus} {dev.where} is already used by {seen[key]}"))
        seen.setdefault(key, f"{dev.site}/{dev.id}")
        if isinstance(dev, MbusSerialDevice):
            baud, parity, first = lines.setdefault(dev.port, (dev.baudrate, dev.parity, f"{dev.site}/{dev.id}"))
            if (baud, parity) != (dev.baudrate, dev.parity):
                problems.append((f"{where}.baudrate" if baud != dev.baudrate else f"{where}.parity",
                                 f"{dev.port} is opened at {baud} baud, parity {parity} for {first}: meters on one "
                                 "serial port share its settings"))
    return problems
