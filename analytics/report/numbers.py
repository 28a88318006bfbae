"""Numbers for people: Danish ``1.234,5`` or English ``1,234.5``; missing is a dash, never 0."""

from __future__ import annotations

import math

MISSING = "–"


def fmt_number(value: float | None, decimals: int = 0, lang: str = "da") -> str:
    """Thousands separators and decimal mark by language; NaN/None -> '–'."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if round(value, decimals) == 0:
        value = 0.0  # no "-0"
    text = f"{value:,.{decimals}f}"
    if lang == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def fmt_percent(fraction: float | None, decimals: int = 1, lang: str = "da") -> str:
    """0.0394 -> '3,9 %' (da) / '3.9 %' (en)."""
    if fraction is None or not math.isfinite(fraction):
        return MISSING
    return f"{fmt_number(100.0 * fraction, decimals, lang)} %"


def fmt_pm(value: float | None, decimals: int = 0, lang: str = "da") -> str:
    """'± 1.234' (an uncertainty)."""
    return MISSING if value is None or not math.isfinite(value) else f"± {fmt_number(value, decimals, lang)}"
