"""Sessions, CSRF tokens, login rate limiting and security headers."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline scripts or styles anywhere (charts are SVG with presentation attributes); nothing may frame
# the pages (clickjacking); forms post only to the app itself.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # one-click links carry their token in the URL: never send it on as a Referer
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds the headers above to every response; ``Cache-Control: no-store`` unless the page set its own
    (the public barometer is cacheable, pages behind the login are not)."""

    def __init__(self, app: ASGIApp, hsts: bool = False):
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def csrf_token(session: dict) -> str:
    """The session's CSRF token (synchronizer token pattern, OWASP CSRF Prevention Cheat Sheet)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(session: dict, given: str | None) -> bool:
    token = session.get("csrf")
    return bool(token and given and secrets.compare_digest(str(token), str(given)))


class LoginLimiter:
    """At most ``attempts`` failed logins per user name and per client address in ``window_s``; then a pause
    until the oldest failure leaves the window (OWASP Authentication Cheat Sheet: login throttling)."""

    def __init__(self, attempts: int = 5, window_s: float = 900.0):
        self.attempts = attempts
        self.window_s = window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, user: str, addr: str) -> list[str]:
        return [f"u:{user.lower()}", f"a:{addr}"]

    def retry_after_s(self, user: str, addr: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for k in self._keys(user, addr):
                q = self._fails.get(k)
                while q and now - q[0] > self.window_s:
                    q.popleft()
                if q and len(q) >= self.attempts:
                    wait = max(wait, self.window_s - (now - q[0]))
        return wait

    def failed(self, user: str, addr: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for k in self._keys(user, addr):
                self._fails.setdefault(k, deque()).append(now)

    def succeeded(self, user: str, addr: str) -> None:
        with self._lock:
            self._fails.pop(f"u:{user.lower()}", None)
