"""Texts of the solar report and summary line, Danish (default) and English.

Kept beside the solar code rather than in the shared :mod:`energimon.analytics.report.i18n`, so the two
reports can evolve without editing each other's tables; :func:`t` has the same shape as ``tr``.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "title": {"da": "Solceller: produktion og egetforbrug", "en": "Solar: production and self-consumption"},
    "subtitle": {"da": "Månedsrapport for {month} — {n} anlæg, {kwp} kWp i alt",
                 "en": "Monthly report for {month} — {n} sites, {kwp} kWp in total"},
    "footer": {"da": "energimon · IEC 61724-1 · forventet produktion: pvlib, skyfri himmel",
               "en": "energimon · IEC 61724-1 · expected production: pvlib, clear sky"},
    "overview": {"da": "Oversigt: anlæggene sammenlignet pr. kWp", "en": "Overview: the sites compared per kWp"},
    "intro": {
        "da": "Alle energier er forskelle på målernes tællere (import, eksport, solcelleproduktion) pr. time og "
              "summeret — forholdstal er forhold mellem summer. Forbrug = import + produktion − eksport. "
              "Egetforbrugsandel = (produktion − eksport) / produktion. "
              "Selvforsyningsgrad = (forbrug − import) / forbrug. "
              "Slutudbytte Y_f = produktion / installeret effekt (kWh/kWp).",
        "en": "All energies are differences of the meters' counters (import, export, PV production) per hour, summed "
              "— ratios are ratios of sums. Consumption = import + production − export. Self-consumption ratio = "
              "(production − export) / production. Self-sufficiency = (consumption − import) / consumption. "
              "Final yield Y_f = production / installed power (kWh/kWp)."},
    "site": {"da": "Anlæg", "en": "Site"},
    "kwp": {"da": "kWp", "en": "kWp"},
    "pv_kwh": {"da": "Produktion kWh", "en": "Production kWh"},
    "import_kwh": {"da": "Import kWh", "en": "Import kWh"},
    "export_kwh": {"da": "Eksport kWh", "en": "Export kWh"},
    "consumption_kwh": {"da": "Forbrug kWh", "en": "Consumption kWh"},
    "self_consumed_kwh": {"da": "Egetforbrug kWh", "en": "Self-consumed kWh"},
    "self_consumption_ratio": {"da": "Egetforbrugsandel", "en": "Self-consumption ratio"},
    "self_sufficiency_ratio": {"da": "Selvforsyningsgrad", "en": "Self-sufficiency"},
    "final_yield_kwh_per_kwp": {"da": "Y_f kWh/kWp", "en": "Y_f kWh/kWp"},
    "reference_yield_h": {"da": "Y_r timer", "en": "Y_r hours"},
    # table headers: hyphenated so narrow columns can wrap them
    "h_scr": {"da": "Egetforbrugs-andel", "en": "Self-consumption ratio"},
    "h_ssr": {"da": "Selvforsynings-grad", "en": "Self-sufficiency"},
    "h_avail": {"da": "Tilgænge-lighed", "en": "Availability"},
    "performance_ratio": {"da": "PR", "en": "PR"},
    "expected_ac_kwh": {"da": "Forventet ved klar himmel kWh", "en": "Expected, clear sky kWh"},
    "availability": {"da": "Tilgængelighed", "en": "Availability"},
    "date": {"da": "Dato", "en": "Date"},
    "month": {"da": "Måned", "en": "Month"},
    "total": {"da": "I alt", "en": "Total"},
    "note": {"da": "Bemærkning", "en": "Note"},
    "hours": {"da": "Timer (data/alle)", "en": "Hours (data/all)"},
    # the one performance figure per site: a true PR with an irradiance sensor, else production against clear sky
    "perf": {"da": "Ydelse*", "en": "Performance*"},
    "perf_sensor": {"da": "Ydelse (PR)", "en": "Performance (PR)"},
    "perf_clear_sky": {"da": "Ydelse mod skyfri himmel", "en": "Performance against clear sky"},
    "perf_note_sensor": {
        "da": "* Ydelse for {names}: performance ratio (PR) — produktionen i forhold til den solindstråling, der er "
              "målt på panelerne ({detail}). Tab i anlægget (varme, snavs, skygge, fejl) trækker den ned.",
        "en": "* Performance for {names}: performance ratio (PR) — production against the sunlight measured on the "
              "panels ({detail}). Losses in the system (heat, dirt, shade, faults) lower it."},
    "perf_note_clear_sky": {
        "da": "* Ydelse for {names}: produktionen i forhold til det, anlægget kunne have givet under en skyfri himmel "
              "(beregnet; der er ingen indstrålingsmåler). Skyer trækker tallet ned, så det er lavt i en grå måned "
              "uden at noget er galt; et fald mellem måneder med samme vejr peger på en fejl.",
        "en": "* Performance for {names}: production against what the system could have given under a cloudless sky "
              "(computed; there is no irradiance sensor). Clouds lower it, so it is low in a grey month without "
              "anything being wrong; a drop between months with the same weather points to a fault."},
    "month_table": {"da": "Måneden", "en": "The month"},
    "daily_table": {"da": "Dag for dag", "en": "Day by day"},
    "chart_daily": {"da": "Produktion og forbrug pr. dag (kWh) og egetforbrugsandel",
                    "en": "Production and consumption per day (kWh) and self-consumption ratio"},
    "chart_kwp": {"da": "Produktion pr. kWp (kWh/kWp) i måneden", "en": "Production per kWp (kWh/kWp) in the month"},
    "legend_pv": {"da": "Produktion", "en": "Production"},
    "legend_load": {"da": "Forbrug", "en": "Consumption"},
    "legend_self": {"da": "Egetforbrugt", "en": "Self-consumed"},
    "legend_scr": {"da": "Egetforbrugsandel (højre akse)", "en": "Self-consumption ratio (right axis)"},
    "legend_expected": {"da": "Klar himmel", "en": "Clear sky"},
    "notes": {"da": "Bemærkninger", "en": "Notes"},
    "no_notes": {"da": "Ingen udfald: alle timer har fuldstændige målerdata, og anlægget producerede i alle "
                         "timer med forventet produktion.",
                 "en": "No outages: every hour has complete meter data and the array produced in every hour with "
                       "expected production."},
    "note_missing": {"da": "{day}: {k} af {n} timer mangler målerdata ({what}).",
                     "en": "{day}: {k} of {n} hours lack meter data ({what})."},
    "note_avail": {"da": "{day}: ingen målt produktion i {k} af {n} timer med forventet produktion, heraf {m} uden "
                         "data (tilgængelighed {a}).",
                   "en": "{day}: no measured production in {k} of {n} hours with expected production, {m} of them "
                         "without data (availability {a})."},
    "nc_title": {"da": "Kan ikke beregnes", "en": "Cannot be computed"},
    "nc_no_export": {"da": "{kpis}: eksport måles ikke separat (nettomåler uden eksporttæller).",
                     "en": "{kpis}: export is not measured separately (net meter without an export counter)."},
    "nc_no_import": {"da": "{kpis}: ingen hovedmåler med importtæller.",
                     "en": "{kpis}: no main meter with an import counter."},
    "nc_no_pv": {"da": "{kpis}: ingen solcelletæller (pv_energy_wh) for anlægget.",
                 "en": "{kpis}: no PV production counter (pv_energy_wh) for the site."},
    "nc_no_arrays": {"da": "{kpis}: ingen solcellepaneler (pv) beskrevet i konfigurationen.",
                     "en": "{kpis}: no PV arrays (pv) described in the configuration."},
    "inverters": {"da": "Pr. inverter", "en": "Per inverter"},
    "device": {"da": "Enhed", "en": "Device"},
    "mppt_share": {"da": "Andel af DC-effekt", "en": "Share of DC power"},
    "mppt_title": {"da": "Pr. MPPT (gennemsnitlig DC-effekt; MPPT-indgange har ingen energitæller)",
                   "en": "Per MPPT (mean DC power; MPPT inputs have no energy counter)"},
    "availability_def": {
        "da": "Tilgængelighed = timer med målt produktion / timer, hvor klar himmel giver mindst 5 % af "
              "installeret effekt (en time uden data tæller som ikke tilgængelig).",
        "en": "Availability = hours with measured production / hours in which a clear sky gives at least 5 % of "
              "the installed power (an hour without data counts as unavailable)."},
    "summary": {"da": "sol {day}: {parts}", "en": "solar {day}: {parts}"},
    "summary_site": {"da": "{name} {pv} kWh ({yf} kWh/kWp), egetforbrug {scr}, selvforsyningsgrad {ssr}",
                     "en": "{name} {pv} kWh ({yf} kWh/kWp), self-consumption {scr}, self-sufficiency {ssr}"},
    "no_sites": {"da": "ingen anlæg med solceller i konfigurationen", "en": "no sites with PV in the configuration"},
    # missing is never zero: why a period shows "–"
    "status_no_days": {"da": "ingen afsluttede dage endnu", "en": "no day of the period is over yet"},
    "status_no_counters": {"da": "ingen data — ingen tællere for anlægget i lageret",
                           "en": "no data — no counters for the site in the store"},
    "status_no_data": {"da": "ingen data — ingen timer med fuldstændige målerdata",
                       "en": "no data — no hours with complete meter data"},
    "status_incomplete": {"da": "ufuldstændig — kun {m} af {n} timer med fuldstændige målerdata (kræver {min})",
                          "en": "incomplete — only {m} of {n} hours with complete meter data ({min} needed)"},
    "status_line": {"da": "{what}: – ({why}).", "en": "{what}: – ({why})."},
    "total_left_out": {"da": "Summen omfatter kun anlæg med nok data — udeladt: {names}.",
                       "en": "The total covers only sites with enough data — left out: {names}."},
    "total_none": {"da": "Intet anlæg har nok data i måneden, så der er ingen sum.",
                   "en": "No site has enough data in the month, so there is no total."},
}

KPI_NAMES_SHORT = {
    "export_kwh": {"da": "eksport", "en": "export"},
    "import_kwh": {"da": "import", "en": "import"},
    "pv_kwh": {"da": "produktion", "en": "production"},
    "consumption_kwh": {"da": "forbrug", "en": "consumption"},
    "self_consumed_kwh": {"da": "egetforbrug", "en": "self-consumed energy"},
    "self_consumption_ratio": {"da": "egetforbrugsandel", "en": "self-consumption ratio"},
    "self_sufficiency_ratio": {"da": "selvforsyningsgrad", "en": "self-sufficiency"},
    "final_yield_kwh_per_kwp": {"da": "slutudbytte Y_f", "en": "final yield Y_f"},
    # table headers: hyphenated so narrow columns can wrap them
    "h_scr": {"da": "Egetforbrugs-andel", "en": "Self-consumption ratio"},
    "h_ssr": {"da": "Selvforsynings-grad", "en": "Self-sufficiency"},
    "h_avail": {"da": "Tilgænge-lighed", "en": "Availability"},
    "performance_ratio": {"da": "PR", "en": "PR"},
    "availability": {"da": "tilgængelighed", "en": "availability"},
}


def t(key: str, lang: str = "da", **kw) -> str:
    text = TEXTS[key][lang]
    return text.format(**kw) if kw else text
