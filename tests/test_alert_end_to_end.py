"""From the store to the facility manager's inbox: readings in a real SQLite store, the rules, the lifecycle,
a chart and a real SMTP server (aiosmtpd).  Holidays, a closure and a configured event produce no alert;
ventilation left on at night produces exactly one mail."""

from __future__ import annotations

import numpy as np
import pandas as pd
from mail_servers import SmtpServer

from energimon.analytics.alerting.jobs import AlertRunner
from energimon.analytics.anomaly.calendar import SiteCalendar
from energimon.analytics.anomaly.settings import SiteCalendarSettings
from energimon.config.settings import settings_from_dict
from energimon.model import Reading
from energimon.store.sqlite import SqliteStore

TZ = "Europe/Copenhagen"
SITE, DEV = "soro-raadhus", "hovedmaaler"
CAL = {
    "opening_hours": {d: "07:30-16:00" for d in ("mon", "tue", "wed", "thu", "fri")},
    "closures": [{"start": "2026-11-20", "end": "2026-11-20", "reason": "Flytning"}],
    "events": [{"start": "2026-11-22T10:00", "end": "2026-11-22T15:00", "reason": "Julemarked"}],
}


def settings(smtp: SmtpServer, tmp_path, cal: dict = CAL):
    return settings_from_dict({
        "sites": {SITE: {"name": "Sorø Rådhus", "address": "Rådhusvej 8, 4180 Sorø", "latitude": 55.43,
                         "longitude": 11.55, "facility_managers": ["drift.raadhus@soroe.dk"]}},
        "store": {"path": str(tmp_path / "store.db")},
        "smtp": smtp.settings_dict(),
        "alerts": {"state_path": str(tmp_path / "alerts.db"), "price_dkk_per_kwh": 2.5, "pending_min": 60,
                   "reminder_h": 72, "sites": {SITE: cal}},
    })


def write_building(store: SqliteStore, start: str, end: pd.Timestamp, fault_from: pd.Timestamp | None) -> None:
    """Hourly counter readings: 10 kW base, +40 kW in opening hours (by the calendar: closed on holidays and
    the closure), +30 kW during the Christmas market event, +6 kW from 22 to 06 after ``fault_from``."""
    cal = SiteCalendar(SiteCalendarSettings.model_validate(CAL))
    idx = pd.date_range(pd.Timestamp(start, tz=TZ), end, freq="1h", inclusive="left")
    is_open = cal.open_mask(idx)
    kw = np.where(is_open, 50.0, 10.0)
    event = (idx >= pd.Timestamp("2026-11-22 10:00", tz=TZ)) & (idx < pd.Timestamp("2026-11-22 15:00", tz=TZ))
    kw = np.where(event, 40.0, kw)
    if fault_from is not None:
        night = (idx >= fault_from) & ((idx.hour >= 22) | (idx.hour < 6))
        kw = kw + np.where(night, 6.0, 0.0)
    counter = np.concatenate(([0.0], np.cumsum(kw * 1000)))  # Wh at each hour boundary
    times = [*idx, idx[-1] + pd.Timedelta(hours=1)]
    readings = [Reading(SITE, DEV, "energy_import_wh", "grid", int(t.timestamp() * 1000), float(v))
                for t, v in zip(times, counter, strict=True)]
    readings += [Reading(SITE, DEV, "device_online", "grid", int(t.timestamp() * 1000), 1.0) for t in times[-3:]]
    assert store.write(readings) == []


def test_calendar_days_are_quiet_and_a_night_fault_is_one_mail_with_chart(smtp, tmp_path):
    s = settings(smtp, tmp_path)
    store = SqliteStore(s.store.path)
    # ventilation left on at night from Tue 5 Jan 2027 22:00; data up to Thu 7 Jan 11:00
    write_building(store, "2026-10-01", pd.Timestamp("2027-01-07 11:00", tz=TZ),
                   pd.Timestamp("2027-01-05 22:00", tz=TZ))
    runner = AlertRunner(s, lambda: SqliteStore(s.store.path, readonly=True))
    # 1) the day after the closure, the event, Juleaftensdag, Juledag, Anden juledag, Nytårsaften, Nytårsdag:
    #    no findings at all
    for day in ("2026-11-21", "2026-11-23", "2026-12-25", "2026-12-26", "2026-12-27", "2027-01-01", "2027-01-02"):
        counts = runner.run_rules(pd.Timestamp(f"{day} 00:05", tz=TZ).to_pydatetime())
        assert counts["findings"] == 0, (day, [dict(a) for a in runner.db.alerts()])
    # 2) the same data without the event in the calendar: the Christmas market is out-of-hours use
    s2 = settings(smtp, tmp_path / "nocal", cal={k: v for k, v in CAL.items() if k != "events"})
    r2 = AlertRunner(s2, lambda: SqliteStore(s.store.path, readonly=True))
    r2.run_rules(pd.Timestamp("2026-11-23 00:05", tz=TZ).to_pydatetime())
    assert [a["rule"] for a in r2.db.alerts()] == ["out_of_hours"]

    # 3) the night fault: every 15 minutes for 3 hours → exactly one mail
    now = pd.Timestamp("2027-01-07 08:05", tz=TZ)
    t = now
    while t < now + pd.Timedelta(hours=3):
        runner.run_rules(t.to_pydatetime())
        runner.run_outbox(t.to_pydatetime())
        t += pd.Timedelta(minutes=15)
    smtp.wait(1)
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"]
    msg = smtp.messages[0][1]
    plain = msg.get_body(("plain",)).get_content()
    # night 01-05: 16 kW against the reference 10 kW; impact: closed hours of the last 24 h above 10 kW:
    # 22-06 = 8 h × 6 kW = 48 kWh → 48 × 2,50 = 120 kr./day
    assert "brugte bygningen 16 kW i gennemsnit" in plain and "(grundlasten) 10 kW" in plain
    assert "ca. 48 kWh pr. døgn ≈ 120 kr. pr. døgn" in plain
    assert "onsdag 6. januar 2027 kl. 01:00" in plain  # the first bad night
    assert any(p.get_content_type() == "image/png" for p in msg.walk())
    store.close()


def test_register_jobs_on_an_asyncio_scheduler(smtp, tmp_path):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from energimon.analytics.alerting.jobs import register_jobs
    from energimon.mail.outbox import MailDB
    from energimon.mail.service import Mailer
    from energimon.model import LOCAL_TZ

    s = settings(smtp, tmp_path)
    s.alerts.digest = True
    scheduler = AsyncIOScheduler(timezone=LOCAL_TZ)
    mailer = Mailer(s.smtp, MailDB(tmp_path / "mail.db"))
    runner = register_jobs(scheduler, s, lambda: SqliteStore(s.store.path), mailer=mailer)
    mailer.register_job(scheduler)
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert set(jobs) == {"alerts.rules", "alerts.digest", "mail.outbox"}
        # one mail job delivers the alert state file's outbox and the report outbox
        assert mailer.outboxes == [mailer.db, runner.db]
        assert all(j.max_instances == 1 and j.coalesce for j in jobs.values())
        # the rules run at :07, :22, :37, :52 local time; the digest at 07:00 local, never in the DST hour
        t = jobs["alerts.rules"].trigger.get_next_fire_time(None, pd.Timestamp("2026-10-25 01:50", tz=TZ))
        assert (t.hour, t.minute) == (1, 52)
        d = jobs["alerts.digest"].trigger.get_next_fire_time(None, pd.Timestamp("2026-10-25 01:50", tz=TZ))
        assert (d.hour, d.minute) == (7, 0)
    finally:
        runner.close()
        mailer.close()


def test_alerts_run_command_evaluates_and_sends(smtp, tmp_path, capsys):
    from energimon.app.cli import main

    store = SqliteStore(tmp_path / "store.db")
    write_building(store, "2026-10-01", pd.Timestamp("2027-01-07 11:00", tz=TZ),
                   pd.Timestamp("2027-01-05 22:00", tz=TZ))
    store.close()
    d = smtp.settings_dict()
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(
        '[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.55\n'
        'facility_managers = ["drift.raadhus@soroe.dk"]\n\n[store]\npath = "store.db"\n\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {d["port"]}\nsender = "energimon@soroe.dk"\n'
        f'username = "{d["username"]}"\npassword = "{d["password"]}"\nca_file = "{d["ca_file"]}"\n\n'
        '[alerts]\nstate_path = "alerts.db"\npending_min = 0\n\n'
        '[alerts.sites.soro-raadhus]\nopening_hours = { mon = "07:30-16:00", tue = "07:30-16:00", '
        'wed = "07:30-16:00", thu = "07:30-16:00", fri = "07:30-16:00" }\n'
        'closures = [{ start = 2026-11-20, end = 2026-11-20 }]\n'
        'events = [{ start = 2026-11-22T10:00:00, end = 2026-11-22T15:00:00 }]\n', encoding="utf-8")
    args = ["alerts", "run", "--config", str(cfg), "--now", "2027-01-07T09:05", "--send"]
    assert main(args) == 0
    assert main(args) == 0  # the same run again: nothing new
    out = capsys.readouterr().out
    assert "fund 1, nye 1" in out and "mails sendt 1" in out and "fund 1, nye 0" in out
    smtp.wait(1)
    assert len(smtp.messages) == 1 and "Højt natforbrug" in smtp.messages[0][1]["Subject"]
