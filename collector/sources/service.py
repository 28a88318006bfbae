"""Building the configured sources and running one of them (for the daemon's jobs and the CLI)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from energimon.collector.sources.base import Source
from energimon.collector.sources.http import HttpClient
from energimon.collector.sources.runner import RunSummary, Sink, SourceRunner, source_lock
from energimon.collector.sources.state import SourceState

SOURCE_NAMES = ("eloverblik", "energidataservice", "dmi")

# httpx logs every request at INFO: the run summary says what matters, once
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


def state_path(settings) -> Path:
    """``[sources] state_path``, else ``sources.db`` in the spool's folder (the daemon's state directory)."""
    return settings.sources.state_path or settings.spool.path.parent / "sources.db"


def make_source(name: str, settings, state: SourceState | None = None,
                stop: threading.Event | None = None) -> Source:
    """The source ``name`` as configured in ``[sources.NAME]`` (ValueError if it is not configured)."""
    src = settings.sources
    cfg = getattr(src, name, None) if src is not None and name in SOURCE_NAMES else None
    if cfg is None:
        configured = ", ".join(src.configured()) if src is not None else "none"
        raise ValueError(f"source {name!r} is not configured ([sources.{name}]); configured: {configured}")
    opts = dict(timeout_s=src.timeout_s, max_retries=src.max_retries, max_wait_s=src.max_wait_s, stop=stop)
    if name == "eloverblik":
        from energimon.collector.sources.eloverblik.source import EloverblikSource

        return EloverblikSource(cfg, HttpClient("eloverblik", cfg.base_url, **opts))
    if name == "energidataservice":
        from energimon.collector.sources.energidataservice.source import EnergiDataServiceSource

        return EnergiDataServiceSource(cfg, HttpClient("energidataservice", cfg.base_url, **opts))
    from energimon.collector.sources.dmi.source import DmiSource

    headers = {"X-Gravitee-Api-Key": cfg.api_key.get_secret_value()} if cfg.api_key is not None else None
    climate = None
    if cfg.climate_data:  # its own API with its own key (DMI gives one key per API)
        key = cfg.climate_api_key
        climate = HttpClient("dmi", cfg.climate_base_url, **opts,
                             headers={"X-Gravitee-Api-Key": key.get_secret_value()} if key is not None else None)
    return DmiSource(cfg, HttpClient("dmi", cfg.base_url, headers=headers, **opts), settings.sites, state, climate)


def run_source(settings, name: str, sink: Sink, *, since_ms: int | None = None,
               stop: threading.Event | None = None, progress=None) -> RunSummary:
    """One run of one source, holding its lock (raises :class:`SourceBusy` if another process runs it)."""
    path = state_path(settings)
    with source_lock(path, name):
        state = SourceState(path)
        try:
            source = make_source(name, settings, state, stop)
            try:
                runner = SourceRunner(state, sink, backfill_days=settings.sources.backfill_days,
                                      revision_days=settings.sources.revision_days)
                return runner.run(source, since_ms=since_ms, stop=stop, progress=progress)
            finally:
                source.close()
        finally:
            state.close()
