"""Triggers over real gRPC against the sandbox: events, deadlines, restarts, shared polling, on_kill."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_flyte.triggers.flyte import FlyteExecutionTrigger, FlyteSignalTrigger
from airflow_provider_flyte.triggers.poller import REGISTRY

pytestmark = pytest.mark.usefixtures("flyte_conn")
P, D = "flytesnacks", "development"


def _start(remote: Any, examples: dict[str, Any], lp: str, inputs: dict[str, Any], name: str) -> str:
    return remote.execute(examples[lp], inputs, execution_name=name).id.name


def _unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns() % 10**12}"


async def _first_event(trigger: Any, timeout: float = 30.0) -> dict[str, Any]:
    gen = trigger.run()
    try:
        event = await asyncio.wait_for(gen.__anext__(), timeout)
    finally:
        await gen.aclose()
    return dict(event.payload)


def test_serialize_round_trips_through_airflow_serde() -> None:
    try:
        from airflow.sdk import serde
    except ImportError:  # Airflow 2
        from airflow.serialization import serde
    trigger = FlyteExecutionTrigger(
        execution_name="abc", project=P, domain=D, flyte_conn_id="flyte_default", poll_interval=2,
        deadline=1_900_000_000.5, url="http://x/console", log_node_progress=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_flyte.triggers.flyte.FlyteExecutionTrigger"
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in kwargs.values())
    restored = serde.deserialize(serde.serialize(kwargs))
    assert FlyteExecutionTrigger(**restored).serialize() == (classpath, kwargs)

    signal = FlyteSignalTrigger(execution_name="abc", project=P, domain=D, signal_id="review", deadline=None)
    classpath, kwargs = signal.serialize()
    assert FlyteSignalTrigger(**serde.deserialize(serde.serialize(kwargs))).serialize() == (classpath, kwargs)


async def test_success_event(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.arith", {"a": 1, "b": 2}, _unique("tok"))
    payload = await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=0.2))
    assert payload["status"] == "success" and payload["phase"] == "SUCCEEDED" and payload["execution_name"] == name


async def test_failure_event_carries_the_flyte_error(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.fail", {"message": "kaput"}, _unique("tfail"))
    payload = await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=0.2))
    assert payload["status"] == "failed" and payload["phase"] == "FAILED"
    assert payload["error"]["kind"] == "USER" and "kaput" in payload["error"]["message"]


async def test_aborted_is_a_failure(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("tabort"))
    remote.terminate(name, "stop it", project=P, domain=D)
    payload = await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=0.2))
    assert payload["status"] == "failed" and payload["phase"] == "ABORTED"
    assert payload["error"]["abort_cause"] == "stop it"


async def test_wall_clock_deadline_fires_timeout(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("tdead"))
    started = time.time()
    payload = await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=5, deadline=time.time() + 0.7))
    assert payload["status"] == "timeout" and "deadline" in payload["message"]
    assert time.time() - started < 3  # the deadline cuts the poll interval short
    assert remote.fetch_execution(name=name).phase_name == "RUNNING"  # the trigger never terminates on its own
    remote.terminate(name, "cleanup", project=P, domain=D)


async def test_deadline_already_passed_after_a_restart(remote: Any, examples: dict[str, Any]) -> None:
    """A deadline is absolute wall-clock time: a trigger recreated after it passed reports timeout at once."""
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("tpast"))
    payload = await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=5, deadline=time.time() - 1), 2)
    assert payload["status"] == "timeout"
    remote.terminate(name, "cleanup", project=P, domain=D)


async def test_missing_execution_is_an_error_event() -> None:
    payload = await _first_event(FlyteExecutionTrigger("nosuchexecution", P, D, poll_interval=0.1))
    assert payload["status"] == "error" and "does not exist" in payload["message"]


async def test_restart_resumes_polling_without_resubmitting(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 1.5}, _unique("trestart"))
    before = len(remote.list_executions(limit=1000))
    first = FlyteExecutionTrigger(name, P, D, poll_interval=0.2)
    task = asyncio.ensure_future(first.run().__anext__())
    await asyncio.sleep(0.5)
    task.cancel()  # the triggerer stops: cleanup only, no on_kill
    with pytest.raises(asyncio.CancelledError):
        await task
    _, kwargs = first.serialize()
    payload = await _first_event(FlyteExecutionTrigger(**kwargs))
    assert payload["status"] == "success"
    assert len(remote.list_executions(limit=1000)) == before


async def test_many_triggers_share_one_list_call_per_round(remote: Any, examples: dict[str, Any]) -> None:
    names = [_start(remote, examples, "examples.slow", {"seconds": 1.0}, _unique(f"tmany{i}")) for i in range(40)]
    triggers = [FlyteExecutionTrigger(n, P, D, poll_interval=0.3, log_node_progress=False) for n in names]
    gens = [t.run() for t in triggers]
    pending = [asyncio.ensure_future(g.__anext__()) for g in gens]
    await asyncio.sleep(0)
    pollers = REGISTRY.pollers()
    assert len(pollers) == 1
    poller = pollers[0]
    events = await asyncio.wait_for(asyncio.gather(*pending), 60)
    assert {e.payload["status"] for e in events} == {"success"}
    assert poller.rounds >= 1 and poller.rpc_count == poller.rounds  # one ListExecutions per round for all 40


async def test_on_kill_terminates_a_running_execution(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("tkill"))
    trigger = FlyteExecutionTrigger(name, P, D, poll_interval=0.2)
    task = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.5)
    task.cancel()
    await trigger.on_kill()  # Airflow 3.3: the user marked the deferred task failed
    execution = remote.wait(remote.fetch_execution(name=name), timeout=10, poll_interval=0.1)
    assert execution.phase_name == "ABORTED"


async def test_on_kill_never_acts_after_the_final_event(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("tdone"))
    trigger = FlyteExecutionTrigger(name, P, D, poll_interval=5, deadline=time.time() + 0.3)
    assert (await _first_event(trigger))["status"] == "timeout"
    await trigger.on_kill()
    assert remote.fetch_execution(name=name).phase_name == "RUNNING"
    remote.terminate(name, "cleanup", project=P, domain=D)


async def test_watching_trigger_never_terminates(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("twatch"))
    trigger = FlyteExecutionTrigger(name, P, D, poll_interval=0.2, terminate_on_kill=False)
    await trigger.on_kill()
    assert remote.fetch_execution(name=name).phase_name in ("RUNNING", "QUEUED", "UNDEFINED")
    remote.terminate(name, "cleanup", project=P, domain=D)


async def test_signal_trigger_fires_when_the_gate_is_reached(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.approval", {"x": 2}, _unique("tgate"))
    payload = await _first_event(FlyteSignalTrigger(name, P, D, poll_interval=0.2, signal_id="review"))
    assert payload["status"] == "success" and payload["signal_id"] == "review"
    remote.approve("review", name)


async def test_signal_trigger_fails_when_the_execution_ends_first(remote: Any, examples: dict[str, Any]) -> None:
    name = _start(remote, examples, "examples.arith", {"a": 1, "b": 1}, _unique("tnogate"))
    payload = await _first_event(FlyteSignalTrigger(name, P, D, poll_interval=0.2, signal_id="review"))
    assert payload["status"] == "failed" and "before its gate" in payload["message"]


async def test_invalid_connection_is_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FLYTE_BROKEN", "flyte://127.0.0.1:1?insecure=maybe")
    payload = await _first_event(FlyteExecutionTrigger("abc", P, D, flyte_conn_id="flyte_broken", poll_interval=0.1))
    assert payload["status"] == "error" and "'insecure' must be true or false" in payload["message"]


@pytest.mark.usefixtures("airflow_db")
async def test_before_airflow_33_cancellation_terminates_only_after_a_user_action(
    remote: Any, examples: dict[str, Any]
) -> None:
    """Airflow < 3.3 has no trigger on_kill: a cancelled trigger looks at its task instance's state."""
    from airflow_provider_flyte._compat import AIRFLOW_V_3, AIRFLOW_V_3_3_PLUS

    if AIRFLOW_V_3_3_PLUS or AIRFLOW_V_3:
        pytest.skip("Airflow 3.3+ cancels through BaseTrigger.on_kill (tested above and in standalone/)")
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from tests.airflow.test_example_dags import run_dag

    dr, _ = await asyncio.to_thread(run_dag, "example_flyte_execute")
    ti = dr.get_task_instance("arith")

    def set_state(state: str) -> None:
        with create_session() as session:
            session.query(TaskInstance).filter_by(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id).update(
                {"state": state}
            )

    async def cancel_running_trigger(name: str) -> None:
        trigger = FlyteExecutionTrigger(name, P, D, poll_interval=0.2)
        trigger.task_instance = ti
        task = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    name = _start(remote, examples, "examples.slow", {"seconds": 30.0}, _unique("t2restart"))
    await asyncio.to_thread(set_state, "deferred")  # a triggerer restart: the task is still deferred
    await cancel_running_trigger(name)
    assert remote.fetch_execution(name=name).phase_name == "RUNNING"
    await asyncio.to_thread(set_state, "failed")  # a user marked the deferred task failed
    await cancel_running_trigger(name)
    execution = await asyncio.to_thread(remote.wait, remote.fetch_execution(name=name), 10, 0.1)
    assert execution.phase_name == "ABORTED"


async def test_progress_logs_node_phases_as_they_change(
    remote: Any, examples: dict[str, Any], capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.INFO)
    name = _start(remote, examples, "examples.arith", {"a": 1, "b": 1}, _unique("tprog"))
    assert (await _first_event(FlyteExecutionTrigger(name, P, D, poll_interval=0.2)))["status"] == "success"
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert f"Flyte execution {P}/{D}/{name}: " in text
    assert f"{name}: node n0 " in text and f"{name}: node n1 " in text and "SUCCEEDED" in text
    quiet = _start(remote, examples, "examples.arith", {"a": 1, "b": 1}, _unique("tquiet"))
    assert (await _first_event(FlyteExecutionTrigger(quiet, P, D, poll_interval=0.2, log_node_progress=False)))
    out, err = capfd.readouterr()
    assert f"{quiet}: node " not in out + err + caplog.text


def _every_rpc_but(*slow: str) -> frozenset[str]:
    """Names of every Flyte Admin RPC except ``slow`` (for FaultSettings.exempt_methods)."""
    from flyteidl.service import admin_pb2, dataproxy_pb2, signal_pb2

    names = {
        m.name
        for module in (admin_pb2, dataproxy_pb2, signal_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for m in service.methods
    }
    assert set(slow) <= names
    return frozenset(names - set(slow))


async def test_a_slow_own_call_keeps_the_shared_client_open(fresh_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trigger's own call (signal or node listing) that outlasts the poll interval while no other trigger waits
    must not find the shared client closed under it."""
    from flyte_examples_registry import register_examples

    from airflow_provider_flyte.remote.client import FlyteRemote
    from airflow_provider_flyte.remote.config import Config
    from airflow_provider_flyte.sandbox.config import FaultSettings

    faults = FaultSettings(delay_fraction=1.0, max_delay_seconds=0.8, seed=3,
                           exempt_methods=_every_rpc_but("ListSignals", "ListNodeExecutions"))
    sb = fresh_sandbox(faults=faults)
    monkeypatch.setenv("AIRFLOW_CONN_FLYTE_SLOW", f"flyte://{sb.endpoint}?insecure=true")
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project=P, default_domain=D) as client:
        examples = await asyncio.to_thread(register_examples, client)
        gate = _start(client, examples, "examples.late_approval", {"seconds": 2.0}, _unique("tslowgate"))
        work = _start(client, examples, "examples.slow", {"seconds": 2.0}, _unique("tslownodes"))
        signal = FlyteSignalTrigger(gate, P, D, flyte_conn_id="flyte_slow", poll_interval=0.1, signal_id="review")
        payload = await _first_event(signal, 60)
        assert payload["status"] == "success" and payload["signal_id"] == "review", payload
        await asyncio.to_thread(client.approve, "review", gate)
        nodes = FlyteExecutionTrigger(work, P, D, flyte_conn_id="flyte_slow", poll_interval=0.1)
        assert (await _first_event(nodes, 60))["status"] == "success"


async def test_poller_round_costs_one_call_per_batch_without_empty_pages(
    remote: Any, examples: dict[str, Any]
) -> None:
    """600 waiting executions: two ListExecutions per round (batches of 500 + 100), none for a continuation page
    (a full page of 500 used to cost a third, empty, call)."""
    from airflow_provider_flyte.hooks.flyte import FlyteAsyncHook
    from airflow_provider_flyte.triggers.poller import ExecutionPoller, batch_size

    assert batch_size(600) == 500 and batch_size(5000) == 1250 and batch_size(10_000) == 2000
    tag = _unique("tbatch")
    names = [_start(remote, examples, "examples.slow", {"seconds": 30.0}, f"{tag}-{i}") for i in range(600)]
    poller = ExecutionPoller(("flyte_default", P, D), FlyteAsyncHook("flyte_default").get_remote, 0.05)
    statuses = await asyncio.wait_for(asyncio.gather(*(poller.next_status(n) for n in names)), 30)
    assert [s.name for s in statuses] == names and poller.rounds == 1
    assert poller.rpc_count == 2
    for name in names:
        remote.terminate(name, "cleanup", project=P, domain=D)


async def test_poller_wakes_a_waiter_with_since_only_on_a_change(remote: Any, examples: dict[str, Any]) -> None:
    from airflow_provider_flyte.hooks.flyte import FlyteAsyncHook
    from airflow_provider_flyte.triggers.poller import ExecutionPoller

    name = _start(remote, examples, "examples.slow", {"seconds": 1.0}, _unique("tsince"))
    poller = ExecutionPoller(("flyte_default", P, D), FlyteAsyncHook("flyte_default").get_remote, 0.1)
    first = await asyncio.wait_for(poller.next_status(name), 10)
    while first.phase != "RUNNING":
        first = await asyncio.wait_for(poller.next_status(name, since=first), 10)
    changed = poller.next_status(name, since=first)
    every_round = poller.next_status(name)
    await asyncio.wait_for(asyncio.shield(every_round), 10)
    assert not changed.done() or changed.result().phase != "RUNNING"  # an unchanged status is not news
    rounds = poller.rounds
    final = await asyncio.wait_for(changed, 10)
    assert final.phase == "SUCCEEDED" and poller.rounds > rounds


async def test_poller_reparses_an_unchanged_row_for_a_waiter_with_another_since(
    remote: Any, examples: dict[str, Any]
) -> None:
    """Rows byte-identical to the last round's are not parsed for the waiter holding the status remembered for
    them; a waiter with any other ``since`` (older, or an equal copy) is still judged on the parsed row."""
    import dataclasses

    from airflow_provider_flyte.hooks.flyte import FlyteAsyncHook
    from airflow_provider_flyte.triggers.poller import ExecutionPoller

    name = _start(remote, examples, "examples.slow", {"seconds": 60.0}, _unique("trows"))
    poller = ExecutionPoller(("flyte_default", P, D), FlyteAsyncHook("flyte_default").get_remote, 0.05)
    seen = await asyncio.wait_for(poller.next_status(name), 10)
    while seen.phase != "RUNNING":
        seen = await asyncio.wait_for(poller.next_status(name, since=seen), 10)
    older = dataclasses.replace(seen, updated_at=seen.updated_at - 1.0)
    news = await asyncio.wait_for(poller.next_status(name, since=older), 10)  # the row did not change: still news
    assert news.phase == "RUNNING" and news.updated_at != older.updated_at
    waiting = poller.next_status(name, since=dataclasses.replace(news))  # an equal copy: not news
    rounds = poller.rounds
    while poller.rounds < rounds + 3:
        await asyncio.sleep(0.02)
    assert not waiting.done()
    remote.terminate(name, "cleanup", project=P, domain=D)
    assert (await asyncio.wait_for(waiting, 30)).phase in ("ABORTING", "ABORTED")
