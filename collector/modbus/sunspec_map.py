"""SunSpec model definitions (from pysunspec2's JSON, as data) and which points become which energimon channel.

The register layout of every model is computed from the model definitions pysunspec2 ships
(``sunspec2/models/json/model_<id>.json``, the SunSpec Alliance's machine-readable models): nothing
is retyped here except the short table :data:`POINT_CHANNELS` that says which SunSpec point feeds which
channel, with which sign and unit factor.  See :mod:`energimon.collector.modbus.sunspec` for the sign
conventions and sentinel values.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from energimon.collector.modbus.fields import RegisterField

# SunSpec point type -> (engine type, "not implemented" raw values).
# Values: the SunSpec Alliance's reference implementation pysunspec2 1.3.7, ``sunspec2/mb.py`` SUNS_UNIMPL_*
# (int16/sunssf 0x8000, uint16/count/enum16 0xFFFF, acc16/acc32/acc64 0 = "not accumulated", int32
# 0x80000000, uint32 0xFFFFFFFF, int64 0x8000000000000000, uint64 0xFFFFFFFFFFFFFFFF, float32 0x7FC00000
# and float64 0x7FF8000000000000, i.e. NaN — the engine treats every NaN/Inf as missing).  These are the
# "unimplemented" values of the SunSpec Information Model Specification (doc 12041), section "Standard Data
# Formats", as pointed out in github.com/crabmusket/gosunspec/issues/33.
# acc32 also lists 0xFFFFFFFF: SMA's SunSpec implementation reports it as "NaN" for 32-bit counters (SMA
# SunSpec Modbus TI ch. 3.6, cited in the same issue; openWB/core PR #3675 handles it), and a counter
# reading of exactly 4 294 967 295 x 10^SF Wh is not plausible.
SUNSPEC_TYPES: dict[str, tuple[str, tuple[int, ...]]] = {
    "int16": ("int16", (-0x8000,)),
    "uint16": ("uint16", (0xFFFF,)),
    "count": ("uint16", (0xFFFF,)),
    "acc16": ("uint16", (0,)),
    "int32": ("int32", (-0x80000000,)),
    "uint32": ("uint32", (0xFFFFFFFF,)),
    "acc32": ("uint32", (0, 0xFFFFFFFF)),
    "int64": ("int64", (-0x8000000000000000,)),
    "uint64": ("uint64", (0xFFFFFFFFFFFFFFFF,)),
    "acc64": ("uint64", (0,)),
    "float32": ("float32", ()),
    "float64": ("float64", ()),
}
SUNSSF_NOT_IMPLEMENTED = -0x8000
END_MODEL_ID = 0xFFFF
SUNS_MARKER = (0x5375, 0x6E53)  # "SunS"

INVERTER_MODELS = frozenset({101, 102, 103, 111, 112, 113})
METER_MODELS = frozenset({201, 202, 203, 204, 211, 212, 213, 214})
DER_AC_MODEL = 701
MPPT_MODEL = 160
COMMON_MODEL = 1


@dataclass(frozen=True)
class Point:
    name: str
    type: str
    size: int
    offset: int  # registers from the model's first register (its ID point)
    sf: str | int | None = None
    units: str | None = None


@dataclass(frozen=True)
class ModelLayout:
    model_id: int
    name: str
    points: dict[str, Point]  # fixed part (top-level points), incl. ID and L
    fixed_len: int  # registers of the fixed part, incl. ID and L
    group_name: str | None = None  # one repeating group (e.g. model 160's per-MPPT "module")
    group_points: dict[str, Point] | None = None  # offsets relative to the start of one repetition
    group_len: int = 0

    def repetitions(self, length: int) -> int:
        """Repeating-group instances in a model whose L point says ``length``."""
        if not self.group_len:
            return 0
        return max(0, (length + 2 - self.fixed_len) // self.group_len)


def _points(defs: list[dict]) -> tuple[dict[str, Point], int]:
    out, offset = {}, 0
    for p in defs:
        out[p["name"]] = Point(p["name"], p["type"], int(p["size"]), offset, p.get("sf"), p.get("units"))
        offset += int(p["size"])
    return out, offset


@functools.cache
def model_layout(model_id: int) -> ModelLayout | None:
    """The register layout of a SunSpec model from pysunspec2's JSON definition (None: no definition)."""
    path = resources.files("sunspec2").joinpath("models", "json", f"model_{model_id}.json")
    if not path.is_file():
        return None
    group = json.loads(path.read_text(encoding="utf-8"))["group"]
    points, fixed_len = _points(group["points"])
    groups = group.get("groups") or []
    if len(groups) == 1 and not groups[0].get("groups"):
        g_points, g_len = _points(groups[0]["points"])
        return ModelLayout(model_id, group["name"], points, fixed_len, groups[0]["name"], g_points, g_len)
    return ModelLayout(model_id, group["name"], points, fixed_len)


@dataclass(frozen=True)
class PointChannel:
    point: str
    channel: str
    sign: int = 1


def _inverter(phases: int) -> tuple[PointChannel, ...]:
    volts = (
        (PointChannel("PhVphA", "voltage_v"),)
        if phases == 1
        else tuple(PointChannel(f"PhVph{p}", f"voltage_l{i}_v") for i, p in enumerate("ABC"[:phases], 1))
    )
    return (
        PointChannel("W", "pv_power_w"),  # SunSpec inverter AC power: + = producing (exporting)
        PointChannel("WH", "pv_energy_wh"),  # lifetime AC energy produced, Wh
        PointChannel("DCW", "pv_dc_power_w"),
        PointChannel("A", "current_a"),
        PointChannel("Hz", "frequency_hz"),
        PointChannel("VAr", "reactive_power_var"),
        PointChannel("PF", "power_factor"),
        *volts,
    )


def _meter(phases: int) -> tuple[PointChannel, ...]:
    volts = tuple(PointChannel(f"PhVph{p}", f"voltage_l{i}_v") for i, p in enumerate("ABC"[:phases], 1))
    return (
        PointChannel("W", "power_w"),  # SunSpec meter: + = import (energy delivered to the site)
        PointChannel("TotWhImp", "energy_import_wh"),
        PointChannel("TotWhExp", "energy_export_wh"),
        PointChannel("A", "current_a"),
        PointChannel("Hz", "frequency_hz"),
        PointChannel("VAR", "reactive_power_var"),
        PointChannel("PF", "power_factor"),
        PointChannel("PhV", "voltage_v"),
        *volts,
    )


POINT_CHANNELS: dict[int, tuple[PointChannel, ...]] = {
    101: _inverter(1), 102: _inverter(2), 103: _inverter(3),
    111: _inverter(1), 112: _inverter(2), 113: _inverter(3),
    201: _meter(1), 202: _meter(2), 203: _meter(3), 204: _meter(3),
    211: _meter(1), 212: _meter(2), 213: _meter(3), 214: _meter(3),
    DER_AC_MODEL: (
        PointChannel("W", "pv_power_w"),  # 701: "positive for DER generation and negative for absorption"
        PointChannel("TotWhInj", "pv_energy_wh"),  # energy injected (quadrants 1 & 4)
        PointChannel("A", "current_a"),
        PointChannel("Hz", "frequency_hz"),
        PointChannel("Var", "reactive_power_var"),
        PointChannel("PF", "power_factor"),
        PointChannel("LNV", "voltage_v"),
        PointChannel("VL1", "voltage_l1_v"),
        PointChannel("VL2", "voltage_l2_v"),
        PointChannel("VL3", "voltage_l3_v"),
    ),
}
MPPT_POINT_CHANNELS: tuple[PointChannel, ...] = (PointChannel("DCW", "pv_dc_power_w"),)

_UNIT_FACTOR = {"Pct": 0.01}  # power factor in percent -> the channel's ratio


def _field(
    layout: ModelLayout, point: Point, pc: PointChannel, address: int, model_addr: int, table: str,
    subdevice: str | None,
) -> RegisterField | str:
    """A RegisterField for one point, or the reason it cannot be polled."""
    mapped = SUNSPEC_TYPES.get(point.type)
    if mapped is None:
        return f"{layout.model_id}.{pc.point}: type {point.type} has no engine type"
    engine_type, sentinels = mapped
    scale = _UNIT_FACTOR.get(point.units or "", 1.0)
    sf_address = None
    if isinstance(point.sf, int):  # a constant scale factor in the definition
        scale *= 10.0**point.sf
    elif isinstance(point.sf, str):
        sf_point = layout.points.get(point.sf)
        if sf_point is None:
            return f"{layout.model_id}.{pc.point}: scale factor {point.sf} is not a fixed point of the model"
        sf_address = model_addr + sf_point.offset
    return RegisterField(
        channel=pc.channel, address=address, table=table, type=engine_type, scale=scale,
        scale_factor_address=sf_address, sign=pc.sign, sentinels=sentinels, subdevice=subdevice,
    )


def model_fields(
    model_id: int, model_addr: int, length: int, table: str = "holding", subdevice: str | None = None,
    max_span: int = 125, count: int | None = None,
) -> tuple[list[RegisterField], list[str]]:
    """Fields of one model instance at ``model_addr`` (its ID register) with L = ``length``.

    ``count``: repeating-group instances in use (model 160's N point), when fewer than L has room for.

    Returns (fields, problems): points that lie beyond the model's length, or whose scale factor is
    more than ``max_span`` registers away (the engine reads a value and its SF in one request), are
    left out and named in ``problems``.
    """
    layout = model_layout(model_id)
    fields: list[RegisterField] = []
    problems: list[str] = []
    if layout is None:
        return fields, [f"model {model_id}: no definition in pysunspec2"]
    end = model_addr + length + 2

    def add(point: Point | None, pc: PointChannel, address: int, sub: str | None) -> None:
        if point is None:
            problems.append(f"{model_id}.{pc.point}: not in the model definition")
            return
        if address + point.size > end:
            problems.append(f"{model_id}.{pc.point}: at {address}, beyond the model's length {length}")
            return
        f = _field(layout, point, pc, address, model_addr, table, sub)
        if isinstance(f, str):
            problems.append(f)
            return
        if f.scale_factor_address is not None:
            span = max(address + point.size, f.scale_factor_address + 1) - min(address, f.scale_factor_address)
            if span > max_span:
                problems.append(f"{model_id}.{pc.point}: at {address}, its scale factor at "
                                f"{f.scale_factor_address} is {span} registers away (more than one read)")
                return
        fields.append(f)

    for pc in POINT_CHANNELS.get(model_id, ()):
        point = layout.points.get(pc.point)
        add(point, pc, model_addr + (point.offset if point else 0), subdevice)
    if model_id == MPPT_MODEL and layout.group_points:
        reps = layout.repetitions(length)
        if count is not None and 0 <= count < reps:
            reps = count
        for n in range(1, reps + 1):
            start = model_addr + layout.fixed_len + (n - 1) * layout.group_len
            for pc in MPPT_POINT_CHANNELS:
                point = layout.group_points.get(pc.point)
                add(point, pc, start + (point.offset if point else 0), f"mppt{n}")
    return fields, problems
