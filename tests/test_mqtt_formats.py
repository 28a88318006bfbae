"""Payload formats, topic templates, units and the MQTT settings — no broker needed.

Every format's docstring example is parsed here, and hypothesis throws arbitrary
bytes and arbitrary JSON at every parser and at the router: nothing may escape.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from energimon.collector.mqtt.formats import FORMATS
from energimon.collector.mqtt.formats.base import FormatSpec
from energimon.collector.mqtt.routing import Message, Route, Router
from energimon.collector.mqtt.settings import MqttSubscription
from energimon.collector.mqtt.topics import TopicTemplate
from energimon.collector.mqtt.units import convert
from energimon.config.settings import ConfigError, settings_from_dict

NOW_MS = int(datetime(2026, 11, 29, 12, tzinfo=UTC).timestamp() * 1000)
SITES = {"soro-raadhus", "stenlille-hallen"}


def sub(**kw) -> MqttSubscription:
    kw.setdefault("role", "submeter")
    return MqttSubscription(**kw)


def route(**kw) -> Route:
    return Route.build(0, sub(**kw))


def docstring_example(module) -> bytes:
    """The example payload in a format module's docstring (the indented block after '::')."""
    m = re.search(r"::\n\n((?:    .*\n|\n)+)", module.__doc__)
    assert m, f"{module.__name__} has no example payload in its docstring"
    return "\n".join(line[4:] for line in m.group(1).splitlines()).strip().encode()


# -- the documented examples ------------------------------------------------------------------
def test_every_format_documents_an_example_and_a_source():
    for name, module in FORMATS.items():
        assert docstring_example(module), name
        if name not in ("plain", "json"):
            assert "https://" in module.__doc__, f"{name} must cite the payload documentation"


def test_plain_example_and_unit():
    r = route(topic="bygning/{site}/{device}/{channel}", format="plain")
    parsed = r.module.parse(docstring_example(r.module), r.spec)
    assert [v.value for v in parsed.values] == [3.7] and not parsed.problems
    r = route(topic="x/{site}/{device}", channel="energy_import_wh", unit="kWh")
    (v,) = r.module.parse(b" 12.5\n", r.spec).values
    assert convert(v.value, v.unit, "energy_import_wh") == 12500.0


def test_json_example_with_time():
    r = route(topic="soroe/raadhus/udefoeler", format="json", site="soro-raadhus", device="udefoeler",
              channel="outdoor_temp_c", role="weather", value_path="temperature", time_path="ts")
    (v,) = r.module.parse(docstring_example(r.module), r.spec).values
    assert v.value == 3.7 and v.ts_ms == 1764403200 * 1000


def test_json_times_epoch_ms_iso_and_naive_local():
    r = route(topic="t/{site}/{device}/{channel}", format="json", time_path="t")
    p = lambda doc: r.module.parse(json.dumps(doc).encode(), r.spec)  # noqa: E731
    assert p({"value": 1, "t": 1764403200123}).values[0].ts_ms == 1764403200123
    ten_utc = int(datetime(2026, 11, 29, 10, tzinfo=UTC).timestamp() * 1000)
    assert p({"value": 1, "t": "2026-11-29T10:00:00Z"}).values[0].ts_ms == ten_utc
    # no offset: Danish local time (CET in November = UTC+1; CEST in July = UTC+2)
    assert p({"value": 1, "t": "2026-11-29T11:00:00"}).values[0].ts_ms == ten_utc
    assert p({"value": 1, "t": "2026-07-01T12:00:00"}).values[0].ts_ms == int(
        datetime(2026, 7, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert p({"value": "21.5", "t": 1764403200}).values[0].value == 21.5
    assert p({"value": True}).problems and p({"value": None}).problems and p({"value": [1]}).problems
    assert p({"val": 1}).problems == ["missing value path 'value'"]


def test_shelly_notify_status_example():
    r = route(topic="{device}/events/rpc", format="shelly_gen2", site="soro-raadhus")
    parsed = r.module.parse(docstring_example(r.module), r.spec)
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in parsed.values}
    assert got == {"power_w": 1834.2, "voltage_v": 231.4, "current_a": 7.93, "energy_import_wh": 125436.812}
    assert {v.ts_ms for v in parsed.values} == {1764403200520}
    assert not parsed.problems


def test_shelly_partial_notifications_and_events_are_not_errors():
    r = route(topic="{device}/events/rpc", format="shelly_gen2", site="soro-raadhus")
    other = {"method": "NotifyStatus", "params": {"ts": 1764403200.1, "sys": {"uptime": 5}}}
    output_only = {"method": "NotifyStatus", "params": {"ts": 1764403200.1, "switch:0": {"output": True}}}
    event = {"method": "NotifyEvent", "params": {"ts": 1, "events": []}}
    for doc in (other, output_only, event):
        parsed = r.module.parse(json.dumps(doc).encode(), r.spec)
        assert parsed.values == [] and parsed.problems == [], doc
    # the bare status object on <id>/status/switch:0 (no time)
    (v, *_) = r.module.parse(b'{"id":0,"apower":12.5}', r.spec).values
    assert v.channel == "power_w" and v.value == 12.5 and v.ts_ms is None


def docstring_examples(module) -> list[bytes]:
    """Every example payload in a format module's docstring (each indented block after '::')."""
    blocks = re.findall(r"::\n\n((?:    .*\n|\n)+)", module.__doc__)
    return ["\n".join(line[4:] for line in b.splitlines()).strip().encode() for b in blocks]


def test_shelly_pro3em_em_and_emdata_status_without_fields():
    """The documented em:0 and emdata:0 examples (Shelly Gen2 API, EM and EMData status): totals and phases a, b, c
    as L1, L2, L3; the totals in the examples are the sums of the phases, checked by hand in the comments."""
    r = route(topic="shellies/{site}/{device}/status/+", format="shelly_gen2", role="grid")
    _, em, emdata = docstring_examples(r.module)
    parsed = r.module.parse(em, r.spec)
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in parsed.values}
    assert got == {
        "power_w": 715.5,  # 951.2 - 951.1 + 715.4
        "power_l1_w": 951.2, "power_l2_w": -951.1, "power_l3_w": 715.4,  # phase b returns power: negative
        "current_a": 11.086,  # 4.029 + 4.027 + 3.03
        "current_l1_a": 4.029, "current_l2_a": 4.027, "current_l3_a": 3.03,
        "voltage_l1_v": 236.1, "voltage_l2_v": 236.201, "voltage_l3_v": 236.402,
    }
    assert not parsed.problems and {v.ts_ms for v in parsed.values} == {None}  # status topics carry no time
    parsed = r.module.parse(emdata, r.spec)
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in parsed.values}
    assert got == {
        "energy_import_wh": 119878.25,  # 39922.93 + 39898.66 + 40056.66
        "energy_export_wh": 1607.05,  # 1075.97 + 484.19 + 46.89
        "energy_import_l1_wh": 39922.93, "energy_import_l2_wh": 39898.66, "energy_import_l3_wh": 40056.66,
        "energy_export_l1_wh": 1075.97, "energy_export_l2_wh": 484.19, "energy_export_l3_wh": 46.89,
    }
    assert not parsed.problems


def test_shelly_pro3em_notifications_read_em_and_its_emdata_with_the_device_time():
    r = route(topic="{device}/events/rpc", format="shelly_gen2", site="soro-raadhus", role="grid", component="em:0")
    doc = {"method": "NotifyStatus", "params": {"ts": 1764403200.25, "em:0": {"id": 0, "a_act_power": 951.2,
                                                                              "total_act_power": 715.5},
                                                "emdata:0": {"id": 0, "total_act": 119878.25}}}
    parsed = r.module.parse(json.dumps(doc).encode(), r.spec)
    assert {v.channel: v.value for v in parsed.values} == {"power_l1_w": 951.2, "power_w": 715.5,
                                                           "energy_import_wh": 119878.25}
    assert {v.ts_ms for v in parsed.values} == {1764403200250}
    only_counters = {"method": "NotifyStatus", "params": {"ts": 1764403260, "emdata:0": {"total_act_ret": 5.5}}}
    (v,) = r.module.parse(json.dumps(only_counters).encode(), r.spec).values
    assert (v.channel, v.value, v.ts_ms) == ("energy_export_wh", 5.5, 1764403260000)
    other = {"method": "NotifyStatus", "params": {"ts": 1764403260, "em:1": {"a_act_power": 1}}}
    assert r.module.parse(json.dumps(other).encode(), r.spec).values == []  # another meter: not ours


def test_shelly_pro3em_through_the_router_into_readings():
    router = Router([sub(topic="shellies/{site}/{device}/status/+", format="shelly_gen2", role="grid")], SITES,
                    65536)
    _, em, emdata = docstring_examples(FORMATS["shelly_gen2"])
    out = router.process([Message(1, 1, "shellies/soro-raadhus/pro3em/status/em:0", em, False, NOW_MS),
                          Message(2, 1, "shellies/soro-raadhus/pro3em/status/emdata:0", emdata, False, NOW_MS)],
                         now_ms=NOW_MS)
    assert out.dead_letters == [] and len(out.readings) == 11 + 8
    assert {(r.site, r.device, r.role) for r in out.readings} == {("soro-raadhus", "pro3em", "grid")}
    assert {r.ts_ms for r in out.readings} == {NOW_MS}  # stamped on receipt, one instant per series


def test_tasmota_example_time_is_danish_local_and_total_is_kwh():
    r = route(topic="tele/{device}/SENSOR", format="tasmota", site="stenlille-hallen")
    parsed = r.module.parse(docstring_example(r.module), r.spec)
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in parsed.values}
    assert got["energy_import_wh"] == pytest.approx(1523417.0)
    assert got["power_w"] == 1840 and got["power_factor"] == 0.97
    # "2026-11-29T10:15:00" in Copenhagen (CET) is 09:15 UTC
    assert {v.ts_ms for v in parsed.values} == {int(datetime(2026, 11, 29, 9, 15, tzinfo=UTC).timestamp() * 1000)}


def test_tasmota_fields_override_for_pv_and_array_values():
    r = route(topic="tele/{device}/SENSOR", format="tasmota", site="soro-raadhus", role="pv",
              fields={"ENERGY.Total": "pv_energy_wh", "ENERGY.Power.1": "pv_power_w"})
    doc = {"Time": "2026-11-29T10:15:00", "ENERGY": {"Total": 2.5, "Power": [10, 20]}}
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in r.module.parse(json.dumps(doc).encode(),
                                                                                    r.spec).values}
    assert got == {"pv_energy_wh": 2500.0, "pv_power_w": 20.0}


def test_zigbee2mqtt_example_outdoor_temperature():
    r = route(topic="zigbee2mqtt/{site}/{device}", format="zigbee2mqtt", role="weather",
              fields={"temperature": "outdoor_temp_c"})
    parsed = r.module.parse(docstring_example(r.module), r.spec)
    (v,) = parsed.values
    assert v.channel == "outdoor_temp_c" and v.value == 3.7
    assert v.ts_ms == int(datetime(2026, 11, 29, 10, 15, tzinfo=UTC).timestamp() * 1000)
    # the default map (metering plug): energy in kWh, null is missing, not zero
    r = route(topic="zigbee2mqtt/{site}/{device}", format="zigbee2mqtt")
    parsed = r.module.parse(b'{"power": 55.1, "energy": 3.25, "current": null, "last_seen": 1764403200000}', r.spec)
    got = {v.channel: convert(v.value, v.unit, v.channel) for v in parsed.values}
    assert got == {"power_w": 55.1, "energy_import_wh": 3250.0} and not parsed.problems


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "malformed JSON"),
    (b'{"value": NaN}', "NaN"),
    (b'{"value": Infinity}', "Infinity"),
    (b'{"value": 1e999}', "not finite"),
    (b'{"value": "abc"}', "expected a number"),
    (b'{"value": false}', "expected a number"),
    (b'{"other": 1}', "missing value path"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 5000 + b"]" * 5000, "malformed JSON"),
    (b'{"value": 1' + b"0" * 5000 + b"}", "malformed JSON"),
])
def test_json_bad_payloads_give_reasons(payload, reason):
    r = route(topic="t/{site}/{device}/{channel}", format="json")
    parsed = r.module.parse(payload, r.spec)
    assert not parsed.values and reason in parsed.problems[0]


# -- topics and units -------------------------------------------------------------------------
def test_topic_templates_bind_levels_and_follow_mqtt_matching():
    t = TopicTemplate.parse("bygning/{site}/{device}/{channel}")
    assert t.filter == "bygning/+/+/+"
    assert t.match("bygning/soro-raadhus/m1/power_w") == {"site": "soro-raadhus", "device": "m1",
                                                          "channel": "power_w"}
    assert t.match("bygning/soro-raadhus/m1") is None and t.match("bygning/a/b/c/d") is None
    t = TopicTemplate.parse("site/{site}/+/{device}/#")
    assert t.filter == "site/+/+/+/#"
    assert t.match("site/x/any/dev") == {"site": "x", "device": "dev"}
    assert t.match("site/x/any/dev/a/b") == {"site": "x", "device": "dev"}
    assert TopicTemplate.parse("#").match("$SYS/broker/uptime") is None
    for bad, why in [("a/{site}x", "whole level"), ("a/{room}", "unknown placeholder"),
                     ("a/#/b", "last level"), ("{site}/{site}", "twice"), ("a+/b", "whole level")]:
        with pytest.raises(ValueError, match=why):
            TopicTemplate.parse(bad)


def test_unit_conversion():
    assert convert(1.5, "kWh", "energy_import_wh") == 1500.0
    assert convert(2.0, "MWh", "heat_energy_wh") == 2e6
    assert convert(3.6, "GJ", "heat_energy_wh") == pytest.approx(1e6)
    assert convert(1.2, "kW", "power_w") == 1200.0
    assert convert(273.15, "K", "outdoor_temp_c") == pytest.approx(0.0)
    assert convert(250.0, "L", "volume_m3") == 0.25
    with pytest.raises(ValueError, match="does not fit"):
        convert(1.0, "kWh", "power_w")


# -- settings ---------------------------------------------------------------------------------
BASE = {"sites": {"soro-raadhus": {"name": "Sorø Rådhus", "latitude": 55.43, "longitude": 11.56}}}


def mqtt_problems(mqtt: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict({**BASE, "mqtt": mqtt})
    return [str(p) for p in info.value.problems]


def test_settings_report_key_paths_and_hide_passwords():
    assert mqtt_problems({"host": "broker", "password": "hemmeligt-kodeord", "subscriptions": [
        {"topic": "a/{device}", "role": "weather", "site": "soro-raadhus", "channel": "outdoor_temp_c"}]}) == [
        "mqtt: a password needs a 'username'"]
    probs = mqtt_problems({"host": "broker", "password": "hemmeligt-kodeord", "subscriptions": [
        {"topic": "a/{device}", "role": "weather", "site": "soro-radhus", "channel": "outdoor_temp_c"},
        {"topic": "b/{site}/{device}", "role": "grid", "channel": "energy_import_wh", "unit": "kW"},
        {"topic": "c/{site}/{device}", "role": "grid", "format": "tasmota", "channel": "power_w"},
        {"topic": "d/{site}", "role": "grid", "channel": "power_w"},
        {"topic": "e/{site}/{device}", "role": "grid", "format": "zigbee2mqtt", "fields": {"temperature": "temp"}},
    ]})
    text = "\n".join(probs)
    assert "hemmeligt" not in text
    assert ("mqtt.subscriptions[1] (topic 'b/{site}/{device}'): unit 'kW' (W) does not fit channel "
            "'energy_import_wh' (Wh)") in text
    assert "mqtt.subscriptions[2] (topic 'c/{site}/{device}'): format 'tasmota' carries several channels" in text
    assert "mqtt.subscriptions[3] (topic 'd/{site}'): 'device' missing" in text
    assert "mqtt.subscriptions[4] (topic 'e/{site}/{device}'): fields.temperature: unknown channel 'temp'" in text
    probs = mqtt_problems({"host": "broker", "subscriptions": [
        {"topic": "a/{device}", "role": "weather", "site": "soro-radhus", "channel": "outdoor_temp_c"}]})
    assert probs == ["mqtt.subscriptions[0] (topic 'a/{device}').site: unknown site 'soro-radhus'; "
                     "known sites: soro-raadhus; did you mean 'soro-raadhus'?"]


def test_example_config_documents_mqtt_with_the_soro_outdoor_sensor():
    from pathlib import Path

    from energimon.config.settings import load_settings

    example = Path(__file__).resolve().parents[1] / "config" / "energimon.example.toml"
    mqtt = load_settings(example).mqtt
    assert mqtt is not None and mqtt.password is None and mqtt.tls is None  # no secrets, no files needed
    (ude,) = [s for s in mqtt.subscriptions if s.channel == "outdoor_temp_c"]
    assert (ude.site, ude.role.value, ude.format) == ("soro-raadhus", "weather", "json")


def test_publishing_is_off_by_default_and_may_not_feed_back_into_a_subscription():
    s = settings_from_dict({**BASE, "mqtt": {"host": "b", "subscriptions": [
        {"topic": "a/{device}", "role": "weather", "site": "soro-raadhus", "channel": "outdoor_temp_c"}]}})
    assert s.mqtt.publish.enabled is False
    probs = mqtt_problems({"host": "b", "publish": {"enabled": True, "topic_prefix": "energimon"}, "subscriptions": [
        {"topic": "energimon/{site}/{device}/{channel}", "role": "grid"}]})
    assert probs == ["mqtt.subscriptions[0] (topic 'energimon/{site}/{device}/{channel}').topic: matches what "
                     "energimon publishes under mqtt.publish.topic_prefix 'energimon': it would read its own "
                     "messages back"]


def test_password_is_secret_and_env_override_works(monkeypatch):
    monkeypatch.setenv("ENERGIMON_MQTT__PASSWORD", "fra-miljoeet")
    s = settings_from_dict({**BASE, "mqtt": {"host": "b", "username": "energimon", "subscriptions": [
        {"topic": "a/{device}", "role": "weather", "site": "soro-raadhus", "channel": "outdoor_temp_c"}]}})
    assert s.mqtt.password.get_secret_value() == "fra-miljoeet"
    assert "fra-miljoeet" not in repr(s) and "fra-miljoeet" not in s.model_dump_json()


# -- no exception escapes ---------------------------------------------------------------------
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(
    max_size=20)
JSON_DOC = st.recursive(
    JSON_LEAF,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["value", "ts", "t", "ENERGY", "Total", "Power", "Time", "method", "params", "switch:0",
                         "apower", "aenergy", "total", "temperature", "last_seen", "energy", "power", "0"])
        | st.text(max_size=8), kids, max_size=5),
    max_leaves=20,
)
ROUTES = [
    route(topic="p/{site}/{device}/{channel}"),
    route(topic="j/{site}/{device}/{channel}", format="json", time_path="ts"),
    route(topic="s/{device}", format="shelly_gen2", site="soro-raadhus"),
    route(topic="t/{device}", format="tasmota", site="soro-raadhus"),
    route(topic="z/{device}", format="zigbee2mqtt", site="soro-raadhus", fields={"temperature": "outdoor_temp_c"}),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json_bytes(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@FUZZ
@given(payload=st.binary(max_size=300) | JSON_DOC.map(_json_bytes))
def test_no_parser_raises(payload):
    for r in ROUTES:
        parsed = r.module.parse(payload, r.spec)
        assert all(isinstance(p, str) and p for p in parsed.problems)
        for v in parsed.values:
            assert v.value == v.value and abs(v.value) != float("inf")


@FUZZ
@given(doc=JSON_DOC, topic=st.sampled_from(["p/soro-raadhus/m1/power_w", "j/soro-raadhus/m1/energy_import_wh",
                                            "s/shelly1", "t/plug", "z/ude", "p/ukendt/m1/power_w",
                                            "p/soro-raadhus/M1/power_w", "p/soro-raadhus/m1/watt", "other"])
       | st.text(max_size=30), retain=st.booleans())
def test_router_turns_anything_into_readings_or_dead_letters(doc, topic, retain):
    router = Router([r.subscription for r in ROUTES], SITES, max_payload_bytes=4096)
    payload = _json_bytes(doc)
    out = router.process([Message(1, 1, topic, payload, retain, NOW_MS)], now_ms=NOW_MS)
    for r in out.readings:
        assert r.site in SITES and r.value == r.value
    for t, _, reason in out.dead_letters:
        assert t == topic and reason and not reason.startswith("internal error")


def test_router_dead_letters_with_reasons():
    router = Router([r.subscription for r in ROUTES], SITES, max_payload_bytes=1024)
    cases = {
        ("p/soro-raadhus/m1/power_w", b"x" * 2000): "exceeds max_payload_bytes",
        ("nowhere/at/all", b"1"): "unknown topic",
        ("p/ukendt/m1/power_w", b"1"): "unknown site 'ukendt'",
        ("p/soro-raadhus/m1/watt", b"1"): "unknown channel 'watt'",
        ("p/soro-raadhus/M1/power_w", b"1"): "device 'M1' is not a valid id",
        ("j/soro-raadhus/m1/power_w", b'{"value": 1, "ts": 4102444800}'): "more than 24 h in the future",
        ("j/soro-raadhus/m1/power_w", b'{"value": 1, "ts": 86400}'): "before the year 2000",
        ("j/soro-raadhus/m1/energy_import_wh", b'{"value": -5, "ts": 1764403200}'): "below the physical minimum",
    }
    for (topic, payload), reason in cases.items():
        out = router.process([Message(1, 1, topic, payload, False, NOW_MS)], now_ms=NOW_MS)
        assert not out.readings, topic
        assert len(out.dead_letters) == 1 and reason in out.dead_letters[0][2], (topic, out.dead_letters)
    huge = router.process([Message(1, 1, "p/x", b"y" * 100_000, False, NOW_MS)], now_ms=NOW_MS)
    assert len(huge.dead_letters[0][1]) < 5000  # a huge payload is kept clipped


def test_retained_values_without_own_time_are_skipped():
    router = Router([r.subscription for r in ROUTES], SITES, max_payload_bytes=1024)
    out = router.process([Message(1, 1, "p/soro-raadhus/m1/power_w", b"5", True, NOW_MS),
                          Message(2, 1, "j/soro-raadhus/m1/power_w", b'{"value": 5, "ts": 1764403200}', True,
                                  NOW_MS)], now_ms=NOW_MS)
    assert out.retained_skipped == 1 and [r.ts_ms for r in out.readings] == [1764403200000]


def test_spec_defaults_are_formats_own():
    assert FormatSpec().value_path == "value"
    assert route(topic="t/{device}", format="tasmota", site="soro-raadhus").spec.time_path == "Time"
