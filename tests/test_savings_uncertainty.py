"""The savings uncertainty of a sum (analytics.stats.aggregate_savings_uncertainty_kwh and the models' terms),
the verdicts, and a small calibration smoke check (the full calibration is bench/savings_calibration.py)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from energimon.analytics.baseline import fit_caltrack_daily
from energimon.analytics.savings import (
    LimitCheck,
    SavingsVerdict,
    daily_savings,
    savings_verdict_code,
)
from energimon.analytics.stats import (
    CALENDAR_TERM_P,
    UnitResiduals,
    absorbed_noise_parameters,
    aggregate_savings_uncertainty_kwh,
    ar1_quadratic_form,
    ar1_sum_factor,
    arma11_correlation,
    arma11_quadratic_form,
    autocorrelation_decay,
    daily_unit_terms,
    day_types,
    expected_residual_autocovariances,
    f_test_p_value,
    period_calendar_days,
    projected_noise_parameters,
    projected_residual_autocovariances,
    savings_uncertainty_kwh,
    significant_rho,
    unit_residuals_daily,
)
from energimon.model import LOCAL_TZ

ROOT = Path(__file__).resolve().parents[1]


def test_ar1_sum_factor_by_hand():
    # m = 3, ρ = 0.5: Σ_{i,j} ρ^|i−j| = 3 + 2·(2·0.5 + 1·0.25) = 5.5;
    # closed form m(1+ρ)/(1−ρ) − 2ρ(1−ρᵐ)/(1−ρ)² = 9 − 2·0.5·0.875/0.25 = 5.5
    assert ar1_sum_factor(3, 0.5) == pytest.approx(5.5)
    assert ar1_quadratic_form(np.ones(3), 0.5) == pytest.approx(5.5)
    assert ar1_sum_factor(3, -0.2) == 3.0  # no credit for negative autocorrelation (G14 n′ = n)
    # a long sum tends to m·(1+ρ)/(1−ρ) = m·n/n′, G14 Annex B's inflation
    assert ar1_sum_factor(10_000, 0.6) / 10_000 == pytest.approx(4.0, rel=1e-3)


def test_arma11_quadratic_form_against_the_matrix():
    rng = np.random.default_rng(3)
    g = rng.normal(size=25)
    rho, phi = 0.4, 0.8
    lag = np.abs(np.subtract.outer(np.arange(25), np.arange(25)))
    omega = np.where(lag == 0, 1.0, rho * phi ** np.maximum(lag - 1, 0))  # Ω_ij = ρ·φ^(|i−j|−1)
    assert arma11_quadratic_form(g, rho, phi) == pytest.approx(g @ omega @ g, rel=1e-12)
    assert arma11_quadratic_form(g, rho, rho) == pytest.approx(ar1_quadratic_form(g, rho), rel=1e-12)


def test_aggregate_uncertainty_by_hand_and_against_g14_and_caltrack():
    # An intercept-only model, white residuals σ² = 100 kWh², n = m = 365 days:
    #   noise = m = 365, model error x_Rᵀ(XᵀX)⁻¹x_R = m²/n = 365  ->  U90 = t(0.90, 364)·√(100·730)
    res = UnitResiduals("day", 365, 1, 100.0, 0.0)
    t90 = sps.t.ppf(0.95, 364)  # 1.6490
    u90 = aggregate_savings_uncertainty_kwh(res, 365.0, 365.0, 0.0, 0.90)
    assert u90 == pytest.approx(t90 * math.sqrt(73_000.0), rel=1e-12)
    assert u90 == pytest.approx(445.6, abs=0.1)  # 1.6490 · 270.19
    # G14 eq. B-14 on the same model (CV = σ/ȳ, E_baseline = m·ȳ): 1.26·t·σ·√(m(1 + 2/n)), with t from n′ − p
    # as well; the ratio is √2 / (1.26·√(1 + 2/365)) = 1.119 ...
    g14 = savings_uncertainty_kwh(365 * 100.0, 10.0 / 100.0, 365, 365.0, 1, 365, 0.90)
    assert u90 / g14 == pytest.approx(math.sqrt(2) / (1.26 * math.sqrt(1 + 2 / 365)), rel=1e-9)
    # ... close to CalTRACK's empirical correction of G14 for daily data (eemeter derivatives._compute_fsu_error:
    # −0.00024·M² + 0.03535·M + 1.00286 with M = 365/30 months = 1.3974, against G14's 1.26: 1.109)
    m_months = 365 / 30
    caltrack = -0.00024 * m_months**2 + 0.03535 * m_months + 1.00286
    assert u90 / g14 == pytest.approx(caltrack / 1.26, rel=0.015)
    # AR(1) residuals ρ = 0.5: the model term is inflated by n/n′ = 3, the noise is the exact AR(1) sum, and
    # t has n′ − p = 365/3 − 1 degrees of freedom (G14 Annex B)
    res = UnitResiduals("day", 365, 1, 100.0, 0.5)
    noise = ar1_sum_factor(365, 0.5)  # 3·365 − 2·0.5·(1 − 0.5³⁶⁵)/0.25 = 1091
    assert noise == pytest.approx(1091.0)
    u = aggregate_savings_uncertainty_kwh(res, noise, 365.0, 0.0, 0.90)
    assert u == pytest.approx(sps.t.ppf(0.95, 365 / 3 - 1) * math.sqrt(100.0 * (1091.0 + 3 * 365.0)), rel=1e-12)
    # a known bias adds in quadrature
    assert aggregate_savings_uncertainty_kwh(UnitResiduals("day", 365, 1, 100.0, 0.0), 365.0, 365.0, 300.0, 0.90) \
        == pytest.approx(t90 * math.sqrt(73_000.0 + 90_000.0), rel=1e-12)


def test_daily_model_terms_are_the_ols_ones():
    """An intercept-only fit: (XᵀX)⁻¹ = 1/n, so leverage = m²/n; the noise of m consecutive white days is m."""
    rng = np.random.default_rng(1)
    days = pd.date_range("2025-01-01", periods=730, freq="D", tz=LOCAL_TZ)
    temp = np.full(730, 25.0)  # no degree days at any balance point: only the intercept qualifies
    y = 100.0 + rng.normal(0, 5, 730)
    model = fit_caltrack_daily(temp[:365], y[:365], days=days[:365]).model
    assert model.kind == "intercept_only"
    rows = daily_savings(model, pd.Series(temp[365:], index=days[365:]), pd.Series(y[365:], index=days[365:]))
    valid = rows["savings_kwh"].notna().to_numpy()
    noise, leverage, bias = model.uncertainty_terms(rows, valid)
    rho = model.residuals.rho
    assert leverage == pytest.approx(365**2 / 365)
    assert noise == pytest.approx(ar1_sum_factor(365, rho) if rho > 0 else 365.0)
    # the day-type bias: each day type's mean baseline residual times its count in the reporting year
    types = day_types(days[365:])
    assert bias == pytest.approx(sum(model.residuals.day_type_kwh[k] * np.sum(types == k) for k in range(8)))


def test_weekly_pattern_is_not_taken_for_noise():
    """A building closed at weekends fitted with the CalTRACK daily model (no day-of-week term): the weekly
    pattern is removed before σ² and ρ are estimated, so it neither inflates σ² nor fakes autocorrelation."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2025-01-01", periods=365, freq="D", tz=LOCAL_TZ)
    pattern = np.where(days.day_of_week >= 5, -60.0, 24.0)
    r = pattern - pattern.mean() + rng.normal(0, 10, 365)
    res = unit_residuals_daily(r, days, 1)
    assert math.sqrt(res.sigma2) == pytest.approx(10.0, rel=0.12)
    assert abs(res.rho) < 0.15
    # the pattern has mean 0 (5·24 = 2·60): Saturday −60, Monday +24, recovered within noise (10/√52 ≈ 1.4)
    assert res.day_type_kwh[5] == pytest.approx(-60.0, abs=5) and res.day_type_kwh[0] == pytest.approx(24.0, abs=5)
    raw = unit_residuals_daily(r, None, 1)  # without the calendar: the pattern counts as noise
    assert math.sqrt(raw.sigma2) > 3 * math.sqrt(res.sigma2)


def test_a_school_holiday_pattern_is_not_taken_for_persistent_noise():
    """A sports hall quiet in its school holidays (weeks 7, 28-30, 42), fitted by a model with no term for them:
    with the site calendar's school holidays the pattern is a set of day types, removed before σ², ρ and φ are
    estimated — without it, three weeks of −300 kWh in July are read as a persistent noise (ρ > 0, σ² inflated),
    although the pattern recurs next year and hardly moves the year's sum."""
    rng = np.random.default_rng(17)
    days = pd.date_range("2025-01-01", periods=365, freq="D", tz=LOCAL_TZ)
    week = days.isocalendar().week.to_numpy()
    school = np.isin(week, (7, 28, 29, 30, 42))
    pattern = np.where(school, -300.0, 0.0)
    r = pattern - pattern.mean() + rng.normal(0, 50, 365)
    holidays = frozenset(days[school].date)
    design = np.ones((365, 1))
    typed = unit_residuals_daily(r, days, 1, design=design, school_holidays=holidays)
    plain = unit_residuals_daily(r, days, 1, design=design)
    assert typed.rho == 0.0 and plain.rho > 0.3  # white noise left; blocks of −300 kWh look persistent
    assert math.sqrt(typed.sigma2) == pytest.approx(50.0, rel=0.12)
    assert plain.sigma2 > 4 * typed.sigma2
    # the pattern is in the school holidays' day types: 300 kWh below the other days' (noise 50/√5 per type mean)
    assert np.mean(typed.day_type_kwh[8:13]) - np.mean(typed.day_type_kwh[0:5]) == pytest.approx(-300.0, abs=30)
    # the reporting year's days are typed by the same calendar (no public holiday falls in these weeks in 2026),
    # and its bias holds each type's mean times its count of reporting days
    rep = pd.date_range("2026-01-01", periods=365, freq="D", tz=LOCAL_TZ)
    rep_school = frozenset(rep[np.isin(rep.isocalendar().week.to_numpy(), (7, 28, 29, 30, 42))].date)
    typed_rep = unit_residuals_daily(r, days, 1, design=design, school_holidays=holidays | rep_school)
    types = day_types(rep, holidays | rep_school)
    assert np.sum(types >= 8) == len(rep_school) == 35
    _, bias = daily_unit_terms(rep, np.ones(365), typed_rep)
    assert bias == pytest.approx(sum(typed_rep.day_type_kwh[k] * np.sum(types == k) for k in range(15)))


def test_autocorrelation_decay_sees_a_persistent_part_behind_daily_noise():
    """AR(1) ρ = 0.8 plus as much white noise: r₁ ≈ 0.4 but the correlation decays like 0.8ᵏ; G14's n′ from
    r₁ alone would put n/n′ at (1.4/0.6) = 2.3, the truth is 1 + 2·0.4/0.2 = 5."""
    rng = np.random.default_rng(11)
    n = 2000
    ar = np.zeros(n)
    for i in range(1, n):
        ar[i] = 0.8 * ar[i - 1] + rng.normal(0, 0.6)
    e = ar + rng.normal(0, 1.0, n)
    rho = float(e[1:] @ e[:-1] / (e @ e))
    phi = autocorrelation_decay(e, rho)
    assert 0.3 < rho < 0.55 and phi == pytest.approx(0.8, abs=0.08)
    assert UnitResiduals("day", n, 1, 1.0, rho, phi=phi).variance_inflation == pytest.approx(5.0, rel=0.3)
    white = rng.normal(size=365)
    assert autocorrelation_decay(white, float(white[1:] @ white[:-1] / (white @ white))) is None


def test_significant_rho_by_hand():
    # one-sided 95 % test of ρ > 0 with the white-noise standard error 1/√n (Box & Jenkins §6.2):
    # 365 days: 1.645/√365 = 1.645/19.105 = 0.0861; 12 billing periods: 1.645/√12 = 1.645/3.464 = 0.4749
    assert significant_rho(0.08, 365) == 0.0
    assert significant_rho(0.09, 365) == 0.09
    assert significant_rho(0.45, 12) == 0.0
    assert significant_rho(0.48, 12) == 0.48
    assert significant_rho(-0.3, 365) == 0.0 and significant_rho(math.nan, 365) == 0.0
    # the G14 form gives credit to any ρ > 0; with ρ = 0.08 on 365 days that would be n/n′ = 1.08/0.92 = 1.17
    assert UnitResiduals("day", 365, 1, 1.0, significant_rho(0.08, 365)).variance_inflation == 1.0


def test_expected_residual_autocovariances_by_hand():
    # Residuals around a fitted mean, M = I − J/n.  White noise, n = 3: E[uᵀu] = σ²·tr(M) = 2σ² (G14's n − p);
    # lag 1: two products, each E[u_i u_{i+1}] = −σ²/3 -> −2/3; so E[r₁] ≈ −1/n (Moran 1948)
    m3 = np.eye(3) - np.full((3, 3), 1 / 3)
    assert expected_residual_autocovariances(m3, np.eye(3), 1) == pytest.approx([2.0, -2 / 3])
    # n = 2, AR(1) with ρ: u₁ = −u₂ = (e₁ − e₂)/2, E[u₁² + u₂²] = (2 − 2ρ)/2 = 1 − ρ, E[u₁u₂] = −(1 − ρ)/2
    m2 = np.eye(2) - np.full((2, 2), 0.5)
    rho = 0.6
    omega = np.array([[1.0, rho], [rho, 1.0]])
    assert expected_residual_autocovariances(m2, omega, 1) == pytest.approx([0.4, -0.2])


def test_absorbed_noise_white_is_the_n_minus_p_variance():
    # an intercept-only fit on white noise: σ² = uᵀu / tr(M) = uᵀu/(n − 1), the sample variance (ddof = 1)
    rng = np.random.default_rng(4)
    n = 300
    m = np.eye(n) - np.full((n, n), 1 / n)
    eta = rng.normal(0, 3.0, n)
    sigma2, rho, phi = absorbed_noise_parameters(m @ eta, m)
    assert sigma2 == pytest.approx(np.var(eta, ddof=1), rel=1e-12)
    assert (rho, phi) == (0.0, None)  # r₁ of white noise stays inside its test band (seed fixed)


def test_absorbed_noise_recovers_persistence_a_monthly_fit_took_up():
    """AR(1) ρ = 0.8 days, a fit with one level per 30-day block (like TOWT's monthly segments): the block
    levels take up the slow part of the noise, so the residuals' r₁ and variance understate both; the
    method of moments through M recovers ρ, and σ² = uᵀu / tr(MΩMᵀ) the noise's variance (1 here)."""
    rng = np.random.default_rng(8)
    n, block = 360, 30
    groups = np.arange(n) // block
    m = np.eye(n) - (groups[:, None] == groups[None, :]) / block  # I − H of the block means
    obs, est, var, var_naive = [], [], [], []
    for _ in range(30):
        eta = np.empty(n)
        eta[0] = rng.normal()
        for i in range(1, n):
            eta[i] = 0.8 * eta[i - 1] + rng.normal(0, 0.6)  # marginal variance 0.36/(1 − 0.64) = 1
        u = m @ eta
        sigma2, rho, _phi = absorbed_noise_parameters(u, m)
        obs.append(float(u[1:] @ u[:-1] / (u @ u)))
        est.append(rho)
        var.append(sigma2)
        var_naive.append(float(u @ u) / (n - n // block))
    # measured when written (seed 8, 30 series): mean r₁ 0.723, ρ 0.802; σ² 1.018 against n − p's 0.769
    assert np.mean(obs) < 0.74  # r₁ of the residuals: biased low by the block levels
    assert np.mean(est) == pytest.approx(0.8, abs=0.03)
    assert np.mean(var_naive) < 0.8 and np.mean(var) == pytest.approx(1.0, abs=0.08)


def test_projected_autocovariances_are_the_dense_moments():
    """The low-rank form for ``M = I − QQᵀ`` gives the same traces as ``tr(L_k M Ω Mᵀ)`` computed densely."""
    rng = np.random.default_rng(3)
    n = 60
    x = np.column_stack([np.ones(n), rng.normal(size=n), np.maximum(0.0, rng.normal(size=n))])
    q, _ = np.linalg.qr(x)
    m = np.eye(n) - q @ q.T
    for rho, phi in ((0.0, 0.0), (0.5, 0.5), (0.6, 0.85)):
        dense = expected_residual_autocovariances(m, arma11_correlation(n, rho, phi), 5)
        assert projected_residual_autocovariances(q, rho, phi, 5) == pytest.approx(dense, rel=1e-10, abs=1e-10)


def test_projected_noise_recovers_a_persistent_noise_the_daily_fit_biased():
    """A year of days: a persistent part (AR(1), φ = 0.8, variance 1) plus a new part each day (variance
    0.36) is ARMA(1,1) with ρ₁ = 0.8/1.36 = 0.588 and decay 0.8, so n/n′ = 1 + 2·0.588/0.2 = 6.88.  Fitted with
    an intercept, a heating slope and day-type means, the residuals' r₁ and decay come out low (Marriott &
    Pope 1954: E[r₁] ≈ ρ − (1 + 3ρ)/n for AR(1)); the moments through M = I − QQᵀ take that bias off."""
    rng = np.random.default_rng(11)
    n = 365
    days = pd.date_range("2025-01-01", periods=n, freq="D", tz=LOCAL_TZ)
    temp = 8.0 - 9.0 * np.cos(2 * np.pi * np.arange(n) / 365.0)
    x = np.column_stack([np.ones(n), np.maximum(0.0, 15.0 - temp)])
    raw_rho, raw_decay, est_rho, est_phi, inflation = [], [], [], [], []
    for _ in range(60):
        slow = np.empty(n)
        slow[0] = rng.normal()
        for i in range(1, n):
            slow[i] = 0.8 * slow[i - 1] + rng.normal(0, 0.6)
        y = 100.0 + 3.0 * x[:, 1] + slow + rng.normal(0, 0.6, n)
        beta, *_ = np.linalg.lstsq(x, y, rcond=None)
        res = unit_residuals_daily(y - x @ beta, days, 2, design=x)
        old = unit_residuals_daily(y - x @ beta, days, 2)
        raw_rho.append(old.rho)
        raw_decay.append(old.decay)
        est_rho.append(res.rho)
        est_phi.append(res.decay)
        inflation.append(res.variance_inflation)
    # measured when written (seed 11, 60 years): raw ρ 0.564, decay 0.754 (median n/n′ 5.54, 19 % short);
    # corrected ρ 0.581, φ 0.785 (median n/n′ 6.38)
    assert np.mean(raw_rho) < np.mean(est_rho) and np.mean(raw_decay) < np.mean(est_phi) - 0.02
    assert np.mean(est_rho) == pytest.approx(0.588, abs=0.025)
    assert np.mean(est_phi) == pytest.approx(0.8, abs=0.03)
    assert np.median(inflation) == pytest.approx(6.88, rel=0.12)


def test_projected_noise_on_white_noise_is_the_n_minus_p_variance():
    rng = np.random.default_rng(5)
    n = 365
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    q, _ = np.linalg.qr(x)
    eta = rng.normal(0, 2.0, n)
    u = eta - q @ (q.T @ eta)
    sigma2, rho, phi = projected_noise_parameters(u, q)
    assert sigma2 == pytest.approx(float(u @ u) / (n - 2), rel=1e-12)
    assert (rho, phi) == (0.0, None)


def test_bench_weather_and_noise_are_independent_streams():
    """The calibration's weather and noise come from separate ``SeedSequence.spawn`` children: seeding both
    from the bare seed had made the weather's AR(1) innovations and the noise the same normal draws."""
    cal = _calibration_module()
    weather_seed, day_rng, hour_rng = cal.seed_streams(7)
    same = np.random.default_rng(weather_seed).normal(size=365)
    assert abs(np.corrcoef(same, day_rng.normal(size=365))[0, 1]) < 0.2
    assert abs(np.corrcoef(same, hour_rng.normal(size=365))[0, 1]) < 0.2
    assert cal.seed_streams(7)[0] == weather_seed  # deterministic per seed


def test_bench_seeds_per_model_and_what_they_resolve():
    """Every model sees the same building-years, the cheap ones more of them; and the default seed counts make
    the coverage targets a test (a calibrated method misses a band only by ≥ 2.5 binomial standard errors)."""
    cal = _calibration_module()
    tasks = cal.make_tasks(["hal-0"], {"daily": 5, "hourly": 2}, first_seed=3)
    assert tasks == [("hal-0", 3, ("daily", "hourly"), True), ("hal-0", 4, ("daily", "hourly"), True),
                     ("hal-0", 5, ("daily",), True), ("hal-0", 6, ("daily",), True), ("hal-0", 7, ("daily",), True)]
    # by hand: sqrt(0.68·0.32/300) = sqrt(0.00072533) = 0.026932; sqrt(0.90·0.10/1000) = sqrt(0.00009) = 0.0094868
    assert cal.coverage_standard_error(0.68, 300) == pytest.approx(0.026932, abs=1e-6)
    assert cal.coverage_standard_error(0.90, 1000) == pytest.approx(0.0094868, abs=1e-7)
    # 300 seeds: the 68 % band (64-72 %) is only 0.04 / 0.026932 = 1.49 standard errors either side of 68 %
    assert 0.04 / cal.coverage_standard_error(0.68, 300) < 1.5
    for model in ("daily", "billing", "hourly"):  # 1000 seeds: 0.04 / 0.014751 = 2.71 and 0.03 / 0.0094868 = 3.16
        for nominal, (lo, hi) in cal.TARGETS.items():
            assert min(nominal - lo, hi - nominal) / cal.coverage_standard_error(nominal, cal.SEEDS[model]) > 2.5


def test_savings_verdict_codes():
    assert savings_verdict_code(1000.0, 300.0) == "demonstrated"
    assert savings_verdict_code(250.0, 300.0) == "not_demonstrable"  # the 90 % interval holds zero
    assert savings_verdict_code(-250.0, 300.0) == "not_demonstrable"
    assert savings_verdict_code(-1000.0, 300.0) == "increase"
    assert savings_verdict_code(math.nan, 300.0) == "no_data"


def _verdict(cv, nmbe, savings, u90, fsu) -> SavingsVerdict:
    return SavingsVerdict((LimitCheck("cvrmse", cv, 0.25), LimitCheck("nmbe", nmbe, 0.005)),
                          LimitCheck("fsu", fsu, 0.50), savings_verdict_code(savings, u90), savings, u90)


def test_verdicts_say_which_limit_and_what_the_saving_shows():
    ok = _verdict(0.10, 0.0001, 5000.0, 800.0, 0.10)
    assert ok.ok and ok.failed == () and ok.notes() == []
    noise = _verdict(0.10, 0.0001, 200.0, 800.0, 2.4)
    # a saving indistinguishable from zero is "not demonstrable", and its FSU is not reported as a failed limit
    assert not noise.ok and noise.model_ok and noise.failed == ()
    assert noise.notes() == ["saving not demonstrable (90 % interval holds zero)"]
    bad_model = _verdict(0.31, 0.008, 5000.0, 800.0, 0.10)
    assert [c.name for c in bad_model.failed] == ["cvrmse", "nmbe"]
    assert bad_model.notes() == ["CV(RMSE) 31.0% > 25%", "|NMBE| 0.80% > 0.5%"]
    imprecise = _verdict(0.10, 0.0001, 1000.0, 900.0, 0.55)  # demonstrated at 90 %, FSU(68 %) 55 % ≥ 50 %
    assert [c.name for c in imprecise.failed] == ["fsu"] and imprecise.notes() == ["FSU(68 %) 55% ≥ 50%"]


def test_verdict_texts_in_danish_and_english():
    from energimon.analytics.esco.evaluation import SiteResult
    from energimon.analytics.esco.inputs import Sufficiency
    from energimon.analytics.report.savings_report import verdict_lines, verdict_word

    r = SiteResult("s", "S", "electricity", Sufficiency(True, 1.0, 365, 365), None, cvrmse_max=0.25, nmbe_max=0.005)
    r.verdict = _verdict(0.10, 0.0001, 200.0, 800.0, 2.4)
    da = " ".join(verdict_lines(r, "da"))
    assert "ikke påviselig" in da and "200 kWh ± 800 kWh (90 %)" in da and "ikke bestået" not in da
    assert "holder grænserne" in da
    assert verdict_word(r, "da") == ("Besparelsen ikke påviselig", "")
    assert "not demonstrable" in " ".join(verdict_lines(r, "en"))
    r.verdict = _verdict(0.31, 0.0001, 5000.0, 800.0, 0.10)
    da = " ".join(verdict_lines(r, "da"))
    assert "CV(RMSE) 31,0 % er over grænsen 25 %" in da and "garantien" in da and "vejledende" in da
    assert "Besparelse siden start: påvist" in da
    word, why = verdict_word(r, "en")
    assert word == "model outside the limits" and why.startswith("CV(RMSE) 31.0 % is above the limit 25 %")
    r.verdict = _verdict(0.10, 0.0001, -5000.0, 800.0, 0.16)
    assert "påviseligt merforbrug" in " ".join(verdict_lines(r, "da"))


def _calibration_module():
    spec = importlib.util.spec_from_file_location("savings_calibration", ROOT / "bench" / "savings_calibration.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_calibration_smoke_coverage_is_not_absurd():
    """40 seeds of one case (town hall, ρ = 0.4, CalTRACK daily) of the calibration benchmark.

    The seeds are fixed, so the test is deterministic; the bounds are chosen from the binomial distribution so
    that a method whose true coverage lies in the targets passes for all but ~0.5 % of seed choices:
    90 % intervals, coverage p ≥ 0.87: P(X ≤ 28 of 40) = 0.004 -> require ≥ 29;
    68 % intervals, p in [0.64, 0.72]: P(X ≤ 16) = 0.002 at 0.64, P(X ≥ 37) = 0.001 at 0.72 -> 17..36.
    (Measured 2026-12-07 with independent weather and noise streams per seed: 31 / 40 and 40 / 40.  G14 eq. B-14
    held 39 / 40 and 40 / 40 here — too wide, because its CV(RMSE) counts the town hall's weekday/weekend pattern
    as noise.  Over seeds 1-300 this case measures 73.0 % and 93.0 %, over seeds 1-1000 68.8 % and 91.0 %:
    bench/README.md.)
    """
    cal = _calibration_module()
    results = [cal.run_seed("raadhus-0.4", seed, ("daily",))["daily"] for seed in range(1, 41)]
    year = np.array([r[0] for r in results])
    err = np.abs(year[:, 0] - year[:, 1])
    in68, in90 = int(np.sum(err <= year[:, 2])), int(np.sum(err <= year[:, 3]))
    assert in90 >= 29, (in68, in90)
    assert 17 <= in68 <= 36, (in68, in90)
    # the 68 % interval is the narrower one, and the widths are plausible: the 90 % band is t90/t68 ≈ 1.65 wider
    assert np.allclose(year[:, 3] / year[:, 2], 1.65, rtol=0.02)


def _billing_year(first_year: int):
    """Local days of a year and its calendar months as (start, days)."""
    days = pd.date_range(f"{first_year}-01-01", f"{first_year + 1}-01-01", freq="D", tz=LOCAL_TZ, inclusive="left")
    starts = pd.date_range(f"{first_year}-01-01", periods=12, freq="MS", tz=LOCAL_TZ)
    return days, starts, starts.days_in_month.to_numpy()


def _school(year: int) -> frozenset:
    """Weeks 28-30 (7-27 July in 2025 and 6-26 July in 2026) and 23-31 December."""
    days = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="D", inclusive="left")
    week, md = days.isocalendar().week.to_numpy(), days.month * 100 + days.day
    return frozenset(days[np.isin(week, (28, 29, 30)) | (md >= 1223)].date)


def test_billing_periods_count_the_calendars_days():
    _, starts, ndays = _billing_year(2025)
    c = period_calendar_days(starts, ndays, _school(2025))
    # by hand (energimon.calendar.danish_holidays 2025): January 1 (nytårsdag); April 4 (17, 18, 20, 21: Easter);
    # May 2 (1 May, Kristi himmelfartsdag 29); June 3 (grundlovsdag 5, pinse 8 and 9); December 4 (24, 25, 26, 31).
    # School holidays: 7-27 July = 21 days; 23-31 December = 9 days less its 4 public holidays = 5
    assert c[:, 0].tolist() == [1, 0, 0, 4, 2, 3, 0, 0, 0, 0, 0, 4]
    assert c[:, 1].tolist() == [0, 0, 0, 0, 0, 0, 21, 0, 0, 0, 0, 5]
    assert period_calendar_days(starts, ndays).shape == (12, 1)  # no site calendar: the public holidays only


def test_billing_residuals_take_the_calendar_apart_from_the_noise():
    """A building closed on public holidays (−40 kWh a day) and quiet in its school holidays (−25 kWh a day) on top
    of white day noise (σ = 3 kWh): the CalTRACK billing model has no term for either, so its twelve residuals
    are mostly calendar.  With the calendar term the noise is the noise, and a reporting month carries the pattern
    as a known bias: July's 21 school-holiday days against the baseline's share of them."""
    from energimon.analytics.baseline import fit_caltrack_billing

    rng = np.random.default_rng(23)
    days, starts, _ = _billing_year(2025)
    school = _school(2025) | _school(2026)
    types = day_types(days, school)
    use = 100.0 - 40.0 * (types == 7) - 25.0 * (types >= 8) + rng.normal(0, 3.0, len(days))
    temp = pd.Series(rng.normal(8.0, 5.0, len(days)), index=days)
    ends = [*starts[1:], pd.Timestamp("2026-01-01", tz=LOCAL_TZ)]
    periods = [(a, b, float(use[(days >= a) & (days < b)].sum())) for a, b in zip(starts, ends, strict=True)]
    fit = fit_caltrack_billing(temp, periods, heating_balance_points_c=(-30.0,), cooling_balance_points_c=(60.0,),
                               school_holidays=school)
    plain = fit_caltrack_billing(temp, periods, heating_balance_points_c=(-30.0,), cooling_balance_points_c=(60.0,))
    res, raw = fit.model.residuals, plain.model.residuals
    assert fit.model.kind == "intercept_only"
    # kWh per public-holiday and school-holiday day against the average day: −40 and −25 less the average day's
    # own share of them (the intercept took that), within the noise of a month's sum (3·√31 ≈ 17 kWh)
    assert res.day_type_kwh[0] == pytest.approx(-40.0, abs=8) and res.day_type_kwh[1] == pytest.approx(-25.0, abs=3)
    assert math.sqrt(res.sigma2) == pytest.approx(3.0, rel=0.5) and res.p == 3
    assert raw.sigma2 > 10 * res.sigma2  # without the site calendar the school holidays are the "noise"
    # July 2026 (31 days, 21 of them school holidays, no public holiday) as a reporting period
    rows = pd.DataFrame({"days": [31.0], "model_hdd_k": [0.0], "model_cdd_k": [0.0]},
                        index=pd.DatetimeIndex([pd.Timestamp("2026-07-01", tz=LOCAL_TZ)]))
    _, _, bias = fit.model.uncertainty_terms(rows, np.array([True]))
    share = res.calendar_share
    assert share[1] == pytest.approx(26 / 365)  # 21 July days and 5 December days of the baseline year
    assert bias == pytest.approx(res.day_type_kwh[0] * (0 - 31 * share[0]) + res.day_type_kwh[1] * (21 - 31 * share[1]))
    assert bias < -300  # about −25 kWh on each of 21 days, against the model's flat July
    # without a site calendar only the public holidays are a term: July holds none, the average day some
    assert plain.model.uncertainty_terms(rows, np.array([True]))[2] == pytest.approx(
        raw.day_type_kwh[0] * (0 - 31 * raw.calendar_share[0]))
    assert len(raw.day_type_kwh) == 1 and raw.p == 2


def test_a_winter_holiday_pattern_biases_the_heating_slope_and_the_reporting_bias_carries_it():
    """School holidays in the heating season (weeks 6-8: cold days) with −40 kWh a day, a CalTRACK daily
    model with no term for them: the dip pulls the heating slope, and in a colder or warmer reporting year that
    error is not in the holiday types' mean residuals.  The joint fit of the residuals on the model's regressors
    and the day types (:func:`joint_day_type_fit`) gives the reporting year's systematic error — what the
    model misses against the building's expected use — where the raw means miss most of it."""
    rng = np.random.default_rng(29)
    days = pd.date_range("2025-01-01", "2027-01-01", freq="D", tz=LOCAL_TZ, inclusive="left")
    week = days.isocalendar().week.to_numpy()
    school = frozenset(days[np.isin(week, (6, 7, 8))].date)
    doy = days.day_of_year.to_numpy()
    temp = 8.0 - 8.0 * np.cos(2 * np.pi * (doy - 15) / 365) + rng.normal(0, 2.0, len(days))
    temp[365:] += 3.0  # a warmer reporting year: less heating, where the slope's error shows
    expected = 100.0 + 5.0 * np.maximum(0.0, 15.0 - temp) - 40.0 * np.isin(week, (6, 7, 8))
    use = expected + rng.normal(0, 3.0, len(days))
    base, rep = slice(0, 365), slice(365, None)
    model = fit_caltrack_daily(temp[base], use[base], heating_balance_points_c=(15.0,),
                               cooling_balance_points_c=(40.0,), days=days[base], school_holidays=school).model
    assert model.kind == "hdd_only" and model.beta_hdd_kwh_per_k_day < 4.6  # less use on cold days flattened it
    rows = daily_savings(model, pd.Series(temp[rep], index=days[rep]), pd.Series(use[rep], index=days[rep]))
    valid = rows["savings_kwh"].notna().to_numpy()
    _, _, bias = model.uncertainty_terms(rows, valid)
    predicted = model.predict_kwh_per_day(temp[rep])
    systematic = float(np.sum(expected[rep] - predicted))  # what the model misses over the reporting year
    res = model.residuals
    types = day_types(days[rep], school)
    means_only = float(sum(res.day_type_kwh[k] * np.sum(types == k) for k in range(len(res.day_type_kwh))))
    assert abs(systematic) > 250  # about a kWh a day, all of one sign
    assert bias == pytest.approx(systematic, rel=0.15)
    assert abs(means_only - systematic) > 3 * abs(bias - systematic)


def test_f_test_p_value_against_the_tables():
    # F tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.3): F₀.₉₅(1, 10) = 4.965, F₀.₉₀(2, 9) = 3.006,
    # F₀.₉₅(7, 300) ≈ 2.04
    assert f_test_p_value(4.965, 1, 10) == pytest.approx(0.05, abs=2e-4)
    assert f_test_p_value(3.006, 2, 9) == pytest.approx(0.10, abs=2e-4)
    assert f_test_p_value(2.04, 7, 300) == pytest.approx(0.05, abs=2e-3)
    assert f_test_p_value(0.0, 2, 9) == 1.0


def test_school_holidays_that_do_not_show_in_a_persistent_noise_are_not_used():
    """Configured school holidays whose building does not change in them, under AR(1) ρ = 0.8 day noise: the
    holiday weeks' type means would only take up blocks of the noise, so the F-test (with n/n′) leaves them out
    and the reporting days are typed by weekday alone; a real −300 kWh pattern in the same noise is kept."""
    rng = np.random.default_rng(31)
    days = pd.date_range("2025-01-01", periods=365, freq="D", tz=LOCAL_TZ)
    school_days = np.isin(days.isocalendar().week.to_numpy(), (7, 28, 29, 30, 42))
    holidays = frozenset(days[school_days].date)
    noise = np.zeros(365)
    for i in range(1, 365):
        noise[i] = 0.8 * noise[i - 1] + rng.normal(0, 30.0)
    design = np.ones((365, 1))
    quiet = unit_residuals_daily(noise - noise.mean(), days, 1, design=design, school_holidays=holidays)
    assert quiet.school_holidays_p is not None and quiet.school_holidays_p >= CALENDAR_TERM_P
    assert quiet.school_holidays == frozenset() and not any(quiet.joint_day_type_kwh[8:])
    pattern = noise - 300.0 * school_days
    used = unit_residuals_daily(pattern - pattern.mean(), days, 1, design=design, school_holidays=holidays)
    assert used.school_holidays_p < CALENDAR_TERM_P and used.school_holidays == holidays


def test_how_the_site_calendar_entered_the_uncertainty_is_told_per_model():
    """What a report says about a building's school holidays (``UnitResiduals.school_holidays_use``): none given;
    given but not one of them in the baseline (a calendar entered for this school year only has no pattern to learn
    from — its F-test's p = 1 must not read as "tested, no pattern"); tested and left out; used — for the daily
    residuals, the hourly model's (absorbed) and the billing model's (its calendar columns, kept without a test)."""
    from energimon.analytics.baseline import fit_caltrack_billing
    from energimon.analytics.stats import unit_residuals_absorbed

    rng = np.random.default_rng(31)
    days = pd.date_range("2025-01-01", periods=365, freq="D", tz=LOCAL_TZ)
    school_days = np.isin(days.isocalendar().week.to_numpy(), (7, 28, 29, 30, 42))
    holidays = frozenset(days[school_days].date)
    next_year = _school(2026)
    design = np.ones((365, 1))
    noise = rng.normal(0, 30.0, 365)
    quiet = unit_residuals_daily(noise, days, 1, design=design, school_holidays=holidays)
    used = unit_residuals_daily(noise - 300.0 * school_days, days, 1, design=design, school_holidays=holidays)
    later = unit_residuals_daily(noise, days, 1, design=design, school_holidays=next_year)
    plain = unit_residuals_daily(noise, days, 1, design=design)
    assert (used.school_holidays_use, used.school_holiday_days) == ("used", 35)  # five weeks, no public holiday
    assert used.school_holidays_p < CALENDAR_TERM_P
    assert quiet.school_holidays_use == "not_significant" and quiet.school_holidays_p >= CALENDAR_TERM_P
    assert (later.school_holidays_use, later.school_holiday_days) == ("absent", 0) and later.school_holidays_p == 1.0
    assert (plain.school_holidays_use, plain.school_holiday_days) == ("none", None)
    assert unit_residuals_daily(noise, None, 1).school_holidays_use == "none"
    # the hourly model's residuals: its school holidays are day types without a test
    m = np.eye(365) - np.full((365, 365), 1 / 365)
    assert unit_residuals_absorbed(m @ noise, days, m, 1, holidays).school_holidays_use == "used"
    assert unit_residuals_absorbed(m @ noise, days, m, 1, next_year).school_holidays_use == "absent"
    assert unit_residuals_absorbed(m @ noise, days, m, 1).school_holidays_use == "none"
    # the billing model: its calendar columns whenever the baseline holds school holidays
    bdays, starts, _ = _billing_year(2025)
    ends = [*starts[1:], pd.Timestamp("2026-01-01", tz=LOCAL_TZ)]
    use = 100.0 + rng.normal(0, 3.0, len(bdays))
    periods = [(a, b, float(use[(bdays >= a) & (bdays < b)].sum())) for a, b in zip(starts, ends, strict=True)]
    temp = pd.Series(rng.normal(8.0, 5.0, len(bdays)), index=bdays)

    def billing(school: frozenset) -> UnitResiduals:
        fit = fit_caltrack_billing(temp, periods, heating_balance_points_c=(-30.0,), cooling_balance_points_c=(60.0,),
                                   school_holidays=school)
        assert fit.model.residuals is not None
        return fit.model.residuals

    assert (billing(_school(2025)).school_holidays_use, billing(_school(2025)).school_holiday_days) == ("used", 26)
    assert billing(next_year).school_holidays_use == "absent"
    assert billing(frozenset()).school_holidays_use == "none"
