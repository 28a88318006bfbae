"""The command line is assembled from each package's ``register``: every command reaches a handler, and building
the parser stays light (the handlers import pandas, scipy, pvlib and the settings models when they run)."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys

from energimon.app.cli import build_parser


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), handler=None):
    """Every runnable command (a parser without further subcommands): its words and its handler (set on it or
    on the group above it, as ``alerts`` does)."""
    handler = parser.get_default("handler") or handler
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, handler
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, (*path, name), handler)


def test_every_command_has_a_handler_taking_args_and_config():
    leaves = dict(_leaves(build_parser()))
    assert ("report", "savings") in leaves and ("report", "solar") in leaves and ("report", "mail") in leaves
    assert ("probe",) in leaves and ("store", "copy") in leaves and ("alerts", "mute") in leaves
    for words, handler in leaves.items():
        assert handler is not None, words
        assert list(inspect.signature(handler).parameters) == ["args", "config"], (words, handler)


def test_building_the_parser_imports_no_heavy_module():
    code = ("import sys, json; from energimon.app.cli import build_parser; build_parser(); "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'numpy', 'scipy', 'pvlib', 'matplotlib', 'pydantic', 'pymodbus', 'httpx', 'msal') "
            "or m.startswith('energimon.config'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == []
