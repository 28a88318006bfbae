"""Small security checks: secrets in files every local user can read, and credentials in URLs.

The configuration may hold secrets (``smtp.password``, ``store.influxdb.token`` …) or name files that
do (``password_file``, ``token_file``, a TLS ``key_file``).  On a shared municipal server such a file
must not be readable by every user: :func:`secret_file_warnings` names each offending file and the
fix; ``energimon check-config`` prints the warnings and ``energimon run`` logs them.  They are
warnings, not errors: the daemon still starts (a monitoring gap is worse than a warning in the log).

Credentials in a URL (``http://user:password@influx:8086``) are refused when the configuration is
loaded (:func:`energimon.validators.url_credential_problems`): the password or token has its
own setting, which is a ``SecretStr``, can come from a file or the environment and is never printed.
A URL is printed in many places (``check-config``, ``status``, the start line, every store error, the
job-run log), so refusing it once is safer than redacting it everywhere.  :func:`redact_url_credentials`
is the one helper for what we print anyway: the refusal itself, stored error texts (``jobs.db``) and
the daemon's log lines (:class:`RedactUrlCredentials`), in case a URL with credentials reaches them from
elsewhere (a server's redirect, an exception text).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("energimon.security")

# Keys whose value is a secret, and keys whose value names a file holding one.
SECRET_KEYS = ("password", "token", "secret", "api_key")
SECRET_FILE_KEYS = ("password_file", "token_file", "secret_file", "key_file", "certificate_file")
_SECRET_LINE = re.compile(r"^\s*[\w.\"'-]*(password|token|secret|api_key)[\"']?\s*=\s*[\"']", re.IGNORECASE)


# scheme://userinfo@ — greedy up to the last '@' before a space or quote, so a password with an
# unencoded '@' or '/' is hidden whole (a path with an '@' is hidden too: the safe side).
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^\s'\"<>]*@")


def url_has_credentials(text: str) -> bool:
    """True when ``text`` holds a URL with a user name or password (``scheme://user[:password]@…``)."""
    return "://" in text and _URL_USERINFO.search(text) is not None


def redact_url_credentials(text: str) -> str:
    """``http://user:pw@host`` → ``http://***@host`` wherever a URL appears in ``text``."""
    return _URL_USERINFO.sub(r"\1***@", text) if "://" in text else text


class RedactUrlCredentials(logging.Filter):
    """A handler filter: credentials in URLs are hidden in the message and in a traceback's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        if "://" in message:
            record.msg, record.args = redact_url_credentials(message), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            if "://" in text:  # the traceback goes into the message, redacted (no formatter sees the original)
                record.msg = f"{redact_url_credentials(message)}\n{redact_url_credentials(text)}"
                record.args, record.exc_info, record.exc_text = None, None, None
        return True


def install_log_redaction() -> None:
    """Add :class:`RedactUrlCredentials` to every handler of the root logger (after ``setup_logging``)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactUrlCredentials) for f in handler.filters):
            handler.addFilter(RedactUrlCredentials())


def _is_secret_key(key: str) -> bool:
    k = key.lower()
    return k in SECRET_KEYS or k.endswith(tuple(f"_{s}" for s in SECRET_KEYS))


def _walk(node: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            yield key, v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{prefix}[{i}]")


def secrets_in_config(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(key paths holding a secret value, [(key path, file name)] of secret files) in TOML text.

    Text that is not valid TOML is scanned line by line for ``…password = "…"`` (the config check
    reports the syntax error itself).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return [m.group(0).split("=")[0].strip() for m in map(_SECRET_LINE.match, text.splitlines()) if m], []
    inline, files = [], []
    for key, value in _walk(data):
        leaf = key.rsplit(".", 1)[-1]
        if not isinstance(value, str) or not value.strip():
            continue
        if _is_secret_key(leaf):
            inline.append(key)
        elif leaf.lower().endswith(SECRET_FILE_KEYS):  # also client_secret_file, certificate_password_file
            files.append((key, value))
    return inline, files


def _world_readable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def _fix(path: Path) -> str:
    return f"chmod 640 {path} && chgrp energimon {path}"


def secret_file_warnings(config: str | os.PathLike) -> list[str]:
    """A warning for the config file and for every secret file it names that any local user can read.

    Each warning names the file and the command that fixes it.  No warning when the file cannot be
    read (the config loader reports that).
    """
    path = Path(config)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    inline, files = secrets_in_config(text)
    warnings = []
    if inline and _world_readable(path):
        warnings.append(
            f"{path} holds secrets ({', '.join(inline)}) and is readable by every user on this machine; "
            f"fix: {_fix(path)}"
        )
    for key, name in files:
        secret = Path(name)
        if not secret.is_absolute() and not secret.exists():
            secret = path.parent / secret
        if _world_readable(secret):
            warnings.append(
                f"{secret} (named by {key} in {path}) holds a secret and is readable by every user on this "
                f"machine; fix: {_fix(secret)}"
            )
    return warnings


def log_secret_file_warnings(config: str | os.PathLike) -> list[str]:
    """:func:`secret_file_warnings`, each logged as a WARNING (for ``energimon run``)."""
    warnings = secret_file_warnings(config)
    for w in warnings:
        log.warning("%s", w)
    return warnings
