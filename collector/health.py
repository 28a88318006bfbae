"""A polled device's health, the same for every polling collector (Modbus, M-Bus): the daemon's status line,
``/metrics`` and ``energimon status`` read this one shape."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_BACKOFF_S = 300.0
"""The longest wait before retrying an unreachable device (Modbus and M-Bus alike)."""


def backoff_s(interval_s: float, failures: int) -> float:
    """How long an unreachable device waits before the next try: 1, 2, 4 … intervals, at most MAX_BACKOFF_S."""
    return min(interval_s * 2 ** max(0, failures - 1), MAX_BACKOFF_S)


@dataclass
class DeviceHealth:
    online: bool = False
    last_success_ms: int | None = None
    polls: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # error kind -> count since the daemon started
    missing_fields: int = 0  # channels configured but not read in the last poll

    def count(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())
