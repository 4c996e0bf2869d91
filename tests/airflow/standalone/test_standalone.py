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


def test_flyte_output_asset_triggers_the_asset_scheduled_dag(standalone: Any, remote: Any) -> None:
    deadline = time.time() + 120
    while True:  # the consumer DAG may still be on its way through the dag-processor
        try:
            standalone.api("GET", "/api/v2/dags/sa_asset_consumer")
            break
        except RuntimeError:
            if time.time() > deadline:
                raise
            time.sleep(2)
    before = {r["dag_run_id"] for r in standalone.api("GET", "/api/v2/dags/sa_asset_consumer/dagRuns")["dag_runs"]}
    run_id = standalone.trigger("sa_asset_producer")
    ti = standalone.wait_state("sa_asset_producer", run_id, {"success", "failed"}, 180)
    assert ti["state"] == "success", standalone.log_tail()
    name = standalone.xcom("sa_asset_producer", run_id, "flyte_execution_name")
    deadline = time.time() + 180
    runs: list[dict[str, Any]] = []
    while time.time() < deadline:
        runs = [
            r for r in standalone.api("GET", "/api/v2/dags/sa_asset_consumer/dagRuns")["dag_runs"]
            if r["dag_run_id"] not in before
        ]
        if runs and runs[0]["state"] in ("success", "failed"):
            break
        time.sleep(2)
    assert len(runs) == 1 and runs[0]["state"] == "success", (runs, standalone.log_tail())
    assert runs[0]["run_type"] == "asset_triggered"
    extras = standalone.xcom("sa_asset_consumer", runs[0]["dag_run_id"], "return_value")
    uri = remote.fetch_execution(name=name).outputs.literals["report"].scalar.blob.uri
    assert [(e["flyte_execution_id"], e["output"], e["uris"]) for e in extras] == [
        (f"flytesnacks/development/{name}", "report", [uri])
    ]
