"""The site calendar: Danish holidays (incl. optional days), opening hours, closures, school holidays, events."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.settings import SiteCalendarSettings, parse_spans
from energimon.calendar import danish_holidays
from energimon.config.settings import ConfigError, settings_from_dict


def test_danish_holidays_in_danish_with_optional_days():
    h = danish_holidays(2026)
    assert h[dt.date(2026, 12, 25)] == "Juledag"
    assert h[dt.date(2026, 4, 3)] == "Langfredag"
    # the optional days (not public holidays by law, but the town hall is closed)
    assert h[dt.date(2026, 12, 24)] == "Juleaftensdag"
    assert h[dt.date(2026, 6, 5)] == "Grundlovsdag"
    assert h[dt.date(2026, 12, 31)] == "Nytårsaften"
    assert dt.date(2026, 11, 30) not in h


def test_parse_spans():
    assert parse_spans("07:30-16:00") == [(7.5, 16.0)]
    assert parse_spans("07:30-12:00, 13:00-16:15") == [(7.5, 12.0), (13.0, 16.25)]
    assert parse_spans("lukket") == []
    with pytest.raises(ValueError, match="end must be after"):
        parse_spans("16:00-07:00")
    with pytest.raises(ValueError, match="not a time span"):
        parse_spans("8-16")


def _cal() -> SiteCalendar:
    return SiteCalendar(SiteCalendarSettings(
        opening_hours={"mon": "07:30-16:00", "tue": "07:30-16:00", "wed": "07:30-16:00", "thu": "07:30-16:00",
                       "fri": "07:30-13:00", "sat": "10:00-14:00"},
        closures=[{"start": "2026-07-13", "end": "2026-07-24", "reason": "Sommerlukning"},
                  {"start": "2026-11-30T12:00", "end": "2026-11-30T16:00", "reason": "Personalemøde"}],
        school_holidays=[{"start": "2026-10-12", "end": "2026-10-16", "reason": "Efterårsferie (uge 42)"}],
        school_holiday_hours={"mon": "09:00-12:00", "tue": "09:00-12:00", "wed": "09:00-12:00",
                              "thu": "09:00-12:00", "fri": "09:00-12:00"},
        events=[{"start": "2026-12-24T10:00", "end": "2026-12-24T12:00", "reason": "Juletræsfest"}],
    ))


def test_opening_hours_weekdays_and_weekend():
    c = _cal()
    assert c.is_open(dt.datetime(2026, 12, 1, 8, 0))  # Tuesday
    assert not c.is_open(dt.datetime(2026, 12, 1, 7, 0))
    assert not c.is_open(dt.datetime(2026, 12, 1, 16, 0))  # end is exclusive
    assert c.is_open(dt.datetime(2026, 12, 4, 12, 59))  # Friday short day
    assert not c.is_open(dt.datetime(2026, 12, 4, 13, 0))
    assert c.is_open(dt.datetime(2026, 12, 5, 11, 0))  # Saturday
    assert not c.is_open(dt.datetime(2026, 12, 6, 11, 0))  # Sunday: not configured = closed


def test_holidays_closures_school_holidays_events():
    c = _cal()
    assert c.day(dt.date(2026, 12, 25)).kind == "holiday"
    assert not c.is_open(dt.datetime(2026, 12, 25, 10))  # Friday, Juledag
    assert c.day(dt.date(2026, 5, 14)).reason == "Kristi himmelfartsdag"
    # a closure (dates inclusive)
    assert c.day(dt.date(2026, 7, 24)).kind == "closure"
    assert not c.is_open(dt.datetime(2026, 7, 24, 9))
    assert c.is_open(dt.datetime(2026, 7, 27, 9))
    # a closure of part of a day
    assert c.is_open(dt.datetime(2026, 11, 30, 11, 59))
    assert not c.is_open(dt.datetime(2026, 11, 30, 12, 0))
    # school holiday with its own hours
    assert c.day(dt.date(2026, 10, 14)).kind == "school_holiday"
    assert c.is_open(dt.datetime(2026, 10, 14, 9, 30))
    assert not c.is_open(dt.datetime(2026, 10, 14, 13, 0))
    # an event on a holiday: open during the event only
    assert c.is_open(dt.datetime(2026, 12, 24, 11, 0))
    assert not c.is_open(dt.datetime(2026, 12, 24, 13, 0))
    # aware times are converted to local time: 07:00 UTC on 1 Dec is 08:00 in Copenhagen
    assert c.is_open(dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC))


def test_open_mask_hourly_with_grace_and_dst():
    c = _cal()
    # Monday 26 Oct 2026 follows the autumn DST change (Sunday 25 Oct has 25 hours)
    idx = pd.date_range("2026-10-25", "2026-10-27", freq="1h", tz="Europe/Copenhagen", inclusive="left")
    assert len(idx) == 49  # 25 + 24 hours
    mask = c.open_mask(idx)
    hours = [t.hour for t, m in zip(idx, mask, strict=True) if m]
    # Monday 07:30-16:00: hours 07 (partly) to 15 are open; Sunday is closed
    assert hours == list(range(7, 16))
    wide = c.open_mask(idx, grace_h=1.0)
    assert [t.hour for t, m in zip(idx, wide, strict=True) if m] == list(range(6, 17))


def test_calendar_config_errors_name_the_key():
    base = {"sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4, "longitude": 11.5}},
            "smtp": {"host": "localhost", "sender": "a@b.dk"}}
    bad = {**base, "alerts": {"sites": {"soro-raadhus": {"opening_hours": {"man": "07:00-16:00"}},
                                        "soro-radhus": {}}}}
    with pytest.raises(ConfigError) as exc:
        settings_from_dict(bad)
    text = str(exc.value)
    assert "alerts.sites.soro-raadhus.opening_hours" in text and "unknown weekday 'man'" in text
    bad2 = {**base, "alerts": {"sites": {"soro-radhus": {}}}}
    with pytest.raises(ConfigError, match=r"alerts.sites.soro-radhus: unknown site"):
        settings_from_dict(bad2)
    with pytest.raises(ConfigError, match="no \\[smtp\\] table"):
        settings_from_dict({"sites": base["sites"], "alerts": {}})
    with pytest.raises(ValidationError, match="must not be before"):
        SiteCalendarSettings(closures=[{"start": "2026-07-24", "end": "2026-07-13"}])
