"""Repository promises: CI runs the README's test command; the package installs as one namespace."""

from __future__ import annotations

import importlib
import importlib.util
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


def test_installed_distribution_has_only_the_energimon_namespace():
    """What pip installed (editable or not) puts no generic top-level module such as `config` in site-packages."""
    from importlib import metadata

    files = metadata.files("energimon") or []
    tops = {f.parts[0] for f in files if not f.parts[0].endswith(".dist-info") and f.suffix != ".pth"}
    tops = {t for t in tops if not t.startswith("__editable__") and t != ".."}  # "..": the bin/ script
    assert tops <= {"energimon", "__pycache__"}, tops
    for name in ("config", "core", "src", "store", "collector", "analytics"):
        spec = importlib.util.find_spec(name)
        # importable only from a source checkout on sys.path (python -m ...), never from site-packages
        assert spec is None or "site-packages" not in (spec.origin or ""), (name, spec.origin)


def test_every_package_folder_is_listed_in_pyproject():
    """The explicit package list must name every folder with an __init__.py, or a non-editable install lacks it."""
    import tomllib

    py = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(py["packages"])
    for pkg, folder in py["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([pkg, *rel.parts]) if rel.parts else pkg
            if not any(name.startswith(other + ".") and other != pkg for other in py["package-dir"]):
                assert name in listed, f"{name} ({init.parent}) missing from [tool.setuptools] packages"
