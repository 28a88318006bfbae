"""The tests' shared helpers exist once: a free port (helpers/net.py) and waiting for a condition
(helpers/wait.py); servers come from the fixtures in conftest.py.  A second copy is how they drifted apart."""

from __future__ import annotations

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
