"""Settings of one energy-saving measure measured by itself (``[[esco.measures]]``, IPMVP Option B).

IPMVP Option B, *retrofit isolation, all parameter measurement*: the measure's own energy is metered on a
submeter (e.g. the lighting circuit of a sports hall) over a baseline period before it was installed and a
reporting period after; its baseline model is one of

* ``constant``: the mean daily energy of the baseline days (lighting, pumps without weather dependence);
* ``operating_hours``: energy per operating hour × the day's operating hours, the hours from a measured
  operating-hour counter (``hours``) or a weekly schedule (``schedule``, hours per weekday);
* ``degree_days``: the CalTRACK daily change-point model of the Option C contract
  (:mod:`energimon.analytics.baseline`) on the measure's own meter.

Checks that span keys (the baseline before the installation, the model's inputs) are made by
:func:`measure_problems`, which names the key that is wrong; :func:`cross_check_measures` adds those that need
the rest of the configuration (the site exists, the meter is not a configured device of another role, ids
unique).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from energimon.carriers import CARRIERS
from energimon.model import CHANNELS, is_valid_id

MEASURE_MODELS = ("constant", "operating_hours", "degree_days")
MIN_BASELINE_DAYS = 14
"""Two whole weeks: every weekday at least twice, so the weekly pattern of the residuals can be estimated."""
SUBMETER_ROLE = "submeter"


class MeasureSettings(BaseModel):
    """One ``[[esco.measures]]`` entry."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: str = Field(min_length=1, description="short id, unique among the measures (CSV rows, file names)")
    name: str = Field(min_length=1, description="printed in reports, e.g. 'LED i Stenlille hallen'")
    site: str = Field(min_length=1, description="the building the measure belongs to ([sites.<id>])")
    installed: dt.date = Field(description="the day the measure was installed")
    energy: str = Field(description="the measure's submeter counter, 'device/channel' of the site, "
                                    "e.g. 'belysning/energy_import_wh' (the device's role: submeter)")
    carrier: str = Field(default="electricity", description="what the submeter measures (energimon.carriers)")
    model: str = Field(default="constant", description="constant, operating_hours or degree_days")
    hours: str | None = Field(default=None, description="operating_hours: a measured operating-hour counter, "
                                                        "'device/operating_time_h'")
    schedule: list[float] | None = Field(default=None, description="operating_hours: hours per weekday, "
                                                                   "Monday..Sunday (7 values, 0-24)")
    temperature: str | None = Field(default=None, description="degree_days: outdoor temperature series "
                                                              "(default: esco.temperature)")
    baseline_start: dt.date
    baseline_end: dt.date = Field(description="exclusive; not after 'installed'")
    reporting_start: dt.date | None = Field(default=None, description="first reporting day (default: installed)")
    reporting_end: dt.date | None = Field(default=None, description="exclusive (default: open, up to the report)")
    guarantee_kwh_per_year: float | None = Field(default=None, ge=0, description="the contract's guarantee for "
                                                                                 "this measure, if it has one")

    @property
    def first_reporting_day(self) -> dt.date:
        return self.reporting_start or self.installed


def _ref_problem(value: str, what: str) -> str:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        return f"must be 'device/channel' (same site) or 'site/device/channel', got {value!r}"
    if parts[-1] not in CHANNELS:
        return f"unknown channel {parts[-1]!r} in {what}"
    return ""


def measure_problems(where: str, m: MeasureSettings) -> list[tuple[str, str]]:
    """(key path, message) of one measure on its own; ``where`` is its key, e.g. ``esco.measures[0]``."""
    out: list[tuple[str, str]] = []
    if not is_valid_id(m.id):
        out.append((f"{where}.id", f"not a valid id: {m.id!r} (letters, digits, '-' and '_')"))
    if m.model not in MEASURE_MODELS:
        out.append((f"{where}.model", f"unknown model {m.model!r}; expected one of {', '.join(MEASURE_MODELS)}"))
    c = CARRIERS.get(m.carrier)
    if c is None or not c.energy:
        energy = ", ".join(k for k, v in CARRIERS.items() if v.energy)
        out.append((f"{where}.carrier", f"{m.carrier!r} is not an energy carrier; expected one of {energy}"))
    for key in ("energy", "hours", "temperature"):
        ref = getattr(m, key)
        if ref is not None and (why := _ref_problem(ref, key)):
            out.append((f"{where}.{key}", why))
    if m.energy.split("/")[-1] in CHANNELS and CHANNELS[m.energy.split("/")[-1]].kind.value != "counter":
        out.append((f"{where}.energy", f"{m.energy.split('/')[-1]!r} is not a counter channel: the savings are "
                                       "counted from an energy counter (e.g. energy_import_wh)"))
    channel = CHANNELS.get(m.energy.split("/")[-1])
    if c is not None and c.energy and channel is not None and channel.unit != CHANNELS[c.channel].unit:
        # the amounts are in the carrier's unit per counter unit (carriers.per_counter_unit): a Wh counter read as
        # gas m³, or an m³ counter read as Wh, would be off by 1000 without a word
        out.append((f"{where}.energy", f"{m.energy!r} counts {channel.unit}, but carrier {m.carrier!r} is metered "
                                       f"in {CHANNELS[c.channel].unit} (e.g. '<device>/{c.channel}'); set 'carrier' "
                                       "to what the submeter measures"))
    if m.hours is not None and m.hours.split("/")[-1] != "operating_time_h":
        out.append((f"{where}.hours", f"must name an operating-hour counter 'device/operating_time_h', "
                                      f"got {m.hours!r}"))
    if m.model == "operating_hours":
        if (m.hours is None) == (m.schedule is None):
            out.append((f"{where}.hours", "model 'operating_hours' needs exactly one of 'hours' (a measured "
                                          "operating-hour counter) or 'schedule' (hours per weekday)"))
        if m.schedule is not None and (len(m.schedule) != 7 or not all(0 <= h <= 24 for h in m.schedule)):
            out.append((f"{where}.schedule", f"needs 7 values (Monday..Sunday) between 0 and 24, got {m.schedule}"))
        if m.schedule is not None and not any(h > 0 for h in m.schedule):
            out.append((f"{where}.schedule", "has no operating hour at all"))
    else:
        for key in ("hours", "schedule"):
            if getattr(m, key) is not None:
                out.append((f"{where}.{key}", f"only used with model = 'operating_hours' (model is {m.model!r})"))
    if m.temperature is not None and m.model != "degree_days":
        out.append((f"{where}.temperature", f"only used with model = 'degree_days' (model is {m.model!r})"))
    if m.baseline_end <= m.baseline_start:
        out.append((f"{where}.baseline_end", f"{m.baseline_end} must be after baseline_start {m.baseline_start}"))
    elif (m.baseline_end - m.baseline_start).days < MIN_BASELINE_DAYS:
        out.append((f"{where}.baseline_end", f"the baseline period is {(m.baseline_end - m.baseline_start).days} "
                                             f"days; a measure needs at least {MIN_BASELINE_DAYS}"))
    if m.baseline_end > m.installed:
        out.append((f"{where}.baseline_end", f"{m.baseline_end} is after installed {m.installed}: the baseline "
                                             "must end before the measure was installed"))
    if m.reporting_start is not None and m.reporting_start < m.installed:
        out.append((f"{where}.reporting_start", f"{m.reporting_start} is before installed {m.installed}"))
    if m.reporting_end is not None and m.reporting_end <= m.first_reporting_day:
        out.append((f"{where}.reporting_end", f"{m.reporting_end} must be after the first reporting day "
                                              f"{m.first_reporting_day}"))
    return out


def cross_check_measures(measures: list[MeasureSettings], sites: set[str],
                         device_roles: Iterable[tuple[str, str, str]] = ()) -> list[tuple[str, str]]:
    """(key path, message) of ``[[esco.measures]]``: each measure on its own (:func:`measure_problems`), its site
    known, its series in known sites, ids unique, and a meter that is a configured device of a role other than
    submeter refused (a building's main meter measures the whole building: that is Option C).

    ``device_roles``: ``(site, device, role)`` of the devices the configuration declares.  A device not declared
    is fine: imported and MQTT devices are known only from their data (the report checks the store then)."""
    known = ", ".join(sorted(sites)) or "none"
    roles = {(s, d): r for s, d, r in device_roles}
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, m in enumerate(measures):
        where = f"esco.measures[{i}] (id {m.id!r})"
        out += measure_problems(where, m)
        if m.id in seen:
            out.append((f"{where}.id", f"duplicate measure id {m.id!r}"))
        seen.add(m.id)
        if m.site not in sites:
            out.append((f"{where}.site", f"unknown site {m.site!r}; known sites: {known}"))
        for key in ("energy", "hours", "temperature"):
            ref = getattr(m, key)
            if ref is not None and ref.count("/") == 2 and ref.split("/")[0] not in sites:
                out.append((f"{where}.{key}", f"unknown site in {ref!r}; known sites: {known}"))
        parts = m.energy.split("/")
        site, device = (m.site, parts[0]) if len(parts) == 2 else (parts[0], parts[1])
        role = roles.get((site, device))
        if role is not None and role != SUBMETER_ROLE:
            out.append((f"{where}.energy", f"device {device!r} of site {site!r} has role {role!r}; a measure is "
                                           f"metered on its own submeter (role {SUBMETER_ROLE!r}) — the whole "
                                           "building's meter belongs in [esco.sites] (Option C)"))
    return out
