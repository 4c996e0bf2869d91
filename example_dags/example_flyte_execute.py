"""Execute a Flyte launch plan and hand its outputs to a downstream task.

Needs the ``flyte_default`` connection (e.g. ``AIRFLOW_CONN_FLYTE_DEFAULT=flyte://127.0.0.1:30080?insecure=true&
project=flytesnacks&domain=development``) and the example workflows (``flyte_examples_registry.register_examples``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@dag(
    dag_id="example_flyte_execute",
    schedule=None,
    render_template_as_native_obj=True,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "flyte"],
)
def example_flyte_execute() -> None:
    arith = FlyteExecuteOperator(
        task_id="arith",
        launch_plan="examples.arith",
        inputs={"a": "{{ params.a }}", "b": 3},
        params={"a": 2},
        deferrable=True,
        poll_interval=0.5,
        timeout=dt.timedelta(minutes=10),
    )

    @task
    def report(outputs: dict[str, Any]) -> str:
        line = f"total={outputs['total']} squared={outputs['squared']}"
        print(line)
        return line

    report(arith.output)


dag = example_flyte_execute()
