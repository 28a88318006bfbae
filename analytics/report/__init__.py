"""The shared report pipeline: a small document model rendered to PDF, plus CSV for Excel.

A report is a :class:`~energimon.analytics.report.document.Report` — sections with
paragraphs, tables and charts — built by a report module (savings now, solar
next) and rendered by :func:`~energimon.analytics.report.pdf.render_pdf`.  Text
comes from :mod:`~energimon.analytics.report.i18n` (Danish default, English),
numbers are formatted by :mod:`~energimon.analytics.report.numbers`
(``1.234,5`` in Danish), tables go to CSV with
:func:`~energimon.analytics.report.csv_out.write_csv` (``;`` and decimal comma for
Danish Excel).
"""
