"""A line of report text written straight into matplotlib's PDF page: the same bytes as :class:`matplotlib.text.Text`
writes, without shaping the string again for every line.

matplotlib lays out every string twice — once for its extent (``FT2Font.set_text``) and once to draw it
(libraqm shaping, then a glyph load per character) — about 5 ms a line of a report, most of a text page's time
(bench/README.md, the savings report).  The report's own fonts (:func:`~energimon.analytics.report.pdf.report_fonts`)
have no layout tables: no ligatures, no kerning pairs, no reordering, so shaping a line gives each character its own
glyph, advanced by its advance rounded to 1/64 point.  That is computed here once per character, font and size and
kept for the process, and the page gets the operators matplotlib 3.11's ``RendererPdf.draw_text`` would write for
the same line at the same place: the same glyphs, the same per-glyph adjustments, the same font subsets
(``tests/test_report_pdf_text.py`` compares the page streams byte for byte).

Anything else — another matplotlib version, a font other than the report's reduced copies, a character outside
their plain ranges, mathtext (``$``) — is drawn by an ordinary :class:`~matplotlib.text.Text`.
"""

from __future__ import annotations

import itertools
import math
import os
import unicodedata
from typing import Any

import matplotlib
from matplotlib import colors as mcolors
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.text import Text

# The operators below are those of matplotlib 3.11's draw_text (Type 42 fonts); another version draws through Text
SUPPORTED = matplotlib.__version__.startswith("3.11.")
_FLAGS = LoadFlags.NO_HINTING  # as draw_text lays out and as text metrics are taken (rc text.hinting not used there)
# Character classes a shaper could treat specially (combining marks, format and bidi controls): not drawn here
_SPECIAL = ("M", "C", "Zl", "Zp")


class _Glyph:
    """One character in one font at one size: glyph index, advance (exact and rounded to 1/64 pt) and the
    vertical extent of its outline (26.6 fixed point, as FreeType reports it)."""

    __slots__ = ("exact", "index", "rounded", "ymax", "ymin")

    def __init__(self, index: int, exact: float, ymin: int, ymax: int) -> None:
        self.index = index
        self.exact = exact
        self.rounded = math.floor(exact * 64 + 0.5) / 64  # FreeType/HarfBuzz round halves up, not to even
        self.ymin = ymin
        self.ymax = ymax


_GLYPHS: dict[tuple[str, float, str], _Glyph | None] = {}
_REDUCED: dict[str, bool] = {}


def _glyph(font: FT2Font, size: float, ch: str) -> _Glyph | None:
    """The glyph of ``ch`` (None when the font lacks it or it is a character a shaper treats specially).
    ``font`` must be set to ``size`` at 72 dpi."""
    key = (_name(font), size, ch)
    if key in _GLYPHS:
        return _GLYPHS[key]
    index = font.get_char_index(ord(ch))
    got = None
    if index and not unicodedata.category(ch).startswith(_SPECIAL):
        g = font.load_glyph(index, flags=_FLAGS)
        got = _Glyph(index, g.linearHoriAdvance / 65536, g.bbox[1], g.bbox[3])
    _GLYPHS[key] = got
    return got


def _plain_font(font: FT2Font, reduced_families: tuple[str, ...]) -> bool:
    """The font is one of the report's reduced copies: no GSUB/GPOS/kern tables, so a line's layout is the sum
    of its characters' advances."""
    name = _name(font)
    if name not in _REDUCED:
        _REDUCED[name] = font.family_name in reduced_families and not _has_layout_tables(font)
    return _REDUCED[name]


def _name(font: FT2Font) -> str:
    """The font's file name (matplotlib opens the report's fonts by path, a str)."""
    return os.fsdecode(font.fname)


def _has_layout_tables(font: FT2Font) -> bool:
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no type information

    with TTFont(_name(font), lazy=True) as tt:
        return any(tag in tt for tag in ("kern", "GSUB", "GPOS", "morx"))


_EXTENTS: dict[tuple[str, float, float], tuple[float, float]] = {}


def _font_extent(font: FT2Font, fontsize: float, dpi: float) -> tuple[float, float]:
    """The font's typographic ascent and descent at the size, the least a line's are taken to be (OS/2, else hhea;
    as ``Text._get_layout``)."""
    key = (_name(font), fontsize, dpi)
    if key not in _EXTENTS:
        for table_name, ascent_key, descent_key in (("OS/2", "sTypoAscender", "sTypoDescender"),
                                                    ("hhea", "ascent", "descent")):
            table: Any = font.get_sfnt_table(table_name)  # type: ignore[call-overload]  # any table name is valid
            if table is None:
                continue
            head: Any = font.get_sfnt_table("head")
            scale = 1 / head["unitsPerEm"] * fontsize * dpi / 72
            _EXTENTS[key] = (table[ascent_key] * scale, -table[descent_key] * scale)
            break
        else:
            raise ValueError(f"{_name(font)}: no OS/2 or hhea table")
    return _EXTENTS[key]


class PdfText(Artist):
    """A one-line figure text at figure coordinates (x, y), left-aligned, ``va`` "top", "center" or "baseline" —
    drawn as :meth:`matplotlib.figure.Figure.text` would draw it (see the module's docstring)."""

    zorder = 3  # as Text: over the table's shading and rules

    def __init__(self, x: float, y: float, text: str, *, fontsize: float, family: list[str], weight: str = "normal",
                 color: str = "black", va: str = "top", reduced_families: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._x, self._y, self._text, self._va, self._color = x, y, text, va, color
        self._kwargs: dict[str, Any] = {"fontsize": fontsize, "family": family, "weight": weight, "color": color,
                                        "va": va}
        self._prop = font_manager.FontProperties(family=family, size=fontsize, weight=weight)
        self._reduced = reduced_families

    def get_text(self) -> str:
        return self._text

    def draw(self, renderer) -> None:
        if not self._text:
            return
        if not self._draw_fast(renderer):
            self._as_text().draw(renderer)

    def _as_text(self) -> Text:
        figure = self.get_figure(root=True)
        if figure is None:
            raise ValueError("a PdfText is drawn only as part of a figure (Figure.add_artist)")
        t = Text(self._x, self._y, self._text, **self._kwargs)
        t.set_figure(figure)
        t.set_transform(figure.transFigure)
        return t

    def _draw_fast(self, renderer) -> bool:
        s = self._text
        pdf = getattr(renderer, "file", None)
        if not SUPPORTED or pdf is None or not hasattr(pdf, "_character_tracker") or "$" in s or "\n" in s \
                or matplotlib.rcParams["pdf.fonttype"] != 42 or matplotlib.rcParams["pdf.use14corefonts"]:
            return False
        prop = self._prop
        font = renderer._get_font_ttf(prop)  # as draw_text: the first font of the family, set to the size
        if not _plain_font(font, self._reduced):
            return False
        size = prop.get_size_in_points()
        glyphs = [g for ch in s if (g := _glyph(font, size, ch)) is not None]
        figure = self.get_figure(root=True)
        if len(glyphs) < len(s) or figure is None:
            return False
        posx, posy = figure.transFigure.transform((float(self._x), float(self._y)))
        x, y = posx, posy + self._offset(font, size, figure.dpi, glyphs)
        gc = renderer.new_gc()
        gc.set_foreground(mcolors.to_rgba(self._color), isRGBA=True)
        self._emit(renderer, gc, x, y, s, font, size, glyphs)
        gc.restore()
        return True

    def _offset(self, font: FT2Font, fontsize: float, dpi: float, glyphs: list[_Glyph]) -> float:
        """From the anchor to the baseline: ``Text._get_layout`` for one unrotated line (its ascent and descent
        at least the font's typographic ones), in the same floating-point steps."""
        ymin = min(g.ymin for g in glyphs)
        ymax = max(g.ymax for g in glyphs)
        h, d = (ymax - ymin) * (1 / 64), -ymin * (1 / 64)
        min_ascent, min_descent = _font_extent(font, fontsize, dpi)
        a = max(h - d, min_ascent)  # one line: no line gap
        d = max(d, min_descent)
        ys0 = 0.0 - a
        if self._va == "top":
            offsety = 0.0
        elif self._va == "center":
            offsety = ((ys0 - d) + 0) / 2
        elif self._va == "baseline":
            offsety = (ys0 - d) + d
        else:
            raise ValueError(f"va {self._va!r}: only 'top', 'center' and 'baseline' are drawn here")
        return ys0 - offsety

    @staticmethod
    def _emit(renderer, gc, x: float, y: float, s: str, font: FT2Font, fontsize: float, glyphs: list[_Glyph]) -> None:
        """``RendererPdf.draw_text`` (matplotlib 3.11, Type 42) with the laid-out glyphs given."""
        from matplotlib.backends.backend_pdf import Op

        renderer.check_gc(gc, gc._rgb)
        pdf = renderer.file
        tracker = pdf._character_tracker
        path = font_manager.FontPath(_name(font), font.face_index)
        chunk: list[float | int] = []

        def flush() -> None:
            if not chunk:
                return
            pdf.output([(-1000 * next(group) / fontsize) if tp is float else renderer._encode_glyphs(group, 42)
                        for tp, group in itertools.groupby(chunk, type)], Op.showkern)
            chunk.clear()

        a = math.radians(0)
        pdf.output(Op.gsave)
        pdf.output(math.cos(a), math.sin(a), -math.sin(a), math.cos(a), x, y, Op.concat_matrix)
        pdf.output(Op.begin_text)
        prev_subset, prev_start_x, pen, kern = None, 0.0, 0.0, 0.0
        for k, (ch, g) in enumerate(zip(s, glyphs, strict=True)):
            if k:
                previous = glyphs[k - 1]
                pen += previous.rounded
                kern = previous.rounded - previous.exact
            subset, charcode = tracker.track_glyph(font, ch, g.index)
            if subset != prev_subset:
                flush()
                pdf.output(pdf.fontName(path, subset), fontsize, Op.selectfont)
                renderer._setup_textpos(pen, 0, 0, prev_start_x, 0, 0)
                prev_subset, prev_start_x = subset, pen
            if kern:
                chunk.append(kern)
            chunk.append(charcode)
        flush()
        pdf.output(Op.end_text)
        pdf.output(Op.grestore)
