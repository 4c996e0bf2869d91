"""The engine (flytepropeller's role): runs executions as asyncio tasks and reports them as flyteidl events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from flyteidl.core import identifier_pb2

from airflow_provider_flyte.sandbox.engine.catalog import Catalog
from airflow_provider_flyte.sandbox.engine.events import Emitter, WorkflowPhase
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, RunnerRegistry, execution_error
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeFailed
from airflow_provider_flyte.sandbox.engine.workflow import run_failure_node, run_workflow

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.blobstore import BlobStore
    from airflow_provider_flyte.sandbox.config import SandboxConfig
    from airflow_provider_flyte.sandbox.interfaces import ChildLauncher, EventSink, ExecutionJob, SignalSource

log = logging.getLogger(__name__)

ExecKey = tuple[str, str, str]

#: how long ``abort`` waits for the execution to report ABORTED
ABORT_WAIT_SECONDS = 30.0


def _key(execution_id: identifier_pb2.WorkflowExecutionIdentifier) -> ExecKey:
    return (execution_id.project, execution_id.domain, execution_id.name)


class _Run:
    def __init__(self, state: ExecutionState) -> None:
        self.state = state
        self.task: asyncio.Task[None] | None = None

    async def main(self) -> None:
        state = self.state
        emitter = state.emitter
        try:
            await emitter.workflow(WorkflowPhase.RUNNING)
            _, output_uri = await run_workflow(state, state.job.closure.primary, state.job.inputs)
            await emitter.workflow(WorkflowPhase.SUCCEEDING)
            await emitter.workflow(WorkflowPhase.SUCCEEDED, output_uri=output_uri)
        except NodeFailed as failed:
            await emitter.workflow(WorkflowPhase.FAILING, error=failed.error)
            error = await run_failure_node(state, state.job.closure.primary, state.job.inputs, failed.error)
            await emitter.workflow(WorkflowPhase.FAILED, error=error)
        except asyncio.CancelledError:
            if state.abort_cause is not None and not emitter.silent:
                await emitter.workflow(WorkflowPhase.ABORTED)
                return
            raise
        except Exception as exc:  # an engine bug must still end the execution, never leave it RUNNING
            log.exception("execution %s crashed", state.job.execution_id.name)
            error = execution_error(
                SYSTEM, "EngineFailure", f"the sandbox engine failed: {type(exc).__name__}: {exc}"
            )
            await emitter.workflow(WorkflowPhase.FAILING, error=error)
            await emitter.workflow(WorkflowPhase.FAILED, error=error)


class Engine:
    """Implements :class:`~airflow_provider_flyte.sandbox.interfaces.EngineProtocol`."""

    def __init__(
        self,
        config: SandboxConfig,
        blobs: BlobStore,
        sink: EventSink,
        signals: SignalSource,
        launcher: ChildLauncher,
    ) -> None:
        self.config = config
        self.blobs = blobs
        self.sink = sink
        self.signals = signals
        self.launcher = launcher
        self.runners = RunnerRegistry(config, blobs)
        #: the task cache (datacatalog's role), persisted next to the admin's database
        self.catalog = Catalog(config.data_dir / "catalog.db")
        self._runs: dict[ExecKey, _Run] = {}

    def platform_envs(self) -> dict[str, str]:
        """``FLYTE_PLATFORM_URL`` / ``FLYTE_PLATFORM_INSECURE`` for task processes: this sandbox's endpoint."""
        insecure = self.config.tls_cert_file is None
        return {"FLYTE_PLATFORM_URL": self.config.endpoint, "FLYTE_PLATFORM_INSECURE": str(insecure).lower()}

    def is_running(self, execution_id: identifier_pb2.WorkflowExecutionIdentifier) -> bool:
        """Whether the execution is running in this engine."""
        return _key(execution_id) in self._runs

    async def start(self, job: ExecutionJob) -> None:
        """Start running ``job`` in the background and return at once (a job already running is ignored)."""
        key = _key(job.execution_id)
        if key in self._runs:
            return
        state = ExecutionState.build(
            job,
            self.blobs,
            Emitter(self.sink, job.execution_id),
            self.runners,
            self.signals,
            self.launcher,
            self.catalog,
        )
        # as the demo cluster's default-env-vars: task code (eager workflows, FlyteRemote) reaches this admin
        state.envs = {**self.platform_envs(), **state.envs}
        run = _Run(state)
        self._runs[key] = run
        run.task = asyncio.create_task(run.main(), name=f"execution-{job.execution_id.name}")
        run.task.add_done_callback(lambda _t: self._runs.pop(key, None))

    async def abort(self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, cause: str) -> None:
        """Abort: running nodes report ABORTED (subprocesses killed, children terminated), then the workflow."""
        run = self._runs.get(_key(execution_id))
        if run is None or run.task is None or run.task.done():
            return
        run.state.abort_cause = cause or "aborted"
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(run.task), ABORT_WAIT_SECONDS)

    async def shutdown(self) -> None:
        """Cancel every execution silently (no events)."""
        runs = list(self._runs.values())
        for run in runs:
            run.state.emitter.silent = True
            if run.task is not None:
                run.task.cancel()
        tasks = [r.task for r in runs if r.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._runs.clear()
        self.catalog.close()
        await self.runners.close()
