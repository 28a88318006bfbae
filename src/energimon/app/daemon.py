"""The energimon daemon: collectors -> spool -> store, plus the scheduler, in one asyncio process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from energimon.app import systemd
from energimon.app.jobruns import JobFailed, JobRunLog, RecordingScheduler, jobs_path
from energimon.app.jobruns import error_text as _error_text
from energimon.collector.modbus.identity import DeviceInfoFile, device_info_path
from energimon.config.settings import Settings
from energimon.model import LOCAL_TZ, Reading
from energimon.stamps import Stamper
from energimon.store import open_store
from energimon.store.spool import Spool, SpoolFull
from energimon.store.writer import SpoolWriter

if TYPE_CHECKING:
    from energimon.collector.mbus.poller import MbusPoller
    from energimon.collector.modbus.poller import ModbusPoller
    from energimon.collector.mqtt.runtime import MqttCollector
    from energimon.store.base import Store
    from energimon.store.influx import StatusPoints

log = logging.getLogger("energimon.daemon")

STOP_GRACE_S = 2.0


class StartupError(Exception):
    """The daemon could not start: one line naming what failed (``energimon run`` exits 2 with it, the
    systemd unit's "do not restart" code — restarting cannot fix a spool path that is not a file)."""


@contextlib.contextmanager
def _starting(what: str):
    """Any failure inside becomes a :class:`StartupError` naming ``what`` (the traceback goes to DEBUG)."""
    try:
        yield
    except StartupError:
        raise
    except Exception as exc:
        log.debug("start-up failed: %s", what, exc_info=exc)
        raise StartupError(f"{what}: {_error_text(exc)}") from exc


class Daemon:
    def __init__(self, settings: Settings):
        self.settings = settings
        # set by _open; after a failed start some are missing, which close() allows for
        self.spool: Spool
        self.store: Store
        self.writer: SpoolWriter
        self.jobs: JobRunLog
        try:
            self._open(settings)
        except StartupError:
            self.close()
            raise

    def _open(self, settings: Settings) -> None:
        with _starting(f"spool {settings.spool.path}"):
            self.spool = Spool(settings.spool.path, settings.spool.max_readings, settings.spool.synchronous)
        where = (settings.store.influxdb.describe() if settings.store.kind == "influxdb" and settings.store.influxdb
                 else f"{settings.store.kind} {settings.store.path}")
        with _starting(f"store {where}"):
            self.store = open_store(settings.store)
        self.writer = SpoolWriter(self.spool, self.store, settings.spool.batch_size)
        # One stamper for every collector: reading times energimon gives are strictly increasing per series and
        # never given twice, also across a restart (the last stamps are committed in the spool with the readings).
        self.stamper = Stamper()
        self.stamper.load(self.spool.stamps())
        # Which device answers (serial number …), for `energimon status`: see collector/modbus/identity.py.
        with _starting(f"device info {device_info_path(settings)}"):
            self.device_info = DeviceInfoFile(device_info_path(settings))
        self.pollers = self._device_pollers(settings)
        self.mqtt: MqttCollector | None = None
        if settings.mqtt is not None:
            from energimon.collector.mqtt.runtime import MqttCollector
            from energimon.collector.mqtt.state import state_path

            with _starting(f"MQTT collector for {settings.mqtt.host}"):
                self.mqtt = MqttCollector(settings.mqtt, settings.sites, self.spool, self._mqtt_committed,
                                          self.stamper, state_path(settings))
        self.accepted = 0
        self._full_logged_at = 0.0
        self._rejects_logged: set[str] = set()
        self.stop_event: asyncio.Event | None = None
        with _starting(f"job-run log {jobs_path(settings)}"):
            self.jobs = JobRunLog(jobs_path(settings))  # for `energimon status` and /metrics
        self.scheduler: RecordingScheduler | None = None
        self.status_points: StatusPoints | None = None  # energimon_status in InfluxDB (see _add_status_point_job)
        # Set when the daemon stops: a long job run (a backfill, a catch-up of reports) ends early.
        self.stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _device_pollers(self, settings: Settings) -> list[ModbusPoller | MbusPoller]:
        """One poller per enabled ``[[devices]]`` entry: the one place that picks a protocol's collector module.

        Each protocol's poller module is imported only when the configuration has a device of that protocol:
        the Modbus one brings pymodbus (SunSpec devices are ``modbus_tcp`` too), which a daemon with only M-Bus
        meters, MQTT or fetched sources never uses.  A new protocol gets its branch here.
        """
        devices = [d for d in settings.devices if d.enabled]
        pollers: list[ModbusPoller | MbusPoller] = []
        modbus = [d for d in devices if d.protocol == "modbus_tcp"]
        if modbus:
            from energimon.collector.modbus.poller import ConnectionPool, ModbusPoller

            gateways = ConnectionPool()  # devices behind the same gateway (host:port) share one connection
            with _starting("Modbus devices"):
                pollers += [ModbusPoller(d, self.accept, gateways, self.device_info, self.stamper) for d in modbus]
        mbus = [d for d in devices if d.protocol in ("mbus_tcp", "mbus_serial")]
        if mbus:  # M-Bus meters behind gateways or serial masters: the same poller shape (health, source, run)
            from energimon.collector.mbus.poller import GatewayPool, MbusPoller

            buses = GatewayPool()  # meters on one bus (gateway or serial port) share its connection
            with _starting("M-Bus meters"):
                pollers += [MbusPoller(d, self.accept, buses, self.device_info, self.stamper) for d in mbus]
        return pollers

    async def accept(self, readings: Sequence[Reading], source: str) -> bool:
        """The collectors' sink: returns once readings are durable in the spool (True) or refused (False)."""
        stamps = self.stamper.pending()  # committed with the readings they stamped
        try:
            result = await asyncio.to_thread(self.spool.put, readings, source, stamps)
        except SpoolFull as exc:
            if time.monotonic() - self._full_logged_at > 60:
                self._full_logged_at = time.monotonic()
                log.error("%s", exc)
            return False
        if result.rejected and source not in self._rejects_logged:
            self._rejects_logged.add(source)  # once per source; all of them are in dead letters
            log.warning("%s: %d invalid readings kept as dead letters, e.g. %s",
                        source, len(result.rejected), result.rejected[0][1])
        self.stamper.committed(stamps)
        self.accepted += result.accepted
        self.writer.wake()
        if self.mqtt is not None and result.accepted:  # mqtt.publish: normalised readings for a BMS
            refused = {id(r) for r, _ in result.rejected}
            self.mqtt.publish_readings([r for r in readings if id(r) not in refused])
        return True

    def _source_sink(self, readings: Sequence[Reading], source: str) -> None:
        """The live sources' sink, called in their job thread: durable in the spool, or raise (SpoolFull) and
        the source records nothing as fetched.  Not through ``accept``: a backfill is not for MQTT republishing."""
        if self.stopping.is_set():
            raise SpoolFull("the daemon is stopping")
        result = self.spool.put(readings, source)
        if result.rejected and source not in self._rejects_logged:
            self._rejects_logged.add(source)
            log.warning("%s: %d invalid readings kept as dead letters, e.g. %s",
                        source, len(result.rejected), result.rejected[0][1])
        self.accepted += result.accepted
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.writer.wake)

    def _mqtt_committed(self, n: int) -> None:
        """The MQTT collector commits to the spool itself (it keeps raw payloads as dead letters)."""
        self.accepted += n
        self.writer.wake()

    def request_stop(self) -> None:
        if self.stop_event is not None and not self.stop_event.is_set():
            log.info("stop requested")
            self.stop_event.set()

    def _status_line(self) -> None:
        online = sum(p.health.online for p in self.pollers)
        log.info(
            "status: %d/%d devices online, %d readings accepted, %d written, %d in spool",
            online, len(self.pollers), self.accepted, self.writer.written, self.spool.backlog(),
        )
        if self.mqtt is not None:
            st = self.mqtt.stats
            log.info("status: mqtt %s, %d messages, %d readings, %d dead letters",
                     "connected" if self.mqtt.connected else "DISCONNECTED", st.received, st.readings,
                     st.dead_letters)

    def _status_fields(self) -> dict[str, int]:
        # written before accepted: both only grow, so the point never shows more written than accepted
        fields = {"readings_written": self.writer.written, "readings_accepted": self.accepted,
                  "spool_backlog": self.spool.backlog(), "dead_letters": self.spool.dead_letter_count(),
                  "devices_online": sum(p.health.online for p in self.pollers), "devices_configured": len(self.pollers)}
        if self.mqtt is not None:
            fields["mqtt_connected"] = int(self.mqtt.connected)
        return fields

    def _add_status_point_job(self, scheduler: AsyncIOScheduler) -> None:
        """InfluxDB only: energimon_status points, so Grafana can alert on a silent daemon (first one at start).

        The job is a plain function, so APScheduler runs it in a worker thread (a SQLite count, an HTTP
        request); it never raises and logs an outage once.
        """
        influx = self.settings.store.influxdb
        if self.store.kind != "influxdb" or influx is None or not influx.status_interval_s:
            return
        import datetime as dt

        from energimon.store.influx import InfluxStore, StatusPoints

        if not isinstance(self.store, InfluxStore):  # kind "influxdb" is this class; the check narrows the type
            return
        self.status_points = StatusPoints(self.store, self._status_fields)
        scheduler.add_job(self._write_status_point, "interval", seconds=influx.status_interval_s, id="status-point",
                          coalesce=True, max_instances=1, next_run_time=dt.datetime.now(tz=LOCAL_TZ))

    def _write_status_point(self) -> None:
        points = self.status_points
        if points is None:  # scheduled only after it is made
            return
        if not points.write():  # logged once per outage by StatusPoints; the job log shows each run
            raise JobFailed(f"status point not written: {points.failing}")

    async def _watchdog(self, interval_s: float) -> None:
        while True:
            systemd.notify("WATCHDOG=1")
            await asyncio.sleep(interval_s)

    async def run(self, install_signal_handlers: bool = True) -> int:
        """Run until a stop is requested; raise :class:`StartupError` (everything closed) if it cannot start."""
        loop = self._loop = asyncio.get_running_loop()
        self.stop_event = stop = asyncio.Event()
        tasks: list[asyncio.Task] = []
        extra: list[asyncio.Task] = []
        scheduler = alert_runner = metrics = mailer = reports_db = None
        try:
            with _starting("scheduler"):
                self.scheduler = scheduler = RecordingScheduler(self.jobs, timezone=LOCAL_TZ)
                scheduler.add_job(self._status_line, "interval",
                                  seconds=self.settings.schedule.status_log_interval_s,
                                  id="status-line", coalesce=True, max_instances=1)
                self._add_status_point_job(scheduler)
            tasks = [asyncio.create_task(self.writer.run(stop), name="spool-writer")]
            tasks += [asyncio.create_task(p.run(stop), name=p.source) for p in self.pollers]
            if self.mqtt is not None:
                tasks.append(asyncio.create_task(self.mqtt.run(stop), name=self.mqtt.source))
            if self.settings.web is not None and self.settings.web.enabled:  # [web]: the server of `energimon web`
                from energimon.web.app import create_app
                from energimon.web.server import serve_embedded

                with _starting(f"the web application (data {self.settings.web.data_dir})"):
                    app = create_app(self.settings)
                tasks.append(asyncio.create_task(serve_embedded(app, self.settings.web, stop), name="web"))
            wd = systemd.watchdog_interval_s()
            if wd:
                extra.append(asyncio.create_task(self._watchdog(wd), name="watchdog"))
            # Mail: one transport (and token cache) for alert and report mails; the job mail.outbox delivers both.
            if self.settings.smtp is not None:
                from energimon.mail.service import Mailer

                with _starting("mail transport"):
                    mailer = Mailer.for_settings(self.settings)
            # Alerts: rules and digest jobs (each run opens its own read-only store: the runner closes it after
            # every run, and analytics never share the writer's connection).
            if self.settings.alerts is not None and self.settings.alerts.enabled:
                from energimon.analytics.alerting.jobs import register_jobs

                with _starting(f"alerts (state {self.settings.alerts.state_path})"):
                    from energimon.web.links import links_for  # the mails' one-click links ([web] public_url)

                    alert_runner = register_jobs(scheduler, self.settings,
                                                 lambda: open_store(self.settings.store, readonly=True),
                                                 mailer=mailer, links=links_for(self.settings))
            if self.settings.sources is not None and self.settings.sources.configured():
                # Live data (Eloverblik, Energi Data Service, DMI): one job per source, first run (backfill) now.
                from energimon.collector.sources.jobs import register_jobs as register_source_jobs

                with _starting("the live data source jobs"):
                    register_source_jobs(scheduler, self.settings, self._source_sink, self.stopping, JobFailed)
            # Monthly reports: every due and undelivered month, at start and daily at 07:05 (catch-up, once each).
            from energimon.analytics.report.schedule import register_report_jobs, scheduled_reports

            if scheduled_reports(self.settings):
                from energimon.mail.outbox import MailDB
                from energimon.mail.service import mail_db_path

                with _starting("the monthly report jobs"):
                    reports_db = mailer.db if mailer is not None else MailDB(mail_db_path(self.settings))
                    register_report_jobs(scheduler, self.settings,
                                         lambda: open_store(self.settings.store, readonly=True), reports_db,
                                         stop=self.stopping)
            if mailer is not None:
                mailer.register_job(scheduler)
            with _starting("scheduler"):
                scheduler.start()
            if self.settings.metrics.enabled:
                from energimon.app.metrics import MetricsServer

                metrics = MetricsServer(self, self.settings.metrics.host, self.settings.metrics.port)
                if not metrics.start():
                    metrics = None
            with _starting("first status"):
                log.info("started: %d devices, store %s, spool %s (%d waiting)",
                         len(self.pollers), self.store.ping().detail, self.spool.path, self.spool.backlog())
        except BaseException as exc:  # nothing half-started stays behind
            stop.set()
            self.stopping.set()
            if scheduler is not None and scheduler.running:
                scheduler.shutdown(wait=False)
            if metrics is not None:
                await asyncio.to_thread(metrics.stop)
            if alert_runner is not None:
                alert_runner.close()
            if mailer is not None:
                mailer.close()
            elif reports_db is not None:
                reports_db.close()
            for t in [*tasks, *extra]:
                t.cancel()
            for t in [*tasks, *extra]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self.close()
            if isinstance(exc, Exception) and not isinstance(exc, StartupError):
                raise StartupError(f"start-up: {_error_text(exc)}") from exc
            raise
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        systemd.notify("READY=1\nSTATUS=collecting")
        try:
            await stop.wait()
        finally:
            systemd.notify("STOPPING=1")
            self.stopping.set()
            drained = await scheduler.drain(STOP_GRACE_S)
            scheduler.shutdown(wait=False)
            if metrics is not None:
                await asyncio.to_thread(metrics.stop)
            if alert_runner is not None:
                alert_runner.close()
            # A job still running past the grace (a monthly report at start) keeps its thread, which the process
            # waits for before it exits: closing its mail database under it would fail its delivery.
            if drained and mailer is not None:
                mailer.close()
            elif drained and reports_db is not None:
                reports_db.close()
            _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
            for t in [*pending, *extra]:
                t.cancel()
            for t in [*pending, *extra]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            flushed = await self.writer.flush(self.settings.spool.flush_timeout_s)
            log.info("stopped: flushed %d readings, %d stay in the spool", flushed, self.spool.backlog())
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            self.close()
        return 0

    def close(self) -> None:
        """Close what was opened (also after a failed start: parts may be missing)."""
        for name in ("jobs", "writer", "store", "spool"):
            part = getattr(self, name, None)
            if part is not None:
                try:
                    part.close()
                except Exception as exc:  # close the others anyway
                    log.warning("closing %s: %s", type(part).__name__, _error_text(exc))
