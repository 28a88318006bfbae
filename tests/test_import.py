"""`energimon import`: Eloverblik/DataHub exports and generic CSV into the real SQLite store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from energimon.app.cli import main
from energimon.collector.importer.parse import (
    ImportFormatError,
    LocalTimes,
    parse_eloverblik,
    parse_number,
    parse_time_local,
)
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
MP = "571313100000000001"
KEY = SeriesKey("soro-raadhus", "datahub", "energy_import_wh")
HEADER = "Målepunkt id;Fra dato;Til dato;Mængde;Måleenhed;Kvalitet;Type"

CONFIG = f"""
[store]
path = "store.db"
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56
[[datahub.metering_points]]
id = "{MP}"
site = "soro-raadhus"
device = "datahub"
"""


def hourly_export(first_local: dt.datetime, hours: int, kwh_of_hour) -> str:
    """Rows as Eloverblik writes them: local wall-clock times (the DST hour 02:00 appears twice in October)."""
    lines = [HEADER]
    t = first_local.astimezone(dt.UTC)
    for h in range(hours):
        a = t.astimezone(CPH)
        b = (t + dt.timedelta(hours=1)).astimezone(CPH)
        q = f"{kwh_of_hour(h):.3f}".replace(".", ",")
        lines.append(f"{MP};{a:%d-%m-%Y %H:%M:%S};{b:%d-%m-%Y %H:%M:%S};{q};KWH;Målt;Tidsserie")
        t += dt.timedelta(hours=1)
    return "\n".join(lines) + "\n"


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "energimon.toml"
    p.write_text(CONFIG, encoding="utf-8")
    return p


def _daily_kwh(tmp_path, start: dt.date, days: int) -> np.ndarray:
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    t0 = dt.datetime(start.year, start.month, start.day, tzinfo=CPH)
    res = store.energy(KEY, t0, t0 + dt.timedelta(days=days), "day")
    store.close()
    return res.windows["energy_wh"].to_numpy() / 1000.0


def test_eloverblik_import_across_autumn_dst_and_idempotent(tmp_path, cfg, capsys):
    # 2026-10-24 .. 2026-10-26 local: 24 + 25 + 24 = 73 hours, 1 kWh each -> days of 24, 25, 24 kWh
    text = hourly_export(dt.datetime(2026, 10, 24, tzinfo=CPH), 73, lambda h: 1.0)
    # the repeated hour: rows 01:00-02:00, 02:00-02:00 (CEST->CET) and 02:00-03:00 -> "02:00:00;" four times
    assert text.count("25-10-2026 02:00:00;") == 4
    f = tmp_path / "eloverblik.csv"
    f.write_text(text, encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 0
    assert "73 intervaller à 60 min" in capsys.readouterr().out
    assert _daily_kwh(tmp_path, dt.date(2026, 10, 24), 3) == pytest.approx([24.0, 25.0, 24.0])
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    before = store.read_raw_ms(KEY, 0, 2**62)
    store.close()
    # the same file again: exactly the same readings (no double counting)
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 0
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    after = store.read_raw_ms(KEY, 0, 2**62)
    store.close()
    assert len(after[0]) == len(before[0]) == 74
    assert np.array_equal(after[1], before[1])
    # the next file continues the counter: 27 Oct at 2 kWh per hour
    f2 = tmp_path / "next.csv"
    f2.write_text(hourly_export(dt.datetime(2026, 10, 27, tzinfo=CPH), 24, lambda h: 2.0), encoding="utf-8")
    assert main(["import", "eloverblik", str(f2), "-c", str(cfg)]) == 0
    assert _daily_kwh(tmp_path, dt.date(2026, 10, 24), 4) == pytest.approx([24.0, 25.0, 24.0, 48.0])


def test_quarter_hour_export(tmp_path, cfg):
    lines = [HEADER]
    t = dt.datetime(2026, 3, 2, tzinfo=CPH)
    for q in range(96):
        a, b = t + dt.timedelta(minutes=15 * q), t + dt.timedelta(minutes=15 * (q + 1))
        lines.append(f"{MP};{a:%d-%m-%Y %H:%M:%S};{b:%d-%m-%Y %H:%M:%S};0,25;KWH;Målt;Tidsserie")
    f = tmp_path / "kvarter.csv"
    f.write_text("\n".join(lines), encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 0
    assert _daily_kwh(tmp_path, dt.date(2026, 3, 2), 1) == pytest.approx([24.0])  # 96 x 0.25


def test_bad_lines_are_named_and_nothing_is_written(tmp_path, cfg, capsys):
    text = hourly_export(dt.datetime(2026, 1, 5, tzinfo=CPH), 5, lambda h: 1.0).splitlines()
    text[2] = text[2].replace(";1,000;", ";1,2,3;")  # line 3: not a number
    text[4] = text[4].replace(MP, "571313100000000999")  # line 5: metering point not configured
    f = tmp_path / "bad.csv"
    f.write_text("\n".join(text), encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 65
    err = capsys.readouterr().err
    assert f"{f}:3: ikke et tal: '1,2,3'" in err
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    assert len(store.read_raw_ms(KEY, 0, 2**62)[0]) == 0
    store.close()
    f.write_text("\n".join([text[0], text[1], text[4]]), encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 65
    assert f"{f}:3: målepunkt 571313100000000999 står ikke i [[datahub.metering_points]]" in capsys.readouterr().err


def test_generic_time_value_csv_temperature(tmp_path, cfg):
    lines = ["tid;værdi"] + [f"2026-01-05 {h:02d}:00;{-2.5 + h * 0.25:.2f}".replace(".", ",") for h in range(24)]
    f = tmp_path / "temp.csv"
    f.write_text("\n".join(lines), encoding="utf-8")
    assert main(["import", "csv", str(f), "--series", "soro-raadhus/vejr/outdoor_temp_c", "--role", "weather",
                 "-c", str(cfg)]) == 0
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    from energimon.analytics.degree_days import daily_mean_temperature_c
    s = daily_mean_temperature_c(store, SeriesKey("soro-raadhus", "vejr", "outdoor_temp_c"),
                                 dt.datetime(2026, 1, 5, tzinfo=CPH), dt.datetime(2026, 1, 6, tzinfo=CPH))
    store.close()
    # mean of −2.5 + 0.25·h for h = 0..23 = −2.5 + 0.25·11.5 = 0.375
    assert s.iloc[0] == pytest.approx(0.375)


def test_generic_csv_interval_kwh_into_counter(tmp_path, cfg):
    lines = ["time,value"] + [f"2026-01-05T{h:02d}:00,{1.5}" for h in range(24)]
    f = tmp_path / "kwh.csv"
    f.write_text("\n".join(lines), encoding="utf-8")
    assert main(["import", "csv", str(f), "--series", "soro-raadhus/datahub/energy_import_wh", "--role", "grid",
                 "--interval-kwh", "-c", str(cfg)]) == 0
    assert _daily_kwh(tmp_path, dt.date(2026, 1, 5), 1) == pytest.approx([36.0])


def test_parsers():
    assert parse_number("1.234,5") == 1234.5 and parse_number("1234.5") == 1234.5 and parse_number("0,25") == 0.25
    with pytest.raises(ValueError, match="en manglende værdi er ikke nul"):
        parse_number("  ")
    # autumn DST: the first 02:00 is CEST (00:00 UTC), the second CET (01:00 UTC)
    times = LocalTimes()
    a = parse_time_local("25-10-2026 02:00:00", times, 2)
    b = parse_time_local("25-10-2026 02:00:00", times, 3)
    assert b - a == 3_600_000 and a == int(dt.datetime(2026, 10, 25, 0, tzinfo=dt.UTC).timestamp() * 1000)
    with pytest.raises(ValueError, match="findes ikke i dansk tid"):
        parse_time_local("29-03-2026 02:30:00")  # skipped by the spring DST change
    with pytest.raises(ImportFormatError, match="mangler kolonne"):
        parse_eloverblik("a;b;c\n1;2;3\n", "x.csv")
