"""launch_backfill: fetch the scheduled launch plan, build, register and (optionally) execute the backfill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_provider_flyte.remote.backfill import (
    backfill_dates,
    backfill_version,
    build_backfill_workflow,
    cron_of,
)
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow
from airflow_provider_flyte.remote.ops.call import Op
from airflow_provider_flyte.remote.ops.entities import (
    LAUNCH_PLAN,
    WORKFLOW,
    EntityCache,
    fetch_entity,
    register_entity,
)
from airflow_provider_flyte.remote.ops.executions import execute


def launch_backfill(
    project: str,
    domain: str,
    from_date: datetime,
    to_date: datetime,
    launchplan: str,
    launchplan_version: str | None,
    *,
    version: str | None,
    dry_run: bool,
    execute_it: bool,
    parallel: bool,
    failure_policy: str | int | None,
    make_request: Callable[[FlyteTask | FlyteLaunchPlan], Any],
    cache: EntityCache | None,
) -> Op[Any]:
    """Returns the ``admin.WorkflowSpec`` (dry run, no RPC creates anything), the registered
    :class:`FlyteWorkflow` (``execute_it=False``) or ``(admin.Execution, launch plan)`` of the started backfill."""
    from flyteidl.admin import launch_plan_pb2

    from airflow_provider_flyte.remote import specs

    lp = yield from fetch_entity(LAUNCH_PLAN, project, domain, launchplan, launchplan_version, cache)
    assert isinstance(lp, FlyteLaunchPlan)
    if not version:  # flytekit's: from the first and last tick actually backfilled
        dates = backfill_dates(cron_of(lp)[0], from_date, to_date)
        version = backfill_version(dates[0], dates[-1], launchplan, launchplan_version)
    spec, _dates = build_backfill_workflow(
        lp,
        from_date,
        to_date,
        project=project,
        domain=domain,
        version=version,
        parallel=parallel,
        failure_policy=failure_policy,
    )
    if dry_run:
        return spec
    wf_id = yield from register_entity(WORKFLOW, spec.template.id, spec)
    lp_id = specs.identifier("LAUNCH_PLAN", project, domain, wf_id.name, wf_id.version)
    lp_spec = specs.launch_plan_spec(wf_id)
    yield from register_entity(LAUNCH_PLAN, lp_id, lp_spec)
    if not execute_it:
        workflow = yield from fetch_entity(WORKFLOW, project, domain, wf_id.name, wf_id.version, cache)
        assert isinstance(workflow, FlyteWorkflow)
        return workflow
    backfill_lp = FlyteLaunchPlan(launch_plan_pb2.LaunchPlan(id=lp_id, spec=lp_spec))
    result = yield from execute(backfill_lp, make_request, cache)
    return result
