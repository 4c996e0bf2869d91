"""The asyncio Flyte client, :class:`AsyncFlyteRemote`: the execution and monitoring API as coroutines.

It runs the same sans-IO operations as :class:`~.client.FlyteRemote` on a ``grpc.aio`` channel; blocking local
work (token fetches, input conversion that uploads files, HTTP PUTs) runs in worker threads, never on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from airflow_provider_flyte.remote import names as _names
from airflow_provider_flyte.remote.client import EntityRef, RemoteBase, WaitClock, _bool_literal, _required
from airflow_provider_flyte.remote.models import (
    FlyteLaunchPlan,
    FlyteTask,
    FlyteWorkflow,
    FlyteWorkflowExecution,
    Options,
    Signal,
)
from airflow_provider_flyte.remote.ops import executions as exec_ops
from airflow_provider_flyte.remote.ops import signals as signal_ops
from airflow_provider_flyte.remote.ops.call import Op
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, TASK, WORKFLOW
from airflow_provider_flyte.remote.transport import AsyncTransport

T = TypeVar("T")


class AsyncFlyteRemote(RemoteBase):
    """Asyncio Flyte client; same constructor and configuration as :class:`~.client.FlyteRemote`.

    Usable from any event loop (the channel follows the running loop); ``await remote.close()`` when done.
    Execution objects it returns delegate ``sync``/``wait``/``terminate`` to it, so those return awaitables.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._transport = AsyncTransport(self.config.platform, self._auth, self._stats)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _run(self, op: Op[T]) -> T:
        self._loop = asyncio.get_running_loop()
        return cast(T, await self._transport.run(op))

    def _blocking_upload(self, project: str, domain: str) -> Callable[[str], str]:
        loop = self._loop

        def upload(local: str) -> str:
            # called from the worker thread that converts inputs: hand the upload to the event loop
            assert loop is not None
            future = asyncio.run_coroutine_threadsafe(
                self._run(self._upload_path_op(local, project, domain)), loop
            )
            return str(future.result())

        return upload

    async def close(self) -> None:
        """Close the gRPC channel."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncFlyteRemote:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # entities --------------------------------------------------------------------------------------------------
    async def fetch_task(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteTask:
        """A registered task (the latest version when ``version`` is None)."""
        return cast(
            FlyteTask,
            await self._run(
                self._fetch_op(TASK, project, domain, _required(name, "name"), version, refresh=True)
            ),
        )

    async def fetch_workflow(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteWorkflow:
        """A registered workflow (the latest version when ``version`` is None)."""
        return cast(
            FlyteWorkflow,
            await self._run(
                self._fetch_op(WORKFLOW, project, domain, _required(name, "name"), version, refresh=True)
            ),
        )

    async def fetch_launch_plan(
        self,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
    ) -> FlyteLaunchPlan:
        """A registered launch plan (the latest version when ``version`` is None)."""
        return cast(
            FlyteLaunchPlan,
            await self._run(
                self._fetch_op(LAUNCH_PLAN, project, domain, _required(name, "name"), version, refresh=True)
            ),
        )

    # executions ------------------------------------------------------------------------------------------------
    async def execute(
        self,
        entity: EntityRef,
        inputs: Mapping[str, Any] | None = None,
        project: str | None = None,
        domain: str | None = None,
        name: str | None = None,
        version: str | None = None,
        execution_name: str | None = None,
        execution_name_prefix: str | None = None,
        image_config: Any = None,
        options: Options | None = None,
        wait: bool = False,
        type_hints: Mapping[str, Any] | None = None,
        overwrite_cache: bool | None = None,
        interruptible: bool | None = None,
        envs: Mapping[str, str] | None = None,
        tags: Sequence[str] | None = None,
        cluster_pool: str | None = None,
        execution_cluster_label: str | None = None,
        serialization_settings: Any = None,
    ) -> FlyteWorkflowExecution:
        """See :meth:`FlyteRemote.execute <airflow_provider_flyte.remote.client.FlyteRemote.execute>`."""
        self._loop = asyncio.get_running_loop()
        proto, target = await self._run(
            self._execute_op(
                entity,
                inputs,
                project,
                domain,
                name,
                version,
                execution_name,
                execution_name_prefix,
                options,
                type_hints,
                overwrite_cache,
                interruptible,
                envs,
                tags,
                cluster_pool,
                execution_cluster_label,
            )
        )
        execution = self._wrap(proto, target, type_hints)
        return await self.wait(execution) if wait else execution

    async def fetch_execution(
        self, project: str | None = None, domain: str | None = None, name: str | None = None
    ) -> FlyteWorkflowExecution:
        """An execution by name, synced."""
        execution = self._wrap(
            exec_ops._bare_execution(self._exec_id(_required(name, "name"), project, domain))
        )
        return await self.sync(execution)

    async def sync(
        self, execution: FlyteWorkflowExecution, entity_definition: Any = None, sync_nodes: bool = False
    ) -> FlyteWorkflowExecution:
        """Refresh an execution in place (and its nodes with ``sync_nodes``)."""
        execution._remote = execution._remote or self
        return await self._run(exec_ops.sync_execution(execution, sync_nodes))

    sync_execution = sync

    async def wait(
        self,
        execution: FlyteWorkflowExecution,
        timeout: float | timedelta | None = None,
        poll_interval: float | timedelta | None = None,
        sync_nodes: bool = True,
    ) -> FlyteWorkflowExecution:
        """Poll until done; :class:`FlyteTimeoutError` after ``timeout``."""
        clock = WaitClock(timeout, poll_interval)
        while True:
            await self.sync(execution)
            if execution.is_done:
                return await self.sync(execution, sync_nodes=True) if sync_nodes else execution
            if clock.expired():
                raise clock.timeout_error(execution)
            await asyncio.sleep(clock.next_sleep())

    async def terminate(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        cause: str = "terminated by user",
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Abort an execution."""
        await self._run(exec_ops.terminate(self._exec_id(execution, project, domain), cause))

    async def relaunch(
        self,
        execution: FlyteWorkflowExecution | str | Any,
        name: str | None = None,
        overwrite_cache: bool | None = None,
        project: str | None = None,
        domain: str | None = None,
    ) -> FlyteWorkflowExecution:
        """A new execution with the same spec and inputs."""
        new_name = _names.resolve_execution_name(name)
        proto = await self._run(
            exec_ops.relaunch(self._exec_id(execution, project, domain), new_name, overwrite_cache)
        )
        return self._wrap(proto)

    async def list_executions(
        self,
        project: str | None = None,
        domain: str | None = None,
        names: Sequence[str] | None = None,
        filters: str | None = None,
        limit: int | None = None,
    ) -> list[FlyteWorkflowExecution]:
        """Executions of a project/domain, newest first; ``names`` selects many by name in one RPC."""
        p, d = self._pd(project, domain)
        protos = await self._run(exec_ops.list_executions(p, d, names=names, filters=filters, limit=limit))
        return [self._wrap(e) for e in protos]

    async def recent_executions(
        self, project: str | None = None, domain: str | None = None, limit: int = 100
    ) -> list[FlyteWorkflowExecution]:
        """The ``limit`` most recent executions."""
        return await self.list_executions(project, domain, limit=limit)

    # signals ---------------------------------------------------------------------------------------------------
    async def list_signals(
        self,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
        limit: int = 100,
        filters: str | None = None,
    ) -> list[Signal]:
        """Signals of an execution's gate nodes."""
        return await self._run(
            signal_ops.list_signals(self._exec_id(execution_name, project, domain), limit, filters)
        )

    async def approve(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Approve an approval gate."""
        await self._run(
            signal_ops.set_signal(
                self._exec_id(execution_name, project, domain), signal_id, _bool_literal(True)
            )
        )

    async def reject(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        project: str | None = None,
        domain: str | None = None,
    ) -> None:
        """Reject an approval gate."""
        await self._run(
            signal_ops.set_signal(
                self._exec_id(execution_name, project, domain), signal_id, _bool_literal(False)
            )
        )

    async def set_input(
        self,
        signal_id: str,
        execution_name: str | FlyteWorkflowExecution,
        value: Any,
        project: str | None = None,
        domain: str | None = None,
        python_type: Any = None,
        literal_type: Any = None,
    ) -> None:
        """Give a ``wait_for_input`` gate its value, typed from the signal's stored type unless given."""
        self._loop = asyncio.get_running_loop()
        await self._run(
            self._set_input_op(signal_id, execution_name, value, project, domain, python_type, literal_type)
        )

    set_signal = set_input

    async def launch_backfill(
        self,
        project: str,
        domain: str,
        from_date: datetime,
        to_date: datetime,
        launchplan: str,
        launchplan_version: str | None = None,
        execution_name: str | None = None,
        version: str | None = None,
        dry_run: bool = False,
        execute: bool = True,
        parallel: bool = False,
        failure_policy: str | int | None = None,
        overwrite_cache: bool | None = None,
    ) -> Any:
        """See :meth:`FlyteRemote.launch_backfill <airflow_provider_flyte.remote.client.FlyteRemote.launch_backfill>`."""
        return self._backfill_result(
            await self._run(
                self._backfill_op(
                    project,
                    domain,
                    from_date,
                    to_date,
                    launchplan,
                    launchplan_version,
                    execution_name,
                    version,
                    dry_run,
                    execute,
                    parallel,
                    failure_policy,
                    overwrite_cache,
                )
            )
        )
