"""Charts as server-made SVG (no JavaScript, no inline styles: colours are SVG presentation attributes, which
a Content-Security-Policy without 'unsafe-inline' allows).  Every chart has a <title> and is paired on the
page with a table of the same numbers (its text alternative, WCAG 2.1 SC 1.1.1)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from markupsafe import Markup

# Colours with at least 3:1 contrast against white (WCAG 2.1 SC 1.4.11, non-text contrast).
BAR = "#1f5f8b"
BAR_ALT = "#8a5a00"
LINE = "#b3261e"
GRID = "#767676"


def _nice_max(v: float) -> float:
    if not math.isfinite(v) or v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    s = f"{v:,.0f}" if abs(v) >= 10 or v == round(v) else f"{v:,.2f}".rstrip("0")
    return s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str, unit: str, *, chart_id: str,
              line: Sequence[float] | None = None, line_label: str = "", width: int = 720, height: int = 240,
              highlight_last: bool = False) -> Markup:
    """Bars (NaN: no bar, a gap) with an optional line over them (e.g. a target path)."""
    n = max(len(values), 1)
    left, right, top, bottom = 56, 8, 24, 28
    w, h = width - left - right, height - top - bottom
    finite = [v for v in [*values, *(line or [])] if v is not None and math.isfinite(v)]
    vmax = _nice_max(max(finite) if finite else 0.0)
    step = w / n
    bw = max(1.0, step * 0.75)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="{chart_id}-t" focusable="false">',
           f'<title id="{chart_id}-t">{html.escape(title)} (tallene står i tabellen under)</title>']
    for i in range(5):
        v = vmax * i / 4
        y = top + h - h * i / 4
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
                   f'stroke-width="0.5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#222">'
                   f'{_fmt(v)}</text>')
    out.append(f'<text x="4" y="12" font-size="11" fill="#222">{html.escape(unit)}</text>')
    every = max(1, math.ceil(n / 16))
    for i, v in enumerate(values):
        x = left + i * step + (step - bw) / 2
        if v is not None and math.isfinite(v) and v > 0:
            bh = h * min(v, vmax) / vmax
            colour = BAR_ALT if highlight_last and i == n - 1 else BAR
            out.append(f'<rect x="{x:.1f}" y="{top + h - bh:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
                       f'fill="{colour}"/>')
        if i % every == 0:
            out.append(f'<text x="{x + bw / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" '
                       f'fill="#222">{html.escape(str(labels[i]))}</text>')
    if line:
        pts = [(left + i * step + step / 2, top + h - h * min(v, vmax) / vmax) for i, v in enumerate(line)
               if v is not None and math.isfinite(v)]
        if len(pts) >= 2:
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{LINE}" stroke-width="2.5" '
                       f'stroke-dasharray="6 3"/>')
        if line_label and pts:
            out.append(f'<text x="{pts[-1][0]:.1f}" y="{pts[-1][1] - 6:.1f}" text-anchor="end" font-size="11" '
                       f'fill="{LINE}">{html.escape(line_label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def line_chart(labels: Sequence[str], values: Sequence[float], title: str, unit: str, *, chart_id: str,
               width: int = 720, height: int = 200) -> Markup:
    """A line (NaN breaks it) — the power curve of a day or week."""
    n = max(len(values), 2)
    left, right, top, bottom = 56, 8, 24, 28
    w, h = width - left - right, height - top - bottom
    finite = [v for v in values if v is not None and math.isfinite(v)]
    vmax = _nice_max(max(finite) if finite else 0.0)
    vmin = min(0.0, min(finite) if finite else 0.0)
    span = vmax - vmin or 1.0

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + w * i / (n - 1), top + h - h * (v - vmin) / span

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="{chart_id}-t" focusable="false">',
           f'<title id="{chart_id}-t">{html.escape(title)} (tallene står i tabellen under)</title>']
    for i in range(5):
        v = vmin + span * i / 4
        y = top + h - h * i / 4
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
                   f'stroke-width="0.5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#222">'
                   f'{_fmt(v)}</text>')
    out.append(f'<text x="4" y="12" font-size="11" fill="#222">{html.escape(unit)}</text>')
    seg: list[str] = []
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            if len(seg) > 1:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{BAR}" stroke-width="1.5"/>')
            seg = []
            continue
        x, y = xy(i, v)
        seg.append(f"{x:.1f},{y:.1f}")
    if len(seg) > 1:
        out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{BAR}" stroke-width="1.5"/>')
    every = max(1, math.ceil(len(labels) / 12))
    for i, lab in enumerate(labels):
        if i % every == 0:
            x, _ = xy(i, vmin)
            out.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" font-size="11" fill="#222">'
                       f'{html.escape(str(lab))}</text>')
    out.append("</svg>")
    return Markup("".join(out))
