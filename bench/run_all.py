"""Run every paired benchmark and write one table into bench/README.md (between the run_all markers).

Each benchmark runs as its own process (``bench/<name>.py --json …``, plus ``--quick`` when given), so one's
imports and memory do not colour another's.  Every row is energimon and a named reference run in pairs,
A B A B …, on the production settings (spool ``synchronous=FULL``, the writer's default batch, the daemon's
own code path), timed to where the data is durable in the store; the table gives the median and the
min–max over the pairs and the 1-minute load average before and after each benchmark (this machine is
shared).

    .venv/bin/python bench/run_all.py            # full sizes (about 30-40 minutes on 2 loaded cores)
    .venv/bin/python bench/run_all.py --quick    # small sizes, few pairs (a few minutes); marks the table "quick"
    .venv/bin/python bench/run_all.py --only mqtt_ingest,influx_write --no-readme
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Row, fmt_num, load_average, summary

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- run_all: begin -->", "<!-- run_all: end -->"
BENCHES = ("startup", "modbus_poll", "mqtt_ingest", "influx_write", "spool_throughput", "store_year_query",
           "store_footprint", "fit_speed", "savings", "sources_backfill")
# The size (3 years × 100 metering points, the script's default) in 3 pairs: about 8 minutes since the
# packed spool rows and state file.
FULL_ARGS = {"sources_backfill": ["--pairs", "3"]}


def run_one(name: str, quick: bool, extra: list[str]) -> tuple[list[Row], float, str]:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "rows.json"
        cmd = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out),
               *(["--quick"] if quick else FULL_ARGS.get(name, [])), *extra]
        print(f"== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=HERE.parent)
        seconds = time.perf_counter() - t0
        if r.returncode != 0 or not out.exists():
            return [], seconds, f"exit {r.returncode}"
        return [Row(**row) for row in json.loads(out.read_text(encoding="utf-8"))], seconds, ""


def value_cell(row: Row) -> str:
    text = f"{summary(row.values())} {row.unit}"
    for unit, factor in row.per.items():
        text += f" ({fmt_num(sorted(row.values())[len(row.values()) // 2] * factor)} {unit})"
    return text


def table(rows: list[Row], failed: dict[str, str]) -> list[str]:
    out = ["| # | what is measured (energimon) | energimon: median (min–max) | reference: median | reference |"
           " ratio: median (min–max) | goal | verdict | pairs | load |",
           "|---:|---|---|---|---|---|---|---|---:|---|"]
    for i, row in enumerate(rows, 1):
        ratio_kind = {"rate": "energimon ÷ reference rate", "time": "energimon ÷ reference time",
                      "size": "energimon ÷ reference size"}[row.kind]
        ref = summary(row.reference_values()).split(" (")[0] + ("" if row.kind == "time" else f" {row.unit}")
        note = f"<br>*{row.note}*" if row.note else ""
        out.append(f"| {i} | {row.case}{note} | {value_cell(row)} | {ref} | {row.reference_name} | "
                   f"{summary(row.ratios())}<br>*{ratio_kind}* | {row.goal_text()} | {row.verdict()} | "
                   f"{len(row.project)} | {' → '.join(f'{x:.1f}' for x in row.load)} |")
    for name, why in failed.items():
        out.append(f"| – | `{name}.py` did not finish ({why}) | | | | | | **not run** | | |")
    return out


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and few pairs in every benchmark")
    ap.add_argument("--only", help="comma-separated benchmark names (default: all)")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names to leave out")
    ap.add_argument("--no-readme", action="store_true", help="print the table, do not write bench/README.md")
    ap.add_argument("--dir", help="parent folder for the benchmarks' temp files (passed on)")
    args = ap.parse_args()
    names = [n for n in (args.only.split(",") if args.only else BENCHES) if n not in args.skip.split(",")]
    extra = ["--dir", args.dir] if args.dir else []
    started = dt.datetime.now().astimezone()
    at_commit = commit()  # what was measured, even if the worktree moves on during the run
    load0 = load_average()
    rows: list[Row] = []
    failed: dict[str, str] = {}
    durations = []
    for name in names:
        got, seconds, error = run_one(name, args.quick, extra)
        durations.append(f"{name} {seconds:.0f} s")
        if error:
            failed[name] = error
        rows += got
    lines = [
        f"Run {started:%Y-%m-%d %H:%M %Z} by `bench/run_all.py{' --quick' if args.quick else ''}` at commit "
        f"`{at_commit}`; {os.cpu_count()} CPUs (shared with other work), Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}; load average (1 min) {load0:.1f} at the start, {load_average():.1f} at the end. "
        f"Durations: {', '.join(durations)}.",
        "",
        *table(rows, failed),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_readme and not args.only:
        readme = README.read_text(encoding="utf-8")
        if BEGIN not in readme or END not in readme:
            raise SystemExit(f"{README} has no {BEGIN} … {END} markers")
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
        print(f"wrote the table into {README}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
