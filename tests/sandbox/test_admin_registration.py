"""Registration and retrieval of tasks, workflows, launch plans, named entities and projects over real gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2, project_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2
from google.rpc import status_pb2  # type: ignore[import-untyped]

from airflow_provider_flyte.sandbox.testing import SandboxThread

from .test_admin_support import (
    INT,
    STR,
    Stubs,
    add_workflow,
    ident,
    launch_plan_request,
    lit_int,
    lit_str,
    register_add,
    rpc_error,
    stubs,
    task_request,
    unique,
)

TASK, WORKFLOW, LAUNCH_PLAN = identifier_pb2.TASK, identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN
NE = common_pb2.NamedEntityIdentifier


@pytest.fixture
def s(sandbox: SandboxThread) -> Iterator[Stubs]:
    out = stubs(sandbox.endpoint)
    yield out
    out.close()


def details(exc: Any) -> Any:
    for key, value in exc.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    raise AssertionError("no status details")


def test_task_register_get_and_idempotency(s: Stubs) -> None:
    name = unique("reg.task")
    request = task_request(name)
    s.admin.CreateTask(request, timeout=10)
    got = s.admin.GetTask(common_pb2.ObjectGetRequest(id=request.id), timeout=10)
    assert got.id == request.id
    assert got.closure.compiled_task.template.custom["callable"].endswith(":add")
    assert got.closure.created_at.seconds > 0
    again = rpc_error(s.admin.CreateTask, request)
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    assert again.details() == "task with identical structure already exists"
    changed = task_request(name, callable_name="square", inputs={"x": int})
    different = rpc_error(s.admin.CreateTask, changed)
    assert different.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        "task with different structure already exists. (Please register a new version" in different.details()
    )
    assert "interface" in different.details()


def test_versions_lists_and_latest(s: Stubs) -> None:
    name = unique("reg.ver")
    for version in ("v1", "v2", "v3"):
        s.admin.CreateTask(task_request(name, version=version), timeout=10)
    latest = s.admin.ListTasks(
        common_pb2.ResourceListRequest(
            id=NE(project="flytesnacks", domain="development", name=name),
            limit=1,
            sort_by=common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING),
        ),
        timeout=10,
    )
    assert [t.id.version for t in latest.tasks] == ["v3"]
    assert latest.token == "1"
    pages = []
    request = common_pb2.ResourceListRequest(
        id=NE(project="flytesnacks", domain="development", name=name),
        limit=2,
        sort_by=common_pb2.Sort(key="version", direction=common_pb2.Sort.ASCENDING),
    )
    while True:
        page = s.admin.ListTasks(request, timeout=10)
        pages.append([t.id.version for t in page.tasks])
        if not page.token:
            break
        request.token = page.token
    assert pages == [["v1", "v2"], ["v3"]]
    by_version = s.admin.ListTasks(
        common_pb2.ResourceListRequest(
            id=NE(project="flytesnacks", domain="development"),
            limit=100,
            filters=f"eq(version,v2)+eq(name,{name})",
        ),
        timeout=10,
    )
    assert [(t.id.name, t.id.version) for t in by_version.tasks] == [(name, "v2")]
    ids = s.admin.ListTaskIds(
        common_pb2.NamedEntityIdentifierListRequest(
            project="flytesnacks", domain="development", limit=1000, filters=f"eq(name,{name})"
        ),
        timeout=10,
    )
    assert [e.name for e in ids.entities] == [name]


def test_workflow_compiled_closure_and_flytekit_promotion(s: Stubs) -> None:
    task_id, wf_id, _ = register_add(s, "reg.wf")
    wf = s.admin.GetWorkflow(common_pb2.ObjectGetRequest(id=wf_id), timeout=10)
    closure = wf.closure.compiled_workflow
    node_ids = [n.id for n in closure.primary.template.nodes]
    assert node_ids == ["start-node", "n0", "n1", "end-node"]
    assert [t.template.id for t in closure.tasks] == [task_id]
    upstream = {k: list(v.ids) for k, v in closure.primary.connections.upstream.items()}
    assert upstream == {"n0": ["start-node"], "n1": ["n0"], "end-node": ["n1"]}
    downstream = {k: list(v.ids) for k, v in closure.primary.connections.downstream.items()}
    assert downstream == {"start-node": ["n0"], "n0": ["n1"], "n1": ["end-node"]}
    n0 = closure.primary.template.nodes[1]
    assert n0.inputs[0].binding.promise.node_id == "start-node"  # "" rewritten as flyteadmin does
    listed = s.admin.ListWorkflows(
        common_pb2.ResourceListRequest(
            id=NE(project="flytesnacks", domain="development", name=wf_id.name), limit=5
        ),
        timeout=10,
    )
    assert not listed.workflows[0].closure.HasField("compiled_workflow")
    again = rpc_error(s.admin.CreateWorkflow, add_workflow(wf_id.name, task_id))
    assert again.code() == grpc.StatusCode.ALREADY_EXISTS
    reason = workflow_pb2.CreateWorkflowFailureReason()
    assert details(again).details[0].Unpack(reason)
    assert reason.exists_identical_structure.id == wf_id

    flytekit = pytest.importorskip("flytekit")
    from flytekit.models.core.compiler import CompiledWorkflowClosure
    from flytekit.remote.entities import FlyteWorkflow

    promoted = FlyteWorkflow.promote_from_closure(CompiledWorkflowClosure.from_flyte_idl(closure))
    assert [n.id for n in promoted.flyte_nodes] == ["n0", "n1"]
    assert flytekit is not None


def test_workflow_compile_errors(s: Stubs) -> None:
    task_id, _, _ = register_add(s, "reg.cerr")
    missing_task = ident(TASK, unique("nope"))
    error = rpc_error(s.admin.CreateWorkflow, add_workflow(unique("reg.bad"), missing_task))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "missing entity of type TASK" in error.details()
    bad = add_workflow(unique("reg.bad"), task_id)
    bad.spec.template.nodes[1].inputs[0].binding.promise.node_id = "ghost"
    error = rpc_error(s.admin.CreateWorkflow, bad)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "failed to compile workflow" in error.details() and "ghost" in error.details()
    bad = add_workflow(unique("reg.bad"), task_id)
    bad.spec.template.nodes[1].inputs[0].binding.promise.var = "nothing"
    assert "has no such variable" in rpc_error(s.admin.CreateWorkflow, bad).details()
    bad = add_workflow(unique("reg.bad"), task_id)
    bad.spec.template.nodes[0].upstream_node_ids.append("n1")
    assert "cycle" in rpc_error(s.admin.CreateWorkflow, bad).details()
    bad = add_workflow(unique("reg.bad"), task_id)
    bad.spec.template.nodes[1].id = "n0"
    assert "duplicate node id n0" in rpc_error(s.admin.CreateWorkflow, bad).details()
    bad = add_workflow(unique("reg.bad"), task_id)
    del bad.spec.template.outputs[:]
    assert "not bound" in rpc_error(s.admin.CreateWorkflow, bad).details()


def test_launch_plan_inputs_and_activation(s: Stubs) -> None:
    task_id, wf_id, _ = register_add(s, "reg.lp")
    name = unique("reg.lp")
    request = launch_plan_request(name, wf_id)
    request.spec.default_inputs.parameters["b"].var.type.CopyFrom(INT)
    request.spec.default_inputs.parameters["b"].default.CopyFrom(lit_int(7))
    s.admin.CreateLaunchPlan(request, timeout=10)
    lp = s.admin.GetLaunchPlan(common_pb2.ObjectGetRequest(id=request.id), timeout=10)
    assert lp.closure.state == launch_plan_pb2.INACTIVE
    assert lp.closure.expected_inputs.parameters["a"].required
    assert lp.closure.expected_inputs.parameters["b"].default.scalar.primitive.integer == 7
    assert set(lp.closure.expected_outputs.variables) == {"o0"}
    assert (
        rpc_error(s.admin.CreateLaunchPlan, request).details()
        == "launch plan with identical structure already exists"
    )

    wrong = launch_plan_request(unique("reg.lp"), wf_id)
    wrong.spec.fixed_inputs.literals["a"].CopyFrom(lit_str("x"))
    error = rpc_error(s.admin.CreateLaunchPlan, wrong)
    assert (
        error.code() == grpc.StatusCode.INVALID_ARGUMENT
        and "invalid fixed_inputs wrong type a" in error.details()
    )
    wrong = launch_plan_request(unique("reg.lp"), wf_id)
    wrong.spec.default_inputs.parameters["zzz"].var.type.CopyFrom(STR)
    assert "unexpected default_inputs zzz" in rpc_error(s.admin.CreateLaunchPlan, wrong).details()
    wrong = launch_plan_request(unique("reg.lp"), ident(WORKFLOW, unique("nowf")))
    assert rpc_error(s.admin.CreateLaunchPlan, wrong).code() == grpc.StatusCode.NOT_FOUND

    v2 = launch_plan_request(name, wf_id, version="v2")
    s.admin.CreateLaunchPlan(v2, timeout=10)
    active = NE(project="flytesnacks", domain="development", name=name)
    assert (
        rpc_error(s.admin.GetActiveLaunchPlan, launch_plan_pb2.ActiveLaunchPlanRequest(id=active))
        .details()
        .startswith("No active launch plan could be found")
    )
    for lp_id in (request.id, v2.id):
        s.admin.UpdateLaunchPlan(
            launch_plan_pb2.LaunchPlanUpdateRequest(id=lp_id, state=launch_plan_pb2.ACTIVE), timeout=10
        )
        got = s.admin.GetActiveLaunchPlan(launch_plan_pb2.ActiveLaunchPlanRequest(id=active), timeout=10)
        assert got.id == lp_id
    first = s.admin.GetLaunchPlan(common_pb2.ObjectGetRequest(id=request.id), timeout=10)
    assert first.closure.state == launch_plan_pb2.INACTIVE  # only one active version
    listed = s.admin.ListActiveLaunchPlans(
        launch_plan_pb2.ActiveLaunchPlanListRequest(project="flytesnacks", domain="development", limit=1000),
        timeout=10,
    )
    assert v2.id in [lp.id for lp in listed.launch_plans]
    bad_state = rpc_error(
        s.admin.UpdateLaunchPlan, launch_plan_pb2.LaunchPlanUpdateRequest(id=v2.id, state=7)
    )
    assert "Unrecognized launch plan state 7" in bad_state.details()
    assert task_id.resource_type == TASK


def test_scheduled_launch_plan_validation(s: Stubs) -> None:
    _, wf_id, _ = register_add(s, "reg.sched")
    request = launch_plan_request(unique("reg.sched"), wf_id)
    request.spec.entity_metadata.schedule.cron_schedule.schedule = "*/5 * * * *"
    error = rpc_error(s.admin.CreateLaunchPlan, request)
    assert "required inputs other than the kickoff time input arg" in error.details()
    request.spec.fixed_inputs.literals["a"].CopyFrom(lit_int(1))
    request.spec.fixed_inputs.literals["b"].CopyFrom(lit_int(1))
    s.admin.CreateLaunchPlan(request, timeout=10)
    request.id.version = "v9"
    request.spec.entity_metadata.schedule.cron_schedule.schedule = "not a cron"
    assert "invalid cron schedule" in rpc_error(s.admin.CreateLaunchPlan, request).details()


def test_named_entities(s: Stubs) -> None:
    task_id, _, _ = register_add(s, "reg.ne")
    ne_id = NE(project="flytesnacks", domain="development", name=task_id.name)
    got = s.admin.GetNamedEntity(common_pb2.NamedEntityGetRequest(resource_type=TASK, id=ne_id), timeout=10)
    assert got.id == ne_id and got.metadata.state == common_pb2.NAMED_ENTITY_ACTIVE

    def listed(filters: str = "") -> list[str]:
        out = s.admin.ListNamedEntities(
            common_pb2.NamedEntityListRequest(
                resource_type=TASK, project="flytesnacks", domain="development", limit=1000, filters=filters
            ),
            timeout=10,
        )
        return [e.id.name for e in out.entities]

    assert task_id.name in listed()
    s.admin.UpdateNamedEntity(
        common_pb2.NamedEntityUpdateRequest(
            resource_type=TASK,
            id=ne_id,
            metadata=common_pb2.NamedEntityMetadata(
                description="adds", state=common_pb2.NAMED_ENTITY_ARCHIVED
            ),
        ),
        timeout=10,
    )
    assert task_id.name not in listed()
    assert task_id.name in listed("eq(state,1)")
    got = s.admin.GetNamedEntity(common_pb2.NamedEntityGetRequest(resource_type=TASK, id=ne_id), timeout=10)
    assert got.metadata.description == "adds"


def test_projects_and_domains(s: Stubs) -> None:
    projects = s.admin.ListProjects(project_pb2.ProjectListRequest(), timeout=10)
    ids = [p.id for p in projects.projects]
    assert "flytesnacks" in ids
    assert [d.id for d in projects.projects[0].domains] == ["development", "staging", "production"]
    new = unique("proj-")
    s.admin.RegisterProject(
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id=new, name="New project")),
        timeout=10,
    )
    dup = rpc_error(
        s.admin.RegisterProject,
        project_pb2.ProjectRegisterRequest(project=project_pb2.Project(id=new, name="New project")),
    )
    assert dup.code() == grpc.StatusCode.ALREADY_EXISTS
    s.admin.UpdateProject(
        project_pb2.Project(id=new, name="Renamed", state=project_pb2.Project.ARCHIVED), timeout=10
    )
    got = s.admin.GetProject(project_pb2.ProjectGetRequest(id=new), timeout=10)
    assert got.name == "Renamed"
    assert new not in [
        p.id for p in s.admin.ListProjects(project_pb2.ProjectListRequest(), timeout=10).projects
    ]
    archived = s.admin.ListProjects(project_pb2.ProjectListRequest(filters="eq(state,1)"), timeout=10)
    assert new in [p.id for p in archived.projects]
    error = rpc_error(s.admin.CreateTask, task_request(unique("x"), project=new))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "not active" in error.details()
    domains = s.admin.GetDomains(project_pb2.GetDomainRequest(), timeout=10)
    assert [d.name for d in domains.domains] == ["development", "staging", "production"]


def test_task_template_validation(s: Stubs) -> None:
    request = task_request(unique("reg.val"))
    request.spec.template.ClearField("metadata")
    assert rpc_error(s.admin.CreateTask, request).details() == "missing metadata"
    request = task_request(unique("reg.val"))
    request.spec.template.container.image = ""
    request.spec.template.container.args.append("run")
    assert rpc_error(s.admin.CreateTask, request).details() == "missing image"
    request = task_request(unique("reg.val"))
    request.spec.template.container.image = "python:3.11"
    request.spec.template.container.resources.requests.add(name=1, value="lots")
    assert "invalid resource quantity 'lots'" in rpc_error(s.admin.CreateTask, request).details()
    assert task_pb2.TaskCreateResponse() is not None
