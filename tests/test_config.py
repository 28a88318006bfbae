"""Settings: the example file is valid; broken files get every problem with its key path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from energimon.app.cli import main
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


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ={} if environ is None else environ, data_paths=True)
    return [str(p) for p in info.value.problems]


def test_example_config_is_valid_and_has_the_three_soro_sites():
    s = load_settings(EXAMPLE)
    assert set(s.sites) == {"soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"}
    assert s.sites["soro-raadhus"].name == "Sorø Rådhus"
    assert {d.site for d in s.devices} == set(s.sites)
    assert s.sites["soro-raadhus"].pv[0].kwp == 60.0


def test_check_config_cli_exit_codes(tmp_path, capsys):
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "3 bygninger" in capsys.readouterr().out
    bad = write(tmp_path, MINIMAL.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nport = 70000'))
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err  # names the file
    assert "line 13: devices[0] (id 'hovedmaaler').port" in err  # names the line and the key path
    assert "less than or equal to 65535" in err and "70000" in err  # what was expected and what was found


TWO_MORE_DEVICES = MINIMAL + """
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


def test_cross_reference_errors_name_key_paths_and_lines(tmp_path):
    problems = problems_of(write(tmp_path, TWO_MORE_DEVICES))
    assert problems == [
        "line 9: devices[0] (id 'hovedmaaler').id: duplicate device id 'hovedmaaler' in site 'soro-raadhus'",
        "line 16: devices[1] (id 'pv1').site: unknown site 'soro-radhus'; known sites: soro-raadhus; "
        "did you mean 'soro-raadhus'?",
        "line 25: devices[2] (id 'hovedmaaler').id: duplicate device id 'hovedmaaler' in site 'soro-raadhus'",
        problems[3],
    ]
    assert problems[3].startswith("line 29: devices[2] (id 'hovedmaaler').profile: unknown profile 'eastron.sdm999'")


def test_every_problem_at_once_schema_and_cross_references_with_lines(tmp_path):
    # schema errors in a device, in [spool], an unknown key, AND the cross references: all in one pass
    text = TWO_MORE_DEVICES.replace('role = "pv"', 'role = "pv"\nport = "502"').replace(
        'profile = "eastron.sdm999"', 'registers = [\n  { channel = "power_w", address = 0 },\n'
        '  { channel = "power_kw", address = 2 },\n]')
    text += '\n[spool]\nbatch_size = 0\nmax_readngs = 5000\n\n[alerts.sites.dianalund]\n'
    problems = problems_of(write(tmp_path, text))
    assert problems[:4] == [
        "line 9: devices[0] (id 'hovedmaaler').id: duplicate device id 'hovedmaaler' in site 'soro-raadhus'",
        "line 16: devices[1] (id 'pv1').site: unknown site 'soro-radhus'; known sites: soro-raadhus; "
        "did you mean 'soro-raadhus'?",
        "line 19: devices[1] (id 'pv1').port: expected a whole number, got the string '502' "
        "(write it without quotes: port = 502)",
        "line 26: devices[2] (id 'hovedmaaler').id: duplicate device id 'hovedmaaler' in site 'soro-raadhus'",
    ]
    assert problems[4].startswith("line 32: devices[2] (id 'hovedmaaler').registers[1].channel: unknown channel "
                                  "'power_kw'")
    assert problems[5:] == [
        "line 36: spool.batch_size: Input should be greater than or equal to 1 (got 0)",
        "line 37: spool.max_readngs: unknown key; did you mean 'max_readings'?",
        "line 39: alerts.sites.dianalund: unknown site 'dianalund'; known sites: soro-raadhus",
        "line 39: alerts: alerts are enabled but there is no [smtp] table to send them with (add [smtp] or set "
        "alerts.enabled = false)",
    ]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("latitude = 55.43", "latitude = 95"), "line 4: sites.soro-raadhus.latitude: Input should be less than or "
                                                 "equal to 90 (got 95)"),
        (('role = "grid"', 'role = "gird"'),
         "line 10: devices[0] (id 'hovedmaaler').role: Input should be 'grid', 'pv', 'submeter', 'heat', 'gas', "
         "'water', 'weather' or 'market' (did you mean 'grid'?) (got 'gird')"),
        (('protocol = "modbus_tcp"', 'protocol = "bacnet"'), "line 7: devices[0] (id 'hovedmaaler'): unknown "
                                                             "protocol 'bacnet'; expected 'modbus_tcp', 'mbus_tcp' or "
                                                             "'mbus_serial'"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\nintervall_s = 10'),
         "line 13: devices[0] (id 'hovedmaaler').intervall_s: unknown key; did you mean 'interval_s'?"),
        (('profile = "eastron.sdm630"', ""), "line 7: devices[0] (id 'hovedmaaler'): give exactly one of 'profile' "
                                             "or 'registers'"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\nenabled = "false"'),
         "line 13: devices[0] (id 'hovedmaaler').enabled: expected true or false (without quotes), got 'false'"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\nunit_id = 1.0'),
         "line 13: devices[0] (id 'hovedmaaler').unit_id: expected a whole number, got 1.0"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\ninterval_s = true'),
         "line 13: devices[0] (id 'hovedmaaler').interval_s: expected a number, got true"),
        (('longitude = 11.56', 'longitude = nan'), "line 5: sites.soro-raadhus.longitude: nan is not a finite number"),
        (('[[devices]]', '[smpt]\nhost = "x"\n\n[[devices]]'), "line 7: smpt: unknown key; did you mean 'smtp'?"),
    ],
)
def test_single_mistakes(tmp_path, edit, expected):
    assert problems_of(write(tmp_path, MINIMAL.replace(*edit))) == [expected]


def test_a_number_in_quotes_is_refused_where_pydantic_would_coerce_it(tmp_path):
    # pydantic's lax mode turns "502" into 502 silently; a quoted number in the file is a mistake
    from energimon.config.settings import settings_from_dict

    text = MINIMAL.replace('host = "127.0.0.1"', 'host = "127.0.0.1"\nport = "502"\ninterval_s = "10"')
    assert problems_of(write(tmp_path, text)) == [
        "line 13: devices[0] (id 'hovedmaaler').port: expected a whole number, got the string '502' "
        "(write it without quotes: port = 502)",
        "line 14: devices[0] (id 'hovedmaaler').interval_s: expected a number, got the string '10' "
        "(write it without quotes: interval_s = 10)"]
    # an environment variable is text by nature: the same value from there is read as a number
    s = load_settings(write(tmp_path, MINIMAL), environ={"ENERGIMON_SPOOL__BATCH_SIZE": "500",
                                                         "ENERGIMON_METRICS__ENABLED": "true"})
    assert s.spool.batch_size == 500 and s.metrics.enabled is True
    with pytest.raises(ConfigError):  # the same strictness for settings built from a dict
        settings_from_dict({"spool": {"batch_size": "500"}}, environ={})


def test_unknown_key_from_the_environment_is_named_by_its_variable(tmp_path):
    text = MINIMAL + '\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\n'
    problems = problems_of(write(tmp_path, text), {"ENERGIMON_SMTP__PASWORD": "x",
                                                   "ENERGIMON_SPOOL__BATCH_SIZE": "many",
                                                   "ENERGIMON_SMPT__PASSWORD": "y",
                                                   "ENERGIMON_INFLUX_URL": "http://grafana-only:8086"})
    assert problems == [
        "ENERGIMON_SMPT__PASSWORD (environment): not a setting: there is no section 'smpt'; did you mean "
        "ENERGIMON_SMTP__…?",
        "ENERGIMON_SPOOL__BATCH_SIZE (environment): spool.batch_size: Input should be a valid integer, unable to "
        "parse string as an integer (got 'many')",
        "ENERGIMON_SMTP__PASWORD (environment): smtp.pasword: not a setting (unknown key 'pasword'); did you mean "
        "ENERGIMON_SMTP__PASSWORD?",
    ]  # (ENERGIMON_INFLUX_URL has no '__' and is no setting: another program's, left alone)
    # a table made only by the environment: its missing keys are the variable's doing
    problems = problems_of(write(tmp_path, MINIMAL), {"ENERGIMON_SMTP__PASSWORD": "x"})
    # (smtp.host is optional since the Graph transport needs none; its absence is checked once sender is there)
    assert problems == ["ENERGIMON_SMTP__PASSWORD (environment): smtp.sender: required key is missing"]


def test_durations_and_sizes_are_range_checked_where_they_are_parsed(tmp_path):
    # 1e30 s used to pass check-config and crash `run` with OverflowError in the scheduler
    for value, message in [
        ("1e30", "expected a whole number, got 1e+30"),
        ("100000000000000", "Input should be less than or equal to 86400 (got 100000000000000)"),
    ]:
        text = MINIMAL + f"\n[schedule]\nstatus_log_interval_s = {value}\n"
        assert problems_of(write(tmp_path, text)) == [f"line 16: schedule.status_log_interval_s: {message}"]
    # a duration with no bound of its own in its model is capped at a year (here: MQTT's log interval)
    text = MINIMAL + ('\n[mqtt]\nhost = "b"\nbad_input_log_interval_s = 1e12\n[[mqtt.subscriptions]]\n'
                      'topic = "a/{device}"\nsite = "soro-raadhus"\nchannel = "power_w"\nrole = "grid"\n')
    assert problems_of(write(tmp_path, text)) == [
        "line 17: mqtt.bad_input_log_interval_s: at most 3.16224e+07 (366 days) (got 1000000000000.0)"]
    text = MINIMAL + "\n[spool]\nmax_readings = 9000000000000000000\n"
    assert problems_of(write(tmp_path, text)) == [
        "line 16: spool.max_readings: Input should be less than or equal to 1000000000 (got 9000000000000000000)"]


def test_data_paths_must_be_usable_files(tmp_path):
    (tmp_path / "not-sqlite.db").write_text("hello", encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    (tmp_path / "empty.db").write_bytes(b"")
    cases = [
        ('[spool]\npath = "/dev/zero"', "line 16: spool.path: /dev/zero: exists and is not a regular file"),
        (f'[store]\npath = "{tmp_path}"', f"line 16: store.path: {tmp_path}: exists and is not a regular file "
                                           "(a directory)"),
        ('[store]\npath = "not-sqlite.db"', f"line 16: store.path: {tmp_path}/not-sqlite.db: exists and is not an "
                                             "SQLite database"),
        ('[alerts]\nenabled = false\nstate_path = "a-file/alerts.db"',
         f"line 17: alerts.state_path: {tmp_path}/a-file/alerts.db: cannot be created: {tmp_path}/a-file is not a "
         "directory"),
        ('[spool]\npath = "spool\\u0000.db"', "line 16: spool.path: contains a NUL character"),
    ]
    for table, expected in cases:
        text = MINIMAL + f"\n{table}\n"
        assert problems_of(write(tmp_path, text)) == [expected], table
    # an empty file (touched) and a file in a folder still to be made are fine
    s = load_settings(write(tmp_path, MINIMAL + '\n[store]\npath = "empty.db"\n[spool]\npath = "new/dir/s.db"\n'),
                      data_paths=True)
    assert s.store.path == tmp_path / "empty.db" and s.spool.path == tmp_path / "new" / "dir" / "s.db"


def test_a_device_reference_close_to_a_configured_id_is_a_warning(tmp_path, capsys):
    text = MINIMAL.replace("longitude = 11.56", 'longitude = 11.56\n[[sites.soro-raadhus.pv]]\nid = "tag"\n'
                           'kwp = 20\ntilt_deg = 30\nazimuth_deg = 180\ninverter = "hovedmaler"')
    text += ('\n[alerts]\nenabled = false\n[alerts.sites.soro-raadhus]\n'
             'rated_power_w = { hovedmaaler = 5e4, hovdmaaler = 1e4 }\n')
    cfg = write(tmp_path, text)
    assert main(["check-config", str(cfg)]) == 0  # valid: an MQTT or imported device may carry that id
    err = capsys.readouterr().err
    assert ("ADVARSEL: sites.soro-raadhus.pv[0].inverter: no Modbus device 'hovedmaler' at this site (did you mean "
            "'hovedmaaler'?)") in err
    assert ("ADVARSEL: alerts.sites.soro-raadhus.rated_power_w.hovdmaaler: no Modbus device 'hovdmaaler' at this "
            "site (did you mean 'hovedmaaler'?)") in err
    assert err.count("ADVARSEL") == 2


def test_key_lines_follows_tables_arrays_inline_tables_and_multiline_strings():
    from energimon.config.locate import key_lines

    text = """# comment
top = 1
[a]
"quoted.key" = 'x'
dotted.inner = 2
text = \"\"\"
line one
[not_a_table]
\"\"\"
[[a.items]]
v = [1,
  2, # comment ]
  { k = 3 },
]
[[a.items]]
w = { x = { y = 1 } }
[a.items.sub]
z = 1979-05-27 07:32:00Z
"""
    lines = key_lines(text)
    assert lines[("top",)] == 2 and lines[("a",)] == 3
    assert lines[("a", "quoted.key")] == 4 and lines[("a", "dotted", "inner")] == 5
    assert lines[("a", "text")] == 6 and ("not_a_table",) not in lines
    assert lines[("a", "items", 0)] == 10 and lines[("a", "items", 0, "v", 1)] == 12
    assert lines[("a", "items", 0, "v", 2, "k")] == 13
    assert lines[("a", "items", 1)] == 15 and lines[("a", "items", 1, "w", "x", "y")] == 16
    assert lines[("a", "items", 1, "sub", "z")] == 18


def test_an_invalid_site_id_is_named_and_devices_referring_to_it_too(tmp_path):
    from energimon.model import ID_RULE

    problems = problems_of(write(tmp_path, MINIMAL.replace("[sites.soro-raadhus]", "[sites.Soro_Raadhus]")))
    assert problems == [f"line 2: sites.Soro_Raadhus: site id is not valid ({ID_RULE})",
                        "line 8: devices[0] (id 'hovedmaaler').site: unknown site 'soro-raadhus'; known sites: "
                        "Soro_Raadhus; did you mean 'Soro_Raadhus'?"]


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
    assert "1 bygninger, 1 apparater" in capsys.readouterr().out


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
    assert problems == ["line 15: smtp: password_file: cannot read secret file /nonexistent/pw: No such file or "
                        "directory"]


def test_secret_value_never_echoed_in_errors(tmp_path):
    text = MINIMAL + '\n[smtp]\nhost = "smtp.example"\nsender = "e@example.dk"\npassword = 123456789\n'
    problems = problems_of(write(tmp_path, text))
    assert problems == ["line 18: smtp.password: Input should be a valid string"]


def test_every_command_has_help():
    # Danish by default, argparse's own "usage:" too (tests/test_cli_language.py has both languages)
    for cmd in ("run", "demo", "check-config", "latest", "export"):
        out = subprocess.run([sys.executable, "-m", "energimon", cmd, "--help"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and "brug: energimon" in out.stdout, (cmd, out.stderr)


# A DataHub metering point on a live meter's site/device: its imported readings would join the meter's series and
# the device would count as imported (no data-quality alerts), while store.energy.site_meters keeps the two apart.
POINT = '\n[[{section}.metering_points]]\nid = "571313100000000001"\nsite = "soro-raadhus"\n'
ELOVERBLIK = '\n[sources.eloverblik]\nrefresh_token = "x"\n'
MQTT_KAELDER = ('\n[mqtt]\nhost = "localhost"\n\n[[mqtt.subscriptions]]\ntopic = "raadhus/kaelder/power"\n'
                'site = "soro-raadhus"\ndevice = "kaelder"\nchannel = "power_w"\nrole = "submeter"\n')
CLASH_DA = ("er også det levende apparat {live}: målepunktets aflæsninger fra DataHub ville havne i målerens egen "
            "serie (to tællere i én serie ligner nulstillinger, og den samme energi tælles to gange), og måleren "
            "ville miste sine datakvalitetsalarmer; giv målepunktet sit eget device-id, fx device = \"{own}\"")


@pytest.mark.parametrize(
    ("extra", "key", "live", "own"),
    [
        # `energimon import eloverblik`'s metering point on the Modbus meter
        (POINT.format(section="datahub") + 'device = "hovedmaaler"\n',
         "datahub.metering_points[0] (id '571313100000000001').device: soro-raadhus/hovedmaaler",
         "devices[0] (id 'hovedmaaler')", "datahub"),
        # the scheduled fetch's metering point on the Modbus meter
        (ELOVERBLIK + POINT.format(section="sources.eloverblik") + 'device = "hovedmaaler"\n',
         "sources.eloverblik.metering_points[0] (id '571313100000000001').device: soro-raadhus/hovedmaaler",
         "devices[0] (id 'hovedmaaler')", "datahub"),
        # an MQTT subscription with its site and device fixed is a live meter known at configuration time
        (MQTT_KAELDER + POINT.format(section="datahub") + 'device = "kaelder"\n',
         "datahub.metering_points[0] (id '571313100000000001').device: soro-raadhus/kaelder",
         "mqtt.subscriptions[0] (topic 'raadhus/kaelder/power')", "datahub"),
        # the fetch's default device id "datahub" taken by a live meter: another id is proposed
        (MQTT_KAELDER.replace('"kaelder"', '"datahub"') + ELOVERBLIK + POINT.format(section="sources.eloverblik"),
         "sources.eloverblik.metering_points[0] (id '571313100000000001').device: soro-raadhus/datahub",
         "mqtt.subscriptions[0] (topic 'raadhus/kaelder/power')", "datahub2"),
    ],
    ids=["datahub-modbus", "eloverblik-modbus", "datahub-mqtt", "eloverblik-default-mqtt"],
)
def test_a_metering_point_on_a_live_meters_device_is_refused(tmp_path, extra, key, live, own):
    text = MINIMAL + extra
    # the line of its `device`, or of its table when the default device is meant
    line = max(n for n, x in enumerate(text.splitlines(), 1) if x.startswith(("device =", "[[sources.eloverblik")))
    problems = problems_of(write(tmp_path, text))
    assert problems == [f"line {line}: {key} " + CLASH_DA.format(live=live, own=own)]


def test_check_config_and_run_refuse_the_clash_in_the_runs_language(tmp_path, capsys):
    text = (MINIMAL + f'\n[store]\npath = "{tmp_path}/store.db"\n[spool]\npath = "{tmp_path}/spool.db"\n'
            + POINT.format(section="datahub") + 'device = "hovedmaaler"\n')
    cfg = write(tmp_path, text)
    assert main(["--lang", "en", "check-config", str(cfg)]) == 2
    assert ("datahub.metering_points[0] (id '571313100000000001').device: soro-raadhus/hovedmaaler is also the live "
            "device devices[0] (id 'hovedmaaler'): the metering point's DataHub readings would land in the meter's "
            "own series (two counters in one series look like resets, and the same energy counts twice) and the "
            "meter would lose its data-quality alerts; give the metering point its own device id, e.g. "
            'device = "datahub"') in capsys.readouterr().err
    # the daemon validates the same way before it starts anything (on the old code it ran, and the timeout failed)
    out = subprocess.run([sys.executable, "-m", "energimon", "run", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "ENERGIMON_LANG": "da"})
    assert out.returncode == 2, out.stderr
    assert "datahub.metering_points[0] (id '571313100000000001').device: soro-raadhus/hovedmaaler er også det " \
           "levende apparat devices[0] (id 'hovedmaaler')" in out.stderr


def test_metering_points_beside_live_meters_on_their_own_device_ids_are_fine(tmp_path):
    """Its own device id at the site; a live meter's id at another site; an MQTT {device} placeholder (its ids
    come from topics at run time); one metering point in both sections (history imported once, then fetched)."""
    text = MINIMAL.replace("[[devices]]", '[sites.stenlille-hallen]\nname = "Stenlille-Hallen"\nlatitude = 55.54\n'
                           'longitude = 11.59\n\n[[devices]]')
    text += MQTT_KAELDER.replace('device = "kaelder"\n', "").replace("raadhus/kaelder/power", "raadhus/{device}/power")
    text += POINT.format(section="datahub") + 'device = "datahub"\n'
    text += (POINT.format(section="datahub").replace("0001", "0002").replace("soro-raadhus", "stenlille-hallen")
             + 'device = "hovedmaaler"\n')
    text += ELOVERBLIK + POINT.format(section="sources.eloverblik") + 'device = "datahub"\n'
    s = load_settings(write(tmp_path, text), environ={})
    assert [(mp.site, mp.device) for mp in s.datahub.metering_points] == [("soro-raadhus", "datahub"),
                                                                         ("stenlille-hallen", "hovedmaaler")]
