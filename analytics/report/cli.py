"""``energimon report``: the command of the shared report pipeline, with ``report savings`` and ``report mail``
(``report solar`` is added by :mod:`energimon.analytics.report.solar_cli`)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from energimon.cliutil import (
    EXIT_FAIL,
    EXIT_USAGE,
    Commands,
    Config,
    config_arg,
    fail,
    group,
    number,
    progress,
    set_lang,
    t,
    unknown,
)


def lang_help() -> str:
    """``--lang`` of a report command (its default differs from the global option's)."""
    return t("sprog for rapporten, dens filer og beskeder (standard: --lang før kommandoen, ellers esco.language)",
             "language of the report, its files and messages (default: --lang before the command, else esco.language)")


def report_commands(commands: Commands) -> Commands:
    """The subcommands of ``report`` (``savings``, ``solar``, ``mail`` …), created on first use."""
    return group(commands, "report", dest="report", metavar="REPORT",
                 help=t("skriv månedsrapporter (ESCO-besparelse, solceller) som PDF, CSV og XLSX, eller send dem",
                        "write monthly reports (ESCO savings, solar) as PDF, CSV and XLSX, or mail them"),
                 description=t(
                     "Skriver en månedsrapport som filer eller sender den: 'savings' skriver ESCO-"
                     "besparelsesrapporten (PDF, CSV og en XLSX-projektmappe), 'solar' solcellerapporten (PDF og "
                     "CSV), 'mail' laver den ene af dem og sender den. Hver skriver én linje pr. bygning og de "
                     "filer, den skrev.",
                     "Write a monthly report as files, or mail it: 'savings' writes the ESCO savings "
                     "report (PDF, CSV and an XLSX workbook), 'solar' the solar report (PDF and CSV), "
                     "'mail' produces either and mails it. Each prints one line per building and the "
                     "files it wrote."))


def register(commands: Commands) -> None:
    """``report savings``."""
    rsub = report_commands(commands)
    s = rsub.add_parser("savings", help=t("ESCO-besparelse (IPMVP Option C, ASHRAE Guideline 14) for én måned",
                                          "ESCO savings (IPMVP Option C, ASHRAE Guideline 14) for one month"),
                        description=t(
                            "Tilpasser hver bygnings baseline (dens model: CalTRACK daglig, TOWT pr. time eller "
                            "månedlige afregninger) på kontraktens baselineperiode og rapporterer den undgåede "
                            "energi, usikkerhed, kroner (fast pris, priser pr. periode eller en fil med timepriser), "
                            "CO2 og garantiregnskabet for måneden: én PDF, CSV og XLSX-projektmappe for porteføljen "
                            "(en side og et ark pr. bygning) og en CSV pr. bygning, i esco.reports_dir eller --out. "
                            "Skriver én linje pr. bygning (månedens besparelse og ASHRAE G14-vurderingen) og de "
                            "skrevne filer.",
                            "Fit each building's baseline (its model: CalTRACK daily, hourly TOWT or "
                            "monthly billing) on the contract's baseline period and report avoided energy, "
                            "uncertainty, DKK (fixed price, prices per period or an hourly price file), CO2 "
                            "and the guarantee ledger for the month: one PDF, CSV and XLSX workbook for the "
                            "portfolio (a page and a sheet per building) and a CSV per building, in "
                            "esco.reports_dir or --out. Prints one line per building (the month's saving "
                            "and its ASHRAE G14 verdict) and the files written."))
    s.set_defaults(handler=cmd_report_savings)
    config_arg(s)
    s.add_argument("--month", required=True, help=t("måneden, ÅÅÅÅ-MM (dansk kalender)",
                                                    "the month, YYYY-MM (local calendar)"))
    s.add_argument("--site", action="append",
                   help=t("kun denne bygning (kan gentages): en i [esco.sites] eller med tiltag i [[esco.measures]] "
                          "(standard: alle); filernes navne får bygningernes id efter måneden "
                          "(besparelse-ÅÅÅÅ-MM_<bygning>.pdf), så rapporten for alle bygninger ikke erstattes",
                          "only this site (repeatable): one in [esco.sites] or with measures in [[esco.measures]] "
                          "(default: all); the files' names carry the sites' ids after the month "
                          "(savings-YYYY-MM_<site>.pdf), so the report of every site is not replaced"))
    s.add_argument("--out", type=Path, help=t("mappe til filerne (standard: esco.reports_dir)",
                                              "folder for the files (default: esco.reports_dir)"))
    s.add_argument("--lang", choices=("da", "en"), default=argparse.SUPPRESS, help=lang_help())
    s.add_argument("--sep", help=t("CSV-adskiller (standard ';' på dansk, ',' på engelsk)",
                                   "CSV separator (default ';' in Danish, ',' in English)"))
    s.add_argument("--per-site-pdf", action="store_true",
                   help=t("skriv også én PDF pr. bygning (porteføljens PDF har alligevel en side pr. bygning)",
                          "also write one PDF per building (the portfolio PDF has a page per building anyway)"))
    s.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help=t("processer der beregner bygninger samtidig (standard: antal CPU'er)",
                          "processes evaluating buildings in parallel (default: number of CPUs)"))
    dc = s.add_mutually_exclusive_group()
    dc.add_argument("--decimal-comma", dest="decimal_comma", action="store_true", default=None,
                    help=t("tal i CSV som 1234,5 (standard på dansk)", "CSV numbers as 1234,5 (default in Danish)"))
    dc.add_argument("--decimal-point", dest="decimal_comma", action="store_false",
                    help=t("tal i CSV som 1234.5", "CSV numbers as 1234.5"))
def register_mail(commands: Commands) -> None:
    """``report mail`` (registered after every report, so ``energimon report --help`` lists it last)."""
    # report.mailing.KINDS, not imported: it brings in email.*, which --help and check-config do not need
    # (bench/startup.py); tests/test_startup_imports.py checks the two agree
    KINDS = ("savings", "solar")

    m = report_commands(commands).add_parser(
        "mail", help=t("lav en månedsrapport og send den (én gang pr. måned og modtagerliste)",
                       "produce a monthly report and mail it (once per month and recipient list)"),
        description=t(
            "Laver besparelses- eller solcellerapporten for --month og sender den til modtagerne ([smtp.reports] "
            "eller esco.recipients, eller --to) gennem postkøen og prøver at levere den med det samme; dæmonen "
            "prøver igen, hvis serveren er nede. En måned der allerede er sendt til de samme modtagere, sendes ikke "
            "igen. En måned der ikke er slut, afvises uden --preliminary (så står der foreløbig i mailen). Dæmonen "
            "gør det selv for hver måned, der er klar. Skriver hvad der blev lagt i kø, og hvor mange mails der "
            "blev sendt.",
            "Produce the savings or solar report for --month and mail it to its recipients ([smtp.reports] "
            "or esco.recipients, or --to) through the mail outbox, then try to deliver it now; the daemon "
            "retries if the server is down. A month already mailed to the same recipients is not mailed "
            "again. A month that is not over is refused unless --preliminary (then the mail says "
            "foreløbig). The daemon does this by itself for every month that is due. Prints what was "
            "queued and how many mails were sent."))
    m.set_defaults(handler=cmd_report_mail)
    config_arg(m)
    m.add_argument("kind", choices=KINDS, help=t("hvilken rapport", "which report"))
    m.add_argument("--month", required=True, help=t("måneden, ÅÅÅÅ-MM (dansk kalender)",
                                                    "the month, YYYY-MM (local calendar)"))
    m.add_argument("--preliminary", action="store_true", help=t("tillad en måned der ikke er slut (mærket foreløbig)",
                                                                "allow a month that is not over (marked foreløbig)"))
    m.add_argument("--to", action="append", metavar="ADDRESS",
                   help=t("modtager i stedet for de konfigurerede (kan gentages)",
                          "recipient instead of the configured ones (repeatable)"))


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
    if files.measures:  # IPMVP Option B measures, each a part of its building's line or counted on its own
        from energimon.analytics.report.measures_section import console_lines as measure_lines

        lines += measure_lines(files.measures, files.results, month, lang)
    return lines


def cmd_report_savings(args: argparse.Namespace, config: Config) -> int:
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.calendar import parse_month
    from energimon.store import open_store

    settings = config.settings()
    try:
        month = parse_month(args.month)
        if settings.esco is None:
            raise ValueError(t("konfigurationen har ingen [esco]-tabel (se config/energimon.example.toml)",
                               "the configuration has no [esco] table (see config/energimon.example.toml)"))
        if args.sep is not None and len(args.sep) != 1:
            raise ValueError(t("--sep skal være ét tegn", "--sep must be one character"))
        known = settings.esco.report_sites  # a building without an Option C baseline or a measure has no savings
        for site in args.site or []:
            if site not in known:
                raise ValueError(unknown("site", site, known) + t(" i [esco.sites] eller [[esco.measures]]",
                                                                  " in [esco.sites] or [[esco.measures]]"))
    except ValueError as exc:
        print(f"energimon report savings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    lang = set_lang(getattr(args, "lang", None) or settings.esco.language)
    store = open_store(settings.store, readonly=True)
    try:
        files = generate_savings_report(settings, store, month, args.site, args.out, lang, args.sep,
                                        args.decimal_comma, progress, workers=args.workers,
                                        per_site_pdf=args.per_site_pdf)
    except ValueError as exc:
        print(f"energimon report savings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    for line in console_lines(files, month, lang):
        print(line)
    for p in files.paths():
        print(t(f"skrev {p}", f"wrote {p}"))
    return 0


def cmd_report_mail(args: argparse.Namespace, config: Config) -> int:
    from energimon.analytics.report.schedule import deliver_report
    from energimon.calendar import parse_month
    from energimon.mail.outbox import MailDB
    from energimon.mail.service import Mailer, mail_db_path
    from energimon.store import open_store

    prog = "energimon report mail"
    settings = config.settings()
    if settings.smtp is None:
        return fail(prog, t("konfigurationen har ingen [smtp]-tabel", "the configuration has no [smtp] table"),
                    EXIT_USAGE)
    try:
        month = parse_month(args.month)
    except ValueError as exc:
        return fail(prog, str(exc), EXIT_USAGE)
    now = dt.datetime.now(tz=dt.UTC)
    with MailDB(mail_db_path(settings)) as db:
        try:
            outcome = deliver_report(settings, args.kind, month, db, now,
                                     lambda: open_store(settings.store, readonly=True), args.preliminary, args.to)
        except ValueError as exc:
            return fail(prog, str(exc), EXIT_USAGE)
        print(f"{args.kind} {args.month}: {outcome}")
        result = Mailer(settings.smtp, db).deliver(db, now)
    if result.failed:
        why = (result.errors or ["?"])[0]
        waiting, path = number(result.waiting), mail_db_path(settings)
        print(t(f"ikke sendt nu ({why}); {waiting} mail(s) venter i {path}, og "
                "dæmonen prøver igen",
                f"not delivered now ({why}); {waiting} mail(s) wait in {path} "
                "and the daemon retries"), file=sys.stderr)
        return EXIT_FAIL
    print(t(f"mails sendt {number(result.sent)}, venter {number(result.waiting)}",
            f"mails sent {number(result.sent)}, waiting {number(result.waiting)}"))
    return 0
