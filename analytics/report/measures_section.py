"""The measures of the savings report (IPMVP Option B): an overview after the portfolio page with the rule that keeps
them from being counted twice, and each measure's figures under its building.

Lays out what :mod:`energimon.analytics.esco.measures` computed; reads nothing.  The rule, in the report's words:
a building's whole-building (Option C) saving already contains the saving of every measure inside it, so a
measure's saving is shown as a part of it ("heraf"), never added to it; the municipality's total counts the
Option C savings, and for buildings without an Option C contract (on the measure's carrier) the measures.
"""

from __future__ import annotations

import datetime as dt
import math

from energimon.analytics.esco.evaluation import SiteResult
from energimon.analytics.esco.measures import (
    MeasureResult,
    MunicipalityTotal,
    OperatingHoursModel,
    contained_in_option_c,
    municipality_total,
)
from energimon.analytics.report import xlsx_out
from energimon.analytics.report.csv_out import header_label
from energimon.analytics.report.document import Report, Section, Table
from energimon.analytics.report.i18n import ABOUT, month_name, preliminary_text, tr
from energimon.analytics.report.numbers import fmt_number, fmt_percent, fmt_pm
from energimon.analytics.report.units import other_unit_text, section_in_unit, unit_of
from energimon.analytics.savings import PeriodSavings, portfolio_total, savings_verdict_code
from energimon.calendar import next_month
from energimon.carriers import CARRIERS, in_unit

TEXTS: dict[str, dict[str, str]] = {
    "sheet": {"da": "Tiltag (Option B)", "en": "Measures (Option B)"},
    "console": {"da": "{where}: {s} kWh {u} (90 %) i {month}; {part}", "en": "{where}: {s} kWh {u} (90 %) in {month}; "
                                                                            "{part}"},
    "console_in": {"da": "tiltag (Option B), heraf i bygningens besparelse",
                   "en": "measure (Option B), of which in the building's saving"},
    "console_alone": {"da": "tiltag (Option B), tælles for sig", "en": "measure (Option B), counted on its own"},
    "heading": {"da": "Tiltag målt for sig (IPMVP Option B)", "en": "Measures metered on their own (IPMVP Option B)"},
    "intro": {
        "da": "Et tiltag med egen bimåler (f.eks. belysningen i en hal) får sin egen baseline, sin egen besparelse og "
              "sin egen usikkerhed (IPMVP Option B, isolering af tiltaget). Sådan tælles de ikke dobbelt: "
              "Bygningens samlede besparelse (Option C, hovedmåleren) indeholder allerede besparelsen fra hvert "
              "tiltag i bygningen. Tiltagets besparelse vises derfor som en del af bygningens (\"heraf\") og lægges "
              "aldrig oveni. Kommunens samlede besparelse tæller kun Option C-besparelserne — og for bygninger "
              "uden Option C-kontrakt på tiltagets energiart tiltagenes besparelser.",
        "en": "A measure with its own submeter (e.g. the lighting of a sports hall) has its own baseline, its own "
              "saving and its own uncertainty (IPMVP Option B, retrofit isolation). How they are not counted twice: "
              "the building's whole-building saving (Option C, the main meter) already contains the saving of every "
              "measure in the building. A measure's saving is therefore shown as a part of the building's "
              "(\"of which\") and never added to it. The municipality's total counts the Option C savings only — "
              "and, for buildings without an Option C contract on the measure's carrier, the measures' savings."},
    "building": {"da": "Bygning / tiltag", "en": "Building / measure"},
    "whole": {"da": "{name} — hele bygningen (Option C)", "en": "{name} — whole building (Option C)"},
    "of_which": {"da": "  heraf {measure}", "en": "  of which {measure}"},
    "alone": {"da": "{name} — uden Option C-kontrakt", "en": "{name} — no Option C contract"},
    "other_carrier": {"da": "{name} — Option C kun på {carrier}", "en": "{name} — Option C on {carrier} only"},
    "counted": {"da": "  {measure} (tælles med)", "en": "  {measure} (counted)"},
    "month_kwh": {"da": "Måned kWh", "en": "Month kWh"},
    "since_kwh": {"da": "Siden start kWh", "en": "Since start kWh"},
    "share": {"da": "Andel af bygningens", "en": "Share of the building's"},
    "total": {"da": "Kommunen i alt (Option C + tiltag uden Option C)",
              "en": "Municipality total (Option C + measures without Option C)"},
    "total_line": {
        "da": "Kommunen i alt for {month}: {total} kWh {unc} kWh (90 %) = Option C {oc} kWh + tiltag i bygninger uden "
              "Option C {alone} kWh. Tiltag markeret \"heraf\" er allerede med i Option C-tallet.",
        "en": "Municipality total for {month}: {total} kWh {unc} kWh (90 %) = Option C {oc} kWh + measures in "
              "buildings without Option C {alone} kWh. Measures marked \"of which\" are already in the Option C "
              "figure."},
    # without an Option C building the total is the measures' alone: no "Option C – kWh" part to add
    "total_line_measures": {
        "da": "Kommunen i alt for {month}: {total} kWh {unc} kWh (90 %) — summen af tiltagenes besparelser (Option B); "
              "ingen bygning i rapporten har en Option C-kontrakt.",
        "en": "Municipality total for {month}: {total} kWh {unc} kWh (90 %) — the sum of the measures' savings "
              "(Option B); no building in the report has an Option C contract."},
    "detail": {"da": "Tiltag: {name} (IPMVP Option B)", "en": "Measure: {name} (IPMVP Option B)"},
    "detail_rule_in": {
        "da": "Besparelsen er en del af bygningens samlede besparelse (Option C) ovenfor — heraf dette tiltag; den "
              "lægges ikke til.",
        "en": "The saving is a part of the building's whole-building saving (Option C) above — of which this "
              "measure; it is not added to it."},
    # a natural-gas measure is in m³: no kWh total holds it (the Option C side keeps m³ buildings out likewise)
    "detail_rule_other_unit": {
        "da": "Bygningen har ingen Option C-kontrakt på {carrier}. Tiltagets besparelse er i {unit} og tælles derfor "
              "ikke med i kommunens samlede besparelse.",
        "en": "The building has no Option C contract on {carrier}. The measure's saving is in {unit} and therefore "
              "does not count in the municipality's total."},
    "detail_rule_alone": {
        "da": "Bygningen har ingen Option C-kontrakt på {carrier}: tiltagets besparelse tælles med i kommunens total.",
        "en": "The building has no Option C contract on {carrier}: the measure's saving counts in the municipality's "
              "total."},
    "dates": {"da": "Installeret {installed}; baseline {b0} – {b1}; rapportering fra {r0}.",
              "en": "Installed {installed}; baseline {b0} – {b1}; reporting from {r0}."},
    "model_constant": {"da": "Model: konstant forbrug pr. døgn, {mu} kWh/døgn (baselineperiodens gennemsnit).",
                       "en": "Model: constant use per day, {mu} kWh/day (the baseline period's mean)."},
    "model_hours": {"da": "Model: forbrug pr. driftstime × driftstimer, {k} kWh pr. time; timer fra {src}.",
                    "en": "Model: use per operating hour × operating hours, {k} kWh per hour; hours from {src}."},
    "schedule": {"da": "ugeskemaet", "en": "the weekly schedule"},
    "model_dd": {"da": "Model: graddagemodel (CalTRACK døgn), {mu} kWh/døgn{terms}.",
                 "en": "Model: degree-day model (CalTRACK daily), {mu} kWh/day{terms}."},
    "dd_term": {"da": " + {b} kWh pr. graddag under {t} °C", "en": " + {b} kWh per degree day below {t} °C"},
    "stats": {"da": "Baseline: {n} døgn, CV(RMSE) {cv}, NMBE {nmbe}, R² {r2}, ρ {rho}.",
              "en": "Baseline: {n} days, CV(RMSE) {cv}, NMBE {nmbe}, R² {r2}, ρ {rho}."},
    "fsu": {"da": "Usikkerhed på besparelsen siden start (90 %): {fsu} af besparelsen.",
            "en": "Uncertainty of the saving since start (90 %): {fsu} of the saving."},
    "guarantee": {"da": "Garanti {g} kWh/år: til dato {due} kWh garanteret, {real} kWh {unc} kWh (90 %) realiseret — "
                        "{verdict}.",
                  "en": "Guarantee {g} kWh/year: {due} kWh guaranteed to date, {real} kWh {unc} kWh (90 %) realised — "
                        "{verdict}."},
    "g_met": {"da": "garantien er opfyldt (også i den nedre ende af intervallet)",
              "en": "the guarantee is met (also at the low end of the interval)"},
    "g_met_not_demonstrable": {"da": "skønnet opfylder garantien, men intervallet går under den",
                               "en": "the estimate meets the guarantee, but the interval reaches below it"},
    "g_short": {"da": "garantien er ikke opfyldt", "en": "the guarantee is not met"},
    "g_no_data": {"da": "for få målte døgn til at vurdere", "en": "too few measured days to judge"},
    "no_result": {"da": "Intet resultat: {why}", "en": "No result: {why}"},
    "period_status": {"da": "{period}: for få målte døgn ({m} af {n}).",
                      "en": "{period}: too few measured days ({m} of {n})."},
    # page 1 of a report without an Option C building: the measures carry it (:func:`summary_section`)
    "sum_intro": {
        "da": "Rapporten omfatter kun tiltag, der er målt for sig på egen bimåler (IPMVP Option B): ingen bygning "
              "i den har en kontrakt på hele bygningens forbrug (Option C). Tallene er derfor tiltagenes egne "
              "besparelser, hver med sin egen baseline og usikkerhed.",
        "en": "This report holds only measures metered on their own submeter (IPMVP Option B): no building in it "
              "has a contract on the whole building's use (Option C). The figures are therefore the measures' own "
              "savings, each with its own baseline and uncertainty."},
    "sum_what_one": {"da": "tiltaget", "en": "the measure"},
    "sum_what_many": {"da": "de {n} tiltag", "en": "the {n} measures"},
    "sum_month": {"da": "I {month} sparede {what} {savings} kWh {unc} kWh (90 %).",
                  "en": "In {month} {what} saved {savings} kWh {unc} kWh (90 %)."},
    "sum_month_none": {"da": "For {month} kan besparelsen ikke opgøres: for få målte døgn.",
                       "en": "For {month} the saving cannot be stated: too few measured days."},
    "sum_partial": {"da": "Tallet omfatter kun tiltagene med nok målte døgn ({k} af {n}).",
                    "en": "The figure covers only the measures with enough measured days ({k} of {n})."},
    "sum_since": {"da": "Siden start (hvert tiltag fra sin installation) er der sparet {savings} kWh {unc} kWh (90 %).",
                  "en": "Since the start (each measure from its installation) {savings} kWh {unc} kWh (90 %) have "
                        "been saved."},
    "sum_increase": {
        "da": "Nej. Siden start bruger tiltagenes målere mere end efter deres baseline: {savings} kWh, med 90 % "
              "sikkerhed mellem {low} og {high} kWh. Det er et påviseligt merforbrug.",
        "en": "No. Since the start the measures' meters use more than their baselines say: {savings} kWh, with "
              "90 % confidence between {low} and {high} kWh. That is a demonstrable increase in use."},
    "sum_guarantee": {"da": "{name}: garanti {g} kWh/år; til dato {due} kWh garanteret, {real} kWh realiseret — "
                            "{verdict}.",
                      "en": "{name}: guarantee {g} kWh/year; {due} kWh guaranteed to date, {real} kWh realised — "
                            "{verdict}."},
    "sum_model_warning": {
        "da": "Bemærk: for {names} opfylder beregningsmodellen ikke kravene i ASHRAE Guideline 14; tallene er "
              "vejledende (se tiltagets side).",
        "en": "Note: for {names} the calculation model does not meet ASHRAE Guideline 14; the figures are "
              "indicative (see the measure's page)."},
    "sum_table": {"da": "Tiltagene i {month}", "en": "The measures in {month}"},
    "measure": {"da": "Tiltag", "en": "Measure"},
    # page 1 of a report with Option C buildings and measures outside them (:func:`outside_option_c_summary`)
    "n_measures_one": {"da": "1 tiltag", "en": "1 measure"},
    "n_measures_many": {"da": "{n} tiltag", "en": "{n} measures"},
    "n_buildings_one": {"da": "1 bygning", "en": "1 building"},
    "n_buildings_many": {"da": "{n} bygninger", "en": "{n} buildings"},
    "sum_outside": {
        "da": "Dertil kommer {measures} målt for sig på egen bimåler (IPMVP Option B) i {buildings} uden Option "
              "C-kontrakt på tiltagets energiart: {savings} kWh {unc} kWh (90 %) i {month}.",
        "en": "On top of that, {measures} metered separately on a submeter (IPMVP Option B) in {buildings} without an "
              "Option C contract on the measure's carrier saved {savings} kWh {unc} kWh (90 %) in {month}."},
    "sum_outside_none": {
        "da": "Dertil kommer {measures} målt for sig på egen bimåler (IPMVP Option B) i {buildings} uden Option "
              "C-kontrakt på tiltagets energiart; deres besparelse i {month} kan ikke opgøres: for få målte døgn.",
        "en": "The report also holds {measures} metered separately on a submeter (IPMVP Option B) in {buildings} "
              "without an Option C contract on the measure's carrier, whose saving in {month} cannot be stated: too "
              "few measured days."},
    "sum_total": {
        "da": "Kommunen i alt for {month}: {total} kWh {unc} kWh (90 %) — bygningerne med Option C-kontrakt og "
              "tiltagene uden. Et tiltag i en bygning med Option C-kontrakt er allerede med i bygningens besparelse og "
              "lægges ikke til. Tiltagene er ikke prissat, så kr. og CO₂ ovenfor gælder bygningerne med Option "
              "C-kontrakt.",
        "en": "Municipality total for {month}: {total} kWh {unc} kWh (90 %) — the buildings with an Option C contract "
              "and the measures without one. A measure in a building with an Option C contract is already in the "
              "building's saving and is not added. The measures are not priced, so the DKK and CO₂ above are the "
              "Option C buildings'."},
    "sum_since_parts": {
        "da": "Siden start tæller bygningerne med Option C-kontrakt fra {date} og hvert tiltag uden Option C-kontrakt "
              "fra sin installation.",
        "en": "\"Since start\" counts the buildings with an Option C contract from {date} and each measure without "
              "one from its installation."},
    "sum_row": {"da": "{site}: {measure} (tiltag)", "en": "{site}: {measure} (measure)"},
    "sum_footnote": {
        "da": "Besparelsen siden start er påvist, når hele 90 %-usikkerhedsintervallet ligger over nul; ikke "
              "påviselig, når intervallet rummer nul. Ordforklaring på næste side; hvert tiltags beregning bagefter.",
        "en": "The saving since start is demonstrated when the whole 90 % interval lies above zero; not "
              "demonstrable when the interval holds zero. Glossary on the next page; each measure's calculation "
              "after it."},
}


def t(key: str, lang: str, **kw: object) -> str:
    return TEXTS[key][lang].format(**kw)


def _kwh(p: PeriodSavings | None, lang: str, unit: str = "kWh") -> tuple[str, str]:
    """The saving and its 90 % uncertainty; in a column that says kWh, an amount in another unit names it."""
    s = p.shown() if p is not None else None
    if s is None:
        return "–", "–"
    u = "" if unit == "kWh" else f" {unit}"
    return fmt_number(s.savings_kwh, 0, lang) + u, fmt_pm(s.uncertainty_90_kwh, 0, lang) + u


def in_kwh(m: MeasureResult) -> bool:
    """The measure's amounts are kWh (electricity, district heating): only those are summed with other measures and
    buildings; a natural-gas measure's m³ stand on its own page, as a gas contract's do."""
    return m.unit == "kWh"


def _other_unit(measures: list[MeasureResult], period: str, lang: str) -> list[str]:
    """The sentence naming the measures a kWh sum leaves out for their unit (none: no sentence)."""
    other = [m.name for m in measures if not in_kwh(m)]
    return [other_unit_text(period, other, lang)] if other else []


def overview_section(measures: list[MeasureResult], results: list[SiteResult], names: dict[str, str], month_label: str,
                     lang: str) -> Section:
    """The rule, every building's measures under it (Option C's figure with "heraf" rows, or the measures counted on
    their own) and the municipality's total for the month without double counting."""
    sec = Section(t("heading", lang))
    sec.text(t("intro", lang))
    option_c = {r.site: r.carrier for r in results}
    by_site = {r.site: r for r in results}
    cols = [t("building", lang), t("month_kwh", lang), tr("unc90", lang), t("since_kwh", lang), tr("unc90", lang),
            t("share", lang)]
    rows: list[list[str]] = []
    for site in dict.fromkeys(m.site for m in measures):
        mine = [m for m in measures if m.site == site]
        name = names.get(site, site)
        r = by_site.get(site)
        if r is not None and any(contained_in_option_c(m, option_c) for m in mine):
            u = unit_of(r.carrier)
            rows.append([t("whole", lang, name=name), *_kwh(r.month, lang, u), *_kwh(r.since_start, lang, u), ""])
        elif r is not None:  # an Option C contract on another carrier: it does not hold these measures
            rows.append([t("other_carrier", lang, name=name, carrier=CARRIERS[r.carrier].name(lang)),
                         "", "", "", "", ""])
        else:
            rows.append([t("alone", lang, name=name), "", "", "", "", ""])
        for m in mine:
            inside = contained_in_option_c(m, option_c)
            share = math.nan
            if inside and r is not None and r.month is not None and m.month is not None:
                whole, part = r.month.shown().savings_kwh, m.month.shown().savings_kwh
                share = part / whole if whole and math.isfinite(whole) and whole > 0 else math.nan
            label = t("of_which" if inside else "counted", lang, measure=m.name)
            rows.append([label, *_kwh(m.month, lang, m.unit), *_kwh(m.since_start, lang, m.unit),
                         fmt_percent(share, 0, lang)])
    sec.table(Table(cols, rows, col_widths=[3.2, 1, 1, 1.1, 1, 1]))
    tot = report_total(measures, results, "month")
    total, unc = fmt_number(tot.total_kwh, 0, lang), fmt_pm(tot.uncertainty_90_kwh, 0, lang)
    if not results:
        sec.text(t("total_line_measures", lang, month=month_label, total=total, unc=unc))
    else:
        sec.text(t("total_line", lang, month=month_label, total=total, unc=unc,
                   oc=fmt_number(tot.option_c.savings_kwh, 0, lang),
                   alone=fmt_number(tot.standalone_measures.savings_kwh, 0, lang)
                   if tot.standalone_measures.sites_total else "0"))
    for line in _other_unit(outside_option_c(measures, results), month_label, lang):
        sec.text(line)
    return sec


def report_total(measures: list[MeasureResult], results: list[SiteResult], key: str = "month") -> MunicipalityTotal:
    """The report's "Kommunen i alt" for the period ``key`` (month, ytd, since_start): the Option C buildings' savings
    and the measures outside Option C, none counted twice (:func:`~energimon.analytics.esco.measures.
    municipality_total`).  The one owner of the figure: the measures' overview and page 1 print it.  Of the buildings
    it sums those the portfolio sums, in kWh: a natural-gas or water contract's m³ stand on its own page; so do a
    natural-gas measure's (:func:`in_kwh`)."""
    option_c = {r.site: r.carrier for r in results}
    periods = [p for r in results if unit_of(r.carrier) == "kWh" and (p := getattr(r, key)) is not None]
    return municipality_total(periods, [m for m in measures if in_kwh(m)], option_c, key)


def outside_option_c(measures: list[MeasureResult], results: list[SiteResult]) -> list[MeasureResult]:
    """The measures whose saving is in no Option C figure of the report (their building has no Option C contract on
    their carrier): they count beside the buildings in the municipality's total."""
    option_c = {r.site: r.carrier for r in results}
    return [m for m in measures if not contained_in_option_c(m, option_c)]


def _count(key: str, n: int, lang: str) -> str:
    return t(f"{key}_one", lang) if n == 1 else t(f"{key}_many", lang, n=n)


def outside_option_c_summary(measures: list[MeasureResult], results: list[SiteResult], month: dt.date,
                             option_c_start: str, lang: str) -> tuple[list[str], str]:
    """Page 1 of a report with Option C buildings and measures outside them: the paragraph after the buildings'
    month (the measures outside Option C, then the municipality's total of :func:`report_total` — the overview's
    figure — with what it holds), and the sentence that says where "since start" begins for each part
    (``option_c_start``: the contract's measure date in words).  Nothing without such measures: then the buildings'
    figures are the municipality's."""
    outside = outside_option_c(measures, results)
    if not outside or not results:
        return [], ""
    alone = [m for m in outside if in_kwh(m)]  # the ones the total sums; the m³ ones are named after it
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    mname = month_name(month.year, month.month, lang)
    tot = report_total(measures, results, "month")
    part = tot.standalone_measures
    what = dict(measures=_count("n_measures", len(alone), lang),
                buildings=_count("n_buildings", len(dict.fromkeys(m.site for m in alone)), lang), month=mname)
    lines: list[str] = []
    if part.sites_included:
        lines = [t("sum_outside", lang, savings=f0(part.savings_kwh), unc=fmt_pm(part.uncertainty_90_kwh, 0, lang),
                   **what)]
        if part.sites_included < part.sites_total:
            lines.append(t("sum_partial", lang, k=part.sites_included, n=part.sites_total))
    elif alone:
        lines = [t("sum_outside_none", lang, **what)]
    lines.append(t("sum_total", lang, month=mname, total=f0(tot.total_kwh),
                   unc=fmt_pm(tot.uncertainty_90_kwh, 0, lang)))
    lines += _other_unit(outside, mname, lang)
    return lines, t("sum_since_parts", lang, date=option_c_start)


def outside_option_c_rows(measures: list[MeasureResult], results: list[SiteResult], names: dict[str, str],
                          lang: str) -> list[tuple[str, str, str]]:
    """Page 1's table rows of the measures outside Option C, beside the buildings: (what it is, the month's kWh, the
    verdict since start in words)."""
    out = []
    for m in outside_option_c(measures, results) if results else []:
        s = m.since_start
        verdict = savings_verdict_code(s.savings_kwh, s.uncertainty_90_kwh) if s is not None and s.status == "ok" \
            else "no_data"
        out.append((t("sum_row", lang, site=names.get(m.site, m.site), measure=m.name), _kwh(m.month, lang, m.unit)[0],
                    ABOUT[f"verdict_{verdict}"][lang]))
    return out


def summary_section(measures: list[MeasureResult], names: dict[str, str], month: dt.date, cutoff: dt.date,
                    lang: str) -> Section:
    """Page 1 of a report whose buildings have no Option C contract (``--site`` of a building with measures only, or
    a contract of measures only): what the measures saved in the month and since their start, whether that holds at
    90 %, their guarantees and the measures side by side.  Every measure counts here: none lies inside an Option C
    figure.  Only kWh: the measures are not priced (no kr.), as on their own pages."""
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    mname = month_name(month.year, month.month, lang)
    sec = Section(tr("summary", lang))
    if cutoff < next_month(month):
        sec.text(preliminary_text(month, cutoff, lang))
    sec.text(t("sum_intro", lang))
    summed = [m for m in measures if in_kwh(m)]  # kWh only: a natural-gas measure's m³ are named, not added
    n = len(summed)
    what = t("sum_what_one", lang) if n == 1 else t("sum_what_many", lang, n=n)
    tm = portfolio_total([m.month for m in summed if m.month is not None])
    if tm.sites_included:
        sec.text(t("sum_month", lang, month=mname, what=what, savings=f0(tm.savings_kwh),
                   unc=fmt_pm(tm.uncertainty_90_kwh, 0, lang)))
        if tm.sites_included < n:
            sec.text(t("sum_partial", lang, k=tm.sites_included, n=n))
    else:
        sec.text(t("sum_month_none", lang, month=mname))
    ts = portfolio_total([m.since_start for m in summed if m.since_start is not None])
    if ts.sites_included:
        sec.text(t("sum_since", lang, savings=f0(ts.savings_kwh), unc=fmt_pm(ts.uncertainty_90_kwh, 0, lang)))
    for line in _other_unit(measures, mname, lang):
        sec.text(line)
    for m in measures:
        g = m.guarantee
        if g is not None:
            sec.text(in_unit(t("sum_guarantee", lang, name=m.name, g=f0(g.ledger.guarantee_kwh_per_year),
                               due=f0(g.ledger.guarantee_to_date_kwh), real=f0(g.ledger.realised_kwh),
                               verdict=t(f"g_{g.code}", lang)), m.unit))
    sec.text("")
    code = savings_verdict_code(ts.savings_kwh, ts.uncertainty_90_kwh)
    low, high = f0(ts.savings_kwh - ts.uncertainty_90_kwh), f0(ts.savings_kwh + ts.uncertainty_90_kwh)
    holds = t("sum_increase", lang, savings=f0(ts.savings_kwh), low=low, high=high) if code == "increase" else \
        tr(f"sum_{code}", lang, savings=f0(ts.savings_kwh), low=low, high=high)
    sec.term(tr("sum_holds", lang), holds)
    weak = [m.name for m in measures if m.verdict is not None and not m.verdict.model_ok]
    if weak:
        sec.text(t("sum_model_warning", lang, names=", ".join(weak)))
    sec.text("")
    rows = []
    for m in measures:
        s = m.since_start
        verdict = savings_verdict_code(s.savings_kwh, s.uncertainty_90_kwh) if s is not None and s.status == "ok" \
            else "no_data"
        rows.append([m.name, names.get(m.site, m.site), *_kwh(m.month, lang, m.unit), _kwh(s, lang, m.unit)[0],
                     ABOUT[f"verdict_{verdict}"][lang]])
    sec.table(Table([t("measure", lang), tr("site", lang), t("month_kwh", lang), tr("unc90", lang),
                     t("since_kwh", lang), tr("sum_col_verdict", lang)], rows, title=t("sum_table", lang, month=mname),
                    col_widths=[2.4, 1.8, 1, 1, 1.1, 1.3]))
    sec.text(t("sum_footnote", lang))
    return sec


def measure_section(m: MeasureResult, inside: bool, lang: str) -> Section:
    """One measure's figures, printed after its building's page (no page break of its own: the caller starts a page
    for a building's first measure), every amount in its carrier's unit (kWh; m³ for natural gas)."""
    return section_in_unit(_measure_section_kwh(m, inside, lang), m.unit)


def _measure_section_kwh(m: MeasureResult, inside: bool, lang: str) -> Section:
    sec = Section(t("detail", lang, name=m.name), new_page=False)
    carrier = CARRIERS[m.carrier].name(lang)
    sec.text(t("detail_rule_in", lang) if inside else t("detail_rule_alone", lang, carrier=carrier) if in_kwh(m)
             else t("detail_rule_other_unit", lang, carrier=carrier, unit=m.unit))
    last = m.baseline_end.toordinal() - 1
    sec.text(t("dates", lang, installed=m.installed.isoformat(), b0=m.baseline_start.isoformat(),
               b1=type(m.baseline_end).fromordinal(last).isoformat(), r0=m.reporting_start.isoformat()))
    if m.model is None or m.month is None:
        sec.text(t("no_result", lang, why=m.error))
        return sec
    cols = [tr("period", lang), tr("days", lang), tr("adj_baseline", lang), tr("actual", lang), tr("savings", lang),
            tr("unc68", lang), tr("unc90", lang)]
    rows = []
    for key, raw in (("month", m.month), ("ytd", m.ytd), ("since_start", m.since_start)):
        if raw is None:
            continue
        p = raw.shown()
        rows.append([tr(key, lang), f"{p.m}/{p.points}", fmt_number(p.adjusted_baseline_kwh, 0, lang),
                     fmt_number(p.actual_kwh, 0, lang), fmt_number(p.savings_kwh, 0, lang),
                     fmt_pm(p.uncertainty_68_kwh, 0, lang), fmt_pm(p.uncertainty_90_kwh, 0, lang)])
        if raw.status != "ok":
            sec.text(t("period_status", lang, period=tr(key, lang), m=raw.m, n=raw.points))
    sec.table(Table(cols, rows, col_widths=[1.6, 0.9, 1.3, 1.2, 1.2, 1.1, 1.1]))
    model = m.model
    if isinstance(model, OperatingHoursModel):
        src = t("schedule", lang) if m.regressor_note == "schedule" else m.regressor_note
        sec.text(t("model_hours", lang, k=fmt_number(model.kwh_per_hour, 2, lang), src=src))
    elif model.kind == "intercept_only" and m.model_kind == "constant":
        sec.text(t("model_constant", lang, mu=fmt_number(model.intercept_kwh_per_day, 1, lang)))
    else:
        terms = "" if model.heating_balance_c is None else t(
            "dd_term", lang, b=fmt_number(model.beta_hdd_kwh_per_k_day, 2, lang),
            t=fmt_number(model.heating_balance_c, 1, lang))
        sec.text(t("model_dd", lang, mu=fmt_number(model.intercept_kwh_per_day, 1, lang), terms=terms))
    st = model.stats
    if st is not None:
        sec.text(t("stats", lang, n=fmt_number(st.n, 0, lang), cv=fmt_percent(st.cv_rmse, 1, lang),
                   nmbe=fmt_percent(st.nmbe, 2, lang), r2=fmt_number(st.r2, 2, lang), rho=fmt_number(st.rho, 2, lang)))
    v = m.verdict
    if v is None:
        sec.text(tr("g14_none", lang))
    else:
        cv, nmbe = fmt_percent(m.cvrmse_max, 0, lang), fmt_percent(m.nmbe_max, 1, lang)
        if v.ok:
            sec.text(tr("g14_pass", lang, cv=cv, nmbe=nmbe))
        else:
            failed = [c for c in v.failed if c.name != "fsu"]
            sec.text(tr("g14_model_fail", lang, why="; ".join(_limit(c, lang) for c in failed)) if failed
                     else tr("g14_model_ok", lang, cv=cv, nmbe=nmbe))
            s, u = fmt_number(v.savings_kwh, 0, lang), fmt_pm(v.uncertainty_90_kwh, 0, lang)
            sec.text(tr("verdict_imprecise", lang, s=s, u=u, why=_limit(v.fsu, lang))
                     if v.savings == "demonstrated" and not v.fsu.ok else tr(f"verdict_{v.savings}", lang, s=s, u=u))
        if m.since_start is not None and m.since_start.status == "ok":
            sec.text(t("fsu", lang, fsu=fmt_percent(m.since_start.fsu_90, 0, lang)))
    g = m.guarantee
    if g is not None:
        sec.text(t("guarantee", lang, g=fmt_number(g.ledger.guarantee_kwh_per_year, 0, lang),
                   due=fmt_number(g.ledger.guarantee_to_date_kwh, 0, lang),
                   real=fmt_number(g.ledger.realised_kwh, 0, lang), unc=fmt_pm(g.uncertainty_90_kwh, 0, lang),
                   verdict=t(f"g_{g.code}", lang)))
    return sec


def _limit(c, lang: str) -> str:
    if c.name == "cvrmse":
        return tr("limit_cvrmse", lang, value=fmt_percent(c.value, 1, lang), limit=fmt_percent(c.limit, 0, lang))
    if c.name == "nmbe":
        return tr("limit_nmbe", lang, value=fmt_percent(abs(c.value), 2, lang), limit=fmt_percent(c.limit, 1, lang))
    return tr("limit_fsu", lang, value=fmt_percent(c.value, 0, lang), limit=fmt_percent(c.limit, 0, lang))


def add_measures(report: Report, measures: list[MeasureResult], results: list[SiteResult], names: dict[str, str],
                 month_label: str, lang: str) -> None:
    """Insert the overview after the portfolio page and each measure's section after its building's page (the
    buildings without an Option C page get theirs after the overview)."""
    if not measures:
        return
    option_c = {r.site: r.carrier for r in results}
    portfolio = tr("portfolio", lang)
    at = next((k + 1 for k, s in enumerate(report.sections) if s.heading == portfolio), len(report.sections))
    report.sections.insert(at, overview_section(measures, results, names, month_label, lang))
    alone: list[Section] = []
    for site in dict.fromkeys(m.site for m in measures):
        secs = [measure_section(m, contained_in_option_c(m, option_c), lang) for m in measures if m.site == site]
        heading = next((r.name for r in results if r.site == site), None)
        k = next((i for i, s in enumerate(report.sections) if heading is not None and s.heading == heading), None)
        if k is None:  # no Option C page: after the overview
            alone += secs
        else:  # right after the building's page, the first on a page of its own (a heading never left alone at a
            secs[0].new_page = True  # page's foot); the building's further measures follow on
            report.sections[k + 1:k + 1] = secs
    if alone:
        alone[0].new_page = True
        report.sections[at + 1:at + 1] = alone


CSV_HEADER = ["site", "measure_id", "measure_name", "period", "label", "points", "points_with_data",
              "adjusted_baseline_kwh", "actual_kwh", "savings_kwh", "uncertainty_68_kwh", "uncertainty_90_kwh",
              "start", "end", "status", "in_option_c", "verdict", "guarantee_verdict", "unit"]
"""One row per measure and period (month, ytd, since_start).  ``in_option_c`` is 1 when the measure's saving is a
part of its building's Option C saving ("heraf": never add it to the building's or the portfolio's figure), 0 when
the building has no Option C contract on its carrier (then it counts in the municipality's total).  ``verdict``:
what the saving since start shows at 90 % (savings.savings_verdict_code), ``guarantee_verdict``:
measures.GUARANTEE_CODES.  ``unit``: the unit of the row's amounts — kWh, or m³ for a natural-gas measure, whose
"…_kwh" columns are m³ (as in the Option C CSV)."""


def measure_csv_rows(measures: list[MeasureResult], results: list[SiteResult]) -> list[list]:
    """The rows of :data:`CSV_HEADER` (amounts empty where a period has too few measured days)."""
    option_c = {r.site: r.carrier for r in results}
    out: list[list] = []
    for m in measures:
        for key in ("month", "ytd", "since_start"):
            raw = getattr(m, key)
            if raw is None:
                out.append([m.site, m.id, m.name, key, "", 0, 0, math.nan, math.nan, math.nan, math.nan, math.nan,
                            None, None, "no_data", int(contained_in_option_c(m, option_c)), "", "", m.unit])
                continue
            p = raw.shown()
            out.append([m.site, m.id, m.name, key, p.label, p.points, p.m, p.adjusted_baseline_kwh, p.actual_kwh,
                        p.savings_kwh, p.uncertainty_68_kwh, p.uncertainty_90_kwh, p.start, p.end, raw.status,
                        int(contained_in_option_c(m, option_c)), m.verdict.savings if m.verdict else "",
                        m.guarantee.code if m.guarantee else "", m.unit])
    return out


def console_lines(measures: list[MeasureResult], results: list[SiteResult], month: dt.date, lang: str) -> list[str]:
    """One line per measure for the terminal: its month's saving and whether it is a part of its building's."""
    option_c = {r.site: r.carrier for r in results}
    out = []
    for m in measures:
        where = f"{m.site}/{m.id}"
        if m.month is None:
            out.append(f"{where}: {t('no_result', lang, why=m.error)}")
            continue
        s, u = _kwh(m.month, lang)
        part = t("console_in" if contained_in_option_c(m, option_c) else "console_alone", lang)
        out.append(in_unit(t("console", lang, where=where, s=s, u=u, month=f"{month:%Y-%m}", part=part), m.unit))
    return out


XLSX_FORMATS = {"points": xlsx_out.INT, "points_with_data": xlsx_out.INT, "adjusted_baseline_kwh": xlsx_out.KWH,
                "actual_kwh": xlsx_out.KWH, "savings_kwh": xlsx_out.KWH, "uncertainty_68_kwh": xlsx_out.KWH,
                "uncertainty_90_kwh": xlsx_out.KWH, "start": xlsx_out.DATE, "end": xlsx_out.DATE,
                "in_option_c": xlsx_out.INT}


def measure_sheet(measures: list[MeasureResult], results: list[SiteResult], lang: str) -> xlsx_out.Sheet:
    """The workbook's sheet of the measures: the CSV's rows under the headers of the report's language."""
    return xlsx_out.Sheet(TEXTS["sheet"][lang], [header_label(k, lang) for k in CSV_HEADER],
                          measure_csv_rows(measures, results), [XLSX_FORMATS.get(k) for k in CSV_HEADER])
