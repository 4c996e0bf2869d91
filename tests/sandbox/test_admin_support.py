"""Helpers for the admin tests (no tests here): raw flyteidl stubs against the sandbox over real gRPC."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from flyteidl.admin import execution_pb2, launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task

P, D = "flytesnacks", "development"
WF = core_execution_pb2.WorkflowExecution
NODE = core_execution_pb2.NodeExecution
TASK = core_execution_pb2.TaskExecution
TERMINAL = {WF.SUCCEEDED, WF.FAILED, WF.ABORTED, WF.TIMED_OUT}
INT = types_pb2.LiteralType(simple=types_pb2.INTEGER)
STR = types_pb2.LiteralType(simple=types_pb2.STRING)
_counter = itertools.count()


def unique(prefix: str) -> str:
    """A name unique within this test session."""
    return f"{prefix}{time.monotonic_ns() % 10**9}{next(_counter)}"


@dataclass
class Stubs:
    channel: grpc.Channel
    admin: Any
    signal: Any

    def close(self) -> None:
        self.channel.close()


def stubs(endpoint: str) -> Stubs:
    channel = grpc.insecure_channel(endpoint)
    return Stubs(
        channel, admin_pb2_grpc.AdminServiceStub(channel), signal_pb2_grpc.SignalServiceStub(channel)
    )


def ident(kind: int, name: str, version: str = "v1", project: str = P, domain: str = D) -> Any:
    return identifier_pb2.Identifier(
        resource_type=kind, project=project, domain=domain, name=name, version=version
    )


def lit_int(value: int) -> Any:
    out = literals_pb2.Literal()
    out.scalar.primitive.integer = value
    return out


def lit_str(value: str) -> Any:
    out = literals_pb2.Literal()
    out.scalar.primitive.string_value = value
    return out


def task_request(name: str, version: str = "v1", callable_name: str = "add", **kw: Any) -> Any:
    """A runnable in-process task: by default ``add(a: int, b: int) -> o0: int``."""
    inputs = kw.pop("inputs", {"a": int, "b": int})
    outputs = kw.pop("outputs", {"o0": int})
    template = inprocess_task(name, f"{BUILTINS}:{callable_name}", inputs, outputs, version=version, **kw)
    return task_pb2.TaskCreateRequest(id=template.id, spec=task_pb2.TaskSpec(template=template))


def add_workflow(name: str, task_id: Any, version: str = "v1") -> Any:
    """wf(a: int, b: int) -> o0 = add(a, b); then add(o0, b)."""
    wf_id = ident(identifier_pb2.WORKFLOW, name, version)
    t = core_workflow_pb2.WorkflowTemplate(id=wf_id)
    t.metadata.SetInParent()
    t.interface.inputs.variables["a"].type.CopyFrom(INT)
    t.interface.inputs.variables["b"].type.CopyFrom(INT)
    t.interface.outputs.variables["o0"].type.CopyFrom(INT)
    for node_id, a_src in (("n0", ("", "a")), ("n1", ("n0", "o0"))):
        node = t.nodes.add(id=node_id)
        node.metadata.name = node_id
        node.task_node.reference_id.CopyFrom(task_id)
        ba = node.inputs.add(var="a")
        ba.binding.promise.node_id, ba.binding.promise.var = a_src
        bb = node.inputs.add(var="b")
        bb.binding.promise.node_id, bb.binding.promise.var = "", "b"
    out = t.outputs.add(var="o0")
    out.binding.promise.node_id, out.binding.promise.var = "n1", "o0"
    return workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=t))


def launch_plan_request(name: str, wf_id: Any, version: str = "v1", **spec: Any) -> Any:
    lp_id = ident(identifier_pb2.LAUNCH_PLAN, name, version)
    return launch_plan_pb2.LaunchPlanCreateRequest(
        id=lp_id, spec=launch_plan_pb2.LaunchPlanSpec(workflow_id=wf_id, **spec)
    )


def register_add(s: Stubs, prefix: str = "adm") -> tuple[Any, Any, Any]:
    """Register the add task, a two-node workflow and its launch plan; return their ids."""
    name = unique(prefix)
    task = task_request(f"{name}.add")
    s.admin.CreateTask(task, timeout=10)
    wf = add_workflow(f"{name}.wf", task.id)
    s.admin.CreateWorkflow(wf, timeout=10)
    lp = launch_plan_request(f"{name}.wf", wf.id)
    s.admin.CreateLaunchPlan(lp, timeout=10)
    return task.id, wf.id, lp.id


def create_execution(
    s: Stubs, target: Any, inputs: dict[str, Any] | None = None, name: str = "", **kw: Any
) -> Any:
    request = execution_pb2.ExecutionCreateRequest(
        project=kw.pop("project", P), domain=kw.pop("domain", D), name=name
    )
    request.spec.launch_plan.CopyFrom(target)
    request.spec.metadata.mode = execution_pb2.ExecutionMetadata.MANUAL
    for k, v in (inputs or {}).items():
        request.inputs.literals[k].CopyFrom(v)
    return s.admin.CreateExecution(request, timeout=10).id


def exec_id(name: str, project: str = P, domain: str = D) -> Any:
    return identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)


def wait_phase(s: Stubs, execution_id: Any, phases: set[int] = TERMINAL, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        execution = s.admin.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(id=execution_id), timeout=10
        )
        if execution.closure.phase in phases:
            return execution
        assert time.monotonic() < deadline, f"stayed {WF.Phase.Name(execution.closure.phase)}"
        time.sleep(0.02)


def rpc_error(call: Any, *args: Any, **kw: Any) -> Any:
    """Call and return the RpcError it must raise."""
    try:
        call(*args, timeout=10, **kw)
    except grpc.RpcError as exc:
        return exc
    raise AssertionError("the call succeeded but was expected to fail")


def iter_pages(call: Any, request: Any, field: str) -> Iterator[Any]:
    while True:
        page = call(request, timeout=10)
        yield list(getattr(page, field))
        if not page.token:
            return
        request.token = page.token
