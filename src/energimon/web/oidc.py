"""OpenID Connect login (authorization code flow) with Authlib — e.g. against Microsoft Entra ID.

Authlib reads the provider's discovery document (``metadata_url``), redirects to its authorization
endpoint with ``state`` and ``nonce`` (kept in the session), exchanges the code at the token endpoint and
validates the ID token's signature (the provider's JWKS), issuer, audience, expiry and nonce.  energimon
then maps the token's ``roles`` (app roles) or ``groups`` claim to its roles (:func:`user_from_claims`).
"""

from __future__ import annotations

from authlib.integrations.starlette_client import OAuth

from energimon.web.accounts import User
from energimon.web.settings import OidcSettings, Role


def make_oauth(cfg: OidcSettings) -> OAuth:
    oauth = OAuth()
    oauth.register("entra", server_metadata_url=cfg.metadata_url, client_id=cfg.client_id,
                   client_secret=cfg.client_secret.get_secret_value() if cfg.client_secret else None,
                   client_kwargs={"scope": cfg.scope, "timeout": 10})
    return oauth


def user_from_claims(cfg: OidcSettings, claims: dict) -> User | None:
    """The energimon user of validated ID-token claims, or None when no claim value maps to a role.

    Any value mapping to ``energi`` gives the energy team's role; else the ``driftsansvarlig`` values give
    a facility manager with the union of their buildings.
    """
    values = claims.get(cfg.role_claim) or []
    if isinstance(values, str):
        values = [values]
    rules = [cfg.roles[v] for v in values if isinstance(v, str) and v in cfg.roles]
    if not rules:
        return None
    name = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "")
    display = str(claims.get("name") or name)
    if any(r.role is Role.ENERGI for r in rules):
        return User(name, Role.ENERGI, (), display, via="oidc")
    sites = sorted({s for r in rules for s in r.sites})
    return User(name, Role.DRIFT, tuple(sites), display, via="oidc")
