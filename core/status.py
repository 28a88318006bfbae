"""What `energimon status` shows beyond the store and spool: devices, sites, open alerts.

Everything is read from what the daemon leaves behind (the store's health series, the alert state
file), so `status` works from another process, while the daemon runs, without talking to devices.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

STALE_FACTOR = 3  # a device whose last poll is older than 3 intervals is reported as stale


def device_lines(settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    """One line per configured device: online/offline/stale/never seen, and when it last delivered."""
    lines = []
    for dev in settings.devices:
        rows = latest[(latest["site"] == dev.site) & (latest["device"] == dev.id)]
        if not dev.enabled:
            lines.append(f"  {dev.site}/{dev.id}: disabled")
            continue
        health = rows[rows["channel"] == "device_online"]
        values = rows[~rows["channel"].isin(["device_online", "poll_errors", "fields_missing"])]
        if health.empty:
            lines.append(f"  {dev.site}/{dev.id}: never polled (has the daemon run with this device?)")
            continue
        age_s = (now - health["time"].iloc[0]).total_seconds()
        state = "online" if health["value"].iloc[0] >= 1 else "OFFLINE"
        if age_s > STALE_FACTOR * dev.interval_s:
            state = f"STALE (no poll for {age_s / 60:.0f} min: is the daemon running?)"
        last = values["time"].max() if not values.empty else None
        last_txt = f"last value {(now - last).total_seconds():.0f} s ago" if last is not None else "no values yet"
        missing = rows[rows["channel"] == "fields_missing"]["value"]
        extra = f", {int(missing.iloc[0])} fields quarantined" if len(missing) and missing.iloc[0] > 0 else ""
        lines.append(f"  {dev.site}/{dev.id}: {state}, {last_txt}{extra}")
    return lines


def site_lines(settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    lines = []
    for site_id, site in settings.sites.items():
        rows = latest[latest["site"] == site_id]
        if rows.empty:
            lines.append(f"  {site.name} ({site_id}): no readings yet")
            continue
        age = (now - rows["time"].max()).total_seconds()
        lines.append(f"  {site.name} ({site_id}): last reading {age:.0f} s ago, {rows['channel'].nunique()} channels")
    return lines


def alert_lines(settings) -> list[str]:
    """Open alerts per site from the alert state file (read-only), or why there are none to show."""
    if settings.alerts is None:
        return ["  alerting not configured ([alerts])"]
    path = Path(settings.alerts.state_path)
    if not path.exists():
        return ["  no alert state yet (the rules have not run)"]
    try:
        db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT site, device, rule, state FROM alerts WHERE state IN ('pending', 'firing') "
                              "ORDER BY site, device, rule").fetchall()
            queued = db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error as exc:
        return [f"  cannot read {path}: {exc}"]
    lines = [f"  {site}/{device}: {rule} ({state})" for site, device, rule, state in rows] or ["  no open alerts"]
    lines.append(f"  {queued} mails waiting in the outbox" if queued else "  outbox empty")
    return lines
