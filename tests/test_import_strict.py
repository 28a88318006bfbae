"""Strict imports: every bad file refused with its lines named and NOTHING stored (checked in the real SQLite
store), duplicate policies, DST days, decimal marks, and the importer's all-or-nothing write."""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import pytest
from conftest import unique_db

from energimon.app.cli import main
from energimon.collector.importer import run as import_run
from energimon.collector.importer.parse import LocalTimes, detect_decimal_mark, local_text, parse_number
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
MP = "571313100000000001"
ENERGY = "soro-raadhus/datahub/energy_import_wh"
TEMP = "soro-raadhus/vejr/outdoor_temp_c"
KEY = SeriesKey.parse(ENERGY)
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


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "energimon.toml"
    p.write_text(CONFIG, encoding="utf-8")
    return p


def points_stored(tmp_path) -> int:
    """Every point of every series in the real SQLite store (0 if the import never created it)."""
    db = tmp_path / "store.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("SELECT count(*) FROM points").fetchone()[0]


def import_csv(tmp_path, cfg, lines: list[str], series: str, *flags: str, name: str = "data.csv"):
    f = tmp_path / name
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    role = "weather" if series == TEMP else "grid"
    return f, main(["import", "csv", str(f), "--series", series, "--role", role, "-c", str(cfg), *flags])


def daily_kwh(tmp_path, day: dt.date, days: int = 1) -> list[float]:
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    t0 = dt.datetime(day.year, day.month, day.day, tzinfo=CPH)
    res = store.energy(KEY, t0, t0 + dt.timedelta(days=days), "day")
    store.close()
    return list(res.windows["energy_wh"].to_numpy() / 1000.0)


def raw(tmp_path, key: SeriesKey):
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    ts, v = store.read_raw_ms(key, 0, 2**62)
    store.close()
    return list(ts), list(v)


def eloverblik_rows(first_local: dt.datetime, n: int, minutes: int, kwh) -> list[str]:
    """Rows as eloverblik.dk writes them: local wall-clock start and end (the repeated autumn hour appears twice)."""
    out, t = [], first_local.astimezone(dt.UTC)
    for i in range(n):
        a, b = t.astimezone(CPH), (t + dt.timedelta(minutes=minutes)).astimezone(CPH)
        q = f"{kwh(i):.3f}".replace(".", ",")
        out.append(f"{MP};{a:%d-%m-%Y %H:%M:%S};{b:%d-%m-%Y %H:%M:%S};{q};KWH;Målt;Tidsserie")
        t += dt.timedelta(minutes=minutes)
    return out


# -- the bad-CSV table of the issue: each refused, its line named, nothing stored ---------------------------

BAD = [
    # (id, lines, series, flags, [(line, message fragment)])
    ("duplicate-time-interval-kwh",
     ["time,value", "2026-01-05T00:00,1", "2026-01-05T01:00,1", "2026-01-05T01:00,100", "2026-01-05T02:00,1"],
     ENERGY, ["--interval-kwh"], [(4, "samme tidspunkt (2026-01-05 01:00+01:00) som {f}:3; fjern den ene, eller kør "
                                     "igen med --on-duplicate last")]),
    ("negative-interval-energy",
     ["time,value", "2026-01-05T00:00,10", "2026-01-05T01:00,-25", "2026-01-05T02:00,3"],
     ENERGY, ["--interval-kwh"], [(3, "negativ energi -25 kWh: en forbrugstæller stiger kun")]),
    ("counter-goes-backwards",
     ["tid;værdi", "05-01-2026 00:00;1000", "05-01-2026 01:00;1500", "05-01-2026 02:00;1200", "05-01-2026 03:00;1600"],
     ENERGY, [], [(4, "tælleraflæsningen 1.200 er lavere end 1.500 på {f}:3 (tidspunktet før): en tæller stiger kun "
                      "— ret værdien, eller hvis måleren blev nulstillet eller skiftet dér, kør igen med "
                      "--allow-counter-reset")]),
    ("decimal-comma-in-comma-file",  # was stored as 21
     ["time,value", "2026-01-05T00:00,21.5", "2026-01-05T01:00,21,32"],
     TEMP, [], [(3, "3 felter, men overskriften har 2 — et decimalkomma i en fil adskilt med ',' deler tallet i to")]),
    ("decimal-point-in-danish-file",  # was stored as 2132
     ["tid;værdi", "05-01-2026 00:00;21,5", "05-01-2026 01:00;21.32", "05-01-2026 02:00;0,25"],
     TEMP, [], [(3, "'21.32' er skrevet med decimaltegnet '.', men filens decimaltegn er ',' (som på {f}:2: "
                    "'21,5')")]),
    ("ambiguous-thousands",
     ["tid;værdi", "05-01-2026 00:00;1.234", "05-01-2026 01:00;2"],
     TEMP, [], [(2, "'1.234' er tvetydig: '.' er enten tusindtalsadskiller (1234) eller decimaltegn (1,234)")]),
    ("third-dst-hour",  # was silently overwritten
     ["tid;værdi", "25-10-2026 01:00;1", "25-10-2026 02:00;2", "25-10-2026 02:00;3", "25-10-2026 02:00;4",
      "25-10-2026 03:00;5"],
     TEMP, [], [(5, "tidspunktet 25-10-2026 02:00 forekommer en tredje gang: timen, der gentages når sommertiden "
                    "slutter, forekommer to gange (linje 3: sommertid, UTC+2; linje 4: vintertid, UTC+1)")]),
    ("dst-hour-out-of-order",
     ["tid;værdi", "25-10-2026 03:00;1", "25-10-2026 02:00;2"],
     TEMP, [], [(3, "tidspunktet 25-10-2026 02:00 ligger i timen, der gentages når sommertiden slutter, og kan kun "
                    "læses i tidsorden (sommertid først, så vintertid), men det kommer efter et senere tidspunkt "
                    "(linje 2)")]),
    ("spring-gap-time",
     ["tid;værdi", "29-03-2026 01:00;1", "29-03-2026 02:30;1"],
     TEMP, [], [(3, "tidspunktet '29-03-2026 02:30' findes ikke i dansk tid (sommertid begynder")]),
    ("200000-digit-field",  # was a _csv.Error traceback
     ["time,value", "2026-01-05T00:00,1", "2026-01-05T01:00," + "1" * 200_000],
     TEMP, [], [(3, "linjen er 200.017 tegn lang")]),
    ("400-digit-number",
     ["time,value", "2026-01-05T00:00,1", "2026-01-05T01:00," + "9" * 400],
     TEMP, [], [(3, "tallet er for stort: '9999")]),
    ("far-future",  # was stored (latest showed an age of -251,574,154,547 s)
     ["time,value", "2026-01-05T00:00,1", "9999-01-01T00:00,1"],
     TEMP, [], [(3, "9999-01-01 00:00+01:00 er i fremtiden (mere end 24 timer efter nu")]),
    ("far-future-interval",
     ["time,value", "2026-01-05T00:00,1", "2026-01-05T01:00,1", "9999-01-01T00:00,1"],
     ENERGY, ["--interval-kwh"], [(4, "intervallet, der begynder 9999-01-01 00:00+01:00, slutter 9999-01-01 "
                                     "01:00+01:00, i fremtiden")]),
    ("far-past",
     ["time,value", "1999-12-31T23:00,1", "2026-01-05T00:00,1"],
     TEMP, [], [(2, "1999-12-31 23:00+01:00 er før år 2000")]),
    ("nan", ["time,value", "2026-01-05T00:00,1", "2026-01-05T01:00,NaN"],
     TEMP, [], [(3, "ikke et tal: 'NaN' (en manglende værdi er ikke nul: udelad rækken)")]),
    ("broken-quote", ["time,value", "2026-01-05T00:00,1", '2026-01-05T01:00,"1'],
     TEMP, [], [(3, "kan ikke læse linjen som CSV")]),
    ("below-physical-minimum",  # the store's own validation (energimon.model's text, English), before the write
     ["time,value", "2026-01-05T00:00,-5", "2026-01-05T01:00,10"],
     ENERGY, [], [(2, "soro-raadhus/datahub/energy_import_wh: value -5.0 below the physical minimum 0")]),
]


@pytest.mark.parametrize(("lines", "series", "flags", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_csv_is_refused_with_its_line_and_nothing_stored(tmp_path, cfg, capsys, lines, series, flags, expected):
    f, rc = import_csv(tmp_path, cfg, lines, series, *flags)
    err = capsys.readouterr().err
    assert rc == 65, err
    assert "Traceback" not in err and "intet blev importeret (en import er alt eller intet)" in err
    for line, fragment in expected:
        assert f"{f}:{line}: {fragment.format(f=f)}" in err, err
    assert points_stored(tmp_path) == 0


# (id in BAD, the English text of its line): the same refusal with --lang en
ENGLISH = [
    ("duplicate-time-interval-kwh", "the same time (2026-01-05 01:00+01:00) as {f}:3; remove one of them, or run "
                                    "again with --on-duplicate last (keep the later line) or --on-duplicate sum"),
    ("counter-goes-backwards", "counter reading 1,200 is lower than 1,500 on {f}:3 (the time before it): a counter "
                               "only rises — correct the value, or if the meter was reset or replaced there, run "
                               "again with --allow-counter-reset"),
    ("decimal-point-in-danish-file", "'21.32' is written with decimal mark '.', but this file's decimal mark is ',' "
                                     "(as on {f}:2: '21,5'); one file uses one decimal mark"),
    ("ambiguous-thousands", "'1.234' is ambiguous: '.' is either a thousands separator (1234) or a decimal mark "
                            "(1.234)"),
    ("third-dst-hour", "local time 25-10-2026 02:00 occurs a third time: the hour repeated at the autumn DST change "
                       "occurs twice (line 3: CEST, UTC+2; line 4: CET, UTC+1)"),
    ("spring-gap-time", "time '29-03-2026 02:30' does not exist in Danish local time"),
    ("200000-digit-field", "the line is 200,017 characters long (at most 4,096 are read"),
    ("far-future-interval", "the interval starting 9999-01-01 00:00+01:00 ends 9999-01-01 01:00+01:00, in the future "
                            "(more than 24 h after now"),
    ("nan", "not a number: 'NaN' (missing is not zero: leave the row out)"),
]


@pytest.mark.parametrize(("case", "english"), ENGLISH, ids=[e[0] for e in ENGLISH])
def test_bad_csv_refusal_in_english_with_lang_en(tmp_path, cfg, capsys, case, english):
    _, lines, series, flags, expected = next(b for b in BAD if b[0] == case)
    f, rc = import_csv(tmp_path, cfg, lines, series, *flags, "--lang", "en")
    err = capsys.readouterr().err
    assert rc == 65, err
    assert "nothing was imported (an import is all or nothing)" in err and "intet blev" not in err
    ((line, _),) = expected
    assert f"{f}:{line}: {english.format(f=f)}" in err, err
    assert points_stored(tmp_path) == 0


def test_every_bad_line_is_listed_up_to_twenty_then_counted(tmp_path, cfg, capsys):
    lines = ["time,value"] + [f"2026-01-05T{h:02d}:00,{'x' if h % 2 else h}" for h in range(24)]
    lines += ["2026-01-06T00:00," + "7" * 5000, "2026-01-06T01:00,1", "2026-01-06T02:00,-1"]  # 2 more kinds
    f, rc = import_csv(tmp_path, cfg, lines, ENERGY, "--interval-kwh")
    err = capsys.readouterr().err
    assert rc == 65
    # 12 'x' on the odd hours (lines 3, 5, … 25), the long line 26, the negative energy on line 28: 14 problems
    assert "14 fejl:" in err
    assert all(f"{f}:{n}: ikke et tal: 'x'" in err for n in range(3, 26, 2))
    assert f"{f}:26: linjen er 5.017 tegn lang" in err and f"{f}:28: negativ energi -1 kWh" in err
    many = ["time,value"] + [f"2026-01-05T{h:02d}:00,x" for h in range(24)]
    f, rc = import_csv(tmp_path, cfg, many, TEMP, name="many.csv")
    err = capsys.readouterr().err
    assert rc == 65 and "24 fejl:" in err and "… og 4 fejl mere (de første 20 er vist)" in err
    assert f"{f}:21: " in err and f"{f}:22: " not in err  # lines 2..21 shown
    assert points_stored(tmp_path) == 0


def test_future_is_relative_to_now(tmp_path, cfg, capsys):
    soon = dt.datetime.now(tz=CPH).replace(minute=0, second=0, microsecond=0)
    lines = ["time,value", f"{(soon - dt.timedelta(hours=1)).isoformat()},1",
             f"{(soon + dt.timedelta(days=2)).isoformat()},2"]
    f, rc = import_csv(tmp_path, cfg, lines, TEMP)
    assert rc == 65 and f"{f}:3: " in capsys.readouterr().err and points_stored(tmp_path) == 0
    f, rc = import_csv(tmp_path, cfg, lines[:2], TEMP)  # an hour ago: fine
    assert rc == 0 and points_stored(tmp_path) == 1


# -- duplicates: error (default), last, sum -------------------------------------------------------------------

def _day_with_duplicate() -> list[str]:
    # 24 hours of 1 kWh on 5 Jan 2026, then 05:00 again with 5 kWh (line 26; the first 05:00 is line 7)
    return ["time,value"] + [f"2026-01-05T{h:02d}:00,1" for h in range(24)] + ["2026-01-05T05:00,5"]


@pytest.mark.parametrize(("policy", "day_kwh"), [("last", 23 * 1 + 5), ("sum", 24 * 1 + 5)])
def test_duplicate_policies_for_interval_energy(tmp_path, cfg, capsys, policy, day_kwh):
    f, rc = import_csv(tmp_path, cfg, _day_with_duplicate(), ENERGY, "--interval-kwh")
    err = capsys.readouterr().err
    assert rc == 65 and f"{f}:26: samme tidspunkt (2026-01-05 05:00+01:00) som {f}:7" in err
    assert points_stored(tmp_path) == 0
    f, rc = import_csv(tmp_path, cfg, _day_with_duplicate(), ENERGY, "--interval-kwh", "--on-duplicate", policy)
    assert rc == 0
    assert f"1 dobbelte tidspunkt(er) løst med --on-duplicate {policy}" in capsys.readouterr().out
    # last: 23 hours of 1 kWh + the later 05:00 row's 5 kWh = 28; sum: 24 + 5 = 29 (hand computed)
    assert daily_kwh(tmp_path, dt.date(2026, 1, 5)) == pytest.approx([day_kwh])


def test_duplicate_policy_for_readings(tmp_path, cfg, capsys):
    lines = ["time,value", "2026-01-05T00:00,1.5", "2026-01-05T01:00,2.5", "2026-01-05T01:00,3.5"]
    assert import_csv(tmp_path, cfg, lines, TEMP, "--on-duplicate", "sum")[1] == 64  # readings are not added
    assert "--on-duplicate sum lægger intervalenergier sammen; det kræver --interval-kwh" in capsys.readouterr().err
    assert import_csv(tmp_path, cfg, lines, TEMP, "--on-duplicate", "last")[1] == 0
    assert raw(tmp_path, SeriesKey.parse(TEMP))[1] == [1.5, 3.5]


def test_eloverblik_duplicates_across_files_are_one_import(tmp_path, cfg, capsys):
    jan5 = dt.datetime(2026, 1, 5, tzinfo=CPH)
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    a.write_text("\n".join([HEADER, *eloverblik_rows(jan5, 24, 60, lambda h: 1.0)]), encoding="utf-8")
    # b re-exports the last 4 hours of 5 Jan (2 kWh each) and continues on 6 Jan
    b.write_text("\n".join([HEADER, *eloverblik_rows(jan5 + dt.timedelta(hours=20), 28, 60, lambda h: 2.0)]),
                 encoding="utf-8")
    assert main(["import", "eloverblik", str(a), str(b), "-c", str(cfg)]) == 65
    err = capsys.readouterr().err
    assert f"{b}:2: samme tidspunkt (2026-01-05 20:00+01:00) som {a}:22" in err and f"{b}:5: " in err
    assert points_stored(tmp_path) == 0  # a.csv alone was fine, but the import is one
    assert main(["import", "eloverblik", str(a), str(b), "-c", str(cfg), "--on-duplicate", "last"]) == 0
    assert "4 dobbelte interval(ler) løst med --on-duplicate last" in capsys.readouterr().out
    # 5 Jan: 20 h x 1 kWh + 4 h x 2 kWh (b wins) = 28; 6 Jan: 24 x 2 = 48 (hand computed)
    assert daily_kwh(tmp_path, dt.date(2026, 1, 5), 2) == pytest.approx([28.0, 48.0])


# -- negative energy and other bad rows in the Eloverblik importer ---------------------------------------------

def test_eloverblik_negative_energy_refused_and_the_counter_never_goes_down(tmp_path, cfg, capsys):
    jan5 = dt.datetime(2026, 1, 5, tzinfo=CPH)
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, *eloverblik_rows(jan5, 24, 60, lambda h: 1.0)]), encoding="utf-8")
    assert main(["import", "eloverblik", str(good), "-c", str(cfg)]) == 0
    capsys.readouterr()
    before = raw(tmp_path, KEY)
    rows = eloverblik_rows(jan5 + dt.timedelta(days=1), 24, 60, lambda h: 1.0)
    rows[3] = rows[3].replace(";1,000;", ";-5,000;")  # line 5
    rows[7] = f"{MP};01-01-9999 07:00:00;01-01-9999 08:00:00;1,000;KWH;Målt;Tidsserie"  # line 9
    rows.append(f"{MP};31-12-1999 00:00:00;31-12-1999 01:00:00;1,000;KWH;Målt;Tidsserie")  # line 26
    long_row = f"{MP};06-01-2026 23:00:00;07-01-2026 00:00:00;{'1' * 200_000};KWH;Målt;Tidsserie"
    rows.append(long_row)  # line 27
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["import", "eloverblik", str(bad), "-c", str(cfg)]) == 65
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{bad}:5: negativ mængde -5 kWh: en forbrugstæller stiger kun" in err
    assert (f"{bad}:9: intervallet, der begynder 9999-01-01 07:00+01:00, slutter 9999-01-01 08:00+01:00, i "
            "fremtiden") in err
    assert f"{bad}:26: 1999-12-31 00:00+01:00 er før år 2000" in err
    assert f"{bad}:27: linjen er {len(long_row):,} tegn lang".replace(",", ".") in err
    assert raw(tmp_path, KEY) == before  # nothing from bad.csv
    assert daily_kwh(tmp_path, dt.date(2026, 1, 5)) == pytest.approx([24.0])


def test_eloverblik_overlapping_interval_refused(tmp_path, cfg, capsys):
    rows = eloverblik_rows(dt.datetime(2026, 1, 5, tzinfo=CPH), 4, 60, lambda h: 1.0)
    rows.append(f"{MP};05-01-2026 01:30:00;05-01-2026 02:30:00;1,000;KWH;Målt;Tidsserie")  # line 6
    f = tmp_path / "overlap.csv"
    f.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 65
    assert (f"{f}:6: intervallet, der begynder 2026-01-05 01:30+01:00, starter før intervallet på {f}:3 slutter "
            "(2026-01-05 02:00+01:00)") in capsys.readouterr().err
    assert points_stored(tmp_path) == 0


# -- DST days, hand computed -----------------------------------------------------------------------------------

def test_quarter_hour_autumn_dst_day_and_a_third_occurrence(tmp_path, cfg, capsys):
    # 25 Oct 2026 has 25 hours: 100 quarter-hours of 0.25 kWh = 25 kWh; the days around have 24 kWh
    rows = eloverblik_rows(dt.datetime(2026, 10, 24, tzinfo=CPH), 96 + 100 + 96, 15, lambda i: 0.25)
    assert sum(r.startswith(f"{MP};25-10-2026 02:15:00;") for r in rows) == 2  # each repeated quarter twice
    f = tmp_path / "kvarter.csv"
    f.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["import", "eloverblik", str(f), "-c", str(cfg)]) == 0
    assert "292 intervaller à 15 min" in capsys.readouterr().out
    assert daily_kwh(tmp_path, dt.date(2026, 10, 24), 3) == pytest.approx([24.0, 25.0, 24.0])
    # a third 02:15 (after the CET 02:15, line 2 + 96 + 8 + 4 + 1) is refused, naming the two legitimate ones
    third = next(i for i, r in enumerate(rows) if r.startswith(f"{MP};25-10-2026 02:15:00;") and i > 96 + 9)
    bad = [*rows[:third + 1], rows[third], *rows[third + 1:]]
    f2 = tmp_path / "tredje.csv"
    f2.write_text("\n".join([HEADER, *bad]), encoding="utf-8")
    before = points_stored(tmp_path)
    assert main(["import", "eloverblik", str(f2), "-c", str(cfg)]) == 65
    err = capsys.readouterr().err
    assert (f"{f2}:{third + 3}: tidspunktet 25-10-2026 02:15:00 forekommer en tredje gang: timen, der gentages når "
            f"sommertiden slutter, forekommer to gange (linje {third - 2}: sommertid, UTC+2; linje {third + 2}: "
            "vintertid, UTC+1)") in err
    assert points_stored(tmp_path) == before


def test_spring_dst_day_interval_csv(tmp_path, cfg):
    # 29 Mar 2026 has 23 hours (02:00 does not exist): 23 rows of 1 kWh written in local time = 23 kWh
    t = dt.datetime(2026, 3, 29, tzinfo=CPH).astimezone(dt.UTC)
    times = [(t + dt.timedelta(hours=h)).astimezone(CPH) for h in range(23 + 24)]
    assert "29-03-2026 02:00" not in {f"{x:%d-%m-%Y %H:%M}" for x in times}
    lines = ["tid;kwh"] + [f"{x:%d-%m-%Y %H:%M};1,0" for x in times]
    assert import_csv(tmp_path, cfg, lines, ENERGY, "--interval-kwh")[1] == 0
    assert daily_kwh(tmp_path, dt.date(2026, 3, 29), 2) == pytest.approx([23.0, 24.0])


def test_autumn_dst_counter_readings_csv(tmp_path, cfg):
    # hourly counter readings at local wall-clock times from 25 Oct 00:00 to 26 Oct 00:00: 26 readings (02:00
    # twice), the counter rising 1000 Wh per real hour -> 25 kWh on the 25-hour day (hand computed)
    t = dt.datetime(2026, 10, 25, tzinfo=CPH).astimezone(dt.UTC)
    lines = ["tid;værdi"] + [f"{(t + dt.timedelta(hours=h)).astimezone(CPH):%d-%m-%Y %H:%M};{1000 * h}"
                             for h in range(26)]
    assert sum(line.startswith("25-10-2026 02:00;") for line in lines) == 2
    assert import_csv(tmp_path, cfg, lines, ENERGY)[1] == 0
    assert daily_kwh(tmp_path, dt.date(2026, 10, 25)) == pytest.approx([25.0])


def test_local_times_read_the_repeated_hour_by_order():
    times = LocalTimes()
    seq = ["25-10-2026 02:30", "25-10-2026 02:00", "25-10-2026 02:15", "25-10-2026 02:30", "25-10-2026 02:45"]
    # the CEST 02:45 is missing: 02:45 after 02:30 CET can only be CET
    got = [local_text(times.resolve(t, i)) for i, t in enumerate(["25-10-2026 02:15", *seq], start=2)]
    assert got == ["2026-10-25 02:15+02:00", "2026-10-25 02:30+02:00", "2026-10-25 02:00+01:00",
                   "2026-10-25 02:15+01:00", "2026-10-25 02:30+01:00", "2026-10-25 02:45+01:00"]


# -- decimal marks -------------------------------------------------------------------------------------------

def test_quoted_decimal_commas_in_a_comma_file(tmp_path, cfg):
    lines = ["time,value", '2026-01-05T00:00,"21,32"', '2026-01-05T01:00,"-0,5"', "2026-01-05T02:00,7"]
    assert import_csv(tmp_path, cfg, lines, TEMP)[1] == 0
    assert raw(tmp_path, SeriesKey.parse(TEMP))[1] == [21.32, -0.5, 7.0]


def test_danish_thousands_and_point_files(tmp_path, cfg):
    # ';' + decimal comma with '.' thousands next to the decimal part; ',' + decimal point; both exact
    danish = ["tid;værdi", "05-01-2026 00:00;1.234,5", "05-01-2026 01:00;1.300,25", "05-01-2026 02:00;1.234.567"]
    assert import_csv(tmp_path, cfg, danish, ENERGY)[1] == 0
    assert raw(tmp_path, KEY)[1] == [1234.5, 1300.25, 1234567.0]
    english = ["time,value", "2026-01-05T00:00,21.32", '2026-01-05T01:00,"1,021.5"']
    assert import_csv(tmp_path, cfg, english, TEMP)[1] == 0
    assert raw(tmp_path, SeriesKey.parse(TEMP))[1] == [21.32, 1021.5]


def test_semicolon_file_with_decimal_points_and_explicit_mark(tmp_path, cfg, capsys):
    # a ';' file whose values all use '.' is read with '.' (detected), never scaled by 100
    lines = ["tid;værdi", "05-01-2026 00:00;21.32", "05-01-2026 01:00;-3.5"]
    assert import_csv(tmp_path, cfg, lines, TEMP)[1] == 0
    assert raw(tmp_path, SeriesKey.parse(TEMP))[1] == [21.32, -3.5]
    # only 3-decimal values: ambiguous in a ';' file until the user says which mark the file uses
    amb = ["tid;værdi", "05-01-2026 03:00;1.234", "05-01-2026 04:00;2.500"]
    f, rc = import_csv(tmp_path, cfg, amb, TEMP)
    err = capsys.readouterr().err
    assert rc == 65 and f"{f}:2: '1.234' er tvetydig" in err and f"{f}:3: '2.500' er tvetydig" in err
    assert "sig hvilket med --decimal-mark , (så adskiller '.' tusinder) eller --decimal-mark ." in err
    assert import_csv(tmp_path, cfg, amb, TEMP, "--decimal-mark", ".")[1] == 0
    assert raw(tmp_path, SeriesKey.parse(TEMP))[1] == [21.32, -3.5, 1.234, 2.5]


def test_number_parsing_rules():
    dm = detect_decimal_mark([(2, "0,25"), (3, "1"), (4, "1.234,5")], ";", "f.csv")
    assert (dm.mark, dm.why) == (",", "som på f.csv:2: '0,25'")
    assert detect_decimal_mark([(2, "1.234")], "\t", "f.tsv").mark is None
    assert detect_decimal_mark([(2, "12")], ",", "f.csv").mark == "."
    assert parse_number("1 234,5", ",") == 1234.5 and parse_number("−2,5", ",") == -2.5
    assert parse_number("1,5E-3", ",") == 0.0015 and parse_number("12", None) == 12
    for text, mark in [("21.32", ","), ("21,32", "."), ("1,2,3", ","), ("1.23.4", ","), ("12a", ".")]:
        with pytest.raises(ValueError):
            parse_number(text, mark)
    with pytest.raises(ValueError, match=r"er 1,234 med decimalpunktum og 1234 med decimalkomma"):
        parse_number("1.234", None)


# -- counter reset flag, all-or-nothing write ------------------------------------------------------------------

def test_allow_counter_reset_stores_the_drop_as_a_reset(tmp_path, cfg, capsys):
    lines = ["time,value"] + [f"2026-01-05T{h:02d}:00,{v}" for h, v in enumerate([0, 1000, 2000, 500, 1500])]
    assert import_csv(tmp_path, cfg, lines, ENERGY)[1] == 65
    assert import_csv(tmp_path, cfg, lines, ENERGY, "--allow-counter-reset")[1] == 0
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    t0 = dt.datetime(2026, 1, 5, tzinfo=CPH)
    res = store.energy(KEY, t0, t0 + dt.timedelta(days=1), "day")
    store.close()
    # 0 -> 2000 and 500 -> 1500 count (3 kWh); nothing across the drop 2000 -> 500; the day is incomplete
    assert res.total_wh == pytest.approx(3000.0) and int(res.windows["resets"].iloc[0]) == 1
    assert not bool(res.windows["complete"].iloc[0])
    assert import_csv(tmp_path, cfg, lines, TEMP, "--allow-counter-reset")[1] == 64


def test_a_store_failure_half_way_stores_nothing(tmp_path, cfg, capsys):
    """The SQLite store takes an import in one transaction: a failure on the last reading rolls back the rest."""
    store = SqliteStore(tmp_path / "store.db")
    store.close()
    last_ms = int(dt.datetime(2026, 1, 6, tzinfo=CPH).timestamp() * 1000)  # the counter reading at the day's end
    with sqlite3.connect(tmp_path / "store.db") as con:  # a real SQLite failure mid-write (as a full disk would)
        con.execute(f"CREATE TRIGGER fail BEFORE INSERT ON points WHEN NEW.ts_ms = {last_ms} "
                    "BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END")
    lines = ["time,value"] + [f"2026-01-05T{h:02d}:00,1" for h in range(24)]
    _, rc = import_csv(tmp_path, cfg, lines, ENERGY, "--interval-kwh")
    err = capsys.readouterr().err
    assert rc == 1 and "databasen kunne ikke tage imod målingerne, og intet blev gemt" in err
    assert "simulated write failure" in err and "Traceback" not in err
    assert points_stored(tmp_path) == 0


def test_influxdb_import_in_batches_and_refusal_writes_nothing(influxd, tmp_path, capsys, monkeypatch):
    db = unique_db("imp")
    cfg = tmp_path / "influx.toml"
    cfg.write_text(CONFIG.replace('[store]\npath = "store.db"', f'[store]\nkind = "influxdb"\n[store.influxdb]\n'
                                  f'url = "{influxd.url}"\nmode = "v1"\ndatabase = "{db}"\n'
                                  'create_database = true\ntimeout_s = 5'), encoding="utf-8")
    monkeypatch.setattr(import_run, "INFLUX_BATCH", 100)  # 7 days of 15-minute intervals: 673 readings, 7 batches
    rows = eloverblik_rows(dt.datetime(2026, 2, 2, tzinfo=CPH), 7 * 96, 15, lambda i: 0.5)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, *rows[:-1], rows[-1].replace(";0,500;", ";0.500;")]), encoding="utf-8")
    assert main(["import", "eloverblik", str(bad), "-c", str(cfg)]) == 65
    assert f"{bad}:673: '0.500' er skrevet med decimaltegnet '.'" in capsys.readouterr().err
    doc = influxd.query("SELECT count(energy_import_wh) FROM electricity", db=db)
    assert "series" not in doc["results"][0]  # nothing written
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, *rows]), encoding="utf-8")
    assert main(["import", "eloverblik", str(good), "-c", str(cfg)]) == 0
    err = capsys.readouterr().err
    # not a terminal: one line per batch of 100 (7 batches), none rewritten in place with '\r'
    steps = [line for line in err.splitlines() if line.startswith("[")]
    assert "\r" not in err and len(steps) == 7 and steps[-1] == f"[673/673] {good}: målinger skrevet", err
    doc = influxd.query("SELECT count(energy_import_wh) FROM electricity", db=db)
    assert doc["results"][0]["series"][0]["values"][0][1] == 673


def test_files_imported_out_of_order_are_refused_until_given_together(tmp_path, cfg, capsys):
    jan5 = dt.datetime(2026, 1, 5, tzinfo=CPH)
    a, b = tmp_path / "jan5.csv", tmp_path / "jan6.csv"
    a.write_text("\n".join([HEADER, *eloverblik_rows(jan5, 24, 60, lambda h: 1.0)]), encoding="utf-8")
    b.write_text("\n".join([HEADER, *eloverblik_rows(jan5 + dt.timedelta(days=1), 24, 60, lambda h: 2.0)]),
                 encoding="utf-8")
    assert main(["import", "eloverblik", str(b), "-c", str(cfg)]) == 0  # the later file first: counter 0 -> 48 kWh
    capsys.readouterr()
    before = raw(tmp_path, KEY)
    # the earlier file would end at 24 kWh where the stored 6 Jan counter starts at 0: it would go down
    assert main(["import", "eloverblik", str(a), "-c", str(cfg)]) == 65
    err = capsys.readouterr().err
    assert (f"{a}:25: denne import slutter med {ENERGY} på 24,000 kWh (2026-01-06 00:00+01:00), men energimon har "
            "allerede senere målinger af den, som fortsætter fra 0,000 kWh kl. 2026-01-06 00:00+01:00") in err
    assert raw(tmp_path, KEY) == before
    assert main(["import", "eloverblik", str(a), str(b), "-c", str(cfg)]) == 0  # together: one counter
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    res = store.energy(KEY, jan5, jan5 + dt.timedelta(days=2), "day")
    store.close()
    # 24 x 1 kWh and 24 x 2 kWh, no reset (hand computed)
    assert list(res.windows["energy_wh"] / 1000) == pytest.approx([24.0, 48.0]) and res.resets.empty
