"""The Modbus path over real TCP on loopback: pymodbus servers serving simulated meters."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from helpers.net import free_port
from helpers.wait import async_wait_for
from pymodbus.server import ModbusTcpServer

from energimon.collector.modbus.fields import RegisterField
from energimon.collector.modbus.poller import DeviceUnreachable, ModbusPoller, next_tick
from energimon.collector.modbus.profiles import available_profiles, load_profile
from energimon.collector.modbus.registers import decode, plan_reads
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.collector.simulator.buildings import SORO_BUILDINGS, MainMeter
from energimon.collector.simulator.modbus_server import MeterSimulator, SimulatedMeter, wait_listening


@dataclass(frozen=True)
class ConstantBuilding:
    """A building whose grid power is fixed: exporting when net_w_value < 0."""

    site: str
    name: str
    net_w_value: float

    def occupancy(self, t_s: float) -> float:
        return 0.0

    def net_w(self, t_s: float) -> float:
        return self.net_w_value


HEALTH = {"device_online", "poll_errors", "fields_missing"}


def device(port: int, site: str = "soro-raadhus", **kw) -> ModbusTcpDevice:
    base = dict(protocol="modbus_tcp", site=site, id="hovedmaaler", role="grid", host="127.0.0.1",
                port=port, profile="eastron.sdm630", interval_s=1, timeout_s=1)
    base.update(kw)
    if "registers" in kw:
        base.pop("profile")
    return ModbusTcpDevice(**base)


async def collect(readings_out: list, readings, source) -> bool:
    readings_out.extend(readings)
    return True


def by_channel(readings) -> dict[str, float]:
    return {r.channel: r.value for r in readings}


def test_eastron_profile_is_cited_and_coalesces_into_two_reads():
    p = load_profile("eastron.sdm630")
    assert "SDM630" in p.source
    assert "eastron.sdm630" in available_profiles()
    blocks = plan_reads(list(p.fields), p.max_registers_per_read)
    # voltages 0x00-0x05 and power 0x34-0x35 are 46 registers apart (> max gap 16),
    # power .. export 0x34-0x4B is one block of 24 registers
    assert [(b.table, b.address, b.count) for b in blocks] == [("input", 0x00, 6), ("input", 0x34, 24)]


@pytest.mark.parametrize(
    ("regs", "type_", "order", "scale", "expected"),
    [
        ([0x4374, 0x0000], "float32", "big", 1.0, 244.0),  # 0x43740000 = 244.0 (IEEE 754)
        ([0x0000, 0x4374], "float32", "little", 1.0, 244.0),
        ([0xFFFF], "int16", "big", 1.0, -1.0),
        ([0x0001, 0x86A0], "uint32", "big", 0.1, 10000.0),  # 0x186A0 = 100000, x0.1
        ([0x86A0, 0x0001], "uint32", "little", 1.0, 100000.0),
        ([0xFFFF, 0xFFFE], "int32", "big", 10.0, -20.0),
    ],
)
def test_decode(regs, type_, order, scale, expected):
    f = RegisterField(channel="power_w", address=0, type=type_, word_order=order, scale=scale)
    assert decode(f, regs) == pytest.approx(expected)


def test_nan_float_is_missing_not_zero():
    f = RegisterField(channel="power_w", address=0, type="float32")
    assert decode(f, [0x7FC0, 0x0000]) is None  # quiet NaN


def test_next_tick_is_aligned_to_the_wall_clock():
    assert next_tick(1_000_003.2, 10) == 1_000_010
    assert next_tick(1_000_010.0, 10) == 1_000_020
    assert next_tick(59.9, 60) == 60


def test_poll_three_sites_values_match_the_building_model():
    async def scenario():
        async with MeterSimulator() as sim:
            for meter in sim.meters:
                poller = ModbusPoller(device(meter.port, site=meter.building.site), lambda r, s: collect([], r, s))
                got = by_channel(await poller.poll_once())
                poller.client.close()
                t = time.time()
                b = meter.building
                # float32 on the wire: ~7 significant digits
                assert got["power_w"] == pytest.approx(b.net_w(t), rel=1e-3, abs=50)
                assert got["energy_import_wh"] == pytest.approx(meter.meter.import_wh, abs=50)
                assert got["energy_export_wh"] == pytest.approx(meter.meter.export_wh, abs=50)
                assert got["frequency_hz"] == pytest.approx(50.0)
                assert 225 < got["voltage_l1_v"] < 235
    asyncio.run(scenario())


def test_signs_export_makes_power_negative_and_only_the_export_counter_grow():
    async def scenario():
        b = ConstantBuilding("soro-raadhus", "Sorø Rådhus", net_w_value=-36_000.0)  # exporting 36 kW
        meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time(), import_wh=1000.0, export_wh=500.0))
        server = ModbusTcpServer(meter.device(), address=("127.0.0.1", meter.port))
        task = asyncio.create_task(server.serve_forever())
        await wait_listening("127.0.0.1", meter.port)
        try:
            poller = ModbusPoller(device(meter.port), lambda r, s: collect([], r, s))
            first = by_channel(await poller.poll_once())
            await asyncio.sleep(1.0)
            second = by_channel(await poller.poll_once())
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert first["power_w"] == -36_000.0  # grid convention: negative = export
        assert second["energy_import_wh"] == first["energy_import_wh"] == 1000.0
        # 36 kW for >= 1 s is >= 10 Wh (36000 W x 1 s / 3600 s/h); float32 at 0.5 kWh resolves ~0.03 Wh
        assert second["energy_export_wh"] - first["energy_export_wh"] >= 9.9
    asyncio.run(scenario())


def test_block_with_exception_response_does_not_drop_the_others():
    async def scenario():
        async with MeterSimulator(buildings=SORO_BUILDINGS[:1]) as sim:
            port = sim.meters[0].port
            regs = [
                dict(channel="power_w", address=0x0034, table="input", type="float32"),
                # beyond the simulated register image: the server answers exception 2
                dict(channel="frequency_hz", address=0x0400, table="input", type="float32"),
            ]
            poller = ModbusPoller(device(port, registers=regs), lambda r, s: collect([], r, s))
            got = by_channel(await poller.poll_once())
            poller.client.close()
            assert set(got) == {"power_w"}
            assert poller.health.errors == {"exception_2": 1}
    asyncio.run(scenario())


def test_unreachable_device_raises_and_run_keeps_going_with_backoff():
    async def scenario():
        out: list = []
        async with MeterSimulator(buildings=SORO_BUILDINGS[:1]) as sim:
            good = ModbusPoller(device(sim.meters[0].port), lambda r, s: collect(out, r, s))
            dead = ModbusPoller(device(free_port(), site="stenlille-hallen"), lambda r, s: collect(out, r, s))
            with pytest.raises(DeviceUnreachable):
                await dead.poll_once()
            stop = asyncio.Event()
            tasks = [asyncio.create_task(p.run(stop)) for p in (good, dead)]
            await asyncio.sleep(3.5)
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
        assert good.health.online and not dead.health.online
        assert dead.health.errors.get("unreachable", 0) >= 1
        # backoff: 1 s, 2 s ... so in 3.5 s the dead device is tried at most 3 times
        assert dead.health.polls <= 3
        assert {r.site for r in out if r.channel not in HEALTH} == {"soro-raadhus"}
        # the dead device's health is stored as series: offline
        assert {r.value for r in out if r.site == "stenlille-hallen" and r.channel == "device_online"} == {0.0}
        assert good.health.polls >= 3
    asyncio.run(scenario())


def test_collector_sends_only_read_function_codes():
    async def scenario():
        seen: list[int] = []

        def trace(sending: bool, pdu):
            if not sending:
                seen.append(pdu.function_code)
            return pdu

        b = SORO_BUILDINGS[0]
        meter = SimulatedMeter(b, free_port(), MainMeter(b, time.time()))
        server = ModbusTcpServer(meter.device(), address=("127.0.0.1", meter.port), trace_pdu=trace)
        task = asyncio.create_task(server.serve_forever())
        await wait_listening("127.0.0.1", meter.port)
        try:
            poller = ModbusPoller(device(meter.port), lambda r, s: collect([], r, s))
            for _ in range(3):
                await poller.poll_once()
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert seen and set(seen) <= {1, 2, 3, 4}, seen
    asyncio.run(scenario())


async def _serve(devices, trace_connect=None):
    port = free_port()
    server = ModbusTcpServer(devices, address=("127.0.0.1", port), trace_connect=trace_connect)
    task = asyncio.create_task(server.serve_forever())
    await wait_listening("127.0.0.1", port)
    return port, server, task


def _image(action=None, unit=1):
    from pymodbus.simulator import DataType, SimData, SimDevice

    # registers 0..0x4F exist and hold their own address; anything above answers exception 2
    return SimDevice(id=unit, simdata=[SimData(address=0, values=list(range(0x50)), datatype=DataType.REGISTERS)],
                     action=action)


def test_one_bad_field_in_a_coalesced_block_is_quarantined_and_the_rest_flows():
    async def scenario():
        port, server, task = await _serve(_image())
        try:
            regs = [
                dict(channel="power_w", address=0x4C),
                dict(channel="frequency_hz", address=0x4E),
                dict(channel="voltage_v", address=0x50),  # does not exist on the device
            ]
            poller = ModbusPoller(device(port, registers=regs), lambda r, s: collect([], r, s))
            assert [(b.address, b.count) for b in poller.blocks] == [(0x4C, 5)]  # one coalesced read
            poller.health.polls = 1
            first = by_channel(await poller.poll_once())
            errors_after_first = dict(poller.health.errors)
            poller.health.polls = 2
            second = by_channel(await poller.poll_once())
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        # the image holds each register's own address: 0x4C = 76, 0x4E = 78
        assert first == {"power_w": 76.0, "frequency_hz": 78.0}
        assert second == first
        # block failed (1), then voltage alone failed (1); the good fields were read alone without error
        assert errors_after_first == {"exception_2": 2}
        assert poller.health.errors == errors_after_first  # second poll skipped the quarantined field
        assert [(b.address, b.count) for b in poller.blocks] == [(0x4C, 3)]
        assert poller.health.missing_fields == 1
    asyncio.run(scenario())


def test_quarantined_field_is_retried_and_released_when_it_answers_again():
    async def scenario():
        state = {"broken": True}

        async def action(fc, start, address, count, regs, set_values):
            from pymodbus.constants import ExcCodes

            if state["broken"] and address <= 0x10 < address + count:
                return ExcCodes.ILLEGAL_ADDRESS
            return None

        port, server, task = await _serve(_image(action))
        try:
            regs = [dict(channel="power_w", address=0x00), dict(channel="voltage_v", address=0x10)]
            poller = ModbusPoller(device(port, registers=regs), lambda r, s: collect([], r, s))
            results = []
            for n in range(1, 13):
                poller.health.polls = n
                if n == 5:
                    state["broken"] = False
                results.append(set(by_channel(await poller.poll_once())))
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert results[0] == {"power_w"}
        # quarantined at poll 1, retried alone at poll 1 + QUARANTINE_RETRY_POLLS = 11
        assert all(r == {"power_w"} for r in results[:10])
        assert results[10] == {"power_w", "voltage_v"} and results[11] == {"power_w", "voltage_v"}
    asyncio.run(scenario())


def test_timeout_on_one_block_reconnects_and_keeps_the_others():
    async def scenario():
        async def action(fc, start, address, count, regs, set_values):
            if address == 0x40:
                await asyncio.sleep(1.5)  # this register never answers in time
            return None

        connects = []
        port, server, task = await _serve(_image(action), trace_connect=lambda up: connects.append(up))
        connects.clear()  # forget _serve's readiness probe
        try:
            regs = [dict(channel="power_w", address=0x00), dict(channel="voltage_v", address=0x40)]
            poller = ModbusPoller(device(port, registers=regs, timeout_s=0.4), lambda r, s: collect([], r, s))
            poller.health.polls = 1
            first = by_channel(await poller.poll_once())
            poller.health.polls = 2
            t0 = time.monotonic()
            second = by_channel(await poller.poll_once())
            second_s = time.monotonic() - t0
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert first == {"power_w": 0.0} and second == {"power_w": 0.0}
        assert poller.health.errors.get("timeout", 0) >= 1
        assert connects.count(True) >= 2  # the desynchronised connection was replaced
        assert second_s < 0.4  # the quarantined register no longer costs a timeout per poll
    asyncio.run(scenario())


def test_unit_ids_behind_one_gateway_share_one_connection():
    async def scenario():
        from energimon.collector.modbus.poller import ConnectionPool

        connects = []
        port, server, task = await _serve([_image(unit=1), _image(unit=2)],
                                          trace_connect=lambda up: connects.append(up))
        connects.clear()  # forget _serve's readiness probe
        try:
            pool = ConnectionPool()
            regs = [dict(channel="power_w", address=0x05)]
            a = ModbusPoller(device(port, registers=regs, unit_id=1), lambda r, s: collect([], r, s), pool)
            b = ModbusPoller(device(port, site="stenlille-hallen", registers=regs, unit_id=2),
                             lambda r, s: collect([], r, s), pool)
            results = await asyncio.gather(a.poll_once(), b.poll_once(), a.poll_once(), b.poll_once())
            pool.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert [by_channel(r) for r in results] == [{"power_w": 5.0}] * 4
        assert [r[0].site for r in results] == ["soro-raadhus", "stenlille-hallen"] * 2
        assert connects.count(True) == 1
    asyncio.run(scenario())


@pytest.mark.parametrize("code", [1, 2, 3, 4, 6])
def test_every_exception_code_only_costs_the_affected_field(code):
    async def scenario():
        from pymodbus.constants import ExcCodes

        async def action(fc, start, address, count, regs, set_values):
            if address <= 0x20 < address + count:
                return ExcCodes(code)
            return None

        port, server, task = await _serve(_image(action))
        try:
            regs = [dict(channel="power_w", address=0x1E), dict(channel="voltage_v", address=0x20),
                    dict(channel="frequency_hz", address=0x22)]
            poller = ModbusPoller(device(port, registers=regs), lambda r, s: collect([], r, s))
            poller.health.polls = 1
            got = by_channel(await poller.poll_once())
            poller.client.close()
        finally:
            await server.shutdown()
            task.cancel()
        assert got == {"power_w": 30.0, "frequency_hz": 34.0}  # registers hold their own address
        assert set(poller.health.errors) == {f"exception_{code}"}
    asyncio.run(scenario())


class MisbehavingDevice:
    """A raw TCP 'device' speaking broken Modbus: garbage, or answers with too few registers."""

    def __init__(self, mode: str):
        self.mode = mode
        self.port = free_port()
        self.requests = 0

    async def handle(self, reader, writer):
        try:
            while True:
                header = await reader.readexactly(7)
                length = int.from_bytes(header[4:6], "big")
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                if self.mode == "garbage":
                    writer.write(b"\x17\x42garbage-not-modbus\xff\x00" * 3)
                else:  # short: a well-formed frame holding one register whatever was asked
                    fc = pdu[0]
                    body = bytes([fc, 2, 0x00, 0x2A])
                    writer.write(header[:4] + (len(body) + 1).to_bytes(2, "big") + header[6:7] + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()


@pytest.mark.parametrize("mode", ["garbage", "short"])
def test_garbage_and_short_answers_never_become_values_and_never_crash(mode):
    async def scenario():
        out: list = []
        async with MisbehavingDevice(mode) as dev:
            regs = [dict(channel="power_w", address=0x00, type="float32"),
                    dict(channel="voltage_v", address=0x02, type="float32")]
            poller = ModbusPoller(device(dev.port, registers=regs, timeout_s=0.3), lambda r, s: collect(out, r, s))
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            expected = {"garbage": "unreachable", "short": "short_response"}[mode]
            await async_wait_for(lambda: poller.health.errors.get(expected, 0) >= 1, 30,
                                 lambda: f"a {expected} error ({poller.health.errors})")
            stop.set()
            await asyncio.wait_for(task, timeout=5)
            return out, poller, dev.requests
    out, poller, requests = asyncio.run(scenario())
    assert requests >= 1
    assert [r for r in out if r.channel not in HEALTH] == []  # nothing decoded from a broken answer
    assert not task_crashed(poller)
    # garbage never parses (device unreachable); a short frame is caught as such, field by field
    expected = {"garbage": "unreachable", "short": "short_response"}[mode]
    assert poller.health.errors.get(expected, 0) >= 1, poller.health.errors


def task_crashed(poller) -> bool:
    return poller.health.errors.get("internal", 0) > 0


def test_device_quirks_one_request_per_field_and_close_after_poll():
    async def scenario():
        fcs: list[int] = []
        connects: list[bool] = []

        def trace(sending, pdu):
            if not sending:
                fcs.append(pdu.function_code)
            return pdu

        port = free_port()
        server = ModbusTcpServer(_image(), address=("127.0.0.1", port), trace_pdu=trace,
                                 trace_connect=lambda up: connects.append(up))
        task = asyncio.create_task(server.serve_forever())
        await wait_listening("127.0.0.1", port)
        connects.clear()  # forget the readiness probe's connection
        try:
            regs = [dict(channel="power_w", address=0x00), dict(channel="voltage_v", address=0x01),
                    dict(channel="frequency_hz", address=0x02)]
            poller = ModbusPoller(device(port, registers=regs, max_gap=-1, close_after_poll=True),
                                  lambda r, s: collect([], r, s))
            for _ in range(2):
                got = by_channel(await poller.poll_once())
        finally:
            await server.shutdown()
            task.cancel()
        assert got == {"power_w": 0.0, "voltage_v": 1.0, "frequency_hz": 2.0}
        assert len(fcs) == 6  # 3 fields x 2 polls, one request each
        assert connects.count(True) == 2  # a fresh connection per poll
    asyncio.run(scenario())


def test_sentinels_written_as_in_vendor_tables_are_normalised_and_checked():
    # vendor tables write an int16's "not available" as 0x8000; decoded raw it is -32768
    f = RegisterField(channel="power_w", address=0, type="int16", sentinels=(0x8000,))
    assert f.sentinels == (-32768,)
    assert decode(f, [0x8000]) is None and decode(f, [0x7FFF]) == 32767.0
    with pytest.raises(ValueError, match="does not fit a int16"):
        RegisterField(channel="power_w", address=0, type="int16", sentinels=(0x18000,))
    with pytest.raises(ValueError, match="integer types"):
        RegisterField(channel="power_w", address=0, type="float32", sentinels=(0,))


def test_simulated_town_hall_heat_meter_follows_the_heating_model():
    from energimon.collector.simulator.buildings import HeatingModel, outdoor_temp_c

    async def scenario():
        async with MeterSimulator(buildings=SORO_BUILDINGS[:1], with_heat=True) as sim:
            _, port, _ = sim.heat_meter
            dev = device(port, id="fjernvarme", role="heat", profile="kamstrup.multical603")
            poller = ModbusPoller(dev, lambda r, s: collect([], r, s))
            got = by_channel(await poller.poll_once())
            poller.client.close()
            return got, time.time()

    got, t = asyncio.run(scenario())
    h = HeatingModel()
    # heat = UA x max(0, 17 - T_out) + hot water: the Danish degree-day base of 17 °C
    expected_w = 2500.0 * max(0.0, 17.0 - outdoor_temp_c(t)) + 4000.0
    assert got["heat_power_w"] == pytest.approx(expected_w, rel=1e-3)
    assert got["supply_temp_c"] == 70.0 > got["return_temp_c"] == pytest.approx(h.return_c(t), abs=0.01)
    # V' = Q / (1.163 kWh/(m3 K) x dT)
    dt_k = got["supply_temp_c"] - got["return_temp_c"]
    assert got["flow_m3_h"] == pytest.approx(got["heat_power_w"] / 1000 / (1.163 * dt_k), rel=1e-3)


def test_a_value_scaled_past_the_float_range_is_missing_not_infinite():
    # found by bench/fuzz.py: int32 raw 11 (little byte order) x 1e300 x 10 ... overflows to inf
    f = RegisterField(channel="power_w", address=0, type="float64", scale=1e300)
    assert decode(f, [0x7FEF, 0xFFFF, 0xFFFF, 0xFFFF]) is None  # float64 max x 1e300 = inf
    assert decode(f, [0x3FF0, 0, 0, 0]) == 1e300  # 1.0 x 1e300 is still a (huge) number


def test_a_sink_that_raises_does_not_end_the_devices_polling():
    """Whatever the spool raises (a bug, a disk error of a kind nobody foresaw) is a refused poll, logged:
    the device goes on being polled and its next readings are delivered."""
    async def scenario():
        out: list = []
        calls = 0

        async def flaky_sink(readings, source) -> bool:
            nonlocal calls
            calls += 1
            if calls <= 2:
                raise RuntimeError("unforeseen spool failure")
            return await collect(out, readings, source)

        async with MeterSimulator(buildings=SORO_BUILDINGS[:1]) as sim:
            poller = ModbusPoller(device(sim.meters[0].port), flaky_sink)
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await async_wait_for(lambda: calls >= 4 and any(r.channel == "power_w" for r in out), 30,
                                 lambda: f"polls delivered after the failures ({calls} calls)")
            stop.set()
            await asyncio.wait_for(task, timeout=5)
        assert calls >= 4 and not task.exception()
        assert poller.health.errors.get("spool_full", 0) == 2
        assert any(r.channel == "power_w" for r in out)  # delivered after the failures
    asyncio.run(scenario())
