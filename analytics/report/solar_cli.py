"""``energimon report solar``: parser and handler; the solar line of ``energimon latest``.

``report`` is the shared report pipeline's command (:func:`energimon.analytics.report.cli.report_commands`);
``solar`` is added to its subcommands here.  Heavy imports (pvlib, matplotlib) happen only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energimon.cliutil import EXIT_USAGE, Commands, Config, config_arg, lang, progress, t


def register(commands: Commands) -> None:
    """``report solar``."""
    from energimon.analytics.report.cli import report_commands

    rsub = report_commands(commands)
    s = rsub.add_parser(
        "solar", help=t("solcelleproduktion mod forbrug for én måned (IEC 61724-1, egetforbrug)",
                        "solar yield against consumption for one month (IEC 61724-1, egetforbrug)"),
        description=t(
            "For hver bygning med solceller: produktion, køb, salg, forbrug, egetforbrugsandel, "
            "selvforsyningsgrad, specifikt udbytte Y_f (kWh/kWp), PR (mod målt indstråling eller mod pvlibs "
            "klarvejrskurve) og rådighed, fra tællerne, pr. time og summeret. Skriver solceller-ÅÅÅÅ-MM.pdf og .csv "
            "(en række for måneden og en pr. dag for hver bygning) i --out, som standard esco.reports_dir eller "
            "'rapporter' ved siden af konfigurationen. Skriver én linje pr. bygning (produktion, kWh/kWp, "
            "egetforbrug, selvforsyning) og de skrevne filer.",
            "Per site with PV: production, import, export, consumption, self-consumption ratio "
            "(egetforbrugsandel), self-sufficiency (selvforsyningsgrad), final yield Y_f (kWh/kWp), PR "
            "(against measured irradiance, or against pvlib's clear-sky envelope) and availability, from the "
            "counters, per hour and summed. Writes solar-YYYY-MM.pdf and .csv (a month row and a row "
            "per day for each site) to --out, default esco.reports_dir or 'rapporter' beside the config. "
            "Prints one line per site (production, kWh/kWp, self-consumption, self-sufficiency) and the "
            "files written."))
    s.set_defaults(handler=cmd_report_solar)
    config_arg(s)
    s.add_argument("--month", required=True, help=t("måneden, ÅÅÅÅ-MM (dansk kalender)",
                                                    "the month, YYYY-MM (local calendar)"))
    s.add_argument("--site", action="append",
                   help=t("kun denne bygning (kan gentages; standard: alle med solceller); filernes navne får "
                          "bygningernes id efter måneden (solceller-ÅÅÅÅ-MM_<bygning>.pdf), så rapporten for alle "
                          "bygninger ikke erstattes",
                          "only this site (repeatable; default: every site with PV); the files' names carry the "
                          "sites' ids after the month (solar-YYYY-MM_<site>.pdf), so the report of every site is not "
                          "replaced"))
    s.add_argument("--out", type=Path, help=t("mappe til filerne", "folder for the files"))
    s.add_argument("--lang", choices=("da", "en"), default=argparse.SUPPRESS,
                   help=t("sprog for rapporten, dens filer og beskeder (standard: --lang før kommandoen, ellers "
                          "dansk)",
                          "language of the report, its files and messages (default: --lang before the command, "
                          "else Danish)"))
    s.add_argument("--daily-table", action="store_true",
                   help=t("tilføj en tabel dag for dag pr. bygning i PDF'en (alle dage står altid i CSV'en)",
                          "add a day-by-day table per site to the PDF (every day is always in the CSV)"))
    s.add_argument("--sep", help=t("CSV-adskiller (standard ';' på dansk, ',' på engelsk)",
                                   "CSV separator (default ';' in Danish, ',' in English)"))
    dc = s.add_mutually_exclusive_group()
    dc.add_argument("--decimal-comma", dest="decimal_comma", action="store_true", default=None,
                    help=t("tal i CSV som 1234,5 (standard på dansk)", "CSV numbers as 1234,5 (default in Danish)"))
    dc.add_argument("--decimal-point", dest="decimal_comma", action="store_false",
                    help=t("tal i CSV som 1234.5", "CSV numbers as 1234.5"))


def _out_dir(args, settings, config: Config) -> Path:
    if args.out is not None:
        return args.out
    base = settings.esco.reports_dir if getattr(settings, "esco", None) is not None else Path("rapporter")
    return base if base.is_absolute() else config.path.parent / base


def cmd_report_solar(args: argparse.Namespace, config: Config) -> int:
    from energimon.analytics.report.solar_report import generate_solar_report
    from energimon.calendar import parse_month
    from energimon.store import open_store

    settings = config.settings()
    try:
        month = parse_month(args.month)
        if args.sep is not None and len(args.sep) != 1:
            raise ValueError(t("--sep skal være ét tegn", "--sep must be one character"))
        if args.decimal_comma and args.sep == ",":
            raise ValueError(t("--decimal-comma kræver en anden separator, fx --sep ';'",
                               "--decimal-comma needs another separator, e.g. --sep ';'"))
    except ValueError as exc:
        print(f"energimon report solar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(settings.store, readonly=True)
    try:
        files = generate_solar_report(settings, store, month, args.site, _out_dir(args, settings, config), lang(),
                                      args.sep, args.decimal_comma, progress, args.daily_table)
    except ValueError as exc:
        print(f"energimon report solar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    for line in console_lines(files, month, lang()):
        print(line)
    for p in files.paths():
        print(t(f"skrev {p}", f"wrote {p}"))
    return 0


def console_lines(files, month, language: str = "en") -> list[str]:
    """One line per site for the terminal: the month's KPIs, or "–" and why (never "nan" or a 0 for missing)."""
    import datetime as dt

    from energimon.analytics.report.numbers import fmt_number, fmt_percent
    from energimon.analytics.report.solar_report import status_reason
    from energimon.analytics.solar.kpis import month_row

    da = language == "da"
    lines = []
    if files.preliminary:
        last = files.cutoff - dt.timedelta(days=1)
        if files.cutoff > month:
            lines.append(f"foreløbig: {month:%Y-%m} er ikke slut; talt til og med {last.isoformat()}" if da else
                         f"preliminary: {month:%Y-%m} is not over; counted up to and including {last.isoformat()}")
        else:
            lines.append(f"foreløbig: {month:%Y-%m} er lige begyndt; ingen af dens dage er slut endnu" if da else
                         f"preliminary: {month:%Y-%m} has just begun; none of its days is over yet")
    for r in files.results:
        m = month_row(r)
        if r.status(m) != "ok":
            lines.append(f"{r.inputs.site}: – ({status_reason(r, m, language)})")
            continue
        missing = ", ".join(sorted(set(r.not_computable.values())))
        pv, yf = fmt_number(m.pv_kwh, 0, language), fmt_number(m.final_yield_kwh_per_kwp, 1, language)
        scr = fmt_percent(m.self_consumption_ratio, 1, language)
        ssr = fmt_percent(m.self_sufficiency_ratio, 1, language)
        if da:
            lines.append(f"{r.inputs.site}: {pv} kWh fra solceller, {yf} kWh/kWp, egetforbrugsandel {scr}, "
                         f"selvforsyningsgrad {ssr}" + (f" (kan ikke beregnes: {missing})" if missing else ""))
        else:
            lines.append(f"{r.inputs.site}: {pv} kWh PV, {yf} kWh/kWp, self-consumption {scr}, self-sufficiency {ssr}"
                         + (f" (not computable: {missing})" if missing else ""))
    return lines


def solar_summary_for_latest(settings, store, site: str | None = None) -> str | None:
    """The daily solar line for ``energimon latest`` (today so far), or None when no site has PV.

    Never raises: ``latest`` (:func:`energimon.app.commands.cmd_latest`) must keep working when the KPIs
    cannot be computed (the reason is shown).
    """
    from energimon.analytics.report.solar_report import solar_sites, summary_line

    try:
        sites = solar_sites(settings, store.series())
        if site is not None:
            sites = [s for s in sites if s == site]
        if not sites:
            return None
        return summary_line(settings, store, lang=lang(), sites=sites)
    except Exception as exc:  # the table above is what `latest` is for; say why the line is missing
        return t(f"sol: kan ikke beregnes ({type(exc).__name__}: {exc})",
                 f"solar: cannot be computed ({type(exc).__name__}: {exc})")
