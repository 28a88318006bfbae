"""energimon.stamps: the times energimon gives are strictly increasing per stream and never given twice —
within a burst, after the clock steps back, across a restart (through the spool) — and the collectors use it."""

from __future__ import annotations

import logging
import time

import pytest

from energimon.collector.mqtt.routing import Message, Router
from energimon.collector.mqtt.settings import MqttSubscription
from energimon.model import MAX_FUTURE_MS, DeviceTimedReading, OnConflict, Reading
from energimon.stamps import Stamper
from energimon.store.spool import Spool

T = 1_764_403_200_000  # 2025-11-29T08:00:00Z


class SteppedClock:
    """``time()`` = the real clock + ``offset_s`` (to step it back); the stamper measures steps against the
    real monotonic clock."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def time(self) -> float:
        return time.time() + self.offset_s


def test_a_burst_in_one_millisecond_gets_consecutive_stamps_per_stream():
    s = Stamper()
    assert [s.stamp("a", T) for _ in range(5)] == [T, T + 1, T + 2, T + 3, T + 4]
    assert s.stamp("b", T) == T  # another series is not affected
    assert s.stamp("a", T + 2) == T + 5  # the clock has not caught up yet
    assert s.stamp("a", T + 100) == T + 100  # it has


def test_after_a_step_back_stamps_continue_after_the_last_one_and_the_step_is_logged(caplog):
    clock = SteppedClock()
    s = Stamper(clock)
    first = s.stamp("a")
    clock.offset_s = -3600  # NTP or an operator sets the clock back an hour
    with caplog.at_level(logging.WARNING, logger="energimon.stamps"):
        second, third = s.stamp("a"), s.stamp("a")
    assert (second, third) == (first + 1, first + 2)
    assert s.steps_back == 1
    assert [r.getMessage() for r in caplog.records if "stepped back by 3600 s" in r.getMessage()]


def test_a_lead_of_more_than_24_hours_is_given_up_with_an_error(caplog):
    s = Stamper()
    s.load({"a": T + MAX_FUTURE_MS + 60_000})  # stamps from a clock that was a day and a minute ahead
    with caplog.at_level(logging.ERROR, logger="energimon.stamps"):
        assert s.stamp("a", T) == T  # else every reading would be refused as more than 24 h in the future
    assert s.rebased == 1 and "more than 24 h ahead" in caplog.text
    assert s.stamp("a", T) == T + 1


def test_a_device_time_moves_later_stamps_after_it_unless_it_lies_in_the_future():
    s = Stamper()
    s.observe("a", T + 500, now_ms=T + 1000)
    assert s.stamp("a", T + 200) == T + 501  # never on the millisecond the device's reading holds
    s.observe("b", T + 10_000, now_ms=T)  # a device clock running ahead does not drag our stamps along
    assert s.stamp("b", T) == T


def test_pending_stamps_leave_only_once_committed_and_not_when_superseded():
    s = Stamper()
    s.stamp("a", T)
    snap = s.pending()
    s.stamp("a", T)  # a newer stamp of the same stream while the first transaction commits
    s.committed(snap)
    assert s.pending() == {"a": T + 1}  # still to be committed with the next transaction
    s.committed(s.pending())
    assert s.pending() == {}


def test_no_stamp_is_given_twice_across_a_restart(tmp_path):
    """The last stamps are committed with the readings; a restart whose clock is behind them (a burst ran ahead,
    or the clock was set back while the daemon was down) continues after them."""
    spool = Spool(tmp_path / "spool.db")
    s = Stamper()
    burst = [Reading("soro-raadhus", "m1", "power_w", "submeter", s.stamp("soro-raadhus/m1/power_w", T), float(i))
             for i in range(3)]
    pending = s.pending()
    spool.put(burst, "test", pending)
    s.committed(pending)
    spool.close()

    reopened = Spool(tmp_path / "spool.db")
    assert reopened.stamps() == {"soro-raadhus/m1/power_w": T + 2}
    after = Stamper()
    after.load(reopened.stamps())
    assert after.stamp("soro-raadhus/m1/power_w", T) == T + 3  # the clock says T again: not reused
    reopened.close()


def test_the_spool_keeps_which_readings_carry_the_device_time(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    ours = Reading("soro-raadhus", "m1", "power_w", "submeter", T, 1.0)
    theirs = DeviceTimedReading("soro-raadhus", "m1", "power_w", "submeter", T + 1, 2.0)
    spool.put([ours, theirs], "test")
    got = spool.take(10).readings
    assert got == [ours, theirs]
    assert [type(r) for r in got] == [Reading, DeviceTimedReading]
    assert [r.on_conflict for r in got] == [OnConflict.OVERWRITE, OnConflict.KEEP]
    spool.close()


def test_a_spool_from_before_the_keep_column_opens_and_its_readings_are_ours(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL,
        device TEXT NOT NULL, channel TEXT NOT NULL, role TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL);
        INSERT INTO readings (site, device, channel, role, ts_ms, value)
        VALUES ('soro-raadhus', 'm1', 'power_w', 'submeter', 1764403200000, 5.0);""")
    db.commit()
    db.close()
    spool = Spool(path)
    (r,) = spool.take(10).readings
    assert type(r) is Reading and r.value == 5.0
    spool.close()


@pytest.mark.parametrize("payload, device_time", [(b"21.5", False), (b'{"value": 21.5, "ts": 1764403200}', True)])
def test_the_mqtt_router_stamps_payloads_without_a_time_and_marks_those_with_one(payload, device_time):
    fmt = {"format": "json", "time_path": "ts"} if device_time else {}
    router = Router([MqttSubscription(topic="b/{site}/{device}/{channel}", role="submeter", **fmt)],
                    ["soro-raadhus"], 65536)
    msgs = [Message(i, 1, "b/soro-raadhus/m1/outdoor_temp_c", payload, False, T) for i in range(3)]
    out = router.process(msgs, now_ms=T)
    if device_time:  # the payload's time, three times: one reading in the store (idempotent), marked KEEP
        assert [r.ts_ms for r in out.readings] == [T] * 3
        assert all(isinstance(r, DeviceTimedReading) for r in out.readings)
    else:  # three messages received in the same millisecond: three stamps
        assert [r.ts_ms for r in out.readings] == [T, T + 1, T + 2]
        assert all(type(r) is Reading for r in out.readings)
