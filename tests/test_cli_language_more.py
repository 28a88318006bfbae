"""One language per run (issue 19) for the commands not covered by test_cli_language.py: the ``mail:`` and
``sources:`` blocks of ``status``, ``probe`` against a simulated meter, ``test-mail`` against a real SMTP server
(aiosmtpd) — Danish by default, English with ``--lang en``, numbers as each language writes them."""

from __future__ import annotations

import asyncio

from helpers.net import free_port
from mail_servers import PASSWORD, USER

from energimon.app.cli import main
from energimon.collector.simulator.modbus_server import MeterSimulator
from energimon.collector.sources.base import Point, SeriesSpec
from energimon.collector.sources.state import SourceState
from energimon.model import Kind, now_ms

SITE = """
[store]
path = "store.db"
[spool]
path = "spool.db"
[sites.soro-raadhus]
name = "Sorø Rådhus"
latitude = 55.4318
longitude = 11.5560
"""

HOUR_MS = 3_600_000


def _spec(ident: str, device: str, channel: str) -> SeriesSpec:
    return SeriesSpec("energidataservice", ident, "soro-raadhus", device, channel, "market", Kind.GAUGE)


def test_status_mail_and_sources_blocks_speak_the_runs_language(tmp_path, capsys):
    """Two price series fetched up to 3 hours and 3½ days ago, a third failing; [smtp] set up but nothing
    mailed yet."""
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(SITE + '[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\n'
                          'sender = "energimon@soroe.dk"\n\n[sources]\n[sources.energidataservice]\n'
                          'price_area = "DK2"\n', encoding="utf-8")
    state = SourceState(tmp_path / "sources.db")  # the default: beside the spool
    now = now_ms()
    try:
        for ident, device, channel, end in (("DK2/spot", "spotpris", "price_dkk_per_kwh", now - 3 * HOUR_MS),
                                            ("DK2/co2", "co2", "co2_g_per_kwh", now - 84 * HOUR_MS)):
            sid = state.series_id(_spec(ident, device, channel))
            with state.transaction():
                state.merge(sid, [Point(end - HOUR_MS, end, 1.25, None)])
            state.advance(sid, end)
        state.record_error(_spec("DK2/co2-prognose", "co2prognose", "co2_g_per_kwh"), "HTTP 503 from the API")
    finally:
        state.close()

    assert main(["status", "-c", str(cfg)]) in (0, 1)  # the store is not created: exit 1, the blocks still print
    da = capsys.readouterr().out
    mail_da = da[da.index("\nmail:\n"):da.index("\nkilder:\n")].splitlines()[2:]
    assert mail_da == ["  transport: SMTP 127.0.0.1:2525 (plain)", "  sidst sendt: aldrig", "  sidste fejl: ingen",
                       "  rapporter: ingen leveret endnu"]
    sources_da = da[da.index("\nkilder:\n"):].splitlines()[2:4]
    # newest value 3 hours old; the most behind is 84 h = 3.5 days (Danish decimal comma)
    assert sources_da[0] == ("  energidataservice: 3 serier, seneste værdi 3 t gammel, mest bagud "
                             "soro-raadhus/co2/co2_g_per_kwh (energidataservice:DK2/co2) 3,5 d, 1 uden værdier "
                             "endnu, 1 FEJLER")
    failing = "    soro-raadhus/co2prognose/co2_g_per_kwh (energidataservice:DK2/co2-prognose): HTTP 503 from the API"
    assert sources_da[1].startswith(f"{failing} (siden ")  # the source's error is quoted as recorded

    assert main(["--lang", "en", "status", "-c", str(cfg)]) in (0, 1)
    en = capsys.readouterr().out
    mail_en = en[en.index("\nmail:\n"):en.index("\nsources:\n")].splitlines()[2:]
    assert mail_en == ["  transport: SMTP 127.0.0.1:2525 (plain)", "  last sent: never", "  last error: none",
                       "  reports: none delivered yet"]
    sources_en = en[en.index("\nsources:\n"):].splitlines()[2:4]
    assert sources_en[0] == ("  energidataservice: 3 series, latest value 3 h old, most behind "
                             "soro-raadhus/co2/co2_g_per_kwh (energidataservice:DK2/co2) 3.5 d, 1 without values "
                             "yet, 1 FAILING")
    assert sources_en[1].startswith(f"{failing} (since ")
    assert "kilder:" not in en and "sidst sendt" not in en


def test_probe_of_a_simulated_meter_in_both_languages(capsys):
    """``energimon probe`` against the simulated Sorø town hall main meter (an SDM630 over Modbus TCP)."""
    port = free_port()

    async def scenario() -> tuple[int, int, str, str]:
        async with MeterSimulator(ports=[port, free_port(), free_port()]):
            args = [f"127.0.0.1:{port}", "--profile", "eastron.sdm630", "--timeout", "2"]
            da = await asyncio.to_thread(main, ["probe", *args])
            da_out = capsys.readouterr().out
            en = await asyncio.to_thread(main, ["--lang", "en", "probe", *args])
            return da, en, da_out, capsys.readouterr().out

    da, en, da_out, en_out = asyncio.run(scenario())
    assert da == en == 0
    header_da = next(line for line in da_out.splitlines() if line.startswith("kanal"))
    header_en = next(line for line in en_out.splitlines() if line.startswith("channel"))
    assert "  serienummer: 22000101" in da_out and "  serial: 22000101" in en_out  # the identity, labelled
    assert header_da.split() == ["kanal", "værdi", "enhed", "tabel", "adresse", "rå", "registre", "note"]
    assert header_en.split() == ["channel", "value", "unit", "table", "address", "raw", "registers", "note"]

    def counter(out: str) -> str:  # the import counter's value column
        return next(line for line in out.splitlines() if line.startswith("energy_import_wh")).split()[1]

    # the simulator's counters start at 1 250 000 Wh and only rise (a few Wh between the two reads)
    value_da, value_en = counter(da_out), counter(en_out)
    assert value_da.startswith("1.250.") and value_da[-4] == ","  # Danish: '.' thousands, decimal comma
    assert value_en.startswith("1,250,") and value_en[-4] == "."
    assert float(value_en.replace(",", "")) >= float(value_da.replace(".", "").replace(",", "."))


def test_test_mail_in_both_languages(tmp_path, smtp, capsys):
    d = smtp.settings_dict()
    cfg = tmp_path / "energimon.toml"
    cfg.write_text(SITE + f'[smtp]\nhost = "127.0.0.1"\nport = {d["port"]}\nsecurity = "starttls"\n'
                          f'sender = "energimon@soroe.dk"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
                          f'ca_file = "{d["ca_file"]}"\nfallback_recipients = ["energi@soroe.dk"]\n', encoding="utf-8")
    assert main(["test-mail", "-c", str(cfg)]) == 0
    da = capsys.readouterr().out.splitlines()
    assert da[1].startswith(f"  forbind: ok — 127.0.0.1:{d['port']}") and da[2].startswith("  login:   ok — ")
    assert da[-1] == "testmail sendt til energi@soroe.dk"
    assert main(["--lang", "en", "test-mail", "-c", str(cfg)]) == 0
    en = capsys.readouterr().out.splitlines()
    assert en[1].startswith(f"  connect: ok — 127.0.0.1:{d['port']}") and en[2].startswith("  auth:    ok — ")
    assert en[-1] == "test mail sent to energi@soroe.dk"
    smtp.wait(2)  # both were sent
    # the wrong password: the failing step and the ones not tried, in each language
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(PASSWORD, "forkert-kodeord-123"), encoding="utf-8")
    assert main(["test-mail", "-c", str(cfg)]) == 1
    out = capsys.readouterr()
    assert "  login:   FEJLEDE — " in out.out and "  send:    ikke prøvet" in out.out
    assert out.err.strip().endswith("testmail ikke sendt: trinnet login fejlede")
    assert main(["--lang", "en", "test-mail", "-c", str(cfg)]) == 1
    out = capsys.readouterr()
    assert "  auth:    FAILED — " in out.out and "  send:    not tried" in out.out
    assert out.err.strip().endswith("test mail not sent: the auth step failed")
