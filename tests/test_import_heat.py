"""`energimon import heat`: a district heating export (hourly energy, volume, forward and return temperatures)
into the real SQLite store — hand-computed counters, units from the header, strict refusals."""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import pytest

from energimon.app.cli import main
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
SITE = "soro-raadhus"
DEV = "fjernvarme-forsyning"
CONFIG = f"""
[store]
path = "store.db"
[sites.{SITE}]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56
"""

# Four hours as a utility's portal exports them: MWh and m³ with a decimal comma, forward/return in °C, and
# a cooling column (afkøling) that is derived from the two temperatures and not imported.
EXPORT = """Tid;Energi (MWh);Volumen (m³);Fremløb (°C);Returløb (°C);Afkøling (K)
01-12-2026 00:00;0,045;0,78;72,1;41,3;30,8
01-12-2026 01:00;0,050;0,86;72,0;40,9;31,1
01-12-2026 02:00;0,048;0,83;71,8;41,0;30,8
01-12-2026 03:00;0,052;0,90;71,9;41,2;30,7
"""


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "energimon.toml"
    p.write_text(CONFIG, encoding="utf-8")
    return p


def run(tmp_path, cfg, text: str, *flags: str, values: str = "consumption") -> int:
    f = tmp_path / "varme.csv"
    f.write_text(text, encoding="utf-8")
    return main(["import", "heat", str(f), "--site", SITE, "--device", DEV, "--values", values, "-c", str(cfg),
                 *flags])


def stored(tmp_path, channel: str) -> list[tuple[str, float]]:
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        ts, v = store.read_raw_ms(SeriesKey(SITE, DEV, channel), 0, 2**62)
    finally:
        store.close()
    return [(dt.datetime.fromtimestamp(t / 1000, CPH).strftime("%H:%M"), float(x)) for t, x in zip(ts, v,
                                                                                                   strict=True)]


def points(tmp_path) -> int:
    db = tmp_path / "store.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM points").fetchone()[0]


def test_hourly_consumption_becomes_counters_and_temperatures(tmp_path, cfg, capsys):
    assert run(tmp_path, cfg, EXPORT) == 0
    out = capsys.readouterr().out
    # 45 + 50 + 48 + 52 = 195 kWh; 0.78 + 0.86 + 0.83 + 0.90 = 3.37 m³
    assert f"-> {SITE}/{DEV}/heat_energy_wh: 4 timer, 195,000 kWh i alt, 5 tælleraflæsninger" in out
    assert f"-> {SITE}/{DEV}/volume_m3: 4 timer, 3,370 m³ i alt" in out
    assert "kolonner ikke importeret: Afkøling (K)" in out
    # the counter starts at 0 at the first hour's start and rises by each hour's MWh × 10⁶ Wh
    assert stored(tmp_path, "heat_energy_wh") == [("00:00", 0.0), ("01:00", 45_000.0), ("02:00", 95_000.0),
                                                  ("03:00", 143_000.0), ("04:00", 195_000.0)]
    vol = stored(tmp_path, "volume_m3")
    assert [t for t, _ in vol] == ["00:00", "01:00", "02:00", "03:00", "04:00"]
    assert [v for _, v in vol] == pytest.approx([0.0, 0.78, 1.64, 2.47, 3.37])
    assert stored(tmp_path, "supply_temp_c") == [("00:00", 72.1), ("01:00", 72.0), ("02:00", 71.8), ("03:00", 71.9)]
    assert stored(tmp_path, "return_temp_c")[0] == ("00:00", 41.3)
    # the store's counter semantics give the day's energy back: 195 kWh
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    try:
        day = store.energy(SeriesKey(SITE, DEV, "heat_energy_wh"), dt.datetime(2026, 12, 1, tzinfo=CPH),
                           dt.datetime(2026, 12, 2, tzinfo=CPH), "day")
    finally:
        store.close()
    assert day.windows["energy_wh"].iloc[0] == pytest.approx(195_000.0)
    # importing the same file again writes the same readings (idempotent)
    before = points(tmp_path)
    assert run(tmp_path, cfg, EXPORT) == 0
    assert points(tmp_path) == before and stored(tmp_path, "heat_energy_wh")[-1] == ("04:00", 195_000.0)


def test_gj_readings_with_decimal_points(tmp_path, cfg, capsys):
    # Meter readings (målerstande) in GJ: 1 GJ = 10⁹ J = 10⁹/3600 Wh; 0.162 GJ = 45 000 Wh exactly.
    text = ("Tidspunkt,Målerstand [GJ],Vand [m3],T1 frem,T2 retur\n"
            "2026-12-01 00:00,1000.000,5000.00,70.0,40.0\n"
            "2026-12-01 01:00,1000.162,5000.78,70.0,40.0\n")
    assert run(tmp_path, cfg, text, values="readings") == 0
    assert "2 målerstande" in capsys.readouterr().out
    (_, e0), (_, e1) = stored(tmp_path, "heat_energy_wh")
    assert e0 == pytest.approx(10**12 / 3600) and e1 - e0 == pytest.approx(45_000.0, abs=1e-3)
    assert [v for _, v in stored(tmp_path, "volume_m3")] == [5000.0, 5000.78]
    assert stored(tmp_path, "supply_temp_c") == [("00:00", 70.0), ("01:00", 70.0)]


def test_an_empty_cell_is_missing_not_zero(tmp_path, cfg, capsys):
    text = EXPORT.replace("01-12-2026 01:00;0,050;0,86;72,0", "01-12-2026 01:00;;0,86;")
    assert run(tmp_path, cfg, text) == 0
    out = capsys.readouterr().out
    assert "3 timer, 145,000 kWh i alt, 4 tælleraflæsninger; 1 time(r) uden værdi" in out
    # no reading at the unknown hour's end (01:00 is the known hour's end; none at 02:00): no hour reads as 0,
    # and the unknown hour's energy is not invented: 45 + 48 + 52 = 145 kWh are counted
    assert stored(tmp_path, "heat_energy_wh") == [("00:00", 0.0), ("01:00", 45_000.0), ("03:00", 93_000.0),
                                                  ("04:00", 145_000.0)]
    assert [t for t, _ in stored(tmp_path, "supply_temp_c")] == ["00:00", "02:00", "03:00"]  # 01:00 not stored
    assert len(stored(tmp_path, "volume_m3")) == 5  # its column was complete


@pytest.mark.parametrize(("text", "values", "expected"), [
    ("Tid;Energi;Volumen (m³)\n01-12-2026 00:00;0,045;0,78\n", "consumption",
     "kolonnen 'Energi' ligner energi, men nævner ingen enhed: skriv enheden i overskriften, fx Energi (MWh)"),
    ("Dag;Energi (MWh)\n01-12-2026 00:00;0,045\n", "consumption", "ingen tidskolonne"),
    # -0,048 MWh = -48 kWh
    (EXPORT.replace("0,048;0,83", "-0,048;0,83"), "consumption", "varme.csv:4: negativ energi -48 kWh"),
    (EXPORT.replace("0,048;0,83", "0,048;-0,83"), "consumption", "varme.csv:4: negativt volumen -0,83 m³"),
    (EXPORT.replace("72,0;40,9", "72,0;4O,9"), "consumption", "varme.csv:3: returløbstemperatur: ikke et tal"),
    ("Tid;Målerstand (kWh)\n01-12-2026 00:00;1000\n01-12-2026 01:00;999\n", "readings",
     "varme.csv:3: målerstanden for energi 999 kWh er lavere end 1.000 kWh på linje 2"),
    (EXPORT + "01-12-2026 03:00;0,052;0,90;71,9;41,2;30,7\n", "consumption",
     "varme.csv:6: samme tidspunkt (2026-12-01 03:00+01:00) som "),
])
def test_bad_files_are_refused_naming_the_line_and_nothing_is_stored(tmp_path, cfg, capsys, text, values,
                                                                      expected):
    assert run(tmp_path, cfg, text, values=values) == 65
    err = capsys.readouterr().err
    assert expected in err and "intet blev importeret" in err  # the frame and the parser's line both in Danish
    assert points(tmp_path) == 0
