"""`energimon run` with store.kind = "influxdb": simulated Modbus meters -> spool -> a real influxd, end to end."""

from __future__ import annotations

import asyncio

from conftest import unique_db
from helpers.wait import async_wait_for

from energimon.app.daemon import Daemon
from energimon.app.demo import write_demo_config
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.config.settings import load_settings
from energimon.store.influx import MEASUREMENT_CHANNELS, InfluxStore

SITES = {"soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"}


def test_daemon_writes_every_accepted_reading_once_into_influxdb(influxd, tmp_path):
    db = unique_db()

    async def scenario():
        async with MeterSimulator(with_pv=True, with_heat=True) as sim:
            cfg = write_demo_config(tmp_path, sim, interval_s=1)
            text = cfg.read_text(encoding="utf-8")
            assert '[store]\npath = "store.db"\n' in text
            text = text.replace('[store]\npath = "store.db"\n', (
                f'[store]\nkind = "influxdb"\n[store.influxdb]\nurl = "{influxd.url}"\nmode = "v1"\n'
                f'database = "{db}"\ncreate_database = true\ntimeout_s = 5\n'))
            cfg.write_text(text, encoding="utf-8")
            settings = load_settings(cfg)
            daemon = Daemon(settings)
            runner = asyncio.create_task(daemon.run(install_signal_handlers=False))
            # every device has delivered (meters, inverters, heat meter) and the writer has caught up
            await async_wait_for(lambda: all(p.health.last_success_ms for p in daemon.pollers)
                                 and daemon.writer.written == daemon.accepted > 0, 60,
                                 "readings of every device written to InfluxDB", 0.1)
            daemon.request_stop()
            code = await asyncio.wait_for(runner, timeout=10)
            return code, daemon, settings

    code, daemon, settings = asyncio.run(scenario())
    assert code == 0
    assert daemon.accepted > 0 and daemon.writer.written == daemon.accepted
    assert not (tmp_path / "store.db").exists()  # nothing went to the embedded store
    # count every stored value, with the tests' own query
    total = 0
    for m in MEASUREMENT_CHANNELS:
        doc = influxd.query(f'SELECT count(*) FROM "{m}"', db=db)
        for s in doc["results"][0].get("series", []):
            total += sum(v for v in s["values"][0][1:] if v is not None)
    assert total == daemon.accepted
    store = InfluxStore(settings.store.influxdb, readonly=True)
    try:
        latest = store.latest()
    finally:
        store.close()
    assert set(latest["site"]) == SITES
    assert set(latest["role"]) == {"grid", "pv", "heat"}
    assert {"electricity", "heat", "device_health"} <= {m for m, chs in MEASUREMENT_CHANNELS.items()
                                                         if set(chs) & set(latest["channel"])}
