"""End-to-end MQTT ingest: QoS 1 messages/s from a publisher to committed readings in the spool.

Baseline, in the same run and on the same broker: a bare paho subscriber (QoS 1,
persistent session, paho's automatic acknowledgement, no work per message)
receiving the same stream.  energimon's collector does everything it does in
production: parse (``json`` format with a time field), validate, commit to the
spool (SQLite WAL, ``synchronous=FULL``: fsync per commit) and only then
acknowledge each message.

Two cases, each run for the baseline and for energimon, interleaved, best of ``--repeat``:

* **live**: the subscriber is connected; the publisher publishes N messages as
  fast as the broker acknowledges them; time from the first publish to the last
  message received (baseline) / committed (energimon).
* **backlog**: N messages queued at the broker for the offline persistent
  session (energimon was down), then the subscriber connects; time from connect
  to the last message received / committed.

The broker is Mosquitto with its defaults (``max_inflight_messages 20``: at most
20 unacknowledged QoS 1 messages per client — which is what limits how many
messages one spool commit can take) except ``max_queued_messages 0`` so the
backlog case can queue N messages.

    .venv/bin/python bench/mqtt_ingest.py            # 20,000 messages, best of 3 (about a minute)
    .venv/bin/python bench/mqtt_ingest.py --quick    # 2,000 messages, 1 round (a few seconds)

Goal (issue 4): energimon >= 50 % of the bare subscriber, 0 lost.  The exit status is
non-zero only if a message was lost or duplicated, or on errors — never for missing the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import paho.mqtt.client as mqtt
from _common import bench_dir, fmt_rate, machine_line, print_table
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from energimon.collector.mqtt.runtime import MqttCollector
from energimon.config.settings import settings_from_dict
from energimon.store.spool import Spool

TOPIC = "bench/soro-raadhus/hovedmaaler/energi"
SITES = {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4318, "longitude": 11.556}}
T0 = int(time.time()) - 10 * 86400  # payload times: 10 days ago, 1 ms apart
LARGEST: dict[str, int] = {}  # largest number of messages in one spool commit, per protocol


# -- broker -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def mosquitto(workdir: Path):
    binary = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if binary is None:
        raise SystemExit("mosquitto not found (Debian: apt-get install mosquitto)")
    port = free_port()
    (workdir / "data").mkdir(parents=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"user {pwd.getpwuid(os.getuid()).pw_name}\npersistence true\npersistence_location {workdir / 'data'}/\n"
        f"max_queued_messages 0\nlog_dest none\nlistener {port} 127.0.0.1\nallow_anonymous true\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("mosquitto did not start")
            time.sleep(0.05)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


# -- publisher and the two subscribers --------------------------------------------------------
def payloads(n: int, run: int) -> list[str]:
    base = (T0 + run * 1000) * 1000  # each run its own timestamps
    return [json.dumps({"e": i * 0.5, "t": base + i}) for i in range(n)]


def publish_all(port: int, items: list[str]) -> float:
    """Publish QoS 1 and wait for every PUBACK; returns the monotonic time of the first publish."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.monotonic()
    infos = [client.publish(TOPIC, p, qos=1) for p in items]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return t0


class BareSubscriber:
    """A paho subscriber doing nothing but counting (acknowledged by paho automatically)."""

    def __init__(self, port: int, client_id: str, protocol: str):
        self.count = 0
        self.last_at = 0.0
        self.done = threading.Event()
        self.target = 0
        self.subscribed = threading.Event()
        if protocol == "5":
            self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                      protocol=mqtt.MQTTv5)
        else:
            self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.protocol = protocol
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(TOPIC.rsplit("/", 3)[0] + "/#", qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.port = port

    def _on_message(self, client, userdata, msg) -> None:
        self.count += 1
        if self.count >= self.target:
            self.last_at = time.monotonic()
            self.done.set()

    def start(self) -> float:
        t = time.monotonic()
        if self.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            self.client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        else:
            self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        return t

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class EnergimonSubscriber:
    """The real collector with a real spool, in its own event loop thread."""

    def __init__(self, port: int, client_id: str, spool_path: Path, protocol: str):
        self.settings = settings_from_dict({"sites": SITES, "mqtt": {
            "host": "127.0.0.1", "port": port, "client_id": client_id, "reconnect_min_s": 0.2,
            "protocol": protocol,
            "subscriptions": [{"topic": "bench/{site}/{device}/energi", "format": "json", "role": "grid",
                               "channel": "energy_import_wh", "unit": "kWh", "value_path": "e",
                               "time_path": "t"}]}}).mqtt
        self.spool = Spool(spool_path, max_readings=10_000_000, synchronous="FULL")
        self.collector = MqttCollector(self.settings, SITES, self.spool)
        self.target = 0
        self.last_at = 0.0
        self.done = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def subscribed(self) -> bool:
        return self.collector.connected

    def start(self) -> float:
        t = time.monotonic()
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            started.set()
            task = asyncio.create_task(self.collector.run(self._stop))
            while not self._stop.is_set():
                if not self.done.is_set() and self.collector.stats.readings >= self.target:
                    self.last_at = time.monotonic()
                    self.done.set()
                await asyncio.sleep(0.0005)
            await task

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        self._thread.start()
        started.wait(5)
        return t

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(15)
        self.spool.close()

    @property
    def count(self) -> int:
        return self.collector.stats.readings


def wait_subscribed(sub) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (isinstance(sub, BareSubscriber) and sub.subscribed.is_set()) or (
                isinstance(sub, EnergimonSubscriber) and sub.subscribed):
            time.sleep(0.2)  # SUBACK for the collector
            return
        time.sleep(0.01)
    raise SystemExit("subscriber did not connect")


def run_case(kind: str, mode: str, port: int, n: int, run: int, workdir: Path,
             protocol: str) -> tuple[float, int, int]:
    """Returns (messages/s, delivered, distinct) for one subscriber kind in one mode."""
    cid = f"bench-{kind[0]}{protocol[0]}-{mode}-{run}"
    spool_path = workdir / f"spool-{cid}.db"

    def make():
        if kind == "bare":
            return BareSubscriber(port, cid, protocol)
        return EnergimonSubscriber(port, cid, spool_path, protocol)

    items = payloads(n, run)
    sub = make()
    sub.target = n
    if mode == "live":
        sub.start()
        wait_subscribed(sub)
        t0 = publish_all(port, items)
    else:  # backlog: subscribe once to create the session, go offline, queue n, come back
        sub.start()
        wait_subscribed(sub)
        sub.stop()
        publish_all(port, items)
        sub = make()
        sub.target = n
        t0 = sub.start()
    if not sub.done.wait(300):
        raise SystemExit(f"{kind}/{mode}: only {sub.count} of {n} messages after 300 s")
    elapsed = sub.last_at - t0
    time.sleep(0.2)  # anything extra (a duplicate) would arrive now
    delivered = sub.count
    distinct = delivered
    if kind == "energimon":
        LARGEST[protocol] = max(LARGEST.get(protocol, 0), sub.collector.stats.largest_batch)
        batch = sub.spool.take(n + 1000)
        stamps = {r.ts_ms for r in batch.readings} if batch else set()
        delivered = len(batch) if batch else 0
        distinct = len(stamps)
    sub.stop()
    return n / elapsed, delivered, distinct


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 messages, one round (CI smoke run)")
    ap.add_argument("--messages", type=int, default=None, help="messages per case (default 20,000)")
    ap.add_argument("--repeat", type=int, default=None, help="rounds; the best is reported (default 3)")
    ap.add_argument("--protocol", choices=("3.1.1", "5", "both"), default="both",
                    help="MQTT version of both subscribers (default: both, one table row each)")
    ap.add_argument("--dir", default=None, help="where the temp broker and spool files go (default: $TMPDIR)")
    args = ap.parse_args()
    n = args.messages or (2_000 if args.quick else 20_000)
    repeat = args.repeat or (1 if args.quick else 3)
    print(f"MQTT ingest benchmark: {n:,} QoS 1 messages per case, best of {repeat}; {machine_line()}, "
          f"paho-mqtt {version('paho-mqtt')}")
    failures = []
    rows = []
    with bench_dir(args.dir) as workdir, mosquitto(workdir / "broker") as port:
        best: dict[tuple[str, str, str], float] = {}
        protocols = ("3.1.1", "5") if args.protocol == "both" else (args.protocol,)
        cases = [(p, m) for p in protocols for m in ("live", "backlog")]
        run = 0
        for _ in range(repeat):
            for protocol, mode in cases:
                for kind in ("bare", "energimon"):
                    run += 1
                    rate, delivered, distinct = run_case(kind, mode, port, n, run, workdir, protocol)
                    if delivered != n or distinct != n:
                        failures.append(f"{kind}/{protocol}/{mode}: {delivered} delivered, {distinct} distinct "
                                        f"of {n}")
                    key = (kind, protocol, mode)
                    best[key] = max(best.get(key, 0.0), rate)
        for protocol, mode in cases:
            bare, ours = best[("bare", protocol, mode)], best[("energimon", protocol, mode)]
            rows.append([f"MQTT {protocol} {mode}", fmt_rate(bare), fmt_rate(ours), f"{ours / bare:.0%}"])
    print_table(["case", "bare paho msg/s", "energimon msg/s (spool commit)", "ratio"], rows)
    print("largest spool commit (messages): " + ", ".join(f"MQTT {p}: {n}" for p, n in sorted(LARGEST.items())))
    print("goal: ratio >= 50 %, 0 lost, 0 duplicated")
    if failures:
        print("LOST OR DUPLICATED: " + "; ".join(failures))
        return 1
    print(f"lost: 0, duplicated: 0 (every run checked: {n:,} distinct readings in the spool)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
