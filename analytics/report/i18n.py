"""Report texts in Danish (default) and English.  Keys are English; values per language."""

from __future__ import annotations

import datetime as dt

PRELIMINARY_SUFFIX = {"da": "-foreloebig", "en": "-preliminary"}
"""File-name mark of a report for a month that is not over (ASCII, so the name survives mail and file shares)."""

MONTHS = {
    "da": ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober",
           "november", "december"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
}

TEXTS: dict[str, dict[str, str]] = {
    "title": {"da": "ESCO-besparelse", "en": "ESCO savings"},
    "subtitle": {"da": "Månedsrapport for {month} — kontrakt: {contract}",
                 "en": "Monthly report for {month} — contract: {contract}"},
    "portfolio": {"da": "Portefølje", "en": "Portfolio"},
    "portfolio_intro": {
        "da": "Undgået energiforbrug (IPMVP Option C): justeret baseline minus faktisk forbrug. Usikkerhed efter "
              "ASHRAE Guideline 14 (med autokorrelation) ved 68 % og 90 % konfidens; porteføljens usikkerhed er "
              "kvadratsummen af bygningernes.",
        "en": "Avoided energy use (IPMVP Option C): adjusted baseline minus actual use. Uncertainty per ASHRAE "
              "Guideline 14 (autocorrelation-corrected) at 68 % and 90 % confidence; the portfolio's uncertainty "
              "combines the buildings' in quadrature."},
    "site": {"da": "Bygning", "en": "Building"},
    "period": {"da": "Periode", "en": "Period"},
    "month": {"da": "Måned", "en": "Month"},
    "ytd": {"da": "År til dato", "en": "Year to date"},
    "since_start": {"da": "Siden start", "en": "Since start"},
    "days": {"da": "Dage (data/alle)", "en": "Days (data/all)"},
    "hours": {"da": "Timer (data/alle)", "en": "Hours (data/all)"},
    "unit_days": {"da": "dage", "en": "days"},
    "unit_hours": {"da": "timer", "en": "hours"},
    "towt_line": {"da": "CalTRACK timemodel (ugetime og temperatur, TOWT): {segs} månedssegmenter, {occ} af 168 "
                        "timer om ugen i drift.",
                  "en": "CalTRACK hourly model (time of week and temperature, TOWT): {segs} monthly segments, {occ} "
                        "of 168 hours a week occupied."},
    "adj_baseline": {"da": "Justeret baseline kWh", "en": "Adjusted baseline kWh"},
    "actual": {"da": "Faktisk forbrug kWh", "en": "Actual use kWh"},
    "savings": {"da": "Besparelse kWh", "en": "Savings kWh"},
    "unc68": {"da": "Usikkerhed 68 %", "en": "Uncertainty 68 %"},
    "unc90": {"da": "Usikkerhed 90 %", "en": "Uncertainty 90 %"},
    "dkk": {"da": "Besparelse kr.", "en": "Savings DKK"},
    "co2": {"da": "CO₂ kg", "en": "CO₂ kg"},
    "normalised": {"da": "Normalår kWh", "en": "Normal year kWh"},
    "total": {"da": "I alt", "en": "Total"},
    "model": {"da": "Baselinemodel", "en": "Baseline model"},
    "kind_intercept_only": {"da": "konstant forbrug (ingen vejrafhængighed)", "en": "constant use (no weather term)"},
    "kind_hdd_only": {"da": "opvarmning (graddage)", "en": "heating (HDD)"},
    "kind_cdd_only": {"da": "køling (køle-graddage)", "en": "cooling (CDD)"},
    "kind_hdd_cdd": {"da": "opvarmning og køling", "en": "heating and cooling"},
    "model_line": {
        "da": "CalTRACK daglig model: {kind}. Grundlast μ = {mu} kWh/døgn{terms}.",
        "en": "CalTRACK daily model: {kind}. Base load μ = {mu} kWh/day{terms}."},
    "heat_term": {"da": ", β_H = {b} kWh pr. graddag over balancetemperatur {t} °C",
                  "en": ", β_H = {b} kWh per degree day below balance point {t} °C"},
    "cool_term": {"da": ", β_C = {b} kWh pr. køle-graddag over {t} °C",
                  "en": ", β_C = {b} kWh per cooling degree day above {t} °C"},
    "stats_line": {
        "da": "Baseline {b0} – {b1}: n = {n} {unit}, p = {p}, R² = {r2}, justeret R² = {r2a}, CV(RMSE) = {cv} "
              "(n-form {cvn}), NMBE = {nmbe} (n-form {nmben}), ρ = {rho}, n′ = {neff}.",
        "en": "Baseline {b0} – {b1}: n = {n} {unit}, p = {p}, R² = {r2}, adjusted R² = {r2a}, CV(RMSE) = {cv} "
              "(n form {cvn}), NMBE = {nmbe} (n form {nmben}), ρ = {rho}, n′ = {neff}."},
    "sufficiency": {"da": "Datadækning i baseline: {share} ({ok} af {n} {unit} med fuldstændige data).",
                    "en": "Baseline data coverage: {share} ({ok} of {n} {unit} with complete data)."},
    # the verdict: the baseline model against ASHRAE G14's limits, and what the savings since start show
    "g14_pass": {"da": "ASHRAE Guideline 14: bestået — baselinemodellen holder grænserne (CV(RMSE) ≤ {cv}, "
                       "|NMBE| ≤ {nmbe}), og besparelsen er påvist med en usikkerhed under 50 % ved 68 % konfidens.",
                 "en": "ASHRAE Guideline 14: pass — the baseline model is within the limits (CV(RMSE) ≤ {cv}, "
                       "|NMBE| ≤ {nmbe}), and the saving is demonstrated with an uncertainty below 50 % at 68 % "
                       "confidence."},
    "g14_model_ok": {"da": "ASHRAE Guideline 14: baselinemodellen holder grænserne (CV(RMSE) ≤ {cv}, |NMBE| ≤ {nmbe}).",
                     "en": "ASHRAE Guideline 14: the baseline model is within the limits (CV(RMSE) ≤ {cv}, "
                           "|NMBE| ≤ {nmbe})."},
    "g14_model_fail": {
        "da": "ASHRAE Guideline 14: baselinemodellen holder ikke grænserne — {why}. For garantien betyder det, at "
              "besparelsen er beregnet med en model, der ikke opfylder G14: tallet er vejledende og bør ikke alene "
              "afgøre afregningen, før modellen er forbedret (andre data, en anden model eller ikke-rutinemæssige "
              "justeringer) eller parterne har aftalt en anden opgørelse.",
        "en": "ASHRAE Guideline 14: the baseline model is not within the limits — {why}. For the guarantee this "
              "means the saving comes from a model that does not meet G14: the figure is indicative and should not "
              "settle the guarantee on its own until the model is improved (other data, another model or "
              "non-routine adjustments) or the parties agree on another way to determine it."},
    "limit_cvrmse": {"da": "CV(RMSE) {value} er over grænsen {limit} (modellen forklarer forbruget for upræcist, så "
                           "besparelsen bliver usikker)",
                     "en": "CV(RMSE) {value} is above the limit {limit} (the model explains the use too imprecisely, "
                           "so the saving is uncertain)"},
    "limit_nmbe": {"da": "|NMBE| {value} er over grænsen {limit} (modellen rammer systematisk for højt eller lavt i "
                         "baselineperioden, så besparelsen kan være skævt opgjort)",
                   "en": "|NMBE| {value} is above the limit {limit} (the model is systematically too high or too low "
                         "in the baseline period, so the saving may be biased)"},
    "limit_fsu": {"da": "usikkerheden ved 68 % er {value} af besparelsen, hvor G14 kræver under {limit}",
                  "en": "the uncertainty at 68 % is {value} of the saving, where G14 requires less than {limit}"},
    "verdict_demonstrated": {"da": "Besparelse siden start: påvist — {s} kWh {u} kWh (90 %) ligger over nul.",
                             "en": "Savings since start: demonstrated — {s} kWh {u} kWh (90 %) lies above zero."},
    "verdict_imprecise": {
        "da": "Besparelse siden start: påvist — {s} kWh {u} kWh (90 %) ligger over nul — men {why}: tallet er for "
              "usikkert til at afregne garantien på efter G14.",
        "en": "Savings since start: demonstrated — {s} kWh {u} kWh (90 %) lies above zero — but {why}: the figure "
              "is too uncertain to settle the guarantee on under G14."},
    "verdict_not_demonstrable": {
        "da": "Besparelse siden start: ikke påviselig — {s} kWh {u} kWh (90 %) kan ikke skelnes fra nul. Det betyder "
              "ikke, at der ingen besparelse er, men at målingerne endnu ikke kan vise den: for garantien kan "
              "besparelsen hverken bekræftes eller afvises med 90 % sikkerhed.",
        "en": "Savings since start: not demonstrable — {s} kWh {u} kWh (90 %) cannot be told from zero. This does "
              "not mean there is no saving, but that the measurements cannot show it yet: for the guarantee the "
              "saving can neither be confirmed nor ruled out with 90 % confidence."},
    "verdict_increase": {
        "da": "Siden start: påviseligt merforbrug — {s} kWh {u} kWh (90 %) ligger under nul: bygningen bruger mere "
              "end den justerede baseline.",
        "en": "Since start: a demonstrable increase in use — {s} kWh {u} kWh (90 %) lies below zero: the building "
              "uses more than its adjusted baseline."},
    "verdict_no_data": {"da": "Siden start: ingen besparelse at vurdere (ingen rapporteringsdata).",
                        "en": "Since start: no savings to judge (no reporting data)."},
    "console_line": {"da": "{site}: {s} kWh {u} (90 %) i {month}; ASHRAE G14: {word}{why}",
                     "en": "{site}: {s} kWh {u} (90 %) in {month}; ASHRAE G14: {word}{why}"},
    "no_result": {"da": "Ingen besparelse beregnet: {why}", "en": "No savings computed: {why}"},
    "chart_months": {"da": "Justeret baseline og faktisk forbrug pr. måned (kWh)",
                     "en": "Adjusted baseline and actual use per month (kWh)"},
    "chart_cusum": {"da": "CUSUM: akkumuleret besparelse siden start (kWh)",
                    "en": "CUSUM: cumulative savings since start (kWh)"},
    "ledger": {"da": "Garantiregnskab (kontraktår {y0} – {y1})", "en": "Guarantee ledger (contract year {y0} – {y1})"},
    "guaranteed_year": {"da": "Garanti pr. år kWh", "en": "Guarantee per year kWh"},
    "guaranteed_to_date": {"da": "Garanti til dato kWh", "en": "Guarantee to date kWh"},
    "realised": {"da": "Realiseret kWh", "en": "Realised kWh"},
    "shortfall": {"da": "Manko kWh (betales af ESCO)", "en": "Shortfall kWh (paid by ESCO)"},
    "surplus": {"da": "Overskud kWh", "en": "Surplus kWh"},
    "share_muni": {"da": "Kommunens andel kWh", "en": "Municipality's share kWh"},
    "share_esco": {"da": "ESCO's andel kWh", "en": "ESCO's share kWh"},
    "adjustments": {"da": "Ikke-rutinemæssige justeringer", "en": "Non-routine adjustments"},
    "adj_none": {"da": "Ingen ikke-rutinemæssige justeringer i perioden.", "en": "No non-routine adjustments."},
    "from": {"da": "Fra", "en": "From"},
    "to": {"da": "Til (ekskl.)", "en": "To (excl.)"},
    "amount": {"da": "Justering", "en": "Adjustment"},
    "reason": {"da": "Begrundelse", "en": "Reason"},
    "per_day": {"da": "kWh/døgn", "en": "kWh/day"},
    "normal_year": {"da": "Normalår: {total} graddage (kilde: {source}); graddage med basis {base} °C.",
                    "en": "Normal year: {total} degree days (source: {source}); degree days base {base} °C."},
    "price_co2": {"da": "{price} CO₂-faktor: {co2}.", "en": "{price} CO₂ factor: {co2}."},
    "price_fixed": {"da": "Pris: fast {price} kr./kWh.", "en": "Price: fixed {price} DKK/kWh."},
    "price_periods": {"da": "Pris pr. periode: {periods}.", "en": "Price per period: {periods}."},
    "price_period": {"da": "fra {d} {price} kr./kWh (kilde: {source})",
                     "en": "from {d} {price} DKK/kWh (source: {source})"},
    "price_file": {"da": "Timepriser fra {name} ({interval}-minutters intervaller): hver dags pris er dens timepriser "
                         "vægtet med bygningens timeforbrug den dag.",
                   "en": "Hourly prices from {name} ({interval}-minute intervals): each day's price is its hourly "
                         "prices weighted by the building's hourly use that day."},
    "price_file_site": {"da": "Timepriser fra {name}: gennemsnit i {month} {price} kr./kWh (vægtet med forbruget).",
                        "en": "Hourly prices from {name}: mean in {month} {price} DKK/kWh (weighted by use)."},
    "price_gaps": {"da": "Prisfilen mangler timer — {month}: {mp} dage med delvise og {mm} dage uden timepriser; "
                         "siden start: {sp} og {sm}. Manglende timer har fået den seneste kendte pris fra filen.",
                   "en": "The price file lacks hours — {month}: {mp} days with some and {mm} days without hourly "
                         "prices; since start: {sp} and {sm}. Missing hours took the last earlier price in the file."},
    "price_unpriced": {"da": "{n} dage uden nogen pris (før prisfilens første pris): besparelsen i kr. kan ikke "
                             "opgøres for perioder med disse dage.",
                       "en": "{n} days without any price (before the price file's first price): no DKK savings for "
                             "periods containing them."},
    "unc_dkk": {"da": "Usikkerhed i kr. (90 %): {m} (måned), {y} (år til dato), {s} (siden start) — usikkerheden i "
                      "kWh gange periodens besparelsesvægtede gennemsnitspris ({p} kr./kWh siden start).",
                "en": "Uncertainty in DKK (90 %): {m} (month), {y} (year to date), {s} (since start) — the kWh "
                      "uncertainty times the period's savings-weighted mean price ({p} DKK/kWh since start)."},
    "billing_line": {
        "da": "CalTRACK månedsmodel (faktureringsperioder, vægtet mindste kvadraters metode): {kind}. "
              "Grundlast μ = {mu} kWh/døgn{terms}.",
        "en": "CalTRACK billing model (monthly periods, weighted least squares): {kind}. "
              "Base load μ = {mu} kWh/day{terms}."},
    "months_col": {"da": "Måneder (data/alle)", "en": "Months (data/all)"},
    "unit_months": {"da": "måneder", "en": "months"},
    "pv_addback": {"da": "Solceller lagt til (brutto-forbrug = import − eksport + solcelleproduktion) fra {d}.",
                   "en": "PV added back (gross use = import − export + PV production) from {d}."},
    "baseline_legend": {"da": "Justeret baseline", "en": "Adjusted baseline"},
    "actual_legend": {"da": "Faktisk forbrug", "en": "Actual use"},
    "footer": {"da": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0",
               "en": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0"},
    "missing_days": {"da": "{k} {unit} i måneden mangler fuldstændige målerdata og indgår ikke.",
                     "en": "{k} {unit} of the month lack complete meter data and are left out."},
    "degree_days_month": {"da": "Graddage i {month}: {actual} (normalår: {normal}; {days} dage med temperatur).",
                          "en": "Degree days in {month}: {actual} (normal year: {normal}; "
                                "{days} days with temperature)."},
    "chart_portfolio": {"da": "Porteføljen: akkumuleret besparelse i kontraktåret mod garantien pro rata (kWh)",
                        "en": "Portfolio: cumulative savings this contract year vs. the guarantee pro rata (kWh)"},
    "portfolio_ledger": {"da": "Porteføljegaranti", "en": "Portfolio guarantee"},
    # missing is never zero: why a period shows "–" instead of a number
    "status_no_days": {"da": "ingen afsluttede dage endnu", "en": "no day of the period is over yet"},
    "status_no_data": {"da": "ingen data — ingen {unit} med fuldstændige målerdata",
                       "en": "no data — no {unit} with complete meter data"},
    "status_incomplete": {"da": "ufuldstændig — kun {m} af {n} {unit} med fuldstændige målerdata (kræver {min})",
                          "en": "incomplete — only {m} of {n} {unit} with complete meter data ({min} needed)"},
    "status_line": {"da": "{period}: – ({why}).", "en": "{period}: – ({why})."},
    "total_left_out": {"da": "{period}: summen omfatter kun bygninger med nok data — udeladt: {names}.",
                       "en": "{period}: the total covers only buildings with enough data — left out: {names}."},
    "total_none": {"da": "{period}: ingen bygning har nok data, så der er ingen sum.",
                   "en": "{period}: no building has enough data, so there is no total."},
    "ledger_status": {"da": "{title}: realiseret besparelse, manko og overskud vises ikke ({why}).",
                      "en": "{title}: realised savings, shortfall and surplus are not shown ({why})."},
    "ledger_no_data": {"da": "ingen målte data i kontraktåret til dato", "en": "no measured data in the contract "
                       "year so far"},
    "ledger_incomplete": {"da": "ufuldstændig — kun {share} af kontraktårets rapporteringspunkter til dato har målte "
                                "data (kræver {min})",
                          "en": "incomplete — only {share} of the contract year's reporting points so far have "
                                "measured data ({min} needed)"},
    "g14_none": {"da": "ASHRAE Guideline 14: ikke vurderet — ingen målte data siden idriftsættelsen.",
                 "en": "ASHRAE Guideline 14: not assessed — no measured data since the measure date."},
    "preliminary": {"da": "FORELØBIG", "en": "PRELIMINARY"},
    "preliminary_title": {"da": "foreløbig", "en": "preliminary"},
    "preliminary_note": {
        "da": "Foreløbig rapport: {month} er ikke slut. Tallene omfatter kun de afsluttede dage til og med {last} "
              "({days} dage); de resterende dage tælles hverken som manglende eller med.",
        "en": "Preliminary report: {month} is not over. The numbers cover only the days up to and including {last} "
              "({days} days); the remaining days are neither counted nor treated as missing."},
    "preliminary_none": {
        "da": "Foreløbig rapport: {month} er netop begyndt, og ingen af månedens dage er afsluttet endnu.",
        "en": "Preliminary report: {month} has just begun; none of its days is over yet."},
}


COLUMNS: dict[str, dict[str, str]] = {
    "site": {"da": "Bygning (id)", "en": "Building (id)"},
    "period": {"da": "Periode", "en": "Period"},
    "label": {"da": "Betegnelse", "en": "Label"},
    "points": {"da": "Rapporteringspunkter", "en": "Reporting points"},
    "points_with_data": {"da": "Punkter med data", "en": "Points with data"},
    "adjusted_baseline_kwh": {"da": "Justeret baseline kWh", "en": "Adjusted baseline kWh"},
    "actual_kwh": {"da": "Faktisk forbrug kWh", "en": "Actual use kWh"},
    "savings_kwh": {"da": "Besparelse kWh", "en": "Savings kWh"},
    "uncertainty_68_kwh": {"da": "Usikkerhed 68 % kWh", "en": "Uncertainty 68 % kWh"},
    "uncertainty_90_kwh": {"da": "Usikkerhed 90 % kWh", "en": "Uncertainty 90 % kWh"},
    "savings_dkk": {"da": "Besparelse kr.", "en": "Savings DKK"},
    "co2_kg": {"da": "CO₂ kg", "en": "CO₂ kg"},
    "normalised_savings_kwh": {"da": "Besparelse normalår kWh", "en": "Savings normal year kWh"},
    "uncertainty_68_dkk": {"da": "Usikkerhed 68 % kr.", "en": "Uncertainty 68 % DKK"},
    "uncertainty_90_dkk": {"da": "Usikkerhed 90 % kr.", "en": "Uncertainty 90 % DKK"},
    "price_dkk_per_kwh": {"da": "Gns. pris kr./kWh", "en": "Mean price DKK/kWh"},
    "start": {"da": "Fra", "en": "From"},
    "end": {"da": "Til (inkl.)", "en": "To (incl.)"},
    "resolution": {"da": "Opløsning", "en": "Resolution"},
    "status": {"da": "Status", "en": "Status"},
    "status_reason": {"da": "Begrundelse", "en": "Reason"},
    "verdict": {"da": "Besparelsen (90 %)", "en": "The saving (90 %)"},
}
"""Column headers of the savings tables (CSV keys -> people's words), for the XLSX workbook."""

ABOUT: dict[str, dict[str, str]] = {
    "sheet_portfolio": {"da": "Portefølje", "en": "Portfolio"},
    "sheet_about": {"da": "Om rapporten", "en": "About"},
    "topic": {"da": "Emne", "en": "Topic"},
    "value": {"da": "Værdi", "en": "Value"},
    "detail": {"da": "Detalje", "en": "Detail"},
    "source": {"da": "Kilde", "en": "Source"},
    "contract": {"da": "Kontrakt", "en": "Contract"},
    "esco": {"da": "ESCO", "en": "ESCO"},
    "report_month": {"da": "Rapportmåned", "en": "Report month"},
    "baseline_from": {"da": "Baselineperiode fra", "en": "Baseline period from"},
    "baseline_to": {"da": "Baselineperiode til (inkl.)", "en": "Baseline period to (incl.)"},
    "measure": {"da": "Besparelsesperiode fra (idriftsættelse)", "en": "Reporting period from (measure date)"},
    "normal_year": {"da": "Normalår (graddage)", "en": "Normal year (degree days)"},
    "base_temp": {"da": "Graddagebasis °C", "en": "Degree-day base °C"},
    "price_basis": {"da": "Prisgrundlag", "en": "Price basis"},
    "price_fixed": {"da": "fast pris kr./kWh", "en": "fixed price DKK/kWh"},
    "price_from": {"da": "pris fra", "en": "price from"},
    "price_file": {"da": "prisfil (timepriser)", "en": "price file (hourly prices)"},
    "unc_dkk": {"da": "Usikkerhed i kr.", "en": "Uncertainty in DKK"},
    "unc_dkk_how": {"da": "usikkerheden i kWh gange periodens besparelsesvægtede gennemsnitspris",
                    "en": "the kWh uncertainty times the period's savings-weighted mean price"},
    "co2_factor": {"da": "CO₂-faktor kg/kWh", "en": "CO₂ factor kg/kWh"},
    "models": {"da": "Baselinemodeller og ASHRAE Guideline 14", "en": "Baseline models and ASHRAE Guideline 14"},
    "model": {"da": "Model", "en": "Model"},
    "g14": {"da": "G14", "en": "G14"},
    "g14_pass": {"da": "bestået", "en": "pass"},
    "g14_model_fail": {"da": "model uden for grænserne", "en": "model outside the limits"},
    "g14_imprecise": {"da": "påvist, for usikker", "en": "demonstrated, too uncertain"},
    "verdict": {"da": "Besparelsen", "en": "The saving"},
    "verdict_demonstrated": {"da": "påvist", "en": "demonstrated"},
    "verdict_not_demonstrable": {"da": "ikke påviselig", "en": "not demonstrable"},
    "verdict_increase": {"da": "merforbrug", "en": "increase in use"},
    "verdict_no_data": {"da": "ingen data", "en": "no data"},
    "why": {"da": "Begrundelse", "en": "Reason"},
    "n": {"da": "n", "en": "n"},
    "cvrmse": {"da": "CV(RMSE)", "en": "CV(RMSE)"},
    "nmbe": {"da": "NMBE", "en": "NMBE"},
    "r2": {"da": "R²", "en": "R²"},
    "adjustments": {"da": "Ikke-rutinemæssige justeringer", "en": "Non-routine adjustments"},
    "kwh_per_day": {"da": "kWh/døgn", "en": "kWh/day"},
    "percent": {"da": "% af baseline", "en": "% of baseline"},
    "none": {"da": "ingen", "en": "none"},
    "no_result": {"da": "ingen besparelse beregnet", "en": "no savings computed"},
    "caltrack_daily": {"da": "CalTRACK daglig", "en": "CalTRACK daily"},
    "towt_hourly": {"da": "CalTRACK time (TOWT)", "en": "CalTRACK hourly (TOWT)"},
    "caltrack_billing": {"da": "CalTRACK måned (fakturering)", "en": "CalTRACK billing (monthly)"},
    "day": {"da": "dag", "en": "day"},
    "hour": {"da": "time", "en": "hour"},
    "month": {"da": "måned", "en": "month"},
    "period_month": {"da": "Måned", "en": "Month"},
    "period_ytd": {"da": "År til dato", "en": "Year to date"},
    "period_since_start": {"da": "Siden start", "en": "Since start"},
    "status_ok": {"da": "ok", "en": "ok"},
    "status_no_data": {"da": "ingen data", "en": "no data"},
    "status_incomplete": {"da": "ufuldstændig", "en": "incomplete"},
    "status_partial": {"da": "delvis (ikke alle bygninger)", "en": "partial (not every building)"},
    "g14_none": {"da": "ikke vurderet", "en": "not assessed"},
    "preliminary": {"da": "Foreløbig", "en": "Preliminary"},
    "preliminary_yes": {"da": "ja — måneden er ikke slut; data til og med", "en": "yes — the month is not over; "
                        "data up to and including"},
    "electricity": {"da": "el", "en": "electricity"},
    "district_heating": {"da": "fjernvarme", "en": "district heating"},
}
"""Words of the XLSX workbook's sheets (sheet names, the "Om rapporten" sheet)."""


def tr(key: str, lang: str = "da", **kw) -> str:
    """The text ``key`` in ``lang`` with ``{placeholders}`` filled."""
    text = TEXTS[key][lang]
    return text.format(**kw) if kw else text


def month_name(year: int, month: int, lang: str = "da") -> str:
    return f"{MONTHS[lang][month - 1]} {year}"


def preliminary_text(month: dt.date, cutoff: dt.date, lang: str = "da") -> str:
    """The sentence saying a report is preliminary (its month is not over) and which days it counts:
    those before ``cutoff``."""
    mname = month_name(month.year, month.month, lang)
    if cutoff <= month:
        return tr("preliminary_none", lang, month=mname)
    last = cutoff - dt.timedelta(days=1)
    day = (f"{last.day}. {month_name(last.year, last.month, lang)}" if lang == "da"
           else f"{last.day} {month_name(last.year, last.month, lang)}")
    return tr("preliminary_note", lang, month=mname, last=day, days=(cutoff - month).days)
