"""Poll one Modbus TCP device on a wall-clock-aligned interval and hand readings to a sink."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from energimon.collector.modbus.client import ReadOnlyModbusClient
from energimon.collector.modbus.profiles import load_profile
from energimon.collector.modbus.registers import ReadBlock, decode, plan_reads, width
from energimon.config.settings import ModbusTcpDevice, RegisterField
from energimon.model import Reading
from pymodbus.exceptions import ModbusException

log = logging.getLogger("energimon.collector.modbus")

Sink = Callable[[Sequence[Reading], str], Awaitable[bool]]
"""Commits readings durably; returns False when they were refused (spool full)."""

MAX_BACKOFF_S = 300.0


@dataclass
class DeviceHealth:
    online: bool = False
    last_success_ms: int | None = None
    polls: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class DeviceUnreachable(Exception):
    pass


def next_tick(now_s: float, interval_s: float) -> float:
    """The next instant that is a whole multiple of the interval since the epoch.

    Aligning to the wall clock makes every device sample at :00, :10, :20 …,
    so readings of different devices line up in the store and in Grafana.
    """
    return (int(now_s // interval_s) + 1) * interval_s


class ModbusPoller:
    def __init__(self, device: ModbusTcpDevice, sink: Sink):
        self.device = device
        self.sink = sink
        if device.profile:
            profile = load_profile(device.profile)
            fields: Sequence[RegisterField] = profile.fields
            max_count = profile.max_registers_per_read
        else:
            fields, max_count = device.registers, 125
        self.blocks: list[ReadBlock] = plan_reads(list(fields), max_count)
        self.client = ReadOnlyModbusClient(device.host, device.port, device.timeout_s)
        self.health = DeviceHealth()
        self.source = f"modbus:{device.site}/{device.id}"
        self._ctx = {"site": device.site, "device": device.id}
        self._failing_blocks: set[int] = set()

    def _log(self, level: int, msg: str, *args) -> None:
        log.log(level, msg, *args, extra=self._ctx)

    async def poll_once(self) -> list[Reading]:
        """Read every block once.  A block answered with a Modbus exception is
        skipped (its fields stay missing); the other blocks still deliver."""
        dev = self.device
        if not self.client.connected and not await self.client.connect():
            raise DeviceUnreachable(f"cannot connect to {dev.host}:{dev.port}")
        readings: list[Reading] = []
        for block in self.blocks:
            try:
                resp = await self.client.read_registers(block.table, block.address, block.count, dev.unit_id)
            except ModbusException as exc:
                # A timeout or a broken frame leaves the TCP stream in an unknown
                # state; the next poll starts on a fresh connection.
                self.client.close()
                raise DeviceUnreachable(f"{block.table} {block.address}+{block.count}: {exc}") from exc
            ts_ms = int(time.time() * 1000)
            key = block.address if block.table == "holding" else -1 - block.address
            if resp.isError():
                self.health.count(f"exception_{getattr(resp, 'exception_code', '?')}")
                if key not in self._failing_blocks:
                    self._failing_blocks.add(key)
                    self._log(
                        logging.WARNING,
                        "%s registers %d-%d answered Modbus exception %s; fields %s missing",
                        block.table, block.address, block.address + block.count - 1,
                        getattr(resp, "exception_code", "?"),
                        ", ".join(f.channel for f in block.fields),
                    )
                continue
            if key in self._failing_blocks:
                self._failing_blocks.discard(key)
                self._log(logging.INFO, "%s registers %d+ answer again", block.table, block.address)
            regs = resp.registers
            for f in block.fields:
                off = f.address - block.address
                value = decode(f, regs[off : off + width(f)])
                if value is None:
                    continue  # "not available" is missing, never zero
                readings.append(Reading(dev.site, dev.id, f.channel, dev.role.value, ts_ms, value))
        return readings

    async def run(self, stop: asyncio.Event) -> None:
        dev = self.device
        failures = 0
        next_at = next_tick(time.time(), dev.interval_s)
        while not stop.is_set():
            delay = max(0.0, next_at - time.time())
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                break
            except TimeoutError:
                pass
            self.health.polls += 1
            try:
                readings = await asyncio.wait_for(self.poll_once(), timeout=dev.timeout_s * (len(self.blocks) + 1))
            except (DeviceUnreachable, OSError, TimeoutError) as exc:
                self.client.close()
                failures += 1
                self.health.count("unreachable" if isinstance(exc, DeviceUnreachable) else "timeout")
                backoff = min(dev.interval_s * 2 ** (failures - 1), MAX_BACKOFF_S)
                if self.health.online or failures == 1:
                    self._log(logging.WARNING, "device offline (%s); retrying in %.0f s",
                              exc or type(exc).__name__, backoff)
                self.health.online = False
                next_at = next_tick(time.time() + backoff - dev.interval_s, dev.interval_s)
                continue
            except Exception:  # a bug must not take the daemon down with it
                self.client.close()
                self.health.count("internal")
                self._log(logging.ERROR, "unexpected error while polling", exc_info=True)
                next_at = next_tick(time.time(), dev.interval_s)
                continue
            if not self.health.online:
                self._log(logging.INFO, "device online (%d fields)", len(readings))
            self.health.online = True
            failures = 0
            if readings:
                if await self.sink(readings, self.source):
                    self.health.last_success_ms = readings[-1].ts_ms
                else:
                    self.health.count("spool_full")
            next_at = next_tick(time.time(), dev.interval_s)
        self.client.close()
