"""Only the newest run's Flyte execution keeps running: ``cancel_previous_runs=True``.

Each DAG run starts a long ``examples.slow`` execution without waiting for it (``wait_for_completion=False``, the
task returns the execution name). A new run first terminates the executions that earlier runs of the same task
started and that still run, so a slow pipeline never piles up behind itself.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.compat.sdk import dag

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@dag(
    dag_id="example_flyte_latest_only",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"seconds": 300.0},
    render_template_as_native_obj=True,
    tags=["example", "flyte"],
)
def example_flyte_latest_only() -> None:
    FlyteExecuteOperator(
        task_id="refresh",
        launch_plan="examples.slow",
        inputs={"seconds": "{{ params.seconds }}"},
        wait_for_completion=False,
        cancel_previous_runs=True,
    )


dag = example_flyte_latest_only()
