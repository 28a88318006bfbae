"""Payload formats: one small module each, with the documentation it follows and an example payload."""

from __future__ import annotations

from types import ModuleType

from energimon.collector.mqtt.formats import json_path, plain, shelly_gen2, tasmota, zigbee2mqtt

FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (plain, json_path, shelly_gen2, tasmota, zigbee2mqtt)}
"""Format name (as written in the configuration) -> module."""
