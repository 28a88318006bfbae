"""``energimon web`` and ``energimon users …``: the web package's commands (``register``, see energimon.cliutil)."""

from __future__ import annotations

import getpass
import os
import sys

from energimon.cliutil import EXIT_FAIL, Commands, Config, config_arg, t


def register(commands: Commands) -> None:
    """``energimon web`` (the server alone) and ``energimon users …`` (local accounts)."""
    p = commands.add_parser("web", help=t("kør webapplikationen (sider, links i mails, offentligt CO2-barometer)",
                                          "serve the web application (pages, mail links, public CO2 barometer)"),
                            description=t(
                                "Kører webapplikationen på [web] listen (standard 127.0.0.1:8080) indtil Ctrl-C. "
                                "Inde i 'energimon run' kører den samme server, når [web] enabled = true.",
                                "Serve the web application on [web] listen (default 127.0.0.1:8080) until "
                                "Ctrl-C. Inside 'energimon run' the same server runs when [web] enabled = true."))
    p.set_defaults(handler=cmd_web)
    config_arg(p)
    p.add_argument("--port", type=int, help=t("brug denne port i stedet for den i [web] listen",
                                              "override the port of [web] listen"))

    p = commands.add_parser("users", help=t("lokale webbrugere: add, passwd, disable, enable, list",
                                            "local web users: add, passwd, disable, enable, list"),
                            description=t("Webapplikationens lokale brugere (Argon2id-adgangskodehashes i "
                                          "[web] data_dir/users.db).",
                                          "Local users of the web application (Argon2id password hashes in "
                                          "[web] data_dir/users.db)."))
    p.set_defaults(handler=cmd_users)
    us = p.add_subparsers(dest="users_command", metavar="USERS_COMMAND", required=True)
    a = us.add_parser("add", help=t("opret en bruger (spørger om adgangskoden)", "add a user (asks for the password)"),
                      description=t("Opretter en bruger. Der spørges om adgangskoden to gange, eller den læses fra "
                                    "$ENERGIMON_PASSWORD (til scripts).",
                                    "Add a user. The password is asked for twice, or read from $ENERGIMON_PASSWORD "
                                    "(for scripts)."))
    config_arg(a)
    a.add_argument("username", help=t("f.eks. en e-mailadresse", "e.g. an e-mail address"))
    a.add_argument("--role", required=True, choices=("energi", "driftsansvarlig"),
                   help=t("energi (energiteamet: alle bygninger) eller driftsansvarlig (bygningerne fra --site)",
                          "energi (the energy team: every site) or driftsansvarlig (a facility manager: the --site "
                          "sites)"))
    a.add_argument("--site", action="append", default=[], metavar="SITE",
                   help=t("en bygning som en driftsansvarlig ser (kan gentages)",
                          "a building a driftsansvarlig sees (repeatable)"))
    a.add_argument("--name", default="", help=t("navnet der vises på siderne og i revisionsloggen",
                                                "the name shown in the pages and the audit log"))
    a = us.add_parser("passwd", help=t("sæt en ny adgangskode", "set a new password"),
                      description=t("Sætter en brugers adgangskode (spørger om den); skriver at den blev ændret.",
                                    "Set a user's password (asks for it); prints that it was changed."))
    config_arg(a)
    a.add_argument("username", help=t("brugerens navn, som i 'users list'", "the user's name, as in 'users list'"))
    for cmd, text in (("disable", t("en deaktiveret bruger kan ikke logge ind (og logges ud)",
                                    "a disabled user cannot log in (and is logged out)")),
                      ("enable", t("genaktivér en deaktiveret bruger", "enable a disabled user again"))):
        a = us.add_parser(cmd, help=text, description=text[0].upper() + text[1:]
                          + t("; skriver at det blev gjort.", "; prints that it was done."))
        config_arg(a)
        a.add_argument("username", help=t("brugerens navn, som i 'users list'", "the user's name, as in 'users list'"))
    a = us.add_parser("list", help=t("vis brugerne", "list the users"),
                      description=t("Viser brugerne.", "List the users."))
    config_arg(a)


def _web(settings):
    from energimon.web.settings import WebSettings

    return settings.web or WebSettings()


def _password(confirm: bool = True) -> str:
    env = os.environ.get("ENERGIMON_PASSWORD")
    if env:
        return env
    pw = getpass.getpass("Adgangskode: ")
    if confirm and getpass.getpass("Gentag adgangskode: ") != pw:
        raise ValueError(t("de to adgangskoder er forskellige", "the two passwords differ"))
    return pw


def cmd_users(args, config: Config) -> int:
    from energimon.web.accounts import AccountError, Accounts

    settings = config.settings()
    accounts = Accounts(_web(settings).data_dir)
    try:
        action = args.users_command
        if action == "list":
            users = accounts.users()
            if not users:
                print(t("ingen brugere", "no users"))
            for u in users:
                sites = f"  {t('bygninger', 'sites')}: {', '.join(u.sites)}" if u.sites else ""
                disabled = f" {t('SPÆRRET', 'DISABLED')}" if u.disabled else ""
                print(f"{u.username:<30} {u.role.value:<16}{disabled}{sites}")
            return 0
        if action == "add":
            unknown = [s for s in args.site if s not in settings.sites]
            if unknown:
                known = ", ".join(sorted(settings.sites)) or t("ingen", "none")
                raise AccountError(t(f"ukendte bygninger {', '.join(unknown)}; kendte bygninger: {known}",
                                     f"unknown site(s) {', '.join(unknown)}; known sites: {known}"))
            u = accounts.add(args.username, _password(), args.role, args.site, args.name)
            what = f"{u.role.value}{': ' + ', '.join(u.sites) if u.sites else ''}"
            print(t(f"bruger {u.username} oprettet ({what})", f"user {u.username} added ({what})"))
        elif action == "passwd":
            accounts.set_password(args.username, _password())
            print(t(f"adgangskoden for {args.username} er ændret", f"password of {args.username} changed"))
        elif action in ("disable", "enable"):
            accounts.set_disabled(args.username, action == "disable")
            print(t(f"bruger {args.username} {'spærret' if action == 'disable' else 'genåbnet'}",
                    f"user {args.username} {action}d"))
        return 0
    except (AccountError, ValueError) as exc:
        print(f"energimon users {args.users_command}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        accounts.close()


def cmd_web(args, config: Config) -> int:
    import asyncio
    import signal

    from energimon.logs import setup_logging
    from energimon.web.app import create_app
    from energimon.web.server import serve_embedded

    settings = config.settings()
    setup_logging(settings.log.level)
    web = _web(settings)
    app = create_app(settings)

    async def main() -> bool:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def started(server) -> None:
            from energimon.web.server import bound_port

            url = f"http://{web.host}:{bound_port(server)}{web.root_path}/"
            print(t(f"energimon web: {url} (Ctrl-C stopper)", f"energimon web: {url} (Ctrl-C stops)"), flush=True)

        return await serve_embedded(app, web, stop, port=args.port, started=started)

    if not asyncio.run(main()):
        where = f"{web.host}:{args.port or web.port}"
        print(t(f"energimon web: kunne ikke lytte på {where} (se loggen ovenfor)",
                f"energimon web: could not listen on {where} (see the log above)"), file=sys.stderr)
        return EXIT_FAIL
    return 0
