"""The sources as scheduled jobs of the daemon: one job per configured source, first run at start.

Each run is a plain function, so APScheduler runs it in its worker thread (HTTP and SQLite stay off
the event loop); the first run of a series is its backfill, later runs are incremental.  A run that
ended with failures raises ``failed_exc`` (the daemon passes its job-run log's "already reported"
exception), so ``energimon status`` shows the job as failed while the log has one line per cause.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from energimon.collector.sources.runner import Sink, SourceBusy
from energimon.collector.sources.service import run_source
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.sources")


def register_jobs(scheduler, settings, sink: Sink, stop: threading.Event,
                  failed_exc: Callable[[str], Exception] = RuntimeError) -> list[str]:
    """Add ``sources.<name>`` every ``interval_minutes`` (first run now); returns the job ids."""
    from apscheduler.triggers.interval import IntervalTrigger

    ids = []
    for name in settings.sources.configured():
        cfg = getattr(settings.sources, name)

        def job(name: str = name) -> None:
            try:
                summary = run_source(settings, name, sink, stop=stop)
            except SourceBusy as exc:
                raise failed_exc(str(exc)) from None
            log.info("%s", summary.line())
            if stop.is_set():
                return  # interrupted by the daemon's stop: the watermark keeps what was done
            if not summary.ok:
                raise failed_exc(summary.fatal or "; ".join(summary.errors[:3])
                                 + (f" (+{len(summary.errors) - 3} more)" if len(summary.errors) > 3 else ""))

        job_id = f"sources.{name}"
        scheduler.add_job(job, IntervalTrigger(minutes=cfg.interval_minutes, timezone=LOCAL_TZ), id=job_id,
                          max_instances=1, coalesce=True, misfire_grace_time=3600, replace_existing=True,
                          next_run_time=dt.datetime.now(tz=LOCAL_TZ))
        ids.append(job_id)
    return ids
