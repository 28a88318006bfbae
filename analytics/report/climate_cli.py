"""``energimon report climate``: the annual climate and energy account (PDF + XLSX) for the municipality.

``report`` is the shared report pipeline's command (:func:`energimon.analytics.report.cli.report_commands`);
``climate`` is added to its subcommands here.  What the account needs of the configuration is gathered by
:func:`account_settings`: the buildings and floor areas (``[sites]``), the baseline year, target and CO₂ factors of
the public barometer (``[web.barometer]``, else the ``[esco]`` factors, as the barometer does), the hourly CO₂
intensity, the outdoor temperature and normal year (``[esco]``), and the gas's calorific value (``[carriers]``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from energimon.cliutil import EXIT_USAGE, Commands, Config, config_arg, lang, t, unknown

DTI_NORMAL_YEAR = 2906.0
"""Degree days of the Danish Technological Institute's normal year (DTI normalår), used when ``[esco]`` names none
— the value ``[esco] normal_year`` examples cite (config/energimon.example.toml)."""


def register(commands: Commands) -> None:
    """``report climate``."""
    from energimon.analytics.report.cli import report_commands

    rsub = report_commands(commands)
    s = rsub.add_parser(
        "climate", help=t("årligt klima- og energiregnskab for kommunen og hver bygning (PDF og XLSX)",
                          "annual climate and energy account for the municipality and each building (PDF and XLSX)"),
        description=t(
            "Opgør et kalenderår pr. bygning og for kommunen, pr. energiart (el, fjernvarme, naturgas, vand): "
            "forbrug, kWh, kWh/m², CO₂ i ton (lokationsbaseret: el time for time med nettets CO₂-intensitet, "
            "hvor den er i lageret, ellers årets deklarerede faktor), varme graddagekorrigeret til normalåret, mod "
            "basisåret og målstien i [web.barometer]. Skriver klimaregnskab-ÅÅÅÅ.pdf og .xlsx i --out (standard "
            "esco.reports_dir eller 'rapporter' ved siden af konfigurationen). Et år der ikke er slut, er "
            "foreløbigt og tæller sine hele måneder. Skriver en linje for kommunen og en pr. bygning og de "
            "skrevne filer.",
            "Account for a calendar year per building and for the municipality, per carrier (electricity, "
            "district heating, natural gas, water): use, kWh, kWh/m², CO₂ in tonnes (location-based: electricity "
            "hour by hour with the grid's CO₂ intensity where the store has it, else the year's declared factor), "
            "heat normalised to the normal year by degree days, against the baseline year and the target path in "
            "[web.barometer]. Writes climate-account-YYYY.pdf and .xlsx to --out (default esco.reports_dir or "
            "'rapporter' beside the config). A year that is not over is preliminary and counts its whole months. "
            "Prints a line for the municipality and one per building, and the files written."))
    s.set_defaults(handler=cmd_report_climate)
    config_arg(s)
    s.add_argument("--year", required=True, type=int, help=t("året, ÅÅÅÅ (dansk kalender)",
                                                             "the year, YYYY (local calendar)"))
    s.add_argument("--site", action="append",
                   help=t("kun denne bygning (kan gentages; standard: alle i [sites]); filernes navne får "
                          "bygningernes id efter året (klimaregnskab-ÅÅÅÅ_<bygning>.pdf), så regnskabet for alle "
                          "bygninger ikke erstattes",
                          "only this site (repeatable; default: every site in [sites]); the files' names carry the "
                          "sites' ids after the year (climate-account-YYYY_<site>.pdf), so the account of every site "
                          "is not replaced"))
    s.add_argument("--out", type=Path, help=t("mappe til filerne", "folder for the files"))
    s.add_argument("--lang", choices=("da", "en"), default=argparse.SUPPRESS,
                   help=t("sprog for regnskabet, dets filer og beskeder (standard: --lang før kommandoen, ellers "
                          "dansk)",
                          "language of the account, its files and messages (default: --lang before the command, "
                          "else Danish)"))


def _out_dir(args, settings, config: Config) -> Path:
    if args.out is not None:
        return args.out
    base = settings.esco.reports_dir if getattr(settings, "esco", None) is not None else Path("rapporter")
    return base if base.is_absolute() else config.path.parent / base


def _calorific_fn(settings):
    """The gas's calorific value per site and year from ``[carriers]`` (None: the configuration has none)."""
    carrier_settings = getattr(settings, "carriers", None)
    return getattr(carrier_settings, "calorific", None)


def account_settings(settings, series, sites: list[str]):
    """What :func:`energimon.analytics.climate_account.compute_account` needs, from the configuration."""
    from energimon.analytics.anomaly.sources import live_rule
    from energimon.analytics.barometer import declared_factor_fn
    from energimon.analytics.climate_account import AccountSettings
    from energimon.analytics.degree_days import NormalYear
    from energimon.model import SeriesKey

    web = getattr(settings, "web", None)
    barometer = getattr(web, "barometer", None) if web is not None else None
    esco = getattr(settings, "esco", None)
    intensity = (barometer.co2_intensity if barometer is not None else None) or \
        (esco.co2_intensity if esco is not None else None)
    temperature = esco.temperature if esco is not None else None
    if temperature is None:  # the one outdoor temperature series in the store, if there is exactly one
        temps = series[series["channel"] == "outdoor_temp_c"]
        if len(temps) == 1:
            r = temps.iloc[0]
            temperature = f"{r['site']}/{r['device']}/outdoor_temp_c"
    if esco is not None:
        ny = esco.normal_year
        normal = NormalYear(ny.total, ny.source, tuple(ny.monthly))
    else:
        normal = NormalYear(DTI_NORMAL_YEAR, t("DTI normalår, 2906 graddage (energimons standard; sæt [esco] "
                                               "normal_year)", "DTI normal year, 2906 degree days (energimon's "
                                               "default; set [esco] normal_year)"))
    shares = {s: float(esco.sites[s].weather_independent_share) for s in sites
              if esco is not None and s in esco.sites and esco.sites[s].weather_independent_share is not None}
    baseline_t = None
    source = ""
    # the climate plan's figure covers the barometer's buildings: comparable only with the same buildings
    if barometer is not None and barometer.baseline_t_co2 is not None and \
            set(barometer.sites or settings.sites) == set(sites):
        baseline_t, source = barometer.baseline_t_co2, barometer.baseline_source
    return AccountSettings(
        sites={s: (settings.sites[s].name, settings.sites[s].floor_area_m2) for s in sites},
        factor=declared_factor_fn(barometer, esco), calorific=_calorific_fn(settings),
        intensity=SeriesKey.parse(intensity) if intensity else None,
        temperature=SeriesKey.parse(temperature) if temperature else None,
        normal_year=normal, weather_independent_share=shares,
        baseline_year=barometer.baseline_year if barometer is not None else None, baseline_t=baseline_t,
        baseline_source=source, target_year=barometer.target_year if barometer is not None else 2030,
        reduction_pct=barometer.target_reduction_pct if barometer is not None else 70.0,
        live=live_rule(settings, series))


def cmd_report_climate(args: argparse.Namespace, config: Config) -> int:
    from energimon.analytics.report.climate_account import console_lines, generate_climate_account
    from energimon.calendar import today as local_today
    from energimon.store import open_store

    prog = "energimon report climate"
    settings = config.settings()
    try:
        if not 1990 <= args.year <= 2100:
            raise ValueError(t(f"--year {args.year}: skal være et år som 2025", f"--year {args.year}: must be a year "
                               "like 2025"))
        today = local_today()
        if args.year > today.year or (args.year == today.year and today.month == 1):
            raise ValueError(t(f"ingen måned af {args.year} er slut endnu (i dag er {today.isoformat()}); der er "
                               "intet at opgøre",
                               f"no month of {args.year} is over yet (today is {today.isoformat()}); there is "
                               "nothing to account for"))
        for site in args.site or []:
            if site not in settings.sites:
                raise ValueError(unknown("site", site, settings.sites))
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sites = list(args.site or settings.sites)
    store = open_store(settings.store, readonly=True)
    try:
        cfg = account_settings(settings, store.series(), sites)
        barometer = getattr(getattr(settings, "web", None), "barometer", None)
        files = generate_climate_account(store, cfg, args.year, _out_dir(args, settings, config), lang(),
                                         barometer.municipality if barometer is not None else None, today, args.site)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        store.close()
    for line in console_lines(files.account, lang()):
        print(line)
    for p in files.paths():
        print(t(f"skrev {p}", f"wrote {p}"))
    return 0
