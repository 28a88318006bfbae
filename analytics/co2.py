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

from energimon import carriers
from energimon.analytics.esco.inputs import series_key
from energimon.analytics.esco.settings import EscoSettings
from energimon.calendar import local_midnight, next_month
from energimon.model import SeriesKey
from energimon.store.energy import counter_hours, daily


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
    t0, t1 = local_midnight(month), local_midnight(next_month(month))
    hours = counter_hours(store, series_key(cfg.energy, site), t0, t1).hours  # store.energy's completeness rule
    if cfg.carrier == "electricity" and esco.co2_intensity:
        kwh = hours["energy_wh"] / 1000.0
        g = store.aggregate(SeriesKey(*esco.co2_intensity.split("/")), t0, t1, "1h", "mean")
        g.index = pd.DatetimeIndex(g.index).tz_convert(pd.DatetimeIndex(kwh.index).tz)
        kg, counted, n = hourly_co2_kg(kwh, g)
        return Co2Account(site, cfg.carrier, "hourly", counted, kg, len(kwh), n)
    days = daily(hours["energy_wh"], hours["reason"])
    known = days["energy_wh"].dropna() * carriers.carrier(cfg.carrier).per_counter_unit  # kWh, or m³ of gas
    factor = esco.co2_factor(cfg.carrier, month.year)
    if factor is None:
        return Co2Account(site, cfg.carrier, "none", float(known.sum()), math.nan, len(days), len(known))
    return Co2Account(site, cfg.carrier, "declared", float(known.sum()), float(known.sum()) * factor.kg_per_unit,
                      len(days), len(known), factor.year)


def co2_accounts(store, esco: EscoSettings, sites: list[str], month: dt.date) -> list[Co2Account]:
    """:func:`co2_account` of each building, in order."""
    return [co2_account(store, esco, site, month) for site in sites]


def co2_kg(kwh: float, esco: EscoSettings, carrier: str, year: int) -> float:
    """CO2 in kg for ``kwh`` of ``carrier`` in ``year`` with the contract's declared factor (the year's, else the
    latest earlier one's; NaN without any)."""
    f = esco.co2_factor(carrier, year)
    return kwh * f.kg_per_unit if f is not None else math.nan
