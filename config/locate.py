"""Where a configuration value came from: a line of the TOML file, or an environment variable.

``tomllib`` gives values but no positions, so :func:`key_lines` scans the (already parsed, hence
valid) TOML text once more and records the line on which every key path is written: tables
(``[store]``), arrays of tables (``[[devices]]`` → ``("devices", 0)``), keys, dotted keys, inline
tables and array elements.  :func:`env_overrides` reads ``ENERGIMON_<KEY>__<SUBKEY>`` variables
into the same nested shape as the file, remembering which variable gave which key path, so an
error can name the variable instead of a line it is not on.

Key paths are tuples of table keys (str) and list indices (int), the shape of a pydantic error's
``loc``.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
import tomllib
from collections.abc import Mapping
from typing import Any

Path_ = tuple[str | int, ...]

ENV_PREFIX = "ENERGIMON_"
ENV_DELIMITER = "__"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# -- lines in the TOML file -------------------------------------------------------------------------
class _Scanner:
    """A position-only TOML reader: no values, only where each key path starts.

    It trusts the text to be valid TOML (``tomllib`` parsed it first); on anything unexpected it
    stops and keeps what it found, so a missing line number is the worst outcome.
    """

    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.i = 0
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines: dict[Path_, int] = {}
        self.arrays: dict[Path_, int] = {}  # array-of-tables path (resolved) -> number of tables so far

    def line(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def record(self, path: Path_, pos: int) -> None:
        self.lines.setdefault(path, self.line(pos))

    # -- lexical helpers ------------------------------------------------------------------------
    def skip_ws(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t":
            self.i += 1

    def skip_ws_nl_comments(self) -> None:
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.i = self.n if end < 0 else end
            else:
                return

    def key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            c = self.s[self.i]
            if c == '"':
                start = self.i
                self.basic_string()
                parts.append(tomllib.loads("k = " + self.s[start:self.i])["k"])
            elif c == "'":
                end = self.s.index("'", self.i + 1)
                parts.append(self.s[self.i + 1:end])
                self.i = end + 1
            else:
                m = _BARE_KEY.match(self.s, self.i)
                if m is None:
                    raise ValueError("not a key")
                parts.append(m.group(0))
                self.i = m.end()
            self.skip_ws()
            if self.i < self.n and self.s[self.i] == ".":
                self.i += 1
                continue
            return parts

    def basic_string(self) -> None:
        self.i += 1
        while self.s[self.i] != '"':
            self.i += 2 if self.s[self.i] == "\\" else 1
        self.i += 1

    def multiline(self, quote: str) -> None:
        self.i += 3
        while not self.s.startswith(quote * 3, self.i):
            self.i += 2 if quote == '"' and self.s[self.i] == "\\" else 1
        self.i += 3
        while self.i < self.n and self.s[self.i] == quote:  # up to two quotes may end the content
            self.i += 1

    # -- structure ------------------------------------------------------------------------------
    def resolve(self, keys: list[str], base: Path_ = ()) -> Path_:
        """A dotted key relative to ``base``, with the current element index of each array of tables."""
        path = base
        for k in keys:
            path = (*path, k)
            if path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        return path

    def value(self, path: Path_) -> None:
        c = self.s[self.i]
        if self.s.startswith('"""', self.i):
            self.multiline('"')
        elif self.s.startswith("'''", self.i):
            self.multiline("'")
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.i = self.s.index("'", self.i + 1) + 1
        elif c == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_ws_nl_comments()
                if self.s[self.i] == "]":
                    self.i += 1
                    return
                self.record((*path, index), self.i)
                self.value((*path, index))
                index += 1
                self.skip_ws_nl_comments()
                if self.s[self.i] == ",":
                    self.i += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip_ws_nl_comments()
                if self.s[self.i] == "}":
                    self.i += 1
                    return
                self.keyval(path)
                self.skip_ws_nl_comments()
                if self.s[self.i] == ",":
                    self.i += 1
        else:  # number, bool, date-time: up to the next delimiter
            while self.i < self.n and self.s[self.i] not in ",]}\n#":
                self.i += 1

    def keyval(self, table: Path_) -> None:
        start = self.i
        keys = self.key()
        path = self.resolve(keys, table)
        self.record(path, start)
        self.skip_ws()
        if self.s[self.i] != "=":
            raise ValueError("expected '='")
        self.i += 1
        self.skip_ws()
        self.value(path)

    def document(self) -> dict[Path_, int]:
        table: Path_ = ()
        try:
            while True:
                self.skip_ws_nl_comments()
                if self.i >= self.n:
                    break
                start = self.i
                if self.s.startswith("[[", self.i):
                    self.i += 2
                    keys = self.key()
                    parent = self.resolve(keys[:-1])
                    array = (*parent, keys[-1])
                    self.arrays[array] = self.arrays.get(array, 0) + 1
                    self.record(array, start)
                    table = (*array, self.arrays[array] - 1)
                    self.i = self.s.index("]]", self.i) + 2
                elif self.s[self.i] == "[":
                    self.i += 1
                    table = self.resolve(self.key())
                    self.i = self.s.index("]", self.i) + 1
                else:
                    self.keyval(table)
                    continue
                self.record(table, start)
        except (ValueError, IndexError, tomllib.TOMLDecodeError):
            pass  # keep the lines found so far
        return self.lines


def key_lines(text: str) -> dict[Path_, int]:
    """The 1-based line on which each key path of a valid TOML document is written."""
    return _Scanner(text).document()


# -- environment variables ----------------------------------------------------------------------------
def env_overrides(environ: Mapping[str, str], top_level: Mapping[str, Any],
                  complex_at=None) -> tuple[dict[str, Any], dict[Path_, str], list[tuple[str, str]]]:
    """``ENERGIMON_<KEY>__<SUBKEY>…`` variables as a nested dict (keys lower-cased), plus where each came from.

    ``top_level`` names the settings' top-level keys: a variable without ``__`` that is not one of them
    (``ENERGIMON_CONFIG``, a Grafana provisioning variable) is not a setting and is left alone; one with
    ``__`` whose first part is unknown is a problem (a misspelt section).  Values stay strings (the models
    read numbers and booleans from them), except where ``complex_at(path)`` says a table or list is expected:
    then the value is JSON.  Returns (overrides, {key path: variable name}, [(variable, problem)]).
    """
    data: dict[str, Any] = {}
    names: dict[Path_, str] = {}
    problems: list[tuple[str, str]] = []
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split(ENV_DELIMITER)]
        if parts[0] not in top_level:
            if len(parts) > 1:
                import difflib

                close = difflib.get_close_matches(parts[0], list(top_level), n=1)
                hint = f"; did you mean {ENV_PREFIX}{close[0].upper()}{ENV_DELIMITER}…?" if close else ""
                problems.append((name, f"not a setting: there is no section {parts[0]!r}{hint}"))
            continue
        if any(not p for p in parts):
            problems.append((name, "empty key between '__'"))
            continue
        value: Any = environ[name]
        path = tuple(parts)
        if complex_at is not None and complex_at(path):
            with contextlib.suppress(ValueError):  # else the model says what it expected, naming the variable
                value = json.loads(value)
        node = data
        for p in parts[:-1]:
            nxt = node.get(p)
            if not isinstance(nxt, dict):
                nxt = node[p] = {}
            node = nxt
        node[parts[-1]] = value
        names[path] = name
    return data, names, problems


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` merged into ``base``: tables merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    return override


def env_name_for(path: Path_) -> str:
    """The variable that would set ``path`` (``("smtp", "password")`` → ``ENERGIMON_SMTP__PASSWORD``)."""
    return ENV_PREFIX + ENV_DELIMITER.join(str(p).upper() for p in path)
