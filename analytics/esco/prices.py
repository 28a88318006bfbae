"""The ESCO price source "spot + tariffs": the stored day-ahead spot price per hour plus the tariffs per period.

The spot price is what Energi Data Service publishes for the price area (``[sources.energidataservice]``
stores it as ``dk2/energinet/price_dkk_per_kwh``: hourly until 2025-09-30, every 15 minutes since).
What a municipality pays per kWh is that plus the grid company's tariffs, Energinet's system and net
tariffs and the electricity tax; those change a few times a year and are configured as periods
(``[[esco.spot_price.tariffs]]``).  The result is an hourly price series handed to the savings
calculation exactly like an hourly price file (:class:`energimon.analytics.esco.PriceFile`), so days are
priced by the building's hourly use the same way.

An hour's spot price is the time-weighted mean of its intervals when all of them are in the store (one
hourly price, or four quarter-hour prices); an hour with some intervals missing has no price of its own
(it takes the last earlier hour's, and the report counts such days), as for a price file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from energimon.analytics.esco import PriceBasis, PriceFile, local_midnight, step_prices
from energimon.config.esco_settings import EscoSettings
from energimon.model import SeriesKey

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class SpotPriceFile(PriceFile):
    """A :class:`PriceFile` made from the store's spot series and the tariff periods (``label`` names both)."""

    label: str = ""

    @property
    def name(self) -> str:
        return self.label


def hourly_spot_dkk_per_kwh(ts_ms: np.ndarray, values: np.ndarray) -> pd.Series:
    """Hourly mean of an interval price series (UTC hour starts), NaN for an hour missing some of its intervals.

    Each value holds until the next one's start (its interval), so an hour is complete when its values'
    intervals fill it: one hourly price, or four quarter-hour prices.
    """
    if len(ts_ms) == 0:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    step = np.diff(ts_ms, append=ts_ms[-1] + (ts_ms[-1] - ts_ms[-2] if len(ts_ms) > 1 else HOUR_MS))
    step = np.minimum(step, HOUR_MS)  # a hole after a value does not lengthen its interval beyond an hour
    hour = ts_ms - ts_ms % HOUR_MS
    frame = pd.DataFrame({"hour": hour, "w": step, "pw": values * step})
    g = frame.groupby("hour")
    covered = g["w"].sum()
    mean = (g["pw"].sum() / covered).where(covered >= HOUR_MS)
    grid = np.arange(hour.min(), hour.max() + HOUR_MS, HOUR_MS)
    out = mean.reindex(grid)
    out.index = pd.to_datetime(grid, unit="ms", utc=True)
    return out


def spot_price_basis(store, esco: EscoSettings, until: dt.date | None = None) -> PriceBasis:
    """The contract's price basis from the store: hourly spot + the tariffs of each hour's local day."""
    cfg = esco.spot_price
    if cfg is None:
        raise ValueError("esco.spot_price is not configured")
    key = SeriesKey(*cfg.series.split("/"))
    start = local_midnight(esco.measure_date)
    end = local_midnight(until) if until else dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=2)
    ts, v = store.read_raw_ms(key, int(start.timestamp() * 1000), int(end.timestamp() * 1000))
    if len(ts) == 0:
        raise ValueError(f"esco.spot_price: no spot prices in the store for {key} from {esco.measure_date} (is "
                         "[sources.energidataservice] configured and has it run? 'energimon sources status')")
    spot = hourly_spot_dkk_per_kwh(ts, v)
    tariffs = step_prices(pd.DatetimeIndex(spot.index).tz_convert(start.tzinfo), tuple(cfg.tariffs))
    hourly = spot + tariffs
    label = (f"spotpris {cfg.series} (Energi Data Service) + tariffer "
             + "; ".join(f"fra {t.from_.isoformat()} {t.dkk_per_kwh:.4g} kr./kWh ({t.source})" for t in cfg.tariffs))
    interval = 15 if len(ts) > 1 and np.median(np.diff(ts[-100:])) <= 900_000 else 60
    return PriceBasis("file", file=SpotPriceFile(Path(cfg.series), interval, hourly, label=label))
