"""Which device is answering: its identity (manufacturer, model, serial number …), kept for `status`,
and serial-number changes detected.

Where the identity comes from
    SunSpec model 1 (Mn, Md, Opt, Vr, SN) for ``profile = "sunspec"``; a profile's ``info`` registers
    otherwise (:class:`~energimon.collector.modbus.fields.InfoField`).  The poller reads it on every new
    connection and every :data:`IDENTITY_REFRESH_POLLS` polls (behind an RS485 gateway a device can be
    swapped or renumbered without the TCP connection dropping).

Where it is kept: ``devices.json`` in the daemon's state folder (next to the spool and ``jobs.db``)
    One small JSON object per site/device: the identity, since when it has been seen, and the serial
    changes.  It is written only when something changed (first seen, different identity), atomically
    (a temporary file renamed over the old one), so ``energimon status`` in another process never reads
    half a file and needs no lock; a person can read it with ``cat``.  It also carries the last known
    serial across daemon restarts, so an inverter swapped while the daemon was stopped is noticed.
    (The store holds numbers only, and the spool and the store belong to the readings; a file of its
    own keeps identity out of both.)

A serial number that changes
    (a swapped inverter, a wrong unit id, two devices sharing one) is logged once per change (WARNING
    with site, device, old and new serial), counted in ``serial_changes`` (kept in the file and stored
    with every poll that delivered values, as a series of the device, like ``poll_errors``: a
    data-quality signal that rules can use - a counter reset at that moment is a device swap, not a
    fault) and shown by ``energimon status``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IDENTITY_REFRESH_POLLS = 60  # at a 10 s interval: every 10 minutes
STATE_FILE = "devices.json"
FORMAT_VERSION = 1


def device_info_path(settings) -> Path:
    """``devices.json`` in the spool's folder (the daemon's state directory, like ``jobs.db``)."""
    return settings.spool.path.parent / STATE_FILE


@dataclass
class SerialChange:
    at_ms: int
    old: str
    new: str


@dataclass
class DeviceRecord:
    """What the daemon knows about the device answering for one configured site/device."""

    info: dict[str, str]
    since_ms: int  # when this identity was first seen
    source: str = ""  # "sunspec" or the profile name
    serial_changes: int = 0
    last_change: SerialChange | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceRecord:
        change = data.get("last_change")
        return cls(info={str(k): str(v) for k, v in dict(data.get("info") or {}).items()},
                   since_ms=int(data.get("since_ms") or 0), source=str(data.get("source") or ""),
                   serial_changes=int(data.get("serial_changes") or 0),
                   last_change=SerialChange(int(change["at_ms"]), str(change["old"]), str(change["new"]))
                   if change else None)


def _key(site: str, device: str) -> str:
    return f"{site}/{device}"


def read_device_info(path: Path) -> dict[tuple[str, str], DeviceRecord]:
    """The records in ``devices.json`` (empty when the file does not exist yet).

    Raises ValueError naming the file when it cannot be read as such a file.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
        out = {}
        for key, rec in dict(data.get("devices") or {}).items():
            site, _, device = key.partition("/")
            out[(site, device)] = DeviceRecord.from_json(rec)
        return out
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"{path}: not a device-info file ({exc})") from None


class DeviceInfoFile:
    """The daemon's ``devices.json``: loaded once, rewritten atomically on every change (thread-safe)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._records = read_device_info(self.path)
        except ValueError:
            self._records = {}  # a damaged file is replaced on the first change; nothing in it is a reading

    def get(self, site: str, device: str) -> DeviceRecord | None:
        with self._lock:
            return self._records.get((site, device))

    def put(self, site: str, device: str, record: DeviceRecord) -> None:
        with self._lock:
            self._records[(site, device)] = record
            data = {"format": FORMAT_VERSION,
                    "devices": {_key(s, d): r.to_json() for (s, d), r in sorted(self._records.items())}}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".devices-", suffix=".json", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, ensure_ascii=False, indent=1)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise


@dataclass
class IdentityTracker:
    """One device's identity over time: what is new, and whether the serial number changed."""

    source: str
    record: DeviceRecord | None = None  # the last known identity (from devices.json at start)
    _logged: set[tuple[str, str]] = field(default_factory=set)

    @property
    def serial_changes(self) -> int:
        return self.record.serial_changes if self.record else 0

    def observe(self, info: dict[str, str], now_ms: int) -> tuple[bool, SerialChange | None, bool]:
        """Take a fresh reading of the identity.

        Returns (changed: the record must be saved, serial change if any, log it: first time this
        old → new change is seen in this run).
        """
        if not info:
            return False, None, False
        rec = self.record
        if rec is None:
            self.record = DeviceRecord(dict(info), now_ms, self.source)
            return True, None, False
        old, new = rec.info.get("serial"), info.get("serial")
        change = None
        if old and new and old != new:
            change = SerialChange(now_ms, old, new)
            self.record = DeviceRecord(dict(info), now_ms, self.source, rec.serial_changes + 1, change)
        else:
            merged = {**rec.info, **info}  # a value that could not be read this time keeps its last one
            if merged == rec.info and rec.source == self.source:
                return False, None, False
            self.record = DeviceRecord(merged, rec.since_ms, self.source, rec.serial_changes, rec.last_change)
        log_it = False
        if change is not None and (change.old, change.new) not in self._logged:
            self._logged.add((change.old, change.new))
            log_it = True
        return True, change, log_it


def describe(info: dict[str, str]) -> str:
    """``manufacturer model, serial S, version V`` - the parts that are known."""
    head = " ".join(v for v in (info.get("manufacturer"), info.get("model")) if v)
    parts = [head] if head else []
    parts += [f"{label} {info[k]}" for k, label in (("serial", "serial"), ("version", "version"),
                                                     ("options", "options")) if info.get(k)]
    return ", ".join(parts) or "no identity"
