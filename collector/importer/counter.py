"""Interval energies -> an energy counter (the store's convention: consumption is a counter difference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from energimon.model import Reading, SeriesKey


@dataclass(frozen=True)
class Interval:
    start_ms: int
    end_ms: int
    energy_wh: float
    where: str = ""  # "file:line" the interval came from, for messages


LOOK_BACK_MS = 400 * 86_400_000


def anchor_wh(store, key: SeriesKey, first_start_ms: int) -> float:
    """The counter value to continue from: the store's reading exactly at ``first_start_ms`` (a previous
    import of this file or the one before it), else the last reading before it (up to 400 days back,
    so the query stays bounded on InfluxDB), else 0 — a counter that starts again at 0 after older data
    is seen by the store as a reset, never as negative consumption."""
    _ts, v = store.read_raw_ms(key, first_start_ms - LOOK_BACK_MS, first_start_ms + 1)
    return float(v[-1]) if len(v) else 0.0


def counter_readings(key: SeriesKey, role: str, intervals: list[Interval], anchor: float) -> list[Reading]:
    """Readings of a counter that rises by each interval's energy.

    A reading at the first interval's start (the anchor) and at every interval's end.
    After a hole between intervals no start reading is written: the energy in the hole is
    unknown, so the store sees one long interval and flags it as a gap instead of a zero.
    Duplicate and overlapping intervals must have been refused or resolved by the caller, and the
    energies must be non-negative (a counter never goes down).
    """
    if not intervals:
        return []
    iv = sorted(intervals, key=lambda i: i.start_ms)
    cum = anchor + np.cumsum([i.energy_wh for i in iv])
    out = [Reading(key.site, key.device, key.channel, role, iv[0].start_ms, float(anchor))]
    out += [Reading(key.site, key.device, key.channel, role, i.end_ms, float(c)) for i, c in zip(iv, cum, strict=True)]
    return out


def reading_sources(intervals: list[Interval]) -> list[str]:
    """Where each reading of :func:`counter_readings` came from (the anchor: the first interval)."""
    iv = sorted(intervals, key=lambda i: i.start_ms)
    return [iv[0].where] + [i.where for i in iv] if iv else []
