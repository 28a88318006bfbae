"""The application's own commands: ``run``, ``demo``, ``check-config``, ``status`` and ``latest``.

``status`` and ``latest`` are the application's because they put several owners' views side by side (the
store, the spool, the collectors' state files, alerting, mail, the job-run log; the store's latest
readings with the solar line of today).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energimon.cliutil import EXIT_CONFIG, EXIT_USAGE, Commands, Config, config_arg, fail, number, t, unknown


def register(commands: Commands) -> None:
    p = commands.add_parser("run", help=t("kør dæmonen (opsamlere, spool, lager, planlagte job)",
                                          "run the daemon (collectors, spool, store, scheduler)"),
                            description=t(
                                "Kører dæmonen indtil SIGTERM/SIGINT: opsamlere, spool, lager og de planlagte job "
                                "(alarmer, rapporter, kilder). Skriver sin log, én hændelse pr. linje, på stdout.",
                                "Run the daemon until SIGTERM/SIGINT: collectors, spool, store and the "
                                "scheduled jobs (alerts, reports, sources). Prints its log, one event per "
                                "line, to stdout."))
    p.set_defaults(handler=cmd_run)
    config_arg(p)

    p = commands.add_parser("demo", help=t("kør hele kæden på simulerede bygninger i Sorø",
                                           "run the whole pipeline on simulated Sorø buildings"),
                            description=t(
                                "Starter simulerede målere for Sorø Rådhus, Stenlille hallen og Dianalund "
                                "Bibliotek og kører dæmonen med det indbyggede lager. Skriver hvor konfigurationen, "
                                "lageret og webappen er, og derefter en tabel med de seneste målinger: tegnet om på "
                                "stedet i en terminal, ellers skrevet igen, når den ændrer sig.",
                                "Start simulated meters for Sorø Rådhus, Stenlille hallen and Dianalund "
                                "Bibliotek and run the daemon with the embedded store. Prints where the "
                                "config, store and web app are, then a table of the latest readings: "
                                "redrawn in place on a terminal, otherwise printed again when it changed."))
    p.set_defaults(handler=cmd_demo)
    p.add_argument("--dir", default="energimon-demo", type=Path,
                   help=t("mappe til demoens konfiguration, spool og lager (standard: ./energimon-demo)",
                          "folder for the demo's config, spool and store (default: ./energimon-demo)"))
    p.add_argument("--seconds", type=float, default=None,
                   help=t("stop efter så mange sekunder (standard: kør indtil Ctrl-C)",
                          "stop after this many seconds (default: run until Ctrl-C)"))
    p.add_argument("--interval", type=float, default=5.0, help=t("aflæsningsinterval i sekunder (standard: 5)",
                                                                 "poll interval in seconds (default: 5)"))
    p.add_argument("--history-days", type=int, default=0, metavar="N",
                   help=t("skriv først N dages simuleret historik (net- og solcelletællere), så rapporter som "
                          "'energimon report solar --month' har data (standard: 0)",
                          "first write N days of simulated history (grid and PV counters), so reports such as "
                          "'energimon report solar --month' have data (default: 0)"))
    p.add_argument("--fault", action="append", default=[], choices=("afkoeling", "vandlaekage"),
                   help=t("indlæg en fejl på rådhuset fra 4 døgn tilbage (med --history-days: alarmen kommer med det "
                          "samme): afkoeling (dårlig afkøling af fjernvarmen) eller vandlaekage (en løbende cisterne); "
                          "kan gentages. En senere kørsel uden den retter fejlen",
                          "inject a fault at the town hall from 4 days back (with --history-days the alarm comes at "
                          "once): afkoeling (poor district heating cooling) or vandlaekage (a running cistern); may "
                          "be repeated. A later run without it repairs the fault"))
    p.add_argument("--esco", action="store_true",
                   help=t("skriv kun ESCO-demoen i --dir og afslut (intet kører live): timeeksporter fra "
                          "Eloverblik/DataHub for de tre bygninger (et baselineår og 6 måneder med en kendt "
                          "besparelse, til og med sidste måned), en CSV med udetemperatur og [esco]/[datahub]-"
                          "konfigurationen; skriver import- og 'report savings'-kommandoerne, der skal køres bagefter",
                          "only write the ESCO demo into --dir and exit (nothing runs live): Eloverblik/DataHub "
                          "hourly exports for the three sites (a baseline year and 6 months with a known saving, "
                          "up to the end of last month), an outdoor-temperature CSV and the [esco]/[datahub] "
                          "config; prints the import and 'report savings' commands to run next"))

    p = commands.add_parser("check-config", help=t("kontrollér en konfigurationsfil", "validate a configuration file"),
                            description=t(
                                "Kontrollerer konfigurationen (offline: intet kontaktes); skriver alle problemer på "
                                "én gang med linje (eller miljøvariabel), nøglesti og hvad der var ventet. "
                                "Afslutter med 0 når den er gyldig, 2 når ikke.",
                                "Validate the configuration (offline: nothing is contacted); print every "
                                "problem at once with its line (or environment variable), key path and "
                                "what was expected. Exit 0 when valid, 2 when not."))
    p.set_defaults(handler=cmd_check_config)
    p.add_argument("file", nargs="?", help=t("konfigurationsfil (samme standard som --config)",
                                             "configuration file (same default as --config)"))
    config_arg(p)

    p = commands.add_parser("latest", help=t("seneste værdi for hver serie", "last value of every series"),
                            description=t(
                                "Skriver en tabel med den seneste måling for hver serie i lageret (bygning, "
                                "apparat, kanal, værdi, enhed, dansk tid, alder) og dagens solcellelinje "
                                "(produktion, egetforbrug, selvforsyning) for bygninger med solceller.",
                                "Print a table of the last reading of every series in the store (site, "
                                "device, channel, value, unit, local time, age), and today's solar line "
                                "(production, self-consumption, self-sufficiency) for sites with PV."))
    p.set_defaults(handler=cmd_latest)
    config_arg(p)
    p.add_argument("--site", help=t("kun denne bygning", "only this site"))

    p = commands.add_parser("status", help=t("lager, spool, apparater online, seneste måling pr. bygning, åbne "
                                             "alarmer",
                                             "store, spool, devices online, last reading per site, open alerts"),
                            description=t(
                                "Skriver hver dels tilstand, en blok hver: lageret (kan nås, logget ind, "
                                "serverversion, skrivemåde), spoolens kø og afviste input, apparater online, "
                                "seneste måling pr. bygning, apparaternes identitet, MQTT, åbne alarmer, postkøen, "
                                "live-kilder og de planlagte job (sidste og næste kørsel). Afslutter med 0 når "
                                "lageret kan bruges, 1 når ikke.",
                                "Print each part's state, one block each: the store (reachable, "
                                "authenticated, server version, write mode), the spool backlog and dead "
                                "letters, devices online, the last reading per site, device identities, "
                                "MQTT, open alerts, the mail outbox, live sources and the scheduled jobs "
                                "(last and next run). Exit 0 when the store is usable, 1 when not."))
    p.set_defaults(handler=cmd_status)
    config_arg(p)


def cmd_check_config(args: argparse.Namespace, config: Config) -> int:
    from energimon.config.settings import config_path, config_warnings, load_settings
    from energimon.security import secret_file_warnings

    path = config_path(args.file or args.config)
    for warning in secret_file_warnings(path):  # secrets readable by every user: warn, valid or not
        print(t(f"ADVARSEL: {warning}", f"WARNING: {warning}"), file=sys.stderr)
    settings = load_settings(path, data_paths=True)  # ConfigError -> printed by main, exit 2
    for warning in config_warnings(settings):
        print(t(f"ADVARSEL: {warning}", f"WARNING: {warning}"), file=sys.stderr)
    n_dev = len(settings.devices)
    store = (settings.store.influxdb.describe() if settings.store.kind == "influxdb" and settings.store.influxdb
             else f"{settings.store.kind} {t('i', 'at')} {settings.store.path}")
    mqtt = settings.mqtt
    print(t(f"{path}: OK — {len(settings.sites)} bygninger, {n_dev} apparater, lager {store}, "
            f"spool i {settings.spool.path}"
            + (f", MQTT-broker {mqtt.host} med {len(mqtt.subscriptions)} abonnementer" if mqtt else ""),
            f"{path}: OK — {len(settings.sites)} sites, {n_dev} devices, store {store}, "
            f"spool at {settings.spool.path}"
            + (f", MQTT broker {mqtt.host} with {len(mqtt.subscriptions)} subscriptions" if mqtt else "")))
    return 0


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """The daemon.  A start-up failure is one line and exit 2 (the unit's RestartPreventExitStatus): a restart
    every 10 s cannot fix a path that is not a file; the technician fixes it and starts again."""
    import asyncio
    import logging

    from energimon.app.daemon import Daemon, StartupError
    from energimon.config.settings import config_warnings
    from energimon.logs import setup_logging
    from energimon.security import install_log_redaction, log_secret_file_warnings

    settings = config.settings(data_paths=True)
    setup_logging(settings.log.level)
    install_log_redaction()
    log_secret_file_warnings(config.path)
    for warning in config_warnings(settings):
        logging.getLogger("energimon.config").warning("%s", warning)
    try:
        return asyncio.run(Daemon(settings).run())
    except StartupError as exc:
        # the daemon's words stay English whatever the language: this line lands in journald next to the
        # daemon's log lines, where operators and their greps look for "cannot start"
        return fail("energimon run", f"cannot start: {exc} (fix it, check with 'energimon check-config', start "
                    "again)", EXIT_CONFIG)


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from energimon.app.demo import run_demo
    from energimon.logs import setup_logging

    if args.esco:
        if args.history_days or args.seconds is not None:
            print(t("energimon demo: --esco skriver kun ESCO-filerne og afslutter; start den levende demo for sig "
                    "(energimon demo --history-days N)",
                    "energimon demo: --esco only writes the ESCO files and exits; start the live demo on its own "
                    "(energimon demo --history-days N)"), file=sys.stderr)
            return EXIT_USAGE
        from energimon.app.demo_esco import prepare_esco_demo

        return prepare_esco_demo(args.dir.resolve())

    setup_logging("WARNING")
    return asyncio.run(run_demo(args.dir.resolve(), args.seconds, args.interval, history_days=args.history_days,
                                faults=tuple(args.fault)))


def cmd_latest(args: argparse.Namespace, config: Config) -> int:
    import pandas as pd

    from energimon.analytics.report.solar_cli import solar_summary_for_latest
    from energimon.model import CHANNELS, LOCAL_TZ
    from energimon.store import open_store

    settings = config.settings()
    store = open_store(settings.store, readonly=True)  # StoreError when missing or unreachable: main says so
    try:
        df = store.latest()
        if args.site and args.site not in settings.sites and args.site not in set(df["site"]):
            return fail("energimon latest", unknown("site", args.site, [*settings.sites, *df["site"]]), EXIT_USAGE)
        # today's solar line (production, egetforbrug, selvforsyningsgrad) under the table
        solar_line = solar_summary_for_latest(settings, store, args.site)
    finally:
        store.close()
    if args.site:
        df = df[df["site"] == args.site]
    if df.empty:
        print(t(f"ingen målinger fra {args.site} i lageret endnu", f"no readings of site {args.site} in the store yet")
              if args.site else t("ingen målinger i lageret endnu", "no readings in the store yet"))
        return 0
    now = pd.Timestamp.now(tz="UTC")
    rows = [(t("bygning", "site"), t("apparat", "device"), t("kanal", "channel"), t("værdi", "value"),
             t("enhed", "unit"), t("tid (dansk tid)", "time (Danish time)"), t("alder", "age"))]
    for site, device, channel, value, when in zip(df["site"].astype(str), df["device"].astype(str),
                                                  df["channel"].astype(str), df["value"], pd.DatetimeIndex(df["time"]),
                                                  strict=True):
        rows.append((site, device, channel, number(float(value), 3), CHANNELS[channel].unit,
                     when.tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"), _age((now - when).total_seconds())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        print("  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    if solar_line:
        print(f"\n{solar_line}")
    return 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{number(seconds)} s"
    if seconds < 7200:
        return f"{number(seconds / 60)} min"
    if seconds < 172800:
        return f"{number(seconds / 3600)} {t('t', 'h')}"
    return f"{number(seconds / 86400)} {t('d', 'd')}"


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    from energimon.app.status import print_status

    return 0 if print_status(config.settings()) else 1
