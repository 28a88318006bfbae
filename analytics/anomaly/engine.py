"""Run every rule for every site: read the store (only the store), call the pure rules, price the findings.

:func:`evaluate_site` is the pure core (used live and by ``bench/anomaly_eval.py``);
:func:`load_site_data` builds its input from the store's query interface;
:func:`evaluate` does both for all configured sites at ``now``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from energimon.analytics.anomaly import heat_water, rules
from energimon.analytics.anomaly import model as model_mod
from energimon.analytics.anomaly import pv as pv_mod
from energimon.analytics.anomaly import sources as sources_mod
from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.findings import Finding, supersede
from energimon.analytics.anomaly.settings import AlertSettings
from energimon.calendar import local_midnight
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store import energy

log = logging.getLogger(__name__)
HOUR = pd.Timedelta(hours=1)
HISTORY_DAYS = 70  # enough for the model's fit window (min history + lag) and the night reference
HEAT_HISTORY_DAYS = 372  # a year + the lag: the heat model's change point needs heating days even in summer


@dataclass
class CounterData:
    """An energy counter of one device: hourly energy (kWh) and its resets."""

    device: str
    channel: str
    kwh: pd.Series
    resets: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["time", "before", "after"]))
    power_max_w: float = float("nan")  # highest power reading of the device in the last 24 h


@dataclass
class SiteData:
    """Everything the rules need about one site, up to ``end`` (the end of the last complete hour)."""

    site: str
    calendar: SiteCalendar
    grid_device: str | None = None
    hourly: pd.DataFrame | None = None  # rules.hourly_frame + temp_c: the building's load
    heat_device: str | None = None
    heat_hourly: pd.DataFrame | None = None  # kwh, open, temp_c
    heat_history: Callable[[], pd.DataFrame] | None = None  # a year of heat_hourly, read only to refit
    pv_device: str | None = None
    pv: pd.DataFrame | None = None  # pv_kwh, clear_kwh, poa_w_m2 (sib_ratio added by evaluate)
    kwp: float = 0.0
    counters: list[CounterData] = field(default_factory=list)
    latest: pd.DataFrame | None = None  # store.latest() rows of this site
    roles: dict[str, str] = field(default_factory=dict)  # device -> role
    # device -> "live" | "import" | "historic" (analytics/anomaly/sources.py); a device not in it is live
    sources: dict[str, str] = field(default_factory=dict)
    imports: dict[str, sources_mod.ImportedDevice] = field(default_factory=dict)  # imported device -> its label
    cooling: dict[str, pd.DataFrame] = field(default_factory=dict)  # heat meter -> its days' cooling (heat_water)
    water_nights: dict[str, pd.Series] = field(default_factory=dict)  # water meter -> nightly minimum flow, m³/h
    _night: pd.Series | None = None

    def is_live(self, device: str) -> bool:
        return self.sources.get(device, sources_mod.LIVE) == sources_mod.LIVE

    def night_kw(self, start_h: int, end_h: int) -> pd.Series:
        if self._night is None:
            if self.hourly is None:
                raise ValueError(f"site {self.site}: the night load needs the site's hourly load (no grid meter)")
            self._night = rules.night_kw_by_date(self.hourly, start_h, end_h)
        return self._night


class ModelCache:
    """Expected models per (site, meter), refitted once per local day (idempotent: same day, same model)."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], tuple[dt.date, model_mod.ExpectedModel | None]] = {}

    def get(self, site: str, meter: str, hourly: pd.DataFrame | Callable[[], pd.DataFrame], today: dt.date,
            min_days: int, lag_days: int = 7, fit_days: int = 56,
            time_of_week: bool = True) -> model_mod.ExpectedModel | None:
        """``hourly`` may be a function returning the frame: it is called only when a refit is due."""
        hit = self._models.get((site, meter))
        if hit is not None and hit[0] == today:
            return hit[1]
        if callable(hourly):
            hourly = hourly()
        hi = pd.Timestamp(local_midnight(today - dt.timedelta(days=lag_days)))
        lo = hi - pd.Timedelta(days=fit_days)
        fitted = model_mod.fit_expected(hourly[(hourly.index >= lo) & (hourly.index < hi)], min_days,
                                        time_of_week=time_of_week)
        self._models[(site, meter)] = (today, fitted)
        return fitted


def _daily_actual_expected(hourly: pd.DataFrame, m: model_mod.ExpectedModel,
                           calendar: SiteCalendar | None = None) -> pd.DataFrame:
    """Actual and expected kWh per local day, actual only for days whose every hour is known
    (:func:`energimon.store.energy.daily`: a day of 23, 24 or 25 hours); ``special``: the calendar explains the
    day as unusual (holiday, closure, school holiday, an event), where the model has the fewest examples."""
    days = energy.daily(hourly["kwh"] * 1000.0)  # the store's day rule works in Wh
    actual = pd.Series(days["energy_wh"].to_numpy() / 1000.0, index=pd.DatetimeIndex(days.index).date)
    exp = m.daily(hourly)
    out = exp.copy()
    out["actual_kwh"] = actual.reindex(exp.index)
    out.index = pd.Index(out.index)
    if calendar is not None:
        event_days = {e.start_local().date() for e in calendar.cfg.events}
        out["special"] = [calendar.day(d).calendar_known or d in event_days for d in out.index]
    return out


def evaluate_site(data: SiteData, cfg: AlertSettings, end: pd.Timestamp, now: dt.datetime,
                  models: ModelCache | None = None) -> list[Finding]:
    """All rules for one site at ``end`` (a local hour boundary); ``now`` for staleness."""
    r = cfg.rules
    out: list[Finding | None] = []  # a rule returns None when it does not fire
    site = data.site
    ref = float("nan")
    end_local = end.tz_convert(LOCAL_TZ)
    last_day = (end_local - pd.Timedelta(hours=1)).date()
    complete_day = last_day if end_local.hour == 0 else last_day - dt.timedelta(days=1)
    if data.hourly is not None and data.grid_device:
        dev = data.grid_device
        nl = r.night_load
        night = data.night_kw(nl.night_start_h, nl.night_end_h)
        ref = rules.reference_kw(night, end_local.date(), nl.reference_days, nl.reference_lag_days)
        if nl.enabled:
            out.append(rules.night_load(data.hourly, night, end, nl, site, dev))
        if r.out_of_hours.enabled:
            out.append(rules.out_of_hours(data.hourly, ref, end, r.out_of_hours,
                                          (nl.night_start_h, nl.night_end_h), site, dev))
        if r.never_base.enabled:
            out.append(rules.never_base(data.hourly, ref, end, r.never_base, site, dev))
        if models is not None and (r.deviation.enabled or r.cusum.enabled):
            m = models.get(site, dev, data.hourly, end_local.date(), cfg.min_history_days)
            if m is not None:
                daily = _daily_actual_expected(_recent(data.hourly, end), m, data.calendar)
                if r.deviation.enabled:
                    out.append(model_mod.deviation(daily, complete_day, r.deviation, site, dev))
                if r.cusum.enabled:
                    out.append(model_mod.cusum(daily, complete_day, m.sigma_kwh_per_day, r.cusum, site, dev))
    if data.heat_hourly is not None and data.heat_device and models is not None and r.heat_deviation.enabled:
        # heat: a year of history, so the change point sees heating days even in summer
        m = models.get(site, data.heat_device, data.heat_history or data.heat_hourly, end_local.date(),
                       cfg.min_history_days, fit_days=365, time_of_week=False)
        if m is not None:
            daily = _daily_actual_expected(_recent(data.heat_hourly, end), m)
            f = model_mod.deviation(daily, complete_day, r.heat_deviation, site, data.heat_device,
                                    channel="heat_kwh")
            if f is not None:
                f.rule = "heat_deviation"
                out.append(f)
    dq = r.data_quality
    if dq.enabled:
        site_cfg = cfg.site(site)
        for c in data.counters:
            pv_kwh = data.pv["pv_kwh"] if data.pv is not None else None
            if data.is_live(c.device):  # an imported or historic counter is not "stuck" or "reset" now
                if c.channel != "pv_energy_wh":
                    out.append(rules.stuck_counter(c.kwh, pv_kwh, ref if c.device == data.grid_device else
                                                   _own_ref(c.kwh, end), end, dq, site, c.device, c.channel))
                out.append(rules.counter_resets(c.resets, end, dq, site, c.device, c.channel))
            win = c.kwh[(c.kwh.index >= end - 24 * HOUR) & (c.kwh.index < end)]
            hour_max = float(win.max()) if win.notna().any() else float("nan")
            out.append(rules.impossible_values(c.power_max_w, hour_max, site_cfg.rated_power_w.get(c.device),
                                               end, dq, site, c.device, c.channel))
        if data.latest is not None and not data.latest.empty:
            silent: dict[str, Finding | None] = {}
            for key, rows in data.latest.groupby("device"):
                dev = str(key)
                if not data.is_live(dev):  # old by nature: see the import_lag rule below
                    continue
                role = data.roles.get(dev, str(rows["role"].iloc[0]))
                if role == "pv":
                    daylight = _daylight_now(data, now, r.pv.daylight_min_clearsky_w_m2)
                    silent[dev] = pv_mod.pv_offline(rows, now, daylight, dq, site, dev)
                else:
                    silent[dev] = rules.stale_device(rows, now, dq, site, dev, role)
            # A sub-device (inverter-mppt1) falls silent with its device: one alert, the device's, not three.
            out += [f for dev, f in silent.items()
                    if not any(dev.startswith(f"{other}-") and silent[other] is not None for other in silent)]
    lag = r.import_lag
    if lag.enabled and data.latest is not None and not data.latest.empty:
        for key, rows in data.latest.groupby("device"):
            dev = str(key)
            if data.sources.get(dev) == sources_mod.IMPORT:
                out.append(sources_mod.import_lag(rows, now, lag, site, dev, data.imports.get(dev)))
    if data.pv is not None and data.pv_device and r.pv.enabled and "sib_ratio" in data.pv:
        out.append(pv_mod.pv_zero(data.pv, end, r.pv, site, data.pv_device))
        out.append(pv_mod.pv_underperformance(data.pv, end, r.pv, site, data.pv_device, data.kwp))
        out.append(pv_mod.pv_envelope(data.pv, end, r.pv, site, data.pv_device, data.kwp))
    out += heat_water.findings(data, cfg, end, complete_day)
    found = [f for f in out if f is not None]
    # PV zero explains underperformance and offline explains zero: one mail per problem
    rules_by_dev = {(f.device, f.rule) for f in found}
    found = [f for f in found if not (f.rule == "pv_underperformance" and (f.device, "pv_zero") in rules_by_dev)]
    price = cfg.site(site).price_dkk_per_kwh or cfg.price_dkk_per_kwh
    for f in found:
        if f.kwh_per_day is not None:
            p = cfg.heat_price_dkk_per_kwh if f.rule == "heat_deviation" else price
            f.dkk_per_day = round(f.kwh_per_day * p, 0)
    return supersede(found)


def _recent(hourly: pd.DataFrame, end: pd.Timestamp, days: int = 35) -> pd.DataFrame:
    """The whole local days of the last ``days`` days before ``end`` (what deviation and CUSUM look at)."""
    lo = pd.Timestamp(local_midnight((end - pd.Timedelta(days=days)).tz_convert(LOCAL_TZ).date()))
    return hourly[(hourly.index >= lo) & (hourly.index < end)]


def _own_ref(kwh: pd.Series, end: pd.Timestamp) -> float:
    """Reference load of a counter without a night reference: the 10th percentile of its last 14 days."""
    s = kwh[(kwh.index >= end - 14 * 24 * HOUR) & (kwh.index < end - 24 * HOUR)].dropna()
    return float(np.percentile(s, 10)) if len(s) >= 24 * 7 else float("nan")


def _daylight_now(data: SiteData, now: dt.datetime, threshold: float) -> bool:
    """Whether an inverter is expected to answer now: the clear-sky in-plane irradiance of the newest hour the
    site's frame has at or before now.  The frame ends with the last complete hour, so now's own hour is never
    in it (asking for it alone made every hour daylight: "Inverteren svarer ikke … mens det er lyst" at 22:00)."""
    if data.pv is None or data.pv.empty:
        return True
    t = pd.Timestamp(now).tz_convert(LOCAL_TZ).floor("h")
    known = data.pv.loc[data.pv.index <= t, "poa_w_m2"]
    return True if known.empty else bool(known.iloc[-1] >= threshold)


def add_sibling_ratios(sites: list[SiteData]) -> None:
    """``sib_ratio`` per hour for every site: the median ``pv_kwh / clear_kwh`` of the *other* sites."""
    frames = {s.site: s.pv for s in sites if s.pv is not None and not s.pv.empty}
    ratios = {}
    for sid, f in frames.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[sid] = (f["pv_kwh"] / f["clear_kwh"].where(f["clear_kwh"] > 0)).clip(upper=1.5)
    for sid, f in frames.items():
        others = [ratios[o] for o in ratios if o != sid]
        if others:
            f["sib_ratio"] = pd.concat(others, axis=1).reindex(f.index).median(axis=1, skipna=True)


# -- reading the store ---------------------------------------------------------------------------
POWER_OF = {"energy_import_wh": "power_w", "heat_energy_wh": "heat_power_w", "pv_energy_wh": "pv_power_w"}


def load_site_data(store, settings, site_id: str, end: pd.Timestamp, series: pd.DataFrame | None = None,
                   latest: pd.DataFrame | None = None, days: int = HISTORY_DAYS) -> SiteData:
    """Build :class:`SiteData` for ``site_id`` from the store, for ``days`` days up to ``end``.

    Energy is the site balance of :mod:`energimon.store.energy` (the building's load = grid import − export +
    PV, and the heat meters), with the store's one completeness rule: the rules see exactly the hours and kWh
    the savings and solar reports count."""
    cfg: AlertSettings = settings.alerts or AlertSettings()
    site = settings.sites[site_id]
    cal = SiteCalendar(cfg.site(site_id))
    series = store.series() if series is None else series
    latest = store.latest() if latest is None else latest
    mine = series[series["site"] == site_id]
    roles = dict(zip(mine["device"], mine["role"], strict=False))
    start = end - pd.Timedelta(days=days)
    disabled = {d.id for d in settings.devices if d.site == site_id and not d.enabled}
    site_latest = latest[(latest["site"] == site_id) & ~latest["device"].isin(disabled)]
    srcs = {d: sources_mod.device_source(settings, site_id, d, str(r)) for d, r in roles.items()}
    data = SiteData(site=site_id, calendar=cal, roles=roles, latest=site_latest, sources=srcs,
                    imports=sources_mod.import_devices(settings, site_id))

    def live(device: str) -> bool:
        """A live device wins over an imported DataHub series of the same meter (it lags by days and would
        double-count)."""
        return srcs.get(device) == sources_mod.LIVE

    idx = pd.date_range(start, end, freq="1h", inclusive="left").tz_convert(LOCAL_TZ)
    channels = {(str(d), str(c)) for d, c in zip(mine["device"], mine["channel"], strict=True)}

    def add_counters(balance: energy.SiteBalance, keys: tuple[SeriesKey, ...]) -> None:
        for k in keys:
            pmax = float("nan")
            if (k.device, POWER_OF.get(k.channel, "")) in channels:
                agg = store.aggregate(SeriesKey(site_id, k.device, POWER_OF[k.channel]),
                                      (end - 24 * HOUR).to_pydatetime(), end.to_pydatetime(), "1h", "max")
                pmax = float(agg.max()) if agg.notna().any() else float("nan")
            c = balance.counters[k]
            data.counters.append(CounterData(k.device, k.channel, (c.energy_wh / 1000.0).reindex(idx), c.resets, pmax))

    temp = temp_key = None
    temp_rows = series[series["channel"] == "outdoor_temp_c"]
    if not temp_rows.empty:  # the site's own sensor, else any in the portfolio
        own = temp_rows[temp_rows["site"] == site_id]
        row = (own if not own.empty else temp_rows).iloc[0]
        temp_key = SeriesKey(row["site"], row["device"], "outdoor_temp_c")
        temp = store.aggregate(temp_key, start.to_pydatetime(), end.to_pydatetime(), "1h", "mean").reindex(idx)
    elec = energy.site_meters(series, site_id, "electricity", live)
    if elec.consumption or elec.pv:
        bal = energy.site_balance(store, elec, start.to_pydatetime(), end.to_pydatetime())
        add_counters(bal, (*elec.pv, *elec.consumption, *elec.export))
        pv_total = bal.hourly["pv_wh"].reindex(idx) / 1000.0 if elec.pv else None
        if elec.pv and site.pv:
            data.pv_device = elec.pv[0].device if len(elec.pv) == 1 else "pv"
            data.kwp = sum(a.kwp for a in site.pv)
            cs = pv_mod.clearsky_hourly_kwh(idx, site.latitude, site.longitude,
                                            [(a.kwp, a.tilt_deg, a.azimuth_deg) for a in site.pv])
            data.pv = pd.DataFrame({"pv_kwh": pv_total, "clear_kwh": cs["clear_kwh"], "poa_w_m2": cs["poa_w_m2"]})
        if elec.consumption:
            data.grid_device = elec.consumption[0].device
            load = bal.hourly["load_wh"].reindex(idx) / 1000.0
            data.hourly = rules.hourly_frame(load, cal, cfg.rules.out_of_hours.grace_h, pv_total)
            if temp is not None:
                data.hourly["temp_c"] = temp.to_numpy()
    heat = energy.site_meters(series, site_id, "district_heating", live)
    if heat.consumption:
        hbal = energy.site_balance(store, heat, start.to_pydatetime(), end.to_pydatetime())
        add_counters(hbal, heat.consumption)
        data.heat_device = heat.consumption[0].device
        data.heat_hourly = pd.DataFrame({"kwh": hbal.hourly["load_wh"].reindex(idx) / 1000.0,
                                         "open": cal.open_mask(idx)}, index=idx)
        if temp is not None:
            data.heat_hourly["temp_c"] = temp.to_numpy()

        def heat_history() -> pd.DataFrame:
            lo = end - pd.Timedelta(days=HEAT_HISTORY_DAYS)
            hidx = pd.date_range(lo, end, freq="1h", inclusive="left").tz_convert(LOCAL_TZ)
            hist = energy.site_balance(store, heat, lo.to_pydatetime(), end.to_pydatetime())
            frame = pd.DataFrame({"kwh": hist.hourly["load_wh"].reindex(hidx) / 1000.0,
                                  "open": cal.open_mask(hidx)}, index=hidx)
            if temp_key is not None:
                frame["temp_c"] = store.aggregate(temp_key, lo.to_pydatetime(), end.to_pydatetime(), "1h",
                                                  "mean").reindex(hidx).to_numpy()
            return frame

        data.heat_history = heat_history
    heat_water.load(store, data, cfg, series, end, live)
    return data


def evaluate(store, settings, now: dt.datetime, models: ModelCache | None = None) -> list[Finding]:
    """All rules for all sites at ``now`` (evaluated up to the last complete hour)."""
    cfg: AlertSettings = settings.alerts or AlertSettings()
    end = pd.Timestamp(now).tz_convert("UTC").floor("h")
    series, latest = store.series(), store.latest()
    datas = [load_site_data(store, settings, sid, end, series, latest) for sid in settings.sites]
    add_sibling_ratios(datas)
    found: list[Finding] = []
    for d in datas:
        try:
            found += evaluate_site(d, cfg, end, now, models)
        except Exception:  # one site's bad data must not stop the others
            log.exception("anomaly rules failed site=%s", d.site)
    return found
