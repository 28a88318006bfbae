"""Local HTTP servers answering like the live data sources' public APIs (loopback only, port chosen by the OS).

Each fake follows the documentation the client was written from; the source is noted on each class.
They serve deterministic data (a function of time), can revise values, and inject the documented
failures: 401, 429 with Retry-After, 503, a truncated body, unknown ids.  Used by tests/test_sources_*.py
and bench/sources_backfill.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

CPH = ZoneInfo("Europe/Copenhagen")
UTC = dt.UTC


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    truncate_at: int | None = None  # send the full Content-Length but only this many bytes, then close


def json_reply(obj, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(obj, separators=(",", ":")).encode(), {"Content-Type": "application/json",
                                                                           **(headers or {})})


@dataclass
class Request:
    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0


class FakeServer:
    """A ThreadingHTTPServer on 127.0.0.1 whose replies come from ``app(request) -> Reply``.

    ``faults`` is a queue of replies served *instead of* the app's for the next requests whose path
    contains the given text (scripted 429/503/truncation).
    """

    def __init__(self, app: Callable[[Request], Reply]):
        self.app = app
        self.requests: list[Request] = []
        self.faults: list[tuple[str, Reply]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(time.monotonic(), self.command, parts.path,
                              {k: v[-1] for k, v in parse_qs(parts.query).items()}, dict(self.headers.items()), body)
                with outer._lock:
                    outer.requests.append(req)
                    fault = next((f for f in outer.faults if f[0] in parts.path), None)
                    if fault is not None:
                        outer.faults.remove(fault)
                reply = fault[1] if fault is not None else outer.app(req)
                req.status = reply.status
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply.body)))
                if reply.truncate_at is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if reply.truncate_at is not None:
                    self.wfile.write(reply.body[:reply.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(reply.body)

            do_GET = _serve
            do_POST = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fake-api", daemon=True)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def inject(self, path_part: str, reply: Reply) -> None:
        with self._lock:
            self.faults.append((path_part, reply))

    def count(self, path_part: str) -> int:
        with self._lock:
            return sum(path_part in r.path for r in self.requests)


class RawJson(str):
    """Text that is already JSON: :func:`dumps_raw` puts it in as it is."""


def dumps_raw(obj) -> str:
    """``json.dumps`` (compact) that copies :class:`RawJson` values verbatim."""
    if isinstance(obj, RawJson):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps_raw(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(dumps_raw(v) for v in obj) + "]"
    return json.dumps(obj)


def local_midnight(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=CPH)


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def iso_z(t_ms: int) -> str:
    return dt.datetime.fromtimestamp(t_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- Eloverblik ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=100_000)
def local_hour(hour_start_ms: int) -> int:
    """The Danish local hour of day of a UTC hour start (cached: the fakes ask for it millions of times)."""
    return dt.datetime.fromtimestamp(hour_start_ms / 1000, tz=CPH).hour


def hourly_kwh(gsrn_index: int, start_ms: int) -> int:
    """Synthetic consumption in Wh for the hour starting at ``start_ms``: a daily profile, scaled per metering
    point, always a whole Wh (DataHub quantities have at most three decimals of kWh)."""
    hour = local_hour(start_ms - start_ms % 3_600_000)
    return 4000 + 250 * (gsrn_index % 7) + int(1500 * math.sin(math.pi * hour / 24) ** 2)


class FakeEloverblik:
    """Eloverblik third-party API, as documented in "Customer and Third party API for Datahub Eloverblik —
    Technical description" and the third-party swagger (api.eloverblik.dk/thirdpartyapi): token endpoint,
    authorisations, metering points, ``meterdata/gettimeseries/{from}/{to}/{aggregation}`` answering
    ``MyEnergyData_MarketDocument`` per metering point with one Period per Danish day (PT1H before the
    15-minute switch, PT15M after), quality codes A04/A03/A02, per-point error codes 20000 (unknown) and
    30006 (access denied), 10004 for more than 10 metering points, 30003 for a dateTo after today."""

    PREFIX = "/thirdpartyapi/api"

    def __init__(self, gsrns: list[str], *, refresh_token: str = "refresh-secret-token",
                 token_lifetime_s: float = 86400,
                 quarter_from: dt.date = dt.date(2025, 10, 1), data_until: dt.date | None = None,
                 denied: set[str] = frozenset(), cache: bool = False, expire_after_requests: int | None = None):
        self.gsrns = {g: i for i, g in enumerate(gsrns)}
        self.refresh_token = refresh_token
        self.token_lifetime_s = token_lifetime_s
        self.quarter_from = quarter_from
        self.data_until = data_until  # last day with data (default: yesterday)
        self.denied = set(denied)
        self.overrides: dict[tuple[str, int], tuple[int | None, str]] = {}  # (gsrn, start) -> (Wh or None, quality)
        self.tokens: dict[str, float] = {}
        self.cache: dict[tuple, bytes] | None = {} if cache else None
        self.expire_after_requests = expire_after_requests  # tokens expire after this many time-series requests
        self.series_requests = 0
        self.server = FakeServer(self.app)

    # -- controls --
    def revise(self, gsrn: str, start: dt.datetime, wh: int, quality: str = "A04") -> None:
        self.overrides[(gsrn, ms(start))] = (wh, quality)

    def not_available(self, gsrn: str, start: dt.datetime) -> None:
        self.overrides[(gsrn, ms(start))] = (None, "A02")

    def expire_tokens(self) -> None:
        self.tokens = {t: 0.0 for t in self.tokens}

    def value(self, gsrn: str, start_ms: int, step_ms: int) -> tuple[int | None, str]:
        o = self.overrides.get((gsrn, start_ms))
        if o is not None:
            return o
        wh = hourly_kwh(self.gsrns[gsrn], start_ms)
        if step_ms == 900_000:
            wh = wh // 4 + (start_ms // 900_000) % 4  # quarters: a quarter of the hour, not all the same
        quality = "A03" if local_hour(start_ms - start_ms % 3_600_000) == 3 else "A04"
        return wh, quality

    # -- the API --
    def _jwt(self) -> str:
        exp = time.time() + self.token_lifetime_s
        payload = base64.urlsafe_b64encode(json.dumps({"exp": exp, "sub": "tredjepart"}).encode()).decode().rstrip("=")
        token = f"eyJhbGciOiJub25lIn0.{payload}.sig{len(self.tokens)}"
        self.tokens[token] = exp
        return token

    def _auth(self, req: Request) -> bool:
        token = req.headers.get("Authorization", "").removeprefix("Bearer ")
        return self.tokens.get(token, 0.0) > time.time()

    def app(self, req: Request) -> Reply:
        path = req.path.removeprefix(self.PREFIX)
        if path == "/token":
            if req.headers.get("Authorization") != f"Bearer {self.refresh_token}":
                return json_reply({"message": "Unauthorized"}, 401)
            return json_reply({"result": self._jwt()})
        if not self._auth(req):
            return json_reply({"message": "Token expired"}, 401)
        if path == "/authorization/authorizations":
            return json_reply({"result": [{"id": "0b1c2d3e-aaaa-bbbb-cccc-000000000001",
                                           "thirdPartyName": "Sorø Kommune",
                                           "customerName": "Sorø Kommune Ejendomme", "customerCVR": "29188831",
                                           "customerKey": None, "validFrom": "2024-01-01T00:00:00",
                                           "validTo": "2027-01-01T00:00:00", "includeFutureMeteringPoints": True,
                                           "timeStamp": "2024-01-01T10:00:00"}]})
        if path.startswith("/authorization/authorization/meteringpoints/authorizationId/"):
            return json_reply({"result": [{"meteringPointId": g, "typeOfMP": "E17", "streetName": "Rådhusvej",
                                           "buildingNumber": str(8 + i), "postcode": "4180", "cityName": "Sorø"}
                                          for g, i in self.gsrns.items()]})
        if path.startswith("/meterdata/gettimeseries/"):
            self.series_requests += 1
            if self.series_requests == self.expire_after_requests:
                self.expire_tokens()  # the token runs out between this request and the next
            return self._timeseries(path, req)
        return json_reply({"message": f"no route {path}"}, 404)

    def _timeseries(self, path: str, req: Request) -> Reply:
        d_from, d_to, aggregation = path.split("/")[3:6]
        ids = json.loads(req.body)["meteringPoints"]["meteringPoint"]
        if len(ids) > 10:
            return json_reply({"result": [{"success": False, "errorCode": 10004, "errorText":
                                           "MaximumNumberOfMeteringPointsExceeded", "id": None}]}, 429)
        a, b = dt.date.fromisoformat(d_from), dt.date.fromisoformat(d_to)
        today = dt.datetime.now(tz=CPH).date()
        if b > today or (b - a).days > 730 or b <= a:
            code = 30003 if b > today else 30014 if (b - a).days > 730 else 30001
            return json_reply({"result": [{"success": False, "errorCode": code, "errorText": "period not allowed",
                                           "id": None}]}, 400)
        key = (d_from, d_to, aggregation, tuple(ids))
        if self.cache is not None and key in self.cache:
            return Reply(200, self.cache[key], {"Content-Type": "application/json"})
        last = self.data_until or today - dt.timedelta(days=1)
        result = []
        for g in ids:
            if g not in self.gsrns:
                result.append({"MyEnergyData_MarketDocument": None, "success": False, "errorCode": 20000,
                               "errorText": "WrongMeteringPointIdOrWebAccessCode", "id": g, "stackTrace": None})
                continue
            if g in self.denied:
                result.append({"MyEnergyData_MarketDocument": None, "success": False, "errorCode": 30006,
                               "errorText": "AccessToMeteringPointDenied", "id": g, "stackTrace": None})
                continue
            periods = []
            d = a
            while d < b and d <= last:
                t0, t1 = ms(local_midnight(d)), ms(local_midnight(d + dt.timedelta(days=1)))
                quarter = aggregation in ("Actual", "Quarter") and d >= self.quarter_from
                step = 900_000 if quarter else 3_600_000
                points = []
                for pos, t in enumerate(range(t0, t1, step), start=1):
                    wh, quality = self.value(g, t, step)
                    quantity = "0" if wh is None else f"{wh // 1000}.{wh % 1000:03d}"  # kWh, 3 decimals
                    points.append(f'{{"position":"{pos}","out_Quantity.quantity":"{quantity}",'
                                  f'"out_Quantity.quality":"{quality}"}}')
                # the points are pre-rendered JSON (a backfill benchmark asks for millions of them)
                resolution = "PT15M" if quarter else "PT1H"
                periods.append(RawJson(f'{{"resolution":"{resolution}","timeInterval":{{"start":"{iso_z(t0)}",'
                                       f'"end":"{iso_z(t1)}"}},"Point":[{",".join(points)}]}}'))
                d += dt.timedelta(days=1)
            doc = {"mRID": "doc-1", "createdDateTime": iso_z(int(time.time() * 1000)),
                   "sender_MarketParticipant.name": "DataHub",
                   "sender_MarketParticipant.mRID": {"codingScheme": "A10", "name": "5790001330583"},
                   "period.timeInterval": {"start": iso_z(ms(local_midnight(a))), "end": iso_z(ms(local_midnight(b)))},
                   "TimeSeries": [{"mRID": g, "businessType": "A04", "curveType": "A01",
                                   "measurement_Unit.name": "KWH",
                                   "MarketEvaluationPoint": {"mRID": {"codingScheme": "A10", "name": g}},
                                   "Period": periods}]}
            result.append({"MyEnergyData_MarketDocument": doc, "success": True, "errorCode": 10000,
                           "errorText": "NoError", "id": g, "stackTrace": None})
        body = dumps_raw({"result": result}).encode()
        if self.cache is not None:
            self.cache[key] = body
        return Reply(200, body, {"Content-Type": "application/json"})


# -- Energi Data Service -------------------------------------------------------------------------
def spot_dkk_per_mwh(start_ms: int) -> float:
    hour = dt.datetime.fromtimestamp(start_ms / 1000, tz=CPH).hour
    return round(600 + 400 * math.sin(math.pi * (hour - 6) / 12) - (1500 if hour == 13 else 0), 2)  # 13:00 negative


def co2_g_per_kwh(start_ms: int) -> float:
    minute = (start_ms // 60000) % 1440
    return round(120 + 60 * math.cos(2 * math.pi * minute / 1440), 1)


class FakeEnergiDataService:
    """Energi Data Service (api.energidataservice.dk), as documented on energidataservice.dk (API guide;
    datasets Elspotprices [HourUTC, SpotPriceDKK, ends 2025-09-30], DayAheadPrices [TimeUTC,
    DayAheadPriceDKK, 15 min from 2025-10-01] and CO2Emis [Minutes5UTC, CO2Emission g/kWh]):
    ``GET /dataset/{name}?start&end&filter&sort&offset&limit`` → ``{"total", "limit", "dataset", "records"}``;
    start/end are Danish local time, end excluded."""

    SWITCH = dt.date(2025, 10, 1)

    def __init__(self, area: str = "DK2", until: dt.datetime | None = None):
        self.area = area
        self.until = until
        self.price_overrides: dict[int, float] = {}
        self.server = FakeServer(self.app)

    def app(self, req: Request) -> Reply:
        name = req.path.removeprefix("/dataset/")
        q = req.query
        start = dt.datetime.fromisoformat(q["start"]).replace(tzinfo=CPH)
        end = dt.datetime.fromisoformat(q["end"]).replace(tzinfo=CPH)
        areas = json.loads(q.get("filter", "{}")).get("PriceArea", [self.area])
        until = self.until or dt.datetime.now(tz=UTC)
        switch = ms(local_midnight(self.SWITCH))
        if name == "Elspotprices":
            step, lo, hi = 3_600_000, ms(start), min(ms(end), switch)
        elif name == "DayAheadPrices":
            step, lo, hi = 900_000, max(ms(start), switch), ms(end)
        elif name == "CO2Emis":
            step, lo, hi = 300_000, ms(start), ms(end)
        else:
            return json_reply({"error": "Dataset not found"}, 404)
        hi = min(hi, ms(until))
        records = []
        for area in areas:
            for t in range(lo, hi, step):
                utc = dt.datetime.fromtimestamp(t / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
                local = dt.datetime.fromtimestamp(t / 1000, tz=CPH).strftime("%Y-%m-%dT%H:%M:%S")
                if name == "Elspotprices":
                    p = self.price_overrides.get(t, spot_dkk_per_mwh(t))
                    records.append({"HourUTC": utc, "HourDK": local, "PriceArea": area, "SpotPriceDKK": p,
                                    "SpotPriceEUR": round(p / 7.46, 2)})
                elif name == "DayAheadPrices":
                    p = self.price_overrides.get(t, spot_dkk_per_mwh(t))
                    records.append({"TimeUTC": utc, "TimeDK": local, "PriceArea": area, "DayAheadPriceDKK": p,
                                    "DayAheadPriceEUR": round(p / 7.46, 2)})
                else:
                    records.append({"Minutes5UTC": utc, "Minutes5DK": local, "PriceArea": area,
                                    "CO2Emission": co2_g_per_kwh(t)})
        offset, limit = int(q.get("offset", 0)), int(q.get("limit", 100))
        page = records[offset:offset + limit] if limit else records[offset:]
        return json_reply({"total": len(records), "filters": q.get("filter"), "sort": q.get("sort"),
                           "limit": limit, "dataset": name, "records": page})


# -- DMI metObs v2 ---------------------------------------------------------------------------------
def temp_c(end_ms: int) -> float:
    """Synthetic hourly mean: seasonal (cold in January) and daily swing, one decimal."""
    t = dt.datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    season = -math.cos(2 * math.pi * (t.timetuple().tm_yday - 15) / 365.25)
    return round(8 + 9 * season + 3 * math.sin(2 * math.pi * (t.hour - 9) / 24), 1)


STATIONS = [  # id, name, lon, lat (DMI station list, opendatadocs.dmi.govcloud.dk)
    ("06170", "Roskilde Lufthavn", 12.1311, 55.5867),
    ("06180", "Københavns Lufthavn", 12.6522, 55.6152),
    ("06135", "Flakkebjerg", 11.3906, 55.3231),
    ("06156", "Holbæk", 11.6028, 55.7358),
]


def day_mean_c(day: dt.date) -> float:
    """Synthetic daily mean of a Danish day: the mean of the fake's hourly means over the day's 23-25 hours."""
    a, b = ms(local_midnight(day)), ms(local_midnight(day + dt.timedelta(days=1)))
    hours = range(a + 3_600_000, b + 1, 3_600_000)  # observed at the end of each hour of the day
    return round(sum(temp_c(t) for t in hours) / len(hours), 1)


class FakeDmi:
    """DMI Open Data metObs v2 (opendatadocs.dmi.govcloud.dk, "Meteorological Observation API"): OGC API
    Features GeoJSON, ``collections/station/items`` and ``collections/observation/items`` with
    ``stationId``, ``parameterId``, ``datetime`` (RFC 3339 interval, both ends included), ``limit`` and
    ``offset``; ``links`` with ``rel: next`` while more features follow; the API key in the header
    ``X-Gravitee-Api-Key`` (401 without it).

    Also climateData v2 (opendatadocs.dmi.govcloud.dk, "Climate Data API", its example stationValue response;
    confluence.govcloud.dk FDAPI, the stationValue data description and parameter list): under
    ``/v2/climateData``, ``collections/stationValue/items`` with ``stationId``, ``parameterId``,
    ``timeResolution=day``, ``datetime``, ``limit``, ``offset``; each feature's ``properties`` has ``from``/``to``
    (UTC, ``+00:00``) at the Danish day's local midnights, ``value``, ``qcStatus`` (``none`` for the last
    ``qc_lag_days`` days, then ``manual``), ``validity``, ``timeResolution``, ``calculatedAt``, ``created``;
    a day is served once it is over (before ``until``).  The datetime filter returns every day the interval
    touches (so also the day ending at its start).  climateData has its own key (one key per API).
    """

    PREFIX = "/v2/metObs"
    CLIMATE_PREFIX = "/v2/climateData"

    def __init__(self, api_key: str = "dmi-secret-key", stations=STATIONS, until: dt.datetime | None = None,
                 climate_api_key: str = "dmi-climate-key", qc_lag_days: int = 2):
        self.api_key = api_key
        self.climate_api_key = climate_api_key
        self.stations = stations
        self.until = until
        self.qc_lag_days = qc_lag_days
        # (station, day) -> (value, qcStatus, validity): set by a test; else day_mean_c and the QC lag
        self.day_values: dict[tuple[str, dt.date], tuple[float, str, bool]] = {}
        self.duplicates: dict[tuple[str, dt.date], float] = {}  # an older, superseded value served as well
        self.server = FakeServer(self.app)

    def app(self, req: Request) -> Reply:
        if req.path.startswith(self.CLIMATE_PREFIX):
            if req.headers.get("X-Gravitee-Api-Key") != self.climate_api_key:
                return json_reply({"message": "Unauthorized", "http_status_code": 401}, 401)
            return self._climate(req)
        if req.headers.get("X-Gravitee-Api-Key") != self.api_key:
            return json_reply({"message": "Unauthorized", "http_status_code": 401}, 401)
        path = req.path.removeprefix(self.PREFIX)
        q = req.query
        limit, offset = int(q.get("limit", 1000)), int(q.get("offset", 0))
        if path == "/collections/station/items":
            feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                      "properties": {"stationId": sid, "name": name, "status": "Active", "type": "Synop",
                                     "country": "DNK", "parameterId": ["temp_mean_past1h", "temp_dry"]}}
                     for sid, name, lon, lat in self.stations if q.get("stationId") in (None, sid)]
        elif path == "/collections/observation/items":
            sid = q["stationId"]
            if sid not in {s[0] for s in self.stations}:
                feats = []
            else:
                a, b = q["datetime"].split("/")
                lo = ms(dt.datetime.fromisoformat(a.replace("Z", "+00:00")))
                hi = ms(dt.datetime.fromisoformat(b.replace("Z", "+00:00")))
                hi = min(hi, ms(self.until or dt.datetime.now(tz=UTC)))
                first = lo + (-lo % 3_600_000)
                feats = [{"type": "Feature", "id": f"{sid}-{t}",
                          "geometry": {"type": "Point", "coordinates": [12.13, 55.59]},
                          "properties": {"created": iso_z(t + 600_000), "observed": iso_z(t),
                                         "parameterId": q["parameterId"], "stationId": sid, "value": temp_c(t)}}
                         for t in range(hi - hi % 3_600_000, first - 1, -3_600_000)]  # newest first, as DMI sorts
        else:
            return json_reply({"message": "Not found"}, 404)
        return self._page(req, feats, limit, offset)

    def _climate(self, req: Request) -> Reply:
        q = req.query
        if req.path.removeprefix(self.CLIMATE_PREFIX) != "/collections/stationValue/items":
            return json_reply({"message": "Not found"}, 404)
        limit, offset = int(q.get("limit", 1000)), int(q.get("offset", 0))
        sid = q["stationId"]
        lon, lat = next(((s[2], s[3]) for s in self.stations if s[0] == sid), (0.0, 0.0))
        now = self.until or dt.datetime.now(tz=UTC)
        feats: list[dict] = []
        if sid in {s[0] for s in self.stations} and q.get("timeResolution") == "day":
            a, b = (dt.datetime.fromisoformat(x.replace("Z", "+00:00")) for x in q["datetime"].split("/"))
            day = a.astimezone(CPH).date() - dt.timedelta(days=1)
            while local_midnight(day) <= b:
                start, end = local_midnight(day), local_midnight(day + dt.timedelta(days=1))
                if end >= a and end <= now:  # the days the interval touches, once over
                    value, qc, valid = self.day_values.get(
                        (sid, day), (day_mean_c(day), "manual" if end <= now - dt.timedelta(days=self.qc_lag_days)
                                     else "none", True))
                    versions = [(self.duplicates[(sid, day)], end)] if (sid, day) in self.duplicates else []
                    versions.append((value, end + dt.timedelta(hours=6)))  # the current value, created last
                    for v, created in versions:
                        feats.append({
                            "type": "Feature", "id": f"{sid}-{day}-{v}",
                            "geometry": {"type": "Point", "coordinates": [lon, lat]},
                            "properties": {"calculatedAt": created.astimezone(UTC).isoformat(),
                                           "created": created.astimezone(UTC).isoformat(),
                                           "from": start.astimezone(UTC).isoformat(),
                                           "to": end.astimezone(UTC).isoformat(),
                                           "parameterId": q["parameterId"], "qcStatus": qc, "stationId": sid,
                                           "timeResolution": "day", "validity": valid, "value": v}})
                day += dt.timedelta(days=1)
        return self._page(req, feats, limit, offset)

    def _page(self, req: Request, feats: list, limit: int, offset: int) -> Reply:
        q = req.query
        page = feats[offset:offset + limit]
        links = [{"href": f"{self.server.url}{req.path}?{urlencode(q)}", "rel": "self", "type": "application/geo+json"}]
        if offset + limit < len(feats):
            nxt = {**q, "offset": str(offset + limit), "limit": str(limit)}
            links.append({"href": f"{self.server.url}{req.path}?{urlencode(nxt)}", "rel": "next",
                          "type": "application/geo+json"})
        return json_reply({"type": "FeatureCollection", "features": page, "timeStamp": iso_z(int(time.time() * 1000)),
                           "numberReturned": len(page), "links": links})
