"""The public CO₂ barometer counts a building's meter once when it is both read live (Modbus) and imported from
DataHub (``[[datahub.metering_points]]``): the counters are chosen by ``store.energy.site_meters`` with the climate
account's ``live`` rule, built from the same configuration by the web and by `report climate`, so the barometer's
year equals the account's total.  Before, the barometer counted every device of a role and showed the energy twice.
When the live meter's year is incomplete and the imported copy's is not, both count the copy instead."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from helpers.barometer_account import barometer_and_account

from energimon.config.settings import settings_from_dict
from energimon.model import LOCAL_TZ, Reading
from energimon.store.sqlite import SqliteStore

NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=LOCAL_TZ)  # 2025 is over
INTENSITY = "dk2/energinet/co2_g_per_kwh"
# 2025 (8,760 h), by hand, each meter once:
#   electricity 10 kW × 8,760 h = 87,600 kWh;  × 0.12 kg/kWh / 1000 = 10.512 t;  hour by hour × 100 g/kWh = 8.76 t
#   PV 5 kW × 8,760 h = 43,800 kWh
EL_KWH, EL_T, EL_T_HOURLY, PV_KWH = 87_600.0, 10.512, 8.76, 43_800.0


def _counter(store, device, channel, role, start, kw, hole: tuple[str, str] | None = None):
    """A counter at site "a" rising ``kw`` kW from ``start`` to 2 February 2026, read every 15 minutes; no readings
    strictly inside ``hole`` (a gap across which the counter moved)."""
    idx = pd.date_range(pd.Timestamp(start, tz=LOCAL_TZ), pd.Timestamp("2026-02-02", tz=LOCAL_TZ), freq="15min")
    v = 1_000_000.0 + np.arange(len(idx)) * kw * 1000 * 0.25
    if hole is not None:
        keep = (idx <= pd.Timestamp(hole[0], tz=LOCAL_TZ)) | (idx >= pd.Timestamp(hole[1], tz=LOCAL_TZ))
        idx, v = idx[keep], v[keep]
    assert store.write([Reading("a", device, channel, role, int(t.value // 1_000_000), float(x))
                        for t, x in zip(idx, v, strict=True)]) == []


def _settings(tmp_path, hourly: bool):
    barometer = {"municipality": "Sorø Kommune", "baseline_year": 2025, "sites": {"a": {"name": "Sorø Rådhus"}},
                 "co2": [{"carrier": "electricity", "year": 2025, "kg_per_kwh": 0.12, "source": "testværdi el"}]}
    if hourly:
        barometer["co2_intensity"] = INTENSITY
    return settings_from_dict({
        "sites": {"a": {"name": "Sorø Rådhus", "latitude": 55.4, "longitude": 11.5, "floor_area_m2": 4800}},
        # the main meter and the inverter read live over Modbus …
        "devices": [{"site": "a", "id": "m", "role": "grid", "protocol": "modbus_tcp", "host": "127.0.0.1",
                     "port": 5020, "profile": "eastron.sdm630"},
                    {"site": "a", "id": "inverter", "role": "pv", "protocol": "modbus_tcp", "host": "127.0.0.1",
                     "port": 5021, "profile": "sunspec"}],
        # … and the same two meters imported from DataHub (`energimon import eloverblik`)
        "datahub": {"metering_points": [
            {"id": "571313199900000101", "site": "a", "device": "datahub", "channel": "energy_import_wh",
             "role": "grid"},
            {"id": "571313199900000102", "site": "a", "device": "datahub-pv", "channel": "pv_energy_wh",
             "role": "pv"}]},
        "store": {"path": str(tmp_path / "store.db")},
        "web": {"data_dir": str(tmp_path / "web"), "barometer": barometer},
    })


def _both(tmp_path, live_start: str = "2024-12-31", hole: tuple[str, str] | None = None, hourly: bool = False):
    """The web barometer's 2025 and the climate account of 2025 (`report climate`'s wiring), from one store and
    one configuration: the live grid meter ``m`` (from ``live_start``, with ``hole``), its complete DataHub copy,
    and a live inverter with its DataHub copy."""
    s = _settings(tmp_path, hourly)
    store = SqliteStore(s.store.path)
    _counter(store, "m", "energy_import_wh", "grid", live_start, 10.0, hole)
    _counter(store, "datahub", "energy_import_wh", "grid", "2024-12-31", 10.0)
    _counter(store, "inverter", "pv_energy_wh", "pv", "2024-12-31", 5.0)
    _counter(store, "datahub-pv", "pv_energy_wh", "pv", "2024-12-31", 5.0)
    if hourly:
        ts = pd.date_range(pd.Timestamp("2025-01-01", tz=LOCAL_TZ), pd.Timestamp("2026-01-01", tz=LOCAL_TZ),
                           freq="h", inclusive="left")
        assert store.write([Reading("dk2", "energinet", "co2_g_per_kwh", "market", int(t.value // 1_000_000), 100.0)
                            for t in ts]) == []
    store.close()
    years, account = barometer_and_account(s, NOW, 2025, ["a"])
    return years[2025], account


def test_a_live_meter_and_its_datahub_copy_count_once_as_in_the_climate_account(tmp_path):
    y, account = _both(tmp_path)
    row = account.find("a", "electricity")
    assert row is not None and row.devices == ("m",) and not row.imported_copy
    # before: 175,200 kWh and 21.024 t — the same meter counted twice, against the account's 87,600 kWh, 10.512 t
    assert account.total.kwh == pytest.approx(EL_KWH) and account.total.t_co2 == pytest.approx(EL_T)
    assert y.kwh["electricity"] == pytest.approx(account.total.kwh)
    assert y.t_co2 == pytest.approx(account.total.t_co2, abs=1e-6)
    assert y.pv_kwh == pytest.approx(PV_KWH)  # the inverter once, not with its DataHub copy
    assert y.complete and y.imported_copy == ()


@pytest.mark.parametrize(("hourly", "live_start", "hole", "t"), [
    # the live meter was installed in March: no reading at the year's start
    (False, "2025-03-01", None, EL_T),
    # hour by hour: the live meter lost a day's readings in March (its counter moved across the gap)
    (True, "2024-12-31", ("2025-03-01", "2025-03-02"), EL_T_HOURLY),
], ids=["declared-factor", "hour-by-hour"])
def test_an_incomplete_live_year_counts_the_complete_imported_copy_as_the_account_does(tmp_path, hourly,
                                                                                       live_start, hole, t):
    y, account = _both(tmp_path, live_start, hole, hourly)
    row = account.find("a", "electricity")
    assert row is not None and row.imported_copy and row.devices == ("datahub",) and row.complete
    assert account.total.kwh == pytest.approx(EL_KWH) and account.total.t_co2 == pytest.approx(t, abs=1e-6)
    assert y.kwh["electricity"] == pytest.approx(account.total.kwh)
    assert y.t_co2 == pytest.approx(account.total.t_co2, abs=1e-6)
    assert y.complete and y.why == ()
    assert y.imported_copy == (("electricity", "a"),)
