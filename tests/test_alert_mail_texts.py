"""What a facility manager reads in an alert mail (issue 19): the building and the meter by their configured names,
a unit on every number, durations in words, one subject per alert, info-level findings in one daily digest,
the chart's legend and Danish axis, and the mail-to-folder transport the demo uses.  Mail delivery goes through
the real SMTP server (aiosmtpd, tests/mail_servers.py); the folder transport's files are parsed back."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path

import pandas as pd
import pytest
from helpers.alert_mail import DEVICES, SITE, SITES, T0, Outbox, finding, night_finding
from mail_servers import SmtpServer

from energimon.analytics.alerting.mail import (
    chart_figure,
    chart_png,
    device_name,
    human_duration,
    render_alert,
)
from energimon.analytics.alerting.state import AlertDB
from energimon.config.settings import load_settings, settings_from_dict
from energimon.mail.settings import mail_warnings
from energimon.mail.transport import MailError, make_transport

MIN, H = dt.timedelta(minutes=1), dt.timedelta(hours=1)


def named_settings(smtp_dict: dict, tmp_path: Path, **alerts):
    return settings_from_dict({"sites": SITES, "devices": DEVICES, "smtp": smtp_dict,
                               "alerts": {"state_path": str(tmp_path / "alerts.db"), "price_dkk_per_kwh": 2.5,
                                          "pending_min": 0, **alerts}})


@pytest.mark.parametrize(("minutes", "da", "en"), [
    (0.4, "under 1 minut", "less than a minute"),
    (1, "1 minut", "1 minute"),
    (12, "12 minutter", "12 minutes"),
    (59.4, "59 minutter", "59 minutes"),
    (59.5, "ca. 1 time", "about 1 hour"),       # rounds to 60 minutes: an hour
    (185, "ca. 3 timer", "about 3 hours"),
    (1409, "ca. 23 timer", "about 23 hours"),    # 23,48 h
    (1410, "ca. 1 dag", "about 1 day"),          # 23,5 h rounds to 24: a day
    (2159, "ca. 1 dag", "about 1 day"),          # 1,499 days
    (2160, "ca. 2 dage", "about 2 days"),        # 1,5 days rounds half up
    (8769, "ca. 6 dage", "about 6 days"),        # the "8.769 minutter": 6,09 days
    (1440 * 1200, "ca. 1.200 dage", "about 1,200 days"),
    (-1, "ukendt tid", "an unknown time"),       # pv_offline's "no data at all"
    (float("nan"), "ukendt tid", "an unknown time"),
])
def test_human_duration_at_its_boundaries(minutes, da, en):
    assert human_duration(minutes, "da") == da
    assert human_duration(minutes, "en") == en


def test_display_names_from_every_settings_owner_with_the_id_as_fallback(tmp_path):
    s = settings_from_dict({
        "sites": SITES, "devices": DEVICES,
        "mqtt": {"host": "127.0.0.1", "subscriptions": [
            {"topic": "bygning/raadhus/vent", "site": SITE, "device": "ventilation", "name": "Ventilation",
             "channel": "power_w", "role": "submeter"},
            {"topic": "bygning/{site}/{device}/{channel}", "role": "submeter"}]},
        "datahub": {"metering_points": [{"id": "571313100000000001", "site": SITE, "device": "datahub",
                                         "name": "Elmåler (DataHub)"}]}})
    assert device_name(s, SITE, "hovedmaaler") == "Hovedmåler"            # Modbus
    assert device_name(s, SITE, "fjernvarme") == "Fjernvarmemåler"        # M-Bus
    assert device_name(s, SITE, "inverter-mppt1") == "Solcelleanlæg tag (mppt1)"  # a sub-device of a Modbus one
    assert device_name(s, SITE, "ventilation") == "Ventilation"           # MQTT, a fixed device
    assert device_name(s, SITE, "datahub") == "Elmåler (DataHub)"         # DataHub metering point
    assert device_name(s, SITE, "bimaaler") == "bimaaler"                 # nothing configured: the id
    assert device_name(s, "dianalund-bibliotek", "hovedmaaler") == "hovedmaaler"  # another site's name is not it
    with pytest.raises(Exception, match="'name' names a fixed device"):
        settings_from_dict({"sites": SITES, "mqtt": {"host": "127.0.0.1", "subscriptions": [
            {"topic": "bygning/{site}/{device}/{channel}", "role": "submeter", "name": "Bimåler"}]}})


def test_alerts_at_one_site_have_distinct_subjects_names_units_and_human_durations(smtp: SmtpServer, tmp_path):
    out = Outbox(named_settings(smtp.settings_dict(), tmp_path))
    offline = {"minutes_without_data": 8769, "last_reading": "2026-11-27T00:51:00+00:00", "device_online": 0.0}
    findings = [
        finding("device_offline", "hovedmaaler", **offline),
        finding("device_offline", "fjernvarme", **offline),
        # a meter swap: the counter (Wh) from 12 345 678 Wh to 1 200 Wh
        finding("counter_reset", "hovedmaaler", channel="energy_import_wh", resets=1, before=12_345_678.0,
                after=1_200.0),
        finding("impossible_value", "inverter", channel="pv_power_w", highest_w=250_000.0, rated_w=100_000.0,
                limit_w=110_000.0),
        finding("stuck_value", "fjernvarme", channel="heat_energy_wh", hours_without_change=7, reference_kw=3.4),
    ]
    out.tick(T0, findings)
    smtp.wait(5)
    mails = {m["Subject"]: m for _, m in smtp.messages}
    assert sorted(mails) == [
        "[energimon] Sorø Rådhus · Fjernvarmemåler: Måleren står stille",
        "[energimon] Sorø Rådhus · Fjernvarmemåler: Måleren svarer ikke",
        "[energimon] Sorø Rådhus · Hovedmåler: Måleren svarer ikke",
        "[energimon] Sorø Rådhus · Hovedmåler: Tælleren er nulstillet",
        "[energimon] Sorø Rådhus · Solcelleanlæg tag: Umulig måleværdi",
    ]
    text = {s: m.get_body(("plain",)).get_content() for s, m in mails.items()}
    html = mails["[energimon] Sorø Rådhus · Hovedmåler: Måleren svarer ikke"].get_body(("html",)).get_content()
    offline_text = text["[energimon] Sorø Rådhus · Hovedmåler: Måleren svarer ikke"]
    # 8 769 minutes = 6,09 days; the last reading 27 Nov 00:51 UTC = 01:51 in Copenhagen
    assert "Måleren har ikke svaret i ca. 6 dage (seneste måling fredag 27. november 2026 kl. 01:51)" in offline_text
    assert "minutter" not in offline_text and "8.769" not in offline_text
    assert "Hvor: Sorø Rådhus, Rådhusvej 8, 4180 Sorø – Hovedmåler (hovedmaaler)" in offline_text
    assert "Hovedmåler (hovedmaaler)" in html
    # counters in kWh with their unit: 12 345 678 Wh = 12 345,678 kWh → "12.346 kWh"; 1 200 Wh = "1,2 kWh"
    assert ("Forbrugstælleren (strøm købt fra nettet) gik tilbage fra 12.346 kWh til 1,2 kWh"
            in text["[energimon] Sorø Rådhus · Hovedmåler: Tælleren er nulstillet"])
    # powers in kW from 1 kW up: 250 000 W = 250 kW against 100 kW
    assert "Måleren viste 250 kW, men kan højst 100 kW" in text["[energimon] Sorø Rådhus · Solcelleanlæg tag: " \
                                                                  "Umulig måleværdi"]
    assert ("Varmetælleren har ikke ændret sig i ca. 7 timer, selv om bygningen bruger energi (normalt mindst "
            "3,4 kW)") in text["[energimon] Sorø Rådhus · Fjernvarmemåler: Måleren står stille"]
    for body in text.values():  # no raw channel ids or ISO times reach the reader
        assert "energy_import_wh" not in body and "2026-11-27T" not in body and "«" not in body


def test_info_findings_wait_for_one_daily_digest_while_a_warning_is_mailed_at_once(smtp: SmtpServer, tmp_path):
    out = Outbox(named_settings(smtp.settings_dict(), tmp_path))  # info_digest is on by default
    assert out.cfg.info_digest and not out.cfg.digest
    warning = night_finding()  # hovedmaaler, warning
    cusum = finding("cusum", "fjernvarme", severity="info", shift_kwh_per_day=41.5, days=12, cusum_sigma=7.1,
                    limit_sigma=6.0, sigma_kwh_per_day=9.0)
    stuck = finding("stuck_value", "inverter", severity="info", channel="pv_energy_wh", hours_without_change=185 / 60,
                    reference_kw=3.4)
    t = T0
    while t < T0 + 3 * H:  # every 15 minutes for 3 hours, as the daemon does
        out.tick(t, [warning, cusum, stuck])
        t += 15 * MIN
    smtp.wait(1)
    assert [m["Subject"] for _, m in smtp.messages] == [
        "[energimon] Sorø Rådhus · Hovedmåler: Højt natforbrug – ca. 120 kr./dag"]
    # the digest (07:00 local on 3 December): both info findings in one mail, the warning not again
    assert out.digest(T0 + 5 * H) == 1
    assert out.digest(T0 + 5 * H + MIN) == 0  # nothing new: no second digest
    smtp.wait(2)
    assert len(smtp.messages) == 2
    digest = smtp.messages[1][1]
    assert digest["Subject"] == "[energimon] Dagens oversigt 3. december 2026: 2 ændringer"
    body = digest.get_body(("plain",)).get_content()
    assert "Ny: Sorø Rådhus · Fjernvarmemåler: Varigt højere forbrugsniveau" in body
    assert "41,5 kWh pr. døgn over det forventede de seneste 12 dage" in body
    assert "Ny: Sorø Rådhus · Solcelleanlæg tag: Måleren står stille" in body
    assert "Solcelleanlæggets produktionstæller har ikke ændret sig i ca. 3 timer" in body
    assert "siden fredag 27. november 2026 kl. 01:51" in body
    assert "Højt natforbrug" not in body  # the warning was mailed on its own
    # the digest went through the outbox like every mail: recorded as sent
    assert out.db.conn.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0] == 2
    # the info problems end (last seen 04:45 UTC), the warning goes on: their "resolved" waits for the next digest
    t = T0 + 5 * H + 15 * MIN
    while t < T0 + 8 * H:
        out.tick(t, [warning])
        t += 15 * MIN
    assert len(smtp.messages) == 2
    assert out.digest(T0 + 24 * H) == 1
    smtp.wait(3)
    assert smtp.messages[2][1]["Subject"] == "[energimon] Dagens oversigt 4. december 2026: 2 ændringer"
    body = smtp.messages[2][1].get_body(("plain",)).get_content()
    # 27 Nov 00:51 UTC to 3 Dec 04:45 UTC = 6 days 3 h 54 min → "ca. 6 dage"
    assert "Løst: Sorø Rådhus · Fjernvarmemåler: Varigt højere forbrugsniveau" in body
    assert ("Det varede fra fredag 27. november 2026 kl. 01:51 til torsdag 3. december 2026 kl. 05:45 "
            "(ca. 6 dage)") in body


def test_a_state_file_from_before_the_info_digest_keeps_its_pending_digest_lines(tmp_path):
    """A file in digest mode (some notifications already digested) keeps its undigested ones for the next
    digest; a file in single-mail mode does not resend what was mailed."""
    import sqlite3

    for digest_mode in (True, False):
        path = tmp_path / f"old-{digest_mode}.db"
        conn = sqlite3.connect(path)
        conn.executescript(
            "CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe TEXT NOT NULL UNIQUE, "
            "alert_id INTEGER NOT NULL, kind TEXT NOT NULL, created REAL NOT NULL, digested REAL);"
            f"INSERT INTO notifications(dedupe, alert_id, kind, created, digested) VALUES "
            f"('alert1:new', 1, 'new', 1, {'1' if digest_mode else 'NULL'}), ('alert2:new', 2, 'new', 2, NULL);")
        conn.commit()
        conn.close()
        db = AlertDB(path)
        rows = db.conn.execute("SELECT dedupe, for_digest FROM notifications ORDER BY id").fetchall()
        db.close()
        assert [tuple(r) for r in rows] == ([("alert1:new", 0), ("alert2:new", 1)] if digest_mode
                                            else [("alert1:new", 0), ("alert2:new", 0)])


def test_the_chart_names_its_lines_in_a_legend_with_danish_axis_and_dates():
    idx = pd.date_range("2026-11-27", periods=7 * 24, freq="1h", tz="Europe/Copenhagen")
    frame = pd.DataFrame({"actual": 16.0, "low": 9.0, "expected": 10.0, "high": 11.0}, index=idx)
    for lang, legend, unit, first_day in (("da", ["Normalt område", "Forventet", "Målt"], "kWh pr. time", "27. nov"),
                                          ("en", ["Normal range", "Expected", "Measured"], "kWh per hour", "27 Nov")):
        fig = chart_figure(frame, lang=lang)
        ax = fig.axes[0]
        fig.canvas.draw()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == legend
        assert ax.get_ylabel() == unit
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels[0] == first_day and ("1. dec" if lang == "da" else "1 Dec") in labels, labels
        assert not any("2026-" in label for label in labels)
    pv = chart_figure(frame.assign(expected=12.0), pv=True).axes[0]
    assert [t.get_text() for t in pv.get_legend().get_texts()] == ["Skyfri himmel", "Som nabobygningerne", "Målt"]


def test_folder_transport_writes_each_mail_as_a_parseable_eml_file(tmp_path):
    cfg = tmp_path / "conf" / "energimon.toml"
    cfg.parent.mkdir()
    cfg.write_text('[sites.soro-raadhus]\nname = "Sorø Rådhus"\nlatitude = 55.43\nlongitude = 11.55\n'
                   'facility_managers = ["drift.raadhus@soroe.dk"]\n\n'
                   '[smtp]\ntransport = "folder"\nfolder = "mails"\nsender = "energimon@soroe.dk"\n\n'
                   '[alerts]\nstate_path = "alerts.db"\npending_min = 0\n', encoding="utf-8")
    settings = load_settings(cfg)
    assert settings.smtp.folder == cfg.parent / "mails"  # relative to the config file, not the working directory
    assert settings.smtp.describe().startswith(f"folder {cfg.parent / 'mails'}")
    # check-config and run say that nothing is sent
    assert mail_warnings(settings.smtp) == [f"smtp: transport 'folder': mails are written to {cfg.parent / 'mails'} "
                                            "and not sent to anyone"]
    idx = pd.date_range("2026-11-27", periods=7 * 24, freq="1h", tz="Europe/Copenhagen")
    png = chart_png(pd.DataFrame({"actual": 16.0, "low": 9.0, "expected": 10.0, "high": 11.0}, index=idx))
    out = Outbox(settings)
    first = night_finding()
    second = finding("device_offline", "fjernvarme", minutes_without_data=45, last_reading="2026-12-03T01:15:00+00:00")
    out.tick(T0, [first, second])
    files = sorted((cfg.parent / "mails").glob("*.eml"))
    assert len(files) == 2 and not list((cfg.parent / "mails").glob(".*"))  # no temporary file left
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
    assert sorted(str(m["Subject"]) for m in mails) == [
        "[energimon] Sorø Rådhus · fjernvarme: Måleren svarer ikke",
        "[energimon] Sorø Rådhus · hovedmaaler: Højt natforbrug – ca. 120 kr./dag"]
    assert all(m["To"] == "drift.raadhus@soroe.dk" for m in mails)
    offline = next(m for m in mails if "svarer ikke" in str(m["Subject"]))
    assert "Måleren har ikke svaret i 45 minutter" in offline.get_body(("plain",)).get_content()
    assert any("Sorø Rådhus" in p.name and "Måleren svarer ikke" in p.name for p in files)  # readable file names
    # the chart travels inside the .eml like in a sent mail
    msg = render_alert("new", {"id": 9, "reminders": 0, "last_seen": 0.0}, first, settings, chart=png)
    make_transport(settings.smtp).send(["drift.raadhus@soroe.dk"], msg.as_bytes())
    newest = max((cfg.parent / "mails").glob("*.eml"), key=lambda p: p.name)
    parsed = email.message_from_bytes(newest.read_bytes(), policy=email.policy.default)
    [image] = [p for p in parsed.walk() if p.get_content_type() == "image/png"]
    assert image.get_content() == png
    # `energimon test-mail` through the same transport
    from energimon.app.cli import main

    assert main(["test-mail", "--config", str(cfg), "--to", "drift.raadhus@soroe.dk"]) == 0
    test_mails = [p for p in (cfg.parent / "mails").glob("*.eml") if "Testmail" in p.name]
    assert len(test_mails) == 1
    assert "æøå" in str(email.message_from_bytes(test_mails[0].read_bytes(), policy=email.policy.default)["Subject"])
    # a folder that cannot be written: a MailError the outbox retries, naming the setting
    blocked = settings.smtp.model_copy(update={"folder": files[0]})  # a file, not a folder
    with pytest.raises(MailError, match=r"smtp\.folder") as exc:
        make_transport(blocked).send(["a@soroe.dk"], msg.as_bytes())
    assert exc.value.step == "send"


@pytest.mark.parametrize(("stop", "inverters"), [
    ("2026-12-07 20:50", []),  # an inverter is not expected to answer at night: no mail about them
    ("2026-12-07 12:50", ["Dianalund Bibliotek", "Sorø Rådhus", "Stenlille hallen"]),  # at noon it is
])
def test_the_demo_config_mails_its_silent_meters_by_name_into_its_folder(tmp_path, capsys, stop, inverters):
    """The README's way to see an alert mail from the demo: the demo's config (folder transport, device names),
    its meters silent for an hour, `energimon alerts run --send --now …` → one .eml per meter."""
    from energimon.app.cli import main
    from energimon.app.demo import write_demo_config
    from energimon.collector.simulator.mbus_gateway import MbusGateway
    from energimon.collector.simulator.modbus_server import MeterSimulator
    from energimon.model import Reading
    from energimon.store.sqlite import SqliteStore

    gw = MbusGateway()
    gw.port = 10001  # not started: only the config is written
    cfg = write_demo_config(tmp_path, MeterSimulator(with_pv=True), 5, mbus=gw, mail=True)
    settings = load_settings(cfg)
    # the demo stopped: every meter and inverter fell silent (the inverters' counters flat)
    stopped = pd.Timestamp(stop, tz="Europe/Copenhagen")
    channel = {"grid": "energy_import_wh", "pv": "pv_energy_wh", "heat": "heat_energy_wh"}
    readings = []
    # the town hall's inverter also reports its two MPPT inputs as sub-devices (as SunSpec model 160 gives them)
    subs = [(SITE, f"inverter-mppt{i}", "pv") for i in (1, 2)]
    for site, dev, role in [(d.site, d.id, str(d.role.value)) for d in settings.devices] + subs:
        for k in range(13):  # two hours of readings every 10 minutes
            t = int((stopped - pd.Timedelta(minutes=10 * (12 - k))).timestamp() * 1000)
            if dev.startswith("inverter-"):
                readings.append(Reading(site, dev, "pv_power_w", role, t, 0.0))
                continue
            readings += [Reading(site, dev, channel[role], role, t, 1e6 + (0.0 if role == "pv" else 500.0 * k)),
                         Reading(site, dev, "device_online", role, t, 1.0)]
    store = SqliteStore(settings.store.path)
    assert store.write(readings) == []
    store.close()
    now = (stopped + pd.Timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert main(["alerts", "run", "--config", str(cfg), "--send", "--now", now]) == 0
    assert f"mails sendt {4 + len(inverters)}, venter 0 (skrevet til {tmp_path / 'mails'})" in capsys.readouterr().out
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in sorted((tmp_path / "mails").glob("*.eml"))]
    assert sorted(str(m["Subject"]) for m in mails) == sorted([
        "[energimon] Dianalund Bibliotek · Hovedmåler: Måleren svarer ikke",
        "[energimon] Sorø Rådhus · Fjernvarmemåler: Måleren svarer ikke",
        "[energimon] Sorø Rådhus · Hovedmåler: Måleren svarer ikke",
        "[energimon] Stenlille hallen · Hovedmåler: Måleren svarer ikke",
    ] + [f"[energimon] {site} · Solcelleanlæg: Inverteren svarer ikke" for site in inverters])  # not per MPPT
    for m in mails:  # an hour without data, said as a person says it
        text = m.get_body(("plain",)).get_content()
        assert ("Måleren har ikke svaret i ca. 1 time (seneste måling mandag 7. december 2026 kl. "
                f"{stopped:%H:%M})" in text) or "Inverteren har ikke svaret i ca. 1 time, mens det er lyst" in text
        assert m["To"] == "driftsansvarlig@demo.invalid"


def test_a_long_danish_subject_arrives_with_every_space(smtp: SmtpServer, tmp_path):
    """Python's header folder can end an encoded word before a space and fold there; the reader then drops the
    space (RFC 2047 §6.2): 'Hovedmåler:Måleren'.  energimon writes such a subject so it reads back as written."""
    from energimon.mail.render import new_message, to_wire

    subjects = ["[energimon] Påmindelse: Dianalund Bibliotek · Solcelleanlæg tag (mppt1): Solcelleanlægget yder "
                "for lidt – ca. 1.234 kr./dag",
                "[energimon] Sorø Rådhus · undermaaler-1: Højt natforbrug – ca. 120 kr./dag"]
    transport = make_transport(named_settings(smtp.settings_dict(), tmp_path).smtp)
    for subject in subjects:
        msg = new_message("energimon@soroe.dk", ["a@soroe.dk"], subject, "æøå")
        wire = to_wire(msg)
        assert all(len(line) <= 78 for line in wire.split(b"\r\n\r\n")[0].split(b"\r\n"))  # RFC 5322 §2.1.1
        transport.send(["a@soroe.dk"], wire)
    smtp.wait(2)
    assert [m["Subject"] for _, m in smtp.messages] == subjects
    assert smtp.messages[0][1].get_body(("plain",)).get_content().strip() == "æøå"


def test_times_in_the_text_are_danish_dates_and_one_day_is_named_once():
    from energimon.analytics.alerting.mail import rule_texts

    def what(start: str, end: str) -> str:
        f = finding("out_of_hours", "hovedmaaler", hours=8, mean_kw=30.4, reference_kw=5.0, limit_kw=7.0,
                    **{"from": start, "to": end})
        return rule_texts(f, "da")[1]

    # the rule gives local times as "YYYY-MM-DD HH:MM" (analytics/anomaly/rules.py, out_of_hours)
    assert what("2026-12-06 09:00", "2026-12-06 17:00").startswith(
        "Fra søndag 6. december 2026 kl. 09:00 til kl. 17:00 (8 timer) brugte bygningen 30,4 kW i gennemsnit")
    assert what("2026-12-05 18:00", "2026-12-06 06:00").startswith(
        "Fra lørdag 5. december 2026 kl. 18:00 til søndag 6. december 2026 kl. 06:00 (8 timer)")
