"""The suite's instrument: the exactly-once accounting must see every way a store can be wrong."""

from __future__ import annotations

from faults.harness import Tally, format_table, tally

A = ("soro-raadhus", "hovedmaaler", "energy_import_wh")
PRODUCED = {(*A, 1000): 1.0, (*A, 2000): 2.0, (*A, 3000): 3.0}


def rows(*pairs):
    return [((*A, ts), v) for ts, v in pairs]


def test_exact():
    t = tally("x", PRODUCED, rows((1000, 1.0), (2000, 2.0), (3000, 3.0)))
    assert t == Tally("x", 3, 3, 0, 0, 0) and t.exact


def test_a_reading_stored_twice_under_its_own_time_is_a_duplicate():
    assert tally("x", PRODUCED, rows((1000, 1.0), (1000, 1.0), (2000, 2.0), (3000, 3.0))).duplicates == 1


def test_a_reading_stored_again_under_another_time_is_a_duplicate():
    t = tally("x", PRODUCED, rows((1000, 1.0), (2000, 2.0), (3000, 3.0), (3500, 2.0)))
    assert (t.stored, t.duplicates, t.lost, t.wrong) == (4, 1, 0, 0) and not t.exact


def test_missing_and_overwritten_readings_are_lost_and_a_foreign_value_is_wrong():
    t = tally("x", PRODUCED, rows((1000, 1.0), (2000, 7.5)))  # 3000 missing, 2000 overwritten with 7.5
    assert (t.stored, t.duplicates, t.lost, t.wrong) == (2, 0, 2, 1)


def test_the_table_has_the_promised_columns():
    text = format_table([Tally("broker restart", 900, 900, 0, 0)])
    head, _sep, row = text.splitlines()
    assert [c.strip() for c in head.split("|")] == ["scenario", "produced", "stored", "duplicates", "lost"]
    assert [c.strip() for c in row.split("|")] == ["broker restart", "900", "900", "0", "0"]
