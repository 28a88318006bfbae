"""Mail servers for the tests, on 127.0.0.1: a real SMTP server (aiosmtpd) and small HTTPS servers in the
shapes of Microsoft Entra ID's token endpoint and Microsoft Graph's ``sendMail``.

* :class:`SmtpServer` — aiosmtpd with STARTTLS / implicit TLS / none and a login: ``password`` (PLAIN,
  LOGIN), ``xoauth2`` (only a bearer token the fake Entra ID issued for Exchange Online, for a mailbox the
  app has permission on; else ``535 5.7.3 Authentication unsuccessful`` as Exchange Online answers), or
  ``exchange`` (XOAUTH2 as above, and a password login answered ``550 5.7.30 Basic authentication is not
  supported for Client Submission``, Exchange Online's answer once SMTP AUTH with passwords is off).
* :class:`FakeEntraId` — the tenant's OpenID configuration and ``/oauth2/v2.0/token`` for the
  client-credentials grant.  Shapes from Microsoft's documentation:
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc (the configuration document),
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow (request with a
  shared secret or a certificate assertion; success ``token_type``, ``expires_in``, ``ext_expires_in``,
  ``access_token``; error ``error``, ``error_description``, ``error_codes``, ``timestamp``, ``trace_id``,
  ``correlation_id``, ``error_uri``), https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
  (AADSTS90002 tenant not found, AADSTS700016 application not found, AADSTS7000215 invalid secret,
  AADSTS700027 assertion signature, AADSTS1002012 scope without /.default).  It can be made to fail:
  ``mode = "invalid_client" | "invalid_scope" | "500" | "slow"``.
* :class:`FakeGraph` — ``POST /v1.0/users/{id}/sendMail`` (https://learn.microsoft.com/en-us/graph/api/user-sendmail:
  202 with an empty body), errors as https://learn.microsoft.com/en-us/graph/errors shows them
  (``{"error": {"code", "message"}}``; 401 InvalidAuthenticationToken, 403 ErrorAccessDenied, 404
  ErrorInvalidUser, 429 with ``Retry-After``, 503).

All servers are threads of the test process, stopped by the test; nothing outside 127.0.0.1.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import json
import secrets
import ssl
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from helpers.net import free_port
from helpers.wait import wait_for

USER, PASSWORD = "energimon", "Hemmeligt-kodeord-æøå-42"
TENANT = "7c2a6b0e-1d55-4f1e-9a4b-2d3f5e6a7b8c"
CLIENT_ID = "3f1b9c55-8e2d-4a7b-b6c1-0d9e8f7a6b5c"
CLIENT_SECRET = "Qx8~hemmelig.klienthemmelighed-æøå"
MAILBOX = "energimon@soroe.dk"
EXCHANGE = "https://outlook.office365.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


# -- SMTP --------------------------------------------------------------------------------------------------------
class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.owner = server
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


class _XOAuth2Handler(_Handler):
    async def auth_XOAUTH2(self, server, args):
        """SASL XOAUTH2: ``user=<mailbox>^Aauth=Bearer <token>^A^A`` (base64), as Exchange Online takes it."""
        blob = args[1] if len(args) > 1 else None
        raw = base64.b64decode(blob) if blob else await server.challenge_auth("")
        if not isinstance(raw, bytes):
            return AuthResult(success=False, handled=False)
        parts = dict(p.split("=", 1) for p in raw.decode("utf-8", "replace").split("\x01") if "=" in p)
        user, bearer = parts.get("user", ""), parts.get("auth", "")
        token = bearer[len("Bearer "):] if bearer.startswith("Bearer ") else ""
        self.owner.logins.append(("XOAUTH2", user, token))
        if self.owner.accept_token(user, token):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False,
                          message="535 5.7.3 Authentication unsuccessful [AM0PR04CA0001.eurprd04.prod.outlook.com]")


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that keeps every message; ``stop()``/``start()`` simulate an outage.

    ``auth``: None (a relay), ``password``, ``xoauth2`` or ``exchange`` (see the module docstring);
    ``accept_token(user, token)`` decides XOAUTH2 (e.g. :meth:`FakeEntraId.smtp_token_check`).
    """

    def __init__(self, pki: dict | Path, security: str = "starttls", auth: str | None = "password",
                 accept_token=None):
        from mqtt_broker import make_tls_files

        self.security, self.auth = security, auth
        self.port = free_port()
        self.accept_token = accept_token or (lambda user, token: False)
        self.logins: list[tuple[str, str, str]] = []
        self.handler = (_XOAuth2Handler if auth in ("xoauth2", "exchange") else _Handler)(self)
        self.tls = None
        if security != "none":
            self.tls = pki if isinstance(pki, dict) else make_tls_files(Path(pki) / "smtp-pki")
        self.controller: Controller | None = None

    @property
    def messages(self):
        return self.handler.messages

    def _password_check(self, server, session, envelope, mechanism, auth_data):
        if self.auth == "exchange":  # Exchange Online once SMTP AUTH with passwords is off
            self.logins.append((mechanism, "", ""))
            return AuthResult(success=False, handled=False,
                              message="550 5.7.30 Basic authentication is not supported for Client Submission.")
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and \
            auth_data.password == PASSWORD.encode()
        self.logins.append((mechanism, auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "", ""))
        # handled=False on failure, or the client waits for ever (aiosmtpd sends no 535 itself otherwise)
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
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
            kw.update(authenticator=self._password_check, auth_required=True,
                      auth_require_tls=self.security == "starttls")
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kw)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings_dict(self, password: str = PASSWORD, **extra) -> dict:
        d = {"host": "127.0.0.1", "port": self.port, "security": self.security, "sender": "energimon@soroe.dk",
             "fallback_recipients": ["energi@soroe.dk"], "timeout_s": 5}
        if self.tls:
            d["ca_file"] = str(self.tls["ca"])
        if self.auth == "password":
            d.update(username=USER, password=password)
            if self.security == "none":
                d["allow_insecure_auth"] = True
        return {**d, **extra}

    def wait(self, n: int, timeout_s: float = 5.0) -> None:
        """Until the server holds at least ``n`` messages (AssertionError after ``timeout_s``)."""
        wait_for(lambda: len(self.messages) >= n, timeout_s, lambda: f"{n} mail(s) at the SMTP server, "
                 f"{len(self.messages)} arrived", 0.02)


# -- HTTPS servers -----------------------------------------------------------------------------------------------
class _HttpsServer:
    """A ThreadingHTTPServer over TLS (the test CA's certificate for 127.0.0.1); ``respond(handler)`` answers."""

    def __init__(self, tls: dict, port: int = 0):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the tests assert on what matters
                pass

            def do_GET(self) -> None:
                outer.respond(self, "GET")

            def do_POST(self) -> None:
                outer.respond(self, "POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)  # port: the same again after a stop
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(tls["cert"], tls["key"])
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None  # a client that timed out is not our error
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.release = threading.Event()  # "slow" answers wait for this (set at stop)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def respond(self, h: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError

    @staticmethod
    def reply(h: BaseHTTPRequestHandler, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        h.send_response(status)
        if body is not None:
            h.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def body(h: BaseHTTPRequestHandler) -> bytes:
        return h.rfile.read(int(h.headers.get("Content-Length") or 0))

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _aad_error(error: str, code: int, text: str) -> dict:
    """Entra ID's error response (v2-oauth2-client-creds-grant-flow, "Error response")."""
    now = dt.datetime.now(dt.UTC)
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    return {"error": error,
            "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\n"
                                 f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code], "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}", "trace_id": trace,
            "correlation_id": corr, "error_uri": f"https://login.microsoftonline.com/error?code={code}"}


class FakeEntraId(_HttpsServer):
    """Entra ID's v2.0 OpenID configuration and token endpoint for one tenant (see the module docstring)."""

    def __init__(self, tls: dict, tenant: str = TENANT, secrets_: dict[str, str] | None = None,
                 certificates: dict[str, Path] | None = None, port: int = 0):
        super().__init__(tls, port)
        self.tenant = tenant
        self.secrets = secrets_ if secrets_ is not None else {CLIENT_ID: CLIENT_SECRET}
        self.certificates = certificates or {}  # client id -> PEM certificate uploaded to the app
        self.mode: str | None = None
        self.expires_in = 3599
        self.token_requests: list[dict] = []  # every token request (form fields, secrets masked)
        self.discovery_requests = 0
        self.issued: dict[str, tuple[str, str, float]] = {}  # token -> (client id, scope, expires at)
        self.mailbox_permissions: dict[str, set[str]] = {CLIENT_ID: {MAILBOX}}  # Add-MailboxPermission

    def authority(self) -> str:
        return self.url

    def token_endpoint(self, tenant: str | None = None) -> str:
        return f"{self.url}/{tenant or self.tenant}/oauth2/v2.0/token"

    def valid(self, token: str, scope: str) -> str | None:
        """The client id the token was issued to, when it is unexpired and for ``scope``."""
        got = self.issued.get(token)
        if got is None or got[1] != scope or got[2] < time.time():
            return None
        return got[0]

    def smtp_token_check(self, user: str, token: str) -> bool:
        """Exchange Online: a token for outlook.office365.com whose app may use ``user``'s mailbox."""
        client = self.valid(token, EXCHANGE)
        return client is not None and user in self.mailbox_permissions.get(client, set())

    def respond(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = urllib.parse.urlsplit(h.path).path
        parts = path.strip("/").split("/")
        tenant = parts[0] if parts else ""
        if method == "GET" and path.endswith("/v2.0/.well-known/openid-configuration"):
            self.discovery_requests += 1
            if tenant != self.tenant:
                return self.reply(h, 400, _aad_error(
                    "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                    "tenant ID and are signing into the correct cloud."))
            base = f"{self.url}/{tenant}"
            return self.reply(h, 200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "jwks_uri": f"{self.url}/{tenant}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
                "request_uri_parameter_supported": False,
                # local, unlike Entra's (graph.microsoft.com): energimon never asks it (the ID token carries the
                # claims), and if it ever did, the test must hit this fake's 404, never the internet
                "userinfo_endpoint": f"{self.url}/oidc/userinfo",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "http_logout_supported": True, "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "tid", "ver", "email"],
                "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net"})
        if method == "POST" and path == f"/{tenant}/oauth2/v2.0/token":
            return self._token(h, tenant)
        return self.reply(h, 404, {"error": "not_found"})

    def _token(self, h: BaseHTTPRequestHandler, tenant: str) -> None:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.body(h).decode()).items()}
        auth = h.headers.get("Authorization", "")
        if auth.startswith("Basic "):  # client_secret_basic
            cid, _, sec = base64.b64decode(auth[6:]).decode().partition(":")
            form.setdefault("client_id", urllib.parse.unquote_plus(cid))
            form.setdefault("client_secret", urllib.parse.unquote_plus(sec))
        self.token_requests.append({k: ("***" if k in ("client_secret", "client_assertion") else v)
                                    for k, v in form.items()})
        if self.mode == "slow":
            self.release.wait(15)
        if self.mode == "500":
            return self.reply(h, 500, {"error": "server_error", "error_description": "AADSTS90033: A transient "
                                       "error has occurred. Please try again.", "error_codes": [90033]})
        if self.mode == "invalid_client":
            return self.reply(h, 401, _aad_error("invalid_client", 7000215, "Invalid client secret provided. "
                              "Ensure the secret being sent in the request is the client secret value, not the "
                              f"client secret ID, for a secret added to app '{form.get('client_id')}'."))
        if self.mode == "invalid_scope":
            return self.reply(h, 400, _aad_error("invalid_scope", 1002012, f"The provided value for scope "
                              f"{form.get('scope')} is not valid. Client credential flows must have a scope value "
                              "with /.default suffixed to the resource identifier (application ID URI)."))
        if tenant != self.tenant:
            return self.reply(h, 400, _aad_error("invalid_request", 90002, f"Tenant '{tenant}' not found."))
        cid = form.get("client_id", "")
        if form.get("grant_type") != "client_credentials":
            return self.reply(h, 400, _aad_error("unsupported_grant_type", 70003, "The app requested an "
                                                 "unsupported grant type."))
        if cid not in self.secrets and cid not in self.certificates:
            return self.reply(h, 400, _aad_error(
                "unauthorized_client", 700016, f"Application with identifier '{cid}' was not found in the "
                f"directory '{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant."))
        if "client_assertion" in form:
            problem = self._check_assertion(form, cid, tenant)
            if problem:
                return self.reply(h, 401, _aad_error("invalid_client", 700027, problem))
        elif form.get("client_secret") != self.secrets.get(cid):
            return self.reply(h, 401, _aad_error("invalid_client", 7000215, "Invalid client secret provided. "
                                                 "Ensure the secret being sent in the request is the client secret "
                                                 "value, not the client secret ID."))
        scope = form.get("scope", "")
        if not scope.endswith("/.default") or " " in scope:
            return self.reply(h, 400, _aad_error("invalid_scope", 1002012, f"The provided value for scope {scope} "
                                                 "is not valid. Client credential flows must have a scope value "
                                                 "with /.default suffixed to the resource identifier."))
        token = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(32)
        self.issued[token] = (cid, scope, time.time() + self.expires_in)
        self.reply(h, 200, {"token_type": "Bearer", "expires_in": self.expires_in,
                            "ext_expires_in": self.expires_in, "access_token": token})

    def _check_assertion(self, form: dict, cid: str, tenant: str) -> str | None:
        """A certificate credential: a JWT signed with the key of the uploaded certificate, for this token
        endpoint, issued by and about the client (certificate-credentials doc: aud, iss, sub, x5t#S256)."""
        import jwt
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        pem = self.certificates.get(cid)
        if pem is None:
            return "Client assertion contains an invalid signature: no certificate is registered for the app."
        cert = x509.load_pem_x509_certificate(Path(pem).read_bytes())
        header = jwt.get_unverified_header(form["client_assertion"])
        thumb = base64.urlsafe_b64encode(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest()).decode().rstrip("=")
        if str(header.get("x5t#S256", "")).rstrip("=") != thumb:  # base64url, padded or not
            return "Client assertion contains an invalid signature. [Reason - The key was not found.]"
        try:
            claims = jwt.decode(form["client_assertion"], cert.public_key(), algorithms=["PS256", "RS256"],
                                audience=self.token_endpoint(tenant), issuer=cid)
        except jwt.PyJWTError as exc:
            return f"Client assertion failed signature validation. ({type(exc).__name__})"
        if claims.get("sub") != cid:
            return "Client assertion subject does not match the client id."
        return None


class FakeGraph(_HttpsServer):
    """Microsoft Graph's ``POST /v1.0/users/{id}/sendMail`` (see the module docstring)."""

    def __init__(self, tls: dict, entra: FakeEntraId, mailboxes: set[str] | None = None):
        super().__init__(tls)
        self.entra = entra
        self.mailboxes = mailboxes or {MAILBOX}
        self.allowed = {CLIENT_ID: set(self.mailboxes)}  # Mail.Send consented (application access policy)
        self.mode: str | None = None  # "401" | "403" | "429" | "503"
        self.retry_after = "120"
        self.requests: list[tuple[str, dict]] = []  # (mailbox, body) of every accepted sendMail
        self.attempts = 0

    def respond(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(h.path).path)
        body = self.body(h)
        if method != "POST" or not path.startswith("/v1.0/users/") or not path.endswith("/sendMail"):
            return self.reply(h, 404, {"error": {"code": "BadRequest", "message": "Resource not found"}})
        self.attempts += 1
        mailbox = path[len("/v1.0/users/"):-len("/sendMail")]
        auth = h.headers.get("Authorization", "")
        client = self.entra.valid(auth[7:], GRAPH) if auth.startswith("Bearer ") else None
        if self.mode == "401" or client is None:
            return self.reply(h, 401, {"error": {"code": "InvalidAuthenticationToken",
                                                 "message": "Access token validation failure. Invalid audience."}})
        if self.mode == "429":
            return self.reply(h, 429, {"error": {"code": "TooManyRequests", "message": "Too many requests."}},
                              {"Retry-After": self.retry_after})
        if self.mode == "503":
            return self.reply(h, 503, {"error": {"code": "ServiceUnavailable", "message": "Service unavailable."}},
                              {"Retry-After": "5"})
        if mailbox not in self.mailboxes:
            return self.reply(h, 404, {"error": {"code": "ErrorInvalidUser",
                                                 "message": f"The requested user '{mailbox}' is invalid."}})
        if self.mode == "403" or mailbox not in self.allowed.get(client, set()):
            return self.reply(h, 403, {"error": {"code": "ErrorAccessDenied",
                                                 "message": "Access is denied. Check credentials and try again."}})
        self.requests.append((mailbox, json.loads(body)))
        self.reply(h, 202)
