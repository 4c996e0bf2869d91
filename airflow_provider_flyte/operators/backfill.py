"""``FlyteBackfillOperator``: backfill a cron launch plan over a date range (default: the DAG run's interval)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from airflow_provider_flyte._compat import BaseOperator, default_deferrable
from airflow_provider_flyte.hooks.flyte import DEFAULT_CONN_ID
from airflow_provider_flyte.links.flyte import FlyteExecutionLink
from airflow_provider_flyte.operators.waiting import ExecutionWaiter, flyte_errors, seconds

FAILURE_POLICIES = ("fail_immediately", "fail_after_executable_nodes_complete")


def to_datetime(value: Any, what: str) -> dt.datetime:
    """A timezone-aware datetime from a datetime or an ISO-8601 string (naive values are taken as UTC)."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{what} {value!r} is not an ISO-8601 date/time such as 2024-01-31T00:00:00Z") from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{what} must be a datetime or an ISO-8601 string, got {value!r}")
    result: dt.datetime = value
    if result.tzinfo is None:
        result = result.replace(tzinfo=dt.UTC)
    return result


class FlyteBackfillOperator(ExecutionWaiter, BaseOperator):  # type: ignore[misc]
    """Run a cron launch plan once for every schedule tick in ``[from_date, to_date)``.

    The dates default to the DAG run's data interval (``data_interval_start``/``data_interval_end``); ISO strings
    and templates are accepted. A backfill workflow of launch plan nodes is registered (idempotently) and executed
    under a deterministic name, so retries attach to it instead of starting another backfill.

    :param parallel: run the instances in parallel (default: one after another).
    :param failure_policy: ``fail_immediately`` (default) or ``fail_after_executable_nodes_complete``.
    :param wait_for_completion: wait until the backfill execution ends (default True).
    :return: the execution name.
    """

    template_fields: Sequence[str] = (
        "launch_plan", "launch_plan_version", "from_date", "to_date", "project", "domain", "execution_name",
        "flyte_conn_id",
    )
    operator_extra_links = (FlyteExecutionLink(),)
    ui_color = "#a99ff5"

    def __init__(
        self,
        *,
        launch_plan: str,
        launch_plan_version: str | None = None,
        from_date: dt.datetime | str | None = None,
        to_date: dt.datetime | str | None = None,
        project: str | None = None,
        domain: str | None = None,
        flyte_conn_id: str = DEFAULT_CONN_ID,
        parallel: bool = False,
        failure_policy: str | None = None,
        overwrite_cache: bool | None = None,
        execution_name: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        poll_interval: float | dt.timedelta = 30.0,
        timeout: float | dt.timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if failure_policy is not None and failure_policy not in FAILURE_POLICIES:
            raise ValueError(f"failure_policy must be one of {', '.join(FAILURE_POLICIES)}, got {failure_policy!r}")
        self.launch_plan = launch_plan
        self.launch_plan_version = launch_plan_version
        self.from_date = from_date
        self.to_date = to_date
        self.project = project
        self.domain = domain
        self.flyte_conn_id = flyte_conn_id
        self.parallel = bool(parallel)
        self.failure_policy = failure_policy
        self.overwrite_cache = overwrite_cache
        self.execution_name = execution_name
        self.wait_for_completion = wait_for_completion
        self.deferrable = default_deferrable() if deferrable is None else bool(deferrable)
        self.poll_interval = seconds(poll_interval, "poll_interval") or 30.0
        self.timeout = seconds(timeout, "timeout")

    def _dates(self, context: Any) -> tuple[dt.datetime, dt.datetime]:
        start = self.from_date if self.from_date is not None else context.get("data_interval_start")
        end = self.to_date if self.to_date is not None else context.get("data_interval_end")
        if start is None or end is None:
            raise ValueError("from_date/to_date are not set and the DAG run has no data interval; pass both dates")
        start_dt, end_dt = to_datetime(start, "from_date"), to_datetime(end, "to_date")
        if start_dt >= end_dt:
            hint = ""
            if self.from_date is None and self.to_date is None:
                hint = (
                    " (they come from the DAG run's data interval, which is empty for manual runs and for cron "
                    "trigger timetables: pass from_date/to_date or use a data-interval timetable)"
                )
            raise ValueError(f"from_date {start_dt.isoformat()} must be before to_date {end_dt.isoformat()}{hint}")
        return start_dt, end_dt

    def execute(self, context: Any) -> Any:
        """Launch (or attach to) the backfill execution, then wait unless ``wait_for_completion`` is off."""
        self.begin_try()
        with flyte_errors(f"Flyte backfill task {self.task_id}: invalid arguments"):
            if not isinstance(self.launch_plan, str) or not self.launch_plan.strip():
                raise ValueError(f"launch_plan must be a non-empty launch plan name, got {self.launch_plan!r}")
            start, end = self._dates(context)
            project, domain = self.hook.resolve_scope(self.project, self.domain)
            base = self.execution_base_name(context, self.execution_name)
        remote = self.hook.get_remote()

        def create(name: str) -> Any:
            self.log.info(
                "Backfilling launch plan %s over [%s, %s) as execution %s", self.launch_plan, start, end, name
            )
            return remote.launch_backfill(
                project, domain, start, end, self.launch_plan,
                launchplan_version=self.launch_plan_version,
                execution_name=name,
                parallel=self.parallel,
                failure_policy=self.failure_policy.upper() if self.failure_policy else None,
                overwrite_cache=self.overwrite_cache,
            )

        return self.start_and_finish(context, project, domain, base, create, f"Flyte backfill task {self.task_id}: backfilling {self.launch_plan!r} failed")

    # ------------------------------------------------------------------ OpenLineage (the ``openlineage`` extra)
    def get_openlineage_facets_on_start(self) -> Any:
        """The launch plan about to be backfilled."""
        from airflow_provider_flyte.operators.lineage import start_lineage

        return start_lineage("launch_plan", str(self.launch_plan), self.launch_plan_version, self.project, self.domain)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The backfill execution's ``flyteExecution`` facet; datasets from the files of its instances."""
        from airflow_provider_flyte.operators.lineage import lineage_on_finish
        from airflow_provider_flyte.operators.waiting import XCOM_EXECUTION_NAME

        return lineage_on_finish(self.hook, task_instance, XCOM_EXECUTION_NAME, self.project, self.domain, False, True)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As on completion, plus the Flyte error."""
        from airflow_provider_flyte.operators.lineage import lineage_on_finish
        from airflow_provider_flyte.operators.waiting import XCOM_EXECUTION_NAME

        return lineage_on_finish(self.hook, task_instance, XCOM_EXECUTION_NAME, self.project, self.domain, True, True)

    def on_execution_success(self, context: Any, project: str, domain: str, name: str) -> Any:
        """The backfill execution's name."""
        return name
