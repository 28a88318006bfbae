"""The public barometer's view: the figures from :mod:`energimon.analytics.barometer`, cached for
``[web.barometer] cache_s`` and reduced to what is public (the buildings' public names and labels only)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from markupsafe import Markup

from energimon import carriers
from energimon.analytics.anomaly.sources import live_rule
from energimon.analytics.barometer import Barometer, YearCo2, compute_barometer, declared_factor_fn, households
from energimon.analytics.climate_account import Why
from energimon.model import SeriesKey
from energimon.web import charts
from energimon.web.app import fmt_num


@dataclass(frozen=True)
class BarometerView:
    b: Barometer
    chart: Markup
    this_year: YearCo2 | None
    households_pv_year: float
    sites: list[tuple[str, str | None]]  # public name, energy label
    factor_notes: list[str]
    incomplete: list[tuple[int, list[str]]]  # year -> why it is incomplete, in Danish
    has_gas: bool  # a public building has a gas meter: the page shows the natural gas column
    use_text: str  # what the intro says the buildings' CO₂ comes from: "forbrug af el og fjernvarme"

    def __getattr__(self, name):
        return getattr(self.b, name)


def _carrier_name(key: str) -> str:
    return "solceller" if key == "pv" else carriers.carrier(key).da


def why_text(w: Why) -> str:
    """Why a year is incomplete, for the public page and the open data (Danish, no site ids)."""
    kw = w.kw
    name = _carrier_name(str(kw.get("carrier", "")))
    if w.code == "no_reading":
        return f"{name}: en måler mangler en aflæsning ved årets start eller slut (eller blev nulstillet); " \
               "dens forbrug er ikke talt med"
    if w.code == "no_factor":
        return f"{name}: ingen CO₂-faktor for {kw.get('year')} eller før; CO₂ fra {name} er ikke talt med"
    if w.code == "no_calorific":
        return f"{name}: ingen brændværdi (kWh pr. m³) for året; forbruget i kWh kendes ikke"
    if w.code == "depends":
        unit = "m³" if kw.get("what") == "quantity" else "kWh"
        return f"{name}: CO₂ kan ikke regnes uden forbruget i {unit}; CO₂ fra {name} er ikke talt med"
    if w.code == "hourly_share":
        share = float(kw.get("share", math.nan))  # type: ignore[arg-type]
        return f"{name}: time for time kunne kun {fmt_num(share * 100, 0)} % af timerne tælles (CO₂-intensitet " \
               "eller forbrug mangler)"
    return f"{name}: {w.code}"


def compute_view(st) -> BarometerView:
    cfg = st.web.barometer
    sites = list(cfg.sites) or list(st.settings.sites)
    esco = st.settings.esco
    intensity = cfg.co2_intensity or (getattr(esco, "co2_intensity", None) if esco is not None else None)
    b = compute_barometer(st.store(), sites, baseline_year=cfg.baseline_year, target_year=cfg.target_year,
                          reduction_pct=cfg.target_reduction_pct, factor=declared_factor_fn(cfg, esco),
                          calorific=st.settings.carriers.calorific,
                          baseline_t=cfg.baseline_t_co2, baseline_source=cfg.baseline_source, now=st.clock(),
                          intensity=SeriesKey(*intensity.split("/")) if intensity else None,
                          # a live meter wins over its imported DataHub copy: the climate account's rule, built
                          # from the same configuration as `report climate` builds it
                          live=live_rule(st.settings, st.series()))
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
        for carrier, f in sorted(y.factors.items()):
            name = carriers.carrier(carrier).da
            if f.source.startswith("timevis"):
                note = f"{name} {f.year}: time for time med elnettets CO₂-intensitet " \
                       f"(Energinet), {f.kg * 1000:.0f} g CO₂/kWh i gennemsnit"
            elif f.per == "m³":
                note = f"{name}: {fmt_num(f.kg, 2)} kg CO₂/m³ ({f.year}, {f.source})"
            else:
                note = f"{name}: {f.kg * 1000:.0f} g CO₂/kWh ({f.year}, {f.source})"
            if note not in notes:
                notes.append(note)
        for kwh_per_m3, source in y.calorific:
            note = f"naturgas: {fmt_num(kwh_per_m3, 3)} kWh pr. m³ (brændværdi, {source})"
            if note not in notes:
                notes.append(note)
    this = b.years[-1] if b.years else None
    incomplete = [(y.year, [why_text(w) for w in y.why]) for y in b.years if not y.complete]
    has_gas = any(carriers.NATURAL_GAS.key in y.kwh for y in b.years)
    return BarometerView(b, chart, this, households(b.pv_year_kwh, cfg.household_kwh_per_year),
                         [(s.name, s.energy_mark) for s in cfg.sites.values()], notes, incomplete, has_gas,
                         use_text(b))


def use_text(b: Barometer) -> str:
    """The carriers the public buildings have counters of (a year's ``kwh`` holds exactly those), in Danish: the
    intro names what is counted, not natural gas for a municipality without it."""
    have = {k for y in b.years for k in y.kwh}
    names = [c.da for c in carriers.CARRIERS.values() if c.key in have]
    if not names:
        return "energiforbrug"
    return "forbrug af " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} og {names[-1]}")


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
            "co2_faktorer": "; ".join(f"{c}: {f.kg} kg/{f.per} ({f.year}, {f.source})" for c, f in y.factors.items()),
            # added after the first columns, so a reader of the old header still finds its columns in place
            "naturgas_m3": _r(y.m3.get(carriers.NATURAL_GAS.key)),
            "naturgas_kwh": _r(y.kwh.get(carriers.NATURAL_GAS.key)),
            "ufuldstaendig_fordi": "; ".join(why_text(w) for w in y.why),
        })
    return rows


def _r(x, nd: int = 0):
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), nd) if nd else round(float(x))
