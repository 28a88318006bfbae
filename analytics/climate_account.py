"""The annual climate and energy account (årligt klima- og energiregnskab) per building and for the municipality.

For a calendar year (Europe/Copenhagen) and each carrier of :data:`energimon.carriers.CARRIERS` that a building
has counters for, the account gives:

* **what was metered**, in the carrier's unit (kWh, or m³ for natural gas and water): the sum of the year's
  hours from :func:`energimon.store.energy.counter_hours` — the one rule for when an hour's energy is known
  (docs/ARCHITECTURE.md, "One owner per concept").  A year with an unknown hour has no total: the row says how
  many hours are unknown and why (missing is not zero), and so does every figure made from it;
* **kWh**: electricity and district heating as metered; natural gas ``m³ × calorific value [kWh/m³]`` when a
  calorific value for the site and year is known, else "–" with that reason (never a guessed value); water has
  no energy;
* **kWh/m²** on the building's configured ``floor_area_m2`` (``[sites.<id>]``);
* **CO₂ in tonnes, location-based** (GHG Protocol Scope 2 Guidance, 2015, ch. 6): electricity hour by hour
  ``Σ_h E_h × I_h`` with the price area's CO₂ intensity where the store has it
  (:func:`energimon.analytics.co2.hourly_co2_kg`, the savings report's and the barometer's account), else — and
  for the other carriers — ``E × f`` with the declared factor of the year (the year's, else the latest earlier
  one: :mod:`energimon.analytics.barometer`'s rule); each row says which;
* **heat normalised to the normal year** (graddagekorrektion, :func:`energimon.analytics.degree_days.graddagekorrektion`
  with the weather-independent share ``f``, by default 0): ``Q_norm = Q × ((1 − f) × G_normal / G_actual + f)``
  with Danish degree days (base 17 °C, DTI practice) from the outdoor temperature series and the configured
  normal year (e.g. DTI normalår, 2906 graddage);
* the comparison with the **baseline year** (the same account of that year) and the municipality's CO₂ against
  the **target path** of :func:`target_path_t` (the web barometer's baseline, target year and reduction; the
  barometer draws the same path).

A year that is not over is *preliminary*: it counts its whole months up to the current one (January to the
last month that is over), with the normal year's degree days of those months; it is not compared with the
baseline year's whole year (the comparison waits until the year is over).

Everything here returns numbers and reason codes; :mod:`energimon.analytics.report.climate_account` turns
them into Danish or English pages and cells.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.analytics.co2 import hourly_co2_kg
from energimon.analytics.degree_days import (
    NormalYear,
    daily_mean_temperature_c,
    graddagekorrektion,
    heating_degree_days_c,
)
from energimon.calendar import local_midnight
from energimon.calendar import today as local_today
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.energy import KNOWN, SiteMeters, counter_hours, site_meters


@dataclass(frozen=True)
class Factor:
    """A declared CO₂ factor: ``kg`` CO₂ per ``per`` (kWh, or m³ of natural gas as Evida/Energinet publish it)."""

    year: int
    kg: float
    source: str
    per: str = "kWh"


FactorFn = Callable[[str, int], "Factor | None"]
"""``factor(carrier, year)`` → the factor of the year (else the latest earlier one), or None."""
CalorificFn = Callable[[str, int], "tuple[float, str] | None"]
"""``calorific(site, year)`` → (kWh per m³ of natural gas, source) or None when no calorific value is known."""

HEAT_CARRIERS = (carriers.DISTRICT_HEATING.key, carriers.NATURAL_GAS.key)
"""The carriers used for space heating, normalised to the normal year's degree days."""

# how a row's CO₂ was counted
HOURLY, DECLARED, MIXED, NO_CO2 = "hourly", "declared", "mixed", "none"


@dataclass(frozen=True)
class Why:
    """Why a figure is "–": a code and its parameters (the report says it in the reader's language).

    Codes: ``unknown_hours`` (unknown, hours, reason, first, last), ``no_meter``, ``no_calorific``,
    ``no_factor``, ``no_floor_area``, ``no_temperature`` (days), ``no_temperature_series``, ``no_normal_year``,
    ``no_degree_days``,
    ``not_energy`` (water), ``depends`` (what: the figure it is made from), ``sites`` (names: the buildings
    whose figure is unknown), ``preliminary`` (the year is not over), ``no_baseline`` (year), ``zero_baseline``.
    """

    code: str
    args: tuple[tuple[str, object], ...] = ()

    @classmethod
    def of(cls, code: str, **args: object) -> Why:
        return cls(code, tuple(args.items()))

    @property
    def kw(self) -> dict[str, object]:
        return dict(self.args)


@dataclass(frozen=True)
class Co2Basis:
    method: str  # HOURLY | DECLARED | MIXED | NO_CO2
    factor_year: int | None = None
    kg_per_kwh: float = math.nan  # the declared factor used (DECLARED, MIXED), or the hourly mean
    source: str = ""
    hourly_share: float = math.nan  # of the kWh counted hour by hour (HOURLY: 1, MIXED: 0..1)
    per: str = "kWh"  # the factor's unit: kg CO₂ per kWh or per m³


@dataclass(frozen=True)
class Row:
    """One carrier of one building (``site`` set) or of the municipality (``site`` None) in one year."""

    site: str | None
    carrier: str
    year: int
    meters: int
    quantity: float  # in the carrier's unit (kWh or m³); NaN: unknown
    kwh: float  # NaN: unknown (or water: not an energy)
    kwh_per_m2: float
    t_co2: float
    co2: Co2Basis
    kwh_normalised: float  # heat carriers only
    hours: int
    hours_known: int
    floor_area_m2: float | None = None
    calorific: tuple[float, str] | None = None  # natural gas: (kWh/m³, source)
    why: dict[str, Why] = field(default_factory=dict)  # figure (a field's name: "quantity", "kwh", "kwh_per_m2",
    # "t_co2", "kwh_normalised") -> why it is "–"
    devices: tuple[str, ...] = ()  # the counters' devices
    imported_copy: bool = False  # the live meter's year was incomplete: its complete imported copy was counted

    @property
    def complete(self) -> bool:
        return self.hours > 0 and self.hours_known == self.hours

    @property
    def unit(self) -> str:
        return carriers.carrier(self.carrier).unit


@dataclass(frozen=True)
class DegreeDays:
    actual: float  # NaN when a day lacks its mean temperature
    normal: float  # the normal year's degree days of the same months; NaN without a normal year
    days: int
    days_missing: int
    temperature: SeriesKey | None
    normal_source: str = ""


@dataclass(frozen=True)
class Comparison:
    """A figure of the year against the same figure of the baseline year."""

    value: float
    baseline: float
    why: Why | None = None  # why the change is "–"

    @property
    def change(self) -> float:
        """(value − baseline) / baseline; NaN when either is unknown."""
        if self.why is not None or not (math.isfinite(self.value) and math.isfinite(self.baseline)) \
                or self.baseline == 0:
            return math.nan
        return (self.value - self.baseline) / self.baseline


@dataclass(frozen=True)
class Target:
    baseline_year: int
    baseline_t: float  # the municipality's CO₂ in the baseline year (NaN: unknown)
    baseline_source: str  # "configured: <source>" or "computed"
    target_year: int
    reduction_pct: float
    path_t: float  # the straight-line path's value in the account's year

    @property
    def target_t(self) -> float:
        return self.baseline_t * (1 - self.reduction_pct / 100.0)


@dataclass(frozen=True)
class Account:
    year: int
    start: dt.date
    end: dt.date  # exclusive: the next year's first day, or the current month's first day (preliminary)
    preliminary: bool
    sites: list[str]
    site_names: dict[str, str]
    rows: list[Row]  # per building, carriers in CARRIERS order
    municipality: list[Row]  # per carrier
    total: Row  # every energy carrier (kWh, CO₂), carrier "total"
    degree_days: DegreeDays
    baseline: Account | None = None  # the baseline year's account (None: no baseline year configured, or this
    # year is the baseline year)
    target: Target | None = None
    intensity: SeriesKey | None = None
    weather_independent_share: dict[str, float] = field(default_factory=dict)

    def site_rows(self, site: str) -> list[Row]:
        return [r for r in self.rows if r.site == site]

    def compare(self, row: Row, figure: str) -> Comparison:
        """``figure`` ("kwh", "t_co2", "kwh_normalised", "quantity") of ``row`` against the baseline year."""
        value = float(getattr(row, figure))
        if self.baseline is None:
            return Comparison(value, math.nan, Why.of("no_baseline"))
        if self.preliminary:
            return Comparison(value, math.nan, Why.of("preliminary"))
        base = self.baseline.find(row.site, row.carrier)
        b = float(getattr(base, figure)) if base is not None else math.nan
        if base is None or not math.isfinite(b):
            inner = base.why.get(figure) if base is not None else Why.of("no_meter")
            while base is not None and inner is not None and inner.code == "depends" and \
                    base.why.get(str(inner.kw["what"])) not in (None, inner):
                inner = base.why[str(inner.kw["what"])]  # the root: e.g. the hours that made the kWh unknown
            return Comparison(value, b, Why.of("no_baseline", year=self.baseline.year, why=inner))
        if b == 0:
            return Comparison(value, b, Why.of("zero_baseline"))
        return Comparison(value, b)

    def find(self, site: str | None, carrier: str) -> Row | None:
        if carrier == "total":
            return self.total if site is None else None
        rows = self.municipality if site is None else self.rows
        return next((r for r in rows if r.site == site and r.carrier == carrier), None)


# -- pure pieces ------------------------------------------------------------------------------------------
def target_path_t(baseline_t: float, baseline_year: int, target_year: int, reduction_pct: float,
                  year: int) -> float:
    """The straight-line path from the baseline to the target: ``B · (1 − r · (y − y0) / (y1 − y0))``.  The
    account's and the barometer's one path (it lives here because the barometer counts through this module)."""
    if not math.isfinite(baseline_t) or year < baseline_year:
        return math.nan
    share = min(1.0, (year - baseline_year) / (target_year - baseline_year))
    return baseline_t * (1.0 - reduction_pct / 100.0 * share)


def year_window(year: int, today: dt.date) -> tuple[dt.date, dt.date, bool]:
    """``[start, end)`` of the account of ``year`` and whether it is preliminary: the whole year once it is over,
    else its months that are over (January up to the current month).  A year with no month over yet is refused."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if today >= end:
        return start, end, False
    first_of_month = dt.date(today.year, today.month, 1)
    if first_of_month <= start:
        raise ValueError(f"{year}: no month of the year is over yet (today is {today.isoformat()}); "
                         "there is nothing to account for")
    return start, first_of_month, True


def normal_degree_days(normal: NormalYear, start: dt.date, end: dt.date) -> float:
    """The normal year's degree days of the whole months ``[start, end)``."""
    total, m = 0.0, dt.date(start.year, start.month, 1)
    while m < end:
        total += normal.month(m.month)
        m = dt.date(m.year + (m.month == 12), m.month % 12 + 1, 1)
    return total


def unknown_hours_why(reasons: pd.Series) -> Why | None:
    """The reason of a counter sum's unknown hours (``reasons``: per local hour, ``""`` when known): how many,
    of how many, the most frequent reason and the first and last unknown hour's day; None when all are known."""
    bad = reasons[reasons != KNOWN]
    if bad.empty:
        return None
    index = pd.DatetimeIndex(bad.index).tz_convert(LOCAL_TZ)
    return Why.of("unknown_hours", unknown=len(bad), hours=len(reasons), reason=str(bad.value_counts().index[0]),
                  first=index[0].date(), last=index[-1].date())


def kwh_per_counter_unit(carrier_key: str, site: str, year: int, calorific: CalorificFn | None
                         ) -> tuple[float, tuple[float, str] | None, Why | None]:
    """kWh per unit of ``carrier_key``'s counter at ``site`` in ``year`` → (kWh per unit, the calorific value used,
    why there is none): 0.001 for a Wh counter; natural gas's m³ × the site's calorific value of the year
    (``[[carriers.gas_calorific_value]]``); NaN for water (not an energy) and for gas without a calorific value —
    never a guessed one.  The account's rows and the barometer turn m³ into kWh only here."""
    c = carriers.carrier(carrier_key)
    if not c.energy or carrier_key == carriers.WATER.key:
        return math.nan, None, Why.of("not_energy")
    if c.unit == "kWh":
        return c.per_counter_unit, None, None
    cal = calorific(site, year) if calorific is not None and carrier_key == carriers.NATURAL_GAS.key else None
    if cal is None:
        return math.nan, None, Why.of("no_calorific")
    return cal[0], cal, None


def declared_co2(kwh: float, quantity_m3: float, carrier: str, year: int, factor: FactorFn
                 ) -> tuple[float, Co2Basis, Why | None]:
    """CO₂ [t] of a year's ``kwh`` (NaN: unknown) or, for a factor declared per m³ (natural gas), its ``quantity_m3``
    with the declared factor of the year (else the latest earlier one): ``E × f / 1000`` or ``V × f / 1000``.
    No factor, or no figure in the factor's unit: NaN with the reason."""
    f = factor(carrier, year)
    if f is None:
        return math.nan, Co2Basis(NO_CO2), Why.of("no_factor", carrier=carrier, year=year)
    if f.per == "m³":
        if math.isfinite(quantity_m3):
            return quantity_m3 * f.kg / 1000.0, Co2Basis(DECLARED, f.year, f.kg, f.source, per="m³"), None
        return math.nan, Co2Basis(NO_CO2), Why.of("depends", what="quantity")
    if not math.isfinite(kwh):
        return math.nan, Co2Basis(NO_CO2), Why.of("depends", what="kwh")
    return kwh * f.kg / 1000.0, Co2Basis(DECLARED, f.year, f.kg, f.source), None


def co2_of(kwh_hours: pd.Series | None, quantity_m3: float, carrier: str, year: int, factor: FactorFn,
           intensity_hours: pd.Series | None) -> tuple[float, Co2Basis, Why | None]:
    """CO₂ [t] of a year's hours of ``carrier`` (``kwh_hours``: kWh per hour, every hour known, or None when the
    energy is unknown; ``quantity_m3``: the year's m³ of a volume carrier, else NaN).

    Electricity with an intensity series that has data: ``Σ_h E_h × I_h / 10⁶`` over the hours it covers; hours
    it does not cover take the declared factor (the row then says "mixed" and the share).  Otherwise the declared
    factor (:func:`declared_co2`)."""
    if carrier == carriers.ELECTRICITY.key and kwh_hours is not None and intensity_hours is not None \
            and intensity_hours.notna().any():
        f = factor(carrier, year)
        total_kwh = float(kwh_hours.sum())
        kg, counted, _ = hourly_co2_kg(kwh_hours, intensity_hours)
        kg = 0.0 if not math.isfinite(kg) else kg
        rest = total_kwh - counted
        share = counted / total_kwh if total_kwh > 0 else 1.0
        if rest <= 1e-9:
            mean = kg / total_kwh if total_kwh > 0 else math.nan
            return kg / 1000.0, Co2Basis(HOURLY, year, mean, "", 1.0), None
        if f is None:
            return math.nan, Co2Basis(NO_CO2, hourly_share=share), Why.of("no_factor", carrier=carrier, year=year)
        return (kg + rest * f.kg) / 1000.0, Co2Basis(MIXED, f.year, f.kg, f.source, share), None
    return declared_co2(float(kwh_hours.sum()) if kwh_hours is not None else math.nan, quantity_m3, carrier, year,
                        factor)


def normalised_kwh(kwh: float, dd: DegreeDays, share: float) -> tuple[float, Why | None]:
    """Heat corrected to the normal year, or NaN with why it cannot be."""
    if not math.isfinite(kwh):
        return math.nan, Why.of("depends", what="kwh")
    if dd.temperature is None:
        return math.nan, Why.of("no_temperature_series")
    if not math.isfinite(dd.normal):
        return math.nan, Why.of("no_normal_year")
    if not math.isfinite(dd.actual):
        return math.nan, Why.of("no_temperature", days=dd.days_missing)
    if dd.actual <= 0:
        return math.nan, Why.of("no_degree_days")
    return float(graddagekorrektion(kwh, dd.actual, dd.normal, share)), None


def _sum_rows(site_rows: Sequence[Row], carrier: str, year: int, areas: Mapping[str, float | None],
              names: Mapping[str, str]) -> Row:
    """The municipality's row of ``carrier``: the buildings' sums; a figure unknown in one building is unknown in
    the sum (with those buildings named)."""
    why: dict[str, Why] = {}

    def total(figure: str) -> float:
        values = [float(getattr(r, figure)) for r in site_rows]
        missing = [names.get(str(r.site), str(r.site)) for r, v in zip(site_rows, values, strict=True)
                   if not math.isfinite(v)]
        if not site_rows:
            return math.nan
        if missing:
            whys = [r.why.get(figure) for r in site_rows if not math.isfinite(float(getattr(r, figure)))]
            codes = {w.code for w in whys if w is not None}
            # one reason shared by every building (no calorific value, no factor): say it; else name them
            same = whys[0] if len(codes) == 1 and whys[0] is not None and (
                len(site_rows) == 1 or whys[0].code not in ("unknown_hours", "depends")) else None
            why[figure] = same or Why.of("sites", names=missing)
            return math.nan
        return float(sum(values))

    quantity, kwh, t = total("quantity"), total("kwh"), total("t_co2")
    norm = total("kwh_normalised") if carrier in HEAT_CARRIERS else math.nan
    no_area = [names.get(str(r.site), str(r.site)) for r in site_rows if not areas.get(str(r.site))]
    area = sum(float(areas[str(r.site)] or 0) for r in site_rows) if site_rows and not no_area else None
    if not carriers.carrier(carrier).energy or carrier == carriers.WATER.key:
        per_m2 = math.nan
        why.update(kwh=Why.of("not_energy"), kwh_per_m2=Why.of("not_energy"), t_co2=Why.of("not_energy"))
    elif area is None:
        per_m2 = math.nan
        why["kwh_per_m2"] = Why.of("no_floor_area", names=no_area)
    elif not math.isfinite(kwh):
        per_m2 = math.nan
        why["kwh_per_m2"] = Why.of("depends", what="kwh")
    else:
        per_m2 = kwh / area
    methods = {r.co2.method for r in site_rows}
    basis = Co2Basis(methods.pop()) if len(methods) == 1 else Co2Basis(MIXED)
    return Row(None, carrier, year, sum(r.meters for r in site_rows), quantity, kwh, per_m2, t, basis, norm,
               max((r.hours for r in site_rows), default=0), min((r.hours_known for r in site_rows), default=0),
               area, None, why)


def total_row(rows: Sequence[Row], year: int, area: float | None, no_area: Sequence[str] = ()) -> Row:
    """Every energy carrier of the municipality: kWh and CO₂ (natural gas in kWh, so its calorific value is needed;
    water is not an energy)."""
    energy = [r for r in rows if carriers.carrier(r.carrier).energy and r.carrier != carriers.WATER.key]
    why: dict[str, Why] = {}
    kwh = t = 0.0
    for r in energy:
        if not math.isfinite(r.kwh):
            why.setdefault("kwh", Why.of("carrier", carrier=r.carrier))
        kwh += r.kwh
        if not math.isfinite(r.t_co2):
            why.setdefault("t_co2", Why.of("carrier", carrier=r.carrier))
        t += r.t_co2
    if not energy:
        kwh = t = math.nan
        why = {"kwh": Why.of("no_meter"), "t_co2": Why.of("no_meter")}
    per_m2 = kwh / area if area and math.isfinite(kwh) else math.nan
    if not math.isfinite(per_m2):
        why["kwh_per_m2"] = why.get("kwh") or Why.of("no_floor_area", names=list(no_area))
    methods = {r.co2.method for r in energy}
    return Row(None, "total", year, sum(r.meters for r in energy), math.nan, kwh, per_m2, t,
               Co2Basis(methods.pop() if len(methods) == 1 else MIXED), math.nan,
               max((r.hours for r in energy), default=0), min((r.hours_known for r in energy), default=0), area,
               None, why)


# -- from the store ---------------------------------------------------------------------------------------
def degree_days_of(store, temperature: SeriesKey | None, normal: NormalYear | None, start: dt.date,
                   end: dt.date) -> DegreeDays:
    """The period's Danish degree days (base 17 °C) from the outdoor temperature, and the normal year's."""
    days = (end - start).days
    g_normal = normal_degree_days(normal, start, end) if normal is not None else math.nan
    source = normal.source if normal is not None else ""
    if temperature is None:
        return DegreeDays(math.nan, g_normal, days, days, None, source)
    mean = daily_mean_temperature_c(store, temperature, local_midnight(start), local_midnight(end))
    index = pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq="D", inclusive="left").tz_localize(LOCAL_TZ)
    mean = mean.reindex(index)
    hdd = heating_degree_days_c(mean.to_numpy(dtype=float))
    missing = int(np.isnan(hdd).sum())
    return DegreeDays(float(hdd.sum()) if not missing else math.nan, g_normal, days, missing, temperature, source)


def carrier_hours(store, keys: Sequence[SeriesKey], start: dt.date, end: dt.date) -> pd.DataFrame:
    """The summed hours (``value`` in the counters' unit: Wh or m³, and ``reason``) of ``keys`` over the local days
    ``[start, end)``: an hour is known when it is known in every counter."""
    t0, t1 = local_midnight(start), local_midnight(end)
    index = pd.DatetimeIndex(pd.date_range(pd.Timestamp(t0).tz_convert("UTC"), pd.Timestamp(t1).tz_convert("UTC"),
                                           freq="h", inclusive="left").tz_convert(LOCAL_TZ))
    value = np.zeros(len(index))
    reason = np.full(len(index), KNOWN, dtype=object)
    for k in keys:
        h = counter_hours(store, k, t0, t1).hours.reindex(index)
        value = value + h["energy_wh"].to_numpy(dtype=float)
        r = h["reason"].fillna("no_data").to_numpy(dtype=object)
        reason = np.where(reason == KNOWN, r, reason)
    return pd.DataFrame({"value": value, "reason": reason}, index=index)


def live_and_imported(series: pd.DataFrame, site: str, carrier_key: str, live: Callable[[str], bool] | None,
                      pv: bool = False) -> tuple[tuple[SeriesKey, ...], tuple[SeriesKey, ...]]:
    """The site's counters of ``carrier_key`` (``pv``: its PV counters) that count
    (:func:`energimon.store.energy.site_meters` with ``live``: the live ones when the role has any) and those left
    out — the imported copy of the same meter, counted instead only when the live meter's year is incomplete and
    the copy's is not (:func:`site_row`; the barometer asks the same)."""
    def pick(m: SiteMeters) -> tuple[SeriesKey, ...]:
        return m.pv if pv else m.consumption

    keys = pick(site_meters(series, site, carrier_key, live))
    if live is None:
        return keys, ()
    return keys, tuple(k for k in pick(site_meters(series, site, carrier_key)) if k not in keys)


def site_row(store, series: pd.DataFrame, site: str, carrier_key: str, year: int, start: dt.date, end: dt.date, *,
             floor_area_m2: float | None, factor: FactorFn, calorific: CalorificFn | None,
             intensity: pd.Series | None, dd: DegreeDays, weather_independent_share: float = 0.0,
             live: Callable[[str], bool] | None = None) -> Row | None:
    """One building's row of one carrier (None: the building has no counter of that carrier)."""
    c = carriers.carrier(carrier_key)
    keys, others = live_and_imported(series, site, carrier_key, live)
    if not keys:
        return None
    hours = carrier_hours(store, keys, start, end)
    imported = False
    if others and (hours["reason"] != KNOWN).any():
        # the live meter's year has unknown hours: its imported copy (DataHub's metered hours, what the utility
        # settles on) counts instead when that copy is complete — the same meter, so never both
        alt = carrier_hours(store, others, start, end)
        if (alt["reason"] == KNOWN).all():
            keys, hours, imported = others, alt, True
    why: dict[str, Why] = {}
    unknown = unknown_hours_why(hours["reason"])
    n, n_known = len(hours), int((hours["reason"] == KNOWN).sum())
    per_unit = 1000.0 if c.unit == "kWh" else 1.0  # counters are Wh (energy) or m³ (volume)
    quantity = float(hours["value"].sum()) / per_unit if unknown is None else math.nan
    if unknown is not None:
        why["quantity"] = unknown
    per, cal, per_why = kwh_per_counter_unit(carrier_key, site, year, calorific)
    kwh, t, basis = math.nan, math.nan, Co2Basis(NO_CO2)
    kwh_hours: pd.Series | None = None
    if per_why is not None and per_why.code == "not_energy":
        why.update(kwh=per_why, kwh_per_m2=per_why, t_co2=per_why)
    elif per_why is not None:
        why["kwh"] = per_why
    else:
        kwh_hours = hours["value"] * per
    if kwh_hours is not None:
        if unknown is None:
            kwh = float(kwh_hours.sum())
        else:
            why["kwh"] = Why.of("depends", what="quantity")
    if "t_co2" not in why:
        ready = kwh_hours if kwh_hours is not None and math.isfinite(kwh) else None
        t, basis, co2_why = co2_of(ready, quantity if c.unit == "m³" else math.nan, carrier_key, year, factor,
                                   intensity)
        if co2_why is not None:
            why["t_co2"] = co2_why
    if "kwh_per_m2" in why:
        per_m2 = math.nan
    elif not floor_area_m2:
        per_m2 = math.nan
        why["kwh_per_m2"] = Why.of("no_floor_area", names=[])
    elif not math.isfinite(kwh):
        per_m2 = math.nan
        why["kwh_per_m2"] = Why.of("depends", what="kwh")
    else:
        per_m2 = kwh / floor_area_m2
    norm = math.nan
    if carrier_key in HEAT_CARRIERS:
        norm, norm_why = normalised_kwh(kwh, dd, weather_independent_share)
        if norm_why is not None:
            why["kwh_normalised"] = norm_why
    return Row(site, carrier_key, year, len(keys), quantity, kwh, per_m2, t, basis, norm, n, n_known, floor_area_m2,
               cal, why, tuple(k.device for k in keys), imported)


@dataclass(frozen=True)
class AccountSettings:
    """What the account needs of the configuration (gathered by the report's command from ``[sites]``,
    ``[web.barometer]`` and ``[esco]``)."""

    sites: dict[str, tuple[str, float | None]]  # site id -> (name, floor area m²), in the configuration's order
    factor: FactorFn
    calorific: CalorificFn | None = None
    intensity: SeriesKey | None = None
    temperature: SeriesKey | None = None
    normal_year: NormalYear | None = None
    weather_independent_share: dict[str, float] = field(default_factory=dict)
    baseline_year: int | None = None
    baseline_t: float | None = None  # the climate plan's figure for the baseline year (all the sites)
    baseline_source: str = ""
    target_year: int = 2030
    reduction_pct: float = 70.0
    live: Callable[[str, str], bool] | None = None  # (site, device) -> read live (wins over an imported copy)


def site_live(live: Callable[[str, str], bool] | None, site: str) -> Callable[[str], bool] | None:
    """``live(site, device)`` for one site, as :func:`energimon.store.energy.site_meters` asks it."""
    if live is None:
        return None
    return lambda device: live(site, device)


def compute_account(store, cfg: AccountSettings, year: int, today: dt.date | None = None,
                    with_baseline: bool = True) -> Account:
    """The account of ``year`` for every site of ``cfg`` (and, with a baseline year before it, that year's)."""
    today = today or local_today()
    start, end, preliminary = year_window(year, today)
    series = store.series()
    intensity = None
    if cfg.intensity is not None:
        g = store.aggregate(cfg.intensity, local_midnight(start), local_midnight(end), "1h", "mean")
        g.index = pd.DatetimeIndex(g.index).tz_convert(LOCAL_TZ)
        intensity = g if g.notna().any() else None
    dd = degree_days_of(store, cfg.temperature, cfg.normal_year, start, end)
    rows: list[Row] = []
    for site, (_, area) in cfg.sites.items():
        live = site_live(cfg.live, site)
        for key in carriers.CARRIERS:
            r = site_row(store, series, site, key, year, start, end, floor_area_m2=area, factor=cfg.factor,
                         calorific=cfg.calorific, intensity=intensity, dd=dd,
                         weather_independent_share=cfg.weather_independent_share.get(site, 0.0), live=live)
            if r is not None:
                rows.append(r)
    areas = {s: a for s, (_, a) in cfg.sites.items()}
    names = {s: n for s, (n, _) in cfg.sites.items()}
    municipality = [_sum_rows([r for r in rows if r.carrier == k], k, year, areas, names)
                    for k in carriers.CARRIERS if any(r.carrier == k for r in rows)]
    all_area = sum(a for a in areas.values() if a) if areas and all(areas.values()) else None
    total = total_row(municipality, year, all_area, [names[s] for s, a in areas.items() if not a])
    baseline = None
    target = None
    if cfg.baseline_year is not None:
        if with_baseline and cfg.baseline_year < year:
            try:
                baseline = compute_account(store, cfg, cfg.baseline_year, today, with_baseline=False)
            except ValueError:
                baseline = None
        if cfg.baseline_t is not None:
            base_t, source = float(cfg.baseline_t), cfg.baseline_source
        elif cfg.baseline_year == year and not preliminary:
            base_t, source = total.t_co2, ""
        else:
            base_t = baseline.total.t_co2 if baseline is not None and not baseline.preliminary else math.nan
            source = ""
        target = Target(cfg.baseline_year, base_t, source, cfg.target_year, cfg.reduction_pct,
                        target_path_t(base_t, cfg.baseline_year, cfg.target_year, cfg.reduction_pct, year))
    return Account(year, start, end, preliminary, list(cfg.sites), names, rows, municipality, total, dd, baseline,
                   target, cfg.intensity, dict(cfg.weather_independent_share))
