"""Airflow-layer costs, in one run:

1. whole-process import time of the operators module, against ``import airflow.sdk`` alone and against
   ``from flytekit.remote import FlyteRemote`` (what a flytekit-based provider makes every DAG parse pay);
2. N concurrent execution triggers in one event loop (default N = 1,000; the scale goals are 5,000 and 10,000)
   against a sandbox in its own process, 1 s poll, node progress logging on: RPCs per poll interval (everything
   the shared poller's client sends: status listings and node listings), client CPU per round while the
   executions run, memory per trigger, execution end -> trigger event latency (server end time to the event),
   and whether all events are right.

    python benchmarks/bench_airflow.py [--triggers 5000 10000] [--repeat 7] [--skip-imports] [--json]

Run with ``PYTHONPATH`` pointing at another checkout to measure that code with the same harness.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
sys.path.append(str(REPO))  # after PYTHONPATH: another checkout put there is the code measured
from benchmarks.common import epoch_seconds  # noqa: E402

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


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def run_trigger_scale(
    remote: Any,
    examples: dict[str, Any],
    n: int,
    poll_interval: float = 1.0,
    create_rate: float = 80.0,
    end_rate: float = 100.0,
) -> dict[str, Any]:
    """Start ``n`` slow executions (+5 failing ones), wait on all of them with one trigger each in one event loop,
    and measure the shared poller. ``AIRFLOW_CONN_FLYTE_DEFAULT`` must point at the sandbox.

    The slow executions start ending ``n / create_rate + 12`` s after the first is created, ``end_rate`` per
    second (within what the sandbox finishes without falling behind): the poller first runs steady rounds over
    ``n`` running executions (measured: RPCs and CPU per round), then sees them end (measured: end -> event
    latency, from the execution's ``updated_at`` at its terminal phase to the trigger's event)."""
    from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger
    from airflow_provider_flyte.triggers.poller import REGISTRY

    tag = time.time_ns() % 10**9
    end_at = time.time() + n / create_rate + 12
    spread = n / end_rate  # the ends come at end_rate per second, in an order unrelated to creation
    names = [
        remote.execute(
            examples["examples.slow"],
            {"seconds": max(1.0, end_at - time.time() + (i * 7919 % n) / n * spread)},
            execution_name=f"k{tag}-{i}",
        ).id.name
        for i in range(n)
    ]
    failing = [
        remote.execute(examples["examples.fail"], {"message": f"m{i}"}, execution_name=f"kf{tag}-{i}").id.name
        for i in range(5)
    ]
    event_at: dict[str, float] = {}

    async def wait_one(trigger: Any) -> Any:
        event = await trigger.run().__anext__()
        event_at[trigger.execution_name] = time.time()
        return event

    async def main() -> dict[str, Any]:
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        triggers = [FlyteExecutionTrigger(x, P, D, poll_interval=poll_interval) for x in names + failing]
        tasks = [asyncio.ensure_future(wait_one(t)) for t in triggers]
        await asyncio.sleep(poll_interval * 1.5)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        per_trigger = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(triggers)
        poller = REGISTRY.pollers()[0]
        while poller._remote is None:  # the first round creates the client
            await asyncio.sleep(0.01)
        client = poller._remote  # counts every RPC it sends (retries and continuation pages included)
        per_interval: list[int] = []

        async def sample() -> None:  # RPCs of the poller's client in each interval, until the last event
            last = client.rpc_count
            while True:
                await asyncio.sleep(poll_interval)
                per_interval.append(client.rpc_count - last)
                last = client.rpc_count

        sampler = asyncio.ensure_future(sample())
        await asyncio.sleep(poll_interval * 1.2)  # past the first round, where every status is new
        rounds0, rpcs0 = poller.rounds, client.rpc_count
        cpu0, thread0 = time.process_time(), time.thread_time()
        await asyncio.sleep(poll_interval * 5.2)
        rounds, rpcs = poller.rounds - rounds0, client.rpc_count - rpcs0
        cpu, thread_cpu = time.process_time() - cpu0, time.thread_time() - thread0
        steady = time.time() < end_at
        events = await asyncio.wait_for(asyncio.gather(*tasks), 600)
        sampler.cancel()
        return {
            "per_trigger": per_trigger,
            "rounds": rounds,
            "rpcs": rpcs,
            "cpu": cpu,
            "thread_cpu": thread_cpu,
            "steady": steady,
            "events": events,
            "max_rpcs_per_interval": max(per_interval, default=0),
        }

    result = asyncio.run(main())
    payloads = [e.payload for e in result.pop("events")]
    result["names"], result["failing"] = names, failing
    result["all_correct"] = (
        [e["status"] for e in payloads[:n]] == ["success"] * n
        and [e["execution_name"] for e in payloads[:n]] == names
        and [e["status"] for e in payloads[n:]] == ["failed"] * 5
    )
    result["payloads"] = payloads
    ended: dict[str, float] = {}
    for start in range(0, n, 1000):
        for execution in remote.list_executions(P, D, names=names[start : start + 1000]):
            ended[execution.id.name] = epoch_seconds(execution.closure.updated_at)
    latencies = [event_at[x] - ended[x] for x in names if x in event_at and x in ended]
    result["latency_p50"], result["latency_p99"] = _percentile(latencies, 0.5), _percentile(latencies, 0.99)
    result["latency_max"] = max(latencies, default=float("nan"))
    result["late"] = sum(1 for x in latencies if x > 2 * poll_interval)
    result["n"], result["poll_interval"] = n, poll_interval
    return result


def poll_floor_and_flytekit(endpoint: str, names: list[str], samples: int = 100) -> dict[str, float]:
    """What one poll of ``names`` costs at the floor and with flytekit, client CPU seconds:

    * floor: the ListExecutions calls alone (bare protobufs, 2,000 names per call, nothing read), best of 5;
    * flytekit: ``FlyteRemote.fetch_execution`` (one GetExecution each, what a flytekit-based trigger does per
      execution and interval), measured on ``samples`` names and scaled to ``len(names)``."""
    import grpc
    from flyteidl.admin import common_pb2
    from flyteidl.service import admin_pb2_grpc

    floor = float("inf")
    with grpc.insecure_channel(endpoint, options=[("grpc.max_receive_message_length", 64 << 20)]) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        for _ in range(5):
            t0 = time.process_time()
            for start in range(0, len(names), 2000):
                batch = names[start : start + 2000]
                stub.ListExecutions(
                    common_pb2.ResourceListRequest(
                        id=common_pb2.NamedEntityIdentifier(project=P, domain=D),
                        limit=len(batch) + 1,
                        filters=f"value_in(execution.name,{';'.join(batch)})",
                    )
                )
            floor = min(floor, time.process_time() - t0)
    from flytekit.configuration import Config as FlytekitConfig
    from flytekit.remote import FlyteRemote as FlytekitRemote

    fk = FlytekitRemote(
        FlytekitConfig.for_endpoint(endpoint, insecure=True), default_project=P, default_domain=D
    )
    fk.fetch_execution(name=names[0])  # connect
    t0, w0 = time.process_time(), time.perf_counter()
    for name in names[:samples]:
        fk.fetch_execution(name=name)
    per_call, per_call_wall = (time.process_time() - t0) / samples, (time.perf_counter() - w0) / samples
    return {
        "floor_cpu": floor,
        "flytekit_cpu": per_call * len(names),
        "flytekit_wall": per_call_wall * len(names),
        "flytekit_rpcs": float(len(names)),
    }


def print_trigger_scale(r: dict[str, Any]) -> None:
    n, interval = r["n"] + 5, r["poll_interval"]
    rounds = max(r["rounds"], 1)
    print(
        f"{n} execution triggers in one event loop (poll interval {interval:g} s, node progress logging on)"
    )
    print(f"  RPCs per poll interval, all running               {r['rpcs'] / rounds:8.1f}   (target <= 10)")
    print(
        f"  RPCs per poll interval, most in any (with ends)   {r['max_rpcs_per_interval']:8d}   (target <= 10)"
    )
    print(f"  client CPU per round, process (s)                 {r['cpu'] / rounds:8.4f}   (target <= 0.030)")
    print(f"  client CPU per round, event-loop thread (s)       {r['thread_cpu'] / rounds:8.4f}")
    print(
        f"  rounds measured while all were running            {r['rounds']:8d}   {'' if r['steady'] else '(NOT steady)'}"
    )
    print(
        f"  execution end -> event p50 / p99 / max (s)        {r['latency_p50']:.2f} / {r['latency_p99']:.2f} / "
        f"{r['latency_max']:.2f}   (target p99 <= {2 * interval:g}; {r['late']} later than that)"
    )
    if "floor_cpu" in r:
        print(f"  one poll at the floor: ListExecutions alone, CPU  {r['floor_cpu']:8.4f}")
        print(
            f"  flytekit FlyteRemote.fetch_execution per trigger: {r['flytekit_rpcs']:8.0f} RPCs, "
            f"{r['flytekit_cpu']:.3f} s CPU, {r['flytekit_wall']:.2f} s wall per poll"
        )
    print(
        f"  memory per trigger (KB)                           {r['per_trigger'] / 1024:8.1f}   (target < 50)"
    )
    print(f"  all {n} events correct                          {r['all_correct']!s:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--triggers", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-imports", action="store_true", help="only the trigger scale part")
    parser.add_argument("--json", action="store_true", help="print the trigger results as JSON lines")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also measure one poll at the floor and with flytekit's FlyteRemote",
    )
    args = parser.parse_args()

    if not args.skip_imports:
        print("whole-process import time (s), best / median of", args.repeat)
        results = {label: time_import(stmt, args.repeat) for label, stmt in IMPORTS.items()}
        for label, (best, med) in results.items():
            print(f"  {label:<42} {best:7.3f} / {med:7.3f}")
        extra = results["import airflow.sdk + our operators"][0] - results["import airflow.sdk"][0]
        print(f"  operators module on top of airflow.sdk: {extra * 1000:+.0f} ms (target < 50 ms)")
        print(
            f"  flytekit FlyteRemote alone: {results['from flytekit.remote import FlyteRemote'][0]:.3f} s\n"
        )

    import logging

    logging.disable(logging.INFO)  # thousands of triggers log a line each per phase change
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"  # the log calls are made, the lines not printed
    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    sys.path.insert(0, str(REPO / "example_dags"))
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote import Config, FlyteRemote
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.testing import SandboxProcess

    # the sandbox in its own process, as flyteadmin would be: the client's CPU and latency are its own
    with SandboxProcess(SandboxConfig(data_dir=home / "sandbox", port=0)) as sandbox:
        os.environ["AIRFLOW_CONN_FLYTE_DEFAULT"] = (
            f"flyte://{sandbox.endpoint}?insecure=true&project={P}&domain={D}"
        )
        with FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D) as remote:
            examples = register_examples(remote)
            for n in args.triggers:
                r = run_trigger_scale(remote, examples, n)
                if args.compare:
                    try:
                        r.update(poll_floor_and_flytekit(sandbox.endpoint, r["names"]))
                    except Exception as exc:  # the poller's own figures are still worth printing
                        print(f"comparison failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                if not r["rounds"]:
                    raise SystemExit(
                        "the shared poller made no round while measuring: is the machine overloaded?"
                    )
                if args.json:
                    keep = {k: v for k, v in r.items() if k not in ("names", "failing", "payloads")}
                    print(json.dumps(keep), flush=True)
                else:
                    print_trigger_scale(r)


if __name__ == "__main__":
    main()
