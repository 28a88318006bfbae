"""The Modbus devices in ``energimon status``: online, offline or stale (from the health series the poller
writes to the store) and which device answers (from ``devices.json``), read-only."""

from __future__ import annotations

import pandas as pd

from energimon.cliutil import local_time, number, t
from energimon.collector.health import MAX_BACKOFF_S

STALE_FACTOR = 3  # a device whose last poll is older than 3 intervals is reported as stale


def device_lines(settings, latest: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    """One line per configured device: online/offline/stale/never seen, and when it last delivered."""
    lines = []
    for dev in settings.devices:
        rows = latest[(latest["site"] == dev.site) & (latest["device"] == dev.id)]
        if not dev.enabled:
            lines.append(t(f"  {dev.site}/{dev.id}: slået fra", f"  {dev.site}/{dev.id}: disabled"))
            continue
        health = rows[rows["channel"] == "device_online"]
        values = rows[~rows["channel"].isin(["device_online", "poll_errors", "fields_missing"])]
        if health.empty:
            lines.append(t(f"  {dev.site}/{dev.id}: aldrig aflæst (har dæmonen kørt med denne enhed?)",
                           f"  {dev.site}/{dev.id}: never polled (has the daemon run with this device?)"))
            continue
        age_s = (now - health["time"].iloc[0]).total_seconds()
        online = health["value"].iloc[0] >= 1
        state = "online" if online else t(f"OFFLINE (sidste forsøg for {number(age_s)} s siden)",
                                          f"OFFLINE (last attempt {number(age_s)} s ago)")
        # An offline device is retried with back-off (up to MAX_BACKOFF_S), so its last health point
        # can be that old while the daemon runs: only beyond that is the silence the daemon's.
        stale_after_s = STALE_FACTOR * dev.interval_s if online else MAX_BACKOFF_S + STALE_FACTOR * dev.interval_s
        if age_s > stale_after_s:
            state = t(f"FORÆLDET (ingen aflæsning i {number(age_s / 60)} min: kører dæmonen?)",
                      f"STALE (no poll for {number(age_s / 60)} min: is the daemon running?)")
        last = values["time"].max() if not values.empty else None
        ago = number((now - last).total_seconds()) if last is not None else ""
        last_txt = (t(f"seneste værdi for {ago} s siden", f"last value {ago} s ago") if last is not None
                    else t("ingen værdier endnu", "no values yet"))
        missing = rows[rows["channel"] == "fields_missing"]["value"]
        n_missing = int(missing.iloc[0]) if len(missing) and missing.iloc[0] > 0 else 0
        extra = t(f", {n_missing} felter i karantæne", f", {n_missing} fields quarantined") if n_missing else ""
        lines.append(f"  {dev.site}/{dev.id}: {state}, {last_txt}{extra}")
    return lines


def device_identity_lines(settings) -> list[str]:
    """Which device answers for each configured Modbus device (manufacturer, model, serial …) and any
    serial-number change, from the ``devices.json`` the daemon keeps."""
    from energimon.collector.modbus.identity import describe, device_info_path, read_device_info
    from energimon.collector.modbus.profiles import ProfileError, load_profile

    path = device_info_path(settings)
    try:
        records = read_device_info(path)
    except ValueError as exc:
        return [t(f"  kan ikke læse apparaternes identitet: {exc}", f"  cannot read device identities: {exc}")]
    lines = []
    for dev in settings.devices:
        rec = records.get((dev.site, dev.id))
        if rec is None:
            try:  # only devices that can tell who they are are worth a line (an M-Bus meter always can)
                readable = (dev.protocol in ("mbus_tcp", "mbus_serial") or dev.profile == "sunspec"
                            or bool(dev.profile and load_profile(dev.profile).info))
            except ProfileError:
                readable = False
            if readable:
                lines.append(t(f"  {dev.site}/{dev.id}: identitet ikke læst endnu",
                               f"  {dev.site}/{dev.id}: identity not read yet"))
            continue
        via = f"{rec.source}, " if rec.source else ""
        text = f"  {dev.site}/{dev.id}: {describe(rec.info)} ({via}{t('siden', 'since')} {local_time(rec.since_ms)})"
        if rec.last_change is not None:
            c = rec.last_change
            text += t(f"; SERIENUMMER ÆNDRET {local_time(c.at_ms)}: {c.old} -> {c.new} "
                      f"({rec.serial_changes} ændring{'er' if rec.serial_changes != 1 else ''}; udskiftet apparat "
                      "eller forkert unit id?)",
                      f"; SERIAL CHANGED {local_time(c.at_ms)}: {c.old} -> {c.new} "
                      f"({rec.serial_changes} change{'s' if rec.serial_changes != 1 else ''}; swapped device "
                      "or wrong unit id?)")
        lines.append(text)
    return lines or [t(f"  ingen identiteter registreret ({path})", f"  no device identities recorded ({path})")]
