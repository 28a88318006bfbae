"""The web application in a real browser (Debian's chromium, driven by Playwright) against the app on a real
uvicorn server on loopback, with demo-like data, alert mails through a real aiosmtpd, axe-core for WCAG 2.1 AA
and a local OpenID Connect provider in Entra ID's shapes.  Screenshots of the main pages go to the pytest
tmp dir (``screenshots/``) for review."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from conftest import free_port, require_binary
from helpers.wait import wait_for
from mail_servers import SmtpServer
from web_support import (
    ALERT_SITE,
    INTERNAL,
    PASSWORD,
    FakeEntraOidc,
    WebServer,
    raise_night_alert,
    settings_dict,
    write_site_data,
)

from energimon.analytics.alerting.state import AlertDB
from energimon.config.settings import settings_from_dict
from energimon.web.accounts import Accounts
from energimon.web.app import create_app

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# axe-core rules for the standard the municipality must meet (webtilgængelighedsloven: WCAG 2.1 AA)
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture(scope="module")
def site(tmp_path_factory, mail_pki):
    tmp = tmp_path_factory.mktemp("web")
    smtp = SmtpServer(mail_pki).start()  # aiosmtpd with STARTTLS and a password login
    oidc = FakeEntraOidc("11111111-2222-3333-4444-555555555555", "hemmelig-klient-noegle~42")
    port = free_port()
    cfg = settings_dict(tmp, smtp.settings_dict(), f"http://127.0.0.1:{port}", oidc={
        "metadata_url": oidc.metadata_url, "client_id": oidc.client_id, "client_secret": oidc.client_secret,
        "roles": {"Energi.Team": {"role": "energi"},
                  "Drift.Stenlille": {"role": "driftsansvarlig", "sites": ["stenlille-hallen"]}}})
    settings = settings_from_dict(cfg)
    write_site_data(settings.store.path)
    accounts = Accounts(settings.web.data_dir)
    accounts.add("energi@soroe.dk", PASSWORD, "energi", name="Energiteamet")
    accounts.add("drift.pedersborg@soroe.dk", PASSWORD, "driftsansvarlig", [ALERT_SITE], "Pia Pedersborg")
    accounts.add("drift.stenlille@soroe.dk", PASSWORD, "driftsansvarlig", ["stenlille-hallen"], "Sten Stenlille")
    accounts.close()
    raise_night_alert(settings)
    smtp.wait(1, 20)
    server = WebServer(create_app(settings), settings.web, port).start()
    shots = tmp / "screenshots"
    shots.mkdir()
    yield {"settings": settings, "smtp": smtp, "url": server.url, "shots": shots, "oidc": oidc, "tmp": tmp}
    server.stop()
    oidc.stop()
    smtp.stop()


@pytest.fixture(scope="module")
def browser():
    require_binary("chromium", "chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


def axe_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options=AXE_OPTIONS)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])}×: {v['nodes'][0]['target']})"
            for v in result.response["violations"]]


def login(page, url: str, user: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Brugernavn").fill(user)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Log ind").click()
    page.wait_for_url(re.compile(r".*/oversigt$"))


def shot(page, site, name: str) -> None:
    page.screenshot(path=str(site["shots"] / f"{name}.png"), full_page=True)


def alert_id(site) -> int:
    with AlertDB(site["settings"].alerts.state_path) as db:
        rows = [r for r in db.alerts() if r["site"] == ALERT_SITE]
    assert len(rows) == 1, rows
    return rows[0]["id"]


def test_public_barometer_without_login_shows_only_public_figures(site, browser):
    ctx = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = ctx.new_page()
    resp = page.goto(f"{site['url']}/")
    assert resp.status == 200 and "public, max-age=300" in resp.headers["cache-control"]
    assert "set-cookie" not in resp.headers  # cacheable by the proxy: no session
    assert page.locator("h1").inner_text() == "Sorø Kommunes CO₂-barometer"
    html = page.content()
    leaked = [s for s in INTERNAL if s in html]
    assert not leaked, f"internal strings on the public page: {leaked}"
    assert "energimærke C" in html and "Stenlille hallen" in html
    # the target: 60 t in 2019, −70 % → 18 t in 2030 (60 × 0.3)
    assert "18,0 ton CO₂" in page.locator("#k-maal").locator("..").inner_text()
    assert axe_violations(page) == []
    shot(page, site, "barometer-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, site, "barometer")
    # the open data: the same figures as the table, as CSV and JSON
    data = ctx.request.get(f"{site['url']}/co2.json").json()
    years = {r["aar"]: r for r in data["aar"]}
    assert years[2019]["maalsti_co2_ton"] == 60.0 and years[2030 - 4]["maalsti_co2_ton"] == pytest.approx(
        60 * (1 - 0.7 * 7 / 11), abs=0.01)
    this = max(years)
    row = page.locator("table tbody tr", has_text=f"{this} (til i dag)").inner_text()
    co2 = years[this]["co2_ton"]
    assert co2 is not None and co2 > 0 and f"{co2:.1f}".replace(".", ",") in row
    csv_text = ctx.request.get(f"{site['url']}/co2.csv").text()
    assert csv_text.splitlines()[0].startswith("aar,delvist_aar,el_kwh")
    assert not [s for s in INTERNAL if s in csv_text + str(data)]
    ctx.close()


def test_energy_team_portfolio_building_alerts_and_reports(site, browser):
    ctx = browser.new_context(accept_downloads=True)
    page = ctx.new_page()
    login(page, site["url"], "energi@soroe.dk")
    assert page.locator("h1").inner_text() == "Oversigt over bygningerne"
    names = page.locator("tbody th").all_inner_texts()
    assert names == ["Sorø Rådhus", "Stenlille hallen", "Dianalund Bibliotek", "Pedersborg Skole"]
    assert axe_violations(page) == []
    shot(page, site, "oversigt")
    # keyboard: the skip link is the first thing Tab reaches, and it moves focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Spring til indholdet"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "indhold"

    page.get_by_role("link", name="Sorø Rådhus").click()
    page.wait_for_url(re.compile(r".*/bygning/soro-raadhus$"))
    assert page.locator("h1").inner_text() == "Sorø Rådhus"
    assert page.locator("svg.chart").count() >= 2  # grid import, export, PV … as SVG with a table each
    assert page.locator("details table").count() == page.locator("svg.chart").count()
    assert axe_violations(page) == []
    shot(page, site, "bygning-uge")
    page.get_by_role("link", name="År").click()
    page.wait_for_url(re.compile(r".*view=year.*"))
    assert axe_violations(page) == []
    shot(page, site, "bygning-aar")
    page.get_by_role("link", name="Måned").click()
    page.wait_for_url(re.compile(r".*view=month.*"))
    # the demo history has 5-minute counters for 60 days: this month's days so far have energy (bars)
    assert page.locator("svg.chart rect").count() > 0
    shot(page, site, "bygning-maaned")

    page.get_by_role("link", name="Alarmer").first.click()
    assert page.get_by_role("link", name="Højt natforbrug").count() == 1
    assert axe_violations(page) == []
    shot(page, site, "alarmer")

    # a report on demand: runs in the background, the page shows progress and then the files
    page.get_by_role("link", name="Rapporter").click()
    assert axe_violations(page) == []
    # the page holds the savings reports and the climate accounts: its heading names both, the button what it makes
    assert page.get_by_role("heading", level=1).inner_text() == "Rapporter"
    page.get_by_label("Måned").select_option("2026-02")
    page.get_by_role("button", name="Lav besparelsesrapport").click()
    page.wait_for_url(re.compile(r".*/rapporter/job/.*"))
    page.get_by_text("Rapporten er færdig.").wait_for(timeout=120_000)  # the page reloads itself
    assert axe_violations(page) == []
    with page.expect_download() as dl:
        page.get_by_role("link", name="besparelse-2026-02.pdf").click()
    path = dl.value.path()
    assert path.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Dianalund Bibliotek" in text
    page.get_by_role("link", name="Til rapportarkivet").click()
    assert page.get_by_role("link", name="besparelse-2026-02.xlsx").count() == 1
    shot(page, site, "rapporter")
    ctx.close()


def test_alert_mail_link_acknowledges_after_confirmation_once(site, browser):
    smtp = site["smtp"]
    mails = [m for rcpt, m in smtp.messages if "drift.pedersborg@soroe.dk" in rcpt]
    assert len(mails) == 1
    plain = mails[0].get_body(("plain",)).get_content()
    links = dict(re.findall(r"^(Kvittér|Udsæt 1 dag|Udsæt 1 uge): (\S+)\r?$", plain, re.M))
    assert set(links) == {"Kvittér", "Udsæt 1 dag", "Udsæt 1 uge"}
    html = mails[0].get_body(("html",)).get_content()
    assert all(url in html for url in links.values())
    aid = alert_id(site)
    ctx = browser.new_context()
    page = ctx.new_page()
    resp = page.goto(links["Kvittér"])  # no login needed for this one action
    assert resp.status == 200 and "Højt natforbrug" in page.content()
    with AlertDB(site["settings"].alerts.state_path) as db:
        assert db.alert(aid)["acked_at"] is None  # opening the link (a mail scanner) changes nothing
    assert axe_violations(page) == []
    shot(page, site, "mail-link")
    page.get_by_role("button", name="Kvittér").click()
    page.get_by_text("Alarmen er kvitteret").wait_for()
    with AlertDB(site["settings"].alerts.state_path) as db:
        row = db.alert(aid)
    assert row["acked_at"] is not None and row["acked_by"] == "link i alarm-mail"
    # the same link again: already used
    resp = page.goto(links["Kvittér"])
    assert resp.status == 409 and "allerede brugt" in page.content()
    # a tampered link
    tok = links["Udsæt 1 dag"]
    tampered = tok[:-3] + ("AAA" if not tok.endswith("AAA") else "BBB")
    resp = page.goto(tampered)
    assert resp.status == 400 and "Ugyldigt link" in page.content()
    ctx.close()
    # the audit log says who acknowledged, when
    entries = Accounts(site["settings"].web.data_dir).audit_entries(aid)
    assert [(e.who, e.action) for e in entries] == [("link i alarm-mail", "ack")]


def test_an_expired_link_is_refused(site, browser):
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    from energimon.web.links import SALT, secret_key

    class EightDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    old = URLSafeTimedSerializer(secret_key(site["settings"].web), salt=SALT, signer=EightDaysAgo)
    token = old.dumps({"a": alert_id(site), "x": "snooze1d", "n": "abc", "r": ""})
    ctx = browser.new_context()
    page = ctx.new_page()
    resp = page.goto(f"{site['url']}/link/{token}")
    assert resp.status == 410 and "Linket er udløbet" in page.content()
    ctx.close()


def test_facility_manager_sees_only_their_buildings_and_snoozes(site, browser):
    aid = alert_id(site)
    ctx = browser.new_context()
    page = ctx.new_page()
    login(page, site["url"], "drift.stenlille@soroe.dk")
    assert page.locator("tbody th").all_inner_texts() == ["Stenlille hallen"]
    for path in (f"/bygning/{ALERT_SITE}", f"/alarmer/{aid}", f"/alarmer?site={ALERT_SITE}", "/bygning/findes-ikke"):
        resp = page.goto(site["url"] + path)
        assert resp.status == 404, path  # another's building answers like one that does not exist
        assert "Pedersborg" not in page.content()
    assert page.goto(f"{site['url']}/rapporter").status == 403
    page.goto(f"{site['url']}/alarmer?status=alle")
    assert "Højt natforbrug" not in page.content()
    # the form's token from this session does not act on an alert of another building either
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    r = ctx.request.post(f"{site['url']}/alarmer/{aid}/udsaet", form={"csrf": csrf, "hours": "24"})
    assert r.status == 404
    ctx.close()

    ctx = browser.new_context()
    page = ctx.new_page()
    login(page, site["url"], "drift.pedersborg@soroe.dk")
    page.goto(f"{site['url']}/alarmer/{aid}")
    page.get_by_label("Udsæt i").select_option("168")
    page.get_by_role("button", name="Udsæt", exact=True).click()
    page.get_by_text("Alarmen er udsat").wait_for()
    assert axe_violations(page) == []
    shot(page, site, "alarm")
    with AlertDB(site["settings"].alerts.state_path) as db:
        row = db.alert(aid)
    assert row["snoozed_until"] - time.time() == pytest.approx(168 * 3600, abs=120)
    page.get_by_label("Kommentar").fill("Ventilationen kører i natdrift – servicefirma bestilt")
    page.get_by_role("button", name="Gem kommentar").click()
    page.get_by_role("cell", name="Ventilationen kører i natdrift – servicefirma bestilt").wait_for()
    entries = Accounts(site["settings"].web.data_dir).audit_entries(aid, actions=("snooze", "comment"))
    assert [(e.who, e.action) for e in entries] == [("drift.pedersborg@soroe.dk", "comment"),
                                                   ("drift.pedersborg@soroe.dk", "snooze")]
    ctx.close()


def test_forms_without_the_session_csrf_token_are_refused(site, browser):
    aid = alert_id(site)
    ctx = browser.new_context()
    page = ctx.new_page()
    login(page, site["url"], "drift.pedersborg@soroe.dk")
    with AlertDB(site["settings"].alerts.state_path) as db:
        before = db.alert(aid)["snoozed_until"]
    for form in ({"hours": "24"}, {"hours": "24", "csrf": "forkert"}):
        r = ctx.request.post(f"{site['url']}/alarmer/{aid}/udsaet", form=form)
        assert r.status == 403 and "Formularen er udløbet" in r.text()
    with AlertDB(site["settings"].alerts.state_path) as db:
        assert db.alert(aid)["snoozed_until"] == before
    ctx.close()


def test_entra_id_login_through_the_local_provider(site, browser):
    oidc = site["oidc"]
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{site['url']}/login")
    assert axe_violations(page) == []
    shot(page, site, "login")
    page.get_by_role("link", name="Log ind med Microsoft").click()
    page.wait_for_url(re.compile(r".*/oversigt$"))
    assert "Eva Energi (energi)" in page.locator("header").inner_text()
    assert len(page.locator("tbody th").all_inner_texts()) == 4
    # a group that maps to a facility manager sees that building only
    oidc.next_user = {"name": "Sten", "preferred_username": "sten@soroe.dk", "roles": ["Drift.Stenlille"]}
    ctx2 = browser.new_context()
    p2 = ctx2.new_page()
    p2.goto(f"{site['url']}/login/entra")
    p2.wait_for_url(re.compile(r".*/oversigt$"))
    assert p2.locator("tbody th").all_inner_texts() == ["Stenlille hallen"]
    # no mapped role: refused
    oidc.next_user = {"name": "Gæst", "preferred_username": "gaest@soroe.dk", "roles": ["Andet"]}
    ctx3 = browser.new_context()
    p3 = ctx3.new_page()
    resp = p3.goto(f"{site['url']}/login/entra")
    assert resp.status == 403 and "ingen rolle" in p3.content()
    for c in (ctx, ctx2, ctx3):
        c.close()
    wait_for(lambda: oidc.token_requests >= 3, 10, "three token requests at the provider")
