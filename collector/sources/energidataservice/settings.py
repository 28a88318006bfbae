"""``[sources.energidataservice]``: day-ahead prices and CO₂ intensity of one price area (no key needed)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from energimon.model import ID_RULE, is_valid_id

DEFAULT_BASE_URL = "https://api.energidataservice.dk"


class EnergiDataServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)

    base_url: str = DEFAULT_BASE_URL
    price_area: Literal["DK1", "DK2"] = Field(default="DK2", description="DK1: Jutland and Funen, DK2: Zealand "
                                                                          "and the islands (Sorø is DK2)")
    site: str | None = Field(default=None, description="the site id the area's series are stored under "
                                                       "(default: the price area in lower case, e.g. 'dk2')")
    device: str = "energinet"
    prices: bool = Field(default=True, description="day-ahead spot prices (DKK/kWh, excl. tariffs, taxes, VAT)")
    co2: bool = Field(default=True, description="CO₂ intensity of consumption (g/kWh, every 5 minutes)")
    days_per_request: int = Field(default=31, ge=1, le=366)
    page_size: int = Field(default=10000, ge=100, le=100000, description="records per request (paged with offset)")
    interval_minutes: int = Field(default=60, ge=5, le=1440, description="how often the daemon fetches")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"{v!r} is not an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("site", "device")
    @classmethod
    def _ids(cls, v: str | None) -> str | None:
        if v is not None and not is_valid_id(v):
            raise ValueError(f"{v!r} is not a valid id ({ID_RULE})")
        return v

    @property
    def series_site(self) -> str:
        return self.site or self.price_area.lower()
