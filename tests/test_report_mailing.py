"""The monthly report reaches the energy team through the durable mail outbox (no [alerts] needed), once,
with its files attached, after an SMTP outage."""

from __future__ import annotations

import datetime as dt

from mail_servers import SmtpServer

from energimon.analytics.report.mailing import queue_report_mail
from energimon.config.settings import settings_from_dict
from energimon.mail.outbox import MailDB, deliver
from energimon.mail.transport import make_transport


def _settings(tmp_path, port, recipients=("energi@example.soroe.dk",)):
    return settings_from_dict({
        "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": "energimon@example.soroe.dk",
                 "timeout_s": 5, "outbox_file": str(tmp_path / "mail.db")},
        "esco": {"recipients": list(recipients), "price_dkk_per_kwh": 2.15, "contract": "Test ESCO",
                 "baseline_start": dt.date(2024, 1, 1), "baseline_end": dt.date(2025, 1, 1),
                 "measure_date": dt.date(2025, 3, 1), "temperature": "soro-raadhus/vejr/outdoor_temp_c",
                 "normal_year": {"total": 2906, "source": "DTI normalår"},
                 "sites": {"soro-raadhus": {"energy": "hovedmaaler/energy_import_wh"}}},
    })


def test_report_mail_is_queued_once_and_delivered_with_attachments_after_an_outage(tmp_path, mail_pki):
    pdf = tmp_path / "esco-besparelse-2026-03.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    csv = tmp_path / "esco-besparelse-2026-03.csv"
    csv.write_text("site;besparelse_kwh\nsoro-raadhus;2475,0\n", encoding="utf-8")
    server = SmtpServer(mail_pki, security="none", auth=None)  # a municipal relay without login
    settings = _settings(tmp_path, server.port)
    assert settings.alerts is None
    month = dt.date(2026, 3, 1)
    now = dt.datetime(2026, 4, 1, 7, 0, tzinfo=dt.UTC)

    db = MailDB(tmp_path / "mail.db")
    try:
        queued = queue_report_mail(settings, "savings", month, [pdf, csv], db, now)
        assert queued == "queued for energi@example.soroe.dk"
        # the monthly job can run twice (DST hour, restart): the mail is queued once
        assert queue_report_mail(settings, "savings", month, [pdf, csv], db, now).startswith("already delivered")
        send = make_transport(settings.smtp).send
        # SMTP down: nothing lost, retried later
        assert deliver(db, send, now)["failed"] == 1
        server.start()
        try:
            result = deliver(db, send, now + dt.timedelta(hours=2))
            server.wait(1)
            again = deliver(db, send, now + dt.timedelta(hours=3))
        finally:
            server.stop()
    finally:
        db.close()
    assert result["sent"] == 1 and again["sent"] == 0 and len(server.messages) == 1
    rcpts, msg = server.messages[0]
    assert rcpts == ["energi@example.soroe.dk"]
    assert msg["Subject"] == "energimon: ESCO-besparelse marts 2026 — månedsrapport"
    names = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    assert names[pdf.name] == b"%PDF-1.4 test"
    assert "2475,0" in names[csv.name]
    assert "månedsrapporten" in msg.get_body(("plain",)).get_content()


def test_without_smtp_or_recipients_the_report_is_not_mailed_and_says_why(tmp_path):
    settings = _settings(tmp_path, 25, recipients=())
    assert queue_report_mail(settings, "savings", dt.date(2026, 3, 1), []) == (
        "not mailed: esco.recipients (or smtp.reports.savings) is empty")
    assert queue_report_mail(settings, "solar", dt.date(2026, 3, 1), []) == "not mailed: smtp.reports.solar is empty"
    settings = _settings(tmp_path, 25)
    settings.smtp = None
    assert queue_report_mail(settings, "savings", dt.date(2026, 3, 1), []) == "not mailed: there is no [smtp] table"


def test_the_generated_report_goes_out_with_its_workbook(tmp_path, mail_pki):
    """The real report (PDF, CSV, XLSX) through the outbox to a real SMTP server: the workbook arrives as an
    XLSX attachment that opens in openpyxl with the building's sheet."""
    import io

    import openpyxl

    from energimon.analytics.report.mailing import XLSX_TYPE, report_attachments
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
    from energimon.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "store.db")
    readings, _ = synthetic_readings(SyntheticBuilding("soro-raadhus"), dt.date(2024, 1, 1), dt.date(2025, 4, 1),
                                     dt.date(2025, 3, 1), seed=3)
    store.write(readings)
    server = SmtpServer(mail_pki, security="none", auth=None)
    settings = _settings(tmp_path, server.port)
    month = dt.date(2025, 3, 1)
    try:
        files = generate_savings_report(settings, store, month, out_dir=tmp_path / "rapporter")
    finally:
        store.close()
    assert files.xlsx == tmp_path / "rapporter" / "besparelse-2025-03.xlsx"
    assert report_attachments(files) == [files.pdf, files.csv, files.xlsx]
    now = dt.datetime(2025, 4, 1, 7, 0, tzinfo=dt.UTC)
    assert queue_report_mail(settings, "savings", month, files, now=now).startswith("queued for")
    server.start()
    db = MailDB(tmp_path / "mail.db")
    try:
        result = deliver(db, make_transport(settings.smtp).send, now)
        server.wait(1)
    finally:
        server.stop()
        db.close()
    assert result["sent"] == 1 and len(server.messages) == 1
    parts = {p.get_filename(): p for p in server.messages[0][1].iter_attachments()}
    assert set(parts) == {"besparelse-2025-03.pdf", "besparelse-2025-03.csv", "besparelse-2025-03.xlsx"}
    xlsx = parts["besparelse-2025-03.xlsx"]
    assert (xlsx.get_content_maintype(), xlsx.get_content_subtype()) == XLSX_TYPE
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()))
    assert wb.sheetnames == ["Portefølje", "Sorø Rådhus", "Om rapporten"]
    assert isinstance(wb["Sorø Rådhus"]["H2"].value, float)  # savings kWh of the month, a number
