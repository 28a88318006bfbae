"""Danish calendar time: local days and months, 23- and 25-hour days, contract years, public holidays.

Readings are stored in UTC; days, months and years of reports, savings and alerts are
Europe/Copenhagen local time (docs/ARCHITECTURE.md, "Time").  A local day starts at local
midnight and lasts 23 hours on the last Sunday of March, 25 hours on the last Sunday of
October and 24 hours otherwise, so its edges are built from local dates — never by adding
24 hours to an instant.  Midnight itself is never ambiguous or skipped in Denmark (the
clocks change at 02:00 and 03:00), which is why localising a local midnight is always safe.

Every function here is pure: dates in, dates or pandas indexes out.  Dates are
:class:`datetime.date` (a local calendar day); instants are aware.  Half-open ranges
``[start, end)`` throughout, as in the store.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING

from energimon.model import LOCAL_TZ

if TYPE_CHECKING:  # imported by the functions that build indexes: the daemon's start needs only the dates (0.9 s)
    import numpy as np
    import numpy.typing as npt
    import pandas as pd


__all__ = [
    "LOCAL_TZ",
    "add_months",
    "add_years",
    "contract_year",
    "danish_holidays",
    "danish_public_holidays",
    "day_hours",
    "hour_index",
    "hours_in_day",
    "local_date",
    "local_day_index",
    "local_day_of",
    "local_midnight",
    "local_month_of",
    "month_keys",
    "month_start",
    "next_month",
    "parse_month",
    "report_cutoff",
    "today",
]


# -- days and hours ----------------------------------------------------------------------------------
def local_midnight(day: dt.date) -> dt.datetime:
    """The instant a local day begins (aware, Europe/Copenhagen)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def today(now: dt.datetime | None = None) -> dt.date:
    """The local date at ``now`` (aware; default: the clock)."""
    return (now or dt.datetime.now(tz=dt.UTC)).astimezone(LOCAL_TZ).date()


def local_date(t: dt.datetime) -> dt.date:
    """The local calendar day an aware instant falls on."""
    if t.tzinfo is None:
        raise ValueError(f"time {t!r} has no time zone; give an aware datetime (UTC or local)")
    return t.astimezone(LOCAL_TZ).date()


def hours_in_day(day: dt.date) -> int:
    """23, 24 or 25: the hours from this local midnight to the next (DST change days)."""
    nxt = local_midnight(day + dt.timedelta(days=1))
    return round((nxt.timestamp() - local_midnight(day).timestamp()) / 3600)


def local_day_index(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    """Local midnights of the days ``[start, end)`` (aware, Europe/Copenhagen)."""
    import pandas as pd

    naive = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left")
    return pd.DatetimeIndex(naive.tz_localize(LOCAL_TZ))


def hour_index(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    """Every local hour start of the days ``[start, end)``: 23, 24 or 25 per day (aware, Europe/Copenhagen).

    Built in UTC, where every hour exists exactly once, and shown in local time, so the repeated
    autumn hour appears twice (CEST, then CET) and the skipped spring hour not at all."""
    import pandas as pd

    t0 = pd.Timestamp(local_midnight(start)).tz_convert("UTC")
    t1 = pd.Timestamp(local_midnight(end)).tz_convert("UTC")
    return pd.DatetimeIndex(pd.date_range(t0, t1, freq="h", inclusive="left").tz_convert(LOCAL_TZ))


def local_day_of(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The local midnight of the day each instant (aware) falls on: the key that groups hours into days."""
    import pandas as pd

    local = pd.DatetimeIndex(index).tz_convert(LOCAL_TZ)
    return pd.DatetimeIndex(local.tz_localize(None).normalize().tz_localize(LOCAL_TZ))


def local_month_of(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The local midnight of the first day of the month each instant (aware) falls in."""
    import pandas as pd

    naive = pd.DatetimeIndex(index).tz_convert(LOCAL_TZ).tz_localize(None)
    return pd.DatetimeIndex(naive.to_period("M").to_timestamp().tz_localize(LOCAL_TZ))


def month_keys(index: pd.DatetimeIndex) -> npt.NDArray[np.str_]:
    """``YYYY-MM`` of the local month of each instant (aware) — a grouping key that reads well."""
    import numpy as np
    import pandas as pd

    return np.asarray(pd.DatetimeIndex(index).tz_convert(LOCAL_TZ).strftime("%Y-%m").to_numpy(), dtype=str)


def day_hours(days: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Hours of each local day (23, 24 or 25), for an index of local midnights."""
    import numpy as np
    import pandas as pd

    local = pd.DatetimeIndex(days).tz_convert(LOCAL_TZ)
    nxt = (local.tz_localize(None) + pd.Timedelta(days=1)).tz_localize(LOCAL_TZ)
    return np.asarray((nxt - local) / pd.Timedelta(hours=1)).round().astype(np.int64)


# -- months and years --------------------------------------------------------------------------------
def month_start(day: dt.date) -> dt.date:
    """The first day of the month ``day`` is in."""
    return dt.date(day.year, day.month, 1)


def add_months(day: dt.date, k: int) -> dt.date:
    """The first day of the month ``k`` months after (or before, k < 0) the month of ``day``."""
    y, m = divmod(day.month - 1 + k, 12)
    return dt.date(day.year + y, m + 1, 1)


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after the month of ``day`` (the exclusive end of a month)."""
    return add_months(day, 1)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` -> the first day of that month; ValueError saying what is expected otherwise."""
    try:
        y, m = text.strip().split("-")
        if len(y) != 4 or not 1 <= len(m) <= 2:
            raise ValueError(text)
        return dt.date(int(y), int(m), 1)
    except ValueError:
        from energimon.cliutil import t  # a command-line argument's error, in the run's language

        raise ValueError(t(f"måneden skal skrives ÅÅÅÅ-MM, fx 2026-03; fik {text!r}",
                           f"month must be YYYY-MM, e.g. 2026-03; got {text!r}")) from None


def add_years(day: dt.date, k: int) -> dt.date:
    """The same day ``k`` years later; 29 February becomes 28 February in a year without it."""
    try:
        return day.replace(year=day.year + k)
    except ValueError:  # 29 February
        return day.replace(year=day.year + k, day=28)


def contract_year(start: dt.date, period_end: dt.date) -> tuple[dt.date, dt.date]:
    """The contract year (``start`` + k years) that contains the last day before ``period_end``:
    ``(first day, first day of the next contract year)``."""
    last = period_end - dt.timedelta(days=1)
    k = last.year - start.year
    first = add_years(start, k)
    if first > last:
        first = add_years(start, k - 1)
    return first, add_years(first, 1)


def report_cutoff(month: dt.date, today_: dt.date | None = None) -> dt.date:
    """The first day *not* reported for the month of ``month``: its end, or — while the month is running —
    today, so only days that are over count (a day in progress is neither missing nor counted).
    ``today_`` defaults to the local date now."""
    first = month_start(month)
    return min(next_month(first), max(today_ or today(), first))


# -- holidays ----------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def danish_holidays(year: int) -> dict[dt.date, str]:
    """Public holidays and the customary days off (juleaftensdag, nytårsaftensdag, grundlovsdag, 1. maj) of
    ``year``, named in Danish: when a building is used like on a Sunday.  From the ``holidays`` package,
    ``country_holidays("DK", language="da", categories=("public", "optional"))``."""
    import holidays

    h = holidays.country_holidays("DK", language="da", categories=("public", "optional"), years=year)
    return dict(h.items())


def danish_public_holidays(*years: int) -> frozenset[dt.date]:
    """The public holidays (helligdage) of ``years`` only — when offices are closed by law, e.g. for the first
    working day of a month."""
    import holidays

    return frozenset(holidays.country_holidays("DK", years=sorted(set(years))).keys())
