"""The ``energimon`` command line."""

from __future__ import annotations

import argparse
import asyncio
import csv
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from energimon import __version__
from energimon.config.settings import ConfigError, config_path, load_settings
from energimon.model import CHANNELS, LOCAL_TZ, Kind, SeriesKey

EXIT_FAIL = 1  # the command could not do its work (store unreachable, file unreadable, …)
EXIT_CONFIG = 2  # invalid configuration, or `run` could not start: the systemd unit does not restart on 2
EXIT_USAGE = 64  # a wrong argument (unknown series or site, bad date), as in sysexits.h
EXIT_SOFTWARE = 70  # a bug: an unexpected exception (sysexits.h EX_SOFTWARE)


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c", "--config", metavar="FILE",
        help="configuration file (default: $ENERGIMON_CONFIG or /etc/energimon/energimon.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="energimon",
        description="Building energy monitoring: reads meters and inverters, keeps every reading.",
    )
    parser.add_argument("--version", action="version", version=f"energimon {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an unexpected error show Python's traceback (for a bug report) instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("run", help="run the daemon (collectors, spool, store, scheduler)",
                       description="Run the daemon until SIGTERM/SIGINT; logs one event per line to stdout.")
    p.set_defaults(handler=cmd_run)
    _config_arg(p)

    p = sub.add_parser("demo", help="run the whole pipeline on simulated Sorø buildings",
                       description="Start simulated meters for Sorø Rådhus, Stenlille hallen and Dianalund "
                                   "Bibliotek, run the daemon with the embedded store and show readings.")
    p.set_defaults(handler=cmd_demo)
    p.add_argument("--dir", default="energimon-demo", type=Path,
                   help="folder for the demo's config, spool and store (default: ./energimon-demo)")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--interval", type=float, default=5.0, help="poll interval in seconds (default: 5)")
    p.add_argument("--history-days", type=int, default=0, metavar="N",
                   help="first write N days of simulated history (grid and PV counters), so reports such as "
                        "'energimon report solar --month' have data (default: 0)")
    p.add_argument("--esco", action="store_true",
                   help="only write the ESCO demo into --dir and exit (nothing runs live): Eloverblik/DataHub "
                        "hourly exports for the three sites (a baseline year and 6 months with a known saving, "
                        "up to the end of last month), an outdoor-temperature CSV and the [esco]/[datahub] "
                        "config; prints the import and 'report savings' commands to run next")

    p = sub.add_parser("check-config", help="validate a configuration file",
                       description="Validate the configuration (offline: nothing is contacted); print every "
                                   "problem at once with its line (or environment variable), key path and what "
                                   "was expected. Exit 0 when valid, 2 when not.")
    p.set_defaults(handler=cmd_check_config)
    p.add_argument("file", nargs="?", help="configuration file (same default as --config)")
    _config_arg(p)

    p = sub.add_parser("latest", help="last value of every series",
                       description="Print the last reading of every series in the store.")
    p.set_defaults(handler=cmd_latest)
    _config_arg(p)
    p.add_argument("--site", help="only this site")

    p = sub.add_parser("export", help="one series to CSV",
                       description="Write one series as CSV: raw readings, aggregates per window, or energy "
                                   "per window from a counter (--energy).")
    p.set_defaults(handler=cmd_export)
    _config_arg(p)
    p.add_argument("series", help="site/device/channel, e.g. soro-raadhus/hovedmaaler/power_w")
    p.add_argument("--start", help="start (local time, e.g. 2026-11-01 or 2026-11-01T06:00; default: 24 h ago)")
    p.add_argument("--end", help="end, exclusive (same format; default: now)")
    p.add_argument("--window", help="aggregate per window: 1min 5min 10min 15min 30min 1h day week month year")
    p.add_argument("--agg", default="mean", help="aggregate: mean min max last sum count (default: mean)")
    p.add_argument("--energy", action="store_true",
                   help="energy per window from a counter channel (differences; resets and gaps flagged)")
    p.add_argument("--sep", default=",", help="field separator (default ','; Excel in Danish: ';')")
    p.add_argument("--decimal-comma", action="store_true", help="write 1234,5 instead of 1234.5")
    p.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")

    p = sub.add_parser("probe", help="read a Modbus device once and show who it is and every value (read-only)",
                       description="Commissioning aid: read HOST[:PORT] once with a profile or SunSpec discovery "
                                   "and print the device's identity (manufacturer, model, serial number) and "
                                   "channel, value, unit and raw registers, one line per problem. Sends read "
                                   "requests only.")
    p.set_defaults(handler=cmd_probe)
    p.add_argument("target", metavar="HOST[:PORT]", help="Modbus TCP device or gateway (port default 502)")
    p.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sunspec", action="store_true", help="discover SunSpec models (base 40000, 0, 50000)")
    how.add_argument("--profile", help="a device profile, e.g. eastron.sdm630")
    p.add_argument("--scan-units", action="store_true", help="try the common unit ids 1, 2, 3, 126, 247")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per request (default 3)")
    p.add_argument("--debug", action="store_true",
                   help="also log every request and answer frame (hex) and pymodbus' messages, to stdout")

    p = sub.add_parser("simulate", help="serve the simulated Sorø devices over Modbus TCP",
                       description="Serve the simulated main meters and SunSpec PV inverters of Sorø Rådhus, "
                                   "Stenlille hallen and Dianalund Bibliotek until Ctrl-C (commissioning "
                                   "training, trying probe).")
    p.set_defaults(handler=cmd_simulate)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5020,
                   help="first port; meters then inverters on consecutive ports (default 5020)")

    p = sub.add_parser("deadletters", help="input that could not become readings, with why",
                       description="List the spool's dead letters, newest first: bad MQTT payloads (raw), "
                                   "invalid readings and readings the store refused, each with its reason.")
    p.set_defaults(handler=cmd_deadletters)
    _config_arg(p)
    p.add_argument("--limit", type=int, default=50, help="show at most this many (default 50)")
    p.add_argument("--subject", help="only entries whose subject (MQTT topic or series) contains this text")
    p.add_argument("--full", action="store_true", help="show whole payloads (default: first 120 characters)")

    p = sub.add_parser("status", help="store, spool, devices online, last reading per site, open alerts",
                       description="Check the configured store (reachable, authenticated, server version, write "
                                   "mode) and show the spool backlog and dead letters. Exit 0 when the store is "
                                   "usable, 1 when not.")
    p.set_defaults(handler=cmd_status)
    _config_arg(p)

    p = sub.add_parser("store", help="store maintenance: copy history between stores",
                       description="Store maintenance.")
    store_sub = p.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)
    p = store_sub.add_parser(
        "copy", help="copy every series from one store to another (idempotent, with progress)",
        description="Copy every series from one store to another, e.g. an embedded-store history into InfluxDB "
                    "before switching store.kind. Idempotent: running it again overwrites the same points. "
                    "Stores: 'sqlite' (the configured store.path), 'sqlite:PATH', 'influx' (the configured "
                    "[store.influxdb] table, whatever store.kind says).")
    p.set_defaults(handler=cmd_store_copy)
    _config_arg(p)
    p.add_argument("--from", dest="source", required=True, metavar="STORE", help="sqlite | sqlite:PATH | influx")
    p.add_argument("--to", dest="target", required=True, metavar="STORE", help="sqlite | sqlite:PATH | influx")
    p.add_argument("--batch", type=int, default=5000, help="readings per write (default 5000)")
    # `report savings` and `import`: parsers and handlers live with the analytics/importer (light modules;
    # matplotlib, scipy and pandas work are imported only when a command runs)
    from energimon.analytics.report.cli import add_report_parser
    from energimon.collector.importer.cli import add_import_parser

    add_report_parser(sub, _config_arg)
    add_import_parser(sub, _config_arg)
    from energimon.analytics.report.solar_cli import add_solar_report_parser  # `report solar` (pvlib imported lazily)

    add_solar_report_parser(sub, _config_arg)
    from energimon.collector.sources.cli import add_sources_parser  # `sources` (httpx imported when one runs)

    add_sources_parser(sub, _config_arg)
    from energimon.analytics.report.mailing import add_report_mail_parser  # `report mail`

    add_report_mail_parser(sub, _config_arg)

    p = sub.add_parser("test-mail", help="send one test mail through the configured mail transport",
                       description="Send a test mail (Danish letters in subject and body) with the [smtp] settings "
                                   "(SMTP, XOAUTH2 or Microsoft Graph) to --to or smtp.fallback_recipients, showing "
                                   "each step (token, connect, auth, send) and which one failed. Exit 0 when the "
                                   "server accepted it.")
    p.set_defaults(handler=cmd_test_mail)
    _config_arg(p)
    p.add_argument("--to", action="append", metavar="ADDRESS", help="recipient (repeatable)")

    p = sub.add_parser("alerts", help="list, acknowledge, snooze and mute alerts",
                       description="The alert state of the facility managers' mails (state file: "
                                   "[alerts] state_path).")
    p.set_defaults(handler=cmd_alerts)
    alerts_sub = p.add_subparsers(dest="alerts_command", metavar="ALERTS_COMMAND", required=True)
    a = alerts_sub.add_parser("list", help="active alerts and mutes", description="Active alerts and mutes.")
    _config_arg(a)
    a.add_argument("--all", action="store_true", help="also resolved and dropped alerts")
    a = alerts_sub.add_parser("ack", help="acknowledge: no more reminders (the resolved mail still comes)",
                              description="Acknowledge an alert: no more reminders; a mail still comes when it is "
                                          "resolved.")
    _config_arg(a)
    a.add_argument("id", type=int, help="alert id (in the mail and in 'alerts list')")
    a.add_argument("--by", help="who acknowledged (for the log)")
    a = alerts_sub.add_parser("snooze", help="no mails about one alert for some hours",
                              description="No reminders for an alert for --hours; a reminder follows if it persists.")
    _config_arg(a)
    a.add_argument("id", type=int, help="alert id")
    a.add_argument("--hours", type=float, default=24, help="hours (default 24)")
    a = alerts_sub.add_parser("mute", help="maintenance: no alert mails for a site or device for some hours",
                              description="Maintenance mute: no alert mails for a site (or one device) for --hours. "
                                          "Problems still present afterwards are mailed then.")
    _config_arg(a)
    a.add_argument("site", help="site id")
    a.add_argument("--device", help="only this device")
    a.add_argument("--hours", type=float, default=8, help="hours (default 8)")
    a.add_argument("--reason", help="e.g. 'service på ventilationsanlæg'")
    a = alerts_sub.add_parser("unmute", help="end a mute", description="End a maintenance mute early.")
    _config_arg(a)
    a.add_argument("mute_id", type=int, help="mute id (from 'alerts list')")
    a = alerts_sub.add_parser("run", help="evaluate the rules once now (what the daemon does hourly)",
                              description="Evaluate every rule once, advance the alert lifecycle, queue mails; "
                                          "--send also delivers them.")
    _config_arg(a)
    a.add_argument("--send", action="store_true", help="deliver queued mails now")
    a.add_argument("--now", help=argparse.SUPPRESS)  # simulated time for tests and replays
    return parser


def cmd_test_mail(args) -> int:
    from energimon.mail.cli import cmd_test_mail as handler

    return handler(args)


def cmd_alerts(args) -> int:
    from energimon.analytics.alerting.cli import cmd_alerts as handler

    return handler(args)


def _command_name(args) -> str:
    sub = {"store": "store_command", "report": "report", "import": "format", "alerts": "alerts_command"}
    word = getattr(args, sub.get(args.command, ""), None)
    return f"energimon {args.command}" + (f" {word}" if isinstance(word, str) else "")


def _fail(args, text: str, code: int) -> int:
    """One line on stderr, never a URL's credentials; the exit code."""
    from energimon.security import redact_url_credentials

    print(redact_url_credentials(f"{_command_name(args)}: {text}"), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run a command.  Whatever goes wrong ends in one line on stderr and an exit code, never a traceback
    (unless ``--traceback`` asks for one): 1 the command failed (store, files), 2 configuration (or the daemon
    could not start), 64 a wrong argument, 70 a bug."""
    import sqlite3

    from energimon.store.base import StoreError

    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except StoreError as exc:
        return _fail(args, str(exc), EXIT_FAIL)
    except sqlite3.Error as exc:  # a state file (spool, alerts, jobs) that is damaged or not SQLite
        return _fail(args, f"SQLite: {exc}", EXIT_FAIL)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(args, f"{where}{exc.strerror or exc}", EXIT_FAIL)
    except Exception as exc:
        from energimon.app.daemon import StartupError  # imported only here: it brings the scheduler and pymodbus

        if isinstance(exc, StartupError):  # e.g. the demo's daemon
            return _fail(args, f"cannot start: {exc}", EXIT_CONFIG)
        if args.traceback:
            raise
        from energimon.app.jobruns import error_text

        return _fail(args, f"unexpected error ({error_text(exc)}); run it again with 'energimon --traceback …' and "
                           "report the output", EXIT_SOFTWARE)


def cmd_check_config(args) -> int:
    path = config_path(args.file or args.config)
    from energimon.security import secret_file_warnings

    for warning in secret_file_warnings(path):  # secrets readable by every user: warn, valid or not
        print(f"WARNING: {warning}", file=sys.stderr)
    settings = load_settings(path, data_paths=True)  # ConfigError -> printed by main, exit 2
    from energimon.config.settings import config_warnings

    for warning in config_warnings(settings):
        print(f"WARNING: {warning}", file=sys.stderr)
    n_dev = len(settings.devices)
    store = (settings.store.influxdb.describe() if settings.store.kind == "influxdb" and settings.store.influxdb
             else f"{settings.store.kind} at {settings.store.path}")
    print(f"{path}: OK — {len(settings.sites)} sites, {n_dev} devices, store {store}, "
          f"spool at {settings.spool.path}"
          + (f", MQTT broker {settings.mqtt.host} with {len(settings.mqtt.subscriptions)} subscriptions"
             if settings.mqtt else ""))
    return 0


def cmd_run(args) -> int:
    """The daemon.  A start-up failure is one line and exit 2 (the unit's RestartPreventExitStatus): a restart
    every 10 s cannot fix a path that is not a file; the technician fixes it and starts again."""
    import logging

    from energimon.app.daemon import Daemon, StartupError
    from energimon.config.settings import config_warnings
    from energimon.logs import setup_logging
    from energimon.security import install_log_redaction, log_secret_file_warnings

    settings = load_settings(args.config, data_paths=True)
    setup_logging(settings.log.level)
    install_log_redaction()
    log_secret_file_warnings(config_path(args.config))
    for warning in config_warnings(settings):
        logging.getLogger("energimon.config").warning("%s", warning)
    try:
        return asyncio.run(Daemon(settings).run())
    except StartupError as exc:
        return _fail(args, f"cannot start: {exc} (fix it, check with 'energimon check-config', start again)",
                     EXIT_CONFIG)


def cmd_demo(args) -> int:
    from energimon.app.demo import run_demo
    from energimon.logs import setup_logging

    if args.esco:
        if args.history_days or args.seconds is not None:
            print("energimon demo: --esco skriver kun ESCO-filerne og afslutter; start den levende demo for sig "
                  "(energimon demo --history-days N)", file=sys.stderr)
            return 64
        from energimon.app.demo_esco import prepare_esco_demo

        return prepare_esco_demo(args.dir.resolve())

    setup_logging("WARNING")
    return asyncio.run(run_demo(args.dir.resolve(), args.seconds, args.interval, history_days=args.history_days))


def _open_store(args, settings=None):
    """The configured store, read-only (StoreError when it does not exist or cannot be reached: main says so)."""
    from energimon.store import open_store

    settings = settings or load_settings(args.config)
    return open_store(settings.store, readonly=True)


def _unknown(what: str, name: str, known) -> str:
    """``unknown site 'x'; did you mean 'y'? (known: …)`` for an argument naming something that is not there."""
    from energimon.config.validators import closest

    known = sorted(set(known))
    close = closest(name, known)
    hint = f"; did you mean {close!r}?" if close else ""
    listed = ", ".join(known[:20]) + (f", … ({len(known)} in all)" if len(known) > 20 else "")
    return f"unknown {what} {name!r}{hint} (known: {listed or 'none yet'})"


def cmd_latest(args) -> int:
    from energimon.analytics.report.solar_cli import solar_summary_for_latest

    settings = load_settings(args.config)
    store = _open_store(args, settings)
    try:
        df = store.latest()
        if args.site and args.site not in settings.sites and args.site not in set(df["site"]):
            print(f"energimon latest: {_unknown('site', args.site, [*settings.sites, *df['site']])}",
                  file=sys.stderr)
            return EXIT_USAGE
        # today's solar line (production, egetforbrug, selvforsyningsgrad) under the table
        solar_line = solar_summary_for_latest(settings, store, args.site)
    finally:
        store.close()
    if args.site:
        df = df[df["site"] == args.site]
    if df.empty:
        print(f"no readings of site {args.site} in the store yet" if args.site else "no readings in the store yet")
        return 0
    now = pd.Timestamp.now(tz="UTC")
    rows = [("site", "device", "channel", "value", "unit", "time (local)", "age")]
    for r in df.itertuples():
        age = (now - r.time).total_seconds()
        rows.append((r.site, r.device, r.channel, f"{r.value:.3f}", CHANNELS[r.channel].unit,
                     r.time.tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"), _age(age)))
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
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def parse_time(text: str) -> datetime:
    """ISO date or date-time; without a zone it is Danish local time."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read time {text!r}; expected e.g. 2026-11-01 or 2026-11-01T06:00") from None
    return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t


def cmd_export(args) -> int:
    try:
        key = SeriesKey.parse(args.series)
        end = parse_time(args.end) if args.end else datetime.now(tz=LOCAL_TZ)
        start = parse_time(args.start) if args.start else end - timedelta(days=1)
        if args.energy and CHANNELS[key.channel].kind is not Kind.COUNTER:
            raise ValueError(f"--energy needs a counter channel; {key.channel} is not one")
        if args.energy and not args.window:
            raise ValueError("--energy needs --window")
        if len(args.sep) != 1:
            raise ValueError("--sep must be one character")
        if args.decimal_comma and args.sep == ",":
            raise ValueError("--decimal-comma needs another separator, e.g. --sep ';'")
    except ValueError as exc:
        print(f"energimon export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = _open_store(args)
    try:
        known = {f"{r.site}/{r.device}/{r.channel}" for r in store.series().itertuples()}
        if str(key) not in known:  # a misspelt series is an error, not an empty CSV
            print(f"energimon export: {_unknown('series', str(key), known)}", file=sys.stderr)
            return EXIT_USAGE
        if args.energy:
            result = store.energy(key, start, end, args.window)
            df = result.windows
            header = ["window_start", "energy_wh", "coverage", "complete", "resets"]
            rows = [(r.Index.isoformat(), r.energy_wh, r.coverage, r.complete, r.resets) for r in df.itertuples()]
        elif args.window:
            s = store.aggregate(key, start, end, args.window, args.agg)
            header = ["window_start", f"{key.channel}_{args.agg}"]
            rows = [(i.isoformat(), v) for i, v in s.items()]
        else:
            s = store.read(key, start, end)
            header = ["time", key.channel]
            rows = [(i.tz_convert(LOCAL_TZ).isoformat(), v) for i, v in s.items()]
    except ValueError as exc:
        print(f"energimon export: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    out = args.output.open("w", newline="", encoding="utf-8") if args.output else sys.stdout
    try:
        w = csv.writer(out, delimiter=args.sep, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([_cell(v, args.decimal_comma) for v in row])
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)
    return 0


def _cell(v, decimal_comma: bool) -> str:
    if isinstance(v, bool | np.bool_):
        return "1" if v else "0"
    if isinstance(v, float):
        if v != v:  # NaN: missing is an empty cell, never 0
            return ""
        text = repr(round(v, 6))
        return text.replace(".", ",") if decimal_comma else text
    return str(v)


def cmd_probe(args) -> int:
    import logging

    from energimon.collector.modbus.probe import format_rows, parse_target, probe, scan_units
    from energimon.logs import setup_logging

    setup_logging("DEBUG" if args.debug else "ERROR")
    if args.debug:  # setup_logging silences pymodbus; its frame dumps are what --debug is for
        logging.getLogger("pymodbus").setLevel(logging.DEBUG)
    from energimon.collector.modbus.probe import format_info, hint
    from energimon.collector.modbus.profiles import ProfileError, load_profile

    try:
        host, port = parse_target(args.target)
        profile = "sunspec" if args.sunspec else args.profile
        if profile != "sunspec":
            load_profile(profile)
    except (ValueError, ProfileError) as exc:
        print(f"energimon probe: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.scan_units:
            for unit, what in asyncio.run(scan_units(host, port, profile, min(args.timeout, 1.0))).items():
                print(f"unit {unit:>3}: {what}")
            return 0
        result = asyncio.run(probe(host, port, args.unit, profile, args.timeout))
    except Exception as exc:  # unreachable, no SunSpec marker, garbage answers: one line, not a traceback
        text = str(exc) or type(exc).__name__
        print(f"energimon probe: {host}:{port} unit {args.unit}: {text} - {hint(text, profile)}", file=sys.stderr)
        return 1
    print(f"{host}:{port} unit {args.unit}, {profile}:")
    for line in format_info(result):
        print(f"  {line}")
    print(format_rows(result.rows))
    return 0


def cmd_simulate(args) -> int:
    from energimon.collector.simulator.buildings import SORO_BUILDINGS
    from energimon.collector.simulator.modbus_server import MeterSimulator
    from energimon.logs import setup_logging

    setup_logging("WARNING")

    async def serve() -> None:
        n = len(SORO_BUILDINGS)
        ports = [args.port + i for i in range(n)]
        pv_ports = [args.port + n + i for i in range(sum(b.pv_kwp > 0 for b in SORO_BUILDINGS))]
        heat_port = args.port + n + len(pv_ports)
        async with MeterSimulator(host=args.host, ports=ports, with_pv=True, pv_ports=pv_ports,
                                  with_heat=True, heat_port=heat_port) as sim:
            for m in sim.meters:
                print(f"{m.building.name}: main meter (eastron.sdm630) on {args.host}:{m.port} unit {m.unit_id}")
            for inv in sim.inverters:
                print(f"{inv.building.name}: PV inverter (sunspec, model {inv.inverter_model}) on "
                      f"{args.host}:{inv.port} unit {inv.unit_id}")
            if sim.heat_meter is not None:
                building, port, _ = sim.heat_meter
                print(f"{building.name}: district heating meter (kamstrup.multical603) on {args.host}:{port} unit 1")
            print("Ctrl-C stops the simulator.", flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()

    asyncio.run(serve())
    return 0


def cmd_deadletters(args) -> int:
    from collections import Counter

    from energimon.store.spool import Spool

    settings = load_settings(args.config)
    path = settings.spool.path
    if not path.exists():
        print(f"no spool at {path} (has the daemon run yet?)")
        return 0
    spool = Spool(path, settings.spool.max_readings, settings.spool.synchronous)
    try:
        rows = spool.dead_letters(limit=max(1, args.limit) if not args.subject else 100_000)
    finally:
        spool.close()
    if args.subject:
        rows = [r for r in rows if args.subject in r["subject"]][: max(1, args.limit)]
    if not rows:
        print("no dead letters")
        return 0
    per_subject = Counter(r["subject"] for r in rows)
    print(f"{len(rows)} dead letter(s) shown, newest first; per subject:")
    for subject, n in per_subject.most_common():
        print(f"  {n:6d}  {subject}")
    for r in rows:
        when = datetime.fromtimestamp(r["received_ms"] / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        payload = r["payload"] if args.full or len(r["payload"]) <= 120 else r["payload"][:120] + "…"
        print(f"\n#{r['id']}  {when}  {r['source']}  {r['subject']}\n  reason:  {r['reason']}\n  payload: {payload}")
    return 0


def cmd_status(args) -> int:
    import sqlite3

    from energimon.security import redact_url_credentials
    from energimon.store import open_store
    from energimon.store.base import StoreError

    settings = load_settings(args.config)
    ok = True
    latest = None  # None: the store cannot be read, so devices and sites are unknown
    try:
        store = open_store(settings.store, readonly=True)
    except (StoreError, ValueError, OSError, sqlite3.Error) as exc:  # e.g. an embedded store not created yet
        print(redact_url_credentials(f"store:   {settings.store.kind}: NOT usable: {exc}"))
        ok = False
    else:
        try:
            health = store.ping()
            if health.reachable:
                latest = store.latest()
        finally:
            store.close()
        print(redact_url_credentials(
            f"store:   {health.kind}: {'reachable' if health.reachable else 'NOT usable'} — {health.detail}"))
        ok = health.reachable
    spool = settings.spool.path
    if not spool.exists():
        print(f"spool:   {spool}: not created yet (the daemon has not run)")
    else:
        try:
            db = sqlite3.connect(f"file:{spool}?mode=ro", uri=True, timeout=10)
            try:
                backlog = db.execute("SELECT count(*) FROM readings").fetchone()[0]
                dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as exc:
            print(f"spool:   {spool}: cannot read: {exc}")
        else:
            fill = backlog / settings.spool.max_readings
            print(f"spool:   {spool}: {backlog} readings waiting for the store ({fill:.1%} of "
                  f"{settings.spool.max_readings}), {dead} dead letters")
    from energimon.app.status import alert_lines, device_lines, job_lines, mail_lines, mqtt_lines, site_lines

    now = pd.Timestamp.now(tz="UTC")
    if latest is not None:
        print("devices:", *device_lines(settings, latest, now), sep="\n")
        print("sites:", *site_lines(settings, latest, now), sep="\n")
    else:
        print("devices: unknown (the store cannot be read)")
    from energimon.app.status import device_identity_lines

    print("device identity:", *device_identity_lines(settings), sep="\n")
    print("mqtt:", *mqtt_lines(settings, now), sep="\n")
    print("alerts:", *alert_lines(settings), sep="\n")
    print("mail:", *mail_lines(settings), sep="\n")
    if settings.sources is not None:
        from energimon.app.status import source_lines

        print("sources:", *source_lines(settings), sep="\n")
    print("jobs:", *job_lines(settings, now), sep="\n")
    return 0 if ok else 1


def _store_from_spec(spec: str, settings, *, readonly: bool):
    from energimon.store.sqlite import SqliteStore

    if spec == "influx":
        if settings.store.influxdb is None:
            raise ValueError("'influx' needs a [store.influxdb] table in the configuration")
        from energimon.store.influx import InfluxStore

        return InfluxStore(settings.store.influxdb, readonly=readonly)
    if spec == "sqlite" or spec.startswith("sqlite:"):
        path = Path(spec.split(":", 1)[1]) if ":" in spec else settings.store.path
        return SqliteStore(path, readonly=readonly)
    raise ValueError(f"unknown store {spec!r}; expected sqlite, sqlite:PATH or influx")


def cmd_store_copy(args) -> int:
    import time

    from energimon.model import MIN_TIMESTAMP_MS, Reading
    from energimon.store.base import StoreError

    settings = load_settings(args.config)
    if args.batch < 1:
        print("energimon store copy: --batch must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        src = _store_from_spec(args.source, settings, readonly=True)
    except ValueError as exc:  # a wrong STORE argument (a store that cannot be opened is a StoreError: exit 1)
        print(f"energimon store copy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        dst = _store_from_spec(args.target, settings, readonly=False)
    except ValueError as exc:
        src.close()
        print(f"energimon store copy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BaseException:
        src.close()
        raise
    chunk_s = 30 * 86_400  # read the source a month-sized slice at a time (bounded memory)
    end_ms = int(pd.Timestamp.now(tz="UTC").value // 1_000_000) + 2 * 86_400_000
    copied = rejected = 0
    t0 = time.monotonic()
    try:
        series = src.series()
        print(f"copying {len(series)} series from {args.source} to {args.target}", file=sys.stderr)
        for i, row in enumerate(series.itertuples(index=False), 1):
            key = SeriesKey(row.site, row.device, row.channel)
            n_series = 0
            counts = src.partials_ms(key, MIN_TIMESTAMP_MS, end_ms, chunk_s)
            for bucket_start in counts.index[counts["count"] > 0]:
                a = int(bucket_start.value // 1_000_000)
                ts, v = src.read_raw_ms(key, a, a + chunk_s * 1000)
                readings = [Reading(row.site, row.device, row.channel, row.role, int(t), float(x))
                            for t, x in zip(ts.tolist(), v.tolist(), strict=True)]
                for j in range(0, len(readings), args.batch):
                    refused = dst.write(readings[j:j + args.batch])
                    rejected += len(refused)
                    for rej in refused[:3]:
                        print(f"  refused {rej.reading.key} at {rej.reading.ts_ms}: {rej.reason}", file=sys.stderr)
                n_series += len(readings)
                copied += len(readings)
            rate = copied / max(time.monotonic() - t0, 1e-9)
            print(f"  [{i}/{len(series)}] {key}: {n_series} readings (total {copied}, {rate:,.0f} readings/s)",
                  file=sys.stderr)
    except StoreError as exc:
        print(f"energimon store copy: stopped after {copied} readings (run it again to resume; copying is "
              f"idempotent): {exc}", file=sys.stderr)
        return 1
    finally:
        src.close()
        dst.close()
    print(f"copied {copied} readings of {len(series)} series in {time.monotonic() - t0:.1f} s"
          + (f"; {rejected} refused by the target" if rejected else ""))
    return 1 if rejected else 0


if __name__ == "__main__":
    raise SystemExit(main())
