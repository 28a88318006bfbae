"""``energimon probe``: read a Modbus device once and show who it is and every value (read function codes only)."""

from __future__ import annotations

import argparse

from energimon.cliutil import EXIT_FAIL, EXIT_USAGE, Commands, Config, fail


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "probe", help="read a Modbus device once and show who it is and every value (read-only)",
        description="Commissioning aid: read HOST[:PORT] once with a profile or SunSpec discovery and print the "
                    "device's identity (manufacturer, model, serial number) and channel, value, unit and raw "
                    "registers, one line per problem. Sends read requests only.")
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
