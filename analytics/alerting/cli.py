"""``energimon alerts …``: list, acknowledge, snooze and mute alerts, and run the rules once."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from energimon.cliutil import EXIT_FAIL, Commands, Config, config_arg

if TYPE_CHECKING:
    from energimon.analytics.alerting.state import AlertDB


def register(commands: Commands) -> None:
    p = commands.add_parser("alerts", help="list, acknowledge, snooze and mute alerts",
                            description="The alert state of the facility managers' mails (state file: "
                                        "[alerts] state_path).")
    p.set_defaults(handler=cmd_alerts)
    alerts_sub = p.add_subparsers(dest="alerts_command", metavar="ALERTS_COMMAND", required=True)
    a = alerts_sub.add_parser("list", help="active alerts and mutes", description="Active alerts and mutes.")
    config_arg(a)
    a.add_argument("--all", action="store_true", help="also resolved and dropped alerts")
    a = alerts_sub.add_parser("ack", help="acknowledge: no more reminders (the resolved mail still comes)",
                              description="Acknowledge an alert: no more reminders; a mail still comes when it is "
                                          "resolved.")
    config_arg(a)
    a.add_argument("id", type=int, help="alert id (in the mail and in 'alerts list')")
    a.add_argument("--by", help="who acknowledged (for the log)")
    a = alerts_sub.add_parser("snooze", help="no mails about one alert for some hours",
                              description="No reminders for an alert for --hours; a reminder follows if it persists.")
    config_arg(a)
    a.add_argument("id", type=int, help="alert id")
    a.add_argument("--hours", type=float, default=24, help="hours (default 24)")
    a = alerts_sub.add_parser("mute", help="maintenance: no alert mails for a site or device for some hours",
                              description="Maintenance mute: no alert mails for a site (or one device) for --hours. "
                                          "Problems still present afterwards are mailed then.")
    config_arg(a)
    a.add_argument("site", help="site id")
    a.add_argument("--device", help="only this device")
    a.add_argument("--hours", type=float, default=8, help="hours (default 8)")
    a.add_argument("--reason", help="e.g. 'service på ventilationsanlæg'")
    a = alerts_sub.add_parser("unmute", help="end a mute", description="End a maintenance mute early.")
    config_arg(a)
    a.add_argument("mute_id", type=int, help="mute id (from 'alerts list')")
    a = alerts_sub.add_parser("run", help="evaluate the rules once now (what the daemon does hourly)",
                              description="Evaluate every rule once, advance the alert lifecycle, queue mails; "
                                          "--send also delivers them.")
    config_arg(a)
    a.add_argument("--send", action="store_true", help="deliver queued mails now")
    a.add_argument("--now", metavar="YYYY-MM-DDTHH:MM",
                   help="evaluate as if it were this local time (default: now), e.g. an hour after the demo was "
                        "stopped, to see the mails its silent meters cause")


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
                print("no active alerts")
            for r in rows:
                flags = []
                if r["acked_at"]:
                    flags.append(f"acked {_local(to_dt(r['acked_at']))}")
                if r["snoozed_until"] and r["snoozed_until"] > now.timestamp():
                    flags.append(f"snoozed until {_local(to_dt(r['snoozed_until']))}")
                print(f"{r['id']:>5}  {r['state']:<8} {r['severity']:<8} {r['site']}/{r['device']}  {r['rule']}  "
                      f"since {_local(to_dt(r['since']))}  {'; '.join(flags)}")
            for m in db.mutes(now.timestamp()):
                print(f"mute {m['id']}: {m['site']}/{m['device'] or '*'} until {_local(to_dt(m['until']))} "
                      f"{m['reason']}")
            return 0
        if action == "ack":
            ok = db.ack(args.id, now, args.by or "")
            print(f"alert {args.id} acknowledged: no more reminders" if ok else f"no active alert {args.id}")
            return 0 if ok else EXIT_FAIL
        if action == "snooze":
            until = now + dt.timedelta(hours=args.hours)
            ok = db.snooze(args.id, until)
            print(f"alert {args.id} snoozed until {_local(until)}" if ok else f"no active alert {args.id}")
            return 0 if ok else EXIT_FAIL
        if action == "mute":
            if args.site not in settings.sites:
                print(f"unknown site {args.site!r}; known sites: {', '.join(sorted(settings.sites))}",
                      file=sys.stderr)
                return EXIT_FAIL
            until = now + dt.timedelta(hours=args.hours)
            mid = db.add_mute(args.site, args.device, now, until, args.reason or "")
            print(f"mute {mid}: no alert mails for {args.site}/{args.device or '*'} until {_local(until)}")
            return 0
        if action == "unmute":
            ok = db.remove_mute(args.mute_id)
            print(f"mute {args.mute_id} removed" if ok else f"no mute {args.mute_id}")
            return 0 if ok else EXIT_FAIL
        if action == "run":
            from energimon.analytics.alerting.jobs import AlertRunner
            from energimon.store import open_store

            runner = AlertRunner(settings, lambda: open_store(settings.store, readonly=True), db=db,
                                 links=config.mail_links(settings))
            counts = runner.run_rules(now)
            print(f"findings {counts['findings']}, new {counts['new']}, reminders {counts['reminder']}, "
                  f"resolved {counts['resolved']}, pending {counts['pending']}")
            if args.send:
                out = runner.run_outbox(now)
                smtp = settings.smtp
                where = f" (written to {smtp.folder})" if smtp is not None and smtp.transport == "folder" else ""
                print(f"mails sent {out['sent']}, waiting {out['waiting']}{where}")
            return 0
    return EXIT_FAIL
