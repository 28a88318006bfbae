"""``energimon simulate``: serve the simulated Sorø devices over Modbus TCP, M-Bus/TCP and a serial M-Bus port (a
pseudo-terminal) (commissioning training, ``probe``, ``mbus-probe``)."""

from __future__ import annotations

import argparse

from energimon.cliutil import Commands, Config, t


def register(commands: Commands) -> None:
    p = commands.add_parser("simulate", help=t("kør de simulerede apparater i Sorø over Modbus TCP og M-Bus/TCP",
                                               "serve the simulated Sorø devices over Modbus TCP and M-Bus/TCP"),
                            description=t(
                                "Kører de simulerede hovedmålere og SunSpec-solcelleinvertere for Sorø Rådhus, "
                                "Stenlille hallen og Dianalund Bibliotek og rådhusets fjernvarmemåler (Kamstrup "
                                "MULTICAL 603 på M-Bus bag en M-Bus/TCP-gateway, på en seriel M-Bus-port (en "
                                "pseudoterminal) og som Modbus-modul) indtil Ctrl-C "
                                "(til oplæring i idriftsættelse og til at prøve probe og mbus-probe).",
                                "Serve the simulated main meters and SunSpec PV inverters of Sorø Rådhus, "
                                "Stenlille hallen and Dianalund Bibliotek, and the town hall's district "
                                "heating meter (Kamstrup MULTICAL 603 on M-Bus behind an M-Bus/TCP "
                                "gateway, on a serial M-Bus port (a pseudo-terminal), and as a Modbus module), "
                                "until Ctrl-C (commissioning training, "
                                "trying probe and mbus-probe)."))
    p.set_defaults(handler=cmd_simulate)
    p.add_argument("--host", default="127.0.0.1", help=t("adresse der lyttes på (standard 127.0.0.1)",
                                                         "address to bind (default 127.0.0.1)"))
    p.add_argument("--port", type=int, default=5020,
                   help=t("første port; målere, invertere, Modbus-varmemåleren og M-Bus-gatewayen på porte i træk "
                          "(standard 5020)",
                          "first port; meters, inverters, the Modbus heat meter and the M-Bus gateway on "
                          "consecutive ports (default 5020)"))


def cmd_simulate(args: argparse.Namespace, config: Config) -> int:
    """Needs no configuration: the simulated buildings are built in."""
    import asyncio
    import signal

    from energimon.collector.simulator.buildings import SORO_BUILDINGS
    from energimon.collector.simulator.mbus_gateway import MbusGateway, MbusSerialBus, SimulatedMultical
    from energimon.collector.simulator.modbus_server import MeterSimulator
    from energimon.logs import setup_logging

    setup_logging("WARNING")

    async def serve(serial_bus: MbusSerialBus) -> None:
        n = len(SORO_BUILDINGS)
        ports = [args.port + i for i in range(n)]
        pv_ports = [args.port + n + i for i in range(sum(b.pv_kwp > 0 for b in SORO_BUILDINGS))]
        heat_port = args.port + n + len(pv_ports)
        async with MeterSimulator(host=args.host, ports=ports, with_pv=True, pv_ports=pv_ports,
                                  with_heat=True, heat_port=heat_port) as sim, \
                MbusGateway([SimulatedMultical()], host=args.host, port=heat_port + 1) as gateway:
            for m in sim.meters:
                where = f"{args.host}:{m.port} unit {m.unit_id}"
                print(t(f"{m.building.name}: hovedmåler (eastron.sdm630) på {where}",
                        f"{m.building.name}: main meter (eastron.sdm630) on {where}"))
            for inv in sim.inverters:
                where = f"{args.host}:{inv.port} unit {inv.unit_id}"
                print(t(f"{inv.building.name}: solcelle-inverter (sunspec, model {inv.inverter_model}) på {where}",
                        f"{inv.building.name}: PV inverter (sunspec, model {inv.inverter_model}) on {where}"))
            if sim.heat_meter is not None:
                building, port, _ = sim.heat_meter
                print(t(f"{building.name}: fjernvarmemåler (kamstrup.multical603) på {args.host}:{port} unit 1",
                        f"{building.name}: district heating meter (kamstrup.multical603) on {args.host}:{port} unit 1"))
            for multical in gateway.meters:
                name, gw = SORO_BUILDINGS[0].name, f"{args.host}:{gateway.port}"
                print(t(f"{name}: fjernvarmemåler på M-Bus (Kamstrup MULTICAL 603, primær adresse {multical.address}, "
                        f"sekundær adresse {multical.ident}) bag en M-Bus/TCP-gateway på {gw}",
                        f"{name}: district heating meter on M-Bus (Kamstrup MULTICAL 603, primary address "
                        f"{multical.address}, secondary address {multical.ident}) behind an M-Bus/TCP gateway on {gw}"))
            for multical in serial_bus.meters:
                name, pty = SORO_BUILDINGS[0].name, serial_bus.port
                print(t(f"{name}: samme måler på en seriel M-Bus-port {pty} (2400 baud 8E1, primær adresse "
                        f"{multical.address}): energimon mbus-probe --serial {pty} --address {multical.address}",
                        f"{name}: the same meter on a serial M-Bus port {pty} (2400 baud 8E1, primary address "
                        f"{multical.address}): energimon mbus-probe --serial {pty} --address {multical.address}"))
            print(t("Ctrl-C stopper simulatoren.", "Ctrl-C stops the simulator."), flush=True)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()

    with MbusSerialBus([SimulatedMultical()], baudrate=2400) as serial_bus:  # its own thread, outside the loop
        asyncio.run(serve(serial_bus))
    return 0
