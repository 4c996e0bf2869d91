"""``cancel_previous_runs``: terminate the still-running executions that earlier DAG runs of the same task started.

Executions started with the option carry two labels: ``airflow-task-key`` (a digest of dag_id and task_id) and
``airflow-run-key`` (a digest of dag_id and run_id). Before starting, a task lists the non-terminal executions of
the same entity (one filtered ``ListExecutions``) and terminates those with its task key and another run key; its
own run's executions (earlier tries, sibling map indexes) are never touched. Executions started without the
option carry no labels and are left alone.
"""

from __future__ import annotations

import hashlib
from typing import Any

TASK_LABEL = "airflow-task-key"
RUN_LABEL = "airflow-run-key"
#: phases in which an execution can still be terminated
_ACTIVE_PHASES = ("UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "FAILING")
#: entity kind of the operator -> the execution-list filter field naming it
_ENTITY_FIELD = {"launch_plan": "launch_plan.name", "workflow": "workflow.name", "task": "task.name"}


def _digest(*parts: str) -> str:
    return "k" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def run_labels(dag_id: str, task_id: str, run_id: str) -> dict[str, str]:
    """The labels marking an execution as started by this task in this DAG run."""
    return {TASK_LABEL: _digest(dag_id, task_id), RUN_LABEL: _digest(dag_id, run_id)}


def active_filter(kind: str, name: str) -> str:
    """Flyte Admin list filter: non-terminal executions of the entity ``name`` of ``kind``."""
    return f"eq({_ENTITY_FIELD[kind]},{name})+value_in(phase,{';'.join(_ACTIVE_PHASES)})"


def previous_runs(executions: list[Any], labels: dict[str, str]) -> list[Any]:
    """The executions started by the same task (``labels[TASK_LABEL]``) in other DAG runs."""
    result = []
    for execution in executions:
        theirs = dict(execution.spec.labels.values)
        if theirs.get(TASK_LABEL) == labels[TASK_LABEL] and theirs.get(RUN_LABEL) != labels[RUN_LABEL]:
            result.append(execution)
    return result


def cancel_previous_runs(
    remote: Any, log: Any, project: str, domain: str, kind: str, name: str, labels: dict[str, str], cause: str
) -> list[str]:
    """Terminate the still-running executions of ``name`` that earlier runs of the task started; their names."""
    from airflow_provider_flyte.remote.errors import FlyteFailedPreconditionError

    found = remote.list_executions(project, domain, filters=active_filter(kind, name))
    cancelled = []
    for execution in previous_runs(found, labels):
        log.info("Terminating Flyte execution %s started by an earlier run of this task", execution.id.name)
        try:
            remote.terminate(execution, cause)
        except FlyteFailedPreconditionError:  # it ended in the meantime
            continue
        cancelled.append(execution.id.name)
    return cancelled
