"""Shared fixtures: real servers started from the binaries on PATH, on free loopback ports, in temp dirs.

One fixture per kind of server: ``influxd`` (and ``influxd_auth``, ``influxd_tls``, ``influx_settings``),
``victoria``, ``mosquitto`` (and ``mosquitto_factory`` for other configurations), ``smtp`` (and the fake
Microsoft endpoints ``entra`` and ``graph``), ``served`` (the web app on uvicorn).  Ports come from
:func:`helpers.net.free_port`; waiting is :func:`helpers.wait.wait_for` — never a fixed sleep.

A missing binary fails the test (CI installs the Debian packages; see .ci/run) — never a silent skip.
Servers are stopped by the PID we started them with.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from helpers.net import free_port
from helpers.wait import wait_for


@pytest.fixture(autouse=True)
def _danish_messages():
    """Each test starts in the CLI's default language (Danish): ``main(["--lang", "en", …])`` in one test sets the
    process's message language, which a later test calling a function directly must not inherit."""
    from energimon.cliutil import set_lang

    set_lang("da")
    yield
    set_lang("da")


@pytest.fixture(autouse=True)
def _logging_restored():
    """A command run in-process (``main(["probe", …])``) sets up logging as the real process would: the root
    logger's handler on the (captured) stdout and pymodbus silenced.  Later tests must not inherit that, e.g. a
    test that reads pymodbus's DEBUG lines through caplog."""
    import logging

    root = logging.getLogger()
    names = ("pymodbus", "apscheduler")
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for n, level in saved[2].items():
        logging.getLogger(n).setLevel(level)


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: install the Debian package '{package}' (see .ci/run)")
    return path


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 20.0,
               context: ssl.SSLContext | None = None) -> None:
    """Until ``url`` answers (a 4xx counts: the server is up); the server's log when it exits or never answers."""

    def up() -> bool:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1, context=context) as resp:
                return resp.status < 300
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except OSError:
            return False

    wait_for(up, timeout_s, lambda: f"{url} to answer:\n{log.read_text(errors='replace')[-3000:]}")


class InfluxServer:
    """Debian's real influxd (1.6.7), from a temporary config, on 127.0.0.1."""

    ssl_context: ssl.SSLContext | None = None  # https servers: how the tests' own requests verify it

    def __init__(self, root: Path, *, auth: bool = False):
        self.binary = require_binary("influxd", "influxdb")
        self.root = root
        self.auth = auth
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        root.mkdir(parents=True, exist_ok=True)
        self.config = root / "influxd.conf"
        self.log = root / "influxd.log"

    def _write_config(self) -> None:
        # The RPC (backup) port must be free too; it changes on every start.
        self.config.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{self.root}/meta"
[data]
  dir = "{self.root}/data"
  wal-dir = "{self.root}/wal"
  query-log-enabled = false
  wal-fsync-delay = "0s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
  auth-enabled = {"true" if self.auth else "false"}
  max-row-limit = 0
[logging]
  level = "warn"
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
""",
            encoding="utf-8",
        )

    def start(self) -> InfluxServer:
        self._write_config()
        log = self.log.open("ab")
        self.proc = subprocess.Popen([self.binary, "-config", str(self.config)], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        _wait_http(f"{self.url}/ping", self.proc, self.log, context=self.ssl_context)
        return self

    def stop(self) -> None:
        """Terminate by PID (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case a test paused it
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def query(self, q: str, db: str | None = None, auth: tuple[str, str] | None = None) -> dict:
        """Raw InfluxQL over /query (POST) — the tests' own view, independent of the store code."""
        import base64
        import json

        params = {"q": q, "epoch": "ms"}
        if db:
            params["db"] = db
        req = urllib.request.Request(f"{self.url}/query", data=urllib.parse.urlencode(params).encode(),
                                     method="POST")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        with urllib.request.urlopen(req, timeout=30, context=self.ssl_context) as resp:
            return json.loads(resp.read())


_db_counter = itertools.count()


def unique_db(prefix: str = "t") -> str:
    return f"{prefix}_{os.getpid()}_{next(_db_counter)}"


@pytest.fixture(scope="session")
def influxd(tmp_path_factory):
    """One influxd (no auth) for the session; tests take a fresh database each (``influx_db``)."""
    server = InfluxServer(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


ADMIN = ("admin", "admin-secret-pw")
WRITER = ("energimon", "correct-horse-battery")


@pytest.fixture(scope="session")
def influxd_auth(tmp_path_factory):
    """influxd with auth-enabled: an admin and a user ``energimon`` with ALL on database ``secured``."""
    server = InfluxServer(tmp_path_factory.mktemp("influxd-auth"), auth=True).start()
    # With no users yet, influxd accepts creating the first admin without credentials.
    server.query(f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' WITH ALL PRIVILEGES")
    server.query("CREATE DATABASE secured", auth=ADMIN)
    server.query(f"CREATE USER {WRITER[0]} WITH PASSWORD '{WRITER[1]}'", auth=ADMIN)
    server.query(f"GRANT ALL ON secured TO {WRITER[0]}", auth=ADMIN)
    yield server
    server.stop()


class InfluxTlsServer(InfluxServer):
    """influxd serving HTTPS only, with a certificate from a test CA (``.ca``) valid for ``localhost`` alone.

    ``url`` is ``https://localhost:PORT``; the same server at ``https://127.0.0.1:PORT`` is a wrong host name.
    """

    def __init__(self, root: Path):
        from tls_certs import issue_server_cert, make_ca

        super().__init__(root)
        self.ca = make_ca(root / "pki", "influx-ca")
        self.cert, self.key = issue_server_cert(self.ca, root / "pki", "influxd", ("DNS:localhost",))
        self.url = f"https://localhost:{self.port}"
        self.ssl_context = ssl.create_default_context(cafile=str(self.ca.crt))

    def _write_config(self) -> None:
        super()._write_config()
        tls = (f'[http]\n  https-enabled = true\n  https-certificate = "{self.cert}"\n'
               f'  https-private-key = "{self.key}"\n')
        self.config.write_text(self.config.read_text(encoding="utf-8").replace("[http]\n", tls, 1), encoding="utf-8")


@pytest.fixture(scope="session")
def influxd_tls(tmp_path_factory):
    """influxd over HTTPS (no auth) with its own test CA; see :class:`InfluxTlsServer`."""
    server = InfluxTlsServer(tmp_path_factory.mktemp("influxd-tls")).start()
    yield server
    server.stop()


@pytest.fixture
def influx_settings(influxd):
    """Settings for a fresh, empty database on the session influxd (v1 mode)."""
    from energimon.store.settings import InfluxSettings

    return InfluxSettings(url=influxd.url, mode="v1", database=unique_db(), create_database=True, timeout_s=5)


class VictoriaMetrics:
    """victoria-metrics: a real server accepting line protocol on /api/v2/write (not InfluxDB)."""

    def __init__(self, root: Path):
        self.binary = require_binary("victoria-metrics", "victoria-metrics")
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / "vm.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> VictoriaMetrics:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, f"-storageDataPath={self.root / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
             "-loggerLevel=ERROR", "-search.latencyOffset=0s", "-retentionPeriod=100y"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        log.close()
        _wait_http(f"{self.url}/health", self.proc, self.log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


@pytest.fixture(scope="session")
def victoria(tmp_path_factory):
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria")).start()
    yield server
    server.stop()


# -- mail: one SMTP server fixture, the fake Microsoft endpoints (tests/mail_servers.py) -------------------------
@pytest.fixture(scope="session")
def mail_pki(tmp_path_factory):
    """A test CA and a certificate for 127.0.0.1/localhost, shared by the mail servers of a session."""
    from mqtt_broker import make_tls_files

    return make_tls_files(tmp_path_factory.mktemp("mail-pki"))


@pytest.fixture
def smtp(mail_pki):
    """aiosmtpd with STARTTLS and a password login (see mail_servers.SmtpServer for the other kinds)."""
    from mail_servers import SmtpServer

    server = SmtpServer(mail_pki).start()
    yield server
    server.stop()


@pytest.fixture
def entra(mail_pki):
    """A fake Microsoft Entra ID tenant (OpenID configuration + token endpoint) over TLS."""
    from mail_servers import FakeEntraId

    server = FakeEntraId(mail_pki)
    yield server
    server.stop()


@pytest.fixture
def graph(mail_pki, entra):
    """A fake Microsoft Graph sendMail over TLS that accepts tokens the ``entra`` fixture issued."""
    from mail_servers import FakeGraph

    server = FakeGraph(mail_pki, entra)
    yield server
    server.stop()


# -- MQTT: a real Mosquitto (tests/mqtt_broker.py) ------------------------------------------------------------
@pytest.fixture
def mosquitto(tmp_path):
    """Mosquitto on a free loopback port (anonymous, persistence on), its files in ``tmp_path/broker``; one per
    test (sessions and retained messages must not leak between tests).  ``restart()`` keeps port and data."""
    from mqtt_broker import Broker

    broker = Broker(tmp_path / "broker").start()
    yield broker
    broker.stop()


@pytest.fixture
def mosquitto_factory(tmp_path):
    """``make(start=True, **config)`` -> a :class:`mqtt_broker.Broker` with another configuration (TLS and
    passwords in ``listener_extra``, limits in ``global_extra``), or not started yet (``start=False``: the port
    refuses connections until ``start()``).  Every broker made is stopped by PID at the end of the test."""
    from mqtt_broker import Broker

    made: list[Broker] = []

    def make(start: bool = True, **config) -> Broker:
        broker = Broker(tmp_path / f"broker-{len(made)}", **config)
        made.append(broker)
        return broker.start() if start else broker

    yield make
    for broker in made:
        broker.stop()


# -- web: the app on a real uvicorn server (tests/web_support.py, tests/helpers/web_http.py) -------------------
@pytest.fixture
def served(tmp_path):
    """``start(**web)`` -> ``(settings, server)``: the app for :func:`helpers.web_http.web_settings` (its ``[web]``
    keys from ``web``) on a free loopback port, with an empty store and the user ``energi@soroe.dk``; every server
    started is stopped at the end of the test."""
    from helpers.web_http import web_settings
    from web_support import PASSWORD, WebServer

    from energimon.store.sqlite import SqliteStore
    from energimon.web.accounts import Accounts
    from energimon.web.app import create_app

    servers = []

    def start(**web):
        s = web_settings(tmp_path, **web)
        SqliteStore(s.store.path).close()
        acc = Accounts(s.web.data_dir)
        if acc.get("energi@soroe.dk") is None:
            acc.add("energi@soroe.dk", PASSWORD, "energi")
        acc.close()
        srv = WebServer(create_app(s), s.web).start()
        servers.append(srv)
        return s, srv

    yield start
    for srv in servers:
        srv.stop()
