"""Solar yield against consumption: IEC 61724-1 KPIs, self-consumption, expected yield (pvlib).

* :mod:`~energimon.analytics.solar.kpis` — pure functions and the per-hour/day/month KPI frames
  computed from the site balance of energy counters (import, export, PV; :mod:`energimon.store.energy`);
* :mod:`~energimon.analytics.solar.expected` — the pvlib clear-sky envelope per array and hour.

The monthly report built from them (``energimon report solar``) is
:mod:`energimon.analytics.report.solar_report`.
"""
