"""Small helpers shared by the benchmarks: best-of-N timing, temp dirs, tables."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Timing:
    """Wall-clock seconds of each repetition; ``best`` is what the tables report."""

    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_once(fn: Callable[[], object]) -> float:
    """Seconds taken by ``fn()``, with the garbage collector out of the way."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    finally:
        gc.enable()


def best_of(repeat: int, *cases: tuple[Callable[[], object] | None, Callable[[], float] | None]) -> list[Timing]:
    """Time several cases, interleaved round by round so they share the machine's noise.

    Each case is ``(setup, run)``: ``setup()`` (untimed, may be None) prepares a
    fresh state and ``run()`` returns the seconds it measured itself (use
    :func:`time_once`), so a case can leave its own setup out of the figure.
    """
    timings = [Timing() for _ in cases]
    for _ in range(repeat):
        for timing, (setup, run) in zip(timings, cases, strict=True):
            if setup is not None:
                setup()
            timing.runs.append(run())
    return timings


@contextlib.contextmanager
def bench_dir(parent: str | None) -> Iterator[Path]:
    """A private temp dir (on ``parent``'s file system if given), always removed."""
    path = Path(tempfile.mkdtemp(prefix="energimon-bench-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh_subdir(root: Path, name: str) -> Path:
    """An empty directory ``root/name`` (emptied if it exists)."""
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def written_bytes() -> int | None:
    """Bytes this process has passed to write(2) so far (Linux ``/proc/self/io`` wchar), or None."""
    try:
        with open("/proc/self/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def file_bytes(path: Path) -> int:
    """Size of a SQLite database including its -wal and -shm files, if present."""
    return sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def print_table(headers: list[str], rows: list[list[str]], file=sys.stdout) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    print(line(headers), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for r in rows:
        print(line(r), file=file)


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def machine_line() -> str:
    import platform
    import sqlite3

    import numpy as np
    import pandas as pd

    return (
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
