"""The demo town hall with a district-heating meter and a water meter (M-Bus), as the heat and water tests
configure it: tests/test_district_heating.py and tests/test_water_leak.py both evaluate its history, so both
import it from here rather than one test module from the other."""

from __future__ import annotations

TZ = "Europe/Copenhagen"
SITE = "soro-raadhus"
SETTINGS = {
    "sites": {SITE: {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
    "devices": [{"protocol": "mbus_tcp", "site": SITE, "id": "fjernvarme", "name": "Fjernvarmemåler", "role": "heat",
                 "host": "127.0.0.1", "port": 10001, "address": 1},
                {"protocol": "mbus_tcp", "site": SITE, "id": "vand", "name": "Vandmåler", "role": "water",
                 "host": "127.0.0.1", "port": 10001, "address": 2}],
    "smtp": {"transport": "folder", "folder": "mails", "sender": "energimon@test.invalid",
             "fallback_recipients": ["drift@test.invalid"]},
    "alerts": {"state_path": "alerts.db"},
}
