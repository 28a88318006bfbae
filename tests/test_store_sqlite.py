"""The embedded SQLite store: the shared store contract plus what is particular to SQLite."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from store_contract import GRID, IMPORT, PV, StoreContract, rd, utc

import energimon.store.sqlite as sqlite_mod
from energimon.store.base import StoreError, partials_from_raw
from energimon.store.sqlite import SqliteStore
from energimon.store.windows import to_ms


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SqliteStore(tmp_path / "s.db")
        yield s
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
