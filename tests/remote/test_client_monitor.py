"""Monitoring executions: sync, wait, outputs, failures, node/task executions, child executions, signals."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from flyteidl.admin import workflow_pb2
from flyteidl.core import types_pb2

from airflow_provider_flyte.remote import FlyteRemote, specs
from airflow_provider_flyte.remote.errors import (
    FlyteAssertionError,
    FlyteEntityNotFoundError,
    FlyteFailedPreconditionError,
    FlyteTimeoutError,
)
from airflow_provider_flyte.remote.models import FlyteWorkflowExecution
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task

P, D = "flytesnacks", "development"
INT = specs.simple_type("INTEGER")


@pytest.fixture(scope="module")
def v() -> str:
    return "m" + uuid.uuid4().hex[:8]


def _task(
    remote: FlyteRemote,
    v: str,
    name: str,
    fn: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    **kw: Any,
) -> Any:
    return remote.register_task(
        inprocess_task(f"c2m.{name}", f"{BUILTINS}:{fn}", inputs=inputs, outputs=outputs, version=v, **kw)
    )


def _workflow(
    remote: FlyteRemote,
    v: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    nodes: list[Any],
    out: dict[str, Any],
) -> Any:
    template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, f"c2m.{name}", v),
        specs.interface(inputs, outputs),
        nodes,
        outputs=out,
    )
    return remote.register_workflow(workflow_pb2.WorkflowSpec(template=template))


def _start(var: str) -> Any:
    return specs.binding_from_promise("start-node", var)


def test_wait_outputs_nodes_and_tasks(remote: FlyteRemote, v: str) -> None:
    square = _task(remote, v, "square", "square", {"x": int}, {"o0": int})
    wf = _workflow(
        remote,
        v,
        "two_squares",
        {"x": INT},
        {"o0": INT},
        [
            specs.task_node("first", square.id, {"x": _start("x")}),
            specs.task_node("second", square.id, {"x": specs.binding_from_promise("first", "o0")}),
        ],
        {"o0": specs.binding_from_promise("second", "o0")},
    )
    execution = remote.execute(wf, inputs={"x": 3})
    with pytest.raises(FlyteAssertionError, match="wait until"):
        _ = execution.outputs
    done = remote.wait(execution, timeout=30)
    assert (
        done is execution
        and execution.is_done
        and execution.is_successful
        and execution.phase_name == "SUCCEEDED"
    )
    assert execution.error is None
    outputs = execution.outputs
    assert (
        outputs["o0"] == 81 and outputs.get("o0", as_type=float) == 81.0 and outputs.to_dict() == {"o0": 81}
    )
    assert outputs.literals["o0"].scalar.primitive.integer == 81
    assert execution.inputs["x"] == 3
    nodes = execution.node_executions
    assert set(nodes) == {"start-node", "first", "second", "end-node"}  # keyed by id.node_id, as flytekit
    first = nodes["first"]
    assert first.closure.phase == 3 and first.is_done and first.outputs["o0"] == 9 and first.inputs["x"] == 3
    assert [t.id.retry_attempt for t in first.task_executions] == [0]
    attempt = first.task_executions[0]
    # the node is done, so its attempts carry their inputs and outputs (GetTaskExecutionData), as flytekit's
    assert attempt.closure.phase == 3 and attempt.inputs["x"] == 3 and attempt.outputs["o0"] == 9
    assert remote.rpc_stats.by_method["GetTaskExecutionData"] >= 2
    assert nodes["start-node"].task_executions == [] and nodes["end-node"].is_done
    # a later sync with nodes re-fetches nothing for complete nodes
    before = remote.rpc_stats.by_method.copy()
    execution.sync(sync_nodes=True)
    after = remote.rpc_stats.by_method
    assert after["GetNodeExecutionData"] == before["GetNodeExecutionData"]
    assert after["ListTaskExecutions"] == before["ListTaskExecutions"]
    assert after["GetTaskExecutionData"] == before["GetTaskExecutionData"]


def test_fetch_execution_and_type_hints(remote: FlyteRemote, v: str) -> None:
    add = _task(remote, v, "add", "add", {"a": int, "b": int}, {"o0": int})
    started = remote.execute(add, inputs={"a": 1, "b": 2}, type_hints={"o0": float}, wait=True)
    assert started.outputs["o0"] == 3.0 and isinstance(started.outputs["o0"], float)
    fetched = remote.fetch_execution(name=started.id.name)
    assert (
        fetched.is_successful and fetched.outputs["o0"] == 3 and fetched.inputs.to_dict() == {"a": 1, "b": 2}
    )
    with pytest.raises(FlyteEntityNotFoundError):
        remote.fetch_execution(name="c2-no-such-execution")


def test_failure_and_retries(remote: FlyteRemote, v: str) -> None:
    fail = _task(remote, v, "fail", "fail", {"message": str}, {})
    failed = remote.execute(fail, inputs={"message": "boom"}, wait=True)
    assert failed.is_done and not failed.is_successful and failed.phase_name == "FAILED"
    assert "boom" in failed.error.message
    with pytest.raises(FlyteAssertionError, match="ended in failure"):
        _ = failed.outputs
    problem = failed.failure()
    assert problem is not None and problem.kind == "USER" and "boom" in str(problem) and problem.node_id
    flaky = _task(remote, v, "flaky", "fail_until_attempt", {"attempt": int}, {"o0": int}, retries=3)
    ok = remote.execute(flaky, inputs={"attempt": 2}, wait=True)
    assert ok.outputs["o0"] == 2
    (node,) = [n for key, n in ok.node_executions.items() if key not in ("start-node", "end-node")]
    assert [t.id.retry_attempt for t in node.task_executions] == [0, 1, 2]
    assert [t.is_successful for t in node.task_executions] == [False, False, True]
    failed_attempt, _, good_attempt = node.task_executions
    assert failed_attempt.error is not None and good_attempt.outputs["o0"] == 2
    with pytest.raises(FlyteAssertionError, match="ended in failure"):
        _ = failed_attempt.outputs


def test_terminate_timeout_and_relaunch(remote: FlyteRemote, v: str) -> None:
    sleep = _task(remote, v, "sleep", "sleep_seconds", {"seconds": float}, {"o0": float})
    running = remote.execute(sleep, inputs={"seconds": 30.0})
    data_calls = remote.rpc_stats.by_method["GetExecutionData"]
    with pytest.raises(FlyteTimeoutError, match="did not complete"):
        remote.wait(running, timeout=0.3, poll_interval=0.05)
    assert remote.rpc_stats.by_method["GetExecutionData"] == data_calls + 1  # inputs once, not on every poll
    running.terminate("stop it")
    running.wait(timeout=30, sync_nodes=False)
    assert running.phase_name == "ABORTED" and running.error is None
    assert running.closure.abort_metadata.cause == "stop it"
    problem = running.failure()
    assert problem is not None and "stop it" in str(problem)
    with pytest.raises(FlyteFailedPreconditionError):
        remote.terminate(running)
    quick = remote.execute(sleep, inputs={"seconds": 0.01}, wait=True)
    again = quick.relaunch()
    assert again.id.name != quick.id.name and again.spec.metadata.mode == 3  # RELAUNCH
    assert remote.wait(again, timeout=30).outputs["o0"] == 0.01


def test_subworkflow_and_launch_plan_nodes(remote: FlyteRemote, v: str) -> None:
    square = _task(remote, v, "sq2", "square", {"x": int}, {"o0": int})
    inner_template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "c2m.inner", v),
        specs.interface({"x": INT}, {"o0": INT}),
        [specs.task_node("sq", square.id, {"x": _start("x")})],
        outputs={"o0": specs.binding_from_promise("sq", "o0")},
    )
    inner = remote.register_workflow(workflow_pb2.WorkflowSpec(template=inner_template))
    inner_lp = remote.fetch_launch_plan(name="c2m.inner", version=v)
    outer_template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "c2m.outer", v),
        specs.interface({"x": INT}, {"a": INT, "b": INT}),
        [
            specs.sub_workflow_node("sub", inner.id, {"x": _start("x")}),
            specs.launch_plan_node("child", inner_lp.id, {"x": _start("x")}),
        ],
        outputs={
            "a": specs.binding_from_promise("sub", "o0"),
            "b": specs.binding_from_promise("child", "o0"),
        },
    )
    spec = workflow_pb2.WorkflowSpec(template=outer_template, sub_workflows=[inner_template])
    outer = remote.register_workflow(spec)
    execution = remote.execute(outer, inputs={"x": 4}, wait=True)
    assert execution.outputs.to_dict() == {"a": 16, "b": 16}
    nodes = execution.node_executions
    sub = nodes["sub"]
    # child nodes are keyed by their id.node_id (``<parent>-<retry>-<spec id>``), as flytekit's
    assert sub.is_parent_node and set(sub.subworkflow_node_executions) == {
        "sub-0-start-node",
        "sub-0-sq",
        "sub-0-end-node",
    }
    sq = sub.subworkflow_node_executions["sub-0-sq"]
    assert sq.node_id == "sq" and sq.outputs["o0"] == 16 and sq.task_executions[0].outputs["o0"] == 16
    child = nodes["child"]
    (child_exec,) = child.workflow_executions
    assert isinstance(child_exec, FlyteWorkflowExecution) and child_exec.is_successful
    assert child_exec.spec.metadata.mode == 4  # CHILD_WORKFLOW
    assert child_exec.outputs["o0"] == 16 and "sq" in child_exec.node_executions


def _gate_workflow(remote: FlyteRemote, v: str) -> Any:
    echo = _task(remote, v, "echo", "echo", {"x": int}, {"o0": int})
    nodes = [
        specs.task_node("n0", echo.id, {"x": _start("x")}),
        specs.gate_approve_node("approve", "ok-to-go", "n0"),
        specs.gate_signal_node("ask", "how-many", specs.simple_type("INTEGER"), upstream=["approve"]),
        specs.task_node("n1", echo.id, {"x": specs.binding_from_promise("ask", "o0")}),
    ]
    return _workflow(
        remote, v, "gates", {"x": INT}, {"o0": INT}, nodes, {"o0": specs.binding_from_promise("n1", "o0")}
    )


def _signals_when(remote: FlyteRemote, name: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        signals = {s.id.signal_id: s for s in remote.list_signals(name)}
        if wanted <= set(signals):
            return signals
        time.sleep(0.05)
    raise AssertionError(f"signals {wanted} never appeared")


def test_signals_approve_and_typed_input(remote: FlyteRemote, v: str) -> None:
    wf = _gate_workflow(remote, v)
    execution = remote.execute(wf, inputs={"x": 1})
    signals = _signals_when(remote, execution.id.name, {"ok-to-go"})
    assert signals["ok-to-go"].type.simple_type == types_pb2.BOOLEAN and not signals["ok-to-go"].is_set
    remote.approve("ok-to-go", execution.id.name)
    signals = _signals_when(remote, execution.id.name, {"how-many"})
    assert signals["how-many"].type.simple_type == types_pb2.INTEGER
    remote.set_input("how-many", execution, 41)  # typed from the stored signal type
    remote.wait(execution, timeout=30)
    assert execution.outputs["o0"] == 41
    assert {
        s.signal_id: s.value.scalar.primitive.integer
        for s in remote.list_signals(execution)
        if s.signal_id == "how-many"
    } == {"how-many": 41}


def test_signal_reject_fails_the_gate(remote: FlyteRemote, v: str) -> None:
    wf = _gate_workflow(remote, v)
    execution = remote.execute(wf, inputs={"x": 1})
    _signals_when(remote, execution.id.name, {"ok-to-go"})
    remote.reject("ok-to-go", execution.id.name)
    remote.wait(execution, timeout=30)
    assert execution.phase_name == "FAILED" and execution.error.code == "ReceivedRejectSignal"
    assert execution.node_executions["approve"].phase_name == "FAILED"
    with pytest.raises(FlyteEntityNotFoundError, match="no signal"):
        remote.set_input("nope", execution.id.name, 1)
