"""Backfill workflows: one launch plan node per cron tick in ``[from_date, to_date)`` (flytekit's semantics).

The workflow ``backfill-<launch plan>`` has nodes ``n0, n1, ...`` named ``b-<date>``, each launching the scheduled
launch plan with its kickoff-time input bound to the tick; serial (each node waits for the previous one) unless
``parallel``. The version is deterministic, so launching the same backfill twice registers nothing new.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.models import FlyteLaunchPlan


def backfill_version(
    first_tick: datetime, last_tick: datetime, launchplan: str, launchplan_version: str | None
) -> str:
    """flytekit's deterministic backfill version: urlsafe base64 of md5("{first}-{last}-{lp}-{lp_version}"),
    where first/last are the first and last schedule ticks backfilled (not the requested range)."""
    digest = hashlib.md5(f"{first_tick}-{last_tick}-{launchplan}-{launchplan_version}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def cron_of(lp: FlyteLaunchPlan) -> tuple[str, str]:
    """``(cron expression, kickoff_time_input_arg)`` of a cron-scheduled launch plan; clear errors otherwise."""
    meta = lp.entity_metadata
    if not meta.HasField("schedule"):
        raise FlyteInvalidInputError(
            f"launch plan {lp.name!r} has no schedule: backfill can only be created for scheduled launch plans"
        )
    schedule = meta.schedule
    which = schedule.WhichOneof("ScheduleExpression")
    if which != "cron_schedule":
        raise FlyteInvalidInputError(
            f"launch plan {lp.name!r} is scheduled with {which}: currently backfilling only supports cron schedules"
        )
    return str(schedule.cron_schedule.schedule), str(schedule.kickoff_time_input_arg)


def backfill_dates(cron: str, from_date: datetime, to_date: datetime) -> list[datetime]:
    """Cron ticks strictly after ``from_date`` and before ``to_date``."""
    from croniter import croniter

    if from_date >= to_date:
        raise FlyteInvalidInputError(f"from_date {from_date} must be before to_date {to_date}")
    it = croniter(cron, start_time=from_date, ret_type=datetime)
    dates: list[datetime] = []
    while True:
        tick = it.get_next()
        if tick >= to_date:
            break
        dates.append(tick)
    if not dates:
        raise FlyteInvalidInputError(f"the schedule {cron!r} has no tick between {from_date} and {to_date}")
    return dates


def build_backfill_workflow(
    lp: FlyteLaunchPlan,
    from_date: datetime,
    to_date: datetime,
    *,
    project: str,
    domain: str,
    version: str,
    parallel: bool = False,
    failure_policy: str | int | None = None,
) -> tuple[Any, list[datetime]]:
    """``(admin.WorkflowSpec, dates)`` of the backfill workflow for ``lp``."""
    from flyteidl.admin import workflow_pb2
    from flyteidl.core import literals_pb2

    from airflow_provider_flyte.remote import specs

    cron, kickoff = cron_of(lp)
    dates = backfill_dates(cron, from_date, to_date)
    nodes = []
    for i, tick in enumerate(dates):
        inputs: dict[str, Any] = {}
        if kickoff:
            lit = literals_pb2.Literal()
            lit.scalar.primitive.datetime.FromDatetime(tick)
            inputs[kickoff] = lit
        upstream = [f"n{i - 1}"] if (i and not parallel) else []
        nodes.append(
            specs.launch_plan_node(f"n{i}", lp.id, inputs, upstream=upstream, retries=0, name=f"b-{tick}")
        )
    wf_id = specs.identifier("WORKFLOW", project, domain, f"backfill-{lp.name}", version)
    template = specs.workflow_template(
        wf_id,
        specs.interface(),
        nodes,
        failure_policy=failure_policy if failure_policy is not None else "FAIL_IMMEDIATELY",
    )
    return workflow_pb2.WorkflowSpec(template=template), dates
