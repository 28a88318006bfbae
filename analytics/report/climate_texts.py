"""Texts of the annual climate and energy account, Danish (default) and English.

Kept beside the account's builder rather than in the shared :mod:`energimon.analytics.report.i18n` (as the solar
report keeps its own), so the reports evolve without editing each other's tables; :func:`t` has ``tr``'s shape.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "title": {"da": "Klima- og energiregnskab {year}", "en": "Climate and energy account {year}"},
    "subtitle": {"da": "{municipality} — {n} bygninger, {start} – {end}",
                 "en": "{municipality} — {n} buildings, {start} – {end}"},
    "subtitle_preliminary": {"da": "{municipality} — {n} bygninger, {start} – {end} (året er ikke slut)",
                             "en": "{municipality} — {n} buildings, {start} – {end} (the year is not over)"},
    "preliminary": {"da": "FORELØBIG", "en": "PRELIMINARY"},
    "footer": {"da": "energimon · klima- og energiregnskab · CO₂ lokationsbaseret (GHG Protocol Scope 2)",
               "en": "energimon · climate and energy account · CO₂ location-based (GHG Protocol Scope 2)"},
    "municipality": {"da": "Kommunen samlet", "en": "The municipality"},
    "municipality_default": {"da": "Kommunen", "en": "The municipality"},
    "summary_intro": {
        "da": "Alle kommunens konfigurerede bygninger med målere, pr. energiart: det målte forbrug, kWh, kWh pr. m² "
              "etageareal, CO₂ i ton (lokationsbaseret) og varmen graddagekorrigeret til et normalår. Et tal, der "
              "ikke kan opgøres, står som \"–\" med grunden under tabellen — aldrig som 0.",
        "en": "All of the municipality's configured buildings with meters, per carrier: metered use, kWh, kWh per m² "
              "of floor area, CO₂ in tonnes (location-based) and heat normalised to a normal year by degree days. A "
              "figure that cannot be accounted for is shown as \"–\" with the reason below the table — never as 0."},
    "preliminary_note": {
        "da": "Foreløbigt regnskab: {year} er ikke slut; talt fra {start} til og med {last} (hele måneder). Det "
              "sammenlignes med basisåret, når året er slut.",
        "en": "Preliminary account: {year} is not over; counted from {start} up to and including {last} (whole "
              "months). It is compared with the baseline year when the year is over."},
    "use_table": {"da": "Forbrug og CO₂ {year}", "en": "Use and CO₂ {year}"},
    "base_table": {"da": "Sammenlignet med basisåret {base}", "en": "Compared with the baseline year {base}"},
    "target_table": {"da": "CO₂ mod målstien", "en": "CO₂ against the target path"},
    "carrier": {"da": "Energiart", "en": "Carrier"},
    "metered": {"da": "Målt forbrug", "en": "Metered"},
    "unit": {"da": "Enhed", "en": "Unit"},
    "kwh": {"da": "kWh", "en": "kWh"},
    "kwh_per_m2": {"da": "kWh/m²", "en": "kWh/m²"},
    "t_co2": {"da": "CO₂ ton", "en": "CO₂ t"},
    "co2_basis": {"da": "CO₂-grundlag", "en": "CO₂ basis"},
    "kwh_normalised": {"da": "Normalår kWh", "en": "Normal year kWh"},
    "hours": {"da": "Timer (data/alle)", "en": "Hours (data/all)"},
    "kwh_year": {"da": "kWh {year}", "en": "kWh {year}"},
    "t_year": {"da": "CO₂ ton {year}", "en": "CO₂ t {year}"},
    "norm_year": {"da": "Normalår kWh {year}", "en": "Normal year kWh {year}"},
    "change": {"da": "Ændring", "en": "Change"},
    "change_kwh": {"da": "Ændring kWh", "en": "Change kWh"},
    "change_t": {"da": "Ændring CO₂", "en": "Change CO₂"},
    "change_norm": {"da": "Ændring normalår", "en": "Change normal year"},
    "total": {"da": "I alt (energi)", "en": "Total (energy)"},
    "baseline_t": {"da": "Basisår {year}, ton CO₂", "en": "Baseline {year}, t CO₂"},
    "path_t": {"da": "Målsti {year}, ton", "en": "Target path {year}, t"},
    "actual_t": {"da": "Opgjort {year}, ton", "en": "Accounted {year}, t"},
    "target_t": {"da": "Mål {year} (−{pct} %), ton", "en": "Target {year} (−{pct} %), t"},
    "vs_path": {"da": "Forskel til stien", "en": "Against the path"},
    "baseline_from_plan": {"da": "Basisårets CO₂ ({t} ton) er klimaplanens tal: {source}.",
                           "en": "The baseline year's CO₂ ({t} t) is the climate plan's figure: {source}."},
    "baseline_computed": {"da": "Basisårets CO₂ er opgjort af energimon ud fra bygningernes målere i {year}.",
                          "en": "The baseline year's CO₂ is accounted by energimon from the buildings' meters in "
                                "{year}."},
    "no_target": {"da": "Intet basisår er konfigureret ([web.barometer] baseline_year, target_year og "
                        "target_reduction_pct), så regnskabet sammenlignes hverken med basisåret eller målstien.",
                  "en": "No baseline year is configured ([web.barometer] baseline_year, target_year and "
                        "target_reduction_pct), so the account is compared with neither the baseline year nor the "
                        "target path."},
    "on_path": {"da": "under stien", "en": "below the path"},
    "over_path": {"da": "over stien", "en": "above the path"},
    "notes": {"da": "Hvorfor \"–\":", "en": "Why \"–\":"},
    "note_line": {"da": "{what}: {why}.", "en": "{what}: {why}."},
    "floor_area": {"da": "Etageareal: {area} m².", "en": "Floor area: {area} m²."},
    "no_floor_area_line": {"da": "Etageareal: ikke konfigureret (floor_area_m2 i [sites.{site}]), så kWh/m² er \"–\".",
                           "en": "Floor area: not configured (floor_area_m2 in [sites.{site}]), so kWh/m² is \"–\"."},
    "meters_line": {"da": "Målere: {meters}.", "en": "Meters: {meters}."},
    "imported_copy": {"da": "importeret kopi: den direkte aflæste målers år har ukendte timer",
                      "en": "imported copy: the year of the meter read live has unknown hours"},
    "no_meters": {"da": "Bygningen har ingen målere i lageret for året.",
                  "en": "The building has no meters in the store for the year."},
    "not_applicable": {"da": "i.r.", "en": "n/a"},
    # CO₂ basis cells
    "basis_hourly": {"da": "timevis", "en": "hourly"},
    "basis_declared": {"da": "faktor {year}", "en": "factor {year}"},
    "basis_mixed": {"da": "timevis {share} + faktor {year}", "en": "hourly {share} + factor {year}"},
    "basis_mixed_sum": {"da": "blandet", "en": "mixed"},
    "basis_declared_sum": {"da": "faktorer", "en": "factors"},
    # the reasons of "–"
    "why_unknown_hours": {"da": "{unknown} af {hours} timer ukendte ({reason}, {first} – {last}); årets sum kan ikke "
                                "opgøres uden dem",
                          "en": "{unknown} of {hours} hours unknown ({reason}, {first} – {last}); the year's sum "
                                "cannot be made without them"},
    "reason_gap": {"da": "hul i målingerne", "en": "a gap in the readings"},
    "reason_reset": {"da": "tælleren gik baglæns", "en": "the counter went backwards"},
    "reason_no_data": {"da": "ingen målinger", "en": "no readings"},
    "reason_partial": {"da": "målingerne begynder eller slutter inde i en time",
                       "en": "the readings begin or end inside an hour"},
    "why_no_meter": {"da": "ingen måler", "en": "no meter"},
    "why_no_calorific": {"da": "ingen brændværdi (kWh pr. m³) for gassen konfigureret ([[carriers."
                               "gas_calorific_value]]); kun m³ vises",
                         "en": "no calorific value (kWh per m³) of the gas configured ([[carriers."
                               "gas_calorific_value]]); only m³ is shown"},
    "why_no_factor": {"da": "ingen CO₂-faktor for {carrier} i {year} eller før", "en": "no CO₂ factor for {carrier} "
                                                                                    "in {year} or before"},
    "why_no_floor_area": {"da": "intet etageareal konfigureret{names}", "en": "no floor area configured{names}"},
    "why_no_temperature": {"da": "udetemperatur mangler for {days} dage", "en": "outdoor temperature missing for "
                                                                                "{days} days"},
    "why_no_temperature_series": {"da": "ingen udetemperaturserie ([esco] temperature)",
                                  "en": "no outdoor temperature series ([esco] temperature)"},
    "why_no_normal_year": {"da": "intet normalår konfigureret ([esco] normal_year)",
                           "en": "no normal year configured ([esco] normal_year)"},
    "why_no_degree_days": {"da": "ingen graddage i perioden", "en": "no degree days in the period"},
    "why_depends": {"da": "bygger på {what}, som er ukendt", "en": "made from {what}, which is unknown"},
    "why_sites": {"da": "ukendt for {names}", "en": "unknown for {names}"},
    "why_carrier": {"da": "{carrier} kan ikke opgøres", "en": "{carrier} cannot be accounted for"},
    "why_preliminary": {"da": "året er ikke slut", "en": "the year is not over"},
    "why_no_baseline": {"da": "basisåret {year} kan ikke opgøres", "en": "the baseline year {year} cannot be "
                                                                         "accounted for"},
    "why_no_baseline_none": {"da": "intet basisår", "en": "no baseline year"},
    "why_zero_baseline": {"da": "basisåret er 0", "en": "the baseline year is 0"},
    "why_not_energy": {"da": "vand er ikke energi", "en": "water is not energy"},
    "figure_quantity": {"da": "forbrug", "en": "use"},
    "figure_kwh": {"da": "kWh", "en": "kWh"},
    "figure_kwh_per_m2": {"da": "kWh/m²", "en": "kWh/m²"},
    "figure_t_co2": {"da": "CO₂", "en": "CO₂"},
    "figure_kwh_normalised": {"da": "normalår", "en": "normal year"},
    "figure_change": {"da": "sammenligning", "en": "comparison"},
    # the method page
    "method": {"da": "Metode", "en": "Method"},
    "m_energy_t": {"da": "Forbrug", "en": "Use"},
    "m_energy": {
        "da": "Forbruget er summen af årets timer fra bygningernes tællere (el: import fra nettet; fjernvarme: "
              "varmemålerens energi; naturgas og vand: m³). En time tæller, når tælleren dækker hele timen og ikke "
              "gik baglæns; en bygning med en ukendt time i året har ingen årssum (\"–\" med antal timer og grund) — "
              "det manglende gøres aldrig til 0. Genindlæs forsyningens timedata (fx DataHub) for at lukke hullet.",
        "en": "Use is the sum of the year's hours of the buildings' counters (electricity: import from the grid; "
              "district heating: the heat meter's energy; natural gas and water: m³). An hour counts when the "
              "counter covers all of it and did not go backwards; a building with an unknown hour in the year has "
              "no yearly sum (\"–\" with the number of hours and the reason) — what is missing is never made 0. "
              "Re-import the utility's hourly data (e.g. DataHub) to close the gap."},
    "m_gas_t": {"da": "Naturgas i kWh", "en": "Natural gas in kWh"},
    "m_gas": {"da": "kWh = m³ × brændværdi (kWh pr. m³, øvre brændværdi som gassen afregnes på). Brugt: {values}.",
              "en": "kWh = m³ × calorific value (kWh per m³, the upper calorific value gas is settled on). Used: "
                    "{values}."},
    "m_gas_none": {"da": "ingen brændværdi konfigureret — naturgas vises kun i m³",
                   "en": "no calorific value configured — natural gas is shown in m³ only"},
    "m_co2_t": {"da": "CO₂ (lokationsbaseret)", "en": "CO₂ (location-based)"},
    "m_co2": {
        "da": "GHG Protocol Scope 2 Guidance (2015), den lokationsbaserede metode. El tælles time for time med "
              "elnettets CO₂-intensitet i prisområdet (Energinet, Energi Data Service CO2Emis), hvor lageret har "
              "den: CO₂ = Σ_timer kWh × g/kWh; ellers, og for de øvrige energiarter, med den deklarerede faktor for "
              "året (eller det seneste år før): CO₂ = kWh × kg/kWh (naturgas: m³ × kg/m³). Kolonnen CO₂-grundlag "
              "siger for hver række, hvilken metode og hvilket faktorår der er brugt.",
        "en": "GHG Protocol Scope 2 Guidance (2015), the location-based method. Electricity is counted hour by hour "
              "with the grid's CO₂ intensity in the price area (Energinet, Energi Data Service CO2Emis), where the "
              "store has it: CO₂ = Σ_hours kWh × g/kWh; otherwise, and for the other carriers, with the declared "
              "factor of the year (or the latest year before): CO₂ = kWh × kg/kWh (natural gas: m³ × kg/m³). The "
              "CO₂ basis column says for each row which method and which factor year was used."},
    "m_factors_t": {"da": "CO₂-faktorer brugt", "en": "CO₂ factors used"},
    "m_factor_line": {"da": "{carrier} {year}: {kg} kg CO₂ pr. {per} — {source}",
                      "en": "{carrier} {year}: {kg} kg CO₂ per {per} — {source}"},
    "m_hourly_line": {"da": "el time for time: serien {series}, {g} g CO₂/kWh i gennemsnit for de opgjorte kWh",
                      "en": "electricity hour by hour: the series {series}, {g} g CO₂/kWh on average over the "
                            "accounted kWh"},
    "m_no_factors": {"da": "ingen (intet kunne opgøres)", "en": "none (nothing could be accounted for)"},
    "m_norm_t": {"da": "Graddagekorrektion af varme", "en": "Degree-day normalisation of heat"},
    "m_norm": {
        "da": "Fjernvarme og naturgas korrigeres til et normalår efter dansk praksis (graddage med basis 17 °C som "
              "Teknologisk Institut og fjernvarmeselskaberne opgør dem; en dags graddage = max(0, 17 °C − døgnets "
              "middeltemperatur)): Q_normal = Q × ((1 − f) × G_normal / G_faktisk + f), hvor f er den "
              "vejruafhængige andel (varmt brugsvand, tab; {f}). For {year}: G_faktisk = {actual} graddage "
              "(udetemperatur {series}), G_normal = {normal} graddage ({source}).",
        "en": "District heating and natural gas are normalised to a normal year by Danish practice (degree days on "
              "a 17 °C base as the Danish Technological Institute and the district heating companies compute them; "
              "a day's degree days = max(0, 17 °C − the day's mean temperature)): Q_normal = Q × ((1 − f) × "
              "G_normal / G_actual + f), where f is the weather-independent share (hot water, losses; {f}). For "
              "{year}: G_actual = {actual} degree days (outdoor temperature {series}), G_normal = {normal} degree "
              "days ({source})."},
    "m_f_zero": {"da": "her 0 for alle bygninger", "en": "here 0 for every building"},
    "m_f_sites": {"da": "{values}, ellers 0", "en": "{values}, else 0"},
    "m_target_t": {"da": "Basisår og målsti", "en": "Baseline year and target path"},
    "m_target": {
        "da": "Målstien er en ret linje fra basisårets CO₂ B i {y0} til (1 − r) × B i {y1} (r = {pct} %): "
              "sti(år) = B × (1 − r × (år − {y0}) / ({y1} − {y0})) — den samme som det offentlige CO₂-barometer "
              "viser. Ændringer mod basisåret er (år − basisår) / basisår for den samme bygning og energiart.",
        "en": "The target path is a straight line from the baseline year's CO₂ B in {y0} to (1 − r) × B in {y1} "
              "(r = {pct} %): path(year) = B × (1 − r × (year − {y0}) / ({y1} − {y0})) — the same as the public CO₂ "
              "barometer shows. Changes against the baseline year are (year − baseline) / baseline for the same "
              "building and carrier."},
    "m_dash_t": {"da": "Hvad \"–\" betyder", "en": "What \"–\" means"},
    "m_dash": {
        "da": "\"–\" er et tal, der ikke kan opgøres: timer uden data, ingen brændværdi for gassen, ingen CO₂-faktor, "
              "intet etageareal, ingen udetemperatur eller et basisår, der ikke kan opgøres. Grunden står under "
              "tabellen. \"i.r.\" (ikke relevant): vand er ikke energi og har ingen kWh eller CO₂ i regnskabet. "
              "Kommunens sum er ukendt, når blot én bygnings tal er ukendt.",
        "en": "\"–\" is a figure that cannot be accounted for: hours without data, no calorific value of the gas, no "
              "CO₂ factor, no floor area, no outdoor temperature or a baseline year that cannot be accounted for. "
              "The reason is given below the table. \"n/a\" (not applicable): water is not energy and has no kWh or "
              "CO₂ in the account. The municipality's sum is unknown when one building's figure is."},
    # the command line
    "console_total": {"da": "{year}: {kwh} kWh, {t} ton CO₂ i alt{path}", "en": "{year}: {kwh} kWh, {t} t CO₂ in "
                                                                                 "total{path}"},
    "console_path": {"da": " (målsti {t} ton)", "en": " (target path {t} t)"},
    # the PDF's "Forskel til stien" in words: its side (on_path/over_path) and the difference without its sign
    "console_vs_path": {"da": " — {diff} ton {side}", "en": " — {diff} t {side}"},
    # a year not over: its months' CO₂ beside the whole year's path would read as far below it (the PDF and XLSX
    # leave the difference "–" for the same reason)
    "console_preliminary": {"da": " — foreløbigt: året er ikke slut, talt {start} – {last}",
                            "en": " — preliminary: the year is not over, counted {start} – {last}"},
    "console_preliminary_path": {"da": " — foreløbigt: året er ikke slut, talt {start} – {last}; sammenlignes med "
                                       "målstien, når året er slut",
                                 "en": " — preliminary: the year is not over, counted {start} – {last}; compared "
                                       "with the target path when the year is over"},
    "console_site": {"da": "{site}: {items}", "en": "{site}: {items}"},
}


def t(key: str, lang: str = "da", **kw: object) -> str:
    """The text ``key`` in ``lang`` with ``kw`` filled in."""
    text = TEXTS[key]["da" if lang == "da" else "en"]
    return text.format(**kw) if kw else text
