"""MQTT ingest against a real Mosquitto: every format into a real spool and store, bad input, restarts,
back-pressure."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from helpers.mqtt_daemon import SITES, config, daemon_running
from helpers.wait import async_wait_for
from mqtt_broker import Publisher

from energimon.app.cli import main as cli_main
from energimon.app.daemon import Daemon
from energimon.collector.mqtt.runtime import MqttCollector
from energimon.config.settings import settings_from_dict
from energimon.model import SeriesKey
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore

T0 = int(datetime.now(tz=UTC).timestamp()) - 3600  # payload times: an hour ago, on whole seconds


def read_series(store_path: Path, key: str) -> tuple[np.ndarray, np.ndarray]:
    store = SqliteStore(store_path, readonly=True)
    try:
        return store.read_raw_ms(SeriesKey.parse(key), 0, 2**62)
    finally:
        store.close()


def publish(port: int, items) -> None:
    with Publisher(port) as p:
        p.publish_many(items)


SUBSCRIPTIONS = [
    {"topic": "bygning/{site}/{device}/{channel}", "role": "submeter"},
    {"topic": "bms/{site}/{device}/varme", "format": "json", "channel": "heat_energy_wh", "role": "heat",
     "unit": "MWh", "value_path": "data.energy", "time_path": "data.time"},
    {"topic": "soroe/raadhus/udefoeler", "format": "json", "site": "soro-raadhus", "device": "udefoeler",
     "channel": "outdoor_temp_c", "role": "weather", "value_path": "temperature", "time_path": "ts"},
    {"topic": "shellies/{site}/{device}/events/rpc", "format": "shelly_gen2", "role": "submeter"},
    {"topic": "tele/{device}/SENSOR", "format": "tasmota", "site": "stenlille-hallen", "role": "submeter",
     "timezone": "UTC"},
    {"topic": "zigbee2mqtt/{site}/{device}", "format": "zigbee2mqtt", "role": "weather",
     "fields": {"temperature": "outdoor_temp_c"}},
]


def test_every_format_lands_in_the_store_in_our_units(tmp_path, mosquitto):
    def iso(t: int) -> str:
        return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")

    items = [
        ("bygning/soro-raadhus/undermaaler-1/power_w", "1520.5"),
        ("bms/soro-raadhus/fjernvarme/varme", json.dumps({"data": {"energy": 1.2345678, "time": T0}})),
        ("soroe/raadhus/udefoeler", json.dumps({"temperature": -2.5, "ts": (T0 + 60) * 1000})),
        ("shellies/soro-raadhus/kantine/events/rpc", json.dumps(
            {"src": "shellyplus1pm-x", "method": "NotifyStatus",
             "params": {"ts": T0 + 0.25, "switch:0": {"id": 0, "apower": 812.4, "aenergy": {"total": 4567.25}}}})),
        ("tele/vandvarmer/SENSOR", json.dumps({"Time": iso(T0), "ENERGY": {"Total": 12.345, "Power": 2100}})),
        ("zigbee2mqtt/stenlille-hallen/udefoeler", json.dumps(
            {"temperature": 4.25, "battery": 90, "last_seen": datetime.fromtimestamp(T0, tz=UTC).isoformat()})),
    ]

    async def scenario():
        broker = mosquitto
        async with daemon_running(config(tmp_path, broker.port, SUBSCRIPTIONS)) as d:
            await asyncio.to_thread(publish, broker.port, items)
            await async_wait_for(lambda: d.writer.written >= 8, 10,
                             lambda: f"8 readings in the store: {d.mqtt.stats} {d.spool.dead_letters()}")
            return d.mqtt.stats, d.spool.dead_letters()

    stats, dead = asyncio.run(scenario())
    assert dead == [] and stats.received == 6 and stats.acked == 6 and stats.readings == 8
    assert stats.published == 0  # publishing is off by default
    store = tmp_path / "store.db"
    expect = {
        "soro-raadhus/fjernvarme/heat_energy_wh": ([T0 * 1000], [1234567.8]),  # MWh -> Wh
        "soro-raadhus/udefoeler/outdoor_temp_c": ([(T0 + 60) * 1000], [-2.5]),
        "soro-raadhus/kantine/power_w": ([T0 * 1000 + 250], [812.4]),
        "soro-raadhus/kantine/energy_import_wh": ([T0 * 1000 + 250], [4567.25]),
        "stenlille-hallen/vandvarmer/energy_import_wh": ([T0 * 1000], [12345.0]),  # kWh -> Wh
        "stenlille-hallen/vandvarmer/power_w": ([T0 * 1000], [2100.0]),
        "stenlille-hallen/udefoeler/outdoor_temp_c": ([T0 * 1000], [4.25]),
    }
    for key, (ts, values) in expect.items():
        got_ts, got_v = read_series(store, key)
        assert list(got_ts) == ts, key
        np.testing.assert_allclose(got_v, values, rtol=1e-12, err_msg=key)
    ts, v = read_series(store, "soro-raadhus/undermaaler-1/power_w")  # plain: receive time
    assert list(v) == [1520.5] and abs(ts[0] / 1000 - time.time()) < 60


BAD = [
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"energy": 1.0, "time": ', "malformed JSON"),
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"energy": NaN, "time": 1764403200}}', "NaN"),
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"energy": "mange", "time": 1764403200}}', "expected a number"),
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"time": 1764403200}}', "missing value path 'data.energy'"),
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"energy": 1, "time": 4102444800}}', "24 h in the future"),
    ("bms/soro-raadhus/fjernvarme/varme", b'{"data": {"energy": 1, "time": 631152000}}', "before the year 2000"),
    ("bygning/soro-raadhus/m1/power_w", b"9" * 200_000, "exceeds max_payload_bytes"),
    ("bygning/soro-raadhus/m1/power_w", b"Infinity", "not finite"),
    ("bygning/soro-raadhus/m1/flux_capacitor", b"1.21", "unknown channel 'flux_capacitor'"),
    ("bygning/ukendt-sted/m1/power_w", b"1", "unknown site 'ukendt-sted'"),
]


def test_bad_payloads_become_dead_letters_counted_per_topic_logged_once_and_ingest_goes_on(tmp_path, mosquitto, caplog,
                                                                                          capsys):
    caplog.set_level(logging.WARNING, logger="energimon.collector.mqtt")
    subs = [*SUBSCRIPTIONS, {"topic": "ukendt/#", "role": "grid", "site": "soro-raadhus", "device": "x",
                             "channel": "power_w"}]

    async def scenario():
        broker = mosquitto
        cfg = config(tmp_path, broker.port, subs, max_payload_bytes=65536, bad_input_log_interval_s=60)
        async with daemon_running(cfg) as d:
            # the session subscribed to a topic that is no longer in the configuration
            subacks = d.mqtt.stats.subacks
            d.mqtt._client.subscribe("gammel/#", qos=1)
            await async_wait_for(lambda: d.mqtt.stats.subacks > subacks, 10, "the old subscription granted")
            items = [(t, p) for t, p, _ in BAD] + [("gammel/emne", b"1")]
            items += [(t, p) for t, p, _ in BAD]  # the same again: counted, not logged again
            items.append(("soroe/raadhus/udefoeler", json.dumps({"temperature": 1.5, "ts": T0})))
            await asyncio.to_thread(publish, broker.port, items)
            await async_wait_for(lambda: d.writer.written >= 1 and d.mqtt.stats.acked == len(items), 15,
                             "every message acknowledged")
            assert cli_main_deadletters(tmp_path, d) == 0
            return d.mqtt, d.spool.dead_letters(limit=1000)

    collector, dead = asyncio.run(scenario())
    assert len(dead) == 2 * len(BAD) + 1
    for topic, _, reason in BAD:
        rows = [r for r in dead if r["subject"] == topic and reason in r["reason"]]
        assert len(rows) == 2, (topic, reason, [r["reason"] for r in dead if r["subject"] == topic])
    assert any(r["subject"] == "gammel/emne" and "unknown topic" in r["reason"] for r in dead)
    huge = next(r for r in dead if "exceeds max_payload_bytes" in r["reason"])
    assert len(huge["payload"]) < 5000 and "truncated, 200000 bytes" in huge["payload"]
    assert collector.bad_input.counts["bms/soro-raadhus/fjernvarme/varme"] == 12
    assert collector.bad_input.counts["bygning/soro-raadhus/m1/power_w"] == 4
    # logged at most once per topic per interval
    logged = [r.getMessage() for r in caplog.records if "bad input on" in r.getMessage()]
    topics = [m.split(" ")[3] for m in logged]
    assert sorted(topics) == sorted(set(topics)) and len(topics) == 5
    assert read_series(tmp_path / "store.db", "soro-raadhus/udefoeler/outdoor_temp_c")[1].tolist() == [1.5]
    out = capsys.readouterr().out
    assert "5 afvist(e) vist, nyeste først" in out and "årsag:   unknown site 'ukendt-sted'" in out
    assert "indhold: 1" in out and "mqtt:127.0.0.1" in out


def cli_main_deadletters(tmp_path: Path, daemon: Daemon) -> int:
    """`energimon deadletters` reads the spool's table while the daemon runs."""
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'[spool]\npath = "{daemon.settings.spool.path}"\n[store]\npath = "{tmp_path / "store.db"}"\n',
                   encoding="utf-8")
    return cli_main(["deadletters", "--config", str(cfg), "--limit", "5"])


def test_broker_restart_mid_stream_loses_and_duplicates_nothing(tmp_path, mosquitto):
    n = 300
    key = "soro-raadhus/fjernvarme/heat_energy_wh"
    items = [("bms/soro-raadhus/fjernvarme/varme", json.dumps({"data": {"energy": i / 1000, "time": T0 + i}}))
             for i in range(n)]

    async def scenario():
        broker = mosquitto
        async with daemon_running(config(tmp_path, broker.port, SUBSCRIPTIONS)) as d:
            await asyncio.to_thread(publish, broker.port, items[:100])
            await asyncio.to_thread(broker.restart)
            await async_wait_for(lambda: d.mqtt.connected, 10, "reconnect")
            await asyncio.to_thread(publish, broker.port, items[100:200])
            # broker down while a publisher is queued at it: stop, restart, publish the rest
            await asyncio.to_thread(broker.restart)
            await asyncio.to_thread(publish, broker.port, items[200:])
            await async_wait_for(lambda: len(read_series(tmp_path / "store.db", key)[0]) >= n, 20,
                             lambda: f"{n} readings in the store: {d.mqtt.stats}; broker log:\n"
                                     f"{broker.log_text()[-3000:]}")
            return d.mqtt.stats  # stopping flushes the spool: an extra copy would be in the store below

    stats = asyncio.run(scenario())
    ts, v = read_series(tmp_path / "store.db", key)
    assert list(ts) == [(T0 + i) * 1000 for i in range(n)]
    np.testing.assert_allclose(v, [i * 1000 for i in range(n)], rtol=1e-12)  # i/1000 MWh = i kWh
    assert stats.connects >= 3


def test_full_spool_applies_back_pressure_and_the_broker_keeps_the_rest(tmp_path, mosquitto):
    """Spool with room for 5 readings, no writer: 5 are acknowledged, the rest wait at the broker."""
    items = [("bms/soro-raadhus/fjernvarme/varme", json.dumps({"data": {"energy": i, "time": T0 + i}}))
             for i in range(12)]
    settings = settings_from_dict(config(tmp_path, 1, SUBSCRIPTIONS)).mqtt

    async def scenario():
        broker = mosquitto
        settings.port = broker.port
        spool = Spool(tmp_path / "spool.db", max_readings=5)
        stop = asyncio.Event()
        collector = MqttCollector(settings, SITES, spool)
        task = asyncio.create_task(collector.run(stop))
        await async_wait_for(lambda: collector.subscribed, 10, "connect and subscribe")
        await asyncio.to_thread(publish, broker.port, items)
        # refused, then refused again on the retry after the back-off: nothing more was acknowledged between
        await async_wait_for(lambda: collector.stats.spool_full >= 2, 10, "spool full, twice")
        assert spool.backlog() == 5 and collector.stats.acked == 5
        # the daemon stops while the spool is full: nothing more is acknowledged
        stop.set()
        await asyncio.wait_for(task, 10)
        first = spool.take(100)
        spool.ack(first)  # "the store took them"
        # next start: the broker redelivers what was never acknowledged
        stop = asyncio.Event()
        collector = MqttCollector(settings, SITES, spool)
        task = asyncio.create_task(collector.run(stop))
        await async_wait_for(lambda: spool.backlog() == 5, 10, "the next 5")
        second = spool.take(100)
        spool.ack(second)
        await async_wait_for(lambda: spool.backlog() == 2, 10, "the last 2")
        third = spool.take(100)
        stop.set()
        await asyncio.wait_for(task, 10)
        spool.close()
        return [r.value for b in (first, second, third) for r in b.readings]

    values = asyncio.run(scenario())
    assert values == [i * 1e6 for i in range(12)]  # MWh -> Wh, all of them, each once, in order


def test_optional_publishing_of_normalised_readings_and_alerts(tmp_path, mosquitto):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[tuple[str, dict]] = []

    async def scenario():
        broker = mosquitto
        watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bms-watcher")
        watcher.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
        watcher.connect("127.0.0.1", broker.port)
        watcher.subscribe("ud/energimon/#", qos=1)
        watcher.loop_start()
        cfg = config(tmp_path, broker.port, SUBSCRIPTIONS,
                     publish={"enabled": True, "topic_prefix": "ud/energimon"})
        try:
            async with daemon_running(cfg) as d:
                await asyncio.to_thread(publish, broker.port, [
                    ("bms/soro-raadhus/fjernvarme/varme", json.dumps({"data": {"energy": 2.5, "time": T0}}))])
                await async_wait_for(lambda: len(got) >= 1, 10, "the normalised reading")
                d.mqtt.publish_alert("soro-raadhus", {"kind": "natforbrug", "since": "2026-11-29T02:00:00+01:00",
                                                      "dkk_per_day": 412.5})
                await async_wait_for(lambda: len(got) >= 2, 10, "the alert event")
                return d.mqtt.stats
        finally:
            watcher.disconnect()
            watcher.loop_stop()

    stats = asyncio.run(scenario())
    assert stats.published == 2 and stats.publish_dropped == 0
    (topic, reading), (alert_topic, alert) = got
    assert topic == "ud/energimon/soro-raadhus/fjernvarme/heat_energy_wh"
    assert reading["value"] == 2.5e6 and reading["unit"] == "Wh" and reading["ts"] == T0 * 1000
    assert reading["role"] == "heat" and reading["time"].endswith("Z")
    assert alert_topic == "ud/energimon/alerts/soro-raadhus" and alert["kind"] == "natforbrug"


def test_modbus_readings_are_published_too_when_publishing_is_on(tmp_path, mosquitto):
    """The Daemon.accept path: Modbus readings, once in the spool, go out normalised (real Modbus TCP too)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from energimon.app.demo import write_demo_config
    from energimon.collector.simulator.modbus_server import MeterSimulator
    from energimon.config.settings import load_settings

    got: list[str] = []

    async def scenario():
        broker = mosquitto
        watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bms-watcher-2")
        watcher.on_message = lambda c, u, m: got.append(m.topic)
        watcher.connect("127.0.0.1", broker.port)
        watcher.subscribe("ud/#", qos=1)
        watcher.loop_start()
        try:
            async with MeterSimulator() as sim:
                cfg = write_demo_config(tmp_path, sim, interval_s=1)
                cfg.write_text(cfg.read_text(encoding="utf-8") + (
                    f'\n[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nclient_id = "energimon-pub"\n'
                    '[mqtt.publish]\nenabled = true\ntopic_prefix = "ud"\n'
                    '[[mqtt.subscriptions]]\ntopic = "ind/{site}/{device}/{channel}"\nrole = "submeter"\n'),
                    encoding="utf-8")
                daemon = Daemon(load_settings(cfg))
                task = asyncio.create_task(daemon.run(install_signal_handlers=False))
                await async_wait_for(lambda: "ud/soro-raadhus/hovedmaaler/power_w" in got, 10,
                                 lambda: f"a published Modbus reading; got {sorted(set(got))[:5]}")
                daemon.request_stop()
                assert await asyncio.wait_for(task, 15) == 0
        finally:
            watcher.disconnect()
            watcher.loop_stop()

    asyncio.run(scenario())
