"""Settings of the spool and the stores: ``[spool]``, ``[store]`` and ``[store.influxdb]`` in the TOML file.

``[spool]`` is the durable local queue every reading passes through (:mod:`energimon.store.spool`);
``[store]`` chooses the time-series store: the embedded SQLite store (``kind = "sqlite"``, the default)
or InfluxDB (``kind = "influxdb"`` with a ``[store.influxdb]`` table).  See ``sample.toml`` in this folder.

InfluxDB: two write modes, one read path:

* ``mode = "v2"`` (InfluxDB 2.x, 3.x, 1.8+): line protocol to ``/api/v2/write``
  with ``token``, ``org`` and ``bucket``; reads with InfluxQL over ``/query``
  (2.7+: virtual DBRP mapping, database = bucket name; 3.x: v1-compatible API).
* ``mode = "v1"`` (InfluxDB 1.x): line protocol to ``/write`` with ``database``,
  optional ``retention_policy`` and ``username``/``password``; reads over ``/query``.

Secrets (``token``, ``password``) are :class:`~pydantic.SecretStr` — masked in
repr, dumps and logs — and can come from a file (``token_file``,
``password_file``) or the environment (``ENERGIMON_STORE__INFLUXDB__TOKEN``).

TLS: an ``https://`` URL is verified against the system's CAs, or against ``ca_file`` (a PEM
bundle) for a server whose certificate comes from the municipality's own CA.  ``verify_tls =
false`` turns verification off (logged as a warning when the store opens).  File keys
(``ca_file``, ``token_file``, ``password_file``) are read when the configuration is loaded; a
relative path in the config file is made relative to the config file's folder by ``load_settings``.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


def _read_secret(path: Path, key: str) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None


class InfluxSettings(_Strict):
    """``[store.influxdb]``: where and how to write and read (see the module's docstring)."""

    url: str = Field(default="http://127.0.0.1:8086", description="base URL of the InfluxDB HTTP API")
    mode: Literal["v2", "v1"] = "v2"
    # -- v2 (InfluxDB 2.x / 3.x / 1.8+) ------------------------------------------------------
    token: SecretStr | None = None
    token_file: Path | None = None
    org: str | None = None
    bucket: str | None = None
    # -- v1 (InfluxDB 1.x) -------------------------------------------------------------------
    database: str | None = None
    retention_policy: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    create_database: bool = Field(default=False, description="v1: CREATE DATABASE at start if missing")
    # -- both ----------------------------------------------------------------------------
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="per HTTP request")
    verify_tls: bool = Field(default=True, description="verify the server's TLS certificate and host name")
    ca_file: Path | None = Field(default=None, description="CA bundle (PEM) for an https:// server with its own CA; "
                                 "default: the system's CAs")
    # The daemon's own health as a point in energimon_status every this many seconds (0: off).
    status_interval_s: float = Field(default=60.0, ge=0, le=3600)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or len(v.split("://", 1)[1].strip("/")) == 0:
            raise ValueError(f"{v!r} is not an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError("CA file not found")
        if v is not None:
            try:  # a wrong file (a key, a DER certificate) is a config error now, not a TLS error later
                ssl.create_default_context(cafile=str(v))
            except (ssl.SSLError, ValueError) as exc:
                raise ValueError(f"not a PEM CA bundle ({getattr(exc, 'reason', None) or exc})") from None
        return v

    @field_validator("status_interval_s")
    @classmethod
    def _status_interval(cls, v: float) -> float:
        if 0 < v < 1:
            raise ValueError("must be 0 (off) or at least 1 second")
        return v

    @model_validator(mode="after")
    def _mode_keys(self) -> InfluxSettings:
        if self.token_file is not None:
            if self.token is not None:
                raise ValueError("give 'token' or 'token_file', not both")
            self.token = _read_secret(self.token_file, "token_file")
        if self.password_file is not None:
            if self.password is not None:
                raise ValueError("give 'password' or 'password_file', not both")
            self.password = _read_secret(self.password_file, "password_file")
        self._check_tls()
        missing: list[str] = []
        if self.mode == "v2":
            for key in ("bucket", "org", "token"):
                if getattr(self, key) in (None, ""):
                    missing.append(key)
            if missing:
                raise ValueError(
                    f"mode 'v2' needs {', '.join(repr(k) for k in missing)} "
                    "(InfluxDB 2.x/3.x; for InfluxDB 1.x use mode = 'v1' with 'database')"
                )
        else:
            if not self.database:
                raise ValueError("mode 'v1' needs 'database' (for InfluxDB 2.x/3.x use mode = 'v2')")
            if self.password is not None and not self.username:
                raise ValueError("'password' given without 'username'")
        return self

    def _check_tls(self) -> None:
        if self.ca_file is None:
            return
        if not self.url.startswith("https://"):
            raise ValueError(f"'ca_file' is only used for an https:// url (url is {self.url!r})")
        if not self.verify_tls:
            raise ValueError("give 'ca_file' (verify against this CA) or 'verify_tls = false', not both")

    @property
    def read_database(self) -> str:
        """The InfluxQL database: the v1 database, or the bucket name (virtual DBRP on 2.x/3.x)."""
        return (self.database if self.mode == "v1" else self.bucket) or ""

    def describe(self) -> str:
        """Where and how, without secrets (for status lines and logs)."""
        if self.mode == "v2":
            return f"InfluxDB {self.url} mode v2 org {self.org!r} bucket {self.bucket!r}"
        rp = f" rp {self.retention_policy!r}" if self.retention_policy else ""
        user = f" user {self.username!r}" if self.username else ""
        return f"InfluxDB {self.url} mode v1 database {self.database!r}{rp}{user}"


class StoreSettings(_Strict):
    """``[store]``: which time-series store holds the readings."""

    kind: Literal["sqlite", "influxdb"] = "sqlite"
    path: Path = Path("/var/lib/energimon/store.db")  # the embedded store (kind = "sqlite")
    influxdb: InfluxSettings | None = None  # [store.influxdb], needed when kind = "influxdb"


class SpoolSettings(_Strict):
    """``[spool]``: the durable queue between the collectors and the store."""

    path: Path = Path("/var/lib/energimon/spool.db")
    # ~100 bytes a reading on disk: 10^9 is ~100 GB, beyond what a spool is for
    max_readings: int = Field(default=10_000_000, ge=1000, le=1_000_000_000)
    batch_size: int = Field(default=10_000, ge=1, le=100_000)
    synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"
    flush_timeout_s: float = Field(default=5.0, ge=0, le=60)


def cross_check_store(store: StoreSettings) -> list[tuple[str, str]]:
    """(key path, message): ``kind = "influxdb"`` needs its ``[store.influxdb]`` table."""
    if store.kind == "influxdb" and store.influxdb is None:
        return [("store.influxdb", "required when store.kind = 'influxdb' (a [store.influxdb] table with url, mode "
                                   "and bucket/org/token or database; see config/energimon.example.toml)")]
    return []
