"""One value in a Modbus register map: where it lives and how to turn registers into our units.

Used both by device profiles (``config/profiles/*.toml``) and by inline
``registers`` maps in the configuration.

value = raw × scale × 10^sf + offset, then × sign, where ``sf`` is read from
``scale_factor_address`` (a SunSpec-style int16 "sunssf" register, read in the
same request as the value so the pair is consistent) or 0.  A raw value equal
to one of the field's ``sentinels`` (or NaN/Inf for floats) means "not
available": no reading, never zero.

``masked_sentinels`` declare "not available" values by a bit pattern: the raw
value's bits (two's complement for signed types), ANDed with ``mask``, equal
``value``.  Carlo Gavazzi EM24 marks an overflow by 7FFFh in the most
significant word of the variable, whatever the low word holds ("The overflow
indication "EEEE" is displayed when the MSB value of the relevant variable is
7FFFh", EM24-DIN PFA, PFB & X models Communication Protocol, section 2.2):
``masked_sentinels = [{ mask = 0xFFFF0000, value = 0x7FFF0000 }]`` for an INT32.

:class:`InfoField` is one piece of device identity (manufacturer, model, serial
number, version, options) in a profile's ``info`` list: a ``string`` over N
registers, or an unsigned integer shown in decimal.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon.model import CHANNELS

RegisterTable = Literal["holding", "input", "coil", "discrete"]
DataType = Literal[
    "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bool", "bit",
]

TYPE_WIDTH: dict[str, int] = {
    "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "int64": 4, "uint64": 4,
    "float32": 2, "float64": 4, "bit": 1, "bool": 1,
}

SUNSPEC_SENTINELS: dict[str, int] = {
    # SunSpec Information Model Reference: "not implemented" values per type
    "int16": -0x8000, "uint16": 0xFFFF, "int32": -0x80000000, "uint32": 0xFFFFFFFF,
    "int64": -0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF,
}


_INT_BITS = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64}


def _as_raw(type_: str, sentinel: int) -> int:
    """A sentinel as the decoded raw value: vendor tables write 0x8000 for an int16's -32768."""
    bits = _INT_BITS.get(type_)
    if bits is None:
        raise ValueError(f"sentinels apply to integer types; {type_} has none (floats: NaN is always missing)")
    signed = type_.startswith("int")
    lo, hi = (-(1 << (bits - 1)), (1 << bits) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= sentinel <= hi:
        raise ValueError(f"sentinel {sentinel} does not fit a {type_}")
    if signed and sentinel >= 1 << (bits - 1):
        sentinel -= 1 << bits  # two's complement: 0x8000 -> -32768
    return sentinel


class MaskedSentinel(BaseModel):
    """raw bits & mask == value  ->  "not available"."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (bench/startup.py)

    mask: int = Field(gt=0, description="bits of the raw value that are compared")
    value: int = Field(ge=0, description="what those bits hold when the value is not available")

    @model_validator(mode="after")
    def _value_inside_mask(self) -> MaskedSentinel:
        if self.value & ~self.mask:
            raise ValueError(f"value 0x{self.value:X} has bits outside mask 0x{self.mask:X}: it could never match")
        return self

    def matches(self, raw_bits: int) -> bool:
        return raw_bits & self.mask == self.value


class RegisterField(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (bench/startup.py)

    channel: str
    address: int = Field(ge=0, le=65535)
    table: RegisterTable = "holding"
    type: DataType = "uint16"
    word_order: Literal["big", "little"] = Field(
        default="big", description="big: most significant 16-bit word first"
    )
    byte_order: Literal["big", "little"] = Field(
        default="big", description="big: most significant byte first inside each word (Modbus standard)"
    )
    scale: float = 1.0
    offset: float = 0.0
    scale_factor_address: int | None = Field(default=None, ge=0, le=65535)
    sign: Literal[1, -1] = 1
    bit: int | None = Field(default=None, ge=0, le=15, description="for type 'bit': which bit of the register")
    sentinels: tuple[int, ...] = Field(default=(), description="raw values meaning 'not available'")
    masked_sentinels: tuple[MaskedSentinel, ...] = Field(
        default=(), description="bit patterns meaning 'not available' (raw & mask == value)")
    subdevice: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,30}$",
        description="readings go to device '<device id>-<subdevice>' (e.g. 'mppt1' for per-MPPT values)",
    )

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        if v not in CHANNELS:
            raise ValueError(f"unknown channel {v!r}; expected one of: {', '.join(sorted(CHANNELS))}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RegisterField:
        bit_table = self.table in ("coil", "discrete")
        if bit_table and self.type != "bool":
            raise ValueError(f"a {self.table} holds one bit: type must be 'bool'")
        if self.type == "bool" and not bit_table:
            raise ValueError("type 'bool' is for coil/discrete tables; use 'bit' with bit = N for a register bit")
        if (self.type == "bit") != (self.bit is not None):
            raise ValueError("type 'bit' needs 'bit' (0-15), and 'bit' needs type 'bit'")
        if self.scale_factor_address is not None and bit_table:
            raise ValueError("scale_factor_address only applies to registers")
        if self.sentinels:
            object.__setattr__(self, "sentinels", tuple(_as_raw(self.type, s) for s in self.sentinels))
        for i, m in enumerate(self.masked_sentinels):
            bits = _INT_BITS.get(self.type)
            if bits is None:
                raise ValueError(f"masked_sentinels[{i}]: masks apply to integer types; {self.type} has none")
            if m.mask >> bits:
                raise ValueError(f"masked_sentinels[{i}]: mask 0x{m.mask:X} is wider than a {self.type} ({bits} bits)")
        return self

    def is_sentinel(self, raw: int) -> bool:
        """``raw`` (the decoded integer) is one of the field's "not available" values."""
        if raw in self.sentinels:
            return True
        if self.masked_sentinels:
            bits = raw & ((1 << _INT_BITS[self.type]) - 1)  # two's complement bit pattern
            return any(m.matches(bits) for m in self.masked_sentinels)
        return False

    @property
    def width(self) -> int:
        """Registers (or bits, for coil/discrete) the value occupies."""
        return TYPE_WIDTH[self.type]


INFO_KEYS = ("manufacturer", "model", "serial", "version", "options")
InfoType = Literal["string", "uint16", "uint32", "uint64"]


class InfoField(BaseModel):
    """One piece of device identity in a profile's ``info`` list (never a reading: it is not a channel).

    ``string``: ASCII (or UTF-8) over ``registers`` registers; ``byte_order = "big"`` when the first
    character is in the high byte of the first register (the Modbus norm), ``"little"`` when in the
    low byte.  An unsigned integer (e.g. a serial number as UINT32) is shown in decimal.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # built on first use (bench/startup.py)

    key: Literal["manufacturer", "model", "serial", "version", "options"]
    address: int = Field(ge=0, le=65535)
    table: Literal["holding", "input"] = "holding"
    type: InfoType = "string"
    registers: int | None = Field(default=None, ge=1, le=125, description="string length in registers")
    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"

    @model_validator(mode="after")
    def _consistent(self) -> InfoField:
        if self.type == "string" and self.registers is None:
            raise ValueError("a string needs 'registers' (its length in 16-bit registers)")
        if self.type != "string" and self.registers is not None:
            raise ValueError(f"'registers' is for strings; a {self.type} is {TYPE_WIDTH[self.type]} registers wide")
        if self.address + self.width > 65536:
            raise ValueError(f"{self.width} registers from {self.address} run past register 65535")
        return self

    @property
    def width(self) -> int:
        if self.type != "string":
            return TYPE_WIDTH[self.type]
        if self.registers is None:  # refused by _consistent: only a model built around validation gets here
            raise ValueError("a string needs 'registers' (its length in 16-bit registers)")
        return self.registers
