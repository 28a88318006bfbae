"""`energimon status` and `energimon store copy` against a real influxd (v1 mode)."""

from __future__ import annotations

from conftest import unique_db
from helpers.net import free_port

from energimon.app.cli import main
from energimon.model import Reading, SeriesKey
from energimon.store.influx import InfluxStore
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def write_config(tmp_path, url: str, db: str, kind: str = "influxdb"):
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""
[store]
kind = "{kind}"
path = "store.db"
[store.influxdb]
url = "{url}"
mode = "v1"
database = "{db}"
create_database = true
timeout_s = 2
[spool]
path = "spool.db"
""", encoding="utf-8")
    return cfg


def test_status_reports_reachability_version_mode_and_spool_backlog(influxd, tmp_path, capsys):
    cfg = write_config(tmp_path, influxd.url, unique_db())
    spool = Spool(tmp_path / "spool.db", synchronous="NORMAL")
    spool.put([Reading("soro-raadhus", "hovedmaaler", "power_w", "grid", T0 + i, 1.0) for i in range(7)], "test")
    spool.close()
    assert main(["--lang", "en", "status", "--config", str(cfg)]) == 1  # the database does not exist yet
    out = capsys.readouterr().out
    assert "NOT usable" in out and "database not found" in out and "7 readings waiting" in out
    InfluxStore(load(cfg)).close()  # opening the store creates it (create_database = true), as the daemon does
    assert main(["--lang", "en", "status", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "influxdb: reachable" in out and "server version 1.6.7" in out and "mode v1" in out
    assert "7 readings waiting for the store" in out

    assert main(["check-config", str(cfg)]) == 0  # validation only: no network; names the InfluxDB store
    assert "lager InfluxDB http://127.0.0.1:" in capsys.readouterr().out

    down = write_config(tmp_path, f"http://127.0.0.1:{free_port()}", "x")
    assert main(["--lang", "en", "status", "--config", str(down)]) == 1
    assert "unreachable" in capsys.readouterr().out


def test_store_copy_moves_an_embedded_history_into_influxdb_idempotently(influxd, tmp_path, capsys):
    db = unique_db()
    cfg = write_config(tmp_path, influxd.url, db, kind="sqlite")
    lite = SqliteStore(tmp_path / "store.db")
    keys = [SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh"),
            SeriesKey("soro-raadhus", "pv1", "pv_power_w")]
    roles = {"hovedmaaler": "grid", "pv1": "pv"}
    # 100 days of hourly readings: several 30-day slices
    readings = [Reading(k.site, k.device, k.channel, roles[k.device], T0 + h * 3_600_000, float(h) + 0.25)
                for k in keys for h in range(2400)]
    lite.write(readings)
    lite.close()
    for _ in range(2):  # the second run overwrites the same points
        argv = ["store", "copy", "--from", "sqlite", "--to", "influx", "--config", str(cfg), "--batch", "700"]
        assert main(argv) == 0
        captured = capsys.readouterr()
        assert "kopierede 4.800 målinger fra 2 serier" in captured.out
        # not a terminal: one line per series copied
        assert "[2/2]" in captured.err and "målinger/s" in captured.err and "\r" not in captured.err
        doc = influxd.query("SELECT count(energy_import_wh), count(pv_power_w) FROM electricity", db=db)
        assert doc["results"][0]["series"][0]["values"][0][1:] == [2400, 2400]
    influx = InfluxStore(load(cfg))
    try:
        for k in keys:
            ts, v = influx.read_raw_ms(k, 0, 2**62)
            assert list(ts) == [T0 + h * 3_600_000 for h in range(2400)]
            assert list(v) == [float(h) + 0.25 for h in range(2400)]
        assert sorted(influx.series()["role"]) == ["grid", "pv"]
    finally:
        influx.close()
    # and back: InfluxDB -> a new embedded store gives the same history
    back = tmp_path / "back.db"
    assert main(["store", "copy", "--from", "influx", "--to", f"sqlite:{back}", "--config", str(cfg)]) == 0
    capsys.readouterr()
    lite = SqliteStore(back, readonly=True)
    try:
        for k in keys:
            ts, v = lite.read_raw_ms(k, 0, 2**62)
            assert list(ts) == [T0 + h * 3_600_000 for h in range(2400)]
            assert list(v) == [float(h) + 0.25 for h in range(2400)]
        assert sorted(lite.series()["role"]) == ["grid", "pv"]
    finally:
        lite.close()
    assert main(["store", "copy", "--from", "nonsense", "--to", "influx", "--config", str(cfg)]) == 64


def load(cfg):
    from energimon.config.settings import load_settings

    return load_settings(cfg).store.influxdb
