"""Client benchmarks against an in-process sandbox.

* RPCs per ``execute``: a launch plan by name without version (fresh client), and a repeated execute of the same
  versioned entity (entity cache hit);
* executions created per second (single-task executions of an in-process task), and created-and-finished per
  second (polling all of them with one ``list_executions`` per round, as the Airflow triggers do);
* whole-process import time of ``airflow_provider_flyte.remote`` vs ``from flytekit.remote import FlyteRemote``
  (best of N fresh interpreters).

Run: ``python benchmarks/bench_client.py [--executions 300] [--imports 7] [--json]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from flyteidl.admin import workflow_pb2

from airflow_provider_flyte.remote import Config, FlyteRemote, specs
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import run_sandbox

P, D = "flytesnacks", "development"


def import_seconds(statement: str, runs: int) -> dict[str, float]:
    """Best and median wall time of ``python -c <statement>`` in fresh processes."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return {"best": min(times), "median": statistics.median(times)}


def rpc_budget(endpoint: str) -> dict[str, int]:
    version = "bench-" + uuid.uuid4().hex[:8]
    with FlyteRemote(Config.for_sandbox(endpoint), default_project=P, default_domain=D) as setup:
        task = setup.register_task(
            inprocess_task(
                "bench.add",
                f"{BUILTINS}:add",
                inputs={"a": int, "b": int},
                outputs={"o0": int},
                version=version,
            )
        )
        inputs = {"a": specs.simple_type("INTEGER"), "b": specs.simple_type("INTEGER")}
        template = specs.workflow_template(
            specs.identifier("WORKFLOW", P, D, "bench.wf", version),
            specs.interface(inputs, {"o0": specs.simple_type("INTEGER")}),
            [
                specs.task_node(
                    "n0", task.id, {k: specs.binding_from_promise("start-node", k) for k in inputs}
                )
            ],
            outputs={"o0": specs.binding_from_promise("n0", "o0")},
        )
        setup.register_workflow(workflow_pb2.WorkflowSpec(template=template))
    with FlyteRemote(Config.for_sandbox(endpoint), default_project=P, default_domain=D) as remote:
        remote.execute("bench.wf", inputs={"a": 1, "b": 2})
        by_name = remote.rpc_count
        remote.rpc_stats.reset()
        remote.execute("bench.wf", inputs={"a": 1, "b": 2}, version=version)
        remote.rpc_stats.reset()
        remote.execute("bench.wf", inputs={"a": 1, "b": 2}, version=version)
        repeated = remote.rpc_count
    return {"launch_plan_by_name_latest": by_name, "repeated_versioned_entity": repeated}


def throughput(endpoint: str, n: int) -> dict[str, Any]:
    version = "tp-" + uuid.uuid4().hex[:8]
    with FlyteRemote(Config.for_sandbox(endpoint), default_project=P, default_domain=D) as remote:
        task = remote.register_task(
            inprocess_task(
                "bench.tp",
                f"{BUILTINS}:add",
                inputs={"a": int, "b": int},
                outputs={"o0": int},
                version=version,
            )
        )
        remote.execute(task, inputs={"a": 0, "b": 0}, wait=True)  # warm up
        remote.rpc_stats.reset()
        start = time.perf_counter()
        runs = [remote.execute(task, inputs={"a": i, "b": 1}) for i in range(n)]
        created = time.perf_counter() - start
        create_rpcs = remote.rpc_count
        pending = {r.id.name for r in runs}
        while pending:
            for chunk_start in range(0, len(pending), 200):
                chunk = sorted(pending)[chunk_start : chunk_start + 200]
                for e in remote.list_executions(names=chunk):
                    if e.is_done:
                        pending.discard(e.id.name)
            if pending:
                time.sleep(0.02)
        finished = time.perf_counter() - start
    return {
        "executions": n,
        "created_per_s": n / created,
        "finished_per_s": n / finished,
        "rpcs_per_create": create_rpcs / n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=300)
    parser.add_argument("--imports", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with run_sandbox() as sandbox:
        results["rpcs_per_execute"] = rpc_budget(sandbox.endpoint)
        results["throughput"] = throughput(sandbox.endpoint, args.executions)
    results["import_seconds"] = {
        "airflow_provider_flyte.remote": import_seconds("import airflow_provider_flyte.remote", args.imports),
        "airflow_provider_flyte.remote.FlyteRemote": import_seconds(
            "from airflow_provider_flyte.remote import FlyteRemote", args.imports
        ),
        "flytekit.remote.FlyteRemote": import_seconds(
            "from flytekit.remote import FlyteRemote", args.imports
        ),
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    budget = results["rpcs_per_execute"]
    print(
        f"RPCs per execute: launch plan by name (latest) = {budget['launch_plan_by_name_latest']} (budget 3); "
        f"repeated versioned entity = {budget['repeated_versioned_entity']} (budget 1)"
    )
    tp = results["throughput"]
    print(
        f"{tp['executions']} single-task executions: {tp['created_per_s']:.0f} created/s, "
        f"{tp['finished_per_s']:.0f} created+finished/s, {tp['rpcs_per_create']:.2f} RPCs per create"
    )
    for name, t in results["import_seconds"].items():
        print(f"import {name}: best {t['best']:.3f} s, median {t['median']:.3f} s")


if __name__ == "__main__":
    main()
