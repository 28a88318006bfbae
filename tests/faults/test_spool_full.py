"""The spool cannot take more: its capacity limit, and a real write error from the file system.

Policy (store/spool.py's contract, README "Architecture"): **refuse new, never drop accepted.**  A put that
does not fit — the spool holds ``max_readings``, or the disk refuses the write — writes nothing and raises
:class:`SpoolFull`; the producer is told and applies back-pressure: a Modbus poll is skipped (counted as
``spool_full``; the meter's energy counters still hold the energy, so consumption across the hole stays
exact), MQTT messages are not acknowledged and wait at the broker.  Readings already accepted are never
dropped.  The daemon says so in its log, and collection resumes by itself once there is room again.

So in these rows a refused poll is "not accepted", which is not "lost": ``produced`` counts the readings
the spool accepted (Modbus) — or, for MQTT, every message the broker acknowledged to the publisher, since
a refused message is redelivered and must land too.

The file-system error is real, without root: the daemon runs as a subprocess and its file-size limit
(``RLIMIT_FSIZE``) is lowered to one page (``prlimit``), so every write to the spool fails with EFBIG as on
a full disk (Python ignores SIGXFSZ) — also the writer's acknowledgement of a batch InfluxDB has already
taken, which must then go out again without a duplicate; "space freed" is the limit raised again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import InfluxServer, unique_db
from helpers.wait import async_wait_for
from mqtt_broker import running_broker

from energimon.app.daemon import Daemon
from energimon.config.settings import settings_from_dict
from energimon.model import Reading, now_ms
from energimon.store.spool import Spool
from faults.devices import COUNTING_REGISTERS, CountingMeter, DevicesInThread
from faults.harness import (
    DaemonProcess,
    StreamPublisher,
    Tally,
    assert_exact,
    influx_rows,
    tally,
    wait_for,
)
from faults.mqtt_stream import TOPIC, write_config

SITE = "soro-raadhus"
MEASUREMENTS = ("electricity", "device_health")


def counting_device(port: int) -> dict:
    return {"protocol": "modbus_tcp", "site": SITE, "id": "sund", "role": "submeter", "host": "127.0.0.1",
            "port": port, "registers": COUNTING_REGISTERS, "interval_s": 1, "timeout_s": 1}


def device_toml(device: dict) -> str:
    """A ``[[devices]]`` table (with its ``[[devices.registers]]``) for a TOML config."""
    keys = lambda d: "\n".join(f"{k} = {json.dumps(v)}" for k, v in d.items() if k != "registers")  # noqa: E731
    return f"\n[[devices]]\n{keys(device)}\n" + "".join(
        f"\n[[devices.registers]]\n{keys(r)}\n" for r in device.get("registers", []))


def backlog(n: int, t0_ms: int) -> list[Reading]:
    """What a store outage left in the spool before this run: ``n`` older readings of another meter."""
    return [Reading(SITE, "gammel", "power_w", "submeter", t0_ms + i * 1000, 500.0 + i * 0.5) for i in range(n)]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


# -- the capacity limit -----------------------------------------------------------------------------
@dataclass
class CapacityOutcome:
    tally: Tally
    refused_polls: int
    accepted_after_room: int  # polls accepted after the store came back (collection resumed)
    spool_full_counted: int  # what the poller's health says
    log: list[str]


def run_spool_capacity(workdir: Path, *, max_readings: int = 1000, prefill: int = 998, full_s: float = 2.5
                       ) -> CapacityOutcome:
    """The store is down (influxd not started yet), the spool nearly full from an earlier outage: polls are
    refused; influxd starts, the writer drains, polls are accepted again."""
    server = InfluxServer(workdir / "influxd")  # its port refuses connections until start()
    spool = Spool(workdir / "spool.db")
    early = backlog(prefill, now_ms() - 3600_000)
    spool.put(early, "earlier")
    spool.close()
    meter = CountingMeter()
    handler = _ListHandler()
    logger = logging.getLogger("energimon")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    accepted: list[Reading] = [*early]
    refused: list[list[Reading]] = []
    obs: dict = {}

    async def scenario() -> Daemon:
        await meter.start()
        try:
            settings = settings_from_dict({
                "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55}},
                "store": {"kind": "influxdb", "influxdb": {"url": server.url, "mode": "v1", "database": "full",
                                                           "create_database": True, "timeout_s": 1}},
                "spool": {"path": str(workdir / "spool.db"), "max_readings": max_readings, "flush_timeout_s": 5},
                "devices": [counting_device(meter.port)],
            })
            daemon = Daemon(settings)
            daemon.writer.max_backoff_s = 0.5  # the daemon's default is 60 s; the test has no minute to spare
            for p in daemon.pollers:
                async def recording(readings, source, _sink=p.sink):
                    ok = await _sink(readings, source)
                    (accepted.extend if ok else refused.append)(list(readings))
                    return ok

                p.sink = recording
            task = asyncio.create_task(daemon.run(install_signal_handlers=False))
            await asyncio.sleep(full_s)
            await asyncio.to_thread(server.start)  # the store is back: the writer makes room
            room_at = len(accepted)
            await async_wait_for(lambda: len(accepted) - room_at >= 2 * 5, 15, "two polls accepted again", 0.1)
            obs["after"] = (len(accepted) - room_at) // 5
            await async_wait_for(lambda: daemon.spool.backlog() == 0, 15, "the spool written to the store", 0.1)
            daemon.request_stop()
            assert await asyncio.wait_for(task, 15) == 0
            return daemon
        finally:
            await meter.stop()

    try:
        daemon = asyncio.run(scenario())
        rows = influx_rows(server, "full", MEASUREMENTS)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        server.stop()
    produced = {(r.site, r.device, r.channel, r.ts_ms): float(r.value) for r in accepted}
    return CapacityOutcome(tally("spool full (max_readings, accepted)", produced, rows), len(refused),
                           obs["after"], daemon.pollers[0].health.errors.get("spool_full", 0), handler.lines)


@pytest.mark.slow
def test_full_spool_refuses_new_polls_keeps_what_it_accepted_and_resumes(tmp_path, fault_table):
    out = run_spool_capacity(tmp_path)
    t = fault_table.add(out.tally)
    assert out.refused_polls >= 2 and out.spool_full_counted == out.refused_polls  # the producer was told
    assert out.accepted_after_room >= 2  # collection resumed once the store took the backlog
    assert t.produced >= 998 + 2 * 5
    assert_exact(t)
    text = "\n".join(out.log)
    assert "opened 100% full (998 of 1000 readings waiting for the store)" in text
    assert "is full (998 of 1000 readings); 5 new readings refused from modbus:soro-raadhus/sund" in text
    assert "store reachable again" in text


# -- a real write error: the file-size limit -----------------------------------------------------------
@dataclass
class DiskOutcome:
    tally: Tally
    modbus_after_room: int  # Modbus readings stored with a time after the limit was lifted
    log: str


def run_spool_disk_full(workdir: Path, influxd, *, messages_full: int = 200, full_s: float = 1.0,
                        protocol: str = "3.1.1") -> DiskOutcome:
    db = unique_db("diskfull")
    store = (f'kind = "influxdb"\n[store.influxdb]\nurl = "{influxd.url}"\nmode = "v1"\ndatabase = "{db}"\n'
             'create_database = true\ntimeout_s = 1\n')
    t0 = int(datetime.now(tz=UTC).timestamp()) - 7200
    n_before = 100
    items = [(TOPIC, json.dumps({"e": 1000 + i * 0.125, "t": t0 + i})) for i in range(n_before + messages_full)]
    expected = {(SITE, "hovedmaaler", "energy_import_wh", (t0 + i) * 1000): (1000 + i * 0.125) * 1000
                for i in range(len(items))}
    meter = CountingMeter()

    def mqtt_stored() -> int:
        return sum(1 for (s, d, c, _), _ in influx_rows(influxd, db, ("electricity",)) if d == "hovedmaaler")

    def modbus_since(t_ms: int) -> int:
        return sum(1 for (s, d, c, ts), _ in influx_rows(influxd, db, ("electricity",)) if d == "sund" and ts > t_ms)

    # Mosquitto keeps at most 1000 messages per offline client by default and drops the rest (collector/mqtt/
    # README.md: size it for the longest outage); the messages refused here wait at the broker.
    with running_broker(workdir / "broker", global_extra="max_queued_messages 0") as broker, \
            DevicesInThread(meter):
        daemon = DaemonProcess(write_config(workdir, broker.port, protocol, client_id="energimon-diskfull",
                                            store=store, extra=device_toml(counting_device(meter.port))))
        try:
            daemon.start()
            wait_for(lambda: daemon.count("subscribed to") >= 1, 20, "the daemon to connect and subscribe")
            pub = StreamPublisher(broker.port, items[:n_before], 0.002, "diskfull-publisher").start()
            assert pub.finish() == 0
            wait_for(lambda: mqtt_stored() >= n_before and modbus_since(0) >= 2, 20, "readings flowing")
            # InfluxDB stalls, so the writer holds a batch when the disk fills up: it will be written, not acked
            influxd.pause()
            try:
                wait_for(lambda: daemon.count("store unavailable") >= 1, 15, "the writer to notice the stall")
                _, hard = resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE)
                resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (4096, hard))  # the disk is full
            finally:
                influxd.resume()
            pub = StreamPublisher(broker.port, items[n_before:], 0.002, "diskfull-publisher").start()
            assert pub.finish() == 0  # the broker has them all: produced
            wait_for(lambda: daemon.count("stays in the spool and goes out again") >= 1, 15,
                     lambda: f"the writer's ack to fail\n{daemon.text()[-3000:]}")
            time.sleep(full_s)
            # space freed
            resource.prlimit(daemon.pid, resource.RLIMIT_FSIZE, (hard, hard))
            room_ms = int(time.time() * 1000)
            wait_for(lambda: mqtt_stored() >= len(items), 30,
                     lambda: f"{len(items)} MQTT readings ({mqtt_stored()} stored)\n{daemon.text()[-3000:]}", 0.1)
            wait_for(lambda: modbus_since(room_ms) >= 2, 10,
                     lambda: f"Modbus polls after the disk had room again\n{daemon.text()[-3000:]}", 0.1)
            assert daemon.terminate() == 0  # SIGTERM flushes the spool: anything extra is in the store now
        finally:
            daemon.cleanup()
    rows = [r for r in influx_rows(influxd, db, ("electricity",)) if r[0][1] == "hovedmaaler"]
    return DiskOutcome(tally("spool disk full (RLIMIT_FSIZE, mqtt)", expected, rows), modbus_since(room_ms),
                       daemon.text())


@pytest.mark.slow
def test_disk_full_under_the_spool_refuses_says_why_and_resumes_when_there_is_room(tmp_path, influxd, fault_table):
    out = run_spool_disk_full(tmp_path, influxd)
    t = fault_table.add(out.tally)
    assert_exact(t)  # refused MQTT messages waited at the broker: all of them landed once
    assert out.modbus_after_room >= 2  # the Modbus poller outlived the write errors
    # the cause is named (EFBIG: SQLite says "disk I/O error"; a full disk: "database or disk is full")
    assert "cannot be written (disk I/O error" in out.log, out.log[-3000:]
    assert "5 new readings refused from modbus:soro-raadhus/sund" in out.log  # a poll skipped, and said so
    assert "not acknowledging" in out.log  # MQTT: back-pressure, the messages wait at the broker
    # the writer: InfluxDB took a batch the spool could not forget; it went out again (and is stored once)
    assert "the batch the store took stays in the spool and goes out again" in out.log
    assert "Traceback" not in out.log
