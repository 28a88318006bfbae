"""``energimon demo``: simulated Sorø buildings -> daemon -> embedded store, live on screen."""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import numpy as np
import pandas as pd

from energimon.app.daemon import Daemon
from energimon.cliutil import number, t
from energimon.collector.simulator.mbus_gateway import MbusGateway, SimulatedMultical
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.collector.simulator.water_meter import SimulatedWaterMeter
from energimon.config.settings import load_settings
from energimon.model import CHANNELS
from energimon.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from rich.table import Table

    from energimon.collector.simulator.buildings import BuildingModel, HeatingModel
    from energimon.collector.simulator.water_meter import WaterModel
    from energimon.config.settings import Settings

DEMO_CONFIG = """\
# Written by `energimon demo`: the three Sorø sites, read from simulated meters
# on this machine.  Inspect the data while the demo runs, e.g.:
#   energimon latest --config {config}
#   energimon export --config {config} soro-raadhus/hovedmaaler/power_w --window 1min

[sites.soro-raadhus]
name = "Sorø Rådhus"
address = "Rådhusvej 8, 4180 Sorø"
latitude = 55.4318
longitude = 11.5560
floor_area_m2 = 4800
pv = [{{ id = "tag-syd", kwp = 60.0, tilt_deg = 30, azimuth_deg = 180 }}]

[sites.stenlille-hallen]
name = "Stenlille hallen"
address = "4295 Stenlille"
latitude = 55.5390
longitude = 11.5950
pv = [{{ id = "hal-tag", kwp = 80.0, tilt_deg = 15, azimuth_deg = 170 }}]

[sites.dianalund-bibliotek]
name = "Dianalund Bibliotek"
address = "4293 Dianalund"
latitude = 55.5330
longitude = 11.4930
pv = [{{ id = "tag", kwp = 20.0, tilt_deg = 35, azimuth_deg = 200 }}]
{devices}
[store]
path = "store.db"

[spool]
path = "spool.db"
synchronous = "NORMAL"

[schedule]
status_log_interval_s = 60
"""

DEMO_MAIL = """
# Alert mails go nowhere in the demo: each one is written as an .eml file into mails/ (open it in any mail
# program).  See the README, "See an alert mail from the demo".
[smtp]
transport = "folder"
folder = "mails"
sender = "energimon@demo.invalid"
fallback_recipients = ["driftsansvarlig@demo.invalid"]

[alerts]
state_path = "alerts.db"
pending_min = 0   # the demo mails a problem at once; a real site waits an hour (a blip is not a problem)

[alerts.sites.soro-raadhus]
# the town hall's own outdoor sensor (written with the demo's history) for its heat signature
outdoor_temperature = "soro-raadhus/udefoeler/outdoor_temp_c"
"""
"""The demo's mail and alert sections, written by `energimon demo` (the daemon runs the alert rules)."""

DEMO_WEB = """
# The web application (energimon.web), served by the daemon; its public CO2 barometer follows.
[web]
enabled = true
listen = "127.0.0.1:{web_port}"
public_url = "http://127.0.0.1:{web_port}"
data_dir = "web"
"""
"""The web application's section, written by `energimon demo` (the daemon then serves the app on ``web_port``);
:data:`DEMO_BAROMETER` follows it."""

DEMO_ELECTRICITY_CO2 = ((2019, 0.25), (2023, 0.12))
"""The demo's CO2 factors for electricity, (year, kg per kWh): made-up demo values.  Their one owner: both the
barometer's ``co2`` (:data:`DEMO_BAROMETER`, which the climate account reads) and the ESCO contract's
``[[esco.co2]]`` (``energimon demo --esco``, which the savings report reads) are written from here, so the two
reports of one demo folder count a year's electricity with the same factor."""
DEMO_CO2_SOURCE = "demo-værdi"
"""The source written beside each of :data:`DEMO_ELECTRICITY_CO2` (it says what they are)."""

DEMO_BAROMETER = """
# The demo municipality's climate settings: the public CO2 barometer (served by `energimon demo`) and the
# annual climate account (`energimon report climate`) take the baseline year, the 2030 path and the CO2
# factors from here.  They are made-up demo values, not official figures: a real config cites Energinet's
# environmental declaration and the municipality's climate plan.
[web.barometer]
municipality = "Sorø Kommune"
baseline_year = 2019
baseline_t_co2 = 80.0
baseline_source = "demo: et tænkt udgangspunkt, ikke et rigtigt tal"
household_kwh_per_year = 4000
household_source = "demo-værdi; se README for kilden til en rigtig opsætning"
co2 = [
""" + "".join(f'  {{ carrier = "electricity", year = {year}, kg_per_kwh = {kg}, source = "{DEMO_CO2_SOURCE}" }},\n'
              for year, kg in DEMO_ELECTRICITY_CO2) + """\
]

[web.barometer.sites.soro-raadhus]
name = "Sorø Rådhus"
energy_mark = "C"

[web.barometer.sites.stenlille-hallen]
name = "Stenlille hallen"

[web.barometer.sites.dianalund-bibliotek]
name = "Dianalund Bibliotek"
"""
"""The demo municipality's ``[web.barometer]``, written by both demos — after :data:`DEMO_WEB` by `energimon demo`,
on its own (no web application runs) by `energimon demo --esco` — so the climate account of either demo's folder has
a baseline year, a target path and CO2 factors whichever demo ran last.  Not a format string: written as it is."""

DEMO_USERS = (("energi", "energi", (), "Energiteamet (demo)"),
              ("drift", "driftsansvarlig", ("stenlille-hallen",), "Driftsansvarlig, Stenlille hallen (demo)"))
DEMO_PASSWORD = "energimon-demo"
"""The demo's web logins (one per role), created by the demo and printed with the URL."""

DEVICE = """
[[devices]]
site = "{site}"
id = "{id}"
name = "{name}"
role = "{role}"
protocol = "modbus_tcp"
host = "127.0.0.1"
port = {port}
profile = "{profile}"
interval_s = {interval}
"""

MBUS_DEVICE = """
[[devices]]
site = "{site}"
id = "{id}"
name = "{name}"
role = "{role}"
protocol = "mbus_tcp"
host = "127.0.0.1"
port = {port}
address = {address}
interval_s = {interval}
"""
"""The town hall's district heating meter: a Kamstrup MULTICAL 603 read over M-Bus through a gateway, as such
meters usually are (the Modbus profile has no energy or volume registers: see config/profiles/kamstrup.toml),
and its water meter on the same bus (collector/simulator/water_meter.py)."""

ESCO_MARKER = "# --- energimon demo --esco"
"""Starts the [esco]/[datahub] tail that `energimon demo --esco` appends; rewriting the config keeps it, as `energimon
demo --esco` keeps what stands before it (energimon.app.demo_esco.live_demo_part)."""

DEVICE_NAMES = {"hovedmaaler": "Hovedmåler", "inverter": "Solcelleanlæg", "fjernvarme": "Fjernvarmemåler",
                "vand": "Vandmåler"}
"""What the demo's mails call its devices (``name`` in ``[[devices]]``)."""

SHOWN = ("power_w", "energy_import_wh", "energy_export_wh", "pv_power_w", "pv_energy_wh", "heat_power_w",
         "heat_energy_wh", "volume_m3")


def write_demo_config(folder: Path, sim: MeterSimulator, interval_s: float, web_port: int | None = None,
                      mbus: MbusGateway | None = None, mail: bool = False) -> Path:
    """The demo's config; with ``web_port`` also the web application's section (served by the daemon), with
    ``mbus`` the town hall's district heating meter read over M-Bus through that gateway, with ``mail`` the
    alerts, mailed into the folder ``mails/``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "energimon.toml"
    devices = [(m.building.site, "hovedmaaler", "grid", m.port, "eastron.sdm630") for m in sim.meters]
    devices += [(inv.building.site, "inverter", "pv", inv.port, "sunspec") for inv in sim.inverters]
    if sim.heat_meter is not None and mbus is None:  # the Modbus one (partial profile), when not on M-Bus
        building, port, _ = sim.heat_meter
        devices.append((building.site, "fjernvarme", "heat", port, "kamstrup.multical603"))
    text = "".join(
        DEVICE.format(site=site, id=dev_id, name=DEVICE_NAMES[dev_id], role=role, port=port, profile=profile,
                      interval=interval_s)
        for site, dev_id, role, port, profile in devices
    )
    if mbus is not None:
        kinds = {True: ("vand", "water"), False: ("fjernvarme", "heat")}
        text += "".join(MBUS_DEVICE.format(site=sim.meters[0].building.site, port=mbus.port, address=m.address,
                                           interval=interval_s, id=kinds[isinstance(m, SimulatedWaterMeter)][0],
                                           name=DEVICE_NAMES[kinds[isinstance(m, SimulatedWaterMeter)][0]],
                                           role=kinds[isinstance(m, SimulatedWaterMeter)][1])
                        for m in mbus.meters)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    esco = old[old.index(ESCO_MARKER):] if ESCO_MARKER in old else ""  # so `report savings` keeps working
    web = "\n" + DEMO_WEB.format(web_port=web_port) + DEMO_BAROMETER if web_port is not None else ""
    path.write_text(DEMO_CONFIG.format(config=path, devices=text) + web + (DEMO_MAIL if mail else "")
                    + ("\n" + esco if esco else ""), encoding="utf-8")
    return path


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _demo_users(settings: Settings) -> None:
    """The demo's web users (one per role), created once; later runs keep them."""
    from energimon.web.accounts import Accounts

    if settings.web is None:  # the demo's config always has [web]; a config without it has no users to make
        return
    accounts = Accounts(settings.web.data_dir)
    try:
        for name, role, sites, display in DEMO_USERS:
            if accounts.get(name) is None:
                accounts.add(name, DEMO_PASSWORD, role, list(sites), display)
    finally:
        accounts.close()


Row = tuple[str, str, str, float, str, float]
"""One line of the live table: site, device, channel, value, unit, age in seconds."""


def table_rows(store: SqliteStore, now: float | None = None) -> list[Row]:
    """The latest reading of each shown series (main meters, inverters, heat meter; not the sources' series)."""
    latest = store.latest()
    if latest.empty:
        return []
    latest = latest[latest["channel"].isin(SHOWN) & ~latest["device"].str.contains("-")]
    now = time.time() if now is None else now
    times = pd.DatetimeIndex(latest["time"])
    return [(site, device, channel, float(value), CHANNELS[channel].unit, now - when.timestamp())
            for site, device, channel, value, when in zip(latest["site"].astype(str), latest["device"].astype(str),
                                                          latest["channel"].astype(str), latest["value"], times,
                                                          strict=True)]


def format_table(store: SqliteStore) -> str:
    """The live table as text (site, device, channel, value with unit, age)."""
    rows = table_rows(store)
    if not rows:
        return t("  (ingen målinger endnu)", "  (no readings yet)")
    lines = [f"  {t('bygning', 'site'):<21} {t('apparat', 'device'):<12} {t('kanal', 'channel'):<18} "
             f"{t('værdi', 'value'):>14}  {t('alder', 'age')}"]
    for site, device, channel, value, unit, age in rows:
        lines.append(f"  {site:<21} {device:<12} {channel:<18} {number(value, 1):>11} {unit:<3} {number(age):>4} s")
    return "\n".join(lines)


def rich_table(rows: list[Row], elapsed: float) -> Table:
    """The live table for a terminal, redrawn in place (rich Live)."""
    from rich.table import Table

    table = Table(title=t(f"Seneste målinger efter {number(elapsed)} s", f"Latest readings after {number(elapsed)} s"),
                  title_justify="left")
    for name, right in ((t("bygning", "site"), False), (t("apparat", "device"), False), (t("kanal", "channel"), False),
                        (t("værdi", "value"), True), (t("enhed", "unit"), False), (t("alder", "age"), True)):
        table.add_column(name, justify="right" if right else "left")
    for site, device, channel, value, unit, age in rows:
        table.add_row(site, device, channel, number(value, 1), unit, f"{number(age)} s")
    if not rows:
        table.add_row(t("(ingen målinger endnu)", "(no readings yet)"), "", "", "", "", "")
    return table


POWER = ("power_w", "pv_power_w", "heat_power_w")


def update_line(rows: list[Row], elapsed: float) -> str:
    """One line per update when the output is not a terminal (a log, a pipe): each site's power readings."""
    per_site: dict[str, list[str]] = {}
    for site, _device, channel, value, unit, _age in rows:
        if channel in POWER:
            per_site.setdefault(site, []).append(f"{channel} {number(value)} {unit}")
    text = " | ".join(f"{site}: {', '.join(parts)}" for site, parts in per_site.items())
    return f"[{number(elapsed):>5} s] " + (text or t("ingen målinger endnu", "no readings yet"))


DEMO_COUNTERS = (("hovedmaaler", "grid", "energy_import_wh", "import_wh"),
                 ("hovedmaaler", "grid", "energy_export_wh", "export_wh"),
                 ("inverter", "pv", "pv_energy_wh", "pv_wh"))
"""The demo's energy counters: (device, role, channel, column of synthetic.step_energy_wh)."""

HOLE_S = 900
"""Readings further apart than this (the store's minimum gap threshold, 15 min) are a hole a history fills."""


def quantum_wh(value_wh: float) -> float:
    """More than the simulated devices lose when they encode a counter: the SDM630 sends float32 kWh, a SunSpec
    inverter float32 Wh or whole Wh.  Half a float32 step is ``|v| · 2⁻²⁴``; this is four times that, and at
    least 1 Wh.  A live meter that starts this much above the stored value never reads back below it."""
    return max(1.0, abs(value_wh) * 2.0**-22)


def _steps(b: BuildingModel, seed: int, times_s: np.ndarray, column: str) -> np.ndarray:
    """Synthetic energy (Wh) of ``b`` from each time to the next (one fewer than ``times_s``)."""
    from energimon.collector.simulator.solar import power_at, step_energy_wh

    if len(times_s) < 2:
        return np.empty(0)
    return step_energy_wh(power_at(b, times_s, seed))[column].to_numpy()


def _grid(a_s: float, b_s: float, step_s: int) -> np.ndarray:
    """Multiples of ``step_s`` strictly between ``a_s`` and ``b_s`` (seconds)."""
    first = (int(a_s) // step_s + 1) * step_s
    return np.arange(first, int(np.ceil(b_s)), step_s, dtype=np.int64)


def counter_continuation(b: BuildingModel, seed: int, column: str, ts_ms: np.ndarray, values: np.ndarray, now_s: float,
                         history_from_s: float | None, step_s: int = 300
                         ) -> tuple[list[tuple[int, float]], float, float]:
    """How one demo counter goes on from what the store holds, without ever going backwards.

    ``ts_ms``/``values``: the stored readings (sorted).  With ``history_from_s`` the holes between then and
    ``now_s`` are filled with synthetic readings every ``step_s``: before the first stored reading (ending
    at its value), between two readings further apart than :data:`HOLE_S` (the synthetic shape scaled to
    the two values) and after the last one (going on from it).  Returns the readings to write, the offset
    to add to every stored reading (> 0 only when a history before them would need a negative counter)
    and the value the live meter starts at at ``now_s``: the last value plus what the building used since
    (the meter kept counting while the demo was not running) plus :func:`quantum_wh`.
    """
    fill: list[tuple[int, float]] = []
    shift = 0.0
    t = ts_ms / 1000.0
    if history_from_s is not None:
        if not len(t):  # an empty store: the history starts at the synthetic meters' own readings
            grid = np.arange(history_from_s, now_s, step_s, dtype=np.int64)
            inc = _steps(b, seed, np.append(grid, int(now_s)), column)
            base = {"import_wh": 5_000_000.0, "export_wh": 100_000.0, "pv_wh": 20_000_000.0}[column]
            cum = base + np.concatenate(([0.0], np.cumsum(inc[:-1])))
            fill += list(zip((grid * 1000).tolist(), cum.tolist(), strict=True))
        else:
            if history_from_s < t[0] - HOLE_S:  # before the first reading, ending at its value
                grid = np.arange(history_from_s, t[0], step_s, dtype=np.int64)
                inc = _steps(b, seed, np.append(grid, t[0]), column)
                vals = values[0] - np.cumsum(inc[::-1])[::-1]
                if vals[0] < 0:  # the stored counter is too small for the history: lift it, never below 0
                    shift = float(np.ceil(-vals[0] / 1000.0) * 1000.0)
                fill += list(zip((grid * 1000).tolist(), (vals + shift).tolist(), strict=True))
            gaps = np.nonzero(np.diff(t) > HOLE_S)[0]
            for i in gaps:  # between two readings: the synthetic shape scaled to what the counter did
                a_s, b_s = t[i], t[i + 1]
                if b_s <= history_from_s:
                    continue
                grid = _grid(max(a_s, history_from_s - step_s), b_s, step_s)
                grid = grid[grid > a_s]
                if not len(grid):
                    continue
                inc = _steps(b, seed, np.concatenate(([a_s], grid, [b_s])), column)
                rise = values[i + 1] - values[i]
                total = inc.sum()
                frac = (np.cumsum(inc)[:-1] / total if total > 0
                        else (grid - a_s) / (b_s - a_s))
                fill += list(zip((grid * 1000).tolist(), (values[i] + shift + max(rise, 0.0) * frac).tolist(),
                                 strict=True))
    # the last reading's time (None: nothing stored) and value
    last_s: float | None = float(t[-1]) if len(t) else None
    last_v = float(values[-1] + shift) if len(t) else math.nan
    if history_from_s is not None and last_s is not None and now_s - last_s > HOLE_S:  # after the last one
        grid = _grid(last_s, now_s, step_s)
        inc = _steps(b, seed, np.concatenate(([last_s], grid)), column)
        cum = last_v + np.cumsum(inc)
        fill += list(zip((grid * 1000).tolist(), cum.tolist(), strict=True))
    if fill:
        end_t, end_v = max(fill)
        if last_s is None or end_t / 1000.0 > last_s:
            last_s, last_v = end_t / 1000.0, end_v
    if last_s is None:
        return fill, shift, math.nan  # nothing stored, no history: the simulator's own start value
    since = _steps(b, seed, np.concatenate(([last_s], _grid(last_s, now_s, step_s), [max(now_s, last_s)])), column)
    live = last_v + float(since.sum())
    return fill, shift, live + quantum_wh(live)


def write_history(store_path: Path, days: int, step_s: int = 300, now_s: float | None = None,
                  heating: HeatingModel | None = None, water: WaterModel | None = None
                  ) -> dict[tuple[str, str], float]:
    """Make the demo's counters continue each other, and with ``days`` > 0 write that many local days of
    synthetic history of the three sites' grid and PV counters (so reports have months to work on).

    Works on whatever the store already holds, from any earlier ``energimon demo`` run with or without
    ``--history-days``: history only fills holes (before, between and after the stored readings), a stored
    reading is never overwritten by a different value (only lifted, all of a series by the same amount, when
    a longer history before it would otherwise need a negative counter) and no counter goes backwards.  The
    town hall's heat and water meters follow ``heating``/``water`` (with injected faults: :func:`fault_models`).
    Returns each (site, channel)'s value for the live simulator to start from (absent: nothing stored, no
    history — the simulator's defaults).
    """
    import datetime as dt

    from energimon.collector.simulator.buildings import SORO_BUILDINGS
    from energimon.model import LOCAL_TZ, Reading, SeriesKey

    now_s = time.time() if now_s is None else now_s
    today = dt.datetime.fromtimestamp(now_s, tz=LOCAL_TZ).date()
    history_from_s = (dt.datetime.combine(today - dt.timedelta(days=days), dt.time(), tzinfo=LOCAL_TZ).timestamp()
                      if days > 0 else None)
    store = SqliteStore(store_path)
    start: dict[tuple[str, str], float] = {}
    try:
        for i, b in enumerate(SORO_BUILDINGS):
            for device, role, channel, column in DEMO_COUNTERS:
                if role == "pv" and b.pv_kwp <= 0:
                    continue
                key = SeriesKey(b.site, device, channel)
                ts, vals = store.read_raw_ms(key, 0, int(now_s * 1000) + 86_400_000)
                fill, shift, live = counter_continuation(b, i, column, ts, vals, now_s, history_from_s, step_s)
                out = [Reading(b.site, device, channel, role, int(t), float(v)) for t, v in fill]
                if shift:
                    out += [Reading(b.site, device, channel, role, int(t), float(v + shift))
                            for t, v in zip(ts.tolist(), vals.tolist(), strict=True)]
                for k in range(0, len(out), 50_000):
                    rejected = store.write(out[k:k + 50_000])
                    if rejected:
                        raise ValueError(f"the store refused {len(rejected)} demo readings: {rejected[0].reason}")
                if live == live:  # not NaN
                    start[(b.site, channel)] = live
        if history_from_s is not None:
            write_heat_water_history(store, SORO_BUILDINGS[0].site, history_from_s, now_s, heating, water)
    finally:
        store.close()
    return start


FAULTS = {"afkoeling": ("fjernvarme", "volume_m3"), "vandlaekage": ("vand", "volume_m3")}
"""Faults the demo can inject into the town hall (``--fault``): a bypass that spoils the district heating's
cooling (the return 15 K warmer), a running cistern (0.06 m³/h day and night); the meter each one shows on."""
FAULT_DAYS = 4
"""An injected fault starts this many local days back (with a history, the alarm comes at once: 3 days/nights)."""
FAULT_FILE = "fejl.json"


def demo_faults(folder: Path, wanted: tuple[str, ...], now_s: float) -> dict[str, tuple[float, float]]:
    """The town hall's injected faults as (from, until) in UTC seconds, kept in ``fejl.json`` in the demo folder so
    every later run computes the same meter counters (they are functions of time and of these windows: a run
    without the fault ends it at the meter's last stored reading, and the counter never goes backwards).

    A wanted fault that is not active starts :data:`FAULT_DAYS` local days back, or at the meter's last stored
    reading when that is later (a fault cannot change what the meter already reported)."""
    import datetime as dt
    import json

    from energimon.model import LOCAL_TZ, SeriesKey

    path = folder / FAULT_FILE
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    faults = {str(k): (float(a), math.inf if b is None else float(b)) for k, (a, b) in stored.items()}
    site = "soro-raadhus"

    def last_reading_s(kind: str) -> float:
        device, channel = FAULTS[kind]
        if not (folder / "store.db").exists():
            return -math.inf
        store = SqliteStore(folder / "store.db", readonly=True)
        try:
            ts, _ = store.read_raw_ms(SeriesKey(site, device, channel), 0, int(now_s * 1000) + 86_400_000)
        finally:
            store.close()
        return float(ts[-1]) / 1000.0 if len(ts) else -math.inf

    for kind in FAULTS:
        window = faults.get(kind)
        if kind in wanted and window is not None and window[1] != math.inf:
            raise ValueError(t(f"fejlen {kind} har allerede været i {folder} og er rettet; brug en ny --dir for at "
                               "få den igen", f"the fault {kind} was in {folder} before and was repaired; use a new "
                               "--dir to have it again"))
        if kind in wanted and window is None:
            today = dt.datetime.fromtimestamp(now_s, tz=LOCAL_TZ).date()
            back = dt.datetime.combine(today - dt.timedelta(days=FAULT_DAYS), dt.time(), tzinfo=LOCAL_TZ).timestamp()
            last = last_reading_s(kind)
            faults[kind] = (back if last == -math.inf else max(back, math.ceil(last / 3600) * 3600.0), math.inf)
        elif kind not in wanted and window is not None and window[1] == math.inf:
            # repaired at the hour after its last reading (the counters are integrated hour by hour)
            last = last_reading_s(kind)
            end = window[0] if last == -math.inf else max(window[0], math.ceil(last / 3600) * 3600.0)
            faults[kind] = (window[0], end)
    if faults:
        path.write_text(json.dumps({k: [a, None if b == math.inf else b] for k, (a, b) in faults.items()}) + "\n",
                        encoding="utf-8")
    return faults


def fault_models(faults: dict[str, tuple[float, float]]) -> tuple[HeatingModel, WaterModel]:
    """The town hall's heating and water models with the faults' windows."""
    from energimon.collector.simulator.buildings import HeatingModel
    from energimon.collector.simulator.water_meter import WaterModel

    heating, water = HeatingModel(), WaterModel()
    if "afkoeling" in faults:
        a, b = faults["afkoeling"]
        heating = HeatingModel(bypass_k=15.0, bypass_from_s=a, bypass_until_s=b)
    if "vandlaekage" in faults:
        a, b = faults["vandlaekage"]
        water = WaterModel(leak_m3_h=0.06, leak_from_s=a, leak_until_s=b)
    return heating, water


HEAT_WATER_STEP_S = 600
"""The heat and water meters' history: a reading every 10 minutes (a battery M-Bus meter is read seldom)."""


def write_heat_water_history(store: SqliteStore, site: str, from_s: float, now_s: float,
                             heating: HeatingModel | None = None, water: WaterModel | None = None) -> int:
    """The town hall's heat meter, water meter and outdoor sensor from ``from_s`` to ``now_s``: what the live
    simulated meters would have sent (their counters are functions of time, so history and live meet without
    a jump, and writing it again writes the same values).  ``heating``/``water``: models with an injected fault
    (tests).  Returns the number of readings written."""
    from energimon.collector.simulator.buildings import HeatingModel, outdoor_temp_c
    from energimon.collector.simulator.water_meter import WaterModel, heat_history, water_history
    from energimon.model import Reading

    times = np.arange(math.ceil(from_s / HEAT_WATER_STEP_S) * HEAT_WATER_STEP_S, now_s, HEAT_WATER_STEP_S)
    if not len(times):
        return 0
    ms = (times * 1000).astype(np.int64).tolist()
    out: list[Reading] = []
    for device, role, values in (("fjernvarme", "heat", heat_history(heating or HeatingModel(), times)),
                                 ("vand", "water", water_history(water or WaterModel(), times))):
        for channel, arr in values.items():
            out += [Reading(site, device, channel, role, t, float(v)) for t, v in zip(ms, arr.tolist(), strict=True)]
    hours = times[times % 3600 == 0]
    out += [Reading(site, "udefoeler", "outdoor_temp_c", "weather", int(t * 1000), round(outdoor_temp_c(t), 2))
            for t in hours.tolist()]
    for k in range(0, len(out), 50_000):
        rejected = store.write(out[k:k + 50_000])
        if rejected:
            raise ValueError(f"the store refused {len(rejected)} demo readings: {rejected[0].reason}")
    return len(out)


async def run_demo(folder: Path, seconds: float | None, interval_s: float, out: TextIO | None = None,
                   history_days: int = 0, faults: tuple[str, ...] = ()) -> int:
    """The demo until Ctrl-C/SIGTERM (or ``seconds``): the latest readings every :data:`UPDATE_S` — a table
    redrawn in place on a terminal, one line per update otherwise (``out`` is not a terminal: a log, a pipe)."""
    out = out or sys.stdout
    folder.mkdir(parents=True, exist_ok=True)
    if history_days > 0:
        print(t(f"energimon demo: skriver {history_days} dages simuleret historik (5-minutters tællere)…",
                f"energimon demo: writing {history_days} days of simulated history (5-minute counters)…"),
              file=out, flush=True)
    # also without a history: the live meters go on from what earlier demo runs stored, never backwards
    now_s = time.time()
    windows = demo_faults(folder, faults, now_s)
    heating, water = fault_models(windows)
    start_wh = await asyncio.to_thread(write_history, folder / "store.db", history_days, 300, now_s, heating, water)
    sim = MeterSimulator(with_pv=True, start_wh=start_wh)
    # the town hall's heat and water meters, with the injected faults
    heat = MbusGateway([SimulatedMultical(heating=heating), SimulatedWaterMeter(water=water)])
    await sim.start()
    await heat.start()
    daemon = None
    try:
        config = write_demo_config(folder, sim, interval_s, _free_port(), mbus=heat, mail=True)
        settings = load_settings(config)
        await asyncio.to_thread(_demo_users, settings)
        meters = ", ".join(str(m.port) for m in sim.meters)
        inverters = ", ".join(str(i.port) for i in sim.inverters)
        print(t(f"energimon demo: 3 simulerede bygninger i Sorø på 127.0.0.1 — hovedmålere på port {meters}, "
                f"SunSpec-solcelleinvertere på {inverters}, rådhusets fjernvarme- og vandmåler (M-Bus) bag en "
                f"gateway på port {heat.port}",
                f"energimon demo: 3 simulated Sorø buildings on 127.0.0.1 — main meters on ports {meters}, SunSpec "
                f"PV inverters on {inverters}, the town hall's district heating and water meters (M-Bus) behind a "
                f"gateway on port {heat.port}"), file=out)
        web = settings.web
        logins = t(" eller ", " or ").join(f"{u} / {DEMO_PASSWORD} ({role})" for u, role, _, _ in DEMO_USERS)
        print(t(f"  konfiguration: {config}\n  lager:  {settings.store.path}\n  spool:  {settings.spool.path}",
                f"  config: {config}\n  store:  {settings.store.path}\n  spool:  {settings.spool.path}"), file=out)
        if settings.smtp is not None and settings.smtp.folder is not None:
            print(t(f"  mails:  {settings.smtp.folder}/  (alarmmails som .eml-filer; README: \"See an alert mail "
                    "from the demo\")",
                    f"  mails:  {settings.smtp.folder}/  (alert mails as .eml files; README: \"See an alert mail "
                    "from the demo\")"), file=out)
        if web is not None:
            print(t(f"  web:    {web.public_url}/  (log ind som {logins})",
                    f"  web:    {web.public_url}/  (log in as {logins})"), file=out)
        for kind, (a, b) in windows.items():
            if b == math.inf:
                since = pd.Timestamp(a, unit="s", tz="UTC").tz_convert("Europe/Copenhagen").strftime("%Y-%m-%d %H:%M")
                print(t(f"  fejl:   {kind} på rådhuset siden {since} (alarm, når den har varet 3 døgn/nætter)",
                        f"  fault:  {kind} at the town hall since {since} (an alarm once it has lasted 3 days/nights)"),
                      file=out)
        print(t("  Ctrl-C stopper demoen.\n", "  Ctrl-C stops the demo.\n"), file=out, flush=True)
        daemon = Daemon(settings)
        runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.request_stop)
        reader = SqliteStore(settings.store.path, readonly=True)
        try:
            await _show(out, reader, runner, daemon, seconds)
        finally:
            reader.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        code = await runner
        print(t(f"energimon demo er stoppet; data bliver liggende i {folder}",
                f"energimon demo stopped; the data stays in {folder}"), file=out, flush=True)
        return code
    finally:
        await heat.stop()
        await sim.stop()


UPDATE_S = 5.0
"""How often the demo shows the latest readings."""


async def _show(out: TextIO, reader: SqliteStore, runner: asyncio.Task[int], daemon: Daemon,
                seconds: float | None) -> None:
    """The latest readings every :data:`UPDATE_S` until the daemon stops (a ``--seconds`` run ends on time rather
    than at the next update): rich's Live table on a terminal, :func:`update_line` otherwise."""
    live = None
    if out.isatty():
        from rich.console import Console
        from rich.live import Live

        live = Live(rich_table([], 0.0), console=Console(file=out), auto_refresh=False)
        live.start()
    started = time.monotonic()
    try:
        while not runner.done():
            left = UPDATE_S if seconds is None else min(UPDATE_S, max(0.1, seconds - (time.monotonic() - started)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(runner), timeout=left)
            if runner.done():
                break
            elapsed = time.monotonic() - started
            rows = await asyncio.to_thread(table_rows, reader)
            if live is not None:
                live.update(rich_table(rows, elapsed), refresh=True)
            else:
                print(update_line(rows, elapsed), file=out, flush=True)
            if seconds is not None and elapsed >= seconds:
                daemon.request_stop()
    finally:
        if live is not None:
            live.stop()
