"""``[sources.eloverblik]``: the Eloverblik third-party API and the metering points it fills."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from energimon.collector.sources.base import read_secret_file
from energimon.model import ID_RULE, is_valid_id

DEFAULT_BASE_URL = "https://api.eloverblik.dk/thirdpartyapi/api"


class EloverblikMeteringPoint(BaseModel):
    """A DataHub metering point (målepunkt, GSRN: 18 digits) and the counter its interval energy becomes."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    id: str = Field(pattern=r"^\d{18}$", description="målepunkts-id (GSRN), 18 digits")
    site: str
    device: str = Field(default="datahub", description="a device id for DataHub data, not a live meter's "
                                                        "(two counters in one series would look like resets)")
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name in mails and reports, e.g. 'Hovedmåler' (default: the id)")
    channel: Literal["energy_import_wh", "energy_export_wh", "heat_energy_wh", "pv_energy_wh"] = "energy_import_wh"
    # DataHub (Eloverblik) holds electricity metering points only (and the heat some utilities report through it);
    # gas and water meters are read or imported by other paths (`energimon import csv --role gas|water`).
    role: Literal["grid", "pv", "submeter", "heat"] = "grid"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not is_valid_id(v):
            raise ValueError(f"{v!r} is not a valid id ({ID_RULE})")
        return v


class EloverblikSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    refresh_token: SecretStr | None = Field(default=None, description="the third party's refresh token "
                                                                      "(eloverblik.dk, API-adgang)")
    refresh_token_file: Path | None = None
    base_url: str = Field(default=DEFAULT_BASE_URL, description="the third-party API's base URL")
    aggregation: Literal["Actual", "Quarter", "Hour"] = Field(
        default="Actual", description="Actual: DataHub's own resolution (hourly, 15 minutes since the 2025 switch)")
    points_per_request: int = Field(default=10, ge=1, le=10, description="metering points per request (the API "
                                                                          "allows at most 10)")
    days_per_request: int = Field(default=60, ge=1, le=730, description="days per request (the API allows 730)")
    interval_minutes: int = Field(default=60, ge=5, le=1440, description="how often the daemon fetches")
    token_renew_before_s: float = Field(default=3600, ge=0, le=43200, description="renew the ~24 h data access "
                                                                                   "token this long before it expires")
    metering_points: list[EloverblikMeteringPoint] = Field(default_factory=list)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http:// or https:// URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _secret(self) -> EloverblikSettings:
        if self.refresh_token_file is not None:
            if self.refresh_token is not None:
                raise ValueError("give 'refresh_token' or 'refresh_token_file', not both")
            self.refresh_token = read_secret_file(self.refresh_token_file, "refresh_token_file")
        if self.refresh_token is None or not self.refresh_token.get_secret_value():
            raise ValueError("'refresh_token' or 'refresh_token_file' is required (create the token on eloverblik.dk "
                             "as the municipality: log in with MitID Erhverv, 'API-adgang', 'Opret refresh token')")
        return self
