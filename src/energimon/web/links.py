"""One-click links in alert mails: signed, single-purpose, expiring tokens (itsdangerous).

A link names one alert and one action (acknowledge, snooze a day, snooze a week) and carries a random
nonce.  It is signed with the web application's key under its own salt, so nothing else signed with
that key (a session cookie) can pass as a link and a link cannot be turned into another action or
alert without breaking the signature.  It expires after ``[web] link_valid_days`` and acts once: the web
package records the nonce when it is used (:meth:`energimon.web.accounts.Accounts.use_link`).

Opening a link only shows a confirmation page (GET); the action happens when the person presses the
button (POST).  Mail scanners that fetch every link in a mail therefore change nothing.

This module imports only itsdangerous and the standard library: the alert mails use it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "energimon.mail-link.v1"

ACTIONS: dict[str, tuple[str, float | None]] = {
    # action: (Danish label in the mail and on the button, snooze hours or None for acknowledge)
    "ack": ("Kvittér", None),
    "snooze1d": ("Udsæt 1 dag", 24.0),
    "snooze7d": ("Udsæt 1 uge", 24.0 * 7),
}


@dataclass(frozen=True)
class LinkClaim:
    alert_id: int
    action: str
    nonce: str
    recipient: str


class LinkError(Exception):
    """Why a link cannot be used: ``reason`` is ``expired`` or ``invalid``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def secret_key(web) -> str:
    """The signing key: ``[web] secret_key`` (or its file), else a random key kept in ``data_dir/secret.key``
    (created on first use, readable by the service user only) — the daemon signing mail links and the web
    server checking them read the same file."""
    if web.secret_key is not None:
        return web.secret_key.get_secret_value()
    path = Path(web.data_dir) / "secret.key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        with open(path, "x", encoding="utf-8", opener=lambda p, f: os.open(p, f, 0o600)) as fh:
            fh.write(key + "\n")
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    return key


def _serializer(key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=SALT)


def make_token(key: str, alert_id: int, action: str, recipient: str = "") -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}; expected one of {', '.join(ACTIONS)}")
    return _serializer(key).dumps({"a": int(alert_id), "x": action, "n": secrets.token_urlsafe(12),
                                   "r": recipient})


def read_token(key: str, token: str, max_age_s: float) -> LinkClaim:
    """The claim of a valid link; :class:`LinkError` ``expired`` or ``invalid`` (tampered, wrong key, garbage)."""
    try:
        # int(): the token's age is whole seconds, so age > max_age_s exactly when age > int(max_age_s)
        data = _serializer(key).loads(token, max_age=int(max_age_s))
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    if not (isinstance(data, dict) and isinstance(data.get("a"), int) and data.get("x") in ACTIONS
            and isinstance(data.get("n"), str)):
        raise LinkError("invalid")
    return LinkClaim(data["a"], data["x"], data["n"], str(data.get("r") or ""))


def mail_links(settings, alert_id: int, recipient: str = "") -> list[tuple[str, str]]:
    """The one-click links for an alert mail as (label, URL), or [] when ``[web] public_url`` is not set."""
    web = getattr(settings, "web", None)
    if web is None or not web.public_url:
        return []
    key = secret_key(web)
    return [(label, f"{web.public_url}/link/{make_token(key, alert_id, action, recipient)}")
            for action, (label, _) in ACTIONS.items()]


def links_for(settings):
    """A function alert id → one-click links for ``settings``, or None without ``[web] public_url``: what the
    application hands to the alert runner (analytics does not import the web layer)."""
    web = getattr(settings, "web", None)
    if web is None or not web.public_url:
        return None
    return lambda alert_id: mail_links(settings, alert_id)
