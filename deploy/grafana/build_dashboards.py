"""Write the Grafana dashboards in deploy/grafana/dashboards/ (JSON) from the panel definitions below.

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if the JSON files are not what this writes

Every query is InfluxQL against energimon's schema (measurements electricity, heat, weather,
device_health, energimon_status; tags site, device, role).  tests/test_grafana.py runs each query
against a real influxd.  Energy per day is the daily difference of the counter's last value, in
Danish local time (``tz('Europe/Copenhagen')``); energimon's reports use the store's own counter
semantics (interpolation at window edges, resets flagged), so they can differ slightly at day edges.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DS = {"type": "influxdb", "uid": "energimon-influxdb"}
OUT = Path(__file__).resolve().parent / "dashboards"
TZ = "tz('Europe/Copenhagen')"


def target(ref: str, query: str, alias: str = "") -> dict:
    t = {"refId": ref, "datasource": DS, "query": query, "rawQuery": True, "resultFormat": "time_series"}
    if alias:
        t["alias"] = alias
    return t


def panel(pid: int, title: str, kind: str, targets: list[dict], x: int, y: int, w: int = 12, h: int = 8,
          unit: str = "", description: str = "", **extra) -> dict:
    p = {
        "id": pid, "title": title, "type": kind, "datasource": DS, "targets": targets,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit} if unit else {}, "overrides": []},
    }
    if description:
        p["description"] = description
    p.update(extra)
    return p


def site_variable() -> dict:
    return {
        "name": "site", "label": "Bygning", "type": "query", "datasource": DS,
        "query": 'SHOW TAG VALUES FROM "electricity" WITH KEY = "site"',
        "definition": 'SHOW TAG VALUES FROM "electricity" WITH KEY = "site"',
        "refresh": 1, "multi": False, "includeAll": False, "sort": 1,
    }


def dashboard(uid: str, title: str, panels: list[dict], variables: list[dict] | None = None,
              time_from: str = "now-7d") -> dict:
    return {
        "uid": uid, "title": title, "tags": ["energimon"], "timezone": "Europe/Copenhagen",
        "schemaVersion": 39, "version": 1, "editable": False, "refresh": "1m",
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables or []},
        "panels": panels,
    }


def per_day(field: str, measurement: str, where: str, by: str = '"site"') -> str:
    return (f'SELECT non_negative_difference(last("{field}")) / 1000 FROM "{measurement}" '
            f"WHERE {where} AND $timeFilter GROUP BY time(1d), {by} fill(none) {TZ}")


def portfolio() -> dict:
    grid = "\"role\" = 'grid'"
    return dashboard("energimon-portfolio", "energimon — portefølje (alle bygninger)", [
        panel(1, "Effekt fra nettet pr. bygning", "timeseries", [target(
            "A", f'SELECT mean("power_w") FROM "electricity" WHERE {grid} AND $timeFilter '
                 'GROUP BY time($__interval), "site" fill(null)', "$tag_site")], 0, 0, unit="watt"),
        panel(2, "Forbrug pr. dag (kWh, elimport)", "barchart", [target(
            "A", per_day("energy_import_wh", "electricity", grid), "$tag_site")], 12, 0, unit="kwatth"),
        panel(3, "Solcelleproduktion pr. dag (kWh)", "barchart", [target(
            "A", per_day("pv_energy_wh", "electricity", "\"role\" = 'pv'"), "$tag_site")], 0, 8, unit="kwatth"),
        panel(4, "Seneste effekt pr. bygning", "table", [target(
            "A", f'SELECT last("power_w") FROM "electricity" WHERE {grid} AND $timeFilter GROUP BY "site"')],
            12, 8, unit="watt"),
    ], time_from="now-30d")


def building() -> dict:
    s = '"site" =~ /^$site$/'
    return dashboard("energimon-building", "energimon — bygning", [
        panel(1, "Effekt (pr. måler)", "timeseries", [target(
            "A", f'SELECT mean("power_w") FROM "electricity" WHERE {s} AND $timeFilter '
                 'GROUP BY time($__interval), "device" fill(null)', "$tag_device")], 0, 0, w=24, unit="watt",
            description="Positive: drawn from the grid; negative: exported."),
        panel(2, "Energi pr. dag (kWh): import og eksport", "barchart", [
            target("A", per_day("energy_import_wh", "electricity", f"{s} AND \"role\" = 'grid'", '"device"'),
                   "import $tag_device"),
            target("B", per_day("energy_export_wh", "electricity", f"{s} AND \"role\" = 'grid'", '"device"'),
                   "eksport $tag_device"),
        ], 0, 8, unit="kwatth"),
        panel(3, "Solceller mod forbrug", "timeseries", [
            target("A", f'SELECT mean("pv_power_w") FROM "electricity" WHERE {s} AND "role" = \'pv\' AND $timeFilter '
                        "GROUP BY time($__interval) fill(null)", "solceller"),
            target("B", f'SELECT mean("power_w") FROM "electricity" WHERE {s} AND "role" = \'grid\' AND $timeFilter '
                        "GROUP BY time($__interval) fill(null)", "fra nettet (netto)"),
        ], 12, 8, unit="watt",
            description="Building load = from the grid + PV production (energimon's solar report computes it "
                        "per hour from counters)."),
        panel(4, "Fjernvarme pr. dag (kWh)", "barchart", [target(
            "A", per_day("heat_energy_wh", "heat", s, '"device"'), "$tag_device")], 0, 16, unit="kwatth"),
        panel(5, "Udetemperatur", "timeseries", [target(
            "A", f'SELECT mean("outdoor_temp_c") FROM "weather" WHERE {s} AND $timeFilter '
                 "GROUP BY time($__interval) fill(null)", "udetemperatur")], 12, 16, unit="celsius"),
    ], [site_variable()])


def device_health() -> dict:
    return dashboard("energimon-device-health", "energimon — enheder (device health)", [
        panel(1, "Online (1) / offline (0), seneste", "table", [target(
            "A", 'SELECT last("device_online") FROM "device_health" WHERE $timeFilter GROUP BY "site", "device"')],
            0, 0),
        panel(2, "Online over tid", "state-timeline", [target(
            "A", 'SELECT last("device_online") FROM "device_health" WHERE $timeFilter '
                 'GROUP BY time($__interval), "site", "device" fill(previous)', "$tag_site/$tag_device")], 12, 0),
        panel(3, "Fejlede forespørgsler pr. interval", "timeseries", [target(
            "A", 'SELECT non_negative_difference(last("poll_errors")) FROM "device_health" WHERE $timeFilter '
                 'GROUP BY time($__interval), "site", "device" fill(none)', "$tag_site/$tag_device")], 0, 8),
        panel(4, "Værdier enheden ikke leverer", "timeseries", [target(
            "A", 'SELECT last("fields_missing") FROM "device_health" WHERE $timeFilter '
                 'GROUP BY time($__interval), "site", "device" fill(none)', "$tag_site/$tag_device")], 12, 8),
        panel(5, "Seneste måling pr. enhed (alder)", "table", [target(
            "A", 'SELECT last("power_w") FROM "electricity" WHERE $timeFilter GROUP BY "site", "device"')], 0, 16,
            w=24, description="A device whose last reading is old has stopped delivering."),
    ], time_from="now-24h")


def spool() -> dict:
    return dashboard("energimon-spool", "energimon — spool og skrivning til InfluxDB", [
        panel(1, "Spool backlog (aflæsninger der venter)", "timeseries", [target(
            "A", 'SELECT last("spool_backlog") FROM "energimon_status" WHERE $timeFilter '
                 'GROUP BY time($__interval), "host" fill(none)', "$tag_host")], 0, 0, unit="short",
            description="Readings in the local spool not yet confirmed by InfluxDB. Written by the daemon's "
                        "status job when the store is reachable, so an outage shows as a gap followed by the "
                        "backlog draining."),
        panel(2, "Skrevet til InfluxDB pr. interval", "timeseries", [target(
            "A", 'SELECT non_negative_difference(last("readings_written")) FROM "energimon_status" '
                 'WHERE $timeFilter GROUP BY time($__interval), "host" fill(none)', "$tag_host")], 12, 0),
        panel(3, "Dead letters (i alt)", "stat", [target(
            "A", 'SELECT last("dead_letters") FROM "energimon_status" WHERE $timeFilter GROUP BY "host"',
            "$tag_host")], 0, 8),
        panel(4, "Seneste statuspunkt fra energimon", "stat", [target(
            "A", 'SELECT last("readings_written") FROM "energimon_status" WHERE $timeFilter GROUP BY "host"',
            "$tag_host")], 12, 8, unit="dateTimeFromNow",
            description="When each energimon server last wrote its status (every store.influxdb.status_interval_s, "
                        "default 60 s). Older than a few minutes: the daemon is silent or cannot reach InfluxDB.",
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "/^Time$/", "values": False}}),
    ], time_from="now-24h")


DASHBOARDS = {"portfolio.json": portfolio, "building.json": building, "device-health.json": device_health,
              "spool.json": spool}


def render() -> dict[str, str]:
    return {name: json.dumps(fn(), indent=2, ensure_ascii=False) + "\n" for name, fn in DASHBOARDS.items()}


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (OUT / n).exists() or (OUT / n).read_text("utf-8") != text]
        if stale:
            print(f"out of date: {', '.join(stale)} (run python deploy/grafana/build_dashboards.py)")
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} dashboards to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
