"""Recovery (RecoverExecution) through the sync and async clients: the sandbox reuses every node that succeeded in
the original execution (phase RECOVERED, no task attempt) and runs the rest. Each task counts its real runs in a
file, so the tests see which attempts actually ran before and after."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import workflow_pb2

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote, specs
from airflow_provider_flyte.remote.errors import FlyteEntityNotFoundError
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"
INT, STR = specs.simple_type("INTEGER"), specs.simple_type("STRING")


@pytest.fixture(scope="module")
def v() -> str:
    return "r" + uuid.uuid4().hex[:8]


def _start(var: str) -> Any:
    return specs.binding_from_promise("start-node", var)


def _counting_nodes(remote: FlyteRemote, v: str, prefix: str = "") -> list[Any]:
    """``<prefix>a`` (tally) -> ``<prefix>b`` (fails on its first run ever) -> ``<prefix>c`` (tally)."""
    tally = remote.register_task(
        inprocess_task("rec.tally", f"{BUILTINS}:tally", {"directory": str, "name": str}, {"o0": int}, version=v)
    )
    flaky = remote.register_task(
        inprocess_task(
            "rec.flaky", f"{BUILTINS}:fail_first_run", {"directory": str, "name": str}, {"o0": int}, version=v
        )
    )
    lit = specs.binding_from_literal

    def name(n: str) -> Any:
        from flyteidl.core import literals_pb2

        return lit(literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(string_value=n))))

    return [
        specs.task_node("a", tally.id, {"directory": _start("dir"), "name": name(f"{prefix}a")}),
        specs.task_node("b", flaky.id, {"directory": _start("dir"), "name": name(f"{prefix}b")}, upstream=["a"]),
        specs.task_node("c", tally.id, {"directory": _start("dir"), "name": name(f"{prefix}c")}, upstream=["b"]),
    ]


def _pipeline(remote: FlyteRemote, v: str) -> Any:
    template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "rec.pipeline", v),
        specs.interface({"dir": STR}, {"a": INT, "b": INT, "c": INT}),
        _counting_nodes(remote, v),
        {k: specs.binding_from_promise(k, "o0") for k in "abc"},
    )
    return remote.register_workflow(workflow_pb2.WorkflowSpec(template=template))


def _runs(directory: Path) -> dict[str, int]:
    return {p.stem: len(p.read_text().splitlines()) for p in sorted(directory.glob("*.runs"))}


def test_recover_skips_succeeded_nodes(remote: FlyteRemote, v: str, tmp_path: Path) -> None:
    wf = _pipeline(remote, v)
    failed = remote.execute(wf, inputs={"dir": str(tmp_path)}, wait=True)
    assert failed.phase_name == "FAILED"
    before = _runs(tmp_path)
    assert before == {"a": 1, "b": 1}  # c never ran

    recovered = remote.recover(failed, name=f"rec-{uuid.uuid4().hex[:10]}")
    assert recovered.spec.metadata.mode == 5  # RECOVERED
    assert recovered.spec.metadata.reference_execution.name == failed.id.name
    recovered = remote.wait(recovered, timeout=60)
    assert recovered.is_successful, recovered.error
    after = _runs(tmp_path)
    assert after == {"a": 1, "b": 2, "c": 1}  # a was reused, not run again
    # b's output is its run count (2), a's output came from the original execution
    assert recovered.outputs.to_dict() == {"a": 1, "b": 2, "c": 1}
    nodes = recovered.node_executions
    assert nodes["a"].closure.phase == 10  # RECOVERED
    assert nodes["a"].task_executions == []  # no attempt ran
    assert nodes["a"].outputs["o0"] == 1 and nodes["a"].inputs["name"] == "a"
    assert [t.id.retry_attempt for t in nodes["b"].task_executions] == [0]
    assert nodes["b"].closure.phase == nodes["c"].closure.phase == 3  # SUCCEEDED

    # recovering a succeeded execution reuses everything: nothing runs
    again = remote.wait(recovered.recover(), timeout=60)
    assert again.is_successful and again.outputs.to_dict() == {"a": 1, "b": 2, "c": 1}
    assert _runs(tmp_path) == after
    assert {n: again.node_executions[n].closure.phase for n in "abc"} == {"a": 10, "b": 10, "c": 10}


def test_recover_is_idempotent_by_name(remote: FlyteRemote, v: str, tmp_path: Path) -> None:
    wf = _pipeline(remote, v)
    failed = remote.execute(wf, inputs={"dir": str(tmp_path)}, wait=True)
    name = f"rec-{uuid.uuid4().hex[:10]}"
    first = remote.recover(failed.id.name, name=name)
    second = remote.recover(failed.id.name, name=name)  # a retried call finds the first one
    assert first.id.name == second.id.name == name
    remote.wait(second, timeout=60)
    assert _runs(tmp_path) == {"a": 1, "b": 2, "c": 1}
    with pytest.raises(FlyteEntityNotFoundError):
        remote.recover("no-such-execution", name=f"rec-{uuid.uuid4().hex[:10]}")


def test_recover_inside_a_sub_workflow(remote: FlyteRemote, v: str, tmp_path: Path) -> None:
    inner = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "rec.inner", v),
        specs.interface({"dir": STR}, {"c": INT}),
        _counting_nodes(remote, v, prefix="inner-"),
        {"c": specs.binding_from_promise("c", "o0")},
    )
    outer_template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "rec.outer", v),
        specs.interface({"dir": STR}, {"c": INT}),
        [specs.sub_workflow_node("sub", inner.id, {"dir": _start("dir")})],
        {"c": specs.binding_from_promise("sub", "c")},
    )
    outer = remote.register_workflow(workflow_pb2.WorkflowSpec(template=outer_template, sub_workflows=[inner]))
    failed = remote.execute(outer, inputs={"dir": str(tmp_path)}, wait=True)
    assert failed.phase_name == "FAILED"
    assert _runs(tmp_path) == {"inner-a": 1, "inner-b": 1}
    recovered = remote.wait(remote.recover(failed), timeout=60)
    assert recovered.is_successful, recovered.error
    assert _runs(tmp_path) == {"inner-a": 1, "inner-b": 2, "inner-c": 1}
    children = recovered.node_executions["sub"].subworkflow_node_executions
    assert children["sub-0-a"].closure.phase == 10 and children["sub-0-a"].task_executions == []
    assert children["sub-0-b"].closure.phase == 3


def test_async_recover(sandbox: SandboxThread, remote: FlyteRemote, v: str, tmp_path: Path) -> None:
    wf = _pipeline(remote, v)
    failed = remote.execute(wf, inputs={"dir": str(tmp_path)}, wait=True)

    async def main() -> Any:
        async with AsyncFlyteRemote(Config.for_sandbox(sandbox.endpoint), default_project=P, default_domain=D) as r:
            started = await r.recover(failed.id.name)
            return await r.wait(started, timeout=60)

    done = asyncio.run(main())
    assert done.is_successful and done.spec.metadata.mode == 5
    assert _runs(tmp_path) == {"a": 1, "b": 2, "c": 1}
