"""The rules as pure functions, on small hand-made hourly data, numbers checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.anomaly import model as model_mod
from energimon.analytics.anomaly import rules
from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.findings import Finding, supersede
from energimon.analytics.anomaly.settings import (
    CusumRule,
    DataQualityRule,
    DeviationRule,
    NeverBaseRule,
    NightLoadRule,
    OutOfHoursRule,
    SiteCalendarSettings,
)

TZ = "Europe/Copenhagen"
# Town hall: open Mon-Fri 07:30-16:00
CAL = SiteCalendar(SiteCalendarSettings(
    opening_hours={d: "07:30-16:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    closures=[{"start": "2026-11-20", "end": "2026-11-20", "reason": "Lukket pga. flytning"}]))


def building(days: int = 42, start: str = "2026-10-26", base_kw: float = 10.0, open_kw: float = 40.0,
             cal: SiteCalendar = CAL) -> pd.DataFrame:
    """Base load around the clock plus ``open_kw`` extra in open hours (kWh per hour = kW)."""
    idx = pd.date_range(start, periods=days * 24, freq="1h", tz=TZ)
    is_open = cal.open_mask(idx)
    kwh = pd.Series(np.where(is_open, base_kw + open_kw, base_kw), index=idx)
    return rules.hourly_frame(kwh, cal, grace_h=1.0)


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def test_night_reference_and_night_load():
    h = building()
    # from the night of Tue 1 Dec: 6 kW extra in the night (ventilation left on 22-06)
    mask = (h.index >= at("2026-11-30 22:00")) & ((h.index.hour >= 22) | (h.index.hour < 6))
    h.loc[mask, "kwh"] += 6.0
    p = NightLoadRule()
    night = rules.night_kw_by_date(h, p.night_start_h, p.night_end_h)
    assert night[dt.date(2026, 11, 25)] == 10.0
    # reference: the nights 28 + 7 days back, all 10 kW
    assert rules.reference_kw(night, dt.date(2026, 12, 2)) == 10.0
    f = rules.night_load(h, night, at("2026-12-02 09:00"), p, "soro-raadhus", "hovedmaaler")
    assert f is not None and f.rule == "night_load"
    # limit = max(10 * 1.25, 10 + 1.0) = 12.5 kW; night = 16 kW
    assert f.evidence["night_kw"] == 16.0 and f.evidence["limit_kw"] == 12.5
    # since: the first bad night, 1 Dec 01:00 local = 00:00 UTC
    assert f.since == dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    # impact: closed hours (with 1 h grace: outside 06:30-17:00 → 13 closed hours 17..05 of the last 24 h)
    # in [Tue 09:00, Wed 09:00): 17-22 = 5 h at 10 kW (0 excess), 22-06 = 8 h at 16 kW (6 excess) → 48 kWh
    assert f.kwh_per_day == 48.0
    # before the fault: silent
    assert rules.night_load(h, night, at("2026-11-30 09:00"), p, "s", "d") is None


def test_night_load_needs_seven_reference_nights():
    h = building(days=12)
    night = rules.night_kw_by_date(h)
    # 12 days of data, reference window ends 7 days back: at most 5 nights → no verdict
    assert np.isnan(rules.reference_kw(night, dt.date(2026, 11, 6)))
    h.loc[h.index >= at("2026-11-05"), "kwh"] += 20
    assert rules.night_load(h, night, at("2026-11-06 09:00"), NightLoadRule(), "s", "d") is None


def test_out_of_hours_on_a_weekend_but_not_on_a_holiday_or_closure():
    h = building(days=70)
    p = OutOfHoursRule()
    # a normal Saturday: silent
    assert rules.out_of_hours(h, 10.0, at("2026-11-29 00:00"), p, (1, 5), "s", "d") is None
    # Saturday 28 Nov 09:00-14:00: someone uses the hall (5 h at 30 kW)
    h2 = h.copy()
    h2.loc[(h2.index >= at("2026-11-28 09:00")) & (h2.index < at("2026-11-28 14:00")), "kwh"] = 30.0
    f = rules.out_of_hours(h2, 10.0, at("2026-11-29 00:00"), p, (1, 5), "s", "d")
    assert f is not None and f.evidence["hours"] == 5
    # limit = max(10 * 1.4, 10 + 1.5) = 14 kW; excess = 5 h * (30 - 10) kW = 100 kWh
    assert f.evidence["limit_kw"] == 14.0 and f.kwh_per_day == 100.0
    # Juledag (Fri 25 Dec) and the configured closure (Fri 20 Nov): the building is closed and its load
    # is the base load → no out-of-hours alert.  If the calendar did not know these days, the same data
    # on an ordinary Friday would be fine too; the point is the other way round: a *normal* working day
    # pattern on these days would be a finding, a closed pattern is not.
    for day in ("2026-12-25", "2026-11-20"):
        assert not h.loc[at(day): at(day) + pd.Timedelta(hours=23), "open"].any()
        assert rules.out_of_hours(h, 10.0, at(day) + pd.Timedelta(days=1), p, (1, 5), "s", "d") is None


def test_holiday_with_staff_heating_up_is_open_only_when_configured_as_event():
    cal = SiteCalendar(SiteCalendarSettings(
        opening_hours={d: "07:30-16:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        events=[{"start": "2026-12-26T10:00", "end": "2026-12-26T15:00", "reason": "Julemarked"}]))
    h = building(days=70, cal=cal)
    h.loc[(h.index >= at("2026-12-26 10:00")) & (h.index < at("2026-12-26 15:00")), "kwh"] = 50.0
    # the Christmas market is a configured event: open hours, no alert
    assert rules.out_of_hours(h, 10.0, at("2026-12-27 00:00"), OutOfHoursRule(), (1, 5), "s", "d") is None
    h_nocal = building(days=70)
    h_nocal.loc[(h_nocal.index >= at("2026-12-26 10:00")) & (h_nocal.index < at("2026-12-26 15:00")), "kwh"] = 50
    assert rules.out_of_hours(h_nocal, 10.0, at("2026-12-27 00:00"), OutOfHoursRule(), (1, 5), "s", "d")


def test_never_base_and_supersede():
    h = building()
    # lights left on from Fri 27 Nov 16:00: +8 kW around the clock
    h.loc[h.index >= at("2026-11-27 16:00"), "kwh"] += 8.0
    f = rules.never_base(h, 10.0, at("2026-11-30 06:00"), NeverBaseRule(), "s", "d")
    assert f is not None
    # lowest hour 18 kW; limit = max(10 * 1.3, 10 + 1.5) = 13; impact = (18 - 10) * 24 = 192 kWh/day
    assert f.evidence["lowest_kw_24h"] == 18.0 and f.evidence["limit_kw"] == 13.0 and f.kwh_per_day == 192.0
    assert f.since == at("2026-11-27 16:00").to_pydatetime()
    night = rules.night_kw_by_date(h)
    n = rules.night_load(h, night, at("2026-11-30 06:00"), NightLoadRule(), "s", "d")
    assert n is not None
    kept = supersede([n, f, Finding("stale_data", "s", "d", "warning", f.since)])
    assert sorted(x.rule for x in kept) == ["never_base", "stale_data"]


def test_stuck_counter_reset_and_impossible():
    p = DataQualityRule()
    idx = pd.date_range("2026-11-01", periods=48, freq="1h", tz=TZ)
    kwh = pd.Series(10.0, index=idx)
    kwh.iloc[-7:] = 0.0  # the counter stands still for 7 hours at night (no PV)
    f = rules.stuck_counter(kwh, None, 10.0, idx[-1] + pd.Timedelta(hours=1), p, "s", "d", "energy_import_wh")
    assert f is not None and f.evidence["hours_without_change"] == 7
    kwh.iloc[-7] = np.nan  # a gap is not a stuck value: now only 6 zero hours → exactly the limit, still stuck
    assert rules.stuck_counter(kwh, None, 10.0, idx[-1] + pd.Timedelta(hours=1), p, "s", "d", "x") is not None
    kwh.iloc[-6] = np.nan  # 5 hours: not yet
    assert rules.stuck_counter(kwh, None, 10.0, idx[-1] + pd.Timedelta(hours=1), p, "s", "d", "x") is None
    # PV covers the load at midday: zero import with PV is no evidence
    kwh2 = pd.Series(10.0, index=idx)
    kwh2.iloc[-7:] = 0.0
    pv = pd.Series(0.0, index=idx)
    pv.iloc[-7:] = 30.0
    assert rules.stuck_counter(kwh2, pv, 10.0, idx[-1] + pd.Timedelta(hours=1), p, "s", "d", "x") is None

    end = pd.Timestamp("2026-11-02 12:00", tz="UTC")
    resets = pd.DataFrame({"time": [pd.Timestamp("2026-11-02 03:00", tz="UTC")], "before": [123456.0],
                           "after": [12.0]})
    f = rules.counter_resets(resets, end, p, "s", "d", "energy_import_wh")
    assert f is not None and f.evidence["before"] == 123456.0 and f.severity == "info"
    assert rules.counter_resets(resets, end + pd.Timedelta(hours=25), p, "s", "d", "x") is None

    # rated 50 kW + 10 % = 55 kW; a reading of 500 kW (scale error ×10) is impossible
    f = rules.impossible_values(500_000.0, 48.0, 50_000.0, end, p, "s", "d", "power_w")
    assert f is not None and f.evidence["limit_w"] == 55_000.0
    assert rules.impossible_values(54_000.0, 48.0, 50_000.0, end, p, "s", "d", "power_w") is None
    # a counter jump: 80 kWh in one hour from a 50 kW meter (80 kW mean > 55 kW)
    assert rules.impossible_values(float("nan"), 80.0, 50_000.0, end, p, "s", "d", "energy_import_wh")
    assert rules.impossible_values(500_000.0, 1.0, None, end, p, "s", "d", "power_w") is None


def test_stale_and_offline_device():
    now = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
    rows = pd.DataFrame({"site": "s", "device": "d", "role": "grid",
                         "channel": ["power_w", "device_online"],
                         "time": [now - dt.timedelta(minutes=45), now - dt.timedelta(minutes=1)],
                         "value": [1000.0, 1.0]})
    f = rules.stale_device(rows, now, DataQualityRule(), "s", "d", "grid")
    assert f is not None and f.rule == "stale_data" and f.evidence["minutes_without_data"] == 45
    rows.loc[1, "value"] = 0.0
    f = rules.stale_device(rows, now, DataQualityRule(), "s", "d", "grid")
    assert f is not None and f.rule == "device_offline"
    fresh = rows.assign(time=now - dt.timedelta(minutes=2), value=[1.0, 1.0])
    assert rules.stale_device(fresh, now, DataQualityRule(), "s", "d", "grid") is None


def test_expected_model_change_point_and_deviation_and_cusum():
    # 60 days of a heat meter: 100 kWh/day hot water + 10 kWh/K/day below 15 °C, spread evenly over 24 h
    idx = pd.date_range("2026-10-01", periods=60 * 24, freq="1h", tz=TZ)
    days = np.array([(d - dt.date(2026, 10, 1)).days for d in idx.date])  # local days (25 Oct has 25 hours)
    temp = 12.0 + 6.0 * np.sin(days / 5.0)  # daily mean temperature, 6-18 °C
    daily_kwh = 100.0 + 10.0 * np.maximum(0.0, 15.0 - temp)
    hours_in_day = pd.Series(days).map(pd.Series(days).value_counts()).to_numpy()
    h = pd.DataFrame({"kwh": daily_kwh / hours_in_day, "open": CAL.open_mask(idx), "temp_c": temp}, index=idx)
    m = model_mod.fit_expected(h, min_days=28)
    assert m is not None
    # the time-of-week medians absorb a little of the slope (weekday bins see different days): within 2 %
    assert m.balance_c == pytest.approx(15.0) and m.beta_kwh_per_k_day == pytest.approx(10.0, rel=0.02)
    # too little history: no model
    assert model_mod.fit_expected(h.iloc[: 20 * 24], min_days=28) is None
    # a cold snap at -5 °C: expected = model, e.g. 100 + 10 * (15 - (-5)) = 300 kWh/day — predicted, not an alarm
    cold = h[h.index >= at("2026-11-28")].copy()  # the last whole local day
    cold["temp_c"] = -5.0
    exp = m.daily(cold)["expected_kwh"].iloc[0]
    assert exp == pytest.approx(300.0, rel=0.03)

    # deviation: a setpoint error adds 25 % from day 55: actual = 1.25 × expected
    daily = m.daily(h)
    daily["actual_kwh"] = daily["expected_kwh"]
    dates = list(daily.index)
    daily.loc[dates[55]:, "actual_kwh"] *= 1.25
    p = DeviationRule(min_excess_pct=15, min_excess_kwh_per_day=20, min_days=2)
    assert model_mod.deviation(daily, dates[55], p, "s", "varme") is None  # 1 day < min_days
    f = model_mod.deviation(daily, dates[57], p, "s", "varme")
    assert f is not None and f.evidence["days"] == 3 and f.evidence["excess_pct"] == 25.0
    # kwh_per_day = mean of 0.25 × expected over days 55..57
    assert f.kwh_per_day == pytest.approx(round(0.25 * daily["expected_kwh"].iloc[55:58].mean(), 1))
    # absolute limit: a 25 % excess on a small meter (< 20 kWh/day) does not fire
    small = daily.assign(expected_kwh=daily["expected_kwh"] / 10, actual_kwh=daily["actual_kwh"] / 10)
    assert model_mod.deviation(small, dates[57], p, "s", "varme") is None

    # CUSUM with sigma 10 kWh/day, k = 0.5, h = 5: a +30 kWh/day shift gives z = 3 → S grows 2.5/day:
    # day 1: 2.5, day 2: 5.0 (not > 5), day 3: 7.5 > 5 → fires on the third day
    d2 = daily.assign(actual_kwh=daily["expected_kwh"])
    d2.loc[dates[50]:, "actual_kwh"] += 30.0
    c = CusumRule(k_sigma=0.5, h_sigma=5.0, min_shift_pct=5)
    assert model_mod.cusum(d2, dates[51], 10.0, c, "s", "d") is None
    f = model_mod.cusum(d2, dates[52], 10.0, c, "s", "d")
    assert f is not None and f.evidence["cusum_sigma"] == 7.5 and f.kwh_per_day == 30.0
    assert f.since == pd.Timestamp(dt.datetime.combine(dates[50], dt.time()), tz=TZ).to_pydatetime()


def test_cusum_skips_calendar_special_days():
    # a school holiday week with more use than the model knows is not a level shift
    dates = [dt.date(2026, 2, 1) + dt.timedelta(days=i) for i in range(28)]
    daily = pd.DataFrame({"expected_kwh": 500.0, "actual_kwh": 500.0, "special": False}, index=pd.Index(dates))
    daily.loc[dates[20]:dates[26], ["actual_kwh", "special"]] = [560.0, True]  # uge 7: +60 kWh/day = 6 sigma
    c = CusumRule()
    assert model_mod.cusum(daily, dates[26], 10.0, c, "s", "d") is None
    # the same days unmarked: S grows by 6 - 0.5 = 5.5 per day → 11 > 6 after two days → fires
    f = model_mod.cusum(daily.assign(special=False), dates[26], 10.0, c, "s", "d")
    assert f is not None and f.kwh_per_day == 60.0
