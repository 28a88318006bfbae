"""Labelled evaluation of the anomaly rules: a year of simulated data for the three Sorø sites, with injected
faults and normal surprises, run through the real rules and the real alert lifecycle.

    .venv/bin/python bench/anomaly_eval.py            # about a minute
    .venv/bin/python bench/anomaly_eval.py --every 6  # evaluate every 6 hours instead of 3 (faster)

The data (deterministic, seed 7):

* **load**: the simulator's buildings (``collector/simulator/buildings.py``: base load, busy hours) with the
  site calendars of ``SITE_CALENDARS`` (holidays, closures, school holidays with other hours, events),
  day-to-day variation of use (±8 %), hourly noise, a seasonal base load, overtime after closing on 6 % of
  working days, and occasional cleaning crews in the evening;
* **outdoor temperature**: the simulator's seasonal/daily curve plus a day-to-day weather anomaly, and a
  one-week **cold snap** (−10 K) in February (normal: the heat model must follow it);
* **heat** (Sorø Rådhus): the simulator's heating model (UA 2.5 kW/K below 17 °C + hot water) with noise;
* **PV**: pvlib clear-sky POA of each site's arrays × 0.8 × a regional cloudiness (shared, as the sites lie
  within 15 km) × a little local variation; overcast days are normal.

Injected faults (each a labelled event; a detection counts when an alert of an accepted rule fires on the
same site between the start and the end + tolerance) — see ``FAULTS``.

Scored: alert *episodes* (what would be mailed: after the pending period, until resolved).  An episode
that matches no fault is a false alarm.  Per rule: precision over the rule's episodes, recall over the
faults whose primary rule it is (detected by any accepted rule).  Also counted: false alarms that start on
calendar-known days (holiday, closure, school holiday, event) — the goal is 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from energimon.analytics.alerting import lifecycle
from energimon.analytics.alerting.state import AlertDB
from energimon.analytics.anomaly import engine, rules
from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.pv import clearsky_hourly_kwh
from energimon.analytics.anomaly.settings import AlertSettings, SiteCalendarSettings
from energimon.collector.simulator.buildings import SORO_BUILDINGS, HeatingModel, outdoor_temp_c

TZ = "Europe/Copenhagen"
START = pd.Timestamp("2025-11-01", tz=TZ)  # history for the references and the model
EVAL_START = pd.Timestamp("2026-01-01", tz=TZ)
END = pd.Timestamp("2027-01-01", tz=TZ)

PV_ARRAYS = {"soro-raadhus": [(60.0, 30, 180)], "stenlille-hallen": [(80.0, 15, 170)],
             "dianalund-bibliotek": [(20.0, 35, 200)]}

SITE_CALENDARS = {
    "soro-raadhus": {
        "opening_hours": {d: "07:30-16:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "closures": [{"start": "2026-07-13", "end": "2026-07-24", "reason": "Sommerlukning"},
                     {"start": "2026-12-28", "end": "2026-12-30", "reason": "Mellem jul og nytår"}],
        "events": [{"start": "2026-09-12T10:00", "end": "2026-09-12T15:00", "reason": "Åbent hus"}],
    },
    "stenlille-hallen": {
        "opening_hours": {**{d: "15:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri")},
                          "sat": "08:00-18:00", "sun": "09:00-17:00"},
        "school_holidays": [{"start": "2026-02-09", "end": "2026-02-13", "reason": "Vinterferie (uge 7)"},
                            {"start": "2026-10-12", "end": "2026-10-16", "reason": "Efterårsferie (uge 42)"}],
        "school_holiday_hours": {**{d: "09:00-22:00" for d in ("mon", "tue", "wed", "thu", "fri")},
                                 "sat": "08:00-18:00", "sun": "09:00-17:00"},
        "events": [{"start": "2026-04-05T10:00", "end": "2026-04-05T16:00", "reason": "Påskestævne"},
                   {"start": "2026-12-26T10:00", "end": "2026-12-26T16:00", "reason": "Julestævne"}],
    },
    "dianalund-bibliotek": {
        "opening_hours": {**{d: "10:00-19:00" for d in ("mon", "tue", "wed", "thu", "fri")}, "sat": "10:00-14:00"},
        "closures": [{"start": "2026-08-03", "end": "2026-08-07", "reason": "Ombygning"}],
        "events": [{"start": "2026-11-29T13:00", "end": "2026-11-29T16:00", "reason": "Juleklip"}],
    },
}


@dataclass
class Fault:
    kind: str
    site: str
    start: pd.Timestamp
    end: pd.Timestamp
    primary: str
    accept: tuple[str, ...]
    tolerance_h: float = 36.0
    kw: float = 0.0


CONSUMPTION = ("never_base", "night_load", "out_of_hours", "deviation", "cusum")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


FAULTS = [
    # lights / equipment left on around the clock (over a weekend)
    Fault("lights_left_on", "soro-raadhus", ts("2026-03-06 17:00"), ts("2026-03-10 08:00"), "never_base",
          CONSUMPTION, kw=8.0),
    Fault("lights_left_on", "dianalund-bibliotek", ts("2026-06-19 19:00"), ts("2026-06-23 10:00"), "never_base",
          CONSUMPTION, kw=3.0),
    Fault("lights_left_on", "stenlille-hallen", ts("2026-10-30 22:00"), ts("2026-11-03 15:00"), "never_base",
          CONSUMPTION, kw=6.0),
    # ventilation running at night (22-06)
    Fault("ventilation_at_night", "soro-raadhus", ts("2026-01-26 22:00"), ts("2026-02-06 06:00"), "night_load",
          CONSUMPTION, kw=6.0),
    Fault("ventilation_at_night", "stenlille-hallen", ts("2026-05-11 22:00"), ts("2026-05-22 06:00"),
          "night_load", CONSUMPTION, kw=5.0),
    Fault("ventilation_at_night", "dianalund-bibliotek", ts("2026-09-21 22:00"), ts("2026-10-02 06:00"),
          "night_load", CONSUMPTION, kw=2.5),
    # lights left on in the evening after closing (until 23:00) on working days
    Fault("evening_lights", "soro-raadhus", ts("2026-04-20 16:00"), ts("2026-04-25 00:00"), "out_of_hours",
          CONSUMPTION, kw=12.0),
    Fault("evening_lights", "dianalund-bibliotek", ts("2026-11-09 19:00"), ts("2026-11-14 00:00"),
          "out_of_hours", CONSUMPTION, kw=5.0),
    # new equipment running in opening hours (+ level shift)
    Fault("daytime_shift", "soro-raadhus", ts("2026-09-28 07:00"), ts("2026-10-23 17:00"), "deviation",
          ("deviation", "cusum"), tolerance_h=72, kw=12.0),
    # stuck meter (import counter does not move)
    Fault("stuck_meter", "stenlille-hallen", ts("2026-03-17 20:00"), ts("2026-03-18 14:00"), "stuck_value",
          ("stuck_value",)),
    Fault("stuck_meter", "soro-raadhus", ts("2026-08-18 19:00"), ts("2026-08-19 11:00"), "stuck_value",
          ("stuck_value",)),
    # counter reset / meter swap
    Fault("counter_reset", "dianalund-bibliotek", ts("2026-05-05 10:00"), ts("2026-05-05 11:00"), "counter_reset",
          ("counter_reset",)),
    Fault("counter_reset", "stenlille-hallen", ts("2026-11-24 09:00"), ts("2026-11-24 10:00"), "counter_reset",
          ("counter_reset",)),
    # inverter outage on a sunny day
    Fault("inverter_outage", "soro-raadhus", ts("2026-05-27 00:00"), ts("2026-05-28 00:00"), "pv_zero",
          ("pv_zero", "pv_underperformance")),
    Fault("inverter_outage", "stenlille-hallen", ts("2026-07-08 00:00"), ts("2026-07-09 00:00"), "pv_zero",
          ("pv_zero", "pv_underperformance")),
    Fault("inverter_outage", "dianalund-bibliotek", ts("2026-04-14 00:00"), ts("2026-04-15 00:00"), "pv_zero",
          ("pv_zero", "pv_underperformance")),
    # string failure: −30 % PV
    Fault("string_failure", "stenlille-hallen", ts("2026-06-01 00:00"), ts("2026-06-22 00:00"),
          "pv_underperformance", ("pv_underperformance",), tolerance_h=5 * 24),
    Fault("string_failure", "dianalund-bibliotek", ts("2026-08-24 00:00"), ts("2026-09-14 00:00"),
          "pv_underperformance", ("pv_underperformance",), tolerance_h=5 * 24),
    # heating set point error (+3 K) at the town hall
    Fault("heating_setpoint", "soro-raadhus", ts("2026-02-23 00:00"), ts("2026-03-09 00:00"), "heat_deviation",
          ("heat_deviation",), tolerance_h=72),
    Fault("heating_setpoint", "soro-raadhus", ts("2026-11-16 00:00"), ts("2026-11-30 00:00"), "heat_deviation",
          ("heat_deviation",), tolerance_h=72),
]
COLD_SNAP = (ts("2026-02-09"), ts("2026-02-16"))


def occupancy_hourly(b, cal: SiteCalendar, idx: pd.DatetimeIndex) -> np.ndarray:
    """Mean occupancy per hour (4 quarter-hour samples) of the simulator's shape, limited by the calendar."""
    out = np.zeros(len(idx))
    for i, t in enumerate(idx):
        t0 = t.to_pydatetime().replace(tzinfo=None)
        acc = 0.0
        for q in range(4):
            local = t0 + dt.timedelta(minutes=15 * q + 7.5)
            if not cal.is_open(local):
                continue
            day = cal.day(local.date())
            hour = local.hour + local.minute / 60
            spans = [s for s in day.spans if s[0] <= hour < s[1]]
            ev = not spans  # open by an event
            a, e = spans[0] if spans else (hour - 1, hour + 1)
            acc += 0.7 if ev else min(1.0, (hour - a) * 2, (e - hour) * 2)
        out[i] = acc / 4
    return out


def generate(rng: np.random.Generator):
    idx = pd.date_range(START, END, freq="1h", inclusive="left")
    t_s = idx.as_unit("s").asi8 // 1 if False else np.array([t.timestamp() for t in idx])
    days = np.array([(d - START.date()).days for d in idx.date])
    n_days = days.max() + 1
    weather = np.zeros(n_days)
    for d in range(1, n_days):  # AR(1) day-to-day weather anomaly, K
        weather[d] = 0.75 * weather[d - 1] + rng.normal(0, 1.7)
    temp = np.array([outdoor_temp_c(s) for s in t_s]) + weather[days]
    snap = (idx >= COLD_SNAP[0]) & (idx < COLD_SNAP[1])
    temp = temp - 10.0 * snap
    # regional cloudiness per day (shared) with hourly variation
    clear_day = rng.beta(1.3, 1.1, n_days)
    cloud = np.clip(0.15 + 0.85 * clear_day[days] + rng.normal(0, 0.08, len(idx)), 0.05, 1.0)
    # make the inverter-outage days sunny (the fault is "on a sunny day")
    for f in FAULTS:
        if f.kind == "inverter_outage":
            m = (idx >= f.start) & (idx < f.end)
            cloud[m] = np.clip(0.9 + rng.normal(0, 0.03, m.sum()), 0.8, 1.0)
    sites = {}
    for b in SORO_BUILDINGS:
        cal = SiteCalendar(SiteCalendarSettings.model_validate(SITE_CALENDARS[b.site]))
        occ = occupancy_hourly(b, cal, idx)
        day_factor = rng.normal(1.0, 0.08, n_days)[days]
        season = 1 + 0.06 * np.cos(2 * np.pi * (days - 20) / 365)  # more base load in winter (pumps, lights)
        base = b.base_load_w / 1000 * season * (1 + rng.normal(0, 0.03, len(idx)))
        load = base + b.peak_load_w / 1000 * occ * day_factor
        # overtime: on 6 % of days, 1-2 hours after closing at 40 % of peak
        closing = np.r_[occ[1:] < occ[:-1], False] & (occ > 0) & (np.roll(occ, -1) == 0)
        for i in np.nonzero(closing)[0]:
            if rng.random() < 0.06:
                k = rng.integers(1, 3)
                load[i + 1: i + 1 + k] += 0.4 * b.peak_load_w / 1000
        # cleaning crew: 1 hour in the evening on 20 % of working days, 25 % of peak
        for d in range(n_days):
            if rng.random() < 0.2:
                i = np.searchsorted(days, d) + 19 if b.site != "stenlille-hallen" else np.searchsorted(days, d) + 23
                if i < len(load):
                    load[i] += 0.25 * b.peak_load_w / 1000
        cs = clearsky_hourly_kwh(idx, b.latitude, b.longitude, [tuple(a) for a in PV_ARRAYS[b.site]])
        local = np.clip(1 + rng.normal(0, 0.05, len(idx)), 0.7, 1.1)
        pv = cs["clear_kwh"].to_numpy() * 0.8 * np.clip(cloud * local, 0, 1)
        heat = None
        if b.site == "soro-raadhus":
            hm = HeatingModel()
            heat = np.maximum(0.0, hm.ua_w_per_k * np.maximum(0, 17 - temp) + hm.hot_water_w) / 1000
            heat = heat * (1 + rng.normal(0, 0.05, len(idx)))
        sites[b.site] = {"building": b, "cal": cal, "load": load, "pv": pv, "cs": cs, "heat": heat,
                         "resets": []}
    # inject faults
    for f in FAULTS:
        s = sites[f.site]
        m = (idx >= f.start) & (idx < f.end)
        h = idx.hour
        if f.kind == "lights_left_on":
            s["load"][m] += f.kw
        elif f.kind == "ventilation_at_night":
            s["load"][m & ((h >= 22) | (h < 6))] += f.kw
        elif f.kind == "evening_lights":
            close_h = 16 if f.site == "soro-raadhus" else 19
            s["load"][m & (h >= close_h) & (h < 23)] += f.kw
        elif f.kind == "daytime_shift":
            s["load"][m & (s["load"] > s["building"].base_load_w / 1000 * 2)] += f.kw
        elif f.kind == "inverter_outage":
            s["pv"][m] = 0.0
        elif f.kind == "string_failure":
            s["pv"][m] *= 0.7
        elif f.kind == "heating_setpoint":
            hm = HeatingModel()
            s["heat"][m] += hm.ua_w_per_k * 3.0 / 1000 * (temp[m] < 20)
        elif f.kind == "counter_reset":
            s["resets"].append(pd.DataFrame({"time": [f.start.tz_convert("UTC")], "before": [8.4e7],
                                             "after": [0.0]}))
    return idx, temp, sites


def site_data(sid: str, s: dict, idx: pd.DatetimeIndex, temp: np.ndarray, cfg: AlertSettings) -> engine.SiteData:
    load, pv = s["load"], s["pv"]
    imp = np.maximum(0.0, load - pv)
    exp_ = np.maximum(0.0, pv - load)
    imp_kwh = pd.Series(imp, index=idx)
    for f in FAULTS:  # a stuck import counter: no increase, and the load computed from it is wrong too
        if f.kind == "stuck_meter" and f.site == sid:
            imp_kwh[(idx >= f.start) & (idx < f.end)] = 0.0
    load_from_counters = imp_kwh - exp_ + pv
    hourly = rules.hourly_frame(load_from_counters, s["cal"], cfg.rules.out_of_hours.grace_h,
                                pd.Series(pv, index=idx))
    hourly["temp_c"] = temp
    resets = pd.concat(s["resets"]) if s["resets"] else pd.DataFrame(columns=["time", "before", "after"])
    data = engine.SiteData(site=sid, calendar=s["cal"], grid_device="hovedmaaler", hourly=hourly,
                           counters=[engine.CounterData("hovedmaaler", "energy_import_wh", imp_kwh, resets)])
    data.pv_device, data.kwp = "inverter", sum(a[0] for a in PV_ARRAYS[sid])
    data.pv = pd.DataFrame({"pv_kwh": pv, "clear_kwh": s["cs"]["clear_kwh"].to_numpy(),
                            "poa_w_m2": s["cs"]["poa_w_m2"].to_numpy()}, index=idx)
    if s["heat"] is not None:
        data.heat_device = "fjernvarme"
        data.heat_hourly = pd.DataFrame({"kwh": s["heat"], "open": hourly["open"].to_numpy(), "temp_c": temp},
                                        index=idx)
    return data


def calendar_known(cal: SiteCalendar, t: pd.Timestamp, site_cfg: dict) -> bool:
    d = t.tz_convert(TZ).date()
    if cal.day(d).calendar_known:
        return True
    return any(pd.Timestamp(e["start"]).date() == d for e in site_cfg.get("events", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=3, help="evaluate every N hours (default 3)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    cfg = AlertSettings(pending_min=60, resolve_after_min=args.every * 60 - 1, reminder_h=72)
    idx, temp, sites = generate(rng)
    datas = {sid: site_data(sid, s, idx, temp, cfg) for sid, s in sites.items()}
    engine.add_sibling_ratios(list(datas.values()))
    print(f"generated {len(idx)} hours × {len(datas)} sites in {time.perf_counter() - t_start:.1f} s",
          file=sys.stderr)
    models = engine.ModelCache()
    with tempfile.TemporaryDirectory() as tmp:
        db = AlertDB(Path(tmp) / "alerts.db")
        rules_by_alert: dict[int, set[str]] = {}  # an alert (episode) may carry several rules of one family
        t = EVAL_START
        step = pd.Timedelta(hours=args.every)
        while t < END:
            now = t.tz_convert("UTC").to_pydatetime() + dt.timedelta(minutes=5)
            found = []
            for d in datas.values():
                found += engine.evaluate_site(d, cfg, t, now, models)
            lifecycle.step(db, cfg, found, now, render=None)
            for row in db.conn.execute("SELECT id, rule FROM alerts WHERE state = 'firing'"):
                rules_by_alert.setdefault(row["id"], set()).add(row["rule"])
            t += step
        lifecycle.step(db, cfg, [], END.tz_convert("UTC").to_pydatetime() + dt.timedelta(days=1), render=None)
        episodes = pd.DataFrame([dict(r) for r in db.conn.execute(
            "SELECT id, site, device, rule, first_seen, last_seen, since FROM alerts WHERE fired_at IS NOT NULL")])
        if not episodes.empty:
            episodes["rules"] = [rules_by_alert.get(i, set()) | {r} for i, r in zip(episodes["id"], episodes["rule"],
                                                                                    strict=True)]
        db.close()
    return report(episodes, sites, time.perf_counter() - t_start)


def report(episodes: pd.DataFrame, sites: dict, seconds: float) -> int:
    if episodes.empty:
        episodes = pd.DataFrame(columns=["site", "device", "rule", "first_seen", "last_seen", "since", "rules"])
    episodes["first"] = pd.to_datetime(episodes["first_seen"], unit="s", utc=True)
    episodes["last"] = pd.to_datetime(episodes["last_seen"], unit="s", utc=True)
    episodes["start"] = pd.to_datetime(episodes["since"], unit="s", utc=True)
    episodes["match"] = -1
    detected = [False] * len(FAULTS)
    for i, e in episodes.iterrows():
        for j, f in enumerate(FAULTS):
            if e["site"] != f.site or not (e["rules"] & set(f.accept)):
                continue
            lo, hi = f.start, f.end + pd.Timedelta(hours=f.tolerance_h)
            if e["first"] <= hi and e["last"] >= lo:
                episodes.loc[i, "match"] = j
                detected[j] = True
                break
    rules_seen = sorted(set().union(*episodes["rules"]) | {f.primary for f in FAULTS})
    rows = []
    for r in rules_seen:
        ep = episodes[[r in rs for rs in episodes["rules"]]]
        tp = int((ep["match"] >= 0).sum())
        fp = len(ep) - tp
        mine = [j for j, f in enumerate(FAULTS) if f.primary == r]
        det = sum(detected[j] for j in mine)
        p = tp / len(ep) if len(ep) else float("nan")
        rc = det / len(mine) if mine else float("nan")
        f1 = 2 * p * rc / (p + rc) if mine and len(ep) and p + rc > 0 else float("nan")
        rows.append((r, len(mine), det, len(ep), tp, fp, p, rc, f1))
    tp_all = int((episodes["match"] >= 0).sum())
    p_all = tp_all / len(episodes) if len(episodes) else float("nan")
    r_all = sum(detected) / len(FAULTS)
    f1_all = 2 * p_all * r_all / (p_all + r_all) if p_all + r_all > 0 else 0.0
    fp_eps = episodes[episodes["match"] < 0]
    # attributed to the day the problem started in the data (``since``); the day the alert was first seen
    # is also reported (a daily rule evaluated just after midnight is first seen on the next day)
    cal_fp = [e for _, e in fp_eps.iterrows()
              if calendar_known(sites[e["site"]]["cal"], e["start"], SITE_CALENDARS[e["site"]])]
    cal_fp_seen = [e for _, e in fp_eps.iterrows()
                   if calendar_known(sites[e["site"]]["cal"], e["first"], SITE_CALENDARS[e["site"]])]
    print("\nPer rule, an alert counts for every rule it carried (rules of one family share an alert).")
    print("\n| rule | faults | detected | alerts | true | false | precision | recall | F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    fmt = lambda x: "–" if x != x else f"{x:.2f}"  # noqa: E731
    for r, n, det, ne, tp, fp, p, rc, f1 in rows:
        print(f"| {r} | {n} | {det} | {ne} | {tp} | {fp} | {fmt(p)} | {fmt(rc)} | {fmt(f1)} |")
    print(f"| **all** | {len(FAULTS)} | {sum(detected)} | {len(episodes)} | {tp_all} | {len(episodes) - tp_all} | "
          f"{fmt(p_all)} | {fmt(r_all)} | **{fmt(f1_all)}** |")
    print(f"\nalerts (= mails) per detected fault: {tp_all / max(1, sum(detected)):.2f}")
    print(f"false alarms about calendar-known days (holiday, closure, school holiday, event): {len(cal_fp)} "
          f"(by the day first seen: {len(cal_fp_seen)})")
    missed = [f"{f.kind}@{f.site} {f.start:%Y-%m-%d}" for j, f in enumerate(FAULTS) if not detected[j]]
    print("missed:", ", ".join(missed) or "none")
    if not fp_eps.empty:
        print("false alarms:")
        for _, e in fp_eps.iterrows():
            print(f"  {e['rule']:<20} {e['site']:<20} since {e['start'].tz_convert(TZ):%Y-%m-%d %H:%M}, seen "
                  f"{e['first'].tz_convert(TZ):%Y-%m-%d %H:%M} → {e['last'].tz_convert(TZ):%Y-%m-%d %H:%M}")
    print(f"\n{seconds:.0f} s")
    return 0 if f1_all >= 0.8 and not cal_fp else 1


if __name__ == "__main__":
    raise SystemExit(main())
