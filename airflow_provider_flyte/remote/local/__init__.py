"""Local flytekit entities (``@task``, ``@workflow``, ``LaunchPlan``) executed directly, as flytekit's
``FlyteRemote.execute`` does: serialized with flytekit, registered when missing under a content-derived version,
their code shipped (fast registration or, in interactive mode, a pickle), then executed.

Only this package imports flytekit, and only inside functions: :func:`is_local_entity` recognises entities
without importing it, so DAG parsing never pays for flytekit unless the DAG file imports it. Passing a local
entity without flytekit installed raises :class:`~airflow_provider_flyte.remote.errors.FlyteMissingDependencyError`.

Typical use (the client's ``execute`` does this for you when given a local entity)::

    from airflow_provider_flyte.remote.local import prepare_local_entity

    target = prepare_local_entity(remote, my_workflow)
    execution = remote.execute(target.entity, {"x": 1}, type_hints=target.type_hints, wait=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_flyte.remote.local.detect import INSTALL_HINT, is_local_entity, local_kind

if TYPE_CHECKING:
    from airflow_provider_flyte.remote.local.register import LocalTarget


def launch_plan(workflow: Any, name: str, **kwargs: Any) -> Any:
    """``LaunchPlan.get_or_create`` that survives re-imports of the defining file (DAG files); see
    :func:`~airflow_provider_flyte.remote.local.launchplans.launch_plan`."""
    from airflow_provider_flyte.remote.local.launchplans import launch_plan as get_or_create

    return get_or_create(workflow, name, **kwargs)


def prepare_local_entity(remote: Any, entity: Any, **kwargs: Any) -> LocalTarget:
    """Register ``entity`` on ``remote`` (a blocking ``FlyteRemote``) if needed; see
    :func:`~airflow_provider_flyte.remote.local.register.local_entity_op` for the keyword arguments."""
    from airflow_provider_flyte.remote.local.register import local_entity_op

    return remote._run(local_entity_op(remote, entity, **kwargs))  # type: ignore[no-any-return]


async def aprepare_local_entity(remote: Any, entity: Any, **kwargs: Any) -> LocalTarget:
    """:func:`prepare_local_entity` for an ``AsyncFlyteRemote``."""
    from airflow_provider_flyte.remote.local.register import local_entity_op

    return await remote._run(local_entity_op(remote, entity, **kwargs))  # type: ignore[no-any-return]


def local_entity_op(remote: Any, entity: Any, **kwargs: Any) -> Any:
    """The sans-IO operation behind :func:`prepare_local_entity` (an ``Op[LocalTarget]``)."""
    from airflow_provider_flyte.remote.local import register

    return register.local_entity_op(remote, entity, **kwargs)


__all__ = [
    "INSTALL_HINT",
    "aprepare_local_entity",
    "is_local_entity",
    "launch_plan",
    "local_entity_op",
    "local_kind",
    "prepare_local_entity",
]
