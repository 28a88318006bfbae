"""Every device profile, polled over real Modbus TCP from its simulator image, values and signs checked.

For each product of each profile file (``available_profiles()`` minus SunSpec),
a pymodbus server on a free loopback port serves the register image the real
device would hold for chosen, realistic values (written with the profile's own
field definitions), and the real poller reads it.  Then:

* every channel of the profile arrives, with its value;
* signs follow energimon's convention (docs/ARCHITECTURE.md#signs): an exporting grid meter shows
  negative ``power_w``; a PV inverter shows positive ``pv_power_w``; where the
  device's raw sign is the opposite (``sign = -1``) the raw registers really do
  hold the opposite sign, and the profile fixes it;
* between two polls, only the counter that should grow grows (export, not import);
* a field holding its "not available" value (sentinel or NaN) yields no reading;
* only read function codes are sent, and no request is larger than the product's
  ``max_registers_per_read``.
"""

from __future__ import annotations

import asyncio
import math
import tomllib
from importlib import resources

import pytest

from energimon.collector.modbus.poller import ModbusPoller
from energimon.collector.modbus.profiles import available_profiles, load_profile
from energimon.collector.modbus.registers import plan_reads, raw_value
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.collector.simulator.profile_images import ProfileImage, field_key, serve
from energimon.model import CHANNELS

PROFILES = [p for p in available_profiles() if not p.startswith("sunspec")]

# Realistic values, per role.  Every channel a profile declares must have a value here.
GRID = {  # a town hall exporting 4.25 kW of solar surplus at noon
    "power_w": -4_250.0,
    "energy_import_wh": 1_234_500.0,
    "energy_export_wh": 98_700.0,
    "voltage_v": 230.5,
    "voltage_l1_v": 231.2,
    "voltage_l2_v": 229.8,
    "voltage_l3_v": 230.6,
    "current_a": 18.4,
    "frequency_hz": 50.0,
    "reactive_power_var": 320.0,
    "power_factor": 0.98,
}
PV = {  # a 10 kW string inverter at noon
    "pv_power_w": 7_350.0,
    "pv_dc_power_w": 7_610.0,
    "pv_energy_wh": 15_432_100.0,
    "voltage_v": 230.5,
    "voltage_l1_v": 231.2,
    "voltage_l2_v": 229.8,
    "voltage_l3_v": 230.6,
    "frequency_hz": 50.0,
    "module_temp_c": 41.5,
}
HEAT = {  # district heating in January
    "heat_energy_wh": 812_345_000.0,
    "heat_power_w": 45_250.0,
    "volume_m3": 18_765.43,
    "flow_m3_h": 1.25,
    "supply_temp_c": 72.5,
    "return_temp_c": 41.75,
}


def role_of(channels: set[str]) -> str:
    if channels & {"pv_power_w", "pv_energy_wh", "pv_dc_power_w"}:
        return "pv"
    if channels & {"heat_energy_wh", "heat_power_w", "supply_temp_c"}:
        return "heat"
    return "grid"


VALUES = {"grid": GRID, "pv": PV, "heat": HEAT}
GROWING = {"grid": "energy_export_wh", "pv": "pv_energy_wh", "heat": "heat_energy_wh"}
STILL = {"grid": "energy_import_wh"}


def resolution(f) -> float:
    """Half the smallest step the field can express, in channel units (float types: relative, see below)."""
    return abs(f.scale) / 2 + 1e-9


def step(f, value: float) -> float:
    """The smallest change the field can show near ``value``, in channel units."""
    if f.type == "float32":
        return abs(value) * 2.0**-23 + 1e-9
    if f.type == "float64":
        return abs(value) * 2.0**-52 + 1e-12
    return abs(f.scale)


def close(f, got: float, expected: float) -> bool:
    if f.type.startswith("float"):
        return math.isclose(got, expected, rel_tol=2e-7 if f.type == "float32" else 1e-12, abs_tol=1e-6)
    return abs(got - expected) <= resolution(f)


def device(port: int, name: str, role: str) -> ModbusTcpDevice:
    return ModbusTcpDevice(protocol="modbus_tcp", site="soro-raadhus", id="m1", role=role, host="127.0.0.1",
                           port=port, profile=name, interval_s=1, timeout_s=1)


async def _discard(readings, source) -> bool:
    return True


def by_key(readings) -> dict[str, float]:
    out = {}
    for r in readings:
        sub = r.device.removeprefix("m1").removeprefix("-")
        out[f"{sub}/{r.channel}" if sub else r.channel] = r.value
    return out


def test_every_product_is_tested():
    assert PROFILES, "no profiles found"
    assert "eastron.sdm630" in PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_profile_polls_with_values_and_signs(name):
    profile = load_profile(name)
    keys = {field_key(f) for f in profile.fields}
    channels = {f.channel for f in profile.fields}
    role = role_of(channels)
    chosen = VALUES[role]
    lacking = {f.channel for f in profile.fields} - set(chosen)
    assert not lacking, f"{name}: choose test values for {sorted(lacking)}"
    values = {field_key(f): chosen[f.channel] for f in profile.fields}
    import_only = role == "grid" and "energy_export_wh" not in channels
    if import_only:  # an import-only meter cannot see export: it imports, and only the import counter grows
        values["power_w"] = abs(values["power_w"])
    image = ProfileImage(profile, dict(values))
    requests: list[tuple[int, int]] = []

    def trace(sending: bool, pdu):
        if not sending:
            requests.append((pdu.function_code, getattr(pdu, "count", 0)))
        return pdu

    async def scenario():
        async with serve(image.device(), trace_pdu=trace) as port:
            poller = ModbusPoller(device(port, name, role), _discard)
            try:
                first = by_key(await poller.poll_once())
                grow = "energy_import_wh" if import_only else GROWING[role]
                if grow in values:
                    image.set(grow, values[grow] + 500.0)  # 500 Wh more, e.g. 6 min of 5 kW export
                second = by_key(await poller.poll_once())
                # one field says "not available": its reading disappears, the rest stays
                gone = next((field_key(f) for f in profile.fields if f.type.startswith("float") or f.sentinels),
                            None)
                third = None
                if gone is not None:
                    image.set_missing(gone)
                    third = by_key(await poller.poll_once())
            finally:
                poller.client.close()
        return first, second, gone, third

    first, second, gone, third = asyncio.run(scenario())

    # every channel arrives with its value
    assert set(first) == keys, f"{name}: missing {sorted(keys - set(first))}"
    fields = {field_key(f): f for f in profile.fields}
    for key, expected in values.items():
        assert close(fields[key], first[key], expected), f"{name} {key}: got {first[key]}, expected {expected}"
        info = CHANNELS[fields[key].channel]
        assert info.minimum is None or first[key] >= info.minimum, f"{name} {key} below physical minimum"

    # signs: energimon's convention, whatever the device's own
    if role == "grid" and not import_only:
        assert first["power_w"] < 0, f"{name}: an exporting grid meter must show negative power_w"
    if import_only:
        assert first["power_w"] > 0, f"{name}: an importing grid meter must show positive power_w"
    if role == "pv":
        assert first["pv_power_w"] > 0, f"{name}: a producing inverter must show positive pv_power_w"
    if role == "heat":
        assert first["heat_power_w"] > 0 and first["flow_m3_h"] > 0, f"{name}: heat delivered must be positive"
        assert first["supply_temp_c"] > first["return_temp_c"], f"{name}: t1 (supply) and t2 (return) swapped"
    for f in profile.fields:
        if f.sign == -1:  # the device's raw sign really is the opposite, and the profile fixes it
            regs = ProfileImage(profile, dict(values)).registers()[f.table]  # as the device holds them
            raw = raw_value(f, [regs[f.address + i] for i in range(f.width)])
            assert raw * values[field_key(f)] < 0, f"{name} {f.channel}: raw {raw} should have the opposite sign"

    # counters: only the one that should grow grows
    grow = "energy_import_wh" if import_only else GROWING[role]
    assert (grow in values) == (grow in second)
    if grow in values:
        assert abs(second[grow] - first[grow] - 500.0) <= 2 * step(fields[grow], values[grow] + 500.0), (
            f"{name}: {grow} should grow by 500 Wh, went {first[grow]} -> {second[grow]}")
    if role in STILL and not import_only:
        assert second[STILL[role]] == first[STILL[role]]

    if gone is not None:
        assert gone not in third, f"{name}: a 'not available' {gone} must give no reading, got {third.get(gone)}"
        assert set(third) == keys - {gone}

    # read-only, and within the device's request size
    assert requests and {fc for fc, _ in requests} <= {1, 2, 3, 4}, requests
    assert max(count for _, count in requests) <= profile.max_registers_per_read


def _profile_files():
    d = resources.files("energimon.config").joinpath("profiles")
    return sorted((e.name, e.read_text(encoding="utf-8")) for e in d.iterdir() if e.name.endswith(".toml"))


@pytest.mark.parametrize(("filename", "text"), _profile_files(), ids=[n for n, _ in _profile_files()])
def test_profile_file_cites_its_source_and_every_product_states_its_signs(filename, text):
    data = tomllib.loads(text)
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Source" in header or "source" in header, f"{filename}: the header comment must name the vendor document"
    assert len(data.get("profile", {}).get("source", "")) > 20, f"{filename}: [profile] source must cite the document"
    assert "caveat" in header.lower(), f"{filename}: the header comment must list the known caveats"
    products = data.get("products", {})
    assert products, f"{filename}: no products"
    for key, spec in products.items():
        conv = spec.get("sign_convention", "")
        assert len(conv) > 20, f"{filename} products.{key}: sign_convention must explain the mapping"
        assert spec.get("name"), f"{filename} products.{key}: name missing"


@pytest.mark.parametrize("name", PROFILES)
def test_plan_respects_max_registers_per_read(name):
    p = load_profile(name)
    blocks = plan_reads(list(p.fields), p.max_registers_per_read, p.max_gap)
    assert blocks
    assert all(b.count <= p.max_registers_per_read for b in blocks)
    assert sum(len(b.fields) for b in blocks) == len(p.fields)
    # a one-request-per-field device still fits: no single field is wider than the cap
    assert all(b.count <= p.max_registers_per_read for b in plan_reads(list(p.fields), p.max_registers_per_read, -1))


# Golden registers, written by hand from the vendor documents (NOT with registers.encode or the
# profile's own word order/scale/sign): what the real device sends for a known situation.  The image
# test above proves the profile is self-consistent; this one proves it matches the device.
#   product: (table, {address: word}, {channel: expected value in energimon's convention})
GOLDEN = {
    # float32, high word first: -4250.0 W = 0xC584D000 (import - export: exporting 4.25 kW); 1234.5 kWh
    "eastron.sdm630": ("input", {0x34: 0xC584, 0x35: 0xD000, 0x48: 0x449A, 0x49: 0x5000},
                       {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    "eastron.sdm72dm": ("input", {0x34: 0xC584, 0x35: 0xD000, 0x48: 0x449A, 0x49: 0x5000},
                        {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    "eastron.sdm120": ("input", {0x0C: 0xC584, 0x0D: 0xD000, 0x48: 0x449A, 0x49: 0x5000},
                       {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    # INT32 low word first: W*10 = -42500 = 0xFFFF59FC -> 59FC FFFF; kWh*10 = 12345 = 0x3039 -> 3039 0000
    "carlo_gavazzi.em24": ("input", {0x28: 0x59FC, 0x29: 0xFFFF, 0x3E: 0x3039, 0x3F: 0x0000},
                           {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    "carlo_gavazzi.em340": ("input", {0x28: 0x59FC, 0x29: 0xFFFF, 0x34: 0x3039, 0x35: 0x0000},
                            {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    "carlo_gavazzi.em330": ("input", {0x28: 0x59FC, 0x29: 0xFFFF, 0x34: 0x3039, 0x35: 0x0000},
                            {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    # register 3060 (address 3059) float32 kW: -4.25 = 0xC0880000; register 3204 (address 3203) Int64 Wh
    "schneider.iem3155": ("holding", {3059: 0xC088, 3060: 0x0000, 3203: 0, 3204: 0, 3205: 0x0012, 3206: 0xD644},
                          {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    "schneider.iem3150": ("holding", {3059: 0x4088, 3060: 0x0000, 3203: 0, 3204: 0, 3205: 0x0012, 3206: 0xD644},
                          {"power_w": 4250.0, "energy_import_wh": 1_234_500.0}),
    # 32080 I32 kW gain 1000: 7350 = 0x1CB6; 32106 U32 kWh gain 100: 15432.10 kWh = 1543210 = 0x178C2A
    "huawei.sun2000": ("holding", {32080: 0x0000, 32081: 0x1CB6, 32106: 0x0017, 32107: 0x8C2A},
                       {"pv_power_w": 7350.0, "pv_energy_wh": 15_432_100.0}),
    # 37113 I32 W, Huawei: > 0 = feed-in.  Exporting 4.25 kW -> raw +4250 -> energimon -4250.
    # 37121 "reverse active power" (from the grid) kWh gain 100: 1234.50 kWh = 123450 = 0x1E23A
    "huawei.sun2000_meter": ("holding", {37113: 0x0000, 37114: 0x109A, 37121: 0x0001, 37122: 0xE23A},
                             {"power_w": -4250.0, "energy_import_wh": 1_234_500.0}),
    # float32 Actual Power 45.25 kW = 0x42350000; t1 72.5 degC = 0x42910000
    "kamstrup.multical603": ("holding", {0x04: 0x4235, 0x05: 0x0000, 0x06: 0x4291, 0x07: 0x0000},
                             {"heat_power_w": 45_250.0, "supply_temp_c": 72.5}),
    "kamstrup.multical403": ("holding", {0x04: 0x4235, 0x05: 0x0000, 0x06: 0x4291, 0x07: 0x0000},
                             {"heat_power_w": 45_250.0, "supply_temp_c": 72.5}),
}


def test_every_product_has_golden_registers():
    assert set(PROFILES) <= set(GOLDEN), f"write golden registers for {sorted(set(PROFILES) - set(GOLDEN))}"


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_registers_decode_as_the_vendor_document_says(name):
    from pymodbus.simulator import DataType, SimData, SimDevice

    table, words, expected = GOLDEN[name]
    profile = load_profile(name)
    assert {f.table for f in profile.fields} == {table}
    spans = [(f.address, f.address + f.width) for f in profile.fields]
    lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
    regs = [words.get(a, 0) for a in range(lo, hi)]
    device_image = SimDevice(id=1, simdata=[SimData(address=lo, values=regs, datatype=DataType.REGISTERS)])

    async def scenario():
        async with serve(device_image) as port:
            poller = ModbusPoller(device(port, name, role_of({f.channel for f in profile.fields})), _discard)
            try:
                return by_key(await poller.poll_once())
            finally:
                poller.client.close()

    got = asyncio.run(scenario())
    for channel, value in expected.items():
        assert got[channel] == pytest.approx(value, rel=1e-6), f"{name} {channel}: {got[channel]} != {value}"


def test_image_with_overlapping_holding_and_input_coils_scale_factor_and_sentinel():
    """The simulator side on its own: non-shared tables, a SunSpec-style scale factor, a sentinel."""
    from energimon.collector.modbus.fields import RegisterField
    from energimon.collector.modbus.profiles import Profile

    regs = [
        dict(channel="power_w", address=0x10, table="holding", type="int16", scale_factor_address=0x12),
        dict(channel="voltage_v", address=0x10, table="input", type="uint16", scale=0.1, sentinels=(0xFFFF,)),
        dict(channel="frequency_hz", address=0x11, table="input", type="uint16", scale=0.01, sentinels=(0xFFFF,)),
        dict(channel="device_online", address=3, table="coil", type="bool"),
    ]
    profile = Profile(name="test.mixed", product="test", source="test", sign_convention="test",
                      fields=tuple(RegisterField(**r) for r in regs))
    image = ProfileImage(profile, {"power_w": -1200.0, "voltage_v": 231.4, "frequency_hz": 50.02,
                                   "device_online": 1.0}, scale_factors={0x12: 1})
    assert not image.shared
    assert image.registers()["holding"] == {0x12: 1, 0x10: (-120) & 0xFFFF}

    async def scenario():
        async with serve(image.device()) as port:
            dev = ModbusTcpDevice(protocol="modbus_tcp", site="soro-raadhus", id="m1", role="grid", host="127.0.0.1",
                                  port=port, registers=regs, interval_s=1, timeout_s=1)
            poller = ModbusPoller(dev, _discard)
            try:
                first = by_key(await poller.poll_once())
                image.set_missing("frequency_hz")
                image.set("power_w", 800.0)
                second = by_key(await poller.poll_once())
            finally:
                poller.client.close()
        return first, second

    first, second = asyncio.run(scenario())
    assert first == pytest.approx({"power_w": -1200.0, "voltage_v": 231.4, "frequency_hz": 50.02,
                                   "device_online": 1.0})
    assert second == pytest.approx({"power_w": 800.0, "voltage_v": 231.4, "device_online": 1.0})
