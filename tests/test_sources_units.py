"""Small pure pieces of the live sources and their report use, checked by hand computation; the sample configs."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.co2 import hourly_co2_kg
from energimon.analytics.esco.prices import hourly_spot_dkk_per_kwh
from energimon.collector.sources.http import retry_after_s
from energimon.collector.sources.settings import SourcesSettings
from energimon.config.settings import ConfigError, settings_from_dict

ROOT = Path(__file__).resolve().parents[1]
H = 3_600_000
Q = 900_000


def test_hourly_spot_is_the_time_weighted_mean_and_an_hour_missing_a_quarter_has_none():
    # hour 0: hourly price 0.50; hour 1: four quarters 0.2, 0.4, 0.6, -0.2 -> mean 0.25; hour 2: only 3 quarters
    t = np.array([0, H, H + Q, H + 2 * Q, H + 3 * Q, 2 * H, 2 * H + Q, 2 * H + 2 * Q], np.int64)
    v = np.array([0.5, 0.2, 0.4, 0.6, -0.2, 1.0, 1.0, 1.0])
    s = hourly_spot_dkk_per_kwh(t + 1_700_000_000_000 // H * H, v)
    assert s.iloc[0] == pytest.approx(0.5)
    assert s.iloc[1] == pytest.approx(0.25)  # (0.2 + 0.4 + 0.6 - 0.2) / 4, a negative quarter included
    assert len(s) == 3 and math.isnan(s.iloc[2])  # 45 of 60 minutes: no price of its own (not a guess)


def test_hourly_co2_is_the_sum_of_kwh_times_intensity_over_hours_where_both_are_known():
    idx = pd.date_range("2026-11-02", periods=4, freq="h", tz="Europe/Copenhagen")
    kwh = pd.Series([10.0, 20.0, np.nan, 5.0], index=idx)
    g = pd.Series([100.0, 150.0, 200.0, np.nan], index=idx)
    kg, counted, n = hourly_co2_kg(kwh, g)
    # 10 kWh x 100 g + 20 kWh x 150 g = 4000 g = 4 kg; the hour without kWh and the one without g/kWh are out
    assert (kg, counted, n) == (4.0, 30.0, 2)


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("0", 0.0), (None, None), ("soon", None)])
def test_retry_after_delay_seconds(header, seconds):
    assert retry_after_s(header) == seconds


def test_retry_after_http_date():
    # RFC 9110 §10.2.3: an HTTP-date; 90 s after "now"
    assert retry_after_s("Sun, 06 Nov 1994 08:49:37 GMT", now=784111777 - 90) == pytest.approx(90.0)


def test_the_sample_configs_validate_and_the_example_lists_them(tmp_path):
    example = (ROOT / "config" / "energimon.example.toml").read_text(encoding="utf-8")
    secret = tmp_path / "secret"
    secret.write_text("a-secret\n", encoding="utf-8")
    merged: dict = {}
    for name in ("eloverblik", "energidataservice", "dmi"):
        text = (ROOT / "collector" / "sources" / name / "sample.toml").read_text(encoding="utf-8")
        section = tomllib.loads(text)["sources"][name]
        for key in [k for k in section if k.endswith("_file")]:
            section[key] = str(secret)  # the sample's /etc path does not exist here
        merged[name] = section
        first_table = next(ln for ln in text.splitlines() if ln.startswith("[sources."))
        assert f"# {first_table}" in example  # the example config carries every sample, commented
    sources = SourcesSettings(**merged)
    assert sources.configured() == ["eloverblik", "energidataservice", "dmi"]
    assert sources.eloverblik.refresh_token.get_secret_value() == "a-secret"


def test_config_errors_name_the_key_path():
    base = {"sites": {"soro-raadhus": {"name": "S", "latitude": 55.4, "longitude": 11.5}}}
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**base, "sources": {
            "eloverblik": {"refresh_token": "t", "metering_points": [{"id": "571313000000000001", "site": "nowhere"},
                                                                     {"id": "12345", "site": "soro-raadhus"}]},
            "dmi": {"stations": [{"site": "soro-raadhus", "station_id": "6170"}]}}})
    text = str(err.value)
    assert "sources.eloverblik.metering_points[1].id" in text and "should match pattern" in text
    assert "sources.dmi.stations[0].station_id" in text
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**base, "sources": {"eloverblik": {"metering_points": []}}})
    assert "sources.eloverblik: 'refresh_token' or 'refresh_token_file' is required" in str(err.value)
    with pytest.raises(ConfigError) as err:
        settings_from_dict({**base, "sources": {"eloverblik": {"refresh_token": "t", "metering_points": [
            {"id": "571313000000000001", "site": "nowhere"}]}}})
    assert "sources.eloverblik.metering_points[0] (id '571313000000000001').site: unknown site 'nowhere'" in \
        str(err.value)


def test_an_old_spool_gets_the_revisable_column_and_keeps_its_readings(tmp_path):
    import sqlite3

    from energimon.model import RevisableReading
    from energimon.store.spool import Spool

    path = tmp_path / "spool.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE readings (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, "
                     "device TEXT NOT NULL, channel TEXT NOT NULL, role TEXT NOT NULL, ts_ms INTEGER NOT NULL, "
                     "value REAL NOT NULL);"
                     "INSERT INTO readings (site, device, channel, role, ts_ms, value) "
                     "VALUES ('s', 'd', 'power_w', 'grid', 1767225600000, 5.0);")
    db.commit()
    db.close()
    spool = Spool(path)
    try:
        spool.put([RevisableReading("s", "d", "energy_import_wh", "grid", 1767225600000, 7.0)], "source:test")
        batch = spool.take(10)
        assert [(r.value, r.revisable) for r in batch.readings] == [(5.0, False), (7.0, True)]
        assert type(batch.readings[1]) is RevisableReading
    finally:
        spool.close()


def test_a_bad_secret_value_is_never_echoed_in_a_config_error():
    base = {"sites": {"soro-raadhus": {"name": "S", "latitude": 55.4, "longitude": 11.5}}}
    for section, key in (("dmi", "api_key"), ("eloverblik", "refresh_token")):
        with pytest.raises(ConfigError) as err:
            settings_from_dict({**base, "sources": {section: {key: 918273645}}})
        assert f"sources.{section}.{key}" in str(err.value) and "918273645" not in str(err.value)
