"""The monthly report reaches the energy team through the durable outbox, once, with its files attached."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import time

from aiosmtpd.controller import Controller

from energimon.analytics.alerting.outbox import deliver
from energimon.analytics.alerting.smtp import send_bytes
from energimon.analytics.alerting.state import AlertDB
from energimon.analytics.report.mailing import queue_report_mail
from energimon.config.settings import settings_from_dict


class _Keep:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=email.policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(tmp_path, port, recipients=("energi@example.soroe.dk",)):
    return settings_from_dict({
        "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "sender": "energimon@example.soroe.dk",
                 "timeout_s": 5},
        "alerts": {"state_path": str(tmp_path / "alerts.db")},
        "esco": {"recipients": list(recipients), "price_dkk_per_kwh": 2.15, "contract": "Test ESCO",
                 "baseline_start": dt.date(2024, 1, 1), "baseline_end": dt.date(2025, 1, 1),
                 "measure_date": dt.date(2025, 3, 1), "temperature": "soro-raadhus/vejr/outdoor_temp_c",
                 "normal_year": {"total": 2906, "source": "DTI normalår"},
                 "sites": {"soro-raadhus": {"energy": "hovedmaaler/energy_import_wh"}}},
    })


def test_report_mail_is_queued_once_and_delivered_with_attachments_after_an_outage(tmp_path):
    pdf = tmp_path / "esco-besparelse-2026-03.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    csv = tmp_path / "esco-besparelse-2026-03.csv"
    csv.write_text("site;besparelse_kwh\nsoro-raadhus;2475,0\n", encoding="utf-8")
    port = _free_port()
    settings = _settings(tmp_path, port)
    month = dt.date(2026, 3, 1)
    now = dt.datetime(2026, 4, 1, 7, 0, tzinfo=dt.UTC)

    assert queue_report_mail(settings, month, [pdf, csv], now=now).startswith("queued for energi@example.soroe.dk")
    # the monthly job can run twice (DST hour, restart): the mail is queued once
    assert queue_report_mail(settings, month, [pdf, csv], now=now).startswith("already queued")

    def send(recipients, message):
        send_bytes(settings.smtp, recipients, message)

    db = AlertDB(settings.alerts.state_path)
    # SMTP down: nothing lost, retried later
    assert deliver(db, send, now)["failed"] == 1
    keep = _Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        result = deliver(db, send, now + dt.timedelta(hours=2))
        deadline = time.monotonic() + 5
        while not keep.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        again = deliver(db, send, now + dt.timedelta(hours=3))
    finally:
        controller.stop()
        db.conn.close()
    assert result["sent"] == 1 and again["sent"] == 0 and len(keep.messages) == 1
    rcpts, msg = keep.messages[0]
    assert rcpts == ["energi@example.soroe.dk"]
    assert msg["Subject"] == "energimon: ESCO-besparelse marts 2026 — månedsrapport"
    names = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    assert names[pdf.name] == b"%PDF-1.4 test"
    assert "2475,0" in names[csv.name]
    assert "månedsrapporten" in msg.get_body(("plain",)).get_content()


def test_without_alerts_the_report_is_not_mailed_and_says_why(tmp_path):
    settings = _settings(tmp_path, _free_port())
    settings.alerts = None
    assert queue_report_mail(settings, dt.date(2026, 3, 1), []) == (
        "not mailed: mailing needs [smtp] and [alerts] (the outbox lives in the alert state file)")


def test_the_generated_report_goes_out_with_its_workbook(tmp_path):
    """The real report (PDF, CSV, XLSX) through the outbox to a real SMTP server: the workbook arrives as an
    XLSX attachment that opens in openpyxl with the building's sheet."""
    import io

    import openpyxl

    from energimon.analytics.report.mailing import XLSX_TYPE, report_attachments
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.analytics.synthetic import SyntheticBuilding, synthetic_readings
    from energimon.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "store.db")
    readings, _ = synthetic_readings(SyntheticBuilding("soro-raadhus"), dt.date(2024, 1, 1), dt.date(2025, 4, 1),
                                     dt.date(2025, 3, 1), seed=3)
    store.write(readings)
    port = _free_port()
    settings = _settings(tmp_path, port)
    month = dt.date(2025, 3, 1)
    try:
        files = generate_savings_report(settings, store, month, out_dir=tmp_path / "rapporter")
    finally:
        store.close()
    assert files.xlsx == tmp_path / "rapporter" / "besparelse-2025-03.xlsx"
    assert report_attachments(files) == [files.pdf, files.csv, files.xlsx]
    now = dt.datetime(2025, 4, 1, 7, 0, tzinfo=dt.UTC)
    assert queue_report_mail(settings, month, files, now=now).startswith("queued for")
    keep = _Keep()
    controller = Controller(keep, hostname="127.0.0.1", port=port)
    controller.start()
    db = AlertDB(settings.alerts.state_path)
    try:
        result = deliver(db, lambda rcpts, m: send_bytes(settings.smtp, rcpts, m), now)
        deadline = time.monotonic() + 5
        while not keep.messages and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        controller.stop()
        db.conn.close()
    assert result["sent"] == 1 and len(keep.messages) == 1
    parts = {p.get_filename(): p for p in keep.messages[0][1].iter_attachments()}
    assert set(parts) == {"besparelse-2025-03.pdf", "besparelse-2025-03.csv", "besparelse-2025-03.xlsx"}
    xlsx = parts["besparelse-2025-03.xlsx"]
    assert (xlsx.get_content_maintype(), xlsx.get_content_subtype()) == XLSX_TYPE
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.get_content()))
    assert wb.sheetnames == ["Portefølje", "Sorø Rådhus", "Om rapporten"]
    assert isinstance(wb["Sorø Rådhus"]["H2"].value, float)  # savings kWh of the month, a number
