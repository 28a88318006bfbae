"""Settings of the ESCO savings contract (``[esco]``) and the monthly savings report.

One contract per configuration: its baseline period, the measure date, the
guarantee (kWh per contract year, per site and/or for the portfolio), the
surplus split, the price and CO2 factors (each with year and source), the
normal year for degree days, and per site: which series are the building's
consumption, PV add-back and the non-routine adjustments log.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from energimon import carriers
from energimon.analytics.esco.measure_settings import MeasureSettings
from energimon.carriers import CarrierKey, Co2Factor
from energimon.model import CHANNELS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


def _series_ref(value: str, what: str) -> str:
    parts = value.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{what} must be 'device/channel' (same site) or 'site/device/channel', got {value!r}")
    if parts[-1] not in CHANNELS:
        raise ValueError(f"{what}: unknown channel {parts[-1]!r}")
    return value


class Adjustment(_Strict):
    """A non-routine adjustment (IPMVP): added to the baseline over ``[start, end)``."""

    start: dt.date
    end: dt.date = Field(description="exclusive")
    kwh_per_day: float | None = Field(default=None, description="+ raises the baseline (e.g. floor area added)")
    percent: float | None = Field(default=None, ge=-100, le=100, description="of the baseline, + raises it")
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Adjustment:
        if (self.kwh_per_day is None) == (self.percent is None):
            raise ValueError("give exactly one of 'kwh_per_day' or 'percent'")
        if self.end <= self.start:
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self


class NormalYearSettings(_Strict):
    total: float = Field(gt=0, description="degree days of the normal year, e.g. 2906 (DTI)")
    source: str = Field(min_length=1, description="printed in reports, e.g. 'DTI normalår 2906 graddage'")
    monthly: list[float] = Field(default_factory=list, description="12 values Jan..Dec (default: standard split)")

    @model_validator(mode="after")
    def _twelve(self) -> NormalYearSettings:
        if self.monthly:
            if len(self.monthly) != 12:
                raise ValueError(f"monthly needs 12 values (January..December), got {len(self.monthly)}")
            if abs(sum(self.monthly) - self.total) > 0.01 * self.total:
                raise ValueError(f"monthly values sum to {sum(self.monthly):g}, not the total {self.total:g}")
        return self


class PricePeriod(_Strict):
    """One step of a price that changes over time: ``dkk_per_kwh`` applies from ``from`` (a local day) until the
    next period's ``from``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first local day this price applies")
    dkk_per_kwh: float = Field(ge=0, le=100)
    source: str = Field(min_length=1, description="where the price comes from, printed in the report")


class CarrierPricePeriod(_Strict):
    """``[[esco.carrier_prices.<carrier>]]``: the price of one carrier per its unit (DKK/kWh for district heating,
    DKK/m³ for natural gas and water) from ``from`` (a local day) until the next period's ``from``, excl. VAT."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first local day this price applies")
    dkk_per_unit: float = Field(ge=0, le=1000, description="DKK per kWh, or per m³ for natural gas and water")
    source: str = Field(min_length=1, description="where the price comes from, printed in the report")

    @property
    def dkk_per_kwh(self) -> float:
        """The price step's value as the price code reads it (per the carrier's unit)."""
        return self.dkk_per_unit


class TariffPeriod(_Strict):
    """What is paid per kWh on top of the spot price from ``from`` (a local day) until the next period: grid
    tariff, system and net tariffs, electricity tax (elafgift) … summed, excl. VAT like the other prices."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: dt.date = Field(alias="from", description="first local day these tariffs apply")
    dkk_per_kwh: float = Field(ge=0, le=100)
    source: str = Field(min_length=1, description="e.g. 'Cerius C-tarif 2026 + elafgift', printed in the report")


class SpotPriceSettings(_Strict):
    """``[esco.spot_price]``: the price per hour = the stored day-ahead spot price (Energi Data Service, see
    ``[sources.energidataservice]``) + the tariffs and taxes in force that day."""

    series: str = Field(default="dk2/energinet/price_dkk_per_kwh", description="site/device/channel of the spot "
                                                                                "price in the store (DKK/kWh)")
    tariffs: list[TariffPeriod] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> SpotPriceSettings:
        parts = self.series.split("/")
        if len(parts) != 3 or parts[2] != "price_dkk_per_kwh":
            raise ValueError(f"series must be 'site/device/price_dkk_per_kwh', got {self.series!r}")
        for i, (a, b) in enumerate(itertools.pairwise(self.tariffs)):
            if b.from_ <= a.from_:
                raise ValueError(f"tariffs[{i + 1}].from {b.from_} must be after tariffs[{i}].from {a.from_}")
        return self


PRICE_KEYS = ("price_dkk_per_kwh", "prices", "price_file", "spot_price")


class EscoSite(_Strict):
    carrier: CarrierKey = Field(default="electricity", description="what the contract saves; savings are in the "
                                "carrier's unit (kWh, m³ for natural gas and water)")
    model: Literal["caltrack_daily", "towt_hourly", "caltrack_billing"] = Field(
        default="caltrack_daily", description="baseline model: CalTRACK daily change-point (reference), CalTRACK "
                                              "hourly TOWT (buildings with strong weekly schedules) or CalTRACK "
                                              "billing (monthly periods, for meters read once a month)")
    energy: str = Field(description="counter measured at the building, 'device/channel', e.g. hovedmaaler/"
                                    "energy_import_wh")
    export: str | None = Field(default=None, description="export counter (subtracted)")
    pv: list[str] = Field(default_factory=list, description="PV production counters added back (gross consumption)")
    pv_installed: dt.date | None = Field(default=None, description="PV production before this date is 0")
    temperature: str | None = Field(default=None, description="outdoor temperature series (default: esco.temperature)")
    guarantee_kwh_per_year: float | None = Field(default=None, ge=0)
    weather_independent_share: float | None = Field(default=None, ge=0, le=1)
    adjustments: list[Adjustment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _refs(self) -> EscoSite:
        _series_ref(self.energy, "energy")
        c = carriers.carrier(self.carrier)
        got = CHANNELS[self.energy.split("/")[-1]].unit
        if got != CHANNELS[c.channel].unit:  # savings in the carrier's unit need a counter in that unit
            raise ValueError(f"energy: a {self.carrier} contract reads a counter in {CHANNELS[c.channel].unit} "
                             f"(e.g. 'device/{c.channel}'), got {self.energy!r} in {got}")
        if self.export:
            _series_ref(self.export, "export")
        for p in self.pv:
            _series_ref(p, "pv")
        if self.temperature:
            _series_ref(self.temperature, "temperature")
        return self


class EscoSettings(_Strict):
    contract: str = Field(min_length=1, description="contract name printed in reports")
    esco: str = Field(default="", description="the ESCO's name")
    baseline_start: dt.date
    baseline_end: dt.date = Field(description="exclusive; IPMVP Option C: at least 12 months")
    measure_date: dt.date = Field(description="first day of the reporting period")
    guarantee_kwh_per_year: float | None = Field(default=None, ge=0, description="portfolio guarantee")
    surplus_share_municipality: float = Field(default=0.5, ge=0, le=1)
    price_dkk_per_kwh: float | None = Field(default=None, ge=0, description="a fixed agreed price")
    prices: list[PricePeriod] = Field(default_factory=list, description="a price per period (step function)")
    price_file: Path | None = Field(default=None, description="time,value CSV of prices in DKK/kWh (hourly or "
                                                              "shorter intervals); relative to the config file")
    spot_price: SpotPriceSettings | None = Field(default=None, description="hourly spot price from the store + "
                                                                           "tariffs per period")
    co2_intensity: str | None = Field(default=None, description="site/device/co2_g_per_kwh: hourly CO2 intensity "
                                      "(Energi Data Service) for the CO2 account of all electricity consumption")
    price_series: Any = Field(default=None, description="removed: use price_file or prices")
    temperature: str = Field(description="site/device/outdoor_temp_c used by every site unless it names its own")
    base_temperature_c: float = Field(default=17.0, ge=5, le=25)
    normal_year: NormalYearSettings
    co2: list[Co2Factor] = Field(default_factory=list)
    carrier_prices: dict[CarrierKey, list[CarrierPricePeriod]] = Field(
        default_factory=dict, description="a price per period for a carrier other than electricity, in its unit "
        "(required for natural gas and water, which are priced per m³; district heating falls back to the "
        "contract's price)")
    reports_dir: Path = Path("/var/lib/energimon/reports")
    language: Literal["da", "en"] = "da"
    recipients: list[str] = Field(default_factory=list, description="the energy team, for the mailed report")
    cvrmse_max: float = Field(default=0.25, gt=0, le=1)
    cvrmse_max_hourly: float = Field(default=0.30, gt=0, le=1, description="for towt_hourly sites (G14: 30 % hourly)")
    nmbe_max: float = Field(default=0.005, gt=0, le=1)
    cvrmse_max_monthly: float = Field(default=0.15, gt=0, le=1,
                                      description="for caltrack_billing sites (G14-2014 monthly data: 15 %)")
    nmbe_max_monthly: float = Field(default=0.05, gt=0, le=1,
                                    description="for caltrack_billing sites (G14-2014 monthly data: 5 %)")
    sites: dict[str, EscoSite] = Field(default_factory=dict)
    measures: list[MeasureSettings] = Field(default_factory=list, description="measures metered by themselves "
                                            "(IPMVP Option B, analytics/esco/measure_settings.py)")

    @model_validator(mode="after")
    def _dates(self) -> EscoSettings:
        if self.baseline_end <= self.baseline_start:
            raise ValueError("baseline_end must be after baseline_start")
        if (self.baseline_end - self.baseline_start).days < 365:
            raise ValueError(f"the baseline period is {(self.baseline_end - self.baseline_start).days} days; "
                             "IPMVP Option C needs at least 12 months (365 days)")
        if self.measure_date < self.baseline_end:
            raise ValueError("measure_date must not be before baseline_end")
        self._check_price()
        _series_ref(self.temperature, "temperature")
        return self

    @field_validator("price_series")
    @classmethod
    def _removed(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("price_series was removed: give price_file = \"priser.csv\" (a time,value CSV in "
                             "DKK/kWh, hourly or shorter intervals) or prices = [{ from = 2025-01-01, dkk_per_kwh = "
                             "2.10, source = \"...\" }, ...] (a price per period)")
        return value

    def _check_price(self) -> None:
        given = [k for k, v in zip(PRICE_KEYS, (self.price_dkk_per_kwh, self.prices or None, self.price_file,
                                                self.spot_price), strict=True) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of price_dkk_per_kwh (a fixed price), prices (a price per period), "
                             "price_file (a time,value CSV in DKK/kWh) or spot_price (the stored spot price + "
                             f"tariffs); got {' and '.join(given) or 'none'}")
        for i, (a, b) in enumerate(itertools.pairwise(self.prices)):
            if b.from_ <= a.from_:
                raise ValueError(f"prices[{i + 1}].from {b.from_} must be after prices[{i}].from {a.from_}")
        if self.prices and self.prices[0].from_ > self.measure_date:
            raise ValueError(f"prices[0].from {self.prices[0].from_} is after measure_date {self.measure_date}: "
                             "every reporting day needs a price")
        if self.spot_price and self.spot_price.tariffs[0].from_ > self.measure_date:
            raise ValueError(f"spot_price.tariffs[0].from {self.spot_price.tariffs[0].from_} is after measure_date "
                             f"{self.measure_date}: every reporting day needs its tariffs")
        for key, steps in self.carrier_prices.items():
            if key == carriers.ELECTRICITY.key:
                raise ValueError("carrier_prices.electricity: electricity is priced by price_dkk_per_kwh, prices, "
                                 "price_file or spot_price")
            if not steps:
                raise ValueError(f"carrier_prices.{key}: give at least one period")
            for i, (c0, c1) in enumerate(itertools.pairwise(steps)):
                if c1.from_ <= c0.from_:
                    raise ValueError(f"carrier_prices.{key}[{i + 1}].from {c1.from_} must be after "
                                     f"carrier_prices.{key}[{i}].from {c0.from_}")
            if steps[0].from_ > self.measure_date:
                raise ValueError(f"carrier_prices.{key}[0].from {steps[0].from_} is after measure_date "
                                 f"{self.measure_date}: every reporting day needs a price")
        if self.co2_intensity is not None:
            parts = self.co2_intensity.split("/")
            if len(parts) != 3 or parts[2] != "co2_g_per_kwh":
                raise ValueError(f"co2_intensity must be 'site/device/co2_g_per_kwh', got {self.co2_intensity!r}")

    @property
    def report_sites(self) -> list[str]:
        """The buildings the savings report can be asked for (``--site``): every ``[esco.sites]`` building (Option C),
        then those that have only ``[[esco.measures]]`` (Option B), each once, in the configured order."""
        return list(dict.fromkeys([*self.sites, *(m.site for m in self.measures)]))

    @property
    def price_kind(self) -> Literal["fixed", "periods", "file", "spot"]:
        if self.spot_price is not None:
            return "spot"
        return "fixed" if self.price_dkk_per_kwh is not None else "periods" if self.prices else "file"

    def co2_factor(self, carrier: str, year: int) -> Co2Factor | None:
        """The factor for ``year``, else the latest earlier year's (stated in the report), else None."""
        cands = [c for c in self.co2 if c.carrier == carrier and c.year <= year]
        return max(cands, key=lambda c: c.year) if cands else None


def cross_check_esco(esco: EscoSettings | None, sites: set[str]) -> list[tuple[str, str]]:
    """Problems spanning keys: unknown sites in [esco.sites] or in series references."""
    if esco is None:
        return []
    problems: list[tuple[str, str]] = []
    known = ", ".join(sorted(sites)) or "none"
    for sid, s in esco.sites.items():
        if sid not in sites:
            problems.append((f"esco.sites.{sid}", f"unknown site {sid!r}; known sites: {known}"))
        refs = [("energy", s.energy), ("export", s.export), ("temperature", s.temperature)]
        refs += [(f"pv[{i}]", p) for i, p in enumerate(s.pv)]
        for key, ref in refs:
            if ref and ref.count("/") == 2 and ref.split("/")[0] not in sites:
                problems.append((f"esco.sites.{sid}.{key}", f"unknown site in {ref!r}; known sites: {known}"))
        if carriers.unit_of(s.carrier) != "kWh" and s.carrier not in esco.carrier_prices:
            problems.append((f"esco.sites.{sid}.carrier", f"a {s.carrier} contract saves m³ and is priced per m³: "
                             f"add [[esco.carrier_prices.{s.carrier}]] with from, dkk_per_unit (DKK/m³) and source"))
        if s.pv and s.pv_installed is None:
            problems.append((f"esco.sites.{sid}.pv_installed", "required with 'pv' (the day the panels started)"))
    if esco.temperature.split("/")[0] not in sites and esco.temperature.count("/") == 2:
        problems.append(("esco.temperature", f"unknown site in {esco.temperature!r}; known sites: {known}"))
    return problems


def check_esco_files(esco: EscoSettings | None) -> list[tuple[str, str]]:
    """Files named in ``[esco]`` must exist (call after relative paths were resolved).  The price file's lines
    are read, and every bad line named, when a report runs: the file may be appended to while the daemon runs."""
    if esco is None or esco.price_file is None:
        return []
    if not esco.price_file.is_file():
        return [("esco.price_file", f"file not found: {esco.price_file} (a relative path is relative to the "
                                    "configuration file's folder)")]
    return []
