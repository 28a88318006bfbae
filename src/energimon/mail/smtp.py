"""SMTP: STARTTLS, implicit TLS or plain; no login, a password login, or OAuth 2.0 ``AUTH XOAUTH2``.

XOAUTH2 is the SASL format Exchange Online documents for app-only SMTP
(https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth):
``base64("user=" + mailbox + "^Aauth=Bearer " + token + "^A^A")`` with ``^A`` = 0x01.

Blocking (smtplib): the daemon calls it from a worker thread.  A password is revealed only to the AUTH
command, a token only to XOAUTH2; errors name the step and the setting, never the secret.
"""

from __future__ import annotations

import base64
import smtplib
import ssl

from energimon.mail.oauth import TokenProvider
from energimon.mail.settings import SmtpSettings
from energimon.mail.transport import MailError, Progress

OAUTH_FIX = ("switch to OAuth: add an [smtp.oauth2] table (tenant_id, client_id, client_secret) and remove "
             "smtp.password — or use transport = \"graph\"; the README's section 'Mail via Microsoft 365' "
             "shows the set-up")
XOAUTH2_FIX = ("in Microsoft 365 the app needs the application permission SMTP.SendAsApp (Office 365 Exchange "
               "Online) with admin consent, its service principal registered in Exchange (New-ServicePrincipal) "
               "with FullAccess to the mailbox (Add-MailboxPermission), and SMTP AUTH enabled for that mailbox; "
               "smtp.username (default smtp.sender) must be that mailbox")


def _context(cfg: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)


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


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial client response, before base64 (smtplib encodes it)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def _text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())


def explain_auth_failure(cfg: SmtpSettings, code: int, resp: bytes | str) -> MailError:
    """The server refused the login: say why in terms of settings (550 5.7.30, 535 5.7.3 …)."""
    where, text = f"{cfg.host}:{cfg.port}", _text(resp)
    said = f"{code} {text}"
    if "5.7.30" in text or "basic authentication is not supported" in text.lower():
        return MailError("auth", f"{where} refused the password login ({said}): Microsoft 365 no longer accepts "
                         "passwords for SMTP", OAUTH_FIX)
    if code == 538 or "5.7.11" in text:
        return MailError("auth", f"{where} requires encryption before login ({said})",
                         "set smtp.security = 'starttls' (port 587) or 'tls' (port 465)")
    if cfg.auth == "xoauth2":
        return MailError("auth", f"{where} refused the OAuth token for mailbox {cfg.mailbox} ({said})", XOAUTH2_FIX)
    return MailError("auth", f"{where} refused the login as {cfg.username!r} ({said})",
                     "check smtp.username and smtp.password (and that SMTP AUTH is enabled for the mailbox)")


def _explain_send_failure(cfg: SmtpSettings, exc: smtplib.SMTPException) -> MailError:
    where = f"{cfg.host}:{cfg.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{a}: {c} {_text(r)}" for a, (c, r) in sorted(exc.recipients.items()))
        return MailError("send", f"{where} refused every recipient ({refused})",
                         "check the recipients' addresses (facility_managers, recipients, fallback_recipients)")
    code = getattr(exc, "smtp_code", 0)
    text = _text(getattr(exc, "smtp_error", b"") or str(exc))
    if "5.7.57" in text or code == 530:
        return MailError("send", f"{where} requires a login to send ({code} {text})",
                         "set smtp.username and smtp.password, or an [smtp.oauth2] table")
    if isinstance(exc, smtplib.SMTPSenderRefused) or "SendAsDenied" in text or "5.7.60" in text:
        return MailError("send", f"{where} refused the sender {cfg.sender} ({code} {text})",
                         "smtp.sender must be the mailbox that logs in, or one it may send as")
    return MailError("send", f"{where} did not take the message ({code} {text})".replace("(0 ", "("),
                     "a temporary refusal (4xx) is retried; a permanent one (5xx) needs the server's admin")


class SmtpTransport:
    def __init__(self, cfg: SmtpSettings, tokens: TokenProvider | None = None):
        self.cfg, self.tokens = cfg, tokens
        if cfg.auth == "xoauth2" and tokens is None:
            raise ValueError("XOAUTH2 needs a token provider")
        if not cfg.host:  # SmtpSettings requires it for transport 'smtp'
            raise ValueError("transport 'smtp' needs smtp.host")
        self.host: str = cfg.host

    def describe(self) -> str:
        return self.cfg.describe()

    def send(self, recipients: list[str], message: bytes, progress: Progress | None = None) -> None:
        """Deliver ``message`` (a whole RFC 5322 message) to ``recipients``; :class:`MailError` on failure."""
        cfg = self.cfg
        note = progress or (lambda step, detail: None)
        if not recipients:
            raise MailError("send", "no recipients", "give recipients (facility_managers, fallback_recipients)")
        token = None
        tokens = self.tokens if cfg.auth == "xoauth2" else None
        if tokens is not None:
            import time

            token = tokens.token()
            note("token", f"{'new' if token.fresh else 'cached'} token, valid "
                          f"{max(0.0, token.expires_at - time.time()) / 60:.0f} min")
        where = f"{cfg.host}:{cfg.port}"
        step = "connect"
        try:
            if cfg.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, cfg.port, timeout=cfg.timeout_s,
                                                       context=_context(cfg))
            else:
                client = smtplib.SMTP(self.host, cfg.port, timeout=cfg.timeout_s)
            with client:
                client.ehlo()
                if cfg.security == "starttls":
                    client.starttls(context=_context(cfg))
                    client.ehlo()
                note("connect", f"{where} ({'STARTTLS' if cfg.security == 'starttls' else cfg.security.upper()})"
                     if cfg.security != "none" else f"{where} (unencrypted)")
                step = "auth"
                if cfg.auth == "password":
                    password = cfg.password.get_secret_value() if cfg.password is not None else ""
                    _login(client, cfg.username or "", password)
                    note("auth", f"password login as {cfg.username}")
                elif token is not None:
                    if not client.has_extn("auth") or "XOAUTH2" not in client.esmtp_features["auth"].upper():
                        offered = client.esmtp_features.get("auth", "none") or "none"
                        raise MailError("auth", f"{where} does not offer AUTH XOAUTH2 (offers: {offered})",
                                        "check smtp.host/port (Microsoft 365: smtp.office365.com, port 587, "
                                        "starttls)")
                    client.auth("XOAUTH2", lambda challenge=None: "" if challenge is not None
                                else xoauth2_string(cfg.mailbox, token.value), initial_response_ok=True)
                    note("auth", f"XOAUTH2 as {cfg.mailbox}")
                step = "send"
                refused = client.sendmail(cfg.sender, recipients, message)
                note("send", f"accepted for {len(recipients) - len(refused)} of {len(recipients)} recipient(s)")
        except MailError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            if tokens is not None:  # a token issued before consent was granted stays useless: get a new one
                tokens.invalidate()
            raise explain_auth_failure(cfg, exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPNotSupportedError as exc:
            if step == "connect":
                raise MailError("connect", f"{where} does not offer STARTTLS ({exc})",
                                "set smtp.security to 'tls' (port 465) or, on a trusted network only, 'none'") \
                    from None
            raise MailError("auth", f"{where} offers no login (AUTH) ({exc})",
                            "a relay without login: remove smtp.username/password and [smtp.oauth2]") from None
        except smtplib.SMTPException as exc:
            if step == "auth":
                if "No suitable authentication method" in str(exc):
                    offered = client.esmtp_features.get("auth", "?")
                    raise MailError("auth", f"{where} offers no password login (AUTH {offered.strip()})",
                                    OAUTH_FIX if "XOAUTH2" in offered.upper() else "check smtp.security") from None
                raise MailError("auth", f"login at {where} failed: {type(exc).__name__}: {_text(str(exc))}",
                                "check smtp.username and the password or [smtp.oauth2]") from None
            if step == "send":
                raise _explain_send_failure(cfg, exc) from None
            raise MailError("connect", f"{where}: {type(exc).__name__}: {_text(str(exc))}",
                            "check smtp.host, smtp.port and smtp.security") from None
        except ssl.SSLCertVerificationError as exc:
            raise MailError("connect", f"the certificate of {where} is not trusted ({exc.verify_message})",
                            "set smtp.ca_file to the CA that signed it, or check smtp.host") from None
        except (OSError, ssl.SSLError) as exc:
            reason = _text(str(exc)) or type(exc).__name__
            if step != "connect":  # the connection broke during the login or the message
                raise MailError(step, f"the connection to {where} broke: {reason}",
                                "the mail is kept and retried") from None
            raise MailError("connect", f"cannot reach SMTP server {where}: {reason}",
                            "check smtp.host and smtp.port, and that the server is up; the mail is kept and "
                            "retried") from None
