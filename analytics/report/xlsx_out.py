"""XLSX for Excel: report tables as a workbook of real numbers and dates, not text.

Numbers are numeric cells with a number format (Excel shows them with the reader's own
thousands and decimal marks, so one file serves Danish and English Excel), dates are date
cells, a missing value is an empty cell (missing is not zero), the header row is bold and
frozen, and every column gets a width that fits its content.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

KWH = "#,##0"
DKK = "#,##0"
PRICE = "0.00"
FACTOR = "0.000"
KG = "#,##0"
INT = "0"
FRACTION = "0.0%"
DATE = "yyyy-mm-dd"
MONTH = "yyyy-mm"
DATETIME = "yyyy-mm-dd hh:mm"
"""A time: Danish local time (a cell has no time zone; the column's header says "dansk tid")."""
MAX_TITLE = 31  # Excel's limit for a sheet name
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Cell:
    """A value with its own number format (overrides the column's)."""

    value: object
    number_format: str | None = None


@dataclass
class Sheet:
    title: str
    header: list[str]
    rows: list[list[object]]
    formats: Sequence[str | None] = ()  # number format per column (None: general / text)
    bold_rows: set[int] = field(default_factory=set)  # indices into ``rows`` shown bold (sub-headers)


def sheet_title(name: str, taken: set[str]) -> str:
    """A valid, unique sheet name: no ``[]:*?/\\``, at most 31 characters, unique ignoring case."""
    base = _BAD_TITLE.sub("-", name).strip("' ") or "Ark"
    title, k = base[:MAX_TITLE], 2
    while title.lower() in taken:
        suffix = f" ({k})"
        title, k = base[:MAX_TITLE - len(suffix)] + suffix, k + 1
    taken.add(title.lower())
    return title


def excel_value(value: object) -> str | bool | int | float | dt.date | None:
    """A Python value Excel stores natively: NaN/∞ -> empty, numpy numbers -> float/int, dates stay dates, a time
    with a zone becomes Danish local time (Excel's cells have no zone)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        from energimon.model import LOCAL_TZ

        if value != value:  # pandas' NaT
            return None
        return value.astimezone(LOCAL_TZ).replace(tzinfo=None)
    if value is None or isinstance(value, str | bool | dt.date):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        v = float(value)
        return v if math.isfinite(v) else None
    return str(value)


def _display_len(value: object, number_format: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    if isinstance(value, float | int) and not isinstance(value, bool):
        decimals = len(number_format.split(".")[1].rstrip("%")) if number_format and "." in number_format else 0
        return len(f"{value:,.{decimals}f}") + 1
    return max(len(line) for line in str(value).splitlines() or [""])


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """Write the sheets (in order) to one workbook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet_title(sheet.title, taken))
        widths = [len(h) for h in sheet.header]
        ws.append(sheet.header)
        for c in ws[1]:
            c.font = bold
            c.alignment = Alignment(wrap_text=False, vertical="top")
        for i, row in enumerate(sheet.rows):
            r = i + 2
            for j, raw in enumerate(row):
                fmt = sheet.formats[j] if j < len(sheet.formats) else None
                if isinstance(raw, Cell):
                    fmt = raw.number_format or fmt
                    raw = raw.value
                value = excel_value(raw)
                cell = ws.cell(row=r, column=j + 1, value=value)
                if isinstance(value, dt.datetime):
                    cell.number_format = fmt if fmt in (DATE, DATETIME) else DATETIME
                elif isinstance(value, dt.date):
                    cell.number_format = fmt if fmt in (DATE, MONTH) else DATE
                elif isinstance(value, float | int) and not isinstance(value, bool) and fmt:
                    cell.number_format = fmt
                if i in sheet.bold_rows:
                    cell.font = bold
                if j >= len(widths):
                    widths.append(0)
                widths[j] = max(widths[j], _display_len(value, fmt))
        for j, w in enumerate(widths):
            ws.column_dimensions[get_column_letter(j + 1)].width = min(60, max(8, w + 2))
        ws.freeze_panes = "A2"
    wb.save(path)
    return path
