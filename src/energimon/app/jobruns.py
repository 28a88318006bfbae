"""The job-run log: when each scheduled job last ran, how long it took, and how it ended.

The daemon's scheduler (:class:`RecordingScheduler`) wraps every job it is given, so the log records
what really happened: the wrapper sees the start, the end and the exception itself — an APScheduler
"executed" event would call a job that caught its own error and only logged it a success.  Jobs
therefore let failures propagate; the wrapper records and logs them (with the traceback) and
returns normally, so a failing job never takes the daemon down and the scheduler runs it again.

One row per job id in a small SQLite file (WAL, default ``jobs.db`` beside the spool), so
``energimon status`` in another process can read it, while the daemon runs or after it stopped.
Outcomes: ``ok``, ``error`` (with a short text), ``missed`` (a due run was skipped: the daemon was
busy or the previous run still going), ``running``, ``interrupted`` (the daemon stopped during it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import inspect
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED

from energimon.jobs import ERROR_TEXT_MAX, JobFailed, error_text
from energimon.security import redact_url_credentials

__all__ = ["JobFailed", "JobRun", "JobRunLog", "RecordingScheduler", "error_text", "jobs_path", "read_job_runs"]

log = logging.getLogger("energimon.jobs")

SCHEMA = """
CREATE TABLE IF NOT EXISTS job_runs (
    job_id          TEXT PRIMARY KEY,
    scheduled       INTEGER NOT NULL DEFAULT 1,  -- scheduled by the current (or last) daemon run
    next_due_ms     INTEGER,                     -- NULL when the daemon is stopped
    last_start_ms   INTEGER,
    last_end_ms     INTEGER,
    last_duration_s REAL,
    outcome         TEXT,                        -- ok | error | missed | running | interrupted
    error           TEXT,
    last_success_ms INTEGER,
    runs            INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0
);
"""
COLUMNS = ("job_id", "scheduled", "next_due_ms", "last_start_ms", "last_end_ms", "last_duration_s", "outcome",
           "error", "last_success_ms", "runs", "failures")


@dataclass(frozen=True)
class JobRun:
    job_id: str
    scheduled: bool
    next_due_ms: int | None
    last_start_ms: int | None
    last_end_ms: int | None
    last_duration_s: float | None
    outcome: str | None
    error: str | None
    last_success_ms: int | None
    runs: int
    failures: int


def jobs_path(settings) -> Path:
    """``[schedule] jobs_path``, else ``jobs.db`` in the spool's folder (the daemon's state directory)."""
    return settings.schedule.jobs_path or settings.spool.path.parent / "jobs.db"


def _ms(t: dt.datetime | None) -> int | None:
    return None if t is None else int(t.timestamp() * 1000)


def _rows(db: sqlite3.Connection) -> list[JobRun]:
    rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM job_runs ORDER BY job_id").fetchall()
    return [JobRun(r[0], bool(r[1]), *r[2:]) for r in rows]


def read_job_runs(path: Path) -> list[JobRun]:
    """Every job's row, read-only (``energimon status``); none while the daemon has not yet created the log's
    table (the file exists a moment before).  Raises :class:`sqlite3.Error`."""
    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
    try:
        if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'job_runs'").fetchone() is None:
            return []
        return _rows(db)
    finally:
        db.close()


class JobRunLog:
    """The daemon's writer of the job-run log.

    A log that cannot be written (disk full, file damaged) is reported once and otherwise ignored:
    losing the job history must not stop the jobs, let alone collection.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()  # jobs run on the loop and in worker threads
        self._db: sqlite3.Connection | None = None
        self._failing = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a lost last entry after a power cut is acceptable
            db.executescript(SCHEMA)
            self._db = db
        except (OSError, sqlite3.Error) as exc:
            log.error("job-run log %s cannot be opened, job runs are not recorded: %s", self.path, exc)

    def _write(self, sql_params: Iterable[tuple[str, tuple]]) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in sql_params:
                        self._db.execute(sql, params)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:  # also ProgrammingError: written after close()
                if not self._failing:  # once per outage, not once per run
                    log.error("job-run log %s not written: %s", self.path, exc)
                self._failing = True
                return
            if self._failing:
                log.info("job-run log %s written again", self.path)
                self._failing = False

    @staticmethod
    def _ensure(job_id: str) -> tuple[str, tuple]:
        return "INSERT OR IGNORE INTO job_runs(job_id) VALUES (?)", (job_id,)

    def daemon_started(self, jobs: dict[str, int | None]) -> None:
        """A daemon run begins with ``jobs`` (id -> next due ms): runs cut off by a kill become interrupted."""
        ops: list[tuple[str, tuple[object, ...]]]
        ops = [("UPDATE job_runs SET outcome = 'interrupted', error = 'the daemon stopped during the run' "
                "WHERE outcome = 'running'", ()),
               ("UPDATE job_runs SET scheduled = 0, next_due_ms = NULL", ())]
        for job_id, due_ms in jobs.items():
            ops += [self._ensure(job_id),
                    ("UPDATE job_runs SET scheduled = 1, next_due_ms = ? WHERE job_id = ?", (due_ms, job_id))]
        self._write(ops)

    def daemon_stopped(self) -> None:
        self._write([("UPDATE job_runs SET next_due_ms = NULL", ())])

    def scheduled(self, job_id: str, due_ms: int | None) -> None:
        self._write([self._ensure(job_id),
                     ("UPDATE job_runs SET scheduled = 1, next_due_ms = ? WHERE job_id = ?", (due_ms, job_id))])

    def started(self, job_id: str, start_ms: int) -> None:
        self._write([self._ensure(job_id),
                     ("UPDATE job_runs SET last_start_ms = ?, outcome = 'running', error = NULL WHERE job_id = ?",
                      (start_ms, job_id))])

    def finished(self, job_id: str, end_ms: int, duration_s: float, outcome: str, error: str | None,
                 next_due_ms: int | None) -> None:
        ok = outcome == "ok"
        self._write([self._ensure(job_id), (
            "UPDATE job_runs SET last_end_ms = ?, last_duration_s = ?, outcome = ?, error = ?, next_due_ms = ?, "
            "last_success_ms = CASE WHEN ? THEN ? ELSE last_success_ms END, runs = runs + 1, "
            "failures = failures + ? WHERE job_id = ?",
            (end_ms, duration_s, outcome, error, next_due_ms, ok, end_ms, 0 if ok else 1, job_id))])

    def missed(self, job_id: str, due_ms: int | None, reason: str) -> None:
        when = dt.datetime.fromtimestamp(due_ms / 1000, dt.UTC).isoformat(timespec="seconds") if due_ms else "?"
        self._write([self._ensure(job_id),
                     ("UPDATE job_runs SET outcome = 'missed', error = ? WHERE job_id = ? AND "
                      "coalesce(outcome, '') != 'running'", (f"run due {when} skipped: {reason}", job_id))])

    def runs(self) -> list[JobRun]:
        with self._lock:
            if self._db is None:
                return []
            try:
                return _rows(self._db)
            except sqlite3.Error:
                return []

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _is_coroutine_function(func: Callable) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func)


class RecordingScheduler(AsyncIOScheduler):
    """An ``AsyncIOScheduler`` whose every job is recorded in a :class:`JobRunLog`.

    Wrapping in ``add_job`` covers every job whoever adds it (the daemon, ``register_jobs``), with no
    per-job code.  Coroutine jobs stay coroutines (run on the loop, log writes in a thread); plain
    functions stay plain (APScheduler runs them in its thread pool).
    """

    def __init__(self, job_log: JobRunLog, **options):
        super().__init__(**options)
        self.job_log = job_log
        self._in_flight = 0  # runs started and not finished (loop and worker threads)
        self._in_flight_lock = threading.Lock()
        self.add_listener(self._on_skipped, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def add_job(self, func, trigger=None, args=None, kwargs=None, id=None, name=None, **options):
        if callable(func):
            id = id or getattr(func, "__qualname__", repr(func))
            name = name or getattr(func, "__qualname__", None)
            func = self._recorded(id, func)
        job = super().add_job(func, trigger, args, kwargs, id=id, name=name, **options)
        if self.running:  # added after start: listed at once
            self.job_log.scheduled(job.id, _ms(job.next_run_time))
        return job

    def start(self, *args, **kwargs) -> None:
        super().start(*args, **kwargs)
        self.job_log.daemon_started({job.id: _ms(job.next_run_time) for job in self.get_jobs()})

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        self.job_log.daemon_stopped()

    async def drain(self, timeout_s: float) -> bool:
        """Pause and wait up to ``timeout_s`` for runs in flight to finish (True if none is left).

        ``shutdown(wait=False)`` cancels a run in flight: its result is lost and APScheduler logs an
        error for what is only a stop; a short grace lets a status point or an outbox run complete.
        """
        self.pause()
        deadline = time.monotonic() + timeout_s
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return not self._in_flight

    def _enter(self) -> None:
        with self._in_flight_lock:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._in_flight_lock:
            self._in_flight -= 1

    def next_due_ms(self, job_id: str) -> int | None:
        """The job's next fire time from now (the trigger's own answer, not the run we are in)."""
        if self.state == STATE_STOPPED:
            return None
        job = self.get_job(job_id)
        if job is None or job.next_run_time is None:  # removed or paused
            return None
        return _ms(job.trigger.get_next_fire_time(None, dt.datetime.now(tz=job.next_run_time.tzinfo)))

    def _on_skipped(self, event) -> None:
        # Rare (a misfire, an overlong run), so the one-row write happens right here on the loop.
        if event.code == EVENT_JOB_MISSED:
            self.job_log.missed(event.job_id, _ms(event.scheduled_run_time), "the daemon was busy or stopped")
        else:
            times = getattr(event, "scheduled_run_times", None) or [None]
            self.job_log.missed(event.job_id, _ms(times[0]), "the previous run was still running")

    def _recorded(self, job_id: str, func: Callable) -> Callable:
        job_log = self.job_log

        def finish(t0: float, exc: BaseException | None, interrupted: bool = False) -> None:
            duration_s = time.monotonic() - t0
            if interrupted:
                outcome, text = "interrupted", "the daemon stopped during the run"
            elif isinstance(exc, JobFailed):
                outcome, text = "error", redact_url_credentials(str(exc))[:ERROR_TEXT_MAX] or "failed"
            elif exc is not None:
                outcome, text = "error", error_text(exc)
                log.error("job %s failed after %.1f s: %s", job_id, duration_s, text, exc_info=exc)
            else:
                outcome, text = "ok", None
            job_log.finished(job_id, int(time.time() * 1000), duration_s, outcome, text, self.next_due_ms(job_id))

        if _is_coroutine_function(func):
            @functools.wraps(func)
            async def run_async(*args, **kwargs):
                t0 = time.monotonic()
                self._enter()
                try:
                    await asyncio.to_thread(job_log.started, job_id, int(time.time() * 1000))
                    try:
                        await func(*args, **kwargs)
                    except asyncio.CancelledError:
                        # The daemon is stopping and the scheduler cancelled the run (drain timed out): recorded
                        # as interrupted, and not raised on, or APScheduler logs a traceback for a plain stop.
                        finish(t0, None, interrupted=True)  # no more awaits: the task is being cancelled
                        return
                    except Exception as exc:  # recorded and logged; the daemon goes on and the job runs again
                        await asyncio.to_thread(finish, t0, exc)
                    else:
                        await asyncio.to_thread(finish, t0, None)
                finally:
                    self._leave()
            return run_async

        @functools.wraps(func)
        def run_sync(*args, **kwargs):
            t0 = time.monotonic()
            self._enter()
            try:
                job_log.started(job_id, int(time.time() * 1000))
                try:
                    func(*args, **kwargs)
                except Exception as exc:  # recorded and logged; the daemon goes on and the job runs again
                    finish(t0, exc)
                else:
                    finish(t0, None)
            finally:
                self._leave()
        return run_sync
