"""Eloverblik third-party API client against a local server answering in the documented shapes
(tests/sources_fakes.py: FakeEloverblik, written from Energinet's "Customer and Third party API for Datahub
Eloverblik — Technical description" and the third-party swagger)."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sources_fakes import CPH, FakeEloverblik, Reply, hourly_kwh, json_reply, local_midnight, ms

from energimon.collector.sources.eloverblik.client import TimeSeriesDto, kwh_text_to_wh, series_points
from energimon.collector.sources.eloverblik.settings import EloverblikSettings
from energimon.collector.sources.eloverblik.source import EloverblikSource
from energimon.collector.sources.http import HttpClient
from energimon.collector.sources.runner import RunSummary, SourceRunner
from energimon.collector.sources.state import SourceState
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

G1, G2 = "571313174100000001", "571313174100000002"
KEY1 = SeriesKey("soro", "datahub", "energy_import_wh")
HOUR = 3_600_000


class Rig:
    """A fake Eloverblik, a state file, a store, and a runner whose clock is fixed at ``now``."""

    def __init__(self, tmp_path: Path, fake: FakeEloverblik, now: dt.datetime, gsrns=(G1,), **cfg):
        self.fake = fake
        self.state = SourceState(tmp_path / "sources.db")
        self.store = SqliteStore(tmp_path / "store.db")
        self.written: list = []
        self.now = now
        self.cfg = EloverblikSettings(refresh_token="refresh-secret-token",
                                      base_url=f"{fake.server.url}/thirdpartyapi/api",
                                      metering_points=[{"id": g, "site": "soro", "device": f"datahub{i or ''}"}
                                                       for i, g in enumerate(gsrns)], **cfg)

        def sink(readings, source):
            self.written.extend(readings)
            assert not self.store.write(readings)

        self.runner = SourceRunner(self.state, sink, backfill_days=40, revision_days=3, clock=lambda: ms(self.now))

    def source(self) -> EloverblikSource:
        return EloverblikSource(self.cfg, HttpClient("eloverblik", self.cfg.base_url, max_retries=3, max_wait_s=5))

    def run(self, since: dt.date | None = None):
        src = self.source()
        try:
            return self.runner.run(src, since_ms=ms(local_midnight(since)) if since else None)
        finally:
            src.close()

    def day_kwh(self, day: dt.date, window: str = "1h"):
        t0, t1 = local_midnight(day), local_midnight(day + dt.timedelta(days=1))
        return self.store.energy(KEY1, t0, t1, window).windows

    def close(self):
        self.state.close()
        self.store.close()


@pytest.fixture
def fake():
    f = FakeEloverblik([G1, G2])
    with f.server:
        yield f


def expected_wh(day: dt.date, step_ms: int, index: int = 0) -> list[int]:
    """What the fake serves for each period of a local day (its generating function, independent of the client)."""
    f = FakeEloverblik([G1, G2])
    t0, t1 = ms(local_midnight(day)), ms(local_midnight(day + dt.timedelta(days=1)))
    return [f.value([G1, G2][index], t, step_ms)[0] for t in range(t0, t1, step_ms)]


def test_quantity_text_is_exact_wh():
    # DataHub quantities are kWh with at most 3 decimals: whole Wh, exactly (no 0.1 + 0.2 drift)
    assert kwh_text_to_wh("0.123") == 123.0
    assert kwh_text_to_wh("12") == 12000.0
    assert kwh_text_to_wh("591.5") == 591500.0
    assert kwh_text_to_wh("0.0005") == 0.5  # more decimals: exact through Decimal
    with pytest.raises(ValueError, match="not a number"):
        kwh_text_to_wh("1,5")


def test_a_series_periods_are_parsed_together_in_time_order_and_a_bad_position_names_its_period():
    def period(start: str, end: str, resolution: str, points: list[tuple[int, str | None, str]]) -> dict:
        return {"resolution": resolution, "timeInterval": {"start": start, "end": end},
                "Point": [{"position": p, "out_Quantity.quantity": q, "out_Quantity.quality": c} for p, q, c in points]}

    # the later period first (the documents give no order); an hourly day's hour 2 not available (A02, no value),
    # then a quarter-hour period: 2025-10-01 22:00Z is 2025-10-02 00:00 in Copenhagen (CEST, UTC+2)
    ts = TimeSeriesDto.model_validate({"measurement_Unit.name": "KWH", "Period": [
        period("2025-10-01T22:00:00Z", "2025-10-02T22:00:00Z", "PT15M", [(1, "0.25", "A04"), (2, "0.125", "A03")]),
        period("2025-09-30T22:00:00Z", "2025-10-01T22:00:00Z", "PT1H",
               [(1, "1.5", "A04"), (2, None, "A02"), (3, "2", "A04")])]})
    t0 = ms(dt.datetime(2025, 9, 30, 22, tzinfo=dt.UTC))
    h, q = 3_600_000, 900_000
    got = series_points(ts, G1)
    assert got.starts == [t0, t0 + 2 * h, t0 + 24 * h, t0 + 24 * h + q]
    assert got.ends == [t0 + h, t0 + 3 * h, t0 + 24 * h + q, t0 + 24 * h + 2 * q]
    assert got.values == [1500.0, 2000.0, 250.0, 125.0]  # kWh -> Wh
    assert got.qualities == ["A04", "A04", "A04", "A03"] and got.in_order()

    bad = TimeSeriesDto.model_validate({"Period": [
        period("2025-09-30T22:00:00Z", "2025-10-01T22:00:00Z", "PT1H", [(1, "1", "A04")]),
        period("2025-10-01T22:00:00Z", "2025-10-02T22:00:00Z", "PT1H", [(1, "1", "A04"), (25, "1", "A04")])]})
    with pytest.raises(ValueError, match=r"position 25 outside the period 2025-10-01 22:00:00\+00:00\.\.2025-10-02 "
                                         r"22:00:00\+00:00 \(24 × PT1H\)"):
        series_points(bad, G1)


def test_dst_days_hourly_and_quarter_hour_periods_become_an_exact_counter(tmp_path, fake):
    # 2025-03-30 (spring, 23 h) is hourly; 2025-10-26 (autumn, 25 h) is after the 15-minute switch on 2025-10-01
    rig = Rig(tmp_path, fake, dt.datetime(2025, 11, 2, tzinfo=CPH))
    try:
        summary = rig.run(since=dt.date(2025, 3, 28))
        assert summary.ok, summary.errors
        spring = rig.day_kwh(dt.date(2025, 3, 30))
        assert len(spring) == 23 and bool(spring["complete"].all())
        assert spring["energy_wh"].sum() == sum(expected_wh(dt.date(2025, 3, 30), HOUR))
        # each hour is its own DataHub value (hand check of one: 02:00 does not exist, 03:00 follows 01:00)
        assert spring["energy_wh"].iloc[2] == hourly_kwh(0, ms(dt.datetime(2025, 3, 30, 3, tzinfo=CPH)))
        autumn = rig.day_kwh(dt.date(2025, 10, 26), "15min")
        assert len(autumn) == 100 and bool(autumn["complete"].all())
        assert list(autumn["energy_wh"]) == expected_wh(dt.date(2025, 10, 26), 900_000)
        # the switch: the last hourly day and the first quarter-hour day are both whole
        for day in (dt.date(2025, 9, 30), dt.date(2025, 10, 1)):
            d = rig.day_kwh(day, "day")
            assert bool(d["complete"].all()) and d["energy_wh"].iloc[0] == sum(
                expected_wh(day, HOUR if day < dt.date(2025, 10, 1) else 900_000))
        # readings are revisable (DataHub corrects data); the counter starts at 0 and never falls
        assert all(r.revisable for r in rig.written)
        values = [r.value for r in sorted(rig.written, key=lambda r: r.ts_ms)]
        assert values[0] == 0.0 and all(b >= a for a, b in itertools.pairwise(values))
    finally:
        rig.close()


def test_quality_codes_are_kept_and_not_available_is_a_gap_not_zero(tmp_path, fake):
    day = dt.date(2025, 5, 6)
    hole = dt.datetime(2025, 5, 6, 14, tzinfo=CPH)
    fake.not_available(G1, hole)  # A02: DataHub has no value for that hour
    rig = Rig(tmp_path, fake, dt.datetime(2025, 5, 8, tzinfo=CPH))
    try:
        assert rig.run(since=day).ok
        values = rig.state.values(rig.source().series()[0], ms(local_midnight(day)))
        # hour 03 is estimated in the fake (A03), the rest measured (A04); the A02 hour has no value at all
        assert {p.quality for p in values} == {"A03", "A04"}
        assert [p.start_ms for p in values if p.quality == "A03"][:1] == [ms(dt.datetime(2025, 5, 6, 3, tzinfo=CPH))]
        assert ms(hole) not in {p.start_ms for p in values}
        hours = rig.day_kwh(day)
        assert not hours["complete"].iloc[14] and hours["energy_wh"].isna().iloc[14]  # unknown, never 0
        # the hours around the hole keep exactly their own energy (not smeared over the hole)
        assert bool(hours["complete"].drop(hours.index[14]).all())
        assert list(hours["energy_wh"].iloc[13:16:2]) == [fake.value(G1, ms(hole) + k * HOUR, HOUR)[0] for k in (-1, 1)]
        st = {s.name: s for s in rig.state.status()}[f"eloverblik:{G1}"]
        assert st.estimated == 2  # one A03 hour per day, two days
    finally:
        rig.close()


def test_a_revised_hour_replaces_the_old_value_shifts_later_counter_values_and_is_logged(tmp_path, fake, caplog):
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 11, tzinfo=CPH))
    try:
        assert rig.run(since=dt.date(2025, 6, 1)).ok
        total_before = rig.store.read(KEY1, local_midnight(dt.date(2025, 6, 1)), rig.now).iloc[-1]
        revised = dt.datetime(2025, 6, 9, 10, tzinfo=CPH)
        old = fake.value(G1, ms(revised), HOUR)[0]
        fake.revise(G1, revised, old + 1234, "A01")  # DataHub's correction: +1.234 kWh, quality "adjusted"
        rig.written.clear()
        caplog.set_level(logging.INFO, logger="energimon.sources")
        summary = rig.run()  # incremental: the revision window (3 days) sees the corrected hour
        assert summary.revised == 1 and summary.new == 0
        assert any("revised" in r.getMessage() and f"{old:g} -> {old + 1234:g}" in r.getMessage()
                   for r in caplog.records)
        (rev,) = rig.state.revisions(rig.source().series()[0])
        assert (rev.old_value, rev.new_value, rev.old_quality, rev.new_quality) == (old, old + 1234, "A04", "A01")
        # the store: the hour has its new energy, the hours after it keep theirs, the counter shifted by +1234
        hours = rig.day_kwh(dt.date(2025, 6, 9))
        assert hours["energy_wh"].iloc[10] == old + 1234
        assert hours["energy_wh"].iloc[11] == fake.value(G1, ms(revised) + HOUR, HOUR)[0]
        total_after = rig.store.read(KEY1, local_midnight(dt.date(2025, 6, 1)), rig.now).iloc[-1]
        assert total_after == total_before + 1234
        # only the counter from the revised hour on was written again, as revisions
        assert min(r.ts_ms for r in rig.written) == ms(revised) + HOUR and all(r.revisable for r in rig.written)
        rig.written.clear()
        again = rig.run()  # the same data once more: stored once, nothing written
        assert again.ok and again.new == again.revised == 0 and again.unchanged > 0 and not rig.written
    finally:
        rig.close()


def test_429_with_retry_after_and_503_are_retried_and_the_wait_is_honoured(tmp_path, fake, caplog):
    fake.server.inject("gettimeseries", json_reply({"message": "Too many requests"}, 429, {"Retry-After": "1"}))
    fake.server.inject("gettimeseries", Reply(503, b"Service Unavailable"))
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 5, tzinfo=CPH))
    try:
        caplog.set_level(logging.WARNING, logger="energimon.sources")
        summary = rig.run(since=dt.date(2025, 6, 1))
        assert summary.ok and summary.new == 4 * 24
        calls = [r for r in fake.server.requests if "gettimeseries" in r.path]
        assert [c.status for c in calls] == [429, 503, 200]
        assert calls[1].at - calls[0].at >= 1.0  # Retry-After: 1 second, honoured
        lines = [r.getMessage() for r in caplog.records]
        assert any("429" in m and "Retry-After 1" in m for m in lines)
        assert any("503" in m for m in lines)
    finally:
        rig.close()


def test_a_token_that_expires_mid_backfill_is_renewed_and_the_backfill_completes(tmp_path, caplog):
    fake = FakeEloverblik([G1], expire_after_requests=2)
    with fake.server:
        rig = Rig(tmp_path, fake, dt.datetime(2025, 7, 1, tzinfo=CPH), days_per_request=10)
        try:
            caplog.set_level(logging.INFO, logger="energimon.sources")
            summary = rig.run(since=dt.date(2025, 6, 1))
            assert summary.ok, summary.errors
            assert summary.new == 30 * 24  # every day of June, in 3 requests
            assert fake.server.count("/token") == 2  # renewed once, after the 401
            statuses = [r.status for r in fake.server.requests if "gettimeseries" in r.path]
            assert statuses == [200, 200, 401, 200]
            assert any("401, renewing the data access token" in r.getMessage() for r in caplog.records)
        finally:
            rig.close()


def test_a_truncated_body_is_named_and_retried(tmp_path, fake, caplog):
    fake.server.inject("gettimeseries", Reply(200, b'{"result": [{"MyEnergyData_MarketDocument": {"TimeSeries": [',
                                              {"Content-Type": "application/json"}, truncate_at=30))
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 3, tzinfo=CPH))
    try:
        caplog.set_level(logging.WARNING, logger="energimon.sources")
        assert rig.run(since=dt.date(2025, 6, 1)).ok
        assert any("cut short" in r.getMessage() for r in caplog.records)
    finally:
        rig.close()


def test_a_schema_change_is_named_once_and_nothing_is_stored(tmp_path, fake, caplog):
    fake.server.inject("gettimeseries", json_reply({"result": [{"MyEnergyData_MarketDocument": {"TimeSeries": [
        {"Period": [{"resolution": "PT1H", "timeInterval": {"start": "2025-05-31T22:00:00Z"}}]}]}, "id": G1}]}))
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 3, tzinfo=CPH))
    try:
        caplog.set_level(logging.ERROR, logger="energimon.sources")
        summary = rig.run(since=dt.date(2025, 6, 1))
        assert not summary.ok and summary.new == 0 and not rig.written
        errors = [r.getMessage() for r in caplog.records]
        assert len(errors) == 1 and "documented shape" in errors[0] and "timeInterval.end" in errors[0]
        assert rig.state.watermark(rig.source().series()[0]) is None  # the next run asks again
    finally:
        rig.close()


def test_unknown_and_unauthorised_metering_points_are_named_and_the_others_fetched(tmp_path, caplog):
    unknown = "571313999999999999"
    fake = FakeEloverblik([G1, G2], denied={G2})
    with fake.server:
        rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 3, tzinfo=CPH), gsrns=(G1, G2, unknown))
        try:
            caplog.set_level(logging.ERROR, logger="energimon.sources")
            summary = rig.run(since=dt.date(2025, 6, 1))
            assert summary.new == 2 * 24 and summary.fatal is None and len(summary.errors) == 2
            lines = [r.getMessage() for r in caplog.records]
            assert any(f"no authorisation for metering point {G2}" in m and "30006" in m for m in lines)
            assert any(f"metering point {unknown} is unknown to DataHub" in m and "20000" in m for m in lines)
            st = {s.name: s for s in rig.state.status()}
            assert st[f"eloverblik:{G1}"].last_error is None and st[f"eloverblik:{G1}"].points == 48
            assert st[f"eloverblik:{G2}"].last_error.startswith("authorisation:")
            assert st[f"eloverblik:{unknown}"].last_error.startswith("unknown_series:")
        finally:
            rig.close()


def test_a_refused_refresh_token_stops_the_source_with_one_clear_line_and_no_secret(tmp_path, fake, caplog):
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 3, tzinfo=CPH))
    rig.cfg = rig.cfg.model_copy(update={"refresh_token": EloverblikSettings(
        refresh_token="an-old-revoked-token", metering_points=[]).refresh_token})
    try:
        caplog.set_level(logging.ERROR, logger="energimon.sources")
        summary = rig.run(since=dt.date(2025, 6, 1))
        assert summary.fatal and "refresh token was refused" in summary.fatal
        assert [r.getMessage() for r in caplog.records] == [summary.fatal]
        assert "an-old-revoked-token" not in caplog.text and "Traceback" not in caplog.text
        assert fake.server.count("gettimeseries") == 0
    finally:
        rig.close()


def test_eloverblik_list_prints_the_metering_points_as_config_ready_to_paste(tmp_path, fake, capsys):
    from energimon.app.cli import main

    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""
[sites.soro]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56
[spool]
path = "spool.db"
[sources.eloverblik]
refresh_token = "refresh-secret-token"
base_url = "{fake.server.url}/thirdpartyapi/api"
[[sources.eloverblik.metering_points]]
id = "{G1}"
site = "soro"
""", encoding="utf-8")
    assert main(["sources", "eloverblik", "list", "-c", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "Sorø Kommune Ejendomme (CVR 29188831)" in out
    pasted = tomllib.loads(out.replace('site = ""', 'site = "soro"'))
    mps = pasted["sources"]["eloverblik"]["metering_points"]
    assert [m["id"] for m in mps] == [G1, G2] and mps[0]["site"] == "soro"
    assert "Rådhusvej 9, 4180 Sorø" in out  # the address of G2 helps to pick its site
    EloverblikSettings(refresh_token="x", metering_points=mps)  # valid as it is


def test_the_counter_stays_right_through_revisions_late_values_and_an_earlier_backfill(tmp_path):
    """Chunks arriving in any order (a backfill extended backwards, a hole filled late, a revision) give the
    same hourly energies as the intervals themselves: the counter is rebuilt from the first change onward."""
    from energimon.collector.sources.base import Fetched, Point, SeriesSpec

    spec = SeriesSpec("eloverblik", G1, "soro", "datahub", "energy_import_wh", "grid", "interval")
    store = SqliteStore(tmp_path / "store.db")
    state = SourceState(tmp_path / "s.db")
    runner = SourceRunner(state, lambda rs, src: store.write(rs), backfill_days=1, revision_days=0)
    t0 = ms(dt.datetime(2025, 1, 10, tzinfo=CPH))
    truth: dict[int, float] = {}

    def deliver(hours: range, wh=lambda h: 1000 + 10 * h):
        pts = [Point(t0 + h * HOUR, t0 + (h + 1) * HOUR, float(wh(h))) for h in hours]
        truth.update({p.start_ms: p.value for p in pts})
        runner._ingest(Fetched(spec, pts[0].start_ms, pts[-1].end_ms, pts), RunSummary("t"))

    def check():
        e = store.energy(KEY1, dt.datetime.fromtimestamp(t0 / 1000 - 7200, tz=dt.UTC),
                         dt.datetime.fromtimestamp(t0 / 1000 + 50 * 3600, tz=dt.UTC), "1h").windows
        for ts, row in e.iterrows():
            t = int(ts.timestamp() * 1000)
            if t in truth:
                assert row["complete"] and row["energy_wh"] == truth[t], (ts, row.to_dict(), truth[t])
            else:
                assert not row["complete"], (ts, row.to_dict())  # no value: unknown, never zero

    try:
        deliver(range(20, 30))  # the first fetch
        check()
        deliver(range(32, 40))  # after a 2-hour hole
        check()
        deliver(range(5, 12))  # an earlier backfill with a hole before the old first hour
        check()
        deliver(range(12, 20))  # ... then filling it: the old first hour's start reading is overwritten
        check()
        deliver(range(30, 32))  # the late hours arrive: the step down at the old hole disappears
        check()
        deliver(range(25, 26), wh=lambda h: 99_999)  # DataHub revises one hour
        check()
        assert [r.new_value for r in state.revisions(spec)] == [99_999]
    finally:
        store.close()
        state.close()


def test_a_retry_after_longer_than_max_wait_ends_the_run_and_marks_every_series_of_the_request(tmp_path, fake,
                                                                                                  caplog):
    fake.server.inject("gettimeseries", json_reply({"message": "Too many requests"}, 429, {"Retry-After": "600"}))
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 3, tzinfo=CPH), gsrns=(G1, G2))
    try:
        caplog.set_level(logging.ERROR, logger="energimon.sources")
        summary = rig.run(since=dt.date(2025, 6, 1))
        assert summary.new == 0 and len(summary.errors) == 1
        assert "asked to wait 600 s, more than 5 s" in summary.errors[0]
        assert len(caplog.records) == 1  # one line for the request, not one per metering point
        st = rig.state.status()
        assert len(st) == 2 and all(s.last_error.startswith("rate_limited:") for s in st)
        assert all(s.fetched_until_ms is None for s in st)  # the next run asks again
    finally:
        rig.close()


def test_a_backfill_through_the_spool_stores_the_same_as_readings_one_by_one(tmp_path):
    """The runner hands the spool a series' readings as columns; through the spool into the store they give
    exactly what the same readings one object at a time give (as before the columns), through a gap, a late
    hour filling it and a revision (bench/sources_backfill.py measures this path)."""
    from energimon.collector.sources.base import Fetched, Point, SeriesSpec
    from energimon.store.spool import Spool

    spec = SeriesSpec("eloverblik", G1, "soro", "datahub", "energy_import_wh", "grid", "interval")
    t0 = ms(dt.datetime(2025, 3, 1, tzinfo=CPH))
    chunks = [list(range(0, 6)) + list(range(8, 12)), [6], [2]]  # hours 6-7 missing, 6 late, then 2 revised
    stored, revisions = [], []
    for name, as_list in (("columns", False), ("objects", True)):
        spool, store = Spool(tmp_path / f"{name}-spool.db"), SqliteStore(tmp_path / f"{name}-store.db")
        state = SourceState(tmp_path / f"{name}-state.db")
        sink = (lambda rs, src, spool=spool: spool.put(list(rs), src)) if as_list else spool.put
        runner = SourceRunner(state, sink, backfill_days=1, revision_days=0)
        for k, hours in enumerate(chunks):
            pts = [Point(t0 + h * HOUR, t0 + (h + 1) * HOUR, 1000.0 + 10 * h + (500 if k == 2 else 0), "A04")
                   for h in hours]
            runner._ingest(Fetched(spec, pts[0].start_ms, pts[-1].end_ms, pts), RunSummary("t"))
            while (batch := spool.take(10_000)) is not None:
                assert store.write(batch.readings) == []
                spool.ack(batch)
        ts, v = store.read_raw_ms(KEY1, 0, 2**62)
        stored.append((ts.tolist(), v.tolist()))
        revisions.append([(r.start_ms, r.old_value, r.new_value) for r in state.revisions(spec)])
        for c in (spool, store, state):
            c.close()
    assert stored[0] == stored[1] and revisions[0] == revisions[1]
    # by hand: 1000, 1010, 1520 (revised), 1030, 1040, 1050, 1060 (late), [hour 7 missing: the counter steps
    # down 1 Wh at 08:00], 1080, 1090, 1100, 1110 Wh
    ts, v = stored[0]
    assert ts[0] == t0 and v[:8] == [0.0, 1000.0, 2010.0, 3530.0, 4560.0, 5600.0, 6650.0, 7710.0]
    assert ts[8] == t0 + 8 * HOUR and v[8:] == [7709.0, 8789.0, 9879.0, 10979.0, 12089.0]
    assert revisions[0] == [(t0 + 2 * HOUR, 1020.0, 1520.0)]


def test_a_crash_after_a_requests_spool_commit_loses_nothing_and_stores_nothing_twice(tmp_path, fake, caplog):
    """A request's readings (both metering points) go into the spool in one put, before the state commits; a crash
    between the two leaves the request's readings in the spool and its watermarks where they were, so the next
    run fetches it again: the store ends as after an uninterrupted run, and a revision is still found."""
    from energimon.collector.sources.base import SeriesSpec
    from energimon.store.spool import Spool

    class Crash(Exception):
        """The process dying after the spool's commit, before the state file's."""

    now = dt.datetime(2025, 6, 11, tzinfo=CPH)
    cfg = EloverblikSettings(refresh_token="refresh-secret-token", base_url=f"{fake.server.url}/thirdpartyapi/api",
                             days_per_request=5, metering_points=[{"id": G1, "site": "soro", "device": "datahub"},
                                                                  {"id": G2, "site": "soro", "device": "datahub1"}])
    keys = [KEY1, SeriesKey("soro", "datahub1", "energy_import_wh")]

    puts = []

    def backfill(name: str, crash_at_put: int | None = None):
        """state, store, summary of a run into ``name``'s spool (then drained into its store); ``crash_at_put``:
        the process dies right after that put into the spool committed."""
        state, spool, store = (SourceState(tmp_path / f"{name}.state.db"), Spool(tmp_path / f"{name}.spool.db"),
                               SqliteStore(tmp_path / f"{name}.store.db"))

        def sink(readings, source):
            result = spool.put(readings, source)
            puts.append(list(readings))
            if len(puts) == crash_at_put:
                raise Crash
            return result

        # a backfill from 06-01 (10 days before now), later runs from the watermark minus the revision days
        runner = SourceRunner(state, sink, backfill_days=10, revision_days=3, clock=lambda: ms(now))
        src = EloverblikSource(cfg, HttpClient("eloverblik", cfg.base_url, max_retries=0))
        try:
            summary = runner.run(src)
        except BaseException:
            state.close()
            raise
        finally:
            src.close()
            while (batch := spool.take(10_000)) is not None:
                assert store.write(batch.readings) == []
                spool.ack(batch)
            spool.close()
            store.close()
        return state, SqliteStore(tmp_path / f"{name}.store.db"), summary

    with pytest.raises(Crash):
        backfill("crash", crash_at_put=2)  # the second request (06-06..06-11) is in the spool; its state not
    # one put per request (not per metering point): the second holds both metering points' readings of its window,
    # the counter at the end of each of its 5 × 24 hours (06-06 00:00 is the first request's last reading)
    assert len(puts) == 2
    for device in ("datahub", "datahub1"):
        assert [r.ts_ms for r in puts[1] if r.device == device] == [
            ms(local_midnight(dt.date(2025, 6, 6))) + h * HOUR for h in range(1, 5 * 24 + 1)]
    state = SourceState(tmp_path / "crash.state.db")
    assert [s.fetched_until_ms for s in state.status()] == [ms(local_midnight(dt.date(2025, 6, 6)))] * 2
    state.close()
    puts.clear()

    revised = dt.datetime(2025, 6, 4, 10, tzinfo=CPH)  # DataHub corrects an hour of the first (committed) request
    old = fake.value(G1, ms(revised), HOUR)[0]
    fake.revise(G1, revised, old + 500, "A01")
    caplog.set_level(logging.INFO, logger="energimon.sources")
    state, store, again = backfill("crash")  # the same spool, state and store: the run after the restart
    # from the watermark minus the revision days (06-03): the second request's 5 days are new for both metering
    # points (2 × 5 × 24 hours), the corrected hour is a revision, the rest of 06-03..06-05 unchanged
    assert again.ok and (again.new, again.revised, again.unchanged) == (240, 1, 2 * 3 * 24 - 1)
    assert any("revised" in r.getMessage() and f"{old:g} -> {old + 500:g}" in r.getMessage() for r in caplog.records)
    ref_state, ref_store, ref = backfill("uninterrupted")
    assert ref.ok and ref.new == 2 * 10 * 24
    for key, gsrn in zip(keys, (G1, G2), strict=True):
        ts, values = store.read_raw_ms(key, 0, 2**62)
        ref_ts, ref_values = ref_store.read_raw_ms(key, 0, 2**62)
        assert (ts.tolist(), values.tolist()) == (ref_ts.tolist(), ref_values.tolist())
        # by hand: a counter reading at 06-01 00:00 (0 Wh) and at each of the 240 hours' ends, the last one the
        # sum of the fake's hours (the corrected one included)
        t0 = ms(local_midnight(dt.date(2025, 6, 1)))
        assert len(ts) == 241 and ts[0] == t0 and values[0] == 0.0
        assert values[-1] == sum(fake.value(gsrn, t0 + h * HOUR, HOUR)[0] for h in range(240))
        spec = SeriesSpec("eloverblik", gsrn, "soro", key.device, "energy_import_wh", "grid", "interval")
        assert len(state.values(spec)) == 240  # the state file holds each hour once
    for c in (state, store, ref_state, ref_store):
        c.close()


def test_a_revision_near_the_watermark_with_more_new_hours_after_it_keeps_the_counter_whole(tmp_path, fake):
    """DataHub corrects an hour late yesterday while today's hours arrive in the same run: fewer stored hours
    follow the corrected one (2) than new hours arrive (24).  The counter from the corrected hour on is rebuilt
    over the stored hours too, so it ends at the sum of every hour (no hole where the stored hours were)."""
    rig = Rig(tmp_path, fake, dt.datetime(2025, 6, 6, tzinfo=CPH))
    try:
        assert rig.run(since=dt.date(2025, 6, 1)).ok  # 06-01..06-05
        revised = dt.datetime(2025, 6, 5, 22, tzinfo=CPH)
        old = fake.value(G1, ms(revised), HOUR)[0]
        fake.revise(G1, revised, old + 700, "A01")
        rig.now = dt.datetime(2025, 6, 7, tzinfo=CPH)
        summary = rig.run()  # from the watermark minus 3 days: 06-06 is new, 22:00 on 06-05 revised
        assert summary.ok and (summary.new, summary.revised) == (24, 1)
        t0 = ms(local_midnight(dt.date(2025, 6, 1)))
        ts, values = rig.store.read_raw_ms(KEY1, 0, 2**62)
        # by hand: 0 Wh at 06-01 00:00, then at each hour's end the sum of the hours so far (the corrected one
        # with its new value); 6 days of 24 hours, no DST change
        expected = list(itertools.accumulate(fake.value(G1, t0 + h * HOUR, HOUR)[0] for h in range(6 * 24)))
        assert ts.tolist() == [t0 + h * HOUR for h in range(6 * 24 + 1)]
        assert values.tolist() == [0.0, *map(float, expected)]
    finally:
        rig.close()
