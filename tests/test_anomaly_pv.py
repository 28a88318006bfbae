"""PV rules: the pvlib clear-sky envelope against the modelled clear-day yield, zero production with sunny siblings,
underperformance per kWp, output above the envelope, an inverter offline only in daylight."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.anomaly import pv
from energimon.analytics.anomaly.settings import DataQualityRule, PvRule

TZ = "Europe/Copenhagen"


def test_clear_sky_envelope_against_the_modelled_yield():
    # 50 kWp, south, 30° tilt at 55.43 N 11.56 E: pvlib's PVWatts chain (Ineichen clear sky, Hay-Davies, SAPM cell
    # temperature, PVWatts DC/AC; energimon.analytics.solar.expected, checked against pvlib's ModelChain in
    # test_solar_expected.py) gives the modelled AC yield of a clear day.  The envelope is the plane-of-array
    # clear-sky irradiance × kWp without losses: an upper bound, above that yield by no more than ~15 % in June
    # (warm cells and the inverter) and ~10 % in December (cold cells gain; the inverter's loss remains).
    from energimon.analytics.solar.expected import ArraySpec, clear_sky_day_kwh

    array = ArraySpec(55.43, 11.56, 50.0, 30.0, 180.0, losses_percent=0.0)
    ac_june = clear_sky_day_kwh(array, dt.date(2026, 6, 21))  # 369.1 kWh
    ac_dec = clear_sky_day_kwh(array, dt.date(2026, 12, 21))  # 100.9 kWh
    june = pd.date_range("2026-06-21", periods=24, freq="1h", tz=TZ)
    dec = pd.date_range("2026-12-21", periods=24, freq="1h", tz=TZ)
    e_june = pv.clearsky_hourly_kwh(june, 55.43, 11.56, [(50, 30, 180)])["clear_kwh"].sum()
    e_dec = pv.clearsky_hourly_kwh(dec, 55.43, 11.56, [(50, 30, 180)])["clear_kwh"].sum()
    assert ac_june <= e_june <= ac_june * 1.15  # 414.0 kWh
    assert ac_dec <= e_dec <= ac_dec * 1.10  # 108.4 kWh


def frame(days: int = 7, ratio: float = 0.7, sib: float = 0.7, kwp: float = 60.0) -> pd.DataFrame:
    idx = pd.date_range("2026-06-01", periods=days * 24, freq="1h", tz=TZ)
    cs = pv.clearsky_hourly_kwh(idx, 55.43, 11.56, [(kwp, 30, 180)])
    return pd.DataFrame({"pv_kwh": cs["clear_kwh"] * ratio, "clear_kwh": cs["clear_kwh"],
                         "poa_w_m2": cs["poa_w_m2"], "sib_ratio": sib}, index=idx)


def test_zero_in_daylight_when_the_siblings_have_sun():
    f = frame()
    day = (f.index >= pd.Timestamp("2026-06-07 00:00", tz=TZ))
    f.loc[day, "pv_kwh"] = 0.0  # the inverter tripped at midnight
    end = pd.Timestamp("2026-06-07 12:00", tz=TZ)
    z = pv.pv_zero(f, end, PvRule(), "s", "inv1")
    assert z is not None and z.severity == "critical"
    # lost = siblings' ratio × clear-sky over the zero daylight hours
    hours = f[(f.index >= pd.Timestamp("2026-06-07", tz=TZ)) & (f.index < end) & (f["poa_w_m2"] >= 250)]
    assert z.evidence["daylight_hours"] == len(hours)
    assert z.kwh_per_day == pytest.approx(round(float((0.7 * hours["clear_kwh"]).sum()), 1))
    # an overcast day everywhere (siblings at 10 %) is not a fault
    f["sib_ratio"] = 0.1
    assert pv.pv_zero(f, end, PvRule(), "s", "inv1") is None


def test_underperformance_minus_30_percent_per_kwp():
    f = frame(days=8, ratio=0.7 * 0.7, sib=0.7)  # a string failure: −30 % against the siblings
    end = pd.Timestamp("2026-06-09 00:00", tz=TZ)
    u = pv.pv_underperformance(f, end, PvRule(), "s", "inv1", kwp=60.0)
    assert u is not None and u.evidence["relative_pct"] == 70 and u.evidence["limit_pct"] == 82
    # lost per day = (0.7 − 0.49) × Σ clear-sky of the counted hours / 5 days
    assert u.kwh_per_day > 0
    ok = frame(days=8, ratio=0.66, sib=0.7)  # 94 %: normal spread
    assert pv.pv_underperformance(ok, end, PvRule(), "s", "inv1", kwp=60.0) is None


def test_above_envelope_and_offline_only_in_daylight():
    f = frame(ratio=0.7)
    end = pd.Timestamp("2026-06-07 18:00", tz=TZ)
    assert pv.pv_envelope(f, end, PvRule(), "s", "inv1", 60.0) is None
    f["pv_kwh"] = f["clear_kwh"] * 0.7 * 10  # W read as 10 W: a scale error
    e = pv.pv_envelope(f, end, PvRule(), "s", "inv1", 60.0)
    assert e is not None and e.evidence["kwp"] == 60.0
    now = dt.datetime(2026, 6, 7, 10, 0, tzinfo=dt.UTC)
    rows = pd.DataFrame({"channel": ["pv_power_w", "device_online"], "value": [0.0, 0.0],
                         "time": [now - dt.timedelta(minutes=50), now - dt.timedelta(minutes=1)]})
    assert pv.pv_offline(rows, now, True, DataQualityRule(), "s", "inv1") is not None
    assert pv.pv_offline(rows, now, False, DataQualityRule(), "s", "inv1") is None  # asleep at night
    rows["value"] = [5000.0, 1.0]
    rows["time"] = now - dt.timedelta(minutes=1)
    assert pv.pv_offline(rows, now, True, DataQualityRule(), "s", "inv1") is None
    assert np.isfinite(f["clear_kwh"]).all()
