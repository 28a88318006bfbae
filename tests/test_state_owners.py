"""Each store of state has one owner: only the owner's modules write SQL against its tables or open its file.

The installed package's modules are read (not imported) and every SQL statement in them is found: a string
(or f-string) that starts with an SQL verb, its tables taken from FROM / JOIN / INTO / UPDATE / TABLE /
REFERENCES / ON.  A module with SQL or a ``sqlite3.connect`` that is not in :data:`OWNERS`, or that touches a
table not listed for it, fails this test: a package that needs another's state asks the owner for a read
function (returning dataclasses or frames) instead of reading its tables.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# module -> the tables it may touch (why: the state it owns)
OWNERS: dict[str, set[str]] = {
    # the durable spool (readings waiting for the store, dead letters, the collectors' last stamps)
    # (queue + streams: a series id per reading; readings: an earlier version's layout, moved on open)
    "energimon.store.spool": {"queue", "streams", "readings", "dead_letters", "stamps", "sqlite_master"},
    # the embedded time-series store
    # (chunks: old days compacted)
    "energimon.store.sqlite": {"series", "points", "chunks", "sqlite_master"},
    # InfluxQL to the InfluxDB server (its measurements; no SQLite)
    "energimon.store.influx": set(),
    # the alert state file: alerts, mutes, notifications ...
    "energimon.analytics.alerting.state": {"alerts", "mutes", "notifications", "meta"},
    # ... whose lifecycle steps run inside the state file's transactions (with the outbox's enqueue)
    "energimon.analytics.alerting.lifecycle": {"alerts", "notifications"},
    # the outbox table (in the alert state file and in mail.db) and mail.db's report delivery record
    "energimon.mail.outbox": {"outbox", "report_deliveries", "report_schedule", "sqlite_master"},
    # the job-run log (jobs.db)
    "energimon.app.jobruns": {"job_runs", "sqlite_master"},
    # the live sources' state (watermarks, fetched values, revisions, failures)
    "energimon.collector.sources.state": {"series", "points", "point_packs", "revisions", "sqlite_master"},
    # the web application's users.db: local accounts, the audit log, one-click links already used
    "energimon.web.accounts": {"users", "audit", "used_links"},
}

_VERB = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|WITH|PRAGMA\s+table_info)\b")
_TABLE = re.compile(
    r"\b(?:FROM|JOIN|INTO|(?<!DO )UPDATE|REFERENCES|TABLE(?:\s+IF\s+(?:NOT\s+)?EXISTS)?"
    r"|INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?\w+\s+ON)\s+([A-Za-z_]\w*)|PRAGMA\s+table_info\((\w+)\)")
_CTE = re.compile(r"(?:\bWITH|,)\s+(\w+)\s+AS\s*\(")  # a common table expression's name is no table


def package_modules() -> dict[str, Path]:
    """Every module of the installed package (the packages pyproject.toml lists), by its import name."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    modules = {}
    for pkg in packages:
        spec = importlib.util.find_spec(pkg)
        assert spec is not None and spec.submodule_search_locations, pkg
        for folder in spec.submodule_search_locations:
            for path in Path(folder).glob("*.py"):
                name = pkg if path.stem == "__init__" else f"{pkg}.{path.stem}"
                modules[name] = path
    return modules


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's with ``?`` for each interpolation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "?" for v in node.values)
    return None


def sql_use(source: str) -> tuple[set[str], bool, list[str]]:
    """(tables named by the SQL statements, whether ``sqlite3.connect`` is called, the statements)."""
    tree = ast.parse(source)
    inner = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    tables: set[str] = set()
    statements = []
    connects = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "sqlite3":
            connects = True
        if id(node) in inner:
            continue
        text = _text(node)
        if text is None or not _VERB.match(text):
            continue
        statements.append(text)
        ctes = set(_CTE.findall(text))
        tables |= {m.group(1) or m.group(2) for m in _TABLE.finditer(text)} - ctes
    return tables, connects, statements


def test_the_scanner_finds_tables_in_the_forms_the_code_uses():
    src = '''
import sqlite3
db = sqlite3.connect("x")
db.execute("SELECT a FROM alerts WHERE x = ?")
db.execute(f"SELECT {cols} FROM job_runs ORDER BY job_id")
db.execute("SELECT n.id FROM notifications n JOIN alerts a ON a.id = n.alert_id")
db.execute("INSERT OR IGNORE INTO outbox(dedupe) VALUES (?)")
db.execute("UPDATE mutes SET x = 1")
db.execute("INSERT INTO points (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a")
db.execute("WITH b AS (SELECT x FROM readings), c AS (SELECT y FROM b) SELECT * FROM c")
SCHEMA = """
CREATE TABLE IF NOT EXISTS spool_x (id INTEGER, alert_id INTEGER REFERENCES other(id));
CREATE UNIQUE INDEX IF NOT EXISTS one ON spool_y(key);
"""
db.execute("PRAGMA table_info(outbox)")
text = "SELECT is a word in prose only at a sentence start, and this one names no table"
'''
    tables, connects, _ = sql_use(src)
    assert connects
    assert tables == {"alerts", "job_runs", "notifications", "outbox", "mutes", "points", "readings", "spool_x",
                      "other", "spool_y"}


def test_only_owners_write_sql_against_their_tables():
    problems = []
    used: dict[str, set[str]] = {}
    for name, path in sorted(package_modules().items()):
        tables, connects, statements = sql_use(path.read_text(encoding="utf-8"))
        if not (tables or connects or statements):
            continue
        used[name] = tables
        if name not in OWNERS:
            problems.append(f"{name} ({path}) has SQL or opens SQLite ({', '.join(sorted(tables)) or 'no table'}) but "
                            "owns no state: read through the owner's read functions instead")
            continue
        if tables - OWNERS[name]:
            problems.append(f"{name} touches {', '.join(sorted(tables - OWNERS[name]))}, which it does not own")
        if OWNERS[name] - tables:  # keep the list honest
            problems.append(f"{name} is listed with {', '.join(sorted(OWNERS[name] - tables))}, which its SQL never "
                            "names")
    stale = set(OWNERS) - set(used)
    problems += [f"{name} is listed as an owner but has no SQL: remove it from OWNERS" for name in sorted(stale)]
    assert not problems, "\n".join(problems)
