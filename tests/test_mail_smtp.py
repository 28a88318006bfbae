"""Real SMTP over loopback (aiosmtpd, tests/mail_servers.py): STARTTLS + AUTH, implicit TLS, wrong password,
Danish letters in subject and body, the chart, `energimon test-mail`, and a login over an unencrypted
connection refused unless allowed (then warned about).
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from helpers.alert_mail import make_settings, night_finding
from mail_servers import PASSWORD, USER, SmtpServer

from energimon.analytics.alerting.mail import chart_png, fmt_num, fmt_time, render_alert
from energimon.config.settings import ConfigError, settings_from_dict
from energimon.mail.render import to_wire
from energimon.mail.transport import MailError, make_transport


def send(cfg, recipients: list[str], msg) -> None:
    """What the outbox does with a queued message: the configured transport, the message's wire bytes."""
    make_transport(cfg).send(recipients, to_wire(msg))


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
    assert got["Subject"] == "[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"
    plain = got.get_body(preferencelist=("plain",)).get_content()
    html = got.get_body(preferencelist=("html",)).get_content()
    # what, where, since when, cost per day — in words a facility manager understands
    assert "Om natten (kl. 01-05) brugte bygningen 16 kW i gennemsnit" in plain
    assert "normalt er natforbruget (grundlasten) 10 kW".lower() in plain.lower()
    assert "Sorø Rådhus, Rådhusvej 8, 4180 Sorø – hovedmaaler" in plain  # no name configured: the id
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
    assert got["Subject"] == "[energimon] Resolved: Sorø Rådhus · hovedmaaler: High night-time consumption"
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
def test_implicit_tls(tmp_path, mail_pki):
    server = SmtpServer(mail_pki, security="tls")
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
    with pytest.raises(MailError, match=r"^connect: the certificate of 127.0.0.1:\d+ is not trusted") as exc:
        send(settings.smtp, ["a@soroe.dk"], render_alert("new", {"id": 1, "reminders": 0, "last_seen": 0},
                                                         night_finding(), settings))
    assert "smtp.ca_file" in exc.value.fix


def test_test_mail_command(smtp, tmp_path, capsys):
    import tomllib  # noqa: F401  (the config below is TOML written by hand)

    from energimon.app.cli import main

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


def test_a_login_over_an_unencrypted_connection_is_refused_unless_allowed_and_then_warned(tmp_path, capsys, caplog):
    """`security = "none"` with a password (or a token) would send it in clear: refused by the config check with
    the key and the way out; with `allow_insecure_auth = true` accepted, and check-config and run warn."""
    from energimon.app.cli import main
    from energimon.mail.service import Mailer

    plain = {"host": "relay.soroe.dk", "port": 25, "security": "none", "sender": "energimon@soroe.dk",
             "username": USER, "password": PASSWORD}
    with pytest.raises(ConfigError) as exc:
        settings_from_dict({"smtp": plain})
    [problem] = exc.value.problems
    assert problem.key == "smtp" and "unencrypted" in problem.message and "allow_insecure_auth" in problem.message
    assert PASSWORD not in str(exc.value)
    # a relay without login on the same connection is fine, and so is the login once allowed
    assert settings_from_dict({"smtp": {k: v for k, v in plain.items() if k not in ("username", "password")}})
    cfg = tmp_path / "energimon.toml"
    cfg.write_text('[smtp]\nhost = "relay.soroe.dk"\nport = 25\nsecurity = "none"\nsender = "energimon@soroe.dk"\n'
                   f'username = "{USER}"\npassword_file = "smtp.password"\nallow_insecure_auth = true\n'
                   'outbox_file = "mail.db"\n', encoding="utf-8")
    (tmp_path / "smtp.password").write_text(PASSWORD, encoding="utf-8")
    (tmp_path / "smtp.password").chmod(0o600)
    cfg.chmod(0o640)
    assert main(["check-config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert "ADVARSEL: smtp: the password for relay.soroe.dk:25 goes over an unencrypted connection" in err
    from energimon.config.settings import load_settings

    with caplog.at_level("WARNING", logger="energimon.mail"):  # what `energimon run` logs at start
        Mailer.for_settings(load_settings(cfg)).close()
    assert "goes over an unencrypted connection" in caplog.text and PASSWORD not in caplog.text
