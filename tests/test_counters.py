"""Energy per window from counters (store/counters.py), as a pure function, with hand-computed values.

Times are written as minutes after T0 = 2026-01-15 10:00 UTC; ``m(x)`` is that instant in epoch ms.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energimon.store.counters import EnergyResult, auto_max_gap_s, energy_per_window
from energimon.store.windows import Window, edges_ms, to_ms

CPH = ZoneInfo("Europe/Copenhagen")
T0 = to_ms(datetime(2026, 1, 15, 10, tzinfo=UTC))


def m(*minutes: float) -> np.ndarray:
    return np.array([T0 + int(x * 60_000) for x in minutes], dtype=np.int64)


def run(points: dict[float, float], edge_minutes: list[float], max_gap_s: float | None = 3600) -> EnergyResult:
    ts = m(*points)
    return energy_per_window(ts, np.array(list(points.values()), dtype=float), m(*edge_minutes), max_gap_s)


def energies(r: EnergyResult) -> list[float]:
    return list(r.windows["energy_wh"])


# -- auto gap threshold -------------------------------------------------------------------------
def test_auto_max_gap():
    assert auto_max_gap_s(np.array([], dtype=np.int64)) == 900.0  # too few readings: the 15 min floor
    assert auto_max_gap_s(m(0)) == 900.0
    assert auto_max_gap_s(m(0, 1, 2, 3)) == 900.0  # 2.5 x 60 s = 150 s, below the floor
    assert auto_max_gap_s(m(0, 15, 30, 45)) == 2250.0  # 2.5 x 900 s
    assert auto_max_gap_s(m(0, 60, 120, 600)) == 9000.0  # median of 60, 60, 480 min = 60 min; 2.5 x 3600 s


# -- interpolation -------------------------------------------------------------------------------
def test_interpolation_at_edges():
    r = run({-20: 1000, 20: 1400, 50: 1700, 70: 2100, 100: 2400, 150: 3400}, [0, 60, 120])
    # counter at 0 = 1000 + 400 x 20/40 = 1200; at 60 = 1700 + 400 x 10/20 = 1900; at 120 = 2400 + 1000 x 20/50 = 2800
    assert energies(r) == pytest.approx([700.0, 900.0])  # 1900 - 1200, 2800 - 1900
    assert list(r.windows["coverage"]) == [1.0, 1.0]
    assert list(r.windows["complete"]) == [True, True]
    assert r.total_wh == pytest.approx(1600.0)  # 2800 - 1200
    assert len(r.gaps) == 0 and len(r.resets) == 0


def test_edges_on_readings_need_no_interpolation():
    r = run({0: 0, 60: 100, 120: 250}, [0, 60, 120])
    assert energies(r) == [100.0, 150.0]


def test_index_is_local_window_start():
    r = run({0: 0, 60: 100}, [0, 60])
    assert list(r.windows.index) == [pd.Timestamp("2026-01-15 11:00", tz=CPH)]  # 10:00 UTC = 11:00 CET
    assert r.windows.index.name == "window_start"


def test_windows_without_data_are_nan_not_zero():
    # 10 Wh/min between 30 and 90; nothing before 30 or after 90
    r = run({30: 0, 90: 600}, [0, 60, 120, 180])
    e = energies(r)
    assert e[0] == pytest.approx(300.0)  # counter at 60 = 300, from 0 at 30
    assert e[1] == pytest.approx(300.0)  # 600 - 300, 60 to 90
    assert math.isnan(e[2])
    assert list(r.windows["coverage"]) == pytest.approx([0.5, 0.5, 0.0])  # 30 of 60 min, 30 of 60, none
    assert not r.windows["complete"].any()
    assert r.total_wh == pytest.approx(600.0)


@pytest.mark.parametrize("points", [{}, {30: 100.0}])
def test_too_few_readings(points):
    r = run(points, [0, 60, 120])
    assert all(math.isnan(x) for x in energies(r))
    assert list(r.windows["coverage"]) == [0.0, 0.0]
    assert not r.windows["complete"].any()
    assert math.isnan(r.total_wh)  # no energy known, not 0 Wh
    assert len(r.gaps) == 0 and len(r.resets) == 0


def test_need_two_edges():
    with pytest.raises(ValueError, match="two window edges"):
        run({0: 0, 60: 1}, [0])


# -- resets ---------------------------------------------------------------------------------------
def test_reset_inside_a_window():
    r = run({0: 500, 20: 700, 40: 20, 60: 220, 80: 420, 100: 620, 120: 820}, [0, 60, 120])
    # 0-60: 700 - 500 = 200 before, 220 - 20 = 200 after, the 20 minutes across the reset unknown
    assert energies(r) == pytest.approx([400.0, 600.0])  # 820 - 220 in the second hour
    assert list(r.windows["coverage"]) == pytest.approx([2 / 3, 1.0])
    assert list(r.windows["resets"]) == [1, 0]
    assert list(r.windows["complete"]) == [False, True]
    assert r.resets.to_dict("records") == [
        {"time": pd.Timestamp("2026-01-15 10:40", tz="UTC"), "before": 700.0, "after": 20.0}
    ]


def test_reset_seen_at_a_reading_on_the_edge_belongs_to_the_window_before():
    # the counter fell between 10:30 and 11:00; 11:00-12:00 is fully known and must stay complete
    r = run({0: 0, 30: 300, 60: 10, 90: 310, 120: 610}, [0, 60, 120])
    assert energies(r) == pytest.approx([300.0, 600.0])  # 300 - 0; 610 - 10
    assert list(r.windows["coverage"]) == pytest.approx([0.5, 1.0])
    assert list(r.windows["resets"]) == [1, 0]
    assert list(r.windows["complete"]) == [False, True]
    assert list(r.resets["time"]) == [pd.Timestamp("2026-01-15 11:00", tz="UTC")]


def test_rollover_is_never_negative():
    r = run({0: 999_900, 20: 999_990, 40: 50, 60: 150}, [0, 60])
    assert energies(r) == pytest.approx([190.0])  # 999_990 - 999_900 = 90, 150 - 50 = 100
    assert (r.windows["energy_wh"] >= 0).all()
    assert list(r.windows["resets"]) == [1]


def test_reset_outside_the_range_is_not_listed():
    r = run({-40: 500, -20: 10, 0: 110, 60: 210}, [0, 60])
    assert energies(r) == [100.0]  # 210 - 110
    assert bool(r.windows["complete"].iloc[0])
    assert len(r.resets) == 0


# -- gaps -----------------------------------------------------------------------------------------
def test_gap_across_an_edge_is_not_attributed():
    r = run({0: 0, 30: 300, 150: 1500, 180: 1800}, [0, 60, 120, 180])
    e = energies(r)
    assert e[0] == pytest.approx(300.0) and math.isnan(e[1]) and e[2] == pytest.approx(300.0)
    assert list(r.windows["coverage"]) == pytest.approx([0.5, 0.0, 0.5])
    assert r.gaps.to_dict("records") == [
        {
            "start": pd.Timestamp("2026-01-15 10:30", tz="UTC"),
            "end": pd.Timestamp("2026-01-15 12:30", tz="UTC"),
            "duration_s": 7200.0,  # 120 min
            "energy_wh": 1200.0,  # 1500 - 300
            "attributed": False,
        }
    ]
    assert r.total_wh + 1200.0 == pytest.approx(1800.0)  # nothing lost: 300 + 300 + gap = 1800 - 0


def test_gap_inside_a_window_is_counted_fully():
    # 3-hour window, max gap 1 h; a 100-minute gap between 40 and 140 lies inside it
    r = run({0: 0, 40: 400, 140: 1400, 180: 1800}, [0, 180])
    assert energies(r) == [1800.0]
    assert list(r.windows["coverage"]) == [1.0]
    assert bool(r.windows["complete"].iloc[0])
    assert list(r.gaps["attributed"]) == [True]
    assert list(r.gaps["energy_wh"]) == [1000.0]  # 1400 - 400


def test_gap_touching_edges_stays_in_its_window():
    # max gap 30 min: the gap 0 -> 60 ends exactly on an edge, the gap 60 -> 110 starts exactly on one;
    # neither crosses an edge, so both are inside their window and counted
    r = run({0: 0, 60: 100, 110: 600, 120: 700}, [0, 60, 120], max_gap_s=1800)
    assert energies(r) == [100.0, 600.0]  # 100 - 0; 700 - 100
    assert r.windows["complete"].all()
    assert list(r.gaps["duration_s"]) == [3600.0, 3000.0]  # 60 min, 50 min
    assert list(r.gaps["attributed"]) == [True, True]


def test_interval_just_at_the_threshold_is_not_a_gap():
    # 60 min between readings with max_gap 3600 s: not a gap, interpolated across the edge at 30
    r = run({0: 0, 60: 600}, [0, 30, 60])
    assert energies(r) == pytest.approx([300.0, 300.0])  # 600 x 30/60 each
    assert len(r.gaps) == 0
    r = run({0: 0, 60: 600}, [0, 30, 60], max_gap_s=3599)
    assert all(math.isnan(x) for x in energies(r))
    assert list(r.gaps["energy_wh"]) == [600.0]


def test_default_max_gap_is_automatic():
    # readings every 15 min -> threshold 2.5 x 15 = 37.5 min; the 45-minute hole 30 -> 75 is a gap across 60
    r = run({0: 0, 15: 150, 30: 300, 75: 750, 90: 900, 105: 1050, 120: 1200}, [0, 60, 120], max_gap_s=None)
    assert energies(r) == pytest.approx([300.0, 450.0])  # 300 - 0; 1200 - 750
    assert list(r.gaps["duration_s"]) == [2700.0]


# -- calendar windows ------------------------------------------------------------------------------
def test_energy_across_the_dst_days_adds_up():
    # a counter rising exactly 10 Wh per hour, read every 15 minutes (2.5 Wh each)
    start = to_ms(datetime(2026, 3, 28, tzinfo=CPH))  # 03-27 23:00 UTC
    ts = start + np.arange(0, 4 * 24 * 4) * 900_000
    values = np.arange(0, 4 * 24 * 4) * 2.5
    e = edges_ms(Window("day").edges(datetime(2026, 3, 28, tzinfo=CPH), datetime(2026, 3, 31, tzinfo=CPH)))
    r = energy_per_window(ts, values, e, 3600)
    assert energies(r) == pytest.approx([240.0, 230.0, 240.0])  # 24 h, 23 h, 24 h x 10 Wh
    assert r.windows["complete"].all()
    e = edges_ms(Window("day").edges(datetime(2026, 10, 25, tzinfo=CPH), datetime(2026, 10, 26, tzinfo=CPH)))
    ts = to_ms(datetime(2026, 10, 24, tzinfo=CPH)) + np.arange(0, 3 * 24 * 4) * 900_000
    r = energy_per_window(ts, np.arange(0, 3 * 24 * 4) * 2.5, e, 3600)
    assert energies(r) == pytest.approx([250.0])  # 25 h x 10 Wh


# -- properties ----------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 120), st.floats(-500, 500, allow_nan=False)), min_size=2, max_size=40
    ),
    edge_step=st.sampled_from([15, 60, 90]),
)
def test_never_negative_and_adds_up(steps, edge_step):
    """Any counter, resets included: no negative window; windows + unattributed gaps = sum of good steps."""
    minutes = np.cumsum([0] + [s[0] for s in steps])
    values = np.maximum(0.0, 1000.0 + np.cumsum([0.0] + [s[1] for s in steps]))
    ts = m(*minutes)
    edges = m(*range(0, int(minutes[-1]) + edge_step, edge_step))
    r = energy_per_window(ts, values, edges, 1800)
    e = r.windows["energy_wh"].to_numpy()
    assert np.all(np.isnan(e) | (e >= -1e-9))
    assert np.all((r.windows["coverage"] >= 0) & (r.windows["coverage"] <= 1))
    d = np.diff(values)
    expected = d[d >= 0].sum()  # every non-negative step lies inside the edges
    unattributed = r.gaps.loc[~r.gaps["attributed"], "energy_wh"].sum()
    assert (0.0 if math.isnan(r.total_wh) else r.total_wh) + unattributed == pytest.approx(expected, abs=1e-6)
    assert len(r.resets) == int((d < 0).sum())


def test_utc_helpers_are_consistent():
    # m(60) is one hour after T0: 2026-01-15 11:00 UTC
    assert m(60)[0] == to_ms(datetime(2026, 1, 15, 10, tzinfo=UTC) + timedelta(hours=1))
