"""``energimon import``: Eloverblik/DataHub exports and generic ``time,value`` CSV into the store."""

from __future__ import annotations

import sys
from pathlib import Path

EXIT_USAGE = 64
EXIT_DATA = 65


def add_import_parser(sub, config_arg) -> None:
    p = sub.add_parser("import", help="import historical data (Eloverblik/DataHub CSV, generic time,value CSV)",
                       description="Import historical readings into the store. Re-importing a file writes the same "
                                   "readings again (idempotent). A file with any bad line is not imported at all; "
                                   "every bad line is listed with its number.")
    isub = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    e = isub.add_parser("eloverblik", help="Eloverblik/DataHub export (hourly or 15-minute, decimal comma)",
                        description="Import Eloverblik/DataHub CSV exports. Each row's metering point (målepunkt) "
                                    "must be mapped to a series in [[datahub.metering_points]]. Interval energies "
                                    "become an energy counter continuing from what the store holds.")
    e.set_defaults(handler=cmd_import_eloverblik)
    config_arg(e)
    e.add_argument("files", nargs="+", type=Path, help="CSV file(s), imported in time order")
    g = isub.add_parser("csv", help="generic CSV with a header and two columns: time, value",
                        description="Import a generic time,value CSV into one series. Times without an offset are "
                                    "Danish local time. ';' files use a decimal comma. For a counter channel the "
                                    "values are counter readings, or with --interval-kwh energies per interval "
                                    "starting at the time.")
    g.set_defaults(handler=cmd_import_csv)
    config_arg(g)
    g.add_argument("file", type=Path)
    g.add_argument("--series", required=True, help="site/device/channel, e.g. soro-raadhus/vejr/outdoor_temp_c")
    g.add_argument("--role", required=True, choices=("grid", "pv", "submeter", "heat", "weather"))
    g.add_argument("--interval-kwh", action="store_true",
                   help="values are kWh per interval (starting at the time), not counter readings")


def _progress(name: str, done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    print(f"\r{name}: {done}/{total} readings ({100 * done // max(total, 1)} %)", end=end, file=sys.stderr,
          flush=True)


def cmd_import_eloverblik(args) -> int:
    from energimon.collector.importer.run import import_eloverblik_text
    from energimon.config.settings import load_settings
    from energimon.store import open_store

    settings = load_settings(args.config)
    mapping = {mp.id: mp for mp in (settings.datahub.metering_points if settings.datahub else [])}
    store = open_store(settings.store)
    try:
        for path in args.files:
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as exc:
                print(f"energimon import: {path}: {exc}", file=sys.stderr)
                return EXIT_DATA
            try:
                summary = import_eloverblik_text(store, text, mapping, str(path),
                                                 progress=lambda d, t, p=path: _progress(str(p), d, t))
            except ValueError as exc:
                print(f"energimon import: {exc}", file=sys.stderr)
                return EXIT_DATA
            for line in summary:
                print(line)
    finally:
        store.close()
    return 0


def cmd_import_csv(args) -> int:
    from energimon.collector.importer.run import import_time_value_text
    from energimon.config.settings import load_settings
    from energimon.model import SeriesKey
    from energimon.store import open_store

    try:
        key = SeriesKey.parse(args.series)
        text = args.file.read_text(encoding="utf-8-sig")
    except (ValueError, OSError) as exc:
        print(f"energimon import csv: {exc}", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.config)
    if key.site not in settings.sites:
        print(f"energimon import csv: unknown site {key.site!r}; known: {', '.join(settings.sites)}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(settings.store)
    try:
        print(import_time_value_text(store, text, key, args.role, args.interval_kwh, str(args.file),
                                     progress=lambda d, t: _progress(str(args.file), d, t)))
    except ValueError as exc:
        print(f"energimon import csv: {exc}", file=sys.stderr)
        return EXIT_DATA
    finally:
        store.close()
    return 0
