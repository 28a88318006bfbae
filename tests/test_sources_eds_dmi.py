"""Energi Data Service and DMI metObs clients against local servers answering in the documented shapes
(tests/sources_fakes.py: FakeEnergiDataService from energidataservice.dk's API guide and dataset pages
Elspotprices / DayAheadPrices / CO2Emis; FakeDmi from DMI's "Meteorological Observation API" docs)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sources_fakes import (
    CPH,
    FakeDmi,
    FakeEnergiDataService,
    co2_g_per_kwh,
    json_reply,
    local_midnight,
    ms,
    spot_dkk_per_mwh,
    temp_c,
)

from energimon.collector.sources.dmi.settings import DmiSettings
from energimon.collector.sources.dmi.source import DmiSource, distance_km
from energimon.collector.sources.energidataservice.settings import EnergiDataServiceSettings
from energimon.collector.sources.energidataservice.source import EnergiDataServiceSource
from energimon.collector.sources.http import HttpClient
from energimon.collector.sources.runner import SourceRunner
from energimon.collector.sources.state import SourceState
from energimon.model import SeriesKey
from energimon.sites import Site
from energimon.store.sqlite import SqliteStore

PRICE = SeriesKey("dk2", "energinet", "price_dkk_per_kwh")
CO2 = SeriesKey("dk2", "energinet", "co2_g_per_kwh")
TEMP = SeriesKey("soro", "dmi", "outdoor_temp_c")
SORO = Site(name="Sorø Rådhus", latitude=55.4319, longitude=11.5561)


@pytest.fixture
def env(tmp_path):
    store = SqliteStore(tmp_path / "store.db")
    state = SourceState(tmp_path / "sources.db")
    yield store, state
    store.close()
    state.close()


def runner(env, now: dt.datetime) -> SourceRunner:
    store, state = env
    return SourceRunner(state, lambda rs, src: store.write(rs), backfill_days=3, revision_days=1,
                        clock=lambda: ms(now))


def since(d: dt.date) -> int:
    return ms(local_midnight(d))


# -- Energi Data Service -----------------------------------------------------------------------
def test_prices_switch_from_hourly_elspot_to_15_minute_day_ahead_on_2025_10_01_with_paging(env):
    fake = FakeEnergiDataService()
    with fake.server:
        cfg = EnergiDataServiceSettings(base_url=fake.server.url, co2=False, page_size=100)
        src = EnergiDataServiceSource(cfg, HttpClient("energidataservice", cfg.base_url))
        summary = runner(env, dt.datetime(2025, 10, 3, tzinfo=CPH)).run(src, since_ms=since(dt.date(2025, 9, 29)))
        assert summary.ok, summary.errors
        # 2 days of hourly Elspotprices (48 records: one page of 100) + 2 days of 15-minute DayAheadPrices
        # (192 records: pages of 100, 100 and the rest)
        assert summary.new == 48 + 192
        assert [r.query["offset"] for r in fake.server.requests if "DayAheadPrices" in r.path] == ["0", "100"]
        assert fake.server.count("Elspotprices") == 1
        store = env[0]
        ts, v = store.read_raw_ms(PRICE, since(dt.date(2025, 9, 29)), since(dt.date(2025, 10, 3)))
        steps = set(zip(ts[1:] - ts[:-1], ts[:-1] < since(dt.date(2025, 10, 1)), strict=True))
        assert steps == {(3_600_000, True), (900_000, False)}
        # DKK/MWh -> DKK/kWh; the fake's 13:00 price is negative (it happens) and is kept
        t13 = ms(dt.datetime(2025, 9, 30, 13, tzinfo=CPH))
        assert v[list(ts).index(t13)] == pytest.approx(spot_dkk_per_mwh(t13) / 1000) and v[list(ts).index(t13)] < 0
        for r in fake.server.requests:  # whole Danish days, the area filter, ascending by the dataset's time
            assert r.query["filter"] == '{"PriceArea": ["DK2"]}' and r.query["sort"].endswith(" asc")


def test_co2_every_5_minutes_across_the_autumn_dst_change(env):
    fake = FakeEnergiDataService()
    with fake.server:
        cfg = EnergiDataServiceSettings(base_url=fake.server.url, prices=False)
        src = EnergiDataServiceSource(cfg, HttpClient("energidataservice", cfg.base_url))
        r = runner(env, dt.datetime(2025, 10, 27, tzinfo=CPH))
        assert r.run(src, since_ms=since(dt.date(2025, 10, 26))).ok
        store = env[0]
        day = store.aggregates(CO2, local_midnight(dt.date(2025, 10, 26)), local_midnight(dt.date(2025, 10, 27)),
                               "day")
        assert int(day["count"].iloc[0]) == 25 * 12  # the 25-hour day has 300 five-minute values
        hour = store.aggregate(CO2, local_midnight(dt.date(2025, 10, 26)), local_midnight(dt.date(2025, 10, 27)),
                               "1h", "mean")
        t = ms(dt.datetime(2025, 10, 26, 14, tzinfo=CPH))
        assert hour.iloc[15] == pytest.approx(sum(co2_g_per_kwh(t + k * 300_000) for k in range(12)) / 12)
        again = r.run(src)  # incremental within the revision window: nothing new, nothing written
        assert again.ok and again.new == 0 and again.readings == 0 and again.unchanged > 0


def test_a_revised_price_is_logged_and_replaces_the_stored_one(env, caplog):
    fake = FakeEnergiDataService()
    with fake.server:
        cfg = EnergiDataServiceSettings(base_url=fake.server.url, co2=False)
        r = runner(env, dt.datetime(2025, 11, 3, tzinfo=CPH))
        src = EnergiDataServiceSource(cfg, HttpClient("energidataservice", cfg.base_url))
        assert r.run(src, since_ms=since(dt.date(2025, 11, 1))).ok
        t = ms(dt.datetime(2025, 11, 2, 8, 15, tzinfo=CPH))
        fake.price_overrides[t] = 1234.5
        caplog.set_level(logging.INFO, logger="energimon.sources")
        summary = r.run(src)
        assert summary.revised == 1 and summary.readings == 1
        assert any("revised" in m.getMessage() and "-> 1.2345" in m.getMessage() for m in caplog.records)
        _ts, v = env[0].read_raw_ms(PRICE, t, t + 1)
        assert list(v) == [1.2345]


# -- DMI -----------------------------------------------------------------------------------------
def test_distance_is_the_haversine_great_circle():
    # Copenhagen Airport (06180) to Roskilde Airport (06170): about 33 km (hand check with the haversine formula)
    assert distance_km(55.6152, 12.6522, 55.5867, 12.1311) == pytest.approx(32.9, abs=0.2)


def test_hourly_means_are_paged_by_next_links_and_stored_at_the_start_of_their_hour(env):
    fake = FakeDmi()
    with fake.server:
        cfg = DmiSettings(api_key="dmi-secret-key", base_url=f"{fake.server.url}/v2/metObs", page_limit=50,
                          stations=[{"site": "soro", "station_id": "06170"}])
        src = DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": "dmi-secret-key"}),
                        {"soro": SORO}, env[1])
        now = dt.datetime(2025, 3, 31, tzinfo=CPH)
        summary = runner(env, now).run(src, since_ms=since(dt.date(2025, 3, 29)))
        assert summary.ok and summary.new == 24 + 23  # Saturday and the 23-hour DST Sunday
        pages = [r for r in fake.server.requests if "observation" in r.path]
        assert len(pages) == 1  # 47 features fit one page of 50: no 'next' link
        assert all(r.headers["X-Gravitee-Api-Key"] == "dmi-secret-key" for r in fake.server.requests)
        ts, v = env[0].read_raw_ms(TEMP, since(dt.date(2025, 3, 29)), ms(now))
        # the mean observed at 10:00 UTC is the mean of 09:00-10:00: stored at 09:00
        t9 = ms(dt.datetime(2025, 3, 30, 9, tzinfo=dt.UTC))
        assert v[list(ts).index(t9)] == temp_c(t9 + 3_600_000)
        assert ts[0] == since(dt.date(2025, 3, 29)) and len(ts) == 47


def test_paging_follows_next_links_over_many_pages(env):
    fake = FakeDmi()
    with fake.server:
        cfg = DmiSettings(api_key="dmi-secret-key", base_url=f"{fake.server.url}/v2/metObs", page_limit=20,
                          stations=[{"site": "soro", "station_id": "06170"}])
        src = DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": "dmi-secret-key"}),
                        {"soro": SORO}, env[1])
        summary = runner(env, dt.datetime(2025, 6, 3, tzinfo=CPH)).run(src, since_ms=since(dt.date(2025, 6, 1)))
        assert summary.ok and summary.new == 48
        offsets = [r.query.get("offset", "0") for r in fake.server.requests if "observation" in r.path]
        assert offsets == ["0", "20", "40"]  # 48 features in pages of 20, each found by the previous 'next' link


def test_a_run_stopped_between_pages_leaves_the_watermark_so_the_unread_pages_are_fetched_next_time(env):
    # DMI sorts observations newest first: if a stop after the first page let the watermark pass the window,
    # the older hours on the unread pages would never be fetched
    import threading

    fake = FakeDmi()
    stop = threading.Event()
    served = fake.app

    def app(req):
        reply = served(req)
        if "observation" in req.path:
            stop.set()  # the daemon stops while the first page is on its way
        return reply

    fake.server.app = app
    with fake.server:
        cfg = DmiSettings(api_key="dmi-secret-key", base_url=f"{fake.server.url}/v2/metObs", page_limit=20,
                          stations=[{"site": "soro", "station_id": "06170"}])
        src = DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": "dmi-secret-key"}),
                        {"soro": SORO}, env[1])
        now = dt.datetime(2025, 6, 3, tzinfo=CPH)
        first = runner(env, now).run(src, stop=stop)  # a first run: backfill_days = 3
        assert first.new == 20  # the newest 20 of 3 × 24 hours
        fake.server.app = served
        # the next scheduled run goes on from the watermark (revision_days = 1 would re-read only the last day)
        second = runner(env, now).run(src)
        assert second.ok and second.new == 52  # the 52 older hours of the unread pages; the first 20 not again
        ts, _ = env[0].read_raw_ms(TEMP, since(dt.date(2025, 5, 31)), ms(now))
        assert len(ts) == 72 and ts[0] == since(dt.date(2025, 5, 31))


def test_the_nearest_station_is_chosen_remembered_and_shown(env, caplog):
    fake = FakeDmi()
    with fake.server:
        cfg = DmiSettings(api_key="dmi-secret-key", base_url=f"{fake.server.url}/v2/metObs",
                          stations=[{"site": "soro"}])
        caplog.set_level(logging.INFO, logger="energimon.sources")
        for _ in range(2):
            src = DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": "dmi-secret-key"}),
                            {"soro": SORO}, env[1])
            assert runner(env, dt.datetime(2025, 6, 2, tzinfo=CPH)).run(src).ok
        # Sorø Rådhus (55.43 N, 11.56 E): Flakkebjerg 06135 is ~16 km away, Holbæk ~34, Roskilde ~38
        (st,) = env[1].status()
        assert st.info.startswith("06135 Flakkebjerg (16.")
        assert fake.server.count("station/items") == 1  # asked once; the second run remembered the choice
        assert {r.query["stationId"] for r in fake.server.requests if "observation" in r.path} == {"06135"}


def test_an_unknown_station_a_wrong_key_and_429_are_named(env, caplog):
    fake = FakeDmi()
    with fake.server:
        def source(key: str, station: str):
            cfg = DmiSettings(api_key=key, base_url=f"{fake.server.url}/v2/metObs",
                              stations=[{"site": "soro", "station_id": station}])
            return DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": key}, max_wait_s=5),
                             {"soro": SORO}, env[1])

        r = runner(env, dt.datetime(2025, 6, 2, tzinfo=CPH))
        caplog.set_level(logging.WARNING, logger="energimon.sources")
        unknown = r.run(source("dmi-secret-key", "09999"))
        assert not unknown.ok and "station 09999 (site soro) is not in DMI's station list" in unknown.errors[0]
        wrong = r.run(source("not-the-key", "06170"))
        assert wrong.fatal and "API key was refused" in wrong.fatal and wrong.new == 0
        assert "not-the-key" not in caplog.text
        fake.server.inject("observation", json_reply({"message": "API rate limit exceeded"}, 429, {"Retry-After": "1"}))
        ok = r.run(source("dmi-secret-key", "06170"))
        assert ok.ok and ok.new == 3 * 24  # the first run backfills backfill_days = 3
        calls = [q for q in fake.server.requests if "observation" in q.path]
        assert calls[-1].at - calls[-2].at >= 1.0 and calls[-2].status == 429
        assert any("429" in m.getMessage() and "Retry-After 1" in m.getMessage() for m in caplog.records)
        assert math.isfinite(env[0].read(TEMP, local_midnight(dt.date(2025, 6, 1)),
                                         local_midnight(dt.date(2025, 6, 2))).mean())
