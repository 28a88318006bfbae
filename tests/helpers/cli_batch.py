"""Run many ``energimon`` commands in one process, each as the console script would (``energimon.app.cli.main``).

Used by tests that run every subcommand in several states: one Python start-up instead of one per command
(most of a command's time on a loaded machine).  Reads a JSON list of argument lists on stdin and writes a
JSON list of {"code", "stdout", "stderr", "escaped"} on stdout; ``escaped`` is the traceback of an exception
that left ``main`` — what a user would see as a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback


def run(argv: list[str]) -> dict:
    from energimon.app.cli import main

    out, err = io.StringIO(), io.StringIO()
    escaped = ""
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors and --help
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = -1
            escaped = traceback.format_exc()
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "escaped": escaped}


if __name__ == "__main__":
    real_stdout = sys.stdout
    results = [run(argv) for argv in json.load(sys.stdin)]
    json.dump(results, real_stdout)
