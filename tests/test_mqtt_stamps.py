"""MQTT through a real Mosquitto into the daemon: a device's own time never silently replaces a stored value; a
session the broker lost is a WARNING; `energimon status` shows each broker's connection."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import shutil
from datetime import UTC, datetime

import pytest
from conftest import unique_db
from helpers.mqtt_daemon import config, daemon_running
from helpers.wait import async_wait_for
from mqtt_broker import Publisher

from energimon.app.cli import main as cli_main
from energimon.cliutil import set_lang
from energimon.collector.mqtt.state import read_states, state_path
from energimon.config.settings import settings_from_dict
from energimon.model import SeriesKey
from energimon.store import open_store

T0 = int(datetime.now(tz=UTC).timestamp()) - 3600  # payload times: an hour ago, on whole seconds
TOPIC = "soroe/raadhus/udefoeler"
SUBS = [{"topic": TOPIC, "format": "json", "site": "soro-raadhus", "device": "udefoeler",
         "channel": "outdoor_temp_c", "role": "weather", "value_path": "temperature", "time_path": "ts"},
        {"topic": "bygning/{site}/{device}/{channel}", "role": "submeter"}]


def publish(port: int, items) -> None:
    with Publisher(port) as p:
        p.publish_many(items)


@pytest.mark.parametrize("kind", ["sqlite", "influxdb"])
def test_a_device_time_collision_is_a_dead_letter_and_a_redelivery_is_stored_once(tmp_path, mosquitto, kind, request):
    cfg_extra = {}
    if kind == "influxdb":
        influxd = request.getfixturevalue("influxd")
        cfg_extra = {"store": {"kind": "influxdb", "influxdb": {"url": influxd.url, "mode": "v1",
                                                                "database": unique_db(), "create_database": True,
                                                                "timeout_s": 5}}}
    first = json.dumps({"temperature": 3.5, "ts": T0})
    same = json.dumps({"temperature": 3.5, "ts": T0})  # the same reading again (redelivered, published twice)
    other = json.dumps({"temperature": 9.25, "ts": T0})  # another value at the same instant of the device's clock

    async def scenario():
        broker = mosquitto
        async with daemon_running({**config(tmp_path, broker.port, SUBS), **cfg_extra}) as d:
            await asyncio.to_thread(publish, broker.port, [(TOPIC, first), (TOPIC, same)])
            await async_wait_for(lambda: d.writer.written >= 1 and d.spool.backlog() == 0, 15, "the first reading")
            await asyncio.to_thread(publish, broker.port, [(TOPIC, other)])
            await async_wait_for(lambda: d.spool.dead_letter_count() == 1 and d.spool.backlog() == 0, 15,
                             lambda: f"the collision as a dead letter ({d.spool.dead_letters()})")
            return d.mqtt.stats, d.spool.dead_letters(), d.writer.written

    stats, dead, written = asyncio.run(scenario())
    assert stats.received == 3 and stats.readings == 3 and stats.dead_letters == 0  # all three were readings …
    (dl,) = dead  # … the store refused one of them: the other value at the same time
    assert dl["source"] == f"store:{kind}" and dl["subject"] == "soro-raadhus/udefoeler/outdoor_temp_c"
    assert "time collision" in dl["reason"] and "3.5" in dl["reason"] and "9.25" in dl["reason"]
    assert json.loads(dl["payload"])["time_from"] == "device"
    settings = settings_from_dict({**config(tmp_path, 1883, SUBS), **cfg_extra})
    store = open_store(settings.store, readonly=True)
    try:
        ts, v = store.read_raw_ms(SeriesKey("soro-raadhus", "udefoeler", "outdoor_temp_c"), 0, 2**62)
    finally:
        store.close()
    assert list(ts) == [T0 * 1000] and list(v) == [3.5]  # stored once, the original kept
    assert written == 2  # the first reading and its redelivery (idempotent); not the collision


def status_text(cfg: dict, tmp_path) -> str:
    cfg_path = tmp_path / "energimon.toml"
    lines = ['[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.55\n',
             f'[store]\npath = "{cfg["store"]["path"]}"\n', f'[spool]\npath = "{cfg["spool"]["path"]}"\n',
             f'[mqtt]\nhost = "127.0.0.1"\nport = {cfg["mqtt"]["port"]}\nclient_id = "{cfg["mqtt"]["client_id"]}"\n',
             '[[mqtt.subscriptions]]\ntopic = "bygning/{site}/{device}/{channel}"\nrole = "submeter"\n']
    cfg_path.write_text("\n".join(lines), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli_main(["--lang", "en", "status", "--config", str(cfg_path)])
    return out.getvalue()


def test_a_lost_session_is_a_warning_and_status_shows_the_broker(tmp_path, caplog, mosquitto_factory):
    """First connection: a new session, said at INFO. The broker then loses its persistence (its file deleted
    while it is down): the reconnect without a session is a WARNING naming the broker and since when messages
    may be lost, and `energimon status` says so, with the last message's time."""
    cfg = config(tmp_path, 0, [SUBS[1]], client_id="energimon-session")
    sites_one = {"soro-raadhus": cfg["sites"]["soro-raadhus"]}
    cfg["sites"] = sites_one
    broker = mosquitto_factory(start=False)
    texts: dict[str, str] = {}

    async def scenario():
        broker.start()
        cfg["mqtt"]["port"] = broker.port
        try:
            with caplog.at_level(logging.INFO, logger="energimon.collector.mqtt"):
                async with daemon_running(cfg) as d:
                    await asyncio.to_thread(publish, broker.port, [("bygning/soro-raadhus/m1/power_w", "5")])
                    await async_wait_for(lambda: d.writer.written >= 1, 10, "a message stored")
                    path, where = state_path(settings_from_dict(cfg)), f"127.0.0.1:{broker.port}"
                    await async_wait_for(lambda: read_states(path)[where].get("last_message_ms"), 15,
                                     "the last message time in the state file")  # written every few seconds
                    texts["connected"] = await asyncio.to_thread(status_text, cfg, tmp_path)
                    broker.stop()
                    shutil.rmtree(broker.workdir / "data")  # the broker forgets every session
                    broker.start()
                    await async_wait_for(lambda: d.mqtt.stats.connects == 2, 20, "the reconnect")
                    await async_wait_for(lambda: d.mqtt.stats.sessions_lost == 1, 5, "the lost session noticed")
                    texts["lost"] = await asyncio.to_thread(status_text, cfg, tmp_path)
            texts["stopped"] = await asyncio.to_thread(status_text, cfg, tmp_path)
        finally:
            broker.stop()

    asyncio.run(scenario())
    where = f"127.0.0.1:{broker.port}"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "had no session" in
                r.getMessage()]
    assert len(warnings) == 1, caplog.text
    assert where in warnings[0] and "energimon-session" in warnings[0] and "may be lost" in warnings[0]
    assert "bygning/+/+/+" in warnings[0] and " since " in warnings[0]
    firsts = [r for r in caplog.records if "first connection" in r.getMessage()]
    assert len(firsts) == 1 and firsts[0].levelno == logging.INFO  # the first visit is not a warning

    assert f"{where} (client id energimon-session): connected since" in texts["connected"]
    assert "session present: no (a new session" in texts["connected"]
    assert "last message" in texts["connected"] and "s ago" in texts["connected"]
    assert "session present: NO — the broker had lost our session" in texts["lost"]
    assert f"{where} (client id energimon-session): not connected: energimon stopped at" in texts["stopped"]
    st = read_states(state_path(settings_from_dict(cfg)))[where]
    assert st["connected"] is False and st["session_lost"] is True and st["last_message_ms"] > 0


def test_status_without_mqtt_or_before_the_first_run(tmp_path):
    set_lang("en")  # the status texts checked below are the English ones
    import pandas as pd

    from energimon.app.status import mqtt_lines

    now = pd.Timestamp.now(tz="UTC")
    settings = settings_from_dict(config(tmp_path, 1883, [SUBS[1]]))
    assert "no connection recorded yet" in mqtt_lines(settings, now)[0]
    state_path(settings).write_text("{not json", encoding="utf-8")
    assert "cannot read" in mqtt_lines(settings, now)[0]  # a damaged file is said, not a traceback
    no_mqtt = settings_from_dict({k: v for k, v in config(tmp_path, 1883, [SUBS[1]]).items() if k != "mqtt"})
    assert mqtt_lines(no_mqtt, now) == ["  not configured ([mqtt])"]


def test_a_session_lost_while_energimon_was_stopped_is_a_warning_at_start(tmp_path, mosquitto, caplog):
    """The state file says an earlier run had a session at this broker (stopped at a known time); the broker has
    none now (a fresh broker: its persistence is gone): the first connection of this run is a WARNING, with the
    time the earlier run stopped."""
    from energimon.collector.mqtt.runtime import MqttCollector
    from energimon.collector.mqtt.state import BrokerStateFile
    from energimon.store.spool import Spool

    cfg = config(tmp_path, 0, [SUBS[1]], client_id="energimon-restart")
    broker = mosquitto
    cfg["mqtt"]["port"] = broker.port
    settings = settings_from_dict(cfg)
    where = f"127.0.0.1:{broker.port}"
    stopped_ms = int(datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp() * 1000)  # 10:30 CET
    BrokerStateFile(state_path(settings), where, "energimon-restart").update(
        connected=False, since_ms=stopped_ms, session_present=True, stopped=True)
    spool = Spool(tmp_path / "spool.db")

    async def scenario():
        stop = asyncio.Event()
        collector = MqttCollector(settings.mqtt, ["soro-raadhus"], spool, state_path=state_path(settings))
        task = asyncio.create_task(collector.run(stop))
        await async_wait_for(lambda: collector.subscribed, 10, "connect and subscribe")
        stop.set()
        await asyncio.wait_for(task, 10)
        return collector.stats

    with caplog.at_level(logging.INFO, logger="energimon.collector.mqtt"):
        stats = asyncio.run(scenario())
    spool.close()
    assert stats.sessions_lost == 1
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert where in warning and "since 2026-12-01 10:30:00 CET" in warning and "may be lost" in warning
    assert not [r for r in caplog.records if "first connection" in r.getMessage()]
