"""The one savings-contract config the report and measure tests write: ``[store]``, ``[spool]``, the caller's sites
(and devices), then ``[esco]`` with the contract every test shares — a 2025 baseline, the measure on 1 January 2026,
DTI's normal year — and the caller's subtables.  A test names only the ``[esco]`` keys it changes, so the contract
it checks stands out instead of repeating in every file."""

from __future__ import annotations

import datetime as dt

ESCO_DEFAULTS: dict[str, object] = {
    "contract": "Sorø Kommune ESCO-kontrakt 2025",
    "esco": None,
    "baseline_start": dt.date(2025, 1, 1),
    "baseline_end": dt.date(2026, 1, 1),
    "measure_date": dt.date(2026, 1, 1),
    "guarantee_kwh_per_year": None,
    "price_dkk_per_kwh": 2.15,
    "co2_intensity": None,
    "temperature": None,
    "reports_dir": "rapporter",
    "normal_year": {"total": 2906, "source": "DTI normalår, 2906 graddage"},
}
"""``[esco]``'s keys in the order they are written; ``None`` leaves a key out (a keyword set to ``None`` too)."""


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | float | dt.date):
        return value.isoformat() if isinstance(value, dt.date) else repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def esco_config(sites: str = "", tail: str = "", *, store: str | None = "store.db", spool: str | None = "spool.db",
                **esco: object) -> str:
    """The config file's text: ``sites`` (any tables, e.g. ``[sites.…]`` and ``[[devices]]``) between the header and
    ``[esco]``, ``tail`` after ``[esco]``'s keys (its subtables, or keys written by hand); ``store``/``spool`` = None
    leaves that table out."""
    keys = {**ESCO_DEFAULTS, **esco}
    lines = [""]
    if store is not None:
        lines += ["[store]", f"path = {toml_value(store)}"]
    if spool is not None:
        lines += ["[spool]", f"path = {toml_value(spool)}"]
    lines += [sites.strip("\n")] if sites.strip() else []
    lines += ["[esco]"] + [f"{k} = {toml_value(v)}" for k, v in keys.items() if v is not None]
    lines += [tail.strip("\n")] if tail.strip() else []
    return "\n".join(lines) + "\n"
