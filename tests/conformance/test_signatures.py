"""Every FlyteRemote member of flytekit 1.16 that docs/client.md lists as supported takes flytekit's parameters,
in flytekit's positions; the ones listed as not supported are really absent."""

from __future__ import annotations

import inspect

import pytest

pytest.importorskip("flytekit")

#: supported with flytekit's own signature (the docs table)
SAME_SIGNATURE = [
    "__init__",
    "fetch_task",
    "fetch_workflow",
    "fetch_launch_plan",
    "fetch_execution",
    "fetch_active_launchplan",
    "fetch_task_lazy",
    "fetch_workflow_lazy",
    "register_task",
    "register_workflow",
    "register_launch_plan",
    "fast_register_workflow",
    "register_script",
    "raw_register",
    "execute",
    "wait",
    "sync",
    "sync_execution",
    "terminate",
    "list_signals",
    "approve",
    "reject",
    "set_input",
    "set_signal",
    "recent_executions",
    "launch_backfill",
    "upload_file",
    "fast_package",
    "download",
    "get",
    "list_projects",
    "get_domains",
    "list_tasks_by_version",
    "get_execution_metrics",
    "for_endpoint",
    "auto",
    "for_sandbox",
    "activate_launchplan",
    "deactivate_launchplan",
    "generate_console_url",
    "generate_console_http_domain",
    "get_extra_headers_for_protocol",
]
#: aliases of execute (flytekit's per-kind entry points): every flytekit keyword is accepted
EXECUTE_ALIASES = [
    "execute_local_task",
    "execute_local_workflow",
    "execute_local_launch_plan",
    "execute_reference_task",
    "execute_reference_workflow",
    "execute_reference_launch_plan",
    "execute_remote_task_lp",
    "execute_remote_wf",
]
NOT_SUPPORTED = [
    "client",
    "context",
    "remote_context",
    "file_access",
    "find_launch_plan",
    "find_launch_plan_for_node",
    "sync_node_execution",
    "sync_task_execution",
]
INSTANCE_ATTRIBUTES = ("config", "default_project", "default_domain", "interactive_mode_enabled")


def _params(fn: object) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(fn).parameters.values() if p.name not in ("self", "cls")]  # type: ignore[arg-type]


def test_every_public_member_is_accounted_for() -> None:
    from flytekit.remote import FlyteRemote as Theirs

    public = {n for n in dir(Theirs) if not n.startswith("_")}
    listed = set(SAME_SIGNATURE + EXECUTE_ALIASES + NOT_SUPPORTED) | set(INSTANCE_ATTRIBUTES)
    assert public <= listed, sorted(public - listed)


@pytest.mark.parametrize("name", SAME_SIGNATURE)
def test_flytekit_parameters_in_flytekit_positions(name: str) -> None:
    from flytekit.remote import FlyteRemote as Theirs

    from airflow_provider_flyte.remote import AsyncFlyteRemote, FlyteRemote

    theirs = [
        p.name for p in _params(getattr(Theirs, name)) if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in _params(getattr(Theirs, name)))
    for client in (FlyteRemote, AsyncFlyteRemote):
        ours = [p.name for p in _params(getattr(client, name)) if p.kind == p.POSITIONAL_OR_KEYWORD]
        assert ours[: len(theirs)] == theirs, (name, ours, theirs)
        # flytekit's **kwargs (the gRPC channel's arguments, for the constructors) are taken too
        assert not takes_kwargs or any(p.kind == p.VAR_KEYWORD for p in _params(getattr(client, name))), name


@pytest.mark.parametrize("name", EXECUTE_ALIASES)
def test_execute_aliases_take_every_flytekit_keyword(name: str) -> None:
    from flytekit.remote import FlyteRemote as Theirs

    from airflow_provider_flyte.remote import FlyteRemote

    ours = {p.name for p in _params(getattr(FlyteRemote, name))}
    theirs = [p.name for p in _params(getattr(Theirs, name)) if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert theirs[:2] == ["entity", "inputs"] and set(theirs) <= ours, set(theirs) - ours


def test_unsupported_members_are_absent_and_attributes_present() -> None:
    from airflow_provider_flyte.remote import Config, FlyteRemote

    assert not [n for n in NOT_SUPPORTED if hasattr(FlyteRemote, n)]
    remote = FlyteRemote(Config.for_endpoint("127.0.0.1:1", insecure=True), "p", "d")
    assert all(hasattr(remote, a) for a in INSTANCE_ATTRIBUTES)
    remote.close()
