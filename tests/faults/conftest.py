"""The fault suite's table: every scenario adds its row (produced, stored, duplicates, lost) to a
session-wide list, printed at the end of the run (``pytest tests/faults -q`` shows it)."""

from __future__ import annotations

import pytest

from faults.harness import Tally, format_table

_TALLIES: list[Tally] = []


class FaultTable:
    def add(self, t: Tally) -> Tally:
        _TALLIES.append(t)
        return t


@pytest.fixture(scope="session")
def fault_table() -> FaultTable:
    return FaultTable()


def pytest_terminal_summary(terminalreporter) -> None:
    if not _TALLIES:
        return
    terminalreporter.section("fault injection: every reading exactly once")
    for line in format_table(_TALLIES).splitlines():
        terminalreporter.write_line(line)
