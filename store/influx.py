"""The InfluxDB store: line protocol in, InfluxQL out, for InfluxDB 1.x, 2.x and 3.x.

Schema (see README, "InfluxDB store"): five measurements chosen by channel —
``electricity``, ``heat``, ``weather``, ``device_health``, ``market`` — with tags ``site``, ``device``,
``role`` and one float field per channel.  Readings of one device at one
instant share a line.  Timestamps are written and read in milliseconds.

Writes are synchronous, one batch per call, and acknowledged by the caller (the
spool writer) only after a 2xx:

* mode ``v2``: influxdb-client's ``WriteApi`` in SYNCHRONOUS mode →
  ``/api/v2/write`` (InfluxDB 2.x, 3.x, 1.8+);
* mode ``v1``: the same line protocol posted to ``/write`` (InfluxDB 1.x,
  which has no ``/api/v2/write`` before 1.8).

Failure classes: connection errors, timeouts, 5xx and 429 raise
:class:`StoreError` (the writer retries with backoff; nothing leaves the
spool); 401/403 and 404 (unknown database/bucket) raise :class:`StoreError`
naming the cause, since a retry after the operator's fix will succeed; a 400,
413 or 422 means some points are bad: the batch is bisected down to the
offending readings, which come back as :class:`Rejected` (dead letters) so the
queue keeps moving.  Every write is idempotent (same series + timestamp
overwrites), so re-sending the good half of a batch is harmless.

Device-stamped readings (:attr:`OnConflict.KEEP`) must not replace a different value
stored at the same millisecond, and line protocol has no "insert if absent": a batch
holding such readings first asks what is stored at their times — one InfluxQL request,
one statement per measurement and site over the span of their times — and
refuses the colliding ones (:func:`~energimon.store.base.collision_reason`).  Batches
of readings energimon stamped (never a repeated stamp) skip it: that path stays as fast.

Reads use InfluxQL over ``/query`` for every generation; fixed-bucket partial
aggregates are pushed down as ``GROUP BY time(Ns)``.

TLS: ``https://`` servers are verified against the system's CAs or ``ca_file``; a certificate that
does not verify is a :class:`StoreError` saying so (and what to set), so the writer keeps the
readings spooled until the operator fixes it.

:class:`StatusPoints` writes the daemon's own health (``energimon_status``) for Grafana.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import operator
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import urllib3

from energimon.model import OnConflict, Reading, Role, SeriesKey, is_valid_id, now_ms
from energimon.security import redact_url_credentials
from energimon.store.base import Rejected, Store, StoreError, StoreHealth, collision_reason
from energimon.store.settings import InfluxSettings
from energimon.store.spool import ReadingRows

if TYPE_CHECKING:
    import numpy as np  # imported where used: the daemon's start does not wait for pandas
    import pandas as pd
    from influxdb_client import InfluxDBClient  # imported only in mode v2, when the store opens (slow to import)
    from influxdb_client.client.write_api import WriteApi

log = logging.getLogger("energimon.store.influx")

# -- schema ------------------------------------------------------------------------------------
MEASUREMENT_CHANNELS: dict[str, tuple[str, ...]] = {
    "electricity": (
        "power_w", "energy_import_wh", "energy_export_wh", "pv_power_w", "pv_energy_wh", "pv_dc_power_w",
        "voltage_v", "voltage_l1_v", "voltage_l2_v", "voltage_l3_v", "current_a", "frequency_hz",
        "reactive_power_var", "power_factor",
        "power_l1_w", "power_l2_w", "power_l3_w", "current_l1_a", "current_l2_a", "current_l3_a",
        "energy_import_l1_wh", "energy_import_l2_wh", "energy_import_l3_wh",
        "energy_export_l1_wh", "energy_export_l2_wh", "energy_export_l3_wh",
    ),
    # a field's measurement is decided by its channel, not its role: the gas and water meters' volume_m3 lives
    # here with the heat meter's (the role tag tells them apart), so existing heat volume data keeps its place
    "heat": ("heat_energy_wh", "heat_power_w", "volume_m3", "flow_m3_h", "supply_temp_c", "return_temp_c",
             "operating_time_h"),
    "weather": ("outdoor_temp_c", "outdoor_temp_day_mean_c", "irradiance_w_m2", "module_temp_c"),
    "device_health": ("device_online", "poll_errors", "fields_missing", "serial_changes", "info_code",
                      "meter_status"),
    "market": ("price_dkk_per_kwh", "co2_g_per_kwh"),
}
MEASUREMENT_OF: dict[str, str] = {ch: m for m, chs in MEASUREMENT_CHANNELS.items() for ch in chs}
TAGS = ("site", "device", "role")
_ROLES = frozenset(role.value for role in Role)
_FIELDS = operator.attrgetter("site", "device", "channel", "role", "ts_ms", "value")
STATUS_MEASUREMENT = "energimon_status"  # the daemon's own health, tag host (see write_status)
STATUS_FIELDS = ("spool_backlog", "readings_written", "dead_letters", "readings_accepted", "devices_online",
                 "devices_configured", "mqtt_connected")

# InfluxDB's time range is int64 nanoseconds; clamp open-ended reads to it.
MAX_MS = 9_223_372_036_853
BAD_DATA = (400, 413, 422)  # the request's content is at fault: find the offending points
QUERY_CHUNK = 10_000
_KEEP = 1  # the spool's conflict code of OnConflict.KEEP (energimon.store.spool)
_FLOAT, _INT = {float}, {int}
CHECK_DEVICES = 100  # devices per statement of the device-time collision check (an OR of tag filters)


def measurement_of(channel: str) -> str:
    try:
        return MEASUREMENT_OF[channel]
    except KeyError:
        raise ValueError(f"channel {channel!r} has no InfluxDB measurement (not in the vocabulary)") from None


def _q(name: str) -> str:
    """An InfluxQL identifier (double-quoted)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _s(value: str) -> str:
    """An InfluxQL string literal (single-quoted)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def field_value(value: float) -> str:
    """A float field value in line protocol, formatted as influxdb-client's ``Point`` does.

    Shortest round-trip repr with a trailing ``.0`` trimmed (``1500``): without an ``i``
    suffix line protocol reads it as a float, so the field type never changes.
    """
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def line_for(measurement: str, site: str, device: str, role: str, fields: dict[str, float], ts_ms: int) -> str:
    """One line of line protocol.  Tags in key order, as InfluxDB and influxdb-client's ``Point`` write them.

    No escaping is needed: ids are ``[a-z0-9_-]`` (checked before this is called), channel
    and measurement names come from the closed vocabulary.
    """
    fs = ",".join(f"{k}={field_value(fields[k])}" for k in sorted(fields))
    return f"{measurement},device={device},role={role},site={site} {fs} {ts_ms}"


class _Line:
    __slots__ = ("_readings", "text")

    def __init__(self, text: str, readings: list[Reading] | tuple[ReadingRows, int, int]):
        self.text = text
        self._readings = readings  # the readings of the line, or (ReadingRows, first row, end) to build them from

    @property
    def readings(self) -> list[Reading]:
        """Only looked at when the server refused a batch (to find the offending readings)."""
        if isinstance(self._readings, tuple):
            rr, a, b = self._readings
            return [rr.reading(row) for row in rr.flat_rows()[a:b]]
        return self._readings


class InfluxStore(Store):
    kind = "influxdb"

    def __init__(self, settings: InfluxSettings, *, readonly: bool = False):
        """``readonly``: for the CLI's readers — never creates the database."""
        self.settings = settings
        self._lock = threading.Lock()
        self._valid_ids: set[str] = set()
        self._prefixes: dict[tuple[str, str, str, str], str] = {}
        self._stream_info: dict[tuple[str, str, str, str], tuple[str | None, str]] = {}  # see lines_of_rows
        t = settings.timeout_s
        ca_file = str(settings.ca_file) if settings.ca_file is not None else None
        if not settings.verify_tls:
            _warn_unverified(settings.url)
        self._http = urllib3.PoolManager(
            num_pools=2, maxsize=2, retries=False,
            timeout=urllib3.Timeout(connect=min(5.0, t), read=t),
            cert_reqs="CERT_REQUIRED" if settings.verify_tls else "CERT_NONE", ca_certs=ca_file,
        )
        self._headers: dict[str, str] = {}
        self._client: InfluxDBClient | None = None
        self._write_api: WriteApi | None = None
        if settings.mode == "v2":
            token, org = settings.token, settings.org
            if token is None or org is None or settings.bucket is None:
                raise ValueError("store.influxdb mode 'v2' needs 'token', 'org' and 'bucket'")  # as InfluxSettings
            self._headers["Authorization"] = f"Token {token.get_secret_value()}"
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS

            self._client = InfluxDBClient(
                url=settings.url, token=token.get_secret_value(), org=org,
                timeout=int(t * 1000), verify_ssl=settings.verify_tls, ssl_ca_cert=ca_file, retries=False,
            )
            self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        elif settings.username:
            pw = settings.password.get_secret_value() if settings.password else ""
            raw = f"{settings.username}:{pw}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        # v1 create_database: tried now and, if the server is down at start, before the next write —
        # the daemon must start (and spool) while InfluxDB is unreachable.
        self._db_pending = settings.mode == "v1" and settings.create_database and not readonly
        if self._db_pending:
            try:
                self.create_database()
            except StoreError as exc:
                log.warning("cannot create the database yet, will retry before writing: %s", exc)

    def __repr__(self) -> str:
        return f"InfluxStore({self.settings.describe()})"

    # -- HTTP ------------------------------------------------------------------------------
    def _where(self) -> str:
        # The configuration refuses credentials in the URL; settings built in code could still carry some,
        # and every store error line starts with this.
        return redact_url_credentials(self.settings.describe())

    def _request(self, method: str, path: str, params: dict[str, Any], body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        url = f"{self.settings.url}{path}?{urlencode(params)}" if params else f"{self.settings.url}{path}"
        try:
            return self._http.request(method, url, body=body, headers={**self._headers, **(headers or {})},
                                      preload_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise self._transport_error(exc) from None

    def _transport_error(self, exc: BaseException) -> StoreError:
        """The request never got an HTTP answer: a certificate problem says so, anything else is 'unreachable'."""
        bad_cert = _cert_error(exc)
        if bad_cert is None:
            return StoreError(f"{self._where()}: unreachable ({type(exc).__name__}: {_short(exc)})")
        why = (bad_cert.verify_message or _short(bad_cert)).rstrip(".")
        if bad_cert.verify_code in _HOST_MISMATCH:
            hint = "put the host name the certificate was issued for in store.influxdb.url"
        elif self.settings.ca_file is not None:
            hint = f"check that store.influxdb.ca_file ({self.settings.ca_file}) is the CA that signed it"
        else:
            hint = "if it comes from your own CA, set store.influxdb.ca_file to that CA's PEM file"
        return StoreError(f"{self._where()}: the server's TLS certificate did not verify ({why}) — {hint}")

    def _http_error(self, status: int, body: bytes | str | None, what: str) -> StoreError:
        msg = _error_text(body)
        if status in (401, 403):
            who = f"user {self.settings.username!r}" if self.settings.mode == "v1" else "the token"
            return StoreError(f"{self._where()}: authentication failed (HTTP {status}) for {who} — "
                              f"check the {'password' if self.settings.mode == 'v1' else 'token'}: {msg}")
        if status == 404:
            return StoreError(f"{self._where()}: {what} failed (HTTP 404, database/bucket or endpoint not found; "
                              f"is the mode right for this server?): {msg}")
        if status == 429:
            return StoreError(f"{self._where()}: {what} throttled (HTTP 429): {msg}")
        return StoreError(f"{self._where()}: {what} failed (HTTP {status}): {msg}")

    # -- writes ----------------------------------------------------------------------------
    def _post_lines(self, body: bytes) -> tuple[int, str]:
        """Send line protocol; (status, error message).  Raises StoreError when a retry may help."""
        s = self.settings
        if s.mode == "v1":
            params = {"db": s.database, "precision": "ms"}
            if s.retention_policy:
                params["rp"] = s.retention_policy
            resp = self._request("POST", "/write", params, body, {"Content-Type": "text/plain; charset=utf-8"})
            status, text = resp.status, resp.data
        else:
            from influxdb_client import WritePrecision
            from influxdb_client.rest import ApiException

            write_api, bucket, org = self._write_api, s.bucket, s.org
            assert write_api is not None and bucket is not None and org is not None  # mode v2: see __init__
            try:
                # WritePrecision's constants are str although write() declares the class: the library's own typing
                write_api.write(bucket=bucket, org=org, record=body,
                                write_precision=WritePrecision.MS)  # type: ignore[arg-type]
                return 204, ""
            except ApiException as exc:
                if not exc.status:  # influxdb-client's wrapping of a TLS failure: no HTTP answer at all
                    raise self._transport_error(exc) from None
                status, text = int(exc.status), exc.body
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise self._transport_error(exc) from None
        if 200 <= status < 300:
            return status, ""
        if status in BAD_DATA:
            return status, _error_text(text)
        raise self._http_error(status, text, "write")

    def _check(self, r: Reading) -> str | None:
        """Why this reading can never be stored, or None."""
        for ident in (r.site, r.device):
            if ident not in self._valid_ids:
                if not is_valid_id(ident):
                    return f"id {ident!r} is not valid for line protocol"
                self._valid_ids.add(ident)
        if r.channel not in MEASUREMENT_OF:
            return f"unknown channel {r.channel!r}"
        if r.role not in _ROLES:
            return f"unknown role {r.role!r}"
        try:
            v = float(r.value)
        except (TypeError, ValueError):
            return f"value {r.value!r} is not a number"
        if not math.isfinite(v):
            return f"value {r.value!r} is not finite (InfluxDB cannot store it; missing is not zero)"
        if not isinstance(r.ts_ms, int) or not 0 <= r.ts_ms <= MAX_MS:
            return f"timestamp {r.ts_ms!r} is outside InfluxDB's time range"
        return None

    def _prefix(self, site: str, device: str, role: str, channel: str, measurement: str) -> str:
        """The line's start (measurement and tags) for a checked tag set, cached by (site, device, role, channel)."""
        prefix = f"{measurement},device={device},role={role},site={site}"
        self._prefixes[(site, device, role, channel)] = prefix
        return prefix

    def lines(self, readings: Sequence[Reading], rejected: list[Rejected] | None = None) -> list[_Line]:
        """Group readings into lines (one per measurement, tag set and instant); later duplicates win.

        The hot path: a reading whose tag set was seen before (and so was checked) and whose value and
        timestamp are plain finite float / in-range int costs a few dict look-ups; anything else goes
        through :meth:`_check`, which names what is wrong.
        """

        groups: dict[tuple[str, int], dict[str, Reading]] = {}
        prefixes, meas_of, fields_of = self._prefixes, MEASUREMENT_OF, _FIELDS
        for r in readings:
            site, device, channel, role, ts, v = fields_of(r)
            prefix = prefixes.get((site, device, role, channel))
            if (prefix is None or v.__class__ is not float or v - v != 0.0  # NaN and ±inf give NaN
                    or ts.__class__ is not int or not 0 <= ts <= MAX_MS):
                why = self._check(r)
                if why is not None:
                    if rejected is not None:
                        rejected.append(Rejected(r, why))
                    continue
                prefix = self._prefix(site, device, role, channel, meas_of[channel])
            key = (prefix, ts)
            g = groups.get(key)
            if g is None:
                groups[key] = {channel: r}
            else:
                g[channel] = r
        out: list[_Line] = []
        append = out.append
        for (prefix, ts), g in groups.items():
            if len(g) == 1:
                ((ch, r),) = g.items()
                v = r.value
                v = repr(v if v.__class__ is float else float(v))  # numpy floats repr as np.float64(…)
                append(_Line(f"{prefix} {ch}={v[:-2] if v.endswith('.0') else v} {ts}", [r]))
            else:
                parts, rs = [], []
                for c in sorted(g):
                    r = g[c]
                    v = r.value
                    v = repr(v if v.__class__ is float else float(v))
                    parts.append(f"{c}={v[:-2] if v.endswith('.0') else v}")
                    rs.append(r)
                append(_Line(f"{prefix} {','.join(parts)} {ts}", rs))
        return out

    def lines_of_rows(self, rr: ReadingRows, rejected: list[Rejected]) -> list[_Line]:
        """:meth:`lines` for a batch straight from the spool, without an object per reading (see :meth:`body_of_rows`,
        which :meth:`write` uses: this is its lines one by one, for finding a refused point)."""
        built = self.body_of_rows(rr, rejected)
        return self.lines(list(rr), rejected) if built is None else built[1]()

    def body_of_rows(self, rr: ReadingRows, rejected: list[Rejected]) -> tuple[str, Callable[[], list[_Line]]] | None:
        """The line protocol of a batch straight from the spool, and a way to its lines one by one (only needed
        when the server refuses the batch); None when something in it needs a look reading by reading
        (:meth:`lines` names what is refused).

        Built from the batch's columns (:meth:`ReadingRows.columns`) with no Python step per reading: the line's
        start (measurement and tags, escaped once) comes from a cache per stream, the times and values are checked
        column-wise, and the text is one join of the pieces — a field (``power_w=`` and the float's shortest
        repr, so a float field stays a float) and what follows it: ``,`` inside a line, the time and the next
        line's start at a line's end.  Consecutive readings of one tag set and instant (a poll's channels, as
        the spool holds them) share a line; the same point in two lines is the same to InfluxDB (its fields are
        merged, the later line's value wins).
        """
        import numpy as np

        streams, tss, vals, _codes = rr.columns()
        n = len(tss)
        if not n:
            return "", list
        cache, keys = self._stream_info, rr.streams
        chs: dict[int, str] = {}
        pid_of_sid: dict[int, int] = {}
        prefixes: list[str] = []
        pid_of: dict[str, int] = {}
        for sid in set(streams):
            key = keys[sid]
            info = cache.get(key)
            if info is None:
                info = cache[key] = self._stream_prefix(key)
            prefix, field = info
            if prefix is None:
                return None
            chs[sid] = field
            pid = pid_of.get(prefix)
            if pid is None:
                pid = pid_of[prefix] = len(prefixes)
                prefixes.append(prefix)
            pid_of_sid[sid] = pid
        # the spool's REAL column gives floats (a float's repr is a float field); anything else, NaN/inf (they
        # make the sum NaN or infinite, as does an overflow) and times out of range go the slow way
        if (set(map(type, vals)) != _FLOAT or set(map(type, tss)) != _INT or not math.isfinite(sum(vals))
                or min(tss) < 0 or max(tss) > MAX_MS):
            return None
        pids = np.fromiter(map(pid_of_sid.__getitem__, streams), np.int64, n)
        ts = np.fromiter(tss, np.int64, n)
        sid_arr = np.fromiter(streams, np.int64, n)
        # a new line where the tag set or the instant changes, or where a stream id does not increase: so a
        # channel never appears twice on one line (the later reading then gets its own, later line and wins)
        cut = np.flatnonzero((pids[1:] != pids[:-1]) | (ts[1:] != ts[:-1]) | (sid_arr[1:] <= sid_arr[:-1])) + 1
        ends = [*(cut - 1).tolist(), n - 1]  # each line's last reading
        line_pids = [int(pids[0]), *pids[cut].tolist()]
        names = list(map(chs.__getitem__, streams))  # "power_w="
        texts = list(map(repr, vals))  # "1500.0"
        after = [","] * n
        for e, p in zip(ends, line_pids[1:], strict=False):  # the last line has no next line
            after[e] = f" {tss[e]}\n{prefixes[p]} "
        after[n - 1] = f" {tss[n - 1]}"
        body = "".join(chain((prefixes[line_pids[0]], " "), chain.from_iterable(zip(names, texts, after, strict=True))))

        def lines() -> list[_Line]:
            starts = [0, *cut.tolist()]
            return [_Line(f"{prefixes[p]} {','.join(map(str.__add__, names[a:b + 1], texts[a:b + 1]))} {tss[a]}",
                          (rr, a, b + 1)) for a, b, p in zip(starts, ends, line_pids, strict=True)]

        return body, lines

    def _stream_prefix(self, key: tuple[str, str, str, str]) -> tuple[str | None, str]:
        """(line prefix, ``field=``) of a spool stream, or (None, why it can never be stored)."""
        site, device, channel, role = key
        why = self._check(Reading(site, device, channel, role, 0, 0.0))
        if why is not None:
            return None, why
        prefix = self._prefix(site, device, role, channel, MEASUREMENT_OF[channel])
        return prefix, channel + "="

    def write(self, readings: Sequence[Reading]) -> list[Rejected]:
        """Write one batch in one request; returns the readings refused for good.

        Raises StoreError when nothing could be written and a retry may succeed.  (Splitting a batch
        into requests pipelined with building the next one's line protocol was measured: slower on
        2 cores, where influxd and this process already compete for the CPUs.)
        """
        rejected: list[Rejected] = []
        keep = OnConflict.KEEP
        if isinstance(readings, ReadingRows) and _KEEP not in readings.columns()[3]:
            # the spool's batch, no device times: the fast path, one text for the batch
            built = self.body_of_rows(readings, rejected)
            if built is not None:
                with self._lock:
                    if self._db_pending:
                        self.create_database()
                    self._write_body(built[0], built[1], rejected)
                if rejected:
                    log.warning("InfluxDB store refused %d reading(s) for good, e.g. %s: %s",
                                len(rejected), rejected[0].reading.key, rejected[0].reason)
                return rejected
            lines = self.lines(list(readings), rejected)
        else:
            if any(r.on_conflict is keep for r in readings):
                readings = self._without_collisions(readings, rejected)
            lines = self.lines(readings, rejected)
        if lines:
            with self._lock:
                if self._db_pending:
                    self.create_database()
                self._write_lines(lines, rejected)
        if rejected:
            log.warning("InfluxDB store refused %d reading(s) for good, e.g. %s: %s",
                        len(rejected), rejected[0].reading.key, rejected[0].reason)
        return rejected

    def _without_collisions(self, readings: Sequence[Reading], rejected: list[Rejected]) -> list[Reading]:
        """The batch without device-stamped readings that would replace a different value (those go to
        ``rejected``): compared with what the server holds at their times and with earlier readings of the batch."""
        stored = self._stored_at([r for r in readings if r.on_conflict is OnConflict.KEEP])
        seen: dict[tuple[str, str, str, int], float] = {}
        out = []
        for r in readings:
            k = (r.site, r.device, r.channel, r.ts_ms)
            try:
                v = float(r.value)
            except (TypeError, ValueError):
                out.append(r)  # lines() refuses it with the reason
                continue
            if r.on_conflict is OnConflict.KEEP:
                before = seen[k] if k in seen else stored.get(k)
                if before is not None and before != v:
                    rejected.append(Rejected(r, collision_reason(r, before)))
                    continue
            seen[k] = v
            out.append(r)
        return out

    def _stored_at(self, readings: list[Reading]) -> dict[tuple[str, str, str, int], float]:
        """What the server holds for these readings' series at their times (any role tag), in one request.

        InfluxQL cannot OR several instants together, so each measurement and site is asked for the span from the
        first to the last of those times, for the devices and fields in question (``GROUP BY device``; at most
        :data:`CHECK_DEVICES` devices per statement).
        """
        spans: dict[tuple[str, str], tuple[int, int, set[str], set[str]]] = {}
        valid = self._valid_ids
        for r in readings:
            m = MEASUREMENT_OF.get(r.channel)
            if (m is None or r.ts_ms.__class__ is not int or (r.site not in valid and not is_valid_id(r.site))
                    or (r.device not in valid and not is_valid_id(r.device))):
                continue  # lines() refuses it with the reason
            lo, hi, devices, fields = spans.get((m, r.site), (r.ts_ms, r.ts_ms, set(), set()))
            devices.add(r.device)
            fields.add(r.channel)
            spans[(m, r.site)] = (min(lo, r.ts_ms), max(hi, r.ts_ms), devices, fields)
        stmts, sites = [], []
        for (m, site), (lo, hi, devices, fields) in spans.items():
            ordered = sorted(devices)
            for k in range(0, len(ordered), CHECK_DEVICES):
                who = " OR ".join(f"{_q('device')} = {_s(d)}" for d in ordered[k:k + CHECK_DEVICES])
                stmts.append(f"SELECT {', '.join(_q(f) for f in sorted(fields))} FROM {self._from(m)} "
                             f"WHERE {_q('site')} = {_s(site)} AND ({who}) "
                             f"AND time >= {max(0, lo)}ms AND time <= {min(MAX_MS, hi)}ms GROUP BY {_q('device')}")
                sites.append(site)
        if not stmts:
            return {}
        with self._lock:
            if self._db_pending:
                self.create_database()
            results = self.query("; ".join(stmts), post=True)
        stored: dict[tuple[str, str, str, int], float] = {}
        for site, res in zip(sites, results, strict=True):
            for s in res["series"]:
                device, cols = s.get("tags", {}).get("device", ""), s["columns"]
                for row in s["values"]:
                    for col, v in zip(cols[1:], row[1:], strict=True):
                        if v is not None:
                            stored.setdefault((site, device, col, int(row[0])), float(v))
        return stored

    def _write_body(self, body: str, lines: Callable[[], list[_Line]], rejected: list[Rejected]) -> None:
        """:meth:`_write_lines` of a batch's text built at once (:meth:`body_of_rows`); its lines are built only
        when the server refuses it."""
        status, msg = self._post_lines(body.encode())
        if not msg and 200 <= status < 300:
            return
        self._narrow(lines(), rejected, status, msg)

    def _write_lines(self, lines: list[_Line], rejected: list[Rejected]) -> None:
        body = "\n".join(ln.text for ln in lines).encode()
        status, msg = self._post_lines(body)
        if not msg and 200 <= status < 300:
            return
        self._narrow(lines, rejected, status, msg)

    def _narrow(self, lines: list[_Line], rejected: list[Rejected], status: int, msg: str) -> None:
        """Lines the server refused together (with ``status`` and ``msg``): find the bad points."""
        # Bad data somewhere (400/413/422): narrow it down.  Good points already written are
        # written again — harmless, writes are idempotent.
        if len(lines) > 1:
            mid = len(lines) // 2
            self._write_lines(lines[:mid], rejected)
            self._write_lines(lines[mid:], rejected)
            return
        line = lines[0]
        if len(line.readings) > 1:  # several channels on one line: find the offending field(s)
            singles = [self.lines([r])[0] for r in line.readings]
            self._write_lines(singles, rejected)
            return
        rejected.append(Rejected(line.readings[0], f"InfluxDB refused the point (HTTP {status}): {msg}"))

    def write_status(self, host: str, fields: dict[str, int], ts_ms: int) -> None:
        """The daemon's own health: one point in ``energimon_status`` (fields: :data:`STATUS_FIELDS`).

        For the Grafana spool dashboard and alerts on a silent daemon.  Integer fields; raises StoreError
        like :meth:`write` (the daemon calls it through :class:`StatusPoints`, which never raises).
        """
        tag = "".join("\\" + c if c in ", =\\" else c for c in host) or "unknown"
        fs = ",".join(f"{k}={int(v)}i" for k, v in sorted(fields.items()))
        with self._lock:
            status, msg = self._post_lines(f"{STATUS_MEASUREMENT},host={tag} {fs} {int(ts_ms)}".encode())
        if msg or not 200 <= status < 300:
            raise StoreError(f"{self._where()}: status point refused (HTTP {status}): {msg}")

    # -- queries ---------------------------------------------------------------------------
    def query(self, q: str, *, write: bool = False, post: bool = False) -> list[dict[str, Any]]:
        """Run InfluxQL statement(s); the list of statement results (each with 'series').

        ``post``: send a long read as a form body (urllib3 percent-encodes a long URL in Python, slowly).
        Raises StoreError on transport, auth or statement errors.
        """
        params = {"db": self.settings.read_database, "epoch": "ms"}
        if write or post:
            body = {**params, "q": q} if write else {**params, "q": q, "chunked": "true",
                                                      "chunk_size": str(QUERY_CHUNK)}
            resp = self._request("POST", "/query", {}, urlencode(body).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        else:
            resp = self._request("GET", "/query", {**params, "q": q, "chunked": "true",
                                                   "chunk_size": str(QUERY_CHUNK)})
        if resp.status != 200:
            raise self._http_error(resp.status, resp.data, "query")
        results: dict[int, dict[str, Any]] = {}
        for doc in _json_docs(resp.data.decode("utf-8")):
            if "error" in doc:
                raise StoreError(f"{self._where()}: query failed: {doc['error']}")
            for res in doc.get("results", []):
                if "error" in res:
                    raise StoreError(f"{self._where()}: query failed: {res['error']}")
                acc = results.setdefault(res.get("statement_id", 0), {"series": []})
                for s in res.get("series", []):
                    prev = acc["series"][-1] if acc["series"] else None
                    if (prev is not None and prev.get("name") == s.get("name")
                            and prev.get("tags") == s.get("tags") and prev.get("_partial")):
                        prev["values"].extend(s.get("values", []))
                        prev["_partial"] = s.get("partial", False)
                    else:
                        acc["series"].append({**s, "values": list(s.get("values", [])),
                                              "_partial": s.get("partial", False)})
        return [results[k] for k in sorted(results)]

    def create_database(self) -> None:
        """v1: create the configured database if missing (idempotent)."""
        self.query(f"CREATE DATABASE {_q(self.settings.read_database)}", write=True)
        self._db_pending = False

    def _from(self, measurement: str) -> str:
        rp = self.settings.retention_policy if self.settings.mode == "v1" else None
        return f"{_q(rp)}.{_q(measurement)}" if rp else _q(measurement)

    def _series_where(self, key: SeriesKey, start_ms: int, end_ms: int) -> str:
        start_ms, end_ms = max(0, start_ms), min(MAX_MS, end_ms)
        return (f"{_q('site')} = {_s(key.site)} AND {_q('device')} = {_s(key.device)} "
                f"AND time >= {start_ms}ms AND time < {end_ms}ms")

    def read_raw_ms(self, key: SeriesKey, start_ms: int, end_ms: int) -> tuple[np.ndarray, np.ndarray]:
        import numpy as np

        empty = np.empty(0, np.int64), np.empty(0, np.float64)
        m = MEASUREMENT_OF.get(key.channel)
        if m is None or min(MAX_MS, end_ms) <= max(0, start_ms):
            return empty
        res = self.query(f"SELECT {_q(key.channel)} FROM {self._from(m)} "
                         f"WHERE {self._series_where(key, start_ms, end_ms)}")
        values = [row for s in res[0]["series"] for row in s["values"] if row[1] is not None]
        if not values:
            return empty
        arr = np.array(values, dtype=np.float64)
        ts = arr[:, 0].astype(np.int64)
        v = arr[:, 1]
        if len(res[0]["series"]) > 1 or np.any(np.diff(ts) <= 0):  # several tag sets (role changed)
            order = np.argsort(ts, kind="stable")
            ts, v = ts[order], v[order]
            keep = np.concatenate((ts[1:] != ts[:-1], [True]))
            ts, v = ts[keep], v[keep]
        return ts, v

    def partials_ms(self, key: SeriesKey, start_ms: int, end_ms: int, bucket_s: int) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        cols = ["count", "sum", "min", "max", "last"]
        m = MEASUREMENT_OF.get(key.channel)
        if m is None or min(MAX_MS, end_ms) <= max(0, start_ms):
            return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], tz="UTC"))
        f = _q(key.channel)
        res = self.query(
            f"SELECT count({f}), sum({f}), min({f}), max({f}), last({f}) FROM {self._from(m)} "
            f"WHERE {self._series_where(key, start_ms, end_ms)} GROUP BY time({int(bucket_s)}s) fill(none)"
        )
        rows = [row for s in res[0]["series"] for row in s["values"] if row[1]]  # count > 0
        if not rows:
            return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], tz="UTC"))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 6)
        df = pd.DataFrame(
            {"count": arr[:, 1].astype(np.int64), "sum": arr[:, 2], "min": arr[:, 3], "max": arr[:, 4],
             "last": arr[:, 5]},
            index=pd.to_datetime(arr[:, 0].astype(np.int64), unit="ms", utc=True),
        )
        return df

    def _last_per_series(self) -> list[tuple[str, str, str, str, int, float]]:
        stmts, chans = [], []
        for m, chs in MEASUREMENT_CHANNELS.items():
            for ch in chs:
                stmts.append(f"SELECT last({_q(ch)}) FROM {self._from(m)} WHERE time >= 0 AND time < {MAX_MS}ms "
                             f"GROUP BY {_q('site')}, {_q('device')}, {_q('role')}")
                chans.append(ch)
        res = self.query("; ".join(stmts))
        best: dict[tuple[str, str, str], tuple[str, str, str, str, int, float]] = {}
        for ch, r in zip(chans, res, strict=True):
            for s in r["series"]:
                tags = s.get("tags", {})
                for t, v in s["values"]:
                    if v is None:
                        continue
                    k = (tags.get("site", ""), tags.get("device", ""), ch)
                    row = (*k, tags.get("role", ""), int(t), float(v))
                    if k not in best or row[4] >= best[k][4]:
                        best[k] = row
        return [best[k] for k in sorted(best)]

    def series(self) -> pd.DataFrame:
        import pandas as pd

        rows = [r[:4] for r in self._last_per_series()]
        return pd.DataFrame(rows, columns=["site", "device", "channel", "role"])

    def latest(self) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        rows = self._last_per_series()
        df = pd.DataFrame(rows, columns=["site", "device", "channel", "role", "ts_ms", "value"])
        df.insert(4, "time", pd.to_datetime(df.pop("ts_ms").astype(np.int64), unit="ms", utc=True))
        df["value"] = df["value"].astype(np.float64)
        return df

    # -- health ----------------------------------------------------------------------------
    def version(self) -> str:
        """The server's version from ``/ping`` (raises StoreError when unreachable)."""
        resp = self._request("GET", "/ping", {})
        if resp.status >= 400 and resp.status not in (401, 403):
            raise self._http_error(resp.status, resp.data, "ping")
        return resp.headers.get("X-Influxdb-Version") or resp.headers.get("X-Influxdb-Build") or "unknown"

    def ping(self) -> StoreHealth:
        """Reachable, authenticated and the database/bucket readable — or why not."""
        try:
            version = self.version()
            # Needs read access; on 1.x a missing database is an error only for SHOW RETENTION POLICIES.
            db = _q(self.settings.read_database)
            self.query(f"SHOW RETENTION POLICIES ON {db}" if self.settings.mode == "v1"
                       else "SHOW MEASUREMENTS LIMIT 1")
        except StoreError as exc:
            return StoreHealth(False, self.kind, str(exc))
        return StoreHealth(True, self.kind, f"{self.settings.describe()}, server version {version}: ok")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._http.clear()


class StatusPoints:
    """The daemon's own health in ``energimon_status`` (tag ``host``), so Grafana can alert on a silent daemon.

    ``fields`` gathers the counters (called for every point).  :meth:`write` never raises: a status point is
    worth less than any reading, and its failure must not touch collection.  An outage is logged once when
    it starts and once when it is over.
    """

    def __init__(self, store: InfluxStore, fields: Callable[[], dict[str, int]], host: str | None = None):
        self.store = store
        self.fields = fields
        self.host = host or socket.gethostname() or "unknown"
        self.written = 0
        self.failing: str | None = None  # the error of the current outage

    def write(self, ts_ms: int | None = None) -> bool:
        try:
            self.store.write_status(self.host, self.fields(), now_ms() if ts_ms is None else ts_ms)
        except Exception as exc:  # whatever it is, collection goes on
            if self.failing is None:
                log.warning("status point to InfluxDB not written (said once until it works again; readings are "
                            "not affected): %s", exc)
            self.failing = str(exc)
            return False
        if self.failing is not None:
            log.info("status points to InfluxDB written again")
            self.failing = None
        self.written += 1
        return True


def _json_docs(text: str) -> Iterator[Any]:
    dec = json.JSONDecoder()
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        doc, i = dec.raw_decode(text, i)
        yield doc


def _error_text(body: bytes | str | None) -> str:
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        doc = json.loads(text)
        if isinstance(doc, dict):
            text = str(doc.get("error") or doc.get("message") or text)
    except ValueError:
        pass
    return text.strip()[:500]


# OpenSSL X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH: the chain is fine, the name is not.
_HOST_MISMATCH = (62, 64)
_warned_unverified: set[str] = set()


def _warn_unverified(url: str) -> None:
    """Once per process and URL: the daemon opens a read-only store for every analytics run."""
    if url in _warned_unverified:
        return
    _warned_unverified.add(url)
    url = redact_url_credentials(url)
    if url.startswith("https://"):
        log.warning("InfluxDB %s: verify_tls = false — the server's certificate is NOT checked, anyone on the "
                    "network path can pose as the server and read the credentials; for a server with its own "
                    "CA set ca_file instead", url)
        # Our own warning above says it once; urllib3 would repeat it for every request.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)


def _cert_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure inside urllib3's (or influxdb-client's) wrapping, if that is the cause."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError):
            return e
        todo += [c for c in (getattr(e, "reason", None), e.__cause__, e.__context__, *e.args)
                 if isinstance(c, BaseException)]
    return None


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"
