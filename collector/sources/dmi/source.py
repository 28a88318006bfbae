"""DMI Open Data, meteorological observations (metObs v2): the hourly mean outdoor temperature of each site.

Written from DMI's public documentation (opendatadocs.dmi.govcloud.dk: "Meteorological Observation
API", "Authentication", the station list, and the service's OpenAPI description):

* OGC API – Features, GeoJSON.  ``GET {base}/collections/observation/items?stationId=06170&
  parameterId=temp_mean_past1h&datetime=2024-01-01T00:00:00Z/2024-02-01T00:00:00Z&limit=N`` →
  ``{"type": "FeatureCollection", "features": [{"properties": {"observed": "…Z", "value": 4.3,
  "stationId": "06170", "parameterId": "temp_mean_past1h"}, …}], "numberReturned": n, "links":
  [{"rel": "next", "href": …}, …]}``; pages follow the ``next`` link (``limit``/``offset``) until there
  is none.
* ``GET {base}/collections/station/items?status=Active`` lists stations (``stationId``, ``name``,
  ``parameterId`` [what it measures], ``geometry.coordinates`` [lon, lat]); with ``stationId=…`` one
  station, or no feature for an unknown id.
* The API key of the metObs API goes in the header ``X-Gravitee-Api-Key``; fair use is about 500
  requests per 5 seconds, beyond which the gateway answers 429 (retried, honouring Retry-After).
* ``temp_mean_past1h`` observed at ``hh:00`` is the mean of the hour **before** it.  It is stored at
  the start of that hour (``hh-1:00``), so the store's hour ``[hh-1, hh)`` holds its own mean and daily
  means cover the right local day.

Not tested against the real service (no internet here).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from energimon.collector.sources.base import FetchContext, Fetched, Point, SeriesSpec, SourceError
from energimon.collector.sources.dmi.settings import DmiSettings
from energimon.collector.sources.http import HttpClient

log = logging.getLogger("energimon.sources.dmi")
NAME = "dmi"
HOUR_MS = 3_600_000
KEY_REFUSED = ("dmi: the API key was refused (401): get a key for the metObs API on DMI's Open Data portal "
               "(opendatadocs.dmi.govcloud.dk, 'Authentication') and put it in [sources.dmi] api_key_file")


class _Api(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Link(_Api):
    href: str
    rel: str


class Geometry(_Api):
    coordinates: list[float] = Field(min_length=2)


class ObservationProps(_Api):
    observed: dt.datetime
    value: float | None = None
    stationId: str | None = None
    parameterId: str | None = None


class Observation(_Api):
    properties: ObservationProps


class ObservationPage(_Api):
    features: list[Observation] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


class StationProps(_Api):
    stationId: str
    name: str | None = None
    status: str | None = None
    parameterId: list[str] | None = None


class Station(_Api):
    properties: StationProps
    geometry: Geometry | None = None


class StationPage(_Api):
    features: list[Station] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)


def next_link(links: list[Link]) -> str | None:
    return next((link.href for link in links if link.rel == "next"), None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371.0 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_ms(t: dt.datetime) -> int:
    return int((t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp() * 1000)


class DmiSource:
    name = NAME

    def __init__(self, cfg: DmiSettings, http: HttpClient, sites: dict, state=None):
        self.cfg = cfg
        self.http = http
        self.sites = sites  # site id -> Site (latitude, longitude) for the nearest station
        self.state = state  # remembers the station chosen for a site (SourceState.info)
        self._specs = {st.site: SeriesSpec(NAME, f"{st.site}/{cfg.parameter}", st.site, st.device, "outdoor_temp_c",
                                           "weather", "gauge") for st in cfg.stations}
        self._stations: list[Station] | None = None

    def series(self) -> list[SeriesSpec]:
        return list(self._specs.values())

    # -- stations ----------------------------------------------------------------------------
    def _pages(self, model, path: str, params: dict, what: str, ctx: FetchContext | None = None):
        url: str | None = path
        first = True
        while url is not None:
            page = self.http.request_model(model, "GET", url, params=params if first else None, what=what)
            first = False
            yield page
            url = next_link(page.links) if page.features else None
            if ctx is not None and ctx.stopped():
                return

    def all_stations(self) -> list[Station]:
        if self._stations is None:
            self._stations = [f for page in self._pages(StationPage, "collections/station/items",
                                                        {"status": "Active", "limit": self.cfg.page_limit},
                                                        "stations") for f in page.features]
        return self._stations

    def station_for(self, site: str, configured: str | None) -> str:
        """The configured station (checked against the station list) or the nearest active one measuring the
        parameter; the choice is remembered in the state file, so it does not move between runs."""
        spec = self._specs[site]
        if configured is not None:
            page = self.http.request_model(StationPage, "GET", "collections/station/items",
                                           params={"stationId": configured}, what=f"station {configured}")
            if not page.features:
                raise SourceError("unknown_series", f"dmi: station {configured} (site {site}) is not in DMI's station "
                                                    "list; check stations[].station_id", spec)
            return configured
        remembered = self.state.info(spec) if self.state is not None else None
        if remembered:
            return remembered.split(" ", 1)[0]
        where = self.sites.get(site)
        if where is None:
            raise SourceError("config", f"dmi: site {site} has no latitude/longitude to find a station by", spec)
        lat, lon = where.latitude, where.longitude
        cands = [(distance_km(lat, lon, s.geometry.coordinates[1], s.geometry.coordinates[0]), i, s)
                 for i, s in enumerate(self.all_stations()) if s.geometry is not None
                 and (s.properties.parameterId is None or self.cfg.parameter in s.properties.parameterId)]
        if not cands:
            raise SourceError("unknown_series", f"dmi: no active station measures {self.cfg.parameter}", spec)
        km, _, best = min(cands, key=lambda c: (c[0], c[1]))  # the nearest; the first listed of equally near ones
        info = f"{best.properties.stationId} {best.properties.name or ''} ({km:.1f} km)".replace("  ", " ")
        log.info("dmi: site %s takes %s from the nearest station %s", site, self.cfg.parameter, info)
        if self.state is not None:
            self.state.set_info(spec, info)
        return best.properties.stationId

    # -- observations ------------------------------------------------------------------------
    def fetch(self, ctx: FetchContext) -> Iterator[Fetched]:
        configured = {st.site: st.station_id for st in self.cfg.stations}
        for site, spec in self._specs.items():
            if spec.name not in ctx.windows:
                continue
            try:
                station = self.station_for(site, configured[site])
            except SourceError as exc:
                if exc.cause == "token":
                    raise SourceError("token", KEY_REFUSED) from None
                ctx.report(exc if exc.series else SourceError(exc.cause, str(exc), spec))
                continue
            start_ms, end_ms = ctx.windows[spec.name]
            start_ms -= start_ms % HOUR_MS
            step = self.cfg.days_per_request * 24 * HOUR_MS
            a = start_ms
            while a < end_ms:
                b = min(a + step, end_ms)
                try:
                    yield self._range(spec, station, a, b, ctx)
                except SourceError as exc:
                    if exc.cause == "token":
                        raise SourceError("token", KEY_REFUSED) from None
                    ctx.report(SourceError(exc.cause, str(exc), spec))
                    break
                if ctx.stopped():
                    return
                a = b

    def _range(self, spec: SeriesSpec, station: str, a: int, b: int, ctx: FetchContext) -> Fetched:
        # observed in (a, b] is the mean of the hour before: stored at [a, b)
        params = {"stationId": station, "parameterId": self.cfg.parameter,
                  "datetime": f"{_iso(a + HOUR_MS)}/{_iso(b)}", "limit": self.cfg.page_limit}
        points: list[Point] = []
        for page in self._pages(ObservationPage, "collections/observation/items", params,
                                f"observations {station} {_iso(a)}..{_iso(b)}", ctx):
            for f in page.features:
                p = f.properties
                if p.stationId not in (None, station) or p.parameterId not in (None, self.cfg.parameter):
                    raise SourceError("schema", f"dmi: asked for {station}/{self.cfg.parameter}, got "
                                                f"{p.stationId}/{p.parameterId}; has the API changed?", spec)
                if p.value is None:
                    continue
                end = _utc_ms(p.observed)
                if end % HOUR_MS:
                    continue  # an hourly mean belongs to a whole hour; DMI's are observed on the hour
                points.append(Point(end - HOUR_MS, end, float(p.value)))
        points.sort(key=lambda p: p.start_ms)
        return Fetched(spec, a, b, points)

    def close(self) -> None:
        self.http.close()
