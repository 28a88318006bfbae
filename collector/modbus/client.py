"""A read-only face on pymodbus: the collector can only ever send FC 1-4.

energimon runs next to building-management networks; writing a register by
mistake can switch off a ventilation plant.  The collector never holds a raw
pymodbus client, only this wrapper, which has no method that writes.

**Hostile devices.**  A device (or a gateway set to the wrong framing) can answer with bytes pymodbus
cannot decode - a byte count larger than the frame, a protocol id that is not Modbus TCP.  pymodbus 3.16
raises inside ``data_received``; asyncio then logs "Fatal error: protocol.data_received() call failed"
with a 1.3 KB traceback naming neither site nor device, closes the socket, and the request waits for its
timeout.  This wrapper guards the receive path of its own connection instead:

* an undecodable answer fails the pending request at once with :class:`BadAnswer`, whose one-line
  message says what was wrong ("byte count 8, but 2 data bytes follow"); nothing reaches asyncio's
  exception handler;
* a request that gets no usable answer raises :class:`NoAnswer` ("no answer within 3 s"), naming what
  the device sent instead, if anything (an answer from another unit id, bytes that are no Modbus TCP);
* what pymodbus logs on behalf of this connection (``pymodbus.logging``) is attributed to it: kept in
  :attr:`ReadOnlyModbusClient.notes` and re-logged at DEBUG with the site/device of the request
  (:data:`REQUEST_CONTEXT`), never at WARNING/ERROR without them.

The caller (the poller) logs the problem once, with site and device.
"""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusIOException

READ_FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
# Modbus Application Protocol v1.1b3, section 7 "MODBUS Exception Responses"
EXCEPTION_NAMES = {
    1: "illegal function", 2: "illegal data address", 3: "illegal data value", 4: "server device failure",
    5: "acknowledge", 6: "server device busy", 8: "memory parity error", 10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
MBAP_HEADER = 7  # transaction id (2), protocol id (2), length (2), unit id (1): Modbus Messaging on TCP/IP v1.0b
NOTES_KEPT = 8

log = logging.getLogger("energimon.collector.modbus")

# The site/device a request is made for (set by the poller around each request, read by log attribution).
REQUEST_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "energimon_modbus_request", default=None)
_ACTIVE: contextvars.ContextVar[ReadOnlyModbusClient | None] = contextvars.ContextVar(
    "energimon_modbus_client", default=None)


class BadAnswer(ModbusIOException):
    """The device answered with bytes that are not a valid Modbus TCP response."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:  # one plain line, not pymodbus' "Modbus Error: [Input/Output] …"
        return self.text


class NoAnswer(BadAnswer):
    """No usable answer within the timeout (possibly something unusable arrived instead)."""


def describe_frame(data: bytes, unit_id: int | None = None) -> str:
    """What is wrong with one received Modbus TCP answer, in words (for logs and ``probe``).

    Checks the MBAP header (protocol id 0, length) and the PDU of a read response: function code,
    and for FC 1-4 that the byte count matches the bytes that follow (Modbus Application Protocol
    v1.1b3, 6.1-6.4: the response carries a byte count N and N bytes of data).
    """
    if len(data) < MBAP_HEADER:
        return f"a frame of {len(data)} bytes, shorter than the 7-byte Modbus TCP header ({data[:16].hex(' ')})"
    pid = int.from_bytes(data[2:4], "big")
    length = int.from_bytes(data[4:6], "big")
    if pid != 0:
        return (f"not a Modbus TCP answer (protocol id 0x{pid:04X}, expected 0; first bytes {data[:12].hex(' ')}) - "
                f"is the gateway set to Modbus RTU over TCP?")
    body = data[MBAP_HEADER:MBAP_HEADER + max(0, length - 1)]
    if length < 2 or len(data) < 6 + length:
        return f"an incomplete frame: the header announces {length} bytes, {len(data) - 6} arrived"
    unit = data[6]
    if unit_id is not None and unit_id and unit != unit_id:
        return f"an answer from unit {unit} (unit {unit_id} was asked)"
    fc = body[0]
    if fc & 0x80:
        return f"an exception response (function 0x{fc:02X}" + (f", code {body[1]})" if len(body) > 1 else ", no code)")
    if fc in READ_FUNCTION_CODES.values():
        if len(body) < 2:
            return f"a read response without a byte count (function {fc})"
        if body[1] != len(body) - 2:
            return f"byte count {body[1]}, but {len(body) - 2} data bytes follow"
    return f"a response the decoder refused (function {fc}, {len(body)} bytes)"


class _Attribution(logging.Filter):
    """On ``pymodbus.logging``: records made for one of our connections are kept as its notes and
    re-emitted at DEBUG with the request's site/device; other records (e.g. a pymodbus server in the
    same process) pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        client = _ACTIVE.get()
        if client is None:
            return True
        text = record.getMessage().splitlines()[0].strip() if record.getMessage() else ""
        if text and record.levelno >= logging.WARNING:  # pymodbus' own complaints, not its frame dumps
            client.notes.append(text)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("pymodbus: %s", record.getMessage(), extra=client.context or {})
        return False


_FILTER = _Attribution()
if not any(isinstance(f, _Attribution) for f in logging.getLogger("pymodbus.logging").filters):
    logging.getLogger("pymodbus.logging").addFilter(_FILTER)


class ReadOnlyModbusClient:
    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._client: AsyncModbusTcpClient | None = None  # created on the event loop, in connect()
        self.notes: deque[str] = deque(maxlen=NOTES_KEPT)  # pymodbus' words about this connection
        self.context: dict[str, Any] | None = None  # site/device of the request in flight
        self._unit: int | None = None
        self._unusable: bytes = b""  # bytes received for the request in flight that gave no answer

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def connect(self) -> bool:
        if self._client is None:
            # reconnect_delay=0: we decide when to reconnect (backoff per device), not pymodbus.
            self._client = AsyncModbusTcpClient(
                self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
            )
            self._guard(self._client)
        self.context = REQUEST_CONTEXT.get()
        token = _ACTIVE.set(self)
        try:
            return bool(await self._client.connect())
        finally:
            _ACTIVE.reset(token)

    def _guard(self, client: AsyncModbusTcpClient) -> None:
        """Wrap the connection's receive path (pymodbus 3.16: ``TransactionManager.data_received``, called by
        asyncio for every chunk): a decoding error fails the request in flight instead of escaping to
        asyncio's exception handler."""
        ctx = getattr(client, "ctx", None)
        receive = getattr(ctx, "data_received", None)
        if ctx is None or receive is None:
            return  # another pymodbus layout: no guard (the pinned version has it; a test checks)

        def data_received(data: bytes) -> None:
            token = _ACTIVE.set(self)
            try:
                receive(data)
            except Exception as exc:  # the decoder refused the frame: say what it was, fail the request
                buffer = bytes(getattr(ctx, "recv_buffer", b"")) or data
                ctx.recv_buffer = b""
                what = describe_frame(buffer, self._unit)
                log.debug("undecodable answer from %s:%d: %s (%s: %s)", self.host, self.port, what,
                          type(exc).__name__, exc, extra=self.context or {}, exc_info=True)
                self._fail(BadAnswer(f"malformed answer: {what}"))
                return
            finally:
                _ACTIVE.reset(token)
            if getattr(ctx, "last_pdu", None) is None:  # nothing usable (yet): remember what came
                pending = bytes(getattr(ctx, "recv_buffer", b"")) or data
                self._unusable = pending[:64]
                if len(pending) >= 4 and pending[2:4] != b"\0\0":
                    # not Modbus TCP at all: waiting for the timeout cannot help
                    ctx.recv_buffer = b""
                    self._fail(BadAnswer(f"malformed answer: {describe_frame(pending, self._unit)}"))

        ctx.data_received = data_received

    def _fail(self, exc: BadAnswer) -> None:
        future = getattr(self._client.ctx, "response_future", None) if self._client else None
        if future is not None and not future.done():
            future.set_exception(exc)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def read(self, table: str, address: int, count: int, unit_id: int):
        """FC 1 (coil), 2 (discrete), 3 (holding) or 4 (input); nothing else exists here.

        Returns the pymodbus response (check ``isError()``); ``.registers`` or ``.bits``.  Raises
        :class:`BadAnswer` for an undecodable answer and :class:`NoAnswer` for none within the timeout.
        """
        if self._client is None:
            raise ConnectionError(f"{self.host}:{self.port} is not connected")
        c = self._client
        self._unit, self._unusable = unit_id, b""
        self.context = REQUEST_CONTEXT.get()
        token = _ACTIVE.set(self)
        try:
            if table == "holding":
                return await c.read_holding_registers(address, count=count, device_id=unit_id)
            if table == "input":
                return await c.read_input_registers(address, count=count, device_id=unit_id)
            if table == "coil":
                return await c.read_coils(address, count=count, device_id=unit_id)
            if table == "discrete":
                return await c.read_discrete_inputs(address, count=count, device_id=unit_id)
            raise ValueError(f"not a Modbus table: {table!r}")
        except BadAnswer:
            raise
        except ModbusIOException as exc:
            if "No response" not in str(exc):
                raise BadAnswer(f"no valid answer: {str(exc).removeprefix('Modbus Error: ')}") from exc
            what = f"no answer within {self.timeout_s:g} s"
            if self._unusable:
                what += f"; received instead {describe_frame(self._unusable, unit_id)}"
            raise NoAnswer(what) from exc
        finally:
            _ACTIVE.reset(token)


def exception_text(code: int | str) -> str:
    """``Modbus exception 2 (illegal data address)``."""
    name = EXCEPTION_NAMES.get(code) if isinstance(code, int) else None
    return f"Modbus exception {code}" + (f" ({name})" if name else "")
