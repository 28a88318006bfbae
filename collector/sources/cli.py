"""``energimon sources``: status, fetch and backfill by hand, and what an Eloverblik token sees."""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from energimon.cliutil import EXIT_USAGE, Commands, Config, config_arg, number, t


def register(commands: Commands) -> None:
    p = commands.add_parser("sources", help=t("live-datakilder: Eloverblik (DataHub), Energi Data Service, DMI",
                                              "live data sources: Eloverblik (DataHub), Energi Data Service, DMI"),
                            description=t(
                                "De live-datakilder dæmonen selv henter fra: status, hentning eller genhentning "
                                "i hånden, og hvad et Eloverblik-token giver adgang til.",
                                "The live data sources the daemon fetches by itself: status, a fetch or a "
                                "backfill by hand, and what an Eloverblik token gives access to."))
    ssub = p.add_subparsers(dest="sources_command", metavar="SOURCES_COMMAND", required=True)
    s = ssub.add_parser("status", help=t("pr. serie: seneste værdi, forsinkelse, rettelser, estimerede værdier, fejl",
                                         "per series: latest value, lag, revisions, estimated values, failures"),
                        description=t(
                            "Skriver hvad hver kilde har hentet, fra dens tilstandsfil (kun læsning): pr. serie "
                            "antal værdier, første og sidste tid, hvor langt bagud den er, rettelser, estimerede "
                            "værdier og den seneste fejl.",
                            "Print what each source has fetched, from its state file (read-only): per "
                            "series the values held, their first and last time, how far behind it is, "
                            "revisions, estimated values and the last failure."))
    s.set_defaults(handler=cmd_status)
    config_arg(s)
    for name, helptext, desc in (
        ("fetch", t("hent det nye nu (det dæmonen gør efter planen)",
                    "fetch what is new now (what the daemon does on schedule)"),
         t("Henter fra hver series vandmærke (første gang: den konfigurerede genhentning) til spoolen og skriver "
           "derefter spoolen til lageret. Skriver fremdrift pr. kilde, en opsummering pr. kilde og de målinger, "
           "der blev skrevet til lageret.",
           "Fetch from the watermark of each series (the first time: the configured backfill) into the spool, "
           "then write the spool to the store. Prints progress per source, a summary line per source and the "
           "readings written to the store.")),
        ("backfill", t("hent igen fra en dato (standard: for backfill_days dage siden)",
                       "fetch again from a date (default: backfill_days ago)"),
         t("Henter alle serier igen fra --since (standard: for [sources] backfill_days dage siden). Værdier der "
           "allerede er hentet og ikke er ændret, skriver intet; ændrede er rettelser. Skriver fremdrift pr. kilde, "
           "en opsummering pr. kilde og de målinger, der blev skrevet til lageret.",
           "Fetch every series again from --since (default: [sources] backfill_days ago). Values already "
           "fetched and unchanged write nothing; changed ones are revisions. Prints progress per source, a summary "
           "line per source and the readings written to the store.")),
    ):
        f = ssub.add_parser(name, help=helptext, description=desc)
        f.set_defaults(handler=cmd_fetch, backfill=name == "backfill")
        config_arg(f)
        f.add_argument("--source", action="append", choices=("eloverblik", "energidataservice", "dmi"),
                       help=t("kun denne kilde (kan gentages; standard: alle konfigurerede)",
                              "only this source (repeatable; default: every configured one)"))
        if name == "backfill":
            f.add_argument("--since", help=t("første dag der hentes (ÅÅÅÅ-MM-DD, dansk dato)",
                                             "first day to fetch (YYYY-MM-DD, Danish date)"))
    e = ssub.add_parser("eloverblik", help=t("Eloverblik: hvad refresh-tokenet giver adgang til",
                                             "Eloverblik: what the refresh token gives access to"),
                        description=t("Eloverbliks tredjeparts-API: 'list' skriver hvad refresh-tokenet giver "
                                      "adgang til.",
                                      "The Eloverblik third-party API: 'list' prints what the refresh token gives "
                                      "access to."))
    esub = e.add_subparsers(dest="eloverblik_command", metavar="COMMAND", required=True)
    e_list = esub.add_parser("list", help=t("fuldmagter og målepunkter tokenet ser, som konfiguration",
                                            "authorisations and metering points the token sees, as config"),
                             description=t(
                                 "Skriver fuldmagterne og deres målepunkter som [[sources.eloverblik.metering_points]]-"
                                 "tabeller, klar til at indsætte (udfyld bygningen for hver).",
                                 "Print the authorisations (fuldmagter) and their metering points as "
                                 "[[sources.eloverblik.metering_points]] tables, ready to paste "
                                 "(fill in each site)."))
    e_list.set_defaults(handler=cmd_eloverblik_list)
    config_arg(e_list)


def _settings(config: Config):
    settings = config.settings()
    if settings.sources is None or not settings.sources.configured():
        print(t("energimon sources: ingen live-kilder sat op: tilføj [sources.eloverblik], "
                "[sources.energidataservice] eller [sources.dmi] (se config/energimon.example.toml)",
                "energimon sources: no live sources configured: add [sources.eloverblik], "
                "[sources.energidataservice] or [sources.dmi] (see config/energimon.example.toml)"), file=sys.stderr)
        return None
    return settings


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.sources.service import state_path
    from energimon.collector.sources.state import read_status
    from energimon.model import LOCAL_TZ, now_ms

    settings = _settings(config)
    if settings is None:
        return EXIT_USAGE
    path = state_path(settings)
    if not path.exists():
        print(t(f"{path}: intet hentet endnu (kør 'energimon sources fetch' eller start dæmonen)",
                f"{path}: nothing fetched yet (run 'energimon sources fetch' or start the daemon)"))
        return 0
    now = now_ms()

    def local(ms):
        return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if ms else "–"

    rows = read_status(path)
    for source in settings.sources.configured():
        mine = [r for r in rows if r.source == source]
        print(t(f"{source}: {number(len(mine))} serier", f"{source}: {number(len(mine))} series"))
        for r in mine:
            lag = r.lag_s(now)
            lag_txt = (t("ingen værdier endnu", "no values yet") if lag is None
                       else t(f"{number(lag / 86400, 1)} dage bagud", f"{number(lag / 86400, 1)} days behind"))
            span = f"{local(r.first_ms)} .. {local(r.last_end_ms)}"
            print(f"  {r.site}/{r.device}/{r.channel} ({r.name}): "
                  + t(f"{number(r.points)} værdier {span}, {lag_txt}, {number(r.revisions)} rettelser",
                      f"{number(r.points)} values {span}, {lag_txt}, {number(r.revisions)} revisions")
                  + (t(f", {number(r.estimated)} ikke målt (skønnet/justeret)", f", {number(r.estimated)} not "
                       "measured (estimated/adjusted)") if r.estimated else "")
                  + (f"; {r.info}" if r.info else "")
                  + (t(f"; FEJLER: {r.last_error}", f"; FAILING: {r.last_error}") if r.last_error else ""))
    return 0


def cmd_fetch(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.sources.runner import SourceBusy
    from energimon.collector.sources.service import run_source
    from energimon.logs import setup_logging
    from energimon.model import LOCAL_TZ
    from energimon.store import open_store
    from energimon.store.spool import Spool

    settings = _settings(config)
    if settings is None:
        return EXIT_USAGE
    since_ms = None
    if getattr(args, "backfill", False):
        try:
            since = (dt.date.fromisoformat(args.since) if args.since
                     else dt.datetime.now(tz=LOCAL_TZ).date() - dt.timedelta(days=settings.sources.backfill_days))
        except ValueError:
            print(t(f"energimon sources backfill: --since {args.since!r} er ikke en dato (ÅÅÅÅ-MM-DD)",
                    f"energimon sources backfill: --since {args.since!r} is not a date (YYYY-MM-DD)"), file=sys.stderr)
            return EXIT_USAGE
        since_ms = int(dt.datetime(since.year, since.month, since.day, tzinfo=LOCAL_TZ).timestamp() * 1000)
    names = args.source or settings.sources.configured()
    missing = [n for n in names if getattr(settings.sources, n) is None]
    if missing:
        print(t(f"energimon sources: ikke sat op: {', '.join(missing)}",
                f"energimon sources: not configured: {', '.join(missing)}"), file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log.level)
    spool = Spool(settings.spool.path, settings.spool.max_readings, settings.spool.synchronous)
    ok = True
    try:
        for name in names:
            def progress(s, name=name):
                # on a terminal one line rewritten in place; in a log one line per chunk
                text = t(f"{name}: {number(s.chunks)} bidder, {number(s.new)} nye værdier, {number(s.readings)} "
                         "målinger", f"{name}: {number(s.chunks)} chunks, {number(s.new)} new values, "
                         f"{number(s.readings)} readings")
                if sys.stderr.isatty():
                    print(f"\r{text}", end="", file=sys.stderr, flush=True)
                else:
                    print(text, file=sys.stderr, flush=True)

            try:
                summary = run_source(settings, name, spool.put, since_ms=since_ms, progress=progress)
            except SourceBusy as exc:
                print(t(f"\nenergimon sources: {name} hentes af en anden proces (dæmonen?); prøv igen senere",
                        f"\nenergimon sources: {exc}"), file=sys.stderr)
                ok = False
                continue
            if sys.stderr.isatty():
                print(file=sys.stderr)  # end the line rewritten in place
            print(_summary_line(summary))
            ok &= summary.ok
        written = _drain(spool, open_store(settings.store))
        left = number(spool.backlog())
        print(t(f"{number(written)} målinger skrevet til lageret ({left} tilbage i spoolen)",
                f"{number(written)} readings written to the store ({left} left in the spool)"))
    finally:
        spool.close()
    return 0 if ok else 1


def _summary_line(s) -> str:
    """A source run's summary for the person at the command line, in the run's language (the daemon logs
    ``SourceSummary.line()``, in English, for operators and their journald greps)."""
    text = t(f"{s.source}: {number(s.series)} serier, {number(s.new)} nye værdier, {number(s.revised)} rettede, "
             f"{number(s.unchanged)} uændrede, {number(s.readings)} målinger til spoolen, {number(s.requests)} "
             f"forespørgsler på {number(s.seconds, 1)} s",
             f"{s.source}: {number(s.series)} series, {number(s.new)} new values, {number(s.revised)} revised, "
             f"{number(s.unchanged)} unchanged, {number(s.readings)} readings to the spool, {number(s.requests)} "
             f"requests in {number(s.seconds, 1)} s")
    if s.fatal:
        text += t(f"; STANDSET: {s.fatal}", f"; STOPPED: {s.fatal}")
    if s.errors:
        text += t(f"; {number(len(s.errors))} fejl", f"; {number(len(s.errors))} failure(s)")
    return text


def _drain(spool, store, batch_size: int = 10_000) -> int:
    """Move what the spool holds into the store (as the daemon's writer does; harmless if it runs too)."""
    written = 0
    try:
        while (batch := spool.take(batch_size)) is not None:
            rejected = store.write(batch.readings)
            spool.ack(batch, [(r.reading, r.reason) for r in rejected], f"store:{store.kind}")
            written += len(batch) - len(rejected)
    except Exception as exc:  # the store is down: the readings wait in the spool for the daemon
        print(t(f"energimon sources: lageret tog ikke imod målingerne, de bliver i spoolen: {exc}",
                f"energimon sources: the store did not take the readings, they stay in the spool: {exc}"),
              file=sys.stderr)
    finally:
        store.close()
    return written


def cmd_eloverblik_list(args: argparse.Namespace, config: Config) -> int:
    from energimon.collector.sources.base import SourceError
    from energimon.collector.sources.service import make_source

    settings = _settings(config)
    if settings is None:
        return EXIT_USAGE
    if settings.sources.eloverblik is None:
        print(t("energimon sources eloverblik list: ingen [sources.eloverblik] med et refresh-token sat op",
                "energimon sources eloverblik list: no [sources.eloverblik] with a refresh token configured"),
              file=sys.stderr)
        return EXIT_USAGE
    from energimon.collector.sources.eloverblik.source import EloverblikSource

    source = make_source("eloverblik", settings)
    if not isinstance(source, EloverblikSource):  # make_source("eloverblik") makes one; a bug otherwise
        raise TypeError(f"make_source('eloverblik') gave {type(source).__name__}")
    configured = {mp.id: mp for mp in settings.sources.eloverblik.metering_points}
    try:
        auths = source.client.authorizations()
        if not auths:
            print(t("# tokenet har ingen fuldmagter endnu: bed bygningsejerne give kommunen tredjepartsadgang "
                    "på eloverblik.dk",
                    "# the token has no authorisations (fuldmagter) yet: ask the building owners to grant the "
                    "municipality's third-party access on eloverblik.dk"))
        for auth in auths:
            valid = f"{auth.validFrom or '?'} .. {auth.validTo or '?'}"
            print(t(f"# fuldmagt {auth.id}: {auth.customerName or '?'} (CVR {auth.customerCVR or '?'}), gyldig {valid}",
                    f"# authorisation {auth.id}: {auth.customerName or '?'} (CVR {auth.customerCVR or '?'}), "
                    f"valid {valid}"))
            if auth.id is None:  # the API's schema allows it; its metering points are asked for by the id
                print(t("#   (intet id i svaret: dens målepunkter kan ikke vises)",
                        "#   (no id in the answer: its metering points cannot be listed)"))
                continue
            for mp in source.client.metering_points(auth.id):
                known = configured.get(mp.meteringPointId)
                print("[[sources.eloverblik.metering_points]]")
                print(f'id = "{mp.meteringPointId}"')
                if known is not None:
                    print(f'site = "{known.site}"  # ' + t(f"allerede sat op: {known.device}/{known.channel}",
                                                         f"already configured: {known.device}/{known.channel}"))
                else:
                    print('site = ""  # ' + t(f"TODO: bygningen for {mp.address or 'dette målepunkt'}"
                                              f" (type {mp.typeOfMP or '?'})",
                                              f"TODO: the site of {mp.address or 'this metering point'}"
                                              f" (type {mp.typeOfMP or '?'})"))
                if mp.typeOfMP == "E18":  # a production metering point: what the building feeds into the grid
                    print('channel = "energy_export_wh"  # ' + t("E18: produktion (leveret til nettet)",
                                                                "E18: production (fed into the grid)"))
                print()
    except SourceError as exc:
        print(f"energimon sources eloverblik list: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
    return 0
