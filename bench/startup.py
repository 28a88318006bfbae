"""Start-up: how long the ``energimon`` command takes before it does its work, as a process.

In pairs, A B A B …, each a fresh process of the installed console script (what a user or systemd runs):

* ``energimon --help`` (goal < 0.3 s);
* ``energimon check-config config/energimon.example.toml`` (goal < 0.3 s);
* ``energimon run``: from the process start until the embedded store holds the first reading — an MQTT
  message queued at a real Mosquitto for energimon's persistent session while it was stopped, so the
  figure does not depend on a Modbus poll interval (polls are aligned to the interval's wall-clock
  ticks by design) (goal < 1 s).

Reference in every pair: ``python -c pass`` with the same interpreter (what any Python program pays
before its first import), to show the load at that moment; the goals are absolute.

The commands run with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` removed from their
environment), so the warm-up run before the pairs writes it: an installed energimon has its ``.pyc`` files
from ``pip install``, and a development checkout would otherwise compile every module on every start.

    .venv/bin/python bench/startup.py [--quick] [--pairs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import Row, add_common_args, bench_dir, emit, mosquitto, pairs, stop_process

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "energimon.example.toml"
# the bytecode cache on, as after an installation (see the module's docstring)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed_process(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, env=ENV)
    return time.perf_counter() - t0


class FirstReading:
    """``energimon run`` with one MQTT message waiting at the broker: seconds from start to it in the store."""

    def __init__(self, root: Path, port: int, energimon: str):
        self.root, self.port, self.energimon = root, port, energimon
        self.config = root / "energimon.toml"
        self.config.write_text(
            '[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.4318\nlongitude = 11.556\n'
            f'[spool]\npath = "{root / "spool.db"}"\n[store]\nkind = "sqlite"\npath = "{root / "store.db"}"\n'
            f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "bench-startup"\n'
            '[[mqtt.subscriptions]]\ntopic = "bench/{site}/{device}/{channel}"\nrole = "grid"\n', encoding="utf-8")
        self.sent = 0
        proc = self._start()  # once, so the broker has the session and its subscription
        try:
            deadline = time.monotonic() + 60
            while "QoS 1 granted" not in proc.stdout.readline():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("energimon run did not subscribe")
        finally:
            stop_process(proc)

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen([self.energimon, "run", "--config", str(self.config)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=ENV)

    def count(self) -> int:
        import sqlite3

        path = self.root / "store.db"
        if not path.exists():
            return 0
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM points").fetchone()[0]
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()

    def __call__(self) -> float:
        self.sent += 1
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", "1",
                        "-t", "bench/soro-raadhus/hovedmaaler/power_w", "-m", str(1000 + self.sent)], check=True)
        t0 = time.perf_counter()
        proc = self._start()
        try:
            while self.count() < self.sent:
                if proc.poll() is not None or time.perf_counter() - t0 > 60:
                    raise SystemExit(f"energimon run stored nothing: {proc.stdout.read()[-2000:]}")
                time.sleep(0.002)
            return time.perf_counter() - t0
        finally:
            stop_process(proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap)
    args = ap.parse_args()
    n_pairs = args.pairs or (3 if args.quick else 9)
    energimon = str(Path(sys.executable).with_name("energimon"))
    ref = [sys.executable, "-c", "pass"]
    ref_name = "python -c pass (same interpreter, same pair)"
    rows = []
    for case, cmd in (("energimon --help", [energimon, "--help"]),
                      ("energimon check-config (the example config)", [energimon, "check-config", str(EXAMPLE)])):
        timed_process(cmd)  # warm the page cache
        p, r, load = pairs(n_pairs, lambda cmd=cmd: timed_process(cmd), lambda: timed_process(ref), progress=case)
        rows.append(Row("startup", case, "s", 1, "time", ref_name, p, r, {"seconds_max": 0.3}, load))
    with bench_dir(args.dir) as root, mosquitto(root / "broker") as port:
        first = FirstReading(root, port, energimon)
        p, r, load = pairs(n_pairs, first, lambda: timed_process(ref), progress="run → first reading")
        rows.append(Row("startup", "energimon run → first reading in the embedded store", "s", 1, "time", ref_name,
                        p, r, {"seconds_max": 1.0}, load, "an MQTT message queued for its session while it was down"))
    emit(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
