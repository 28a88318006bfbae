"""Settings owned by what they configure: the owners' sample sections load, and nothing below the
configuration imports it (the layers in pyproject.toml; import-linter checks the same on the installed
package, this test needs only the source tree)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from energimon.config.settings import settings_from_dict

ROOT = Path(__file__).resolve().parents[1]

# Modules allowed to import energimon.config at run time: the configuration itself and the application.
ABOVE_CONFIG = ("energimon.config", "energimon.app", "energimon.__main__")

SITES = {
    "soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.4318, "longitude": 11.5560},
    "dianalund-bibliotek": {"name": "Dianalund Bibliotek", "latitude": 55.533, "longitude": 11.493},
}


def _modules() -> list[tuple[str, Path]]:
    """(import name, file) of every module, from pyproject's folder mapping."""
    package_dir = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-dir"]
    out = []
    for pkg, folder in package_dir.items():
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            # a sub-folder mapped on its own (collector/ under energimon) is named by its own entry
            if not any(name.startswith(other + ".") and len(other) > len(pkg) for other in package_dir):
                out.append((name, path))
    return out


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, imported module) of every import that runs (not under ``if TYPE_CHECKING:``)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_the_scan_sees_lazy_imports_and_skips_type_checking_ones():
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from energimon.config.settings import Settings\n"
                     "def f():\n    from energimon import config\n    import energimon.config.locate\n")
    names = [name for _, name in _runtime_imports(tree)]
    assert "energimon.config" in names and "energimon.config.locate" in names
    assert "energimon.config.settings" not in names


def test_nothing_below_the_configuration_imports_it_at_run_time():
    modules = _modules()
    assert any(name == "energimon.collector.modbus.poller" for name, _ in modules)  # the mapping was followed
    offenders = []
    for name, path in modules:
        if name.startswith(ABOVE_CONFIG):
            continue
        for line, imported in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if imported == "energimon.config" or imported.startswith("energimon.config."):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("folder", ["collector/modbus", "collector/mbus", "collector/mqtt", "collector/importer",
                                    "store"])
def test_each_owner_folder_has_its_settings_readme_and_sample(folder):
    for name in ("settings.py", "README.md", "sample.toml"):
        assert (ROOT / folder / name).is_file(), f"{folder}/{name}"


def test_the_owners_sample_sections_load_together_and_the_example_has_each_section():
    example = (ROOT / "config" / "energimon.example.toml").read_text(encoding="utf-8")
    data: dict = {"sites": SITES}
    for folder in ("collector/modbus", "collector/mqtt", "collector/importer", "store"):
        text = (ROOT / folder / "sample.toml").read_text(encoding="utf-8")
        first_table = next(line.split("#")[0].strip() for line in text.splitlines() if line.startswith("["))
        assert f"\n{first_table}" in example, f"{folder}/sample.toml: {first_table} not in the example config"
        section = tomllib.loads(text)
        assert not set(section) & set(data), f"{folder}/sample.toml repeats a section"
        data.update(section)
    settings = settings_from_dict(data, environ={})  # the whole configuration: cross-checks included
    assert [(d.site, d.id, d.profile) for d in settings.devices] == [
        ("soro-raadhus", "hovedmaaler", "eastron.sdm630"), ("soro-raadhus", "inverter", "sunspec"),
        ("dianalund-bibliotek", "hovedmaaler", None)]
    assert settings.devices[2].registers[1].scale == 1000.0  # kWh register -> Wh
    assert settings.mqtt is not None
    assert [s.format for s in settings.mqtt.subscriptions] == ["json", "plain", "shelly_gen2"]
    assert settings.datahub is not None and settings.datahub.metering_points[0].id == "571313100000000001"
    assert (settings.store.kind, settings.spool.synchronous) == ("sqlite", "FULL")
