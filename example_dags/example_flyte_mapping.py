"""Dynamic task mapping: one Flyte execution per input set, outputs gathered downstream.

Every mapped task instance gets its own deterministic execution name (the map index is part of it), so retries of
one instance never touch the others.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@dag(
    dag_id="example_flyte_mapping",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "flyte"],
)
def example_flyte_mapping() -> None:
    @task
    def input_sets() -> list[dict[str, int]]:
        return [{"a": 1, "b": 1}, {"a": 2, "b": 3}, {"a": 10, "b": -4}]

    arith = FlyteExecuteOperator.partial(
        task_id="arith", launch_plan="examples.arith", deferrable=True, poll_interval=0.5
    ).expand(inputs=input_sets())

    @task
    def total(results: list[dict[str, Any]]) -> int:
        return sum(r["squared"] for r in results)

    total(arith.output)


dag = example_flyte_mapping()
