"""Mailing the monthly reports (ESCO savings, solar) to the energy team, through the mail package.

A report mail goes into the mail database (:class:`energimon.mail.outbox.MailDB`, ``[smtp] outbox_file``,
default ``mail.db`` beside the spool) together with the record that this report period went to this
recipient list — one transaction, so a rerun (a restart, the repeated autumn DST hour, a catch-up) never
mails a period twice, and an SMTP outage delays the mail but loses none.  Mailing needs ``[smtp]`` only,
not ``[alerts]``.  The daemon mails due periods by itself (:mod:`energimon.analytics.report.schedule`);
``energimon report mail`` does one by hand (a month that is not over only with ``--preliminary``).

Recipients: the savings report to ``[smtp.reports] savings``, else ``esco.recipients``; the solar
report to ``[smtp.reports] solar``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from energimon.mail.render import XLSX_TYPE, new_message

__all__ = ["XLSX_TYPE", "queue_report_mail", "report_attachments", "report_message",
           "report_recipients"]

KINDS = ("savings", "solar")
SUBJECTS = {
    "savings": {"da": "energimon: ESCO-besparelse {month} — månedsrapport",
                "en": "energimon: ESCO savings {month} — monthly report"},
    "solar": {"da": "energimon: Solceller {month} — månedsrapport",
              "en": "energimon: Solar power {month} — monthly report"},
}
BODIES = {
    "savings": {
        "da": ("Hej energiteam\n\nHer er månedsrapporten for ESCO-besparelsen for {month}: besparelse mod den "
               "justerede baseline i kWh, kr. og CO₂, med usikkerhed, og garantiregnskabet.\n{note}\n"
               "Vedhæftet: {files}\n\nVenlig hilsen\nenergimon\n"),
        "en": ("Hello energy team\n\nAttached is the ESCO savings report for {month}: savings against the adjusted "
               "baseline in kWh, DKK and CO₂, with uncertainty, and the guarantee ledger.\n{note}\n"
               "Attached: {files}\n\nKind regards\nenergimon\n"),
    },
    "solar": {
        "da": ("Hej energiteam\n\nHer er månedsrapporten for solcellerne for {month}: produktion, forbrug, "
               "egetforbrug, selvforsyningsgrad og ydelse pr. kWp (IEC 61724-1) for hver bygning.\n{note}\n"
               "Vedhæftet: {files}\n\nVenlig hilsen\nenergimon\n"),
        "en": ("Hello energy team\n\nAttached is the solar report for {month}: production, consumption, "
               "self-consumption, self-sufficiency and yield per kWp (IEC 61724-1) for each building.\n{note}\n"
               "Attached: {files}\n\nKind regards\nenergimon\n"),
    },
}
PRELIMINARY = {
    "da": (" (foreløbig)", "\nBemærk: måneden er ikke slut. Tallene er foreløbige og omfatter kun dagene til og "
                          "med {day}; den endelige rapport kommer, når måneden er slut.\n"),
    "en": (" (preliminary)", "\nNote: the month is not over. The figures are preliminary and cover the days up to "
                             "{day} only; the final report follows when the month is over.\n"),
}


def report_attachments(files) -> list[Path]:
    """What the energy team gets: a list of paths as given, or from a report's files object the PDF, the
    portfolio CSV, the XLSX workbook and any per-building PDFs (the per-building CSVs are in the workbook)."""
    if isinstance(files, list | tuple):
        return [Path(p) for p in files]
    out = [files.pdf, files.csv]
    if getattr(files, "xlsx", None):
        out.append(files.xlsx)
    return out + list(getattr(files, "site_pdfs", None) or [])


def report_recipients(settings, kind: str) -> list[str]:
    smtp = settings.smtp
    if kind == "savings":
        if smtp is not None and smtp.reports.savings is not None:
            return list(smtp.reports.savings)
        return list(settings.esco.recipients) if settings.esco is not None else []
    return list(smtp.reports.solar) if smtp is not None else []


def report_message(kind: str, sender: str, recipients: Sequence[str], month: dt.date, files: Sequence[Path],
                   lang: str = "da", preliminary: dt.date | None = None,
                   now: dt.datetime | None = None) -> EmailMessage:
    """A mail with the report files attached, in Danish by default; ``preliminary``: the month is not over
    and this day is the first one not counted (the report's cutoff, "today"), said in the subject and text."""
    from energimon.analytics.report.i18n import month_name
    from energimon.mail.outbox import recipients_key

    label = month_name(month.year, month.month, lang)
    mark, note = ("", "")
    if preliminary is not None:
        last = preliminary - dt.timedelta(days=1)
        mark, note = PRELIMINARY[lang][0], PRELIMINARY[lang][1].format(day=last.isoformat())
    subject = SUBJECTS[kind][lang].format(month=label + mark)
    text = BODIES[kind][lang].format(month=label, note=note, files=", ".join(p.name for p in files))
    # Stable per report, period and recipient list: a mail client shows a repeated delivery once
    tag = hashlib.sha256(recipients_key(recipients).encode()).hexdigest()[:10]
    mid = f"<report-{kind}-{month:%Y-%m}{f'-prelim-{preliminary:%Y%m%d}' if preliminary else ''}.{tag}@energimon>"
    return new_message(sender, recipients, subject, text, message_id=mid, date=now, files=files)


def queue_report_mail(settings, kind: str, month: dt.date, files, db=None, now: dt.datetime | None = None,
                      preliminary: dt.date | None = None, recipients: Sequence[str] | None = None) -> str:
    """Queue the report mail (once per period and recipient list); returns what happened, for the log."""
    from energimon.mail.outbox import MailDB
    from energimon.mail.service import mail_db_path

    recipients = list(recipients) if recipients is not None else report_recipients(settings, kind)
    if not recipients:
        where = "smtp.reports.solar" if kind == "solar" else "esco.recipients (or smtp.reports.savings)"
        return f"not mailed: {where} is empty"
    if settings.smtp is None:
        return "not mailed: there is no [smtp] table"
    paths = report_attachments(files)
    now = now or dt.datetime.now(tz=dt.UTC)
    msg = report_message(kind, settings.smtp.sender, recipients, month, paths, settings.smtp.language,
                         preliminary, now)
    own = db is None
    db = db or MailDB(mail_db_path(settings))
    try:
        fresh = db.record_delivery(kind, f"{month:%Y-%m}", recipients, msg, now, paths,
                                   preliminary.isoformat() if preliminary else "")
    finally:
        if own:
            db.close()
    return f"queued for {', '.join(recipients)}" if fresh else "already delivered earlier (not queued again)"
