"""What every fault scenario shares: the exactly-once accounting, the table, the tests' own view of the
stores (plain sqlite3 and raw InfluxQL, not the store code under test) and ``energimon run`` as a subprocess.

The accounting: the producing side (simulator, publisher, device) knows exactly what it generated; the
store is read back raw.  A reading is identified by (site, device, channel, ts_ms) and carries a value
unique in its series, so a reading stored twice shows up even when the second copy got another time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from helpers.wait import wait_for  # also imported from here by the scenarios

Key = tuple[str, str, str, int]  # site, device, channel, ts_ms
COLUMNS = ("scenario", "produced", "stored", "duplicates", "lost")


@dataclass(frozen=True)
class Tally:
    scenario: str
    produced: int
    stored: int
    duplicates: int  # rows beyond one per produced reading (same key again, or the same reading at another time)
    lost: int  # produced readings not in the store with their value
    wrong: int = 0  # stored rows that are no produced reading at all (a wrong value or an unknown key)

    @property
    def exact(self) -> bool:
        return self.duplicates == 0 and self.lost == 0 and self.wrong == 0 and self.stored == self.produced

    def row(self) -> tuple:
        return (self.scenario, self.produced, self.stored, self.duplicates, self.lost)


def _series_and_value(key: Hashable, value: object) -> Hashable:
    """How a copy of a reading is recognised under another time: its series and its (unique) value."""
    return (key[:3], value) if isinstance(key, tuple) else value


def tally(scenario: str, produced: Mapping[Hashable, object], rows: Iterable[tuple[Hashable, object]],
          identity: Callable[[Hashable, object], Hashable] = _series_and_value) -> Tally:
    """Compare what was produced (key -> value) with the rows read back from the store."""
    by_identity = {identity(k, v) for k, v in produced.items()}
    seen: Counter[Hashable] = Counter()
    copies = wrong = stored = 0
    for key, value in rows:
        stored += 1
        if key in produced and produced[key] == value:
            seen[key] += 1
        elif identity(key, value) in by_identity:
            copies += 1  # a produced reading stored a second time, under another key
        else:
            wrong += 1
    duplicates = sum(n - 1 for n in seen.values()) + copies
    lost = sum(1 for k in produced if k not in seen)
    return Tally(scenario, len(produced), stored, duplicates, lost, wrong)


def format_table(tallies: Iterable[Tally]) -> str:
    rows = [COLUMNS, *(t.row() for t in tallies)]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(COLUMNS))]

    def line(r: tuple) -> str:
        cells = [str(r[0]).ljust(widths[0]), *(str(c).rjust(w) for c, w in zip(r[1:], widths[1:], strict=True))]
        return " | ".join(cells)

    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), sep, *(line(r) for r in rows[1:])])


def assert_exact(t: Tally) -> None:
    assert (t.duplicates, t.lost, t.wrong) == (0, 0, 0) and t.stored == t.produced, t


# -- the tests' own view of the stores ----------------------------------------------------------
def sqlite_rows(path: Path, device: str | None = None, channels: Iterable[str] | None = None
                ) -> list[tuple[Key, float]]:
    """Every point in an embedded store file, read with plain sqlite3 (optionally one device / some channels)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute("SELECT s.site, s.device, s.channel, p.ts_ms, p.value "
                          "FROM points p JOIN series s ON s.id = p.series_id").fetchall()
    except sqlite3.OperationalError:  # the daemon has not created the schema yet
        return []
    finally:
        db.close()
    wanted = None if channels is None else set(channels)
    return [((s, d, c, t), v) for s, d, c, t, v in rows
            if (device is None or d == device) and (wanted is None or c in wanted)]


def influx_rows(server, db: str, measurements: Iterable[str] = ("electricity", "heat", "weather")
                ) -> list[tuple[Key, float]]:
    """Every field value in ``db`` as a row, with raw InfluxQL (``GROUP BY *``: a point written under
    another tag set — another role — is a separate series, so it would show as a duplicate)."""
    out: list[tuple[Key, float]] = []
    for m in measurements:
        doc = server.query(f'SELECT * FROM "{m}" GROUP BY *', db=db)
        for s in doc["results"][0].get("series", []):
            tags, cols = s["tags"], s["columns"]
            for values in s["values"]:
                t = values[0]
                for col, v in zip(cols[1:], values[1:], strict=True):
                    if v is not None:
                        out.append(((tags["site"], tags["device"], col, t), float(v)))
    return out


# -- a QoS 1 publisher that survives broker restarts --------------------------------------------
class StreamPublisher:
    """Publishes ``items`` (QoS 1) one every ``interval_s`` from a thread, on a persistent session.

    What counts as produced is what the broker acknowledged (PUBACK, seen in ``on_publish``).  paho keeps
    a message published while the broker is away and sends it on reconnect; its ``is_published()`` raises
    for those, so acknowledgements are counted here from the callback instead.
    """

    def __init__(self, port: int, items: list[tuple[str, str]], interval_s: float, client_id: str,
                 holds: tuple[int, ...] = ()):
        """``holds``: after publishing that many items, wait for :meth:`release` (one release per hold), so a
        fault can be injected before the stream is over however slow the machine is."""
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.items, self.interval_s = items, interval_s
        self._holds = {count: threading.Event() for count in holds}
        self._releases = [self._holds[count] for count in sorted(holds)]
        self.acked: set[int] = set()
        self.mids: list[int] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.client.max_queued_messages_set(0)
        self.client.max_inflight_messages_set(100)
        self.client.on_publish = self._on_publish
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self.acked.add(mid)

    def _run(self) -> None:
        for i, (topic, payload) in enumerate(self.items):
            if i in self._holds:
                self._holds[i].wait(120)  # bounded: a test that forgets to release still ends
            info = self.client.publish(topic, payload, qos=1)
            with self._lock:
                self.mids.append(info.mid)
            time.sleep(self.interval_s)

    def release(self) -> None:
        """Let the stream go on past its next hold."""
        if self._releases:
            self._releases.pop(0).set()

    def start(self) -> StreamPublisher:
        self.thread.start()
        return self

    def unacked(self) -> int:
        with self._lock:
            return len(self.items) - len(self.acked & set(self.mids))

    def finish(self, timeout_s: float = 60) -> int:
        """Wait until every message is published and acknowledged; returns how many were not."""
        self.thread.join(timeout_s)
        wait_for(lambda: self.unacked() == 0, timeout_s, "the broker to acknowledge every message", 0.02)
        self.client.disconnect()
        self.client.loop_stop()
        return self.unacked()


# -- `energimon run` as a subprocess ------------------------------------------------------------
class DaemonProcess:
    """``energimon run --config CFG``; its output is read through a pipe (a pipe is not a file: a file-size
    limit set on the daemon does not cut its log) into ``lines``, shared across restarts."""

    def __init__(self, cfg: Path):
        self.cfg = cfg
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self.starts = 0

    def start(self) -> DaemonProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "energimon", "run", "--config", str(self.cfg)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, encoding="utf-8", errors="replace",
        )
        self.starts += 1
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        return self

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self.lines.append(line)
        proc.stdout.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def text(self) -> str:
        return "".join(self.lines)

    def count(self, needle: str) -> int:
        return sum(needle in line for line in list(self.lines))

    def kill(self) -> None:
        """SIGKILL by PID: no shutdown code runs."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._reader.join(5)

    def terminate(self, timeout_s: float = 20) -> int:
        os.kill(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self._reader.join(5)
        return code

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
