"""Modbus devices misbehaving in one daemon run: one never answers in time, one answers garbage (exception
codes, too few registers, a byte count that lies, bytes that are no Modbus), one hangs up on every request.
A healthy device polled by the same daemon is unaffected: each of its polls lands exactly once, on time.

The daemon runs in-process (its real pollers, spool, writer and SQLite store); the devices are real TCP
servers on loopback.  "Produced" is the healthy device's answered polls: its counter register holds the
request number, so the store must hold 1, 2, … n, each once.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from energimon.app.daemon import Daemon
from energimon.config.settings import settings_from_dict
from faults.devices import (
    COUNTING_REGISTERS,
    SCATTERED_REGISTERS,
    CountingMeter,
    RawDevice,
    SlowMeter,
    keyed_by_value,
)
from faults.harness import Tally, assert_exact, sqlite_rows, tally

SITE = "soro-raadhus"
HEALTH = {"device_online", "poll_errors", "fields_missing"}


def device(dev_id: str, port: int, **kw) -> dict:
    return {"protocol": "modbus_tcp", "site": SITE, "id": dev_id, "role": "submeter", "host": "127.0.0.1",
            "port": port, "registers": COUNTING_REGISTERS, "interval_s": 1, "timeout_s": 0.3, **kw}


@dataclass
class Outcome:
    tally: Tally
    gaps_s: list[float]  # between the healthy device's answers
    power_rows: int
    other_values: dict[str, set[str]]  # measurement channels stored for the misbehaving devices
    online: dict[str, set[float]]  # device_online values stored per device
    missing: dict[str, set[float]]  # fields_missing values stored per device
    health: dict[str, dict[str, int]]  # error counts per device
    requests: dict[str, int]  # requests each misbehaving device saw


def run_modbus_faults(workdir: Path, *, run_s: float = 4.5) -> Outcome:
    healthy, slow = CountingMeter(), SlowMeter(delay_s=1.0)
    garbage, hangup = RawDevice("garbage"), RawDevice("hangup")

    async def scenario() -> Daemon:
        for d in (healthy, slow, garbage, hangup):
            await d.start()
        try:
            settings = settings_from_dict({
                "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55}},
                "store": {"path": str(workdir / "store.db")},
                "spool": {"path": str(workdir / "spool.db"), "flush_timeout_s": 5},
                "devices": [device("sund", healthy.port), device("langsom", slow.port),
                            device("vroevl", garbage.port, registers=SCATTERED_REGISTERS),
                            device("lukker", hangup.port)],
            })
            daemon = Daemon(settings)
            task = asyncio.create_task(daemon.run(install_signal_handlers=False))
            await asyncio.sleep(run_s)
            daemon.request_stop()
            assert await asyncio.wait_for(task, 15) == 0
            return daemon
        finally:
            for d in (healthy, slow, garbage, hangup):
                await d.stop()

    daemon = asyncio.run(scenario())
    rows = sqlite_rows(workdir / "store.db")
    counter = [r for r in rows if r[0][1] == "sund" and r[0][2] == "energy_import_wh"]
    others = {"langsom", "vroevl", "lukker"}
    times = healthy.answer_times
    return Outcome(
        tally("modbus: slow/garbage/hangup + healthy", healthy.produced(SITE, "sund"), keyed_by_value(counter)),
        [b - a for a, b in itertools.pairwise(times)],
        sum(1 for (_, d, c, _), _ in rows if d == "sund" and c == "power_w"),
        {d: {c for (_, dd, c, _), _ in rows if dd == d and c not in HEALTH} for d in others},
        {d: {v for (_, dd, c, _), v in rows if dd == d and c == "device_online"} for d in {*others, "sund"}},
        {d: {v for (_, dd, c, _), v in rows if dd == d and c == "fields_missing"} for d in {*others, "sund"}},
        {p.device.id: dict(p.health.errors) for p in daemon.pollers},
        {"langsom": slow.requests, "vroevl": garbage.requests, "lukker": hangup.requests},
    )


@pytest.mark.slow
def test_misbehaving_devices_cost_the_healthy_one_nothing(tmp_path, fault_table):
    out = run_modbus_faults(tmp_path)
    t = fault_table.add(out.tally)
    assert t.produced >= 3
    assert_exact(t)
    assert out.power_rows == t.produced  # every poll stored whole
    # on time: one poll a second, neither delayed by the others' timeouts nor doubled
    assert all(0.5 < g < 1.5 for g in out.gaps_s), out.gaps_s
    assert out.online["sund"] == {1.0}
    # the others were asked, and nothing they said became a value
    assert all(n >= 1 for n in out.requests.values()), out.requests
    assert out.other_values == {"langsom": set(), "vroevl": set(), "lukker": set()}
    assert out.online["langsom"] == {0.0} and out.online["lukker"] == {0.0}
    # the garbage device: one exception, one short answer, one lying byte count, one non-Modbus answer in its
    # first poll; each field is quarantined (retried alone every 10 polls) and stored as missing, never as a value
    assert out.requests["vroevl"] == 4
    # (the lying byte count and the non-Modbus bytes are recognised as malformed at once, not waited out)
    assert out.health["vroevl"] == {"exception_4": 1, "short_response": 1, "malformed_answer": 2}, \
        out.health["vroevl"]
    assert out.missing["vroevl"] == {4.0} and out.missing["sund"] == {0.0}
    assert out.health["langsom"].get("unreachable", 0) >= 1 and out.health["lukker"].get("unreachable", 0) >= 1
    assert out.health["sund"] == {}
    assert not any(h.get("internal") for h in out.health.values())  # no poller hit an unexpected exception
