"""The tests' shared helpers exist once: a free port (helpers/net.py) and waiting for a condition
(helpers/wait.py); servers come from the fixtures in conftest.py.  A second copy is how they drifted apart.
What test modules share lives in helpers/ (or conftest.py), never in one of them that the others import."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ONE_HOME = {
    "free_port": "helpers/net.py",
    "wait_for": "helpers/wait.py",
    "async_wait_for": "helpers/wait.py",
    "wait_until": "helpers/wait.py",  # the names the copies had
    "wait_async": "helpers/wait.py",
}
DEF = re.compile(r"^\s*(?:async\s+)?def\s+(" + "|".join(ONE_HOME) + r")\s*\(", re.M)


def test_each_shared_helper_is_defined_once():
    copies = []
    for path in sorted(TESTS.rglob("*.py")):
        rel = path.relative_to(TESTS).as_posix()
        for name in DEF.findall(path.read_text(encoding="utf-8")):
            if rel != ONE_HOME[name]:
                copies.append(f"{rel}: def {name} (use {ONE_HOME[name]})")
    assert not copies, "\n".join(copies)


def _test_module_imports(tree: ast.Module, test_modules: set[str]) -> list[str]:
    """The modules named by import statements that are test modules (``from faults import test_x`` too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        hit = next((c for c in candidates if set(c.split(".")) & test_modules), None)
        if hit is not None:
            found.append(f"line {node.lineno}: {hit}")
    return found


def test_no_module_imports_a_test_module():
    """A test module that imports another couples the two: running one collects the other's fixtures and tests,
    and renaming a test file breaks its neighbours.  What several test modules share lives in helpers/ (a fixture
    in conftest.py)."""
    test_modules = {p.stem for p in TESTS.rglob("test_*.py")}
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(TESTS).as_posix()} {hit}" for hit in _test_module_imports(tree, test_modules)]
    assert not found, "\n".join(found)
