"""CSV for Excel: ``;`` as separator and decimal comma for Danish Excel, ``,``/``.`` otherwise."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path


def csv_cell(value, decimal_comma: bool) -> str:
    """One cell: numbers without thousands separators; NaN is an empty cell (missing is not zero)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        text = repr(round(value, 6))
        text = text[:-2] if text.endswith(".0") else text
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence], sep: str = ";",
              decimal_comma: bool = True) -> Path:
    """Write a table; UTF-8 with BOM so Excel shows æ, ø and å correctly."""
    if decimal_comma and sep == ",":
        raise ValueError("a decimal comma needs another separator, e.g. ';'")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f, delimiter=sep, lineterminator="\r\n")
        w.writerow(header)
        for row in rows:
            w.writerow([csv_cell(v, decimal_comma) for v in row])
    return path
