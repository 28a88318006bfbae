"""SunSpec discovery and decoding against real pymodbus servers on loopback (no mocks).

Every test runs its own event loop (``asyncio.run``) and its servers on free 127.0.0.1 ports.
"""

from __future__ import annotations

import asyncio
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import pytest
import sunspec2

from energimon.collector.modbus.client import ReadOnlyModbusClient
from energimon.collector.modbus.fields import RegisterField
from energimon.collector.modbus.registers import decode_block, plan_reads
from energimon.collector.modbus.sunspec import MAX_MODELS, SunSpecDevice, SunSpecError, discover
from energimon.collector.modbus.sunspec_map import SUNSPEC_TYPES, model_fields, model_layout
from energimon.collector.simulator.sunspec_image import (
    StaticImage,
    SunSpecImage,
    SunSpecInverterSim,
    SunSpecSimulator,
    image_from_pysunspec_json,
    pysunspec_models,
    soro_inverters,
)

T0 = 1_751_716_800.0  # 2025-07-05 12:00 UTC: a fixed clock, so energy counters do not move
TEST_DATA = Path(sunspec2.__file__).parent / "tests" / "test_data"


@dataclass(frozen=True)
class ConstantSite:
    """A building with constant PV output and grid power (exporting when net_w_value < 0)."""

    site: str = "soro-raadhus"
    name: str = "Sorø Rådhus"
    pv_kwp: float = 60.0
    pv_w_value: float = 12_346.0
    net_w_value: float = -2_000.0

    def pv_w(self, t_s: float) -> float:
        return self.pv_w_value

    def net_w(self, t_s: float) -> float:
        return self.net_w_value


def inverter(variant="int", **kw) -> SunSpecInverterSim:
    kw.setdefault("with_meter", variant == "int")
    return SunSpecInverterSim(ConstantSite(), variant=variant, clock=lambda: T0, **kw)


async def connect(port: int) -> ReadOnlyModbusClient:
    client = ReadOnlyModbusClient("127.0.0.1", port, timeout_s=1.0)
    assert await client.connect()
    return client


async def poll(client: ReadOnlyModbusClient, found: SunSpecDevice) -> dict[tuple[str, str | None], float]:
    """One poll through the normal engine: plan_reads -> read -> decode_block."""
    out: dict[tuple[str, str | None], float] = {}
    for block in plan_reads(found.fields):
        resp = await client.read(block.table, block.address, block.count, found.unit_id)
        assert not resp.isError()
        for f, value in decode_block(block, resp.registers):
            key = (f.channel, f.subdevice)
            assert key not in out, f"{key} delivered twice"
            out[key] = value
    return out


async def discover_and_poll(sim, table="holding") -> tuple[SunSpecDevice, dict]:
    client = await connect(sim.port)
    try:
        found = await discover(client, sim.unit_id, table)
        return found, await poll(client, found)
    finally:
        client.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


# -- discovery ------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_discovery_at_each_base_walks_the_model_chain(base):
    sim = inverter(base=base)

    async def go():
        async with SunSpecSimulator([sim]):
            return await discover_and_poll(sim)

    found, values = run(go())
    assert found.base == base
    # 'SunS' (2) | 1: ID+L+66 | 103: ID+L+50 | 160 with 2 modules: ID+L+8+2*20 | 203: ID+L+105 | 0xFFFF
    assert found.models == [
        (1, base + 2, 66), (103, base + 70, 50), (160, base + 122, 48), (203, base + 172, 105),
    ]
    assert found.models == sim.image.models()
    assert found.info == {"manufacturer": "energimon", "model": "SimInverter-int", "options": "soro-raadhus",
                          "version": "1.0.0", "serial": "SIM-0001"}
    assert found.warnings == []
    assert values[("pv_power_w", None)] == pytest.approx(12_350.0)


def test_not_sunspec_is_a_clear_error():
    image = SunSpecImage(40000)
    image.regs[0:2] = [0x1234, 0x5678]  # no marker anywhere
    dev = StaticImage(image.finish())

    async def go():
        async with SunSpecSimulator([dev]):
            client = await connect(dev.port)
            try:
                await discover(client, 1)
            finally:
                client.close()

    with pytest.raises(SunSpecError, match="no SunSpec marker 'SunS' at 40000, 0, 50000"):
        run(go())


def _garbage(models: list[list[int]], end: bool = True) -> StaticImage:
    image = SunSpecImage(40000)
    image.add_model(1)
    for regs in models:
        image.add_raw_model(regs)
    if end:
        image.finish()
    return StaticImage(image)


async def _discover_static(dev: StaticImage) -> SunSpecDevice:
    async with SunSpecSimulator([dev]):
        client = await connect(dev.port)
        try:
            return await discover(client, 1)
        finally:
            client.close()


def test_garbage_chain_length_past_the_end_terminates_with_a_clear_error():
    # model 103 at 40070 claims 65000 registers: 40072 + 65000 > 65536
    dev = _garbage([[103, 65000, 0, 0]])
    with pytest.raises(SunSpecError, match=r"model 103 at 40070 has length 65000, running past register 65535"):
        run(_discover_static(dev))


def test_garbage_chain_model_id_zero_and_too_many_models():
    with pytest.raises(SunSpecError, match="model id 0 at 40070"):
        run(_discover_static(_garbage([[0, 4, 1, 2, 3, 4]])))
    # 101 empty models (id 64001, L = 0) after the common model: more than MAX_MODELS in all
    with pytest.raises(SunSpecError, match=f"more than {MAX_MODELS} models"):
        run(_discover_static(_garbage([[64001, 0]] * MAX_MODELS)))


def test_chain_without_end_marker_stops_at_the_exception_and_says_so():
    found = run(_discover_static(_garbage([[64001, 0]], end=False)))
    assert found.model_ids == [1, 64001]
    assert any("without the 0xFFFF end model" in w for w in found.warnings)


# -- decoding -------------------------------------------------------------------------------------
def test_integer_models_with_scale_factors_decode_exactly():
    sim = inverter("int")  # 60 kWp: W_SF = 1 (peak 60000/0.97 W does not fit int16 at SF 0)
    assert sim.w_sf == 1

    async def go():
        async with SunSpecSimulator([sim]):
            return await discover_and_poll(sim)

    _, v = run(go())
    expected = {
        # 103.W: 12346 W / 10^1 = 1234.6 -> raw 1235; 1235 * 10^1 = 12350 W, producing: +
        ("pv_power_w", None): 12_350.0,
        # 103.WH acc32, WH_SF 0: raw 5 000 000 Wh
        ("pv_energy_wh", None): 5_000_000.0,
        # 103.DCW: 12346 / 0.97 = 12727.835 W -> raw 1272.78 -> 1273; x 10 = 12730 W
        ("pv_dc_power_w", None): 12_730.0,
        # 103.A, A_SF -1: 12346/3 * (1/230.4 + 1/231.1 + 1/229.8) = 4115.333 * 0.0130190 = 53.578 A
        #   -> raw 535.78 -> 536 -> 53.6 A
        ("current_a", None): 53.6,
        # 103.Hz, Hz_SF -2: raw 5000 -> 50.00
        ("frequency_hz", None): 50.0,
        # 103.VAr: P * tan(acos(0.995)) = 12346 * 0.1003768 = 1239.25 var -> raw 123.9 -> 124 -> 1240
        ("reactive_power_var", None): 1_240.0,
        # 103.PF in Pct, PF_SF -1: raw 995 -> 99.5 % -> x 0.01 = 0.995
        ("power_factor", None): 0.995,
        # 103.PhVphA..C, V_SF -1: raw 2304, 2311, 2298
        ("voltage_l1_v", None): 230.4, ("voltage_l2_v", None): 231.1, ("voltage_l3_v", None): 229.8,
        # 160 module DCW (uint16, DCW_SF = 1): 12727.835 / 2 = 6363.92 -> raw 636.39 -> 636 -> 6360 W
        ("pv_dc_power_w", "mppt1"): 6_360.0, ("pv_dc_power_w", "mppt2"): 6_360.0,
        # 203 meter (sub-device meter1, the device also has an inverter), W_SF 1:
        # -2000 W / 10 = raw -200 -> -2000 W: exporting is negative, as energimon's grid power
        ("power_w", "meter1"): -2_000.0,
        ("energy_import_wh", "meter1"): 1_250_000.0,  # TotWhImp, TotWh_SF 0
        ("energy_export_wh", "meter1"): 125_000.0,  # TotWhExp, non-negative
        ("frequency_hz", "meter1"): 50.0,
        # 203.A: sum over phases of |P|/3/V = 666.67 * 0.0130190 = 8.679 A -> raw 86.79 -> 87 -> 8.7
        ("current_a", "meter1"): 8.7,
        ("power_factor", "meter1"): -0.995,  # the simulator signs the meter's PF with the active power
        # 203.PhV: (230.4 + 231.1 + 229.8) / 3 = 230.433 -> raw 2304 -> 230.4
        ("voltage_v", "meter1"): 230.4,
        ("voltage_l1_v", "meter1"): 230.4, ("voltage_l2_v", "meter1"): 231.1, ("voltage_l3_v", "meter1"): 229.8,
    }
    assert v.keys() == expected.keys()
    for key, value in expected.items():
        assert v[key] == pytest.approx(value, abs=1e-9), key


def test_float_model_decodes_exactly():
    sim = inverter("float")

    async def go():
        async with SunSpecSimulator([sim]):
            return await discover_and_poll(sim)

    found, v = run(go())
    assert found.model_ids == [1, 113]

    def f32(x: float) -> float:  # what a float32 register pair can hold
        return struct.unpack(">f", struct.pack(">f", x))[0]

    assert v[("pv_power_w", None)] == 12_346.0  # exactly representable in float32
    assert v[("pv_energy_wh", None)] == 5_000_000.0
    assert v[("pv_dc_power_w", None)] == f32(12_346 / 0.97)  # 12727.835…, float32-rounded
    assert v[("power_factor", None)] == pytest.approx(0.995)  # 99.5 % (exact in float32) x 0.01
    assert v[("frequency_hz", None)] == 50.0
    assert v[("voltage_l1_v", None)] == f32(230.4)
    assert ("pv_dc_power_w", "mppt1") not in v  # no model 160 in this variant


def test_not_implemented_sentinels_give_no_reading_not_zero():
    sim = inverter("int", not_implemented={"103.W", "103.WH", "160.DCW[2]", "203.W", "203.TotWhExp"})
    flt = inverter("float", not_implemented={"113.W", "113.WH"})

    async def go():
        async with SunSpecSimulator([sim, flt]):
            return (await discover_and_poll(sim))[1], (await discover_and_poll(flt))[1]

    v, vf = run(go())
    # int16 0x8000, acc32 0, uint16 0xFFFF (module 2's DCW), meter int16 and acc32: missing, not 0
    for key in [("pv_power_w", None), ("pv_energy_wh", None), ("pv_dc_power_w", "mppt2"),
                ("power_w", "meter1"), ("energy_export_wh", "meter1")]:
        assert key not in v, key
    # the rest of the same blocks still arrives
    assert v[("pv_dc_power_w", "mppt1")] == 6_360.0
    assert v[("energy_import_wh", "meter1")] == 1_250_000.0
    assert v[("frequency_hz", None)] == 50.0
    # float32 NaN: missing
    assert ("pv_power_w", None) not in vf and ("pv_energy_wh", None) not in vf
    assert vf[("frequency_hz", None)] == 50.0


def test_scale_factor_not_implemented_makes_its_values_missing():
    sim = inverter("int", not_implemented={"103.W_SF", "203.TotWh_SF"})

    async def go():
        async with SunSpecSimulator([sim]):
            return await discover_and_poll(sim)

    _, v = run(go())
    assert sim.image.get_raw(sim.i_inv, "W_SF") == -32768
    assert ("pv_power_w", None) not in v  # W_SF = -32768
    assert ("energy_import_wh", "meter1") not in v and ("energy_export_wh", "meter1") not in v  # TotWh_SF
    assert v[("pv_dc_power_w", None)] == 12_730.0  # DCW has its own SF
    assert v[("power_w", "meter1")] == -2_000.0


def test_a_register_flipping_between_sentinel_and_value():
    sim = inverter("int")

    async def go():
        async with SunSpecSimulator([sim]):
            client = await connect(sim.port)
            try:
                found = await discover(client, 1)
                seen = []
                for flip in (False, True, False, True):
                    sim.not_implemented = {"103.W"} if flip else set()
                    seen.append((await poll(client, found)).get(("pv_power_w", None)))
                return seen
            finally:
                client.close()

    assert run(go()) == [12_350.0, None, 12_350.0, None]


def test_live_soro_inverters_follow_the_building_model():
    sims = soro_inverters(clock=lambda: T0)  # 2025-07-05 12:00 UTC (14:00 in Sorø): the sun is up

    async def go():
        async with SunSpecSimulator(sims):
            return [await discover_and_poll(s) for s in sims]

    results = run(go())
    assert [r[0].model_ids for r in results] == [[1, 103, 160, 203], [1, 113], [1, 103, 160]]
    for sim, (_, v) in zip(sims, results, strict=True):
        truth = sim.values(T0)[sim.inverter_model]["W"]
        assert truth > 0
        # integer model: within half a step of the scale factor; float: float32 precision
        assert v[("pv_power_w", None)] == pytest.approx(truth, abs=0.5 * 10**sim.w_sf + 0.01)
    meter = sims[0].values(T0)[203]["W"]
    assert results[0][1][("power_w", "meter1")] == pytest.approx(meter, abs=5.0)


# -- pysunspec2's own test device images ----------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "base"), [("device_1547.json", 40000), ("device_1547.json", 0), ("inverter_123.json", 50000)]
)
def test_pysunspec2_test_images_are_discovered_with_pysunspec2s_models(filename, base):
    path = str(TEST_DATA / filename)
    dev = StaticImage(image_from_pysunspec_json(path, base))

    found = run(_discover_static_at(dev))
    assert found.models == pysunspec_models(path, base)
    assert found.base == base

    from sunspec2.file.client import FileClientDevice

    ref = FileClientDevice(path)
    ref.scan()
    common = ref.common[0]
    assert found.info["manufacturer"] == common.Mn.value
    assert found.info["serial"] == common.SN.value


def test_pysunspec2_1547_image_der_measurements_match_pysunspec2s_computed_values():
    path = str(TEST_DATA / "device_1547.json")
    dev = StaticImage(image_from_pysunspec_json(path, 40000))

    async def go():
        async with SunSpecSimulator([dev]):
            client = await connect(dev.port)
            try:
                found = await discover(client, 1)
                return await poll(client, found)
            finally:
                client.close()

    v = run(go())
    from sunspec2.file.client import FileClientDevice

    ref = FileClientDevice(path)
    ref.scan()
    m = ref.DERMeasureAC[0]
    # pysunspec2's cvalue = value x 10^SF, e.g. Hz 60010 x 10^-3 = 60.01, TotWhInj 150 x 10^3 = 150000
    for point, channel in [("W", "pv_power_w"), ("TotWhInj", "pv_energy_wh"), ("A", "current_a"),
                           ("Hz", "frequency_hz"), ("Var", "reactive_power_var"), ("PF", "power_factor"),
                           ("LNV", "voltage_v"), ("VL1", "voltage_l1_v"), ("VL2", "voltage_l2_v"),
                           ("VL3", "voltage_l3_v")]:
        want = getattr(m, point).cvalue
        if want is None:  # not implemented in the image: no reading
            assert (channel, None) not in v, channel
        else:
            assert v[(channel, None)] == pytest.approx(want), channel
    assert v[("frequency_hz", None)] == pytest.approx(60.01)


async def _discover_static_at(dev: StaticImage) -> SunSpecDevice:
    return await _discover_static(dev)


# -- read-only guarantee --------------------------------------------------------------------------
def test_discovery_and_poll_send_only_read_function_codes():
    received: list[int] = []

    def trace(sending: bool, pdu):
        if not sending:
            received.append(pdu.function_code)
        return pdu

    sims = [inverter("int", base=0), inverter("float", base=50000)]

    async def go():
        async with SunSpecSimulator(sims, trace_pdu=trace):
            for sim in sims:
                await discover_and_poll(sim)  # FC 3
            await discover_and_poll(sims[0], table="input")  # FC 4

    run(go())
    assert received, "the recorder saw nothing"
    assert set(received) == {3, 4}


def test_poller_discovers_and_polls_a_sunspec_device_read_only():
    from energimon.collector.modbus.poller import ModbusPoller
    from energimon.collector.modbus.settings import ModbusTcpDevice

    received: list[int] = []

    def trace(sending: bool, pdu):
        if not sending:
            received.append(pdu.function_code)
        return pdu

    sim = inverter("int")

    async def go():
        async with SunSpecSimulator([sim], trace_pdu=trace):
            dev = ModbusTcpDevice(protocol="modbus_tcp", site="soro-raadhus", id="inverter-1", role="pv",
                                  host="127.0.0.1", port=sim.port, profile="sunspec", interval_s=1, timeout_s=1)

            async def sink(readings, source):
                return True

            poller = ModbusPoller(dev, sink)
            try:
                return await poller.poll_once()
            finally:
                poller.conn.reset()

    readings = run(go())
    got = {(r.device, r.channel): r.value for r in readings}
    assert got[("inverter-1", "pv_power_w")] == 12_350.0
    assert got[("inverter-1-mppt2", "pv_dc_power_w")] == 6_360.0
    assert got[("inverter-1-meter1", "power_w")] == -2_000.0
    assert set(received) == {3}


# -- the mapping itself ---------------------------------------------------------------------------
def test_layouts_come_from_pysunspec2_definitions():
    # offsets from the model's ID register, as in the SunSpec 103 / 160 definitions
    l103 = model_layout(103)
    assert (l103.points["W"].offset, l103.points["W_SF"].offset, l103.points["WH"].offset) == (14, 15, 24)
    assert l103.fixed_len == 52
    l160 = model_layout(160)
    assert (l160.fixed_len, l160.group_len, l160.group_points["DCW"].offset) == (10, 20, 11)


def test_every_mapped_point_has_a_sentinel_or_is_float_and_a_reachable_scale_factor():
    for model_id, length in [(101, 50), (102, 50), (103, 50), (111, 60), (112, 60), (113, 60), (201, 105),
                             (202, 105), (203, 105), (204, 105), (211, 124), (212, 124), (213, 124),
                             (214, 124), (701, 153)]:
        fields, problems = model_fields(model_id, 40000, length)
        assert fields, model_id
        for f in fields:
            assert isinstance(f, RegisterField)
            assert f.sentinels or f.type.startswith("float"), (model_id, f.channel)
            if not f.type.startswith("float"):
                assert f.scale_factor_address is not None, (model_id, f.channel)
                assert abs(f.scale_factor_address - f.address) < 125
        channels = [f.channel for f in fields]
        assert len(channels) == len(set(channels)), model_id
        assert problems == [], (model_id, problems)
        # PF: "Pct" in 10x/11x/20x (-> x 0.01 to the ratio), a ratio already in 21x ("PF") and 701 (no unit)
        (pf,) = [f for f in fields if f.channel == "power_factor"]
        assert pf.scale == (1.0 if model_id in (211, 212, 213, 214, 701) else 0.01), model_id
    assert SUNSPEC_TYPES["acc32"][1][0] == 0 and SUNSPEC_TYPES["int16"][1] == (-0x8000,)
    assert math.isnan(struct.unpack(">f", struct.pack(">I", 0x7FC00000))[0])


def test_mppt_modules_beyond_one_read_from_their_scale_factor_are_reported():
    # module n's DCW is 18 + 20 (n - 1) registers from DCW_SF (inclusive): modules 7 and 8 exceed 125
    fields, problems = model_fields(160, 40000, 8 + 8 * 20)
    assert [f.subdevice for f in fields] == [f"mppt{n}" for n in range(1, 7)]
    assert len(problems) == 2 and all("more than one read" in p for p in problems)


def test_mppt_model_with_room_for_more_modules_than_in_use_maps_only_n():
    sim = inverter("int", with_meter=False, mppts=3, modules_in_use=2)  # L has room for 3 modules, N = 2

    async def go():
        async with SunSpecSimulator([sim]):
            return await discover_and_poll(sim)

    found, v = run(go())
    assert found.models[2] == (160, 40122, 8 + 3 * 20)
    assert sorted(f.subdevice for f in found.fields if f.subdevice) == ["mppt1", "mppt2"]
    # 12346 / 0.97 / 2 = 6363.92 W per module -> raw 636 at DCW_SF 1 -> 6360 W
    assert v[("pv_dc_power_w", "mppt1")] == v[("pv_dc_power_w", "mppt2")] == 6_360.0
