"""OpenLineage: the Flyte executions of this DAG report the files they read and write.

With the ``openlineage`` extra installed and a transport configured (``[openlineage] transport``), the
OpenLineage provider asks ``FlyteExecuteOperator`` for its facets: ``report`` emits the file and directory
``examples.report`` wrote as output datasets; ``publish`` reads that file (input dataset) and writes its copy
(output dataset). Each event carries the ``flyteExecution`` run facet (execution id, console URL, launch plan and
version, phase); a failed execution adds the ``errorMessage`` facet with the Flyte error.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.common.compat.sdk import dag

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@dag(
    dag_id="example_flyte_lineage",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["example", "flyte"],
)
def example_flyte_lineage() -> None:
    report = FlyteExecuteOperator(
        task_id="report", launch_plan="examples.report", inputs={"title": "lineage"}, poll_interval=0.5
    )
    publish = FlyteExecuteOperator(
        task_id="publish",
        launch_plan="examples.publish",
        inputs={"report": "{{ ti.xcom_pull(task_ids='report')['report'] }}"},
        poll_interval=0.5,
    )
    report >> publish


dag = example_flyte_lineage()
