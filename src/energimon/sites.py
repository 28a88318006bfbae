"""What a municipality's buildings are: the ``[sites.<id>]`` tables of the configuration.

A site is a building (or a group of buildings on one meter): its name and address, where it is (for
the clear-sky PV expectation and the weather), its floor area (for kWh/m²), the facility managers who
get its alert mails, and its PV arrays.  The collectors, the analytics, the alerts and the web pages
all read these; the configuration (``energimon.config``) checks that every reference to a site names
one that exists.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from energimon.validators import check_emails, check_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class PvArray(_Strict):
    """A PV array on a site's roof (for expected-yield and per-kWp KPIs)."""

    id: str
    kwp: float = Field(gt=0, le=100_000, description="peak DC power, kWp")
    tilt_deg: float = Field(ge=0, le=90)
    azimuth_deg: float = Field(ge=0, lt=360, description="0 = north, 180 = south")
    # Solar KPIs (energimon.analytics.solar): optional.
    losses_percent: float = Field(default=14.0, ge=0, lt=100, description="PVWatts system losses for expected yield")
    inverter: str | None = Field(default=None, description="device id of the inverter fed by this array")
    irradiance: str | None = Field(default=None, description="device id of a plane-of-array irradiance sensor "
                                   "(channel irradiance_w_m2) on this array's plane: a true PR instead of clear-sky")

    _check_id = field_validator("id")(check_id)


class Site(_Strict):
    """``[sites.<id>]``: one building; the id is the table's key."""

    name: str = Field(min_length=1)
    address: str = ""
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    floor_area_m2: float | None = Field(default=None, gt=0, le=10_000_000)
    facility_managers: list[str] = Field(default_factory=list)
    pv: list[PvArray] = Field(default_factory=list)

    _emails = field_validator("facility_managers")(check_emails)
