"""Real SMTP over loopback (aiosmtpd started by the test): STARTTLS + AUTH, implicit TLS, wrong password,
Danish letters in subject and body, the chart, `energimon test-mail`.

``SmtpCapture`` is also used by the lifecycle tests (tests/test_alert_lifecycle.py).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from mqtt_broker import make_tls_files

from energimon.analytics.alerting.mail import chart_png, fmt_num, fmt_time, render_alert
from energimon.analytics.alerting.smtp import MailError, send
from energimon.analytics.anomaly.findings import Finding
from energimon.config.settings import settings_from_dict

USER, PASSWORD = "energimon", "Hemmeligt-kodeord-æøå-42"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and \
        auth_data.password == PASSWORD.encode()
    # handled=False on failure, or the client waits for ever (aiosmtpd sends no 535 itself otherwise)
    return AuthResult(success=ok, handled=False)


class SmtpCapture:
    """An aiosmtpd server on 127.0.0.1 that keeps every message; stop()/start() simulate an outage."""

    def __init__(self, tmp: Path, security: str = "starttls", auth: bool = True):
        self.security, self.auth = security, auth
        self.port = free_port()
        self.handler = _Handler()
        self.tls = make_tls_files(tmp / "smtp-pki") if security != "none" else None
        self.controller: Controller | None = None

    @property
    def messages(self):
        return self.handler.messages

    def start(self) -> None:
        kw = {}
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.tls["cert"], self.tls["key"])
            if self.security == "starttls":
                kw.update(tls_context=ctx, require_starttls=True)
            else:
                kw.update(ssl_context=ctx, server_hostname="localhost")
        if self.auth:
            # auth_require_tls only knows STARTTLS: with implicit TLS aiosmtpd would answer 538 although the
            # connection is encrypted, so it is required for starttls only
            kw.update(authenticator=_authenticator, auth_required=True, auth_require_tls=self.security == "starttls")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kw)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings_dict(self, password: str = PASSWORD) -> dict:
        d = {"host": "127.0.0.1", "port": self.port, "security": self.security, "sender": "energimon@soroe.dk",
             "fallback_recipients": ["energi@soroe.dk"], "timeout_s": 5}
        if self.tls:
            d["ca_file"] = str(self.tls["ca"])
        if self.auth:
            d.update(username=USER, password=password)
        return d

    def wait(self, n: int, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def smtp(tmp_path):
    server = SmtpCapture(tmp_path)
    server.start()
    yield server
    server.stop()


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


def test_number_and_time_formats():
    assert fmt_num(1234.5, "da") == "1.234" or fmt_num(1234.5, "da") == "1.235"
    assert fmt_num(12.5, "da") == "12,5" and fmt_num(12.5, "en") == "12.5"
    assert fmt_num(16.0, "da") == "16" and fmt_num(2.5, "da", 2) == "2,50"
    t = dt.datetime(2026, 12, 3, 0, 0, tzinfo=dt.UTC)  # 01:00 in Copenhagen (CET, UTC+1)
    assert fmt_time(t, "da") == "torsdag 3. december 2026 kl. 01:00"
    summer = dt.datetime(2026, 6, 5, 6, 30, tzinfo=dt.UTC)  # 08:30 CEST
    assert fmt_time(summer, "da") == "fredag 5. juni 2026 kl. 08:30"


def test_starttls_auth_danish_letters_html_and_chart(smtp, tmp_path):
    import pandas as pd

    settings = make_settings(smtp.settings_dict(), tmp_path)
    idx = pd.date_range("2026-11-27", periods=7 * 24, freq="1h", tz="Europe/Copenhagen")
    frame = pd.DataFrame({"actual": 16.0, "low": 9.0, "expected": 10.0, "high": 11.0}, index=idx)
    png = chart_png(frame)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    row = {"id": 7, "reminders": 0, "last_seen": 0.0}
    msg = render_alert("new", row, night_finding(), settings, chart=png)
    send(settings.smtp, ["drift.raadhus@soroe.dk"], msg)
    smtp.wait(1)
    assert len(smtp.messages) == 1
    rcpt, got = smtp.messages[0]
    assert rcpt == ["drift.raadhus@soroe.dk"]
    # the decoded subject keeps æøå; 120 DKK per day in the subject
    assert got["Subject"] == "[energimon] Sorø Rådhus: Højt natforbrug – ca. 120 kr./dag"
    plain = got.get_body(preferencelist=("plain",)).get_content()
    html = got.get_body(preferencelist=("html",)).get_content()
    # what, where, since when, cost per day — in words a facility manager understands
    assert "Om natten (kl. 01-05) brugte bygningen 16 kW i gennemsnit" in plain
    assert "normalt er natforbruget (grundlasten) 10 kW".lower() in plain.lower()
    assert "Sorø Rådhus, Rådhusvej 8, 4180 Sorø – måler/enhed «hovedmaaler»" in plain
    assert "torsdag 3. december 2026 kl. 01:00" in plain
    # 48 kWh/day × 2,50 kr./kWh = 120 kr./day
    assert "ca. 48 kWh pr. døgn ≈ 120 kr. pr. døgn (ved 2,50 kr./kWh)" in plain
    assert "energimon alerts ack 7" in plain
    assert "Højt natforbrug" in html and "Sorø Rådhus" in html
    images = [p for p in got.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content() == png


def test_english_by_config(smtp, tmp_path):
    d = smtp.settings_dict()
    d["language"] = "en"
    settings = make_settings(d, tmp_path)
    msg = render_alert("resolved", {"id": 7, "reminders": 0, "last_seen": 1796263200.0}, night_finding(), settings)
    send(settings.smtp, ["a@soroe.dk"], msg)
    smtp.wait(1)
    got = smtp.messages[0][1]
    assert got["Subject"] == "[energimon] Resolved: Sorø Rådhus: High night-time consumption"
    assert "It lasted from Thursday 3 December 2026 at 01:00" in got.get_body(("plain",)).get_content()


def test_wrong_password_fails_fast_and_never_shows_the_password(smtp, tmp_path, caplog):
    settings = make_settings(smtp.settings_dict(password="forkert-kodeord"), tmp_path)
    t0 = time.monotonic()
    with pytest.raises(MailError) as exc:
        send(settings.smtp, ["a@soroe.dk"], render_alert("new", {"id": 1, "reminders": 0, "last_seen": 0},
                                                         night_finding(), settings))
    assert time.monotonic() - t0 < 4
    assert "refused" in str(exc.value) and "forkert-kodeord" not in str(exc.value)
    assert "forkert-kodeord" not in repr(settings.smtp) and "forkert-kodeord" not in caplog.text
    assert smtp.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # it is TLS: implicit, see start()
def test_implicit_tls(tmp_path):
    server = SmtpCapture(tmp_path, security="tls")
    server.start()
    try:
        settings = make_settings(server.settings_dict(), tmp_path)
        send(settings.smtp, ["a@soroe.dk"], render_alert("new", {"id": 1, "reminders": 0, "last_seen": 0},
                                                         night_finding(), settings))
        server.wait(1)
        assert server.messages[0][1]["Subject"].startswith("[energimon] Sorø Rådhus")
    finally:
        server.stop()


def test_untrusted_certificate_is_an_error(smtp, tmp_path):
    d = smtp.settings_dict()
    del d["ca_file"]  # the system CAs do not know the test CA
    settings = make_settings(d, tmp_path)
    with pytest.raises(MailError, match=r"cannot reach|SMTP error"):
        send(settings.smtp, ["a@soroe.dk"], render_alert("new", {"id": 1, "reminders": 0, "last_seen": 0},
                                                         night_finding(), settings))


def test_test_mail_command(smtp, tmp_path, capsys):
    import tomllib  # noqa: F401  (the config below is TOML written by hand)

    from energimon.cli import main

    d = smtp.settings_dict()
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(
        '[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.55\n'
        'facility_managers = ["drift.raadhus@soroe.dk"]\n\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {d["port"]}\nsecurity = "starttls"\nsender = "energimon@soroe.dk"\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\nca_file = "{d["ca_file"]}"\n'
        'fallback_recipients = ["energi@soroe.dk"]\n', encoding="utf-8")
    assert main(["test-mail", "--config", str(cfg)]) == 0
    smtp.wait(1)
    rcpt, got = smtp.messages[0]
    assert rcpt == ["energi@soroe.dk"]
    assert got["Subject"] == "[energimon] Testmail – æøå ÆØÅ"
    assert "med æ, ø og å" in got.get_body(("plain",)).get_content()
    assert main(["test-mail", "--config", str(cfg), "--to", "drift.raadhus@soroe.dk"]) == 0
    smtp.wait(2)
    assert smtp.messages[1][0] == ["drift.raadhus@soroe.dk"]
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err
