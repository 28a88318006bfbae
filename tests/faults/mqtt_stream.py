"""The MQTT stream the daemon scenarios share: the main meter at Sorø Rådhus publishing its energy counter
as JSON (kWh, with its own time) on ``TOPIC``; ``energimon run``'s configuration for it (:func:`write_config`) and
``n`` exact payloads with what the store must hold (:func:`messages`).  Used by test_daemon_sigkill.py,
test_broker_restart.py and test_spool_full.py, so each imports it from here rather than one scenario from another.
"""

from __future__ import annotations

import json
from pathlib import Path

SITE, DEVICE, CHANNEL = "soro-raadhus", "hovedmaaler", "energy_import_wh"
TOPIC = f"bms/{SITE}/{DEVICE}/energi"


def write_config(workdir: Path, port: int, protocol: str, client_id: str = "energimon-crash",
                 store: str = 'path = "store.db"', extra: str = "") -> Path:
    cfg = workdir / "energimon.toml"
    cfg.write_text(f"""
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.556

[store]
{store}

[spool]
path = "spool.db"

[mqtt]
host = "127.0.0.1"
port = {port}
protocol = "{protocol}"
client_id = "{client_id}"
reconnect_min_s = 0.2
reconnect_max_s = 1
session_expiry_s = 3600

[[mqtt.subscriptions]]
topic = "bms/{{site}}/{{device}}/energi"
format = "json"
role = "grid"
channel = "energy_import_wh"
unit = "kWh"
value_path = "e"
time_path = "t"
{extra}
""", encoding="utf-8")
    return cfg


def messages(n: int, t0_s: int) -> tuple[list[tuple[str, str]], dict]:
    """``n`` payloads, one a second of payload time, values exact in binary; and what the store must hold."""
    items = [(TOPIC, json.dumps({"e": 1000 + i * 0.125, "t": t0_s + i})) for i in range(n)]
    expected = {(SITE, DEVICE, CHANNEL, (t0_s + i) * 1000): (1000 + i * 0.125) * 1000 for i in range(n)}  # kWh->Wh
    return items, expected
