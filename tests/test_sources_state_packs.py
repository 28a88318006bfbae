"""The sources' state file keeps fetched values as packed rows: revisions inside a pack, re-fetches, old files.

Values are hand-made hours of DataHub-like energy (Wh); the counters are built by the runner's own
``counter_rebuild`` (the path a fetch takes), and every expected counter is a sum worked out in a comment.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from energimon.collector.sources import state as state_module
from energimon.collector.sources.base import Point, SeriesSpec
from energimon.collector.sources.runner import counter_rebuild
from energimon.collector.sources.state import Revision, SourceState, read_status

H = 3_600_000
T0 = int(dt.datetime(2026, 1, 5, tzinfo=dt.UTC).timestamp() * 1000)
SPEC = SeriesSpec("eloverblik", "571313174100000001", "soro", "dh0", "energy_import_wh", "grid", "interval")


def hours(values: dict[int, tuple[float, str | None]]) -> list[Point]:
    return [Point(T0 + i * H, T0 + (i + 1) * H, v, q) for i, (v, q) in sorted(values.items())]


def merge(state: SourceState, points: list[Point]):
    with state.transaction():
        sid = state.series_id(SPEC)
        return sid, state.merge(sid, points, lambda m: counter_rebuild(state, sid, SPEC, m)[1])


def pack_rows(state: SourceState) -> list[tuple]:
    return state._db.execute("SELECT first_ms, last_ms, n, starts, vals, counters, qualities FROM point_packs "
                             "ORDER BY first_ms").fetchall()


def test_a_revision_inside_packed_windows_is_detected_and_a_refetch_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(state_module, "PACK_MAX", 10)  # 48 hours in 5 packs: the revision sits inside the third
    state = SourceState(tmp_path / "sources.db")
    first = {i: (1000.0 + i, "A03" if i == 5 else "A04") for i in range(48)}
    sid, m = merge(state, hours(first))
    assert (m.new, m.revised, m.unchanged) == (48, [], 0)
    assert [(r[0], r[1], r[2]) for r in pack_rows(state)] == [
        (T0 + a * H, T0 + b * H, b - a + 1) for a, b in ((0, 9), (10, 19), (20, 29), (30, 39), (40, 47))]
    # counter after hour 47: sum of 1000 + i for i < 48 = 48,000 + 1,128
    assert state.counter_before(sid, T0 + 48 * H) == (T0 + 48 * H, 49_128.0)
    assert {s.name: s.estimated for s in state.status()} == {SPEC.name: 1}  # hour 5 is estimated (A03)

    packed = pack_rows(state)
    sid, again = merge(state, hours(first))  # the same answer again
    assert (again.new, again.revised, again.requalified, again.unchanged) == (0, [], 0, 48)
    assert again.first_changed_ms is None
    assert pack_rows(state) == packed  # nothing rewritten
    assert state.revisions(SPEC) == []

    second = dict(first)
    second[5] = (1005.0, "A04")  # estimated -> measured, same value: requalified, not a revision
    second[23] = (5000.0, "A01")  # DataHub revised hour 23 (adjusted)
    sid, m = merge(state, hours(second))
    assert m.revised == [Revision(T0 + 23 * H, 1023.0, 5000.0, "A04", "A01")]
    assert (m.new, m.requalified, m.unchanged) == (0, 1, 46)
    assert state.revisions(SPEC) == m.revised
    got = {(p.start_ms - T0) // H: (p.value, p.quality) for p in state.values(SPEC)}
    assert got == second
    # before hour 23 the counter is as it was (sum of 1000 + i for i < 23 = 23,000 + 253); from it on it moved
    # by 5,000 - 1,023 = 3,977, in the later packs too
    assert state.counter_before(sid, T0 + 23 * H) == (T0 + 23 * H, 23_253.0)
    assert state.counter_before(sid, T0 + 24 * H) == (T0 + 24 * H, 23_253.0 + 5000.0)
    assert state.counter_before(sid, T0 + 48 * H) == (T0 + 48 * H, 49_128.0 + 3_977.0)
    assert {s.name: (s.points, s.revisions, s.estimated) for s in state.status()} == {SPEC.name: (48, 1, 1)}
    assert [r[2] for r in pack_rows(state)] == [10, 10, 10, 10, 8]  # still five packs, none overlapping
    state.close()


OLD_LAYOUT = """
CREATE TABLE series (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, source TEXT NOT NULL, site TEXT NOT NULL,
    device TEXT NOT NULL, channel TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL,
    fetched_until_ms INTEGER, first_ms INTEGER, last_end_ms INTEGER, points INTEGER NOT NULL DEFAULT 0,
    revisions INTEGER NOT NULL DEFAULT 0, last_success_ms INTEGER, last_error TEXT, last_error_ms INTEGER, info TEXT);
CREATE TABLE points (
    series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, value REAL NOT NULL,
    quality TEXT, counter REAL, PRIMARY KEY (series_id, start_ms)) WITHOUT ROWID;
CREATE INDEX points_not_measured ON points (series_id) WHERE quality IS NOT NULL AND quality != 'A04';
CREATE TABLE revisions (
    id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, start_ms INTEGER NOT NULL, old_value REAL NOT NULL,
    new_value REAL NOT NULL, old_quality TEXT, new_quality TEXT, noticed_ms INTEGER NOT NULL);
"""


def test_a_state_file_of_the_row_per_value_layout_is_read_and_migrated(tmp_path):
    path = tmp_path / "sources.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_LAYOUT)
    db.execute("INSERT INTO series (id, name, source, site, device, channel, role, kind, fetched_until_ms, first_ms, "
               "last_end_ms, points) VALUES (1, ?, 'eloverblik', 'soro', 'dh0', 'energy_import_wh', 'grid', "
               "'interval', ?, ?, ?, 3)", (SPEC.name, T0 + 3 * H, T0, T0 + 3 * H))
    # three hours, 1.2 + 0.8 + 1.5 kWh; the counter at each end is the running sum (1200, 2000, 3500 Wh)
    db.executemany("INSERT INTO points VALUES (1, ?, ?, ?, ?, ?)",
                   [(T0, T0 + H, 1200.0, "A04", 1200.0), (T0 + H, T0 + 2 * H, 800.0, "A03", 2000.0),
                    (T0 + 2 * H, T0 + 3 * H, 1500.0, "A04", 3500.0)])
    db.commit()
    db.close()

    (old,) = read_status(path)  # read-only, before anyone migrated it (``energimon status`` beside an old daemon)
    assert (old.points, old.estimated, old.fetched_until_ms) == (3, 1, T0 + 3 * H)

    state = SourceState(path)
    tables = {r[0] for r in state._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "points" not in tables and "point_packs" in tables
    assert state.values(SPEC) == [Point(T0, T0 + H, 1200.0, "A04"), Point(T0 + H, T0 + 2 * H, 800.0, "A03"),
                                  Point(T0 + 2 * H, T0 + 3 * H, 1500.0, "A04")]
    assert state.counter_before(1, T0 + 3 * H) == (T0 + 3 * H, 3500.0)
    assert state.watermark(SPEC) == T0 + 3 * H
    (st,) = state.status()
    assert (st.points, st.estimated) == (3, 1)

    # the migrated values are what a re-fetch is compared with: hour 1 revised from 800 to 900 Wh
    sid, m = merge(state, [Point(T0, T0 + H, 1200.0, "A04"), Point(T0 + H, T0 + 2 * H, 900.0, "A04"),
                           Point(T0 + 2 * H, T0 + 3 * H, 1500.0, "A04")])
    assert m.revised == [Revision(T0 + H, 800.0, 900.0, "A03", "A04")] and (m.new, m.unchanged) == (0, 2)
    assert state.counter_before(sid, T0 + 3 * H) == (T0 + 3 * H, 3600.0)  # 1200 + 900 + 1500
    state.close()
    reopened = SourceState(path)  # opening it again migrates nothing twice
    assert [p.value for p in reopened.values(SPEC)] == [1200.0, 900.0, 1500.0]
    reopened.close()
