"""Hardening of execute/wait (issue 10, items 4 and 8; issue 13's wait polling): the execution's own phase decides
the outcome, node syncing is best effort, every error raised once an execution may exist carries its id, bad
arguments are refused before any RPC, and the default poll schedule stays cheap."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flyteidl.service import admin_pb2

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.remote.errors import (
    FlyteError,
    FlyteInvalidInputError,
    FlyteSystemUnavailableError,
)
from airflow_provider_flyte.remote.ops.waiting import WaitClock
from airflow_provider_flyte.sandbox.config import FaultSettings
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"
ADMIN_METHODS = frozenset(m.name for m in admin_pb2.DESCRIPTOR.services_by_name["AdminService"].methods)


def _only_faulting(*methods: str) -> FaultSettings:
    """Every call of ``methods`` fails with UNAVAILABLE; nothing else is touched."""
    return FaultSettings(unavailable_fraction=1.0, exempt_methods=ADMIN_METHODS - set(methods) | {"UserInfo"})


def _add_task(remote: FlyteRemote) -> Any:
    v = "h" + uuid.uuid4().hex[:8]
    return remote.register_task(
        inprocess_task("hard.add", f"{BUILTINS}:add", inputs={"a": int, "b": int}, outputs={"o0": int}, version=v)
    )


def test_failed_node_reads_do_not_fail_a_succeeded_execution(
    fresh_sandbox: Callable[..., SandboxThread], caplog: pytest.LogCaptureFixture
) -> None:
    sb = fresh_sandbox(faults=_only_faulting("ListNodeExecutions"))
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project=P, default_domain=D) as remote:
        task = _add_task(remote)
        with caplog.at_level(logging.WARNING):
            done = remote.execute(task, inputs={"a": 2, "b": 3}, wait=True)
        assert done.is_successful and done.outputs["o0"] == 5
        assert "reading its node executions failed" in caplog.text
        with pytest.raises(FlyteError, match="could not be read") as info:
            _ = done.node_executions
        assert info.value.execution_id.name == done.id.name
        assert done.id.name in str(info.value)


def test_errors_after_creation_carry_the_execution_id(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    sb = fresh_sandbox(faults=_only_faulting("GetExecution"))
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project=P, default_domain=D) as remote:
        task = _add_task(remote)
        with pytest.raises(FlyteSystemUnavailableError) as info:
            remote.execute(task, inputs={"a": 1, "b": 1}, execution_name="hard-id-1", wait=True)
        exc = info.value
        assert (exc.execution_id.project, exc.execution_id.domain, exc.execution_id.name) == (P, D, "hard-id-1")
        assert "execution flytesnacks:development:hard-id-1" in str(exc)
        # the caller knows what exists: exactly one execution of that name, nothing duplicated
        assert [e.id.name for e in remote.list_executions(limit=100)] == ["hard-id-1"]


def test_create_failure_carries_the_chosen_name(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    sb = fresh_sandbox(faults=_only_faulting("CreateExecution"))
    with FlyteRemote(Config.for_sandbox(sb.endpoint), default_project=P, default_domain=D) as remote:
        task = _add_task(remote)
        with pytest.raises(FlyteSystemUnavailableError) as info:
            remote.execute(task, inputs={"a": 1, "b": 1}, execution_name="hard-id-2")
        assert info.value.execution_id.name == "hard-id-2"


def test_bad_wait_and_input_arguments_are_refused_before_any_rpc(sandbox: SandboxThread) -> None:
    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), default_project=P, default_domain=D) as remote:
        task = _add_task(remote)
        done = remote.execute(task, inputs={"a": 1, "b": 1}, wait=True)
        remote.rpc_stats.reset()
        with pytest.raises(ValueError, match="timeout must be >= 0"):
            remote.wait(done, timeout=-5)
        with pytest.raises(ValueError, match="poll_interval must be a positive number"):
            remote.wait(done, poll_interval=-1)
        with pytest.raises(ValueError, match="poll_interval must be a positive number"):
            remote.wait(done, poll_interval=0)
        with pytest.raises(FlyteInvalidInputError, match="inputs must be a dict of input name to value, got a list"):
            remote.execute(task, inputs=[1, 2])  # type: ignore[arg-type]
        assert remote.rpc_stats.calls == 0


def test_default_wait_schedule_polls_a_one_second_execution_at_most_six_times() -> None:
    clock = WaitClock(None, None)
    sleeps = [clock.next_sleep() for _ in range(12)]
    assert sleeps[0] <= 0.05  # the first polls stay fast
    polls_at = [0.0]
    for sleep in sleeps:
        polls_at.append(polls_at[-1] + sleep)
    # an execution done 1 s (plus up to half a second of overhead) after creation is seen by the 6th poll
    assert polls_at[5] >= 1.5
    assert max(sleeps) == 5.0


def test_tls_mismatches_say_which_side_speaks_what(fresh_sandbox: Callable[..., SandboxThread], tmp_path: Any) -> None:
    from airflow_provider_flyte.sandbox.testing import make_tls_files

    plain = fresh_sandbox()
    with (
        FlyteRemote(Config.for_endpoint(plain.endpoint, insecure=False, rpc_retries=0)) as remote,
        pytest.raises(FlyteSystemUnavailableError, match="the server speaks plaintext: set insecure=true"),
    ):
        remote.get_version()
    tls = make_tls_files(tmp_path / "tls")
    secure = fresh_sandbox(tls_cert_file=tls.cert, tls_key_file=tls.key)
    with (
        FlyteRemote(Config.for_endpoint(secure.endpoint, insecure=True, rpc_retries=0)) as remote,
        pytest.raises(FlyteSystemUnavailableError, match="if it speaks TLS, set insecure=false"),
    ):
        remote.get_version()


@pytest.mark.parametrize(("text", "expected"), [("admin: flyte.example.com\n", "'admin' must be a mapping"),
                                                ("- admin\n", "must hold a yaml mapping")])
def test_config_file_with_a_non_mapping_admin_section_names_the_file(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    from airflow_provider_flyte.remote.errors import FlyteConfigError

    for var in ("FLYTECTL_CONFIG", "FLYTE_PLATFORM_URL", "FLYTE_PLATFORM_INSECURE"):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(FlyteConfigError, match=expected) as info:
        Config.auto(str(path))
    assert str(path) in str(info.value)


def test_the_database_is_private(fresh_sandbox: Callable[..., SandboxThread]) -> None:
    sb = fresh_sandbox()
    assert (sb.data_dir / "sandbox.db").stat().st_mode & 0o077 == 0
