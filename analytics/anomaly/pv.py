"""PV rules: the pvlib clear-sky envelope and the sibling sites.

**Reference.**  For each hour, the clear-sky plane-of-array irradiation of every configured array
(the solar report's model, :mod:`energimon.analytics.solar.expected`: Ineichen, Hay-Davies)
gives an *envelope* ``E_cs = Σ kWp · POA_cs / 1 kW/m²`` in kWh per hour — the IEC 61724-1 reference
yield under a cloudless sky, not a true PR (there is no irradiance sensor).  The hourly **ratio**
``r = E_AC / E_cs`` is what a sunny hour looks like (0.7-0.9) versus an overcast one (0.1-0.4).

**Siblings.**  The other sites of the portfolio lie within ~15 km: when their median ratio is high,
the sun was out here too.  Rules that need siblings stay silent without them.

Rules (``[alerts.rules.pv]``):

* ``pv_zero`` — at least ``zero_min_hours`` daylight hours (clear-sky POA ≥ ``daylight_min_clearsky_w_m2``)
  in a row with ``r < zero_max_ratio`` while the siblings' median ratio is ≥ ``sibling_min_ratio``.
* ``pv_underperformance`` — over the last ``under_days`` days, the site's yield ratio ``Σ E_AC / Σ E_cs``
  below ``under_ratio`` × the siblings' (hours already counted by ``pv_zero`` are left out).
* ``pv_envelope`` — an hour above ``envelope_factor × E_cs`` (+2 % of kWp): wrong scale, wrong kWp or a
  wrong clock.
* ``pv_offline`` — the inverter does not answer (``device_online`` = 0 or no data for
  ``stale_after_min``) in daylight; at night inverters sleep and that is not an alarm.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import DataQualityRule, PvRule
from energimon.model import LOCAL_TZ

HOUR = pd.Timedelta(hours=1)


def clearsky_hourly_kwh(hours: pd.DatetimeIndex, latitude: float, longitude: float,
                        arrays: list[tuple[float, float, float]]) -> pd.DataFrame:
    """Per local hour starting at ``hours``: the clear-sky envelope ``E_cs = Σ kWp · H_POA / 1 kW/m²``
    (kWh, all ``arrays`` of (kwp, tilt, azimuth)) and ``poa_w_m2``, the first array's mean in-plane
    irradiance over the hour.

    The irradiance is the solar report's (:func:`energimon.analytics.solar.expected.clear_sky_hourly`:
    Ineichen with the site's Linke turbidity and altitude, Hay-Davies transposition), so an alert and
    the month's report judge a site against the same sky — and share its per-day cache.
    """
    from energimon.analytics.solar.expected import ArraySpec, clear_sky_hourly

    local = hours.tz_convert(LOCAL_TZ)
    e = np.zeros(len(local))
    poa0 = None
    if len(local):
        first, last = local.min().date(), local.max().date()
        for kwp, tilt, az in arrays:
            spec = ArraySpec(latitude, longitude, kwp, tilt, az)
            sky = clear_sky_hourly(spec, first, last + dt.timedelta(days=1))
            h_poa = sky["poa_wh_m2"].reindex(local).fillna(0.0).to_numpy()  # Wh/m² in one hour = mean W/m²
            e += kwp * h_poa / 1000.0
            if poa0 is None:
                poa0 = h_poa
    return pd.DataFrame({"clear_kwh": e, "poa_w_m2": poa0 if poa0 is not None else 0.0}, index=hours)


def _utc(ts: pd.Timestamp) -> dt.datetime:
    return ts.tz_convert("UTC").to_pydatetime()


def zero_hours_mask(pv_kwh: np.ndarray, clear_kwh: np.ndarray, poa: np.ndarray, sib_ratio: np.ndarray,
                    p: PvRule) -> np.ndarray:
    """Daylight hours with (near) zero production while the siblings had sun."""
    daylight = poa >= p.daylight_min_clearsky_w_m2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(clear_kwh > 0, pv_kwh / clear_kwh, np.nan)
    return daylight & (ratio < p.zero_max_ratio) & (sib_ratio >= p.sibling_min_ratio)


def pv_zero(frame: pd.DataFrame, end: pd.Timestamp, p: PvRule, site: str, device: str) -> Finding | None:
    """``frame``: hourly columns pv_kwh, clear_kwh, poa_w_m2, sib_ratio (siblings' median E_AC/E_cs).
    Looks at the daylight hours of the last 24 h, the latest first; nights do not break the run."""
    win = frame[(frame.index >= end - 24 * HOUR) & (frame.index < end)]
    day = win[win["poa_w_m2"] >= p.daylight_min_clearsky_w_m2]
    if day.empty:
        return None
    zero = zero_hours_mask(day["pv_kwh"].to_numpy(), day["clear_kwh"].to_numpy(), day["poa_w_m2"].to_numpy(),
                           day["sib_ratio"].to_numpy(), p)
    run = 0
    while run < len(zero) and zero[len(zero) - 1 - run]:
        run += 1
    if run < p.zero_min_hours:
        return None
    hours = day.iloc[len(day) - run:]
    lost = float((hours["sib_ratio"] * hours["clear_kwh"] - hours["pv_kwh"]).clip(lower=0).sum())
    return Finding(
        rule="pv_zero", site=site, device=device, severity="critical", since=_utc(hours.index[0]),
        evidence={"daylight_hours": run, "produced_kwh": round(float(hours["pv_kwh"].sum()), 1),
                  "clear_sky_kwh": round(float(hours["clear_kwh"].sum()), 1),
                  "siblings_ratio_pct": round(float(hours["sib_ratio"].median()) * 100)},
        kwh_per_day=round(lost, 1), channel="pv_kwh",
    )


def pv_underperformance(frame: pd.DataFrame, end: pd.Timestamp, p: PvRule, site: str, device: str,
                        kwp: float) -> Finding | None:
    """Yield ratio of the last ``under_days`` days against the siblings' (see module doc)."""
    win = frame[(frame.index >= end - 24 * p.under_days * HOUR) & (frame.index < end)]
    day = win[(win["poa_w_m2"] >= p.daylight_min_clearsky_w_m2) & np.isfinite(win["sib_ratio"])]
    if day.empty:
        return None
    zero = zero_hours_mask(day["pv_kwh"].to_numpy(), day["clear_kwh"].to_numpy(), day["poa_w_m2"].to_numpy(),
                           day["sib_ratio"].to_numpy(), p)
    day = day[~zero].dropna(subset=["pv_kwh"])
    cs = float(day["clear_kwh"].sum())
    if cs <= 0 or len(day) < 4 * p.under_days:
        return None
    own = float(day["pv_kwh"].sum()) / cs
    sib = float((day["sib_ratio"] * day["clear_kwh"]).sum()) / cs
    if sib <= 0.15 or own >= p.under_ratio * sib:  # too dark to judge, or fine
        return None
    lost_per_day = (sib - own) * cs / p.under_days
    return Finding(
        rule="pv_underperformance", site=site, device=device, severity=p.severity, since=_utc(day.index[0]),
        evidence={"days": p.under_days, "own_yield_kwh_per_kwp": round(own * cs / kwp, 2),
                  "siblings_yield_kwh_per_kwp": round(sib * cs / kwp, 2),
                  "relative_pct": round(own / sib * 100), "limit_pct": round(p.under_ratio * 100)},
        kwh_per_day=round(lost_per_day, 1), channel="pv_kwh",
    )


def pv_envelope(frame: pd.DataFrame, end: pd.Timestamp, p: PvRule, site: str, device: str,
                kwp: float) -> Finding | None:
    """Production above what the sun can deliver to the configured arrays."""
    win = frame[(frame.index >= end - 24 * HOUR) & (frame.index < end)].dropna(subset=["pv_kwh"])
    limit = p.envelope_factor * win["clear_kwh"] + 0.02 * kwp
    over = win[win["pv_kwh"] > limit]
    if over.empty:
        return None
    worst = int(np.argmax((over["pv_kwh"] / (over["clear_kwh"] + 1e-9)).to_numpy()))  # finite: both known
    return Finding(
        rule="pv_envelope", site=site, device=device, severity=p.severity, since=_utc(over.index[0]),
        evidence={"hours": len(over), "highest_kwh_in_hour": round(float(over["pv_kwh"].max()), 2),
                  "clear_sky_kwh_in_hour": round(float(over["clear_kwh"].iloc[worst]), 2), "kwp": kwp},
        channel="pv_kwh",
    )


def pv_offline(latest: pd.DataFrame, now: dt.datetime, daylight: bool, p: DataQualityRule, site: str,
               device: str) -> Finding | None:
    """An inverter that does not answer in daylight (``latest``: the store's rows of this device)."""
    if latest.empty or not daylight:
        return None
    online = latest[latest["channel"] == "device_online"]
    offline = not online.empty and float(online["value"].iloc[0]) == 0.0
    data = latest[~latest["channel"].isin(["device_online", "poll_errors", "fields_missing"])]
    newest = pd.to_datetime(data["time"], utc=True).max() if not data.empty else pd.NaT
    if isinstance(newest, pd.Timestamp):
        age_min, since = (pd.Timestamp(now) - newest).total_seconds() / 60, newest.to_pydatetime()
    else:  # NaT: no data rows, or none with a time
        age_min, since = np.inf, now
    if not offline and age_min <= p.stale_after_min:
        return None
    return Finding(
        rule="pv_offline", site=site, device=device, severity="critical", since=since,
        evidence={"minutes_without_data": round(age_min) if np.isfinite(age_min) else -1,
                  "device_online": 0.0 if offline else 1.0},
    )
