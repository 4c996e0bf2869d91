"""A Flyte workflow defined inline, in the DAG file, and run by Airflow: no separate registration step.

``FlyteExecuteOperator`` accepts flytekit objects (``@task``, ``@workflow``, ``LaunchPlan``) as well as names. On
its first run it registers what is missing under a version derived from the code, ships the code (entities
defined in a DAG file are pickled, as in flytekit's interactive mode) and executes; later runs of unchanged code
register nothing. This DAG runs

* ``count``: the single task ``count_words``;
* ``report``: the workflow ``word_report`` (a subworkflow, then the approval gate ``review``), started without
  waiting; ``approve`` approves the gate once the execution reaches it, and ``outcome`` waits for the result;
* ``short``: the launch plan ``short_report`` of the subworkflow ``measure``, which fixes ``threshold``.

Needs the flytekit extra (``pip install 'airflow-provider-flyte[flytekit]'``) and the ``flyte_default``
connection (e.g. ``AIRFLOW_CONN_FLYTE_DEFAULT=flyte://127.0.0.1:30080?insecure=true&project=flytesnacks&
domain=development``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from airflow.sdk import dag, task
from flytekit import approve, workflow
from flytekit import task as flyte_task

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator, FlyteSignalOperator
from airflow_provider_flyte.remote.local import launch_plan
from airflow_provider_flyte.sensors.flyte import FlyteExecutionSensor


class Report(NamedTuple):
    words: int
    verdict: str


@flyte_task
def count_words(text: str) -> int:
    return len(text.split())


@flyte_task
def judge(words: int, threshold: int) -> str:
    return "long" if words > threshold else "short"


@workflow
def measure(text: str, threshold: int) -> Report:
    words = count_words(text=text)
    return Report(words=words, verdict=judge(words=words, threshold=threshold))


@workflow
def word_report(text: str, threshold: int = 10) -> Report:
    words, verdict = measure(text=text, threshold=threshold)
    reviewed = approve(verdict, "review", timeout=dt.timedelta(hours=1))
    return Report(words=words, verdict=reviewed)


# launch_plan() is LaunchPlan.get_or_create that tolerates Airflow parsing this file more than once per process
short_report = launch_plan(measure, "short_report", fixed_inputs={"threshold": 3})

EXECUTION = "{{ ti.xcom_pull(task_ids='report', key='flyte_execution_name') }}"


@dag(
    dag_id="example_flyte_inline_workflow",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    params={"text": "the quick brown fox jumps over the lazy dog"},
    tags=["example", "flyte"],
)
def example_flyte_inline_workflow() -> None:
    count = FlyteExecuteOperator(
        task_id="count", task=count_words, inputs={"text": "{{ params.text }}"}, poll_interval=0.5, timeout=600
    )
    report = FlyteExecuteOperator(
        task_id="report", workflow=word_report, inputs={"text": "{{ params.text }}"}, wait_for_completion=False
    )
    approve_review = FlyteSignalOperator(
        task_id="approve", execution_name=EXECUTION, signal_id="review", action="approve",
        wait_for_gate=True, poll_interval=0.5, timeout=600,
    )
    outcome = FlyteExecutionSensor(task_id="outcome", execution_name=EXECUTION, poll_interval=0.5, timeout=600)
    short = FlyteExecuteOperator(
        task_id="short", launch_plan=short_report, inputs={"text": "{{ params.text }}"}, poll_interval=0.5,
        timeout=600,
    )

    @task
    def summary(counted: dict[str, Any], measured: dict[str, Any]) -> str:
        line = f"{counted['o0']} words: {measured['verdict']} by the short_report standard"
        print(line)
        return line

    report >> approve_review >> outcome
    summary(count.output, short.output)


dag = example_flyte_inline_workflow()
