"""Serve a device profile's register image over Modbus (pymodbus 3.16 ``SimDevice``).

A :class:`ProfileImage` turns channel values into the registers the real device
would hold, using the profile's own field definitions
(:func:`~energimon.collector.modbus.registers.encode`), so the simulator and
the decoder can never drift apart silently: if a profile says "int32, low word
first, ×10", the image is written exactly that way and the poller must undo it.

* Values are keyed by channel (``"power_w"``); a field with a ``subdevice`` is
  keyed ``"<subdevice>/<channel>"`` (``"mppt1/pv_dc_power_w"``).
* A field can hold its "not available" value instead (:meth:`ProfileImage.set_missing`):
  the type's sentinel, or NaN for floats (:func:`~energimon.collector.modbus.registers.sentinel_registers`).
* Scale-factor registers (SunSpec style) are written from ``scale_factors``
  (register address -> int16 exponent, default 0).
* Identity registers (the profile's ``info``: serial number, model …) hold
  ``info`` (key -> text), encoded by the profile's own
  :class:`~energimon.collector.modbus.fields.InfoField` definitions
  (:func:`~energimon.collector.modbus.registers.encode_info`); unset ones hold 0.
* The image is live: :meth:`ProfileImage.set` changes what the next request
  reads (the device's ``action`` rewrites the register block on every request).
* The device is read-only, like a meter: write requests get exception 1.

Register tables: a profile that only uses holding *or* input registers is
served from one shared block (like most meters, which answer FC 3 and FC 4
alike).  A profile that uses several tables (or coils/discrete inputs) gets the
non-shared 4-block form, so holding 0x10 and input 0x10 can differ.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from energimon.collector.modbus.fields import RegisterField
from energimon.collector.modbus.profiles import Profile, load_profile
from energimon.collector.modbus.registers import encode, encode_info, sentinel_registers
from energimon.collector.simulator.modbus_server import free_port, wait_listening

_TABLES = ("coil", "discrete", "holding", "input")
_FC_TABLE = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}


def field_key(f: RegisterField) -> str:
    """The key of a field's value in an image: its channel, prefixed by its subdevice."""
    return f"{f.subdevice}/{f.channel}" if f.subdevice else f.channel


@dataclass
class ProfileImage:
    """The register image of one device that follows ``profile``."""

    profile: Profile
    values: dict[str, float] = field(default_factory=dict)
    scale_factors: dict[int, int] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    unit_id: int = 1
    refresh: Callable[[ProfileImage], None] | None = None  # called before every request (live devices)
    info: dict[str, str] = field(default_factory=dict)  # identity: "serial" -> "12345678" …

    @classmethod
    def from_name(cls, name: str, values: Mapping[str, float], **kw) -> ProfileImage:
        return cls(load_profile(name), dict(values), **kw)

    def __post_init__(self) -> None:
        keys = {field_key(f) for f in self.profile.fields}
        unknown = (set(self.values) | self.missing) - keys
        if unknown:
            raise KeyError(f"{self.profile.name} has no field for {sorted(unknown)}; it has {sorted(keys)}")
        info_keys = {f.key for f in self.profile.info}
        if set(self.info) - info_keys:
            raise KeyError(f"{self.profile.name} has no info register for {sorted(set(self.info) - info_keys)}; "
                           f"it has {sorted(info_keys)}")

    # -- what the device holds ----------------------------------------------------------------
    def set(self, key: str, value: float) -> None:
        self.values[key] = value
        self.missing.discard(key)

    def set_missing(self, key: str) -> None:
        """The field holds its "not available" value (sentinel, or NaN for floats) from now on."""
        self.missing.add(key)

    @property
    def tables(self) -> builtins.set[str]:  # in the class body `set` is the method above
        return {f.table for f in self.profile.fields} | {f.table for f in self.profile.info}

    def registers(self, only: str | None = None) -> dict[str, dict[int, int]]:
        """table -> {address: 16-bit word} (for coil/discrete: {bit address: 0/1}); ``only``: that table."""
        out: dict[str, dict[int, int]] = {t: {} for t in self.tables if only is None or t == only}
        for f in self.profile.fields:
            if f.table not in out:
                continue
            regs = out[f.table]
            sf = 0
            if f.scale_factor_address is not None:
                sf = self.scale_factors.get(f.scale_factor_address, 0)
                regs[f.scale_factor_address] = sf & 0xFFFF
            key = field_key(f)
            if key in self.missing:
                words = sentinel_registers(f)
            elif key in self.values:
                words = encode(f, self.values[key], sf)
            else:
                continue  # no value chosen: the register exists and holds 0
            if f.type == "bit":  # several fields may share one register
                mask = 1 << (f.bit or 0)
                regs[f.address] = (regs.get(f.address, 0) & ~mask) | (words[0] & mask)
                continue
            for i, w in enumerate(words):
                regs[f.address + i] = w
        for info in self.profile.info:
            if info.table not in out:
                continue
            words = encode_info(info, self.info[info.key]) if info.key in self.info else [0] * info.width
            for i, w in enumerate(words):
                out[info.table][info.address + i] = w
        return out

    def spans(self) -> dict[str, tuple[int, int]]:
        """table -> [first, end) of the addresses the profile touches (gaps in between are served as 0)."""
        spans: dict[str, tuple[int, int]] = {}
        for f in self.profile.fields:
            start, end = f.address, f.address + f.width
            if f.scale_factor_address is not None:
                start, end = min(start, f.scale_factor_address), max(end, f.scale_factor_address + 1)
            lo, hi = spans.get(f.table, (start, end))
            spans[f.table] = (min(lo, start), max(hi, end))
        for info in self.profile.info:
            lo, hi = spans.get(info.table, (info.address, info.address + info.width))
            spans[info.table] = (min(lo, info.address), max(hi, info.address + info.width))
        return spans

    # -- serving it ---------------------------------------------------------------------------
    def _reg_simdata(self, table: str) -> SimData:
        lo, hi = self.spans()[table]
        words = self.registers()[table]
        return SimData(address=lo, values=[words.get(a, 0) for a in range(lo, hi)], datatype=DataType.REGISTERS)

    def _bit_simdata(self, table: str) -> SimData:
        lo, hi = self.spans()[table]
        bits = self.registers()[table]
        return SimData(address=lo, values=[bool(bits.get(a, 0)) for a in range(lo, hi)], datatype=DataType.BITS)

    @property
    def shared(self) -> bool:
        """One shared block serves the image (a single register table, no bits)."""
        return len(self.tables) == 1 and not self.tables & {"coil", "discrete"}

    async def _action(self, function_code, start_address, address, count, registers, set_values):
        if set_values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # a meter's measurements are read-only
        if self.refresh is not None:
            self.refresh(self)
        table = next(iter(self.tables)) if self.shared else _FC_TABLE.get(function_code)
        if table in ("holding", "input"):
            for addr, word in self.registers(table)[table].items():
                off = addr - start_address
                if 0 <= off < len(registers):
                    registers[off] = word
        return None

    def device(self) -> SimDevice:
        """A ``SimDevice`` serving this image; changes made with :meth:`set` show on the next request."""
        if self.shared:
            (table,) = self.tables
            return SimDevice(id=self.unit_id, simdata=[self._reg_simdata(table)], action=self._action)

        def block(table: str) -> list[SimData]:
            if table not in self.tables:
                # pymodbus needs an entry per table: an unused register table is one invalid register
                # (exception 2); an unused bit table must be BITS, so it holds 16 False bits at 0-15
                if table in ("coil", "discrete"):
                    return [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)]
                return [SimData(address=0, count=1, datatype=DataType.INVALID)]
            if table in ("coil", "discrete"):
                return [self._bit_simdata(table)]
            return [self._reg_simdata(table)]

        coil, discrete, holding, input_ = (block(t) for t in _TABLES)
        return SimDevice(id=self.unit_id, simdata=(coil, discrete, holding, input_), action=self._action)


@contextlib.asynccontextmanager
async def serve(devices: SimDevice | list[SimDevice], host: str = "127.0.0.1", port: int | None = None, **server_kw):
    """Serve ``devices`` on ``host:port`` (a free port when None) for the duration of the block; yields the port."""
    port = port or free_port(host)
    server = ModbusTcpServer(devices, address=(host, port), **server_kw)
    task = asyncio.create_task(server.serve_forever(), name=f"profile-image-{port}")
    try:
        await wait_listening(host, port)
        yield port
    finally:
        with contextlib.suppress(Exception):
            await server.shutdown()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def image_for(name: str, values: Mapping[str, float], missing: Iterable[str] = (), **kw) -> ProfileImage:
    """Shorthand: the image of profile ``name`` holding ``values``, with ``missing`` fields "not available"."""
    return ProfileImage(load_profile(name), dict(values), missing=set(missing), **kw)
