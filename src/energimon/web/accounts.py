"""The web package's own state (SQLite, WAL, ``[web] data_dir/users.db``): local users, the audit log
(acknowledgements, snoozes and comments: who, when, what) and the one-click links already used.

Passwords are stored as Argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended option);
a hash made with older parameters is replaced at the next successful login.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from energimon.cliutil import t
from energimon.web.settings import Role

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT,              -- NULL: no local password (an Entra ID user seen at login)
    role TEXT NOT NULL,              -- energi | driftsansvarlig
    sites TEXT NOT NULL DEFAULT '[]',  -- JSON list: the buildings a driftsansvarlig sees
    name TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    last_login REAL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,                -- Unix seconds (UTC)
    who TEXT NOT NULL,               -- username, or 'mail:<address>' for a one-click link
    action TEXT NOT NULL,            -- ack | snooze | comment | report | login | login_failed
    alert_id INTEGER,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_alert ON audit(alert_id, at);
CREATE TABLE IF NOT EXISTS used_links (
    nonce TEXT PRIMARY KEY,
    used_at REAL NOT NULL,
    action TEXT NOT NULL
);
"""

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so the answer takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    sites: tuple[str, ...] = ()
    name: str = ""
    disabled: bool = False
    has_password: bool = True
    via: str = "local"  # local | oidc

    def can_see(self, site: str) -> bool:
        return self.role is Role.ENERGI or site in self.sites


@dataclass(frozen=True)
class AuditEntry:
    at: dt.datetime
    who: str
    action: str
    alert_id: int | None
    detail: str
    extra: dict = field(default_factory=dict)


class AccountError(ValueError):
    """A user command that cannot be done (unknown user, bad role …), said plainly."""


class Accounts:
    """``users.db``: thread-safe (one lock around each write)."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "users.db"
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.path.chmod(0o600)

    def close(self) -> None:
        self.conn.close()

    # -- users ----------------------------------------------------------------------------
    def add(self, username: str, password: str | None, role: Role | str, sites: Sequence[str] = (),
            name: str = "") -> User:
        role = Role(role)
        _check_username(username)
        if role is Role.DRIFT and not sites:
            raise AccountError(t("en driftsansvarlig skal have mindst én bygning (--site SITE)",
                                 "a driftsansvarlig needs at least one building (--site SITE)"))
        if password is not None:
            _check_password(password)
        with self.lock:
            try:
                self.conn.execute(
                    "INSERT INTO users(username, password_hash, role, sites, name, created) VALUES (?,?,?,?,?,?)",
                    (username, _hasher.hash(password) if password is not None else None, role.value,
                     json.dumps(sorted(set(sites))), name, _now()))
            except sqlite3.IntegrityError:
                raise AccountError(t(f"brugeren {username!r} findes allerede (ret den med 'energimon users passwd')",
                                     f"user {username!r} exists already (change it with 'energimon users passwd')")
                                   ) from None
        user = self.get(username)
        if user is None:  # inserted just above: only a concurrent delete gets here
            raise AccountError(t(f"brugeren {username!r} blev slettet, mens den blev oprettet",
                                 f"user {username!r} was deleted while being added"))
        return user

    def set_password(self, username: str, password: str) -> None:
        _check_password(password)
        with self.lock:
            n = self.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                  (_hasher.hash(password), username)).rowcount
        if not n:
            raise AccountError(t(f"ingen bruger {username!r}", f"no user {username!r}"))

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self.lock:
            n = self.conn.execute("UPDATE users SET disabled = ? WHERE username = ?",
                                  (int(disabled), username)).rowcount
        if not n:
            raise AccountError(t(f"ingen bruger {username!r}", f"no user {username!r}"))

    def get(self, username: str) -> User | None:
        row = self.conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        return [_user(r) for r in self.conn.execute("SELECT * FROM users ORDER BY username")]

    def authenticate(self, username: str, password: str) -> User | None:
        """The user when the password is right and the account is enabled; None otherwise (same time either way)."""
        row = self.conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        stored = row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row["password_hash"] or row["disabled"]:
            return None
        with self.lock:
            if _hasher.check_needs_rehash(stored):
                self.conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                                  (_hasher.hash(password), username))
            self.conn.execute("UPDATE users SET last_login = ? WHERE username = ?", (_now(), username))
        return _user(row)

    # -- audit log ------------------------------------------------------------------------
    def audit(self, who: str, action: str, alert_id: int | None = None, detail: str = "") -> None:
        with self.lock:
            self.conn.execute("INSERT INTO audit(at, who, action, alert_id, detail) VALUES (?,?,?,?,?)",
                              (_now(), who, action, alert_id, detail))

    def audit_entries(self, alert_id: int | None = None, limit: int = 200,
                      actions: tuple[str, ...] | None = None) -> list[AuditEntry]:
        q = "SELECT * FROM audit WHERE 1=1"
        args: list[int | str] = []
        if alert_id is not None:
            q += " AND alert_id = ?"
            args.append(alert_id)
        if actions:
            q += f" AND action IN ({','.join('?' * len(actions))})"
            args += list(actions)
        q += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [AuditEntry(dt.datetime.fromtimestamp(r["at"], tz=dt.UTC), r["who"], r["action"], r["alert_id"],
                           r["detail"]) for r in self.conn.execute(q, args)]

    # -- one-click links ------------------------------------------------------------------
    def use_link(self, nonce: str, action: str) -> bool:
        """Mark a link used; False when it was used before (each link acts once)."""
        with self.lock:
            try:
                self.conn.execute("INSERT INTO used_links(nonce, used_at, action) VALUES (?,?,?)",
                                  (nonce, _now(), action))
            except sqlite3.IntegrityError:
                return False
        return True

    def link_used(self, nonce: str) -> dt.datetime | None:
        row = self.conn.execute("SELECT used_at FROM used_links WHERE nonce = ?", (nonce,)).fetchone()
        return None if row is None else dt.datetime.fromtimestamp(row["used_at"], tz=dt.UTC)


def _now() -> float:
    return dt.datetime.now(tz=dt.UTC).timestamp()


def _user(row: sqlite3.Row) -> User:
    return User(row["username"], Role(row["role"]), tuple(json.loads(row["sites"])), row["name"],
                bool(row["disabled"]), row["password_hash"] is not None)


def _check_username(username: str) -> None:
    if not username or len(username) > 120 or any(c.isspace() or ord(c) < 32 for c in username):
        raise AccountError(t(f"{username!r} er ikke et brugernavn (1-120 tegn, ingen mellemrum; fx en e-mailadresse)",
                             f"{username!r} is not a user name (1-120 characters, no spaces; e.g. an e-mail address)"))


def _check_password(password: str) -> None:
    # NIST SP 800-63B §5.1.1.2: at least 8 characters, no composition rules; long passphrases allowed.
    if len(password) < 10:
        raise AccountError(t("adgangskoden skal være mindst 10 tegn (en sætning på nogle få ord er fint)",
                             "the password must be at least 10 characters (a passphrase of a few words is fine)"))
    if len(password) > 1024:
        raise AccountError(t("adgangskoden er længere end 1024 tegn", "the password is longer than 1024 characters"))
