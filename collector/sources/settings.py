"""``[sources]``: the live data sources and what they share (the state file, backfill, re-fetch window).

Each source declares its own settings next to its code (``eloverblik/settings.py``,
``energidataservice/settings.py``, ``dmi/settings.py``); this model only assembles them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from energimon.collector.sources.dmi.settings import DmiSettings
from energimon.collector.sources.eloverblik.settings import EloverblikSettings
from energimon.collector.sources.energidataservice.settings import EnergiDataServiceSettings


class SourcesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    state_path: Path | None = Field(default=None, description="the sources' state file (default: sources.db in "
                                                              "the spool's folder)")
    backfill_days: int = Field(default=1095, ge=1, le=3660, description="first run: fetch this many days back "
                                                                         "(3 years: a baseline year and more)")
    revision_days: int = Field(default=30, ge=0, le=730, description="every run asks again for the last N days "
                                                                       "before the watermark: late values and "
                                                                       "DataHub corrections")
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="per HTTP request")
    max_retries: int = Field(default=5, ge=0, le=20, description="per request, on 429/5xx/cut-off bodies")
    max_wait_s: float = Field(default=300.0, ge=1, le=3600, description="longest Retry-After honoured within a "
                                                                         "run; longer: the next run tries again")
    eloverblik: EloverblikSettings | None = None
    energidataservice: EnergiDataServiceSettings | None = None
    dmi: DmiSettings | None = None

    def configured(self) -> list[str]:
        return [name for name in ("eloverblik", "energidataservice", "dmi") if getattr(self, name) is not None]


def cross_check_sources(sources: SourcesSettings | None, sites: set[str]) -> list[tuple[str, str]]:
    """Problems spanning keys: unknown sites, a metering point or site listed twice, series collisions."""
    if sources is None:
        return []
    problems: list[tuple[str, str]] = []
    known = ", ".join(sorted(sites)) or "none"
    targets: dict[tuple[str, str, str], str] = {}

    def claim(where: str, key: tuple[str, str, str]) -> None:
        if key in targets:
            problems.append((where, f"series {'/'.join(key)} is already filled by {targets[key]}"))
        targets.setdefault(key, where)

    if sources.eloverblik is not None:
        seen: set[str] = set()
        for i, mp in enumerate(sources.eloverblik.metering_points):
            where = f"sources.eloverblik.metering_points[{i}] (id {mp.id!r})"
            if mp.site not in sites:
                problems.append((f"{where}.site", f"unknown site {mp.site!r}; known sites: {known}"))
            if mp.id in seen:
                problems.append((f"{where}.id", "metering point listed twice"))
            seen.add(mp.id)
            claim(where, (mp.site, mp.device, mp.channel))
    if sources.dmi is not None:
        seen_sites: set[str] = set()
        for i, st in enumerate(sources.dmi.stations):
            where = f"sources.dmi.stations[{i}] (site {st.site!r})"
            if st.site not in sites:
                problems.append((f"{where}.site", f"unknown site {st.site!r}; known sites: {known}"))
            if st.site in seen_sites:
                problems.append((f"{where}.site", "site listed twice (one outdoor temperature per site)"))
            seen_sites.add(st.site)
            claim(where, (st.site, st.device, "outdoor_temp_c"))
            if sources.dmi.climate_data:
                claim(where, (st.site, st.device, "outdoor_temp_day_mean_c"))
    return problems
