"""Helpers shared by the benchmarks: paired timing, result rows, real servers, temp dirs, tables.

Every figure in ``bench/README.md``'s main table comes from :func:`pairs`: energimon's run and the
reference's run alternate (A B A B …) in the same process and on the same data, so both see the same load
on this shared machine; the table reports the median and min–max of the per-pair ratios.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path


# -- timing ---------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Wall-clock seconds of each repetition (kept for the benches outside the main table)."""

    runs: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def time_once(fn: Callable[[], object]) -> float:
    """Seconds taken by ``fn()``.  The garbage collector is collected before and left on during the run, as in
    the daemon (turning it off would flatter code that allocates an object per reading)."""
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best_of(repeat: int, *cases: tuple[Callable[[], object] | None, Callable[[], float] | None]) -> list[Timing]:
    """Time several cases, interleaved round by round (``setup``, ``run`` returning its own seconds)."""
    timings = [Timing() for _ in cases]
    for _ in range(repeat):
        for timing, (setup, run) in zip(timings, cases, strict=True):
            if setup is not None:
                setup()
            timing.runs.append(run())
    return timings


def load_average() -> float:
    """The 1-minute load average (the machine is shared: say how busy it was next to each figure)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


@dataclass
class Row:
    """One row of the main table: ``n`` pairs of (energimon, reference) measurements on the same work.

    ``kind``:
      * ``rate``: ``project``/``reference`` are seconds for ``work`` units; ratio = reference s / project s
        (= energimon's rate ÷ the reference's rate; for a speed-up goal such as "5x eemeter" the same);
      * ``time``: ``project`` are seconds against an absolute goal; ``reference`` are seconds of the named
        reference run in the same pairs (to show the load), ratio = project s / reference s;
      * ``size``: ``project``/``reference`` are bytes for ``work`` units; ratio = project ÷ reference.
    ``goal``: ``ratio_min`` / ``ratio_max`` / ``rate_min`` (units/s) / ``seconds_max`` / ``per_unit_max``.
    """

    bench: str
    case: str
    unit: str
    work: float
    kind: str
    reference_name: str
    project: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)
    goal: dict[str, float] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)
    note: str = ""
    per: dict[str, float] = field(default_factory=dict)  # other units: name -> how many of them per `unit`

    def ratios(self) -> list[float]:
        if self.kind == "rate":
            return [r / p for p, r in zip(self.project, self.reference, strict=True)]
        return [p / r for p, r in zip(self.project, self.reference, strict=True)]

    def values(self) -> list[float]:
        """energimon's figure per pair in ``unit`` (units/s for rates, seconds, bytes per unit)."""
        if self.kind == "rate":
            return [self.work / s for s in self.project]
        if self.kind == "size":
            return [b / self.work for b in self.project]
        return list(self.project)

    def reference_values(self) -> list[float]:
        if self.kind == "rate":
            return [self.work / s for s in self.reference]
        if self.kind == "size":
            return [b / self.work for b in self.reference]
        return list(self.reference)

    def verdict(self) -> str:
        if not self.project:
            return "not run"
        if not self.goal:
            return "–"
        ok = True
        ratio, value = statistics.median(self.ratios()), statistics.median(self.values())
        g = self.goal
        if "ratio_min" in g:
            ok &= ratio >= g["ratio_min"]
        if "ratio_max" in g:
            ok &= ratio <= g["ratio_max"]
        if "rate_min" in g:
            ok &= value >= g["rate_min"]
        if "seconds_max" in g:
            ok &= value < g["seconds_max"]
        if "per_unit_max" in g:
            ok &= value <= g["per_unit_max"]
        return "met" if ok else "**missed**"

    def goal_text(self) -> str:
        g, parts = self.goal, []
        if "rate_min" in g:
            parts.append(f"≥ {g['rate_min']:,.0f} {self.unit}")
        if "ratio_min" in g:
            parts.append(f"ratio ≥ {g['ratio_min']:g}")
        if "ratio_max" in g:
            parts.append(f"ratio ≤ {g['ratio_max']:g}")
        if "seconds_max" in g:
            parts.append(f"< {g['seconds_max']:g} s")
        if "per_unit_max" in g:
            parts.append(f"≤ {g['per_unit_max']:g} {self.unit}")
        return ", ".join(parts) or "–"


def pairs(n: int, project: Callable[[], float], reference: Callable[[], float],
          progress: str | None = None) -> tuple[list[float], list[float], list[float]]:
    """Run ``project`` and ``reference`` alternately ``n`` times (A B A B …); each returns its own seconds
    (so it can leave its untimed setup out).  Returns (project seconds, reference seconds, load averages)."""
    p, r, load = [], [], [load_average()]
    for i in range(n):
        p.append(project())
        r.append(reference())
        if progress:
            print(f"  {progress}: pair {i + 1}/{n}: energimon {p[-1]:.3f} s, reference {r[-1]:.3f} s",
                  file=sys.stderr, flush=True)
    load.append(load_average())
    return p, r, load


def fmt_num(x: float) -> str:
    if x != x:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:,.1f}"
    return f"{x:.2f}" if abs(x) >= 0.1 else f"{x:.3f}"


def summary(values: list[float]) -> str:
    """``median (min–max)``."""
    if not values:
        return "–"
    if len(values) == 1:
        return fmt_num(values[0])
    return f"{fmt_num(statistics.median(values))} ({fmt_num(min(values))}–{fmt_num(max(values))})"


def print_rows(rows: list[Row], file=sys.stdout) -> None:
    """The rows as a plain table on the console (the README gets the markdown from run_all.py)."""
    table = []
    for row in rows:
        table.append([row.case, f"{summary(row.values())} {row.unit}", f"{summary(row.reference_values())}",
                      summary(row.ratios()), row.goal_text(), row.verdict().strip("*"),
                      "/".join(f"{x:.1f}" for x in row.load)])
    print_table(["case", "energimon", "reference", "ratio", "goal", "verdict", "load"], table, file=file)


def emit(rows: list[Row], json_path: str | None) -> None:
    """Print the rows and, for run_all.py, write them as JSON."""
    print_rows(rows)
    if json_path:
        Path(json_path).write_text(json.dumps([asdict(r) for r in rows], indent=1), encoding="utf-8")


def add_common_args(ap) -> None:
    ap.add_argument("--quick", action="store_true", help="small sizes, few pairs (a CI smoke run)")
    ap.add_argument("--pairs", type=int, default=None, help="how many (energimon, reference) pairs")
    ap.add_argument("--json", default=None, help="also write the result rows to this file (for run_all.py)")
    ap.add_argument("--dir", default=None, help="parent folder for temp files (fsync cost depends on the disk)")


# -- temp dirs, files -----------------------------------------------------------------------------
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


def dir_bytes(path: Path, allocated: bool = True) -> int:
    """Bytes of every file under ``path``: what the disk allocated (as ``du``; a preallocated sparse file counts
    what it holds), or with ``allocated=False`` the apparent sizes."""
    files = [p.stat() for p in Path(path).rglob("*") if p.is_file()]
    return sum(st.st_blocks * 512 if allocated else st.st_size for st in files)


# -- real servers on loopback (stopped by PID) ------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def mosquitto(workdir: Path) -> Iterator[int]:
    """Debian's Mosquitto with its defaults, except ``max_queued_messages 0`` (a backlog of any size
    can queue for an offline persistent session); yields the port."""
    binary = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if binary is None:
        raise SystemExit("mosquitto not found (Debian: apt-get install mosquitto)")
    port = free_port()
    (workdir / "data").mkdir(parents=True)
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"user {pwd.getpwuid(os.getuid()).pw_name}\npersistence true\npersistence_location {workdir / 'data'}/\n"
        f"max_queued_messages 0\nlog_dest none\nlistener {port} 127.0.0.1\nallow_anonymous true\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("mosquitto did not start")
            time.sleep(0.05)
        yield port
    finally:
        stop_process(proc)


class Influxd:
    """Debian's influxd (1.6.7) from a temporary config on a free 127.0.0.1 port."""

    def __init__(self, root: Path, extra_data_conf: str = ""):
        self.root = root
        self.extra = extra_data_conf
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> Influxd:
        binary = shutil.which("influxd")
        if binary is None:
            raise SystemExit("influxd not found: apt-get install influxdb")
        port, root = free_port(), self.root
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "influxd.conf"
        conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
{self.extra}
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
""")
        log = (root / "influxd.log").open("ab")
        self.proc = subprocess.Popen([binary, "-config", str(conf)], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/ping", timeout=1).read()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit(f"influxd exited: {(root / 'influxd.log').read_text()[-2000:]}") from None
                time.sleep(0.05)
        raise SystemExit("influxd did not start")

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def version(self) -> str:
        return urllib.request.urlopen(f"{self.url}/ping").headers.get("X-Influxdb-Version") or "?"

    def query(self, q: str, db: str | None = None) -> dict:
        params = {"q": q, **({"db": db} if db else {})}
        req = urllib.request.Request(f"{self.url}/query", data=urllib.parse.urlencode(params).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def post(self, db: str, body: bytes) -> None:
        req = urllib.request.Request(f"{self.url}/write?db={db}&precision=ms", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 204, resp.status


# -- tables ---------------------------------------------------------------------------------------
def print_table(headers: list[str], rows: list[list[str]], file=sys.stdout) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        pairs_ = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs_)

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
