"""Access tokens by the OAuth 2.0 client-credentials grant, cached until shortly before they expire.

* :class:`EntraTokenProvider` — Microsoft Entra ID through **msal** (``ConfidentialClientApplication``,
  a client secret or a certificate).  msal discovers the tenant's endpoints from
  ``{authority_url}/{tenant}/v2.0/.well-known/openid-configuration`` when the application is built, keeps
  tokens in its :class:`msal.TokenCache` and hands out a cached token until 5 minutes before it expires
  (``acquire_token_for_client`` looks in the cache first since msal 1.23).  We pass
  ``instance_discovery=False``: that lookup (at login.microsoftonline.com) only serves hosts msal does
  not know, i.e. a private authority such as a test server; for the known Microsoft hosts it is skipped
  anyway.  After a failure the application is built anew (the token cache is kept): a failed discovery
  must be retried, and msal's own 5-second throttle of a failing endpoint is shorter than the outbox's
  back-off (1 minute and more) anyway.
* :class:`ClientCredentialsTokenProvider` — any RFC 6749 §4.4 token endpoint (``token_url``), with the
  same 5-minute early renewal.

Errors become :class:`~energimon.mail.transport.MailError` at step ``token``, naming the ``[smtp.oauth2]``
setting to fix.  Entra ID's errors carry ``AADSTS`` codes (documented at
https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes); the common ones are
translated below.  Neither the secret nor a token ever appears in an error text.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from energimon.mail.settings import OAuth2Settings, SmtpSettings
from energimon.mail.transport import MailError

if TYPE_CHECKING:  # msal is imported when a token is first needed (it is slow to import)
    import msal

EARLY_RENEW_S = 300.0  # renew a token this long before it expires (msal's rule, applied to the generic client too)
DEFAULT_LIFETIME_S = 600.0  # a token response without expires_in (RFC 6749 §5.1 only recommends it; msal's default)
K = "smtp.oauth2"


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # Unix seconds
    fresh: bool  # True: just issued by the token endpoint; False: from the cache

    def __repr__(self) -> str:  # never the token itself
        return f"AccessToken(expires_at={self.expires_at:.0f}, fresh={self.fresh})"


class TokenProvider:
    def token(self) -> AccessToken:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget cached tokens: the server refused one (consent or permissions changed since it was issued,
        which a token only shows in a new one)."""
        raise NotImplementedError


# AADSTS code → (what it means, what to do).  Codes from Microsoft's error-code reference (module docstring).
AADSTS_FIXES: dict[int, tuple[str, str]] = {
    90002: ("the tenant does not exist", f"check {K}.tenant_id (Entra ID → Overview → Tenant ID)"),
    700016: ("no such application in this tenant",
             f"check {K}.client_id (the app registration's Application (client) ID) and {K}.tenant_id "
             "(the tenant the app is registered in)"),
    7000215: ("the client secret is wrong",
              f"set {K}.client_secret to the secret's Value (shown once when it was created), not its Secret ID"),
    7000222: ("the client secret has expired",
              f"create a new client secret (app registration → Certificates & secrets) and set {K}.client_secret"),
    700027: ("the certificate's signature was not accepted",
             f"{K}.certificate_file must hold the key of a certificate uploaded to the app registration "
             "(Certificates & secrets → Certificates)"),
    700024: ("the client assertion is outside its valid time", "check this machine's clock (NTP)"),
    1002012: ("the scope is not valid for the client-credentials flow",
              f"set {K}.scope to a resource ending in /.default, e.g. https://outlook.office365.com/.default"),
    70011: ("the scope is not valid", f"check {K}.scope (a resource ending in /.default)"),
    500011: ("the resource in the scope is not in the tenant",
             f"check {K}.scope (Exchange Online SMTP: https://outlook.office365.com/.default)"),
    7000112: ("the application is disabled",
              "enable it in Entra ID (Enterprise applications → the app → Properties → Enabled for users to "
              "sign-in)"),
    65001: ("an administrator has not consented to the application's permissions",
            "API permissions → Grant admin consent"),
}
ERROR_FIXES = {
    "invalid_client": f"check {K}.client_id and {K}.client_secret (or certificate_file)",
    "unauthorized_client": f"check {K}.client_id and {K}.tenant_id",
    "invalid_scope": f"check {K}.scope",
    "invalid_tenant": f"check {K}.tenant_id",
    "invalid_request": f"check {K}.tenant_id, client_id and scope",
}
_AADSTS = re.compile(r"AADSTS(\d+)")


def explain_token_error(body: dict, who: str) -> MailError:
    """A token endpoint's error response (RFC 6749 §5.2, plus Entra ID's ``error_codes``) as a MailError."""
    error = str(body.get("error") or "error")
    description = str(body.get("error_description") or "").strip().splitlines()
    first = description[0].strip() if description else ""
    codes = [int(c) for c in body.get("error_codes") or [] if str(c).isdigit()]
    codes += [int(m) for m in _AADSTS.findall(first) if int(m) not in codes]
    for code in codes:
        if code in AADSTS_FIXES:
            meaning, fix = AADSTS_FIXES[code]
            return MailError("token", f"{who} refused the token request: {meaning} ({error}: {first})", fix)
    fix = ERROR_FIXES.get(error, f"check the [{K}] settings")
    return MailError("token", f"{who} refused the token request ({error}{': ' + first if first else ''})", fix)


def _network_error(exc: BaseException, where: str, timeout_s: float, setting: str) -> MailError:
    text = str(exc)
    errno = re.search(r"\[Errno -?\d+\] [^'\")(]*", text)  # the OS's reason inside requests' long text
    if errno and "CERTIFICATE_VERIFY_FAILED" not in text:
        text = errno.group(0).strip()
    if isinstance(exc, TimeoutError | socket.timeout) or "timed out" in text.lower():
        return MailError("token", f"the token endpoint {where} did not answer within {timeout_s:g} s",
                         f"check the network and proxy to {where} ({K}.timeout_s); the mail is kept and retried")
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(exc, ssl.SSLError):
        return MailError("token", f"TLS to the token endpoint {where} failed: {_short(text)}",
                         "set smtp.ca_file to the CA that signed its certificate (a TLS-inspecting proxy?)")
    return MailError("token", f"cannot reach the token endpoint {where}: {_short(text)}",
                     f"check {setting}, DNS and the firewall/proxy for HTTPS to {where}; the mail is kept and retried")


def _json_in(text: str) -> dict | None:
    m = re.search(r"\{.*\}", text, re.S)
    if m is None:
        return None
    try:
        body = json.loads(m.group(0))
    except json.JSONDecodeError:
        return None
    return body if isinstance(body, dict) and "error" in body else None


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _host(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.netloc or url


class EntraTokenProvider(TokenProvider):
    """Tokens from Microsoft Entra ID with msal (see the module docstring)."""

    def __init__(self, o: OAuth2Settings, scope: str, ca_file: Path | None):
        import msal

        self.o, self.scope, self.ca_file = o, scope, ca_file
        self.authority = f"{o.authority_url}/{o.tenant_id}"
        self._cache = msal.TokenCache()  # kept across rebuilds of the application
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"Entra ID {self.authority} (app {self.o.client_id}, scope {self.scope})"

    def invalidate(self) -> None:
        import msal

        with self._lock:
            self._cache, self._app = msal.TokenCache(), None

    def _credential(self):
        o = self.o
        if o.certificate_file is None:
            return o.client_secret.get_secret_value()
        pem = o.certificate_file.read_text(encoding="ascii")
        key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", pem, re.S)
        cert = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
        if key is None or cert is None:
            raise MailError("token", f"{o.certificate_file} holds no PEM private key and certificate",
                            f"check {K}.certificate_file")
        # public_certificate: msal computes the SHA-256 thumbprint (x5t#S256) Entra ID matches the key by
        cred = {"private_key": key.group(0), "public_certificate": cert.group(0)}
        if o.certificate_password is not None:
            cred["passphrase"] = o.certificate_password.get_secret_value()
        return cred

    def _http_client(self):
        """What msal would build itself (a requests Session with one retry), except that ``smtp.ca_file``
        is passed with every request: a Session's own ``verify`` loses to a REQUESTS_CA_BUNDLE in the
        environment (psf/requests#4726), and the configured CA must win."""
        import functools

        import requests

        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(max_retries=1)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.request = functools.partial(session.request, timeout=self.o.timeout_s,
                                            verify=str(self.ca_file) if self.ca_file else True)
        return session

    def _build(self) -> msal.ConfidentialClientApplication:
        import msal

        return msal.ConfidentialClientApplication(
            self.o.client_id, client_credential=self._credential(), authority=self.authority,
            token_cache=self._cache, instance_discovery=False, http_client=self._http_client())

    def token(self) -> AccessToken:
        import msal.exceptions
        import requests

        with self._lock:
            try:
                app = self._app
                if app is None:
                    app = self._app = self._build()
                result = app.acquire_token_for_client(scopes=[self.scope])
            except MailError:
                self._app = None
                raise
            except (msal.exceptions.MsalError, requests.exceptions.HTTPError) as exc:  # msal raises for 5xx
                self._app = None
                status = re.search(r"\b([45]\d\d)\b", str(exc))
                said = f"HTTP {status.group(1)}" if status else _short(str(exc))
                raise MailError("token", f"Entra ID ({_host(self.authority)}) answered {said}",
                                "a fault on Microsoft's side: the mail is kept and retried") from None
            except requests.exceptions.RequestException as exc:
                self._app = None
                raise _network_error(exc, _host(self.authority), self.o.timeout_s, f"{K}.authority_url") from None
            except ValueError as exc:  # msal: the tenant's OpenID configuration could not be read
                self._app = None
                body = _json_in(str(exc.__context__ or ""))  # msal keeps Entra ID's answer in the context
                if body is not None:
                    raise explain_token_error(body, "Entra ID") from None
                raise MailError("token", f"Entra ID: cannot read the tenant's configuration at {self.authority}: "
                                f"{_short(str(exc))}", f"check {K}.tenant_id and {K}.authority_url") from None
            if "access_token" not in result:
                self._app = None
                raise explain_token_error(result, "Entra ID")
            return AccessToken(result["access_token"], time.time() + float(result.get("expires_in", 0)),
                               result.get("token_source") != "cache")


class ClientCredentialsTokenProvider(TokenProvider):
    """Any OAuth 2.0 token endpoint (RFC 6749 §4.4), with a small cache (``clock`` for tests)."""

    def __init__(self, o: OAuth2Settings, scope: str, ca_file: Path | None,
                 clock: Callable[[], float] = time.time):
        if o.client_secret is None or o.token_url is None:  # OAuth2Settings requires both for 'generic'
            raise ValueError("provider 'generic' needs token_url and client_secret")
        self.o, self.scope, self.clock = o, scope, clock
        self.secret, self.token_url = o.client_secret, o.token_url
        self.context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._cached: AccessToken | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"token endpoint {self.o.token_url} (client {self.o.client_id}, scope {self.scope})"

    def invalidate(self) -> None:
        with self._lock:
            self._cached = None

    def token(self) -> AccessToken:
        with self._lock:
            now = self.clock()
            if self._cached is not None and self._cached.expires_at - EARLY_RENEW_S > now:
                return AccessToken(self._cached.value, self._cached.expires_at, False)
            self._cached = self._fetch(now)
            return self._cached

    def _fetch(self, now: float) -> AccessToken:
        o = self.o
        secret = self.secret.get_secret_value()
        form = {"grant_type": "client_credentials", "scope": self.scope}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        if o.client_auth == "basic":  # RFC 6749 §2.3.1: each part form-encoded, then Basic
            pair = f"{urllib.parse.quote_plus(o.client_id)}:{urllib.parse.quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form.update(client_id=o.client_id, client_secret=secret)
        req = urllib.request.Request(self.token_url, data=urllib.parse.urlencode(form).encode(), headers=headers,
                                     method="POST")
        who = _host(self.token_url)
        try:
            with urllib.request.urlopen(req, timeout=o.timeout_s, context=self.context) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if exc.code >= 500:
                raise MailError("token", f"the token endpoint {who} answered HTTP {exc.code}",
                                "a fault at the provider: the mail is kept and retried") from None
            try:
                raise explain_token_error(json.loads(raw), who) from None
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                raise MailError("token", f"the token endpoint {who} answered HTTP {exc.code} without an OAuth "
                                f"error", f"check {K}.token_url") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _network_error(reason if isinstance(reason, BaseException) else exc, who, o.timeout_s,
                                 f"{K}.token_url") from None
        try:
            data = json.loads(body)
            value = str(data["access_token"])
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
            raise MailError("token", f"the token endpoint {who} answered without an access_token",
                            f"check {K}.token_url (it must be the OAuth 2.0 token endpoint)") from None
        if str(data.get("token_type", "bearer")).lower() != "bearer":
            raise MailError("token", f"the token endpoint {who} issued a {data.get('token_type')!r} token, not a "
                            "Bearer token", f"check {K}.token_url")
        try:
            lifetime = float(data.get("expires_in", DEFAULT_LIFETIME_S))
        except (TypeError, ValueError):
            lifetime = DEFAULT_LIFETIME_S
        return AccessToken(value, now + lifetime, True)


def make_token_provider(cfg: SmtpSettings) -> TokenProvider:
    o = cfg.oauth2
    assert o is not None and cfg.scope is not None
    if o.provider == "entra":
        return EntraTokenProvider(o, cfg.scope, cfg.ca_file)
    return ClientCredentialsTokenProvider(o, cfg.scope, cfg.ca_file)
