"""Knowing which device answers: string registers, SunSpec model 1, profile identity registers, serial numbers
that change (logged once, flagged, shown by `status`), and masked sentinels.

Devices are real pymodbus servers on loopback (the simulators' register images); registers in the decoding
tables are written by hand from the vendor documents named in the comments.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sunspec2
from helpers.net import free_port
from helpers.wait import async_wait_for

from energimon.cliutil import set_lang
from energimon.collector.modbus.fields import InfoField, RegisterField
from energimon.collector.modbus.identity import (
    IDENTITY_REFRESH_POLLS,
    DeviceInfoFile,
    device_info_path,
    read_device_info,
)
from energimon.collector.modbus.poller import ModbusPoller
from energimon.collector.modbus.probe import format_info, probe
from energimon.collector.modbus.profiles import ProfileError, build_fields, build_info, load_profile
from energimon.collector.modbus.registers import decode, decode_info, decode_string, encode_info
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.collector.simulator.buildings import SORO_BUILDINGS, MainMeter
from energimon.collector.simulator.modbus_server import SimulatedMeter
from energimon.collector.simulator.profile_images import image_for, serve
from energimon.collector.simulator.sunspec_image import (
    StaticImage,
    SunSpecInverterSim,
    SunSpecSimulator,
    image_from_pysunspec_json,
)
from energimon.config.settings import ConfigError, settings_from_dict

TEST_DATA = Path(sunspec2.__file__).parent / "tests" / "test_data"
T0 = 1_751_716_800.0  # a fixed clock for the simulated inverter (its counters do not move)


@dataclass(frozen=True)
class Site:
    site: str = "soro-raadhus"
    name: str = "Sorø Rådhus"
    pv_kwp: float = 60.0

    def pv_w(self, t_s: float) -> float:
        return 12_000.0

    def net_w(self, t_s: float) -> float:
        return -2_000.0


def device(port: int, dev_id: str = "inverter", profile: str = "sunspec", role: str = "pv") -> ModbusTcpDevice:
    return ModbusTcpDevice(protocol="modbus_tcp", site="soro-raadhus", id=dev_id, role=role, host="127.0.0.1",
                           port=port, profile=profile, interval_s=1, timeout_s=1)


async def keep(readings, source) -> bool:
    return True


# -- the string register type ------------------------------------------------------------------------
@pytest.mark.parametrize(("regs", "order", "expected"), [
    # "SIM-0001": S=0x53 I=0x49 | M=0x4D -=0x2D | 0=0x30 0 | 0 1=0x31 (first character in the high byte)
    ([0x5349, 0x4D2D, 0x3030, 0x3031], "big", "SIM-0001"),
    # odd length, NUL-padded: A B | C NUL | NUL NUL
    ([0x4142, 0x4300, 0x0000], "big", "ABC"),
    # the same text with the first character in the low byte (byte_order = "little")
    ([0x4241, 0x0043], "little", "ABC"),
    # blank padding on both sides is trimmed
    ([0x2020, 0x4B57, 0x2020], "big", "KW"),
    # a NUL inside ends the text: what follows is left-over memory
    ([0x4142, 0x0058, 0x5959], "big", "AB"),
    # all NUL (SunSpec's "not implemented" string) or all blank: no value, not ""
    ([0x0000, 0x0000, 0x0000], "big", None),
    ([0x2020], "big", None),
    # UTF-8 is kept (S, C3 B8 = "ø", r) ...
    ([0x53C3, 0xB872], "big", "Sør"),
    # ... bytes that are not UTF-8 (FF) and control bytes (01) are shown escaped, on one line
    ([0x41FF, 0x0142], "big", "A\\xff\\x01B"),
])
def test_string_registers_decode_trimmed_and_printable(regs, order, expected):
    assert decode_string(regs, order) == expected


# Identity registers written by hand from the vendor documents (independent of the profile's own encoding):
GOLDEN_INFO = {
    # SDM630-Modbus V2 manual: holding FC00h "Serial number", unsigned int32 (high word first):
    # 22000101 = 335 x 65536 + 45541 = 0x014F, 0xB1E5
    "eastron.sdm630": {"serial": ([0x014F, 0xB1E5], "22000101")},
    # EM24-DIN PFA/PFB/X protocol table 2.9-12: 1300h-1306h, letter 1 in the MSB of 1300h, letter 13 in the
    # MSB of 1306h: "1234567890ABC" = 31 32 | 33 34 | 35 36 | 37 38 | 39 30 | 41 42 | 43 00
    "carlo_gavazzi.em24": {"serial": ([0x3132, 0x3334, 0x3536, 0x3738, 0x3930, 0x4142, 0x4300], "1234567890ABC")},
    # iEM3100 series register 130 "Serial Number" UInt32: 4294967 = 65 x 65536 + 35127 = 0x0041, 0x8937
    "schneider.iem3155": {"serial": ([0x0041, 0x8937], "4294967")},
    # Huawei SUN2000 30000 Model STR (15 registers) and 30015 SN STR (10 registers), NUL-padded:
    # "SUN2000-10KTL-M1" = 53 55 | 4E 32 | 30 30 | 30 2D | 31 30 | 4B 54 | 4C 2D | 4D 31 | 7 x 00 00
    "huawei.sun2000": {
        "model": ([0x5355, 0x4E32, 0x3030, 0x302D, 0x3130, 0x4B54, 0x4C2D, 0x4D31] + [0] * 7, "SUN2000-10KTL-M1"),
        # "HV2150012345" = 48 56 | 32 31 | 35 30 | 30 31 | 32 33 | 34 35 | 4 x 00 00
        "serial": ([0x4856, 0x3231, 0x3530, 0x3031, 0x3233, 0x3435, 0, 0, 0, 0], "HV2150012345"),
    },
}


@pytest.mark.parametrize("name", sorted(GOLDEN_INFO))
def test_profile_identity_registers_decode_as_the_vendor_document_says(name):
    fields = {f.key: f for f in load_profile(name).info}
    assert set(fields) == set(GOLDEN_INFO[name])
    for key, (regs, text) in GOLDEN_INFO[name].items():
        assert decode_info(fields[key], regs) == text
        assert encode_info(fields[key], text) == regs  # the simulators write what the device would hold


@pytest.mark.parametrize("name", sorted(GOLDEN_INFO))
def test_probe_reads_the_identity_of_each_profile_from_its_simulated_image(name):
    info = {key: text for key, (_, text) in GOLDEN_INFO[name].items()}

    async def scenario():
        image = image_for(name, {}, info=info)
        async with serve(image.device()) as port:
            return await probe("127.0.0.1", port, 1, name, timeout_s=1.0)

    result = asyncio.run(scenario())
    assert result.info == info
    assert [f"serienummer: {info['serial']}"] == [line for line in format_info(result)
                                                  if line.startswith("serienummer")]


# -- SunSpec model 1 ---------------------------------------------------------------------------------
@pytest.mark.parametrize("filename", ["device_1547.json", "inverter_123.json"])
def test_sunspec_model_1_decoded_like_pysunspec2_decodes_its_test_device(filename):
    from sunspec2.file.client import FileClientDevice

    path = str(TEST_DATA / filename)
    ref = FileClientDevice(path)
    ref.scan()
    common = ref.common[0]
    expected = {key: getattr(common, point).value for key, point in
                (("manufacturer", "Mn"), ("model", "Md"), ("options", "Opt"), ("version", "Vr"), ("serial", "SN"))}
    expected = {k: v for k, v in expected.items() if v}  # inverter_123 has no Opt: not "" but absent

    async def scenario():
        dev = StaticImage(image_from_pysunspec_json(path))
        async with SunSpecSimulator([dev]):
            return await probe("127.0.0.1", dev.port, 1, "sunspec", timeout_s=1.0)

    result = asyncio.run(scenario())
    assert result.info == expected
    assert result.info["serial"] in ("sn-123456789", "9999abcd")  # the files' SN points, as written there


def test_sunspec_model_1_of_the_simulated_inverter():
    inv = SunSpecInverterSim(Site(), variant="int", serial="SIM-0042", clock=lambda: T0)

    async def scenario():
        async with SunSpecSimulator([inv]):
            return await probe("127.0.0.1", inv.port, 1, "sunspec", timeout_s=1.0)

    result = asyncio.run(scenario())
    assert result.info == {"manufacturer": "energimon", "model": "SimInverter-int", "options": "soro-raadhus",
                           "version": "1.0.0", "serial": "SIM-0042"}
    assert format_info(result)[:3] == ["producent: energimon", "model: SimInverter-int", "serienummer: SIM-0042"]
    set_lang("en")
    assert format_info(result)[:3] == ["manufacturer: energimon", "model: SimInverter-int", "serial: SIM-0042"]


# -- a serial number that changes --------------------------------------------------------------------
def _serial_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "serial number changed" in r.getMessage()]


def _serial_changes(readings) -> list[float]:
    return [r.value for r in readings if r.channel == "serial_changes"]


def test_a_swapped_inverter_is_logged_once_flagged_stored_and_shown_by_status(tmp_path, caplog, capsys):
    from energimon.app.cli import main
    from energimon.store.sqlite import SqliteStore

    caplog.set_level(logging.INFO)
    cfg = tmp_path / "energimon.toml"
    inv = SunSpecInverterSim(Site(), variant="float", serial="SIM-0001", clock=lambda: T0)

    async def scenario():
        async with SunSpecSimulator([inv]):
            cfg.write_text(
                f'[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.56\n'
                f'[store]\npath = "{tmp_path / "store.db"}"\n[spool]\npath = "{tmp_path / "spool.db"}"\n'
                f'[[devices]]\nprotocol = "modbus_tcp"\nsite = "soro-raadhus"\nid = "inverter"\nrole = "pv"\n'
                f'host = "127.0.0.1"\nport = {inv.port}\nprofile = "sunspec"\n', encoding="utf-8")
            from energimon.config.settings import load_settings

            settings = load_settings(cfg)
            poller = ModbusPoller(settings.devices[0], keep, device_info=DeviceInfoFile(device_info_path(settings)))
            polls = [await poller.poll_once()]
            inv.serial = "SIM-0099"  # another inverter behind the same address
            for _ in range(3):
                poller.conn.reset()  # a swap drops the connection: identity is read again on reconnect
                polls.append(await poller.poll_once())
            poller.conn.reset()
            ts = polls[-1][-1].ts_ms
            return settings, poller, ts

    settings, poller, ts = asyncio.run(scenario())
    warnings = _serial_warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # logged once, not on every poll
    w = warnings[0]
    assert (w.site, w.device) == ("soro-raadhus", "inverter")
    assert "from SIM-0001 to SIM-0099" in w.getMessage()
    # flagged: a series of the device (a data-quality signal) ...
    assert _serial_changes(poller.health_readings(ts, with_identity=True)) == [1.0]
    assert _serial_changes(poller.health_readings(ts)) == []  # only with polls that delivered values
    # ... and the record `status` reads from another process
    rec = read_device_info(device_info_path(settings))[("soro-raadhus", "inverter")]
    assert rec.info["serial"] == "SIM-0099" and rec.serial_changes == 1
    assert (rec.last_change.old, rec.last_change.new) == ("SIM-0001", "SIM-0099")
    SqliteStore(tmp_path / "store.db").close()  # an (empty) store, so status can open it
    assert main(["--lang", "en", "status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    section = out.split("device identity:\n", 1)[1]
    line = next(x for x in section.splitlines() if x.startswith("  soro-raadhus/inverter: "))
    assert "energimon SimInverter-float, serial SIM-0099" in line
    assert "SERIAL CHANGED" in line and "SIM-0001 -> SIM-0099" in line and "1 change;" in line


def test_a_meter_swapped_behind_a_gateway_is_noticed_by_the_periodic_check_and_after_a_restart(tmp_path, caplog):
    """No reconnect: the identity is read again every IDENTITY_REFRESH_POLLS polls.  A restart of the daemon
    keeps the count and notices a swap made while it was stopped."""
    caplog.set_level(logging.INFO)
    path = tmp_path / "devices.json"
    b = SORO_BUILDINGS[0]
    meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time()), serial="22000101")

    async def scenario():
        async with serve(meter.device(), port=meter.port):
            dev = device(meter.port, "hovedmaaler", "eastron.sdm630", role="grid")
            poller = ModbusPoller(dev, keep, device_info=DeviceInfoFile(path))
            await poller.poll_once()
            meter.serial = "22000999"
            poller.health.polls = 1
            await poller.poll_once()  # same connection, not yet due: still the old identity
            before = dict(poller.info)
            poller.health.polls = 1 + IDENTITY_REFRESH_POLLS
            values = await poller.poll_once()
            after = dict(poller.info)
            poller.conn.reset()
            # the daemon restarts; meanwhile the meter was swapped again
            meter.serial = "22000555"
            restarted = ModbusPoller(dev, keep, device_info=DeviceInfoFile(path))
            values2 = await restarted.poll_once()
            restarted.conn.reset()
            return before, after, values, poller, restarted, values2

    before, after, values, _, restarted, values2 = asyncio.run(scenario())
    assert before == {"serial": "22000101"} and after == {"serial": "22000999"}
    assert {r.channel for r in values} >= {"power_w", "energy_import_wh"}  # the readings continue
    msgs = [r.getMessage() for r in _serial_warnings(caplog)]
    assert len(msgs) == 2 and "from 22000101 to 22000999" in msgs[0] and "from 22000999 to 22000555" in msgs[1]
    assert _serial_changes(restarted.health_readings(values2[-1].ts_ms, with_identity=True)) == [2.0]
    assert read_device_info(path)[("soro-raadhus", "hovedmaaler")].serial_changes == 2


def test_status_says_which_devices_have_not_told_who_they_are(tmp_path):
    set_lang("en")  # the status texts checked below are the English ones
    from energimon.app.status import device_identity_lines

    settings = settings_from_dict({
        "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "store": {"path": str(tmp_path / "store.db")}, "spool": {"path": str(tmp_path / "spool.db")},
        "devices": [
            {"protocol": "modbus_tcp", "site": "soro-raadhus", "id": "inverter", "role": "pv", "host": "127.0.0.1",
             "port": 5020, "profile": "sunspec"},
            {"protocol": "modbus_tcp", "site": "soro-raadhus", "id": "varme", "role": "heat", "host": "127.0.0.1",
             "port": 5021, "profile": "kamstrup.multical603"},  # no identity registers: no line
        ]})
    assert device_identity_lines(settings) == ["  soro-raadhus/inverter: identity not read yet"]
    device_info_path(settings).write_text("{not json", encoding="utf-8")
    (line,) = device_identity_lines(settings)
    assert "cannot read device identities" in line and "devices.json" in line


# -- masked sentinels --------------------------------------------------------------------------------
EM24 = {f.channel: f for f in load_profile("carlo_gavazzi.em24").fields}


@pytest.mark.parametrize(("channel", "regs", "expected"), [
    # INT32 low word first (EM24 protocol 2.1: "the word order is LSW->MSW"); 7FFFh in the high word is
    # overflow ("EEEE"), whatever the low word: no value, never 0x7FFF0000 x 0.1 = 214,741,811.2 W
    ("power_w", [0x0000, 0x7FFF], None),
    ("power_w", [0xABCD, 0x7FFF], None),
    ("energy_import_wh", [0x1234, 0x7FFF], None),
    # a normal high word is a value: 0x00012710 = 75536 -> x 0.1 = 7553.6 W
    ("power_w", [0x2710, 0x0001], 7553.6),
    # negative power (export): 0xFFFFD8F0 = -10000 -> -1000.0 W (FFFFh in the high word is no overflow)
    ("power_w", [0xD8F0, 0xFFFF], -1000.0),
    # 0x7FFE in the high word is a value: 0x7FFE0000 = 2147352576 -> x 100 Wh
    ("energy_import_wh", [0x0000, 0x7FFE], 214_735_257_600.0),
    # the one-word INT16 frequency: 7FFFh is its own most significant word; 0x01F4 = 500 -> 50.0 Hz
    ("frequency_hz", [0x7FFF], None),
    ("frequency_hz", [0x01F4], 50.0),
])
def test_em24_overflow_high_word_is_no_value_and_a_normal_high_word_is_a_value(channel, regs, expected):
    got = decode(EM24[channel], regs)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_em24_overflow_served_by_the_simulator_is_no_reading():
    async def scenario():
        image = image_for("carlo_gavazzi.em24", {"power_w": 1500.0, "voltage_l1_v": 230.0}, missing=["power_w"],
                          info={"serial": "1234567890ABC"})
        async with serve(image.device()) as port:
            return await probe("127.0.0.1", port, 1, "carlo_gavazzi.em24", timeout_s=1.0)

    result = asyncio.run(scenario())
    rows = {r.channel: r for r in result.rows}
    assert rows["power_w"].value is None and rows["power_w"].raw[1] == 0x7FFF  # high word 7FFFh (low word first)
    assert rows["power_w"].raw[0] != 0  # whatever the low word holds
    assert rows["voltage_l1_v"].value == pytest.approx(230.0)
    assert result.info == {"serial": "1234567890ABC"}


@pytest.mark.parametrize(("spec", "message"), [
    ({"type": "int32", "masked_sentinels": [{"mask": 0xFFFF, "value": 0x7FFF0000}]}, "bits outside mask"),
    ({"type": "int16", "masked_sentinels": [{"mask": 0xFFFF0000, "value": 0x7FFF0000}]}, "wider than a int16"),
    ({"type": "float32", "masked_sentinels": [{"mask": 0xFFFF0000, "value": 0x7FFF0000}]}, "integer types"),
    ({"type": "int32", "masked_sentinels": [{"mask": 0, "value": 0}]}, "masked_sentinels.0.mask"),
])
def test_masked_sentinels_are_checked_when_the_profile_loads(spec, message):
    with pytest.raises(ProfileError) as err:
        build_fields([{"channel": "power_w", "address": 0, **spec}], {}, "profiles/x.toml products.y")
    assert "profiles/x.toml products.y.fields[0] (power_w)" in str(err.value)
    assert message in str(err.value)


def test_masked_sentinels_in_an_inline_register_map_are_checked_at_config_load():
    with pytest.raises(ConfigError) as err:
        settings_from_dict({
            "sites": {"s": {"name": "S", "latitude": 55.4, "longitude": 11.5}},
            "devices": [{"protocol": "modbus_tcp", "site": "s", "id": "d", "role": "grid", "host": "127.0.0.1",
                         "registers": [{"channel": "power_w", "address": 0, "type": "int32",
                                        "masked_sentinels": [{"mask": 0xFF, "value": 0x100}]}]}]})
    text = str(err.value)
    assert "devices" in text and "registers" in text and "bits outside mask" in text


def test_a_masked_sentinel_matches_on_the_bits_of_a_signed_value():
    f = RegisterField(channel="power_w", address=0, type="int16",
                      masked_sentinels=[{"mask": 0xFF00, "value": 0x8000}])  # high byte 80h
    assert decode(f, [0x8012]) is None  # int16 -32750: bits 0x8012
    assert decode(f, [0x7F12]) == 0x7F12


@pytest.mark.parametrize(("spec", "message"), [
    ([{"key": "serial", "address": 0, "type": "string"}], "a string needs 'registers'"),
    ([{"key": "serial", "address": 0, "type": "uint32", "registers": 2}], "'registers' is for strings"),
    ([{"key": "colour", "address": 0, "type": "uint16"}], "key"),
    ([{"key": "serial", "address": 0, "type": "uint16"}, {"key": "serial", "address": 5, "type": "uint16"}],
     "appears twice"),
    ([{"key": "serial", "address": 65530, "type": "string", "registers": 10}], "run past register 65535"),
])
def test_identity_registers_are_checked_when_the_profile_loads(spec, message):
    with pytest.raises(ProfileError) as err:
        build_info(spec, "profiles/x.toml products.y")
    assert "profiles/x.toml products.y.info[" in str(err.value) and message in str(err.value)


def test_info_field_width():
    assert InfoField(key="serial", address=0, type="string", registers=7).width == 7
    assert InfoField(key="serial", address=0, type="uint32").width == 2


# -- read-only, identity reads included ---------------------------------------------------------------
def test_identity_reads_send_only_read_function_codes():
    seen: list[int] = []

    def trace(sending: bool, pdu):
        if not sending:
            seen.append(pdu.function_code)
        return pdu

    b = SORO_BUILDINGS[0]
    meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time()))
    inv = SunSpecInverterSim(Site(), variant="int", clock=lambda: T0)

    async def scenario():
        async with serve(meter.device(), port=meter.port, trace_pdu=trace), SunSpecSimulator([inv], trace_pdu=trace):
            for dev in (device(meter.port, "m", "eastron.sdm630", role="grid"), device(inv.port)):
                poller = ModbusPoller(dev, keep)
                await poller.poll_once()
                poller.health.polls = IDENTITY_REFRESH_POLLS  # the periodic identity check too
                await poller.poll_once()
                poller.conn.reset()
                assert poller.info.get("serial")
            await probe("127.0.0.1", meter.port, 1, "eastron.sdm630", timeout_s=1.0)

    asyncio.run(scenario())
    assert set(seen) <= {1, 2, 3, 4}, seen
    assert {3, 4} <= set(seen)  # holding (the SDM630 serial, SunSpec) and input registers (SDM630 values)


def test_the_running_poller_stores_serial_changes_with_the_values_not_with_offline_health():
    b = SORO_BUILDINGS[0]
    meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time()), serial="22000101")
    batches: list[list] = []

    async def sink(readings, source) -> bool:
        batches.append(list(readings))
        return True

    async def scenario():
        async with serve(meter.device(), port=meter.port):
            poller = ModbusPoller(device(meter.port, "hovedmaaler", "eastron.sdm630", role="grid"), sink)
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await async_wait_for(lambda: batches, 20, "the first poll's readings")
            stop.set()
            await asyncio.wait_for(task, 10)
            return poller

    poller = asyncio.run(scenario())
    batch = batches[0]
    (flag,) = [r for r in batch if r.channel == "serial_changes"]
    assert flag.value == 0.0 and flag.ts_ms == next(r.ts_ms for r in batch if r.channel == "power_w")
    # the health written for an offline poll (no values) carries no serial_changes: it would make the
    # device's data look fresh to the stale/offline rules
    assert poller.identity.record is not None
    assert "serial_changes" not in {r.channel for r in poller.health_readings(flag.ts_ms + 1)}


def test_a_gateway_closed_after_every_poll_is_not_asked_for_the_identity_every_poll():
    """close_after_poll makes every poll a new connection; the identity is then read on the first poll and
    by the periodic check only, not as one more request in every poll."""
    holding: list[int] = []

    def trace(sending: bool, pdu):
        if not sending and pdu.function_code == 3:
            holding.append(pdu.address)
        return pdu

    b = SORO_BUILDINGS[0]
    meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time()), serial="22000101")

    async def scenario():
        async with serve(meter.device(), port=meter.port, trace_pdu=trace):
            dev = device(meter.port, "hovedmaaler", "eastron.sdm630", role="grid").model_copy(
                update={"close_after_poll": True})
            poller = ModbusPoller(dev, keep)
            for n in range(4):
                poller.health.polls = n
                await poller.poll_once()
            after_four = len(holding)
            poller.health.polls = IDENTITY_REFRESH_POLLS
            await poller.poll_once()
            return after_four, poller

    after_four, poller = asyncio.run(scenario())
    assert after_four == 1 and holding == [0xFC00, 0xFC00]  # first poll, then the periodic check
    assert poller.conn.generation == 5 and poller.info == {"serial": "22000101"}
