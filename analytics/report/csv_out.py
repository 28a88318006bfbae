"""CSV for Excel: in Danish ``;`` as separator, a decimal comma and Danish column headers; in English ``,``/``.``
and English headers.  Times are Danish local time Excel reads as dates (``2026-12-07 02:04``), the zone named in
the header (:mod:`energimon.timeseries_csv`, the cell rules shared with ``energimon export``)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from energimon.analytics.report.i18n import COLUMNS
from energimon.analytics.report.units import in_unit
from energimon.timeseries_csv import csv_cell as _cell

CSV_COLUMNS: dict[str, dict[str, str]] = {
    # the solar report (analytics/solar/kpis.py PERIOD_COLUMNS and the report's own)
    "p0_kwp": {"da": "Installeret effekt kWp", "en": "Installed power kWp"},
    "reference": {"da": "Reference for PR", "en": "PR reference"},
    "hours": {"da": "Timer", "en": "Hours"},
    "hours_complete": {"da": "Timer med alle data", "en": "Hours with complete data"},
    "pv_kwh": {"da": "Solcelleproduktion kWh", "en": "PV production kWh"},
    "import_kwh": {"da": "Køb fra nettet kWh", "en": "Grid import kWh"},
    "export_kwh": {"da": "Salg til nettet kWh", "en": "Grid export kWh"},
    "consumption_kwh": {"da": "Forbrug kWh", "en": "Consumption kWh"},
    "self_consumed_kwh": {"da": "Egetforbrug kWh", "en": "Self-consumed kWh"},
    "self_consumption_ratio": {"da": "Egetforbrugsandel", "en": "Self-consumption ratio"},
    "self_sufficiency_ratio": {"da": "Selvforsyningsgrad", "en": "Self-sufficiency ratio"},
    "final_yield_kwh_per_kwp": {"da": "Specifikt udbytte kWh/kWp", "en": "Final yield kWh/kWp"},
    "reference_yield_h": {"da": "Referenceudbytte h", "en": "Reference yield h"},
    "performance_ratio": {"da": "Performance ratio (PR)", "en": "Performance ratio (PR)"},
    "expected_ac_kwh": {"da": "Forventet produktion kWh", "en": "Expected production kWh"},
    "yield_vs_expected": {"da": "Produktion i forhold til forventet", "en": "Production against expected"},
    "expected_hours": {"da": "Timer med forventet produktion", "en": "Hours with expected production"},
    "producing_hours": {"da": "Timer med produktion", "en": "Producing hours"},
    "expected_hours_no_data": {"da": "Forventede timer uden data", "en": "Expected hours without data"},
    "availability": {"da": "Rådighed", "en": "Availability"},
    # the CO₂ account (analytics/report/co2_section.py)
    "carrier": {"da": "Energiart", "en": "Carrier"},
    "method": {"da": "Metode", "en": "Method"},
    "kwh": {"da": "Samlet forbrug kWh", "en": "Total use kWh"},
    "periods": {"da": "Perioder", "en": "Periods"},
    "periods_counted": {"da": "Perioder talt med", "en": "Periods counted"},
    "avoided_co2_kg": {"da": "Undgået CO₂ kg", "en": "Avoided CO₂ kg"},
    # the measures of the savings report (analytics/report/measures_section.py)
    "measure_id": {"da": "Tiltag (id)", "en": "Measure (id)"},
    "measure_name": {"da": "Tiltag", "en": "Measure"},
    "in_option_c": {"da": "Del af bygningens Option C (heraf)", "en": "Part of the building's Option C"},
    "guarantee_verdict": {"da": "Garanti", "en": "Guarantee"},
}
"""Column headers of the CSV files that are not the savings report's (:data:`i18n.COLUMNS`), per language."""

LABELS: dict[str, dict[str, str]] = {**COLUMNS, **CSV_COLUMNS}
_OTHER_UNIT = re.compile(r"m³|\[enhed\]|\[unit\]")


def header_label(key: str, lang: str) -> str:
    """A column's header in ``lang``; a column without a label keeps its key."""
    return LABELS.get(key, {}).get(lang, key)


def column_keys(header: Sequence[str], lang: str) -> list[str]:
    """The keys of a written file's header row (its labels in ``lang``), for a program reading the file back;
    a header without a label is its own key."""
    keys = {labels[lang]: key for key, labels in LABELS.items() if lang in labels}
    # a header in another carrier's unit (m³, or "[enhed]" in a file of mixed units) is the kWh column's
    return [keys.get(h) or keys.get(_OTHER_UNIT.sub("kWh", h), h) for h in header]


def csv_cell(value: object, decimal_comma: bool) -> str:
    """One cell: numbers without thousands separators, local times Excel reads as dates; NaN is an empty cell
    (missing is not zero)."""
    return _cell(value, decimal_comma)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]], sep: str = ";",
              decimal_comma: bool = True, lang: str | None = None, unit: str = "kWh") -> Path:
    """Write a table; UTF-8 with BOM so Excel shows æ, ø and å correctly.

    ``header`` holds the columns' keys; the file has their headers in ``lang``.  Without ``lang`` the headers
    follow the numbers: a file for Danish Excel (decimal comma) gets Danish headers, one with a decimal point
    English ones — which is what every report's default (``lang`` decides both) gives.  ``unit``: the amounts'
    unit the headers name (a gas or water contract's m³; :func:`~energimon.analytics.report.units.in_unit`)."""
    if decimal_comma and sep == ",":
        raise ValueError("a decimal comma needs another separator, e.g. ';'")
    lang = lang or ("da" if decimal_comma else "en")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f, delimiter=sep, lineterminator="\r\n")
        w.writerow([in_unit(header_label(k, lang), unit) for k in header])
        for row in rows:
            w.writerow([csv_cell(v, decimal_comma) for v in row])
    return path
