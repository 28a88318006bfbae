"""The Eloverblik source: configured metering points → interval energy (Wh) per hour or quarter hour."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator

from energimon.collector.sources.base import FetchContext, Fetched, PointColumns, SeriesSpec, SourceError
from energimon.collector.sources.eloverblik.client import (
    NO_AUTHORISATION_CODES,
    NOT_FOUND_CODES,
    EloverblikClient,
    series_points,
)
from energimon.collector.sources.eloverblik.settings import EloverblikSettings
from energimon.collector.sources.http import HttpClient
from energimon.model import LOCAL_TZ

log = logging.getLogger("energimon.sources.eloverblik")
NAME = "eloverblik"


def local_date(ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).date()


def local_midnight_ms(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=LOCAL_TZ).timestamp() * 1000)


class EloverblikSource:
    name = NAME

    def __init__(self, cfg: EloverblikSettings, http: HttpClient, today: dt.date | None = None):
        self.cfg = cfg
        self.http = http
        if cfg.refresh_token is None:  # the settings' validator requires one (or its file): not reached from a config
            raise SourceError("config", "eloverblik: no refresh token configured")
        self.client = EloverblikClient(http, cfg.refresh_token.get_secret_value(), cfg.token_renew_before_s)
        self._today = today
        self._specs = {mp.id: SeriesSpec(NAME, mp.id, mp.site, mp.device, mp.channel, mp.role, "interval")
                       for mp in cfg.metering_points}

    def series(self) -> list[SeriesSpec]:
        return list(self._specs.values())

    def today(self) -> dt.date:
        return self._today or dt.datetime.now(tz=LOCAL_TZ).date()

    def fetch(self, ctx: FetchContext) -> Iterator[Fetched]:
        # Whole Danish days (the API's dates), up to today (the API refuses a later dateTo; today's values
        # are not in DataHub yet anyway).  Metering points with the same window share requests, 10 at a time.
        today = self.today()
        groups: dict[tuple[dt.date, dt.date], list[str]] = defaultdict(list)
        for gsrn, spec in self._specs.items():
            if spec.name not in ctx.windows:
                continue
            start_ms, end_ms = ctx.windows[spec.name]
            d0, d1 = local_date(start_ms), min(local_date(end_ms - 1) + dt.timedelta(days=1), today)
            if d0 < d1:
                groups[(d0, d1)].append(gsrn)
        failed: set[str] = set()
        for (d0, d1), gsrns in sorted(groups.items()):
            for i in range(0, len(gsrns), self.cfg.points_per_request):
                batch = gsrns[i:i + self.cfg.points_per_request]
                day = d0
                while day < d1 and batch:
                    if ctx.stopped():
                        return
                    nxt = min(day + dt.timedelta(days=self.cfg.days_per_request), d1)
                    try:
                        resp = self.client.time_series(batch, day, nxt, self.cfg.aggregation)
                    except SourceError as exc:
                        if exc.cause == "token":
                            raise  # the whole source stops: nothing works without a token
                        ctx.report(SourceError(exc.cause, str(exc), affected=tuple(self._specs[g] for g in batch)))
                        break  # this batch's later days wait for the next run (the watermark stays)
                    # the answer's chunks stored together (one spool and one state transaction for the request)
                    chunks = list(self._results(resp, batch, day, nxt, ctx, failed))
                    for chunk in chunks[:-1]:
                        chunk.ends_request = False
                    yield from chunks
                    batch = [g for g in batch if g not in failed]
                    day = nxt

    def _results(self, resp, batch: list[str], day: dt.date, nxt: dt.date, ctx: FetchContext,
                 failed: set[str]) -> Iterator[Fetched]:
        w0, w1 = local_midnight_ms(day), local_midnight_ms(nxt)
        seen: set[str] = set()
        for item in resp.result:
            docs = item.document.time_series if item.document else []
            gsrn = item.id or next((ts.evaluation_point.mRID.name for ts in docs if ts.evaluation_point), None)
            if gsrn not in self._specs or gsrn not in batch:
                ctx.report(SourceError("schema", f"eloverblik: an answer for metering point {gsrn!r}, which was not "
                                                 "asked for; has the API changed?"))
                continue
            spec = self._specs[gsrn]
            seen.add(gsrn)
            if not item.success:
                failed.add(gsrn)
                ctx.report(_item_error(spec, item.errorCode, item.errorText))
                continue
            try:
                points = PointColumns.join([series_points(ts, gsrn) for ts in docs])
            except ValueError as exc:
                failed.add(gsrn)
                ctx.report(SourceError("schema", f"eloverblik: {exc}", spec))
                continue
            yield Fetched(spec, w0, w1, points)
        for gsrn in batch:
            if gsrn not in seen:
                failed.add(gsrn)
                ctx.report(SourceError("schema", f"eloverblik: no answer for metering point {gsrn} in "
                                                 f"{day}..{nxt}; has the API changed?", self._specs[gsrn]))

    def close(self) -> None:
        self.http.close()


def _item_error(spec: SeriesSpec, code, text: str | None) -> SourceError:
    try:
        n = int(code)
    except (TypeError, ValueError):
        n = None
    detail = f"error {code}: {text or 'no text'}"
    if n in NO_AUTHORISATION_CODES:
        return SourceError("authorisation", f"eloverblik: no authorisation for metering point {spec.ident} ({detail}); "
                                            "the building's owner must grant the municipality's third-party access "
                                            "(fuldmagt) for it and for the period", spec)
    if n in NOT_FOUND_CODES:
        return SourceError("unknown_series", f"eloverblik: metering point {spec.ident} is unknown to DataHub "
                                             f"({detail}); check the id in the config "
                                             "('energimon sources eloverblik list' shows what the token sees)", spec)
    return SourceError("http", f"eloverblik: metering point {spec.ident}: {detail}", spec)
