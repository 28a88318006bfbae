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

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from energimon.model import CHANNELS, Role


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

    @property
    def per_counter_unit(self) -> float:
        """The unit people read per unit of the counter channel: 0.001 (Wh → kWh) or 1 (m³ → m³).  Sums that
        ``store.energy`` names ``energy_wh`` are in the counter's unit: m³ for gas and water."""
        return 0.001 if CHANNELS[self.channel].unit == "Wh" else 1.0


ELECTRICITY = Carrier("electricity", Role.GRID, "energy_import_wh", "kWh", "el", "electricity", True)
DISTRICT_HEATING = Carrier("district_heating", Role.HEAT, "heat_energy_wh", "kWh", "fjernvarme", "district heating",
                           True)
NATURAL_GAS = Carrier("natural_gas", Role.GAS, "volume_m3", "m³", "naturgas", "natural gas", True)
WATER = Carrier("water", Role.WATER, "volume_m3", "m³", "vand", "water", False)

CARRIERS: dict[str, Carrier] = {c.key: c for c in (ELECTRICITY, DISTRICT_HEATING, NATURAL_GAS, WATER)}
"""Every carrier by key, in the order reports list them."""

CARRIER_KEYS: tuple[str, ...] = tuple(CARRIERS)

CarrierKey = Literal["electricity", "district_heating", "natural_gas", "water"]
"""A carrier's key as configuration models declare it (``test_carriers`` checks it names exactly :data:`CARRIERS`)."""

HEAT_UNITS: dict[str, float] = {"kWh": 1.0, "MWh": 1000.0, "GJ": 1e6 / 3600.0}
"""kWh per unit in which district heating is metered and billed (1 GJ = 277.78 kWh)."""


THERM_KWH = 29.307107
"""kWh per therm. A therm is 100 000 Btu (US EIA, "Units and calculators explained: natural gas"; the
eemeter samples' gas unit); with the International Table Btu of 1 055.055 852 62 J (NIST SP 811, appendix B.8)
that is 105 505 585.262 J = 29.307107 kWh.  NIST also lists a "therm (U.S.)" of 1.054 804 × 10⁸ J
(29.3001 kWh, 0.02 % less); US gas bills use the 100 000 Btu therm."""

VOLUME_UNITS: dict[str, float] = {"m3": 1.0, "m³": 1.0, "l": 0.001}
"""m³ per unit in which water and gas volumes arrive."""


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


def unit_of(key: str) -> str:
    """The unit a person reads ``key``'s consumption in (kWh or m³)."""
    return carrier(key).unit


_KWH = re.compile(r"(?<![A-Za-z])kWh(?![A-Za-z])")


class InUnit(str):
    """A text already in its own units (e.g. gas in m³ and kWh): :func:`in_unit` leaves it as it is."""


def in_unit(text: str, unit: str) -> str:
    """``text``, written in kWh, said in ``unit``: "kWh" becomes "m³", also inside "kr./kWh" (a price per m³),
    "kWh/døgn", "kg/kWh".  Reports and alert mails are written in kWh; a water or gas series reads in m³."""
    return text if unit == "kWh" or isinstance(text, InUnit) else _KWH.sub(unit, text)


def check_co2_factor_unit(key: str, kg_per_kwh: float | None, kg_per_m3: float | None) -> None:
    """A CO₂ factor's unit fits its carrier: natural gas per m³ (as Evida/Energinet publish it; a per-kWh gas
    factor is on the lower calorific value, energimon's gas kWh on the upper: per m³ leaves no room for that
    10 % mix-up), electricity and district heating per kWh, water none."""
    c = carrier(key)
    if not c.energy:
        raise ValueError(f"{key} has no CO2 factor ({c.en} is not energy)")
    if c is NATURAL_GAS:
        if kg_per_m3 is None or kg_per_kwh is not None:
            raise ValueError("natural_gas needs kg_per_m3 (kg CO2 per m³ of gas, as Evida/Energinet publish it), "
                             "not kg_per_kwh")
    elif kg_per_kwh is None or kg_per_m3 is not None:
        raise ValueError(f"{key} needs kg_per_kwh (kg CO2 per kWh); kg_per_m3 is for natural_gas")


# -- the gas's calorific value (configuration) ------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class CalorificValue(_Strict):
    """``[[carriers.gas_calorific_value]]``: kWh per m³ of natural gas from ``year`` on (until a later entry), for
    every site or for one.  Danish gas is settled on its upper calorific value (øvre brændværdi): a billed m³
    ("økonomikubikmeter") holds 12.157 kWh; the measured monthly value is published by Energinet per
    measuring station (config/energimon.example.toml cites both)."""

    year: int = Field(ge=2000, le=2100)
    kwh_per_m3: float = Field(gt=5, lt=15, description="kWh per m³ (upper calorific value)")
    source: str = Field(min_length=1, description="where the value comes from, printed in reports")
    site: str | None = Field(default=None, description="only this site (default: every site)")


class CarrierSettings(_Strict):
    """``[carriers]``: what turns a carrier's metered unit into energy (natural gas: m³ → kWh)."""

    gas_calorific_value: list[CalorificValue] = Field(default_factory=list)

    def gas_kwh_per_m3(self, site: str, year: int) -> CalorificValue | None:
        """The site's own value for ``year`` (else its latest earlier year's), else the global one; None: none."""
        for scope in (site, None):
            cands = [c for c in self.gas_calorific_value if c.site == scope and c.year <= year]
            if cands:
                return max(cands, key=lambda c: c.year)
        return None

    def calorific(self, site: str, year: int) -> tuple[float, str] | None:
        """(kWh per m³, its source and year) for ``site`` in ``year`` as the climate account and the barometer print
        it; None: no calorific value is known."""
        c = self.gas_kwh_per_m3(site, year)
        return None if c is None else (float(c.kwh_per_m3), f"{c.source} ({c.year})")


def cross_check_carriers(settings: CarrierSettings, sites: Iterable[str],
                         gas_users: Iterable[tuple[str, str, dt.date | None]]) -> list[tuple[str, str]]:
    """(key path, message): sites named exist; every place that reads natural gas (``(key path, site, first day)``)
    has a calorific value for its site from that day's year on."""
    known = set(sites)
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str | None, int]] = set()
    for i, c in enumerate(settings.gas_calorific_value):
        where = f"carriers.gas_calorific_value[{i}]"
        if c.site is not None and c.site not in known:
            problems.append((f"{where}.site", f"unknown site {c.site!r}; known sites: {', '.join(sorted(known))}"))
        if (c.site, c.year) in seen:
            problems.append((f"{where}.year", f"{c.year} is given twice for {c.site or 'every site'}"))
        seen.add((c.site, c.year))
    for key, site, first in gas_users:
        year = first.year if first is not None else 2100
        if settings.gas_kwh_per_m3(site, year) is None:
            problems.append(("carriers.gas_calorific_value",
                             f"required: {key} reads natural gas (m³) at site {site!r}, and m³ become kWh only "
                             f"through the gas's calorific value; add [[carriers.gas_calorific_value]] with year "
                             f"(<= {year if first is not None else 'the first year'}), kwh_per_m3 and source (the "
                             "distributor's upper calorific value, e.g. 12.157 kWh/m³)"))
    return problems


class Co2Factor(_Strict):
    """A declared CO₂ factor of an energy carrier for a year: kg per kWh (electricity, district heating), kg per
    m³ for natural gas — published per m³ (Evida / Energinet), and a per-kWh gas factor is on the lower calorific
    value while energimon's gas kWh are on the upper one, so per m³ leaves no room for a 10 % mix-up.  The shape of
    ``[[esco.co2]]`` and ``[web.barometer] co2``."""

    carrier: CarrierKey
    year: int = Field(ge=2000, le=2100)
    kg_per_kwh: float | None = Field(default=None, ge=0, le=2)
    kg_per_m3: float | None = Field(default=None, ge=0, le=5, description="natural gas only")
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _unit(self) -> Co2Factor:
        check_co2_factor_unit(self.carrier, self.kg_per_kwh, self.kg_per_m3)
        return self

    @property
    def kg_per_unit(self) -> float:
        """kg CO₂ per the carrier's unit (kWh, or m³ for natural gas)."""
        value = self.kg_per_m3 if self.carrier == NATURAL_GAS.key else self.kg_per_kwh
        assert value is not None  # the validator requires it
        return value

    @property
    def unit(self) -> str:
        return unit_of(self.carrier)
