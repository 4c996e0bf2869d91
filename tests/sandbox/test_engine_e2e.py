"""Engine behind the real sandbox: executions created over gRPC run, report through admin, and are fast."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    signal_pb2,
    task_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox
from tests.sandbox.test_engine_support import BOOL, INT, lit, lmap, py, task

P, D = "flytesnacks", "development"
WF = 2
TERMINAL = {4, 6, 7, 8}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxThread]:
    with run_sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def stubs(sandbox: SandboxThread) -> Iterator[tuple[Any, Any]]:
    channel = grpc.insecure_channel(sandbox.endpoint)
    yield admin_pb2_grpc.AdminServiceStub(channel), signal_pb2_grpc.SignalServiceStub(channel)
    channel.close()


def wait(admin: Any, name: str, timeout: float = 30) -> execution_pb2.Execution:
    exec_id = identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name=name)
    deadline = time.monotonic() + timeout
    while True:
        ex = admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=exec_id))
        if ex.closure.phase in TERMINAL or time.monotonic() > deadline:
            return ex
        time.sleep(0.02)


def register_workflow(admin: Any, template: Any, tasks: list[Any]) -> identifier_pb2.Identifier:
    for t in tasks:
        try:
            admin.CreateTask(task_pb2.TaskCreateRequest(id=t.id, spec=task_pb2.TaskSpec(template=t)))
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    admin.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=template.id, spec=workflow_pb2.WorkflowSpec(template=template))
    )
    lp = specs.identifier("LAUNCH_PLAN", P, D, template.id.name, template.id.version)
    admin.CreateLaunchPlan(
        launch_plan_pb2.LaunchPlanCreateRequest(id=lp, spec=specs.launch_plan_spec(template.id))
    )
    return lp


def test_single_task_execution_end_to_end(stubs: tuple[Any, Any]) -> None:
    admin, _ = stubs
    add = task("e2e.add", "add", {"a": INT, "b": INT}, {"o0": INT})
    admin.CreateTask(task_pb2.TaskCreateRequest(id=add.id, spec=task_pb2.TaskSpec(template=add)))
    req = execution_pb2.ExecutionCreateRequest(project=P, domain=D, name="e2esingle", inputs=lmap(a=1, b=2))
    req.spec.launch_plan.CopyFrom(add.id)
    admin.CreateExecution(req)
    ex = wait(admin, "e2esingle")
    assert ex.closure.phase == 4, ex.closure
    data = admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=ex.id))
    assert py(data.full_outputs.literals["o0"]) == 3
    nodes = admin.ListNodeExecutions(
        node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=ex.id, limit=10)
    )
    ids = {n.id.node_id: n.closure.phase for n in nodes.node_executions}
    assert ids.get("start-node") == 3 and ids.get("end-node") == 3
    assert [p for n, p in ids.items() if n not in ("start-node", "end-node")] == [3]


def test_launch_plan_child_and_approval_gate_end_to_end(stubs: tuple[Any, Any]) -> None:
    admin, signals = stubs
    sq = task("e2e.square", "square", {"x": INT}, {"o0": INT})
    child = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "e2e.child", "v1"),
        specs.interface({"x": INT}, {"y": INT}),
        [specs.task_node("n0", sq.id, {"x": binding_from_promise("", "x")})],
        {"y": binding_from_promise("n0", "o0")},
    )
    child_lp = register_workflow(admin, child, [sq])
    parent = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "e2e.parent", "v1"),
        specs.interface({"x": INT}, {"out": INT}),
        [
            specs.launch_plan_node("n0", child_lp, {"x": binding_from_promise("", "x")}),
            specs.gate_approve_node("n1", "go", "n0", "y"),
        ],
        {"out": binding_from_promise("n1", "y")},
    )
    lp = register_workflow(admin, parent, [])
    req = execution_pb2.ExecutionCreateRequest(project=P, domain=D, name="e2eparent", inputs=lmap(x=6))
    req.spec.launch_plan.CopyFrom(lp)
    admin.CreateExecution(req)
    exec_id = identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name="e2eparent")
    deadline = time.monotonic() + 20
    while True:
        listed = signals.ListSignals(signal_pb2.SignalListRequest(workflow_execution_id=exec_id, limit=10))
        if listed.signals or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [s.id.signal_id for s in listed.signals] == ["go"] and listed.signals[0].type == BOOL
    signals.SetSignal(signal_pb2.SignalSetRequest(id=listed.signals[0].id, value=lit(True)))
    ex = wait(admin, "e2eparent")
    assert ex.closure.phase == 4, ex.closure
    data = admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=ex.id))
    assert py(data.full_outputs.literals["out"]) == 36
    node = admin.GetNodeExecution(
        node_execution_pb2.NodeExecutionGetRequest(
            id=identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=exec_id)
        )
    )
    child_id = node.closure.workflow_node_metadata.executionId
    assert child_id.name
    child_ex = admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=child_id))
    assert (
        child_ex.closure.phase == 4
        and child_ex.spec.metadata.mode == 4
        and child_ex.spec.metadata.nesting == 1
    )


def test_terminate_aborts_running_execution(stubs: tuple[Any, Any]) -> None:
    admin, _ = stubs
    slow = task(
        "e2e.sleep",
        "sleep_seconds",
        {"seconds": specs.simple_type("FLOAT")},
        {"o0": specs.simple_type("FLOAT")},
    )
    admin.CreateTask(task_pb2.TaskCreateRequest(id=slow.id, spec=task_pb2.TaskSpec(template=slow)))
    req = execution_pb2.ExecutionCreateRequest(
        project=P, domain=D, name="e2eabort", inputs=lmap(seconds=60.0)
    )
    req.spec.launch_plan.CopyFrom(slow.id)
    admin.CreateExecution(req)
    exec_id = identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name="e2eabort")
    time.sleep(0.3)
    admin.TerminateExecution(execution_pb2.ExecutionTerminateRequest(id=exec_id, cause="enough"))
    ex = wait(admin, "e2eabort", timeout=10)
    assert ex.closure.phase == 7, ex.closure


def test_many_concurrent_single_task_executions(stubs: tuple[Any, Any]) -> None:
    """150 executions created concurrently all succeed with their own result (speed: benchmarks/)."""
    admin, _ = stubs
    add = task("e2e.fast", "add", {"a": INT, "b": INT}, {"o0": INT})
    admin.CreateTask(task_pb2.TaskCreateRequest(id=add.id, spec=task_pb2.TaskSpec(template=add)))
    n = 150

    def create(i: int) -> None:
        req = execution_pb2.ExecutionCreateRequest(
            project=P, domain=D, name=f"fast{i}", inputs=lmap(a=i, b=1)
        )
        req.spec.launch_plan.CopyFrom(add.id)
        admin.CreateExecution(req)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(n)))
    done = [wait(admin, f"fast{i}") for i in range(n)]
    assert all(ex.closure.phase == 4 for ex in done)
    for i in (0, n // 2, n - 1):
        data = admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=done[i].id))
        assert data.full_outputs.literals["o0"].scalar.primitive.integer == i + 1
