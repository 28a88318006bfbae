"""The public barometer's years and the climate account of one year, from the same store and configuration — each
through its own production wiring (the web's ``compute_view``; ``report climate``'s ``account_settings``), so a
test can hold the two to the same figures."""

from __future__ import annotations

import datetime as dt

from energimon.analytics.climate_account import Account, compute_account
from energimon.analytics.report.climate_cli import account_settings
from energimon.store.sqlite import SqliteStore
from energimon.web.app import create_app
from energimon.web.barometer import compute_view


def barometer_and_account(settings, now: dt.datetime, year: int, sites: list[str]) -> tuple[dict, Account]:
    """``({year: YearCo2}, account of year)`` at ``now`` (the store at ``settings.store.path`` already written)."""
    app = create_app(settings, clock=lambda: now)
    try:
        view = compute_view(app.state.web)
    finally:
        app.state.web.close()
    store = SqliteStore(settings.store.path, readonly=True)
    try:
        account = compute_account(store, account_settings(settings, store.series(), sites), year, today=now.date())
    finally:
        store.close()
    return {y.year: y for y in view.b.years}, account
