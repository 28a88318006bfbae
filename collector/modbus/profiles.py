"""Device profiles: data files in ``energimon.config/profiles``, one per product family.

A profile is named ``family.product`` (``eastron.sdm630``): the file
``profiles/eastron.toml`` and its ``[products.sdm630]`` table.  Each file names
the vendor document its addresses come from and the sign convention mapping.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from energimon.config.settings import RegisterField
from pydantic import ValidationError


class ProfileError(Exception):
    pass


@dataclass(frozen=True)
class Profile:
    name: str
    product: str
    source: str
    sign_convention: str
    fields: tuple[RegisterField, ...]
    max_registers_per_read: int = 125


def available_profiles() -> list[str]:
    names = []
    for entry in resources.files("energimon.config").joinpath("profiles").iterdir():
        if entry.name.endswith(".toml"):
            data = tomllib.loads(entry.read_text(encoding="utf-8"))
            family = entry.name.removesuffix(".toml")
            names += [f"{family}.{p}" for p in data.get("products", {})]
    return sorted(names)


@cache
def load_profile(name: str) -> Profile:
    family, _, product = name.partition(".")
    if not family or not product:
        raise ProfileError(f"profile name must be family.product, e.g. 'eastron.sdm630'; got {name!r}")
    path = resources.files("energimon.config").joinpath("profiles", f"{family}.toml")
    if not path.is_file():
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    spec = data.get("products", {}).get(product)
    if spec is None:
        raise ProfileError(f"unknown profile {name!r}; available: {', '.join(available_profiles())}")
    try:
        fields = tuple(RegisterField(**f) for f in spec["fields"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise ProfileError(f"profile {name!r} is malformed: {exc}") from None
    return Profile(
        name=name,
        product=spec.get("name", name),
        source=data.get("profile", {}).get("source", ""),
        sign_convention=spec.get("sign_convention", ""),
        fields=fields,
        max_registers_per_read=int(spec.get("max_registers_per_read", 125)),
    )
