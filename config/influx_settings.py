"""Settings of the InfluxDB store: ``[store.influxdb]`` in the TOML file.

Two write modes, one read path:

* ``mode = "v2"`` (InfluxDB 2.x, 3.x, 1.8+): line protocol to ``/api/v2/write``
  with ``token``, ``org`` and ``bucket``; reads with InfluxQL over ``/query``
  (2.7+: virtual DBRP mapping, database = bucket name; 3.x: v1-compatible API).
* ``mode = "v1"`` (InfluxDB 1.x): line protocol to ``/write`` with ``database``,
  optional ``retention_policy`` and ``username``/``password``; reads over ``/query``.

Secrets (``token``, ``password``) are :class:`~pydantic.SecretStr` — masked in
repr, dumps and logs — and can come from a file (``token_file``,
``password_file``) or the environment (``ENERGIMON_STORE__INFLUXDB__TOKEN``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


def _read_secret(path: Path, key: str) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None


class InfluxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or len(v.split("://", 1)[1].strip("/")) == 0:
            raise ValueError(f"{v!r} is not an http:// or https:// URL")
        return v.rstrip("/")

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
