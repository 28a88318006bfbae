"""Settings of outgoing mail (``[smtp]``, ``[smtp.oauth2]``, ``[smtp.graph]``, ``[smtp.reports]``).

Owned by the mail package; ``energimon.config.settings`` only puts :class:`SmtpSettings` into the
assembled configuration.  One table describes how every mail leaves energimon (alerts and reports):

* ``transport = "smtp"`` (default): an SMTP server with STARTTLS, implicit TLS or none, and no login
  (a relay), a password login (``username`` + ``password``) or OAuth 2.0 ``AUTH XOAUTH2``
  (``[smtp.oauth2]``: Microsoft 365 after password SMTP is switched off);
* ``transport = "graph"``: Microsoft Graph ``sendMail`` with an app-only token (``[smtp.oauth2]``);
* ``transport = "folder"``: nothing is sent; each mail is written as an ``.eml`` file into ``folder`` (the demo,
  a trial set-up: open the files in any mail program).

Secrets are :class:`~pydantic.SecretStr` from the file, the environment (``ENERGIMON_SMTP__OAUTH2__CLIENT_SECRET``)
or a ``*_file``.  The README's section "Mail" shows the Microsoft 365 set-up step by step.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from energimon.validators import check_emails

# Scopes of the client-credentials flow (".default": the application permissions an admin consented to).
# Exchange Online SMTP AUTH: https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/
#   how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth ("Use client credentials grant flow …")
# Graph: https://learn.microsoft.com/en-us/graph/auth-v2-service
SCOPE_EXCHANGE = "https://outlook.office365.com/.default"
SCOPE_GRAPH = "https://graph.microsoft.com/.default"
ENTRA_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


def read_secret_file(path: Path, key: str) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None


def _one_secret(value: SecretStr | None, file: Path | None, key: str) -> SecretStr | None:
    if file is None:
        return value
    if value is not None:
        raise ValueError(f"give '{key}' or '{key}_file', not both")
    return read_secret_file(file, f"{key}_file")


def is_loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _https_url(value: str, key: str) -> str:
    """An https URL (plain http only to this machine: a token or a mail must not cross a network in clear)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{key} must use https (http only to 127.0.0.1/localhost), got {value!r}")
    if parts.username or parts.password:
        raise ValueError(f"{key}: no credentials in the URL; use the secret settings")
    return value.rstrip("/")


class OAuth2Settings(_Strict):
    """``[smtp.oauth2]``: an access token by the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

    ``provider = "entra"`` (default): Microsoft Entra ID through msal — ``tenant_id``, ``client_id`` and a
    ``client_secret`` or a ``certificate_file``.  ``provider = "generic"``: any token endpoint
    (``token_url``, ``client_id``, ``client_secret``, ``scope``).
    """

    provider: Literal["entra", "generic"] = "entra"
    tenant_id: str | None = Field(default=None, description="Entra ID: Directory (tenant) ID, a GUID or domain")
    client_id: str = Field(min_length=1, description="Application (client) ID of the app registration")
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    certificate_file: Path | None = Field(
        default=None, description="Entra ID: PEM file with the private key and the certificate uploaded to the app")
    certificate_password: SecretStr | None = None
    certificate_password_file: Path | None = None
    scope: str | None = Field(default=None, description="default: Exchange Online for SMTP, Graph for graph")
    authority_url: str = Field(default=ENTRA_AUTHORITY, description="Entra ID sign-in host (national clouds)")
    token_url: str | None = Field(default=None, description="generic: the token endpoint")
    client_auth: Literal["basic", "body"] = Field(
        default="basic", description="generic: client credentials in an HTTP Basic header (RFC 6749 §2.3.1) "
                                     "or in the form body")
    timeout_s: float = Field(default=30.0, gt=0, le=300)

    @field_validator("authority_url")
    @classmethod
    def _authority(cls, v: str) -> str:
        return _https_url(v, "authority_url")

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, v: str | None) -> str | None:
        return None if v is None else _https_url(v, "token_url")

    @model_validator(mode="after")
    def _credentials(self) -> OAuth2Settings:
        self.client_secret = _one_secret(self.client_secret, self.client_secret_file, "client_secret")
        self.certificate_password = _one_secret(self.certificate_password, self.certificate_password_file,
                                                "certificate_password")
        if self.provider == "entra":
            if not self.tenant_id:
                raise ValueError("tenant_id is required for provider 'entra' (Entra ID: Overview → Directory "
                                 "(tenant) ID)")
            if (self.client_secret is None) == (self.certificate_file is None):
                raise ValueError("give exactly one of client_secret (or client_secret_file) and certificate_file")
            if self.token_url is not None:
                raise ValueError("token_url is for provider 'generic'; Entra ID finds its token endpoint itself")
            if self.certificate_file is not None:
                _check_certificate_file(self.certificate_file)
        else:
            missing = [k for k in ("token_url", "client_secret", "scope") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"provider 'generic' needs {', '.join(missing)}")
            if self.certificate_file is not None:
                raise ValueError("certificate_file is supported for provider 'entra' only")
        return self


def _check_certificate_file(path: Path) -> None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        raise ValueError(f"certificate_file: cannot read {path}: {exc.strerror}") from None
    if "PRIVATE KEY-----" not in text or "BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"certificate_file: {path} must hold the private key and the certificate, both PEM "
                         "(e.g. cat energimon.key energimon.crt > energimon.pem)")


class GraphSettings(_Strict):
    """``[smtp.graph]``: Microsoft Graph ``POST /v1.0/users/{mailbox}/sendMail`` (permission Mail.Send)."""

    url: str = Field(default=GRAPH_URL, description="Graph host (national clouds)")
    mailbox: str | None = Field(default=None, description="the mailbox that sends (default: smtp.sender)")
    save_to_sent_items: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _https_url(v, "url")


class ReportMailSettings(_Strict):
    """``[smtp.reports]``: who gets the monthly reports by mail (each period once, also after downtime)."""

    savings: list[str] | None = Field(default=None, description="default: esco.recipients")
    solar: list[str] = Field(default_factory=list, description="the monthly solar report; empty: not mailed")

    _emails = field_validator("solar")(check_emails)

    @field_validator("savings")
    @classmethod
    def _savings(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else check_emails(v)


class SmtpSettings(_Strict):
    """``[smtp]``: how mail leaves energimon (see the module docstring)."""

    transport: Literal["smtp", "graph", "folder"] = "smtp"
    folder: Path | None = Field(default=None, description="transport 'folder': where each mail is written as an "
                                                          ".eml file (relative to the config file)")
    host: str | None = Field(default=None, description="SMTP server (transport 'smtp')")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = Field(default=None, description="password login: the account; XOAUTH2: the mailbox "
                                                           "(default: sender)")
    password: SecretStr | None = None
    password_file: Path | None = None
    allow_insecure_auth: bool = Field(default=False, description="allow a login over an unencrypted connection "
                                                                 "(security = 'none')")
    oauth2: OAuth2Settings | None = None
    graph: GraphSettings = Field(default_factory=GraphSettings)
    sender: str
    fallback_recipients: list[str] = Field(default_factory=list)
    language: Literal["da", "en"] = "da"
    ca_file: Path | None = Field(default=None, description="CA bundle for every TLS connection of the mail "
                                                           "transport: SMTP server, token endpoint, Graph "
                                                           "(default: the system's)")
    timeout_s: float = Field(default=30.0, gt=0, le=300)
    outbox_file: Path | None = Field(default=None, description="the mail database (report outbox and what was "
                                                               "delivered); default: mail.db beside the spool")
    reports: ReportMailSettings = Field(default_factory=ReportMailSettings)

    _emails = field_validator("fallback_recipients")(check_emails)

    @model_validator(mode="after")
    def _check(self) -> SmtpSettings:
        self.password = _one_secret(self.password, self.password_file, "password")
        check_emails([self.sender])
        if self.transport == "smtp" and not self.host:
            raise ValueError("host is required for transport 'smtp' (e.g. smtp.office365.com)")
        if (self.transport == "folder") != (self.folder is not None):
            raise ValueError("transport 'folder' needs folder = \"…\" (where the .eml files go), and folder is only "
                             "for transport 'folder'")
        if self.transport == "folder" and (self.oauth2 is not None or self.password is not None):
            raise ValueError("transport 'folder' sends nothing and logs in nowhere: remove password/[smtp.oauth2]")
        if self.transport == "graph":
            if self.oauth2 is None:
                raise ValueError("transport 'graph' needs an [smtp.oauth2] table (tenant_id, client_id, "
                                 "client_secret)")
            if self.password is not None:
                raise ValueError("transport 'graph' logs in with [smtp.oauth2], not a password: remove password")
        if self.oauth2 is not None and self.password is not None:
            raise ValueError("give a password (basic login) or an [smtp.oauth2] table (XOAUTH2), not both")
        if self.transport == "smtp" and self.security == "none" and self.auth != "none" \
                and not self.allow_insecure_auth:
            raise ValueError("security = 'none' would send the login (password or token) unencrypted: use "
                             "security = 'starttls' or 'tls', or set allow_insecure_auth = true for a relay on a "
                             "trusted network")
        return self

    @property
    def auth(self) -> Literal["none", "password", "xoauth2", "graph"]:
        if self.transport == "graph":
            return "graph"
        if self.transport == "folder":
            return "none"
        if self.oauth2 is not None:
            return "xoauth2"
        return "password" if self.username or self.password is not None else "none"

    @property
    def mailbox(self) -> str:
        """The account that sends: Graph's ``users/{id}`` and XOAUTH2's ``user=``."""
        if self.transport == "graph":
            return self.graph.mailbox or self.sender
        return self.username or self.sender

    @property
    def scope(self) -> str | None:
        if self.oauth2 is None:
            return None
        return self.oauth2.scope or (SCOPE_GRAPH if self.transport == "graph" else SCOPE_EXCHANGE)

    def describe(self) -> str:
        """One line for logs and `status`, without secrets."""
        if self.transport == "folder":
            return f"folder {self.folder} (each mail written as an .eml file, nothing sent)"
        if self.transport == "graph":
            return f"Microsoft Graph {self.graph.url} sendMail as {self.mailbox} ({self._token_source()})"
        text = f"SMTP {self.host}:{self.port} ({self.security.upper() if self.security != 'none' else 'plain'}"
        if self.auth == "xoauth2":
            text += f", XOAUTH2 as {self.mailbox}, {self._token_source()}"
        elif self.auth == "password":
            text += f", password login as {self.username}"
        return text + ")"

    def _token_source(self) -> str:
        o = self.oauth2
        if o is None:
            return "no token"
        if o.provider == "entra":
            how = "certificate" if o.certificate_file else "client secret"
            return f"token from Entra ID tenant {o.tenant_id}, app {o.client_id}, {how}"
        return f"token from {o.token_url}, client {o.client_id}"


def mail_warnings(smtp: SmtpSettings | None) -> list[str]:
    """What is allowed but risky, for ``check-config`` and the daemon's start (one line each)."""
    if smtp is None:
        return []
    out = []
    if smtp.transport == "folder":
        out.append(f"smtp: transport 'folder': mails are written to {smtp.folder} and not sent to anyone")
    if smtp.transport == "smtp" and smtp.security == "none" and smtp.auth != "none":
        out.append(f"smtp: the {'token' if smtp.auth == 'xoauth2' else 'password'} for {smtp.host}:{smtp.port} "
                   "goes over an unencrypted connection (security = 'none', allow_insecure_auth = true): anyone "
                   "on the network path can read it; use security = 'starttls' or 'tls'")
    return out
