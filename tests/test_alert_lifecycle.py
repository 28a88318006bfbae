"""The alert lifecycle against a real SMTP server (aiosmtpd, STARTTLS + AUTH), in simulated time:
one mail per problem, one reminder after the interval, one resolved mail, nothing extra across a restart,
delivery after an SMTP outage exactly once, ack / snooze / maintenance mute, digest mode."""

from __future__ import annotations

import datetime as dt
import json

from helpers.alert_mail import make_settings, night_finding
from mail_servers import SmtpServer

from energimon.analytics.alerting import lifecycle
from energimon.analytics.alerting.mail import recipients_for, render_alert, render_digest
from energimon.analytics.alerting.state import AlertDB
from energimon.mail.outbox import backoff_s, deliver
from energimon.mail.transport import make_transport

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


class World:
    """Settings, the state file and the two things the daemon does every 15 minutes: step and deliver."""

    def __init__(self, smtp: SmtpServer, tmp_path, **alerts):
        self.smtp = smtp
        self.settings = make_settings(smtp.settings_dict(), tmp_path, pending_min=60, reminder_h=24,
                                      resolve_after_min=120, **alerts)
        self.cfg = self.settings.alerts
        self.db = AlertDB(self.cfg.state_path)
        self.transport = make_transport(self.settings.smtp)

    def restart(self) -> None:
        self.db.close()
        self.db = AlertDB(self.cfg.state_path)

    def render(self, kind, row, f):
        f = f or lifecycle.finding_from_json(row["finding"])
        return [(recipients_for(self.settings, f.site), render_alert(kind, row, f, self.settings))]

    def tick(self, now: dt.datetime, findings: list) -> dict:
        counts = lifecycle.step(self.db, self.cfg, findings, now, self.render)
        deliver(self.db, self.transport.send, now)
        return counts

    def run(self, start: dt.datetime, end: dt.datetime, findings: list, every: dt.timedelta = 15 * MIN) -> None:
        t = start
        while t < end:
            self.tick(t, findings)
            t += every

    def subjects(self) -> list[str]:
        self.smtp.wait(0)
        return [m["Subject"] for _, m in self.smtp.messages]


def test_one_problem_one_mail_one_reminder_one_resolved_and_a_restart_sends_nothing(smtp, tmp_path):
    w = World(smtp, tmp_path)
    f = [night_finding()]
    # pending for 60 minutes: ticks at 0, 15, 30, 45 min send nothing
    w.run(T0, T0 + 60 * MIN, f)
    assert w.subjects() == []
    assert [r["state"] for r in w.db.alerts()] == ["pending"]
    w.tick(T0 + 60 * MIN, f)
    smtp.wait(1)
    assert w.subjects() == ["[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"]
    assert smtp.messages[0][0] == ["drift.raadhus@soroe.dk"]
    # restart the daemon; the same tick again (a job run twice, the repeated DST hour) and later ticks: nothing
    w.restart()
    w.tick(T0 + 60 * MIN, f)
    w.run(T0 + 75 * MIN, T0 + 60 * MIN + 24 * H, f)
    assert len(w.subjects()) == 1
    # the reminder: 24 h after the first mail
    w.restart()
    w.tick(T0 + 60 * MIN + 24 * H, f)
    smtp.wait(2)
    assert w.subjects()[1] == "[energimon] Påmindelse: Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"
    w.run(T0 + 60 * MIN + 24 * H + 15 * MIN, T0 + 36 * H, f)
    assert len(w.subjects()) == 2
    # gone from T0 + 36 h: resolved after 120 minutes without it (last seen at T0 + 35:45)
    w.run(T0 + 36 * H, T0 + 37 * H + 45 * MIN, [])
    assert len(w.subjects()) == 2
    w.restart()
    w.run(T0 + 37 * H + 45 * MIN, T0 + 48 * H, [])
    smtp.wait(3)
    assert w.subjects()[2] == "[energimon] Løst: Sorø Rådhus · hovedmaaler: Højt natforbrug"
    assert len(w.subjects()) == 3
    resolved = smtp.messages[2][1]
    assert "Det varede fra torsdag 3. december 2026 kl. 01:00" in resolved.get_body(("plain",)).get_content()
    assert resolved["In-Reply-To"] == "<alert1.new@energimon>"
    # exactly one reminder, one new, one resolved notification in the state file
    kinds = [r[0] for r in w.db.conn.execute("SELECT kind FROM notifications ORDER BY id")]
    assert kinds == ["new", "reminder", "resolved"]


def test_a_blip_shorter_than_the_pending_period_sends_nothing(smtp, tmp_path):
    w = World(smtp, tmp_path)
    w.run(T0, T0 + 45 * MIN, [night_finding()])
    w.run(T0 + 45 * MIN, T0 + 5 * H, [])
    assert w.subjects() == []
    assert w.db.conn.execute("SELECT state FROM alerts").fetchone()[0] == "dropped"


def test_smtp_outage_delays_but_loses_nothing_and_delivers_once(smtp, tmp_path):
    w = World(smtp, tmp_path)
    smtp.stop()
    w.run(T0, T0 + 61 * MIN, [night_finding()])  # fires at T0 + 60 min; the server is down
    row = w.db.conn.execute("SELECT attempts, next_attempt, sent_at, last_error FROM outbox").fetchone()
    assert row["sent_at"] is None and row["attempts"] == 1 and "cannot reach" in row["last_error"]
    # first retry 60 s after the failed attempt at T0 + 60 min
    assert row["next_attempt"] == (T0 + 60 * MIN).timestamp() + backoff_s(1) == (T0 + 61 * MIN).timestamp()
    assert backoff_s(2) == 120 and backoff_s(20) == 3600  # 60 · 2^(n-1), at most an hour
    w.run(T0 + 61 * MIN, T0 + 3 * H, [night_finding()])  # still down: retried, kept
    assert w.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 1
    w.restart()  # a daemon restart during the outage keeps the queue
    smtp.start()  # the server is back (same port)
    w.run(T0 + 3 * H, T0 + 5 * H, [night_finding()])
    smtp.wait(1)
    assert w.subjects() == ["[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"]
    assert w.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0


def test_ack_stops_reminders_but_not_the_resolved_mail(smtp, tmp_path):
    w = World(smtp, tmp_path)
    w.run(T0, T0 + 2 * H, [night_finding()])
    assert len(w.subjects()) == 1
    alert_id = w.db.alerts()[0]["id"]
    assert w.db.ack(alert_id, T0 + 2 * H, "Jens")
    w.run(T0 + 2 * H, T0 + 60 * H, [night_finding()], every=H)
    assert len(w.subjects()) == 1
    w.run(T0 + 60 * H, T0 + 64 * H, [], every=H)
    smtp.wait(2)
    assert w.subjects()[1].startswith("[energimon] Løst: ")


def test_snooze_postpones_the_reminder(smtp, tmp_path):
    w = World(smtp, tmp_path)
    w.run(T0, T0 + 61 * MIN, [night_finding()])
    assert len(w.subjects()) == 1
    w.db.snooze(w.db.alerts()[0]["id"], T0 + 60 * MIN + 48 * H)
    w.run(T0 + 61 * MIN, T0 + 60 * MIN + 48 * H, [night_finding()], every=H)
    assert len(w.subjects()) == 1  # no reminder at 24 h
    w.tick(T0 + 60 * MIN + 48 * H, [night_finding()])
    smtp.wait(2)
    assert w.subjects()[1].startswith("[energimon] Påmindelse: ")


def test_maintenance_mute_holds_the_mail_until_it_ends(smtp, tmp_path):
    w = World(smtp, tmp_path)
    w.db.add_mute("soro-raadhus", None, T0, T0 + 8 * H, "service på ventilationen")
    w.run(T0, T0 + 8 * H, [night_finding()])
    assert w.subjects() == []
    w.tick(T0 + 8 * H, [night_finding()])  # still there after the service: now it is mailed
    smtp.wait(1)
    assert len(w.subjects()) == 1
    # a mute of another device does not hold this one
    w2 = World(smtp, tmp_path / "b")
    w2.db.add_mute("soro-raadhus", "ventilation", T0, T0 + 8 * H, "")
    w2.run(T0, T0 + 61 * MIN, [night_finding()])
    smtp.wait(2)
    assert len(w2.subjects()) == 2


def test_digest_mode_one_summary_instead_of_single_mails(smtp, tmp_path):
    w = World(smtp, tmp_path, digest=True)
    other = night_finding()
    other.rule, other.device, other.kwh_per_day, other.dkk_per_day = "stale_data", "pv1", None, None
    other.evidence = {"minutes_without_data": 90, "last_reading": "2026-12-03T00:30:00+00:00"}
    w.run(T0, T0 + 2 * H, [night_finding(), other])
    assert w.subjects() == []
    q = lifecycle.digest(w.db, T0 + 5 * H, lambda items: render_digest(items, w.settings, T0 + 5 * H))
    assert q == 1
    assert lifecycle.digest(w.db, T0 + 5 * H, lambda items: render_digest(items, w.settings, T0 + 5 * H)) == 0
    deliver(w.db, w.transport.send, T0 + 5 * H)
    smtp.wait(1)
    assert w.subjects() == ["[energimon] Dagens oversigt 3. december 2026: 2 ændringer"]
    body = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert "Ny: Sorø Rådhus · hovedmaaler: Højt natforbrug (ca. 120 kr./dag)" in body
    # 90 minutes without data: said in hours
    assert "Ny: Sorø Rådhus · pv1: Måleren sender ikke data" in body and "i ca. 2 timer" in body


def test_alerts_cli_list_ack_mute(smtp, tmp_path, capsys):
    from energimon.app.cli import main

    d = smtp.settings_dict()
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(
        '[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.55\n\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {d["port"]}\nsender = "energimon@soroe.dk"\n\n'
        '[alerts]\nstate_path = "alerts.db"\n', encoding="utf-8")
    db = AlertDB(tmp_path / "alerts.db")
    lifecycle.step(db, make_settings(d, tmp_path).alerts, [night_finding()], T0)
    db.close()
    assert main(["alerts", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "pending" in out and "soro-raadhus/hovedmaaler  night_load" in out
    assert main(["alerts", "ack", "1", "--config", str(cfg)]) == 0
    assert main(["alerts", "ack", "99", "--config", str(cfg)]) == 1
    assert main(["alerts", "mute", "soro-raadhus", "--hours", "4", "--reason", "service", "--config", str(cfg)]) == 0
    assert main(["alerts", "mute", "soro-radhus", "--config", str(cfg)]) == 1
    assert main(["alerts", "snooze", "1", "--config", str(cfg)]) == 0
    capsys.readouterr()
    assert main(["alerts", "list", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "kvitteret" in out and "pause 1: soro-raadhus/*" in out and "udsat til" in out
    db = AlertDB(tmp_path / "alerts.db")
    assert json.loads(db.alert(1)["finding"])["kwh_per_day"] == 48.0
    db.close()


def test_a_problem_that_changes_rule_on_the_same_meter_stays_one_alert(smtp, tmp_path):
    """Ventilation left on from 22:00: first seen as out-of-hours use in the evening, then as night load —
    one problem, one mail (the dedupe key is site + device + rule family)."""
    w = World(smtp, tmp_path)
    evening = night_finding()
    evening.rule, evening.evidence = "out_of_hours", {"hours": 3, "mean_kw": 16.0, "reference_kw": 10.0,
                                                      "from": "2026-12-02 22:00", "to": "2026-12-03 01:00"}
    w.run(T0, T0 + 2 * H, [evening])
    w.run(T0 + 2 * H, T0 + 24 * H, [night_finding()])
    smtp.wait(1)
    assert w.subjects() == ["[energimon] Sorø Rådhus · hovedmaaler: Forbrug uden for åbningstiden – ca. 120 kr./dag"]
    assert [(r["rule"], r["state"]) for r in w.db.alerts()] == [("night_load", "firing")]
    # the reminder tells the current verdict
    w.tick(T0 + 60 * MIN + 24 * H, [night_finding()])
    smtp.wait(2)
    assert w.subjects()[1] == "[energimon] Påmindelse: Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"


def test_a_site_whose_rules_failed_keeps_its_alerts_open_no_false_resolved_mail(smtp, tmp_path):
    """A rule run that crashed for a site says nothing about that site: without findings its firing alert
    would be resolved after resolve_after_min and a wrong "Løst" mail sent, its pending one dropped."""
    w = World(smtp, tmp_path)
    f = night_finding()
    w.run(T0, T0 + 75 * MIN, [f])
    smtp.wait(1)
    assert [r["state"] for r in w.db.alerts()] == ["firing"]
    t = T0 + 75 * MIN
    while t < T0 + 8 * H:  # the site's rules fail for hours: no findings, and the site is not evaluated
        lifecycle.step(w.db, w.cfg, [], t, w.render, unevaluated_sites=frozenset({f.site}))
        t += 15 * MIN
    assert [r["state"] for r in w.db.alerts()] == ["firing"]
    assert w.subjects() == ["[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"]
    # the rules work again and the problem is gone: resolved after resolve_after_min, one "Løst" mail
    w.run(t, t + 3 * H, [])
    smtp.wait(2)
    assert w.subjects()[1] == "[energimon] Løst: Sorø Rådhus · hovedmaaler: Højt natforbrug"
