"""``[sources.dmi]``: DMI Open Data meteorological observations (metObs v2) as the sites' outdoor temperature, and
optionally DMI's quality-controlled daily means (climateData v2) for degree days."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from energimon.collector.sources.base import read_secret_file
from energimon.model import ID_RULE, is_valid_id

DEFAULT_BASE_URL = "https://dmigw.govcloud.dk/v2/metObs"
DEFAULT_CLIMATE_BASE_URL = "https://dmigw.govcloud.dk/v2/climateData"


class DmiStation(BaseModel):
    """Which station gives a site its outdoor temperature."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    site: str
    station_id: str | None = Field(default=None, pattern=r"^\d{5}$", description="DMI station id, e.g. '06170' "
                                   "(Roskilde Lufthavn); default: the nearest active station measuring the "
                                   "parameter, from the site's latitude/longitude")
    device: str = "dmi"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not is_valid_id(v):
            raise ValueError(f"{v!r} is not a valid id ({ID_RULE})")
        return v


class DmiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    api_key: SecretStr | None = Field(default=None, description="the metObs API key (DMI Open Data portal); sent "
                                                                "as the X-Gravitee-Api-Key header")
    api_key_file: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    parameter: str = Field(default="temp_mean_past1h", description="mean temperature of the past hour, °C")
    stations: list[DmiStation] = Field(default_factory=list)
    page_limit: int = Field(default=10000, ge=10, le=300000, description="features per page (followed by 'next')")
    days_per_request: int = Field(default=92, ge=1, le=366)
    interval_minutes: int = Field(default=60, ge=5, le=1440, description="how often the daemon fetches")
    climate_data: bool = Field(default=False, description="also fetch DMI's quality-controlled daily mean "
                               "temperature (climateData stationValue, timeResolution=day) of each station, as "
                               "SITE/DEVICE/outdoor_temp_day_mean_c; degree days prefer it to the hourly means")
    climate_api_key: SecretStr | None = Field(default=None, description="the climateData API key (DMI gives one "
                                              "key per API; sent as the X-Gravitee-Api-Key header)")
    climate_api_key_file: Path | None = None
    climate_base_url: str = DEFAULT_CLIMATE_BASE_URL
    climate_parameter: str = Field(default="mean_temp", description="daily mean temperature of the local day, °C")
    climate_days_per_request: int = Field(default=366, ge=1, le=3660)

    @field_validator("base_url", "climate_base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http:// or https:// URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _secret(self) -> DmiSettings:
        if self.api_key_file is not None:
            if self.api_key is not None:
                raise ValueError("give 'api_key' or 'api_key_file', not both")
            self.api_key = read_secret_file(self.api_key_file, "api_key_file")
        if self.climate_api_key_file is not None:
            if self.climate_api_key is not None:
                raise ValueError("give 'climate_api_key' or 'climate_api_key_file', not both")
            self.climate_api_key = read_secret_file(self.climate_api_key_file, "climate_api_key_file")
        return self
