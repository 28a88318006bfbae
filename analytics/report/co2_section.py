"""The report's CO₂ account section: all consumption's CO₂ per building beside the avoided CO₂.

Renders accounts computed by :func:`energimon.analytics.co2.co2_accounts`; computes nothing itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from energimon import carriers
from energimon.analytics.co2 import Co2Account
from energimon.analytics.esco.evaluation import SiteResult
from energimon.analytics.esco.settings import EscoSettings
from energimon.analytics.report.document import Section, Table
from energimon.analytics.report.numbers import fmt_number

COLUMNS = {"da": ["Bygning", "Forbrug kWh", "CO₂ kg", "g/kWh", "Metode", "Dækning", "Undgået CO₂ kg"],
           "en": ["Building", "Use kWh", "CO₂ kg", "g/kWh", "Method", "Coverage", "Avoided CO₂ kg"]}

TEXT: dict[str, dict[str, str]] = {
    "heading": {"da": "CO₂-regnskab for alt forbrug", "en": "CO₂ account of all consumption"},
    "intro": {"da": "Udledningen fra hele månedens forbrug, ved siden af den undgåede udledning fra besparelsen. "
                    "El: time for time, forbrug fra nettet × nettets CO₂-intensitet i timen ({series}, Energinet, "
                    "Energi Data Service CO2Emis; lokationsbaseret, GHG Protocol Scope 2). Fjernvarme og el uden "
                    "timeintensitet: kontraktens deklarerede faktor. Timer uden forbrug eller intensitet indgår "
                    "ikke og er talt med i dækningen.",
              "en": "Emissions of the month's whole consumption, beside the emissions avoided by the savings. "
                    "Electricity: hour by hour, grid import × the grid's CO₂ intensity in that hour ({series}, "
                    "Energinet, Energi Data Service CO2Emis; location-based, GHG Protocol Scope 2). District "
                    "heating and electricity without an hourly intensity: the contract's declared factor. Hours "
                    "without consumption or intensity are left out and shown in the coverage."},
    "hourly": {"da": "time for time", "en": "hourly"},
    "declared": {"da": "faktor {year}", "en": "factor {year}"},
    "none": {"da": "ingen faktor", "en": "no factor"},
    "total": {"da": "I alt", "en": "Total"},
}


def _t(key: str, lang: str) -> str:
    return TEXT[key][lang if lang in ("da", "en") else "da"]


def _columns(lang: str) -> list[str]:
    return list(COLUMNS[lang if lang in ("da", "en") else "da"])


def co2_section(accounts: list[Co2Account], esco: EscoSettings, results: list[SiteResult], names: dict[str, str],
                lang: str = "da", avoided_kg: Callable[[SiteResult], float] | None = None
                ) -> tuple[Section, list[list[object]]] | None:
    """The report's section and CSV rows (site, carrier, method, kWh, kg, periods, counted, avoided kg, unit), or None
    when the contract has no ``co2_intensity`` (the report then stays as it was).  ``accounts``: one per result,
    in the same order."""
    if not esco.co2_intensity:
        return None
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    rows: list[list[str]] = []
    csv_rows: list[list[object]] = []
    tot_kwh = tot_kg = tot_kg_kwh = tot_avoided = 0.0
    for r, acc in zip(results, accounts, strict=True):
        avoided = avoided_kg(r) if avoided_kg is not None and r.month else math.nan
        method = (_t("hourly", lang) if acc.method == "hourly" else
                  _t("declared", lang).format(year=acc.factor_year) if acc.method == "declared" else _t("none", lang))
        unit = carriers.unit_of(acc.carrier)
        kwh = unit == "kWh"  # natural gas is accounted in m³ (kg CO₂ per m³): named, not in the kWh total
        rows.append([names.get(r.site, r.site), f0(acc.kwh) if kwh else f"{f0(acc.kwh)} {unit}", f0(acc.kg),
                     f0(acc.g_per_kwh) if kwh else f"{f0(acc.g_per_kwh)} g/{unit}", method,
                     f"{acc.periods_counted}/{acc.periods}", f0(avoided)])
        csv_rows.append([r.site, acc.carrier, acc.method, acc.kwh, acc.kg, acc.periods, acc.periods_counted, avoided,
                         unit])
        tot_kwh += acc.kwh if kwh else 0.0
        tot_kg_kwh += acc.kg if kwh and math.isfinite(acc.kg) else 0.0
        tot_kg += acc.kg if math.isfinite(acc.kg) else 0.0
        tot_avoided += avoided if math.isfinite(avoided) else 0.0
    rows.append([_t("total", lang), f0(tot_kwh), f0(tot_kg),
                 f0(tot_kg_kwh * 1000 / tot_kwh if tot_kwh else math.nan), "", "", f0(tot_avoided)])
    sec = Section(_t("heading", lang), new_page=False)
    sec.text(_t("intro", lang).format(series=esco.co2_intensity))
    sec.table(Table(_columns(lang), rows, bold_last_row=True, col_widths=[2.2, 1, 1, 0.7, 1.1, 0.8, 1.1]))
    return sec, csv_rows


CSV_HEADER = ["site", "carrier", "method", "kwh", "co2_kg", "periods", "periods_counted", "avoided_co2_kg", "unit"]
"""``kwh`` is in the row's ``unit``: kWh, or m³ for natural gas (its CO₂ factor is per m³)."""
