"""One event per line on stdout (journald picks it up), with site/device context."""

from __future__ import annotations

import logging
import sys
import time

CONTEXT_KEYS = ("site", "device")


class LineFormatter(logging.Formatter):
    """``2026-11-29T10:00:00Z INFO energimon.collector.modbus site=x device=y: message``"""

    converter = time.gmtime  # type: ignore[assignment]  # logging's documented way to log UTC; mypy binds it as a method

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ")
        ctx = "".join(f" {k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k))
        msg = record.getMessage()
        if record.exc_info:
            # keep one event on one line: the traceback is folded with " | "
            msg += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        return f"{stamp} {record.levelname} {record.name}{ctx}: {msg}".replace("\n", " | ")


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LineFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pymodbus logs every frame at DEBUG and its own errors at ERROR; we report device
    # problems ourselves with site/device context, once, instead of per frame.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
