"""Register maps: decode raw registers into channel values, encode them (for simulators), plan reads."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from energimon.collector.modbus.fields import RegisterField

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
    if field.sentinels and isinstance(raw, int) and raw in field.sentinels:
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
    if not field.sentinels:
        raise ValueError(f"{field.channel}: no sentinel declared")
    return _from_bytes(field, struct.pack(_STRUCT[field.type], field.sentinels[0]))


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
