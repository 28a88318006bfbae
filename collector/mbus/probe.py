"""Read one M-Bus meter once and say what it sent: who it is, each channel with its unit, what the meter
counts in, and (optionally) every data record — the commissioning aid behind ``energimon mbus-probe``.

It reads exactly as the daemon's poller does (the same requests: ``SND_NKE``, ``REQ_UD2``, the secondary
select; see :mod:`~energimon.collector.mbus.frames`), so what it shows is what the daemon will store.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from energimon.cliutil import lang, number, t
from energimon.collector.mbus.heat import EXPECTED, describe_info, heat_values, register_unit
from energimon.collector.mbus.poller import MbusPoller
from energimon.collector.mbus.records import Record, Telegram, describe_record
from energimon.collector.mbus.settings import MbusDevice
from energimon.model import CHANNELS

WH_PER_KWH = Decimal(1000)
WH_PER_MWH = Decimal(10**6)
WH_PER_GJ = Decimal(10**9) / Decimal(3600)  # 1 GJ = 10⁹ J, 1 Wh = 3600 J


@dataclass
class ProbeResult:
    where: str
    telegrams: list[Telegram]
    values: dict[str, float]


def parse_gateway(target: str) -> tuple[str, int]:
    """``HOST:PORT`` of the gateway (no default port: gateways differ — 10001, 9999, 5000 …)."""
    host, sep, port = target.rpartition(":")
    if not sep or not host:
        raise ValueError(t(f"forventede HOST:PORT for M-Bus/TCP-gatewayen, fik {target!r} (gateways har ingen fælles "
                           "port: se gatewayens indstilling for transparent mode)",
                           f"expected HOST:PORT of the M-Bus/TCP gateway, got {target!r} (gateways have no common "
                           "port: see the gateway's transparent-mode setting)"))
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(t(f"port {port!r} er ikke et tal 1-65535", f"port {port!r} is not a number 1-65535"))
    return host, int(port)


async def _noop_sink(readings, source) -> bool:
    return True


async def probe_meter(device: MbusDevice) -> ProbeResult:
    """One poll of ``device``; raises :class:`~energimon.collector.mbus.poller.MeterUnreachable` naming what
    went wrong (no answer, bad checksum, another meter …)."""
    poller = MbusPoller(device, _noop_sink)
    try:
        readings = await poller.poll_once()
    finally:
        poller.conn.reset()
    where = f"{device.bus} {device.where}"
    return ProbeResult(where, poller.last_telegrams, {r.channel: r.value for r in readings})


def _number(v: float) -> str:
    """Up to 6 decimals, trailing zeros dropped, in the run's language (``cliutil.number``: ``123.456,7``)."""
    text = number(v, 6)
    point = "," if lang() == "da" else "."
    if point not in text:  # "–" for a missing value
        return text
    whole, _, decimals = text.rpartition(point)
    decimals = decimals.rstrip("0")
    return f"{whole}{point}{decimals}" if decimals else whole


def heat_energy_line(wh: float) -> str:
    """The heat energy in the units district heating is billed in: ``123.456 kWh = 123,456 MWh = 444,4416 GJ``
    (Danish; ``123,456 kWh = 123.456 MWh = 444.4416 GJ`` in English)."""
    exact = Decimal(repr(wh))
    kwh, mwh, gj = exact / WH_PER_KWH, exact / WH_PER_MWH, exact / WH_PER_GJ
    return f"{_number(float(kwh))} kWh = {_number(float(mwh))} MWh = {_number(float(gj))} GJ"


def format_probe(result: ProbeResult, records: bool = False) -> list[str]:
    """The probe's answer as lines: identity, one row per channel (value, energimon's unit, what the meter
    counts in), the heat energy in kWh/MWh/GJ, the info code in words, and with ``records`` every record."""
    first = result.telegrams[0]
    header = first.header
    lines = []
    if header is not None:
        # the medium and status words are EN 13757-3's, as the poller's log lines say them
        lines.append(t(f"{result.where}: {header.manufacturer} {header.medium_name}, identifikationsnummer "
                       f"{header.ident}, version {header.version}; status {header.status_text}",
                       f"{result.where}: {header.manufacturer} {header.medium_name}, identification number "
                       f"{header.ident}, version {header.version}; status {header.status_text}"))
    else:
        lines.append(t(f"{result.where}: et svar uden datahoved (ingen identifikation)",
                       f"{result.where}: an answer without a data header (no identification)"))
    sources: dict[str, Record] = {}  # channel -> the record its value came from
    for tel in result.telegrams:
        for ch, rec in heat_values(tel).records.items():
            sources.setdefault(ch, rec)
    rows = [(t("kanal", "channel"), t("værdi", "value"), t("enhed", "unit"), t("måleren tæller i", "meter counts in"))]
    order = [*EXPECTED, "operating_time_h", "info_code", "meter_status"]
    for ch in sorted(result.values, key=lambda c: order.index(c) if c in order else len(order)):
        source = sources.get(ch)
        sent = (register_unit(source.vif) or "") if source is not None else ""
        if ch == "info_code" and source is not None:
            sent = (t("bits (producentens egne)", "bits (manufacturer-specific)") if source.vif[:1] == b"\xff"
                    else t("bits (EN 13757-3-fejlflag)", "bits (EN 13757-3 error flags)"))
        rows.append((ch, _number(result.values[ch]), CHANNELS[ch].unit, sent))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for j, row in enumerate(rows):
        lines.append("  " + "  ".join(c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in
                                      enumerate(zip(row, widths, strict=True))).rstrip())
        if j == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if "heat_energy_wh" in result.values:
        lines.append(t("varmeenergi: ", "heat energy: ") + heat_energy_line(result.values["heat_energy_wh"]))
    if "info_code" in result.values:
        code = int(result.values["info_code"])
        described = describe_info(code, header.manufacturer if header else "")  # the data sheet's words
        lines.append(t(f"infokode {code}: {described}", f"info code {code}: {described}"))
    missing = [c for c in EXPECTED if c not in result.values]
    if missing:
        lines.append(t(f"ikke i svaret: {', '.join(missing)} (energimon tager kun målerens aktuelle hovedværdier)",
                       f"not in the answer: {', '.join(missing)} (energimon takes a meter's current main values only)"))
    if records:
        for k, tel in enumerate(result.telegrams, 1):
            lines.append(t(f"poster i telegram {k} (EN 13757-3: DIF/DIFE VIF/VIFE størrelse: værdi):",
                           f"records of telegram {k} (EN 13757-3: DIF/DIFE VIF/VIFE quantity: value):"))
            lines += [f"  {describe_record(r)}" for r in tel.records]
    return lines
