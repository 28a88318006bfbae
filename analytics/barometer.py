"""The municipality's CO₂ barometer: CO₂ from its buildings' energy per year against the path to a target.

For each calendar year (Europe/Copenhagen) the buildings' consumption per carrier is the difference of
their counters at the year's edges (grid import for electricity, the heat meter for district heating, the gas
meter's m³ for natural gas; missing is not zero: a building without a counter reading near an edge leaves the
year's sum unknown for that carrier and says so in ``complete`` and ``why``).  CO₂ is

    CO₂ [t] = Σ_carriers  E_carrier [kWh] × f_carrier,year [kg/kWh] / 1000   (natural gas: V [m³] × f [kg/m³])

with the declared yearly factor of the carrier (e.g. Energinet's environmental declaration for
electricity, the district heating utility's declaration for heat, Evida's per m³ for natural gas), the year's
own or else the latest earlier one — the GHG Protocol's location-based method with yearly average factors (GHG
Protocol Scope 2 Guidance, 2015, ch. 6).  Natural gas is counted as the annual climate account counts it, by its
functions (:func:`energimon.analytics.climate_account.kwh_per_counter_unit`: m³ × the site's calorific value of
``[[carriers.gas_calorific_value]]`` → kWh; :func:`~energimon.analytics.climate_account.declared_co2`): a gas
meter without a calorific value for the year has no kWh, and without a factor no CO₂ — the year is then
incomplete and says why, never a smaller number that looks whole.

Solar production is the PV counters' difference; it is shown as produced energy,
not subtracted from CO₂ (the grid import already excludes what the buildings used of it themselves).

Which counters are a building's is :func:`energimon.store.energy.site_meters`'s to say, with the climate account's
``live`` rule (:func:`energimon.analytics.anomaly.sources.live_rule`): where a role has a meter read live (Modbus,
MQTT), its imported DataHub copy (``[[datahub.metering_points]]``, ``[sources.eloverblik]``) is not counted as well
— the same energy twice.  When the live meter's year is incomplete (no reading at an edge, a reset; hour by hour:
an unknown hour) and the copy's is not, the copy counts instead, as in the account
(:func:`energimon.analytics.climate_account.site_row`).

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.analytics.climate_account import (
    CalorificFn,
    Factor,
    FactorFn,
    Why,
    declared_co2,
    kwh_per_counter_unit,
    live_and_imported,
    site_live,
    target_path_t,
)
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.energy import hourly_energy_wh

# every energy carrier the climate account counts (water is not an energy)
BAROMETER_CARRIERS = (carriers.ELECTRICITY.key, carriers.DISTRICT_HEATING.key, carriers.NATURAL_GAS.key)
EDGE_LOOKBACK_S = 6 * 3600

Counters = tuple[tuple[SeriesKey, ...], tuple[SeriesKey, ...]]
"""A building's counters of one kind: those that count, and the imported copy counted instead when their year is
incomplete (:func:`energimon.analytics.climate_account.live_and_imported`)."""


@dataclass(frozen=True)
class YearCo2:
    year: int
    kwh: dict[str, float]  # carrier -> kWh (NaN: unknown)
    t_co2: float  # NaN when no carrier could be counted
    factors: dict[str, Factor]  # carrier -> the declared factor used (hour by hour: the year's mean per kWh)
    pv_kwh: float
    complete: bool  # every counter had readings at both year edges, and every carrier its factor (gas: calorific)
    partial_year: bool  # the running year (up to now)
    target_t: float = math.nan
    hourly_share: float = math.nan  # electricity counted hour by hour: share of the year's hours with both
    m3: dict[str, float] = field(default_factory=dict)  # a volume carrier (natural gas) -> m³ as metered
    calorific: tuple[tuple[float, str], ...] = ()  # the gas's calorific values used: (kWh/m³, source)
    why: tuple[Why, ...] = ()  # why the year is incomplete: no_reading (carrier), no_factor (carrier, year),
    # no_calorific (carrier), depends (carrier, what), hourly_share (carrier, share)
    imported_copy: tuple[tuple[str, str], ...] = ()  # (carrier or "pv", site): the live meter's year was incomplete,
    # its complete imported copy was counted


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


def _counter_at(store, key: SeriesKey, t: pd.Timestamp) -> float:
    """The counter's last reading at or before ``t`` (within ``EDGE_LOOKBACK_S``), NaN when there is none."""
    t_ms = int(t.value // 1_000_000)
    _, v = store.read_raw_ms(key, t_ms - EDGE_LOOKBACK_S * 1000, t_ms + 1)
    return float(v[-1]) if len(v) else math.nan


def counter_difference(store, keys: list[SeriesKey], a: pd.Timestamp, b: pd.Timestamp, scale: float = 1.0
                       ) -> tuple[float, bool]:
    """Σ (counter(b) − counter(a)) × ``scale`` over ``keys`` → (sum, complete).  A key without a reading near an
    edge or going down (reset, meter swap) is left out and makes the sum incomplete; no key at all: NaN."""
    total, complete, counted = 0.0, True, 0
    for k in keys:
        d = _counter_at(store, k, b) - _counter_at(store, k, a)
        if math.isfinite(d) and d >= 0:
            total += d * scale
            counted += 1
        else:
            complete = False
    return (total if counted else math.nan), complete


def counter_difference_kwh(store, keys: list[SeriesKey], a: pd.Timestamp, b: pd.Timestamp) -> tuple[float, bool]:
    """:func:`counter_difference` of Wh counters in kWh."""
    return counter_difference(store, keys, a, b, 0.001)


def year_counters(store, counters: Counters, a: pd.Timestamp, b: pd.Timestamp) -> tuple[tuple[SeriesKey, ...], bool]:
    """The counters of one building that count in ``[a, b)`` and whether they are the imported copy: the live ones,
    or — when their difference is incomplete and the copy's is not — the copy (the same meter, never both)."""
    keys, others = counters
    if others and not counter_difference(store, list(keys), a, b)[1] \
            and counter_difference(store, list(others), a, b)[1]:
        return others, True
    return keys, False


def _year_edge(year: int) -> pd.Timestamp:
    return pd.Timestamp(dt.datetime(year, 1, 1, tzinfo=LOCAL_TZ)).tz_convert("UTC")


@dataclass(frozen=True)
class HourlyElectricity:
    kg: float  # CO₂ of the hours counted
    kwh: float  # kWh counted
    share: float  # of the hours counted
    keys: dict[str, tuple[SeriesKey, ...]]  # site -> the counters counted
    imported: tuple[str, ...] = ()  # sites whose imported copy was counted


def hourly_electricity(store, by_site: Mapping[str, Counters], intensity: SeriesKey, a: pd.Timestamp,
                       b: pd.Timestamp) -> HourlyElectricity | None:
    """The grid import in ``[a, b)`` hour by hour, or None when the intensity series has no value in the period
    (then the yearly factor applies).  A building whose live meter has an unknown hour counts its imported copy
    instead when every hour of the copy is known (the climate account's rule)."""
    from energimon.analytics.co2 import hourly_co2_kg

    g = store.aggregate(intensity, a.to_pydatetime(), b.to_pydatetime(), "1h", "mean")
    if not g.notna().any():
        return None
    g.index = pd.DatetimeIndex(g.index).tz_convert("UTC")
    every_hour = pd.date_range(a, b, freq="h", inclusive="left")

    def hours_of(keys: Sequence[SeriesKey]) -> list[pd.Series]:
        # the hours and kWh the savings report's CO₂ account counts (store.energy's one completeness rule)
        out = []
        for k in keys:
            kwh = hourly_energy_wh(store, k, a.to_pydatetime(), b.to_pydatetime()) / 1000.0
            kwh.index = pd.DatetimeIndex(kwh.index).tz_convert("UTC")
            out.append(kwh)
        return out

    def complete(hours: list[pd.Series]) -> bool:
        return all(h.reindex(every_hour).notna().all() for h in hours)

    kg = counted = 0.0
    hours = shares = 0
    chosen: dict[str, tuple[SeriesKey, ...]] = {}
    imported: list[str] = []
    for site, (keys, others) in by_site.items():
        got = hours_of(keys)
        if others and not complete(got):
            alt = hours_of(others)
            if complete(alt):
                keys, got = others, alt
                imported.append(site)
        chosen[site] = keys
        for kwh in got:
            k_kg, k_kwh, n = hourly_co2_kg(kwh, g.copy())
            if n:
                kg += k_kg
                counted += k_kwh
            hours += n
            shares += len(kwh)
    return HourlyElectricity(kg, counted, hours / shares if shares else 0.0, chosen, tuple(imported))


@dataclass
class _CarrierYear:
    """One carrier's year summed over the buildings (see :func:`_carrier_year`)."""

    kwh: float = 0.0
    m3: float = 0.0
    t: float = 0.0
    counted_kwh: bool = False  # some building's kWh is in ``kwh``
    kwh_unknown: bool = False  # a building's m³ are known but not its kWh (no calorific value): the sum is unknown
    counted_m3: bool = False
    counted_t: bool = False
    factor: Factor | None = None
    calorific: list[tuple[float, str]] = field(default_factory=list)
    why: list[Why] = field(default_factory=list)


def _carrier_year(store, carrier: str, by_site: Mapping[str, Sequence[SeriesKey]], y: int, a: pd.Timestamp,
                  b: pd.Timestamp, factor: FactorFn, calorific: CalorificFn | None, co2: bool) -> _CarrierYear:
    """The year's counter differences of one carrier, building by building (a gas meter's m³ become kWh with its
    own site's calorific value), and — with ``co2`` — their CO₂ by the climate account's rule."""
    c = carriers.carrier(carrier)
    out = _CarrierYear()
    for site, ks in by_site.items():
        q, ok = counter_difference(store, list(ks), a, b)  # in the counter's unit: Wh or m³
        if not ok:
            out.why.append(Why.of("no_reading", carrier=carrier))
        if not math.isfinite(q):
            continue
        m3 = q if c.unit == "m³" else math.nan
        if c.unit == "m³":
            out.m3 += q
            out.counted_m3 = True
        per, cal, per_why = kwh_per_counter_unit(carrier, site, y, calorific)
        kwh = q * per
        if math.isfinite(kwh):
            out.kwh += kwh
            out.counted_kwh = True
        elif per_why is not None:
            out.kwh_unknown = True
            out.why.append(Why.of(per_why.code, carrier=carrier))
        if cal is not None and cal not in out.calorific:
            out.calorific.append(cal)
        if not co2:
            continue
        t, basis, co2_why = declared_co2(kwh, m3, carrier, y, factor)
        if math.isfinite(t):
            out.t += t
            out.counted_t = True
            out.factor = Factor(basis.factor_year or y, basis.kg_per_kwh, basis.source, basis.per)
        elif co2_why is not None:
            out.why.append(Why.of(co2_why.code, carrier=carrier, **{k: v for k, v in co2_why.args
                                                                    if k != "carrier"}))
    return out


def compute_barometer(store, sites: list[str], *, baseline_year: int, target_year: int, reduction_pct: float,
                      factor: FactorFn, calorific: CalorificFn | None = None,
                      baseline_t: float | None = None, baseline_source: str = "",
                      now: dt.datetime | None = None, intensity: SeriesKey | None = None,
                      live: Callable[[str, str], bool] | None = None) -> Barometer:
    """The barometer's figures for ``sites`` from ``baseline_year`` to this year (so far).

    ``factor(carrier, year)`` → the declared :class:`~energimon.analytics.climate_account.Factor` (per kWh, or per
    m³ for natural gas) or None when no factor is known; :func:`declared_factor_fn` makes it from the configuration.
    ``calorific(site, year)`` → (kWh per m³ of natural gas, source) or None (``[carriers]``'s
    :meth:`~energimon.carriers.CarrierSettings.calorific`).
    ``baseline_t``: the baseline year's CO₂ from the climate plan; else computed from the stored data.
    ``intensity``: the hourly CO₂ intensity series (g/kWh) for electricity hour by hour, where it has data.
    ``live(site, device)``: whether a device is read live (:func:`energimon.analytics.anomaly.sources.live_rule`,
    the climate account's ``AccountSettings.live``); None counts every device of a role.
    """
    now_ts = pd.Timestamp(now or dt.datetime.now(tz=dt.UTC)).tz_convert("UTC")
    this_year = now_ts.tz_convert(LOCAL_TZ).year
    series = store.series()
    keys: dict[str, dict[str, Counters]] = {
        c: {s: pair for s in sites if (pair := live_and_imported(series, s, c, site_live(live, s)))[0]}
        for c in BAROMETER_CARRIERS}
    pv_sites = {s: pair for s in sites
                if (pair := live_and_imported(series, s, carriers.ELECTRICITY.key, site_live(live, s), pv=True))[0]}
    years: list[YearCo2] = []
    for y in range(min(baseline_year, this_year), this_year + 1):
        a, b = _year_edge(y), min(_year_edge(y + 1), now_ts)
        kwh: dict[str, float] = {}
        m3: dict[str, float] = {}
        factors: dict[str, Factor] = {}
        why: list[Why] = []
        cals: list[tuple[float, str]] = []
        t = 0.0
        counted = False
        share = math.nan
        imported: list[tuple[str, str]] = []
        for carrier, by_site in keys.items():
            if not by_site:
                continue
            hourly = hourly_electricity(store, by_site, intensity, a, b) \
                if carrier == carriers.ELECTRICITY.key and intensity else None
            if hourly is not None:
                chosen, copies = hourly.keys, list(hourly.imported)
            else:
                picked = {s: year_counters(store, pair, a, b) for s, pair in by_site.items()}
                chosen = {s: ks for s, (ks, _) in picked.items()}
                copies = [s for s, (_, copy) in picked.items() if copy]
            imported += [(carrier, s) for s in copies]
            cy = _carrier_year(store, carrier, chosen, y, a, b, factor, calorific, co2=hourly is None)
            e = cy.kwh if cy.counted_kwh and not cy.kwh_unknown else math.nan
            kwh[carrier] = e
            if carriers.carrier(carrier).unit == "m³":
                m3[carrier] = cy.m3 if cy.counted_m3 else math.nan
            why += cy.why
            cals += [c for c in cy.calorific if c not in cals]
            if hourly is not None:
                kg, share = hourly.kg, hourly.share
                factors[carrier] = Factor(y, kg / e if e and math.isfinite(e) and e > 0 else math.nan,
                                          f"timevis CO₂-intensitet (Energinet), {share:.0%} af timerne")
                t += kg / 1000.0
                counted = True
                if share < 0.999:
                    why.append(Why.of("hourly_share", carrier=carrier, share=share))
                continue
            if cy.counted_t:
                t += cy.t
                counted = True
            if cy.factor is not None:
                factors[carrier] = cy.factor
        pv_picked = {s: year_counters(store, pair, a, b) for s, pair in pv_sites.items()}
        pv_keys = [k for ks, _ in pv_picked.values() for k in ks]
        imported += [("pv", s) for s, (_, copy) in pv_picked.items() if copy]
        pv, pv_ok = counter_difference_kwh(store, pv_keys, a, b) if pv_keys else (math.nan, True)
        if not pv_ok:
            why.append(Why.of("no_reading", carrier="pv"))
        unique = tuple(dict.fromkeys(why))
        years.append(YearCo2(y, kwh, t if counted else math.nan, factors, pv, not unique, y == this_year,
                             hourly_share=share, m3=m3, calorific=tuple(cals), why=unique,
                             imported_copy=tuple(imported)))
    base = baseline_t
    source = baseline_source
    if base is None:
        first = next((yc for yc in years if yc.year == baseline_year), None)
        base = first.t_co2 if first is not None and first.complete and not first.partial_year else math.nan
        source = "beregnet af energimon ud fra bygningernes målere" if math.isfinite(base) else ""
    years = [replace(yc, target_t=target_path_t(base, baseline_year, target_year, reduction_pct, yc.year))
             for yc in years]
    day0 = pd.Timestamp(now_ts.tz_convert(LOCAL_TZ).normalize()).tz_convert("UTC")
    # today: the live PV counters (an imported copy lags by a day)
    live_pv = [k for ks, _ in pv_sites.values() for k in ks]
    pv_today = counter_difference_kwh(store, live_pv, day0, now_ts)[0] if live_pv else math.nan
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


def declared_factor_fn(barometer, esco) -> FactorFn:
    """:func:`declared_factor` as the barometer and the climate account ask for it: a
    :class:`~energimon.analytics.climate_account.Factor` in the carrier's unit (natural gas per m³, ``kg_per_m3``;
    the others per kWh)."""

    def factor(carrier: str, year: int) -> Factor | None:
        f = declared_factor(carrier, year, barometer, esco)
        return None if f is None else Factor(f.year, float(f.kg_per_unit), f.source, f.unit)

    return factor


def households(kwh: float, household_kwh_per_year: float) -> float:
    """How many households' yearly electricity ``kwh`` is (``kwh / household_kwh_per_year``)."""
    if not math.isfinite(kwh) or household_kwh_per_year <= 0:
        return math.nan
    return float(np.floor(kwh / household_kwh_per_year * 10) / 10)
