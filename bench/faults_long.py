"""The fault-injection suite, long: the scenarios of ``tests/faults/`` with more faults and more data.

Same code as the tests (imported from ``tests/faults``), bigger numbers: InfluxDB down for a simulated
10-minute outage of 100 devices, ``energimon run`` SIGKILLed 10 times in a row (MQTT 3.1.1 and 5), the broker
restarted 5 times, 20 alerts through an SMTP outage with 3 daemon restarts, misbehaving Modbus devices for
20 s, the spool full for 6 s, its disk full for 5 s with 2,000 messages waiting, the clock steps, a
20,000-line ``mosquitto_pub -l`` burst and a backlog of 4,000 plain + 4,000 Shelly Pro 3EM messages delivered
after a broker restart.
Everything on 127.0.0.1, servers started and stopped by PID; bounded (a few minutes on 2 cores).

    .venv/bin/python bench/faults_long.py

Prints ``scenario | produced | stored | duplicates | lost`` (and the seconds each took); the exit status is
non-zero if any reading was lost or duplicated, or a scenario failed.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import InfluxServer  # noqa: E402  (tests/ is on sys.path only from here on)
from faults.harness import Tally, format_table  # noqa: E402
from faults.test_broker_restart import run_broker_restart  # noqa: E402
from faults.test_clock_jump import run_clock_jump  # noqa: E402
from faults.test_daemon_sigkill import run_daemon_sigkill  # noqa: E402
from faults.test_modbus_faults import run_modbus_faults  # noqa: E402
from faults.test_mqtt_burst import run_backlog_after_restart, run_mosquitto_pub_burst  # noqa: E402
from faults.test_smtp_outage import run_smtp_outage  # noqa: E402
from faults.test_spool_full import run_spool_capacity, run_spool_disk_full  # noqa: E402
from faults.test_store_outage import run_store_outage  # noqa: E402


def scenarios(influxd: InfluxServer):
    yield "store outage", lambda d: run_store_outage(d, devices=100, hold_s=3.0, pause_s=2.0)
    for protocol in ("3.1.1", "5"):
        yield f"sigkill {protocol}", lambda d, p=protocol: run_daemon_sigkill(d, protocol=p, kills=10, per_phase=200)
    yield "broker restart", lambda d: run_broker_restart(d, restarts=5, per_phase=300)
    yield "smtp outage", lambda d: run_smtp_outage(d, problems=20, restarts=3, down_h=4)
    yield "modbus faults", lambda d: run_modbus_faults(d, run_s=20)
    yield "spool capacity", lambda d: run_spool_capacity(d, full_s=6)
    yield "spool disk full", lambda d: run_spool_disk_full(d, influxd, messages_full=2000, full_s=5)
    yield "clock steps", lambda d: run_clock_jump(d, steps=((1, -3600), (3, 0), (6, -3), (9, 3600), (11, 0)),
                                                  polls=13)
    yield "mqtt burst", lambda d: run_mosquitto_pub_burst(d, n=20_000)
    yield "mqtt backlog", lambda d: run_backlog_after_restart(d, n_plain=4_000, n_shelly=4_000)


def quiet() -> None:
    """Only the results on the terminal: the devices' broken frames and the daemon's complaints about them are
    the point of the exercise, not news (the scenarios read the logs they check through their own handlers)."""
    logging.basicConfig(handlers=[logging.NullHandler()])
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")


def main() -> int:
    quiet()
    tallies: list[Tally] = []
    seconds: list[float] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="energimon-faults-") as tmp:
        influxd = InfluxServer(Path(tmp) / "influxd").start()
        try:
            for i, (name, run) in enumerate(scenarios(influxd)):
                workdir = Path(tmp) / f"{i:02d}"
                workdir.mkdir()
                t0 = time.monotonic()
                try:
                    out = run(workdir)
                except Exception:
                    traceback.print_exc()
                    failed.append(name)
                    continue
                elapsed = time.monotonic() - t0
                for t in getattr(out, "tallies", None) or [out.tally]:  # a scenario may count several rows
                    seconds.append(elapsed)
                    tallies.append(t)
                    print(f"{t.scenario}: {t.produced} produced, {t.stored} stored, {t.duplicates} duplicates, "
                          f"{t.lost} lost, {t.wrong} wrong ({elapsed:.1f} s)", flush=True)
        finally:
            influxd.stop()
    print()
    table = format_table(tallies).splitlines()
    print(f"{table[0]} | seconds\n{table[1]}-+--------")
    for line, s in zip(table[2:], seconds, strict=True):
        print(f"{line} | {s:7.1f}")
    bad = [t.scenario for t in tallies if not t.exact]
    if bad or failed:
        print(f"\nNOT EXACT: {', '.join(bad)}; FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
