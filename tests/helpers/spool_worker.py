"""Run by tests/test_spool.py and tests/test_writer.py as a subprocess that the test SIGKILLs.

Usage:
    spool_worker.py produce SPOOL ACKFILE BASE_MS COUNT BATCH
        put COUNT readings (readings(BASE_MS, COUNT)) in puts of BATCH; after each put
        returned, append the total acknowledged so far to ACKFILE as a line (one write(2),
        unbuffered: what the file says was acknowledged is exactly what put() returned for).
    spool_worker.py drain SPOOL STORE BATCH PAUSE_S WHERE [HANG_AFTER MARKER]
        drain SPOOL into a SqliteStore at STORE with a SpoolWriter, BATCH readings at a time.
        The store sleeps PAUSE_S per write, WHERE = "before" or "after" the real write (so a
        kill lands before the store committed, or between the store's commit and the spool
        ack).  With HANG_AFTER = K, the K-th write commits, then MARKER is created and the
        worker hangs until killed: the batch is in the store but still in the spool.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from energimon.model import Reading
from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore
from energimon.store.writer import SpoolWriter

SERIES = (
    ("soro-raadhus", "hovedmaaler", "energy_import_wh", "grid"),
    ("soro-raadhus", "hovedmaaler", "power_w", "grid"),
    ("stenlille-hallen", "inverter-1", "pv_power_w", "pv"),
    ("dianalund-bibliotek", "fjernvarme", "heat_energy_wh", "heat"),
)


def readings(base_ms: int, count: int, start: int = 0) -> list[Reading]:
    """Readings ``start`` … ``start + count - 1`` of one deterministic sequence with distinct (series, ts_ms)
    and distinct values."""
    out = []
    for i in range(start, start + count):
        site, device, channel, role = SERIES[i % len(SERIES)]
        out.append(Reading(site, device, channel, role, base_ms + (i // len(SERIES)) * 1000, 1000.0 + i * 0.25))
    return out


class PausingStore(SqliteStore):
    def __init__(self, path: str, pause_s: float, where: str, hang_after: int = 0, marker: str = ""):
        super().__init__(path)
        self.pause_s, self.where, self.hang_after, self.marker = pause_s, where, hang_after, marker
        self.calls = 0

    def write(self, batch):
        if self.where == "before":
            time.sleep(self.pause_s)
        rejected = super().write(batch)
        self.calls += 1
        if self.hang_after and self.calls == self.hang_after:
            Path(self.marker).touch()
            time.sleep(3600)
        if self.where == "after":
            time.sleep(self.pause_s)
        return rejected


def produce(spool_path: str, ackfile: str, base_ms: int, count: int, batch: int) -> None:
    spool = Spool(spool_path)
    fd = os.open(ackfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    # made batch by batch: building all of a large count first took longer than the test waits on a loaded machine
    for i in range(0, count, batch):
        spool.put(readings(base_ms, min(batch, count - i), i), source="worker")
        os.write(fd, f"{min(i + batch, count)}\n".encode())
    os.close(fd)
    spool.close()


async def drain(spool_path: str, store_path: str, batch: int, pause_s: float, where: str,
                hang_after: int, marker: str) -> None:
    spool = Spool(spool_path)
    store = PausingStore(store_path, pause_s, where, hang_after, marker)
    writer = SpoolWriter(spool, store, batch_size=batch)
    try:
        while await writer.drain_once():
            pass
    finally:
        writer.close()
        store.close()
        spool.close()


def main(argv: list[str]) -> None:
    if argv[0] == "produce":
        produce(argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif argv[0] == "drain":
        hang_after, marker = (int(argv[6]), argv[7]) if len(argv) > 6 else (0, "")
        asyncio.run(drain(argv[1], argv[2], int(argv[3]), float(argv[4]), argv[5], hang_after, marker))
    else:
        raise SystemExit(f"unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
