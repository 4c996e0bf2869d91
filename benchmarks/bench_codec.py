"""Our literal codec vs flytekit's TypeEngine vs the protobuf floor, side by side in one run.

Cases: a 100,000-element ``list[int]``, a 10,000-key ``dict[str, float]``, a ``dict[str, list[float]]`` of
100 x 1,000 floats and a list of 1,000 small dataclasses (one msgpack binary per element); both directions.

The *floor* is the fastest straightforward code building (or reading) the same protobuf directly with flyteidl's
generated classes, written by hand for the one case: ``lits.add().scalar.primitive.integer = x`` in a loop, a
list comprehension reading ``x.scalar.primitive.integer``, ``msgpack.packb({"a": s.a, ...})`` per dataclass,
``Small(**msgpack.unpackb(...))`` back. It checks nothing, so no general codec can beat it; the ratio
``ours / floor`` is what the codec adds on top of protobuf. The floor's literals are asserted byte-identical to
ours and to flytekit's.

flytekit caches ``to_literal`` results keyed on the value, so ``TypeEngine._LITERAL_CACHE`` is cleared before
every timed flytekit call.

Usage: ``python benchmarks/bench_codec.py [--runs N] [--json] [--no-flytekit]``
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import msgpack
from flyteidl.core import literals_pb2

from airflow_provider_flyte.remote.codec import literal_type_for_python_type, to_literal, to_python

Literal = literals_pb2.Literal


@dataclasses.dataclass
class Small:
    a: int
    b: str
    c: float


# ------------------------------------------------------------------------------------------------ the floor


def floor_list_int_encode(v: list[int]) -> Any:
    lit = Literal()
    lits = lit.collection.literals
    for x in v:
        lits.add().scalar.primitive.integer = x
    return lit


def floor_list_int_decode(lit: Any) -> list[int]:
    return [x.scalar.primitive.integer for x in lit.collection.literals]


def floor_dict_float_encode(v: dict[str, float]) -> Any:
    lit = Literal()
    lits = lit.map.literals
    for k, x in v.items():
        lits[k].scalar.primitive.float_value = x
    return lit


def floor_dict_float_decode(lit: Any) -> dict[str, float]:
    return {k: x.scalar.primitive.float_value for k, x in lit.map.literals.items()}


def floor_dict_list_encode(v: dict[str, list[float]]) -> Any:
    lit = Literal()
    lits = lit.map.literals
    for k, xs in v.items():
        inner = lits[k].collection.literals
        for x in xs:
            inner.add().scalar.primitive.float_value = x
    return lit


def floor_dict_list_decode(lit: Any) -> dict[str, list[float]]:
    return {
        k: [x.scalar.primitive.float_value for x in item.collection.literals]
        for k, item in lit.map.literals.items()
    }


def floor_small_encode(v: list[Small]) -> Any:
    lit = Literal()
    lits = lit.collection.literals
    packb = msgpack.packb
    for s in v:
        binary = lits.add().scalar.binary
        binary.value = packb({"a": s.a, "b": s.b, "c": s.c})
        binary.tag = "msgpack"
    return lit


def floor_small_decode(lit: Any) -> list[Small]:
    unpackb = msgpack.unpackb
    return [Small(**unpackb(x.scalar.binary.value)) for x in lit.collection.literals]


CASES: list[tuple[str, Any, Any, Callable[[Any], Any], Callable[[Any], Any], float]] = [
    # label, type, value, floor encode, floor decode, target ratio to the floor
    ("list[int] x100,000", list[int], list(range(100_000)), floor_list_int_encode, floor_list_int_decode, 1.3),
    (
        "dict[str, float] x10,000",
        dict[str, float],
        {f"k{i}": i * 0.5 for i in range(10_000)},
        floor_dict_float_encode,
        floor_dict_float_decode,
        1.3,
    ),
    (
        "dict[str, list[float]] 100x1,000",
        dict[str, list[float]],
        {f"k{i}": [j * 0.25 for j in range(1_000)] for i in range(100)},
        floor_dict_list_encode,
        floor_dict_list_decode,
        1.3,
    ),
    (
        "list[Small] x1,000",
        list[Small],
        [Small(i, f"s{i}", i * 1.5) for i in range(1_000)],
        floor_small_encode,
        floor_small_decode,
        1.5,
    ),
]


def _time(fn: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def measure_case(
    tp: Any, value: Any, floor_enc: Callable[[Any], Any], floor_dec: Callable[[Any], Any], runs: int, fk: Any
) -> dict[str, dict[str, tuple[float, float]]]:
    """Best and median seconds per direction of ours, the floor and (``fk``: TypeEngine and context) flytekit."""
    lt = literal_type_for_python_type(tp)
    ours_lit = to_literal(value, lt, tp)
    floor_lit = floor_enc(value)
    assert ours_lit.SerializeToString() == floor_lit.SerializeToString(), f"{tp}: the floor's literal differs"
    assert to_python(ours_lit, None, tp) == floor_dec(floor_lit) == value, f"{tp}: values differ"
    encode = {
        "ours": _time(lambda: to_literal(value, lt, tp), runs),
        "floor": _time(lambda: floor_enc(value), runs),
    }
    decode = {
        "ours": _time(lambda: to_python(ours_lit, None, tp), runs),
        "floor": _time(lambda: floor_dec(floor_lit), runs),
    }
    if fk is not None:
        engine, ctx = fk
        fk_lt = engine.to_literal_type(tp)
        fk_lit = engine.to_literal(ctx, value, tp, fk_lt)
        assert ours_lit == fk_lit.to_flyte_idl(), f"{tp}: literals differ from flytekit's"

        def clear_cache() -> None:
            cache = getattr(engine, "_LITERAL_CACHE", None)
            if cache is not None:
                cache.clear()

        encode["flytekit"] = _time(lambda: engine.to_literal(ctx, value, tp, fk_lt), runs, before=clear_cache)
        decode["flytekit"] = _time(lambda: engine.to_python_value(ctx, fk_lit, tp), runs)
    return {"to_literal": encode, "to_python": decode}


def measure(runs: int, with_flytekit: bool) -> list[dict[str, Any]]:
    """One row per case and direction: best and median seconds of ours, the floor and (optionally) flytekit."""
    fk: Any = None
    if with_flytekit:
        from flytekit.core.context_manager import FlyteContextManager
        from flytekit.core.type_engine import TypeEngine

        fk = (TypeEngine, FlyteContextManager.current_context())
    rows: list[dict[str, Any]] = []
    for label, tp, value, floor_enc, floor_dec, target in CASES:
        for direction, by_impl in measure_case(tp, value, floor_enc, floor_dec, runs, fk).items():
            rows.append({"case": label, "direction": direction, "target": target, **by_impl})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--no-flytekit", action="store_true", help="leave flytekit out")
    args = parser.parse_args()
    rows = measure(args.runs, not args.no_flytekit)
    if args.json:
        print(json.dumps(rows))
        return
    header = (
        f"{'case':<33} {'direction':<10} {'ours':>8} {'floor':>8} {'flytekit':>9} "
        f"{'ours/floor':>10} {'target':>6} {'flytekit/ours':>13}"
    )
    print(f"seconds, best of {args.runs}")
    print(header)
    print("-" * len(header))
    for r in rows:
        ours, floor = r["ours"][0], r["floor"][0]
        fk = r.get("flytekit")
        fk_text = f"{fk[0]:>9.4f}" if fk else f"{'-':>9}"
        speedup = f"{fk[0] / ours:>12.1f}x" if fk else f"{'-':>13}"
        print(
            f"{r['case']:<33} {r['direction']:<10} {ours:>8.4f} {floor:>8.4f} {fk_text} "
            f"{ours / floor:>9.2f}x {r['target']:>5.1f}x {speedup}"
        )


if __name__ == "__main__":
    main()
