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
"""


def test_help_and_loading_the_example_config_import_nothing_heavy_and_build_no_model_early():
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "config" / "energimon.example.toml"
    code = HELP_AND_LOAD.format(heavy=HEAVY, example=str(example))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ", 1)[0] in
                 ("help", "models", "load"))
    assert lines["help"] == "[]", out.stdout + out.stderr
    assert lines["load"] == "[]", out.stdout + out.stderr
    # every owner's settings model (store, collectors, sources, analytics, mail, web, sites, config) is defined
    # at import and validated from the first load: none built before then
    count, built = lines["models"].split(" ", 1)
    assert int(count) > 40 and built == "[]", out.stdout + out.stderr


def test_report_mail_offers_the_kinds_the_mailing_knows():
    # analytics/report/cli.py lists the kinds itself so that registering `report mail` does not import
    # report.mailing (and email) on every start
    from energimon.analytics.report.mailing import KINDS
    from energimon.app.cli import build_parser, subcommands

    mail = dict(subcommands(build_parser()))[("report", "mail")]
    kind = next(a for a in mail._actions if a.dest == "kind")
    assert tuple(kind.choices) == KINDS
