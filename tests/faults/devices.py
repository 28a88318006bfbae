"""Modbus TCP devices for the fault scenarios, on loopback: one that counts what it answered, and three that
misbehave (too slow, broken answers, hanging up).

The counting meter is how a Modbus scenario knows exactly what it produced: its energy counter holds
the number of the request being answered (1, 2, 3 …), so every answered poll is one distinct value and
the store must hold each of them once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

from helpers.net import free_port
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from energimon.collector.simulator.modbus_server import wait_listening

# The counting meter's map (holding registers): the counter as uint32 at 0, a power value at 2.
COUNTING_REGISTERS = [
    {"channel": "energy_import_wh", "address": 0, "table": "holding", "type": "uint32"},
    {"channel": "power_w", "address": 2, "table": "holding", "type": "uint16"},
]


class CountingMeter:
    """Answers every read with the next request number in its counter (and 100 + that number as power)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.answered = 0
        self.answer_times: list[float] = []  # time.monotonic() of each answer
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task | None = None

    async def _action(self, function_code, start_address, address, count, registers, set_values):
        if set_values is not None or address > 0:
            return None
        self.answered += 1
        self.answer_times.append(time.monotonic())
        n = self.answered
        registers[0], registers[1], registers[2] = n >> 16, n & 0xFFFF, 100 + n % 60000
        return None

    def produced(self, site: str, device: str) -> dict:
        """What the store must hold, keyed by counter value (the device does not know the time stamps)."""
        return {(site, device, "energy_import_wh", n): float(n) for n in range(1, self.answered + 1)}

    async def start(self) -> CountingMeter:
        data = SimData(address=0, count=8, values=0, datatype=DataType.REGISTERS)
        self._server = ModbusTcpServer(SimDevice(id=1, simdata=[data], action=self._action),
                                       address=("127.0.0.1", self.port))
        self._task = asyncio.create_task(self._server.serve_forever())
        await wait_listening("127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


class DevicesInThread:
    """Serve devices from an event loop in a thread of the test process, for a daemon running as a subprocess."""

    def __init__(self, *devices):
        self.devices = devices
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> DevicesInThread:
        self._thread.start()
        for d in self.devices:
            asyncio.run_coroutine_threadsafe(d.start(), self.loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        for d in self.devices:
            asyncio.run_coroutine_threadsafe(d.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def keyed_by_value(rows):
    """Store rows re-keyed by their (counter) value: the key a device-side count can be compared with."""
    return [((s, d, c, int(v)), v) for (s, d, c, _ts), v in rows]


class SlowMeter(CountingMeter):
    """A real Modbus server that answers every request too late (after ``delay_s``): a timeout each time."""

    def __init__(self, delay_s: float):
        super().__init__()
        self.delay_s = delay_s
        self.requests = 0

    async def _action(self, function_code, start_address, address, count, registers, set_values):
        self.requests += 1
        await asyncio.sleep(self.delay_s)
        return None


# Four fields too far apart to be read together: four requests per poll, one of each kind of bad answer.
SCATTERED_REGISTERS = [
    {"channel": "energy_import_wh", "address": 0, "table": "holding", "type": "uint32"},
    {"channel": "power_w", "address": 100, "table": "holding", "type": "uint16"},
    {"channel": "voltage_v", "address": 200, "table": "holding", "type": "uint16"},
    {"channel": "frequency_hz", "address": 300, "table": "holding", "type": "uint16"},
]


class RawDevice:
    """A TCP 'device' that reads Modbus TCP requests and answers them badly.

    ``garbage``: rotates through an exception response (code 4, server device failure), a frame with
    fewer registers than asked, a frame whose byte count promises more than it carries, and bytes that
    are no Modbus at all.  ``hangup``: reads the request and closes the connection without an answer.
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.port = free_port()
        self.requests = 0
        self._server: asyncio.base_events.Server | None = None

    def _answer(self, header: bytes, pdu: bytes) -> bytes:
        fc = pdu[0]
        kind = (self.requests - 1) % 4
        if kind == 0:
            body = bytes([fc | 0x80, 4])
        elif kind == 1:
            count = int.from_bytes(pdu[3:5], "big")
            body = bytes([fc, 2 * (count - 1)]) + b"\x00\x2a" * (count - 1)  # a register fewer than asked
        elif kind == 2:
            body = bytes([fc, 8, 0x00, 0x2A])  # byte count 8, two bytes follow
        else:
            return b"\x17\x42garbage-not-modbus\xff\x00" * 3
        return header[:4] + (len(body) + 1).to_bytes(2, "big") + header[6:7] + body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                pdu = await reader.readexactly(int.from_bytes(header[4:6], "big") - 1)
                self.requests += 1
                if self.mode == "hangup":
                    break
                writer.write(self._answer(header, pdu))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> RawDevice:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
