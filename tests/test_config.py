"""Settings: the example file is valid; broken files get every problem with its key path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from energimon.cli import main
from energimon.config.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "energimon.example.toml"

MINIMAL = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.43
longitude = 11.56

[[devices]]
site = "soro-raadhus"
id = "hovedmaaler"
role = "grid"
protocol = "modbus_tcp"
host = "127.0.0.1"
profile = "eastron.sdm630"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "energimon.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return [str(p) for p in info.value.problems]


def test_example_config_is_valid_and_has_the_three_soro_sites():
    s = load_settings(EXAMPLE)
    assert set(s.sites) == {"soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"}
    assert s.sites["soro-raadhus"].name == "Sorø Rådhus"
    assert {d.site for d in s.devices} == set(s.sites)
    assert s.sites["soro-raadhus"].pv[0].kwp == 60.0


def test_check_config_cli_exit_codes(tmp_path, capsys):
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "3 sites" in capsys.readouterr().out
    bad = write(tmp_path, MINIMAL.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nport = 70000'))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err  # names the file
    assert "devices[0] (id 'hovedmaaler').port" in err  # names the key path
    assert "less than or equal to 65535" in err and "70000" in err  # what was expected and what was found


def test_every_problem_is_reported_at_once(tmp_path):
    text = MINIMAL + """
[[devices]]
site = "soro-radhus"
id = "pv1"
role = "pv"
protocol = "modbus_tcp"
host = "127.0.0.2"
profile = "eastron.sdm630"

[[devices]]
site = "soro-raadhus"
id = "hovedmaaler"
role = "grid"
protocol = "modbus_tcp"
host = "127.0.0.3"
registers = [{ channel = "power_kw", address = 0 }]
"""
    problems = problems_of(write(tmp_path, text))
    # unknown channel is a structural error: reported first, by key path
    assert any(p.startswith("devices[2] (id 'hovedmaaler').registers[0].channel: unknown channel 'power_kw'")
               for p in problems), problems


def test_cross_reference_errors_name_key_paths(tmp_path):
    text = MINIMAL + """
[[devices]]
site = "soro-radhus"
id = "pv1"
role = "pv"
protocol = "modbus_tcp"
host = "127.0.0.2"
profile = "eastron.sdm630"

[[devices]]
site = "soro-raadhus"
id = "hovedmaaler"
role = "grid"
protocol = "modbus_tcp"
host = "127.0.0.3"
profile = "eastron.sdm999"
"""
    problems = problems_of(write(tmp_path, text))
    assert "devices[1] (id 'pv1').site: unknown site 'soro-radhus'; known sites: soro-raadhus" in problems
    assert "devices[2] (id 'hovedmaaler').id: duplicate device id 'hovedmaaler' in site 'soro-raadhus'" in problems
    assert any(p.startswith("devices[2] (id 'hovedmaaler').profile: unknown profile 'eastron.sdm999'")
               for p in problems), problems
    assert len(problems) == 4  # the duplicate is reported on both devices


@pytest.mark.parametrize(
    ("edit", "key", "fragment"),
    [
        (("latitude = 55.43", "latitude = 95"), "sites.soro-raadhus.latitude", "less than or equal to 90"),
        (('role = "grid"', 'role = "mains"'), "devices[0] (id 'hovedmaaler').role", "'grid'"),
        (('protocol = "modbus_tcp"', 'protocol = "bacnet"'), "devices[0] (id 'hovedmaaler')",
         "unknown protocol 'bacnet'"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\nintervall_s = 10'), "devices[0] (id 'hovedmaaler').intervall_s",
         "unknown key"),
        (('profile = "eastron.sdm630"', ""), "devices[0] (id 'hovedmaaler')",
         "exactly one of 'profile' or 'registers'"),
        (('[sites.soro-raadhus]', '[sites.Soro_Raadhus]'), "sites.Soro_Raadhus", "not valid"),
    ],
)
def test_single_mistakes(tmp_path, edit, key, fragment):
    problems = problems_of(write(tmp_path, MINIMAL.replace(*edit)))
    assert any(p.startswith(key + ":") and fragment in p for p in problems), problems


def test_toml_syntax_error_names_line(tmp_path):
    problems = problems_of(write(tmp_path, MINIMAL.replace('name = "Sorø Rådhus"', 'name = "Sorø Rådhus')))
    assert len(problems) == 1 and "TOML syntax error" in problems[0] and "line 3" in problems[0]


def test_missing_file(tmp_path):
    problems = problems_of(tmp_path / "nope.toml")
    assert problems == ["file not found (give --config or set ENERGIMON_CONFIG)"]


def test_environment_overrides_merge_into_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("ENERGIMON_SPOOL__MAX_READINGS", "4000")
    monkeypatch.setenv("ENERGIMON_SMTP__PASSWORD", "hemmeligt-kodeord")
    text = MINIMAL + '\n[spool]\nbatch_size = 77\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\n'
    s = load_settings(write(tmp_path, text))
    assert s.spool.max_readings == 4000 and s.spool.batch_size == 77  # merged, not replaced
    assert s.smtp.password.get_secret_value() == "hemmeligt-kodeord"
    assert "hemmeligt-kodeord" not in repr(s) and "hemmeligt-kodeord" not in s.model_dump_json()


def test_config_path_from_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENERGIMON_CONFIG", str(write(tmp_path, MINIMAL)))
    assert main(["check-config"]) == 0
    assert "1 sites, 1 devices" in capsys.readouterr().out


def test_secret_from_file_and_relative_data_paths(tmp_path):
    (tmp_path / "smtp.pw").write_text("fra-fil\n", encoding="utf-8")
    text = MINIMAL + f'\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\npassword_file = "{tmp_path}/smtp.pw"\n'
    text += '[store]\npath = "data/store.db"\n'
    s = load_settings(write(tmp_path, text))
    assert s.smtp.password.get_secret_value() == "fra-fil"
    assert s.store.path == tmp_path / "data" / "store.db"


def test_relative_file_keys_are_relative_to_the_config_folder_not_the_working_directory(tmp_path, monkeypatch):
    # under systemd the working directory is /: a relative secret file must mean the one beside the config
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "smtp.pw").write_text("ved-siden-af\n", encoding="utf-8")
    (conf / "influx.token").write_text("token-ved-siden-af\n", encoding="utf-8")
    text = MINIMAL + '\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\npassword_file = "smtp.pw"\n'
    text += ('[store]\nkind = "influxdb"\n[store.influxdb]\nurl = "http://127.0.0.1:8086"\norg = "soroe"\n'
             'bucket = "energimon"\ntoken_file = "influx.token"\n')
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = load_settings(write(conf, text))
    assert s.smtp.password.get_secret_value() == "ved-siden-af"
    assert s.store.influxdb.token.get_secret_value() == "token-ved-siden-af"
    assert s.smtp.password_file == conf / "smtp.pw"
    # a relative --config: every data path comes out absolute, so nothing joins it to the folder twice
    monkeypatch.chdir(tmp_path)
    (conf / "energimon.toml").write_text(text + '[spool]\npath = "data/spool.db"\n', encoding="utf-8")
    s = load_settings(Path("etc") / "energimon.toml")
    assert s.spool.path == conf / "data" / "spool.db"
    assert s.smtp.password_file == conf / "smtp.pw"


def test_unreadable_secret_file_is_a_key_path_error(tmp_path):
    text = MINIMAL + '\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\npassword_file = "/nonexistent/pw"\n'
    problems = problems_of(write(tmp_path, text))
    assert any(p.startswith("smtp:") and "password_file: cannot read secret file /nonexistent/pw" in p
               for p in problems), problems


def test_secret_value_never_echoed_in_errors(tmp_path):
    text = MINIMAL + '\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\npassword = 123456789\n'
    problems = problems_of(write(tmp_path, text))
    assert any(p.startswith("smtp.password:") for p in problems)
    assert not any("123456789" in p for p in problems)


def test_every_command_has_help():
    for cmd in ("run", "demo", "check-config", "latest", "export"):
        out = subprocess.run([sys.executable, "-m", "energimon.cli", cmd, "--help"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "usage: energimon" in out.stdout, (cmd, out.stderr)
