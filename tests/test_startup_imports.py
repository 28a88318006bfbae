"""What the start of ``energimon run`` and ``check-config`` imports (bench/startup.py: ``run`` stores its first
reading < 1 s after start, ``check-config`` < 0.3 s): no pandas, numpy, scipy or matplotlib before the daemon's
first reading, and the sections' settings validators built when first used."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import energimon.config.settings, energimon.app.daemon, energimon.analytics.report.schedule
import energimon.collector.mqtt.runtime, energimon.store.spool, energimon.store.sqlite, energimon.store.writer
heavy = sorted(m for m in ("pandas", "numpy", "scipy", "matplotlib") if m in sys.modules)
from energimon.store.settings import StoreSettings
built_before = StoreSettings.__pydantic_complete__
StoreSettings()
print(heavy, built_before, StoreSettings.__pydantic_complete__)
"""


def test_the_daemon_start_imports_no_pandas_numpy_scipy_or_matplotlib():
    # a fresh interpreter: this test process has imported everything long ago
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split("\n")[0] == "[] False True", out.stdout + out.stderr


# What `energimon --help` and `energimon check-config` must not load (bench/startup.py: both < 0.3 s): the
# analytics' numeric stack, the mail package's MIME building and rich (drawn only when a command shows progress).
# `--help` not even email.message (report.mailing's); loading the configuration does import it, through
# pydantic-settings → pydantic's plugin loader → importlib.metadata.
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "email.mime", "rich")

HELP_AND_LOAD = """
import contextlib, io, sys
from pathlib import Path
def loaded(heavy={heavy!r}):
    return sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in sys.modules))
from energimon.app.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
    main(["--help"])
assert "check-config" in out.getvalue(), out.getvalue()
print("help", loaded({heavy!r} + ("email.message",)))
import pydantic
import energimon.config.settings as config
models = [c for name, m in list(sys.modules.items()) if name.startswith("energimon.") and m is not None
          for c in vars(m).values()
          if isinstance(c, type) and issubclass(c, pydantic.BaseModel) and c.__module__ == name]
print("models", len(models), sorted(f"{{c.__module__}}.{{c.__qualname__}}" for c in models if c.__pydantic_complete__))
settings = config.load_settings(Path({example!r}))
assert settings.sites and settings.devices and settings.mqtt is not None
print("load", loaded())
print("loaded-models", len([c for name, m in list(sys.modules.items())
                            if name.startswith("energimon.") and m is not None for c in vars(m).values()
                            if isinstance(c, type) and issubclass(c, pydantic.BaseModel) and c.__module__ == name]))
"""


def test_help_and_loading_the_example_config_import_nothing_heavy_and_build_no_model_early():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config" / "energimon.example.toml"
    code = HELP_AND_LOAD.format(heavy=HEAVY, example=str(example))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ", 1)[0] in
                 ("help", "models", "load", "loaded-models"))
    assert lines["help"] == "[]", out.stdout + out.stderr
    assert lines["load"] == "[]", out.stdout + out.stderr
    # the settings models of what every configuration has (sites, devices, store, spool, the application's own)
    # are defined at import and validated from the first load: none built before then; the optional sections'
    # owners (mqtt, smtp, alerts, esco, datahub in the example) define theirs when the load finds their tables
    count, built = lines["models"].split(" ", 1)
    assert int(count) > 15 and built == "[]", out.stdout + out.stderr
    assert int(lines["loaded-models"]) > int(count) + 30, out.stdout + out.stderr


def test_report_mail_offers_the_kinds_the_mailing_knows():
    # analytics/report/cli.py lists the kinds itself so that registering `report mail` does not import
    # report.mailing (and email) on every start
    from energimon.analytics.report.mailing import KINDS
    from energimon.app.cli import build_parser, subcommands

    mail = dict(subcommands(build_parser()))[("report", "mail")]
    kind = next(a for a in mail._actions if a.dest == "kind")
    assert tuple(kind.choices) == KINDS


# A small configuration pays only for the sections it has: the optional sections' settings modules
# (config/settings.py, _LAZY_SECTIONS) are imported when the configuration has that table, not before.
MINIMAL = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.556

[[devices]]
site = "soro-raadhus"
id = "hovedmaaler"
role = "grid"
protocol = "modbus_tcp"
host = "10.20.1.15"
profile = "eastron.sdm630"

[spool]
path = "spool.db"

[store]
path = "store.db"
"""

OPTIONAL_SECTIONS = {
    "esco": "energimon.analytics.esco.settings",
    "alerts": "energimon.analytics.anomaly.settings",
    "web": "energimon.web.settings",
    "sources": "energimon.collector.sources.settings",
    "mqtt": "energimon.collector.mqtt.settings",
    "smtp": "energimon.mail.settings",
    "datahub": "energimon.collector.importer.settings",
}

LOAD_AND_LIST = """
import sys
from pathlib import Path
import energimon.config.settings as config
settings = config.load_settings(Path({path!r}))
print("devices", len(settings.devices), "web", settings.web is not None)
print("modules", sorted(m for m in {modules!r} if m in sys.modules))
"""


def test_a_config_without_optional_sections_does_not_import_their_settings_modules(tmp_path):
    with_web = MINIMAL + '\n[web]\npublic_url = "https://energi.example.soroe.dk"\n'
    for name, text in (("minimal", MINIMAL), ("with-web", with_web)):
        path = tmp_path / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        code = LOAD_AND_LIST.format(path=str(path), modules=tuple(OPTIONAL_SECTIONS.values()))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
        if name == "minimal":
            assert lines == {"devices": "1 web False", "modules": "[]"}, out.stdout
        else:  # the section's owner is imported for it, and only that one
            assert lines == {"devices": "1 web True", "modules": "['energimon.web.settings']"}, out.stdout


# The daemon imports a protocol's collector module only for a configuration with a device of that protocol
# (app/daemon.py, Daemon._device_pollers): pymodbus is for Modbus TCP devices (SunSpec ones included), not for a
# server that only has M-Bus meters, MQTT or fetched sources.  `energimon run` itself, to READY=1 and a SIGTERM,
# with Python's import profile on stderr (PYTHONPROFILEIMPORTTIME): every module the process imported, start to
# stop.
WITHOUT_MODBUS = """
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.556

[[devices]]
site = "soro-raadhus"
id = "fjernvarme"
role = "heat"
protocol = "mbus_tcp"
host = "127.0.0.1"
port = {mbus_port}
address = 1

[mqtt]
host = "127.0.0.1"
port = {mqtt_port}
client_id = "energimon-imports"

[[mqtt.subscriptions]]
topic = "bygning/{{site}}/{{device}}/{{channel}}"
role = "submeter"

[spool]
path = "spool.db"

[store]
path = "store.db"
"""

SUNSPEC_DEVICE = """
[[devices]]
site = "soro-raadhus"
id = "solceller"
role = "pv"
protocol = "modbus_tcp"
host = "127.0.0.1"
port = {port}
profile = "sunspec"
"""


def _imported_by_run(cfg) -> set[str]:
    """The modules `energimon run --config cfg` imported from its start until it stopped."""
    import os
    import re

    from helpers.daemon import RunningDaemon

    with RunningDaemon(cfg, {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}) as daemon:
        assert daemon.wait_ready_or_exit(), daemon.stderr[-3000:]
        assert daemon.terminate() == 0, daemon.stderr[-3000:]
    # "import time: self [us] | cumulative | imported package" for each module, indented by its depth
    return set(re.findall(r"^import time:.*\|\s*([\w.]+)$", daemon.stderr, re.MULTILINE))


def test_the_daemon_imports_pymodbus_only_for_a_configured_modbus_device(tmp_path):
    from helpers.net import free_port

    # nothing listens on these ports: the daemon starts all the same (its collectors retry), which is all this needs
    without = WITHOUT_MODBUS.format(mbus_port=free_port(), mqtt_port=free_port())
    (tmp_path / "without").mkdir()
    (tmp_path / "with").mkdir()
    cfg = tmp_path / "without" / "energimon.toml"
    cfg.write_text(without, encoding="utf-8")
    imported = _imported_by_run(cfg)
    # the import profile is complete (the M-Bus and MQTT collectors are in it)
    assert {"energimon.collector.mbus.poller", "energimon.collector.mqtt.runtime"} <= imported, sorted(imported)
    assert sorted(m for m in imported if m.split(".")[0] == "pymodbus") == []

    cfg = tmp_path / "with" / "energimon.toml"
    cfg.write_text(without + SUNSPEC_DEVICE.format(port=free_port()), encoding="utf-8")
    assert "pymodbus" in _imported_by_run(cfg)


def test_status_reads_the_modbus_devices_without_pymodbus():
    # `energimon status` reports Modbus devices from the health series in the store; it needs the back-off limit
    # (collector/health.py, shared with the M-Bus poller), not the Modbus client: before, it took the limit from
    # collector.modbus.poller and so imported pymodbus and pyserial
    probe = ("import sys, energimon.app.status; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'pymodbus', 'serial'}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
