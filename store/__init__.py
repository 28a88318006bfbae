"""Where readings live: the durable spool and the time-series stores behind one interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from energimon.config.settings import StoreSettings
    from energimon.store.base import Store


def open_store(settings: StoreSettings, *, readonly: bool = False) -> Store:
    """The store the configuration asks for (the embedded SQLite store by default)."""
    if settings.kind == "sqlite":
        from energimon.store.sqlite import SqliteStore

        return SqliteStore(settings.path, readonly=readonly)
    raise ValueError(f"unknown store kind {settings.kind!r}")
