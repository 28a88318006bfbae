"""`energimon import csv` in each carrier's unit: gas in m³ and in therms (through the gas's calorific value),
water in litres, heat in GJ and MWh — converted at the edge into the channel's unit (Wh, m³)."""

from __future__ import annotations

import pytest

from energimon.app.cli import main
from energimon.cliutil import EXIT_USAGE
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

CONFIG = """
[store]
path = "store.db"
[sites.stenlille-hallen]
name = "Stenlille-hallen"
latitude = 55.54
longitude = 11.59
"""
CALORIFIC = """
[[carriers.gas_calorific_value]]
year = 2015
kwh_per_m3 = 12.157
source = "Evida: afregnet m³ = 12,157 kWh øvre brændværdi"
"""
# the first days of eemeter's sample 'il-gas-hdd-only-daily' (start,value; daily gas use in therms, US Central
# time): the file's shape and unit, three rows typed in here
EEMETER_GAS = "start,value\n2015-11-22T00:00:00-06:00,5.61\n2015-11-23T00:00:00-06:00,3.8\n" \
              "2015-11-24T00:00:00-06:00,4.44\n2015-11-25T00:00:00-06:00,0\n"


def _cfg(tmp_path, extra: str = ""):
    p = tmp_path / "energimon.toml"
    p.write_text(CONFIG + extra, encoding="utf-8")
    return p


def _run(tmp_path, cfg, text: str, series: str, role: str, *options: str) -> int:
    f = tmp_path / "data.csv"
    f.write_text(text, encoding="utf-8")
    return main(["import", "csv", str(f), "--series", f"stenlille-hallen/{series}", "--role", role, *options,
                 "-c", str(cfg)])


def _total(tmp_path, series: str) -> float:
    """The counter's rise over everything stored (its last value − its first)."""
    store = SqliteStore(tmp_path / "store.db", readonly=True)
    _, v = store.read_raw_ms(SeriesKey.parse(f"stenlille-hallen/{series}"), 0, 2**53)
    store.close()
    return float(v[-1] - v[0])


def test_gas_in_m3_per_day(tmp_path):
    cfg = _cfg(tmp_path)
    text = "tid;m3\n2026-01-05;12,5\n2026-01-06;14,25\n2026-01-07;9\n"
    assert _run(tmp_path, cfg, text, "gas/volume_m3", "gas", "--interval") == 0
    assert _total(tmp_path, "gas/volume_m3") == pytest.approx(12.5 + 14.25 + 9)  # = 35.75 m³, not × 1000


def test_eemeter_gas_sample_in_therms_becomes_m3_through_the_calorific_value(tmp_path, capsys):
    cfg = _cfg(tmp_path, CALORIFIC)
    assert _run(tmp_path, cfg, EEMETER_GAS, "gas/volume_m3", "gas", "--interval", "--unit", "therm") == 0
    out = capsys.readouterr().out
    assert "therm → m³: 12.157 kWh/m³ (Evida" in out
    # (5.61 + 3.8 + 4.44 + 0) therm = 13.85 therm × 29.307107 kWh/therm = 405.90343 kWh;
    # ÷ 12.157 kWh/m³ = 33.38845 m³
    assert _total(tmp_path, "gas/volume_m3") == pytest.approx(13.85 * 29.307107 / 12.157, rel=1e-9)
    assert _total(tmp_path, "gas/volume_m3") == pytest.approx(33.38845, abs=1e-4)


def test_therms_without_a_calorific_value_are_refused(tmp_path, capsys):
    assert _run(tmp_path, _cfg(tmp_path), EEMETER_GAS, "gas/volume_m3", "gas", "--interval",
                "--unit", "therm") == EXIT_USAGE
    assert "[[carriers.gas_calorific_value]]" in capsys.readouterr().err
    # a value only from 2016 on: the 2015 rows are named, nothing is stored
    cfg = _cfg(tmp_path, CALORIFIC.replace("year = 2015", "year = 2016"))
    assert _run(tmp_path, cfg, EEMETER_GAS, "gas/volume_m3", "gas", "--interval", "--unit", "therm") != 0
    err = capsys.readouterr().err
    assert "data.csv:2: ingen brændværdi for gassen i 2015 på stenlille-hallen" in err
    assert not (tmp_path / "store.db").exists() or SqliteStore(tmp_path / "store.db", readonly=True).read_raw_ms(
        SeriesKey.parse("stenlille-hallen/gas/volume_m3"), 0, 2**53)[1].size == 0


def test_therms_into_an_energy_counter_need_no_calorific_value(tmp_path):
    assert _run(tmp_path, _cfg(tmp_path), EEMETER_GAS, "grid/energy_import_wh", "grid", "--interval",
                "--unit", "therm") == 0
    # 13.85 therm × 29 307.107 Wh/therm = 405 903.43 Wh
    assert _total(tmp_path, "grid/energy_import_wh") == pytest.approx(13.85 * 29_307.107, rel=1e-9)


def test_water_in_litres_per_hour_becomes_m3(tmp_path):
    text = "time,value\n" + "".join(f"2026-03-02T{h:02d}:00,{250 if 7 <= h < 16 else 20}\n" for h in range(24))
    assert _run(tmp_path, _cfg(tmp_path), text, "vand/volume_m3", "water", "--interval", "--unit", "l") == 0
    # 9 hours × 250 l + 15 hours × 20 l = 2 550 l = 2.55 m³
    assert _total(tmp_path, "vand/volume_m3") == pytest.approx(2.55)


@pytest.mark.parametrize("unit, values, wh", [
    # 0.5 + 0.75 + 0.25 GJ = 1.5 GJ = 1.5·10⁹ J / 3600 J/Wh = 416 666.67 Wh
    ("GJ", (0.5, 0.75, 0.25), 1.5e9 / 3600),
    # 0.12 + 0.2 + 0.08 MWh = 0.4 MWh = 400 000 Wh
    ("MWh", (0.12, 0.2, 0.08), 400_000.0),
])
def test_heat_in_gj_and_mwh(tmp_path, unit, values, wh):
    text = "time,value\n" + "".join(f"2026-02-0{d + 1},{v}\n" for d, v in enumerate(values))
    assert _run(tmp_path, _cfg(tmp_path), text, "fjernvarme/heat_energy_wh", "heat", "--interval",
                "--unit", unit) == 0
    assert _total(tmp_path, "fjernvarme/heat_energy_wh") == pytest.approx(wh)


@pytest.mark.parametrize("series, role, unit, says", [
    ("vejr/outdoor_temp_c", "weather", "kWh", "--unit gælder tællerkanaler i Wh eller m³"),
    ("vand/volume_m3", "water", "therm", "kun blive til m³ for en gasmåler"),
    ("fjernvarme/heat_energy_wh", "heat", "m3", "enheden m3 er et volumen"),
    ("gas/volume_m3", "gas", "furlong", "ukendt enhed 'furlong'"),
])
def test_a_unit_that_does_not_fit_the_channel_is_a_usage_error(tmp_path, capsys, series, role, unit, says):
    interval = () if role == "weather" else ("--interval",)
    assert _run(tmp_path, _cfg(tmp_path, CALORIFIC), "time,value\n2026-01-01,1\n", series, role, *interval,
                "--unit", unit) == EXIT_USAGE
    assert says in capsys.readouterr().err


def test_every_importer_agrees_with_the_carriers_heat_units():
    # one set of numbers for kWh/MWh/GJ: energimon.carriers (kWh per unit), the heat export's exact table and
    # import csv --unit (Wh per unit)
    from energimon import carriers
    from energimon.collector.importer.heat import ENERGY_TO_WH
    from energimon.collector.importer.units import ENERGY_UNITS_WH

    for unit, kwh in carriers.HEAT_UNITS.items():
        assert float(ENERGY_TO_WH[unit.lower()]) == pytest.approx(kwh * 1000, rel=1e-12)
        assert ENERGY_UNITS_WH[unit] == pytest.approx(kwh * 1000, rel=1e-12)
