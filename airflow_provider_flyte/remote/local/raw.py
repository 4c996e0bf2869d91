"""What flytekit's ``raw_register`` registers for an already serialized entity, decided without importing flytekit.

:func:`raw_registration` accepts flytekit's control-plane models (``TaskSpec``, admin ``WorkflowSpec``,
``LaunchPlan``, nodes, ``ReferenceSpec``), the flyteidl messages of the same names, and fetched entities (ours or
flytekit's ``FlyteTask``/``FlyteWorkflow``/``FlyteLaunchPlan``), which, as in flytekit, are not registrable.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError, FlyteRegistrationSkippedError
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW, identifier

#: ``(resource type, core.Identifier, admin spec, activate after creation)``
RawStep = tuple[int, Any, Any, bool]

_NOT_REGISTERED = frozenset({"Node", "WorkflowNode", "BranchNode", "TaskNode", "ArrayNode", "ReferenceSpec"})


def _skip_remote(entity: Any) -> None:
    name = entity.name if isinstance(entity.name, str) else entity.id.name
    if isinstance(entity, FlyteTask | FlyteWorkflow) or (
        type(entity).__name__ in ("FlyteTask", "FlyteWorkflow") and not getattr(entity, "should_register", False)
    ):
        raise FlyteRegistrationSkippedError(f"Remote task/Workflow {name} is not registrable.")
    raise FlyteRegistrationSkippedError(f"Remote entity {name} is not registrable.")


def raw_registration(entity: Any, project_domain: tuple[str, str], version: str) -> RawStep | None:
    """The registration of ``entity`` under ``version`` in ``project_domain``; ``None`` when nothing is
    registered (nodes, reference specs). Raises :class:`FlyteRegistrationSkippedError` for fetched entities."""
    from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2

    remote_kinds = ("FlyteTask", "FlyteWorkflow", "FlyteLaunchPlan")
    if isinstance(entity, FlyteTask | FlyteWorkflow | FlyteLaunchPlan) or (
        type(entity).__module__.startswith("flytekit.remote") and type(entity).__name__ in remote_kinds
    ):
        _skip_remote(entity)
    if type(entity).__name__ in _NOT_REGISTERED:
        return None
    proto = entity.to_flyte_idl() if hasattr(entity, "to_flyte_idl") else entity
    p, d = project_domain
    if not version:
        raise FlyteInvalidInputError("raw_register needs a version")
    if isinstance(proto, task_pb2.TaskSpec):
        return TASK, identifier(TASK, p, d, proto.template.id.name, version), proto, False
    if isinstance(proto, workflow_pb2.WorkflowSpec):
        return WORKFLOW, identifier(WORKFLOW, p, d, proto.template.id.name, version), proto, False
    if isinstance(proto, launch_plan_pb2.LaunchPlan):
        activate = bool(getattr(entity, "should_auto_activate", False))
        return LAUNCH_PLAN, identifier(LAUNCH_PLAN, p, d, proto.id.name, version), proto.spec, activate
    raise FlyteInvalidInputError(
        f"raw_register cannot register a {type(entity).__name__}: pass a serialized TaskSpec, WorkflowSpec or "
        "LaunchPlan (flytekit models or flyteidl messages)"
    )
