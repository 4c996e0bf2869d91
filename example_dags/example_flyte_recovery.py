"""A retry recovers the failed Flyte execution instead of rerunning it from the start.

``examples.pipeline`` runs ``extract`` then ``load``; ``load`` fails on its first run ever (a transient outage).
The first try fails; Airflow retries the task, and the retry *recovers* the failed execution (``on_retry="recover"``,
the default): ``extract`` is not run again (its node ends RECOVERED with the outputs of the first run), only
``load`` runs. Both tasks count their runs in files under ``workdir``, so the counts show what really ran.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import dag, task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator


@dag(
    dag_id="example_flyte_recovery",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"workdir": str(Path(tempfile.gettempdir()) / "flyte-example-recovery")},
    tags=["example", "flyte"],
)
def example_flyte_recovery() -> None:
    pipeline = FlyteExecuteOperator(
        task_id="pipeline",
        launch_plan="examples.pipeline",
        inputs={"workdir": "{{ params.workdir }}/{{ run_id | replace(':', '_') }}"},
        on_retry="recover",
        retries=1,
        retry_delay=dt.timedelta(seconds=0),
        poll_interval=0.5,
    )

    @task
    def report(outputs: dict[str, Any]) -> str:
        # extract ran once (its output is its run count), load twice: the retry reused extract
        line = f"extract ran {outputs['extracted']} time(s), load {outputs['loaded']} time(s)"
        print(line)
        return line

    report(pipeline.output)


dag = example_flyte_recovery()
