"""The ``mqtt:`` block of ``energimon status``: each broker's connection, session and last message, from the
state file the collector keeps (:mod:`energimon.collector.mqtt.state`), read-only."""

from __future__ import annotations

import pandas as pd

from energimon.cliutil import local_time
from energimon.collector.mqtt.state import read_broker_states, state_path


def mqtt_lines(settings, now: pd.Timestamp) -> list[str]:
    """Each broker: connected or not (since when), the session-present flag of the last connection, the last
    message."""
    if settings.mqtt is None:
        return ["  not configured ([mqtt])"]
    path = state_path(settings)
    try:
        brokers = read_broker_states(path)
    except (OSError, ValueError) as exc:
        return [f"  cannot read {path}: {exc}"]
    if not brokers:
        return [f"  {path}: no connection recorded yet (the daemon has not run with [mqtt])"]
    now_ms = int(now.timestamp() * 1000)
    lines = []
    for broker, st in sorted(brokers.items()):
        running = st.daemon_running
        since = f" since {local_time(st.since_ms)}" if st.since_ms else ""
        if st.connected and running:
            text = f"connected{since}"
        elif st.connected:  # the daemon died without saying goodbye
            text = f"NOT connected: the daemon (pid {st.pid}) is not running; it was connected{since}"
        elif st.stopped or not running:
            text = f"not connected: energimon stopped{since.replace(' since', ' at')}"
        else:
            text = f"NOT connected{since}" + (f": {st.last_error}" if st.last_error else "")
        if st.session_present is True:
            text += ", session present: yes"
        elif st.session_lost:
            text += ", session present: NO — the broker had lost our session, messages may have been lost"
        elif st.session_present is False:
            text += ", session present: no (a new session: the first connection with this client id)"
        last = st.last_message_ms
        text += (f", last message {(now_ms - last) / 1000:.0f} s ago ({local_time(last)})" if last
                 else ", no message yet")
        lines.append(f"  {broker} (client id {st.client_id or '?'}): {text}")
    return lines
