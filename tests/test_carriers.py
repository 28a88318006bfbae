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
