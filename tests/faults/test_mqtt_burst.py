"""Bursts of MQTT messages without a time of their own: every message stored once (real Mosquitto, real
`energimon run`, real `mosquitto_pub`).

A payload without its own time is stamped by energimon from the receive time. Stamped in whole
milliseconds and nothing more, two messages of one series received in the same millisecond were one reading
in the store (the store keeps one value per series and millisecond): 91 of 200 stored after a broker
restart, 22 of 200 from ``mosquitto_pub -l``. Now stamps are strictly increasing per series (energimon.stamps).

* **burst**: ``mosquitto_pub -l`` publishes 10,000 lines (plain numbers, QoS 1) to one topic as fast as the
  broker takes them, while energimon runs.
* **backlog**: energimon is stopped; 2,000 plain numbers and 2,000 Shelly Pro 3EM status messages (1,000
  ``em:0``, 1,000 ``emdata:0``: 19,000 readings) are queued at the broker for its persistent session; the
  broker is restarted (SIGTERM: it saves its persistence file); energimon starts and the whole backlog
  arrives as one burst.

Every message carries a value unique in its series, so a message stored twice (under two stamps) or not at
all shows in the tally. The broker runs with ``max_queued_messages 0`` (no limit), as collector/mqtt/README.md
asks of a production broker: with Mosquitto's default of 1000, the broker itself drops the backlog.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from mqtt_broker import Broker, Publisher

from faults.harness import DaemonProcess, Tally, assert_exact, sqlite_rows, tally, wait_for

SITE = "soro-raadhus"
PLAIN_TOPIC = "bygning/{site}/{device}/{channel}"
SHELLY_TOPIC = "shellies/{site}/{device}/status/+"


def write_config(workdir: Path, port: int, protocol: str = "3.1.1", client_id: str = "energimon-burst") -> Path:
    cfg = workdir / "energimon.toml"
    cfg.write_text(f"""
[sites.{SITE}]
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
client_id = "{client_id}"
reconnect_min_s = 0.2
reconnect_max_s = 1
session_expiry_s = 3600

[[mqtt.subscriptions]]
topic = "{PLAIN_TOPIC}"
format = "plain"
role = "submeter"

[[mqtt.subscriptions]]
topic = "{SHELLY_TOPIC}"
format = "shelly_gen2"
role = "grid"
""", encoding="utf-8")
    return cfg


def by_value(rows) -> list[tuple[tuple, float]]:
    """Store rows keyed by (series, value): each produced value is unique in its series (the stamps are ours)."""
    return [((s, d, c, v), v) for (s, d, c, _ts), v in rows]


def plain(device: str, n: int) -> tuple[list[str], dict]:
    """``n`` plain numbers 1 … n for ``device``'s power_w, and what the store must hold (keyed by value)."""
    return [str(i) for i in range(1, n + 1)], {(SITE, device, "power_w", float(i)): float(i) for i in range(1, n + 1)}


def shelly_pro3em(n: int) -> tuple[list[tuple[str, str]], dict]:
    """``n`` em:0 and ``n`` emdata:0 status payloads (shapes: Shelly Gen2 API docs, EM and EMData status), values
    exact in binary and unique per series, totals the sums of the phases; and the readings they must give."""
    items, expected = [], {}
    dev = "pro3em"

    def want(channel: str, v: float) -> None:
        expected[(SITE, dev, channel, v)] = v

    for i in range(n):
        q = i * 0.125
        phases = {"a": (1.0 + q, 200 + q, 1000 + q), "b": (2.0 + q, 210 + q, -(1000 + q)), "c": (3.0 + q, 220 + q,
                                                                                                 2000 + q)}
        em = {"id": 0, "n_current": None, "user_calibrated_phase": []}
        for p, (amps, volts, watts) in phases.items():
            em |= {f"{p}_current": amps, f"{p}_voltage": volts, f"{p}_act_power": watts, f"{p}_aprt_power": abs(watts),
                   f"{p}_pf": 1, f"{p}_freq": 50}
            k = "abc".index(p) + 1
            want(f"current_l{k}_a", amps)
            want(f"voltage_l{k}_v", volts)
            want(f"power_l{k}_w", watts)
        em["total_current"] = sum(a for a, _, _ in phases.values())
        em["total_act_power"] = sum(w for _, _, w in phases.values())
        em["total_aprt_power"] = sum(abs(w) for _, _, w in phases.values())
        want("current_a", em["total_current"])
        want("power_w", em["total_act_power"])
        emdata = {"id": 0}
        for k, p in enumerate("abc", start=1):
            imp, ret = 10_000 * k + i * 0.5, 100 * k + i * 0.25  # counters: non-decreasing message by message
            emdata |= {f"{p}_total_act_energy": imp, f"{p}_total_act_ret_energy": ret}
            want(f"energy_import_l{k}_wh", imp)
            want(f"energy_export_l{k}_wh", ret)
        emdata["total_act"] = sum(emdata[f"{p}_total_act_energy"] for p in "abc")
        emdata["total_act_ret"] = sum(emdata[f"{p}_total_act_ret_energy"] for p in "abc")
        want("energy_import_wh", emdata["total_act"])
        want("energy_export_wh", emdata["total_act_ret"])
        items += [(f"shellies/{SITE}/{dev}/status/em:0", json.dumps(em)),
                  (f"shellies/{SITE}/{dev}/status/emdata:0", json.dumps(emdata))]
    return items, expected


@dataclass
class Outcome:
    tallies: list[Tally]
    stamps_in_order: bool  # the stored stamps of the burst series increase with the published order
    dead_letters: int
    log: str


def _subscribed(daemon: DaemonProcess, times: int = 1) -> None:
    """The daemon is connected and the broker granted its subscription: from now on the broker queues for it."""
    wait_for(lambda: daemon.count("subscribed to") >= times, 30,
             lambda: f"the daemon to subscribe (log: {daemon.text()[-2000:]})")


def _fence(port: int) -> None:
    """One message after everything else: the broker queues it behind every message it acknowledged before, so once
    it is in the store (the writer drains the spool oldest first), so is everything the daemon took before it."""
    with Publisher(port, client_id="fence") as p:
        p.publish(f"bygning/{SITE}/fence/power_w", "1")


def _fenced(store: Path) -> bool:
    return sqlite_rows(store, "fence") != []


def _dead_letters(workdir: Path) -> int:
    import sqlite3

    db = sqlite3.connect(workdir / "spool.db")
    try:
        return db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    finally:
        db.close()


def run_mosquitto_pub_burst(workdir: Path, *, n: int = 10_000, protocol: str = "3.1.1") -> Outcome:
    tool = shutil.which("mosquitto_pub")
    if tool is None:
        pytest.fail("mosquitto_pub not found (Debian package mosquitto-clients); the burst test needs it")
    lines, expected = plain("burst", n)
    store = workdir / "store.db"
    stored = lambda: len(sqlite_rows(store, "burst"))  # noqa: E731
    broker = Broker(workdir / "broker", global_extra="max_queued_messages 0").start()
    daemon = DaemonProcess(write_config(workdir, broker.port, protocol))
    try:
        daemon.start()
        _subscribed(daemon)
        pub = subprocess.run([tool, "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-i", "burst-pub",
                              "-t", f"bygning/{SITE}/burst/power_w", "-l"],
                             input="\n".join(lines) + "\n", text=True, capture_output=True, timeout=120)
        assert pub.returncode == 0, pub.stderr
        _fence(broker.port)
        wait_for(lambda: _fenced(store), 120, lambda: f"the fence behind the burst ({stored()} of {n} stored)", 0.2)
        assert daemon.terminate() == 0  # SIGTERM: flushed; a reading stored twice would be in the store now
    finally:
        daemon.cleanup()
        broker.stop()
    rows = sqlite_rows(store, "burst")
    order = [ts for (_, _, _, ts), _v in sorted(rows, key=lambda r: r[1])]
    return Outcome([tally(f"burst: mosquitto_pub -l, {n:,} plain (mqtt {protocol})", expected, by_value(rows))],
                   all(b > a for a, b in itertools.pairwise(order)), _dead_letters(workdir), daemon.text())


def run_backlog_after_restart(workdir: Path, *, n_plain: int = 2_000, n_shelly: int = 2_000,
                              protocol: str = "3.1.1") -> Outcome:
    lines, plain_expected = plain("backlog", n_plain)
    shelly_items, shelly_expected = shelly_pro3em(n_shelly // 2)
    store = workdir / "store.db"
    broker = Broker(workdir / "broker", global_extra="max_queued_messages 0").start()
    daemon = DaemonProcess(write_config(workdir, broker.port, protocol))
    try:
        daemon.start()
        _subscribed(daemon)  # the session and its subscriptions exist at the broker
        assert daemon.terminate() == 0
        with Publisher(broker.port, client_id="backlog-pub") as p:  # every message acknowledged by the broker
            p.publish_many([(f"bygning/{SITE}/backlog/power_w", x) for x in lines] + shelly_items, timeout_s=120)
        _fence(broker.port)
        broker.restart()  # SIGTERM: the queue is in the persistence file, and back after the start
        daemon.start()
        n = n_plain + len(shelly_expected)
        count = lambda: len(sqlite_rows(store, "backlog")) + len(sqlite_rows(store, "pro3em"))  # noqa: E731
        wait_for(lambda: _fenced(store), 120, lambda: f"the fence behind the backlog ({count()} of {n} stored)", 0.2)
        assert daemon.terminate() == 0
    finally:
        daemon.cleanup()
        broker.stop()
    what = "energimon stopped, broker restarted"
    tallies = [tally(f"backlog: {n_plain:,} plain ({what})", plain_expected, by_value(sqlite_rows(store, "backlog"))),
               tally(f"backlog: {n_shelly:,} Shelly Pro 3EM em:0/emdata:0 ({what}; readings)", shelly_expected,
                     by_value(sqlite_rows(store, "pro3em")))]
    return Outcome(tallies, True, _dead_letters(workdir), daemon.text())


@pytest.mark.slow
def test_a_mosquitto_pub_burst_of_10000_plain_numbers_is_stored_message_by_message(tmp_path, fault_table):
    out = run_mosquitto_pub_burst(tmp_path)
    (t,) = out.tallies
    fault_table.add(t)
    assert t.produced == 10_000
    assert_exact(t)
    assert out.stamps_in_order  # stamps strictly increasing in the order published: none reused, none reordered
    assert out.dead_letters == 0
    assert "Traceback" not in out.log


@pytest.mark.slow
def test_a_backlog_of_plain_and_shelly_messages_after_a_broker_restart_is_stored_message_by_message(tmp_path,
                                                                                                      fault_table):
    out = run_backlog_after_restart(tmp_path)
    plain_t, shelly_t = out.tallies
    for t in out.tallies:
        fault_table.add(t)
    assert plain_t.produced == 2_000 and shelly_t.produced == 1_000 * 11 + 1_000 * 8  # em:0 11, emdata:0 8 values
    assert_exact(plain_t)
    assert_exact(shelly_t)
    assert out.dead_letters == 0
    assert "session present: True" in out.log  # the queue came from the session the broker kept
    assert "Traceback" not in out.log
