"""Settings: one TOML file plus ``ENERGIMON_…`` environment overrides.

The file path comes from ``--config``, else ``$ENERGIMON_CONFIG``, else
``/etc/energimon/energimon.toml``.  Environment variables override single keys,
nested with ``__`` (``ENERGIMON_SMTP__PASSWORD``, ``ENERGIMON_STORE__PATH``) and
merge into the file's tables.  Secrets are :class:`~pydantic.SecretStr` and can
also come from a file (``password_file``), so they need not sit in the TOML.

Every problem is reported with the file, the key path and what was expected
(:class:`ConfigError`), all at once, before anything starts.
"""

from __future__ import annotations

import os
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from energimon.collector.modbus.fields import RegisterField
from energimon.config.alert_settings import AlertSettings, cross_check_alerts
from energimon.config.esco_settings import (
    EscoSettings,
    ImportSettings,
    check_esco_files,
    cross_check_datahub,
    cross_check_esco,
)
from energimon.config.influx_settings import InfluxSettings
from energimon.config.mqtt_settings import MqttSettings, cross_check_mqtt
from energimon.config.validators import check_emails
from energimon.model import ID_RULE, Role, is_valid_id
from energimon.web.settings import WebSettings, cross_check_web

DEFAULT_CONFIG_PATH = Path("/etc/energimon/energimon.toml")
ENV_CONFIG = "ENERGIMON_CONFIG"


def _id(value: str) -> str:
    if not is_valid_id(value):
        raise ValueError(f"{value!r} is not a valid id ({ID_RULE})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _read_secret_file(path: Path, key: str) -> SecretStr:
    try:
        return SecretStr(path.read_text(encoding="utf-8").strip())
    except OSError as exc:
        raise ValueError(f"{key}: cannot read secret file {path}: {exc.strerror}") from None


# -- sites ----------------------------------------------------------------------------------
class PvArray(_Strict):
    """A PV array on a site's roof (for expected-yield and per-kWp KPIs)."""

    id: str
    kwp: float = Field(gt=0, le=100_000, description="peak DC power, kWp")
    tilt_deg: float = Field(ge=0, le=90)
    azimuth_deg: float = Field(ge=0, lt=360, description="0 = north, 180 = south")
    # Solar KPIs (energimon.analytics.solar): optional.
    losses_percent: float = Field(default=14.0, ge=0, lt=100, description="PVWatts system losses for expected yield")
    inverter: str | None = Field(default=None, description="device id of the inverter fed by this array")
    irradiance: str | None = Field(default=None, description="device id of a plane-of-array irradiance sensor "
                                   "(channel irradiance_w_m2) on this array's plane: a true PR instead of clear-sky")

    _check_id = field_validator("id")(_id)


class Site(_Strict):
    name: str = Field(min_length=1)
    address: str = ""
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    floor_area_m2: float | None = Field(default=None, gt=0)
    facility_managers: list[str] = Field(default_factory=list)
    pv: list[PvArray] = Field(default_factory=list)

    _emails = field_validator("facility_managers")(check_emails)


# -- devices --------------------------------------------------------------------------------
class ModbusTcpDevice(_Strict):
    protocol: Literal["modbus_tcp"]
    site: str
    id: str
    role: Role
    host: str = Field(min_length=1)
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    profile: str | None = Field(default=None, description="profile name, e.g. 'eastron.sdm630', or 'sunspec'")
    registers: list[RegisterField] = Field(default_factory=list, description="inline register map")
    interval_s: float = Field(default=10.0, ge=1, le=86_400)
    timeout_s: float = Field(default=3.0, gt=0, le=60)
    enabled: bool = True
    # Overrides of the profile's request planning and gateway quirks (None: the profile's value).
    max_registers_per_read: int | None = Field(default=None, ge=1, le=125)
    max_gap: int | None = Field(default=None, ge=-1, le=124, description="-1: one request per field")
    connect_delay_s: float | None = Field(default=None, ge=0, le=10)
    request_pause_s: float | None = Field(default=None, ge=0, le=10)
    close_after_poll: bool | None = None

    _check_id = field_validator("id")(_id)

    @model_validator(mode="after")
    def _map_given(self) -> ModbusTcpDevice:
        if (self.profile is None) == (not self.registers):
            raise ValueError("give exactly one of 'profile' or 'registers'")
        return self


Device = Annotated[ModbusTcpDevice, Field(discriminator="protocol")]


# -- infrastructure -------------------------------------------------------------------------
class StoreSettings(_Strict):
    kind: Literal["sqlite", "influxdb"] = "sqlite"
    path: Path = Path("/var/lib/energimon/store.db")  # the embedded store (kind = "sqlite")
    influxdb: InfluxSettings | None = None  # [store.influxdb], needed when kind = "influxdb"


class SpoolSettings(_Strict):
    path: Path = Path("/var/lib/energimon/spool.db")
    max_readings: int = Field(default=10_000_000, ge=1000)
    batch_size: int = Field(default=10_000, ge=1, le=100_000)
    synchronous: Literal["FULL", "EXTRA", "NORMAL"] = "FULL"
    flush_timeout_s: float = Field(default=5.0, ge=0, le=60)


class SmtpSettings(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    sender: str
    fallback_recipients: list[str] = Field(default_factory=list)
    language: Literal["da", "en"] = "da"
    ca_file: Path | None = Field(default=None, description="CA bundle for the server's certificate (default: system)")
    timeout_s: float = Field(default=30.0, gt=0, le=300)

    @model_validator(mode="after")
    def _load_secret(self) -> SmtpSettings:
        if self.password_file is not None:
            if self.password is not None:
                raise ValueError("give 'password' or 'password_file', not both")
            self.password = _read_secret_file(self.password_file, "password_file")
        return self


class ScheduleSettings(_Strict):
    timezone: Literal["Europe/Copenhagen"] = "Europe/Copenhagen"
    status_log_interval_s: int = Field(default=300, ge=10)
    jobs_path: Path | None = Field(default=None, description="job-run log for `energimon status` "
                                   "(default: jobs.db in the spool's folder)")


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` or ``[ipv6]:port`` -> (host, port); ValueError saying what is wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port (e.g. \"127.0.0.1:9464\")")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. \"[::1]:9464\"")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r}: the host is empty or contains spaces")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
    return host, int(port)


class MetricsSettings(_Strict):
    """[metrics]: the Prometheus endpoint (unauthenticated: keep it on loopback unless a firewall guards it)."""

    enabled: bool = False
    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @property
    def host(self) -> str:
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen)[1]


class LogSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ENERGIMON_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    sites: dict[str, Site] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    store: StoreSettings = Field(default_factory=StoreSettings)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    smtp: SmtpSettings | None = None
    mqtt: MqttSettings | None = None
    alerts: AlertSettings | None = None  # [alerts]: anomaly rules, site calendars, alert mails
    esco: EscoSettings | None = None  # [esco]: savings contract and monthly report
    datahub: ImportSettings | None = None  # [datahub]: metering points for `energimon import`
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # [metrics]: Prometheus /metrics
    web: WebSettings | None = None  # [web]: the web application and public CO2 barometer (energimon.web)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML content arrives as init kwargs (parsed by load_settings for
        # line-numbered syntax errors); the environment overrides it.
        return (env_settings, init_settings)

    def device(self, site: str, device_id: str) -> ModbusTcpDevice:
        for d in self.devices:
            if d.site == site and d.id == device_id:
                return d
        raise KeyError(f"{site}/{device_id}")


# -- loading and error reporting ------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class ConfigError(Exception):
    def __init__(self, path: Path | None, problems: list[Problem]):
        self.path = path
        self.problems = problems
        where = str(path) if path else "configuration"
        lines = [f"{where}: {len(problems)} problem(s)"]
        lines += [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))


def config_path(cli_value: str | os.PathLike | None = None) -> Path:
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read, validate and cross-check the configuration; raise :class:`ConfigError` listing all problems."""
    cfg_path = config_path(path)
    try:
        raw = cfg_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(cfg_path, [Problem("", "file not found (give --config or set ENERGIMON_CONFIG)")]) from None
    except OSError as exc:
        raise ConfigError(cfg_path, [Problem("", f"cannot read: {exc.strerror}")]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(cfg_path, [Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(cfg_path, [Problem("", f"TOML syntax error: {exc}")]) from None
    # Relative data paths are relative to the config file, so a config folder can be moved.
    base = cfg_path.absolute().parent  # absolute: a path made relative twice would point elsewhere
    settings = settings_from_dict(_files_relative_to(data, base), cfg_path)
    if not settings.store.path.is_absolute():
        settings.store.path = base / settings.store.path
    if not settings.spool.path.is_absolute():
        settings.spool.path = base / settings.spool.path
    if settings.alerts is not None and not settings.alerts.state_path.is_absolute():
        settings.alerts.state_path = base / settings.alerts.state_path
    if settings.esco is not None and not settings.esco.reports_dir.is_absolute():
        settings.esco.reports_dir = base / settings.esco.reports_dir
    file_problems = [Problem(key, msg) for key, msg in check_esco_files(settings.esco)]
    if file_problems:
        raise ConfigError(cfg_path, file_problems)
    if settings.schedule.jobs_path is not None and not settings.schedule.jobs_path.is_absolute():
        settings.schedule.jobs_path = base / settings.schedule.jobs_path
    if settings.web is not None and not settings.web.data_dir.is_absolute():
        settings.web.data_dir = base / settings.web.data_dir
    return settings


def _files_relative_to(data: Any, base: Path) -> Any:
    """Every ``*_file`` key (secrets, CA bundles, the price file) with a relative path, made relative to
    ``base`` (the config file's folder) before validation reads them: the daemon's working directory
    (``/`` under systemd) must not decide which file a config means."""
    if isinstance(data, list):
        return [_files_relative_to(v, base) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if isinstance(key, str) and key.endswith("_file") and isinstance(value, str) and value \
                and not Path(value).expanduser().is_absolute():
            value = str(base / value)
        out[key] = _files_relative_to(value, base)
    return out


def settings_from_dict(data: dict[str, Any], path: Path | None = None) -> Settings:
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(path, [_problem_from_pydantic(err, data) for err in exc.errors()]) from None
    problems = cross_check(settings)
    if problems:
        raise ConfigError(path, problems)
    return settings


def cross_check(settings: Settings) -> list[Problem]:
    """Rules that span several keys: references, uniqueness, profiles."""
    from energimon.collector.modbus.profiles import ProfileError, load_profile

    problems: list[Problem] = []
    if settings.store.kind == "influxdb" and settings.store.influxdb is None:
        problems.append(Problem(
            "store.influxdb", "required when store.kind = 'influxdb' (a [store.influxdb] table with url, mode and "
            "bucket/org/token or database; see config/energimon.example.toml)"))
    for site_id in settings.sites:
        if not is_valid_id(site_id):
            problems.append(Problem(f"sites.{site_id}", f"site id is not valid ({ID_RULE})"))
    known = sorted(settings.sites)
    seen = Counter((d.site, d.id) for d in settings.devices)
    endpoints: dict[tuple[str, int, int], str] = {}
    for i, dev in enumerate(settings.devices):
        where = f"devices[{i}] (id {dev.id!r})"
        if dev.site not in settings.sites:
            problems.append(Problem(
                f"{where}.site", f"unknown site {dev.site!r}; known sites: {', '.join(known) or 'none'}"
            ))
        if seen[(dev.site, dev.id)] > 1:
            problems.append(Problem(f"{where}.id", f"duplicate device id {dev.id!r} in site {dev.site!r}"))
        endpoint = (dev.host, dev.port, dev.unit_id)
        if endpoint in endpoints and dev.enabled:
            problems.append(Problem(
                f"{where}.unit_id",
                f"{dev.host}:{dev.port} unit {dev.unit_id} is already used by {endpoints[endpoint]}",
            ))
        endpoints.setdefault(endpoint, f"{dev.site}/{dev.id}")
        if dev.profile is not None and dev.profile != "sunspec":  # sunspec: discovered on the device
            try:
                load_profile(dev.profile)
            except ProfileError as exc:
                problems.append(Problem(f"{where}.profile", str(exc)))
        channels = Counter(f.channel for f in dev.registers)
        for ch, n in channels.items():
            if n > 1:
                problems.append(Problem(f"{where}.registers", f"channel {ch!r} mapped {n} times"))
    problems += [Problem(key, msg) for key, msg in cross_check_mqtt(settings.mqtt, set(settings.sites))]
    problems += [Problem(key, msg) for key, msg in cross_check_esco(settings.esco, set(settings.sites))]
    problems += [Problem(key, msg) for key, msg in
                 cross_check_alerts(settings.alerts, set(settings.sites), settings.smtp is not None)]
    problems += [Problem(key, msg) for key, msg in cross_check_datahub(settings.datahub, set(settings.sites))]
    problems += [Problem(key, msg) for key, msg in cross_check_web(settings.web, set(settings.sites))]
    return problems


def _problem_from_pydantic(err: dict[str, Any], data: dict[str, Any]) -> Problem:
    loc = list(err.get("loc", ()))
    # Drop pydantic's union/discriminator tags from the path: they are not keys.
    if len(loc) >= 3 and loc[0] == "devices" and isinstance(loc[1], int) and loc[2] == "modbus_tcp":
        del loc[2]
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if i >= 1 and loc[i - 1] == "devices":
                dev = _safe_get(data, "devices", part)
                if isinstance(dev, dict) and isinstance(dev.get("id"), str):
                    label += f" (id {dev['id']!r})"
            elif i >= 2 and loc[i - 2:i] == ["mqtt", "subscriptions"]:
                sub = _safe_get(data, "mqtt", "subscriptions", part)
                if isinstance(sub, dict) and isinstance(sub.get("topic"), str):
                    label += f" (topic {sub['topic']!r})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
    key = "".join(parts)
    msg = err.get("msg", "invalid")
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        msg = "unknown key (check the spelling; see config/energimon.example.toml)"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "union_tag_invalid":
        msg = f"unknown protocol {err.get('input', {}).get('protocol')!r}; expected 'modbus_tcp'"
    elif kind == "union_tag_not_found":
        msg = "required key 'protocol' is missing (expected 'modbus_tcp')"
    msg = msg.removeprefix("Value error, ")
    secret = any(w in key.lower() for w in ("password", "token", "secret"))
    shown = "input" in err and kind not in ("missing", "extra_forbidden")
    if shown and not secret and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    return Problem(key, msg)


def _safe_get(data: Any, *path: Any) -> Any:
    for p in path:
        try:
            data = data[p]
        except (KeyError, IndexError, TypeError):
            return None
    return data
