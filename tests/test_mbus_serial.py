"""M-Bus over a serial port: the simulated MULTICAL 603 on a bus behind a real pseudo-terminal (os.openpty), the
collector opening its ``/dev/pts/N`` as it would a USB M-Bus master's ``/dev/ttyUSB0`` — real bytes through the
kernel's tty layer, read by the real serial client (pyserial) and poller, in the daemon into the real store; the
faults a bus has; the settings; ``energimon mbus-probe --serial``; and proof that only read requests go out."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import subprocess
import sys
import termios

import pytest
from helpers.wait import async_wait_for

from energimon.app.daemon import Daemon
from energimon.collector.mbus.client import MbusSerialClient
from energimon.collector.mbus.poller import MbusPoller, MeterUnreachable
from energimon.collector.mbus.settings import MbusSerialDevice
from energimon.collector.simulator.mbus_gateway import MbusSerialBus, MeterState, SimulatedMultical
from energimon.config.settings import ConfigError, load_settings, settings_from_dict
from energimon.store.sqlite import SqliteStore

SITE = "soro-raadhus"
READS = {"SND_NKE", "REQ_UD2", "SND_UD select"}

# A MULTICAL 603 as its display would show it, in the integers it sends (collector/simulator/mbus_gateway.py
# encodes them with the DIF/VIF pairs of the meter's datagram); info 258 = bits 1 and 8 (2 + 256).
STATE = dict(energy_kwh=927_852, volume_cm3x10=4_014_513, hours=37_709, t1_centi_c=7_000, t2_centi_c=5_205,
             power_hw=424, flow_l_h=2_031, info=258, clock=dt.datetime(2026, 12, 7, 16, 0), max_power_hw=600,
             target_energy_kwh=900_000, target_volume_cm3x10=3_900_000, target_date=dt.date(2025, 12, 31),
             error_hours=0)
# By hand, EN 13757-3 VIF scaling:
VALUES = {
    "heat_energy_wh": 927_852_000.0,  # 04 06: 927 852 × 10³ Wh (kWh)
    "volume_m3": 40_145.13,  # 04 14: 4 014 513 × 10⁻² m³
    "operating_time_h": 37_709.0,  # 04 22: hours
    "supply_temp_c": 70.0,  # 02 59: 7 000 × 10⁻² °C
    "return_temp_c": 52.05,  # 02 5D: 5 205 × 10⁻² °C
    "heat_power_w": 42_400.0,  # 04 2D: 424 × 10² W (0.1 kW)
    "flow_m3_h": 2.031,  # 04 3B: 2 031 × 10⁻³ m³/h (l/h)
    "info_code": 258.0,  # 04 FF 22: Kamstrup's info code, as sent
    "meter_status": 0.0,  # the header's status byte
}
FRAME_BYTES = 104  # 68 L L 68 (4) + C A CI (3) + header (12) + records (83) + CS 16 (2); L = 98


def only_reads(bus: MbusSerialBus) -> None:
    kinds = {re.sub(r" to \d+$", "", r) for r in bus.requests}
    assert kinds and kinds <= READS, bus.requests
    assert bus.writes == []


def meter(**kw) -> SimulatedMultical:
    return SimulatedMultical(address=1, ident="65432101", frozen=MeterState(**STATE), **kw)


def device(port: str, **kw) -> MbusSerialDevice:
    base = dict(protocol="mbus_serial", site=SITE, id="fjernvarme", port=port, address=1, interval_s=1,
                timeout_s=0.2)
    base.update(kw)
    return MbusSerialDevice(**base)


async def collect(out: list, readings, source) -> bool:
    out.extend(readings)
    return True


def test_a_multical_603_is_read_over_a_serial_port_at_the_lines_speed():
    """Answers paced at 9600 baud (11 bit times a byte: 104 bytes take 0.12 s) arrive in pieces; the client
    puts the frame together from its M-Bus header, and every value comes out as computed by hand."""
    with MbusSerialBus([meter()], baudrate=9600) as bus:
        async def scenario():
            poller = MbusPoller(device(bus.port, baudrate=9600, timeout_s=1.0), lambda r, s: collect([], r, s))
            try:
                return await poller.poll_once(), poller
            finally:
                poller.conn.reset()

        readings, poller = asyncio.run(scenario())
    assert {r.channel: r.value for r in readings} == VALUES
    assert {(r.site, r.device, r.role) for r in readings} == {(SITE, "fjernvarme", "heat")}
    assert len(poller.last_telegrams[0].records) == 15  # every record the MULTICAL sends, decoded
    # the bytes on the line: SND_NKE 10 40 01 41 16 (40h + 01h = 41h), REQ_UD2 10 7B 01 7C 16 (7Bh + 01h = 7Ch)
    assert bus.received == [bytes.fromhex("1040014116"), bytes.fromhex("107B017C16")]
    assert poller.identity.record is not None and poller.identity.record.info["serial"] == "65432101"
    only_reads(bus)


def test_the_port_is_set_up_as_en_13757_2_says_2400_baud_8e1():
    """The settings reach the port: pyserial's set-up 2400 baud, 8 data bits, even parity, one stop bit, and
    the tty's own termios as the request arrived on the line: the speed, 8 bits, raw.  (Linux's pty driver
    forces CS8 and drops the parity bit whatever is asked, so the parity can only be read back from pyserial.)"""
    with MbusSerialBus([meter()]) as bus:
        async def scenario():
            client = MbusSerialClient(bus.port, 2400, "even", 0.5)
            try:
                assert await client.initialise(1)  # E5 from the meter
                port = client._serial
                return port.baudrate, port.bytesize, port.parity, port.stopbits, port.exclusive
            finally:
                client.close()

        serial_setup = asyncio.run(scenario())
    assert serial_setup == (2400, 8, "E", 1, True)
    [(_, _, cflag, lflag, ispeed, ospeed, _)] = bus.line
    assert (ispeed, ospeed) == (termios.B2400, termios.B2400)
    assert cflag & termios.CSIZE == termios.CS8 and not cflag & termios.CSTOPB  # 8 data bits, one stop bit
    assert not lflag & (termios.ICANON | termios.ECHO)  # raw: no line editing, no echo of the answer
    only_reads(bus)


def test_a_silent_meter_is_a_timeout_naming_port_and_address_and_the_poller_goes_on(caplog):
    """Nothing on the line: one WARNING naming site, device, the serial port and the address, device_online 0,
    and the loop keeps polling until the meter answers again (one INFO).  (An interval of 0.25 s, below what a
    configuration may say, keeps the back-off short.)"""
    with MbusSerialBus([meter(fault="silent")]) as bus:
        async def scenario():
            out: list = []
            poller = MbusPoller(device(bus.port, retries=0, timeout_s=0.1), lambda r, s: collect(out, r, s))
            poller.device = poller.device.model_copy(update={"interval_s": 0.25})
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await async_wait_for(lambda: [r.value for r in out if r.channel == "device_online"] == [0.0, 0.0], 20,
                                 "two failed polls", 0.02)
            bus.meters[0].fault = None
            await async_wait_for(lambda: poller.health.online and any(r.channel == "heat_energy_wh" for r in out),
                                 30, "an answered poll", 0.05)
            stop.set()
            await asyncio.wait_for(task, 5)
            return out, poller

        with caplog.at_level(logging.INFO, logger="energimon.collector.mbus"):
            out, poller = asyncio.run(scenario())
    lines = [r for r in caplog.records if r.name == "energimon.collector.mbus"]
    offline = [r for r in lines if "meter offline" in r.getMessage()]
    assert len(offline) == 1 and offline[0].levelno == logging.WARNING
    assert (offline[0].site, offline[0].device) == (SITE, "fjernvarme")
    assert offline[0].getMessage().startswith(f"meter offline at {bus.port} primary address 1: REQ_UD2 to 1: no "
                                              "answer within 0.1 s; retrying in")
    assert len([r for r in lines if "meter online" in r.getMessage()]) == 1
    info = [r for r in lines if "meter info code" in r.getMessage()]
    # Kamstrup info bits 1 and 8, in the data sheet's words
    assert [r.getMessage() for r in info] == ["meter info code 258: low battery, flow sensor V1: weak signal or air"]
    assert {r.channel: r.value for r in out if r.channel in VALUES} == VALUES
    assert poller.health.errors["timeout"] >= 2  # SND_NKE and REQ_UD2 of the first poll unanswered
    only_reads(bus)


@pytest.mark.parametrize(("fault", "kind", "words"), [
    # the RSP_UD with its checksum byte one too high: the bytes still sum to what the meter computed
    ("bad_checksum", "bad_checksum", "REQ_UD2 to 1: checksum "),
    # the first 30 bytes of the 104, then silence: a short frame
    ("truncated", "truncated", f"REQ_UD2 to 1: truncated answer: 30 of {FRAME_BYTES} bytes, then nothing for 0.2 s "
                               "(68 62 62 68 08 01 72"),
    # bytes no frame starts with (a collision, a wrong baud rate)
    ("garbage", "garbage", "SND_NKE to 1: garbage: 00 3f 7e c3"),
])
def test_a_garbled_or_short_frame_is_refused_with_its_reason(fault, kind, words):
    with MbusSerialBus([meter(fault=fault)]) as bus:
        async def scenario():
            poller = MbusPoller(device(bus.port, retries=1), lambda r, s: collect([], r, s))
            try:
                with pytest.raises(MeterUnreachable) as err:
                    await poller.poll_once()
                bus.meters[0].fault = None  # repaired: the next poll reads again (on a freshly opened port)
                values = {r.channel: r.value for r in await poller.poll_once()}
            finally:
                poller.conn.reset()
            return poller, str(err.value), values

        poller, message, values = asyncio.run(scenario())
    assert words in message, message
    assert poller.health.errors[kind] == 2  # the request and its one retry
    assert values == VALUES
    only_reads(bus)


def test_a_missing_or_busy_port_is_named(tmp_path):
    """No such port, and a port another program holds (the client opens it exclusively, so a probe cannot
    interleave its requests with the daemon's): each one line naming the port, no retry."""
    missing = str(tmp_path / "ttyUSB9")
    with MbusSerialBus([meter()]) as bus:
        async def scenario():
            messages = []
            for port in (missing, bus.port):
                poller = MbusPoller(device(port), lambda r, s: collect([], r, s))
                with pytest.raises(MeterUnreachable) as err:
                    await poller.poll_once()
                messages.append((str(err.value), poller.health.errors))
            return messages

        holder = MbusSerialClient(bus.port, 2400, "even", 0.5)
        try:
            asyncio.run(holder.connect())
            (gone, gone_errors), (busy, busy_errors) = asyncio.run(scenario())
        finally:
            holder.close()
    assert gone == f"cannot open serial port {missing}: No such file or directory"
    assert busy == f"cannot open serial port {bus.port}: in use by another program (the daemon, or another mbus-probe?)"
    assert gone_errors == busy_errors == {"unreachable": 1}  # no retry: the port itself cannot be had
    assert bus.received == []  # nothing reached the line


def test_the_daemon_reads_a_serial_meter_into_the_store(tmp_path):
    with MbusSerialBus([meter()]) as bus:
        async def scenario():
            settings = settings_from_dict({
                "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
                "store": {"path": str(tmp_path / "store.db")}, "spool": {"path": str(tmp_path / "spool.db")},
                "devices": [device(bus.port).model_dump(mode="json")]})
            daemon = Daemon(settings)
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            poller = daemon.pollers[0]
            await async_wait_for(lambda: daemon.writer.written > 0 and poller.health.online
                                 and daemon.spool.backlog() == 0, 30, "the meter read and written", 0.1)
            daemon.request_stop()
            assert await asyncio.wait_for(runner, 15) == 0

        asyncio.run(scenario())
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        latest = store.latest()
    finally:
        store.close()
    got = {r.channel: r.value for r in latest.itertuples() if r.device == "fjernvarme"}
    assert {ch: got[ch] for ch in VALUES} == VALUES
    assert got["device_online"] == 1.0
    only_reads(bus)


def test_serial_settings_errors_name_the_key(tmp_path):
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""
[sites.{SITE}]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56

[[devices]]
protocol = "mbus_serial"
site = "{SITE}"
id = "fjernvarme"
address = 1

[[devices]]
protocol = "mbus_serial"
site = "{SITE}"
id = "varme-2"
port = "/dev/ttyUSB0"
baudrate = 2401
address = 2

[[devices]]
protocol = "mbus_seriel"
site = "{SITE}"
id = "varme-3"
port = "/dev/ttyUSB0"
address = 3
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = str(err.value)
    assert "line 7: devices[0] (id 'fjernvarme').port: required key is missing" in text
    assert ("line 18: devices[1] (id 'varme-2').baudrate: Input should be 300, 600, 1200, 2400, 4800, 9600, 19200 "
            "or 38400 (got 2401)") in text
    assert ("line 21: devices[2] (id 'varme-3'): unknown protocol 'mbus_seriel'; expected 'modbus_tcp', 'mbus_tcp' "
            "or 'mbus_serial' (did you mean 'mbus_serial'?)") in text
    assert "3 problem(s)" in text  # and nothing about the TCP device's fields (a port number) for varme-3
    # fixed, but two meters with one address on one port, and one port opened at two speeds
    text = cfg.read_text(encoding="utf-8")
    fixed = (text.replace('id = "fjernvarme"\n', 'id = "fjernvarme"\nport = "/dev/ttyUSB0"\n')
             .replace("baudrate = 2401", "baudrate = 9600").replace("mbus_seriel", "mbus_serial")
             .replace("address = 3", "address = 1"))
    cfg.write_text(fixed, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = str(err.value)
    assert ("devices[1] (id 'varme-2').baudrate: /dev/ttyUSB0 is opened at 2400 baud, parity even for "
            f"{SITE}/fjernvarme: meters on one serial port share its settings") in text
    assert f"devices[2] (id 'varme-3').address: /dev/ttyUSB0 primary address 1 is already used by {SITE}/fjernvarme" \
           in text
    cfg.write_text(fixed.replace("baudrate = 9600", "baudrate = 2400").replace("address = 1\n\n", "address = 4\n\n")
                   .rstrip().removesuffix("address = 1") + "address = 3\n", encoding="utf-8")
    devices = load_settings(cfg).devices
    assert [(d.protocol, d.bus, d.where, d.baudrate, d.parity) for d in devices] == [
        ("mbus_serial", "/dev/ttyUSB0", "primary address 4", 2400, "even"),
        ("mbus_serial", "/dev/ttyUSB0", "primary address 2", 2400, "even"),
        ("mbus_serial", "/dev/ttyUSB0", "primary address 3", 2400, "even")]


def test_mbus_probe_reads_a_serial_port():
    """`energimon mbus-probe --serial` as the user runs it (a subprocess opening the pty by its path); then the
    usage errors, Danish by default."""

    def probe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "energimon", *args], capture_output=True, text=True, timeout=60)

    with MbusSerialBus([meter()]) as bus:
        en = probe("--lang", "en", "mbus-probe", "--serial", bus.port, "--address", "1")
        da = probe("mbus-probe", "--serial", bus.port, "--address", "1", "--baudrate", "2400")
        silent = probe("mbus-probe", "--serial", bus.port, "--address", "9", "--timeout", "0.2", "--retries", "0")
    both = probe("mbus-probe", "127.0.0.1:10001", "--serial", "/dev/ttyUSB0", "--address", "1")
    bad_baud = probe("mbus-probe", "--serial", "/dev/ttyUSB0", "--baudrate", "2401", "--address", "1")
    assert en.returncode == 0 and da.returncode == 0, (en.stderr, da.stderr)
    assert en.stdout.startswith(f"{bus.port} primary address 1: KAM heat (outlet), identification number 65432101")
    # 927 852 kWh = 927.852 MWh; × 3.6 MJ/kWh = 3 340 267.2 MJ = 3 340.2672 GJ
    assert "heat energy: 927,852 kWh = 927.852 MWh = 3,340.2672 GJ" in en.stdout
    assert "info code 258: low battery, flow sensor V1: weak signal or air" in en.stdout
    assert "varmeenergi: 927.852 kWh = 927,852 MWh = 3.340,2672 GJ" in da.stdout
    rows = {line.split()[0]: line.split()[1:] for line in da.stdout.splitlines()[2:12] if line.startswith("  ")}
    assert rows["volume_m3"][:2] == ["40.145,13", "m3"] and rows["return_temp_c"][:2] == ["52,05", "degC"]
    assert silent.returncode == 1
    assert silent.stderr.strip() == (f"energimon mbus-probe: {bus.port} primary address 9: REQ_UD2 to 9: no answer "
                                     "within 0.2 s")
    assert both.returncode == 64 and bad_baud.returncode == 64
    assert "angiv enten HOST:PORT (en M-Bus/TCP-gateway) eller --serial PORT (en seriel M-Bus-master)" in both.stderr
    assert "--baudrate: Input should be 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400" in bad_baud.stderr
    only_reads(bus)
