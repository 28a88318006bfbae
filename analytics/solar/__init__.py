"""Solar yield against consumption: IEC 61724-1 KPIs, self-consumption, expected yield (pvlib), report.

* :mod:`~energimon.analytics.solar.kpis` — pure functions and the per-hour/day/month KPI frames
  computed from energy counters (import, export, PV);
* :mod:`~energimon.analytics.solar.expected` — the pvlib clear-sky envelope per array and hour;
* :mod:`~energimon.analytics.solar.report` — ``energimon report solar`` (PDF + CSV) on the shared
  report pipeline (:mod:`energimon.analytics.report`).
"""
