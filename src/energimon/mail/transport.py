"""One interface over the ways a mail leaves energimon, and the error a person can act on.

A transport sends one whole RFC 5322 message (bytes, as the outbox keeps it) to a list of recipients,
or raises :class:`MailError`, which says

* the **step** that failed — ``token`` (getting the OAuth access token), ``connect`` (TCP, TLS),
  ``auth`` (the server refused the login or the token), ``send`` (the server refused the message);
* what happened, in one line, without secrets (no password, no token);
* the **fix**: which setting to change or what to do in Microsoft 365;
* for Graph's 429, how long the server asked us to wait (``retry_after_s``).

Blocking (smtplib, urllib, msal): the daemon calls transports from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from energimon.mail.settings import SmtpSettings

STEPS = ("token", "connect", "auth", "send")

# progress(step, detail): called after each step that succeeded (``energimon test-mail`` prints them)
Progress = Callable[[str, str], None]


class MailError(Exception):
    """The message could not be delivered now; the outbox keeps it and tries again later."""

    def __init__(self, step: str, message: str, fix: str = "", retry_after_s: float | None = None):
        assert step in STEPS, step
        self.step, self.message, self.fix, self.retry_after_s = step, message, fix, retry_after_s
        super().__init__(f"{step}: {message}" + (f" — {fix}" if fix else ""))


class Transport(Protocol):
    def send(self, recipients: list[str], message: bytes, progress: Progress | None = None) -> None: ...

    def describe(self) -> str: ...


def make_transport(cfg: SmtpSettings) -> Transport:
    """The transport ``[smtp]`` describes (each keeps its token cache between sends: build it once)."""
    tokens = None
    if cfg.oauth2 is not None:
        from energimon.mail.oauth import make_token_provider

        tokens = make_token_provider(cfg)
    if cfg.transport == "folder":
        from energimon.mail.folder import FolderTransport

        return FolderTransport(cfg)
    if cfg.transport == "graph":
        from energimon.mail.graph import GraphTransport

        return GraphTransport(cfg, tokens)
    from energimon.mail.smtp import SmtpTransport

    return SmtpTransport(cfg, tokens)
