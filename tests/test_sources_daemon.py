"""End to end: `energimon run` (a subprocess) with local Eloverblik, Energi Data Service and DMI servers
(tests/sources_fakes.py, each written from the service's public documentation) fills the store through the
spool; a second run fetches nothing new; the monthly savings report runs on the fetched data alone (no
import), priced by the spot price + tariffs and with the CO₂ account of all consumption."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from helpers.wait import wait_for
from sources_fakes import CPH, FakeDmi, FakeEloverblik, FakeEnergiDataService, local_midnight

from energimon.analytics.report.csv_out import column_keys
from energimon.app.cli import main
from energimon.app.jobruns import read_job_runs
from energimon.collector.sources.state import read_status
from energimon.model import SeriesKey
from energimon.store.sqlite import SqliteStore

G1 = "571313174100000001"
JOBS = {"sources.eloverblik", "sources.energidataservice", "sources.dmi"}


def add_months(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    return dt.date(d.year + y, m + 1, 1)


def write_config(tmp: Path, elo: FakeEloverblik, eds: FakeEnergiDataService, dmi: FakeDmi, month: dt.date) -> Path:
    measure = month
    baseline_start = measure - dt.timedelta(days=365)
    backfill_days = (dt.datetime.now(tz=CPH).date() - baseline_start).days + 1
    (tmp / "secrets").mkdir()
    (tmp / "secrets" / "eloverblik.token").write_text("refresh-secret-token\n", encoding="utf-8")
    (tmp / "secrets" / "dmi.key").write_text("dmi-secret-key\n", encoding="utf-8")
    cfg = tmp / "energimon.toml"
    cfg.write_text(f"""
[sites.soro]
name = "Sorø Rådhus"
latitude = 55.4319
longitude = 11.5561

[store]
path = "store.db"
[spool]
path = "spool.db"
[log]
level = "INFO"

[sources]
backfill_days = {backfill_days}
revision_days = 3

[sources.eloverblik]
refresh_token_file = "secrets/eloverblik.token"
base_url = "{elo.server.url}/thirdpartyapi/api"
[[sources.eloverblik.metering_points]]
id = "{G1}"
site = "soro"

[sources.energidataservice]
base_url = "{eds.server.url}"
price_area = "DK2"

[sources.dmi]
api_key_file = "secrets/dmi.key"
base_url = "{dmi.server.url}/v2/metObs"
[[sources.dmi.stations]]
site = "soro"

[esco]
contract = "Sorø ESCO 2026"
baseline_start = {baseline_start.isoformat()}
baseline_end = {measure.isoformat()}
measure_date = {measure.isoformat()}
temperature = "soro/dmi/outdoor_temp_c"
reports_dir = "reports"
co2_intensity = "dk2/energinet/co2_g_per_kwh"
[esco.normal_year]
total = 2906
source = "DTI normalår 2906 graddage"
[esco.spot_price]
series = "dk2/energinet/price_dkk_per_kwh"
[[esco.spot_price.tariffs]]
from = {baseline_start.isoformat()}
dkk_per_kwh = 1.05
source = "nettarif + elafgift (test)"
[[esco.co2]]
carrier = "electricity"
year = {month.year}
kg_per_kwh = 0.12
source = "test"
[esco.sites.soro]
energy = "datahub/energy_import_wh"
""", encoding="utf-8")
    return cfg


def run_daemon_until(cfg: Path, done, timeout_s: float) -> tuple[int, str]:
    """`energimon run` until ``done()`` (checked every 0.2 s), then SIGTERM; returns (exit code, stdout)."""
    log = cfg.parent / f"daemon-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "energimon", "run", "-c", str(cfg)], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            wait_for(lambda: proc.poll() is not None or done(), timeout_s,
                     lambda: "the daemon's work:\n" + log.read_text(errors="replace")[-3000:], 0.2)
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return code, log.read_text(errors="replace")


def jobs_done(tmp: Path, after_ms: int) -> bool:
    path = tmp / "jobs.db"
    if not path.exists():
        return False
    runs = {r.job_id: r for r in read_job_runs(path)}
    return all(j in runs and runs[j].outcome == "ok" and (runs[j].last_end_ms or 0) > after_ms for j in JOBS)


def spool_empty(tmp: Path) -> bool:
    import sqlite3

    from energimon.store.spool import count_waiting

    db = sqlite3.connect(f"file:{tmp / 'spool.db'}?mode=ro", uri=True)
    try:
        return count_waiting(db) == 0
    finally:
        db.close()


def test_the_daemon_fills_the_store_from_the_sources_a_second_run_fetches_nothing_new_and_the_report_runs(
        tmp_path, capsys):
    month = add_months(dt.datetime.now(tz=CPH).date().replace(day=1), -1)
    elo, eds, dmi = FakeEloverblik([G1]), FakeEnergiDataService(), FakeDmi()
    with elo.server, eds.server, dmi.server:
        cfg = write_config(tmp_path, elo, eds, dmi, month)
        t0 = int(time.time() * 1000)
        code, out = run_daemon_until(cfg, lambda: jobs_done(tmp_path, t0) and spool_empty(tmp_path), 240)
        assert code == 0, out
        status = {s.name: s for s in read_status(tmp_path / "sources.db")}
        assert set(status) == {f"eloverblik:{G1}", "energidataservice:DK2/price", "energidataservice:DK2/co2",
                               "dmi:soro/temp_mean_past1h"}
        assert all(s.points > 0 and s.last_error is None for s in status.values())
        assert status["dmi:soro/temp_mean_past1h"].info.startswith("06135 ")  # the nearest station to Sorø
        store = SqliteStore(tmp_path / "store.db", readonly=True)
        try:
            t_a, t_b = local_midnight(month), local_midnight(add_months(month, 1))
            days = store.energy(SeriesKey("soro", "datahub", "energy_import_wh"), t_a, t_b, "day").windows
            assert bool(days["complete"].all())  # every day of last month, from DataHub alone
            for key in (SeriesKey("dk2", "energinet", "price_dkk_per_kwh"),
                        SeriesKey("dk2", "energinet", "co2_g_per_kwh"), SeriesKey("soro", "dmi", "outdoor_temp_c")):
                assert int(store.aggregates(key, t_a, t_b, "day")["count"].min()) > 0, key
        finally:
            store.close()
        for line in ("eloverblik: 1 series", "energidataservice: 2 series", "dmi: 1 series"):
            assert any(line in ln and "readings to the spool" in ln for ln in out.splitlines()), out[-2000:]

        # the second run: everything asked again within the revision window, nothing new to store
        requests_before = elo.server.count("gettimeseries")
        t1 = int(time.time() * 1000)
        code, out2 = run_daemon_until(cfg, lambda: jobs_done(tmp_path, t1), 120)
        assert code == 0, out2
        summaries = [ln for ln in out2.splitlines() if "readings to the spool" in ln]
        assert len(summaries) == 3 and all(", 0 new values, 0 revised," in ln and " 0 readings to the spool" in ln
                                           for ln in summaries), summaries
        assert elo.server.count("gettimeseries") > requests_before  # it did ask (the revision window)

    # the monthly savings report on fetched data only: DKK from hourly spot + tariffs, the CO2 account
    capsys.readouterr()
    assert main(["report", "savings", "--month", f"{month:%Y-%m}", "-c", str(cfg), "--out",
                 str(tmp_path / "reports")]) == 0
    reports = tmp_path / "reports"
    co2_csv = (reports / f"besparelse-{month:%Y-%m}-co2.csv").read_text(encoding="utf-8-sig").splitlines()
    assert co2_csv[0].split(";")[:4] == ["Bygning (id)", "Energiart", "Metode", "Samlet forbrug kWh"]
    site, carrier, method, kwh, kg, hours, counted, _avoided, unit = co2_csv[1].split(";")
    assert (site, carrier, method, unit) == ("soro", "electricity", "hourly", "kWh") and hours == counted
    g_per_kwh = float(kg.replace(",", ".")) * 1000 / float(kwh.replace(",", "."))
    assert 60 < g_per_kwh < 180  # the fake's intensity swings 60-180 g/kWh over the day
    text = subprocess.run(["pdftotext", "-layout", str(reports / f"besparelse-{month:%Y-%m}.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "CO₂-regnskab for alt forbrug" in text and "time for time" in text
    assert "spotpris dk2/energinet/price_dkk_per_kwh" in text
    main_csv = (reports / f"besparelse-{month:%Y-%m}.csv").read_text(encoding="utf-8-sig").splitlines()
    header = column_keys(main_csv[0].split(";"), "da")
    month_row = next(r.split(";") for r in main_csv[1:] if r.startswith("soro;month;"))
    assert month_row[header.index("savings_dkk")] != ""  # priced: spot + tariffs for every hour of the month
    price = float(month_row[header.index("price_dkk_per_kwh")].replace(",", "."))
    assert 1.05 < price < 1.05 + 1.0  # the tariffs plus the fake's spot (0.1-1.0 DKK/kWh, a negative hour)

    assert main(["--lang", "en", "status", "-c", str(cfg)]) in (0, 1)
    shown = capsys.readouterr().out
    assert "sources:" in shown and "eloverblik: 1 series" in shown and "dmi: 1 series, latest value" in shown
