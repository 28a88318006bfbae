"""How far behind each fetched series is, for ``energimon status``.

Read-only on the sources' state file, so it works from another process while the daemon fetches.  The alerts do
not read this file: ``import_lag`` (``analytics/anomaly/sources.py``) judges the fetched series from the store, as
it judges every imported series.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from energimon.cliutil import number, t
from energimon.collector.sources.state import read_status
from energimon.model import LOCAL_TZ, now_ms


def _ago(days: float) -> str:
    if days < 2:
        return t(f"{number(days * 24)} t", f"{number(days * 24)} h")
    return t(f"{number(days, 1)} d", f"{number(days, 1)} d")


def status_lines(state_path: Path, configured: list[str], now: int | None = None) -> list[str]:
    """``energimon status``: one line per source (series, worst lag, failures) and one per failing series, in the
    run's language (``cliutil.t``); a source's error text is quoted as it was recorded."""
    if not configured:
        return [t("  ingen live-kilder sat op ([sources])", "  no live sources configured ([sources])")]
    if not Path(state_path).exists():
        return [t(f"  {state_path}: intet hentet endnu (dæmonen har ikke kørt kilderne)",
                  f"  {state_path}: nothing fetched yet (the daemon has not run the sources)")]
    try:
        rows = read_status(state_path)
    except sqlite3.Error as exc:
        return [t(f"  kan ikke læse {state_path}: {exc}", f"  cannot read {state_path}: {exc}")]
    now = now_ms() if now is None else now
    lines = []
    for source in configured:
        mine = [r for r in rows if r.source == source]
        if not mine:
            lines.append(t(f"  {source}: ikke kørt endnu", f"  {source}: not run yet"))
            continue
        lagging = [(lag, r) for r in mine if (lag := r.lag_s(now)) is not None]
        empty = [r for r in mine if r.last_end_ms is None]
        failing = [r for r in mine if r.last_error]
        text = t(f"  {source}: {number(len(mine))} serier", f"  {source}: {number(len(mine))} series")
        if lagging:
            worst_s, worst = max(lagging, key=lambda lr: lr[0])
            newest, most = _ago(min(lr[0] for lr in lagging) / 86400), _ago(worst_s / 86400)
            text += t(f", seneste værdi {newest} gammel, mest bagud {worst.key_text} {most}",
                      f", latest value {newest} old, most behind {worst.key_text} {most}")
        if empty:
            text += t(f", {number(len(empty))} uden værdier endnu", f", {number(len(empty))} without values yet")
        text += t(f", {number(len(failing))} FEJLER", f", {number(len(failing))} FAILING") if failing else ", ok"
        lines.append(text)
        lines += [t(f"    {r.key_text}: {r.last_error} (siden {_local(r.last_error_ms)})",
                    f"    {r.key_text}: {r.last_error} (since {_local(r.last_error_ms)})") for r in failing]
    return lines


def _local(ms: int | None) -> str:
    import datetime as dt

    if ms is None:
        return "?"
    return dt.datetime.fromtimestamp(ms / 1000, tz=LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
