"""``energimon report solar``: the monthly solar report (PDF + CSV) on the shared report pipeline.

The KPIs are computed by :mod:`energimon.analytics.solar.kpis`; this module renders them.

Built with :mod:`energimon.analytics.report` (document model, PDF renderer, CSV writer, number
formatting), so the solar and the savings reports look and behave alike.  Entry point for the CLI
and a scheduler: :func:`generate_solar_report`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from energimon.analytics.report.csv_out import write_csv
from energimon.analytics.report.document import Chart, Report, Section, Table
from energimon.analytics.report.i18n import PRELIMINARY_SUFFIX, month_name, preliminary_text, selection_suffix
from energimon.analytics.report.i18n import tr as report_tr
from energimon.analytics.report.numbers import MISSING, fmt_number, fmt_percent
from energimon.analytics.report.pdf import render_pdf
from energimon.analytics.report.solar_texts import KPI_NAMES_SHORT, t
from energimon.analytics.solar.kpis import (
    MIN_HOURS_SHARE,
    PERIOD_COLUMNS,
    SiteKpis,
    missing_hours,
    month_row,
    portfolio_totals,
    shown,
    site_inputs,
    site_kpis,
)
from energimon.calendar import local_midnight, next_month, report_cutoff
from energimon.calendar import today as local_today
from energimon.model import LOCAL_TZ

log = logging.getLogger(__name__)

CSV_HEADER = ["site", "period", "start", "p0_kwp", "reference", *PERIOD_COLUMNS, "status", "status_reason"]
"""``status``: ``ok``, ``no_data`` or ``incomplete`` (then the measured KPIs are empty cells: missing is never
zero); ``status_reason`` says why, in the report's language."""


@dataclass
class SolarReportFiles:
    pdf: Path
    csv: Path
    results: list[SiteKpis]
    preliminary: bool = False  # the month is not over (files named …-foreloebig / …-preliminary)
    cutoff: dt.date | None = None  # the first day not counted: the month's end, or today

    def paths(self) -> list[Path]:
        """Every file the report wrote."""
        return [self.pdf, self.csv]


def live_devices(settings, site: str, series: pd.DataFrame) -> Callable[[str], bool]:
    """Which of the site's devices are read live (a live meter wins over an imported DataHub copy of it in the
    site balance: the same rule as the anomaly rules', :func:`~energimon.analytics.anomaly.sources.device_source`)."""
    from energimon.analytics.anomaly.sources import live_rule

    live = live_rule(settings, series[series["site"] == site])
    return lambda device: live(site, device)


def solar_sites(settings, series: pd.DataFrame) -> list[str]:
    """Configured sites with PV: arrays in the configuration or a PV counter in the store."""
    with_counter = set(series.loc[series["channel"] == "pv_energy_wh", "site"])
    return [sid for sid, s in settings.sites.items() if s.pv or sid in with_counter]


def compute(settings, store, month: dt.date, sites: list[str] | None = None,
            progress: Callable[[int, int, str], None] | None = None, end: dt.date | None = None) -> list[SiteKpis]:
    """KPIs of ``month`` (its days before ``end``, default the whole month) for ``sites`` (default: every site
    with PV)."""
    series = store.series()
    # a site given twice is reported once, as the files' name (report.i18n.selection_suffix) counts it once
    chosen = list(dict.fromkeys(sites)) if sites else solar_sites(settings, series)
    if not chosen:
        raise ValueError("no site with PV: describe the arrays in [[sites.<id>.pv]] (kWp, tilt, azimuth) or collect "
                         "a pv_energy_wh counter from the inverter")
    unknown = [s for s in chosen if s not in settings.sites]
    if unknown:
        raise ValueError(f"unknown site(s) {', '.join(unknown)}; configured: {', '.join(settings.sites)}")
    results = []
    for i, sid in enumerate(chosen):
        t0 = time.perf_counter()
        inputs = site_inputs(sid, settings.sites[sid], series, live_devices(settings, sid, series))
        results.append(site_kpis(store, inputs, month, end or next_month(month)))
        log.info("solar site=%s month=%s in %.2f s", sid, f"{month:%Y-%m}", time.perf_counter() - t0)
        if progress:
            progress(i + 1, len(chosen), sid)
    return results


def generate_solar_report(settings, store, month: dt.date, sites: list[str] | None = None,
                          out_dir: Path | None = None, lang: str = "da", sep: str | None = None,
                          decimal_comma: bool | None = None,
                          progress: Callable[[int, int, str], None] | None = None,
                          daily_table: bool = False, today: dt.date | None = None) -> SolarReportFiles:
    """Compute and write ``solceller-YYYY-MM.pdf`` and ``.csv`` (``solar-…`` in English) to ``out_dir``.

    A month that is not over (``today``, default the local date now, lies in it) counts only its days before
    today, is marked preliminary on every page and is written as ``solceller-YYYY-MM-foreloebig.*``; a month
    that has not begun is refused (ValueError).  A report for some sites (``sites``) has their ids in its names,
    ``solceller-YYYY-MM_<site>+<site>…`` (:func:`~energimon.analytics.report.i18n.selection_suffix`), so it never
    replaces the report of every site.

    ``daily_table`` adds a day-by-day table per site to the PDF (the CSV always has every day; the table
    roughly doubles the rendering time: matplotlib draws every cell).  Idempotent: writing the same month
    again overwrites the same files.
    """
    today = today or local_today()
    if month > today:
        raise ValueError(f"{month:%Y-%m} has not begun (today is {today.isoformat()}): there is nothing to report")
    cutoff = report_cutoff(month, today)
    preliminary = cutoff < next_month(month)
    results = compute(settings, store, month, sites, progress, cutoff)
    out = Path(out_dir) if out_dir is not None else Path("rapporter")
    stem = f"solceller-{month:%Y-%m}" if lang == "da" else f"solar-{month:%Y-%m}"
    if preliminary:
        stem += PRELIMINARY_SUFFIX[lang]
    if sites:  # the month's report of every site keeps its name (mails and the web name it)
        stem += selection_suffix(sites, lang)
    sep = sep if sep is not None else (";" if lang == "da" else ",")
    decimal_comma = (lang == "da" and sep != ",") if decimal_comma is None else decimal_comma
    csv_path = write_csv(out / f"{stem}.csv", CSV_HEADER, csv_rows(results, lang, month), sep, decimal_comma,
                         lang)
    alerts = pv_alert_notes(settings, [r.inputs.site for r in results], month, lang)
    pdf_path = render_pdf(build_report(results, month, lang, daily_table, alerts, cutoff), out / f"{stem}.pdf")
    return SolarReportFiles(pdf_path, csv_path, results, preliminary, cutoff)


# -- CSV ----------------------------------------------------------------------------------------
def _cells(row: pd.Series) -> list:
    return [float(v) if isinstance(v := row[c], float | np.floating) else _int(v) for c in PERIOD_COLUMNS]


def status_reason(r: SiteKpis, row: pd.Series, lang: str = "da") -> str:
    """Why a day or month shows no numbers ("" when it does)."""
    status = r.status(row)
    if status == "ok":
        return ""
    if not row["hours"] or row["hours"] != row["hours"]:
        return t("status_no_days", lang)
    if not r.measured:
        return t("status_no_counters", lang)
    if status == "no_data":
        return t("status_no_data", lang)
    return t("status_incomplete", lang, m=fmt_number(row["hours_complete"], 0, lang),
             n=fmt_number(row["hours"], 0, lang), min=fmt_percent(MIN_HOURS_SHARE, 0, lang))


def csv_rows(results: list[SiteKpis], lang: str = "da", month: dt.date | None = None) -> list[list]:
    """A month row and a row per day for each site; ratios as fractions; unknown = empty cell, and a period
    without enough data has every measured KPI empty, with ``status``/``status_reason`` saying why."""
    rows = []
    for r in results:
        p0 = r.inputs.p0_kwp or math.nan
        months = r.monthly
        if not len(months) and month is not None:  # no day over yet: the month row still says so
            months = month_row(r).to_frame().T.set_axis(pd.DatetimeIndex([pd.Timestamp(month)], name="start"))
        for period, frame in (("month", months), ("day", r.daily)):
            for start, row in _dated_rows(frame):
                status = r.status(row)
                rows.append([r.inputs.site, period, start.date().isoformat(), p0, r.reference.kind,
                             *_cells(shown(row, status)), status, status_reason(r, row, lang)])
    return rows



# -- PDF ----------------------------------------------------------------------------------------
def _perf_key(r: SiteKpis) -> str:
    """The site's one performance figure: the true PR with an irradiance sensor, else production against the
    clear-sky expectation (a PR against a clear-sky reference would be a second figure for the same thing)."""
    return "performance_ratio" if r.reference.kind == "sensor" else "yield_vs_expected"


def _perf_label(r: SiteKpis, lang: str) -> str:
    return t("perf_sensor" if r.reference.kind == "sensor" else "perf_clear_sky", lang)


def build_report(results: list[SiteKpis], month: dt.date, lang: str = "da", daily_table: bool = False,
                 alert_notes: dict[str, list[str]] | None = None, cutoff: dt.date | None = None) -> Report:
    """Overview (the sites per kWp), then one section per site.  With ``cutoff`` inside the month (a month not
    yet over) the report is marked preliminary on every page."""
    mname = month_name(month.year, month.month, lang)
    total_kwp = sum(r.inputs.p0_kwp for r in results)
    preliminary = cutoff is not None and cutoff < next_month(month)
    report = Report(title=f"{t('title', lang)} — {mname}"
                    + (f" ({report_tr('preliminary_title', lang)})" if preliminary else ""),
                    subtitle=t("subtitle", lang, month=mname, n=len(results), kwp=fmt_number(total_kwp, 0, lang)),
                    lang=lang, footer=t("footer", lang), mark=report_tr("preliminary", lang) if preliminary else "")
    overview = _overview(results, lang)
    if cutoff is not None and preliminary:
        overview.blocks.insert(0, preliminary_text(month, cutoff, lang))
    report.sections.append(overview)
    for r in results:
        report.sections.append(_site_section(r, lang, daily_table, (alert_notes or {}).get(r.inputs.site, [])))
    return report


def _shown_month(r: SiteKpis) -> pd.Series:
    """The month row as the report shows it: measured KPIs NaN ("–") without enough data."""
    row = month_row(r)
    return shown(row, r.status(row))


def _overview(results: list[SiteKpis], lang: str) -> Section:
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    f2 = lambda x: fmt_number(x, 2, lang)  # noqa: E731
    pc = lambda x: fmt_percent(x, 0, lang)  # noqa: E731
    sec = Section(t("overview", lang))
    sec.text(t("intro", lang))
    cols = [t("site", lang), t("kwp", lang), t("pv_kwh", lang), t("final_yield_kwh_per_kwp", lang),
            t("consumption_kwh", lang), t("h_scr", lang), t("h_ssr", lang), t("perf", lang), t("h_avail", lang)]
    rows = []
    for r in results:
        m = _shown_month(r)
        rows.append([r.inputs.name, f0(r.inputs.p0_kwp), f0(m.pv_kwh), f2(m.final_yield_kwh_per_kwp),
                     f0(m.consumption_kwh), pc(m.self_consumption_ratio), pc(m.self_sufficiency_ratio),
                     pc(m[_perf_key(r)]), pc(m.availability)])
    tot = portfolio_totals(results)
    left_out = [r for r in results if r.status(month_row(r)) != "ok"]
    star = " *" if left_out and len(left_out) < len(results) else ""  # a sum over only some sites
    rows.append([t("total", lang), f0(tot["kwp"]), f0(tot["pv_kwh"]) + star, f2(tot["yf"]) + star,
                 f0(tot["load"]) + star, pc(tot["scr"]) + star, pc(tot["ssr"]) + star, MISSING, MISSING])
    sec.table(Table(cols, rows, col_widths=[2.0, 0.6, 1.1, 1.0, 1.0, 1.45, 1.55, 0.7, 1.1], bold_last_row=True))
    for r in left_out:
        sec.text(t("status_line", lang, what=r.inputs.name, why=status_reason(r, month_row(r), lang)))
    if left_out:
        sec.text(t("total_none", lang) if len(left_out) == len(results) else
                 "* " + t("total_left_out", lang, names=", ".join(r.inputs.name for r in left_out)))
    for line in perf_notes(results, lang):
        sec.text(line)
    sec.text(t("availability_def", lang))

    names = ["\n".join(textwrap.wrap(r.inputs.name, 18)) for r in results]  # long names wrap under their bars
    yf = [float(_shown_month(r).final_yield_kwh_per_kwp) for r in results]
    exp = [float(month_row(r).expected_ac_kwh) / r.inputs.p0_kwp if r.inputs.p0_kwp else math.nan for r in results]

    def draw(ax, names=names, yf=yf, exp=exp):
        x = np.arange(len(names))
        ax.bar(x - 0.2, yf, 0.4, color="#e0a100", label=t("legend_pv", lang))
        ax.bar(x + 0.2, exp, 0.4, color="#c9d6e3", label=t("legend_expected", lang))
        ax.set_xticks(x, names)
        ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
        ax.grid(axis="y", linewidth=0.3)
        ax.legend(fontsize=7)

    sec.chart(Chart(draw, t("chart_kwp", lang), 0.22))
    return sec


def _dated_rows(frame: pd.DataFrame) -> Iterator[tuple[pd.Timestamp, pd.Series]]:
    """A KPI frame's rows with their start (the frame's index is a DatetimeIndex)."""
    for start, (_, row) in zip(pd.DatetimeIndex(frame.index), frame.iterrows(), strict=True):
        yield start, row


def _int(value: object) -> int:
    """A count from a KPI row (NaN in a row without data: 0)."""
    number = float(value) if isinstance(value, int | float | np.number | np.bool_) else math.nan
    return int(number) if math.isfinite(number) else 0


def perf_notes(results: list[SiteKpis], lang: str) -> list[str]:
    """What the performance figure means, once for the sites with an irradiance sensor and once for the others."""
    sensor = [r for r in results if r.reference.kind == "sensor"]
    clear = [r for r in results if r.reference.kind != "sensor"]
    lines = []
    if sensor:
        details = sorted({r.reference.detail for r in sensor})
        lines.append(t("perf_note_sensor", lang, names=", ".join(r.inputs.name for r in sensor),
                       detail="; ".join(details)))
    if clear:
        lines.append(t("perf_note_clear_sky", lang, names=", ".join(r.inputs.name for r in clear)))
    return lines


def _site_section(r: SiteKpis, lang: str, daily_table: bool = False, alert_notes: list[str] | None = None) -> Section:
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    f1 = lambda x: fmt_number(x, 1, lang)  # noqa: E731
    f2 = lambda x: fmt_number(x, 2, lang)  # noqa: E731
    pc = lambda x: fmt_percent(x, 1, lang)  # noqa: E731
    inp = r.inputs
    arrays = ", ".join(f"{a.id} {fmt_number(a.kwp, 1, lang)} kWp {fmt_number(a.tilt_deg, 0, lang)}°/"
                       f"{fmt_number(a.azimuth_deg, 0, lang)}°" for a in inp.arrays)
    sec = Section(f"{inp.name} — {fmt_number(inp.p0_kwp, 1, lang)} kWp")
    if arrays:
        sec.text(arrays)
    m = _shown_month(r)
    perf = _perf_key(r)
    items = [("pv_kwh", f0), ("import_kwh", f0), ("export_kwh", f0), ("consumption_kwh", f0),
             ("self_consumed_kwh", f0), ("self_consumption_ratio", pc), ("self_sufficiency_ratio", pc),
             ("final_yield_kwh_per_kwp", f2), *([("reference_yield_h", f1)] if perf == "performance_ratio" else []),
             ("expected_ac_kwh", f0), (perf, pc), ("availability", pc)]
    rows = [[_perf_label(r, lang) if k == perf else t(k, lang), fn(m[k])] for k, fn in items]
    rows.append([t("hours", lang), f"{_int(m['hours_complete'])}/{_int(m['hours'])}"])
    sec.table(Table([t("month_table", lang), ""], rows, title="", col_widths=[3, 1.2]))
    month_status = r.status(month_row(r))
    if month_status != "ok":
        sec.text(t("status_line", lang, what=t("month_table", lang), why=status_reason(r, month_row(r), lang)))
    if r.not_computable:
        by_reason: dict[str, list[str]] = {}
        for k, why in r.not_computable.items():
            by_reason.setdefault(why, []).append(KPI_NAMES_SHORT.get(k, {}).get(lang, k))
        for why, names in by_reason.items():
            sec.text(f"{t('nc_title', lang)}: " + t(f"nc_{why}", lang, kpis=", ".join(names)))

    # a day without enough data draws no bars and shows "–" (never a short day's partial sums)
    d = pd.DataFrame([shown(row, r.status(row)) for _, row in r.daily.iterrows()], index=r.daily.index,
                     columns=PERIOD_COLUMNS)
    days = [i.day for i in d.index]
    pv, load = d["pv_kwh"].to_numpy(float), d["consumption_kwh"].to_numpy(float)
    selfc, scr = d["self_consumed_kwh"].to_numpy(float), d["self_consumption_ratio"].to_numpy(float)
    expected = d["expected_ac_kwh"].to_numpy(float)

    def draw(ax, days=days, pv=pv, load=load, selfc=selfc, scr=scr, expected=expected):
        x = np.asarray(days)
        ax.bar(x - 0.2, load, 0.4, color="#9aa5b1", label=t("legend_load", lang))
        ax.bar(x + 0.2, pv, 0.4, color="#f2c14e", label=t("legend_pv", lang))
        ax.bar(x + 0.2, selfc, 0.4, color="#c77c02", label=t("legend_self", lang))
        ax.plot(x, expected, linestyle=":", color="#555555", linewidth=1, label=t("legend_expected", lang))
        ax.set_xlim(0.3, len(days) + 0.7)
        ax.set_xticks(x[::2] if len(x) > 16 else x)
        ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
        ax.grid(axis="y", linewidth=0.3)
        ax2 = ax.twinx()
        ax2.plot(x, scr * 100, color="#2f6b3a", marker="o", markersize=2, linewidth=1, label=t("legend_scr", lang))
        ax2.set_ylim(0, 110)
        ax2.set_yticks([0, 20, 40, 60, 80, 100])
        ax2.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0f} %")
        ax2.tick_params(labelsize=7)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        top = np.nanmax(np.concatenate([load, pv, expected, [1.0]]))
        ax.set_ylim(0, top * 1.1)
        # the legend below the axes (under the day numbers), clear of the bars and the 100 % line
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.1), ncol=5,
                  frameon=False)

    sec.chart(Chart(draw, t("chart_daily", lang), 0.29))

    if r.inverters is not None and len(r.inverters) > 1:
        irows = [[str(dev), f1(kwh), f2(yf)] for dev, kwh, yf in
                 zip(r.inverters["device"], r.inverters["pv_kwh"], r.inverters["kwh_per_kwp"], strict=True)]
        sec.table(Table([t("device", lang), t("pv_kwh", lang), t("final_yield_kwh_per_kwp", lang)], irows,
                        title=t("inverters", lang)))
    if r.mppt is not None and len(r.mppt):
        # an input without any DC power reading has nothing to show: no row of "– W" (and no table without rows)
        mrows = [[str(dev), f0(w) + " W", pc(share)] for dev, w, share in
                 zip(r.mppt["device"], r.mppt["mean_dc_w"], r.mppt["share"], strict=True) if math.isfinite(w)]
        if mrows:
            sec.table(Table([t("device", lang), "DC W", t("mppt_share", lang)], mrows, title=t("mppt_title", lang)))

    sec.text(f"{t('notes', lang)}:")
    # a month without any data needs one line, not one per day (and never "no outages")
    notes = ([status_reason(r, month_row(r), lang)] if month_status == "no_data" else outage_notes(r, lang))
    notes += list(alert_notes or [])
    for n in notes or [t("no_notes", lang)]:
        sec.text("• " + n)

    if not daily_table:
        return sec
    # import and export per day are in the CSV; the PDF's day table keeps what a reader compares
    cols = [t("date", lang), t("pv_kwh", lang), t("consumption_kwh", lang), t("self_consumed_kwh", lang),
            t("h_scr", lang), t("h_ssr", lang), t("final_yield_kwh_per_kwp", lang), t("perf", lang), t("hours", lang)]
    drows = [[start.strftime("%d-%m" if lang == "da" else "%m-%d"), f1(row["pv_kwh"]), f1(row["consumption_kwh"]),
              f1(row["self_consumed_kwh"]), pc(row["self_consumption_ratio"]), pc(row["self_sufficiency_ratio"]),
              f2(row["final_yield_kwh_per_kwp"]), pc(row[perf]), f"{_int(row['hours_complete'])}/{_int(row['hours'])}"]
             for start, row in _dated_rows(d)]
    sec.table(Table(cols, drows, title=f"{t('daily_table', lang)} ({t('perf', lang)}: {_perf_label(r, lang).lower()})",
                    col_widths=[0.8, 1.1, 1, 1.1, 1.2, 1.3, 0.9, 0.9, 1]))
    return sec


PV_ALERT_RULES = {
    "pv_zero": {"da": "ingen produktion i dagslys", "en": "no production in daylight"},
    "pv_underperformance": {"da": "underydelse pr. kWp", "en": "underperformance per kWp"},
    "pv_envelope": {"da": "produktion over det fysisk mulige (skala eller kWp forkert?)",
                    "en": "output above the physical envelope (wrong scale or kWp?)"},
    "pv_offline": {"da": "inverter offline i dagslys", "en": "inverter offline in daylight"},
}


def pv_alert_notes(settings, sites: list[str], month: dt.date, lang: str = "da") -> dict[str, list[str]]:
    """Notes from the anomaly rules' PV alerts that overlap ``month`` (when alerting is configured).

    Read from the alert state file, read-only: the report never changes alert state.
    """
    import sqlite3

    from energimon.analytics.alerting.state import read_alerts

    alerts_cfg = getattr(settings, "alerts", None)
    if alerts_cfg is None:
        return {}
    start, end = local_midnight(month.replace(day=1)), local_midnight(next_month(month))
    try:
        alerts = read_alerts(alerts_cfg.state_path, states=("pending", "firing", "resolved"), rules=PV_ALERT_RULES,
                             overlapping=(start, end))
    except sqlite3.Error:
        return {}
    out: dict[str, list[str]] = {}
    for a in alerts:
        site, device, rule, resolved_at = a.site, a.device, a.rule, a.resolved_at
        if site not in sites:
            continue
        t0 = a.since.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        if lang == "da":
            until = (f"til {resolved_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}" if resolved_at
                     else "stadig aktiv")
            text = f"PV-alarm på {device}: {PV_ALERT_RULES[rule]['da']}, fra {t0} {until}."
        else:
            until = (f"until {resolved_at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}" if resolved_at
                     else "still active")
            text = f"PV alert on {device}: {PV_ALERT_RULES[rule]['en']}, from {t0} {until}."
        out.setdefault(site, []).append(text)
    return out


def outage_notes(r: SiteKpis, lang: str = "da") -> list[str]:
    """Days with missing meter hours and days with hours without production when production was expected."""
    notes = []
    missing = missing_hours(r)  # per day and measured counter (kpis.missing_hours)
    for start, row in _dated_rows(r.daily):
        day = start.date().isoformat()
        parts = []
        for col, name in (("pv_wh", "pv_kwh"), ("import_wh", "import_kwh"), ("export_wh", "export_kwh")):
            k = _int(missing.at[start, col]) if col in missing.columns else 0
            if k:
                parts.append(f"{KPI_NAMES_SHORT[name][lang]} {k} t" if lang == "da" else
                             f"{KPI_NAMES_SHORT[name][lang]} {k} h")
        if parts:
            notes.append(t("note_missing", lang, day=day, k=_int(row["hours"]) - _int(row["hours_complete"]),
                           n=_int(row["hours"]), what=", ".join(parts)))
        if row.expected_hours and row.producing_hours < row.expected_hours:
            notes.append(t("note_avail", lang, day=day, k=_int(row["expected_hours"]) - _int(row["producing_hours"]),
                           n=_int(row["expected_hours"]), m=_int(row["expected_hours_no_data"]),
                           a=fmt_percent(row.availability, 0, lang)))
    return notes


# -- the one-line daily summary (for `energimon latest` / `status`) -------------------------------
def summary_line(settings, store, day: dt.date | None = None, lang: str = "da",
                 sites: list[str] | None = None) -> str:
    """One line: each PV site's production, kWh/kWp, self-consumption and self-sufficiency for ``day``
    (default: today so far, local time).  Cheap: one local day of hourly windows per site."""
    day = day or local_today()
    series = store.series()
    sites = [s for s in solar_sites(settings, series) if sites is None or s in sites]
    if not sites:
        return t("summary", lang, day=day.isoformat(), parts=t("no_sites", lang))
    parts = []
    for sid in sites:
        inputs = site_inputs(sid, settings.sites[sid], series, live_devices(settings, sid, series))
        k = site_kpis(store, inputs, day, day + dt.timedelta(days=1))
        row = k.daily.iloc[0] if len(k.daily) else pd.Series(np.nan, index=PERIOD_COLUMNS)
        parts.append(t("summary_site", lang, name=inputs.name, pv=fmt_number(row.pv_kwh, 0, lang),
                       yf=fmt_number(row.final_yield_kwh_per_kwp, 2, lang),
                       scr=fmt_percent(row.self_consumption_ratio, 0, lang),
                       ssr=fmt_percent(row.self_sufficiency_ratio, 0, lang)))
    return t("summary", lang, day=day.isoformat(), parts="; ".join(parts))
