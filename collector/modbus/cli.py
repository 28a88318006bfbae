"""``energimon probe``: read a Modbus device once and show who it is and every value (read function codes only)."""

from __future__ import annotations

import argparse

from energimon.cliutil import EXIT_FAIL, EXIT_USAGE, Commands, Config, fail, t


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "probe", help=t("aflæs et Modbus-apparat én gang og vis hvad det er og alle værdier (kun læsning)",
                        "read a Modbus device once and show who it is and every value (read-only)"),
        description=t(
            "Hjælp ved idriftsættelse: aflæser HOST[:PORT] én gang med en profil eller SunSpec-søgning og skriver "
            "apparatets identitet (producent, model, serienummer) og kanal, værdi, enhed og rå registre, én linje "
            "pr. problem. Sender kun læseforespørgsler.",
            "Commissioning aid: read HOST[:PORT] once with a profile or SunSpec discovery and print the "
            "device's identity (manufacturer, model, serial number) and channel, value, unit and raw "
            "registers, one line per problem. Sends read requests only."))
    p.set_defaults(handler=cmd_probe)
    p.add_argument("target", metavar="HOST[:PORT]", help=t("Modbus TCP-apparat eller gateway (standardport 502)",
                                                           "Modbus TCP device or gateway (port default 502)"))
    p.add_argument("--unit", type=int, default=1, help=t("Modbus unit id (standard 1)", "Modbus unit id (default 1)"))
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--sunspec", action="store_true", help=t("find SunSpec-modeller (base 40000, 0, 50000)",
                                                              "discover SunSpec models (base 40000, 0, 50000)"))
    how.add_argument("--profile", help=t("en apparatprofil, f.eks. eastron.sdm630",
                                         "a device profile, e.g. eastron.sdm630"))
    p.add_argument("--scan-units", action="store_true", help=t("prøv de almindelige unit ids 1, 2, 3, 126, 247",
                                                               "try the common unit ids 1, 2, 3, 126, 247"))
    p.add_argument("--timeout", type=float, default=3.0, help=t("sekunder pr. forespørgsel (standard 3)",
                                                                "seconds per request (default 3)"))
    p.add_argument("--debug", action="store_true",
                   help=t("log også hver forespørgsel og svarramme (hex) og pymodbus' beskeder, på stdout",
                          "also log every request and answer frame (hex) and pymodbus' messages, to stdout"))


def cmd_probe(args: argparse.Namespace, config: Config) -> int:
    """Needs no configuration: the device is named on the command line."""
    import asyncio
    import logging

    from energimon.collector.modbus.probe import format_info, format_rows, hint, parse_target, probe, scan_units
    from energimon.collector.modbus.profiles import ProfileError, load_profile
    from energimon.logs import setup_logging

    setup_logging("DEBUG" if args.debug else "ERROR")
    if args.debug:  # setup_logging silences pymodbus; its frame dumps are what --debug is for
        logging.getLogger("pymodbus").setLevel(logging.DEBUG)
    try:
        host, port = parse_target(args.target)
        profile = "sunspec" if args.sunspec else args.profile
        if profile != "sunspec":
            load_profile(profile)
    except (ValueError, ProfileError) as exc:
        return fail("energimon probe", str(exc), EXIT_USAGE)
    try:
        if args.scan_units:
            for unit, what in asyncio.run(scan_units(host, port, profile, min(args.timeout, 1.0))).items():
                print(f"unit {unit:>3}: {what}")  # "unit" is Modbus' own word, in Danish too
            return 0
        result = asyncio.run(probe(host, port, args.unit, profile, args.timeout))
    except Exception as exc:  # unreachable, no SunSpec marker, garbage answers: one line, not a traceback
        text = str(exc) or type(exc).__name__
        # the poller's problem text stays English (its log lines carry the same words); the hint is translated
        return fail("energimon probe", f"{host}:{port} unit {args.unit}: {text} - {hint(text, profile)}", EXIT_FAIL)
    print(f"{host}:{port} unit {args.unit}, {profile}:")
    for line in format_info(result):
        print(f"  {line}")
    print(format_rows(result.rows))
    return 0
