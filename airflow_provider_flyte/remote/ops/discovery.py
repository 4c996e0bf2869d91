"""Discovery: the registered launch plans, tasks or workflows of a project/domain at their latest versions."""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.models import Launchable
from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Op
from airflow_provider_flyte.remote.ops.entities import (
    KINDS,
    LAUNCH_PLAN,
    TASK,
    WORKFLOW,
    EntityCache,
    fetch_entity,
)
from airflow_provider_flyte.remote.ops.lists import PAGE_SIZE, list_all, sort_by

#: operator/hook spelling of the entity kinds
RESOURCE_TYPES = {"launch_plan": LAUNCH_PLAN, "task": TASK, "workflow": WORKFLOW}
#: flyteadmin's generated launch plans and workflows that run a task alone (not user entities)
_GENERATED = ".flytegen."


def resource_type_of(kind: str) -> int:
    """The resource type of ``"launch_plan"``, ``"task"`` or ``"workflow"``; an error names the choices."""
    if kind not in RESOURCE_TYPES:
        raise FlyteInvalidInputError(f"unknown entity kind {kind!r}: use one of {', '.join(map(repr, RESOURCE_TYPES))}")
    return RESOURCE_TYPES[kind]


def list_names(resource_type: int, project: str, domain: str) -> Op[list[str]]:
    """The names of every registered entity of ``resource_type`` (``List*Ids``, paged), sorted."""
    from flyteidl.admin import common_pb2

    def make_call(token: str) -> Call:
        request = common_pb2.NamedEntityIdentifierListRequest(
            project=project, domain=domain, limit=PAGE_SIZE, token=token, sort_by=sort_by("name", ascending=True)
        )
        return Call(ADMIN, f"List{KINDS[resource_type].rpc}Ids", request, True)

    ids = yield from list_all(make_call, "entities")
    return sorted({i.name for i in ids if not i.name.startswith(_GENERATED)})


def list_latest(
    resource_type: int, project: str, domain: str, cache: EntityCache | None = None, name_prefix: str = ""
) -> Op[list[Launchable]]:
    """Each entity (whose name starts with ``name_prefix``) at its latest version: one ``List*Ids`` listing, then
    one latest-version lookup per name (as flytekit fetches a name without version)."""
    names = yield from list_names(resource_type, project, domain)
    result = []
    for name in names:
        if name.startswith(name_prefix):
            entity = yield from fetch_entity(resource_type, project, domain, name, None, cache)
            result.append(entity)
    return result


def entity_summary(entity: Launchable) -> dict[str, Any]:
    """JSON-safe description: kind, id, and the interface (input types, which are required, output types)."""
    from airflow_provider_flyte.remote.codec.describe import describe_type

    i = entity.id
    required = entity.required_inputs
    return {
        "kind": entity.resource,
        "project": i.project,
        "domain": i.domain,
        "name": i.name,
        "version": i.version,
        "inputs": {
            n: {"type": describe_type(v.type), "required": n in required} for n, v in entity.input_variables.items()
        },
        "outputs": {n: describe_type(v.type) for n, v in entity.output_variables.items()},
    }
