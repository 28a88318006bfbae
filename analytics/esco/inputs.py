"""What the contract's sites measured: energy and outdoor temperature per local day, hour or calendar month.

Energy is the site balance of :mod:`energimon.store.energy` (the same hours and kWh as the anomaly rules and
the solar report count): the configured ``energy`` counter − ``export`` + ``pv`` (gross consumption, IPMVP
PV add-back), known per hour by the store's one completeness rule and per local day when all its 23, 24 or
25 hours are.  Temperatures are hourly means, and daily means of hourly means
(:func:`~energimon.analytics.degree_days.daily_mean_temperature_c`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from energimon import carriers
from energimon.analytics.degree_days import daily_mean_temperature_c
from energimon.analytics.esco.settings import EscoSettings, EscoSite
from energimon.analytics.stats import DATA_SUFFICIENCY_MIN
from energimon.calendar import hour_index, local_day_index, local_midnight, month_keys
from energimon.model import LOCAL_TZ, SeriesKey
from energimon.store.energy import SiteBalance, SiteMeters, site_balance_days

GRANULARITY = {"caltrack_daily": "day", "towt_hourly": "hour", "caltrack_billing": "month"}
"""What one reporting row is for each baseline model."""


def series_key(ref: str, site: str) -> SeriesKey:
    """``device/channel`` (of ``site``) or ``site/device/channel``."""
    parts = ref.split("/")
    return SeriesKey(site, *parts) if len(parts) == 2 else SeriesKey(*parts)


def site_meters(site: str, cfg: EscoSite) -> SiteMeters:
    """The counters of an ``[esco.sites]`` building: its ``energy`` counter, ``export`` and ``pv`` add-back."""
    return SiteMeters(site, (series_key(cfg.energy, site),),
                      (series_key(cfg.export, site),) if cfg.export else (),
                      tuple(series_key(ref, site) for ref in cfg.pv), cfg.carrier, cfg.pv_installed)


def row_index(start: dt.date, end: dt.date, window: str = "day") -> pd.DatetimeIndex:
    """Local days (``"day"``) or hour starts (``"1h"``: 23 or 25 on DST days) in ``[start, end)``."""
    return local_day_index(start, end) if window == "day" else hour_index(start, end)


def site_balance(store, site: str, cfg: EscoSite, start: dt.date, end: dt.date) -> SiteBalance:
    """The building's hourly balance over the local days ``[start, end)`` (:mod:`energimon.store.energy`)."""
    return site_balance_days(store, site_meters(site, cfg), start, end)


def site_energy_kwh(store, site: str, cfg: EscoSite, start: dt.date, end: dt.date, window: str = "day",
                    balance: SiteBalance | None = None) -> pd.Series:
    """Gross consumption per local day (or hour, ``window="1h"``) in ``[start, end)``, NaN where unknown, in the
    carrier's unit (kWh, or m³ for natural gas and water).

    Gross consumption = energy − export + PV production (PV add-back); PV production before
    ``pv_installed`` is zero by definition (the panels did not exist), after it an hour without known PV
    data is unknown (:mod:`energimon.store.energy`).  ``balance``: the same days' balance, if already read."""
    if balance is None:
        balance = site_balance(store, site, cfg, start, end)
    wh = balance.daily()["energy_wh"] if window == "day" else balance.hourly["load_wh"]
    # in the carrier's unit: kWh from Wh counters, m³ as metered (natural gas, water)
    return (wh * carriers.carrier(cfg.carrier).per_counter_unit).reindex(row_index(start, end, window))


def site_frame(store, esco: EscoSettings, site: str, cfg: EscoSite, start: dt.date, end: dt.date,
               window: str = "day", balance: SiteBalance | None = None) -> pd.DataFrame:
    """Per local day (or hour, ``window="1h"``) in ``[start, end)``: ``temp_mean_c`` and ``energy_kwh``
    (gross consumption, :func:`site_energy_kwh`; NaN if unknown).  Hourly temperatures are hourly means."""
    t0, t1 = local_midnight(start), local_midnight(end)
    idx = row_index(start, end, window)
    energy = site_energy_kwh(store, site, cfg, start, end, window, balance)
    temp_key = series_key(cfg.temperature or esco.temperature, site)
    if window == "day":
        temp = daily_mean_temperature_c(store, temp_key, t0, t1).reindex(idx)
    else:
        hourly = store.aggregate(temp_key, t0, t1, "1h", "mean")
        hourly.index = pd.DatetimeIndex(hourly.index).tz_convert(LOCAL_TZ)
        temp = hourly.reindex(idx)
    return pd.DataFrame({"temp_mean_c": temp, "energy_kwh": energy}, index=idx)


def monthly_frame(days: pd.DataFrame, min_temperature_share: float = DATA_SUFFICIENCY_MIN) -> pd.DataFrame:
    """Calendar months (local; a first or last month may be partial) from a daily frame.

    ``energy_kwh`` is the sum of the days when every day is known (else NaN: a month with a gap
    is not a smaller month); ``temp_mean_c`` the mean of the days with a temperature when at least
    ``min_temperature_share`` of the days have one (CalTRACK's 90 %), else NaN.  ``days`` counts the
    month's days in the frame, ``temp_days`` those with a temperature.  Indexed by the first day.
    """
    idx = pd.DatetimeIndex(days.index)
    keys = month_keys(idx)
    g = days.groupby(keys, sort=False)
    n = g.size()
    energy = g["energy_kwh"].sum().where(g["energy_kwh"].count() == n)
    temp_days = g["temp_mean_c"].count()
    temp = g["temp_mean_c"].mean().where(temp_days >= min_temperature_share * n)
    first = pd.Series(idx, index=idx).groupby(keys, sort=False).first()
    out = pd.DataFrame({"temp_mean_c": temp, "energy_kwh": energy, "days": n, "temp_days": temp_days})
    out.index = pd.DatetimeIndex(first.to_list())
    return out


@dataclass(frozen=True)
class Sufficiency:
    ok: bool
    share: float
    days_total: int  # reporting points of the model's resolution (days, hours or months), despite the name
    days_ok: int
    reason: str = ""


def data_sufficiency(frame: pd.DataFrame, minimum: float = DATA_SUFFICIENCY_MIN, unit: str = "days") -> Sufficiency:
    """Share of baseline days (or hours, months) with both complete energy and a temperature (CalTRACK 2.0:
    ≥ 90 %)."""
    n = len(frame)
    ok_days = int((frame["energy_kwh"].notna() & frame["temp_mean_c"].notna()).sum())
    share = ok_days / n if n else 0.0
    if share >= minimum:
        return Sufficiency(True, share, n, ok_days)
    miss_e = int(frame["energy_kwh"].isna().sum())
    miss_t = int(frame["temp_mean_c"].isna().sum())
    reason = (f"{ok_days} of {n} baseline {unit} usable ({share:.0%} < {minimum:.0%}): "
              f"{miss_e} {unit} without complete energy data, {miss_t} {unit} without temperature")
    return Sufficiency(False, share, n, ok_days, reason)


def days_with_temperature(rows: pd.DataFrame, granularity: str) -> int:
    """Local days among reporting ``rows`` that have a mean temperature (month rows carry ``temp_days``)."""
    if granularity == "month":
        return int(rows["temp_days"].sum())
    ok = rows["temp_mean_c"].notna()
    if granularity == "hour":
        return int(pd.DatetimeIndex(rows.index[ok]).normalize().nunique())
    return int(ok.sum())
