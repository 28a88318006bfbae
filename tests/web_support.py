"""Support for the web tests: the app on a real uvicorn server on loopback, a site with demo-like data,
alerts mailed through a real aiosmtpd, and a local OpenID Connect provider in Microsoft Entra ID's shapes."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import free_port

from energimon.model import Reading

TZ = "Europe/Copenhagen"
PASSWORD = "korrekt hest batteri"
ALERT_SITE = "pedersborg-skole"
ESCO_SITE = "dianalund-bibliotek"
# Strings that exist in the configuration and the internal pages but must never reach the public barometer.
INTERNAL = ("Rådhusvej 8", "hovedmaaler", "inverter", "drift.pedersborg@soroe.dk", "Højt natforbrug",
            "Pedersborg Skole", "pedersborg-skole", "Skolevej 1")


class WebServer:
    """The ASGI app served by uvicorn (energimon.web.server) in a thread, on a free loopback port."""

    def __init__(self, app, web, port: int | None = None):
        self.app, self.web = app, web
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="web-test-server", daemon=True)

    @property
    def url(self) -> str:
        """Where a reverse proxy sends requests: it strips the public prefix (``root_path``) first."""
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        from energimon.web.server import serve_embedded

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve_embedded(self.app, self.web, self._stop, port=self.port,
                                 started=lambda server: self._started.set())

        asyncio.run(main())

    def start(self) -> WebServer:
        self._thread.start()
        assert self._started.wait(30), "the web server did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


# -- data -------------------------------------------------------------------------------------------------
def night_fault_readings(site: str, device: str, start: str, end: pd.Timestamp, fault_from: pd.Timestamp
                         ) -> list[Reading]:
    """Hourly counter readings: 10 kW base, 50 kW on weekdays 07:30-16:00, +6 kW from 22 to 06 after
    ``fault_from`` (ventilation left on at night) — the night-load rule's textbook case."""
    idx = pd.date_range(pd.Timestamp(start, tz=TZ), end, freq="1h", inclusive="left")
    hour = idx.hour + idx.minute / 60
    is_open = (idx.day_of_week < 5) & (hour >= 7.5) & (hour < 16)
    kw = np.where(is_open, 50.0, 10.0)
    night = (idx >= fault_from) & ((idx.hour >= 22) | (idx.hour < 6))
    kw = kw + np.where(night, 6.0, 0.0)
    counter = 2_000_000.0 + np.concatenate(([0.0], np.cumsum(kw * 1000)))
    times = [*idx, idx[-1] + pd.Timedelta(hours=1)]
    out = [Reading(site, device, "energy_import_wh", "grid", int(t.timestamp() * 1000), float(v))
           for t, v in zip(times, counter, strict=True)]
    out += [Reading(site, device, "device_online", "grid", int(t.timestamp() * 1000), 1.0) for t in times[-3:]]
    return out


def write_site_data(store_path: Path) -> None:
    """The demo's three Sorø buildings (60 days of 5-minute counters up to now, as `energimon demo
    --history-days 60` writes them), a school with a night fault, and ESCO data for the library (hourly
    counters and temperature 2025-01 … 2026-04 with a known saving)."""
    from energimon.app.demo import write_history
    from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
    from energimon.store.sqlite import SqliteStore

    store = SqliteStore(store_path)
    b = SyntheticBuilding(ESCO_SITE, 120, 8, 15.0, 0.04 * 120, 10)
    readings, _ = synthetic_readings(b, dt.date(2025, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=3)
    assert store.write(readings) == []
    assert store.write(night_fault_readings(ALERT_SITE, "hovedmaaler", "2026-10-01",
                                            pd.Timestamp("2027-01-07 11:00", tz=TZ),
                                            pd.Timestamp("2027-01-05 22:00", tz=TZ))) == []
    store.close()
    write_history(store_path, 60)


def settings_dict(tmp: Path, smtp_settings: dict, public_url: str, oidc: dict | None = None) -> dict:
    sites = {
        "soro-raadhus": {"name": "Sorø Rådhus", "address": "Rådhusvej 8, 4180 Sorø", "latitude": 55.4318,
                         "longitude": 11.5560, "floor_area_m2": 4800},
        "stenlille-hallen": {"name": "Stenlille hallen", "address": "4295 Stenlille", "latitude": 55.539,
                             "longitude": 11.595, "facility_managers": ["drift.stenlille@soroe.dk"]},
        ESCO_SITE: {"name": "Dianalund Bibliotek", "address": "4293 Dianalund", "latitude": 55.533,
                    "longitude": 11.493},
        ALERT_SITE: {"name": "Pedersborg Skole", "address": "Skolevej 1, 4180 Sorø", "latitude": 55.44,
                     "longitude": 11.56, "floor_area_m2": 3000, "facility_managers": ["drift.pedersborg@soroe.dk"]},
    }
    web = {"data_dir": str(tmp / "web"), "public_url": public_url, "listen": "127.0.0.1:8080",
           "barometer": {"municipality": "Sorø Kommune", "baseline_year": 2019, "baseline_t_co2": 60.0,
                         "baseline_source": "Sorø Kommunes klimaplan (testværdi)",
                         "sites": {"soro-raadhus": {"name": "Sorø Rådhus", "energy_mark": "C"},
                                   "stenlille-hallen": {"name": "Stenlille hallen"},
                                   ESCO_SITE: {"name": "Dianalund Bibliotek"}},
                         "co2": [{"carrier": "electricity", "year": 2025, "kg_per_kwh": 0.12,
                                  "source": "testværdi"}]}}
    if oidc:
        web["oidc"] = oidc
    return {
        "sites": sites,
        "store": {"path": str(tmp / "store.db")},
        "smtp": smtp_settings,
        "alerts": {"state_path": str(tmp / "alerts.db"), "price_dkk_per_kwh": 2.5, "pending_min": 60,
                   "reminder_h": 72,
                   "sites": {ALERT_SITE: {"opening_hours": {d: "07:30-16:00"
                                                            for d in ("mon", "tue", "wed", "thu", "fri")}}}},
        "esco": {"contract": "Sorø Kommune ESCO-kontrakt 2025", "esco": "Eksempel ESCO A/S",
                 "baseline_start": "2025-01-01", "baseline_end": "2026-01-01", "measure_date": "2026-01-01",
                 "price_dkk_per_kwh": 2.15, "temperature": f"{ESCO_SITE}/vejr/outdoor_temp_c",
                 "reports_dir": str(tmp / "rapporter"),
                 "normal_year": {"total": 2906, "source": "DTI normalår, 2906 graddage"},
                 "sites": {ESCO_SITE: {"energy": "hovedmaaler/energy_import_wh"}}},
        "web": web,
    }


def raise_night_alert(settings) -> None:
    """Evaluate the school's rules at simulated times until the night fault fires and its mail is sent —
    the daemon's own AlertRunner (rules, lifecycle, mail with one-click links, outbox, SMTP)."""
    from energimon.analytics.alerting.jobs import AlertRunner
    from energimon.store.sqlite import SqliteStore
    from energimon.web.links import links_for

    only = settings.model_copy(update={"sites": {ALERT_SITE: settings.sites[ALERT_SITE]}})
    runner = AlertRunner(only, lambda: SqliteStore(settings.store.path, readonly=True), links=links_for(only))
    try:
        t = pd.Timestamp("2027-01-07 08:05", tz=TZ)
        for _ in range(6):
            runner.run_rules(t.to_pydatetime())
            runner.run_outbox(t.to_pydatetime())
            t += pd.Timedelta(minutes=15)
    finally:
        runner.close()


# -- a local OpenID Connect provider in Microsoft Entra ID's shapes ---------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeEntraOidc:
    """A Microsoft Entra ID tenant's OpenID Connect endpoints on 127.0.0.1, in the shapes Microsoft documents:

    * discovery document ``/{tenant}/v2.0/.well-known/openid-configuration`` (issuer, authorization_endpoint,
      token_endpoint, jwks_uri …) — "OpenID Connect on the Microsoft identity platform",
      https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc ;
    * ``/authorize``: the user signs in (here: at once, as ``self.next_user``) and is sent back to the
      redirect URI with ``code`` and ``state``;
    * ``/token``: the authorization code exchanged for ``token_type``, ``scope``, ``expires_in``,
      ``access_token`` and ``id_token`` — "Microsoft identity platform and OAuth 2.0 authorization code flow",
      https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow ; a wrong client
      secret gets 401 ``invalid_client`` (AADSTS7000215), a used or unknown code 400 ``invalid_grant``
      (AADSTS70008/54005), with ``error_codes`` — "Microsoft Entra authentication and authorization error
      codes", https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes ;
    * ``/discovery/v2.0/keys``: the JWKS; the ID token is RS256-signed with ``kid``, and carries ``aud``,
      ``iss``, ``iat``, ``nbf``, ``exp``, ``nonce``, ``sub``, ``oid``, ``tid``, ``name``,
      ``preferred_username``, ``ver`` 2.0 and the ``roles`` (app roles) and ``groups`` claims — "ID token
      claims reference", https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference .
    """

    def __init__(self, client_id: str, client_secret: str):
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.client_id, self.client_secret = client_id, client_secret
        self.tenant = "72f988bf-0000-4000-8000-2d7cd011db47"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.codes: dict[str, dict] = {}
        self.next_user = {"name": "Eva Energi", "preferred_username": "eva@soroe.dk", "roles": ["Energi.Team"]}
        self.token_requests = 0
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base}/{self.tenant}/v2.0"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def discovery(self) -> dict:
        return {
            "token_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self.base}/{self.tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": self.issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.base}/oidc/userinfo",
            "authorization_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/authorize",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{self.base}/{self.tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "email", "oid", "roles", "groups"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def jwks(self) -> dict:
        nums = self.key.public_key().public_numbers()
        n = nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")
        e = nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")
        return {"keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": _b64(n), "e": _b64(e),
                          "issuer": self.issuer}]}

    def id_token(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        sig = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing}.{_b64(sig)}"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, error: str, code: int, text: str) -> None:
                self._json(status, {"error": error, "error_description": f"AADSTS{code}: {text}\r\nTrace ID: "
                                    f"{secrets.token_hex(8)}", "error_codes": [code],
                                    "timestamp": dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")})

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == f"/{fake.tenant}/v2.0/.well-known/openid-configuration":
                    self._json(200, fake.discovery())
                elif url.path == f"/{fake.tenant}/discovery/v2.0/keys":
                    self._json(200, fake.jwks())
                elif url.path == f"/{fake.tenant}/oauth2/v2.0/authorize":
                    if q.get("client_id") != fake.client_id or q.get("response_type") != "code":
                        self._error(400, "unauthorized_client", 700016, "Application not found in the directory")
                        return
                    code = secrets.token_urlsafe(24)
                    fake.codes[code] = {"nonce": q.get("nonce"), "redirect_uri": q["redirect_uri"],
                                        "user": dict(fake.next_user)}
                    target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"],
                                                                               "session_state": "x"})
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = dict(urllib.parse.parse_qsl(body))
                if url.path != f"/{fake.tenant}/oauth2/v2.0/token":
                    self._json(404, {"error": "not_found"})
                    return
                fake.token_requests += 1
                cid, secret = form.get("client_id"), form.get("client_secret")
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
                if cid != fake.client_id or secret != fake.client_secret:
                    self._error(401, "invalid_client", 7000215, "Invalid client secret provided.")
                    return
                grant = fake.codes.pop(form.get("code", ""), None)
                if form.get("grant_type") != "authorization_code" or grant is None:
                    self._error(400, "invalid_grant", 70008, "The provided authorization code or refresh token "
                                "has expired due to inactivity.")
                    return
                if grant["redirect_uri"] != form.get("redirect_uri"):
                    self._error(400, "invalid_grant", 50011, "The redirect URI specified in the request does not "
                                "match the redirect URIs configured for the application.")
                    return
                now = int(time.time())
                claims = {"aud": fake.client_id, "iss": fake.issuer, "iat": now, "nbf": now, "exp": now + 3600,
                          "nonce": grant["nonce"], "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
                          "oid": "00000000-0000-0000-66f3-3332eca7ea81", "tid": fake.tenant, "ver": "2.0",
                          "uti": secrets.token_hex(8), **grant["user"]}
                self._json(200, {"token_type": "Bearer", "scope": "openid profile email", "expires_in": 3599,
                                 "ext_expires_in": 3599, "access_token": secrets.token_urlsafe(32),
                                 "id_token": fake.id_token(claims)})

        return Handler
