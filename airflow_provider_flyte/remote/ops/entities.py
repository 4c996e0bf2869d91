"""Fetching and registering tasks, workflows and launch plans."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from airflow_provider_flyte.remote.errors import (
    FlyteEntityAlreadyExistsError,
    FlyteEntityNotFoundError,
    FlyteInvalidInputError,
    FlyteRegistrationError,
)
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow, Launchable
from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Op
from airflow_provider_flyte.remote.ops.lists import sort_by

TASK, WORKFLOW, LAUNCH_PLAN = 1, 2, 3


class _Kind:
    def __init__(
        self, resource_type: int, noun: str, cls: type[Launchable], rpc: str, closure_field: str
    ) -> None:
        self.resource_type = resource_type
        self.noun = noun
        self.cls = cls
        self.rpc = rpc  # "Task" / "Workflow" / "LaunchPlan"
        #: a field of the closure that a complete entity has (lists may leave closures empty)
        self.closure_field = closure_field


KINDS: dict[int, _Kind] = {
    TASK: _Kind(TASK, "task", FlyteTask, "Task", "compiled_task"),
    WORKFLOW: _Kind(WORKFLOW, "workflow", FlyteWorkflow, "Workflow", "compiled_workflow"),
    LAUNCH_PLAN: _Kind(LAUNCH_PLAN, "launch plan", FlyteLaunchPlan, "LaunchPlan", "expected_inputs"),
}

#: Entities by (resource_type, project, domain, name, version); versions never change once registered.
EntityCache = MutableMapping[tuple[int, str, str, str, str], Launchable]


def identifier(resource_type: int, project: str, domain: str, name: str, version: str = "") -> Any:
    """``core.Identifier``."""
    from flyteidl.core import identifier_pb2

    return identifier_pb2.Identifier(
        resource_type=resource_type, project=project, domain=domain, name=name, version=version
    )


def _key(i: Any) -> tuple[int, str, str, str, str]:
    return (int(i.resource_type), i.project, i.domain, i.name, i.version)


def fetch_entity(
    resource_type: int,
    project: str,
    domain: str,
    name: str,
    version: str | None,
    cache: EntityCache | None = None,
    *,
    refresh: bool = False,
) -> Op[Launchable]:
    """A task / workflow / launch plan by id; the latest version (by creation time) when ``version`` is empty.

    Latest: one ``List*`` call (limit 1, ``created_at`` descending); a launch plan comes back whole, a task or
    workflow is completed with a ``Get*`` if the list left its closure out. Versioned ids are served from
    ``cache`` unless ``refresh`` (explicit fetches refresh: a launch plan's state can change).
    """
    from flyteidl.admin import common_pb2

    kind = KINDS[resource_type]
    if not (project and domain and name):
        raise FlyteInvalidInputError(
            f"fetching a {kind.noun} needs project, domain and name (got {project!r}, {domain!r}, {name!r})"
        )
    if version:
        key = (resource_type, project, domain, name, version)
        if cache is not None and key in cache and not refresh:
            return cache[key]
        proto = yield Call(
            ADMIN,
            f"Get{kind.rpc}",
            common_pb2.ObjectGetRequest(id=identifier(resource_type, project, domain, name, version)),
            True,
        )
    else:
        request = common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name),
            limit=1,
            sort_by=sort_by(),
        )
        listing = yield Call(ADMIN, f"List{kind.rpc}s", request, True)
        items = getattr(
            listing, {TASK: "tasks", WORKFLOW: "workflows", LAUNCH_PLAN: "launch_plans"}[resource_type]
        )
        if not items:
            raise FlyteEntityNotFoundError(
                f"no {kind.noun} named {name!r} is registered in {project}/{domain}"
            )
        proto = items[0]
        if not proto.closure.HasField(kind.closure_field):
            proto = yield Call(ADMIN, f"Get{kind.rpc}", common_pb2.ObjectGetRequest(id=proto.id), True)
    entity = kind.cls(proto)
    if cache is not None:
        cache[_key(proto.id)] = entity
    return entity


def register_entity(resource_type: int, entity_id: Any, spec: Any) -> Op[Any]:
    """Create a task / workflow / launch plan. Identical content already registered is a no-op; different
    content under the same id raises :class:`FlyteRegistrationError` (bump the version). Returns the id."""
    from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2

    kind = KINDS[resource_type]
    request_cls = {
        TASK: task_pb2.TaskCreateRequest,
        WORKFLOW: workflow_pb2.WorkflowCreateRequest,
        LAUNCH_PLAN: launch_plan_pb2.LaunchPlanCreateRequest,
    }[resource_type]
    entity_id = identifier(
        resource_type, entity_id.project, entity_id.domain, entity_id.name, entity_id.version
    )
    if not entity_id.version:
        raise FlyteInvalidInputError(f"registering {kind.noun} {entity_id.name!r} needs a version")
    try:
        yield Call(ADMIN, f"Create{kind.rpc}", request_cls(id=entity_id, spec=spec), True)
    except FlyteEntityAlreadyExistsError:
        pass  # identical structure already registered
    except FlyteRegistrationError as exc:
        raise FlyteRegistrationError(
            f"{kind.noun} {entity_id.name!r} version {entity_id.version!r} is already registered with different "
            f"content: register it under a new version. Server said: {exc.message}",
            grpc_code=exc.grpc_code,
            details=exc.details,
        ) from None
    return entity_id


def set_launch_plan_state(launch_plan_id: Any, active: bool) -> Op[None]:
    """Activate (deactivating the active version of the same name) or deactivate a launch plan version."""
    from flyteidl.admin import launch_plan_pb2

    lp_id = identifier(
        LAUNCH_PLAN,
        launch_plan_id.project,
        launch_plan_id.domain,
        launch_plan_id.name,
        launch_plan_id.version,
    )
    state = launch_plan_pb2.ACTIVE if active else launch_plan_pb2.INACTIVE
    yield Call(
        ADMIN, "UpdateLaunchPlan", launch_plan_pb2.LaunchPlanUpdateRequest(id=lp_id, state=state), True
    )
    return None


def fetch_active_launch_plan(project: str, domain: str, name: str) -> Op[FlyteLaunchPlan | None]:
    """The active version of a launch plan, or None when none is active or the name is unknown (flytekit's
    ``fetch_active_launchplan``)."""
    from flyteidl.admin import common_pb2, launch_plan_pb2

    request = launch_plan_pb2.ActiveLaunchPlanRequest(
        id=common_pb2.NamedEntityIdentifier(project=project, domain=domain, name=name)
    )
    try:
        proto = yield Call(ADMIN, "GetActiveLaunchPlan", request, True)
    except FlyteEntityNotFoundError:
        return None
    return FlyteLaunchPlan(proto)


def list_tasks_by_version(project: str, domain: str, version: str, limit: int) -> Op[list[FlyteTask]]:
    """The tasks of a project/domain registered under ``version`` (one ListTasks page of ``limit``)."""
    from flyteidl.admin import common_pb2

    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project=project, domain=domain),
        limit=limit,
        filters=f"eq(version,{version})",
    )
    response = yield Call(ADMIN, "ListTasks", request, True)
    return [FlyteTask(t) for t in response.tasks]
