"""Register maps: decode raw 16-bit registers into channel values, and plan reads.

The foundation supports 16/32-bit integers and float32 in both word orders,
a scale factor and a sign; the profile engine grows from here.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from energimon.config.settings import RegisterField

MAX_REGISTERS_PER_READ = 125  # Modbus application protocol limit for FC 3/4

_WIDTH = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}
_STRUCT = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}


def width(field: RegisterField) -> int:
    return _WIDTH[field.type]


def decode(field: RegisterField, regs: list[int]) -> float | None:
    """The field's value in its channel unit, or None when the registers hold no number.

    ``regs`` are exactly the field's registers, in the order the device sent them.
    """
    n = _WIDTH[field.type]
    if len(regs) != n:
        raise ValueError(f"{field.channel}: expected {n} registers, got {len(regs)}")
    words = list(regs) if field.word_order == "big" else list(reversed(regs))
    raw = struct.unpack(_STRUCT[field.type], struct.pack(f">{n}H", *words))[0]
    if isinstance(raw, float) and not math.isfinite(raw):
        return None  # a NaN/Inf float is "not available", never a value
    return float(raw) * field.scale * field.sign


@dataclass(frozen=True)
class ReadBlock:
    """One read request: ``count`` registers from ``address`` in ``table``, covering ``fields``."""

    table: str
    address: int
    count: int
    fields: tuple[RegisterField, ...]


def plan_reads(
    fields: list[RegisterField], max_count: int = MAX_REGISTERS_PER_READ, max_gap: int = 16
) -> list[ReadBlock]:
    """Coalesce fields into the fewest reads: same table, at most ``max_count``
    registers each, bridging holes of up to ``max_gap`` unused registers."""
    max_count = min(max_count, MAX_REGISTERS_PER_READ)
    blocks: list[ReadBlock] = []
    for table in ("holding", "input"):
        todo = sorted((f for f in fields if f.table == table), key=lambda f: f.address)
        current: list[RegisterField] = []
        start = end = 0
        for f in todo:
            f_end = f.address + width(f)
            if current and f.address - end <= max_gap and f_end - start <= max_count:
                current.append(f)
                end = max(end, f_end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [f], f.address, f_end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks
