"""Runs a source once: which windows to fetch, the state file, points → readings → spool, revisions, log lines.

One run of a source (a scheduled job in the daemon, or ``energimon sources fetch|backfill``):

1. **Windows.**  A series never fetched is backfilled from ``backfill_days`` ago (or ``--since``).
   Afterwards a run starts at the older of its watermark and the end of its latest value, minus
   ``revision_days``: late values and DataHub's corrections of recent days arrive that way.
2. **Each chunk the source yields** is merged into the state file, compared with what was fetched
   before.  New and changed values become readings (``RevisableReading``: a changed value is a revision that
   replaces the stored one); the spool takes them; only then does the state commit and the watermark
   advance.  A crash in between re-fetches the chunk next time; the store absorbs the repeat.  The chunks
   of one request (:attr:`Fetched.ends_request`) go through this together: one state transaction, one
   spool put (one commit, one fsync) for all of them.
3. **Interval energy becomes a counter** with the importer's :func:`counter_readings`, so fetched data
   looks like imported data.  A revised (or late) hour changes every later counter value, so the
   counter is rebuilt from the earliest changed hour onward out of the state file's values (see
   :func:`counter_rebuild` and the package README).
4. **Failures** are one log line per cause and series per run (:class:`SourceError`); the run goes on
   with the other series.  Nothing raises out of :meth:`SourceRunner.run` but a bug.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from energimon.collector.sources.base import (
    FetchContext,
    Fetched,
    Point,
    PointColumns,
    SeriesSpec,
    Source,
    SourceError,
)
from energimon.collector.sources.state import CounterColumns, Merge, SourceState
from energimon.model import Reading, RevisableReading, now_ms
from energimon.store.spool import SeriesGroup, SeriesReadings

log = logging.getLogger("energimon.sources")
DAY_MS = 86_400_000

Sink = Callable[[Sequence[Reading], str], object]
"""Puts readings durably into the spool or raises (e.g. ``SpoolFull``): nothing is then recorded as fetched."""


@dataclass
class RunSummary:
    source: str
    series: int = 0
    chunks: int = 0
    new: int = 0
    revised: int = 0
    requalified: int = 0
    unchanged: int = 0
    readings: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    fatal: str | None = None  # what stopped the whole source (a refused token, a full spool)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.fatal is None and not self.errors

    def line(self) -> str:
        text = (f"{self.source}: {self.series} series, {self.new} new values, {self.revised} revised, "
                f"{self.unchanged} unchanged, {self.readings} readings to the spool, {self.requests} requests "
                f"in {self.seconds:.1f} s")
        if self.fatal:
            text += f"; STOPPED: {self.fatal}"
        if self.errors:
            text += f"; {len(self.errors)} failure(s)"
        return text


class SourceBusy(Exception):
    """Another process (the daemon, or a second ``energimon sources`` command) is running this source."""


@contextlib.contextmanager
def source_lock(state_path: Path, source: str) -> Iterator[None]:
    """One run of a source at a time across processes (an advisory lock file beside the state file)."""
    path = state_path.with_name(f"{state_path.name}.{source}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SourceBusy(f"{source} is being fetched by another process (the daemon?); try again later") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def dedupe(points: Sequence[Point]) -> Sequence[Point]:
    """One value per period start (the last one the source sent), in time order."""
    if isinstance(points, PointColumns):
        if points.in_order():
            return points  # the usual case: already in order, no repeats (checked on the column)
    elif all(a.start_ms < b.start_ms for a, b in itertools.pairwise(points)):
        return points
    by_start = {p.start_ms: p for p in points}
    return [by_start[k] for k in sorted(by_start)]


HOLE_STEP_WH = 1.0
"""How far the counter steps down at a hole in the source's data (see :func:`counter_rebuild`)."""


def counter_rebuild(state: SourceState, series_id: int, spec: SeriesSpec,
                    merge: Merge) -> tuple[Sequence[Reading], CounterColumns]:
    """The counter readings that change when the values in ``merge`` are added or revised, and the counter
    at each interval's end (``(starts, counters)``, kept in the state file for the next rebuild).

    The counter is a function of the fetched intervals alone: 0 at the start of the earliest interval;
    at each interval's end the previous value plus the interval's energy (the importer's
    :func:`counter_readings`, run on each contiguous run of intervals).  At a **hole** (an interval the
    source has no value for, DataHub quality A02, or not delivered yet) the counter steps *down* by
    :data:`HOLE_STEP_WH` at the start of the next known interval: to the store that is a reset, so the
    hole's energy is unknown — never zero, and never smeared over the hours around it (a counter that
    simply went on would make a one-hour hole look like a two-hour interval holding one hour's energy).
    A change at hour *h* (a revision, a late value, a filled hole) moves every counter value from *h* on,
    so those are recomputed and written again (as revisions); values before *h* stay as they are.
    Called by :meth:`SourceState.merge` before it writes, so the state file still has the old values.
    """
    start = merge.first_changed_ms
    if start is None:
        return [], ([], [])
    before = state.counter_before(series_id, start)
    changed: Sequence[Point] = merge.changed
    if isinstance(changed, PointColumns):
        if not changed.in_order():
            changed = sorted(changed, key=lambda p: p.start_ms)
    elif not all(a.start_ms < b.start_ms for a, b in itertools.pairwise(changed)):
        changed = sorted(changed, key=lambda p: p.start_ms)
    # Stored values from ``start`` on that this merge does not replace (all but the revised ones): the counter runs
    # over them too, so overlay the changes on them.  Not "more stored than new": a correction late yesterday with
    # today's hours in the same run has fewer stored values after it than new ones, and those would have been
    # skipped as a hole (tests/test_sources_eloverblik.py).
    if state.count_from(series_id, start) > len(merge.revised):
        by_start = {p.start_ms: p for p in state.points_from(series_id, start)}
        by_start.update((p.start_ms, p) for p in changed)
        changed = [by_start[k] for k in sorted(by_start)]
    # The importer's counter_readings on each contiguous run, written out on columns: a backfill rebuilds
    # millions of values, and an Interval plus a Reading per value (then a RevisableReading) cost about
    # 20 µs a value (bench/sources_backfill.py).  Same arithmetic: anchor + np.cumsum(the run's energies).
    if isinstance(changed, PointColumns):  # a page of history, as parsed: its columns as they are
        starts, ends, energies = changed.starts, changed.ends, changed.values
    else:
        starts = [p.start_ms for p in changed]
        ends = [p.end_ms for p in changed]
        energies = [p.value for p in changed]
    breaks = list(itertools.compress(range(1, len(starts)), map(int.__ne__, starts[1:], ends[:-1])))
    ts_ms: list[int] = []
    values: list[float] = []
    counter_starts: list[int] = []
    counters: list[float] = []
    value = 0.0 if before is None else before[1]
    last_end = None if before is None else before[0]
    for i0, i1 in zip([0, *breaks], [*breaks, len(changed)], strict=True):
        contiguous = last_end == starts[i0]
        if last_end is not None and not contiguous:
            value -= min(HOLE_STEP_WH, value)  # the hole: a step down (a counter at 0 cannot show one)
        cum = (value + np.cumsum(energies[i0:i1])).tolist()
        if not contiguous:  # the run's start reading (contiguous: the previous end, already written with it)
            ts_ms.append(starts[i0])
            values.append(float(value))
        ts_ms += ends[i0:i1]
        values += cum
        counter_starts += starts[i0:i1]
        counters += cum
        value = cum[-1]
        last_end = ends[i1 - 1]
    return (SeriesReadings(RevisableReading, spec.site, spec.device, spec.channel, spec.role, ts_ms, values),
            (counter_starts, counters))


def gauge_readings(spec: SeriesSpec, merge: Merge) -> Sequence[Reading]:
    if isinstance(merge.changed, PointColumns):
        return SeriesReadings(RevisableReading, spec.site, spec.device, spec.channel, spec.role,
                              merge.changed.starts, list(map(float, merge.changed.values)))
    return SeriesReadings(RevisableReading, spec.site, spec.device, spec.channel, spec.role,
                          [p.start_ms for p in merge.changed], [float(p.value) for p in merge.changed])


class SourceRunner:
    """Runs sources against one state file and one sink (the spool)."""

    def __init__(self, state: SourceState, sink: Sink, *, backfill_days: int, revision_days: int,
                 clock: Callable[[], int] = now_ms):
        self.state = state
        self.sink = sink
        self.backfill_days = backfill_days
        self.revision_days = revision_days
        self.clock = clock

    def windows(self, source: Source, since_ms: int | None = None) -> dict[str, tuple[int, int]]:
        """Per series: ``[start, now)``.  ``since_ms`` (a backfill by hand) overrides the watermark."""
        now = self.clock()
        out = {}
        status = {s.name: s for s in self.state.status()}
        for spec in source.series():
            if since_ms is not None:
                start = since_ms
            else:
                st = status.get(spec.name)
                if st is None or st.fetched_until_ms is None:
                    start = now - self.backfill_days * DAY_MS
                else:
                    resume = st.fetched_until_ms if st.last_end_ms is None else min(st.fetched_until_ms, st.last_end_ms)
                    start = resume - self.revision_days * DAY_MS
            if start < now:
                out[spec.name] = (start, now)
        return out

    def run(self, source: Source, *, since_ms: int | None = None, stop: threading.Event | None = None,
            progress: Callable[[RunSummary], None] | None = None) -> RunSummary:
        t0 = time.monotonic()
        summary = RunSummary(source.name, series=len(source.series()))
        stop = stop or threading.Event()
        reported: set[tuple[str, str]] = set()

        def report(exc: SourceError) -> None:
            where = exc.series.name if exc.series else source.name
            summary.errors.append(str(exc))
            for spec in ((exc.series,) if exc.series is not None else exc.affected):
                self.state.record_error(spec, f"{exc.cause}: {exc}")
            if (where, exc.cause) not in reported:  # one line per cause and series per run
                reported.add((where, exc.cause))
                log.error("%s", exc)

        requests_before = getattr(getattr(source, "http", None), "requests", 0)
        ctx = FetchContext(self.windows(source, since_ms), stop, report)
        # A request's chunks, stored together once its last one arrived.  Left here when the source stops with a
        # SourceError: not stored, the watermark stays, and the next run fetches them again.
        pending: list[Fetched] = []
        try:
            for chunk in source.fetch(ctx):
                pending.append(chunk)
                if chunk.ends_request:
                    self._ingest_request(pending, summary)
                    pending = []
                    if progress is not None:
                        progress(summary)
            if pending:  # a source that ended without saying the request was complete
                self._ingest_request(pending, summary)
                if progress is not None:
                    progress(summary)
        except SourceError as exc:
            summary.fatal = str(exc)
            for spec in source.series():
                self.state.record_error(spec, f"{exc.cause}: {exc}")
            log.error("%s", exc)
        except Exception as exc:  # the spool refused (full, disk): stop here, nothing is lost
            from energimon.store.spool import SpoolFull

            if not isinstance(exc, SpoolFull):
                raise
            if stop.is_set():  # the daemon is stopping: not a failure, the next run goes on from the watermark
                summary.fatal = "stopped with the daemon; the next run goes on from here"
                log.info("%s: %s", source.name, summary.fatal)
            else:
                summary.fatal = f"the spool refused the readings ({exc}); the next run fetches them again"
                log.error("%s: %s", source.name, summary.fatal)
        summary.requests = getattr(getattr(source, "http", None), "requests", 0) - requests_before
        summary.seconds = time.monotonic() - t0
        return summary

    def _ingest(self, chunk: Fetched, summary: RunSummary) -> None:
        self._ingest_request([chunk], summary)

    def _ingest_request(self, chunks: Sequence[Fetched], summary: RunSummary) -> None:
        """Merge the chunks of one request into the state file and put their readings into the spool in one call
        (:class:`SeriesGroup`: one transaction); the state (values, watermarks) commits only after that."""
        merged: list[tuple[Fetched, Merge, int]] = []
        with self.state.transaction():
            parts: dict[str, list[Sequence[Reading]]] = {}  # per sink label (one source: one label)
            advance: list[tuple[int, int]] = []
            for chunk in chunks:
                spec = chunk.spec
                sid = self.state.series_id(spec)
                merge, readings = self._merge(sid, spec, dedupe(chunk.points))
                if readings:
                    parts.setdefault(f"source:{spec.source}", []).append(readings)
                if chunk.complete:
                    advance.append((sid, min(chunk.end_ms, self.clock())))
                merged.append((chunk, merge, len(readings)))
            for label, readings_ in parts.items():
                self.sink(_joined(readings_), label)  # durable before the state says "fetched"
            for sid, until in advance:
                self.state.advance(sid, until)
        for chunk, merge, n in merged:
            spec = chunk.spec
            for rev in merge.revised:
                log.info("%s: %s revised at %s: %g -> %g (quality %s -> %s)", spec.source, spec.key,
                         _local(rev.start_ms), rev.old_value, rev.new_value, rev.old_quality, rev.new_quality)
            summary.chunks += 1
            summary.new += merge.new
            summary.revised += len(merge.revised)
            summary.requalified += merge.requalified
            summary.unchanged += merge.unchanged
            summary.readings += n

    def _merge(self, sid: int, spec: SeriesSpec, points: Sequence[Point]) -> tuple[Merge, Sequence[Reading]]:
        """A chunk's points into the state file (inside the caller's transaction), and the readings they make."""
        if spec.kind == "interval":
            made: list[Sequence[Reading]] = []  # what the one call of counters_for built

            def counters_for(m: Merge) -> CounterColumns:
                readings_, counters = counter_rebuild(self.state, sid, spec, m)
                made.append(readings_)
                return counters

            merge = self.state.merge(sid, points, counters_for)
            return merge, (made[0] if made else [])
        merge = self.state.merge(sid, points)
        return merge, gauge_readings(spec, merge)


def _joined(parts: Sequence[Sequence[Reading]]) -> Sequence[Reading]:
    """Several series' readings as one sequence for one put: columns stay columns (:class:`SeriesGroup`)."""
    if len(parts) == 1:
        return parts[0]
    series = [p for p in parts if isinstance(p, SeriesReadings)]
    if len(series) == len(parts):
        return SeriesGroup(series)
    return list(itertools.chain.from_iterable(parts))


def _local(ms: int) -> str:
    import datetime as dt

    from energimon.model import LOCAL_TZ

    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M %Z")
