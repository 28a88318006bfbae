"""The public barometer's view: the figures from :mod:`energimon.analytics.barometer`, cached for
``[web.barometer] cache_s`` and reduced to what is public (the buildings' public names and labels only)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from markupsafe import Markup

from energimon import carriers
from energimon.analytics.barometer import Barometer, compute_barometer, declared_factor, households
from energimon.model import SeriesKey
from energimon.web import charts


@dataclass(frozen=True)
class BarometerView:
    b: Barometer
    chart: Markup
    this_year: object  # YearCo2
    households_pv_year: float
    sites: list[tuple[str, str | None]]  # public name, energy label
    factor_notes: list[str]

    def __getattr__(self, name):
        return getattr(self.b, name)


def _factor(st):
    cfg = st.web.barometer
    esco = st.settings.esco

    def factor(carrier: str, year: int):
        f = declared_factor(carrier, year, cfg, esco)
        return None if f is None else (f.year, f.kg_per_unit, f.source)

    return factor


def compute_view(st) -> BarometerView:
    cfg = st.web.barometer
    sites = list(cfg.sites) or list(st.settings.sites)
    esco = st.settings.esco
    intensity = cfg.co2_intensity or (getattr(esco, "co2_intensity", None) if esco is not None else None)
    b = compute_barometer(st.store(), sites, baseline_year=cfg.baseline_year, target_year=cfg.target_year,
                          reduction_pct=cfg.target_reduction_pct, factor=_factor(st),
                          baseline_t=cfg.baseline_t_co2, baseline_source=cfg.baseline_source, now=st.clock(),
                          intensity=SeriesKey(*intensity.split("/")) if intensity else None)
    # the chart: baseline year .. target year; measured bars, the path as a dashed line
    years = list(range(cfg.baseline_year, cfg.target_year + 1))
    by = {y.year: y for y in b.years}
    values = [by[y].t_co2 if y in by else math.nan for y in years]
    path = [by[y].target_t if y in by else
            (b.baseline_t * (1 - cfg.target_reduction_pct / 100 * (y - cfg.baseline_year) /
                             (cfg.target_year - cfg.baseline_year)) if math.isfinite(b.baseline_t) else math.nan)
            for y in years]
    chart = charts.bar_chart([str(y) for y in years], values, "Udledning af CO₂ pr. år og vejen til målet",
                             "ton CO₂", chart_id="co2", line=path,
                             line_label=f"mål: −{cfg.target_reduction_pct:g} %",
                             highlight_last=False)
    notes = []
    for y in b.years:
        for carrier, (fy, kg, src) in sorted(y.factors.items()):
            if src.startswith("timevis"):
                note = f"{carriers.carrier(carrier).da} {fy}: time for time med elnettets CO₂-intensitet " \
                       f"(Energinet), {kg * 1000:.0f} g CO₂/kWh i gennemsnit"
            else:
                note = f"{carriers.carrier(carrier).da}: {kg * 1000:.0f} g CO₂/kWh ({fy}, {src})"
            if note not in notes:
                notes.append(note)
    this = b.years[-1] if b.years else None
    return BarometerView(b, chart, this, households(b.pv_year_kwh, cfg.household_kwh_per_year),
                         [(s.name, s.energy_mark) for s in cfg.sites.values()], notes)


def barometer_view(st) -> BarometerView:
    """The cached view (recomputed at most every ``cache_s`` seconds, by one request at a time)."""
    ttl = st.web.barometer.cache_s
    with st._barometer_lock:
        now = time.monotonic()
        if st._barometer is None or now - st._barometer[0] > ttl:
            st._barometer = (now, compute_view(st))
        return st._barometer[1]


def open_data_rows(v: BarometerView) -> list[dict]:
    """The open data: the same figures as the page, one row per year."""
    rows = []
    for y in v.b.years:
        rows.append({
            "aar": y.year,
            "delvist_aar": y.partial_year,
            "el_kwh": _r(y.kwh.get("electricity")),
            "fjernvarme_kwh": _r(y.kwh.get("district_heating")),
            "co2_ton": _r(y.t_co2, 2),
            "maalsti_co2_ton": _r(y.target_t, 2),
            "solceller_kwh": _r(y.pv_kwh),
            "komplet": y.complete,
            "el_metode": "timevis" if math.isfinite(y.hourly_share) else "årsfaktor",
            "co2_faktorer": "; ".join(f"{c}: {kg} kg/kWh ({fy}, {src})" for c, (fy, kg, src) in y.factors.items()),
        })
    return rows


def _r(x, nd: int = 0):
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd) if nd else round(float(x))
