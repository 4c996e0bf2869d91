"""flytekit's ``sync_execution(execution, entity_definition=None, sync_nodes=False, rpc_timeout=60 s)``: every RPC
of the sync has a deadline of at most ``rpc_timeout`` (flytekit's scoped gRPC deadline), on both faces."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from datetime import timedelta
from typing import Any

import pytest
from flyteidl.admin import execution_pb2
from flyteidl.service import admin_pb2

from airflow_provider_flyte.remote import AsyncFlyteRemote, Config, FlyteRemote
from airflow_provider_flyte.remote.errors import FlyteTimeoutError
from airflow_provider_flyte.remote.ops.call import ADMIN, Call, with_rpc_timeout
from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

ADMIN_METHODS = frozenset(m.name for m in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods)
P, D = "flytesnacks", "development"


def _slow_status_sandbox(fresh_sandbox: Callable[..., SandboxThread]) -> SandboxThread:
    """Every GetExecution answers after 0 to 2 s (seeded draws); nothing else is touched."""
    faults = FaultSettings(
        delay_fraction=1.0, max_delay_seconds=2.0, seed=13, exempt_methods=ADMIN_METHODS - {"GetExecution"}
    )
    return fresh_sandbox(faults=faults)


def _started(remote: FlyteRemote) -> Any:
    task = remote.register_task(
        inprocess_task(
            "sync.add", f"{BUILTINS}:add", inputs={"a": int, "b": int}, outputs={"o0": int}, version=uuid.uuid4().hex
        )
    )
    return remote.execute(task, {"a": 1, "b": 2})


def test_rpc_timeout_bounds_every_call_of_the_sync(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    sb = _slow_status_sandbox(fresh_sandbox)
    config = Config.for_sandbox(sb.endpoint, rpc_retries=1, retry_initial_backoff=0.01)
    with FlyteRemote(config, P, D) as remote:
        execution = _started(remote)
        with pytest.raises(FlyteTimeoutError, match="GetExecution") as info:
            remote.sync_execution(execution, rpc_timeout=timedelta(milliseconds=1))
        assert info.value.grpc_code == "DEADLINE_EXCEEDED"
        assert remote.rpc_stats.by_method["GetExecution"] >= 2  # the call and its retry, each cut at 1 ms
        remote.wait(execution, sync_nodes=False)
        # the default (60 s per RPC, as flytekit) and None (the config's) are well above the delays
        synced = remote.sync_execution(execution, sync_nodes=True)
        assert synced.is_done and synced.outputs["o0"] == 3 and synced.node_executions
        assert remote.sync_execution(execution, rpc_timeout=None).is_done


async def test_async_sync_execution_takes_rpc_timeout(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    sb = _slow_status_sandbox(fresh_sandbox)
    with FlyteRemote(Config.for_sandbox(sb.endpoint), P, D) as setup:
        name = _started(setup).id.name
    remote = AsyncFlyteRemote(Config.for_sandbox(sb.endpoint, rpc_retries=0), P, D)
    try:
        execution = await remote.fetch_execution(name=name)
        with pytest.raises(FlyteTimeoutError):
            await remote.sync_execution(execution, rpc_timeout=0.001)
        done = await remote.wait(execution)
        assert (await remote.sync_execution(done, rpc_timeout=30)).outputs["o0"] == 3
    finally:
        await remote.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entity_definition": object()}, "Entity definition arguments aren't supported"),
        ({"rpc_timeout": 0}, "rpc_timeout must be a positive number of seconds"),
        ({"rpc_timeout": timedelta(seconds=-1)}, "rpc_timeout must be a positive number of seconds"),
        ({"rpc_timeout": float("inf")}, "rpc_timeout must be a positive number of seconds"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(kwargs: dict[str, Any], message: str) -> None:
    with FlyteRemote(Config.for_endpoint("127.0.0.1:1", insecure=True), P, D) as remote:
        execution = remote._wrap(execution_pb2.Execution())
        with pytest.raises(ValueError, match=message):
            remote.sync_execution(execution, **kwargs)
        assert remote.rpc_count == 0


def _two_calls() -> Generator[Call, Any, tuple[Any, str]]:
    first = yield Call(ADMIN, "GetExecution", execution_pb2.WorkflowExecutionGetRequest(), True)
    try:
        yield Call(ADMIN, "ListNodeExecutions", execution_pb2.WorkflowExecutionGetRequest(), True, timeout=0.5)
    except FlyteTimeoutError as exc:
        return first, f"caught {exc}"
    return first, "answered"


def test_with_rpc_timeout_caps_calls_keeps_shorter_ones_and_passes_errors_in() -> None:
    wrapped = with_rpc_timeout(_two_calls(), 2.0)
    assert next(wrapped).timeout == 2.0  # the config's deadline is replaced
    assert wrapped.send("first answer").timeout == 0.5  # a call's own shorter deadline stays
    with pytest.raises(StopIteration) as stop:
        wrapped.throw(FlyteTimeoutError("too late"))
    assert stop.value.value == ("first answer", "caught too late")
    capped = with_rpc_timeout(_two_calls(), 0.1)
    next(capped)
    assert capped.send(None).timeout == 0.1
    unchanged = with_rpc_timeout(_two_calls(), None)
    assert next(unchanged).timeout is None
