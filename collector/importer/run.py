"""Import logic shared by the CLI and tests: parse, map, turn into readings, write (idempotently)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from energimon.collector.importer.counter import Interval, anchor_wh, counter_readings
from energimon.collector.importer.parse import (
    ImportFormatError,
    IntervalRow,
    infer_interval_ms,
    parse_eloverblik,
    parse_time_value,
)
from energimon.model import CHANNELS, Kind, Reading, SeriesKey, validate_reading

Progress = Callable[[int, int], None]


def _write(store, readings: list[Reading], progress: Progress | None, batch: int = 5000) -> int:
    rejected = 0
    for i in range(0, len(readings), batch):
        rejected += len(store.write(readings[i:i + batch]))
        if progress:
            progress(min(i + batch, len(readings)), len(readings))
    return rejected


def import_eloverblik_text(store, text: str, mapping: dict, name: str = "<csv>",
                           progress: Progress | None = None) -> list[str]:
    """Import one export; returns one summary line per metering point.  Nothing is written if any line is bad."""
    rows = parse_eloverblik(text, name)
    errors = [f"{name}:{r.line}: metering point {r.metering_point} is not in [[datahub.metering_points]]"
              for r in rows if r.metering_point not in mapping]
    by_mp: dict[str, list] = defaultdict(list)
    for r in rows:
        by_mp[r.metering_point].append(r)
    plan: list[tuple[SeriesKey, str, list[Interval], str]] = []
    for mp, mrows in by_mp.items():
        if mp not in mapping:
            continue
        step = infer_interval_ms(mrows)
        seen: dict[int, int] = {}
        for r in mrows:
            if r.start_ms in seen:
                errors.append(f"{name}:{r.line}: interval starting at the same time as line {seen[r.start_ms]}")
            seen.setdefault(r.start_ms, r.line)
        m = mapping[mp]
        key = SeriesKey(m.site, m.device, m.channel)
        plan.append((key, m.role, [Interval(r.start_ms, r.start_ms + step, r.energy_wh) for r in mrows],
                     f"{mp} -> {key}: {len(mrows)} intervals of {step // 60000} min"))
    if errors:
        raise ImportFormatError(errors)
    lines = []
    for key, role, intervals, label in plan:
        readings = counter_readings(key, role, intervals, anchor_wh(store, key, min(i.start_ms for i in intervals)))
        rejected = _write(store, readings, progress)
        total_kwh = sum(i.energy_wh for i in intervals) / 1000.0
        lines.append(f"{label}, {total_kwh:,.1f} kWh, {len(readings)} counter readings written"
                     + (f", {rejected} refused (see energimon deadletters)" if rejected else ""))
    return lines


def import_time_value_text(store, text: str, key: SeriesKey, role: str, interval_kwh: bool = False,
                           name: str = "<csv>", progress: Progress | None = None) -> str:
    """Import a generic time,value file into one series; every invalid value is reported with its line."""
    rows = parse_time_value(text, name)
    info = CHANNELS[key.channel]
    if interval_kwh:
        if info.kind is not Kind.COUNTER:
            raise ValueError(f"--interval-kwh needs a counter channel; {key.channel} is a {info.kind}")
        step = infer_interval_ms([_as_interval_row(r) for r in rows])
        intervals = [Interval(r.ts_ms, r.ts_ms + step, r.value * 1000.0) for r in rows]
        readings = counter_readings(key, role, intervals, anchor_wh(store, key, min(r.ts_ms for r in rows)))
    else:
        readings = [Reading(key.site, key.device, key.channel, role, r.ts_ms, r.value) for r in rows]
        errors = []
        for r, rd in zip(rows, readings, strict=True):
            try:
                validate_reading(rd)
            except ValueError as exc:
                errors.append(f"{name}:{r.line}: {exc}")
        if errors:
            raise ImportFormatError(errors)
    rejected = _write(store, readings, progress)
    return f"{name} -> {key}: {len(readings)} readings written" + (f", {rejected} refused" if rejected else "")


def _as_interval_row(r) -> IntervalRow:
    return IntervalRow(r.line, "", r.ts_ms, None, r.value)
