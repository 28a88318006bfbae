"""Energy per hour and per local day from counters — the one rule for when it is known — and the site balance.

Savings, anomaly rules and solar KPIs all read energy through this module, so they count the
same hours and the same kWh (docs/ARCHITECTURE.md, "One owner per concept").

**The completeness rule.**  An hour's energy is *known* when every moment of the hour is
accounted for by the counter and the counter did not go backwards in it:

* every part of the hour lies between two consecutive readings that are at most the gap
  threshold apart (the counter is interpolated linearly at the hour's edges,
  :mod:`energimon.store.counters`), **or** in a gap across which the counter did not move —
  a non-decreasing counter that shows the same value on both sides of a gap used nothing in
  between, so each hour of it is a *proven zero* (an inverter asleep at night, a pump that
  was off while its meter stopped reporting); and
* the counter did not go backwards in the hour (a reset, rollover or meter swap: the energy
  between the last reading before it and the reset itself is unknown).

Otherwise the hour is unknown (NaN, never 0) with one reason, the first that applies of:

``reset``    the counter went backwards in the hour;
``gap``      part of the hour lies in a gap (readings further apart than the gap threshold) across
             which the counter moved: its energy cannot be split between hours without inventing a
             profile;
``no_data``  no reading interval touches the hour (before the first reading, after the last);
``partial``  the readings begin or end inside the hour (the series starts in it, or the hour's last
             minutes have not been read yet).

A local day (23, 24 or 25 hours, :mod:`energimon.calendar`) is known when each of its hours is,
and its energy is their sum; an unknown day carries the reason of its first unknown hour.  Days
are built from hours, never read as day windows of their own, so a day counts in a report exactly
when its hours count in every other output.

Why this rule and not the three that existed before it: the savings report used the store's
``complete`` flag (full coverage, no reset), the anomaly rules ``coverage >= 0.99`` and the solar
KPIs ``complete`` plus proven zeros.  A 99 % coverage takes an hour whose last 36 seconds were not
read as known and undercounts it silently (missing is not zero); the rules run at minute 7 of the
hour, after the hour's next reading is in, so they do not need that tolerance.  Without the proven
zero, a PV counter that stops reporting at night leaves every night hour — and so every day —
unknown although it provably produced nothing.  Strict coverage plus proven zeros is exact in both
cases.

**The site balance** (per hour, Wh): ``load = import − export + PV`` for electricity — the building's
own use, with PV production added back (IPMVP: gross consumption) — and the heat meters' sum for
district heating.  Several counters of one kind are summed, and the sum is unknown in an hour where
any of them is.  A site without an export counter is taken to export nothing and one without PV
counters to produce nothing; :attr:`SiteBalance.export_metered` and :attr:`SiteBalance.pv_metered`
say so, and figures that need them measured (self-consumption) are not computable there.  Before
``pv_since`` (the day the panels started) PV production is zero by definition, and so is a missing
export reading.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from energimon import carriers
from energimon.calendar import day_hours, local_day_of, local_midnight
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.counters import EnergyResult

KNOWN = ""
RESET = "reset"
GAP = "gap"
NO_DATA = "no_data"
PARTIAL = "partial"
REASONS = (RESET, GAP, NO_DATA, PARTIAL)
"""Why an hour or day is unknown, in the order they are tested (the first that applies is given)."""

HOUR_NS = 3_600_000_000_000
_EPS = 1e-9


class CounterStore(Protocol):
    """What this module needs of a store (:class:`energimon.store.base.Store`)."""

    def energy(self, key: SeriesKey, start: dt.datetime, end: dt.datetime, window: str,
               max_gap_s: float | None = None) -> EnergyResult: ...

    def series(self) -> pd.DataFrame: ...


# -- one counter -------------------------------------------------------------------------------------
def classify_hours(result: EnergyResult) -> pd.DataFrame:
    """The completeness rule applied to the store's hourly windows of one counter (pure).

    Returns ``energy_wh`` (NaN unless known) and ``reason`` (``""`` when known) per window start
    (Europe/Copenhagen)."""
    w = result.windows
    n = len(w)
    energy = w["energy_wh"].to_numpy(dtype=float).copy()
    coverage = w["coverage"].to_numpy(dtype=float)
    resets = w["resets"].to_numpy(dtype=np.int64)
    zero_h, moving_h = np.zeros(n), np.zeros(n)
    gaps = result.gaps
    if n and len(gaps):
        loose = gaps[~gaps["attributed"].to_numpy(dtype=bool)]
        starts = pd.DatetimeIndex(w.index).tz_convert("UTC").as_unit("ns").asi8
        ends = starts + HOUR_NS
        for g_start, g_end, g_wh in zip(loose["start"], loose["end"], loose["energy_wh"], strict=True):
            gs, ge = pd.Timestamp(g_start).as_unit("ns").value, pd.Timestamp(g_end).as_unit("ns").value
            overlap = np.clip(np.minimum(ends, ge) - np.maximum(starts, gs), 0, None) / HOUR_NS
            if abs(float(g_wh)) < _EPS:
                zero_h += overlap  # a flat counter across the gap: a proven zero
            else:
                moving_h += overlap
    known = (coverage + zero_h >= 1.0 - _EPS) & (resets == 0)
    energy = np.where(known & np.isnan(energy), 0.0, energy)  # an hour entirely inside a flat gap
    reason = np.where(known, KNOWN,
                      np.where(resets > 0, RESET,
                               np.where(moving_h > _EPS, GAP,
                                        np.where(coverage + zero_h <= _EPS, NO_DATA, PARTIAL))))
    index = pd.DatetimeIndex(w.index).tz_convert(LOCAL_TZ)
    return pd.DataFrame({"energy_wh": np.where(known, energy, np.nan), "reason": reason.astype(object)},
                        index=index)


@dataclass(frozen=True)
class CounterHours:
    """One counter's hours: ``hours`` (``energy_wh``, ``reason``) and the resets the store found."""

    key: SeriesKey
    hours: pd.DataFrame
    resets: pd.DataFrame

    @property
    def energy_wh(self) -> pd.Series:
        return self.hours["energy_wh"]


def counter_hours(store: CounterStore, key: SeriesKey, start: dt.datetime, end: dt.datetime) -> CounterHours:
    """Energy per hour of one counter over ``[start, end)`` (aware, on hour boundaries) by the completeness rule."""
    res = store.energy(key, start, end, "1h")
    hours = classify_hours(res)
    t0, t1 = pd.Timestamp(start), pd.Timestamp(end)
    return CounterHours(key, hours[(hours.index >= t0) & (hours.index < t1)], res.resets)


def hourly_energy_wh(store: CounterStore, key: SeriesKey, start: dt.datetime, end: dt.datetime) -> pd.Series:
    """Wh per hour of one counter over ``[start, end)``; NaN where unknown (see :func:`counter_hours`)."""
    return counter_hours(store, key, start, end).energy_wh


# -- days ----------------------------------------------------------------------------------------------
def daily(energy_wh: pd.Series, reason: pd.Series | None = None) -> pd.DataFrame:
    """Local days from hours (``energy_wh`` per local hour start, NaN where unknown, and optionally each hour's
    ``reason``): ``energy_wh`` (the sum of the day's hours when every one of its 23, 24 or 25 hours is known,
    else NaN), ``hours`` (of the day), ``hours_known`` and ``reason`` (the first unknown hour's; ``partial``
    when some of the day's hours lie outside the given ones).  Indexed by local midnight."""
    if energy_wh.empty:
        empty_index = pd.DatetimeIndex([], tz=LOCAL_TZ)
        return pd.DataFrame({"energy_wh": pd.Series(dtype=float, index=empty_index),
                             "hours": pd.Series(dtype=np.int64, index=empty_index),
                             "hours_known": pd.Series(dtype=np.int64, index=empty_index),
                             "reason": pd.Series(dtype=object, index=empty_index)})
    values = energy_wh.astype(float)
    key = local_day_of(pd.DatetimeIndex(values.index))
    known = values.notna()
    n_known = known.groupby(key).sum().astype(np.int64)
    days = pd.DatetimeIndex(n_known.index)
    n_hours = day_hours(days)
    total = values.groupby(key).sum(min_count=1)
    complete = n_known.to_numpy() == n_hours
    if reason is not None:
        first_reason = reason.reindex(values.index).where(~known).groupby(key).first()
        reasons = first_reason.reindex(days).fillna(PARTIAL).to_numpy(dtype=object)
    else:
        reasons = np.full(len(days), PARTIAL, dtype=object)
    reasons = np.where(complete, KNOWN, reasons)
    return pd.DataFrame({"energy_wh": np.where(complete, total.reindex(days).to_numpy(dtype=float), np.nan),
                         "hours": n_hours, "hours_known": n_known.to_numpy(), "reason": reasons}, index=days)


def daily_energy_wh(store: CounterStore, key: SeriesKey, start: dt.date, end: dt.date) -> pd.DataFrame:
    """:func:`daily` of one counter over the local days ``[start, end)``."""
    hours = counter_hours(store, key, local_midnight(start), local_midnight(end)).hours
    return daily(hours["energy_wh"], hours["reason"])


# -- the site balance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteMeters:
    """Which counters make one site's balance for one carrier.

    ``consumption``: grid import counters (electricity) or heat meters (district heating); ``export``
    and ``pv`` only for electricity.  ``pv_since``: the day the panels started (PV and a missing export
    reading are zero before it)."""

    site: str
    consumption: tuple[SeriesKey, ...]
    export: tuple[SeriesKey, ...] = ()
    pv: tuple[SeriesKey, ...] = ()
    carrier: str = "electricity"
    pv_since: dt.date | None = None

    @property
    def counters(self) -> tuple[SeriesKey, ...]:
        return (*self.consumption, *self.export, *self.pv)


def _devices(rows: pd.DataFrame, live: Callable[[str], bool] | None) -> list[str]:
    devices = sorted(str(d) for d in rows["device"].unique())
    if live is None:
        return devices
    mine = [d for d in devices if live(d)]
    return mine or devices


def site_meters(series: pd.DataFrame, site: str, carrier: str = "electricity",
                live: Callable[[str], bool] | None = None) -> SiteMeters:
    """The site's counters by role from the store's series list (columns site, device, channel, role).

    Electricity: every ``grid`` device with ``energy_import_wh``, their ``energy_export_wh`` (only when every
    one of them has one: a meter without an export counter makes the site's export unmeasured), every ``pv``
    device with ``pv_energy_wh``.  District heating: every ``heat`` device with ``heat_energy_wh``.

    ``live(device)`` tells devices read live from those imported (a DataHub series of the same meter): when a
    role has live devices, only they count — the imported copy lags and would count the same energy twice.
    """
    c = carriers.carrier(carrier)
    s = series[series["site"] == site]

    def keys(role: str, channel: str, among: Iterable[str] | None = None) -> tuple[SeriesKey, ...]:
        rows = s[(s["role"] == role) & (s["channel"] == channel)]
        if among is not None:
            rows = rows[rows["device"].isin(list(among))]
            return tuple(SeriesKey(site, d, channel) for d in sorted(str(x) for x in rows["device"].unique()))
        return tuple(SeriesKey(site, d, channel) for d in _devices(rows, live))

    role, channel = c.role.value, c.channel
    consumption = keys(role, channel)
    if carrier != "electricity":
        return SiteMeters(site, consumption, carrier=carrier)
    export = keys("grid", "energy_export_wh", [k.device for k in consumption])
    if len(export) != len(consumption):
        export = ()
    return SiteMeters(site, consumption, export, keys("pv", "pv_energy_wh"))


@dataclass(frozen=True)
class SiteBalance:
    """A site's hourly balance (Wh per local hour start) and the counters it was made from.

    ``hourly`` columns: ``import_wh`` (the consumption counters), ``export_wh``, ``pv_wh``, ``load_wh``
    (= import − export + PV) and ``reason`` (why ``load_wh`` is unknown: the first unknown counter's reason).
    """

    meters: SiteMeters
    hourly: pd.DataFrame
    counters: dict[SeriesKey, CounterHours] = field(default_factory=dict)

    @property
    def export_metered(self) -> bool:
        return bool(self.meters.export)

    @property
    def pv_metered(self) -> bool:
        return bool(self.meters.pv)

    def daily(self) -> pd.DataFrame:
        """:func:`daily` of the load."""
        return daily(self.hourly["load_wh"], self.hourly["reason"])


def _sum_counters(parts: list[CounterHours], index: pd.DatetimeIndex
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    total = np.zeros(len(index))
    reason = np.full(len(index), KNOWN, dtype=object)
    for p in parts:
        h = p.hours.reindex(index)
        total = total + h["energy_wh"].to_numpy(dtype=float)
        r = h["reason"].fillna(NO_DATA).to_numpy(dtype=object)
        reason = np.where(reason == KNOWN, r, reason)
    return total, reason


def site_balance(store: CounterStore, meters: SiteMeters, start: dt.datetime, end: dt.datetime) -> SiteBalance:
    """The hourly balance of ``meters`` over ``[start, end)`` (aware, on hour boundaries)."""
    t0, t1 = pd.Timestamp(start).tz_convert("UTC"), pd.Timestamp(end).tz_convert("UTC")
    index = pd.DatetimeIndex(pd.date_range(t0, t1, freq="h", inclusive="left").tz_convert(LOCAL_TZ))
    got = {k: counter_hours(store, k, start, end) for k in meters.counters}
    imp, r_imp = _sum_counters([got[k] for k in meters.consumption], index)
    if not meters.consumption:
        imp, r_imp = np.full(len(index), np.nan), np.full(len(index), NO_DATA, dtype=object)
    exp, r_exp = _sum_counters([got[k] for k in meters.export], index)
    pv, r_pv = _sum_counters([got[k] for k in meters.pv], index)
    if meters.pv_since is not None:
        before = np.asarray(index < pd.Timestamp(local_midnight(meters.pv_since)))
        pv = np.where(before, 0.0, pv)
        r_pv = np.where(before, KNOWN, r_pv)
        missing = before & np.isnan(exp)
        exp = np.where(missing, 0.0, exp)  # nothing to export before the panels
        r_exp = np.where(missing, KNOWN, r_exp)
    load = imp - exp + pv
    reason = np.where(r_imp != KNOWN, r_imp, np.where(r_exp != KNOWN, r_exp, r_pv))
    hourly = pd.DataFrame({"import_wh": imp, "export_wh": exp, "pv_wh": pv, "load_wh": load,
                           "reason": np.where(np.isnan(load), reason, KNOWN)}, index=index)
    return SiteBalance(meters, hourly, got)


def site_balance_days(store: CounterStore, meters: SiteMeters, start: dt.date, end: dt.date) -> SiteBalance:
    """:func:`site_balance` over the local days ``[start, end)``."""
    return site_balance(store, meters, local_midnight(start), local_midnight(end))

