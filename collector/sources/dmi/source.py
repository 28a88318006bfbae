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

climateData v2 (optional, ``climate_data = true``), written from DMI's "Climate Data API" page
(opendatadocs.dmi.govcloud.dk/APIs/Climate_Data_API: the example response), "Climate Data" (what is quality
controlled, when), the stationValue parameter list (``mean_temp``: QC'd by DMI's climatologists, daily,
"type of day: local day" for Denmark) and the data description of stationValue (confluence.govcloud.dk, FDAPI):

* ``GET {climate_base}/collections/stationValue/items?stationId=06180&parameterId=mean_temp&
  timeResolution=day&datetime=…/…&limit=N`` → a GeoJSON FeatureCollection as above, each feature's
  ``properties``: ``from``/``to`` (RFC 3339, UTC offset ``+00:00``; for a daily value the Danish day's
  local midnights, so 23 or 25 hours apart on DST days), ``value``, ``stationId``, ``parameterId``,
  ``timeResolution``, ``qcStatus`` (``none`` until DMI's manual QC, then ``manual``), ``validity``
  (false: DMI does not vouch for the value), ``created`` (of duplicates, the newest is the current one);
  paging by ``limit``/``offset`` and the ``next`` link as in metObs.  Each API has its own key.
* A day's mean is stored at the day's local midnight in its own channel ``outdoor_temp_day_mean_c``,
  never in the hourly ``outdoor_temp_c`` (a day is not an hour).  Values not yet QC'd (``qcStatus``
  ``none``) are stored as they are, with quality code ``none`` (a QC'd value has no code, like DataHub's
  "measured"): they are readings of kind ``RevisableReading``, so the re-fetch of the last ``revision_days``
  replaces one that DMI's QC changed (logged as a revision, ``quality none -> None``).  ``validity: false``
  values are skipped (the day falls back to the hourly means).

Not tested against the real service (no internet here).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field

from energimon.calendar import local_midnight
from energimon.collector.sources.base import FetchContext, Fetched, Point, SeriesSpec, SourceError
from energimon.collector.sources.dmi.settings import DmiSettings
from energimon.collector.sources.http import HttpClient
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.sources.dmi")
NAME = "dmi"
HOUR_MS = 3_600_000
KEY_REFUSED = ("dmi: the API key was refused (401): get a key for the metObs API on DMI's Open Data portal "
               "(opendatadocs.dmi.govcloud.dk, 'Authentication') and put it in [sources.dmi] api_key_file")
CLIMATE_KEY_REFUSED = ("dmi: the climateData API key was refused (401): DMI gives one key per API; subscribe to "
                       "climateData on DMI's Open Data portal and put its key in [sources.dmi] climate_api_key_file")
DAY_MEAN_CHANNEL = "outdoor_temp_day_mean_c"  # energimon.model; analytics.degree_days prefers it to hourly means


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


class ClimateValueProps(_Api):
    start: dt.datetime = Field(alias="from")
    to: dt.datetime
    value: float | None = None
    stationId: str | None = None
    parameterId: str | None = None
    timeResolution: str | None = None
    qcStatus: str | None = None
    validity: bool | None = None
    created: dt.datetime | None = None


class ClimateValue(_Api):
    properties: ClimateValueProps


class ClimateValuePage(_Api):
    features: list[ClimateValue] = Field(default_factory=list)
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


def _local_day(t_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(t_ms / 1000, tz=LOCAL_TZ).date()


def _midnight_ms(day: dt.date) -> int:
    return int(local_midnight(day).timestamp() * 1000)


class DmiSource:
    name = NAME

    def __init__(self, cfg: DmiSettings, http: HttpClient, sites: dict, state=None,
                 climate_http: HttpClient | None = None):
        if cfg.climate_data and climate_http is None:
            raise ValueError("dmi: climate_data = true needs a client for the climateData API")
        self.cfg = cfg
        self.http = http
        self.climate_http = climate_http if cfg.climate_data else None
        self.sites = sites  # site id -> Site (latitude, longitude) for the nearest station
        self.state = state  # remembers the station chosen for a site (SourceState.info)
        self._specs = {st.site: SeriesSpec(NAME, f"{st.site}/{cfg.parameter}", st.site, st.device, "outdoor_temp_c",
                                           "weather", "gauge") for st in cfg.stations}
        # the daily means: a series of their own (a day is not an hour), beside the hourly one
        self._day_specs = {st.site: SeriesSpec(NAME, f"{st.site}/climate/{cfg.climate_parameter}", st.site, st.device,
                                               DAY_MEAN_CHANNEL, "weather", "gauge")
                           for st in cfg.stations} if cfg.climate_data else {}
        self._stations: list[Station] | None = None

    def series(self) -> list[SeriesSpec]:
        return [*self._specs.values(), *self._day_specs.values()]

    # -- stations ----------------------------------------------------------------------------
    def _pages(self, model, path: str, params: dict, what: str):
        url: str | None = path
        first = True
        while url is not None:
            page = self.http.request_model(model, "GET", url, params=params if first else None, what=what)
            first = False
            yield page
            url = next_link(page.links) if page.features else None

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
        climate_refused = False
        for site, spec in self._specs.items():
            day_spec = self._day_specs.get(site)
            wanted = [s for s in (spec, day_spec) if s is not None and s.name in ctx.windows]
            if not wanted:
                continue
            try:
                station = self.station_for(site, configured[site])
            except SourceError as exc:
                if exc.cause == "token":
                    raise SourceError("token", KEY_REFUSED) from None
                ctx.report(exc if exc.series else SourceError(exc.cause, str(exc), spec))
                continue
            if spec in wanted:
                yield from self._hourly(spec, station, ctx)
                if ctx.stopped():
                    return
            if day_spec is not None and day_spec in wanted and not climate_refused:
                try:
                    yield from self._daily(day_spec, station, ctx)
                except SourceError as exc:  # a refused climateData key stops the daily means, not the hourly ones
                    climate_refused = True
                    ctx.report(SourceError("token", f"{CLIMATE_KEY_REFUSED} ({exc})", day_spec))
                if ctx.stopped():
                    return

    def _hourly(self, spec: SeriesSpec, station: str, ctx: FetchContext) -> Iterator[Fetched]:
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

    # -- climateData: daily means of the Danish day -------------------------------------------
    def _daily(self, spec: SeriesSpec, station: str, ctx: FetchContext) -> Iterator[Fetched]:
        """Whole local days from the one the window starts in, ``climate_days_per_request`` days a request.
        Raises only for a refused key (cause ``token``); other failures are reported for the series."""
        start_ms, end_ms = ctx.windows[spec.name]
        day = _local_day(start_ms)
        a = _midnight_ms(day)
        while a < end_ms:
            day += dt.timedelta(days=self.cfg.climate_days_per_request)
            b = min(_midnight_ms(day), end_ms)
            try:
                yield self._days(spec, station, a, b, ctx)
            except SourceError as exc:
                if exc.cause == "token":
                    raise
                ctx.report(SourceError(exc.cause, str(exc), spec))
                return
            if ctx.stopped():
                return
            a = b

    def _days(self, spec: SeriesSpec, station: str, a: int, b: int, ctx: FetchContext) -> Fetched:
        assert self.climate_http is not None  # only called with climate_data = true (checked in __init__)
        param = self.cfg.climate_parameter
        params = {"stationId": station, "parameterId": param, "timeResolution": "day",
                  "datetime": f"{_iso(a)}/{_iso(b)}", "limit": self.cfg.page_limit}
        found: dict[int, tuple[dt.datetime | None, Point]] = {}
        url: str | None = "collections/stationValue/items"
        first = True
        while url is not None:
            page = self.climate_http.request_model(ClimateValuePage, "GET", url, params=params if first else None,
                                                   what=f"daily {param} {station} {_iso(a)}..{_iso(b)}")
            first = False
            for f in page.features:
                p = f.properties
                if p.stationId not in (None, station) or p.parameterId not in (None, param) \
                        or p.timeResolution not in (None, "day"):
                    raise SourceError("schema", f"dmi: asked climateData for {station}/{param}/day, got "
                                                f"{p.stationId}/{p.parameterId}/{p.timeResolution}; has the API "
                                                "changed?", spec)
                if p.value is None or p.validity is False:
                    continue  # DMI does not vouch for it: the day stays with the hourly means
                start, end = _utc_ms(p.start), _utc_ms(p.to)
                day = _local_day(start)
                if start != _midnight_ms(day) or end != _midnight_ms(day + dt.timedelta(days=1)):
                    raise SourceError("schema", f"dmi: a daily {param} of {station} spans {_iso(start)}..{_iso(end)}, "
                                                "not a Danish day (local midnight to local midnight); has the API "
                                                "changed?", spec)
                if not a <= start < b:
                    continue  # a neighbouring day the interval touched: its own window fetches it
                seen = found.get(start)
                # of duplicates the one created last is DMI's current value (stationValue data description)
                if seen is None or (p.created is not None and (seen[0] is None or p.created >= seen[0])):
                    # DMI's QC'd value is the normal case (no code, like DataHub's "measured"); any other status is
                    # kept as the value's quality, so `sources status` counts the days still awaiting QC
                    quality = None if p.qcStatus in (None, "manual") else p.qcStatus
                    found[start] = (p.created, Point(start, end, float(p.value), quality))
            url = next_link(page.links) if page.features else None
            if ctx.stopped():  # pages left unread: the watermark must not pass them
                break
        points = sorted((pt for _, pt in found.values()), key=lambda pt: pt.start_ms)
        return Fetched(spec, a, b, points, complete=url is None)

    def _range(self, spec: SeriesSpec, station: str, a: int, b: int, ctx: FetchContext) -> Fetched:
        # observed in (a, b] is the mean of the hour before: stored at [a, b)
        params = {"stationId": station, "parameterId": self.cfg.parameter,
                  "datetime": f"{_iso(a + HOUR_MS)}/{_iso(b)}", "limit": self.cfg.page_limit}
        points: list[Point] = []
        url: str | None = "collections/observation/items"
        first = True
        while url is not None:
            page = self.http.request_model(ObservationPage, "GET", url, params=params if first else None,
                                           what=f"observations {station} {_iso(a)}..{_iso(b)}")
            first = False
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
            url = next_link(page.links) if page.features else None
            if ctx.stopped():  # pages left unread: the watermark must not pass them
                break
        points.sort(key=lambda p: p.start_ms)
        return Fetched(spec, a, b, points, complete=url is None)

    def close(self) -> None:
        self.http.close()
        if self.climate_http is not None:
            self.climate_http.close()
