"""The ASGI application (Starlette, Jinja2 templates rendered on the server; pages work without JavaScript).

Routes (all under ``[web] root_path`` when the reverse proxy serves the app under a prefix):

* ``/`` — the public CO₂ barometer (no login; only what ``[web.barometer]`` marks public), ``/co2.csv``,
  ``/co2.json`` its open data;
* ``/login``, ``/logout``, ``/login/entra`` + ``/auth/callback`` (OpenID Connect, when configured);
* ``/oversigt`` (portfolio), ``/bygning/{site}`` (views day/week/month/year), ``/alarmer`` (list, filter),
  ``/alarmer/{id}`` (acknowledge, snooze, comment), ``/rapporter`` (archive, on-demand generation) — behind
  the login; a facility manager (``driftsansvarlig``) sees only their buildings: anything else is 404, the
  same answer as for a building that does not exist;
* ``/link/{token}`` — one-click links from alert mails: GET shows a confirmation, POST acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import logging
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from energimon import carriers
from energimon.model import LOCAL_TZ
from energimon.web import charts, data
from energimon.web.accounts import Accounts, User
from energimon.web.links import ACTIONS, LinkError, read_token, secret_key
from energimon.web.security import LoginLimiter, SecurityHeaders, csrf_ok, csrf_token
from energimon.web.settings import Role, WebSettings

log = logging.getLogger("energimon.web")

SESSION_COOKIE = "energimon_session"
# the savings and the solar report in Danish or English (esco.language, [smtp] language and --lang write either into
# esco.reports_dir); after the month: "-" and a file's mark ("-co2", "-tiltag", "-foreloebig" …), then "_" and the
# sites of a report for some buildings ("_soro-raadhus+stenlille-hallen", report.i18n.selection_suffix and
# report_file_name; an older report has its marks after the sites, "_soro-raadhus-co2"), or their count and a digest
# after "~" ("_12-bygninger~3f9a…"; an older report has "-" there); ids may hold "_";
# then a building's own file has "." and its site id (report.i18n.site_file_name; before it "-" and the id, which such a
# file of an older report keeps). The site id begins with a letter or digit, so no ".." can reach the folder.
REPORT_RE = re.compile(r"^(besparelse|solceller|savings|solar)-(?P<year>\d{4})-(?P<month>\d{2})([-_][a-z0-9_+~-]+)?"
                       r"(\.[a-z0-9][a-z0-9_-]*)?\.(?P<ext>pdf|csv|xlsx)$")
# the yearly climate account (report climate; analytics.report.climate_account.file_stem) in the same folder: the year,
# "-foreloebig"/"-preliminary" while it is not over, and "_" and the sites of an account for some buildings (or their
# count and a digest, as above); PDF and XLSX only, no building's own files.
CLIMATE_RE = re.compile(r"^(klimaregnskab|climate-account)-(?P<year>\d{4})(-foreloebig|-preliminary)?"
                        r"(_[a-z0-9][a-z0-9_+~-]*)?\.(?P<ext>pdf|xlsx)$")
MEDIA = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ACTIVE = ("pending", "firing")
STATE_DA = {"pending": "afventer", "firing": "aktiv", "resolved": "løst", "dropped": "forsvundet"}


# -- formatting helpers for the templates -----------------------------------------------------
def fmt_num(x, decimals: int | None = None) -> str:
    """Danish number format ('1.234', '12,5'); missing is '–', never 0."""
    if x is None:
        return "–"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return "–"
    if decimals is None:
        decimals = 0 if abs(x) >= 100 else 1
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def fmt_time(t) -> str:
    if t is None or (isinstance(t, float) and not math.isfinite(t)):
        return "–"
    if isinstance(t, int | float):
        t = dt.datetime.fromtimestamp(t, tz=dt.UTC)
    t = pd.Timestamp(t)
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t.tz_convert(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("energimon.web", "templates"),
                      autoescape=select_autoescape(["html", "xml"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_num
    env.filters["time"] = fmt_time
    env.filters["age"] = data.fmt_age
    env.globals["zip"] = zip
    return env


# -- background report jobs -------------------------------------------------------------------
@dataclass
class ReportJob:
    id: str
    month: dt.date
    by: str
    started: float = field(default_factory=time.time)
    done_sites: int = 0
    total_sites: int = 0
    current: str = ""
    finished: bool = False
    error: str = ""
    files: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        return int(100 * self.done_sites / self.total_sites) if self.total_sites else 0


class WebState:
    """What the app holds between requests: settings, accounts, the store, caches, report jobs."""

    def __init__(self, settings, store_factory: Callable, accounts: Accounts,
                 clock: Callable[[], dt.datetime] | None = None):
        self.settings = settings
        self.web: WebSettings = settings.web or WebSettings()
        self.store_factory = store_factory
        self._store = None
        self._store_lock = threading.Lock()
        self.accounts = accounts
        self.key = secret_key(self.web)
        self.limiter = LoginLimiter(self.web.login_attempts)
        self.clock = clock or (lambda: dt.datetime.now(tz=dt.UTC))
        self.env = _env()
        self.jobs: dict[str, ReportJob] = {}
        self._series: tuple[float, pd.DataFrame] | None = None
        self._barometer: tuple[float, object] | None = None
        self._barometer_lock = threading.Lock()
        self._alert_db = None
        self.oauth = None

    # the store and the alert state, opened on first use (the daemon may not have created them yet)
    def store(self):
        with self._store_lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    def series(self) -> pd.DataFrame:
        """The store's series list, cached for a minute (a new device shows up within a minute)."""
        now = time.monotonic()
        if self._series is None or now - self._series[0] > 60:
            self._series = (now, self.store().series())
        return self._series[1]

    def alert_db(self):
        if self.settings.alerts is None:
            return None
        if self._alert_db is None:
            from energimon.analytics.alerting.state import AlertDB

            self._alert_db = AlertDB(self.settings.alerts.state_path)
        return self._alert_db

    def close(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.close()
        if self._alert_db is not None:
            self._alert_db.close()
        self.accounts.close()

    def site_name(self, site: str) -> str:
        s = self.settings.sites.get(site)
        return s.name if s else site

    def visible_sites(self, user: User) -> list[str]:
        return [s for s in self.settings.sites if user.can_see(s)]


def _state(request: Request) -> WebState:
    return request.app.state.web


def url(request: Request, path: str) -> str:
    """An absolute path under the app's root path (the reverse proxy's prefix)."""
    return request.scope.get("root_path", "").rstrip("/") + path


def render(request: Request, template: str, code: int = 200, headers: dict | None = None, **ctx) -> HTMLResponse:
    st = _state(request)
    user = None if ctx.get("public") else current_user(request)
    ctx.setdefault("title", "energimon")
    body = st.env.get_template(template).render(
        request=request, user=user, url=lambda p: url(request, p),
        # the public barometer sets no cookie (it is cached by proxies): no session, so no CSRF token there
        csrf="" if ctx.get("public") else csrf_token(request.session),
        oidc=st.web.oidc, Role=Role, **ctx)
    return HTMLResponse(body, status_code=code, headers=headers)


def error_page(request: Request, status: int, heading: str, text: str) -> HTMLResponse:
    return render(request, "error.html", code=status, title=heading, heading=heading, text=text)


# -- who is logged in ---------------------------------------------------------------------------
def current_user(request: Request) -> User | None:
    if "session" not in request.scope:
        return None
    sess = request.session
    name = sess.get("u")
    if not name:
        return None
    st = _state(request)
    if time.time() - float(sess.get("t", 0)) > st.web.session_hours * 3600:
        sess.clear()
        return None
    if sess.get("via") == "oidc":
        return User(name, Role(sess["r"]), tuple(sess.get("s", ())), sess.get("n", ""), via="oidc")
    user = st.accounts.get(name)
    if user is None or user.disabled:  # disabled since login: out at the next request
        sess.clear()
        return None
    return user


def require_user(request: Request, role: Role | None = None) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(303, headers={"Location": url(request, "/login?next=" + request.url.path)})
    if role is not None and user.role is not role:
        raise HTTPException(403)
    return user


def require_site(request: Request, user: User, site: str) -> None:
    """A building the user may not see answers exactly like one that does not exist (no probing by URL)."""
    if site not in _state(request).settings.sites or not user.can_see(site):
        raise HTTPException(404)


async def checked_form(request: Request) -> dict:
    form = await request.form()
    sent = form.get("csrf")
    if not csrf_ok(request.session, sent if isinstance(sent, str) else None):  # a file upload is no token
        raise HTTPException(403, detail="csrf")
    return {k: form.get(k) for k in form}


def _login(request: Request, user: User) -> None:
    request.session.clear()  # a new session at login (no session fixation)
    request.session.update({"u": user.username, "r": user.role.value, "s": list(user.sites), "n": user.name,
                            "via": user.via, "t": time.time(), "csrf": secrets.token_urlsafe(24)})


# -- public pages -------------------------------------------------------------------------------
async def barometer_page(request: Request) -> Response:
    st = _state(request)
    b = st.web.barometer
    if b is None or not b.enabled:
        return RedirectResponse(url(request, "/oversigt"), status_code=303)
    from energimon.web.barometer import barometer_view

    view = await run_in_threadpool(barometer_view, st)
    return render(request, "barometer.html", title=f"{b.municipality}s CO₂-barometer", v=view, b=b,
                  public=True, headers={"Cache-Control": f"public, max-age={b.cache_s}"})


async def barometer_data(request: Request) -> Response:
    st = _state(request)
    b = st.web.barometer
    if b is None or not b.enabled:
        raise HTTPException(404)
    from energimon.web.barometer import barometer_view, open_data_rows

    view = await run_in_threadpool(barometer_view, st)
    rows = open_data_rows(view)
    headers = {"Cache-Control": f"public, max-age={b.cache_s}"}
    if request.url.path.endswith(".json"):
        return JSONResponse({"kommune": b.municipality, "beregnet": view.computed_at.isoformat(),
                             "basisaar": view.baseline_year, "maalaar": view.target_year,
                             "reduktionsmaal_pct": view.target_reduction_pct, "aar": rows,
                             "husstand_kwh_pr_aar": b.household_kwh_per_year, "husstand_kilde": b.household_source},
                            headers=headers)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["aar"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    headers["Content-Disposition"] = 'attachment; filename="co2-barometer.csv"'
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


async def healthz(request: Request) -> Response:
    return Response("ok\n", media_type="text/plain")


# -- login --------------------------------------------------------------------------------------
def _safe_next(request: Request, target: str | None) -> str:
    root = request.scope.get("root_path", "").rstrip("/")
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target if target.startswith(root + "/") or not root else root + target
    return url(request, "/oversigt")


async def login(request: Request) -> Response:
    st = _state(request)
    if request.method == "GET":
        return render(request, "login.html", title="Log ind", next=request.query_params.get("next", ""))
    form = await checked_form(request)
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    addr = request.client.host if request.client else "?"
    wait = st.limiter.retry_after_s(username, addr)
    if wait > 0:
        minutes = max(1, math.ceil(wait / 60))
        return render(request, "login.html", code=429, title="Log ind", next=form.get("next", ""),
                      error=f"For mange forkerte forsøg. Prøv igen om {minutes} minut{'ter' if minutes > 1 else ''}.",
                      headers={"Retry-After": str(math.ceil(wait))})
    user = await run_in_threadpool(st.accounts.authenticate, username, password)
    if user is None:
        st.limiter.failed(username, addr)
        await run_in_threadpool(st.accounts.audit, username[:120] or "?", "login_failed", None, addr)
        return render(request, "login.html", code=401, title="Log ind", next=form.get("next", ""),
                      error="Forkert brugernavn eller adgangskode.")
    st.limiter.succeeded(username, addr)
    _login(request, user)
    return RedirectResponse(_safe_next(request, form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse(url(request, "/login"), status_code=303)


async def oidc_login(request: Request) -> Response:
    st = _state(request)
    if st.oauth is None:
        raise HTTPException(404)
    redirect_uri = (st.web.public_url + "/auth/callback") if st.web.public_url else str(
        request.url_for("oidc_callback"))
    return await st.oauth.entra.authorize_redirect(request, redirect_uri)


async def oidc_callback(request: Request) -> Response:
    st = _state(request)
    if st.oauth is None:
        raise HTTPException(404)
    import httpx
    from authlib.integrations.base_client.errors import OAuthError

    from energimon.web.oidc import user_from_claims

    try:
        token = await st.oauth.entra.authorize_access_token(request)
    except OAuthError as exc:
        log.warning("OIDC login refused: %s", exc.error)
        return error_page(request, 401, "Login mislykkedes",
                          "Microsoft-login kunne ikke gennemføres. Prøv igen, eller kontakt energiteamet.")
    except (httpx.HTTPError, ValueError) as exc:  # the provider unreachable or answering garbage
        log.warning("OIDC provider error: %s: %s", type(exc).__name__, exc)
        return error_page(request, 502, "Login mislykkedes",
                          "Microsoft-login svarer ikke lige nu. Prøv igen om lidt, eller log ind med brugernavn.")
    claims = token.get("userinfo") or {}
    user = user_from_claims(st.web.oidc, claims)
    if user is None:
        return error_page(request, 403, "Ingen adgang",
                          "Din konto har ingen rolle i energimon. Bed energiteamet om at give dig adgang.")
    _login(request, user)
    await run_in_threadpool(st.accounts.audit, user.username, "login", None, "oidc")
    return RedirectResponse(url(request, "/oversigt"), status_code=303)


# -- the energy team's and facility managers' pages -----------------------------------------------
async def portfolio(request: Request) -> Response:
    user = require_user(request)
    st = _state(request)
    rows = await run_in_threadpool(_portfolio_rows, st, user)
    return render(request, "portfolio.html", title="Oversigt", rows=rows, now=st.clock())


def _open_alerts(st: WebState) -> list:
    db = st.alert_db()
    return db.alerts(ACTIVE) if db is not None else []


def _portfolio_rows(st: WebState, user: User) -> list[data.PortfolioRow]:
    """Per building: this month so far against the same days last year — degree-day corrected
    (``Q · ((1 − f) · G_now / G_last + f)``) where ``[esco.sites.<id>] weather_independent_share`` gives f and
    the ESCO temperature series has both periods — and against the same days of the ESCO baseline year."""
    from energimon.analytics.degree_days import graddagekorrektion
    from energimon.model import SeriesKey

    store, series, now = st.store(), st.series(), st.clock()
    latest = store.latest()
    alerts = _open_alerts(st)
    esco = st.settings.esco
    rows = []
    for site in st.visible_sites(user):
        counters = data.site_counters(series, site)
        imports = counters.get("import", [])
        month, last_year = data.month_so_far_kwh(store, imports, now)
        heat, heat_ly = data.month_so_far_kwh(store, counters.get(carriers.DISTRICT_HEATING.key, []), now)
        base, corrected = math.nan, False
        cfg = esco.sites.get(site) if esco is not None else None
        if cfg is not None:
            base = data.same_days_kwh(store, imports, now, esco.baseline_start.year)
            if cfg.weather_independent_share is not None:
                temp = SeriesKey(*(cfg.temperature or esco.temperature).split("/"))
                g_now, g_ly = data.degree_days_so_far(store, temp, now)
                if math.isfinite(g_now) and math.isfinite(g_ly) and g_ly > 0:
                    last_year = float(graddagekorrektion(last_year, g_ly, g_now, cfg.weather_independent_share))
                    heat_ly = float(graddagekorrektion(heat_ly, g_ly, g_now, cfg.weather_independent_share))
                    corrected = True
        area = st.settings.sites[site].floor_area_m2
        ages = [h.age_s for h in data.device_health(latest, site, now) if h.age_s is not None]
        rows.append(data.PortfolioRow(site, st.site_name(site), month, last_year, heat, heat_ly,
                                      month / area if area else math.nan,
                                      sum(1 for a in alerts if a["site"] == site), max(ages) if ages else None,
                                      base, corrected))
    return rows


async def building(request: Request) -> Response:
    user = require_user(request)
    site = request.path_params["site"]
    require_site(request, user, site)
    st = _state(request)
    view = request.query_params.get("view", "week")
    try:
        day = dt.date.fromisoformat(request.query_params["date"]) if "date" in request.query_params else \
            st.clock().astimezone(LOCAL_TZ).date()
        p = data.period(view, day)
    except ValueError:
        return error_page(request, 400, "Ugyldig periode", "Vælg dag, uge, måned eller år og en gyldig dato.")
    ctx = await run_in_threadpool(_building_context, st, site, p)
    return render(request, "building.html", title=st.site_name(site), site=site, p=p, views=data.VIEWS, **ctx)


def _building_context(st: WebState, site: str, p: data.Period) -> dict:
    store, now = st.store(), st.clock()
    bd = data.building_data(store, st.series(), site, p, now)
    charts_ = []
    for c in bd.carriers:
        labels = [data.window_label(p.view, t) for t in c.kwh.index]
        charts_.append((c, labels, charts.bar_chart(labels, c.kwh.tolist(), f"{c.label}, {p.label}", c.unit,
                                                    chart_id=f"c-{c.key}")))
    power = None
    if bd.power_w is not None and bd.power_w.notna().any():
        kw = (bd.power_w / 1000.0)
        labels = [f"{t:%H:%M}" if p.view == "day" else f"{data.WEEKDAYS_DA[t.weekday()]} {t:%H}" for t in kw.index]
        power = (kw, labels, charts.line_chart(labels, kw.tolist(), f"Effekt fra nettet, {p.label}", "kW",
                                               chart_id="c-power"))
    db = st.alert_db()
    history = db.history(sites=(site,), limit=50) if db is not None else []
    health = data.device_health(store.latest(), site, now)
    s = st.settings.sites[site]
    return {"bd": bd, "charts": charts_, "power": power, "history": history, "health": health, "s": s,
            "rule_title": _rule_title, "state_da": STATE_DA}


def _rule_title(row) -> str:
    from energimon.analytics.alerting.lifecycle import finding_from_json
    from energimon.analytics.alerting.mail import rule_texts

    try:
        return rule_texts(finding_from_json(row["finding"]), "da")[0]
    except (ValueError, TypeError, KeyError):
        return row["rule"]


def _rule_what(row) -> str:
    from energimon.analytics.alerting.lifecycle import finding_from_json
    from energimon.analytics.alerting.mail import rule_texts

    try:
        return rule_texts(finding_from_json(row["finding"]), "da")[1]
    except (ValueError, TypeError, KeyError):
        return ""


async def alerts_list(request: Request) -> Response:
    user = require_user(request)
    st = _state(request)
    q = request.query_params
    status = q.get("status", "aktive")
    site = q.get("site") or None
    if site is not None:
        require_site(request, user, site)
    states = ACTIVE if status == "aktive" else ("resolved", "dropped") if status == "afsluttede" else \
        ("pending", "firing", "resolved", "dropped")
    db = st.alert_db()
    sites = (site,) if site else tuple(st.visible_sites(user))
    rows = await run_in_threadpool(db.history, states, sites, 500) if db is not None else []
    rule = q.get("rule") or None
    if rule:
        rows = [r for r in rows if r["rule"] == rule]
    now = st.clock().timestamp()
    return render(request, "alerts.html", title="Alarmer", rows=rows, status=status, site=site, rule=rule,
                  sites=[(s, st.site_name(s)) for s in st.visible_sites(user)], site_name=st.site_name,
                  rule_title=_rule_title, state_da=STATE_DA, now=now, configured=db is not None)


def _visible_alert(request: Request, user: User, alert_id: int):
    db = _state(request).alert_db()
    row = db.alert(alert_id) if db is not None else None
    if row is None or not user.can_see(row["site"]):
        raise HTTPException(404)
    return row


async def alert_detail(request: Request) -> Response:
    user = require_user(request)
    st = _state(request)
    row = _visible_alert(request, user, request.path_params["id"])
    log_entries = await run_in_threadpool(st.accounts.audit_entries, row["id"])
    return render(request, "alert.html", title=f"Alarm {row['id']}", a=row, site_name=st.site_name(row["site"]),
                  rule_title=_rule_title(row), what=_rule_what(row), log=log_entries, state_da=STATE_DA,
                  now=st.clock().timestamp(), active=row["state"] in ACTIVE, message=request.query_params.get("ok"))


async def alert_action(request: Request) -> Response:
    user = require_user(request)
    st = _state(request)
    form = await checked_form(request)
    row = _visible_alert(request, user, request.path_params["id"])
    action = request.path_params["action"]
    db = st.alert_db()
    now = st.clock()
    if action == "kommentar":
        text = (form.get("text") or "").strip()
        if not text:
            return RedirectResponse(url(request, f"/alarmer/{row['id']}"), status_code=303)
        await run_in_threadpool(st.accounts.audit, user.username, "comment", row["id"], text[:2000])
        msg = "kommentar"
    elif action == "kvitter":
        if not await run_in_threadpool(db.ack, row["id"], now, user.username):
            return error_page(request, 409, "Kan ikke kvitteres", "Alarmen er ikke længere aktiv.")
        await run_in_threadpool(st.accounts.audit, user.username, "ack", row["id"], "")
        msg = "kvitteret"
    elif action == "udsaet":
        try:
            hours = float(form.get("hours") or 24)
        except ValueError:
            hours = -1
        if not 1 <= hours <= 24 * 30:
            return error_page(request, 400, "Ugyldig udsættelse", "Vælg mellem 1 time og 30 dage.")
        until = now + dt.timedelta(hours=hours)
        if not await run_in_threadpool(db.snooze, row["id"], until):
            return error_page(request, 409, "Kan ikke udsættes", "Alarmen er ikke længere aktiv.")
        await run_in_threadpool(st.accounts.audit, user.username, "snooze", row["id"], f"til {fmt_time(until)}")
        msg = "udsat"
    else:
        raise HTTPException(404)
    return RedirectResponse(url(request, f"/alarmer/{row['id']}?ok={msg}"), status_code=303)


# -- reports ------------------------------------------------------------------------------------
def reports_dir(st: WebState) -> Path | None:
    return st.settings.esco.reports_dir if st.settings.esco is not None else None


def report_files(folder: Path | None) -> dict[str, list[tuple[str, str, int]]]:
    """Month 'YYYY-MM' → [(file name, kind, bytes)], newest month first (only the report file names)."""
    return _archive(folder, REPORT_RE, lambda m: f"{m['year']}-{m['month']}")


def climate_files(folder: Path | None) -> dict[str, list[tuple[str, str, int]]]:
    """Year 'YYYY' → [(file name, kind, bytes)] of the climate accounts, newest year first."""
    return _archive(folder, CLIMATE_RE, lambda m: m["year"])


def report_match(name: str) -> re.Match[str] | None:
    """A monthly report's or a climate account's file name; None: no file the archive serves."""
    return REPORT_RE.match(name) or CLIMATE_RE.match(name)


def _archive(folder: Path | None, pattern: re.Pattern[str],
             key: Callable[[re.Match[str]], str]) -> dict[str, list[tuple[str, str, int]]]:
    out: dict[str, list[tuple[str, str, int]]] = {}
    if folder is None or not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        m = pattern.match(p.name)
        if m and p.is_file():
            out.setdefault(key(m), []).append((p.name, m["ext"], p.stat().st_size))
    return dict(sorted(out.items(), reverse=True))


async def reports(request: Request) -> Response:
    require_user(request, Role.ENERGI)
    st = _state(request)
    files = await run_in_threadpool(report_files, reports_dir(st))
    accounts = await run_in_threadpool(climate_files, reports_dir(st))
    today = st.clock().astimezone(LOCAL_TZ).date()
    months = [(today.replace(day=1) - dt.timedelta(days=31 * i)).replace(day=1) for i in range(0, 24)]
    jobs = sorted(st.jobs.values(), key=lambda j: j.started, reverse=True)[:10]
    return render(request, "reports.html", title="Rapporter", files=files, accounts=accounts, months=months, jobs=jobs,
                  configured=st.settings.esco is not None)


async def report_download(request: Request) -> Response:
    require_user(request, Role.ENERGI)
    st = _state(request)
    name = request.path_params["name"]
    folder = reports_dir(st)
    m = report_match(name)
    if folder is None or m is None:
        raise HTTPException(404)
    path = folder / name  # the name matched a strict pattern: no '/' or '..' can reach here
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, media_type=MEDIA[m["ext"]], filename=name)


async def report_generate(request: Request) -> Response:
    user = require_user(request, Role.ENERGI)
    st = _state(request)
    form = await checked_form(request)
    if st.settings.esco is None:
        return error_page(request, 400, "Ingen ESCO-opsætning", "Konfigurationen har ingen [esco]-tabel.")
    try:
        month = dt.date.fromisoformat((form.get("month") or "") + "-01")
    except ValueError:
        return error_page(request, 400, "Ugyldig måned", "Vælg en måned som ÅÅÅÅ-MM.")
    job = ReportJob(uuid.uuid4().hex[:12], month, user.username, total_sites=len(st.settings.esco.sites))
    st.jobs[job.id] = job
    threading.Thread(target=_run_report, args=(st, job), name=f"report-{job.id}", daemon=True).start()
    await run_in_threadpool(st.accounts.audit, user.username, "report", None, f"besparelsesrapport {month:%Y-%m}")
    return RedirectResponse(url(request, f"/rapporter/job/{job.id}"), status_code=303)


def _run_report(st: WebState, job: ReportJob) -> None:
    from energimon.analytics.report.savings_report import generate_savings_report
    from energimon.store import open_store

    def progress(i: int, n: int, site: str) -> None:
        job.done_sites, job.total_sites, job.current = i, n, st.site_name(site)

    try:
        store = open_store(st.settings.store, readonly=True)
        try:
            files = generate_savings_report(st.settings, store, job.month, progress=progress,
                                            today=st.clock().astimezone(LOCAL_TZ).date())
        finally:
            store.close()
        # every file the report wrote, from the report's own list (the CLI prints the same): the measures' and the
        # CO₂ CSV and the buildings' PDFs too
        job.files = [Path(p).name for p in files.paths()]
    except Exception as exc:  # shown on the job page; the server goes on
        log.exception("report %s failed", job.month)
        job.error = str(exc) or type(exc).__name__
    finally:
        job.finished = True


async def report_job(request: Request) -> Response:
    require_user(request, Role.ENERGI)
    job = _state(request).jobs.get(request.path_params["id"])
    if job is None:
        raise HTTPException(404)
    # Without JavaScript the page reloads itself every 2 s while the job runs (a meta refresh; CSP allows it).
    return render(request, "report_job.html", title=f"Rapport {job.month:%Y-%m}", job=job)


# -- one-click links from alert mails ------------------------------------------------------------
def _link_claim(request: Request):
    st = _state(request)
    try:
        claim = read_token(st.key, request.path_params["token"], st.web.link_valid_days * 86400)
    except LinkError as exc:
        if exc.reason == "expired":
            return None, error_page(request, 410, "Linket er udløbet",
                                    f"Links i alarm-mails virker i {fmt_num(st.web.link_valid_days)} dage. "
                                    "Log ind for at kvittere eller udsætte alarmen.")
        return None, error_page(request, 400, "Ugyldigt link",
                                "Linket er ikke gyldigt (det kan være ændret eller afkortet). Brug linket i "
                                "mailen, eller log ind.")
    used = st.accounts.link_used(claim.nonce)
    if used is not None:
        return None, error_page(request, 409, "Linket er allerede brugt",
                                f"Dette link blev brugt {fmt_time(used)}. Et link virker kun én gang.")
    db = st.alert_db()
    row = db.alert(claim.alert_id) if db is not None else None
    if row is None:
        return None, error_page(request, 404, "Alarmen findes ikke", "Alarmen findes ikke længere.")
    return (claim, row), None


async def link(request: Request) -> Response:
    st = _state(request)
    got, err = await run_in_threadpool(_link_claim, request)
    if err is not None:
        return err
    claim, row = got
    label, hours = ACTIONS[claim.action]
    active = row["state"] in ACTIVE
    if request.method == "GET":
        return render(request, "link.html", title=label, label=label, hours=hours, a=row, active=active,
                      site_name=st.site_name(row["site"]), rule_title=_rule_title(row), done=False)
    await checked_form(request)
    if not active:
        return render(request, "link.html", code=409, title=label, label=label, hours=hours, a=row, active=False,
                      site_name=st.site_name(row["site"]), rule_title=_rule_title(row), done=False)
    if not await run_in_threadpool(st.accounts.use_link, claim.nonce, claim.action):
        return error_page(request, 409, "Linket er allerede brugt", "Et link virker kun én gang.")
    db, now = st.alert_db(), st.clock()
    who = f"mail:{claim.recipient}" if claim.recipient else "link i alarm-mail"
    if hours is None:
        ok = await run_in_threadpool(db.ack, row["id"], now, who)
        detail = ""
    else:
        until = now + dt.timedelta(hours=hours)
        ok = await run_in_threadpool(db.snooze, row["id"], until)
        detail = f"til {fmt_time(until)}"
    if ok:
        await run_in_threadpool(st.accounts.audit, who, "ack" if hours is None else "snooze", row["id"], detail)
    return render(request, "link.html", title=label, label=label, hours=hours, a=row, active=ok, done=ok,
                  detail=detail, site_name=st.site_name(row["site"]), rule_title=_rule_title(row))


# -- errors ------------------------------------------------------------------------------------
async def http_error(request: Request, exc: Exception) -> Response:
    """The error pages; registered for HTTPException only (starlette types a handler as taking any Exception)."""
    if not isinstance(exc, HTTPException):
        raise exc
    if exc.status_code in (301, 302, 303, 307):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if exc.status_code == 403 and exc.detail == "csrf":
        return error_page(request, 403, "Formularen er udløbet",
                          "Siden var for gammel, eller formularen kom ikke fra energimon. Gå tilbage, genindlæs "
                          "siden og prøv igen.")
    if exc.status_code == 403:
        return error_page(request, 403, "Ingen adgang", "Din rolle giver ikke adgang til denne side.")
    if exc.status_code == 404:
        return error_page(request, 404, "Siden findes ikke", "Siden findes ikke, eller du har ikke adgang til den.")
    return error_page(request, exc.status_code, "Fejl", str(exc.detail))


def create_app(settings, store_factory: Callable | None = None, accounts: Accounts | None = None,
               clock: Callable[[], dt.datetime] | None = None) -> Starlette:
    """The application for ``settings`` (its ``[web]`` table; defaults when absent)."""
    web = settings.web or WebSettings()
    if store_factory is None:
        from energimon.store import open_store

        def store_factory():
            return open_store(settings.store, readonly=True)

    state = WebState(settings, store_factory, accounts or Accounts(web.data_dir), clock)
    if web.oidc is not None:
        from energimon.web.oidc import make_oauth

        state.oauth = make_oauth(web.oidc)
    static = Path(__file__).parent / "static"
    routes = [
        Route("/", barometer_page, name="barometer"),
        Route("/co2", barometer_page),
        Route("/co2.csv", barometer_data),
        Route("/co2.json", barometer_data),
        Route("/healthz", healthz),
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/logout", logout, methods=["POST"]),
        Route("/login/entra", oidc_login),
        Route("/auth/callback", oidc_callback, name="oidc_callback"),
        Route("/oversigt", portfolio, name="portfolio"),
        Route("/bygning/{site}", building),
        Route("/alarmer", alerts_list),
        Route("/alarmer/{id:int}", alert_detail),
        Route("/alarmer/{id:int}/{action}", alert_action, methods=["POST"]),
        Route("/rapporter", reports),
        Route("/rapporter/fil/{name}", report_download),
        Route("/rapporter/generer", report_generate, methods=["POST"]),
        Route("/rapporter/job/{id}", report_job),
        Route("/link/{token}", link, methods=["GET", "POST"]),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders, hsts=web.secure_cookies),
        Middleware(SessionMiddleware, secret_key=state.key, session_cookie=SESSION_COOKIE,
                   max_age=int(web.session_hours * 3600), same_site="lax", https_only=web.secure_cookies,
                   path=(web.root_path or "") + "/"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await asyncio.to_thread(state.close)

    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error},
                    lifespan=lifespan)
    app.state.web = state
    return app
