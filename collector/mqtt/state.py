"""The broker connection's state, left in a small JSON file for ``energimon status`` (another process).

One file beside the spool (``mqtt-state.json`` in the daemon's state directory), one entry per broker
(``host:port``): connected or not and since when, the session-present flag of the last connection, the
last message received, the client id, and the daemon's pid (so ``status`` can tell a stopped daemon's
last word from a live one). Written atomically (temp file + rename) on every connect and disconnect,
after commits at most every :data:`WRITE_EVERY_S` (what is held back is written by the collector's
timer), and when the collector stops. Not a record: losing it
loses nothing but what ``status`` shows (and whether the next start knows it has been connected before).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("energimon.collector.mqtt")

FILE_NAME = "mqtt-state.json"
WRITE_EVERY_S = 5.0


def state_path(settings) -> Path:
    """Where the daemon leaves the broker state: beside the spool (the daemon's state directory)."""
    return Path(settings.spool.path).parent / FILE_NAME


def read_states(path: Path) -> dict[str, dict]:
    """Broker key -> state, or {} when there is no (readable) file yet.  Raises ``ValueError`` on a damaged one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    doc = json.loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("brokers"), dict):
        raise ValueError(f"{path}: not an energimon MQTT state file")
    return doc["brokers"]


@dataclass(frozen=True)
class BrokerState:
    """What the file says about one broker (``energimon status``)."""

    broker: str  # host:port
    client_id: str | None
    connected: bool
    session_present: bool | None  # of the last connection; None: not connected yet
    session_lost: bool  # the broker had lost our persistent session: messages may have been lost
    since_ms: int | None  # connected or disconnected since
    last_message_ms: int | None
    messages: int
    last_error: str | None
    stopped: bool  # the collector stopped cleanly
    pid: int | None  # the daemon that wrote it
    updated_ms: int | None

    @property
    def daemon_running(self) -> bool:
        """Whether the process that wrote the entry still runs (else its "connected" is a dead daemon's)."""
        return pid_alive(self.pid)


def read_broker_states(path: Path) -> dict[str, BrokerState]:
    """Broker -> its state, or {} when there is no file yet.  Raises ``ValueError`` on a damaged file."""
    out = {}
    for broker, st in read_states(path).items():
        if not isinstance(st, dict):
            raise ValueError(f"{path}: broker {broker!r}: not an energimon MQTT state entry")
        out[broker] = BrokerState(
            broker=broker, client_id=st.get("client_id"), connected=bool(st.get("connected")),
            session_present=st.get("session_present"), session_lost=bool(st.get("session_lost")),
            since_ms=st.get("since_ms"), last_message_ms=st.get("last_message_ms"), messages=st.get("messages") or 0,
            last_error=st.get("last_error"), stopped=bool(st.get("stopped")), pid=st.get("pid"),
            updated_ms=st.get("updated_ms"))
    return out


def pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, another user's
    except OSError:
        return False
    return True


class BrokerStateFile:
    """The collector's writer of one broker's entry (other entries in the file are kept)."""

    def __init__(self, path: Path | None, broker: str, client_id: str):
        self.path = path
        self.broker = broker
        self.state: dict = {"broker": broker, "client_id": client_id, "connected": False, "session_present": None,
                            "session_lost": False, "since_ms": None, "last_message_ms": None, "messages": 0,
                            "last_error": None, "stopped": False}
        self.previous: dict | None = None  # what the file said about this broker when we started
        self._lock = threading.Lock()
        self._written_at = 0.0
        self._dirty = False
        self._failed = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                self.previous = read_states(path).get(broker)
            if self.previous and self.previous.get("client_id") == client_id:
                self.state["last_message_ms"] = self.previous.get("last_message_ms")

    def update(self, *, force: bool = True, **changes) -> None:
        """Record ``changes``; written now (``force``) or at most every :data:`WRITE_EVERY_S` (see :meth:`flush`)."""
        with self._lock:
            self.state.update(changes)
            self._dirty = True
            if self.path is None or (not force and time.monotonic() - self._written_at < WRITE_EVERY_S):
                return
            self._write(self.path)

    def flush(self) -> None:
        """Write what :meth:`update` held back (called every :data:`WRITE_EVERY_S` by the collector)."""
        with self._lock:
            if self._dirty and self.path is not None:
                self._write(self.path)

    def _write(self, path: Path) -> None:
        self._written_at = time.monotonic()
        self._dirty = False
        try:
            try:
                brokers = read_states(path)
            except (OSError, ValueError):
                brokers = {}
            brokers[self.broker] = {**self.state, "pid": os.getpid(), "updated_ms": int(time.time() * 1000)}
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"brokers": brokers}, indent=1), encoding="utf-8")
            os.replace(tmp, path)
            self._failed = False
        except OSError as exc:
            if not self._failed:  # the status file is a convenience: say it once, never stop ingest for it
                log.warning("cannot write the MQTT state for `energimon status` to %s: %s", path, exc)
            self._failed = True
