"""Alert mails about a water meter say m³: its counter's readings, its extra use per day (not priced at the kWh
price) and the chart's axis — through the real SMTP server, as the daemon sends them."""

from __future__ import annotations

from helpers.alert_mail import DEVICES, SITE, SITES, T0, Outbox, finding
from mail_servers import SmtpServer

from energimon.analytics.alerting.mail import chart_figure, finding_unit
from energimon.config.settings import settings_from_dict

WATER = {"protocol": "mbus_tcp", "site": SITE, "id": "vandmaaler", "name": "Vandmåler", "role": "water",
         "host": "127.0.0.1", "port": 10002, "address": 2}


def test_a_water_meters_mails_say_m3(smtp: SmtpServer, tmp_path):
    settings = settings_from_dict({"sites": SITES, "devices": [*DEVICES, WATER], "smtp": smtp.settings_dict(),
                                   "alerts": {"state_path": str(tmp_path / "alerts.db"), "price_dkk_per_kwh": 2.5,
                                              "pending_min": 0}})
    reset = finding("counter_reset", "vandmaaler", channel="volume_m3", resets=1, before=1234.0, after=0.3)
    # extra water use per day, as a rule on the water series reports it (its amount in the series' unit, m³)
    extra = finding("deviation", "vandmaaler", channel="volume_m3", days=3, actual_kwh_per_day=9.0,
                    expected_kwh_per_day=5.5, excess_pct=64)
    extra.kwh_per_day, extra.dkk_per_day = 3.5, 8.75
    out = Outbox(settings)
    out.tick(T0, [reset, extra])
    smtp.wait(2)
    text = {m["Subject"]: m.get_body(("plain",)).get_content() for _, m in smtp.messages}
    body = text["[energimon] Sorø Rådhus · Vandmåler: Tælleren er nulstillet"]
    # 1 234 m³ → "1.234 m³"; 0,3 m³ → "0,3 m³" (a volume counter is not Wh: no ÷ 1000, no kWh)
    assert "Vandmængdetælleren gik tilbage fra 1.234 m³ til 0,3 m³" in body and "kWh" not in body
    deviation = next(b for s, b in text.items() if s.startswith("[energimon] Sorø Rådhus · Vandmåler") and b != body)
    assert "ca. 3,5 m³ pr. døgn" in deviation and "kWh" not in deviation
    assert "har forbruget været 9 m³ pr. døgn mod forventet 5,5 m³" in deviation


def test_the_chart_axis_names_the_series_unit():
    import pandas as pd

    f = finding("deviation", "vandmaaler", channel="volume_m3")
    assert finding_unit(f) == "m³" and finding_unit(finding("x", "hovedmaaler", channel="load_kwh")) == "kWh"
    frame = pd.DataFrame({"actual": [0.2, 0.4, 0.3]},
                         index=pd.date_range("2026-12-01", periods=3, freq="1h", tz="Europe/Copenhagen"))
    fig = chart_figure(frame, lang="da", unit=finding_unit(f))
    assert fig.axes[0].get_ylabel() == "m³ pr. time"
