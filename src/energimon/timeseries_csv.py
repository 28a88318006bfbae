"""Read ``time,value``-style CSV files strictly: numbers, Danish local times, lines — every problem with its line.

The shared reader of the CSV files people hand energimon: the importer's files
(:mod:`energimon.collector.importer`: Eloverblik/DataHub exports and ``time,value`` files) and the
savings contract's price file (:mod:`energimon.analytics.esco.prices`).  Every value is read exactly or
refused with its line; nothing is guessed:

* **Numbers.** The decimal mark is found per file from the values that can only be read
  one way (``0,25`` or ``1.234,5``: comma; ``21.32`` or ``1,234.5``: point); the mark most
  of them use wins, and when no value tells, ``;`` files use a comma and ``,`` files a
  point.  A value that does not read cleanly with the file's mark is refused, never
  truncated or scaled.  A thousands separator is accepted where it cannot be a decimal
  mark: next to the decimal mark (``1.234,5``), repeated (``1.234.567``), or a space;
  ``1.234`` alone in a decimal-comma file could be either and is refused, unless the user
  states the mark (``--decimal-mark``).
* **Local time.** Times without an offset are Danish local time (Europe/Copenhagen).  The
  hour repeated at the autumn DST change is read in time order: its first occurrence is
  CEST (UTC+2), the second CET (UTC+1) — for each hourly or quarter-hour time in it.  A
  third occurrence, or one out of time order, is refused.  Times skipped by the spring
  change do not exist and are refused.
* **Lines.** A line longer than :data:`MAX_LINE_CHARS`, with broken quoting, or with more
  or fewer fields than the header is refused with its number (an unquoted decimal comma
  in a ``,`` file splits the value into two fields).
"""

from __future__ import annotations

import csv
import functools
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from energimon.cliutil import lang, number, t
from energimon.model import LOCAL_TZ

MAX_LINE_CHARS = 4096
"""The longest line accepted.  A row of these files is under 200 characters; a longer one
is a wrong file, not data (and Python's csv module would stop at 131,072 characters)."""
SHOW_ERRORS = 20
"""Problems listed in full; the rest are counted."""
HOUR_MS = 3_600_000


class CsvFormatError(ValueError):
    """A file that cannot be read; ``errors`` lists ``file:line: problem`` strings."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        rest = len(errors) - SHOW_ERRORS
        more = (t(f"\n  … og {number(rest)} fejl mere (de første {SHOW_ERRORS} er vist)",
                  f"\n  … and {number(rest)} more problem(s) (the first {SHOW_ERRORS} are shown)")
                if rest > 0 else "")
        super().__init__(t(f"{number(len(errors))} fejl:\n  ", f"{number(len(errors))} problem(s):\n  ")
                         + "\n  ".join(errors[:SHOW_ERRORS]) + more)


_FORMATS = ("%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d-%m-%Y",
            "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class ValueRow:
    line: int
    ts_ms: int
    value: float


# -- numbers ---------------------------------------------------------------------------------------

_OTHER = {",": ".", ".": ","}
_SPACES = " \u00a0\u202f"  # space, no-break space, narrow no-break space: thousands groups, never decimal
_NUMBER_RE = {
    d: re.compile(rf"(?P<int>\d+|[1-9]\d{{0,2}}(?:[{re.escape(_OTHER[d] + _SPACES)}]\d{{3}})+)"
                  rf"(?:{re.escape(d)}(?P<frac>\d+))?(?P<exp>[eE][+-]?\d{{1,3}})?")
    for d in ",."
}


@dataclass(frozen=True)
class DecimalMark:
    """A file's decimal mark (``','``, ``'.'`` or ``None`` when nothing tells) and why it is that mark."""

    mark: str | None
    why: str
    explicit: bool = False


def _read_with(core: str, mark: str) -> tuple[float, bool] | None:
    """``core`` (no sign) read with decimal mark ``mark``: (value, ambiguous) or None if it does not fit.

    Ambiguous: one group of three digits after the other mark and no decimal part (``1.234`` read
    with a decimal comma), which could equally be a decimal number written with the other mark."""
    m = _NUMBER_RE[mark].fullmatch(core)
    if m is None:
        return None
    int_part = m["int"]
    groups = re.split(f"[{re.escape(_OTHER[mark] + _SPACES)}]", int_part)
    ambiguous = m["frac"] is None and int_part.count(_OTHER[mark]) == 1 and len(groups) == 2
    text = "".join(groups) + ("." + m["frac"] if m["frac"] is not None else "") + (m["exp"] or "")
    return float(text), ambiguous


def _core(text: str) -> tuple[str, float]:
    s = text.strip().replace("\u2212", "-")
    sign = -1.0 if s.startswith("-") else 1.0
    return s[1:] if s[:1] in "+-" else s, sign


def decimal_evidence(text: str) -> str | None:
    """The decimal mark ``text`` must have been written with, or None when it reads the same or
    ambiguously with both (``12``, ``1.234``) or with neither (not a number)."""
    core, _ = _core(text)
    readings = {d: _read_with(core, d) for d in ",."}
    fits = [d for d, r in readings.items() if r is not None and not r[1]]
    if len(fits) == 1 and readings[_OTHER[fits[0]]] is None:
        return fits[0]
    return None


def detect_decimal_mark(values: list[tuple[int, str]], sep: str, name: str,
                        given: str | None = None) -> DecimalMark:
    """The decimal mark of one file from its ``(line, value text)`` pairs.

    The mark most values can only be read with wins; without any such value, ``;`` files
    use a decimal comma (Danish) and ``,`` files a decimal point; otherwise none is known
    and a value that reads differently with each mark is refused."""
    if given is not None:
        return DecimalMark(given, t(f"angivet med --decimal-mark {given}", f"given with --decimal-mark {given}"),
                           explicit=True)
    first: dict[str, tuple[int, str]] = {}
    count = {",": 0, ".": 0}
    for line, text in values:
        d = decimal_evidence(text)
        if d is not None:
            count[d] += 1
            first.setdefault(d, (line, text.strip()))
    hint = {";": ",", ",": "."}.get(sep)
    if count[","] or count["."]:
        if count[","] != count["."]:
            mark = "," if count[","] > count["."] else "."
        else:
            mark = hint or min(first, key=lambda d: first[d][0])
        line, text = first[mark]
        return DecimalMark(mark, t(f"som på {name}:{line}: {text!r}", f"as on {name}:{line}: {text!r}"))
    if hint is not None:
        return DecimalMark(hint, t(f"det sædvanlige decimaltegn i filer adskilt med {sep!r}",
                                   f"the usual decimal mark in {sep!r}-separated files"))
    return DecimalMark(None, t("ingen værdi i filen viser, hvilket decimaltegn den bruger",
                               "no value in the file shows which decimal mark it uses"))


def parse_number(text: str, decimal_mark: DecimalMark | str | None = None) -> float:
    """A number written with ``decimal_mark`` (a :class:`DecimalMark`, ``','``, ``'.'``, or None: the value
    must read the same with both marks or fit only one).  Raises ValueError saying what to do.

    ``'1.234,5'`` / ``'1234,5'`` -> 1234.5 with a comma; ``'1234.5'`` / ``'1,234.5'`` -> 1234.5 with a point.
    """
    dm = decimal_mark if isinstance(decimal_mark, DecimalMark) else DecimalMark(
        decimal_mark, t(f"decimaltegn {decimal_mark!r}", f"decimal mark {decimal_mark!r}") if decimal_mark
        else t("intet decimaltegn angivet", "no decimal mark given"),
        explicit=decimal_mark is not None)
    if not text.strip():
        raise ValueError(t("tom værdi (en manglende værdi er ikke nul: udelad rækken)",
                           "empty value (missing is not zero: leave the row out)"))
    core, sign = _core(text)
    if dm.mark is not None:
        r = _read_with(core, dm.mark)
        if r is not None and not r[1]:  # the usual case: read, not ambiguous
            return _finite(r[0] * sign, text)
    readings = {d: _read_with(core, d) for d in ",."}
    if dm.mark is None:
        fits = {d: r for d, r in readings.items() if r is not None}
        values = {r[0] for r in fits.values()}
        if len(values) > 1:
            a, b = (fits[d][0] for d in ".,")
            shown, pa, pb = text.strip(), _plain(a * sign), _plain(b * sign)
            raise ValueError(t(f"{shown!r} er {pa} med decimalpunktum og {pb} med decimalkomma, og {dm.why}: kør "
                               "igen med --decimal-mark . eller --decimal-mark ,",
                               f"{shown!r} is {pa} with a decimal point and {pb} with a decimal comma, and "
                               f"{dm.why}: run again with --decimal-mark . or --decimal-mark ,"))
        if not fits:
            raise ValueError(_not_a_number(text))
        value = values.pop()
    else:
        r = readings[dm.mark]
        if r is None:
            if readings[_OTHER[dm.mark]] is not None:
                shown, other_mark = text.strip(), _OTHER[dm.mark]
                raise ValueError(t(f"{shown!r} er skrevet med decimaltegnet {other_mark!r}, men filens decimaltegn "
                                   f"er {dm.mark!r} ({dm.why}); en fil bruger ét decimaltegn: ret værdien, eller "
                                   "eksportér filen igen",
                                   f"{shown!r} is written with decimal mark {other_mark!r}, but this file's decimal "
                                   f"mark is {dm.mark!r} ({dm.why}); one file uses one decimal mark: correct the "
                                   "value, or export the file again"))
            raise ValueError(_not_a_number(text))
        value, ambiguous = r
        if ambiguous and not dm.explicit:
            other = readings[_OTHER[dm.mark]]  # ambiguous: it reads with the other mark too
            alt = other[0] * sign if other is not None else math.nan
            shown, o, m, pv, pa = text.strip(), _OTHER[dm.mark], dm.mark, _plain(value * sign), _plain(alt)
            raise ValueError(t(f"{shown!r} er tvetydig: {o!r} er enten tusindtalsadskiller ({pv}) eller decimaltegn "
                               f"({pa}), og filens decimaltegn er {m!r} ({dm.why}); sig hvilket med --decimal-mark "
                               f"{m} (så adskiller {o!r} tusinder) eller --decimal-mark {o}",
                               f"{shown!r} is ambiguous: {o!r} is either a thousands separator ({pv}) or a decimal "
                               f"mark ({pa}), and this file's decimal mark is {m!r} ({dm.why}); say which with "
                               f"--decimal-mark {m} (then {o!r} separates thousands) or --decimal-mark {o}"))
    return _finite(value * sign, text)


def _finite(value: float, text: str) -> float:
    if not math.isfinite(value):
        shown = f"{text.strip()[:40]!r}{'…' if len(text.strip()) > 40 else ''}"
        raise ValueError(t(f"tallet er for stort: {shown}", f"not a finite number: {shown}"))
    return value


def _plain(value: float) -> str:
    """A number as read from a file, without thousands grouping (a message about grouping must not add one), with
    the language's decimal mark: ``1,234`` in Danish, ``1.234`` in English."""
    text = f"{value:g}"
    return text.replace(".", ",") if lang() == "da" else text


def amount(value: float) -> str:
    """An amount read from a file, for messages: every decimal it has (up to 6), in the language's notation
    (:func:`energimon.cliutil.number`: Danish ``1.200,5``, English ``1,200.5``)."""
    if not math.isfinite(value):
        return number(value)
    fixed = f"{value:.6f}".rstrip("0")
    return number(value, len(fixed) - fixed.index(".") - 1)


def _not_a_number(text: str) -> str:
    s = text.strip()
    chars = t(f"({number(len(s))} tegn)", f"({number(len(s))} characters)")
    shown = repr(s) if len(s) <= 40 else f"{s[:40]!r}… {chars}"
    if s.lower() in ("nan", "inf", "-inf", "infinity", "null", "none", "-", "–"):
        return t(f"ikke et tal: {shown} (en manglende værdi er ikke nul: udelad rækken)",
                 f"not a number: {shown} (missing is not zero: leave the row out)")
    return t(f"ikke et tal: {shown}", f"not a number: {shown}")


# -- times -----------------------------------------------------------------------------------------

_DANISH_TIME = re.compile(r"(\d{2})([-.])(\d{2})\2(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?")


@functools.lru_cache(maxsize=4096)  # an interval's end is the next one's start: each text comes twice
def _parse_datetime(text: str) -> datetime:
    stripped = text.strip().strip("'\"")
    dt_ = None
    m = _DANISH_TIME.fullmatch(stripped)  # Eloverblik's dd-mm-yyyy HH:MM:SS, without strptime's cost
    if m is not None:
        d, _, mo, y, h, mi, sec = m.groups()
        try:
            return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
        except ValueError:
            pass  # 31-02-2026: refused below with the usual message
    try:
        dt_ = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _FORMATS:
            try:
                dt_ = datetime.strptime(stripped, fmt)
                break
            except ValueError:
                continue
    if dt_ is None:
        shown = repr(stripped) if len(stripped) <= 40 else f"{stripped[:40]!r}…"
        raise ValueError(t(f"kan ikke læse tidspunktet {shown} (forventet fx 01-01-2025 00:00:00 eller "
                           "2025-01-01T00:00)",
                           f"cannot read time {shown} (expected e.g. 01-01-2025 00:00:00 or 2025-01-01T00:00)"))
    return dt_


def _ms(dt_: datetime) -> int:
    return int(dt_.timestamp() * 1000)


@functools.lru_cache(maxsize=4096)
def _wall_clock(dt_: datetime) -> tuple[int, ...] | str:
    try:
        ms0 = _ms(dt_.replace(tzinfo=LOCAL_TZ, fold=0))
        ms1 = _ms(dt_.replace(tzinfo=LOCAL_TZ, fold=1))
        back = datetime.fromtimestamp(ms0 / 1000, tz=LOCAL_TZ).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return "range"
    if back != dt_:  # in the gap (zoneinfo gives the two offsets around it a different fold each)
        return "gap"
    return (min(ms0, ms1), max(ms0, ms1)) if ms0 != ms1 else (ms0,)


def _local_candidates(dt_: datetime, text: str) -> tuple[int, ...]:
    """The instant(s) a naive Danish wall-clock time can be: one, two in the repeated autumn hour
    (CEST first), none in the skipped spring hour (ValueError)."""
    cands = _wall_clock(dt_)
    if cands == "range":
        raise ValueError(_out_of_range(text))
    if isinstance(cands, str):  # "gap"
        shown = text.strip()
        raise ValueError(t(f"tidspunktet {shown!r} findes ikke i dansk tid (sommertid begynder: urene springer fra "
                           "02:00 til 03:00 den sidste søndag i marts, så ingen måler melder det): tjek filens "
                           "tidszone, eller skriv tidspunkterne med deres forskel fra UTC",
                           f"time {shown!r} does not exist in Danish local time (the clocks jump from 02:00 "
                           "to 03:00 on the last Sunday of March, so no meter reports it): check the file's time "
                           "zone, or write times with their offset"))
    return cands


def _aware_ms(dt_: datetime, text: str) -> int:
    try:
        return _ms(dt_)
    except (OverflowError, OSError, ValueError):
        raise ValueError(_out_of_range(text)) from None


def _out_of_range(text: str) -> str:
    shown = text.strip()
    return t(f"tidspunktet {shown!r} ligger uden for det mulige (målinger gemmes fra år 2000)",
             f"time {shown!r} is out of range (readings are kept from the year 2000 on)")


class LocalTimes:
    """The times of one series in file order -> epoch ms.

    In the hour repeated at the autumn DST change each wall-clock time (02:00, and 02:15 … at
    quarter-hour resolution) occurs twice: the first occurrence is CEST, the second CET.  Which is
    which is told by order, so such a time is accepted only in time order (its first occurrence
    after earlier times, the second after the first), and a third occurrence is refused.  A file
    that lacks the CEST quarter-hour (02:45 only once, after 02:30 CET) still reads right: the
    time after the previous row is taken.
    """

    def __init__(self) -> None:
        self._prev: tuple[int, int] | None = None  # (ms, line) of the previous row
        self._seen: dict[int, list[tuple[int, int]]] = {}  # earlier instant -> [(ms, line)] occurrences

    def resolve(self, text: str, line: int) -> int:
        dt_ = _parse_datetime(text)
        if dt_.tzinfo is not None:
            ms = _aware_ms(dt_, text)
        else:
            cands = _local_candidates(dt_, text)
            ms = cands[0] if len(cands) == 1 else self._repeated(cands, text, line)
        self._prev = (ms, line)
        return ms

    def _repeated(self, cands: tuple[int, ...], text: str, line: int) -> int:
        a, b = cands
        seen = self._seen.setdefault(a, [])
        s = text.strip()
        offsets = t("fx ", "e.g. ") + datetime.fromtimestamp(b / 1000, tz=LOCAL_TZ).isoformat(timespec="minutes")
        if len(seen) >= 2:
            first, second = seen[0][1], seen[1][1]
            raise ValueError(t(f"tidspunktet {s} forekommer en tredje gang: timen, der gentages når sommertiden "
                               f"slutter, forekommer to gange (linje {first}: sommertid, UTC+2; linje {second}: "
                               f"vintertid, UTC+1); fjern den ekstra række, eller skriv tidspunkterne med deres "
                               f"forskel fra UTC ({offsets})",
                               f"local time {s} occurs a third time: the hour repeated at the autumn DST change "
                               f"occurs twice (line {first}: CEST, UTC+2; line {second}: CET, UTC+1); "
                               f"remove the extra row, or write times with their offset ({offsets})"))
        prev_ms, prev_line = self._prev if self._prev else (None, None)
        if not seen:
            if prev_ms is None or prev_ms < a:
                ms = a
            elif prev_ms < b:  # the CEST occurrence is missing from the file
                ms = b
            else:
                ms = None
        elif seen[0][0] == a and prev_ms is not None and a <= prev_ms < b:
            ms = b
        else:
            ms = None
        if ms is None:
            if prev_line is not None:
                where = t(f"linje {prev_line}", f"line {prev_line}")
            else:
                where = t("en tidligere linje", "an earlier line")
            repeats = t(f" eller gentager linje {seen[0][1]}", f" or repeats line {seen[0][1]}") if seen else ""
            raise ValueError(t(f"tidspunktet {s} ligger i timen, der gentages når sommertiden slutter, og kan kun "
                               f"læses i tidsorden (sommertid først, så vintertid), men det kommer efter et senere "
                               f"tidspunkt ({where}){repeats}: sortér rækkerne efter tid og fjern dubletter, eller "
                               f"skriv tidspunkterne med deres forskel fra UTC ({offsets})",
                               f"local time {s} is in the hour repeated at the autumn DST change, which can only be "
                               f"read in time order (CEST first, then CET), but it comes after a later time "
                               f"({where}){repeats}: sort the rows by time and remove duplicates, or write times "
                               f"with their offset ({offsets})"))
        seen.append((ms, line))
        return ms


def parse_time_local(text: str, times: LocalTimes | None = None, line: int = 0) -> int:
    """A time as epoch ms.  With an offset/Z: as given; without: Europe/Copenhagen local time.

    Pass one :class:`LocalTimes` for all rows of a series so the repeated autumn hour is read in
    order (first CEST, then CET); without it a repeated time is its first (CEST) instant.
    """
    if times is not None:
        return times.resolve(text, line)
    dt_ = _parse_datetime(text)
    if dt_.tzinfo is not None:
        return _aware_ms(dt_, text)
    return _local_candidates(dt_, text)[0]


def parse_end_time(text: str, start_ms: int) -> int:
    """An interval's end: the first instant the wall-clock time can be after ``start_ms``.

    Eloverblik's row for the first 02:00 hour of the autumn DST day ends at (the second) 02:00; on
    the spring day an end written 02:00 (a time that does not exist) is the instant the clocks jumped.
    """
    dt_ = _parse_datetime(text)
    if dt_.tzinfo is not None:
        return _aware_ms(dt_, text)
    try:
        cands = _local_candidates(dt_, text)
    except ValueError:
        if dt_.minute or dt_.second or dt_.microsecond:
            raise
        ms = _ms(dt_.replace(tzinfo=LOCAL_TZ, fold=0))  # 02:00 read with the winter offset = 03:00 CEST
        cands = (ms,)
    after = [c for c in cands if c > start_ms]
    if not after:
        raise ValueError(t(f"intervallet slutter ({text.strip()}) før eller samtidig med sin start",
                           f"the interval ends ({text.strip()}) at or before its start"))
    return after[0]


# -- lines -----------------------------------------------------------------------------------

@dataclass
class Table:
    """A CSV file split into lines: separator, header, ``(line number, fields)`` rows and line errors."""

    name: str
    sep: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    errors: list[str]


def _sniff(head: str) -> str:
    return ";" if head.count(";") >= head.count(",") and ";" in head else ("\t" if "\t" in head else ",")


def normalise_header(h: str) -> str:
    """A header cell as compared with known column names: stripped, quotes and BOM removed, lower case."""
    return re.sub(r"\s+", " ", h.strip().strip('"').strip("\ufeff").lower())


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep, strict=True))


def read_table(text: str, name: str, row: str | None = None) -> Table:
    """Lines of a CSV file, each read on its own so every problem has its line number.

    A line longer than :data:`MAX_LINE_CHARS` or with broken quoting is an error, and so is a row with
    more non-empty fields than the header (an unquoted decimal comma in a ``,`` file) or fewer."""
    lines = re.split(r"\r\n|\r|\n", text.lstrip("\ufeff"))
    errors: list[str] = []
    if not lines or not lines[0].strip():
        raise CsvFormatError([f"{name}:1: " + t("filen er tom, eller dens første linje er ikke en overskrift",
                                                "the file is empty or its first line is not a header")])
    if len(lines[0]) > MAX_LINE_CHARS:
        n_chars = number(len(lines[0]))
        raise CsvFormatError([f"{name}:1: " + t(f"overskriftslinjen er {n_chars} tegn lang; er det den rigtige fil?",
                                                f"the header line is {n_chars} characters long; is this the "
                                                "right file?")])
    sep = _sniff(lines[0])
    try:
        header = _split(lines[0], sep)
    except csv.Error as exc:
        raise CsvFormatError([f"{name}:1: " + t(f"kan ikke læse overskriften: {exc}",
                                                f"cannot read the header: {exc}")]) from None
    rows: list[tuple[int, list[str]]] = []
    n = len(header)
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_CHARS:
            n_chars, most = number(len(line)), number(MAX_LINE_CHARS)
            errors.append(f"{name}:{lineno}: " + t(f"linjen er {n_chars} tegn lang (højst {most} læses; en række i "
                                                   "denne fil er nogle få dusin tegn): fjern eller ret den",
                                                   f"the line is {n_chars} characters long (at most {most} are "
                                                   "read; a row of this file is a few dozen): remove or correct it"))
            continue
        try:
            rec = _split(line, sep)
        except csv.Error as exc:
            errors.append(f"{name}:{lineno}: " + t(f"kan ikke læse linjen som CSV ({exc}): tjek dens anførselstegn",
                                                   f"cannot read the line as CSV ({exc}): check its quotes"))
            continue
        if not any(c.strip() for c in rec):
            continue
        while len(rec) > n and not rec[-1].strip():  # trailing separators
            rec.pop()
        if len(rec) > n:
            hint = t(" — et decimalkomma i en fil adskilt med ',' deler tallet i to: sæt det i anførselstegn "
                     "(\"21,32\") eller adskil kolonnerne med ';'",
                     " — a decimal comma in a ','-separated file splits the number in two: quote it (\"21,32\") "
                     "or separate the columns with ';'") if sep == "," else ""
            errors.append(f"{name}:{lineno}: " + t(f"{len(rec)} felter, men overskriften har {n}{hint}",
                                                   f"{len(rec)} fields where the header has {n}{hint}"))
            continue
        if len(rec) < n:
            expected = row.format(sep=sep) if row else t(f"{n} felter adskilt med {sep!r} som overskriften",
                                                         f"{n} fields separated by {sep!r} like the header")
            got = sep.join(rec)[:80]
            errors.append(f"{name}:{lineno}: " + t(f"forventede {expected}, fik {len(rec)} felt(er): {got!r}",
                                                   f"expected {expected}, got {len(rec)} field(s): {got!r}"))
            continue
        rows.append((lineno, rec))
    return Table(name, sep, header, rows, errors)


# -- time,value files ---------------------------------------------------------------------------

def parse_time_value(text: str, name: str = "<csv>", decimal_mark: str | None = None) -> list[ValueRow]:
    """A generic ``time,value`` CSV (header required; ``;`` with decimal comma or ``,`` with point)."""
    rows, errors = time_value_rows(text, name, decimal_mark)
    if errors:
        raise CsvFormatError(errors)
    return rows


def time_value_rows(text: str, name: str = "<csv>",
                    decimal_mark: str | None = None) -> tuple[list[ValueRow], list[str]]:
    """The rows that read well and the errors of those that do not (a bad header raises :class:`CsvFormatError`),
    so later checks can name every bad line in one pass."""
    table = read_table(text, name, "time{sep}value")
    if len(table.header) < 2:
        raise CsvFormatError([f"{name}:1: " + t(f"forventede overskriften 'time{table.sep}value', fik {table.header!r}",
                                                f"expected a header 'time{table.sep}value', got {table.header!r}")])
    errors = list(table.errors)
    dm = detect_decimal_mark([(ln, rec[1]) for ln, rec in table.rows], table.sep, name, decimal_mark)
    rows: list[ValueRow] = []
    times = LocalTimes()
    for lineno, rec in table.rows:
        try:
            rows.append(ValueRow(lineno, times.resolve(rec[0], lineno), parse_number(rec[1], dm)))
        except ValueError as exc:
            errors.append(f"{name}:{lineno}: {exc}")
    return rows, sorted(errors, key=line_of)


def line_of(error: str) -> int:
    m = re.search(r":(\d+): ", error)
    return int(m.group(1)) if m else 0




def most_common_step_ms(ts_ms: Iterable[int], default_ms: int = HOUR_MS) -> int:
    """The most common step between consecutive distinct times (ms): a series' interval; ``default_ms`` (an
    hour) when there are fewer than two distinct times."""
    starts = sorted(ts_ms)
    steps = [b - a for a, b in itertools.pairwise(starts) if b > a]
    if not steps:
        return default_ms
    return max(set(steps), key=steps.count)


def local_text(ms: int) -> str:
    """An instant as Danish local time with its offset, for messages."""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(LOCAL_TZ).isoformat(sep=" ", timespec="minutes")
    except (OverflowError, OSError, ValueError):  # beyond year 9999
        return f"{ms} ms after 1970"


# -- writing: files people open in Excel ---------------------------------------------------------------------
# Danish Excel reads ``;``-separated files with a decimal comma as numbers, and ``2026-12-07 02:04`` as a date
# and time; an ISO stamp with ``T`` and an offset (``2026-12-07T02:04:00+01:00``) stays text.  So a file for
# people has local times without an offset, the zone in the column's header, and the offset in a column of its
# own: the hour repeated in October is then told apart (``+02:00`` first, ``+01:00`` after), and this module's
# reader reads the file back in the same order.

def local_stamp(when: datetime, seconds: bool = False) -> str:
    """A time as Danish local time Excel reads as a date: ``2026-12-07 02:04`` (``…:05`` with ``seconds``)."""
    local = when.astimezone(LOCAL_TZ) if when.tzinfo is not None else when
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def utc_offset(when: datetime) -> str:
    """The Danish local time's offset from UTC at ``when``: ``+01:00`` (winter) or ``+02:00`` (summer)."""
    offset = when.astimezone(LOCAL_TZ).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def csv_cell(value: object, decimal_comma: bool) -> str:
    """One cell of a file for people: numbers without thousands separators (a decimal comma for Danish Excel),
    a time as :func:`local_stamp`, a date as ``2026-12-07``; None and NaN are an empty cell (missing is not 0)."""
    import datetime as _dt
    from numbers import Integral, Real

    if value is None or value != value:  # NaN, and pandas' NaT
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return local_stamp(value, seconds=bool(value.second or value.microsecond))
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        v = float(value)
        if not math.isfinite(v):
            return ""
        text = repr(round(v, 6))
        text = text[:-2] if text.endswith(".0") else text
        return text.replace(".", ",") if decimal_comma else text
    if type(value).__name__ == "bool_":  # numpy's bool is not a bool
        return "1" if value else "0"
    return str(value)
