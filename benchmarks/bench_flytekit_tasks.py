"""flytekit tasks in the sandbox: cold ``pyflyte-execute`` processes vs warm task workers, in one run.

For each mode, runs the sandbox as a separate process with default settings (``max_task_processes`` 4), registers
a trivial flytekit ``@task`` (``tests.sandbox.flyte_code.tasks.add_numbers``) and creates N single-task executions at
once; reports executions per second (first create to last SUCCEEDED) and p50/p99 create-to-SUCCEEDED latency
(server timestamps). A single execution at a time is also timed (p50 of sequential runs, the latency of one task on
an idle sandbox).

    python benchmarks/bench_flytekit_tasks.py [--executions 40] [--sequential 5] [--modes cold warm] [--json]

Run with ``PYTHONPATH`` pointing at another checkout to measure that code with the same harness (a checkout from
before task workers existed has only the cold path: ``--modes cold``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import task_pb2
from flyteidl.core import tasks_pb2
from flyteidl.service import admin_pb2_grpc

from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxProcess

REPO = Path(__file__).resolve().parents[1]
sys.path.append(str(REPO))  # after PYTHONPATH: another checkout put there is the code measured
from benchmarks.bench_sandbox import SUCCEEDED, _create_many, _wait_terminal  # noqa: E402


def _template() -> tasks_pb2.TaskTemplate:
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    from tests.sandbox.flyte_code.tasks import add_numbers

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project="flytesnacks",
        domain="development",
        version="b1",
    )
    return get_serializable(OrderedDict(), settings, add_numbers).template.to_flyte_idl()  # type: ignore[no-any-return]


def _latencies(done: list[Any]) -> list[float]:
    return sorted(
        (e.closure.updated_at.ToNanoseconds() - e.closure.created_at.ToNanoseconds()) / 1e9
        for e in done
        if e.closure.phase == SUCCEEDED
    )


async def _measure(mode: str, executions: int, sequential: int) -> dict[str, float]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-fk-{mode}-"))
    options: dict[str, Any] = {"task_workers": mode}
    if "task_workers" not in {f.name for f in dataclasses.fields(SandboxConfig)}:
        if mode != "cold":
            raise SystemExit(f"this checkout's sandbox has no task workers: --modes cold, not {mode!r}")
        options = {}  # before task workers: every task was a cold pyflyte-execute process
    config = SandboxConfig(data_dir=data_dir, port=0, task_pythonpath=(str(REPO),), **options)
    template = _template()
    with SandboxProcess(config) as proc:
        async with grpc.aio.insecure_channel(proc.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            await stub.CreateTask(
                task_pb2.TaskCreateRequest(id=template.id, spec=task_pb2.TaskSpec(template=template))
            )
            # warm-up (the warm worker starts on the first task), not counted
            await _create_many(stub, template.id, ["w0"], 1)
            await _wait_terminal(stub, "w0", 1)
            seq: list[float] = []
            for i in range(sequential):
                await _create_many(stub, template.id, [f"q{i:04d}"], 1)
                seq += _latencies(await _wait_terminal(stub, f"q{i:04d}", 1))
            names = [f"b{i:06d}" for i in range(executions)]
            t0 = time.perf_counter()
            await _create_many(stub, template.id, names, executions)
            done = await _wait_terminal(stub, "b0", executions)
            elapsed = time.perf_counter() - t0
    lat = _latencies(done)
    return {
        "ok": len(lat),
        "throughput": executions / elapsed,
        "p50": statistics.median(lat),
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "seq_p50": statistics.median(seq) if seq else float("nan"),
    }


async def main_async(args: argparse.Namespace) -> None:
    results = {mode: await _measure(mode, args.executions, args.sequential) for mode in args.modes}
    if args.json:
        print(json.dumps(results))
        return
    rows = [
        (f"{args.executions} executions at once: SUCCEEDED", "ok", "{:.0f}", ""),
        ("tasks/s (first create -> last SUCCEEDED)", "throughput", "{:.2f}", ">= 10"),
        ("p50 create -> SUCCEEDED, burst (s)", "p50", "{:.3f}", ""),
        ("p99 create -> SUCCEEDED, burst (s)", "p99", "{:.3f}", ""),
        ("p50 create -> SUCCEEDED, one at a time (s)", "seq_p50", "{:.3f}", "<= 0.5"),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  " + "  ".join(f"{m:>10}" for m in results) + "  target")
    print("-" * (w + 12 * len(results) + 10))
    for name, key, fmt, target in rows:
        print(
            f"{name:<{w}}  "
            + "  ".join(f"{fmt.format(r[key]):>10}" for r in results.values())
            + f"  {target}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--sequential", type=int, default=5)
    parser.add_argument("--modes", nargs="+", choices=("cold", "warm"), default=["cold", "warm"])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
