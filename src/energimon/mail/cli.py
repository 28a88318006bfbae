"""``energimon test-mail``: send one test mail through the configured transport, step by step.

Prints each step as it succeeds (token, connect, auth, send — the ones the transport has) and, on a
failure, which step failed, why, and the setting to fix; exit 0 when the server took the mail, 1 when not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from energimon.cliutil import EXIT_FAIL, Commands, Config, config_arg


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "test-mail", help="send one test mail through the configured mail transport",
        description="Send a test mail (Danish letters in subject and body) with the [smtp] settings (SMTP, XOAUTH2 "
                    "or Microsoft Graph) to --to or smtp.fallback_recipients, showing each step (token, connect, "
                    "auth, send) and which one failed. Exit 0 when the server accepted it.")
    p.set_defaults(handler=cmd_test_mail)
    config_arg(p)
    p.add_argument("--to", action="append", metavar="ADDRESS", help="recipient (repeatable)")


def _steps(smtp) -> list[str]:
    if smtp.auth in ("xoauth2", "graph"):
        return ["token", "connect", "auth", "send"]
    return ["connect", "auth", "send"] if smtp.auth == "password" else ["connect", "send"]


def cmd_test_mail(args: argparse.Namespace, config: Config) -> int:
    from energimon.mail.render import render_testmail, to_wire
    from energimon.mail.settings import mail_warnings
    from energimon.mail.transport import MailError, make_transport

    settings = config.settings()
    smtp = settings.smtp
    if smtp is None:
        print("no [smtp] table in the configuration", file=sys.stderr)
        return EXIT_FAIL
    recipients = args.to or list(smtp.fallback_recipients)
    if not recipients:
        print("no recipients: give --to ADDRESS or set smtp.fallback_recipients", file=sys.stderr)
        return EXIT_FAIL
    for warning in mail_warnings(smtp):
        print(f"WARNING: {warning}", file=sys.stderr)
    print(f"transport: {smtp.describe()}")
    done: list[str] = []

    def progress(step: str, detail: str) -> None:
        done.append(step)
        print(f"  {step + ':':<8} ok — {detail}", flush=True)

    msg = render_testmail(smtp.sender, recipients, smtp.language, dt.datetime.now(tz=dt.UTC))
    try:
        make_transport(smtp).send(recipients, to_wire(msg), progress)
    except MailError as exc:
        print(f"  {exc.step + ':':<8} FAILED — {exc.message}")
        if exc.fix:
            print(f"  {'fix:':<8} {exc.fix}")
        for step in _steps(smtp)[_steps(smtp).index(exc.step) + 1:] if exc.step in _steps(smtp) else []:
            print(f"  {step + ':':<8} not tried")
        print(f"test mail not sent: the {exc.step} step failed", file=sys.stderr)
        return EXIT_FAIL
    print(f"test mail sent to {', '.join(recipients)}")
    return 0
