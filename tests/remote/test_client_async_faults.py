"""The asyncio client, and executing through a sandbox that fails 30% of RPCs with UNAVAILABLE."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flyteidl.core import types_pb2

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote, specs
from airflow_provider_flyte.remote.errors import (
    FlyteEntityNotFoundError,
    FlyteError,
    FlyteTimeoutError,
    FlyteTypeError,
)
from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"


def _register(endpoint: str, v: str) -> dict[str, Any]:
    with FlyteRemote(Config.for_sandbox(endpoint), default_project=P, default_domain=D) as remote:
        add = remote.register_task(
            inprocess_task(
                "c2a.add", f"{BUILTINS}:add", inputs={"a": int, "b": int}, outputs={"o0": int}, version=v
            )
        )
        sleep = remote.register_task(
            inprocess_task(
                "c2a.sleep",
                f"{BUILTINS}:sleep_seconds",
                inputs={"seconds": float},
                outputs={"o0": float},
                version=v,
            )
        )
        echo = remote.register_task(
            inprocess_task("c2a.echo", f"{BUILTINS}:echo", inputs={"x": int}, outputs={"o0": int}, version=v)
        )
        gate = specs.workflow_template(
            specs.identifier("WORKFLOW", P, D, "c2a.gate", v),
            specs.interface({"x": specs.simple_type("INTEGER")}, {"o0": specs.simple_type("INTEGER")}),
            [
                specs.task_node("n0", echo.id, {"x": specs.binding_from_promise("start-node", "x")}),
                specs.gate_approve_node("ok", "ok", "n0"),
            ],
            outputs={"o0": specs.binding_from_promise("ok", "o0")},
        )
        wf = remote.register_workflow(gate)
        ask = specs.workflow_template(
            specs.identifier("WORKFLOW", P, D, "c2a.ask", v),
            specs.interface({}, {"o0": specs.simple_type("STRING")}),
            [specs.gate_signal_node("ask", "title", specs.simple_type("STRING"))],
            outputs={"o0": specs.binding_from_promise("ask", "o0")},
        )
        return {"add": add, "sleep": sleep, "gate": wf, "ask": remote.register_workflow(ask)}


async def test_async_execute_wait_list_terminate(sandbox: SandboxThread) -> None:
    v = "a" + uuid.uuid4().hex[:8]
    entities = _register(sandbox.endpoint, v)
    async with AsyncFlyteRemote(
        Config.for_sandbox(sandbox.endpoint), default_project=P, default_domain=D
    ) as remote:
        runs = await asyncio.gather(
            *(remote.execute(entities["add"], inputs={"a": i, "b": 1}) for i in range(5))
        )
        assert len({r.id.name for r in runs}) == 5
        listed = await remote.list_executions(names=[r.id.name for r in runs])
        assert len(listed) == 5
        done = await asyncio.gather(
            *(r.wait(timeout=30) for r in runs)
        )  # model methods delegate to the async client
        assert sorted(d.outputs["o0"] for d in done) == [1, 2, 3, 4, 5]
        assert done[0].node_executions
        fetched = await remote.fetch_execution(name=runs[0].id.name)
        assert fetched.is_successful and fetched.inputs["a"] == 0
        long = await remote.execute(entities["sleep"], inputs={"seconds": 30.0})
        with pytest.raises(FlyteTimeoutError):
            await remote.wait(long, timeout=0.2, poll_interval=0.05)
        await remote.terminate(long, "enough")
        await remote.wait(long, timeout=30, sync_nodes=False)
        assert long.phase_name == "ABORTED"
        with pytest.raises(FlyteTypeError):
            await remote.execute(entities["add"], inputs={"a": "x", "b": 1})
        with pytest.raises(FlyteEntityNotFoundError):
            await remote.fetch_task(name="c2a.missing")
        assert (await remote.fetch_task(name="c2a.add")).version == v
        assert len(await remote.recent_executions(limit=3)) == 3


async def test_async_signals(sandbox: SandboxThread) -> None:
    v = "s" + uuid.uuid4().hex[:8]
    entities = _register(sandbox.endpoint, v)
    async with AsyncFlyteRemote(
        Config.for_sandbox(sandbox.endpoint), default_project=P, default_domain=D
    ) as remote:
        execution = await remote.execute(entities["gate"], inputs={"x": 5})
        for _ in range(600):
            signals = await remote.list_signals(execution.id.name)
            if signals:
                break
            await asyncio.sleep(0.05)
        assert [s.id.signal_id for s in signals] == ["ok"]
        await remote.approve("ok", execution)
        await remote.wait(execution, timeout=30)
        assert execution.outputs["o0"] == 5
        # a typed input, as a trigger sets it: typed from the stored signal type; a wrong type is refused first
        asking = await remote.execute(entities["ask"])
        for _ in range(600):
            signals = await remote.list_signals(asking)
            if signals:
                break
            await asyncio.sleep(0.05)
        assert [(s.id.signal_id, s.type.simple_type) for s in signals] == [("title", types_pb2.STRING)]
        calls = remote.rpc_stats.by_method["SetSignal"]
        with pytest.raises(FlyteTypeError, match=r"^Input 'title': expected str, got 3 \(int\)$"):
            await remote.set_input("title", asking.id.name, 3)
        assert remote.rpc_stats.by_method["SetSignal"] == calls  # nothing sent
        await remote.set_signal("title", asking.id.name, "from a trigger")
        await remote.wait(asking, timeout=30)
        assert asking.outputs["o0"] == "from a trigger"


@pytest.mark.slow
def test_executes_survive_transient_faults_without_duplicates(
    fresh_sandbox: Callable[..., SandboxThread],
) -> None:
    """100 ``execute(wait=True)`` at 20% UNAVAILABLE with the DEFAULT client settings (node sync on): 100 right
    results, 100 executions stored. A caller that retries after an error reuses the name the error carries."""
    sb = fresh_sandbox(faults=FaultSettings(unavailable_fraction=0.2, seed=11))
    v = "f" + uuid.uuid4().hex[:8]
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project=P, default_domain=D) as remote:
        task = None
        for _ in range(20):  # registration goes through the same faults
            try:
                task = remote.register_task(
                    inprocess_task(
                        "c2f.add", f"{BUILTINS}:add", inputs={"a": int, "b": int}, outputs={"o0": int}, version=v
                    )
                )
                break
            except FlyteError:
                continue
        assert task is not None
        results, names, caller_retries = [], [], 0
        for i in range(100):
            name = None
            for _ in range(5):
                try:
                    done = remote.execute(task, inputs={"a": i, "b": i}, execution_name=name, wait=True)
                    break
                except FlyteError as exc:  # the error names the execution that may exist: attach to it
                    caller_retries += 1
                    if exc.execution_id is not None:
                        name = exc.execution_id.name
            else:
                pytest.fail(f"execution {i} failed 5 times")
            results.append(done.outputs["o0"])
            names.append(done.id.name)
        assert remote.rpc_stats.retries > 0
        assert results == [2 * i for i in range(100)]
        assert caller_retries <= 5, caller_retries
        stored = []
        for _ in range(10):
            try:
                stored = remote.list_executions(limit=1000)
                break
            except FlyteError:
                continue
        assert sorted(e.id.name for e in stored) == sorted(names)  # exactly as many executions as requested
