"""When is a building in use?  Danish holidays plus the site's own calendar.

* Public holidays and the optional days (juleaftensdag, nytårsaften, grundlovsdag,
  1. maj): :func:`energimon.calendar.danish_holidays`.
* The site calendar (``[alerts.sites.<id>]``): opening hours per weekday,
  closures, school holidays (uge 7 and 42 vary by municipality) with their own
  opening hours, and events (in use although normally closed).

Everything is in Europe/Copenhagen local time.  Precedence, strongest first:
event → closure → holiday (when ``closed_on_holidays``) → school holiday hours →
normal opening hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.analytics.anomaly.settings import WEEKDAYS, SiteCalendarSettings, parse_spans
from energimon.calendar import danish_holidays
from energimon.model import LOCAL_TZ


def holiday_name(day: dt.date) -> str | None:
    return danish_holidays(day.year).get(day)


@dataclass(frozen=True)
class DayInfo:
    """What kind of day ``date`` is for a site, and its opening spans (local hours)."""

    date: dt.date
    kind: str  # "normal", "holiday", "closure", "school_holiday"
    reason: str  # holiday name, closure reason, …
    spans: tuple[tuple[float, float], ...]

    @property
    def calendar_known(self) -> bool:
        """A day the calendar explains as special (holiday, closure, school holiday)."""
        return self.kind != "normal"


class SiteCalendar:
    """Open/closed state of one site, from its ``[alerts.sites.<id>]`` table."""

    def __init__(self, cfg: SiteCalendarSettings | None = None):
        self.cfg = cfg or SiteCalendarSettings()
        self._hours = {d: tuple(parse_spans(self.cfg.opening_hours.get(d, ""))) for d in WEEKDAYS}
        school = self.cfg.school_holiday_hours
        self._school_hours = (
            {d: tuple(parse_spans(school.get(d, ""))) for d in WEEKDAYS} if school is not None else self._hours
        )
        self._days: dict[dt.date, DayInfo] = {}

    @staticmethod
    def _covers(periods, start: dt.datetime, end: dt.datetime):
        for p in periods:
            if p.start_local() <= start and end <= p.end_local():
                return p
        return None

    def day(self, date: dt.date) -> DayInfo:
        info = self._days.get(date)
        if info is None:
            info = self._days[date] = self._day(date)
        return info

    def _day(self, date: dt.date) -> DayInfo:
        start = dt.datetime.combine(date, dt.time())
        end = start + dt.timedelta(days=1)
        wd = WEEKDAYS[date.weekday()]
        closure = self._covers(self.cfg.closures, start, end)
        if closure is not None:
            return DayInfo(date, "closure", closure.reason or "lukket", ())
        name = holiday_name(date)
        if name is not None and self.cfg.closed_on_holidays:
            return DayInfo(date, "holiday", name, ())
        school = self._covers(self.cfg.school_holidays, start, end)
        if school is not None:
            return DayInfo(date, "school_holiday", school.reason or "skoleferie", self._school_hours[wd])
        return DayInfo(date, "normal", "", self._hours[wd])

    def is_open(self, local: dt.datetime) -> bool:
        """Is the building in use at ``local`` (naive local or aware) time?"""
        if local.tzinfo is not None:
            local = local.astimezone(LOCAL_TZ).replace(tzinfo=None)
        for ev in self.cfg.events:
            if ev.start_local() <= local < ev.end_local():
                return True
        # a closure given as date-times (part of a day)
        for c in self.cfg.closures:
            if c.start_local() <= local < c.end_local():
                return False
        info = self.day(local.date())
        h = local.hour + local.minute / 60
        return any(a <= h < b for a, b in info.spans)

    def open_mask(self, index: pd.DatetimeIndex, grace_h: float = 0.0) -> np.ndarray:
        """For hourly windows starting at ``index`` (tz-aware): True when any part of the hour is open,
        widened by ``grace_h`` on both sides (the building warms up and cools down)."""
        out = np.zeros(len(index), dtype=bool)
        g = round(grace_h * 4)  # in quarter hours
        offsets = [dt.timedelta(minutes=15 * k) for k in range(-g, 4 + g)]
        for i, t in enumerate(index):
            t0 = t.tz_convert(LOCAL_TZ).to_pydatetime().replace(tzinfo=None)
            out[i] = any(self.is_open(t0 + off) for off in offsets)
        return out

    def school_holiday_dates(self, first: dt.date, end: dt.date) -> frozenset[dt.date]:
        """The days from ``first`` to before ``end`` that a school holiday covers whole (public holidays and
        closures in it included: the savings uncertainty types those by its own precedence)."""
        days = (first + dt.timedelta(days=i) for i in range((end - first).days))
        return frozenset(d for d in days if self._covers(self.cfg.school_holidays, dt.datetime.combine(d, dt.time()),
                                                           dt.datetime.combine(d + dt.timedelta(days=1), dt.time())))

    def day_kinds(self, dates) -> dict[dt.date, DayInfo]:
        return {d: self.day(d) for d in dates}
