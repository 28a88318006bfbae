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


def test_every_command_has_help_and_a_description_of_what_it_prints_or_produces():
    parser = build_parser()
    missing = []
    for words, sub in subcommands(parser):
        parent = parser
        for w in words[:-1]:
            parent = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction)).choices[w]
        action = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction))
        helptext = next((c.help for c in action._choices_actions if c.dest == words[-1]), None)
        leaf = not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
        if not helptext:
            missing.append(f"{' '.join(words)}: no help")
        if not sub.description:
            missing.append(f"{' '.join(words)}: no description")
        elif leaf and not PRINTS.search(sub.description):
            missing.append(f"{' '.join(words)}: the description does not say what it prints or produces")
        for arg in sub._actions:
            if arg.help is None and not isinstance(arg, argparse._SubParsersAction):
                missing.append(f"{' '.join(words)} {'/'.join(arg.option_strings) or arg.dest}: no help")
    assert not missing, "\n".join(missing)


def test_help_texts_match_the_behaviour(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "solar" in text and "savings" in text and "mail" in text
    with pytest.raises(SystemExit):
        main(["alerts", "run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "every 15 minutes" in text and "7, 22, 37 and 52" in text and "hourly" not in text
    with pytest.raises(SystemExit):
        main(["status", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert text.count("Print") >= 1 and "spool" in text and "open alerts" in text and "scheduled jobs" in text


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
