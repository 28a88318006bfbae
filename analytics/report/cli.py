"""``energimon report savings``: the handler behind the CLI (imported lazily by energimon.app.cli)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

EXIT_USAGE = 64


def add_report_parser(sub, config_arg) -> None:
    """Add ``report`` with its ``savings`` subcommand to the CLI's subparsers."""
    p = sub.add_parser("report", help="write monthly reports (ESCO savings) as PDF, CSV and XLSX",
                       description="Write a monthly report as PDF, CSV and XLSX files.")
    rsub = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    s = rsub.add_parser("savings", help="ESCO savings (IPMVP Option C, ASHRAE Guideline 14) for one month",
                        description="Fit each building's baseline (its model: CalTRACK daily, hourly TOWT or "
                                    "monthly billing) on the contract's baseline period and report avoided energy, "
                                    "uncertainty, DKK (fixed price, prices per period or an hourly price file), CO2 "
                                    "and the guarantee ledger for the month: one PDF, CSV and XLSX workbook for the "
                                    "portfolio (a page and a sheet per building) and a CSV per building, in "
                                    "esco.reports_dir or --out.")
    s.set_defaults(handler=cmd_report_savings)
    config_arg(s)
    s.add_argument("--month", required=True, help="the month, YYYY-MM (local calendar)")
    s.add_argument("--site", action="append", help="only this site (repeatable; default: every site in [esco.sites])")
    s.add_argument("--out", type=Path, help="folder for the files (default: esco.reports_dir)")
    s.add_argument("--lang", choices=("da", "en"), help="language (default: esco.language, Danish)")
    s.add_argument("--sep", help="CSV separator (default ';' in Danish, ',' in English)")
    s.add_argument("--per-site-pdf", action="store_true",
                   help="also write one PDF per building (the portfolio PDF has a page per building anyway)")
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes evaluating buildings in parallel (default: number of CPUs)")
    dc = s.add_mutually_exclusive_group()
    dc.add_argument("--decimal-comma", dest="decimal_comma", action="store_true", default=None,
                    help="CSV numbers as 1234,5 (default in Danish)")
    dc.add_argument("--decimal-point", dest="decimal_comma", action="store_false", help="CSV numbers as 1234.5")


def console_lines(files, month, lang: str = "en") -> list[str]:
    """One line per building for the terminal, in the report's language: the saving and what it shows (ASHRAE
    G14 verdict); a month without enough data says why instead of a number."""
    from energimon.analytics.report.i18n import ABOUT, tr
    from energimon.analytics.report.numbers import fmt_number, fmt_pm
    from energimon.analytics.report.savings_report import status_reason, verdict_word

    da = lang == "da"
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
        if not r.month:
            lines.append(f"{r.site}: {tr('no_result', lang, why=r.error)}")
            continue
        p = r.month
        word, why = (ABOUT["g14_none"][lang], "") if r.g14_ok is None else verdict_word(r, lang)
        if p.status != "ok":
            lines.append(f"{r.site}: {month:%Y-%m}: – ({status_reason(p, r.granularity, lang)}); ASHRAE G14: {word}")
            continue
        lines.append(tr("console_line", lang, site=r.site, s=fmt_number(p.savings_kwh, 0, lang),
                        u=fmt_pm(p.uncertainty_90_kwh, 0, lang), month=f"{month:%Y-%m}", word=word,
                        why=f" — {why}" if why else ""))
    return lines


def cmd_report_savings(args) -> int:
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.calendar import parse_month
    from energimon.config.settings import load_settings
    from energimon.store import open_store

    settings = load_settings(args.config)
    try:
        month = parse_month(args.month)
        if settings.esco is None:
            raise ValueError("the configuration has no [esco] table (see config/energimon.example.toml)")
        if args.sep is not None and len(args.sep) != 1:
            raise ValueError("--sep must be one character")
    except ValueError as exc:
        print(f"energimon report savings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(settings.store, readonly=True)

    def progress(i: int, n: int, site: str) -> None:
        print(f"\r[{i}/{n}] {site:<40}", end="" if i < n else "\n", file=sys.stderr, flush=True)

    try:
        files = generate_savings_report(settings, store, month, args.site, args.out, args.lang, args.sep,
                                        args.decimal_comma, progress, workers=args.workers,
                                        per_site_pdf=args.per_site_pdf)
    except ValueError as exc:
        print(f"energimon report savings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    for line in console_lines(files, month, args.lang or settings.esco.language):
        print(line)
    print(f"wrote {files.pdf}\nwrote {files.csv}\nwrote {files.xlsx}")
    for p in [*files.site_csvs, *files.site_pdfs]:
        print(f"wrote {p}")
    return 0
