"""The report's text lines are written into the PDF by :class:`~energimon.analytics.report.pdf_text.PdfText`, which
skips matplotlib's per-line shaping (issue 21: the savings report's speed).  The pages must be exactly what
matplotlib's own ``Text`` writes: the same glyphs at the same places in the same font subsets, so a reader sees
the same report — checked here byte for byte on the page streams, on a report with every kind of block, Danish
letters, CO₂, a minus sign and a character outside the report fonts' ranges."""

from __future__ import annotations

import shutil
import subprocess

from pypdf import PdfReader

from energimon.analytics.report import pdf_text
from energimon.analytics.report.document import Chart, Report, Section, Table
from energimon.analytics.report.pdf import render_pdf

# U+2713 (check mark) lies outside the reduced fonts' ranges: that line goes to full DejaVu Sans through Text
OUTSIDE = "Godkendt ✓ af udvalget"


def _report() -> Report:
    summary = Section("Sammenfatning — Rådhuset, Æbeløgade")
    summary.text("I marts 2026 brugte bygningen 4.884 kWh. Uden energiforbedringerne ville forbruget have været "
                 "5.347 kWh (justeret for vejret). Besparelsen er 463 kWh, svarende til 926 kr. og 46 kg CO₂; "
                 "ændringen mod sidste år er −12 % (± 3 %).")
    summary.text("")
    summary.text(OUTSIDE)
    summary.term("Holder besparelsen?", "Ja: med 90 % sikkerhed ligger den mellem 120 og 806 kWh — "
                                        "«påvist» efter ASHRAE Guideline 14.")
    summary.table(Table(["Bygning", "Besparelse kWh", "CO₂ kg", "Ændring mod sidste år", "Vurdering"],
                        [["Rådhuset ved Storegade og Torvet i Sorø", "1.234", "123", "−12 %", "påvist"],
                         ["Skolen", "–", "–", "+3 %", "ingen data"], ["I alt", "1.234", "123", "", ""]],
                        title="Bygningerne i marts 2026", bold_last_row=True))
    charts = Section("Grafer", new_page=False)
    charts.chart(Chart(lambda ax: ax.bar([0, 1], [3.0, 4.0]), "Måneder (kWh)", 0.2))
    return Report("ESCO-besparelse — marts 2026", "Månedsrapport for marts 2026 — kontrakt: Sorø Kommune ESCO",
                  footer="energimon · Sorø Kommune", sections=[summary, charts], mark="FORELØBIG")


def _streams(path) -> list[bytes]:
    return [page.get_contents().get_data() for page in PdfReader(path).pages]


def test_pages_are_byte_for_byte_what_matplotlib_text_writes(tmp_path, monkeypatch):
    # constraints.txt pins the matplotlib PdfText was written against: on another version the fast path is off
    # (the report stays correct through matplotlib's own Text), and this test says so instead of passing unseen
    assert pdf_text.SUPPORTED, "PdfText is off on this matplotlib version: check it against the new version's " \
                               "text output, then widen pdf_text's version check"
    pdf_text._GLYPHS.clear()
    fast = _streams(render_pdf(_report(), tmp_path / "fast.pdf"))
    # the fast path was taken: the report's letters were laid out here, not by matplotlib
    assert any(key[2] == "ø" for key in pdf_text._GLYPHS) and any(key[2] == "₂" for key in pdf_text._GLYPHS)
    monkeypatch.setattr(pdf_text, "SUPPORTED", False)  # every line through matplotlib's own Text
    plain = _streams(render_pdf(_report(), tmp_path / "plain.pdf"))
    assert len(fast) == len(plain) == 1
    assert fast == plain


def test_text_reads_back_with_danish_letters_subscripts_and_fallback_font(tmp_path):
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    path = render_pdf(_report(), tmp_path / "r.pdf")
    text = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                                   text=True).stdout.split())
    for expected in ("Sammenfatning — Rådhuset, Æbeløgade", "46 kg CO₂;", "−12 % (± 3 %)", OUTSIDE,
                     "Holder besparelsen?", "«påvist»", "Rådhuset ved Storegade og Torvet i Sorø", "FORELØBIG",
                     "energimon · Sorø Kommune · side 1"):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    assert "DejaVuSansReport-Book" in fonts and "DejaVuSansMonoReport-Bold" in fonts
    assert "DejaVuSans-Book" in fonts or "DejaVuSans " in fonts  # the check mark's line, in the full font
