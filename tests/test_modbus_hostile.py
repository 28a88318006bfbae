"""Hostile devices: answers that are no valid Modbus TCP (a byte count larger than the frame, a frame from
another unit id, bytes that are no Modbus at all, and the fault suite's rotating garbage).

Asserted on what a person sees: every WARNING/ERROR log line names site and device and carries no
traceback; nothing is logged by asyncio or pymodbus themselves at WARNING or above; ``energimon probe``
prints one line per problem, and its hints name only options ``energimon probe --help`` lists.
The devices are raw asyncio TCP servers on 127.0.0.1 (tests/faults/devices.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys

import pytest
from faults.devices import DevicesInThread, RawDevice
from helpers.wait import async_wait_for

from energimon.collector.modbus.client import describe_frame
from energimon.collector.modbus.poller import ModbusPoller
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.collector.simulator.profile_images import image_for, serve
from energimon.logs import LineFormatter

SITE = "soro-raadhus"


class ByteCountLiar(RawDevice):
    """Answers every read with 'byte count 8' followed by two data bytes (the device in the issue)."""

    def __init__(self) -> None:
        super().__init__("liar")

    def _answer(self, header: bytes, pdu: bytes) -> bytes:
        body = bytes([pdu[0], 8, 0x00, 0x2A])
        return header[:4] + (len(body) + 1).to_bytes(2, "big") + header[6:7] + body


class OtherUnit(RawDevice):
    """Answers correctly - but as unit id + 1 (two devices with one address, or a wrong --unit)."""

    def __init__(self) -> None:
        super().__init__("other-unit")

    def _answer(self, header: bytes, pdu: bytes) -> bytes:
        count = int.from_bytes(pdu[3:5], "big")
        body = bytes([pdu[0], 2 * count]) + b"\x00\x2a" * count
        return header[:4] + (len(body) + 1).to_bytes(2, "big") + bytes([header[6] + 1]) + body


class RtuOverTcp(RawDevice):
    """A gateway set to 'RTU over TCP': answers with an RTU frame (unit, function, count, data, CRC)."""

    def __init__(self) -> None:
        super().__init__("rtu")

    def _answer(self, header: bytes, pdu: bytes) -> bytes:
        count = int.from_bytes(pdu[3:5], "big")
        return bytes([header[6], pdu[0], 2 * count]) + b"\x00\x2a" * count + b"\x12\x34"


REGS = [{"channel": "power_w", "address": 0, "type": "uint16"},
        {"channel": "voltage_v", "address": 200, "type": "uint16"}]  # two requests per poll


def _device(dev_id: str, port: int) -> ModbusTcpDevice:
    return ModbusTcpDevice(protocol="modbus_tcp", site=SITE, id=dev_id, role="submeter", host="127.0.0.1",
                           port=port, registers=REGS, interval_s=1, timeout_s=0.3)


async def _keep(readings, source) -> bool:
    return True


@pytest.mark.parametrize(("frame", "expected"), [
    # MBAP: tid 0001, protocol 0000, length 0005, unit 01 | PDU 03 08 002A: byte count 8, 2 bytes follow
    (bytes.fromhex("0001 0000 0005 01 03 08 002a"), "byte count 8, but 2 data bytes follow"),
    (bytes.fromhex("0001 0000 0005 02 03 02 002a"), "an answer from unit 2 (unit 1 was asked)"),
    (bytes.fromhex("0103 0400 2a00 2a12 34"), "not a Modbus TCP answer (protocol id 0x0400"),
    (bytes.fromhex("0001 0000 0009 01 03"), "incomplete frame"),
])
def test_a_bad_frame_is_described_in_words(frame, expected):
    assert expected in describe_frame(frame, 1)


def test_hostile_devices_log_one_attributed_line_without_tracebacks(caplog):
    caplog.set_level(logging.DEBUG)  # everything pymodbus says, too
    devices = {"loegner": ByteCountLiar(), "anden-enhed": OtherUnit(), "rtu": RtuOverTcp(),
               "vroevl": RawDevice("garbage")}

    async def scenario():
        for d in devices.values():
            await d.start()
        pollers = {name: ModbusPoller(_device(name, d.port), _keep) for name, d in devices.items()}
        stop = asyncio.Event()
        tasks = [asyncio.create_task(p.run(stop)) for p in pollers.values()]
        await async_wait_for(lambda: min(p.health.polls for p in pollers.values()) >= 2, 30,
                             lambda: f"two polls of every device ({ {n: p.health.polls for n, p in pollers.items()} })")
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        for d in devices.values():
            await d.stop()
        return pollers

    pollers = asyncio.run(scenario())
    assert min(p.health.polls for p in pollers.values()) >= 2
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud, "the bad devices must be reported"
    assert not [r for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.WARNING]
    assert not [r for r in loud if r.name.startswith("pymodbus")]  # attributed, re-logged at DEBUG
    fmt = LineFormatter()
    for r in loud:
        assert r.name.startswith("energimon.collector"), r.name
        assert getattr(r, "site", None) == SITE and getattr(r, "device", None) in devices, fmt.format(r)
        line = fmt.format(r)
        assert "Traceback" not in line and r.exc_info is None and len(line) < 400, line
    by_device = {name: " ".join(r.getMessage() for r in loud if r.device == name) for name in devices}
    assert "byte count 8, but 2 data bytes follow" in by_device["loegner"]
    assert "an answer from unit 2 (unit 1 was asked)" in by_device["anden-enhed"]
    assert "not a Modbus TCP answer" in by_device["rtu"]
    assert "quarantined" in by_device["vroevl"]  # some answers were valid: the fields, not the device
    # pymodbus' words are kept, attributed to the device, at DEBUG
    quiet = [r for r in caplog.records if r.levelno == logging.DEBUG and r.getMessage().startswith("pymodbus:")]
    assert any(getattr(r, "device", None) == "loegner" for r in quiet)
    assert not any(p.health.errors.get("internal") for p in pollers.values())
    assert pollers["loegner"].health.errors.get("malformed_answer", 0) >= 1


def _probe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "energimon", "probe", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def probe_options() -> set[str]:
    text = _probe("--help").stdout
    return set(re.findall(r"--[a-z][a-z-]+", text))


@pytest.mark.parametrize("make", [ByteCountLiar, OtherUnit, RtuOverTcp])
def test_probe_of_a_hostile_device_is_one_line_whose_hint_names_real_options(make, probe_options):
    dev = make()
    with DevicesInThread(dev):
        proc = _probe(f"127.0.0.1:{dev.port}", "--profile", "eastron.sdm630", "--timeout", "0.5")
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    (line,) = lines
    assert line.startswith(f"energimon probe: 127.0.0.1:{dev.port} unit 1: ")
    assert "Traceback" not in line and "Fatal error" not in line
    named = set(re.findall(r"--[a-z][a-z-]+", line))
    assert named and named <= probe_options, (named, probe_options)


def test_probe_rows_say_why_a_value_is_missing():
    """A device that answers, but not every register (here: an SDM630 probed with the EM340 profile by
    mistake): one row per field, the failing one says why - no pointer to a '--debug log' that is not there."""

    async def scenario():
        image = image_for("eastron.sdm630", {"power_w": 1000.0})  # input registers 0000h-004Bh only
        async with serve(image.device()) as port:
            sdm = await asyncio.to_thread(_probe, f"127.0.0.1:{port}", "--profile", "eastron.sdm630")
            em = await asyncio.to_thread(_probe, f"127.0.0.1:{port}", "--profile", "carlo_gavazzi.em340")
            return sdm, em

    sdm, em = asyncio.run(scenario())
    assert sdm.returncode == 0 and em.returncode == 0, (sdm.stderr, em.stderr)
    assert sdm.stderr == em.stderr == ""
    # the image's serial register holds 0 (not set): not a serial number, said once
    # the probe speaks Danish by default: labels and numbers (1.000,000); the poller's problem text stays English
    assert "  kan ikke læses: serial (holding 64512): empty" in sdm.stdout.splitlines()
    assert "power_w" in sdm.stdout and "1.000,000" in sdm.stdout
    rows = [line for line in em.stdout.splitlines() if line.startswith("energy_export_wh")]
    # EM340 kWh (-) TOT at 004Eh-004Fh lies beyond the SDM630's last register 004Bh
    assert len(rows) == 1 and "Modbus exception 2 (illegal data address)" in rows[0], em.stdout
    for out in (sdm.stdout, em.stdout):
        assert "Traceback" not in out and "--debug log" not in out
