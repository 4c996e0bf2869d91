"""Airflow assets from Flyte outputs: a consumer DAG runs when the Flyte workflow has written a new report.

``produce`` runs ``examples.report`` with ``output_assets={"report": REPORT}``: the asset is an outlet of the task,
and its event carries the Flyte execution id, the output name and the URI of the file the execution wrote.
``example_flyte_assets_consumer`` is scheduled on that asset and reads the event's ``extra``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.providers.common.compat.sdk import Asset, dag, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator

REPORT = Asset("flyte-examples-report")
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dag(dag_id="example_flyte_assets", schedule=None, start_date=START, catchup=False, tags=["example", "flyte"])
def example_flyte_assets() -> None:
    FlyteExecuteOperator(
        task_id="produce",
        launch_plan="examples.report",
        inputs={"title": "assets"},
        output_assets={"report": REPORT},
        poll_interval=0.5,
    )


@dag(dag_id="example_flyte_assets_consumer", schedule=[REPORT], start_date=START, catchup=False,
     tags=["example", "flyte"])
def example_flyte_assets_consumer() -> None:
    @task
    def consume(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        extras = [dict(event.extra) for events in (triggering_asset_events or {}).values() for event in events]
        for extra in extras:
            print(f"new report {extra['uris']} from Flyte execution {extra['flyte_execution_id']}")
        return extras

    consume()


dag = example_flyte_assets()
consumer = example_flyte_assets_consumer()
