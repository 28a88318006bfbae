"""Serve simulated meters over real Modbus TCP (pymodbus 3.16 ``SimDevice``) on loopback.

Each site gets its own server and port, as each building has its own gateway.
The register image is the ``eastron.sdm630`` profile's own map (built by
:class:`~energimon.collector.simulator.profile_images.ProfileImage` from the
profile's field and info definitions), refreshed from the building model on
every request; each meter has its serial number in the SDM630's serial-number
register (holding FC00h, UINT32).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimDevice

from energimon.collector.simulator.buildings import SORO_BUILDINGS, BuildingModel, MainMeter

if TYPE_CHECKING:  # profile_images imports this module (free_port, wait_listening)
    from energimon.collector.simulator.profile_images import ProfileImage

log = logging.getLogger("energimon.simulator")

METER_PROFILE = "eastron.sdm630"
FIRST_METER_SERIAL = 22_000_101  # the simulated meters' serial numbers: 22000101, 22000102, …


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


async def wait_listening(host: str, port: int, attempts: int = 100) -> None:
    """Return once ``host:port`` accepts TCP connections (a freshly started server)."""
    for _ in range(attempts):
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise RuntimeError(f"simulated device on {host}:{port} did not start")


class ServerGroup:
    """Modbus TCP servers that start and stop together, one port each."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self._servers: list[ModbusTcpServer] = []
        self._tasks: list[asyncio.Task] = []

    async def add(self, device: SimDevice | list[SimDevice], port: int, name: str, **server_kw) -> None:
        server = ModbusTcpServer(device, address=(self.host, port), **server_kw)
        self._servers.append(server)
        self._tasks.append(asyncio.create_task(server.serve_forever(), name=name))
        await wait_listening(self.host, port)

    async def stop(self) -> None:
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.shutdown()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._servers.clear()
        self._tasks.clear()


@dataclass
class SimulatedMeter:
    """A building's main meter with the ``eastron.sdm630`` register map (values in the profile's units:
    the profile's own scale turns Wh into the meter's kWh registers)."""

    building: BuildingModel
    port: int
    meter: MainMeter
    unit_id: int = 1
    serial: str = str(FIRST_METER_SERIAL)  # shown in holding FC00h (UINT32), as on the real meter
    image: ProfileImage = field(init=False, repr=False)

    def __post_init__(self) -> None:
        from energimon.collector.simulator.profile_images import ProfileImage

        self.image = ProfileImage.from_name(METER_PROFILE, {}, unit_id=self.unit_id, info={"serial": self.serial},
                                            refresh=self._refresh)

    def register_image(self, t_s: float) -> dict[str, float]:
        """Channel values at ``t_s`` (the counters advance to it)."""
        self.meter.advance(t_s)
        b = self.building
        wobble = 2.0 * (b.occupancy(t_s) - 0.5)
        return {
            "voltage_l1_v": 230.4 - wobble,
            "voltage_l2_v": 231.1 - wobble,
            "voltage_l3_v": 229.8 - wobble,
            "power_w": b.net_w(t_s),
            "frequency_hz": 50.0,
            "energy_import_wh": self.meter.import_wh,
            "energy_export_wh": self.meter.export_wh,
        }

    def _refresh(self, image) -> None:
        for channel, value in self.register_image(time.time()).items():
            image.set(channel, value)
        image.info["serial"] = self.serial  # a test may swap the meter (another serial) while serving

    def device(self) -> SimDevice:
        return self.image.device()


class MeterSimulator:
    """Start/stop the simulated devices of each building (async context manager).

    Per building: a main meter (Eastron SDM630 map) on its own port and, with
    ``with_pv``, a SunSpec PV inverter on another port (int+SF models 1/103/160
    or float model 113, alternating), producing along the building's PV curve.
    """

    def __init__(self, buildings=SORO_BUILDINGS, host: str = "127.0.0.1", ports: list[int] | None = None,
                 start_counters_wh: float = 1_250_000.0, with_pv: bool = False,
                 pv_ports: list[int] | None = None, with_heat: bool = False, heat_port: int | None = None,
                 start_wh: dict[tuple[str, str], float] | None = None):
        """``start_wh`` sets counters per (site, channel) — e.g. where a written history ended, so the
        live counters continue it instead of jumping."""
        start_wh = start_wh or {}
        now = time.time()
        ports = ports or [free_port(host) for _ in buildings]
        self.host = host
        self.meters = [
            SimulatedMeter(b, port, MainMeter(
                b, now,
                import_wh=start_wh.get((b.site, "energy_import_wh"), start_counters_wh * (i + 1)),
                export_wh=start_wh.get((b.site, "energy_export_wh"), start_counters_wh * 0.1 * (i + 1))),
                serial=str(FIRST_METER_SERIAL + i))
            for i, (b, port) in enumerate(zip(buildings, ports, strict=True))
        ]
        self._group = ServerGroup(host)
        self.inverters = []
        self._pv_sim = None
        if with_pv:
            from energimon.collector.simulator.sunspec_image import SunSpecInverterSim, SunSpecSimulator

            pv_buildings = [b for b in buildings if b.pv_kwp > 0]
            pv_ports = pv_ports or [free_port(host) for _ in pv_buildings]
            self.inverters = [
                SunSpecInverterSim(b, variant="int" if i % 2 == 0 else "float", port=port, serial=f"SIM-{i + 1:04d}",
                                   start_energy_wh=start_wh.get((b.site, "pv_energy_wh"), 5_000_000.0))
                for i, (b, port) in enumerate(zip(pv_buildings, pv_ports, strict=True))
            ]
            self._pv_sim = SunSpecSimulator(self.inverters, host=host)
        # The town hall's district heating meter (Kamstrup MULTICAL 603, partial profile)
        self.heat_meter = None
        if with_heat:
            from energimon.collector.simulator.buildings import HeatingModel
            from energimon.collector.simulator.profile_images import ProfileImage

            heating = HeatingModel()

            def refresh(image: ProfileImage) -> None:
                t = time.time()
                image.set("heat_power_w", heating.heat_w(t))
                image.set("flow_m3_h", heating.flow_m3_h(t))
                image.set("supply_temp_c", heating.supply_c)
                image.set("return_temp_c", heating.return_c(t))

            image = ProfileImage.from_name("kamstrup.multical603", {}, refresh=refresh)
            refresh(image)
            self.heat_meter = (buildings[0], heat_port or free_port(host), image)

    async def start(self) -> None:
        if self.heat_meter is not None:
            building, port, image = self.heat_meter
            await self._group.add(image.device(), port, f"sim-heat-{building.site}")
            log.info("simulated %s district heating meter on %s:%d", building.name, self.host, port)
        if self._pv_sim is not None:
            await self._pv_sim.start()
            for inv in self.inverters:
                log.info("simulated %s SunSpec inverter on %s:%d", inv.building.name, self.host, inv.port)
        for m in self.meters:
            await self._group.add(m.device(), m.port, f"sim-{m.building.site}")
            log.info("simulated %s meter on %s:%d unit %d", m.building.name, self.host, m.port, m.unit_id)

    async def stop(self) -> None:
        if self._pv_sim is not None:
            await self._pv_sim.stop()
        await self._group.stop()

    async def __aenter__(self) -> MeterSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
