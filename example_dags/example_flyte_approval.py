"""An approval gate in a Flyte workflow, approved or rejected by Airflow after an upstream check.

The workflow ``examples.approval`` squares ``x`` and then waits at the gate ``review``. Airflow checks the value
(here: a plain Python check on the DAG run's ``x``), then approves or rejects the gate; the signal task waits
(deferrably) until the gate is reached. A final sensor reports how the Flyte execution ended.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator, FlyteSignalOperator
from airflow_provider_flyte.sensors.flyte import FlyteExecutionSensor

EXECUTION = "{{ ti.xcom_pull(task_ids='start', key='flyte_execution_name') }}"


@dag(
    dag_id="example_flyte_approval",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"x": 3, "limit": 100},
    render_template_as_native_obj=True,
    tags=["example", "flyte"],
)
def example_flyte_approval() -> None:
    start = FlyteExecuteOperator(
        task_id="start",
        launch_plan="examples.approval",
        inputs={"x": "{{ params.x }}"},
        wait_for_completion=False,
    )

    @task.branch
    def quality_check(x: int, limit: int) -> str:
        return "approve" if x * x <= limit else "reject"

    approve = FlyteSignalOperator(
        task_id="approve", execution_name=EXECUTION, signal_id="review", action="approve",
        wait_for_gate=True, deferrable=True, poll_interval=0.5, timeout=600,
    )
    reject = FlyteSignalOperator(
        task_id="reject", execution_name=EXECUTION, signal_id="review", action="reject",
        wait_for_gate=True, deferrable=True, poll_interval=0.5, timeout=600,
    )
    outcome = FlyteExecutionSensor(
        task_id="outcome",
        execution_name=EXECUTION,
        deferrable=True,
        poll_interval=0.5,
        timeout=600,
        trigger_rule="none_failed_min_one_success",
    )
    check = quality_check("{{ params.x }}", "{{ params.limit }}")
    start >> check >> [approve, reject] >> outcome


dag = example_flyte_approval()
