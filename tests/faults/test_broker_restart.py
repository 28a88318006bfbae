"""Mosquitto restarted mid-stream, more than once, while a QoS 1 publisher streams and `energimon run` ingests:
every message the broker acknowledged is in the store exactly once.

Both sides hold persistent sessions (energimon: fixed client id, clean_session=False / MQTT 5 session
expiry; the publisher: clean_session=False).  The broker is stopped with SIGTERM, so it writes its
persistence file first (a broker SIGKILLed loses what it had not saved — the broker's promise, not ours),
and is down for a moment each time: the publisher queues, energimon reconnects with back-off, the broker
hands energimon's queued messages over when it is back.  A message the publisher sends again after a
lost PUBACK reaches energimon twice; it carries its own time, so the store keeps it once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mqtt_broker import Broker

from faults.harness import DaemonProcess, StreamPublisher, Tally, assert_exact, sqlite_rows, tally, wait_for
from faults.mqtt_stream import CHANNEL, DEVICE, messages, write_config


@dataclass
class Outcome:
    tally: Tally
    stored_at_restarts: list[int]
    connects: int
    log: str
    broker_log: str


def run_broker_restart(workdir: Path, *, restarts: int = 2, per_phase: int = 300, interval_s: float = 0.003,
                       down_s: float = 0.3, protocol: str = "5") -> Outcome:
    n = per_phase * (restarts + 1)
    items, expected = messages(n, int(datetime.now(tz=UTC).timestamp()) - 7200)
    store = workdir / "store.db"
    stored = lambda: len(sqlite_rows(store, DEVICE, [CHANNEL]))  # noqa: E731
    broker = Broker(workdir / "broker").start()
    daemon = DaemonProcess(write_config(workdir, broker.port, protocol, client_id="energimon-restart"))
    try:
        daemon.start()
        wait_for(lambda: daemon.count("subscribed to") >= 1, 20, "the daemon to connect and subscribe")
        pub = StreamPublisher(broker.port, items, interval_s, "restart-publisher").start()
        at_restarts = []
        for k in range(restarts):
            goal = (k + 1) * n // (restarts + 2)
            wait_for(lambda goal=goal: stored() >= goal, 30,
                     lambda goal=goal: f"{goal} readings stored ({stored()})", 0.01)
            broker.stop()  # SIGTERM by PID: mosquitto saves its persistence file
            at_restarts.append(stored())
            time.sleep(down_s)
            broker.start()
            wait_for(lambda k=k: daemon.count("connected to 127.0.0.1") >= k + 2, 20, "the daemon to reconnect")
        assert pub.finish() == 0
        wait_for(lambda: stored() >= n, 30, lambda: f"{n} readings ({stored()} stored)", 0.1)
        assert daemon.terminate() == 0  # SIGTERM flushes the spool: anything extra is in the store now
    finally:
        daemon.cleanup()
        broker_log = broker.log_text()
        broker.stop()
    return Outcome(tally(f"broker restart x{restarts} (mqtt {protocol})", expected, sqlite_rows(store)),
                   at_restarts, daemon.count("connected to 127.0.0.1"), daemon.text(), broker_log)


@pytest.mark.slow
def test_broker_restarted_twice_mid_stream_loses_and_duplicates_nothing(tmp_path, fault_table):
    out = run_broker_restart(tmp_path, restarts=2)
    t = fault_table.add(out.tally)
    assert t.produced == 900
    assert all(s < t.produced for s in out.stored_at_restarts), "a restart came after everything was stored"
    assert_exact(t)
    assert out.connects == 3
    assert out.log.count("disconnected from 127.0.0.1") >= 2  # the daemon noticed each restart …
    assert "Traceback" not in out.log  # … and took it in its stride
