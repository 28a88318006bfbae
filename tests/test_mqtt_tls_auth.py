"""TLS with a CA made in the test, username/password, and what happens when either is wrong: a clear error
in the log (never the password), retries with back-off, no crash."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from datetime import UTC, datetime

import pytest
from helpers.wait import async_wait_for
from mqtt_broker import Publisher, add_password, make_tls_files

from energimon.collector.mqtt.runtime import MqttCollector
from energimon.config.settings import settings_from_dict
from energimon.store.spool import Spool

SITES = {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4318, "longitude": 11.556}}
PASSWORD = "Rådhus-hemmelighed-42"
T0 = int(datetime.now(tz=UTC).timestamp()) - 600


def mqtt_settings(port: int, ca, password: str, protocol: str = "3.1.1"):
    return settings_from_dict({"sites": SITES, "mqtt": {
        "host": "127.0.0.1", "port": port, "protocol": protocol, "client_id": "energimon-tls",
        "username": "energimon", "password": password, "tls": {"ca_file": str(ca)},
        "reconnect_min_s": 0.2, "reconnect_max_s": 1,
        "subscriptions": [{"topic": "soroe/raadhus/udefoeler", "format": "json", "site": "soro-raadhus",
                           "device": "udefoeler", "channel": "outdoor_temp_c", "role": "weather",
                           "value_path": "temperature", "time_path": "ts"}],
    }}).mqtt


def tls_broker_conf(tls: dict, passwd) -> str:
    return (f"cafile {tls['ca']}\ncertfile {tls['cert']}\nkeyfile {tls['key']}\n"
            f"allow_anonymous false\npassword_file {passwd}\n")


async def run_collector(settings, spool, timeout_s: float, until) -> MqttCollector:
    """Run a collector until ``until(collector)`` holds (at most ``timeout_s``), then stop it."""
    stop = asyncio.Event()
    collector = MqttCollector(settings, SITES, spool)
    task = asyncio.create_task(collector.run(stop))
    await async_wait_for(lambda: task.done() or until(collector), timeout_s,
                         lambda: f"the condition (stats {collector.stats}, last error {collector.last_error})")
    assert not task.done(), "the collector task ended by itself"
    stop.set()
    await asyncio.wait_for(task, 10)
    return collector


@pytest.fixture
def tls_broker(tmp_path, mosquitto_factory):
    tls = make_tls_files(tmp_path / "pki")
    passwd = add_password(tmp_path, "energimon", PASSWORD)
    add_password(tmp_path, "publisher", "pub-secret")
    return mosquitto_factory(listener_extra=tls_broker_conf(tls, passwd)), tls


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_tls_with_password_ingests(tmp_path, tls_broker, protocol):
    broker, tls = tls_broker
    spool = Spool(tmp_path / "spool.db")

    def publish():
        with Publisher(broker.port, username="publisher", password="pub-secret", ca_certs=str(tls["ca"]),
                       cert_reqs=ssl.CERT_REQUIRED) as p:
            p.publish("soroe/raadhus/udefoeler", json.dumps({"temperature": -1.25, "ts": T0}))

    async def scenario():
        stop = asyncio.Event()
        collector = MqttCollector(mqtt_settings(broker.port, tls["ca"], PASSWORD, protocol), SITES, spool)
        task = asyncio.create_task(collector.run(stop))
        # connected, and the broker granted the subscription
        await async_wait_for(lambda: collector.subscribed, 10, "the subscription")
        await asyncio.to_thread(publish)
        await async_wait_for(lambda: spool.backlog(), 10, "the reading in the spool")
        stop.set()
        await asyncio.wait_for(task, 10)
        return collector

    collector = asyncio.run(scenario())
    batch = spool.take(10)
    assert collector.stats.connects == 1 and collector.stats.connect_failures == 0
    assert [(r.site, r.device, r.channel, r.ts_ms, r.value) for r in batch.readings] == [
        ("soro-raadhus", "udefoeler", "outdoor_temp_c", T0 * 1000, -1.25)]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_wrong_password_is_a_clear_error_retried_without_crash_or_leak(tmp_path, tls_broker, caplog, protocol):
    broker, tls = tls_broker
    caplog.set_level(logging.DEBUG)
    spool = Spool(tmp_path / "spool.db")
    settings = mqtt_settings(broker.port, tls["ca"], "forkert-kodeord", protocol)
    collector = asyncio.run(run_collector(settings, spool, 10, lambda c: c.stats.connect_failures >= 3))
    assert collector.stats.connect_failures >= 3 and collector.stats.connects == 0  # it kept retrying
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("refused the connection" in e and "check mqtt.username and the password" in e for e in errors), errors
    assert len(errors) == 1, errors  # the same error is not repeated on every retry
    assert "forkert-kodeord" not in caplog.text and PASSWORD not in caplog.text


def test_untrusted_broker_certificate_is_a_clear_error_and_retried(tmp_path, tls_broker, caplog):
    broker, _ = tls_broker
    other = make_tls_files(tmp_path / "other-pki", name="other-ca")  # a CA that did not sign the broker
    caplog.set_level(logging.INFO)
    spool = Spool(tmp_path / "spool.db")
    settings = mqtt_settings(broker.port, other["ca"], PASSWORD)
    collector = asyncio.run(run_collector(settings, spool, 10, lambda c: c.stats.connect_failures >= 3))
    assert collector.stats.connect_failures >= 3 and collector.stats.connects == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("cannot connect to broker 127.0.0.1" in e and "CERTIFICATE_VERIFY_FAILED" in e for e in errors), errors
    assert PASSWORD not in caplog.text


def test_broker_not_there_yet_is_retried_until_it_is(tmp_path, mosquitto_factory):
    """The daemon may start before the broker: the first connection is retried too."""
    broker = mosquitto_factory(start=False)  # port chosen, nothing listening yet
    spool = Spool(tmp_path / "spool.db")
    settings = settings_from_dict({"sites": SITES, "mqtt": {
        "host": "127.0.0.1", "port": broker.port, "client_id": "energimon-late", "reconnect_min_s": 0.2,
        "reconnect_max_s": 1, "subscriptions": [{"topic": "a/{device}", "site": "soro-raadhus",
                                                    "channel": "power_w", "role": "grid"}]}}).mqtt

    async def scenario():
        stop = asyncio.Event()
        collector = MqttCollector(settings, SITES, spool)
        task = asyncio.create_task(collector.run(stop))
        await async_wait_for(lambda: collector.stats.connect_failures >= 1, 10, "a refused connection")
        assert "Connection refused" in (collector.last_error or "")
        await asyncio.to_thread(broker.start)
        try:
            await async_wait_for(lambda: collector.connected, 5, "the connection once the broker is up")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
            broker.stop()

    asyncio.run(scenario())
