"""The unit of an imported file's values, turned into the channel's SI unit at the edge (docs/ARCHITECTURE.md
#units-and-channels): energy counters are stored in Wh, gas and water volume counters in m³.

``energimon import csv --unit``:

* Wh, kWh, MWh, GJ, MJ (energy; 1 GJ = 10⁹ J / 3600 J/Wh), therm (1 therm = 100 000 Btu = 29.307107 kWh,
  :data:`energimon.carriers.THERM_KWH`) → a Wh channel;
* m3 (m³), l (litres) → a volume channel (``volume_m3``);
* therm → a gas meter's ``volume_m3`` (role ``gas``): kWh ÷ the gas's calorific value (kWh/m³) of the reading's
  year from ``[[carriers.gas_calorific_value]]`` — a US gas bill counts therms of energy, a Danish gas meter m³.

Without ``--unit``: counter readings are in the channel's own unit (Wh, m³), interval values in kWh (energy
channels) or m³ (volume channels), as before.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from energimon import carriers
from energimon.cliutil import t
from energimon.model import CHANNELS, LOCAL_TZ, Kind

ENERGY_UNITS_WH: dict[str, float] = {
    "Wh": 1.0, "kWh": 1000.0, "MWh": 1e6, "MJ": 1e6 / 3600.0, "GJ": 1e9 / 3600.0, "therm": carriers.THERM_KWH * 1000,
}
"""Wh per unit (heat units agree with :data:`energimon.carriers.HEAT_UNITS`, kWh per unit)."""

VOLUME_UNITS_M3: dict[str, float] = {"m3": 1.0, "l": 0.001}

UNITS = (*ENERGY_UNITS_WH, *VOLUME_UNITS_M3)

KwhPerM3 = Callable[[int], tuple[float, str] | None]
"""(kWh/m³, source) of the gas at a reading's time (epoch ms), None when none is configured for its year."""


def local_year(ts_ms: int) -> int:
    """The Danish local year of an instant (the calorific value's year); 0 beyond the calendar's range."""
    try:
        return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).astimezone(LOCAL_TZ).year
    except (OverflowError, OSError, ValueError):
        return 0


@dataclass(frozen=True)
class Conversion:
    """How a file's values become the channel's unit: ``factor(ts_ms)`` (None: no calorific value for that
    time) and a note for the import's summary line."""

    unit: str
    factor: Callable[[int], float | None]
    note: str
    sources: set[str] = field(default_factory=set)  # the calorific values used, filled as factor() is asked

    @property
    def summary(self) -> str:
        return f"{self.note}: " + "; ".join(sorted(self.sources)) if self.sources else self.note


def conversion(unit: str | None, channel: str, role: str, interval: bool,
               kwh_per_m3: KwhPerM3 | None = None) -> Conversion:
    """The conversion of ``unit`` into ``channel``'s unit; a clear error (ValueError) for a unit that does not fit."""
    info = CHANNELS[channel]
    if unit is None:
        unit = ("kWh" if info.unit == "Wh" else info.unit) if interval else info.unit
        if unit not in UNITS:  # a channel that is neither energy nor volume: its values are taken as they are
            return Conversion(unit, lambda _ts: 1.0, "")
    if unit not in UNITS:
        raise ValueError(t(f"ukendt enhed {unit!r}; brug en af {', '.join(UNITS)}",
                           f"unknown unit {unit!r}; use one of {', '.join(UNITS)}"))
    if info.kind is not Kind.COUNTER or info.unit not in ("Wh", "m3"):
        raise ValueError(t(f"--unit gælder tællerkanaler i Wh eller m³; {channel} er i {info.unit}",
                           f"--unit is for counter channels in Wh or m³; {channel} is in {info.unit}"))
    if info.unit == "Wh":
        if unit not in ENERGY_UNITS_WH:
            raise ValueError(t(f"{channel} er energi (Wh): enheden {unit} er et volumen; brug en af "
                               f"{', '.join(ENERGY_UNITS_WH)}",
                               f"{channel} is energy (Wh): the unit {unit} is a volume; use one of "
                               f"{', '.join(ENERGY_UNITS_WH)}"))
        wh = ENERGY_UNITS_WH[unit]
        return Conversion(unit, lambda _ts: wh, "" if unit == "Wh" else f"{unit} → Wh")
    if unit in VOLUME_UNITS_M3:
        m3 = VOLUME_UNITS_M3[unit]
        return Conversion(unit, lambda _ts: m3, "" if unit == "m3" else f"{unit} → m³")
    # energy into a volume counter: only natural gas, through its calorific value
    if role != carriers.NATURAL_GAS.role.value or unit not in ("therm", "kWh", "MWh", "GJ", "MJ", "Wh"):
        raise ValueError(t(f"{channel} er et volumen (m³): energi i {unit} kan kun blive til m³ for en gasmåler "
                           "(--role gas, gennem gassens brændværdi); brug m3 eller l",
                           f"{channel} is a volume (m³): energy in {unit} becomes m³ only for a gas meter "
                           "(--role gas, through the gas's calorific value); use m3 or l"))
    if not interval:
        raise ValueError(t("gas i energienheder bliver til m³ pr. interval (brændværdien skifter fra år til år, så "
                           "en energitæller giver ingen m³-tæller): brug --interval",
                           "gas in energy units becomes m³ per interval (the calorific value changes from year to "
                           "year, so an energy counter makes no m³ counter): use --interval"))
    if kwh_per_m3 is None:
        raise ValueError(t("gas i energienheder kræver gassens brændværdi: [[carriers.gas_calorific_value]] i "
                           "konfigurationen", "gas in energy units needs the gas's calorific value: "
                           "[[carriers.gas_calorific_value]] in the configuration"))
    kwh = ENERGY_UNITS_WH[unit] / 1000.0
    lookup = kwh_per_m3
    sources: set[str] = set()

    def factor(ts_ms: int) -> float | None:
        cv = lookup(ts_ms)
        if cv is None:
            return None
        sources.add(f"{cv[0]:g} kWh/m³ ({cv[1]})")
        return kwh / cv[0]

    return Conversion(unit, factor, f"{unit} → m³", sources)
