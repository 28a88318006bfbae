"""The reports: a shared toolkit, the report builders, and their delivery.

* the toolkit — a small document model (:mod:`.document`) rendered to PDF (:mod:`.pdf`), CSV and XLSX for
  Excel (:mod:`.csv_out`, :mod:`.xlsx_out`), texts (:mod:`.i18n`) and numbers (:mod:`.numbers`);
* the builders — :mod:`.savings_report` (with :mod:`.co2_section`) and :mod:`.solar_report` (with
  :mod:`.solar_texts`): they render results computed in the analytics below them
  (:mod:`energimon.analytics.esco`, :mod:`energimon.analytics.solar`) and compute nothing themselves;
* the delivery — :mod:`.schedule` (monthly, caught up after downtime), :mod:`.mailing`, and the commands
  (:mod:`.cli`, :mod:`.solar_cli`).

``pyproject.toml`` holds the import-linter contract for this order.

A report is a :class:`~energimon.analytics.report.document.Report` — sections with paragraphs, tables
and charts — rendered by :func:`~energimon.analytics.report.pdf.render_pdf`; numbers are formatted in
Danish (``1.234,5``) or English, and tables go to CSV with ``;`` and decimal comma for Danish Excel.
"""
