"""Mail through Microsoft 365 after password SMTP is switched off: OAuth 2.0 ``AUTH XOAUTH2`` with tokens from
Microsoft Entra ID (msal, client secret or certificate) or a generic token endpoint — against a real SMTP server
(aiosmtpd accepting only a valid bearer token) and a fake Entra ID over TLS (tests/mail_servers.py, in the shapes
Microsoft documents).  Every failure names its step and the setting to fix, and the mail stays queued until it
can be sent: nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from mail_servers import (
    CLIENT_ID,
    CLIENT_SECRET,
    EXCHANGE,
    MAILBOX,
    PASSWORD,
    TENANT,
    USER,
    FakeEntraId,
    SmtpServer,
)

from energimon.config.settings import settings_from_dict
from energimon.mail.outbox import MailDB, enqueue
from energimon.mail.render import render_testmail, to_wire
from energimon.mail.service import Mailer
from energimon.mail.transport import MailError, make_transport

T0 = dt.datetime(2026, 12, 30, 8, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


@pytest.fixture
def exchange(mail_pki, entra):
    """Exchange Online as far as SMTP goes: STARTTLS, XOAUTH2 with a token Entra ID issued for the mailbox's
    app, and 550 5.7.30 to a password login."""
    server = SmtpServer(mail_pki, auth="exchange", accept_token=lambda u, t: entra.smtp_token_check(u, t)).start()
    yield server
    server.stop()


def oauth_settings(smtp: SmtpServer, entra: FakeEntraId, tmp_path, **oauth2):
    """[smtp] with XOAUTH2 against the fakes; ``oauth2`` overrides keys of [smtp.oauth2] (None: leave it out)."""
    o = {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authority_url": entra.url,
         **oauth2}
    return settings_from_dict({"smtp": {
        "host": "127.0.0.1", "port": smtp.port, "security": "starttls", "sender": MAILBOX,
        "ca_file": str(smtp.tls["ca"]), "timeout_s": 5, "outbox_file": str(tmp_path / "mail.db"),
        "fallback_recipients": ["energi@soroe.dk"], "oauth2": {k: v for k, v in o.items() if v is not None}}})


def queue(db: MailDB, n: int, now: dt.datetime = T0, start: int = 0) -> None:
    with db.transaction() as c:
        for i in range(start, start + n):
            enqueue(c, f"test:{i}", ["drift.raadhus@soroe.dk"], render_testmail(MAILBOX, ["drift.raadhus@soroe.dk"]),
                    now.timestamp())


def test_mails_go_out_over_xoauth2_with_a_fresh_token_and_a_token_near_expiry_is_renewed(exchange, entra, tmp_path,
                                                                                       caplog):
    settings = oauth_settings(exchange, entra, tmp_path)
    assert settings.smtp.auth == "xoauth2" and settings.smtp.scope == EXCHANGE
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        queue(mailer.db, 2)
        with caplog.at_level("DEBUG"):
            result = mailer.deliver_all(T0)
        assert (result.sent, result.failed, result.waiting) == (2, 0, 0)
        exchange.wait(2)
        assert [rcpt for rcpt, _ in exchange.messages] == [["drift.raadhus@soroe.dk"]] * 2
        # one token for both mails (msal's cache), for Exchange Online, by the client-credentials grant
        [req] = entra.token_requests
        assert (req["grant_type"], req["client_id"], req["scope"]) == ("client_credentials", CLIENT_ID, EXCHANGE)
        assert [(mech, user) for mech, user, _ in exchange.logins] == [("XOAUTH2", MAILBOX)] * 2
        tokens = {token for _, _, token in exchange.logins}
        assert len(tokens) == 1 and entra.valid(tokens.pop(), EXCHANGE) == CLIENT_ID
        # neither the secret nor a token in the log or the outbox
        stored = b"".join(bytes(r[0]) + str(r[1]).encode() for r in
                          mailer.db.conn.execute("SELECT message, last_error FROM outbox"))
        for token in entra.issued:
            assert token not in caplog.text and token.encode() not in stored
        assert CLIENT_SECRET not in caplog.text
    finally:
        mailer.close()
    # Entra ID issues a token with 299 s left: msal treats a token with less than 5 minutes left as expired,
    # so the next mail gets a new one (not the old one that may expire during the SMTP session)
    entra.expires_in = 299
    transport = make_transport(settings.smtp)
    for _ in range(2):
        transport.send(["energi@soroe.dk"], to_wire(render_testmail(MAILBOX, ["energi@soroe.dk"])))
    assert len(entra.token_requests) == 3
    assert len({token for _, _, token in exchange.logins[2:]}) == 2


@pytest.mark.parametrize("mode, words", [
    ("invalid_client", ["token: Entra ID refused the token request: the client secret is wrong", "AADSTS7000215",
                        "set smtp.oauth2.client_secret to the secret's Value"]),
    ("invalid_scope", ["token: Entra ID refused the token request: the scope is not valid", "AADSTS1002012",
                       "smtp.oauth2.scope"]),
    ("500", ["token: Entra ID (127.0.0.1:", "answered HTTP 500", "the mail is kept and retried"]),
    ("slow", ["token: the token endpoint 127.0.0.1:", "did not answer within 1 s", "smtp.oauth2.timeout_s"]),
    ("down", ["token: cannot reach the token endpoint 127.0.0.1:", "Connection refused", "smtp.oauth2.authority_url"]),
])
def test_a_failing_token_endpoint_is_named_in_one_log_line_and_the_mail_is_sent_later(mode, words, exchange, entra,
                                                                                      mail_pki, tmp_path, caplog):
    settings = oauth_settings(exchange, entra, tmp_path, timeout_s=1)
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        queue(mailer.db, 1)
        if mode == "down":
            entra.stop()
        else:
            entra.mode = mode
        with caplog.at_level("WARNING"):
            result = mailer.deliver_all(T0)
        assert (result.sent, result.failed, result.waiting) == (0, 1, 1)
        [record] = [r for r in caplog.records if r.name == "energimon.mail"]
        line = record.getMessage()
        assert record.exc_info is None and "\n" not in line and all(w in line for w in words), line
        row = mailer.db.conn.execute("SELECT attempts, next_attempt, sent_at, last_error FROM outbox").fetchone()
        assert row[0] == 1 and row[2] is None and row[3] in line
        assert row[1] == (T0 + 1 * MIN).timestamp()  # retried after the first back-off step
        assert mailer.deliver_all(T0 + 30 * dt.timedelta(seconds=1)).sent == 0  # not due yet: not hammered
        # the endpoint recovers: the next attempt gets a token and the mail goes out, once
        if mode == "down":
            entra = FakeEntraId(mail_pki, port=entra.port)
            exchange.accept_token = entra.smtp_token_check
        entra.mode = None
        result = mailer.deliver_all(T0 + 2 * MIN)
        assert (result.sent, result.waiting) == (1, 0)
        exchange.wait(1)
        assert len(exchange.messages) == 1
        assert mailer.deliver_all(T0 + 10 * MIN).sent == 0
    finally:
        mailer.close()
        if mode == "down":
            entra.stop()


@pytest.mark.parametrize("change, words", [
    ({"client_secret": "not-the-secret"}, ["the client secret is wrong", "AADSTS7000215", "smtp.oauth2.client_secret"]),
    ({"client_id": "0b0e5d2c-0000-4000-8000-000000000000"},
     ["no such application in this tenant", "AADSTS700016", "smtp.oauth2.client_id", "smtp.oauth2.tenant_id"]),
    ({"tenant_id": "soroe-typo.onmicrosoft.com"},
     ["the tenant does not exist", "AADSTS90002", "check smtp.oauth2.tenant_id"]),
], ids=["wrong-secret", "unknown-client", "unknown-tenant"])
def test_wrong_tenant_client_or_secret_names_the_setting(change, words, exchange, entra, tmp_path):
    settings = oauth_settings(exchange, entra, tmp_path, **change)
    with pytest.raises(MailError) as exc:
        make_transport(settings.smtp).send(["energi@soroe.dk"], b"Subject: x\r\n\r\nx\r\n")
    assert exc.value.step == "token" and all(w in str(exc.value) for w in words), str(exc.value)
    assert "not-the-secret" not in str(exc.value) and CLIENT_SECRET not in str(exc.value)
    assert exchange.messages == [] and exchange.logins == []  # nothing reached the mail server


def test_a_certificate_credential_signs_the_client_assertion(exchange, entra, tmp_path):
    """msal signs a JWT with the certificate's key (x5t#S256 = its SHA-256 thumbprint); the fake Entra ID checks
    signature, audience and issuer with the uploaded certificate.  Another key is refused, naming the file."""
    from tls_certs import make_app_certificate

    pem, crt = make_app_certificate(tmp_path / "app")
    entra.certificates = {CLIENT_ID: crt}
    entra.secrets = {}
    settings = oauth_settings(exchange, entra, tmp_path, client_secret=None, certificate_file=str(pem))
    make_transport(settings.smtp).send(["energi@soroe.dk"], to_wire(render_testmail(MAILBOX, ["energi@soroe.dk"])))
    exchange.wait(1)
    assert len(exchange.messages) == 1 and "client_assertion" in entra.token_requests[0]
    other, _ = make_app_certificate(tmp_path / "other", "other")
    settings = oauth_settings(exchange, entra, tmp_path, client_secret=None, certificate_file=str(other))
    with pytest.raises(MailError, match=r"^token: .*AADSTS700027.* smtp\.oauth2\.certificate_file"):
        make_transport(settings.smtp).send(["energi@soroe.dk"], b"Subject: x\r\n\r\nx\r\n")


def test_missing_mailbox_permission_535_5_7_3_says_what_to_do_in_exchange_and_a_new_token_follows(exchange, entra,
                                                                                                   tmp_path):
    entra.mailbox_permissions = {}  # consented, but no Add-MailboxPermission for the app's service principal
    settings = oauth_settings(exchange, entra, tmp_path)
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        queue(mailer.db, 1)
        result = mailer.deliver_all(T0)
        assert result.failed == 1
        error = result.errors[0]
        assert error.startswith(f"auth: 127.0.0.1:{exchange.port} refused the OAuth token for mailbox {MAILBOX} "
                                "(535 5.7.3 Authentication unsuccessful")
        for what in ("SMTP.SendAsApp", "admin consent", "New-ServicePrincipal", "Add-MailboxPermission"):
            assert what in error
        entra.mailbox_permissions = {CLIENT_ID: {MAILBOX}}  # the admin fixed it in Exchange
        assert mailer.deliver_all(T0 + 2 * MIN).sent == 1
        # the refused token was dropped from the cache: the retry asked Entra ID for a new one
        assert len(entra.token_requests) == 2
    finally:
        mailer.close()


def test_password_login_refused_with_550_5_7_30_says_switch_to_oauth(exchange, tmp_path, caplog):
    settings = settings_from_dict({"smtp": {
        "host": "127.0.0.1", "port": exchange.port, "sender": MAILBOX, "username": USER, "password": PASSWORD,
        "ca_file": str(exchange.tls["ca"]), "timeout_s": 5}})
    mailer = Mailer(settings.smtp, MailDB(tmp_path / "mail.db"))
    try:
        queue(mailer.db, 1)
        with caplog.at_level("WARNING"):
            assert mailer.deliver_all(T0).failed == 1
    finally:
        mailer.close()
    [line] = [r.getMessage() for r in caplog.records if r.name == "energimon.mail"]
    assert "auth: " in line and "550 5.7.30 Basic authentication is not supported for Client Submission" in line
    assert "switch to OAuth: add an [smtp.oauth2] table (tenant_id, client_id, client_secret)" in line
    assert "remove smtp.password" in line and PASSWORD not in line
    assert exchange.messages == []


def test_a_generic_oauth2_token_endpoint(exchange, entra, tmp_path):
    """``provider = "generic"``: any RFC 6749 token endpoint (here the fake Entra ID's, with HTTP Basic client
    authentication); its own cache renews a token 5 minutes before it expires."""
    from energimon.mail.oauth import ClientCredentialsTokenProvider

    settings = oauth_settings(exchange, entra, tmp_path, provider="generic", tenant_id=None, authority_url=None,
                              token_url=entra.token_endpoint(), scope=EXCHANGE)
    make_transport(settings.smtp).send(["energi@soroe.dk"], to_wire(render_testmail(MAILBOX, ["energi@soroe.dk"])))
    exchange.wait(1)
    assert len(exchange.messages) == 1 and entra.token_requests[0]["client_secret"] == "***"
    now = [1_000_000.0]
    tokens = ClientCredentialsTokenProvider(settings.smtp.oauth2, EXCHANGE, settings.smtp.ca_file, clock=lambda: now[0])
    first = tokens.token()
    assert first.fresh and first.expires_at == now[0] + 3599
    now[0] += 3599 - 301  # 301 s left: still good
    assert tokens.token() == first.__class__(first.value, first.expires_at, False)
    now[0] += 2  # 299 s left: renewed
    assert tokens.token().fresh and len(entra.token_requests) == 3
    entra.mode = "invalid_client"
    tokens.invalidate()
    with pytest.raises(MailError, match=r"^token: 127\.0\.0\.1:\d+ refused the token request: the client secret "
                                        r"is wrong .* smtp\.oauth2\.client_secret"):
        tokens.token()


def test_test_mail_prints_each_step_and_which_one_failed(exchange, entra, tmp_path, capsys):
    from energimon.app.cli import main

    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'''[smtp]
host = "127.0.0.1"
port = {exchange.port}
sender = "{MAILBOX}"
ca_file = "{exchange.tls["ca"]}"
fallback_recipients = ["energi@soroe.dk"]

[smtp.oauth2]
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
client_secret_file = "client.secret"
authority_url = "{entra.url}"
''', encoding="utf-8")
    (tmp_path / "client.secret").write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    (tmp_path / "client.secret").chmod(0o644)
    from energimon.security import secret_file_warnings

    [warning] = secret_file_warnings(cfg)  # a client secret every local user can read is named, with the fix
    assert "client.secret (named by smtp.oauth2.client_secret_file" in warning and "chmod 640" in warning
    assert main(["test-mail", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"^transport: SMTP 127\.0\.0\.1:{exchange.port} \(STARTTLS, XOAUTH2 as {MAILBOX}, token from "
                     rf"Entra ID tenant {TENANT}, app {CLIENT_ID}, client secret\)$", out, re.M), out
    # the steps in the run's language (Danish by default), the transport's details as it gives them
    for line in ("  token:   ok — new token, valid 60 min", f"  forbind: ok — 127.0.0.1:{exchange.port} (STARTTLS)",
                 f"  login:   ok — XOAUTH2 as {MAILBOX}", "  send:    ok — accepted for 1 of 1 recipient(s)",
                 "testmail sendt til energi@soroe.dk"):
        assert line in out, out
    exchange.wait(1)
    assert exchange.messages[0][1]["Subject"] == "[energimon] Testmail – æøå ÆØÅ"
    entra.mode = "invalid_client"
    assert main(["--lang", "en", "test-mail", "--config", str(cfg)]) == 1
    captured = capsys.readouterr()
    assert "  token:   FAILED — Entra ID refused the token request: the client secret is wrong" in captured.out
    assert "  fix:     set smtp.oauth2.client_secret to the secret's Value" in captured.out
    assert "  connect: not tried\n  auth:    not tried\n  send:    not tried" in captured.out
    assert "test mail not sent: the token step failed" in captured.err
    assert CLIENT_SECRET not in captured.out + captured.err


def test_oauth_settings_take_the_secret_from_the_environment_and_name_what_is_missing(tmp_path, monkeypatch):
    from energimon.config.settings import ConfigError, load_settings

    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'[smtp]\nhost = "smtp.office365.com"\nsender = "{MAILBOX}"\n\n[smtp.oauth2]\n'
                   f'tenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_settings(cfg)
    assert [str(p) for p in exc.value.problems] == [
        # the table [smtp.oauth2] starts on line 5 of the file
        "line 5: smtp.oauth2: give exactly one of client_secret (or client_secret_file) and certificate_file"]
    monkeypatch.setenv("ENERGIMON_SMTP__OAUTH2__CLIENT_SECRET", CLIENT_SECRET)
    smtp = load_settings(cfg).smtp
    assert smtp.oauth2.client_secret.get_secret_value() == CLIENT_SECRET
    assert CLIENT_SECRET not in repr(smtp) and CLIENT_SECRET not in smtp.describe()
    assert (smtp.auth, smtp.mailbox, smtp.scope) == ("xoauth2", MAILBOX, EXCHANGE)
    monkeypatch.delenv("ENERGIMON_SMTP__OAUTH2__CLIENT_SECRET")
    cfg.write_text(f'[smtp]\ntransport = "graph"\nsender = "{MAILBOX}"\npassword = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"smtp: transport 'graph' needs an \[smtp.oauth2\] table"):
        load_settings(cfg)
