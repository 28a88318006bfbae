"""What the ``energimon`` commands share, and how a package adds its commands to the command line.

Each package with commands has a ``register(commands)`` function (in its ``cli`` module) that adds its
parsers to ``commands`` — the top-level subparsers — and sets a ``handler`` on each: a function
``handler(args, config) -> int`` returning the exit code.  :mod:`energimon.app.cli` only assembles the
registrations, dispatches, and turns whatever escapes a handler into one line and an exit code.

``config`` (:class:`Config`) is the configuration the command runs with, loaded by the application when
the handler asks for it: the packages below the application never import the configuration assembly
(``energimon.config``), and a command that needs none (``probe``, ``simulate``) never loads it.

Registration stays light — argparse and the standard library — so that ``energimon --help`` imports no
pandas, scipy or pvlib; a handler imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO, TypeAlias

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from energimon.config.settings import Settings

# Exit codes (the same for every command; sysexits.h where it has one)
EXIT_OK = 0
EXIT_FAIL = 1  # the command could not do its work (store unreachable, file unreadable, mail not sent …)
EXIT_CONFIG = 2  # invalid configuration, or `run` could not start: the systemd unit does not restart on 2
EXIT_USAGE = 64  # a wrong argument (unknown series or site, bad date), sysexits.h EX_USAGE
EXIT_DATA = 65  # bad input data (an import file with bad lines), sysexits.h EX_DATAERR
EXIT_SOFTWARE = 70  # a bug: an unexpected exception, sysexits.h EX_SOFTWARE

# a string: argparse's class is generic only in its type stubs, not at run time
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""The subparsers a ``register`` function adds its commands to."""


class Config(Protocol):
    """The configuration of one command run (``--config``, else ``$ENERGIMON_CONFIG``, else the default path).

    :meth:`settings` loads and validates it on first use; an invalid file raises ``ConfigError``, which the
    application prints (every problem with its line and key path) and exits with :data:`EXIT_CONFIG`.
    """

    @property
    def path(self) -> Path: ...

    def settings(self, *, data_paths: bool = False) -> Settings: ...

    def mail_links(self, settings: Settings) -> Callable[[int], list[tuple[str, str]]] | None:
        """The one-click links for alert mails (the web package's maker; the application hands it over so
        that analytics never imports the web), or None when no web address is configured."""
        ...


Handler = Callable[[argparse.Namespace, Config], int]


def config_arg(p: argparse.ArgumentParser) -> None:
    """The ``-c/--config FILE`` option, on every command that reads the configuration."""
    p.add_argument(
        "-c", "--config", metavar="FILE",
        help=t("konfigurationsfil (standard: $ENERGIMON_CONFIG eller /etc/energimon/energimon.toml)",
               "configuration file (default: $ENERGIMON_CONFIG or /etc/energimon/energimon.toml)"),
    )


def group(commands: Commands, name: str, *, dest: str, metavar: str, help: str | None = None,
          description: str | None = None) -> Commands:
    """The subcommands of command ``name`` (e.g. ``report``), created on first use with ``help`` and
    ``description``: several packages add subcommands to one command (``report savings``, ``report solar``)."""
    parser = commands.choices.get(name)
    if parser is None:
        if help is None:
            raise ValueError(f"command {name!r} is not registered yet and no help text was given to create it")
        parser = commands.add_parser(name, help=help, description=description)
        return parser.add_subparsers(dest=dest, metavar=metavar, required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return parser.add_subparsers(dest=dest, metavar=metavar, required=True)


def fail(prog: str, text: str, code: int = EXIT_FAIL) -> int:
    """``prog: text`` as one line on stderr (a URL's credentials hidden); returns ``code``."""
    from energimon.security import redact_url_credentials

    print(redact_url_credentials(f"{prog}: {text}"), file=sys.stderr)
    return code


_WHAT_DA = {"site": "bygning", "series": "serie", "device": "apparat", "meter": "måler"}


def unknown(what: str, name: str, known: Iterable[str]) -> str:
    """``unknown site 'x'; did you mean 'y'? (known: …)`` for an argument naming something that is not there, in
    the run's language (``ukendt bygning 'x'; mente du 'y'? (kendte: …)``); ``what`` is named in English."""
    import difflib  # only when a name is wrong: not on every start

    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=1)  # ratio >= 0.6, as Python's own suggestions
    hint = t(f"; mente du {close[0]!r}?", f"; did you mean {close[0]!r}?") if close else ""
    more = t(f", … ({len(known)} i alt)", f", … ({len(known)} in all)") if len(known) > 20 else ""
    listed = ", ".join(known[:20]) + more
    if _lang == "en":
        return f"unknown {what} {name!r}{hint} (known: {listed or 'none yet'})"
    return f"ukendt {_WHAT_DA.get(what, what)} {name!r}{hint} (kendte: {listed or 'ingen endnu'})"


# -- one language per invocation -------------------------------------------------------------------------------
LANGS = ("da", "en")
LANG_ENV = "ENERGIMON_LANG"
"""The environment variable that chooses the language when ``--lang`` does not (``da`` or ``en``)."""

_lang = "da"


def lang_from_env() -> str | None:
    """``$ENERGIMON_LANG`` when set (``da``/``en``); ValueError naming the variable for anything else."""
    import os

    value = os.environ.get(LANG_ENV, "").strip().lower()
    if not value:
        return None
    if value not in LANGS:
        raise ValueError(f"{LANG_ENV}={value!r} is not a language energimon speaks; use 'da' or 'en'")
    return value


def set_lang(lang: str) -> str:
    """Set the language of this invocation's messages (the application does it once, from ``--lang`` or
    ``$ENERGIMON_LANG``; a report command whose default comes from its configuration sets it again)."""
    global _lang
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; use 'da' or 'en'")
    _lang = lang
    return lang


def lang() -> str:
    """The language of this invocation (``da`` unless set)."""
    return _lang


def t(da: str, en: str) -> str:
    """The message in this invocation's language: both texts stand side by side where the message is printed."""
    return en if _lang == "en" else da


def number(value: float | None, decimals: int = 0, language: str | None = None) -> str:
    """A number for people: Danish ``1.376,5``, English ``1,376.5``; None or NaN is "–" (missing is not zero)."""
    import math

    if value is None or not math.isfinite(value):
        return "–"
    if round(value, decimals) == 0:
        value = 0.0  # no "-0"
    text = f"{value:,.{decimals}f}"
    if (language or _lang) == "da":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def percent(fraction: float | None, decimals: int = 1, language: str | None = None) -> str:
    """A fraction as per cent with a space before the sign, as both languages write it: ``99,7 %`` / ``99.7 %``."""
    import math

    if fraction is None or not math.isfinite(fraction):
        return "–"
    return f"{number(100.0 * fraction, decimals, language)} %"


# -- progress of long work ---------------------------------------------------------------------------------------
class Steps:
    """Progress of work in ``n`` steps, reported after each step as ``(i, n, name)``.

    On a terminal a progress bar (rich) redrawn in place; otherwise (a log, a pipe, systemd's journal) one
    line per step, ``[i/n] name``, so a log shows every step on its own line.  The bar ends after step ``n``.
    """

    def __init__(self, stream: TextIO | None = None, unit: str = "") -> None:
        self._stream = stream
        self._unit = unit
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stderr

    def _interactive(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __call__(self, i: int, n: int, name: str) -> None:
        if not self._interactive():
            unit = f" {self._unit}" if self._unit else ""
            print(f"[{i}/{n}{unit}] {name}", file=self.stream, flush=True)
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=self.stream), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(name, total=n)
        if self._task is not None:
            self._bar.update(self._task, completed=i, total=n, description=name)
        if i >= n:
            self.close()

    def close(self) -> None:
        """End the bar (also when the work stopped before its last step)."""
        if self._bar is not None:
            self._bar.stop()
        self._bar = None
        self._task = None


_steps = Steps()


def progress(i: int, n: int, name: str) -> None:
    """Step ``i`` of ``n`` (``name``) is done: a bar on a terminal, one line per step otherwise (:class:`Steps`)."""
    _steps(i, n, name)


def end_progress() -> None:
    """End a bar the work left unfinished (it failed before its last step); the application calls it after
    every command, so an error message is not drawn into a running bar."""
    _steps.close()


def local_time(ms: float) -> str:
    """A Unix time in milliseconds as Danish local time with its zone (``2026-11-01 06:00:00 CET``)."""
    import datetime as dt

    from energimon.model import LOCAL_TZ

    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S %Z")
