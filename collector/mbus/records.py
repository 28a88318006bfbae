"""The M-Bus application layer (EN 13757-3): the fixed data header and the variable data records.

Written from the standard's layout (EN 13757-3, "Variable data structure"; the same tables are in the M-Bus
Usergroup's "The M-Bus: A Documentation", rev. 4.8, ch. 6 and 8.4, cited below as "M-Bus doc"):

* **CI field** (M-Bus doc 6.1): 72h = variable data respond with the 12-byte fixed header, least significant
  byte first (mode 1); 7Ah = with the 4-byte short header (no identification); 78h = no header; 70h = the meter
  reports an application error (one error byte); 76h (mode 2, most significant byte first) is refused.
* **Fixed data header** (M-Bus doc 6.3.1): identification number (4 bytes BCD), manufacturer (2 bytes),
  version, medium (device type), access number, status, signature (2 bytes).
* **Data record** = DIB (DIF + up to 10 DIFE) + VIB (VIF + up to 10 VIFE) + data (M-Bus doc 6.3.2-6.3.3):
  DIF bit 7 extension, bit 6 storage-number LSB, bits 5-4 function (instantaneous, maximum, minimum, value
  during error state), bits 3-0 data field (its length and coding); DIFE bit 7 extension, bit 6 subunit,
  bits 5-4 tariff, bits 3-0 storage number (each DIFE adds the next higher bits).
* **Data types** (EN 13757-3 Annex A, "Coding of data records"): A = BCD (an F in the highest digit: negative),
  B = signed binary integer, F = date and time (32 bit), G = date (16 bit), H = IEEE 754 float.
* **VIF codes** (M-Bus doc 8.4.3, "primary VIF"), the extension tables after FBh and FDh (8.4.4), and the
  combinable VIFEs (8.4.5): a multiplicative correction factor (10^(nnn-6), 10^3) is applied; any other
  combinable VIFE changes the meaning (per hour, "at phase", "accumulation of abs value
  only if negative" …) — such a record is kept but marked :attr:`Record.plain` False, and never mapped to a
  channel by a guess.

Values are scaled **exactly**: the raw integer (or the float's exact binary value) times the VIF's power of
ten, converted to the SI unit of the quantity (J -> Wh is /3600, min -> h is /60 …) as a rational number, and
only then rounded to the nearest float.  ``12345`` with VIF 13h (m³·10⁻³) is exactly ``12.345`` m³ as a
float, not ``12.344999…``.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from fractions import Fraction

from energimon.collector.mbus.frames import Frame, manufacturer_letters

CI_RSP_LONG_HEADER = 0x72
CI_RSP_SHORT_HEADER = 0x7A
CI_RSP_NO_HEADER = 0x78
CI_RSP_MODE2 = 0x76
CI_APPLICATION_ERROR = 0x70
MAX_DIFE = 10  # EN 13757-3: at most 10 DIFE and 10 VIFE per record
MAX_VIFE = 10

FUNCTIONS = ("instantaneous", "maximum", "minimum", "error_state")

# Application errors a meter may report with CI = 70h (M-Bus doc 6.6, "Application layer status").
APPLICATION_ERRORS = {0: "unspecified error", 1: "unimplemented CI field", 2: "buffer too long, truncated",
                      3: "too many records", 4: "premature end of record", 5: "more than 10 DIFEs",
                      6: "more than 10 VIFEs", 8: "application busy", 9: "too many readouts"}

# Medium / device type (EN 13757-7 device types; M-Bus doc 8.4.1): the ones a municipality's meters report.
MEDIA = {0x00: "other", 0x01: "oil", 0x02: "electricity", 0x03: "gas", 0x04: "heat (outlet)", 0x05: "steam",
         0x06: "warm water", 0x07: "water", 0x08: "heat cost allocator", 0x0A: "cooling (outlet)",
         0x0B: "cooling (inlet)", 0x0C: "heat (inlet)", 0x0D: "heat/cooling", 0x15: "hot water", 0x16: "cold water",
         0x17: "dual water", 0x18: "pressure", 0x1B: "room sensor"}
HEAT_MEDIA = frozenset({0x04, 0x0C, 0x0D})

# Status byte of the fixed header (M-Bus doc 6.3.1, "Coding of the status field").
STATUS_BITS = {0x01: "application busy", 0x02: "application error", 0x04: "power low", 0x08: "permanent error",
               0x10: "temporary error"}

# Data field (DIF bits 3-0) -> (length in bytes, coding) (M-Bus doc 6.3.2, "Coding of the data field").
# 0Dh (variable length) is read from its length byte; 0Fh are special functions.
DATA_FIELDS = {0x0: (0, "none"), 0x1: (1, "int"), 0x2: (2, "int"), 0x3: (3, "int"), 0x4: (4, "int"),
               0x5: (4, "real"), 0x6: (6, "int"), 0x7: (8, "int"), 0x8: (0, "none"), 0x9: (1, "bcd"),
               0xA: (2, "bcd"), 0xB: (3, "bcd"), 0xC: (4, "bcd"), 0xE: (6, "bcd")}

TEN = Fraction(10)


class RecordError(ValueError):
    """A telegram whose application data cannot be read; the message names the byte and what was wrong."""


@dataclass(frozen=True)
class Header:
    """The fixed data header (M-Bus doc 6.3.1).  ``ident`` is the 8-digit identification (secondary address,
    usually the meter's serial or customer number); empty with the short header."""

    ident: str
    manufacturer: str
    version: int
    medium: int
    access_no: int
    status: int
    signature: int

    @property
    def medium_name(self) -> str:
        return MEDIA.get(self.medium, f"medium {self.medium:02X}h")

    @property
    def status_text(self) -> str:
        return ", ".join(t for bit, t in STATUS_BITS.items() if self.status & bit) or "ok"


@dataclass(frozen=True)
class Unit:
    """What a VIF means: the quantity, its SI unit in energimon's terms, and the factor from the raw value."""

    quantity: str
    unit: str
    factor: Fraction


@dataclass(frozen=True)
class Record:
    """One data record.  ``value`` is the exactly scaled number in ``unit`` (None for dates, text, bytes, a
    BCD the meter marks invalid); ``raw`` is what the data field held; ``extensions`` are the VIFEs that
    were not understood or change the meaning (then :attr:`plain` is False)."""

    offset: int  # of its DIF in the application data
    dif: bytes
    vif: bytes
    function: str
    storage: int
    tariff: int
    subunit: int
    quantity: str
    unit: str
    value: float | None
    raw: object
    extensions: tuple[int, ...] = ()
    note: str = ""

    @property
    def plain(self) -> bool:
        """The current value of the meter's main register: no meaning-changing VIFE."""
        return not self.extensions

    @property
    def main(self) -> bool:
        """Instantaneous, storage 0, tariff 0, subunit 0, plain: the meter's current reading of the quantity."""
        return (self.function == "instantaneous" and self.storage == 0 and self.tariff == 0 and self.subunit == 0
                and self.plain)


@dataclass
class Telegram:
    """An ``RSP_UD`` answer: its header (None without one), its records and what else it carried."""

    header: Header | None
    records: list[Record] = field(default_factory=list)
    manufacturer_data: bytes = b""
    more_follows: bool = False  # DIF 1Fh: the meter has another telegram (request it with the FCB toggled)
    address: int = 0


# -- VIF tables ------------------------------------------------------------------------------------------------------

def _pow10(n: int) -> Fraction:
    return TEN ** n


_TIME_UNITS = (Fraction(1, 3600), Fraction(1, 60), Fraction(1), Fraction(24))  # s, min, h, d -> h


def primary_vif(code: int) -> Unit | None:
    """The primary VIF table (M-Bus doc 8.4.3), code = VIF without its extension bit.  Units are energimon's:
    energy in Wh, power in W, volume in m³, flow in m³/h, temperatures in °C, durations in hours."""
    n3, n2 = code & 0x07, code & 0x03
    if code <= 0x07:
        return Unit("energy", "Wh", _pow10(n3 - 3))  # E000 0nnn  Wh·10^(nnn-3)
    if code <= 0x0F:
        return Unit("energy", "Wh", _pow10(n3) / 3600)  # E000 1nnn  J·10^nnn  (1 Wh = 3600 J)
    if code <= 0x17:
        return Unit("volume", "m3", _pow10(n3 - 6))  # E001 0nnn  m³·10^(nnn-6)
    if code <= 0x1F:
        return Unit("mass", "kg", _pow10(n3 - 3))  # E001 1nnn  kg·10^(nnn-3)
    if code <= 0x23:
        return Unit("on_time", "h", _TIME_UNITS[n2])  # E010 00nn  on time, nn: s, min, h, d
    if code <= 0x27:
        return Unit("operating_time", "h", _TIME_UNITS[n2])  # E010 01nn  operating time
    if code <= 0x2F:
        return Unit("power", "W", _pow10(n3 - 3))  # E010 1nnn  W·10^(nnn-3)
    if code <= 0x37:
        return Unit("power", "W", _pow10(n3) / 3600)  # E011 0nnn  J/h·10^nnn
    if code <= 0x3F:
        return Unit("volume_flow", "m3/h", _pow10(n3 - 6))  # E011 1nnn  m³/h·10^(nnn-6)
    if code <= 0x47:
        return Unit("volume_flow", "m3/h", _pow10(n3 - 7) * 60)  # E100 0nnn  m³/min·10^(nnn-7)
    if code <= 0x4F:
        return Unit("volume_flow", "m3/h", _pow10(n3 - 9) * 3600)  # E100 1nnn  m³/s·10^(nnn-9)
    if code <= 0x57:
        return Unit("mass_flow", "kg/h", _pow10(n3 - 3))  # E101 0nnn  kg/h·10^(nnn-3)
    if code <= 0x5B:
        return Unit("flow_temperature", "degC", _pow10(n2 - 3))  # E101 10nn  °C·10^(nn-3)
    if code <= 0x5F:
        return Unit("return_temperature", "degC", _pow10(n2 - 3))  # E101 11nn
    if code <= 0x63:
        return Unit("temperature_difference", "K", _pow10(n2 - 3))  # E110 00nn  K·10^(nn-3)
    if code <= 0x67:
        return Unit("external_temperature", "degC", _pow10(n2 - 3))  # E110 01nn
    if code <= 0x6B:
        return Unit("pressure", "bar", _pow10(n2 - 3))  # E110 10nn  bar·10^(nn-3)
    if code == 0x6C:
        return Unit("date", "", Fraction(1))  # E110 1100  time point, date (type G)
    if code == 0x6D:
        return Unit("datetime", "", Fraction(1))  # E110 1101  time point, date and time (type F, I)
    if code == 0x6E:
        return Unit("hca_units", "1", Fraction(1))  # units for heat cost allocator
    if 0x70 <= code <= 0x73:
        return Unit("averaging_duration", "h", _TIME_UNITS[n2])
    if 0x74 <= code <= 0x77:
        return Unit("actuality_duration", "h", _TIME_UNITS[n2])
    if code == 0x78:
        return Unit("fabrication_no", "", Fraction(1))
    if code == 0x79:
        return Unit("identification", "", Fraction(1))
    if code == 0x7A:
        return Unit("bus_address", "", Fraction(1))
    return None  # 6Fh reserved; 7Bh, 7Ch, 7Dh, 7Eh, 7Fh are handled by the caller


def fb_vif(code: int) -> Unit | None:
    """The alternate extended VIF table after FBh (M-Bus doc 8.4.4, "codes for value information field
    extension", first table): the large units of big heat meters."""
    n = code & 0x01
    if code in (0x00, 0x01):
        return Unit("energy", "Wh", _pow10(n - 1) * 10**6)  # E000 000n  MWh·10^(n-1)
    if code in (0x08, 0x09):
        return Unit("energy", "Wh", _pow10(n - 1) * 10**9 / 3600)  # E000 100n  GJ·10^(n-1)
    if code in (0x10, 0x11):
        return Unit("volume", "m3", _pow10(n + 2))  # E001 000n  m³·10^(n+2)
    if code in (0x18, 0x19):
        return Unit("mass", "kg", _pow10(n + 2) * 1000)  # E001 100n  t·10^(n+2)
    if code in (0x28, 0x29):
        return Unit("power", "W", _pow10(n - 1) * 10**6)  # E010 100n  MW·10^(n-1)
    if code in (0x30, 0x31):
        return Unit("power", "W", _pow10(n - 1) * 10**9 / 3600)  # E011 000n  GJ/h·10^(n-1)
    return None


FD_CODES = {0x08: "access_number", 0x09: "medium", 0x0A: "manufacturer", 0x0B: "parameter_set",
            0x0C: "model_version", 0x0D: "hardware_version", 0x0E: "firmware_version", 0x0F: "software_version",
            0x11: "customer", 0x16: "password", 0x17: "error_flags", 0x1A: "digital_output",
            0x1B: "digital_input"}
"""The main VIFE-code extension table after FDh (M-Bus doc 8.4.4, second table), the entries that carry
no unit.  17h "error flags (binary)" is the standard's place for a meter's error bits."""


def _correction(vife: int) -> Fraction | None:
    """A combinable VIFE that only scales the value: its factor, or None (M-Bus doc 8.4.5: E111 0nnn
    multiplicative correction factor 10^(nnn-6); E111 1101 multiplicative correction factor 10³).  The additive
    correction (E111 10nn, an offset in the VIF's unit) is rare and left unapplied: such a record is not plain."""
    code = vife & 0x7F
    if 0x70 <= code <= 0x77:
        return _pow10((code & 0x07) - 6)
    if code == 0x7D:
        return Fraction(1000)
    return None


# -- data types ------------------------------------------------------------------------------------------------------

def decode_int(data: bytes) -> int:
    """Type B: signed binary integer, least significant byte first."""
    return int.from_bytes(data, "little", signed=True)


def decode_bcd(data: bytes) -> int | None:
    """Type A: BCD, least significant byte first; an F in the highest digit means negative.  None when a
    digit is not 0-9 (meters send e.g. all-F to say "no value"): missing is not zero."""
    digits = "".join(f"{b:02X}" for b in reversed(data))
    sign = 1
    if digits[0] == "F":
        sign, digits = -1, "0" + digits[1:]
    if not digits.isdigit():
        return None
    return sign * int(digits)


def decode_type_g(data: bytes) -> dt.date | None:
    """Type G (16 bit): day = b0 bits 0-4, month = b1 bits 0-3, year = b0 bits 5-7 (low) + b1 bits 4-7 (high),
    two digits (EN 13757-3 Annex A).  None for an invalid date (e.g. 0 / all ones: not set)."""
    day, month = data[0] & 0x1F, data[1] & 0x0F
    year = ((data[0] & 0xE0) >> 5) | ((data[1] & 0xF0) >> 1)
    try:
        return dt.date(2000 + year, month, day)
    except ValueError:
        return None


def decode_type_f(data: bytes) -> dt.datetime | None:
    """Type F (32 bit): minute b0 bits 0-5 (bit 7: invalid), hour b1 bits 0-4 (bit 7: summer time), then
    the date as type G in b2-b3 (EN 13757-3 Annex A).  The meter's own local time, without a zone."""
    if data[0] & 0x80:
        return None
    d = decode_type_g(data[2:4])
    minute, hour = data[0] & 0x3F, data[1] & 0x1F
    if d is None or minute > 59 or hour > 23:
        return None
    return dt.datetime(d.year, d.month, d.day, hour, minute)


def decode_real(data: bytes) -> float:
    """Type H: IEEE 754 single precision, least significant byte first."""
    return struct.unpack("<f", data)[0]


# -- parsing ---------------------------------------------------------------------------------------------------------

def parse_header(data: bytes) -> Header:
    """The 12-byte fixed data header (CI 72h)."""
    if len(data) < 12:
        raise RecordError(f"the fixed data header needs 12 bytes, the telegram has {len(data)}")
    ident_bcd = decode_bcd(data[0:4])
    ident = f"{ident_bcd:08d}" if ident_bcd is not None and ident_bcd >= 0 else data[0:4][::-1].hex().upper()
    return Header(ident=ident, manufacturer=manufacturer_letters(int.from_bytes(data[4:6], "little")),
                  version=data[6], medium=data[7], access_no=data[8], status=data[9],
                  signature=int.from_bytes(data[10:12], "little"))


def parse_telegram(frame: Frame) -> Telegram:
    """The application data of an ``RSP_UD`` long frame -> :class:`Telegram`; :class:`RecordError` naming what
    could not be read."""
    if frame.kind != "long":
        raise RecordError(f"expected a long frame (RSP_UD), got a {frame.kind} frame")
    if frame.ci == CI_APPLICATION_ERROR:
        code = frame.data[0] if frame.data else 0
        raise RecordError(f"the meter reports an application error: {APPLICATION_ERRORS.get(code, f'code {code}')}")
    if frame.ci == CI_RSP_MODE2:
        raise RecordError("the meter answers in mode 2 (CI 76h, most significant byte first), which is not "
                          "supported: configure it for mode 1 (CI 72h)")
    if frame.ci == CI_RSP_LONG_HEADER:
        header, body, base = parse_header(frame.data), frame.data[12:], 12
    elif frame.ci == CI_RSP_SHORT_HEADER:
        if len(frame.data) < 4:
            raise RecordError(f"the short data header needs 4 bytes, the telegram has {len(frame.data)}")
        d = frame.data
        header = Header("", "", 0, 0, d[0], d[1], int.from_bytes(d[2:4], "little"))
        body, base = d[4:], 4
    elif frame.ci == CI_RSP_NO_HEADER:
        header, body, base = None, frame.data, 0
    else:
        raise RecordError(f"CI field {frame.ci:02X}h is not a variable-data answer (72h, 7Ah or 78h)")
    tel = Telegram(header, address=frame.a)
    parse_records(body, tel, base)
    return tel


def parse_records(data: bytes, into: Telegram, base: int = 0) -> Telegram:
    """The data records of ``data`` (``base``: their offset in the application data, for messages)."""
    i = 0
    n = len(data)
    while i < n:
        start = i
        dif = data[i]
        i += 1
        if dif == 0x2F:  # idle filler
            continue
        if dif in (0x0F, 0x1F):  # manufacturer-specific data to the end; 1Fh: and more telegrams follow
            into.manufacturer_data = bytes(data[i:])
            into.more_follows = dif == 0x1F
            break
        if (dif & 0x0F) == 0x0F:
            raise RecordError(f"byte {base + start}: DIF {dif:02X}h is a reserved special function")
        difs = [dif]
        while difs[-1] & 0x80:
            if i >= n:
                raise RecordError(f"byte {base + start}: the telegram ends inside the DIFEs of a record")
            if len(difs) > MAX_DIFE:
                raise RecordError(f"byte {base + start}: more than {MAX_DIFE} DIFEs")
            difs.append(data[i])
            i += 1
        if i >= n:
            raise RecordError(f"byte {base + start}: the telegram ends before the VIF of a record (DIF {dif:02X}h)")
        vif = data[i]
        i += 1
        vifs = [vif]
        text_unit = ""
        if (vif & 0x7F) == 0x7C:  # plain-text VIF: length and ASCII (last character first)
            if i >= n or i + 1 + data[i] > n:
                raise RecordError(f"byte {base + start}: the telegram ends inside a plain-text VIF")
            text_unit = bytes(data[i + 1:i + 1 + data[i]])[::-1].decode("ascii", "replace")
            i += 1 + data[i]
        while vifs[-1] & 0x80:
            if i >= n:
                raise RecordError(f"byte {base + start}: the telegram ends inside the VIFEs of a record")
            if len(vifs) > MAX_VIFE:
                raise RecordError(f"byte {base + start}: more than {MAX_VIFE} VIFEs")
            vifs.append(data[i])
            i += 1
        field_code = dif & 0x0F
        if field_code == 0x0D:
            if i >= n:
                raise RecordError(f"byte {base + start}: the telegram ends before the length of a variable field")
            lvar = data[i]
            i += 1
            length, coding = _variable(lvar, base + start)
        else:
            length, coding = DATA_FIELDS[field_code]
        if i + length > n:
            raise RecordError(f"byte {base + start}: the record needs {length} data bytes, {n - i} are left "
                              f"(DIF {dif:02X}h VIF {vif:02X}h: a truncated telegram)")
        payload = bytes(data[i:i + length])
        i += length
        into.records.append(_record(base + start, difs, vifs, coding, payload, text_unit))
    return into


def _variable(lvar: int, where: int) -> tuple[int, str]:
    """LVAR of a variable-length field (EN 13757-3 Annex A, "variable length"): 00h-BFh ASCII, C0h-C9h positive
    and D0h-D9h negative BCD (2 digits per byte), E0h-EFh binary (LVAR-E0h bytes)."""
    if lvar <= 0xBF:
        return lvar, "text"
    if 0xC0 <= lvar <= 0xC9:
        return lvar - 0xC0, "bcd"
    if 0xD0 <= lvar <= 0xD9:
        return lvar - 0xD0, "-bcd"
    if 0xE0 <= lvar <= 0xEF:
        return lvar - 0xE0, "bytes"
    raise RecordError(f"byte {where}: variable-length field with LVAR {lvar:02X}h (reserved or not supported)")


def _storage_tariff_subunit(difs: list[int]) -> tuple[int, int, int]:
    storage = (difs[0] >> 6) & 0x01
    tariff = subunit = 0
    for k, dife in enumerate(difs[1:]):
        storage |= (dife & 0x0F) << (1 + 4 * k)
        tariff |= ((dife >> 4) & 0x03) << (2 * k)
        subunit |= ((dife >> 6) & 0x01) << k
    return storage, tariff, subunit


def _unit_of(vifs: list[int]) -> tuple[Unit | None, list[int], str]:
    """(unit, VIFEs not yet interpreted, quantity name when there is no unit)."""
    code = vifs[0] & 0x7F
    rest = vifs[1:]
    if code == 0x7B:  # FBh: alternate extended table
        if not rest:
            return None, [], "fb"
        return fb_vif(rest[0] & 0x7F), rest[1:], f"fb:{rest[0] & 0x7F:02X}"
    if code == 0x7D:  # FDh: main extension table
        if not rest:
            return None, [], "fd"
        sub = rest[0] & 0x7F
        name = FD_CODES.get(sub, f"fd:{sub:02X}")
        return (Unit(name, "1", Fraction(1)) if sub in FD_CODES else None), rest[1:], name
    if code == 0x7F:  # manufacturer specific: the VIFEs are the manufacturer's
        return None, rest, "manufacturer"
    if code == 0x7C:
        return Unit("plain_text_unit", "", Fraction(1)), rest, "plain_text_unit"
    if code == 0x7E:
        return None, rest, "any"
    unit = primary_vif(code)
    return unit, rest, "" if unit else f"vif:{code:02X}"


def _record(offset: int, difs: list[int], vifs: list[int], coding: str, payload: bytes, text_unit: str) -> Record:
    dif = difs[0]
    function = FUNCTIONS[(dif >> 4) & 0x03]
    storage, tariff, subunit = _storage_tariff_subunit(difs)
    unit, vifes, name = _unit_of(vifs)
    factor = Fraction(1)
    unknown: list[int] = []
    manufacturer = (vifs[0] & 0x7F) == 0x7F
    for v in vifes:
        corr = None if manufacturer else _correction(v)
        if corr is None:
            unknown.append(v)
        else:
            factor *= corr
    raw: object
    exact: Fraction | None = None
    note = ""
    if coding == "int":
        raw = decode_int(payload) if payload else None
        exact = Fraction(raw) if raw is not None else None
    elif coding in ("bcd", "-bcd"):
        raw = decode_bcd(payload)
        if raw is None:
            note = f"BCD {payload[::-1].hex().upper()} holds a non-digit: no value"
        else:
            raw = -raw if coding == "-bcd" else raw
            exact = Fraction(raw)
    elif coding == "real":
        raw = decode_real(payload)
        if raw != raw or raw in (float("inf"), float("-inf")):
            note = "not a finite number: no value"
        else:
            exact = Fraction(raw)
    elif coding == "text":
        raw = payload[::-1].decode("ascii", "replace")
    else:
        raw = payload
    quantity = unit.quantity if unit else name
    if unit is not None and unit.quantity == "date" and len(payload) == 2:
        raw, exact = decode_type_g(payload), None
    elif unit is not None and unit.quantity == "datetime" and len(payload) == 4:
        raw, exact = decode_type_f(payload), None
    elif unit is not None and unit.quantity in ("date", "datetime"):
        exact = None  # type I (48 bit) and others: kept raw
    value = None
    if exact is not None and unit is not None and unit.unit:
        value = float(exact * factor * unit.factor)
    elif exact is not None and unit is None:
        value = float(exact)  # manufacturer-specific and unknown codes: the number as sent, no unit
    return Record(offset=offset, dif=bytes(difs), vif=bytes(vifs), function=function, storage=storage, tariff=tariff,
                  subunit=subunit, quantity=quantity, unit=(unit.unit if unit else "") or text_unit, value=value,
                  raw=raw, extensions=tuple(unknown), note=note)


def describe_record(r: Record) -> str:
    """One record in words, for ``energimon mbus-probe --records`` and logs."""
    where = []
    if r.storage:
        where.append(f"storage {r.storage}")
    if r.tariff:
        where.append(f"tariff {r.tariff}")
    if r.subunit:
        where.append(f"subunit {r.subunit}")
    if r.function != "instantaneous":
        where.append(r.function)
    if r.extensions:
        where.append("VIFE " + " ".join(f"{v:02X}" for v in r.extensions))
    # the number in full (123456000 Wh, not 1.23456e+08): the meters' registers are read digit for digit
    number = f"{r.value:.6f}".rstrip("0").rstrip(".") if r.value is not None else ""
    shown = f"{number} {r.unit}".strip() if r.value is not None else str(r.raw)
    return (f"{r.dif.hex().upper()} {r.vif.hex().upper()} {r.quantity}: {shown}"
            + (f" ({', '.join(where)})" if where else "") + (f" [{r.note}]" if r.note else ""))
