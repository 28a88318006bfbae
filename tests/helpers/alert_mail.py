"""What the mail and alert tests share: the two Sorø sites with a facility manager, settings with an SMTP
configuration and an alert state file, the night-load finding; the site's named devices, findings on them and
the daemon's alert step with its outbox (:class:`Outbox`).  Used by tests/test_mail_smtp.py, test_mail_graph.py,
test_alert_lifecycle.py, test_alert_mail_texts.py, test_alert_mail_carriers.py and faults/test_smtp_outage.py, so
each imports it from here rather than one test module from another."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from energimon.analytics.alerting import lifecycle
from energimon.analytics.alerting.mail import recipients_for, render_alert, render_digest
from energimon.analytics.alerting.state import AlertDB
from energimon.analytics.anomaly.findings import Finding
from energimon.config.settings import settings_from_dict
from energimon.mail.outbox import deliver
from energimon.mail.transport import make_transport

SITES = {"soro-raadhus": {"name": "Sorø Rådhus", "address": "Rådhusvej 8, 4180 Sorø", "latitude": 55.43,
                          "longitude": 11.55, "facility_managers": ["drift.raadhus@soroe.dk"]},
         "dianalund-bibliotek": {"name": "Dianalund Bibliotek", "latitude": 55.53, "longitude": 11.49}}


def make_settings(smtp_dict: dict, tmp_path: Path, **alerts):
    return settings_from_dict({"sites": SITES, "smtp": smtp_dict,
                               "alerts": {"state_path": str(tmp_path / "alerts.db"), "price_dkk_per_kwh": 2.5,
                                          **alerts}})


def night_finding() -> Finding:
    return Finding(rule="night_load", site="soro-raadhus", device="hovedmaaler", severity="warning",
                   since=dt.datetime(2026, 12, 3, 0, 0, tzinfo=dt.UTC),
                   evidence={"night_kw": 16.0, "reference_kw": 10.0, "limit_kw": 12.5, "night": "01-05",
                             "date": "2026-12-03"},
                   kwh_per_day=48.0, dkk_per_day=120.0, channel="load_kwh")


T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)  # 03:00 in Copenhagen
SITE = "soro-raadhus"
DEVICES = [
    {"protocol": "modbus_tcp", "site": SITE, "id": "hovedmaaler", "name": "Hovedmåler", "role": "grid",
     "host": "127.0.0.1", "profile": "eastron.sdm630"},
    {"protocol": "mbus_tcp", "site": SITE, "id": "fjernvarme", "name": "Fjernvarmemåler", "role": "heat",
     "host": "127.0.0.1", "port": 10001, "address": 1},
    {"protocol": "modbus_tcp", "site": SITE, "id": "inverter", "name": "Solcelleanlæg tag", "role": "pv",
     "host": "127.0.0.1", "port": 503, "profile": "sunspec"},
]


def finding(rule: str, device: str, severity: str = "warning", **evidence) -> Finding:
    return Finding(rule=rule, site=SITE, device=device, severity=severity,
                   since=dt.datetime(2026, 11, 27, 0, 51, tzinfo=dt.UTC), evidence=evidence,
                   channel=str(evidence.get("channel")) if "channel" in evidence else None)


class Outbox:
    """The lifecycle's step, the outbox and the configured transport, as the daemon runs them."""

    def __init__(self, settings):
        self.settings, self.cfg = settings, settings.alerts
        self.db = AlertDB(self.cfg.state_path)
        self.transport = make_transport(settings.smtp)

    def render(self, kind, row, f):
        f = f or lifecycle.finding_from_json(row["finding"])
        return [(recipients_for(self.settings, f.site), render_alert(kind, row, f, self.settings))]

    def tick(self, now: dt.datetime, findings: list[Finding]) -> None:
        lifecycle.step(self.db, self.cfg, findings, now, self.render)
        deliver(self.db, self.transport.send, now)

    def digest(self, now: dt.datetime) -> int:
        queued = lifecycle.digest(self.db, now, lambda items: render_digest(items, self.settings, now))
        deliver(self.db, self.transport.send, now)
        return queued
