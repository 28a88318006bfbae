"""When the monthly savings report is due, and the job the daemon's scheduler calls.

Wiring (for the daemon's owner): an APScheduler job in Europe/Copenhagen at a time outside
02:00-03:00, e.g. ``CronTrigger(day="1-7", hour=7, minute=0, timezone="Europe/Copenhagen")``,
that runs ``await asyncio.to_thread(run_monthly_savings_report, settings, store, date.today(),
holidays)`` — the function does nothing unless today is the month's first working day, and
writing the same month twice gives the same files (idempotent), so a repeated or late run is
harmless.  Mailing the returned files to ``esco.recipients`` belongs to the outbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container

from energimon.analytics.esco import add_months


def first_working_day(year: int, month: int, holidays: Container[dt.date] = ()) -> dt.date:
    """The first Monday-Friday of the month that is not in ``holidays`` (e.g. 1 January)."""
    d = dt.date(year, month, 1)
    while d.weekday() >= 5 or d in holidays:
        d += dt.timedelta(days=1)
    return d


def report_month_due(today: dt.date, holidays: Container[dt.date] = ()) -> dt.date | None:
    """The month to report (the previous one) if ``today`` is this month's first working day, else None."""
    if today != first_working_day(today.year, today.month, holidays):
        return None
    return add_months(dt.date(today.year, today.month, 1), -1)


def run_monthly_savings_report(settings, store, today: dt.date, holidays: Container[dt.date] = ()):
    """The scheduled job: write last month's savings report when due; returns the files or None."""
    from energimon.analytics.report.savings_report import generate_savings_report

    month = report_month_due(today, holidays)
    if month is None or settings.esco is None:
        return None
    return generate_savings_report(settings, store, month)
