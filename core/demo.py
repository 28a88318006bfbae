"""``energimon demo``: simulated Sorø buildings -> daemon -> embedded store, live on screen."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.config.settings import load_settings
from energimon.daemon import Daemon
from energimon.model import CHANNELS
from energimon.store.sqlite import SqliteStore

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

DEVICE = """
[[devices]]
site = "{site}"
id = "{id}"
role = "{role}"
protocol = "modbus_tcp"
host = "127.0.0.1"
port = {port}
profile = "{profile}"
interval_s = {interval}
"""

ESCO_MARKER = "# --- energimon demo --esco"
"""Starts the [esco]/[datahub] tail that `energimon demo --esco` appends; rewriting the config keeps it."""

SHOWN = ("power_w", "energy_import_wh", "energy_export_wh", "pv_power_w", "pv_energy_wh", "heat_power_w")


def write_demo_config(folder: Path, sim: MeterSimulator, interval_s: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "energimon.toml"
    devices = [(m.building.site, "hovedmaaler", "grid", m.port, "eastron.sdm630") for m in sim.meters]
    devices += [(inv.building.site, "inverter", "pv", inv.port, "sunspec") for inv in sim.inverters]
    if sim.heat_meter is not None:
        building, port, _ = sim.heat_meter
        devices.append((building.site, "fjernvarme", "heat", port, "kamstrup.multical603"))
    text = "".join(
        DEVICE.format(site=site, id=dev_id, role=role, port=port, profile=profile, interval=interval_s)
        for site, dev_id, role, port, profile in devices
    )
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    esco = old[old.index(ESCO_MARKER):] if ESCO_MARKER in old else ""  # so `report savings` keeps working
    path.write_text(DEMO_CONFIG.format(config=path, devices=text) + ("\n" + esco if esco else ""), encoding="utf-8")
    return path


def format_table(store: SqliteStore) -> str:
    latest = store.latest()
    if latest.empty:
        return "  (no readings yet)"
    latest = latest[latest["channel"].isin(SHOWN) & ~latest["device"].str.contains("-")]
    now = time.time()
    lines = [f"  {'site':<21} {'device':<12} {'channel':<18} {'value':>14}  age"]
    for row in latest.itertuples():
        unit = CHANNELS[row.channel].unit
        age = now - row.time.timestamp()
        lines.append(f"  {row.site:<21} {row.device:<12} {row.channel:<18} {row.value:>11.1f} {unit:<3} {age:4.0f} s")
    return "\n".join(lines)


def write_history(store_path: Path, days: int, step_s: int = 300) -> dict[tuple[str, str], float]:
    """Synthetic history of the three sites' grid and PV counters for the last ``days`` local days, so
    reports (``energimon report solar``) have months to work on.  Returns each (site, channel)'s last
    value: the live simulator continues from there, without a jump a report would see as consumption."""
    import datetime as dt

    from energimon.analytics.solar.synthetic import site_readings
    from energimon.collector.simulator.buildings import SORO_BUILDINGS
    from energimon.model import LOCAL_TZ

    today = dt.datetime.now(tz=LOCAL_TZ).date()
    start = today - dt.timedelta(days=days)
    store = SqliteStore(store_path)
    last: dict[tuple[str, str], float] = {}
    try:
        for i, b in enumerate(SORO_BUILDINGS):
            for batch in site_readings(b, start, today, step_s, seed=i):
                store.write(batch)
                last[(b.site, batch[-1].channel)] = batch[-1].value
    finally:
        store.close()
    return last


async def run_demo(folder: Path, seconds: float | None, interval_s: float, out=sys.stdout,
                   history_days: int = 0) -> int:
    start_wh = {}
    if history_days > 0:
        folder.mkdir(parents=True, exist_ok=True)
        print(f"energimon demo: writing {history_days} days of simulated history (5-minute counters)…",
              file=out, flush=True)
        start_wh = await asyncio.to_thread(write_history, folder / "store.db", history_days)
    sim = MeterSimulator(with_pv=True, with_heat=True, start_wh=start_wh)
    await sim.start()
    daemon = None
    try:
        config = write_demo_config(folder, sim, interval_s)
        settings = load_settings(config)
        print("energimon demo: 3 simulated Sorø buildings on 127.0.0.1 — main meters on ports "
              f"{', '.join(str(m.port) for m in sim.meters)}, SunSpec PV inverters on "
              f"{', '.join(str(i.port) for i in sim.inverters)}", file=out)
        print(f"  config: {config}\n  store:  {settings.store.path}\n  spool:  {settings.spool.path}", file=out)
        print("  Ctrl-C stops the demo.\n", file=out, flush=True)
        daemon = Daemon(settings)
        runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, daemon.request_stop)
        reader = SqliteStore(settings.store.path, readonly=True)
        started = time.monotonic()
        try:
            while not runner.done():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(runner), timeout=5.0)
                if runner.done():
                    break
                elapsed = time.monotonic() - started
                table = await asyncio.to_thread(format_table, reader)
                print(f"[{elapsed:5.0f} s] latest readings:\n{table}\n", file=out, flush=True)
                if seconds is not None and elapsed >= seconds:
                    daemon.request_stop()
        finally:
            reader.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        code = await runner
        print(f"energimon demo stopped; the data stays in {folder}", file=out, flush=True)
        return code
    finally:
        await sim.stop()
