"""Render a :class:`~energimon.analytics.report.document.Report` to an A4 PDF with matplotlib.

Fonts are embedded as TrueType (``pdf.fonttype = 42``) so the text is searchable and
``pdftotext`` gives back the numbers and æ, ø, å.  Uses :class:`matplotlib.figure.Figure`
directly, not pyplot: no display, no global state, safe in a worker thread of the daemon.

Embedding a font means subsetting it (fontTools) for every PDF, and for DejaVu Sans with its
OpenType layout tables that took about 0.35 s per font and PDF (four fonts a report).  So the
report uses a copy of DejaVu Sans reduced once to the scripts a report needs (Latin, Greek,
punctuation, super- and subscripts, currency, arrows, mathematical operators; no layout tables:
matplotlib places every glyph itself, kerning from the ``kern`` table), cached in matplotlib's
cache folder; any other character falls back to the full DejaVu Sans (:func:`report_fonts`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from energimon.analytics.report.document import Chart, Report, Table, Term

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("energimon.report")
# fontTools (matplotlib subsets the fonts with it for every PDF) logs each table it touches at INFO: 30 lines a
# report in the daemon's log, which runs at INFO
logging.getLogger("fontTools").setLevel(logging.WARNING)

REPORT_FAMILY = "DejaVu Sans Report"  # a name of its own: the reduced copy is not DejaVu Sans itself
MONO_FAMILY = "DejaVu Sans Mono Report"  # tables: a row is one line of text in a fixed-width font
_RANGES = ((0x20, 0x24F), (0x370, 0x3FF), (0x2000, 0x206F), (0x2070, 0x20CF), (0x2100, 0x214F),
           (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF))
_FONT_VERSION = 1  # change to rebuild the cached copies


@lru_cache(maxsize=1)
def report_fonts() -> dict[str, list[str]]:
    """``font.family`` lists for the reports' text and tables: the cached reduced copies of DejaVu Sans and
    DejaVu Sans Mono (regular and bold), each followed by the full font for any other character.

    Built on first use (about a second, once per machine) into ``<matplotlib cache>/energimon-fonts``; if that
    cannot be done the reports simply use the full fonts (slower, same look).
    """
    families = {"text": ["DejaVu Sans"], "mono": ["DejaVu Sans Mono", "DejaVu Sans"]}
    try:
        import matplotlib
        from matplotlib import font_manager

        folder = Path(matplotlib.get_cachedir()) / "energimon-fonts"
        for family, reduced in (("DejaVu Sans", REPORT_FAMILY), ("DejaVu Sans Mono", MONO_FAMILY)):
            for weight in ("normal", "bold"):
                props = font_manager.FontProperties(family=family, weight=weight)
                source = Path(font_manager.findfont(props, fallback_to_default=False))
                stat = source.stat()
                tag = hashlib.sha256(f"{_FONT_VERSION} {source} {stat.st_size} {stat.st_mtime_ns}".encode())
                target = folder / f"{source.stem}-report-{tag.hexdigest()[:12]}.ttf"
                if not target.exists():
                    _reduce_font(source, target, reduced)
                font_manager.fontManager.addfont(str(target))
        return {"text": [REPORT_FAMILY, "DejaVu Sans"], "mono": [MONO_FAMILY, "DejaVu Sans Mono", "DejaVu Sans"]}
    except Exception as exc:  # a read-only cache folder, a font that will not load: the full fonts then
        log.debug("report fonts: using the full DejaVu fonts (%s)", exc)
        return families


def _reduce_font(source: Path, target: Path, family: str) -> None:
    from fontTools import subset  # type: ignore[import-untyped]  # fontTools ships no type information


    options = subset.Options(glyph_names=True, notdef_outline=True, name_IDs=["*"], name_languages=["*"],
                             layout_features=[])
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM"]
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for a, b in _RANGES for c in range(a, b + 1)])
    subsetter.subset(font)
    name = font["name"]
    style = name.getDebugName(2) or "Book"
    for rec in list(name.names):
        if rec.nameID in (1, 16):
            rec.string = family
        elif rec.nameID == 4:
            rec.string = f"{family} {style}"
        elif rec.nameID == 6:
            rec.string = f"{family.replace(' ', '')}-{style.replace(' ', '')}"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)  # several report workers may build it at once: the last complete copy wins

A4_IN = (8.27, 11.69)
LEFT, RIGHT, TOP, BOTTOM = 0.07, 0.93, 0.95, 0.05
LINE = 0.017
FONTTYPE = 42  # TrueType: searchable text with æ, ø, å
ROW = 0.019
HEADER_LINE = 0.012
WRAP = 105
TABLE_PT = 7.0
MONO_ADVANCE_EM = 1233 / 2048  # DejaVu Sans Mono: every glyph 1233 units wide, 2048 units per em
TABLE_GAP = 0.012  # below a table
TERM_GAP = 0.008  # below a term and its explanation
HEADING_WRAP = 64  # characters of a 12 pt bold heading on a line (wider capitals included)
HEADING_LINE = 0.02


# -- layout: where everything goes, without drawing (pages, and the page each section starts on) -------
@dataclass
class _TablePart:
    """Rows ``start``–``end`` of a table (on a page of their own when the table is too long for one)."""

    table: Table
    start: int
    end: int
    title: bool  # the title above it (the first part only)


def _pages(report: Report) -> list[list[tuple[float, object]]]:
    """Every page as a list of (y of its top, item): ``("title", None)``, ``("heading", text)``, a paragraph
    (str), a :class:`_TablePart` or a :class:`Chart`.  A section starts a page (unless ``new_page`` is
    False); what does not fit goes on the next page; a long table continues there (its header repeated)."""
    pages: list[list[tuple[float, object]]] = [[]]
    y = TOP

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = TOP

    pages[0].append((y, ("title", None)))
    y -= 0.035 + 0.021 * len(_subtitle_lines(report)) + 0.014
    for k, sec in enumerate(report.sections):
        if sec.new_page and k:
            new_page()
        pages[-1].append((y, ("heading", sec.heading)))
        y -= 0.03 + HEADING_LINE * (len(_heading_lines(sec.heading)) - 1)
        for block in sec.blocks:
            if isinstance(block, Table):
                start, n = 0, max(1, len(block.rows))
                heights = _row_heights(block)
                while start < n:
                    head = _table_head_height(block) + (LINE if block.title and start == 0 else 0)
                    room, fit = y - BOTTOM - head - TABLE_GAP, 0
                    while start + fit < n and room >= heights[start + fit]:
                        room -= heights[start + fit]
                        fit += 1
                    if fit < min(n - start, 3) and y < TOP:  # not even a few rows here: a new page
                        new_page()
                        continue
                    end = min(n, start + max(1, fit))
                    part = _TablePart(block, start, end, start == 0)
                    pages[-1].append((y, part))
                    y -= _part_height(part)
                    start = end
                    if start < n:
                        new_page()
                continue
            h = _height(block)
            if y - h < BOTTOM:
                new_page()
            pages[-1].append((y, block))
            y -= h
        y -= 0.01
    return pages


def page_count(report: Report) -> int:
    """How many pages :func:`render_pdf` writes for ``report``."""
    return len(_pages(report))


def _heading_lines(heading: str) -> list[str]:
    return textwrap.wrap(heading, HEADING_WRAP) or [""]


def _subtitle_lines(report: Report) -> list[str]:
    return textwrap.wrap(report.subtitle, int(WRAP * 8 / 10)) or [""]  # 10 pt: fewer characters a line


# -- drawing --------------------------------------------------------------------------------------------
def render_pdf(report: Report, path: Path, pages: range | None = None) -> Path:
    """Write the report (or only the ``pages`` of it, numbered as in the whole: for rendering a long report in
    parts, see :func:`merge_pdfs`)."""
    # matplotlib and its PDF backend (about half a second of imports) only in the process that draws
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    path.parent.mkdir(parents=True, exist_ok=True)
    fonts = report_fonts()
    layout = _pages(report)
    chosen = range(len(layout)) if pages is None else pages
    with matplotlib.rc_context({"pdf.fonttype": FONTTYPE, "font.family": fonts["text"], "font.size": 8,
                                "text.hinting": "no_hinting"}), \
            PdfPages(path, metadata={"Title": report.title, "Subject": report.subtitle}) as pdf:
        for number in chosen:
            fig = _page_figure(report, number + 1, fonts)
            for y, item in layout[number]:
                _draw(fig, report, y, item, fonts)
            pdf.savefig(fig)
    return path


def _text(fig: Figure, fonts: dict[str, list[str]], x: float, y: float, text: str, *, fontsize: float,
          weight: str = "normal", color: str = "black", va: str = "top", mono: bool = False) -> None:
    """One line of text at figure coordinates, left-aligned (:class:`.pdf_text.PdfText`: as ``fig.text`` draws
    it, at a fraction of the cost)."""
    from energimon.analytics.report.pdf_text import PdfText

    fig.add_artist(PdfText(x, y, text, fontsize=fontsize, family=fonts["mono" if mono else "text"], weight=weight,
                           color=color, va=va, reduced_families=(REPORT_FAMILY, MONO_FAMILY)))


def merge_pdfs(parts: list[Path], path: Path, title: str = "", subject: str = "") -> Path:
    """One PDF of the pages of ``parts`` in order (pypdf), for a report rendered in parts by several workers."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(str(part))
    writer.add_metadata({"/Title": title, "/Subject": subject})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        writer.write(f)
    return path


def _page_figure(report: Report, number: int, fonts: dict[str, list[str]]) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4_IN)
    _text(fig, fonts, LEFT, 0.975, report.title, fontsize=9, color="#555555")
    if report.mark:  # on every page, so a printed page on its own still says it
        fig.text(RIGHT, 0.975, report.mark, fontsize=10, weight="bold", color="#b00020", va="top", ha="right")
    foot = f"{report.footer}   ·   {'side' if report.lang == 'da' else 'page'} {number}"
    _text(fig, fonts, LEFT, 0.02, foot, fontsize=7, color="#777777", va="baseline")
    return fig


def _draw(fig: Figure, report: Report, y: float, item, fonts: dict[str, list[str]]) -> None:
    if isinstance(item, tuple) and item[0] == "title":
        _text(fig, fonts, LEFT, y, report.title, fontsize=16, weight="bold")
        y -= 0.035
        for line in _subtitle_lines(report):
            _text(fig, fonts, LEFT, y, line, fontsize=10)
            y -= 0.021
        return
    if isinstance(item, tuple) and item[0] == "heading":
        for k, line in enumerate(_heading_lines(item[1])):  # a long building name wraps, never runs off the page
            _text(fig, fonts, LEFT, y - HEADING_LINE * k, line, fontsize=12, weight="bold")
        return
    if isinstance(item, str):
        for line in _lines(item):
            _text(fig, fonts, LEFT, y, line, fontsize=8)
            y -= LINE
        return
    if isinstance(item, Term):
        _text(fig, fonts, LEFT, y, item.term, fontsize=8.5, weight="bold")
        for line in _lines(item.text):
            y -= LINE
            _text(fig, fonts, LEFT, y, line, fontsize=8)
        return
    if isinstance(item, _TablePart):
        _draw_table(fig, item, y, fonts)
        return
    if isinstance(item, Chart):
        h = item.height
        # room below the axes for (rotated) tick labels, above for the title
        ax = fig.add_axes((LEFT + 0.05, y - h + 0.045, RIGHT - LEFT - 0.07, h - 0.07))
        item.draw(ax)
        if item.title:
            ax.set_title(item.title, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        return
    raise TypeError(f"unknown block {type(item).__name__}")


# -- tables: a row is a line of fixed-width text (or a few, when a long name wraps) --------------------------
# matplotlib lays out and draws every string on its own (about 2 ms each); a table as a grid of cells was
# ~70 strings a building page.  Here the header is a few lines and each row a line, in DejaVu Sans Mono,
# with the columns padded to their width — the same numbers, a few strings a table.
PAD = 3  # characters around a cell's text: at least one on its left, two on its right (clear of the borders)
WRAP_MIN = 20  # a column of long texts (building names) is wrapped down to this many characters, no narrower
ROW_LINE = 0.0125  # each further line of a row whose text wraps
_KEEP = "\u00a0"  # holds "90 %" together while a header is wrapped


def _fractions(block: Table) -> list[float]:
    widths = block.col_widths or [1.0] * len(block.columns)
    return [w / sum(widths) for w in widths]


def _table_chars() -> int:
    """Characters across the page at the table's font size."""
    return int((RIGHT - LEFT) * A4_IN[0] * 72 / (TABLE_PT * MONO_ADVANCE_EM))


def _header_words(col: str) -> list[str]:
    """The pieces a header may wrap between: words, and the parts of a hyphenated word ("Egetforbrugs-")."""
    return re.split(r" |(?<=-)(?=\w)", _keep_units(col))


def _keep_units(text: str) -> str:
    """A number's unit stays with it when a header wraps: "Usikkerhed 68 %" never leaves "%" on a line alone."""
    return _UNIT.sub(lambda m: _KEEP + m.group(1), text)


_UNIT = re.compile(r" (%|°C)(?=\s|\)|$)")


@lru_cache(maxsize=256)
def _column_chars(columns: tuple[str, ...], widths: tuple[float, ...], rows: tuple[tuple[str, ...], ...]) -> list[int]:
    """Characters per column: what its longest cell and its header need (+ padding), the page's remaining width
    shared in proportion to the column widths.  A header gets room for two lines where the page allows it (else
    for its longest word); a table too wide for the page wraps its longest text columns (names) first, down to
    :data:`WRAP_MIN` characters, and only then gets a smaller font."""
    words = [max((len(w) for w in _header_words(col)), default=1) for col in columns]
    two_lines = [max(w, -(-len(col) // 2) + 1) for w, col in zip(words, columns, strict=True)]
    need = _fit(columns, rows, two_lines)
    if sum(need) > _table_chars():
        need = _fit(columns, rows, words)
    spare = _table_chars() - sum(need)
    if spare > 0:
        need = [n + int(spare * w / sum(widths)) for n, w in zip(need, widths, strict=True)]
    return need


def _fit(columns: tuple[str, ...], rows: tuple[tuple[str, ...], ...], head: list[int]) -> list[int]:
    """Column widths for headers of ``head`` characters: the longest cells, text columns wrapped while the table
    is wider than the page."""
    total = _table_chars()
    longest = [max([len(r[i]) for r in rows] + [head[i]]) for i in range(len(columns))]
    need = [n + PAD for n in longest]
    excess = sum(need) - total
    while excess > 0:
        # the widest column that may still wrap: a text column (cells with spaces), not numbers
        wrappable = [i for i in range(len(columns)) if need[i] - PAD > max(WRAP_MIN, head[i])
                     and any(" " in r[i].strip() and not _numeric(r[i]) for r in rows)]
        if not wrappable:
            break
        i = max(wrappable, key=lambda k: need[k])
        cut = min(excess, need[i] - (max(WRAP_MIN, head[i]) + PAD))
        need[i] -= cut
        excess -= cut
    return need


def _numeric(cell: str) -> bool:
    return any(ch.isdigit() for ch in cell) and not any(ch.isalpha() for ch in cell.replace("kWh", ""))


def _cells(block: Table) -> tuple[tuple[str, ...], ...]:
    rows = block.rows or [[""] * len(block.columns)]
    return tuple(tuple(str(c) for c in r) for r in rows)


def _layout_table(block: Table) -> tuple[list[int], list[str]]:
    widths = tuple(block.col_widths or [1.0] * len(block.columns))
    chars = _column_chars(tuple(block.columns), widths, _cells(block))
    header_cols = [[w.replace(_KEEP, " ") for w in textwrap.wrap(_keep_units(c), max(1, n - PAD),
                                                                   break_long_words=False)] or [""]
                   for c, n in zip(block.columns, chars, strict=True)]
    depth = max(len(h) for h in header_cols)
    header = []
    for k in range(depth):
        cells = [h[k - (depth - len(h))] if k >= depth - len(h) else "" for h in header_cols]  # bottom-aligned
        header.append(_row_text(cells, chars))
    return chars, header


def _row_lines(cells: tuple[str, ...], chars: list[int]) -> list[str]:
    """A row as one line, or a few when a cell is wider than its column (it wraps, never runs into the next)."""
    wrapped = [textwrap.wrap(c, max(1, n - PAD)) if len(c) > n - PAD else [c] for c, n in zip(cells, chars,
                                                                                              strict=True)]
    depth = max(len(w) for w in wrapped)
    return [_row_text([w[k] if k < len(w) else "" for w in wrapped], chars) for k in range(depth)]


def _row_text(cells, chars: list[int]) -> str:
    first = f" {cells[0]}".ljust(chars[0])
    return first + "".join(c.rjust(n - 2) + "  " for c, n in zip(cells[1:], chars[1:], strict=True))


def _row_heights(block: Table) -> list[float]:
    chars = _layout_table(block)[0]
    return [ROW + ROW_LINE * (len(_row_lines(r, chars)) - 1) for r in _cells(block)]


def _table_head_height(block: Table) -> float:
    return HEADER_LINE * len(_layout_table(block)[1]) + 0.008


def _part_height(part: _TablePart) -> float:
    return (LINE if part.title and part.table.title else 0) + _table_head_height(part.table) + \
        sum(_row_heights(part.table)[part.start:part.end]) + TABLE_GAP


def _draw_table(fig: Figure, part: _TablePart, y: float, fonts: dict[str, list[str]]) -> None:
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Rectangle

    block = part.table
    if part.title and block.title:
        _text(fig, fonts, LEFT, y, block.title, fontsize=9, weight="bold")
        y -= LINE
    chars, header = _layout_table(block)
    total = sum(chars)
    size = TABLE_PT * min(1.0, _table_chars() / total)  # a table still wider than the page: a smaller font
    width = total * size * MONO_ADVANCE_EM / 72 / A4_IN[0]
    head_h = _table_head_height(block)
    rows = _cells(block)[part.start:part.end]
    heights = _row_heights(block)[part.start:part.end]
    tops = [y - head_h - sum(heights[:k]) for k in range(len(rows) + 1)]
    bottom = tops[-1]
    fig.add_artist(Rectangle((LEFT, y - head_h), width, head_h, facecolor="#e8eef4", edgecolor="none"))
    xs = [LEFT + width * sum(chars[:k]) / total for k in range(len(chars) + 1)]
    segments = [[(LEFT, yy), (LEFT + width, yy)] for yy in [y, *tops]] + [[(x, y), (x, bottom)] for x in xs]
    fig.add_artist(LineCollection(segments, linewidths=0.3, colors="black"))
    for k, line in enumerate(header):  # padded: a line's worth of room above the first and below the last
        _text(fig, fonts, LEFT, y - 0.004 - HEADER_LINE * (k + 0.5), line, fontsize=size, mono=True, weight="bold",
              va="center")
    for k, cells in enumerate(rows):
        bold = block.bold_last_row and part.start + k == len(block.rows) - 1
        lines = _row_lines(cells, chars)
        first = tops[k] - (heights[k] - ROW_LINE * (len(lines) - 1)) / 2
        for j, line in enumerate(lines):
            _text(fig, fonts, LEFT, first - ROW_LINE * j, line, fontsize=size, mono=True,
                  weight="bold" if bold else "normal", va="center")


def _lines(text: str) -> list[str]:
    return textwrap.wrap(text, WRAP) or [""]


def _height(block) -> float:
    if isinstance(block, str):
        return LINE * len(_lines(block))
    if isinstance(block, Chart):
        return block.height + 0.01
    if isinstance(block, Term):
        return LINE * (1 + len(_lines(block.text))) + TERM_GAP
    raise TypeError(f"unknown block {type(block).__name__}")
