"""Monthly reports that always arrive: the daemon's report job (analytics/report/schedule.py) run on a simulated
clock (its ``now``), with the real report code, a real SQLite store and a real SMTP server (a relay, no
[alerts] table).  A daemon that was down over the first working day sends the month when it starts again,
once; a restart or a clock step sends nothing twice; `energimon status` shows what went out.
"""

from __future__ import annotations

import datetime as dt

import pytest
from mail_servers import SmtpServer

from energimon.analytics.report.schedule import deliver_report, first_working_day, run_due_reports
from energimon.calendar import danish_public_holidays
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.solar import write_sites
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import load_settings
from energimon.mail.outbox import MailDB
from energimon.mail.service import Mailer
from energimon.model import LOCAL_TZ
from energimon.store.sqlite import SqliteStore

CONFIG = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56

[sites.stenlille-hallen]
name = "Stenlille hallen"
latitude = 55.539
longitude = 11.595
pv = [{{ id = "hal-tag", kwp = 80.0, tilt_deg = 15, azimuth_deg = 170, inverter = "inverter" }}]

[store]
path = "store.db"

[spool]
path = "spool.db"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "energimon@soroe.dk"
timeout_s = 5

[smtp.reports]
solar = ["energi@soroe.dk", "teknik@soroe.dk"]

[esco]
contract = "Sorø ESCO 2025"
baseline_start = 2024-01-01
baseline_end = 2025-01-01
measure_date = 2025-03-01
temperature = "soro-raadhus/vejr/outdoor_temp_c"
price_dkk_per_kwh = 2.15
normal_year = {{ total = 2906, source = "DTI normalår" }}
reports_dir = "rapporter"
recipients = ["energi@soroe.dk"]

[esco.sites.soro-raadhus]
energy = "hovedmaaler/energy_import_wh"
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, mail_pki):
    """The config folder: a savings building with a baseline year and the months after the measure, and a sports
    hall with PV (5-minute counters would be slower and change nothing here: 15 minutes)."""
    d = tmp_path_factory.mktemp("reports")
    store = SqliteStore(d / "store.db")
    readings, _ = synthetic_readings(SyntheticBuilding("soro-raadhus"), dt.date(2024, 1, 1), dt.date(2025, 6, 1),
                                     dt.date(2025, 3, 1), seed=3)
    store.write(readings)
    write_sites(store, [SORO_BUILDINGS[1]], dt.date(2025, 3, 1), dt.date(2025, 6, 1), step_s=900)
    store.close()
    return d


def at(day: str, hour: int = 7) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, 5), tzinfo=LOCAL_TZ)


def test_a_month_missed_while_the_daemon_was_down_is_sent_once_after_it_starts(site, mail_pki, capsys):
    server = SmtpServer(mail_pki, security="none", auth=None).start()
    cfg = site / "energimon.toml"
    cfg.write_text(CONFIG.format(port=server.port), encoding="utf-8")
    settings = load_settings(cfg)
    assert settings.alerts is None  # reports are mailed without [alerts]
    # Thursday 1 May 2025 is the first working day of May (no Danish holiday); the daemon is down from
    # 30 April to Monday 5 May
    assert first_working_day(2025, 5, danish_public_holidays(2025)) == dt.date(2025, 5, 1)
    store = lambda: SqliteStore(site / "store.db", readonly=True)  # noqa: E731

    def daemon_day(day: str, hour: int = 7) -> list[str]:
        """What the daemon does at start and every morning: the report job, then the mail job."""
        mailer = Mailer.for_settings(settings)  # a fresh process each time: nothing kept in memory
        try:
            done = run_due_reports(settings, store, mailer.db, at(day, hour))
            assert mailer.deliver_all(at(day, hour)).failed == 0
        finally:
            mailer.close()
        return done

    try:
        # The daemon ran in April and mailed March then (recorded as the report job records it; the March
        # reports' files are left out to keep this test short: each report PDF takes seconds)
        from energimon.analytics.report.mailing import queue_report_mail
        from energimon.mail.outbox import recipients_key

        with MailDB(site / "mail.db") as db:
            for kind, rcpts in (("savings", ["energi@soroe.dk"]), ("solar", ["energi@soroe.dk", "teknik@soroe.dk"])):
                assert db.schedule_since(kind, recipients_key(rcpts), "2025-03") == "2025-03"
                assert queue_report_mail(settings, kind, dt.date(2025, 3, 1), [], db, at("2025-04-01")).startswith(
                    "queued for")
        assert daemon_day("2025-04-30") == []  # March was delivered; April is not over
        # down over 1 May; started on the 5th: April is produced and sent
        assert daemon_day("2025-05-05", hour=10) == ["savings 2025-04: mail queued for energi@soroe.dk",
                                                     "solar 2025-04: mail queued for energi@soroe.dk, "
                                                     "teknik@soroe.dk"]
        # restarted the same day, the next morning, and after the clock was stepped back: nothing twice
        assert daemon_day("2025-05-05", hour=11) == [] and daemon_day("2025-05-06") == []
        assert daemon_day("2025-04-20") == []
        server.wait(4)
        subjects = sorted((m["Subject"], tuple(rcpt)) for rcpt, m in server.messages)
        assert subjects == [
            ("energimon: ESCO-besparelse april 2025 — månedsrapport", ("energi@soroe.dk",)),
            ("energimon: ESCO-besparelse marts 2025 — månedsrapport", ("energi@soroe.dk",)),
            ("energimon: Solceller april 2025 — månedsrapport", ("energi@soroe.dk", "teknik@soroe.dk")),
            ("energimon: Solceller marts 2025 — månedsrapport", ("energi@soroe.dk", "teknik@soroe.dk"))]
        april = {m["Subject"]: m for _, m in server.messages if "april" in m["Subject"]}
        files = {p.get_filename() for m in april.values() for p in m.iter_attachments()}
        assert files == {"besparelse-2025-04.pdf", "besparelse-2025-04.csv", "besparelse-2025-04.xlsx",
                         "solceller-2025-04.pdf", "solceller-2025-04.csv"}
        from energimon.app.status import mail_lines

        # Danish, the default language of a run
        da = mail_lines(settings)
        assert da[0] == f"  transport: SMTP 127.0.0.1:{server.port} (plain)"
        assert "  rapportmails: ingen i kø" in "\n".join(da) and "  sidste fejl: ingen" in da
        assert any(ln.startswith("  sidst sendt: 2025-05-05 10:05:00") for ln in da), da
        assert any(ln.startswith("  rapport savings (til energi@soroe.dk): sidste periode 2025-04, sendt 2025-05-05 "
                                 "10:05") for ln in da), da
        from energimon.cliutil import set_lang

        set_lang("en")
        lines = mail_lines(settings)
        assert lines[0] == f"  transport: SMTP 127.0.0.1:{server.port} (plain)"
        assert "  report mails: none queued" in "\n".join(lines) and "  last error: none" in lines
        assert any(ln.startswith("  last sent: 2025-05-05 10:05:00") for ln in lines), lines
        assert any(ln.startswith("  report savings (to energi@soroe.dk): last period 2025-04, sent 2025-05-05 10:05")
                   for ln in lines), lines
        assert any(ln.startswith("  report solar (to energi@soroe.dk,teknik@soroe.dk): last period 2025-04, sent")
                   for ln in lines), lines
        from energimon.app.cli import main

        capsys.readouterr()
        main(["--lang", "en", "status", "--config", str(cfg)])
        assert "\nmail:\n" + "\n".join(lines) + "\n" in capsys.readouterr().out
        # a month that is not over is mailed only when asked, marked foreløbig, once that day
        with MailDB(site / "mail.db") as db:
            with pytest.raises(ValueError, match=r"2025-05 is not over \(today is 2025-05-20\).*--preliminary"):
                # English: the run above set it with --lang en
                deliver_report(settings, "solar", dt.date(2025, 5, 1), db, at("2025-05-20"), store)
            set_lang("da")  # what `energimon report mail` prints, in the run's language
            assert deliver_report(settings, "solar", dt.date(2025, 5, 1), db, at("2025-05-20"), store,
                                  preliminary=True) == ("foreløbig rapport sat i kø til energi@soroe.dk, "
                                                        "teknik@soroe.dk")
            set_lang("en")
            assert deliver_report(settings, "solar", dt.date(2025, 5, 1), db, at("2025-05-20"), store,
                                  preliminary=True).startswith("already mailed")
            assert Mailer(settings.smtp, db).deliver(db, at("2025-05-20")).sent == 1
            server.wait(5)
            prelim = server.messages[-1][1]
            assert prelim["Subject"] == "energimon: Solceller maj 2025 (foreløbig) — månedsrapport"
            assert "omfatter kun dagene til og med 2025-05-19" in prelim.get_body(("plain",)).get_content()
            # the report itself says so too (files named …-foreloebig, counted up to the 19th)
            assert {p.get_filename() for p in prelim.iter_attachments()} == {"solceller-2025-05-foreloebig.pdf",
                                                                             "solceller-2025-05-foreloebig.csv"}
            # the preliminary mail does not count as the month's report: May is due as usual from 2 June
            from energimon.analytics.report.schedule import due_months

            assert not db.delivered("solar", "2025-05", "energi@soroe.dk,teknik@soroe.dk")
            assert due_months(dt.date(2025, 6, 2), dt.date(2025, 3, 1))[-1] == dt.date(2025, 5, 1)
    finally:
        server.stop()


def test_the_daemon_runs_the_report_job_at_start_and_every_morning(site, mail_pki, tmp_path):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from energimon.analytics.report.schedule import register_report_jobs

    cfg = site / "energimon.toml"
    cfg.write_text(CONFIG.format(port=25), encoding="utf-8")
    settings = load_settings(cfg)
    scheduler = AsyncIOScheduler(timezone=LOCAL_TZ)
    before = dt.datetime.now(tz=LOCAL_TZ)
    with MailDB(tmp_path / "mail.db") as db:
        assert register_report_jobs(scheduler, settings, lambda: None, db)
        [job] = scheduler.get_jobs()
        assert job.id == "reports.monthly" and job.max_instances == 1 and job.coalesce
        # pending on a scheduler not started yet: the first run is "now" (at start), then 07:05 local every
        # day, outside the 02:00-03:00 DST hour
        assert before <= job.next_run_time <= dt.datetime.now(tz=LOCAL_TZ)
        t = job.trigger.get_next_fire_time(None, dt.datetime(2026, 10, 25, 1, 50, tzinfo=LOCAL_TZ))
        assert (t.date(), t.hour, t.minute) == (dt.date(2026, 10, 25), 7, 5)
        settings.esco, settings.smtp.reports.solar = None, []
        assert not register_report_jobs(AsyncIOScheduler(timezone=LOCAL_TZ), settings, lambda: None, db)


def test_a_stop_during_the_catch_up_records_nothing_half_done_and_the_next_start_sends_it(site, tmp_path, caplog):
    """The daemon's stop grace (2 s) is shorter than a report PDF: the report thread outlives it and finds the
    mail file closed.  Found by CI: a `sqlite3.ProgrammingError` traceback at every stop during a catch-up."""
    import shutil
    import threading

    folder = tmp_path / "stop"
    folder.mkdir()
    shutil.copy(site / "store.db", folder / "store.db")
    (folder / "energimon.toml").write_text(CONFIG.format(port=25).replace('solar = ["energi@soroe.dk", '
                                                                        '"teknik@soroe.dk"]', "solar = []"),
                                           encoding="utf-8")
    settings = load_settings(folder / "energimon.toml")
    stop = threading.Event()
    day = at("2025-06-05")  # May 2025 is due (its first working day was Monday 2 June)

    with MailDB(folder / "mail.db") as db:
        stop.set()  # stopped before the run began: nothing produced, nothing recorded
        assert run_due_reports(settings, lambda: SqliteStore(folder / "store.db", readonly=True), db, day,
                               stop=stop) == []
        assert not db.delivered("savings", "2025-05", "energi@soroe.dk")
    stop.clear()

    db = MailDB(folder / "mail.db")

    def store_then_stop():
        # the daemon stops while the report is being produced: it sets the event and closes the mail file
        stop.set()
        db.close()
        return SqliteStore(folder / "store.db", readonly=True)

    with caplog.at_level("INFO", logger="energimon.reports"):
        assert run_due_reports(settings, store_then_stop, db, day, stop=stop) == []
    assert "stopped before it was recorded" in caplog.text and "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    with MailDB(folder / "mail.db") as db:
        assert not db.delivered("savings", "2025-05", "energi@soroe.dk")
        # the next start produces and records it, once
        assert run_due_reports(settings, lambda: SqliteStore(folder / "store.db", readonly=True), db, day) == [
            "savings 2025-05: mail queued for energi@soroe.dk"]
        assert db.delivered("savings", "2025-05", "energi@soroe.dk")


def test_report_mail_command_refuses_what_it_cannot_do(site, tmp_path, capsys):
    from energimon.app.cli import main

    cfg = site / "energimon.toml"
    cfg.write_text(CONFIG.format(port=25), encoding="utf-8")
    assert main(["report", "mail", "solar", "--month", "2099-01", "--config", str(cfg)]) == 64
    assert "energimon report mail: 2099-01 er ikke begyndt (i dag er " in capsys.readouterr().err
    assert main(["--lang", "en", "report", "mail", "solar", "--month", "2099-01", "--config", str(cfg)]) == 64
    assert "energimon report mail: 2099-01 has not begun (today is " in capsys.readouterr().err
    assert main(["report", "mail", "savings", "--month", "maj", "--config", str(cfg)]) == 64
    assert "måneden skal skrives ÅÅÅÅ-MM" in capsys.readouterr().err
    bare = tmp_path / "bare.toml"
    bare.write_text('[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.56\n',
                    encoding="utf-8")
    assert main(["report", "mail", "savings", "--month", "2025-04", "--config", str(bare)]) == 64
    assert "konfigurationen har ingen [smtp]-tabel" in capsys.readouterr().err


def test_report_mail_command_says_what_it_queued_and_sent_in_the_runs_language(site, mail_pki, capsys):
    """`energimon report mail`: the outcome and the delivery in Danish by default, in English with --lang en
    (recipients of their own, so the other tests' deliveries do not count)."""
    from energimon.app.cli import main

    server = SmtpServer(mail_pki, security="none", auth=None).start()
    try:
        cfg = site / "energimon.toml"
        cfg.write_text(CONFIG.format(port=server.port), encoding="utf-8")
        args = ["report", "mail", "solar", "--month", "2025-04", "--to", "sprog@soroe.dk", "--config", str(cfg)]
        assert main(args) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[-2:] == ["solar 2025-04: rapport sat i kø til sprog@soroe.dk", "mails sendt 1, venter 0"]
        server.wait(1)
        assert main(["--lang", "en", *args]) == 0  # once per month and recipients: not again
        out = capsys.readouterr().out.splitlines()
        assert out[-2:] == ["solar 2025-04: already mailed to these recipients earlier (not again)",
                            "mails sent 0, waiting 0"]
    finally:
        server.stop()
