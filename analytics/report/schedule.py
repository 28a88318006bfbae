"""Monthly reports that always arrive: every due period is produced and delivered once, also after downtime.

A month's report is **due** from the first working day (Monday-Friday, not a Danish public holiday) of the
following month.  The daemon runs :func:`run_due_reports` when it starts and every morning at 07:05
(Europe/Copenhagen, outside the 02:00-03:00 DST hour): for each scheduled report (the savings report when
``[esco]`` exists; the solar report when ``[smtp.reports] solar`` names recipients) it produces and
delivers every due month that has not been delivered to the same recipient list, oldest first.

* **Catch-up.**  A daemon that was down over the first working day sends the month when it starts again
  (on the 5th, or weeks later): at most :data:`MAX_CATCH_UP_MONTHS` months back, and never before the month
  that was due when this recipient list was first scheduled (new recipients do not get the history).
* **At most once.**  What was delivered is recorded per report, month and recipient list in the mail
  database (``report_deliveries``), in the same transaction as the mail it queues: a restart, a second run
  the same day, the repeated autumn DST hour send nothing twice.
* **A clock step** back makes nothing due (the months up to the newest due one are recorded, and the
  first month of a recipient list never moves back); a clock stepped wrongly forward produces the months it
  thinks are due, and the real ones still go out once the clock is right (the record is per month, not a
  high-water mark).  Only a clock that is wrong when a recipient list is first scheduled sets its first
  month wrongly: mail the missed months with ``energimon report mail``.
* **Never a month that is not over**, unless asked by hand (``energimon report mail --preliminary``; the
  mail then says *foreløbig*).
* Without ``[smtp]`` (or without recipients) the savings report is only written to ``esco.reports_dir``,
  with the same record, so it too is caught up after downtime.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path

from energimon.calendar import add_months, danish_public_holidays, next_month
from energimon.cliutil import t
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.reports")

MAX_CATCH_UP_MONTHS = 12


def first_working_day(year: int, month: int, holidays: Container[dt.date] = ()) -> dt.date:
    """The first Monday-Friday of the month that is not in ``holidays`` (e.g. 1 January)."""
    d = dt.date(year, month, 1)
    while d.weekday() >= 5 or d in holidays:
        d += dt.timedelta(days=1)
    return d


def latest_due_month(today: dt.date, holidays: Container[dt.date] = ()) -> dt.date:
    """The newest month whose report is due on ``today``: the previous month from this month's first working
    day on, else the month before it."""
    this = dt.date(today.year, today.month, 1)
    back = 1 if today >= first_working_day(today.year, today.month, holidays) else 2
    return add_months(this, -back)


def due_months(today: dt.date, since: dt.date, holidays: Container[dt.date] = (),
               max_months: int = MAX_CATCH_UP_MONTHS) -> list[dt.date]:
    """Every month from ``since`` to the newest due one, oldest first, at most ``max_months``."""
    latest = latest_due_month(today, holidays)
    first = max(dt.date(since.year, since.month, 1), add_months(latest, -(max_months - 1)))
    out = []
    while first <= latest:
        out.append(first)
        first = add_months(first, 1)
    return out


def month_is_over(month: dt.date, today: dt.date) -> bool:
    return today >= next_month(month)


@dataclass(frozen=True)
class ScheduledReport:
    kind: str  # savings | solar
    recipients: tuple[str, ...]  # () = written to the reports folder, not mailed


def scheduled_reports(settings) -> list[ScheduledReport]:
    from energimon.analytics.report.mailing import report_recipients

    out = []
    mail = settings.smtp is not None
    if settings.esco is not None:
        out.append(ScheduledReport("savings", tuple(report_recipients(settings, "savings")) if mail else ()))
    if mail and settings.smtp.reports.solar:
        out.append(ScheduledReport("solar", tuple(settings.smtp.reports.solar)))
    return out


def reports_dir(settings) -> Path:
    if settings.esco is not None:
        return Path(settings.esco.reports_dir)
    return Path(settings.spool.path).parent / "reports"


def produce(settings, store, kind: str, month: dt.date, today: dt.date) -> list[Path]:
    """Write the report files of ``month`` as of ``today`` (a month not over yet: marked preliminary by the
    report itself); idempotent: the same month again overwrites the same files."""
    from energimon.analytics.report.mailing import report_attachments

    if kind == "savings":
        from energimon.analytics.report.savings_report import generate_savings_report

        return report_attachments(generate_savings_report(settings, store, month, today=today))
    from energimon.analytics.report.solar_report import generate_solar_report

    lang = settings.smtp.language if settings.smtp is not None else "da"
    return report_attachments(generate_solar_report(settings, store, month, out_dir=reports_dir(settings), lang=lang,
                                                    today=today))


def _deliver(settings, db, kind: str, month: dt.date, recipients: Sequence[str], files: list[Path],
             now: dt.datetime, preliminary: dt.date | None = None) -> bool:
    """Record the delivery (and queue its mail when there are recipients): one transaction."""
    from energimon.analytics.report.mailing import report_message

    msg = None
    if recipients:
        msg = report_message(kind, settings.smtp.sender, recipients, month, files, settings.smtp.language,
                             preliminary, now)
    return db.record_delivery(kind, f"{month:%Y-%m}", list(recipients) if msg else [], msg, now, files,
                              preliminary.isoformat() if preliminary else "")


def run_due_reports(settings, store_factory: Callable, db, now: dt.datetime,
                    holidays: Container[dt.date] | None = None, stop: threading.Event | None = None) -> list[str]:
    """Produce and deliver every due, undelivered report period (the daemon's job; ``now`` is the clock).

    ``db`` is the :class:`~energimon.mail.outbox.MailDB`; ``store_factory()`` opens a read-only store (only
    when something is due).  Returns one line per delivery; a report that fails is logged, the others go
    on, and the run raises afterwards so the job-run log shows it (it is tried again at the next run).
    ``stop`` (the daemon's stop) ends the run between reports; a report cut off by the stop is not recorded
    and is produced again at the next start.

    Its lines and log messages stay English whatever the run's language: they go to the daemon's log and
    job-run log, read by operators and matched by journald greps; :func:`deliver_report` (the command line)
    speaks the run's language.
    """
    from energimon.mail.outbox import MailDBClosed, recipients_key

    today = now.astimezone(LOCAL_TZ).date()
    holidays = danish_public_holidays(today.year) if holidays is None else holidays
    latest = latest_due_month(today, holidays)
    done: list[str] = []
    failures: list[str] = []
    store = None
    try:
        for report in scheduled_reports(settings):
            key = recipients_key(report.recipients)
            since = db.schedule_since(report.kind, key, f"{latest:%Y-%m}")
            for month in due_months(today, dt.date.fromisoformat(since + "-01"), holidays):
                if stop is not None and stop.is_set():
                    log.info("report %s %s: the daemon is stopping; it is produced at the next start",
                             report.kind, f"{month:%Y-%m}")
                    return done
                if db.delivered(report.kind, f"{month:%Y-%m}", key):
                    continue
                try:
                    store = store or store_factory()
                    files = produce(settings, store, report.kind, month, today)
                    _deliver(settings, db, report.kind, month, report.recipients, files, now)
                except MailDBClosed:
                    log.info("report %s %s: the daemon stopped before it was recorded; it is produced again "
                             "at the next start", report.kind, f"{month:%Y-%m}")
                    return done
                except Exception as exc:  # the next kind still runs; this one again at the next run
                    log.exception("report %s %s could not be produced", report.kind, f"{month:%Y-%m}")
                    failures.append(f"{report.kind} {month:%Y-%m}: {type(exc).__name__}: {exc}")
                    break
                how = f"mail queued for {', '.join(report.recipients)}" if report.recipients else "files written"
                log.info("report %s %s delivered (%s): %s", report.kind, f"{month:%Y-%m}", how, files[0])
                done.append(f"{report.kind} {month:%Y-%m}: {how}")
    finally:
        if store is not None:
            store.close()
    if failures:
        raise RuntimeError("report(s) not delivered: " + "; ".join(failures))
    return done


def deliver_report(settings, kind: str, month: dt.date, db, now: dt.datetime, store_factory: Callable,
                   preliminary: bool = False, recipients: Sequence[str] | None = None) -> str:
    """One report by hand (``energimon report mail``): refused for a month that is not over unless
    ``preliminary``; once per month and recipient list (a preliminary one once per day)."""
    from energimon.analytics.report.mailing import report_recipients
    from energimon.mail.outbox import recipients_key

    today = now.astimezone(LOCAL_TZ).date()
    if month > today:
        raise ValueError(t(f"{month:%Y-%m} er ikke begyndt (i dag er {today})",
                           f"{month:%Y-%m} has not begun (today is {today})"))
    over = month_is_over(month, today)
    if not over and not preliminary:
        raise ValueError(t(f"{month:%Y-%m} er ikke slut (i dag er {today}): rapporten ville være ufuldstændig; giv "
                           "--preliminary for at sende den mærket foreløbig",
                           f"{month:%Y-%m} is not over (today is {today}): its report would be incomplete; give "
                           "--preliminary to mail it marked foreløbig"))
    recipients = list(recipients) if recipients else report_recipients(settings, kind)
    if not recipients:
        where = "[smtp.reports] solar" if kind == "solar" else "esco.recipients (or [smtp.reports] savings)"
        raise ValueError(t(f"ingen modtagere af {kind}-rapporten: sæt {where} eller giv --to",
                           f"no recipients for the {kind} report: set {where} or give --to"))
    if kind == "savings" and settings.esco is None:
        raise ValueError(t("konfigurationen har ingen [esco]-tabel", "the configuration has no [esco] table"))
    prelim = None if over else today
    if db.delivered(kind, f"{month:%Y-%m}", recipients_key(recipients), prelim.isoformat() if prelim else ""):
        return t("allerede sendt til disse modtagere (ikke igen)",
                 "already mailed to these recipients earlier (not again)")
    store = store_factory()
    try:
        files = produce(settings, store, kind, month, today)
    finally:
        store.close()
    _deliver(settings, db, kind, month, recipients, files, now, prelim)
    to = ", ".join(recipients)
    return (t(f"foreløbig rapport sat i kø til {to}", f"preliminary report queued for {to}") if prelim
            else t(f"rapport sat i kø til {to}", f"report queued for {to}"))


def register_report_jobs(scheduler, settings, store_factory: Callable, db,
                         stop: threading.Event | None = None) -> bool:
    """Schedule ``reports.monthly`` (at start, then daily 07:05 local) when a report is scheduled; ``stop`` is
    the daemon's stop event (a catch-up of several months ends early at a stop)."""
    if not scheduled_reports(settings):
        return False
    import asyncio

    from apscheduler.triggers.cron import CronTrigger

    async def reports_job() -> None:
        await asyncio.to_thread(run_due_reports, settings, store_factory, db, dt.datetime.now(tz=dt.UTC), None,
                                stop)

    scheduler.add_job(reports_job, CronTrigger(hour=7, minute=5, timezone=LOCAL_TZ), id="reports.monthly",
                      next_run_time=dt.datetime.now(tz=LOCAL_TZ), coalesce=True, max_instances=1,
                      misfire_grace_time=3600, replace_existing=True)
    return True
