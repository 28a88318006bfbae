"""Reference side of the CalTRACK comparison: runs INSIDE a throwaway eemeter venv, never in ours.

    /tmp/caltrack-venv/bin/python bench/caltrack_reference.py --out /tmp/caltrack-ref.json

Loads eemeter's bundled (simulated) Illinois sample data, fits eemeter's CalTRACK models on the
365 baseline days before the sample's blackout and predicts the 365 days after it, and writes one
JSON file holding the exact inputs it used (daily/hourly temperatures in °F, usage in kWh, billing
periods), the fitted parameters, eemeter's own fit metrics and its predictions.
``bench/caltrack_compare.py`` (in our venv) fits our models on exactly those inputs.

Which eemeter API is used (detected at run time):

* eemeter 2.x (2.10.11 tested): ``fit_caltrack_usage_per_day_model`` — the CalTRACK 2.0 daily
  method itself: grid search of integer °F balance points 30..90, OLS, candidates disqualified by
  negative parameters / too few degree days, highest adjusted R² wins; with
  ``use_billing_presets=True`` the billing variant (WLS, weights = days per period).
* eemeter 4.x (4.1.1 tested): ``DailyModel(model="legacy")`` — eemeter's re-implementation of the
  change-point model with continuously optimised balance points (nlopt), no smoothing, OLS loss,
  no season/weekday splits; ``BillingModel`` the same on billing data; ``HourlyCaltrackModel`` the
  CalTRACK hourly TOWT model (three-month-weighted segments, occupancy, temperature bins).

Sources read (not copied): CalTRACK methods 2.0, ``docs/methods.rst`` of openeemeter/caltrack
(§3.2 balance points, §3.4 fitting and selection, §3.5 missing data, §3.6 avoided energy, §3.7-3.9
hourly); eemeter's "CalTRACK compliance" page (eemeter.readthedocs.io); the installed eemeter
packages' docstrings and signatures for the API calls below.

Standalone on purpose: it imports nothing from energimon, so it runs in a venv that has only eemeter.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd

BASELINE_DAYS = 365
REPORTING_DAYS = 365


def _num(x) -> float | None:
    """JSON-safe float (NaN/inf -> null)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(values) -> list:
    return [_num(v) for v in np.asarray(values, float)]


def _iso(index) -> list[str]:
    return [ts.isoformat() for ts in pd.DatetimeIndex(index)]


def _windows(meta: dict) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """Baseline = 365 days before the blackout start; reporting = 365 days from the blackout end."""
    bs, be = pd.Timestamp(meta["blackout_start_date"]), pd.Timestamp(meta["blackout_end_date"])
    return bs - pd.Timedelta(days=BASELINE_DAYS), bs, be, be + pd.Timedelta(days=REPORTING_DAYS)


def _slice(df, start, end):
    return df[(df.index >= start) & (df.index < end)]


def _daily_mean_temperature_f(temp_hourly: pd.Series) -> pd.Series:
    """Daily mean of the hourly temperatures (UTC days, as the sample's meter days are UTC)."""
    return temp_hourly.resample("D").mean()


def _billing_periods(meter: pd.DataFrame, start, end) -> list[list]:
    """(start, end_exclusive, kWh) for the billing periods lying wholly inside [start, end)."""
    idx, vals = meter.index, meter["value"].to_numpy(float)
    out = []
    for i in range(len(idx) - 1):
        if idx[i] >= start and idx[i + 1] <= end and math.isfinite(vals[i]):
            out.append([idx[i].isoformat(), idx[i + 1].isoformat(), float(vals[i])])
    return out


# --------------------------------------------------------------------------- eemeter 2.x


def _run_v2(samples: dict, out: dict) -> None:
    import eemeter

    def daily_fit(sample, billing=False):
        meter, temp, meta = eemeter.load_sample(sample)
        b0, b1, _, _ = _windows(meta)
        if billing:
            baseline, _ = eemeter.get_baseline_data(meter, end=b1, max_days=BASELINE_DAYS)
            dm = eemeter.create_caltrack_billing_design_matrix(baseline, temp)
            res = eemeter.fit_caltrack_usage_per_day_model(dm, use_billing_presets=True, weights_col="n_days_kept")
        else:
            dm = eemeter.create_caltrack_daily_design_matrix(_slice(meter, b0, b1), temp)
            res = eemeter.fit_caltrack_usage_per_day_model(dm)
        mp = res.model.model_params
        model = {
            "api": "eemeter.fit_caltrack_usage_per_day_model" + (" (use_billing_presets=True)" if billing else ""),
            "type": res.model.model_type,
            "status": res.status,
            "intercept_kwh_per_day": _num(mp.get("intercept")),
            "beta_hdd_kwh_per_f_day": _num(mp.get("beta_hdd", 0.0)),
            "beta_cdd_kwh_per_f_day": _num(mp.get("beta_cdd", 0.0)),
            "heating_balance_f": _num(mp.get("heating_balance_point")),
            "cooling_balance_f": _num(mp.get("cooling_balance_point")),
            "r2_adj_reported": _num(res.r_squared_adj),
            "n_candidates": len(res.candidates),
            "n_qualified": sum(c.status == "QUALIFIED" for c in res.candidates),
        }
        tm = res.totals_metrics
        if tm is not None:
            model.update(cvrmse_reported=_num(tm.cvrmse), cvrmse_adj_reported=_num(tm.cvrmse_adj),
                         nmbe_reported=_num(tm.nmbe), r2_reported=_num(tm.r_squared))
        return meter, temp, meta, dm, res, model

    # daily
    name = samples["daily"]
    meter, temp, meta, dm, res, model = daily_fit(name)
    b0, b1, r0, r1 = _windows(meta)
    rdm = eemeter.create_caltrack_daily_design_matrix(_slice(meter, r0, r1), temp)
    pred_b = res.model.predict(dm.index, temp).result["predicted_usage"].reindex(dm.index)
    pred_r = res.model.predict(rdm.index, temp).result["predicted_usage"].reindex(rdm.index)
    # eemeter's savings error bands over the reporting year (CalTRACK: FSU with its empirical correction of
    # G14's 1.26, and the OLS band), at the two confidences energimon reports
    bands = {}
    for conf in (0.68, 0.90):
        try:
            _, eb = eemeter.metered_savings(res, _slice(meter, r0, r1), temp, confidence_level=conf)
            bands[f"{conf:.2f}"] = {k: _num(v) for k, v in (eb or {}).items()}
        except Exception as e:  # reported, not fatal
            bands[f"{conf:.2f}"] = {"error": f"{type(e).__name__}: {e}"}
    model["error_bands"] = bands
    out["daily"] = {
        "sample": name, "model": model,
        "baseline": {"day": _iso(dm.index), "temp_f": _nums(dm["temperature_mean"]),
                     "usage_kwh": _nums(dm["meter_value"]), "predicted_kwh": _nums(pred_b)},
        "reporting": {"day": _iso(rdm.index), "temp_f": _nums(rdm["temperature_mean"]),
                      "usage_kwh": _nums(rdm["meter_value"]), "predicted_kwh": _nums(pred_r)},
    }

    # billing (monthly)
    name = samples["billing"]
    meter, temp, meta, dm, res, model = daily_fit(name, billing=True)
    b0, b1, r0, r1 = _windows(meta)
    days = pd.date_range(meter.index[0].normalize(), meter.index[-1], freq="D", tz=meter.index.tz)
    pred_days = res.model.predict(days, temp).result["predicted_usage"].reindex(days)
    tday = _daily_mean_temperature_f(temp).reindex(days)
    offset = meter.index[0] - meter.index[0].normalize()
    taligned = temp.resample("D", offset=offset).mean()
    out["billing"] = {
        "daily_temp_period_aligned": {"day": _iso(taligned.index), "temp_f": _nums(taligned)},
        "sample": name, "model": model,
        "daily_temp": {"day": _iso(days), "temp_f": _nums(tday), "predicted_kwh": _nums(pred_days)},
        "baseline_periods_used": int(dm["meter_value"].notna().sum()),
        "baseline": _billing_periods(meter, b0, b1),
        "reporting": _billing_periods(meter, r0, r1),
    }


# --------------------------------------------------------------------------- eemeter 4.x


def _coefficients_v4(model) -> dict:
    sub = model.params.submodels
    if len(sub) != 1:
        raise RuntimeError(f"expected one submodel with legacy settings, got {list(sub)}")
    c = next(iter(sub.values())).coefficients
    return {
        "type": c.model_type.value,
        "intercept_kwh_per_day": _num(c.intercept),
        "beta_hdd_kwh_per_f_day": _num(c.hdd_beta) if c.hdd_bp is not None else 0.0,
        "beta_cdd_kwh_per_f_day": _num(c.cdd_beta) if c.cdd_bp is not None else 0.0,
        "heating_balance_f": _num(c.hdd_bp),
        "cooling_balance_f": _num(c.cdd_bp),
    }


def _run_v4(samples: dict, out: dict, hourly: bool) -> None:
    import eemeter.eemeter as em
    from eemeter.eemeter.samples import load_sample

    # daily
    name = samples["daily"]
    meter, temp, meta = load_sample(name)
    b0, b1, r0, r1 = _windows(meta)
    bd = em.DailyBaselineData.from_series(_slice(meter, b0, b1), temp, is_electricity_data=True)
    m = em.DailyModel(model="legacy").fit(bd, ignore_disqualification=True)
    pb = m.predict(bd, ignore_disqualification=True)
    rd = em.DailyReportingData.from_series(_slice(meter, r0, r1), temp, is_electricity_data=True)
    pr = m.predict(rd, ignore_disqualification=True)
    model = {"api": 'eemeter.eemeter.DailyModel(model="legacy")', **_coefficients_v4(m),
             "cvrmse_reported": _num(m.error["CVRMSE"]), "rmse_reported": _num(m.error["RMSE"]),
             "disqualification": [w.qualified_name for w in m.disqualification]}
    out["daily"] = {
        "sample": name, "model": model,
        "baseline": {"day": _iso(pb.index), "temp_f": _nums(pb["temperature"]), "usage_kwh": _nums(pb["observed"]),
                     "predicted_kwh": _nums(pb["predicted"])},
        "reporting": {"day": _iso(pr.index), "temp_f": _nums(pr["temperature"]), "usage_kwh": _nums(pr["observed"]),
                      "predicted_kwh": _nums(pr["predicted"])},
    }

    # billing (monthly)
    name = samples["billing"]
    meter, temp, meta = load_sample(name)
    b0, b1, r0, r1 = _windows(meta)
    try:
        from eemeter.eemeter.common.transform import get_baseline_data

        baseline, _ = get_baseline_data(meter, end=b1, max_days=BASELINE_DAYS)
        bl = em.BillingBaselineData.from_series(baseline, temp, is_electricity_data=True)
        bm = em.BillingModel().fit(bl, ignore_disqualification=True)
        days = pd.date_range(meter.index[0].normalize(), meter.index[-1], freq="D", tz=meter.index.tz)
        tday = _daily_mean_temperature_f(temp).reindex(days)
        pdays = bm._predict(tday.to_frame("temperature"))["predicted"].reindex(days)
        out["billing"] = {
            "sample": name,
            "model": {"api": "eemeter.eemeter.BillingModel()", **_coefficients_v4(bm),
                      "cvrmse_reported": _num(bm.error["CVRMSE"])},
            "daily_temp": {"day": _iso(days), "temp_f": _nums(tday), "predicted_kwh": _nums(pdays)},
            "baseline": _billing_periods(meter, b0, b1),
            "reporting": _billing_periods(meter, r0, r1),
        }
    except Exception as e:  # reported, not fatal: the daily comparison is the main result
        out["billing"] = {"sample": name, "error": f"{type(e).__name__}: {e}"}

    if not hourly:
        return
    name = samples["hourly"]
    meter, temp, meta = load_sample(name)
    b0, b1, r0, r1 = _windows(meta)
    t0 = time.perf_counter()
    hb = em.HourlyCaltrackBaselineData.from_series(_slice(meter, b0, b1), temp, is_electricity_data=True)
    hm = em.HourlyCaltrackModel().fit(hb)
    fit_s = time.perf_counter() - t0
    hr = em.HourlyCaltrackReportingData.from_series(_slice(meter, r0, r1), temp, is_electricity_data=True)
    pb = _slice(hm.predict(hb), b0, b1)
    pr = _slice(hm.predict(hr), r0, r1)  # reporting data is re-indexed onto every temperature hour
    metrics = {k: {"r2_adj": _num(v.r_squared_adj), "cvrmse_adj": _num(v.cvrmse_adj), "n": v.observed_length}
               for k, v in hm.model_metrics.items()}
    pv = hm.model_process_variables
    for k in metrics:  # occupancy and temperature-bin endpoints (°F) per segment, for the diagnosis
        metrics[k]["occupied_hours"] = int(pv.occupancy_lookup[k].sum())
        occ_bins, unocc_bins = pv.occupied_temperature_bins[k], pv.unoccupied_temperature_bins[k]
        metrics[k]["bins_occupied_f"] = [int(b) for b in occ_bins.index[occ_bins.to_numpy(bool)]]
        metrics[k]["bins_unoccupied_f"] = [int(b) for b in unocc_bins.index[unocc_bins.to_numpy(bool)]]
    out["hourly"] = {
        "sample": name,
        "model": {"api": "eemeter.eemeter.HourlyCaltrackModel()", "type": "caltrack_hourly_towt",
                  "segment_type": hm.segment_type, "fit_seconds": round(fit_s, 2), "segment_metrics": metrics},
        "baseline": {"hour": _iso(pb.index), "temp_f": _nums(pb["temperature"]), "usage_kwh": _nums(pb["observed"]),
                     "predicted_kwh": _nums(pb["predicted"])},
        "reporting": {"hour": _iso(pr.index), "temp_f": _nums(pr["temperature"]), "usage_kwh": _nums(pr["observed"]),
                      "predicted_kwh": _nums(pr["predicted"])},
    }


def serve_daily(sample: str) -> int:
    """``--serve-daily``: for ``bench/fit_speed.py``, which pairs our daily fit with eemeter 4's in one run.

    Writes one JSON line with the inputs (the baseline and reporting days as ``_run_v4`` uses them), then for
    every ``fit`` line on stdin fits ``DailyModel(model="legacy")`` on the prepared baseline data again and
    answers one JSON line: the seconds of ``fit`` alone (data preparation and this pipe are not timed) and the
    predicted reporting-period total, so the two answers can be compared.
    """
    import eemeter.eemeter as em
    from eemeter.eemeter.samples import load_sample

    meter, temp, meta = load_sample(sample)
    b0, b1, r0, r1 = _windows(meta)
    bd = em.DailyBaselineData.from_series(_slice(meter, b0, b1), temp, is_electricity_data=True)
    rd = em.DailyReportingData.from_series(_slice(meter, r0, r1), temp, is_electricity_data=True)
    m = em.DailyModel(model="legacy").fit(bd, ignore_disqualification=True)  # warm-up (nlopt, numba caches)
    pb, pr = m.predict(bd, ignore_disqualification=True), m.predict(rd, ignore_disqualification=True)
    print(json.dumps({"baseline": {"temp_f": _nums(pb["temperature"]), "usage_kwh": _nums(pb["observed"])},
                      "reporting": {"temp_f": _nums(pr["temperature"]), "usage_kwh": _nums(pr["observed"])}}),
          flush=True)
    for line in sys.stdin:
        if line.strip() != "fit":
            break
        t0 = time.perf_counter()
        m = em.DailyModel(model="legacy").fit(bd, ignore_disqualification=True)
        seconds = time.perf_counter() - t0
        pr = m.predict(rd, ignore_disqualification=True)
        print(json.dumps({"seconds": seconds, "model": _coefficients_v4(m),
                          "predicted_reporting_kwh": _nums(pr["predicted"])}), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="JSON file to write")
    ap.add_argument("--serve-daily", action="store_true", help="time eemeter 4's daily fit on request (fit_speed.py)")
    ap.add_argument("--no-hourly", action="store_true", help="skip the hourly model (eemeter 4.x only)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("eemeter").setLevel(logging.ERROR)
    try:
        from importlib.metadata import version

        ver = version("eemeter")
    except Exception:
        print("eemeter is not installed in this interpreter", file=sys.stderr)
        return 2
    if args.serve_daily:
        return serve_daily("il-electricity-cdd-hdd-daily")
    if not args.out:
        ap.error("--out is required")
    samples = {"daily": "il-electricity-cdd-hdd-daily", "billing": "il-electricity-cdd-hdd-billing_monthly",
               "hourly": "il-electricity-cdd-hdd-hourly"}
    out: dict = {"reference": {"package": "eemeter", "version": ver, "python": sys.version.split()[0],
                               "pandas": pd.__version__, "numpy": np.__version__}}
    t0 = time.perf_counter()
    if int(ver.split(".")[0]) >= 4:
        _run_v4(samples, out, hourly=not args.no_hourly)
    else:
        _run_v2(samples, out)
    out["reference"]["seconds"] = round(time.perf_counter() - t0, 1)
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"wrote {args.out} (eemeter {ver}, {out['reference']['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
