"""DMI climateData daily means against a local server answering in the documented shape (tests/sources_fakes.py:
FakeDmi's climateData part, from DMI's "Climate Data API" page and the stationValue data description), and the
degree days the analytics take from them."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sources_fakes import CPH, FakeDmi, Reply, day_mean_c, json_reply, local_midnight, ms, temp_c

from energimon.analytics.climate_account import degree_days_of
from energimon.analytics.degree_days import NormalYear, daily_mean_temperature_c
from energimon.collector.sources.base import FetchContext, SourceError
from energimon.collector.sources.dmi.settings import DmiSettings
from energimon.collector.sources.dmi.source import DmiSource
from energimon.collector.sources.http import HttpClient
from energimon.collector.sources.runner import SourceRunner
from energimon.collector.sources.service import make_source
from energimon.collector.sources.state import SourceState
from energimon.model import SeriesKey
from energimon.sites import Site
from energimon.store.sqlite import SqliteStore

TEMP = SeriesKey("soro", "dmi", "outdoor_temp_c")
DAY = SeriesKey("soro", "dmi", "outdoor_temp_day_mean_c")
DAY_SERIES = "dmi:soro/climate/mean_temp"
SORO = Site(name="Sorø Rådhus", latitude=55.4319, longitude=11.5561)
HOUR = 3_600_000


@pytest.fixture
def env(tmp_path):
    store = SqliteStore(tmp_path / "store.db")
    state = SourceState(tmp_path / "sources.db")
    yield store, state
    store.close()
    state.close()


def source(fake: FakeDmi, state, *, page_limit: int = 1000, climate_key: str = "dmi-climate-key") -> DmiSource:
    cfg = DmiSettings(api_key="dmi-secret-key", base_url=f"{fake.server.url}/v2/metObs", page_limit=page_limit,
                      climate_data=True, climate_api_key=climate_key,
                      climate_base_url=f"{fake.server.url}/v2/climateData",
                      stations=[{"site": "soro", "station_id": "06170"}])
    return DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers={"X-Gravitee-Api-Key": "dmi-secret-key"}),
                     {"soro": SORO}, state,
                     HttpClient("dmi", cfg.climate_base_url, headers={"X-Gravitee-Api-Key": climate_key},
                                max_backoff_s=0.1, max_wait_s=5))


def runner(env, now: dt.datetime, revision_days: int = 1) -> SourceRunner:
    store, state = env
    return SourceRunner(state, lambda rs, src: store.write(rs), backfill_days=3, revision_days=revision_days,
                        clock=lambda: ms(now))


def since(d: dt.date) -> int:
    return ms(local_midnight(d))


class DailyOnly:
    """The DMI source with only its daily series asked for (the hourly paging is tested in test_sources_eds_dmi.py;
    75 pages of 10 hours would only slow this test down).  DmiSource fetches just the series the runner asks for."""

    def __init__(self, src: DmiSource):
        self.src, self.name, self.http = src, src.name, src.climate_http

    def series(self):
        return [s for s in self.src.series() if s.name == DAY_SERIES]

    def fetch(self, ctx):
        return self.src.fetch(ctx)

    def close(self):
        self.src.close()


def climate_calls(fake: FakeDmi):
    return [r for r in fake.server.requests if "stationValue" in r.path]


def test_daily_means_are_paged_and_survive_429_503_and_a_truncated_body(env, caplog):
    fake = FakeDmi(until=dt.datetime(2026, 2, 1, tzinfo=CPH))
    with fake.server:
        fake.server.inject("stationValue", json_reply({"message": "API rate limit exceeded"}, 429,
                                                      {"Retry-After": "1"}))
        fake.server.inject("stationValue", json_reply({"message": "Service Unavailable"}, 503))
        fake.server.inject("stationValue", Reply(200, b'{"type":"FeatureCollection","features":[{"type":"Feature",',
                                                 {"Content-Type": "application/geo+json"}, truncate_at=30))
        caplog.set_level(logging.WARNING, logger="energimon.sources")
        now = dt.datetime(2026, 2, 1, tzinfo=CPH)
        summary = runner(env, now).run(DailyOnly(source(fake, env[1], page_limit=10)),
                                       since_ms=since(dt.date(2026, 1, 1)))
        assert summary.ok, summary.errors
        assert summary.new == 31  # January's days
        calls = climate_calls(fake)
        assert [c.status for c in calls[:3]] == [429, 503, 200]  # the third was cut short after 30 bytes
        assert calls[1].at - calls[0].at >= 1.0  # Retry-After honoured
        # 32 features (the interval also touches 31 December) in pages of 10, each found by the 'next' link
        assert [c.query.get("offset", "0") for c in calls[2:]] == ["0", "0", "10", "20", "30"]
        assert {c.query["timeResolution"] for c in calls} == {"day"}
        assert all(c.headers["X-Gravitee-Api-Key"] == "dmi-climate-key" for c in calls)
        messages = " ".join(m.getMessage() for m in caplog.records)
        assert "Retry-After 1" in messages and "503" in messages and "cut short" in messages
        ts, v = env[0].read_raw_ms(DAY, since(dt.date(2025, 12, 1)), ms(now))
        days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(31)]
        assert list(ts) == [since(d) for d in days]  # local midnights; 31 December was outside the window
        assert list(v) == [day_mean_c(d) for d in days]


def test_a_month_of_daily_means_gives_the_degree_days_computed_by_hand(env):
    fake = FakeDmi()
    feb = [dt.date(2026, 2, 1) + dt.timedelta(days=i) for i in range(28)]
    for d in feb[:10]:
        fake.day_values[("06170", d)] = (-2.0, "manual", True)
    for d in feb[10:20]:
        fake.day_values[("06170", d)] = (4.5, "manual", True)
    for d in feb[20:27]:
        fake.day_values[("06170", d)] = (17.5, "manual", True)
    fake.day_values[("06170", feb[27])] = (-50.0, "none", False)  # DMI does not vouch for it: not taken
    fake.duplicates[("06170", feb[0])] = 9.9  # an older version of 1 February, superseded by the one created later
    with fake.server:
        now = dt.datetime(2026, 3, 2, tzinfo=CPH)
        assert runner(env, now).run(source(fake, env[1]), since_ms=since(feb[0])).ok
    store = env[0]
    hts, _ = store.read_raw_ms(TEMP, since(feb[0]), since(dt.date(2026, 3, 1)))
    assert len(hts) == 28 * 24  # the hourly series holds only hours: no daily value went into it
    # Danish degree days, base 17 °C (analytics/degree_days.py: DD = Σ max(0, 17 − T_day)), by hand:
    #   1-10 Feb at −2.0 °C: 10 × 19.0 = 190.0;  11-20 Feb at 4.5 °C: 10 × 12.5 = 125.0;
    #   21-27 Feb at 17.5 °C: 7 × max(0, −0.5) = 0;  together 315.0 from DMI's daily means.
    #   28 Feb has no valid daily mean: it is the mean of that day's 24 hourly means (the fake's temp_c).
    hourly_28 = [temp_c(ms(local_midnight(feb[27])) + k * HOUR) for k in range(1, 25)]
    t28 = sum(hourly_28) / 24
    assert t28 != pytest.approx(-50.0)
    dd = degree_days_of(store, TEMP, NormalYear(3175, "DMI normalår"), feb[0], dt.date(2026, 3, 1))
    assert dd.days == 28 and dd.days_missing == 0
    assert dd.actual == pytest.approx(315.0 + max(0.0, 17 - t28))
    # the normal year stays configurable: February's share of 3175 by the default Danish profile,
    # 3175 × 16.52 / 99.97 = 524.667 (the shares in analytics/degree_days.py sum to 99.97 %)
    assert dd.normal == pytest.approx(524.667, abs=0.001)
    means = daily_mean_temperature_c(store, TEMP, local_midnight(feb[0]), local_midnight(dt.date(2026, 3, 1)))
    assert means.iloc[0] == -2.0  # the daily mean, not the superseded 9.9 nor the mean of the hours
    hourly_1 = [temp_c(ms(local_midnight(feb[0])) + k * HOUR) for k in range(1, 25)]
    assert sum(hourly_1) / 24 != pytest.approx(-2.0, abs=0.5)
    # naming the daily series itself gives DMI's days only (28 Feb missing)
    only = daily_mean_temperature_c(store, DAY, local_midnight(feb[0]), local_midnight(dt.date(2026, 3, 1)))
    assert len(only) == 27 and only.iloc[-1] == 17.5


def test_dst_days_are_23_and_25_hours_long_and_stay_on_their_danish_day(env):
    # 29 March 2026 (clocks forward: 23 hours) and 25 October 2026 (clocks back: 25 hours); DMI gives the Danish
    # day's local midnights in UTC: 29 March is 2026-03-28T23:00Z .. 2026-03-29T22:00Z
    fake = FakeDmi()
    with fake.server:
        src = source(fake, env[1])
        (day_spec,) = [s for s in src.series() if s.name == DAY_SERIES]
        errors: list[SourceError] = []
        chunks = []
        for first in (dt.date(2026, 3, 28), dt.date(2026, 10, 24)):
            window = (since(first), since(first + dt.timedelta(days=3)))
            ctx = FetchContext({day_spec.name: window}, threading.Event(), errors.append)
            chunks += [c for c in src.fetch(ctx) if c.spec == day_spec]
        assert not errors
        spans = {dt.datetime.fromtimestamp(p.start_ms / 1000, tz=CPH).date(): (p.end_ms - p.start_ms) / HOUR
                 for c in chunks for p in c.points}
        assert spans == {dt.date(2026, 3, 28): 24, dt.date(2026, 3, 29): 23, dt.date(2026, 3, 30): 24,
                         dt.date(2026, 10, 24): 24, dt.date(2026, 10, 25): 25, dt.date(2026, 10, 26): 24}
        (march,) = [p for c in chunks for p in c.points if p.start_ms == since(dt.date(2026, 3, 29))]
        assert march.start_ms == ms(dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC))
        assert march.end_ms == ms(dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC))

        # stored, each day's mean is found on its own local day (not shifted to a neighbour by the UTC offset)
        now = dt.datetime(2026, 10, 28, tzinfo=CPH)
        assert runner(env, now).run(src, since_ms=since(dt.date(2026, 10, 24))).ok
        means = daily_mean_temperature_c(env[0], TEMP, local_midnight(dt.date(2026, 10, 24)),
                                         local_midnight(dt.date(2026, 10, 27)))
        assert [d.date() for d in means.index] == [dt.date(2026, 10, 24), dt.date(2026, 10, 25),
                                                   dt.date(2026, 10, 26)]
        assert means.iloc[1] == day_mean_c(dt.date(2026, 10, 25))

        # a "day" from UTC midnight to UTC midnight is not a Danish day: named as a schema change, nothing stored
        bad = {"type": "FeatureCollection", "numberReturned": 1, "links": [], "features": [{
            "type": "Feature", "properties": {"from": "2026-03-29T00:00:00+00:00", "to": "2026-03-30T00:00:00+00:00",
                                              "value": 3.1, "stationId": "06170", "parameterId": "mean_temp",
                                              "timeResolution": "day", "qcStatus": "manual", "validity": True}}]}
        fake.server.inject("stationValue", json_reply(bad))
        ctx = FetchContext({day_spec.name: (since(dt.date(2026, 3, 29)), since(dt.date(2026, 3, 30)))},
                           threading.Event(), errors.append)
        assert [c for c in src.fetch(ctx) if c.spec == day_spec] == []
        assert [e.cause for e in errors] == ["schema"] and "not a Danish day" in str(errors[0])


def test_scheduled_runs_keep_a_watermark_and_a_qc_revision_replaces_the_day(env, caplog):
    fake = FakeDmi(qc_lag_days=2)
    with fake.server:
        caplog.set_level(logging.INFO, logger="energimon.sources")
        day1 = dt.datetime(2026, 1, 10, 12, tzinfo=CPH)
        fake.until = day1  # what DMI has published by then
        first = runner(env, day1, revision_days=2).run(source(fake, env[1]))  # first run: backfill_days = 3
        assert first.ok
        status = {s.name: s for s in env[1].status()}
        assert status[DAY_SERIES].fetched_until_ms == ms(day1)
        # 7, 8 and 9 January are over (10 January is not); 8 and 9 are within DMI's QC lag: qcStatus "none"
        assert status[DAY_SERIES].points == 3 and status[DAY_SERIES].estimated == 2
        ts, v = env[0].read_raw_ms(DAY, since(dt.date(2026, 1, 1)), ms(day1))
        assert list(ts) == [since(dt.date(2026, 1, d)) for d in (7, 8, 9)]
        assert list(v) == [day_mean_c(dt.date(2026, 1, d)) for d in (7, 8, 9)]

        # a day later DMI's climatologists corrected 9 January (and passed 8 January unchanged)
        fake.day_values[("06170", dt.date(2026, 1, 9))] = (day_mean_c(dt.date(2026, 1, 9)) - 1.5, "manual", True)
        day2 = fake.until = day1 + dt.timedelta(days=1)
        second = runner(env, day2, revision_days=2).run(source(fake, env[1]))
        assert second.ok and second.revised == 1 and second.new == 1 + 24  # 10 January, and its 24 hours
        calls = climate_calls(fake)
        # the second run asks again from its watermark minus revision_days (8 January 12:00), from that day's local
        # midnight: 8 January 00:00 CET is 2026-01-07T23:00Z
        assert calls[-1].query["datetime"].startswith("2026-01-07T23:00:00")
        assert second.requalified == 1  # 8 January: the same value, now QC'd (quality none -> no code)
        _, v2 = env[0].read_raw_ms(DAY, since(dt.date(2026, 1, 9)), since(dt.date(2026, 1, 10)))
        assert list(v2) == [pytest.approx(day_mean_c(dt.date(2026, 1, 9)) - 1.5)]
        assert any("revised at 2026-01-09" in m.getMessage() and "quality none -> None" in m.getMessage()
                   for m in caplog.records)
        assert {s.name: s for s in env[1].status()}[DAY_SERIES].fetched_until_ms == ms(day2)

        third = runner(env, day2, revision_days=2).run(source(fake, env[1]))
        assert third.ok and third.new == 0 and third.revised == 0 and third.readings == 0  # nothing new is stored


def test_a_refused_climate_key_stops_the_daily_means_only(env, caplog):
    fake = FakeDmi()
    with fake.server:
        caplog.set_level(logging.ERROR, logger="energimon.sources")
        summary = runner(env, dt.datetime(2026, 1, 10, tzinfo=CPH)).run(
            source(fake, env[1], climate_key="not-the-climate-key"))
        assert summary.fatal is None and summary.new == 3 * 24  # the hourly means came in
        assert [e for e in summary.errors if "climateData API key was refused" in e]
        assert "climateData API key was refused" in caplog.text and "not-the-climate-key" not in caplog.text
        (day,) = [s for s in env[1].status() if s.name == DAY_SERIES]
        assert day.points == 0 and day.last_error is not None and day.last_error.startswith("token: ")


def test_the_configured_source_sends_the_climate_key_to_the_climate_api(tmp_path, env):
    fake = FakeDmi()
    (tmp_path / "climate.key").write_text("dmi-climate-key\n", encoding="utf-8")
    with fake.server:
        from types import SimpleNamespace

        from energimon.collector.sources.settings import SourcesSettings, cross_check_sources

        sources = SourcesSettings.model_validate({"dmi": {
            "api_key": "dmi-secret-key", "base_url": f"{fake.server.url}/v2/metObs", "climate_data": True,
            "climate_api_key_file": str(tmp_path / "climate.key"),
            "climate_base_url": f"{fake.server.url}/v2/climateData", "stations": [{"site": "soro"}]}})
        assert cross_check_sources(sources, {"soro"}) == []
        src = make_source("dmi", SimpleNamespace(sources=sources, sites={"soro": SORO}), env[1])
        try:
            assert {s.name for s in src.series()} == {"dmi:soro/temp_mean_past1h", DAY_SERIES}
            summary = runner(env, dt.datetime(2026, 1, 10, tzinfo=CPH)).run(src)
        finally:
            src.close()
        assert summary.ok and summary.new == 3 * 24 + 3
        assert {c.query["stationId"] for c in climate_calls(fake)} == {"06135"}  # the nearest station, as metObs
