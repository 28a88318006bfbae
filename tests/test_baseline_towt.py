"""CalTRACK hourly TOWT model: occupancy, temperature bins, monthly segments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.baseline import day_type_daily_basis, fit_caltrack_daily
from energimon.analytics.stats import DAY_TYPES, day_types
from energimon.analytics.towt import (
    TOWT_KNOTS_C,
    day_noise_decay,
    fit_towt_hourly,
    hour_of_week,
    merge_sparse_knots,
    temperature_basis,
)


def _building(start: str, end: str, seed: int = 0):
    idx = pd.date_range(start, end, freq="h", inclusive="left", tz="Europe/Copenhagen")
    rng = np.random.default_rng(seed)
    doy = idx.day_of_year.to_numpy()
    temp = 8 - 9 * np.cos(2 * math.pi * (doy - 15) / 365) + 3 * np.sin(2 * math.pi * idx.hour.to_numpy() / 24)
    temp = temp + rng.normal(0, 1.5, len(idx))
    how = hour_of_week(idx)
    occupied = ((how // 24) < 5) & ((how % 24) >= 7) & ((how % 24) < 17)
    # 20 kWh/h closed, 50 kWh/h open; heating 2 kWh/h per K below 12.78 °C (55 °F, a TOWT knot) when open
    usage = np.where(occupied, 50.0 + 2.0 * np.maximum(0.0, TOWT_KNOTS_C[2] - temp), 20.0)
    return idx, pd.Series(usage, index=idx), pd.Series(temp, index=idx), occupied


def test_hour_of_week_is_local():
    idx = pd.DatetimeIndex(["2026-03-02 00:00", "2026-03-08 23:00"]).tz_localize("Europe/Copenhagen").tz_convert("UTC")
    assert list(hour_of_week(idx)) == [0, 167]  # Monday 00-01 local, Sunday 23-24 local


def test_temperature_basis_by_hand():
    # knots 0 and 10: T = −5 -> (−5, 0, 0);  T = 4 -> (0, 4, 0);  T = 15 -> (0, 10, 5)
    b = temperature_basis(np.array([-5.0, 4.0, 15.0]), [0.0, 10.0])
    assert b.tolist() == [[-5.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 10.0, 5.0]]
    # the segments add back up to T
    assert b.sum(axis=1).tolist() == [-5.0, 4.0, 15.0]


def test_sparse_bins_are_merged():
    t = np.concatenate([np.full(100, 5.0), np.full(5, 40.0)])  # only 5 hours above 32.2 °C
    ks = merge_sparse_knots(t, TOWT_KNOTS_C)
    counts = np.histogram(t, bins=[-np.inf, *ks, np.inf])[0]
    assert counts.min() >= 20


def test_towt_recovers_an_occupied_schedule():
    _idx, usage, temp, _occupied = _building("2025-01-01", "2026-01-01")
    model = fit_towt_hourly(usage, temp)
    assert sorted(model.segments) == list(range(1, 13))
    jan = model.segments[1]
    assert jan.occupied.reshape(7, 24)[:5, 7:17].all() and not jan.occupied.reshape(7, 24)[5:].any()
    # not exactly 1: in March and November fewer than 20 occupied hours lie above the 12.78 °C kink, so the
    # occupied slopes there do without that knot (measured 0.9999989)
    assert model.stats.r2 == pytest.approx(1.0, abs=1e-5)
    # predicts a new year (new weather) exactly: the model form contains the truth
    idx2, usage2, temp2, _ = _building("2026-01-01", "2026-03-01", seed=5)
    pred = model.predict_kwh(idx2, temp2.to_numpy())
    assert np.nanmax(np.abs(pred - usage2.to_numpy())) < 1e-6


def test_every_temperature_slope_rests_on_twenty_hours():
    """CalTRACK §3.8's 20 hours per temperature bin hold for the occupied and the unoccupied slopes each: counted
    over all of a segment's hours, an unoccupied top bin could rest on a few warm nights (a sports hall's August
    in the calibration bench: a slope of 130 kWh/K·h and +6,454 kWh predicted for a warmer reporting August)."""
    idx, usage, temp, _occ = _building("2025-01-01", "2026-01-01", seed=3)
    model = fit_towt_hourly(usage, temp)
    how = hour_of_week(idx)
    months = idx.month.to_numpy()
    t = temp.to_numpy()
    for m, seg in model.segments.items():
        near = np.isin(months, [m, m % 12 + 1, (m - 2) % 12 + 1])  # the segment's own month and its neighbours
        occupied = seg.occupied[how]
        unoccupied_knots = seg.knots if seg.knots_unoccupied is None else seg.knots_unoccupied
        for hours, knots in ((near & occupied, seg.knots), (near & ~occupied, unoccupied_knots)):
            counts = np.histogram(t[hours], bins=[-np.inf, *knots, np.inf])[0]
            assert counts.min() >= 20, (m, knots, counts)


def test_day_hat_matrix_reproduces_the_fitted_day_sums():
    """``TowtModel.day_hat`` (H_D) is the fit's hat matrix on day sums: for use that is a day-level signal η_d
    spread evenly over the day's hours, the fitted day sums are exactly ``H_D η`` (the fit is linear in the
    use once its design is fixed); its trace is what the segments absorb of day-level noise."""
    idx, _usage, temp, _occ = _building("2025-01-01", "2026-01-01")
    rng = np.random.default_rng(2)
    local_day = idx.tz_convert("Europe/Copenhagen").tz_localize(None).normalize()
    day_no = (local_day - local_day[0]).days.to_numpy()
    eta = rng.normal(0, 24.0, day_no.max() + 1)
    hours = np.bincount(day_no)
    use = pd.Series(eta[day_no] / hours[day_no], index=idx)
    model = fit_towt_hourly(use, temp)
    fitted = np.bincount(day_no, weights=model.predict_kwh(idx, temp.to_numpy()))
    assert model.day_hat is not None and model.day_hat.shape == (365, 365)
    np.testing.assert_allclose(model.day_hat @ eta, fitted, atol=1e-6 * np.abs(eta).max())
    # each day's own level comes from ~4.3 own-month weeks at weight 1 and ~8.7 neighbouring ones at 0.5:
    # a weekday's share of its own hour-of-week levels is about 1/8.7, the temperature terms add a little
    assert 0.08 < np.trace(model.day_hat) / 365 < 0.25


def test_persistent_day_noise_keeps_its_decay():
    """Day-level noise that is partly persistent — AR(1) ρ = 0.8 (marginal sd 30 kWh) plus white noise (sd 30):
    ρ₁ = 0.8·900/1800 = 0.4, decay φ = 0.8, long-run variance 900·1.8/0.2 + 900 = 9,000 kWh² (σ² 1,800 times
    n/n′ = 1 + 2·0.4/0.2 = 5).  TOWT's month segments take up the slow tail, so the decay its own residuals show
    is low (measured when written, these 8 seeds: mean 0.61, long-run variance 5,609 kWh², 62 % of the truth);
    the decay comes from the CalTRACK daily model on the same day sums (mean 0.81, long-run 12,122 kWh²).  The
    building heats in every hour, so the daily model fits it."""
    idx = pd.date_range("2025-01-01", "2026-01-01", freq="h", inclusive="left", tz="Europe/Copenhagen")
    rng0 = np.random.default_rng(0)
    doy = idx.day_of_year.to_numpy()
    temp = (8 - 9 * np.cos(2 * math.pi * (doy - 15) / 365) + 3 * np.sin(2 * math.pi * idx.hour.to_numpy() / 24)
            + rng0.normal(0, 1.5, len(idx)))
    how = hour_of_week(idx)
    occupied = ((how // 24) < 5) & ((how % 24) >= 7) & ((how % 24) < 17)
    usage = np.where(occupied, 50.0, 20.0) + 2.0 * np.maximum(0.0, TOWT_KNOTS_C[2] - temp)
    local_day = idx.tz_localize(None).normalize()
    day_no = (local_day - local_day[0]).days.to_numpy()
    hours = np.bincount(day_no)
    decays, long_run = [], []
    for seed in range(100, 108):
        rng = np.random.default_rng(seed)
        eta = np.empty(day_no.max() + 1)
        eta[0] = rng.normal(0, 30)
        for i in range(1, len(eta)):
            eta[i] = 0.8 * eta[i - 1] + rng.normal(0, 18)
        eta = eta + rng.normal(0, 30, len(eta))
        res = fit_towt_hourly(pd.Series(usage + eta[day_no] / hours[day_no], index=idx),
                              pd.Series(temp, index=idx)).residuals
        assert res is not None
        decays.append(res.decay)
        long_run.append(res.sigma2 * res.variance_inflation)
    assert 0.72 < np.mean(decays) < 0.9
    assert 0.75 < np.median(long_run) / 9000.0 < 1.6



def _summer_holiday_dip_year(dip_kwh_per_day: float, rho: float, seed: int):
    """A year of hours heated below 14 °C in every hour, AR(1) day noise (marginal sd 60 kWh, lag-1 ``rho``) and
    ``dip_kwh_per_day`` less use on the school holidays' non-holiday days (weeks 7, 28-30, 42, 23 Dec - 1 Jan):
    a sports hall quiet in the summer holidays."""
    idx = pd.date_range("2025-01-01", "2026-01-01", freq="h", inclusive="left", tz="Europe/Copenhagen")
    local_day = idx.tz_localize(None).normalize()
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    week = days.isocalendar().week.to_numpy()
    md = days.month.to_numpy() * 100 + days.day.to_numpy()
    school = np.isin(week, (7, 28, 29, 30, 42)) | (md >= 1223) | (md <= 101)
    public = day_types(days) == DAY_TYPES.index("holiday")
    doy = idx.day_of_year.to_numpy()
    temp = (8 - 9 * np.cos(2 * math.pi * (doy - 15) / 365) + 3 * np.sin(2 * math.pi * idx.hour.to_numpy() / 24)
            + np.random.default_rng(0).normal(0, 1.5, len(idx)))
    day_no = (local_day - local_day[0]).days.to_numpy()
    hours = np.bincount(day_no)
    rng = np.random.default_rng(seed)
    eta = np.empty(len(days))
    eta[0] = rng.normal(0, 60)
    for i in range(1, len(eta)):
        eta[i] = rho * eta[i - 1] + rng.normal(0, 60 * math.sqrt(1 - rho * rho))
    usage = 30.0 + 2.0 * np.maximum(0.0, 14.0 - temp) + (eta + np.where(school & ~public, -dip_kwh_per_day, 0.0)
                                                        )[day_no] / hours[day_no]
    school_days = frozenset(d.date() for d, s in zip(days, school, strict=True) if s)
    return pd.Series(usage, index=idx), pd.Series(temp, index=idx), school_days


def test_a_summer_holiday_dip_is_not_read_as_persistent_noise():
    """White day noise and 160 kWh/day less use in the school holidays: CalTRACK daily's balance-point search takes
    up the July dip (heating balance ≈ 17.8 °C for a building heated below 14 °C, measured when written), and the
    wrong heating curve's misfit follows the weather — read as persistence, the decay TOWT took was 0.82 on average
    at ρ = 0.4 (10 seeds) against 0.47 without the dip.  Fitted jointly with the day types, the search finds the
    building's own curve and white noise stays white."""
    usage, temp, school = _summer_holiday_dip_year(160.0, 0.0, seed=100)
    day = pd.DatetimeIndex(usage.index).normalize()
    assert day_noise_decay(usage.to_numpy(), temp.to_numpy(), day, school) is None
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    sums = usage.groupby(day).sum().to_numpy()
    t_day = temp.groupby(day).mean().to_numpy()
    plain = fit_caltrack_daily(t_day, sums, days=days, school_holidays=school).model
    assert plain.heating_balance_c is not None and plain.heating_balance_c > 16.0  # the dip moved it
    joint = day_type_daily_basis(t_day, sums, day_types(days, school))
    hdd_14 = np.maximum(0.0, 14.0 - t_day)
    # the building's own heating term (degree days below 14 °C, the nearest grid point is 13.9 °C) lies in the span
    explained = joint @ (joint.T @ hdd_14)
    assert np.linalg.norm(hdd_14 - explained) < 0.05 * np.linalg.norm(hdd_14)


def test_persistent_noise_under_a_summer_holiday_dip_keeps_its_decay():
    """AR(1) ρ = 0.4 day noise and an 80 kWh/day school-holiday dip (long-run variance 3,600·1.4/0.6 = 8,400 kWh²):
    the decay TOWT takes stays near the noise's and the long-run variance near the truth (measured when written,
    10 seeds: decay 0.58 and 1.41× with the plain daily model, 0.47 and 1.14× fitted with the day types; 0.47 and
    1.12× without a dip — the method of moments' own small upward bias)."""
    decays, long_run = [], []
    for seed in range(100, 106):
        usage, temp, school = _summer_holiday_dip_year(80.0, 0.4, seed)
        res = fit_towt_hourly(usage, temp, school).residuals
        assert res is not None
        decays.append(res.decay)
        long_run.append(res.sigma2 * res.variance_inflation / 8400.0)
    assert np.mean(decays) < 0.53
    assert 0.8 < np.median(long_run) < 1.3
