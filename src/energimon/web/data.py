"""What the pages show, read from the store's public interface (no SQL here).

Energy per window comes from the energy counters, never from sampled power:

* views of up to a week (hours of a day, days of a week) use :meth:`Store.energy` — counters interpolated at
  the window edges, resets and gaps flagged by the store;
* month and year views (days of a month, months of a year) use the counter's last reading at or before
  each window edge (:func:`counter_at_edges`, one short read per edge: 32 or 13 reads of at most
  ``EDGE_LOOKBACK_S``), so a year of 1-minute readings is never pulled out of the store for a page.  A window
  whose counter goes down (reset, meter swap) or lacks a reading near an edge is unknown (NaN), never zero.
  The difference to the interpolated edges is at most the energy of one sampling interval moving to the
  next window.

Power curves (day and week views) are the store's per-window means of ``power_w`` (``store.aggregate``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon import carriers
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.windows import Window

EDGE_LOOKBACK_S = 3 * 3600
"""How far before a window edge the last counter reading may lie (1-minute to hourly data; imports of
hourly DataHub data have a reading every hour)."""

CARRIERS: tuple[tuple[str, str, str, str, str], ...] = (
    # key, Danish label, device role, counter channel, unit shown: the electricity flows, then every other carrier
    # of energimon.carriers (its counter, in its unit: kWh or m³)
    ("import", "El købt fra nettet", "grid", "energy_import_wh", "kWh"),
    ("export", "El solgt til nettet", "grid", "energy_export_wh", "kWh"),
    ("pv", "Solcelleproduktion", "pv", "pv_energy_wh", "kWh"),
    *((c.key, c.da.capitalize(), c.role.value, c.channel, c.unit)
      for c in carriers.CARRIERS.values() if c is not carriers.ELECTRICITY),
)
CARRIER_LABEL = {k: label for k, label, _, _, _ in CARRIERS}
CARRIER_UNIT = {k: unit for k, _, _, _, unit in CARRIERS}

VIEWS = {
    # view: (sub-window, Danish name, label format of a sub-window)
    "day": ("1h", "Døgn", "%H"),
    "week": ("day", "Uge", "%a %d."),
    "month": ("day", "Måned", "%d."),
    "year": ("month", "År", "%b"),
}
MONTHS_DA = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
             "november", "december")
WEEKDAYS_DA = ("man", "tir", "ons", "tor", "fre", "lør", "søn")


@dataclass(frozen=True)
class Period:
    view: str
    start: dt.datetime  # local, aware
    end: dt.datetime
    window: str
    label: str
    prev: dt.date
    next: dt.date
    day: dt.date  # the period's first day
    anchor: dt.date  # the day asked for: switching views keeps it (a month view from a week's day)


def period(view: str, day: dt.date) -> Period:
    """The local calendar period of ``view`` containing ``day``."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(VIEWS)}")

    def midnight(d: dt.date) -> dt.datetime:
        return dt.datetime.combine(d, dt.time(), tzinfo=LOCAL_TZ)

    if view == "day":
        a, b = day, day + dt.timedelta(days=1)
        label = f"{WEEKDAYS_DA[day.weekday()]} {day.day}. {MONTHS_DA[day.month - 1]} {day.year}"
        prev, nxt = a - dt.timedelta(days=1), b
    elif view == "week":
        a = day - dt.timedelta(days=day.weekday())
        b = a + dt.timedelta(days=7)
        label = f"uge {a.isocalendar().week} {a.isocalendar().year}"
        prev, nxt = a - dt.timedelta(days=7), b
    elif view == "month":
        a = day.replace(day=1)
        b = (a + dt.timedelta(days=32)).replace(day=1)
        label = f"{MONTHS_DA[a.month - 1]} {a.year}"
        prev, nxt = (a - dt.timedelta(days=1)).replace(day=1), b
    else:
        a, b = day.replace(month=1, day=1), day.replace(year=day.year + 1, month=1, day=1)
        label = str(a.year)
        prev, nxt = a.replace(year=a.year - 1), b
    return Period(view, midnight(a), midnight(b), VIEWS[view][0], label, prev, nxt, a, day)


def window_label(view: str, t: pd.Timestamp) -> str:
    t = t.tz_convert(LOCAL_TZ)
    if view == "day":
        return f"{t:%H}"
    if view == "week":
        return f"{WEEKDAYS_DA[t.weekday()]} {t.day}."
    if view == "month":
        return f"{t.day}."
    return MONTHS_DA[t.month - 1][:3]


def counter_at_edges(store, key: SeriesKey, edges: pd.DatetimeIndex, lookback_s: float = EDGE_LOOKBACK_S
                     ) -> np.ndarray:
    """The counter's last reading at or before each edge (within ``lookback_s``), NaN where there is none."""
    out = np.full(len(edges), np.nan)
    look_ms = int(lookback_s * 1000)
    for i, e in enumerate(edges):
        e_ms = int(e.value // 1_000_000)
        _, v = store.read_raw_ms(key, e_ms - look_ms, e_ms + 1)
        if len(v):
            out[i] = v[-1]
    return out


def energy_kwh(store, key: SeriesKey, start: dt.datetime, end: dt.datetime, window: str,
               now: dt.datetime | None = None) -> pd.Series:
    """Energy (kWh) per ``window`` in ``[start, end)``, indexed by window start (local); NaN = unknown."""
    edges = Window(window).edges(start, end)
    if now is not None:  # windows not yet begun have no energy (not zero): keep them out; the running one stays
        t = pd.Timestamp(now).tz_convert("UTC")
        edges = edges[: int(edges.searchsorted(t, side="left")) + 1]
    if len(edges) < 2:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz=LOCAL_TZ))
    if (edges[-1] - edges[0]) <= pd.Timedelta(days=8):
        res = store.energy(key, edges[0].to_pydatetime(), edges[-1].to_pydatetime(), window)
        w = res.windows
        kwh = w["energy_wh"].where(w["coverage"] > 0) / 1000.0
        kwh.index = pd.DatetimeIndex(kwh.index).tz_convert(LOCAL_TZ)
        return kwh.reindex(edges[:-1].tz_convert(LOCAL_TZ))
    # the running window's end is now: its counter value is the latest reading
    last = edges.copy()
    if now is not None and last[-1] > pd.Timestamp(now):
        last = pd.DatetimeIndex(last[:-1].append(pd.DatetimeIndex([pd.Timestamp(now).tz_convert("UTC")])))
    v = counter_at_edges(store, key, last)
    d = np.diff(v)
    d[d < 0] = np.nan  # a counter going down: a reset or meter swap — the window's energy is unknown
    return pd.Series(d / 1000.0, index=edges[:-1].tz_convert(LOCAL_TZ))


@dataclass
class CarrierSeries:
    key: str
    label: str
    kwh: pd.Series  # per window in ``unit`` (kWh, or m³ for natural gas and water), NaN unknown
    devices: list[str] = field(default_factory=list)
    unit: str = "kWh"

    @property
    def total(self) -> float:
        return float(self.kwh.sum(min_count=1)) if len(self.kwh) else math.nan

    @property
    def unknown_windows(self) -> int:
        return int(self.kwh.isna().sum())


def site_counters(series: pd.DataFrame, site: str) -> dict[str, list[SeriesKey]]:
    """The counter series of each carrier at ``site`` (from the store's series list)."""
    out: dict[str, list[SeriesKey]] = {}
    rows = series[series["site"] == site]
    for key, _, role, channel, _ in CARRIERS:
        keys = [SeriesKey(site, str(r.device), channel) for r in rows.itertuples()
                if r.channel == channel and r.role == role]
        if keys:
            out[key] = keys
    return out


def carrier_energy(store, keys: list[SeriesKey], key: str, p: Period, now: dt.datetime) -> CarrierSeries:
    total = None
    unit = CARRIER_UNIT[key]
    for k in keys:
        s = energy_kwh(store, k, p.start, p.end, p.window, now)
        if unit == "m³":  # energy_kwh divides a Wh counter by 1000; a volume counter is already in m³
            s = s * 1000.0
        total = s if total is None else total.add(s)  # NaN in any device: the sum is unknown
    return CarrierSeries(key, CARRIER_LABEL[key], total if total is not None else pd.Series(dtype=float),
                         [k.device for k in keys], unit)


def power_curve_w(store, series: pd.DataFrame, site: str, p: Period) -> pd.Series | None:
    """Mean grid power (W) per 15 minutes (day view) or hour (week view), summed over the site's grid meters."""
    if p.view not in ("day", "week"):
        return None
    rows = series[(series["site"] == site) & (series["channel"] == "power_w") & (series["role"] == "grid")]
    if rows.empty:
        return None
    window = "15min" if p.view == "day" else "1h"
    parts = [store.aggregate(SeriesKey(site, str(r.device), "power_w"), p.start, p.end, window, "mean")
             for r in rows.itertuples()]
    total = parts[0]
    for s in parts[1:]:
        total = total.add(s)
    total.index = pd.DatetimeIndex(total.index).tz_convert(LOCAL_TZ)
    return total


@dataclass
class BuildingData:
    site: str
    period: Period
    carriers: list[CarrierSeries]
    power_w: pd.Series | None
    self_consumption_kwh: float
    self_sufficiency: float
    now: dt.datetime

    def carrier(self, key: str) -> CarrierSeries | None:
        return next((c for c in self.carriers if c.key == key), None)


def building_data(store, series: pd.DataFrame, site: str, p: Period, now: dt.datetime) -> BuildingData:
    counters = site_counters(series, site)
    carriers = [carrier_energy(store, keys, key, p, now) for key, keys in counters.items()]
    by = {c.key: c for c in carriers}
    pv, exp, imp = by.get("pv"), by.get("export"), by.get("import")
    self_kwh = self_share = math.nan
    if pv is not None and imp is not None:
        # egetforbrug = PV produced − PV exported; selvforsyningsgrad = egetforbrug / (import + egetforbrug)
        pv_t = pv.total
        exp_t = exp.total if exp is not None else 0.0
        self_kwh = pv_t - exp_t
        if math.isfinite(self_kwh) and math.isfinite(imp.total) and imp.total + self_kwh > 0:
            self_share = self_kwh / (imp.total + self_kwh)
    return BuildingData(site, p, carriers, power_curve_w(store, series, site, p), self_kwh, self_share, now)


# -- device health and the portfolio ---------------------------------------------------------
@dataclass(frozen=True)
class DeviceHealth:
    device: str
    role: str
    last: pd.Timestamp | None
    age_s: float | None
    online: bool | None  # the poller's device_online, None for imported/MQTT series


def device_health(latest: pd.DataFrame, site: str, now: dt.datetime) -> list[DeviceHealth]:
    rows = latest[latest["site"] == site]
    out = []
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    for device, g in rows.groupby("device", sort=True):
        data = g[~g["channel"].isin(("device_online", "poll_errors"))]
        last = data["time"].max() if not data.empty else None
        online = g.loc[g["channel"] == "device_online", "value"]
        out.append(DeviceHealth(str(device), str(g["role"].iloc[0]), last,
                                (now_ts - last).total_seconds() if last is not None else None,
                                bool(online.iloc[0] >= 1) if len(online) else None))
    return out


def fmt_age(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "ingen data"
    if seconds < -300:  # readings stamped ahead of the server's clock: a clock or import problem, said so
        return "i fremtiden"
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} timer"
    return f"{seconds / 86400:.0f} dage"


@dataclass
class PortfolioRow:
    site: str
    name: str
    month_kwh: float  # grid import this month so far
    last_year_kwh: float  # the same days last year (degree-day corrected when ``corrected``)
    heat_kwh: float
    heat_last_year_kwh: float
    per_m2: float
    open_alerts: int
    freshness_s: float | None  # the oldest device's age
    baseline_kwh: float = math.nan  # the same days in the ESCO baseline year
    corrected: bool = False

    @property
    def change_pct(self) -> float:
        if not (math.isfinite(self.month_kwh) and math.isfinite(self.last_year_kwh)) or self.last_year_kwh <= 0:
            return math.nan
        return (self.month_kwh / self.last_year_kwh - 1.0) * 100.0


def _same_time_last_year(t: pd.Timestamp) -> pd.Timestamp:
    local = t.tz_convert(LOCAL_TZ)
    day = min(local.day, 28) if local.month == 2 else local.day
    return pd.Timestamp(dt.datetime(local.year - 1, local.month, day, local.hour, local.minute, tzinfo=LOCAL_TZ))


def same_days_kwh(store, keys: list[SeriesKey], now: dt.datetime, year: int) -> float:
    """kWh in this month's days so far, but in ``year`` (e.g. the ESCO baseline year), summed over ``keys``."""
    t = pd.Timestamp(now).tz_convert(LOCAL_TZ)
    day = min(t.day, 28) if t.month == 2 else t.day
    a = pd.Timestamp(dt.datetime(year, t.month, 1, tzinfo=LOCAL_TZ))
    b = pd.Timestamp(dt.datetime(year, t.month, day, t.hour, t.minute, tzinfo=LOCAL_TZ))
    total = 0.0
    for k in keys:
        v = counter_at_edges(store, k, pd.DatetimeIndex([a, b]).tz_convert("UTC"))
        d = v[1] - v[0]
        total += d / 1000.0 if d >= 0 else math.nan
    return total if keys else math.nan


def degree_days_so_far(store, temperature: SeriesKey, now: dt.datetime) -> tuple[float, float]:
    """Heating degree days (17 °C base) this month so far and in the same days last year, from the store's
    outdoor temperature (NaN when a day's mean is missing)."""
    from energimon.analytics.degree_days import daily_mean_temperature_c, heating_degree_days_c

    t = pd.Timestamp(now).tz_convert(LOCAL_TZ)
    m0 = pd.Timestamp(dt.datetime(t.year, t.month, 1, tzinfo=LOCAL_TZ))
    out = []
    for a, b in ((m0, t.normalize()), (_same_time_last_year(m0), _same_time_last_year(t.normalize()))):
        if b <= a:
            return math.nan, math.nan
        temps = daily_mean_temperature_c(store, temperature, a.to_pydatetime(), b.to_pydatetime())
        dd = heating_degree_days_c(temps.to_numpy())
        out.append(float(np.sum(dd)) if len(dd) and not np.isnan(dd).any() else math.nan)
    return out[0], out[1]


def month_so_far_kwh(store, keys: list[SeriesKey], now: dt.datetime) -> tuple[float, float]:
    """(kWh this month up to now, kWh in the same days and hours last year), summed over ``keys``."""
    t = pd.Timestamp(now).tz_convert(LOCAL_TZ)
    m0 = pd.Timestamp(dt.datetime(t.year, t.month, 1, tzinfo=LOCAL_TZ))
    ly0, ly1 = _same_time_last_year(m0), _same_time_last_year(t)
    this = last = 0.0
    for k in keys:
        v = counter_at_edges(store, k, pd.DatetimeIndex([m0, t, ly0, ly1]).tz_convert("UTC"))
        a, b = v[1] - v[0], v[3] - v[2]
        this += a / 1000.0 if a >= 0 else math.nan
        last += b / 1000.0 if b >= 0 else math.nan
    return (this if keys else math.nan), (last if keys else math.nan)
