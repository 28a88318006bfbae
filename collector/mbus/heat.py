"""Which records of a heat meter's ``RSP_UD`` become which energimon channel.

Only a meter's **current main values** are taken: instantaneous (not the maximum, minimum or "value during
error state" — a MULTICAL's error-hour counter is the on-time "during error state"), storage 0 (storage 1…
are the values logged at the billing/target date), tariff 0 and subunit 0 (tariff registers, and the
pulse inputs VA/VB a MULTICAL reports as subunits 1-3), and without a VIFE that changes the meaning.  The
first such record of a quantity wins (the standard lists the main register first; a second one is noted).

==========================  ============================================  =====================
quantity (VIF)              EN 13757-3 VIF                                channel
==========================  ============================================  =====================
energy                      00h-07h Wh·10ⁿ, 08h-0Fh J·10ⁿ, FB 00/01 MWh,  ``heat_energy_wh``
                            FB 08/09 GJ
volume                      10h-17h m³·10ⁿ, FB 10/11                      ``volume_m3``
volume flow                 38h-3Fh m³/h, 40h-47h m³/min, 48h-4Fh m³/s    ``flow_m3_h``
power                       28h-2Fh W·10ⁿ, 30h-37h J/h, FB 28/29 MW       ``heat_power_w``
flow temperature            58h-5Bh °C·10ⁿ                                ``supply_temp_c``
return temperature          5Ch-5Fh °C·10ⁿ                                ``return_temp_c``
on time / operating time    20h-23h / 24h-27h (s, min, h, days)           ``operating_time_h``
info code                   Kamstrup: VIF FFh VIFE 22h (manufacturer);    ``info_code``
                            otherwise FD 17h "error flags"
status byte of the header   M-Bus doc 6.3.1                               ``meter_status``
==========================  ============================================  =====================

A MULTICAL sends the forward temperature t1 as "flow temperature" and the return t2 as "return
temperature" (both VIF 59h/5Dh, 0.01 °C), its heat energy E1 as VIF 06h (kWh), 07h (0.01 MWh) or 0Eh/0Fh
(MJ/0.01 GJ) depending on how it was configured, volume V1 as 13h/14h (0.001/0.01 m³), flow as 3Bh (l/h),
power as 2Dh (0.1 kW), the operating hour counter as 22h (hours) and its info code as ``04 FF 22``
(Kamstrup, MULTICAL 603 technical description 5512-2029, "Information code types on serial communication";
the same records appear in the MULTICAL 603's wireless telegrams decoded by wmbusmeters' ``multical603``
driver).  The VIF carries the unit, so a meter configured for GJ needs no setting here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from energimon.collector.mbus.records import DATA_FIELDS, Record, Telegram

CHANNEL_OF = {
    "energy": "heat_energy_wh",
    "volume": "volume_m3",
    "volume_flow": "flow_m3_h",
    "power": "heat_power_w",
    "flow_temperature": "supply_temp_c",
    "return_temperature": "return_temp_c",
    "on_time": "operating_time_h",
    "operating_time": "operating_time_h",
}
EXPECTED = ("heat_energy_wh", "volume_m3", "flow_m3_h", "heat_power_w", "supply_temp_c", "return_temp_c")
"""What every heat meter's answer should carry: one that lacks any is counted in ``fields_missing``."""
EXPECTED_BY_ROLE = {"water": ("volume_m3",), "gas": ("volume_m3",)}
"""A water or gas meter on the bus carries a volume only (no temperatures, no energy): not missing fields."""

KAMSTRUP = "KAM"
KAMSTRUP_INFO_VIF = bytes((0xFF, 0x22))

# Kamstrup MULTICAL 603 info code bits (technical description 5512-2029, "Information code types on serial
# communication"; as listed by wmbusmeters' multical603 driver): the ones a facility manager can act on.
KAMSTRUP_INFO_BITS = {
    0: "supply voltage interrupted", 1: "low battery", 2: "sensor error", 3: "t1 above measuring range",
    4: "t2 above measuring range", 5: "t1 below measuring range", 6: "t2 below measuring range",
    7: "temperature difference has the wrong sign (t1 < t2)", 8: "flow sensor V1: weak signal or air",
    9: "flow V1 in the wrong direction", 11: "flow V1 above the meter's range", 12: "leak (input A1)",
    13: "leak (input B1)", 16: "V1 communication error", 17: "V1 wrong pulse figure",
}


@dataclass
class HeatValues:
    """The channel values of one answer, and what was noticed on the way (for a log line)."""

    values: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    records: dict[str, Record] = field(default_factory=dict)  # the record each value came from

    @property
    def missing(self) -> list[str]:
        return [c for c in EXPECTED if c not in self.values]


def _unsigned(r: Record) -> int | None:
    """A bit field sent as a binary integer: its unsigned value (the decoder reads type B as signed)."""
    if not isinstance(r.raw, int):
        return None
    length = DATA_FIELDS.get(r.dif[0] & 0x0F, (0, ""))[0]
    return r.raw % (1 << (8 * length)) if length else r.raw


def heat_values(tel: Telegram) -> HeatValues:
    """The current values of a heat meter's answer, by channel."""
    out = HeatValues()
    manufacturer = tel.header.manufacturer if tel.header else ""
    for r in tel.records:
        ch = CHANNEL_OF.get(r.quantity)
        if ch is not None and r.main:
            if r.value is None:
                out.notes.append(f"{ch}: {r.note or 'no value'}")
            elif ch in out.values:
                out.notes.append(f"a second {r.quantity} record at byte {r.offset} ignored (the first one is taken)")
            else:
                out.values[ch] = r.value
                out.records[ch] = r
        elif (r.function == "instantaneous" and r.storage == 0 and r.tariff == 0 and r.subunit == 0
              and "info_code" not in out.values):
            kamstrup_info = manufacturer == KAMSTRUP and r.vif == KAMSTRUP_INFO_VIF
            if kamstrup_info or (r.quantity == "error_flags" and r.plain):
                code = _unsigned(r)
                if code is not None:
                    out.values["info_code"] = float(code)
                    out.records["info_code"] = r
    if tel.header is not None:
        out.values["meter_status"] = float(tel.header.status)
    return out


def describe_info(code: int, manufacturer: str) -> str:
    """An info code in words: Kamstrup's bits by name, other meters' bits by number."""
    if code == 0:
        return "no error"
    bits = [b for b in range(32) if code >> b & 1]
    if manufacturer == KAMSTRUP:
        return ", ".join(KAMSTRUP_INFO_BITS.get(b, f"bit {b}") for b in bits)
    return "bits " + ", ".join(str(b) for b in bits)


# The unit names a register's resolution is said in, by power of ten of the VIF's base unit: the names on
# the meters' displays and in their data sheets (a MULTICAL's "0.01 MWh", "0.01 GJ", "0.001 m³", "0.1 kW").
_NAMES = {"Wh": {0: "Wh", 3: "kWh", 6: "MWh"}, "J": {0: "J", 3: "kJ", 6: "MJ", 9: "GJ"},
          "W": {0: "W", 3: "kW", 6: "MW"}, "J/h": {0: "J/h", 3: "kJ/h", 6: "MJ/h", 9: "GJ/h"},
          "m3": {0: "m³"}, "m3/h": {0: "m³/h"}, "m3/min": {0: "m³/min"}, "m3/s": {0: "m³/s"},
          "degC": {0: "°C"}, "K": {0: "K"}}
# primary VIF ranges (M-Bus documentation 8.4.3): (first, last, base unit, the power of ten from nnn / nn)
_PRIMARY = ((0x00, 0x07, "Wh", lambda n: (n & 7) - 3), (0x08, 0x0F, "J", lambda n: n & 7),
            (0x10, 0x17, "m3", lambda n: (n & 7) - 6), (0x28, 0x2F, "W", lambda n: (n & 7) - 3),
            (0x30, 0x37, "J/h", lambda n: n & 7), (0x38, 0x3F, "m3/h", lambda n: (n & 7) - 6),
            (0x40, 0x47, "m3/min", lambda n: (n & 7) - 7), (0x48, 0x4F, "m3/s", lambda n: (n & 7) - 9),
            (0x58, 0x5F, "degC", lambda n: (n & 3) - 3), (0x60, 0x63, "K", lambda n: (n & 3) - 3))
# the FBh table (M-Bus documentation 8.4.4): code without its last bit n -> (base unit, power of ten for n = 0)
_FB = {0x00: ("Wh", 5), 0x08: ("J", 8), 0x10: ("m3", 2), 0x28: ("W", 5)}


def _in_steps(exp10: int, names: dict[int, str]) -> str:
    """``10^exp10`` base units as the meter's resolution: the smallest named unit at least that large, with
    its decimal fraction (``exp10 = 4`` of Wh -> ``0.01 MWh``), or a multiple of the largest."""
    at_least = [k for k in sorted(names) if k >= exp10]
    k = at_least[0] if at_least else max(names)
    step = Decimal(1).scaleb(exp10 - k)  # 10^(exp10 - k), written without an exponent
    return names[k] if exp10 == k else f"{step:f} {names[k]}"


def register_unit(vif: bytes) -> str | None:
    """The unit and resolution the meter counts in, from the record's VIF (M-Bus documentation 8.4.3 primary
    VIFs, 8.4.4 the FBh table): 06h -> ``kWh``, 07h -> ``0.01 MWh``, 0Fh -> ``0.01 GJ``, FB 09 -> ``GJ``,
    13h -> ``0.001 m³``, 3Bh -> ``0.001 m³/h``, 59h -> ``0.01 °C``, 22h -> ``h``; None for a VIF without
    such a unit.  energimon stores the exact SI value (Wh, m³ …) whatever the meter counts in; this says
    what the meter sent, for a person checking it against the meter's display."""
    if not vif:
        return None
    code = vif[0] & 0x7F
    if code == 0x7B:  # FBh: the large units (MWh, GJ, 100 m³, MW)
        ext = vif[1] & 0x7F if len(vif) > 1 else -1
        base = _FB.get(ext & 0x7E) if ext >= 0 else None
        return _in_steps(base[1] + (ext & 0x01), _NAMES[base[0]]) if base else None
    if 0x20 <= code <= 0x27:  # on time / operating time: nn = seconds, minutes, hours, days
        return ("s", "min", "h", "days")[code & 0x03]
    for first, last, unit, exp10 in _PRIMARY:
        if first <= code <= last:
            return _in_steps(exp10(code), _NAMES[unit])
    return None
