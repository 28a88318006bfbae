"""The durable spool on real SQLite files: durability across restarts and SIGKILL, the full policy, validation."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.wait import wait_for

from energimon.model import MAX_FUTURE_MS, MIN_TIMESTAMP_MS, Reading, now_ms
from energimon.store.spool import PutResult, Spool, SpoolFull

WORKER = Path(__file__).parent / "helpers" / "spool_worker.py"
_spec = importlib.util.spec_from_file_location("spool_worker", WORKER)
spool_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spool_worker)

BASE_MS = now_ms() - 30 * 86_400_000  # a month ago: valid, whole seconds don't matter


def make(n: int, base_ms: int = BASE_MS) -> list[Reading]:
    return spool_worker.readings(base_ms, n)


def take_all(spool: Spool) -> list[Reading]:
    batch = spool.take(10**9)
    return [] if batch is None else batch.readings


def spool_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "energimon.spool" and r.levelno == logging.WARNING]


def back_below(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "energimon.spool" and "back below" in r.getMessage()]


def levels(messages: list[str]) -> list[str]:
    """'spool 80% full (...)' / 'spool back below 80% (...)' -> '80%'."""
    return [next(w for w in m.split() if w.endswith("%")) for m in messages]


# -- basic contract -------------------------------------------------------------------------------
def test_take_hands_out_oldest_first_and_ack_forgets_exactly_the_batch(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    data = make(25)
    for i in range(0, 25, 5):
        assert spool.put(data[i:i + 5]).accepted == 5
    assert spool.backlog() == 25
    first = spool.take(10)
    assert first.readings == data[:10] and len(first) == 10
    again = spool.take(10)
    assert again.readings == data[:10], "take() must not remove anything before ack()"
    spool.ack(first)
    assert spool.backlog() == 15
    assert take_all(spool) == data[10:]
    spool.ack(spool.take(100))
    assert spool.backlog() == 0 and spool.take(10) is None
    spool.close()


def test_a_stale_ack_never_deletes_readings_put_later(tmp_path):
    # A batch acked twice (writer cancelled mid-ack at shutdown, then flushed) must not take
    # newer readings with it, even after the spool was empty in between: ids are never reused.
    spool = Spool(tmp_path / "spool.db")
    data = make(6)
    spool.put(data[:3])
    batch = spool.take(100)
    spool.ack(batch)
    assert spool.backlog() == 0
    spool.put(data[3:])
    spool.ack(batch)  # stale
    assert spool.backlog() == 3
    assert take_all(spool) == data[3:]
    spool.close()
    reopened = Spool(tmp_path / "spool.db")  # and not after a restart either
    reopened.ack(batch)
    assert take_all(reopened) == data[3:]
    reopened.close()


def test_backlog_and_order_survive_a_restart(tmp_path):
    path = tmp_path / "spool.db"
    spool = Spool(path)
    data = make(1000)
    for i in range(0, 1000, 100):
        spool.put(data[i:i + 100], source="modbus:test")
    spool.ack(spool.take(150))
    spool.close()

    reopened = Spool(path)
    assert reopened.backlog() == 850
    assert reopened.take(50).readings == data[150:200]
    assert take_all(reopened) == data[150:]
    assert all(isinstance(r.ts_ms, int) and isinstance(r.value, float) for r in take_all(reopened))
    reopened.close()


def test_put_is_durable_when_the_producer_is_killed_mid_put_loop(tmp_path):
    """SIGKILL the producer; everything put() returned for is in the spool afterwards, in order."""
    spool_path, ackfile = tmp_path / "spool.db", tmp_path / "acked.txt"
    batch, total = 10, 2_000_000  # far more than it can put before the kill
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "produce", str(spool_path), str(ackfile), str(BASE_MS), str(total), str(batch)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: proc.poll() is not None or (ackfile.exists() and ackfile.stat().st_size > 2000), 15,
                 "a few hundred puts acknowledged", 0.01)
        assert proc.poll() is None, f"producer exited early: {proc.stderr.read().decode()}"
        assert ackfile.exists() and ackfile.stat().st_size > 2000, "producer made no progress in 15 s"
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stderr.close()
    lines = ackfile.read_text().split("\n")
    complete = [int(x) for x in lines[:-1]]  # the last element is "" or a torn line
    acked = complete[-1]
    assert complete == list(range(batch, acked + 1, batch))

    spool = Spool(spool_path)
    check = sqlite3.connect(spool_path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    got = take_all(spool)
    # everything acknowledged, in order, plus at most the one put that committed before its line was written
    assert acked <= len(got) <= acked + batch
    assert got == make(len(got))
    assert spool.backlog() == len(got)
    spool.close()


# -- full policy ----------------------------------------------------------------------------------
def test_full_spool_refuses_the_whole_put_and_keeps_what_it_accepted(tmp_path):
    spool = Spool(tmp_path / "spool.db", max_readings=10)
    data = make(20)
    spool.put(data[:8])
    bad = Reading("soro-raadhus", "hovedmaaler", "power_w", "grid", BASE_MS, math.nan)
    with pytest.raises(SpoolFull, match="full"):
        spool.put([*data[8:11], bad], source="mqtt:test")
    assert spool.backlog() == 8
    assert take_all(spool) == data[:8]
    assert spool.dead_letters() == [], "a refused put writes nothing, not even its dead letters"

    assert spool.put(data[8:10]).accepted == 2  # exactly full is allowed
    with pytest.raises(SpoolFull):
        spool.put(data[10:11])
    # invalid readings take no room: they still become dead letters when the spool is full
    assert spool.put([bad]).accepted == 0
    assert len(spool.dead_letters()) == 1
    spool.close()

    reopened = Spool(tmp_path / "spool.db", max_readings=10)  # still full after a restart
    with pytest.raises(SpoolFull):
        reopened.put(data[10:11])
    reopened.ack(reopened.take(3))
    assert reopened.put(data[10:13]).accepted == 3
    assert take_all(reopened) == data[3:13]
    reopened.close()


def test_fill_warnings_once_each_while_filling_and_re_armed_after_draining(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="energimon.spool")
    spool = Spool(tmp_path / "spool.db", max_readings=20)
    data = make(60)

    def fill_one_by_one(start: int, stop: int) -> None:
        for i in range(start, stop):
            spool.put([data[i]])

    fill_one_by_one(0, 20)
    assert levels(spool_warnings(caplog)) == ["50%", "80%", "95%"]
    with pytest.raises(SpoolFull):
        spool.put([data[20]])
    assert len(spool_warnings(caplog)) == 3, "SpoolFull is the caller's to log, the levels are logged once"

    # Down to 45 %: 80 % and 95 % re-arm, 50 % does not (hysteresis), so refilling to 50 % stays quiet.
    caplog.clear()
    spool.ack(spool.take(11))
    assert levels(back_below(caplog)) == ["80%", "95%"]
    caplog.clear()
    spool.put([data[20]])
    assert spool_warnings(caplog) == []

    # Drained: every level is re-armed, and filling again warns again, once each.
    while (b := spool.take(7)) is not None:
        spool.ack(b)
    assert levels(back_below(caplog)) == ["50%"]
    caplog.clear()
    fill_one_by_one(21, 41)
    assert levels(spool_warnings(caplog)) == ["50%", "80%", "95%"]
    spool.close()


def test_one_put_past_several_levels_logs_one_line_and_a_full_spool_warns_on_open(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="energimon.spool")
    spool = Spool(tmp_path / "spool.db", max_readings=20)
    spool.put(make(19))
    assert levels(spool_warnings(caplog)) == ["95%"]
    spool.close()
    caplog.clear()
    Spool(tmp_path / "spool.db", max_readings=20).close()
    assert len(spool_warnings(caplog)) == 1 and "95% full" in spool_warnings(caplog)[0]


# -- validation -----------------------------------------------------------------------------------
def _r(**kw) -> Reading:
    fields = {"site": "soro-raadhus", "device": "hovedmaaler", "channel": "power_w", "role": "grid",
              "ts_ms": BASE_MS, "value": 1234.5}
    return Reading(**{**fields, **kw})


INVALID = [
    pytest.param(_r(value=math.nan), "not finite", id="nan"),
    pytest.param(_r(value=math.inf), "not finite", id="inf"),
    pytest.param(_r(value=-math.inf), "not finite", id="-inf"),
    pytest.param(_r(channel="power_kw"), "unknown channel 'power_kw'", id="unknown-channel"),
    pytest.param(_r(site="Sorø Rådhus"), "site 'Sorø Rådhus' is not a valid id", id="bad-site"),
    pytest.param(_r(site=""), "site '' is not a valid id", id="empty-site"),
    pytest.param(_r(device="meter/1"), "device 'meter/1' is not a valid id", id="bad-device"),
    pytest.param(_r(role="solar"), "role 'solar'", id="bad-role"),
    pytest.param(_r(ts_ms=MIN_TIMESTAMP_MS - 1), "before the year 2000", id="1999"),
    pytest.param(_r(ts_ms=0), "before the year 2000", id="epoch-zero"),
    pytest.param(_r(ts_ms=now_ms() + MAX_FUTURE_MS + 3_600_000), "more than 24 h in the future", id="future"),
    pytest.param(_r(channel="energy_import_wh", value=-1.0), "below the physical minimum", id="negative-counter"),
    pytest.param(_r(value="12"), "must be a number", id="string-value"),
    pytest.param(_r(value=True), "must be a number", id="bool-value"),
]


@pytest.mark.parametrize(("bad", "reason"), INVALID)
def test_invalid_readings_become_dead_letters_and_valid_ones_in_the_same_put_are_accepted(tmp_path, bad, reason):
    spool = Spool(tmp_path / "spool.db")
    good = [_r(ts_ms=BASE_MS - 1000), _r(ts_ms=BASE_MS + 1000)]
    result = spool.put([good[0], bad, good[1]], source="modbus:soro-raadhus/hovedmaaler")
    assert isinstance(result, PutResult)
    assert result.accepted == 2
    assert [r for r, _ in result.rejected] == [bad] and reason in result.rejected[0][1]
    assert take_all(spool) == good
    (dl,) = spool.dead_letters()
    assert reason in dl["reason"]
    assert dl["source"] == "modbus:soro-raadhus/hovedmaaler"
    assert dl["subject"] == f"{bad.site}/{bad.device}/{bad.channel}"
    payload = json.loads(dl["payload"])
    assert payload["channel"] == bad.channel and payload["ts_ms"] == bad.ts_ms and payload["value"] == repr(bad.value)
    spool.close()
    reopened = Spool(tmp_path / "spool.db")  # dead letters are as durable as readings
    assert [d["reason"] for d in reopened.dead_letters()] == [dl["reason"]]
    reopened.close()


def test_edges_of_the_valid_time_range_are_accepted(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    edge = [_r(ts_ms=MIN_TIMESTAMP_MS), _r(ts_ms=now_ms() + MAX_FUTURE_MS - 60_000), _r(value=0), _r(value=-5.0)]
    assert spool.put(edge).accepted == 4
    assert spool.dead_letters() == []
    spool.close()


def test_dead_letter_keeps_undecodable_input_with_its_reason(tmp_path):
    spool = Spool(tmp_path / "spool.db")
    spool.dead_letter("mqtt:broker", "energimon/soro/meter", b"\xff\xfe{not json", "payload is not UTF-8 JSON")
    (dl,) = spool.dead_letters()
    assert dl["subject"] == "energimon/soro/meter" and dl["reason"] == "payload is not UTF-8 JSON"
    assert dl["payload"].endswith("{not json") and "\\xff" in dl["payload"]
    assert spool.backlog() == 0
    spool.close()


def test_constructor_rejects_nonsense(tmp_path):
    with pytest.raises(ValueError, match="max_readings"):
        Spool(tmp_path / "a.db", max_readings=0)
    with pytest.raises(ValueError, match="synchronous"):
        Spool(tmp_path / "b.db", synchronous="OFF")


def test_a_spool_of_the_earlier_layout_keeps_every_waiting_reading_in_order(tmp_path):
    """Before the `streams`/`queue` layout a spool held four strings per reading in `readings`. Opened by this
    version, every waiting reading moves over — same order, same kind (device time or not) — and the backlog and
    a stale id range still behave."""
    from energimon.model import DeviceTimedReading

    data = make(40)
    data[7] = DeviceTimedReading(*(getattr(data[7], f) for f in ("site", "device", "channel", "role", "ts_ms",
                                                                   "value")))
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL,
        device TEXT NOT NULL, channel TEXT NOT NULL, role TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
        keep INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE stamps (stream TEXT PRIMARY KEY, last_ms INTEGER NOT NULL);""")
    db.executemany("INSERT INTO readings (site, device, channel, role, ts_ms, value, keep) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(r.site, r.device, r.channel, r.role, r.ts_ms, r.value, i == 7) for i, r in enumerate(data)])
    db.execute("DELETE FROM readings WHERE id <= 5")  # the old daemon had already delivered the first five
    db.commit()
    db.close()
    spool = Spool(path)
    assert spool.backlog() == 35
    spool.put(make(4, BASE_MS + 10**7))  # new readings go after the old ones
    got = take_all(spool)
    assert got == data[5:] + make(4, BASE_MS + 10**7)
    assert type(got[2]) is DeviceTimedReading and type(got[3]) is Reading
    spool.close()
    reopened = Spool(path)  # the old table is gone: nothing moves twice
    assert reopened.backlog() == 39
    tables = {r[0] for r in reopened._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "readings" not in tables
    reopened.close()


def test_one_series_as_columns_is_put_like_the_same_readings_one_by_one(tmp_path):
    """``SeriesReadings`` (a live source's backfill) takes the bulk path; the spool then holds exactly what a list of
    the same readings gives, with their kind; one invalid value sends the whole put down the per-reading path, so
    the invalid one becomes the same dead letter and the others are accepted."""
    from energimon.model import RevisableReading
    from energimon.store.spool import SeriesReadings

    ts = [BASE_MS + i * 900_000 for i in range(6)]
    for case, values in (("valid", [0.0, 1.0, 2.5, 4.0, 7, 9.0]), ("nan", [0.0, 1.0, math.nan, 4.0, 7.0, 9.0]),
                         ("negative", [0.0, 1.0, -2.0, 4.0, 7.0, 9.0]), ("bool", [0.0, True, 2.0, 4.0, 7.0, 9.0])):
        columns = SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid", ts, values)
        one_by_one = [RevisableReading("soro", "datahub", "energy_import_wh", "grid", t, v)
                      for t, v in zip(ts, values, strict=True)]
        assert list(columns) == one_by_one and columns[1:3] == one_by_one[1:3]
        assert columns.all_valid(now_ms()) is (case == "valid")  # the bulk path is taken only when all are valid
        results = []
        for name, readings in (("columns", columns), ("list", one_by_one)):
            spool = Spool(tmp_path / f"{case}-{name}.db")
            r = spool.put(readings, "source:eloverblik")
            held = take_all(spool)
            results.append((r.accepted, [why for _, why in r.rejected], held, [type(x) for x in held],
                            [(d["subject"], d["reason"], d["payload"]) for d in spool.dead_letters()]))
            spool.close()
        assert results[0] == results[1], case
        assert results[0][0] == (6 if case == "valid" else 5), case



def test_several_series_as_columns_are_put_in_one_transaction_like_the_same_readings_one_by_one(tmp_path):
    """``SeriesGroup`` (a live source's request: several series as columns) takes the bulk path, in one transaction;
    the spool then holds exactly what a list of the same readings gives, in the series' order, and an invalid value
    in one series sends the whole put down the per-reading path (one dead letter, the others accepted)."""
    from energimon.model import RevisableReading
    from energimon.store.spool import SeriesGroup, SeriesReadings

    ts = [BASE_MS + i * 900_000 for i in range(4)]
    for case, second in (("valid", [0.0, 1.0, 2.0, 3.0]), ("nan", [0.0, math.nan, 2.0, 3.0])):
        parts = [SeriesReadings(RevisableReading, "soro", f"dh{k}", "energy_import_wh", "grid", ts, values)
                 for k, values in enumerate(([5.0, 6.0, 7.0, 8.0], second, [9.0, 9.5, 10.0, 10.5]))]
        group = SeriesGroup(parts)
        one_by_one = [r for part in parts for r in part]
        assert len(group) == 12 and list(group) == one_by_one
        assert group[5] == one_by_one[5] and group[-1] == one_by_one[-1] and group[2:6] == one_by_one[2:6]
        results = []
        for name, readings in (("group", group), ("list", one_by_one)):
            spool = Spool(tmp_path / f"{case}-{name}.db")
            statements: list[str] = []
            spool._db.set_trace_callback(statements.append)
            r = spool.put(readings, "source:eloverblik")
            spool._db.set_trace_callback(None)
            assert statements.count("COMMIT") == 1, (case, name)  # one transaction (one fsync) for the three series
            if name == "group" and case == "valid":  # a packed row per series
                assert spool._db.execute("SELECT count(*), sum(n) FROM queue").fetchone() == (3, 12)
            held = take_all(spool)
            results.append((r.accepted, [why for _, why in r.rejected], held,
                            [(d["subject"], d["reason"]) for d in spool.dead_letters()]))
            spool.close()
        assert results[0] == results[1], case
        assert results[0][0] == (12 if case == "valid" else 11), case


def test_a_series_as_columns_enters_as_packed_rows_and_comes_out_reading_for_reading(tmp_path):
    """A live source's page of history is one queue row per PACK_MAX readings: the backlog, every take's limit,
    the order among one-reading rows around it, an ack, a restart and another process's count all go by
    readings, not rows; a batch holds a pack whole and never more than the limit unless its one pack is."""
    from energimon.model import RevisableReading
    from energimon.store.spool import PACK_MAX, SeriesReadings, read_counts

    n = 2 * PACK_MAX + 7  # three packs: two full, one of 7
    ts = [BASE_MS - 200 * 86_400_000 + i * 900_000 for i in range(n)]  # 104 days of quarter hours, all past
    values = [float(i) * 0.5 for i in range(n)]
    columns = SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid", ts, values)
    before, after = make(3), make(4, BASE_MS + 10**7)
    spool = Spool(tmp_path / "spool.db")
    spool.put(before)
    assert spool.put(columns, "source:eloverblik").accepted == n
    spool.put(after)
    rows = spool._db.execute("SELECT n, packed IS NOT NULL FROM queue ORDER BY id").fetchall()
    assert rows == [(1, 0)] * 3 + [(PACK_MAX, 1), (PACK_MAX, 1), (7, 1)] + [(1, 0)] * 4
    want = before + list(columns) + after
    assert spool.backlog() == len(want) == read_counts(tmp_path / "spool.db").waiting
    spool.close()
    spool = Spool(tmp_path / "spool.db")  # counted again on open: by readings
    assert spool.backlog() == len(want)
    got, sizes = [], []
    limit = PACK_MAX + 2
    while (batch := spool.take(limit)) is not None:
        sizes.append(len(batch))
        got += list(batch.readings)
        assert [type(r) for r in batch.readings] == [type(r) for r in want[len(got) - len(batch):len(got)]]
        spool.ack(batch)
        assert spool.backlog() == len(want) - len(got)
    assert got == want
    # 3 rows + nothing more (a whole pack would pass the limit); a pack and the next pack would not fit;
    # the small pack and the 4 rows after it fit in one
    assert sizes == [3, PACK_MAX, PACK_MAX, 7 + 4]
    assert read_counts(tmp_path / "spool.db").waiting == 0
    spool.close()


def test_a_pack_read_ahead_after_an_unacknowledged_batch_starts_after_it(tmp_path):
    """The writer reads the next batch (``after_id``) while the store writes one: with packs it starts after the
    batch's last row, whole packs only."""
    from energimon.model import RevisableReading
    from energimon.store.spool import PACK_MAX, SeriesReadings

    n = PACK_MAX + 1
    ts = [BASE_MS + i * 60_000 for i in range(n)]
    spool = Spool(tmp_path / "spool.db")
    spool.put(SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid", ts, [1.0] * n))
    first = spool.take(10)  # the first pack alone passes the limit: it comes whole
    assert len(first) == PACK_MAX and first.readings[-1].ts_ms == ts[PACK_MAX - 1]
    ahead = spool.take(10, first.last_id)
    assert len(ahead) == 1 and ahead.readings[0].ts_ms == ts[-1]
    spool.ack(first)
    spool.ack(ahead)
    assert spool.backlog() == 0 and spool.take(10) is None
    spool.close()


def test_a_spool_from_before_packs_gets_the_columns_and_keeps_its_rows(tmp_path):
    """A queue without the ``n`` and ``packed`` columns (the previous layout) opens with them added: its rows count
    one reading each and come out as before, and new packs go after them."""
    from energimon.model import RevisableReading
    from energimon.store.spool import SeriesReadings

    path = tmp_path / "spool.db"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE streams (id INTEGER PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL,
        channel TEXT NOT NULL, role TEXT NOT NULL, UNIQUE (site, device, channel, role));
        CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, stream INTEGER NOT NULL, ts_ms INTEGER NOT NULL,
        value REAL NOT NULL, conflict INTEGER NOT NULL DEFAULT 0);""")
    old = make(5)
    keys = list(dict.fromkeys((r.site, r.device, r.channel, r.role) for r in old))
    db.executemany("INSERT INTO streams (id, site, device, channel, role) VALUES (?, ?, ?, ?, ?)",
                   [(i + 1, *k) for i, k in enumerate(keys)])
    db.executemany("INSERT INTO queue (stream, ts_ms, value, conflict) VALUES (?, ?, ?, 0)",
                   [(keys.index((r.site, r.device, r.channel, r.role)) + 1, r.ts_ms, r.value) for r in old])
    db.commit()
    db.close()
    spool = Spool(path)
    assert spool.backlog() == 5
    ts = [BASE_MS + 10**9 + i * 60_000 for i in range(3)]
    new = SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid", ts, [1.0, 2.0, 3.0])
    spool.put(new)
    assert spool.backlog() == 8
    assert take_all(spool) == old + list(new)
    spool.close()


def test_a_batch_as_columns_keeps_each_readings_series_time_value_and_kind_in_queue_order(tmp_path):
    """``ReadingRows.columns`` (what the stores' fast paths read): one-reading rows of several streams and kinds
    around packed rows, each reading at its own position with its own stream, time, value and conflict code; every
    value distinct, so a reading moved, or a pack's time or value given to its neighbour, changes the columns."""
    from energimon.model import DeviceTimedReading, RevisableReading
    from energimon.store.spool import _CONFLICT_CODE, SeriesReadings

    plain = [cls("soro", f"meter-{i % 3}", ("power_w", "energy_import_wh")[i % 2], "grid", BASE_MS + i * 1000,
                  100.0 + i) for i, cls in enumerate([Reading, DeviceTimedReading, RevisableReading] * 4)]
    pack_ts = [BASE_MS - 86_400_000 + i * 900_000 for i in range(9)]
    pack = SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid", pack_ts,
                          [5000.0 + i for i in range(9)])
    pack2 = SeriesReadings(Reading, "soro", "datahub", "power_w", "grid", pack_ts[:4], [-7.0, -8.0, -9.0, -10.0])
    spool = Spool(tmp_path / "spool.db")
    for part in (plain[:5], pack, plain[5:7], pack2, plain[7:]):  # a pack first, between and last in its run
        spool.put(part, "test")
    want = plain[:5] + list(pack) + plain[5:7] + list(pack2) + plain[7:]
    batch = spool.take(1000)
    assert batch is not None and len(batch.readings.packs) == 2
    streams, ts, values, codes = batch.readings.columns()
    keys = batch.readings.streams
    assert [keys[s] for s in streams] == [(r.site, r.device, r.channel, r.role) for r in want]
    assert list(ts) == [r.ts_ms for r in want]
    assert list(values) == [float(r.value) for r in want]
    assert list(codes) == [_CONFLICT_CODE[r.on_conflict] for r in want]
    assert list(batch.readings) == want
    spool.close()
