"""A read-only M-Bus master on a TCP connection to an M-Bus/TCP gateway.

The gateway is *transparent*: the M-Bus frames travel unchanged over TCP (the usual mode of Relay, Solvimo,
ADFweb, … M-Bus/Ethernet converters, and of ``ser2net`` in raw mode in front of a serial M-Bus master).
There is no framing of its own, so this client finds frame boundaries from the M-Bus headers themselves
(:func:`~energimon.collector.mbus.frames.expected_length`).

The client can only send what :mod:`~energimon.collector.mbus.frames` builds for it — ``SND_NKE``,
``REQ_UD2`` and the secondary-address select; it has no method that sends other bytes.

Problems are exceptions with a one-line message for the poller's log: :class:`NoAnswer` (nothing within the
timeout), :class:`BadAnswer` (garbage, a checksum that does not add up, a frame cut short, a frame of the
wrong kind).  After a bad answer the stream may still carry a late part of it: the poller closes the
connection and the next request opens a fresh one.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

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


class NoAnswer(Exception):
    """Nothing arrived within the timeout."""


class BadAnswer(Exception):
    """Bytes arrived that are not the expected valid frame; the message says what they were."""


class _Receiver(asyncio.Protocol):
    def __init__(self) -> None:
        self.buffer = bytearray()
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


class MbusTcpClient:
    """One TCP connection to a gateway; requests are made one at a time (the poller holds a lock)."""

    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._rx: _Receiver | None = None
        self.sent: deque[bytes] = deque(maxlen=SENT_KEPT)  # the last requests, for DEBUG logs

    @property
    def connected(self) -> bool:
        return self._rx is not None and not self._rx.closed

    async def connect(self) -> None:
        """Open the connection (OSError or TimeoutError when the gateway cannot be reached)."""
        await self._open()

    async def _open(self) -> _Receiver:
        self.close()
        loop = asyncio.get_running_loop()
        _, rx = await asyncio.wait_for(loop.create_connection(_Receiver, self.host, self.port),
                                       timeout=max(self.timeout_s, 1.0))
        self._rx = rx
        return rx

    def close(self) -> None:
        if self._rx is not None and self._rx.transport is not None:
            self._rx.transport.close()
        self._rx = None

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
        rx = self._rx
        if rx is None or rx.closed:  # not connected
            rx = await self._open()
        if rx.transport is None:  # connection_made sets it before create_connection returns
            raise ConnectionError(f"M-Bus gateway {self.host}:{self.port}: connection without a transport")
        rx.buffer.clear()  # whatever arrived unasked belongs to no request
        rx.event.clear()
        self.sent.append(request)
        rx.transport.write(request)
        frame = await self._receive(rx)
        if frame.kind != expect:
            want = "an acknowledge (E5)" if expect == "ack" else "a long frame (RSP_UD)"
            raise BadAnswer(f"expected {want}, got a {frame.kind} frame ({frame.raw[:16].hex(' ')})")
        if expect == "long" and not frame.is_rsp_ud:
            raise BadAnswer(f"expected RSP_UD (C field 08h), got C field {frame.c:02X}h")
        return frame

    async def _wait(self, rx: _Receiver, deadline: float) -> bool:
        """Wait until more bytes arrive or ``deadline`` (monotonic); False when none came (a closed connection
        brings none)."""
        before = len(rx.buffer)
        while len(rx.buffer) == before and not rx.closed:
            rx.event.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(rx.event.wait(), timeout=left)
            except TimeoutError:
                return False
        return len(rx.buffer) > before

    async def _receive(self, rx: _Receiver) -> Frame:
        deadline = time.monotonic() + self.timeout_s
        while not rx.buffer:
            if not await self._wait(rx, deadline):
                if rx.closed:
                    raise NoAnswer("the gateway closed the connection")
                raise NoAnswer(f"no answer within {self.timeout_s:g} s")
        while True:
            try:
                n = expected_length(bytes(rx.buffer[:4]))
            except FrameError as exc:
                # bytes that start no frame: a collision or a wrong baud rate; take in what else comes, so
                # the message shows it and the stream is empty for the next request
                while await self._wait(rx, time.monotonic() + GARBAGE_SETTLE_S):
                    pass
                got = len(rx.buffer)
                rx.buffer.clear()
                raise BadAnswer(f"{exc} [{got} bytes]") from None
            if n is not None and len(rx.buffer) >= n:
                raw = bytes(rx.buffer[:n])
                del rx.buffer[:n]
                try:
                    return parse_frame(raw)
                except FrameError as exc:
                    raise BadAnswer(str(exc)) from None
            # an incomplete frame: each further part must arrive within the timeout of the previous one
            if not await self._wait(rx, time.monotonic() + self.timeout_s):
                have = bytes(rx.buffer)
                rx.buffer.clear()
                total = f"of {n} " if n is not None else ""
                after = "the gateway closed the connection" if rx.closed else f"nothing for {self.timeout_s:g} s"
                raise BadAnswer(f"truncated answer: {len(have)} {total}bytes, then {after} "
                                f"({have[:16].hex(' ')}{' …' if len(have) > 16 else ''})")
