"""Executions, node/task executions, signals, child launches, events and restarts over real gRPC."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    event_pb2,
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    signal_pb2,
    task_execution_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.service import dataproxy_pb2

from airflow_provider_flyte.sandbox.testing import SandboxThread

from .test_admin_support import (
    INT,
    NODE,
    TASK,
    WF,
    Stubs,
    create_execution,
    exec_id,
    ident,
    launch_plan_request,
    lit_int,
    lit_str,
    register_add,
    rpc_error,
    stubs,
    unique,
    wait_phase,
)

NE = common_pb2.NamedEntityIdentifier


@pytest.fixture
def s(sandbox: SandboxThread) -> Iterator[Stubs]:
    out = stubs(sandbox.endpoint)
    yield out
    out.close()


def gate_workflow(
    s: Stubs, gate: core_workflow_pb2.GateNode, outputs: bool = True
) -> identifier_pb2.Identifier:
    """Register a one-node workflow (a gate) and its launch plan; return the launch plan id."""
    name = unique("exe.gate")
    wf_id = ident(identifier_pb2.WORKFLOW, name)
    t = core_workflow_pb2.WorkflowTemplate(id=wf_id)
    node = t.nodes.add(id="n0", gate_node=gate)
    node.metadata.name = "gate"
    if outputs:
        t.interface.outputs.variables["o0"].type.CopyFrom(INT)
        b = t.outputs.add(var="o0")
        b.binding.promise.node_id, b.binding.promise.var = "n0", "o0"
    s.admin.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=t)), timeout=10
    )
    lp = launch_plan_request(name, wf_id)
    s.admin.CreateLaunchPlan(lp, timeout=10)
    return lp.id


def sleep_launch_plan(s: Stubs, seconds: int = 600) -> identifier_pb2.Identifier:
    gate = core_workflow_pb2.GateNode()
    gate.sleep.duration.seconds = seconds
    return gate_workflow(s, gate, outputs=False)


def test_launch_plan_execution_end_to_end(s: Stubs, sandbox: SandboxThread) -> None:
    _, wf_id, lp_id = register_add(s, "exe.e2e")
    name = unique("Exe-E2e")  # upper case is accepted and lowercased
    eid = create_execution(s, lp_id, {"a": lit_int(2), "b": lit_int(3)}, name=name)
    assert eid.name == name.lower()
    done = wait_phase(s, eid)
    assert done.closure.phase == WF.SUCCEEDED
    assert done.closure.workflow_id == wf_id
    assert done.closure.duration.ToNanoseconds() > 0 and done.closure.started_at.seconds > 0
    assert done.spec.max_parallelism == 25 and done.spec.raw_output_data_config.output_location_prefix
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), timeout=10)
    assert data.full_inputs.literals["a"].scalar.primitive.integer == 2
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 8  # (2 + 3) + 3
    nodes = s.admin.ListNodeExecutions(
        node_execution_pb2.NodeExecutionListRequest(
            workflow_execution_id=eid,
            limit=100,
            sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING),
        ),
        timeout=10,
    )
    assert [n.id.node_id for n in nodes.node_executions] == ["start-node", "n0", "n1", "end-node"]
    assert all(n.closure.phase == NODE.SUCCEEDED for n in nodes.node_executions)
    n1 = node_execution_pb2.NodeExecutionGetRequest(id=nodes.node_executions[2].id)
    node_data = s.admin.GetNodeExecutionData(n1, timeout=10)
    assert node_data.full_outputs.literals["o0"].scalar.primitive.integer == 8
    assert node_data.flyte_urls.outputs == f"flyte://v1/flytesnacks/development/{eid.name}/n1/o"
    tasks = s.admin.ListTaskExecutions(
        task_execution_pb2.TaskExecutionListRequest(node_execution_id=n1.id, limit=10), timeout=10
    )
    (attempt,) = tasks.task_executions
    assert attempt.closure.phase == TASK.SUCCEEDED and attempt.id.retry_attempt == 0
    got = s.admin.GetTaskExecution(task_execution_pb2.TaskExecutionGetRequest(id=attempt.id), timeout=10)
    assert got.closure.duration == attempt.closure.duration
    task_data = s.admin.GetTaskExecutionData(
        task_execution_pb2.TaskExecutionGetDataRequest(id=attempt.id), timeout=10
    )
    assert task_data.full_inputs.literals["a"].scalar.primitive.integer == 5
    admin: Any = sandbox.sandbox.admin
    assert admin is not None
    literal = sandbox.run(admin.get_data(f"flyte://v1/flytesnacks/development/{eid.name}/n1/o/o0"))
    assert (
        isinstance(literal, dataproxy_pb2.GetDataResponse) and literal.literal.scalar.primitive.integer == 8
    )
    assert admin.execution_url(eid).endswith(
        f"/console/projects/flytesnacks/domains/development/executions/{eid.name}"
    )


def test_single_task_execution_uses_flytegen(s: Stubs) -> None:
    task_id, _, _ = register_add(s, "exe.single")
    eid = create_execution(s, task_id, {"a": lit_int(4), "b": lit_int(5)})
    done = wait_phase(s, eid)
    assert done.closure.phase == WF.SUCCEEDED
    assert done.spec.launch_plan == task_id
    assert done.closure.workflow_id.name == f".flytegen.{task_id.name}"
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), timeout=10)
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 9
    # the generated workflow is system generated: hidden from named entity lists
    listed = s.admin.ListNamedEntities(
        common_pb2.NamedEntityListRequest(
            resource_type=identifier_pb2.WORKFLOW, project="flytesnacks", domain="development", limit=1000
        ),
        timeout=10,
    )
    assert done.closure.workflow_id.name not in [e.id.name for e in listed.entities]


def test_input_checks(s: Stubs) -> None:
    _, wf_id, _ = register_add(s, "exe.inp")
    lp = launch_plan_request(unique("exe.inp"), wf_id)
    lp.spec.fixed_inputs.literals["b"].CopyFrom(lit_int(1))
    s.admin.CreateLaunchPlan(lp, timeout=10)

    def err(inputs: dict[str, object]) -> str:
        e = rpc_error(s.admin.CreateExecution, _request(lp.id, inputs))
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
        return str(e.details())

    assert err({"a": lit_int(1), "zz": lit_int(1)}).startswith("invalid input zz")
    assert err({}) == "expected_inputs a missing"
    assert err({"a": lit_str("x")}) == "invalid a input wrong type. Expected int, but got str"
    assert err({"a": lit_int(1), "b": lit_int(2)}) == "fixed_inputs b cannot be overridden"
    eid = create_execution(s, lp.id, {"a": lit_int(1)})
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), timeout=10)
    assert data.full_inputs.literals["b"].scalar.primitive.integer == 1  # fixed input applied


def _request(
    target: identifier_pb2.Identifier, inputs: dict[str, object], name: str = "", **kw: str
) -> execution_pb2.ExecutionCreateRequest:
    request = execution_pb2.ExecutionCreateRequest(
        project=kw.get("project", "flytesnacks"), domain=kw.get("domain", "development"), name=name
    )
    request.spec.launch_plan.CopyFrom(target)
    for k, v in inputs.items():
        request.inputs.literals[k].CopyFrom(v)
    return request


def test_names_and_duplicates(s: Stubs) -> None:
    _, _, lp_id = register_add(s, "exe.name")
    generated = create_execution(s, lp_id, {"a": lit_int(1), "b": lit_int(1)})
    assert len(generated.name) == 20 and generated.name[0] == "a"
    assert set(generated.name[1:]) <= set("bcdfghjklmnpqrstvwxz2456789")
    name = unique("dup")
    create_execution(s, lp_id, {"a": lit_int(1), "b": lit_int(1)}, name=name)
    dup = rpc_error(s.admin.CreateExecution, _request(lp_id, {"a": lit_int(1), "b": lit_int(1)}, name=name))
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    bad = rpc_error(s.admin.CreateExecution, _request(lp_id, {}, name="1abc"))
    assert "does not match regex" in bad.details()
    long = rpc_error(s.admin.CreateExecution, _request(lp_id, {}, name="a" * 64))
    assert "size of name exceeded length 63" in long.details()
    nodomain = rpc_error(s.admin.CreateExecution, _request(lp_id, {}, domain="qa"))
    assert "domain [qa] is unrecognized" in nodomain.details()


def test_list_archive_and_pagination(s: Stubs) -> None:
    _, _, lp_id = register_add(s, "exe.list")
    ids = [create_execution(s, lp_id, {"a": lit_int(i), "b": lit_int(0)}) for i in range(5)]
    names = ";".join(i.name for i in ids)
    base = common_pb2.ResourceListRequest(
        id=NE(project="flytesnacks", domain="development"),
        limit=2,
        filters=f"value_in(execution.name,{names})",
        sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.ASCENDING),
    )
    pages = []
    while True:
        page = s.admin.ListExecutions(base, timeout=10)
        pages.append([e.id.name for e in page.executions])
        if not page.token:
            break
        base.token = page.token
    assert pages == [[ids[0].name, ids[1].name], [ids[2].name, ids[3].name], [ids[4].name]]
    s.admin.UpdateExecution(
        execution_pb2.ExecutionUpdateRequest(id=ids[0], state=execution_pb2.EXECUTION_ARCHIVED), timeout=10
    )
    base.token, base.limit = "", 10
    assert ids[0].name not in [e.id.name for e in s.admin.ListExecutions(base, timeout=10).executions]
    base.filters += "+eq(state,1)"
    archived = s.admin.ListExecutions(base, timeout=10)
    assert [e.id.name for e in archived.executions] == [ids[0].name]
    assert archived.executions[0].closure.state_change_details.state == execution_pb2.EXECUTION_ARCHIVED
    by_lp = common_pb2.ResourceListRequest(
        id=NE(project="flytesnacks", domain="development"),
        limit=10,
        filters=f"eq(launch_plan.name,{lp_id.name})",
    )
    assert len(s.admin.ListExecutions(by_lp, timeout=10).executions) == 4


def test_terminate_relaunch_and_recover(s: Stubs) -> None:
    lp_id = sleep_launch_plan(s)
    eid = create_execution(s, lp_id, {})
    wait_phase(s, eid, {WF.RUNNING})
    s.admin.TerminateExecution(execution_pb2.ExecutionTerminateRequest(id=eid, cause="stop it"), timeout=10)
    done = wait_phase(s, eid)
    assert done.closure.phase == WF.ABORTED
    assert done.closure.abort_metadata.cause == "stop it"
    again = rpc_error(
        s.admin.TerminateExecution, execution_pb2.ExecutionTerminateRequest(id=eid, cause="again")
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert again.details() == "Cannot abort an already terminated workflow execution"

    relaunched = s.admin.RelaunchExecution(execution_pb2.ExecutionRelaunchRequest(id=eid), timeout=10).id
    got = s.admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=relaunched), timeout=10)
    assert got.spec.metadata.mode == execution_pb2.ExecutionMetadata.RELAUNCH
    assert got.spec.metadata.reference_execution == eid
    s.admin.TerminateExecution(execution_pb2.ExecutionTerminateRequest(id=relaunched, cause="x"), timeout=10)
    wait_phase(s, relaunched)

    _, _, add_lp = register_add(s, "exe.rec")
    source = create_execution(s, add_lp, {"a": lit_int(1), "b": lit_int(2)})
    wait_phase(s, source)
    recovered = s.admin.RecoverExecution(
        execution_pb2.ExecutionRecoverRequest(id=source, name=unique("rec")), timeout=10
    ).id
    done = wait_phase(s, recovered)
    assert done.spec.metadata.mode == execution_pb2.ExecutionMetadata.RECOVERED
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=recovered), timeout=10)
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 5


def test_child_launch_plan_execution(s: Stubs) -> None:
    _, _, add_lp = register_add(s, "exe.child")
    name = unique("exe.parent")
    wf_id = ident(identifier_pb2.WORKFLOW, name)
    t = core_workflow_pb2.WorkflowTemplate(id=wf_id)
    t.interface.outputs.variables["o0"].type.CopyFrom(INT)
    node = t.nodes.add(id="n0")
    node.metadata.name = "child"
    node.workflow_node.launchplan_ref.CopyFrom(add_lp)
    for var, value in (("a", 10), ("b", 1)):
        node.inputs.add(var=var).binding.scalar.primitive.integer = value
    b = t.outputs.add(var="o0")
    b.binding.promise.node_id, b.binding.promise.var = "n0", "o0"
    s.admin.CreateWorkflow(
        workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=t)), timeout=10
    )
    lp = launch_plan_request(name, wf_id)
    s.admin.CreateLaunchPlan(lp, timeout=10)
    eid = create_execution(s, lp.id, {})
    done = wait_phase(s, eid)
    assert done.closure.phase == WF.SUCCEEDED, done.closure.error
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), timeout=10)
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 12
    n0 = s.admin.GetNodeExecution(
        node_execution_pb2.NodeExecutionGetRequest(
            id=identifier_pb2.NodeExecutionIdentifier(node_id="n0", execution_id=eid)
        ),
        timeout=10,
    )
    child_id = n0.closure.workflow_node_metadata.executionId
    child = s.admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=child_id), timeout=10)
    assert child.spec.metadata.mode == execution_pb2.ExecutionMetadata.CHILD_WORKFLOW
    assert child.spec.metadata.nesting == 1
    assert child.spec.metadata.parent_node_execution.execution_id == eid
    children = s.admin.ListExecutions(
        common_pb2.ResourceListRequest(
            id=NE(project="flytesnacks", domain="development"),
            limit=10,
            filters=f"eq(mode,CHILD_WORKFLOW)+eq(name,{child_id.name})",
        ),
        timeout=10,
    )
    assert [e.id for e in children.executions] == [child_id]


def test_signals(s: Stubs) -> None:
    gate = core_workflow_pb2.GateNode()
    gate.signal.signal_id = "number"
    gate.signal.type.simple = types_pb2.INTEGER
    gate.signal.output_variable_name = "o0"
    lp_id = gate_workflow(s, gate)
    eid = create_execution(s, lp_id, {})
    deadline = time.monotonic() + 20
    while True:
        listed = s.signal.ListSignals(
            signal_pb2.SignalListRequest(workflow_execution_id=eid, limit=10), timeout=10
        )
        if listed.signals:
            break
        assert time.monotonic() < deadline
        time.sleep(0.02)
    (signal,) = listed.signals
    assert signal.id.signal_id == "number" and signal.type.simple == types_pb2.INTEGER
    assert not signal.HasField("value")
    sid = signal.id
    wrong = rpc_error(s.signal.SetSignal, signal_pb2.SignalSetRequest(id=sid, value=lit_str("x")))
    assert wrong.code() == grpc.StatusCode.INVALID_ARGUMENT and "is not castable" in wrong.details()
    unknown = signal_pb2.SignalSetRequest(id=sid, value=lit_int(1))
    unknown.id.signal_id = "other"
    assert "failed to validate that signal [other" in rpc_error(s.signal.SetSignal, unknown).details()
    s.signal.SetSignal(signal_pb2.SignalSetRequest(id=sid, value=lit_int(41)), timeout=10)
    done = wait_phase(s, eid)
    assert done.closure.phase == WF.SUCCEEDED
    data = s.admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=eid), timeout=10)
    assert data.full_outputs.literals["o0"].scalar.primitive.integer == 41
    got = s.signal.GetOrCreateSignal(
        signal_pb2.SignalGetOrCreateRequest(id=sid, type=signal.type), timeout=10
    )
    assert got.value.scalar.primitive.integer == 41


def test_event_transition_rules(s: Stubs) -> None:
    _, _, lp_id = register_add(s, "exe.evt")
    eid = create_execution(s, lp_id, {"a": lit_int(1), "b": lit_int(1)})
    wait_phase(s, eid)
    event = event_pb2.WorkflowExecutionEventRequest()
    event.event.execution_id.CopyFrom(eid)
    event.event.phase = WF.RUNNING
    error = rpc_error(s.admin.CreateWorkflowEvent, event)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "terminal phase SUCCEEDED" in error.details()
    node_event = event_pb2.NodeExecutionEventRequest()
    node_event.event.id.execution_id.CopyFrom(eid)
    node_event.event.id.node_id = "n0"
    node_event.event.phase = NODE.RUNNING
    assert rpc_error(s.admin.CreateNodeEvent, node_event).code() == grpc.StatusCode.FAILED_PRECONDITION
    missing = event_pb2.WorkflowExecutionEventRequest()
    missing.event.execution_id.CopyFrom(exec_id(unique("ghost")))
    missing.event.phase = WF.RUNNING
    assert rpc_error(s.admin.CreateWorkflowEvent, missing).code() == grpc.StatusCode.NOT_FOUND


def test_restart_fails_interrupted_executions(
    fresh_sandbox: Callable[..., SandboxThread], tmp_path: Path
) -> None:
    start = fresh_sandbox
    first = start(data_dir=tmp_path / "data")
    s = stubs(first.endpoint)
    lp_id = sleep_launch_plan(s)
    _, _, add_lp = register_add(s, "exe.rst")
    finished = create_execution(s, add_lp, {"a": lit_int(1), "b": lit_int(1)})
    wait_phase(s, finished)
    running = create_execution(s, lp_id, {})
    wait_phase(s, running, {WF.RUNNING})
    s.close()
    first.stop()
    second = start(data_dir=tmp_path / "data")
    s = stubs(second.endpoint)
    try:
        got = s.admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=running), timeout=10)
        assert got.closure.phase == WF.FAILED
        assert got.closure.error.code == "SandboxRestarted"
        assert "relaunch it" in got.closure.error.message
        nodes = s.admin.ListNodeExecutions(
            node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=running, limit=10), timeout=10
        )
        assert all(n.closure.phase in (NODE.SUCCEEDED, NODE.FAILED) for n in nodes.node_executions)
        ok = s.admin.GetExecution(execution_pb2.WorkflowExecutionGetRequest(id=finished), timeout=10)
        assert ok.closure.phase == WF.SUCCEEDED
        lp = s.admin.GetLaunchPlan(common_pb2.ObjectGetRequest(id=add_lp), timeout=10)
        assert lp.id == add_lp
        assert launch_plan_pb2.LaunchPlan() is not None
    finally:
        s.close()
