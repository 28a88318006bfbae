"""The M-Bus link layer (EN 13757-2; the M-Bus Usergroup's "The M-Bus: A Documentation", rev. 4.8, ch. 5).

Telegram formats (EN 13757-2, "Telegram formats"; M-Bus documentation 5.1):

=================  =====================================================
single character   ``E5``  (acknowledge)
short frame        ``10 C A CS 16``
control/long frame ``68 L L 68 C A CI [data …] CS 16``
=================  =====================================================

``L`` counts the bytes from ``C`` to the last data byte (3 for a control frame: C, A, CI); ``CS`` is the
sum of the same bytes modulo 256.

What the collector sends — **only reads**, nothing that changes a meter (an M-Bus "write" is ``SND_UD``
with application data: a new primary address, the meter's clock, a reset):

* ``SND_NKE`` (C = 40h): link reset, "initialise"; the meter answers ``E5``.
* ``REQ_UD2`` (C = 7Bh: frame-count bit FCB set, then 5Bh, 7Bh … for further telegrams of a multi-telegram
  answer): request class-2 data; the meter answers ``RSP_UD`` (C = 08h, with its access/data-flow bits
  18h/28h/38h), a long frame with CI = 72h.
* the secondary-address **select** (M-Bus documentation 7.1): ``SND_UD`` (C = 73h) to address 253 (FDh) with
  CI = 52h and 8 bytes (identification number, manufacturer, version, medium; F-nibbles/FFh are
  wildcards).  It selects a meter for the following requests and changes nothing in it; the meter
  answers ``E5``.  This is the only ``SND_UD`` the collector can build.

The control bytes are those of libmbus (``mbus_sendrecv_request``, ``mbus_frame_select_secondary_pack``: FCV
and FCB set on the first request), the master most meters have been tried against.

The builders below are the only source of bytes the collector puts on the wire (the client has no other
way to send).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACK = 0xE5
SHORT_START = 0x10
LONG_START = 0x68
STOP = 0x16

# C field (EN 13757-2 "Control field"; M-Bus documentation 5.2): bit 6 PRM (master -> slave), bit 5 FCB,
# bit 4 FCV, bits 3-0 the function.
C_SND_NKE = 0x40
C_SND_UD = 0x53
C_REQ_UD2 = 0x5B  # FCV = 1, FCB = 0
FCB = 0x20
C_RSP_UD = 0x08  # slave -> master; bits 4/5 (DFC/ACD) may be set: 08h, 18h, 28h, 38h

ADDRESS_MAX_PRIMARY = 250  # 0 (unconfigured) and 1-250; 251/252 reserved (M-Bus documentation 7.1)
ADDRESS_NETWORK_LAYER = 0xFD  # 253: the meter selected by secondary address
ADDRESS_BROADCAST_REPLY = 0xFE  # 254: every meter answers (only for test set-ups: collisions on a bus)

CI_SELECT = 0x52  # "selection of slaves", mode 1 (LSB first) (M-Bus documentation 6.1, 7.1)

MAX_LONG_L = 255
SECONDARY_RE = re.compile(r"^[0-9F]{8}$")
"""An 8-digit identification number as printed on the meter; ``F`` is a wildcard digit in a select."""

REQUESTS = {C_SND_NKE: "SND_NKE", C_REQ_UD2: "REQ_UD2", C_REQ_UD2 | FCB: "REQ_UD2", C_SND_UD: "SND_UD",
            C_SND_UD | FCB: "SND_UD"}


class FrameError(ValueError):
    """Bytes that are not a valid M-Bus frame; the message says what was wrong, in one line."""


def checksum(data: bytes) -> int:
    """The frame checksum: arithmetic sum of the bytes from C to the last data byte, modulo 256."""
    return sum(data) & 0xFF


def _short(c: int, address: int) -> bytes:
    if not 0 <= address <= 0xFF:
        raise ValueError(f"M-Bus address {address} is not 0-255")
    return bytes((SHORT_START, c, address, checksum(bytes((c, address))), STOP))


def snd_nke(address: int) -> bytes:
    """``SND_NKE`` to ``address``: ``10 40 A CS 16``."""
    return _short(C_SND_NKE, address)


def req_ud2(address: int, fcb: bool = True) -> bytes:
    """``REQ_UD2`` to ``address``: ``10 7B A CS 16`` (``10 5B …`` without the frame-count bit)."""
    return _short(C_REQ_UD2 | (FCB if fcb else 0), address)


def _long(c: int, address: int, ci: int, data: bytes) -> bytes:
    body = bytes((c, address, ci)) + data
    if len(body) > MAX_LONG_L:
        raise ValueError(f"a long frame carries at most {MAX_LONG_L} bytes from C on, not {len(body)}")
    return bytes((LONG_START, len(body), len(body), LONG_START)) + body + bytes((checksum(body), STOP))


@dataclass(frozen=True)
class SecondaryAddress:
    """What a select names: identification number (8 digits, ``F`` = any digit), and optionally the
    manufacturer (3 letters), version and medium (None = any)."""

    ident: str
    manufacturer: str | None = None
    version: int | None = None
    medium: int | None = None

    def __post_init__(self) -> None:
        if not SECONDARY_RE.match(self.ident):
            raise ValueError(f"secondary address {self.ident!r} is not 8 digits (0-9, F as a wildcard)")
        if self.manufacturer is not None:
            manufacturer_code(self.manufacturer)
        for name, v in (("version", self.version), ("medium", self.medium)):
            if v is not None and not 0 <= v <= 0xFE:
                raise ValueError(f"{name} {v} is not 0-254")

    def matches(self, ident: str, manufacturer: str, version: int, medium: int) -> bool:
        """Whether a meter with this header answers to the select (wildcards match anything)."""
        return (all(a in ("F", b) for a, b in zip(self.ident, ident, strict=True))
                and self.manufacturer in (None, manufacturer) and self.version in (None, version)
                and self.medium in (None, medium))

    def __str__(self) -> str:
        return self.ident + (f" {self.manufacturer}" if self.manufacturer else "")


def manufacturer_code(letters: str) -> int:
    """Three letters -> the 2-byte manufacturer field (EN 13757-3 "Manufacturer identification"; the FLAG
    association's list): ``(c1-64)·32² + (c2-64)·32 + (c3-64)``; KAM -> 2C2Dh."""
    if not re.fullmatch(r"[A-Z]{3}", letters or ""):
        raise ValueError(f"manufacturer {letters!r} is not three capital letters A-Z (e.g. KAM)")
    a, b, c = (ord(ch) - 64 for ch in letters)
    return a * 32 * 32 + b * 32 + c


def manufacturer_letters(code: int) -> str:
    """The inverse of :func:`manufacturer_code`; ``'???'`` for a code outside AAA-ZZZ."""
    letters = [(code >> 10) & 0x1F, (code >> 5) & 0x1F, code & 0x1F]
    if code >> 15 or not all(1 <= x <= 26 for x in letters):
        return "???"
    return "".join(chr(x + 64) for x in letters)


def select_secondary(target: SecondaryAddress) -> bytes:
    """The select: ``68 0B 0B 68 73 FD 52 ID ID ID ID MM MM VV ME CS 16`` (M-Bus documentation 7.1; the
    identification number BCD, least significant byte first, F-nibbles as wildcards)."""
    digits = target.ident
    ident = bytes(int(digits[i:i + 2], 16) for i in range(6, -1, -2))  # "12345678" -> 78 56 34 12
    man = 0xFFFF if target.manufacturer is None else manufacturer_code(target.manufacturer)
    tail = bytes((0xFF if target.version is None else target.version,
                  0xFF if target.medium is None else target.medium))
    return _long(C_SND_UD | FCB, ADDRESS_NETWORK_LAYER, CI_SELECT, ident + man.to_bytes(2, "little") + tail)


@dataclass(frozen=True)
class Frame:
    """A frame as received: ``kind`` is ``"ack"``, ``"short"`` or ``"long"`` (control frames are long frames
    without data)."""

    kind: str
    c: int = 0
    a: int = 0
    ci: int = 0
    data: bytes = b""
    raw: bytes = b""

    @property
    def is_rsp_ud(self) -> bool:
        return self.kind == "long" and (self.c & 0xCF) == C_RSP_UD


def _hex(data: bytes, n: int = 16) -> str:
    return data[:n].hex(" ") + (" …" if len(data) > n else "")


def expected_length(head: bytes) -> int | None:
    """How many bytes the frame starting with ``head`` has: known after 1 byte (E5, short) or 4 (long); None
    when more of the head is needed.  Raises :class:`FrameError` for a head that starts no frame."""
    if not head:
        return None
    first = head[0]
    if first == ACK:
        return 1
    if first == SHORT_START:
        return 5
    if first != LONG_START:
        raise FrameError(f"garbage: {_hex(head)} (no M-Bus frame starts with {first:02X}h; a collision of two "
                         "meters answering at once, or a gateway set to another baud rate?)")
    if len(head) < 4:
        return None
    if head[3] != LONG_START or head[1] != head[2]:
        raise FrameError(f"broken long-frame header {_hex(head[:4])} (expected 68 L L 68 with the same L twice)")
    if head[1] < 3:
        raise FrameError(f"long frame with L = {head[1]} (at least 3: C, A, CI)")
    return head[1] + 6


def parse_frame(raw: bytes) -> Frame:
    """One whole frame -> :class:`Frame`; :class:`FrameError` naming what is wrong (stop byte, checksum …)."""
    if not raw:
        raise FrameError("no bytes")
    n = expected_length(raw[:4])
    if n is None or len(raw) < n:
        raise FrameError(f"truncated frame: {len(raw)} of {n or '≥4'} bytes ({_hex(raw)})")
    if len(raw) > n:
        raise FrameError(f"{len(raw) - n} byte(s) after the end of the frame ({_hex(raw[n:])})")
    if raw[0] == ACK:
        return Frame("ack", raw=raw)
    if raw[-1] != STOP:
        raise FrameError(f"stop byte {raw[-1]:02X}h, expected 16h ({_hex(raw)})")
    body = raw[1:3] if raw[0] == SHORT_START else raw[4:-2]
    cs = raw[-2]
    if checksum(body) != cs:
        raise FrameError(f"checksum {cs:02X}h, but the bytes sum to {checksum(body):02X}h ({len(raw)}-byte frame "
                         "damaged on the line, or two meters answering at once)")
    if raw[0] == SHORT_START:
        return Frame("short", c=body[0], a=body[1], raw=raw)
    return Frame("long", c=body[0], a=body[1], ci=body[2], data=bytes(body[3:]), raw=raw)


def describe_request(raw: bytes) -> str:
    """A frame the master sent, in words (for logs and the simulator's record of what it received)."""
    try:
        f = parse_frame(raw)
    except FrameError as exc:
        return f"invalid frame ({exc})"
    name = REQUESTS.get(f.c, f"C={f.c:02X}h")
    if f.kind == "long" and f.c & ~FCB == C_SND_UD:
        name += " select" if f.ci == CI_SELECT else f" CI={f.ci:02X}h"
    return f"{name} to {f.a}"
