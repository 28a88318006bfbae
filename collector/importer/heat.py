"""District-heating exports: hourly energy, volume, forward and return temperatures from the utility.

A utility's customer portal (and the meter-reading software of the utility's own Kamstrup/… meters) exports
a building's hours as a CSV with one row per hour: the time, the heat energy (kWh, MWh or GJ), the volume
(m³) and the hour's forward (fremløb) and return (returløb) temperatures.  Layouts differ, so columns are found
by their header, the **unit must be in the header** (``Energi (MWh)``, ``Volumen [m³]``, ``kWh``) — a number
without its unit could be a thousand times wrong, so such a column is refused, never guessed:

=======================================================  ===============================  ====================
header (case and extra words do not matter)              read as                          series (``--device``)
=======================================================  ===============================  ====================
tid, tidspunkt, time, timestamp, dato, fra, start, from  the hour (its start), local time  —
…(kWh) / (MWh) / (GJ) / (MJ) / (Wh), or just the unit   heat energy                      ``heat_energy_wh``
…(m³) / (m3)                                             volume                           ``volume_m3``
fremløb / frem / forward / supply / t1 …                 forward temperature, °C          ``supply_temp_c``
returløb / retur / return / t2 …                         return temperature, °C           ``return_temp_c``
anything else (afkøling, effekt, flow, kvalitet …)       ignored, and named in the summary
=======================================================  ===============================  ====================

``--values consumption``: energy and volume are the hour's consumption (from the row's time to the next
hour); they become counters that go on from what the store holds (like the Eloverblik import).
``--values readings``: they are the meter's readings (målerstande) at the row's time, which must not go
down.  The temperatures are stored at the row's time.  An empty cell is a missing value, never zero: a
missing temperature is not stored; a missing hour's consumption leaves a hole in the counter (no reading at
its start, so no hour shows zero; its energy is unknown and not counted, which the summary says; the store
flags a hole longer than 2.5 intervals as a gap).

Everything else is the generic importer's rule (``collector/importer/run.py``): strict numbers and decimal
marks, Danish local time with the DST days, duplicated times, a bad line refuses the whole file, one write.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from fractions import Fraction

from energimon.cliutil import number, t
from energimon.collector.importer.counter import anchor_wh, counter_readings, reading_sources
from energimon.collector.importer.parse import (
    ImportFormatError,
    IntervalRow,
    LocalTimes,
    amount,
    detect_decimal_mark,
    infer_interval_ms,
    normalise_header,
    parse_number,
    read_table,
)
from energimon.collector.importer.run import (
    Progress,
    _continuity_errors,
    _intervals,
    _Item,
    _no_rows,
    _sort_errors,
    _validation_errors,
    _window_errors,
    _write_all,
    resolve_duplicates,
)
from energimon.model import Reading, SeriesKey
from energimon.model import now_ms as _now_ms

ENERGY_TO_WH = {"wh": Fraction(1), "kwh": Fraction(1000), "mwh": Fraction(10**6),
                "mj": Fraction(10**6, 3600), "gj": Fraction(10**9, 3600)}
"""To Wh, exactly: 1 kWh = 1000 Wh, 1 MWh = 10⁶ Wh, 1 J = 1/3600 Wh (so 1 GJ = 277 777.7… Wh)."""
VOLUME_UNITS = ("m3", "m³")
TIME_NAMES = ("tid", "tidspunkt", "time", "timestamp", "dato", "dato/tid", "dato og tid", "fra", "fra dato",
              "start", "from", "periode", "periode start", "time start")
ENERGY_WORDS = ("energi", "energy", "varme", "heat", "forbrug", "consumption", "målerstand", "maalerstand", "reading")
VOLUME_WORDS = ("volumen", "volume", "vand", "water")
SUPPLY_WORDS = ("fremløb", "fremloeb", "fremlob", "frem", "forward", "supply", "t1")
RETURN_WORDS = ("returløb", "returloeb", "returlob", "retur", "return", "t2")
VALUES = ("consumption", "readings")
ROLE = "heat"


@dataclass
class HeatColumns:
    time: int
    energy: tuple[int, str] | None = None  # (column, unit)
    volume: int | None = None
    supply: int | None = None
    return_: int | None = None
    ignored: list[str] = field(default_factory=list)


def _unit_of(header: str) -> str | None:
    """The unit a header names: in brackets (``Energi (MWh)``, ``Volumen [m³]``) or as its last word."""
    m = re.search(r"[(\[]\s*([^)\]]+?)\s*[)\]]", header)
    unit = m.group(1) if m else header.split()[-1] if header.split() else ""
    return unit.lower().replace("°", "").replace(" ", "") or None


def _has(words: tuple[str, ...], header: str) -> bool:
    return any(re.search(rf"(^|[^a-zæøå0-9]){re.escape(w)}([^a-zæøå0-9]|$)", header) for w in words)


def heat_columns(header: list[str], name: str) -> HeatColumns:
    """Which column is what; :class:`ImportFormatError` for a header that cannot be read without a guess."""
    norm = [normalise_header(h) for h in header]
    errors: list[str] = []
    time_col = next((i for i, h in enumerate(norm) if h in TIME_NAMES), None)
    if time_col is None:
        names = ", ".join(TIME_NAMES)
        raise ImportFormatError([f"{name}:1: " + t(f"ingen tidskolonne i overskriften {header!r} (en af: {names})",
                                                   f"no time column in the header {header!r} (one of: {names})")])
    cols = HeatColumns(time_col)
    for i, h in enumerate(norm):
        if i == time_col:
            continue
        unit = _unit_of(h)
        shown = header[i].strip()
        if unit in ENERGY_TO_WH:
            if cols.energy is not None:
                first = header[cols.energy[0]].strip()
                errors.append(f"{name}:1: " + t(f"to energikolonner ({first!r} og {shown!r}): behold varmeenergien, "
                                                "fjern den anden (køleenergi hører til en import for sig)",
                                                f"two energy columns ({first!r} and {shown!r}): keep the heat "
                                                "energy, remove the other (cooling energy belongs to its own import)"))
            else:
                cols.energy = (i, unit)
        elif unit in VOLUME_UNITS:
            if cols.volume is not None:
                first = header[cols.volume].strip()
                errors.append(f"{name}:1: " + t(f"to volumenkolonner ({first!r} og {shown!r})",
                                                f"two volume columns ({first!r} and {shown!r})"))
            else:
                cols.volume = i
        elif _has(SUPPLY_WORDS, h) and cols.supply is None and unit not in ("k",):
            cols.supply = i
        elif _has(RETURN_WORDS, h) and cols.return_ is None and unit not in ("k",):
            cols.return_ = i
        elif _has(ENERGY_WORDS, h) and not _has(("effekt", "power", "kw"), h):
            bare = shown.split("(")[0].strip()
            errors.append(f"{name}:1: " + t(f"kolonnen {shown!r} ligner energi, men nævner ingen enhed: skriv enheden "
                                            f"i overskriften, fx {bare} (MWh) (en af kWh, MWh, GJ, MJ, Wh), så "
                                            "værdierne ikke kan blive læst tusind gange forkert",
                                            f"column {shown!r} looks like energy but names no unit: write the unit "
                                            f"in the header, e.g. {bare} (MWh) (one of kWh, MWh, GJ, MJ, Wh), so the "
                                            "values cannot be read a thousand times wrong"))
        elif _has(VOLUME_WORDS, h) and not _has(("flow", "m3/h", "m³/h"), h):
            bare = shown.split("(")[0].strip()
            errors.append(f"{name}:1: " + t(f"kolonnen {shown!r} ligner et volumen, men nævner ingen enhed: skriv "
                                            f"den som {bare} (m³)",
                                            f"column {shown!r} looks like a volume but names no unit: write it as "
                                            f"{bare} (m³)"))
        else:
            cols.ignored.append(shown)
    if not errors and cols.energy is None and cols.volume is None and cols.supply is None and cols.return_ is None:
        errors.append(f"{name}:1: " + t(f"ingen energi-, volumen- eller temperaturkolonne i overskriften {header!r} "
                                        "(en energikolonne nævner sin enhed, fx 'Energi (MWh)'; temperaturerne hedder "
                                        "'Fremløb' og 'Returløb')",
                                        f"no energy, volume or temperature column in the header {header!r} (an "
                                        "energy column names its unit, e.g. 'Energi (MWh)'; temperatures are "
                                        "'Fremløb' and 'Returløb')"))
    if errors:
        raise ImportFormatError(errors)
    return cols


@dataclass
class _Row:
    line: int
    ts_ms: int
    energy_wh: float | None
    volume_m3: float | None
    supply_c: float | None
    return_c: float | None


def heat_rows(text: str, name: str, decimal_mark: str | None = None) -> tuple[HeatColumns, list[_Row], list[str]]:
    """The file's columns, the rows that read well and the errors of those that do not."""
    table = read_table(text, name)
    cols = heat_columns(table.header, name)
    numeric = [c for c in (cols.energy[0] if cols.energy else None, cols.volume, cols.supply, cols.return_)
               if c is not None]
    dm = detect_decimal_mark([(ln, rec[c]) for ln, rec in table.rows for c in numeric if rec[c].strip()],
                             table.sep, name, decimal_mark)
    errors = list(table.errors)
    times = LocalTimes()
    rows: list[_Row] = []

    def cell(rec: list[str], col: int | None, what: str) -> float | None:
        if col is None or not rec[col].strip():
            return None
        try:
            return parse_number(rec[col], dm)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None

    for lineno, rec in table.rows:
        try:
            ts = times.resolve(rec[cols.time], lineno)
            energy_wh = None
            if cols.energy is not None:
                col, unit = cols.energy
                energy = cell(rec, col, table.header[col].strip())
                energy_wh = float(Fraction(energy) * ENERGY_TO_WH[unit]) if energy is not None else None
            rows.append(_Row(lineno, ts, energy_wh,
                             cell(rec, cols.volume, t("volumen", "volume")),
                             cell(rec, cols.supply, t("fremløbstemperatur", "forward temperature")),
                             cell(rec, cols.return_, t("returløbstemperatur", "return temperature"))))
        except ValueError as exc:
            errors.append(f"{name}:{lineno}: {exc}")
    return cols, rows, errors


def import_heat_text(store, text: str, site: str, device: str, values: str, name: str = "<csv>",
                     progress: Progress | None = None, *, on_duplicate: str = "error",
                     decimal_mark: str | None = None, now_ms: int | None = None) -> list[str]:
    """Import one district-heating export into ``site/device``; every problem is reported with its line, and a
    file with any problem stores nothing.  Returns the summary lines."""
    if values not in VALUES:
        raise ValueError(t(f"--values skal være en af {', '.join(VALUES)}, fik {values!r}",
                           f"--values must be one of {', '.join(VALUES)}, got {values!r}"))
    if on_duplicate == "sum":
        raise ValueError(t("--on-duplicate sum kan ikke lægge temperaturer sammen: brug error eller last",
                           "--on-duplicate sum cannot add temperatures: use error or last"))
    now = _now_ms() if now_ms is None else now_ms
    cols, rows, errors = heat_rows(text, name, decimal_mark)
    if not rows:
        raise ImportFormatError(errors or [_no_rows(name)])
    items = [_Item(r.ts_ms, None, 0.0, f"{name}:{r.line}") for r in rows]
    by_where = {f"{name}:{r.line}": r for r in rows}
    kept, dup_errors, merged = resolve_duplicates(items, on_duplicate, can_sum=False)
    errors += dup_errors
    rows = sorted((by_where[it.where] for it in kept), key=lambda r: r.ts_ms)
    step = infer_interval_ms([IntervalRow(0, "", r.ts_ms, None, 0.0) for r in rows])
    consumption = values == "consumption"
    errors += _window_errors([_Item(r.ts_ms, None, 0.0, f"{name}:{r.line}") for r in rows],
                             step if consumption else None, now)
    readings: list[Reading] = []
    sources: list[str] = []
    lines: list[str] = []
    # (channel, attribute, what it is, "negative …" in Danish, where the adjective follows the noun's gender)
    counters = [("heat_energy_wh", "energy_wh", t("energi", "energy"), t("negativ energi", "negative energy"), "kWh",
                 1000.0),
                ("volume_m3", "volume_m3", t("volumen", "volume"), t("negativt volumen", "negative volume"), "m³", 1.0)]
    for channel, attr, what, negative, unit, per_unit in counters:
        series = [(r, getattr(r, attr)) for r in rows if getattr(r, attr) is not None]
        if not series:
            continue
        key = SeriesKey(site, device, channel)
        if consumption:
            bad = [f"{name}:{r.line}: " + t(f"{negative} {amount(v / per_unit)} {unit}: en times forbrug er "
                                            "aldrig negativt; ret rækken eller udelad værdien",
                                            f"{negative} {amount(v / per_unit)} {unit}: an hour's consumption "
                                            "is never negative; correct the row or leave the value out")
                   for r, v in series if v < 0]
            errors += bad
            intervals, errs = _intervals([_Item(r.ts_ms, None, v, f"{name}:{r.line}") for r, v in series], step)
            errors += errs
            if bad or errs or errors:
                continue
            rs = counter_readings(key, ROLE, intervals, anchor_wh(store, key, intervals[0].start_ms))
            errors += _continuity_errors(store, key, intervals, rs)
            readings += rs
            sources += reading_sources(intervals)
            total = sum(i.energy_wh for i in intervals) / per_unit
            empty = len(rows) - len(series)
            hours, in_all, counted = number(len(intervals)), number(total, 3), number(len(rs))
            lines.append(t(f"{name} -> {key}: {hours} timer, {in_all} {unit} i alt, {counted} tælleraflæsninger"
                           + (f"; {empty} time(r) uden værdi: ikke talt med (ukendt, aldrig nul)" if empty else ""),
                           f"{name} -> {key}: {hours} hours, {in_all} {unit} in all, {counted} counter readings"
                           + (f"; {empty} hour(s) without a value: not counted (unknown, never zero)"
                              if empty else "")))
        else:
            errors += [f"{name}:{b.line}: " + t(f"målerstanden for {what} {amount(vb / per_unit)} {unit} er lavere "
                                                f"end {amount(va / per_unit)} {unit} på "
                                                f"linje {a.line} (tidspunktet før): en målerstand stiger kun; ret "
                                                "værdien (ved et måleskift: importér de to måleres målerstande hver "
                                                "for sig)",
                                                f"{what} reading {amount(vb / per_unit)} {unit} is lower than "
                                                f"{amount(va / per_unit)} {unit} on line "
                                                f"{a.line} (the time before it): a meter reading only rises; correct "
                                                "the value (a meter swap: import the two meters' readings separately)")
                       for (a, va), (b, vb) in itertools.pairwise(series) if vb < va]
            readings += [Reading(site, device, channel, ROLE, r.ts_ms, float(v)) for r, v in series]
            sources += [f"{name}:{r.line}" for r, _ in series]
            lines.append(t(f"{name} -> {key}: {number(len(series))} målerstande",
                           f"{name} -> {key}: {number(len(series))} meter readings"))
    for channel, attr in (("supply_temp_c", "supply_c"), ("return_temp_c", "return_c")):
        series = [(r, getattr(r, attr)) for r in rows if getattr(r, attr) is not None]
        if series:
            readings += [Reading(site, device, channel, ROLE, r.ts_ms, float(v)) for r, v in series]
            sources += [f"{name}:{r.line}" for r, _ in series]
            lines.append(t(f"{name} -> {site}/{device}/{channel}: {number(len(series))} timeværdier",
                           f"{name} -> {site}/{device}/{channel}: {number(len(series))} hourly values"))
    errors += _validation_errors(readings, sources, now, errors)
    if errors:
        raise ImportFormatError(_sort_errors(errors, [name]))
    _write_all(store, readings, progress)
    if merged:
        lines.append(t(f"({merged} dobbelte tidspunkt(er) løst med --on-duplicate {on_duplicate})",
                       f"({merged} duplicated time(s) resolved with --on-duplicate {on_duplicate})"))
    if cols.ignored:
        lines.append(t(f"kolonner ikke importeret: {', '.join(cols.ignored)}",
                       f"columns not imported: {', '.join(cols.ignored)}"))
    return lines
