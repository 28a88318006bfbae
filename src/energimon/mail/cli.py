"""``energimon test-mail``: send one test mail through the configured transport, step by step.

Prints each step as it succeeds (token, connect, auth, send — the ones the transport has) and, on a
failure, which step failed, why, and the setting to fix; exit 0 when the server took the mail, 1 when not.
Its own words follow the run's language; the transport's details and fixes are quoted as it gives them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from energimon.cliutil import EXIT_FAIL, Commands, Config, config_arg, t


def register(commands: Commands) -> None:
    p = commands.add_parser(
        "test-mail", help=t("send én testmail gennem den konfigurerede mailforbindelse",
                            "send one test mail through the configured mail transport"),
        description=t(
            "Sender en testmail (med æ, ø og å i emne og tekst) med [smtp]-indstillingerne (SMTP, XOAUTH2 eller "
            "Microsoft Graph) til --to eller smtp.fallback_recipients og viser hvert trin (token, forbind, login, "
            "send) og hvilket der fejlede. Afslutter med 0, når serveren tog imod den.",
            "Send a test mail (Danish letters in subject and body) with the [smtp] settings (SMTP, XOAUTH2 "
            "or Microsoft Graph) to --to or smtp.fallback_recipients, showing each step (token, connect, "
            "auth, send) and which one failed. Exit 0 when the server accepted it."))
    p.set_defaults(handler=cmd_test_mail)
    config_arg(p)
    p.add_argument("--to", action="append", metavar="ADDRESS", help=t("modtager (kan gentages)",
                                                                      "recipient (repeatable)"))


def _step(step: str) -> str:
    """A step's name in the run's language (the transport names it in English: token, connect, auth, send)."""
    danish = {"connect": "forbind", "auth": "login"}
    return t(danish.get(step, step), step)


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
        print(t("ingen [smtp]-tabel i konfigurationen", "no [smtp] table in the configuration"), file=sys.stderr)
        return EXIT_FAIL
    recipients = args.to or list(smtp.fallback_recipients)
    if not recipients:
        print(t("ingen modtagere: giv --to ADRESSE eller sæt smtp.fallback_recipients",
                "no recipients: give --to ADDRESS or set smtp.fallback_recipients"), file=sys.stderr)
        return EXIT_FAIL
    for warning in mail_warnings(smtp):
        print(t(f"ADVARSEL: {warning}", f"WARNING: {warning}"), file=sys.stderr)
    print(f"transport: {smtp.describe()}")
    done: list[str] = []

    def progress(step: str, detail: str) -> None:
        done.append(step)
        print(f"  {_step(step) + ':':<8} ok — {detail}", flush=True)

    msg = render_testmail(smtp.sender, recipients, smtp.language, dt.datetime.now(tz=dt.UTC))
    try:
        make_transport(smtp).send(recipients, to_wire(msg), progress)
    except MailError as exc:
        print(f"  {_step(exc.step) + ':':<8} {t('FEJLEDE', 'FAILED')} — {exc.message}")
        if exc.fix:
            print(f"  {t('ret:', 'fix:'):<8} {exc.fix}")
        for step in _steps(smtp)[_steps(smtp).index(exc.step) + 1:] if exc.step in _steps(smtp) else []:
            print(f"  {_step(step) + ':':<8} {t('ikke prøvet', 'not tried')}")
        print(t(f"testmail ikke sendt: trinnet {_step(exc.step)} fejlede",
                f"test mail not sent: the {exc.step} step failed"), file=sys.stderr)
        return EXIT_FAIL
    print(t(f"testmail sendt til {', '.join(recipients)}", f"test mail sent to {', '.join(recipients)}"))
    return 0
