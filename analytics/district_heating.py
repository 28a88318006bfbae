"""District-heating KPIs: the volume-weighted cooling (afkøling) per day and month, and the heat signature.

Small pure functions over hourly data (units in the names), plus :func:`heat_hours` and
:func:`month_heat`, which read the store — through :mod:`energimon.store.energy` only, so a heat meter's
volume hours are known, unknown, reset or in a gap by the same rule as every energy counter
(docs/ARCHITECTURE.md, "One owner per concept").

**Cooling (afkøling).**  Danish district-heating utilities bill a building's cooling of the water: the
difference between the supply (fremløb) and return (retur) temperature, weighted by the volume that
passed.  HOFOR computes the year's figure as ``MWh / m³ × 860`` ("Hvad er afkøling?",
https://www.hofor.dk/erhverv/fjernvarme/spoergsmaal-svar-fjernvarme-erhverv/hvad-er-afkoeling/, afkølingskrav
29 °C for 2024) — since a heat meter integrates ``E = Σ ρc · V_h · ΔT_h``, that is exactly the volume-weighted
mean temperature difference; AffaldVarme Aarhus asks for a mean cooling of at least 30 °C and bills an
afkølingsbidrag below it (https://affaldvarme.aarhus.dk/varme/fjernvarme-hos-dig/afkoeling/).  Here, per
hour ``h`` with known volume ``V_h`` (m³, the meter's ``volume_m3`` counter) and hourly mean supply and
return temperatures::

    ΔT_vw = Σ_h V_h · (T_supply,h − T_return,h) / Σ_h V_h          [K]

An hour without a known volume (a gap, a reset, no data) or without both temperatures is left out of both
sums — never counted as zero volume — and the day says how many of its hours it used.  A day is judged only
when at least :data:`MIN_HOURS_SHARE` of its hours are usable and enough water passed
(``min_volume_m3``): a building that hardly draws heat (summer, a closed valve) cannot cool badly.

**Heat signature (energisignatur).**  The daily mean heat power (kW = the day's kWh / its hours) against
the day's mean outdoor temperature; a least-squares line ``P = a + b·T`` over the heating days (mean
outdoor temperature below ``heating_below_c``).  ``slope_kw_per_k = −b`` is the building's heat loss
(kW more per K colder); the heating limit (varmegrænse, balance point) is where the line meets the
weather-independent base (hot water, losses: the median power of days at or above ``base_from_c``, the
Danish degree-day base 17 °C), or zero power when there are no such days; R² says how well the line fits.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from energimon.calendar import day_hours, local_day_of, local_midnight, next_month
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store import energy

DEFAULT_REQUIRED_COOLING_K = 30.0
"""AffaldVarme Aarhus's requirement (mean cooling at least 30 °C); HOFOR's for 2024 is 29 °C.  A site's own
utility's figure is configured in ``[alerts.rules.bad_cooling]`` / ``[alerts.sites.<id>]``."""
MIN_HOURS_SHARE = 0.75
"""A day's cooling needs volume and both temperatures for at least this share of its hours."""
DEFAULT_MIN_VOLUME_M3_PER_DAY = 0.5
HEATING_BELOW_C = 15.0
"""Days with a mean outdoor temperature below this are heating days for the signature's line."""
BASE_FROM_C = 17.0
"""Days at or above the Danish degree-day base (17 °C) show the weather-independent base load."""
MIN_SIGNATURE_DAYS = 10


# -- cooling -----------------------------------------------------------------------------------------
def volume_weighted_cooling_k(volume_m3: pd.Series | np.ndarray, supply_temp_c: pd.Series | np.ndarray,
                              return_temp_c: pd.Series | np.ndarray) -> float:
    """``Σ V·(T_supply − T_return) / Σ V`` over the hours where all three are known (NaN: no volume)."""
    v = np.asarray(volume_m3, dtype=float)
    d = np.asarray(supply_temp_c, dtype=float) - np.asarray(return_temp_c, dtype=float)
    ok = np.isfinite(v) & np.isfinite(d)
    total = float(v[ok].sum())
    if total <= 0:
        return math.nan
    return float((v[ok] * d[ok]).sum() / total)


def cooling_by_day(hourly: pd.DataFrame, min_volume_m3: float = DEFAULT_MIN_VOLUME_M3_PER_DAY,
                   min_hours_share: float = MIN_HOURS_SHARE) -> pd.DataFrame:
    """Per local day (index: the date) from hourly ``volume_m3``, ``supply_temp_c``, ``return_temp_c`` (index:
    local hour starts; NaN where unknown):

    ``hours`` (23/24/25), ``hours_used`` (volume and both temperatures known), ``volume_m3`` (the used hours'
    volume), ``volume_known`` (every hour's volume known: the day's m³ is then the whole day's),
    ``delta_t_vw_k`` (NaN when fewer than ``min_hours_share`` of the hours are usable or less than
    ``min_volume_m3`` passed in them: too little to judge)."""
    cols = ["hours", "hours_used", "volume_m3", "volume_known", "delta_t_vw_k"]
    if hourly.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="date"))
    v = hourly["volume_m3"].astype(float)
    d = hourly["supply_temp_c"].astype(float) - hourly["return_temp_c"].astype(float)
    used = v.notna() & d.notna()
    key = local_day_of(pd.DatetimeIndex(hourly.index))
    frame = pd.DataFrame({"v": v.where(used, 0.0).to_numpy(), "vd": (v * d).where(used, 0.0).to_numpy(),
                          "used": used.to_numpy(), "vknown": v.notna().to_numpy()}, index=key)
    g = frame.groupby(level=0)
    days = pd.DatetimeIndex(g.size().index)
    out = pd.DataFrame({"hours": day_hours(days), "hours_used": g["used"].sum().to_numpy().astype(int),
                        "volume_m3": g["v"].sum().to_numpy(), "vknown": g["vknown"].sum().to_numpy()},
                       index=pd.Index([ts.date() for ts in days], name="date"))
    vd = g["vd"].sum().to_numpy()
    out["volume_known"] = out.pop("vknown").to_numpy() == out["hours"].to_numpy()
    judged = (out["hours_used"] >= min_hours_share * out["hours"]) & (out["volume_m3"] >= min_volume_m3) \
        & (out["volume_m3"] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["delta_t_vw_k"] = np.where(judged, vd / out["volume_m3"].to_numpy(), np.nan)
    return out[cols]


def days_below_requirement(daily: pd.DataFrame, required_k: float) -> int:
    """Judged days whose ΔT_vw is below ``required_k``."""
    return int((daily["delta_t_vw_k"].dropna() < required_k).sum())


def bad_cooling_run(daily: pd.DataFrame, last_day: dt.date, required_k: float) -> list[dt.date]:
    """The consecutive judged days below ``required_k`` ending with ``last_day`` (empty when ``last_day`` is not
    one).  A day too little to judge ends the run: nothing is known about it."""
    run: list[dt.date] = []
    day = last_day
    while True:
        v = daily["delta_t_vw_k"].get(day, math.nan) if day in daily.index else math.nan
        if not (isinstance(v, float | np.floating) and math.isfinite(v) and v < required_k):
            return run[::-1]
        run.append(day)
        day -= dt.timedelta(days=1)


# -- heat signature ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeatSignature:
    """``P = intercept_kw − slope_kw_per_k · T`` on heating days; the heating limit where it meets the base."""

    slope_kw_per_k: float
    intercept_kw: float  # the line's power at 0 °C
    base_kw: float  # weather-independent power (median of days ≥ base_from_c; 0 without such days)
    heating_limit_c: float
    r2: float
    days: int  # heating days in the fit
    base_days: int = 0  # days the base was taken from (0: none that warm, the limit is where the line reaches 0 kW)

    def power_kw(self, temp_c: float | np.ndarray) -> float | np.ndarray:
        return self.intercept_kw - self.slope_kw_per_k * np.asarray(temp_c, dtype=float)


def heat_signature(daily_kw: pd.Series, daily_temp_c: pd.Series, heating_below_c: float = HEATING_BELOW_C,
                   base_from_c: float = BASE_FROM_C, min_days: int = MIN_SIGNATURE_DAYS) -> HeatSignature | None:
    """The least-squares heat signature of days where both the mean power and temperature are known (aligned on
    their index); None with fewer than ``min_days`` heating days or no temperature spread."""
    both = pd.DataFrame({"kw": daily_kw, "t": daily_temp_c}).dropna()
    heating = both[both["t"] < heating_below_c]
    if len(heating) < min_days or float(heating["t"].std()) < 1e-6:
        return None
    t, p = heating["t"].to_numpy(), heating["kw"].to_numpy()
    b, a = np.polyfit(t, p, 1)
    fitted = a + b * t
    ss_res = float(((p - fitted) ** 2).sum())
    ss_tot = float(((p - p.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    warm = both[both["t"] >= base_from_c]["kw"]
    base = float(warm.median()) if len(warm) >= 3 else 0.0
    limit = (base - a) / b if b < 0 else math.nan
    return HeatSignature(float(-b), float(a), base, float(limit), r2, len(heating), len(warm) if len(warm) >= 3 else 0)


# -- reading the store ---------------------------------------------------------------------------------
Aggregate = Callable[[SeriesKey, dt.datetime, dt.datetime, str, str], pd.Series]


def hourly_mean(store, key: SeriesKey, start: dt.datetime, end: dt.datetime,
                index: pd.DatetimeIndex) -> pd.Series:
    """The store's hourly mean of an instantaneous channel (temperatures) on ``index``."""
    s = store.aggregate(key, start, end, "1h", "mean")
    s.index = pd.DatetimeIndex(s.index).tz_convert(LOCAL_TZ)
    return s.reindex(index).astype(float)


def heat_hours(store, site: str, device: str, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """One heat meter's hours over ``[start, end)``: ``heat_kwh`` and ``volume_m3`` by store.energy's
    completeness rule (NaN where unknown), ``supply_temp_c`` and ``return_temp_c`` hourly means."""
    index = pd.DatetimeIndex(pd.date_range(pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC"),
                                           freq="h", inclusive="left").tz_convert(LOCAL_TZ))
    kwh = energy.counter_hours(store, SeriesKey(site, device, "heat_energy_wh"), start, end).energy_wh / 1000.0
    vol = energy.counter_hours(store, SeriesKey(site, device, "volume_m3"), start, end).energy_wh  # m³ per hour
    return pd.DataFrame({"heat_kwh": kwh.reindex(index).to_numpy(), "volume_m3": vol.reindex(index).to_numpy(),
                         "supply_temp_c": hourly_mean(store, SeriesKey(site, device, "supply_temp_c"), start, end,
                                                      index).to_numpy(),
                         "return_temp_c": hourly_mean(store, SeriesKey(site, device, "return_temp_c"), start, end,
                                                      index).to_numpy()}, index=index)


def outdoor_temperature_key(series: pd.DataFrame, site: str, configured: str | None = None) -> SeriesKey | None:
    """The outdoor temperature for a site's heat signature: ``configured`` ("site/device/channel"), else the
    site's own ``outdoor_temp_c`` series (the first device by id), else any in the portfolio (the sites of a
    municipality share the weather), else None."""
    if configured:
        return SeriesKey(*configured.split("/"))
    rows = series[series["channel"] == "outdoor_temp_c"]
    if rows.empty:
        return None
    own = rows[rows["site"] == site]
    pick = (own if not own.empty else rows).sort_values(["site", "device"]).iloc[0]
    return SeriesKey(str(pick["site"]), str(pick["device"]), "outdoor_temp_c")


def daily_power_kw(hours: pd.DataFrame) -> pd.Series:
    """Daily mean heat power (kW) of known days (every hour's heat known: :func:`energimon.store.energy.daily`),
    indexed by date."""
    days = energy.daily(hours["heat_kwh"] * 1000.0)
    kw = days["energy_wh"] / 1000.0 / days["hours"]
    return pd.Series(kw.to_numpy(), index=pd.Index([ts.date() for ts in days.index], name="date"))


def daily_temperature_c(store, key: SeriesKey, start: dt.datetime, end: dt.datetime) -> pd.Series:
    from energimon.analytics.degree_days import daily_mean_temperature_c

    t = daily_mean_temperature_c(store, key, start, end)
    return pd.Series(t.to_numpy(), index=pd.Index([ts.date() for ts in t.index], name="date"))


@dataclass(frozen=True)
class HeatMonth:
    """One heat meter's month (the days before the report's cutoff)."""

    site: str
    device: str
    heat_kwh: float  # the known days' heat
    days: int  # days in the period
    days_known: int  # days whose every hour's heat is known
    delta_t_vw_k: float  # the month's volume-weighted cooling (all usable hours)
    volume_m3: float  # the usable hours' volume
    required_k: float
    days_judged: int
    days_below: int
    daily: pd.DataFrame  # cooling_by_day of the period
    signature: HeatSignature | None
    signature_points: pd.DataFrame  # kw, temp_c per day of the fit window, month (bool: in the reported month)


def month_heat(store, series: pd.DataFrame, site: str, device: str, month: dt.date, cutoff: dt.date,
               required_k: float = DEFAULT_REQUIRED_COOLING_K,
               min_volume_m3: float = DEFAULT_MIN_VOLUME_M3_PER_DAY, temperature: str | None = None,
               signature_days: int = 365) -> HeatMonth:
    """Heat, cooling and heat signature of one heat meter for ``month`` up to ``cutoff`` (exclusive); the
    signature is fitted on the ``signature_days`` days ending with the cutoff (a winter month alone spans too
    few temperatures)."""
    t0, t1 = local_midnight(month), local_midnight(min(next_month(month), cutoff))
    hours = heat_hours(store, site, device, t0, t1)
    days = energy.daily(hours["heat_kwh"] * 1000.0)
    known = days["energy_wh"].dropna()
    daily = cooling_by_day(hours, min_volume_m3)
    usable = hours[["volume_m3", "supply_temp_c", "return_temp_c"]].dropna()
    s0 = local_midnight(cutoff - dt.timedelta(days=signature_days))
    sig_hours = heat_hours(store, site, device, s0, t1) if signature_days else hours
    kw = daily_power_kw(sig_hours)
    key = outdoor_temperature_key(series, site, temperature)
    temp = daily_temperature_c(store, key, s0, t1) if key is not None else pd.Series(dtype=float)
    points = pd.DataFrame({"kw": kw, "temp_c": temp.reindex(kw.index)}).dropna()
    points["month"] = [d >= month for d in points.index]
    sig = heat_signature(points["kw"], points["temp_c"]) if not points.empty else None
    return HeatMonth(site, device, float(known.sum() / 1000.0), len(days), len(known),
                     volume_weighted_cooling_k(usable["volume_m3"], usable["supply_temp_c"], usable["return_temp_c"]),
                     float(usable["volume_m3"].sum()), required_k, int(daily["delta_t_vw_k"].notna().sum()),
                     days_below_requirement(daily, required_k), daily, sig, points)
