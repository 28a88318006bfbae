"""The guarantee ledger: guaranteed savings pro rata over the contract year against realised savings.

A contract year runs from the measure date (and its anniversaries, :func:`energimon.calendar.contract_year`).
The guarantee to date is the yearly guarantee times the share of the contract year's days that are over;
a shortfall is paid by the ESCO, a surplus split between the municipality and the ESCO.  Realised savings
are the sum of the reporting rows' savings in the contract year up to the cutoff; with too few rows with
data (:data:`~energimon.analytics.savings.MIN_PERIOD_COVERAGE`) the ledger is not a result.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from energimon.analytics.savings import MIN_PERIOD_COVERAGE


@dataclass(frozen=True)
class Ledger:
    """Guarantee ledger for the contract year containing the report month."""

    year_start: dt.date
    year_end: dt.date  # exclusive
    days_elapsed: int
    guarantee_kwh_per_year: float
    guarantee_to_date_kwh: float  # pro rata
    realised_kwh: float
    shortfall_kwh: float  # paid by the ESCO
    surplus_kwh: float
    surplus_municipality_kwh: float
    surplus_esco_kwh: float
    points: int = 0  # reporting points (days, hours, months) of the contract year up to ``until``
    points_with_data: int = 0  # of them with measured savings

    @property
    def status(self) -> str:
        """Like :attr:`PeriodSavings.status`: realised savings over too few measured points are not a result."""
        if not self.points_with_data:
            return "no_data"
        return "incomplete" if self.points_with_data < MIN_PERIOD_COVERAGE * self.points else "ok"


def ledger(guarantee_kwh_per_year: float, realised_kwh: float, year_start: dt.date, year_end: dt.date,
           until: dt.date, share_municipality: float, points: int = 0, points_with_data: int = 0) -> Ledger:
    """Guaranteed (pro rata by days up to ``until``, exclusive) vs realised savings; shortfall paid by the ESCO,
    surplus split.  Realised NaN (no day with data) leaves shortfall and surplus unknown, not 0."""
    days_year = (year_end - year_start).days
    elapsed = max(0, min((until - year_start).days, days_year))
    g = guarantee_kwh_per_year * elapsed / days_year
    short = max(0.0, g - realised_kwh) if math.isfinite(realised_kwh) else math.nan
    surplus = max(0.0, realised_kwh - g) if math.isfinite(realised_kwh) else math.nan
    return Ledger(year_start, year_end, elapsed, guarantee_kwh_per_year, g, realised_kwh, short, surplus,
                  surplus * share_municipality, surplus * (1 - share_municipality), points, points_with_data)


def in_year(rows: pd.DataFrame, year_start: dt.date, year_end: dt.date) -> pd.DataFrame:
    """The reporting rows (local days, hours or months) that start in ``[year_start, year_end)``."""
    idx = pd.DatetimeIndex(rows.index).tz_localize(None)
    return rows[(idx >= pd.Timestamp(year_start)) & (idx < pd.Timestamp(year_end))]


def site_ledger(rows: pd.DataFrame, guarantee_kwh_per_year: float, year_start: dt.date, year_end: dt.date,
                until: dt.date, share_municipality: float) -> Ledger:
    """One building's ledger from its reporting rows (column ``savings_kwh``)."""
    cy = in_year(rows, year_start, year_end)["savings_kwh"]
    return ledger(guarantee_kwh_per_year, float(cy.sum(min_count=1)), year_start, year_end, until,
                  share_municipality, len(cy), int(cy.notna().sum()))


def portfolio_ledger(rows: Sequence[pd.DataFrame], guarantee_kwh_per_year: float, year_start: dt.date,
                     year_end: dt.date, until: dt.date, share_municipality: float) -> Ledger:
    """The portfolio's ledger: the buildings' realised savings in the contract year summed (NaN when no building
    has a row with data), their reporting points counted together."""
    realised, points, with_data = math.nan, 0, 0
    for r in rows:
        cy = in_year(r, year_start, year_end)["savings_kwh"]
        if cy.notna().any():
            realised = (0.0 if math.isnan(realised) else realised) + float(cy.sum())
        points, with_data = points + len(cy), with_data + int(cy.notna().sum())
    return ledger(guarantee_kwh_per_year, realised, year_start, year_end, until, share_municipality, points,
                  with_data)


def portfolio_cusum(rows: Sequence[pd.DataFrame], guarantee_kwh_per_year: float, year_start: dt.date,
                    year_end: dt.date) -> pd.DataFrame:
    """Cumulative realised savings of the portfolio in the contract year (``realised_kwh``; rows of days and hours
    of different buildings merged in time order, a row without data adds nothing) and the guarantee pro rata
    (``guaranteed_kwh``: by days elapsed, including the row's day).  Indexed by naive local row start."""
    total = pd.concat([r["savings_kwh"] for r in rows], axis=1, sort=True).sum(axis=1, min_count=1)
    idx = pd.DatetimeIndex(total.index).tz_localize(None)
    total = total[(idx >= pd.Timestamp(year_start)) & (idx < pd.Timestamp(year_end))]
    days = pd.DatetimeIndex(total.index).tz_localize(None)
    due = guarantee_kwh_per_year * ((days - pd.Timestamp(year_start)).days + 1) / (year_end - year_start).days
    return pd.DataFrame({"realised_kwh": total.fillna(0.0).cumsum().to_numpy(), "guaranteed_kwh": due}, index=days)
