"""Savings end to end through the real SQLite store: a synthetic building with a known injected saving."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.baseline import DailyModel
from energimon.analytics.esco.evaluation import evaluate_site
from energimon.analytics.esco.ledger import ledger
from energimon.analytics.esco.settings import EscoSettings
from energimon.analytics.savings import daily_savings, period_savings, portfolio_total
from energimon.analytics.stats import FitStatistics
from energimon.calendar import contract_year
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
SITE = "soro-raadhus"


def esco_settings(**site_extra) -> EscoSettings:
    return EscoSettings(
        contract="Sorø ESCO test", baseline_start=dt.date(2025, 1, 1), baseline_end=dt.date(2026, 1, 1),
        measure_date=dt.date(2026, 1, 1), price_dkk_per_kwh=2.0, temperature=f"{SITE}/vejr/outdoor_temp_c",
        normal_year={"total": 2906, "source": "DTI normalår"},
        co2=[{"carrier": "electricity", "year": 2025, "kg_per_kwh": 0.1, "source": "test"}],
        sites={SITE: {"energy": "hovedmaaler/energy_import_wh", "guarantee_kwh_per_year": 20000, **site_extra}},
    )


@pytest.fixture(scope="module")
def building_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("esco") / "store.db"
    store = SqliteStore(path)
    b = SyntheticBuilding(SITE, saving_kwh_per_day=60.0)
    readings, truth = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 5, 1), dt.date(2026, 1, 1), seed=7)
    store.write(readings)
    yield store, truth
    store.close()


def test_injected_saving_is_recovered_within_its_uncertainty(building_store):
    store, truth = building_store
    res = evaluate_site(store, esco_settings(), SITE, "Sorø Rådhus", dt.date(2026, 3, 1))
    assert res.error == ""
    assert res.sufficiency.ok and res.sufficiency.share == pytest.approx(1.0)
    assert res.fit.model.kind == "hdd_only"
    injected = truth.loc[truth.index >= pd.Timestamp("2026-01-01", tz=CPH), "saving_kwh"]
    injected = injected[injected.index < pd.Timestamp("2026-04-01", tz=CPH)].sum()  # 90 days x 60 = 5400 kWh
    assert injected == pytest.approx(5400.0)
    s = res.since_start
    assert s.m == 90 and s.points == 90 and s.unit == "days"
    assert abs(s.savings_kwh - injected) <= s.uncertainty_90_kwh, (s.savings_kwh, s.uncertainty_90_kwh)
    assert s.uncertainty_68_kwh < s.uncertainty_90_kwh
    # month (March, 31 days incl. the DST change) also within its own (wider, fewer days) uncertainty
    assert res.month.m == 31
    assert abs(res.month.savings_kwh - 31 * 60) <= res.month.uncertainty_90_kwh
    # G14: the model fits well, savings are well resolved
    assert res.fit.model.stats.cv_rmse < 0.1 and res.g14_ok, res.g14_notes


def test_dst_month_adds_up(building_store):
    store, _ = building_store
    res = evaluate_site(store, esco_settings(), SITE, "Sorø Rådhus", dt.date(2026, 3, 1))
    march = res.daily[res.daily.index >= pd.Timestamp("2026-03-01", tz=CPH)]
    assert len(march) == 31
    # the month from the store's own month window equals the sum of its local days (one 23-hour day)
    key = SeriesKey(SITE, "hovedmaaler", "energy_import_wh")
    month_wh = store.energy(key, dt.datetime(2026, 3, 1, tzinfo=CPH), dt.datetime(2026, 4, 1, tzinfo=CPH), "month")
    assert march["actual_kwh"].sum() == pytest.approx(month_wh.total_wh / 1000.0, rel=1e-12)
    assert res.month.actual_kwh == pytest.approx(month_wh.total_wh / 1000.0, rel=1e-12)
    # monthly rows add up to since-start; CUSUM ends at the since-start savings
    assert sum(m.savings_kwh for m in res.months) == pytest.approx(res.since_start.savings_kwh)
    assert res.daily["cusum_kwh"].iloc[-1] == pytest.approx(res.since_start.savings_kwh)
    # October 2025 (25-hour day) inside the baseline: the baseline frame's days sum to the month too
    oct_wh = store.energy(key, dt.datetime(2025, 10, 1, tzinfo=CPH), dt.datetime(2025, 11, 1, tzinfo=CPH), "day")
    oct_m = store.energy(key, dt.datetime(2025, 10, 1, tzinfo=CPH), dt.datetime(2025, 11, 1, tzinfo=CPH), "month")
    assert oct_wh.windows["energy_wh"].sum() == pytest.approx(oct_m.total_wh, rel=1e-12)


def test_non_routine_adjustment_raises_baseline(building_store):
    store, _ = building_store
    plain = evaluate_site(store, esco_settings(), SITE, "x", dt.date(2026, 3, 1))
    adj = [{"start": "2026-03-01", "end": "2026-03-11", "kwh_per_day": 50, "reason": "Nyt mødelokale taget i brug"}]
    res = evaluate_site(store, esco_settings(adjustments=adj), SITE, "x", dt.date(2026, 3, 1))
    # 10 days x 50 kWh/day = 500 kWh more baseline -> 500 kWh more savings
    assert res.month.savings_kwh - plain.month.savings_kwh == pytest.approx(500.0)
    pct = [{"start": "2026-03-01", "end": "2026-04-01", "percent": 10, "reason": "Udvidet åbningstid"}]
    res2 = evaluate_site(store, esco_settings(adjustments=pct), SITE, "x", dt.date(2026, 3, 1))
    assert res2.month.adjusted_baseline_kwh == pytest.approx(1.1 * plain.month.adjusted_baseline_kwh)


def test_insufficient_baseline_names_the_reason(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    b = SyntheticBuilding(SITE)
    readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2025, 6, 1), dt.date(2026, 1, 1))
    store.write(readings)
    res = evaluate_site(store, esco_settings(), SITE, "x", dt.date(2026, 3, 1))
    assert res.fit is None and not res.sufficiency.ok
    assert "151 of 365 baseline days usable" in res.error and "< 90%" in res.error
    store.close()


def test_pv_add_back(tmp_path):
    """Panels added after the baseline: gross consumption = import − export + PV production."""
    store = SqliteStore(tmp_path / "s.db")
    b = SyntheticBuilding(SITE, saving_kwh_per_day=0.0, noise_kwh_per_day=5.0)
    readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=3)
    # from 2026-02-01 a PV array produces 30 kWh a day, of which 10 are exported: the grid import drops by 20
    from energimon.model import Reading
    t0 = int(dt.datetime(2026, 2, 1, tzinfo=CPH).timestamp() * 1000)
    imp = [r for r in readings if r.channel == "energy_import_wh"]
    other = [r for r in readings if r.channel != "energy_import_wh"]
    fixed, pv, exp = [], [], []
    for r in imp:
        h = max(0, (r.ts_ms - t0) // 3_600_000)
        fixed.append(Reading(r.site, r.device, r.channel, r.role, r.ts_ms, r.value - h * 20_000 / 24))
    for h in range(0, 24 * 59 + 1):
        pv.append(Reading(SITE, "inverter", "pv_energy_wh", "pv", t0 + h * 3_600_000, h * 30_000 / 24))
        exp.append(Reading(SITE, "hovedmaaler", "energy_export_wh", "grid", t0 + h * 3_600_000, h * 10_000 / 24))
    store.write(fixed + other + pv + exp)
    cfg = dict(export="hovedmaaler/energy_export_wh", pv=["inverter/pv_energy_wh"], pv_installed="2026-02-01")
    gross = evaluate_site(store, esco_settings(**cfg), SITE, "x", dt.date(2026, 3, 1))
    naive = evaluate_site(store, esco_settings(), SITE, "x", dt.date(2026, 3, 1))
    # without add-back the PV looks like a saving: 20/24 kWh per hour over March's 31·24 − 1 = 743 hours
    # (29 March has 23 hours) = 619.1667 kWh
    assert naive.month.savings_kwh - gross.month.savings_kwh == pytest.approx(743 * 20 / 24, rel=1e-6)
    assert abs(gross.month.savings_kwh) <= gross.month.uncertainty_90_kwh  # no measure -> no saving
    store.close()


def _model(cv=0.1, n=365, rho=0.0) -> DailyModel:
    st = FitStatistics(n=n, p=1, mean_y=100, sse=0, r2=0, r2_adj=0, cv_rmse=cv, cv_rmse_n=cv, nmbe=0, nmbe_n=0,
                       rho=rho, n_eff=n * (1 - rho) / (1 + rho))
    return DailyModel("intercept_only", 100.0, stats=st)


def test_cusum_and_missing_days_by_hand():
    days = pd.date_range("2026-03-01", periods=4, freq="D", tz=CPH)
    temp = pd.Series([5.0, 5.0, 5.0, 5.0], index=days)
    actual = pd.Series([90.0, np.nan, 80.0, 110.0], index=days)  # day 2: incomplete meter data
    d = daily_savings(_model(), temp, actual)
    # baseline 100/day: savings 10, NaN, 20, −10;  CUSUM 10, 10, 30, 20
    assert list(d["savings_kwh"].fillna(-999)) == [10.0, -999, 20.0, -10.0]
    assert list(d["cusum_kwh"]) == [10.0, 10.0, 30.0, 20.0]
    p = period_savings("x", d, _model())
    assert (p.points, p.m, p.savings_kwh, p.adjusted_baseline_kwh) == (4, 3, 20.0, 300.0)


def test_portfolio_quadrature():
    days = pd.date_range("2026-03-01", periods=30, freq="D", tz=CPH)
    d = daily_savings(_model(), pd.Series(5.0, index=days), pd.Series(95.0, index=days))
    p = period_savings("x", d, _model())
    tot = portfolio_total([p, p])
    assert tot.savings_kwh == pytest.approx(2 * 150.0)
    assert tot.uncertainty_90_kwh == pytest.approx(np.sqrt(2) * p.uncertainty_90_kwh)


def test_normalised_savings_use_graddagekorrektion():
    # 2 January days at 7 °C: G_actual = 2·(17−7) = 20;  normal 310/31 = 10 per January day -> G_normal = 20
    # -> ratio 1, normalised = actual savings.  At 12 °C: G_actual = 10 -> ratio 2; with f = 0.25:
    # savings 20 · (0.75·2 + 0.25) = 35
    from energimon.analytics.degree_days import NormalYear
    ny = NormalYear(3100, "test", [310.0] + [253.6363636] * 11)
    days = pd.date_range("2026-01-05", periods=2, freq="D", tz=CPH)
    d = daily_savings(_model(), pd.Series([7.0, 7.0], index=days), pd.Series([90.0, 90.0], index=days))
    assert period_savings("x", d, _model(), ny, 0.25).normalised_savings_kwh == pytest.approx(20.0)
    d = daily_savings(_model(), pd.Series([12.0, 12.0], index=days), pd.Series([90.0, 90.0], index=days))
    assert period_savings("x", d, _model(), ny, 0.25).normalised_savings_kwh == pytest.approx(35.0)


def test_ledger_and_contract_year():
    assert contract_year(dt.date(2025, 4, 1), dt.date(2026, 4, 1)) == (dt.date(2025, 4, 1), dt.date(2026, 4, 1))
    assert contract_year(dt.date(2025, 4, 1), dt.date(2026, 5, 1)) == (dt.date(2026, 4, 1), dt.date(2027, 4, 1))
    # 36,500 kWh/year guaranteed, 100 of 365 days elapsed -> 10,000 kWh due; realised 12,000
    # -> surplus 2,000 split 50/50;  realised 7,000 -> shortfall 3,000 paid by the ESCO
    lg = ledger(36500, 12000, dt.date(2026, 1, 1), dt.date(2027, 1, 1), dt.date(2026, 4, 11), 0.5)
    assert (lg.days_elapsed, lg.guarantee_to_date_kwh, lg.surplus_kwh, lg.surplus_municipality_kwh) == (
        100, pytest.approx(10000), pytest.approx(2000), pytest.approx(1000))
    lg = ledger(36500, 7000, dt.date(2026, 1, 1), dt.date(2027, 1, 1), dt.date(2026, 4, 11), 0.5)
    assert lg.shortfall_kwh == pytest.approx(3000) and lg.surplus_kwh == 0


def test_autocorrelation_correction_keeps_the_90_percent_interval_honest():
    """Monte Carlo: AR(1) weather-like residuals (ρ = 0.6).  With the n′ correction the injected saving falls
    inside the 90 % interval in about 90 % of buildings; without it (n′ = n) the interval is too narrow."""
    from energimon.analytics.baseline import fit_caltrack_daily
    from energimon.analytics.stats import savings_uncertainty_kwh

    rng = np.random.default_rng(42)
    days = pd.date_range("2026-01-01", periods=90, freq="D", tz=CPH)
    inside_corrected = inside_naive = 0
    trials = 60
    for _ in range(trials):
        n = 365 + 90
        t = 8 - 9 * np.cos(2 * np.pi * (np.arange(n) - 15) / 365) + rng.normal(0, 3, n)
        e = np.zeros(n)
        for i in range(1, n):
            e[i] = 0.6 * e[i - 1] + rng.normal(0, 10)
        y = 300 + 12 * np.maximum(0, 15 - t) + e
        y[365:] -= 30.0  # injected saving: 30 kWh/day x 90 days = 2700 kWh
        model = fit_caltrack_daily(t[:365], y[:365]).model
        d = daily_savings(model, pd.Series(t[365:], index=days), pd.Series(y[365:], index=days))
        p = period_savings("x", d, model)
        inside_corrected += abs(p.savings_kwh - 2700.0) <= p.uncertainty_90_kwh
        st = model.stats
        naive = savings_uncertainty_kwh(p.adjusted_baseline_kwh, st.cv_rmse, st.n, st.n, model.p, p.m, 0.90)
        inside_naive += abs(p.savings_kwh - 2700.0) <= naive
        assert st.rho > 0.4  # the residuals' lag-1 autocorrelation is seen
    print(f"coverage of the 90 % interval: corrected {inside_corrected}/{trials}, naive {inside_naive}/{trials}")
    assert inside_corrected / trials >= 0.8, inside_corrected
    assert inside_naive <= inside_corrected - 6, (inside_naive, inside_corrected)


def test_esco_config_errors_name_the_key_path():
    from energimon.config.settings import ConfigError, settings_from_dict

    base = {"contract": "x", "baseline_start": dt.date(2025, 1, 1), "baseline_end": dt.date(2026, 1, 1),
            "measure_date": dt.date(2026, 1, 1), "temperature": f"{SITE}/vejr/outdoor_temp_c",
            "normal_year": {"total": 2906, "source": "DTI"}, "price_dkk_per_kwh": 2.0}
    sites = {SITE: {"name": "Sorø Rådhus", "latitude": 55.4, "longitude": 11.5}}
    bad_site = {**base, "sites": {"soroe-raadhus": {"energy": "hovedmaaler/energy_import_wh"}}}
    with pytest.raises(ConfigError) as exc:
        settings_from_dict({"sites": sites, "esco": bad_site})
    assert "esco.sites.soroe-raadhus: unknown site 'soroe-raadhus'; known sites: soro-raadhus" in str(exc.value)
    short = {**base, "baseline_end": dt.date(2025, 6, 1)}
    with pytest.raises(ConfigError, match="at least 12 months"):
        settings_from_dict({"sites": sites, "esco": short})
    adj = {**base, "sites": {SITE: {"energy": "hovedmaaler/energy_import_wh", "adjustments": [
        {"start": dt.date(2026, 2, 1), "end": dt.date(2026, 3, 1), "reason": "x"}]}}}
    with pytest.raises(ConfigError) as exc:
        settings_from_dict({"sites": sites, "esco": adj})
    assert "esco.sites.soro-raadhus.adjustments[0]: give exactly one of 'kwh_per_day' or 'percent'" in str(exc.value)
    chan = {**base, "sites": {SITE: {"energy": "hovedmaaler/energy_wh"}}}
    with pytest.raises(ConfigError, match="unknown channel 'energy_wh'"):
        settings_from_dict({"sites": sites, "esco": chan})


def test_towt_hourly_site_recovers_saving_and_beats_daily_on_a_weekly_schedule(tmp_path):
    """A town hall closed at weekends (40 % use) with office hours: the hourly TOWT model fits far better than the
    daily model and recovers the injected 60 kWh/day within its 90 % uncertainty."""
    store = SqliteStore(tmp_path / "s.db")
    b = SyntheticBuilding(SITE, saving_kwh_per_day=60.0, weekend_factor=0.4, office_hours=True)
    readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=11)
    store.write(readings)
    daily = evaluate_site(store, esco_settings(), SITE, "x", dt.date(2026, 3, 1))
    hourly = evaluate_site(store, esco_settings(model="towt_hourly"), SITE, "x", dt.date(2026, 3, 1))
    store.close()
    assert hourly.granularity == "hour" and hourly.model.kind == "towt_hourly"
    assert hourly.model.occupied_hours == 50  # weekdays 07-17: 5 x 10 hours
    s = hourly.since_start
    assert s.m == 90 * 24 - 1  # hours; 29 March has 23
    assert abs(s.savings_kwh - 5400.0) <= s.uncertainty_90_kwh, (s.savings_kwh, s.uncertainty_90_kwh)
    # the weekly pattern the daily model cannot see: its CV(RMSE) (per day) is much larger than TOWT's per day
    tow_daily = hourly.daily["actual_kwh"].groupby(pd.DatetimeIndex(hourly.daily.index).normalize()).sum()
    assert daily.model.stats.cv_rmse > 0.2
    assert len(tow_daily) == 90
    # both resolutions report the same measured energy for March (same counters, same local month)
    assert hourly.month.actual_kwh == pytest.approx(daily.month.actual_kwh, rel=1e-9)


def monthly_heat_readings(readings, start: str, end: str):
    """Only the heat meter's readings at local midnight on the 1st of each month (a meter read once a month),
    as a district-heating counter; the hourly outdoor temperature stays."""
    from energimon.model import Reading

    firsts = {int(t.timestamp() * 1000) for t in pd.date_range(start, end, freq="MS", tz=CPH)}
    heat = [Reading(r.site, "fjernvarme", "heat_energy_wh", "heat", r.ts_ms, r.value)
            for r in readings if r.channel == "energy_import_wh" and r.ts_ms in firsts]
    return heat + [r for r in readings if r.channel != "energy_import_wh"]


def test_billing_model_recovers_saving_from_monthly_readings(tmp_path):
    """A district-heating meter read once a month: the CalTRACK billing model (12 monthly periods, weighted least
    squares) recovers the injected 60 kWh/day within its 90 % uncertainty, judged by G14's monthly limits."""
    store = SqliteStore(tmp_path / "s.db")
    b = SyntheticBuilding(SITE, saving_kwh_per_day=60.0)
    readings, truth = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=7)
    monthly = monthly_heat_readings(readings, "2025-01-01", "2026-04-01")
    assert sum(r.channel == "heat_energy_wh" for r in monthly) == 16  # Jan 2025 .. Apr 2026
    store.write(monthly)
    cfg = dict(model="caltrack_billing", carrier="district_heating", energy="fjernvarme/heat_energy_wh")
    res = evaluate_site(store, esco_settings(**cfg), SITE, "Sorø Rådhus", dt.date(2026, 3, 1))
    assert res.error == "" and res.granularity == "month"
    assert res.sufficiency.ok and (res.sufficiency.days_total, res.sufficiency.days_ok) == (12, 12)
    assert res.fit.model.stats.n == 12 and res.fit.period_days.sum() == 365
    assert res.model.kind == "hdd_only" and res.model.heating_balance_c == pytest.approx(15.0)
    # reporting points are months: January, February, March 2026
    s = res.since_start
    assert (s.m, s.points, s.unit) == (3, 3, "months") and len(res.months) == 3
    injected = float(truth.loc[truth.index >= pd.Timestamp("2026-01-01", tz=CPH), "saving_kwh"]
                     .loc[lambda x: x.index < pd.Timestamp("2026-04-01", tz=CPH)].sum())
    assert injected == pytest.approx(5400.0)
    assert abs(s.savings_kwh - injected) <= s.uncertainty_90_kwh, (s.savings_kwh, s.uncertainty_90_kwh)
    assert res.month.m == 1 and abs(res.month.savings_kwh - 31 * 60) <= res.month.uncertainty_90_kwh
    # March's measured use is the difference of the two monthly readings, exactly
    heat = {r.ts_ms: r.value for r in monthly if r.channel == "heat_energy_wh"}
    mar, apr = (int(pd.Timestamp(d, tz=CPH).timestamp() * 1000) for d in ("2026-03-01", "2026-04-01"))
    assert res.month.actual_kwh == pytest.approx((heat[apr] - heat[mar]) / 1000.0, rel=1e-12)
    # G14 with the monthly limits (CV(RMSE) 15 %, NMBE 5 %); a stricter monthly limit fails the model
    assert (res.cvrmse_max, res.nmbe_max) == (0.15, 0.05) and res.g14_ok, res.g14_notes
    strict = evaluate_site(store, esco_settings(**cfg).model_copy(update={"cvrmse_max_monthly": 0.001}), SITE, "x",
                           dt.date(2026, 3, 1))
    assert not strict.g14_ok and strict.g14_notes[0].startswith("CV(RMSE)")
    # money per month: the month's savings times the fixed 2 kr.
    assert res.month.savings_dkk == pytest.approx(2.0 * res.month.savings_kwh)
    store.close()
