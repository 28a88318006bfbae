"""``energimon probe``: read a device once with a profile (or SunSpec) and show what comes back.

For commissioning: the technician sees every channel's value, unit and the raw
registers behind it, and whether the signs look right, before the device goes
into the configuration.  Read function codes only, like the collector.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from energimon.collector.modbus.poller import DeviceUnreachable, ModbusPoller
from energimon.collector.modbus.registers import decode, plan_reads
from energimon.config.settings import ModbusTcpDevice
from energimon.model import CHANNELS, Role

COMMON_UNIT_IDS = (1, 2, 3, 126, 247)


@dataclass
class ProbeRow:
    channel: str
    subdevice: str | None
    table: str
    address: int
    raw: list[int] | None
    value: float | None
    note: str


def parse_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":") if ":" in target else (target, "", "502")
    if not host:
        raise ValueError(f"expected HOST or HOST:PORT, got {target!r}")
    try:
        port_n = int(port)
    except ValueError:
        raise ValueError(f"port {port!r} is not a number") from None
    if not 1 <= port_n <= 65535:
        raise ValueError(f"port {port_n} is outside 1-65535")
    return host, port_n


def _device(host: str, port: int, unit: int, profile: str, timeout_s: float) -> ModbusTcpDevice:
    return ModbusTcpDevice(protocol="modbus_tcp", site="probe", id="probe", role=Role.GRID, host=host,
                           port=port, unit_id=unit, profile=profile, timeout_s=timeout_s)


async def _noop_sink(readings, source) -> bool:
    return True


async def probe(host: str, port: int, unit: int, profile: str, timeout_s: float = 3.0) -> list[ProbeRow]:
    """Read every field of ``profile`` once; one row per field, raw registers included."""
    poller = ModbusPoller(_device(host, port, unit, profile, timeout_s), _noop_sink)
    rows: list[ProbeRow] = []
    try:
        async with poller.conn.lock:
            await poller.conn.ensure()
            if profile == "sunspec":
                await poller._discover_sunspec()
            poller._answers = poller._timeouts = 0
            for field in poller.fields or []:
                block = plan_reads([field], poller.max_count, max_gap=-1)[0]
                regs = await poller._request(block)
                if regs is None:
                    rows.append(ProbeRow(field.channel, field.subdevice, field.table, field.address, None, None,
                                         "no answer / exception (see --debug log)"))
                    continue
                value_regs = list(block.slice(regs, field.address, field.width))
                sf = None
                if field.scale_factor_address is not None:
                    raw_sf = block.slice(regs, field.scale_factor_address, 1)[0]
                    sf = raw_sf - 0x10000 if raw_sf >= 0x8000 else raw_sf
                value = decode(field, value_regs, sf)
                note = "not available (sentinel/NaN)" if value is None else ""
                if sf is not None:
                    note = (note + f" sf={sf}").strip()
                rows.append(ProbeRow(field.channel, field.subdevice, field.table, field.address, value_regs,
                                     value, note))
    finally:
        poller.conn.reset()
    return rows


async def scan_units(host: str, port: int, profile: str, timeout_s: float = 1.0,
                     units: tuple[int, ...] = COMMON_UNIT_IDS) -> dict[int, str]:
    """Which of the common unit ids answer?  ``answers`` / ``exception N`` / ``no answer``."""
    found: dict[int, str] = {}
    for unit in units:
        try:
            rows = await asyncio.wait_for(probe(host, port, unit, profile, timeout_s), timeout=timeout_s * 20)
        except (DeviceUnreachable, TimeoutError, OSError) as exc:
            found[unit] = f"no answer ({exc or type(exc).__name__})"
            continue
        ok = sum(r.value is not None for r in rows)
        found[unit] = f"answers: {ok} of {len(rows)} values" if ok else "connected, but no values"
    return found


def format_rows(rows: list[ProbeRow]) -> str:
    table = [("channel", "value", "unit", "table", "address", "raw registers", "note")]
    for r in rows:
        name = r.channel + (f" ({r.subdevice})" if r.subdevice else "")
        raw = " ".join(f"{x:04X}" for x in r.raw) if r.raw is not None else "-"
        value = "-" if r.value is None else f"{r.value:.3f}"
        table.append((name, value, CHANNELS[r.channel].unit, r.table, str(r.address), raw, r.note))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for j, row in enumerate(table):
        lines.append("  ".join(c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                  strict=True))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
