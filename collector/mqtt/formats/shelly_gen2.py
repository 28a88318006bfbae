"""``shelly_gen2``: Shelly Gen2+/Plus/Pro power-metering components over MQTT.

Source: Shelly Gen2 API documentation —
"Notifications" (https://shelly-api-docs.shelly.cloud/gen2/General/Notifications):
notifications arrive on ``<shelly-id>/events/rpc`` as RPC frames with
``method = "NotifyStatus"`` and ``params`` holding ``ts`` (Unix time, UTC,
seconds) and one key per changed component (``switch:0``, ``pm1:0``, ``em1:0``),
*only with the attributes that changed*; and "Switch" component status
(https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch):
``apower`` W, ``voltage`` V, ``current`` A, ``freq`` Hz, ``aenergy.total`` Wh
(``ret_aenergy.total``: returned energy, Wh). EM1/EM1Data components use
``act_power`` W, ``total_act_energy`` / ``total_act_ret_energy`` Wh.

Also accepted: the bare component status object that a Shelly publishes on
``<shelly-id>/status/<component>`` (no time: receive time is used) and a full
status object containing the component key.

Example payload on ``shellyplus1pm-a8032ab1c2d3/events/rpc`` (component ``switch:0``)::

    {"src": "shellyplus1pm-a8032ab1c2d3", "dst": "shellyplus1pm-a8032ab1c2d3/events",
     "method": "NotifyStatus",
     "params": {"ts": 1764403200.52,
                "switch:0": {"id": 0, "apower": 1834.2, "voltage": 231.4, "current": 7.93,
                             "aenergy": {"total": 125436.812}}}}

A NotifyStatus without the component (another component changed) or any other
method (``NotifyEvent``) carries nothing for us: no readings, not an error.
Sign: ``apower`` is positive for the load the relay feeds (consumption).
"""

from __future__ import annotations

from energimon.collector.mqtt.formats.base import (
    BadPayload,
    FormatSpec,
    Parsed,
    load_json,
    read_fields,
    timestamp_ms,
)

NAME = "shelly_gen2"
MULTI_VALUE = True
# field path inside the component status -> (channel, unit the Shelly publishes it in)
DEFAULT_FIELDS: dict[str, tuple[str, str | None]] = {
    "apower": ("power_w", "W"),
    "act_power": ("power_w", "W"),
    "voltage": ("voltage_v", "V"),
    "current": ("current_a", "A"),
    "freq": ("frequency_hz", "Hz"),
    "aenergy.total": ("energy_import_wh", "Wh"),
    "total_act_energy": ("energy_import_wh", "Wh"),
    "ret_aenergy.total": ("energy_export_wh", "Wh"),
    "total_act_ret_energy": ("energy_export_wh", "Wh"),
}
FIELD_UNITS = {path: unit for path, (_, unit) in DEFAULT_FIELDS.items()}


def parse(payload: bytes, spec: FormatSpec) -> Parsed:
    out = Parsed()
    try:
        doc = load_json(payload)
        if not isinstance(doc, dict):
            raise BadPayload("Shelly payload must be a JSON object")
        ts = None
        if "method" in doc:
            if doc["method"] not in ("NotifyStatus", "NotifyFullStatus"):
                return out  # NotifyEvent etc.: nothing to measure
            params = doc.get("params")
            if not isinstance(params, dict):
                raise BadPayload("NotifyStatus without a params object")
            if "ts" in params:
                ts = timestamp_ms(params["ts"], spec.timezone, "params.ts")
            status = params.get(spec.component)
            if status is None:
                return out  # a partial notification about other components
        else:
            status = doc.get(spec.component, doc)
        if not isinstance(status, dict):
            raise BadPayload(f"{spec.component}: expected a status object")
    except BadPayload as exc:
        out.problems.append(str(exc))
        return out
    read_fields(status, spec, ts, out)
    if out.problems and not out.values and doc.get("method"):
        # NotifyStatus carries only what changed (e.g. just "output"): not an error
        out.problems.clear()
    return out
