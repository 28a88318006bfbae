"""How savings are priced: a fixed price, a price per period, an hourly price file, or the stored spot price.

Money is computed per reporting row, never as a total times one price:
``DKK = Σ_rows avoided kWh(row) × price(row)``.  A day's price from an hourly price file is
the mean of its hourly prices weighted by the building's measured hourly consumption that
day (the plain mean when a day's hourly consumption is not fully known); an hour row (TOWT)
takes its hour's price; a month row (billing) the days' prices weighted by daily consumption.
Hours the price file lacks take the last earlier price in the file, and the report counts the
days that had no or only part of their hours in the file; days before the file's first price
have no price, and any period containing one shows no DKK (missing is not zero).

The price file is a ``time,value`` CSV read by :mod:`energimon.timeseries_csv` (as strictly as the
importer reads its files).

**Spot + tariffs.**  The spot price is what Energi Data Service publishes for the price area
(``[sources.energidataservice]`` stores it as ``dk2/energinet/price_dkk_per_kwh``: hourly until
2025-09-30, every 15 minutes since).  What a municipality pays per kWh is that plus the grid company's
tariffs, Energinet's system and net tariffs and the electricity tax; those change a few times a year and
are configured as periods (``[[esco.spot_price.tariffs]]``).  The result is an hourly price series handed
to the savings calculation exactly like an hourly price file (:class:`PriceFile`), so days are priced by
the building's hourly use the same way.  An hour's spot price is the time-weighted mean of its intervals
when all of them are in the store (one hourly price, or four quarter-hour prices); an hour with some
intervals missing has no price of its own (it takes the last earlier hour's, and the report counts such
days), as for a price file.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from energimon.analytics.esco.settings import CarrierPricePeriod, EscoSettings, PricePeriod
from energimon.calendar import hour_index, local_day_index, local_midnight, month_keys
from energimon.model import SeriesKey
from energimon.timeseries_csv import CsvFormatError, most_common_step_ms, parse_time_value

MAX_PLAUSIBLE_DKK_PER_KWH = 100.0
"""A price above this is taken for a unit error (DKK/MWh or øre/kWh) rather than a price."""


@dataclass(frozen=True)
class PriceFile:
    """An interval price series (DKK/kWh) as hourly prices: the time-weighted mean of an hour's intervals,
    NaN for an hour the file does not cover completely."""

    path: Path
    interval_min: int
    hourly: pd.Series  # DKK/kWh per hour start (UTC), one row per hour from the first to the last in the file

    @property
    def name(self) -> str:
        return self.path.name


def parse_price_text(text: str, name: str) -> tuple[int, pd.Series]:
    """``time,value`` CSV (:mod:`energimon.timeseries_csv`, as the importer reads it: ``;`` with decimal comma,
    Danish or ISO times, local time unless an offset is given) -> (interval in minutes, hourly prices).
    Raises :class:`~energimon.timeseries_csv.CsvFormatError` naming every bad line."""
    rows = parse_time_value(text, name)
    if not rows:
        raise CsvFormatError([f"{name}: no prices in the file"])
    errors = [f"{name}:{r.line}: price {r.value:g} DKK/kWh is not plausible (the file must be in DKK/kWh, "
              "not DKK/MWh or øre/kWh)" for r in rows if abs(r.value) > MAX_PLAUSIBLE_DKK_PER_KWH]
    seen: dict[int, int] = {}
    for r in rows:
        if r.ts_ms in seen:
            errors.append(f"{name}:{r.line}: the same time as line {seen[r.ts_ms]}")
        seen.setdefault(r.ts_ms, r.line)
    step_ms = most_common_step_ms(r.ts_ms for r in rows)
    if len(rows) > 1 and (step_ms > 3_600_000 or 3_600_000 % step_ms):
        errors.append(f"{name}: prices every {step_ms / 60000:g} min; expected hourly or shorter intervals that "
                      "divide an hour (15, 30 or 60 min). For a price per period use prices = [...]")
    else:
        errors += [f"{name}:{r.line}: time is not on a {step_ms // 60000}-minute boundary"
                   for r in rows if r.ts_ms % step_ms]
    if errors:
        raise CsvFormatError(errors)
    ts = np.array([r.ts_ms for r in rows], np.int64)
    values = np.array([r.value for r in rows])
    hour = ts - ts % 3_600_000
    per_hour = 3_600_000 // step_ms
    g = pd.Series(values).groupby(hour)
    mean = g.mean().where(g.count() == per_hour)  # an hour with some intervals missing has no price
    grid = np.arange(hour.min(), hour.max() + 1, 3_600_000)
    hourly = mean.reindex(grid)
    hourly.index = pd.to_datetime(grid, unit="ms", utc=True)
    return step_ms // 60000, hourly


@functools.lru_cache(maxsize=8)
def _load_price_file(path: Path, _mtime_ns: int, _size: int) -> PriceFile:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"esco.price_file: cannot read {path}: {exc}") from None
    try:
        interval, hourly = parse_price_text(text, path.name)
    except CsvFormatError as exc:
        raise ValueError(f"esco.price_file {path}: {exc}") from None
    return PriceFile(path, interval, hourly)


def load_price_file(path: Path) -> PriceFile:
    """The price file, parsed once per content (cached on modification time and size: the energy team may
    append next month's prices while the daemon runs)."""
    try:
        st = Path(path).stat()
    except OSError:
        raise ValueError(f"esco.price_file: file not found: {path}") from None
    return _load_price_file(Path(path), st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class PriceBasis:
    """How savings are priced: a fixed price, a price per period (step function by local day), or a file."""

    kind: str  # "fixed" | "periods" | "file"
    fixed_dkk_per_kwh: float | None = None
    periods: tuple[PricePeriod | CarrierPricePeriod, ...] = ()
    file: PriceFile | None = None


def price_basis(esco: EscoSettings, store=None) -> PriceBasis:
    """The contract's price basis (a bad price file raises ValueError naming it and its bad lines)."""
    kind = esco.price_kind
    if kind == "spot":  # the stored spot price + tariffs per period
        if store is None:
            raise ValueError("esco.spot_price is read from the store: call price_basis(esco, store)")
        return spot_price_basis(store, esco)
    if kind == "fixed":
        return PriceBasis(kind, fixed_dkk_per_kwh=esco.price_dkk_per_kwh)
    if kind == "periods":
        return PriceBasis(kind, periods=tuple(esco.prices))
    if esco.price_file is None:  # the settings require exactly one price: with none of the others, a file
        raise ValueError("esco: no price given (price_dkk_per_kwh, prices, price_file or spot_price)")
    return PriceBasis(kind, file=load_price_file(esco.price_file))


def carrier_price_basis(esco: EscoSettings, carrier: str, store=None) -> PriceBasis | None:
    """The price basis of a ``carrier`` with its own prices (``[[esco.carrier_prices.<carrier>]]``, per its unit:
    DKK/kWh or DKK/m³); None: the carrier is priced by the contract's price."""
    steps = next((v for k, v in esco.carrier_prices.items() if k == carrier), None)
    return PriceBasis("periods", periods=tuple(steps)) if steps else None


class PriceStep(Protocol):
    """A price from a local day on: a contract's price period, a tariff period on top of the spot price."""

    @property
    def from_(self) -> dt.date: ...
    @property
    def dkk_per_kwh(self) -> float: ...


def step_prices(days: pd.DatetimeIndex, periods: Sequence[PriceStep]) -> np.ndarray:
    """The price in force on each local day (the latest period starting on or before it; NaN before the first)."""
    starts = np.array([np.datetime64(p.from_, "D") for p in periods])
    values = np.array([p.dkk_per_kwh for p in periods])
    d = pd.DatetimeIndex(days).tz_localize(None).normalize().to_numpy().astype("datetime64[D]")
    i = np.searchsorted(starts, d, side="right") - 1
    return np.where(i >= 0, values[np.maximum(i, 0)], np.nan)


def hourly_prices(hours: pd.DatetimeIndex, basis: PriceBasis) -> tuple[np.ndarray, np.ndarray]:
    """Price per hour start and whether the price source has that hour itself (a file's missing hour takes the
    last earlier price in the file; an hour before the file's first price stays NaN)."""
    n = len(hours)
    if basis.kind == "fixed":
        return np.full(n, basis.fixed_dkk_per_kwh), np.ones(n, bool)
    if basis.kind == "periods":
        p = step_prices(hours, basis.periods)
        return p, ~np.isnan(p)
    if basis.file is None:
        raise ValueError(f"price basis {basis.kind!r} has neither a price, periods nor a price file")
    s = basis.file.hourly
    utc = pd.DatetimeIndex(hours).tz_convert("UTC")
    own = s.reindex(utc).to_numpy()
    filled = s.ffill().reindex(utc, method="ffill").to_numpy()
    return filled, ~np.isnan(own)


def price_table(basis: PriceBasis, start: dt.date, end: dt.date, hourly_kwh: pd.Series | None = None) -> pd.DataFrame:
    """Per local day in ``[start, end)``: ``price_dkk_per_kwh``, ``hours`` (23/24/25) and ``hours_in_file``
    (hours with their own price; the others took the last earlier one).

    The day's price is the mean of its hourly prices weighted by ``hourly_kwh`` (the building's measured
    use per hour) when that is known, non-negative and not all zero for every priced hour of the day;
    otherwise the plain mean.  A day with no priced hour (before a price file starts) has NaN.
    """
    if basis.kind != "file":  # one price per local day: no need to go through the hours
        days = local_day_index(start, end)
        edges_ms = local_day_index(start, end + dt.timedelta(days=1)).tz_convert("UTC").as_unit("ms").asi8
        n_hours = np.diff(edges_ms) // 3_600_000
        price = (np.full(len(days), basis.fixed_dkk_per_kwh) if basis.kind == "fixed"
                 else step_prices(days, basis.periods))
        return pd.DataFrame({"price_dkk_per_kwh": price, "hours": n_hours,
                             "hours_in_file": np.where(np.isnan(price), 0, n_hours), "weighted": False}, index=days)
    hours = hour_index(start, end)
    price, own = hourly_prices(hours, basis)
    day = hours.normalize()
    kwh = hourly_kwh.reindex(hours).to_numpy(float) if hourly_kwh is not None else np.full(len(hours), np.nan)
    priced = ~np.isnan(price)
    df = pd.DataFrame({"day": day, "p": np.where(priced, price, 0.0), "priced": priced, "own": own,
                       "w": np.where(priced, kwh, 0.0), "w_bad": priced & (np.isnan(kwh) | (kwh < 0))})
    df["wp"] = df["w"] * df["p"]
    g = df.groupby("day", sort=True)
    agg = g.agg(hours=("p", "size"), priced=("priced", "sum"), own=("own", "sum"), p_sum=("p", "sum"),
                w_sum=("w", "sum"), wp_sum=("wp", "sum"), w_bad=("w_bad", "sum"))
    plain = agg["p_sum"] / agg["priced"].where(agg["priced"] > 0)
    weighted_ok = (agg["w_bad"] == 0) & (agg["w_sum"] > 0)
    weighted = agg["wp_sum"] / agg["w_sum"].where(weighted_ok)
    out = pd.DataFrame({"price_dkk_per_kwh": weighted.where(weighted_ok, plain), "hours": agg["hours"],
                        "hours_in_file": agg["own"], "weighted": weighted_ok & (agg["priced"] > 0)})
    out.index = pd.DatetimeIndex(out.index)
    return out


def row_prices(rows: pd.DataFrame, granularity: str, basis: PriceBasis, days: pd.DataFrame,
               day_kwh: pd.Series | None = None) -> pd.Series:
    """The price of each reporting row: its day's (day rows), its hour's (hour rows), or for month rows the
    days' prices weighted by the days' measured use (plain mean when a day's use is unknown)."""
    idx = pd.DatetimeIndex(rows.index)
    if granularity == "hour":
        return pd.Series(hourly_prices(idx, basis)[0], index=idx)
    if granularity == "day":
        return days["price_dkk_per_kwh"].reindex(idx)
    p = days["price_dkk_per_kwh"]
    w = day_kwh.reindex(p.index) if day_kwh is not None else pd.Series(np.nan, index=p.index)
    keys = month_keys(pd.DatetimeIndex(p.index))
    frame = pd.DataFrame({"p": p, "w": w, "wp": w * p})
    g = frame.groupby(keys, sort=False)
    ok = (g["w"].count() == g.size()) & (g["w"].min() >= 0) & (g["w"].sum() > 0) & (g["p"].count() == g.size())
    weighted = g["wp"].sum() / g["w"].sum().where(ok)
    plain = g["p"].mean().where(g["p"].count() == g.size())
    out = weighted.where(ok, plain)
    return pd.Series(out.to_numpy(), index=idx)


@dataclass(frozen=True)
class PriceGaps:
    """Days of a period whose price file had all / some / none of their hours."""

    days_partial: int  # some hours missing in the file (they took the last earlier price)
    days_missing: int  # no hour in the file (the whole day took the last earlier price)
    days_unpriced: int  # no price at all (before the file's first price): the period has no DKK


def price_gaps(days: pd.DataFrame | None, start: dt.date, end_inclusive: dt.date) -> PriceGaps:
    if days is None or days.empty:
        return PriceGaps(0, 0, 0)
    d = pd.DatetimeIndex(days.index).tz_localize(None)
    sel = days[(d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end_inclusive))]
    unpriced = sel["price_dkk_per_kwh"].isna()
    partial = (sel["hours_in_file"] > 0) & (sel["hours_in_file"] < sel["hours"]) & ~unpriced
    missing = (sel["hours_in_file"] == 0) & ~unpriced
    return PriceGaps(int(partial.sum()), int(missing.sum()), int(unpriced.sum()))


# -- spot + tariffs ------------------------------------------------------------------------------
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
