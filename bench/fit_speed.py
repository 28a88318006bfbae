"""The CalTRACK daily fit: ``fit_caltrack_daily`` against eemeter 4.1.1 ``DailyModel(model="legacy")``.

eemeter runs in its own throwaway venv (``caltrack_compare.build_reference_venv``: built with pip the first
time, then reused; never a dependency of energimon) as a small server (``caltrack_reference.py
--serve-daily``) that loads eemeter's bundled Illinois daily sample once and fits on request.  In pairs,
A B A B …, on the same 365 baseline days (eemeter's own prepared data; °F → °C for ours):

* **energimon**: ``fit_caltrack_daily`` — the CalTRACK 2.0 grid of 61 heating × 61 cooling balance points
  (30–90 °F in °C), four candidate forms, selection by adjusted R²;
* **reference**: eemeter 4.1.1 ``DailyModel(model="legacy").fit`` (continuous balance-point optimisation);
  its own ``perf_counter`` around ``fit`` alone, so the pipe is not counted.

Unit: fits/s.  Goal: >= 5× eemeter's rate with the same answer: the note gives both models' type and the
relative difference of their predicted reporting-period totals (the adjusted baseline of the savings).

    .venv/bin/python bench/fit_speed.py [--quick] [--pairs N] [--eemeter-venv /tmp/caltrack-venv]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import Row, add_common_args, emit, pairs
from caltrack_compare import EEMETER4_VENV, build_reference_venv, f_to_c

from energimon.analytics.baseline import fit_caltrack_daily

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    ap.add_argument("--eemeter-venv", type=Path, default=EEMETER4_VENV)
    ap.add_argument("--repeat", type=int, default=None, help="fits per timed run (default 20, quick 5)")
    args = ap.parse_args()
    n_pairs = args.pairs or (3 if args.quick else 9)
    k = args.repeat or (5 if args.quick else 20)
    venv = build_reference_venv(args.eemeter_venv)
    server = subprocess.Popen([str(venv / "bin" / "python"), str(HERE / "caltrack_reference.py"), "--serve-daily"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        inputs = json.loads(server.stdout.readline())
        t = f_to_c(np.array([np.nan if v is None else v for v in inputs["baseline"]["temp_f"]], float))
        y = np.array([np.nan if v is None else v for v in inputs["baseline"]["usage_kwh"]], float)
        tr = f_to_c(np.array([np.nan if v is None else v for v in inputs["reporting"]["temp_f"]], float))
        fit_caltrack_daily(t, y)  # warm-up
        last: dict = {}

        def ours() -> float:
            t0 = time.perf_counter()
            for _ in range(k):
                last["ours"] = fit_caltrack_daily(t, y).model
            return time.perf_counter() - t0

        def eemeter() -> float:
            total = 0.0
            for _ in range(k):
                server.stdin.write("fit\n")
                server.stdin.flush()
                answer = json.loads(server.stdout.readline())
                total += answer["seconds"]
            last["ref"] = answer
            return total

        p, r, load = pairs(n_pairs, ours, eemeter, progress="daily fit")
        server.stdin.write("stop\n")
        server.stdin.flush()
        server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
    ours_model = last["ours"]
    pred_ours = ours_model.predict_kwh_per_day(tr)
    pred_ref = np.array([np.nan if v is None else v for v in last["ref"]["predicted_reporting_kwh"]], float)
    ok = ~(np.isnan(pred_ours) | np.isnan(pred_ref))
    diff = (pred_ours[ok].sum() - pred_ref[ok].sum()) / pred_ref[ok].sum()
    note = (f"answer: ours {ours_model.kind}, eemeter {last['ref']['model']['type']}; predicted reporting-year "
            f"total differs by {diff:+.2%} ({ok.sum()} days)")
    print(note, file=sys.stderr)
    rows = [Row("fit_speed", "CalTRACK daily fit, 365 days (eemeter's Illinois sample)", "fits/s", k, "rate",
                "eemeter 4.1.1 DailyModel(model=\"legacy\").fit, own venv", p, r, {"ratio_min": 5.0}, load, note)]
    emit(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
