"""District-heating KPIs (analytics/district_heating.py), the bad-cooling alarm and the report's heat and water
section: hand-computed numbers, a real SQLite store written by the demo's history, PDF text via pdftotext."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from helpers.esco_config import esco_config
from helpers.heat_water import SETTINGS, SITE, TZ

from energimon.analytics import district_heating as dh
from energimon.analytics.alerting.mail import alert_subject, render_alert, rule_texts
from energimon.analytics.anomaly import engine
from energimon.analytics.anomaly.settings import AlertSettings
from energimon.app.demo import write_heat_water_history
from energimon.collector.simulator.buildings import HeatingModel
from energimon.config.settings import settings_from_dict
from energimon.model import Reading, SeriesKey
from energimon.store.sqlite import SqliteStore


def hours(n: int, start: str = "2026-11-02 00:00") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="1h", tz=TZ)


# -- ΔT_vw -----------------------------------------------------------------------------------------------
def test_volume_weighted_cooling_by_hand():
    v = np.array([1.0, 2.0, 3.0, np.nan])
    supply = np.array([70.0, 70.0, 70.0, 70.0])
    ret = np.array([40.0, 35.0, 30.0, 65.0])
    # Σ V·ΔT = 1·30 + 2·35 + 3·40 = 30 + 70 + 120 = 220; Σ V = 6 -> 220 / 6 = 36.667 K
    # (the plain mean of the three known hours would be 35 K; the hour without a volume is left out of both sums)
    assert dh.volume_weighted_cooling_k(v, supply, ret) == pytest.approx(220 / 6)
    assert math.isnan(dh.volume_weighted_cooling_k(np.array([0.0, np.nan]), supply[:2], ret[:2]))


def test_a_day_with_unknown_hours_is_judged_on_the_known_ones_and_its_volume_is_not_the_whole_day():
    idx = hours(72)
    frame = pd.DataFrame({"volume_m3": 1.0, "supply_temp_c": 70.0, "return_temp_c": 40.0}, index=idx)
    # day 1: 4 hours without a volume (a gap): 20 of 24 hours used >= 0.75·24 = 18 -> judged
    frame.iloc[3:7, 0] = np.nan
    frame.iloc[10, 2] = 60.0  # one hour at ΔT 10 K: Σ V·ΔT = 19·30 + 1·10 = 580; Σ V = 20 -> 29.0 K
    # day 2: 10 hours without a volume -> 14 < 18 usable hours: not judged
    frame.iloc[24:34, 0] = np.nan
    # day 3: 0.02 m³ an hour = 0.48 m³ < 0.5 m³: too little water to judge
    frame.iloc[48:, 0] = 0.02
    days = dh.cooling_by_day(frame)
    d1, d2, d3 = (dt.date(2026, 11, d) for d in (2, 3, 4))
    assert days.loc[d1, "hours_used"] == 20 and days.loc[d1, "volume_m3"] == 20.0
    assert not days.loc[d1, "volume_known"]  # the day's m³ lacks the gap's: not the whole day's volume
    assert days.loc[d1, "delta_t_vw_k"] == pytest.approx(29.0)
    assert math.isnan(days.loc[d2, "delta_t_vw_k"]) and math.isnan(days.loc[d3, "delta_t_vw_k"])
    assert days.loc[d3, "volume_m3"] == pytest.approx(0.48)
    assert dh.days_below_requirement(days, 30.0) == 1
    assert dh.bad_cooling_run(days, d1, 30.0) == [d1]
    assert dh.bad_cooling_run(days, d3, 30.0) == []  # a day that cannot be judged is no evidence


def test_a_gap_in_the_volume_counter_is_unknown_not_zero_in_the_store(tmp_path):
    """Readings every 10 minutes with a 2-hour hole across which the counter moved: those hours are unknown
    (store.energy's 'gap'), so the day's volume is not known and ΔT uses the other hours only."""
    store = SqliteStore(tmp_path / "s.db")
    t0 = pd.Timestamp("2026-11-02 00:00", tz=TZ)
    times = pd.date_range(t0, t0 + pd.Timedelta(days=1), freq="10min", inclusive="both")
    times = times[(times <= t0 + pd.Timedelta(hours=6)) | (times >= t0 + pd.Timedelta(hours=8))]
    rows = []
    for t in times:
        h = (t - t0).total_seconds() / 3600
        ms = int(t.timestamp() * 1000)
        rows += [Reading(SITE, "fjernvarme", "volume_m3", "heat", ms, 100.0 + 1.0 * h),
                 Reading(SITE, "fjernvarme", "heat_energy_wh", "heat", ms, 1e6 + 40_000.0 * h),
                 Reading(SITE, "fjernvarme", "supply_temp_c", "heat", ms, 70.0),
                 Reading(SITE, "fjernvarme", "return_temp_c", "heat", ms, 35.0 if 6 <= h < 8 else 40.0)]
    assert store.write(rows) == []
    got = dh.heat_hours(store, SITE, "fjernvarme", t0.to_pydatetime(), (t0 + pd.Timedelta(days=1)).to_pydatetime())
    assert got["volume_m3"].isna().sum() == 2  # 06-07 and 07-08: in the gap, unknown
    assert got["volume_m3"].dropna().eq(1.0).all()  # 1 m³ in every known hour
    day = dh.cooling_by_day(got).iloc[0]
    # 22 known hours × 1 m³ = 22 m³, each at 70 − 40 = 30 K (the gap's temperatures are not weighted)
    assert day["hours_used"] == 22 and day["volume_m3"] == 22.0 and not day["volume_known"]
    assert day["delta_t_vw_k"] == pytest.approx(30.0)
    store.close()


# -- heat signature --------------------------------------------------------------------------------------
def test_heat_signature_recovers_slope_base_and_heating_limit():
    rng = np.random.default_rng(3)
    temp = pd.Series(np.linspace(-8.0, 24.0, 120))
    # P = 2.5 kW/K · max(0, 17 − T) + 4 kW (hot water): on heating days the line is 46.5 − 2.5·T
    kw = 2.5 * np.maximum(0.0, 17.0 - temp) + 4.0
    s = dh.heat_signature(kw, temp)
    assert s is not None
    assert s.slope_kw_per_k == pytest.approx(2.5) and s.intercept_kw == pytest.approx(46.5)
    # 120 days from −8 to 24 °C in steps of 32/119 K: day k is at −8 + 0.2689·k, so k >= 93 (27 days) are at or above
    # 17 °C (the base: their median, 4 kW) and k <= 85 (86 days) below 15 °C (the line)
    assert s.base_kw == pytest.approx(4.0) and s.base_days == 27 and s.days == 86
    # heating limit where the line meets the base: (46.5 − 4) / 2.5 = 17.0 °C
    assert s.heating_limit_c == pytest.approx(17.0) and s.r2 == pytest.approx(1.0)
    # with day-to-day noise (σ 1.5 kW) the line is still close, R² below 1
    noisy = dh.heat_signature(kw + rng.normal(0, 1.5, len(kw)), temp)
    assert noisy is not None and noisy.slope_kw_per_k == pytest.approx(2.5, abs=0.1)
    assert noisy.heating_limit_c == pytest.approx(17.0, abs=0.6) and 0.95 < noisy.r2 < 1.0
    assert dh.heat_signature(kw[:5], temp[:5]) is None  # too few heating days


# -- the demo's history through the store -------------------------------------------------------------------
@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """120 days of the demo town hall's heat and water meters up to 1 April 2026, a bypass fault (return 15 K
    higher) from 27 March."""
    d = tmp_path_factory.mktemp("heat")
    store = SqliteStore(d / "store.db")
    end = pd.Timestamp("2026-04-01 00:00", tz=TZ).timestamp()
    fault = pd.Timestamp("2026-03-27 00:00", tz=TZ).timestamp()
    write_heat_water_history(store, SITE, end - 120 * 86400, end, heating=HeatingModel(bypass_k=15.0,
                                                                                       bypass_from_s=fault))
    yield store
    store.close()


def test_month_heat_agrees_with_the_utilities_formula(history):
    """HOFOR: cooling = MWh / m³ × 860, i.e. the volume-weighted ΔT (E = 1.163 kWh/(m³·K) · V · ΔT)."""
    h = dh.month_heat(history, history.series(), SITE, "fjernvarme", dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert h.days == 28 and h.days_known == 28
    assert h.delta_t_vw_k == pytest.approx(h.heat_kwh / 1000 / h.volume_m3 * 860, abs=0.2)
    assert 35.0 < h.delta_t_vw_k < 38.0 and h.days_below == 0 and h.days_judged == 28  # the model cools 32-38 K
    s = h.signature
    # the heating model: 2.5 kW/K below 17 °C plus 4 kW hot water; no day reaches 17 °C, so the limit is where
    # the line reaches 0 kW: 17 + 4 / 2.5 = 18.6 °C
    assert s is not None and s.slope_kw_per_k == pytest.approx(2.5, abs=0.05)
    assert s.heating_limit_c == pytest.approx(18.6, abs=0.3) and s.r2 > 0.99


def test_bad_cooling_alarm_fires_after_three_days_and_not_on_normal_weeks(history):
    settings = settings_from_dict(SETTINGS)
    cfg: AlertSettings = settings.alerts
    series = history.series()

    def cooling_findings(at: str):
        end = pd.Timestamp(at, tz=TZ).tz_convert("UTC")
        data = engine.load_site_data(history, settings, SITE, end, series=series, latest=history.latest())
        return [f for f in engine.evaluate_site(data, cfg, end, end.to_pydatetime()) if f.rule == "bad_cooling"]

    assert cooling_findings("2026-03-20 08:00") == []  # normal weeks
    assert cooling_findings("2026-03-29 08:00") == []  # two bad days (27, 28 March): not yet three
    [f] = cooling_findings("2026-03-31 08:00")  # 27-30 March: four days in a row
    assert f.device == "fjernvarme" and f.evidence["days"] == 4 and f.evidence["required_k"] == 30.0
    assert f.since == dt.datetime(2026, 3, 26, 23, 0, tzinfo=dt.UTC)  # 27 March 00:00 local
    assert 18.0 < f.evidence["delta_t_k"] < 24.0  # 32-38 K less the 15 K bypass
    assert f.kwh_per_day is None
    # a stricter building of its own: 38 K (the model reaches 38 K only at full load) -- March falls short
    strict = settings_from_dict({**SETTINGS, "alerts": {"state_path": "alerts.db",
                                                        "sites": {SITE: {"required_cooling_k": 38.0}}}})
    end = pd.Timestamp("2026-03-20 08:00", tz=TZ).tz_convert("UTC")
    data = engine.load_site_data(history, strict, SITE, end, series=series, latest=history.latest())
    assert [f.rule for f in engine.evaluate_site(data, strict.alerts, end, end.to_pydatetime())
            if f.rule == "bad_cooling"] == ["bad_cooling"]
    # the mail: building, meter, values with units, what to do — in Danish
    title, what, advice = rule_texts(f, "da")
    assert title == "Dårlig afkøling af fjernvarmevandet"
    assert f"{f.evidence['delta_t_k']:.1f} K".replace(".", ",") in what and "mindst 30,0 K" in what
    assert "termostater" in advice and "VVS" in advice
    assert alert_subject("new", f, settings, "da") == \
        "[energimon] Sorø Rådhus · Fjernvarmemåler: Dårlig afkøling af fjernvarmevandet"
    body = render_alert("new", {"id": 3, "reminders": 0, "last_seen": 0.0}, f, settings).get_body(("plain",))
    text = body.get_content()
    assert "Sorø Rådhus – Fjernvarmemåler (fjernvarme)" in text and "afkølingstarif" in text
    assert rule_texts(f, "en")[0] == "Poor cooling of the district heating water"


# -- the report section ---------------------------------------------------------------------------------------
def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


REPORT_SITE = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56
[[devices]]
protocol = "mbus_tcp"
site = "soro-raadhus"
id = "fjernvarme"
name = "Fjernvarmemåler"
role = "heat"
host = "127.0.0.1"
port = 10001
address = 1
[[devices]]
protocol = "mbus_tcp"
site = "soro-raadhus"
id = "vand"
name = "Vandmåler"
role = "water"
host = "127.0.0.1"
port = 10001
address = 2
"""

REPORT_CONFIG = esco_config(REPORT_SITE, '[esco.sites.soro-raadhus]\nenergy = "hovedmaaler/energy_import_wh"',
                            esco="Eksempel ESCO A/S", guarantee_kwh_per_year=10000,
                            temperature="soro-raadhus/vejr/outdoor_temp_c")


def test_the_monthly_report_shows_heat_cooling_signature_and_water(tmp_path):
    from energimon.analytics.report.numbers import fmt_number
    from energimon.app.cli import main
    from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
    from energimon.collector.simulator.water_meter import WaterModel

    (tmp_path / "energimon.toml").write_text(REPORT_CONFIG, encoding="utf-8")
    store = SqliteStore(tmp_path / "store.db")
    readings, _ = synthetic_readings(SyntheticBuilding(SITE, 400, 25, 15.0, 16.0, 60), dt.date(2025, 1, 1),
                                     dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=0)
    store.write(readings)
    end = pd.Timestamp("2026-04-01 00:00", tz=TZ).timestamp()
    leak_from = pd.Timestamp("2026-03-29 00:00", tz=TZ).timestamp()
    write_heat_water_history(store, SITE, end - 100 * 86400, end + 600,  # the month's last hour ends with a reading
                             water=WaterModel(leak_m3_h=0.06, leak_from_s=leak_from))
    h = dh.month_heat(store, store.series(), SITE, "fjernvarme", dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    store.close()
    assert main(["report", "savings", "--config", str(tmp_path / "energimon.toml"), "--month", "2026-03"]) == 0
    text = _pdftotext(tmp_path / "rapporter" / "besparelse-2026-03.pdf")
    assert "Fjernvarme og vand" in text and "Energisignatur Sorø Rådhus · Fjernvarmemåler" in text
    heat_line = next(line for line in text.splitlines() if "Fjernvarmemåler" in line and "/31" in line)
    # heat kWh, days known, ΔT_vw and the requirement (30,0 K), no day below it
    assert fmt_number(h.heat_kwh, 0, "da") in heat_line and "31/31" in heat_line
    assert fmt_number(h.delta_t_vw_k, 1, "da") in heat_line and "30,0" in heat_line and "0/31" in heat_line
    assert "Afkøling K" in text and "Krav K" in text and "Varme kWh" in text
    flat = " ".join(text.split())
    assert f"varmetab {fmt_number(h.signature.slope_kw_per_k, 2, 'da')} kW/K, varmegrænse " \
        f"{fmt_number(h.signature.heating_limit_c, 1, 'da')} °C (hvor linjen når 0 kW" in flat
    # water: 22 working days × 3.2 m³ (the model's day: 0.15+0.45+0.35+0.3+0.4+0.55+0.35+0.3+0.25+0.1) = 70.4 m³,
    # plus the leak: 0.06 m³/h from 29 March 00:00 to 1 April 00:00 = 71 hours (29 March has 23: DST) = 4.26 m³
    # -> 74.66 m³; nights 29, 30 and 31 March suspicious (on 29 March the night has 3 hours: 01, 03, 04)
    water_line = next(line for line in text.splitlines() if "Vandmåler" in line and "m³" not in line)
    assert "74,7" in water_line and "31/31" in water_line and "3/31" in water_line
    assert "Vand m³" in text
    assert "Vandmåler: mistanke om lækage nætterne til 29.3., 30.3., 31.3. (laveste timeflow over 0,020 m³/h)" \
        in " ".join(text.split())


def test_required_cooling_default_cites_the_utilities():
    field = AlertSettings.model_fields["rules"].default_factory().bad_cooling  # type: ignore[misc]
    assert field.required_cooling_k == dh.DEFAULT_REQUIRED_COOLING_K == 30.0
    desc = type(field).model_fields["required_cooling_k"].description or ""
    assert "affaldvarme.aarhus.dk" in desc and "hofor.dk" in desc


def test_outdoor_temperature_choice():
    series = pd.DataFrame({"site": [SITE, SITE, "x"], "device": ["vejr", "udefoeler", "vejr"],
                           "channel": ["outdoor_temp_c"] * 3, "role": ["weather"] * 3})
    assert dh.outdoor_temperature_key(series, SITE) == SeriesKey(SITE, "udefoeler", "outdoor_temp_c")
    # a site without its own: the portfolio's first by site and device (the sites share the weather)
    assert dh.outdoor_temperature_key(series, "other") == SeriesKey(SITE, "udefoeler", "outdoor_temp_c")
    assert dh.outdoor_temperature_key(series.iloc[2:], "other") == SeriesKey("x", "vejr", "outdoor_temp_c")
    assert dh.outdoor_temperature_key(series.iloc[:0], SITE) is None
    assert dh.outdoor_temperature_key(series, SITE, "a/b/outdoor_temp_c") == SeriesKey("a", "b", "outdoor_temp_c")


def test_the_section_in_english_with_its_units(tmp_path):
    """The section alone, rendered to PDF: a heat meter without a signature and a water meter with leak nights."""
    from energimon.analytics.report.document import Report
    from energimon.analytics.report.heat_section import heat_water_section
    from energimon.analytics.report.pdf import render_pdf
    from energimon.analytics.water import WaterMonth

    daily = pd.DataFrame({"delta_t_vw_k": [25.0, 31.0]}, index=[dt.date(2026, 3, 1), dt.date(2026, 3, 2)])
    heat = dh.HeatMonth(SITE, "fjernvarme", 12_345.6, 2, 2, 28.04, 321.0, 29.0, 2, 1, daily, None,
                        pd.DataFrame(columns=["kw", "temp_c", "month"]))
    w = WaterMonth(SITE, "vand", 74.66, 31, 31, 31, [dt.date(2026, 3, 30), dt.date(2026, 3, 31)], 0.02,
                   pd.Series(dtype=float))
    sec = heat_water_section([heat], [w], {SITE: "Sorø Rådhus"}, {(SITE, "vand"): "Water meter"}, "en")
    assert sec is not None and heat_water_section([], [], {}, {}, "en") is None
    pdf = render_pdf(Report("Test", "March 2026", "en", sections=[sec]), tmp_path / "s.pdf")
    flat = " ".join(_pdftotext(pdf).split())
    assert "District heating and water" in flat and "Heat kWh" in flat and "Cooling K" in flat
    # 12,346 kWh (English thousands), 28.0 K against 29.0 K, one of two judged days below
    assert "12,346 2/2 28.0 29.0 1/2" in flat
    assert "fjernvarme: too few heating days with an outdoor temperature for a heat signature." in flat
    assert "Water m³" in flat and "74.7 31/31 2/31" in flat
    assert "Water meter: leak suspected in the nights to 2026-03-30, 2026-03-31 (lowest hourly flow above " \
           "0.020 m³/h)." in flat
