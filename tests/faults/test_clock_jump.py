"""The system clock steps (NTP, an operator): back 1 h, forward 1 h, back 2 s — while the daemon polls.

The behaviour, decided in energimon.stamps (the rule every collector follows; README, "Data model and
conventions"):

* **A reading's time is the system clock's (UTC) when the device answered — but at least 1 ms after the
  device's previous stamp.**  After a step back, polls are stamped 1 ms apart after the last stamp until
  the clock has caught up: no stamp is given twice, and the readings stay in the order they were taken
  (an energy counter never appears to run backwards because of our stamps).  Without that, the store's
  idempotent rule (one value per series and millisecond: a redelivered reading overwrites itself) would
  silently replace a reading from before the step with one from after it.  After a step forward the
  times jump with the clock.
* **Intervals run on the monotonic clock**, so a step neither stalls polling (a step back of 1 h must not
  mean an hour without polls) nor causes a burst of catch-up polls after a step forward.
* **Nothing is lost or merged**: the spool, writer and store take readings in any time order (no "older
  than the last one" filter anywhere).
* The poller logs each step, with its size, once.

The device counts its answers (its counter holds the request number), so every poll must be in the store
once.  The poller's clock is replaced by one whose ``time()`` can be stepped; this clock has a resolution
of one second, so that the stamps after the 2 s step back land exactly on seconds already used.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.wait import async_wait_for

from energimon.app.daemon import Daemon
from energimon.collector.modbus import poller as poller_module
from energimon.config.settings import settings_from_dict
from faults.devices import COUNTING_REGISTERS, CountingMeter, keyed_by_value
from faults.harness import Tally, assert_exact, sqlite_rows, tally

SITE = "soro-raadhus"


class SteppedClock:
    """The ``time`` module as the poller sees it: ``time()`` is the system clock plus ``offset_s``, in whole
    seconds; everything else (``monotonic`` …) is the real module."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def time(self) -> float:
        return float(math.floor(time.time() + self.offset_s))

    def __getattr__(self, name: str):
        return getattr(time, name)


def steps_name(steps: tuple[tuple[int, float], ...]) -> str:
    offsets = [0.0, *(o for _, o in steps)]
    deltas = [b - a for a, b in itertools.pairwise(offsets)]
    return "clock steps: " + ", ".join(f"{d / 3600:+g} h" if d % 3600 == 0 else f"{d:+g} s" for d in deltas)


@dataclass
class Outcome:
    tally: Tally
    gaps_s: list[float]  # between the device's answers (real, monotonic)
    stamps_s: list[float]  # the stored counter readings' times, in poll order, relative to the first
    log: list[str]


def run_clock_jump(workdir: Path, *, steps: tuple[tuple[int, float], ...] = ((1, -3600), (2, 0), (4, -2)),
                   polls: int = 6) -> Outcome:
    """``steps``: after the device's answer number n, the clock's offset becomes s seconds."""
    meter = CountingMeter()
    clock = SteppedClock()
    records: list[str] = []

    async def scenario() -> None:
        await meter.start()
        try:
            settings = settings_from_dict({
                "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55}},
                "store": {"path": str(workdir / "store.db")},
                "spool": {"path": str(workdir / "spool.db"), "flush_timeout_s": 5},
                "devices": [{"protocol": "modbus_tcp", "site": SITE, "id": "sund", "role": "submeter",
                             "host": "127.0.0.1", "port": meter.port, "registers": COUNTING_REGISTERS,
                             "interval_s": 1, "timeout_s": 1}],
            })
            daemon = Daemon(settings)
            # Start in the first half of a second: with the 1 s clock, each poll then stamps its own second.
            await async_wait_for(lambda: 0.15 <= time.time() % 1 <= 0.35, 2, "the first half of a second", 0.01)
            task = asyncio.create_task(daemon.run(install_signal_handlers=False))
            for after, offset in steps:
                await async_wait_for(lambda after=after: meter.answered >= after, 30, f"answer {after}", 0.01)
                await asyncio.sleep(0.3)  # a moment between two polls (1 s apart): the step lands between them
                clock.offset_s = offset
            await async_wait_for(lambda: meter.answered >= polls, 30, f"{polls} answers", 0.01)
            await asyncio.sleep(0.3)
            daemon.request_stop()
            assert await asyncio.wait_for(task, 15) == 0
        finally:
            await meter.stop()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = Keep(logging.WARNING)
    logger = logging.getLogger("energimon.collector.modbus")
    logger.addHandler(handler)
    real_time = poller_module.time
    poller_module.time = clock
    try:
        asyncio.run(scenario())
    finally:
        poller_module.time = real_time
        logger.removeHandler(handler)
    rows = sqlite_rows(workdir / "store.db", "sund", ["energy_import_wh"])
    by_value = sorted(rows, key=lambda r: r[1])
    first = by_value[0][0][3] if by_value else 0
    times = meter.answer_times
    return Outcome(tally(steps_name(steps), meter.produced(SITE, "sund"), keyed_by_value(rows)),
                   [b - a for a, b in itertools.pairwise(times)],
                   [(r[0][3] - first) / 1000 for r in by_value], records)


@pytest.mark.slow
def test_clock_steps_keep_polling_on_time_and_every_reading_once(tmp_path, fault_table):
    out = run_clock_jump(tmp_path)
    t = fault_table.add(out.tally)
    assert t.produced >= 6
    assert_exact(t)
    # intervals on the monotonic clock: no hour-long pause after the step back, no burst after the step forward
    assert all(0.5 < g < 1.5 for g in out.gaps_s), out.gaps_s
    # poll 1 at 0; poll 2, an hour back by the clock, 1 ms after poll 1; polls 3-4 on the clock again (2 s, 3 s);
    # polls 5-6, two seconds back by the clock (at 2 s and 3 s, the stamps polls 3-4 have): 1 ms after poll 4
    s = out.stamps_s
    assert s == [0, 0.001, 2, 3, 3.001, 3.002], s
    assert any("stepped back by 3600 s" in m for m in out.log), out.log
    assert any("stepped forward by 3600 s" in m for m in out.log), out.log
    assert any("stepped back by 2 s" in m for m in out.log), out.log
