"""What a scheduled job and the scheduler that records it agree on (a base module: any package may use it).

A package that schedules work (the mail outbox, the live sources, alerting, reports) adds its jobs to the
daemon's APScheduler ``AsyncIOScheduler``; the application's scheduler
(:class:`energimon.app.jobruns.RecordingScheduler`) records every run in the job-run log.  A job lets a
failure propagate, so the log says ``error``; a failure the job has already reported in its own way (once
per outage) is raised as :class:`JobFailed`, which is recorded with its text and not logged again.
"""

from __future__ import annotations

from energimon.security import redact_url_credentials

ERROR_TEXT_MAX = 300  # a status line, not a traceback (that goes to the log)


class JobFailed(Exception):
    """A failure the job has already reported in its own way (e.g. once per outage): recorded as
    ``error`` with this text, without the wrapper logging it again."""


def error_text(exc: BaseException) -> str:
    """One short line naming the exception, for the status and the metrics (the log has the traceback).

    Stored in ``jobs.db`` and shown by ``energimon status``: a URL's credentials are hidden first.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = redact_url_credentials(text)
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= ERROR_TEXT_MAX else text[:ERROR_TEXT_MAX - 1] + "…"
