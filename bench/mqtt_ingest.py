"""MQTT QoS 1: from the broker into the store, against a bare paho subscriber and ``mosquitto_sub``.

A real Mosquitto on loopback (started here from a temp config: its defaults, so
``max_inflight_messages 20``, except ``max_queued_messages 0`` so a backlog of any size queues).
energimon is the **whole daemon** (:meth:`energimon.app.daemon.Daemon.run` in its own event-loop thread,
built from a config: spool ``synchronous=FULL``, the embedded store, the writer's default batch,
``batch_max`` 1000): paho's network thread, the hand-off, parsing, routing, stamping, the spool commit,
the manual PUBACK, and the writer into the store.  Its clock stops when the **store** holds every
reading (``writer.written``).  References, same broker, same messages, in the same run:

* a **bare paho subscriber** (QoS 1, persistent session, paho's automatic PUBACK, only counting);
* **``mosquitto_sub``** (``-c -q 1 -C N``, output to /dev/null; the C client, as fast as a subscriber
  gets), backlog case only: it has no way to say when it is subscribed.

Cases (energimon and the references alternate: E P M E P M …):

* **backlog**: N messages queued at the broker for the offline persistent session (energimon was
  down), then the subscriber starts; from its start to the last message stored / received.  The
  subscriber sets the pace: this is the capacity measure.
* **live**: subscribed, then a paho publisher sends N messages as fast as the broker acknowledges
  them; from the first publish to the last message stored / received.

Payloads: ``--payload stamped`` (default: ``{"e": kWh}``, energimon gives the time: strictly increasing per
series) or ``device-time`` (``{"e": kWh, "t": ms}``: the device's own time, the store's collision rule).
Every energimon run checks the store holds exactly N new distinct readings (exit 1 otherwise).

    .venv/bin/python bench/mqtt_ingest.py [--quick] [--pairs N] [--messages N] [--payload device-time]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from _common import Row, add_common_args, bench_dir, emit, load_average, machine_line, mosquitto, stop_process
from paho.mqtt.enums import CallbackAPIVersion

TOPIC = "bench/soro-raadhus/hovedmaaler/energi"
FILTER = "bench/#"
SITES = {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4318, "longitude": 11.556}}
T0 = int(time.time()) - 10 * 86400  # device-time payloads: 10 days ago, 1 ms apart


def payloads(n: int, run: int, device_time: bool) -> list[str]:
    if not device_time:
        return [json.dumps({"e": round(1000 + run * n + i * 0.001, 3)}) for i in range(n)]
    base = (T0 + run * 1000) * 1000
    return [json.dumps({"e": i * 0.5, "t": base + i}) for i in range(n)]


def publish_all(port: int, items: list[str]) -> float:
    """Publish QoS 1 and wait for every PUBACK; returns the perf_counter time of the first publish."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    t0 = time.perf_counter()
    infos = [client.publish(TOPIC, p, qos=1) for p in items]
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()
    return t0


PAHO_SUB = r"""
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
port, cid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
count = 0
def on_message(client, userdata, msg):
    global count
    count += 1
    if count >= n:
        client.disconnect()
def on_subscribe(client, *a):
    print("subscribed", flush=True)
    if n == 0:
        client.disconnect()
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False)
c.on_message = on_message
c.on_connect = lambda c, u, f, rc, p: c.subscribe("bench/#", qos=1)
c.on_subscribe = on_subscribe
c.connect("127.0.0.1", port)
c.loop_forever()
"""


def toml_config(root: Path, port: int, client_id: str, device_time: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{client_id}.toml"
    sub = ('[[mqtt.subscriptions]]\ntopic = "bench/{site}/{device}/energi"\nformat = "json"\nrole = "grid"\n'
           'channel = "energy_import_wh"\nunit = "kWh"\nvalue_path = "e"\n')
    if device_time:
        sub += 'time_path = "t"\n'
    path.write_text(  # production defaults: spool FULL, writer batch 10,000, mqtt batch_max 1000
        '[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.4318\nlongitude = 11.556\n'
        f'[spool]\npath = "{root / "spool.db"}"\n[store]\nkind = "sqlite"\npath = "{root / "store.db"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "{client_id}"\n' + sub, encoding="utf-8")
    return path


class StoreWatch:
    """How many readings the store file holds (plain sqlite3, read-only, as another process would)."""

    def __init__(self, path: Path):
        self.path = path
        self.db = None

    def count(self) -> int:
        import sqlite3

        if self.db is None:
            if not self.path.exists():
                return 0
            self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return self.db.execute("SELECT count(*) FROM points").fetchone()[0]
        except sqlite3.OperationalError:  # the schema is not there yet
            return 0

    def distinct(self) -> int:
        return self.db.execute("SELECT count(DISTINCT ts_ms) FROM points").fetchone()[0]

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def wait_line(proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the subscriber exited before saying {what!r}")
        if what in line:
            return
    raise SystemExit(f"no {what!r} from the subscriber in {timeout} s")


class Runner:
    def __init__(self, port: int, root: Path, n: int, device_time: bool):
        self.port, self.root, self.n, self.device_time = port, root, n, device_time
        self.run_no = 0
        self.errors: list[str] = []
        self.largest = "–"
        self.energimon_bin = str(Path(sys.executable).with_name("energimon"))

    def _cid(self, kind: str) -> str:
        self.run_no += 1
        return f"bench-{kind}-{self.run_no}"

    def energimon(self, mode: str) -> float:
        """``energimon run`` as a process (what systemd starts): from its start (backlog) or the first publish
        (live) until the store holds the N readings."""
        cid, items = self._cid("e"), payloads(self.n, self.run_no, self.device_time)
        root = self.root / "energimon"
        cfg = toml_config(root, self.port, cid, self.device_time)
        watch = StoreWatch(root / "store.db")
        before = watch.count()
        cmd = [self.energimon_bin, "run", "--config", str(cfg)]

        def start() -> subprocess.Popen:
            return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        proc = start()
        try:
            wait_line(proc, "QoS 1 granted")
            if mode == "backlog":
                stop_process(proc)
                publish_all(self.port, items)
                t0 = time.perf_counter()
                proc = start()
            else:
                t0 = publish_all(self.port, items)
            deadline = time.monotonic() + 600
            while watch.count() < before + self.n:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit(f"energimon/{mode}: {watch.count() - before} of {self.n} stored")
                time.sleep(0.005)
            elapsed = time.perf_counter() - t0
        finally:
            stop_process(proc)
        out = proc.stdout.read()
        total = watch.count()
        if total != before + self.n or (self.device_time and watch.distinct() != total):
            self.errors.append(f"energimon/{mode}: the store holds {total - before} new readings of {self.n}")
        watch.close()
        if "Traceback" in out or " ERROR " in out:
            self.errors.append(f"energimon/{mode} logged an error: {out[-1000:]}")
        return elapsed

    def paho(self, mode: str) -> float:
        """A bare paho subscriber as a process: from its start (backlog) or the first publish (live) to its exit."""
        cid, items = self._cid("p"), payloads(self.n, self.run_no, self.device_time)
        cmd = [sys.executable, "-c", PAHO_SUB, str(self.port), cid]
        if mode == "backlog":
            subprocess.run([*cmd, "0"], check=True, timeout=30, stdout=subprocess.DEVNULL)  # the session
            publish_all(self.port, items)
            t0 = time.perf_counter()
            subprocess.run([*cmd, str(self.n)], check=True, timeout=600, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0
        proc = subprocess.Popen([*cmd, str(self.n)], stdout=subprocess.PIPE, text=True)
        try:
            wait_line(proc, "subscribed")
            t0 = publish_all(self.port, items)
            proc.wait(600)
            return time.perf_counter() - t0
        finally:
            stop_process(proc)

    def mosquitto_sub(self) -> float:
        cid, items = self._cid("m"), payloads(self.n, self.run_no, self.device_time)
        base = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port), "-i", cid, "-c", "-q", "1",
                "-t", FILTER, "-V", "mqttv311"]
        subprocess.run([*base, "-E"], check=True, timeout=30)  # the session and its subscription, then exit
        publish_all(self.port, items)
        t0 = time.perf_counter()
        subprocess.run([*base, "-C", str(self.n)], check=True, timeout=600, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_args(ap)
    ap.add_argument("--messages", type=int, default=None, help="messages per run (default 20,000, quick 3,000)")
    ap.add_argument("--payload", choices=("stamped", "device-time"), default="stamped")
    ap.add_argument("--no-live", action="store_true", help="only the backlog case")
    args = ap.parse_args()
    n = args.messages or (3_000 if args.quick else 20_000)
    n_pairs = args.pairs or (2 if args.quick else 5)
    device_time = args.payload == "device-time"

    from energimon.logs import setup_logging

    setup_logging("ERROR")
    print(f"MQTT: {n:,} QoS 1 messages per run ({args.payload}), {n_pairs} pairs; {machine_line()}", file=sys.stderr)
    with bench_dir(args.dir) as root, mosquitto(root / "broker") as port:
        r = Runner(port, root, n, device_time)
        r.energimon("backlog")  # warm-up (imports, the store's first pages)
        e_b, p_b, m_b, e_l, p_l = [], [], [], [], []
        load = [load_average()]
        for i in range(n_pairs):
            e_b.append(r.energimon("backlog"))
            p_b.append(r.paho("backlog"))
            m_b.append(r.mosquitto_sub())
            if not args.no_live:
                e_l.append(r.energimon("live"))
                p_l.append(r.paho("live"))
            print(f"  mqtt: pair {i + 1}/{n_pairs}: backlog energimon {e_b[-1]:.2f} s, paho {p_b[-1]:.2f} s, "
                  f"mosquitto_sub {m_b[-1]:.2f} s" + (f"; live energimon {e_l[-1]:.2f} s, paho {p_l[-1]:.2f} s"
                                                        if e_l else ""), file=sys.stderr, flush=True)
        load.append(load_average())
    what = f"{args.payload} payloads; every subscriber a process, timed from its start"
    rows = [Row("mqtt_ingest", "MQTT backlog → spool (FULL) → embedded store, vs bare paho", "messages/s", n, "rate",
                "bare paho 2.2 QoS 1 subscriber (persistent session, counting only)", e_b, p_b, {"ratio_min": 0.5},
                load, what),
            Row("mqtt_ingest", "MQTT backlog → … → embedded store, vs mosquitto_sub", "messages/s", n, "rate",
                "mosquitto_sub 2.0.11 -c -q 1 -C N > /dev/null", e_b, m_b, {}, load, what)]
    if e_l:
        rows.append(Row("mqtt_ingest", "MQTT live (publisher-paced) → … → embedded store, vs bare paho",
                        "messages/s", n, "rate", "bare paho QoS 1 subscriber, same publisher", e_l, p_l,
                        {"ratio_min": 0.5}, load, what))
    emit(rows, args.json)
    if r.errors:
        print("LOST OR DUPLICATED: " + "; ".join(r.errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
