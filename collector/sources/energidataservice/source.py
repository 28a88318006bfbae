"""Energi Data Service (Energinet, no key): day-ahead spot prices and CO₂ intensity of one price area.

Written from Energinet's public documentation (energidataservice.dk: the API guide and the dataset pages
"Elspotprices", "DayAheadPrices" and "CO2Emis"):

* ``GET {base}/dataset/{dataset}?start=…&end=…&filter={"PriceArea":["DK2"]}&sort=…&offset=…&limit=…``;
  ``start`` included, ``end`` excluded, both Danish local time (we always give whole local days, which
  are unambiguous); answer ``{"total": n, "limit": …, "dataset": …, "records": [ … ]}``, paged with
  ``offset`` until ``total`` records have come.
* ``Elspotprices``: hourly, ``HourUTC``, ``PriceArea``, ``SpotPriceDKK`` (DKK/MWh); **discontinued after
  2025-09-30** (the day-ahead market moved to 15-minute products).
* ``DayAheadPrices``: 15-minute, ``TimeUTC``, ``PriceArea``, ``DayAheadPriceDKK`` (DKK/MWh), **from
  2025-10-01**.  The price series switches dataset at 2025-10-01 00:00 Danish time.
* ``CO2Emis``: every 5 minutes, ``Minutes5UTC``, ``PriceArea``, ``CO2Emission`` (g/kWh, the CO₂ of the
  electricity consumed in the area).
* Times ending in ``UTC`` have no offset and are UTC.  A null price or emission is no value (missing
  is not zero).

Stored as gauges at each period's start: ``price_dkk_per_kwh`` (DKK/MWh ÷ 1000: the unit of the ESCO
price file) and ``co2_g_per_kwh``, under the site ``dk1``/``dk2`` (configurable), role ``market``.
Spot prices exclude tariffs, taxes and VAT: the ESCO price source "spot + tariffs" adds those per period.
Not tested against the real service (no internet here).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from energimon.collector.sources.base import FetchContext, Fetched, Point, SeriesSpec, SourceError
from energimon.collector.sources.energidataservice.settings import EnergiDataServiceSettings
from energimon.collector.sources.http import HttpClient
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.sources.energidataservice")
NAME = "energidataservice"
DAY_AHEAD_FROM = dt.date(2025, 10, 1)  # first day of DayAheadPrices (15 min); Elspotprices ends the day before


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")
    PriceArea: str


class ElspotRecord(_Record):
    HourUTC: dt.datetime
    SpotPriceDKK: float | None = None


class DayAheadRecord(_Record):
    TimeUTC: dt.datetime
    DayAheadPriceDKK: float | None = None


class Co2Record(_Record):
    Minutes5UTC: dt.datetime
    CO2Emission: float | None = None


R = TypeVar("R", bound=_Record)


class Page(BaseModel, Generic[R]):
    total: int = Field(ge=0)
    records: list[R]


ElspotPage = Page[ElspotRecord]
DayAheadPage = Page[DayAheadRecord]
Co2Page = Page[Co2Record]


@dataclass(frozen=True)
class Dataset:
    name: str
    page: type[Page[Any]]
    time_field: str
    value_field: str
    step_ms: int
    scale: float  # to the stored unit


ELSPOT = Dataset("Elspotprices", ElspotPage, "HourUTC", "SpotPriceDKK", 3_600_000, 1 / 1000)
DAY_AHEAD = Dataset("DayAheadPrices", DayAheadPage, "TimeUTC", "DayAheadPriceDKK", 900_000, 1 / 1000)
CO2 = Dataset("CO2Emis", Co2Page, "Minutes5UTC", "CO2Emission", 300_000, 1.0)


def local_midnight_ms(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ).timestamp() * 1000)


def local_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).date()


def _utc_ms(t: dt.datetime) -> int:
    return int((t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp() * 1000)


class EnergiDataServiceSource:
    name = NAME

    def __init__(self, cfg: EnergiDataServiceSettings, http: HttpClient):
        self.cfg = cfg
        self.http = http
        area, site = cfg.price_area, cfg.series_site
        self.price_spec = SeriesSpec(NAME, f"{area}/price", site, cfg.device, "price_dkk_per_kwh", "market", "gauge")
        self.co2_spec = SeriesSpec(NAME, f"{area}/co2", site, cfg.device, "co2_g_per_kwh", "market", "gauge")

    def series(self) -> list[SeriesSpec]:
        return ([self.price_spec] if self.cfg.prices else []) + ([self.co2_spec] if self.cfg.co2 else [])

    def fetch(self, ctx: FetchContext) -> Iterator[Fetched]:
        for spec in self.series():
            if spec.name not in ctx.windows:
                continue
            start_ms, end_ms = ctx.windows[spec.name]
            d0, d1 = local_date(start_ms), local_date(end_ms - 1) + dt.timedelta(days=1)
            for a, b, dataset in self._plan(spec, d0, d1):
                try:
                    yield from self._fetch_range(spec, dataset, a, b, ctx)
                except SourceError as exc:
                    ctx.report(SourceError(exc.cause, str(exc), spec))
                    break  # later days of this series wait for the next run
                if ctx.stopped():
                    return

    def _plan(self, spec: SeriesSpec, d0: dt.date, d1: dt.date) -> Iterator[tuple[dt.date, dt.date, Dataset]]:
        """Windows of at most ``days_per_request`` days, each within one dataset."""
        if spec is self.co2_spec:
            parts = [(d0, d1, CO2)]
        else:
            parts = [(d0, min(d1, DAY_AHEAD_FROM), ELSPOT), (max(d0, DAY_AHEAD_FROM), d1, DAY_AHEAD)]
        for a, b, ds in parts:
            while a < b:
                nxt = min(a + dt.timedelta(days=self.cfg.days_per_request), b)
                yield a, nxt, ds
                a = nxt

    def _fetch_range(self, spec: SeriesSpec, ds: Dataset, a: dt.date, b: dt.date,
                     ctx: FetchContext) -> Iterator[Fetched]:
        points: list[Point] = []
        offset = 0
        area = self.cfg.price_area
        while True:
            params = {"start": a.isoformat(), "end": b.isoformat(), "filter": json.dumps({"PriceArea": [area]}),
                      "sort": f"{ds.time_field} asc", "offset": offset, "limit": self.cfg.page_size}
            page = self.http.request_model(ds.page, "GET", f"dataset/{ds.name}", params=params,
                                           what=f"{ds.name} {a}..{b} offset {offset}")
            for rec in page.records:
                if rec.PriceArea != area:
                    raise SourceError("schema", f"energidataservice: {ds.name} answered price area {rec.PriceArea!r} "
                                                f"for a filter on {area!r}; has the API changed?", spec)
                value = getattr(rec, ds.value_field)
                if value is None:
                    continue  # no value published for that period: missing, not zero
                t = _utc_ms(getattr(rec, ds.time_field))
                points.append(Point(t, t + ds.step_ms, value * ds.scale))
            offset += len(page.records)
            if not page.records or offset >= page.total:
                break
            if ctx.stopped():
                return
        w0, w1 = local_midnight_ms(a), local_midnight_ms(b)
        outside = [p for p in points if not w0 <= p.start_ms < w1]
        if outside:
            raise SourceError("schema", f"energidataservice: {ds.name} returned a record at "
                                        f"{dt.datetime.fromtimestamp(outside[0].start_ms / 1000, tz=dt.UTC)} outside "
                                        f"the requested {a}..{b}; has the API changed?", spec)
        yield Fetched(spec, w0, w1, points)

    def close(self) -> None:
        self.http.close()
