"""One language per run of the command line (issue 19): Danish by default, English with ``--lang en`` or
``$ENERGIMON_LANG``; locale-correct numbers; files for Danish Excel; progress that a log can read; help texts
that say what each command prints or produces."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from energimon.app.cli import build_parser, main, subcommands
from energimon.cliutil import Steps, number, percent, set_lang, t
from energimon.model import LOCAL_TZ, Reading
from energimon.store.sqlite import SqliteStore

CONFIG = """
[store]
path = "store.db"
[spool]
path = "spool.db"
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.5560
"""

PRINTS = re.compile(r"\b(prints?|writes?|shows?|lists?|serves?|reads?|produces?|logs?|sends?|mails?|exits?)\b",
                    re.IGNORECASE)
# what a Danish description says a command prints, writes, shows … (skriver, viser, sender, kører, afslutter med …)
PRINTS_DA = re.compile(r"\b(skriver|skrives|viser|vises|lister|laver|sender|sendes|kører|logger|læser|læses|"
                       r"afslutter)\b", re.IGNORECASE)
# argument helps that read the same in both languages
LANGUAGE_NEUTRAL = {"sqlite | sqlite:PATH | influx"}


def _ms(text: str, offset: str) -> int:
    return int(dt.datetime.fromisoformat(f"{text}{offset}").timestamp() * 1000)


@pytest.fixture
def cfg(tmp_path):
    """A store with an outdoor temperature around the October DST change (the hour 02:00-03:00 twice) and a
    main meter's power of 1 376.5 W."""
    (tmp_path / "energimon.toml").write_text(CONFIG, encoding="utf-8")
    store = SqliteStore(tmp_path / "store.db")
    temps = [("2026-10-25T01:30:00", "+02:00", 8.25), ("2026-10-25T02:30:00", "+02:00", 7.5),
             ("2026-10-25T02:30:00", "+01:00", 7.25), ("2026-10-25T03:30:00", "+01:00", 6.0)]
    readings = [Reading("soro-raadhus", "vejr", "outdoor_temp_c", "weather", _ms(s, o), v) for s, o, v in temps]
    readings.append(Reading("soro-raadhus", "hovedmaaler", "power_w", "grid", _ms("2026-10-25T04:00:00", "+01:00"),
                            1376.5))
    assert store.write(readings) == []
    store.close()
    return tmp_path / "energimon.toml"


def test_numbers_and_texts_follow_the_language():
    assert (number(1376.0), percent(0.997)) == ("1.376", "99,7 %")  # Danish: '.' thousands, decimal comma
    assert t("hej", "hello") == "hej"
    set_lang("en")
    assert (number(1376.0), percent(0.997), number(1234.5, 1)) == ("1,376", "99.7 %", "1,234.5")
    assert t("hej", "hello") == "hello"
    assert number(float("nan")) == "–" and number(None) == "–"  # missing is a dash, never 0


def test_latest_speaks_danish_by_default_and_english_with_lang(cfg, capsys):
    assert main(["latest", "-c", str(cfg)]) == 0
    da = capsys.readouterr().out
    assert "værdi" in da and "tid (dansk tid)" in da and "1.376,500" in da and "value" not in da
    assert main(["--lang", "en", "latest", "-c", str(cfg)]) == 0
    en = capsys.readouterr().out
    assert "value" in en and "time (Danish time)" in en and "1,376.500" in en and "værdi" not in en
    # the option after the command works too, and the environment variable when no option is given
    assert main(["latest", "--lang", "en", "-c", str(cfg)]) == 0
    assert "1,376.500" in capsys.readouterr().out


def test_the_environment_chooses_the_language_and_a_wrong_one_is_named(cfg, capsys, monkeypatch):
    monkeypatch.setenv("ENERGIMON_LANG", "en")
    assert main(["latest", "-c", str(cfg)]) == 0
    assert "1,376.500" in capsys.readouterr().out
    assert main(["--lang", "da", "latest", "-c", str(cfg)]) == 0  # the option wins over the environment
    assert "1.376,500" in capsys.readouterr().out
    monkeypatch.setenv("ENERGIMON_LANG", "fr")
    assert main(["latest", "-c", str(cfg)]) == 64
    assert "ENERGIMON_LANG='fr' is not a language energimon speaks; use 'da' or 'en'" in capsys.readouterr().err


def test_export_is_a_csv_danish_excel_reads_as_numbers_and_dates(cfg, capsys):
    args = ["export", "soro-raadhus/vejr/outdoor_temp_c", "--start", "2026-10-25T00:00", "--end", "2026-10-25T06:00",
            "-c", str(cfg)]
    assert main(args) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out), delimiter=";"))
    assert rows[0] == ["Tidspunkt (dansk tid)", "UTC-forskel", "outdoor_temp_c"]
    # as Danish Excel reads it: a date and time in one strict format, a number with a decimal comma
    parsed = [(dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S"), offset, float(value.replace(",", ".")))
              for when, offset, value in rows[1:]]
    day = dt.datetime(2026, 10, 25)
    assert parsed == [(day.replace(hour=1, minute=30), "+02:00", 8.25), (day.replace(hour=2, minute=30), "+02:00", 7.5),
                      (day.replace(hour=2, minute=30), "+01:00", 7.25), (day.replace(hour=3, minute=30), "+01:00", 6.0)]
    # the repeated hour stays distinct: local time and offset give back the instants stored
    instants = [when.replace(tzinfo=dt.timezone(dt.timedelta(hours=int(offset[:3])))) for when, offset, _ in parsed]
    assert [i.astimezone(LOCAL_TZ).isoformat() for i in instants][1:3] == ["2026-10-25T02:30:00+02:00",
                                                                          "2026-10-25T02:30:00+01:00"]
    assert main(["--lang", "en", *args]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out), delimiter=","))
    assert rows[0] == ["Time (Danish time)", "UTC offset", "outdoor_temp_c"]
    assert rows[2] == ["2026-10-25 02:30:00", "+02:00", "7.5"]


def test_hourly_export_to_a_file_has_a_bom_and_minutes(cfg, tmp_path, capsys):
    out = tmp_path / "temp.csv"
    assert main(["export", "soro-raadhus/vejr/outdoor_temp_c", "--start", "2026-10-25", "--end", "2026-10-25T05:00",
                 "--window", "1h", "-o", str(out), "-c", str(cfg)]) == 0
    assert "skrev" in capsys.readouterr().err
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads æ, ø and å in the header as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Periodens start (dansk tid)", "UTC-forskel", "outdoor_temp_c (gennemsnit)"]
    starts = [(dt.datetime.strptime(a, "%Y-%m-%d %H:%M"), b) for a, b, _ in rows[1:]]
    # 00:00 to 05:00 local on the 25-hour day: 6 hours, 02:00 twice (summer, then winter time)
    assert [f"{s:%H:%M}{o}" for s, o in starts] == ["00:00+02:00", "01:00+02:00", "02:00+02:00", "02:00+01:00",
                                                     "03:00+01:00", "04:00+01:00"]
    values = {f"{a}{b}": c for a, b, c in rows[1:]}
    assert values["2026-10-25 02:00+02:00"] == "7,5" and values["2026-10-25 02:00+01:00"] == "7,25"
    assert values["2026-10-25 00:00+02:00"] == ""  # no reading in that hour: an empty cell, not 0


def test_progress_is_one_line_per_step_when_not_on_a_terminal():
    stream = io.StringIO()
    steps = Steps(stream)
    for i, name in enumerate(("soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"), 1):
        steps(i, 3, name)
    assert "\r" not in stream.getvalue()
    assert stream.getvalue().splitlines() == ["[1/3] soro-raadhus", "[2/3] stenlille-hallen",
                                              "[3/3] dianalund-bibliotek"]


def test_progress_on_a_terminal_is_a_bar_that_ends():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    steps = Steps(stream)
    for i in (1, 2, 3):
        steps(i, 3, "stenlille-hallen")
    text = stream.getvalue()
    assert "3/3" in text and "stenlille-hallen" in text and "[1/3]" not in text  # rich's bar, not the log lines
    assert steps._bar is None  # stopped after the last step


def _help_texts(language: str) -> dict[str, tuple[str | None, str | None, dict[str, str | None]]]:
    """Every command's help line, description and its arguments' helps, from a parser built in ``language`` (as
    :func:`main` builds it after choosing the run's language)."""
    set_lang(language)
    parser = build_parser()
    texts = {"": (None, parser.description, {"/".join(a.option_strings): a.help for a in parser._actions
                                             if not isinstance(a, argparse._SubParsersAction)})}
    for words, sub in subcommands(parser):
        parent = parser
        for w in words[:-1]:
            parent = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction)).choices[w]
        action = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction))
        helptext = next((c.help for c in action._choices_actions if c.dest == words[-1]), None)
        args = {"/".join(a.option_strings) or a.dest: a.help for a in sub._actions
                if not isinstance(a, argparse._SubParsersAction)}
        texts[" ".join(words)] = (helptext, sub.description, args)
    return texts


def _is_leaf(command: str) -> bool:
    parser = build_parser()
    for word in command.split():
        parser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
    return not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


@pytest.mark.parametrize("language", ["da", "en"])
def test_every_command_has_help_and_a_description_of_what_it_prints_or_produces(language):
    prints = PRINTS if language == "en" else PRINTS_DA
    missing = []
    for command, (helptext, description, args) in _help_texts(language).items():
        if not command:
            continue
        if not helptext:
            missing.append(f"{command}: no help")
        if not description:
            missing.append(f"{command}: no description")
        elif _is_leaf(command) and not prints.search(description):
            missing.append(f"{command}: the description does not say what it prints or produces")
        missing += [f"{command} {name}: no help" for name, text in args.items() if text is None]
    assert not missing, "\n".join(missing)


def test_every_help_text_is_danish_by_default_and_english_with_lang():
    da, en = _help_texts("da"), _help_texts("en")
    assert da.keys() == en.keys() and len(da) > 30
    same = []
    for command in da:
        (da_help, da_desc, da_args), (en_help, en_desc, en_args) = da[command], en[command]
        if command and da_help == en_help:
            same.append(f"{command}: help {da_help!r}")
        if da_desc == en_desc:
            same.append(f"{command}: description {da_desc!r}")
        assert da_args.keys() == en_args.keys()
        same += [f"{command} {name}: {text!r}" for name, text in da_args.items()
                 if text == en_args[name] and text not in LANGUAGE_NEUTRAL]
    assert not same, "the same text in Danish and English:\n" + "\n".join(same)
    # English is the text as it was before Danish came (issue 19), Danish plain words for the energy team
    assert en["export"][0] == "one series to CSV" and da["export"][0] == "én serie som CSV"
    assert en["alerts run"][0] == "evaluate the rules once now (the daemon does it every 15 minutes)"
    assert en[""][1] == "Building energy monitoring: reads meters and inverters, keeps every reading."
    assert en["report savings"][2]["--month"] == "the month, YYYY-MM (local calendar)"
    assert da["report savings"][2]["--month"] == "måneden, ÅÅÅÅ-MM (dansk kalender)"
    assert en["status"][2]["-h/--help"] == "show this help message and exit"
    assert da["status"][2]["-h/--help"] == "vis denne hjælp og afslut"


def _help(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_top_level_help_in_both_languages_including_argparses_own_words(capsys, monkeypatch):
    da = _help(["--help"], capsys)
    assert da.startswith("brug: energimon [-h]")
    assert "Energiovervågning af bygninger" in da and "argumenter:" in da and "tilvalg:" in da
    assert "vis denne hjælp og afslut" in da and "kør dæmonen" in da and "én serie som CSV" in da
    for english in ("usage:", "options:", "positional arguments", "show this help", "run the daemon"):
        assert english not in da
    en = _help(["--lang", "en", "--help"], capsys)
    assert en.startswith("usage: energimon [-h]")
    assert "Building energy monitoring" in en and "positional arguments:" in en and "options:" in en
    assert "show this help message and exit" in en and "run the daemon" in en and "one series to CSV" in en
    assert "tilvalg" not in en and "kør dæmonen" not in en
    # the language is known before the parser is built: --lang anywhere (also after --help, and as --lang=en),
    # else $ENERGIMON_LANG
    assert _help(["report", "savings", "--help", "--lang=en"], capsys).startswith("usage: energimon report savings")
    monkeypatch.setenv("ENERGIMON_LANG", "en")
    assert "the month, YYYY-MM" in _help(["report", "solar", "--help"], capsys)
    assert "måneden, ÅÅÅÅ-MM" in _help(["--lang", "da", "report", "solar", "--help"], capsys)


def test_a_wrong_lang_option_is_still_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--lang", "fr", "status"])
    assert exit_.value.code == 2
    assert "argument --lang: invalid choice: 'fr'" in capsys.readouterr().err


def test_help_texts_match_the_behaviour(capsys):
    text = " ".join(_help(["--lang", "en", "report", "--help"], capsys).split())
    assert "solar" in text and "savings" in text and "mail" in text
    text = " ".join(_help(["--lang", "en", "alerts", "run", "--help"], capsys).split())
    assert "every 15 minutes" in text and "7, 22, 37 and 52" in text and "hourly" not in text
    text = " ".join(_help(["alerts", "run", "--help"], capsys).split())
    assert "hvert kvarter" in text and "7, 22, 37 og 52" in text
    text = " ".join(_help(["--lang", "en", "status", "--help"], capsys).split())
    assert text.count("Print") >= 1 and "spool" in text and "open alerts" in text and "scheduled jobs" in text
    text = " ".join(_help(["status", "--help"], capsys).split())
    assert "Skriver" in text and "spool" in text and "åbne alarmer" in text and "planlagte job" in text


def test_the_alert_rules_run_when_the_help_and_readme_say(tmp_path):
    """`alerts run --help` and the README say every 15 minutes at minutes 7, 22, 37 and 52: the daemon's job."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from energimon.analytics.alerting.jobs import register_jobs
    from energimon.config.settings import load_settings

    (tmp_path / "energimon.toml").write_text(CONFIG + '[alerts]\nenabled = false\nstate_path = "alerts.db"\n',
                                             encoding="utf-8")
    settings = load_settings(tmp_path / "energimon.toml")
    scheduler = AsyncIOScheduler(timezone=LOCAL_TZ)
    runner = register_jobs(scheduler, settings, lambda: SqliteStore(tmp_path / "store.db", readonly=True))
    try:
        trigger = scheduler.get_job("alerts.rules").trigger
        minute = next(f for f in trigger.fields if f.name == "minute")
        assert str(minute) == "7,22,37,52"
    finally:
        runner.close()
    text = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8").split())
    assert "The rules run every 15 minutes (at minutes 7, 22, 37 and 52, Danish time)" in text


def test_the_demo_prints_one_line_per_update_and_a_table_for_a_terminal(cfg):
    """What the demo shows from a store: one line per update for a log (each site's power), a table (rich) for
    a terminal — both from the same rows."""
    from rich.console import Console

    from energimon.app.demo import rich_table, table_rows, update_line

    store = SqliteStore(cfg.parent / "store.db", readonly=True)
    try:
        rows = table_rows(store, now=_ms("2026-10-25T04:00:30", "+01:00") / 1000)
    finally:
        store.close()
    assert [(r[0], r[2], r[3], r[5]) for r in rows] == [("soro-raadhus", "power_w", 1376.5, 30.0)]  # weather not shown
    line = update_line(rows, 25.0)
    assert line == "[   25 s] soro-raadhus: power_w 1.376 W" and "\n" not in line
    set_lang("en")
    assert update_line(rows, 25.0) == "[   25 s] soro-raadhus: power_w 1,376 W"
    out = io.StringIO()
    Console(file=out, width=100).print(rich_table(rows, 25.0))
    text = out.getvalue()
    assert "Latest readings after 25 s" in text and "1,376.5" in text and "30 s" in text
