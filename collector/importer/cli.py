"""``energimon import``: Eloverblik/DataHub exports, generic ``time,value`` CSV and district heating CSV exports
into the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energimon.cliutil import EXIT_DATA, EXIT_FAIL, EXIT_USAGE, Commands, Config, config_arg, progress, t


def _strict() -> str:
    return t("Skriver én linje pr. importeret serie (hvor mange målinger, og energien for intervaldata). En fil med "
             "bare én forkert linje importeres slet ikke (intet fra den gemmes); hver forkert linje vises med sit "
             "nummer og hvad der skal gøres. Importeres en fil igen, skrives de samme målinger igen (kan gentages).",
             "Prints one line per series imported (how many readings, and the energy for interval data). A file "
             "with any bad line is not imported at all (nothing from it is stored); every bad line is listed "
             "with its number and what to do. Re-importing a file writes the same readings again (idempotent).")


def _decimal_help() -> str:
    return t("',' eller '.': filernes decimaltegn, når det ikke kan afgøres (f.eks. kun værdier som 1.234): med ',' "
             "adskiller '.' tusinder, med '.' gør ',' det. Standard: afgøres pr. fil ud fra værdier der kun kan læses "
             "på én måde (0,25 / 21.32); ';'-filer bruger ',' og ','-filer '.', når ingen værdi afgør det",
             "',' or '.': the decimal mark of the file(s), when detection cannot tell (e.g. only values "
             "like 1.234): with ',' a '.' separates thousands, with '.' a ',' does. Default: detected per file "
             "from values that can only be read one way (0,25 / 21.32); ';' files use ',' and ',' files '.' "
             "when none tells")


def _common(p) -> None:
    p.add_argument("--on-duplicate", choices=("error", "last", "sum"), default="error",
                   help=t("to rækker med samme tid (i én serie): 'error' afviser filen og nævner begge linjer "
                          "(standard), 'last' beholder den sidste linje, 'sum' lægger de to intervalenergier sammen",
                          "two rows with the same time (of one series): 'error' refuses the file naming both lines "
                          "(default), 'last' keeps the later line, 'sum' adds the two interval energies"))
    p.add_argument("--decimal-mark", choices=(",", "."), default=None, metavar="MARK", help=_decimal_help())


def register(commands: Commands) -> None:
    p = commands.add_parser("import", help=t("importér historiske data (Eloverblik/DataHub-CSV, almindelig tid,værdi-"
                                             "CSV, fjernvarme-CSV)",
                                             "import historical data (Eloverblik/DataHub CSV, generic time,value CSV, "
                                             "district heating CSV)"),
                            description=t("Importerer historiske målinger i lageret. ",
                                          "Import historical readings into the store. ") + _strict())
    isub = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    e = isub.add_parser("eloverblik", help=t("eksport fra Eloverblik/DataHub (pr. time eller kvarter, decimalkomma)",
                                             "Eloverblik/DataHub export (hourly or 15-minute, decimal comma)"),
                        description=t(
                            "Importerer CSV-eksporter fra Eloverblik/DataHub. Hver rækkes målepunkt skal være knyttet "
                            "til en serie i [[datahub.metering_points]]. Intervalenergierne bliver til en "
                            "energitæller, der fortsætter fra det, lageret har. Filerne i én kommando er én import: "
                            "en forkert linje i en af dem gør, at intet gemmes. ",
                            "Import Eloverblik/DataHub CSV exports. Each row's metering point (målepunkt) "
                            "must be mapped to a series in [[datahub.metering_points]]. Interval energies "
                            "become an energy counter continuing from what the store holds. The files of "
                            "one command are one import: a bad line in any stores nothing. ") + _strict())
    e.set_defaults(handler=cmd_import_eloverblik)
    config_arg(e)
    e.add_argument("files", nargs="+", type=Path, help=t("CSV-fil(er); en række i to filer er en dublet",
                                                         "CSV file(s); a row in two files is a duplicate"))
    _common(e)
    g = isub.add_parser("csv", help=t("almindelig CSV med en overskrift og to kolonner: tid, værdi",
                                      "generic CSV with a header and two columns: time, value"),
                        description=t(
                            "Importerer en almindelig tid,værdi-CSV i én serie. Tider uden UTC-forskel er dansk tid "
                            "(timen der gentages i oktober: først sommertid, så vintertid, i filens rækkefølge). For "
                            "en tællerkanal er værdierne tællerstande, som ikke må falde, eller med --interval-kwh "
                            "energi pr. interval fra tidspunktet, som ikke må være negativ. ",
                            "Import a generic time,value CSV into one series. Times without an offset are "
                            "Danish local time (the hour repeated in October: first CEST, then CET, in "
                            "file order). For a counter channel the values are counter readings, which "
                            "must not go down, or with --interval-kwh energies per interval starting at "
                            "the time, which must not be negative. ") + _strict())
    g.set_defaults(handler=cmd_import_csv)
    config_arg(g)
    g.add_argument("file", type=Path,
                   help=t("CSV-filen: en overskriftslinje, derefter tid og værdi pr. linje (adskilt med ';' eller ',', "
                          "decimaltegn genkendes), UTF-8",
                          "the CSV file: a header line, then time and value per line (';' or ',' separated, decimal "
                          "mark detected), UTF-8"))
    g.add_argument("--series", required=True, help=t("bygning/apparat/kanal, f.eks. soro-raadhus/vejr/outdoor_temp_c",
                                                     "site/device/channel, e.g. soro-raadhus/vejr/outdoor_temp_c"))
    g.add_argument("--role", required=True, choices=("grid", "pv", "submeter", "heat", "gas", "water", "weather"),
                   help=t("apparatets rolle, gemt med serien: grid (hovedmåler), pv (inverter), submeter (bimåler), "
                          "heat (fjernvarmemåler), gas (gasmåler, volume_m3), water (vandmåler, volume_m3) eller "
                          "weather (f.eks. udetemperatur)",
                          "the device's role, stored with the series: grid (main meter), pv (inverter), submeter, "
                          "heat (district heating meter), gas (gas meter, volume_m3), water (water meter, "
                          "volume_m3) or weather (e.g. outdoor temperature)"))
    g.add_argument("--interval-kwh", "--interval", dest="interval_kwh", action="store_true",
                   help=t("værdierne er forbrug pr. interval (fra tidspunktet; kWh, m³ for en volumenkanal, eller "
                          "--unit), ikke tællerstande",
                          "values are consumption per interval (starting at the time; kWh, m³ for a volume channel, "
                          "or --unit), not counter readings"))
    g.add_argument("--unit", default=None, metavar="UNIT",
                   help=t("værdiernes enhed, regnet om til kanalens: Wh, kWh, MWh, MJ, GJ, therm (energi) eller m3, "
                          "l (volumen); therm (eller kWh) for en gasmålers volume_m3 bliver til m³ gennem gassens "
                          "brændværdi ([[carriers.gas_calorific_value]]). Standard: tællerstande i kanalens enhed, "
                          "intervaller i kWh eller m³",
                          "the values' unit, converted into the channel's: Wh, kWh, MWh, MJ, GJ, therm (energy) or "
                          "m3, l (volume); therm (or kWh) for a gas meter's volume_m3 becomes m³ through the gas's "
                          "calorific value ([[carriers.gas_calorific_value]]). Default: counter readings in the "
                          "channel's unit, intervals in kWh or m³"))
    g.add_argument("--allow-counter-reset", action="store_true",
                   help=t("kun tællerstande: acceptér en stand lavere end den før (måleren blev nulstillet eller "
                          "skiftet). Den gemmes som den er; energisummer tæller intet hen over faldet og markerer "
                          "det døgn (eller den time, måned) som ufuldstændigt. Uden den afvises sådan en fil",
                          "counter readings only: accept a reading lower than the one before it (the meter was reset "
                          "or replaced). It is stored as it is; energy sums count nothing across the drop and mark "
                          "that day (or hour, month) incomplete. Without it such a file is refused"))
    _common(g)
    h = isub.add_parser("heat", help=t("eksport fra fjernvarmen: energi, volumen, frem- og returtemperatur pr. time",
                                       "district heating export: hourly energy, volume, forward/return temperature"),
                        description=t(
                            "Importerer en CSV-eksport fra fjernvarmeværket (én række pr. time: tid, varmeenergi med "
                            "enheden i overskriften - kWh, MWh eller GJ -, volumen i m³, fremløbs- og "
                            "returløbstemperatur; kolonner findes ud fra overskriften, andre ignoreres) i "
                            "SITE/DEVICE/heat_energy_wh, volume_m3, supply_temp_c og return_temp_c. Tider uden "
                            "UTC-forskel er dansk tid. ",
                            "Import a district heating CSV export (one row per hour: time, heat energy with "
                            "its unit in the header - kWh, MWh or GJ -, volume in m³, forward (fremløb) and "
                            "return (returløb) temperatures; columns found by their header, others "
                            "ignored) into SITE/DEVICE/heat_energy_wh, volume_m3, supply_temp_c and "
                            "return_temp_c. Times without an offset are Danish local time. ") + _strict())
    h.set_defaults(handler=cmd_import_heat)
    config_arg(h)
    h.add_argument("file", type=Path, help=t("forsyningens CSV-eksport (UTF-8), én række pr. time",
                                             "the utility's CSV export (UTF-8), one row per hour"))
    h.add_argument("--site", required=True, help=t("bygningens id", "the building's site id"))
    h.add_argument("--device", required=True,
                   help=t("et eget apparat-id til forsyningens data, f.eks. fjernvarme-forsyning (en fast målers "
                          "tæller og forsyningens i én serie ville ligne nulstillinger)",
                          "a device id of its own for the utility's data, e.g. fjernvarme-forsyning (a live meter's "
                          "counter and the utility's in one series would look like resets)"))
    h.add_argument("--values", required=True, choices=("consumption", "readings"),
                   help=t("energi og volumen er hver times forbrug (fra rækkens tid), eller målerstande på rækkens "
                          "tid",
                          "energy and volume are each hour's consumption (from the row's time), or the meter's "
                          "readings (målerstande) at the row's time"))
    h.add_argument("--on-duplicate", choices=("error", "last"), default="error",
                   help=t("to rækker med samme tid: 'error' afviser filen og nævner begge linjer (standard), 'last' "
                          "beholder den sidste linje",
                          "two rows with the same time: 'error' refuses the file naming both lines (default), 'last' "
                          "keeps the later line"))
    h.add_argument("--decimal-mark", choices=(",", "."), default=None, metavar="MARK", help=_decimal_help())


def _progress(name: str, done: int, total: int) -> None:
    """Readings written so far: a bar on a terminal, a line per batch otherwise (:class:`energimon.cliutil.Steps`)."""
    progress(done, total, t(f"{name}: målinger skrevet", f"{name}: readings written"))


def _unknown_site(prog: str, site: str, known) -> str:
    from energimon.cliutil import unknown

    return f"{prog}: {unknown('site', site, known)}"


def _read(path: Path, prog: str) -> str | None:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        print(t(f"{prog}: {path}: ikke UTF-8-tekst ({exc.reason} ved byte {exc.start}): gem den som UTF-8 (i Excel: "
                "'CSV UTF-8') og importér den igen; intet blev importeret",
                f"{prog}: {path}: not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8 (in Excel: "
                "'CSV UTF-8') and import it again; nothing was imported"), file=sys.stderr)
    except OSError as exc:
        print(f"{prog}: {path}: {exc.strerror or exc}; {_nothing()}", file=sys.stderr)
    return None


def _nothing() -> str:
    return t("intet blev importeret", "nothing was imported")


def _refused(prog: str, exc) -> int:
    # the bad lines are the parsers' and checks' (energimon.timeseries_csv, this package), in the same language
    print(t(f"{prog}: intet blev importeret (en import er alt eller intet): {exc}\n"
            "Ret linjerne ovenfor (eller vælg en af de nævnte indstillinger), og kør den samme kommando igen.",
            f"{prog}: nothing was imported (an import is all or nothing): {exc}\n"
            "Correct the lines above (or choose an option named there) and run the same command again."),
          file=sys.stderr)
    return EXIT_DATA


def cmd_import_eloverblik(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.importer.parse import ImportFormatError
    from energimon.collector.importer.run import ImportWriteError, import_eloverblik_files
    from energimon.store import open_store
    from energimon.store.base import StoreError

    prog = "energimon import eloverblik"
    settings = config.settings()
    mapping = {mp.id: mp for mp in (settings.datahub.metering_points if settings.datahub else [])}
    files = []
    for path in args.files:
        text = _read(path, prog)
        if text is None:
            return EXIT_DATA
        files.append((str(path), text))
    try:
        store = open_store(settings.store)
    except (StoreError, ValueError) as exc:
        print(f"{prog}: {exc}; {_nothing()}", file=sys.stderr)
        return EXIT_FAIL
    label = files[0][0] if len(files) == 1 else t(f"{len(files)} filer", f"{len(files)} files")
    try:
        summary = import_eloverblik_files(store, files, mapping, on_duplicate=args.on_duplicate,
                                          decimal_mark=args.decimal_mark,
                                          progress=lambda d, n: _progress(label, d, n))
    except ImportFormatError as exc:
        return _refused(prog, exc)
    except (ImportWriteError, StoreError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    for line in summary:
        print(line)
    return 0


def cmd_import_csv(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.importer.parse import ImportFormatError
    from energimon.collector.importer.run import ImportWriteError, import_time_value_text
    from energimon.model import CHANNELS, Kind, SeriesKey
    from energimon.store import open_store
    from energimon.store.base import StoreError

    prog = "energimon import csv"
    try:
        key = SeriesKey.parse(args.series)
    except ValueError as exc:
        print(f"{prog}: --series: {exc}", file=sys.stderr)
        return EXIT_USAGE
    counter = CHANNELS[key.channel].kind is Kind.COUNTER
    usage = []
    if args.interval_kwh and not counter:
        kind = CHANNELS[key.channel].kind
        usage.append(t(f"--interval-kwh kræver en tællerkanal; {key.channel} er af typen {kind}",
                       f"--interval-kwh needs a counter channel; {key.channel} is a {kind}"))
    if args.on_duplicate == "sum" and not args.interval_kwh:
        usage.append(t("--on-duplicate sum lægger intervalenergier sammen; det kræver --interval-kwh (to målinger "
                       "på samme tidspunkt kan ikke lægges sammen)",
                       "--on-duplicate sum adds interval energies; it needs --interval-kwh (two readings at one "
                       "time cannot be added)"))
    if args.allow_counter_reset and (args.interval_kwh or not counter):
        usage.append(t("--allow-counter-reset er til tælleraflæsninger (en tællerkanal uden --interval-kwh)",
                       "--allow-counter-reset is for counter readings (a counter channel without --interval-kwh)"))
    if usage:
        print("\n".join(f"{prog}: {u}" for u in usage), file=sys.stderr)
        return EXIT_USAGE
    settings = config.settings()
    if key.site not in settings.sites:
        print(_unknown_site(prog, key.site, settings.sites), file=sys.stderr)
        return EXIT_USAGE
    text = _read(args.file, prog)
    if text is None:
        return EXIT_DATA
    try:
        store = open_store(settings.store)
    except (StoreError, ValueError) as exc:
        print(f"{prog}: {exc}; {_nothing()}", file=sys.stderr)
        return EXIT_FAIL
    try:
        print(import_time_value_text(store, text, key, args.role, args.interval_kwh, str(args.file),
                                     progress=lambda d, n: _progress(str(args.file), d, n),
                                     on_duplicate=args.on_duplicate, allow_counter_reset=args.allow_counter_reset,
                                     decimal_mark=args.decimal_mark, unit=args.unit,
                                     kwh_per_m3=_gas_calorific_value(settings, key.site)))
    except ImportFormatError as exc:
        return _refused(prog, exc)
    except ValueError as exc:  # a unit that does not fit the channel
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ImportWriteError, StoreError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    return 0


def cmd_import_heat(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.importer.heat import import_heat_text
    from energimon.collector.importer.parse import ImportFormatError
    from energimon.collector.importer.run import ImportWriteError
    from energimon.model import ID_RULE, is_valid_id
    from energimon.store import open_store
    from energimon.store.base import StoreError

    prog = "energimon import heat"
    if not is_valid_id(args.device):
        print(t(f"{prog}: --device {args.device!r} er ikke et gyldigt id ({ID_RULE})",
                f"{prog}: --device {args.device!r} is not a valid id ({ID_RULE})"), file=sys.stderr)
        return EXIT_USAGE
    settings = config.settings()
    if args.site not in settings.sites:
        print(_unknown_site(prog, args.site, settings.sites), file=sys.stderr)
        return EXIT_USAGE
    text = _read(args.file, prog)
    if text is None:
        return EXIT_DATA
    try:
        store = open_store(settings.store)
    except (StoreError, ValueError) as exc:
        print(f"{prog}: {exc}; {_nothing()}", file=sys.stderr)
        return EXIT_FAIL
    try:
        lines = import_heat_text(store, text, args.site, args.device, args.values, str(args.file),
                                 progress=lambda d, n: _progress(str(args.file), d, n),
                                 on_duplicate=args.on_duplicate, decimal_mark=args.decimal_mark)
    except ImportFormatError as exc:
        return _refused(prog, exc)
    except (ImportWriteError, StoreError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    for line in lines:
        print(line)
    return 0


def _gas_calorific_value(settings, site: str):
    """(kWh/m³, source) of the site's gas at an instant, from ``[[carriers.gas_calorific_value]]``; None when the
    configuration has none at all (the import then refuses gas in energy units)."""
    from energimon.collector.importer.units import local_year

    if not settings.carriers.gas_calorific_value:
        return None

    def lookup(ts_ms: int) -> tuple[float, str] | None:
        cv = settings.carriers.gas_kwh_per_m3(site, local_year(ts_ms))
        return None if cv is None else (cv.kwh_per_m3, cv.source)

    return lookup
