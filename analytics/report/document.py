"""The document model every report builds: sections of paragraphs, tables and charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ChartFn = Callable[[Any], None]
"""Draws on a matplotlib Axes (it receives the Axes; titles and labels are its business)."""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]  # formatted cells
    title: str = ""
    col_widths: list[float] | None = None  # relative; default equal
    bold_last_row: bool = False


@dataclass
class Chart:
    draw: ChartFn
    title: str = ""
    height: float = 0.24  # share of the page height


@dataclass
class Term:
    """A term in bold on a line of its own with its explanation below it (a glossary entry, a question and its
    answer)."""

    term: str
    text: str


@dataclass
class Section:
    heading: str
    blocks: list[str | Table | Chart | Term] = field(default_factory=list)
    new_page: bool = True

    def text(self, line: str) -> Section:
        self.blocks.append(line)
        return self

    def table(self, t: Table) -> Section:
        self.blocks.append(t)
        return self

    def chart(self, c: Chart) -> Section:
        self.blocks.append(c)
        return self

    def term(self, term: str, text: str) -> Section:
        self.blocks.append(Term(term, text))
        return self


@dataclass
class Report:
    title: str
    subtitle: str
    lang: str = "da"
    footer: str = ""
    sections: list[Section] = field(default_factory=list)
    mark: str = ""  # printed at the top of every page, e.g. "FORELØBIG" on a report for a month not yet over
