"""``energimon mbus-probe``: read one M-Bus meter through its gateway or a serial M-Bus master once and show who
it is and its values (read requests only: ``SND_NKE``, ``REQ_UD2``, the secondary select)."""

from __future__ import annotations

import argparse

from energimon.cliutil import EXIT_FAIL, EXIT_USAGE, Commands, Config, fail, t

PROG = "energimon mbus-probe"
_OPTION = {"address": "--address", "secondary_address": "--secondary", "manufacturer": "--manufacturer",
           "timeout_s": "--timeout", "retries": "--retries", "host": "HOST:PORT", "baudrate": "--baudrate",
           "parity": "--parity"}


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "mbus-probe", help=t("aflæs en M-Bus-måler én gang gennem dens M-Bus/TCP-gateway eller en seriel M-Bus-master "
                             "og vis dens værdier (kun læsning)",
                             "read an M-Bus meter once through its M-Bus/TCP gateway or a serial M-Bus master and "
                             "show its values (read-only)"),
        description=t(
            "Hjælp ved idriftsættelse: aflæser måleren på en primær eller sekundær adresse bag en M-Bus/TCP-gateway "
            "(transparent tilstand) eller en seriel M-Bus-master (--serial /dev/ttyUSB0, 2400 baud 8E1) én gang, som "
            "dæmonen ville, og skriver dens identifikation, hver kanal med "
            "energimons enhed og den enhed måleren tæller i, varmeenergien i kWh, MWh og GJ og dens infokode i ord. "
            "Sender kun læseforespørgsler (SND_NKE, REQ_UD2, valg af sekundær adresse); intet skrives til måleren.",
            "Commissioning aid: read the meter at a primary or secondary address behind an M-Bus/TCP "
            "gateway (transparent mode) or a serial M-Bus master (--serial /dev/ttyUSB0, 2400 baud 8E1) once, as "
            "the daemon would, and print its identification, each "
            "channel with energimon's unit and the unit the meter counts in, the heat energy in kWh, MWh "
            "and GJ, and its info code in words. Sends read requests only (SND_NKE, REQ_UD2, the "
            "secondary-address select); nothing is written to the meter."))
    p.set_defaults(handler=cmd_mbus_probe)
    p.add_argument("target", metavar="HOST:PORT", nargs="?",
                   help=t("M-Bus/TCP-gatewayen og dens port til transparent tilstand (eller --serial)",
                          "the M-Bus/TCP gateway and its transparent-mode port (or --serial)"))
    p.add_argument("--serial", metavar="PORT", help=t("den serielle port med M-Bus-masteren, fx /dev/ttyUSB0 (i stedet "
                                                      "for HOST:PORT)", "the serial port of the M-Bus master, e.g. "
                                                      "/dev/ttyUSB0 (instead of HOST:PORT)"))
    p.add_argument("--baudrate", type=int, default=2400, help=t("busens baudrate med --serial (standard 2400)",
                                                                "the bus's baud rate with --serial (default 2400)"))
    p.add_argument("--parity", choices=("even", "none", "odd"), default="even",
                   help=t("paritet med --serial (standard even: EN 13757-2 er 8E1)",
                          "parity with --serial (default even: EN 13757-2 is 8E1)"))
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--address", type=int, help=t("primær adresse 0-250", "primary address 0-250"))
    how.add_argument("--secondary", metavar="ID",
                     help=t("sekundær adresse: det 8-cifrede identifikationsnummer (F = et vilkårligt ciffer)",
                            "secondary address: the 8-digit identification number (F = any digit)"))
    p.add_argument("--manufacturer", help=t("producentkode på 3 bogstaver, der indsnævrer et sekundært valg (KAM)",
                                            "3-letter manufacturer code narrowing a secondary select (KAM)"))
    p.add_argument("--timeout", type=float, default=2.0, help=t("sekunder pr. forespørgsel (standard 2)",
                                                                "seconds per request (default 2)"))
    p.add_argument("--retries", type=int, default=1, help=t("gentagelser af en ubesvaret forespørgsel (standard 1)",
                                                            "repeats of an unanswered request (default 1)"))
    p.add_argument("--records", action="store_true", help=t("vis også hver datapost måleren sendte",
                                                            "also list every data record the meter sent"))
    p.add_argument("--debug", action="store_true", help=t("log også hver forespørgsel og hvert problem, på stdout",
                                                          "also log every request and problem, to stdout"))


def cmd_mbus_probe(args: argparse.Namespace, config: Config) -> int:
    """Needs no configuration: the gateway (or serial port) and the meter are named on the command line."""
    import asyncio

    from pydantic import ValidationError

    from energimon.collector.mbus.poller import MeterUnreachable
    from energimon.collector.mbus.probe import format_probe, parse_gateway, probe_meter
    from energimon.collector.mbus.settings import MbusDevice, MbusSerialDevice, MbusTcpDevice
    from energimon.logs import setup_logging

    setup_logging("DEBUG" if args.debug else "ERROR")
    if (args.target is None) == (args.serial is None):
        return fail(PROG, t("angiv enten HOST:PORT (en M-Bus/TCP-gateway) eller --serial PORT (en seriel M-Bus-master)",
                            "give either HOST:PORT (an M-Bus/TCP gateway) or --serial PORT (a serial M-Bus master)"),
                    EXIT_USAGE)
    meter = dict(site="probe", id="probe", address=args.address, secondary_address=args.secondary,
                 manufacturer=args.manufacturer, timeout_s=args.timeout, retries=args.retries)
    device: MbusDevice
    try:
        if args.serial is not None:
            device = MbusSerialDevice(protocol="mbus_serial", port=args.serial, baudrate=args.baudrate,
                                      parity=args.parity, **meter)
        else:
            host, port = parse_gateway(args.target)
            device = MbusTcpDevice(protocol="mbus_tcp", host=host, port=port, **meter)
    except ValidationError as exc:  # the option's name, not the setting's
        options = {**_OPTION, "port": "--serial" if args.serial is not None else "HOST:PORT"}
        return fail(PROG, "; ".join(f"{options.get(str(e['loc'][0]) if e['loc'] else '', 'arguments')}: "
                                    f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors()), EXIT_USAGE)
    except ValueError as exc:
        return fail(PROG, str(exc), EXIT_USAGE)
    try:
        result = asyncio.run(probe_meter(device))
    except MeterUnreachable as exc:
        return fail(PROG, f"{device.bus} {device.where}: {exc}", EXIT_FAIL)
    for line in format_probe(result, records=args.records):
        print(line)
    return 0
