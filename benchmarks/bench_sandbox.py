"""Sandbox throughput, latency and memory.

Runs the sandbox as a separate process (so its RSS is its own), registers an in-process task and:
1. creates N single-task executions (default 1,000) from an asyncio gRPC client with bounded concurrency and
   reports executions per second (first create to last SUCCEEDED) and p50/p99 create-to-SUCCEEDED latency
   (server timestamps: closure.created_at to the SUCCEEDED event's closure.updated_at);
2. keeps creating until the sandbox stores M executions (default 10,000) and reports the server's peak RSS.

    python benchmarks/bench_sandbox.py [--executions 1000] [--stored 10000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import grpc
from flyteidl.admin import common_pb2, execution_pb2, task_pb2
from flyteidl.core import literals_pb2
from flyteidl.service import admin_pb2_grpc

from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxProcess

P, D = "flytesnacks", "development"
SUCCEEDED = 4
TERMINAL = {4, 6, 7, 8}


def _inputs(i: int) -> literals_pb2.LiteralMap:
    lm = literals_pb2.LiteralMap()
    lm.literals["a"].scalar.primitive.integer = i
    lm.literals["b"].scalar.primitive.integer = 1
    return lm


def _rss_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


async def _create_many(stub: admin_pb2_grpc.AdminServiceStub, task_id: object, names: list[str], concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int, name: str) -> None:
        async with sem:
            req = execution_pb2.ExecutionCreateRequest(project=P, domain=D, name=name, inputs=_inputs(i))
            req.spec.launch_plan.CopyFrom(task_id)
            await stub.CreateExecution(req)

    await asyncio.gather(*(one(i, n) for i, n in enumerate(names)))


async def _list_all(stub: admin_pb2_grpc.AdminServiceStub, filters: str) -> list[execution_pb2.Execution]:
    out: list[execution_pb2.Execution] = []
    token = ""
    while True:
        resp = await stub.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=P, domain=D), limit=5000, token=token, filters=filters
            )
        )
        out.extend(resp.executions)
        token = resp.token
        if not token:
            return out


async def _wait_terminal(stub: admin_pb2_grpc.AdminServiceStub, prefix: str, n: int) -> list[execution_pb2.Execution]:
    filters = f"contains(execution.name,{prefix})+value_in(phase,SUCCEEDED;FAILED;ABORTED;TIMED_OUT)"
    while True:
        done = await _list_all(stub, filters)
        if len(done) >= n:
            return done
        await asyncio.sleep(0.1)


async def main_async(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    with SandboxProcess(SandboxConfig(data_dir=data_dir, port=0)) as proc:
        async with grpc.aio.insecure_channel(proc.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            t = inprocess_task("bench.add", f"{BUILTINS}:add", {"a": int, "b": int}, {"o0": int})
            await stub.CreateTask(task_pb2.TaskCreateRequest(id=t.id, spec=task_pb2.TaskSpec(template=t)))

            names = [f"b{i:06d}" for i in range(args.executions)]
            t0 = time.perf_counter()
            await _create_many(stub, t.id, names, args.concurrency)
            t_created = time.perf_counter()
            done = await _wait_terminal(stub, "b0", args.executions)
            elapsed = time.perf_counter() - t0
            ok = [e for e in done if e.closure.phase == SUCCEEDED]
            lat = sorted(
                (e.closure.updated_at.ToNanoseconds() - e.closure.created_at.ToNanoseconds()) / 1e9 for e in ok
            )
            p50 = statistics.median(lat)
            p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]

            more = max(0, args.stored - args.executions)
            t1 = time.perf_counter()
            for start in range(0, more, 2000):
                chunk = [f"s{i:06d}" for i in range(start, min(more, start + 2000))]
                await _create_many(stub, t.id, chunk, args.concurrency)
            if more:
                await _wait_terminal(stub, "s0", more)
            fill = time.perf_counter() - t1
            stored = len(await _list_all(stub, ""))
        peak = _rss_kib(proc.pid, "VmHWM") / 1024
        now = _rss_kib(proc.pid, "VmRSS") / 1024

    rows = [
        ("single-task executions", f"{args.executions} ({len(ok)} SUCCEEDED)", ""),
        ("executions/s (first create -> last SUCCEEDED)", f"{args.executions / elapsed:.1f}", ">= 50"),
        ("creates/s (client side)", f"{args.executions / (t_created - t0):.1f}", ""),
        ("p50 create -> SUCCEEDED (s)", f"{p50:.3f}", ""),
        ("p99 create -> SUCCEEDED (s)", f"{p99:.3f}", "< 2"),
        (f"stored executions after fill ({fill:.1f} s)", f"{stored}", ""),
        ("server peak RSS (MB)", f"{peak:.1f}", "< 300"),
        ("server RSS at the end (MB)", f"{now:.1f}", ""),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"{'measure':<{w}}  {'value':>22}  target")
    print("-" * (w + 34))
    for name, value, target in rows:
        print(f"{name:<{w}}  {value:>22}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1000)
    parser.add_argument("--stored", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=32)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
