"""Alarms only where they mean something: the data-quality rules judge live devices (Modbus, MQTT), imported
DataHub data get their own "behind" rule — through a real SQLite store, the lifecycle and a real SMTP server; the
daemon's scheduled Eloverblik and DMI fetches against local servers answering in the APIs' documented shapes
(tests/sources_fakes.py)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest
from mail_servers import SmtpServer

sys.path.insert(0, str(Path(__file__).parent))

from sources_fakes import CPH, FakeDmi, FakeEloverblik

from energimon.analytics.alerting.jobs import AlertRunner
from energimon.analytics.alerting.mail import rule_texts
from energimon.analytics.anomaly import engine
from energimon.analytics.anomaly.sources import (
    HISTORIC,
    IMPORT,
    LIVE,
    ImportedDevice,
    device_source,
    import_devices,
    live_rule,
)
from energimon.collector.sources.service import run_source
from energimon.config.settings import ConfigError, settings_from_dict
from energimon.model import Reading
from energimon.store.energy import site_meters
from energimon.store.sqlite import SqliteStore

SITE = "soro-raadhus"
NOW = pd.Timestamp("2027-01-14 10:05", tz="Europe/Copenhagen")
GSRN = "571313199900000101"
DATA_QUALITY = {"stale_data", "device_offline", "stuck_value", "counter_reset"}


def settings(tmp_path, smtp: SmtpServer | None = None, **import_lag):
    return settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55,
                         "facility_managers": ["drift.raadhus@soroe.dk"]}},
        "devices": [{"site": SITE, "id": "hovedmaaler", "role": "grid", "protocol": "modbus_tcp",
                     "host": "127.0.0.1", "port": 5020, "profile": "eastron.sdm630"},
                    {"site": SITE, "id": "inverter", "role": "pv", "protocol": "modbus_tcp",
                     "host": "127.0.0.1", "port": 5021, "profile": "sunspec"}],
        "mqtt": {"host": "127.0.0.1", "subscriptions": [
            {"topic": "bygning/{site}/{device}/{channel}", "role": "submeter"},
            {"topic": "soroe/raadhus/udefoeler", "format": "json", "site": SITE, "device": "udefoeler",
             "channel": "outdoor_temp_c", "role": "weather"}]},
        "datahub": {"metering_points": [{"id": GSRN, "site": SITE, "device": "datahub",
                                         "name": "Elmåler (DataHub)"}]},
        "store": {"path": str(tmp_path / "store.db")},
        "smtp": smtp.settings_dict() if smtp else {"host": "127.0.0.1", "sender": "energimon@soroe.dk"},
        "alerts": {"state_path": str(tmp_path / "alerts.db"), "pending_min": 0,
                   "rules": {"import_lag": import_lag} if import_lag else {}},
    })


def test_where_a_device_s_data_come_from(tmp_path):
    s = settings(tmp_path)
    assert device_source(s, SITE, "hovedmaaler", "grid") == LIVE  # a configured Modbus device
    assert device_source(s, SITE, "inverter-mppt1", "pv") == LIVE  # its SunSpec sub-device
    assert device_source(s, SITE, "ventilation", "submeter") == LIVE  # what the MQTT template can produce
    assert device_source(s, SITE, "udefoeler", "weather") == LIVE  # an explicit MQTT subscription
    assert device_source(s, SITE, "datahub", "grid") == IMPORT  # a DataHub metering point
    # a weather CSV imported with `energimon import csv` (no subscription gives role weather to 'vejr')
    assert device_source(s, SITE, "vejr", "weather") == HISTORIC
    assert device_source(s, SITE, "gammel-maaler", "grid") == HISTORIC  # removed from the configuration
    # listed for the import_lag rule: watched as imported data
    assert device_source(settings(tmp_path, devices=[f"{SITE}/vejr"]), SITE, "vejr", "weather") == IMPORT
    # the same metering point imported once and then fetched on a schedule: one device, its id named once
    both = settings(tmp_path).model_copy(update={"sources": settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55}},
        "sources": {"eloverblik": {"refresh_token": "t", "metering_points": [{"id": GSRN, "site": SITE}]}},
    }).sources})
    assert import_devices(both, SITE) == {"datahub": ImportedDevice(GSRN, "datahub")}
    # the outdoor temperature the scheduled DMI fetch writes under the building: watched as imported data, named
    # by its station (the nearest station is chosen at the first fetch: then by its device id)
    dmi = settings(tmp_path).model_copy(update={"sources": settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55},
                  "slagelse": {"name": "Slagelse", "latitude": 55.4, "longitude": 11.35}},
        "sources": {"dmi": {"api_key": "k", "stations": [{"site": SITE, "station_id": "06135"},
                                                         {"site": "slagelse", "device": "vejr"}]}},
    }).sources})
    assert device_source(dmi, SITE, "dmi", "weather") == IMPORT
    assert import_devices(dmi, SITE)["dmi"] == ImportedDevice("station 06135", "dmi")
    assert import_devices(dmi, "slagelse") == {"vejr": ImportedDevice("vejr", "dmi")}
    assert not live_rule(dmi, pd.DataFrame(columns=["site", "device", "role"]))(SITE, "dmi")
    # a fetched copy wins over an MQTT template that could also produce its device id, as an imported one does:
    # before, a grid template made the fetched «datahub» live, and the building's grid counted twice
    grid_template = settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55}},
        "mqtt": {"host": "127.0.0.1", "subscriptions": [{"topic": "bygning/{site}/{device}/{channel}",
                                                          "role": "grid"}]},
        "sources": {"eloverblik": {"refresh_token": "t", "metering_points": [{"id": GSRN, "site": SITE}]}},
    })
    assert device_source(grid_template, SITE, "datahub", "grid") == IMPORT
    assert device_source(grid_template, SITE, "elmaaler", "grid") == LIVE


def _write(store, device, channel, role, times, values):
    assert store.write([Reading(SITE, device, channel, role, int(t.timestamp() * 1000), float(v))
                        for t, v in zip(times, values, strict=True)]) == []


def _building(store, datahub_until: pd.Timestamp) -> None:
    """The live main meter with fresh 15-minute readings up to NOW; DataHub hourly data (a counter, as
    `energimon import eloverblik` writes it) for the same meter up to ``datahub_until``; a weather CSV imported
    once, ending 8 days ago; and an old counter of a device no longer configured that went backwards."""
    t0 = NOW - pd.Timedelta(days=30)
    live = pd.date_range(end=NOW - pd.Timedelta(minutes=1), periods=30 * 96, freq="15min")
    _write(store, "hovedmaaler", "energy_import_wh", "grid", live, 1e6 + 2500.0 * pd.RangeIndex(len(live)))
    _write(store, "hovedmaaler", "device_online", "grid", live[-4:], [1.0] * 4)
    hours = pd.date_range(t0, datahub_until, freq="1h")
    _write(store, "datahub", "energy_import_wh", "grid", hours, 1e6 + 10_000.0 * pd.RangeIndex(len(hours)))
    weather = pd.date_range(t0, NOW - pd.Timedelta(days=8), freq="1h")
    _write(store, "vejr", "outdoor_temp_c", "weather", weather, [3.0] * len(weather))
    old = pd.date_range(NOW - pd.Timedelta(hours=6), periods=3, freq="1h")
    _write(store, "gammel-maaler", "energy_import_wh", "grid", old, [5e6, 5.1e6, 1e3])  # a "reset" 3 h ago


def test_imported_data_behind_is_one_mail_about_the_import_never_a_meter_that_does_not_answer(tmp_path, smtp):
    s = settings(tmp_path, smtp)
    store = SqliteStore(s.store.path)
    _building(store, datahub_until=NOW - pd.Timedelta(days=6, hours=1))  # DataHub 6 days behind (> 3)
    store.close()
    runner = AlertRunner(s, lambda: SqliteStore(s.store.path, readonly=True))
    t = NOW
    for _ in range(4):  # repeated runs while the live meter stays fresh (< 30 min): one alert, one mail
        runner.run_rules(t.to_pydatetime())
        runner.run_outbox(t.to_pydatetime())
        t += pd.Timedelta(minutes=7)
    smtp.wait(1)
    alerts = [dict(a) for a in runner.db.alerts()]
    assert [(a["device"], a["rule"]) for a in alerts] == [("datahub", "import_lag")], alerts
    # the metering point's display name, not the device id «datahub»
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[energimon] Sorø Rådhus · Elmåler (DataHub): Importerede data er bagud"]
    plain = smtp.messages[0][1].get_body(("plain",)).get_content()
    # 14 Jan 10:05 minus the last hourly reading 8 Jan 09:05 (UTC+1) = 6.0 days; limit 3
    assert f"De nyeste importerede målinger ({GSRN} (datahub/energy_import_wh))" in plain
    assert "6 dage gamle; grænsen er 3 dage" in plain and "Eloverblik" in plain
    assert "Modbus" not in plain and "svarer ikke" not in plain


def test_a_lag_within_the_limit_or_fresh_data_is_no_alert_and_live_devices_still_are_judged(tmp_path):
    s = settings(tmp_path, max_lag_days=10)
    store = SqliteStore(s.store.path)
    _building(store, datahub_until=NOW - pd.Timedelta(days=6, hours=1))
    try:
        found = engine.evaluate(store, s, NOW.to_pydatetime())
        assert [(f.device, f.rule) for f in found] == []  # 6 days behind, limit 10: quiet
        fresh = settings(tmp_path)  # default limit 3 days, DataHub data of yesterday
        _write(store, "datahub", "energy_import_wh", "grid",
               pd.date_range(NOW - pd.Timedelta(days=6), NOW - pd.Timedelta(days=1), freq="1h"),
               2e6 + 10_000.0 * pd.RangeIndex(len(pd.date_range(NOW - pd.Timedelta(days=6),
                                                                 NOW - pd.Timedelta(days=1), freq="1h"))))
        assert [(f.device, f.rule) for f in engine.evaluate(store, fresh, NOW.to_pydatetime())] == []
        # the live main meter falling silent is still news, 2 hours later
        later = NOW + pd.Timedelta(hours=2)
        found = engine.evaluate(store, fresh, later.to_pydatetime())
        assert {(f.device, f.rule) for f in found} == {("hovedmaaler", "device_offline")}
        assert not [f for f in found if f.rule in DATA_QUALITY and f.device in ("datahub", "vejr", "gammel-maaler")]
    finally:
        store.close()


def test_the_rule_can_watch_another_imported_device_and_be_turned_off(tmp_path):
    store = SqliteStore(tmp_path / "store.db")
    _building(store, datahub_until=NOW - pd.Timedelta(days=6, hours=1))
    try:
        watched = settings(tmp_path, devices=[f"{SITE}/vejr"])
        found = {(f.device, f.rule): f for f in engine.evaluate(store, watched, NOW.to_pydatetime())}
        assert set(found) == {("datahub", "import_lag"), ("vejr", "import_lag")}
        assert found[("vejr", "import_lag")].evidence["days_behind"] == pytest.approx(8.0, abs=0.05)
        off = settings(tmp_path, enabled=False)
        assert engine.evaluate(store, off, NOW.to_pydatetime()) == []
    finally:
        store.close()
    with pytest.raises(ConfigError, match=r"alerts.rules.import_lag.devices: 'vejr' is not 'site/device'"):
        settings(tmp_path, devices=["vejr"])
    with pytest.raises(ConfigError, match=r"import_lag.devices\[0\]: unknown site in 'nowhere/vejr'"):
        settings(tmp_path, devices=["nowhere/vejr"])
    assert settings(tmp_path).alerts.rules.import_lag.max_lag_days == 3.0  # the default: a weekend's slack


def _scheduled_settings(tmp_path, source: str, source_settings: dict, smtp: SmtpServer | None):
    """The building's live main meter and one scheduled ``[sources.<source>]`` fetch — no ``[datahub]`` section and
    no ``import_lag.devices``."""
    return settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.55,
                         "facility_managers": ["drift.raadhus@soroe.dk"]}},
        "devices": [{"site": SITE, "id": "hovedmaaler", "role": "grid", "protocol": "modbus_tcp",
                     "host": "127.0.0.1", "port": 5020, "profile": "eastron.sdm630"}],
        "store": {"path": str(tmp_path / "store.db")},
        "sources": {"state_path": str(tmp_path / "sources.db"), "backfill_days": 14, source: source_settings},
        "smtp": smtp.settings_dict() if smtp else {"host": "127.0.0.1", "sender": "energimon@soroe.dk"},
        "alerts": {"state_path": str(tmp_path / "alerts.db"), "pending_min": 0},
    })


def fetched_settings(tmp_path, elo: FakeEloverblik, smtp: SmtpServer | None = None):
    """The live main meter, and its DataHub copy fetched by the daemon's schedule (``[sources.eloverblik]``)."""
    return _scheduled_settings(tmp_path, "eloverblik", {
        "refresh_token": elo.refresh_token, "base_url": f"{elo.server.url}/thirdpartyapi/api",
        "metering_points": [{"id": GSRN, "site": SITE, "device": "datahub", "name": "Elmåler (DataHub)"}]}, smtp)


def _one_alert_run(s, now: pd.Timestamp, smtp: SmtpServer) -> list[dict]:
    """The daemon's alert job once at ``now`` — rules, then the outbox — waiting for one mail; the alerts it holds."""
    runner = AlertRunner(s, lambda: SqliteStore(s.store.path, readonly=True))
    runner.run_rules(now.to_pydatetime())
    runner.run_outbox(now.to_pydatetime())
    smtp.wait(1)
    return [dict(a) for a in runner.db.alerts()]


def _fetch_and_read_live(s, now: pd.Timestamp, source: str = "eloverblik") -> None:
    """One scheduled run of ``source`` into the store (as the daemon's job runs it), and the live meter's fresh
    15-minute readings up to ``now``."""
    store = SqliteStore(s.store.path)
    try:
        summary = run_source(s, source, lambda readings, _origin: store.write(readings))
        assert summary.readings > 0 and not summary.errors and summary.fatal is None, summary
        live = pd.date_range(end=now - pd.Timedelta(minutes=1), periods=2 * 96, freq="15min")
        _write(store, "hovedmaaler", "energy_import_wh", "grid", live, 1e6 + 2500.0 * pd.RangeIndex(len(live)))
        _write(store, "hovedmaaler", "device_online", "grid", live[-4:], [1.0] * 4)
    finally:
        store.close()


def test_a_scheduled_eloverblik_fetch_that_stops_delivering_is_one_import_lag_mail_naming_the_meter(tmp_path, smtp):
    # DataHub's data for the metering point end 7 days ago (an authorisation withdrawn, a mapping lost): every
    # run still "succeeds", the series simply ends
    now = pd.Timestamp.now(tz=CPH)
    elo = FakeEloverblik([GSRN], data_until=now.date() - dt.timedelta(days=7))
    with elo.server:
        s = fetched_settings(tmp_path, elo, smtp)
        _fetch_and_read_live(s, now)
    assert device_source(s, SITE, "datahub", "grid") == IMPORT
    store = SqliteStore(s.store.path, readonly=True)
    try:
        # the live meter still wins over its fetched copy where the building's counters are chosen
        live = live_rule(s, store.series())
        assert live(SITE, "hovedmaaler") and not live(SITE, "datahub")
        meters = site_meters(store.series(), SITE, "electricity", lambda device: live(SITE, device))
        assert [k.device for k in meters.consumption] == ["hovedmaaler"]
    finally:
        store.close()
    alerts = _one_alert_run(s, now, smtp)
    assert [(a["device"], a["rule"]) for a in alerts] == [("datahub", "import_lag")], alerts
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[energimon] Sorø Rådhus · Elmåler (DataHub): Importerede data er bagud"]
    plain = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert f"De nyeste importerede målinger ({GSRN} (datahub/energy_import_wh))" in plain
    assert "grænsen er 3 dage" in plain and "energimon sources status" in plain and "Modbus" not in plain


def test_a_scheduled_eloverblik_fetch_that_delivers_yesterday_is_no_alert(tmp_path):
    now = pd.Timestamp.now(tz=CPH)
    elo = FakeEloverblik([GSRN])  # data up to yesterday, as DataHub publishes them
    with elo.server:
        s = fetched_settings(tmp_path, elo)
        _fetch_and_read_live(s, now)
    store = SqliteStore(s.store.path, readonly=True)
    try:
        assert [(f.device, f.rule) for f in engine.evaluate(store, s, now.to_pydatetime())] == []
    finally:
        store.close()


def dmi_settings(tmp_path, dmi: FakeDmi, smtp: SmtpServer | None = None):
    """The live main meter, and its outdoor temperature fetched by the daemon's schedule (``[sources.dmi]``)."""
    return _scheduled_settings(tmp_path, "dmi", {
        "api_key": dmi.api_key, "base_url": f"{dmi.server.url}/v2/metObs",
        "stations": [{"site": SITE, "station_id": "06135"}]}, smtp)


def test_a_scheduled_dmi_fetch_that_stops_delivering_is_one_import_lag_mail_naming_the_weather_series(tmp_path, smtp):
    # DMI's observations for the station end 7 days ago (a key revoked, a station closed): the weather series
    # simply ends, and the degree days and expected consumption with it
    now = pd.Timestamp.now(tz=CPH)
    dmi = FakeDmi(until=(now - pd.Timedelta(days=7)).to_pydatetime())
    with dmi.server:
        s = dmi_settings(tmp_path, dmi, smtp)
        _fetch_and_read_live(s, now, "dmi")
    store = SqliteStore(s.store.path, readonly=True)
    try:
        assert {(k.device, k.channel) for k in store.series().itertuples()} >= {("dmi", "outdoor_temp_c")}
    finally:
        store.close()
    alerts = _one_alert_run(s, now, smtp)
    assert [(a["device"], a["rule"]) for a in alerts] == [("dmi", "import_lag")], alerts
    assert [(m["Subject"], m["To"]) for _, m in smtp.messages] == [
        ("[energimon] Sorø Rådhus · dmi: Vejrdata fra DMI er bagud", "drift.raadhus@soroe.dk")]
    plain = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "De nyeste udetemperaturer fra DMI (station 06135 (dmi/outdoor_temp_c))" in plain
    assert "grænsen er 3 dage" in plain and "Graddagene" in plain
    assert "energimon sources status" in plain and "[sources.dmi]" in plain
    assert "Eloverblik" not in plain and "Modbus" not in plain
    store = SqliteStore(s.store.path, readonly=True)
    try:
        finding = next(f for f in engine.evaluate(store, s, now.to_pydatetime()) if f.rule == "import_lag")
    finally:
        store.close()
    title, what, advice = rule_texts(finding, "en")
    assert title == "DMI weather data are behind" and "station 06135 (dmi/outdoor_temp_c)" in what
    assert "energimon sources status" in advice and "[sources.dmi]" in advice and "Eloverblik" not in advice


def test_a_scheduled_dmi_fetch_that_delivers_the_last_hour_is_no_alert(tmp_path):
    now = pd.Timestamp.now(tz=CPH)
    dmi = FakeDmi()  # observations up to the last full hour, as DMI publishes them
    with dmi.server:
        s = dmi_settings(tmp_path, dmi)
        _fetch_and_read_live(s, now, "dmi")
    store = SqliteStore(s.store.path, readonly=True)
    try:
        assert [(f.device, f.rule) for f in engine.evaluate(store, s, now.to_pydatetime())] == []
    finally:
        store.close()
