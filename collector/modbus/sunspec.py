"""SunSpec discovery: find the 'SunS' marker, walk the model chain, and turn known models into RegisterFields.

:func:`discover` only reads (FC 3, or FC 4 with ``table="input"``) through
:class:`~energimon.collector.modbus.client.ReadOnlyModbusClient`.  Its result's ``fields`` are ordinary
:class:`~energimon.collector.modbus.fields.RegisterField` s that the poller plans and decodes like any
profile's.  Model layouts come from pysunspec2's shipped JSON model definitions
(:mod:`energimon.collector.modbus.sunspec_map`); nothing of a model is retyped.

Discovery
    The marker 0x5375 0x6E53 ('SunS') is looked for at 40000, then 0, then 50000 (SunSpec Modbus spec:
    the three well-known base addresses).  The chain of (ID, L) headers starting right after it is
    followed until ID 0xFFFF.  It is bounded: at most :data:`MAX_MODELS` models, a length that runs
    past register 65535 or an ID of 0 is garbage and raises :class:`SunSpecError` naming the address;
    an exception response where the next header should be ends the chain (some devices omit the end
    marker), noted in ``warnings``.  Model 1 (common) provides manufacturer, model, serial and version.

Channels (see :data:`~energimon.collector.modbus.sunspec_map.POINT_CHANNELS`)
    * Inverters 101-103 (integer + scale factor) and 111-113 (float32): W -> ``pv_power_w``,
      WH -> ``pv_energy_wh``, DCW -> ``pv_dc_power_w``, A, Hz, VAr, PF, phase voltages.
    * 160 (multiple MPPT): each module's DCW -> ``pv_dc_power_w`` on sub-device ``mppt<n>``.
    * Meters 201-204 (integer + SF) and 211-214 (float32): W -> ``power_w``, TotWhImp ->
      ``energy_import_wh``, TotWhExp -> ``energy_export_wh``, A, Hz, VAR, PF, PhV and phase voltages.
    * 701 (DER AC measurement): W -> ``pv_power_w``, TotWhInj -> ``pv_energy_wh``, A, Hz, Var, PF,
      LNV and VL1-VL3.

Signs (energimon: grid power + = drawn from the grid; PV power + = producing; two counters)
    * Inverter models 10x/11x: W is the AC output, positive while producing -> ``pv_power_w`` as is.
    * 701: the model definition says "Active power is positive for DER generation and negative for
      absorption" -> ``pv_power_w`` as is.  TotWhInj (injected, quadrants 1 & 4) is the production counter.
    * Meters 20x/21x: the shipped definitions say only "Total Real Power" — no sign is stated there,
      and no SunSpec-authored statement of it was found.  The mapping assumes the metering convention
      (W > 0 while importing, the direction TotWhImp counts; a third-party summary of the related model
      220 says "positive is import", modbuscloud.com) which is energimon's, so ``sign = +1``.  Vendors
      differ (SolarEdge documents + = export for its E+I meter), so a device needs a sign override —
      not yet expressible for discovered fields (see the report).  TotWhImp/TotWhExp are unambiguous:
      two non-negative counters, mapped unchanged to import and export.

Units
    SunSpec energy is in Wh and power in W (scale 1, times 10^SF); PF in "Pct" (20x/10x/11x) is
    divided by 100 to the ``power_factor`` ratio; 701's and 21x's PF is already a ratio.

Missing is not zero
    Every field carries its type's SunSpec "not implemented" value as a sentinel (int16 0x8000, uint16
    0xFFFF, acc32 0, int32 0x80000000, uint32 0xFFFFFFFF, float NaN; table in ``sunspec_map``), and a
    scale factor of -32768 (not implemented) makes its values missing: both decode to no reading.

Sub-devices
    Inverter (10x/11x/701) channels go to the device itself.  A meter model goes to the device itself
    when the device has no inverter model and it is the first meter, else to sub-device ``meter<n>``.
    A channel a second model would deliver again on the same (sub-)device is dropped (first model wins)
    and named in ``warnings``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from energimon.collector.modbus.client import ReadOnlyModbusClient
from energimon.collector.modbus.fields import RegisterField
from energimon.collector.modbus.registers import decode_string
from energimon.collector.modbus.sunspec_map import (
    COMMON_MODEL,
    DER_AC_MODEL,
    END_MODEL_ID,
    INVERTER_MODELS,
    METER_MODELS,
    MPPT_MODEL,
    SUNS_MARKER,
    model_fields,
    model_layout,
)

log = logging.getLogger("energimon.collector.sunspec")

BASE_ADDRESSES = (40000, 0, 50000)
MAX_MODELS = 100
ADDRESS_SPACE = 0x10000


class SunSpecError(Exception):
    """The device is not SunSpec, or its model chain is garbage.  The message names unit and address."""


@dataclass
class SunSpecDevice:
    base: int
    models: list[tuple[int, int, int]]  # (model id, address of its ID register, length L)
    info: dict[str, str]  # manufacturer, model, serial, version, options (from model 1)
    fields: list[RegisterField]
    unit_id: int = 1
    table: str = "holding"
    warnings: list[str] = field(default_factory=list)  # points or models left out, and why

    @property
    def model_ids(self) -> list[int]:
        return [m[0] for m in self.models]


async def _read(client: ReadOnlyModbusClient, table: str, address: int, count: int, unit_id: int) -> list[int] | None:
    """Registers, or None for an exception response.  Timeouts/connection errors propagate."""
    resp = await client.read(table, address, count, unit_id)
    if resp.isError():
        return None
    regs = [int(r) for r in resp.registers]
    if len(regs) < count:
        raise SunSpecError(f"unit {unit_id}: short answer at {address}: {len(regs)} of {count} registers")
    return regs[:count]


async def find_base(client: ReadOnlyModbusClient, unit_id: int, table: str = "holding",
                    bases: tuple[int, ...] = BASE_ADDRESSES) -> int:
    """The first base address holding the 'SunS' marker; SunSpecError when none does."""
    for base in bases:
        regs = await _read(client, table, base, 2, unit_id)
        if regs is not None and tuple(regs) == SUNS_MARKER:
            return base
    raise SunSpecError(f"unit {unit_id}: no SunSpec marker 'SunS' at {', '.join(map(str, bases))} ({table})")


async def walk_models(client: ReadOnlyModbusClient, unit_id: int, base: int, table: str = "holding",
                      warnings: list[str] | None = None,
                      context: dict[str, Any] | None = None) -> list[tuple[int, int, int]]:
    """(model id, address, length) of every model after the marker at ``base``, up to the 0xFFFF end."""
    models: list[tuple[int, int, int]] = []
    addr = base + 2
    while True:
        if addr + 2 > ADDRESS_SPACE:
            raise SunSpecError(f"unit {unit_id}: model chain runs past register 65535 (next header at {addr})")
        header = await _read(client, table, addr, 2, unit_id)
        if header is None:
            if not models:
                raise SunSpecError(f"unit {unit_id}: exception response reading the first model header at {addr}")
            msg = f"unit {unit_id}: chain ends without the 0xFFFF end model (exception response at {addr})"
            log.warning(msg, extra=context or {})
            if warnings is not None:
                warnings.append(msg)
            return models
        model_id, length = header
        if model_id == END_MODEL_ID:
            return models
        if model_id == 0:
            raise SunSpecError(f"unit {unit_id}: garbage in the model chain: model id 0 at {addr}")
        if addr + 2 + length > ADDRESS_SPACE:
            raise SunSpecError(
                f"unit {unit_id}: garbage in the model chain: model {model_id} at {addr} has length {length}, "
                f"running past register 65535"
            )
        if len(models) >= MAX_MODELS:
            raise SunSpecError(f"unit {unit_id}: more than {MAX_MODELS} models in the chain (at {addr}): garbage?")
        models.append((model_id, addr, length))
        addr += 2 + length


async def read_info(client: ReadOnlyModbusClient, unit_id: int, addr: int, length: int,
                    table: str = "holding") -> dict[str, str]:
    """Manufacturer, model, options, version and serial from the common model (1) at ``addr``.

    The points are strings (Mn 16, Md 16, Opt 8, Vr 8, SN 16 registers in pysunspec2's model_1.json),
    NUL-padded; a point that holds only NUL ("not implemented" for strings) is left out.
    """
    layout = model_layout(COMMON_MODEL)
    count = min(length + 2, layout.fixed_len if layout else 68)
    regs = await _read(client, table, addr, count, unit_id)
    if regs is None or layout is None:
        return {}
    info = {}
    for key, point in (("manufacturer", "Mn"), ("model", "Md"), ("options", "Opt"), ("version", "Vr"),
                       ("serial", "SN")):
        p = layout.points[point]
        if p.offset + p.size <= len(regs):
            text = decode_string(regs[p.offset : p.offset + p.size])
            if text is not None:
                info[key] = text
    return info


async def read_module_counts(client: ReadOnlyModbusClient, unit_id: int, models: list[tuple[int, int, int]],
                             table: str = "holding") -> dict[int, int]:
    """Model 160's N (modules in use) per model address; a device may reserve room for more modules
    than it has, and their points would only ever be "not implemented"."""
    layout = model_layout(MPPT_MODEL)
    out: dict[int, int] = {}
    if layout is None or "N" not in layout.points:
        return out
    for model_id, addr, length in models:
        offset = layout.points["N"].offset
        if model_id != MPPT_MODEL or offset >= length + 2:
            continue
        regs = await _read(client, table, addr + offset, 1, unit_id)
        if regs is not None and regs[0] != 0xFFFF:  # count "not implemented": use L
            out[addr] = regs[0]
    return out


def build_fields(
    models: list[tuple[int, int, int]], table: str = "holding", counts: dict[int, int] | None = None,
) -> tuple[list[RegisterField], list[str]]:
    """RegisterFields for the known models of a chain, and what was left out (with reasons).

    ``counts``: model address -> repeating-group instances in use (model 160's N), where known.
    """
    fields: list[RegisterField] = []
    warnings: list[str] = []
    seen: set[tuple[str, str | None]] = set()
    has_inverter = any(m in INVERTER_MODELS or m == DER_AC_MODEL for m, _, _ in models)
    meters = 0
    for model_id, addr, length in models:
        subdevice = None
        if model_id in METER_MODELS:
            meters += 1
            if has_inverter or meters > 1:
                subdevice = f"meter{meters}"
        got, problems = model_fields(model_id, addr, length, table, subdevice,
                                     count=(counts or {}).get(addr))
        warnings += [f"model {model_id} at {addr}: {p}" for p in problems]
        for f in got:
            key = (f.channel, f.subdevice)
            if key in seen:
                warnings.append(f"model {model_id} at {addr}: {f.channel} already delivered by an earlier model")
                continue
            seen.add(key)
            fields.append(f)
    return fields, warnings


async def discover(client: ReadOnlyModbusClient, unit_id: int, table: str = "holding",
                   context: dict[str, Any] | None = None) -> SunSpecDevice:
    """Find the SunSpec marker, walk the model chain and map the known models onto channels.

    Read-only.  Raises :class:`SunSpecError` for a non-SunSpec device or a garbage chain; timeouts and
    connection errors of the client propagate unchanged (the poller's backoff handles them).
    """
    base = await find_base(client, unit_id, table)
    warnings: list[str] = []
    models = await walk_models(client, unit_id, base, table, warnings, context)
    info: dict[str, str] = {}
    common = [m for m in models if m[0] == COMMON_MODEL]
    if not common:
        warnings.append(f"unit {unit_id}: no common model (1) in the chain")
    else:
        info = await read_info(client, unit_id, common[0][1], common[0][2], table)
    # reads pysunspec2's JSON model definitions (once per model id, then cached): off the event loop
    counts = await read_module_counts(client, unit_id, models, table)
    fields, problems = await asyncio.to_thread(build_fields, models, table, counts)
    warnings += problems
    for w in problems:
        log.info("unit %d: %s", unit_id, w, extra=context or {})
    return SunSpecDevice(base=base, models=models, info=info, fields=fields, unit_id=unit_id, table=table,
                         warnings=warnings)
