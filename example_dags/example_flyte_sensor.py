"""Start a Flyte execution without waiting, then wait for it with a deferrable sensor.

The sensor reads the execution name from the upstream task's XCom (``flyte_execution_name``): any execution
started elsewhere can be watched the same way.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.compat.sdk import dag

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator
from airflow_provider_flyte.sensors.flyte import FlyteExecutionSensor


@dag(
    dag_id="example_flyte_sensor",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "flyte"],
)
def example_flyte_sensor() -> None:
    start = FlyteExecuteOperator(
        task_id="start",
        launch_plan="examples.slow",
        inputs={"seconds": 1.0},
        wait_for_completion=False,
    )
    wait = FlyteExecutionSensor(
        task_id="wait",
        execution_name="{{ ti.xcom_pull(task_ids='start', key='flyte_execution_name') }}",
        deferrable=True,
        poll_interval=0.5,
        timeout=600,
    )
    start >> wait


dag = example_flyte_sensor()
