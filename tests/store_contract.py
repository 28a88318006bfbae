"""The contract every :class:`energimon.store.base.Store` implementation fulfils.

Use it as a mixin with a ``store`` fixture that returns an *empty* store::

    class TestSqliteStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return SqliteStore(tmp_path / "s.db")

Only the public interface is used (write, series, latest, read, read_raw_ms,
aggregate, aggregates, energy), so the same suite runs against the embedded
SQLite store and the InfluxDB store and both must give the same answers.

Every expected number is worked out by hand in the comment next to it.
Reminders used throughout: Europe/Copenhagen is UTC+1 in winter (CET) and
UTC+2 in summer (CEST); in 2026 summer time starts 2026-03-29 at 02:00 local
(01:00 UTC) and ends 2026-10-25 at 03:00 local (01:00 UTC).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from energimon.model import DeviceTimedReading, Reading, SeriesKey
from energimon.store.spool import _CONFLICT_CODE, ReadingRows

CPH = ZoneInfo("Europe/Copenhagen")
HOUR_MS = 3_600_000

SITE = "soro-raadhus"
GRID = SeriesKey(SITE, "hovedmaaler", "power_w")
IMPORT = SeriesKey(SITE, "hovedmaaler", "energy_import_wh")
PV = SeriesKey(SITE, "inverter-1", "pv_power_w")
ROLES = {"hovedmaaler": "grid", "inverter-1": "pv"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH)


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def rd(key: SeriesKey, t: datetime | int, value: float, role: str | None = None) -> Reading:
    ts = t if isinstance(t, int) else ms(t)
    return Reading(key.site, key.device, key.channel, role or ROLES[key.device], ts, value)


def hourly(key: SeriesKey, first: datetime, last: datetime, value: float = 1.0) -> list[Reading]:
    """One reading per UTC hour from ``first`` to ``last`` inclusive."""
    return [rd(key, t, value) for t in range(ms(first), ms(last) + 1, HOUR_MS)]


def spool_rows(readings) -> ReadingRows:
    """``readings`` as the spool hands a batch to the store (rows and streams, no validation on the way): the
    stores' fast path for spool batches must accept and refuse exactly what their path for Reading lists does."""
    streams: dict[int, tuple] = {}
    ids: dict[tuple, int] = {}
    rows = []
    for i, r in enumerate(readings):
        key = (r.site, r.device, r.channel, r.role)
        sid = ids.setdefault(key, len(ids) + 1)
        streams[sid] = key
        rows.append((i + 1, sid, r.ts_ms, r.value, _CONFLICT_CODE[r.on_conflict]))
    return ReadingRows(rows, streams)


def packed_spool_rows(readings) -> ReadingRows:
    """As :func:`spool_rows`, with every run of two or more consecutive readings of one stream and kind as one packed
    row (as the spool holds a live source's columns): the stores must take and refuse the same as reading by
    reading, whatever the pack holds (NaN, a negative counter, a device time)."""
    flat = spool_rows(readings)
    rows, packs = [], {}
    i = 0
    while i < len(flat.rows):
        j = i + 1
        while j < len(flat.rows) and flat.rows[j][1] == flat.rows[i][1] and flat.rows[j][4] == flat.rows[i][4]:
            j += 1
        rows.append(flat.rows[i])
        if j - i > 1:
            packs[flat.rows[i][0]] = ([r[2] for r in flat.rows[i:j]], [r[3] for r in flat.rows[i:j]])
        i = j
    return ReadingRows(rows, flat.streams, packs)


class SpoolRowsStore:
    """A store whose ``write`` goes through :func:`spool_rows` (for running the contract on the fast path), or
    :func:`packed_spool_rows` (``packed``)."""

    def __init__(self, store, packed: bool = False):
        self._store = store
        self._rows = packed_spool_rows if packed else spool_rows

    def write(self, readings):
        rows = self._rows(readings)
        assert list(rows) == list(readings)  # the same readings, in the same order, however packed
        return self._store.write(rows)

    def __getattr__(self, name):
        return getattr(self._store, name)


def wh(result, start: datetime) -> float:
    return float(result.windows.loc[pd.Timestamp(start), "energy_wh"])


class StoreContract:
    """Mixin: the tests every store must pass.  Needs a ``store`` fixture (empty store)."""

    # -- writes, series, latest ------------------------------------------------------
    def test_empty_store(self, store):
        assert list(store.series().columns) == ["site", "device", "channel", "role"]
        assert len(store.series()) == 0
        assert len(store.latest()) == 0
        s = store.read(GRID, utc(2026, 1, 1), utc(2026, 1, 2))
        assert len(s) == 0
        assert str(s.index.tz) == "UTC"
        ts, v = store.read_raw_ms(GRID, 0, 2**62)
        assert len(ts) == 0 and len(v) == 0

    def test_same_series_and_timestamp_written_twice_keeps_one_point_last_wins(self, store):
        t = utc(2026, 1, 15, 12, 0)
        assert store.write([rd(GRID, t, 1000.0)]) == []
        assert store.write([rd(GRID, t, 1500.0)]) == []  # a redelivered batch with a corrected value
        # and twice within one batch: the later one wins
        assert store.write([rd(GRID, t + timedelta(minutes=1), 7.0), rd(GRID, t + timedelta(minutes=1), 8.0)]) == []
        s = store.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16))
        assert list(s.index) == [pd.Timestamp("2026-01-15 12:00", tz="UTC"), pd.Timestamp("2026-01-15 12:01", tz="UTC")]
        assert list(s.to_numpy()) == [1500.0, 8.0]
        assert len(store.series()) == 1  # still one series

    def test_series_lists_every_series_with_its_role(self, store):
        store.write(
            [
                rd(GRID, utc(2026, 1, 15, 12), 1200.0),
                rd(IMPORT, utc(2026, 1, 15, 12), 5000.0),
                rd(PV, utc(2026, 1, 15, 12), 300.0),
            ]
        )
        got = store.series().sort_values(["site", "device", "channel"]).reset_index(drop=True)
        assert got.to_dict("records") == [
            {"site": SITE, "device": "hovedmaaler", "channel": "energy_import_wh", "role": "grid"},
            {"site": SITE, "device": "hovedmaaler", "channel": "power_w", "role": "grid"},
            {"site": SITE, "device": "inverter-1", "channel": "pv_power_w", "role": "pv"},
        ]

    def test_latest_is_the_newest_reading_of_each_series(self, store):
        store.write(
            [
                rd(GRID, utc(2026, 1, 15, 12, 5), -250.0),  # written first but newest: exporting
                rd(GRID, utc(2026, 1, 15, 12, 0), 1200.0),
                rd(PV, utc(2026, 1, 15, 11, 0), 300.0),
                rd(PV, utc(2026, 1, 15, 11, 30), 450.0),
            ]
        )
        got = store.latest().sort_values(["site", "device", "channel"]).reset_index(drop=True)
        assert list(got.columns) == ["site", "device", "channel", "role", "time", "value"]
        assert list(got["device"]) == ["hovedmaaler", "inverter-1"]
        assert list(got["role"]) == ["grid", "pv"]
        assert list(got["time"]) == [pd.Timestamp(t, tz="UTC") for t in ("2026-01-15 12:05", "2026-01-15 11:30")]
        assert list(got["value"]) == [-250.0, 450.0]

    def test_reading_that_can_never_be_stored_is_rejected_alone(self, store):
        bad = rd(GRID, utc(2026, 1, 15, 12, 1), float("nan"))  # missing is not zero: refused, not stored as 0
        good = rd(GRID, utc(2026, 1, 15, 12, 0), 42.0)
        rejected = store.write([good, bad])
        assert [r.reading for r in rejected] == [bad]
        assert "finite" in rejected[0].reason
        assert list(store.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [42.0]

    # -- readings with the device's own time (README, "Data model and conventions", Time) -----------------
    def test_a_device_timed_reading_again_with_the_same_value_is_stored_once(self, store):
        t = utc(2026, 1, 15, 12, 0)
        dev = DeviceTimedReading(SITE, "hovedmaaler", "power_w", "grid", ms(t), 1000.0)
        assert store.write([dev]) == []
        assert store.write([dev]) == []  # redelivered (at-least-once spool, MQTT redelivery): idempotent
        assert store.write([dev, dev]) == []
        ts, v = store.read_raw_ms(GRID, 0, 2**62)
        assert list(ts) == [ms(t)] and list(v) == [1000.0]

    def test_a_device_timed_reading_never_replaces_a_different_value(self, store):
        t, t2 = utc(2026, 1, 15, 12, 0), utc(2026, 1, 15, 12, 1)
        assert store.write([rd(GRID, t, 1000.0)]) == []
        other = DeviceTimedReading(SITE, "hovedmaaler", "power_w", "grid", ms(t), 1500.0)
        fresh = DeviceTimedReading(SITE, "hovedmaaler", "power_w", "grid", ms(t2), 7.0)
        again = DeviceTimedReading(SITE, "hovedmaaler", "power_w", "grid", ms(t2), 8.0)  # same batch, same time
        rejected = store.write([other, fresh, again])
        assert [r.reading for r in rejected] == [other, again]
        assert "time collision" in rejected[0].reason and "1000.0" in rejected[0].reason
        assert "1500.0" in rejected[0].reason and "2026-01-15T12:00:00.000Z" in rejected[0].reason
        assert "7.0" in rejected[1].reason and "8.0" in rejected[1].reason
        ts, v = store.read_raw_ms(GRID, 0, 2**62)
        assert list(ts) == [ms(t), ms(t2)] and list(v) == [1000.0, 7.0]  # the stored values kept
        # a reading energimon stamped keeps the plain rule (its stamps are never given twice: no look-up)
        assert store.write([rd(GRID, t, 1250.0)]) == []
        assert list(store.read_raw_ms(GRID, 0, 2**62)[1]) == [1250.0, 7.0]

    # -- raw reads ----------------------------------------------------------------------
    def test_read_is_half_open_sorted_and_utc(self, store):
        # written out of order; 10:00, 10:15, ..., 11:00 UTC with values 0..4
        times = [utc(2026, 1, 15, 10, m) for m in (0, 15, 30, 45)] + [utc(2026, 1, 15, 11, 0)]
        order = [3, 0, 4, 1, 2]
        store.write([rd(GRID, times[i], float(i)) for i in order])
        s = store.read(GRID, utc(2026, 1, 15, 10, 15), utc(2026, 1, 15, 11, 0))
        # [10:15, 11:00): the start is included, the end is not
        assert list(s.index) == [pd.Timestamp(f"2026-01-15 10:{m}", tz="UTC") for m in ("15", "30", "45")]
        assert list(s.to_numpy()) == [1.0, 2.0, 3.0]
        assert str(s.index.tz) == "UTC"
        # the same instants given in Danish local time (CET = UTC+1) select the same readings
        s_local = store.read(GRID, local(2026, 1, 15, 11, 15), local(2026, 1, 15, 12, 0))
        assert list(s_local.to_numpy()) == [1.0, 2.0, 3.0]
        ts, v = store.read_raw_ms(GRID, ms(times[1]), ms(times[4]))
        assert ts.dtype == np.int64 and v.dtype == np.float64
        assert list(ts) == [ms(times[1]), ms(times[2]), ms(times[3])]
        # other series are not mixed in
        store.write([rd(PV, times[2], 99.0)])
        assert list(store.read(GRID, times[0], times[4]).to_numpy()) == [0.0, 1.0, 2.0, 3.0]

    # -- aggregates: fixed windows --------------------------------------------------------
    def _write_quarter_hours(self, store):
        store.write(
            [
                rd(GRID, utc(2026, 1, 15, 12, 0), 1.0),
                rd(GRID, utc(2026, 1, 15, 12, 5), 2.0),
                rd(GRID, utc(2026, 1, 15, 12, 10), 6.0),
                # nothing in 12:15-12:30
                rd(GRID, utc(2026, 1, 15, 12, 40), -4.0),
                rd(GRID, utc(2026, 1, 15, 12, 45), 10.0),
                rd(GRID, ms(utc(2026, 1, 15, 13, 0)) - 1, 20.0),  # 12:59:59.999
                rd(GRID, utc(2026, 1, 15, 13, 0), 99.0),
            ]
        )

    def test_aggregates_15min(self, store):
        self._write_quarter_hours(store)
        # 12:07-12:50 is widened to whole windows 12:00-13:00 UTC = 13:00-14:00 local (CET)
        df = store.aggregates(GRID, utc(2026, 1, 15, 12, 7), utc(2026, 1, 15, 12, 50), "15min")
        assert list(df.columns) == ["mean", "min", "max", "last", "sum", "count"]
        assert list(df.index) == [pd.Timestamp(f"2026-01-15 13:{m}", tz=CPH) for m in ("00", "15", "30", "45")]
        assert str(df.index.tz) == "Europe/Copenhagen"
        assert list(df["count"]) == [3, 0, 1, 2]
        first = df.iloc[0]  # 1, 2, 6
        assert first["sum"] == 9.0  # 1 + 2 + 6
        assert first["mean"] == 3.0  # 9 / 3
        assert (first["min"], first["max"], first["last"]) == (1.0, 6.0, 6.0)
        empty = df.iloc[1]  # a window without data is NaN, never 0
        assert all(math.isnan(empty[c]) for c in ("mean", "min", "max", "last", "sum"))
        third = df.iloc[2]  # -4 alone
        assert (third["sum"], third["mean"], third["min"], third["max"], third["last"]) == (-4.0,) * 5
        fourth = df.iloc[3]  # 10 and 20 (13:00 itself belongs to the next window)
        # sum 10 + 20 = 30, mean 30 / 2 = 15, min 10, max 20, last 20
        assert (fourth["sum"], fourth["mean"], fourth["min"], fourth["max"], fourth["last"]) == (30, 15, 10, 20, 20)

    def test_aggregates_1h_and_single_aggregate(self, store):
        self._write_quarter_hours(store)
        df = store.aggregates(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 14), "1h")
        assert list(df.index) == [pd.Timestamp(f"2026-01-15 {h}:00", tz=CPH) for h in (12, 13, 14)]
        assert list(df["count"]) == [0, 6, 1]
        assert math.isnan(df["sum"].iloc[0]) and math.isnan(df["mean"].iloc[0])
        assert df["sum"].iloc[1] == 35.0  # 1 + 2 + 6 - 4 + 10 + 20
        assert df["mean"].iloc[1] == pytest.approx(35.0 / 6)
        assert (df["min"].iloc[1], df["max"].iloc[1], df["last"].iloc[1]) == (-4.0, 20.0, 20.0)
        assert (df["sum"].iloc[2], df["last"].iloc[2]) == (99.0, 99.0)
        mx = store.aggregate(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 14), "1h", "max")
        assert isinstance(mx, pd.Series)
        assert math.isnan(mx.iloc[0]) and list(mx.iloc[1:]) == [20.0, 99.0]
        cnt = store.aggregate(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 14), "1h", "count")
        assert list(cnt) == [0, 6, 1]

    def test_aggregates_of_unknown_series_are_all_missing(self, store):
        df = store.aggregates(GRID, utc(2026, 1, 15, 0), utc(2026, 1, 15, 2), "1h")
        assert list(df["count"]) == [0, 0]
        assert df[["mean", "min", "max", "last", "sum"]].isna().all().all()

    # -- aggregates: calendar windows in Europe/Copenhagen -------------------------------
    def test_day_windows_start_at_local_midnight(self, store):
        store.write(
            [
                rd(GRID, utc(2026, 1, 14, 22, 59), 5.0),  # 23:59 local on the 14th
                rd(GRID, utc(2026, 1, 14, 23, 30), 7.0),  # 00:30 local on the 15th
                rd(GRID, utc(2026, 1, 15, 22, 0), 9.0),  # 23:00 local on the 15th
                rd(GRID, utc(2026, 1, 15, 23, 0), 11.0),  # 00:00 local on the 16th
            ]
        )
        df = store.aggregates(GRID, local(2026, 1, 14), local(2026, 1, 17), "day")
        assert list(df.index) == [local(2026, 1, 14), local(2026, 1, 15), local(2026, 1, 16)]
        assert list(df["count"]) == [1, 2, 1]
        assert list(df["sum"]) == [5.0, 16.0, 11.0]  # 7 + 9 on the 15th
        assert list(df["last"]) == [5.0, 9.0, 11.0]

    def test_month_windows(self, store):
        store.write(
            [
                rd(GRID, utc(2026, 1, 31, 22, 30), 4.0),  # 23:30 local, 31 Jan
                rd(GRID, utc(2026, 1, 31, 23, 30), 6.0),  # 00:30 local, 1 Feb
                rd(GRID, utc(2026, 3, 31, 21, 59), 8.0),  # 23:59 CEST, 31 Mar
            ]
        )
        df = store.aggregates(GRID, local(2026, 1, 10), local(2026, 4, 1), "month")
        assert list(df.index) == [local(2026, 1, 1), local(2026, 2, 1), local(2026, 3, 1)]
        assert list(df["count"]) == [1, 1, 1]
        assert list(df["sum"]) == [4.0, 6.0, 8.0]

    @pytest.mark.parametrize(
        ("day", "first_utc", "hours"),
        [
            # 2026-03-29 00:00 CET = 03-28 23:00 UTC; the next midnight is CEST (22:00 UTC): 23 h
            ((2026, 3, 29), utc(2026, 3, 28, 23), 23),
            # 2026-10-25 00:00 CEST = 10-24 22:00 UTC; the next midnight is CET (23:00 UTC): 25 h
            ((2026, 10, 25), utc(2026, 10, 24, 22), 25),
        ],
    )
    def test_dst_days_have_23_and_25_hours(self, store, day, first_utc, hours):
        d = local(*day)
        # hourly readings of 1.0 from 24 h before until 48 h after the day's start
        store.write(hourly(GRID, first_utc - timedelta(hours=24), first_utc + timedelta(hours=48)))
        df = store.aggregates(GRID, d, d + timedelta(hours=1), "day")  # widened to the whole day
        assert list(df.index) == [d]
        assert pd.Timestamp(df.index[0]).tz_convert("UTC") == pd.Timestamp(first_utc)
        assert df["count"].iloc[0] == hours
        assert df["sum"].iloc[0] == float(hours)  # hours x 1.0
        assert df["mean"].iloc[0] == 1.0
        # the neighbouring days are ordinary 24-hour days
        three = store.aggregates(GRID, d - timedelta(days=1), d + timedelta(days=2), "day")
        assert list(three["count"]) == [24, hours, 24]
        # hourly windows across the day: one per real hour
        h = store.aggregates(GRID, d, d + timedelta(days=1), "1h")
        assert len(h) == hours and list(h["count"]) == [1] * hours

    @pytest.mark.parametrize(
        ("month", "first_utc", "last_utc", "hours"),
        [
            # March: 31 x 24 - 1 = 743 h; 1 Mar 00:00 CET = 28 Feb 23:00 UTC, 1 Apr 00:00 CEST = 31 Mar 22:00 UTC
            ((2026, 3, 1), utc(2026, 2, 28, 23), utc(2026, 3, 31, 22), 743),
            # October: 31 x 24 + 1 = 745 h; 1 Oct 00:00 CEST = 30 Sep 22:00 UTC, 1 Nov 00:00 CET = 31 Oct 23:00 UTC
            ((2026, 10, 1), utc(2026, 9, 30, 22), utc(2026, 10, 31, 23), 745),
        ],
    )
    def test_dst_months(self, store, month, first_utc, last_utc, hours):
        # hourly 1.0 from 3 h before the month until 3 h after it
        store.write(hourly(GRID, first_utc - timedelta(hours=3), last_utc + timedelta(hours=3)))
        m = local(*month)
        df = store.aggregates(GRID, m, m + timedelta(days=1), "month")
        assert list(df.index) == [m]
        assert df["count"].iloc[0] == hours
        assert df["sum"].iloc[0] == float(hours)
        days = store.aggregates(GRID, m, last_utc, "day")
        assert len(days) == 31
        assert days["count"].sum() == hours  # the days add up to the month

    # -- energy from counters ---------------------------------------------------------------
    def _write_counter(self, store):
        # Wh counter; the slope of each interval in brackets
        store.write(
            [
                rd(IMPORT, utc(2026, 1, 15, 9, 40), 1000.0),
                rd(IMPORT, utc(2026, 1, 15, 10, 20), 1400.0),  # +400 in 40 min (10 Wh/min)
                rd(IMPORT, utc(2026, 1, 15, 10, 50), 1700.0),  # +300 in 30 min (10 Wh/min)
                rd(IMPORT, utc(2026, 1, 15, 11, 10), 2100.0),  # +400 in 20 min (20 Wh/min)
                rd(IMPORT, utc(2026, 1, 15, 11, 40), 2400.0),  # +300 in 30 min (10 Wh/min)
                rd(IMPORT, utc(2026, 1, 15, 12, 30), 3400.0),  # +1000 in 50 min (20 Wh/min)
            ]
        )

    def test_energy_interpolates_at_window_edges(self, store):
        self._write_counter(store)
        r = store.energy(IMPORT, utc(2026, 1, 15, 10), utc(2026, 1, 15, 14), "1h", max_gap_s=3600)
        assert list(r.windows.columns) == ["energy_wh", "coverage", "complete", "resets"]
        assert list(r.windows.index) == [local(2026, 1, 15, h) for h in (11, 12, 13, 14)]  # 10..13 UTC
        # counter at 10:00 = 1000 + 400 x 20/40 = 1200; at 11:00 = 1700 + 400 x 10/20 = 1900;
        # at 12:00 = 2400 + 1000 x 20/50 = 2800; the last reading is 3400 at 12:30
        assert wh(r, utc(2026, 1, 15, 10)) == pytest.approx(700.0)  # 1900 - 1200
        assert wh(r, utc(2026, 1, 15, 11)) == pytest.approx(900.0)  # 2800 - 1900
        assert wh(r, utc(2026, 1, 15, 12)) == pytest.approx(600.0)  # 3400 - 2800, only 12:00-12:30 known
        assert math.isnan(wh(r, utc(2026, 1, 15, 13)))  # no data: missing, not zero
        assert list(r.windows["coverage"]) == pytest.approx([1.0, 1.0, 0.5, 0.0])  # 12:00-12:30 of 60 min
        assert list(r.windows["complete"]) == [True, True, False, False]
        assert list(r.windows["resets"]) == [0, 0, 0, 0]
        assert r.total_wh == pytest.approx(2200.0)  # 3400 - 1200
        assert len(r.gaps) == 0 and len(r.resets) == 0
        # the default gap threshold (2.5 x median interval of 30 min = 75 min) gives the same answer
        auto = store.energy(IMPORT, utc(2026, 1, 15, 10), utc(2026, 1, 15, 14), "1h")
        assert list(auto.windows["energy_wh"].iloc[:3]) == pytest.approx([700.0, 900.0, 600.0])

    def test_energy_quarter_hours_add_up(self, store):
        self._write_counter(store)
        r = store.energy(IMPORT, utc(2026, 1, 15, 10), utc(2026, 1, 15, 11), "15min", max_gap_s=3600)
        # counter: 10:00 1200, 10:15 1200 + 15 x 10 = 1350, 10:30 1400 + 10 x 10 = 1500,
        # 10:45 1400 + 25 x 10 = 1650, 11:00 1900
        assert list(r.windows["energy_wh"]) == pytest.approx([150.0, 150.0, 150.0, 250.0])
        assert r.total_wh == pytest.approx(700.0)  # = 1900 - 1200, the hourly value
        assert r.windows["complete"].all()

    def test_energy_counter_reset_is_never_negative(self, store):
        store.write(
            [
                rd(IMPORT, utc(2026, 1, 15, 10, 0), 500.0),
                rd(IMPORT, utc(2026, 1, 15, 10, 20), 700.0),
                rd(IMPORT, utc(2026, 1, 15, 10, 40), 20.0),  # meter swapped: the counter went backwards
                rd(IMPORT, utc(2026, 1, 15, 11, 0), 220.0),
                rd(IMPORT, utc(2026, 1, 15, 11, 20), 420.0),
                rd(IMPORT, utc(2026, 1, 15, 11, 40), 620.0),
                rd(IMPORT, utc(2026, 1, 15, 12, 0), 820.0),
            ]
        )
        r = store.energy(IMPORT, utc(2026, 1, 15, 10), utc(2026, 1, 15, 12), "1h", max_gap_s=3600)
        w = r.windows
        assert (w["energy_wh"] >= 0).all()
        # 10-11: 700 - 500 = 200 before the reset, 220 - 20 = 200 after it; the 20 min across it are unknown
        assert w["energy_wh"].iloc[0] == pytest.approx(400.0)
        assert w["coverage"].iloc[0] == pytest.approx(2 / 3)  # 40 of 60 min
        assert (bool(w["complete"].iloc[0]), int(w["resets"].iloc[0])) == (False, 1)
        # 11-12 is untouched by the reset: 820 - 220 = 600
        assert w["energy_wh"].iloc[1] == pytest.approx(600.0)
        assert (bool(w["complete"].iloc[1]), int(w["resets"].iloc[1])) == (True, 0)
        assert r.resets.to_dict("records") == [
            {"time": pd.Timestamp("2026-01-15 10:40", tz="UTC"), "before": 700.0, "after": 20.0}
        ]

    def test_energy_gap_across_a_window_edge_is_not_attributed(self, store):
        store.write(
            [
                rd(IMPORT, utc(2026, 1, 15, 10, 0), 0.0),
                rd(IMPORT, utc(2026, 1, 15, 10, 30), 300.0),
                # the meter was unreachable for 2 h (> max_gap_s = 1 h), crossing 11:00 and 12:00
                rd(IMPORT, utc(2026, 1, 15, 12, 30), 1500.0),
                rd(IMPORT, utc(2026, 1, 15, 13, 0), 1800.0),
            ]
        )
        r = store.energy(IMPORT, utc(2026, 1, 15, 10), utc(2026, 1, 15, 13), "1h", max_gap_s=3600)
        e = r.windows["energy_wh"]
        assert e.iloc[0] == pytest.approx(300.0)  # 10:00-10:30 only
        assert math.isnan(e.iloc[1])  # 11-12 lies entirely inside the gap: unknown
        assert e.iloc[2] == pytest.approx(300.0)  # 12:30-13:00 only (1800 - 1500)
        assert list(r.windows["coverage"]) == pytest.approx([0.5, 0.0, 0.5])
        assert not r.windows["complete"].any()
        assert len(r.gaps) == 1
        gap = r.gaps.iloc[0]
        assert gap["start"] == pd.Timestamp("2026-01-15 10:30", tz="UTC")
        assert gap["end"] == pd.Timestamp("2026-01-15 12:30", tz="UTC")
        assert gap["duration_s"] == 7200.0  # 2 h
        assert gap["energy_wh"] == pytest.approx(1200.0)  # 1500 - 300
        assert not gap["attributed"]
        # nothing lost: windows + unattributed gap = counter difference 1800 - 0
        assert r.total_wh + gap["energy_wh"] == pytest.approx(1800.0)

    def test_energy_gap_inside_one_window_is_counted(self, store):
        store.write(
            [
                rd(IMPORT, local(2026, 1, 10, 0, 0), 0.0),
                rd(IMPORT, local(2026, 1, 10, 0, 30), 50.0),
                rd(IMPORT, local(2026, 1, 10, 5, 30), 1050.0),  # 5 h gap, inside the day
                rd(IMPORT, local(2026, 1, 10, 6, 0), 1100.0),
                rd(IMPORT, local(2026, 1, 11, 0, 0), 2000.0),  # 18 h gap ending on the next midnight
            ]
        )
        r = store.energy(IMPORT, local(2026, 1, 10), local(2026, 1, 11), "day", max_gap_s=3600)
        assert list(r.windows.index) == [local(2026, 1, 10)]
        assert r.windows["energy_wh"].iloc[0] == pytest.approx(2000.0)  # 2000 - 0
        assert r.windows["coverage"].iloc[0] == pytest.approx(1.0)
        assert bool(r.windows["complete"].iloc[0])
        assert list(r.gaps["energy_wh"]) == pytest.approx([1000.0, 900.0])  # 1050 - 50, 2000 - 1100
        assert list(r.gaps["duration_s"]) == [18000.0, 64800.0]  # 5 h, 18 h
        assert r.gaps["attributed"].all()

    @pytest.mark.parametrize(
        ("day", "first_utc", "hours"),
        [((2026, 3, 29), utc(2026, 3, 28, 23), 23), ((2026, 10, 25), utc(2026, 10, 24, 22), 25)],
    )
    def test_energy_on_dst_days_adds_up(self, store, day, first_utc, hours):
        # a counter rising 10 Wh per hour, read at half past each UTC hour:
        # value = 10 x (hours since first_utc - 3 h), so it is 30 Wh at local midnight
        t0 = first_utc - timedelta(hours=3)
        store.write([rd(IMPORT, t0 + timedelta(minutes=30 + 60 * k), 5.0 + 10 * k) for k in range(hours + 7)])
        d = local(*day)
        r = store.energy(IMPORT, d, d + timedelta(days=1), "day", max_gap_s=3600)
        assert list(r.windows.index) == [d]
        # counter at local midnight = 30, at the next local midnight (hours later) = 30 + 10 x hours
        assert r.windows["energy_wh"].iloc[0] == pytest.approx(10.0 * hours)  # 230 / 250 Wh
        assert bool(r.windows["complete"].iloc[0])
        hourly_r = store.energy(IMPORT, d, d + timedelta(days=1), "1h", max_gap_s=3600)
        assert len(hourly_r.windows) == hours
        assert list(hourly_r.windows["energy_wh"]) == pytest.approx([10.0] * hours)
        assert hourly_r.total_wh == pytest.approx(10.0 * hours)

    def test_energy_finds_sparse_readings_far_outside_the_range(self, store):
        # a utility export with one reading a day at 00:05 local: the reading before the first
        # midnight is almost a day earlier, beyond a few hours of look-around
        store.write([rd(IMPORT, local(2026, 1, d, 0, 5), 1000.0 + 240.0 * d) for d in range(1, 8)])
        r = store.energy(IMPORT, local(2026, 1, 3), local(2026, 1, 5), "day")
        # default gap = 2.5 x 24 h, so every interval is usable.  The slope is 240 Wh per day everywhere:
        # counter at 3 Jan 00:00 = 1720 - 240 x 5/1440, at 4 Jan 00:00 = 1960 - 240 x 5/1440, so the day is 240
        # (reading only from 3 Jan 00:05 on would give 240 - 240 x 5/1440 = 239.17 and coverage < 1)
        assert list(r.windows["energy_wh"]) == pytest.approx([240.0, 240.0])
        assert r.windows["complete"].all()

    # -- bad input ------------------------------------------------------------------------------
    def test_naive_datetimes_are_refused(self, store):
        naive, aware = datetime(2026, 1, 15, 12), utc(2026, 1, 15, 13)
        with pytest.raises(ValueError, match="time zone"):
            store.read(GRID, naive, aware)
        with pytest.raises(ValueError, match="time zone"):
            store.aggregates(GRID, utc(2026, 1, 15, 11), datetime(2026, 1, 15, 13), "1h")
        with pytest.raises(ValueError, match="time zone"):
            store.aggregate(GRID, naive, aware, "day", "sum")
        with pytest.raises(ValueError, match="time zone"):
            store.energy(IMPORT, naive, aware, "1h")

    def test_unknown_window_or_aggregate_lists_the_allowed_ones(self, store):
        with pytest.raises(ValueError, match="unknown window '2h'") as info:
            store.aggregates(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 13), "2h")
        for name in ("15min", "1h", "day", "week", "month", "year"):
            assert name in str(info.value)
        with pytest.raises(ValueError, match="unknown window 'fortnight'"):
            store.energy(IMPORT, utc(2026, 1, 15, 11), utc(2026, 1, 15, 13), "fortnight")
        with pytest.raises(ValueError, match="unknown aggregate 'median'") as info:
            store.aggregate(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 13), "1h", "median")
        for name in ("mean", "min", "max", "last", "sum", "count"):
            assert name in str(info.value)

    def test_end_must_be_after_start(self, store):
        with pytest.raises(ValueError, match="after start"):
            store.aggregates(GRID, utc(2026, 1, 15, 13), utc(2026, 1, 15, 13), "1h")

    def test_energy_needs_a_counter(self, store):
        store.write([rd(GRID, utc(2026, 1, 15, 12), 1000.0)])
        with pytest.raises(ValueError, match="counter") as info:
            store.energy(GRID, utc(2026, 1, 15, 11), utc(2026, 1, 15, 13), "1h")
        assert "power_w" in str(info.value) and "gauge" in str(info.value)
