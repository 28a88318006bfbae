"""The building page shows each carrier in its unit: a water meter's m³ as metered (not ÷ 1000, not kWh) beside
the electricity in kWh — over HTTP on the real server, numbers against hand computation."""

from __future__ import annotations

import datetime as dt

import httpx
from helpers.web_http import login, write_counter

from energimon.model import LOCAL_TZ
from energimon.store.sqlite import SqliteStore
from energimon.web import data


def test_the_building_page_shows_water_in_m3_and_electricity_in_kwh(served):
    s, srv = served()
    store = SqliteStore(s.store.path)
    # electricity 4 kW; water 0.125 m³ an hour (the helper's "kW" × 1000 per hour is the counter's rise:
    # 0.000125 × 1000 = 0.125 m³ per hour)
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2026-02-28", "2026-03-04", 4.0, step="15min")
    write_counter(store, "a", "vandmaaler", "volume_m3", "water", "2026-02-28", "2026-03-04", 0.000125, step="15min")
    p = data.period("day", dt.date(2026, 3, 2))
    now = dt.datetime(2026, 3, 10, tzinfo=LOCAL_TZ)
    series = store.series()
    bd = data.building_data(store, series, "a", p, now)
    store.close()
    water, el = bd.carrier("water"), bd.carrier("import")
    assert water is not None and el is not None
    # a day: 24 h × 0.125 m³/h = 3 m³ (as metered); 24 h × 4 kW = 96 kWh
    assert water.unit == "m³" and abs(water.total - 3.0) < 1e-9
    assert el.unit == "kWh" and abs(el.total - 96.0) < 1e-9
    assert [k.device for k in data.site_counters(series, "a")["water"]] == ["vandmaaler"]
    with httpx.Client(follow_redirects=True, timeout=20) as c:
        login(c, srv.url)
        html = c.get(f"{srv.url}/bygning/a", params={"view": "day", "date": "2026-03-02"}).text
    assert "<dt>Vand</dt><dd>3,0 m³</dd>" in html
    assert "Vand (m³)</h3>" in html and "<caption>Vand, man 2. marts 2026 (m³; – betyder ukendt)" in html
    assert "<dt>El købt fra nettet</dt><dd>96,0 kWh</dd>" in html
