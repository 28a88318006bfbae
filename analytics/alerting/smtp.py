"""Sending one message over SMTP: STARTTLS, implicit TLS or plain, with optional AUTH.

Blocking (smtplib): the daemon calls it from a thread.  The password is a ``SecretStr`` and is
only revealed to ``smtplib.login``; errors are reported without it.
"""

from __future__ import annotations

import base64
import email.policy
import smtplib
import ssl
from email.message import EmailMessage

from energimon.config.settings import SmtpSettings


class MailError(Exception):
    """The message could not be delivered now (server down, refused, auth); retry later."""


def _context(cfg: SmtpSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    return ctx


def _login(client: smtplib.SMTP, username: str, password: str) -> None:
    """``smtplib.login``, except for non-ASCII credentials (a Danish password with æøå): smtplib encodes those
    as ASCII and crashes, so send AUTH PLAIN with UTF-8 (RFC 4616) ourselves."""
    if (username + password).isascii():
        client.login(username, password)
        return
    token = base64.b64encode(b"\0" + username.encode() + b"\0" + password.encode()).decode("ascii")
    code, resp = client.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def send_bytes(cfg: SmtpSettings, recipients: list[str], message: bytes) -> None:
    """Deliver ``message`` (a whole RFC 5322 message) to ``recipients``; raise :class:`MailError` on failure."""
    if not recipients:
        raise MailError("no recipients")
    try:
        if cfg.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_s,
                                                   context=_context(cfg))
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s)
        with client:
            client.ehlo()
            if cfg.security == "starttls":
                client.starttls(context=_context(cfg))
                client.ehlo()
            if cfg.username:
                password = cfg.password.get_secret_value() if cfg.password is not None else ""
                _login(client, cfg.username, password)
            refused = client.sendmail(cfg.sender, recipients, message)
            if refused and len(refused) == len(recipients):
                raise MailError(f"all recipients refused: {sorted(refused)}")
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP login as {cfg.username!r} refused by {cfg.host}:{cfg.port} ({exc.smtp_code})") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP error from {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}") from None
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"cannot reach SMTP server {cfg.host}:{cfg.port}: {exc}") from None


def to_wire(msg: EmailMessage) -> bytes:
    """The message as SMTP wants it: CRLF line ends (smtplib does not fix bytes; a bare-LF message is one
    endless line to the server)."""
    return msg.as_bytes(policy=email.policy.SMTP)


def send(cfg: SmtpSettings, recipients: list[str], msg: EmailMessage) -> None:
    send_bytes(cfg, recipients, to_wire(msg))
