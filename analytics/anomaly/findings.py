"""What a rule reports: a :class:`Finding` with evidence, impact and severity."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

SEVERITIES = ("info", "warning", "critical")

# Consumption rules on the same meter explain each other; only the strongest is reported
# (one mail per problem, not three): the first in this list wins over the later ones.
CONSUMPTION_PRIORITY = ("never_base", "night_load", "out_of_hours", "deviation", "cusum")

# Rules that describe the same problem of one meter share one alert (one mail, one reminder, one resolved
# mail): when the evening use of a building that leaves its ventilation on turns into a night-load finding,
# that is the same problem continuing, not a new one.  Other rules are their own family.
FAMILIES = {**{r: "consumption" for r in CONSUMPTION_PRIORITY},
            "pv_zero": "pv_yield", "pv_underperformance": "pv_yield"}


@dataclass
class Finding:
    """One rule's verdict that something is wrong *now* on ``site``/``device``.

    ``since`` is when the problem started as far as the data shows (UTC);
    ``evidence`` holds the numbers behind the verdict (units in the key names);
    ``kwh_per_day`` is the estimated extra energy per day (None: not an energy waste, e.g. a stale meter).
    """

    rule: str
    site: str
    device: str
    severity: str
    since: dt.datetime
    evidence: dict[str, float | str] = field(default_factory=dict)
    kwh_per_day: float | None = None
    dkk_per_day: float | None = None
    channel: str | None = None  # the series the chart shows

    @property
    def key(self) -> str:
        """Deduplication key: one alert per site + device + rule family (see :data:`FAMILIES`)."""
        return f"{self.site}/{self.device}/{FAMILIES.get(self.rule, self.rule)}"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.since.tzinfo is None:
            raise ValueError("since must be timezone-aware")


def supersede(findings: list[Finding]) -> list[Finding]:
    """Keep only the strongest consumption finding per site/device (see :data:`CONSUMPTION_PRIORITY`)."""
    best: dict[tuple[str, str], int] = {}
    for f in findings:
        if f.rule in CONSUMPTION_PRIORITY:
            rank = CONSUMPTION_PRIORITY.index(f.rule)
            k = (f.site, f.device)
            best[k] = min(best.get(k, rank), rank)
    return [f for f in findings
            if f.rule not in CONSUMPTION_PRIORITY or CONSUMPTION_PRIORITY.index(f.rule) == best[(f.site, f.device)]]
