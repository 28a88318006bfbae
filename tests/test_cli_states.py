"""Every subcommand on the states a new installation goes through: never a traceback, the right exit code.

States (real SQLite files, each command a real ``energimon`` process):

* **fresh**: a valid configuration, the daemon never ran — no store, spool, job log or alert state;
* **empty**: store and spool exist, without readings;
* **missing**: the store is InfluxDB at a closed port on 127.0.0.1;
* **unknown**: a misspelt series or site as an argument (on the empty state).

A failing command says why in one line on stderr.  Exit codes: 0 done (an honest empty result
included), 1 the command could not do its work (store unreachable, …), 64 a wrong argument
(unknown series or site), 2 an invalid configuration.  The commands of a state run in one
process (helpers/cli_batch.py) through the console script's entry point: a Python start-up per
command would be most of the time on a loaded machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.net import free_port

from energimon.store.spool import Spool
from energimon.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "energimon.example.toml"
MONTH = "2026-01"


def _config(folder: Path, *, influx_port: int | None = None) -> Path:
    """The example configuration with its state in ``folder`` and SMTP at a closed loopback port."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("/var/lib/energimon/", f"{folder}/")
    text = text.replace('host = "smtp.example.soroe.dk"\nport = 587\nsecurity = "starttls"\nusername = "energimon"',
                        f'host = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"\ntimeout_s = 5')
    if influx_port is not None:
        text = text.replace('kind = "sqlite"', 'kind = "influxdb"').replace(
            "\n[spool]\n", f'\n[store.influxdb]\nurl = "http://127.0.0.1:{influx_port}"\nmode = "v1"\n'
                           'database = "energimon"\ntimeout_s = 2\n\n[spool]\n', 1)
    cfg = folder / "energimon.toml"
    cfg.write_text(text, encoding="utf-8")
    return cfg


def _energimon(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "energimon", *args], capture_output=True, text=True,
                          timeout=180, env=_ENV)


_ENV = {k: v for k, v in os.environ.items() if not k.startswith("ENERGIMON_")}
_BATCH = Path(__file__).resolve().parent / "helpers" / "cli_batch.py"


def _run_all(cases: list[tuple[list[str], int, str]], cfg: Path) -> None:
    """Run every case (args, expected exit code, a text the output must contain) and check them all.

    One process runs them all through ``energimon.app.cli.main``, as the ``energimon`` script does (see
    helpers/cli_batch.py); an exception leaving ``main`` is what a user would see as a traceback.
    """
    commands = [args if args[0] == "probe" else [*args, "--config", str(cfg)] for args, _, _ in cases]
    proc = subprocess.run([sys.executable, str(_BATCH)], input=json.dumps(commands), capture_output=True, text=True,
                          timeout=600, env=_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    failures = []
    for (args, code, text), result in zip(cases, json.loads(proc.stdout), strict=True):
        out = result["stdout"] + result["stderr"]
        problems = []
        if result["escaped"] or "Traceback" in out:
            problems.append("a traceback")
        if result["code"] != code:
            problems.append(f"exit {result['code']}, expected {code}")
        if text not in out:
            problems.append(f"no {text!r} in the output")
        if result["code"] not in (0, 2) and len(result["stderr"].strip().splitlines()) > 1:
            problems.append("more than one line on stderr")
        if problems:
            failures.append(f"energimon {' '.join(args)}: {', '.join(problems)}\n--- stdout:\n"
                            f"{result['stdout'][-1500:]}\n--- stderr:\n{result['stderr'][-1500:]}\n"
                            f"{result['escaped']}")
    assert not failures, "\n\n".join(failures)


@pytest.fixture
def csv_file(tmp_path) -> Path:
    path = tmp_path / "temperatur.csv"
    path.write_text("time,value\n2026-01-01T00:00,4.5\n2026-01-01T01:00,4.4\n", encoding="utf-8")
    return path


def test_every_subcommand_on_a_fresh_installation(tmp_path, csv_file):
    cfg = _config(tmp_path)
    never_ran = "does not exist (has the daemon run?)"
    _run_all([
        (["check-config"], 0, "OK — 3 bygninger"),
        (["status"], 1, "ikke oprettet endnu (dæmonen har ikke kørt)"),
        (["latest"], 1, never_ran),
        (["latest", "--site", "soro-raadhus"], 1, never_ran),
        (["export", "soro-raadhus/hovedmaaler/power_w"], 1, never_ran),
        (["deadletters"], 0, "ingen spool i"),
        (["alerts", "list"], 0, "ingen aktive alarmer"),
        (["alerts", "ack", "1"], 1, "ingen aktiv alarm 1"),
        (["alerts", "run"], 1, never_ran),
        (["report", "savings", "--month", MONTH, "--out", str(tmp_path / "r")], 1, never_ran),
        (["report", "solar", "--month", MONTH, "--out", str(tmp_path / "r")], 1, never_ran),
        (["store", "copy", "--from", "sqlite", "--to", f"sqlite:{tmp_path / 'copy.db'}"], 1, never_ran),
        (["test-mail"], 1, "testmail ikke sendt"),
        (["probe", f"127.0.0.1:{free_port()}", "--profile", "eastron.sdm630", "--timeout", "0.5"], 1, "127.0.0.1"),
    ], cfg)
    # an import is how history gets in before the daemon ever ran: it creates the store
    _run_all([(["import", "csv", str(csv_file), "--series", "soro-raadhus/vejr/outdoor_temp_c", "--role",
                "weather"], 0, "")], cfg)
    assert (tmp_path / "store.db").exists()


def test_every_subcommand_on_an_empty_store_and_with_unknown_names(tmp_path, csv_file):
    cfg = _config(tmp_path)
    SqliteStore(tmp_path / "store.db").close()
    Spool(tmp_path / "spool.db", 10_000, "FULL").close()
    _run_all([
        (["status"], 0, "Sorø Rådhus (soro-raadhus): ingen målinger endnu"),
        (["latest"], 0, "ingen målinger i lageret endnu"),
        (["deadletters"], 0, "ingen afviste målinger"),
        (["store", "copy", "--from", "sqlite", "--to", f"sqlite:{tmp_path / 'copy.db'}"], 0, "kopierede 0 målinger"),
        # unknown names: an error naming them, with the closest known one
        (["latest", "--site", "soro-radhus"], 64, "ukendt bygning 'soro-radhus'; mente du 'soro-raadhus'?"),
        (["--lang", "en", "latest", "--site", "soro-radhus"], 64,
         "unknown site 'soro-radhus'; did you mean 'soro-raadhus'?"),
        (["export", "soro-raadhus/hovedmaler/power_w"], 64, "ukendt serie 'soro-raadhus/hovedmaler/power_w'"),
        (["export", "soro-raadhus/hovedmaaler/power_kw"], 64, "power_kw"),
        (["report", "savings", "--month", MONTH, "--site", "soro-radhus"], 64, "soro-radhus"),
        (["report", "solar", "--month", MONTH, "--site", "soro-radhus"], 64, "soro-radhus"),
        (["import", "csv", str(csv_file), "--series", "soro-radhus/vejr/outdoor_temp_c", "--role", "weather"], 64,
         "ukendt bygning 'soro-radhus'; mente du 'soro-raadhus'?"),
        (["alerts", "mute", "soro-radhus"], 1, "ukendt bygning 'soro-radhus'"),
    ], cfg)


def test_a_misspelt_series_is_refused_once_the_store_has_data(tmp_path, csv_file):
    cfg = _config(tmp_path)
    assert _energimon(["import", "csv", str(csv_file), "--series", "soro-raadhus/vejr/outdoor_temp_c", "--role",
                       "weather", "--config", str(cfg)]).returncode == 0
    _run_all([
        (["export", "soro-raadhus/vjr/outdoor_temp_c"], 64, "mente du 'soro-raadhus/vejr/outdoor_temp_c'?"),
        (["export", "soro-raadhus/vejr/outdoor_temp_c", "--start", "2026-01-01", "--end", "2026-01-02"], 0,
         "Tidspunkt (dansk tid);UTC-forskel;outdoor_temp_c\n2026-01-01 00:00:00;+01:00;4,5\n"
         "2026-01-01 01:00:00;+01:00;4,4\n"),
    ], cfg)


def test_every_subcommand_with_the_store_at_a_closed_port(tmp_path, csv_file):
    cfg = _config(tmp_path, influx_port=free_port())
    unreachable = "unreachable"
    _run_all([
        (["check-config"], 0, "lager InfluxDB http://127.0.0.1:"),  # offline: never connects
        (["status"], 1, "IKKE brugbart"),
        (["latest"], 1, unreachable),
        (["export", "soro-raadhus/hovedmaaler/power_w"], 1, unreachable),
        (["alerts", "run"], 1, unreachable),
        (["report", "savings", "--month", MONTH, "--out", str(tmp_path / "r")], 1, unreachable),
        (["report", "solar", "--month", MONTH, "--out", str(tmp_path / "r")], 1, unreachable),
        (["import", "csv", str(csv_file), "--series", "soro-raadhus/vejr/outdoor_temp_c", "--role", "weather"], 1,
         unreachable),
        (["store", "copy", "--from", "influx", "--to", f"sqlite:{tmp_path / 'copy.db'}"], 1, unreachable),
        (["deadletters"], 0, "ingen spool i"),
    ], cfg)


def test_a_damaged_state_file_is_one_line(tmp_path):
    # the spool is not SQLite: `deadletters` cannot read it, `status` reports it and goes on, `check-config`
    # names it (and `run` would refuse to start on it)
    cfg = _config(tmp_path)
    (tmp_path / "spool.db").write_text("not a database", encoding="utf-8")
    _run_all([
        (["deadletters"], 1, "SQLite: file is not a database"),
        (["status"], 1, f"spool:   {tmp_path / 'spool.db'}: kan ikke læses: file is not a database"),
        (["check-config"], 2, f"spool.path: {tmp_path / 'spool.db'}: exists and is not an SQLite database"),
    ], cfg)
