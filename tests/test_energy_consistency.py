"""One dataset through the anomaly rules, the savings evaluation and the solar KPIs: they count the same hours and
the same kWh (issue #15: one energy owner, :mod:`energimon.store.energy`).

A school with a grid meter (import and export counters), one PV inverter and an outdoor temperature sensor, read
hourly in a real SQLite store from 2025-01-01 to 2026-04-01.  March 2026 (the report month) holds:

* a 5-hour hole in the grid meter's readings on 10 March 09:00-14:00 while it counted (5 hours unknown: gap);
* a meter swap on 17 March at 12:30: the import counter restarts from 0 (the hour 12-13 unknown: reset);
* a 5-hour hole in the inverter's readings on 20 March 10:00-15:00 in daylight (5 hours unknown: gap);
* the inverter asleep every night 20:00-05:00 (no readings, its counter flat: each night hour a proven zero);
* the change to summer time on Sunday 29 March (a day of 23 hours, all known).

By hand: March has 31 × 24 − 1 = 743 hours; 11 of them are unknown, so 732 count, on 28 complete days (10, 17 and
20 March each have unknown hours).  The building's load (import − export + PV) in those hours is known exactly from
the generator (the counters are read at the hour boundaries), so every output is checked against that sum.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.anomaly.engine import load_site_data
from energimon.analytics.esco.evaluation import evaluate_site
from energimon.analytics.esco.settings import EscoSettings
from energimon.analytics.report.savings_report import CSV_HEADER, _csv_rows
from energimon.analytics.solar.kpis import site_inputs, site_kpis
from energimon.config.settings import settings_from_dict
from energimon.model import LOCAL_TZ, Reading
from energimon.store.sqlite import SqliteStore

SITE, METER, INVERTER, SENSOR = "skole", "hovedmaaler", "inverter", "vejr"
MARCH, APRIL = dt.date(2026, 3, 1), dt.date(2026, 4, 1)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=LOCAL_TZ)


UNKNOWN_HOURS = ([ts(f"2026-03-10 {h:02d}:00") for h in range(9, 14)] + [ts("2026-03-17 12:00")]
                 + [ts(f"2026-03-20 {h:02d}:00") for h in range(10, 15)])


def generate():
    """Hour starts, the true hourly load/import/export/PV (kWh) and the readings (see the module docstring)."""
    idx = pd.date_range(ts("2025-01-01"), ts("2026-04-01"), freq="1h", inclusive="left")
    doy, hour = idx.day_of_year.to_numpy(), idx.hour.to_numpy()
    temp = 9.0 - 9.0 * np.cos(2 * np.pi * (doy - 20) / 365.25) + 3.0 * np.sin(2 * np.pi * (hour - 9) / 24)
    open_ = (idx.day_of_week.to_numpy() < 5) & (hour >= 7) & (hour < 17)
    load = 15.0 + 2.0 * np.maximum(0.0, 15.0 - temp) + np.where(open_, 10.0, 0.0)
    season = 0.35 + 0.65 * np.sin(np.pi * (doy - 1) / 365.25)
    pv = np.where((hour >= 6) & (hour < 18), 30.0 * season * np.sin(np.pi * (hour - 6) / 12), 0.0)
    imp, exp = np.maximum(load - pv, 0.0), np.maximum(pv - load, 0.0)
    truth = pd.DataFrame({"load": load, "import": imp, "export": exp, "pv": pv, "temp": temp}, index=idx)

    bounds = idx.append(pd.DatetimeIndex([ts("2026-04-01")]))
    ms = (bounds.tz_convert("UTC").as_unit("ms").asi8).astype(np.int64)
    cum = {k: np.concatenate(([0.0], np.cumsum(truth[k].to_numpy() * 1000.0))) for k in ("import", "export", "pv")}
    swap = bounds.get_loc(ts("2026-03-17 13:00"))
    at_swap = cum["import"][swap - 1] + truth["import"].iloc[swap - 1] * 500.0  # the counter at 12:30
    cum["import"][swap:] -= at_swap  # the new meter starts from 0
    meter_hole = (bounds > ts("2026-03-10 09:00")) & (bounds < ts("2026-03-10 14:00"))
    inverter_hole = (bounds > ts("2026-03-20 10:00")) & (bounds < ts("2026-03-20 15:00"))
    b_hour = bounds.hour.to_numpy()
    asleep = (b_hour > 20) | (b_hour < 5)  # no readings from 20:00 to 05:00: the counter is flat in between
    asleep[-1] = False  # a reading that closes the last night (in life: the morning's; the report runs later)

    readings = []
    for i, t in enumerate(ms.tolist()):
        if not meter_hole[i]:
            readings.append(Reading(SITE, METER, "energy_import_wh", "grid", t, float(cum["import"][i])))
            readings.append(Reading(SITE, METER, "energy_export_wh", "grid", t, float(cum["export"][i])))
        if not inverter_hole[i] and not asleep[i]:
            readings.append(Reading(SITE, INVERTER, "pv_energy_wh", "pv", t, float(cum["pv"][i])))
        if i < len(idx):
            readings.append(Reading(SITE, SENSOR, "outdoor_temp_c", "weather", t, float(temp[i])))
    return truth, readings


@pytest.fixture(scope="module")
def school(tmp_path_factory):
    path = tmp_path_factory.mktemp("consistency") / "store.db"
    truth, readings = generate()
    store = SqliteStore(path)
    assert store.write(readings) == []
    store.close()
    settings = settings_from_dict({
        "sites": {SITE: {"name": "Skolen", "latitude": 55.43, "longitude": 11.56,
                         "pv": [{"id": "tag", "kwp": 30.0, "tilt_deg": 30, "azimuth_deg": 180,
                                 "inverter": INVERTER}]}},
        "store": {"path": str(path)},
        "alerts": {"enabled": False, "state_path": str(path.parent / "alerts.db")},
    })
    store = SqliteStore(path, readonly=True)
    yield store, settings, truth
    store.close()


def esco(model: str) -> EscoSettings:
    return EscoSettings(
        contract="Konsistens", baseline_start=dt.date(2025, 1, 1), baseline_end=dt.date(2026, 1, 1),
        measure_date=dt.date(2026, 1, 1), price_dkk_per_kwh=2.0, temperature=f"{SITE}/{SENSOR}/outdoor_temp_c",
        normal_year={"total": 2906, "source": "DTI normalår"},
        sites={SITE: {"model": model, "energy": f"{METER}/energy_import_wh", "export": f"{METER}/energy_export_wh",
                      "pv": [f"{INVERTER}/pv_energy_wh"]}},
    )


def march(frame: pd.DataFrame | pd.Series):
    i = pd.DatetimeIndex(frame.index)
    return frame[(i >= ts("2026-03-01")) & (i < ts("2026-04-01"))]


def test_anomaly_savings_and_solar_count_the_same_hours_and_kwh(school):
    store, settings, truth = school
    load = march(truth["load"])
    assert len(load) == 743  # 31 days, one of 23 hours
    known = ~load.index.isin(UNKNOWN_HOURS)
    counted_kwh = float(load[known].sum())
    day = load.index.normalize()
    complete_days = pd.Series(known, index=load.index).groupby(day).all()
    assert int(complete_days.sum()) == 28
    complete_day_kwh = float(load[np.asarray(complete_days.reindex(day))].sum())

    # solar: the site balance per hour, the month's hours with every counter known, and its consumption
    k = site_kpis(store, site_inputs(SITE, settings.sites[SITE], store.series()), MARCH, APRIL)
    solar_hourly = k.hourly["consumption_wh"] / 1000.0
    month = k.monthly.iloc[0]
    assert (month["hours"], month["hours_complete"]) == (743, 732)
    assert month["consumption_kwh"] == pytest.approx(counted_kwh, rel=1e-9)
    assert k.hourly.loc[ts("2026-03-05 02:00"), "pv_wh"] == 0.0  # asleep at night: a proven zero, not unknown

    # anomaly: the rules' hourly load frame
    data = load_site_data(store, settings, SITE, ts("2026-04-01"), days=40)
    anomaly_hourly = march(data.hourly["kwh"])

    # savings: the hourly model's reporting rows are the hours, the daily model's the local days
    hourly = evaluate_site(store, esco("towt_hourly"), SITE, "Skolen", MARCH, today=dt.date(2026, 4, 2))
    daily = evaluate_site(store, esco("caltrack_daily"), SITE, "Skolen", MARCH, today=dt.date(2026, 4, 2))
    assert hourly.error == "" and daily.error == ""
    savings_hourly = march(hourly.daily["actual_kwh"])

    # the same hours known in all three, with the same kWh, equal to the generator's load
    for name, got in (("solar", solar_hourly), ("anomaly", anomaly_hourly), ("savings", savings_hourly)):
        assert got.index.equals(load.index), name
        assert np.array_equal(got.notna().to_numpy(), known), (name, list(got.index[got.isna()]))
        np.testing.assert_allclose(got[known].to_numpy(), load[known].to_numpy(), rtol=1e-9, err_msg=name)

    # the savings periods count those hours (the hourly model) and the complete days (the daily model)
    assert (hourly.month.points, hourly.month.m, hourly.month.unit) == (743, 732, "hours")
    assert hourly.month.actual_kwh == pytest.approx(counted_kwh, rel=1e-9)
    assert (daily.month.points, daily.month.m, daily.month.unit) == (31, 28, "days")
    assert daily.month.actual_kwh == pytest.approx(complete_day_kwh, rel=1e-9)
    known_days = march(daily.daily["actual_kwh"]).notna()
    assert known_days.to_numpy().tolist() == complete_days.to_numpy().tolist()
    assert len(march(daily.daily)) == 31 and known_days[ts("2026-03-29")]  # the 23-hour day counts

    # the savings CSV says hours for the hourly model (not "743 days")
    row = dict(zip(CSV_HEADER, _csv_rows(hourly, esco("towt_hourly"), MARCH, "en")[0], strict=True))
    assert (row["period"], row["points"], row["points_with_data"], row["resolution"]) == ("month", 743, 732, "hour")
