"""``shelly_gen2``: Shelly Gen2+/Plus/Pro power-metering components over MQTT.

Source: Shelly Gen2 API documentation —
"Notifications" (https://shelly-api-docs.shelly.cloud/gen2/General/Notifications):
notifications arrive on ``<shelly-id>/events/rpc`` as RPC frames with
``method = "NotifyStatus"`` and ``params`` holding ``ts`` (Unix time, UTC,
seconds) and one key per changed component (``switch:0``, ``pm1:0``, ``em1:0``),
*only with the attributes that changed*; "MQTT"
(https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Mqtt): with
``status_ntf`` ("Generic status update over MQTT") the entire status of a
component is published on ``<topic_prefix>/status/<component:id>`` (no time:
energimon stamps it on receipt); and the component status pages —
"Switch" (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch):
``apower`` W, ``voltage`` V, ``current`` A, ``freq`` Hz, ``aenergy.total`` Wh
(``ret_aenergy.total``: returned energy, Wh); "EM1"/"EM1Data": ``act_power`` W,
``total_act_energy`` / ``total_act_ret_energy`` Wh; "EM"
(https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EM#status, the
three-phase meter of the Shelly Pro 3EM and 3EM Gen3): per phase ``a_``/``b_``/``c_``
``current`` A, ``voltage`` V, ``act_power`` W (also ``aprt_power`` VA, ``pf``,
``freq``, not mapped), and ``total_current`` A, ``total_act_power`` W (``n_current``,
``total_aprt_power`` not mapped); "EMData"
(https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/EMData#status):
the energy counters per phase ``a_total_act_energy`` / ``a_total_act_ret_energy`` …
and for all phases ``total_act`` / ``total_act_ret``, in Wh.

Example payload on ``shellyplus1pm-a8032ab1c2d3/events/rpc`` (component ``switch:0``)::

    {"src": "shellyplus1pm-a8032ab1c2d3", "dst": "shellyplus1pm-a8032ab1c2d3/events",
     "method": "NotifyStatus",
     "params": {"ts": 1764403200.52,
                "switch:0": {"id": 0, "apower": 1834.2, "voltage": 231.4, "current": 7.93,
                             "aenergy": {"total": 125436.812}}}}

**Shelly Pro 3EM** (``format = "shelly_gen2"``, no ``fields``): subscribe to its status
topics, e.g. ``topic = "shellies/{site}/{device}/status/+"`` (``em:0`` and ``emdata:0``
both match; the device's MQTT topic prefix set to ``shellies/<site>/<device>``). Phases
a, b, c become L1, L2, L3. Example payload on ``…/status/em:0`` (EM status)::

    {"id": 0, "a_current": 4.029, "a_voltage": 236.1, "a_act_power": 951.2, "a_aprt_power": 951.9,
     "a_pf": 1, "a_freq": 50, "b_current": 4.027, "b_voltage": 236.201, "b_act_power": -951.1,
     "b_aprt_power": 951.9, "b_pf": 1, "b_freq": 50, "c_current": 3.03, "c_voltage": 236.402,
     "c_act_power": 715.4, "c_aprt_power": 716.1, "c_pf": 1, "c_freq": 50, "n_current": null,
     "total_current": 11.086, "total_act_power": 715.5, "total_aprt_power": 2619.9,
     "user_calibrated_phase": []}

→ ``power_w`` 715.5, ``power_l1_w`` 951.2, ``power_l2_w`` −951.1, ``power_l3_w`` 715.4,
``current_a`` 11.086, ``current_l1_a`` … ``current_l3_a``, ``voltage_l1_v`` …
``voltage_l3_v``. Example payload on ``…/status/emdata:0`` (EMData status)::

    {"id": 0, "a_total_act_energy": 39922.93, "a_total_act_ret_energy": 1075.97,
     "b_total_act_energy": 39898.66, "b_total_act_ret_energy": 484.19,
     "c_total_act_energy": 40056.66, "c_total_act_ret_energy": 46.89,
     "total_act": 119878.25, "total_act_ret": 1607.05}

→ ``energy_import_wh`` 119878.25, ``energy_export_wh`` 1607.05, ``energy_import_l1_wh``
… ``energy_export_l3_wh``. Notifications work too: with ``component = "em:0"`` a
NotifyStatus on ``<id>/events/rpc`` is read for ``em:0`` *and* its energy counters in
``emdata:0`` (likewise ``em1:N`` with ``em1data:N``), with the time ``params.ts``.

A NotifyStatus without the component (another component changed) or any other
method (``NotifyEvent``) carries nothing for us: no readings, not an error.
Sign: ``apower`` is positive for the load the relay feeds (consumption); an EM's
``act_power`` is positive when power flows from the grid into the building (the CTs'
arrow towards the load) and negative when it is returned — our grid convention.
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
    # EM (three-phase, em:N) and EMData (emdata:N): phases a, b, c are L1, L2, L3
    "total_act_power": ("power_w", "W"),
    "total_current": ("current_a", "A"),
    "total_act": ("energy_import_wh", "Wh"),
    "total_act_ret": ("energy_export_wh", "Wh"),
    "a_act_power": ("power_l1_w", "W"),
    "b_act_power": ("power_l2_w", "W"),
    "c_act_power": ("power_l3_w", "W"),
    "a_current": ("current_l1_a", "A"),
    "b_current": ("current_l2_a", "A"),
    "c_current": ("current_l3_a", "A"),
    "a_voltage": ("voltage_l1_v", "V"),
    "b_voltage": ("voltage_l2_v", "V"),
    "c_voltage": ("voltage_l3_v", "V"),
    "a_total_act_energy": ("energy_import_l1_wh", "Wh"),
    "b_total_act_energy": ("energy_import_l2_wh", "Wh"),
    "c_total_act_energy": ("energy_import_l3_wh", "Wh"),
    "a_total_act_ret_energy": ("energy_export_l1_wh", "Wh"),
    "b_total_act_ret_energy": ("energy_export_l2_wh", "Wh"),
    "c_total_act_ret_energy": ("energy_export_l3_wh", "Wh"),
}
FIELD_UNITS = {path: unit for path, (_, unit) in DEFAULT_FIELDS.items()}
# a meter component and the data component holding its energy counters (both in one notification)
COMPANIONS = {"em": "emdata", "em1": "em1data"}


def _components(component: str) -> tuple[str, ...]:
    kind, sep, n = component.partition(":")
    companion = COMPANIONS.get(kind)
    return (component, f"{companion}{sep}{n}") if companion else (component,)


def _merged(container: dict, names: tuple[str, ...]) -> dict | None:
    """The status objects of ``names`` found in ``container`` merged (their field names do not overlap)."""
    found = [container[n] for n in names if n in container and container[n] is not None]
    if not found:
        return None
    if any(not isinstance(f, dict) for f in found):
        raise BadPayload(f"{names[0]}: expected a status object")
    return found[0] if len(found) == 1 else {k: v for f in found for k, v in f.items()}


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
            status = _merged(params, _components(spec.component))
            if status is None:
                return out  # a partial notification about other components
        else:  # a full status with component keys, or one component's bare status (…/status/em:0)
            status = _merged(doc, _components(spec.component))
            if status is None:
                status = doc
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
