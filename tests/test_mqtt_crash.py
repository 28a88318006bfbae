"""`energimon run` SIGKILLed with QoS 1 messages in flight, messages published while it is down, restarted:
every message is in the store exactly once, with its value (real Mosquitto, real subprocess, real files)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mqtt_broker import running_broker, thread_publisher, wait_until

from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

N = 600
KEY = SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh")
T0 = int(datetime.now(tz=UTC).timestamp()) - 7200


def write_config(tmp_path: Path, port: int, protocol: str) -> Path:
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.556

[store]
path = "store.db"

[spool]
path = "spool.db"

[mqtt]
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"
client_id = "energimon-crash"
reconnect_min_s = 0.2
reconnect_max_s = 1
session_expiry_s = 3600

[[mqtt.subscriptions]]
topic = "bms/{{site}}/{{device}}/energi"
format = "json"
role = "grid"
channel = "energy_import_wh"
unit = "kWh"
value_path = "e"
time_path = "t"
""", encoding="utf-8")
    return cfg


def start_daemon(cfg: Path, log: Path) -> subprocess.Popen:
    out = log.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "energimon.cli", "run", "--config", str(cfg)],
                            stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return proc


def store_rows(path: Path):
    if not path.exists():
        return [], []
    store = SqliteStore(path, readonly=True)
    try:
        ts, v = store.read_raw_ms(KEY, 0, 2**62)
        return list(ts), list(v)
    finally:
        store.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_sigkill_with_messages_in_flight_then_restart_loses_and_duplicates_nothing(tmp_path, protocol):
    log = tmp_path / "daemon.log"
    with running_broker(tmp_path / "broker") as broker:
        cfg = write_config(tmp_path, broker.port, protocol)
        daemon = start_daemon(cfg, log)
        try:
            wait_until(lambda: log.read_text().count("connected to 127.0.0.1") >= 1, 15, 0.05, "daemon connected")
            time.sleep(0.3)
            items = [("bms/soro-raadhus/hovedmaaler/energi", json.dumps({"e": 1000 + i * 0.125, "t": T0 + i}))
                     for i in range(N)]
            stop = threading.Event()
            pub = thread_publisher(broker.port, items, 0.002, stop, f"crash-publisher-{protocol}")
            # kill -9 while messages stream in (some received, not yet committed or acknowledged)
            wait_until(lambda: len(store_rows(tmp_path / "store.db")[0]) >= 100, 20, 0.02, "first readings stored")
            os.kill(daemon.pid, signal.SIGKILL)
            daemon.wait(10)
            at_kill = len(store_rows(tmp_path / "store.db")[0])
            time.sleep(1.0)  # the publisher keeps publishing into the outage
            daemon = start_daemon(cfg, log)
            pub.join(60)
            assert not pub.is_alive() and pub.unacked == 0
            wait_until(lambda: len(store_rows(tmp_path / "store.db")[0]) >= N, 30, 0.1, f"{N} readings")
            time.sleep(1.0)  # anything extra would show up now
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(15) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    ts, values = store_rows(tmp_path / "store.db")
    assert at_kill < N, "the kill came after everything was stored: the test proved nothing"
    assert len(ts) == N
    assert ts == [(T0 + i) * 1000 for i in range(N)]
    assert values == [(1000 + i * 0.125) * 1000 for i in range(N)]  # kWh -> Wh, exact in binary
    text = log.read_text()
    assert text.count("session present: True") >= 1  # the restart found its session at the broker
    assert "Traceback" not in text
