"""``energimon status``: each owner's view, side by side — store, spool, devices, sites, MQTT, alerts, mail,
live sources and the scheduled jobs.

Everything is read from what the daemon leaves behind (the store and its health series, the spool, the
state files of the collectors, alerting, mail and the sources, the job-run log), each through its owner's
read functions, so ``status`` works from another process, while the daemon runs, without talking to
devices.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pandas as pd

from energimon.analytics.alerting.status import alert_lines
from energimon.app.jobruns import JobRun, jobs_path, read_job_runs
from energimon.cliutil import local_time, number, percent, t
from energimon.collector.modbus.status import device_identity_lines, device_lines
from energimon.collector.mqtt.status import mqtt_lines
from energimon.mail.status import status_lines as mail_lines

if TYPE_CHECKING:
    from energimon.config.settings import Settings

__all__ = ["alert_lines", "device_identity_lines", "device_lines", "job_line", "job_lines", "mail_lines",
           "mqtt_lines", "print_status", "site_lines", "source_lines"]

OVERDUE_GRACE_MS = 120_000  # a job this late was not started: a killed daemon leaves its next runs behind


def print_status(settings: Settings) -> bool:
    """Print every block as it is read (a slow store does not hold back the rest); True when the store is
    usable."""
    from energimon.security import redact_url_credentials
    from energimon.store import open_store
    from energimon.store.base import StoreError
    from energimon.store.spool import read_counts

    ok = True
    latest = None  # None: the store cannot be read, so devices and sites are unknown
    try:
        store = open_store(settings.store, readonly=True)
    except (StoreError, ValueError, OSError, sqlite3.Error) as exc:  # e.g. an embedded store not created yet
        print(redact_url_credentials(t(f"lager:   {settings.store.kind}: IKKE brugbart: {exc}",
                                       f"store:   {settings.store.kind}: NOT usable: {exc}")))
        ok = False
    else:
        try:
            health = store.ping()
            if health.reachable:
                latest = store.latest()
        finally:
            store.close()
        state = t("tilgængeligt", "reachable") if health.reachable else t("IKKE brugbart", "NOT usable")
        print(redact_url_credentials(t(f"lager:   {health.kind}: {state} — {health.detail}",
                                       f"store:   {health.kind}: {state} — {health.detail}")))
        ok = health.reachable
    spool = settings.spool.path
    if not spool.exists():
        print(t(f"spool:   {spool}: ikke oprettet endnu (dæmonen har ikke kørt)",
                f"spool:   {spool}: not created yet (the daemon has not run)"))
    else:
        try:
            counts = read_counts(spool)
        except sqlite3.Error as exc:
            print(t(f"spool:   {spool}: kan ikke læses: {exc}", f"spool:   {spool}: cannot read: {exc}"))
        else:
            fill = percent(counts.waiting / settings.spool.max_readings)
            waiting, most = number(counts.waiting), number(settings.spool.max_readings)
            dead = number(counts.dead_letters)
            print(t(f"spool:   {spool}: {waiting} målinger venter på lageret ({fill} af {most}), {dead} afviste",
                    f"spool:   {spool}: {waiting} readings waiting for the store ({fill} of {most}), "
                    f"{dead} dead letters"))
    now = pd.Timestamp.now(tz="UTC")
    if latest is not None:
        print(t("apparater:", "devices:"), *device_lines(settings, latest, now), sep="\n")
        print(t("bygninger:", "sites:"), *site_lines(settings, latest, now), sep="\n")
    else:
        print(t("apparater: ukendt (lageret kan ikke læses)", "devices: unknown (the store cannot be read)"))
    print(t("apparaternes identitet:", "device identity:"), *device_identity_lines(settings), sep="\n")
    print("mqtt:", *mqtt_lines(settings, now), sep="\n")
    print(t("alarmer:", "alerts:"), *alert_lines(settings), sep="\n")
    print("mail:", *mail_lines(settings), sep="\n")
    if settings.sources is not None:
        print(t("kilder:", "sources:"), *source_lines(settings), sep="\n")
    print(t("job:", "jobs:"), *job_lines(settings, now), sep="\n")
    return ok


def site_lines(settings: Settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    lines = []
    for site_id, site in settings.sites.items():
        rows = latest[latest["site"] == site_id]
        if rows.empty:
            lines.append(t(f"  {site.name} ({site_id}): ingen målinger endnu",
                           f"  {site.name} ({site_id}): no readings yet"))
            continue
        age = number((now - pd.Timestamp(rows["time"].max())).total_seconds())
        channels = number(rows["channel"].nunique())
        lines.append(t(f"  {site.name} ({site_id}): seneste måling for {age} s siden, {channels} kanaler",
                       f"  {site.name} ({site_id}): last reading {age} s ago, {channels} channels"))
    return lines


def source_lines(settings: Settings) -> list[str]:
    """The live sources (Eloverblik, Energi Data Service, DMI): lag and failures, from their state file."""
    from energimon.collector.sources.lag import status_lines
    from energimon.collector.sources.service import state_path

    if settings.sources is None:
        return []
    return status_lines(state_path(settings), settings.sources.configured())


def _duration(seconds: float) -> str:
    return f"{number(seconds * 1000, 1)} ms" if seconds < 1 else f"{number(seconds, 1)} s"


def job_line(run: JobRun, now_ms: int) -> str:
    """One job: last run (local time), duration, outcome, last success when the last run was not one, next run."""
    if run.last_start_ms is None and run.outcome is None:
        text = t("ikke kørt endnu", "not run yet")
    elif run.outcome == "running":
        since = local_time(run.last_start_ms) if run.last_start_ms is not None else "?"
        text = t(f"kører siden {since}", f"running since {since}")
    else:
        text = (t(f"sidste kørsel {local_time(run.last_start_ms)}", f"last run {local_time(run.last_start_ms)}")
                if run.last_start_ms is not None else t("aldrig kørt", "never ran"))
        if run.last_duration_s is not None and run.outcome != "missed":
            text += f" ({_duration(run.last_duration_s)})"
        text += ", ok" if run.outcome == "ok" else f", {(run.outcome or '?').upper()}"
        if run.error:
            text += f": {run.error}"
        if run.outcome != "ok":
            text += (t(f"; sidst lykkedes {local_time(run.last_success_ms)}",
                       f"; last success {local_time(run.last_success_ms)}") if run.last_success_ms
                     else t("; er aldrig lykkedes", "; never succeeded"))
    if run.next_due_ms is not None:
        late = now_ms - run.next_due_ms > OVERDUE_GRACE_MS
        text += (t(f"; næste {local_time(run.next_due_ms)}", f"; next {local_time(run.next_due_ms)}")
                 + (t(" (FORSINKET: kører dæmonen?)", " (OVERDUE: is the daemon running?)") if late else ""))
    return f"  {run.job_id}: {text}"


def job_lines(settings: Settings, now: pd.Timestamp) -> list[str]:
    """The scheduled jobs from the job-run log the daemon keeps (read-only), or why there is nothing to show."""
    path = jobs_path(settings)
    if not path.exists():
        return [t(f"  {path}: ingen kørsler registreret endnu (dæmonen har ikke kørt)",
                  f"  {path}: no job runs recorded yet (the daemon has not run)")]
    try:
        runs = read_job_runs(path)
    except sqlite3.Error as exc:
        return [t(f"  kan ikke læse {path}: {exc}", f"  cannot read {path}: {exc}")]
    now_ms = int(now.timestamp() * 1000)
    lines = [job_line(r, now_ms) for r in runs if r.scheduled] or [t("  ingen planlagte job", "  no jobs scheduled")]
    if runs and all(r.next_due_ms is None for r in runs if r.scheduled):
        lines.append(t("  (ingen næste kørsler: dæmonen kører ikke)", "  (no next runs: the daemon is not running)"))
    return lines
