"""Fuzz the input boundaries with 100,000 random cases each: config parsing, MQTT payloads, the Modbus decoder.

The contracts are the ones in ``tests/test_fuzz.py`` (its check functions are reused here); CI runs them with
Hypothesis for a few hundred derandomised cases.  Hypothesis spends 10-25 ms generating one of these nested
cases, so the full run uses plain seeded ``random`` generators built the same way (real keys, the documented
example config mutated, payloads shaped like each MQTT format, consistent register maps) — about 100× faster,
and reproducible from the seed printed.

    .venv/bin/python bench/fuzz.py                    # 100,000 cases per target, 2 processes (about 4-5 min)
    .venv/bin/python bench/fuzz.py --quick            # 2,000 cases per target
    .venv/bin/python bench/fuzz.py --cases 2000 --seed 7 --only modbus-decode

Prints cases/s per target and every failure (input and traceback, first 3 per target); exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import multiprocessing
import os
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import test_fuzz as tf  # noqa: E402  (the contracts and check functions)
from pydantic import ValidationError  # noqa: E402

from energimon.collector.modbus.fields import SUNSPEC_SENTINELS, TYPE_WIDTH, RegisterField  # noqa: E402
from energimon.collector.modbus.registers import plan_reads  # noqa: E402
from energimon.collector.mqtt.formats import FORMATS  # noqa: E402
from energimon.collector.mqtt.formats.base import FieldSpec, FormatSpec  # noqa: E402
from energimon.collector.mqtt.units import UNITS  # noqa: E402
from energimon.model import CHANNELS  # noqa: E402

CHARS = "abcæøå ÆØÅ-_.:/{}[]#=\"'\\\n\t\x00\x7f€😀0123456789eE+"
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, 1.5, 0.1]
SPECIAL_INTS = [0, 1, -1, 2**31, -(2**31), 2**63, -(2**63) - 1, 2**64, 65535, 65536, 70000]
CHANNEL_LIST = sorted(CHANNELS)
UNIT_LIST = sorted(UNITS)


# -- generic values -------------------------------------------------------------------------------------------------
def rtext(r: random.Random, n: int = 12) -> str:
    return "".join(r.choice(CHARS) for _ in range(r.randint(0, n)))


def rscalar(r: random.Random, toml_only: bool = False):
    k = r.randrange(10 if toml_only else 11)
    if k == 0:
        return r.random() < 0.5
    if k == 1:
        return r.choice(SPECIAL_INTS)
    if k == 2:
        return r.randint(-5, 70_000)
    if k == 3:
        return r.choice(SPECIAL_FLOATS)
    if k == 4:
        return r.uniform(-1e6, 1e6)
    if k in (5, 6):
        return rtext(r)
    if k == 7:
        return r.choice(tf.TRICKY_TEXT)
    if k == 8:
        return dt.datetime(r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
                           tzinfo=r.choice([None, dt.UTC]))
    if k == 9:
        return dt.date(r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28))
    return None


def rvalue(r: random.Random, key, depth: int = 3, toml_only: bool = False):
    roll = r.random()
    if depth <= 0 or roll < 0.55:
        return rscalar(r, toml_only)
    if roll < 0.75:
        return [rvalue(r, key, depth - 1, toml_only) for _ in range(r.randint(0, 4))]
    return {key(r): rvalue(r, key, depth - 1, toml_only) for _ in range(r.randint(0, 5))}


# -- configuration --------------------------------------------------------------------------------------------------
def config_key(r: random.Random) -> str:
    return r.choice(tf.config_keys()) if r.random() < 0.75 else rtext(r, 8)


def gen_config_dict(r: random.Random):
    if r.random() < 0.4:
        return ({config_key(r): rvalue(r, config_key) for _ in range(r.randint(0, 8))},)
    doc = json.loads(json.dumps(tf.example_dict(), default=str))
    for _ in range(r.randint(1, 4)):
        paths = [p for p in tf._paths(doc) if p]
        if not paths:
            break
        path = r.choice(paths)
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        op = r.choice(("replace", "delete", "add"))
        if op == "replace":
            parent[path[-1]] = rvalue(r, config_key, 2)
        elif op == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[config_key(r)] = rvalue(r, config_key, 2)
        else:
            parent.append(rvalue(r, config_key, 2))
    return (doc,)


EXAMPLE_LINES = tf.EXAMPLE.read_text(encoding="utf-8").splitlines()


def gen_toml_text(r: random.Random):
    roll = r.random()
    if roll < 0.1:
        return (bytes(r.randrange(256) for _ in range(r.randint(0, 200))),)
    if roll < 0.2:
        return (rtext(r, 300),)
    lines = list(EXAMPLE_LINES)
    for _ in range(r.randint(1, 6)):
        i = r.randrange(len(lines))
        op = r.choice(("delete", "duplicate", "cut", "value", "value", "insert"))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "cut":
            lines[i] = lines[i][: r.randint(0, max(0, len(lines[i]) - 1))]
        elif op == "value" and "=" in lines[i]:
            lines[i] = f"{lines[i].split('=', 1)[0]}= {tf._toml_value(rscalar(r, toml_only=True))}"
        else:
            lines.insert(i, rtext(r, 40))
    return ("\n".join(lines),)


# -- MQTT ---------------------------------------------------------------------------------------------------------
PAYLOAD_KEYS = tf._format_keys()
PAYLOAD_STRINGS = ["1.5", " 42 ", "1e400", "NaN", "inf", "-0", "2026-03-29T02:30:00", "2026-10-25T02:30:00+01:00",
                   "1764403200", "1764403200123", "9" * 70, "", "NotifyStatus", "switch:0"]
PATHS = ["value", "", "temperature", "a.b", "0", "-1", "ENERGY.Power", "params.ts", "Time", "..", ".", "ts"]


def payload_key(r: random.Random) -> str:
    return r.choice(PAYLOAD_KEYS) if r.random() < 0.8 else rtext(r, 6)


def payload_leaf(r: random.Random):
    k = r.randrange(6)
    if k == 0:
        return None
    if k == 1:
        return r.random() < 0.5
    if k == 2:
        return r.choice([*SPECIAL_INTS, 2**80, 1764403200, 1764403200123])
    if k == 3:
        return r.choice([1.5, -0.0, 1e308, r.uniform(-1e4, 1e4), math.nan, math.inf])
    if k == 4:
        return r.choice(PAYLOAD_STRINGS)
    return rtext(r, 12)


def payload_value(r: random.Random, depth: int = 3):
    roll = r.random()
    if depth <= 0 or roll < 0.4:
        return payload_leaf(r)
    if roll < 0.55:
        return [payload_value(r, depth - 1) for _ in range(r.randint(0, 3))]
    return {payload_key(r): payload_value(r, depth - 1) for _ in range(r.randint(0, 5))}


def gen_payload(r: random.Random) -> bytes:
    roll = r.random()
    if roll < 0.1:
        return bytes(r.randrange(256) for _ in range(r.randint(0, 120)))
    if roll < 0.25:
        return str(r.choice(["", " 1 ", "1,5", "-0", "NaN", "1e999", "0x10", "١٢", rtext(r, 20)])).encode(
            "utf-8", "surrogatepass")
    doc = payload_value(r, 4)
    text = json.dumps(doc, allow_nan=True)
    if r.random() < 0.1:  # truncated JSON
        text = text[: r.randint(0, len(text))]
    return text.encode()


def gen_spec(r: random.Random, module) -> FormatSpec:
    from zoneinfo import ZoneInfo

    fields: tuple[FieldSpec, ...] = ()
    if getattr(module, "MULTI_VALUE", False):
        defaults = [FieldSpec(p, ch, unit) for p, (ch, unit) in module.DEFAULT_FIELDS.items()]
        extra = [FieldSpec(r.choice([*PATHS, rtext(r, 8)]), r.choice(CHANNEL_LIST), r.choice([None, *UNIT_LIST]))
                 for _ in range(r.randint(0, 3))]
        fields = tuple(r.choice([defaults, extra, defaults + extra]))
    return FormatSpec(unit=r.choice([None, *UNIT_LIST]), value_path=r.choice(PATHS),
                      time_path=r.choice([None, *PATHS]),
                      timezone=ZoneInfo(r.choice(["Europe/Copenhagen", "UTC"])),
                      component=r.choice(["switch:0", "em1:0", "pm1:0", "", "x"]), fields=fields)


FORMAT_NAMES = sorted(FORMATS)


def gen_parser_case(r: random.Random):
    module = FORMATS[r.choice(FORMAT_NAMES)]
    spec = gen_spec(r, module)
    return module, tf.shaped_payload(r, module, spec) if r.random() < 0.6 else gen_payload(r), spec


def gen_router_case(r: random.Random):
    n = len(FORMAT_NAMES)
    roll = r.random()
    if roll < 0.6:
        return tf.routed_case(r)
    if roll < 0.8:
        topic = (f"f{r.randrange(n)}/{r.choice(['soro-raadhus', 'ukendt', '', '+'])}/{r.choice(['m1', '', 'Ø'])}"
                 + r.choice(["", "/", "/bogus", *(f"/{c}" for c in CHANNEL_LIST[:8])]))
    elif roll < 0.95:
        topic = f"g{r.randrange(n)}/{r.choice(['t1', 'x y', ''])}"
    else:
        topic = rtext(r, 20)
    return topic, gen_payload(r), r.random() < 0.2


# -- Modbus ---------------------------------------------------------------------------------------------------------
REGISTER_TYPES = [t for t in TYPE_WIDTH if t != "bool"]
SPECIAL_WORDS = [0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x7F80, 0x7FC0, 0xFF80, 0x7FF0, 0x7FEF]
SCALES = [1.0, 0.1, 0.001, 10.0, 1000.0, -1.0, 0.0, 1e300, 1e-300]


def word(r: random.Random) -> int:
    return r.choice(SPECIAL_WORDS) if r.random() < 0.3 else r.randrange(0x10000)


def gen_field(r: random.Random, max_address: int = 65535) -> RegisterField:
    while True:
        table = r.choice(("holding", "input", "coil", "discrete"))
        kw: dict = {"channel": r.choice(CHANNEL_LIST), "address": r.randint(0, max_address), "table": table,
                    "scale": r.choice(SCALES) if r.random() < 0.5 else r.uniform(-1e6, 1e6),
                    "offset": r.choice([0.0, -273.15, 1e308]) if r.random() < 0.5 else r.uniform(-1e3, 1e3),
                    "sign": r.choice((1, -1))}
        if table in ("coil", "discrete"):
            kw["type"] = "bool"
        else:
            kw["type"] = t = r.choice(REGISTER_TYPES)
            kw["word_order"], kw["byte_order"] = r.choice(("big", "little")), r.choice(("big", "little"))
            if t == "bit":
                kw["bit"] = r.randint(0, 15)
            if t in SUNSPEC_SENTINELS and r.random() < 0.5:
                kw["sentinels"] = [SUNSPEC_SENTINELS[t]] + [r.randrange(0x10000) for _ in range(r.randint(0, 2))]
            if r.random() < 0.5:
                kw["scale_factor_address"] = r.randint(0, max_address)
        try:
            return RegisterField(**kw)
        except ValidationError:
            continue


def gen_decode_case(r: random.Random):
    f = gen_field(r)
    sf = r.choice([None, r.randint(-0x8000, 0x7FFF), r.randint(-12, 12)])
    return f, [word(r) for _ in range(f.width)], sf


def gen_block_case(r: random.Random):
    while True:
        fields = [gen_field(r, 300) for _ in range(r.randint(1, 8))]
        try:
            blocks = plan_reads(fields, max_count=r.randint(1, 125), max_gap=r.randint(-1, 40))
        except ValueError:
            continue
        return blocks, [[word(r) for _ in range(b.count)] for b in blocks]


def gen_wrong_length_case(r: random.Random):
    f = gen_field(r)
    return f, [word(r) for _ in range(r.choice([0, 1, 2, 3, 4, 5, 6, f.width]))]


# -- runner ---------------------------------------------------------------------------------------------------------
TARGETS = {
    "config-dict": (gen_config_dict, tf.check_settings_dict),
    "config-toml": (gen_toml_text, tf.check_toml_text),
    "mqtt-parsers": (gen_parser_case, tf.check_parse),
    "mqtt-router": (gen_router_case, tf.check_router),
    "modbus-decode": (gen_decode_case, tf.check_decode),
    "modbus-decode-block": (gen_block_case, tf.check_blocks),
    "modbus-wrong-length": (gen_wrong_length_case, tf.check_decode_wrong_length),
}


def run_target(args: tuple[str, int, int]) -> dict:
    name, cases, seed = args
    import logging

    logging.disable(logging.CRITICAL)  # the router logs "internal error" itself; failures are collected here
    gen, check = TARGETS[name]
    r = random.Random(f"{seed}-{name}")
    failures: list[tuple[str, str]] = []
    kinds: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    gen_s = check_s = 0.0
    tf.OVERFLOWS.clear()
    for _ in range(cases):
        t0 = time.perf_counter()
        case = gen(r)
        t1 = time.perf_counter()
        try:
            outcome = check(*case)
            if isinstance(outcome, str):
                outcomes[outcome] += 1
        except Exception as exc:
            tb = traceback.format_exc()
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            kinds[key] += 1
            if kinds[key] <= 3:
                failures.append((repr(case)[:1500], tb))
        t2 = time.perf_counter()
        gen_s += t1 - t0
        check_s += t2 - t1
    return {"name": name, "cases": cases, "gen_s": gen_s, "check_s": check_s, "kinds": dict(kinds),
            "failures": failures, "overflows": len(tf.OVERFLOWS),
            "outcomes": dict(outcomes)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000, help="cases per target (default 100000)")
    ap.add_argument("--quick", action="store_true", help="2,000 cases per target (a CI smoke run, seconds)")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--only", action="append", choices=sorted(TARGETS), help="run only this target (repeatable)")
    args = ap.parse_args()
    names = args.only or list(TARGETS)
    if args.quick:
        args.cases = 2000
    print(f"python {sys.version.split()[0]}, {args.cases} cases per target, seed {args.seed}, {args.jobs} processes")
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        results = pool.map(run_target, [(n, args.cases, args.seed) for n in names], chunksize=1)
    wall = time.perf_counter() - t0
    print("\n| target | cases | failures | cases/s (check only) | cases/s (incl. generation) | notes |")
    print("|---|---:|---:|---:|---:|---|")
    total_fail = 0
    for res in results:
        n_fail = sum(res["kinds"].values())
        total_fail += n_fail
        notes = [f"{n:,} {what}" for what, n in sorted(res["outcomes"].items())]
        if res["overflows"]:
            notes.append(f"{res['overflows']:,} values decoded to ±inf (overflowing scale/offset)")
        notes_text = ", ".join(notes)
        print(f"| {res['name']} | {res['cases']:,} | {n_fail} | {res['cases'] / res['check_s']:,.0f} | "
              f"{res['cases'] / (res['gen_s'] + res['check_s']):,.0f} | {notes_text} |")
    print(f"\nwall time {wall:.1f} s")
    for res in results:
        for kind, n in res["kinds"].items():
            print(f"\nFAIL {res['name']}: {n} × {kind}")
        for case, tb in res["failures"]:
            print(f"--- input: {case}\n{tb}")
    return 1 if total_fail else 0


if __name__ == "__main__":
    sys.exit(main())
