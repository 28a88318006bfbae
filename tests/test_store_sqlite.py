"""The embedded SQLite store: the shared store contract plus what is particular to SQLite."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest
from store_contract import GRID, IMPORT, PV, SpoolRowsStore, StoreContract, local, rd, utc

import energimon.store.sqlite as sqlite_mod
from energimon.model import SeriesKey
from energimon.store.base import StoreError, partials_from_raw
from energimon.store.sqlite import SqliteStore
from energimon.store.windows import to_ms


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SqliteStore(tmp_path / "s.db")
        yield s
        s.close()


class TestSqliteStoreFromSpoolRows(StoreContract):
    """The contract on the fast path the spool writer takes (a batch as the spool's rows, no Reading objects)."""

    @pytest.fixture
    def store(self, tmp_path):
        s = SqliteStore(tmp_path / "s.db")
        yield SpoolRowsStore(s)
        s.close()


class TestSqliteStoreFromPackedSpoolRows(StoreContract):
    """The contract on the spool's packed rows (a live source's columns, ``energimon.store.spool.PACK_MAX``)."""

    @pytest.fixture
    def store(self, tmp_path):
        s = SqliteStore(tmp_path / "s.db")
        yield SpoolRowsStore(s, packed=True)
        s.close()


class CompactingStore(SqliteStore):
    """Compacts every series-day right after each write: the contract then runs on chunks plus rows written later."""

    def write(self, readings):
        rejected = super().write(readings)
        while self.maintain(now_ms=10**14):
            pass
        return rejected


class TestSqliteStoreCompacted(StoreContract):
    @pytest.fixture
    def store(self, tmp_path, monkeypatch):
        monkeypatch.setattr(sqlite_mod, "MIN_CHUNK", 1)  # the contract's days hold a few readings each
        s = CompactingStore(tmp_path / "s.db", compact_after_days=0)
        yield s
        assert s._db.execute("SELECT count(*) FROM points").fetchone()[0] == 0  # it really ran on chunks
        s.close()


def test_data_survive_reopening(tmp_path):
    path = tmp_path / "s.db"
    s = SqliteStore(path)
    s.write([rd(GRID, utc(2026, 1, 15, 12), 1200.0), rd(PV, utc(2026, 1, 15, 12), 300.0)])
    s.close()
    again = SqliteStore(path)
    assert list(again.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [1200.0]
    assert list(again.series()["role"]) == ["grid", "pv"]  # ordered by site, device, channel
    # a rewrite after reopening still overwrites (no duplicate series, no duplicate point)
    again.write([rd(GRID, utc(2026, 1, 15, 12), 1300.0)])
    assert list(again.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [1300.0]
    assert len(again.series()) == 2
    again.close()


def test_wal_mode_lets_a_read_only_reader_see_the_writers_data(tmp_path):
    path = tmp_path / "s.db"
    writer = SqliteStore(path)
    writer.write([rd(GRID, utc(2026, 1, 15, 12), 1.0)])
    assert writer._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reader = SqliteStore(path, readonly=True)
    assert list(reader.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [1.0]
    writer.write([rd(GRID, utc(2026, 1, 15, 13), 2.0)])  # written while the reader is open
    assert list(reader.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [1.0, 2.0]
    with pytest.raises(sqlite3.OperationalError):
        reader._db.execute("DELETE FROM points")  # read-only really is read-only
    reader.close()
    writer.close()


def test_read_only_path_with_uri_characters(tmp_path):
    path = tmp_path / "energi data #1 ?50%" / "s.db"
    writer = SqliteStore(path)
    writer.write([rd(GRID, utc(2026, 1, 15, 12), 5.0)])
    reader = SqliteStore(path, readonly=True)
    assert list(reader.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [5.0]
    reader.close()
    writer.close()


def test_read_only_store_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        SqliteStore(tmp_path / "missing.db", readonly=True)


def test_reclassified_device_updates_the_role(tmp_path):
    s = SqliteStore(tmp_path / "s.db")
    s.write([rd(IMPORT, utc(2026, 1, 15, 12), 10.0, role="grid")])
    # the config now says this meter is a sub-meter; the same store object (its id cache is warm)
    s.write([rd(IMPORT, utc(2026, 1, 15, 13), 20.0, role="submeter")])
    assert list(s.series()["role"]) == ["submeter"]
    assert list(s.latest()["role"]) == ["submeter"]
    s.close()


def test_failed_batch_rolls_back_and_the_store_keeps_working(tmp_path, monkeypatch):
    s = SqliteStore(tmp_path / "s.db")

    class Boom(Exception):
        pass

    class Exploding:
        """A reading whose value blows up while the batch is being built (after its series was created)."""

        site, device, channel, role = "soro-raadhus", "new-meter", "power_w", "grid"
        ts_ms = to_ms(utc(2026, 1, 15))

        @property
        def value(self):
            raise Boom

    monkeypatch.setattr(sqlite_mod, "validate_reading", lambda r: None)  # reach the transaction
    with pytest.raises(Boom):
        s.write([rd(GRID, utc(2026, 1, 15, 12), 1.0), Exploding()])
    monkeypatch.undo()
    assert len(s.series()) == 0  # both series were created inside the rolled-back transaction
    assert s.write([rd(GRID, utc(2026, 1, 15, 12), 1.0)]) == []
    assert list(s.series()["device"]) == ["hovedmaaler"]
    assert list(s.read(GRID, utc(2026, 1, 15), utc(2026, 1, 16)).to_numpy()) == [1.0]
    s.close()


def test_sql_partials_equal_partials_computed_from_raw_readings(tmp_path):
    """The GROUP BY push-down must agree with the generic implementation every store inherits."""
    s = SqliteStore(tmp_path / "s.db")
    rng = np.random.default_rng(7)
    t0 = to_ms(utc(2026, 3, 28, 20))
    ts = np.unique(t0 + rng.integers(0, 30 * 3600 * 1000, 500))
    s.write([rd(GRID, int(t), float(v)) for t, v in zip(ts, rng.normal(1000, 300, len(ts)), strict=True)])
    start, end = t0 + 1800_000, t0 + 24 * 3600_000
    for bucket_s in (900, 3600):
        sql = s.partials_ms(GRID, start, end, bucket_s)
        raw_ts, raw_v = s.read_raw_ms(GRID, start, end)
        generic = partials_from_raw(raw_ts, raw_v, bucket_s)
        assert list(sql.index) == list(generic.index)
        for col in ("count", "sum", "min", "max", "last"):
            np.testing.assert_allclose(sql[col].to_numpy(float), generic[col].to_numpy(float), rtol=1e-12)
    s.close()


# -- old days in chunks (SqliteStore.maintain) ------------------------------------------------------
def test_chunk_encoding_gives_back_exactly_what_it_was_given():
    from energimon.store import chunks

    ts = np.array([1, 2, 10_002, 10_003 + 2**33, 10_004 + 2**33], np.int64) + 1_767_225_600_000  # a gap > 2**32 ms
    v = np.array([0.1, -0.0, 1e308, 5e-324, 230.00000000000003])
    t2, v2 = chunks.decode(chunks.encode(ts, v))
    assert t2.tolist() == ts.tolist() and v2.view(np.uint64).tolist() == v.view(np.uint64).tolist()
    one = chunks.decode(chunks.encode(ts[:1], v[:1]))
    assert one[0].tolist() == ts[:1].tolist() and one[1].tolist() == [0.1]
    with pytest.raises(ValueError, match="increasing"):
        chunks.encode(ts[::-1], v)
    # a day of 10-second readings of a float32 meter register: a few bytes a reading, not ~25 as rows
    rng = np.random.default_rng(1)
    day = 1_767_225_600_000 + np.arange(8640, dtype=np.int64) * 10_000 + rng.integers(0, 40, 8640)
    power = (8000 + rng.normal(0, 800, 8640)).astype(np.float32).astype(np.float64)
    assert len(chunks.encode(day, power)) / 8640 < 6


def test_maintenance_compacts_old_days_and_reads_stay_the_same(tmp_path):
    s = SqliteStore(tmp_path / "s.db")  # compact_after_days = 2
    t0 = to_ms(utc(2026, 1, 10))
    data = [rd(GRID, t0 + i * 60_000, 1000.0 + i % 97) for i in range(5 * 1440)]  # 10-14 January, every minute
    s.write(data)
    before = s.read_raw_ms(GRID, 0, 2**62)
    agg = s.aggregate(GRID, utc(2026, 1, 10), utc(2026, 1, 15), "15min", "mean")
    assert s.maintain(now_ms=to_ms(utc(2026, 1, 15, 6))) is False  # days ending by 13 Jan 00:00 (2 days before)
    days = [d for (d,) in s._db.execute("SELECT day_ms FROM chunks ORDER BY day_ms")]
    assert days == [to_ms(utc(2026, 1, d)) for d in (10, 11, 12)]
    assert s._db.execute("SELECT count(*) FROM points").fetchone()[0] == 2 * 1440  # 13 and 14 January: rows
    after = s.read_raw_ms(GRID, 0, 2**62)
    assert after[0].tolist() == before[0].tolist() and after[1].tolist() == before[1].tolist()
    pd.testing.assert_series_equal(s.aggregate(GRID, utc(2026, 1, 10), utc(2026, 1, 15), "15min", "mean"), agg)
    # a later write into a compacted day (an import, a redelivery) wins on reads and is merged next time
    s.write([rd(GRID, t0 + 60_000, 5.0), rd(GRID, t0 + 30_000, 7.0)])
    ts, v = s.read_raw_ms(GRID, t0, t0 + 120_001)
    assert ts.tolist() == [t0, t0 + 30_000, t0 + 60_000, t0 + 120_000] and v.tolist() == [1000.0, 7.0, 5.0, 1002.0]
    assert s.maintain(now_ms=to_ms(utc(2026, 1, 15, 6))) is False
    assert s._db.execute("SELECT count(*) FROM points WHERE ts_ms < ?", (to_ms(utc(2026, 1, 13)),)).fetchone() == (0,)
    ts2, v2 = s.read_raw_ms(GRID, t0, t0 + 120_001)
    assert ts2.tolist() == ts.tolist() and v2.tolist() == v.tolist()
    latest = s.latest()
    assert latest["value"].tolist() == [1000.0 + (5 * 1440 - 1) % 97]
    s.close()


def test_a_store_file_of_the_earlier_layout_keeps_all_its_data(tmp_path):
    """A store written before chunks existed (series + points only): read-only it opens as it is; opened by the
    daemon it gets the chunks table, every reading stays readable, and maintenance compacts its old days."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""PRAGMA journal_mode=WAL;
        CREATE TABLE series (id INTEGER PRIMARY KEY, site TEXT NOT NULL, device TEXT NOT NULL, channel TEXT NOT NULL,
                             role TEXT NOT NULL, UNIQUE (site, device, channel));
        CREATE TABLE points (series_id INTEGER NOT NULL REFERENCES series(id), ts_ms INTEGER NOT NULL,
                             value REAL NOT NULL, PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID;
        INSERT INTO series VALUES (1, 'soro-raadhus', 'hovedmaaler', 'power_w', 'grid'),
                                  (2, 'soro-raadhus', 'hovedmaaler', 'energy_import_wh', 'grid');""")
    t0 = to_ms(utc(2025, 6, 1))
    rows = [(sid, t0 + i * 600_000, float(i) if sid == 2 else 500.0 + i % 13) for sid in (1, 2) for i in range(4000)]
    db.executemany("INSERT INTO points VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()
    expected = {sid: [(t, v) for s_, t, v in rows if s_ == sid] for sid in (1, 2)}

    def read_all(store) -> dict:
        out = {}
        for sid, key in ((1, GRID), (2, IMPORT)):
            ts, v = store.read_raw_ms(key, 0, 2**62)
            out[sid] = list(zip(ts.tolist(), v.tolist(), strict=True))
        return out

    reader = SqliteStore(path, readonly=True)
    assert read_all(reader) == expected and len(reader.latest()) == 2
    reader.close()
    store = SqliteStore(path)
    assert read_all(store) == expected
    while store.maintain(now_ms=t0 + 60 * 86_400_000):
        pass
    assert store._db.execute("SELECT count(*) FROM points").fetchone()[0] < 200  # the last day, sparse: rows
    assert read_all(store) == expected
    # one local day of a counter rising 1 Wh every 10 minutes: 144 Wh
    day = store.energy(IMPORT, local(2025, 6, 2), local(2025, 6, 3), "day")
    assert day.total_wh == pytest.approx(144.0)
    store.close()
    reader = SqliteStore(path, readonly=True)  # another process reading the compacted file
    assert read_all(reader) == expected
    reader.close()


def test_a_spool_batch_written_column_wise_lands_each_value_at_its_series_and_time(tmp_path, monkeypatch):
    """The spool's batch taken column by column (no check per reading when every reading passes): 40 series of a
    fleet in poll order plus a packed page of history, each value distinct, read back with plain sqlite3 — a
    value, time or series given to the wrong reading shows.  A negative ``power_w`` (export) passes there; a
    negative counter in the next batch sends it the per-reading way, which refuses just that reading."""
    from energimon.model import Reading, RevisableReading
    from energimon.store.spool import SeriesReadings, Spool

    base = to_ms(utc(2026, 1, 5))
    fleet = [Reading("soro", f"meter-{d:02d}", ch, "grid", base + minute * 60_000,
                     (-1.0 if ch == "power_w" else 1.0) * (1000.0 * d + minute + (0.25 if ch == "power_w" else 0.5)))
             for minute in range(25) for d in range(20) for ch in ("power_w", "energy_import_wh")]
    page = SeriesReadings(RevisableReading, "soro", "datahub", "energy_import_wh", "grid",
                          [base - 86_400_000 + i * 900_000 for i in range(96)], [77_000.0 + i / 8 for i in range(96)])
    spool = Spool(tmp_path / "spool.db")
    spool.put(fleet[:300], "test")
    spool.put(page, "test")
    spool.put(fleet[300:], "test")
    store = SqliteStore(tmp_path / "s.db")

    def no_check_per_reading(r):
        raise AssertionError(f"checked one by one: {r}")

    monkeypatch.setattr(sqlite_mod, "validate_reading", no_check_per_reading)
    batch = spool.take(10_000)
    assert batch is not None and batch.readings.packs and len(batch) == len(fleet) + 96
    assert store.write(batch.readings) == []
    spool.ack(batch)
    monkeypatch.undo()
    db = sqlite3.connect(tmp_path / "s.db")
    got = db.execute("SELECT s.site, s.device, s.channel, s.role, p.ts_ms, p.value "
                     "FROM points p JOIN series s ON s.id = p.series_id").fetchall()
    db.close()
    want = [(r.site, r.device, r.channel, r.role, r.ts_ms, r.value) for r in fleet + list(page)]
    assert sorted(got) == sorted(want) and len(got) == len(want)

    bad = Reading("soro", "meter-03", "energy_import_wh", "grid", base + 30 * 60_000, -5.0)
    later = [Reading("soro", "meter-03", "power_w", "grid", base + 30 * 60_000, -3.5), bad,
             Reading("soro", "meter-04", "energy_import_wh", "grid", base + 30 * 60_000, 4030.5)]
    spool._db.execute("INSERT INTO queue (stream, ts_ms, value) VALUES (?, ?, ?)",  # past put()'s own check
                      (spool._stream_ids[("soro", "meter-03", "energy_import_wh", "grid")], bad.ts_ms, bad.value))
    spool.put(later[2:], "test")
    spool.put(later[:1], "test")
    batch = spool.take(10_000)
    (refused,) = store.write(batch.readings)
    assert refused.reading == bad and "minimum" in refused.reason
    ts, v = store.read_raw_ms(SeriesKey("soro", "meter-03", "power_w"), base + 30 * 60_000, base + 31 * 60_000)
    assert ts.tolist() == [base + 30 * 60_000] and v.tolist() == [-3.5]
    ts, v = store.read_raw_ms(SeriesKey("soro", "meter-04", "energy_import_wh"), base + 30 * 60_000,
                              base + 31 * 60_000)
    assert v.tolist() == [4030.5]
    spool.close()
    store.close()
