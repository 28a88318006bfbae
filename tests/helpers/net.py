"""The one ``free_port``: a free TCP port on 127.0.0.1 for a server a test starts (servers bind loopback only)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the kernel just handed out and released: free now (a server started right after binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
