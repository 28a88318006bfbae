"""A read-only face on pymodbus: the collector can only ever send FC 1-4.

energimon runs next to building-management networks; writing a register by
mistake can switch off a ventilation plant.  The collector never holds a raw
pymodbus client, only this wrapper, which has no method that writes.
"""

from __future__ import annotations

from pymodbus.client import AsyncModbusTcpClient

READ_FUNCTION_CODES = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


class ReadOnlyModbusClient:
    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._client: AsyncModbusTcpClient | None = None  # created on the event loop, in connect()

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def connect(self) -> bool:
        if self._client is None:
            # reconnect_delay=0: we decide when to reconnect (backoff per device), not pymodbus.
            self._client = AsyncModbusTcpClient(
                self.host, port=self.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
            )
        return bool(await self._client.connect())

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def read(self, table: str, address: int, count: int, unit_id: int):
        """FC 1 (coil), 2 (discrete), 3 (holding) or 4 (input); nothing else exists here.

        Returns the pymodbus response (check ``isError()``); ``.registers`` or ``.bits``.
        """
        if self._client is None:
            raise ConnectionError(f"{self.host}:{self.port} is not connected")
        c = self._client
        if table == "holding":
            return await c.read_holding_registers(address, count=count, device_id=unit_id)
        if table == "input":
            return await c.read_input_registers(address, count=count, device_id=unit_id)
        if table == "coil":
            return await c.read_coils(address, count=count, device_id=unit_id)
        if table == "discrete":
            return await c.read_discrete_inputs(address, count=count, device_id=unit_id)
        raise ValueError(f"not a Modbus table: {table!r}")
