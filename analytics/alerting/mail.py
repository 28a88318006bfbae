"""Alert mails: plain text + HTML (same content) + a small PNG chart, in Danish or English.

Recipients: the site's ``facility_managers`` plus ``[alerts.sites.<id>] recipients``; when a site has
none, ``[smtp] fallback_recipients``.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import sqlite3
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pandas as pd

from energimon.analytics.alerting.texts import RULES, UI
from energimon.analytics.anomaly.findings import Finding
from energimon.model import LOCAL_TZ


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


def fmt_time(t: dt.datetime, lang: str) -> str:
    """'torsdag 3. december 2026 kl. 01:00' (local time)."""
    ui = UI[lang]
    loc = t.astimezone(LOCAL_TZ)
    if lang == "da":
        return f"{ui['weekdays'][loc.weekday()]} {loc.day}. {ui['months'][loc.month - 1]} {loc.year} " \
               f"{ui['at']} {loc:%H:%M}"
    return f"{ui['weekdays'][loc.weekday()]} {loc.day} {ui['months'][loc.month - 1]} {loc.year} {ui['at']} {loc:%H:%M}"


def _evidence(f: Finding, lang: str) -> dict[str, str]:
    out = {}
    for k, v in f.evidence.items():
        if k == "last_reading" and isinstance(v, str):
            try:
                out[k] = fmt_time(dt.datetime.fromisoformat(v), lang)
                continue
            except ValueError:
                pass
        out[k] = fmt_num(v, lang) if not isinstance(v, str) else v
    return out


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def rule_texts(f: Finding, lang: str) -> tuple[str, str, str]:
    title, what, advice = RULES.get(f.rule, {}).get(lang) or (f.rule, "{}", "")
    return title, what.format_map(_Default(_evidence(f, lang))), advice


def recipients_for(settings, site: str) -> list[str]:
    s = settings.sites.get(site)
    extra = settings.alerts.site(site).recipients if settings.alerts else []
    rec = list(dict.fromkeys([*(s.facility_managers if s else []), *extra]))
    if not rec and settings.smtp is not None:
        rec = list(settings.smtp.fallback_recipients)
    return rec


def render_alert(kind: str, row: sqlite3.Row | dict, f: Finding, settings, *, chart: bytes | None = None,
                 now: dt.datetime | None = None, links: list[tuple[str, str]] = ()) -> EmailMessage:
    """One alert mail (``kind``: new | reminder | resolved).  ``links``: one-click (label, URL) pairs
    (acknowledge, snooze) from :func:`energimon.web.links.mail_links`, shown unless the alert is resolved."""
    cfg = settings.alerts
    lang = (cfg.language if cfg and cfg.language else None) or (settings.smtp.language if settings.smtp else "da")
    ui = UI[lang]
    site = settings.sites.get(f.site)
    site_name = site.name if site else f.site
    title, what, advice = rule_texts(f, lang)
    price = (cfg.site(f.site).price_dkk_per_kwh or cfg.price_dkk_per_kwh) if cfg else 2.0
    if f.rule == "heat_deviation" and cfg:
        price = cfg.heat_price_dkk_per_kwh
    since = fmt_time(f.since, lang)
    alert_id = row["id"]
    if kind == "resolved":
        last_seen = dt.datetime.fromtimestamp(row["last_seen"], tz=dt.UTC)
        what = ui["resolved_what"].format(since=since, last_seen=fmt_time(last_seen, lang))
    subject = f"[energimon] {ui[kind]}{site_name}: {title}"
    if kind != "resolved" and f.dkk_per_day:
        subject += " – " + ui["per_day"].format(dkk=fmt_num(f.dkk_per_day, lang, 0))
    where = f"{site_name}{', ' + site.address if site and site.address else ''} – {ui['device']} «{f.device}»"
    if f.kwh_per_day is not None and f.dkk_per_day is not None:
        cost = ui["cost_line"].format(kwh=fmt_num(f.kwh_per_day, lang, 0), dkk=fmt_num(f.dkk_per_day, lang, 0),
                                      price=fmt_num(price, lang, 2))
    else:
        cost = ui["no_cost"]
    lines = [(ui["what"], what), (ui["where"], where), (ui["since"], since)]
    if kind != "resolved":
        lines += [(ui["cost"], cost), (ui["severity"], ui["severities"][f.severity])]
    footer = ui["footer"].format(reminder=fmt_num(cfg.reminder_h if cfg else 72, lang), id=alert_id)
    sign = ui["sign"].format(id=alert_id)
    plain = [f"{ui[kind]}{title}", ""]
    plain += [f"{k}: {v}" for k, v in lines]
    links = list(links) if kind != "resolved" else []
    if kind != "resolved":
        plain += ["", ui["todo"], advice, "", footer]
    plain += _plain_links(links)
    plain += ["", "-- ", sign]
    chart_title = ui["chart_pv"] if (f.channel or "").startswith("pv") else ui["chart"]

    rows_html = "".join(f"<tr><th align='left' valign='top' style='padding-right:12px'>{html.escape(k)}</th>"
                        f"<td>{html.escape(v)}</td></tr>" for k, v in lines)
    body_html = [f"<html><body style='font-family:sans-serif'><h2>{html.escape(ui[kind] + title)}</h2>",
                 f"<table>{rows_html}</table>"]
    cid = make_msgid(domain="energimon")
    if chart is not None:
        body_html.append(f"<p><img src='cid:{cid[1:-1]}' alt='{html.escape(chart_title)}'><br>"
                         f"<small>{html.escape(chart_title)}</small></p>")
    if kind != "resolved":
        body_html += [f"<h3>{html.escape(ui['todo'])}</h3><p>{html.escape(advice)}</p>",
                      f"<p><small>{html.escape(footer)}</small></p>"]
    body_html += _html_links(links)
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
        msg.get_payload()[1].add_related(chart, maintype="image", subtype="png", cid=cid, filename="graf.png")
    return msg


# -- one-click links (the web application's signed links; see energimon.web.links) ----------------------
def _plain_links(links: list[tuple[str, str]]) -> list[str]:
    return ["", *(f"{label}: {url}" for label, url in links)] if links else []


def _html_links(links: list[tuple[str, str]]) -> list[str]:
    if not links:
        return []
    items = " · ".join(f"<a href='{html.escape(url, quote=True)}'>{html.escape(label)}</a>" for label, url in links)
    return [f"<p>{items}</p>"]


def render_digest(items: list[tuple[str, sqlite3.Row, Finding | None]], settings,
                  now: dt.datetime) -> list[tuple[list[str], EmailMessage]]:
    """One digest mail per recipient list, listing the day's new, ongoing and resolved alerts."""
    lang = (settings.alerts.language if settings.alerts and settings.alerts.language else None) or (
        settings.smtp.language if settings.smtp else "da")
    ui = UI[lang]
    groups: dict[tuple[str, ...], list[str]] = {}
    for kind, row, f in items:
        rec = tuple(recipients_for(settings, row["site"]))
        site = settings.sites.get(row["site"])
        title = rule_texts(f, lang)[0] if f else row["rule"]
        cost = f" ({ui['per_day'].format(dkk=fmt_num(f.dkk_per_day, lang, 0))})" if f and f.dkk_per_day else ""
        groups.setdefault(rec, []).append(f"- {ui['kinds'][kind]}: {site.name if site else row['site']} "
                                          f"«{row['device']}»: {title}{cost} [id {row['id']}]")
    out = []
    for rec, lines in groups.items():
        msg = EmailMessage()
        msg["Subject"] = ui["digest_subject"].format(n=len(lines))
        msg["From"] = settings.smtp.sender if settings.smtp else "energimon@localhost"
        msg["To"] = ", ".join(rec)
        msg["Date"] = format_datetime(now)
        msg.set_content("\n".join([ui["digest_intro"], "", *lines]), charset="utf-8")
        out.append((list(rec), msg))
    return out


def chart_png(frame: pd.DataFrame, title: str = "") -> bytes:
    """A small chart (600×220 px): ``actual`` as a line, ``low``-``high`` as a grey band, ``expected`` dashed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.2), dpi=100)
    ax = fig.add_subplot(111)
    x = frame.index.tz_convert(LOCAL_TZ).tz_localize(None) if frame.index.tz is not None else frame.index
    if "low" in frame and "high" in frame:
        ax.fill_between(x, frame["low"].to_numpy(dtype=float), frame["high"].to_numpy(dtype=float),
                        color="0.85", step="post", linewidth=0)
    if "expected" in frame:
        ax.plot(x, frame["expected"].to_numpy(dtype=float), color="0.45", linestyle="--", linewidth=0.8,
                drawstyle="steps-post")
    ax.plot(x, frame["actual"].to_numpy(dtype=float), color="#c0392b", linewidth=1.2, drawstyle="steps-post")
    ax.set_ylabel("kWh/h")
    if title:
        ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
