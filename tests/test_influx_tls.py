"""InfluxDB over real TLS: Debian's influxd serving HTTPS with a certificate from a CA made in the test
(and victoria-metrics over HTTPS for the v2 write path through influxdb-client).

Trusted through ``ca_file``: written and read back.  Not trusted (system CAs), or the wrong host name: a
clear error naming the URL and what to set, while the spool keeps every reading until the setting is fixed.
``verify_tls = false``: works, and says once that it is unsafe.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import urllib.parse
import urllib.request

import pytest
from conftest import VictoriaMetrics, _wait_http, unique_db
from helpers.wait import async_wait_for, wait_for
from tls_certs import issue_server_cert, make_ca

from energimon.config.settings import ConfigError, load_settings, settings_from_dict
from energimon.model import Reading, SeriesKey, now_ms
from energimon.store.base import StoreError
from energimon.store.influx import InfluxStore
from energimon.store.settings import InfluxSettings
from energimon.store.spool import Spool
from energimon.store.writer import SpoolWriter

T0 = (now_ms() - 3_600_000) // 1000 * 1000
SITE, DEVICE = "soro-raadhus", "hovedmaaler"


def readings(n: int, base_ms: int = T0) -> list[Reading]:
    return [Reading(SITE, DEVICE, "power_w", "grid", base_ms + i * 1000, 1000.0 + i / 4) for i in range(n)]


def stored(server, db: str) -> list[tuple[int, float]]:
    """The points in influxd, through the tests' own HTTPS client (verified with the test CA)."""
    doc = server.query('SELECT "power_w" FROM "electricity"', db=db)
    return [(t, v) for s in doc["results"][0].get("series", []) for t, v in s["values"]]


def v1(server, **kw) -> InfluxSettings:
    return InfluxSettings(**{"url": server.url, "mode": "v1", "database": unique_db("tls"), "create_database": True,
                             "timeout_s": 5, **kw})


# -- influxd over HTTPS (v1 mode) ---------------------------------------------------------------------
def test_ca_file_from_the_config_file_verifies_the_server_write_and_read_back(influxd_tls, tmp_path):
    db = unique_db("tls")
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(f'[store]\nkind = "influxdb"\n[store.influxdb]\nurl = "{influxd_tls.url}"\nmode = "v1"\n'
                   f'database = "{db}"\ncreate_database = true\nca_file = "{influxd_tls.ca.crt}"\n', encoding="utf-8")
    settings = load_settings(cfg).store.influxdb
    assert settings.url.startswith("https://localhost:") and settings.ca_file == influxd_tls.ca.crt
    store = InfluxStore(settings)
    try:
        health = store.ping()
        assert health.reachable, health.detail
        assert "1.6.7" in health.detail  # the version header came over the verified connection
        batch = readings(50)
        assert store.write(batch) == []
        ts, values = store.read_raw_ms(SeriesKey(SITE, DEVICE, "power_w"), T0, T0 + 3_600_000)
    finally:
        store.close()
    assert ts.tolist() == [r.ts_ms for r in batch] and values.tolist() == [r.value for r in batch]
    assert stored(influxd_tls, db) == [(r.ts_ms, r.value) for r in batch]


def test_untrusted_certificate_is_a_clear_error_and_the_spool_keeps_every_reading(influxd_tls, tmp_path, caplog):
    """The municipality's own CA is not among the system CAs: nothing is written, nothing is lost."""
    caplog.set_level(logging.INFO)
    no_ca = v1(influxd_tls)
    spool = Spool(tmp_path / "spool.db")
    batch = readings(300)
    assert spool.put(batch, "test").accepted == 300

    async def run_writer(store: InfluxStore, seconds: float, until=None) -> SpoolWriter:
        """The writer for ``seconds`` (several retries), or until ``until()`` holds (at most ``seconds``)."""
        writer = SpoolWriter(spool, store, batch_size=100, idle_wait_s=0.05, max_backoff_s=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(writer.run(stop))
        if until is None:
            await asyncio.sleep(seconds)  # a duration: the retries in it are what the test counts
        else:
            await async_wait_for(until, seconds, lambda: f"the writer's condition ({writer.last_error})")
        stop.set()
        await asyncio.wait_for(task, 10)
        writer.close()
        return writer

    store = InfluxStore(no_ca)  # create_database fails too, and is retried before the next write
    try:
        health = store.ping()
        writer = asyncio.run(run_writer(store, 1.5))  # ~7 attempts with back-off 0.2 s
    finally:
        store.close()
    assert writer.written == 0 and spool.backlog() == 300
    assert not health.reachable and "did not verify" in health.detail  # what `energimon status` shows
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors  # said once, not at every retry
    msg = errors[0]
    assert "readings stay in the spool" in msg
    assert f"InfluxDB {influxd_tls.url} " in msg
    assert "TLS certificate did not verify" in msg and "unable to get local issuer certificate" in msg
    assert "set store.influxdb.ca_file to that CA's PEM file" in msg
    assert stored(influxd_tls, no_ca.database) == []  # the database was never even created over TLS: no data

    # The operator sets ca_file: the same spool drains, every reading once.
    fixed = no_ca.model_copy(update={"ca_file": influxd_tls.ca.crt})
    store = InfluxStore(fixed)
    try:
        writer = asyncio.run(run_writer(store, 20, until=lambda: spool.backlog() == 0))
    finally:
        store.close()
    assert spool.backlog() == 0 and writer.written == 300
    assert stored(influxd_tls, fixed.database) == [(r.ts_ms, r.value) for r in batch]
    spool.close()


def test_wrong_host_name_is_refused_with_the_reason(influxd_tls):
    """The certificate names ``localhost``; the same server at 127.0.0.1 must not be trusted."""
    wrong = v1(influxd_tls, url=influxd_tls.url.replace("localhost", "127.0.0.1"), ca_file=influxd_tls.ca.crt)
    store = InfluxStore(wrong)
    try:
        with pytest.raises(StoreError) as err:
            store.write(readings(3))
        health = store.ping()
    finally:
        store.close()
    text = str(err.value)
    assert f"InfluxDB {wrong.url} " in text and "TLS certificate did not verify" in text
    assert "not valid for '127.0.0.1'" in text
    assert "put the host name the certificate was issued for in store.influxdb.url" in text
    assert not health.reachable and "not valid for '127.0.0.1'" in health.detail


def test_a_ca_file_that_did_not_sign_the_server_is_named(influxd_tls, tmp_path):
    other = make_ca(tmp_path / "other", "other-ca")
    store = InfluxStore(v1(influxd_tls, ca_file=other.crt))
    try:
        health = store.ping()
    finally:
        store.close()
    assert not health.reachable
    assert "did not verify" in health.detail
    assert f"check that store.influxdb.ca_file ({other.crt}) is the CA that signed it" in health.detail


def test_verify_tls_false_works_and_warns_once(influxd_tls, caplog):
    caplog.set_level(logging.INFO)
    # Neither the CA nor the host name would verify: with verify_tls = false both are ignored.
    insecure = v1(influxd_tls, url=influxd_tls.url.replace("localhost", "127.0.0.1"), verify_tls=False)
    stores = [InfluxStore(insecure), InfluxStore(insecure.model_copy())]  # e.g. the writer and an analytics run
    try:
        assert stores[0].write(readings(10)) == []
        ts, _ = stores[1].read_raw_ms(SeriesKey(SITE, DEVICE, "power_w"), T0, T0 + 60_000)
    finally:
        for s in stores:
            s.close()
    assert len(ts) == 10 and len(stored(influxd_tls, insecure.database)) == 10
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "verify_tls" in r.getMessage()]
    assert len(warned) == 1, warned
    assert insecure.url in warned[0] and "NOT checked" in warned[0] and "ca_file" in warned[0]


# -- the v2 write path (influxdb-client) over HTTPS ------------------------------------------------------
class VictoriaTls(VictoriaMetrics):
    """victoria-metrics serving HTTPS (its -tls flags), certificate for localhost from a test CA."""

    def __init__(self, root):
        super().__init__(root)
        self.ca = make_ca(root / "pki", "vm-ca")
        self.cert, self.key = issue_server_cert(self.ca, root / "pki", "vm", ("DNS:localhost",))
        self.url = f"https://localhost:{self.port}"
        self.ssl_context = ssl.create_default_context(cafile=str(self.ca.crt))

    def start(self) -> VictoriaTls:
        import subprocess

        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, f"-storageDataPath={self.root / 'data'}", f"-httpListenAddr=127.0.0.1:{self.port}",
             "-loggerLevel=ERROR", "-search.latencyOffset=0s", "-retentionPeriod=100y",
             "-tls", f"-tlsCertFile={self.cert}", f"-tlsKeyFile={self.key}"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        log.close()
        _wait_http(f"{self.url}/health", self.proc, self.log, context=self.ssl_context)
        return self

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5, context=self.ssl_context) as resp:
            return resp.read()


@pytest.fixture
def victoria_tls(tmp_path):
    server = VictoriaTls(tmp_path / "vm").start()
    yield server
    server.stop()


def test_v2_mode_verifies_with_ca_file_and_explains_a_failure(victoria_tls):
    base = {"url": victoria_tls.url, "mode": "v2", "token": "t0ken", "org": "soro", "bucket": "energi", "timeout_s": 5}
    store = InfluxStore(InfluxSettings(**base))  # system CAs only
    try:
        with pytest.raises(StoreError) as err:
            store.write(readings(2))
    finally:
        store.close()
    assert "TLS certificate did not verify" in str(err.value) and "set store.influxdb.ca_file" in str(err.value)

    store = InfluxStore(InfluxSettings(**base, ca_file=victoria_tls.ca.crt))
    batch = readings(5)
    try:
        assert store.write(batch) == []
    finally:
        store.close()
    query = urllib.parse.urlencode({"match[]": "electricity_power_w"})
    rows: list[dict] = []

    def exported() -> bool:
        victoria_tls.get("/internal/force_flush")
        rows[:] = [json.loads(line) for line in victoria_tls.get(f"/api/v1/export?{query}").decode().splitlines()
                   if line.strip()]
        return sum(len(r["values"]) for r in rows) >= 5

    wait_for(exported, 10, lambda: f"5 points exported by victoria-metrics, got {rows}", 0.1)
    assert [(t, v) for r in rows for t, v in zip(r["timestamps"], r["values"], strict=True)] == [
        (r.ts_ms, r.value) for r in batch]


# -- configuration --------------------------------------------------------------------------------------
def influx_cfg(**kw) -> dict:
    return {"store": {"kind": "influxdb", "influxdb": {"url": "https://influx.soroe.dk:8086", "mode": "v1",
                                                      "database": "energimon", **kw}}}


def problems(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        settings_from_dict(data)
    return [str(p) for p in err.value.problems]


def test_ca_file_errors_name_the_key(tmp_path):
    not_pem = tmp_path / "influx.key"
    not_pem.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEgY2VydA==\n-----END PRIVATE KEY-----\n")
    ca = make_ca(tmp_path / "pki")
    assert problems(influx_cfg(ca_file=str(tmp_path / "missing.pem"))) == [
        "store.influxdb.ca_file: CA file not found (got '" + str(tmp_path / "missing.pem") + "')"]
    [p] = problems(influx_cfg(ca_file="relative/ca.pem"))
    assert p == "store.influxdb.ca_file: CA file not found (got 'relative/ca.pem')"
    [p] = problems(influx_cfg(ca_file=str(not_pem)))
    assert p.startswith("store.influxdb.ca_file: not a PEM CA bundle")
    assert problems(influx_cfg(ca_file=str(ca.crt), url="http://127.0.0.1:8086")) == [
        "store.influxdb: 'ca_file' is only used for an https:// url (url is 'http://127.0.0.1:8086')"]
    assert problems(influx_cfg(ca_file=str(ca.crt), verify_tls=False)) == [
        "store.influxdb: give 'ca_file' (verify against this CA) or 'verify_tls = false', not both"]
    ok = settings_from_dict(influx_cfg(ca_file=str(ca.crt))).store.influxdb
    assert ok.ca_file == ca.crt and ok.verify_tls
