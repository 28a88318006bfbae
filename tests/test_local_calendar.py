"""energimon.calendar: local days and hours across the DST changes, months, contract years, holidays.

DST dates from the EU rule (last Sunday of March and of October): 2026-03-29 and 2026-10-25.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from energimon import calendar as cal
from energimon.model import LOCAL_TZ


def test_hours_of_local_days():
    assert [cal.hours_in_day(dt.date(2026, 3, d)) for d in (28, 29, 30)] == [24, 23, 24]
    assert cal.hours_in_day(dt.date(2026, 10, 25)) == 25
    hours = cal.hour_index(dt.date(2026, 10, 25), dt.date(2026, 10, 26))
    assert len(hours) == 25 and list(hours.hour[:4]) == [0, 1, 2, 2]  # 02:00 CEST, then 02:00 CET
    assert len(cal.hour_index(dt.date(2026, 3, 1), dt.date(2026, 4, 1))) == 31 * 24 - 1  # March: 743 hours
    days = cal.local_day_index(dt.date(2026, 3, 28), dt.date(2026, 3, 31))
    assert list(cal.day_hours(days)) == [24, 23, 24]
    assert cal.local_midnight(dt.date(2026, 3, 29)).utcoffset() == dt.timedelta(hours=1)  # before the change


def test_grouping_keys_are_local():
    t = pd.DatetimeIndex(["2026-03-31 22:30", "2026-03-31 21:59"], tz="UTC")  # 00:30 CEST 1 April; 23:59 31 March
    assert list(cal.local_day_of(t).date) == [dt.date(2026, 4, 1), dt.date(2026, 3, 31)]
    assert list(cal.local_month_of(t).month) == [4, 3] and list(cal.month_keys(t)) == ["2026-04", "2026-03"]
    assert cal.local_date(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)) == dt.date(2027, 1, 1)
    with pytest.raises(ValueError, match="no time zone"):
        cal.local_date(dt.datetime(2026, 1, 1))
    assert str(cal.local_day_of(t).tz) == str(LOCAL_TZ)


def test_months_and_contract_years():
    assert cal.add_months(dt.date(2026, 11, 17), 2) == dt.date(2027, 1, 1)
    assert cal.add_months(dt.date(2026, 1, 31), -1) == dt.date(2025, 12, 1)
    assert cal.next_month(dt.date(2026, 12, 5)) == dt.date(2027, 1, 1)
    assert cal.parse_month("2026-03") == dt.date(2026, 3, 1)
    for bad in ("2026-13", "26-03", "marts", "2026-03-01"):
        with pytest.raises(ValueError, match="måneden skal skrives ÅÅÅÅ-MM"):  # Danish, the default
            cal.parse_month(bad)
    # a contract from 2024-02-29: its years start 2025-02-28, 2026-02-28 (no 29 February)
    assert cal.contract_year(dt.date(2024, 2, 29), dt.date(2025, 3, 1)) == (dt.date(2025, 2, 28), dt.date(2026, 2, 28))
    assert cal.contract_year(dt.date(2025, 7, 1), dt.date(2026, 7, 1)) == (dt.date(2025, 7, 1), dt.date(2026, 7, 1))
    assert cal.contract_year(dt.date(2025, 7, 1), dt.date(2026, 8, 1)) == (dt.date(2026, 7, 1), dt.date(2027, 7, 1))
    # a running month is reported up to today (exclusive); a finished one to its end
    assert cal.report_cutoff(dt.date(2026, 11, 1), dt.date(2026, 11, 29)) == dt.date(2026, 11, 29)
    assert cal.report_cutoff(dt.date(2026, 10, 1), dt.date(2026, 11, 29)) == dt.date(2026, 11, 1)


def test_danish_holidays():
    h = cal.danish_holidays(2026)
    # public: nytårsdag, skærtorsdag, langfredag, påskedag, 2. påskedag, Kristi himmelfart, pinsedag, 2. pinsedag,
    # juledag, 2. juledag; optional: 1. maj, grundlovsdag, juleaften, nytårsaften (holidays 0.x, "DK")
    assert h[dt.date(2026, 4, 3)] == "Langfredag" and dt.date(2026, 12, 24) in h and dt.date(2026, 6, 5) in h
    public = cal.danish_public_holidays(2026)
    assert dt.date(2026, 4, 3) in public and dt.date(2026, 12, 24) not in public
