"""Compare our CalTRACK models with eemeter on eemeter's public sample data (run in OUR venv).

    .venv/bin/python bench/caltrack_compare.py --reference-venv /tmp/caltrack-venv \\
                                               --reference-venv /tmp/caltrack2-venv

Each ``--reference-venv`` is a throwaway venv holding eemeter (never a dependency of ours): the
driver ``bench/caltrack_reference.py`` runs there in a subprocess and writes the exact inputs it
used plus its fitted models and predictions; this script fits ``fit_caltrack_daily``,
``fit_caltrack_billing`` and ``fit_towt_hourly`` on the same inputs (°F converted to °C) and prints
markdown tables: ours | eemeter | relative difference.  ``--reference-json`` reads a driver output
instead of running it.

Units: our balance points are °C and slopes kWh per K·day; eemeter's are °F and kWh per °F·day,
so slopes are converted with ×1.8 (1 K = 1.8 °F).  Grids: ours is CalTRACK's 30..90 °F in 1 °F
steps expressed in °C (so on °F data the candidate balance points are the same numbers);
eemeter 2.x uses the same integer-°F grid; eemeter 4.x optimises balance points continuously.

Statistics: "reported" is what eemeter prints; "recomputed" applies OUR formulas
(``energimon.analytics.stats``: G14 CV(RMSE) with n−p, p counting the intercept) to eemeter's
own predictions, so the two models are judged by one yardstick.

Sources: CalTRACK methods 2.0 (openeemeter/caltrack ``docs/methods.rst`` §3.2-3.9); eemeter's
"CalTRACK compliance" page; eemeter 2.10.11 / 4.1.1 docstrings and signatures (read, not copied).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from energimon import model as energimon_model
from energimon.analytics import towt
from energimon.analytics.baseline import fit_caltrack_billing, fit_caltrack_daily
from energimon.analytics.savings import daily_savings, period_savings, savings_frame
from energimon.analytics.stats import fit_statistics, savings_uncertainty_kwh

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "caltrack_reference.py"
K_PER_F = 5.0 / 9.0  # one °F difference in kelvin
SETUP_HELP = """\
Create the reference venv(s) outside the repository (eemeter is never a dependency of energimon):

    python3 -m venv /tmp/caltrack-venv
    /tmp/caltrack-venv/bin/pip install 'eemeter==4.1.1' pytz 'pandas<3'
    python3 -m venv /tmp/caltrack2-venv      # optional: eemeter 2.x = CalTRACK 2.0 grid search
    /tmp/caltrack2-venv/bin/pip install 'eemeter==2.10.11' pytz 'pandas<2' 'numpy<2'
"""

# eemeter model-type names -> ours
TYPE_NAMES = {"intercept_only": "intercept_only", "hdd_only": "hdd_only", "cdd_only": "cdd_only",
              "cdd_hdd": "hdd_cdd", "hdd_tidd_cdd": "hdd_cdd", "tidd": "intercept_only"}


def f_to_c(temp_f):
    return (np.asarray(temp_f, float) - 32.0) * K_PER_F


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], float)


def rel(ours: float, ref: float) -> str:
    if ours is None or ref is None or not (math.isfinite(ours) and math.isfinite(ref)):
        return "–"
    if ref == 0:
        return "0 %" if ours == 0 else "∞"
    return f"{100.0 * (ours - ref) / abs(ref):+.2f} %"


def fmt(x, nd=3) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return "–" if not math.isfinite(x) else f"{x:,.{nd}f}"


def _type_of(model: dict) -> str:
    t = model["type"]
    if t == "c_hdd_tidd":  # eemeter 4.x single-sided change point: the side is in which slope is set
        return "hdd_only" if model.get("heating_balance_f") is not None else "cdd_only"
    return TYPE_NAMES.get(t, t)


def _p_of(kind: str) -> int:
    return {"intercept_only": 1, "hdd_only": 2, "cdd_only": 2, "hdd_cdd": 3}.get(kind, 3)


# --------------------------------------------------------------------------- reference

EEMETER4_VENV = Path("/tmp/caltrack-venv")
EEMETER4_PACKAGES = ("eemeter==4.1.1", "pytz", "pandas<3")  # eemeter 4.1.1 breaks on pandas 3 and needs pytz


class ReferenceMissing(Exception):
    pass


def has_eemeter(venv: Path) -> bool:
    py = venv / "bin" / "python"
    return py.exists() and subprocess.run([str(py), "-c", "import eemeter"], capture_output=True,
                                          timeout=300).returncode == 0


def build_reference_venv(venv: Path = EEMETER4_VENV, packages=EEMETER4_PACKAGES) -> Path:
    """A throwaway venv holding eemeter (outside the repository; never a dependency of energimon), built with
    pip from PyPI if it is not there yet."""
    if has_eemeter(venv):
        return venv
    print(f"building the eemeter reference venv {venv} ({', '.join(packages)}; a few minutes, once)",
          file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True, timeout=1800)
    if not has_eemeter(venv):
        raise ReferenceMissing(f"eemeter still does not import in {venv}")
    return venv


def run_reference(venv: Path, no_hourly: bool) -> dict:
    py = venv / "bin" / "python"
    if not py.exists():
        raise ReferenceMissing(f"no Python interpreter at {py}")
    probe = subprocess.run([str(py), "-c", "import importlib.metadata as m; print(m.version('eemeter'))"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        raise ReferenceMissing(f"eemeter is not importable with {py}: {probe.stderr.strip().splitlines()[-1:]}")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "ref.json"
        cmd = [str(py), str(DRIVER), "--out", str(out)] + (["--no-hourly"] if no_hourly else [])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            tail = "\n".join(r.stderr.strip().splitlines()[-8:])
            raise ReferenceMissing(f"the reference driver failed in {venv} (exit {r.returncode}):\n{tail}")
        return json.loads(out.read_text())


# --------------------------------------------------------------------------- daily


def compare_daily(ref: dict) -> tuple[list[tuple], dict]:
    d = ref["daily"]
    m = d["model"]
    tb, yb, pb_ref = f_to_c(_arr(d["baseline"]["temp_f"])), _arr(d["baseline"]["usage_kwh"]), _arr(
        d["baseline"]["predicted_kwh"])
    tr, yr, pr_ref = f_to_c(_arr(d["reporting"]["temp_f"])), _arr(d["reporting"]["usage_kwh"]), _arr(
        d["reporting"]["predicted_kwh"])
    t0 = time.perf_counter()
    fit = fit_caltrack_daily(tb, yb)
    fit_s = time.perf_counter() - t0
    ours = fit.model
    pb, pr = ours.predict_kwh_per_day(tb), ours.predict_kwh_per_day(tr)

    ok_b = ~(np.isnan(yb) | np.isnan(pb) | np.isnan(pb_ref))
    ref_kind = _type_of(m)
    ref_stats = fit_statistics(yb[ok_b], pb_ref[ok_b], _p_of(ref_kind))
    # CalTRACK §3.5: reporting days without usage or temperature get no counterfactual / no savings
    ok_r = ~(np.isnan(yr) | np.isnan(pr) | np.isnan(pr_ref))
    base_ours, base_ref = float(pr[ok_r].sum()), float(pr_ref[ok_r].sum())
    obs = float(yr[ok_r].sum())

    hb_ref = None if m["heating_balance_f"] is None else float(f_to_c(m["heating_balance_f"]))
    cb_ref = None if m["cooling_balance_f"] is None else float(f_to_c(m["cooling_balance_f"]))
    # diagnostic: our OLS at eemeter's balance points (isolates the balance-point search from the fit)
    fixed = fit_caltrack_daily(tb, yb, heating_balance_points_c=(hb_ref,) if hb_ref is not None else (),
                               cooling_balance_points_c=(cb_ref,) if cb_ref is not None else ()).model
    pr_fixed = fixed.predict_kwh_per_day(tr)
    base_fixed = float(pr_fixed[ok_r].sum())

    rows = [
        ("model type", ours.kind, ref_kind, "same" if ours.kind == ref_kind else "DIFFERENT"),
        ("heating balance point °C", ours.heating_balance_c, hb_ref, None),
        ("cooling balance point °C", ours.cooling_balance_c, cb_ref, None),
        ("intercept μ kWh/day", ours.intercept_kwh_per_day, m["intercept_kwh_per_day"], None),
        ("β_H kWh/(K·day)", ours.beta_hdd_kwh_per_k_day, 1.8 * m["beta_hdd_kwh_per_f_day"], None),
        ("β_C kWh/(K·day)", ours.beta_cdd_kwh_per_k_day, 1.8 * m["beta_cdd_kwh_per_f_day"], None),
        ("adj. R² (reported by each)", ours.stats.r2_adj, m.get("r2_adj_reported"), None),
        ("adj. R² (our formula on both)", ours.stats.r2_adj, ref_stats.r2_adj, None),
        ("CV(RMSE) reported (eemeter: n form)", ours.stats.cv_rmse_n, m.get("cvrmse_reported"), None),
        ("CV(RMSE) G14 n−p (our formula on both)", ours.stats.cv_rmse, ref_stats.cv_rmse, None),
        ("baseline days used", float(ours.stats.n), float(ok_b.sum()), None),
        ("reporting days with usage+temp", float(ok_r.sum()), float(ok_r.sum()), None),
        ("adjusted baseline over reporting kWh", base_ours, base_ref, None),
        ("observed reporting kWh", obs, obs, None),
        ("avoided energy kWh", base_ours - obs, base_ref - obs, None),
        ("avoided energy kWh, ours at eemeter's balance points", base_fixed - obs, base_ref - obs, None),
        ("max |Δ daily prediction| kWh/day", float(np.nanmax(np.abs(pr - pr_ref)[ok_r])), 0.0, "–"),
    ]
    rows += uncertainty_rows(d, m, tb, yb, tr, yr, ours)
    extra = {"fit_seconds_ours": fit_s, "n_candidates_ours": len(fit.candidates),
             "qualified_ours": sum(c.qualified for c in fit.candidates),
             "fixed_bp_model": (fixed.intercept_kwh_per_day, fixed.beta_hdd_kwh_per_k_day,
                                fixed.beta_cdd_kwh_per_k_day)}
    return rows, extra


def uncertainty_rows(d: dict, m: dict, tb, yb, tr, yr, ours) -> list[tuple]:
    """The savings band over the reporting year: ours (what the reports show), G14 eq. B-14 with 1.26 (what
    energimon used before), and eemeter's own bands (2.x: ``metered_savings`` error bands — "FSU" is G14 with
    CalTRACK's empirical correction of 1.26, "OLS" its exact-OLS band)."""
    days_b, days_r = pd.DatetimeIndex(d["baseline"]["day"]), pd.DatetimeIndex(d["reporting"]["day"])
    model = fit_caltrack_daily(tb, yb, days=days_b).model
    rows = daily_savings(model, pd.Series(tr, index=days_r), pd.Series(yr, index=days_r))
    p = period_savings("reporting year", rows, model)
    st = model.stats
    g14 = {c: savings_uncertainty_kwh(p.adjusted_baseline_kwh, st.cv_rmse, st.n, st.n_eff, model.p, p.m, c)
           for c in (0.68, 0.90)}
    bands = m.get("error_bands") or {}
    out = []
    for conf, ours_u in ((0.68, p.uncertainty_68_kwh), (0.90, p.uncertainty_90_kwh)):
        b = bands.get(f"{conf:.2f}", {})
        label = f"{conf:.0%}"
        out.append((f"savings band ± kWh at {label}: ours vs eemeter FSU band", ours_u, b.get("FSU Error Band"), None))
        out.append((f"savings band ± kWh at {label}: ours vs eemeter OLS band", ours_u, b.get("OLS Error Band"), None))
        out.append((f"savings band ± kWh at {label}: G14 B-14 (1.26, before) vs eemeter FSU band", g14[conf],
                    b.get("FSU Error Band"), None))
    return out


# --------------------------------------------------------------------------- billing


def compare_billing(ref: dict) -> tuple[list[tuple], dict] | None:
    b = ref.get("billing")
    if not b or "error" in b:
        return None
    m = b["model"]
    days = pd.DatetimeIndex(b["daily_temp"]["day"])
    temp_c = pd.Series(f_to_c(_arr(b["daily_temp"]["temp_f"])), index=days)
    pred_ref_day = pd.Series(_arr(b["daily_temp"]["predicted_kwh"]), index=days)

    def periods(rows):
        # eemeter's billing periods start at 06:00 UTC; our method works on whole days, so floor to the day
        return [(pd.Timestamp(s).floor("D"), pd.Timestamp(e).floor("D"), float(k)) for s, e, k in rows]

    base, rep = periods(b["baseline"]), periods(b["reporting"])
    fit = fit_caltrack_billing(temp_c, base)
    ours = fit.model
    chosen = [c for c in fit.candidates if c.qualified and c.kind == ours.kind
              and c.heating_balance_c == ours.heating_balance_c and c.cooling_balance_c == ours.cooling_balance_c]
    r2_adj_ours = chosen[0].r2_adj if chosen else math.nan
    pred_ours_day = pd.Series(ours.predict_kwh_per_day(temp_c.to_numpy()), index=days)

    def total(pred_day, ps):
        return float(sum(pred_day[(days >= s) & (days < e)].sum() for s, e, _ in ps))

    base_ours, base_ref = total(pred_ours_day, rep), total(pred_ref_day, rep)
    obs = float(sum(k for _, _, k in rep))
    # both models judged on the baseline periods' totals with our G14 formula
    y = np.array([k for _, _, k in base])
    ref_kind = _type_of(m)
    ref_stats = fit_statistics(y, np.array([total(pred_ref_day, [p]) for p in base]), _p_of(ref_kind))
    hb_ref = None if m["heating_balance_f"] is None else float(f_to_c(m["heating_balance_f"]))
    cb_ref = None if m["cooling_balance_f"] is None else float(f_to_c(m["cooling_balance_f"]))
    # diagnostics: (a) our WLS at eemeter's balance points; (b) our whole method on days cut at the periods'
    # own start hour (06:00 UTC, as eemeter 2.x computes billing degree days) instead of at midnight
    fixed = fit_caltrack_billing(temp_c, base, heating_balance_points_c=(hb_ref,) if hb_ref is not None else (),
                                 cooling_balance_points_c=(cb_ref,) if cb_ref is not None else ()).model
    base_fixed = total(pd.Series(fixed.predict_kwh_per_day(temp_c.to_numpy()), index=days), rep)
    aligned = b.get("daily_temp_period_aligned")
    base_aligned = math.nan
    if aligned:
        adays = pd.DatetimeIndex(aligned["day"])
        atemp = pd.Series(f_to_c(_arr(aligned["temp_f"])), index=adays)
        araw = [(pd.Timestamp(s_), pd.Timestamp(e_), float(k)) for s_, e_, k in b["baseline"]]
        am = fit_caltrack_billing(atemp, araw).model
        # predicted on the same midnight days as eemeter's reporting predictions: only the fit differs
        base_aligned = total(pd.Series(am.predict_kwh_per_day(temp_c.to_numpy()), index=days), rep)
        aligned_bp = f"{am.heating_balance_c / K_PER_F + 32:.0f}/{am.cooling_balance_c / K_PER_F + 32:.0f} °F" \
            if am.kind == "hdd_cdd" else am.kind
    rows = [
        ("model type", ours.kind, ref_kind, "same" if ours.kind == ref_kind else "DIFFERENT"),
        ("baseline periods", float(len(fit.period_days)), float(b.get("baseline_periods_used", len(base))), None),
        ("heating balance point °C", ours.heating_balance_c, hb_ref, None),
        ("cooling balance point °C", ours.cooling_balance_c, cb_ref, None),
        ("intercept μ kWh/day", ours.intercept_kwh_per_day, m["intercept_kwh_per_day"], None),
        ("β_H kWh/(K·day)", ours.beta_hdd_kwh_per_k_day, 1.8 * m["beta_hdd_kwh_per_f_day"], None),
        ("β_C kWh/(K·day)", ours.beta_cdd_kwh_per_k_day, 1.8 * m["beta_cdd_kwh_per_f_day"], None),
        ("adj. R² of the WLS fit (reported by each)", r2_adj_ours, m.get("r2_adj_reported"), None),
        ("CV(RMSE) G14 on period totals (our formula on both)", ours.stats.cv_rmse, ref_stats.cv_rmse, None),
        ("adjusted baseline over reporting periods kWh", base_ours, base_ref, None),
        ("observed reporting kWh", obs, obs, None),
        ("avoided energy kWh", base_ours - obs, base_ref - obs, None),
        ("avoided energy kWh, ours at eemeter's balance points", base_fixed - obs, base_ref - obs, None),
    ]
    if aligned:
        rows.append((f"avoided energy kWh, ours on 06:00-cut days ({aligned_bp})", base_aligned - obs,
                     base_ref - obs, None))
    return rows, {}


# --------------------------------------------------------------------------- hourly


@contextlib.contextmanager
def sample_clock(tz: str):
    """Read local time in ``tz`` instead of Danish time in every energimon module, for the ``with`` block.

    Our models read hours of the week, months and local days in ``LOCAL_TZ``, which each module that needs
    it binds by name (towt, energimon.calendar's hours of a day, degree days, …).  Every loaded module's
    binding is switched, not a list of them: with a list, the first module to start reading the clock
    leaves the fit with two clocks (the TOWT fit crashed on the 2016-10-30 DST hour when its day-level noise
    began to count each day's hours through energimon.calendar, whose clock was still Danish).  Modules first
    imported inside the block bind ``tz`` too and are reset with the others.  Relabelling the sample's UTC
    wall times as Danish ones cannot stand in: Danish time skips 02:00-03:00 on the last Sunday of March,
    so that hour of the sample has no Danish instant to become (and 02:00 of the last Sunday of October
    is two instants).
    """
    danish = energimon_model.LOCAL_TZ

    def holding(zone) -> list:
        return [mod for name, mod in list(sys.modules.items())
                if name.partition(".")[0] == "energimon" and getattr(mod, "LOCAL_TZ", None) is zone]

    for mod in holding(danish):
        mod.LOCAL_TZ = tz
    try:
        yield
    finally:
        for mod in holding(tz):
            mod.LOCAL_TZ = danish


def compare_hourly(ref: dict) -> tuple[list[tuple], dict] | None:
    h = ref.get("hourly")
    if not h:
        return None
    idx_b, idx_r = pd.DatetimeIndex(h["baseline"]["hour"]), pd.DatetimeIndex(h["reporting"]["hour"])
    tb, yb, pb_ref = f_to_c(_arr(h["baseline"]["temp_f"])), _arr(h["baseline"]["usage_kwh"]), _arr(
        h["baseline"]["predicted_kwh"])
    tr, yr, pr_ref = f_to_c(_arr(h["reporting"]["temp_f"])), _arr(h["reporting"]["usage_kwh"]), _arr(
        h["reporting"]["predicted_kwh"])
    # The sample's clock is UTC; our TOWT reads hours of the week, months and local days in Danish time.
    # Give it the sample's clock so both models see the same 168 hours, months and days — for the fit, the
    # predictions and the savings band alike (the band's terms read the reporting hours' clock too).
    with sample_clock("UTC"):
        t0 = time.perf_counter()
        model = towt.fit_towt_hourly(pd.Series(yb, index=idx_b), pd.Series(tb, index=idx_b))
        fit_s = time.perf_counter() - t0
        pb, pr = model.predict_kwh(idx_b, tb), model.predict_kwh(idx_r, tr)
        ok_r = ~(np.isnan(yr) | np.isnan(pr) | np.isnan(pr_ref))
        # the band over the same reporting hours as the sums below (hours eemeter predicts too)
        band = period_savings("reporting year", savings_frame(
            pd.Series(pr, index=idx_r), pd.Series(np.where(ok_r, yr, np.nan), index=idx_r),
            pd.Series(tr, index=idx_r)), model, granularity="hour")
    ok_b = ~(np.isnan(yb) | np.isnan(pb) | np.isnan(pb_ref))
    p = model.p
    s_ours, s_ref = fit_statistics(yb[ok_b], pb[ok_b], p), fit_statistics(yb[ok_b], pb_ref[ok_b], p)
    base_ours, base_ref, obs = float(pr[ok_r].sum()), float(pr_ref[ok_r].sum()), float(yr[ok_r].sum())
    seg = h["model"]["segment_metrics"]
    rows = [
        ("segments (three-month weighted)", float(len(model.segments)), float(len(seg)), None),
        ("mean segment adj. R² (reported by each)*", None,
         float(np.mean([v["r2_adj"] for v in seg.values()])), "–"),
        ("baseline hours used", float(ok_b.sum()), float(ok_b.sum()), None),
        (f"R² baseline (our formula on both, p={p})", s_ours.r2, s_ref.r2, None),
        ("CV(RMSE) G14 n−p baseline (our formula on both)", s_ours.cv_rmse, s_ref.cv_rmse, None),
        ("reporting hours with usage+temp", float(ok_r.sum()), float(ok_r.sum()), None),
        ("adjusted baseline over reporting kWh", base_ours, base_ref, None),
        ("observed reporting kWh", obs, obs, None),
        ("avoided energy kWh", base_ours - obs, base_ref - obs, None),
        ("correlation of hourly predictions (reporting)", float(np.corrcoef(pr[ok_r], pr_ref[ok_r])[0, 1]), 1.0, "–"),
        ("mean |Δ hourly prediction| / mean usage", float(np.mean(np.abs(pr - pr_ref)[ok_r]) / np.mean(yr[ok_r])),
         0.0, "–"),
    ]
    if all("occupied_hours" in v for v in seg.values()):
        ours_occ = sum(int(sg.occupied.sum()) for sg in model.segments.values())
        rows.append(("occupied hours of the week, summed over segments", float(ours_occ),
                     float(sum(v["occupied_hours"] for v in seg.values())), None))
        ours_occupied = sum(len(sg.knots) for sg in model.segments.values())
        ours_unoccupied = sum(len(sg.knots if sg.knots_unoccupied is None else sg.knots_unoccupied)
                              for sg in model.segments.values())
        rows.append(("temperature bin endpoints kept, summed (occupied + unoccupied sets)",
                     f"{ours_occupied} + {ours_unoccupied}",
                     f"{sum(len(v['bins_occupied_f']) for v in seg.values())} + "
                     f"{sum(len(v['bins_unoccupied_f']) for v in seg.values())}", "–"))
    res = model.residuals
    # the day-level noise behind our band: a day counts when every hour of it (in the sample's clock) has a
    # residual; eemeter 4.x computes no band for its hourly model (its metered_savings returns none)
    rows.append(("baseline days with every hour (our band's day-level residuals)",
                 float(res.n) if res is not None else None, None, "–"))
    for conf, ours_u in ((0.68, band.uncertainty_68_kwh), (0.90, band.uncertainty_90_kwh)):
        rows.append((f"savings band ± kWh at {conf:.0%} over the reporting year (eemeter: none)", ours_u, None, "–"))
    return rows, {"fit_seconds_ours": fit_s, "fit_seconds_ref": h["model"].get("fit_seconds"),
                  "band_reporting_hours": band.m}


# --------------------------------------------------------------------------- output


def print_table(title: str, rows: list[tuple], ref_label: str) -> None:
    print(f"\n### {title}\n")
    print(f"| quantity | energimon | {ref_label} | difference |")
    print("|---|---:|---:|---:|")
    for name, ours, ref, diff in rows:
        if diff is None:
            diff = rel(ours if not isinstance(ours, str) else None, ref if not isinstance(ref, str) else None)
            if ours is None and ref is None:
                diff = "–"
        counts = "hours" in name or name.startswith(("segments", "baseline periods", "baseline days", "reporting"))
        nd = 0 if counts or ("kWh" in name and "kWh/" not in name) else 3
        print(f"| {name} | {fmt(ours, nd)} | {fmt(ref, nd)} | {diff} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Compare energimon's CalTRACK models with eemeter on its sample data.")
    ap.add_argument("--reference-venv", action="append", type=Path, default=[],
                    help="venv with eemeter installed (repeatable); default /tmp/caltrack-venv")
    ap.add_argument("--reference-json", action="append", type=Path, default=[],
                    help="read a caltrack_reference.py output instead of running the driver (repeatable)")
    ap.add_argument("--no-hourly", action="store_true", help="skip the hourly comparison")
    ap.add_argument("--build", action="store_true",
                    help=f"build the eemeter 4 venv ({EEMETER4_VENV}) with pip if it is missing")
    args = ap.parse_args(argv)
    if not args.reference_venv and not args.reference_json:
        args.reference_venv = [EEMETER4_VENV]
    if args.build:
        build_reference_venv()

    refs = []
    for path in args.reference_json:
        refs.append(json.loads(path.read_text()))
    for venv in args.reference_venv:
        try:
            t0 = time.perf_counter()
            refs.append(run_reference(venv, args.no_hourly))
            print(f"reference {venv}: eemeter {refs[-1]['reference']['version']} ran in "
                  f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        except ReferenceMissing as e:
            print(f"error: reference venv {venv} is not usable: {e}\n\n{SETUP_HELP}", file=sys.stderr)
            return 2
        except subprocess.TimeoutExpired:
            print(f"error: the reference driver in {venv} did not finish in time", file=sys.stderr)
            return 2

    for ref in refs:
        r = ref["reference"]
        label = f"eemeter {r['version']}"
        print(f"\n## energimon vs {label} (pandas {r['pandas']}, numpy {r['numpy']})")
        rows, extra = compare_daily(ref)
        print_table(f"Daily — `{ref['daily']['sample']}` — eemeter API: {ref['daily']['model']['api']}", rows, label)
        print(f"\nour daily fit: {extra['n_candidates_ours']} candidates ({extra['qualified_ours']} qualified) in "
              f"{extra['fit_seconds_ours']:.2f} s")
        billing = compare_billing(ref)
        if billing is None:
            print(f"\n(billing: {ref.get('billing', {}).get('error', 'not in this reference')})")
        else:
            print_table(f"Billing (monthly) — `{ref['billing']['sample']}` — eemeter API: "
                        f"{ref['billing']['model']['api']}", billing[0], label)
        hourly = compare_hourly(ref) if not args.no_hourly else None
        if hourly is not None:
            print_table(f"Hourly — `{ref['hourly']['sample']}` — eemeter API: {ref['hourly']['model']['api']}",
                        hourly[0], label)
            print(f"\n*our TOWT keeps no per-segment R²; fit time ours {hourly[1]['fit_seconds_ours']:.1f} s, "
                  f"eemeter {hourly[1]['fit_seconds_ref']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
