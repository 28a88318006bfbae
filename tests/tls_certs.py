"""Throw-away TLS material for tests, made with the real ``openssl`` CLI: a CA and server certificates it signs,
valid for the names a test chooses (e.g. to check that a wrong host name is refused).  ``make_tls_files`` in
tests/mqtt_broker.py is the loopback default built on these.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class TestCa:
    __test__ = False  # not a test class for pytest

    crt: Path
    key: Path


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl not found on PATH: install the Debian package 'openssl' (see .ci/run)")
    subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30)


def make_ca(workdir: Path, name: str = "ca") -> TestCa:
    """A self-signed CA valid for two days."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = TestCa(workdir / f"{name}.crt", workdir / f"{name}.key")
    _openssl("req", "-x509", *EC_KEY, "-keyout", str(ca.key), "-out", str(ca.crt), "-days", "2",
             "-subj", f"/CN=energimon test {name}")
    return ca


def issue_server_cert(ca: TestCa, workdir: Path, name: str = "server",
                      alt_names: tuple[str, ...] = ("DNS:localhost", "IP:127.0.0.1")) -> tuple[Path, Path]:
    """A server certificate signed by ``ca``, valid only for ``alt_names``; returns (certificate, key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    key, csr, crt, ext = (workdir / f"{name}.{s}" for s in ("key", "csr", "crt", "ext"))
    ext.write_text(f"subjectAltName={','.join(alt_names)}\nbasicConstraints=CA:FALSE\n", encoding="utf-8")
    _openssl("req", *EC_KEY, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.crt), "-CAkey", str(ca.key), "-CAcreateserial",
             "-out", str(crt), "-days", "2", "-extfile", str(ext))
    return crt, key


def make_app_certificate(workdir: Path, name: str = "app") -> tuple[Path, Path]:
    """A self-signed RSA certificate as an app registration's credential (Entra ID signs client assertions
    with RS256/PS256: RSA keys only); returns (PEM with key and certificate, certificate alone)."""
    workdir.mkdir(parents=True, exist_ok=True)
    key, crt, both = workdir / f"{name}.key", workdir / f"{name}.crt", workdir / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "2",
             "-subj", f"/CN=energimon {name}")
    both.write_bytes(key.read_bytes() + crt.read_bytes())
    return both, crt
