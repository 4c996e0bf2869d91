"""The provider under a real ``airflow standalone``: deferral through the real triggerer, cancellation by a user,
a triggerer killed and replaced mid-wait, and a retry that attaches instead of duplicating."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from airflow_provider_flyte.operators.naming import base_name

pytestmark = [pytest.mark.standalone, pytest.mark.timeout(900)]


def _executions(remote: Any, dag_id: str, run_id: str) -> list[Any]:
    base = base_name(dag_id, run_id, "run", -1)
    return remote.list_executions(names=[base, f"{base}-2", f"{base}-3"])


def _saw_deferred(standalone: Any, dag_id: str, run_id: str, timeout: float = 120) -> None:
    standalone.wait_state(dag_id, run_id, {"deferred"}, timeout)


def test_deferral_through_the_real_triggerer(standalone: Any, remote: Any) -> None:
    run_id = standalone.trigger("sa_defer")
    _saw_deferred(standalone, "sa_defer", run_id)
    name = standalone.xcom("sa_defer", run_id, "flyte_execution_name")  # pushed before deferring
    ti = standalone.wait_state("sa_defer", run_id, {"success", "failed"}, 180)
    assert ti["state"] == "success", standalone.log_tail()
    assert standalone.xcom("sa_defer", run_id, "return_value") == {"slept": 20.0}
    assert [e.id.name for e in _executions(remote, "sa_defer", run_id)] == [name]


def test_marking_a_deferred_task_failed_aborts_the_execution(standalone: Any, remote: Any) -> None:
    run_id = standalone.trigger("sa_mark_failed")
    _saw_deferred(standalone, "sa_mark_failed", run_id)
    name = standalone.xcom("sa_mark_failed", run_id, "flyte_execution_name")
    time.sleep(2)  # let the triggerer pick the trigger up
    standalone.api(
        "PATCH", f"/api/v2/dags/sa_mark_failed/dagRuns/{run_id}/taskInstances/run", {"new_state": "failed"}
    )
    deadline = time.time() + 90
    phase = ""
    while time.time() < deadline:
        phase = remote.fetch_execution(name=name).phase_name
        if phase == "ABORTED":
            break
        time.sleep(1)
    assert phase == "ABORTED", standalone.log_tail()


def test_triggerer_killed_and_restarted_completes_with_one_execution(standalone: Any, remote: Any) -> None:
    run_id = standalone.trigger("sa_restart")
    _saw_deferred(standalone, "sa_restart", run_id)
    time.sleep(2)
    pids = standalone.component_pids("triggerer")
    assert pids, "no triggerer process found"
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(3)
    standalone.start_triggerer()
    ti = standalone.wait_state("sa_restart", run_id, {"success", "failed"}, 240)
    assert ti["state"] == "success", standalone.log_tail()
    executions = _executions(remote, "sa_restart", run_id)
    assert len(executions) == 1 and executions[0].phase_name == "SUCCEEDED"


def test_retry_attaches_instead_of_duplicating(standalone: Any, remote: Any) -> None:
    run_id = standalone.trigger("sa_retry")
    ti = standalone.wait_state("sa_retry", run_id, {"success", "failed"}, 240)
    assert ti["state"] == "success", standalone.log_tail()
    assert ti["try_number"] == 2
    executions = _executions(remote, "sa_retry", run_id)
    assert len(executions) == 1 and executions[0].phase_name == "SUCCEEDED"
