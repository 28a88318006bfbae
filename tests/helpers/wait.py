"""The one way tests wait: for a condition, with a deadline — never a fixed sleep.

A fixed ``sleep`` is either too short on a loaded machine (a flaky failure) or longer than needed everywhere
(a slow suite).  ``wait_for`` polls a predicate until it holds and fails naming what it waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


def _describe(what: str | Callable[[], str]) -> str:
    return what() if callable(what) else what


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str | Callable[[], str],
             interval_s: float = 0.05) -> None:
    """Poll ``predicate`` every ``interval_s`` until it is true; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {_describe(what)}")
        time.sleep(interval_s)


async def async_wait_for(predicate: Callable[[], bool], timeout_s: float, what: str | Callable[[], str],
                         interval_s: float = 0.05) -> None:
    """:func:`wait_for` for a coroutine: the event loop keeps running between polls."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {_describe(what)}")
        await asyncio.sleep(interval_s)
