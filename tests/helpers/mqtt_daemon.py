"""The MQTT ingest tests' daemon: a configuration with a store, a spool and an MQTT collector on a broker's port
(:func:`config`), and the daemon running in-process until its collector subscribed (:func:`daemon_running`).
Used by tests/test_mqtt_ingest.py and tests/test_mqtt_stamps.py, so both import it from here rather than one test
module from the other."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from energimon.app.daemon import Daemon
from energimon.config.settings import settings_from_dict
from helpers.wait import async_wait_for

SITES = {
    "soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4318, "longitude": 11.556},
    "stenlille-hallen": {"name": "Stenlille hallen", "latitude": 55.539, "longitude": 11.595},
}


def config(tmp_path: Path, port: int, subscriptions: list[dict], **mqtt) -> dict:
    return {
        "sites": SITES,
        "store": {"path": str(tmp_path / "store.db")},
        "spool": {"path": str(tmp_path / "spool.db"), "flush_timeout_s": 5},
        "mqtt": {"host": "127.0.0.1", "port": port, "client_id": "energimon-test", "reconnect_min_s": 0.2,
                 "reconnect_max_s": 1, "subscriptions": subscriptions, **mqtt},
    }


@contextlib.asynccontextmanager
async def daemon_running(cfg: dict):
    daemon = Daemon(settings_from_dict(cfg))
    task = asyncio.create_task(daemon.run(install_signal_handlers=False))
    try:
        await async_wait_for(lambda: daemon.mqtt.subscribed, 10, "the collector to connect and subscribe")
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, 15) == 0
        assert not task.exception() if task.done() else True
