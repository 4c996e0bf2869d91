"""DAGs driven by the standalone suite (tests/airflow/standalone): real scheduler, worker and triggerer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


class CrashAfterStartOperator(FlyteExecuteOperator):
    """Try 1 dies right after starting its execution (as a worker crash would); later tries run normally."""

    def wait_for_execution(self, context: Any, project: str, domain: str, execution: Any) -> Any:
        if context["ti"].try_number == 1:
            raise AirflowException(f"simulated worker crash after starting {execution.id.name}")
        return super().wait_for_execution(context, project, domain, execution)


def _slow_dag(dag_id: str, seconds: float, **op_kwargs: Any) -> DAG:
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["flyte-standalone"]) as dag:
        FlyteExecuteOperator(
            task_id="run", launch_plan="examples.slow", inputs={"seconds": seconds},
            deferrable=True, poll_interval=1, **op_kwargs,
        )
    return dag


# Executions outlast the deferral by well over 5 s: on a loaded machine Airflow 3.3.2's LocalExecutor can report the
# deferring workload as finished (up to ~5 s late) after the trigger already fired and the task was re-queued, and
# the scheduler then fails the task ("... state attribute is queued"; apache/airflow#66374, #67287, #72716). With
# the operators' default poll_interval (30 s) a trigger never fires that early.
sa_defer = _slow_dag("sa_defer", 20.0)
sa_mark_failed = _slow_dag("sa_mark_failed", 300.0)
sa_restart = _slow_dag("sa_restart", 12.0)

with DAG("sa_retry", schedule=None, start_date=START, catchup=False, tags=["flyte-standalone"]) as sa_retry:
    CrashAfterStartOperator(
        task_id="run", launch_plan="examples.slow", inputs={"seconds": 20.0}, deferrable=True, poll_interval=1,
        retries=1, retry_delay=dt.timedelta(seconds=1),
    )

# The browser test (test_console_browser.py) opens this task's "Flyte Execution" link and approves the gate there.
with DAG("sa_console", schedule=None, start_date=START, catchup=False, tags=["flyte-standalone"]) as sa_console:
    FlyteExecuteOperator(
        task_id="run", launch_plan="examples.approval", inputs={"x": 5}, deferrable=True, poll_interval=1,
    )
