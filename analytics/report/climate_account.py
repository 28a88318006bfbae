"""``energimon report climate``: the annual climate and energy account as PDF and XLSX, Danish or English.

:mod:`energimon.analytics.climate_account` computes it; this module lays it out on the shared report toolkit:
the municipality's summary (per carrier and in total, against the baseline year and the target path), one page
per building, and a method page (factors and their sources, the normalisation, what "–" means).  The XLSX holds
the same figures as numbers (a missing figure is an empty cell, its reason in the row's note).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from energimon import carriers
from energimon.analytics.climate_account import (
    DECLARED,
    HEAT_CARRIERS,
    HOURLY,
    MIXED,
    Account,
    AccountSettings,
    Comparison,
    Row,
    Why,
    compute_account,
)
from energimon.analytics.report.climate_texts import t
from energimon.analytics.report.document import Report, Section, Table
from energimon.analytics.report.i18n import PRELIMINARY_SUFFIX, selection_suffix
from energimon.analytics.report.numbers import MISSING, fmt_number, fmt_percent
from energimon.analytics.report.pdf import render_pdf
from energimon.analytics.report.xlsx_out import FACTOR, FRACTION, KWH, Sheet, write_xlsx

FIGURES = ("quantity", "kwh", "kwh_per_m2", "t_co2", "kwh_normalised")
DECIMALS = {"quantity": 0, "kwh": 0, "kwh_per_m2": 1, "t_co2": 2, "kwh_normalised": 0}
T_FORMAT = "#,##0.00"
AREA_FORMAT = "#,##0.0"


@dataclass
class ClimateAccountFiles:
    pdf: Path
    xlsx: Path
    account: Account

    def paths(self) -> list[Path]:
        """Every file the account wrote."""
        return [self.pdf, self.xlsx]


def file_stem(year: int, lang: str, preliminary: bool, sites: list[str] | None = None) -> str:
    """``klimaregnskab-YYYY`` (``climate-account-YYYY``), ``-foreloebig`` while the year is not over, and an account
    of some buildings (``sites``) their ids (:func:`~energimon.analytics.report.i18n.selection_suffix`), so it never
    replaces the municipality's account."""
    base = f"klimaregnskab-{year}" if lang == "da" else f"climate-account-{year}"
    return base + (PRELIMINARY_SUFFIX[lang] if preliminary else "") + (selection_suffix(sites, lang) if sites else "")


def _date(d: dt.date, lang: str) -> str:
    return f"{d.day}.{d.month}.{d.year}" if lang == "da" else d.isoformat()


def carrier_name(key: str, lang: str) -> str:
    if key == "total":
        return t("total", lang)
    name = carriers.carrier(key).name(lang)
    return name[:1].upper() + name[1:]


def _num_arg(value: object) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _names(value: object) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


def why_text(why: Why, lang: str) -> str:
    """A reason code in words."""
    kw = why.kw
    code = why.code
    if code == "unknown_hours":
        first, last = kw["first"], kw["last"]
        return t("why_unknown_hours", lang, unknown=fmt_number(_num_arg(kw["unknown"]), 0, lang),
                 hours=fmt_number(_num_arg(kw["hours"]), 0, lang), reason=t(f"reason_{kw['reason']}", lang),
                 first=_date(first, lang) if isinstance(first, dt.date) else first,
                 last=_date(last, lang) if isinstance(last, dt.date) else last)
    if code == "no_floor_area":
        names = _names(kw.get("names") or [])
        return t("why_no_floor_area", lang, names=f" ({names})" if names else "")
    if code == "no_temperature":
        return t("why_no_temperature", lang, days=kw.get("days", "?"))
    if code in ("no_factor", "carrier"):
        return t(f"why_{code}", lang, carrier=carriers.carrier(str(kw["carrier"])).name(lang), year=kw.get("year"))
    if code == "depends":
        return t("why_depends", lang, what=t(f"figure_{kw['what']}", lang))
    if code == "sites":
        return t("why_sites", lang, names=_names(kw["names"]))
    if code == "no_baseline":
        if "year" not in kw:
            return t("why_no_baseline_none", lang)
        inner = kw.get("why")
        text = t("why_no_baseline", lang, year=kw["year"])
        return f"{text} ({why_text(inner, lang)})" if isinstance(inner, Why) and inner.code != "depends" else text
    return t(f"why_{code}", lang)


def _cell(row: Row, figure: str, lang: str) -> str:
    value = float(getattr(row, figure))
    why = row.why.get(figure)
    if why is not None and why.code == "not_energy":
        return t("not_applicable", lang)
    if figure == "kwh_normalised" and row.carrier not in HEAT_CARRIERS:
        return ""
    return fmt_number(value, DECIMALS[figure], lang)


def basis_text(row: Row, lang: str) -> str:
    b = row.co2
    if row.why.get("t_co2") is not None and row.why["t_co2"].code == "not_energy":
        return t("not_applicable", lang)
    if not math.isfinite(row.t_co2):
        return MISSING
    if row.site is None or row.carrier == "total":
        return {HOURLY: t("basis_hourly", lang), DECLARED: t("basis_declared_sum", lang)}.get(
            b.method, t("basis_mixed_sum", lang))
    if b.method == HOURLY:
        return t("basis_hourly", lang)
    if b.method == MIXED:
        return t("basis_mixed", lang, share=fmt_percent(b.hourly_share, 0, lang), year=b.factor_year)
    return t("basis_declared", lang, year=b.factor_year)


def _change(c: Comparison, lang: str) -> str:
    return fmt_percent(c.change, 1, lang)


class _Notes:
    """The reasons of a table's "–" cells, one line per building/carrier and reason (figures grouped)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.lines: dict[tuple[str, str], list[str]] = {}

    def add(self, what: str, figure: str, why: Why | None) -> None:
        if why is None or why.code == "not_energy":
            return
        figures = self.lines.setdefault((what, why_text(why, self.lang)), [])
        name = t(f"figure_{figure}", self.lang) if figure else ""
        if name and name not in figures:
            figures.append(name)

    def add_row(self, what: str, row: Row) -> None:
        roots = [f for f in FIGURES if f in row.why and row.why[f].code != "depends"]
        for f in FIGURES:
            w = row.why.get(f)
            if w is not None and (w.code != "depends" or not roots):
                self.add(what, f, w)

    def put(self, section: Section) -> None:
        if not self.lines:
            return
        section.text(t("notes", self.lang))
        for (what, why), figures in self.lines.items():
            label = f"{what}, {', '.join(figures)}" if figures else what
            section.text("• " + t("note_line", self.lang, what=label, why=why))


def _use_table(rows: list[Row], lang: str, year: int, hours: bool) -> Table:
    cols = [t("carrier", lang), t("metered", lang), t("unit", lang), t("kwh", lang), t("kwh_per_m2", lang),
            t("t_co2", lang), t("co2_basis", lang), t("kwh_normalised", lang)]
    if hours:
        cols.append(t("hours", lang))
    body = []
    for r in rows:
        metered = "" if r.carrier == "total" else _cell(r, "quantity", lang)
        cells = [carrier_name(r.carrier, lang), metered, r.unit if r.carrier != "total" else "kWh",
                 _cell(r, "kwh", lang), _cell(r, "kwh_per_m2", lang), _cell(r, "t_co2", lang), basis_text(r, lang),
                 _cell(r, "kwh_normalised", lang)]
        if hours:
            cells.append(f"{fmt_number(r.hours_known, 0, lang)}/{fmt_number(r.hours, 0, lang)}")
        body.append(cells)
    return Table(cols, body, title=t("use_table", lang, year=year),
                 col_widths=[1.4, 1.1, 0.6, 1.1, 0.8, 0.9, 1.2, 1.1] + ([1.1] if hours else []),
                 bold_last_row=rows[-1].carrier == "total" if rows else False)


def _base_table(acc: Account, rows: list[Row], lang: str, notes: _Notes, who: str | None) -> Table:
    assert acc.baseline is not None
    y0, y = acc.baseline.year, acc.year
    cols = [t("carrier", lang), t("kwh_year", lang, year=y0), t("kwh_year", lang, year=y), t("change_kwh", lang),
            t("norm_year", lang, year=y0), t("norm_year", lang, year=y), t("change_norm", lang),
            t("t_year", lang, year=y0), t("t_year", lang, year=y), t("change_t", lang)]
    body = []
    for r in rows:
        if r.carrier == carriers.WATER.key:
            cw = acc.compare(r, "quantity")
            body.append([carrier_name(r.carrier, lang) + " (m³)", fmt_number(cw.baseline, 0, lang),
                         fmt_number(cw.value, 0, lang), _change(cw, lang), "", "", "", "", "", ""])
            notes.add(_what(who, r, lang), "change", cw.why if cw.why is not None and cw.why.code != "preliminary"
                      else None)
            continue
        ck, ct = acc.compare(r, "kwh"), acc.compare(r, "t_co2")
        heat = r.carrier in HEAT_CARRIERS
        cn = acc.compare(r, "kwh_normalised") if heat else None
        comparisons: list[Comparison | None] = [ck, ct, cn]
        for c in comparisons:
            if c is not None:
                notes.add(_what(who, r, lang), "change", c.why if c.why is not None and c.why.code != "preliminary"
                          else None)
        body.append([carrier_name(r.carrier, lang), fmt_number(ck.baseline, 0, lang), fmt_number(ck.value, 0, lang),
                     _change(ck, lang),
                     fmt_number(cn.baseline, 0, lang) if cn else "", fmt_number(cn.value, 0, lang) if cn else "",
                     _change(cn, lang) if cn else "",
                     fmt_number(ct.baseline, 2, lang), fmt_number(ct.value, 2, lang), _change(ct, lang)])
    return Table(cols, body, title=t("base_table", lang, base=y0), bold_last_row=bool(rows) and
                 rows[-1].carrier == "total")


def _what(site_name: str | None, row: Row, lang: str) -> str:
    name = carrier_name(row.carrier, lang)
    return f"{site_name}, {name.lower() if row.carrier != 'total' else name}" if site_name else name


def path_difference(acc: Account) -> float:
    """The municipality's CO₂ less the target path's, in tonnes (below 0: under the path); NaN when it cannot be
    said: no target, an unknown figure, or a year not over (its months' CO₂ against the whole year's path would look
    better than it is).  The one rule the PDF, the XLSX and the command's line share."""
    tg = acc.target
    if tg is None or acc.preliminary:
        return math.nan
    return acc.total.t_co2 - tg.path_t


def path_side(diff: float, lang: str) -> str:
    """"under stien" / "over stien" for a known :func:`path_difference`."""
    return t("on_path" if diff <= 0 else "over_path", lang)


def _target_section(acc: Account, section: Section, lang: str) -> None:
    tg = acc.target
    if tg is None:
        section.text(t("no_target", lang))
        return
    diff = path_difference(acc)
    where = "" if not math.isfinite(diff) else f" ({path_side(diff, lang)})"
    section.table(Table(
        [t("baseline_t", lang, year=tg.baseline_year), t("path_t", lang, year=acc.year),
         t("actual_t", lang, year=acc.year),
         t("target_t", lang, year=tg.target_year, pct=fmt_number(tg.reduction_pct, 0, lang)), t("vs_path", lang)],
        [[fmt_number(tg.baseline_t, 2, lang), fmt_number(tg.path_t, 2, lang), fmt_number(acc.total.t_co2, 2, lang),
          fmt_number(tg.target_t, 2, lang), (fmt_number(diff, 2, lang) + where) if math.isfinite(diff) else MISSING]],
        title=t("target_table", lang)))
    if tg.baseline_source:
        section.text(t("baseline_from_plan", lang, t=fmt_number(tg.baseline_t, 2, lang), source=tg.baseline_source))
    else:
        section.text(t("baseline_computed", lang, year=tg.baseline_year))
    if acc.preliminary:
        section.text(t("preliminary_note", lang, year=acc.year, start=_date(acc.start, lang),
                       last=_date(acc.end - dt.timedelta(days=1), lang)))
    notes = _Notes(lang)
    if not math.isfinite(tg.baseline_t) and acc.baseline is not None:
        notes.add(t("baseline_t", lang, year=tg.baseline_year), "", acc.baseline.total.why.get("t_co2")
                  or Why.of("no_baseline", year=tg.baseline_year))
    notes.add(t("actual_t", lang, year=acc.year), "", acc.total.why.get("t_co2"))
    if acc.preliminary:
        notes.add(t("vs_path", lang), "", Why.of("preliminary"))
    notes.put(section)


def build_report(acc: Account, lang: str = "da", municipality: str | None = None) -> Report:
    """The account as a document: summary, a section per building, the method."""
    muni = municipality or t("municipality_default", lang)
    last = acc.end - dt.timedelta(days=1)
    sub = t("subtitle_preliminary" if acc.preliminary else "subtitle", lang, municipality=muni, n=len(acc.sites),
            start=_date(acc.start, lang), end=_date(last, lang))
    report = Report(t("title", lang, year=acc.year), sub, lang, t("footer", lang),
                    mark=t("preliminary", lang) if acc.preliminary else "")
    # the municipality
    s = Section(t("municipality", lang), new_page=False)
    s.text(t("summary_intro", lang))
    rows = [*acc.municipality, acc.total]
    notes = _Notes(lang)
    for r in rows:
        notes.add_row(carrier_name(r.carrier, lang), r)
    s.table(_use_table(rows, lang, acc.year, hours=False))
    notes.put(s)
    if acc.baseline is not None and not acc.preliminary:  # a year not over is compared once it is over
        bnotes = _Notes(lang)
        s.table(_base_table(acc, rows, lang, bnotes, None))
        bnotes.put(s)
    _target_section(acc, s, lang)
    report.sections.append(s)
    # the buildings
    for site in acc.sites:
        name = acc.site_names.get(site, site)
        b = Section(name)
        mine = acc.site_rows(site)
        area = next((r.floor_area_m2 for r in mine), None)
        if mine and area:
            b.text(t("floor_area", lang, area=fmt_number(area, 0, lang)))
        elif mine:
            b.text(t("no_floor_area_line", lang, site=site))
        if not mine:
            b.text(t("no_meters", lang))
            report.sections.append(b)
            continue
        b.text(t("meters_line", lang, meters="; ".join(
            f"{carriers.carrier(r.carrier).name(lang)}: {', '.join(r.devices)}"
            + (f" ({t('imported_copy', lang)})" if r.imported_copy else "") for r in mine)))
        notes = _Notes(lang)
        for r in mine:
            notes.add_row(carrier_name(r.carrier, lang), r)
        b.table(_use_table(mine, lang, acc.year, hours=True))
        notes.put(b)
        if acc.baseline is not None and not acc.preliminary:
            bnotes = _Notes(lang)
            b.table(_base_table(acc, mine, lang, bnotes, None))
            bnotes.put(b)
        report.sections.append(b)
    report.sections.append(method_section(acc, lang))
    return report


def _factor_lines(acc: Account, lang: str) -> list[str]:
    lines: list[str] = []
    accounts = [acc] + ([acc.baseline] if acc.baseline is not None else [])
    for a in accounts:
        for r in a.rows:
            b = r.co2
            if b.method in (DECLARED, MIXED) and b.factor_year is not None:
                line = t("m_factor_line", lang, carrier=carrier_name(r.carrier, lang), year=b.factor_year,
                         kg=fmt_number(b.kg_per_kwh, 3, lang), per=b.per, source=b.source)
                if line not in lines:
                    lines.append(line)
        hourly = [r for r in a.rows if r.co2.method == HOURLY and math.isfinite(r.t_co2)]
        if hourly and a.intensity is not None:
            kwh = sum(r.kwh for r in hourly)
            g = sum(r.t_co2 for r in hourly) * 1e6 / kwh if kwh > 0 else math.nan
            lines.append(f"{a.year}: " + t("m_hourly_line", lang, series=str(a.intensity),
                                           g=fmt_number(g, 0, lang)))
    return lines


def method_section(acc: Account, lang: str) -> Section:
    m = Section(t("method", lang))
    m.term(t("m_energy_t", lang), t("m_energy", lang))
    gas = sorted({(r.calorific[0], r.calorific[1]) for r in acc.rows if r.calorific is not None})
    if any(r.carrier == carriers.NATURAL_GAS.key for r in acc.rows):
        values = "; ".join(f"{fmt_number(v, 3, lang)} kWh/m³ ({src})" for v, src in gas) or t("m_gas_none", lang)
        m.term(t("m_gas_t", lang), t("m_gas", lang, values=values))
    m.term(t("m_co2_t", lang), t("m_co2", lang))
    m.term(t("m_factors_t", lang), "; ".join(_factor_lines(acc, lang)) or t("m_no_factors", lang))
    dd = acc.degree_days
    shares = {s: f for s, f in acc.weather_independent_share.items() if f}
    f_text = t("m_f_sites", lang, values=", ".join(f"{acc.site_names.get(s, s)} {fmt_percent(f, 0, lang)}"
                                                   for s, f in shares.items())) if shares else t("m_f_zero", lang)
    m.term(t("m_norm_t", lang), t("m_norm", lang, f=f_text, year=acc.year, actual=fmt_number(dd.actual, 0, lang),
                                  normal=fmt_number(dd.normal, 0, lang),
                                  series=str(dd.temperature) if dd.temperature else MISSING,
                                  source=dd.normal_source or MISSING))
    if acc.target is not None:
        tg = acc.target
        m.term(t("m_target_t", lang), t("m_target", lang, y0=tg.baseline_year, y1=tg.target_year,
                                        pct=fmt_number(tg.reduction_pct, 0, lang)))
    m.term(t("m_dash_t", lang), t("m_dash", lang))
    return m


# -- XLSX -----------------------------------------------------------------------------------------------------
def _num(row: Row, figure: str) -> float | None:
    v = float(getattr(row, figure))
    return v if math.isfinite(v) else None


def _row_note(row: Row, lang: str) -> str:
    notes = _Notes(lang)
    notes.add_row("", row)
    return "; ".join(f"{', '.join(figs)}: {why}" for (_, why), figs in notes.lines.items())


def _xlsx_row(acc: Account, r: Row, lang: str) -> list[object]:
    ck, ct = acc.compare(r, "kwh"), acc.compare(r, "t_co2")
    cn = acc.compare(r, "kwh_normalised") if r.carrier in HEAT_CARRIERS else None
    declared = r.co2.method in (DECLARED, MIXED) and r.co2.factor_year is not None  # a building's own factor
    return [carrier_name(r.carrier, lang), r.unit if r.carrier != "total" else "kWh",
            _num(r, "quantity") if r.carrier != "total" else None, _num(r, "kwh"), _num(r, "kwh_per_m2"),
            _num(r, "t_co2"), basis_text(r, lang), r.co2.kg_per_kwh if declared else None,
            r.co2.per if declared else None, r.co2.source or None, _num(r, "kwh_normalised"),
            r.hours_known, r.hours, ck.baseline, ck.change, ct.baseline, ct.change,
            cn.baseline if cn else None, cn.change if cn else None, _row_note(r, lang) or None]


def _xlsx_header(acc: Account, lang: str) -> list[str]:
    y0 = acc.baseline.year if acc.baseline is not None else (acc.target.baseline_year if acc.target else "")
    return [t("carrier", lang), t("unit", lang), t("metered", lang), t("kwh", lang), t("kwh_per_m2", lang),
            t("t_co2", lang), t("co2_basis", lang), "kg CO₂ / " + ("enhed" if lang == "da" else "unit"),
            "Faktor pr." if lang == "da" else "Factor per", "Kilde" if lang == "da" else "Source",
            t("kwh_normalised", lang),
            "Timer med data" if lang == "da" else "Hours with data", "Timer" if lang == "da" else "Hours",
            t("kwh_year", lang, year=y0), t("change_kwh", lang), t("t_year", lang, year=y0), t("change_t", lang),
            t("norm_year", lang, year=y0), t("change_norm", lang), "Bemærkning" if lang == "da" else "Note"]


_FORMATS = [None, None, KWH, KWH, AREA_FORMAT, T_FORMAT, None, FACTOR, None, None, KWH, KWH, KWH, KWH, FRACTION,
            T_FORMAT, FRACTION, KWH, FRACTION, None]


def xlsx_sheets(acc: Account, lang: str = "da") -> list[Sheet]:
    header = _xlsx_header(acc, lang)
    site_word = t("municipality", lang)
    muni = Sheet(site_word, header, [_xlsx_row(acc, r, lang) for r in [*acc.municipality, acc.total]], _FORMATS,
                 bold_rows={len(acc.municipality)})
    building = "Bygning" if lang == "da" else "Building"
    area = "Etageareal m²" if lang == "da" else "Floor area m²"
    rows = [[acc.site_names.get(str(r.site), str(r.site)), r.floor_area_m2, *_xlsx_row(acc, r, lang)]
            for r in acc.rows]
    sites = Sheet("Bygninger" if lang == "da" else "Buildings", [building, area, *header], rows,
                  [None, KWH, *_FORMATS])
    sheets = [muni, sites]
    if acc.target is not None:
        tg = acc.target
        diff = path_difference(acc)
        sheets.append(Sheet(t("target_table", lang), ["", "ton CO₂" if lang == "da" else "t CO₂"], [
            [t("baseline_t", lang, year=tg.baseline_year), tg.baseline_t],
            [t("path_t", lang, year=acc.year), tg.path_t],
            [t("actual_t", lang, year=acc.year), acc.total.t_co2],
            [t("target_t", lang, year=tg.target_year, pct=fmt_number(tg.reduction_pct, 0, lang)), tg.target_t],
            [t("vs_path", lang), diff if math.isfinite(diff) else None],
        ], [None, T_FORMAT]))
    method = method_section(acc, lang)
    text_rows: list[list[object]] = []
    for block in method.blocks:
        term = getattr(block, "term", None)
        text_rows.append([term, getattr(block, "text", None)] if term else [str(block), None])
    sheets.append(Sheet(t("method", lang), [t("method", lang), ""], text_rows))
    return sheets


# -- entry point ----------------------------------------------------------------------------------------------
def generate_climate_account(store, cfg: AccountSettings, year: int, out_dir: Path, lang: str = "da",
                             municipality: str | None = None, today: dt.date | None = None,
                             selection: list[str] | None = None) -> ClimateAccountFiles:
    """Compute the account of ``year`` and write ``klimaregnskab-YYYY.pdf`` and ``.xlsx`` (``climate-account-…`` in
    English; ``-foreloebig``/``-preliminary`` while the year is not over) to ``out_dir``.  Idempotent.

    ``selection``: the buildings chosen (``--site``; ``cfg.sites`` holds them), named in the files
    (``klimaregnskab-YYYY_<site>+<site>…``) so the account of every building is not replaced; None: every one."""
    acc = compute_account(store, cfg, year, today)
    stem = file_stem(year, lang, acc.preliminary, selection)
    pdf = render_pdf(build_report(acc, lang, municipality), out_dir / f"{stem}.pdf")
    xlsx = write_xlsx(out_dir / f"{stem}.xlsx", xlsx_sheets(acc, lang))
    return ClimateAccountFiles(pdf, xlsx, acc)


def console_lines(acc: Account, lang: str = "da") -> list[str]:
    """One line for the municipality and one per building: kWh and CO₂ per carrier ("–" where unknown).  A year over
    says by how much the municipality is under or over the target path (as the PDF's "against the path"); a year
    not over says so and which days it counts, without the whole year's path beside its months' CO₂."""
    tg = acc.target
    if acc.preliminary:
        path = t("console_preliminary" if tg is None else "console_preliminary_path", lang,
                 start=_date(acc.start, lang), last=_date(acc.end - dt.timedelta(days=1), lang))
    elif tg is not None:
        path = t("console_path", lang, t=fmt_number(tg.path_t, 2, lang))
        diff = path_difference(acc)
        if math.isfinite(diff):
            path += t("console_vs_path", lang, diff=fmt_number(abs(diff), 2, lang), side=path_side(diff, lang))
    else:
        path = ""
    lines = [t("console_total", lang, year=acc.year, kwh=fmt_number(acc.total.kwh, 0, lang),
               t=fmt_number(acc.total.t_co2, 2, lang), path=path)]
    for site in acc.sites:
        items = []
        for r in acc.site_rows(site):
            if r.carrier == carriers.WATER.key:
                items.append(f"{carriers.carrier(r.carrier).name(lang)} {fmt_number(r.quantity, 0, lang)} m³")
            else:
                items.append(f"{carriers.carrier(r.carrier).name(lang)} {fmt_number(r.kwh, 0, lang)} kWh "
                             f"{fmt_number(r.t_co2, 2, lang)} t")
        lines.append(t("console_site", lang, site=site, items=", ".join(items) or MISSING))
    return lines
