"""Configuration of carriers: contracts and CO₂ factors name known carriers, a CO₂ factor's unit fits its carrier,
and natural gas needs its calorific value; every error names its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from energimon.config.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "energimon.example.toml"


def _problems(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "energimon.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p, environ={})
    return [str(x) for x in info.value.problems]


def _example() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def test_an_unknown_carrier_in_a_contract_is_named_with_its_key_path(tmp_path):
    text = _example().replace('[esco.sites.stenlille-hallen]\n', '[esco.sites.stenlille-hallen]\ncarrier = "steam"\n')
    found = [p for p in _problems(tmp_path, text) if "esco.sites.stenlille-hallen.carrier" in p]
    assert found and "'electricity', 'district_heating', 'natural_gas' or 'water'" in found[0], found


def test_a_gas_contract_without_calorific_value_is_refused_naming_the_key(tmp_path):
    text = _example().replace('[esco.sites.stenlille-hallen]\nenergy = "hovedmaaler/energy_import_wh"',
                              '[esco.sites.stenlille-hallen]\ncarrier = "natural_gas"\nenergy = "gas/volume_m3"')
    found = [p for p in _problems(tmp_path, text) if "carriers.gas_calorific_value" in p]
    assert len(found) == 1
    assert "esco.sites.stenlille-hallen.carrier reads natural gas" in found[0]
    # the example's own commented value, uncommented, settles it (a contract from baseline_start 2024 needs a
    # value from 2024 or earlier)
    ok = text.replace("# Per building: which counter", '[[esco.carrier_prices.natural_gas]]\nfrom = 2025-01-01\n'
                      'dkk_per_unit = 9.5\nsource = "Gasaftale"\n\n# Per building: which counter')
    ok += '\n[[carriers.gas_calorific_value]]\nyear = 2024\nkwh_per_m3 = 12.157\nsource = "Evida"\n'
    p = tmp_path / "ok.toml"
    p.write_text(ok, encoding="utf-8")
    s = load_settings(p, environ={})
    assert s.carriers.gas_kwh_per_m3("stenlille-hallen", 2025).kwh_per_m3 == 12.157


def test_a_calorific_value_for_an_unknown_site_is_named(tmp_path):
    text = _example() + ('\n[[carriers.gas_calorific_value]]\nyear = 2024\nkwh_per_m3 = 12.157\nsource = "Evida"\n'
                         'site = "ringsted-hallen"\n')
    assert any(p.startswith("line") and "carriers.gas_calorific_value[0].site: unknown site 'ringsted-hallen'" in p
               for p in _problems(tmp_path, text))


@pytest.mark.parametrize("factor, expected", [
    ('carrier = "natural_gas"\nyear = 2025\nkg_per_kwh = 0.204', "natural_gas needs kg_per_m3"),
    ('carrier = "water"\nyear = 2025\nkg_per_kwh = 0.1', "water has no CO2 factor"),
    ('carrier = "electricity"\nyear = 2025\nkg_per_m3 = 2.2', "electricity needs kg_per_kwh"),
    ('carrier = "steam"\nyear = 2025\nkg_per_kwh = 0.1', "esco.co2[2].carrier"),
])
def test_co2_factor_units_fit_the_carrier(tmp_path, factor, expected):
    text = _example().replace("# Per building: which counter",
                              f'[[esco.co2]]\n{factor}\nsource = "x"\n\n# Per building: which counter')
    problems = _problems(tmp_path, text)
    assert any(expected in p and "esco.co2[2]" in p for p in problems), problems


def test_the_examples_commented_gas_factor_and_calorific_value_are_valid(tmp_path):
    # uncommenting the example's natural-gas lines gives a valid configuration
    lines = _example().splitlines()
    out = []
    for line in lines:
        if line.startswith(("# [[esco.co2]]", "# [[carriers.gas_calorific_value]]")) or (
                out and out[-1].startswith(("[[esco.co2]]", "[[carriers.", "carrier =", "year =", "kg_per_m3",
                                            "kwh_per_m3", "source =")) and line.startswith("# ")
                and "=" in line and not line.startswith("# site")):
            out.append(line[2:])
        else:
            out.append(line)
    p = tmp_path / "e.toml"
    p.write_text("\n".join(out), encoding="utf-8")
    s = load_settings(p, environ={})
    gas = s.esco.co2_factor("natural_gas", 2025)
    assert gas is not None and gas.kg_per_unit == 2.2627 and gas.unit == "m³"
    assert s.carriers.gas_kwh_per_m3("soro-raadhus", 2025).kwh_per_m3 == 12.157


def test_a_water_contract_needs_a_price_per_m3(tmp_path):
    text = _example().replace('[esco.sites.stenlille-hallen]\nenergy = "hovedmaaler/energy_import_wh"',
                              '[esco.sites.stenlille-hallen]\ncarrier = "water"\nenergy = "vand/volume_m3"')
    found = [p for p in _problems(tmp_path, text) if "esco.sites.stenlille-hallen.carrier" in p]
    assert len(found) == 1 and "[[esco.carrier_prices.water]]" in found[0] and "DKK/m³" in found[0], found
    # electricity keeps its contract price: a carrier price for it is refused
    bad = _example().replace("# Per building: which counter", '[[esco.carrier_prices.electricity]]\n'
                             'from = 2025-01-01\ndkk_per_unit = 2\nsource = "x"\n\n# Per building: which counter')
    assert any("carrier_prices.electricity: electricity is priced by price_dkk_per_kwh" in p
               for p in _problems(tmp_path, bad))


def test_a_contracts_counter_must_be_in_its_carriers_unit(tmp_path):
    text = _example().replace('[esco.sites.stenlille-hallen]\nenergy = "hovedmaaler/energy_import_wh"',
                              '[esco.sites.stenlille-hallen]\ncarrier = "water"\n'
                              'energy = "hovedmaaler/energy_import_wh"')
    assert any("esco.sites.stenlille-hallen" in p and "a water contract reads a counter in m3" in p
               for p in _problems(tmp_path, text))
