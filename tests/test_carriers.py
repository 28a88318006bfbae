"""The carriers' table: each carrier's counter is a real counter channel in the unit its report unit implies."""

import pytest

from energimon import carriers
from energimon.model import CHANNELS, Kind


def test_every_carrier_is_measured_by_a_counter_in_the_unit_people_read():
    for c in carriers.CARRIERS.values():
        info = CHANNELS[c.channel]
        assert info.kind is Kind.COUNTER, c.key
        # Wh counters are read in kWh; m³ counters in m³ (gas is also converted to kWh, by its calorific value)
        assert (info.unit, c.unit) in {("Wh", "kWh"), ("m3", "m³")}, c.key


def test_a_counter_maps_back_to_its_carrier_and_export_or_pv_to_none():
    assert carriers.carrier_of("heat", "heat_energy_wh") is carriers.DISTRICT_HEATING
    assert carriers.carrier_of("water", "volume_m3") is carriers.WATER
    assert carriers.carrier_of("gas", "volume_m3") is carriers.NATURAL_GAS
    # the heat meter's own volume counter is not a carrier's intake
    assert carriers.carrier_of("heat", "volume_m3") is None
    assert carriers.carrier_of("grid", "energy_export_wh") is None


def test_an_unknown_carrier_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"'steam'.*electricity, district_heating, natural_gas, water"):
        carriers.carrier("steam")


def test_heat_units_in_kwh():
    # 1 GJ = 10^9 J / 3.6·10^6 J/kWh = 277.78 kWh; 1 MWh = 1000 kWh
    assert carriers.HEAT_UNITS["GJ"] == pytest.approx(277.777, abs=0.001)
    assert carriers.HEAT_UNITS["MWh"] == 1000.0


def test_the_configuration_literal_names_exactly_the_carriers():
    from typing import get_args

    assert set(get_args(carriers.CarrierKey)) == set(carriers.CARRIERS)


def test_the_unit_people_read_per_counter_unit():
    # Wh counters are read in kWh (÷ 1000); gas and water volume counters in m³ as metered (× 1)
    assert carriers.ELECTRICITY.per_counter_unit == 0.001
    assert carriers.DISTRICT_HEATING.per_counter_unit == 0.001
    assert carriers.NATURAL_GAS.per_counter_unit == 1.0
    assert carriers.WATER.per_counter_unit == 1.0


def test_gas_calorific_value_per_site_and_year():
    s = carriers.CarrierSettings.model_validate({"gas_calorific_value": [
        {"year": 2024, "kwh_per_m3": 12.157, "source": "Evida"},
        {"year": 2026, "kwh_per_m3": 11.9, "source": "Evida 2026"},
        {"year": 2025, "kwh_per_m3": 11.5, "source": "egen måling", "site": "hal"}]})
    assert s.gas_kwh_per_m3("raadhus", 2025).kwh_per_m3 == 12.157  # the latest earlier global year
    assert s.gas_kwh_per_m3("raadhus", 2027).kwh_per_m3 == 11.9
    assert s.gas_kwh_per_m3("hal", 2027).kwh_per_m3 == 11.5  # the site's own value wins over the global one
    assert s.gas_kwh_per_m3("raadhus", 2023) is None


def test_therm_in_kwh():
    # 1 therm = 100 000 Btu (US EIA); 1 Btu (International Table) = 1055.05585262 J (NIST SP 811, B.8):
    # 105 505 585.262 J / 3 600 000 J/kWh = 29.307107 kWh
    assert pytest.approx(100_000 * 1055.05585262 / 3.6e6, rel=1e-7) == carriers.THERM_KWH
