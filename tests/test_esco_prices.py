"""Money in the savings report: a fixed price, a price per period, or an hourly price file — summed per day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.baseline import DailyModel
from energimon.analytics.esco.evaluation import evaluate_site
from energimon.analytics.esco.prices import (
    PriceBasis,
    PriceGaps,
    load_price_file,
    price_basis,
    price_gaps,
    price_table,
    row_prices,
)
from energimon.analytics.esco.settings import EscoSettings, PricePeriod
from energimon.analytics.report.savings_report import build_report
from energimon.analytics.savings import daily_savings, period_savings, with_prices
from energimon.analytics.stats import FitStatistics
from energimon.app.cli import main
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import ConfigError, load_settings, settings_from_dict
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
SITE = "soro-raadhus"
PERIODS = [{"from": dt.date(2025, 1, 1), "dkk_per_kwh": 2.10, "source": "Kontrakt bilag 3"},
           {"from": dt.date(2026, 3, 16), "dkk_per_kwh": 2.45, "source": "Tarifændring Radius 16. marts"}]


def _model(mu: float = 100.0) -> DailyModel:
    st = FitStatistics(n=365, p=1, mean_y=mu, sse=0, r2=0, r2_adj=0, cv_rmse=0.1, cv_rmse_n=0.1, nmbe=0, nmbe_n=0,
                       rho=0.0, n_eff=365.0)
    return DailyModel("intercept_only", mu, stats=st)


def _esco(price: dict, **site) -> EscoSettings:
    return EscoSettings(
        contract="Sorø ESCO test", baseline_start=dt.date(2025, 1, 1), baseline_end=dt.date(2026, 1, 1),
        measure_date=dt.date(2026, 1, 1), temperature=f"{SITE}/vejr/outdoor_temp_c",
        normal_year={"total": 2906, "source": "DTI normalår"},
        sites={SITE: {"energy": "hovedmaaler/energy_import_wh", **site}}, **price)


def _write(path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- a price per period ----------------------------------------------------------------------
def test_three_days_with_a_price_step_inside_the_month_by_hand():
    # baseline 100 kWh/day, actual 90, 80, 70 on 14-16 March -> savings 10, 20, 30 kWh.
    # Prices: 2.10 from 2025-01-01, 2.45 from 2026-03-16 (a step inside March):
    #   DKK = 10·2.10 + 20·2.10 + 30·2.45 = 21 + 42 + 73.5 = 136.5   (one price for the total would give 126 or 147)
    #   savings-weighted mean price = 136.5 / 60 = 2.275 -> DKK uncertainty = kWh uncertainty · 2.275
    days = pd.date_range("2026-03-14", periods=3, freq="D", tz=CPH)
    d = daily_savings(_model(), pd.Series(5.0, index=days), pd.Series([90.0, 80.0, 70.0], index=days))
    basis = PriceBasis("periods", periods=tuple(PricePeriod(**p) for p in PERIODS))
    table = price_table(basis, dt.date(2026, 3, 14), dt.date(2026, 3, 17))
    assert list(table["price_dkk_per_kwh"]) == pytest.approx([2.10, 2.10, 2.45])
    p = period_savings("x", with_prices(d, row_prices(d, "day", basis, table)), _model())
    assert p.savings_kwh == pytest.approx(60.0)
    assert p.savings_dkk == pytest.approx(136.5)
    assert p.price_dkk_per_kwh == pytest.approx(2.275)
    assert p.uncertainty_90_dkk == pytest.approx(p.uncertainty_90_kwh * 2.275)
    # a fixed price: DKK and its uncertainty are simply scaled
    fixed = PriceBasis("fixed", fixed_dkk_per_kwh=2.0)
    pf = period_savings("x", with_prices(d, row_prices(d, "day", fixed, price_table(fixed, dt.date(2026, 3, 14),
                                                                                      dt.date(2026, 3, 17)))), _model())
    assert (pf.savings_dkk, pf.uncertainty_68_dkk) == (pytest.approx(120.0), pytest.approx(2 * pf.uncertainty_68_kwh))


def test_uncertainty_price_when_daily_savings_change_sign():
    # savings +30 and −20 kWh (Σ = 10) at 2 and 3 kr.: Σsp/Σs = (60 − 60)/10 = 0 kr./kWh lies outside [2, 3],
    # so the adjusted-baseline-weighted mean is used: (100·2 + 100·3)/200 = 2.5
    days = pd.date_range("2026-03-01", periods=2, freq="D", tz=CPH)
    d = daily_savings(_model(), pd.Series(5.0, index=days), pd.Series([70.0, 120.0], index=days))
    d = with_prices(d, pd.Series([2.0, 3.0], index=days))
    p = period_savings("x", d, _model())
    assert p.savings_dkk == pytest.approx(0.0) and p.price_dkk_per_kwh == pytest.approx(2.5)


@pytest.fixture(scope="module")
def office_store(tmp_path_factory):
    """A town hall with office hours (weekdays 07-17 use three times the other hours' rate), 60 kWh/day saved."""
    store = SqliteStore(tmp_path_factory.mktemp("prices") / "store.db")
    b = SyntheticBuilding(SITE, saving_kwh_per_day=60.0, office_hours=True)
    readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=5)
    store.write(readings)
    yield store
    store.close()


def test_price_periods_through_evaluate_site(office_store):
    res = evaluate_site(office_store, _esco({"prices": PERIODS}), SITE, "Sorø Rådhus", dt.date(2026, 3, 1))
    d = res.daily
    step = np.where(pd.DatetimeIndex(d.index) >= pd.Timestamp("2026-03-16", tz=CPH), 2.45, 2.10)
    march = pd.DatetimeIndex(d.index) >= pd.Timestamp("2026-03-01", tz=CPH)
    assert res.month.savings_dkk == pytest.approx(float((d["savings_kwh"] * step)[march].sum()), rel=1e-12)
    assert res.since_start.savings_dkk == pytest.approx(float((d["savings_kwh"] * step).sum()), rel=1e-12)
    # not the total times either price
    for price in (2.10, 2.45):
        assert abs(res.month.savings_dkk - res.month.savings_kwh * price) > 50
    # the report names both periods with their sources
    text = "\n".join(b for s in build_report([res], _esco({"prices": PERIODS}), dt.date(2026, 3, 1)).sections
                     for b in s.blocks if isinstance(b, str))
    assert ("Pris pr. periode: fra 2025-01-01 2,10 kr./kWh (kilde: Kontrakt bilag 3); fra 2026-03-16 2,45 kr./kWh "
            "(kilde: Tarifændring Radius 16. marts).") in text
    assert "besparelsesvægtede gennemsnitspris" in text


# -- an hourly price file ----------------------------------------------------------------------
def test_hourly_file_with_dst_days_and_decimal_comma(tmp_path):
    # 29 March 2026 has 23 hours (02:00 does not exist): 00-11 local = 11 hours at 1,25, 12-23 = 12 hours at 3,50.
    #   plain mean            = (11·1.25 + 12·3.50) / 23           = 55.75 / 23 = 2.4239130
    #   use-weighted (1 kWh/h before noon, 2 kWh/h after) = (11·1·1.25 + 12·2·3.50) / (11 + 24) = 97.75 / 35 = 2.7928571
    # 25 October 2026 has 25 hours (02:00 twice, told apart by the row order): prices 0,0 0,1 … 2,4 -> mean 1.2
    lines = ["tid;pris"]
    lines += [f"29-03-2026 {h:02d}:00;{'1,25' if h < 12 else '3,50'}" for h in range(24) if h != 2]
    autumn = [0, 1, 2, 2, *range(3, 24)]  # the local wall-clock hours of 25 October, 02 twice
    lines += [f"2026-10-25 {h:02d}:00;{i / 10:.1f}".replace(".", ",") for i, h in enumerate(autumn)]
    _write(tmp_path / "priser.csv", lines)
    pf = load_price_file(tmp_path / "priser.csv")
    assert pf.interval_min == 60 and pf.name == "priser.csv"
    spring = price_table(PriceBasis("file", file=pf), dt.date(2026, 3, 29), dt.date(2026, 3, 30))
    assert spring["hours"].iloc[0] == 23 and spring["hours_in_file"].iloc[0] == 23
    assert spring["price_dkk_per_kwh"].iloc[0] == pytest.approx(55.75 / 23)
    hours = pd.date_range("2026-03-28 23:00", periods=23, freq="h", tz="UTC").tz_convert(CPH)
    use = pd.Series(np.where(hours.hour < 12, 1.0, 2.0), index=hours)
    weighted = price_table(PriceBasis("file", file=pf), dt.date(2026, 3, 29), dt.date(2026, 3, 30), use)
    assert weighted["price_dkk_per_kwh"].iloc[0] == pytest.approx(97.75 / 35)
    oct25 = price_table(PriceBasis("file", file=pf), dt.date(2026, 10, 25), dt.date(2026, 10, 26))
    assert (oct25["hours"].iloc[0], oct25["hours_in_file"].iloc[0]) == (25, 25)
    assert oct25["price_dkk_per_kwh"].iloc[0] == pytest.approx(1.2)


def test_missing_hours_take_the_last_earlier_price_and_are_counted(tmp_path):
    # 2-5 March; the file lacks 3 March 10:00-13:59 (partial day) and all of 4 March (missing day).
    # Prices: 2 March h -> 1 + h/100; 3 March 2,00 (the missing 10-13 take 09:00's 2,00); 4 March takes 3 March
    # 23:00's 2,00 for every hour; 5 March 3,00.  1 March is before the file: no price at all.
    lines = ["time,value"]
    lines += [f"2026-03-02T{h:02d}:00,{1 + h / 100:.2f}" for h in range(24)]
    lines += [f"2026-03-03T{h:02d}:00,2.00" for h in range(24) if not 10 <= h < 14]
    lines += [f"2026-03-05T{h:02d}:00,3.00" for h in range(24)]
    _write(tmp_path / "p.csv", lines)
    basis = PriceBasis("file", file=load_price_file(tmp_path / "p.csv"))
    t = price_table(basis, dt.date(2026, 3, 1), dt.date(2026, 3, 6))
    assert np.isnan(t["price_dkk_per_kwh"].iloc[0])
    assert list(t["price_dkk_per_kwh"].iloc[1:]) == pytest.approx([1 + 11.5 / 100, 2.0, 2.0, 3.0])
    assert list(t["hours_in_file"]) == [0, 24, 20, 0, 24]
    gaps = price_gaps(t, dt.date(2026, 3, 1), dt.date(2026, 3, 5))
    assert (gaps.days_partial, gaps.days_missing, gaps.days_unpriced) == (1, 1, 1)
    # a day without any price makes its period's DKK unknown, never 0
    days = pd.date_range("2026-03-01", periods=5, freq="D", tz=CPH)
    d = daily_savings(_model(), pd.Series(5.0, index=days), pd.Series(90.0, index=days))
    d = with_prices(d, row_prices(d, "day", basis, t))
    assert np.isnan(period_savings("x", d, _model()).savings_dkk)
    # 2-5 March: 10 kWh a day at 1.115, 2, 2, 3 -> 81.15 kr.
    assert period_savings("x", d.iloc[1:], _model()).savings_dkk == pytest.approx(81.15)


def test_quarter_hour_prices_make_hourly_means(tmp_path):
    # 00:00-00:45 at 1, 2, 3, 4 -> hour 00 = 2.5; hour 01 has only three quarters -> not in the file (takes 2.5)
    lines = ["time;value", "2026-03-02 00:00;1", "2026-03-02 00:15;2", "2026-03-02 00:30;3", "2026-03-02 00:45;4",
             "2026-03-02 01:00;9", "2026-03-02 01:15;9", "2026-03-02 01:30;9"]
    _write(tmp_path / "kvarter.csv", lines)
    pf = load_price_file(tmp_path / "kvarter.csv")
    assert pf.interval_min == 15
    assert list(pf.hourly.to_numpy()) == pytest.approx([2.5, np.nan], nan_ok=True)


def test_use_weighted_day_price_through_evaluate_site(office_store, tmp_path):
    """An hourly file priced 3 kr. from 08 to 12 local time and 1 kr. otherwise: those hours fall in the office
    hours (07-17, three times the use), so each weekday's price is above the plain mean of its hours (1.33 kr.);
    DKK = Σ days savings × that day's use-weighted price."""
    hours = pd.date_range("2025-12-31 23:00", "2026-03-31 21:00", freq="h", tz="UTC").tz_convert(CPH)
    lines = ["time,value"] + [f"{h.isoformat()},{3.0 if 8 <= h.hour < 12 else 1.0}" for h in hours]
    _write(tmp_path / "timepriser.csv", lines)
    esco = _esco({"price_file": tmp_path / "timepriser.csv"})
    res = evaluate_site(office_store, esco, SITE, "Sorø Rådhus", dt.date(2026, 3, 1))
    # expected, from the store's own hourly counter differences
    key = SeriesKey(SITE, "hovedmaaler", "energy_import_wh")
    e = office_store.energy(key, dt.datetime(2026, 1, 1, tzinfo=CPH), dt.datetime(2026, 4, 1, tzinfo=CPH), "1h")
    kwh = pd.Series(e.windows["energy_wh"].to_numpy() / 1000.0, index=pd.DatetimeIndex(e.windows.index).tz_convert(CPH))
    price = np.where((kwh.index.hour >= 8) & (kwh.index.hour < 12), 3.0, 1.0)
    day = kwh.index.normalize()
    day_price = (kwh * price).groupby(day).sum() / kwh.groupby(day).sum()
    plain = pd.Series(price, index=kwh.index).groupby(day).mean()
    d = res.daily
    assert d["price_dkk_per_kwh"].to_numpy() == pytest.approx(day_price.to_numpy(), rel=1e-9)
    weekday = pd.DatetimeIndex(d.index).day_of_week < 5
    assert (d["price_dkk_per_kwh"].to_numpy()[weekday] > plain.to_numpy()[weekday] + 0.2).all()
    assert res.since_start.savings_dkk == pytest.approx(float((d["savings_kwh"] * day_price.to_numpy()).sum()))
    assert price_gaps(res.price_days, res.since_start.start, res.since_start.end) == PriceGaps(0, 0, 0)
    # the report names the file and the month's use-weighted mean price
    text = "\n".join(b for s in build_report([res], esco, dt.date(2026, 3, 1)).sections for b in s.blocks
                     if isinstance(b, str))
    assert "Timepriser fra timepriser.csv (60-minutters intervaller)" in text
    march = d[pd.DatetimeIndex(d.index) >= pd.Timestamp("2026-03-01", tz=CPH)]
    mean = float((march["actual_kwh"] * march["price_dkk_per_kwh"]).sum() / march["actual_kwh"].sum())
    assert f"Timepriser fra timepriser.csv: gennemsnit i marts 2026 {mean:.2f} kr./kWh".replace(".", ",", 2)\
        .replace("timepriser,csv", "timepriser.csv") in text


# -- errors -------------------------------------------------------------------------------------
BASE = {"contract": "x", "baseline_start": dt.date(2025, 1, 1), "baseline_end": dt.date(2026, 1, 1),
        "measure_date": dt.date(2026, 1, 1), "temperature": f"{SITE}/vejr/outdoor_temp_c",
        "normal_year": {"total": 2906, "source": "DTI"}, "sites": {SITE: {"energy": "hovedmaaler/energy_import_wh"}}}
SITES = {SITE: {"name": "Sorø Rådhus", "latitude": 55.4, "longitude": 11.5}}


def _problems(esco: dict) -> str:
    with pytest.raises(ConfigError) as exc:
        settings_from_dict({"sites": SITES, "esco": {**BASE, **esco}})
    return str(exc.value)


def test_price_config_errors_name_the_keys():
    assert "esco: give exactly one of price_dkk_per_kwh (a fixed price), prices (a price per period), " \
           "price_file (a time,value CSV in DKK/kWh) or spot_price (the stored spot price + tariffs); got none" \
           in _problems({})
    assert "got price_dkk_per_kwh and price_file" in _problems({"price_dkk_per_kwh": 2.0, "price_file": "p.csv"})
    removed = _problems({"price_series": "soro-raadhus/pris/price"})
    assert "esco.price_series: price_series was removed: give price_file" in removed and "or prices = [" in removed
    order = _problems({"prices": [PERIODS[1], PERIODS[0]]})
    assert "prices[1].from 2025-01-01 must be after prices[0].from 2026-03-16" in order
    late = _problems({"prices": [{**PERIODS[0], "from": dt.date(2026, 2, 1)}]})
    assert "prices[0].from 2026-02-01 is after measure_date 2026-01-01" in late
    assert "esco.prices[0].source" in _problems({"prices": [{"from": dt.date(2025, 1, 1), "dkk_per_kwh": 2.0}]})


CONFIG = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4
longitude = 11.5
[store]
path = "store.db"
[spool]
path = "spool.db"
[esco]
contract = "Sorø ESCO"
baseline_start = 2025-01-01
baseline_end = 2026-01-01
measure_date = 2026-01-01
price_file = "priser.csv"
temperature = "soro-raadhus/vejr/outdoor_temp_c"
normal_year = { total = 2906, source = "DTI" }
[esco.sites.soro-raadhus]
energy = "hovedmaaler/energy_import_wh"
"""


def test_price_file_missing_and_bad_lines(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    monkeypatch.chdir("/")  # the relative price_file is relative to the config file, not the working directory
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert f"esco.price_file: file not found: {tmp_path / 'priser.csv'}" in str(exc.value)
    # lines that cannot be read are named first (the importer's parser) ...
    _write(tmp_path / "priser.csv", ["tid;pris", "01-01-2026 00:00;2,10", "01-01-2026 01:00;2,1o",
                                     "01-01-2026 02:00", "31-02-2026 03:00;2,30"])
    settings = load_settings(cfg)
    assert settings.esco.price_file == tmp_path / "priser.csv"
    with pytest.raises(ValueError) as exc:
        price_basis(settings.esco)
    msg = str(exc.value)
    assert "priser.csv:3: ikke et tal: '2,1o'" in msg  # the shared reader's lines, in the run's language (Danish)
    assert "priser.csv:4: forventede time;value" in msg
    assert "priser.csv:5: kan ikke læse tidspunktet '31-02-2026 03:00'" in msg
    # ... then prices that make no sense (the file's size changed, so it is read again)
    _write(tmp_path / "priser.csv", ["tid;pris", "01-01-2026 00:00;2,10", "01-01-2026 01:00;2100,00",
                                     "01-01-2026 01:00;2,30"])
    with pytest.raises(ValueError) as exc:
        price_basis(settings.esco)
    msg = str(exc.value)
    assert "priser.csv:3: price 2100 DKK/kWh is not plausible (the file must be in DKK/kWh" in msg
    assert "priser.csv:4: the same time as line 3" in msg
    _write(tmp_path / "priser.csv", ["tid;pris", "01-01-2026 00:00;2,10", "01-01-2026 01:00;2,1o"])
    # through the CLI: the report refuses with the line named, before any building is evaluated
    store = SqliteStore(tmp_path / "store.db")
    store.close()
    assert main(["report", "savings", "--month", "2026-03", "-c", str(cfg)]) == 64
    assert "priser.csv:3: ikke et tal: '2,1o'" in capsys.readouterr().err
