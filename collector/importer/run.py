"""Import logic shared by the CLI and tests: parse, check, turn into readings, write — all or nothing.

Every check that can refuse a file runs before the first write: parsing (every bad line named),
duplicated times (``on_duplicate``), negative interval energy, counters going backwards (also
against later readings an earlier import stored: files imported out of order), overlapping
intervals, times before 2000 or more than 24 h ahead (the spool's validity window, so an import
refuses what the daemon would dead-letter), and the store's own reading validation.  The readings
then go to the store in one write: the embedded SQLite store writes them in one transaction, so
a failure half-way stores nothing.  InfluxDB has no transactions: if it fails half-way the
readings written so far stay, and running the same import again (idempotent) completes it.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from energimon.cliutil import number, t
from energimon.collector.importer.counter import Interval, anchor_wh, counter_readings, reading_sources
from energimon.collector.importer.parse import (
    ImportFormatError,
    IntervalRow,
    amount,
    eloverblik_rows,
    infer_interval_ms,
    local_text,
    time_value_rows,
)
from energimon.collector.importer.units import ENERGY_UNITS_WH, Conversion, KwhPerM3, conversion, local_year
from energimon.model import CHANNELS, MAX_FUTURE_MS, MIN_TIMESTAMP_MS, Kind, Reading, SeriesKey, validate_reading
from energimon.model import now_ms as _now_ms
from energimon.store.base import StoreError

Progress = Callable[[int, int], None]
ON_DUPLICATE = ("error", "last", "sum")
INFLUX_BATCH = 5000


class ImportWriteError(RuntimeError):
    """The store failed while an import was being written (the message says what was stored)."""


@dataclass(frozen=True)
class _Item:
    """One row of one series: its time (an interval's start), optional end, value and ``file:line``."""

    ts_ms: int
    end_ms: int | None
    value: float
    where: str


def resolve_duplicates(items: list[_Item], policy: str, *, can_sum: bool) -> tuple[list[_Item], list[str], int]:
    """Rows with the same time: refused naming both lines (``error``), the later line kept (``last``), or
    interval energies added (``sum``).  ``items`` in file order; returns (items, errors, rows merged)."""
    if policy not in ON_DUPLICATE:
        choices = ", ".join(ON_DUPLICATE)
        raise ValueError(t(f"--on-duplicate skal være en af {choices}, fik {policy!r}",
                           f"--on-duplicate must be one of {choices}, got {policy!r}"))
    if policy == "sum" and not can_sum:
        raise ValueError(t("--on-duplicate sum lægger intervalenergier sammen; det kræver --interval-kwh (to "
                           "målinger på samme tidspunkt kan ikke lægges sammen)",
                           "--on-duplicate sum adds interval energies; it needs --interval-kwh "
                           "(two readings at one time cannot be added)"))
    groups: dict[int, list[_Item]] = defaultdict(list)
    for it in items:
        groups[it.ts_ms].append(it)
    if all(len(g) == 1 for g in groups.values()):
        return items, [], 0
    hint = t("fjern den ene, eller kør igen med --on-duplicate last (behold den senere linje)"
             + (" eller --on-duplicate sum (læg intervallerne sammen)" if can_sum else ""),
             "remove one of them, or run again with --on-duplicate last (keep the later line)"
             + (" or --on-duplicate sum (add the intervals)" if can_sum else ""))
    out: list[_Item] = []
    errors: list[str] = []
    merged = 0
    for ts, g in groups.items():
        if len(g) == 1:
            out.append(g[0])
            continue
        merged += len(g) - 1
        if policy == "error":
            errors += [f"{it.where}: " + t(f"samme tidspunkt ({local_text(ts)}) som {g[0].where}; {hint}",
                                           f"the same time ({local_text(ts)}) as {g[0].where}; {hint}")
                       for it in g[1:]]
        elif policy == "last":
            out.append(g[-1])
        else:
            ends = {it.end_ms for it in g}
            if len(ends) > 1:
                errors.append(f"{g[-1].where}: " + t(f"begynder samtidig med {g[0].where}, men slutter på et andet "
                                                     "tidspunkt; intervaller af forskellig længde kan ikke lægges "
                                                     "sammen: fjern det ene",
                                                     f"starts at the same time as {g[0].where} but ends at another "
                                                     "time; intervals of different lengths cannot be added: remove "
                                                     "one of them"))
            out.append(replace(g[-1], value=sum(it.value for it in g)))
    return out, errors, merged


def _window_errors(items: list[_Item], step_ms: int | None, now: int) -> list[str]:
    """Times the store keeps: from 2000-01-01 to 24 h after now (the same window as the spool's)."""
    errors = []
    for it in items:
        end = it.ts_ms if step_ms is None else (it.end_ms if it.end_ms is not None else it.ts_ms + step_ms)
        if it.ts_ms < MIN_TIMESTAMP_MS:
            at = local_text(it.ts_ms)
            errors.append(f"{it.where}: " + t(f"{at} er før år 2000, og energimon gemmer målinger fra 2000-01-01: "
                                              "tjek datoen og dens format (dag-måned-år eller år-måned-dag)",
                                              f"{at} is before the year 2000, and the store keeps readings from "
                                              "2000-01-01 on: check the date and its format (day-month-year, or "
                                              "year-month-day)"))
        elif end > now + MAX_FUTURE_MS:
            at, until, now_text = local_text(it.ts_ms), local_text(end), local_text(now)
            if step_ms is None:
                what_da, what_en = f"{until} er", f"{until} is"
            else:
                what_da = f"intervallet, der begynder {at}, slutter {until},"
                what_en = f"the interval starting {at} ends {until},"
            errors.append(f"{it.where}: " + t(f"{what_da} i fremtiden (mere end 24 timer efter nu, {now_text}): tjek "
                                              "datoen og dens format, og computerens ur",
                                              f"{what_en} in the future (more than 24 h after now, {now_text}): "
                                              "check the date and its format, and the computer's clock"))
    return errors


def _intervals(items: list[_Item], step_ms: int) -> tuple[list[Interval], list[str]]:
    """Intervals in time order; one that begins before the previous one ends is refused."""
    out: list[Interval] = []
    errors: list[str] = []
    for it in sorted(items, key=lambda i: i.ts_ms):
        end = it.end_ms if it.end_ms is not None else it.ts_ms + step_ms
        if out and it.ts_ms < out[-1].end_ms:
            at, prev, prev_end = local_text(it.ts_ms), out[-1].where, local_text(out[-1].end_ms)
            errors.append(f"{it.where}: " + t(f"intervallet, der begynder {at}, starter før intervallet på {prev} "
                                              f"slutter ({prev_end}): fjern den overlappende række",
                                              f"the interval starting {at} begins before the one on {prev} ends "
                                              f"({prev_end}): remove the overlapping row"))
            continue
        out.append(Interval(it.ts_ms, end, it.value, it.where))
    return out, errors


def _validation_errors(readings: list[Reading], sources: list[str], now: int, known: list[str]) -> list[str]:
    """The store's own checks (``validate_reading``) on lines that have no problem reported yet."""
    named = {e.split(": ", 1)[0] for e in known}
    errors = []
    for r, where in zip(readings, sources, strict=True):
        if where in named:
            continue
        try:
            validate_reading(r, now)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
    return errors


CONTINUITY_LOOK_AHEAD_MS = 35 * 86_400_000


def _continuity_errors(store, key: SeriesKey, intervals: list[Interval], readings: list[Reading]) -> list[str]:
    """Readings the store already holds after this import's counter, computed from another counter value.

    An earlier import of a later file continues its counter from what the store held at its start; if this
    import ends at a different value there (files imported out of order, or a corrected earlier file), the
    stored later readings would go down or jump.  Refused: the later files must be imported with this one."""
    end_ms, end_wh = readings[-1].ts_ms, readings[-1].value
    ts, v = store.read_raw_ms(key, end_ms, end_ms + CONTINUITY_LOOK_AHEAD_MS)
    if len(ts) == 0 or (len(ts) == 1 and ts[0] == end_ms):
        return []
    tol = 1e-6 * max(1.0, abs(end_wh))
    at_end = float(v[0]) if ts[0] == end_ms else None
    after_ts, after_v = (int(ts[1]), float(v[1])) if at_end is not None else (int(ts[0]), float(v[0]))
    if at_end is not None and abs(at_end - end_wh) <= tol:
        return []
    if at_end is None and after_v >= end_wh - tol:
        return []
    held_wh, held_ms = (at_end, end_ms) if at_end is not None else (after_v, after_ts)
    held_kwh, held_at = number(held_wh / 1000, 3), local_text(held_ms)
    end_kwh, end_at = number(end_wh / 1000, 3), local_text(end_ms)
    return [f"{intervals[-1].where}: " + t(
        f"denne import slutter med {key} på {end_kwh} kWh ({end_at}), men energimon har allerede senere "
        f"målinger af den, som fortsætter fra {held_kwh} kWh kl. {held_at} (en tidligere import af en senere fil): "
        "de ville gå ned eller springe. Importér denne fil sammen med seriens senere fil(er) i én kommando, så "
        "tælleren fortsætter hen over dem",
        f"this import ends with {key} at {end_kwh} kWh ({end_at}), but the store already holds later readings of "
        f"it that continue from {held_kwh} kWh at {held_at} (an earlier import of a later file): they would go "
        "down or jump. Import this file together with the later file(s) of the series in one command, so the "
        "counter runs on across them")]


def _write_all(store, readings: list[Reading], progress: Progress | None) -> None:
    """All readings, all or nothing where the store allows it (see the module docstring)."""
    total = len(readings)
    written = 0
    try:
        if store.kind == "sqlite":  # one call = one transaction
            rejected = store.write(readings)
            written = total - len(rejected)
            if progress:
                progress(total, total)
        else:
            rejected = []
            for i in range(0, total, INFLUX_BATCH):
                rejected += store.write(readings[i:i + INFLUX_BATCH])
                written = min(i + INFLUX_BATCH, total)
                if progress:
                    progress(written, total)
    except StoreError as exc:
        if store.kind == "sqlite":
            raise ImportWriteError(t(f"databasen kunne ikke tage imod målingerne, og intet blev gemt: {exc}; kør den "
                                     "samme kommando igen, når databasen kan skrives i",
                                     f"the store could not take the readings and nothing was stored: {exc}; run "
                                     "the same command again when the store is writable")) from None
        done, of = number(written), number(total)
        raise ImportWriteError(t(f"databasen fejlede efter {done} af {of} målinger: {exc}. De målinger, der allerede "
                                 "er skrevet, bliver i databasen (InfluxDB har ingen transaktioner); en import kan "
                                 "gentages uden skade: kør den samme kommando igen for at gøre importen færdig",
                                 f"the store failed after {done} of {of} readings: {exc}. The readings written so "
                                 "far stay in the store (InfluxDB has no transactions); importing is idempotent: "
                                 "run the same command again to complete the import")) from None
    if rejected:  # cannot happen: the same validation ran before the write
        r = rejected[0]
        n_bad, of, at = number(len(rejected)), number(total), local_text(r.reading.ts_ms)
        raise ImportWriteError(t(f"databasen afviste {n_bad} af {of} målinger, fx {r.reading.key} kl. {at}: "
                                 f"{r.reason}; de andre blev skrevet",
                                 f"the store refused {n_bad} of {of} readings, e.g. {r.reading.key} at {at}: "
                                 f"{r.reason}; the others were written"))


def _sort_errors(errors: list[str], names: list[str]) -> list[str]:
    order = {n: i for i, n in enumerate(names)}

    def key(e: str) -> tuple[int, int]:
        m = re.match(r"(.*?):(\d+): ", e)
        if m is None:
            return (len(names), 0)
        return (order.get(m.group(1), len(names)), int(m.group(2)))

    return sorted(errors, key=key)


def _no_rows(name: str) -> str:
    return f"{name}:2: " + t("ingen rækker efter overskriften: intet at importere",
                             "no rows after the header: nothing to import")


# -- Eloverblik/DataHub --------------------------------------------------------------------------

def import_eloverblik_files(store, files: list[tuple[str, str]], mapping: dict, *, on_duplicate: str = "error",
                            decimal_mark: str | None = None, progress: Progress | None = None,
                            now_ms: int | None = None) -> list[str]:
    """Import exports given as ``(name, text)``: one summary line per metering point.

    The files are one import: a problem in any of them stores nothing from any.  The rows of one
    metering point from all files form one series (a row in two files is a duplicate)."""
    now = _now_ms() if now_ms is None else now_ms
    names = [n for n, _ in files]
    errors: list[str] = []
    by_mp: dict[str, list[IntervalRow]] = defaultdict(list)
    for name, text in files:
        try:
            rows, errs = eloverblik_rows(text, name, decimal_mark)
        except ImportFormatError as exc:  # no usable header
            errors += exc.errors
            continue
        errors += errs
        if not rows and not errs:
            errors.append(_no_rows(name))
        unknown: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            if r.metering_point in mapping:
                by_mp[r.metering_point].append(r)
            else:
                unknown[r.metering_point].append(r.line)
        errors += [f"{name}:{lines[0]}: " + t(f"målepunkt {mp} står ikke i [[datahub.metering_points]] "
                                              f"({number(len(lines))} række(r)); tilføj det med den bygning (site), "
                                              "det apparat (device) og den kanal (channel), dets data hører til",
                                              f"metering point {mp} is not in [[datahub.metering_points]] "
                                              f"({number(len(lines))} row(s)); add it with the site, device and "
                                              "channel its data belongs to")
                   for mp, lines in unknown.items()]
    parse_failed = bool(errors)
    plans = []
    owner: dict[SeriesKey, str] = {}
    for mp, rows in by_mp.items():
        m = mapping[mp]
        key = SeriesKey(m.site, m.device, m.channel)
        if key in owner:
            errors.append(f"{rows[0].source}:{rows[0].line}: " + t(
                f"målepunkterne {owner[key]} og {mp} peger begge på {key} i [[datahub.metering_points]]: giv hvert "
                "sit eget device",
                f"metering points {owner[key]} and {mp} both map to {key} in [[datahub.metering_points]]: give each "
                "its own device"))
            continue
        owner[key] = mp
        step = infer_interval_ms(rows)
        items = [_Item(r.start_ms, r.end_ms, r.energy_wh, f"{r.source}:{r.line}") for r in rows]
        items, errs, merged = resolve_duplicates(items, on_duplicate, can_sum=True)
        errors += errs
        errors += _window_errors(items, step, now)
        intervals, errs = _intervals(items, step)
        errors += errs if not parse_failed else []  # rows missing for bad lines would make false overlaps
        if intervals:
            plans.append((mp, key, m.role, intervals, step, merged))
    if errors:
        raise ImportFormatError(_sort_errors(errors, names))
    readings: list[Reading] = []
    lines: list[str] = []
    for mp, key, role, intervals, step, merged in plans:
        rs = counter_readings(key, role, intervals, anchor_wh(store, key, intervals[0].start_ms))
        errors += _validation_errors(rs, reading_sources(intervals), now, errors)
        errors += _continuity_errors(store, key, intervals, rs)
        readings += rs
        total_kwh = sum(i.energy_wh for i in intervals) / 1000.0
        n, minutes, kwh, written = number(len(intervals)), step // 60000, number(total_kwh, 1), number(len(rs))
        lines.append(t(f"{mp} -> {key}: {n} intervaller à {minutes} min, {kwh} kWh, {written} tælleraflæsninger "
                       "skrevet" + (f" ({merged} dobbelte interval(ler) løst med --on-duplicate {on_duplicate})"
                                    if merged else ""),
                       f"{mp} -> {key}: {n} intervals of {minutes} min, {kwh} kWh, {written} counter readings "
                       "written" + (f" ({merged} duplicated interval(s) resolved with --on-duplicate {on_duplicate})"
                                    if merged else "")))
    if errors:
        raise ImportFormatError(_sort_errors(errors, names))
    _write_all(store, readings, progress)
    return lines


def import_eloverblik_text(store, text: str, mapping: dict, name: str = "<csv>", progress: Progress | None = None,
                           **options) -> list[str]:
    """One export (see :func:`import_eloverblik_files`)."""
    return import_eloverblik_files(store, [(name, text)], mapping, progress=progress, **options)


# -- generic time,value ----------------------------------------------------------------------------

def import_time_value_text(store, text: str, key: SeriesKey, role: str, interval_kwh: bool = False,
                           name: str = "<csv>", progress: Progress | None = None, *, on_duplicate: str = "error",
                           allow_counter_reset: bool = False, decimal_mark: str | None = None,
                           now_ms: int | None = None, unit: str | None = None,
                           kwh_per_m3: KwhPerM3 | None = None) -> str:
    """Import a generic time,value file into one series; every problem is reported with its line.  ``unit``: the
    values' unit, converted into the channel's (:mod:`energimon.collector.importer.units`; ``kwh_per_m3`` gives
    the gas's calorific value when gas arrives in energy units)."""
    now = _now_ms() if now_ms is None else now_ms
    info = CHANNELS[key.channel]
    if interval_kwh and info.kind is not Kind.COUNTER:
        raise ValueError(t(f"--interval-kwh kræver en tællerkanal; {key.channel} er af typen {info.kind}",
                           f"--interval-kwh needs a counter channel; {key.channel} is a {info.kind}"))
    if allow_counter_reset and (interval_kwh or info.kind is not Kind.COUNTER):
        raise ValueError(t("--allow-counter-reset er til tælleraflæsninger (en tællerkanal uden --interval-kwh)",
                           "--allow-counter-reset is for counter readings (a counter channel without "
                           "--interval-kwh)"))
    resolve_duplicates([], on_duplicate, can_sum=interval_kwh)  # a wrong option before reading the file
    conv = conversion(unit, key.channel, role, interval_kwh, kwh_per_m3)
    rows, parse_errors = time_value_rows(text, name, decimal_mark)
    if not rows:
        raise ImportFormatError(parse_errors or [_no_rows(name)])
    items = [_Item(r.ts_ms, None, r.value, f"{name}:{r.line}") for r in rows]
    items, errors, merged = resolve_duplicates(items, on_duplicate, can_sum=interval_kwh)
    errors += parse_errors
    if interval_kwh:  # in the file's unit, as the line says it
        what_da, what_en = ("energi", "energy") if conv.unit in ENERGY_UNITS_WH else ("volumen", "volume")
        errors += [f"{it.where}: " + t(f"negativ {what_da} {amount(it.value)} {conv.unit}: en forbrugstæller stiger "
                                       "kun (eksport eller produktion hører til i sin egen serie, fx "
                                       "energy_export_wh, med positive værdier); ret rækken eller udelad den",
                                       f"negative {what_en} {amount(it.value)} {conv.unit}: a consumption counter "
                                       "only rises (export or production belongs in its own series, e.g. "
                                       "energy_export_wh, with positive values); correct the row or leave it out")
                   for it in items if it.value < 0]
    items, errs = _converted(items, conv, key.site)
    errors += errs
    if interval_kwh:
        step = infer_interval_ms([IntervalRow(0, "", it.ts_ms, None, it.value) for it in items])
        errors += _window_errors(items, step, now)
        intervals, errs = _intervals(items, step)
        errors += errs if not parse_errors else []  # rows missing for bad lines would make false overlaps
        if errors:
            raise ImportFormatError(_sort_errors(errors, [name]))
        readings = counter_readings(key, role, intervals, anchor_wh(store, key, intervals[0].start_ms))
        sources = reading_sources(intervals)
        errors += _continuity_errors(store, key, intervals, readings)
    else:
        errors += _window_errors(items, None, now)
        items.sort(key=lambda i: i.ts_ms)
        if info.kind is Kind.COUNTER and not allow_counter_reset:
            errors += [f"{b.where}: " + t(f"tælleraflæsningen {amount(b.value)} er lavere end {amount(a.value)} på "
                                          f"{a.where} (tidspunktet før): en tæller stiger kun — ret værdien, eller "
                                          "hvis måleren blev nulstillet eller skiftet dér, kør igen med "
                                          "--allow-counter-reset",
                                          f"counter reading {amount(b.value)} is lower than {amount(a.value)} on "
                                          f"{a.where} (the time before it): a counter only rises — correct the value, "
                                          "or if the meter was reset or replaced there, run again with "
                                          "--allow-counter-reset")
                       for a, b in itertools.pairwise(items) if b.value < a.value]
        readings = [Reading(key.site, key.device, key.channel, role, it.ts_ms, it.value) for it in items]
        sources = [it.where for it in items]
    errors += _validation_errors(readings, sources, now, errors)
    if errors:
        raise ImportFormatError(_sort_errors(errors, [name]))
    _write_all(store, readings, progress)
    unit_note = f" ({conv.summary})" if conv.summary else ""
    return t(f"{name} -> {key}: {number(len(readings))} målinger skrevet{unit_note}"
             + (f" ({merged} dobbelte tidspunkt(er) løst med --on-duplicate {on_duplicate})" if merged else ""),
             f"{name} -> {key}: {number(len(readings))} readings written{unit_note}"
             + (f" ({merged} duplicated time(s) resolved with --on-duplicate {on_duplicate})" if merged else ""))


def _converted(items: list[_Item], conv: Conversion, site: str) -> tuple[list[_Item], list[str]]:
    """The items in the channel's unit; an error for the first row of each year without a calorific value."""
    out, errors, missing = [], [], set()
    for it in items:
        f = conv.factor(it.ts_ms)
        if f is None:
            year = local_year(it.ts_ms)
            if year not in missing:
                missing.add(year)
                errors.append(f"{it.where}: " + t(
                    f"ingen brændværdi for gassen i {year} på {site}: tilføj [[carriers.gas_calorific_value]] med "
                    f"year <= {year}, kwh_per_m3 og source",
                    f"no calorific value for the gas in {year} at {site}: add [[carriers.gas_calorific_value]] with "
                    f"year <= {year}, kwh_per_m3 and source"))
            continue
        out.append(it if f == 1.0 else replace(it, value=it.value * f))
    return out, errors
