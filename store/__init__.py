"""Where readings live: the durable spool and the time-series stores behind one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from energimon.store.base import Store
    from energimon.store.settings import StoreSettings


def open_store(settings: StoreSettings, *, readonly: bool = False) -> Store:
    """The store the configuration asks for (the embedded SQLite store by default)."""
    if settings.kind == "sqlite":
        from energimon.store.sqlite import SqliteStore

        return SqliteStore(settings.path, readonly=readonly)
    if settings.kind == "influxdb":
        from energimon.store.influx import InfluxStore

        if settings.influxdb is None:
            raise ValueError("store.kind = 'influxdb' needs a [store.influxdb] table")
        return InfluxStore(settings.influxdb, readonly=readonly)
    raise ValueError(f"unknown store kind {settings.kind!r}")
