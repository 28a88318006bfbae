"""The store's commands: ``export`` (one series to CSV), ``deadletters`` (the spool's refused input) and
``store copy`` (history from one store to another)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from energimon.cliutil import (
    EXIT_FAIL,
    EXIT_USAGE,
    Commands,
    Config,
    Steps,
    config_arg,
    fail,
    lang,
    number,
    t,
    unknown,
)

if TYPE_CHECKING:
    from energimon.store.base import Store
    from energimon.store.settings import StoreSettings


def register(commands: Commands) -> None:
    p = commands.add_parser("export", help=t("én serie som CSV", "one series to CSV"),
                            description=t(
                                "Skriver én serie som CSV: rå målinger, en værdi pr. periode eller energi pr. "
                                "periode fra en tæller (--energy). På dansk (standard) til dansk Excel: ';', "
                                "decimalkomma, danske overskrifter; med --lang en ',', decimalpunktum, engelske "
                                "overskrifter. Tider er dansk tid (2026-12-07 02:04, som Excel læser som datoer) "
                                "med UTC-forskellen i næste kolonne, så timen der gentages i oktober kan skelnes.",
                                "Write one series as CSV: raw readings, aggregates per window, or energy "
                                "per window from a counter (--energy). In Danish (the default) for Danish "
                                "Excel: ';', decimal comma, Danish headers; with --lang en ',', decimal "
                                "point, English headers. Times are Danish local time (2026-12-07 02:04, "
                                "read as dates by Excel) with their UTC offset in the next column, so "
                                "the hour repeated in October is told apart."))
    p.set_defaults(handler=cmd_export)
    config_arg(p)
    p.add_argument("series", help=t("bygning/apparat/kanal, f.eks. soro-raadhus/hovedmaaler/power_w",
                                    "site/device/channel, e.g. soro-raadhus/hovedmaaler/power_w"))
    p.add_argument("--start", help=t("start (dansk tid, f.eks. 2026-11-01 eller 2026-11-01T06:00; standard: for 24 "
                                     "timer siden)",
                                     "start (local time, e.g. 2026-11-01 or 2026-11-01T06:00; default: 24 h ago)"))
    p.add_argument("--end", help=t("slut, ikke medregnet (samme format; standard: nu)",
                                   "end, exclusive (same format; default: now)"))
    p.add_argument("--window", help=t("én værdi pr. periode: 1min 5min 10min 15min 30min 1h day week month year",
                                      "aggregate per window: 1min 5min 10min 15min 30min 1h day week month year"))
    p.add_argument("--agg", default="mean", help=t("værdi pr. periode: mean min max last sum count (standard: mean)",
                                                   "aggregate: mean min max last sum count (default: mean)"))
    p.add_argument("--energy", action="store_true",
                   help=t("energi pr. periode fra en tællerkanal (differenser; nulstillinger og huller markeres)",
                          "energy per window from a counter channel (differences; resets and gaps flagged)"))
    p.add_argument("--sep", default=None, help=t("feltadskiller (standard ';' på dansk, ',' på engelsk)",
                                                 "field separator (default ';' in Danish, ',' in English)"))
    dc = p.add_mutually_exclusive_group()
    dc.add_argument("--decimal-comma", dest="decimal_comma", action="store_true", default=None,
                    help=t("skriv 1234,5 (standard på dansk)", "write 1234,5 (default in Danish)"))
    dc.add_argument("--decimal-point", dest="decimal_comma", action="store_false",
                    help=t("skriv 1234.5 (standard på engelsk)", "write 1234.5 (default in English)"))
    p.add_argument("-o", "--output", type=Path, help=t("fil der skrives (standard: stdout)",
                                                       "file to write (default: stdout)"))

    p = commands.add_parser("deadletters", help=t("input der ikke kunne blive til målinger, med årsag",
                                                  "input that could not become readings, with why"),
                            description=t(
                                "Viser spoolens afviste input, nyeste først: ugyldige MQTT-beskeder (rå), ugyldige "
                                "målinger og målinger som lageret afviste, hver med sin årsag.",
                                "List the spool's dead letters, newest first: bad MQTT payloads (raw), "
                                "invalid readings and readings the store refused, each with its reason."))
    p.set_defaults(handler=cmd_deadletters)
    config_arg(p)
    p.add_argument("--limit", type=int, default=50, help=t("vis højst så mange (standard 50)",
                                                           "show at most this many (default 50)"))
    p.add_argument("--subject", help=t("kun dem hvis emne (MQTT-topic eller serie) indeholder denne tekst",
                                       "only entries whose subject (MQTT topic or series) contains this text"))
    p.add_argument("--full", action="store_true", help=t("vis hele beskeden (standard: de første 120 tegn)",
                                                         "show whole payloads (default: first 120 characters)"))

    p = commands.add_parser("store", help=t("vedligehold af lageret: kopiér historik mellem lagre",
                                            "store maintenance: copy history between stores"),
                            description=t("Vedligehold af lageret.", "Store maintenance."))
    store_commands = p.add_subparsers(dest="store_command", metavar="STORE_COMMAND", required=True)
    p = store_commands.add_parser(
        "copy", help=t("kopiér alle serier fra ét lager til et andet (kan gentages, med fremdrift)",
                       "copy every series from one store to another (idempotent, with progress)"),
        description=t(
            "Kopierer alle serier fra ét lager til et andet, f.eks. historikken fra det indbyggede lager til InfluxDB "
            "før store.kind skiftes. Kan køres igen: samme punkter overskrives. Lagre: 'sqlite' (den konfigurerede "
            "store.path), 'sqlite:PATH', 'influx' (den konfigurerede [store.influxdb]-tabel, uanset store.kind). "
            "Skriver en linje pr. kopieret serie (målinger, hastighed) og det samlede antal.",
            "Copy every series from one store to another, e.g. an embedded-store history into InfluxDB "
            "before switching store.kind. Idempotent: running it again overwrites the same points. "
            "Stores: 'sqlite' (the configured store.path), 'sqlite:PATH', 'influx' (the configured "
            "[store.influxdb] table, whatever store.kind says). Prints a line per series copied (readings, "
            "rate) and the total."))
    p.set_defaults(handler=cmd_store_copy)
    config_arg(p)
    p.add_argument("--from", dest="source", required=True, metavar="STORE", help="sqlite | sqlite:PATH | influx")
    p.add_argument("--to", dest="target", required=True, metavar="STORE", help="sqlite | sqlite:PATH | influx")
    p.add_argument("--batch", type=int, default=5000, help=t("målinger pr. skrivning (standard 5000)",
                                                             "readings per write (default 5000)"))


def parse_time(text: str) -> datetime:
    """ISO date or date-time; without a zone it is Danish local time."""
    from energimon.model import LOCAL_TZ

    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"cannot read time {text!r}; expected e.g. 2026-11-01 or 2026-11-01T06:00") from None
    return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t


EXPORT_COLUMNS = {
    "time": {"da": "Tidspunkt (dansk tid)", "en": "Time (Danish time)"},
    "window_start": {"da": "Periodens start (dansk tid)", "en": "Window start (Danish time)"},
    "utc_offset": {"da": "UTC-forskel", "en": "UTC offset"},
    "energy_wh": {"da": "Energi Wh", "en": "Energy Wh"},
    "coverage": {"da": "Dækning", "en": "Coverage"},
    "complete": {"da": "Fuldstændig", "en": "Complete"},
    "resets": {"da": "Nulstillinger", "en": "Resets"},
}
AGGREGATES = {"mean": "gennemsnit", "min": "min", "max": "maks", "last": "sidste", "sum": "sum", "count": "antal"}


def _export_header(keys: list[str], language: str) -> list[str]:
    return [EXPORT_COLUMNS.get(k, {}).get(language, k) for k in keys]


def cmd_export(args: argparse.Namespace, config: Config) -> int:
    import csv

    import pandas as pd

    from energimon.model import CHANNELS, LOCAL_TZ, Kind, SeriesKey
    from energimon.store import open_store
    from energimon.timeseries_csv import csv_cell, local_stamp, utc_offset

    prog = "energimon export"
    language = lang()
    sep = args.sep if args.sep is not None else (";" if language == "da" else ",")
    decimal_comma = args.decimal_comma if args.decimal_comma is not None else (language == "da" and sep != ",")
    try:
        key = SeriesKey.parse(args.series)
        end = parse_time(args.end) if args.end else datetime.now(tz=LOCAL_TZ)
        start = parse_time(args.start) if args.start else end - timedelta(days=1)
        if args.energy and CHANNELS[key.channel].kind is not Kind.COUNTER:
            raise ValueError(f"--energy needs a counter channel; {key.channel} is not one")
        if args.energy and not args.window:
            raise ValueError("--energy needs --window")
        if len(sep) != 1:
            raise ValueError("--sep must be one character")
        if decimal_comma and sep == ",":
            raise ValueError("--decimal-comma needs another separator, e.g. --sep ';'")
    except ValueError as exc:
        return fail(prog, str(exc), EXIT_USAGE)
    store = open_store(config.settings().store, readonly=True)  # StoreError when missing: main says so
    try:
        known = {f"{r.site}/{r.device}/{r.channel}" for r in store.series().itertuples()}
        if str(key) not in known:  # a misspelt series is an error, not an empty CSV
            return fail(prog, unknown("series", str(key), known), EXIT_USAGE)
        # a local time Excel reads as a date, its UTC offset beside it (the repeated October hour stays distinct)
        if args.energy:
            result = store.energy(key, start, end, args.window)
            df = result.windows
            header = ["window_start", "utc_offset", "energy_wh", "coverage", "complete", "resets"]
            rows: list[tuple[object, ...]] = [
                (csv_cell(w, False), utc_offset(w), *values) for w, *values in zip(
                    pd.DatetimeIndex(df.index), df["energy_wh"], df["coverage"], df["complete"], df["resets"],
                    strict=True)]
        elif args.window:
            s = store.aggregate(key, start, end, args.window, args.agg)
            agg = AGGREGATES.get(args.agg, args.agg) if language == "da" else args.agg
            header = ["window_start", "utc_offset", f"{key.channel} ({agg})"]
            rows = [(csv_cell(w, False), utc_offset(w), v) for w, v in zip(pd.DatetimeIndex(s.index), s, strict=True)]
        else:
            s = store.read(key, start, end)
            header = ["time", "utc_offset", key.channel]
            rows = [(local_stamp(w, seconds=True), utc_offset(w), v)
                    for w, v in zip(pd.DatetimeIndex(s.index).tz_convert(LOCAL_TZ), s, strict=True)]
    except ValueError as exc:
        return fail(prog, str(exc), EXIT_USAGE)
    finally:
        store.close()
    # a file gets a BOM: without one Excel reads UTF-8 as its ANSI code page (æ, ø and å garbled)
    out = args.output.open("w", newline="", encoding="utf-8-sig") if args.output else sys.stdout
    try:
        w = csv.writer(out, delimiter=sep, lineterminator="\n")
        w.writerow(_export_header(header, language))
        for row in rows:
            w.writerow([csv_cell(v, decimal_comma) for v in row])
    finally:
        if args.output:
            out.close()
    if args.output:
        print(t(f"skrev {len(rows)} rækker til {args.output}", f"wrote {len(rows)} rows to {args.output}"),
              file=sys.stderr)
    return 0


def cmd_deadletters(args: argparse.Namespace, config: Config) -> int:
    from collections import Counter

    from energimon.model import LOCAL_TZ
    from energimon.store.spool import read_dead_letters

    path = config.settings().spool.path
    if not path.exists():
        print(t(f"ingen spool i {path} (har dæmonen kørt endnu?)", f"no spool at {path} (has the daemon run yet?)"))
        return 0
    rows = read_dead_letters(path, limit=max(1, args.limit), subject=args.subject)
    if not rows:
        print(t("ingen afviste målinger", "no dead letters"))
        return 0
    per_subject = Counter(r.subject for r in rows)
    print(t(f"{len(rows)} afvist(e) vist, nyeste først; pr. emne:",
            f"{len(rows)} dead letter(s) shown, newest first; per subject:"))
    for subject, n in per_subject.most_common():
        print(f"  {n:6d}  {subject}")
    for r in rows:
        when = datetime.fromtimestamp(r.received_ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
        payload = r.payload if args.full or len(r.payload) <= 120 else r.payload[:120] + "…"
        print(f"\n#{r.id}  {when}  {r.source}  {r.subject}\n  {t('årsag:  ', 'reason: ')} {r.reason}\n"
              f"  {t('indhold:', 'payload:')} {payload}")
    return 0


def _store_from_spec(spec: str, settings: StoreSettings, *, readonly: bool) -> Store:
    from energimon.store.sqlite import SqliteStore

    if spec == "influx":
        if settings.influxdb is None:
            raise ValueError("'influx' needs a [store.influxdb] table in the configuration")
        from energimon.store.influx import InfluxStore

        return InfluxStore(settings.influxdb, readonly=readonly)
    if spec == "sqlite" or spec.startswith("sqlite:"):
        path = Path(spec.split(":", 1)[1]) if ":" in spec else settings.path
        return SqliteStore(path, readonly=readonly)
    raise ValueError(f"unknown store {spec!r}; expected sqlite, sqlite:PATH or influx")


def cmd_store_copy(args: argparse.Namespace, config: Config) -> int:
    import time

    import pandas as pd

    from energimon.model import MIN_TIMESTAMP_MS, Reading, SeriesKey
    from energimon.store.base import StoreError

    prog = "energimon store copy"
    settings = config.settings()
    if args.batch < 1:
        return fail(prog, "--batch must be at least 1", EXIT_USAGE)
    try:
        src = _store_from_spec(args.source, settings.store, readonly=True)
    except ValueError as exc:  # a wrong STORE argument (a store that cannot be opened is a StoreError: exit 1)
        return fail(prog, str(exc), EXIT_USAGE)
    try:
        dst = _store_from_spec(args.target, settings.store, readonly=False)
    except ValueError as exc:
        src.close()
        return fail(prog, str(exc), EXIT_USAGE)
    except BaseException:
        src.close()
        raise
    chunk_s = 30 * 86_400  # read the source a month-sized slice at a time (bounded memory)
    end_ms = int(pd.Timestamp.now(tz="UTC").value // 1_000_000) + 2 * 86_400_000
    copied = rejected = 0
    t0 = time.monotonic()
    try:
        series = src.series()
        print(t(f"kopierer {len(series)} serier fra {args.source} til {args.target}",
                f"copying {len(series)} series from {args.source} to {args.target}"), file=sys.stderr)
        steps = Steps()
        for i, row in enumerate(series.itertuples(index=False), 1):
            site, device, channel, role = str(row.site), str(row.device), str(row.channel), str(row.role)
            key = SeriesKey(site, device, channel)
            n_series = 0
            counts = src.partials_ms(key, MIN_TIMESTAMP_MS, end_ms, chunk_s)
            for bucket_start in counts.index[counts["count"] > 0]:
                a = int(bucket_start.value // 1_000_000)
                ts, v = src.read_raw_ms(key, a, a + chunk_s * 1000)
                readings = [Reading(site, device, channel, role, int(t), float(x))
                            for t, x in zip(ts.tolist(), v.tolist(), strict=True)]
                for j in range(0, len(readings), args.batch):
                    refused = dst.write(readings[j:j + args.batch])
                    rejected += len(refused)
                    for rej in refused[:3]:
                        print(f"  refused {rej.reading.key} at {rej.reading.ts_ms}: {rej.reason}", file=sys.stderr)
                n_series += len(readings)
                copied += len(readings)
            rate = number(copied / max(time.monotonic() - t0, 1e-9))
            steps(i, len(series), t(f"{key}: {number(n_series)} målinger (i alt {number(copied)}, {rate} målinger/s)",
                                    f"{key}: {number(n_series)} readings (total {number(copied)}, {rate} readings/s)"))
    except StoreError as exc:
        return fail(prog, t(f"stoppede efter {copied} målinger (kør igen for at fortsætte; kopiering kan gentages): "
                            f"{exc}", f"stopped after {copied} readings (run it again to resume; copying is "
                            f"idempotent): {exc}"), EXIT_FAIL)
    finally:
        src.close()
        dst.close()
    took = number(time.monotonic() - t0, 1)
    print(t(f"kopierede {number(copied)} målinger fra {len(series)} serier på {took} s"
            + (f"; {number(rejected)} afvist af målet" if rejected else ""),
            f"copied {number(copied)} readings of {len(series)} series in {took} s"
            + (f"; {number(rejected)} refused by the target" if rejected else "")))
    return EXIT_FAIL if rejected else 0
