"""A simulated M-Bus/TCP gateway with a Kamstrup MULTICAL 603 heat meter behind it (on 127.0.0.1 by default),
and the same bus behind a serial port (a pseudo-terminal standing in for a serial M-Bus master's port).

Written from the EN 13757-2/-3 layout (see ``collector/mbus/frames.py`` and ``records.py`` for the tables),
independently of the collector's decoder: the meter *encodes* its answer here, the collector decodes it.

**The gateway** is transparent, like the common M-Bus/Ethernet converters: M-Bus frames over TCP, one bus
behind it.  What each meter on the bus does with a frame from the master:

* ``SND_NKE`` (``10 40 A CS 16``) to its primary address -> ``E5``; to 253 -> the selected meter answers ``E5``
  and is deselected;
* ``REQ_UD2`` (``10 5B/7B A CS 16``) to its primary address, to 253 when selected, or to 254 (every meter)
  -> its ``RSP_UD``;
* the select (``68 0B 0B 68 53 FD 52 ID ID ID ID MM MM VV ME CS 16``) -> ``E5`` from each meter that matches
  (F-nibbles and FFh are wildcards), which is then selected; the others are deselected;
* any other ``SND_UD`` (an application write: a new address, the clock …) -> ``E5``, as a real meter would
  acknowledge it; it is recorded in :attr:`MbusGateway.writes`, so a test can prove the collector never
  sends one.

:class:`MbusSerialBus` is the same bus (:class:`SimulatedBus`) behind a pseudo-terminal: the collector opens
its ``/dev/pts/N`` as it would ``/dev/ttyUSB0``, and a thread answers on the pty's other side, optionally
at the line's speed (11 bit times a byte: 8E1).

Two meters answering at once collide: on the wire the bits are AND-ed (a "space" wins), so the master gets
one garbled frame.  Every frame the master sent is kept in :attr:`MbusGateway.received`.

**Faults** per meter (:attr:`SimulatedMultical.fault`, for the next ``fault_count`` answers or for ever):
``"silent"`` (no answer at all), ``"bad_checksum"`` (the RSP_UD with its checksum off by one),
``"truncated"`` (the first 30 bytes of the RSP_UD, then nothing), ``"garbage"`` (a collision-like byte
stream instead of the answer).

**The meter** (:class:`SimulatedMultical`): the records a MULTICAL 603 sends, in its units (the same DIF/VIF
pairs as in its wired datagram and its wireless telegrams: E1 as kWh 04 06, V1 as 0.01 m³ 04 14, hours 04 22,
t1/t2/Δt 0.01 °C 02 59/02 5D/02 61, power 0.1 kW 04 2D, flow l/h 04 3B, info code 04 FF 22, its clock
04 6D, the year's max power 14 2D, the target-date values 44 06/44 14/42 6C and the error hour counter
34 22).  Live values follow the town hall's :class:`~energimon.collector.simulator.buildings.HeatingModel`;
the counters are a function of time since :data:`COUNTER_EPOCH_S` (integrated hour by hour), so a restarted
simulator continues its counters instead of starting again (no reset in the store between demo runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import select
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from energimon.collector.mbus.frames import (
    ACK,
    ADDRESS_BROADCAST_REPLY,
    ADDRESS_NETWORK_LAYER,
    C_REQ_UD2,
    C_SND_NKE,
    C_SND_UD,
    CI_SELECT,
    FCB,
    FrameError,
    checksum,
    describe_request,
    expected_length,
    manufacturer_code,
    parse_frame,
)
from energimon.collector.simulator.buildings import HeatingModel
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.simulator")

COUNTER_EPOCH_S = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
"""The simulated meter's counters count from here (its installation)."""
KAMSTRUP_VERSION = 0x35  # version byte of a MULTICAL 603 (the value wmbusmeters' multical603 driver detects)
MEDIUM_HEAT_OUTLET = 0x04
CI_RSP_UD = 0x72
C_RSP_UD = 0x08
FAULTS = ("silent", "bad_checksum", "truncated", "garbage")
TRUNCATED_BYTES = 30


# -- encoding (slave side) -------------------------------------------------------------------------------------------

def long_frame(c: int, address: int, ci: int, data: bytes) -> bytes:
    """``68 L L 68 C A CI data CS 16`` (EN 13757-2)."""
    body = bytes((c, address, ci)) + data
    return bytes((0x68, len(body), len(body), 0x68)) + body + bytes((checksum(body), 0x16))


def int_le(value: int, n: int) -> bytes:
    """Type B: signed binary, least significant byte first."""
    return int(value).to_bytes(n, "little", signed=True)


def bcd_le(value: int, n: int) -> bytes:
    """Type A: BCD, least significant byte first (``12345678`` in 4 bytes -> ``78 56 34 12``)."""
    digits = f"{int(value):0{2 * n}d}"
    return bytes(int(digits[i:i + 2], 16) for i in range(2 * n - 2, -2, -2))


def type_g(d: dt.date) -> bytes:
    """Type G: day | (year low 3 bits << 5), month | (year high 4 bits << 4)."""
    y = d.year % 100
    return bytes((d.day | (y & 0x07) << 5, d.month | (y >> 3) << 4))


def type_f(t: dt.datetime) -> bytes:
    """Type F: minute, hour, then the date as type G (valid, standard time flag not set)."""
    return bytes((t.minute, t.hour)) + type_g(t.date())


@dataclass
class MeterState:
    """What the meter's display would show, in its own resolution (the integers it sends)."""

    energy_kwh: int = 0  # E1
    volume_cm3x10: int = 0  # V1 in 0.01 m³ ("cm3x10" = 10 litres)
    hours: int = 0  # operating hour counter
    t1_centi_c: int = 7000  # 0.01 °C
    t2_centi_c: int = 4000
    power_hw: int = 0  # 0.1 kW (hectowatt)
    flow_l_h: int = 0
    info: int = 0
    clock: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 1, 1))
    max_power_hw: int = 0
    target_energy_kwh: int = 0
    target_volume_cm3x10: int = 0
    target_date: dt.date = field(default_factory=lambda: dt.date(2025, 12, 31))
    error_hours: int = 0

    def records(self) -> bytes:
        """The data records, in the order a MULTICAL 603 sends them (DIF VIF data)."""
        return b"".join((
            b"\x04\x06" + int_le(self.energy_kwh, 4),  # E1, VIF 06h = Wh·10³ (kWh)
            b"\x04\x14" + int_le(self.volume_cm3x10, 4),  # V1, VIF 14h = m³·10⁻²
            b"\x04\x22" + int_le(self.hours, 4),  # VIF 22h = on time in hours
            b"\x02\x59" + int_le(self.t1_centi_c, 2),  # VIF 59h = flow temperature °C·10⁻²
            b"\x02\x5d" + int_le(self.t2_centi_c, 2),  # VIF 5Dh = return temperature °C·10⁻²
            b"\x02\x61" + int_le(self.t1_centi_c - self.t2_centi_c, 2),  # VIF 61h = ΔT K·10⁻²
            b"\x04\x2d" + int_le(self.power_hw, 4),  # VIF 2Dh = W·10² (0.1 kW)
            b"\x04\x3b" + int_le(self.flow_l_h, 4),  # VIF 3Bh = m³/h·10⁻³ (l/h)
            b"\x04\xff\x22" + int_le(self.info, 4),  # Kamstrup info code (manufacturer-specific VIF FFh, 22h)
            b"\x04\x6d" + type_f(self.clock),  # VIF 6Dh = date and time, type F
            b"\x14\x2d" + int_le(self.max_power_hw, 4),  # DIF 14h: maximum value
            b"\x44\x06" + int_le(self.target_energy_kwh, 4),  # DIF 44h: storage 1 (target date)
            b"\x44\x14" + int_le(self.target_volume_cm3x10, 4),
            b"\x42\x6c" + type_g(self.target_date),  # VIF 6Ch = date, type G
            b"\x34\x22" + int_le(self.error_hours, 4),  # DIF 34h: value during error state (error hours)
        ))


@dataclass
class SimulatedMultical:
    """A Kamstrup MULTICAL 603 on the bus (primary ``address``, identification ``ident``)."""

    address: int = 1
    ident: str = "65432101"
    heating: HeatingModel = field(default_factory=HeatingModel)
    frozen: MeterState | None = None  # fixed values (tests): the heating model is not used
    status: int = 0
    fault: str | None = None
    fault_count: int | None = None  # None: the fault lasts; n: the next n answers only
    selected: bool = False
    access_no: int = 0
    manufacturer: str = "KAM"
    version: int = KAMSTRUP_VERSION
    medium: int = MEDIUM_HEAT_OUTLET
    answers: int = 0

    def state(self, t_s: float) -> MeterState:
        if self.frozen is not None:
            return self.frozen
        return live_state(self.heating, t_s)

    def header(self) -> bytes:
        """The fixed data header: ident (BCD), manufacturer, version, medium, access no, status, signature."""
        return (bcd_le(int(self.ident), 4) + manufacturer_code(self.manufacturer).to_bytes(2, "little")
                + bytes((self.version, self.medium, self.access_no & 0xFF, self.status)) + b"\x00\x00")

    def rsp_ud(self, t_s: float) -> bytes:
        return long_frame(C_RSP_UD, self.address, CI_RSP_UD, self.header() + self.state(t_s).records())

    def answer(self, frame: bytes) -> bytes | None:
        """The bytes this meter puts on the bus for an answer ``frame`` (its fault applied), or None."""
        self.answers += 1
        fault = self.fault
        if fault is not None and self.fault_count is not None:
            if self.fault_count <= 0:
                fault = self.fault = None
            else:
                self.fault_count -= 1
        if fault == "silent":
            return None
        if fault == "garbage":
            return bytes((0x00, 0x3F, 0x7E, 0xC3, 0x18, 0x00, 0xF0, 0x0F) * 3)
        if frame == bytes((ACK,)):
            return frame
        if fault == "bad_checksum":
            return frame[:-2] + bytes(((frame[-2] + 1) & 0xFF, 0x16))
        if fault == "truncated":
            return frame[:TRUNCATED_BYTES]
        return frame


def _hourly(f, a_s: float, b_s: float) -> float:
    """∫ f dt from ``a_s`` to ``b_s`` (seconds) by the trapezoid rule on an hourly grid, in f·h."""
    if b_s <= a_s:
        return 0.0
    grid = np.append(np.arange(a_s, b_s, 3600.0), b_s)
    vals = np.array([f(t) for t in grid])
    return float(np.sum((vals[1:] + vals[:-1]) / 2 * np.diff(grid)) / 3600.0)


_CACHE: dict[tuple[HeatingModel, int], tuple[float, float]] = {}


def _counters(heating: HeatingModel, t_s: float) -> tuple[float, float]:
    """(heat energy in Wh, volume in m³) since :data:`COUNTER_EPOCH_S`: whole days cached, the rest integrated."""
    day0 = int((t_s - COUNTER_EPOCH_S) // 86_400)
    start = COUNTER_EPOCH_S + day0 * 86_400
    if (heating, day0) not in _CACHE:
        _CACHE[(heating, day0)] = (_hourly(heating.heat_w, COUNTER_EPOCH_S, start),
                                   _hourly(heating.flow_m3_h, COUNTER_EPOCH_S, start))
    e, v = _CACHE[(heating, day0)]
    return e + _hourly(heating.heat_w, start, t_s), v + _hourly(heating.flow_m3_h, start, t_s)


def live_state(heating: HeatingModel, t_s: float) -> MeterState:
    """The meter at ``t_s`` following the heating model (counters floored to the meter's resolution)."""
    energy_wh, volume_m3 = _counters(heating, t_s)
    t1, t2 = heating.supply_c, heating.return_c(t_s)
    power_w, flow = heating.heat_w(t_s), heating.flow_m3_h(t_s)
    local = dt.datetime.fromtimestamp(t_s, tz=dt.UTC).astimezone(LOCAL_TZ).replace(tzinfo=None)
    return MeterState(
        energy_kwh=int(energy_wh // 1000) + 250_000, volume_cm3x10=int(volume_m3 * 100) + 400_000,
        hours=int((t_s - COUNTER_EPOCH_S) // 3600) + 12_000, t1_centi_c=round(t1 * 100), t2_centi_c=round(t2 * 100),
        power_hw=round(power_w / 100), flow_l_h=round(flow * 1000), clock=local, max_power_hw=round(60_000 / 100),
        target_energy_kwh=250_000, target_volume_cm3x10=400_000, target_date=dt.date(2023, 12, 31))


# -- the gateway -----------------------------------------------------------------------------------------------------

class SimulatedBus:
    """The meters on one M-Bus and what comes back for each frame the master sends, whatever carries the bytes
    (the TCP gateway :class:`MbusGateway`, the serial port :class:`MbusSerialBus`)."""

    def __init__(self, meters: list[SimulatedMultical] | None = None):
        self.meters = meters if meters is not None else [SimulatedMultical()]
        self.received: list[bytes] = []  # every frame (or unparseable chunk) the master sent
        self.writes: list[bytes] = []  # SND_UD frames other than the select: a collector must never send one

    @property
    def requests(self) -> list[str]:
        """What the master sent, in words (``SND_NKE to 1``, ``REQ_UD2 to 1``, ``SND_UD select to 253``)."""
        return [describe_request(f) for f in self.received]

    def take(self, buffer: bytearray) -> list[bytes]:
        """The answers to the whole frames at the start of ``buffer`` (removed from it; an incomplete frame
        stays for more bytes, garbage is recorded and dropped: a bus ignores it)."""
        out: list[bytes] = []
        while buffer:
            try:
                n = expected_length(bytes(buffer[:4]))
            except FrameError:
                self.received.append(bytes(buffer))
                buffer.clear()
                break
            if n is None or len(buffer) < n:
                break
            raw = bytes(buffer[:n])
            del buffer[:n]
            self.received.append(raw)
            answer = self._bus(raw)
            if answer:
                out.append(answer)
        return out

    def _bus(self, raw: bytes) -> bytes:
        """What comes back on the bus for one master frame (collisions AND-ed)."""
        try:
            f = parse_frame(raw)
        except FrameError:
            return b""  # a damaged request: no meter answers
        now = time.time()
        answers: list[bytes | None] = []
        if f.kind == "short" and f.c == C_SND_NKE:
            for m in self._addressed(f.a):
                if f.a == ADDRESS_NETWORK_LAYER:
                    m.selected = False
                answers.append(m.answer(bytes((ACK,))))
        elif f.kind == "short" and f.c in (C_REQ_UD2, C_REQ_UD2 | FCB):
            for m in self._addressed(f.a):
                m.access_no = (m.access_no + 1) & 0xFF
                answers.append(m.answer(m.rsp_ud(now)))
        elif f.kind == "long" and f.c in (C_SND_UD, C_SND_UD | FCB) and f.a == ADDRESS_NETWORK_LAYER \
                and f.ci == CI_SELECT and len(f.data) == 8:
            for m in self.meters:
                m.selected = _select_matches(f.data, m)
                if m.selected:
                    answers.append(m.answer(bytes((ACK,))))
        elif f.kind == "long" and f.c in (C_SND_UD, C_SND_UD | FCB):
            self.writes.append(raw)  # an application write; a meter acknowledges it
            answers += [m.answer(bytes((ACK,))) for m in self._addressed(f.a)]
        sent = [a for a in answers if a]
        if not sent:
            return b""
        if len(sent) == 1:
            return sent[0]
        width = max(len(a) for a in sent)
        out = bytearray(b"\xff" * width)
        for a in sent:  # a collision: the line is a wired AND
            for i, b in enumerate(a):
                out[i] &= b
        return bytes(out)

    def _addressed(self, address: int) -> list[SimulatedMultical]:
        if address == ADDRESS_BROADCAST_REPLY:
            return list(self.meters)
        if address == ADDRESS_NETWORK_LAYER:
            return [m for m in self.meters if m.selected]
        return [m for m in self.meters if m.address == address]


class MbusGateway(SimulatedBus):
    """An M-Bus/TCP gateway on ``host:port`` (port 0: a free one) with ``meters`` on its bus (async context
    manager)."""

    def __init__(self, meters: list[SimulatedMultical] | None = None, host: str = "127.0.0.1", port: int = 0):
        super().__init__(meters)
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._writers):
                w.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MbusGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        buffer = bytearray()
        try:
            while True:
                chunk = await reader.read(512)
                if not chunk:
                    return
                buffer += chunk
                for out in self.take(buffer):
                    writer.write(out)
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()


class MbusSerialBus(SimulatedBus):
    """The bus behind a serial M-Bus master, as a pseudo-terminal: :attr:`port` (``/dev/pts/N``) is what the
    collector opens, like ``/dev/ttyUSB0``; a thread answers on the pty's master side with the meters' frames
    (context manager).

    ``baudrate``: when given, answers go out at that speed, one byte every 11 bit times (start, 8 data, even
    parity, stop: EN 13757-2), so the collector gets an answer in pieces as from a real line; None sends
    each answer at once."""

    POLL_S = 0.05  # how often the thread looks at its stop flag while the line is quiet

    def __init__(self, meters: list[SimulatedMultical] | None = None, baudrate: int | None = None):
        super().__init__(meters)
        self.baudrate = baudrate
        self.port = ""
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle: list | None = None  # the line's termios before any collector set it up
        self.line: list[list] = []  # the line's termios (tcgetattr) as each chunk from the collector arrived

    def start(self) -> None:
        import termios  # POSIX only, like the pseudo-terminal itself
        import tty

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo or line editing until the collector sets the port up itself
        self._idle = termios.tcgetattr(self._master)
        # the slave side stays open here too: without any open slave the master side reads EIO between the
        # collector's closing and reopening the port (after a bad answer)
        self.port = os.ttyname(self._slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"mbus-serial-bus {self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> MbusSerialBus:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        import termios

        master = self._master
        if master is None:
            return
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], self.POLL_S)
            if not ready:
                continue
            try:
                chunk = os.read(master, 512)
            except OSError:  # EIO: no slave side open at this instant
                continue
            # termios calls on a pty's master side act on its slave side, the collector's line: note how it is
            # set up, then put it back to idle.  A pty keeps the last open's settings but its driver drops the
            # parity bit, so a second open at 8E1 asks for no change but the parity, which glibc's tcsetattr
            # reports as EINVAL; back at idle, each open is a real change, as on a freshly plugged adapter
            self.line.append(termios.tcgetattr(master))
            if self._idle is not None:
                termios.tcsetattr(master, termios.TCSANOW, self._idle)
            buffer += chunk
            for out in self.take(buffer):
                self._send(master, out)

    def _send(self, fd: int, data: bytes) -> None:
        if self.baudrate is None:
            os.write(fd, data)
            return
        byte_s = 11 / self.baudrate
        start = time.monotonic()
        for i in range(0, len(data), 8):  # in 8-byte pieces, each at the time the line would have carried it
            if self._stop.wait(max(0.0, start + i * byte_s - time.monotonic())):
                return
            os.write(fd, data[i:i + 8])


def _select_matches(data: bytes, m: SimulatedMultical) -> bool:
    """The select's 8 bytes against a meter: ident (BCD, F-nibble wildcards), manufacturer/version/medium (FFh
    or FFFFh: any)."""
    wanted = "".join(f"{b:02X}" for b in reversed(data[0:4]))
    if not all(w in ("F", h) for w, h in zip(wanted, m.ident, strict=True)):
        return False
    man = int.from_bytes(data[4:6], "little")
    return ((man == 0xFFFF or man == manufacturer_code(m.manufacturer)) and data[6] in (0xFF, m.version)
            and data[7] in (0xFF, m.medium))
