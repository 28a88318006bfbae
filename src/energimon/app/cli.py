"""The ``energimon`` command line: the commands each package registers, one dispatcher, one error policy.

Every package registers its own commands (``register(commands)`` in its ``cli`` module, see
:mod:`energimon.cliutil`); this module lists the registrations, parses, gives the handler its
configuration (loaded only when the handler asks) and turns whatever escapes a handler into one line on
stderr and an exit code.  Building the parser imports no handler's heavy dependencies (pandas, scipy,
pvlib, the settings models): they are imported by the commands that use them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from energimon import __version__
from energimon.cliutil import (
    EXIT_CONFIG,
    EXIT_FAIL,
    EXIT_SOFTWARE,
    EXIT_USAGE,
    LANG_ENV,
    LANGS,
    end_progress,
    fail,
    lang_from_env,
    set_lang,
    t,
)

if TYPE_CHECKING:
    from energimon.config.settings import Settings

__all__ = ["build_parser", "main", "subcommands"]



def _lang_help() -> str:
    return t(f"sprog for beskeder, resuméer og filer: da (dansk, standard) eller en (engelsk); også ${LANG_ENV}. En "
             "rapports eget standardsprog er det konfigurerede (esco.language)",
             f"language of messages, summaries and files: da (Danish, the default) or en; also ${LANG_ENV}. A "
             "report's own default is its configured language (esco.language)")


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's ``usage:`` prefix in the run's language (argparse takes its own words from gettext, which has
    no Danish catalogue on our hosts)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, t("brug: ", "usage: ") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """A parser whose help speaks the run's language also in argparse's own words (section titles, ``-h``);
    subcommands' parsers are of the same class (argparse's ``add_subparsers`` uses the parent's class)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = t("argumenter", "positional arguments")
        self._optionals.title = t("tilvalg", "options")
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = t("vis denne hjælp og afslut", "show this help message and exit")


def _pre_lang(argv: list[str]) -> str:
    """The run's language, known before the parser is built (its help texts are in that language): ``--lang X``
    or ``--lang=X`` anywhere, else ``$ENERGIMON_LANG``, else Danish.  A wrong value is left to the parser
    (``--lang``) or to :func:`main` (the variable), which name it."""
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif word.startswith("--lang="):
            value = word.partition("=")[2]
        else:
            continue
        if value in LANGS:
            return value
    try:
        return lang_from_env() or "da"
    except ValueError:
        return "da"


def _registrations():
    """Each package's ``register``, in the order ``energimon --help`` lists their commands."""
    from energimon.analytics.alerting import cli as alerting
    from energimon.analytics.report import cli as report
    from energimon.analytics.report import climate_cli as climate
    from energimon.analytics.report import solar_cli as solar
    from energimon.app import commands as app
    from energimon.collector.importer import cli as importer
    from energimon.collector.mbus import cli as mbus
    from energimon.collector.modbus import cli as modbus
    from energimon.collector.simulator import cli as simulator
    from energimon.collector.sources import cli as sources
    from energimon.mail import cli as mail
    from energimon.store import cli as store
    from energimon.web import cli as web

    return (app.register, store.register, modbus.register, mbus.register, simulator.register, importer.register,
            sources.register, report.register, solar.register, climate.register, report.register_mail,
            alerting.register, mail.register, web.register)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, its help in the language set now (:func:`main` sets it first)."""
    parser = _Parser(
        prog="energimon",
        description=t("Energiovervågning af bygninger: læser målere og invertere og gemmer hver måling.",
                      "Building energy monitoring: reads meters and inverters, keeps every reading."),
    )
    parser.add_argument("--version", action="version", version=f"energimon {__version__}",
                        help=t("vis programmets version og afslut", "show program's version number and exit"))
    parser.add_argument("--traceback", action="store_true",
                        help=t("vis Pythons traceback ved en uventet fejl (til en fejlrapport) i stedet for én linje",
                               "on an unexpected error show Python's traceback (for a bug report) instead of one line"))
    parser.add_argument("--lang", choices=LANGS, default=None, help=_lang_help())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in _registrations():
        register(commands)
    for _, sub in subcommands(parser):
        # `energimon status --lang en` as well as `energimon --lang en status`; SUPPRESS so that a subcommand
        # without the option does not overwrite the global one with its default
        if not any("--lang" in a.option_strings for a in sub._actions):
            sub.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS, help=_lang_help())
    return parser


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
                ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command's parser with its words (``("report", "savings")``), parents before their subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                yield (*path, word), sub
                yield from subcommands(sub, (*path, word))


class _Config:
    """:class:`energimon.cliutil.Config` for one run: the file from ``--config`` (else ``$ENERGIMON_CONFIG``,
    else the default), loaded when the handler first asks for the settings."""

    def __init__(self, arg: str | None):
        self._arg = arg
        self._loaded: dict[bool, Settings] = {}

    @property
    def path(self) -> Path:
        from energimon.config.settings import config_path

        return config_path(self._arg)

    def settings(self, *, data_paths: bool = False) -> Settings:
        if data_paths not in self._loaded:
            from energimon.config.settings import load_settings

            self._loaded[data_paths] = load_settings(self._arg, data_paths=data_paths)
        return self._loaded[data_paths]

    def mail_links(self, settings: Settings):
        from energimon.web.links import links_for

        return links_for(settings)


def _command_name(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """The command that ran, as its usage line names it (``energimon report savings``)."""
    while True:
        action = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if action is None:
            return parser.prog
        word = getattr(args, action.dest, None)
        if not isinstance(word, str) or word not in action.choices:
            return parser.prog
        parser = action.choices[word]


# The classes of the errors handled below are looked up only when a handler raised (an ``except`` clause's
# expression is evaluated then): the settings models and the stores are not imported just to be ready.
def _config_error() -> type[Exception]:
    from energimon.config.settings import ConfigError

    return ConfigError


def _store_error() -> type[Exception]:
    from energimon.store.base import StoreError

    return StoreError


def _sqlite_error() -> type[Exception]:
    import sqlite3

    return sqlite3.Error


def main(argv: list[str] | None = None) -> int:
    """Run a command.  Whatever goes wrong ends in one line on stderr and an exit code, never a traceback
    (unless ``--traceback`` asks for one): 1 the command failed (store, files), 2 configuration (or the daemon
    could not start), 64 a wrong argument, 70 a bug."""
    if argv is None:
        argv = sys.argv[1:]
    set_lang(_pre_lang(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        chosen = getattr(args, "lang", None) or lang_from_env()
    except ValueError as exc:
        return fail("energimon", str(exc), EXIT_USAGE)
    args.lang = chosen  # None: not chosen; a report then takes its configured language
    set_lang(chosen or "da")
    try:
        try:
            return args.handler(args, _Config(getattr(args, "config", None)))
        finally:
            end_progress()
    except _config_error() as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except _store_error() as exc:
        return fail(_command_name(parser, args), str(exc), EXIT_FAIL)
    except _sqlite_error() as exc:  # a state file (spool, alerts, jobs) that is damaged or not SQLite
        return fail(_command_name(parser, args), f"SQLite: {exc}", EXIT_FAIL)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return fail(_command_name(parser, args), f"{where}{exc.strerror or exc}", EXIT_FAIL)
    except Exception as exc:
        from energimon.app.daemon import StartupError  # imported only here: it brings the scheduler

        if isinstance(exc, StartupError):  # e.g. the demo's daemon
            return fail(_command_name(parser, args), t(f"kan ikke starte: {exc}", f"cannot start: {exc}"),
                        EXIT_CONFIG)
        if args.traceback:
            raise
        from energimon.jobs import error_text

        return fail(_command_name(parser, args),
                    t(f"uventet fejl ({error_text(exc)}); kør kommandoen igen med 'energimon --traceback …' og "
                      "indsend det, den skriver",
                      f"unexpected error ({error_text(exc)}); run it again with 'energimon --traceback …' and report "
                      "the output"), EXIT_SOFTWARE)


if __name__ == "__main__":
    raise SystemExit(main())
