"""Mail through Microsoft Graph ``sendMail`` (for tenants that switch SMTP AUTH off entirely), against a fake Graph
and a fake Entra ID over TLS (tests/mail_servers.py): the message arrives intact — HTML with its inline chart,
attachments, æøå in the subject and the file names — and Graph's refusals (401, 403, 429 with Retry-After, 503)
are named, the mail kept and sent once when Graph takes it."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from helpers.alert_mail import SITES, night_finding
from mail_servers import CLIENT_ID, CLIENT_SECRET, GRAPH, MAILBOX, TENANT

from energimon.analytics.alerting.mail import chart_png, render_alert
from energimon.analytics.report.mailing import report_message
from energimon.config.settings import settings_from_dict
from energimon.mail.outbox import MailDB, enqueue
from energimon.mail.service import Mailer

T0 = dt.datetime(2026, 12, 30, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def graph_settings(graph, entra, mail_pki, tmp_path):
    return settings_from_dict({
        "sites": SITES,
        "smtp": {"transport": "graph", "sender": MAILBOX, "ca_file": str(mail_pki["ca"]), "timeout_s": 5,
                 "outbox_file": str(tmp_path / "mail.db"), "graph": {"url": graph.url},
                 "oauth2": {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                            "authority_url": entra.url}},
        "alerts": {"state_path": str(tmp_path / "alerts.db"), "price_dkk_per_kwh": 2.5}})


def test_an_alert_with_its_chart_and_a_report_with_attachments_arrive_intact(graph, entra, mail_pki, tmp_path):
    import pandas as pd

    settings = graph_settings(graph, entra, mail_pki, tmp_path)
    assert settings.smtp.auth == "graph" and settings.smtp.scope == GRAPH
    idx = pd.date_range("2026-11-27", periods=7 * 24, freq="1h", tz="Europe/Copenhagen")
    png = chart_png(pd.DataFrame({"actual": 16.0, "low": 9.0, "expected": 10.0, "high": 11.0}, index=idx))
    alert = render_alert("new", {"id": 7, "reminders": 0, "last_seen": 0.0}, night_finding(), settings, chart=png)
    pdf = tmp_path / "Sorø Rådhus – solceller 2026-11.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 40)  # every byte value survives base64
    csv = tmp_path / "solceller-æøå-2026-11.csv"
    csv.write_text("site;egetforbrug_pct\nSorø Rådhus;61,5\nDianalund Bibliotek;48,0\n", encoding="utf-8")
    report = report_message("solar", MAILBOX, ["energi@soroe.dk", "teknik@soroe.dk"], dt.date(2026, 11, 1),
                            [pdf, csv])
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        with mailer.db.transaction() as c:
            enqueue(c, "alert7:new#0", ["drift.raadhus@soroe.dk"], alert, T0.timestamp())
            enqueue(c, "report:solar:2026-11", ["energi@soroe.dk", "teknik@soroe.dk"], report, T0.timestamp())
        assert mailer.deliver_all(T0).sent == 2
    finally:
        mailer.close()
    assert [r["scope"] for r in entra.token_requests] == [GRAPH]  # one app-only token for Graph, both mails
    (box1, a), (box2, r) = graph.requests
    assert box1 == box2 == MAILBOX and a["saveToSentItems"] is True
    # the alert: HTML body with the chart inline (cid link and attachment agree), æøå in the subject
    m = a["message"]
    assert m["subject"] == "[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"
    assert m["toRecipients"] == [{"emailAddress": {"address": "drift.raadhus@soroe.dk"}}]
    assert m["body"]["contentType"] == "HTML" and "Højt natforbrug" in m["body"]["content"]
    [chart] = m["attachments"]
    assert chart["isInline"] is True and f"cid:{chart['contentId']}" in m["body"]["content"]
    assert chart["name"] == "graf.png" and base64.b64decode(chart["contentBytes"]) == png
    assert m["internetMessageHeaders"] == [{"name": "X-Energimon-Message-Id", "value": "<alert7.new@energimon>"}]
    # the report: plain text, two attachments byte for byte, names with æøå and an en dash
    m = r["message"]
    assert m["subject"] == "energimon: Solceller november 2026 — månedsrapport"
    assert [t["emailAddress"]["address"] for t in m["toRecipients"]] == ["energi@soroe.dk", "teknik@soroe.dk"]
    assert m["body"]["contentType"] == "Text" and "egetforbrug, selvforsyningsgrad" in m["body"]["content"]
    got = {att["name"]: att for att in m["attachments"]}
    assert set(got) == {pdf.name, csv.name}
    assert got[pdf.name]["@odata.type"] == "#microsoft.graph.fileAttachment"
    assert got[pdf.name]["contentType"] == "application/pdf"
    assert base64.b64decode(got[pdf.name]["contentBytes"]) == pdf.read_bytes()
    assert base64.b64decode(got[csv.name]["contentBytes"]).decode("utf-8") == csv.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode, step, words", [
    ("401", "auth", ["Graph refused the token (HTTP 401 InvalidAuthenticationToken", "new token"]),
    ("403", "auth", [f"Graph refused sending as {MAILBOX} (HTTP 403 ErrorAccessDenied", "Mail.Send",
                     "Grant admin consent", "application access policy"]),
    ("429", "send", ["Graph is throttling energimon (HTTP 429 TooManyRequests", "retried after 120 s (Retry-After)"]),
    ("503", "send", ["Graph had a fault (HTTP 503 ServiceUnavailable", "the mail is kept and retried"]),
])
def test_graph_refusals_are_named_and_the_mail_is_sent_once_later(mode, step, words, graph, entra, mail_pki,
                                                                  tmp_path):
    settings = graph_settings(graph, entra, mail_pki, tmp_path)
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        with mailer.db.transaction() as c:
            report = report_message("savings", MAILBOX, ["energi@soroe.dk"], dt.date(2026, 11, 1), [])
            enqueue(c, "report:savings:2026-11", ["energi@soroe.dk"], report, T0.timestamp())
        graph.mode = mode
        result = mailer.deliver_all(T0)
        assert (result.sent, result.failed, result.waiting) == (0, 1, 1)
        error = result.errors[0]
        assert error.startswith(f"{step}: ") and all(w in error for w in words), error
        next_attempt = mailer.db.conn.execute("SELECT next_attempt FROM outbox").fetchone()[0]
        # Graph's Retry-After when it asks for longer than our back-off (60 s after the first failure)
        assert next_attempt == T0.timestamp() + (120 if mode == "429" else 60)
        graph.mode = None
        later = T0 + 3 * MIN
        assert mailer.deliver_all(later).sent == 1 and mailer.deliver_all(later + MIN).sent == 0
    finally:
        mailer.close()
    assert len(graph.requests) == 1 and graph.attempts == 2
    # after 401/403 the cached token is dropped (consent granted later only shows in a new token)
    assert len(entra.token_requests) == (2 if mode in ("401", "403") else 1)


def test_test_mail_over_graph(graph, entra, mail_pki, tmp_path, capsys):
    from energimon.app.cli import main

    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'''[smtp]
transport = "graph"
sender = "{MAILBOX}"
ca_file = "{mail_pki["ca"]}"
fallback_recipients = ["energi@soroe.dk"]

[smtp.graph]
url = "{graph.url}"

[smtp.oauth2]
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
authority_url = "{entra.url}"
''', encoding="utf-8")
    assert main(["test-mail", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^transport: Microsoft Graph https://127\.0\.0\.1:\d+ sendMail as energimon@soroe\.dk", out, re.M)
    assert "  token:   ok — new token" in out and "  send:    ok — 202 Accepted for 1 recipient(s)" in out
    assert graph.requests[0][1]["message"]["subject"] == "[energimon] Testmail – æøå ÆØÅ"
