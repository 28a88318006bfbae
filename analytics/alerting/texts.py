"""What the mails say, per rule, in Danish (default) and English.

Written for a teknisk servicemedarbejder who has never read the docs: what is wrong, in plain words,
with the numbers behind it, and what to check first.  ``{name}`` placeholders are evidence keys of the
finding (see ``analytics/anomaly``), formatted for the language.
"""

from __future__ import annotations

RULES: dict[str, dict[str, tuple[str, str, str]]] = {
    # rule: {lang: (title, what, advice)}
    "night_load": {
        "da": ("Højt natforbrug",
               "Om natten (kl. {night}) brugte bygningen {night_kw} kW i gennemsnit. Normalt er natforbruget "
               "(grundlasten) {reference_kw} kW.",
               "Tjek om ventilation, belysning, varmepumper eller andet udstyr kører om natten, og om "
               "tidsstyringen (CTS/BMS) er sat rigtigt."),
        "en": ("High night-time consumption",
               "At night ({night}) the building used {night_kw} kW on average. Its normal night load (base load) "
               "is {reference_kw} kW.",
               "Check whether ventilation, lighting, heat pumps or other equipment run at night, and the BMS "
               "schedules."),
    },
    "out_of_hours": {
        "da": ("Forbrug uden for åbningstiden",
               "Fra {from} til {to} ({hours} timer) brugte bygningen {mean_kw} kW i gennemsnit, selv om den "
               "ifølge kalenderen var lukket. Normalt natforbrug er {reference_kw} kW.",
               "Tjek om lys, ventilation eller udstyr er glemt tændt. Var der et arrangement, så skriv det i "
               "bygningens kalender, så kommer der ingen alarm næste gang."),
        "en": ("Consumption outside opening hours",
               "From {from} to {to} ({hours} hours) the building used {mean_kw} kW on average although the "
               "calendar says it was closed. Its normal night load is {reference_kw} kW.",
               "Check for lights, ventilation or equipment left on. If there was an event, add it to the "
               "building's calendar."),
    },
    "never_base": {
        "da": ("Forbruget falder aldrig til grundlast",
               "I de seneste 24 timer har forbruget ikke været under {lowest_kw_24h} kW. Normalt falder det om "
               "natten til {reference_kw} kW. Noget kører hele døgnet.",
               "Typisk lys, ventilation eller en pumpe, der står i manuel drift (hånd-drift) eller er glemt tændt."),
        "en": ("Consumption never falls to base load",
               "In the last 24 hours consumption has not been below {lowest_kw_24h} kW. Normally it falls to "
               "{reference_kw} kW at night. Something runs around the clock.",
               "Typically lighting, ventilation or a pump left in manual mode or switched on."),
    },
    "deviation": {
        "da": ("Forbrug over det forventede",
               "De seneste {days} dage har forbruget været {actual_kwh_per_day} kWh pr. døgn mod forventet "
               "{expected_kwh_per_day} kWh ({excess_pct} % over). Det forventede tager højde for ugedag, "
               "åbningstid, helligdage og udetemperatur.",
               "Tjek om der er nyt udstyr, ændrede driftstider eller noget, der er glemt tændt."),
        "en": ("Consumption above expected",
               "For the last {days} days consumption was {actual_kwh_per_day} kWh per day against an expected "
               "{expected_kwh_per_day} kWh ({excess_pct} % above), allowing for weekday, opening hours, holidays "
               "and outdoor temperature.",
               "Check for new equipment, changed schedules or something left on."),
    },
    "heat_deviation": {
        "da": ("Varmeforbrug over det forventede",
               "De seneste {days} dage har varmeforbruget været {actual_kwh_per_day} kWh pr. døgn mod forventet "
               "{expected_kwh_per_day} kWh ({excess_pct} % over), korrigeret for udetemperaturen (graddage).",
               "Tjek setpunkter for rumtemperatur og fremløb, natsænkning og om ventiler/pumper står i hånd-drift."),
        "en": ("Heat consumption above expected",
               "For the last {days} days heat use was {actual_kwh_per_day} kWh per day against an expected "
               "{expected_kwh_per_day} kWh ({excess_pct} % above), corrected for outdoor temperature.",
               "Check room and supply temperature set points, night setback, valves and pumps in manual mode."),
    },
    "cusum": {
        "da": ("Varigt højere forbrugsniveau",
               "Forbruget ligger i gennemsnit {shift_kwh_per_day} kWh pr. døgn over det forventede de seneste "
               "{days} dage — en vedvarende stigning, ikke en enkelt dag.",
               "Tjek hvad der er ændret omkring starttidspunktet: nyt udstyr, driftstider, indstillinger."),
        "en": ("Sustained higher consumption level",
               "Consumption has been {shift_kwh_per_day} kWh per day above expected on average for the last "
               "{days} days — a lasting shift, not a single day.",
               "Check what changed around the start: new equipment, schedules, settings."),
    },
    "stale_data": {
        "da": ("Måleren sender ikke data",
               "Der er ikke kommet nye målinger i {minutes_without_data} (seneste måling {last_reading}).",
               "Tjek strøm og netværk til måleren og gatewayen. Forbruget tælles stadig i måleren; data kommer, "
               "når forbindelsen er tilbage."),
        "en": ("The meter sends no data",
               "No new readings for {minutes_without_data} (last reading {last_reading}).",
               "Check power and network of the meter and its gateway."),
    },
    "device_offline": {
        "da": ("Måleren svarer ikke",
               "Måleren har ikke svaret i {minutes_without_data} (seneste måling {last_reading}).",
               "Tjek strøm og netværk til måleren og gatewayen (Modbus-adresse, kabel, sikring)."),
        "en": ("The meter does not answer",
               "The meter has not answered for {minutes_without_data} (last reading {last_reading}).",
               "Check power and network of the meter and its gateway."),
    },
    "import_lag": {
        "da": ("Importerede data er bagud",
               "De nyeste importerede målinger ({series}) er fra {last_reading} — {days_behind} gamle; grænsen "
               "er {max_lag_days} dage. Rapporter og alarmer for bygningen mangler dagene derefter.",
               "Hent og importér de nyeste data fra Eloverblik/DataHub (energimon import eloverblik …) eller den "
               "fil, serien kommer fra, og tjek at den faste hentning kører (energimon sources status viser dens "
               "fejl), og at fuldmagten i Eloverblik stadig gælder. Måleren selv skal ikke tjekkes: dataene kommer "
               "ikke fra den direkte."),
        "en": ("Imported data are behind",
               "The newest imported readings ({series}) are from {last_reading} — {days_behind} old; the limit "
               "is {max_lag_days} days. Reports and alerts for the building lack the days since.",
               "Fetch and import the newest data from Eloverblik/DataHub (energimon import eloverblik …) or the file "
               "the series comes from, and check that the scheduled download runs ('energimon sources status' shows "
               "its failures) and that the authorisation in Eloverblik is still valid. The meter itself needs no "
               "check: these data do not come from it directly."),
    },
    "stuck_value": {
        "da": ("Måleren står stille",
               "{channel} har ikke ændret sig i {hours_without_change}, selv om bygningen bruger "
               "energi (normalt mindst {reference_kw} kW). Målingen er sandsynligvis forkert.",
               "Tjek måleren: display, strømtransformere og om gatewayen læser den rigtige adresse."),
        "en": ("The meter is stuck",
               "The {channel} has not changed for {hours_without_change} although the building "
               "uses energy (normally at least {reference_kw} kW).",
               "Check the meter display, current transformers and the gateway address."),
    },
    "counter_reset": {
        "da": ("Tælleren er nulstillet",
               "{channel} gik tilbage fra {before} til {after}. Forbruget omkring tidspunktet kendes ikke "
               "og tælles ikke som negativt.",
               "Skyldes det et måleskift, er der intet at gøre. Ellers: tjek måleren."),
        "en": ("The counter was reset",
               "The {channel} went back from {before} to {after}. Consumption around that moment is "
               "unknown and never counted as negative.",
               "Nothing to do after a meter swap; otherwise check the meter."),
    },
    "impossible_value": {
        "da": ("Umulig måleværdi",
               "Måleren viste {highest_w}, men kan højst {rated_w} ({channel}).",
               "Tjek skalering og strømtransformer-forhold (CT) i opsætningen af måleren."),
        "en": ("Impossible reading",
               "The meter showed {highest_w} but its rating is {rated_w} ({channel}).",
               "Check the scaling and current-transformer ratio in the meter's configuration."),
    },
    "pv_zero": {
        "da": ("Solcelleanlægget producerer ikke",
               "I {daylight_hours} timer med dagslys har anlægget produceret {produced_kwh} kWh. Ved skyfri himmel "
               "ville det give {clear_sky_kwh} kWh, og nabobygningernes anlæg gav {siblings_ratio_pct} % af det "
               "mulige i samme timer — solen skinnede altså.",
               "Tjek inverteren (fejlkode i displayet), AC-afbryderen og sikringerne."),
        "en": ("The PV system produces nothing",
               "In {daylight_hours} daylight hours the system produced {produced_kwh} kWh. A clear sky would give "
               "{clear_sky_kwh} kWh and the neighbouring sites reached {siblings_ratio_pct} % of that.",
               "Check the inverter (error code on its display), the AC isolator and fuses."),
    },
    "pv_underperformance": {
        "da": ("Solcelleanlægget yder for lidt",
               "De seneste {days} dage har anlægget givet {own_yield_kwh_per_kwp} kWh pr. kWp mod "
               "{siblings_yield_kwh_per_kwp} kWh pr. kWp hos nabobygningerne ({relative_pct} %; grænsen er "
               "{limit_pct} %).",
               "Typisk en streng ude af drift, skygge, snavs eller en defekt optimizer. Tjek strengene på "
               "inverterens display."),
        "en": ("The PV system underperforms",
               "For the last {days} days the system gave {own_yield_kwh_per_kwp} kWh per kWp against "
               "{siblings_yield_kwh_per_kwp} kWh per kWp at the neighbouring sites ({relative_pct} %, "
               "limit {limit_pct} %).",
               "Typically a string out of service, shading, soiling or a failed optimiser."),
    },
    "pv_envelope": {
        "da": ("Solcelleproduktion over det fysisk mulige",
               "Anlægget viste {highest_kwh_in_hour} kWh på en time, men solen kan højst give "
               "{clear_sky_kwh_in_hour} kWh til de {kwp} kWp, der er oplyst.",
               "Målingens skalering eller anlæggets kWp i opsætningen er sandsynligvis forkert."),
        "en": ("PV output above the physically possible",
               "The system showed {highest_kwh_in_hour} kWh in one hour; the sun can give at most "
               "{clear_sky_kwh_in_hour} kWh to the configured {kwp} kWp.",
               "The scaling of the reading or the configured kWp is probably wrong."),
    },
    "bad_cooling": {
        "da": ("Dårlig afkøling af fjernvarmevandet",
               "De seneste {days} dage har bygningen kun afkølet fjernvarmevandet {delta_t_k} K i gennemsnit "
               "(vægtet med vandmængden, {volume_m3} m³; i går {last_day_delta_t_k} K). Værket kræver mindst "
               "{required_k} K og kan opkræve et afkølingstillæg, når afkølingen er lavere.",
               "Tjek at radiatortermostater og reguleringsventiler virker, at brugsvandsveksler og -cirkulation "
               "ikke sender varmt vand direkte retur (en utæt eller åbenstående omløbsventil), at "
               "fremløbstemperatur og pumpetryk er sat rigtigt, og at snavsfiltre er rene. Ring til en VVS'er "
               "med forstand på fjernvarmeanlæg, hvis det fortsætter."),
        "en": ("Poor cooling of the district heating water",
               "For the last {days} days the building cooled the district heating water by only {delta_t_k} K on "
               "average (volume-weighted, {volume_m3} m³; yesterday {last_day_delta_t_k} K). The utility requires "
               "at least {required_k} K and may charge extra below it.",
               "Check radiator thermostats and control valves, that the hot-water exchanger and circulation do not "
               "send hot water straight back (a leaking or open bypass), supply temperature and pump pressure "
               "settings, and that strainers are clean."),
    },
    "water_leak": {
        "da": ("Mulig vandlækage",
               "I {nights} nætter i træk er der løbet vand hele natten (kl. {night}): selv i den roligste time "
               "løb der {night_min_m3_h} m³/h (laveste {lowest_m3_h} m³/h; grænsen er {threshold_m3_h} m³/h). "
               "Det svarer til mindst {leak_m3_per_day} m³ pr. døgn.",
               "Tjek toiletter (løbende cisterner), haner, urinaler med skyl, udendørs haner og tekniske rum for "
               "utætheder. Luk evt. afdelingsventiler en ad gangen og se om måleren står stille."),
        "en": ("Possible water leak",
               "On {nights} nights in a row water ran all night ({night}): even the quietest hour had "
               "{night_min_m3_h} m³/h (lowest {lowest_m3_h} m³/h; the limit is {threshold_m3_h} m³/h). That is at "
               "least {leak_m3_per_day} m³ a day.",
               "Check toilets (running cisterns), taps, flushing urinals, outdoor taps and plant rooms for leaks. "
               "Close section valves one at a time and watch whether the meter stops."),
    },
    "pv_offline": {
        "da": ("Inverteren svarer ikke",
               "Inverteren har ikke svaret i {minutes_without_data}, mens det er lyst.",
               "Tjek strøm og netværk til inverteren og om den viser en fejl."),
        "en": ("The inverter does not answer",
               "The inverter has not answered for {minutes_without_data} in daylight.",
               "Check power and network of the inverter and its display for errors."),
    },
}

# A rule's texts for one origin of its data (the finding's evidence "origin"), where the rule's own advice would
# send the reader to the wrong place: DMI's weather is not fetched from Eloverblik and has no authorisation.
ORIGIN_RULES: dict[str, dict[str, dict[str, tuple[str, str, str]]]] = {
    "import_lag": {
        "dmi": {
            "da": ("Vejrdata fra DMI er bagud",
                   "De nyeste udetemperaturer fra DMI ({series}) er fra {last_reading} — {days_behind} gamle; "
                   "grænsen er {max_lag_days} dage. Graddagene i besparelsesrapporterne og det forventede forbrug, "
                   "alarmerne sammenligner med, mangler dagene derefter.",
                   "Kør energimon sources status: den viser den faste hentning fra DMI, hvilken station den bruger, "
                   "og dens fejl (en API-nøgle, DMI har afvist, en station, der er lukket, et svar, der har ændret "
                   "form). Tjek så [sources.dmi] i konfigurationen: api_key_file (nøglen til metObs-API'et fra DMI's "
                   "Open Data-portal) og stationernes station_id (uden station_id bruges den nærmeste aktive "
                   "station). Ingen måler skal tjekkes: dataene kommer fra DMI."),
            "en": ("DMI weather data are behind",
                   "The newest outdoor temperatures from DMI ({series}) are from {last_reading} — {days_behind} old; "
                   "the limit is {max_lag_days} days. The savings reports' degree days and the expected consumption "
                   "the alerts compare with lack the days since.",
                   "Run 'energimon sources status': it shows the scheduled DMI fetch, the station it uses and its "
                   "failures (an API key DMI refused, a closed station, an answer that changed shape). Then check "
                   "[sources.dmi] in the configuration: api_key_file (the metObs API key from DMI's Open Data "
                   "portal) and the stations' station_id (without one, the nearest active station is used). No "
                   "meter needs a check: these data come from DMI."),
        },
    },
}

# What a finding without a kWh cost costs instead (default: UI "no_cost").
COSTS: dict[str, dict[str, str]] = {
    "bad_cooling": {"da": "afregnes efter værkets afkølingstarif (motivationstarif), ikke i kWh",
                    "en": "billed by the utility's cooling tariff, not in kWh"},
    "water_leak": {"da": "vandspild, ca. {leak_m3_per_day} m³ pr. døgn",
                   "en": "wasted water, about {leak_m3_per_day} m³ a day"},
}

# The mails' fixed texts.  Strings only (tuples and tables below), so every lookup is a str.
UI: dict[str, dict[str, str]] = {
    "da": {
        "new": "", "reminder": "Påmindelse: ", "resolved": "Løst: ",
        "what": "Hvad", "where": "Hvor", "since": "Siden", "cost": "Koster", "severity": "Alvor",
        "todo": "Hvad kan du gøre?",
        "cost_line": "ca. {kwh} kWh pr. døgn ≈ {dkk} kr. pr. døgn (ved {price} kr./kWh)",
        "no_cost": "ikke et energispild i sig selv, men målingerne mangler eller er forkerte",
        "per_day": "ca. {dkk} kr./dag",
        "footer": "Du får en påmindelse hver {reminder}. time, så længe problemet varer, og en mail, når det er "
                  "løst. Kvittér for alarmen (ingen flere påmindelser): energimon alerts ack {id}. "
                  "Udsæt: energimon alerts snooze {id} --hours 24.",
        "resolved_what": "Problemet er ikke set siden {last_seen}. Det varede fra {since} til {last_seen} "
                         "({duration}).",
        "chart": "Forbruget de seneste dage (rød), det forventede (stiplet) og det normale område (gråt)",
        "chart_pv": "Produktionen de seneste dage (rød), som nabobygningerne (stiplet) og skyfri himmel (gråt)",
        "sign": "Sendt af energimon, bygningernes energiovervågning. Alarm-id {id}.",
        "digest_subject": "[energimon] Dagens oversigt {day}: {n}",
        "digest_intro": "Ændringer i alarmerne siden sidste oversigt. Til orientering: der kommer ingen "
                        "særskilt mail om disse.",
        "digest_since": "siden {since}",
        "one_change": "1 ændring", "changes": "{n} ændringer",
        "at": "kl.",
        "unknown_duration": "ukendt tid",
        "less_than_minute": "under 1 minut", "minute": "{n} minut", "minutes": "{n} minutter",
        "hour": "ca. {n} time", "hours": "ca. {n} timer", "day": "ca. {n} dag", "days": "ca. {n} dage",
        "chart_actual": "Målt", "chart_expected": "Forventet", "chart_band": "Normalt område",
        "chart_pv_expected": "Som nabobygningerne", "chart_pv_band": "Skyfri himmel",
        "chart_unit": "kWh pr. time",
    },
    "en": {
        "new": "", "reminder": "Reminder: ", "resolved": "Resolved: ",
        "what": "What", "where": "Where", "since": "Since", "cost": "Cost", "severity": "Severity",
        "todo": "What can you do?",
        "cost_line": "about {kwh} kWh per day ≈ DKK {dkk} per day (at DKK {price}/kWh)",
        "no_cost": "not an energy waste in itself, but readings are missing or wrong",
        "per_day": "about DKK {dkk}/day",
        "footer": "You get a reminder every {reminder} hours while the problem lasts, and a mail when it is over. "
                  "Acknowledge (no more reminders): energimon alerts ack {id}. "
                  "Snooze: energimon alerts snooze {id} --hours 24.",
        "resolved_what": "Not seen since {last_seen}. It lasted from {since} to {last_seen} ({duration}).",
        "chart": "Consumption in the last days (red), the expected (dashed) and the normal range (grey)",
        "chart_pv": "Production in the last days (red), as the neighbouring sites (dashed) and clear sky (grey)",
        "sign": "Sent by energimon, building energy monitoring. Alert id {id}.",
        "digest_subject": "[energimon] Today's summary {day}: {n}",
        "digest_intro": "Changes in the alerts since the last summary. For information: no separate mail is sent "
                        "about these.",
        "digest_since": "since {since}",
        "one_change": "1 change", "changes": "{n} changes",
        "at": "at",
        "unknown_duration": "an unknown time",
        "less_than_minute": "less than a minute", "minute": "{n} minute", "minutes": "{n} minutes",
        "hour": "about {n} hour", "hours": "about {n} hours", "day": "about {n} day", "days": "about {n} days",
        "chart_actual": "Measured", "chart_expected": "Expected", "chart_band": "Normal range",
        "chart_pv_expected": "As the neighbouring sites", "chart_pv_band": "Clear sky",
        "chart_unit": "kWh per hour",
    },
}

SEVERITIES: dict[str, dict[str, str]] = {
    "da": {"info": "Til orientering", "warning": "Advarsel", "critical": "Kritisk"},
    "en": {"info": "For information", "warning": "Warning", "critical": "Critical"},
}
KINDS: dict[str, dict[str, str]] = {
    "da": {"new": "Ny", "reminder": "Varer ved", "resolved": "Løst"},
    "en": {"new": "New", "reminder": "Ongoing", "resolved": "Resolved"},
}
WEEKDAYS: dict[str, tuple[str, ...]] = {
    "da": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS: dict[str, tuple[str, ...]] = {
    "da": ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
MONTHS_SHORT: dict[str, tuple[str, ...]] = {  # the chart's dates: "3. dec" / "3 Dec"
    "da": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

# What a counter or power series is, for a reader who does not know channel names (see energimon.model).
CHANNEL_LABELS: dict[str, dict[str, str]] = {
    "da": {
        "energy_import_wh": "Forbrugstælleren (strøm købt fra nettet)",
        "energy_export_wh": "Tælleren for strøm sendt ud på nettet",
        "pv_energy_wh": "Solcelleanlæggets produktionstæller",
        "heat_energy_wh": "Varmetælleren",
        "volume_m3": "Vandmængdetælleren",
        "power_w": "Effektmålingen",
        "pv_power_w": "Solcelleanlæggets effektmåling",
        "heat_power_w": "Varmeeffektmålingen",
    },
    "en": {
        "energy_import_wh": "consumption counter (electricity bought from the grid)",
        "energy_export_wh": "counter of electricity fed into the grid",
        "pv_energy_wh": "PV production counter",
        "heat_energy_wh": "heat counter",
        "volume_m3": "volume counter",
        "power_w": "power reading",
        "pv_power_w": "PV power reading",
        "heat_power_w": "heat power reading",
    },
}
