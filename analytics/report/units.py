"""A carrier's unit in what a report prints (docs/ARCHITECTURE.md#units-and-channels).

The report texts and column headers are written in kWh; a building whose contract saves natural gas or water
reads in m³ (``energimon.carriers``). :func:`in_unit` says a text in the carrier's unit — "kWh" becomes "m³",
also inside "kr./kWh" (a price per m³), "kWh/døgn" and "kg/kWh" — so every section, table header and CSV
header of such a building names the unit its numbers are in, without a second copy of every text.
"""

from __future__ import annotations

from collections.abc import Iterable

from energimon import carriers
from energimon.analytics.report.document import Chart, Section, Table, Term
from energimon.carriers import InUnit, in_unit

UNIT_WORD = {"da": "enhed", "en": "unit"}


def unit_of(carrier: str) -> str:
    return carriers.unit_of(carrier)


def section_in_unit(sec: Section, unit: str) -> Section:
    """Every paragraph, table (headers, cells, title) and chart title of ``sec`` in ``unit``."""
    if unit == "kWh":
        return sec
    blocks: list[str | Table | Chart | Term] = []
    for b in sec.blocks:
        if isinstance(b, str):
            blocks.append(in_unit(b, unit))
        elif isinstance(b, Table):
            b.columns = [in_unit(c, unit) for c in b.columns]
            b.rows = [[in_unit(c, unit) if isinstance(c, str) else c for c in row] for row in b.rows]
            b.title = in_unit(b.title, unit)
            blocks.append(b)
        elif isinstance(b, Chart):
            b.title = in_unit(b.title, unit)
            blocks.append(b)
        else:
            blocks.append(Term(in_unit(b.term, unit), in_unit(b.text, unit)))
    sec.blocks = blocks
    return sec


def common_unit(units: Iterable[str], lang: str) -> str:
    """The one unit of ``units``, or "[enhed]" when they differ (then a column names each row's unit)."""
    found = set(units)
    return found.pop() if len(found) == 1 else f"[{UNIT_WORD[lang]}]"


OTHER_UNIT = {
    "da": "{period}: summen i kWh omfatter ikke bygninger målt i en anden enhed (se deres egne sider) — {names}.",
    "en": "{period}: the kWh total leaves out buildings measured in another unit (see their own pages) — {names}.",
}


def other_unit_text(period: str, names: list[str], lang: str) -> str:
    return OTHER_UNIT[lang].format(period=period, names=", ".join(names))


GAS_KWH = {
    "da": "Naturgas i kWh: forbrug {actual} m³ = {actual_kwh} kWh, besparelse {savings} m³ = {savings_kwh} kWh "
          "(brændværdi {cv} kWh/m³, {year}: {source}).",
    "en": "Natural gas in kWh: use {actual} m³ = {actual_kwh} kWh, saving {savings} m³ = {savings_kwh} kWh "
          "(calorific value {cv} kWh/m³, {year}: {source}).",
}


def gas_kwh_text(actual_m3: float, savings_m3: float, cv: tuple[float, int, str], lang: str) -> str:
    """The month's gas in m³ and kWh (m³ × the calorific value), a paragraph :func:`section_in_unit` keeps."""
    from energimon.analytics.report.numbers import fmt_number

    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    text = GAS_KWH[lang].format(actual=f0(actual_m3), actual_kwh=f0(actual_m3 * cv[0]), savings=f0(savings_m3),
                                savings_kwh=f0(savings_m3 * cv[0]), cv=fmt_number(cv[0], 3, lang), year=cv[1],
                                source=cv[2])
    return InUnit(text)
