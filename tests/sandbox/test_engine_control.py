"""Engine: parallelism, retries, timeouts, failure policies, abort and shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from airflow_provider_flyte.sandbox.inprocess import RetryableError
from tests.sandbox.test_engine_support import FLOAT, INT, Harness, lit, task, wf_id

MOD = "tests.sandbox.test_engine_control"
_running = {"now": 0, "max": 0}


async def probe(x: int) -> int:
    """Records how many probes run at once."""
    _running["now"] += 1
    _running["max"] = max(_running["max"], _running["now"])
    try:
        await asyncio.sleep(0.05)
    finally:
        _running["now"] -= 1
    return x


def system_flaky() -> int:
    from airflow_provider_flyte.sandbox.inprocess import current_context

    if current_context().attempt == 0:
        raise RetryableError("transient")
    return current_context().attempt


SLEEP = task("sleep", "sleep_seconds", {"seconds": FLOAT}, {"o0": FLOAT})
FAIL = task("fail", "fail", {}, {})
FLAKY = task("flaky", "fail_until_attempt", {"attempt": INT}, {"o0": INT}, retries=2)


def sleep_node(node_id: str, seconds: float, **kw: object) -> object:
    return specs.task_node(node_id, SLEEP.id, {"seconds": lit(seconds)}, **kw)  # type: ignore[arg-type]


async def test_max_parallelism_limits_concurrent_task_nodes(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    p = task("probe", f"{MOD}:probe", {"x": INT}, {"o0": INT})
    nodes = [specs.task_node(f"n{i}", p.id, {"x": lit(i)}) for i in range(6)]
    wf = specs.workflow_template(wf_id("par"), specs.interface({}, {}), nodes)
    _running["max"] = 0
    final, _job = await h.execute(wf, [p], max_parallelism=2)
    assert final.phase == 4
    assert _running["max"] == 2
    _running["max"] = 0
    final, _ = await h.execute(wf, [p])  # 0 = unlimited
    assert _running["max"] == 6


async def test_recoverable_errors_are_retried_with_new_attempts(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("retry"),
        specs.interface({}, {"o": INT}),
        [specs.task_node("n0", FLAKY.id, {"attempt": lit(2)})],
        {"o": binding_from_promise("n0", "o0")},
    )
    final, job = await h.execute(wf, [FLAKY])
    name = job.execution_id.name
    assert h.outputs(final) == {"o": 2}
    assert h.task_phases(name, "n0") == [
        (0, "QUEUED"),
        (0, "RUNNING"),
        (0, "RETRYABLE_FAILED"),
        (1, "QUEUED"),
        (1, "RUNNING"),
        (1, "RETRYABLE_FAILED"),
        (2, "QUEUED"),
        (2, "RUNNING"),
        (2, "SUCCEEDED"),
    ]
    assert h.node_phases(name, "n0") == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert h.nodes(name, "n0")[-1].output_uri.endswith("/n0/2/outputs.pb")


async def test_retries_exhausted_fail_the_workflow(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("retry2"),
        specs.interface({}, {}),
        [specs.task_node("n0", FLAKY.id, {"attempt": lit(5)}, retries=1)],  # node retries override the task's
    )
    final, job = await h.execute(wf, [FLAKY])
    assert h.task_phases(job.execution_id.name, "n0")[-1] == (1, "FAILED")
    assert final.error.kind == 1 and "attempt 1 fails on purpose" in final.error.message


async def test_non_recoverable_error_is_not_retried(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    failing = task("failing", "fail", {"message": FLOAT}, {}, retries=3)
    failing.interface.inputs.variables["message"].type.simple = 3  # STRING
    wf = specs.workflow_template(
        wf_id("nr"), specs.interface({}, {}), [specs.task_node("n0", failing.id, {"message": lit("kaput")})]
    )
    final, job = await h.execute(wf, [failing])
    assert h.task_phases(job.execution_id.name, "n0") == [(0, "QUEUED"), (0, "RUNNING"), (0, "FAILED")]
    assert final.error.code == "USER:RuntimeError" and "kaput" in final.error.message
    assert h.wf_phases(job.execution_id.name) == ["RUNNING", "FAILING", "FAILED"]


async def test_recoverable_error_without_retries_fails_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    flaky = task("sysflaky", f"{MOD}:system_flaky", {}, {"o0": INT})
    wf = specs.workflow_template(wf_id("s"), specs.interface({}, {}), [specs.task_node("n0", flaky.id)])
    final, job = await h.execute(wf, [flaky])
    assert final.phase == 6
    assert h.task_phases(job.execution_id.name, "n0")[-1] == (0, "FAILED")


async def test_node_timeout_reports_timed_out(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(wf_id("to"), specs.interface({}, {}), [sleep_node("n0", 30, timeout=0.2)])
    final, job = await h.execute(wf, [SLEEP])
    name = job.execution_id.name
    assert h.node_phases(name, "n0") == ["QUEUED", "RUNNING", "TIMED_OUT"]
    assert h.task_phases(name, "n0") == [(0, "QUEUED"), (0, "RUNNING"), (0, "ABORTED")]
    assert final.phase == 6 and final.error.code == "Timeout"


async def test_task_timeout_fails_the_attempt_and_retries(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    slow = task("slow", "sleep_seconds", {"seconds": FLOAT}, {"o0": FLOAT}, retries=1, timeout=0.1)
    wf = specs.workflow_template(
        wf_id("tt"), specs.interface({}, {}), [specs.task_node("n0", slow.id, {"seconds": lit(30.0)})]
    )
    final, job = await h.execute(wf, [slow])
    assert [p for _, p in h.task_phases(job.execution_id.name, "n0")] == [
        "QUEUED",
        "RUNNING",
        "RETRYABLE_FAILED",
        "QUEUED",
        "RUNNING",
        "FAILED",
    ]
    assert final.error.code == "Timeout" and "0.1s" in final.error.message


async def test_fail_immediately_aborts_running_nodes(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("fi"),
        specs.interface({}, {}),
        [sleep_node("slow", 30), specs.task_node("bad", FAIL.id), sleep_node("after", 0, upstream=["bad"])],
    )
    final, job = await h.execute(wf, [SLEEP, FAIL])
    name = job.execution_id.name
    assert final.phase == 6 and final.error.code == "USER:RuntimeError"
    assert h.node_phases(name, "slow")[-1] == "ABORTED"
    assert h.task_phases(name, "slow")[-1] == (0, "ABORTED")
    assert h.node_phases(name, "after") == []
    assert h.node_phases(name, "end-node") == []


async def test_fail_after_executable_nodes_complete(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("fa"),
        specs.interface({}, {}),
        [
            sleep_node("slow", 0.2),
            specs.task_node("bad", FAIL.id),
            sleep_node("after_slow", 0, upstream=["slow"]),
            sleep_node("after_bad", 0, upstream=["bad"]),
        ],
        failure_policy="FAIL_AFTER_EXECUTABLE_NODES_COMPLETE",
    )
    final, job = await h.execute(wf, [SLEEP, FAIL])
    name = job.execution_id.name
    assert final.phase == 6 and final.error.code == "USER:RuntimeError"
    assert h.node_phases(name, "slow")[-1] == "SUCCEEDED"
    assert h.node_phases(name, "after_slow")[-1] == "SUCCEEDED"
    assert h.node_phases(name, "after_bad") == []


async def test_abort_reports_nodes_tasks_and_workflow_aborted(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("ab"), specs.interface({}, {}), [sleep_node("n0", 30), sleep_node("n1", 30)]
    )
    job = h.job(h.compile(wf, [SLEEP]))
    await h.engine.start(job)
    await asyncio.sleep(0.1)
    assert h.engine.is_running(job.execution_id)
    await h.engine.abort(job.execution_id, "user asked")
    name = job.execution_id.name
    assert h.wf_phases(name) == ["RUNNING", "ABORTED"]
    for n in ("n0", "n1"):
        assert h.node_phases(name, n)[-1] == "ABORTED"
        assert h.nodes(name, n)[-1].error.message == "user asked"
        assert h.task_phases(name, n)[-1] == (0, "ABORTED")
    assert not h.engine.is_running(job.execution_id)
    await h.engine.abort(job.execution_id, "again")  # no-op once finished
    assert h.wf_phases(name) == ["RUNNING", "ABORTED"]


async def test_shutdown_cancels_silently(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(wf_id("sd"), specs.interface({}, {}), [sleep_node("n0", 30)])
    job = h.job(h.compile(wf, [SLEEP]))
    await h.engine.start(job)
    await asyncio.sleep(0.05)
    count = len(h.node_events) + len(h.workflow_events) + len(h.task_events)
    await h.engine.shutdown()
    assert len(h.node_events) + len(h.workflow_events) + len(h.task_events) == count
    assert not h.engine.is_running(job.execution_id)


async def test_many_executions_run_concurrently_each_with_its_own_result(tmp_path: Path) -> None:
    """200 executions on one engine at once (speed is measured in benchmarks/bench_sandbox.py, not here)."""
    h = Harness(tmp_path)
    add = task("add", "add", {"a": INT, "b": INT}, {"o0": INT})
    wf = specs.workflow_template(
        wf_id("fast"),
        specs.interface({"a": INT}, {"o": INT}),
        [specs.task_node("n0", add.id, {"a": binding_from_promise("", "a"), "b": lit(1)})],
        {"o": binding_from_promise("n0", "o0")},
    )
    closure = h.compile(wf, [add])
    jobs = [h.job(closure, specs_inputs(i)) for i in range(200)]
    finals = await asyncio.gather(*(h.run(j) for j in jobs))
    assert [h.outputs(f)["o"] for f in finals] == [i + 1 for i in range(200)]


def specs_inputs(i: int) -> object:
    from tests.sandbox.test_engine_support import lmap

    return lmap(a=i)
