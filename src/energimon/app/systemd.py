"""systemd ``Type=notify`` readiness and watchdog, without a dependency.

The protocol is one datagram to ``$NOTIFY_SOCKET`` (sd_notify(3)).  Without
systemd the variable is unset and every call is a no-op.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
        return True
    except OSError:
        return False


def watchdog_interval_s() -> float | None:
    """Half the watchdog timeout systemd asked for (``WATCHDOG_USEC``), or None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000 / 2
    except ValueError:
        return None
