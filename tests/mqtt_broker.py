"""A real Mosquitto for the MQTT tests: started from a temp config on a free loopback port, stopped by PID.

Tests get one from the ``mosquitto`` / ``mosquitto_factory`` fixtures (tests/conftest.py); the fault
scenarios, which bench/faults_long.py runs too, start :class:`Broker` themselves.
A missing ``mosquitto`` binary fails the test; it is never skipped.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from helpers.net import free_port
from helpers.wait import wait_for
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO_CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def mosquitto_binary() -> str:
    for c in MOSQUITTO_CANDIDATES:
        found = shutil.which(c)
        if found:
            return found
    pytest.fail("mosquitto not found (Debian: apt-get install mosquitto); the MQTT tests need the real broker")


@dataclass
class Broker:
    """One Mosquitto process.  ``restart()`` keeps port, config and persistence directory."""

    workdir: Path
    port: int = field(default_factory=free_port)
    listener_extra: str = ""  # lines for the listener (TLS, password file …)
    global_extra: str = ""
    proc: subprocess.Popen | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def write_conf(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir(exist_ok=True)
        listener = self.listener_extra or "allow_anonymous true\n"
        self.conf_path.write_text(
            # as root, mosquitto would drop to user 'mosquitto', which cannot write our temp dirs
            f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
            f"per_listener_settings true\n"
            f"persistence true\n"
            f"persistence_location {self.workdir / 'data'}/\n"
            f"log_dest file {self.log_path}\n"
            f"log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
            f"{self.global_extra}\n"
            f"listener {self.port} 127.0.0.1\n"
            f"{listener}\n",
            encoding="utf-8",
        )

    def start(self, timeout_s: float = 10.0) -> Broker:
        if not self.conf_path.exists():
            self.write_conf()
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

        def listening() -> bool:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                pytest.fail(f"mosquitto exited with {self.proc.returncode}: {err}\n{self.log_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
            return False

        try:
            wait_for(listening, timeout_s, f"mosquitto to listen on 127.0.0.1:{self.port}")
        except AssertionError:
            self.stop()
            raise
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop by PID (SIGTERM: mosquitto saves its persistence file first)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def running_broker(workdir: Path, **kwargs) -> Iterator[Broker]:
    broker = Broker(workdir, **kwargs)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def make_tls_files(workdir: Path, name: str = "ca") -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost (see tests/tls_certs.py)."""
    from tls_certs import issue_server_cert, make_ca

    ca = make_ca(workdir, name)
    crt, key = issue_server_cert(ca, workdir, "server", ("IP:127.0.0.1", "DNS:localhost"))
    return {"ca": ca.crt, "cert": crt, "key": key}


def add_password(workdir: Path, user: str, password: str) -> Path:
    """A mosquitto password file made with the real ``mosquitto_passwd``."""
    path = workdir / "passwd"
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.fail("mosquitto_passwd not found (Debian package mosquitto)")
    args = [tool, "-b"] + ([] if path.exists() else ["-c"]) + [str(path), user, password]
    subprocess.run(args, check=True, capture_output=True)
    path.chmod(0o600)
    return path


class Publisher:
    """A QoS 1 publisher that waits for the broker's PUBACK of every message."""

    def __init__(self, port: int, client_id: str = "test-publisher", username: str | None = None,
                 password: str | None = None, **tls):
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        if tls:
            self.client.tls_set(**tls)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        self.publish_many([(topic, payload)], qos, retain)

    def publish_many(self, items: Iterable[tuple[str, bytes | str]], qos: int = 1, retain: bool = False,
                     timeout_s: float = 30.0) -> None:
        infos = [self.client.publish(t, p, qos=qos, retain=retain) for t, p in items]
        deadline = time.monotonic() + timeout_s
        for info in infos:
            info.wait_for_publish(timeout=max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise AssertionError(f"broker did not acknowledge message {info.mid} within {timeout_s} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def thread_publisher(port: int, items: list[tuple[str, str]], interval_s: float, stop: threading.Event,
                     client_id: str) -> threading.Thread:
    """Publish ``items`` (QoS 1) one by one every ``interval_s`` in a thread; the thread ends when the
    broker has acknowledged all of them.  ``thread.unacked`` counts those it did not within 30 s."""

    def run() -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        client.connect("127.0.0.1", port)
        client.loop_start()
        infos = []
        for t, p in items:
            if stop.is_set():
                break
            infos.append(client.publish(t, p, qos=1))
            time.sleep(interval_s)
        with contextlib.suppress(AssertionError):  # what is not acknowledged by then is counted below
            wait_for(lambda: all(i.is_published() for i in infos), 30, "the broker's acknowledgements", 0.02)
        th.unacked = sum(not i.is_published() for i in infos)  # type: ignore[attr-defined]
        client.disconnect()
        client.loop_stop()

    th = threading.Thread(target=run, daemon=True)
    th.unacked = -1  # type: ignore[attr-defined]
    th.start()
    return th
