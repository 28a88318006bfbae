"""``[web]``: the web application, its accounts, Entra ID login and the public CO₂ barometer.

Owned by the web package (the configuration only assembles it).  Secrets are :class:`~pydantic.SecretStr`
and can come from a file (``*_file``, relative to the config file) or the environment
(``ENERGIMON_WEB__SECRET_KEY``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from energimon.carriers import Co2Factor
from energimon.validators import parse_listen


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class Role(StrEnum):
    ENERGI = "energi"  # the energy team: every building, reports, all alerts
    DRIFT = "driftsansvarlig"  # a facility manager: the buildings in their scope only


def _read_secret(path: Path, key: str) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None



class RoleRule(_Strict):
    """One Entra ID group or app role (a value of the ``roles`` or ``groups`` claim) → an energimon role."""

    role: Role
    sites: list[str] = Field(default_factory=list, description="for driftsansvarlig: the buildings they see")


class OidcSettings(_Strict):
    """``[web.oidc]``: OpenID Connect login, e.g. the municipality's Microsoft Entra ID (authorization code flow).

    ``metadata_url`` for Entra ID: ``https://login.microsoftonline.com/<tenant id>/v2.0/.well-known/openid-
    configuration``.  Roles come from the ID token's ``roles`` (app roles) or ``groups`` (group object ids)
    claim, mapped by ``roles``; a user whose claims map to no role is refused.
    """

    metadata_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    client_secret_file: Path | None = None
    scope: str = "openid profile email"
    role_claim: Literal["roles", "groups"] = "roles"
    roles: dict[str, RoleRule] = Field(min_length=1, description="claim value → role (and sites)")
    label: str = Field(default="Log ind med Microsoft", min_length=1)

    @field_validator("metadata_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"{value!r}: an identity provider must be reached over https")
        return value

    @model_validator(mode="after")
    def _secret(self) -> OidcSettings:
        if self.client_secret_file is not None:
            if self.client_secret is not None:
                raise ValueError("give 'client_secret' or 'client_secret_file', not both")
            self.client_secret = _read_secret(self.client_secret_file, "client_secret_file")
        if self.client_secret is None:
            raise ValueError("client_secret or client_secret_file is required (the app registration's secret)")
        return self


class PublicSite(_Strict):
    """A building shown on the public barometer, under the name given here (nothing else about it is shown)."""

    name: str = Field(min_length=1, description="the public name, e.g. 'Sorø Rådhus'")
    energy_mark: str | None = Field(default=None, description="the building's energy label (energimærke), e.g. 'C'; "
                                    "shown only when given")

    @field_validator("energy_mark")
    @classmethod
    def _mark(cls, value: str | None) -> str | None:
        if value is not None and value not in {"A2020", "A2015", "A2010", "B", "C", "D", "E", "F", "G"}:
            raise ValueError(f"{value!r} is not a Danish energy label (A2020, A2015, A2010, B, C, D, E, F, G)")
        return value


class BarometerSettings(_Strict):
    """``[web.barometer]``: the public CO₂ barometer (no login) — only what is listed here is public."""

    enabled: bool = True
    municipality: str = Field(default="Kommunen", min_length=1, description="e.g. 'Sorø Kommune'")
    sites: dict[str, PublicSite] = Field(default_factory=dict, description="site id → public name (and label); "
                                         "their consumption and PV make up the barometer")
    baseline_year: int = Field(ge=1990, le=2100)
    baseline_t_co2: float | None = Field(default=None, gt=0, description="the baseline year's CO₂ in tonnes (from "
                                         "the climate plan); default: computed from the stored data of that year")
    baseline_source: str = Field(default="", description="where baseline_t_co2 comes from, shown on the page")
    target_year: int = Field(default=2030, ge=2000, le=2100)
    target_reduction_pct: float = Field(default=70.0, gt=0, le=100)
    co2: list[Co2Factor] = Field(default_factory=list, description="kg CO₂/kWh (natural gas: kg/m³) per carrier "
                                        "and year (a carrier not listed here: the [esco] co2 factors)")
    co2_intensity: str | None = Field(default=None, description="site/device/co2_g_per_kwh: count electricity hour "
                                      "by hour with the grid's CO2 intensity (default: [esco] co2_intensity)")
    household_kwh_per_year: float = Field(default=4000.0, gt=0, description="one household's electricity per year, "
                                          "for 'svarer til X husstandes årsforbrug'")
    household_source: str = Field(default="en gennemsnitlig dansk husstand bruger ca. 4.000 kWh el om året "
                                  "(elportalen.dk 2024, efter Energistyrelsen: 3.500-4.000 kWh)", min_length=1)
    cache_s: int = Field(default=300, ge=0, le=86_400, description="how long the page and its data are cached")

    @field_validator("co2_intensity")
    @classmethod
    def _intensity(cls, value: str | None) -> str | None:
        if value is not None and (len(value.split("/")) != 3 or not value.endswith("/co2_g_per_kwh")):
            raise ValueError(f"must be 'site/device/co2_g_per_kwh', got {value!r}")
        return value

    @model_validator(mode="after")
    def _years(self) -> BarometerSettings:
        if self.target_year <= self.baseline_year:
            raise ValueError(f"target_year {self.target_year} must be after baseline_year {self.baseline_year}")
        if self.baseline_t_co2 is not None and not self.baseline_source:
            raise ValueError("baseline_source is required with baseline_t_co2 (it is printed on the page)")
        return self

    def co2_factor(self, carrier: str, year: int) -> Co2Factor | None:
        cands = [c for c in self.co2 if c.carrier == carrier and c.year <= year]
        return max(cands, key=lambda c: c.year) if cands else None


class WebSettings(_Strict):
    """``[web]``: the web application (``energimon web``, or inside ``energimon run`` with ``enabled = true``)."""

    enabled: bool = False
    listen: str = Field(default="127.0.0.1:8080", description="host:port; behind the municipality's reverse proxy")
    root_path: str = Field(default="", description="the path prefix the proxy serves the app under, e.g. '/energi'")
    public_url: str | None = Field(default=None, description="the app's address as users reach it, e.g. "
                                   "'https://energi.soroe.dk'; needed for the one-click links in alert mails")
    forwarded_allow_ips: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"],
                                           description="proxies whose X-Forwarded-For/-Proto are trusted")
    data_dir: Path = Field(default=Path("/var/lib/energimon/web"), description="users.db and the signing key")
    secret_key: SecretStr | None = Field(default=None, description="signs sessions and mail links (default: a random "
                                         "key created in data_dir/secret.key)")
    secret_key_file: Path | None = None
    session_hours: float = Field(default=10.0, gt=0, le=24 * 30)
    link_valid_days: float = Field(default=7.0, gt=0, le=60, description="how long a mail's one-click link works")
    login_attempts: int = Field(default=5, ge=1, le=100, description="failed logins per user and address before a "
                                "15-minute pause")
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto", description="Secure cookie flag; auto: when public_url is https")
    oidc: OidcSettings | None = None
    barometer: BarometerSettings | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value, 8080)
        return value

    @field_validator("root_path")
    @classmethod
    def _root(cls, value: str) -> str:
        value = value.rstrip("/")
        if value and not value.startswith("/"):
            raise ValueError(f"{value!r} must start with '/' (e.g. '/energi')")
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL like 'https://energi.soroe.dk'")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _secret(self) -> WebSettings:
        if self.secret_key_file is not None:
            if self.secret_key is not None:
                raise ValueError("give 'secret_key' or 'secret_key_file', not both")
            self.secret_key = _read_secret(self.secret_key_file, "secret_key_file")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("secret_key must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return self

    @property
    def host(self) -> str:
        return parse_listen(self.listen, 8080)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen, 8080)[1]

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure == "auto":
            return bool(self.public_url and self.public_url.startswith("https://"))
        return self.cookie_secure == "always"


def cross_check_web(web: WebSettings | None, sites: set[str]) -> list[tuple[str, str]]:
    """Problems spanning keys: unknown sites in the barometer and the Entra ID role map."""
    if web is None:
        return []
    known = ", ".join(sorted(sites)) or "none"
    problems: list[tuple[str, str]] = []
    if web.barometer is not None:
        for sid in web.barometer.sites:
            if sid not in sites:
                problems.append((f"web.barometer.sites.{sid}", f"unknown site {sid!r}; known sites: {known}"))
    if web.oidc is not None:
        for claim, rule in web.oidc.roles.items():
            for sid in rule.sites:
                if sid not in sites:
                    problems.append((f"web.oidc.roles.{claim}.sites",
                                     f"unknown site {sid!r}; known sites: {known}"))
            if rule.role is Role.DRIFT and not rule.sites:
                problems.append((f"web.oidc.roles.{claim}.sites",
                                 "a driftsansvarlig needs the buildings they look after (sites = [...])"))
    return problems
