"""Microsoft Graph ``sendMail``: for tenants that switch SMTP AUTH off entirely.

``POST {url}/v1.0/users/{mailbox}/sendMail`` with an app-only token (application permission ``Mail.Send``,
admin consent) and a JSON body ``{"message": {...}, "saveToSentItems": …}``; Graph answers ``202 Accepted``
with an empty body.  Reference: https://learn.microsoft.com/en-us/graph/api/user-sendmail (request, 202),
https://learn.microsoft.com/en-us/graph/api/resources/fileattachment (``contentBytes`` base64, ``isInline``,
``contentId``), https://learn.microsoft.com/en-us/graph/errors (``{"error": {"code", "message"}}``, 429 with
``Retry-After``) and https://learn.microsoft.com/en-us/graph/outlook-large-attachments (a request carries
at most 4 MB; larger attachments need an upload session, which energimon does not do).

The outbox keeps every message as RFC 5322 bytes (the same for every transport); :func:`graph_message`
turns one into Graph's JSON: subject, the HTML body (else the plain text), the recipients, each attachment
as a ``fileAttachment`` (inline images keep their Content-ID, so ``cid:`` links in the HTML still work)
and the original Message-ID as a custom ``X-`` header (Graph only accepts custom headers named ``x-…``).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from energimon.mail.oauth import TokenProvider
from energimon.mail.settings import SmtpSettings
from energimon.mail.transport import MailError, Progress

MAX_REQUEST_BYTES = 4 * 1024 * 1024
PERMISSION_FIX = ("the app needs the application permission Mail.Send (Microsoft Graph) with admin consent "
                  "(API permissions → Grant admin consent); if an application access policy limits the app to "
                  "some mailboxes, it must include {mailbox}")


def graph_message(message: bytes, recipients: list[str], save_to_sent_items: bool = True) -> dict:
    """The ``sendMail`` request body for one RFC 5322 message."""
    msg: EmailMessage = email.message_from_bytes(message, policy=email.policy.default)  # type: ignore[assignment]
    body_part = msg.get_body(preferencelist=("html", "plain"))
    body = {"contentType": "Text", "content": ""}
    if body_part is not None:
        body = {"contentType": "HTML" if body_part.get_content_type() == "text/html" else "Text",
                "content": body_part.get_content()}
    attachments = []
    for part in msg.walk():
        if part.is_multipart() or part is body_part:
            continue
        cid = (part.get("Content-ID") or "").strip().strip("<>")
        name = part.get_filename()
        if not cid and not name and part.get_content_disposition() != "attachment":
            continue  # the other alternative of the body (plain text beside the HTML)
        payload = part.get_payload(decode=True)  # bytes for a non-multipart part (multiparts are skipped above)
        data = payload if isinstance(payload, bytes) else b""
        item = {"@odata.type": "#microsoft.graph.fileAttachment", "name": name or cid or "attachment",
                "contentType": part.get_content_type(), "contentBytes": base64.b64encode(data).decode("ascii")}
        if cid:
            item.update(isInline=True, contentId=cid)
        attachments.append(item)
    out: dict = {"subject": str(msg.get("Subject", "")), "body": body,
                 "toRecipients": [{"emailAddress": {"address": a}} for a in recipients]}
    if attachments:
        out["attachments"] = attachments
    if msg.get("Message-ID"):
        out["internetMessageHeaders"] = [{"name": "X-Energimon-Message-Id", "value": str(msg["Message-ID"])}]
    return {"message": out, "saveToSentItems": save_to_sent_items}


def _graph_error(raw: bytes) -> tuple[str, str]:
    try:
        err = json.loads(raw)["error"]
        return str(err.get("code", "")), " ".join(str(err.get("message", "")).split())
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return "", raw[:200].decode("utf-8", "replace").strip()


def _retry_after_s(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: Graph sends seconds, so do not guess
        return None


class GraphTransport:
    def __init__(self, cfg: SmtpSettings, tokens: TokenProvider | None):
        if tokens is None:
            raise ValueError("transport 'graph' needs a token provider ([smtp.oauth2])")
        self.cfg, self.tokens = cfg, tokens
        self.context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)

    def describe(self) -> str:
        return self.cfg.describe()

    def send(self, recipients: list[str], message: bytes, progress: Progress | None = None) -> None:
        import time

        cfg = self.cfg
        note = progress or (lambda step, detail: None)
        if not recipients:
            raise MailError("send", "no recipients", "give recipients (facility_managers, fallback_recipients)")
        body = json.dumps(graph_message(message, recipients, cfg.graph.save_to_sent_items)).encode()
        if len(body) > MAX_REQUEST_BYTES:
            raise MailError("send", f"the message is {len(body) / 1e6:.1f} MB as a Graph request; sendMail takes "
                            "at most 4 MB", "use transport = \"smtp\" with XOAUTH2 for mails this large")
        token = self.tokens.token()
        note("token", f"{'new' if token.fresh else 'cached'} token, valid "
                      f"{max(0.0, token.expires_at - time.time()) / 60:.0f} min")
        mailbox = cfg.mailbox
        url = f"{cfg.graph.url}/v1.0/users/{urllib.parse.quote(mailbox, safe='@')}/sendMail"
        host = urllib.parse.urlsplit(url).netloc
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {token.value}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout_s, context=self.context) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            note("connect", host)
            raise self._refused(exc.code, exc.read(), exc.headers.get("Retry-After"), mailbox) from None
        except ssl.SSLCertVerificationError as exc:
            raise MailError("connect", f"the certificate of {host} is not trusted ({exc.verify_message})",
                            "set smtp.ca_file to the CA that signed it (a TLS-inspecting proxy?)") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise MailError("connect", f"the certificate of {host} is not trusted ({reason.verify_message})",
                                "set smtp.ca_file to the CA that signed it (a TLS-inspecting proxy?)") from None
            raise MailError("connect", f"cannot reach Microsoft Graph at {host}: {reason}",
                            "check smtp.graph.url and the firewall/proxy for HTTPS; the mail is kept and retried") \
                from None
        note("connect", host)
        note("auth", "token accepted")
        if status != 202:  # Graph documents 202 Accepted; anything else 2xx is unexpected, but delivered
            note("send", f"HTTP {status} (Graph documents 202)")
        else:
            note("send", f"202 Accepted for {len(recipients)} recipient(s)")

    def _refused(self, status: int, raw: bytes, retry_after: str | None, mailbox: str) -> MailError:
        code, text = _graph_error(raw)
        said = f"HTTP {status} {code}: {text}".rstrip(": ")
        if status == 401:
            self.tokens.invalidate()
            return MailError("auth", f"Graph refused the token ({said})",
                             "a new token is fetched for the next attempt; if it persists check [smtp.oauth2] "
                             "(the token must be for https://graph.microsoft.com/.default)")
        if status == 403:
            self.tokens.invalidate()  # after consent is granted only a new token carries the permission
            return MailError("auth", f"Graph refused sending as {mailbox} ({said})",
                             PERMISSION_FIX.format(mailbox=mailbox))
        if status == 404:
            return MailError("send", f"Graph does not know the mailbox {mailbox} ({said})",
                             "smtp.graph.mailbox (default smtp.sender) must be a mailbox in the tenant")
        if status == 429 or status >= 500:
            wait = _retry_after_s(retry_after)
            what = "is throttling energimon" if status == 429 else "had a fault"
            return MailError("send", f"Graph {what} ({said})",
                             f"the mail is kept and retried{f' after {wait:g} s (Retry-After)' if wait else ''}",
                             retry_after_s=wait)
        return MailError("send", f"Graph did not take the message ({said})",
                         "check the recipients and smtp.sender; the mail is kept and retried")
