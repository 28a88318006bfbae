"""Poll Modbus TCP devices: wall-clock-aligned, coalesced, and isolated per field.

* **Coalesced reads**: a device's fields are planned into the fewest requests
  (:func:`~energimon.collector.modbus.registers.plan_reads`).
* **Per-field fault isolation**: when a request fails (exception response or
  timeout), its fields are read one by one in the same poll; a field that still
  fails is *quarantined* — left out of the plan, retried alone every
  ``QUARANTINE_RETRY_POLLS`` polls, reported once — and the rest keeps flowing.
  (Telegraf drops the device's whole poll when one register errors.)
* **Desynchronised streams**: after a timeout or a broken frame the TCP
  connection is closed and reopened before the next request.
* **Gateways**: devices with the same host:port share one connection; their
  requests are serialised by a lock (most RS485 gateways allow one master).
* **Backoff**: a device that cannot be reached is retried after 1, 2, 4 …
  intervals, at most ``health.MAX_BACKOFF_S``; other devices are unaffected.
* **Health** is stored as series of the device itself: ``device_online``
  (1/0), ``poll_errors`` (errors since the daemon started),
  ``fields_missing`` (fields quarantined or not available) and, for a device
  whose serial number is known, ``serial_changes``.
* **Identity**: manufacturer, model, serial … (SunSpec model 1, or a
  profile's ``info`` registers) are read on every new connection and every
  ``IDENTITY_REFRESH_POLLS`` polls, kept in ``devices.json`` for
  ``energimon status``; a serial number that changes is logged once and
  counted (:mod:`~energimon.collector.modbus.identity`).
* **Logs**: every line about a device names its site and device; an answer
  that is no valid Modbus is one line saying what was wrong (tracebacks of
  pymodbus only at DEBUG, see :mod:`~energimon.collector.modbus.client`).
* **Clock steps**: a reading's time is the system clock's; intervals run on
  the monotonic clock (a step changes the stamps, not the schedule).  Stamps
  come from the shared :class:`~energimon.stamps.Stamper` (strictly increasing
  per device, never one given before, also across a restart: the rule every
  collector follows), and every step of the system clock is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from pymodbus.exceptions import ModbusException

from energimon.collector.health import DeviceHealth, backoff_s
from energimon.collector.modbus.client import (
    REQUEST_CONTEXT,
    BadAnswer,
    NoAnswer,
    ReadOnlyModbusClient,
    exception_text,
)
from energimon.collector.modbus.fields import InfoField, RegisterField
from energimon.collector.modbus.identity import (
    IDENTITY_REFRESH_POLLS,
    DeviceInfoFile,
    IdentityTracker,
    describe,
)
from energimon.collector.modbus.profiles import Quirks, load_profile
from energimon.collector.modbus.registers import (
    DEFAULT_MAX_GAP,
    MAX_REGISTERS_PER_READ,
    ReadBlock,
    decode_block,
    decode_info,
    plan_reads,
)
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.model import Reading
from energimon.stamps import Stamper

log = logging.getLogger("energimon.collector.modbus")

Sink = Callable[[Sequence[Reading], str], Awaitable[bool]]
"""Commits readings durably; returns False when they were refused (spool full)."""

QUARANTINE_RETRY_POLLS = 10
SUNSPEC = "sunspec"
CLOCK_STEP_S = 1.0  # the system clock moved this much more (or less) than the monotonic one: a step



class DeviceUnreachable(Exception):
    pass


def next_tick(now_s: float, interval_s: float) -> float:
    """The next instant that is a whole multiple of the interval since the epoch.

    Aligning to the wall clock makes every device sample at :00, :10, :20 …,
    so readings of different devices line up in the store and in Grafana.
    """
    return (int(now_s // interval_s) + 1) * interval_s


class Connection:
    """One TCP connection to a gateway, shared by every unit id behind it."""

    def __init__(self, host: str, port: int, timeout_s: float, quirks: Quirks):
        self.client = ReadOnlyModbusClient(host, port, timeout_s)
        self.lock = asyncio.Lock()
        self.quirks = quirks
        self.generation = 0  # increments on every (re)connect; SunSpec discovery is redone then

    async def ensure(self) -> None:
        if self.client.connected:
            return
        if not await self.client.connect():
            raise DeviceUnreachable(f"cannot connect to {self.client.host}:{self.client.port}")
        self.generation += 1
        if self.quirks.connect_delay_s:
            await asyncio.sleep(self.quirks.connect_delay_s)

    def reset(self) -> None:
        self.client.close()


class ConnectionPool:
    def __init__(self) -> None:
        self._conns: dict[tuple[str, int], Connection] = {}

    def get(self, host: str, port: int, timeout_s: float, quirks: Quirks) -> Connection:
        key = (host, port)
        if key not in self._conns:
            self._conns[key] = Connection(host, port, timeout_s, quirks)
        return self._conns[key]

    def close(self) -> None:
        for c in self._conns.values():
            c.reset()


def _one_line(exc: BaseException) -> str:
    """An exception as one short line, with where it happened (its innermost frame), for ERROR logs
    whose traceback goes to DEBUG."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else ""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


class ModbusPoller:
    def __init__(self, device: ModbusTcpDevice, sink: Sink, pool: ConnectionPool | None = None,
                 device_info: DeviceInfoFile | None = None, stamper: Stamper | None = None):
        self.device = device
        self.sink = sink
        self.quirks = Quirks()
        self.max_count, self.max_gap = MAX_REGISTERS_PER_READ, DEFAULT_MAX_GAP
        self.fields: list[RegisterField] | None = None
        self.info_fields: tuple[InfoField, ...] = ()
        self._sunspec_generation = -1
        if device.profile == SUNSPEC:
            pass  # fields come from discovery, after connecting
        elif device.profile:
            profile = load_profile(device.profile)
            self.fields = list(profile.fields)
            self.info_fields = profile.info
            self.max_count, self.max_gap, self.quirks = (
                profile.max_registers_per_read, profile.max_gap, profile.quirks,
            )
        else:
            self.fields = list(device.registers)
        self._apply_overrides(device)
        self.conn = (pool or ConnectionPool()).get(device.host, device.port, device.timeout_s, self.quirks)
        self.health = DeviceHealth()
        self.source = f"modbus:{device.site}/{device.id}"
        self._ctx = {"site": device.site, "device": device.id}
        self._quarantine: dict[RegisterField, int] = {}  # field -> poll number of its next retry
        self._answers = self._timeouts = 0  # per poll: responses received, requests that got none
        self._plan: list[ReadBlock] | None = None
        self._clock = (time.time(), time.monotonic())  # at the last stamp: to see the system clock step
        self.stamper = stamper or Stamper()  # the daemon's, shared by every collector and kept across restarts
        # identity: what the device says it is (see energimon.collector.modbus.identity)
        self.device_info = device_info
        self.identity = IdentityTracker(device.profile or "registers",
                                        device_info.get(device.site, device.id) if device_info else None)
        self.info: dict[str, str] = {}  # as last read from the device
        self.info_problems: list[str] = []  # info registers that could not be read, and why
        self._identity_poll = -IDENTITY_REFRESH_POLLS  # poll number of the last attempt: the first poll reads it
        self._identity_generation = -1  # connection generation of the last successful read
        self._identity_ok = True
        self._info_problems_logged = False
        self._common_model: tuple[int, int] | None = None  # SunSpec model 1: (address, length)
        self._last_problem = ""  # the last failed request, in words (for the quarantine line)
        self._internal_logged: set[str] = set()

    def _apply_overrides(self, d: ModbusTcpDevice) -> None:
        if d.max_registers_per_read is not None:
            self.max_count = d.max_registers_per_read
        if d.max_gap is not None:
            self.max_gap = d.max_gap
        q = self.quirks
        self.quirks = Quirks(
            connect_delay_s=q.connect_delay_s if d.connect_delay_s is None else d.connect_delay_s,
            request_pause_s=q.request_pause_s if d.request_pause_s is None else d.request_pause_s,
            close_after_poll=q.close_after_poll if d.close_after_poll is None else d.close_after_poll,
        )

    @property
    def client(self) -> ReadOnlyModbusClient:
        return self.conn.client

    @property
    def blocks(self) -> list[ReadBlock]:
        if self._plan is None:
            active = [f for f in (self.fields or []) if f not in self._quarantine]
            self._plan = plan_reads(active, self.max_count, self.max_gap)
        return self._plan

    def _log(self, level: int, msg: str, *args, **kw) -> None:
        log.log(level, msg, *args, extra=self._ctx, **kw)

    # -- one poll -------------------------------------------------------------------------------
    async def poll_once(self) -> list[Reading]:
        token = REQUEST_CONTEXT.set(self._ctx)  # what pymodbus says meanwhile is attributed to this device
        try:
            async with self.conn.lock:
                try:
                    return await self._poll_locked()
                finally:
                    if self.quirks.close_after_poll:
                        self.conn.reset()
        finally:
            REQUEST_CONTEXT.reset(token)

    async def _poll_locked(self) -> list[Reading]:
        dev = self.device
        await self.conn.ensure()
        if dev.profile == SUNSPEC and self._sunspec_generation != self.conn.generation:
            await self._discover_sunspec()
        elif self._identity_due():
            await self.read_identity()
        self._answers = self._timeouts = 0
        values: list[tuple[RegisterField, float]] = []
        for block in self.blocks:
            got = await self._read_block(block)
            if got is None:
                values += await self._isolate(block)
            else:
                values += got
        values += await self._retry_quarantined()
        # Fields the device cannot deliver (quarantined); a point a device reports as
        # "not implemented" (sentinel) is a property of the device, not a fault.
        self.health.missing_fields = len(self._quarantine)
        ts_ms = self._stamp()
        return [
            Reading(dev.site, f"{dev.id}-{f.subdevice}" if f.subdevice else dev.id, f.channel, dev.role.value, ts_ms, v)
            for f, v in values
        ]

    async def _discover_sunspec(self) -> None:
        from energimon.collector.modbus import sunspec

        try:
            found = await sunspec.discover(self.client, self.device.unit_id, context=self._ctx)
        except sunspec.SunSpecError as exc:
            # not a SunSpec device (or a broken model chain): back off like an unreachable device
            self.conn.reset()
            raise DeviceUnreachable(f"SunSpec discovery failed: {exc}") from exc
        self.fields = list(found.fields)
        self._plan, self._quarantine = None, {}
        self._sunspec_generation = self.conn.generation
        common = [m for m in found.models if m[0] == sunspec.COMMON_MODEL]
        self._common_model = (common[0][1], common[0][2]) if common else None
        self._log(logging.INFO, "SunSpec device at base %d: models %s, %d fields",
                  found.base, ", ".join(str(m[0]) for m in found.models), len(self.fields))
        self._identity_poll, self._identity_generation, self._identity_ok = (
            self.health.polls, self.conn.generation, True)
        await self._observe_identity(found.info)

    # -- identity ---------------------------------------------------------------------------------
    def _identity_due(self) -> bool:
        """On a new connection (a swapped device drops it) and every IDENTITY_REFRESH_POLLS polls (a
        device behind a gateway can change without that); after a failed read only the latter."""
        if not (self.info_fields or self.device.profile == SUNSPEC):
            return False
        if self.health.polls - self._identity_poll >= IDENTITY_REFRESH_POLLS:
            return True
        if self.quirks.close_after_poll and self._identity_generation >= 0:
            return False  # a new connection every poll says nothing: do not add requests to every poll
        return self._identity_ok and self._identity_generation != self.conn.generation

    async def read_identity(self) -> dict[str, str]:
        """Read the device's identity now (holding the connection lock) and take note of it."""
        from energimon.collector.modbus import sunspec

        self._identity_poll = self.health.polls
        generation = self.conn.generation
        try:
            if self.device.profile == SUNSPEC:
                info = (await sunspec.read_info(self.client, self.device.unit_id, *self._common_model)
                        if self._common_model else {})
            else:
                info = await self._read_info_fields()
        except (ModbusException, ConnectionError, OSError) as exc:
            self.conn.reset()  # the stream may hold a late answer
            self._identity_ok = False
            self._log(logging.DEBUG, "device identity not read: %s; next try in %d polls", exc,
                      IDENTITY_REFRESH_POLLS)
            return {}
        self._identity_ok, self._identity_generation = True, generation
        await self._observe_identity(info)
        return info

    async def _read_info_fields(self) -> dict[str, str]:
        info: dict[str, str] = {}
        problems: list[str] = []
        for f in self.info_fields:
            if self.quirks.request_pause_s:
                await asyncio.sleep(self.quirks.request_pause_s)
            await self.conn.ensure()
            resp = await self.client.read(f.table, f.address, f.width, self.device.unit_id)
            if resp.isError():
                problems.append(f"{f.key} ({f.table} {f.address}): "
                                f"{exception_text(getattr(resp, 'exception_code', '?'))}")
                continue
            regs = [int(r) for r in resp.registers]
            if len(regs) < f.width:
                problems.append(f"{f.key} ({f.table} {f.address}): short answer, {len(regs)} of {f.width} registers")
                continue
            value = decode_info(f, regs[: f.width])
            if value is None:
                problems.append(f"{f.key} ({f.table} {f.address}): empty")
            else:
                info[f.key] = value
        self.info_problems = problems
        if problems and not self._info_problems_logged:
            self._info_problems_logged = True
            self._log(logging.INFO, "device info not readable: %s (the readings are not affected)",
                      "; ".join(problems))
        return info

    async def _observe_identity(self, info: dict[str, str]) -> None:
        if not info:
            return
        first = self.identity.record is None
        self.info = dict(info)
        changed, change, log_it = self.identity.observe(info, int(time.time() * 1000))
        if change is not None:
            if log_it:
                self._log(logging.WARNING, "serial number changed from %s to %s (now: %s): a swapped device, or "
                          "another device answering on unit %d? Readings continue; counted in serial_changes",
                          change.old, change.new, describe(info), self.device.unit_id)
            if self.device.profile == SUNSPEC:
                self._sunspec_generation = -1  # another device may have another model chain: discover again
        elif first:
            self._log(logging.INFO, "device identity: %s", describe(info))
        if changed and self.device_info is not None and self.identity.record is not None:
            try:
                await asyncio.to_thread(self.device_info.put, self.device.site, self.device.id, self.identity.record)
            except OSError as exc:
                self._log(logging.WARNING, "cannot write %s: %s (identity kept in memory)",
                          self.device_info.path, exc.strerror or exc)

    async def _request(self, block: ReadBlock):
        """One request; None for an exception response.  Timeouts and broken frames reset the connection."""
        if self.quirks.request_pause_s:
            await asyncio.sleep(self.quirks.request_pause_s)
        await self.conn.ensure()
        try:
            resp = await self.client.read(block.table, block.address, block.count, self.device.unit_id)
        except (ModbusException, ConnectionError, OSError) as exc:
            # The stream may hold a late answer to this request: start over on a fresh connection.
            self.conn.reset()
            self._timeouts += 1
            what = str(exc) if isinstance(exc, BadAnswer) else f"{type(exc).__name__}: {exc}"
            if self._answers == 0 and self._timeouts >= 2:
                # Nothing valid answered in this poll: the device is down (or talks garbage), not one register.
                raise DeviceUnreachable(f"no valid answer from unit {self.device.unit_id}: {what}") from exc
            self.health.count("malformed_answer" if isinstance(exc, BadAnswer) and not isinstance(exc, NoAnswer)
                              else "timeout")
            self._last_problem = what
            self._log_block_problem(block, what)
            return None
        self._answers += 1
        if resp.isError():
            code = getattr(resp, "exception_code", "?")
            self.health.count(f"exception_{code}")
            self._last_problem = exception_text(code)
            self._log_block_problem(block, self._last_problem)
            return None
        data = resp.bits if block.table in ("coil", "discrete") else resp.registers
        if len(data) < block.count:
            self.conn.reset()
            self.health.count("short_response")
            self._last_problem = f"short answer: {len(data)} of {block.count}"
            self._log_block_problem(block, self._last_problem)
            return None
        return [int(x) for x in data[: block.count]]

    async def _read_block(self, block: ReadBlock) -> list[tuple[RegisterField, float]] | None:
        regs = await self._request(block)
        return None if regs is None else decode_block(block, regs)

    async def _isolate(self, block: ReadBlock) -> list[tuple[RegisterField, float]]:
        """A block failed: read its fields alone; quarantine the ones that still fail."""
        out: list[tuple[RegisterField, float]] = []
        singles = plan_reads(list(block.fields), self.max_count, max_gap=-1)
        if len(singles) == 1:
            singles_failed = list(block.fields)
        else:
            singles_failed = []
            for single in singles:
                got = await self._read_block(single)
                if got is None:
                    singles_failed += single.fields
                else:
                    out += got
        if singles_failed and self._answers == 0:
            raise DeviceUnreachable(f"no valid answer from unit {self.device.unit_id}: {self._last_problem or '?'}")
        for f in singles_failed:
            self._quarantine[f] = self.health.polls + QUARANTINE_RETRY_POLLS
        if singles_failed:
            self._plan = None
            self._log(logging.WARNING, "quarantined %s (address %s; last: %s); retried alone every %d polls, "
                      "the rest flows", ", ".join(f.channel for f in singles_failed),
                      ", ".join(str(f.address) for f in singles_failed), self._last_problem or "?",
                      QUARANTINE_RETRY_POLLS)
        return out

    async def _retry_quarantined(self) -> list[tuple[RegisterField, float]]:
        out: list[tuple[RegisterField, float]] = []
        due = [f for f, at in self._quarantine.items() if at <= self.health.polls]
        for f in due:
            block = plan_reads([f], self.max_count, max_gap=-1)[0]
            got = await self._read_block(block)
            if got is None:
                self._quarantine[f] = self.health.polls + QUARANTINE_RETRY_POLLS
                continue
            del self._quarantine[f]
            self._plan = None
            self._log(logging.INFO, "%s (address %d) answers again", f.channel, f.address)
            out += got
        return out

    def _log_block_problem(self, block: ReadBlock, what: str) -> None:
        self._log(logging.DEBUG, "%s %d-%d (%s): %s", block.table, block.address, block.address + block.count - 1,
                  ", ".join(f.channel for f in block.fields), what)

    def _stamp(self) -> int:
        """Now, by the system clock, in ms — but at least 1 ms after this device's previous stamp.

        After the clock steps back, polls would land on times already used; the store keeps one value per series
        and millisecond (that is what makes redelivery harmless), so a repeated stamp would silently replace
        a reading from before the step.  The stamper (:mod:`energimon.stamps`) keeps the device's stamps
        strictly increasing instead, until the clock has caught up.
        """
        wall, mono = time.time(), time.monotonic()
        step_s = (wall - self._clock[0]) - (mono - self._clock[1])
        self._clock = (wall, mono)
        if abs(step_s) >= CLOCK_STEP_S:
            self._log(logging.WARNING, "system clock stepped %s by %.0f s; %s, polling keeps its interval",
                      "back" if step_s < 0 else "forward", abs(step_s),
                      "stamps go on 1 ms apart after the last one until the clock catches up (none is reused)"
                      if step_s < 0 else "readings follow the clock (a gap in the times)")
        return self.stamper.stamp(self.source, int(wall * 1000))

    async def _deliver(self, readings: list[Reading]) -> bool:
        """Hand readings to the sink; a sink that raises counts as a refusal (this poll's values are
        lost, the counters keep the energy) — an exception here must not end this device's polling."""
        try:
            return await self.sink(readings, self.source)
        except Exception as exc:
            self._log(logging.ERROR, "the spool did not take %d readings: %s", len(readings), _one_line(exc))
            self._log(logging.DEBUG, "the spool's traceback", exc_info=True)
            return False

    def health_readings(self, ts_ms: int, with_identity: bool = False) -> list[Reading]:
        """Health series at ``ts_ms``; ``with_identity``: also ``serial_changes`` (when the serial number is
        known) - only with polls that delivered values, so it never makes a device's data look fresher."""
        dev, h = self.device, self.health
        mk = lambda ch, v: Reading(dev.site, dev.id, ch, dev.role.value, ts_ms, float(v))  # noqa: E731
        out = [mk("device_online", 1 if h.online else 0), mk("poll_errors", h.error_total),
               mk("fields_missing", h.missing_fields)]
        rec = self.identity.record
        if with_identity and rec is not None and rec.info.get("serial"):
            out.append(mk("serial_changes", rec.serial_changes))
        return out

    # -- the loop -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        dev = self.device
        failures = 0
        next_at = next_tick(time.time(), dev.interval_s)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.time()))
                break
            except TimeoutError:
                pass
            self.health.polls += 1
            n_requests = len(self.blocks) + len(self.fields or []) + 2
            try:
                readings = await asyncio.wait_for(self.poll_once(), timeout=dev.timeout_s * n_requests + 5)
            except (DeviceUnreachable, OSError, TimeoutError, ModbusException) as exc:
                self.conn.reset()
                failures += 1
                self.health.count("unreachable" if isinstance(exc, DeviceUnreachable) else "timeout")
                backoff = backoff_s(dev.interval_s, failures)
                if self.health.online or failures == 1:
                    self._log(logging.WARNING, "device offline (%s); retrying in %.0f s",
                              exc or type(exc).__name__, backoff)
                self.health.online = False
                await self._deliver(self.health_readings(self._stamp()))
                next_at = next_tick(time.time() + backoff - dev.interval_s, dev.interval_s)
                continue
            except Exception as exc:  # a bug must not take the daemon down with it
                self.conn.reset()
                self.health.count("internal")
                # one line per distinct error (counted in poll_errors every time); the traceback at DEBUG
                what = _one_line(exc)
                if what not in self._internal_logged:
                    self._internal_logged.add(what)
                    self._log(logging.ERROR, "unexpected error while polling (a bug; [log] level = \"DEBUG\" "
                              "shows the traceback): %s", what)
                self._log(logging.DEBUG, "traceback", exc_info=True)
                next_at = next_tick(time.time(), dev.interval_s)
                continue
            if not self.health.online:
                self._log(logging.INFO, "device online (%d values)", len(readings))
            self.health.online = True
            failures = 0
            ts = readings[-1].ts_ms if readings else self._stamp()
            if await self._deliver([*readings, *self.health_readings(ts, with_identity=bool(readings))]):
                if readings:
                    self.health.last_success_ms = ts
            else:
                self.health.count("spool_full")
            next_at = next_tick(time.time(), dev.interval_s)
        self.conn.reset()
