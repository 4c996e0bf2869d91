"""Malformed requests: each gets INVALID_ARGUMENT or NOT_FOUND naming the problem, and the server keeps serving."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from flyteidl.admin import (
    common_pb2,
    event_pb2,
    execution_pb2,
    launch_plan_pb2,
    node_execution_pb2,
    project_pb2,
    signal_pb2,
    task_execution_pb2,
    task_pb2,
    version_pb2,
    workflow_pb2,
)
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc, signal_pb2_grpc

from airflow_provider_flyte.sandbox.testing import SandboxThread

from .test_admin_support import ident, lit_int, lit_str, task_request

INVALID, MISSING = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
TASK, WORKFLOW, LAUNCH_PLAN = identifier_pb2.TASK, identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN
P, D = "flytesnacks", "development"
NE = common_pb2.NamedEntityIdentifier
EID = identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name="doesnotexist")


def ne_list(**kw: Any) -> common_pb2.ResourceListRequest:
    kw.setdefault("limit", 10)
    return common_pb2.ResourceListRequest(id=NE(project=P, domain=D), **kw)


def lp_create(**spec: Any) -> launch_plan_pb2.LaunchPlanCreateRequest:
    return launch_plan_pb2.LaunchPlanCreateRequest(
        id=ident(LAUNCH_PLAN, "mal.lp"), spec=launch_plan_pb2.LaunchPlanSpec(**spec)
    )


def exec_create(name: str = "", target: Any = None, **kw: Any) -> execution_pb2.ExecutionCreateRequest:
    request = execution_pb2.ExecutionCreateRequest(
        project=kw.get("project", P), domain=kw.get("domain", D), name=name
    )
    if target is not None:
        request.spec.launch_plan.CopyFrom(target)
    return request


def task_without(field: str) -> task_pb2.TaskCreateRequest:
    request = task_request("mal.task")
    request.spec.template.ClearField(field)
    return request


def wf_create(template_fields: bool = True, **id_fields: Any) -> workflow_pb2.WorkflowCreateRequest:
    wf_id = ident(WORKFLOW, "mal.wf")
    for k, v in id_fields.items():
        setattr(wf_id, k, v)
    request = workflow_pb2.WorkflowCreateRequest(id=wf_id)
    if template_fields:
        request.spec.template.id.CopyFrom(wf_id)
    return request


def _unbound_output_workflow() -> workflow_pb2.WorkflowCreateRequest:
    request = wf_create()
    request.spec.template.interface.outputs.variables["o0"].type.simple = 1
    return request


def node_id(node: str = "n0", execution: Any = EID) -> identifier_pb2.NodeExecutionIdentifier:
    return identifier_pb2.NodeExecutionIdentifier(node_id=node, execution_id=execution)


# (rpc, request, expected code, text the message must contain)
CASES: list[tuple[str, Any, grpc.StatusCode, str]] = [
    # tasks
    ("CreateTask", task_pb2.TaskCreateRequest(), INVALID, "missing id"),
    (
        "CreateTask",
        task_pb2.TaskCreateRequest(id=ident(WORKFLOW, "x")),
        INVALID,
        "unexpected resource type workflow",
    ),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "x", project="")), INVALID, "missing project"),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "x", domain="")), INVALID, "missing domain"),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "")), INVALID, "missing name"),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "x", version="")), INVALID, "missing version"),
    (
        "CreateTask",
        task_pb2.TaskCreateRequest(id=ident(TASK, "x", project="nope")),
        INVALID,
        "project [nope]",
    ),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "x", domain="qa")), INVALID, "domain [qa]"),
    ("CreateTask", task_pb2.TaskCreateRequest(id=ident(TASK, "x")), INVALID, "missing spec"),
    (
        "CreateTask",
        task_pb2.TaskCreateRequest(id=ident(TASK, "x"), spec=task_pb2.TaskSpec()),
        INVALID,
        "missing template",
    ),
    ("CreateTask", task_without("type"), INVALID, "missing type"),
    ("CreateTask", task_without("metadata"), INVALID, "missing metadata"),
    ("CreateTask", task_without("interface"), INVALID, "missing typed interface"),
    ("GetTask", common_pb2.ObjectGetRequest(), INVALID, "missing id"),
    (
        "GetTask",
        common_pb2.ObjectGetRequest(id=ident(LAUNCH_PLAN, "x")),
        INVALID,
        "unexpected resource type launch_plan",
    ),
    (
        "GetTask",
        common_pb2.ObjectGetRequest(id=ident(TASK, "mal.none")),
        MISSING,
        "missing entity of type TASK",
    ),
    ("ListTasks", common_pb2.ResourceListRequest(limit=1), INVALID, "missing id"),
    ("ListTasks", common_pb2.ResourceListRequest(id=NE(project=P), limit=1), INVALID, "missing domain"),
    ("ListTasks", ne_list(limit=0), INVALID, "invalid value for limit"),
    ("ListTasks", ne_list(token="abc"), INVALID, "invalid pagination token abc for ListTasks"),
    ("ListTasks", ne_list(token="-5"), INVALID, "invalid pagination token -5"),
    ("ListTasks", ne_list(token="9" * 25), INVALID, "invalid pagination token 999"),  # beyond int64
    ("ListTasks", ne_list(filters="eq(bogus,1)"), INVALID, "'task.bogus' is invalid filter"),
    ("ListTasks", ne_list(filters="nope"), INVALID, "invalid value for filters"),
    ("ListTasks", ne_list(filters="like(name,x)"), INVALID, "unrecognized filter function: like"),
    ("ListTasks", ne_list(sort_by=common_pb2.Sort(key="color")), INVALID, "invalid sort key 'color'"),
    ("ListTasks", ne_list(filters="eq(execution.name,x)"), INVALID, "'execution' entity is not allowed"),
    (
        "ListTaskIds",
        common_pb2.NamedEntityIdentifierListRequest(domain=D, limit=1),
        INVALID,
        "missing project",
    ),
    (
        "ListTaskIds",
        common_pb2.NamedEntityIdentifierListRequest(project=P, domain=D),
        INVALID,
        "invalid value for limit",
    ),
    # workflows
    ("CreateWorkflow", wf_create(template_fields=False), INVALID, "missing spec"),
    ("CreateWorkflow", _unbound_output_workflow(), INVALID, "workflow outputs o0 are declared but not bound"),
    (
        "CreateWorkflow",
        workflow_pb2.WorkflowCreateRequest(id=ident(TASK, "x")),
        INVALID,
        "unexpected resource type task",
    ),
    ("CreateWorkflow", wf_create(name="y" * 0), INVALID, "missing name"),
    (
        "GetWorkflow",
        common_pb2.ObjectGetRequest(id=ident(WORKFLOW, "mal.none")),
        MISSING,
        "missing entity of type WORKFLOW",
    ),
    ("ListWorkflows", ne_list(filters="gt(created_at,notatime)"), INVALID, "RFC3339"),
    # launch plans
    (
        "CreateLaunchPlan",
        launch_plan_pb2.LaunchPlanCreateRequest(id=ident(LAUNCH_PLAN, "x")),
        INVALID,
        "missing spec",
    ),
    ("CreateLaunchPlan", lp_create(), INVALID, "missing workflow_id"),
    ("CreateLaunchPlan", lp_create(workflow_id=ident(TASK, "x")), INVALID, "unexpected resource type task"),
    (
        "CreateLaunchPlan",
        lp_create(workflow_id=ident(WORKFLOW, "mal.none")),
        MISSING,
        "missing entity of type WORKFLOW",
    ),
    (
        "GetLaunchPlan",
        common_pb2.ObjectGetRequest(id=ident(LAUNCH_PLAN, "mal.none")),
        MISSING,
        "missing entity of type LAUNCH_PLAN",
    ),
    ("GetActiveLaunchPlan", launch_plan_pb2.ActiveLaunchPlanRequest(), INVALID, "missing id"),
    (
        "GetActiveLaunchPlan",
        launch_plan_pb2.ActiveLaunchPlanRequest(id=NE(project=P, domain=D)),
        INVALID,
        "missing name",
    ),
    (
        "GetActiveLaunchPlan",
        launch_plan_pb2.ActiveLaunchPlanRequest(id=NE(project=P, domain=D, name="zz")),
        MISSING,
        "No active launch plan",
    ),
    (
        "UpdateLaunchPlan",
        launch_plan_pb2.LaunchPlanUpdateRequest(id=ident(LAUNCH_PLAN, "mal.none")),
        MISSING,
        "LAUNCH_PLAN",
    ),
    (
        "ListActiveLaunchPlans",
        launch_plan_pb2.ActiveLaunchPlanListRequest(project=P, domain=D),
        INVALID,
        "invalid value for limit",
    ),
    ("ListLaunchPlans", ne_list(filters="eq(state,SOMETIMES)"), INVALID, "invalid value SOMETIMES"),
    # named entities and projects
    (
        "ListNamedEntities",
        common_pb2.NamedEntityListRequest(resource_type=identifier_pb2.DATASET, project=P, domain=D, limit=1),
        INVALID,
        "resource_type",
    ),
    ("GetNamedEntity", common_pb2.NamedEntityGetRequest(resource_type=TASK), INVALID, "missing id"),
    (
        "GetNamedEntity",
        common_pb2.NamedEntityGetRequest(resource_type=TASK, id=NE(project=P, domain=D, name="mal.none")),
        MISSING,
        "mal.none",
    ),
    (
        "UpdateNamedEntity",
        common_pb2.NamedEntityUpdateRequest(resource_type=WORKFLOW, id=NE(project=P, domain=D, name="q")),
        INVALID,
        "missing metadata",
    ),
    ("RegisterProject", project_pb2.ProjectRegisterRequest(), INVALID, "missing project"),
    (
        "RegisterProject",
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(name="x")),
        INVALID,
        "missing project_id",
    ),
    (
        "RegisterProject",
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id="Bad_Id", name="x")),
        INVALID,
        "project_id",
    ),
    (
        "RegisterProject",
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id="okid")),
        INVALID,
        "missing project_name",
    ),
    (
        "RegisterProject",
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id="okid", name="n" * 65)),
        INVALID,
        "project_name is too long",
    ),
    (
        "RegisterProject",
        project_pb2.ProjectRegisterRequest(
            project=project_pb2.Project(id="okid", name="n", domains=[project_pb2.Domain(id="x")])
        ),
        INVALID,
        "Domains",
    ),
    ("GetProject", project_pb2.ProjectGetRequest(), INVALID, "missing project_id"),
    ("GetProject", project_pb2.ProjectGetRequest(id="mal-none"), MISSING, "mal-none"),
    (
        "ListProjects",
        project_pb2.ProjectListRequest(token="x"),
        INVALID,
        "invalid pagination token x for ListProjects",
    ),
    # executions
    ("CreateExecution", exec_create(), INVALID, "missing spec"),
    ("CreateExecution", execution_pb2.ExecutionCreateRequest(domain=D), INVALID, "missing project"),
    (
        "CreateExecution",
        exec_create(target=ident(WORKFLOW, "x")),
        INVALID,
        "unexpected resource type workflow",
    ),
    (
        "CreateExecution",
        exec_create(name="a" * 64, target=ident(LAUNCH_PLAN, "x")),
        INVALID,
        "size of name exceeded length 63",
    ),
    (
        "CreateExecution",
        exec_create(name="bad_name", target=ident(LAUNCH_PLAN, "x")),
        INVALID,
        "invalid name format: bad_name",
    ),
    ("CreateExecution", exec_create(target=ident(LAUNCH_PLAN, "x", version="")), INVALID, "missing version"),
    (
        "CreateExecution",
        exec_create(target=ident(LAUNCH_PLAN, "mal.none")),
        MISSING,
        "missing entity of type LAUNCH_PLAN",
    ),
    ("CreateExecution", exec_create(target=ident(TASK, "mal.none")), MISSING, "missing entity of type TASK"),
    (
        "CreateExecution",
        exec_create(target=ident(LAUNCH_PLAN, "x"), project="nope"),
        INVALID,
        "project [nope]",
    ),
    ("GetExecution", execution_pb2.WorkflowExecutionGetRequest(), INVALID, "missing id"),
    # an oversized field echoed in the message must not push the status past the client's 8 KiB metadata limit
    (
        "GetExecution",
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(project="p" * 10000, domain=D, name="x")
        ),
        MISSING,
        "missing entity of type execution with identifier ppp",
    ),
    (
        "CreateTask",
        task_pb2.TaskCreateRequest(id=ident(TASK, "x", project="q" * 10000)),
        INVALID,
        "more characters)",
    ),
    (
        "GetExecution",
        execution_pb2.WorkflowExecutionGetRequest(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D)
        ),
        INVALID,
        "missing name",
    ),
    (
        "GetExecution",
        execution_pb2.WorkflowExecutionGetRequest(id=EID),
        MISSING,
        "missing entity of type execution",
    ),
    ("GetExecutionData", execution_pb2.WorkflowExecutionGetDataRequest(id=EID), MISSING, "doesnotexist"),
    (
        "ListExecutions",
        ne_list(filters="eq(phase,RUNNING;QUEUED)"),
        INVALID,
        "invalid single value filter expression",
    ),
    (
        "ListExecutions",
        ne_list(filters="value_in(execution.bogus,a;b)"),
        INVALID,
        "'execution.bogus' is invalid filter",
    ),
    ("ListExecutions", ne_list(filters="gt(duration,long)"), INVALID, "Failed to parse duration [long]"),
    ("ListExecutions", ne_list(sort_by=common_pb2.Sort(key="spec")), INVALID, "invalid sort key 'spec'"),
    (
        "TerminateExecution",
        execution_pb2.ExecutionTerminateRequest(id=EID),
        MISSING,
        "missing entity of type execution",
    ),
    ("TerminateExecution", execution_pb2.ExecutionTerminateRequest(), INVALID, "missing id"),
    ("UpdateExecution", execution_pb2.ExecutionUpdateRequest(id=EID, state=9), INVALID, "invalid state 9"),
    ("RelaunchExecution", execution_pb2.ExecutionRelaunchRequest(id=EID), MISSING, "doesnotexist"),
    ("RecoverExecution", execution_pb2.ExecutionRecoverRequest(), INVALID, "missing id"),
    # node and task executions
    ("GetNodeExecution", node_execution_pb2.NodeExecutionGetRequest(), INVALID, "missing id"),
    (
        "GetNodeExecution",
        node_execution_pb2.NodeExecutionGetRequest(id=node_id("")),
        INVALID,
        "missing node_id",
    ),
    ("GetNodeExecution", node_execution_pb2.NodeExecutionGetRequest(id=node_id()), MISSING, "node execution"),
    (
        "ListNodeExecutions",
        node_execution_pb2.NodeExecutionListRequest(limit=1),
        INVALID,
        "missing workflow_execution_id",
    ),
    (
        "ListNodeExecutions",
        node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=EID, limit=1),
        MISSING,
        "doesnotexist",
    ),
    (
        "GetNodeExecutionData",
        node_execution_pb2.NodeExecutionGetDataRequest(id=node_id()),
        MISSING,
        "node execution",
    ),
    ("GetTaskExecution", task_execution_pb2.TaskExecutionGetRequest(), INVALID, "missing id"),
    (
        "GetTaskExecution",
        task_execution_pb2.TaskExecutionGetRequest(
            id=identifier_pb2.TaskExecutionIdentifier(task_id=ident(TASK, "t"))
        ),
        INVALID,
        "missing node_execution_id",
    ),
    (
        "ListTaskExecutions",
        task_execution_pb2.TaskExecutionListRequest(limit=1),
        INVALID,
        "missing node_execution_id",
    ),
    # events
    ("CreateWorkflowEvent", event_pb2.WorkflowExecutionEventRequest(), INVALID, "missing execution_id"),
    ("CreateNodeEvent", event_pb2.NodeExecutionEventRequest(), INVALID, "missing id"),
    ("CreateTaskEvent", event_pb2.TaskExecutionEventRequest(), INVALID, "missing task_id"),
    # signals
    ("GetOrCreateSignal", signal_pb2.SignalGetOrCreateRequest(), INVALID, "missing id"),
    (
        "GetOrCreateSignal",
        signal_pb2.SignalGetOrCreateRequest(
            id=identifier_pb2.SignalIdentifier(signal_id="s", execution_id=EID)
        ),
        INVALID,
        "missing type",
    ),
    (
        "ListSignals",
        signal_pb2.SignalListRequest(workflow_execution_id=EID),
        INVALID,
        "invalid value for limit",
    ),
    (
        "SetSignal",
        signal_pb2.SignalSetRequest(id=identifier_pb2.SignalIdentifier(signal_id="s", execution_id=EID)),
        INVALID,
        "missing value",
    ),
    (
        "SetSignal",
        signal_pb2.SignalSetRequest(
            id=identifier_pb2.SignalIdentifier(signal_id="s", execution_id=EID), value=lit_int(1)
        ),
        INVALID,
        "failed to validate that signal",
    ),
    (
        "SetSignal",
        signal_pb2.SignalSetRequest(id=identifier_pb2.SignalIdentifier(execution_id=EID), value=lit_str("x")),
        INVALID,
        "missing signal_id",
    ),
]
SIGNAL_RPCS = {"GetOrCreateSignal", "ListSignals", "SetSignal"}


@pytest.fixture(scope="module")
def channel(sandbox: SandboxThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(sandbox.endpoint) as ch:
        yield ch


def _call(channel: grpc.Channel, rpc: str) -> Callable[..., Any]:
    stub = (
        signal_pb2_grpc.SignalServiceStub(channel)
        if rpc in SIGNAL_RPCS
        else admin_pb2_grpc.AdminServiceStub(channel)
    )
    return getattr(stub, rpc)  # type: ignore[no-any-return]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 50


@pytest.mark.parametrize(
    ("rpc", "request_", "code", "text"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_malformed_request(
    channel: grpc.Channel, rpc: str, request_: Any, code: grpc.StatusCode, text: str
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        _call(channel, rpc)(request_, timeout=10)
    error: Any = info.value
    assert error.code() == code, error.details()
    assert text in error.details(), error.details()


def test_server_keeps_serving_afterwards(channel: grpc.Channel) -> None:
    stub = admin_pb2_grpc.AdminServiceStub(channel)
    for rpc, request, _, _ in CASES:
        try:
            _call(channel, rpc)(request, timeout=10)
        except grpc.RpcError as exc:
            assert exc.code() in (INVALID, MISSING)
    assert stub.GetVersion(version_pb2.GetVersionRequest(), timeout=10).control_plane_version.Version
    assert stub.ListProjects(project_pb2.ProjectListRequest(), timeout=10).projects


def test_long_messages_are_cut_in_the_status_details_too() -> None:
    from google.rpc import status_pb2  # type: ignore[import-untyped]

    from airflow_provider_flyte.sandbox.admin.details import INVALID_ARGUMENT, status_details
    from airflow_provider_flyte.sandbox.errors import MAX_MESSAGE_CHARS, SandboxError

    reason = workflow_pb2.CreateWorkflowFailureReason()
    reason.exists_different_structure.id.CopyFrom(ident(WORKFLOW, "wf"))
    long = "x" * (MAX_MESSAGE_CHARS + 500)
    error = SandboxError(INVALID, long, status_details(INVALID_ARGUMENT, long, reason)).bounded()
    assert error.code == INVALID
    assert error.message == "x" * MAX_MESSAGE_CHARS + "... (500 more characters)"
    assert error.details is not None
    status = status_pb2.Status.FromString(error.details)
    assert status.message == error.message
    assert status.details[0].Unpack(workflow_pb2.CreateWorkflowFailureReason())
    short = SandboxError(INVALID, "short")
    assert short.bounded() is short


# -- undecodable or over-deep requests (issue 10, item 6): INVALID_ARGUMENT, no traceback, never UNKNOWN ---------
def _deep_create_request(depth: int) -> bytes:
    from flyteidl.core import literals_pb2

    literal = literals_pb2.Literal()
    inner = literal
    for _ in range(depth):
        inner = inner.collection.literals.add()
    inner.scalar.primitive.integer = 1
    request = execution_pb2.ExecutionCreateRequest(project=P, domain=D, name="deep")
    request.inputs.literals["x"].CopyFrom(literal)
    return request.SerializeToString()


@pytest.mark.parametrize(
    ("payload", "what"),
    [(b"\xff\xff\xff\xff", "garbage"), (b"\x0a\xff\xff\xff\x0f", "truncated"), (None, "over-deep")],
)
def test_undecodable_requests_are_invalid_argument(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture, payload: bytes | None, what: str
) -> None:
    data = payload if payload is not None else _deep_create_request(200)
    call = channel.unary_unary("/flyteidl.service.AdminService/CreateExecution")
    with pytest.raises(grpc.RpcError) as err:
        call(data, timeout=10)
    assert err.value.code() == INVALID, (what, err.value.code(), err.value.details())
    assert "not a valid flyteidl.admin.ExecutionCreateRequest message" in (err.value.details() or "")
    assert "Traceback" not in caplog.text
    assert admin_pb2_grpc.AdminServiceStub(channel).GetVersion(version_pb2.GetVersionRequest(), timeout=10)
