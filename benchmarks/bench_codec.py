"""Our literal codec vs flytekit's TypeEngine, side by side in one run.

Cases: a 100,000-element ``list[int]``, a 10,000-key ``dict[str, float]`` and a list of 1,000 small dataclasses
(one msgpack binary per element); both directions. flytekit caches ``to_literal`` results keyed on the value, so
``TypeEngine._LITERAL_CACHE`` is cleared before every timed flytekit call.

Usage: ``python benchmarks/bench_codec.py [--runs N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_flyte.remote.codec import literal_type_for_python_type, to_literal, to_python


@dataclasses.dataclass
class Small:
    a: int
    b: str
    c: float


def _time(fn: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return min(samples), statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()

    def clear_cache() -> None:
        cache = getattr(TypeEngine, "_LITERAL_CACHE", None)
        if cache is not None:
            cache.clear()

    cases: list[tuple[str, Any, Any]] = [
        ("list[int] x100,000", list[int], list(range(100_000))),
        ("dict[str, float] x10,000", dict[str, float], {f"k{i}": i * 0.5 for i in range(10_000)}),
        ("list[Small] x1,000", list[Small], [Small(i, f"s{i}", i * 1.5) for i in range(1_000)]),
    ]
    header = (
        f"{'case':<26} {'direction':<10} {'ours best':>10} {'ours med':>10} "
        f"{'flytekit best':>14} {'flytekit med':>13} {'speedup(best)':>14} {'speedup(med)':>13}"
    )
    print(header)
    print("-" * len(header))
    for label, tp, value in cases:
        lt = literal_type_for_python_type(tp)
        fk_lt = TypeEngine.to_literal_type(tp)
        ours_lit = to_literal(value, lt, tp)
        fk_lit = TypeEngine.to_literal(ctx, value, tp, fk_lt)
        assert ours_lit == fk_lit.to_flyte_idl(), f"{label}: literals differ"

        ours_enc = _time(lambda lt=lt, tp=tp, value=value: to_literal(value, lt, tp), args.runs)
        fk_enc = _time(
            lambda tp=tp, value=value, fk_lt=fk_lt: TypeEngine.to_literal(ctx, value, tp, fk_lt),
            args.runs,
            before=clear_cache,
        )
        ours_dec = _time(lambda lit=ours_lit, tp=tp: to_python(lit, None, tp), args.runs)
        fk_dec = _time(lambda lit=fk_lit, tp=tp: TypeEngine.to_python_value(ctx, lit, tp), args.runs)
        for direction, ours, theirs in (("to_literal", ours_enc, fk_enc), ("to_python", ours_dec, fk_dec)):
            print(
                f"{label:<26} {direction:<10} {ours[0]:>10.4f} {ours[1]:>10.4f} {theirs[0]:>14.4f} "
                f"{theirs[1]:>13.4f} {theirs[0] / ours[0]:>13.1f}x {theirs[1] / ours[1]:>12.1f}x"
            )


if __name__ == "__main__":
    main()
