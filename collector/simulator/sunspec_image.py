"""Simulated SunSpec devices: register images built from pysunspec2's model definitions, served by pymodbus.

* :class:`SunSpecImage` lays out 'SunS', models and the 0xFFFF end model at a base address (40000, 0 or
  50000).  Every point starts as its type's "not implemented" value, as on a device that implements
  nothing; points are then set by name, raw or in engineering units (through the model's scale factor).
  :func:`image_from_pysunspec_json` turns pysunspec2's shipped test device images
  (``sunspec2/tests/test_data/*.json``) into an image, using pysunspec2's own encoder.
* :class:`SunSpecInverterSim` is a live PV inverter of a simulated Sorø building: variant ``"int"``
  (models 1 + 103 + 160 with ``mppts`` modules, integer + scale factors) or ``"float"`` (1 + 113), with an
  optional 203 grid meter.  Values follow ``building.pv_w(t)`` (and ``net_w`` for the meter) and are
  refreshed on every request (the SimDevice ``action`` callback).  ``not_implemented`` puts the
  "not implemented" value into chosen points, e.g. ``{"103.W", "160.DCW[2]", "103.W_SF"}`` (a scale
  factor's "not implemented" is -32768); the set may be changed while serving.
* :class:`SunSpecSimulator` serves such devices, one Modbus TCP server each, on loopback.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pymodbus.constants import ExcCodes
from pymodbus.simulator import DataType, SimData, SimDevice

from energimon.collector.modbus.sunspec_map import (
    END_MODEL_ID,
    SUNS_MARKER,
    ModelLayout,
    Point,
    model_layout,
)
from energimon.collector.simulator.modbus_server import ServerGroup, free_port

# "not implemented" encodings per SunSpec type (SunSpec Information Model Specification; pysunspec2 mb.py)
_NA_INT: dict[str, int] = {
    "int16": -0x8000, "sunssf": -0x8000, "uint16": 0xFFFF, "count": 0xFFFF, "enum16": 0xFFFF,
    "bitfield16": 0xFFFF, "acc16": 0, "int32": -0x80000000, "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF,
    "bitfield32": 0xFFFFFFFF, "acc32": 0, "int64": -0x8000000000000000, "uint64": 0xFFFFFFFFFFFFFFFF,
    "acc64": 0, "pad": 0x8000, "ipaddr": 0,
}
_STRUCT = {
    "int16": ">h", "sunssf": ">h", "uint16": ">H", "count": ">H", "enum16": ">H", "bitfield16": ">H",
    "acc16": ">H", "pad": ">H", "int32": ">i", "uint32": ">I", "enum32": ">I", "bitfield32": ">I",
    "acc32": ">I", "ipaddr": ">I", "int64": ">q", "uint64": ">Q", "acc64": ">Q", "float32": ">f",
    "float64": ">d",
}


def encode_point(point: Point, value: Any) -> list[int]:
    """Registers of one point; ``None`` -> the type's "not implemented" value."""
    if point.type == "string":
        raw = (value or "").encode("latin-1")[: point.size * 2].ljust(point.size * 2, b"\0")
    elif point.type in ("float32", "float64"):
        raw = struct.pack(_STRUCT[point.type], math.nan if value is None else float(value))
    elif point.type in _STRUCT:
        raw = struct.pack(_STRUCT[point.type], _NA_INT[point.type] if value is None else int(value))
    else:  # eui48, ipv6addr …: leave zero
        raw = b"\0" * (point.size * 2)
    return list(struct.unpack(f">{point.size}H", raw))


@dataclass
class ModelSlot:
    model_id: int
    address: int  # of the ID register
    length: int  # the L point
    layout: ModelLayout | None


class SunSpecImage:
    """A SunSpec register image from ``base``: marker, models, end model."""

    def __init__(self, base: int = 40000):
        self.base = base
        self.regs: list[int] = list(SUNS_MARKER)
        self.slots: list[ModelSlot] = []
        self._finished = False

    @property
    def next_address(self) -> int:
        return self.base + len(self.regs)

    def add_model(self, model_id: int, repetitions: int = 0, length: int | None = None) -> int:
        """Append a model with every point "not implemented"; returns its index for :meth:`set`."""
        layout = model_layout(model_id)
        if layout is None:
            raise ValueError(f"no pysunspec2 definition for model {model_id}")
        natural = layout.fixed_len - 2 + repetitions * layout.group_len
        length = natural if length is None else length
        slot = ModelSlot(model_id, self.next_address, length, layout)
        body: list[int] = []
        for p in layout.points.values():
            body += encode_point(p, None)
        for _ in range(repetitions):
            for p in (layout.group_points or {}).values():
                body += encode_point(p, None)
        body[0:2] = [model_id, length]
        body = (body + [0] * (length + 2))[: length + 2]
        self.regs += body
        self.slots.append(slot)
        return len(self.slots) - 1

    def add_raw_model(self, registers: list[int]) -> int:
        """Append a model given as registers (ID, L, body), e.g. encoded by pysunspec2."""
        model_id, length = registers[0], registers[1]
        self.slots.append(ModelSlot(model_id, self.next_address, length, model_layout(model_id)))
        self.regs += list(registers)
        return len(self.slots) - 1

    def finish(self) -> SunSpecImage:
        if not self._finished:
            self.regs += [END_MODEL_ID, 0]
            self._finished = True
        return self

    def models(self) -> list[tuple[int, int, int]]:
        return [(s.model_id, s.address, s.length) for s in self.slots]

    # -- points ----------------------------------------------------------------------------------
    def point(self, index: int, name: str, repetition: int | None = None) -> tuple[Point, int]:
        """(point definition, absolute address); ``repetition`` (1-based) for repeating-group points."""
        slot = self.slots[index]
        layout = slot.layout
        if layout is None:
            raise ValueError(f"model {slot.model_id} has no definition")
        if repetition is None:
            p = layout.points[name]
            return p, slot.address + p.offset
        assert layout.group_points is not None
        p = layout.group_points[name]
        return p, slot.address + layout.fixed_len + (repetition - 1) * layout.group_len + p.offset

    def set(self, index: int, name: str, value: Any, repetition: int | None = None) -> None:
        """Set a point's raw value (None: "not implemented")."""
        p, addr = self.point(index, name, repetition)
        off = addr - self.base
        self.regs[off : off + p.size] = encode_point(p, value)

    def get_raw(self, index: int, name: str, repetition: int | None = None) -> int | float:
        p, addr = self.point(index, name, repetition)
        off = addr - self.base
        raw = struct.pack(f">{p.size}H", *self.regs[off : off + p.size])
        return struct.unpack(_STRUCT[p.type], raw)[0]

    def set_value(self, index: int, name: str, value: float | None, repetition: int | None = None) -> None:
        """Set a point in engineering units: raw = round(value / 10^SF) for integer points with an SF."""
        p, _ = self.point(index, name, repetition)
        if value is None or p.type.startswith("float") or p.sf is None:
            self.set(index, name, value, repetition)
            return
        sf = p.sf if isinstance(p.sf, int) else int(self.get_raw(index, p.sf))
        if sf == -0x8000:
            sf = 0  # the SF is "not implemented": whatever the device holds, the value is unusable
        self.set(index, name, round(value / 10.0**sf), repetition)


def image_from_pysunspec_json(path: str, base: int = 40000) -> SunSpecImage:
    """An image of one of pysunspec2's test device files, encoded by pysunspec2 itself (blocking)."""
    from sunspec2.file.client import FileClientDevice

    dev = FileClientDevice(path, addr=base + 2)
    dev.scan()
    image = SunSpecImage(base)
    for m in dev.model_list:
        data = m.get_mb()
        image.add_raw_model(list(struct.unpack(f">{len(data) // 2}H", data)))
    return image.finish()


def pysunspec_models(path: str, base: int = 40000) -> list[tuple[int, int, int]]:
    """(id, address, L) of the models pysunspec2 finds in one of its test device files."""
    from sunspec2.file.client import FileClientDevice

    dev = FileClientDevice(path, addr=base + 2)
    dev.scan()
    return [(m.model_id, m.model_addr, m.len - 2) for m in dev.model_list]


# -- live simulated inverters ---------------------------------------------------------------------
class PvBuilding(Protocol):
    site: str
    name: str
    pv_kwp: float

    def pv_w(self, t_s: float) -> float: ...

    def net_w(self, t_s: float) -> float: ...


@dataclass
class _Integrator:
    """Integrates a power function into energy counters (trapezoid, steps of at most 10 s)."""

    power: Callable[[float], float]
    t_s: float
    positive_wh: float = 0.0
    negative_wh: float = 0.0

    def advance(self, t_s: float) -> None:
        while self.t_s < t_s:
            t1 = min(t_s, self.t_s + 10.0)
            e_wh = 0.5 * (self.power(self.t_s) + self.power(t1)) * (t1 - self.t_s) / 3600
            if e_wh >= 0:
                self.positive_wh += e_wh
            else:
                self.negative_wh -= e_wh
            self.t_s = t1


def _sf_for(peak: float, limit: int = 32767) -> int:
    """Smallest scale factor >= 0 so that ``peak`` fits into an int16 register."""
    sf = 0
    while abs(peak) / 10.0**sf > limit:
        sf += 1
    return sf


PHASE_VOLTS = (230.4, 231.1, 229.8)
INVERTER_EFFICIENCY = 0.97
POWER_FACTOR_PCT = 99.5  # SunSpec 10x/11x/20x PF points are in percent
DC_VOLTS = 600.0


@dataclass
class SunSpecInverterSim:
    building: PvBuilding
    variant: Literal["int", "float"] = "int"
    with_meter: bool = False
    base: int = 40000
    unit_id: int = 1
    mppts: int = 2  # modules model 160 has room for
    modules_in_use: int | None = None  # its N point (None: all); the others stay "not implemented"
    port: int = 0
    not_implemented: set[str] = field(default_factory=set)  # "103.W", "103.W_SF", "160.DCW[2]", "203.W"
    clock: Callable[[], float] = time.time
    start_energy_wh: float = 5_000_000.0
    start_import_wh: float = 1_250_000.0
    start_export_wh: float = 125_000.0
    serial: str = "SIM-0001"

    def __post_init__(self) -> None:
        t0 = self.clock()
        self.pv = _Integrator(self.building.pv_w, t0, positive_wh=self.start_energy_wh)
        self.grid = _Integrator(self.building.net_w, t0, positive_wh=self.start_import_wh,
                                negative_wh=self.start_export_wh)
        peak_w = max(1.0, self.building.pv_kwp * 1000)
        self.w_sf = _sf_for(peak_w / INVERTER_EFFICIENCY)
        self.meter_w_sf = _sf_for(max(peak_w, 100_000.0))
        self.image = SunSpecImage(self.base)
        self.i_common = self.image.add_model(1)
        self.i_mppt: int | None  # model 160: with the int+SF inverter only
        if self.variant == "int":
            self.i_inv = self.image.add_model(103)
            self.i_mppt = self.image.add_model(160, repetitions=self.mppts)
        else:
            self.i_inv = self.image.add_model(113)
            self.i_mppt = None
        self.i_meter = self.image.add_model(203) if self.with_meter else None
        self.image.finish()
        self.refresh(t0)

    @property
    def in_use(self) -> int:
        return self.mppts if self.modules_in_use is None else self.modules_in_use

    @property
    def inverter_model(self) -> int:
        return 103 if self.variant == "int" else 113

    def _static(self) -> None:
        img = self.image
        for name, value in (("Mn", "energimon"), ("Md", f"SimInverter-{self.variant}"), ("Opt", self.building.site),
                            ("Vr", "1.0.0"), ("SN", self.serial), ("DA", self.unit_id)):
            img.set(self.i_common, name, value)
        if self.variant == "int":
            for name, sf in (("A_SF", -1), ("V_SF", -1), ("W_SF", self.w_sf), ("Hz_SF", -2), ("VA_SF", self.w_sf),
                             ("VAr_SF", self.w_sf), ("PF_SF", -1), ("WH_SF", 0), ("DCA_SF", -2), ("DCV_SF", -1),
                             ("DCW_SF", self.w_sf), ("Tmp_SF", -1)):
                img.set(self.i_inv, name, sf)
        if self.i_mppt is not None:
            for name, sf in (("DCA_SF", -2), ("DCV_SF", -1), ("DCW_SF", self.w_sf), ("DCWH_SF", 0)):
                img.set(self.i_mppt, name, sf)
            img.set(self.i_mppt, "N", self.in_use)
            for n in range(1, self.in_use + 1):
                img.set(self.i_mppt, "ID", n, n)
                img.set(self.i_mppt, "IDStr", f"PV{n}", n)
        if self.i_meter is not None:
            for name, sf in (("A_SF", -1), ("V_SF", -1), ("Hz_SF", -2), ("W_SF", self.meter_w_sf),
                             ("VA_SF", self.meter_w_sf), ("VAR_SF", self.meter_w_sf), ("PF_SF", -1), ("TotWh_SF", 0)):
                img.set(self.i_meter, name, sf)

    def values(self, t_s: float) -> dict[int, dict[str, float | int]]:
        """Engineering values per model id (the truth a poll should show)."""
        self.pv.advance(t_s)
        self.grid.advance(t_s)
        p = self.building.pv_w(t_s)
        dc = p / INVERTER_EFFICIENCY
        pf = POWER_FACTOR_PCT / 100
        q = p * math.tan(math.acos(pf))
        inv: dict[str, float | int] = {
            "W": p, "VA": p / pf, "VAr": q, "PF": POWER_FACTOR_PCT, "Hz": 50.0, "WH": self.pv.positive_wh,
            "DCW": dc, "DCV": DC_VOLTS, "DCA": dc / DC_VOLTS, "TmpCab": 35.0, "St": 4 if p > 0 else 2,
            "A": sum(p / 3 / v for v in PHASE_VOLTS),
        }
        for ph, v in zip("ABC", PHASE_VOLTS, strict=True):
            inv[f"PhVph{ph}"] = v
            inv[f"Aph{ph}"] = p / 3 / v
        out: dict[int, dict[str, float | int]] = {self.inverter_model: inv}
        if self.variant == "int":
            n = max(1, self.in_use)
            out[160] = {"DCW": dc / n, "DCV": DC_VOLTS, "DCA": dc / n / DC_VOLTS,
                        "DCWH": self.pv.positive_wh / INVERTER_EFFICIENCY / n}
        if self.i_meter is not None:
            net = self.building.net_w(t_s)
            meter: dict[str, float | int] = {
                "W": net, "Hz": 50.0, "PF": POWER_FACTOR_PCT * (1 if net >= 0 else -1),
                "TotWhImp": self.grid.positive_wh, "TotWhExp": self.grid.negative_wh,
                "PhV": sum(PHASE_VOLTS) / 3, "A": sum(abs(net) / 3 / v for v in PHASE_VOLTS),
            }
            for ph, v in zip("ABC", PHASE_VOLTS, strict=True):
                meter[f"PhVph{ph}"] = v
                meter[f"Wph{ph}"] = net / 3
            out[203] = meter
        return out

    def refresh(self, t_s: float) -> None:
        img = self.image
        self._static()  # scale factors (a test may have made one "not implemented" and then fixed it)
        vals = self.values(t_s)
        index = {m: i for m, i in ((self.inverter_model, self.i_inv), (160, self.i_mppt), (203, self.i_meter))
                 if i is not None}
        for model_id, points in vals.items():
            i = index[model_id]
            for name, v in points.items():
                if model_id == 160:
                    for n in range(1, self.in_use + 1):
                        img.set_value(i, name, v, n)
                else:
                    img.set_value(i, name, v)
        self._apply_not_implemented()

    def _apply_not_implemented(self) -> None:
        index = {self.inverter_model: self.i_inv, 160: self.i_mppt, 203: self.i_meter, 1: self.i_common}
        for spec in self.not_implemented:
            model, _, name = spec.partition(".")
            rep = None
            if name.endswith("]"):
                name, _, n = name[:-1].partition("[")
                rep = int(n)
            i = index.get(int(model))
            if i is None:
                continue
            layout = self.image.slots[i].layout
            if rep is None and layout is not None and name not in layout.points:
                for k in range(1, layout.repetitions(self.image.slots[i].length) + 1):
                    self.image.set(i, name, None, k)
            else:
                self.image.set(i, name, None, rep)

    async def _on_request(self, function_code, start_address, address, count, registers, set_values):
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # measurements are read-only
        self.refresh(self.clock())
        registers[: len(self.image.regs)] = self.image.regs
        return None

    def device(self) -> SimDevice:
        return serve_image_device(self.image, self.unit_id, self._on_request)


def serve_image_device(image: SunSpecImage, unit_id: int = 1, action=None) -> SimDevice:
    """A SimDevice serving ``image`` as it is (call ``image.finish()`` for the end model; leaving it out
    simulates a device without one); ``action`` copies/refreshes the registers; other addresses: exception 2."""
    if action is None:
        async def action(function_code, start_address, address, count, registers, set_values):
            if set_values is not None:
                return ExcCodes.ILLEGAL_FUNCTION  # read-only
            registers[: len(image.regs)] = image.regs
            return None

    data = SimData(address=image.base, count=len(image.regs), values=0, datatype=DataType.REGISTERS)
    dev = SimDevice(id=unit_id, simdata=[data], action=action)
    return dev


class _Served(Protocol):
    port: int

    def device(self) -> SimDevice: ...


@dataclass
class StaticImage:
    """A fixed image (e.g. a pysunspec2 test device) to serve with :class:`SunSpecSimulator`."""

    image: SunSpecImage
    unit_id: int = 1
    port: int = 0

    def device(self) -> SimDevice:
        return serve_image_device(self.image, self.unit_id)


class SunSpecSimulator:
    """Serve SunSpec devices on loopback, one Modbus TCP server (own port) each (async context manager).

    ``trace_pdu`` is handed to every server (tests record function codes with it).
    """

    def __init__(self, devices: Sequence[_Served], host: str = "127.0.0.1", trace_pdu=None):
        self.devices = devices
        self.host = host
        self.trace_pdu = trace_pdu
        self._group = ServerGroup(host)

    async def start(self) -> None:
        for d in self.devices:
            if not d.port:
                d.port = free_port(self.host)
            await self._group.add(d.device(), d.port, f"sunspec-sim-{d.port}", trace_pdu=self.trace_pdu)

    async def stop(self) -> None:
        await self._group.stop()

    async def __aenter__(self) -> SunSpecSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


def soro_inverters(buildings=None, **kw) -> list[SunSpecInverterSim]:
    """One simulated SunSpec inverter per Sorø building: int+SF with 2 MPPT and a 203 grid meter for the
    first, float (113) for the others."""
    from energimon.collector.simulator.buildings import SORO_BUILDINGS

    out = []
    for i, b in enumerate(buildings or SORO_BUILDINGS):
        variant: Literal["int", "float"] = "int" if i % 2 == 0 else "float"
        out.append(SunSpecInverterSim(b, variant=variant, with_meter=(i == 0), serial=f"SIM-{i + 1:04d}", **kw))
    return out
