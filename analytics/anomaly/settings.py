"""Settings of anomaly detection and alert e-mails (``[alerts]``).

* ``[alerts]`` — where the alert state lives, the price used for DKK/day, the
  lifecycle (pending period, reminder interval, resolve delay, the daily digest of info-level
  alerts or of all of them).
* ``[alerts.rules.<rule>]`` — the parameters of each rule (see
  ``analytics/anomaly/rules.py`` for what each one means).
* ``[alerts.sites.<id>]`` — the site calendar: opening hours per weekday,
  closures, school holidays, events; extra recipients; rated power per device.

Danish public holidays come from the ``holidays`` package and need no config.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon.validators import check_emails

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN_RE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


def parse_spans(text: str) -> list[tuple[float, float]]:
    """``"07:30-16:00, 18:00-22:00"`` → ``[(7.5, 16.0), (18.0, 22.0)]`` (local hours); ``""``/"closed" → []."""
    text = text.strip().lower()
    if text in ("", "closed", "lukket"):
        return []
    spans = []
    for part in text.split(","):
        m = _SPAN_RE.match(part.strip())
        if not m:
            raise ValueError(f"{part.strip()!r} is not a time span like '07:30-16:00'")
        h1, m1, h2, m2 = (int(x) for x in m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise ValueError(f"{part.strip()!r}: hours 0-24, minutes 0-59")
        a, b = h1 + m1 / 60, h2 + m2 / 60
        if b <= a:
            raise ValueError(f"{part.strip()!r}: the end must be after the start (same day)")
        spans.append((a, b))
    return spans


class Period(_Strict):
    """A closure, school holiday or event: ``start`` and ``end`` are dates (inclusive) or local date-times."""

    start: dt.date | dt.datetime
    end: dt.date | dt.datetime = Field(description="inclusive when a date, exclusive when a date-time")
    reason: str = ""

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end_local() <= self.start_local():
            raise ValueError(f"end {self.end} must not be before start {self.start}")
        return self

    def start_local(self) -> dt.datetime:
        s = self.start
        return s.replace(tzinfo=None) if isinstance(s, dt.datetime) else dt.datetime.combine(s, dt.time())

    def end_local(self) -> dt.datetime:
        e = self.end
        if isinstance(e, dt.datetime):
            return e.replace(tzinfo=None)
        return dt.datetime.combine(e + dt.timedelta(days=1), dt.time())


class SiteCalendarSettings(_Strict):
    """``[alerts.sites.<id>]``: when the building is in use, and who else gets its alerts."""

    opening_hours: dict[str, str] = Field(
        default_factory=lambda: {d: "07:00-17:00" for d in WEEKDAYS[:5]},
        description="weekday (mon..sun) → '07:30-16:00' or '07:30-12:00, 13:00-16:00'; a missing day is closed",
    )
    closures: list[Period] = Field(default_factory=list, description="closed although normally open")
    school_holidays: list[Period] = Field(default_factory=list, description="vinterferie (uge 7), efterårsferie "
                                          "(uge 42) … as the municipality has them")
    school_holiday_hours: dict[str, str] | None = Field(
        default=None, description="opening hours during school holidays (default: the normal ones)")
    events: list[Period] = Field(default_factory=list, description="in use although normally closed")
    closed_on_holidays: bool = True
    recipients: list[str] = Field(default_factory=list, description="in addition to the site's facility_managers")
    rated_power_w: dict[str, float] = Field(
        default_factory=dict, description="device id → rated (maximum possible) power, W, for 'impossible value'")
    price_dkk_per_kwh: float | None = Field(default=None, gt=0, description="overrides [alerts] price")
    required_cooling_k: float | None = Field(
        default=None, gt=0, le=80, description="the district-heating utility's cooling requirement (afkølingskrav) "
                                               "for this building, K; overrides [alerts.rules.bad_cooling]")
    outdoor_temperature: str | None = Field(
        default=None, description="'site/device/channel' of the outdoor temperature for the heat signature "
                                  "(default: the site's own outdoor_temp_c series, else any)")

    @field_validator("opening_hours", "school_holiday_hours")
    @classmethod
    def _hours(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is None:
            return v
        for day, spans in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; expected one of {', '.join(WEEKDAYS)}")
            try:
                parse_spans(spans)
            except ValueError as exc:
                raise ValueError(f"{day}: {exc}") from None
        return v

    _emails = field_validator("recipients")(check_emails)


# -- rule parameters ---------------------------------------------------------------------------
class _Rule(_Strict):
    enabled: bool = True
    severity: Literal["info", "warning", "critical"] = "warning"


class NightLoadRule(_Rule):
    """Natforbrug: mean load in the night hours of a closed night above the reference night load."""

    night_start_h: int = Field(default=1, ge=0, le=23)
    night_end_h: int = Field(default=5, ge=1, le=24)
    min_excess_pct: float = Field(default=25.0, ge=0, description="above the reference, %")
    min_excess_kw: float = Field(default=1.0, ge=0, description="and at least this many kW above it")
    reference_days: int = Field(default=28, ge=7, le=120)
    reference_lag_days: int = Field(default=7, ge=0, le=60,
                                    description="reference ends this many days back, so a fault does not "
                                                "become the norm at once")


class OutOfHoursRule(_Rule):
    """Use outside opening hours (evenings, weekends, holidays, closures) above the reference night load."""

    min_excess_pct: float = Field(default=40.0, ge=0)
    min_excess_kw: float = Field(default=1.5, ge=0)
    min_hours: int = Field(default=3, ge=1, le=24, description="consecutive closed hours above the limit")
    grace_h: float = Field(default=1.0, ge=0, le=6, description="hours after closing / before opening ignored")
    window_h: int = Field(default=36, ge=24, le=72,
                          description="look back this far (more than 24 h, so an evening problem that recurs "
                                      "every day stays one alert instead of one per day)")


class NeverBaseRule(_Rule):
    """Never falls to base load: the lowest hour of the last 24 h is above the reference night load."""

    min_excess_pct: float = Field(default=30.0, ge=0)
    min_excess_kw: float = Field(default=1.5, ge=0)


class DeviationRule(_Rule):
    """Deviation from the expected model: all of %, absolute kWh and a minimum duration."""

    min_excess_pct: float = Field(default=15.0, ge=0)
    min_excess_kwh_per_day: float = Field(default=40.0, ge=0)
    min_days: int = Field(default=2, ge=1, le=14, description="consecutive days above both limits")


class CusumRule(_Rule):
    """Sustained level shift of daily use against the model (tabular CUSUM on standardised residuals)."""

    k_sigma: float = Field(default=0.5, gt=0, description="allowance, in residual standard deviations")
    h_sigma: float = Field(default=6.0, gt=0, description="decision limit, in residual standard deviations")
    min_shift_pct: float = Field(default=8.0, ge=0, description="ignore shifts smaller than this")


class DataQualityRule(_Rule):
    stale_after_min: float = Field(default=30.0, gt=0, description="no reading for this long: stale")
    stuck_hours: float = Field(default=6.0, gt=0, description="a counter that does not move this long while the "
                                                              "building uses energy: stuck")
    stuck_min_kw: float = Field(default=0.3, ge=0, description="…and the reference night load is at least this")
    rated_margin_pct: float = Field(default=10.0, ge=0)


class ImportLagRule(_Rule):
    """Imported data behind: the newest reading of a DataHub metering point (``[[datahub.metering_points]]``,
    imported by hand, or ``[[sources.eloverblik.metering_points]]``, fetched by the daemon) or of a device in
    ``devices`` is more than ``max_lag_days`` old.  Imported series get this rule instead of
    the live meters' data-quality rules (stale, offline, stuck counter, counter reset)."""

    max_lag_days: float = Field(default=3.0, gt=0, le=366,
                                description="DataHub publishes a day's hourly data the day after; 3 days allows "
                                            "for a weekend before the data counts as behind")
    devices: list[str] = Field(default_factory=list,
                               description="more imported devices to watch, 'site/device' (e.g. an outdoor "
                                           "temperature CSV that is imported every week)")

    @field_validator("devices")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        for ref in v:
            if ref.count("/") != 1 or not all(ref.split("/")):
                raise ValueError(f"{ref!r} is not 'site/device'")
        return v


class PvRule(_Rule):
    daylight_min_clearsky_w_m2: float = Field(default=250.0, gt=0, description="hours counted as daylight")
    zero_max_ratio: float = Field(default=0.05, ge=0, le=1, description="'zero': below this share of clear-sky")
    zero_min_hours: int = Field(default=2, ge=1)
    sibling_min_ratio: float = Field(default=0.25, ge=0, le=1,
                                     description="siblings must reach this share of clear-sky (sun was out)")
    under_ratio: float = Field(default=0.82, gt=0, le=1,
                               description="kWh/kWp below this share of the siblings' median: underperforming")
    under_days: int = Field(default=5, ge=1, le=30, description="over this many days")
    envelope_factor: float = Field(default=1.25, gt=1, description="above clear-sky × kWp × this: impossible")


class BadCoolingRule(_Rule):
    """Bad cooling (dårlig afkøling) of district heating: the day's volume-weighted ΔT below the utility's
    requirement for ``min_days`` judged days in a row (analytics/district_heating.py)."""

    required_cooling_k: float = Field(
        default=30.0, gt=0, le=80,
        description="the utility's afkølingskrav, K. Danish utilities bill cooling below it (afkølingstarif, "
                    "motivationstarif): AffaldVarme Aarhus asks for a mean of at least 30 °C "
                    "(https://affaldvarme.aarhus.dk/varme/fjernvarme-hos-dig/afkoeling/), HOFOR 29 °C for 2024 "
                    "(https://www.hofor.dk/erhverv/fjernvarme/spoergsmaal-svar-fjernvarme-erhverv/hvad-er-afkoeling/);"
                    " set your utility's figure from its price sheet (takstblad)")
    min_days: int = Field(default=3, ge=1, le=60, description="consecutive judged days below the requirement")
    min_volume_m3_per_day: float = Field(default=0.5, ge=0, description="a day with less water through the meter "
                                                                        "is not judged (too little to tell)")


class WaterLeakRule(_Rule):
    """Water leak: the lowest hourly flow of the night above ``threshold_m3_h`` for ``min_nights`` nights in a row
    (analytics/water.py)."""

    night_start_h: int = Field(default=1, ge=0, le=23)
    night_end_h: int = Field(default=5, ge=1, le=24)
    threshold_m3_h: float = Field(default=0.02, gt=0, description="m³/h; 0.02 = 20 litres an hour, about a running "
                                                                  "toilet cistern")
    min_nights: int = Field(default=3, ge=1, le=30)

    @model_validator(mode="after")
    def _night(self) -> WaterLeakRule:
        if self.night_end_h <= self.night_start_h:
            raise ValueError(f"night_end_h {self.night_end_h} must be after night_start_h {self.night_start_h}")
        return self


class RuleSettings(_Strict):
    night_load: NightLoadRule = Field(default_factory=NightLoadRule)
    out_of_hours: OutOfHoursRule = Field(default_factory=OutOfHoursRule)
    never_base: NeverBaseRule = Field(default_factory=lambda: NeverBaseRule(severity="critical"))
    deviation: DeviationRule = Field(default_factory=DeviationRule)
    heat_deviation: DeviationRule = Field(default_factory=lambda: DeviationRule(
        min_excess_pct=10.0, min_excess_kwh_per_day=50.0, min_days=2))
    cusum: CusumRule = Field(default_factory=lambda: CusumRule(severity="info"))
    data_quality: DataQualityRule = Field(default_factory=DataQualityRule)
    import_lag: ImportLagRule = Field(default_factory=ImportLagRule)
    pv: PvRule = Field(default_factory=PvRule)
    bad_cooling: BadCoolingRule = Field(default_factory=BadCoolingRule)
    water_leak: WaterLeakRule = Field(default_factory=WaterLeakRule)


class AlertSettings(_Strict):
    """``[alerts]``."""

    enabled: bool = True
    state_path: Path = Path("/var/lib/energimon/alerts.db")
    price_dkk_per_kwh: float = Field(default=2.0, gt=0, description="electricity, incl. taxes, DKK/kWh")
    heat_price_dkk_per_kwh: float = Field(default=0.8, gt=0, description="district heating, DKK/kWh")
    pending_min: float = Field(default=60, ge=0, description="a problem must persist this long before a mail")
    reminder_h: float = Field(default=72, gt=0, description="remind this often while it persists")
    resolve_after_min: float = Field(default=120, ge=0, description="gone this long before the 'resolved' mail")
    digest: bool = Field(default=False, description="every alert in one daily mail per recipient list instead of "
                                                    "single mails")
    info_digest: bool = Field(default=True, description="alerts of severity 'info' in the daily digest mail "
                                                        "instead of one mail each (warnings and critical ones "
                                                        "still go out at once)")
    digest_hour: int = Field(default=7, ge=0, le=23, description="local hour of the daily digest (not 2: DST)")
    language: Literal["da", "en"] | None = Field(default=None, description="default: [smtp] language")
    chart_days: int = Field(default=7, ge=1, le=31)
    min_history_days: int = Field(default=28, ge=7, description="the expected model needs this much history")
    rules: RuleSettings = Field(default_factory=RuleSettings)
    sites: dict[str, SiteCalendarSettings] = Field(default_factory=dict)

    @field_validator("digest_hour")
    @classmethod
    def _not_dst(cls, v: int) -> int:
        if v == 2:
            raise ValueError("02:00-03:00 is skipped or repeated at DST changes; choose another hour")
        return v

    def site(self, site_id: str) -> SiteCalendarSettings:
        return self.sites.get(site_id) or SiteCalendarSettings()

    def required_cooling_k(self, site_id: str) -> float:
        """The site's district-heating cooling requirement: its own, else the rule's."""
        return self.site(site_id).required_cooling_k or self.rules.bad_cooling.required_cooling_k


def cross_check_alerts(alerts: AlertSettings | None, sites: set[str], have_smtp: bool) -> list[tuple[str, str]]:
    """Problems spanning keys: unknown sites, alerts without mail.  (Device ids in ``rated_power_w`` are not
    checked: MQTT devices are only known from their topics.)"""
    if alerts is None:
        return []
    problems: list[tuple[str, str]] = []
    known = ", ".join(sorted(sites)) or "none"
    for sid in alerts.sites:
        if sid not in sites:
            problems.append((f"alerts.sites.{sid}", f"unknown site {sid!r}; known sites: {known}"))
    for i, ref in enumerate(alerts.rules.import_lag.devices):
        if ref.split("/")[0] not in sites:
            problems.append((f"alerts.rules.import_lag.devices[{i}]",
                             f"unknown site in {ref!r}; known sites: {known}"))
    if alerts.enabled and not have_smtp:
        problems.append(("alerts", "alerts are enabled but there is no [smtp] table to send them with "
                                   "(add [smtp] or set alerts.enabled = false)"))
    return problems
