"""The report's district heating and water section: per building with a heat meter the month's heat, its
volume-weighted cooling against the utility's requirement and its heat signature; with a water meter the
month's m³ and the nights with a suspected leak.

Lays out what :func:`energimon.analytics.district_heating.month_heat` and
:func:`energimon.analytics.water.month_water` computed; computes nothing itself.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from energimon.analytics.district_heating import BASE_FROM_C, HeatMonth
from energimon.analytics.report.document import Chart, Section, Table
from energimon.analytics.report.numbers import fmt_number
from energimon.analytics.water import WaterMonth

TEXT: dict[str, dict[str, str]] = {
    "heading": {"da": "Fjernvarme og vand", "en": "District heating and water"},
    "intro": {"da": "Afkøling: forskellen mellem frem- og returløbstemperatur, vægtet med vandmængden time for time "
                    "(ΔT = Σ V·(T_frem − T_retur) / Σ V), som værkerne afregner den (HOFOR: MWh / m³ × 860). "
                    "Timer uden kendt vandmængde eller temperatur indgår ikke; en dag med for lidt vand bedømmes "
                    "ikke. Energisignatur: døgnets middeleffekt mod døgnets middeludetemperatur, en ret linje "
                    "gennem fyringsdagene (under {below} °C) for de seneste 12 måneder; varmegrænsen er hvor "
                    "linjen når grundlasten (varmt brugsvand).",
              "en": "Cooling: the difference between supply and return temperature, weighted by the volume hour by "
                    "hour (ΔT = Σ V·(T_supply − T_return) / Σ V), as utilities bill it (HOFOR: MWh / m³ × 860). "
                    "Hours without a known volume or temperature are left out; a day with too little water is not "
                    "judged. Heat signature: the day's mean power against its mean outdoor temperature, a straight "
                    "line through the heating days (below {below} °C) of the last 12 months; the heating limit "
                    "is where the line meets the base load (hot water)."},
    "heat_title": {"da": "Fjernvarme", "en": "District heating"},
    "water_title": {"da": "Vand", "en": "Water"},
    "chart": {"da": "Energisignatur {name}: døgnets kW mod udetemperatur", "en": "Heat signature {name}: daily kW "
                                                                                  "against outdoor temperature"},
    "signature": {"da": "{name}: varmetab {slope} kW/K, varmegrænse {limit} °C, grundlast {base} kW, R² {r2} "
                        "({days} fyringsdage).",
                  "en": "{name}: heat loss {slope} kW/K, heating limit {limit} °C, base load {base} kW, R² {r2} "
                        "({days} heating days)."},
    "no_base": {"da": "{name}: varmetab {slope} kW/K, varmegrænse {limit} °C (hvor linjen når 0 kW: ingen dage over "
                      "{base_from} °C at måle grundlasten på), R² {r2} ({days} fyringsdage).",
                "en": "{name}: heat loss {slope} kW/K, heating limit {limit} °C (where the line reaches 0 kW: no days "
                      "above {base_from} °C to measure the base load on), R² {r2} ({days} heating days)."},
    "no_signature": {"da": "{name}: for få fyringsdage med udetemperatur til en energisignatur.",
                     "en": "{name}: too few heating days with an outdoor temperature for a heat signature."},
    "leak_dates": {"da": "{name}: mistanke om lækage nætterne til {dates} (laveste timeflow over {limit} m³/h).",
                   "en": "{name}: leak suspected in the nights to {dates} (lowest hourly flow above {limit} m³/h)."},
}
HEAT_COLUMNS = {"da": ["Bygning", "Måler", "Varme kWh", "Dage", "Afkøling K", "Krav K", "Dage under krav"],
                "en": ["Building", "Meter", "Heat kWh", "Days", "Cooling K", "Required K", "Days below"]}
WATER_COLUMNS = {"da": ["Bygning", "Måler", "Vand m³", "Dage", "Nætter med mistanke om lækage"],
                 "en": ["Building", "Meter", "Water m³", "Days", "Nights with suspected leak"]}


def _t(key: str, lang: str) -> str:
    return TEXT[key][lang if lang in ("da", "en") else "da"]


def _draw_signature(ax, temp_c: np.ndarray, kw: np.ndarray, in_month: np.ndarray, line: tuple[float, float] | None,
                    lang: str) -> None:
    """A drawing function of plain arrays (a partial of it travels to the workers that render report parts)."""
    ax.scatter(temp_c[~in_month], kw[~in_month], s=6, color="#9bb7d4", label="12 mdr." if lang == "da" else "12 mo.")
    ax.scatter(temp_c[in_month], kw[in_month], s=9, color="#2f6b3a", label="måned" if lang == "da" else "month")
    if line is not None:
        a, b = line
        xs = np.array([float(np.nanmin(temp_c)), float(np.nanmax(temp_c))])
        ax.plot(xs, np.maximum(a + b * xs, 0.0), color="#c0392b", linewidth=1.0)
    ax.set_xlabel("°C", fontsize=7)
    ax.set_ylabel("kW", fontsize=7)
    ax.yaxis.set_major_formatter(lambda v, _pos: fmt_number(v, 0, lang))
    ax.grid(linewidth=0.3)
    ax.legend(fontsize=7, loc="upper right")


def heat_water_section(heat: list[HeatMonth], water: list[WaterMonth], names: dict[str, str],
                       meters: dict[tuple[str, str], str], lang: str = "da") -> Section | None:
    """The section, or None when no reported building has a heat or water meter.  ``names``: site → building
    name; ``meters``: (site, device) → the meter's display name."""
    if not heat and not water:
        return None
    f0 = lambda x: fmt_number(x, 0, lang)  # noqa: E731
    f1 = lambda x: fmt_number(x, 1, lang)  # noqa: E731
    sec = Section(_t("heading", lang))
    sec.text(_t("intro", lang).format(below=f0(15)))
    for h in heat:
        name = f"{names.get(h.site, h.site)} · {meters.get((h.site, h.device), h.device)}"
        hrows = [[names.get(h.site, h.site), meters.get((h.site, h.device), h.device), f0(h.heat_kwh),
                  f"{h.days_known}/{h.days}", f1(h.delta_t_vw_k), f1(h.required_k),
                  f"{h.days_below}/{h.days_judged}"]]
        sec.table(Table(list(HEAT_COLUMNS[lang if lang in HEAT_COLUMNS else "da"]), hrows,
                        title=_t("heat_title", lang), col_widths=[1.8, 1.6, 1, 0.7, 0.9, 0.8, 1.1]))
        s = h.signature
        if s is None:
            sec.text(_t("no_signature", lang).format(name=name))
            continue
        sec.text(_t("signature" if s.base_days else "no_base", lang).format(
            name=name, slope=fmt_number(s.slope_kw_per_k, 2, lang), limit=f1(s.heating_limit_c), base=f1(s.base_kw),
            r2=fmt_number(s.r2, 2, lang), days=f0(s.days), base_from=f0(BASE_FROM_C)))
        p = h.signature_points
        draw = partial(_draw_signature, temp_c=p["temp_c"].to_numpy(dtype=float), kw=p["kw"].to_numpy(dtype=float),
                       in_month=p["month"].to_numpy(dtype=bool), line=(s.intercept_kw, -s.slope_kw_per_k), lang=lang)
        sec.chart(Chart(draw, _t("chart", lang).format(name=name), 0.2))
    if water:
        wrows = [[names.get(w.site, w.site), meters.get((w.site, w.device), w.device), f1(w.volume_m3),
                  f"{w.days_known}/{w.days}", f"{len(w.leak_nights)}/{w.nights_judged}"] for w in water]
        sec.table(Table(list(WATER_COLUMNS[lang if lang in WATER_COLUMNS else "da"]), wrows,
                        title=_t("water_title", lang), col_widths=[1.8, 1.6, 1, 0.7, 2]))
        for w in water:
            if w.leak_nights:
                dates = ", ".join(f"{d.day}.{d.month}." if lang == "da" else d.isoformat() for d in w.leak_nights)
                sec.text(_t("leak_dates", lang).format(name=meters.get((w.site, w.device), w.device), dates=dates,
                                                        limit=fmt_number(w.threshold_m3_h, 3, lang)))
    return sec
