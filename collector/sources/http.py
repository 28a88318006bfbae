"""One HTTP client for every source: retries with back-off honouring ``Retry-After``, typed parsing, named causes.

* **429 and 503** (and 502/504, connection errors, a truncated body) are retried with exponential
  back-off (1 s, 2 s, 4 s …, at most ``max_backoff_s``), or after the server's ``Retry-After``
  (seconds or an HTTP date, RFC 9110 §10.2.3) when it gives one.  A ``Retry-After`` longer than
  ``max_wait_s`` ends the run (cause ``rate_limited``): the next scheduled run starts again.
* **401** raises :class:`SourceError` with cause ``token`` at once: the caller renews its token
  (Eloverblik) or the key is wrong (DMI).  Other 4xx raise cause ``http`` with the status and the start
  of the body (never a header: the request carries the secret).
* The body is parsed straight into a pydantic model (``model_validate_json``): a body cut short is
  cause ``truncated`` (retried), a body that parses but does not match the documented shape is cause
  ``schema`` (not retried: the API changed).
* Waiting is interruptible (``stop``): the daemon stops within a second even during a long back-off.

httpx is the client (HTTP/1.1 keep-alive, timeouts per phase, well kept); see the package README.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from energimon.collector.sources.base import Cause, SourceError

log = logging.getLogger("energimon.sources")

M = TypeVar("M", bound=BaseModel)
RETRY_STATUS = frozenset({429, 502, 503, 504})
BODY_EXCERPT = 200


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpClient:
    def __init__(self, name: str, base_url: str, *, timeout_s: float = 60.0, max_retries: int = 5,
                 max_backoff_s: float = 60.0, max_wait_s: float = 300.0, headers: dict[str, str] | None = None,
                 stop: threading.Event | None = None):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.max_backoff_s = max_backoff_s
        self.max_wait_s = max_wait_s
        self.stop = stop or threading.Event()
        self.requests = 0  # requests sent (for run summaries and the tests)
        self.retries = 0
        self._client = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
                                    headers={"Accept": "application/json", **(headers or {})},
                                    follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def get_model(self, model: type[M], path: str, **kw: Any) -> M:
        return self.request_model(model, "GET", path, **kw)

    def request_model(self, model: type[M], method: str, path: str, *, params: dict | None = None,
                      json: Any = None, headers: dict[str, str] | None = None, what: str = "") -> M:
        """Send, retry what is worth retrying, and parse the JSON body into ``model``."""
        url = self.url(path)
        what = what or f"{method} {path.split('?')[0]}"
        attempt = 0
        while True:
            attempt += 1
            try:
                self.requests += 1
                resp = self._client.request(method, url, params=params, json=json, headers=headers)
                body = resp.content  # reads it all: a connection dropped mid-body raises here
            except httpx.TimeoutException as exc:
                err = SourceError("unreachable", f"{self.name}: {what}: timed out ({type(exc).__name__})")
                retry_in = None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                # the server closed the connection before the promised Content-Length: a truncated body
                err = SourceError("truncated", f"{self.name}: {what}: the response body was cut short ({exc})")
                retry_in = None
            except httpx.TransportError as exc:
                err = SourceError("unreachable", f"{self.name}: {what}: cannot connect to {self.base_url} ({exc})")
                retry_in = None
            else:
                status = resp.status_code
                if status == 401:
                    raise SourceError("token", f"{self.name}: {what}: 401 unauthorized "
                                               f"({_excerpt(body)})")
                if status in RETRY_STATUS:
                    retry_in = retry_after_s(resp.headers.get("Retry-After"))
                    cause: Cause = "rate_limited" if status == 429 else "unreachable"
                    err = SourceError(cause, f"{self.name}: {what}: {status} {resp.reason_phrase}"
                                             + (f" (Retry-After {resp.headers['Retry-After']})"
                                                if "Retry-After" in resp.headers else ""))
                elif status >= 400:
                    raise SourceError("http", f"{self.name}: {what}: {status} {resp.reason_phrase}: {_excerpt(body)}")
                else:
                    try:
                        return model.model_validate_json(body)
                    except ValidationError as exc:
                        parse_err = _parse_error(self.name, what, exc, body)
                        if parse_err.cause != "truncated":
                            raise parse_err from None
                        err, retry_in = parse_err, None
            if attempt > self.max_retries:
                raise err
            delay = retry_in if retry_in is not None else min(self.max_backoff_s, 2.0 ** (attempt - 1))
            if delay > self.max_wait_s:
                raise SourceError(err.cause, f"{err} — asked to wait {delay:.0f} s, more than {self.max_wait_s:.0f} s; "
                                             "the next scheduled run tries again")
            self.retries += 1
            log.warning("%s; retry %d of %d in %.1f s", err, attempt, self.max_retries, delay)
            if self.stop.wait(delay):
                raise SourceError(err.cause, f"{err} (stopped while waiting to retry)")


def _excerpt(body: bytes) -> str:
    text = body[:BODY_EXCERPT].decode("utf-8", "replace").replace("\n", " ").strip()
    return text + ("…" if len(body) > BODY_EXCERPT else "") if text else "empty body"


def _parse_error(name: str, what: str, exc: ValidationError, body: bytes) -> SourceError:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        msg = str(first.get("msg", ""))
        if "EOF" in msg or not body.strip():
            return SourceError("truncated", f"{name}: {what}: the response body was cut short after "
                                            f"{len(body)} bytes ({msg})")
        return SourceError("schema", f"{name}: {what}: the response is not JSON ({msg}): {_excerpt(body)}")
    loc = ".".join(str(p) for p in first.get("loc", ()))
    return SourceError("schema", f"{name}: {what}: the response does not have the documented shape: "
                                 f"{loc or 'body'}: {first.get('msg')} ({exc.error_count()} problem(s)); "
                                 "has the API changed?")
