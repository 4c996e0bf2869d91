"""Backfill a cron launch plan over the DAG run's data interval (a week: six daily instances, as flytekit's
backfill counts schedule ticks strictly after the start and before the end).

The interval comes from the timetable; Airflow 3's default cron timetable (``CronTriggerTimetable``) gives runs an
empty interval, so the operator would then ask for explicit ``from_date``/``to_date``.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.compat.sdk import dag

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2
    from airflow.timetables.interval import CronDataIntervalTimetable

from airflow_provider_flyte.operators.flyte import FlyteBackfillOperator


@dag(
    dag_id="example_flyte_backfill",
    # a data-interval timetable: each run covers [previous Monday, this Monday)
    schedule=CronDataIntervalTimetable("0 0 * * 1", timezone="UTC"),
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "flyte"],
)
def example_flyte_backfill() -> None:
    FlyteBackfillOperator(
        task_id="backfill",
        launch_plan="examples.daily",
        parallel=True,
        deferrable=True,
        poll_interval=0.5,
        timeout=dt.timedelta(minutes=10),
    )


dag = example_flyte_backfill()
