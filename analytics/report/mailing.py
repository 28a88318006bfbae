"""Mail a finished monthly report to the energy team, through the alert outbox.

The outbox (``analytics/alerting``) is durable: an SMTP outage delays the mail, it loses none, and
the dedupe key ``report:<kind>:<YYYY-MM>`` makes a rerun of the monthly job (the autumn DST hour, a
restart) queue the mail once.  The outbox lives in the alert state file, so mailing needs ``[alerts]``
as well as ``[smtp]``; without them the report is written and the reason it is not mailed is returned.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

SUBJECTS = {
    "da": "energimon: ESCO-besparelse {month} — månedsrapport",
    "en": "energimon: ESCO savings {month} — monthly report",
}
BODIES = {
    "da": ("Hej energiteam\n\nHer er månedsrapporten for ESCO-besparelsen for {month}: besparelse mod den "
           "justerede baseline i kWh, kr. og CO₂, med usikkerhed, og garantiregnskabet.\n\n"
           "Vedhæftet: {files}\n\nVenlig hilsen\nenergimon\n"),
    "en": ("Hello energy team\n\nAttached is the ESCO savings report for {month}: savings against the adjusted "
           "baseline in kWh, DKK and CO₂, with uncertainty, and the guarantee ledger.\n\n"
           "Attached: {files}\n\nKind regards\nenergimon\n"),
}


def report_attachments(files) -> list[Path]:
    """What the energy team gets from a :class:`SavingsReportFiles`: the PDF, the portfolio CSV, the XLSX
    workbook and any per-building PDFs (the per-building CSVs are in the workbook's sheets)."""
    return [files.pdf, files.csv, *([files.xlsx] if files.xlsx else []), *files.site_pdfs]


def _content_type(path: Path) -> tuple[str, str]:
    if path.suffix.lower() == ".xlsx":  # not in every system's mime.types
        return XLSX_TYPE
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    maintype, subtype = ctype.split("/", 1)
    return maintype, subtype


def report_message(sender: str, recipients: Sequence[str], month: dt.date, files: Sequence[Path],
                   lang: str = "da") -> EmailMessage:
    """A mail with the report files attached (PDF, CSV, XLSX), in Danish by default."""
    from energimon.analytics.report.i18n import month_name

    label = month_name(month.year, month.month, lang)
    msg = EmailMessage()
    msg["Subject"] = SUBJECTS[lang].format(month=label)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(idstring=f"report-{month:%Y-%m}", domain="energimon")
    msg.set_content(BODIES[lang].format(month=label, files=", ".join(p.name for p in files)))
    for path in files:
        maintype, subtype = _content_type(path)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


def queue_report_mail(settings, month: dt.date, files, kind: str = "savings",
                      now: dt.datetime | None = None) -> str:
    """Put the report mail in the outbox; returns what happened, for the log.  ``files`` is a list of paths or
    the :class:`SavingsReportFiles` of the report (then :func:`report_attachments` are attached)."""
    if hasattr(files, "pdf"):
        files = report_attachments(files)
    recipients = list(settings.esco.recipients) if settings.esco is not None else []
    if not recipients:
        return "not mailed: esco.recipients is empty"
    if settings.smtp is None or settings.alerts is None:
        return "not mailed: mailing needs [smtp] and [alerts] (the outbox lives in the alert state file)"
    from energimon.analytics.alerting.lifecycle import enqueue
    from energimon.analytics.alerting.state import AlertDB

    msg = report_message(settings.smtp.sender, recipients, month, files, settings.smtp.language)
    db = AlertDB(settings.alerts.state_path)
    try:
        with db.transaction() as c:
            t = (now or dt.datetime.now(dt.UTC)).timestamp()
            fresh = enqueue(c, f"report:{kind}:{month:%Y-%m}", recipients, msg, t)
    finally:
        db.conn.close()
    return f"queued for {', '.join(recipients)}" if fresh else "already queued earlier (not queued again)"
