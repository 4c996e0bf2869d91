"""Discover what is registered in Flyte, run a workflow that writes files, and copy its artifacts out.

* ``catalog`` lists the launch plans and tasks of the connection's project/domain at their latest versions, with
  their interfaces (``FlyteListEntitiesOperator``);
* ``report`` runs ``examples.report`` (it writes a CSV file and a directory);
* ``copy`` copies those outputs to ``params.destination`` (a local path here; ``s3://`` / ``gs://`` work the same
  with credentials in the connection's ``storage_options``) and returns the destination URIs.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_flyte.operators.flyte import (
    FlyteDownloadOutputsOperator,
    FlyteExecuteOperator,
    FlyteListEntitiesOperator,
)


@dag(
    dag_id="example_flyte_discovery",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"destination": str(Path(tempfile.gettempdir()) / "flyte-example-artifacts")},
    tags=["example", "flyte"],
)
def example_flyte_discovery() -> None:
    catalog = FlyteListEntitiesOperator(task_id="catalog", kinds=["launch_plan", "task"], name_prefix="examples.")

    @task
    def pick(entities: list[dict[str, Any]]) -> str:
        (report,) = [e for e in entities if e["kind"] == "launch_plan" and e["name"] == "examples.report"]
        print(f"{report['name']}@{report['version']}: inputs {report['inputs']}, outputs {report['outputs']}")
        return str(report["version"])

    version = pick(catalog.output)
    report = FlyteExecuteOperator(
        task_id="report", launch_plan="examples.report", version=version, inputs={"title": "quarterly"}, poll_interval=0.5,
    )
    copy = FlyteDownloadOutputsOperator(
        task_id="copy",
        execution_name="{{ ti.xcom_pull(task_ids='report', key='flyte_execution_name') }}",
        destination="{{ params.destination }}/{{ run_id | replace(':', '_') }}",
    )
    report >> copy


dag = example_flyte_discovery()
