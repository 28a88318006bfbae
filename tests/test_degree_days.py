"""Degree days (graddage), the daily mean temperature from the store, and the graddagekorrektion."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from energimon.analytics.degree_days import (
    DEFAULT_MONTHLY_SHARE,
    NormalYear,
    cooling_degree_days_c,
    daily_mean_temperature_c,
    graddagekorrektion,
    heating_degree_days_c,
)
from energimon.model import Reading, SeriesKey
from energimon.store.sqlite import SqliteStore

CPH = ZoneInfo("Europe/Copenhagen")
TEMP = SeriesKey("soro-raadhus", "vejr", "outdoor_temp_c")


def test_degree_days_published_examples():
    # AffaldVarme Aarhus (https://affaldvarme.aarhus.dk/erhverv/services/graddagetal/):
    #   "gennemsnitlig udetemperatur på 4,8 °C ... 17 °C − 4,8 °C = 12,2 graddage".
    # Nature Energy Distribution (natureenergy-distribution.dk/teknisk-information/graddage/):
    #   16 °C = 1 graddag, 0 °C = 17 graddage, −10 °C = 27 graddage; 17 °C and above: 0.
    t = np.array([4.8, 16.0, 0.0, -10.0, 17.0, 21.5])
    assert heating_degree_days_c(t) == pytest.approx([12.2, 1.0, 17.0, 27.0, 0.0, 0.0])
    # cooling degree days at base 20 °C: 21.5 - 20 = 1.5, everything else 0
    assert cooling_degree_days_c(t, 20.0) == pytest.approx([0, 0, 0, 0, 0, 1.5])


def test_missing_temperature_is_not_zero_degree_days():
    out = heating_degree_days_c(np.array([np.nan, 10.0]))
    assert np.isnan(out[0]) and out[1] == pytest.approx(7.0)


def test_graddagekorrektion_worked_example_rodovre_fjernvarme():
    # Rødovre Fjernvarme, "Graddage" (https://www.rodovrefjernvarme.dk/forbruger/gode-raad-om-fjernvarme/graddage/):
    # normalår 3112 graddage, varmtvandsandel 25 %:
    #   2007: 3808,4 MWh, 2571,0 graddage -> 3808,4 * ((75 * 3112/2571,0 + 25)/100) = 4409,43 MWh
    #   2006: 4065,1 MWh, 2740,7 graddage -> 4065,1 * ((75 * 3112/2740,7 + 25)/100) = 4478,14 MWh
    # (by hand: 3112/2571 = 1.210424; *0.75 = 0.907818; +0.25 = 1.157818; *3808.4 = 4409.43)
    assert graddagekorrektion(3808.4, 2571.0, 3112.0, 0.25) == pytest.approx(4409.43, abs=0.005)
    assert graddagekorrektion(4065.1, 2740.7, 3112.0, 0.25) == pytest.approx(4478.14, abs=0.005)
    # vectorised over several periods
    out = graddagekorrektion(np.array([3808.4, 4065.1]), np.array([2571.0, 2740.7]), 3112.0, 0.25)
    assert out == pytest.approx([4409.43, 4478.14], abs=0.005)


def test_graddagekorrektion_edges():
    assert graddagekorrektion(100.0, 1000.0, 3000.0, 1.0) == pytest.approx(100.0)  # all weather-independent
    assert graddagekorrektion(100.0, 1000.0, 3000.0, 0.0) == pytest.approx(300.0)  # all heating
    assert np.isnan(graddagekorrektion(100.0, 0.0, 10.0, 0.2))  # no degree days: cannot be corrected
    with pytest.raises(ValueError, match=r"0\.\.1"):
        graddagekorrektion(100.0, 1000.0, 3000.0, 25)  # a percentage given instead of a share


def test_normal_year_split():
    # the default split is the published percentage profile rescaled to 1
    assert sum(DEFAULT_MONTHLY_SHARE) == pytest.approx(1.0)
    ny = NormalYear(total=2906, source="DTI normalår")
    assert sum(ny.month(m) for m in range(1, 13)) == pytest.approx(2906)
    assert ny.month(7) == 0.0
    # an explicit monthly split wins; per_day spreads a month evenly: 310 / 31 days = 10 per day in January
    ny2 = NormalYear(total=3100, source="test", monthly=[310] + [253.6363636] * 11)
    days = pd.date_range("2026-01-01", periods=2, freq="D", tz=CPH)
    assert ny2.per_day(days) == pytest.approx([10.0, 10.0])


def _write_hourly(store, first: datetime, hours: int, value_of_hour):
    t0 = int(first.timestamp() * 1000)
    store.write([Reading(TEMP.site, TEMP.device, TEMP.channel, "weather", t0 + h * 3_600_000, float(value_of_hour(h)))
                 for h in range(hours)])


def test_daily_mean_temperature_in_local_days_across_dst(tmp_path):
    store = SqliteStore(tmp_path / "s.db")
    # 2026-10-25 (autumn DST change) has 25 local hours: 00:00 CEST = 22:00 UTC the day before.
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)
    _write_hourly(store, start, 25, lambda h: h)  # values 0..24 -> mean 12.0
    # 2026-10-26: only 10 hours of data (< half of 24): NaN, not a made-up mean
    _write_hourly(store, datetime(2026, 10, 25, 23, tzinfo=UTC), 10, lambda h: 5.0)
    s = daily_mean_temperature_c(store, TEMP, datetime(2026, 10, 25, tzinfo=CPH), datetime(2026, 10, 27, tzinfo=CPH))
    assert s.loc[pd.Timestamp("2026-10-25", tz=CPH)] == pytest.approx(12.0)  # (0+1+...+24)/25 = 300/25
    assert np.isnan(s.loc[pd.Timestamp("2026-10-26", tz=CPH)])
    store.close()
