"""Small checks shared by the settings models, and the checks that walk the whole configuration.

The walks work on the raw data (what the TOML file and the environment gave) against the models'
annotations, so they see what pydantic would quietly convert:

* :func:`strict_type_problems` — a string, float or boolean where a number is expected
  (``port = "502"``), a number or string where ``true``/``false`` is expected, a number where a date
  is expected (pydantic would read it as a Unix time).  pydantic's lax mode
  would coerce them; in a file they are mistakes (a quoted number is often a half-finished edit).
  Values from environment variables are strings by nature and stay exempt.
* :func:`non_finite_problems` — ``nan`` and ``inf`` (valid TOML floats) anywhere.
* :func:`url_credential_problems` — ``scheme://user:password@host`` in any string: refused, the
  credentials belong in the section's password/token settings (see :mod:`energimon.security`).
* :func:`duration_problems` — durations without an upper bound of their own (``*_s``, ``*_min``,
  ``*_h``, ``*_hours``, ``*_days``) are capped at :data:`MAX_DURATION_S`: a timer that far away is a
  typo, and Python's timers overflow long before 1e30 s.
* :func:`path_problems` — the data files: no NUL, an existing path must be a regular file (an SQLite
  database where one is expected), a new one must have a directory to be created in.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import types
import typing
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from energimon.model import ID_RULE, is_valid_id

Loc = tuple[str | int, ...]

MAX_DURATION_S = 366 * 86_400  # one (leap) year
_DURATION_UNITS = {"_s": 1, "_min": 60, "_h": 3600, "_hours": 3600, "_days": 86_400}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_emails(addresses: list[str]) -> list[str]:
    """Refuse what cannot be an e-mail address (a full RFC 5322 check is the SMTP server's job)."""
    for addr in addresses:
        if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
            raise ValueError(f"{addr!r} is not an e-mail address")
    return addresses


def check_id(value: str) -> str:
    """A site, device or array id as the series keys need it (see :data:`energimon.model.ID_RULE`)."""
    if not is_valid_id(value):
        raise ValueError(f"{value!r} is not a valid id ({ID_RULE})")
    return value


def closest(word: object, candidates: Iterable[object]) -> str | None:
    """The candidate closest to ``word`` (difflib ratio ≥ 0.6, as in Python's own suggestions), or None."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1)
    return close[0] if close else None


def did_you_mean(word: object, candidates: Iterable[object]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, else ``""``."""
    close = closest(word, candidates)
    return f" (did you mean {close!r}?)" if close else ""


# -- the models' annotations --------------------------------------------------------------------------
def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The non-None members of an Optional/Union (or the annotation itself)."""
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_unwrap(a) for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _field_map(model: type[BaseModel]) -> dict[str, FieldInfo]:
    fields = {}
    for name, info in model.model_fields.items():
        fields[name] = info
        if info.alias:
            fields[info.alias] = info
    return fields


def annotation_at(model: type[BaseModel], loc: Loc) -> Any:
    """The annotation a value at ``loc`` must fit, or None when the path is not in the schema."""
    current: Any = model
    for part in loc:
        members = _members(current)
        nxt = None
        for m in members:
            origin = typing.get_origin(m)
            if isinstance(m, type) and issubclass(m, BaseModel) and isinstance(part, str):
                info = _field_map(m).get(part)
                if info is not None:
                    nxt = info.annotation
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(m)[1]
            elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
                nxt = typing.get_args(m)[0]
            if nxt is not None:
                break
        if nxt is None:
            return None
        current = nxt
    return current


def model_keys_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys a table at ``loc`` may hold (for "did you mean")."""
    keys: list[str] = []
    for m in _members(annotation_at(model, loc) if loc else model):
        if isinstance(m, type) and issubclass(m, BaseModel):
            keys += [info.alias or name for name, info in m.model_fields.items()]
    return keys


def is_table_or_list(model: type[BaseModel], loc: Loc) -> bool:
    members = _members(annotation_at(model, loc))
    return any((isinstance(m, type) and issubclass(m, BaseModel)) or typing.get_origin(m) in (dict, list, tuple)
               for m in members)


# -- strict numbers and booleans -------------------------------------------------------------------------
def _kind(annotation: Any) -> str | None:
    """'int', 'float', 'bool', 'date' when every member of the annotation is one of those (Literal ints count as
    int, date-times as dates)."""
    kinds = set()
    for m in _members(annotation):
        if m in (dt.date, dt.datetime):
            kinds.add("date")
        elif m is bool:
            kinds.add("bool")
        elif m is int:
            kinds.add("int")
        elif m is float:
            kinds.add("float")
        elif typing.get_origin(m) is typing.Literal and all(type(a) is int for a in typing.get_args(m)):
            kinds.add("int")
        else:
            return None
    if kinds == {"int", "float"}:
        return "float"
    return kinds.pop() if len(kinds) == 1 else None


def _fits(kind: str, value: Any) -> bool:
    if kind == "date":  # a TOML date, or text the model parses; a number would be read as a Unix time
        return isinstance(value, dt.date | str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, int | float) and not isinstance(value, bool)


def strict_type_problems(model: type[BaseModel], data: Any, exempt: Collection[Loc] = frozenset(),
                         loc: Loc = ()) -> list[tuple[Loc, str]]:
    """(loc, message) for every number/boolean setting given as another type; ``exempt`` (environment) skipped."""
    problems: list[tuple[Loc, str]] = []
    _walk_strict(model, data, loc, exempt, problems)
    return problems


def _walk_strict(annotation: Any, value: Any, loc: Loc, exempt: Collection[Loc], out: list[tuple[Loc, str]]) -> None:
    if value is None or loc in exempt:
        return
    kind = _kind(annotation)
    if kind is not None:
        if not _fits(kind, value):
            out.append((loc, _type_message(kind, value, loc)))
        return
    for m in _tagged_first(_members(annotation), value):
        origin = typing.get_origin(m)
        if isinstance(m, type) and issubclass(m, BaseModel) and isinstance(value, dict):
            fields = _field_map(m)
            for k, v in value.items():
                if k in fields:
                    _walk_strict(fields[k].annotation, v, (*loc, k), exempt, out)
            return
        if origin is dict and isinstance(value, dict):
            for k, v in value.items():
                _walk_strict(typing.get_args(m)[1], v, (*loc, k), exempt, out)
            return
        if origin in (list, tuple) and isinstance(value, list):
            for i, v in enumerate(value):
                _walk_strict(typing.get_args(m)[0], v, (*loc, i), exempt, out)
            return


def _tagged_first(members: list[Any], value: Any) -> list[Any]:
    """A union of models told apart by a literal tag (``[[devices]]``' ``protocol``): the member whose tag the
    value carries first, so its own fields are the ones checked."""
    if not isinstance(value, dict):
        return members
    tagged = False
    for m in members:
        if isinstance(m, type) and issubclass(m, BaseModel):
            for name, info in m.model_fields.items():
                ann = _unwrap(info.annotation)
                if typing.get_origin(ann) is typing.Literal and name in value:
                    if value[name] in typing.get_args(ann):
                        return [m, *(x for x in members if x is not m)]
                    tagged = True
    # a tag no member carries (an unknown protocol) is its own error: another member's field types would only
    # add wrong ones (a serial port's path is no TCP port number)
    return [] if tagged and len(members) > 1 else members


def _type_message(kind: str, value: Any, loc: Loc) -> str:
    leaf = str(loc[-1]) if loc else "value"
    shown = "" if _secret_key(leaf) else f" {value!r}"
    if kind == "bool":
        return f"expected true or false (without quotes), got{shown}"
    if kind == "date":
        return f"expected a date (e.g. 2025-01-01, without quotes), got{shown}"
    what = "a whole number" if kind == "int" else "a number"
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return f"expected {what}, got the string{shown}"
        return f"expected {what}, got the string{shown} (write it without quotes: {leaf} = {value.strip()})"
    if isinstance(value, bool):
        return f"expected {what}, got {str(value).lower()}"
    return f"expected {what}, got{shown}"


def _secret_key(key: str) -> bool:
    return any(w in key.lower() for w in ("password", "token", "secret"))


# -- values anywhere ---------------------------------------------------------------------------------------
def walk_values(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    """Every leaf value (not tables or lists) with its key path."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from walk_values(v, (*loc, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from walk_values(v, (*loc, i))
    else:
        yield loc, data


def non_finite_problems(data: Any) -> list[tuple[Loc, str]]:
    return [(loc, f"{v!r} is not a finite number") for loc, v in walk_values(data)
            if isinstance(v, float) and not math.isfinite(v)]


def nul_problems(data: Any) -> list[tuple[Loc, str]]:
    """A NUL character in any text: no path or host can hold one, and a name with one breaks files and mails."""
    return [(loc, "contains a NUL character") for loc, v in walk_values(data) if isinstance(v, str) and "\x00" in v]


def url_credential_problems(data: Any) -> list[tuple[Loc, str]]:
    """A user name or password inside a URL (``http://user:pw@host``): refused, with where it belongs instead."""
    from energimon.security import redact_url_credentials, url_has_credentials

    problems = []
    for loc, v in walk_values(data):
        if isinstance(v, str) and url_has_credentials(v):
            where = "username/password (or password_file)"
            if loc[:2] == ("store", "influxdb"):
                where = ("store.influxdb.token or token_file (mode v2), or store.influxdb.username and password "
                         "or password_file (mode v1)")
            problems.append((loc, f"credentials in a URL are not accepted ({redact_url_credentials(v)!r}): they "
                                  f"would end up in logs and status output; give them as {where}"))
    return problems


# -- durations ---------------------------------------------------------------------------------------------
def _upper_bound(info: FieldInfo) -> bool:
    return any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in info.metadata)


def duration_problems(settings: BaseModel, loc: Loc = ()) -> list[tuple[Loc, str]]:
    """Durations without an upper bound in their model, above :data:`MAX_DURATION_S`."""
    problems: list[tuple[Loc, str]] = []
    for name, info in type(settings).model_fields.items():
        value = getattr(settings, name, None)
        here = (*loc, info.alias or name)
        if isinstance(value, BaseModel):
            problems += duration_problems(value, here)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                if isinstance(v, BaseModel):
                    problems += duration_problems(v, (*here, i))
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, BaseModel):
                    problems += duration_problems(v, (*here, k))
        elif isinstance(value, int | float) and not isinstance(value, bool) and not _upper_bound(info):
            unit = next((s for s in sorted(_DURATION_UNITS, key=len, reverse=True) if name.endswith(s)), None)
            if unit is not None and value * _DURATION_UNITS[unit] > MAX_DURATION_S:
                limit = MAX_DURATION_S / _DURATION_UNITS[unit]
                problems.append((here, f"at most {limit:g} ({MAX_DURATION_S // 86_400} days) (got {value!r})"))
    return problems


# -- data files ------------------------------------------------------------------------------------------
def path_problem(path: Path, *, sqlite: bool = False, directory: bool = False) -> str | None:
    """Why ``path`` cannot be a data file (or, with ``directory``, a folder the daemon writes to), or None.

    Checked without creating anything: an existing path must be a regular file (``/dev/zero`` is not one)
    and, for an SQLite database, start with SQLite's header (or be empty); a new one needs its nearest
    existing parent to be a directory.  Whether the service user may write there is left to ``run``
    (``check-config`` often runs as another user).
    """
    text = str(path)
    if "\x00" in text:
        return "the path contains a NUL character"
    try:
        if path.exists() or path.is_symlink():
            if directory:
                return None if path.is_dir() else "exists and is not a directory"
            if not path.is_file():
                return "exists and is not a regular file" + (" (a directory)" if path.is_dir() else "")
            if sqlite:
                with path.open("rb") as f:
                    head = f.read(len(_SQLITE_MAGIC))
                if head and head != _SQLITE_MAGIC:
                    return "exists and is not an SQLite database"
            return None
        parent = path.parent
        while not parent.exists():
            if parent == parent.parent:
                break
            parent = parent.parent
        if not parent.is_dir():
            return f"cannot be created: {parent} is not a directory"
    except OSError as exc:
        return f"cannot be checked: {exc.strerror or exc}"
    if len(os.fsencode(text)) > 4000:
        return "the path is too long"
    return None


def parse_listen(value: str, example_port: int = 8080) -> tuple[str, int]:
    """``host:port`` or ``[ipv6]:port`` → (host, port); ValueError saying what is wrong (the examples in the
    messages use ``example_port``: the port the setting's own default uses)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{value!r} is not host:port (e.g. \"127.0.0.1:{example_port}\")")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. \"[::1]:{example_port}\"")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r}: the host is empty or contains spaces")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
    return host, int(port)
