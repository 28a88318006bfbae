"""The tiny interface between a live data source and the runner that schedules it.

A source (Eloverblik, Energi Data Service, DMI) knows its API and nothing else: it turns the
windows the runner asks for into :class:`Fetched` chunks of :class:`Point` values of configured
:class:`SeriesSpec` series.  The runner (:mod:`.runner`) owns everything around it: which window
to fetch (backfill or incremental from the watermark), the state file, turning points into readings
(counters for interval energy), the spool, revisions and the log lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, overload

from pydantic import SecretStr

from energimon.model import SeriesKey

Kind = Literal["interval", "gauge"]
"""``interval``: energy per period (Wh), stored as a counter; ``gauge``: a value per period start."""


@dataclass(frozen=True)
class SeriesSpec:
    """One series a source fills: the source's own id for it and where it goes in the store."""

    source: str  # "eloverblik", "energidataservice", "dmi"
    ident: str  # the source's id: a GSRN, "DK2/DayAheadPrices", a DMI station id + parameter
    site: str
    device: str
    channel: str
    role: str
    kind: Kind

    @property
    def key(self) -> SeriesKey:
        return SeriesKey(self.site, self.device, self.channel)

    @property
    def name(self) -> str:
        """Unique name in the state file: ``source:ident``."""
        return f"{self.source}:{self.ident}"


class Point(NamedTuple):
    """A value of one period ``[start_ms, end_ms)``: Wh for interval series, the channel's unit for gauges.

    ``quality`` is the source's own quality code where it has one (DataHub: A01 adjusted, A03 estimated,
    A04 measured, A05 incomplete), else None.  A named tuple, not a frozen dataclass: a backfill makes one per
    value, millions, and a frozen dataclass took 4 times as long to build (``bench/sources_backfill.py``).
    """

    start_ms: int
    end_ms: int
    value: float
    quality: str | None = None


class PointColumns(Sequence[Point]):
    """Many points as columns (``starts``, ``ends``, ``values``, ``qualities``): what a source's parser hands the
    runner for a page of history (DataHub: 35,000 quarter hours a metering point a year).  A ``Sequence[Point]``
    (a :class:`Point` is built only for the items someone looks at), so everything that takes points takes it;
    the runner and the state file read the columns (``bench/sources_backfill.py``)."""

    __slots__ = ("_ordered", "ends", "qualities", "starts", "values")

    def __init__(self, starts: list[int], ends: list[int], values: list[float], qualities: list[str | None],
                 ordered: bool | None = None):
        if not len(starts) == len(ends) == len(values) == len(qualities):
            raise ValueError("the columns of the points differ in length")
        self.starts, self.ends, self.values, self.qualities = starts, ends, values, qualities
        # in_order(), once known (the columns are not changed after building); a parser that had the starts in an
        # array says so (its check there is cheaper than in_order's loop over the list)
        self._ordered: bool | None = ordered

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, i: int) -> Point: ...

    @overload
    def __getitem__(self, i: slice) -> list[Point]: ...

    def __getitem__(self, i: int | slice) -> Point | list[Point]:
        if isinstance(i, slice):
            return list(map(Point, self.starts[i], self.ends[i], self.values[i], self.qualities[i]))
        return Point(self.starts[i], self.ends[i], self.values[i], self.qualities[i])

    def __iter__(self) -> Iterator[Point]:
        return map(Point, self.starts, self.ends, self.values, self.qualities)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"PointColumns({len(self)} points)"

    @classmethod
    def join(cls, parts: Sequence[PointColumns]) -> PointColumns:
        if len(parts) == 1:
            return parts[0]
        out = cls([], [], [], [])
        out._ordered = None
        for p in parts:
            out.starts += p.starts
            out.ends += p.ends
            out.values += p.values
            out.qualities += p.qualities
        return out

    def in_order(self) -> bool:
        """Whether the starts strictly increase (in time order, no repeats)."""
        if self._ordered is None:
            s = self.starts
            self._ordered = all(map(int.__lt__, s, s[1:]))
        return self._ordered


@dataclass
class Fetched:
    """What one request (or one page run) returned for one series in the window ``[start_ms, end_ms)``.

    ``complete``: the source answered for the whole window (so the runner may move the series'
    watermark to ``end_ms``); points may still be fewer than the window's periods (no data yet).

    ``ends_request``: False while more chunks of the same answer follow (DataHub: 10 metering points a request).
    The runner stores the chunks up to the one that ends the request together, in one spool and one state
    transaction (one fsync for the request, not one per series: ``bench/sources_backfill.py``).
    """

    spec: SeriesSpec
    start_ms: int
    end_ms: int
    points: Sequence[Point] = field(default_factory=list)  # a list, or PointColumns
    complete: bool = True
    ends_request: bool = True


Cause = Literal["token", "authorisation", "unknown_series", "schema", "truncated", "rate_limited", "http",
                "unreachable", "config"]


class SourceError(Exception):
    """A failure with a named cause, one clear log line each (never a traceback for an API's answer).

    ``series``: the series it concerns (None: the whole source, e.g. a refused token); ``affected``: the
    series a failed request was for (one log line, recorded on each of them).
    """

    def __init__(self, cause: Cause, message: str, series: SeriesSpec | None = None,
                 affected: tuple[SeriesSpec, ...] = ()):
        super().__init__(message)
        self.cause = cause
        self.series = series
        self.affected = affected


@dataclass
class FetchContext:
    """What the runner tells a source for one run."""

    windows: dict[str, tuple[int, int]]
    """Per series name: ``[start_ms, end_ms)`` to fetch (series missing here are not fetched this run)."""
    stop: threading.Event
    report: Callable[[SourceError], None]
    """A failure that concerns one series (or one request): logged once, the run goes on with the rest."""

    def stopped(self) -> bool:
        return self.stop.is_set()


class Source(Protocol):
    """What the runner needs from a source."""

    name: str

    def series(self) -> list[SeriesSpec]:
        """The configured series (without network: a DMI station found by distance is resolved in fetch)."""
        ...

    def fetch(self, ctx: FetchContext) -> Iterator[Fetched]:
        """Fetch the windows in ``ctx``, yielding chunks as they arrive (the runner stores each at once).

        Raise :class:`SourceError` for a failure that stops the whole source (a refused token);
        report failures of single series through ``ctx.report`` and go on.
        """
        ...

    def close(self) -> None:
        ...


def read_secret_file(path: Path, key: str) -> SecretStr:
    """A secret from a file (stripped), or ValueError naming the key and the file (never the content)."""
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None
