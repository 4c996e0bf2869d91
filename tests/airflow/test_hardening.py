"""Hardening of the Airflow layer (issue 10, items 3 and 8): the deadline's TerminateExecution is retried and its
failure reported clearly, a passed deadline creates nothing, the first status check comes soon after creation,
and a task that fails before creating an execution reads no missing XCom while its links are built."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from flyteidl.service import admin_pb2

from airflow_provider_flyte.operators.flyte import FlyteExecuteOperator, FlyteExecutionTimeout
from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.testing import SandboxThread
from tests.airflow.conftest import conn_uri
from tests.airflow.test_operators import context, expected_name, run_deferred

ADMIN_METHODS = frozenset(m.name for m in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods)


@pytest.fixture
def faulty_conn(fresh_sandbox: Callable[..., SandboxThread]) -> Iterator[Callable[..., tuple[str, Any]]]:
    """A sandbox whose ``TerminateExecution`` fails (fraction, seed), with the examples and a connection to it."""
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config

    remotes: list[Any] = []

    def start(fraction: float, seed: int = 0) -> tuple[str, Any]:
        faults = FaultSettings(
            unavailable_fraction=fraction, seed=seed, exempt_methods=ADMIN_METHODS - {"TerminateExecution"}
        )
        sb = fresh_sandbox(faults=faults)
        remote = FlyteRemote(Config.for_sandbox(sb.endpoint), default_project="flytesnacks", default_domain="development")
        remotes.append(remote)
        register_examples(remote)
        os.environ["AIRFLOW_CONN_FLYTE_FAULTY"] = conn_uri(sb.endpoint)
        return "flyte_faulty", remote

    yield start
    os.environ.pop("AIRFLOW_CONN_FLYTE_FAULTY", None)
    for remote in remotes:
        remote.close()


def _slow(conn_id: str, deferrable: bool, **kwargs: Any) -> FlyteExecuteOperator:
    return FlyteExecuteOperator(task_id="slow", launch_plan="examples.slow", inputs={"seconds": 30.0},
                                flyte_conn_id=conn_id, deferrable=deferrable, **kwargs)


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_failing_terminate_at_the_deadline_is_reported_clearly(faulty_conn: Any, deferrable: bool) -> None:
    conn_id, remote = faulty_conn(1.0)
    ctx = context("slow")
    op = _slow(conn_id, deferrable, poll_interval=0.2, timeout=1)
    with pytest.raises(FlyteExecutionTimeout) as info:
        run_deferred(op, ctx) if deferrable else op.execute(ctx)
    text = str(info.value)
    assert f"terminating Flyte execution flytesnacks/development/{expected_name(ctx)} failed 5 times" in text
    assert "it may still be running" in text and "starting" not in text
    assert remote.fetch_execution(name=expected_name(ctx)).phase_name == "RUNNING"  # true: it was not terminated


def test_a_transiently_failing_terminate_is_retried(faulty_conn: Any) -> None:
    conn_id, remote = faulty_conn(0.5, seed=3)  # seed 3: the first TerminateExecution fails, the second passes
    ctx = context("slow")
    with pytest.raises(FlyteExecutionTimeout, match="it was terminated"):
        _slow(conn_id, False, poll_interval=0.2, timeout=1).execute(ctx)
    execution = remote.wait(remote.fetch_execution(name=expected_name(ctx)), timeout=10, poll_interval=0.1)
    assert execution.phase_name == "ABORTED"


@pytest.mark.usefixtures("flyte_conn")
@pytest.mark.parametrize("deferrable", [False, True])
def test_a_deadline_that_already_passed_creates_nothing(remote: Any, deferrable: bool) -> None:
    ctx = context("slow")
    ctx["ti"].start_date = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    op = _slow("flyte_default", deferrable, execution_timeout=dt.timedelta(minutes=5))
    with pytest.raises(FlyteExecutionTimeout, match=r"passed before Flyte execution .* was started; nothing was started"):
        op.execute(ctx)
    assert remote.list_executions(names=[expected_name(ctx)]) == []


def _finishes_within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()``'s result, in a thread; fails if it is not done after ``seconds`` (a bound far above the expected
    time, far below the poll interval the old code waited first)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"not done after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.mark.usefixtures("flyte_conn")
@pytest.mark.timeout(60)  # far above the expected time, far below the poll interval the old code waited first
def test_blocking_wait_checks_soon_after_creation() -> None:
    # in the test's own thread (pytest-timeout bounds it): Airflow 2's execute() guard is thread-local
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 1, "b": 2},
                              deferrable=False, poll_interval=600)
    assert op.execute(context("arith")) == {"total": 3, "squared": 9}


@pytest.mark.usefixtures("flyte_conn")
def test_deferred_wait_checks_soon_after_creation() -> None:
    op = FlyteExecuteOperator(task_id="arith", launch_plan="examples.arith", inputs={"a": 2, "b": 2},
                              deferrable=True, poll_interval=600)
    ctx = context("arith")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(ctx)
    trigger = deferred.value.trigger

    async def first() -> Any:
        gen = trigger.run()
        try:
            return (await gen.__anext__()).payload
        finally:
            await gen.aclose()

    event = _finishes_within(60, lambda: asyncio.run(first()))
    assert op.execute_complete(ctx, event=event) == {"total": 4, "squared": 16}


@pytest.mark.usefixtures("airflow_db", "flyte_conn")
def test_a_task_failing_before_creation_reads_no_missing_xcom(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from airflow_provider_flyte._compat import AIRFLOW_V_3
    from tests.airflow.test_example_dags import run_dag

    if not AIRFLOW_V_3:
        pytest.skip("Airflow 2 builds links in the webserver, from the database")
    _, states = run_dag("example_flyte_execute", run_conf={"a": "not a number"})
    assert states["arith"] == "failed"
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert "not a number" in text  # the task did run, and failed on its input before creating anything
    assert "XCom not found" not in text


def test_a_trigger_reports_the_real_state_across_an_auth_sandbox_restart(tmp_path: Path) -> None:
    """Issue 10, item 2: the sandbox (auth on) restarts with its token endpoint on another port while a trigger
    waits; the trigger finds the new endpoint and reports what happened to the execution (the restart failed it),
    not an ``error``."""
    import socket
    import urllib.parse

    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config, PlatformConfig
    from airflow_provider_flyte.sandbox.config import AuthSettings, SandboxConfig
    from airflow_provider_flyte.sandbox.testing import SandboxProcess
    from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    secret, port = "trigger-restart-secret", free_port()

    def config(http_port: int) -> SandboxConfig:
        return SandboxConfig(data_dir=tmp_path, port=port, http_port=http_port,
                             auth=AuthSettings(enabled=True, client_secret=secret))

    first = SandboxProcess(config(free_port())).start()
    second: SandboxProcess | None = None
    client = Config(platform=PlatformConfig(endpoint=first.endpoint, insecure=True, auth_mode="client_credentials",
                                            client_id=AuthSettings.client_id, client_secret=secret))
    os.environ["AIRFLOW_CONN_FLYTE_RESTART"] = (
        f"flyte://{AuthSettings.client_id}:{urllib.parse.quote(secret, safe='')}@{first.endpoint}"
        "?insecure=true&project=flytesnacks&domain=development"
    )
    try:
        with FlyteRemote(client, default_project="flytesnacks", default_domain="development") as remote:
            lps = register_examples(remote)
            name = remote.execute(lps["examples.slow"], {"seconds": 60.0}).id.name
        trigger = FlyteExecutionTrigger(name, "flytesnacks", "development", flyte_conn_id="flyte_restart",
                                        poll_interval=0.2)
        box: dict[str, Any] = {}

        async def first_event() -> Any:
            gen = trigger.run()
            try:
                return (await asyncio.wait_for(gen.__anext__(), 120)).payload
            finally:
                await gen.aclose()

        waiting = threading.Thread(target=lambda: box.update(event=asyncio.run(first_event())), daemon=True)
        waiting.start()
        time.sleep(1.5)  # the trigger has polled (and cached a token and the token endpoint)
        first.stop()
        second = SandboxProcess(config(free_port())).start()
        assert second.http_endpoint != first.http_endpoint
        waiting.join(120)
        event = box["event"]
        assert event["status"] == "failed", event
        assert event["error"]["code"] == "SandboxRestarted"
    finally:
        os.environ.pop("AIRFLOW_CONN_FLYTE_RESTART", None)
        if second is not None:
            second.stop()
        first.stop()
