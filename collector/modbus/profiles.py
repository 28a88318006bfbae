"""Device profiles: data files in ``energimon.config/profiles``, one per product family.

A profile is named ``family.product`` (``eastron.sdm630``): the file
``profiles/eastron.toml`` and its ``[products.sdm630]`` table.  Each file names
the vendor document its addresses come from; each product states its sign
convention mapping.

Product keys:

``name``, ``sign_convention``
    what people read (the sign convention is mandatory: how the device's own
    signs map onto energimon's, docs/ARCHITECTURE.md#signs).
``defaults``
    field keys applied to every field that does not set them (e.g. ``table``,
    ``type``, ``word_order``).  ``sentinels = "sunspec"`` applies the SunSpec
    "not implemented" value of each field's type.
``fields``
    the register map (see :class:`~energimon.collector.modbus.fields.RegisterField`).
``info``
    device identity registers (see :class:`~energimon.collector.modbus.fields.InfoField`:
    ``key`` manufacturer/model/serial/version/options, ``address``, ``table``, ``type``
    ``string`` with ``registers = N`` or an unsigned integer); read on every new connection and
    periodically, shown by ``energimon probe`` and ``energimon status``; a serial number that
    changes is logged and flagged.  ``defaults`` do not apply to them.
``max_registers_per_read``, ``max_gap``
    request planning limits of the device.
``quirks``
    ``connect_delay_s``, ``request_pause_s``, ``close_after_poll``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from energimon.collector.modbus.fields import SUNSPEC_SENTINELS, InfoField, RegisterField
from energimon.collector.modbus.registers import DEFAULT_MAX_GAP, MAX_REGISTERS_PER_READ, plan_reads


class ProfileError(Exception):
    pass


@dataclass(frozen=True)
class Quirks:
    connect_delay_s: float = 0.0  # some gateways drop the first request after connect
    request_pause_s: float = 0.0  # some RS485 gateways need a pause between requests
    close_after_poll: bool = False  # gateways with one connection slot, shared with other masters


@dataclass(frozen=True)
class Profile:
    name: str
    product: str
    source: str
    sign_convention: str
    fields: tuple[RegisterField, ...]
    max_registers_per_read: int = MAX_REGISTERS_PER_READ
    max_gap: int = DEFAULT_MAX_GAP
    quirks: Quirks = field(default_factory=Quirks)
    info: tuple[InfoField, ...] = ()


def _profiles_dir():
    return resources.files("energimon.config").joinpath("profiles")


def available_profiles() -> list[str]:
    names = []
    for entry in _profiles_dir().iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            family = entry.name.removesuffix(".toml")
            names += [f"{family}.{p}" for p in data.get("products", {})]
    return sorted(names)


def build_fields(specs: list[dict[str, Any]], defaults: dict[str, Any], where: str) -> tuple[RegisterField, ...]:
    fields = []
    for i, spec in enumerate(specs):
        merged = {**defaults, **spec}
        if merged.get("sentinels") == "sunspec":
            s = SUNSPEC_SENTINELS.get(merged.get("type", "uint16"))
            merged["sentinels"] = () if s is None else (s,)
        try:
            fields.append(RegisterField(**merged))
        except ValidationError as exc:
            raise ProfileError(f"{where}.fields[{i}] ({spec.get('channel', '?')}): {_errors(exc)}") from None
    return tuple(fields)


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'field'}: {e['msg']}" for e in exc.errors())


def build_info(specs: Any, where: str) -> tuple[InfoField, ...]:
    """The ``info`` list of a product: identity registers, each key at most once."""
    if not isinstance(specs, list):
        raise ProfileError(f"{where}.info: expected a list of tables, got {type(specs).__name__}")
    out: list[InfoField] = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict):
            raise ProfileError(f"{where}.info[{i}]: expected a table, got {type(spec).__name__}")
        try:
            f = InfoField(**spec)
        except ValidationError as exc:
            raise ProfileError(f"{where}.info[{i}] ({spec.get('key', '?')}): {_errors(exc)}") from None
        if any(o.key == f.key for o in out):
            raise ProfileError(f"{where}.info[{i}]: key {f.key!r} appears twice")
        out.append(f)
    return tuple(out)


@cache
def load_profile(name: str) -> Profile:
    family, _, product = name.partition(".")
    if not family or not product:
        raise ProfileError(f"profile name must be family.product, e.g. 'eastron.sdm630'; got {name!r}")
    path = _profiles_dir().joinpath(f"{family}.toml")
    if not path.is_file():
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    spec = data.get("products", {}).get(product)
    if spec is None:
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    where = f"profiles/{family}.toml products.{product}"
    if not spec.get("sign_convention"):
        raise ProfileError(f"{where}: 'sign_convention' is required")
    fields = build_fields(spec.get("fields", []), spec.get("defaults", {}), where)
    if not fields:
        raise ProfileError(f"{where}: no fields")
    try:
        quirks = Quirks(**spec.get("quirks", {}))
    except TypeError as exc:
        raise ProfileError(f"{where}.quirks: {exc}") from None
    profile = Profile(
        name=name,
        product=spec.get("name", name),
        source=data.get("profile", {}).get("source", ""),
        sign_convention=spec["sign_convention"],
        fields=fields,
        max_registers_per_read=int(spec.get("max_registers_per_read", MAX_REGISTERS_PER_READ)),
        max_gap=int(spec.get("max_gap", DEFAULT_MAX_GAP)),
        quirks=quirks,
        info=build_info(spec.get("info", []), where),
    )
    try:
        plan_reads(profile.fields, profile.max_registers_per_read, profile.max_gap)
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    for i, f in enumerate(profile.info):
        if f.width > profile.max_registers_per_read:
            raise ProfileError(f"{where}.info[{i}] ({f.key}): {f.width} registers, more than one read of "
                               f"{profile.max_registers_per_read}")
    return profile
