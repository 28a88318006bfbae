"""Aggregation windows (store/windows.py): fixed and Europe/Copenhagen calendar windows, hand-checked edges.

Europe/Copenhagen is UTC+1 in winter and UTC+2 in summer; in 2026 summer time runs from
2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC.  2026-03-29 is a Sunday (the last Sunday of March).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from energimon.store.windows import WINDOW_NAMES, Window, combine_partials, edges_ms, to_ms

CPH = ZoneInfo("Europe/Copenhagen")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CPH)


def U(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def hours(edges: pd.DatetimeIndex) -> list[float]:
    return [d / pd.Timedelta(hours=1) for d in np.diff(edges)]


# -- names ------------------------------------------------------------------------------------
def test_unknown_window_lists_the_allowed_ones():
    with pytest.raises(ValueError) as info:
        Window("2h")
    msg = str(info.value)
    assert "unknown window '2h'" in msg
    for name in ("1min", "5min", "10min", "15min", "30min", "1h", "day", "week", "month", "year"):
        assert name in msg
    assert set(WINDOW_NAMES) == {"1min", "5min", "10min", "15min", "30min", "1h", "day", "week", "month", "year"}


def test_bucket_sizes():
    assert Window("15min").bucket_s == 900  # 15 x 60
    assert Window("1h").bucket_s == 3600
    assert Window("day").bucket_s == 3600  # calendar windows are built from hourly buckets
    assert Window("day").fixed_s is None


# -- fixed windows ---------------------------------------------------------------------------
def test_fixed_windows_are_widened_to_whole_windows():
    e = Window("15min").edges(utc(2026, 1, 15, 12, 7), utc(2026, 1, 15, 12, 50))
    assert list(e) == [U("2026-01-15 12:00"), U("2026-01-15 12:15"), U("2026-01-15 12:30"),
                       U("2026-01-15 12:45"), U("2026-01-15 13:00")]


def test_fixed_window_end_on_an_edge_is_not_widened():
    e = Window("1h").edges(utc(2026, 1, 15, 12), utc(2026, 1, 15, 14))
    assert list(e) == [U("2026-01-15 12:00"), U("2026-01-15 13:00"), U("2026-01-15 14:00")]


def test_fixed_windows_follow_the_local_clock():
    # 13:00-14:00 local (CET) is 12:00-13:00 UTC: the same edges whichever zone the caller uses
    assert list(Window("30min").edges(local(2026, 1, 15, 13), local(2026, 1, 15, 14))) == [
        U("2026-01-15 12:00"), U("2026-01-15 12:30"), U("2026-01-15 13:00")
    ]


def test_hourly_windows_on_dst_days():
    spring = Window("1h").edges(local(2026, 3, 29), local(2026, 3, 30))
    assert len(spring) - 1 == 23  # 03-28 23:00 UTC .. 03-29 22:00 UTC
    assert spring[0] == U("2026-03-28 23:00") and spring[-1] == U("2026-03-29 22:00")
    autumn = Window("1h").edges(local(2026, 10, 25), local(2026, 10, 26))
    assert len(autumn) - 1 == 25  # 10-24 22:00 UTC .. 10-25 23:00 UTC


# -- calendar windows -------------------------------------------------------------------------
def test_day_edges_are_local_midnights():
    e = Window("day").edges(utc(2026, 1, 14, 23, 30), utc(2026, 1, 16, 12))
    # 14 Jan 23:30 UTC = 15 Jan 00:30 local, so the first day is 15 Jan (local midnight = 14 Jan 23:00 UTC)
    assert list(e) == [U("2026-01-14 23:00"), U("2026-01-15 23:00"), U("2026-01-16 23:00")]


def test_day_ending_on_midnight_is_one_window():
    e = Window("day").edges(local(2026, 1, 15), local(2026, 1, 16))
    assert list(e) == [U("2026-01-14 23:00"), U("2026-01-15 23:00")]


@pytest.mark.parametrize(
    ("day", "first", "last", "n_hours"),
    [
        ((2026, 3, 29), "2026-03-28 23:00", "2026-03-29 22:00", 23.0),  # 00:00 CET .. 00:00 CEST
        ((2026, 10, 25), "2026-10-24 22:00", "2026-10-25 23:00", 25.0),  # 00:00 CEST .. 00:00 CET
        ((2026, 6, 21), "2026-06-20 22:00", "2026-06-21 22:00", 24.0),  # an ordinary summer day
    ],
)
def test_dst_days(day, first, last, n_hours):
    d = local(*day)
    e = Window("day").edges(d, datetime(d.year, d.month, d.day + 1, tzinfo=CPH))
    assert list(e) == [U(first), U(last)]
    assert hours(e) == [n_hours]
    # any instant of the day, e.g. 12:00-13:00 local, is widened to the same day
    assert list(Window("day").edges(local(*day, 12), local(*day, 13))) == [U(first), U(last)]


def test_days_around_the_spring_change():
    e = Window("day").edges(local(2026, 3, 28), local(2026, 3, 31))
    assert hours(e) == [24.0, 23.0, 24.0]


def test_week_starts_monday_local_midnight():
    # Wed 25 Mar - Thu 26 Mar 2026 lies in the week from Mon 23 Mar; that week contains the spring change
    e = Window("week").edges(local(2026, 3, 25, 10), local(2026, 3, 26, 10))
    assert list(e) == [U("2026-03-22 23:00"), U("2026-03-29 22:00")]
    assert hours(e) == [167.0]  # 7 x 24 - 1
    assert e.tz_convert(CPH)[0].weekday() == 0


@pytest.mark.parametrize(
    ("month", "first", "last", "n_hours"),
    [
        ((2026, 3, 1), "2026-02-28 23:00", "2026-03-31 22:00", 743.0),  # 31 x 24 - 1
        ((2026, 10, 1), "2026-09-30 22:00", "2026-10-31 23:00", 745.0),  # 31 x 24 + 1
        ((2026, 2, 1), "2026-01-31 23:00", "2026-02-28 23:00", 672.0),  # 28 x 24
    ],
)
def test_month_edges(month, first, last, n_hours):
    m = local(*month)
    e = Window("month").edges(m, local(m.year, m.month, 15))
    assert list(e) == [U(first), U(last)]
    assert hours(e) == [n_hours]


def test_several_months_and_end_on_a_month_start():
    e = Window("month").edges(local(2026, 1, 15), local(2026, 3, 2))
    assert list(e.tz_convert(CPH)) == [pd.Timestamp(f"2026-{m:02d}-01", tz=CPH) for m in (1, 2, 3, 4)]
    e = Window("month").edges(local(2026, 1, 1), local(2026, 2, 1))
    assert list(e) == [U("2025-12-31 23:00"), U("2026-01-31 23:00")]


def test_year_edges():
    e = Window("year").edges(local(2026, 5, 1), local(2026, 5, 2))
    assert list(e) == [U("2025-12-31 23:00"), U("2026-12-31 23:00")]
    assert hours(e) == [8760.0]  # 365 x 24: the spring hour comes back in autumn


# -- bad input -------------------------------------------------------------------------------
def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        Window("day").edges(datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="no time zone"):
        to_ms(datetime(2026, 1, 1))


def test_end_must_be_after_start():
    with pytest.raises(ValueError, match="must be after start"):
        Window("1h").edges(utc(2026, 1, 2), utc(2026, 1, 1))


# -- conversions -------------------------------------------------------------------------------
def test_to_ms_and_edges_ms():
    # 1970-01-01 .. 2026-01-01: 56 years with 14 leap days = 20454 days x 86400 s = 1_767_225_600 s
    assert to_ms(utc(2026, 1, 1)) == 1_767_225_600_000
    assert to_ms(local(2026, 1, 1, 1)) == 1_767_225_600_000  # 01:00 CET is 00:00 UTC
    # the same instants in every resolution pandas may hand out
    for unit in ("s", "ms", "us", "ns"):
        idx = pd.DatetimeIndex([U("2026-01-01 00:00"), U("2026-01-01 01:00")]).as_unit(unit)
        got = edges_ms(idx)
        assert got.dtype == np.int64
        assert list(got) == [1_767_225_600_000, 1_767_229_200_000]  # + 3_600_000


# -- combining partial buckets ------------------------------------------------------------------
@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_combine_partials_into_local_days(unit):
    edges = Window("day").edges(local(2026, 3, 28), local(2026, 3, 31))  # 28, 29, 30 March local
    partials = pd.DataFrame(
        {
            "count": [2, 3, 1, 0],
            "sum": [10.0, 6.0, 4.0, 0.0],
            "min": [4.0, 1.0, 4.0, np.nan],
            "max": [6.0, 3.0, 4.0, np.nan],
            "last": [4.0, 2.0, 4.0, np.nan],
        },
        index=pd.DatetimeIndex(
            [
                U("2026-03-28 22:00"),  # 23:00 CET, 28 Mar
                U("2026-03-28 23:00"),  # 00:00 CET, 29 Mar: first hour of the short day
                U("2026-03-29 21:00"),  # 23:00 CEST, 29 Mar: last hour of the short day
                U("2026-03-30 10:00"),  # an empty bucket does not make a window "present with 0"
            ]
        ).as_unit(unit),
    )
    out = combine_partials(partials, edges)
    assert list(out.index) == [local(2026, 3, 28), local(2026, 3, 29), local(2026, 3, 30)]
    assert list(out["count"]) == [2, 4, 0]  # 3 + 1 on the 29th
    assert list(out["sum"][:2]) == [10.0, 10.0]  # 6 + 4
    assert list(out["mean"][:2]) == [5.0, 2.5]  # 10 / 2, 10 / 4
    assert list(out["min"][:2]) == [4.0, 1.0]
    assert list(out["max"][:2]) == [6.0, 4.0]
    assert list(out["last"][:2]) == [4.0, 4.0]  # the 29th's last bucket is 21:00 UTC with last 4
    assert out.iloc[2][["sum", "mean", "min", "max", "last"]].isna().all()


def test_combine_partials_empty():
    edges = Window("1h").edges(utc(2026, 1, 1), utc(2026, 1, 1, 2))
    empty = pd.DataFrame(columns=["count", "sum", "min", "max", "last"], index=pd.DatetimeIndex([], tz="UTC"))
    out = combine_partials(empty, edges)
    assert list(out["count"]) == [0, 0]
    assert out[["sum", "mean", "min", "max", "last"]].isna().all().all()
