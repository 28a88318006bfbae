"""The owners' read functions that other packages and the commands use instead of SQL against their tables:
what they return, and that they only read (another process — the daemon — writes the files)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from energimon.model import Reading, now_ms


def test_spool_counts_and_dead_letters_read_only(tmp_path):
    from energimon.store.spool import Spool, read_counts, read_dead_letters

    path = tmp_path / "spool.db"
    spool = Spool(path)
    t = now_ms()
    spool.put([Reading("s", "d", "power_w", "grid", t, 1.0), Reading("s", "d", "power_w", "grid", t + 1000, 2.0)])
    spool.dead_letter("mqtt", "tele/a/SENSOR", b"{not json", "not JSON")
    spool.dead_letter("mqtt", "tele/b/SENSOR", "{}", "no values")
    spool.dead_letter("mqtt", "tele/a/SENSOR", "[]", "not an object")
    before = path.stat().st_mtime_ns, path.read_bytes()

    assert read_counts(path).waiting == 2 and read_counts(path).dead_letters == 3
    newest = read_dead_letters(path, limit=2)
    assert [(d.subject, d.reason) for d in newest] == [("tele/a/SENSOR", "not an object"),
                                                       ("tele/b/SENSOR", "no values")]
    only_a = read_dead_letters(path, subject="a/SENSOR")
    assert [d.payload for d in only_a] == ["[]", "{not json"]  # newest first, raw payload kept
    assert read_dead_letters(path, subject="A/SENSOR") == []  # a topic is case-sensitive
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before  # nothing written
    spool.close()

    with pytest.raises(sqlite3.Error):  # a spool that does not exist is not created by a reader
        read_counts(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_read_alerts_by_state_rule_and_period(tmp_path):
    from energimon.analytics.alerting.state import AlertDB, read_alerts

    assert read_alerts(tmp_path / "alerts.db") == []  # not created yet: nothing, and no file made
    assert not (tmp_path / "alerts.db").exists()
    db = AlertDB(tmp_path / "alerts.db")
    day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)

    def add(rule, state, since_days, resolved_days=None):
        since = (day + dt.timedelta(days=since_days)).timestamp()
        resolved = (day + dt.timedelta(days=resolved_days)).timestamp() if resolved_days is not None else None
        with db.transaction() as c:
            c.execute("INSERT INTO alerts(key, site, device, rule, state, severity, since, first_seen, last_seen, "
                      "resolved_at, finding) VALUES (?,?,?,?,?,?,?,?,?,?,'{}')",
                      (f"s/d/{rule}/{since_days}", "s", "d", rule, state, "warning", since, since, since, resolved))

    add("night_load", "firing", 5)
    add("pv_zero", "pending", 2)
    add("pv_zero", "resolved", -10, -3)  # over before the period
    add("pv_zero", "resolved", -2, 1)  # overlaps its start
    add("pv_zero", "dropped", 3, 4)
    db.close()

    active = read_alerts(tmp_path / "alerts.db")
    assert [(a.rule, a.state) for a in active] == [("pv_zero", "pending"), ("night_load", "firing")]  # oldest first
    assert active[1].since == day + dt.timedelta(days=5) and active[1].resolved_at is None
    period = (day, day + dt.timedelta(days=31))
    pv = read_alerts(tmp_path / "alerts.db", states=("pending", "firing", "resolved"), rules=("pv_zero",),
                     overlapping=period)
    assert [(a.state, a.resolved_at) for a in pv] == [("resolved", day + dt.timedelta(days=1)), ("pending", None)]


def test_mqtt_broker_state_typed(tmp_path):
    import os

    from energimon.collector.mqtt.state import BrokerStateFile, read_broker_states

    path = tmp_path / "mqtt-state.json"
    assert read_broker_states(path) == {}
    writer = BrokerStateFile(path, "127.0.0.1:1883", "energimon-test")
    writer.update(connected=True, session_present=False, since_ms=1_700_000_000_000)
    (st,) = read_broker_states(path).values()
    assert (st.broker, st.client_id, st.connected, st.session_present, st.since_ms) == \
        ("127.0.0.1:1883", "energimon-test", True, False, 1_700_000_000_000)
    assert st.pid == os.getpid() and st.daemon_running  # this process wrote it
    path.write_text('{"brokers": {"x": 3}}', encoding="utf-8")
    with pytest.raises(ValueError, match="not an energimon MQTT state entry"):
        read_broker_states(path)
