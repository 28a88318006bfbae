"""Water (analytics/water.py): the nightly minimum flow, the leak alarm on the demo town hall's history with an
injected leak (and none on normal weeks), the Danish mail, and the simulated water meter read over M-Bus."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

import numpy as np
import pandas as pd
import pytest
from helpers.heat_water import SETTINGS, SITE, TZ

from energimon.analytics import water
from energimon.analytics.alerting.mail import alert_subject, render_alert, rule_texts
from energimon.analytics.anomaly import engine
from energimon.analytics.anomaly.settings import WaterLeakRule
from energimon.app.demo import write_heat_water_history
from energimon.collector.mbus.poller import MbusPoller
from energimon.collector.mbus.settings import MbusTcpDevice
from energimon.collector.simulator.mbus_gateway import MbusGateway, SimulatedMultical
from energimon.collector.simulator.water_meter import WaterModel
from energimon.config.settings import settings_from_dict
from energimon.store.sqlite import SqliteStore


def test_night_minimum_flow_by_hand():
    idx = pd.date_range("2026-11-02 00:00", periods=4 * 24, freq="1h", tz=TZ)
    m3 = pd.Series(0.5, index=idx)  # the day's use; the nights below
    nights = {0: [0.03, 0.04, 0.05, 0.035],   # 2 Nov: lowest 0.03 m³/h > 0.02 -> suspicious
              1: [0.03, np.nan, 0.04, 0.05],   # 3 Nov: 3 of 4 hours known (>= 0.75·4): lowest of them, 0.03
              2: [0.03, np.nan, np.nan, 0.05],  # 4 Nov: 2 of 4 known: not judged (a gap is not a zero)
              3: [0.0, 0.04, 0.05, 0.06]}      # 5 Nov: one quiet hour: no leak
    for day, flows in nights.items():
        m3.iloc[day * 24 + 1: day * 24 + 5] = flows
    low = water.night_min_flow_m3_h(m3)
    assert low[dt.date(2026, 11, 2)] == 0.03 and low[dt.date(2026, 11, 3)] == 0.03
    assert math.isnan(low[dt.date(2026, 11, 4)]) and low[dt.date(2026, 11, 5)] == 0.0
    assert water.leak_nights(low, 0.02) == [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    assert water.leak_run(low, dt.date(2026, 11, 3), 0.02) == [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    assert water.leak_run(low, dt.date(2026, 11, 5), 0.02) == []
    # the unknown night ends a run: nothing is known about it
    assert water.leak_run(low.drop(dt.date(2026, 11, 5)), dt.date(2026, 11, 4), 0.02) == []


def test_a_night_window_the_wrong_way_round_is_refused():
    with pytest.raises(ValueError, match="night_end_h 1 must be after night_start_h 5"):
        WaterLeakRule(night_start_h=5, night_end_h=1)


@pytest.fixture(scope="module")
def leaking(tmp_path_factory):
    """40 days of the demo town hall's meters up to 11 December 2026; from 6 December 12:00 a cistern runs
    (0.06 m³/h day and night)."""
    store = SqliteStore(tmp_path_factory.mktemp("water") / "store.db")
    end = pd.Timestamp("2026-12-11 00:00", tz=TZ).timestamp()
    leak = pd.Timestamp("2026-12-06 12:00", tz=TZ).timestamp()
    write_heat_water_history(store, SITE, end - 40 * 86400, end, water=WaterModel(leak_m3_h=0.06, leak_from_s=leak))
    yield store
    store.close()


def test_leak_alarm_after_three_nights_not_on_normal_weeks(leaking):
    settings = settings_from_dict(SETTINGS)
    series, latest = leaking.series(), leaking.latest()

    def leaks(at: str):
        end = pd.Timestamp(at, tz=TZ).tz_convert("UTC")
        data = engine.load_site_data(leaking, settings, SITE, end, series=series, latest=latest)
        found = engine.evaluate_site(data, settings.alerts, end, end.to_pydatetime())
        assert [f for f in found if f.rule == "bad_cooling"] == []  # the heat meter cools well throughout
        return [f for f in found if f.rule == "water_leak"]

    assert leaks("2026-12-05 09:00") == []  # normal weeks: the town hall draws nothing at night
    assert leaks("2026-12-08 09:00") == []  # the nights to 7 and 8 December: two
    assert leaks("2026-12-09 04:00") == []  # the third night is not over yet (01-05)
    [f] = leaks("2026-12-09 09:00")
    assert f.device == "vand" and f.evidence["nights"] == 3
    # the nights carry only the leak: 0.06 m³/h in each quiet hour; 0.06 × 24 = 1.44 m³ a day
    assert f.evidence["night_min_m3_h"] == 0.06 and f.evidence["lowest_m3_h"] == 0.06
    assert f.evidence["leak_m3_per_day"] == 1.44 and f.evidence["threshold_m3_h"] == 0.02
    assert f.since == dt.datetime(2026, 12, 7, 0, 0, tzinfo=dt.UTC)  # 7 December 01:00 local
    title, what, advice = rule_texts(f, "da")
    assert title == "Mulig vandlækage"
    assert "I 3 nætter i træk" in what and "kl. 01-05" in what and "0,060 m³/h" in what
    assert "grænsen er 0,020 m³/h" in what and "1,44 m³ pr. døgn" in what
    assert "cisterner" in advice
    assert alert_subject("new", f, settings, "da") == "[energimon] Sorø Rådhus · Vandmåler: Mulig vandlækage"
    text = render_alert("new", {"id": 4, "reminders": 0, "last_seen": 0.0}, f, settings).get_body(
        ("plain",)).get_content()
    assert "Koster: vandspild, ca. 1,44 m³ pr. døgn" in text
    assert "0.060 m³/h" in rule_texts(f, "en")[1]


def test_month_water_counts_known_days_and_suspicious_nights(leaking):
    w = water.month_water(leaking, SITE, "vand", dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    # November 2026: 21 working days (2-6, 9-13, 16-20, 23-27, 30) × 3.2 m³ = 67.2 m³; the history starts
    # on 1 November 00:00 (40 days before 11 December), so every day is known
    assert w.days == 30 and w.days_known == 30 and w.volume_m3 == pytest.approx(67.2, abs=0.002)
    assert w.leak_nights == [] and w.nights_judged == 30
    d = water.month_water(leaking, SITE, "vand", dt.date(2026, 12, 1), dt.date(2026, 12, 11))
    assert d.leak_nights == [dt.date(2026, 12, day) for day in (7, 8, 9, 10)]


async def collect(readings, source) -> bool:
    return True


def test_the_simulated_water_meter_is_read_over_mbus_beside_the_heat_meter():
    from energimon.collector.simulator.water_meter import SimulatedWaterMeter

    async def scenario():
        async with MbusGateway([SimulatedMultical(), SimulatedWaterMeter()]) as gw:
            dev = MbusTcpDevice(protocol="mbus_tcp", site=SITE, id="vand", role="water", host="127.0.0.1",
                                port=gw.port, address=2, interval_s=1, timeout_s=0.5)
            poller = MbusPoller(dev, collect)
            t0 = time.time()
            readings = await poller.poll_once()
            return readings, poller, t0

    readings, poller, t0 = asyncio.run(scenario())
    values = {r.channel: r.value for r in readings}
    assert {r.role for r in readings} == {"water"}
    expected = float(WaterModel().volume_m3(np.array([t0]))[0])
    assert values["volume_m3"] == pytest.approx(expected, abs=0.002)  # whole litres, read within a second
    assert "flow_m3_h" in values
    assert poller.health.missing_fields == 0  # a water meter has no temperatures to miss


def test_demo_faults_make_their_alarms_and_a_later_run_repairs_them_without_a_counter_reset(tmp_path):
    """`energimon demo --history-days 6 --fault vandlaekage --fault afkoeling`: the town hall's history carries the
    faults from 4 days back, so both alarms are there at once; a later run without them ends the faults at the
    meters' last readings (fejl.json), and no volume counter goes backwards."""
    import json

    from energimon.app.cli import main
    from energimon.config.settings import load_settings
    from energimon.model import SeriesKey

    d = tmp_path / "demo"
    assert main(["demo", "--dir", str(d), "--history-days", "6", "--seconds", "3", "--interval", "1",
                 "--fault", "vandlaekage", "--fault", "afkoeling"]) == 0
    windows = json.loads((d / "fejl.json").read_text(encoding="utf-8"))
    assert set(windows) == {"vandlaekage", "afkoeling"} and all(b is None for _, b in windows.values())
    settings = load_settings(d / "energimon.toml")
    store = SqliteStore(d / "store.db", readonly=True)
    try:
        found = engine.evaluate(store, settings, dt.datetime.now(dt.UTC), engine.ModelCache())
    finally:
        store.close()
    rules = {(f.rule, f.device): f for f in found if f.rule in ("water_leak", "bad_cooling")}
    assert set(rules) == {("water_leak", "vand"), ("bad_cooling", "fjernvarme")}
    assert rules[("water_leak", "vand")].evidence["lowest_m3_h"] == 0.06
    assert rules[("bad_cooling", "fjernvarme")].evidence["delta_t_k"] < 30.0
    assert main(["demo", "--dir", str(d), "--seconds", "3", "--interval", "1"]) == 0
    ended = json.loads((d / "fejl.json").read_text(encoding="utf-8"))
    assert all(b is not None and b >= a for a, b in ended.values())
    store = SqliteStore(d / "store.db", readonly=True)
    try:
        for device in ("vand", "fjernvarme"):
            ts, vals = store.read_raw_ms(SeriesKey(SITE, device, "volume_m3"), 0, 2**62)
            assert len(ts) > 6 * 144 and np.all(np.diff(vals) >= 0), device
    finally:
        store.close()
