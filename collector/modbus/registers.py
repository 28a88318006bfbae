"""Register maps: decode raw registers into channel values, encode them (for simulators), plan reads."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from energimon.collector.modbus.fields import InfoField, RegisterField

MAX_REGISTERS_PER_READ = 125  # Modbus application protocol v1.1b3, FC 3/4: 1..125 registers
MAX_BITS_PER_READ = 2000  # FC 1/2: 1..2000 coils/inputs
DEFAULT_MAX_GAP = 16

_STRUCT = {
    "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
    "int64": ">q", "uint64": ">Q", "float32": ">f", "float64": ">d",
}


def _to_bytes(field: RegisterField, regs: Sequence[int]) -> bytes:
    """Registers as sent by the device -> big-endian bytes of the value."""
    words = list(regs) if field.word_order == "big" else list(reversed(regs))
    if field.byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return struct.pack(f">{len(words)}H", *words)


def _from_bytes(field: RegisterField, raw: bytes) -> list[int]:
    words = list(struct.unpack(f">{len(raw) // 2}H", raw))
    if field.byte_order == "little":
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    return words if field.word_order == "big" else list(reversed(words))


def raw_value(field: RegisterField, regs: Sequence[int]) -> int | float:
    """The unscaled number the registers hold."""
    if len(regs) != field.width:
        raise ValueError(f"{field.channel}: expected {field.width} registers, got {len(regs)}")
    if field.type == "bit":
        assert field.bit is not None  # RegisterField requires 'bit' for type "bit"
        return (regs[0] >> field.bit) & 1
    if field.type == "bool":
        return 1 if regs[0] else 0
    return struct.unpack(_STRUCT[field.type], _to_bytes(field, regs))[0]


def decode(field: RegisterField, regs: Sequence[int], scale_factor: int | None = None) -> float | None:
    """The field's value in its channel unit, or None when the device says "not available".

    ``regs`` are the field's registers in the order the device sent them;
    ``scale_factor`` is the raw int16 of the field's scale-factor register.
    """
    raw = raw_value(field, regs)
    if isinstance(raw, float) and not math.isfinite(raw):
        return None  # NaN/Inf: not available, never a value
    if isinstance(raw, int) and (field.sentinels or field.masked_sentinels) and field.is_sentinel(raw):
        return None
    exponent = 0
    if field.scale_factor_address is not None:
        if scale_factor is None or scale_factor == -0x8000 or not -10 <= scale_factor <= 10:
            return None  # a missing or "not implemented" scale factor makes the value unusable
        exponent = scale_factor
    value = float(raw) * field.scale * (10.0**exponent) + field.offset
    if not math.isfinite(value):
        return None  # a garbage raw value scaled past the float range is no measurement either
    return value * field.sign


def encode(field: RegisterField, value: float, scale_factor: int = 0) -> list[int]:
    """Registers a device would send for ``value`` (the inverse of :func:`decode`; for simulators)."""
    raw = (value * field.sign - field.offset) / field.scale / (10.0**scale_factor)
    if field.type in ("bit", "bool"):
        return [(1 << (field.bit or 0)) if raw else 0]
    if field.type.startswith("float"):
        return _from_bytes(field, struct.pack(_STRUCT[field.type], raw))
    return _from_bytes(field, struct.pack(_STRUCT[field.type], round(raw)))


def sentinel_registers(field: RegisterField) -> list[int]:
    """Registers holding the field's first "not available" value (for simulators and tests)."""
    if field.type.startswith("float"):
        return _from_bytes(field, struct.pack(_STRUCT[field.type], float("nan")))
    if field.sentinels:
        return _from_bytes(field, struct.pack(_STRUCT[field.type], field.sentinels[0]))
    if field.masked_sentinels:
        m = field.masked_sentinels[0]
        bits = 8 * struct.calcsize(_STRUCT[field.type])
        raw = m.value | (0x2A2A2A2A2A2A2A2A & ~m.mask & ((1 << bits) - 1))  # the bits outside the mask: anything
        if field.type.startswith("int") and raw >> (bits - 1):
            raw -= 1 << bits
        return _from_bytes(field, struct.pack(_STRUCT[field.type], raw))
    raise ValueError(f"{field.channel}: no sentinel declared")


# -- device identity (strings and serial numbers) ----------------------------------------------------
def string_bytes(regs: Sequence[int], byte_order: str = "big") -> bytes:
    """The bytes of a string register block: ``big``: first character in each register's high byte."""
    return b"".join(int(w).to_bytes(2, "big" if byte_order == "big" else "little") for w in regs)


def decode_string(regs: Sequence[int], byte_order: str = "big") -> str | None:
    """Text held in registers, trimmed; None when they hold nothing (all NUL/blank).

    Leading and trailing NULs and spaces are padding (SunSpec pads with NUL, some vendors with spaces);
    a NUL inside ends the text (what follows is left-over memory).  Bytes are read as UTF-8 (ASCII is a
    subset; Schneider documents UTF8); a byte that is not valid UTF-8 or a control character is shown as
    ``\\xNN``, so the result is printable, one line, and the same registers always give the same text.
    """
    raw = string_bytes(regs, byte_order).strip(b"\0 ")
    raw = raw.split(b"\0", 1)[0].rstrip(b" ")
    text = raw.decode("utf-8", errors="backslashreplace")
    text = "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)
    return text or None


def encode_string(text: str, registers: int, byte_order: str = "big") -> list[int]:
    """Registers holding ``text`` NUL-padded (for simulators); longer text is cut to fit."""
    raw = text.encode("utf-8")[: 2 * registers].ljust(2 * registers, b"\0")
    order: Literal["big", "little"] = "big" if byte_order == "big" else "little"
    return [int.from_bytes(raw[i : i + 2], order) for i in range(0, len(raw), 2)]


def decode_info(field: InfoField, regs: Sequence[int]) -> str | None:
    """One identity value as text: a string, or an unsigned integer in decimal.

    An integer 0 is no value: an identity register that was never set (a serial number of 0 would make a
    device that reports it while starting up look swapped).
    """
    if len(regs) != field.width:
        raise ValueError(f"{field.key}: expected {field.width} registers, got {len(regs)}")
    if field.type == "string":
        return decode_string(regs, field.byte_order)
    words = list(regs) if field.word_order == "big" else list(reversed(regs))
    value = int.from_bytes(struct.pack(f">{len(words)}H", *words), "big")
    return str(value) if value else None


def encode_info(field: InfoField, value: str) -> list[int]:
    """Registers a device would hold for an identity value (the inverse of :func:`decode_info`)."""
    if field.type == "string":
        return encode_string(value, field.width, field.byte_order)
    words = list(struct.unpack(f">{field.width}H", int(value).to_bytes(2 * field.width, "big")))
    return words if field.word_order == "big" else list(reversed(words))


@dataclass(frozen=True)
class ReadBlock:
    """One read request: ``count`` registers (or bits) from ``address`` in ``table``, covering ``fields``."""

    table: str
    address: int
    count: int
    fields: tuple[RegisterField, ...]

    @property
    def function_code(self) -> int:
        return {"coil": 1, "discrete": 2, "holding": 3, "input": 4}[self.table]

    def slice(self, regs: Sequence[int], address: int, width: int) -> Sequence[int]:
        off = address - self.address
        return regs[off : off + width]


def field_span(field: RegisterField) -> tuple[int, int]:
    """[first, end) registers a field needs in one request: its value and its scale factor."""
    start, end = field.address, field.address + field.width
    if field.scale_factor_address is not None:
        start = min(start, field.scale_factor_address)
        end = max(end, field.scale_factor_address + 1)
    return start, end


def plan_reads(
    fields: Sequence[RegisterField],
    max_count: int = MAX_REGISTERS_PER_READ,
    max_gap: int = DEFAULT_MAX_GAP,
) -> list[ReadBlock]:
    """Coalesce fields into the fewest reads.

    Same table only; at most ``max_count`` registers per read (capped at the
    protocol's 125, or 2000 bits for coils/discrete inputs); holes of up to
    ``max_gap`` unused registers are read rather than split (``max_gap < 0``:
    one request per field, for devices that reject reads spanning several values).
    A value and its scale factor always travel in the same request.
    """
    blocks: list[ReadBlock] = []
    for table in ("coil", "discrete", "holding", "input"):
        cap = min(max_count, MAX_BITS_PER_READ if table in ("coil", "discrete") else MAX_REGISTERS_PER_READ)
        todo = sorted((f for f in fields if f.table == table), key=field_span)
        current: list[RegisterField] = []
        start = end = 0
        for f in todo:
            f_start, f_end = field_span(f)
            if f_end - f_start > cap:
                raise ValueError(
                    f"{f.channel}: value at {f.address} and its scale factor at {f.scale_factor_address} "
                    f"are {f_end - f_start} registers apart, more than one read of {cap}"
                )
            fits = max(end, f_end) - start <= cap
            if current and max_gap >= 0 and f_start - end <= max_gap and fits:
                current.append(f)
                end = max(end, f_end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [f], f_start, f_end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


def decode_block(block: ReadBlock, regs: Sequence[int]) -> list[tuple[RegisterField, float]]:
    """Values of all fields of a block that hold a number (missing ones are left out)."""
    out = []
    for f in block.fields:
        sf = None
        if f.scale_factor_address is not None:
            sf = struct.unpack(">h", struct.pack(">H", block.slice(regs, f.scale_factor_address, 1)[0]))[0]
        value = decode(f, block.slice(regs, f.address, f.width), sf)
        if value is not None:
            out.append((f, value))
    return out
