"""Render the example report pages shown in the README (docs/examples/*.png) from synthetic data.

    python docs/examples/render_examples.py          # needs poppler-utils (pdftoppm)

The savings report: three buildings measured 2025-01 - 2026-03 (a year of baseline, the measure on
1 January 2026), the school without any saving (so "ikke påviselig"), floor areas for kWh/m².  The solar report:
the demo's three Sorø sites in June 2026.  Both in Danish, each page a 60 dpi PNG.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from energimon.analytics.report.savings_report import generate_savings_report
from energimon.analytics.report.solar_report import generate_solar_report
from energimon.app.demo import DEMO_CONFIG
from energimon.collector.simulator.buildings import SORO_BUILDINGS
from energimon.collector.simulator.solar import write_sites
from energimon.collector.simulator.synthetic import SyntheticBuilding, synthetic_readings
from energimon.config.settings import load_settings
from energimon.model import LOCAL_TZ
from energimon.store.sqlite import SqliteStore

HERE = Path(__file__).resolve().parent
# (site, name, intercept kWh/day, beta kWh/K·day, noise kWh/day, saving kWh/day, floor area m²)
BUILDINGS = [("soro-raadhus", "Sorø Rådhus", 400, 25, 16, 60, 4800),
             ("stenlille-hallen", "Stenlille hallen", 600, 40, 24, 90, 2900),
             ("dianalund-skole", "Dianalund Skole og Fritidsordning, afdeling Nord", 300, 20, 12, 0, 3600)]

SAVINGS_CONFIG = """
[store]
path = "store.db"
[spool]
path = "spool.db"
{sites}
[esco]
contract = "Sorø Kommune ESCO-kontrakt 2025"
esco = "Eksempel ESCO A/S"
baseline_start = 2025-01-01
baseline_end = 2026-01-01
measure_date = 2026-01-01
guarantee_kwh_per_year = 45000
price_dkk_per_kwh = 2.15
temperature = "soro-raadhus/vejr/outdoor_temp_c"
reports_dir = "rapporter"
normal_year = {{ total = 2906, source = "DMI, normalår 2001-2010" }}
[[esco.co2]]
carrier = "electricity"
year = 2026
kg_per_kwh = 0.115
source = "Energinet miljødeklaration"
{esco_sites}
"""


def _png(pdf: Path, pages: dict[int, str]) -> None:
    for page, name in pages.items():
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf),
                        str(HERE / name)], check=True)
        print(HERE / f"{name}.png")


def savings(folder: Path) -> None:
    sites, esco_sites = [], []
    store = SqliteStore(folder / "store.db")
    for i, (sid, name, mu, beta, noise, saving, area) in enumerate(BUILDINGS):
        sites.append(f'[sites.{sid}]\nname = "{name}"\nlatitude = 55.4\nlongitude = 11.5\nfloor_area_m2 = {area}')
        esco_sites.append(f'[esco.sites.{sid}]\nenergy = "hovedmaaler/energy_import_wh"\n'
                          f'temperature = "{sid}/vejr/outdoor_temp_c"')
        readings, _ = synthetic_readings(SyntheticBuilding(sid, mu, beta, 15.0, noise, saving), dt.date(2025, 1, 1),
                                         dt.date(2026, 4, 1), dt.date(2026, 1, 1), seed=i + 3)
        store.write(readings)
    (folder / "energimon.toml").write_text(SAVINGS_CONFIG.format(sites="\n".join(sites),
                                                                 esco_sites="\n".join(esco_sites)), encoding="utf-8")
    files = generate_savings_report(load_settings(folder / "energimon.toml"), store, dt.date(2026, 3, 1),
                                    today=dt.date(2026, 4, 10))
    store.close()
    _png(files.pdf, {1: "besparelse-side1-sammenfatning", 2: "besparelse-side2-ordforklaring",
                     4: "besparelse-side4-bygning"})


def solar(folder: Path) -> None:
    (folder / "energimon.toml").write_text(DEMO_CONFIG.format(config="energimon.toml", devices=""), encoding="utf-8")
    store = SqliteStore(folder / "store.db")
    outage = (pd.Timestamp("2026-06-12 10:00", tz=LOCAL_TZ), pd.Timestamp("2026-06-12 14:00", tz=LOCAL_TZ))
    write_sites(store, SORO_BUILDINGS, dt.date(2026, 6, 1), dt.date(2026, 7, 1), step_s=300,
                pv_outages={"stenlille-hallen": [outage]}, net_only={"dianalund-bibliotek"})
    files = generate_solar_report(load_settings(folder / "energimon.toml"), store, dt.date(2026, 6, 1),
                                  out_dir=folder / "rapporter", today=dt.date(2026, 7, 10))
    store.close()
    _png(files.pdf, {1: "solceller-side1-oversigt", 2: "solceller-side2-anlaeg"})


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for make in (savings, solar):
            sub = Path(tmp) / make.__name__
            sub.mkdir()
            make(sub)
    sys.exit(0)
