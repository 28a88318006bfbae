"""The M-Bus path for real: the simulated MULTICAL 603 behind a simulated M-Bus/TCP gateway on loopback, read
by the real poller — in the daemon, into the real spool and SQLite store — with the faults a bus has (no
answer, a damaged checksum, a frame cut short, garbage, two meters answering at once), and proof that only
read requests ever go out."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import inspect
import logging
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.net import free_port
from helpers.wait import async_wait_for, wait_for

from energimon.app.daemon import Daemon
from energimon.collector.health import MAX_BACKOFF_S, backoff_s
from energimon.collector.mbus import client as client_module
from energimon.collector.mbus.client import MbusSerialClient, MbusTcpClient
from energimon.collector.mbus.poller import MbusPoller, MeterUnreachable
from energimon.collector.mbus.settings import MbusSerialDevice, MbusTcpDevice
from energimon.collector.simulator.mbus_gateway import MbusGateway, MeterState, SimulatedMultical
from energimon.config.settings import ConfigError, load_settings, settings_from_dict
from energimon.store.sqlite import SqliteStore

SITE = "soro-raadhus"
READS = {"SND_NKE", "REQ_UD2", "SND_UD select"}

# The state of test_mbus_frames.MULTICAL_603 (the hand-computed frame) and the values it must give.
HAND_STATE = dict(energy_kwh=123456, volume_cm3x10=456789, hours=8760, t1_centi_c=7000, t2_centi_c=4050,
                  power_hw=456, flow_l_h=1234, info=0, clock=dt.datetime(2026, 12, 7, 10, 30), max_power_hw=600,
                  target_energy_kwh=120000, target_volume_cm3x10=440000, target_date=dt.date(2025, 12, 31),
                  error_hours=5)
HAND_VALUES = {"heat_energy_wh": 123_456_000.0, "volume_m3": 4567.89, "operating_time_h": 8760.0,
               "supply_temp_c": 70.0, "return_temp_c": 40.5, "heat_power_w": 45_600.0, "flow_m3_h": 1.234,
               "info_code": 0.0, "meter_status": 0.0}


def only_reads(gw: MbusGateway) -> None:
    kinds = {re.sub(r" to \d+$", "", r) for r in gw.requests}
    assert kinds and kinds <= READS, gw.requests
    assert gw.writes == []


def device(port: int, **kw) -> MbusTcpDevice:
    base = dict(protocol="mbus_tcp", site=SITE, id="fjernvarme", host="127.0.0.1", port=port, address=1,
                interval_s=1, timeout_s=0.2)
    base.update(kw)
    if "secondary_address" in kw:
        base.pop("address")
    return MbusTcpDevice(**base)


async def collect(out: list, readings, source) -> bool:
    out.extend(readings)
    return True


def test_daemon_reads_primary_and_secondary_meters_into_the_store(tmp_path):
    """Two meters on one gateway (shared connection): one by primary address with the hand-computed state,
    one by secondary address; plus a gateway nobody listens on.  Real daemon, spool and store."""
    other = MeterState(energy_kwh=777, volume_cm3x10=1500, hours=10, t1_centi_c=6500, t2_centi_c=3500,
                       power_hw=20, flow_l_h=500, info=0x100)

    async def scenario():
        async with MbusGateway([SimulatedMultical(address=1, ident="12345678", frozen=MeterState(**HAND_STATE)),
                                SimulatedMultical(address=2, ident="87654321", frozen=other)]) as gw:
            settings = settings_from_dict({
                "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
                "store": {"path": str(tmp_path / "store.db")}, "spool": {"path": str(tmp_path / "spool.db")},
                "devices": [
                    device(gw.port).model_dump(mode="json"),
                    device(gw.port, id="varme-2", secondary_address="87654321", manufacturer="KAM",
                           interval_s=1).model_dump(mode="json"),
                    device(free_port(), id="ingen").model_dump(mode="json"),
                ]})
            daemon = Daemon(settings)
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            polls = {p.device.id: p for p in daemon.pollers}
            await async_wait_for(lambda: daemon.writer.written > 0 and polls["fjernvarme"].health.online
                                 and polls["varme-2"].health.online and polls["ingen"].health.polls >= 1
                                 and daemon.spool.backlog() == 0, 30, "both meters read and written", 0.1)
            daemon.request_stop()
            assert await asyncio.wait_for(runner, 15) == 0
            return gw, daemon

    gw, daemon = asyncio.run(scenario())
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        latest = store.latest()
    finally:
        store.close()
    got = {(r.device, r.channel): (r.value, r.role) for r in latest.itertuples()}
    for ch, v in HAND_VALUES.items():
        assert got[("fjernvarme", ch)] == (v, "heat"), ch
    assert got[("fjernvarme", "device_online")][0] == 1.0 and got[("fjernvarme", "fields_missing")][0] == 0.0
    assert got[("fjernvarme", "serial_changes")][0] == 0.0
    assert got[("varme-2", "heat_energy_wh")][0] == 777_000.0 and got[("varme-2", "volume_m3")][0] == 15.0
    assert got[("varme-2", "info_code")][0] == 256.0  # Kamstrup bit 8: flow sensor V1 weak signal or air
    assert got[("ingen", "device_online")][0] == 0.0 and ("ingen", "heat_energy_wh") not in got
    only_reads(gw)
    assert "SND_UD select to 253" in gw.requests  # the secondary address was selected, then read at 253
    # the identification, for `energimon status`
    from energimon.collector.modbus.status import device_identity_lines

    lines = "\n".join(device_identity_lines(daemon.settings))
    assert "fjernvarme: KAM heat (outlet), serial 12345678, version 53 (mbus" in lines
    assert "varme-2: KAM heat (outlet), serial 87654321" in lines


@pytest.mark.parametrize(("fault", "kind", "words"), [
    ("silent", "timeout", "REQ_UD2 to 1: no answer within 0.2 s"),
    ("bad_checksum", "bad_checksum", "checksum"),
    ("truncated", "truncated", "truncated answer: 30 of 104 bytes"),
    ("garbage", "garbage", "garbage: 00 3f 7e c3"),
])
def test_each_fault_is_named_and_counted(fault, kind, words):
    async def scenario():
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE), ident="12345678",
                                                  fault=fault)]) as gw:
            poller = MbusPoller(device(gw.port, retries=1), lambda r, s: collect([], r, s))
            with pytest.raises(MeterUnreachable) as err:
                await poller.poll_once()
            gw.meters[0].fault = None  # repaired: the next poll reads again (on a fresh connection)
            values = {r.channel: r.value for r in await poller.poll_once()}
            return gw, poller, str(err.value), values

    gw, poller, message, values = asyncio.run(scenario())
    assert words in message
    assert poller.health.errors[kind] == 2  # the request and its one retry
    assert values == HAND_VALUES
    only_reads(gw)


def test_a_garbled_answer_is_retried_within_the_poll():
    async def scenario():
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE), fault="garbage",
                                                  fault_count=1)]) as gw:
            poller = MbusPoller(device(gw.port), lambda r, s: collect([], r, s))
            readings = await poller.poll_once()
            return gw, poller, readings

    gw, poller, readings = asyncio.run(scenario())
    assert {r.channel: r.value for r in readings} == HAND_VALUES
    assert poller.health.errors == {"garbage": 1}
    assert gw.requests == ["SND_NKE to 1", "SND_NKE to 1", "REQ_UD2 to 1"]


def test_two_meters_on_one_address_collide_and_it_is_said():
    async def scenario():
        async with MbusGateway([SimulatedMultical(address=1, ident="12345678", frozen=MeterState(**HAND_STATE)),
                                SimulatedMultical(address=1, ident="87654321", frozen=MeterState())]) as gw:
            poller = MbusPoller(device(gw.port, retries=0), lambda r, s: collect([], r, s))
            with pytest.raises(MeterUnreachable) as err:
                await poller.poll_once()
            return gw, str(err.value)

    gw, message = asyncio.run(scenario())
    # both acknowledge SND_NKE alike (E5 AND E5 = E5); their RSP_UDs AND-ed on the wire break the checksum
    assert "checksum" in message and "two meters answering at once" in message
    only_reads(gw)


def test_a_swapped_meter_is_logged_once_and_counted(caplog):
    async def scenario():
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE), ident="12345678")]) as gw:
            poller = MbusPoller(device(gw.port), lambda r, s: collect([], r, s))
            await poller.poll_once()
            gw.meters[0].ident = "12349999"
            await poller.poll_once()
            await poller.poll_once()
            return poller

    with caplog.at_level(logging.INFO, logger="energimon.collector.mbus"):
        poller = asyncio.run(scenario())
    health = {r.channel: r.value for r in poller.health_readings(1_800_000_000_000, with_identity=True)}
    assert health["serial_changes"] == 1.0
    swaps = [r for r in caplog.records if "identification number changed" in r.getMessage()]
    assert len(swaps) == 1 and (swaps[0].site, swaps[0].device) == (SITE, "fjernvarme")
    assert "from 12345678 to 12349999" in swaps[0].getMessage()


def test_the_loop_logs_an_outage_once_and_the_recovery_once(caplog):
    """Two unanswered polls, then answered ones: one WARNING naming the meter and what was wrong, one INFO.
    (An interval of 0.25 s, below what a configuration may say, keeps the back-off short.)"""
    async def scenario():
        out: list = []
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE), fault="silent")]) as gw:
            poller = MbusPoller(device(gw.port, retries=0, timeout_s=0.1), lambda r, s: collect(out, r, s))
            poller.device = poller.device.model_copy(update={"interval_s": 0.25})
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await async_wait_for(lambda: [r.value for r in out if r.channel == "device_online"] == [0.0, 0.0], 20,
                                 "two failed polls", 0.02)
            gw.meters[0].fault = None
            await async_wait_for(lambda: poller.health.online and sum(r.channel == "heat_energy_wh" for r in out) >= 2,
                                 30, "two answered polls", 0.05)
            stop.set()
            await asyncio.wait_for(task, 5)
            return out

    with caplog.at_level(logging.INFO, logger="energimon.collector.mbus"):
        out = asyncio.run(scenario())
    lines = [r for r in caplog.records if r.name == "energimon.collector.mbus"]
    offline = [r for r in lines if "meter offline" in r.getMessage()]
    online = [r for r in lines if "meter online" in r.getMessage()]
    assert len(offline) == 1 and len(online) == 1
    assert offline[0].levelno == logging.WARNING and (offline[0].site, offline[0].device) == (SITE, "fjernvarme")
    assert "primary address 1" in offline[0].getMessage() and "no answer within 0.1 s" in offline[0].getMessage()
    onl = [r.value for r in out if r.channel == "device_online"]
    assert onl[:2] == [0.0, 0.0] and onl[-1] == 1.0
    assert [r.value for r in out if r.channel == "poll_errors"][-1] >= 2  # SND_NKE unanswered, REQ_UD2 timed out


def test_an_unexpected_error_is_logged_with_its_traceback_and_polling_goes_on(caplog):
    """A bug while reading an answer (here the first answer's handling raises) must not end the meter's polling:
    one ERROR naming it, its traceback at DEBUG, counted as ``internal``, and the next poll reads the meter.
    (Before the fix the DEBUG line itself raised a TypeError — the poller's log helper took no ``exc_info`` —
    and the polling task ended.)"""
    class FirstAnswerBreaks(MbusPoller):
        broken = 1

        async def _readings(self, telegrams):
            if self.broken:
                self.broken -= 1
                raise ZeroDivisionError("a decoder bug")
            return await super()._readings(telegrams)

    async def scenario():
        out: list = []
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE), ident="12345678")]) as gw:
            poller = FirstAnswerBreaks(device(gw.port), lambda r, s: collect(out, r, s))
            poller.device = poller.device.model_copy(update={"interval_s": 0.25})
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await async_wait_for(lambda: task.done() or any(r.channel == "heat_energy_wh" for r in out), 20,
                                 "a reading after the failed poll", 0.02)
            stop.set()
            await asyncio.wait_for(task, 5)  # raises what ended the loop, if anything did
            return poller, out

    with caplog.at_level(logging.DEBUG, logger="energimon.collector.mbus"):
        poller, out = asyncio.run(scenario())
    lines = [r for r in caplog.records if r.name == "energimon.collector.mbus"]
    errors = [r for r in lines if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "ZeroDivisionError: a decoder bug" in errors[0].getMessage()
    assert (errors[0].site, errors[0].device) == (SITE, "fjernvarme")
    tracebacks = [r for r in lines if r.getMessage() == "traceback"]
    assert len(tracebacks) == 1 and tracebacks[0].levelno == logging.DEBUG
    assert tracebacks[0].exc_info is not None and tracebacks[0].exc_info[0] is ZeroDivisionError
    assert poller.health.errors["internal"] == 1
    assert {r.channel: r.value for r in out if r.channel in HAND_VALUES} == HAND_VALUES


def test_back_off_doubles_up_to_five_minutes():
    assert [backoff_s(10, n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff_s(60, 10) == MAX_BACKOFF_S == 300


def test_the_client_can_only_send_the_three_read_requests():
    """Both transports (TCP to a gateway, a serial port) share one request set: neither has a public method
    beyond reading, and every byte either puts on the wire was built by snd_nke, req_ud2 or select_secondary."""
    for transport in (MbusTcpClient, MbusSerialClient):
        public = {n for n in dir(transport) if not n.startswith("_")}
        assert public == {"connect", "close", "connected", "initialise", "select", "read"}, transport
        assert not any(re.search(r"write|send|raw|set_|reset_", n) for n in public)
    tree = ast.parse(inspect.getsource(client_module))
    exchanged = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "_exchange"]
    builders = {n.args[0].func.id for n in exchanged}
    assert builders == {"snd_nke", "req_ud2", "select_secondary"}

    def used_in(name: str) -> dict[str, list[str]]:
        """function -> the calls naming ``name`` (called, as a method or plainly, or passed to a call), for every
        function of the module"""
        found: dict[str, list[str]] = {}
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for n in ast.walk(fn):
                    if isinstance(n, ast.Call) and any(
                            name in (getattr(x, "attr", None), getattr(x, "id", None)) for x in (n.func, *n.args)):
                        found.setdefault(fn.name, []).append(ast.unparse(n))
        return found

    # the only writes: the TCP transport's _transmit and the serial one's _flush_and_write, each of the request
    assert used_in("write") == {"_transmit": ["rx.transport.write(request)"],
                                "_flush_and_write": ["port.write(request)"]}
    # … which only _transmit calls (in a thread), which only _exchange calls (with the request built above)
    assert used_in("_flush_and_write") == {"_transmit": ["asyncio.to_thread(_flush_and_write, port, request)"]}
    assert used_in("_transmit") == {"_exchange": ["self._transmit(request)"]}
    # and the only SND_UD the frames module builds is the select (CI 52h)
    from energimon.collector.mbus import frames

    src = inspect.getsource(frames)
    assert src.count("_long(") == 2 and "_long(C_SND_UD | FCB, ADDRESS_NETWORK_LAYER, CI_SELECT" in src


def test_mbus_devices_in_the_config_file_with_line_numbers(tmp_path):
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""
[sites.{SITE}]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56

[[devices]]
protocol = "mbus_tcp"
site = "{SITE}"
id = "fjernvarme"
host = "10.20.0.15"
port = 10001
address = 1

[[devices]]
protocol = "mbus_tcp"
site = "{SITE}"
id = "varme-2"
host = "10.20.0.15"
port = 10001
address = 251

[[devices]]
protocol = "mbus"
site = "{SITE}"
id = "varme-3"
host = "10.20.0.15"
port = 10001
secondary_address = "6702000"
""", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    text = str(err.value)
    assert "line 21: devices[1] (id 'varme-2').address: Input should be less than or equal to 250" in text
    assert "line 23: devices[2] (id 'varme-3'): unknown protocol 'mbus'; expected 'modbus_tcp', 'mbus_tcp' or " \
           "'mbus_serial' (did you mean 'mbus_tcp'?)" in text
    fixed = cfg.read_text(encoding="utf-8").replace("address = 251", 'secondary_address = "67020000"\n'
                                                    'manufacturer = "KAM"').replace('"mbus"', '"mbus_tcp"')
    cfg.write_text(fixed, encoding="utf-8")
    with pytest.raises(ConfigError, match="secondary address '6702000' is not 8 digits"):
        load_settings(cfg)
    cfg.write_text(fixed.replace('"6702000"', '"67020001"'), encoding="utf-8")
    devices = load_settings(cfg).devices
    assert [(d.id, d.role.value, d.where) for d in devices] == [
        ("fjernvarme", "heat", "primary address 1"), ("varme-2", "heat", "secondary address 67020000 KAM"),
        ("varme-3", "heat", "secondary address 67020001")]


def test_demo_config_reads_the_town_halls_heat_meter_over_mbus(tmp_path):
    from energimon.app.demo import write_demo_config
    from energimon.collector.simulator.modbus_server import MeterSimulator

    gw = MbusGateway()
    gw.port = 10001  # not started: only the config is written
    settings = load_settings(write_demo_config(tmp_path, MeterSimulator(with_pv=True), 5, mbus=gw))
    heat = [d for d in settings.devices if d.id == "fjernvarme"]
    assert [(d.site, d.protocol, d.port, d.address) for d in heat] == [(SITE, "mbus_tcp", 10001, 1)]


def test_energimon_simulate_serves_the_mbus_gateway(tmp_path):
    port = free_port()
    # stderr into the same pipe, drained by the reader: an unread stderr pipe can fill and stall the simulator
    # before it prints its ports, and a failure then shows its log and traceback
    proc = subprocess.Popen([sys.executable, "-m", "energimon", "simulate", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        import threading

        threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
        wait_for(lambda: any("Ctrl-C" in x for x in list(lines)), 60, lambda: f"the simulator's ports: {lines}")
        line = next(x for x in lines if "på M-Bus" in x)  # Danish, the default language
        mbus_port = int(re.search(r"gateway på 127\.0\.0\.1:(\d+)", line).group(1))
        assert "Kamstrup MULTICAL 603, primær adresse 1" in line and "Ctrl-C stopper simulatoren.\n" in lines

        serial_line = next(x for x in lines if "seriel M-Bus-port" in x)
        pty = re.search(r"--serial (\S+) --address 1", serial_line).group(1)

        async def read(dev):
            poller = MbusPoller(dev, lambda r, s: collect([], r, s))
            try:
                return {r.channel: r.value for r in await poller.poll_once()}
            finally:
                poller.conn.reset()

        values = asyncio.run(read(device(mbus_port, timeout_s=2)))
        serial_values = asyncio.run(read(MbusSerialDevice(protocol="mbus_serial", site=SITE, id="fjernvarme",
                                                          port=pty, address=1, timeout_s=2)))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    for v in (values, serial_values):
        assert v["heat_energy_wh"] > 250_000_000 and v["supply_temp_c"] == 70.0
        assert v["return_temp_c"] < v["supply_temp_c"] and v["flow_m3_h"] > 0


def test_mbus_probe_shows_each_channel_with_its_unit_and_sends_only_reads():
    """`energimon mbus-probe` on the hand-computed meter: the stored units (Wh, m3, m3/h, degC), what the meter
    counts in, and the heat energy in kWh, MWh and GJ; then a meter that is not there, one line, exit 1.
    (A subprocess, as the user runs it: the command sets up logging for its own process.)"""

    async def probe(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "energimon", "mbus-probe", *args,
                                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    async def scenario():
        async with MbusGateway([SimulatedMultical(frozen=MeterState(**HAND_STATE))]) as gw:
            here = f"127.0.0.1:{gw.port}"
            ok, out, _ = await probe(here, "--address", "1", "--records")
            ok_en, out_en, _ = await probe("--lang", "en", here, "--address", "1")
            missing, _, err = await probe(here, "--address", "9", "--timeout", "0.2", "--retries", "0")
            return gw, ok, out, missing, err, ok_en, out_en

    gw, ok, out, missing, err, ok_en, out_en = asyncio.run(scenario())
    assert ok == 0 and ok_en == 0
    # English with --lang en: ',' groups thousands, '.' is the decimal point
    assert "heat energy: 123,456 kWh = 123.456 MWh = 444.4416 GJ" in out_en
    assert "KAM heat (outlet), identification number 65432101, version 53; status ok" in out_en
    assert "info code 0: no error" in out_en and "channel" in out_en.splitlines()[1]
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:12] if line.startswith("  ")}
    # Danish by default: '.' groups thousands, ',' is the decimal comma (the meter's resolution column is the
    # data sheet's own text)
    assert rows["heat_energy_wh"] == ["123.456.000", "Wh", "kWh"]  # 123 456 kWh (VIF 06h)
    assert rows["volume_m3"] == ["4.567,89", "m3", "0.01", "m³"]  # 456 789 × 0.01 m³ (VIF 14h)
    assert rows["flow_m3_h"] == ["1,234", "m3/h", "0.001", "m³/h"]  # 1234 l/h (VIF 3Bh)
    assert rows["heat_power_w"] == ["45.600", "W", "0.1", "kW"]  # 456 × 0.1 kW (VIF 2Dh)
    assert rows["supply_temp_c"] == ["70", "degC", "0.01", "°C"] and rows["return_temp_c"][:2] == ["40,5", "degC"]
    # 123 456 kWh = 123.456 MWh; × 3.6 MJ/kWh = 444 441.6 MJ = 444.4416 GJ
    assert "varmeenergi: 123.456 kWh = 123,456 MWh = 444,4416 GJ" in out
    assert "KAM heat (outlet), identifikationsnummer 65432101, version 53; status ok" in out
    assert "infokode 0: no error" in out and "44 06 energy: 120000000 Wh (storage 1)" in out
    assert "kanal" in out.splitlines()[1] and "måleren tæller i" in out.splitlines()[1]
    assert missing == 1
    assert err.strip() == (f"energimon mbus-probe: 127.0.0.1:{gw.port} primary address 9: REQ_UD2 to 9: no answer "
                           "within 0.2 s")
    only_reads(gw)


def test_heating_model_counters_continue_across_restarts():
    """The simulated meter's counters are a function of time, so a demo restarted later goes on, never back."""
    from energimon.collector.simulator.buildings import HeatingModel
    from energimon.collector.simulator.mbus_gateway import live_state

    h = HeatingModel()
    t0 = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC).timestamp()
    a, b = live_state(h, t0), live_state(h, t0 + 3 * 3600)
    # three hours at about heat_w: UA·(17 - T) + hot water, within the meter's 1-kWh resolution
    expected_kwh = sum(h.heat_w(t0 + s) for s in range(0, 3 * 3600, 60)) / 60 / 1000
    assert b.energy_kwh - a.energy_kwh == pytest.approx(expected_kwh, abs=1.5)
    assert b.hours - a.hours == 3 and b.volume_cm3x10 > a.volume_cm3x10


def test_sample_config_loads(tmp_path):
    sample = (Path(__file__).resolve().parents[1] / "collector" / "mbus" / "sample.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'[sites.{SITE}]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.56\n\n{sample}',
                   encoding="utf-8")
    devices = load_settings(cfg).devices
    assert [(d.protocol, d.bus, d.where) for d in devices] == [
        ("mbus_tcp", "10.20.0.15:10001", "primary address 1"),
        ("mbus_tcp", "10.20.0.15:10001", "secondary address 67020000 KAM"),
        ("mbus_serial", "/dev/ttyUSB0", "primary address 1")]
