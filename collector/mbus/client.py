"""A read-only M-Bus master: the link layer's requests and answers, over TCP to an M-Bus/TCP gateway or over a
serial port to an M-Bus master (level converter).

:class:`MbusClient` holds everything about frames: what may be sent, how an answer's end is found from the
M-Bus headers (:func:`~energimon.collector.mbus.frames.expected_length`), what counts as a bad answer.  The
two transports only move bytes:

* :class:`MbusTcpClient` — a TCP connection to a *transparent* gateway: the M-Bus frames travel unchanged
  over TCP (the usual mode of Relay, Solvimo, ADFweb, … M-Bus/Ethernet converters, and of ``ser2net`` in
  raw mode in front of a serial M-Bus master); asyncio.
* :class:`MbusSerialClient` — a serial port (``/dev/ttyUSB0``) with pyserial, 2400 baud 8E1 by default
  (EN 13757-2); pyserial blocks, so each open, write and read runs in a thread (docs/ARCHITECTURE.md:
  blocking work runs in threads, never on the event loop), each read bounded by the request's deadline.

The client can only send what :mod:`~energimon.collector.mbus.frames` builds for it — ``SND_NKE``,
``REQ_UD2`` and the secondary-address select; it has no method that sends other bytes, and a transport's
only write is in its ``_transmit``, which only :meth:`MbusClient._exchange` calls.

Problems are exceptions with a one-line message for the poller's log: :class:`NoAnswer` (nothing within the
timeout), :class:`BadAnswer` (garbage, a checksum that does not add up, a frame cut short, a frame of the
wrong kind); a port or gateway that cannot be reached is an :class:`OSError`.  After a bad answer the
stream may still carry a late part of it: the poller closes the connection (or port) and the next request
opens a fresh one.
"""

from __future__ import annotations

import asyncio
import os
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from energimon.collector.mbus.frames import (
    Frame,
    FrameError,
    SecondaryAddress,
    expected_length,
    parse_frame,
    req_ud2,
    select_secondary,
    snd_nke,
)

GARBAGE_SETTLE_S = 0.05  # after bytes that start no frame: collect what else arrives, for the message
SENT_KEPT = 8
SERIAL_POLL_S = 0.05  # a serial read waits at most this long per call, so a closed port ends a thread soon


class NoAnswer(Exception):
    """Nothing arrived within the timeout."""


class BadAnswer(Exception):
    """Bytes arrived that are not the expected valid frame; the message says what they were."""


class _Receiver(asyncio.Protocol):
    def __init__(self, buffer: bytearray) -> None:
        self.buffer = buffer  # the client's: the frame logic reads it
        self.event = asyncio.Event()
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.event.set()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.event.set()


class MbusClient(ABC):
    """The master's side of the link layer, one request at a time (the poller holds the bus's lock).  A
    transport subclass moves the bytes: :meth:`_transmit` (open if needed, forget what arrived unasked,
    send), :meth:`_more` (wait for more bytes into :attr:`buffer`), :meth:`close`."""

    _peer: str = "the M-Bus master"  # who closed the line, in messages

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.buffer = bytearray()  # what arrived and is not yet a frame
        self.sent: deque[bytes] = deque(maxlen=SENT_KEPT)  # the last requests, for DEBUG logs

    @property
    @abstractmethod
    def connected(self) -> bool:
        """The line is open."""

    @abstractmethod
    async def connect(self) -> None:
        """Open the line (OSError naming it when it cannot be opened)."""

    @abstractmethod
    def close(self) -> None:
        """Close the line; the next request opens it again."""

    @property
    def _closed(self) -> bool:
        """The other end closed the line (no more bytes can come)."""
        return False

    @abstractmethod
    async def _transmit(self, request: bytes) -> None:
        """Open the line if needed, forget what arrived unasked, send ``request``."""

    @abstractmethod
    async def _more(self, deadline: float) -> bool:
        """Wait until more bytes arrive in :attr:`buffer` or ``deadline`` (monotonic); False when none came."""

    async def initialise(self, address: int) -> bool:
        """``SND_NKE``: True when the meter acknowledged (E5), False when nothing came back."""
        try:
            await self._exchange(snd_nke(address), "ack")
        except NoAnswer:
            return False
        return True

    async def select(self, target: SecondaryAddress) -> None:
        """Select the meter with this secondary address; NoAnswer when no meter acknowledged."""
        await self._exchange(select_secondary(target), "ack")

    async def read(self, address: int, fcb: bool = True) -> Frame:
        """``REQ_UD2``: the meter's ``RSP_UD`` long frame."""
        return await self._exchange(req_ud2(address, fcb), "long")

    async def _exchange(self, request: bytes, expect: str) -> Frame:
        self.sent.append(request)
        await self._transmit(request)
        frame = await self._receive()
        if frame.kind != expect:
            want = "an acknowledge (E5)" if expect == "ack" else "a long frame (RSP_UD)"
            raise BadAnswer(f"expected {want}, got a {frame.kind} frame ({frame.raw[:16].hex(' ')})")
        if expect == "long" and not frame.is_rsp_ud:
            raise BadAnswer(f"expected RSP_UD (C field 08h), got C field {frame.c:02X}h")
        return frame

    async def _receive(self) -> Frame:
        buf = self.buffer
        deadline = time.monotonic() + self.timeout_s
        while not buf:
            if not await self._more(deadline):
                if self._closed:
                    raise NoAnswer(f"{self._peer} closed the connection")
                raise NoAnswer(f"no answer within {self.timeout_s:g} s")
        while True:
            try:
                n = expected_length(bytes(buf[:4]))
            except FrameError as exc:
                # bytes that start no frame: a collision or a wrong baud rate; take in what else comes, so
                # the message shows it and the stream is empty for the next request
                while await self._more(time.monotonic() + GARBAGE_SETTLE_S):
                    pass
                got = len(buf)
                buf.clear()
                raise BadAnswer(f"{exc} [{got} bytes]") from None
            if n is not None and len(buf) >= n:
                raw = bytes(buf[:n])
                del buf[:n]
                try:
                    return parse_frame(raw)
                except FrameError as exc:
                    raise BadAnswer(str(exc)) from None
            # an incomplete frame: each further part must arrive within the timeout of the previous one
            if not await self._more(time.monotonic() + self.timeout_s):
                have = bytes(buf)
                buf.clear()
                total = f"of {n} " if n is not None else ""
                after = f"{self._peer} closed the connection" if self._closed else f"nothing for {self.timeout_s:g} s"
                raise BadAnswer(f"truncated answer: {len(have)} {total}bytes, then {after} "
                                f"({have[:16].hex(' ')}{' …' if len(have) > 16 else ''})")


class MbusTcpClient(MbusClient):
    """One TCP connection to a transparent M-Bus/TCP gateway."""

    _peer = "the gateway"

    def __init__(self, host: str, port: int, timeout_s: float):
        super().__init__(timeout_s)
        self.host, self.port = host, port
        self._rx: _Receiver | None = None

    @property
    def connected(self) -> bool:
        return self._rx is not None and not self._rx.closed

    async def connect(self) -> None:
        """Open the connection (OSError or TimeoutError when the gateway cannot be reached)."""
        await self._open()

    async def _open(self) -> _Receiver:
        self.close()
        loop = asyncio.get_running_loop()
        _, rx = await asyncio.wait_for(loop.create_connection(lambda: _Receiver(self.buffer), self.host, self.port),
                                       timeout=max(self.timeout_s, 1.0))
        self._rx = rx
        return rx

    def close(self) -> None:
        if self._rx is not None and self._rx.transport is not None:
            self._rx.transport.close()
        self._rx = None

    @property
    def _closed(self) -> bool:
        return self._rx is None or self._rx.closed

    async def _transmit(self, request: bytes) -> None:
        rx = self._rx
        if rx is None or rx.closed:  # not connected
            rx = await self._open()
        if rx.transport is None:  # connection_made sets it before create_connection returns
            raise ConnectionError(f"M-Bus gateway {self.host}:{self.port}: connection without a transport")
        self.buffer.clear()  # whatever arrived unasked belongs to no request
        rx.event.clear()
        rx.transport.write(request)

    async def _more(self, deadline: float) -> bool:
        rx = self._rx
        if rx is None:
            return False
        before = len(self.buffer)
        while len(self.buffer) == before and not rx.closed:
            rx.event.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(rx.event.wait(), timeout=left)
            except TimeoutError:
                return False
        return len(self.buffer) > before


class MbusSerialClient(MbusClient):
    """A serial port with an M-Bus master (level converter) on it; pyserial, each blocking call in a thread."""

    _peer = "the serial port"

    def __init__(self, port: str, baudrate: int, parity: str, timeout_s: float):
        super().__init__(timeout_s)
        self.port, self.baudrate, self.parity = port, baudrate, parity
        self._serial: Any = None  # serial.Serial (pyserial has no type information)

    @property
    def connected(self) -> bool:
        return self._serial is not None and bool(self._serial.is_open)

    async def connect(self) -> None:
        """Open the port (OSError naming the port when it cannot be opened)."""
        await self._open()

    async def _open(self) -> Any:
        self.close()
        self._serial = await asyncio.to_thread(_open_serial, self.port, self.baudrate, self.parity)
        return self._serial

    def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
        self._serial = None

    async def _transmit(self, request: bytes) -> None:
        port = self._serial if self.connected else await self._open()
        self.buffer.clear()
        await asyncio.to_thread(_flush_and_write, port, request)

    async def _more(self, deadline: float) -> bool:
        port = self._serial
        if port is None:
            return False
        data = await asyncio.to_thread(_read_some, port, deadline)
        self.buffer += data
        return bool(data)


def _open_serial(path: str, baudrate: int, parity: str) -> Any:
    """Open ``path`` at ``baudrate`` 8-``parity``-1 (pyserial; imported here: only a serial meter needs it)."""
    import serial  # pyserial

    from energimon.collector.mbus.settings import PARITIES

    try:
        return serial.Serial(path, baudrate=baudrate, bytesize=serial.EIGHTBITS, parity=PARITIES[parity],
                             stopbits=serial.STOPBITS_ONE, timeout=SERIAL_POLL_S, write_timeout=5.0,
                             exclusive=True)
    except serial.SerialException as exc:
        # pyserial's text repeats the port and Python's error object; say the reason once, in words
        code = exc.errno if isinstance(exc.errno, int) else None
        if "lock" in str(exc).lower():
            reason = "in use by another program (the daemon, or another mbus-probe?)"
        else:
            reason = os.strerror(code) if code else str(exc)
        raise OSError(code, f"cannot open serial port {path}: {reason}") from None


def _flush_and_write(port: Any, request: bytes) -> None:
    port.reset_input_buffer()  # whatever arrived unasked (a late answer, line noise) belongs to no request
    port.write(request)
    port.flush()  # until the request is on the wire: the meter's answer time runs from its end


def _read_some(port: Any, deadline: float) -> bytes:
    """The bytes that arrive first, and what follows them at once; b"" when none came before ``deadline``."""
    while time.monotonic() < deadline:
        first = port.read(1)  # returns at the first byte, or after SERIAL_POLL_S
        if first:
            return bytes(first) + bytes(port.read(port.in_waiting))
    return b""
