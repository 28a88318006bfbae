"""Settings of the DataHub import: the ``[datahub]`` table of ``energimon import eloverblik``.

Each DataHub metering point (målepunkt, 18 digits) in an Eloverblik export is mapped to the series its
readings become (site, device, channel, role).  See ``sample.toml`` in this folder.  Loaded as part of
the configuration (``energimon.config``); :func:`cross_check_datahub` holds what needs the sites.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use (bench/startup.py)


class MeteringPoint(_Strict):
    """A DataHub metering point (målepunkt, 18 digits) and the series its imported readings become."""

    id: str = Field(pattern=r"^\d{18}$", description="målepunkts-id, 18 digits")
    site: str
    device: str = Field(description="a device id for imported data, e.g. 'datahub' (not a live meter's id: "
                                    "two counters in one series would look like resets)")
    name: str | None = Field(default=None, min_length=1, max_length=80,
                             description="display name in mails and reports, e.g. 'Hovedmåler' (default: the id)")
    channel: Literal["energy_import_wh", "energy_export_wh", "heat_energy_wh", "pv_energy_wh"] = "energy_import_wh"
    # DataHub (Eloverblik) holds electricity metering points only (and the heat some utilities report through it);
    # gas and water meters are read or imported by other paths (`energimon import csv --role gas|water`).
    role: Literal["grid", "pv", "submeter", "heat"] = "grid"


class ImportSettings(_Strict):
    """``[datahub]``: metering points of Eloverblik/DataHub exports mapped to series."""

    metering_points: list[MeteringPoint] = Field(default_factory=list)


def cross_check_datahub(datahub: ImportSettings | None, sites: Iterable[str]) -> list[tuple[str, str]]:
    """(key path, message): every metering point's site exists, and no metering point is listed twice."""
    if datahub is None:
        return []
    known = set(sites)
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, mp in enumerate(datahub.metering_points):
        where = f"datahub.metering_points[{i}] (id {mp.id!r})"
        if mp.site not in known:
            problems.append((f"{where}.site", f"unknown site {mp.site!r}; known sites: {', '.join(sorted(known))}"))
        if mp.id in seen:
            problems.append((f"{where}.id", "metering point listed twice"))
        seen.add(mp.id)
    return problems
