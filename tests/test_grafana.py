"""Grafana provisioning: valid JSON, one datasource uid, and every panel's InfluxQL runs on a real influxd."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from energimon.model import Reading, now_ms
from energimon.store.influx import MEASUREMENT_CHANNELS, STATUS_FIELDS, STATUS_MEASUREMENT, TAGS, InfluxStore
from energimon.store.settings import InfluxSettings

GRAFANA = Path(__file__).resolve().parents[1] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
FIELDS = {**{m: set(chs) for m, chs in MEASUREMENT_CHANNELS.items()}, STATUS_MEASUREMENT: set(STATUS_FIELDS)}


def provisioned_uid() -> str:
    text = (GRAFANA / "provisioning" / "datasources" / "energimon.yaml").read_text(encoding="utf-8")
    uids = re.findall(r"^\s+uid:\s*(\S+)\s*$", text, re.M)
    assert len(uids) == 1, uids
    assert re.search(r"^\s+type:\s*influxdb\s*$", text, re.M)
    return uids[0]


def walk(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v)


def queries(dash: dict) -> list[str]:
    qs = [t["query"] for p in dash["panels"] for t in p["targets"]]
    qs += [v["query"] for v in dash.get("templating", {}).get("list", []) if v.get("type") == "query"]
    return qs


def test_there_are_the_four_dashboards_and_they_are_what_the_generator_writes():
    assert [p.name for p in DASHBOARDS] == ["building.json", "device-health.json", "portfolio.json", "spool.json"]
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0, "deploy/grafana/dashboards is stale: run deploy/grafana/build_dashboards.py"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_json_is_valid_and_uses_only_the_provisioned_datasource(path):
    dash = json.loads(path.read_text(encoding="utf-8"))
    uid = provisioned_uid()
    assert dash["uid"].startswith("energimon-") and dash["title"] and dash["panels"]
    refs = [d["datasource"] for d in walk(dash) if "datasource" in d]
    assert refs and all(r == {"type": "influxdb", "uid": uid} for r in refs)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert p["targets"], p["title"]
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_names_existing_measurements_fields_and_tags(path):
    dash = json.loads(path.read_text(encoding="utf-8"))
    for q in queries(dash):
        measurements = re.findall(r'FROM "(\w+)"', q)
        assert len(measurements) == 1, q
        m = measurements[0]
        assert m in FIELDS, f"{m!r} is not a measurement energimon writes: {q}"
        fields = re.findall(r'\w+\("(\w+)"\)', q)
        assert all(f in FIELDS[m] for f in fields), f"{fields} not all fields of {m}: {q}"
        tags = set(re.findall(r'(?:WHERE|AND|,|BY)\s+"(\w+)"', q)) - set(FIELDS[m])
        allowed = {"host"} if m == STATUS_MEASUREMENT else set(TAGS)
        assert tags <= allowed, f"unknown tag(s) {tags - allowed}: {q}"
        if "WITH KEY" not in q:
            assert "$timeFilter" in q, f"no time filter: {q}"


def test_every_query_runs_on_real_influxd_and_returns_data(influxd, influx_settings: InfluxSettings):
    store = InfluxStore(influx_settings)
    end = now_ms() // 60_000 * 60_000
    readings, step = [], 30 * 60_000
    for k, ts in enumerate(range(end - 3 * 86_400_000, end, step)):
        s = "soro-raadhus"
        readings += [
            Reading(s, "hovedmaaler", "power_w", "grid", ts, 1500.0 + k % 7),
            Reading(s, "hovedmaaler", "energy_import_wh", "grid", ts, 1e6 + 750.0 * k),
            Reading(s, "hovedmaaler", "energy_export_wh", "grid", ts, 2e5 + 10.0 * k),
            Reading(s, "inverter-1", "pv_power_w", "pv", ts, 400.0),
            Reading(s, "inverter-1", "pv_energy_wh", "pv", ts, 5e5 + 200.0 * k),
            Reading(s, "fjernvarme", "heat_energy_wh", "heat", ts, 9e6 + 3000.0 * k),
            Reading(s, "vejr", "outdoor_temp_c", "weather", ts, 4.5),
            Reading(s, "hovedmaaler", "device_online", "grid", ts, 1.0),
            Reading(s, "hovedmaaler", "poll_errors", "grid", ts, float(k // 10)),
            Reading(s, "hovedmaaler", "fields_missing", "grid", ts, 0.0),
        ]
    try:
        assert store.write(readings) == []
        for k, ts in enumerate(range(end - 86_400_000, end, step)):
            store.write_status("energi-server", {"spool_backlog": k, "readings_written": 1000 * k,
                                                 "dead_letters": 2}, ts)
    finally:
        store.close()
    for path in DASHBOARDS:
        for q in queries(json.loads(path.read_text(encoding="utf-8"))):
            sql = (q.replace("$timeFilter", "time > now() - 7d").replace("$__interval", "1h")
                   .replace("$site", "soro-raadhus"))
            doc = influxd.query(sql, db=influx_settings.database)
            res = doc["results"][0]
            assert "error" not in res, f"{path.name}: {res.get('error')}: {sql}"
            values = [v for s in res.get("series", []) for row in s["values"] for v in row[1:] if v is not None]
            assert values, f"{path.name}: no data for {sql}"
