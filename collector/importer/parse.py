"""Parse Eloverblik/DataHub exports and generic ``time,value`` CSV files.

Eloverblik ("Eksporter" on eloverblik.dk, and DataHub time-series exports) writes one
row per interval (hourly, or 15 minutes since the 2023 shift to quarter-hour metering):
a metering-point id, the interval's start ("Fra dato") and end ("Til dato"), the
quantity ("Mængde") with a decimal comma, the unit ("Måleenhed", kWh), and quality and
type columns.  Columns are found by their header names (Danish or English), so the order
and extra columns do not matter.  Times without an offset are Danish local time; the
repeated hour of the autumn DST change is resolved by row order (the second 02:00 is the
later one).

NOTE: the column names were written from the documented layout, not checked against a
live export on this machine; :data:`COLUMN_NAMES` lists what is accepted.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from energimon.model import LOCAL_TZ


class ImportFormatError(ValueError):
    """A file that cannot be imported; ``errors`` lists ``file:line: problem`` strings."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} problem(s):\n  " + "\n  ".join(errors[:20]) + more)


COLUMN_NAMES = {
    "metering_point": ("målepunkt id", "målepunktid", "målepunkt", "målepunkts id", "metering point id",
                       "meteringpointid", "metering point"),
    "start": ("fra dato", "fra", "fra_dato", "start", "from", "from date", "fromdate", "time", "tid", "timestamp"),
    "end": ("til dato", "til", "til_dato", "end", "to", "to date", "todate"),
    "quantity": ("mængde", "maengde", "quantity", "forbrug", "value", "værdi", "kwh"),
    "unit": ("måleenhed", "enhed", "unit"),
}
UNIT_TO_WH = {"kwh": 1000.0, "wh": 1.0, "mwh": 1_000_000.0}
_FORMATS = ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d-%m-%Y",
            "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class IntervalRow:
    line: int
    metering_point: str
    start_ms: int
    end_ms: int | None
    energy_wh: float


@dataclass(frozen=True)
class ValueRow:
    line: int
    ts_ms: int
    value: float


def parse_number(text: str, decimal_comma: bool | None = None) -> float:
    """'1.234,5' / '1234,5' / '1234.5' / '1,234.5' -> 1234.5; raises ValueError naming the text."""
    t = text.strip().replace(" ", "").replace("\u00a0", "")
    if not t:
        raise ValueError("empty value (missing is not zero: leave the row out)")
    if decimal_comma is None:
        decimal_comma = "," in t and ("." not in t or t.rfind(",") > t.rfind("."))
    t = t.replace(".", "").replace(",", ".") if decimal_comma else t.replace(",", "")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"not a number: {text!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"not a finite number: {text!r}")
    return v


def parse_time_local(text: str, seen_fold: set[int] | None = None) -> int:
    """A time as epoch ms.  With an offset/Z: as given; without: Europe/Copenhagen local time.

    For the repeated local hour at the autumn DST change, the first occurrence is the
    earlier (CEST) instant; pass the same ``seen_fold`` set for a whole file so the second
    occurrence maps to the later (CET) one.
    """
    t = text.strip()
    dt_ = None
    try:
        dt_ = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _FORMATS:
            try:
                dt_ = datetime.strptime(t, fmt)
                break
            except ValueError:
                continue
    if dt_ is None:
        raise ValueError(f"cannot read time {text!r} (expected e.g. 01-01-2025 00:00:00 or 2025-01-01T00:00)")
    if dt_.tzinfo is not None:
        return int(dt_.timestamp() * 1000)
    first = dt_.replace(tzinfo=LOCAL_TZ, fold=0)
    second = dt_.replace(tzinfo=LOCAL_TZ, fold=1)
    ms0, ms1 = int(first.timestamp() * 1000), int(second.timestamp() * 1000)
    if ms0 != ms1 and seen_fold is not None:  # ambiguous wall time (autumn DST)
        if ms0 in seen_fold:
            return ms1
        seen_fold.add(ms0)
    # a non-existent spring-forward time (02:30 on the last Sunday of March) cannot come from a meter
    back = datetime.fromtimestamp(ms0 / 1000, tz=LOCAL_TZ).replace(tzinfo=None)
    if back != dt_:
        raise ValueError(f"time {text!r} does not exist in Danish local time (DST change)")
    return ms0


def _sniff(text: str) -> str:
    head = text.splitlines()[0] if text else ""
    return ";" if head.count(";") >= head.count(",") and ";" in head else ("\t" if "\t" in head else ",")


def _norm(h: str) -> str:
    return re.sub(r"\s+", " ", h.strip().strip('"').strip("\ufeff").lower())


def _columns(header: list[str], wanted: tuple[str, ...], name: str) -> dict[str, int]:
    norm = [_norm(h) for h in header]
    cols: dict[str, int] = {}
    for key, names in COLUMN_NAMES.items():
        for i, h in enumerate(norm):
            if h in names:
                cols[key] = i
                break
    missing = [k for k in wanted if k not in cols]
    if missing:
        raise ImportFormatError([f"{name}:1: header {header!r} lacks column(s) "
                                 + ", ".join(f"{k} (one of {', '.join(COLUMN_NAMES[k])})" for k in missing)])
    return cols


def _open_csv(text: str, name: str):
    """Separator, header row and a reader positioned after it (a BOM is ignored)."""
    sep = _sniff(text)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFormatError([f"{name}:1: the file is empty"]) from None
    return sep, header, reader


def parse_eloverblik(text: str, name: str = "<csv>") -> list[IntervalRow]:
    """Rows of an Eloverblik/DataHub export; raises :class:`ImportFormatError` listing every bad line."""
    sep, header, reader = _open_csv(text, name)
    cols = _columns(header, ("metering_point", "start", "quantity"), name)
    rows: list[IntervalRow] = []
    errors: list[str] = []
    folds: dict[str, set[int]] = {}
    for lineno, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        try:
            mp = rec[cols["metering_point"]].strip().strip("'\"")
            if not re.fullmatch(r"\d{18}", mp):
                raise ValueError(f"metering point id {mp!r} is not 18 digits")
            fold = folds.setdefault(mp, set())
            start = parse_time_local(rec[cols["start"]], fold)
            end = parse_time_local(rec[cols["end"]], None) if "end" in cols and rec[cols["end"]].strip() else None
            unit = rec[cols["unit"]].strip().lower() if "unit" in cols else "kwh"
            if unit not in UNIT_TO_WH:
                raise ValueError(f"unit {unit!r} is not one of kWh, Wh, MWh")
            q = parse_number(rec[cols["quantity"]], decimal_comma=sep == ";" or None)
            if q < 0:
                raise ValueError(f"negative quantity {q} (export and import are separate metering points)")
            rows.append(IntervalRow(lineno, mp, start, end, q * UNIT_TO_WH[unit]))
        except IndexError:
            errors.append(f"{name}:{lineno}: expected {len(header)} columns separated by {sep!r}, got {len(rec)}")
        except ValueError as exc:
            errors.append(f"{name}:{lineno}: {exc}")
    if errors:
        raise ImportFormatError(errors)
    return rows


def parse_time_value(text: str, name: str = "<csv>") -> list[ValueRow]:
    """A generic ``time,value`` CSV (header required; ``;`` with decimal comma or ``,`` with point)."""
    sep, header, reader = _open_csv(text, name)
    if len(header) < 2:
        raise ImportFormatError([f"{name}:1: expected a header 'time{sep}value', got {header!r}"])
    rows, errors, seen = [], [], set()
    for lineno, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        try:
            if len(rec) < 2:
                raise ValueError(f"expected time{sep}value, got {sep.join(rec)!r}")
            rows.append(ValueRow(lineno, parse_time_local(rec[0], seen), parse_number(rec[1], sep == ";" or None)))
        except ValueError as exc:
            errors.append(f"{name}:{lineno}: {exc}")
    if errors:
        raise ImportFormatError(errors)
    return rows


def infer_interval_ms(rows: list[IntervalRow]) -> int:
    """The interval length: from the end column if given, else the most common start-to-start step."""
    ends = [r.end_ms - r.start_ms for r in rows if r.end_ms is not None]
    if ends:
        return max(set(ends), key=ends.count)
    steps = [b.start_ms - a.start_ms for a, b in itertools.pairwise(rows) if b.start_ms > a.start_ms]
    if not steps:
        return int(timedelta(hours=1).total_seconds() * 1000)
    return max(set(steps), key=steps.count)
