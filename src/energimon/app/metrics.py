"""The optional Prometheus ``/metrics`` endpoint (``[metrics] enabled = true``).

A custom collector reads the daemon's live state when Prometheus scrapes — the counters the daemon
keeps anyway, the spool, the pollers' health, the job-run log — so there is no second bookkeeping
to drift from the first.  Scrapes run in prometheus_client's HTTP thread, never on the event loop.

The endpoint has no authentication: it binds to loopback by default, and another address is
warned about at start.  Its own registry serves energimon's metrics plus the standard
``process_*`` ones (memory, CPU, open files: what shows a leak in a daemon that runs for years).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from energimon import __version__

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger("energimon.metrics")

JOB_OUTCOMES = ("ok", "error", "missed", "running", "interrupted")
STOP_TIMEOUT_S = 5.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost: may resolve to anything
        return False


class DaemonCollector(Collector):
    """Metrics from a running :class:`energimon.app.daemon.Daemon`, read at scrape time."""

    def __init__(self, daemon):
        self.daemon = daemon

    def collect(self) -> Iterator[Metric]:
        d = self.daemon
        yield InfoMetricFamily("energimon_build", "energimon version", value={"version": __version__})
        yield CounterMetricFamily("energimon_readings_accepted", "Readings made durable in the spool",
                                  value=d.accepted)
        yield CounterMetricFamily("energimon_readings_written", "Readings confirmed by the store",
                                  value=d.writer.written)
        yield GaugeMetricFamily("energimon_spool_backlog_readings", "Readings waiting in the spool for the store",
                                value=d.spool.backlog())
        yield GaugeMetricFamily("energimon_spool_capacity_readings", "Readings the spool holds before refusing",
                                value=d.spool.max_readings)
        try:
            dead = d.spool.dead_letter_count()
        except Exception:  # the spool closing under a late scrape: leave the metric out, never fail the scrape
            log.debug("dead letter count unavailable", exc_info=True)
        else:
            yield GaugeMetricFamily("energimon_spool_dead_letters", "Inputs kept as dead letters (energimon "
                                    "deadletters)", value=dead)
        # The writer's last outcome: no network call per scrape.
        yield GaugeMetricFamily("energimon_store_reachable", "1 if the last write to the store succeeded",
                                value=0 if d.writer.last_error is not None else 1)
        yield from self._devices()
        if d.mqtt is not None:
            yield from self._mqtt()
        yield from self._jobs()

    def _devices(self) -> Iterator[Metric]:
        labels = ["site", "device"]
        online = GaugeMetricFamily("energimon_device_online", "1 if the device's last poll succeeded", labels=labels)
        errors = CounterMetricFamily("energimon_device_poll_errors", "Failed polls since the daemon started",
                                     labels=labels)
        polls = CounterMetricFamily("energimon_device_polls", "Polls since the daemon started", labels=labels)
        missing = GaugeMetricFamily("energimon_device_fields_missing", "Fields quarantined (no value)",
                                    labels=labels)
        last_ok = GaugeMetricFamily("energimon_device_last_success_timestamp_seconds",
                                    "When the device last answered a poll", labels=labels)
        for p in self.daemon.pollers:
            key, h = [p.device.site, p.device.id], p.health
            online.add_metric(key, 1 if h.online else 0)
            errors.add_metric(key, h.error_total)
            polls.add_metric(key, h.polls)
            missing.add_metric(key, h.missing_fields)
            if h.last_success_ms is not None:
                last_ok.add_metric(key, h.last_success_ms / 1000)
        yield from (online, errors, polls, missing, last_ok)

    def _mqtt(self) -> Iterator[Metric]:
        m = self.daemon.mqtt
        st = m.stats
        yield GaugeMetricFamily("energimon_mqtt_connected", "1 while connected to the broker",
                                value=1 if m.connected else 0)
        yield CounterMetricFamily("energimon_mqtt_messages_received", "MQTT messages received", value=st.received)
        yield CounterMetricFamily("energimon_mqtt_readings", "Readings taken from MQTT messages", value=st.readings)
        yield CounterMetricFamily("energimon_mqtt_dead_letters", "MQTT messages kept as dead letters",
                                  value=st.dead_letters)

    def _jobs(self) -> Iterator[Metric]:
        runs = [r for r in self.daemon.jobs.runs() if r.scheduled]
        outcome = GaugeMetricFamily("energimon_job_last_outcome", "1 for the outcome of the job's last run",
                                    labels=["job", "outcome"])
        success = GaugeMetricFamily("energimon_job_last_success_timestamp_seconds",
                                    "When the job last ended without error", labels=["job"])
        duration = GaugeMetricFamily("energimon_job_last_duration_seconds", "How long the job's last run took",
                                     labels=["job"])
        failures = CounterMetricFamily("energimon_job_failures", "Runs that failed or were interrupted",
                                       labels=["job"])
        for r in runs:
            for name in JOB_OUTCOMES:  # a state set: every state present, the current one 1
                outcome.add_metric([r.job_id, name], 1 if r.outcome == name else 0)
            if r.last_success_ms is not None:
                success.add_metric([r.job_id], r.last_success_ms / 1000)
            if r.last_duration_s is not None:
                duration.add_metric([r.job_id], r.last_duration_s)
            failures.add_metric([r.job_id], r.failures)
        yield from (outcome, success, duration, failures)


class MetricsServer:
    """prometheus_client's HTTP server on its own registry, stoppable (its thread is a daemon thread)."""

    def __init__(self, daemon, host: str, port: int):
        self.host, self.port = host, port
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DaemonCollector(daemon))
        ProcessCollector(registry=self.registry)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Serve; False (logged) when the address cannot be bound — collection goes on without metrics."""
        if not is_loopback(self.host):
            log.warning("metrics endpoint on %s:%d is reachable beyond this machine and has no authentication; "
                        "restrict it with a firewall or set [metrics] listen = \"127.0.0.1:%d\"",
                        self.host, self.port, self.port)
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            log.error("metrics endpoint not started: cannot listen on %s:%d: %s", self.host, self.port,
                      exc.strerror or exc)
            return False
        log.info("metrics endpoint on http://%s:%d/metrics", self.host, self.port)
        return True

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()  # blocks until serve_forever returns (≤ its 0.5 s poll)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_S)
        self._server = self._thread = None
