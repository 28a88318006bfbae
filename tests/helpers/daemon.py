"""``energimon run`` as a subprocess whose readiness is the systemd one: ``READY=1`` on ``$NOTIFY_SOCKET``.

The daemon sends ``READY=1`` once collectors, spool and store are up (see energimon.app.systemd), so a test waits
for that datagram (or for the process to exit) instead of sleeping.  Stopped by PID only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from helpers.wait import wait_for


class RunningDaemon:
    def __init__(self, cfg: Path, env: dict[str, str] | None = None):
        self.cfg = cfg
        # a short path: AF_UNIX addresses are limited to ~108 bytes
        self._dir = tempfile.mkdtemp(prefix="energimon-notify-")
        self.notify_path = Path(self._dir) / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.notify_path))
        self.sock.setblocking(False)
        self.messages: list[str] = []
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "energimon", "run", "--config", str(cfg)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            encoding="utf-8", errors="replace",
            env={**(os.environ if env is None else env), "NOTIFY_SOCKET": str(self.notify_path)},
        )
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True)]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
        stream.close()

    def _drain(self) -> None:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return

    @property
    def ready(self) -> bool:
        self._drain()
        return any(m.startswith("READY=1") for m in self.messages)

    def wait_ready_or_exit(self, timeout_s: float = 60) -> bool:
        """True once READY=1 came, False if the process exited first."""
        wait_for(lambda: self.ready or self.proc.poll() is not None, timeout_s,
                 lambda: f"READY=1 or an exit from energimon run\n{self.stdout[-2000:]}\n{self.stderr[-2000:]}")
        if self.ready:
            return True
        self._join()
        return False

    def output_contains(self, text: str) -> bool:
        return any(text in line for line in list(self.out))

    def terminate(self, timeout_s: float = 30) -> int:
        """SIGTERM by PID and the exit code."""
        os.kill(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self._join()
        return code

    def _join(self) -> None:
        self.proc.wait(30)
        for t in self._readers:
            t.join(10)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.sock.close()
        with contextlib.suppress(OSError):
            self.notify_path.unlink()
            os.rmdir(self._dir)

    def __enter__(self) -> RunningDaemon:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
