"""``energimon alerts …``: list, acknowledge, snooze and mute alerts, and run the rules once."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from energimon.cliutil import EXIT_FAIL, Commands, Config, config_arg, t

if TYPE_CHECKING:
    from energimon.analytics.alerting.state import AlertDB


def register(commands: Commands) -> None:
    p = commands.add_parser("alerts", help=t("vis, kvittér, udsæt og dæmp alarmer",
                                             "list, acknowledge, snooze and mute alerts"),
                            description=t(
                                "Alarmtilstanden bag driftspersonalets mails (tilstandsfil: [alerts] state_path): "
                                "vis, kvittér, udsæt, dæmp og ophæv dæmpning af alarmer, eller kør reglerne én "
                                "gang. Hver skriver, hvad den gjorde.",
                                "The alert state of the facility managers' mails (state file: "
                                "[alerts] state_path): list, acknowledge, snooze, mute and unmute alerts, "
                                "or run the rules once. Each prints what it did."))
    p.set_defaults(handler=cmd_alerts)
    alerts_sub = p.add_subparsers(dest="alerts_command", metavar="ALERTS_COMMAND", required=True)
    a = alerts_sub.add_parser("list", help=t("aktive alarmer og dæmpninger", "active alerts and mutes"),
                              description=t(
                                  "Skriver de aktive alarmer (id, tilstand, alvor, bygning/apparat, regel, siden "
                                  "hvornår, kvitteret eller udsat) og de dæmpninger, der gælder.",
                                  "Print the active alerts (id, state, severity, site/device, rule, since "
                                  "when, acknowledged or snoozed) and the mutes in force."))
    config_arg(a)
    a.add_argument("--all", action="store_true", help=t("også løste og droppede alarmer",
                                                        "also resolved and dropped alerts"))
    a = alerts_sub.add_parser("ack", help=t("kvittér: ingen flere påmindelser (mailen om at den er løst kommer stadig)",
                                            "acknowledge: no more reminders (the resolved mail still comes)"),
                              description=t(
                                  "Kvitterer for en alarm: ingen flere påmindelser; der kommer stadig en mail, når "
                                  "den er løst. Skriver om den blev kvitteret.",
                                  "Acknowledge an alert: no more reminders; a mail still comes when it is "
                                  "resolved. Prints whether it was acknowledged."))
    config_arg(a)
    a.add_argument("id", type=int, help=t("alarmens id (i mailen og i 'alerts list')",
                                          "alert id (in the mail and in 'alerts list')"))
    a.add_argument("--by", help=t("hvem der kvitterede (til loggen)", "who acknowledged (for the log)"))
    a = alerts_sub.add_parser("snooze", help=t("ingen mails om én alarm i nogle timer",
                                               "no mails about one alert for some hours"),
                              description=t(
                                  "Ingen påmindelser om en alarm i --hours timer; består den, kommer der en "
                                  "påmindelse bagefter. Skriver til hvornår.",
                                  "No reminders for an alert for --hours; a reminder follows if it persists. "
                                  "Prints until when."))
    config_arg(a)
    a.add_argument("id", type=int, help=t("alarmens id", "alert id"))
    a.add_argument("--hours", type=float, default=24, help=t("timer (standard 24)", "hours (default 24)"))
    a = alerts_sub.add_parser("mute", help=t("vedligehold: ingen alarmmails for en bygning eller et apparat i nogle "
                                             "timer",
                                             "maintenance: no alert mails for a site or device for some hours"),
                              description=t(
                                  "Dæmpning under vedligehold: ingen alarmmails for en bygning (eller ét apparat) i "
                                  "--hours timer. Problemer der stadig er der bagefter, bliver mailet da. Skriver "
                                  "dæmpningens id og til hvornår.",
                                  "Maintenance mute: no alert mails for a site (or one device) for --hours. "
                                  "Problems still present afterwards are mailed then. Prints the mute's id "
                                  "and until when."))
    config_arg(a)
    a.add_argument("site", help=t("bygningens id", "site id"))
    a.add_argument("--device", help=t("kun dette apparat", "only this device"))
    a.add_argument("--hours", type=float, default=8, help=t("timer (standard 8)", "hours (default 8)"))
    a.add_argument("--reason", help=t("f.eks. 'service på ventilationsanlæg'", "e.g. 'service på ventilationsanlæg'"))
    a = alerts_sub.add_parser("unmute", help=t("afslut en dæmpning", "end a mute"),
                              description=t("Afslutter en dæmpning før tid. Skriver om den blev fjernet.",
                                            "End a maintenance mute early. Prints whether it was removed."))
    config_arg(a)
    a.add_argument("mute_id", type=int, help=t("dæmpningens id (fra 'alerts list')", "mute id (from 'alerts list')"))
    a = alerts_sub.add_parser("run", help=t("kør reglerne én gang nu (dæmonen gør det hvert kvarter)",
                                            "evaluate the rules once now (the daemon does it every 15 minutes)"),
                              description=t(
                                  "Kører hver regel én gang på den seneste hele time, fører alarmerne videre og "
                                  "lægger mails i kø, som dæmonen gør hvert kvarter (i minut 7, 22, 37 og 52, dansk "
                                  "tid); --send leverer dem også. Skriver antallene: fund, nye, påmindelser, løste, "
                                  "ventende (og sendte mails med --send).",
                                  "Evaluate every rule once on the last complete hour, advance the alert "
                                  "lifecycle and queue mails, as the daemon does every 15 minutes (at "
                                  "minutes 7, 22, 37 and 52, Danish time); --send also delivers them. "
                                  "Prints the counts: findings, new, reminders, resolved, pending (and "
                                  "mails sent with --send)."))
    config_arg(a)
    a.add_argument("--send", action="store_true", help=t("lever ventende mails nu", "deliver queued mails now"))
    a.add_argument("--now", metavar="YYYY-MM-DDTHH:MM",
                   help=t("kør som om klokken var denne danske tid (standard: nu), f.eks. en time efter demoen blev "
                          "stoppet, for at se de mails dens tavse målere giver",
                          "evaluate as if it were this local time (default: now), e.g. an hour after the demo was "
                          "stopped, to see the mails its silent meters cause"))


def _now(args) -> dt.datetime:
    from energimon.model import LOCAL_TZ

    if getattr(args, "now", None):
        t = dt.datetime.fromisoformat(args.now)
        return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t
    return dt.datetime.now(tz=dt.UTC)


def _local(t: dt.datetime | None) -> str:
    from energimon.model import LOCAL_TZ

    return "" if t is None else t.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _db(settings) -> AlertDB:
    from energimon.analytics.alerting.state import AlertDB
    from energimon.analytics.anomaly.settings import AlertSettings

    cfg = settings.alerts or AlertSettings()
    return AlertDB(cfg.state_path)


def cmd_alerts(args: argparse.Namespace, config: Config) -> int:
    from energimon.analytics.alerting.state import to_dt

    settings = config.settings()
    action = args.alerts_command
    now = _now(args)
    with _db(settings) as db:
        if action == "list":
            states = ("pending", "firing", "resolved", "dropped") if args.all else ("pending", "firing")
            rows = db.alerts(states)
            if not rows:
                print(t("ingen aktive alarmer", "no active alerts"))
            for r in rows:
                flags = []
                if r["acked_at"]:
                    flags.append(t(f"kvitteret {_local(to_dt(r['acked_at']))}",
                                   f"acked {_local(to_dt(r['acked_at']))}"))
                if r["snoozed_until"] and r["snoozed_until"] > now.timestamp():
                    flags.append(t(f"udsat til {_local(to_dt(r['snoozed_until']))}",
                                   f"snoozed until {_local(to_dt(r['snoozed_until']))}"))
                print(f"{r['id']:>5}  {r['state']:<8} {r['severity']:<8} {r['site']}/{r['device']}  {r['rule']}  "
                      + t(f"siden {_local(to_dt(r['since']))}", f"since {_local(to_dt(r['since']))}")
                      + f"  {'; '.join(flags)}")
            for m in db.mutes(now.timestamp()):
                where, ends = f"{m['site']}/{m['device'] or '*'}", _local(to_dt(m['until']))
                print(t(f"pause {m['id']}: {where} til {ends} {m['reason']}",
                        f"mute {m['id']}: {where} until {ends} {m['reason']}"))
            return 0
        if action == "ack":
            ok = db.ack(args.id, now, args.by or "")
            print(t(f"alarm {args.id} kvitteret: ikke flere påmindelser", f"alert {args.id} acknowledged: no more "
                    "reminders") if ok else t(f"ingen aktiv alarm {args.id}", f"no active alert {args.id}"))
            return 0 if ok else EXIT_FAIL
        if action == "snooze":
            until = now + dt.timedelta(hours=args.hours)
            ok = db.snooze(args.id, until)
            print(t(f"alarm {args.id} udsat til {_local(until)}", f"alert {args.id} snoozed until {_local(until)}")
                  if ok else t(f"ingen aktiv alarm {args.id}", f"no active alert {args.id}"))
            return 0 if ok else EXIT_FAIL
        if action == "mute":
            if args.site not in settings.sites:
                known = ", ".join(sorted(settings.sites))
                print(t(f"ukendt bygning {args.site!r}; kendte bygninger: {known}",
                        f"unknown site {args.site!r}; known sites: {known}"), file=sys.stderr)
                return EXIT_FAIL
            until = now + dt.timedelta(hours=args.hours)
            mid = db.add_mute(args.site, args.device, now, until, args.reason or "")
            where = f"{args.site}/{args.device or '*'}"
            print(t(f"pause {mid}: ingen alarmmails for {where} til {_local(until)}",
                    f"mute {mid}: no alert mails for {where} until {_local(until)}"))
            return 0
        if action == "unmute":
            ok = db.remove_mute(args.mute_id)
            print(t(f"pause {args.mute_id} fjernet", f"mute {args.mute_id} removed") if ok
                  else t(f"ingen pause {args.mute_id}", f"no mute {args.mute_id}"))
            return 0 if ok else EXIT_FAIL
        if action == "run":
            from energimon.analytics.alerting.jobs import AlertRunner
            from energimon.store import open_store

            runner = AlertRunner(settings, lambda: open_store(settings.store, readonly=True), db=db,
                                 links=config.mail_links(settings))
            counts = runner.run_rules(now)
            print(t(f"fund {counts['findings']}, nye {counts['new']}, påmindelser {counts['reminder']}, "
                    f"løst {counts['resolved']}, afventer {counts['pending']}",
                    f"findings {counts['findings']}, new {counts['new']}, reminders {counts['reminder']}, "
                    f"resolved {counts['resolved']}, pending {counts['pending']}"))
            if args.send:
                out = runner.run_outbox(now)
                smtp = settings.smtp
                folder = smtp.folder if smtp is not None and smtp.transport == "folder" else None
                print(t(f"mails sendt {out['sent']}, venter {out['waiting']}"
                        + (f" (skrevet til {folder})" if folder else ""),
                        f"mails sent {out['sent']}, waiting {out['waiting']}"
                        + (f" (written to {folder})" if folder else "")))
            return 0
    return EXIT_FAIL
