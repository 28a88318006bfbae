"""The demo's history and live counters continue each other, however `energimon demo` and
`energimon demo --history-days N` are combined: no counter ever goes backwards in the store (checked with the
store's own reset detection), history fills holes and never overwrites what is there."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import numpy as np

from energimon.app.demo import DEMO_COUNTERS, quantum_wh, write_history
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.model import LOCAL_TZ, Reading, SeriesKey
from energimon.store.sqlite import SqliteStore

DAY = 86_400
SIM_DEFAULTS = {"energy_import_wh": 1_250_000.0, "energy_export_wh": 125_000.0}  # MeterSimulator's, × (i + 1)


def counter_keys():
    return [(b, SeriesKey(b.site, dev, ch), role) for b in SORO_BUILDINGS for dev, role, ch, _ in DEMO_COUNTERS]


def resets_and_gaps(store_path, start_s: float, end_s: float) -> tuple[int, int]:
    """Resets over all time and gaps between ``start_s`` and ``end_s``, summed over the demo's counters, as the
    store's counter semantics (store/counters.py) see them."""
    store = SqliteStore(store_path, readonly=True)
    try:
        resets = gaps = 0
        for _, key, _ in counter_keys():
            whole = store.energy(key, dt.datetime(2000, 1, 2, tzinfo=dt.UTC),
                                 dt.datetime.now(dt.UTC) + dt.timedelta(days=30), "month")
            resets += len(whole.resets)
            part = store.energy(key, dt.datetime.fromtimestamp(start_s, dt.UTC),
                                dt.datetime.fromtimestamp(end_s, dt.UTC), "day")
            gaps += len(part.gaps)
        return resets, gaps
    finally:
        store.close()


def live_run(store_path, start: dict, t0_s: float, seconds: int = 120, interval_s: int = 10) -> None:
    """What a live demo run stores: the simulator's meters from ``start`` (or its defaults), read every
    ``interval_s`` through the devices' encodings — float32 kWh (Eastron SDM630), whole Wh (SunSpec int)."""
    out = []
    for i, b in enumerate(SORO_BUILDINGS):
        for dev, role, ch, _ in DEMO_COUNTERS:
            v0 = start.get((b.site, ch), SIM_DEFAULTS.get(ch, 5_000_000.0) * (i + 1 if ch in SIM_DEFAULTS else 1))
            for k in range(seconds // interval_s):
                v = v0 + k * interval_s * (0.0 if ch == "pv_energy_wh" else 3.0)  # night: the inverter sleeps
                read = float(np.float32(v / 1000.0)) * 1000.0 if role == "grid" else float(round(v))
                out.append(Reading(b.site, dev, ch, role, int((t0_s + k * interval_s) * 1000), read))
    store = SqliteStore(store_path)
    assert store.write(out) == []
    store.close()


def test_any_order_of_demo_and_history_runs_days_apart_leaves_no_reset_and_fills_its_days(tmp_path):
    path = tmp_path / "store.db"
    # a night run (00:30 local) so the PV counter is flat and only the encoding could make it go backwards
    t = dt.datetime.combine(dt.date.today() - dt.timedelta(days=20), dt.time(0, 30), tzinfo=LOCAL_TZ).timestamp()
    for days in (0, 4, 0, 7, 4, 0):  # demo, --history-days 4 a day later, demo, --history-days 7, …
        start = write_history(path, days, now_s=t)
        if days:
            # every counter continues: the live meters start just above what the store holds
            assert {k for k in start} == {(b.site, ch) for b in SORO_BUILDINGS for _, _, ch, _ in DEMO_COUNTERS}
            history_from = dt.datetime.combine(dt.datetime.fromtimestamp(t, LOCAL_TZ).date() - dt.timedelta(days),
                                               dt.time(), tzinfo=LOCAL_TZ).timestamp()
            assert resets_and_gaps(path, history_from, t) == (0, 0), days  # the N days are filled, no hole
        live_run(path, start, t + 2)
        assert resets_and_gaps(path, t - 30 * DAY, t)[0] == 0, days
        t += DAY + 3 * 3600  # the next command a day later
    # history never overwrote a stored reading with another value: the first live run's 12 readings are all
    # there, each one above its predecessor (lifted as a whole when the longer history needed room below it)
    store = SqliteStore(path, readonly=True)
    try:
        ts, vals = store.read_raw_ms(SeriesKey("soro-raadhus", "hovedmaaler", "energy_import_wh"), 0, 2**62)
    finally:
        store.close()
    assert np.all(np.diff(vals) >= 0) and len(ts) > 7 * 288
    first_run = (ts >= (t - 6 * (DAY + 3 * 3600) + 2) * 1000) & (ts < (t - 6 * (DAY + 3 * 3600) + 122) * 1000)
    assert first_run.sum() == 12


def test_the_live_start_is_above_what_the_devices_can_round_to():
    # float32 kWh: 12,345,678.9 Wh is 12,345.679 kWh; the nearest float32 is 12,345.6787…; a meter started at
    # exactly the stored value would read back below it — a reset. Started quantum_wh above, never.
    v = 12_345_678.9
    assert float(np.float32(v / 1000)) * 1000 < v
    assert float(np.float32((v + quantum_wh(v)) / 1000)) * 1000 >= v
    assert round(v + quantum_wh(v)) >= v and quantum_wh(10.0) == 1.0


def test_real_demo_commands_in_a_row_leave_no_counter_reset(tmp_path):
    """`energimon demo`, then `demo --history-days 2`, then `demo` again: real subprocesses, real Modbus
    simulators, the daemon and the store."""
    folder = tmp_path / "demo"
    started = time.time()
    for extra in ([], ["--history-days", "2"], []):
        proc = subprocess.run([sys.executable, "-m", "energimon", "demo", "--dir", str(folder), "--seconds", "3",
                               "--interval", "1", *extra], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    store = SqliteStore(folder / "store.db", readonly=True)
    try:
        for _, key, _ in counter_keys():
            ts, _ = store.read_raw_ms(key, 0, 2**62)
            live = (ts >= started * 1000) & (ts % 300_000 != 0)  # not the history's 5-minute grid
            assert live.sum() >= 3, key  # the live runs stored readings
            assert ts[0] <= (started - 2 * DAY) * 1000, key  # and the history goes 2 days back
    finally:
        store.close()
    assert resets_and_gaps(folder / "store.db", started - DAY, started)[0] == 0
