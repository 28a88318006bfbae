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

import copy
import datetime as dt
import functools
import importlib
import itertools
import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from energimon.carriers import CarrierSettings, cross_check_carriers
from energimon.cliutil import t
from energimon.collector.mbus.settings import MbusSerialDevice, MbusTcpDevice, cross_check_mbus
from energimon.collector.modbus.settings import ModbusTcpDevice, cross_check_devices
from energimon.config.locate import deep_merge, env_name_for, env_overrides, key_lines
from energimon.model import ID_RULE, Role, is_valid_id
from energimon.security import redact_url_credentials
from energimon.sites import Site
from energimon.store.settings import SpoolSettings, StoreSettings, cross_check_store
from energimon.validators import (
    Loc,
    closest,
    did_you_mean,
    duration_problems,
    is_table_or_list,
    model_keys_at,
    non_finite_problems,
    nul_problems,
    parse_listen,
    path_problem,
    strict_type_problems,
    url_credential_problems,
)

if TYPE_CHECKING:  # the sections' owners, imported when a configuration has the section (see _LAZY_SECTIONS)
    from energimon.analytics.anomaly.settings import AlertSettings
    from energimon.analytics.esco.settings import EscoSettings
    from energimon.collector.importer.settings import ImportSettings, MeteringPoint
    from energimon.collector.mqtt.settings import MqttSettings
    from energimon.collector.sources.eloverblik.settings import EloverblikMeteringPoint
    from energimon.collector.sources.settings import SourcesSettings
    from energimon.mail.settings import SmtpSettings
    from energimon.web.settings import WebSettings

DEFAULT_CONFIG_PATH = Path("/etc/energimon/energimon.toml")
ENV_CONFIG = "ENERGIMON_CONFIG"


class _Strict(BaseModel):
    # validators built on first use, not at import: `energimon --help` and the commands that never validate a
    # section do not pay for it, and a section validated inside Settings is built once, as part of Settings
    model_config = ConfigDict(extra="forbid", defer_build=True)


# -- devices --------------------------------------------------------------------------------------------
# Each protocol's collector owns its device model; a [[devices]] entry is told apart by `protocol`.
Device = Annotated[ModbusTcpDevice | MbusTcpDevice | MbusSerialDevice, Field(discriminator="protocol")]
PROTOCOLS = ("modbus_tcp", "mbus_tcp", "mbus_serial")
_EXPECTED_PROTOCOLS = "'modbus_tcp', 'mbus_tcp' or 'mbus_serial'"


# -- the application's own sections ---------------------------------------------------------------------
# Each collector, store and analytics unit owns its settings model (next to its code); the sites are
# energimon.sites.  What is left here configures the application itself: its scheduler, log and metrics.
class ScheduleSettings(_Strict):
    timezone: Literal["Europe/Copenhagen"] = "Europe/Copenhagen"
    status_log_interval_s: int = Field(default=300, ge=10, le=86_400)
    jobs_path: Path | None = Field(default=None, description="job-run log for `energimon status` "
                                   "(default: jobs.db in the spool's folder)")



class MetricsSettings(_Strict):
    """[metrics]: the Prometheus endpoint (unauthenticated: keep it on loopback unless a firewall guards it)."""

    enabled: bool = False
    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        parse_listen(value, 9464)
        return value

    @property
    def host(self) -> str:
        return parse_listen(self.listen, 9464)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen, 9464)[1]


class LogSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """The whole configuration (pydantic-settings, the project's chosen settings library).  The TOML content
    arrives as init arguments (parsed by :func:`load_settings` for line-numbered errors), already merged with the
    ``ENERGIMON_…`` environment by :mod:`energimon.config.locate`, which remembers which variable gave which key
    so an error can name it; so the init arguments are the only source."""

    model_config = SettingsConfigDict(
        env_prefix="ENERGIMON_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        defer_build=True,
    )

    sites: dict[str, Site] = Field(default_factory=dict)
    devices: list[Device] = Field(default_factory=list)
    store: StoreSettings = Field(default_factory=StoreSettings)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    # The optional sections (_LAZY_SECTIONS) are None here: the settings of a configuration that has some of them
    # are an instance of a subclass whose fields have their owners' models (settings_class), so a small
    # configuration does not import (and pydantic does not inspect) the models of the sections it lacks.
    if TYPE_CHECKING:
        smtp: SmtpSettings | None = None
        mqtt: MqttSettings | None = None
        alerts: AlertSettings | None = None  # [alerts]: anomaly rules, site calendars, alert mails
        esco: EscoSettings | None = None  # [esco]: savings contract and monthly report
        datahub: ImportSettings | None = None  # [datahub]: metering points for `energimon import`
    else:
        smtp: None = None
        mqtt: None = None
        alerts: None = None
        esco: None = None
        datahub: None = None
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)  # [metrics]: Prometheus /metrics
    if TYPE_CHECKING:
        web: WebSettings | None = None  # [web]: the web application and public CO2 barometer (energimon.web)
        sources: SourcesSettings | None = None  # [sources]: Eloverblik, Energi Data Service, DMI (live data)
    else:
        web: None = None
        sources: None = None
    carriers: CarrierSettings = Field(default_factory=CarrierSettings)  # [carriers]: the gas's calorific value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    def device(self, site: str, device_id: str) -> ModbusTcpDevice | MbusTcpDevice | MbusSerialDevice:
        for d in self.devices:
            if d.site == site and d.id == device_id:
                return d
        raise KeyError(f"{site}/{device_id}")


_LAZY_SECTIONS: dict[str, tuple[str, str]] = {
    "smtp": ("energimon.mail.settings", "SmtpSettings"),
    "mqtt": ("energimon.collector.mqtt.settings", "MqttSettings"),
    "alerts": ("energimon.analytics.anomaly.settings", "AlertSettings"),
    "esco": ("energimon.analytics.esco.settings", "EscoSettings"),
    "datahub": ("energimon.collector.importer.settings", "ImportSettings"),
    "web": ("energimon.web.settings", "WebSettings"),
    "sources": ("energimon.collector.sources.settings", "SourcesSettings"),
}
"""The optional sections: table name -> (owner's settings module, model).  Importing them all cost about as much
as pydantic-settings itself (pydantic inspects each model's fields as it is defined: bench/README.md)."""


def settings_class(sections: Iterable[str] = ()) -> type[Settings]:
    """:class:`Settings` with the models of the optional ``sections`` among ``sections`` (other names are ignored):
    what a configuration with those tables validates against.  One class per set of sections."""
    return _settings_class(frozenset(s for s in sections if s in _LAZY_SECTIONS))


@functools.cache
def _settings_class(sections: frozenset[str]) -> type[Settings]:
    if not sections:
        return Settings
    fields: dict[str, Any] = {}
    for name in sorted(sections, key=list(_LAZY_SECTIONS).index):  # the table's order, whatever the set's
        module, model = _LAZY_SECTIONS[name]
        fields[name] = (getattr(importlib.import_module(module), model) | None, None)
    return create_model("Settings", __base__=Settings, __module__=__name__, **fields)


# -- loading and error reporting ------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    where: str = ""  # "line 12", or the environment variable that gave the value

    def __str__(self) -> str:
        text = f"{self.key}: {self.message}" if self.key else self.message
        return f"{self.where}: {text}" if self.where else text


class ConfigError(Exception):
    def __init__(self, path: Path | None, problems: list[Problem]):
        from energimon.security import redact_url_credentials

        self.path = path
        self.problems = problems
        where = str(path) if path else "configuration"
        lines = [f"{where}: {len(problems)} problem(s)"]
        lines += [f"  {p}" for p in problems]
        # a URL with credentials is refused, and never echoed whole (whatever message quoted it)
        super().__init__(redact_url_credentials("\n".join(lines)))


def config_path(cli_value: str | os.PathLike | None = None) -> Path:
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_settings(path: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None, *,
                  data_paths: bool = False) -> Settings:
    """Read, validate and cross-check the configuration; raise :class:`ConfigError` listing all problems.

    All problems at once: schema errors, cross references (checked on what validated, with the broken
    parts set aside), strict numbers and durations — each with its line in the file, or the environment
    variable it came from.  ``data_paths`` (``check-config`` and ``run``) also checks the files the daemon
    opens (spool, store, job log, alert state): the other commands read what is there and say what is not.
    """
    cfg_path = config_path(path)
    if "\x00" in str(cfg_path):
        raise ConfigError(None, [Problem("", "the configuration path contains a NUL character")])
    try:
        raw = cfg_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(cfg_path, [Problem("", "file not found (give --config or set ENERGIMON_CONFIG)")]) from None
    except OSError as exc:
        raise ConfigError(cfg_path, [Problem("", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(cfg_path, [Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(cfg_path, [Problem("", f"TOML syntax error: {exc}")]) from None
    # Relative data paths are relative to the config file, so a config folder can be moved.
    base = cfg_path.absolute().parent  # absolute: a path made relative twice would point elsewhere
    settings, problems, sources = _check(_files_relative_to(data, base), key_lines(text), environ)
    if settings is not None:
        _absolute_data_paths(settings, base)
        if settings.esco is not None:
            from energimon.analytics.esco.settings import check_esco_files

            problems += [Problem(key, msg) for key, msg in check_esco_files(settings.esco)]
        if data_paths:
            problems += _data_path_problems(settings)
    if problems or settings is None:  # no settings comes with the problems that say why
        raise ConfigError(cfg_path, _finish(problems, sources))
    return settings


def _absolute_data_paths(settings: Settings, base: Path) -> None:
    if not settings.store.path.is_absolute():
        settings.store.path = base / settings.store.path
    if not settings.spool.path.is_absolute():
        settings.spool.path = base / settings.spool.path
    if settings.alerts is not None and not settings.alerts.state_path.is_absolute():
        settings.alerts.state_path = base / settings.alerts.state_path
    if settings.smtp is not None and settings.smtp.folder is not None and not settings.smtp.folder.is_absolute():
        settings.smtp.folder = base / settings.smtp.folder
    if settings.esco is not None and not settings.esco.reports_dir.is_absolute():
        settings.esco.reports_dir = base / settings.esco.reports_dir
    if settings.schedule.jobs_path is not None and not settings.schedule.jobs_path.is_absolute():
        settings.schedule.jobs_path = base / settings.schedule.jobs_path
    if settings.web is not None and not settings.web.data_dir.is_absolute():
        settings.web.data_dir = base / settings.web.data_dir
    if settings.sources is not None and settings.sources.state_path is not None \
            and not settings.sources.state_path.is_absolute():
        settings.sources.state_path = base / settings.sources.state_path


def _data_path_problems(settings: Settings) -> list[Problem]:
    """The files and folders the daemon opens: usable, or a problem now rather than a traceback at start."""
    checks: list[tuple[str, Path, dict]] = [("spool.path", settings.spool.path, {"sqlite": True})]
    if settings.store.kind == "sqlite":
        checks.append(("store.path", settings.store.path, {"sqlite": True}))
    if settings.schedule.jobs_path is not None:
        checks.append(("schedule.jobs_path", settings.schedule.jobs_path, {"sqlite": True}))
    else:  # jobs.db beside the spool (see energimon.app.jobruns.jobs_path)
        checks.append(("spool.path", settings.spool.path.parent / "jobs.db", {"sqlite": True}))
    if settings.alerts is not None:
        checks.append(("alerts.state_path", settings.alerts.state_path, {"sqlite": True}))
    if settings.esco is not None:
        checks.append(("esco.reports_dir", settings.esco.reports_dir, {"directory": True}))
    problems = []
    for key, p, kind in checks:
        why = path_problem(p, **kind) if "\x00" not in str(p) else None  # NUL: reported with the value
        if why is not None:
            problems.append(Problem(key, f"{p}: {why}"))
    return problems


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
                and "\x00" not in value and not Path(value).expanduser().is_absolute():
            value = str(base / value)
        out[key] = _files_relative_to(value, base)
    return out


def settings_from_dict(data: dict[str, Any], path: Path | None = None,
                       environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from a dict shaped like the TOML file (plus ``ENERGIMON_…`` environment overrides)."""
    settings, problems, sources = _check(data, {}, environ)
    if problems or settings is None:  # no settings comes with the problems that say why
        raise ConfigError(path, _finish(problems, sources))
    return settings


# -- one pass over everything ---------------------------------------------------------------------
class _Sources:
    """Where each key path came from: a line of the file, or an environment variable."""

    def __init__(self, lines: dict[Loc, int], env: dict[Loc, str]):
        self.lines = lines
        self.env = env

    def env_name(self, loc: Loc) -> str | None:
        for i in range(len(loc), 0, -1):
            if loc[:i] in self.env:
                return self.env[loc[:i]]
        return None

    def where(self, loc: Loc) -> str:
        name = self.env_name(loc)
        if name is not None:
            return f"{name} (environment)"
        line = next((self.lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in self.lines), None)
        if line is None and loc:  # a table made implicitly ([alerts.sites.x] makes [alerts]): its first key
            line = min((n for p, n in self.lines.items() if p[:len(loc)] == loc), default=None)
        if line is None:  # not in the file: a table the environment made (a missing key in it, say)?
            for i in range(len(loc), 0, -1):
                made_by = sorted(n for p, n in self.env.items() if p[:i] == loc[:i])
                if made_by:
                    return f"{', '.join(made_by)} (environment)"
            return ""
        below = sorted(n for p, n in self.env.items() if len(p) > len(loc) and p[:len(loc)] == loc)
        return f"line {line}" + (f", with {', '.join(below)} from the environment" if below else "")


def _complex_at(path: tuple[str, ...]) -> bool:
    return is_table_or_list(settings_class(path[:1]), path)


def _check(data: dict[str, Any], lines: dict[Loc, int],
           environ: Mapping[str, str] | None) -> tuple[Settings | None, list[Problem], _Sources]:
    """Validate ``data`` merged with the environment; (settings or None, problems, sources)."""
    env_data, env_names, env_problems = env_overrides(os.environ if environ is None else environ,
                                                      Settings.model_fields, _complex_at)
    sources = _Sources(lines, env_names)
    data = deep_merge(data, env_data) if env_data else data
    model = settings_class(data)  # the optional sections this configuration has (file and environment)
    problems = [Problem("", msg, f"{name} (environment)") for name, msg in env_problems]
    own: list[tuple[Loc, str]] = []
    own += strict_type_problems(model, data, exempt=set(env_names))
    own += non_finite_problems(data)
    own += nul_problems(data)
    own += url_credential_problems(data)
    covered = {loc for loc, _ in own}
    settings, errors, index_origins = _validate_pruned(data, model)
    problems += [Problem(_key_of(loc, data), msg) for loc, msg in own]
    for err in errors:
        loc = _normal_loc(err.get("loc", ()))
        if any(loc[:len(c)] == c for c in covered):  # already said more plainly (and without echoing a URL)
            continue
        problems.append(_problem_from_pydantic(err, data, sources, model))
    if settings is not None:
        problems += cross_check(settings, index_origins)
        problems += [Problem(_key_of(loc, data), msg) for loc, msg in duration_problems(settings)]
    return settings, problems, sources


def _finish(problems: list[Problem], sources: _Sources) -> list[Problem]:
    """Each problem once, with where it came from (line or variable), no URL credentials, in file order."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for p in problems:
        if (p.key, p.message) in seen:
            continue
        seen.add((p.key, p.message))
        where = p.where or (sources.where(_loc_of_key(p.key)) if p.key else "")
        out.append(Problem(p.key, redact_url_credentials(p.message), where))

    def order(p: Problem) -> tuple[int, int]:  # the file top to bottom, then the environment, then the rest
        m = re.match(r"line (\d+)", p.where)
        return (0, int(m.group(1))) if m else (1, 0) if p.where else (2, 0)

    return sorted(out, key=order)


# -- validating around broken parts -------------------------------------------------------------------
# pydantic stops at a broken section, so its cross references (unknown site, duplicate ids) would only
# show once the schema errors are fixed.  The broken parts are set aside — a device or site replaced by a
# placeholder keeping its ids, anything else removed so its default applies — and what remains is
# validated again, so the cross-checks run on everything that is not itself broken.
_PRUNE_ROUNDS = 8
_GONE = object()


def _normal_loc(loc) -> Loc:
    loc = list(loc)
    # Drop pydantic's union/discriminator tags from the path: they are not keys.
    if len(loc) >= 3 and loc[0] == "devices" and isinstance(loc[1], int) and loc[2] in PROTOCOLS:
        del loc[2]
    return tuple(loc)


def _validate_pruned(data: dict[str, Any], model: type[Settings]
                     ) -> tuple[Settings | None, list[ErrorDetails], dict[Loc, list[int]]]:
    """(settings validated from ``data`` with its broken parts set aside, or None; the errors of ``data``;
    the file's indices of list elements kept after broken ones were removed: {list path: [index, …]})."""
    try:
        return model(**data), [], {}
    except ValidationError as exc:
        first = exc.errors()
    pruned = copy.deepcopy(data)
    errors = first
    placeheld: set[Loc] = set()
    origins: dict[Loc, list[int]] = {}
    for _ in range(_PRUNE_ROUNDS):
        fresh: set[Loc] = set()  # placeholders set in this round: the other errors inside them are settled
        for err in errors:
            loc = _normal_loc(err.get("loc", ()))
            if not any(loc[:len(u)] == u for u in fresh):
                _prune(pruned, loc, placeheld, fresh)
        _compact(pruned, origins)
        try:
            return model(**pruned), first, origins
        except ValidationError as exc:
            errors = exc.errors()
    return None, first, origins


def _prune(data: dict[str, Any], loc: Loc, placeheld: set[Loc], fresh: set[Loc]) -> None:
    if not loc or not isinstance(data, dict):
        return
    unit = _unit_of(loc)
    if unit is not None and unit not in placeheld:
        placeheld.add(unit)
        placeholder = _placeholder(data, unit)
        if placeholder is not None:
            _set(data, unit, placeholder)
            fresh.add(unit)
            return
    if unit is not None:  # a placeholder that still fails: remove the whole item
        _set(data, unit, _GONE)
        return
    # the deepest part of the path that exists: remove the key itself, or (missing key, model error) its table
    node: Any = data
    depth = 0
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        depth += 1
    target = loc[:depth] if depth else loc[:1]
    if not target or target[0] not in data:
        return
    # tables whose presence other checks look at ("alerts need [smtp]") stay, as a placeholder
    section = next((t for t in _SECTION_PLACEHOLDERS if target[:len(t)] == t and len(target) == len(t)), None)
    if section is not None and section not in placeheld:
        placeheld.add(section)
        fresh.add(section)
        _set(data, section, copy.deepcopy(_SECTION_PLACEHOLDERS[section]))
        return
    _set(data, target, _GONE)


_SECTION_PLACEHOLDERS: dict[Loc, dict[str, Any]] = {
    ("smtp",): {"host": "placeholder.invalid", "sender": "placeholder@placeholder.invalid"},
    ("store", "influxdb"): {"mode": "v1", "database": "placeholder"},
}


def _unit_of(loc: Loc) -> Loc | None:
    if len(loc) >= 2 and loc[0] == "devices" and isinstance(loc[1], int):
        return loc[:2]
    if len(loc) >= 2 and loc[0] == "sites" and isinstance(loc[1], str):
        return loc[:2]
    if len(loc) >= 3 and loc[:2] == ("mqtt", "subscriptions") and isinstance(loc[2], int):
        return loc[:3]
    return None


def _placeholder(data: dict[str, Any], unit: Loc) -> dict[str, Any] | None:
    raw = _safe_get(data, *unit)
    if unit[0] == "sites":
        return {"name": str(unit[1]), "latitude": 0.0, "longitude": 0.0}
    if not isinstance(raw, dict) or not isinstance(raw.get("site"), str) or not is_valid_id(raw["site"]):
        return None
    if unit[0] == "devices":
        if not isinstance(raw.get("id"), str) or not is_valid_id(raw["id"]):
            return None
        role = raw.get("role")
        role = role if isinstance(role, str) and role in {r.value for r in Role} else "grid"
        # disabled, its own host, no profile to load: only its site and id take part in the cross-checks
        return {"protocol": "modbus_tcp", "site": raw["site"], "id": raw["id"], "role": role,
                "host": f"placeholder-{unit[1]}.invalid", "profile": "sunspec", "enabled": False}
    return {"topic": f"energimon-check/{unit[2]}/{{device}}/{{channel}}", "role": "grid", "site": raw["site"]}


def _set(data: Any, loc: Loc, value: Any) -> None:
    node = data
    for part in loc[:-1]:
        node = node[part]
    if value is _GONE and isinstance(node, dict):
        node.pop(loc[-1], None)
    else:
        node[loc[-1]] = value


def _compact(data: Any, origins: dict[Loc, list[int]], loc: Loc = ()) -> None:
    """Remove list elements marked gone, remembering the original indices of lists outside other lists."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in list(items):
        here = (*loc, k)
        if isinstance(v, list):
            if any(x is _GONE for x in v):
                before = origins.get(here, list(range(len(v))))
                if not any(isinstance(p, int) for p in here):
                    origins[here] = [before[i] for i, x in enumerate(v) if x is not _GONE]
                v[:] = [x for x in v if x is not _GONE]
            _compact(v, origins, here)
        elif isinstance(v, dict):
            _compact(v, origins, here)


def _key_of(loc: Loc, data: dict[str, Any]) -> str:
    """A key path as people read it: ``devices[0] (id 'hovedmaaler').port``."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if i >= 1 and loc[i - 1] == "devices":
                dev = _safe_get(data, "devices", part)
                if isinstance(dev, dict) and isinstance(dev.get("id"), str):
                    label += f" (id {dev['id']!r})"
            elif i >= 2 and loc[i - 2:i] == ("mqtt", "subscriptions"):
                sub = _safe_get(data, "mqtt", "subscriptions", part)
                if isinstance(sub, dict) and isinstance(sub.get("topic"), str):
                    label += f" (topic {sub['topic']!r})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


_LABEL = re.compile(r""" \((?:id|topic) (?:'[^']*'|"[^"]*")\)""")
_KEY_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _loc_of_key(key: str) -> Loc:
    """The inverse of :func:`_key_of` (labels dropped), to find a key's line."""
    out: list[str | int] = []
    for m in _KEY_PART.finditer(_LABEL.sub("", key)):
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return tuple(out)


def _renumber(key: str, index_map: dict[Loc, list[int]]) -> str:
    """A cross-check's key on the pruned data, with the file's list indices."""
    for list_loc, origins in index_map.items():
        prefix = _key_of(list_loc, {})
        if key.startswith(prefix + "["):
            m = re.match(r"\[(\d+)\]", key[len(prefix):])
            if m and int(m.group(1)) < len(origins):
                key = f"{prefix}[{origins[int(m.group(1))]}]{key[len(prefix) + m.end():]}"
    return key


_UNKNOWN_SITE = re.compile(r"unknown site (?:in )?'([^'/]*)")


def _site_hint(message: str, sites) -> str:
    m = _UNKNOWN_SITE.search(message)
    close = closest(m.group(1), sites) if m is not None and "did you mean" not in message else None
    return f"{message}; did you mean {close!r}?" if close else message


def cross_check(settings: Settings, index_map: dict[Loc, list[int]] | None = None) -> list[Problem]:
    """Rules that span several keys: references, uniqueness, profiles."""
    problems = _cross_check(settings)
    return [Problem(_renumber(p.key, index_map or {}), _site_hint(p.message, settings.sites), p.where)
            for p in problems]


def _cross_check(settings: Settings) -> list[Problem]:
    """Each section's owner checks its references (``cross_check_*`` next to its model); the site ids here."""
    problems = [Problem(key, msg) for key, msg in cross_check_store(settings.store)]
    for site_id in settings.sites:
        if not is_valid_id(site_id):
            problems.append(Problem(f"sites.{site_id}", f"site id is not valid ({ID_RULE})"))
    known = sorted(settings.sites)
    seen = Counter((d.site, d.id) for d in settings.devices)
    for i, dev in enumerate(settings.devices):  # what every device needs, whatever its protocol
        where = f"devices[{i}] (id {dev.id!r})"
        if dev.site not in settings.sites:
            problems.append(Problem(
                f"{where}.site", f"unknown site {dev.site!r}; known sites: {', '.join(known) or 'none'}"
            ))
        if seen[(dev.site, dev.id)] > 1:
            problems.append(Problem(f"{where}.id", f"duplicate device id {dev.id!r} in site {dev.site!r}"))
    problems += [Problem(key, msg) for key, msg in cross_check_devices(
        [(i, d) for i, d in enumerate(settings.devices) if isinstance(d, ModbusTcpDevice)])]
    problems += [Problem(key, msg) for key, msg in
                 cross_check_mbus([(i, d) for i, d in enumerate(settings.devices)
                                   if isinstance(d, MbusTcpDevice | MbusSerialDevice)])]
    # the optional sections' owners, each imported only when its section is there (_LAZY_SECTIONS)
    sites = set(settings.sites)
    if settings.mqtt is not None:
        from energimon.collector.mqtt.settings import cross_check_mqtt

        problems += [Problem(key, msg) for key, msg in cross_check_mqtt(settings.mqtt, sites)]
    if settings.esco is not None:
        from energimon.analytics.esco.settings import cross_check_esco

        problems += [Problem(key, msg) for key, msg in cross_check_esco(settings.esco, sites)]
        # Option B measures: their site, meter and checks (analytics/esco)
        from energimon.analytics.esco.measure_settings import cross_check_measures

        problems += [Problem(key, msg) for key, msg in cross_check_measures(
            settings.esco.measures, sites, [(d.site, d.id, str(d.role)) for d in settings.devices])]
    if settings.alerts is not None:
        from energimon.analytics.anomaly.settings import cross_check_alerts

        problems += [Problem(key, msg) for key, msg in
                     cross_check_alerts(settings.alerts, sites, settings.smtp is not None)]
    if settings.datahub is not None:
        from energimon.collector.importer.settings import cross_check_datahub

        problems += [Problem(key, msg) for key, msg in cross_check_datahub(settings.datahub, sites)]
    if settings.web is not None:
        from energimon.web.settings import cross_check_web

        problems += [Problem(key, msg) for key, msg in cross_check_web(settings.web, sites)]
    if settings.sources is not None:
        from energimon.collector.sources.settings import cross_check_sources

        problems += [Problem(key, msg) for key, msg in cross_check_sources(settings.sources, sites)]
    problems += [Problem(key, msg) for key, msg in
                 cross_check_carriers(settings.carriers, settings.sites, _gas_users(settings))]
    problems += _metering_point_clashes(settings)
    return problems


def _metering_point_clashes(settings: Settings) -> list[Problem]:
    """A DataHub metering point (``[[datahub.metering_points]]``, ``[[sources.eloverblik.metering_points]]``) whose
    site and device are a live meter's: a ``[[devices]]`` entry (whatever its protocol, enabled or not: its series
    are in the store), or an ``[[mqtt.subscriptions]]`` entry with that site and device fixed (a ``{site}`` or
    ``{device}`` placeholder is only known from the topics at run time).  Its imported readings would land in the
    live meter's series, and the device would count as imported (``analytics/anomaly/sources.py``), losing its
    data-quality alerts — while ``store.energy.site_meters`` keeps a live meter and its DataHub copy apart on
    purpose: the copy lags and would count the same energy twice."""
    live: dict[tuple[str, str], str] = {}
    for i, dev in enumerate(settings.devices):
        live.setdefault((dev.site, dev.id), f"devices[{i}] (id {dev.id!r})")
    for i, sub in enumerate(settings.mqtt.subscriptions if settings.mqtt is not None else []):
        if sub.site is not None and sub.device is not None:
            live.setdefault((sub.site, sub.device), f"mqtt.subscriptions[{i}] (topic {sub.topic!r})")
    eloverblik = settings.sources.eloverblik if settings.sources is not None else None
    sections: list[tuple[str, Sequence[MeteringPoint | EloverblikMeteringPoint]]] = [
        ("datahub.metering_points", settings.datahub.metering_points if settings.datahub else []),
        ("sources.eloverblik.metering_points", eloverblik.metering_points if eloverblik else [])]
    problems: list[Problem] = []
    for section, points in sections:
        for i, mp in enumerate(points):
            other = live.get((mp.site, mp.device))
            if other is None:
                continue
            own = next(d for d in itertools.chain(["datahub"], (f"datahub{n}" for n in itertools.count(2)))
                       if (mp.site, d) not in live)
            problems.append(Problem(f"{section}[{i}] (id {mp.id!r}).device", t(
                f"{mp.site}/{mp.device} er også det levende apparat {other}: målepunktets aflæsninger fra DataHub "
                "ville havne i målerens egen serie (to tællere i én serie ligner nulstillinger, og den samme energi "
                "tælles to gange), og måleren ville miste sine datakvalitetsalarmer; giv målepunktet sit eget "
                f'device-id, fx device = "{own}"',
                f"{mp.site}/{mp.device} is also the live device {other}: the metering point's DataHub readings "
                "would land in the meter's own series (two counters in one series look like resets, and the same "
                "energy counts twice) and the meter would lose its data-quality alerts; give the metering point "
                f'its own device id, e.g. device = "{own}"')))
    return problems


def _gas_users(settings: Settings) -> list[tuple[str, str, dt.date | None]]:
    """What reads natural gas in m³ and shows it in kWh: a gas contract (from its baseline), a gas meter."""
    users: list[tuple[str, str, dt.date | None]] = []
    if settings.esco is not None:
        users += [(f"esco.sites.{sid}.carrier", sid, settings.esco.baseline_start)
                  for sid, s in settings.esco.sites.items() if s.carrier == "natural_gas"]
    users += [(f"devices[{i}] (id {d.id!r}).role", d.site, None) for i, d in enumerate(settings.devices)
              if d.role == "gas"]
    return users


def config_warnings(settings: Settings) -> list[str]:
    """Things that are valid but probably not meant: a risky mail set-up (see energimon.mail.settings), a
    device id referenced that no configured Modbus device
    has, when one with a similar id does (MQTT and imported devices are only known from their data, so an
    unknown id alone is fine)."""
    warnings: list[str] = []
    if settings.smtp is not None:
        from energimon.mail.settings import mail_warnings

        warnings += mail_warnings(settings.smtp)  # allowed but risky, e.g. a login without TLS
    for site_id, site in settings.sites.items():
        ids = {d.id for d in settings.devices if d.site == site_id}
        for i, pv in enumerate(site.pv):
            for key in ("inverter", "irradiance"):
                ref = getattr(pv, key)
                if ref is not None and ref not in ids:
                    hint = did_you_mean(ref, ids)
                    if hint:
                        warnings.append(f"sites.{site_id}.pv[{i}].{key}: no Modbus device {ref!r} at this site"
                                        f"{hint} (fine if it comes from MQTT or an import)")
        calendar = settings.alerts.sites.get(site_id) if settings.alerts is not None else None
        for ref in (calendar.rated_power_w if calendar is not None else {}):
            hint = did_you_mean(ref, ids) if ref not in ids else ""
            if hint:
                warnings.append(f"alerts.sites.{site_id}.rated_power_w.{ref}: no Modbus device {ref!r} at this "
                                f"site{hint} (fine if it comes from MQTT or an import)")
    return warnings


def _problem_from_pydantic(err: ErrorDetails, data: dict[str, Any], sources: _Sources,
                           model: type[Settings] = Settings) -> Problem:
    loc = _normal_loc(err.get("loc", ()))
    key = _key_of(loc, data)
    msg = err.get("msg", "invalid")
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        close = closest(loc[-1], model_keys_at(model, loc[:-1]))
        if sources.env_name(loc) is not None:  # say it in the environment's terms
            msg = f"not a setting (unknown key {loc[-1]!r})"
            msg += f"; did you mean {env_name_for((*loc[:-1], close))}?" if close else ""
        else:
            msg = (f"unknown key; did you mean {close!r}?" if close
                   else "unknown key (check the spelling; see config/energimon.example.toml)")
            owner = next((loc[:i] for i in range(len(loc) - 2, -1, -1)
                          if loc[-1] in model_keys_at(model, loc[:i])), None)
            if owner is not None:  # the TOML trap: a key written after a sub-table's header belongs to it
                msg += (f" — {loc[-1]!r} is a key of [{_key_of(owner, data)}]: move it above "
                        f"[{_key_of(loc[:-1], data)}]"
                        if owner else f" — {loc[-1]!r} is a top-level key: move it above the first [table]")
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "union_tag_invalid":
        protocol = err.get('input', {}).get('protocol')
        msg = f"unknown protocol {protocol!r}; expected {_EXPECTED_PROTOCOLS}{did_you_mean(protocol, PROTOCOLS)}"
    elif kind == "union_tag_not_found":
        msg = f"required key 'protocol' is missing (expected {_EXPECTED_PROTOCOLS})"
    elif kind in ("literal_error", "enum") and isinstance(err.get("input"), str):
        expected = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        msg += did_you_mean(err["input"], expected)
    msg = msg.removeprefix("Value error, ")
    secret = any(w in key.lower() for w in ("password", "token", "secret", "api_key"))
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
