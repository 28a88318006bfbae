"""The savings report's XLSX workbook: the portfolio, a sheet per building with its month, year to date and
time since the measure followed by its monthly history (every month since the measure), and "Om rapporten".

Buildings are named by their display name (the site's ``name``), months are date cells shown as ``yyyy-mm``,
amounts numeric cells with a number format (:mod:`energimon.analytics.report.xlsx_out`).  Computes nothing:
the months are the evaluation's (:attr:`energimon.analytics.esco.evaluation.SiteResult.months`).

The report (:mod:`energimon.analytics.report.savings_report`) hands over its table rows and its "Om rapporten"
sheet, so this module never imports the report back.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from energimon.analytics.co2 import co2_kg
from energimon.analytics.report import xlsx_out
from energimon.analytics.report.i18n import ABOUT, COLUMNS
from energimon.analytics.report.units import common_unit, in_unit, unit_of
from energimon.analytics.report.xlsx_out import Cell, Sheet

if TYPE_CHECKING:
    from energimon.analytics.esco.evaluation import SiteResult
    from energimon.analytics.esco.settings import EscoSettings
    from energimon.analytics.savings import PeriodSavings

HISTORY: dict[str, dict[str, str]] = {
    "history": {"da": "Månedlig historik (alle måneder siden tiltaget)",
                "en": "Monthly history (every month since the measure)"},
    "month": {"da": "Måned", "en": "Month"},
    "cusum": {"da": "Akkumuleret besparelse kWh", "en": "Cumulative savings kWh"},
    "none": {"da": "Ingen måneder med resultater endnu.", "en": "No months with results yet."},
    "site": {"da": "Bygning", "en": "Building"},
}

HISTORY_COLUMNS: list[tuple[str, str | None]] = [
    ("month", xlsx_out.MONTH), ("status", None), ("points", xlsx_out.INT), ("points_with_data", xlsx_out.INT),
    ("adjusted_baseline_kwh", xlsx_out.KWH), ("actual_kwh", xlsx_out.KWH), ("savings_kwh", xlsx_out.KWH),
    ("uncertainty_68_kwh", xlsx_out.KWH), ("uncertainty_90_kwh", xlsx_out.KWH), ("savings_dkk", xlsx_out.DKK),
    ("co2_kg", xlsx_out.KG), ("cusum", xlsx_out.KWH),
]
"""The monthly history's columns (keys of :data:`i18n.COLUMNS` or :data:`HISTORY`) and number formats."""


def _label(key: str, lang: str) -> str:
    return (HISTORY.get(key) or COLUMNS[key])[lang]


def month_start(label: str) -> dt.date:
    """``"2026-03"`` (a monthly period's label) as the month's first day, a date cell in the workbook."""
    year, month = label.split("-")[:2]
    return dt.date(int(year), int(month), 1)


def history_rows(r: SiteResult, esco: EscoSettings, lang: str) -> list[list[object]]:
    """One row per month since the measure: amounts of a month without enough data are empty cells (missing is
    not zero), its status says why; the cumulative saving runs over the months with results."""
    rows: list[list[object]] = []
    cusum = 0.0
    for raw in r.months:
        p: PeriodSavings = raw.shown()
        start = month_start(p.label)
        ok = raw.status == "ok"
        if ok and math.isfinite(p.savings_kwh):
            cusum += p.savings_kwh
        values: dict[str, object] = {
            "month": start, "status": ABOUT[f"status_{raw.status}"][lang], "points": p.points,
            "points_with_data": p.m, "adjusted_baseline_kwh": p.adjusted_baseline_kwh, "actual_kwh": p.actual_kwh,
            "savings_kwh": p.savings_kwh, "uncertainty_68_kwh": p.uncertainty_68_kwh,
            "uncertainty_90_kwh": p.uncertainty_90_kwh, "savings_dkk": p.savings_dkk,
            "co2_kg": co2_kg(p.savings_kwh, esco, r.carrier, start.year), "cusum": cusum if ok else None,
        }
        rows.append([Cell(values[key], fmt) if fmt else values[key] for key, fmt in HISTORY_COLUMNS])
    return rows


def _named(rows: list[list[object]], names: dict[str, str]) -> list[list[object]]:
    """The first column (a site id, or the portfolio already in words) as the building's display name."""
    return [[names.get(str(row[0]), row[0]), *row[1:]] if row else row for row in rows]


def savings_sheets(results: Sequence[SiteResult], site_rows: dict[str, list[list[object]]],
                   all_rows: list[list[object]], esco: EscoSettings, lang: str, *, header_keys: Sequence[str],
                   formats: dict[str, str], about: Sheet) -> list[Sheet]:
    """The workbook: portfolio first, then one sheet per building (its three periods, then its months), then
    ``about`` ("Om rapporten").  ``site_rows``/``all_rows`` are the report's table rows in words (columns
    ``header_keys``, the first one the site), ``formats`` their number formats by column key."""
    names = {r.site: r.name for r in results}
    header = [HISTORY["site"][lang], *(COLUMNS[c][lang] for c in header_keys[1:])]
    column_formats = [formats.get(c) for c in header_keys]
    mixed = common_unit(["kWh", *(unit_of(r.carrier) for r in results)], lang)
    sheets = [Sheet(ABOUT["sheet_portfolio"][lang], [in_unit(h, mixed) for h in header], _named(all_rows, names),
                    column_formats)]
    for r in results:
        rows = _named(site_rows[r.site], names)
        bold = set()
        rows.append([])
        bold.add(len(rows))
        rows.append([HISTORY["history"][lang]])
        bold.add(len(rows))
        rows.append([_label(key, lang) for key, _ in HISTORY_COLUMNS])
        history = history_rows(r, esco, lang)
        rows += history or [[HISTORY["none"][lang]]]
        sheets.append(Sheet(r.name, [in_unit(h, unit_of(r.carrier)) for h in header], rows, column_formats,
                            bold_rows=bold))
    sheets.append(about)
    return sheets


__all__ = ["HISTORY_COLUMNS", "history_rows", "month_start", "savings_sheets"]
