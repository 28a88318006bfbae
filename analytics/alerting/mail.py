"""Alert mails: plain text + HTML (same content) + a small PNG chart, in Danish or English.

Written for the facility manager (a caretaker, not an engineer): the building and the meter by their names
(``[sites.<id>] name``, a device's ``name``; the id when none is set), every number with its unit, durations
in words ("ca. 6 dage"), and a subject that says which building, which meter and what (two alerts never share
one).  Recipients: the site's ``facility_managers`` plus ``[alerts.sites.<id>] recipients``; when a site has
none, ``[smtp] fallback_recipients``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import sqlite3
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Any

import pandas as pd

from energimon.analytics.alerting.texts import (
    CHANNEL_LABELS,
    COSTS,
    KINDS,
    MONTHS,
    MONTHS_SHORT,
    ORIGIN_RULES,
    RULES,
    SEVERITIES,
    UI,
    WEEKDAYS,
)
from energimon.analytics.anomaly.findings import Finding
from energimon.carriers import in_unit
from energimon.model import LOCAL_TZ

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn (slow to import)
    from matplotlib.figure import Figure

# An alert row as the lifecycle passes it (sqlite3.Row) or a test writes it (dict).
Row = sqlite3.Row | Mapping[str, Any]


def fmt_num(x: float | int | str, lang: str, decimals: int | None = None) -> str:
    """1234.5 → '1.235' (da) / '1,235' (en); 12.5 → '12,5' / '12.5'; 16.0 → '16'.  By default numbers from
    100 up have no decimals, smaller ones one (dropped when it is 0)."""
    if isinstance(x, str):
        return x
    x = float(x)
    if decimals is None:
        decimals = 0 if abs(x) >= 100 or round(x, 1) == round(x) else 1
    s = f"{x:,.{decimals}f}"
    if lang == "da":
        s = s.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return s


def human_duration(minutes: float, lang: str = "da") -> str:
    """A duration as a person says it: under an hour in minutes ('12 minutter'), under a day in hours
    ('ca. 3 timer'), then in days ('ca. 6 dage'), each rounded half up — 8 769 minutes is 'ca. 6 dage', not
    '8.769 minutter'.  The switch happens where the rounded value would reach the next unit (59,5 minutes is
    'ca. 1 time', 23,5 hours 'ca. 1 dag').  Negative or unknown: 'ukendt tid'."""
    ui = UI[lang]
    if not math.isfinite(minutes) or minutes < 0:
        return ui["unknown_duration"]
    m = math.floor(minutes + 0.5)
    if m < 1:
        return ui["less_than_minute"]
    if m < 60:
        return ui["minute" if m == 1 else "minutes"].format(n=m)
    h = math.floor(minutes / 60 + 0.5)
    if h < 24:
        return ui["hour" if h == 1 else "hours"].format(n=h)
    d = math.floor(minutes / 1440 + 0.5)
    return ui["day" if d == 1 else "days"].format(n=fmt_num(d, lang, 0))


def fmt_quantity(value: float, channel: str, lang: str) -> str:
    """A reading with its unit: counters in Wh as kWh ('1.235 kWh'), powers in W as kW from 1 kW up, m³, °C."""
    if channel.endswith("_wh"):
        return f"{fmt_num(value / 1000, lang)} kWh"
    if channel.endswith("_w"):
        return fmt_power_w(value, lang)
    for suffix, unit in (("_m3", "m³"), ("_c", "°C"), ("_v", "V"), ("_a", "A"), ("_w_m2", "W/m²")):
        if channel.endswith(suffix):
            return f"{fmt_num(value, lang)} {unit}"
    return fmt_num(value, lang)


def fmt_power_w(watts: float, lang: str) -> str:
    return f"{fmt_num(watts / 1000, lang)} kW" if abs(watts) >= 1000 else f"{fmt_num(watts, lang)} W"


def fmt_time(t: dt.datetime, lang: str) -> str:
    """'torsdag 3. december 2026 kl. 01:00' (local time; a naive time is taken as local)."""
    ui = UI[lang]
    loc = _local(t)
    weekday, month = WEEKDAYS[lang][loc.weekday()], MONTHS[lang][loc.month - 1]
    if lang == "da":
        return f"{weekday} {loc.day}. {month} {loc.year} {ui['at']} {loc:%H:%M}"
    return f"{weekday} {loc.day} {month} {loc.year} {ui['at']} {loc:%H:%M}"


def fmt_day(t: dt.datetime, lang: str) -> str:
    """'3. december 2026' / '3 December 2026' (local)."""
    loc = t.astimezone(LOCAL_TZ)
    return f"{loc.day}{'.' if lang == 'da' else ''} {MONTHS[lang][loc.month - 1]} {loc.year}"


_TIMES = ("last_reading", "from", "to")
_DURATIONS_MIN = {"minutes_without_data": 1.0, "hours_without_change": 60.0, "days_behind": 1440.0}
_POWERS_W = ("highest_w", "rated_w", "limit_w")
_DECIMALS = (("_m3_h", 3), ("_m3_per_day", 2), ("_k", 1))  # small flows need their litres: 0,035 m³/h, not 0


def _evidence(f: Finding, lang: str) -> dict[str, str]:
    """The finding's numbers as the texts show them: each with its unit where the text does not give one."""
    channel = str(f.evidence.get("channel", f.channel or ""))
    out: dict[str, str] = {}
    times: dict[str, dt.datetime] = {}
    for k, v in f.evidence.items():
        if isinstance(v, str):
            if k in _TIMES:
                try:
                    times[k] = dt.datetime.fromisoformat(v)
                    out[k] = fmt_time(times[k], lang)
                    continue
                except ValueError:
                    pass
            out[k] = CHANNEL_LABELS[lang].get(v, v) if k == "channel" else v
        elif k in _DURATIONS_MIN:
            out[k] = human_duration(float(v) * _DURATIONS_MIN[k], lang)
        elif k in _POWERS_W:
            out[k] = fmt_power_w(float(v), lang)
        elif k in ("before", "after"):
            out[k] = fmt_quantity(float(v), channel, lang)
        elif any(k.endswith(suffix) for suffix, _ in _DECIMALS):
            out[k] = fmt_num(v, lang, next(n for suffix, n in _DECIMALS if k.endswith(suffix)))
        else:
            out[k] = fmt_num(v, lang)
    if "from" in times and "to" in times and _local(times["from"]).date() == _local(times["to"]).date():
        out["to"] = f"{UI[lang]['at']} {_local(times['to']):%H:%M}"  # "… kl. 09:00 til kl. 17:00": one day once
    return out


def _local(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t.astimezone(LOCAL_TZ)


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def rule_texts(f: Finding, lang: str) -> tuple[str, str, str]:
    """(title, what, advice) of a finding in ``lang``, the numbers filled in with their units."""
    texts = ORIGIN_RULES.get(f.rule, {}).get(str(f.evidence.get("origin", ""))) or RULES.get(f.rule, {})
    title, what, advice = texts.get(lang) or (f.rule, "{}", "")
    unit = finding_unit(f)  # the texts are written in kWh; a water or gas series' amounts are m³
    return in_unit(title, unit), in_unit(what, unit).format_map(_Default(_evidence(f, lang))), in_unit(advice, unit)


def mail_language(settings: Any) -> str:
    """``[alerts] language``, else ``[smtp] language``, else Danish."""
    alerts, smtp = getattr(settings, "alerts", None), getattr(settings, "smtp", None)
    if alerts is not None and alerts.language:
        return str(alerts.language)
    return str(smtp.language) if smtp is not None else "da"


def site_name(settings: Any, site: str) -> str:
    s = settings.sites.get(site)
    return str(s.name) if s is not None and s.name else site


def _named(site: str, device: str, candidates: Sequence[tuple[str | None, str | None, str | None]]) -> str | None:
    """The name of ``device`` among (site or None for any, device id, name); a sub-device such as
    ``inverter-mppt1`` is named after its device: 'Solcelleanlæg tag (mppt1)'."""
    for s, d, name in candidates:
        if name and d == device and s in (None, site):
            return name
    for s, d, name in candidates:
        if name and d and device.startswith(f"{d}-") and s in (None, site):
            return f"{name} ({device[len(d) + 1:]})"
    return None


def device_name(settings: Any, site: str, device: str) -> str:
    """The display name of a meter or device: the ``name`` of its ``[[devices]]`` entry (Modbus, M-Bus), of its
    ``[[mqtt.subscriptions]]`` entry, of its DataHub metering point (``[[datahub.metering_points]]``,
    ``[[sources.eloverblik.metering_points]]``); else its id."""
    candidates: list[tuple[str | None, str | None, str | None]] = [
        (d.site, d.id, d.name) for d in getattr(settings, "devices", None) or []]
    mqtt = getattr(settings, "mqtt", None)
    candidates += [(sub.site, sub.device, sub.name) for sub in (mqtt.subscriptions if mqtt is not None else [])]
    datahub = getattr(settings, "datahub", None)
    candidates += [(mp.site, mp.device, mp.name) for mp in (datahub.metering_points if datahub is not None else [])]
    sources = getattr(settings, "sources", None)
    eloverblik = getattr(sources, "eloverblik", None) if sources is not None else None
    candidates += [(mp.site, mp.device, mp.name) for mp in (eloverblik.metering_points if eloverblik else [])]
    return _named(site, device, candidates) or device


def recipients_for(settings: Any, site: str) -> list[str]:
    s = settings.sites.get(site)
    extra = settings.alerts.site(site).recipients if settings.alerts else []
    rec = list(dict.fromkeys([*(s.facility_managers if s else []), *extra]))
    if not rec and settings.smtp is not None:
        rec = list(settings.smtp.fallback_recipients)
    return rec


def alert_subject(kind: str, f: Finding, settings: Any, lang: str) -> str:
    """'[energimon] Sorø Rådhus · Hovedmåler: Måleren svarer ikke' — building, meter and what, so two alerts
    never share a subject; 'Påmindelse: ' / 'Løst: ' before, the cost per day after."""
    title = rule_texts(f, lang)[0]
    subject = f"[energimon] {UI[lang][kind]}{site_name(settings, f.site)} · {device_name(settings, f.site, f.device)}" \
              f": {title}"
    if kind != "resolved" and f.dkk_per_day:
        subject += " – " + UI[lang]["per_day"].format(dkk=fmt_num(f.dkk_per_day, lang, 0))
    return subject


def render_alert(kind: str, row: Row, f: Finding, settings: Any, *, chart: bytes | None = None,
                 now: dt.datetime | None = None, links: Sequence[tuple[str, str]] = ()) -> EmailMessage:
    """One alert mail (``kind``: new | reminder | resolved).  ``links``: one-click (label, URL) pairs
    (acknowledge, snooze) from :func:`energimon.web.links.mail_links`, shown unless the alert is resolved."""
    cfg = settings.alerts
    lang = mail_language(settings)
    ui = UI[lang]
    site = settings.sites.get(f.site)
    building = site_name(settings, f.site)
    meter = device_name(settings, f.site, f.device)
    title, what, advice = rule_texts(f, lang)
    price = (cfg.site(f.site).price_dkk_per_kwh or cfg.price_dkk_per_kwh) if cfg else 2.0
    if f.rule == "heat_deviation" and cfg:
        price = cfg.heat_price_dkk_per_kwh
    since = fmt_time(f.since, lang)
    alert_id = row["id"]
    if kind == "resolved":
        last_seen = dt.datetime.fromtimestamp(row["last_seen"], tz=dt.UTC)
        lasted = human_duration((last_seen - f.since).total_seconds() / 60, lang)
        what = ui["resolved_what"].format(since=since, last_seen=fmt_time(last_seen, lang), duration=lasted)
    subject = alert_subject(kind, f, settings, lang)
    # the id beside a configured name, so the energy team finds the device in the configuration
    meter_text = f"{meter} ({f.device})" if meter != f.device else meter
    where = f"{building}{', ' + site.address if site and site.address else ''} – {meter_text}"
    if f.kwh_per_day is not None and finding_unit(f) != "kWh":  # water (gas) in m³: no kWh price applies
        cost = VOLUME_COST[lang].format(amount=fmt_num(f.kwh_per_day, lang, 1), unit=finding_unit(f))
    elif f.kwh_per_day is not None and f.dkk_per_day is not None:
        cost = ui["cost_line"].format(kwh=fmt_num(f.kwh_per_day, lang, 0), dkk=fmt_num(f.dkk_per_day, lang, 0),
                                      price=fmt_num(price, lang, 2))
    elif f.rule in COSTS:
        cost = COSTS[f.rule][lang].format_map(_Default(_evidence(f, lang)))
    else:
        cost = ui["no_cost"]
    lines = [(ui["what"], what), (ui["where"], where), (ui["since"], since)]
    if kind != "resolved":
        lines += [(ui["cost"], cost), (ui["severity"], SEVERITIES[lang][f.severity])]
    footer = ui["footer"].format(reminder=fmt_num(cfg.reminder_h if cfg else 72, lang), id=alert_id)
    sign = ui["sign"].format(id=alert_id)
    heading = f"{ui[kind]}{title} – {building} · {meter}"
    plain = [heading, ""]
    plain += [f"{k}: {v}" for k, v in lines]
    shown_links = list(links) if kind != "resolved" else []
    if kind != "resolved":
        plain += ["", ui["todo"], advice, "", footer]
    plain += _plain_links(shown_links)
    plain += ["", "-- ", sign]
    chart_title = ui["chart_pv"] if (f.channel or "").startswith("pv") else ui["chart"]

    rows_html = "".join(f"<tr><th align='left' valign='top' style='padding-right:12px'>{html.escape(k)}</th>"
                        f"<td>{html.escape(v)}</td></tr>" for k, v in lines)
    body_html = [f"<html><body style='font-family:sans-serif'><h2>{html.escape(heading)}</h2>",
                 f"<table>{rows_html}</table>"]
    cid = make_msgid(domain="energimon")
    if chart is not None:
        body_html.append(f"<p><img src='cid:{cid[1:-1]}' alt='{html.escape(chart_title)}'><br>"
                         f"<small>{html.escape(chart_title)}</small></p>")
    if kind != "resolved":
        body_html += [f"<h3>{html.escape(ui['todo'])}</h3><p>{html.escape(advice)}</p>",
                      f"<p><small>{html.escape(footer)}</small></p>"]
    body_html += _html_links(shown_links)
    body_html.append(f"<hr><p><small>{html.escape(sign)}</small></p></body></html>")

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp.sender if settings.smtp else "energimon@localhost"
    msg["To"] = ", ".join(recipients_for(settings, f.site))
    msg["Date"] = format_datetime(now or dt.datetime.now(tz=dt.UTC))
    msg["Message-ID"] = f"<alert{alert_id}.{kind}{row['reminders'] if kind == 'reminder' else ''}@energimon>"
    if kind != "new":
        msg["In-Reply-To"] = msg["References"] = f"<alert{alert_id}.new@energimon>"
    msg.set_content("\n".join(plain), charset="utf-8")
    msg.add_alternative("".join(body_html), subtype="html", charset="utf-8")
    if chart is not None:
        html_part = msg.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)  # set just above: the message's HTML alternative
        html_part.add_related(chart, maintype="image", subtype="png", cid=cid, filename="graf.png")
    return msg


# -- one-click links (the web application's signed links; see energimon.web.links) ----------------------
def _plain_links(links: list[tuple[str, str]]) -> list[str]:
    return ["", *(f"{label}: {url}" for label, url in links)] if links else []


def _html_links(links: list[tuple[str, str]]) -> list[str]:
    if not links:
        return []
    items = " · ".join(f"<a href='{html.escape(url, quote=True)}'>{html.escape(label)}</a>" for label, url in links)
    return [f"<p>{items}</p>"]


DigestItem = tuple[str, Row, Finding | None]


def render_digest(items: Sequence[DigestItem], settings: Any,
                  now: dt.datetime) -> list[tuple[list[str], EmailMessage]]:
    """One digest mail per recipient list: each change (new, ongoing, resolved) with the building, the meter,
    what happened in words with its numbers, and since when — the digest is the only mail about these."""
    lang = mail_language(settings)
    ui = UI[lang]
    groups: dict[tuple[str, ...], list[str]] = {}
    for kind, row, f in items:
        rec = tuple(recipients_for(settings, row["site"]))
        where = f"{site_name(settings, row['site'])} · {device_name(settings, row['site'], row['device'])}"
        line = f"- {KINDS[lang][kind]}: {where}: "
        if f is None:
            line += f"{row['rule']} [id {row['id']}]"
        else:
            title, what, _ = rule_texts(f, lang)
            if kind == "resolved":  # what it was is in the title; say that it is over and how long it lasted
                last_seen = dt.datetime.fromtimestamp(row["last_seen"], tz=dt.UTC)
                lasted = human_duration((last_seen - f.since).total_seconds() / 60, lang)
                line += f"{title} [id {row['id']}]\n  " + ui["resolved_what"].format(
                    since=fmt_time(f.since, lang), last_seen=fmt_time(last_seen, lang), duration=lasted)
            else:
                cost = f" ({ui['per_day'].format(dkk=fmt_num(f.dkk_per_day, lang, 0))})" if f.dkk_per_day else ""
                since = ui["digest_since"].format(since=fmt_time(f.since, lang))
                line += f"{title}{cost} [id {row['id']}]\n  {what} ({since})"
        groups.setdefault(rec, []).append(line)
    out = []
    for rec, lines in groups.items():
        n = ui["one_change"] if len(lines) == 1 else ui["changes"].format(n=len(lines))
        msg = EmailMessage()
        msg["Subject"] = ui["digest_subject"].format(day=fmt_day(now, lang), n=n)
        msg["From"] = settings.smtp.sender if settings.smtp else "energimon@localhost"
        msg["To"] = ", ".join(rec)
        msg["Date"] = format_datetime(now)
        msg.set_content("\n".join([ui["digest_intro"], "", *lines]), charset="utf-8")
        out.append((list(rec), msg))
    return out


VOLUME_COST = {"da": "ca. {amount} {unit} pr. døgn", "en": "about {amount} {unit} per day"}
"""The extra use of a finding in m³ (a water or gas series): a volume, not priced at the kWh price."""


def finding_unit(f: Finding) -> str:
    """The unit of a finding's series and its per-day amount: m³ for a volume series (water, gas), else kWh."""
    return "m³" if (f.channel or "").endswith("_m3") else "kWh"


def chart_png(frame: pd.DataFrame, title: str = "", lang: str = "da", pv: bool = False, unit: str = "kWh") -> bytes:
    """The mail's chart (:func:`chart_figure`) as PNG bytes."""
    fig = chart_figure(frame, title, lang, pv, unit)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def chart_figure(frame: pd.DataFrame, title: str = "", lang: str = "da", pv: bool = False,
                 unit: str = "kWh") -> Figure:
    """A small chart (600×240 px): ``actual`` as a red line, ``low``-``high`` as a grey band, ``expected``
    dashed, each named in a legend; the axis in kWh (or ``unit``, m³) per hour, the dates in ``lang``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    ui = UI[lang]
    fig = Figure(figsize=(6, 2.4), dpi=100)
    ax = fig.add_subplot(111)
    index = pd.DatetimeIndex(frame.index)
    x = index.tz_convert(LOCAL_TZ).tz_localize(None) if index.tz is not None else index
    if "low" in frame and "high" in frame:
        ax.fill_between(x, frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float),
                        color="0.85", step="post", linewidth=0, label=ui["chart_pv_band" if pv else "chart_band"])
    if "expected" in frame and frame["expected"].notna().any():
        ax.plot(x, frame["expected"].to_numpy(dtype=float), color="0.45", linestyle="--", linewidth=0.8,
                drawstyle="steps-post", label=ui["chart_pv_expected" if pv else "chart_expected"])
    ax.plot(x, frame["actual"].to_numpy(dtype=float), color="#c0392b", linewidth=1.2, drawstyle="steps-post",
            label=ui["chart_actual"])
    ax.set_ylabel(ui["chart_unit"].replace("kWh", unit), fontsize=8)
    months = MONTHS_SHORT[lang]

    def day_label(value: float, _pos: int | None = None) -> str:
        d = mdates.num2date(value)
        return f"{d.day}{'.' if lang == 'da' else ''} {months[d.month - 1]}"

    days = max(1, len(x) // 24)
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, math.ceil(days / 8))))  # at most ~8 labels
    ax.xaxis.set_major_formatter(FuncFormatter(day_label))
    if title:
        ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    # above the plot, so the legend never hides the data
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
