"""Security: secrets never in the output, world-readable secrets warned about, Modbus read-only by construction.

The leak test runs the real daemon (``energimon run``) against simulated Modbus meters and a real Mosquitto
that requires a password, and ``energimon test-mail`` against a real SMTP server (aiosmtpd) that requires
one, with DEBUG logging, and searches every byte they print for the secret values.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from helpers.daemon import RunningDaemon
from helpers.net import free_port
from helpers.wait import async_wait_for
from mqtt_broker import Publisher, add_password

import energimon.collector
from energimon.app.cli import main
from energimon.app.demo import write_demo_config
from energimon.collector.modbus import client as client_module
from energimon.collector.modbus.client import READ_FUNCTION_CODES, ReadOnlyModbusClient
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.security import secret_file_warnings, secrets_in_config
from energimon.store.sqlite import SqliteStore

# distinctive values: any appearance in the output is a leak, not a coincidence
MQTT_SECRET = "mqtt-Hemmelig-7Qx2Zr9Lk"
SMTP_SECRET = "smtp-Fortroligt-4Vb8Np3Js"
SECRETS = (MQTT_SECRET, SMTP_SECRET)


# -- world-readable secrets ---------------------------------------------------------------------------------------
def _write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_world_readable_config_with_a_secret_is_named_with_the_fix(tmp_path):
    cfg = _write(tmp_path / "energimon.toml", '[smtp]\nhost = "x"\nsender = "a@b.dk"\npassword = "s3cret"\n', 0o644)
    [warning] = secret_file_warnings(cfg)
    assert str(cfg) in warning and "smtp.password" in warning and f"chmod 640 {cfg}" in warning
    assert "s3cret" not in warning
    cfg.chmod(0o640)
    assert secret_file_warnings(cfg) == []


def test_world_readable_config_without_secrets_is_fine(tmp_path):
    cfg = _write(tmp_path / "energimon.toml", '[smtp]\nhost = "x"\nsender = "a@b.dk"\nusername = "u"\n', 0o644)
    assert secret_file_warnings(cfg) == []


def test_secret_files_named_by_the_config_are_checked_too(tmp_path):
    secret = _write(tmp_path / "influx.token", "tok\n", 0o644)
    cfg = _write(tmp_path / "energimon.toml",
                 '[store.influxdb]\nurl = "http://127.0.0.1:8086"\ntoken_file = "influx.token"\n', 0o640)
    [warning] = secret_file_warnings(cfg)
    assert str(secret) in warning and "store.influxdb.token_file" in warning and "chmod 640" in warning
    secret.chmod(0o600)
    assert secret_file_warnings(cfg) == []


def test_broken_toml_with_a_password_line_still_warns(tmp_path):
    cfg = _write(tmp_path / "energimon.toml", '[smtp\npassword = "s3cret"\n', 0o604)
    assert len(secret_file_warnings(cfg)) == 1
    assert secrets_in_config('[a]\nb = 1\n') == ([], [])


def test_check_config_prints_the_warning(tmp_path, capsys):
    cfg = _write(tmp_path / "energimon.toml", '[smtp]\nhost = "x"\nsender = "a@b.dk"\npassword = "s3cret"\n', 0o644)
    assert main(["check-config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert f"ADVARSEL: {cfg} holds secrets (smtp.password)" in captured.err and f"chmod 640 {cfg}" in captured.err
    assert "s3cret" not in captured.out + captured.err
    cfg.chmod(0o640)
    assert main(["check-config", str(cfg)]) == 0
    assert "WARNING" not in capsys.readouterr().err


# -- no secret in any output ----------------------------------------------------------------------------------------
class _Smtp:
    """aiosmtpd on 127.0.0.1 requiring AUTH (plain connection: the test is about the log, not the wire)."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.port = free_port()

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_SECRET.encode()
            return AuthResult(success=ok, handled=False)

        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.received.append(envelope.content)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator,
                                     auth_required=True, auth_require_tls=False)


def _secret_config(tmp_path: Path, sim: MeterSimulator, broker_port: int, smtp_port: int) -> tuple[Path, dict]:
    cfg = write_demo_config(tmp_path, sim, interval_s=1)
    smtp_password = tmp_path / "smtp.password"
    smtp_password.write_text(SMTP_SECRET + "\n", encoding="utf-8")
    smtp_password.chmod(0o644)  # world-readable on purpose: run must warn, naming the file, not its content
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"""
[log]
level = "DEBUG"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
allow_insecure_auth = true
username = "energimon"
password_file = "{smtp_password}"
sender = "energimon@soroe.dk"
fallback_recipients = ["energi@soroe.dk"]
timeout_s = 5

[mqtt]
host = "127.0.0.1"
port = {broker_port}
client_id = "energimon-sec"
username = "energimon"
reconnect_min_s = 0.2
reconnect_max_s = 1

[[mqtt.subscriptions]]
topic = "soroe/raadhus/udefoeler"
format = "json"
site = "soro-raadhus"
device = "udefoeler"
channel = "outdoor_temp_c"
role = "weather"
value_path = "temperature"
""", encoding="utf-8")
    env = {**os.environ, "ENERGIMON_MQTT__PASSWORD": MQTT_SECRET}
    return cfg, env


def _assert_no_secret(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{what} contains a secret value"
        assert secret.encode().hex() not in text and secret[::-1] not in text, f"{what} contains a secret, encoded"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("mqtt_password_ok", [True, False], ids=["right-password", "wrong-password"])
def test_a_full_run_never_prints_a_secret(tmp_path, mqtt_password_ok, mosquitto_factory):
    passwd = add_password(tmp_path, "energimon", MQTT_SECRET if mqtt_password_ok else "another-password-1")
    add_password(tmp_path, "publisher", "pub-pass")
    smtp = _Smtp()
    smtp.controller.start()
    try:
        broker = mosquitto_factory(listener_extra=f"allow_anonymous false\npassword_file {passwd}\n")
        out, err, code, cfg = asyncio.run(_run_daemon(tmp_path, broker.port, smtp.port, mqtt_password_ok))
        mail = subprocess.run([sys.executable, "-m", "energimon", "test-mail", "--config", str(cfg)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "ENERGIMON_MQTT__PASSWORD": MQTT_SECRET})
        check = subprocess.run([sys.executable, "-m", "energimon", "check-config", str(cfg)],
                               capture_output=True, text=True, timeout=60,
                               env={**os.environ, "ENERGIMON_MQTT__PASSWORD": MQTT_SECRET})
        status = subprocess.run([sys.executable, "-m", "energimon", "status", "--config", str(cfg)],
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "ENERGIMON_MQTT__PASSWORD": MQTT_SECRET})
    finally:
        smtp.controller.stop()

    assert code == 0, err
    # the secrets were really used: the broker accepted (or refused) the daemon, the SMTP server took the mail
    if mqtt_password_ok:
        assert "connected to 127.0.0.1" in out, out[-3000:]
        assert "udefoeler" in _devices_in_store(tmp_path / "store.db")
    else:
        assert "refused the connection" in out, out[-3000:]
    assert mail.returncode == 0, mail.stderr
    assert len(smtp.received) == 1
    assert check.returncode == 0, check.stderr
    assert status.returncode == 0, status.stdout + status.stderr
    # the world-readable secret file is named, with the fix, by run and by check-config
    secret_file = tmp_path / "smtp.password"
    assert f"{secret_file} (named by smtp.password_file" in out and f"chmod 640 {secret_file}" in out
    assert f"ADVARSEL: {secret_file} (named by smtp.password_file" in check.stderr
    assert "energimon.daemon: started:" in out and "energimon.daemon: stopped:" in out, "expected a log to search"
    for text, what in ((out, "run stdout"), (err, "run stderr"), (mail.stdout, "test-mail stdout"),
                       (mail.stderr, "test-mail stderr"), (check.stdout, "check-config stdout"),
                       (check.stderr, "check-config stderr"), (status.stdout, "status stdout"),
                       (status.stderr, "status stderr")):
        _assert_no_secret(text, what)
    # ... and every file the run left behind: store, spool (dead letters), job log, broker persistence
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p != secret_file]
    assert {"store.db", "spool.db", "jobs.db"} <= {p.name for p in files}
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data and secret.encode("utf-16-le") not in data, f"{path} holds a secret"


def _devices_in_store(path: Path) -> set[str]:
    if not path.exists():
        return set()
    store = SqliteStore(path, readonly=True)
    try:
        return set(store.latest()["device"])
    finally:
        store.close()


async def _run_daemon(tmp_path: Path, broker_port: int, smtp_port: int, mqtt_password_ok: bool):
    """``energimon run`` until it is ready and has used its MQTT password (stored a reading, or been refused);
    then SIGTERM.  Every wait is for a condition (the machine may be loaded)."""
    async with MeterSimulator() as sim:
        cfg, env = _secret_config(tmp_path, sim, broker_port, smtp_port)
        with RunningDaemon(cfg, env) as daemon:
            await async_wait_for(lambda: daemon.ready or daemon.proc.poll() is not None, 60, "READY=1 from run")
            assert daemon.proc.poll() is None, daemon.stderr
            if mqtt_password_ok:
                await async_wait_for(lambda: daemon.output_contains("connected to 127.0.0.1"), 30,
                                     lambda: f"the MQTT connection:\n{daemon.stdout[-2000:]}")
                publisher = await asyncio.to_thread(Publisher, broker_port, "sec-publisher", "publisher", "pub-pass")
                try:
                    payload = f'{{"temperature": 4.5, "ts": {int(time.time())}}}'
                    # published again until stored (the same reading: idempotent): the first message can come
                    # before the broker has the daemon's subscription
                    deadline = time.monotonic() + 30
                    while True:
                        await asyncio.to_thread(publisher.publish, "soroe/raadhus/udefoeler", payload)
                        try:
                            await async_wait_for(lambda: "udefoeler" in _devices_in_store(tmp_path / "store.db"),
                                                 1.0, "the reading in the store", 0.1)
                            break
                        except AssertionError:
                            if time.monotonic() > deadline:
                                raise
                finally:
                    await asyncio.to_thread(publisher.close)
            else:
                await async_wait_for(lambda: daemon.output_contains("refused the connection"), 30,
                                     lambda: f"the broker's refusal:\n{daemon.stdout[-2000:]}")
            # the meters' readings too, so the store and spool files searched below hold a run's worth of data
            await async_wait_for(lambda: "hovedmaaler" in _devices_in_store(tmp_path / "store.db"), 30,
                                 "Modbus readings in the store", 0.1)
            code = await asyncio.to_thread(daemon.terminate)
            return daemon.stdout, daemon.stderr, code, cfg


# -- credentials in URLs ---------------------------------------------------------------------------------------
URL_SECRET = "url-Hemmelig-9Tk4Wq2Rv"


def test_credentials_in_a_url_are_refused_and_never_printed(tmp_path):
    # InfluxDB 1.x users are used to http://user:password@host: refused when the configuration is loaded, pointing
    # to the settings that keep a password secret; the URL is shown with its credentials hidden

    port = free_port()
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f"""[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56

[store]
kind = "influxdb"
[store.influxdb]
url = "http://energimon:{URL_SECRET}@127.0.0.1:{port}"
mode = "v1"
database = "energimon"

[spool]
path = "{tmp_path}/spool.db"
""", encoding="utf-8")
    outputs = []
    for command in (["check-config", str(cfg)], ["run", "--config", str(cfg)], ["status", "--config", str(cfg)]):
        proc = subprocess.run([sys.executable, "-m", "energimon", *command], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        assert (f"line 9: store.influxdb.url: credentials in a URL are not accepted "
                f"('http://***@127.0.0.1:{port}')") in proc.stderr
        assert "store.influxdb.username and password or password_file (mode v1)" in proc.stderr
        outputs += [proc.stdout, proc.stderr]
    assert not (tmp_path / "spool.db").exists()  # run did not start
    # the same URL from the environment is named by its variable
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(f"energimon:{URL_SECRET}@", ""), encoding="utf-8")
    env = {**os.environ, "ENERGIMON_STORE__INFLUXDB__URL": f"http://energimon:{URL_SECRET}@127.0.0.1:{port}"}
    proc = subprocess.run([sys.executable, "-m", "energimon", "check-config", str(cfg)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert "ENERGIMON_STORE__INFLUXDB__URL (environment): store.influxdb.url: credentials in a URL" in proc.stderr
    outputs += [proc.stdout, proc.stderr]
    for text in outputs:
        assert URL_SECRET not in text


def test_every_place_that_prints_a_url_hides_its_credentials(capsys):
    """Behind the refusal: store errors, the job-run log's error texts and log lines hide a URL's credentials
    wherever one comes from (settings built in code, an exception text from a library)."""
    import logging

    from energimon.app.jobruns import error_text
    from energimon.logs import setup_logging
    from energimon.model import Reading
    from energimon.security import install_log_redaction, redact_url_credentials
    from energimon.store.base import StoreError
    from energimon.store.influx import InfluxStore
    from energimon.store.settings import InfluxSettings

    assert redact_url_credentials("a http://u:p@ss/w@h:1/x b https://t@h c") == "a http://***@h:1/x b https://***@h c"
    assert redact_url_credentials("http://h:8086/query?db=x") == "http://h:8086/query?db=x"
    closed = InfluxStore(InfluxSettings(url=f"http://energimon:{URL_SECRET}@127.0.0.1:{free_port()}", mode="v1",
                                        database="x", timeout_s=2))
    try:
        assert URL_SECRET not in closed.ping().detail
        with pytest.raises(StoreError) as err:
            closed.write([Reading("s", "d", "power_w", "grid", 1_700_000_000_000, 1.0)])
        assert "unreachable" in str(err.value) and URL_SECRET not in str(err.value)
    finally:
        closed.close()
    assert URL_SECRET not in error_text(RuntimeError(f"GET http://u:{URL_SECRET}@h/x failed"))
    setup_logging("INFO")
    install_log_redaction()
    try:
        raise RuntimeError(f"cannot reach https://u:{URL_SECRET}@influx.example:8086")
    except RuntimeError:
        logging.getLogger("energimon.test").exception("store at http://u:%s@h failed", URL_SECRET)
    out = capsys.readouterr().out
    assert "store at http://***@h failed" in out and "https://***@influx.example:8086" in out
    assert URL_SECRET not in out


# -- Modbus: read-only by construction -----------------------------------------------------------------------------
WRITE_CALLS = ("write_register", "write_registers", "write_coil", "write_coils", "mask_write_register",
               "readwrite_registers")


def test_read_only_client_has_no_write_method():
    public = {n for n in dir(ReadOnlyModbusClient) if not n.startswith("_")}
    assert public == {"connect", "close", "read", "connected"}, public
    for name in dir(ReadOnlyModbusClient):
        assert not re.search(r"write|mask|raw|execute|send", name, re.IGNORECASE), name


def test_read_only_client_read_maps_only_to_function_codes_1_to_4():
    from pymodbus.client import AsyncModbusTcpClient
    from pymodbus.pdu.bit_message import ReadCoilsRequest, ReadDiscreteInputsRequest
    from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, ReadInputRegistersRequest

    assert READ_FUNCTION_CODES == {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
    fc_of = {"read_coils": ReadCoilsRequest.function_code,
             "read_discrete_inputs": ReadDiscreteInputsRequest.function_code,
             "read_holding_registers": ReadHoldingRegistersRequest.function_code,
             "read_input_registers": ReadInputRegistersRequest.function_code}
    assert sorted(fc_of.values()) == [1, 2, 3, 4]
    # every method read() calls on the pymodbus client (from its source, so a new branch cannot slip in)
    tree = ast.parse(textwrap.dedent(inspect.getsource(ReadOnlyModbusClient.read)))
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and isinstance(n.func.value, ast.Name) and n.func.value.id == "c"}
    assert called == set(fc_of), called
    for name in called:
        assert hasattr(AsyncModbusTcpClient, name)

    # and at run time: each table goes to its read call, anything else is refused
    class Recorder:
        def __init__(self):
            self.calls = []

        def __getattr__(self, name):
            async def call(*args, **kwargs):
                self.calls.append(name)
                return None
            return call

    ro = ReadOnlyModbusClient("127.0.0.1", 1, 0.1)
    ro._client = Recorder()
    for table, fc in READ_FUNCTION_CODES.items():
        asyncio.run(ro.read(table, 0, 1, 1))
        assert fc_of[ro._client.calls[-1]] == fc
    with pytest.raises(ValueError):
        asyncio.run(ro.read("write", 0, 1, 1))


def test_collector_package_never_references_pymodbus_write_calls():
    sources = [p for root in energimon.collector.__path__ for p in Path(root).rglob("*.py")]
    assert len(sources) > 20 and Path(client_module.__file__) in sources
    pattern = re.compile(r"\b(" + "|".join(WRITE_CALLS) + r")\b")
    offenders = [f"{p}:{i}: {line.strip()}" for p in sources
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == [], "pymodbus write calls in the collector:\n" + "\n".join(offenders)
    # the raw pymodbus client is only ever constructed inside the read-only wrapper
    raw = re.compile(r"\b(Async)?Modbus(Tcp|Udp|Serial|Tls)Client\b")
    holders = {p.name for p in sources if raw.search(p.read_text(encoding="utf-8"))}
    assert holders == {"client.py"}, holders
