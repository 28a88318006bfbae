"""Eloverblik third-party API client (Energinet DataHub): token, authorisations, metering points, time series.

Written from Energinet's public documentation of the third-party API: the guide "Thirdparty API"
(docs.eloverblik.dk/docs/guides/api/thirdparty), the OpenAPI description of
``https://api.eloverblik.dk/thirdpartyapi`` (swagger) and "Customer and Third party API for Datahub
Eloverblik — Technical description".  What those say, and this client does:

* ``GET  {base}/token`` with the refresh token as ``Authorization: Bearer`` → ``{"result": "<JWT>"}``,
  the data access token, valid about 24 hours.  The token endpoint allows 2 calls per minute: the
  token is kept and renewed ``token_renew_before_s`` before its JWT ``exp`` (24 h after issue when the
  token carries no readable ``exp``), and once more if a data call answers 401.
* ``GET  {base}/authorization/authorizations`` → ``{"result": [AuthorizationDto]}``;
  ``GET  {base}/authorization/authorization/meteringpoints/{scope}/{identifier}`` (scope
  ``authorizationId``, ``customerCVR`` or ``customerKey``) → ``{"result": [metering point]}``.
* ``POST {base}/meterdata/gettimeseries/{dateFrom}/{dateTo}/{aggregation}`` with
  ``{"meteringPoints": {"meteringPoint": [ids]}}``: dates are Danish calendar dates, ``dateTo``
  excluded and not after today; at most 10 metering points and 730 days per request (errors 10004 and
  30014 beyond).  Answer: ``{"result": [{"MyEnergyData_MarketDocument": {... "TimeSeries": [{
  "MarketEvaluationPoint": {"mRID": {"name": GSRN}}, "measurement_Unit.name": "KWH", "Period": [{
  "resolution": "PT1H" | "PT15M", "timeInterval": {"start", "end"} (UTC), "Point": [{"position": "1",
  "out_Quantity.quantity": "0.123", "out_Quantity.quality": "A04"}]}]}]}, "success": bool,
  "errorCode": …, "errorText": …, "id": GSRN}]}`` — one result per metering point, and a metering point
  can fail on its own (e.g. 20000/20008 not found, 30006/30010 no authorisation for it or the period).
* Quality codes: A01 adjusted, A02 not available, A03 estimated, A04 measured, A05 incomplete.
  A02 carries no value: it is skipped (missing is not zero).
* 429 (rate limits: 120 calls a minute per IP) and 503 (DataHub busy) are retried honouring
  ``Retry-After`` (:mod:`energimon.collector.sources.http`).

Not tested against the real service (no internet here); see the sources README for what the tests
serve instead.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import logging
import math
import time
from itertools import repeat
from operator import itemgetter
from typing import NotRequired, cast

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic needs typing_extensions' TypedDict on Python 3.11

from energimon.collector.sources.base import PointColumns, SourceError
from energimon.collector.sources.http import HttpClient

log = logging.getLogger("energimon.sources.eloverblik")

RESOLUTION_MS = {"PT15M": 900_000, "PT1H": 3_600_000}
UNIT_WH = {"KWH": 1000.0, "MWH": 1_000_000.0, "WH": 1.0}
NOT_AVAILABLE = "A02"
QUANTITY, QUALITY = "out_Quantity.quantity", "out_Quantity.quality"
# per-metering-point error codes (technical description, error code table)
NOT_FOUND_CODES = frozenset({20000, 20008, 20013, 30009})
NO_AUTHORISATION_CODES = frozenset({20012, 30006, 30010, 40014})


class _Api(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TokenResponse(_Api):
    result: str = Field(min_length=1)


class Authorization(_Api):
    id: str | None = None
    thirdPartyName: str | None = None
    customerName: str | None = None
    customerCVR: str | None = None
    customerKey: str | None = None
    validFrom: str | None = None
    validTo: str | None = None
    includeFutureMeteringPoints: bool | None = None


class AuthorizationsResponse(_Api):
    result: list[Authorization]


class MeteringPointInfo(_Api):
    meteringPointId: str
    typeOfMP: str | None = None  # E17 consumption, E18 production, …
    settlementMethod: str | None = None
    streetName: str | None = None
    buildingNumber: str | None = None
    postcode: str | None = None
    cityName: str | None = None
    consumerCVR: str | None = None

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.streetName, self.buildingNumber) if p)
        town = " ".join(p for p in (self.postcode, self.cityName) if p)
        return ", ".join(p for p in (street, town) if p)


class MeteringPointsResponse(_Api):
    result: list[MeteringPointInfo]


# A TypedDict, not a model: a year of quarter hours for 10 metering points is 350,000 points, and a dict
# per point parses about twice as fast as a model instance (bench/sources_backfill.py).
PointDto = TypedDict("PointDto", {"position": int, "out_Quantity.quantity": NotRequired[str | None],
                                  "out_Quantity.quality": NotRequired[str | None]})


class TimeInterval(_Api):
    start: dt.datetime
    end: dt.datetime


class PeriodDto(_Api):
    resolution: str
    timeInterval: TimeInterval
    points: list[PointDto] = Field(default_factory=list, alias="Point")


class Mrid(_Api):
    name: str


class EvaluationPointDto(_Api):
    mRID: Mrid


class TimeSeriesDto(_Api):
    unit: str | None = Field(default=None, alias="measurement_Unit.name")
    evaluation_point: EvaluationPointDto | None = Field(default=None, alias="MarketEvaluationPoint")
    periods: list[PeriodDto] = Field(default_factory=list, alias="Period")


class MarketDocument(_Api):
    time_series: list[TimeSeriesDto] = Field(default_factory=list, alias="TimeSeries")


class TsResult(_Api):
    document: MarketDocument | None = Field(default=None, alias="MyEnergyData_MarketDocument")
    success: bool = True
    errorCode: int | str | None = None
    errorText: str | None = None
    id: str | None = None


class TsResponse(_Api):
    result: list[TsResult]


def kwh_text_to_wh(text: str) -> float:
    """DataHub's quantity (kWh as text, ``.`` decimal point, at most 3 decimals) as Wh, exactly.

    ``float("0.123") * 1000`` is 123.00000000000001; rounded to 1e-3 Wh it is 123.0 exactly, and a
    quantity with more decimals keeps them down to a milliwatt-hour."""
    try:
        wh = round(float(text) * 1000.0, 3)
    except (TypeError, ValueError):
        raise ValueError(f"quantity {text!r} is not a number") from None
    if not math.isfinite(wh) or "," in text:
        raise ValueError(f"quantity {text!r} is not a number")
    return wh


def _ms(t: dt.datetime) -> int:
    if t.tzinfo is None:  # the API states UTC ("…Z"); a bare time is taken as UTC too
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() * 1000)


def series_points(ts: TimeSeriesDto, gsrn: str) -> PointColumns:
    """Every period's points (Wh), in time order, as columns; raises ``ValueError`` on a shape the
    documentation does not allow (unknown resolution or unit, a position outside its period).

    All periods of the series at once: DataHub sends one period a day (24 or 96 points), and numpy's
    fixed cost per call, paid per period, came to more than the points' own work (bench/sources_backfill.py)."""
    factor = UNIT_WH.get((ts.unit or "KWH").upper())
    if factor is None:
        raise ValueError(f"{gsrn}: unit {ts.unit!r} is not kWh, MWh or Wh")
    starts: list[int] = []
    period_ends: list[int] = []
    steps: list[int] = []
    counts: list[int] = []
    for period in ts.periods:
        step = RESOLUTION_MS.get(period.resolution)
        if step is None:
            raise ValueError(f"{gsrn}: resolution {period.resolution!r} is not PT1H or PT15M (ask for aggregation "
                             "Actual, Quarter or Hour)")
        starts.append(_ms(period.timeInterval.start))
        period_ends.append(_ms(period.timeInterval.end))
        steps.append(step)
        counts.append(len(period.points))
    # dict.get mapped over the points (a C loop; a comprehension per point cost twice as much): PointDto is a
    # TypedDict, which mypy does not let stand for the dict it is at run time
    kept = cast(list[dict[str, str | None]], list(itertools.chain.from_iterable(p.points for p in ts.periods)))
    if not kept:
        return PointColumns([], [], [], [])
    of_period = np.repeat(np.arange(len(counts)), counts)  # each point's period
    qualities: list[str | None] = list(map(dict.get, kept, repeat(QUALITY)))
    texts: list[str | None] = list(map(dict.get, kept, repeat(QUANTITY)))
    values: list[float] | None = None
    if NOT_AVAILABLE not in qualities and None not in texts and "" not in texts:
        with contextlib.suppress(ValueError):  # e.g. a blank quantity: checked one by one below
            values = list(map(float, cast(list[str], texts)))  # None is not in texts
    if values is None:  # not available, or no quantity: no value (not zero)
        keep = [q != NOT_AVAILABLE and bool((t or "").strip()) for q, t in zip(qualities, texts, strict=True)]
        kept = [p for p, k in zip(kept, keep, strict=True) if k]
        qualities = [q for q, k in zip(qualities, keep, strict=True) if k]
        texts = [t for t, k in zip(texts, keep, strict=True) if k]
        of_period = of_period[np.array(keep, dtype=bool)]
        for t in texts:
            kwh_text_to_wh(cast(str, t))  # names the text that is not a number (None and blanks are not kept)
        values = list(map(float, cast(list[str], texts)))
        if not kept:
            return PointColumns([], [], [], [])
    step_of = np.array(steps, dtype=np.int64)[of_period]
    start_of = np.array(starts, dtype=np.int64)[of_period]
    ends_of = np.array(period_ends, dtype=np.int64)[of_period]
    pos = np.fromiter(map(itemgetter("position"), kept), np.int64, len(kept))
    outside = (pos < 1) | (pos > (ends_of - start_of) // step_of)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        period = ts.periods[int(of_period[i])]
        raise ValueError(f"{gsrn}: position {int(pos[i])} outside the period {period.timeInterval.start}"
                         f"..{period.timeInterval.end} ({(int(ends_of[i]) - int(start_of[i])) // int(step_of[i])} × "
                         f"{period.resolution})")
    # kWh with up to 3 decimals -> whole Wh, exactly (see kwh_text_to_wh), in one C loop for the whole series
    wh = np.round(np.array(values, dtype=np.float64) * 1000.0, 3) * (factor / 1000.0)
    if (wh < 0).any() or not np.isfinite(wh).all():
        i = int(np.nonzero((wh < 0) | ~np.isfinite(wh))[0][0])
        raise ValueError(f"{gsrn}: quantity {texts[i]} at position {pos[i]} is negative or not a number "
                         "(consumption and production are separate metering points)")
    t0 = start_of + (pos - 1) * step_of
    out = PointColumns(t0.tolist(), (t0 + step_of).tolist(), wh.tolist(), qualities,
                       ordered=bool((t0[1:] > t0[:-1]).all()))
    if not out.in_order():  # periods or positions out of order (the documents give no order): sort
        order = sorted(range(len(out)), key=out.starts.__getitem__)
        out = PointColumns([out.starts[i] for i in order], [out.ends[i] for i in order],
                           [out.values[i] for i in order], [out.qualities[i] for i in order])
    return out


def jwt_expiry_s(token: str) -> float | None:
    """The ``exp`` claim of a JWT (seconds since the epoch), or None if the token is not a readable JWT.
    Only read to know when to renew; the signature is the API's business."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
        return float(exp) if exp is not None else None
    except (ValueError, TypeError, AttributeError):
        return None


class EloverblikClient:
    TOKEN_LIFETIME_S = 24 * 3600

    def __init__(self, http: HttpClient, refresh_token: str, renew_before_s: float = 3600):
        self.http = http
        self._refresh = refresh_token
        self.renew_before_s = renew_before_s
        self._token: str | None = None
        self._expires: float = 0.0
        self.tokens_issued = 0

    # -- the data access token ---------------------------------------------------------------
    def _new_token(self) -> str:
        try:
            resp = self.http.get_model(TokenResponse, "token", headers={"Authorization": f"Bearer {self._refresh}"},
                                       what="GET token")
        except SourceError as exc:
            if exc.cause == "token":
                raise SourceError("token", "eloverblik: the refresh token was refused (401: expired, revoked or "
                                           "mistyped); create a new one on eloverblik.dk (API-adgang, 'Opret "
                                           "refresh token') and put it in refresh_token_file") from None
            raise
        self._token = resp.result
        self._expires = jwt_expiry_s(resp.result) or time.time() + self.TOKEN_LIFETIME_S
        self.tokens_issued += 1
        left_h = (self._expires - time.time()) / 3600
        log.info("eloverblik: new data access token, valid %.1f h", left_h)
        return self._token

    def token(self) -> str:
        if self._token is None or self._expires - time.time() <= self.renew_before_s:
            return self._new_token()
        return self._token

    def _call(self, model, method: str, path: str, *, json_body=None, what: str = ""):
        """A data call with the access token; a 401 renews the token once (it expired or was revoked)."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}"}
            try:
                return self.http.request_model(model, method, path, json=json_body, headers=headers, what=what)
            except SourceError as exc:
                if exc.cause != "token" or attempt == 2:
                    if exc.cause == "token":
                        raise SourceError("token", f"eloverblik: {what}: 401 with a fresh data access token: the "
                                                   "third party's access was withdrawn?") from None
                    raise
                log.info("eloverblik: %s: 401, renewing the data access token", what)
                self._token = None
        raise AssertionError("unreachable")

    # -- what the token sees -----------------------------------------------------------------
    def authorizations(self) -> list[Authorization]:
        return self._call(AuthorizationsResponse, "GET", "authorization/authorizations",
                          what="GET authorizations").result

    def metering_points(self, authorization_id: str) -> list[MeteringPointInfo]:
        path = f"authorization/authorization/meteringpoints/authorizationId/{authorization_id}"
        return self._call(MeteringPointsResponse, "GET", path, what="GET metering points").result

    # -- time series -------------------------------------------------------------------------
    def time_series(self, gsrns: list[str], date_from: dt.date, date_to: dt.date, aggregation: str) -> TsResponse:
        path = f"meterdata/gettimeseries/{date_from.isoformat()}/{date_to.isoformat()}/{aggregation}"
        body = {"meteringPoints": {"meteringPoint": gsrns}}
        return self._call(TsResponse, "POST", path, json_body=body,
                          what=f"gettimeseries {date_from}..{date_to} ({len(gsrns)} metering points)")
