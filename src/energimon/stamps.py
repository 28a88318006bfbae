"""Reading times that energimon gives: strictly increasing per stream, never a time given before.

A collector stamps a reading itself when the source carries no time of its own (an MQTT payload
without a time field, a Modbus poll). The store keeps one value per series and millisecond — that is
what makes a redelivered reading harmless — so two readings of one series on the same millisecond
would silently become one. The rule, the same for every collector (README, "Data model and
conventions", Time):

* **A stamp is the system clock in milliseconds, but at least one millisecond after the stream's
  previous stamp.** A burst of messages received within one millisecond is stamped 1 ms apart
  (it runs ahead of the clock by at most the burst's length in ms and catches up as soon as the
  rate drops below one per ms).
* **After the system clock steps back**, stamps keep going 1 ms apart after the last one until the
  clock passes it again: the readings stay in the order they arrived, so an energy counter never
  appears to run backwards because of our own stamps. The step is logged (WARNING), once.
* **Across a restart**: the last stamp of every stream is committed in the spool's transaction
  together with the readings it stamped (:meth:`Stamper.pending` / :meth:`Stamper.committed`,
  ``Spool.put(stamps=…)``) and loaded at start (:meth:`Stamper.load`), so a quick restart after a
  burst, or a clock set back while the daemon was down, still reuses no stamp.
* **One exception, logged as an ERROR**: a stream whose last stamp is more than
  :data:`~energimon.model.MAX_FUTURE_MS` (24 h) ahead of the clock. Such stamps came from a clock that
  was wrong by more than a day; holding on to them would put every new reading more than 24 h in the
  future, where the data model refuses it. The stream follows the clock again.

A *stream* is what must never get a repeated stamp: for MQTT one series (``site/device/channel``),
for a Modbus device all of its series (one poll, one instant, one line in InfluxDB). Readings with
their own time (from the device or the payload) are not stamped here; :meth:`Stamper.observe` makes
later stamps of the same series go after such a time when it is not in the future, so the two kinds
do not meet on one millisecond either. What the store does when a device's own time collides is the
store's rule (:class:`energimon.model.OnConflict`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Protocol

from energimon.model import MAX_FUTURE_MS

log = logging.getLogger("energimon.stamps")

STEP_WARN_S = 1.0  # the system clock moved back this much against the monotonic clock: a step, say so


class Clock(Protocol):
    """What the stamper reads: ``time()`` in seconds since the epoch (the :mod:`time` module, or a test's clock)."""

    def time(self) -> float: ...


class Stamper:
    """Gives out stamps (epoch ms) per stream; thread-safe (MQTT stamps in a worker thread, Modbus on the loop)."""

    def __init__(self, clock: Clock = time) -> None:
        self._clock = clock  # ``time()`` in seconds; replaceable for tests of clock steps
        self._last: dict[str, int] = {}
        self._pending: dict[str, int] = {}  # stamps not yet known to be committed in the spool
        self._lock = threading.Lock()
        self._clocks = (self._clock.time(), time.monotonic())  # at the previous stamp: to see the clock step
        self.steps_back = 0  # steps back of the system clock seen (each logged)
        self.rebased = 0  # streams that followed the clock again after a lead of more than 24 h

    def load(self, last: Mapping[str, int]) -> None:
        """The last stamp of each stream, as committed by a previous run (``Spool.stamps()``)."""
        with self._lock:
            for stream, ts in last.items():
                if ts > self._last.get(stream, 0):
                    self._last[stream] = int(ts)

    def stamp(self, stream: str, now_ms: int | None = None) -> int:
        """A stamp for ``stream``: ``now_ms`` (default: the system clock), or 1 ms after its previous stamp."""
        wall = self._clock.time()
        now = int(wall * 1000) if now_ms is None else now_ms
        with self._lock:
            self._check_step(wall)
            last = self._last.get(stream, 0)
            ts = now if now > last else last + 1
            if ts - now > MAX_FUTURE_MS:
                ts = now
                self.rebased += 1
                log.error("the stamps already given to %s run up to %s, more than 24 h ahead of the system clock "
                          "(%s): they came from a clock that was wrong by more than a day; new stamps follow the "
                          "clock again", stream, _iso(last), _iso(now))
            self._last[stream] = ts
            self._pending[stream] = ts
        return ts

    def observe(self, stream: str, ts_ms: int, now_ms: int) -> None:
        """A reading of ``stream`` with its own time: later stamps go after it, unless it lies in the future."""
        if ts_ms > now_ms:
            return  # a device clock running ahead must not drag our stamps along
        with self._lock:
            if ts_ms > self._last.get(stream, 0):
                self._last[stream] = ts_ms
                self._pending[stream] = ts_ms

    def last(self, stream: str) -> int | None:
        with self._lock:
            return self._last.get(stream)

    def pending(self) -> dict[str, int]:
        """Stamps to commit with the next spool transaction (a copy; see :meth:`committed`)."""
        with self._lock:
            return dict(self._pending)

    def committed(self, stamps: Mapping[str, int]) -> None:
        """``stamps`` (from :meth:`pending`) are in the spool: forget those not superseded meanwhile.

        Every transaction that commits stamped readings carries every stamp not yet known to be
        committed, so a crash can never leave a committed reading with a stamp newer than the spool's record.
        """
        with self._lock:
            for stream, ts in stamps.items():
                if self._pending.get(stream) == ts:
                    del self._pending[stream]

    def _check_step(self, wall: float) -> None:
        """Log a step back of the system clock (measured against the monotonic clock, as the time between two
        stamps, so a burst running ahead of the clock is not mistaken for one)."""
        mono = time.monotonic()
        step_s = (wall - self._clocks[0]) - (mono - self._clocks[1])
        self._clocks = (wall, mono)
        if step_s <= -STEP_WARN_S:
            self.steps_back += 1
            log.warning("the system clock stepped back by %.0f s: readings energimon stamps are stamped 1 ms apart "
                        "after the last stamp of their series until the clock catches up (no stamp is reused, the "
                        "order of arrival is kept)", -step_s)


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
