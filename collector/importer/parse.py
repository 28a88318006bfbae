"""Parse Eloverblik/DataHub exports and generic ``time,value`` CSV files — strictly.

The numbers, local times and lines are read by :mod:`energimon.timeseries_csv` (shared with the savings
contract's price file); this module adds the Eloverblik columns, units and interval ends.

Eloverblik ("Eksporter" on eloverblik.dk, and DataHub time-series exports) writes one
row per interval (hourly, or 15 minutes since the 2023 shift to quarter-hour metering):
a metering-point id, the interval's start ("Fra dato") and end ("Til dato"), the
quantity ("Mængde") with a decimal comma, the unit ("Måleenhed", kWh), and quality and
type columns.  Columns are found by their header names (Danish or English), so the order
and extra columns do not matter.

Every value is read exactly or refused with its line; nothing is guessed (see
:mod:`energimon.timeseries_csv` for numbers, local times and lines).

NOTE: the Eloverblik column names were written from the documented layout, not checked
against a live export on this machine; :data:`COLUMN_NAMES` lists what is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from energimon.cliutil import t
from energimon.timeseries_csv import (
    MAX_LINE_CHARS,
    SHOW_ERRORS,
    CsvFormatError,
    DecimalMark,
    LocalTimes,
    ValueRow,
    amount,
    detect_decimal_mark,
    line_of,
    local_text,
    most_common_step_ms,
    normalise_header,
    parse_end_time,
    parse_number,
    parse_time_local,
    parse_time_value,
    read_table,
    time_value_rows,
)

__all__ = [  # the shared reader's names, as the importer's modules and tests use them
    "MAX_LINE_CHARS", "SHOW_ERRORS", "DecimalMark", "ImportFormatError", "IntervalRow", "LocalTimes", "ValueRow",
    "amount", "detect_decimal_mark", "eloverblik_rows", "infer_interval_ms", "local_text", "parse_eloverblik",
    "parse_end_time", "parse_number", "parse_time_local", "parse_time_value", "time_value_rows",
]

ImportFormatError = CsvFormatError
"""A file that cannot be imported; ``errors`` lists ``file:line: problem`` strings."""

COLUMN_NAMES = {
    "metering_point": ("målepunkt id", "målepunktid", "målepunkt", "målepunkts id", "metering point id",
                       "meteringpointid", "metering point"),
    "start": ("fra dato", "fra", "fra_dato", "start", "from", "from date", "fromdate", "time", "tid", "timestamp"),
    "end": ("til dato", "til", "til_dato", "end", "to", "to date", "todate"),
    "quantity": ("mængde", "maengde", "quantity", "forbrug", "value", "værdi", "kwh"),
    "unit": ("måleenhed", "enhed", "unit"),
}
UNIT_TO_WH = {"kwh": 1000.0, "wh": 1.0, "mwh": 1_000_000.0}
_UNIT_NAMES = {"kwh": "kWh", "wh": "Wh", "mwh": "MWh"}


@dataclass(frozen=True)
class IntervalRow:
    line: int
    metering_point: str
    start_ms: int
    end_ms: int | None
    energy_wh: float
    source: str = ""  # the file's name, for messages about rows of several files


# -- lines and columns -----------------------------------------------------------------------------

def _columns(header: list[str], wanted: tuple[str, ...], name: str) -> dict[str, int]:
    norm = [normalise_header(h) for h in header]
    cols: dict[str, int] = {}
    for key, names in COLUMN_NAMES.items():
        for i, h in enumerate(norm):
            if h in names:
                cols[key] = i
                break
    missing = [k for k in wanted if k not in cols]
    if missing:
        da = ", ".join(f"{k} (en af {', '.join(COLUMN_NAMES[k])})" for k in missing)
        en = ", ".join(f"{k} (one of {', '.join(COLUMN_NAMES[k])})" for k in missing)
        raise CsvFormatError([f"{name}:1: " + t(f"overskriften {header!r} mangler kolonne(r) {da}",
                                                f"header {header!r} lacks column(s) {en}")])
    return cols


# -- Eloverblik -------------------------------------------------------------------------------------

def parse_eloverblik(text: str, name: str = "<csv>", decimal_mark: str | None = None) -> list[IntervalRow]:
    """Rows of an Eloverblik/DataHub export; raises :class:`ImportFormatError` listing every bad line."""
    rows, errors = eloverblik_rows(text, name, decimal_mark)
    if errors:
        raise ImportFormatError(errors)
    return rows


def eloverblik_rows(text: str, name: str = "<csv>",
                    decimal_mark: str | None = None) -> tuple[list[IntervalRow], list[str]]:
    """The rows that read well and the errors of those that do not (a bad header raises
    :class:`ImportFormatError`), so later checks can name every bad line in one pass."""
    table = read_table(text, name)
    cols = _columns(table.header, ("metering_point", "start", "quantity"), name)
    dm = detect_decimal_mark([(ln, rec[cols["quantity"]]) for ln, rec in table.rows], table.sep, name, decimal_mark)
    rows: list[IntervalRow] = []
    errors = list(table.errors)
    times: dict[str, LocalTimes] = {}
    for lineno, rec in table.rows:
        try:
            mp = rec[cols["metering_point"]].strip().strip("'\"")
            if not re.fullmatch(r"\d{18}", mp):
                raise ValueError(t(f"målepunkt-id {mp[:40]!r} er ikke 18 cifre",
                                   f"metering point id {mp[:40]!r} is not 18 digits"))
            start = times.setdefault(mp, LocalTimes()).resolve(rec[cols["start"]], lineno)
            end = parse_end_time(rec[cols["end"]], start) if "end" in cols and rec[cols["end"]].strip() else None
            unit = rec[cols["unit"]].strip().lower() if "unit" in cols else "kwh"
            if unit not in UNIT_TO_WH:
                raise ValueError(t(f"enheden {unit[:20]!r} er ikke en af kWh, Wh, MWh",
                                   f"unit {unit[:20]!r} is not one of kWh, Wh, MWh"))
            q = parse_number(rec[cols["quantity"]], dm)
            if q < 0:
                qty = f"{amount(q)} {_UNIT_NAMES[unit]}"
                raise ValueError(t(f"negativ mængde {qty}: en forbrugstæller stiger kun (produktion og eksport er "
                                   "særskilte målepunkter med positive mængder); ret rækken eller udelad den",
                                   f"negative quantity {qty}: a consumption counter only rises (production and "
                                   "export are separate metering points with positive quantities); correct the row "
                                   "or leave it out"))
            rows.append(IntervalRow(lineno, mp, start, end, q * UNIT_TO_WH[unit], name))
        except ValueError as exc:
            errors.append(f"{name}:{lineno}: {exc}")
    return rows, sorted(errors, key=line_of)


def infer_interval_ms(rows: list[IntervalRow]) -> int:
    """The interval length: from the end column if given, else the most common start-to-start step."""
    ends = [r.end_ms - r.start_ms for r in rows if r.end_ms is not None]
    if ends:
        return max(set(ends), key=ends.count)
    return most_common_step_ms(r.start_ms for r in rows)
