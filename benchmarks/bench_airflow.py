"""Airflow-layer costs, in one run:

1. whole-process import time of the operators module, against ``import airflow.sdk`` alone and against
   ``from flytekit.remote import FlyteRemote`` (what a flytekit-based provider makes every DAG parse pay);
2. 1,000 concurrent execution triggers in one event loop against the sandbox: RPCs per poll interval, CPU seconds
   per poll cycle, memory per trigger, and whether all events are right.

    python benchmarks/bench_airflow.py [--triggers 1000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
P, D = "flytesnacks", "development"

IMPORTS = {
    "python -c pass": "pass",
    "import airflow.sdk": "import airflow.sdk",
    "import airflow.sdk + our operators": "import airflow.sdk; import airflow_provider_flyte.operators.flyte",
    "from flytekit.remote import FlyteRemote": "from flytekit.remote import FlyteRemote",
}


def time_import(statement: str, repeat: int) -> tuple[float, float]:
    """Best and median wall time of a fresh interpreter running ``statement``."""
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, env=env, cwd=REPO)
        runs.append(time.perf_counter() - t0)
    return min(runs), statistics.median(runs)


def run_trigger_scale(remote: Any, examples: dict[str, Any], n: int, poll_interval: float = 1.0) -> dict[str, Any]:
    """Start ``n`` slow executions (+5 failing ones), wait on all of them with one trigger each in one event loop,
    and measure the shared poller. ``AIRFLOW_CONN_FLYTE_DEFAULT`` must point at the sandbox."""
    from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger
    from airflow_provider_flyte.triggers.poller import REGISTRY

    tag = time.time_ns() % 10**9
    wait = max(6.0, n / 150)  # long enough for every trigger to be waiting through >= 2 poll rounds
    names = [
        remote.execute(examples["examples.slow"], {"seconds": wait + (i % 2) / 2}, execution_name=f"k{tag}-{i}").id.name
        for i in range(n)
    ]
    failing = [
        remote.execute(examples["examples.fail"], {"message": f"m{i}"}, execution_name=f"kf{tag}-{i}").id.name
        for i in range(5)
    ]

    async def main() -> dict[str, Any]:
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        triggers = [
            FlyteExecutionTrigger(x, P, D, poll_interval=poll_interval, log_node_progress=False) for x in names + failing
        ]
        tasks = [asyncio.ensure_future(t.run().__anext__()) for t in triggers]
        await asyncio.sleep(poll_interval * 1.5)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        per_trigger = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(triggers)
        poller = REGISTRY.pollers()[0]
        rounds0, rpcs0, cpu0 = poller.rounds, poller.rpc_count, time.thread_time()
        await asyncio.sleep(poll_interval * 3.2)
        rounds, rpcs, cpu = poller.rounds - rounds0, poller.rpc_count - rpcs0, time.thread_time() - cpu0
        events = await asyncio.wait_for(asyncio.gather(*tasks), 300)
        return {"per_trigger": per_trigger, "rounds": rounds, "rpcs": rpcs, "cpu": cpu, "events": events}

    result = asyncio.run(main())
    payloads = [e.payload for e in result["events"]]
    result["names"], result["failing"] = names, failing
    result["all_correct"] = (
        [e["status"] for e in payloads[:n]] == ["success"] * n
        and [e["execution_name"] for e in payloads[:n]] == names
        and [e["status"] for e in payloads[n:]] == ["failed"] * 5
    )
    result["payloads"] = payloads
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    print("whole-process import time (s), best / median of", args.repeat)
    results = {label: time_import(stmt, args.repeat) for label, stmt in IMPORTS.items()}
    for label, (best, med) in results.items():
        print(f"  {label:<42} {best:7.3f} / {med:7.3f}")
    extra = results["import airflow.sdk + our operators"][0] - results["import airflow.sdk"][0]
    print(f"  operators module on top of airflow.sdk: {extra * 1000:+.0f} ms (target < 50 ms)")
    print(f"  flytekit FlyteRemote alone: {results['from flytekit.remote import FlyteRemote'][0]:.3f} s\n")

    import logging

    logging.disable(logging.INFO)  # a thousand triggers log a line each per phase change
    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    sys.path.insert(0, str(REPO / "example_dags"))
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote import Config, FlyteRemote
    from airflow_provider_flyte.sandbox.testing import run_sandbox

    with run_sandbox() as sandbox:
        os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = f"flyte://{sandbox.endpoint}?insecure=true&project={P}&domain={D}"
        with FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D) as remote:
            examples = register_examples(remote)
            r = run_trigger_scale(remote, examples, args.triggers)
    n = args.triggers + 5
    if not r["rounds"]:
        raise SystemExit("the shared poller made no round while measuring: is the machine overloaded?")
    print(f"{n} execution triggers in one event loop (poll interval 1 s)")
    print(f"  RPCs per poll interval        {r['rpcs'] / r['rounds']:8.1f}   (target <= 10)")
    print(f"  CPU seconds per poll cycle    {r['cpu'] / r['rounds']:8.4f}   (event-loop thread)")
    print(f"  memory per trigger (KB)       {r['per_trigger'] / 1024:8.1f}   (target < 50)")
    print(f"  all {n} events correct        {r['all_correct']!s:>8}")


if __name__ == "__main__":
    main()
