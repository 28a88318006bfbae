"""The ``mqtt:`` block of ``energimon status``: each broker's connection, session and last message, from the
state file the collector keeps (:mod:`energimon.collector.mqtt.state`), read-only."""

from __future__ import annotations

import pandas as pd

from energimon.cliutil import local_time, number, t
from energimon.collector.mqtt.state import read_broker_states, state_path


def mqtt_lines(settings, now: pd.Timestamp) -> list[str]:
    """Each broker: connected or not (since when), the session-present flag of the last connection, the last
    message."""
    if settings.mqtt is None:
        return [t("  ikke sat op ([mqtt])", "  not configured ([mqtt])")]
    path = state_path(settings)
    try:
        brokers = read_broker_states(path)
    except (OSError, ValueError) as exc:
        return [t(f"  kan ikke læse {path}: {exc}", f"  cannot read {path}: {exc}")]
    if not brokers:
        return [t(f"  {path}: ingen forbindelse registreret endnu (dæmonen har ikke kørt med [mqtt])",
                  f"  {path}: no connection recorded yet (the daemon has not run with [mqtt])")]
    now_ms = int(now.timestamp() * 1000)
    lines = []
    for broker, st in sorted(brokers.items()):
        running = st.daemon_running
        when = local_time(st.since_ms) if st.since_ms else ""
        since = t(f" siden {when}", f" since {when}") if when else ""
        at = t(f" kl. {when}", f" at {when}") if when else ""
        if st.connected and running:
            text = t(f"forbundet{since}", f"connected{since}")
        elif st.connected:  # the daemon died without saying goodbye
            text = t(f"IKKE forbundet: dæmonen (pid {st.pid}) kører ikke; den var forbundet{since}",
                     f"NOT connected: the daemon (pid {st.pid}) is not running; it was connected{since}")
        elif st.stopped or not running:
            text = t(f"ikke forbundet: energimon stoppede{at}", f"not connected: energimon stopped{at}")
        else:
            text = (t(f"IKKE forbundet{since}", f"NOT connected{since}")
                    + (f": {st.last_error}" if st.last_error else ""))
        if st.session_present is True:
            text += t(", session bevaret: ja", ", session present: yes")
        elif st.session_lost:
            text += t(", session bevaret: NEJ — brokeren havde mistet vores session, beskeder kan være tabt",
                      ", session present: NO — the broker had lost our session, messages may have been lost")
        elif st.session_present is False:
            text += t(", session bevaret: nej (en ny session: første forbindelse med dette klient-id)",
                      ", session present: no (a new session: the first connection with this client id)")
        last = st.last_message_ms
        ago = number((now_ms - last) / 1000) if last else ""
        text += ((t(f", seneste besked for {ago} s siden ({local_time(last)})",
                    f", last message {ago} s ago ({local_time(last)})")) if last
                 else t(", ingen besked endnu", ", no message yet"))
        lines.append(f"  {broker} ({t('klient-id', 'client id')} {st.client_id or '?'}): {text}")
    return lines
