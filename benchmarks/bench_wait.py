"""``wait()`` on one execution: status polls and how late the end is noticed, ours vs flytekit's FlyteRemote.

For executions that run ``--seconds`` (default 1 and 10) in a sandbox in its own process (``examples.slow``,
an in-process sleep), measures what ``FlyteRemote.wait`` costs with its default schedule: the ``GetExecution``
calls it sends (all RPCs in brackets: with ``sync_nodes`` the end also lists the node executions) and the delay
from the execution's end (server ``updated_at`` at its terminal phase) to ``wait`` returning. flytekit's
``FlyteRemote.wait`` (default ``poll_interval`` 30 s) waits on the same kind of execution in the same run.

    python benchmarks/bench_wait.py [--seconds 1 10] [--runs 3] [--flytekit-seconds 1] [--no-flytekit] [--json]

Run with ``PYTHONPATH`` pointing at another checkout to measure that code with the same harness.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # after PYTHONPATH: another checkout put there is the code measured
from benchmarks.common import epoch_seconds  # noqa: E402

P, D = "flytesnacks", "development"


def _ended_at(remote: Any, name: str) -> float:
    return epoch_seconds(remote.fetch_execution(name=name).closure.updated_at)


def measure_ours(remote: Any, slow: Any, seconds: float, runs: int) -> dict[str, float]:
    """Median GetExecution calls, RPCs and end -> return delay of ``remote.wait`` over ``runs`` executions."""
    polls, rpcs, late = [], [], []
    for _ in range(runs):
        execution = remote.execute(slow, {"seconds": seconds})
        remote.rpc_stats.reset()
        remote.wait(execution)
        returned = time.time()
        by_method = remote.rpc_stats.by_method
        polls.append(sum(n for method, n in by_method.items() if method.endswith("GetExecution")))
        rpcs.append(sum(by_method.values()))
        late.append(returned - _ended_at(remote, execution.id.name))
    return {
        "get_execution": statistics.median(polls),
        "rpcs": statistics.median(rpcs),
        "late": statistics.median(late),
    }


def measure_flytekit(endpoint: str, remote: Any, slow: Any, seconds: float) -> dict[str, float]:
    """One ``flytekit.remote.FlyteRemote.wait`` with its defaults; its client's calls counted by method."""
    from flytekit.configuration import Config as FlytekitConfig
    from flytekit.remote import FlyteRemote as FlytekitRemote

    fk = FlytekitRemote(
        FlytekitConfig.for_endpoint(endpoint, insecure=True), default_project=P, default_domain=D
    )
    calls: Counter[str] = Counter()
    client = fk.client
    for attr in dir(client):
        method = getattr(client, attr, None)
        if attr.startswith("_") or not callable(method) or attr in ("with_root_certificate",):
            continue

        def counted(*args: Any, __m: Any = method, __name: str = attr, **kwargs: Any) -> Any:
            calls[__name] += 1
            return __m(*args, **kwargs)

        setattr(client, attr, counted)
    name = remote.execute(slow, {"seconds": seconds}).id.name
    execution = fk.fetch_execution(name=name)
    calls.clear()
    fk.wait(execution)
    returned = time.time()
    return {
        "get_execution": float(calls["get_execution"]),
        "rpcs": float(sum(calls.values())),
        "late": returned - _ended_at(remote, name),
    }


def measure(durations: list[float], runs: int, flytekit_durations: list[float]) -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO / "example_dags"))
    from flyte_examples_registry import SLOW, register_examples

    from airflow_provider_flyte.remote import Config, FlyteRemote
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.testing import SandboxProcess

    rows = []
    data_dir = Path(tempfile.mkdtemp(prefix="bench-wait-"))
    with (
        SandboxProcess(SandboxConfig(data_dir=data_dir, port=0)) as sandbox,
        FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D) as remote,
    ):
        slow = register_examples(remote)[SLOW]
        remote.execute(slow, {"seconds": 0.0}, wait=True)  # connect, warm the sandbox
        for seconds in durations:
            row: dict[str, Any] = {"seconds": seconds, "ours": measure_ours(remote, slow, seconds, runs)}
            if seconds in flytekit_durations:
                row["flytekit"] = measure_flytekit(sandbox.endpoint, remote, slow, seconds)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument(
        "--runs", type=int, default=3, help="executions per duration (ours; the median is shown)"
    )
    parser.add_argument(
        "--flytekit-seconds",
        type=float,
        nargs="*",
        default=[1.0],
        help="durations flytekit also waits on (30 s each)",
    )
    parser.add_argument("--no-flytekit", action="store_true", help="leave flytekit out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = measure(args.seconds, args.runs, [] if args.no_flytekit else args.flytekit_seconds)
    if args.json:
        print(json.dumps(rows))
        return
    print(f"{'execution':>9}  {'client':<9} {'GetExecution':>12} {'all RPCs':>8} {'end -> returned':>15}")
    for row in rows:
        for client in ("ours", "flytekit"):
            if client in row:
                r = row[client]
                print(
                    f"{row['seconds']:>8g}s  {client:<9} {r['get_execution']:>12g} {r['rpcs']:>8g} "
                    f"{r['late']:>14.2f}s"
                )


if __name__ == "__main__":
    main()
