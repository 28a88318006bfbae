"""ASHRAE Guideline 14 statistics against hand computation, and the CalTRACK daily change-point models."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from energimon.analytics.baseline import CALTRACK_BALANCE_POINTS_C, fit_caltrack_daily
from energimon.analytics.stats import (
    adjusted_r_squared,
    combine_in_quadrature,
    cv_rmse,
    effective_n,
    fit_statistics,
    fractional_savings_uncertainty,
    lag1_autocorrelation,
    nmbe,
    r_squared,
    savings_uncertainty_kwh,
    t_value,
)

# Small data set: x = 1..4, y = 2, 4, 5, 9.  OLS by hand:
#   x̄ = 2.5, ȳ = 5, Sxx = 2.25+0.25+0.25+2.25 = 5, Sxy = 4.5+0.5+0+6 = 11
#   b = 11/5 = 2.2, a = 5 − 2.2·2.5 = −0.5  ->  ŷ = 1.7, 3.9, 6.1, 8.3
#   e = y − ŷ = 0.3, 0.1, −1.1, 0.7;  SSE = 0.09+0.01+1.21+0.49 = 1.8;  SST = 9+1+0+16 = 26
Y = np.array([2.0, 4.0, 5.0, 9.0])
Y_HAT = np.array([1.7, 3.9, 6.1, 8.3])


def test_r2_and_adjusted_r2_by_hand():
    # R² = 1 − 1.8/26 = 0.9307692;  R²_adj = 1 − (1.8/26)·(4−1)/(4−2) = 1 − 0.1038462 = 0.8961538
    assert r_squared(Y, Y_HAT) == pytest.approx(0.9307692, abs=1e-7)
    assert adjusted_r_squared(r_squared(Y, Y_HAT), 4, 2) == pytest.approx(0.8961538, abs=1e-7)


def test_cv_rmse_both_forms_by_hand():
    # n−p: sqrt(1.8/2)/5 = 0.9486833/5 = 0.1897367;   n: sqrt(1.8/4)/5 = 0.6708204/5 = 0.1341641
    assert cv_rmse(Y, Y_HAT, p=2) == pytest.approx(0.1897367, abs=1e-7)
    assert cv_rmse(Y, Y_HAT, p=2, form="n") == pytest.approx(0.1341641, abs=1e-7)


def test_nmbe_both_forms_by_hand():
    # OLS residuals sum to 0 -> NMBE 0.  With ŷ = 1, 4, 5, 8: Σ(y−ŷ) = 1+0+0+1 = 2
    #   n−p: 2/((4−2)·5) = 0.2;  n: 2/(4·5) = 0.1
    assert nmbe(Y, Y_HAT, p=2) == pytest.approx(0.0, abs=1e-12)
    assert nmbe(Y, np.array([1.0, 4.0, 5.0, 8.0]), p=2) == pytest.approx(0.2)
    assert nmbe(Y, np.array([1.0, 4.0, 5.0, 8.0]), p=2, form="n") == pytest.approx(0.1)


def test_autocorrelation_and_effective_n_by_hand():
    # ρ = (0.3·0.1 + 0.1·(−1.1) + (−1.1)·0.7) / 1.8 = (0.03 − 0.11 − 0.77)/1.8 = −0.85/1.8 = −0.4722222
    rho = lag1_autocorrelation(Y - Y_HAT)
    assert rho == pytest.approx(-0.4722222, abs=1e-7)
    # the formula would give n′ = 4·(1+0.4722222)/(1−0.4722222) = 11.16 > n: with ρ ≤ 0 we take
    # no credit for negative autocorrelation, n′ = n = 4
    assert effective_n(4, rho) == 4.0
    # positively correlated residuals shrink n: ρ = 0.5 -> n′ = 365·0.5/1.5 = 121.6667
    assert effective_n(365, 0.5) == pytest.approx(121.6667, abs=1e-4)


def test_fit_statistics_bundle():
    s = fit_statistics(Y, Y_HAT, p=2)
    assert (s.n, s.p, s.mean_y, s.sse) == (4, 2, 5.0, pytest.approx(1.8))
    assert s.cv_rmse == pytest.approx(0.1897367, abs=1e-7) and s.cv_rmse_n == pytest.approx(0.1341641, abs=1e-7)


def test_t_values_against_published_table():
    # Student-t table (e.g. NIST/SEMATECH e-Handbook, Table 1.3.6.7.2, upper-tail 0.05 -> two-sided 90 %):
    #   df = 10: 1.812;  df = 30: 1.697;  df = 120: 1.658;  two-sided 95 %, df = 30: 2.042
    assert t_value(0.90, 10) == pytest.approx(1.812, abs=5e-4)
    assert t_value(0.90, 30) == pytest.approx(1.697, abs=5e-4)
    assert t_value(0.90, 120) == pytest.approx(1.658, abs=5e-4)
    assert t_value(0.95, 30) == pytest.approx(2.042, abs=5e-4)
    # 68 % two-sided with large df is ≈ 1 standard deviation (0.9945 for the normal)
    assert t_value(0.68, 1e6) == pytest.approx(0.9945, abs=5e-4)


@pytest.mark.parametrize("dof", [0.4, 1, 2.5, 7.3, 37.5, 364.2, 1e5])
@pytest.mark.parametrize("confidence", [0.5, 0.68, 0.90, 0.95, 0.999])
def test_t_values_without_scipy_agree_with_scipy(dof, confidence):
    """Our Student-t quantile (incomplete beta + Newton; scipy.stats is not imported by energimon) against
    scipy's, also for the real-valued degrees of freedom n' - p of G14."""
    from scipy import stats as sps

    assert t_value(confidence, dof) == pytest.approx(sps.t.ppf(0.5 + confidence / 2, dof), rel=1e-9)


def test_first_order_filter_equals_scipy_lfilter():
    from scipy.signal import lfilter

    from energimon.analytics.stats import _ar1_filter

    g = np.random.default_rng(3).normal(size=2000)
    for phi in (0.0, 0.3, 0.95):
        np.testing.assert_allclose(_ar1_filter(g, phi), lfilter([1.0], [1.0, -phi], g), rtol=1e-12, atol=1e-12)


def test_fractional_savings_uncertainty_by_hand():
    # n = 365, ρ = 0.5 -> n′ = 121.6667; m = 30 days, CV = 0.10, F = 0.20, p = 2, 90 %:
    #   (n/n′) = 3;  (1 + 2/n′) = 1.0164384;  3·1.0164384/30 = 0.1016438;  sqrt = 0.3188163
    #   FSU = 1.26 · t · 0.10 · 0.3188163 / 0.20 = 0.2008543 · t,  t = t(0.90, n′−p = 119.67) ≈ 1.6578
    n_eff = effective_n(365, 0.5)
    t = t_value(0.90, n_eff - 2)
    assert t == pytest.approx(1.658, abs=1e-3)
    fsu = fractional_savings_uncertainty(0.20, 0.10, 365, n_eff, 2, 30, 0.90)
    assert fsu == pytest.approx(0.2008543 * t, rel=1e-6)
    # absolute: baseline 30 days x 1000 kWh = 30000 kWh, savings 6000 kWh -> ΔE = FSU · 6000
    assert savings_uncertainty_kwh(30000.0, 0.10, 365, n_eff, 2, 30, 0.90) == pytest.approx(fsu * 6000.0, rel=1e-9)
    # 68 % is narrower than 90 %
    assert fractional_savings_uncertainty(0.20, 0.10, 365, n_eff, 2, 30, 0.68) < fsu


def test_quadrature():
    # sqrt(3² + 4²) = 5
    assert combine_in_quadrature([3.0, 4.0]) == pytest.approx(5.0)


def _year_of_temperatures(seed=1):
    rng = np.random.default_rng(seed)
    day = np.arange(365)
    return 8.0 - 9.0 * np.cos(2 * math.pi * (day - 15) / 365) + rng.normal(0, 3, 365)


def test_grid_is_caltrack_30_to_90_f():
    assert len(CALTRACK_BALANCE_POINTS_C) == 61
    assert CALTRACK_BALANCE_POINTS_C[0] == pytest.approx(-1.1111, abs=1e-4)  # 30 °F
    assert CALTRACK_BALANCE_POINTS_C[-1] == pytest.approx(32.2222, abs=1e-4)  # 90 °F
    assert 15.0 in [round(c, 9) for c in CALTRACK_BALANCE_POINTS_C]  # 59 °F = 15 °C exactly


def test_heating_model_recovered_exactly():
    t = _year_of_temperatures()
    y = 100.0 + 5.0 * np.maximum(0.0, 15.0 - t)  # μ = 100 kWh/day, β_H = 5 kWh/K·day, T_bH = 15 °C (59 °F)
    fit = fit_caltrack_daily(t, y)
    m = fit.model
    assert m.kind == "hdd_only"
    assert m.heating_balance_c == pytest.approx(15.0)
    assert m.intercept_kwh_per_day == pytest.approx(100.0) and m.beta_hdd_kwh_per_k_day == pytest.approx(5.0)
    assert m.stats.r2 == pytest.approx(1.0) and m.stats.cv_rmse == pytest.approx(0.0, abs=1e-9)


def test_heating_and_cooling_model_selected_with_noise():
    t = _year_of_temperatures(2) + 4.0
    rng = np.random.default_rng(3)
    y = 200 + 6.0 * np.maximum(0, 15.0 - t) + 9.0 * np.maximum(0, t - 20.0) + rng.normal(0, 5, 365)
    fit = fit_caltrack_daily(t, y)
    assert fit.model.kind == "hdd_cdd"
    assert fit.model.heating_balance_c == pytest.approx(15.0, abs=1.2)
    assert fit.model.cooling_balance_c == pytest.approx(20.0, abs=1.2)
    assert fit.model.p == 3
    # the selected model has the best adjusted R² of all qualified candidates
    assert fit.model.stats.r2_adj == pytest.approx(max(c.r2_adj for c in fit.candidates if c.qualified))


def test_negative_slope_disqualifies_and_intercept_only_wins():
    t = _year_of_temperatures(4)
    rng = np.random.default_rng(5)
    y = 300 - 2.0 * np.maximum(0, 15 - t) + rng.normal(0, 1, 365)  # less energy when cold: not physical
    fit = fit_caltrack_daily(t, y)
    assert fit.model.kind in ("intercept_only", "cdd_only")
    assert all(not c.qualified for c in fit.candidates if c.kind == "hdd_only" and c.heating_balance_c >= 10)
    assert any(c.reason == "coefficient not positive" for c in fit.candidates)


def test_insufficient_degree_days_disqualify():
    t = np.full(60, 25.0)  # a warm spell: no heating degree days at any balance point below 25 °C
    t[:5] = 10.0  # five cold days only (< 10 days with degree days)
    y = 100 + 3 * np.maximum(0, 15 - t)
    fit = fit_caltrack_daily(t, y, heating_balance_points_c=(15.0,), cooling_balance_points_c=(30.0,))
    hdd = next(c for c in fit.candidates if c.kind == "hdd_only")
    assert not hdd.qualified and "days with degree days" in hdd.reason
    assert fit.model.kind == "intercept_only"
    # intercept-only: μ = mean, R² = 0, adj R² = 0 (p = 1)
    assert fit.model.intercept_kwh_per_day == pytest.approx(np.mean(y))
    assert fit.model.stats.r2_adj == pytest.approx(0.0)


def _months_2025():
    from zoneinfo import ZoneInfo

    import pandas as pd

    cph = ZoneInfo("Europe/Copenhagen")
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D").tz_localize(cph)
    starts = pd.date_range("2025-01-01", periods=13, freq="MS").tz_localize(cph)
    return days, starts


def test_billing_wls_recovers_monthly_model():
    import pandas as pd

    from energimon.analytics.baseline import fit_caltrack_billing

    days, starts = _months_2025()
    t = pd.Series(_year_of_temperatures(8), index=days)
    daily_kwh = 100.0 + 5.0 * np.maximum(0.0, 15.0 - t.to_numpy())
    periods = []
    for a, b in itertools.pairwise(starts):
        inside = (days >= a) & (days < b)
        periods.append((a, b, float(daily_kwh[inside].sum())))
    fit = fit_caltrack_billing(t, periods)
    assert fit.model.kind == "hdd_only" and fit.model.heating_balance_c == pytest.approx(15.0)
    assert fit.model.intercept_kwh_per_day == pytest.approx(100.0)
    assert fit.model.beta_hdd_kwh_per_k_day == pytest.approx(5.0)
    assert fit.model.stats.n == 12 and fit.model.stats.cv_rmse == pytest.approx(0.0, abs=1e-9)
    assert fit.period_days.sum() == 365


def test_billing_wls_weights_by_hand():
    import pandas as pd

    from energimon.analytics.baseline import fit_caltrack_billing

    days, starts = _months_2025()
    t = pd.Series(35.0, index=days)  # hot all year at a 30..32 °C grid edge: no heating degree days at all
    # Jan 31 d at 10 kWh/d, Feb 28 d at 13 kWh/d, Mar 31 d at 10 kWh/d; cooling bp grid tops out at 32.2 °C, so
    # restrict it to 40 °C (no CDD) -> intercept-only, μ = weighted mean = (310 + 364 + 310)/90 = 984/90 = 10.9333
    periods = [(starts[0], starts[1], 310.0), (starts[1], starts[2], 364.0), (starts[2], starts[3], 310.0)]
    fit = fit_caltrack_billing(t, periods, heating_balance_points_c=(15.0,), cooling_balance_points_c=(40.0,))
    assert fit.model.kind == "intercept_only"
    assert fit.model.intercept_kwh_per_day == pytest.approx(984 / 90)
    # stats on period totals: predicted 31·10.9333 = 338.93, 28·10.9333 = 306.13, 338.93; ȳ = 984/3 = 328
    assert fit.predicted_kwh == pytest.approx([338.9333, 306.1333, 338.9333], abs=1e-4)


def test_a_candidate_with_a_negative_intercept_does_not_qualify():
    # CalTRACK 2.0 §3.4.3.2: y = 2·HDD₂₀ − 1 fits perfectly (R² = 1) with μ = −1 kWh/day, a negative base load;
    # the candidate is disqualified and the intercept-only model (μ = mean) is selected instead.
    x = np.arange(1.0, 21.0)  # HDD at 20 °C: 1..20 K·day, 20 days with degree days, 210 K·day
    fit = fit_caltrack_daily(20.0 - x, 2.0 * x - 1.0, heating_balance_points_c=(20.0,), cooling_balance_points_c=())
    assert fit.model.kind == "intercept_only" and fit.model.intercept_kwh_per_day == pytest.approx(20.0)
    (hdd,) = [c for c in fit.candidates if c.kind == "hdd_only"]
    assert not hdd.qualified and hdd.reason == "intercept negative" and hdd.r2_adj == pytest.approx(1.0)


def test_billing_needs_no_ten_days_with_degree_days():
    # CalTRACK 2.0 §3.2.2.2.1: the 10-day rule "does not apply when using billing data" (the 20 °F·day total does).
    # A warm year with 8 cold days (5 °C, HDD₁₅ = 10 K·day each, 80 K·day in all) in four months: the heating
    # model 10 + 3·HDD₁₅ kWh/day is found exactly; with the daily rule it would be intercept-only.
    import pandas as pd

    from energimon.analytics.baseline import fit_caltrack_billing

    days, starts = _months_2025()
    temps = pd.Series(25.0, index=days)
    for month in (0, 1, 10, 11):
        temps.loc[temps.index[(days >= starts[month])][:2]] = 5.0
    assert int((temps < 15).sum()) == 8
    daily_kwh = 10.0 + 3.0 * np.maximum(0.0, 15.0 - temps.to_numpy())
    periods = [(a, b, float(daily_kwh[(days >= a) & (days < b)].sum())) for a, b in itertools.pairwise(starts)]
    fit = fit_caltrack_billing(temps, periods, heating_balance_points_c=(15.0,), cooling_balance_points_c=(40.0,))
    assert fit.model.kind == "hdd_only"
    assert fit.model.intercept_kwh_per_day == pytest.approx(10.0)
    assert fit.model.beta_hdd_kwh_per_k_day == pytest.approx(3.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_all_candidates_at_once_select_what_fitting_them_one_by_one_selects(seed, monkeypatch):
    """The grid's ~2,000 least-squares fits are solved as one stack of small systems (_scores_all); the
    one-by-one loop (kept for singular systems) must give the same candidates, scores and winner."""
    import energimon.analytics.baseline as baseline

    rng = np.random.default_rng(seed)
    t = 8 + 10 * np.sin(np.arange(365) / 58) + rng.normal(0, 3, 365)
    y = 90 + 6 * np.maximum(0, 14 - t) + 3 * np.maximum(0, t - 19) + rng.normal(0, 6, 365)
    y[rng.integers(0, 365, 15)] = np.nan
    fast = fit_caltrack_daily(t, y)

    def singular(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(baseline, "_scores_all", singular)
    slow = fit_caltrack_daily(t, y)
    assert [(c.kind, c.heating_balance_c, c.cooling_balance_c, c.qualified, c.reason) for c in fast.candidates] == \
        [(c.kind, c.heating_balance_c, c.cooling_balance_c, c.qualified, c.reason) for c in slow.candidates]
    np.testing.assert_allclose([c.r2_adj for c in fast.candidates], [c.r2_adj for c in slow.candidates],
                               rtol=1e-9, equal_nan=True)
    f, s = fast.model, slow.model
    assert (f.kind, f.heating_balance_c, f.cooling_balance_c) == (s.kind, s.heating_balance_c, s.cooling_balance_c)
    assert f.intercept_kwh_per_day == pytest.approx(s.intercept_kwh_per_day, rel=1e-12)
    assert f.beta_hdd_kwh_per_k_day == pytest.approx(s.beta_hdd_kwh_per_k_day, rel=1e-12)
