"""The daemon's mail sender: one transport (with its token cache) for every outbox, and its job.

The daemon builds one :class:`Mailer` from ``[smtp]`` and registers the outboxes to deliver: its own
:class:`~energimon.mail.outbox.MailDB` (reports) and the alert state file (alerts).  The job
``mail.outbox`` runs every minute in a worker thread; a run that could not deliver counts as an error in
the job-run log (the mails stay queued and are retried with back-off).
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from energimon.mail.outbox import Delivery, MailDB, OutboxFile, count_waiting, deliver
from energimon.mail.settings import SmtpSettings, mail_warnings
from energimon.mail.transport import Transport, make_transport

log = logging.getLogger("energimon.mail")


def mail_db_path(settings) -> Path:
    """``[smtp] outbox_file``, else ``mail.db`` in the spool's folder (the daemon's state directory)."""
    smtp = getattr(settings, "smtp", None)
    if smtp is not None and smtp.outbox_file is not None:
        return Path(smtp.outbox_file)
    return Path(settings.spool.path).parent / "mail.db"


class Mailer:
    def __init__(self, cfg: SmtpSettings, db: MailDB | None = None, transport: Transport | None = None):
        self.cfg = cfg
        self.transport = transport or make_transport(cfg)
        self.db = db
        self.outboxes: list[OutboxFile] = [db] if db is not None else []

    @classmethod
    def for_settings(cls, settings) -> Mailer:
        """The daemon's mailer: the configured transport and the mail database (opened here)."""
        for warning in mail_warnings(settings.smtp):
            log.warning("%s", warning)
        mailer = cls(settings.smtp, MailDB(mail_db_path(settings)))
        log.info("mail: %s", mailer.transport.describe())
        return mailer

    def add_outbox(self, db: OutboxFile) -> None:
        if all(db is not other for other in self.outboxes):
            self.outboxes.append(db)

    def deliver(self, db: OutboxFile, now: dt.datetime | float) -> Delivery:
        return deliver(db, self.transport.send, now)

    def deliver_all(self, now: dt.datetime | float) -> Delivery:
        total = Delivery(errors=[])
        for db in self.outboxes:
            r = self.deliver(db, now)
            total.sent += r.sent
            total.failed += r.failed
            total.waiting += r.waiting
            total.errors += r.errors
            if r.failed:  # the transport fails: the other outboxes wait for the next run
                total.waiting += sum(count_waiting(other) for other in self.outboxes[self.outboxes.index(db) + 1:])
                break
        return total

    def register_job(self, scheduler) -> None:
        """``mail.outbox`` every minute on an APScheduler 3.11 ``AsyncIOScheduler`` (one at a time)."""
        import asyncio

        from apscheduler.triggers.interval import IntervalTrigger

        from energimon.jobs import JobFailed
        from energimon.model import LOCAL_TZ

        async def outbox_job() -> None:
            counts = await asyncio.to_thread(self.deliver_all, dt.datetime.now(tz=dt.UTC))
            if counts.failed:  # already logged by deliver(); the job log records it as an error
                raise JobFailed(f"{counts.failed} mail(s) not delivered, {counts.waiting} waiting: {counts.errors[0]}")

        scheduler.add_job(outbox_job, IntervalTrigger(seconds=60, timezone=LOCAL_TZ), id="mail.outbox",
                          max_instances=1, coalesce=True, misfire_grace_time=600, replace_existing=True)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
