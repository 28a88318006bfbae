"""The repository stands on its own: code, tests and docs cite what is in it (docs/ARCHITECTURE.md, the README)
or a published standard or vendor document — never the product brief the project was started from, which is
not in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".toml", ".txt", ".sh", ".cfg", ".ini", ".yml", ".yaml", ".service", ".json", ""}
SKIP = {".git", ".venv", "build", "dist", "node_modules", "__pycache__"}
# that document's name in capitals (it was cited by section, "§6"), or what it was called; spelt in parts so
# that this file does not match itself
OUTSIDE = re.compile(r"\b" + "DES" + r"IGN\b|(?i:\b" + "design" + r" brief\b)")


def _files():
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP or part.endswith(".egg-info") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix in SUFFIXES and path.stat().st_size < 2_000_000:
            yield rel, path


def test_no_citation_of_documents_outside_the_repository():
    found = []
    for rel, path in _files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{rel}:{n}: {line.strip()[:120]}")
    assert not found, ("cite docs/ARCHITECTURE.md (#data-flow, #signs, #counters-not-integrals, …), the README or "
                       "the standard instead:\n" + "\n".join(found))
