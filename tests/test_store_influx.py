"""The InfluxDB store against a real influxd 1.6.7 (v1 mode): the shared contract and InfluxDB specifics."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from conftest import ADMIN, WRITER, unique_db
from helpers.wait import wait_for
from pydantic import SecretStr
from store_contract import SpoolRowsStore, StoreContract

from energimon.model import CHANNELS, Reading, SeriesKey
from energimon.store.base import StoreError
from energimon.store.influx import MEASUREMENT_CHANNELS, MEASUREMENT_OF, InfluxStore, line_for
from energimon.store.settings import InfluxSettings
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore
from energimon.store.writer import SpoolWriter


class TestInfluxStore(StoreContract):
    @pytest.fixture
    def store(self, influx_settings):
        s = InfluxStore(influx_settings)
        yield s
        s.close()


class TestInfluxStoreFromPackedSpoolRows(StoreContract):
    """The contract on the spool's packed rows (a live source's columns): the line protocol is built from every
    reading of a pack."""

    @pytest.fixture
    def store(self, influx_settings):
        s = InfluxStore(influx_settings)
        yield SpoolRowsStore(s, packed=True)
        s.close()


# -- helpers: the tests' own view of the server, not through the store code ------------------------
def raw_points(server, db: str, measurement: str = "electricity") -> list[dict]:
    doc = server.query(f'SELECT * FROM "{measurement}"', db=db)
    out = []
    for s in doc["results"][0].get("series", []):
        for row in s["values"]:
            out.append({k: v for k, v in zip(s["columns"], row, strict=True) if v is not None})
    return out


def post_line_protocol(url: str, db: str, body: str) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{url}/write?db={db}&precision=ms", data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


T0 = 1_768_478_400_000  # 2026-01-15 12:00 UTC


def R(channel: str, ts: int, value: float, device: str = "hovedmaaler", role: str = "grid", site: str = "soro-raadhus"):
    return Reading(site, device, channel, role, ts, value)


# -- schema and line protocol ------------------------------------------------------------------
def test_every_channel_of_the_vocabulary_has_exactly_one_measurement():
    assert set(MEASUREMENT_OF) == set(CHANNELS)
    all_listed = [c for chs in MEASUREMENT_CHANNELS.values() for c in chs]
    assert len(all_listed) == len(set(all_listed))


def test_line_protocol_equals_influxdb_client_point_serialisation():
    from influxdb_client import Point, WritePrecision

    for value in (1500.0, -250.5, 0.1 + 0.2, 1e-7, 123456789.123, 3.0):
        ours = line_for("electricity", "soro-raadhus", "hovedmaaler", "grid", {"power_w": value}, T0)
        lib = (Point("electricity").tag("site", "soro-raadhus").tag("device", "hovedmaaler").tag("role", "grid")
               .field("power_w", float(value)).time(T0, WritePrecision.MS).to_line_protocol())
        assert ours == lib
    two = line_for("electricity", "s", "d", "pv", {"pv_power_w": 2.0, "pv_energy_wh": 7.5}, T0)
    lib = (Point("electricity").tag("site", "s").tag("device", "d").tag("role", "pv").field("pv_power_w", 2.0)
           .field("pv_energy_wh", 7.5).time(T0, WritePrecision.MS).to_line_protocol())
    assert two == lib
    # the library silently drops a NaN field (it would store nothing, not even an error): we refuse instead
    store_check = InfluxStore.__new__(InfluxStore)
    store_check._valid_ids = set()
    assert "finite" in store_check._check(R("power_w", T0, float("nan")))


def test_channels_of_one_device_and_instant_share_one_point_with_ms_timestamps(influxd, influx_settings):
    store = InfluxStore(influx_settings)
    try:  # numpy and int values (e.g. from a copy or an import) are written as floats too
        assert store.write([R("power_w", T0, np.float64(1200.0)), R("energy_import_wh", T0, 5000.25),
                            R("outdoor_temp_c", T0 + 1, -3.5, device="vejr", role="weather")]) == []
        assert store.write([R("power_w", T0, 1200)]) == []
        pts = raw_points(influxd, influx_settings.database)
        assert pts == [{"time": T0, "site": "soro-raadhus", "device": "hovedmaaler", "role": "grid",
                        "power_w": 1200.0, "energy_import_wh": 5000.25}]
        w = raw_points(influxd, influx_settings.database, "weather")
        assert w == [{"time": T0 + 1, "site": "soro-raadhus", "device": "vejr", "role": "weather",
                      "outdoor_temp_c": -3.5}]
    finally:
        store.close()


def test_same_results_as_the_embedded_store_on_random_data(influx_settings, tmp_path):
    """Not hand-made numbers: 3 days of jittery readings with holes, compared window by window."""
    rng = np.random.default_rng(7)
    start = datetime(2026, 3, 28, tzinfo=UTC)  # across the spring DST change
    ts = np.cumsum(rng.integers(5_000, 400_000, size=3000)) + int(start.timestamp() * 1000)
    ts = ts[rng.random(len(ts)) > 0.1]
    power = rng.normal(2000, 800, len(ts))
    counter = np.cumsum(rng.random(len(ts)) * 50)
    counter[len(counter) // 2:] -= counter[len(counter) // 2] - 10  # a meter swap: reset
    readings = [R("power_w", int(t), float(p)) for t, p in zip(ts, power, strict=True)]
    readings += [R("energy_import_wh", int(t), float(c)) for t, c in zip(ts, counter, strict=True)]
    influx, lite = InfluxStore(influx_settings), SqliteStore(tmp_path / "s.db")
    try:
        assert influx.write(readings) == [] and lite.write(readings) == []
        p, e = SeriesKey("soro-raadhus", "hovedmaaler", "power_w"), SeriesKey("soro-raadhus", "hovedmaaler",
                                                                             "energy_import_wh")
        end = start + timedelta(days=3)
        a, b = influx.read(p, start, end), lite.read(p, start, end)
        pd.testing.assert_series_equal(a, b)
        for window in ("1min", "15min", "1h", "day"):
            pd.testing.assert_frame_equal(influx.aggregates(p, start, end, window),
                                          lite.aggregates(p, start, end, window), check_exact=False, rtol=1e-12)
        ei, el = influx.energy(e, start, end, "1h"), lite.energy(e, start, end, "1h")
        pd.testing.assert_frame_equal(ei.windows, el.windows, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(ei.resets, el.resets)
        pd.testing.assert_frame_equal(ei.gaps, el.gaps)
        pd.testing.assert_frame_equal(influx.latest(), lite.latest())
        pd.testing.assert_frame_equal(influx.series(), lite.series())
    finally:
        influx.close()
        lite.close()


# -- faults -------------------------------------------------------------------------------------
def test_string_where_a_float_went_before_goes_to_dead_letters_and_the_queue_moves(influxd, influx_settings,
                                                                                   tmp_path):
    db = influx_settings.database
    store = InfluxStore(influx_settings)  # creates the database
    # Another tool wrote a string into power_w of this measurement (same shard: same week).
    assert post_line_protocol(influxd.url, db, f'electricity,device=x,role=grid,site=other power_w="n/a" {T0}') == 204
    spool = Spool(tmp_path / "spool.db", synchronous="NORMAL")
    good = [R("energy_import_wh", T0 + i * 60_000, 100.0 + i) for i in range(50)]
    bad = R("power_w", T0 + 7 * 60_000, 1234.0)
    spool.put([*good[:20], bad, *good[20:]], source="test")
    writer = SpoolWriter(spool, store, batch_size=1000)
    try:
        assert asyncio.run(writer.drain_once()) == 51
        assert spool.backlog() == 0  # the queue moved on
        dead = spool.dead_letters()
        assert len(dead) == 1 and dead[0]["subject"] == "soro-raadhus/hovedmaaler/power_w"
        assert "field type conflict" in dead[0]["reason"] and "400" in dead[0]["reason"]
        # the energy reading on the same line as the refused power reading was kept
        ts, v = store.read_raw_ms(SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh"), 0, 2**62)
        assert list(ts) == [r.ts_ms for r in good] and list(v) == [r.value for r in good]
    finally:
        writer.close()
        store.close()
        spool.close()


def test_wrong_password_is_a_clear_error_and_nothing_leaves_the_spool(influxd_auth, tmp_path, caplog):
    settings = InfluxSettings(url=influxd_auth.url, mode="v1", database="secured", username=WRITER[0],
                              password="wrong-password-123", timeout_s=5)
    assert "wrong-password-123" not in repr(settings) and "wrong-password-123" not in str(settings.model_dump())
    store = InfluxStore(settings)
    spool = Spool(tmp_path / "spool.db", synchronous="NORMAL")
    readings = [R("power_w", T0 + i * 1000, float(i)) for i in range(10)]
    spool.put(readings, source="test")
    writer = SpoolWriter(spool, store, batch_size=1000)
    try:
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(StoreError) as err:
                asyncio.run(writer.drain_once())
            msg = str(err.value)
            assert "authentication failed" in msg and "401" in msg and "'energimon'" in msg and "password" in msg
            health = store.ping()
            assert not health.reachable and "authentication failed" in health.detail
        assert spool.backlog() == 10 and spool.dead_letters() == []  # nothing lost, nothing dead-lettered
        assert "wrong-password-123" not in caplog.text + msg + health.detail
        # the operator fixes the password: the same spool drains
        store.close()
        writer.store = store = InfluxStore(settings.model_copy(update={"password": SecretStr(WRITER[1])}))
        assert store.ping().reachable
        assert asyncio.run(writer.drain_once()) == 10 and spool.backlog() == 0
        got = influxd_auth.query("SELECT count(power_w) FROM electricity", db="secured", auth=ADMIN)
        assert got["results"][0]["series"][0]["values"][0][1] == 10
    finally:
        writer.close()
        store.close()
        spool.close()


def test_missing_database_and_unreachable_server_raise_store_error_naming_the_cause(influxd):
    store = InfluxStore(InfluxSettings(url=influxd.url, mode="v1", database="does_not_exist", timeout_s=2))
    try:
        with pytest.raises(StoreError, match="404"):
            store.write([R("power_w", T0, 1.0)])
        assert not store.ping().reachable
    finally:
        store.close()
    from helpers.net import free_port

    # create_database with the server down: the store still opens (the daemon must start and spool)
    store = InfluxStore(InfluxSettings(url=f"http://127.0.0.1:{free_port()}", mode="v1", database="x",
                                       timeout_s=2, create_database=True))
    try:
        with pytest.raises(StoreError, match="unreachable"):
            store.write([R("power_w", T0, 1.0)])
        health = store.ping()
        assert not health.reachable and "unreachable" in health.detail
    finally:
        store.close()


def test_ping_reports_server_version_and_mode(influx_settings):
    store = InfluxStore(influx_settings)
    try:
        assert store.version().startswith("1.6")
        h = store.ping()
        assert h.reachable and "mode v1" in h.detail and influx_settings.database in h.detail
    finally:
        store.close()


# -- the v2 write path, against a real /api/v2/write peer ------------------------------------------
def test_v2_mode_posts_line_protocol_that_a_real_api_v2_write_endpoint_stores(victoria):
    """victoria-metrics is not InfluxDB, but it implements /api/v2/write for real and shows what it stored."""
    import json
    import urllib.parse
    import urllib.request

    settings = InfluxSettings(url=victoria.url, mode="v2", token="t0ken-s3cret", org="soro", bucket="energi")
    store = InfluxStore(settings)
    readings = [R("power_w", T0 + i * 1000, 1000.0 + i) for i in range(5)]
    readings += [R("pv_power_w", T0, 321.5, device="inverter-1", role="pv")]
    try:
        assert store.write(readings) == []
    finally:
        store.close()
    query = urllib.parse.urlencode({"match[]": '{__name__=~"electricity_.*"}'})
    rows: list[dict] = []

    def exported() -> bool:
        urllib.request.urlopen(f"{victoria.url}/internal/force_flush", timeout=5).read()
        with urllib.request.urlopen(f"{victoria.url}/api/v1/export?{query}", timeout=5) as resp:
            rows[:] = [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]
        return sum(len(r["values"]) for r in rows) == 6

    wait_for(exported, 10, lambda: f"6 points exported by victoria-metrics, got {rows}", 0.2)
    by_name = {(r["metric"]["__name__"], r["metric"]["device"]): r for r in rows}
    power = by_name[("electricity_power_w", "hovedmaaler")]
    assert power["metric"]["site"] == "soro-raadhus" and power["metric"]["role"] == "grid"
    assert power["timestamps"] == [T0 + i * 1000 for i in range(5)]  # ms precision survived
    assert power["values"] == [1000.0 + i for i in range(5)]
    pv = by_name[("electricity_pv_power_w", "inverter-1")]
    assert pv["metric"]["role"] == "pv" and pv["values"] == [321.5] and pv["timestamps"] == [T0]


# -- settings -----------------------------------------------------------------------------------
def test_settings_name_what_each_mode_needs_and_hide_secrets(tmp_path):
    with pytest.raises(ValueError, match="'bucket', 'org', 'token'"):
        InfluxSettings(mode="v2")
    with pytest.raises(ValueError, match="needs 'database'"):
        InfluxSettings(mode="v1")
    tok = tmp_path / "token"
    tok.write_text("abc-secret-token\n")
    s = InfluxSettings(mode="v2", token_file=tok, org="o", bucket="b")
    assert s.token.get_secret_value() == "abc-secret-token"
    assert "abc-secret-token" not in repr(s) + s.model_dump_json() + s.describe()


def test_config_with_kind_influxdb_needs_the_table():
    from energimon.config.settings import ConfigError, settings_from_dict

    with pytest.raises(ConfigError) as err:
        settings_from_dict({"store": {"kind": "influxdb"}})
    assert "store.influxdb: required when store.kind = 'influxdb'" in str(err.value)
    s = settings_from_dict({"store": {"kind": "influxdb", "influxdb": {
        "url": "http://127.0.0.1:8086", "mode": "v1", "database": "energimon"}}})
    assert s.store.influxdb.read_database == "energimon"
    with pytest.raises(ConfigError) as err:
        settings_from_dict({"store": {"kind": "influxdb", "influxdb": {"mode": "v2", "token": "sekret-xyz"}}})
    assert "store.influxdb" in str(err.value) and "sekret-xyz" not in str(err.value)


def test_v2_mode_against_influxdb_1_6_is_a_404_that_points_at_the_mode(influxd, influx_settings):
    """1.6.7 has no /api/v2/write (influxdb-client's 1.8 compatibility path): the reason v1 mode exists."""
    InfluxStore(influx_settings).close()  # creates the database
    store = InfluxStore(InfluxSettings(url=influxd.url, mode="v2", token="x", org="o",
                                       bucket=influx_settings.database))
    try:
        with pytest.raises(StoreError) as err:
            store.write([R("power_w", T0, 1.0)])
        assert "404" in str(err.value) and "mode" in str(err.value)
    finally:
        store.close()
    assert raw_points(influxd, influx_settings.database) == []


def test_reads_longer_than_one_response_chunk_come_back_whole_and_in_order(influx_settings):
    """/query answers in chunks of 10,000 rows: a raw read of 25,000 readings spans three of them."""
    store = InfluxStore(influx_settings)
    n = 25_000
    try:
        readings = [R("power_w", T0 + i * 10_000, float(i % 977)) for i in range(n)]
        for i in range(0, n, 5000):
            assert store.write(readings[i:i + 5000]) == []
        ts, v = store.read_raw_ms(SeriesKey("soro-raadhus", "hovedmaaler", "power_w"), 0, 2**62)
        assert len(ts) == n
        assert np.array_equal(ts, np.array([r.ts_ms for r in readings]))
        assert np.array_equal(v, np.array([r.value for r in readings]))
        # 1-minute partials over the same range: 25,000 / 6 buckets, also more than one chunk
        p = store.partials_ms(SeriesKey("soro-raadhus", "hovedmaaler", "power_w"), T0, T0 + n * 10_000, 60)
        assert int(p["count"].sum()) == n and len(p) == -(-n // 6)
    finally:
        store.close()


def test_a_spool_batch_is_written_as_the_same_points_and_refusals_as_a_list_of_readings(influxd):
    """InfluxStore.write of the spool's rows (lines_of_rows, no Reading per row) against write of the same
    readings as a list: the same points stored, the same readings refused with the same reasons."""
    from store_contract import spool_rows

    t0 = 1_767_225_600_000
    good = [Reading("soro-raadhus", f"m{d}", ch, "grid", t0 + k * 60_000, 1000.0 * d + k + i / 8)
            for k in range(50) for d in range(3) for i, ch in enumerate(("power_w", "energy_import_wh", "voltage_v"))]
    good.append(Reading("soro-raadhus", "m0", "power_w", "grid", t0, 7.5))  # later duplicate of the first: wins
    bad = [Reading("soro-raadhus", "Bad Id", "power_w", "grid", t0, 1.0),
           Reading("soro-raadhus", "m0", "power_w", "grid", t0 + 1, float("nan"))]
    results = {}
    for how, batch in (("rows", spool_rows(good)), ("list", list(good)), ("rows-bad", spool_rows(good + bad)),
                       ("list-bad", good + bad)):
        db = unique_db(how.replace("-", "_"))
        store = InfluxStore(InfluxSettings(url=influxd.url, mode="v1", database=db, create_database=True))
        rejected = store.write(batch)
        pts = sorted((p["device"], p["time"], k, v) for p in raw_points(influxd, db) for k, v in p.items()
                     if k in ("power_w", "energy_import_wh", "voltage_v"))
        results[how] = (pts, sorted((str(r.reading.key), r.reason) for r in rejected))
        store.close()
    assert results["rows"] == results["list"] and results["rows"][1] == []
    m0_power = [v for device, _, k, v in results["rows"][0] if device == "m0" and k == "power_w"]
    assert len(results["rows"][0]) == 450 and 7.5 in m0_power and 0.0 not in m0_power  # the later one won
    assert results["rows-bad"] == results["list-bad"] and len(results["rows-bad"][1]) == 2
    assert results["rows-bad"][0] == results["rows"][0]


def test_a_spool_batch_built_as_one_text_stores_each_value_at_its_device_field_and_time(influxd, influx_settings,
                                                                                      tmp_path):
    """The spool's batch written as one text built from its columns: 3 meters × 4 channels × 30 minutes in poll
    order and a packed page of history, every value distinct, read back from influxd — a value, time, field or
    device given to the wrong reading shows.  One reading the server refuses (another tool wrote a string into
    ``frequency_hz``) is found among them by its lines, built only then: exactly that one is refused, its
    neighbours on the same line stored."""
    from energimon.model import RevisableReading
    from energimon.store.spool import SeriesReadings

    db = influx_settings.database
    store = InfluxStore(influx_settings)  # creates the database
    other = f'electricity,device=x,role=grid,site=other frequency_hz="?" {T0}'  # a string: the field's type
    assert post_line_protocol(influxd.url, db, other) == 204
    chans = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v")
    fleet = [R(ch, T0 + k * 60_000, 1000.0 * d + 10 * k + i + 0.125, device=f"m{d}")
             for k in range(30) for d in range(3) for i, ch in enumerate(chans)]
    bad = R("frequency_hz", T0 + 3 * 60_000, 50.0, device="m1")
    page = SeriesReadings(RevisableReading, "soro-raadhus", "m9", "energy_import_wh", "grid",
                          [T0 - 86_400_000 + i * 900_000 for i in range(40)], [5e5 + i / 4 for i in range(40)])
    spool = Spool(tmp_path / "spool.db", synchronous="NORMAL")
    spool.put(fleet[:40], "test")
    spool.put(page, "test")
    spool.put([bad, *fleet[40:]], "test")
    batch = spool.take(10_000)
    assert batch is not None and batch.readings.packs
    (refused,) = store.write(batch.readings)
    assert refused.reading == bad and "field type conflict" in refused.reason
    got = {(p["device"], k, p["time"]): v for p in raw_points(influxd, db) for k, v in p.items()
           if k in (*chans, "frequency_hz") and p["device"] != "x"}
    want = {(r.device, r.channel, r.ts_ms): r.value for r in fleet + list(page)}
    assert got == want
    spool.close()
    store.close()
