"""The municipality's CO₂ barometer: CO₂ from its buildings' energy per year against the path to a target.

For each calendar year (Europe/Copenhagen) the buildings' consumption per carrier is the difference of
their energy counters at the year's edges (grid import for electricity, the heat meter for district
heating; missing is not zero: a building without a counter reading near an edge leaves the year's sum
unknown for that carrier and says so in ``complete``).  CO₂ is

    CO₂ [t] = Σ_carriers  E_carrier [kWh] × f_carrier,year [kg/kWh] / 1000

with the declared yearly factor of the carrier (e.g. Energinet's environmental declaration for
electricity, the district heating utility's declaration for heat), the year's own or else the latest
earlier one — the GHG Protocol's location-based method with yearly average factors (GHG Protocol Scope 2
Guidance, 2015, ch. 6).  Solar production is the PV counters' difference; it is shown as produced energy,
not subtracted from CO₂ (the grid import already excludes what the buildings used of it themselves).

Electricity can instead be counted **hour by hour** with the CO₂ intensity of the grid (Energi Data
Service ``CO2Emis``, stored by ``[sources.energidataservice]``): ``Σ_h E_h × I_h / 1000`` with the hourly
energy from the store's counters and :func:`energimon.analytics.co2.hourly_co2_kg` — the same account as the
savings report's.  A year for which the intensity series has data is counted that way (hours where either
is unknown are left out and the year is incomplete); a year before it uses the declared yearly factor.

The target path is a straight line from the baseline year's CO₂ to ``(1 − reduction) ×`` that in the target
year (e.g. −70 % in 2030): ``path(y) = B · (1 − r · (y − y0) / (y1 − y0))``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.energy import hourly_energy_wh

# the carriers whose counters are energy in Wh; natural gas (m³ through its calorific value) is not counted here yet
CARRIER_COUNTERS = {c.key: (c.role.value, c.channel) for c in (carriers.ELECTRICITY, carriers.DISTRICT_HEATING)}
PV_COUNTER = ("pv", "pv_energy_wh")
EDGE_LOOKBACK_S = 6 * 3600


@dataclass(frozen=True)
class YearCo2:
    year: int
    kwh: dict[str, float]  # carrier -> kWh (NaN: unknown)
    t_co2: float  # NaN when no carrier could be counted
    factors: dict[str, tuple[int, float, str]]  # carrier -> (factor year, kg/kWh, source)
    pv_kwh: float
    complete: bool  # every building's every counter had readings at both year edges
    partial_year: bool  # the running year (up to now)
    target_t: float = math.nan
    hourly_share: float = math.nan  # electricity counted hour by hour: share of the year's hours with both


@dataclass(frozen=True)
class Barometer:
    years: list[YearCo2]
    baseline_year: int
    baseline_t: float
    baseline_source: str
    target_year: int
    target_reduction_pct: float
    pv_today_kwh: float
    pv_year_kwh: float
    computed_at: dt.datetime
    sites: list[str] = field(default_factory=list)

    @property
    def target_t(self) -> float:
        return self.baseline_t * (1 - self.target_reduction_pct / 100.0)


def target_path_t(baseline_t: float, baseline_year: int, target_year: int, reduction_pct: float,
                  year: int) -> float:
    """The straight-line path from the baseline to the target: ``B · (1 − r · (y − y0) / (y1 − y0))``."""
    if not math.isfinite(baseline_t) or year < baseline_year:
        return math.nan
    share = min(1.0, (year - baseline_year) / (target_year - baseline_year))
    return baseline_t * (1.0 - reduction_pct / 100.0 * share)


def _counter_at(store, key: SeriesKey, t: pd.Timestamp) -> float:
    """The counter's last reading at or before ``t`` (within ``EDGE_LOOKBACK_S``), NaN when there is none."""
    t_ms = int(t.value // 1_000_000)
    _, v = store.read_raw_ms(key, t_ms - EDGE_LOOKBACK_S * 1000, t_ms + 1)
    return float(v[-1]) if len(v) else math.nan


def counter_difference_kwh(store, keys: list[SeriesKey], a: pd.Timestamp, b: pd.Timestamp) -> tuple[float, bool]:
    """Σ (counter(b) − counter(a)) / 1000 over ``keys`` → (kWh, complete).  A key without a reading near an edge
    or going down (reset, meter swap) is left out and makes the sum incomplete; no key at all: NaN."""
    total, complete, counted = 0.0, True, 0
    for k in keys:
        d = _counter_at(store, k, b) - _counter_at(store, k, a)
        if math.isfinite(d) and d >= 0:
            total += d / 1000.0
            counted += 1
        else:
            complete = False
    return (total if counted else math.nan), complete


def site_keys(series: pd.DataFrame, sites: list[str], role: str, channel: str) -> list[SeriesKey]:
    rows = series[series["site"].isin(sites) & (series["role"] == role) & (series["channel"] == channel)]
    return [SeriesKey(str(r.site), str(r.device), str(r.channel)) for r in rows.itertuples()]


def _year_edge(year: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(year, 1, 1, tzinfo=LOCAL_TZ)).tz_convert("UTC")


def hourly_electricity(store, keys: list[SeriesKey], intensity: SeriesKey, a: pd.Timestamp, b: pd.Timestamp
                       ) -> tuple[float, float, float] | None:
    """(kg CO₂, kWh counted, share of hours counted) of the grid import in ``[a, b)`` hour by hour, or None when
    the intensity series has no value in the period (then the yearly factor applies)."""
    from energimon.analytics.co2 import hourly_co2_kg

    g = store.aggregate(intensity, a.to_pydatetime(), b.to_pydatetime(), "1h", "mean")
    if not g.notna().any():
        return None
    kg = counted = 0.0
    hours = shares = 0
    for k in keys:
        # the hours and kWh the savings report's CO₂ account counts (store.energy's one completeness rule)
        kwh = hourly_energy_wh(store, k, a.to_pydatetime(), b.to_pydatetime()) / 1000.0
        kwh.index = pd.DatetimeIndex(kwh.index).tz_convert("UTC")
        gk = g.copy()
        gk.index = pd.DatetimeIndex(gk.index).tz_convert("UTC")
        k_kg, k_kwh, n = hourly_co2_kg(kwh, gk)
        if n:
            kg += k_kg
            counted += k_kwh
        hours += n
        shares += len(kwh)
    return kg, counted, (hours / shares if shares else 0.0)


def compute_barometer(store, sites: list[str], *, baseline_year: int, target_year: int, reduction_pct: float,
                      factor: Callable[[str, int], tuple[int, float, str] | None],
                      baseline_t: float | None = None, baseline_source: str = "",
                      now: dt.datetime | None = None, intensity: SeriesKey | None = None) -> Barometer:
    """The barometer's figures for ``sites`` from ``baseline_year`` to this year (so far).

    ``factor(carrier, year)`` → (factor year, kg CO₂/kWh, source) or None when no factor is known.
    ``baseline_t``: the baseline year's CO₂ from the climate plan; else computed from the stored data.
    ``intensity``: the hourly CO₂ intensity series (g/kWh) for electricity hour by hour, where it has data.
    """
    now_ts = pd.Timestamp(now or dt.datetime.now(tz=dt.UTC)).tz_convert("UTC")
    this_year = now_ts.tz_convert(LOCAL_TZ).year
    series = store.series()
    keys = {c: site_keys(series, sites, role, ch) for c, (role, ch) in CARRIER_COUNTERS.items()}
    pv_keys = site_keys(series, sites, *PV_COUNTER)
    years: list[YearCo2] = []
    for y in range(min(baseline_year, this_year), this_year + 1):
        a, b = _year_edge(y), min(_year_edge(y + 1), now_ts)
        kwh, factors, complete = {}, {}, True
        t = 0.0
        counted = False
        share = math.nan
        for carrier, ks in keys.items():
            if not ks:
                continue
            e, ok = counter_difference_kwh(store, ks, a, b)
            kwh[carrier] = e
            complete &= ok
            hourly = hourly_electricity(store, ks, intensity, a, b) if carrier == "electricity" and intensity \
                else None
            if hourly is not None:
                kg, _, share = hourly
                factors[carrier] = (y, kg / e if e and math.isfinite(e) and e > 0 else math.nan,
                                    f"timevis CO₂-intensitet (Energinet), {share:.0%} af timerne")
                t += kg / 1000.0
                counted = True
                complete &= share >= 0.999
                continue
            f = factor(carrier, y)
            if f is not None and math.isfinite(e):
                factors[carrier] = f
                t += e * f[1] / 1000.0
                counted = True
            else:
                complete = False
        pv, pv_ok = counter_difference_kwh(store, pv_keys, a, b) if pv_keys else (math.nan, True)
        years.append(YearCo2(y, kwh, t if counted else math.nan, factors, pv, complete and pv_ok, y == this_year,
                             hourly_share=share))
    base = baseline_t
    source = baseline_source
    if base is None:
        first = next((yc for yc in years if yc.year == baseline_year), None)
        base = first.t_co2 if first is not None and first.complete and not first.partial_year else math.nan
        source = "beregnet af energimon ud fra bygningernes målere" if math.isfinite(base) else ""
    years = [YearCo2(yc.year, yc.kwh, yc.t_co2, yc.factors, yc.pv_kwh, yc.complete, yc.partial_year,
                     target_path_t(base, baseline_year, target_year, reduction_pct, yc.year), yc.hourly_share)
             for yc in years]
    day0 = pd.Timestamp(now_ts.tz_convert(LOCAL_TZ).normalize()).tz_convert("UTC")
    pv_today = counter_difference_kwh(store, pv_keys, day0, now_ts)[0] if pv_keys \
        else math.nan
    pv_year = years[-1].pv_kwh if years else math.nan
    return Barometer(years, baseline_year, float(base), source, target_year, reduction_pct,
                     pv_today, pv_year, now_ts.to_pydatetime(), list(sites))


def declared_factor(carrier: str, year: int, barometer, esco):
    """A carrier's declared CO₂ factor for ``year`` by the barometer's rule: the barometer's own ``co2`` factors of
    that carrier when it lists any, else the ``[esco]`` ones (a barometer listing only electricity still counts
    district heating with the contract's declared factor).  ``None``: neither has one for the year or before."""
    if barometer is not None and any(c.carrier == carrier for c in barometer.co2):
        return barometer.co2_factor(carrier, year)
    return esco.co2_factor(carrier, year) if esco is not None else None


def households(kwh: float, household_kwh_per_year: float) -> float:
    """How many households' yearly electricity ``kwh`` is (``kwh / household_kwh_per_year``)."""
    if not math.isfinite(kwh) or household_kwh_per_year <= 0:
        return math.nan
    return float(np.floor(kwh / household_kwh_per_year * 10) / 10)
