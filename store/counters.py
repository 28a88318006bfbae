"""Energy per window from cumulative counters.

Consumption in a period is the difference of an energy counter, not the
integral of sampled power (docs/ARCHITECTURE.md#counters-not-integrals).  This module turns raw counter readings
into energy per window, honestly:

* **Window edges** rarely coincide with readings.  The counter at an edge is
  interpolated linearly between the readings on either side, so windows add
  up exactly to the counter difference over the whole range.
* **Resets** (a counter that goes backwards: reset, rollover, meter swap) are
  detected and listed.  The step across a reset contributes nothing: energy is
  never negative, and the window is marked incomplete because the energy used
  between the last reading before and the reset itself is unknown.
* **Gaps** (two readings further apart than ``max_gap_s``) are listed with the
  energy the counter says was used across them.  A gap inside one window is
  harmless (both readings are in the window, so its total is exact); a gap that
  crosses a window edge cannot be split without inventing a profile, so its
  energy is not attributed to either window and both are marked incomplete.
  A gap is never filled and never zero.

A window with no usable interval has ``energy_wh`` NaN and coverage 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.model import LOCAL_TZ

DEFAULT_MIN_GAP_S = 900
GAP_FACTOR = 2.5


@dataclass(frozen=True)
class EnergyResult:
    windows: pd.DataFrame
    """Indexed by window start (Europe/Copenhagen); columns ``energy_wh``,
    ``coverage`` (0..1, share of the window whose energy is known), ``complete``
    (coverage == 1 and no reset) and ``resets`` (count)."""
    gaps: pd.DataFrame
    """Columns ``start``, ``end`` (UTC), ``duration_s``, ``energy_wh``, ``attributed``."""
    resets: pd.DataFrame
    """Columns ``time`` (UTC), ``before``, ``after``: the counter values around each reset."""

    @property
    def total_wh(self) -> float:
        return float(self.windows["energy_wh"].sum(min_count=1))


def auto_max_gap_s(ts_ms: np.ndarray) -> float:
    """Default gap threshold: 2.5 x the median sampling interval, at least 15 minutes."""
    if len(ts_ms) < 2:
        return float(DEFAULT_MIN_GAP_S)
    median_s = float(np.median(np.diff(ts_ms))) / 1000.0
    return max(float(DEFAULT_MIN_GAP_S), GAP_FACTOR * median_s)


def energy_per_window(
    ts_ms: np.ndarray,
    values: np.ndarray,
    edges_ms: np.ndarray,
    max_gap_s: float | None = None,
) -> EnergyResult:
    """Energy in each window ``[edges_ms[k], edges_ms[k+1])`` from counter readings.

    ``ts_ms`` must be sorted ascending and unique; ``values`` are the counter
    readings in the counter's own unit (Wh for our energy channels).
    """
    ts = np.asarray(ts_ms, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    e = np.asarray(edges_ms, dtype=np.int64)
    if len(e) < 2:
        raise ValueError("need at least two window edges")
    gap_ms = (auto_max_gap_s(ts) if max_gap_s is None else float(max_gap_s)) * 1000.0

    n_win = len(e) - 1
    if len(ts) < 2:
        return _result(e, np.full(n_win, np.nan), np.zeros(n_win), np.zeros(n_win, int), [], [])

    t0, t1 = ts[:-1], ts[1:]
    dt = (t1 - t0).astype(np.float64)
    d = v[1:] - v[:-1]
    is_reset = d < 0
    # Does an edge lie strictly inside the interval?  Then a long interval
    # (a gap) cannot be attributed; an interval within one window always can.
    first_edge_after = np.searchsorted(e, t0, side="right")
    crosses_edge = (first_edge_after < len(e)) & (e[np.minimum(first_edge_after, len(e) - 1)] < t1)
    is_gap = dt > gap_ms
    good = ~is_reset & ~(is_gap & crosses_edge)

    good_d = np.where(good, d, 0.0)
    good_dt = np.where(good, dt, 0.0)
    cum_e = np.concatenate(([0.0], np.cumsum(good_d)))
    cum_t = np.concatenate(([0.0], np.cumsum(good_dt)))

    def at_edges(cum: np.ndarray, per_interval: np.ndarray) -> np.ndarray:
        i = np.searchsorted(ts, e, side="right") - 1  # interval containing the edge
        before = i < 0
        after = i >= len(ts) - 1
        ic = np.clip(i, 0, len(ts) - 2)
        frac = np.clip((e - ts[ic]) / dt[ic], 0.0, 1.0)
        val = cum[ic] + per_interval[ic] * frac
        val = np.where(before, 0.0, val)
        return np.where(after, cum[-1], val)

    c_edges = at_edges(cum_e, good_d)
    g_edges = at_edges(cum_t, good_dt)
    energy = np.diff(c_edges)
    covered_ms = np.diff(g_edges)
    coverage = covered_ms / np.diff(e).astype(np.float64)
    energy = np.where(covered_ms > 0, energy, np.nan)

    # A reset happened somewhere in (t0, t1]: it belongs to the window holding that
    # interval's end, i.e. e[k] < t1 <= e[k+1] (a reading exactly on an edge closes
    # the window before it; the next window's data are untouched by the reset).
    reset_idx = np.nonzero(is_reset)[0]
    reset_win = np.searchsorted(e, t1[reset_idx], side="left") - 1
    resets_per_win = np.zeros(n_win, dtype=np.int64)
    in_range = (reset_win >= 0) & (reset_win < n_win)
    np.add.at(resets_per_win, reset_win[in_range], 1)

    in_span = (t1 > e[0]) & (t0 < e[-1])
    gap_rows = [
        (int(t0[i]), int(t1[i]), float(dt[i]) / 1000.0, float(d[i]), bool(good[i]))
        for i in np.nonzero(is_gap & ~is_reset & in_span)[0]
    ]
    reset_rows = [
        (int(t1[i]), float(v[i]), float(v[i + 1]))
        for i in reset_idx
        if e[0] < t1[i] <= e[-1]
    ]
    return _result(e, energy, np.clip(coverage, 0.0, 1.0), resets_per_win, gap_rows, reset_rows)


def _result(e: np.ndarray, energy: np.ndarray, coverage: np.ndarray, resets: np.ndarray,
            gap_rows: list[tuple[int, int, float, float, bool]],
            reset_rows: list[tuple[int, float, float]]) -> EnergyResult:
    index = pd.to_datetime(e[:-1], unit="ms", utc=True).tz_convert(LOCAL_TZ)
    index.name = "window_start"
    windows = pd.DataFrame(
        {
            "energy_wh": energy,
            "coverage": coverage,
            "complete": (coverage >= 1.0 - 1e-12) & (resets == 0),
            "resets": resets,
        },
        index=index,
    )
    gaps = pd.DataFrame(gap_rows, columns=["start", "end", "duration_s", "energy_wh", "attributed"])
    for col in ("start", "end"):
        gaps[col] = pd.to_datetime(gaps[col], unit="ms", utc=True)
    resets_df = pd.DataFrame(reset_rows, columns=["time", "before", "after"])
    resets_df["time"] = pd.to_datetime(resets_df["time"], unit="ms", utc=True)
    return EnergyResult(windows=windows, gaps=gaps, resets=resets_df)
