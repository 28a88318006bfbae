"""The store's small interface: where collectors' readings land and analytics read.

A store implements five primitives (write, series, latest, raw reads and
fixed-bucket partial aggregates).  Everything with calendar or counter
semantics — Europe/Copenhagen windows, DST days, counter resets, gaps — is
implemented once here, on top of those primitives, so the embedded SQLite store
and the InfluxDB store give the same answers on the same data (the shared test
suite in ``tests/store_contract.py`` runs against each implementation).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from energimon.model import Kind, Reading, SeriesKey, channel_info

if TYPE_CHECKING:  # numpy and pandas are imported where the reads use them: the daemon's write path needs neither
    import numpy as np
    import pandas as pd

    from energimon.store.counters import EnergyResult

AGGREGATES = ("mean", "min", "max", "last", "sum", "count")


class StoreError(Exception):
    """The store cannot take or serve data right now (unreachable, auth, disk)."""


@dataclass(frozen=True)
class Rejected:
    """A reading the store refused for good (not a transient failure)."""

    reading: Reading
    reason: str


def collision_reason(r: Reading, stored: float) -> str:
    """Why a device-stamped reading (:attr:`OnConflict.KEEP`) is refused: its series already holds another value
    at that millisecond.  The stored value is kept; replacing it needs an explicit revision."""
    when = datetime.fromtimestamp(r.ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (f"time collision: {r.key} already holds {stored!r} at {when} ({r.ts_ms} ms); this reading, with the "
            f"time its source gave, has {float(r.value)!r}: refused, the stored value is kept")


@dataclass(frozen=True)
class StoreHealth:
    reachable: bool
    kind: str
    detail: str


class Store(ABC):
    kind: str = "abstract"

    # -- primitives every implementation provides ---------------------------------
    @abstractmethod
    def write(self, readings: Sequence[Reading]) -> list[Rejected]:
        """Write a batch idempotently (same series + timestamp overwrites).

        Except readings with :attr:`OnConflict.KEEP` (their time came from the device): where
        the series already holds a *different* value at that time (in the store or earlier in
        the batch), they are refused (:func:`collision_reason`) and the stored value is kept.
        Returns the readings refused for good; raises :class:`StoreError` when
        nothing could be written and a retry may succeed.
        """

    @abstractmethod
    def series(self) -> pd.DataFrame:
        """All known series: columns site, device, channel, role."""

    @abstractmethod
    def latest(self) -> pd.DataFrame:
        """Last reading of every series: columns site, device, channel, role, time (UTC), value."""

    @abstractmethod
    def read_raw_ms(self, key: SeriesKey, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Readings with ``start_ms <= ts < end_ms`` as (ts_ms int64, value float64), sorted."""

    def partials_ms(self, key: SeriesKey, start_ms: int, end_ms: int, bucket_s: int) -> pd.DataFrame:
        """Epoch-aligned fixed buckets with count, sum, min, max, last.

        The default computes them from raw readings; stores that can push the
        aggregation down (SQL GROUP BY, InfluxQL GROUP BY time) override it.
        """
        ts, v = self.read_raw_ms(key, start_ms, end_ms)
        return partials_from_raw(ts, v, bucket_s)

    def ping(self) -> StoreHealth:
        return StoreHealth(True, self.kind, "ok")

    def maintain(self, now_ms: int | None = None, budget_s: float = 2.0) -> bool:
        """Housekeeping the spool writer runs in its idle time (the embedded store compacts old days).

        Works for about ``budget_s``; returns True when more is due (call again soon).  Default: nothing to do.
        """
        return False

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    # -- semantics shared by all stores ---------------------------------------------
    def read(self, key: SeriesKey, start: datetime, end: datetime) -> pd.Series:
        """Raw readings in ``[start, end)``, indexed by UTC time."""
        import pandas as pd

        from energimon.store.windows import to_ms

        ts, v = self.read_raw_ms(key, to_ms(start), to_ms(end))
        index = pd.to_datetime(ts, unit="ms", utc=True)
        return pd.Series(v, index=index, name=str(key))

    def aggregate(
        self, key: SeriesKey, start: datetime, end: datetime, window: str, how: str = "mean"
    ) -> pd.Series:
        """One aggregate per window, indexed by window start in Europe/Copenhagen.

        The range is widened to whole windows.  Windows without data are present
        with NaN (count: 0) — a gap is never reported as zero.
        """
        how = _check_how(how)  # before touching the store
        return self.aggregates(key, start, end, window)[how]

    def aggregates(self, key: SeriesKey, start: datetime, end: datetime, window: str) -> pd.DataFrame:
        """All aggregates (mean, min, max, last, sum, count) per window."""
        from energimon.store.windows import Window, combine_partials

        win = Window(window)
        edges = win.edges(start, end)
        start_ms, end_ms = int(edges[0].value // 1_000_000), int(edges[-1].value // 1_000_000)
        partials = self.partials_ms(key, start_ms, end_ms, win.bucket_s)
        return combine_partials(partials, edges)[list(AGGREGATES)]

    def energy(
        self,
        key: SeriesKey,
        start: datetime,
        end: datetime,
        window: str,
        max_gap_s: float | None = None,
    ) -> EnergyResult:
        """Energy per window from a counter channel (differences, resets, gaps)."""

        from energimon.store.counters import auto_max_gap_s, energy_per_window
        from energimon.store.windows import Window, edges_ms

        info = channel_info(key.channel)
        if info.kind is not Kind.COUNTER:
            raise ValueError(f"{key}: energy needs a counter channel, {key.channel} is a {info.kind}")
        e_ms = edges_ms(Window(window).edges(start, end))

        # Look around the range far enough to interpolate the counter at its edges:
        # a reading up to max_gap_s outside the range still forms a usable interval.
        def around(look_s: float) -> tuple[np.ndarray, np.ndarray]:
            look_ms = int(look_s * 1000) + 1
            return self.read_raw_ms(key, int(e_ms[0]) - look_ms, int(e_ms[-1]) + look_ms)

        if max_gap_s is not None:
            ts, v = around(max_gap_s)
        else:
            probe_s = 6 * 3600
            ts, v = around(probe_s)
            max_gap_s = auto_max_gap_s(ts)
            if max_gap_s > probe_s:  # sparse counter (e.g. daily utility readings): look further
                ts, v = around(max_gap_s)
        return energy_per_window(ts, v, e_ms, max_gap_s)


def partials_from_raw(ts: np.ndarray, v: np.ndarray, bucket_s: int) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    cols = ["count", "sum", "min", "max", "last"]
    if len(ts) == 0:
        return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], tz="UTC"))
    bucket_ms = bucket_s * 1000
    b = ts // bucket_ms
    starts = np.concatenate(([0], np.nonzero(np.diff(b))[0] + 1))
    counts = np.diff(np.concatenate((starts, [len(ts)])))
    df = pd.DataFrame(
        {
            "count": counts,
            "sum": np.add.reduceat(v, starts),
            "min": np.minimum.reduceat(v, starts),
            "max": np.maximum.reduceat(v, starts),
            "last": v[np.concatenate((starts[1:], [len(ts)])) - 1],
        },
        index=pd.to_datetime(b[starts] * bucket_ms, unit="ms", utc=True),
    )
    return df


def _check_how(how: str) -> str:
    if how not in AGGREGATES:
        raise ValueError(f"unknown aggregate {how!r}; expected one of {', '.join(AGGREGATES)}")
    return how
