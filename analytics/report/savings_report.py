"""The monthly ESCO savings report: PDF, CSV and XLSX for the portfolio (a page / sheet per building) and a
CSV per building.

Entry point for the CLI and the scheduler: :func:`generate_savings_report`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.co2 import co2_accounts, co2_kg
from energimon.analytics.esco.evaluation import LastYearMonth, SiteResult, evaluate_site
from energimon.analytics.esco.ledger import Ledger, portfolio_cusum, portfolio_ledger
from energimon.analytics.esco.prices import PriceBasis, carrier_price_basis, price_basis, price_gaps
from energimon.analytics.report import xlsx_out
from energimon.analytics.report.csv_out import write_csv
from energimon.analytics.report.document import Chart, Report, Section, Table
from energimon.analytics.report.i18n import (
    ABOUT,
    GLOSSARY,
    MONTHS,
    PRELIMINARY_SUFFIX,
    month_label,
    month_name,
    preliminary_text,
    report_file_name,
    selection_suffix,
    site_file_name,
    tr,
)
from energimon.analytics.report.numbers import fmt_number, fmt_percent, fmt_pm
from energimon.analytics.report.pdf import merge_pdfs, page_count, render_pdf
from energimon.analytics.report.savings_xlsx import savings_sheets
from energimon.analytics.report.units import (
    common_unit,
    gas_kwh_text,
    other_unit_text,
    section_in_unit,
    unit_of,
)
from energimon.analytics.savings import (
    MIN_PERIOD_COVERAGE,
    PeriodSavings,
    PortfolioTotal,
    portfolio_total,
    savings_verdict_code,
)
from energimon.analytics.stats import CALENDAR_TERM_P
from energimon.analytics.towt import TowtModel
from energimon.calendar import contract_year, next_month, report_cutoff
from energimon.calendar import today as local_today

log = logging.getLogger(__name__)

POOL_MIN_SITES = 8
"""Below this many buildings a process pool costs more (start-up ≈ 1-2 s) than it saves (≈ 0.08 s a building)."""

CSV_HEADER = ["site", "period", "label", "points", "points_with_data", "adjusted_baseline_kwh", "actual_kwh",
              "savings_kwh", "uncertainty_68_kwh", "uncertainty_90_kwh", "savings_dkk", "co2_kg",
              "normalised_savings_kwh", "uncertainty_68_dkk", "uncertainty_90_dkk", "price_dkk_per_kwh", "start",
              "end", "resolution", "status", "status_reason", "verdict", "unit"]
"""``points``/``points_with_data`` count reporting points of the site's ``resolution``: local days, hours or
months (a TOWT site's month has 720-745 points, each an hour);
``verdict`` is what the period's saving shows at 90 % (``savings.savings_verdict_code``: demonstrated,
not_demonstrable, increase, no_data);
``price_dkk_per_kwh`` is the price that turns the kWh uncertainty into DKK (savings-weighted mean);
``start``/``end`` are the period's first and last day (in a running month: the last day that is over).
``unit`` is the carrier's unit of the row's amounts (kWh; m³ for a natural gas or water contract, whose
"…_kwh" columns are m³ and whose price is DKK/m³; a file of one building names its unit in the headers);
``status`` is ``ok``, ``no_data`` or ``incomplete`` (then every amount is empty: missing is never zero;
``status_reason`` says why, in the report's language); a portfolio row is ``partial`` when it sums only
some buildings (``status_reason`` names those left out)."""

XLSX_FORMATS = {"points": xlsx_out.INT, "points_with_data": xlsx_out.INT, "adjusted_baseline_kwh": xlsx_out.KWH,
                "actual_kwh": xlsx_out.KWH, "savings_kwh": xlsx_out.KWH, "uncertainty_68_kwh": xlsx_out.KWH,
                "uncertainty_90_kwh": xlsx_out.KWH, "savings_dkk": xlsx_out.DKK, "co2_kg": xlsx_out.KG,
                "normalised_savings_kwh": xlsx_out.KWH, "uncertainty_68_dkk": xlsx_out.DKK,
                "uncertainty_90_dkk": xlsx_out.DKK, "price_dkk_per_kwh": xlsx_out.PRICE, "start": xlsx_out.DATE,
                "end": xlsx_out.DATE}


@dataclass
class SavingsReportFiles:
    pdf: Path
    csv: Path
    site_csvs: list[Path]
    results: list[SiteResult]
    site_pdfs: list[Path] = field(default_factory=list)
    xlsx: Path | None = None  # the workbook: a sheet per building, the portfolio and "Om rapporten"
    preliminary: bool = False  # the month is not over (files named …-foreloebig / …-preliminary)
    cutoff: dt.date | None = None  # the first day not counted (the month's end, or today)
    measures: list = field(default_factory=list)  # [[esco.measures]] results (esco.measures.MeasureResult)
    measures_csv: Path | None = None
    co2_csv: Path | None = None  # the CO₂ account of all consumption (with esco.co2_intensity and CO₂ data)

    def paths(self) -> list[Path]:
        """Every file the report wrote."""
        return [self.pdf, self.csv, *([self.xlsx] if self.xlsx else []), *self.site_csvs, *self.site_pdfs,
                *([self.measures_csv] if self.measures_csv else []), *([self.co2_csv] if self.co2_csv else [])]


def generate_savings_report(settings, store, month: dt.date, sites: list[str] | None = None,
                            out_dir: Path | None = None, lang: str | None = None, sep: str | None = None,
                            decimal_comma: bool | None = None,
                            progress: Callable[[int, int, str], None] | None = None,
                            workers: int = 1, per_site_pdf: bool = False,
                            today: dt.date | None = None) -> SavingsReportFiles:
    """Evaluate every configured site (or ``sites``) for ``month`` and write PDF, CSV and XLSX files.

    Files go to ``out_dir`` (default ``esco.reports_dir``) as
    ``besparelse-YYYY-MM.pdf/.csv/.xlsx`` (portfolio), ``besparelse-YYYY-MM-co2.csv`` (the CO₂ account),
    ``besparelse-YYYY-MM-tiltag.csv`` (the measures) and ``besparelse-YYYY-MM.<site>.csv`` per building: a dot before
    the site id (:func:`~energimon.analytics.report.i18n.site_file_name`), so a building called ``co2`` or ``tiltag``
    never replaces one of the report's own files.
    A month that is not over (``today``, default the local date now, lies inside it) is reported up to
    yesterday and marked preliminary: ``besparelse-YYYY-MM-foreloebig.…`` and "FORELØBIG" on every page.
    A month that has not begun is refused (ValueError).
    Idempotent: the same month written twice gives the same files (overwritten).
    ``per_site_pdf`` also writes ``besparelse-YYYY-MM.<site>.pdf`` per building (for the building's
    own file; about 0.4 s each).  A report for some buildings (``sites``) has their ids in its names,
    ``besparelse-YYYY-MM_<site>+<site>…`` (:func:`~energimon.analytics.report.i18n.selection_suffix`), so it
    never replaces the report of every building; the selection comes after a file's mark
    (``besparelse-YYYY-MM-co2_<site>.csv``, :func:`~energimon.analytics.report.i18n.report_file_name`), so no other
    building's report (``--site <site>-co2``) is named like one of its files.  With ``workers`` > 1 the buildings
    are evaluated in a process pool, each worker with its own read-only connection to the store
    (``settings.store``); the PDFs are rendered here.
    """
    esco = settings.esco
    if esco is None:
        raise ValueError("no [esco] table in the configuration")
    lang = lang or esco.language
    # ``sites`` may name buildings with measures only (Option B, no Option C contract): they have no Option C page,
    # only their measures; ``only`` keeps every other building's measures out of a report asked for some buildings
    only = set(sites) if sites else None
    unknown = sorted(only - set(esco.report_sites)) if only else []
    if unknown:
        raise ValueError(f"neither in [esco.sites] nor in [[esco.measures]]: {', '.join(unknown)}; configured: "
                         f"{', '.join(esco.report_sites)}")
    chosen = [s for s in dict.fromkeys(sites) if s in esco.sites] if sites else list(esco.sites)
    names = {sid: settings.sites[sid].name if sid in settings.sites else sid for sid in chosen}
    today = today or local_today()
    # what evaluate_site takes per building beyond the contract: its floor area ([sites.<id>]) and its calendar's
    # school holidays ([alerts.sites.<id>]), which the savings uncertainty types apart (analytics/stats.py)
    site_inputs = {sid: {"floor_area_m2": settings.sites[sid].floor_area_m2 if sid in settings.sites else None,
                   "school_holidays": _school_holidays(settings, sid, esco.baseline_start, next_month(month))}
             for sid in chosen}
    if month > today:
        raise ValueError(f"{month:%Y-%m} has not begun (today is {today.isoformat()}): there is nothing to report")
    cutoff = report_cutoff(month, today)
    preliminary = cutoff < next_month(month)
    prices = price_basis(esco, store)  # a bad price file stops the report before any building is evaluated
    pool = None
    if workers > 1 and len(chosen) >= POOL_MIN_SITES:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads (the daemon)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                   initargs=(settings.store,))
    try:
        return _generate(settings, store, month, chosen, names, site_inputs, out_dir, lang, sep, decimal_comma,
                         progress, workers, per_site_pdf, today, cutoff, preliminary, prices, pool, only)
    finally:
        if pool is not None:
            pool.shutdown()


def _school_holidays(settings, site: str, first: dt.date, end: dt.date) -> frozenset[dt.date]:
    """The site calendar's school-holiday days from ``first`` to before ``end`` (none without ``[alerts]``)."""
    if settings.alerts is None or site not in settings.alerts.sites:
        return frozenset()
    return SiteCalendar(settings.alerts.sites[site]).school_holiday_dates(first, end)


def _generate(settings, store, month: dt.date, chosen: list[str], names: dict[str, str],
              site_inputs: dict[str, dict], out_dir: Path | None, lang: str, sep: str | None,
              decimal_comma: bool | None, progress: Callable[[int, int, str], None] | None, workers: int,
              per_site_pdf: bool, today: dt.date, cutoff: dt.date, preliminary: bool, prices: PriceBasis,
              pool: ProcessPoolExecutor | None, only: set[str] | None = None) -> SavingsReportFiles:
    esco = settings.esco
    results = _evaluate_all(settings, store, month, chosen, names, workers, progress, prices, today, pool, site_inputs)
    for r in results:  # natural gas is read in m³ and, through its calorific value, in kWh
        cv = settings.carriers.gas_kwh_per_m3(r.site, month.year) if r.carrier == "natural_gas" else None
        r.gas_kwh_per_m3 = (cv.kwh_per_m3, cv.year, cv.source) if cv is not None else None
    out = Path(out_dir or esco.reports_dir)
    stem = f"besparelse-{month:%Y-%m}" if lang == "da" else f"savings-{month:%Y-%m}"
    if preliminary:
        stem += PRELIMINARY_SUFFIX[lang]
    # the month's report of every building keeps its name (mails, links and the web name it); the selection is the
    # last part of every name before "." (report_file_name), so a site id ending in a file's mark names no other file
    selection = selection_suffix(only, lang) if only is not None else ""

    def own(ext: str, mark: str = "") -> Path:
        return out / report_file_name(stem, selection, ext, mark)

    def building(site: str, ext: str) -> Path:
        return out / site_file_name(stem + selection, site, ext)

    if sep is None:
        sep = ";" if lang == "da" else ","
    if decimal_comma is None:
        decimal_comma = lang == "da"
    measures = _measures(settings, store, results, only, month, today, lang)  # [[esco.measures]], Option B
    report = build_report(results, esco, month, lang, prices, cutoff, _measures_summary(measures, month, cutoff)
                          if measures is not None and not results else None,
                          measures[0] if measures is not None else None, measures[2] if measures is not None else None)
    co2_csv = None
    if esco.co2_intensity:  # the CO₂ account of all consumption, computed here and rendered by the section
        accounts = co2_accounts(store, esco, [r.site for r in results], month)
        co2_csv = _add_co2_account(report, accounts, esco, results, month, names, lang, own("csv", "co2"), sep,
                                   decimal_comma)
    measures_csv = _add_measures(report, measures, own("csv", "tiltag" if lang == "da" else "measures"), sep,
                                 decimal_comma)
    _add_heat_water(report, settings, store, results, month, cutoff, names, lang)
    # a long PDF is drawn in the pool while the CSVs and the workbook are written here
    finish_pdf = _start_portfolio(report, own("pdf"), pool, workers)
    try:
        rows_all: list[list] = []
        site_csvs = []
        site_rows = {}
        for r in results:
            rows = _csv_rows(r, esco, month, lang)
            rows_all += rows
            site_rows[r.site] = rows
            site_csvs.append(write_csv(building(r.site, "csv"), CSV_HEADER, rows, sep,
                                       decimal_comma, lang, unit=unit_of(r.carrier)))
        rows_all += _portfolio_csv_rows(results, esco, month, lang)
        csv_path = write_csv(own("csv"), CSV_HEADER, rows_all, sep, decimal_comma, lang,
                             unit=common_unit(["kWh", *(unit_of(r.carrier) for r in results)], lang))
        xlsx_path = xlsx_out.write_xlsx(own("xlsx"), _workbook(results, site_rows, rows_all, esco, month, prices,
                                                               lang, cutoff) + _measure_sheets(measures))
    except BaseException:
        finish_pdf(False)
        raise
    pdf_path = finish_pdf(True)
    site_pdfs = [render_pdf(build_report([r], esco, month, lang, prices, cutoff),
                            building(r.site, "pdf")) for r in results] if per_site_pdf else []
    return SavingsReportFiles(pdf_path, csv_path, site_csvs, results, site_pdfs, xlsx_path, preliminary, cutoff,
                              measures[0] if measures else [], measures_csv, co2_csv)


PARALLEL_PAGES = 24  # a report of this many pages or more is rendered in parts by the worker pool


def _start_portfolio(report: Report, path: Path, pool, workers: int) -> Callable[[bool], Path]:
    """Start the portfolio PDF; the function returned finishes it (``True``) or abandons it (``False``).

    A long one (pages per building) is drawn in ``workers`` parts in the pool, each worker drawing its run of
    pages of the same report, numbered as in the whole (:func:`render_pdf`), and the parts are joined (pypdf).
    The report travels to the workers as it is: its charts are module functions with their data
    (``functools.partial``), so no worker builds the report again."""
    pages = page_count(report)
    if pool is None or pages < PARALLEL_PAGES:
        return lambda keep: render_pdf(report, path) if keep else path
    bounds = [round(k * pages / workers) for k in range(workers + 1)]
    parts = [path.with_name(f".{path.stem}.part{k}.pdf") for k in range(workers)]
    futures = [pool.submit(render_pdf, report, parts[k], range(bounds[k], bounds[k + 1])) for k in range(workers)]

    def finish(keep: bool) -> Path:
        try:
            if not keep:
                for fut in futures:
                    fut.cancel()
                wait(futures)
                return path
            for fut in futures:
                fut.result()
            return merge_pdfs(parts, path, report.title, report.subtitle)
        finally:
            for part in parts:
                part.unlink(missing_ok=True)

    return finish


def _insert_after_portfolio(report: Report, section: Section) -> None:
    """The CO₂ account goes right after the portfolio page (after the summary and the glossary)."""
    heading = tr("portfolio", report.lang)
    at = next((k + 1 for k, sec in enumerate(report.sections) if sec.heading == heading), len(report.sections))
    report.sections.insert(at, section)


def _add_co2_account(report, accounts, esco, results, month, names, lang, csv_path, sep,
                     decimal_comma) -> Path | None:
    """With ``esco.co2_intensity``: the CO₂ account of all consumption (report/co2_section.py) as a section
    after the portfolio page, and as a CSV beside the report (its path; nothing where no CO₂ data exists)."""
    from energimon.analytics.report.co2_section import CSV_HEADER as CO2_HEADER
    from energimon.analytics.report.co2_section import co2_section

    made = co2_section(accounts, esco, results, names, lang,
                       avoided_kg=lambda r: co2_kg(r.month.savings_kwh, esco, r.carrier, month.year)
                       if r.month is not None else math.nan)  # co2_section calls it only with a month
    if made is None:
        return None
    _insert_after_portfolio(report, made[0])
    return write_csv(csv_path, CO2_HEADER, made[1], sep, decimal_comma, lang)


def _measures(settings, store, results, only: set[str] | None, month, today, lang) -> tuple | None:
    """``[[esco.measures]]`` (IPMVP Option B) evaluated (analytics/esco/measures.py), as the arguments of the section
    builder (report/measures_section.py), or None without measures.  With ``--site`` (``only``) only those
    buildings' — also when they are every Option C building, whose report then holds no other building's measure."""
    from energimon.analytics.esco.measures import evaluate_measures

    # each site's school holidays from its earliest measure's baseline to the month's end (the reporting days end
    # there at the latest), which the measures' savings uncertainty types apart as the buildings' does
    first: dict[str, dt.date] = {}
    for ms in settings.esco.measures:
        first[ms.site] = min(first.get(ms.site, ms.baseline_start), ms.baseline_start)
    holidays = {site: _school_holidays(settings, site, start, next_month(month)) for site, start in first.items()}
    measures = [m for m in evaluate_measures(store, settings.esco, month, today, holidays)
                if only is None or m.site in only]
    if not measures:
        return None
    names = {sid: site.name for sid, site in settings.sites.items()}
    return measures, results, names, month_name(month.year, month.month, lang), lang


def _measures_summary(measures: tuple, month: dt.date, cutoff: dt.date) -> Section:
    """Page 1 of a report with measures but no Option C building: the measures carry it (the choice: a committee
    reads page 1, and "0 bygninger, – kWh" there would say nothing was saved)."""
    from energimon.analytics.report.measures_section import summary_section

    return summary_section(measures[0], measures[2], month, cutoff, measures[-1])


def _measure_sheets(measures: tuple | None) -> list[xlsx_out.Sheet]:
    from energimon.analytics.report.measures_section import measure_sheet

    return [] if measures is None else [measure_sheet(measures[0], measures[1], measures[-1])]


def _add_measures(report, measures: tuple | None, csv_path: Path, sep: str, decimal_comma: bool) -> Path | None:
    """The measures in the PDF (an overview with the no-double-counting rule after the portfolio page, each measure
    under its building) and as a CSV beside the report."""
    if measures is None:
        return None
    from energimon.analytics.report.measures_section import CSV_HEADER as MEASURE_HEADER
    from energimon.analytics.report.measures_section import add_measures, measure_csv_rows

    add_measures(report, *measures)
    return write_csv(csv_path, MEASURE_HEADER, measure_csv_rows(measures[0], measures[1]), sep, decimal_comma,
                     measures[-1])


def _add_heat_water(report: Report, settings, store, results: list[SiteResult], month: dt.date, cutoff: dt.date,
                    names: dict[str, str], lang: str) -> None:
    """Appends to ``report`` (in place) the district heating (cooling against the requirement, heat signature) and
    water (m³, suspected leaks) of the reported buildings with such meters (analytics/district_heating.py,
    analytics/water.py), laid out by report/heat_section.py as one section at the end; nothing when no reported
    building has such a meter.  The section's chart is a partial of plain arrays, so the report still travels to
    the pool's workers."""
    from energimon.analytics.anomaly.settings import AlertSettings
    from energimon.analytics.district_heating import month_heat
    from energimon.analytics.report.heat_section import heat_water_section
    from energimon.analytics.water import month_water
    from energimon.store.energy import site_meters

    alerts = settings.alerts or AlertSettings()
    series = store.series()
    vols = set(zip(series["site"], series["device"], series["channel"], strict=True))
    heat, water = [], []
    for r in results:
        for k in site_meters(series, r.site, "district_heating").consumption:
            if (r.site, k.device, "volume_m3") in vols:
                heat.append(month_heat(store, series, r.site, k.device, month, cutoff,
                                       alerts.required_cooling_k(r.site),
                                       alerts.rules.bad_cooling.min_volume_m3_per_day,
                                       alerts.site(r.site).outdoor_temperature))
        leak = alerts.rules.water_leak
        water += [month_water(store, r.site, k.device, month, cutoff, (leak.night_start_h, leak.night_end_h),
                              leak.threshold_m3_h) for k in site_meters(series, r.site, "water").consumption]
    meters = {(d.site, d.id): d.name or d.id for d in settings.devices}
    sec = heat_water_section(heat, water, names, meters, lang)
    if sec is not None:
        report.sections.append(sec)


def _evaluate_all(settings, store, month: dt.date, chosen: list[str], names: dict[str, str], workers: int,
                  progress: Callable[[int, int, str], None] | None, prices: PriceBasis | None = None,
                  today: dt.date | None = None, pool: ProcessPoolExecutor | None = None,
                  site_inputs: dict[str, dict] | None = None) -> list[SiteResult]:
    site_inputs = site_inputs or {}
    results: list[SiteResult] = []

    def done(res: SiteResult, seconds: float) -> None:
        results.append(res)
        log.info("savings site=%s month=%s %s in %.2f s", res.site, f"{month:%Y-%m}",
                 f"savings {res.month.savings_kwh:.0f} kWh ({res.month.status})" if res.month
                 else f"skipped: {res.error}", seconds)
        if progress:
            progress(len(results), len(chosen), res.site)

    if pool is None:
        for sid in chosen:
            t0 = time.perf_counter()
            done(evaluate_site(store, settings.esco, sid, names[sid], month, prices, today, **site_inputs.get(sid, {})),
                 time.perf_counter() - t0)
        return results
    futures = [pool.submit(_worker_evaluate, settings.esco, sid, names[sid], month, prices, today,
                           site_inputs.get(sid, {})) for sid in chosen]
    for fut in futures:  # in the configured order
        res, seconds = fut.result()
        done(res, seconds)
    return results


_WORKER_STORE = None


def _worker_init(store_settings) -> None:
    global _WORKER_STORE
    from energimon.store import open_store

    _WORKER_STORE = open_store(store_settings, readonly=True)


def _worker_evaluate(esco, sid: str, name: str, month: dt.date, prices: PriceBasis | None = None,
                     today: dt.date | None = None, site_inputs: dict | None = None) -> tuple[SiteResult, float]:
    t0 = time.perf_counter()
    return (evaluate_site(_WORKER_STORE, esco, sid, name, month, prices, today, **(site_inputs or {})),
            time.perf_counter() - t0)


def _periods(r: SiteResult) -> list[tuple[str, PeriodSavings]]:
    if r.month is None or r.ytd is None or r.since_start is None:
        return []
    return [("month", r.month), ("ytd", r.ytd), ("since_start", r.since_start)]


def status_reason(p: PeriodSavings, granularity: str, lang: str) -> str:
    """Why a period shows no number ("" when it does): no day over yet, no data, or too little data."""
    unit = tr(POINTS[granularity][1], lang)
    if p.status == "ok":
        return ""
    if p.points == 0:
        return tr("status_no_days", lang)
    if p.status == "no_data":
        return tr("status_no_data", lang, unit=unit)
    return tr("status_incomplete", lang, m=fmt_number(p.m, 0, lang), n=fmt_number(p.points, 0, lang), unit=unit,
              min=fmt_percent(MIN_PERIOD_COVERAGE, 0, lang))


def _csv_rows(r: SiteResult, esco, month: dt.date, lang: str = "da") -> list[list]:
    rows = []
    for key, raw in _periods(r):
        p = raw.shown()  # amounts of a period without enough data are empty cells, not 0
        co2 = co2_kg(p.savings_kwh, esco, r.carrier, month.year)
        rows.append([r.site, key, p.label, p.points, p.m, p.adjusted_baseline_kwh, p.actual_kwh, p.savings_kwh,
                     p.uncertainty_68_kwh, p.uncertainty_90_kwh, p.savings_dkk, co2, p.normalised_savings_kwh,
                     p.uncertainty_68_dkk, p.uncertainty_90_dkk, p.price_dkk_per_kwh, p.start, p.end,
                     r.granularity, raw.status, status_reason(raw, r.granularity, lang),
                     savings_verdict_code(p.savings_kwh, p.uncertainty_90_kwh) if raw.status == "ok" else "",
                     unit_of(r.carrier)])
    return rows


def _in_kwh(r: SiteResult) -> bool:
    """The building's amounts are kWh (electricity, district heating) — the portfolio sums only those; natural
    gas and water contracts are in m³ and stand on their own pages."""
    return unit_of(r.carrier) == "kWh"


def _portfolio_periods(results: list[SiteResult]) -> list[tuple[str, PortfolioTotal]]:
    ok = [r for r in results if r.month and _in_kwh(r)]
    return [(key, portfolio_total([dict(_periods(r))[key] for r in ok])) for key in ("month", "ytd", "since_start")]


def _left_out(results: list[SiteResult], key: str) -> list[SiteResult]:
    """Buildings the portfolio's ``key`` period does not sum: no result, a period without enough data, or
    amounts in another unit than kWh."""
    return [r for r in results if not r.month or dict(_periods(r))[key].status != "ok" or not _in_kwh(r)]


def _portfolio_status(results: list[SiteResult], key: str, lang: str) -> tuple[str, str]:
    if not results:  # nothing to sum is no total, not an "ok" one with empty amounts
        return "no_data", tr("total_no_option_c", lang, period=tr(key, lang))
    out = _left_out(results, key)
    if not out:
        return "ok", ""
    no_data = [r.name for r in out if _in_kwh(r)]
    other = [r.name for r in out if not _in_kwh(r)]
    if len(no_data) == len(results):
        return "no_data", tr("total_none", lang, period=tr(key, lang))
    why = [tr("total_left_out", lang, period=tr(key, lang), names=", ".join(no_data))] if no_data else []
    why += [other_unit_text(tr(key, lang), other, lang)] if other else []
    return "no_data" if len(out) == len(results) else "partial", " ".join(why)


def _portfolio_csv_rows(results: list[SiteResult], esco, month: dt.date, lang: str = "da") -> list[list]:
    rows = []
    for key, tot in _portfolio_periods(results):
        summed = [r for r in results if r not in _left_out(results, key)]
        co2 = sum(co2_kg(dict(_periods(r))[key].savings_kwh, esco, r.carrier, month.year) for r in summed)
        starts = [d for r in summed if (d := dict(_periods(r))[key].start) is not None]
        ends = [d for r in summed if (d := dict(_periods(r))[key].end) is not None]
        rows.append(["portfolio", key, "", "", "", tot.adjusted_baseline_kwh, tot.actual_kwh, tot.savings_kwh,
                     tot.uncertainty_68_kwh, tot.uncertainty_90_kwh, tot.savings_dkk, co2 if summed else math.nan,
                     math.nan, tot.uncertainty_68_dkk, tot.uncertainty_90_dkk, math.nan,
                     min(starts) if starts else None, max(ends) if ends else None, "",
                     *_portfolio_status(results, key, lang),
                     savings_verdict_code(tot.savings_kwh, tot.uncertainty_90_kwh) if summed else "", "kWh"])
    return rows


# -- the PDF ----------------------------------------------------------------------------------
def build_report(results: list[SiteResult], esco, month: dt.date, lang: str = "da",
                 prices: PriceBasis | None = None, cutoff: dt.date | None = None,
                 summary: Section | None = None, measures: list | None = None,
                 site_names: dict[str, str] | None = None) -> Report:
    """The report document: a summary page in plain words, the glossary, the portfolio page, then one section
    per building.  With ``cutoff`` inside the month (a month not yet over) the report is marked preliminary on
    every page.  ``summary`` replaces the Option C summary of a report without Option C buildings (the measures',
    report/measures_section.py), which then has no portfolio page: its totals would be empty.  ``measures``
    (``[[esco.measures]]`` results, their buildings' names in ``site_names``): the summary counts those outside
    Option C beside the buildings, as the measures' overview does (the overview itself is added by the caller)."""
    prices = prices or price_basis(esco)
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    mname = month_name(month.year, month.month, lang)
    month_end = next_month(month)
    cutoff = cutoff or month_end
    preliminary = cutoff < month_end
    title = f"{tr('title', lang)} — {mname}" + (f" ({tr('preliminary_title', lang)})" if preliminary else "")
    report = Report(title=title, subtitle=tr("subtitle", lang, month=mname,
                    contract=esco.contract + (f" ({esco.esco})" if esco.esco else "")), lang=lang,
                    footer=tr("footer", lang), mark=tr("preliminary", lang) if preliminary else "")
    if summary is not None and not results:
        report.footer = tr("footer_option_b", lang)
        report.sections += [summary, glossary_section(esco, lang)]
        return report
    tots = dict(_portfolio_periods(results))
    status = {key: _portfolio_status(results, key, lang) for key in tots}
    y0, y1 = contract_year(esco.measure_date, month_end)
    ledger = None
    rows_of = [r.daily for r in results if r.daily is not None]
    if esco.guarantee_kwh_per_year is not None and rows_of:
        ledger = portfolio_ledger(rows_of, esco.guarantee_kwh_per_year, y0, y1, cutoff,
                                  esco.surplus_share_municipality)
    report.sections.append(summary_section(results, esco, month, lang, tots, ledger, cutoff, measures or [],
                                           site_names or {}))
    report.sections.append(glossary_section(esco, lang))
    # portfolio
    sec = Section(tr("portfolio", lang))
    if preliminary:
        sec.text(preliminary_text(month, cutoff, lang))
    sec.text(tr("portfolio_intro", lang))
    cols = [tr("site", lang), tr("month", lang) + " kWh", tr("unc90", lang), tr("ytd", lang) + " kWh",
            tr("since_start", lang) + " kWh", tr("unc90", lang), tr("dkk", lang) + f" ({tr('ytd', lang).lower()})"]
    rows = []
    for r in results:
        if r.month and r.ytd and r.since_start:
            m, y, st = r.month.shown(), r.ytd.shown(), r.since_start.shown()
            rows.append([r.name, f0(m.savings_kwh), fmt_pm(m.uncertainty_90_kwh, 0, lang), f0(y.savings_kwh),
                         f0(st.savings_kwh), fmt_pm(st.uncertainty_90_kwh, 0, lang), f0(y.savings_dkk)])
        else:
            rows.append([r.name, "–", "–", "–", "–", "–", "–"])
    star = {key: " *" if status[key][0] == "partial" else "" for key in tots}  # a sum of only some buildings
    rows.append([tr("total", lang), f0(tots["month"].savings_kwh) + star["month"],
                 fmt_pm(tots["month"].uncertainty_90_kwh, 0, lang), f0(tots["ytd"].savings_kwh) + star["ytd"],
                 f0(tots["since_start"].savings_kwh) + star["since_start"],
                 fmt_pm(tots["since_start"].uncertainty_90_kwh, 0, lang), f0(tots["ytd"].savings_dkk) + star["ytd"]])
    sec.table(Table(cols, rows, col_widths=[2.2, 1, 1, 1, 1, 1, 1.2], bold_last_row=True))
    sec.text(_ytd_note(esco, y0, cutoff, lang))
    for r in results:
        if not r.month:
            sec.text(f"{r.name}: {tr('no_result', lang, why=r.error)}")
            continue
        for key, p in _periods(r):
            if p.status != "ok":
                sec.text(f"{r.name} — " + tr("status_line", lang, period=tr(key, lang).lower(),
                                             why=status_reason(p, r.granularity, lang)))
    for st_code, why in status.values():
        if st_code != "ok" and any(r.month for r in results):
            sec.text(("* " if st_code == "partial" else "") + why)
    if ledger is not None and esco.guarantee_kwh_per_year is not None:
        sec.table(_ledger_table(ledger, lang, tr("portfolio_ledger", lang)))
        if ledger.status != "ok":
            sec.text(tr("ledger_status", lang, title=tr("portfolio_ledger", lang),
                        why=_ledger_reason(ledger, lang)))
        sec.chart(Chart(_portfolio_cusum_chart(portfolio_cusum(rows_of, esco.guarantee_kwh_per_year, y0, y1), lang),
                        tr("chart_portfolio", lang), 0.26))
    sec.text(tr("normal_year", lang, total=fmt_number(esco.normal_year.total, 0, lang),
                source=esco.normal_year.source, base=fmt_number(esco.base_temperature_c, 0, lang)))
    sec.text(price_basis_text(prices, month, lang))
    report.sections.append(sec)
    for r in results:
        report.sections.append(_site_section(r, esco, month, lang, prices))
    return report


def _day_text(d: dt.date, lang: str) -> str:
    """"1. januar 2026" / "1 January 2026"."""
    return f"{d.day}{'.' if lang == 'da' else ''} {month_name(d.year, d.month, lang)}"


def _ytd_note(esco, year_start: dt.date, cutoff: dt.date, lang: str) -> str:
    start = max(year_start, esco.measure_date)
    return tr("ytd_note", lang, start=_day_text(start, lang), end=_day_text(cutoff - dt.timedelta(days=1), lang),
              measure=f"{esco.measure_date.day}{'.' if lang == 'da' else ''} "
                      f"{MONTHS[lang][esco.measure_date.month - 1]}")


def _co2_of(r: SiteResult, key: str, esco, year: int) -> float:
    return co2_kg(dict(_periods(r))[key].savings_kwh, esco, r.carrier, year)


def summary_section(results: list[SiteResult], esco, month: dt.date, lang: str,
                    tots: dict[str, PortfolioTotal], ledger: Ledger | None, cutoff: dt.date,
                    measures: list | None = None, site_names: dict[str, str] | None = None) -> Section:
    """Page 1, for a committee: what was saved in kWh, kr. and CO₂, the contract year and the guarantee, whether
    the saving holds statistically — in words — and the buildings side by side with last year and per m².

    With ``measures`` outside Option C (a building without an Option C contract on the measure's carrier) page 1 says
    the municipality's total as the measures' overview does — one owner, ``measures_section.report_total`` — with the
    buildings' figures named as Option C's, and lists those measures beside the buildings; a measure inside an
    Option C building is in its building's figure and is not added."""
    from energimon.analytics.report.measures_section import (
        outside_option_c_rows,
        outside_option_c_summary,
        report_total,
    )

    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    mname = month_name(month.year, month.month, lang)
    sec = Section(tr("summary", lang))
    if cutoff < next_month(month):
        sec.text(preliminary_text(month, cutoff, lang))
    measures = measures or []
    outside, since_parts = outside_option_c_summary(measures, results, month, _day_text(esco.measure_date, lang), lang)
    summed = [r for r in results if r not in _left_out(results, "month")]
    tm = tots["month"]
    c = "_c" if outside else ""  # beside measures the buildings' figures are named as Option C's
    what = tr(f"sum_what_one{c}", lang) if len(results) == 1 else tr(f"sum_what_many{c}", lang, n=len(results))
    co2 = sum(_co2_of(r, "month", esco, month.year) for r in summed) if summed else math.nan
    sec.text(tr("sum_month", lang, month=mname, what=what, actual=f0(tm.actual_kwh),
                baseline=f0(tm.adjusted_baseline_kwh), savings=f0(tm.savings_kwh), dkk=f0(tm.savings_dkk),
                co2=f0(co2)))
    if summed and len(summed) < len(results):
        sec.text(tr("sum_partial", lang, k=len(summed), n=len(results)))
    for line in outside:
        sec.text(line)
    y0 = contract_year(esco.measure_date, next_month(month))[0]
    ty = tots["ytd"]
    if outside:
        sec.text(tr("sum_ytd_of", lang, start=_day_text(max(y0, esco.measure_date), lang), what=what,
                    savings=f0(ty.savings_kwh), dkk=f0(ty.savings_dkk)))
    else:
        sec.text(tr("sum_ytd", lang, start=_day_text(max(y0, esco.measure_date), lang), savings=f0(ty.savings_kwh),
                    dkk=f0(ty.savings_dkk)))
    if ledger is not None and ledger.status == "ok":
        state = (tr("sum_guarantee_short", lang, shortfall=f0(ledger.shortfall_kwh)) if ledger.shortfall_kwh > 0
                 else tr("sum_guarantee_met", lang, surplus=f0(ledger.surplus_kwh)))
        sec.text(tr("sum_guarantee", lang, guaranteed=f0(ledger.guarantee_to_date_kwh), status=state))
    # the same month last year, degree-day corrected: only buildings with both years known are compared
    pairs = [r.last_year for r in results if r.last_year is not None and math.isfinite(r.last_year.change)]
    if pairs:
        change = sum(p.this_kwh for p in pairs) / sum(p.corrected_kwh for p in pairs) - 1.0
        word = tr("sum_less" if change < 0 else "sum_more", lang, p=fmt_percent(abs(change), 0, lang))
        who = what if len(pairs) == len(results) else \
            (tr("sum_what_one", lang) if len(pairs) == 1 else tr("sum_what_many", lang, n=len(pairs)))
        sec.text(tr("sum_last_year", lang, month=MONTHS[lang][month.month - 1], what=who, change=word))
    sec.text("")
    ts = tots["since_start"]
    if outside:  # whether the municipality's saving holds: the buildings' and the measures' outside them
        since = report_total(measures, results, "since_start")
        s_kwh, s_unc = since.total_kwh, since.uncertainty_90_kwh
        code = savings_verdict_code(s_kwh, s_unc)
    else:
        s_kwh, s_unc = ts.savings_kwh, ts.uncertainty_90_kwh
        code = savings_verdict_code(s_kwh, s_unc) if any(r.month for r in results) else "no_data"
    sec.term(tr("sum_holds", lang), tr(f"sum_{code}", lang, savings=f0(s_kwh), low=f0(s_kwh - s_unc),
                                       high=f0(s_kwh + s_unc)))
    if since_parts:
        sec.text(since_parts)
    weak = [r.name for r in results if r.verdict is not None and not r.verdict.model_ok]
    if weak:
        sec.text(tr("sum_model_warning", lang, names=", ".join(weak)))
    sec.text("")
    with_area = any(r.floor_area_m2 for r in results)
    cols = [tr("site", lang), tr("savings", lang), tr("dkk", lang), tr("co2", lang), tr("sum_col_last_year", lang)]
    cols += [tr("sum_col_m2", lang)] if with_area else []
    cols += [tr("sum_col_verdict", lang)]
    rows = []
    for r in results:
        if not (r.month and r.since_start):
            rows.append([r.name, "–", "–", "–", "–", *(["–"] if with_area else []), ABOUT["verdict_no_data"][lang]])
            continue
        m = r.month.shown()
        s_ = r.since_start.shown()
        ly = r.last_year
        verdict = savings_verdict_code(s_.savings_kwh, s_.uncertainty_90_kwh) if r.since_start.status == "ok" \
            else "no_data"
        u = "" if _in_kwh(r) else f" {unit_of(r.carrier)}"  # the column says kWh: another unit is named
        row = [r.name, f0(m.savings_kwh) + u, f0(m.savings_dkk), f0(co2_kg(m.savings_kwh, esco, r.carrier, month.year)),
               _signed_percent(ly.change if ly else math.nan, lang)]
        if with_area:
            row.append(fmt_number(r.per_m2(m.actual_kwh), 1, lang))
        row.append(ABOUT[f"verdict_{verdict}"][lang])
        rows.append(row)
    # the measures outside Option C: their month's kWh and verdict (not priced, no last year or floor area)
    rows += [[label, kwh, "–", "–", "–", *(["–"] if with_area else []), verdict]
             for label, kwh, verdict in outside_option_c_rows(measures, results, site_names or {}, lang)]
    sec.table(Table(cols, rows, title=tr("sum_table", lang, month=mname),
                    col_widths=[2.4, 1, 1, 0.8, 1.2, *([0.8] if with_area else []), 1.2]))
    sec.text(tr("sum_footnote", lang))
    return sec


def _signed_percent(fraction: float, lang: str) -> str:
    """−12 % / +3 % (a change): the sign always shown, a true minus sign."""
    if not math.isfinite(fraction):
        return "–"
    text = fmt_percent(abs(fraction), 0, lang)
    return text if text.startswith("0 ") else ("−" if fraction < 0 else "+") + text


def glossary_section(esco, lang: str) -> Section:
    """The terms of the report, each in one or two plain sentences."""
    sec = Section(tr("glossary", lang))
    measure = _day_text(esco.measure_date, lang)
    for term, text in GLOSSARY:
        sec.term(term[lang], text[lang].format(base=fmt_number(esco.base_temperature_c, 0, lang),
                                               total=fmt_number(esco.normal_year.total, 0, lang), measure=measure))
    return sec


def _ledger_reason(lg, lang: str) -> str:
    if lg.status == "no_data":
        return tr("ledger_no_data", lang)
    return tr("ledger_incomplete", lang, share=fmt_percent(lg.points_with_data / lg.points, 0, lang),
              min=fmt_percent(MIN_PERIOD_COVERAGE, 0, lang))


def _portfolio_cusum_chart(cusum: pd.DataFrame, lang: str) -> Callable[[Any], None]:
    """Cumulative realised savings of the portfolio in the contract year against the guarantee pro rata
    (:func:`~energimon.analytics.esco.ledger.portfolio_cusum`).  A module function with its data, not a closure:
    the report travels to the pool's workers that draw it (:func:`_start_portfolio`)."""
    return partial(_draw_portfolio_cusum, cusum=cusum, lang=lang)


def _draw_portfolio_cusum(ax, cusum: pd.DataFrame, lang: str) -> None:
    ax.plot(cusum.index, cusum["realised_kwh"].to_numpy(), color="#2f6b3a", linewidth=1.4,
            label=tr("realised", lang))
    ax.plot(cusum.index, cusum["guaranteed_kwh"].to_numpy(), color="#b5651d", linewidth=1.0, linestyle="--",
            label=tr("guaranteed_to_date", lang))
    ax.legend(fontsize=7, loc="upper left")
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
    ax.grid(linewidth=0.3)
    month_axis(ax, lang)


def _draw_months(ax, labels: list[str], base: list[float], act: list[float], lang: str) -> None:
    x = np.arange(len(labels))
    ax.bar(x - 0.2, base, 0.4, label=tr("baseline_legend", lang), color="#9bb7d4")
    ax.bar(x + 0.2, act, 0.4, label=tr("actual_legend", lang), color="#2f6b3a")
    ax.set_xticks(x, labels, rotation=45 if len(labels) > 8 else 0)
    ax.legend(fontsize=7, loc="lower left")
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
    ax.grid(axis="y", linewidth=0.3)


def _draw_cusum(ax, cus: pd.Series, lang: str) -> None:
    ax.plot(pd.DatetimeIndex(cus.index).tz_localize(None), cus.to_numpy(), color="#2f6b3a", linewidth=1.2)
    ax.axhline(0, color="#555555", linewidth=0.5)
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
    ax.grid(linewidth=0.3)
    month_axis(ax, lang)


def month_axis(ax, lang: str) -> None:
    """A time axis labelled by month the way the monthly bar chart is ("mar 26", :func:`i18n.month_label`): the
    first of each month (every second or third month over a long period), never ISO dates."""
    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()
    months = max(1, round((hi - lo) / 30.44))
    ax.xaxis.set_major_locator(mdates.MonthLocator(interval=1 if months <= 12 else 2 if months <= 24 else 3))
    ax.xaxis.set_major_formatter(lambda v, _pos: month_label(mdates.num2date(v).year, mdates.num2date(v).month,
                                                             lang))
    ax.xaxis.set_minor_locator(mdates.MonthLocator())
    ax.tick_params(axis="x", labelrotation=0)


def _last_year_text(ly: LastYearMonth, lang: str) -> str:
    """The same month last year beside this one (computed in esco.evaluation.last_year_month)."""
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    last = ly.end - dt.timedelta(days=1)
    period = (f"{_day_text(ly.start, lang)} – {_day_text(last, lang)}"
              if ly.end != next_month(ly.start) else month_name(ly.start.year, ly.start.month, lang))
    if not math.isfinite(ly.actual_kwh):
        return tr("last_year_none", lang, period=period, why=tr("last_year_no_data", lang))
    if not math.isfinite(ly.hdd_c) or not math.isfinite(ly.this_hdd_c):
        return tr("last_year_none", lang, period=period, why=tr("last_year_no_temp", lang))
    if not math.isfinite(ly.corrected_kwh):
        return tr("last_year_none", lang, period=period, why=tr("last_year_no_hdd", lang))
    return tr("last_year_line", lang, period=period, last=f0(ly.actual_kwh), hdd_last=f0(ly.hdd_c),
              hdd_this=f0(ly.this_hdd_c), corrected=f0(ly.corrected_kwh), f=fmt_percent(ly.weather_independent_share,
                                                                                      0, lang),
              this=f0(ly.this_kwh), change=_signed_percent(ly.change, lang))


def _ledger_table(lg, lang: str, title: str) -> Table:
    """The guarantee ledger; realised, shortfall and surplus are "–" when the contract year so far has too
    little measured data (a shortfall computed from half the days would be a wrong bill)."""
    if lg.status != "ok":
        lg = replace(lg, realised_kwh=math.nan, shortfall_kwh=math.nan, surplus_kwh=math.nan,
                     surplus_municipality_kwh=math.nan, surplus_esco_kwh=math.nan)
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    cols = [tr("guaranteed_year", lang), tr("guaranteed_to_date", lang), tr("realised", lang), tr("shortfall", lang),
            tr("surplus", lang), tr("share_muni", lang), tr("share_esco", lang)]
    row = [f0(lg.guarantee_kwh_per_year), f0(lg.guarantee_to_date_kwh), f0(lg.realised_kwh), f0(lg.shortfall_kwh),
           f0(lg.surplus_kwh), f0(lg.surplus_municipality_kwh), f0(lg.surplus_esco_kwh)]
    ttl = f"{title}: " + tr("ledger", lang, y0=lg.year_start.isoformat(),
                             y1=(lg.year_end - dt.timedelta(days=1)).isoformat())
    return Table(cols, [row], title=ttl)


POINTS = {"day": ("days", "unit_days"), "hour": ("hours", "unit_hours"), "month": ("months_col", "unit_months")}


def price_basis_text(prices: PriceBasis, month: dt.date, lang: str) -> str:
    """The contract's price basis in one sentence (the periods in force up to the end of the month, with sources)."""
    f2 = lambda x: fmt_number(x, 2, lang)  # noqa: E731
    if prices.kind == "fixed":
        return tr("price_fixed", lang, price=f2(prices.fixed_dkk_per_kwh))
    if prices.kind == "periods":
        month_end = next_month(month)
        shown = [p for p in prices.periods if p.from_ < month_end] or list(prices.periods[:1])
        return tr("price_periods", lang, periods="; ".join(
            tr("price_period", lang, d=p.from_.isoformat(), price=f2(p.dkk_per_kwh), source=p.source) for p in shown))
    assert prices.file is not None  # kind "file" always carries its file (esco.prices.price_basis)
    return tr("price_file", lang, name=prices.file.name, interval=prices.file.interval_min)


def _site_price_notes(r: SiteResult, month: dt.date, prices: PriceBasis, co2_label: str, lang: str) -> list[str]:
    if prices.kind == "file" and prices.file is not None:
        price = tr("price_file_site", lang, name=prices.file.name, month=month_name(month.year, month.month, lang),
                   price=fmt_number(r.month_price_dkk_per_kwh, 2, lang))
    else:
        price = price_basis_text(prices, month, lang)
    lines = [tr("price_co2", lang, price=price, co2=co2_label)]
    mp, yp, sp = r.month, r.ytd, r.since_start
    if mp is None or yp is None or sp is None or mp.start is None or sp.start is None or sp.end is None:
        return lines  # no result: nothing was priced
    gm = price_gaps(r.price_days, mp.start, mp.end or mp.start - dt.timedelta(days=1))
    gs = price_gaps(r.price_days, sp.start, sp.end)
    if gs.days_partial or gs.days_missing:
        lines.append(tr("price_gaps", lang, month=month_name(month.year, month.month, lang), mp=gm.days_partial,
                        mm=gm.days_missing, sp=gs.days_partial, sm=gs.days_missing))
    if gs.days_unpriced:
        lines.append(tr("price_unpriced", lang, n=gs.days_unpriced))
    m, y, s = mp.shown(), yp.shown(), sp.shown()
    lines.append(tr("unc_dkk", lang, m=fmt_pm(m.uncertainty_90_dkk, 0, lang), y=fmt_pm(y.uncertainty_90_dkk, 0, lang),
                    s=fmt_pm(s.uncertainty_90_dkk, 0, lang), p=fmt_number(s.price_dkk_per_kwh, 2, lang)))
    return lines


def _site_section(r: SiteResult, esco, month: dt.date, lang: str, prices: PriceBasis) -> Section:
    """The building's page, every amount in its carrier's unit (kWh; m³ for natural gas and water)."""
    prices = carrier_price_basis(esco, r.carrier) or prices  # gas and water: their own DKK/m³
    return section_in_unit(_site_section_kwh(r, esco, month, lang, prices), unit_of(r.carrier))


def _site_section_kwh(r: SiteResult, esco, month: dt.date, lang: str, prices: PriceBasis) -> Section:
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    f2 = lambda x: fmt_number(x, 2, lang)  # noqa: E731
    sec = Section(r.name)
    if not r.month:
        sec.text(tr("no_result", lang, why=r.error))
        return sec
    points_key, unit_key = POINTS[r.granularity]
    cols = [tr("period", lang), tr(points_key, lang), tr("adj_baseline", lang), tr("actual", lang),
            tr("savings", lang), tr("unc68", lang), tr("unc90", lang), tr("dkk", lang), tr("co2", lang),
            tr("normalised", lang)]
    rows = []
    for key, raw in _periods(r):
        p = raw.shown()  # "–" for a period without enough data, its reason below the table
        co2 = co2_kg(p.savings_kwh, esco, r.carrier, month.year)
        rows.append([tr(key, lang), f"{p.m}/{p.points}", f0(p.adjusted_baseline_kwh), f0(p.actual_kwh),
                     f0(p.savings_kwh), fmt_pm(p.uncertainty_68_kwh, 0, lang), fmt_pm(p.uncertainty_90_kwh, 0, lang),
                     f0(p.savings_dkk), f0(co2), f0(p.normalised_savings_kwh)])
    sec.table(Table(cols, rows, col_widths=[1.3, 1, 1.3, 1.3, 1.2, 1.1, 1.1, 1.1, 0.9, 1.1]))
    unit = tr(unit_key, lang)
    for key, p in _periods(r):
        if p.status != "ok":
            sec.text(tr("status_line", lang, period=tr(key, lang), why=status_reason(p, r.granularity, lang)))
    if r.month.status == "ok" and r.month.m < r.month.points:
        sec.text(tr("missing_days", lang, k=r.month.points - r.month.m, unit=unit))
    if r.ytd is not None:
        sec.text(_ytd_note(esco, r.ytd.start or esco.measure_date, r.cutoff or next_month(month), lang))
    w = r.weather  # computed with the savings (esco.evaluation.month_weather)
    if w is not None:
        sec.text(tr("degree_days_month", lang, month=month_name(month.year, month.month, lang),
                    actual=fmt_number(w.hdd_c, 0, lang), normal=fmt_number(w.normal_hdd_c, 0, lang),
                    days=w.temp_days))
    if r.last_year is not None:
        sec.text(_last_year_text(r.last_year, lang))
    if r.floor_area_m2 and r.ytd is not None:
        f1 = lambda x: fmt_number(x, 1, lang)  # noqa: E731
        sec.text(tr("per_m2_line", lang, area=f0(r.floor_area_m2), month=month_name(month.year, month.month, lang),
                    month_m2=f1(r.per_m2(r.month.shown().actual_kwh)), ytd_m2=f1(r.per_m2(r.ytd.shown().actual_kwh)),
                    sav_m2=f1(r.per_m2(r.month.shown().savings_kwh))))
    fac = esco.co2_factor(r.carrier, month.year)
    # kg per the carrier's unit (kg/m³ for natural gas); water has no factor, its label is "–"
    co2_label = f"{fmt_number(fac.kg_per_unit, 3, lang)} kg/{fac.unit} ({fac.year}, {fac.source})" if fac else "–"
    for line in _site_price_notes(r, month, prices, co2_label, lang):
        sec.text(line)
    if r.gas_kwh_per_m3 is not None:
        sec.text(gas_kwh_text(r.month.shown().actual_kwh, r.month.shown().savings_kwh, r.gas_kwh_per_m3, lang))
    # model summary and G14 verdict
    m = r.model
    st = m.stats if m is not None else None
    if isinstance(m, TowtModel):
        sec.text(f"{tr('model', lang)}: " + tr("towt_line", lang, occ=m.occupied_hours, segs=len(m.segments)))
    elif m is not None:
        terms = ""
        if m.heating_balance_c is not None:
            terms += tr("heat_term", lang, b=f2(m.beta_hdd_kwh_per_k_day), t=fmt_number(m.heating_balance_c, 1, lang))
        if m.cooling_balance_c is not None:
            terms += tr("cool_term", lang, b=f2(m.beta_cdd_kwh_per_k_day), t=fmt_number(m.cooling_balance_c, 1, lang))
        line = "billing_line" if r.granularity == "month" else "model_line"
        sec.text(f"{tr('model', lang)}: " + tr(line, lang, kind=tr(f"kind_{m.kind}", lang),
                                                mu=fmt_number(m.intercept_kwh_per_day, 1, lang), terms=terms))
    if st is not None:
        sec.text(tr("stats_line", lang, b0=esco.baseline_start.isoformat(),
                    b1=(esco.baseline_end - dt.timedelta(days=1)).isoformat(), n=fmt_number(st.n, 0, lang), p=st.p,
                    unit=unit, r2=f2(st.r2), r2a=f2(st.r2_adj), cv=fmt_percent(st.cv_rmse, 1, lang),
                    cvn=fmt_percent(st.cv_rmse_n, 1, lang), nmbe=fmt_percent(st.nmbe, 2, lang),
                    nmben=fmt_percent(st.nmbe_n, 2, lang), rho=f2(st.rho), neff=fmt_number(st.n_eff, 0, lang)))
    calendar = school_holidays_text(r, lang)
    if calendar:
        sec.text(f"{tr('school_holidays', lang)}: {calendar}")
    if r.granularity == "month" and st is not None:
        sec.text(tr("billing_uncertainty", lang))
    sec.text(tr("sufficiency", lang, share=fmt_percent(r.sufficiency.share, 0, lang),
                ok=fmt_number(r.sufficiency.days_ok, 0, lang), n=fmt_number(r.sufficiency.days_total, 0, lang),
                unit=unit))
    if r.g14_ok is None:
        sec.text(tr("g14_none", lang))
    for line in verdict_lines(r, lang):
        sec.text(line)
    cfg = esco.sites[r.site]
    if cfg.pv and cfg.pv_installed:
        sec.text(tr("pv_addback", lang, d=cfg.pv_installed.isoformat()))
    # charts
    months = r.months
    labels = [month_label(int(p.label[:4]), int(p.label[5:7]), lang) for p in months]
    base = [p.shown().adjusted_baseline_kwh for p in months]  # a month without enough data has no bars
    act = [p.shown().actual_kwh for p in months]

    cus = r.daily["cusum_kwh"] if r.daily is not None else pd.Series(dtype=float)
    # module functions with their data (not closures): the report travels to the workers that draw it
    sec.chart(Chart(partial(_draw_months, labels=labels, base=base, act=act, lang=lang), tr("chart_months", lang),
                    0.22))
    sec.chart(Chart(partial(_draw_cusum, cus=cus, lang=lang), tr("chart_cusum", lang), 0.2))
    if r.ledger:
        sec.table(_ledger_table(r.ledger, lang, r.name))
        if r.ledger.status != "ok":
            sec.text(tr("ledger_status", lang, title=r.name, why=_ledger_reason(r.ledger, lang)))
    sec.text(tr("adjustments", lang) + ":")
    if r.adjustments:
        arows = [[a.start.isoformat(), a.end.isoformat(),
                  f"{fmt_number(a.kwh_per_day, 1, lang)} {tr('per_day', lang)}" if a.kwh_per_day is not None
                  else fmt_percent(a.percent / 100.0 if a.percent is not None else None, 1, lang), a.reason]
                 for a in r.adjustments]
        sec.table(Table([tr("from", lang), tr("to", lang), tr("amount", lang), tr("reason", lang)], arows,
                        col_widths=[1, 1, 1.2, 4]))
    else:
        sec.text(tr("adj_none", lang))
    return sec


def school_holidays_text(r: SiteResult, lang: str) -> str:
    """How the building's site calendar entered its savings uncertainty (:attr:`~energimon.analytics.stats.
    UnitResiduals.school_holidays_use`), for its page and the workbook's "Om rapporten" — so the energy team sees
    whether a school's, a hall's or a town hall's school holidays were used, and what to configure if not; "" without
    a baseline model."""
    res = r.model.residuals if r.model is not None else None
    if res is None:
        return ""
    use = res.school_holidays_use
    if use == "used":
        test = "" if res.school_holidays_p is None else tr("school_holidays_used_test", lang,
                                                          p=_p_text(res.school_holidays_p, lang))
        return tr("school_holidays_used", lang, test=test)
    if use == "not_significant":
        assert res.school_holidays_p is not None  # only the F-test leaves a calendar out
        return tr("school_holidays_not_significant", lang, p=_p_text(res.school_holidays_p, lang),
                  limit=fmt_number(CALENDAR_TERM_P, 1, lang))
    return tr(f"school_holidays_{use}", lang, site=r.site)


def _p_text(p: float, lang: str) -> str:
    """"p = 0,031" (three decimals), "p < 0,001" below that (never "p = 0,000")."""
    return f"p < {fmt_number(0.001, 3, lang)}" if p < 0.001 else f"p = {fmt_number(p, 3, lang)}"


# -- the verdict ----------------------------------------------------------------------------
def _limit_text(c, lang: str) -> str:
    if c.name == "cvrmse":
        return tr("limit_cvrmse", lang, value=fmt_percent(c.value, 1, lang), limit=fmt_percent(c.limit, 0, lang))
    if c.name == "nmbe":
        return tr("limit_nmbe", lang, value=fmt_percent(abs(c.value), 2, lang), limit=fmt_percent(c.limit, 1, lang))
    return tr("limit_fsu", lang, value=fmt_percent(c.value, 0, lang), limit=fmt_percent(c.limit, 0, lang))


def verdict_lines(r: SiteResult, lang: str = "da") -> list[str]:
    """What the site's figures mean, for people: the baseline model against G14's limits (which limit, and
    what that means for the guarantee) and whether the saving since start is demonstrated at 90 %."""
    v = r.verdict
    if v is None:
        return []
    cv, nmbe = fmt_percent(r.cvrmse_max, 0, lang), fmt_percent(r.nmbe_max, 1, lang)
    if v.ok:
        return [tr("g14_pass", lang, cv=cv, nmbe=nmbe)]
    failed_model = [c for c in v.failed if c.name != "fsu"]
    lines = [tr("g14_model_fail", lang, why="; ".join(_limit_text(c, lang) for c in failed_model)) if failed_model
             else tr("g14_model_ok", lang, cv=cv, nmbe=nmbe)]
    s, u = fmt_number(v.savings_kwh, 0, lang), fmt_pm(v.uncertainty_90_kwh, 0, lang)
    if v.savings == "demonstrated" and not v.fsu.ok:
        lines.append(tr("verdict_imprecise", lang, s=s, u=u, why=_limit_text(v.fsu, lang)))
    else:
        lines.append(tr(f"verdict_{v.savings}", lang, s=s, u=u))
    return lines


def verdict_word(r: SiteResult, lang: str = "da") -> tuple[str, str]:
    """The verdict in a word or two and its reasons (the workbook's G14 columns, the console)."""
    v = r.verdict
    if v is None:
        return "", ""
    a = lambda key: ABOUT[key][lang]  # noqa: E731
    why = "; ".join(_limit_text(c, lang) for c in v.failed)
    if v.ok:
        return a("g14_pass"), ""
    if not v.model_ok:
        word = a("g14_model_fail")
        if v.savings != "demonstrated":
            word += f"; {a('verdict')} {a(f'verdict_{v.savings}')}"
        return word, why
    if v.savings == "demonstrated":
        return a("g14_imprecise"), why
    return f"{a('verdict')} {a(f'verdict_{v.savings}')}", why


# -- the workbook ---------------------------------------------------------------------------
def _xlsx_table_rows(rows: list[list], lang: str) -> list[list]:
    """CSV rows with the period and resolution in words and the portfolio named; numbers and dates unchanged."""
    col = {c: i for i, c in enumerate(CSV_HEADER)}
    out = []
    for row in rows:
        row = list(row)
        row[col["period"]] = ABOUT[f"period_{row[col['period']]}"][lang]
        if row[col["site"]] == "portfolio":
            row[col["site"]] = ABOUT["sheet_portfolio"][lang]
        if row[col["resolution"]]:
            row[col["resolution"]] = ABOUT[row[col["resolution"]]][lang]
        row[col["status"]] = ABOUT[f"status_{row[col['status']]}"][lang]
        if row[col["verdict"]]:
            row[col["verdict"]] = ABOUT[f"verdict_{row[col['verdict']]}"][lang]
        out.append([None if v == "" else v for v in row])
    return out


def _workbook(results: list[SiteResult], site_rows: dict[str, list[list]], all_rows: list[list], esco,
              month: dt.date, prices: PriceBasis, lang: str, cutoff: dt.date | None = None) -> list[xlsx_out.Sheet]:
    """The tables as sheets named by the buildings' display names, each building with its monthly history
    (:mod:`energimon.analytics.report.savings_xlsx`), and the "Om rapporten" sheet."""
    return savings_sheets(results, {site: _xlsx_table_rows(rows, lang) for site, rows in site_rows.items()},
                          _xlsx_table_rows(all_rows, lang), esco, lang, header_keys=CSV_HEADER,
                          formats=XLSX_FORMATS, about=_about_sheet(results, esco, month, prices, lang, cutoff))


def _about_sheet(results: list[SiteResult], esco, month: dt.date, prices: PriceBasis, lang: str,
                 cutoff: dt.date | None = None) -> xlsx_out.Sheet:
    a = lambda key: ABOUT[key][lang]  # noqa: E731
    Cell = xlsx_out.Cell
    rows: list[list] = [
        [a("contract"), esco.contract],
        [a("esco"), esco.esco or None],
        [a("report_month"), Cell(month, xlsx_out.MONTH)],
        [a("baseline_from"), esco.baseline_start],
        [a("baseline_to"), esco.baseline_end - dt.timedelta(days=1)],
        [a("measure"), esco.measure_date],
        [a("normal_year"), Cell(esco.normal_year.total, xlsx_out.INT), None, esco.normal_year.source],
        [a("base_temp"), Cell(esco.base_temperature_c, "0.0")],
    ]
    if cutoff is not None and cutoff < next_month(month):  # a month not yet over
        rows.insert(3, [a("preliminary"), a("preliminary_yes"), cutoff - dt.timedelta(days=1)])
    if prices.kind == "fixed":
        rows.append([a("price_basis"), Cell(prices.fixed_dkk_per_kwh, xlsx_out.PRICE), a("price_fixed")])
    elif prices.kind == "periods":
        rows += [[a("price_basis"), Cell(p.dkk_per_kwh, xlsx_out.PRICE), f"{a('price_from')} {p.from_.isoformat()}",
                  p.source] for p in prices.periods]
    elif prices.file is not None:
        rows.append([a("price_basis"), prices.file.name, f"{a('price_file')}, {prices.file.interval_min} min"])
    rows.append([a("unc_dkk"), a("unc_dkk_how")])
    billing = [r.name for r in results if r.granularity == "month" and r.model is not None]
    if billing:
        rows.append([a("billing_uncertainty"), ", ".join(billing), tr("billing_uncertainty", lang)])
    for f in esco.co2:
        rows.append([a("co2_factor"), Cell(f.kg_per_kwh, xlsx_out.FACTOR), f"{a(f.carrier)} {f.year}", f.source])
    bold = set()
    rows.append([])
    bold.add(len(rows))
    rows.append([tr("site", lang), a("model"), a("g14"), a("why"), a("n"), a("cvrmse"), a("nmbe"), a("r2")])
    for r in results:
        model = esco.sites[r.site].model
        st = r.model.stats if r.model is not None else None
        if st is None:
            rows.append([r.name, a(model), None, f"{a('no_result')}: {r.error}"])
            continue
        word, why = (a("g14_none"), "") if r.g14_ok is None else verdict_word(r, lang)
        rows.append([r.name, a(model), word, why or None,
                     Cell(st.n, xlsx_out.INT), Cell(st.cv_rmse, "0.0%"), Cell(st.nmbe, "0.00%"), Cell(st.r2, "0.000")])
    # per building, whether its site calendar's school holidays were used in the uncertainty (the p of the test)
    calendars = [(r, text) for r in results if (text := school_holidays_text(r, lang))]
    if calendars:
        rows.append([])
        bold.add(len(rows))
        rows.append([tr("site", lang), tr("school_holidays", lang), a("p_value")])
        for r, text in calendars:
            p = r.model.residuals.school_holidays_p if r.model is not None and r.model.residuals is not None else None
            rows.append([r.name, text, Cell(p, "0.000") if p is not None else None])
    rows.append([])
    bold.add(len(rows))
    rows.append([tr("site", lang), tr("from", lang), tr("to", lang), a("kwh_per_day"), a("percent"), a("why")])
    adjusted = [(r, adj) for r in results for adj in r.adjustments]
    for r, adj in adjusted:
        rows.append([r.name, adj.start, adj.end, Cell(adj.kwh_per_day, "0.0"),
                     Cell(adj.percent / 100.0 if adj.percent is not None else None, "0.0%"), adj.reason])
    if not adjusted:
        rows.append([a("none")])
    return xlsx_out.Sheet(a("sheet_about"), [a("topic"), a("value"), a("detail"), a("source")], rows, (),
                          bold_rows=bold)
