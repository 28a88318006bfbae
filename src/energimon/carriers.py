"""Energy carriers (energiarter): what a building takes in, measured by which counters, in which unit.

One owner for the idea (docs/ARCHITECTURE.md#units-and-channels): the site balance (`store.energy`), the
savings contracts, the CO₂ accounts, reports, alerts and the web ask this module which role and channel
measure a carrier and which unit a person reads it in, instead of keeping their own tables.

A carrier's counter is stored in the channel's SI unit (Wh, m³). What people read:

* electricity, district heating — kWh (district heating utilities also bill MWh or GJ: :data:`HEAT_UNITS`);
* natural gas — m³ as metered, and kWh through the gas's calorific value (the distributor's declared
  value, configurable per site and year);
* water — m³ (no energy, no CO₂ factor of its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from energimon.model import Role


@dataclass(frozen=True, slots=True)
class Carrier:
    key: str  # the configuration's and the store's name, e.g. "district_heating"
    role: Role  # the role of the devices whose counters measure it
    channel: str  # the counter channel (energimon.model.CHANNELS) summed for the site's intake
    unit: str  # what a person reads: "kWh" or "m³"
    da: str  # Danish name, lower case as used inside a sentence
    en: str
    energy: bool  # True: the unit is energy (kWh) and CO₂ factors / degree days apply

    def name(self, lang: str = "da") -> str:
        return self.da if lang == "da" else self.en


ELECTRICITY = Carrier("electricity", Role.GRID, "energy_import_wh", "kWh", "el", "electricity", True)
DISTRICT_HEATING = Carrier("district_heating", Role.HEAT, "heat_energy_wh", "kWh", "fjernvarme", "district heating",
                           True)
NATURAL_GAS = Carrier("natural_gas", Role.GAS, "volume_m3", "m³", "naturgas", "natural gas", True)
WATER = Carrier("water", Role.WATER, "volume_m3", "m³", "vand", "water", False)

CARRIERS: dict[str, Carrier] = {c.key: c for c in (ELECTRICITY, DISTRICT_HEATING, NATURAL_GAS, WATER)}
"""Every carrier by key, in the order reports list them."""

CARRIER_KEYS: tuple[str, ...] = tuple(CARRIERS)

HEAT_UNITS: dict[str, float] = {"kWh": 1.0, "MWh": 1000.0, "GJ": 1e6 / 3600.0}
"""kWh per unit in which district heating is metered and billed (1 GJ = 277.78 kWh)."""


def carrier(key: str) -> Carrier:
    """The carrier named ``key``; a clear error naming the known ones otherwise."""
    try:
        return CARRIERS[key]
    except KeyError:
        raise ValueError(f"unknown carrier {key!r}; expected one of {', '.join(CARRIERS)}") from None


def carrier_of(role: str, channel: str) -> Carrier | None:
    """The carrier a device's counter measures (``None``: not a carrier's intake counter, e.g. PV, export)."""
    for c in CARRIERS.values():
        if c.role.value == role and c.channel == channel:
            return c
    return None
