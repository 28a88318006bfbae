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
import textwrap
from functools import lru_cache
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from energimon.analytics.report.document import Chart, Report, Table

log = logging.getLogger("energimon.report")

REPORT_FAMILY = "DejaVu Sans Report"  # a name of its own: the reduced copy is not DejaVu Sans itself
_RANGES = ((0x20, 0x24F), (0x370, 0x3FF), (0x2000, 0x206F), (0x2070, 0x20CF), (0x2100, 0x214F),
           (0x2190, 0x21FF), (0x2200, 0x22FF), (0x25A0, 0x25FF))
_FONT_VERSION = 1  # change to rebuild the cached copies


@lru_cache(maxsize=1)
def report_fonts() -> list[str]:
    """``font.family`` for the reports: the cached reduced DejaVu Sans (regular and bold), then the full one.

    Built on first use (about a second, once per machine) into ``<matplotlib cache>/energimon-fonts``; if that
    cannot be done the reports simply use the full font (slower, same look).
    """
    try:
        from matplotlib import font_manager

        folder = Path(matplotlib.get_cachedir()) / "energimon-fonts"
        for weight in ("normal", "bold"):
            source = Path(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight=weight),
                                                fallback_to_default=False))
            stat = source.stat()
            tag = hashlib.sha256(f"{_FONT_VERSION} {source} {stat.st_size} {stat.st_mtime_ns}".encode()).hexdigest()
            target = folder / f"{source.stem}-report-{tag[:12]}.ttf"
            if not target.exists():
                _reduce_font(source, target)
            font_manager.fontManager.addfont(str(target))
        return [REPORT_FAMILY, "DejaVu Sans"]
    except Exception as exc:  # a read-only cache folder, a font that will not load: the full font then
        log.debug("report fonts: using the full DejaVu Sans (%s)", exc)
        return ["DejaVu Sans"]


def _reduce_font(source: Path, target: Path) -> None:
    from fontTools import subset

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
            rec.string = REPORT_FAMILY
        elif rec.nameID == 4:
            rec.string = f"{REPORT_FAMILY} {style}"
        elif rec.nameID == 6:
            rec.string = f"{REPORT_FAMILY.replace(' ', '')}-{style.replace(' ', '')}"
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


class _Page:
    def __init__(self, pdf: PdfPages, report: Report, number: int):
        self.pdf = pdf
        self.fig = Figure(figsize=A4_IN)
        self.y = TOP
        self.fig.text(LEFT, 0.975, report.title, fontsize=9, color="#555555", va="top")
        if report.mark:  # on every page, so a printed page on its own still says it
            self.fig.text(RIGHT, 0.975, report.mark, fontsize=10, weight="bold", color="#b00020", va="top",
                          ha="right")
        foot = f"{report.footer}   ·   {'side' if report.lang == 'da' else 'page'} {number}"
        self.fig.text(LEFT, 0.02, foot, fontsize=7, color="#777777")

    def room(self, h: float) -> bool:
        return self.y - h >= BOTTOM

    def close(self) -> None:
        self.pdf.savefig(self.fig)


def render_pdf(report: Report, path: Path) -> Path:
    """Write the report; each section starts a page (unless ``new_page`` is False) and flows onto more."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"pdf.fonttype": FONTTYPE, "font.family": report_fonts(), "font.size": 8}), \
            PdfPages(path, metadata={"Title": report.title, "Subject": report.subtitle}) as pdf:
        n = 1
        page = _Page(pdf, report, n)
        page.fig.text(LEFT, page.y, report.title, fontsize=16, weight="bold", va="top")
        page.y -= 0.035
        for line in textwrap.wrap(report.subtitle, int(WRAP * 8 / 10)) or [""]:  # 10 pt: fewer characters a line
            page.fig.text(LEFT, page.y, line, fontsize=10, va="top")
            page.y -= 0.021
        page.y -= 0.014
        first = True
        for sec in report.sections:
            if sec.new_page and not first:
                page.close()
                n += 1
                page = _Page(pdf, report, n)
            first = False
            page.fig.text(LEFT, page.y, sec.heading, fontsize=12, weight="bold", va="top")
            page.y -= 0.03
            for block in sec.blocks:
                h = _height(block)
                if not page.room(h):
                    page.close()
                    n += 1
                    page = _Page(pdf, report, n)
                _draw(page, block)
            page.y -= 0.01
        page.close()
    return path


def _fractions(block: Table) -> list[float]:
    widths = block.col_widths or [1.0] * len(block.columns)
    return [w / sum(widths) for w in widths]


def _wrapped_header(block: Table) -> list[str]:
    """Column labels wrapped to their column's width (about 95 characters across the page at 7 pt)."""
    return ["\n".join(textwrap.wrap(lbl, max(5, int(f * 95)), break_long_words=False)) or lbl
            for lbl, f in zip(block.columns, _fractions(block), strict=True)]


def _table_height(block: Table) -> float:
    n_lines = max(lbl.count("\n") + 1 for lbl in _wrapped_header(block))
    return ROW * max(1, len(block.rows)) + HEADER_LINE * n_lines + 0.004


def _lines(text: str) -> list[str]:
    return textwrap.wrap(text, WRAP) or [""]


def _height(block) -> float:
    if isinstance(block, str):
        return LINE * len(_lines(block))
    if isinstance(block, Table):
        return _table_height(block) + (LINE if block.title else 0) + 0.012
    if isinstance(block, Chart):
        return block.height + 0.01
    raise TypeError(f"unknown block {type(block).__name__}")


def _draw(page: _Page, block) -> None:
    fig = page.fig
    if isinstance(block, str):
        for line in _lines(block):
            fig.text(LEFT, page.y, line, fontsize=8, va="top")
            page.y -= LINE
        return
    if isinstance(block, Table):
        if block.title:
            fig.text(LEFT, page.y, block.title, fontsize=9, weight="bold", va="top")
            page.y -= LINE
        h = _table_height(block)
        ax = fig.add_axes((LEFT, page.y - h, RIGHT - LEFT, h))
        ax.axis("off")
        fractions = _fractions(block)
        header = _wrapped_header(block)
        n_lines = max(lbl.count("\n") + 1 for lbl in header)
        tbl = ax.table(cellText=block.rows or [[""] * len(block.columns)], colLabels=header,
                       colWidths=fractions, loc="upper left", cellLoc="right", colLoc="right")
        tbl.auto_set_font_size(False)
        tbl.set_fontsize(7)
        for (r, c), cell in tbl.get_celld().items():
            cell.set_linewidth(0.3)
            cell.set_height((HEADER_LINE * n_lines + 0.004 if r == 0 else ROW) / h)
            if c == 0:
                cell.get_text().set_ha("left")
            if r == 0:
                cell.set_facecolor("#e8eef4")
                cell.get_text().set_weight("bold")
            elif block.bold_last_row and r == len(block.rows):
                cell.get_text().set_weight("bold")
        page.y -= h + 0.012
        return
    if isinstance(block, Chart):
        h = block.height
        # room below the axes for (rotated) tick labels, above for the title
        ax = fig.add_axes((LEFT + 0.05, page.y - h + 0.045, RIGHT - LEFT - 0.07, h - 0.07))
        block.draw(ax)
        if block.title:
            ax.set_title(block.title, fontsize=9, loc="left")
        ax.tick_params(labelsize=7)
        page.y -= h + 0.01
        return
    raise TypeError(f"unknown block {type(block).__name__}")
