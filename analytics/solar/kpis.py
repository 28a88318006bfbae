"""Solar KPIs per site per hour, day and month, from energy counters (IEC 61724-1 names).

Quantities (energies in Wh unless the name says otherwise):

* ``pv_wh`` — PV AC production E_AC (sum of the site's inverter counters ``pv_energy_wh``);
* ``import_wh`` / ``export_wh`` — the grid meter's two counters (``energy_import_wh``,
  ``energy_export_wh``: two non-negative, non-decreasing counters, docs/ARCHITECTURE.md#signs);
* ``consumption_wh`` — the building's load: import + PV − export;
* ``self_consumed_wh`` — PV used on site: PV − export;
* self-consumption ratio (egetforbrugsandel) = (PV − export) / PV;
* self-sufficiency (selvforsyningsgrad) = (load − import) / load = (PV − export) / load;
* final yield ``Y_f = E_AC / P0`` in kWh/kWp (IEC 61724-1);
* reference yield ``Y_r = H_POA / G_STC`` with G_STC = 1 kW/m², in hours (= kWh/kWp);
* performance ratio ``PR = Y_f / Y_r`` (IEC 61724-1).  With Y_r from the pvlib
  clear-sky model instead of an irradiance sensor it is a ratio against a clear-sky
  envelope, **not** a true PR, and is labelled so (:attr:`SiteKpis.reference`);
* availability: hours with production / hours in which the clear-sky model expects at least
  :data:`EXPECTED_SHARE` of P0 (an operational availability, not IEC 61724-1's
  time-based availability with measured irradiance thresholds).  An expected hour without PV
  data counts as unavailable (production cannot be shown) and is counted separately; when
  *no* expected hour has PV data the availability is unknown (NaN), not 0.

A period (day or month) is reported only with enough data (:func:`period_status`): without any
hour in which the site's measured counters are all known it is ``no_data``, with fewer than
:data:`MIN_HOURS_SHARE` of its hours ``incomplete`` — then its measured KPIs are not shown
(:func:`shown`), because a month total over the hours that happened to have data is not the
month's production.

Every energy is a counter difference per hour (never an integral of power), known or not by the
one completeness rule of :mod:`energimon.store.energy` (full coverage or a proven zero — a gap
across which the counter did not move, an inverter asleep at night — and no reset), and the
site's balance is that module's: the same hours and kWh as the savings report and the anomaly
rules count.  Day and month values are **ratios of sums** over hours: the numerator and
denominator of a ratio are summed over the same hours (those where all its inputs are
known), so a missing hour never makes a ratio wrong, it only shows in the hour counts.
A KPI whose input is not measured at all (e.g. a net-only meter without an export counter)
is NaN and named in :attr:`SiteKpis.not_computable` with the reason — never a wrong number.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.calendar import hour_index, local_day_of, local_midnight, local_month_of
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.energy import SiteMeters, site_balance_days, site_meters

G_STC_W_M2 = 1000.0
EXPECTED_SHARE = 0.05  # an hour "expects production" when the clear-sky AC energy ≥ 5 % of P0 × 1 h
PRODUCING_WH_PER_KWP = 1.0  # an hour "produces" when E_AC ≥ 1 Wh per kWp (counter resolution aside)
MIN_HOURS_SHARE = 0.9
"""A day or month is reported when at least this share of its hours has every measured counter known: the
90 % of CalTRACK's data sufficiency, the same rule as the savings report's periods."""


# -- pure formulas ------------------------------------------------------------------------------
def consumption_wh(import_wh, pv_wh, export_wh):
    """Building load: ``import + PV − export`` (all Wh, same period)."""
    return import_wh + pv_wh - export_wh


def self_consumed_wh(pv_wh, export_wh):
    """PV energy used on site: ``PV − export`` (Wh)."""
    return pv_wh - export_wh


def _ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return float(r) if r.ndim == 0 else r


def self_consumption_ratio(pv_wh, export_wh):
    """Self-consumption ratio (egetforbrugsandel) ``(PV − export) / PV``; NaN when PV ≤ 0.

    For a period, pass the **sums** over its hours (a ratio of sums: a month's ratio is not the mean of its
    hours' ratios; as IEC 61724-1 does for PR: the period's energies first, then the ratio).
    """
    return _ratio(np.asarray(pv_wh, dtype=float) - np.asarray(export_wh, dtype=float), pv_wh)


def self_sufficiency_ratio(import_wh, pv_wh, export_wh):
    """Self-sufficiency (selvforsyningsgrad) ``(load − import) / load`` with load = import + PV − export.

    NaN when the load is not positive.  For a period, pass the sums over its hours.
    """
    load = consumption_wh(np.asarray(import_wh, dtype=float), np.asarray(pv_wh, dtype=float),
                          np.asarray(export_wh, dtype=float))
    return _ratio(load - np.asarray(import_wh, dtype=float), load)


def final_yield_kwh_per_kwp(e_ac_wh, p0_kwp: float):
    """IEC 61724-1 final yield ``Y_f = E_AC / P0`` (kWh/kWp, i.e. hours at rated power)."""
    if not p0_kwp > 0:
        raise ValueError(f"P0 must be positive, got {p0_kwp} kWp")
    return np.asarray(e_ac_wh, dtype=float) / 1000.0 / p0_kwp if np.ndim(e_ac_wh) else e_ac_wh / 1000.0 / p0_kwp


def reference_yield_h(h_poa_wh_m2):
    """IEC 61724-1 reference yield ``Y_r = H_POA / G_STC`` (h, = kWh/kWp) from in-plane irradiation in Wh/m²."""
    return np.asarray(h_poa_wh_m2, dtype=float) / G_STC_W_M2 if np.ndim(h_poa_wh_m2) else h_poa_wh_m2 / G_STC_W_M2


def performance_ratio(y_f_kwh_per_kwp, y_r_h):
    """IEC 61724-1 performance ratio ``PR = Y_f / Y_r`` (NaN when Y_r ≤ 0)."""
    return _ratio(y_f_kwh_per_kwp, y_r_h)


# -- what a site's data are --------------------------------------------------------------------
@dataclass(frozen=True)
class ArrayRef:
    """A PV array as the KPIs need it (built from the settings' ``PvArray``)."""

    id: str
    kwp: float
    tilt_deg: float
    azimuth_deg: float
    losses_percent: float = 14.0
    inverter: str | None = None
    irradiance: str | None = None


@dataclass(frozen=True)
class SiteInputs:
    """Which series make a site's solar balance (see :func:`site_inputs`)."""

    site: str
    name: str
    latitude: float
    longitude: float
    arrays: tuple[ArrayRef, ...]
    pv: tuple[SeriesKey, ...]  # one pv_energy_wh counter per inverter
    grid_import: tuple[SeriesKey, ...]
    grid_export: tuple[SeriesKey, ...]  # empty: net-only meter, export not measured
    mppt_dc: tuple[SeriesKey, ...] = ()  # pv_dc_power_w of MPPT sub-devices (<inverter>-mppt<n>)

    @property
    def p0_kwp(self) -> float:
        return float(sum(a.kwp for a in self.arrays))


def site_inputs(site_id: str, site, series: pd.DataFrame, live: Callable[[str], bool] | None = None) -> SiteInputs:
    """Discover a site's counters from the store's series list (columns site, device, channel, role): the
    electricity balance's counters of :func:`energimon.store.energy.site_meters`.

    PV: every ``pv``-role device with ``pv_energy_wh``; grid: every ``grid``-role device with
    ``energy_import_wh`` (and their ``energy_export_wh`` if every one of them has that series).  ``live``:
    which devices are read live (a live meter wins over an imported copy of it, see ``site_meters``).
    """
    meters = site_meters(series, site_id, "electricity", live)
    s = series[series["site"] == site_id]
    arrays = tuple(ArrayRef(a.id, a.kwp, a.tilt_deg, a.azimuth_deg, a.losses_percent, a.inverter, a.irradiance)
                   for a in site.pv)
    mppt = s[(s["channel"] == "pv_dc_power_w") & s["device"].str.contains("-mppt", regex=False)]
    return SiteInputs(site_id, site.name, site.latitude, site.longitude, arrays, meters.pv, meters.consumption,
                      meters.export, tuple(SeriesKey(site_id, d, "pv_dc_power_w")
                                           for d in sorted(mppt["device"].unique())))


# -- hourly energies from the store --------------------------------------------------------------
def local_range(start: dt.date, end: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Local midnights of ``start`` and ``end`` (aware, Europe/Copenhagen)."""
    return pd.Timestamp(local_midnight(start)), pd.Timestamp(local_midnight(end))


@dataclass
class Reference:
    """Where Y_r comes from: ``"sensor"`` (measured POA irradiance) or ``"clear-sky"`` (pvlib envelope)."""

    kind: str
    detail: str


def reference_hourly(store, inputs: SiteInputs, start: dt.date, end: dt.date,
                     index: pd.DatetimeIndex) -> tuple[pd.DataFrame, Reference]:
    """Per hour: ``reference_wh`` = Σ over arrays of P0_i · Y_r,i (the energy at PR = 1) and
    ``expected_ac_wh`` (pvlib clear-sky PVWatts AC with each array's losses).

    Y_r comes from irradiance sensors when **every** array names one (``irradiance``), else from the
    clear-sky model for every array (one source per site, so the PR is one kind of number).
    """
    from energimon.analytics.solar.expected import ArraySpec, clear_sky_hourly

    ref = np.zeros(len(index))
    expected = np.zeros(len(index))
    use_sensor = bool(inputs.arrays) and all(a.irradiance for a in inputs.arrays)
    for a in inputs.arrays:
        spec = ArraySpec(inputs.latitude, inputs.longitude, a.kwp, a.tilt_deg, a.azimuth_deg,
                         losses_percent=a.losses_percent)
        cs = clear_sky_hourly(spec, start, end).reindex(index)
        expected += cs["ac_wh"].to_numpy()
        if use_sensor and a.irradiance:  # use_sensor: every array names its sensor
            key = SeriesKey(inputs.site, a.irradiance, "irradiance_w_m2")
            t0, t1 = local_range(start, end)
            agg = store.aggregates(key, t0, t1, "1h")
            agg.index = agg.index.tz_convert(LOCAL_TZ)
            # H_POA per hour = mean irradiance × 1 h (a sensor has no counter); no samples -> unknown
            h = agg["mean"].where(agg["count"] > 0).reindex(index)
            ref += a.kwp * 1000.0 * reference_yield_h(h.to_numpy())
        else:
            ref += a.kwp * 1000.0 * reference_yield_h(cs["poa_wh_m2"].to_numpy())
    if use_sensor:
        reference = Reference("sensor", ", ".join(sorted({a.irradiance for a in inputs.arrays if a.irradiance})))
    else:
        reference = Reference("clear-sky", "pvlib Ineichen/Linke, Hay-Davies")
    if not inputs.arrays:
        ref[:] = np.nan
        expected[:] = np.nan
    return pd.DataFrame({"reference_wh": ref, "expected_ac_wh": expected}, index=index), reference


def hourly_frame(store, inputs: SiteInputs, start: dt.date, end: dt.date) -> tuple[pd.DataFrame, Reference]:
    """One row per local hour of ``[start, end)`` with the site's energies (Wh) and flags.

    Columns: ``pv_wh``, ``import_wh``, ``export_wh``, ``consumption_wh``, ``self_consumed_wh``,
    ``reference_wh``, ``expected_ac_wh``, ``expects_production``, ``producing`` and ``pv_wh:<device>``
    per inverter.  NaN = not known for that hour.
    """
    idx = hour_index(start, end)
    # the site balance of store.energy: its hours, its rule, its sums (NaN in an hour when any counter of a kind
    # is unknown); a kind without a counter is not measured here (NaN), so its KPIs are not computable
    bal = site_balance_days(store, SiteMeters(inputs.site, inputs.grid_import, inputs.grid_export, inputs.pv),
                            start, end)
    per_inv = {k.device: bal.counters[k].energy_wh.reindex(idx) for k in inputs.pv}
    h = bal.hourly.reindex(idx)
    unmeasured = pd.Series(np.nan, index=idx)
    df = pd.DataFrame({"pv_wh": h["pv_wh"] if inputs.pv else unmeasured,
                       "import_wh": h["import_wh"] if inputs.grid_import else unmeasured,
                       "export_wh": h["export_wh"] if inputs.grid_export else unmeasured}, index=idx)
    df["consumption_wh"] = consumption_wh(df["import_wh"], df["pv_wh"], df["export_wh"])
    df["self_consumed_wh"] = self_consumed_wh(df["pv_wh"], df["export_wh"])
    refs, reference = reference_hourly(store, inputs, start, end, idx)
    df = df.join(refs)
    p0 = inputs.p0_kwp
    df["expects_production"] = df["expected_ac_wh"] >= EXPECTED_SHARE * p0 * 1000.0 if p0 > 0 else False
    df["producing"] = df["pv_wh"] >= PRODUCING_WH_PER_KWP * max(p0, 0.0)
    for dev, s in per_inv.items():
        df[f"pv_wh:{dev}"] = s
    return df, reference


# -- aggregation: ratios of sums ------------------------------------------------------------------
PERIOD_COLUMNS = [
    "hours", "hours_complete", "pv_kwh", "import_kwh", "export_kwh", "consumption_kwh", "self_consumed_kwh",
    "self_consumption_ratio", "self_sufficiency_ratio", "final_yield_kwh_per_kwp", "reference_yield_h",
    "performance_ratio", "expected_ac_kwh", "yield_vs_expected", "expected_hours", "producing_hours",
    "expected_hours_no_data", "availability",
]


def _group_key(index: pd.DatetimeIndex, period: str):
    if period == "hour":
        return index
    if period == "day":
        return local_day_of(index)
    if period == "month":
        return local_month_of(index)
    raise ValueError(f"unknown period {period!r}; expected hour, day or month")


def aggregate(hourly: pd.DataFrame, p0_kwp: float, period: str,
              measured: tuple[str, ...] = ("pv_wh", "import_wh", "export_wh")) -> pd.DataFrame:
    """KPIs per ``period`` ("hour", "day", "month"), each a ratio of sums over consistent hours.

    * energies: sum over the hours where that energy is known (NaN if none);
    * consumption and self-sufficiency: over hours where import, PV and export are all known;
    * self-consumption ratio: over hours where PV and export are known;
    * Y_f, Y_r and PR: over hours where PV and the reference are known (the same hours for both);
    * ``hours_complete``: hours in which every ``measured`` counter is known;
    * availability: producing hours / hours expecting production; an hour without PV data cannot show
      production and counts as not available (``expected_hours_no_data`` says how many were so).
    """
    h = hourly
    key = _group_key(pd.DatetimeIndex(h.index), period)
    pv_ok = h["pv_wh"].notna()
    all_ok = pv_ok & h["import_wh"].notna() & h["export_wh"].notna()
    sc_ok = pv_ok & h["export_wh"].notna()
    pr_ok = pv_ok & h["reference_wh"].notna()
    av_ok = h["expects_production"].astype(bool)

    def s(col: str, mask=None) -> pd.Series:
        x = h[col] if mask is None else h[col].where(mask)
        return x.groupby(key).sum(min_count=1)

    out = pd.DataFrame(index=pd.Index(sorted(set(key)), name="start"))
    out["hours"] = pd.Series(1, index=h.index).groupby(key).sum()
    known = pd.Series(True, index=h.index)
    for col in measured:
        known &= h[col].notna()
    out["hours_complete"] = known.groupby(key).sum()
    for c in ("pv", "import", "export"):
        out[f"{c}_kwh"] = s(f"{c}_wh") / 1000.0
    out["consumption_kwh"] = s("consumption_wh", all_ok) / 1000.0
    out["self_consumed_kwh"] = s("self_consumed_wh", sc_ok) / 1000.0
    out["self_consumption_ratio"] = self_consumption_ratio(s("pv_wh", sc_ok), s("export_wh", sc_ok))
    load = s("consumption_wh", all_ok)
    out["self_sufficiency_ratio"] = _ratio(load - s("import_wh", all_ok), load)
    if p0_kwp > 0:
        out["final_yield_kwh_per_kwp"] = final_yield_kwh_per_kwp(s("pv_wh").to_numpy(dtype=float), p0_kwp)
        ref = s("reference_wh", pr_ok)
        out["reference_yield_h"] = ref.to_numpy(dtype=float) / 1000.0 / p0_kwp
        out["performance_ratio"] = _ratio(s("pv_wh", pr_ok), ref)
        out["expected_ac_kwh"] = s("expected_ac_wh") / 1000.0
        out["yield_vs_expected"] = _ratio(s("pv_wh", pr_ok), s("expected_ac_wh", pr_ok))
    else:
        for c in ("final_yield_kwh_per_kwp", "reference_yield_h", "performance_ratio", "expected_ac_kwh",
                  "yield_vs_expected"):
            out[c] = np.nan
    out["expected_hours"] = av_ok.groupby(key).sum()
    out["producing_hours"] = (av_ok & h["producing"].astype(bool)).groupby(key).sum()
    out["expected_hours_no_data"] = (av_ok & ~pv_ok).groupby(key).sum()
    out["availability"] = _ratio(out["producing_hours"], out["expected_hours"])
    # not one expected hour with PV data: whether it produced is unknown, not 0 %
    out.loc[out["expected_hours_no_data"] >= out["expected_hours"], "availability"] = np.nan
    return out[PERIOD_COLUMNS]


MEASURED_KPIS = ("pv_kwh", "import_kwh", "export_kwh", "consumption_kwh", "self_consumed_kwh",
                 "self_consumption_ratio", "self_sufficiency_ratio", "final_yield_kwh_per_kwp", "reference_yield_h",
                 "performance_ratio", "yield_vs_expected", "availability")
"""The columns of :data:`PERIOD_COLUMNS` that come from measured data (hour counts and the clear-sky
expectation do not)."""


def period_status(hours: float, hours_complete: float, measured: bool = True) -> str:
    """``"ok"``; ``"no_data"`` (no hour of the period is over, no counter is measured, or no hour has every
    measured counter); ``"incomplete"`` (fewer than :data:`MIN_HOURS_SHARE` of its hours have)."""
    if not measured or not hours or not hours_complete or hours != hours:
        return "no_data"
    return "incomplete" if hours_complete < MIN_HOURS_SHARE * hours else "ok"


def shown(row: pd.Series, status: str) -> pd.Series:
    """A period row as a report may show it: measured KPIs NaN ("–", empty cell) unless ``status`` is ok."""
    if status == "ok":
        return row
    out = row.copy()
    out[[c for c in MEASURED_KPIS if c in out.index]] = np.nan
    return out


def inverter_table(hourly: pd.DataFrame, inputs: SiteInputs, period: str = "month") -> pd.DataFrame:
    """Per inverter and period: ``pv_kwh`` and, where the arrays name their inverter, ``kwh_per_kwp``."""
    key = _group_key(pd.DatetimeIndex(hourly.index), period)
    rows = []
    for k in inputs.pv:
        col = f"pv_wh:{k.device}"
        kwp = sum(a.kwp for a in inputs.arrays if a.inverter == k.device)
        if not kwp and len(inputs.pv) == 1:
            kwp = inputs.p0_kwp  # one inverter: it carries every array
        e = hourly[col].groupby(key).sum(min_count=1) / 1000.0
        for start, v in e.items():
            rows.append({"start": start, "device": k.device, "pv_kwh": v,
                         "kwh_per_kwp": v / kwp if kwp else np.nan, "kwp": kwp or np.nan})
    return pd.DataFrame(rows, columns=["start", "device", "pv_kwh", "kwh_per_kwp", "kwp"])


def mppt_shares(store, inputs: SiteInputs, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Share of each MPPT in its inverter's DC power over the period (mean power; MPPT inputs have no
    energy counter, so this is a share, not an energy).  Columns device, mean_dc_w, share."""
    if not inputs.mppt_dc:
        return pd.DataFrame(columns=["device", "mean_dc_w", "share"])
    t0, t1 = local_range(start, end)
    rows = []
    for k in inputs.mppt_dc:
        agg = store.aggregates(k, t0, t1, "month")
        n = float(agg["count"].sum())
        rows.append({"device": k.device, "mean_dc_w": float(agg["sum"].sum()) / n if n else np.nan})
    df = pd.DataFrame(rows)
    df["inverter"] = df["device"].str.rsplit("-mppt", n=1).str[0]
    df["share"] = df["mean_dc_w"] / df.groupby("inverter")["mean_dc_w"].transform("sum")
    return df[["device", "mean_dc_w", "share"]]


# -- what cannot be computed ----------------------------------------------------------------------
@dataclass
class SiteKpis:
    inputs: SiteInputs
    hourly: pd.DataFrame
    daily: pd.DataFrame
    monthly: pd.DataFrame
    reference: Reference
    not_computable: dict[str, str] = field(default_factory=dict)  # KPI -> reason (language-neutral code)
    inverters: pd.DataFrame | None = None
    mppt: pd.DataFrame | None = None
    measured: tuple[str, ...] = ()  # hourly columns with a counter behind them (pv_wh, import_wh, export_wh)

    def status(self, row: pd.Series) -> str:
        """:func:`period_status` of one row of :attr:`daily` or :attr:`monthly`."""
        return period_status(row["hours"], row["hours_complete"], bool(self.measured))


def month_row(k: SiteKpis) -> pd.Series:
    """The month's KPIs (the first row of :attr:`SiteKpis.monthly`; hours 0 and NaN KPIs when no day of the
    month is over yet)."""
    if len(k.monthly):
        return k.monthly.iloc[0]
    row = pd.Series(np.nan, index=PERIOD_COLUMNS)
    row[["hours", "hours_complete", "expected_hours", "producing_hours", "expected_hours_no_data"]] = 0
    return row


def portfolio_totals(results: list[SiteKpis]) -> dict[str, float]:
    """The month's totals over the sites, as ratios of the sites' sums: ``kwp``, ``pv_kwh``, ``yf`` (kWh/kWp of
    the sites with PV data), ``scr``, ``load`` and ``ssr``.  A site without an input is left out of the ratio
    that needs it, and a site without enough data in the month (:func:`period_status`) is left out altogether:
    never counted as 0."""
    kwp = sum(r.inputs.p0_kwp for r in results)
    months = [shown(month_row(r), r.status(month_row(r))) for r in results]
    pv_sites = [m for m in months if math.isfinite(m.pv_kwh)]
    pv = sum(m.pv_kwh for m in pv_sites)
    pv_kwp = sum(r.inputs.p0_kwp for r, m in zip(results, months, strict=True) if math.isfinite(m.pv_kwh))
    sc_sites = [m for m in months if math.isfinite(m.self_consumed_kwh)]
    load_sites = [m for m in months if math.isfinite(m.consumption_kwh)]
    sc = sum(m.self_consumed_kwh for m in sc_sites)
    pv_sc = sum(_known(m.pv_kwh) for m in sc_sites)
    load = sum(m.consumption_kwh for m in load_sites)
    imp = sum(_known(m.import_kwh) for m in load_sites)
    return {"kwp": kwp, "pv_kwh": pv if pv_sites else math.nan,
            "yf": pv / pv_kwp if pv_kwp else math.nan,
            "scr": sc / pv_sc if pv_sc > 0 else math.nan,
            "load": load if load_sites else math.nan,
            "ssr": (load - imp) / load if load > 0 else math.nan}


def _known(x) -> float:
    return float(x) if x is not None and math.isfinite(x) else 0.0


def missing_hours(k: SiteKpis) -> pd.DataFrame:
    """Per local day (index as :attr:`SiteKpis.daily`): the hours each measured counter kind (``pv_wh``,
    ``import_wh``, ``export_wh``) is unknown."""
    cols = [c for c in ("pv_wh", "import_wh", "export_wh") if c in k.measured]
    h = k.hourly
    if not len(h):
        return pd.DataFrame(0, index=k.daily.index, columns=cols)
    counts = h[cols].isna().groupby(_group_key(pd.DatetimeIndex(h.index), "day")).sum()
    return counts.reindex(k.daily.index, fill_value=0)


def not_computable(inputs: SiteInputs) -> dict[str, str]:
    """KPIs the site's metering cannot give, with a reason code (``no_export``, ``no_import``, ``no_pv``,
    ``no_arrays``)."""
    out: dict[str, str] = {}
    if not inputs.pv:
        for k in ("pv_kwh", "consumption_kwh", "self_consumption_ratio", "self_sufficiency_ratio",
                  "final_yield_kwh_per_kwp", "performance_ratio", "availability"):
            out[k] = "no_pv"
    if not inputs.grid_import:
        for k in ("import_kwh", "consumption_kwh", "self_sufficiency_ratio"):
            out.setdefault(k, "no_import")
    if not inputs.grid_export:
        for k in ("export_kwh", "consumption_kwh", "self_consumed_kwh", "self_consumption_ratio",
                  "self_sufficiency_ratio"):
            out.setdefault(k, "no_export")
    if not inputs.arrays:
        for k in ("final_yield_kwh_per_kwp", "performance_ratio", "availability"):
            out.setdefault(k, "no_arrays")
    return out


def site_kpis(store, inputs: SiteInputs, start: dt.date, end: dt.date) -> SiteKpis:
    """Everything for one site over local days ``[start, end)`` (empty frames when no day is in it, e.g. a
    report on the 1st of the running month)."""
    p0 = inputs.p0_kwp
    nc = not_computable(inputs)
    measured = tuple(col for col, keys in (("pv_wh", inputs.pv), ("import_wh", inputs.grid_import),
                                           ("export_wh", inputs.grid_export)) if keys)
    if end <= start:
        use_sensor = bool(inputs.arrays) and all(a.irradiance for a in inputs.arrays)
        reference = (Reference("sensor", ", ".join(sorted({a.irradiance for a in inputs.arrays if a.irradiance})))
                     if use_sensor else Reference("clear-sky", "pvlib Ineichen/Linke, Hay-Davies"))
        empty = pd.DataFrame(columns=PERIOD_COLUMNS, index=pd.DatetimeIndex([], tz=LOCAL_TZ, name="start"),
                             dtype=float)
        return SiteKpis(inputs, pd.DataFrame(index=hour_index(start, start)), empty, empty.copy(), reference, nc,
                        pd.DataFrame(columns=["start", "device", "pv_kwh", "kwh_per_kwp", "kwp"]),
                        pd.DataFrame(columns=["device", "mean_dc_w", "share"]), measured)
    hourly, reference = hourly_frame(store, inputs, start, end)
    daily = aggregate(hourly, p0, "day", measured)
    monthly = aggregate(hourly, p0, "month", measured)
    for frame in (daily, monthly):
        for k in nc:
            if k in frame:
                frame[k] = np.nan
    return SiteKpis(inputs, hourly, daily, monthly, reference, nc, inverter_table(hourly, inputs, "month"),
                    mppt_shares(store, inputs, start, end), measured)
