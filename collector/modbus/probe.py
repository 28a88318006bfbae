"""``energimon probe``: read a device once with a profile (or SunSpec) and show what comes back.

For commissioning: the technician sees which device answers (manufacturer, model,
serial number: SunSpec model 1 or the profile's ``info`` registers), every
channel's value, unit and the raw registers behind it, and whether the signs look
right, before the device goes into the configuration.  Read function codes only,
like the collector.

Problems are one line each: a value that cannot be read says why in its row
("Modbus exception 2 (illegal data address)", "malformed answer: byte count 8,
but 2 data bytes follow", "no answer within 3 s"); a device that cannot be read
at all is one line with a hint naming the ``probe`` options that may help
(:func:`hint`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from energimon.cliutil import number, t
from energimon.collector.modbus.client import REQUEST_CONTEXT
from energimon.collector.modbus.identity import describe
from energimon.collector.modbus.poller import DeviceUnreachable, ModbusPoller
from energimon.collector.modbus.registers import decode, plan_reads
from energimon.collector.modbus.settings import ModbusTcpDevice
from energimon.model import CHANNELS, Role

COMMON_UNIT_IDS = (1, 2, 3, 126, 247)


@dataclass
class ProbeRow:
    channel: str
    subdevice: str | None
    table: str
    address: int
    raw: list[int] | None
    value: float | None
    note: str


@dataclass
class ProbeResult:
    info: dict[str, str]  # manufacturer, model, serial, version, options (what the device says)
    info_problems: list[str]  # identity registers that could not be read, and why
    rows: list[ProbeRow]


def parse_target(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":") if ":" in target else (target, "", "502")
    if not host:
        raise ValueError(t(f"forventede HOST eller HOST:PORT, fik {target!r}",
                           f"expected HOST or HOST:PORT, got {target!r}"))
    try:
        port_n = int(port)
    except ValueError:
        raise ValueError(t(f"port {port!r} er ikke et tal", f"port {port!r} is not a number")) from None
    if not 1 <= port_n <= 65535:
        raise ValueError(t(f"port {port_n} er uden for 1-65535", f"port {port_n} is outside 1-65535"))
    return host, port_n


def _device(host: str, port: int, unit: int, profile: str, timeout_s: float) -> ModbusTcpDevice:
    return ModbusTcpDevice(protocol="modbus_tcp", site="probe", id="probe", role=Role.GRID, host=host,
                           port=port, unit_id=unit, profile=profile, timeout_s=timeout_s)


async def _noop_sink(readings, source) -> bool:
    return True


async def probe(host: str, port: int, unit: int, profile: str, timeout_s: float = 3.0) -> ProbeResult:
    """Read the identity and every field of ``profile`` once; one row per field, raw registers included."""
    poller = ModbusPoller(_device(host, port, unit, profile, timeout_s), _noop_sink)
    rows: list[ProbeRow] = []
    token = REQUEST_CONTEXT.set(poller._ctx)
    try:
        async with poller.conn.lock:
            await poller.conn.ensure()
            if profile == "sunspec":
                await poller._discover_sunspec()
            elif poller.info_fields:
                await poller.read_identity()
            poller._answers = poller._timeouts = 0
            for field in poller.fields or []:
                block = plan_reads([field], poller.max_count, max_gap=-1)[0]
                regs = await poller._request(block)
                if regs is None:
                    rows.append(ProbeRow(field.channel, field.subdevice, field.table, field.address, None, None,
                                         poller._last_problem))
                    continue
                value_regs = list(block.slice(regs, field.address, field.width))
                sf = None
                if field.scale_factor_address is not None:
                    raw_sf = block.slice(regs, field.scale_factor_address, 1)[0]
                    sf = raw_sf - 0x10000 if raw_sf >= 0x8000 else raw_sf
                value = decode(field, value_regs, sf)
                note = t("ikke tilgængelig (sentinel/NaN)", "not available (sentinel/NaN)") if value is None else ""
                if sf is not None:
                    note = (note + f" sf={sf}").strip()
                rows.append(ProbeRow(field.channel, field.subdevice, field.table, field.address, value_regs,
                                     value, note))
    finally:
        poller.conn.reset()
        REQUEST_CONTEXT.reset(token)
    return ProbeResult(poller.info, poller.info_problems, rows)


async def scan_units(host: str, port: int, profile: str, timeout_s: float = 1.0,
                     units: tuple[int, ...] = COMMON_UNIT_IDS) -> dict[int, str]:
    """Which of the common unit ids answer?  ``answers`` / ``exception N`` / ``no answer``."""
    found: dict[int, str] = {}
    for unit in units:
        try:
            result = await asyncio.wait_for(probe(host, port, unit, profile, timeout_s), timeout=timeout_s * 20)
        except (DeviceUnreachable, TimeoutError, OSError) as exc:
            found[unit] = t(f"intet svar ({exc or type(exc).__name__})", f"no answer ({exc or type(exc).__name__})")
            continue
        except Exception as exc:  # e.g. no SunSpec marker at this unit: one line, not a traceback
            found[unit] = t(f"nej: {exc}", f"no: {exc}")
            continue
        rows = result.rows
        ok = sum(r.value is not None for r in rows)
        who = f" - {describe(result.info)}" if result.info else ""
        found[unit] = (t(f"svarer: {number(ok)} af {number(len(rows))} værdier", f"answers: {number(ok)} of "
                         f"{number(len(rows))} values") if ok
                       else t("forbundet, men ingen værdier", "connected, but no values")) + who
    return found


def hint(problem: str, profile: str) -> str:
    """What to try next for a device-level problem, naming only options ``energimon probe`` has, in the run's
    language (``problem`` is the poller's English text, the one its log lines carry)."""
    p = problem.lower()
    if "cannot connect" in p or "connection refused" in p:
        return t("tjek HOST[:PORT] (Modbus TCP er som regel port 502), og at Modbus TCP er slået til på "
                 "apparatet/gatewayen",
                 "check HOST[:PORT] (Modbus TCP is usually port 502) and that Modbus TCP is enabled on the "
                 "device/gateway")
    if "malformed answer" in p or "not a modbus tcp answer" in p:
        return t("apparatet eller gatewayen sender svar, der ikke er gyldig Modbus TCP (framing sat til RTU over "
                 "TCP, eller en fejlbehæftet gateway?); --debug viser rammerne",
                 "the device or gateway sends answers that are not valid Modbus TCP (framing set to RTU over TCP, "
                 "or a faulty gateway?); --debug shows the frames")
    if "sunspec" in p:
        return t("ikke SunSpec på denne unit: prøv --scan-units --sunspec eller en --profile",
                 "not SunSpec at this unit: try --scan-units --sunspec, or a --profile")
    if "no answer" in p or "no valid answer" in p:
        units = ", ".join(map(str, COMMON_UNIT_IDS))
        return t(f"prøv en anden --unit (--scan-units prøver {units}) eller en længere --timeout",
                 f"try another --unit (--scan-units tries {units}) or a longer --timeout")
    return t("--debug viser forespørgsler og svar", "--debug shows the requests and answers")


def format_info(result: ProbeResult) -> list[str]:
    """The identity lines printed above the table, labelled in the run's language."""
    labels = {"manufacturer": t("producent", "manufacturer"), "model": "model",
              "serial": t("serienummer", "serial"), "version": "version", "options": t("tilvalg", "options")}
    lines = [f"{label}: {result.info[k]}" for k, label in labels.items() if k in result.info]
    lines += [t(f"kan ikke læses: {p}", f"not readable: {p}") for p in result.info_problems]
    return lines


def format_rows(rows: list[ProbeRow]) -> str:
    table = [(t("kanal", "channel"), t("værdi", "value"), t("enhed", "unit"), t("tabel", "table"),
              t("adresse", "address"), t("rå registre", "raw registers"), t("note", "note"))]
    for r in rows:
        name = r.channel + (f" ({r.subdevice})" if r.subdevice else "")
        raw = " ".join(f"{x:04X}" for x in r.raw) if r.raw is not None else "-"
        value = "-" if r.value is None else number(r.value, 3)
        table.append((name, value, CHANNELS[r.channel].unit, r.table, str(r.address), raw, r.note))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = []
    for j, row in enumerate(table):
        lines.append("  ".join(c.rjust(w) if i == 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                  strict=True))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
