"""The blocking Flyte client, :class:`FlyteRemote`: every operation of :class:`~.base.RemoteBase`, run to completion
on a blocking gRPC channel. The API follows flytekit's ``FlyteRemote`` ("Executing Flyte Entities")."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar, cast

from airflow_provider_flyte.remote.base import EntityRef, RemoteBase
from airflow_provider_flyte.remote.base import bind_blocking as _blocking
from airflow_provider_flyte.remote.ops.call import Op
from airflow_provider_flyte.remote.transport import SyncTransport

T = TypeVar("T")


class FlyteRemote(RemoteBase):
    """Blocking Flyte client (drop-in for flytekit's ``FlyteRemote`` for registered entities).

    ``FlyteRemote(config, default_project=None, default_domain=None, data_upload_location="flyte://...")``;
    ``config`` is a :class:`Config` or a :class:`PlatformConfig` (default: :meth:`Config.auto`). Thread-safe; close
    it (or use it as a context manager) to release the channel.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport = SyncTransport(self.config.platform, self._auth, self._stats, self._channel_extras)

    # help() and inspect show the real parameters (flytekit's, in its order)
    __init__.__signature__ = inspect.signature(RemoteBase.__init__)  # type: ignore[attr-defined]

    def _run(self, op: Op[T]) -> T:
        return cast(T, self._transport.run(op))

    _run_blocking = _run

    def close(self) -> None:
        """Close the gRPC channel."""
        self._transport.close()

    def __enter__(self) -> FlyteRemote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    fetch_task = _blocking(RemoteBase._op_fetch_task)
    fetch_workflow = _blocking(RemoteBase._op_fetch_workflow)
    fetch_launch_plan = _blocking(RemoteBase._op_fetch_launch_plan)
    register_task = _blocking(RemoteBase._op_register_task)
    register_workflow = _blocking(RemoteBase._op_register_workflow)
    register_launch_plan = _blocking(RemoteBase._op_register_launch_plan)
    fast_register_workflow = _blocking(RemoteBase._op_fast_register_workflow)
    register_script = _blocking(RemoteBase._op_register_script)
    raw_register = _blocking(RemoteBase._op_raw_register)
    fetch_active_launchplan = _blocking(RemoteBase._op_fetch_active_launchplan)
    activate_launchplan = _blocking(RemoteBase._op_activate_launchplan)
    deactivate_launchplan = _blocking(RemoteBase._op_deactivate_launchplan)
    activate_launch_plan = _blocking(RemoteBase._op_activate_launch_plan)
    execute = _blocking(RemoteBase._op_execute)
    fetch_execution = _blocking(RemoteBase._op_fetch_execution)
    sync = _blocking(RemoteBase._op_sync)
    sync_execution = _blocking(RemoteBase._op_sync_execution)
    wait = _blocking(RemoteBase._op_wait)
    terminate = _blocking(RemoteBase._op_terminate)
    list_node_executions = _blocking(RemoteBase._op_list_node_executions)
    get_version = _blocking(RemoteBase._op_get_version)
    get_project = _blocking(RemoteBase._op_get_project)
    relaunch = _blocking(RemoteBase._op_relaunch)
    recover = _blocking(RemoteBase._op_recover)
    list_latest = _blocking(RemoteBase._op_list_latest)
    list_executions = _blocking(RemoteBase._op_list_executions)
    list_execution_protos = _blocking(RemoteBase._op_list_execution_protos)
    list_execution_rows = _blocking(RemoteBase._op_list_execution_rows)
    recent_executions = _blocking(RemoteBase._op_recent_executions)
    list_signals = _blocking(RemoteBase._op_list_signals)
    approve = _blocking(RemoteBase._op_approve)
    reject = _blocking(RemoteBase._op_reject)
    set_input = _blocking(RemoteBase._op_set_input)
    set_signal = set_input
    launch_backfill = _blocking(RemoteBase._op_launch_backfill)
    upload_file = _blocking(RemoteBase._op_upload_file)
    fast_package = _blocking(RemoteBase._op_fast_package)
    download = _blocking(RemoteBase._op_download)
    get = _blocking(RemoteBase._op_get)
    list_projects = _blocking(RemoteBase._op_list_projects)
    get_domains = _blocking(RemoteBase._op_get_domains)
    list_tasks_by_version = _blocking(RemoteBase._op_list_tasks_by_version)
    get_execution_metrics = _blocking(RemoteBase._op_get_execution_metrics)
    # flytekit's per-kind entry points: all are execute() (which tells the kinds apart), same keyword arguments
    execute_local_task = execute
    execute_local_workflow = execute
    execute_local_launch_plan = execute
    execute_reference_task = execute
    execute_reference_workflow = execute
    execute_reference_launch_plan = execute
    execute_remote_task_lp = execute
    execute_remote_wf = execute
    # fetched eagerly (flytekit's lazy entities defer the same RPC)
    fetch_task_lazy = fetch_task
    fetch_workflow_lazy = fetch_workflow


__all__ = ["EntityRef", "FlyteRemote", "RemoteBase"]
