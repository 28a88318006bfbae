"""The public CO₂ barometer counts natural gas as the annual climate account does (m³ × the calorific value of
``[[carriers.gas_calorific_value]]`` → kWh; the declared factor per m³, or per kWh on those kWh): on one real store
and one configuration the barometer's year equals the account's total.  A gas meter without a calorific value or
factor makes the year incomplete with the reason on the page and in the open data — before, the barometer left gas
out and showed a smaller figure as a complete year."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import httpx
import pytest
from helpers.barometer_account import barometer_and_account
from helpers.web_http import write_counter
from web_support import WebServer

from energimon.analytics.barometer import compute_barometer
from energimon.analytics.climate_account import AccountSettings, Factor, Why, compute_account
from energimon.config.settings import settings_from_dict
from energimon.model import LOCAL_TZ
from energimon.store.sqlite import SqliteStore
from energimon.web.app import create_app

NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=LOCAL_TZ)  # 2025 is over
TODAY = NOW.date()
# 2025 (8,760 h), by hand:
#   electricity 10 kW × 8,760 h = 87,600 kWh × 0.12 kg/kWh / 1000          = 10.512 t
#   natural gas 2 m³/h × 8,760 h = 17,520 m³ (× 11 kWh/m³ = 192,720 kWh)
#               per m³:  17,520 m³ × 2.2 kg/m³ / 1000                      = 38.544 t
#               per kWh: 17,520 m³ × 11 kWh/m³ × 0.2 kg/kWh / 1000         = 38.544 t
EL_T, GAS_M3, GAS_KWH, GAS_T = 10.512, 17_520.0, 192_720.0, 38.544


def _store(path):
    store = SqliteStore(path)
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-02-02", 10.0)
    # the helper's "kW" × 1000 is the counter's rise per hour: 0.002 → 2 m³ of gas an hour
    write_counter(store, "a", "gasmaaler", "volume_m3", "gas", "2024-12-31", "2026-02-02", 0.002)
    return store


def _settings(tmp_path, calorific: bool = True):
    cfg = {
        "sites": {"a": {"name": "Sorø Rådhus", "latitude": 55.4, "longitude": 11.5, "floor_area_m2": 4800}},
        "store": {"path": str(tmp_path / "store.db")},
        "web": {"data_dir": str(tmp_path / "web"),
                "barometer": {"municipality": "Sorø Kommune", "baseline_year": 2025,
                              "sites": {"a": {"name": "Sorø Rådhus"}},
                              "co2": [{"carrier": "electricity", "year": 2025, "kg_per_kwh": 0.12,
                                       "source": "testværdi el"},
                                      {"carrier": "natural_gas", "year": 2025, "kg_per_m3": 2.2,
                                       "source": "testværdi gas"}]}},
    }
    if calorific:
        cfg["carriers"] = {"gas_calorific_value": [{"year": 2020, "kwh_per_m3": 11.0, "source": "testværdi"}]}
    return settings_from_dict(cfg)


def _both(tmp_path, calorific: bool):
    """The web barometer's figures and the climate account of 2025, from the same store and configuration (the
    web's and `report climate`'s own wiring of factors and calorific values)."""
    s = _settings(tmp_path, calorific)
    _store(s.store.path).close()
    years, account = barometer_and_account(s, NOW, 2025, ["a"])
    return s, years, account


def _fetch(s, *paths: str) -> list[str]:
    srv = WebServer(create_app(s, clock=lambda: NOW), s.web).start()
    try:
        with httpx.Client(timeout=20) as c:
            return [c.get(f"{srv.url}{p}").text for p in paths]
    finally:
        srv.stop()


def test_the_barometers_year_with_gas_equals_the_climate_accounts_total(tmp_path):
    s, years, account = _both(tmp_path, calorific=True)
    y = years[2025]
    # before, the barometer counted electricity only: 10.512 t, against the account's 49.056 t
    assert account.total.t_co2 == pytest.approx(EL_T + GAS_T, abs=1e-6)
    assert y.t_co2 == pytest.approx(account.total.t_co2, abs=1e-6)
    assert y.kwh["natural_gas"] == pytest.approx(GAS_KWH, abs=1e-6) and y.m3["natural_gas"] == pytest.approx(GAS_M3)
    assert y.complete and y.why == ()
    page, data = _fetch(s, "/", "/co2.csv")
    assert "<th scope=\"col\" class=\"n\">Naturgas (kWh)</th>" in page and "192.720" in page
    assert "naturgas: 2,20 kg CO₂/m³ (2025, testværdi gas)" in page
    assert "naturgas: 11,000 kWh pr. m³ (brændværdi, testværdi (2020))" in page
    assert "ufuldstændig" not in page.lower()
    # the intro names the carriers the buildings have counters of: electricity and gas, no district heating
    assert "udleder fra deres forbrug af el og naturgas – og hvor langt" in page
    header, *rows = list(csv.reader(io.StringIO(data)))
    # the open data's old columns keep their place; gas and the reason come after them
    assert header[:10] == ["aar", "delvist_aar", "el_kwh", "fjernvarme_kwh", "co2_ton", "maalsti_co2_ton",
                           "solceller_kwh", "komplet", "el_metode", "co2_faktorer"]
    assert header[10:] == ["naturgas_m3", "naturgas_kwh", "ufuldstaendig_fordi"]
    row = dict(zip(header, next(r for r in rows if r[0] == "2025"), strict=True))
    assert (row["co2_ton"], row["naturgas_m3"], row["naturgas_kwh"], row["komplet"], row["ufuldstaendig_fordi"]) \
        == ("49.06", "17520", "192720", "True", "")


def test_a_gas_factor_per_kwh_goes_through_the_calorific_value_in_both(tmp_path):
    # the account's functions also take a gas factor per kWh (on the kWh the calorific value gives): the barometer
    # gets the same CO₂ from them — m³ × kWh/m³ × kg/kWh / 1000 = 17,520 × 11 × 0.2 / 1000 = 38.544 t
    store = _store(tmp_path / "s.db")

    def factor(carrier, year):
        return {"electricity": Factor(2025, 0.12, "el"), "natural_gas": Factor(2025, 0.2, "gas")}.get(carrier)

    def calorific(site, year):
        return (11.0, "testværdi")

    b = compute_barometer(store, ["a"], baseline_year=2025, target_year=2030, reduction_pct=70, factor=factor,
                          calorific=calorific, now=NOW)
    acc = compute_account(store, AccountSettings(sites={"a": ("A", None)}, factor=factor, calorific=calorific),
                          2025, today=TODAY)
    y = b.years[0]
    assert acc.total.t_co2 == pytest.approx(EL_T + GAS_T, abs=1e-6)
    assert y.year == 2025 and y.complete and y.t_co2 == pytest.approx(acc.total.t_co2, abs=1e-6)
    # without a calorific value a per-kWh gas factor has nothing to work on: gas's CO₂ is unknown, and so the year
    no_cal = compute_barometer(store, ["a"], baseline_year=2025, target_year=2030, reduction_pct=70, factor=factor,
                               now=NOW).years[0]
    assert not no_cal.complete and no_cal.t_co2 == pytest.approx(EL_T, abs=1e-6)
    assert Why.of("no_calorific", carrier="natural_gas") in no_cal.why
    assert Why.of("depends", carrier="natural_gas", what="kwh") in no_cal.why
    # no gas factor at all: the year is incomplete and says so
    no_factor = compute_barometer(store, ["a"], baseline_year=2025, target_year=2030, reduction_pct=70,
                                  factor=lambda c, y: factor(c, y) if c == "electricity" else None,
                                  calorific=calorific, now=NOW).years[0]
    assert not no_factor.complete and Why.of("no_factor", carrier="natural_gas", year=2025) in no_factor.why
    assert no_factor.kwh["natural_gas"] == pytest.approx(GAS_KWH, abs=1e-6)
    store.close()


def test_a_gas_meter_without_a_calorific_value_makes_the_year_incomplete_and_says_why(tmp_path):
    s, years, account = _both(tmp_path, calorific=False)
    y = years[2025]
    # before: electricity only (10.512 t), "complete" — a smaller figure that looked whole
    assert not y.complete
    # the gas's CO₂ needs only the m³ (factor per m³), so the figure is the account's, not a smaller one; the gas's
    # kWh are unknown ("–", as in the account), never a guess — and the year says why it is incomplete
    assert y.t_co2 == pytest.approx(account.total.t_co2, abs=1e-6) and y.t_co2 == pytest.approx(EL_T + GAS_T)
    assert y.why == (Why.of("no_calorific", carrier="natural_gas"),)
    assert math.isnan(y.kwh["natural_gas"]) and math.isnan(account.total.kwh)
    assert y.m3["natural_gas"] == pytest.approx(GAS_M3)
    reason = "naturgas: ingen brændværdi (kWh pr. m³) for året; forbruget i kWh kendes ikke"
    page, data = _fetch(s, "/", "/co2.csv")
    assert "2025 (ufuldstændigt)" in page and "Ufuldstændige år" in page and f"2025: {reason}" in page
    header, *rows = list(csv.reader(io.StringIO(data)))
    row = dict(zip(header, next(r for r in rows if r[0] == "2025"), strict=True))
    assert (row["komplet"], row["naturgas_kwh"], row["naturgas_m3"]) == ("False", "", "17520")
    assert row["ufuldstaendig_fordi"] == reason


def test_a_municipality_without_gas_is_not_told_about_natural_gas(tmp_path):
    # electricity and district heating only: the intro and the method name those two, natural gas nowhere (before,
    # the intro always said "el, fjernvarme og naturgas", and the method explained gas in m³)
    s = _settings(tmp_path)
    store = SqliteStore(s.store.path)
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-02-02", 10.0)
    write_counter(store, "a", "varme", "heat_energy_wh", "heat", "2024-12-31", "2026-02-02", 20.0)
    store.close()
    page, = _fetch(s, "/")
    assert "udleder fra deres forbrug af el og fjernvarme – og hvor langt" in page
    assert "naturgas" not in page.lower()
    # electricity alone
    s2 = _settings(tmp_path / "el")
    store = SqliteStore(s2.store.path)
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-02-02", 10.0)
    store.close()
    page, = _fetch(s2, "/")
    assert "udleder fra deres forbrug af el – og hvor langt" in page and "fjernvarme og" not in page
