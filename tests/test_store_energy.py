"""store/energy.py: the one completeness rule with its reasons, days from hours (23/25-hour days), the site balance.

Every expected value is computed by hand in the comments from the readings written here, on the real SQLite store.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from energimon.calendar import local_midnight
from energimon.model import LOCAL_TZ, Reading, SeriesKey
from energimon.store import energy
from energimon.store.sqlite import SqliteStore

SITE = "soro-raadhus"
IMP = SeriesKey(SITE, "hovedmaaler", "energy_import_wh")
EXP = SeriesKey(SITE, "hovedmaaler", "energy_export_wh")
PV = SeriesKey(SITE, "inverter", "pv_energy_wh")
ROLE = {"hovedmaaler": "grid", "inverter": "pv", "datahub": "grid"}


def at(day: dt.date, minutes: float) -> int:
    """Epoch ms of local midnight of ``day`` + ``minutes`` (of elapsed time, not wall clock)."""
    return int(local_midnight(day).timestamp() * 1000 + minutes * 60_000)


def write(store: SqliteStore, key: SeriesKey, points: dict[int, float]) -> None:
    store.write([Reading(key.site, key.device, key.channel, ROLE[key.device], t, v) for t, v in points.items()])


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "s.db")
    yield s
    s.close()


D = dt.date(2026, 1, 15)  # a 24-hour day (CET)


def test_each_hour_known_or_unknown_with_its_reason(store):
    # readings every 10 min (gap threshold max(900 s, 2.5 x 600 s) = 1500 s), +100 Wh per 10 min, except:
    pts: dict[int, float] = {}
    v = 0.0
    for k in range(0, 61):  # 00:00 .. 10:00, in 10-minute steps
        m = 10 * k
        if 140 <= m <= 150:  # 02:20 and 02:30 follow a reset to 0 at 02:20 (meter swap)
            v = 0.0 if m == 140 else v + 100
        elif 230 < m < 320:  # no readings 03:50-05:20 (a gap of 90 min in which the counter rose by 500)
            continue
        elif m == 320:
            v += 500
        elif 390 < m < 520:  # no readings 06:30-08:40, and the counter flat across it (nothing used)
            continue
        elif m == 520:
            pass
        elif m > 0:
            v += 100
        pts[at(D, m)] = v
    pts[at(D, 615)] = v + 150  # the last reading, 10:15 (+150 Wh in 15 min)
    write(store, IMP, pts)
    h = energy.counter_hours(store, IMP, local_midnight(D), local_midnight(D + dt.timedelta(days=1))).hours
    assert len(h) == 24
    got = dict(zip(h.index.hour, zip(h["energy_wh"], h["reason"], strict=True), strict=True))
    assert got[0] == (600.0, "") and got[1] == (600.0, "")  # six steps of 100 Wh
    assert math.isnan(got[2][0]) and got[2][1] == "reset"  # 02:10 -> 02:20 went backwards
    # 03:00-04:00: readings up to 03:50, then the gap that crosses 04:00 and 05:00: unattributable
    for hour in (3, 4, 5):
        assert math.isnan(got[hour][0]) and got[hour][1] == "gap"
    # 06:00-07:00: readings to 06:30 (300 Wh), then the flat gap: a proven zero for 06:30-07:00 -> 300 Wh
    assert got[6] == (300.0, "")
    assert got[7] == (0.0, "")  # entirely inside the flat gap: zero, proven
    assert got[8] == (200.0, "")  # flat to 08:40, then 08:50 and 09:00: 2 x 100 Wh
    assert got[9] == (600.0, "")
    # 10:00-10:15 read, the rest of the hour not (yet): partial; after the last reading nothing
    assert math.isnan(got[10][0]) and got[10][1] == "partial"
    assert all(math.isnan(got[hour][0]) and got[hour][1] == "no_data" for hour in range(11, 24))


def test_days_from_hours_on_dst_days(store):
    spring, autumn = dt.date(2026, 3, 29), dt.date(2026, 10, 25)
    # hourly readings, +1000 Wh an hour, over two days from each DST change day (counted in elapsed hours)
    for first in (spring, autumn):
        t0 = at(first, 0)
        write(store, IMP, {t0 + 3_600_000 * k: 1000.0 * (k + (first == autumn) * 10**6) for k in range(50)})
    days = energy.daily_energy_wh(store, IMP, spring, spring + dt.timedelta(days=2))
    # 29 March has 23 hours (02:00 -> 03:00), 30 March 24: 23 000 and 24 000 Wh
    assert list(days["hours"]) == [23, 24] and list(days["energy_wh"]) == [23_000.0, 24_000.0]
    days = energy.daily_energy_wh(store, IMP, autumn, autumn + dt.timedelta(days=1))
    assert list(days["hours"]) == [25] and list(days["energy_wh"]) == [25_000.0]  # 25 October: 25 hours
    # a day whose hours are not all in the given hours is not known (the first day of a 70-day window)
    hours = energy.counter_hours(store, IMP, local_midnight(autumn) + dt.timedelta(hours=5),
                                 local_midnight(autumn + dt.timedelta(days=2))).hours
    d = energy.daily(hours["energy_wh"], hours["reason"])
    # (aware datetimes add wall-clock time: 00:00 + 5 h is 05:00 local, 6 elapsed hours into the 25-hour day)
    assert list(d["hours_known"]) == [19, 24] and math.isnan(d["energy_wh"].iloc[0])  # 25 - 6 hours
    assert list(d["reason"]) == ["partial", ""]


def test_a_day_with_one_unknown_hour_is_unknown_with_that_hours_reason(store):
    pts = {at(D, 60 * k): 1000.0 * k for k in range(25)}
    del pts[at(D, 60 * 12)]  # hourly readings (threshold 9000 s): one missing reading is no gap ...
    write(store, IMP, pts)
    d = energy.daily_energy_wh(store, IMP, D, D + dt.timedelta(days=1))
    assert d["energy_wh"].iloc[0] == 24_000.0  # ... 11:00 -> 13:00 is one interval, interpolated at 12:00
    pts2 = {at(D, 30 * k): 500.0 * k for k in range(49) if not 20 < k < 26}  # 10:00 -> 13:00 missing: a gap
    key = SeriesKey(SITE, "hovedmaaler", "energy_export_wh")
    write(store, key, pts2)
    d = energy.daily_energy_wh(store, key, D, D + dt.timedelta(days=1))
    # the gap 10:00-13:00 (half-hourly data: threshold 4500 s) crosses 11:00 and 12:00: hours 10, 11, 12 unknown
    assert (int(d["hours_known"].iloc[0]), d["reason"].iloc[0]) == (21, "gap") and math.isnan(d["energy_wh"].iloc[0])


def test_site_balance_sums_counters_and_knows_which_are_live(store):
    hours = range(25)
    write(store, IMP, {at(D, 60 * k): 2000.0 * k for k in hours})  # 2 kWh/h imported
    write(store, EXP, {at(D, 60 * k): 500.0 * k for k in hours})  # 0.5 kWh/h exported
    write(store, PV, {at(D, 60 * k): 1500.0 * k for k in hours if k != 12})  # 1.5 kWh/h, a reading missing
    write(store, SeriesKey(SITE, "datahub", "energy_import_wh"), {at(D, 60 * k): 2000.0 * k for k in hours})
    series = store.series()
    meters = energy.site_meters(series, SITE)
    assert meters.consumption == (SeriesKey(SITE, "datahub", "energy_import_wh"), IMP)  # both, sorted
    assert meters.export == ()  # the DataHub series has no export counter: export not measured for the site
    meters = energy.site_meters(series, SITE, live=lambda d: d != "datahub")  # the imported copy left out
    assert (meters.consumption, meters.export, meters.pv) == ((IMP,), (EXP,), (PV,))
    b = energy.site_balance_days(store, meters, D, D + dt.timedelta(days=1))
    # load = 2 - 0.5 + 1.5 = 3 kWh every hour; PV's hourly readings are interpolated over the missing one
    assert list(b.hourly["load_wh"]) == [3000.0] * 24 and (b.hourly["reason"] == "").all()
    assert b.daily()["energy_wh"].iloc[0] == 72_000.0  # 24 x 3000 Wh
    # PV known only from 06:00: its hours before are no_data, so the load is unknown there, with that reason
    store.write([Reading(SITE, "inverter2", "pv_energy_wh", "pv", at(D, 60 * k), 100.0 * k) for k in range(6, 25)])
    two = energy.SiteMeters(SITE, (IMP,), (EXP,), (PV, SeriesKey(SITE, "inverter2", "pv_energy_wh")))
    b = energy.site_balance_days(store, two, D, D + dt.timedelta(days=1))
    assert b.hourly["reason"].iloc[:6].eq("no_data").all() and b.hourly["load_wh"].iloc[:6].isna().all()
    assert list(b.hourly["load_wh"].iloc[6:]) == [3100.0] * 18  # + 0.1 kWh/h of the second inverter
    assert math.isnan(b.daily()["energy_wh"].iloc[0]) and b.daily()["reason"].iloc[0] == "no_data"
    # panels started at noon the next day: before it, PV (here: the second inverter's missing hours) is zero
    b = energy.site_balance_days(store, energy.SiteMeters(SITE, (IMP,), (), (PV,), pv_since=D + dt.timedelta(days=1)),
                                 D, D + dt.timedelta(days=1))
    assert list(b.hourly["load_wh"]) == [2000.0] * 24 and not b.export_metered  # import only, no export counter


def test_heat_is_its_own_carrier():
    series = pd.DataFrame({"site": [SITE] * 3, "device": ["varme", "hovedmaaler", "varme"],
                           "channel": ["heat_energy_wh", "energy_import_wh", "volume_m3"],
                           "role": ["heat", "grid", "heat"]})
    m = energy.site_meters(series, SITE, "district_heating")
    assert (m.consumption, m.export, m.pv) == ((SeriesKey(SITE, "varme", "heat_energy_wh"),), (), ())
    with pytest.raises(ValueError, match="unknown carrier 'gas'"):
        energy.site_meters(series, SITE, "gas")


def test_empty_hours_give_empty_days():
    d = energy.daily(pd.Series(dtype=float, index=pd.DatetimeIndex([], tz=LOCAL_TZ)))
    assert d.empty and list(d.columns) == ["energy_wh", "hours", "hours_known", "reason"]
    assert np.issubdtype(d["hours"].dtype, np.integer)
