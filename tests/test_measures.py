"""Savings per measure (IPMVP Option B, issue 18 item 5): the models, the G14 uncertainty against hand computation,
the recovery of a known saving, the settings' errors, and the savings report listing a measure under its building."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers.esco_config import esco_config

from energimon.analytics.esco.ledger import ledger
from energimon.analytics.esco.measure_settings import MeasureSettings
from energimon.analytics.esco.measures import (
    fit_operating_hours,
    guarantee_code,
    measure_frame,
    measure_savings,
    municipality_total,
)
from energimon.analytics.report.csv_out import column_keys
from energimon.analytics.report.numbers import fmt_number
from energimon.analytics.savings import PeriodSavings
from energimon.app.cli import main
from energimon.calendar import local_day_index
from energimon.collector.simulator.lighting import LightingLoad, lighting_readings
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import ConfigError, load_settings
from energimon.store.sqlite import SqliteStore


def _measure(**kw) -> MeasureSettings:
    base = dict(id="led", name="LED i hallen", site="hallen", installed=dt.date(2026, 3, 2),
                energy="belysning/energy_import_wh", baseline_start=dt.date(2026, 1, 5),
                baseline_end=dt.date(2026, 3, 2))
    return MeasureSettings(**{**base, **kw})


def _days(start: dt.date, end: dt.date, values) -> pd.DataFrame:
    return pd.DataFrame({"energy_kwh": np.asarray(values, float)}, index=local_day_index(start, end))


# -- the uncertainty, by hand --------------------------------------------------------------------------
def test_fsu_of_a_tiny_constant_model_matches_hand_computation():
    # Baseline: 14 days from Monday 5 January 2026 (no Danish holiday), y = 40 + e with
    # e = (2, −1, 3, −2, 0, 1, −3) in week 1 and the negatives in week 2, so every weekday's mean residual is 0
    # (the day-type bias term is 0) and the model's mean is 40 exactly.
    e = [2, -1, 3, -2, 0, 1, -3]
    base = _days(dt.date(2026, 1, 5), dt.date(2026, 1, 19), 40 + np.array(e + [-x for x in e], float))
    # Reporting: Monday 19 – Sunday 25 January, 26 kWh every day → savings 7 · (40 − 26) = 98 kWh.
    rep = _days(dt.date(2026, 1, 19), dt.date(2026, 1, 26), [26.0] * 7)
    m = _measure(installed=dt.date(2026, 1, 19), baseline_end=dt.date(2026, 1, 19))
    res = measure_savings(m, base, rep, dt.date(2026, 1, 1), dt.date(2026, 1, 26))
    s = res.since_start
    assert s is not None and s.savings_kwh == pytest.approx(98.0) and s.m == 7
    # ASHRAE G14-2014 Annex B in the exact form for a sum of m predictions of a linear model (Reddy & Claridge 2000,
    # the form analytics/stats.py uses; eq. B-14 is its approximation):
    #   U = t(90 %, n′ − p) · sqrt( σ² · (m·n/n′ + x_Rᵀ(XᵀX)⁻¹x_R · n/n′) )
    # intercept-only model: x_R = m, (XᵀX)⁻¹ = 1/n → x_Rᵀ(XᵀX)⁻¹x_R = m²/n = 49/14 = 3.5;
    # σ² = Σe²/(n − p) with p = 1 + 6 day-type means = 7: Σe² = 2·(4+1+9+4+0+1+9) = 56 → σ² = 56/7 = 8;
    # ρ = Σ e_i e_(i−1) / Σ e² = −22/56 < 0 → no autocorrelation correction, n′ = n = 14;
    # t(0.95 one-sided, 7 dof) = 1.8946 (Student-t table) → U = 1.8946 · sqrt(8 · (7 + 3.5)) = 1.8946 · 9.1652
    #   = 17.364 kWh; FSU(90 %) = 17.364 / 98 = 0.17718.
    assert s.uncertainty_90_kwh == pytest.approx(1.8946 * math.sqrt(84.0), rel=2e-4)
    assert s.fsu_90 == pytest.approx(17.364 / 98.0, rel=2e-4)
    # G14 statistics of the fit: CV(RMSE) = sqrt(Σe²/(n − p))/ȳ with the model's p = 1: sqrt(56/13)/40 = 0.051887;
    # NMBE = Σe/((n − 1)·ȳ) = 0
    st = res.model.stats
    assert st.cv_rmse == pytest.approx(math.sqrt(56 / 13) / 40, rel=1e-9) and st.nmbe == pytest.approx(0.0, abs=1e-12)
    assert res.verdict is not None and res.verdict.savings == "demonstrated" and res.verdict.ok


def test_operating_hours_model_on_hand_computed_data():
    # 14 baseline days with hours h = (10, 12, 10, 12, 10, 6, 4) twice and y = 5·h, except the first day 52 (+2):
    # k = Σhy/Σh² = (5·Σh² + 10·2)/Σh², Σh² = 2·(100+144+100+144+100+36+16) = 1280 → k = 5 + 20/1280 = 5.015625
    h = [10, 12, 10, 12, 10, 6, 4] * 2
    y = [5.0 * x for x in h]
    y[0] += 2.0
    base = _days(dt.date(2026, 1, 5), dt.date(2026, 1, 19), y)
    base["hours"] = np.asarray(h, float)
    model = fit_operating_hours(pd.DatetimeIndex(base.index), base["energy_kwh"].to_numpy(), base["hours"].to_numpy())
    assert model.kwh_per_hour == pytest.approx(5.015625, rel=1e-12)
    # reporting: 3 days with 10, 8 and 0 hours, measured 30, 24 and 1 kWh:
    # adjusted baseline 50.15625, 40.125, 0 → savings 20.15625 + 16.125 − 1 = 35.28125 kWh
    rep = _days(dt.date(2026, 1, 19), dt.date(2026, 1, 22), [30.0, 24.0, 1.0])
    rep["hours"] = [10.0, 8.0, 0.0]
    m = _measure(model="operating_hours", schedule=[10, 12, 10, 12, 10, 6, 4], installed=dt.date(2026, 1, 19),
                 baseline_end=dt.date(2026, 1, 19))
    res = measure_savings(m, base, rep, dt.date(2026, 1, 1), dt.date(2026, 1, 22))
    assert res.rows is not None
    assert res.rows["adjusted_baseline_kwh"].tolist() == pytest.approx([50.15625, 40.125, 0.0])
    assert res.since_start.savings_kwh == pytest.approx(35.28125)
    # the leverage of the summed prediction is (Σ reporting hours)²/Σh² = 18²/1280 (the error of k over 18 hours)
    noise, leverage, _bias = model.uncertainty_terms(res.rows, np.ones(3, bool))
    assert leverage == pytest.approx(18 ** 2 / 1280) and noise == pytest.approx(3.0)


# -- a known saving recovered --------------------------------------------------------------------------
def _lighting(seed: int, drop: float = 0.35) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Lighting 40 kWh/day with noise σ = 3 kWh, 8 weeks of baseline, 8 weeks after a 35 % drop."""
    rng = np.random.default_rng(seed)
    base = _days(dt.date(2026, 1, 5), dt.date(2026, 3, 2), 40.0 + rng.normal(0, 3, 56))
    rep = _days(dt.date(2026, 3, 2), dt.date(2026, 4, 27), 40.0 * (1 - drop) + rng.normal(0, 3, 56))
    return base, rep, 40.0 * drop * 56  # the true saving: 14 kWh/day × 56 days = 784 kWh


def test_known_saving_is_recovered_inside_its_90_percent_interval():
    base, rep, truth = _lighting(seed=4)
    res = measure_savings(_measure(guarantee_kwh_per_year=3000), base, rep, dt.date(2026, 4, 1), dt.date(2026, 4, 27))
    s = res.since_start
    assert truth == 784.0
    assert s.savings_kwh - s.uncertainty_90_kwh <= truth <= s.savings_kwh + s.uncertainty_90_kwh
    assert s.savings_kwh == pytest.approx(truth, rel=0.1)
    assert res.verdict is not None and res.verdict.ok  # G14: CV(RMSE) ≈ 3/40 = 7.5 %, saving demonstrated
    assert res.model.stats.cv_rmse == pytest.approx(0.075, abs=0.02)
    # the guarantee pro rata: 3000 kWh/year × 56/365 days of the contract year = 460.3 kWh; ~784 saved with an
    # interval far above it → met (also at its low end)
    g = res.guarantee
    assert g is not None and g.ledger.guarantee_to_date_kwh == pytest.approx(3000 * 56 / 365)
    assert g.code == "met"


def test_the_90_percent_interval_holds_the_known_saving_about_90_percent_of_the_time():
    # 150 independent noise draws: a correct 90 % interval covers the true 784 kWh in ≈ 90 % of them (binomial SE
    # 2.4 %); one computed at 68 % would cover ≈ 68 %, one that forgot the baseline's own error (the m²/n term)
    # ≈ 71 %.  The day-type term makes the method a little conservative on white noise (≈ 93 % over 300 draws).
    hits = 0
    for seed in range(150):
        base, rep, truth = _lighting(seed)
        s = measure_savings(_measure(), base, rep, dt.date(2026, 4, 1), dt.date(2026, 4, 27)).since_start
        hits += abs(s.savings_kwh - truth) <= s.uncertainty_90_kwh
    assert 0.84 <= hits / 150 <= 0.97


def _span(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}


@pytest.mark.parametrize("kind", ["constant", "operating_hours", "degree_days"])
def test_the_site_calendars_school_holidays_are_not_taken_for_noise(kind):
    """A measure in a school or a sports hall uses 15 kWh less a day in its school holidays (autumn, Christmas,
    winter; Easter in the reporting days), which none of the three models has a term for: with the site calendar's
    school holidays the residuals carry them as day types of their own (the reporting days typed alike), and σ² is
    the noise's 3² — without, the holidays' dip is counted as noise."""
    rng = np.random.default_rng(11)
    days = local_day_index(dt.date(2025, 9, 1), dt.date(2026, 4, 27))
    holidays = frozenset(_span(dt.date(2025, 10, 11), dt.date(2025, 10, 19)) | _span(dt.date(2025, 12, 20),
                         dt.date(2026, 1, 4)) | _span(dt.date(2026, 2, 7), dt.date(2026, 2, 15))
                         | _span(dt.date(2026, 3, 28), dt.date(2026, 4, 6)))
    dip = np.where(np.isin(days.date, list(holidays)), -15.0, 0.0)
    temp = 6.0 + 8.0 * np.cos(np.linspace(0, 2 * np.pi, len(days))) + rng.normal(0, 1.0, len(days))
    hours = np.asarray([12, 12, 12, 12, 12, 8, 8], float)[days.day_of_week.to_numpy()]
    regular = {"constant": np.full(len(days), 40.0), "operating_hours": 3.0 * hours,
               "degree_days": 20.0 + 3.0 * np.maximum(0.0, 15.0 - temp)}[kind]
    frame = pd.DataFrame({"energy_kwh": regular + dip + rng.normal(0, 3.0, len(days)), "temp_mean_c": temp,
                          "hours": hours}, index=days)
    installed = dt.date(2026, 3, 2)
    after = np.asarray(days >= pd.Timestamp(installed).tz_localize("Europe/Copenhagen"))
    m = _measure(model=kind, installed=installed, baseline_start=dt.date(2025, 9, 1), baseline_end=installed,
                 **({"schedule": [12, 12, 12, 12, 12, 8, 8]} if kind == "operating_hours" else {}))

    def fit(school: frozenset[dt.date]):
        return measure_savings(m, frame[~after], frame[after], dt.date(2026, 4, 1), dt.date(2026, 4, 27),
                               school_holidays=school).model.residuals

    typed, plain = fit(holidays), fit(frozenset())
    assert typed.school_holidays == holidays and plain.school_holidays == frozenset()
    assert math.sqrt(typed.sigma2) == pytest.approx(3.0, rel=0.15)
    assert plain.sigma2 > 2 * typed.sigma2
    # the dip is in the school holidays' weekday types: ≈ 15 kWh below the other weekdays'
    assert np.mean(typed.day_type_kwh[8:13]) - np.mean(typed.day_type_kwh[0:5]) == pytest.approx(-15.0, abs=3.0)


def test_guarantee_code_and_municipality_total_by_hand():
    # guarantee 1000 kWh/year, 73 of 365 days → 200 kWh due.  Realised 260 ± 50: 210 ≥ 200 → met;
    # ± 70: 190 < 200 ≤ 260 → met but not demonstrable; realised 150 → short
    lg = ledger(1000.0, 260.0, dt.date(2026, 1, 1), dt.date(2027, 1, 1), dt.date(2026, 3, 15), 0.5, 73, 73)
    assert lg.guarantee_to_date_kwh == pytest.approx(200.0)
    assert guarantee_code(lg, 50.0) == "met" and guarantee_code(lg, 70.0) == "met_not_demonstrable"
    short = ledger(1000.0, 150.0, dt.date(2026, 1, 1), dt.date(2027, 1, 1), dt.date(2026, 3, 15), 0.5, 73, 73)
    assert guarantee_code(short, 10.0) == "short"
    # municipality: Option C 1000 ± 300 (hallen) + a measure in a building without Option C 100 ± 40;
    # the measure in hallen (400 ± 50) is inside Option C and not added: 1100 ± sqrt(300² + 40²) = 302.65
    def period(s, u):
        return PeriodSavings("m", 30, 30, 2 * s, s, s, u / 1.645, u)

    inside, alone = _result("hallen", period(400, 50)), _result("bibliotek", period(100, 40))
    tot = municipality_total([period(1000, 300)], [inside, alone], {"hallen": "electricity"})
    assert tot.total_kwh == pytest.approx(1100.0) and tot.uncertainty_90_kwh == pytest.approx(math.hypot(300, 40))


def _result(site: str, month: PeriodSavings):
    from energimon.analytics.esco.measures import MeasureResult

    d = dt.date(2026, 1, 1)
    return MeasureResult("x", "x", site, "electricity", "constant", d, d, d, d, month=month)


# -- the settings --------------------------------------------------------------------------------------
SITES_TOML = """
[sites.stenlille-hallen]
name = "Stenlille hallen"
latitude = 55.54
longitude = 11.59
[sites.dianalund-bibliotek]
name = "Dianalund Bibliotek"
latitude = 55.53
longitude = 11.50
"""

ESCO_SITES_TOML = """
[esco.sites.stenlille-hallen]
energy = "hovedmaaler/energy_import_wh"
"""


def config(tail: str, devices: str = "", store: str = "store.db", esco_sites: str = ESCO_SITES_TOML) -> str:
    """The two buildings and the contract on the sports hall; ``tail`` (the measures) after its sites."""
    return esco_config(SITES_TOML + devices, esco_sites + tail, store=store,
                       temperature="stenlille-hallen/vejr/outdoor_temp_c")


MEASURES_TOML = """
[[esco.measures]]
id = "led-stenlille"
name = "LED i Stenlille hallen"
site = "stenlille-hallen"
installed = 2026-02-02
energy = "belysning/energy_import_wh"
baseline_start = 2025-12-01
baseline_end = 2026-02-02
guarantee_kwh_per_year = 3000

[[esco.measures]]
id = "led-dianalund"
name = "LED i Dianalund Bibliotek"
site = "dianalund-bibliotek"
installed = 2026-02-02
energy = "belysning/energy_import_wh"
model = "operating_hours"
schedule = [12, 12, 12, 12, 12, 12, 12]
baseline_start = 2025-12-01
baseline_end = 2026-02-02
"""


def test_config_errors_name_the_key_and_line(tmp_path):
    bad = """
[[esco.measures]]
id = "led"
name = "LED"
site = "stenlille-hal"
installed = 2026-02-02
energy = "belysning/energy_import_wh"
model = "operating_hours"
temperature = "vejr/outdoor_temp_c"
baseline_start = 2026-01-20
baseline_end = 2026-02-10

[[esco.measures]]
id = "led"
name = "LED 2"
site = "stenlille-hallen"
installed = 2026-02-02
energy = "hovedmaaler/energy_import_wh"
model = "hourly"
baseline_start = 2025-12-01
baseline_end = 2026-02-02
reporting_start = 2026-01-15
"""
    devices = """
[[devices]]
protocol = "modbus_tcp"
site = "stenlille-hallen"
id = "hovedmaaler"
role = "grid"
host = "127.0.0.1"
port = 1502
unit = 1
profile = "carlo_gavazzi.em24"
"""
    path = tmp_path / "energimon.toml"
    path.write_text(config(bad, devices), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    text = str(info.value)
    first = "esco.measures[0] (id 'led')"
    second = "esco.measures[1] (id 'led')"
    for expected in (
        f"{first}.site: unknown site 'stenlille-hal'",
        f"{first}.hours: model 'operating_hours' needs exactly one of 'hours'",
        f"{first}.temperature: only used with model = 'degree_days'",
        f"{first}.baseline_end: 2026-02-10 is after installed 2026-02-02",
        f"{second}.model: unknown model 'hourly'",
        f"{second}.id: duplicate measure id 'led'",
        f"{second}.reporting_start: 2026-01-15 is before installed 2026-02-02",
        f"{second}.energy: device 'hovedmaaler' of site 'stenlille-hallen' has role 'grid'",
    ):
        assert expected in text, (expected, text)
    # with line numbers: the first measure's site is on line 41 of the file (the key's own line)
    lines = path.read_text("utf-8").splitlines()
    site_line = next(i for i, line in enumerate(lines, 1) if line == 'site = "stenlille-hal"')
    assert f"line {site_line}: {first}.site" in text, text
    # a pydantic error (a missing key) names its path too
    path.write_text(config(MEASURES_TOML.replace('installed = 2026-02-02\n', '', 1)), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "esco.measures[0].installed: required key is missing" in str(info.value)


# -- the store and the report --------------------------------------------------------------------------
def _pdftotext(path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required for the report tests"
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    d = tmp_path_factory.mktemp("measures")
    (d / "energimon.toml").write_text(config(MEASURES_TOML), encoding="utf-8")
    store = SqliteStore(d / "store.db")
    hall = SyntheticBuilding("stenlille-hallen", 600, 40, 15.0, 24.0, 90.0)
    readings, _ = synthetic_readings(hall, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=1)
    store.write(readings)
    truths = {}
    for site, seed in (("stenlille-hallen", 3), ("dianalund-bibliotek", 5)):
        load = LightingLoad(site, "belysning", 40.0, 0.35, 3.0, dt.date(2026, 2, 2), seed)
        lit, truths[site] = lighting_readings(load, dt.date(2025, 12, 1), dt.date(2026, 4, 1))
        store.write(lit)
    store.close()
    return d, truths


def test_store_days_and_schedule_hours(configured):
    d, truths = configured
    store = SqliteStore(d / "store.db")
    try:
        m = load_settings(d / "energimon.toml").esco.measures[1]
        frame = measure_frame(store, m, "", dt.date(2026, 3, 1), dt.date(2026, 3, 8))
    finally:
        store.close()
    # the submeter's days are the generated days (Wh counter → kWh), the schedule gives 12 h every day
    truth = truths["dianalund-bibliotek"]
    assert frame["energy_kwh"].to_numpy() == pytest.approx(truth.loc[frame.index].to_numpy(), abs=1e-6)
    assert frame["hours"].tolist() == [12.0] * 7


def test_report_lists_the_measure_under_its_building_and_explains_the_rule(configured):
    d, _truths = configured
    assert main(["report", "savings", "--month", "2026-03", "-c", str(d / "energimon.toml")]) == 0
    folder = d / "rapporter"
    text = _pdftotext(folder / "besparelse-2026-03.pdf")
    flat = " ".join(text.split())
    assert "Tiltag målt for sig (IPMVP Option B)" in flat
    assert "heraf LED i Stenlille hallen" in flat  # under its building's Option C figure
    assert "lægges aldrig oveni" in flat and "Kommunens samlede besparelse tæller kun Option C" in flat
    assert "Dianalund Bibliotek — uden Option C-kontrakt" in flat and "LED i Dianalund Bibliotek (tælles med)" in flat
    assert "Tiltag: LED i Stenlille hallen (IPMVP Option B)" in flat
    # the measure's section follows its building's page: after "Stenlille hallen"'s model lines, before the end
    assert flat.index("Tiltag: LED i Stenlille hallen") > flat.index("Ikke-rutinemæssige justeringer")
    rows = [line.split(";") for line in (folder / "besparelse-2026-03-tiltag.csv").read_text("utf-8-sig").splitlines()]
    col = {h: i for i, h in enumerate(column_keys(rows[0], "da"))}
    by = {(r[col["measure_id"]], r[col["period"]]): r for r in rows[1:]}
    led = by[("led-stenlille", "month")]
    kwh = float(led[col["savings_kwh"]].replace(",", "."))
    unc = float(led[col["uncertainty_90_kwh"]].replace(",", "."))
    # March 2026: 31 days × 14 kWh/day = 434 kWh injected; the estimate within its 90 % interval of it
    assert abs(kwh - 434.0) <= unc
    assert fmt_number(kwh, 0, "da") in flat
    assert led[col["in_option_c"]] == "1" and by[("led-dianalund", "month")][col["in_option_c"]] == "0"
    # the municipality total = Option C's month + the Dianalund measure (the Stenlille LED is not added)
    main_rows = [line.split(";") for line in (folder / "besparelse-2026-03.csv").read_text("utf-8-sig").splitlines()]
    mcol = {h: i for i, h in enumerate(column_keys(main_rows[0], "da"))}
    oc = next(float(r[mcol["savings_kwh"]].replace(",", ".")) for r in main_rows[1:]
              if r[mcol["site"]] == "stenlille-hallen" and r[mcol["period"]] == "month")
    alone = float(by[("led-dianalund", "month")][col["savings_kwh"]].replace(",", "."))
    assert f"Kommunen i alt for marts 2026: {fmt_number(oc + alone, 0, 'da')} kWh" in flat


def test_report_in_english_with_the_measures_sheet(configured, tmp_path):
    import openpyxl

    d, _truths = configured
    assert main(["report", "savings", "--month", "2026-03", "-c", str(d / "energimon.toml"), "--lang", "en",
                 "--out", str(tmp_path)]) == 0
    flat = " ".join(_pdftotext(tmp_path / "savings-2026-03.pdf").split())
    assert "of which LED i Stenlille hallen" in flat and "never added to it" in flat
    assert "Municipality total for March 2026" in flat
    # page 1 says it too, with Dianalund's measure beside the hall's Option C figure
    assert flat.count("Municipality total for March 2026") == 2
    assert "On top of that, 1 measure metered separately" in flat
    wb = openpyxl.load_workbook(tmp_path / "savings-2026-03.xlsx")
    ws = wb["Measures (Option B)"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Building (id)", "Measure (id)", "Measure")
    # the sheet holds the CSV's numbers: 2 measures × 3 periods
    csv_rows = (tmp_path / "savings-2026-03-measures.csv").read_text("utf-8-sig").splitlines()
    assert len(rows) == len(csv_rows) == 7
    header = column_keys(csv_rows[0].split(","), "en")
    first = dict(zip(header, csv_rows[1].split(","), strict=True))
    assert first["measure_id"] == "led-stenlille" and first["period"] == "month"
    assert rows[1][header.index("savings_kwh")] == pytest.approx(float(first["savings_kwh"]))


def test_degree_day_model_recovers_a_known_saving():
    # a heating measure (e.g. a ventilation heat recovery on its own heat meter): 20 + 3·max(0, 15 − T) kWh/day with
    # noise σ = 2, T from −2 to 18 °C; from installation 25 % of the weather-dependent part is saved
    rng = np.random.default_rng(2)
    days = local_day_index(dt.date(2025, 10, 6), dt.date(2026, 4, 6))
    temp = 8.0 + 10.0 * np.sin(np.linspace(0, 3 * np.pi, len(days))) + rng.normal(0, 1.0, len(days))
    hdd = np.maximum(0.0, 15.0 - temp)
    installed = dt.date(2026, 1, 5)
    after = np.asarray(days >= pd.Timestamp(installed).tz_localize("Europe/Copenhagen"))
    use = 20.0 + 3.0 * hdd * np.where(after, 0.75, 1.0) + rng.normal(0, 2.0, len(days))
    frame = pd.DataFrame({"energy_kwh": use, "temp_mean_c": temp}, index=days)
    m = _measure(model="degree_days", installed=installed, baseline_start=dt.date(2025, 10, 6),
                 baseline_end=installed)
    res = measure_savings(m, frame[~after], frame[after], dt.date(2026, 3, 1), dt.date(2026, 4, 6))
    truth = float((0.25 * 3.0 * hdd[after]).sum())  # the saved part of each reporting day's degree-day term
    s = res.since_start
    assert res.model.kind in ("hdd_only", "hdd_cdd") and res.model.heating_balance_c is not None
    assert abs(s.savings_kwh - truth) <= s.uncertainty_90_kwh, (s.savings_kwh, truth, s.uncertainty_90_kwh)


def test_the_meter_must_be_a_submeter_in_the_store():
    from energimon.analytics.esco.measures import meter_problem

    series = pd.DataFrame({"site": ["hallen", "hallen"], "device": ["belysning", "hovedmaaler"],
                           "channel": ["energy_import_wh", "energy_import_wh"], "role": ["submeter", "grid"]})
    assert meter_problem(series, _measure()) == ""
    assert "role 'grid', not 'submeter'" in meter_problem(series, _measure(energy="hovedmaaler/energy_import_wh"))
    assert "no data for the measure's meter hallen/ventilation/energy_import_wh" in meter_problem(
        series, _measure(energy="ventilation/energy_import_wh"))


def test_a_municipality_with_measures_only(configured, tmp_path, capsys):
    # no [esco.sites] at all (no Option C contract): both measures count, the total is their sum
    d, _truths = configured
    (tmp_path / "energimon.toml").write_text(config(MEASURES_TOML, store=str(d / "store.db"), esco_sites=""),
                                             encoding="utf-8")
    assert main(["report", "savings", "--month", "2026-03", "-c", str(tmp_path / "energimon.toml")]) == 0
    out = capsys.readouterr().out
    assert "stenlille-hallen/led-stenlille: " in out and "tiltag (Option B), tælles for sig" in out
    assert "besparelse-2026-03-tiltag.csv" in out  # the measures' CSV is among the files written
    folder = tmp_path / "rapporter"
    rows = [line.split(";") for line in (folder / "besparelse-2026-03-tiltag.csv").read_text("utf-8-sig").splitlines()]
    col = {h: i for i, h in enumerate(column_keys(rows[0], "da"))}
    month = [float(r[col["savings_kwh"]].replace(",", ".")) for r in rows[1:] if r[col["period"]] == "month"]
    assert len(month) == 2 and all(r[col["in_option_c"]] == "0" for r in rows[1:])
    flat = " ".join(_pdftotext(folder / "besparelse-2026-03.pdf").split())
    assert "Stenlille hallen — uden Option C-kontrakt" in flat
    assert "I marts 2026 sparede de 2 tiltag" in flat and "Portefølje" not in flat  # they carry page 1
    # the total is the two measures' sum (rounded as printed: each to whole kWh first, so compare to ±1)
    total = re.search(r"Kommunen i alt for marts 2026: ([\d.]+) kWh", flat)
    assert total is not None and abs(int(total.group(1).replace(".", "")) - sum(month)) <= 1
    # and it says what it sums: the measures (Option B), not an "Option C – kWh" there is none of
    assert re.search(r"Kommunen i alt for marts 2026: [\d.]+ kWh ± [\d.]+ kWh \(90 %\) — summen af tiltagenes "
                     r"besparelser \(Option B\); ingen bygning i rapporten har en Option C-kontrakt\.", flat)
    assert "= Option C" not in flat and "allerede med i Option C-tallet" not in flat


def test_site_with_measures_only_can_be_chosen_on_its_own(configured, tmp_path, capsys):
    # Dianalund has a measure but no Option C contract ([esco.sites] holds only the hall): --site must still choose
    # it, and its report holds its measure and nothing of the hall (neither its page nor its "heraf" LED)
    d, _truths = configured
    cfg = str(d / "energimon.toml")
    out = tmp_path / "dianalund"
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "dianalund-bibliotek",
                 "--out", str(out)]) == 0
    console = capsys.readouterr().out
    assert "dianalund-bibliotek/led-dianalund: " in console and "tiltag (Option B), tælles for sig" in console
    assert "stenlille" not in console.lower()
    flat = " ".join(_pdftotext(out / "besparelse-2026-03_dianalund-bibliotek.pdf").split())
    assert "Dianalund Bibliotek — uden Option C-kontrakt" in flat and "Tiltag: LED i Dianalund Bibliotek" in flat
    assert "Stenlille" not in flat
    rows = [line.split(";") for line in
            (out / "besparelse-2026-03-tiltag_dianalund-bibliotek.csv").read_text("utf-8-sig").splitlines()]
    col = {h: i for i, h in enumerate(column_keys(rows[0], "da"))}
    assert {r[col["measure_id"]] for r in rows[1:]} == {"led-dianalund"}
    # the hall chosen alone (its Option C contract is every one there is) no longer brings in Dianalund's measure
    out = tmp_path / "stenlille"
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "stenlille-hallen",
                 "--out", str(out)]) == 0
    assert "dianalund" not in capsys.readouterr().out
    rows = [line.split(";") for line in
            (out / "besparelse-2026-03-tiltag_stenlille-hallen.csv").read_text("utf-8-sig").splitlines()]
    assert {r[col["measure_id"]] for r in rows[1:]} == {"led-stenlille"}
    assert "Dianalund" not in _pdftotext(out / "besparelse-2026-03_stenlille-hallen.pdf")
    # both chosen: one report with the hall's page and both measures
    out = tmp_path / "both"
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "dianalund-bibliotek", "--site",
                 "stenlille-hallen", "--out", str(out)]) == 0
    capsys.readouterr()
    both = out / "besparelse-2026-03-tiltag_dianalund-bibliotek+stenlille-hallen.csv"  # the ids sorted, joined by "+"
    rows = [line.split(";") for line in both.read_text("utf-8-sig").splitlines()]
    assert {r[col["measure_id"]] for r in rows[1:]} == {"led-dianalund", "led-stenlille"}


def test_a_report_of_measures_only_is_summed_up_by_them_without_an_empty_portfolio(configured, tmp_path, capsys):
    # Dianalund alone has a measure and no Option C contract: page 1 says what its measure saved (not "0 bygninger,
    # – kWh"), there is no empty portfolio page, and the CSV's portfolio rows say why they have no total
    d, _truths = configured
    cfg = str(d / "energimon.toml")
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "dianalund-bibliotek",
                 "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    stem = tmp_path / "besparelse-2026-03_dianalund-bibliotek"
    measures_csv = tmp_path / "besparelse-2026-03-tiltag_dianalund-bibliotek.csv"
    rows = [line.split(";") for line in measures_csv.read_text("utf-8-sig").splitlines()]
    col = {h: i for i, h in enumerate(column_keys(rows[0], "da"))}
    month = next(r for r in rows[1:] if r[col["period"]] == "month")
    kwh = fmt_number(float(month[col["savings_kwh"]].replace(",", ".")), 0, "da")
    page1 = " ".join(subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", f"{stem}.pdf", "-"], check=True,
                                    capture_output=True, text=True).stdout.split())
    assert page1.startswith("ESCO-besparelse — marts 2026") and "Sammenfatning" in page1
    assert f"I marts 2026 sparede tiltaget {kwh} kWh ±" in page1 and "IPMVP Option B" in page1
    assert "LED i Dianalund Bibliotek Dianalund Bibliotek" in page1 and "påvist" in page1  # its row in the table
    assert "bygninger" not in page1 and "– kWh" not in page1
    flat = " ".join(_pdftotext(f"{stem}.pdf").split())
    assert "Portefølje" not in flat and "Tiltag: LED i Dianalund Bibliotek" in flat
    main_rows = [line.split(";") for line in Path(f"{stem}.csv").read_text("utf-8-sig").splitlines()]
    mcol = {h: i for i, h in enumerate(column_keys(main_rows[0], "da"))}
    assert [(r[mcol["site"]], r[mcol["status"]]) for r in main_rows[1:]] == [("portfolio", "no_data")] * 3
    assert "ingen bygning i rapporten har en Option C-kontrakt" in main_rows[1][mcol["status_reason"]]
    # in English
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "dianalund-bibliotek",
                 "--lang", "en", "--out", str(tmp_path)]) == 0
    flat = " ".join(_pdftotext(tmp_path / "savings-2026-03_dianalund-bibliotek.pdf").split())
    assert "Summary" in flat and "In March 2026 the measure saved" in flat and "Portfolio" not in flat
    assert re.search(r"Municipality total for March 2026: [\d,]+ kWh ± [\d,]+ kWh \(90 %\) — the sum of the "
                     r"measures' savings \(Option B\)", flat) and "= Option C" not in flat


def test_unknown_site_names_the_buildings_with_measures_too(configured, capsys):
    # a site that is neither an Option C building nor a measure's: the usage error names it and every building the
    # report can be asked for, the measures-only one included (with a suggestion for a near miss), in the run's
    # language
    cfg = str(configured[0] / "energimon.toml")
    assert main(["report", "savings", "--month", "2026-03", "-c", cfg, "--site", "dianalund-bibliotk"]) == 64
    err = capsys.readouterr().err
    assert "ukendt bygning 'dianalund-bibliotk'; mente du 'dianalund-bibliotek'?" in err
    assert "(kendte: dianalund-bibliotek, stenlille-hallen) i [esco.sites] eller [[esco.measures]]" in err
    assert main(["--lang", "en", "report", "savings", "--month", "2026-03", "-c", cfg, "--site", "nowhere"]) == 64
    err = capsys.readouterr().err
    assert ("unknown site 'nowhere' (known: dianalund-bibliotek, stenlille-hallen) in [esco.sites] or "
            "[[esco.measures]]") in err


def test_measured_operating_hours_come_from_the_hour_counter(tmp_path):
    # an operating-hour counter read at every hour start: 6 h on Monday 2 March (07-13), 0 h on Tuesday, 24 h on
    # Wednesday → the days' hours 6, 0, 24 (the counter's daily differences, store.energy's complete-day rule)
    from energimon.model import Reading

    store = SqliteStore(tmp_path / "store.db")
    try:
        hours = pd.date_range("2026-03-02", "2026-03-05", freq="h", tz="Europe/Copenhagen")
        on = [(h.day == 2 and 7 <= h.hour < 13) or h.day == 4 for h in hours[:-1]]
        counter = np.concatenate([[100.0], 100.0 + np.cumsum(on)])
        ms = hours.tz_convert("UTC").as_unit("ms").asi8
        store.write([Reading("hallen", "belysning", "operating_time_h", "submeter", int(t), float(v))
                     for t, v in zip(ms, counter, strict=True)])
        m = _measure(model="operating_hours", hours="belysning/operating_time_h")
        frame = measure_frame(store, m, "", dt.date(2026, 3, 2), dt.date(2026, 3, 5))
    finally:
        store.close()
    assert frame["hours"].tolist() == [6.0, 0.0, 24.0]
    assert frame["energy_kwh"].isna().all()  # no energy readings: unknown, never 0


def test_overview_keeps_a_measure_on_another_carrier_out_of_option_c():
    # the hall's Option C contract is on district heating; its LED measure (electricity) is not inside it: it is
    # counted on its own, and the municipality total adds it (1000 + 100 kWh)
    from energimon.analytics.esco.evaluation import SiteResult
    from energimon.analytics.esco.inputs import Sufficiency
    from energimon.analytics.report.measures_section import measure_csv_rows, overview_section

    heat = SiteResult("hallen", "Hallen", "district_heating", Sufficiency(True, 1.0, 365, 365), None,
                      month=PeriodSavings("2026-03", 31, 31, 5000.0, 4000.0, 1000.0, 120.0, 200.0))
    led = _result("hallen", PeriodSavings("2026-03", 31, 31, 1200.0, 1100.0, 100.0, 12.0, 20.0))
    sec = overview_section([led], [heat], {"hallen": "Hallen"}, "marts 2026", "da")
    table = next(b for b in sec.blocks if not isinstance(b, str))
    labels = [row[0] for row in table.rows]
    assert labels == ["Hallen — Option C kun på fjernvarme", "  x (tælles med)"]
    assert any("Kommunen i alt for marts 2026: 1.100 kWh" in b for b in sec.blocks if isinstance(b, str))
    assert measure_csv_rows([led], [heat])[0][15] == 0  # in_option_c



def test_a_report_drawn_in_parts_by_the_pool_has_the_measures_in_the_same_place(configured, tmp_path, monkeypatch):
    # a long report is drawn in parts by worker processes (savings_report._start_portfolio): the measures' sections
    # travel with the report to them and land on the same pages as in the report drawn at once
    import energimon.analytics.report.savings_report as sr

    monkeypatch.setattr(sr, "POOL_MIN_SITES", 2)
    d, _truths = configured
    settings = load_settings(d / "energimon.toml")
    store = SqliteStore(d / "store.db", readonly=True)
    try:
        seq = sr.generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "seq")
        monkeypatch.setattr(sr, "PARALLEL_PAGES", 2)
        par = sr.generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "par", workers=2)
    finally:
        store.close()
    assert "heraf LED i Stenlille hallen" in _pdftotext(par.pdf)
    assert _pdftotext(par.pdf) == _pdftotext(seq.pdf)


def test_the_report_gives_each_measure_its_sites_school_holidays(configured, tmp_path):
    """The savings report reads each measure's site calendar (``[alerts.sites.<id>] school_holidays``, as for the
    buildings) over the measure's baseline and reporting days; a measure in a building without one has none."""
    from energimon.analytics.report.savings_report import generate_savings_report

    d, _truths = configured
    calendar = """
[alerts]
enabled = false
[alerts.sites.stenlille-hallen]
school_holidays = [{ start = 2025-12-20, end = 2026-01-04, reason = "juleferie" },
                   { start = 2026-02-09, end = 2026-02-15, reason = "vinterferie" },
                   { start = 2026-03-28, end = 2026-04-06, reason = "påskeferie" }]
"""
    config = tmp_path / "energimon.toml"
    config.write_text((d / "energimon.toml").read_text(encoding="utf-8").replace(
        'path = "store.db"', f'path = "{d / "store.db"}"').replace(
        'path = "spool.db"', f'path = "{tmp_path / "spool.db"}"') + calendar, encoding="utf-8")
    settings = load_settings(config)
    store = SqliteStore(d / "store.db", readonly=True)
    try:
        files = generate_savings_report(settings, store, dt.date(2026, 3, 1), out_dir=tmp_path / "out")
    finally:
        store.close()
    by_id = {r.id: r for r in files.measures}
    # from the measure's baseline (1 December 2025) to the report month's end: Easter's days in April are not there
    expected = _span(dt.date(2025, 12, 20), dt.date(2026, 1, 4)) | _span(dt.date(2026, 2, 9), dt.date(2026, 2, 15)) \
        | _span(dt.date(2026, 3, 28), dt.date(2026, 3, 31))
    assert by_id["led-stenlille"].model.residuals.school_holidays == frozenset(expected)
    assert by_id["led-dianalund"].model.residuals.school_holidays == frozenset()


def test_page_1_of_a_mixed_report_counts_the_municipality_like_the_measures_overview(configured, tmp_path):
    # the hall has an Option C contract (its LED inside it), Dianalund only a measure: page 1 — what a committee reads —
    # must say the municipality's total the measures' overview says ("Kommunen i alt": Option C + Dianalund's LED, the
    # hall's LED not added again), name the Option C part as such, and list Dianalund's measure beside the hall
    d, _truths = configured
    assert main(["report", "savings", "--month", "2026-03", "-c", str(d / "energimon.toml"), "--out",
                 str(tmp_path)]) == 0
    pdf = tmp_path / "besparelse-2026-03.pdf"
    page1 = " ".join(subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                                    capture_output=True, text=True).stdout.split())
    flat = " ".join(_pdftotext(pdf).split())
    overview = flat[flat.index("Tiltag målt for sig (IPMVP Option B)"):]
    total = re.search(r"Kommunen i alt for marts 2026: [\d.]+ kWh ± [\d.]+ kWh \(90 %\)", overview)
    assert total is not None and total.group(0) in page1, page1
    # the parts: the hall's Option C saving and Dianalund's measure; the hall's LED is not a third part
    main_rows = [line.split(";") for line in (tmp_path / "besparelse-2026-03.csv").read_text("utf-8-sig").splitlines()]
    mcol = {h: i for i, h in enumerate(column_keys(main_rows[0], "da"))}
    rows = [line.split(";") for line in
            (tmp_path / "besparelse-2026-03-tiltag.csv").read_text("utf-8-sig").splitlines()]
    col = {h: i for i, h in enumerate(column_keys(rows[0], "da"))}

    def kwh(row, c):
        return float(row[c["savings_kwh"]].replace(",", "."))

    hall = {r[mcol["period"]]: kwh(r, mcol) for r in main_rows[1:] if r[mcol["site"]] == "stenlille-hallen"}
    alone = {r[col["period"]]: kwh(r, col) for r in rows[1:] if r[col["measure_id"]] == "led-dianalund"}
    inside = {r[col["period"]]: kwh(r, col) for r in rows[1:] if r[col["measure_id"]] == "led-stenlille"}
    assert "I marts 2026 brugte bygningen med Option C-kontrakt" in page1
    assert f"Besparelsen er {fmt_number(hall['month'], 0, 'da')} kWh" in page1  # the Option C part, as before
    assert "1 tiltag målt for sig på egen bimåler (IPMVP Option B) i 1 bygning uden Option C-kontrakt" in page1
    assert f"{fmt_number(alone['month'], 0, 'da')} kWh ±" in page1
    assert f"Kommunen i alt for marts 2026: {fmt_number(hall['month'] + alone['month'], 0, 'da')} kWh" in page1
    assert fmt_number(hall["month"] + alone["month"] + inside["month"], 0, "da") not in page1  # no double counting
    assert "lægges ikke til" in page1 and "ikke prissat" in page1
    # whether it holds: the municipality's saving since start, the same two parts
    since = re.search(r"Siden start er der sparet ([\d.]+) kWh", page1)
    assert since is not None and abs(int(since.group(1).replace(".", "")) - (hall["since_start"]
                                                                              + alone["since_start"])) <= 1
    # the table: the hall, and Dianalund's measure as what it is
    assert "Stenlille hallen" in page1 and "Dianalund Bibliotek: LED i Dianalund Bibliotek" in page1
    assert "(tiltag)" in page1  # the row's name wraps in its column
    assert "Stenlille hallen: LED i Stenlille hallen" not in page1


def _period(savings: float, unc90: float) -> PeriodSavings:
    return PeriodSavings("m", 30, 30, 2 * savings, savings, savings, unc90 / 1.645, unc90)


def test_the_municipality_total_adds_no_water_m3_to_the_kwh():
    # a water contract (m³) beside an electricity one and a measure outside Option C: the portfolio sums only the kWh
    # buildings (the water's m³ stand on its own page), and so must "Kommunen i alt" — in the overview and on page 1:
    # 1000 kWh ± 300 + the measure's 100 kWh ± 40, not + 5000 m³
    from energimon.analytics.esco.evaluation import SiteResult
    from energimon.analytics.report.measures_section import outside_option_c_summary, overview_section

    el = SiteResult("hallen", "Hallen", "electricity", None, None, month=_period(1000, 300))
    water = SiteResult("vandvaerk", "Svømmehallen", "water", None, None, month=_period(5000, 100))
    alone = _result("bibliotek", _period(100, 40))
    overview = " ".join(b for b in overview_section([alone], [el, water], {}, "marts 2026", "da").blocks
                        if isinstance(b, str))
    assert "Kommunen i alt for marts 2026: 1.100 kWh ± 303 kWh (90 %) = Option C 1.000 kWh" in overview, overview
    page1, _since = outside_option_c_summary([alone], [el, water], dt.date(2026, 3, 1), "1. januar 2026", "da")
    assert "Kommunen i alt for marts 2026: 1.100 kWh ± 303 kWh (90 %)" in " ".join(page1)


def _gas_store(path) -> SqliteStore:
    # a gas boiler's own meter (m³ counter, read at every hour start): 0.25 m³/h in the baseline, 0.2 m³/h from the
    # measure's installation on 2 February, so 6 → 4.8 m³ a day
    from energimon.model import Reading

    store = SqliteStore(path)
    hours = pd.date_range("2025-12-01", "2026-04-01", freq="h", tz="Europe/Copenhagen")
    rate = np.where(hours[:-1] < pd.Timestamp("2026-02-02", tz="Europe/Copenhagen"), 0.25, 0.2)
    counter = np.concatenate([[1000.0], 1000.0 + np.cumsum(rate)])
    ms = hours.tz_convert("UTC").as_unit("ms").asi8
    store.write([Reading("hallen", "gaskedel", "volume_m3", "submeter", int(t), float(v))
                 for t, v in zip(ms, counter, strict=True)])
    return store


def _gas_measure() -> MeasureSettings:
    return _measure(id="kedel", name="Ny gaskedel", carrier="natural_gas", energy="gaskedel/volume_m3",
                    installed=dt.date(2026, 2, 2), baseline_start=dt.date(2025, 12, 1),
                    baseline_end=dt.date(2026, 2, 2))


def test_a_gas_measure_is_counted_in_m3_as_metered(tmp_path):
    # the m³ counter's days are m³ (the carrier's unit, as an Option C gas contract's), not the counter / 1000 as if
    # it were Wh: March saves 31 × 6 − (30 × 4.8 + 23 × 0.2) = 37.4 m³ (29 March has 23 hours; the constant model's
    # baseline day is 6 m³)
    from energimon.analytics.esco.measures import evaluate_measure

    store = _gas_store(tmp_path / "store.db")
    try:
        m = _gas_measure()
        frame = measure_frame(store, m, "", dt.date(2026, 3, 2), dt.date(2026, 3, 5))
        res = evaluate_measure(store, m, dt.date(2026, 3, 1), today=dt.date(2026, 4, 15))
    finally:
        store.close()
    assert frame["energy_kwh"].tolist() == pytest.approx([4.8] * 3)
    assert res.error == "" and res.month is not None
    assert res.month.savings_kwh == pytest.approx(37.4, abs=1e-6)
    assert res.unit == "m³"


def test_the_report_names_a_gas_measure_in_m3_and_adds_it_to_no_kwh_total(tmp_path):
    # a gas measure (m³) beside an electricity measure, both outside Option C: the overview, the measure's own page,
    # the CSV and page 1 say m³ for the gas, and "Kommunen i alt" sums only the kWh (100 kWh ± 40, not + 37 m³)
    from energimon.analytics.esco.evaluation import SiteResult
    from energimon.analytics.esco.measures import evaluate_measure
    from energimon.analytics.report.measures_section import (
        CSV_HEADER,
        measure_csv_rows,
        measure_section,
        outside_option_c_summary,
        overview_section,
        report_total,
        summary_section,
    )

    store = _gas_store(tmp_path / "store.db")
    try:
        gas = evaluate_measure(store, _gas_measure(), dt.date(2026, 3, 1), today=dt.date(2026, 4, 15))
    finally:
        store.close()
    led = _result("bibliotek", _period(100, 40))
    el = SiteResult("skolen", "Skolen", "electricity", None, None, month=_period(1000, 300))
    tot = report_total([gas, led], [el])
    assert tot.total_kwh == pytest.approx(1100.0) and tot.uncertainty_90_kwh == pytest.approx(math.hypot(300, 40))
    overview = overview_section([gas, led], [el], {"hallen": "Hallen"}, "marts 2026", "da")
    table = next(b for b in overview.blocks if not isinstance(b, str))
    gas_row = next(row for row in table.rows if "Ny gaskedel" in row[0])
    assert gas_row[1] == "37 m³", gas_row
    assert any("Kommunen i alt for marts 2026: 1.100 kWh" in b for b in overview.blocks if isinstance(b, str))
    page = measure_section(gas, False, "da")
    text = " ".join(b if isinstance(b, str) else " ".join(b.columns) for b in page.blocks)
    assert "m³/døgn" in text and "kWh" not in text, text
    rows = {(r[1], r[3]): dict(zip(CSV_HEADER, r, strict=True)) for r in measure_csv_rows([gas, led], [el])}
    assert rows["kedel", "month"]["unit"] == "m³" and rows["x", "month"]["unit"] == "kWh"
    assert rows["kedel", "month"]["savings_kwh"] == pytest.approx(37.4, abs=1e-6)
    page1, _ = outside_option_c_summary([gas, led], [el], dt.date(2026, 3, 1), "1. januar 2026", "da")
    assert "Kommunen i alt for marts 2026: 1.100 kWh" in " ".join(page1)
    assert "Ny gaskedel" in " ".join(page1)  # said to be left out of the kWh, not silently missing
    only = summary_section([gas, led], {}, dt.date(2026, 3, 1), dt.date(2026, 4, 1), "da")
    only_text = " ".join(b for b in only.blocks if isinstance(b, str))
    assert "sparede de 2 tiltag 137" not in only_text and "100 kWh" in only_text, only_text


def test_a_counter_in_another_unit_than_the_carriers_is_a_config_error():
    # an m³ counter under the default carrier (electricity, Wh) would be read 1000× off: refused, naming the key
    from energimon.analytics.esco.measure_settings import measure_problems

    where = "esco.measures[0] (id 'kedel')"
    problems = dict(measure_problems(where, _measure(energy="gaskedel/volume_m3")))
    assert "counts m3, but carrier 'electricity' is metered in Wh" in problems[f"{where}.energy"], problems
    problems = dict(measure_problems(where, _measure(carrier="natural_gas")))
    assert "counts Wh, but carrier 'natural_gas' is metered in m3" in problems[f"{where}.energy"], problems
    assert measure_problems(where, _gas_measure()) == []
