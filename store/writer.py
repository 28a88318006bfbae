"""The task that drains the spool into the store, one batch at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from energimon.store.base import Store, StoreError
from energimon.store.spool import Batch, Spool, SpoolUnwritable

log = logging.getLogger("energimon.writer")
T = TypeVar("T")


class SpoolWriter:
    """Take a batch, write it to the store, delete it from the spool — in that order.

    A batch leaves the spool only after the store confirmed it; readings the
    store refuses for good go to dead letters so they cannot block the queue.
    While the store is down the writer backs off exponentially (1 s, or
    ``max_backoff_s`` if smaller, up to ``max_backoff_s``) and readings keep
    accumulating in the spool.  Any other exception from the store or the spool
    is logged with its traceback and retried the same way: the writer task
    never dies while the collectors keep filling the spool.
    """

    def __init__(
        self,
        spool: Spool,
        store: Store,
        batch_size: int = 10_000,
        idle_wait_s: float = 1.0,
        max_backoff_s: float = 60.0,
        linger_s: float = 0.05,
        maintain_after_s: float = 600.0,
        maintain_every_s: float = 3600.0,
    ):
        self.spool = spool
        self.store = store
        self.batch_size = batch_size
        self.idle_wait_s = idle_wait_s
        self.max_backoff_s = max_backoff_s
        self.linger_s = linger_s
        # Store housekeeping (Store.maintain: the embedded store compacts old days) in idle time: first some
        # minutes after the start (a restart loop must not spend its time there), then hourly, or sooner while
        # the store says there is more to do.
        self.maintain_every_s = maintain_every_s
        self._maintain_at = time.monotonic() + maintain_after_s
        self._maintain_failed: str | None = None
        self._next: Batch | None = None  # the batch read ahead while the store wrote the previous one (drain_once)
        self.written = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        # One thread owns the store connection: SQLite and HTTP sessions stay off the event loop.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")

    def wake(self) -> None:
        """Called by producers after a put, so a fresh batch goes out without waiting."""
        self._wake.set()

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def drain_once(self) -> int:
        """Move one batch; returns how many readings left the spool (0: spool empty).

        With a backlog (a full batch), the next batch is read from the spool while the store writes this one
        (the spool's read and the store's write overlap; the next batch starts after this one's last id and is
        used only if this one was written and acknowledged — otherwise it is dropped and read again)."""
        batch, self._next = self._next, None
        if batch is None:
            batch = await asyncio.to_thread(self.spool.take, self.batch_size)
        if batch is None:
            return 0
        written = asyncio.ensure_future(self._call(self.store.write, batch.readings))
        ahead = None
        if len(batch) >= self.batch_size:
            ahead = asyncio.ensure_future(asyncio.to_thread(self.spool.take, self.batch_size, batch.last_id))
        try:
            rejected = await written
            # Dead letters and the ack are one spool transaction (one fsync, not one per refused reading).
            dead = [(rej.reading, rej.reason) for rej in rejected]
            await asyncio.to_thread(self.spool.ack, batch, dead, f"store:{self.store.kind}")
        except BaseException:
            if ahead is not None:
                ahead.cancel()
                with contextlib.suppress(BaseException):
                    await ahead
            raise
        if ahead is not None:
            with contextlib.suppress(Exception):  # a failed read ahead is simply read again next time
                self._next = await ahead
        self.written += len(batch) - len(rejected)
        return len(batch)

    async def run(self, stop: asyncio.Event) -> None:
        first_backoff = min(1.0, self.max_backoff_s)
        backoff = first_backoff
        while not stop.is_set():
            # Cleared before the take, so a wake() during the drain is not lost.
            self._wake.clear()
            started = time.monotonic()
            try:
                moved = await self.drain_once()
            except Exception as exc:  # the writer task must outlive any store failure
                error = str(exc) if isinstance(exc, StoreError | SpoolUnwritable) else f"{type(exc).__name__}: {exc}"
                if self.last_error != error:
                    if isinstance(exc, StoreError):
                        log.error("store unavailable, readings stay in the spool: %s", error)
                    elif isinstance(exc, SpoolUnwritable):  # the disk under the spool, not a bug: no traceback
                        log.error("%s", error)
                    else:  # a bug or an unexpected failure: keep the traceback, keep retrying
                        log.exception("writing to the store failed, readings stay in the spool: %s", error)
                self.last_error = error
                await _wait_any(stop, None, backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            if self.last_error is not None:
                log.info("store reachable again; draining %d spooled readings", self.spool.backlog())
                self.last_error = None
            backoff = first_backoff
            if moved < self.batch_size:
                if time.monotonic() >= self._maintain_at and not stop.is_set():
                    await self._maintain()
                await _wait_any(stop, self._wake, self.idle_wait_s)
                # Under a stream of small puts (a Modbus poll, an MQTT burst), draining at every wake would cost
                # a store transaction and a spool ack (an fsync) per put: let them gather for up to linger_s
                # after the previous drain began.  A put after a quiet spell still goes out at once.
                rest = self.linger_s - (time.monotonic() - started)
                if rest > 0 and not stop.is_set():
                    await _wait_any(stop, None, rest)

    async def _maintain(self) -> None:
        """One round of :meth:`Store.maintain` on the store's thread; a failure is logged (once per distinct
        error) and tried again at the next round — it never stops the writer."""
        try:
            more = await self._call(self.store.maintain)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            if error != self._maintain_failed:
                log.warning("store maintenance failed (tried again in %.0f s; readings are not affected): %s",
                            self.maintain_every_s, error)
            self._maintain_failed = error
            more = False
        else:
            self._maintain_failed = None
        self._maintain_at = time.monotonic() + (1.0 if more else self.maintain_every_s)

    async def flush(self, timeout_s: float) -> int:
        """On shutdown: drain what the store will take within ``timeout_s``; the rest stays spooled."""
        deadline = time.monotonic() + timeout_s
        moved_total = 0
        while time.monotonic() < deadline:
            try:
                moved = await asyncio.wait_for(self.drain_once(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("flush stopped after %.1f s, %d readings stay in the spool",
                            timeout_s, self.spool.backlog())
                break
            except Exception as exc:  # shutdown must go on (and close the spool) whatever the store does
                log.warning("flush stopped, %d readings stay in the spool: %s", self.spool.backlog(), exc)
                break
            moved_total += moved
            if moved == 0:
                break
        return moved_total

    def close(self) -> None:
        self._executor.shutdown(wait=True)


async def _wait_any(stop: asyncio.Event, other: asyncio.Event | None, timeout: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait())]
    if other is not None:
        waiters.append(asyncio.ensure_future(other.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
