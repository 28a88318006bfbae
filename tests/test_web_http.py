"""The web application over HTTP on a real uvicorn server (no browser): headers, cookies, login throttling,
the reverse proxy's prefix and scheme, report file names, users from the CLI, configuration errors; the
barometer's and the building page's numbers against hand computation and the store's own energy."""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import signal

import httpx
import numpy as np
import pandas as pd
import pytest
from helpers.wait import wait_for
from helpers.web_http import csrf_token, login, web_settings, write_counter
from web_support import PASSWORD, TZ, WebServer

from energimon.config.settings import ConfigError, settings_from_dict
from energimon.model import LOCAL_TZ, Reading, SeriesKey
from energimon.store.sqlite import SqliteStore
from energimon.web.accounts import Accounts
from energimon.web.app import create_app


def test_headers_cookies_and_login_throttling(served):
    _, srv = served()
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        r = c.get(f"{srv.url}/login")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain http here
        # five wrong passwords, then even the right one waits (OWASP: throttle per user and per address)
        for _ in range(5):
            assert login(c, srv.url, "forkert-kodeord").status_code == 401
        r = login(c, srv.url)
        assert r.status_code == 429 and 800 < int(r.headers["retry-after"]) <= 900
        assert "For mange forkerte forsøg" in r.text
    with httpx.Client(follow_redirects=False, timeout=20) as c:  # another user name is not locked out …
        assert login(c, srv.url, user="ukendt@soroe.dk").status_code == 429  # … from the same address


def test_behind_a_proxy_prefix_and_https(served, tmp_path):
    _, srv = served(root_path="/energi", public_url="https://energi.soroe.dk/energi")
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        # what nginx sends (X-Forwarded-Proto from a trusted proxy on 127.0.0.1): links keep the prefix, the
        # cookie is Secure, HSTS is on
        h = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.1.2.3"}
        r = c.get(f"{srv.url}/login", headers=h)
        assert r.status_code == 200 and 'href="/energi/static/style.css"' in r.text
        assert "secure" in r.headers["set-cookie"].lower() and "path=/energi/" in r.headers["set-cookie"].lower()
        assert "strict-transport-security" in r.headers
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        # the browser sends the Secure cookie to https://energi.soroe.dk/energi/…; here we talk to the backend
        h["Cookie"] = r.headers["set-cookie"].split(";")[0]
        r = c.post(f"{srv.url}/login", headers=h, data={"username": "energi@soroe.dk", "password": PASSWORD,
                                                        "csrf": csrf, "next": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/energi/oversigt"  # no open redirect
        h["Cookie"] = r.headers["set-cookie"].split(";")[0]
        r = c.get(f"{srv.url}/oversigt", headers=h)
        assert r.status_code == 200 and 'href="/energi/bygning/a"' in r.text
        assert c.get(f"{srv.url}/static/style.css").status_code == 200


def test_report_files_only_by_their_exact_names(served):
    s, srv = served()
    s.esco.reports_dir.mkdir(parents=True)
    (s.esco.reports_dir / "besparelse-2026-02.csv").write_text("måned;kWh\n2026-02;1\n", encoding="utf-8")
    (s.esco.reports_dir / "hemmelig.txt").write_text("x", encoding="utf-8")
    # a report for some buildings (report savings --site a --site b_c) is one of the month's files too
    (s.esco.reports_dir / "besparelse-2026-02_a+b_c.csv").write_text("måned;kWh\n2026-02;2\n", encoding="utf-8")
    # a building's own file: the report's name, "." and the site id (report.i18n.site_file_name)
    (s.esco.reports_dir / "besparelse-2026-02_a+b_c.b_c.csv").write_text("måned;kWh\n2026-02;3\n", encoding="utf-8")
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        assert c.get(f"{srv.url}/rapporter/fil/besparelse-2026-02.csv").status_code == 303  # login first
        assert login(c, srv.url).status_code == 303
        r = c.get(f"{srv.url}/rapporter/fil/besparelse-2026-02.csv")
        assert r.status_code == 200 and r.text.startswith("måned;kWh") and "attachment" in r.headers[
            "content-disposition"]
        for bad in ("hemmelig.txt", "..%2Fstore.db", "besparelse-2026-02.csv%00.txt", "besparelse-2026-03.pdf",
                    "besparelse-2026-02..csv", "besparelse-2026-02.b_c.x.csv", "besparelse-2026-02._b.csv"):
            assert c.get(f"{srv.url}/rapporter/fil/{bad}").status_code == 404, bad
        listing = c.get(f"{srv.url}/rapporter").text
        assert "hemmelig" not in listing and "besparelse-2026-02_a+b_c.csv" in listing
        assert c.get(f"{srv.url}/rapporter/fil/besparelse-2026-02_a+b_c.csv").text.endswith("2026-02;2\n")
        assert "besparelse-2026-02_a+b_c.b_c.csv" in listing
        assert c.get(f"{srv.url}/rapporter/fil/besparelse-2026-02_a+b_c.b_c.csv").text.endswith("2026-02;3\n")


def test_the_archive_lists_and_serves_the_reports_written_in_english(served):
    # esco.language = "en" writes savings-…, [smtp] language = "en" the mailed solar-… report, into the same folder
    s, srv = served()
    s.esco.reports_dir.mkdir(parents=True)
    names = ["savings-2026-02.pdf", "savings-2026-02-preliminary.csv", "savings-2026-02_a+b.xlsx",
             "savings-2026-02-preliminary.measures.csv", "savings-2026-02_a+b.a.pdf", "savings-2026-02-co2.csv",
             "savings-2026-02_12-sites-0123abcd-co2.csv", "savings-2026-02-preliminary-co2_a+b.csv",
             "savings-2026-02-measures_a.csv", "savings-2026-02_a-co2.csv", "solar-2026-02.csv", "solar-2026-02_a.pdf",
             # a report for many buildings: their count and a digest after "~" (before, "-", as above)
             "savings-2026-02-co2_12-sites~0123456789abcdef.csv", "savings-2026-02_12-sites~0123456789abcdef.a.pdf",
             "besparelse-2026-02-foreloebig_12-bygninger~0123456789abcdef.xlsx",
             "solceller-2026-02_12-bygninger~0123456789abcdef.pdf",
             "solceller-2026-02.csv"]
    for name in names:
        (s.esco.reports_dir / name).write_text(f"{name}\n", encoding="utf-8")
    (s.esco.reports_dir / "solarium-2026-02.pdf").write_text("x", encoding="utf-8")
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        assert login(c, srv.url).status_code == 303
        listing = c.get(f"{srv.url}/rapporter").text
        for name in names:
            assert f"/rapporter/fil/{name}" in listing, name
            r = c.get(f"{srv.url}/rapporter/fil/{name}")
            assert r.status_code == 200 and r.text == f"{name}\n", name
        assert "solarium" not in listing
        assert c.get(f"{srv.url}/rapporter/fil/solarium-2026-02.pdf").status_code == 404


def test_the_archive_lists_and_serves_the_climate_accounts_by_year(served):
    # report climate writes its yearly files into the same folder (analytics.report.climate_account.file_stem): the
    # year, "-foreloebig" while it is not over, "_" and the sites of an account for some buildings; Danish or English
    s, srv = served()
    s.esco.reports_dir.mkdir(parents=True)
    names = ["klimaregnskab-2025.pdf", "klimaregnskab-2025.xlsx", "klimaregnskab-2025_b.pdf",
             "klimaregnskab-2025_a+b_c.xlsx", "klimaregnskab-2026-foreloebig.pdf",
             "klimaregnskab-2026-foreloebig_12-bygninger-0123abcd.xlsx", "climate-account-2024.pdf",
             "klimaregnskab-2025_12-bygninger~0123456789abcdef.pdf",
             "climate-account-2025_3-sites~0123456789abcdef.xlsx",
             "climate-account-2026-preliminary_a.xlsx"]
    for name in names:
        (s.esco.reports_dir / name).write_text(f"{name}\n", encoding="utf-8")
    (s.esco.reports_dir / "besparelse-2026-02.csv").write_text("måned;kWh\n2026-02;1\n", encoding="utf-8")
    bad = ["klimaregnskab-2025.csv", "klimaregnskab-25.pdf", "klimaregnskab-2025_.pdf", "klimaregnskab-2025..pdf",
           "klimaregnskab-2025.b.pdf", "klimaregnskab-2025-endelig.pdf", "klimaregnskab-2025__b.pdf",
           "climate-account-2025-foreloebig-preliminary.pdf"]
    for name in bad:
        (s.esco.reports_dir / name).write_text("x", encoding="utf-8")
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        assert c.get(f"{srv.url}/rapporter/fil/klimaregnskab-2025.pdf").status_code == 303  # login first
        assert login(c, srv.url).status_code == 303
        listing = c.get(f"{srv.url}/rapporter").text
        for name in names:
            assert f'href="/rapporter/fil/{name}"' in listing, name
            r = c.get(f"{srv.url}/rapporter/fil/{name}")
            assert r.status_code == 200 and r.text == f"{name}\n" and "attachment" in r.headers[
                "content-disposition"], name
        assert c.get(f"{srv.url}/rapporter/fil/klimaregnskab-2025.xlsx").headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        for name in [*bad, "klimaregnskab-2023.pdf", "..%2Fklimaregnskab-2025.pdf"]:
            assert f"/rapporter/fil/{name}" not in listing, name
            assert c.get(f"{srv.url}/rapporter/fil/{name}").status_code == 404, name
        # a group per year, newest first, beside (not among) the months
        years = re.findall(r'<tr><th scope="row">(\d{4})</th>', listing)
        assert years == ["2026", "2025", "2024"], years
        assert "Klima- og energiregnskaber pr. år" in listing
        assert "besparelse-2026-02.csv" in listing  # the months are still listed
        assert c.get(f"{srv.url}/rapporter/fil/besparelse-2026-02.csv").status_code == 200


def test_users_from_the_command_line(tmp_path, monkeypatch, capsys, served):
    from energimon.app.cli import main

    cfg = tmp_path / "energimon.toml"
    cfg.write_text('[sites.a]\nname = "A"\nlatitude = 55.4\nlongitude = 11.5\n[store]\npath = "store.db"\n'
                   '[web]\ndata_dir = "web"\n', encoding="utf-8")
    monkeypatch.setenv("ENERGIMON_PASSWORD", "en lang nok adgangskode")
    assert main(["users", "add", "drift@soroe.dk", "--role", "driftsansvarlig", "--site", "a", "-c", str(cfg)]) == 0
    assert main(["users", "add", "x@soroe.dk", "--role", "driftsansvarlig", "-c", str(cfg)]) == 1
    assert "skal have mindst én bygning" in capsys.readouterr().err  # Danish by default
    assert main(["users", "add", "y@soroe.dk", "--role", "driftsansvarlig", "--site", "nope", "-c", str(cfg)]) == 1
    assert "ukendte bygninger nope; kendte bygninger: a" in capsys.readouterr().err
    assert main(["--lang", "en", "users", "add", "y@soroe.dk", "--role", "driftsansvarlig", "--site", "nope",
                 "-c", str(cfg)]) == 1
    assert "unknown site(s) nope; known sites: a" in capsys.readouterr().err
    monkeypatch.setenv("ENERGIMON_PASSWORD", "kort")
    assert main(["users", "passwd", "drift@soroe.dk", "-c", str(cfg)]) == 1
    assert "mindst 10 tegn" in capsys.readouterr().err
    acc = Accounts(tmp_path / "web")
    assert acc.authenticate("drift@soroe.dk", "en lang nok adgangskode").sites == ("a",)
    stored = acc.conn.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "en lang nok" not in stored
    assert main(["users", "disable", "drift@soroe.dk", "-c", str(cfg)]) == 0
    assert acc.authenticate("drift@soroe.dk", "en lang nok adgangskode") is None
    assert main(["users", "list", "-c", str(cfg)]) == 0
    assert "drift@soroe.dk                 driftsansvarlig  SPÆRRET  bygninger: a" in capsys.readouterr().out
    acc.close()


def test_a_user_disabled_while_logged_in_is_logged_out(served):
    s, srv = served()
    with httpx.Client(follow_redirects=False, timeout=20) as c:
        assert login(c, srv.url).status_code == 303
        assert c.get(f"{srv.url}/oversigt").status_code == 200
        acc = Accounts(s.web.data_dir)
        acc.set_disabled("energi@soroe.dk")
        acc.close()
        r = c.get(f"{srv.url}/oversigt")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_config_errors_name_the_key(tmp_path):
    base = {"sites": {"a": {"name": "A", "latitude": 55.4, "longitude": 11.5}}}
    cases = [
        ({"barometer": {"baseline_year": 2019, "sites": {"zz": {"name": "Z"}}}}, "web.barometer.sites.zz",
         "unknown site 'zz'; known sites: a"),
        ({"barometer": {"baseline_year": 2019, "baseline_t_co2": 10}}, "web.barometer",
         "baseline_source is required"),
        ({"public_url": "energi.soroe.dk"}, "web.public_url", "is not an http(s) URL"),
        ({"secret_key": "kort"}, "web", "at least 32 characters"),
        ({"listen": "127.0.0.1"}, "web.listen", "is not host:port"),
        ({"barometer": {"baseline_year": 2019, "sites": {"a": {"name": "A", "energy_mark": "H"}}}},
         "web.barometer.sites.a.energy_mark", "not a Danish energy label"),
    ]
    for web, key, text in cases:
        with pytest.raises(ConfigError) as e:
            settings_from_dict({**base, "web": web})
        assert any(p.key == key and text in p.message for p in e.value.problems), (key, e.value.problems)


def test_no_links_in_alert_mails_without_public_url(tmp_path):
    from energimon.web.links import LinkError, mail_links, make_token, read_token

    s = web_settings(tmp_path)
    assert mail_links(s, 7) == []
    s2 = web_settings(tmp_path, public_url="https://energi.soroe.dk")
    links = mail_links(s2, 7)
    assert [label for label, _ in links] == ["Kvittér", "Udsæt 1 dag", "Udsæt 1 uge"]
    assert all(u.startswith("https://energi.soroe.dk/link/") for _, u in links)
    key = "k" * 40
    claim = read_token(key, make_token(key, 7, "snooze7d"), 3600)
    assert (claim.alert_id, claim.action) == (7, "snooze7d")
    with pytest.raises(LinkError, match="invalid"):  # signed with another key (another installation)
        read_token("x" * 40, make_token(key, 7, "ack"), 3600)
    # a session cookie signed with the same key is not a link (another salt)
    from itsdangerous import URLSafeTimedSerializer

    with pytest.raises(LinkError, match="invalid"):
        read_token(key, URLSafeTimedSerializer(key).dumps({"a": 7, "x": "ack", "n": "n"}), 3600)


# -- the numbers ------------------------------------------------------------------------------------------
def test_barometer_against_hand_computation(tmp_path):
    from energimon.analytics.barometer import compute_barometer, households, target_path_t
    from energimon.analytics.climate_account import Factor

    store = SqliteStore(tmp_path / "s.db")
    # a constant 10 kW from 2024-12-31 to now+: 2025 has 8,760 h → 87,600 kWh; PV a constant 2 kW → 17,520 kWh
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-03-01", 10.0)
    write_counter(store, "a", "pv", "pv_energy_wh", "pv", "2024-12-31", "2026-03-01", 2.0)
    write_counter(store, "b", "m", "energy_import_wh", "grid", "2024-12-31", "2026-03-01", 5.0)  # not public

    def factor(carrier, year):
        return Factor(2025, 0.12, "testværdi") if carrier == "electricity" and year >= 2025 else None

    now = dt.datetime(2026, 2, 1, 12, 0, tzinfo=LOCAL_TZ)
    b = compute_barometer(store, ["a"], baseline_year=2019, target_year=2030, reduction_pct=70, factor=factor,
                          baseline_t=60.0, baseline_source="klimaplan", now=now)
    y = {r.year: r for r in b.years}
    assert y[2025].kwh["electricity"] == pytest.approx(87_600, abs=0.5)
    assert y[2025].t_co2 == pytest.approx(87_600 * 0.12 / 1000, abs=1e-3)  # 10.512 t
    assert y[2025].pv_kwh == pytest.approx(17_520, abs=0.5) and y[2025].complete
    # 2026 up to 1 Feb 12:00: 31 days + 12 h = 756 h × 10 kW (the last reading before now: on the quarter hour)
    assert y[2026].kwh["electricity"] == pytest.approx(7_560, abs=0.5) and y[2026].partial_year
    assert math.isnan(y[2024].t_co2)  # no factor before 2025 and no data: unknown, not 0
    # the path: 60 t in 2019 → 18 t in 2030, straight: 2025 = 60 × (1 − 0.7 × 6/11)
    assert y[2025].target_t == pytest.approx(60 * (1 - 0.7 * 6 / 11))
    assert target_path_t(60, 2019, 2030, 70, 2030) == pytest.approx(18.0)
    assert b.pv_today_kwh == pytest.approx(24.0, abs=0.01)  # 2 kW × 12 h
    assert households(17_520, 4_000) == 4.3  # 4.38 rounded down to one decimal
    store.close()


def test_building_year_view_matches_the_stores_energy(tmp_path):
    from energimon.web import data

    store = SqliteStore(tmp_path / "s.db")
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2025-12-20", "2027-01-02", 7.0, step="5min")
    p = data.period("year", dt.date(2026, 6, 1))
    now = dt.datetime(2027, 1, 1, 12, tzinfo=LOCAL_TZ)
    months = data.energy_kwh(store, SeriesKey("a", "m", "energy_import_wh"), p.start, p.end, "month", now)
    exact = store.energy(SeriesKey("a", "m", "energy_import_wh"), p.start, p.end, "month").windows["energy_wh"]
    assert len(months) == 12
    # the counter at or before each month edge vs interpolated edges: 5-minute data, both on the edge → equal
    # (at most one interval, 7 kW × 5 min, apart)
    assert np.allclose(months.to_numpy(), exact.to_numpy() / 1000, atol=7.0 * 5 / 60 + 1e-6)
    assert months.iloc[2] == pytest.approx(7.0 * (31 * 24 - 1), abs=0.2)  # March: 743 h (DST)
    w = data.period("week", dt.date(2026, 10, 21))
    week = data.energy_kwh(store, SeriesKey("a", "m", "energy_import_wh"), w.start, w.end, "day", now)
    assert week.tolist()[:4] == pytest.approx([168.0] * 4, abs=1e-6)
    store.close()


def test_portfolio_against_last_year_degree_day_corrected_and_the_baseline(tmp_path):
    from energimon.web.accounts import User
    from energimon.web.app import _portfolio_rows
    from energimon.web.settings import Role

    s = web_settings(tmp_path)
    s.esco.sites["a"].weather_independent_share = 0.2
    store = SqliteStore(s.store.path)
    # 10 kW since 2024-12-31 (the baseline year 2025 and last year are the same year here: Dec 2025)
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-12-11", 10.0, step="1h")
    # outdoor temperature: 7 °C in Dec 2026 (10 degree days a day), 2 °C in Dec 2025 (15 a day)
    temps = [Reading("a", "vejr", "outdoor_temp_c", "weather", int(t.value // 1_000_000), 7.0 if t.year == 2026
                     else 2.0) for t in pd.date_range(pd.Timestamp("2025-11-25", tz=TZ),
                                                      pd.Timestamp("2026-12-11", tz=TZ), freq="1h")]
    assert store.write(temps) == []
    store.close()
    now = dt.datetime(2026, 12, 10, 12, 0, tzinfo=LOCAL_TZ)
    app = create_app(s, clock=lambda: now)
    rows = {r.site: r for r in _portfolio_rows(app.state.web, User("x", Role.ENERGI))}
    a = rows["a"]
    # 9 days 12 hours = 228 h × 10 kW, this year and last year alike
    assert a.month_kwh == pytest.approx(2280, abs=0.01) and a.baseline_kwh == pytest.approx(2280, abs=0.01)
    # corrected to this year's degree days: days 1-9 → G_now = 9 × 10 = 90, G_last = 9 × 15 = 135;
    # Q · ((1 − f) · G_now / G_last + f) = 2280 · (0.8 · 90/135 + 0.2) = 2280 · 0.7333 = 1672 kWh
    assert a.corrected and a.last_year_kwh == pytest.approx(2280 * (0.8 * 90 / 135 + 0.2), abs=0.01)
    assert a.change_pct == pytest.approx((2280 / a.last_year_kwh - 1) * 100)
    b = rows["b"]  # no meter: unknown, never 0
    assert math.isnan(b.month_kwh) and not b.corrected
    app.state.web.close()


def test_the_demo_serves_the_web_app_with_a_login_per_role(tmp_path):
    """`energimon demo` prints the web address and a login per role; the barometer and both logins work."""
    import asyncio
    import io

    from energimon.app.demo import DEMO_PASSWORD, run_demo

    class Out(io.StringIO):
        def __init__(self):
            super().__init__()
            self.url = asyncio.get_event_loop().create_future()

        def write(self, text):
            m = re.search(r"web:\s+(http://127\.0\.0\.1:\d+)/", text)
            if m and not self.url.done():
                self.url.set_result(m.group(1))
            return super().write(text)

    async def main():
        out = Out()
        demo = asyncio.create_task(run_demo(tmp_path / "demo", 120.0, 1.0, out=out))
        base = await asyncio.wait_for(out.url, 60)
        assert "energi / energimon-demo (energi)" in out.getvalue()
        assert "drift / energimon-demo (driftsansvarlig)" in out.getvalue()

        def check():
            with httpx.Client(follow_redirects=False, timeout=20) as c:
                def answers() -> bool:  # the daemon starts the server right after the line is printed
                    try:
                        return c.get(f"{base}/healthz").status_code == 200
                    except httpx.TransportError:
                        return False

                wait_for(answers, 30, "the demo's web server")
                r = c.get(f"{base}/")
                assert r.status_code == 200 and "Sorø Kommunes CO₂-barometer" in r.text
                for user in ("energi", "drift"):
                    c.cookies.clear()
                    assert login(c, base, DEMO_PASSWORD, user).status_code == 303
                    page = c.get(f"{base}/oversigt").text
                    assert ("Sorø Rådhus" in page) == (user == "energi") and "Stenlille hallen" in page

        try:
            await asyncio.to_thread(check)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # what Ctrl-C/systemd do: the demo's handler stops the daemon
            assert await asyncio.wait_for(demo, 60) == 0

    asyncio.run(main())


def test_energimon_web_on_a_taken_port_says_so(tmp_path, capsys):
    import socket

    from energimon.app.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg = tmp_path / "energimon.toml"
        cfg.write_text('[sites.a]\nname = "A"\nlatitude = 55.4\nlongitude = 11.5\n[store]\npath = "store.db"\n'
                       f'[web]\ndata_dir = "web"\nlisten = "127.0.0.1:{port}"\n', encoding="utf-8")
        assert main(["web", "-c", str(cfg)]) == 1
    assert f"kunne ikke lytte på 127.0.0.1:{port}" in capsys.readouterr().err


def test_the_example_configs_web_section_is_valid_when_uncommented(tmp_path):
    """The example ships [web] commented out (it needs a reverse proxy and users first): uncommented, it loads."""
    from pathlib import Path

    from energimon.config.settings import load_settings

    text = (Path(__file__).resolve().parents[1] / "config" / "energimon.example.toml").read_text(encoding="utf-8")
    marker = "# --- The web application and the public CO2 barometer"
    head, web = text.split(marker, 1)
    web = marker + web
    lines = [line[2:] if line.startswith(("# [", "# ")) and ("=" in line or line.startswith("# [")) else line
             for line in web.splitlines()]
    secret = tmp_path / "entra-web.secret"
    secret.write_text("klient-hemmelighed\n", encoding="utf-8")
    cfg = tmp_path / "energimon.toml"
    cfg.write_text((head + "\n".join(lines) + "\n").replace("/etc/energimon/entra-web.secret", str(secret)),
                   encoding="utf-8")
    s = load_settings(cfg)
    assert s.web.public_url == "https://www.soroe.dk/energi" and s.web.root_path == "/energi"
    assert list(s.web.barometer.sites) == ["soro-raadhus", "stenlille-hallen", "dianalund-bibliotek"]
    assert s.web.oidc.roles["Drift.Stenlille"].sites == ["stenlille-hallen"]


def test_barometer_counts_electricity_hour_by_hour_where_the_intensity_is_stored(tmp_path):
    from energimon.analytics.barometer import compute_barometer
    from energimon.analytics.climate_account import Factor

    store = SqliteStore(tmp_path / "s.db")
    write_counter(store, "a", "m", "energy_import_wh", "grid", "2024-12-31", "2026-03-01", 10.0)
    # Energi Data Service CO2Emis as stored by [sources.energidataservice]: hourly means, here 150 g/kWh all
    # of 2025 and nothing in 2026
    hours = pd.date_range(pd.Timestamp("2025-01-01", tz=TZ), pd.Timestamp("2026-01-01", tz=TZ), freq="1h",
                          inclusive="left")
    assert store.write([Reading("dk2", "energinet", "co2_g_per_kwh", "market", int(t.value // 1_000_000), 150.0)
                        for t in hours]) == []

    def factor(carrier, year):
        return Factor(2025, 0.12, "testværdi")

    b = compute_barometer(store, ["a"], baseline_year=2025, target_year=2030, reduction_pct=70, factor=factor,
                          now=dt.datetime(2026, 2, 1, 12, tzinfo=LOCAL_TZ),
                          intensity=SeriesKey("dk2", "energinet", "co2_g_per_kwh"))
    y = {r.year: r for r in b.years}
    # 2025 hour by hour: 8,760 h × 10 kWh × 150 g = 13.14 t; every hour counted
    assert y[2025].t_co2 == pytest.approx(13.14, abs=1e-3) and y[2025].hourly_share == 1.0 and y[2025].complete
    # 2026 has no intensity: the yearly factor, 756 h × 10 kWh × 0.12 kg = 0.9072 t
    assert y[2026].t_co2 == pytest.approx(0.9072, abs=1e-4) and math.isnan(y[2026].hourly_share)
    # the baseline computed from the stored 2025 (a complete year): the path starts there
    assert b.baseline_t == pytest.approx(13.14, abs=1e-3)
    store.close()


def test_a_finished_report_job_lists_every_file_the_report_wrote(tmp_path):
    # the job page links the files of the report's own list (SavingsReportFiles.paths, which the CLI prints): with
    # an Option B measure that includes the measures' CSV, which a list of its own on the page left out
    s = web_settings(tmp_path)
    data = s.model_dump(mode="json", exclude_none=True)
    data["esco"]["measures"] = [{"id": "led", "name": "LED", "site": "a", "installed": "2026-02-02",
                                 "energy": "belysning/energy_import_wh", "baseline_start": "2026-01-05",
                                 "baseline_end": "2026-02-02"}]
    s = settings_from_dict(data)
    SqliteStore(s.store.path).close()
    acc = Accounts(s.web.data_dir)
    acc.add("energi@soroe.dk", PASSWORD, "energi")
    acc.close()
    srv = WebServer(create_app(s), s.web).start()
    try:
        with httpx.Client(follow_redirects=False, timeout=20) as c:
            assert login(c, srv.url).status_code == 303
            r = c.post(f"{srv.url}/rapporter/generer",
                       data={"month": "2026-03", "csrf": csrf_token(c, f"{srv.url}/rapporter")})
            assert r.status_code == 303
            job = srv.url + r.headers["location"]
            page = {"text": ""}

            def finished() -> bool:
                page["text"] = c.get(job).text
                return "Rapporten er færdig" in page["text"] or "kunne ikke laves" in page["text"]

            wait_for(finished, 120, lambda: f"the report job to finish: {page['text'][-500:]}")
        written = sorted(p.name for p in s.esco.reports_dir.iterdir())
        listed = sorted(re.findall(r'href="/rapporter/fil/([^"]+)"', page["text"]))
        assert any("tiltag" in name for name in written), written  # the measures' CSV (-foreloebig before April)
        assert listed == written
    finally:
        srv.stop()
