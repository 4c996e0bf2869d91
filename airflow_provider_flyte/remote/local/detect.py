"""Recognising flytekit local entities without importing flytekit.

A DAG file that never imports flytekit must not pay for it at parse time, so detection looks at the classes of
the object (their module and name), not at ``isinstance`` checks against imported flytekit classes.
"""

from __future__ import annotations

from typing import Any, Literal

from airflow_provider_flyte.remote.errors import FlyteMissingDependencyError

#: What a local entity is: a task, a workflow or a launch plan.
LocalKind = Literal["task", "workflow", "launch_plan"]

#: The flytekit base classes of local entities, by (module, class name).
_BASES: dict[tuple[str, str], LocalKind] = {
    ("flytekit.core.base_task", "PythonTask"): "task",
    ("flytekit.core.workflow", "WorkflowBase"): "workflow",
    ("flytekit.core.launch_plan", "LaunchPlan"): "launch_plan",
}
_REFERENCE = ("flytekit.core.reference_entity", "ReferenceEntity")

INSTALL_HINT = "pip install 'airflow-provider-flyte[flytekit]'"


def _bases(obj: object) -> list[tuple[str, str]]:
    return [(getattr(c, "__module__", ""), c.__qualname__) for c in type(obj).__mro__]


def local_kind(obj: object) -> LocalKind | None:
    """``"task"``, ``"workflow"`` or ``"launch_plan"`` for a flytekit ``PythonTask`` / ``WorkflowBase`` /
    ``LaunchPlan`` (reference entities included), else ``None``. Never imports flytekit."""
    if isinstance(obj, str | bytes | int | float | dict | list | tuple) or obj is None:
        return None
    for base in _bases(obj):
        kind = _BASES.get(base)
        if kind is not None:
            return kind
    return None


def is_local_entity(obj: object) -> bool:
    """Whether ``obj`` is a flytekit local entity (``@task``, ``@workflow``, ``LaunchPlan``, or a reference to a
    registered one) that :func:`~airflow_provider_flyte.remote.local.prepare_local_entity` can run."""
    return local_kind(obj) is not None


def is_reference_entity(obj: object) -> bool:
    """Whether ``obj`` is a flytekit ``reference_task`` / ``reference_workflow`` / ``reference_launch_plan``."""
    return _REFERENCE in _bases(obj)


def require_flytekit(what: str) -> Any:
    """Import and return flytekit, or raise :class:`FlyteMissingDependencyError` naming the extra to install."""
    try:
        import flytekit
    except ImportError as exc:
        raise FlyteMissingDependencyError(
            f"{what} needs flytekit, which is not installed: {INSTALL_HINT}"
        ) from exc
    return flytekit
