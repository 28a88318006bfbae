"""Report texts in Danish (default) and English.  Keys are English; values per language."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from energimon import carriers

PRELIMINARY_SUFFIX = {"da": "-foreloebig", "en": "-preliminary"}
"""File-name mark of a report for a month that is not over (ASCII, so the name survives mail and file shares)."""

SELECTION_MAX_CHARS = 60
"""A selection's ids longer than this are named by their count and a digest instead: with a site's own file after it
(``.<site>.csv``, up to 63 characters) a name must stay inside the file systems' 255 bytes."""

DIGEST_MARK = "~"
"""Between a many-building selection's count and its digest (``_12-bygninger~3f9a…``): a site id holds only a-z, 0-9,
``-`` and ``_`` (``model.ID_RULE``) and the ids of a selection are joined by ``+``, so no selection named by its ids
reads like one named by its digest.  (Before it ``-``: a building called ``12-bygninger-3f9a0c1e`` got the same names
as the twelve buildings; the web archive still lists such files.)"""


def site_file_name(stem: str, site: str, ext: str) -> str:
    """A building's own file beside a report (its CSV, its PDF): the report's stem with its selection
    (:func:`selection_suffix`), ``.`` and the site id (``besparelse-2026-03.soro-raadhus.csv``).  The dot is the mark
    of a building's file: no stem, selection or site id holds one (``model.ID_RULE``), so a building's file has two
    and the report's own files (:func:`report_file_name`) one.  So no site id — ``co2``, ``tiltag``, ``measures``,
    ``foreloebig`` — names one of the report's own files or a file of another report (a preliminary one, one for some
    buildings)."""
    return f"{stem}.{site}.{ext}"


def report_file_name(stem: str, selection: str, ext: str, mark: str = "") -> str:
    """One of a report's own files: its stem (report, period, ``-foreloebig``), ``-`` and the file's mark if it has
    one (``co2``, ``tiltag``), then the selection (:func:`selection_suffix`, ``""`` for every building) and ``.`` and
    the extension: ``besparelse-2026-03-co2_soro-raadhus.csv``.  The selection comes last because a site id may end
    in a mark (``soro-raadhus-co2``): after it, only ``.`` follows, which no site id holds, so the CO₂ account of
    ``--site hal`` is never the CSV of ``--site hal-co2``.  (Before, the mark followed the selection:
    ``besparelse-2026-03_hal-co2.csv`` was both; the web archive still lists such files.)"""
    return f"{stem}{'-' + mark if mark else ''}{selection}.{ext}"


def selection_suffix(sites: Iterable[str], lang: str) -> str:
    """File-name mark of a report for some buildings only (``--site``): ``_`` and their ids, sorted and joined by ``+``
    (``besparelse-2026-03_soro-raadhus.pdf``), so it never replaces the report of every building or one of its files.
    A site id never begins with ``_`` nor holds ``+``, ``.`` or ``~`` (``model.ID_RULE``), and the selection is the
    last part of a name before ``.`` (:func:`report_file_name`, :func:`site_file_name`), so two selections never share
    a name.  Many buildings: their count and a digest of the ids after ``~`` (``_12-bygninger~3f9a…``, 64 bits)."""
    ids = sorted(set(sites))
    joined = "+".join(ids)
    if len(joined) <= SELECTION_MAX_CHARS:
        return f"_{joined}"
    digest = hashlib.sha256(joined.encode()).hexdigest()[:16]
    return f"_{len(ids)}-{'bygninger' if lang == 'da' else 'sites'}{DIGEST_MARK}{digest}"

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
    "ytd": {"da": "Kontraktår til dato", "en": "Contract year to date"},
    "ytd_note": {"da": "Kontraktår til dato: fra {start} til og med {end} (kontraktåret begynder hvert år på "
                       "idriftsættelsesdatoen {measure}; garantien opgøres pr. kontraktår).",
                 "en": "Contract year to date: from {start} up to and including {end} (the contract year begins each "
                       "year on the measure date {measure}; the guarantee is settled per contract year)."},
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
    # how the site calendar's school holidays entered the savings uncertainty (stats.UnitResiduals.school_holidays_use):
    # on the building's page after its model and in the workbook's "Om rapporten", after the label "school_holidays"
    "school_holidays": {"da": "Skoleferier", "en": "School holidays"},
    "school_holidays_none": {
        "da": "ingen angivet i bygningens kalender ([alerts.sites.{site}] school_holidays). For skoler, haller og "
              "rådhuse kan de gøre usikkerhedsintervallet smallere og mere retvisende.",
        "en": "none configured in the building's calendar ([alerts.sites.{site}] school_holidays). For schools, "
              "sports halls and town halls they can make the uncertainty interval narrower and more honest."},
    "school_holidays_used": {"da": "bygningens kalender er brugt: skoleferierne indgår for sig i usikkerheden{test}.",
                             "en": "the building's calendar is used: the school holidays count on their own in the "
                                   "uncertainty{test}."},
    "school_holidays_used_test": {"da": " (de viste et signifikant mønster i baselineperioden, {p})",
                                  "en": " (they showed a significant pattern in the baseline period, {p})"},
    "school_holidays_not_significant": {
        "da": "angivet i kalenderen, men ikke brugt: de viste intet signifikant mønster i baselineperioden "
              "({p}; kræver p < {limit}).",
        "en": "configured but not used: they showed no significant pattern in the baseline period "
              "({p}; p < {limit} needed)."},
    "school_holidays_absent": {
        "da": "angivet i kalenderen, men ikke brugt: ingen af dem ligger i baselineperioden, så der er intet mønster "
              "at lære af. Angiv også baselineperiodens skoleferier ([alerts.sites.{site}] school_holidays).",
        "en": "configured but not used: none of them lies in the baseline period, so there is no pattern to learn "
              "from. Configure the baseline period's school holidays too ([alerts.sites.{site}] school_holidays)."},
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
    # the limit of a monthly model's interval (bench/README.md, "What twelve months cannot show"): on the building's
    # page of a caltrack_billing site and in the workbook's "Om rapporten"
    "billing_uncertainty": {
        "da": "Usikkerheden for en månedsmodel: tolv månedsaflæsninger kan ikke vise, om forbrugets afvigelser hænger "
              "sammen fra dag til dag hen over månedsskifterne. Gør de det (fx uger med anden drift eller brug), er "
              "årets interval for smalt — i energimons kalibrering holdt 90 %-intervallet den sande besparelse 86-87 % "
              "af gangene i stedet for 90 %. Skal garantien afregnes på tallet, så brug døgn- eller timedata (el: "
              "DataHub/Eloverblik) med model = \"caltrack_daily\" eller \"towt_hourly\".",
        "en": "The uncertainty of a monthly model: twelve monthly readings cannot show whether the use's deviations "
              "persist from day to day across month ends. Where they do (weeks of other operation or use, say), the "
              "year's interval is too narrow — in energimon's calibration the 90 % interval held the true saving "
              "86-87 % of the time instead of 90 %. Where the figure settles the guarantee, use daily or hourly data "
              "(electricity: DataHub/Eloverblik) with model = \"caltrack_daily\" or \"towt_hourly\"."},
    "unit_months": {"da": "måneder", "en": "months"},
    "pv_addback": {"da": "Solceller lagt til (brutto-forbrug = import − eksport + solcelleproduktion) fra {d}.",
                   "en": "PV added back (gross use = import − export + PV production) from {d}."},
    "baseline_legend": {"da": "Justeret baseline", "en": "Adjusted baseline"},
    "actual_legend": {"da": "Faktisk forbrug", "en": "Actual use"},
    "footer": {"da": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0",
               "en": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0"},
    "footer_option_b": {"da": "energimon · IPMVP Option B · ASHRAE Guideline 14",
                        "en": "energimon · IPMVP Option B · ASHRAE Guideline 14"},
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
    "total_no_option_c": {"da": "{period}: ingen bygning i rapporten har en Option C-kontrakt, så der er ingen sum; "
                                "tiltagenes besparelser (Option B) står i tiltagsfilen.",
                          "en": "{period}: no building in the report has an Option C contract, so there is no total; "
                                "the measures' savings (Option B) are in the measures file."},
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
    # page 1: the summary for a committee, in plain words
    "summary": {"da": "Sammenfatning", "en": "Summary"},
    "sum_month": {
        "da": "I {month} brugte {what} {actual} kWh. Uden energiforbedringerne ville forbruget efter beregningen "
              "have været {baseline} kWh (justeret for vejret). Besparelsen er {savings} kWh, svarende til {dkk} kr. "
              "og {co2} kg CO₂.",
        "en": "In {month} {what} used {actual} kWh. Without the energy improvements the use would, by the "
              "calculation, have been {baseline} kWh (adjusted for the weather). The saving is {savings} kWh, worth "
              "{dkk} DKK and {co2} kg CO₂."},
    "sum_what_one": {"da": "bygningen", "en": "the building"},
    "sum_what_many": {"da": "de {n} bygninger", "en": "the {n} buildings"},
    # page 1 of a report whose measures outside Option C count beside its Option C buildings (measures_section)
    "sum_what_one_c": {"da": "bygningen med Option C-kontrakt", "en": "the building with an Option C contract"},
    "sum_what_many_c": {"da": "de {n} bygninger med Option C-kontrakt",
                        "en": "the {n} buildings with an Option C contract"},
    "sum_ytd_of": {"da": "I kontraktåret til dato (kontraktår fra {start}) er besparelsen for {what} {savings} kWh og "
                         "{dkk} kr.",
                   "en": "In the contract year to date (contract year from {start}) the saving of {what} is {savings} "
                         "kWh and {dkk} DKK."},
    "sum_partial": {"da": "Tallene omfatter kun bygningerne med nok måledata ({k} af {n}).",
                    "en": "The figures cover only the buildings with enough meter data ({k} of {n})."},
    "sum_ytd": {"da": "I kontraktåret til dato (kontraktår fra {start}) er besparelsen {savings} kWh og {dkk} kr.",
                "en": "In the contract year to date (contract year from {start}) the saving is {savings} kWh and "
                      "{dkk} DKK."},
    "sum_guarantee": {"da": "Garantien for kontraktåret til dato er {guaranteed} kWh; {status}",
                      "en": "The guarantee for the contract year to date is {guaranteed} kWh; {status}"},
    "sum_guarantee_met": {"da": "den er nået med {surplus} kWh i overskud.",
                          "en": "it is met with a surplus of {surplus} kWh."},
    "sum_guarantee_short": {"da": "der mangler {shortfall} kWh, som ESCO'en betaler efter kontrakten.",
                            "en": "{shortfall} kWh are missing, which the ESCO pays under the contract."},
    "sum_holds": {"da": "Holder besparelsen statistisk?", "en": "Does the saving hold statistically?"},
    "sum_demonstrated": {
        "da": "Ja. Siden start er der sparet {savings} kWh, og med 90 % sikkerhed ligger besparelsen mellem {low} og "
              "{high} kWh — altså over nul. Besparelsen er påvist.",
        "en": "Yes. Since the start {savings} kWh have been saved, and with 90 % confidence the saving lies between "
              "{low} and {high} kWh — above zero. The saving is demonstrated."},
    "sum_not_demonstrable": {
        "da": "Ikke endnu. Siden start er den beregnede besparelse {savings} kWh, men med 90 % sikkerhed ligger den "
              "mellem {low} og {high} kWh, og det interval rummer nul. Besparelsen er derfor ikke påviselig: det "
              "betyder ikke, at der ingen besparelse er, men at målingerne endnu ikke kan skelne den fra nul.",
        "en": "Not yet. Since the start the computed saving is {savings} kWh, but with 90 % confidence it lies "
              "between {low} and {high} kWh, an interval that holds zero. The saving is therefore not demonstrable: "
              "that does not mean there is no saving, only that the measurements cannot yet tell it from zero."},
    "sum_increase": {
        "da": "Nej. Siden start bruger bygningerne mere, end de ville have gjort uden forbedringerne: {savings} kWh, "
              "med 90 % sikkerhed mellem {low} og {high} kWh. Det er et påviseligt merforbrug.",
        "en": "No. Since the start the buildings use more than they would have without the improvements: "
              "{savings} kWh, with 90 % confidence between {low} and {high} kWh. That is a demonstrable increase."},
    "sum_no_data": {"da": "Det kan ikke vurderes endnu: der er ingen målte data siden start.",
                    "en": "It cannot be judged yet: there are no measured data since the start."},
    "sum_model_warning": {
        "da": "Bemærk: for {names} opfylder beregningsmodellen ikke kravene i ASHRAE Guideline 14; deres tal er "
              "vejledende (se bygningens side).",
        "en": "Note: for {names} the calculation model does not meet ASHRAE Guideline 14; their figures are "
              "indicative (see the building's page)."},
    "sum_last_year": {
        "da": "Sammenlignet med {month} sidste år, korrigeret for vejret med graddage, brugte {what} {change}.",
        "en": "Compared with {month} last year, corrected for the weather with degree days, {what} used {change}."},
    "sum_less": {"da": "{p} mindre", "en": "{p} less"},
    "sum_more": {"da": "{p} mere", "en": "{p} more"},
    "sum_table": {"da": "Bygningerne i {month}", "en": "The buildings in {month}"},
    "sum_col_verdict": {"da": "Besparelsen siden start", "en": "The saving since start"},
    "sum_col_last_year": {"da": "Forbrug mod sidste år", "en": "Use vs. last year"},
    "sum_col_m2": {"da": "Forbrug kWh/m²", "en": "Use kWh/m²"},
    "sum_footnote": {
        "da": "Besparelsen siden start er påvist, når hele 90 %-usikkerhedsintervallet ligger over nul; ikke "
              "påviselig, når intervallet rummer nul. Sammenligningen med sidste år er korrigeret til i års vejr "
              "(graddage). Ordforklaring på næste side; detaljer pr. bygning bagefter.",
        "en": "The saving since start is demonstrated when the whole 90 % uncertainty interval lies above zero; not "
              "demonstrable when the interval holds zero. The comparison with last year is corrected to this year's "
              "weather (degree days). Glossary on the next page; details per building after it."},
    "glossary": {"da": "Ordforklaring", "en": "Glossary"},
    "last_year_line": {
        "da": "Samme måned sidste år ({period}): {last} kWh ved {hdd_last} graddage; korrigeret til i års {hdd_this} "
              "graddage {corrected} kWh (vejruafhængig andel {f}). I år: {this} kWh — {change} ift. sidste år.",
        "en": "Same month last year ({period}): {last} kWh at {hdd_last} degree days; corrected to this year's "
              "{hdd_this} degree days {corrected} kWh (weather-independent share {f}). This year: {this} kWh — "
              "{change} vs. last year."},
    "last_year_none": {"da": "Samme måned sidste år ({period}): kan ikke sammenlignes ({why}).",
                       "en": "Same month last year ({period}): no comparison ({why})."},
    "last_year_no_data": {"da": "ikke fuldstændige målerdata for alle dage",
                          "en": "not complete meter data on every day"},
    "last_year_no_temp": {"da": "for få dage med udetemperatur", "en": "too few days with an outdoor temperature"},
    "last_year_no_hdd": {"da": "ingen graddage sidste år at korrigere med",
                         "en": "no degree days last year to correct with"},
    "per_m2_line": {"da": "Forbrug pr. m² (etageareal {area} m²): {month_m2} kWh/m² i {month}, {ytd_m2} kWh/m² i "
                          "kontraktåret til dato; besparelse {sav_m2} kWh/m² i {month}.",
                    "en": "Use per m² (floor area {area} m²): {month_m2} kWh/m² in {month}, {ytd_m2} kWh/m² in the "
                          "contract year to date; saving {sav_m2} kWh/m² in {month}."},
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
    "unit": {"da": "Enhed", "en": "Unit"},  # the carrier's unit of the row's amounts (kWh, m³)
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
    "billing_uncertainty": {"da": "Usikkerhed for månedsmodeller", "en": "Uncertainty of monthly models"},
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
    "p_value": {"da": "p (F-test)", "en": "p (F test)"},
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
    "period_ytd": {"da": "Kontraktår til dato", "en": "Contract year to date"},
    "period_since_start": {"da": "Siden start", "en": "Since start"},
    "status_ok": {"da": "ok", "en": "ok"},
    "status_no_data": {"da": "ingen data", "en": "no data"},
    "status_incomplete": {"da": "ufuldstændig", "en": "incomplete"},
    "status_partial": {"da": "delvis (ikke alle bygninger)", "en": "partial (not every building)"},
    "g14_none": {"da": "ikke vurderet", "en": "not assessed"},
    "preliminary": {"da": "Foreløbig", "en": "Preliminary"},
    "preliminary_yes": {"da": "ja — måneden er ikke slut; data til og med", "en": "yes — the month is not over; "
                        "data up to and including"},
    **{c.key: {"da": c.da, "en": c.en} for c in carriers.CARRIERS.values()},  # the carriers' names
}
"""Words of the XLSX workbook's sheets (sheet names, the "Om rapporten" sheet)."""


GLOSSARY: list[tuple[dict[str, str], dict[str, str]]] = [
    ({"da": "Baseline", "en": "Baseline"},
     {"da": "Det forbrug, bygningen ville have haft uden energiforbedringerne. Det beregnes ud fra forbrug og "
            "udetemperatur i en periode før forbedringerne (baselineperioden) og regnes om til vejret i dag.",
      "en": "The use the building would have had without the energy improvements. It is worked out from use and "
            "outdoor temperature in a period before the improvements (the baseline period) and recalculated for "
            "today's weather."}),
    ({"da": "IPMVP Option C", "en": "IPMVP Option C"},
     {"da": "Den internationale metode til at opgøre besparelser ud fra hele bygningens målte forbrug: besparelsen "
            "er baseline (justeret for vejr og ændringer i brugen) minus det faktiske forbrug.",
      "en": "The international method for determining savings from the whole building's metered use: the saving is "
            "the baseline (adjusted for weather and changes in use) minus the actual use."}),
    ({"da": "IPMVP Option B", "en": "IPMVP Option B"},
     {"da": "Den internationale metode til at opgøre et enkelt tiltags besparelse for sig (isolering af tiltaget): "
            "tiltaget har sin egen måler, f.eks. en bimåler på belysningen, og alt, hvad besparelsen beregnes ud fra, "
            "måles. Besparelsen er tiltagets baseline minus dets målte forbrug.",
      "en": "The international method for determining one measure's saving on its own (retrofit isolation): the "
            "measure has its own meter, e.g. a submeter on the lighting, and every parameter the saving is worked out "
            "from is measured. The saving is the measure's baseline minus its metered use."}),
    ({"da": "Graddage", "en": "Degree days"},
     {"da": "Et mål for, hvor koldt det har været: hvert døgn tæller med, hvor mange grader middeltemperaturen lå "
            "under {base} °C. Flere graddage betyder mere opvarmning, så perioder med forskelligt vejr kan "
            "sammenlignes (graddagekorrektion).",
      "en": "A measure of how cold it has been: each day counts the degrees its mean temperature lay below "
            "{base} °C. More degree days mean more heating, so periods with different weather can be compared "
            "(degree-day correction)."}),
    ({"da": "Normalår", "en": "Normal year"},
     {"da": "Et gennemsnitligt års vejr ({total} graddage). Besparelsen i normalår er regnet om til dette vejr, så "
            "år med milde og kolde vintre kan sammenlignes.",
      "en": "An average year's weather ({total} degree days). The normal-year saving is recalculated for this "
            "weather, so years with mild and cold winters can be compared."}),
    ({"da": "Kontraktår", "en": "Contract year"},
     {"da": "Et år regnet fra idriftsættelsesdatoen ({measure}); garantien opgøres for hvert kontraktår.",
      "en": "A year counted from the measure date ({measure}); the guarantee is settled for each contract year."}),
    ({"da": "CUSUM", "en": "CUSUM"},
     {"da": "Den løbende sum af besparelsen siden start. En jævnt stigende kurve er en stabil besparelse; flader den "
            "ud eller falder, er besparelsen blevet mindre.",
      "en": "The running total of the saving since the start. A steadily rising curve is a steady saving; if it "
            "levels off or falls, the saving has shrunk."}),
    ({"da": "Usikkerhed 68 % / 90 %", "en": "Uncertainty 68 % / 90 %"},
     {"da": "Intervallet omkring besparelsen, som den sande besparelse ligger i med 68 % eller 90 % sikkerhed. "
            "Rummer 90 %-intervallet nul, er besparelsen ikke påviselig — hvilket ikke er det samme som ingen "
            "besparelse.",
      "en": "The interval around the saving that holds the true saving with 68 % or 90 % confidence. If the 90 % "
            "interval holds zero, the saving is not demonstrable — which is not the same as no saving."}),
    ({"da": "CV(RMSE)", "en": "CV(RMSE)"},
     {"da": "Hvor meget baselinemodellen typisk rammer ved siden af det målte forbrug i baselineperioden, i procent "
            "af forbruget. Jo lavere, jo mere præcis; ASHRAE Guideline 14 sætter en øvre grænse.",
      "en": "How far the baseline model typically misses the metered use in the baseline period, as a percentage of "
            "the use. The lower, the more precise; ASHRAE Guideline 14 sets an upper limit."}),
    ({"da": "NMBE", "en": "NMBE"},
     {"da": "Om modellen i baselineperioden systematisk rammer for højt eller for lavt (den gennemsnitlige fejl i "
            "procent af forbruget). Tæt på 0 % er godt.",
      "en": "Whether the model is systematically too high or too low in the baseline period (the mean error as a "
            "percentage of the use). Close to 0 % is good."}),
    ({"da": "ρ (rho)", "en": "ρ (rho)"},
     {"da": "Hvor meget en dags afvigelse fra modellen ligner den foregående dags (autokorrelation). Jo større ρ, "
            "jo mindre ny viden giver hver dag, og jo større bliver usikkerheden.",
      "en": "How much a day's deviation from the model resembles the previous day's (autocorrelation). The larger "
            "ρ, the less new information each day brings, and the larger the uncertainty."}),
    ({"da": "n′", "en": "n′"},
     {"da": "Antallet af reelt uafhængige målinger i baselineperioden, når der er taget højde for ρ. Usikkerheden "
            "beregnes med n′ i stedet for antallet af dage.",
      "en": "The number of truly independent measurements in the baseline period once ρ is taken into account. The "
            "uncertainty is computed with n′ instead of the number of days."}),
    ({"da": "FSU", "en": "FSU"},
     {"da": "Usikkerheden (ved 68 % sikkerhed) i procent af besparelsen (Fractional Savings Uncertainty). ASHRAE "
            "Guideline 14 kræver under 50 %, før besparelsen er præcis nok at afregne efter.",
      "en": "The uncertainty (at 68 % confidence) as a percentage of the saving (Fractional Savings Uncertainty). "
            "ASHRAE Guideline 14 requires less than 50 % before the saving is precise enough to settle on."}),
    ({"da": "ASHRAE Guideline 14", "en": "ASHRAE Guideline 14"},
     {"da": "Den amerikanske vejledning i at måle energibesparelser, som kontrakten henviser til: krav til "
            "modellens præcision (CV(RMSE), NMBE) og til besparelsens usikkerhed (FSU).",
      "en": "The American guideline for measuring energy savings that the contract refers to: requirements on the "
            "model's precision (CV(RMSE), NMBE) and on the saving's uncertainty (FSU)."}),
]
"""The report's glossary: each term in one or two plain sentences (``{base}``, ``{total}``, ``{measure}`` filled
from the contract)."""


def month_label(year: int, month: int, lang: str = "da") -> str:
    """A month on a chart's axis, the same in every chart: "mar 26" (da), "Mar 26" (en)."""
    return f"{MONTHS[lang][month - 1][:3]} {year % 100:02d}"


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
