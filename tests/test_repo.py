"""Repository promises: CI runs the README's test command; the package installs as one namespace."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import energimon

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- test-command:.*?-->\s*```sh\n(.+?)\n```", text, re.S)
    assert m, "README lost its marked test command"
    return m.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_test_command() in [line.strip() for line in ci]


def test_one_import_namespace_and_no_top_level_config_module():
    for name in ("energimon.collector.modbus.poller", "energimon.store.sqlite", "energimon.config.settings",
                 "energimon.collector.simulator.modbus_server", "energimon.analytics"):
        importlib.import_module(name)
    # profiles and the example ship inside the package
    from importlib import resources

    assert resources.files("energimon.config").joinpath("energimon.example.toml").is_file()
    assert resources.files("energimon.config").joinpath("profiles", "eastron.toml").is_file()
    assert energimon.__version__
    try:
        importlib.import_module("config")
    except ModuleNotFoundError:
        pass
    else:
        raise AssertionError("a top-level 'config' module is importable")
