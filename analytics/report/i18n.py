"""Report texts in Danish (default) and English.  Keys are English; values per language."""

from __future__ import annotations

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
    "g14_pass": {"da": "ASHRAE Guideline 14: bestået (CV(RMSE) ≤ {cv}, |NMBE| ≤ {nmbe}, usikkerhed < 50 % ved 68 %).",
                 "en": "ASHRAE Guideline 14: pass (CV(RMSE) ≤ {cv}, |NMBE| ≤ {nmbe}, uncertainty < 50 % at 68 %)."},
    "g14_fail": {"da": "ASHRAE Guideline 14: ikke bestået — {why}.", "en": "ASHRAE Guideline 14: fail — {why}."},
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
    "price_co2": {"da": "Pris: {price} kr./kWh. CO₂-faktor: {co2}.",
                  "en": "Price: {price} DKK/kWh. CO₂ factor: {co2}."},
    "pv_addback": {"da": "Solceller lagt til (brutto-forbrug = import − eksport + solcelleproduktion) fra {d}.",
                   "en": "PV added back (gross use = import − export + PV production) from {d}."},
    "baseline_legend": {"da": "Justeret baseline", "en": "Adjusted baseline"},
    "actual_legend": {"da": "Faktisk forbrug", "en": "Actual use"},
    "footer": {"da": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0 daglig metode",
               "en": "energimon · IPMVP Option C · ASHRAE Guideline 14 · CalTRACK 2.0 daily method"},
    "missing_days": {"da": "{k} {unit} i måneden mangler fuldstændige målerdata og indgår ikke.",
                     "en": "{k} {unit} of the month lack complete meter data and are left out."},
    "degree_days_month": {"da": "Graddage i {month}: {actual} (normalår: {normal}; {days} dage med temperatur).",
                          "en": "Degree days in {month}: {actual} (normal year: {normal}; "
                                "{days} days with temperature)."},
    "chart_portfolio": {"da": "Porteføljen: akkumuleret besparelse i kontraktåret mod garantien pro rata (kWh)",
                        "en": "Portfolio: cumulative savings this contract year vs. the guarantee pro rata (kWh)"},
    "portfolio_ledger": {"da": "Porteføljegaranti", "en": "Portfolio guarantee"},
}


def tr(key: str, lang: str = "da", **kw) -> str:
    """The text ``key`` in ``lang`` with ``{placeholders}`` filled."""
    text = TEXTS[key][lang]
    return text.format(**kw) if kw else text


def month_name(year: int, month: int, lang: str = "da") -> str:
    return f"{MONTHS[lang][month - 1]} {year}"
