"""Render a :class:`~energimon.analytics.report.document.Report` to an A4 PDF with matplotlib.

Fonts are embedded as TrueType (``pdf.fonttype = 42``) so the text is searchable and
``pdftotext`` gives back the numbers and æ, ø, å.  Uses :class:`matplotlib.figure.Figure`
directly, not pyplot: no display, no global state, safe in a worker thread of the daemon.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from energimon.analytics.report.document import Chart, Report, Table

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
    with matplotlib.rc_context({"pdf.fonttype": FONTTYPE, "font.family": "DejaVu Sans", "font.size": 8}), \
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
