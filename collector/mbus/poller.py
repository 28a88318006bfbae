"""Poll an M-Bus meter through its gateway or serial M-Bus master into the spool.

One poll (holding the bus's lock: an M-Bus has one master, and a select holds for the whole bus):

* primary address A: ``SND_NKE`` to A (the meter answers E5), then ``REQ_UD2`` to A -> ``RSP_UD``;
* secondary address: ``SND_NKE`` to 253 (deselects whichever meter was selected), the select with its
  identification number (E5), then ``REQ_UD2`` to 253 -> ``RSP_UD``, whose header must carry that number;
* a meter that says more telegrams follow (DIF 1Fh) is asked again with the frame-count bit toggled, up
  to :data:`MAX_TELEGRAMS`.

A request without a valid answer is repeated ``retries`` times (a sleeping battery meter may miss the first),
on a fresh connection (a freshly opened port) after a bad answer (the stream may still carry the rest of it).
A poll that gets no valid answer makes the device offline: one WARNING line naming site, device, the
gateway or serial port, where on the bus and what was wrong; retried after 1, 2, 4 … intervals up to
:data:`~energimon.collector.health.MAX_BACKOFF_S`; one INFO line when it answers again.  A telegram the decoder
refuses counts as an error and is logged once per distinct problem.  The daemon never sees an exception from here.

Readings are stamped by the shared :class:`~energimon.stamps.Stamper` (the meter's clock is not used for
the time: it is local time without a zone, set by hand), and go to the spool through the daemon's sink with
the health series ``device_online``, ``poll_errors``, ``fields_missing`` (standard heat-meter values the
answer lacked) and, once the identification is known, ``serial_changes``.  The identification (number,
manufacturer, version, medium) is kept in ``devices.json`` like a Modbus device's identity, for
``energimon status``; a number that changes on a primary address is a swapped meter, logged and counted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from energimon.collector.health import DeviceHealth, backoff_s
from energimon.collector.mbus.client import BadAnswer, MbusClient, MbusSerialClient, MbusTcpClient, NoAnswer
from energimon.collector.mbus.frames import ADDRESS_NETWORK_LAYER
from energimon.collector.mbus.heat import EXPECTED, EXPECTED_BY_ROLE, describe_info, heat_values
from energimon.collector.mbus.records import RecordError, Telegram, parse_telegram
from energimon.collector.mbus.settings import MbusDevice, MbusTcpDevice
from energimon.collector.modbus.identity import DeviceInfoFile, IdentityTracker, describe
from energimon.model import Reading
from energimon.stamps import Stamper

log = logging.getLogger("energimon.collector.mbus")

Sink = Callable[[Sequence[Reading], str], Awaitable[bool]]
"""Commits readings durably; returns False when they were refused (spool full)."""

MAX_TELEGRAMS = 8
SOURCE_KIND = "mbus"



class MeterUnreachable(Exception):
    """No valid answer in this poll (the message says what happened last)."""


def next_tick(now_s: float, interval_s: float) -> float:
    """The next whole multiple of the interval since the epoch (meters sample at :00, :10 … like the Modbus ones)."""
    return (int(now_s // interval_s) + 1) * interval_s


def client_for(device: MbusDevice) -> MbusClient:
    """The transport a meter's bus is reached by: TCP to a gateway, or a serial port."""
    if isinstance(device, MbusTcpDevice):
        return MbusTcpClient(device.host, device.port, device.timeout_s)
    return MbusSerialClient(device.port, device.baudrate, device.parity, device.timeout_s)


class GatewayConnection:
    """One bus (a gateway's TCP connection or a serial port), shared by every meter on it, one request at a
    time."""

    def __init__(self, client: MbusClient):
        self.client = client
        self.lock = asyncio.Lock()

    def reset(self) -> None:
        self.client.close()


class GatewayPool:
    def __init__(self) -> None:
        self._conns: dict[tuple[str, str], GatewayConnection] = {}

    def get(self, device: MbusDevice) -> GatewayConnection:
        """The bus ``device`` is on (the first meter's timeout serves the bus; the settings' cross-check makes
        the meters on one serial port agree on its baud rate and parity)."""
        key = (device.protocol, device.bus)
        if key not in self._conns:
            self._conns[key] = GatewayConnection(client_for(device))
        return self._conns[key]

    def close(self) -> None:
        for c in self._conns.values():
            c.reset()


def _kind(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, NoAnswer):
        return "timeout"
    if "checksum" in text:
        return "bad_checksum"
    if "truncated" in text:
        return "truncated"
    if "garbage" in text or "broken long-frame" in text:
        return "garbage"
    return "malformed_answer"


class MbusPoller:
    def __init__(self, device: MbusDevice, sink: Sink, pool: GatewayPool | None = None,
                 device_info: DeviceInfoFile | None = None, stamper: Stamper | None = None):
        self.device = device
        self.sink = sink
        self.conn = (pool or GatewayPool()).get(device)
        self.health = DeviceHealth()
        self.source = f"mbus:{device.site}/{device.id}"
        self.stamper = stamper or Stamper()
        self._ctx = {"site": device.site, "device": device.id}
        self.device_info = device_info
        self.identity = IdentityTracker(SOURCE_KIND, device_info.get(device.site, device.id) if device_info else None)
        self.info: dict[str, str] = {}
        self.last_telegrams: list[Telegram] = []  # the last poll's answer (for `energimon mbus-probe`)
        self._logged: set[str] = set()  # distinct decoder/mapping problems logged (once each)
        self._info_code: int | None = None
        self._internal_logged: set[str] = set()

    @property
    def client(self) -> MbusClient:
        return self.conn.client

    def _log(self, level: int, msg: str, *args: object, exc_info: bool = False) -> None:
        log.log(level, msg, *args, exc_info=exc_info, extra=self._ctx)

    def _once(self, level: int, key: str, msg: str, *args) -> None:
        if key not in self._logged:
            self._logged.add(key)
            self._log(level, msg, *args)

    # -- one poll -----------------------------------------------------------------------------------------------
    async def poll_once(self) -> list[Reading]:
        async with self.conn.lock:
            telegrams = await self._read_meter()
        return await self._readings(telegrams)

    async def _request(self, what: str, call):
        """One request with its retries; the last problem raises :class:`MeterUnreachable`."""
        problem = ""
        for attempt in range(self.device.retries + 1):
            try:
                return await call()
            except (NoAnswer, BadAnswer, OSError, TimeoutError) as exc:
                self.conn.reset()  # a late or partial answer must not meet the next request
                kind = "unreachable" if isinstance(exc, OSError | TimeoutError) else _kind(exc)
                self.health.count(kind)
                problem = (self._unreachable(exc) if isinstance(exc, OSError)
                           else f"gateway {self.device.bus} did not answer in time"
                           if isinstance(exc, TimeoutError) else f"{what}: {exc}")
                self._log(logging.DEBUG, "%s (attempt %d of %d)", problem, attempt + 1, self.device.retries + 1)
                if isinstance(exc, OSError):
                    break  # the gateway itself is not there: retrying at once will not help
        raise MeterUnreachable(problem)

    def _unreachable(self, exc: OSError) -> str:
        if isinstance(self.device, MbusTcpDevice):
            return f"cannot connect to the gateway {self.device.bus}: {exc.strerror or exc}"
        text = exc.strerror or str(exc)  # the serial client's own text names the port already
        return text if self.device.port in text else f"serial port {self.device.port}: {text}"

    async def _read_meter(self) -> list[Telegram]:
        dev, client = self.device, self.client
        target = dev.target
        if target is None:
            if dev.address is None:  # refused by the settings: a meter has a primary or a secondary address
                raise ValueError(f"{dev.site}/{dev.id}: neither address nor secondary_address")
            address = dev.address
            if not await self._request(f"SND_NKE to {address}", lambda: client.initialise(address)):
                # no E5: nothing on that address (REQ_UD2 is tried anyway: a few meters skip the E5)
                self._log(logging.DEBUG, "no acknowledge to SND_NKE at primary address %d", address)
        else:
            address = ADDRESS_NETWORK_LAYER
            await self._request("SND_NKE to 253", lambda: client.initialise(ADDRESS_NETWORK_LAYER))
            await self._request(f"select {target}", lambda: client.select(target))
        telegrams: list[Telegram] = []
        fcb = True  # set on the first request after the reset, toggled for each further telegram (as libmbus)
        while True:
            frame = await self._request(f"REQ_UD2 to {address}", lambda fcb=fcb: client.read(address, fcb))
            if target is None and frame.a != address:
                self.health.count("wrong_address")
                raise MeterUnreachable(f"an answer from primary address {frame.a} to a request for {address} "
                                       "(two meters with one address, or a gateway mixing up answers?)")
            try:
                tel = parse_telegram(frame)
            except RecordError as exc:
                self.health.count("undecodable")
                raise MeterUnreachable(f"the answer cannot be read: {exc}") from exc
            if target is not None and tel.header is not None and not target.matches(
                    tel.header.ident, tel.header.manufacturer, tel.header.version, tel.header.medium):
                self.health.count("wrong_meter")
                raise MeterUnreachable(f"selected {target}, but meter {tel.header.ident} ({tel.header.manufacturer})"
                                       " answered")
            telegrams.append(tel)
            if not tel.more_follows or len(telegrams) >= MAX_TELEGRAMS:
                break
            fcb = not fcb
        return telegrams

    async def _readings(self, telegrams: list[Telegram]) -> list[Reading]:
        dev = self.device
        values: dict[str, float] = {}
        notes: list[str] = []
        for tel in telegrams:
            hv = heat_values(tel)
            notes += hv.notes
            for ch, v in hv.values.items():
                values.setdefault(ch, v)
        first = telegrams[0]
        self.last_telegrams = telegrams
        header = first.header
        if header is not None and header.ident:
            await self._observe_identity({"manufacturer": header.manufacturer, "model": header.medium_name,
                                          "serial": header.ident, "version": str(header.version)})
        for note in notes:
            self._once(logging.INFO, f"note:{note}", "%s", note)
        missing = [c for c in EXPECTED_BY_ROLE.get(dev.role.value, EXPECTED) if c not in values]
        self.health.missing_fields = len(missing)
        if missing:
            self._once(logging.WARNING, f"missing:{missing}", "the answer has no %s (%d records; energimon takes "
                       "a meter's current main values only: not maxima, stored or tariff values)",
                       ", ".join(missing), sum(len(t.records) for t in telegrams))
        code = values.get("info_code")
        if code is not None and int(code) != (self._info_code or 0):
            manufacturer = header.manufacturer if header else ""
            self._log(logging.WARNING if code else logging.INFO, "meter info code %d: %s", int(code),
                      describe_info(int(code), manufacturer))
        self._info_code = int(code) if code is not None else self._info_code
        ts_ms = self._stamp()
        return [Reading(dev.site, dev.id, ch, dev.role.value, ts_ms, v) for ch, v in values.items()]

    async def _observe_identity(self, info: dict[str, str]) -> None:
        first = self.identity.record is None
        self.info = info
        changed, change, log_it = self.identity.observe(info, int(time.time() * 1000))
        if change is not None and log_it:
            self._log(logging.WARNING, "identification number changed from %s to %s (now: %s): a swapped meter, or "
                      "another meter answering on %s? Readings continue; counted in serial_changes",
                      change.old, change.new, describe(info), self.device.where)
        elif first:
            self._log(logging.INFO, "meter: %s on %s", describe(info), self.device.where)
        if changed and self.device_info is not None and self.identity.record is not None:
            try:
                await asyncio.to_thread(self.device_info.put, self.device.site, self.device.id, self.identity.record)
            except OSError as exc:
                self._log(logging.WARNING, "cannot write %s: %s (identity kept in memory)",
                          self.device_info.path, exc.strerror or exc)

    def _stamp(self) -> int:
        return self.stamper.stamp(self.source)

    def health_readings(self, ts_ms: int, with_identity: bool = False) -> list[Reading]:
        dev, h = self.device, self.health
        mk = lambda ch, v: Reading(dev.site, dev.id, ch, dev.role.value, ts_ms, float(v))  # noqa: E731
        out = [mk("device_online", 1 if h.online else 0), mk("poll_errors", h.error_total),
               mk("fields_missing", h.missing_fields)]
        rec = self.identity.record
        if with_identity and rec is not None and rec.info.get("serial"):
            out.append(mk("serial_changes", rec.serial_changes))
        return out

    async def _deliver(self, readings: list[Reading]) -> bool:
        try:
            return await self.sink(readings, self.source)
        except Exception as exc:  # the spool failing must not end this meter's polling
            self._log(logging.ERROR, "the spool did not take %d readings: %s", len(readings), exc)
            return False

    # -- the loop -----------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        dev = self.device
        failures = 0
        next_at = next_tick(time.time(), dev.interval_s)
        # a whole poll: up to 3 requests (+ more telegrams), each with its retries, each up to 2 timeouts long
        poll_timeout = dev.timeout_s * 2 * (dev.retries + 1) * (3 + MAX_TELEGRAMS) + 5
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, next_at - time.time()))
                break
            except TimeoutError:
                pass
            self.health.polls += 1
            try:
                readings = await asyncio.wait_for(self.poll_once(), timeout=poll_timeout)
            except (MeterUnreachable, TimeoutError) as exc:
                self.conn.reset()
                failures += 1
                if isinstance(exc, TimeoutError):
                    self.health.count("timeout")
                backoff = backoff_s(dev.interval_s, failures)
                if self.health.online or failures == 1:
                    self._log(logging.WARNING, "meter offline at %s %s: %s; retrying in %.0f s", dev.bus,
                              dev.where, str(exc) or "the poll took too long", backoff)
                self.health.online = False
                await self._deliver(self.health_readings(self._stamp()))
                next_at = next_tick(time.time() + backoff - dev.interval_s, dev.interval_s)
                continue
            except Exception as exc:  # a bug (or a telegram no test foresaw) must not take the daemon down
                self.conn.reset()
                self.health.count("internal")
                what = f"{type(exc).__name__}: {exc}"
                if what not in self._internal_logged:
                    self._internal_logged.add(what)
                    self._log(logging.ERROR, "unexpected error while reading the meter (a bug; [log] level = "
                              "\"DEBUG\" shows the traceback): %s", what)
                self._log(logging.DEBUG, "traceback", exc_info=True)
                next_at = next_tick(time.time(), dev.interval_s)
                continue
            if not self.health.online:
                self._log(logging.INFO, "meter online (%d values)", len(readings))
            self.health.online = True
            failures = 0
            ts = readings[-1].ts_ms if readings else self._stamp()
            if await self._deliver([*readings, *self.health_readings(ts, with_identity=True)]):
                if readings:
                    self.health.last_success_ms = ts
            else:
                self.health.count("spool_full")
            next_at = next_tick(time.time(), dev.interval_s)
        self.conn.reset()
