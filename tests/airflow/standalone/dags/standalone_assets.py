"""Asset-driven DAGs for the standalone suite: a Flyte execution's output becomes an asset event, and the DAG
scheduled on that asset runs (real scheduler)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
REPORT = Asset("sa-flyte-report")

with DAG("sa_asset_producer", schedule=None, start_date=START, catchup=False, tags=["flyte-standalone"]) as producer:
    FlyteExecuteOperator(
        task_id="run", launch_plan="examples.report", inputs={"title": "standalone"},
        output_assets={"report": REPORT}, deferrable=False, poll_interval=1,
    )

with DAG("sa_asset_consumer", schedule=[REPORT], start_date=START, catchup=False, tags=["flyte-standalone"]) as consumer:

    @task(task_id="run")
    def consume(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
        return [dict(event.extra) for events in (triggering_asset_events or {}).values() for event in events]

    consume()
