"""``energimon alerts …``: the handlers (the parsers live in energimon.app.cli; ``test-mail`` is the mail package's)."""

from __future__ import annotations

import datetime as dt
import sys

from energimon.analytics.alerting.state import AlertDB, to_dt
from energimon.config.settings import load_settings
from energimon.model import LOCAL_TZ

EXIT_FAIL = 1


def _now(args) -> dt.datetime:
    if getattr(args, "now", None):
        t = dt.datetime.fromisoformat(args.now)
        return t.replace(tzinfo=LOCAL_TZ) if t.tzinfo is None else t
    return dt.datetime.now(tz=dt.UTC)


def _local(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _db(settings) -> AlertDB:
    from energimon.analytics.anomaly.settings import AlertSettings

    cfg = settings.alerts or AlertSettings()
    return AlertDB(cfg.state_path)


def cmd_alerts(args) -> int:
    settings = load_settings(args.config)
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

            runner = AlertRunner(settings, lambda: open_store(settings.store, readonly=True), db=db)
            counts = runner.run_rules(now)
            print(f"findings {counts['findings']}, new {counts['new']}, reminders {counts['reminder']}, "
                  f"resolved {counts['resolved']}, pending {counts['pending']}")
            if args.send:
                out = runner.run_outbox(now)
                print(f"mails sent {out['sent']}, waiting {out['waiting']}")
            return 0
    return EXIT_FAIL
