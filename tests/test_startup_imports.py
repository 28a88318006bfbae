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
