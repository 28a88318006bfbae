"""Solar KPIs against hand-computed hours, on the real SQLite store (tmp_path).

Every expected number below is worked out by hand in the comments; none is produced by the code under test.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.solar import kpis
from energimon.analytics.solar.expected import ArraySpec, clear_sky_hourly
from energimon.model import LOCAL_TZ, Reading
from energimon.sites import PvArray, Site
from energimon.store.sqlite import SqliteStore

SITE = "test-site"
DAY = dt.date(2026, 6, 10)


def _ms(local: pd.Timestamp) -> int:
    return int(local.tz_convert("UTC").value // 1_000_000)


def _counter_readings(device, role, channel, per_hour_wh, day=DAY, start_wh=1_000_000.0):
    """Readings exactly on each local hour edge of ``day`` (and the next midnight): the counter
    advances by ``per_hour_wh[h]`` in hour h."""
    t0 = pd.Timestamp(day).tz_localize(LOCAL_TZ)
    edges = pd.date_range(t0.tz_convert("UTC"), periods=len(per_hour_wh) + 1, freq="1h")
    values = start_wh + np.concatenate(([0.0], np.cumsum(per_hour_wh)))
    return [Reading(SITE, device, channel, role, int(e.value // 1_000_000), float(v))
            for e, v in zip(edges, values, strict=True)]


# The hand-made day (local hours, Wh per hour):
#   00-06 and 20-24 (10 h, night):   import 10 000, PV 0,      export 0
#   06-09 (3 h, morning):            import  8 000, PV 5 000,  export 0
#   09-15 (6 h, midday, exporting):  import      0, PV 30 000, export 12 000
#   15-20 (5 h, evening):            import  6 000, PV 4 000,  export 0
IMP = [10_000] * 6 + [8_000] * 3 + [0] * 6 + [6_000] * 5 + [10_000] * 4
PV = [0] * 6 + [5_000] * 3 + [30_000] * 6 + [4_000] * 5 + [0] * 4
EXP = [0] * 9 + [12_000] * 6 + [0] * 9
# Irradiance sensor (W/m², constant within each hour): 0 at night, 100 morning/evening, 600 midday.
IRR = [0] * 6 + [100] * 3 + [600] * 6 + [100] * 5 + [0] * 4


def _site(irradiance: str | None = None, kwp: float = 50.0) -> Site:
    return Site(name="Testhus Ærø", latitude=55.43, longitude=11.56,
                pv=[PvArray(id="tag", kwp=kwp, tilt_deg=30, azimuth_deg=180, irradiance=irradiance)])


def _irradiance_readings(values_w_m2, day=DAY):
    t0 = pd.Timestamp(day).tz_localize(LOCAL_TZ)
    out = []
    for h, g in enumerate(values_w_m2):
        for q in range(4):  # every 15 min
            t = t0.tz_convert("UTC") + pd.Timedelta(hours=h, minutes=15 * q)
            out.append(Reading(SITE, "pyranometer", "irradiance_w_m2", "weather", int(t.value // 1_000_000), float(g)))
    return out


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "store.db")
    yield s
    s.close()


def _write_day(store, with_export=True, with_irradiance=False):
    r = _counter_readings("hovedmaaler", "grid", "energy_import_wh", IMP)
    if with_export:
        r += _counter_readings("hovedmaaler", "grid", "energy_export_wh", EXP, start_wh=500_000.0)
    r += _counter_readings("inverter", "pv", "pv_energy_wh", PV, start_wh=2_000_000.0)
    if with_irradiance:
        r += _irradiance_readings(IRR)
    assert not store.write(r)


def test_pure_formulas_hand_computed():
    # export hour: import 0, PV 30 000, export 12 000 -> load 18 000, SCR 18/30 = 0.6, SSR (18-0)/18 = 1
    assert kpis.consumption_wh(0, 30_000, 12_000) == 18_000
    assert kpis.self_consumption_ratio(30_000, 12_000) == pytest.approx(0.6)
    assert kpis.self_sufficiency_ratio(0, 30_000, 12_000) == pytest.approx(1.0)
    # night: PV 0 -> self-consumption undefined (NaN, not 0 and not 100 %); SSR (10-10)/10 = 0
    assert math.isnan(kpis.self_consumption_ratio(0, 0))
    assert kpis.self_sufficiency_ratio(10_000, 0, 0) == 0.0
    # morning: import 8 000, PV 5 000 -> load 13 000, SSR 5/13
    assert kpis.self_sufficiency_ratio(8_000, 5_000, 0) == pytest.approx(5 / 13)
    # Y_f = 215 kWh / 50 kWp = 4.3 h; Y_r = 4 400 Wh/m² / 1 000 W/m² = 4.4 h; PR = 4.3/4.4
    assert kpis.final_yield_kwh_per_kwp(215_000, 50) == pytest.approx(4.3)
    assert kpis.reference_yield_h(4_400) == pytest.approx(4.4)
    assert kpis.performance_ratio(4.3, 4.4) == pytest.approx(0.977272727)
    assert math.isnan(kpis.performance_ratio(1.0, 0.0))
    with pytest.raises(ValueError):
        kpis.final_yield_kwh_per_kwp(1, 0)


def test_hours_and_day_from_store_hand_computed(store):
    _write_day(store, with_irradiance=True)
    inputs = kpis.site_inputs(SITE, _site("pyranometer"), store.series())
    assert [k.device for k in inputs.pv] == ["inverter"] and inputs.grid_export
    res = kpis.site_kpis(store, inputs, DAY, DAY + dt.timedelta(days=1))
    h = res.hourly
    assert len(h) == 24
    # 02-03 (night): import 10 000, PV 0, export 0 -> load 10 000; not producing
    night = h.loc[pd.Timestamp("2026-06-10 02:00", tz=LOCAL_TZ)]
    assert (night.import_wh, night.pv_wh, night.export_wh, night.consumption_wh) == (10_000, 0, 0, 10_000)
    assert not night.producing
    # 12-13 (export hour): load = 0 + 30 000 - 12 000 = 18 000; self-consumed 18 000
    noon = h.loc[pd.Timestamp("2026-06-10 12:00", tz=LOCAL_TZ)]
    assert (noon.consumption_wh, noon.self_consumed_wh) == pytest.approx((18_000, 18_000))
    hour = kpis.aggregate(h, 50, "hour").loc[pd.Timestamp("2026-06-10 12:00", tz=LOCAL_TZ)]
    assert hour.self_consumption_ratio == pytest.approx(0.6) and hour.self_sufficiency_ratio == pytest.approx(1.0)
    night_kpi = kpis.aggregate(h, 50, "hour").loc[pd.Timestamp("2026-06-10 02:00", tz=LOCAL_TZ)]
    assert math.isnan(night_kpi.self_consumption_ratio) and night_kpi.self_sufficiency_ratio == 0.0

    d = res.daily.iloc[0]
    # import = 10 h × 10 000 + 3 × 8 000 + 5 × 6 000 = 100 000 + 24 000 + 30 000 = 154 000 Wh
    # PV     = 3 × 5 000 + 6 × 30 000 + 5 × 4 000 = 15 000 + 180 000 + 20 000 = 215 000 Wh
    # export = 6 × 12 000 = 72 000 Wh
    assert (d.import_kwh, d.pv_kwh, d.export_kwh) == pytest.approx((154.0, 215.0, 72.0))
    # load = 154 000 + 215 000 - 72 000 = 297 000 Wh; self-consumed = 215 000 - 72 000 = 143 000 Wh
    assert d.consumption_kwh == pytest.approx(297.0) and d.self_consumed_kwh == pytest.approx(143.0)
    # SCR = 143 000 / 215 000 = 0.66512 (ratio of sums; the mean of the hourly ratios would be
    # (3×1 + 6×0.6 + 5×1) / 14 = 0.8286 — wrong)
    assert d.self_consumption_ratio == pytest.approx(143 / 215)
    assert abs(d.self_consumption_ratio - 11.6 / 14) > 0.1
    # SSR = (297 000 - 154 000) / 297 000 = 143 / 297 = 0.48148
    assert d.self_sufficiency_ratio == pytest.approx(143 / 297)
    # Y_f = 215 / 50 = 4.3 kWh/kWp; H_POA = 6 h × 600 + 8 h × 100 = 4 400 Wh/m² -> Y_r 4.4 h; PR = 4.3/4.4
    assert d.final_yield_kwh_per_kwp == pytest.approx(4.3)
    assert d.reference_yield_h == pytest.approx(4.4)
    assert d.performance_ratio == pytest.approx(4.3 / 4.4)
    assert res.reference.kind == "sensor"
    assert d.hours == 24 and d.hours_complete == 24
    # every hour the clear-sky model expects production has PV here (06-20): availability 100 %
    assert d.expected_hours > 8 and d.producing_hours == d.expected_hours and d.availability == 1.0
    m = res.monthly.iloc[0]
    assert m.pv_kwh == pytest.approx(215.0)  # one day of data in the month


def test_clear_sky_reference_is_labelled_and_consistent(store):
    _write_day(store)
    inputs = kpis.site_inputs(SITE, _site(None), store.series())
    res = kpis.site_kpis(store, inputs, DAY, DAY + dt.timedelta(days=1))
    assert res.reference.kind == "clear-sky"
    cs = clear_sky_hourly(ArraySpec(55.43, 11.56, 50, 30, 180), DAY, DAY + dt.timedelta(days=1))
    d = res.daily.iloc[0]
    # Y_r = H_POA(clear sky) / 1 kW/m²; PR = Y_f / Y_r with Y_f = 4.3 kWh/kWp
    y_r = cs["poa_wh_m2"].sum() / 1000.0
    assert d.reference_yield_h == pytest.approx(y_r)
    assert d.performance_ratio == pytest.approx(4.3 / y_r)
    # availability counts the hours with clear-sky AC ≥ 5 % of 50 kWp × 1 h = 2 500 Wh
    assert d.expected_hours == int((cs["ac_wh"] >= 2_500).sum())


def test_net_only_meter_reports_what_cannot_be_computed(store):
    _write_day(store, with_export=False)
    inputs = kpis.site_inputs(SITE, _site(), store.series())
    assert inputs.grid_import and not inputs.grid_export
    res = kpis.site_kpis(store, inputs, DAY, DAY + dt.timedelta(days=1))
    for k in ("export_kwh", "consumption_kwh", "self_consumption_ratio", "self_sufficiency_ratio"):
        assert res.not_computable[k] == "no_export"
        assert math.isnan(res.daily.iloc[0][k]) and math.isnan(res.monthly.iloc[0][k])
    d = res.daily.iloc[0]
    assert d.pv_kwh == pytest.approx(215.0) and d.final_yield_kwh_per_kwp == pytest.approx(4.3)
    assert d.import_kwh == pytest.approx(154.0)


def test_dst_days_add_up(store):
    # 1 000 Wh of import and 0 PV every hour from 28 March to 26 October 2026 (hourly readings on the edges)
    start, end = dt.date(2026, 3, 28), dt.date(2026, 10, 27)
    t0 = pd.Timestamp(start).tz_localize(LOCAL_TZ).tz_convert("UTC")
    n = int((pd.Timestamp(end).tz_localize(LOCAL_TZ).tz_convert("UTC") - t0) / pd.Timedelta(hours=1))
    readings = []
    for i in range(n + 1):
        ts = int((t0 + pd.Timedelta(hours=i)).value // 1_000_000)
        readings += [Reading(SITE, "hovedmaaler", "energy_import_wh", "grid", ts, 1000.0 * i),
                     Reading(SITE, "hovedmaaler", "energy_export_wh", "grid", ts, 0.0),
                     Reading(SITE, "inverter", "pv_energy_wh", "pv", ts, 0.0)]
    assert not store.write(readings)
    inputs = kpis.site_inputs(SITE, _site(), store.series())
    res = kpis.site_kpis(store, inputs, start, end)
    d = res.daily
    # 29 March: 23 local hours -> 23 kWh; 25 October: 25 hours -> 25 kWh; other days 24
    assert d.loc[pd.Timestamp("2026-03-29", tz=LOCAL_TZ), ["hours", "import_kwh"]].tolist() == [23, 23.0]
    assert d.loc[pd.Timestamp("2026-10-25", tz=LOCAL_TZ), ["hours", "import_kwh"]].tolist() == [25, 25.0]
    assert d.loc[pd.Timestamp("2026-03-28", tz=LOCAL_TZ), "import_kwh"] == 24.0
    # the days add up to the months and to the store's own day windows
    m = res.monthly
    # March: 28 and 30-31 March = 3 × 24 h + 23 h on the 29th = 95 kWh; October 1-26: 25 × 24 + 25 = 625 kWh
    assert m.loc[pd.Timestamp("2026-03-01", tz=LOCAL_TZ), "import_kwh"] == pytest.approx(95.0)
    assert m.loc[pd.Timestamp("2026-10-01", tz=LOCAL_TZ), "import_kwh"] == pytest.approx(625.0)
    assert d["import_kwh"].sum() == pytest.approx(m["import_kwh"].sum())
    t_start, t_end = kpis.local_range(start, end)
    store_days = store.energy(inputs.grid_import[0], t_start, t_end, "day").windows["energy_wh"] / 1000.0
    np.testing.assert_allclose(d["import_kwh"].to_numpy(), store_days.to_numpy())
    # zero production all along: self-consumption undefined, self-sufficiency 0, Y_f 0
    assert d["self_consumption_ratio"].isna().all() and (d["self_sufficiency_ratio"] == 0).all()
    assert (d["final_yield_kwh_per_kwp"] == 0).all()


def test_gaps_night_sleep_is_zero_and_a_real_gap_is_unknown(store):
    # PV counter every 10 min; the inverter sleeps 22:00-05:00 (no readings, counter unchanged): those hours
    # are a proven 0.  On the import counter, a gap 12:00-14:30 with energy in it: hours 12, 13, 14 unknown.
    t0 = pd.Timestamp(DAY).tz_localize(LOCAL_TZ)
    pv, imp, exp = [], [], []
    e_pv = 0.0
    for k in range(0, 24 * 6 + 1):
        t = t0 + pd.Timedelta(minutes=10 * k)
        hour = (t - t0) / pd.Timedelta(hours=1)
        producing = 5 <= hour < 22
        ts = _ms(t)
        if producing or hour in (5.0, 22.0):  # asleep outside 05-22 (readings at the edges only)
            pv.append(Reading(SITE, "inverter", "pv_energy_wh", "pv", ts, e_pv))
        if producing and hour < 22:
            e_pv += 500.0  # 3 000 Wh per hour
        if not (12 < hour < 14.5):
            imp.append(Reading(SITE, "hovedmaaler", "energy_import_wh", "grid", ts, 1000.0 * k))
        exp.append(Reading(SITE, "hovedmaaler", "energy_export_wh", "grid", ts, 0.0))
    # readings before/after the day so the night edges are interpolable
    pv.insert(0, Reading(SITE, "inverter", "pv_energy_wh", "pv", _ms(t0 - pd.Timedelta(hours=2)), 0.0))
    pv.append(Reading(SITE, "inverter", "pv_energy_wh", "pv", _ms(t0 + pd.Timedelta(hours=29)), e_pv))
    assert not store.write(pv + imp + exp)
    inputs = kpis.site_inputs(SITE, _site(), store.series())
    res = kpis.site_kpis(store, inputs, DAY, DAY + dt.timedelta(days=1))
    h = res.hourly
    # night hours (00-05, 22-24) proven 0 from a flat counter across the gap
    assert (h["pv_wh"].iloc[:5] == 0).all() and (h["pv_wh"].iloc[22:] == 0).all()
    # day hours 05-22: 6 readings × 500 Wh = 3 000 Wh each; total 17 h × 3 000 = 51 000 Wh
    assert (h["pv_wh"].iloc[5:22] == 3000).all()
    assert res.daily.iloc[0].pv_kwh == pytest.approx(51.0)
    # import: 6 000 Wh per hour (10 min × 1 000), but hours 12, 13, 14 are unknown (the gap crosses them)
    assert h["import_wh"].iloc[12:15].isna().all()
    assert (h["import_wh"].drop(h.index[12:15]) == 6000).all()
    d = res.daily.iloc[0]
    # import sums the 21 known hours: 21 × 6 000 = 126 000 Wh; complete hours 21 of 24
    assert d.import_kwh == pytest.approx(126.0) and d.hours_complete == 21
    # consumption only over the 21 hours where all three are known: 126 000 + PV of those hours
    # (51 000 - 3 × 3 000 = 42 000) - 0 = 168 000 Wh; SSR = 42 000 / 168 000 = 0.25
    assert d.consumption_kwh == pytest.approx(168.0)
    assert d.self_sufficiency_ratio == pytest.approx(0.25)
    # self-consumption: PV and export known every hour -> (51 000 - 0) / 51 000 = 1
    assert d.self_consumption_ratio == pytest.approx(1.0)


def test_per_inverter_and_mppt(store):
    # two inverters: inv-a (array a, 30 kWp) and inv-b (array b, 20 kWp); MPPT DC power 2:1 on inv-a
    site = Site(name="To tage", latitude=55.43, longitude=11.56,
                pv=[PvArray(id="a", kwp=30, tilt_deg=30, azimuth_deg=180, inverter="inv-a"),
                    PvArray(id="b", kwp=20, tilt_deg=30, azimuth_deg=180, inverter="inv-b")])
    r = _counter_readings("inv-a", "pv", "pv_energy_wh", [1000] * 24)
    r += _counter_readings("inv-b", "pv", "pv_energy_wh", [500] * 24)
    t0 = pd.Timestamp(DAY).tz_localize(LOCAL_TZ)
    for k in range(24):
        ts = _ms(t0 + pd.Timedelta(hours=k))
        r += [Reading(SITE, "inv-a-mppt1", "pv_dc_power_w", "pv", ts, 2000.0),
              Reading(SITE, "inv-a-mppt2", "pv_dc_power_w", "pv", ts, 1000.0)]
    assert not store.write(r)
    inputs = kpis.site_inputs(SITE, site, store.series())
    assert inputs.p0_kwp == 50
    res = kpis.site_kpis(store, inputs, DAY, DAY + dt.timedelta(days=1))
    inv = res.inverters.set_index("device")
    # inv-a: 24 × 1 000 Wh = 24 kWh / 30 kWp = 0.8; inv-b: 24 × 500 = 12 kWh / 20 kWp = 0.6
    assert inv.loc["inv-a", "pv_kwh"] == pytest.approx(24.0) and inv.loc["inv-a", "kwh_per_kwp"] == pytest.approx(0.8)
    assert inv.loc["inv-b", "kwh_per_kwp"] == pytest.approx(0.6)
    # site: 36 kWh / 50 kWp = 0.72
    assert res.daily.iloc[0].final_yield_kwh_per_kwp == pytest.approx(0.72)
    shares = res.mppt.set_index("device")["share"]
    assert shares["inv-a-mppt1"] == pytest.approx(2 / 3) and shares["inv-a-mppt2"] == pytest.approx(1 / 3)
    # no grid meter at all: what needs it is named
    assert res.not_computable["import_kwh"] == "no_import"
