"""The CO₂ account of all consumption (not only of the avoided kWh), per building and month.

Electricity is counted **hour by hour, location-based** (GHG Protocol Scope 2 Guidance, 2015, the
location-based method: the average emission intensity of the grid where the energy is consumed):

    CO₂ [kg] = Σ_hours  E_h [kWh] × I_h [g/kWh] / 1000

with ``E_h`` the building's grid import in hour *h* (its energy counter) and ``I_h`` the hour's mean of
Energinet's 5-minute CO₂ intensity of consumption for the price area (Energi Data Service ``CO2Emis``,
stored by ``[sources.energidataservice]``).  Hours where either is unknown are left out and counted:
the account says how many of the month's hours it covers (missing is not zero).

District heating (and electricity without an hourly intensity) uses the yearly factor the contract
declares for the carrier (``[[esco.co2]]``, e.g. the utility's environmental declaration), on the
month's known consumption.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from energimon.analytics.esco import add_months, energy_kwh, local_midnight, series_key
from energimon.config.esco_settings import EscoSettings
from energimon.model import SeriesKey


@dataclass(frozen=True)
class Co2Account:
    site: str
    carrier: str
    method: str  # "hourly" | "declared" | "none"
    kwh: float  # consumption counted (hours/days with a known CO2)
    kg: float  # NaN when nothing could be counted
    periods: int  # hours (hourly) or days (declared) in the month
    periods_counted: int
    factor_year: int | None = None

    @property
    def g_per_kwh(self) -> float:
        return self.kg * 1000 / self.kwh if self.kwh > 0 and math.isfinite(self.kg) else math.nan


def hourly_co2_kg(kwh: pd.Series, g_per_kwh: pd.Series) -> tuple[float, float, int]:
    """``Σ kWh_h × g/kWh_h / 1000`` over the hours where both are known → (kg, kWh counted, hours counted)."""
    both = pd.DataFrame({"kwh": kwh, "g": g_per_kwh.reindex(kwh.index)}).dropna()
    if both.empty:
        return math.nan, 0.0, 0
    return float((both["kwh"] * both["g"]).sum() / 1000.0), float(both["kwh"].sum()), len(both)


def co2_account(store, esco: EscoSettings, site: str, month: dt.date) -> Co2Account:
    """The month's CO₂ of one ``[esco.sites]`` building (hourly for electricity with ``esco.co2_intensity``)."""
    cfg = esco.sites[site]
    t0, t1 = local_midnight(month), local_midnight(add_months(month, 1))
    energy = series_key(cfg.energy, site)
    if cfg.carrier == "electricity" and esco.co2_intensity:
        kwh = energy_kwh(store, energy, t0, t1, "1h")
        g = store.aggregate(SeriesKey(*esco.co2_intensity.split("/")), t0, t1, "1h", "mean")
        g.index = pd.DatetimeIndex(g.index).tz_convert(kwh.index.tz)
        kg, counted, n = hourly_co2_kg(kwh, g)
        return Co2Account(site, cfg.carrier, "hourly", counted, kg, len(kwh), n)
    daily = energy_kwh(store, energy, t0, t1, "day")
    known = daily.dropna()
    factor = esco.co2_factor(cfg.carrier, month.year)
    if factor is None:
        return Co2Account(site, cfg.carrier, "none", float(known.sum()), math.nan, len(daily), len(known))
    return Co2Account(site, cfg.carrier, "declared", float(known.sum()), float(known.sum()) * factor.kg_per_kwh,
                      len(daily), len(known), factor.year)
