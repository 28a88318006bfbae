"""Aggregation windows: fixed (up to one hour) and Danish calendar windows.

Fixed windows divide one hour (1 min ... 1 h).  Because Europe/Copenhagen is a
whole number of hours from UTC all year, a window aligned to the Unix epoch is
also aligned to the local clock, so fixed windows are computed in UTC.

Calendar windows (day, week, month, year) start at local midnight, so a day
is 23 or 25 hours long on the DST change days and a month of March or October
is one hour shorter or longer.  Their edges are built from local dates, not by
adding 24 h, which is what keeps the totals of a report right on those days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from energimon.model import LOCAL_TZ

FIXED_WINDOWS_S: dict[str, int] = {
    "1min": 60,
    "5min": 300,
    "10min": 600,
    "15min": 900,
    "30min": 1800,
    "1h": 3600,
}
CALENDAR_WINDOWS: dict[str, str] = {"day": "D", "week": "W-MON", "month": "MS", "year": "YS"}
WINDOW_NAMES = (*FIXED_WINDOWS_S, *CALENDAR_WINDOWS)


@dataclass(frozen=True)
class Window:
    name: str

    def __post_init__(self) -> None:
        if self.name not in WINDOW_NAMES:
            raise ValueError(f"unknown window {self.name!r}; expected one of {', '.join(WINDOW_NAMES)}")

    @property
    def fixed_s(self) -> int | None:
        return FIXED_WINDOWS_S.get(self.name)

    @property
    def bucket_s(self) -> int:
        """Size of the fixed partial buckets this window is composed of."""
        return self.fixed_s or 3600

    def edges(self, start: datetime, end: datetime) -> pd.DatetimeIndex:
        """Window boundaries covering ``[start, end)``, widened to whole windows, in UTC."""
        start_ts, end_ts = _utc(start), _utc(end)
        if end_ts <= start_ts:
            raise ValueError(f"end {end_ts} must be after start {start_ts}")
        if self.fixed_s:
            size = pd.Timedelta(seconds=self.fixed_s)
            return pd.date_range(start_ts.floor(size), end_ts.ceil(size), freq=size)
        freq = CALENDAR_WINDOWS[self.name]
        local_start = start_ts.tz_convert(LOCAL_TZ)
        local_end = end_ts.tz_convert(LOCAL_TZ)
        first = local_start.normalize().tz_localize(None)
        if self.name == "week":
            first -= pd.Timedelta(days=first.weekday())
        elif self.name == "month":
            first = first.replace(day=1)
        elif self.name == "year":
            first = first.replace(month=1, day=1)
        last_needed = local_end.tz_localize(None)
        dates = pd.date_range(first, last_needed + pd.tseries.frequencies.to_offset(freq), freq=freq)
        dates = dates[dates >= first]
        # keep edges up to and including the first one at or after `end`
        # (compare in ns: `asi8` is in the index's own unit, `Timestamp.value` is always ns)
        local_edges = dates.tz_localize(LOCAL_TZ)
        idx = int(np.searchsorted(local_edges.as_unit("ns").asi8, local_end.value, side="left"))
        return local_edges[: idx + 1].tz_convert("UTC")


def _utc(t: datetime | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    if ts.tzinfo is None:
        raise ValueError(f"time {t!r} has no time zone; give an aware datetime (UTC or local)")
    return ts.tz_convert("UTC")


def to_ms(t: datetime | pd.Timestamp) -> int:
    return int(_utc(t).value // 1_000_000)


def edges_ms(edges: pd.DatetimeIndex) -> np.ndarray:
    """Window edges as epoch milliseconds (int64), whatever the index's resolution.

    pandas 3 builds indexes in microseconds (or ms, s) as well as ns, so ``asi8``
    alone does not say which unit it is in.
    """
    return edges.as_unit("ms").asi8.astype(np.int64)


def combine_partials(partials: pd.DataFrame, edges: pd.DatetimeIndex) -> pd.DataFrame:
    """Combine fixed-bucket partial aggregates into the windows given by ``edges``.

    ``partials`` is indexed by bucket start (UTC) with columns count, sum, min,
    max, last (sorted by time).  Every window between the edges appears in the
    result; a window without data has count 0 and NaN elsewhere (a gap is
    never reported as zero).
    """
    n_windows = len(edges) - 1
    out = pd.DataFrame(
        {
            "count": np.zeros(n_windows, dtype=np.int64),
            "sum": np.full(n_windows, np.nan),
            "min": np.full(n_windows, np.nan),
            "max": np.full(n_windows, np.nan),
            "last": np.full(n_windows, np.nan),
        }
    )
    if len(partials):
        bucket_ns = pd.DatetimeIndex(partials.index).as_unit("ns").asi8
        win = np.searchsorted(edges.as_unit("ns").asi8, bucket_ns, side="right") - 1
        keep = (win >= 0) & (win < n_windows) & (partials["count"].to_numpy() > 0)
        if keep.any():
            p = partials[keep]
            grouped = p.groupby(win[keep], sort=True)
            agg = grouped.agg(
                count=("count", "sum"),
                sum=("sum", "sum"),
                min=("min", "min"),
                max=("max", "max"),
                last=("last", "last"),
            )
            rows = agg.index.to_numpy()
            for col in ("count", "sum", "min", "max", "last"):
                out.loc[rows, col] = agg[col].to_numpy()
    out["mean"] = out["sum"] / out["count"].where(out["count"] > 0)
    out.index = edges[:-1].tz_convert(LOCAL_TZ)
    out.index.name = "window_start"
    return out
