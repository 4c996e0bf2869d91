"""The operators against the sandbox, called the way the task runner calls them.

A worker-less task instance stand-in (:class:`TaskInstanceStub`) carries the identity Airflow gives a try
(dag_id, run_id, task_id, map_index, try_number) and records XCom pushes; everything on the Flyte side is real.
Full DAG runs (scheduler-free) are in test_example_dags.py; real triggerer/scheduler runs in standalone/.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_flyte.operators.flyte import (
    FlyteBackfillOperator,
    FlyteExecuteOperator,
    FlyteExecutionFailed,
    FlyteExecutionTimeout,
    FlyteSignalOperator,
)
from airflow_provider_flyte.operators.naming import base_name
from airflow_provider_flyte.sensors.flyte import FlyteExecutionSensor

pytestmark = pytest.mark.usefixtures("flyte_conn")


@dataclass
class TaskInstanceStub:
    dag_id: str
    run_id: str
    task_id: str
    try_number: int = 1
    map_index: int = -1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def context(task_id: str, try_number: int = 1, run_id: str | None = None, **extra: Any) -> dict[str, Any]:
    ti = TaskInstanceStub("ops_dag", run_id or f"run-{time.time_ns()}", task_id, try_number)
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, **extra}


def expected_name(ctx: dict[str, Any]) -> str:
    ti = ctx["ti"]
    return base_name(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)


def run_deferred(op: Any, ctx: dict[str, Any]) -> Any:
    """execute() -> TaskDeferred -> run the trigger -> execute_complete(), as the triggerer and worker do."""
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    assert ctx["ti"].xcoms["flyte_execution_name"]  # pushed before deferring
    trigger = deferred.value.trigger

    async def first() -> Any:
        gen = trigger.run()
        try:
            return (await asyncio.wait_for(gen.__anext__(), 60)).payload
        finally:
            await gen.aclose()

    return getattr(op, deferred.value.method_name)(ctx, event=asyncio.run(first()))


def test_sync_wait_returns_outputs_and_logs_node_progress(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 3, "b": 4},
                              deferrable=False, poll_interval=0.2)
    ctx = context("arith")
    assert op.execute(ctx) == {"total": 7, "squared": 49}
    assert ctx["ti"].xcoms["flyte_execution_name"] == expected_name(ctx)
    assert ctx["ti"].xcoms["flyte_execution_url"].endswith(expected_name(ctx))
    out, err = capfd.readouterr()  # Airflow 3's task logger (structlog) writes to the console outside a runner
    text = out + err + caplog.text  # Airflow 2 logs through the standard logging module
    assert "node n1 SUCCEEDED" in text and "-> SUCCEEDED" in text


def test_deferred_wait_returns_outputs() -> None:
    op = FlyteExecuteOperator(task_id="arith", workflow="examples.arith", version="v1", inputs={"a": 1, "b": 1},
                              deferrable=True, poll_interval=0.2)
    assert run_deferred(op, context("arith")) == {"total": 2, "squared": 4}


def test_terminal_execution_never_defers(remote: Any, examples: dict[str, Any]) -> None:
    ctx = context("arith")
    done = remote.execute(examples["examples.arith"], {"a": 2, "b": 2}, execution_name=expected_name(ctx))
    remote.wait(done, timeout=30, poll_interval=0.1)
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 2, "b": 2},
                              deferrable=True, poll_interval=0.2)
    assert op.execute(ctx) == {"total": 4, "squared": 16}  # no TaskDeferred


def test_failure_names_kind_code_message_and_failing_node() -> None:
    op = FlyteExecuteOperator(task_id="boom", launch_plan="examples.fail", inputs={"message": "disk on fire"},
                              deferrable=True, poll_interval=0.2)
    with pytest.raises(FlyteExecutionFailed) as failed:
        run_deferred(op, context("boom"))
    text = str(failed.value)
    assert "ended FAILED" in text and "kind=USER" in text and "USER:RuntimeError" in text
    assert "disk on fire" in text and "failing node: n0" in text


def test_retry_attaches_to_running_predecessor(remote: Any) -> None:
    first = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 1.0},
                              deferrable=True, poll_interval=0.2)
    with pytest.raises(TaskDeferred):
        op.execute(first)  # try 1 started the execution, then its worker died
    retry = {**first, "ti": TaskInstanceStub("ops_dag", first["run_id"], "slow", try_number=2)}
    retry["task_instance"] = retry["ti"]
    assert run_deferred(op, retry) == {"slept": 1.0}
    assert retry["ti"].xcoms["flyte_execution_name"] == expected_name(first)
    base = expected_name(first)
    assert [e.id.name for e in remote.list_executions(names=[base, f"{base}-2"])] == [base]


def test_retry_after_failure_starts_the_next_generation(remote: Any) -> None:
    ctx = context("fail")
    op = FlyteExecuteOperator(task_id="fail", launch_plan="examples.fail", inputs={"message": "x"},
                              deferrable=False, poll_interval=0.1)
    with pytest.raises(FlyteExecutionFailed):
        op.execute(ctx)
    retry = {**ctx, "ti": TaskInstanceStub("ops_dag", ctx["run_id"], "fail", try_number=2)}
    with pytest.raises(FlyteExecutionFailed):
        op.execute(retry)
    base = expected_name(ctx)
    assert retry["ti"].xcoms["flyte_execution_name"] == f"{base}-2"
    assert sorted(e.id.name for e in remote.list_executions(names=[base, f"{base}-2", f"{base}-3"])) == [
        base, f"{base}-2"
    ]


def _runs(directory: Any) -> dict[str, int]:
    """How many times each task of ``examples.pipeline`` really ran (it counts its runs in files)."""
    return {p.stem: len(p.read_text().splitlines()) for p in sorted(directory.glob("*.runs"))}


def test_retry_after_failure_recovers_reusing_succeeded_nodes(remote: Any, tmp_path: Any) -> None:
    ctx = context("pipeline")
    op = FlyteExecuteOperator(task_id="pipeline", launch_plan="examples.pipeline", inputs={"workdir": str(tmp_path)},
                              deferrable=False, poll_interval=0.1)
    assert op.on_retry == "recover"
    with pytest.raises(FlyteExecutionFailed, match="failing node: load"):
        op.execute(ctx)
    assert _runs(tmp_path) == {"extract": 1, "load": 1}
    retry = {**ctx, "ti": TaskInstanceStub("ops_dag", ctx["run_id"], "pipeline", try_number=2)}
    assert op.execute(retry) == {"extracted": 1, "loaded": 2}
    assert _runs(tmp_path) == {"extract": 1, "load": 2}  # extract was not run again
    base = expected_name(ctx)
    assert retry["ti"].xcoms["flyte_execution_name"] == f"{base}-2"
    recovered = remote.fetch_execution(name=f"{base}-2")
    assert recovered.spec.metadata.mode == 5 and recovered.spec.metadata.reference_execution.name == base
    nodes = remote.list_node_executions(recovered)
    assert {n.id.node_id: n.phase_name for n in nodes if n.id.node_id in ("extract", "load")} == {
        "extract": "RECOVERED", "load": "SUCCEEDED"
    }


def test_retry_with_on_retry_attach_reruns_everything(tmp_path: Any) -> None:
    ctx = context("pipeline")
    op = FlyteExecuteOperator(task_id="pipeline", launch_plan="examples.pipeline", inputs={"workdir": str(tmp_path)},
                              deferrable=False, poll_interval=0.1, on_retry="attach")
    with pytest.raises(FlyteExecutionFailed):
        op.execute(ctx)
    retry = {**ctx, "ti": TaskInstanceStub("ops_dag", ctx["run_id"], "pipeline", try_number=2)}
    assert op.execute(retry) == {"extracted": 2, "loaded": 2}
    assert _runs(tmp_path) == {"extract": 2, "load": 2}


def test_retry_with_on_retry_new_replaces_a_running_predecessor(remote: Any) -> None:
    first = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 0.5},
                              deferrable=True, poll_interval=0.2, on_retry="new")
    with pytest.raises(TaskDeferred):
        op.execute(first)  # try 1 started the execution, then its worker died
    base = expected_name(first)
    retry = {**first, "ti": TaskInstanceStub("ops_dag", first["run_id"], "slow", try_number=2)}
    retry["task_instance"] = retry["ti"]
    assert run_deferred(op, retry) == {"slept": 0.5}
    assert retry["ti"].xcoms["flyte_execution_name"] == f"{base}-2"
    old = remote.wait(remote.fetch_execution(name=base), timeout=30, poll_interval=0.1)
    assert old.phase_name == "ABORTED"  # never two at once


def test_on_retry_must_be_a_known_choice() -> None:
    with pytest.raises(ValueError, match="on_retry must be one of 'recover', 'new', 'attach', got 'again'"):
        FlyteExecuteOperator(task_id="x", launch_plan="examples.arith", on_retry="again")


def test_retry_reuses_a_succeeded_predecessor(remote: Any) -> None:
    ctx = context("arith")
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 5, "b": 5},
                              deferrable=False, poll_interval=0.1)
    assert op.execute(ctx) == {"total": 10, "squared": 100}
    retry = {**ctx, "ti": TaskInstanceStub("ops_dag", ctx["run_id"], "arith", try_number=2)}
    assert op.execute(retry) == {"total": 10, "squared": 100}
    base = expected_name(ctx)
    assert [e.id.name for e in remote.list_executions(names=[base, f"{base}-2"])] == [base]


def test_crash_between_create_and_xcom_push_is_recovered(remote: Any, examples: dict[str, Any]) -> None:
    ctx = context("arith")
    remote.execute(examples["examples.arith"], {"a": 1, "b": 2}, execution_name=expected_name(ctx))
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 1, "b": 2},
                              deferrable=False, poll_interval=0.1)
    assert op.execute(ctx) == {"total": 3, "squared": 9}
    assert len(remote.list_executions(names=[expected_name(ctx), expected_name(ctx) + "-2"])) == 1


def test_sync_timeout_terminates_and_fails_saying_so(remote: Any) -> None:
    ctx = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 30.0},
                              deferrable=False, poll_interval=0.2, timeout=1)
    with pytest.raises(FlyteExecutionTimeout, match="did not finish within the timeout; it was terminated"):
        op.execute(ctx)
    execution = remote.wait(remote.fetch_execution(name=expected_name(ctx)), timeout=10, poll_interval=0.1)
    assert execution.phase_name == "ABORTED"


def test_deferred_timeout_terminates_and_fails_saying_so(remote: Any) -> None:
    ctx = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 30.0},
                              deferrable=True, poll_interval=5, timeout=1)
    with pytest.raises(FlyteExecutionTimeout, match=r"did not finish before the deadline .*; it was terminated"):
        run_deferred(op, ctx)
    execution = remote.wait(remote.fetch_execution(name=expected_name(ctx)), timeout=10, poll_interval=0.1)
    assert execution.phase_name == "ABORTED"


def test_on_kill_terminates_the_execution(remote: Any) -> None:
    ctx = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 30.0},
                              deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(ctx)
    op.on_kill()
    execution = remote.wait(remote.fetch_execution(name=expected_name(ctx)), timeout=10, poll_interval=0.1)
    assert execution.phase_name == "ABORTED"


def test_aborted_execution_fails_with_its_cause(remote: Any) -> None:
    ctx = context("slow")
    op = FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 30.0},
                              deferrable=True, poll_interval=0.2)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    remote.terminate(expected_name(ctx), "operator on call said no", project="flytesnacks", domain="development")

    async def first() -> Any:
        return (await deferred.value.trigger.run().__anext__()).payload

    with pytest.raises(FlyteExecutionFailed, match="ended ABORTED; abort cause: operator on call said no"):
        op.execute_complete(ctx, event=asyncio.run(first()))


def test_not_waiting_returns_the_name(remote: Any) -> None:
    ctx = context("greet")
    op = FlyteExecuteOperator(task_id="greet", launch_plan="examples.greet", wait_for_completion=False)
    assert op.execute(ctx) == expected_name(ctx)
    execution = remote.wait(remote.fetch_execution(name=expected_name(ctx)), timeout=30, poll_interval=0.1)
    assert execution.outputs.to_dict() == {"greeting": "hello world"}


def test_sensor_poke_mode(remote: Any, examples: dict[str, Any]) -> None:
    name = remote.execute(examples["examples.slow"], {"seconds": 0.5}, execution_name=f"poke-{time.time_ns() % 10**9}").id.name
    sensor = FlyteExecutionSensor(task_id="wait", execution_name=name, deferrable=False, poke_interval=0.2, timeout=30)
    ctx = context("wait")
    assert sensor.poke(ctx) is False
    time.sleep(1.5)
    assert sensor.poke(ctx) is True


def test_sensor_reports_failure(remote: Any, examples: dict[str, Any]) -> None:
    """A terminal failed execution fails the (deferrable) sensor at once: it never defers, never succeeds."""
    name = remote.execute(examples["examples.fail"], {"message": "nope"}, execution_name=f"sfail-{time.time_ns() % 10**9}").id.name
    remote.wait(remote.fetch_execution(name=name), timeout=30, poll_interval=0.1)
    sensor = FlyteExecutionSensor(task_id="wait", execution_name=name, deferrable=True, poke_interval=0.2)
    with pytest.raises(FlyteExecutionFailed, match="nope"):
        sensor.execute(context("wait"))


def test_signal_set_input_not_reached_fails_clearly(remote: Any, examples: dict[str, Any]) -> None:
    name = remote.execute(examples["examples.slow"], {"seconds": 5.0}, execution_name=f"nogate-{time.time_ns() % 10**9}").id.name
    op = FlyteSignalOperator(task_id="sig", execution_name=name, signal_id="review", action="approve")
    with pytest.raises(AirflowFailException, match="not reached yet"):
        op.execute(context("sig"))
    remote.terminate(name, "cleanup", project="flytesnacks", domain="development")


def test_signal_waits_deferrably_then_approves(remote: Any, examples: dict[str, Any]) -> None:
    name = remote.execute(examples["examples.late_approval"], {"seconds": 1.0},
                          execution_name=f"gate-{time.time_ns() % 10**9}").id.name
    op = FlyteSignalOperator(task_id="sig", execution_name=name, signal_id="review", action="approve",
                             wait_for_gate=True, deferrable=True, poll_interval=0.2)
    ctx = context("sig")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)  # the gate comes after a 1 s task: not reached yet

    async def first() -> Any:
        return (await deferred.value.trigger.run().__anext__()).payload

    result = op.execute_complete(ctx, event=asyncio.run(first()))
    assert result == {"execution_name": name, "signal_id": "review", "action": "approve"}
    execution = remote.wait(remote.fetch_execution(name=name), timeout=30, poll_interval=0.1)
    assert execution.outputs.to_dict() == {"slept": 1.0}


def test_backfill_explicit_dates_sync(remote: Any) -> None:
    import datetime as dt

    op = FlyteBackfillOperator(task_id="bf", launch_plan="examples.daily", from_date="2024-05-01T00:00:00Z",
                               to_date="2024-05-04T00:00:00Z", deferrable=False, poll_interval=0.2)
    ctx = context("bf")
    name = op.execute(ctx)
    assert name == expected_name(ctx)
    children = [e for e in remote.list_executions(limit=500)
                if e.spec.metadata.parent_node_execution.execution_id.name == name]
    assert len(children) == 2  # 05-02 and 05-03: ticks after the start, before the end
    assert dt  # imported for clarity of the dates above


def test_signal_set_input_gives_the_gate_its_value(remote: Any, examples: dict[str, Any]) -> None:
    name = remote.execute(examples["examples.input_gate"], {}, execution_name=f"input-{time.time_ns() % 10**9}").id.name
    op = FlyteSignalOperator(task_id="sig", execution_name=name, signal_id="threshold", action="set_input",
                             value=41, wait_for_gate=True, deferrable=False, poll_interval=0.2, timeout=30)
    assert op.execute(context("sig"))["action"] == "set_input"
    execution = remote.wait(remote.fetch_execution(name=name), timeout=30, poll_interval=0.1)
    assert execution.outputs.to_dict() == {"result": 42}


def test_signal_reject_fails_the_gate(remote: Any, examples: dict[str, Any]) -> None:
    name = remote.execute(examples["examples.approval"], {"x": 2}, execution_name=f"rej-{time.time_ns() % 10**9}").id.name
    op = FlyteSignalOperator(task_id="sig", execution_name=name, signal_id="review", action="reject",
                             wait_for_gate=True, deferrable=False, poll_interval=0.2, timeout=30)
    op.execute(context("sig"))
    execution = remote.wait(remote.fetch_execution(name=name), timeout=30, poll_interval=0.1)
    assert execution.phase_name == "FAILED" and execution.closure.error.code == "ReceivedRejectSignal"


def test_every_execution_option_reaches_the_execution_spec(remote: Any) -> None:
    ctx = context("greet")
    op = FlyteExecuteOperator(
        task_id="greet", launch_plan="examples.greet", wait_for_completion=False,
        labels={"team": "ml"}, annotations={"owner": "airflow"}, envs={"STAGE": "test"}, tags=["nightly", "af"],
        raw_output_prefix="file:///tmp/flyte-raw-out", max_parallelism=3, service_account="flyte-runner",
        overwrite_cache=True, interruptible=True, cluster_pool="gpu-pool", execution_cluster_label="east",
        notifications=[{"phases": ["failed", "TIMED_OUT"], "slack": ["#alerts"]},
                       {"phases": ["SUCCEEDED"], "email": "team@example.com"}],
    )
    name = op.execute(ctx)
    spec = remote.fetch_execution(name=name).spec
    assert dict(spec.labels.values) == {"team": "ml"} and dict(spec.annotations.values) == {"owner": "airflow"}
    assert {kv.key: kv.value for kv in spec.envs.values} == {"STAGE": "test"}
    assert list(spec.tags) == ["nightly", "af"]
    assert spec.raw_output_data_config.output_location_prefix == "file:///tmp/flyte-raw-out"
    assert spec.max_parallelism == 3 and spec.security_context.run_as.k8s_service_account == "flyte-runner"
    assert spec.overwrite_cache and spec.interruptible is True
    assert spec.cluster_assignment.cluster_pool_name == "gpu-pool" and spec.execution_cluster_label.value == "east"
    notes = spec.notifications.notifications
    assert [(n.WhichOneof("type"), list(n.phases)) for n in notes] == [("slack", [6, 8]), ("email", [4])]
    assert list(notes[0].slack.recipients_email) == ["#alerts"]
    assert list(notes[1].email.recipients_email) == ["team@example.com"]


@pytest.fixture(scope="module")
def echo_tasks(sandbox: Any, examples: dict[str, Any]) -> dict[str, str]:
    """Single-task entities whose output is a file / a structured dataset (echoing their input)."""
    from flyteidl.core import types_pb2

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config
    from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task

    blob = types_pb2.LiteralType(blob=types_pb2.BlobType(format="csv", dimensionality=types_pb2.BlobType.SINGLE))
    dataset = types_pb2.LiteralType(structured_dataset_type=types_pb2.StructuredDatasetType(format="parquet"))
    names = {"file": "ops_tests.echo_file", "dataset": "ops_tests.echo_dataset"}
    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), "flytesnacks", "development") as client:
        for kind, literal_type in (("file", blob), ("dataset", dataset)):
            client.register_task(inprocess_task(
                names[kind], f"{BUILTINS}:echo", {"x": literal_type}, {"o0": literal_type},
                version="v1", project="flytesnacks", domain="development",
            ))
    return names


def test_task_by_name_returns_files_and_datasets_as_uris(echo_tasks: dict[str, str], tmp_path: Any) -> None:
    import json
    import urllib.parse
    from pathlib import Path

    local = tmp_path / "rows.csv"
    local.write_text("a,b\n1,2\n")
    op = FlyteExecuteOperator(task_id="file", task=echo_tasks["file"], inputs={"x": str(local)}, deferrable=False,
                              poll_interval=0.2)
    result = op.execute(context("file"))
    uri = result["o0"]
    assert isinstance(uri, str) and uri.startswith("flytesandbox:///") and uri.endswith(".csv")
    assert Path(urllib.parse.urlparse(uri).path).read_text() == "a,b\n1,2\n"  # uploaded, echoed, readable
    op = FlyteExecuteOperator(task_id="ds", task=echo_tasks["dataset"], version="v1",
                              inputs={"x": "s3://bucket/table.parquet"}, deferrable=True, poll_interval=0.2)
    result = run_deferred(op, context("ds"))
    assert result == {"o0": "s3://bucket/table.parquet"}
    assert json.loads(json.dumps(result)) == result


def test_deferrable_defaults_to_airflows_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    def made() -> list[bool]:
        return [
            FlyteExecuteOperator(task_id="e", launch_plan="lp").deferrable,
            FlyteExecutionSensor(task_id="s", execution_name="x").deferrable,
            FlyteSignalOperator(task_id="g", execution_name="x", signal_id="s").deferrable,
            FlyteBackfillOperator(task_id="b", launch_plan="lp").deferrable,
        ]

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert made() == [True] * 4
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert made() == [False] * 4
    assert FlyteExecuteOperator(task_id="e", launch_plan="lp", deferrable=True).deferrable is True


def test_cancel_previous_runs_terminates_only_earlier_runs_of_the_same_task(remote: Any, examples: Any) -> None:
    def start(task_id: str, run_id: str, map_index: int = -1) -> str:
        ctx = context(task_id, run_id=run_id)
        ctx["ti"].map_index = map_index
        op = FlyteExecuteOperator(task_id=task_id, launch_plan="examples.slow", inputs={"seconds": 60.0},
                                  deferrable=True, cancel_previous_runs=True)
        with pytest.raises(TaskDeferred):
            op.execute(ctx)
        return str(ctx["ti"].xcoms["flyte_execution_name"])

    def phase(name: str) -> str:
        return str(remote.fetch_execution(name=name).phase_name)

    earlier = start("slow_cancel", f"r1-{time.time_ns()}")
    other_task = start("slow_other", f"r1-{time.time_ns()}")
    unlabeled = remote.execute(examples["examples.slow"], {"seconds": 60.0}).id.name
    run_2 = f"r2-{time.time_ns()}"
    first_index = start("slow_cancel", run_2, map_index=0)
    assert remote.wait(remote.fetch_execution(name=earlier), timeout=30, poll_interval=0.1).phase_name == "ABORTED"
    cause = remote.fetch_execution(name=earlier).closure.abort_metadata.cause
    assert f"superseded by Airflow run {run_2}" in cause
    second_index = start("slow_cancel", run_2, map_index=1)  # a sibling of the same run is left alone
    labels = dict(remote.fetch_execution(name=second_index).spec.labels.values)
    assert set(labels) == {"airflow-task-key", "airflow-run-key"}
    try:
        assert {phase(n) for n in (other_task, unlabeled, first_index, second_index)} <= {"UNDEFINED", "RUNNING"}
    finally:
        for name in (other_task, unlabeled, first_index, second_index):
            remote.terminate(name, "test cleanup")
