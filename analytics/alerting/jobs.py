"""The scheduled work of alerting, and how the daemon schedules it.

* :func:`run_rules` — evaluate all rules at ``now``, advance the lifecycle, queue mails (with charts).
* :func:`run_outbox` — deliver due mails from the alert state file's outbox (through the mail package).
* :func:`run_digest` — digest mode: the day's summary mail.
* :func:`register_jobs` — adds these to an APScheduler 3.11 ``AsyncIOScheduler`` (Europe/Copenhagen); the
  daemon's mail job (``mail.outbox``, :mod:`energimon.mail.service`) delivers the outbox every minute.

Every job is idempotent: running it twice at the same ``now`` (the repeated 02:00-03:00 hour of the
autumn DST day, a missed run caught up) changes nothing the second time — the lifecycle dedupes by key
and notification, the outbox by message key.  Blocking work runs in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Callable

import numpy as np
import pandas as pd

from energimon.analytics.alerting import lifecycle
from energimon.analytics.alerting.mail import (
    chart_png,
    finding_unit,
    mail_language,
    recipients_for,
    render_alert,
    render_digest,
)
from energimon.analytics.alerting.state import AlertDB
from energimon.analytics.anomaly import engine
from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import AlertSettings
from energimon.model import LOCAL_TZ

log = logging.getLogger(__name__)
HOUR = pd.Timedelta(hours=1)


def chart_frame(data: engine.SiteData | None, f: Finding, end: pd.Timestamp, days: int) -> pd.DataFrame | None:
    """What the mail's chart shows: the last ``days`` days of the finding's series with its normal band."""
    if data is None:
        return None
    lo = end - days * 24 * HOUR
    if f.channel == "load_kwh" and data.hourly is not None:
        return _band(data.hourly, lo, end)
    if f.channel == "heat_kwh" and data.heat_hourly is not None:
        return _band(data.heat_hourly, lo, end)
    if f.channel == "pv_kwh" and data.pv is not None:
        w = data.pv[(data.pv.index >= lo) & (data.pv.index < end)]
        sib = w["sib_ratio"] * w["clear_kwh"] if "sib_ratio" in w else w["clear_kwh"] * np.nan
        return pd.DataFrame({"actual": w["pv_kwh"], "low": 0.0, "high": w["clear_kwh"], "expected": sib})
    return None


def _band(hourly: pd.DataFrame, lo: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Normal range per hour: 10-90 % of the same (open/closed, weekday, hour) in the 4 weeks before ``lo``."""
    hist = hourly[(hourly.index >= lo - 28 * 24 * HOUR) & (hourly.index < lo)]

    def key(df: pd.DataFrame) -> list[tuple[bool, int, int]]:
        index = pd.DatetimeIndex(df.index)
        return list(zip(df["open"], index.day_of_week, index.hour, strict=True))

    keys = pd.Series(key(hist), index=hist.index, dtype=object)
    q = hist["kwh"].groupby(keys).quantile(np.array([0.1, 0.5, 0.9])).unstack()
    w = hourly[(hourly.index >= lo) & (hourly.index < end)]
    ks = key(w)
    return pd.DataFrame({"actual": w["kwh"].to_numpy(),
                         "low": [q[0.1].get(k, np.nan) if not q.empty else np.nan for k in ks],
                         "expected": [q[0.5].get(k, np.nan) if not q.empty else np.nan for k in ks],
                         "high": [q[0.9].get(k, np.nan) if not q.empty else np.nan for k in ks]}, index=w.index)


class AlertRunner:
    """Holds the state file, the model cache and the store factory between scheduled runs."""

    def __init__(self, settings, store_factory: Callable, db: AlertDB | None = None, mailer=None,
                 links: Callable[[int], list[tuple[str, str]]] | None = None):
        self.settings = settings
        # one-click links (acknowledge, snooze) for the mails: alert id -> [(label, URL)], given by the
        # application when the web application has a public address (energimon.web.links.links_for)
        self.links = links
        self.cfg: AlertSettings = settings.alerts or AlertSettings()
        self.store_factory = store_factory
        self.db = db or AlertDB(self.cfg.state_path)
        self.mailer = mailer  # energimon.mail.service.Mailer; made on first use when not given
        self.models = engine.ModelCache()
        self._lock = threading.Lock()  # one run at a time (the scheduler may overlap a slow one)
        # What went wrong in the last run although the run went on (one site's rules, an undelivered
        # mail): the scheduled jobs raise it afterwards, so the job-run log does not call the run ok.
        self.rule_failures: list[str] = []
        self.outbox_failures: list[str] = []

    def run_rules(self, now: dt.datetime) -> dict[str, int]:
        with self._lock:
            findings: list[Finding] = []
            self.rule_failures = []
            failed_sites: set[str] = set()
            store = self.store_factory()
            try:
                end = pd.Timestamp(now).tz_convert("UTC").floor("h")
                series, latest = store.series(), store.latest()
                datas = {sid: engine.load_site_data(store, self.settings, sid, end, series, latest)
                         for sid in self.settings.sites}
                engine.add_sibling_ratios(list(datas.values()))
                # the store stays open while the rules run: a model refit reads its longer history (the heat
                # model's year) from the store only when it is due
                for d in datas.values():
                    try:
                        findings += engine.evaluate_site(d, self.cfg, end, now, self.models)
                    except Exception as exc:
                        log.exception("anomaly rules failed site=%s", d.site)
                        self.rule_failures.append(f"site {d.site}: {type(exc).__name__}: {exc}")
                        failed_sites.add(d.site)
            finally:
                close = getattr(store, "close", None)
                if close:
                    close()

            def render(kind, row, f):
                f = f or lifecycle.finding_from_json(row["finding"])
                png = None
                try:
                    frame = chart_frame(datas.get(f.site), f, end, self.cfg.chart_days)
                    if frame is not None and frame["actual"].notna().any():
                        png = chart_png(frame, lang=mail_language(self.settings), pv=f.channel == "pv_kwh",
                                        unit=finding_unit(f))
                except Exception:  # a chart is nice to have; the mail goes without it
                    log.exception("chart failed site=%s rule=%s", f.site, f.rule)
                msg = render_alert(kind, row, f, self.settings, chart=png, now=now, links=self._links(kind, row))
                return [(recipients_for(self.settings, f.site), msg)]

            counts = lifecycle.step(self.db, self.cfg, findings, now, render, frozenset(failed_sites))
            counts["findings"] = len(findings)
            return counts

    def run_outbox(self, now: dt.datetime):
        """Deliver the due alert mails (counts ``sent`` / ``failed`` / ``waiting``)."""
        from energimon.mail.outbox import Delivery
        from energimon.mail.service import Mailer

        self.outbox_failures = []
        if self.settings.smtp is None:
            return Delivery(errors=[])
        if self.mailer is None:
            self.mailer = Mailer(self.settings.smtp)
        result = self.mailer.deliver(self.db, now)
        self.outbox_failures = list(result.errors)
        return result

    def close(self) -> None:
        self.db.close()

    def _links(self, kind: str, row) -> list[tuple[str, str]]:
        if kind == "resolved" or self.links is None:
            return []
        try:
            return self.links(row["id"])
        except OSError as exc:  # e.g. the signing key unreadable: the mail goes without links, not at all
            log.error("alert %s: one-click links left out of the mail: %s", row["id"], exc)
            return []

    def run_digest(self, now: dt.datetime) -> int:
        return lifecycle.digest(self.db, now, lambda items: render_digest(items, self.settings, now))


def register_jobs(scheduler, settings, store_factory: Callable, runner: AlertRunner | None = None,
                  mailer=None, links: Callable[[int], list[tuple[str, str]]] | None = None) -> AlertRunner:
    """Schedule alerting on an APScheduler 3.11 ``AsyncIOScheduler`` (timezone Europe/Copenhagen).

    * rules: every hour at minute 7 (after the hour's data is in; cheap data-quality checks are part of it
      and also run at minutes 22, 37, 52 — the lifecycle makes the extra runs harmless);
    * digest (``[alerts] info_digest``, default on, or ``digest = true``): daily at ``digest_hour`` (02 is
      refused: DST).
    All jobs: ``max_instances=1``, ``coalesce=True``, ``misfire_grace_time=600``.  The alert outbox is
    delivered by ``mailer`` (the daemon's :class:`~energimon.mail.service.Mailer`, job ``mail.outbox``).
    """
    from apscheduler.triggers.cron import CronTrigger

    runner = runner or AlertRunner(settings, store_factory, mailer=mailer, links=links)
    if mailer is not None:
        runner.mailer = mailer
        mailer.add_outbox(runner.db)
    cfg = runner.cfg
    opts = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 600, "replace_existing": True}

    async def rules_job() -> None:
        counts = await asyncio.to_thread(runner.run_rules, dt.datetime.now(tz=dt.UTC))
        log.info("alert rules findings=%d new=%d reminder=%d resolved=%d", counts["findings"], counts["new"],
                 counts["reminder"], counts["resolved"])
        if runner.rule_failures:
            raise RuntimeError("anomaly rules failed for " + "; ".join(runner.rule_failures))

    async def digest_job() -> None:
        await asyncio.to_thread(runner.run_digest, dt.datetime.now(tz=dt.UTC))

    scheduler.add_job(rules_job, CronTrigger(minute="7,22,37,52", timezone=LOCAL_TZ), id="alerts.rules", **opts)
    if cfg.digest or cfg.info_digest:
        scheduler.add_job(digest_job, CronTrigger(hour=cfg.digest_hour, minute=0, timezone=LOCAL_TZ),
                          id="alerts.digest", **opts)
    return runner
