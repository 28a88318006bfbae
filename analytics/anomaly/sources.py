"""Where a device's series come from, so each rule judges only what it can judge.

* ``live`` — read by energimon itself: a configured Modbus device (and its sub-devices
  ``<id>-<sub>``, e.g. ``inverter-mppt1``), or a device an ``[[mqtt.subscriptions]]`` entry can
  produce (its ``site``/``device`` fixed to it or left to a ``{site}``/``{device}`` placeholder, and
  the same ``role``).  The data-quality rules (stale, offline, stuck counter, counter reset) are
  about such devices: a meter that stops answering is news.
* ``import`` — a DataHub metering point, whether imported with ``energimon import eloverblik``
  (``[[datahub.metering_points]]``) or fetched by the daemon's schedule
  (``[[sources.eloverblik.metering_points]]``), or a device listed in ``[alerts.rules.import_lag] devices``:
  it is old by nature (DataHub publishes the day after, an import runs when someone runs it), so
  "no reading for 8,769 minutes — check the Modbus address" is a false alarm.  Its own rule is
  :func:`import_lag`: the newest imported reading is more than ``max_lag_days`` old — also what tells that a
  scheduled fetch has stopped delivering (a refresh token run out, an authorisation withdrawn, an API
  changed): its data simply end.  The weather series the scheduled ``[sources.dmi]`` fetch writes under a
  building (``SITE/dmi``, ``[[sources.dmi.stations]]``) are imported data too: an API key revoked, a station
  closed or a changed answer ends the outdoor temperature that degree days and the expected-consumption models
  read, and the rule says so (with DMI's own advice, ``origin`` ``dmi``) before the monthly report does.
* ``historic`` — anything else in the store (a weather CSV imported once, a demo's history, a
  device removed from the configuration): no data-quality rule applies.

A configured DataHub metering point wins over an MQTT template that could also produce its
device id (the configuration says explicitly where it comes from).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from energimon.analytics.anomaly.findings import Finding
from energimon.analytics.anomaly.settings import ImportLagRule

LIVE, IMPORT, HISTORIC = "live", "import", "historic"
HEALTH_CHANNELS = ("device_online", "poll_errors", "fields_missing")


def _mqtt_can_produce(settings, site: str, device: str, role: str) -> bool:
    mqtt = getattr(settings, "mqtt", None)
    if mqtt is None:
        return False
    for sub in mqtt.subscriptions:
        if sub.site is not None and sub.site != site:
            continue
        if sub.device is not None and sub.device != device:
            continue
        if str(getattr(sub.role, "value", sub.role)) != role:
            continue
        return True  # a fixed site/device that is this one, or a {site}/{device} placeholder that can be
    return False


def _metering_points(settings) -> list:
    """Every configured DataHub metering point: imported by hand (``[datahub]``) and fetched on a schedule
    (``[sources.eloverblik]``) — the same kind of data, the same lag."""
    datahub = getattr(settings, "datahub", None)
    sources = getattr(settings, "sources", None)
    eloverblik = getattr(sources, "eloverblik", None) if sources is not None else None
    return [*(datahub.metering_points if datahub else []), *(eloverblik.metering_points if eloverblik else [])]


@dataclass(frozen=True)
class ImportedDevice:
    """An imported device as the ``import_lag`` mail names it: ``label`` (the metering point's 18-digit id(s),
    ``station 06135`` for DMI, or the device id) and ``origin`` (``datahub``, ``dmi``, or ``""`` for a device
    listed in ``[alerts.rules.import_lag] devices``), which picks the mail's advice."""

    label: str
    origin: str = ""


DATAHUB, DMI = "datahub", "dmi"


def _dmi_stations(settings) -> list:
    sources = getattr(settings, "sources", None)
    dmi = getattr(sources, "dmi", None) if sources is not None else None
    return list(dmi.stations) if dmi is not None else []


def import_devices(settings, site: str) -> dict[str, ImportedDevice]:
    """Devices of ``site`` whose data are imported and watched for lag, each with what to call it in a mail."""
    out: dict[str, ImportedDevice] = {}
    for mp in _metering_points(settings):
        if mp.site == site:
            ids = out[mp.device].label.split(", ") if mp.device in out else []
            # the same point in both sections (history imported once, then fetched): named once
            out[mp.device] = ImportedDevice(", ".join(ids if mp.id in ids else [*ids, mp.id]), DATAHUB)
    for st in _dmi_stations(settings):
        if st.site == site:
            # the nearest station is chosen at the first fetch and kept in the sources' state file, which the
            # analytics do not read: the device id names it then
            out.setdefault(st.device, ImportedDevice(f"station {st.station_id}" if st.station_id else st.device,
                                                     DMI))
    alerts = getattr(settings, "alerts", None)
    for ref in (alerts.rules.import_lag.devices if alerts else []):
        s, d = ref.split("/", 1)
        if s == site:
            out.setdefault(d, ImportedDevice(d))
    return out


def device_source(settings, site: str, device: str, role: str) -> str:
    """``live``, ``import`` or ``historic`` for one device of ``site`` (see the module docstring)."""
    if device in import_devices(settings, site):
        return IMPORT
    for d in getattr(settings, "devices", []):
        if d.site == site and (device == d.id or device.startswith(f"{d.id}-")):
            return LIVE
    return LIVE if _mqtt_can_produce(settings, site, device, role) else HISTORIC


def live_rule(settings, series: pd.DataFrame) -> Callable[[str, str], bool]:
    """``(site, device)`` → whether the device is read live (:func:`device_source`; ``series``: the store's series
    list, for the roles an MQTT subscription matches on).  Where a site's counters are chosen
    (:func:`energimon.store.energy.site_meters`), a live meter wins over its imported DataHub copy, which lags and
    would count the same energy twice: the climate account, the public barometer and the solar report ask this one
    rule, built from the same configuration."""
    roles = {(str(r.site), str(r.device)): str(r.role) for r in series.itertuples()}
    return lambda site, device: device_source(settings, site, device, roles.get((site, device), "")) == LIVE


def import_lag(latest: pd.DataFrame, now: dt.datetime, p: ImportLagRule, site: str, device: str,
               imported: ImportedDevice | None = None) -> Finding | None:
    """Imported data behind: the newest reading of the device (``latest``: the store's ``latest()`` rows of
    it) is more than ``max_lag_days`` old at ``now``.  No finding for a device with no reading at all (nothing
    was imported yet: that is for ``energimon status``, not a mail).  ``imported``: what
    :func:`import_devices` says of the device (its label, and its origin for the mail's advice)."""
    data = latest[~latest["channel"].isin(HEALTH_CHANNELS)]
    if data.empty:
        return None
    newest = pd.to_datetime(data["time"], utc=True).max()
    behind_days = (pd.Timestamp(now) - newest).total_seconds() / 86400
    if behind_days <= p.max_lag_days:
        return None
    channels = sorted(set(data["channel"]))
    label = imported.label if imported is not None else ""
    what = f"{label} ({device}/{', '.join(channels)})" if label and label != device else \
        f"{device}/{', '.join(channels)}"
    evidence: dict[str, float | str] = {"series": what, "last_reading": newest.isoformat(),
                                        "days_behind": round(behind_days, 1), "max_lag_days": p.max_lag_days}
    if imported is not None and imported.origin:
        evidence["origin"] = imported.origin
    return Finding(rule="import_lag", site=site, device=device, severity=p.severity, since=newest.to_pydatetime(),
                   evidence=evidence)
