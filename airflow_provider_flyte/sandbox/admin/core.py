"""AdminCore: the sandbox's flyteadmin. Owns the database, the servicers and the engine.

Documented behaviour on restart: executions (and their node and task executions) that are not in a terminal phase
when :meth:`AdminCore.start` runs were running when the sandbox stopped. They are marked FAILED with
``ExecutionError{kind: SYSTEM, code: "SandboxRestarted", message: "the sandbox stopped while this execution was
running; relaunch it"}``. Everything else (registrations, finished executions, signals) survives restarts; a kill -9
loses nothing that was committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flyteidl.core import identifier_pb2

from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.entities import Entities
from airflow_provider_flyte.sandbox.admin.events import Events, fail_interrupted
from airflow_provider_flyte.sandbox.admin.executions import TERMINAL_PHASES, Executions, execution_of
from airflow_provider_flyte.sandbox.admin.names import exec_key
from airflow_provider_flyte.sandbox.admin.nodes import Nodes
from airflow_provider_flyte.sandbox.admin.projects import Projects
from airflow_provider_flyte.sandbox.admin.servicers import AdminServicer, SignalServicer
from airflow_provider_flyte.sandbox.admin.signals import Signals
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.errors import SandboxError
from airflow_provider_flyte.sandbox.interfaces import EngineProtocol
from airflow_provider_flyte.sandbox.store import Store

log = logging.getLogger(__name__)

#: builds the engine: (config, blobs, sink, signals, launcher) -> engine
EngineFactory = Callable[[SandboxConfig, BlobStore, Any, Any, Any], EngineProtocol]


def _default_engine_factory(
    config: SandboxConfig, blobs: BlobStore, sink: Any, signals: Any, launcher: Any
) -> EngineProtocol:
    from airflow_provider_flyte.sandbox.engine import Engine

    engine: EngineProtocol = Engine(config, blobs, sink, signals, launcher)
    return engine


class AdminCore:
    """flyteadmin's role: AdminService + SignalService on SQLite; the engine's EventSink, SignalSource and
    ChildLauncher."""

    def __init__(
        self, config: SandboxConfig, blobs: BlobStore, *, engine_factory: EngineFactory | None = None
    ) -> None:
        self.config = config
        self.blobs = blobs
        self.ctx = AdminContext(config=config, blobs=blobs, store=Store(config.db_path))
        self.projects = Projects(self.ctx)
        self.entities = Entities(self.ctx, self.projects)
        self.executions = Executions(self.ctx, self.projects, self.entities)
        self.nodes = Nodes(self.ctx, self.executions)
        self.events = Events(self.ctx, self.executions)
        self.signals = Signals(self.ctx, self.executions)
        self.admin_servicer = AdminServicer(self)
        self.signal_servicer = SignalServicer(self)
        self._engine_factory = engine_factory or _default_engine_factory

    @property
    def engine(self) -> EngineProtocol | None:
        return self.ctx.engine

    async def start(self) -> None:
        """Open the database, seed projects, fail executions interrupted by a previous stop, build the engine."""
        self.ctx.store.open()
        with self.ctx.store.transaction():
            self.projects.seed()
        interrupted = fail_interrupted(self.ctx.store)
        if interrupted:
            log.warning(
                "marked %d execution(s) interrupted by the previous sandbox stop as FAILED", interrupted
            )
        self.ctx.engine = self._engine_factory(self.config, self.blobs, self, self, self)

    async def stop(self) -> None:
        """Shut the engine down (it emits nothing more) and close the database."""
        engine, self.ctx.engine = self.ctx.engine, None
        try:
            if engine is not None:
                await engine.shutdown()
        finally:
            self.ctx.waiters.cancel_all()
            self.ctx.store.close()

    # -- EventSink ------------------------------------------------------------------------------------------------
    async def workflow_event(self, event: Any) -> None:
        self.events.workflow_event(event)

    async def node_event(self, event: Any) -> None:
        self.events.node_event(event)

    async def task_event(self, event: Any) -> None:
        self.events.task_event(event)

    # -- SignalSource ---------------------------------------------------------------------------------------------
    async def wait_signal(self, request: Any) -> Any:
        return await self.signals.wait(request)

    # -- ChildLauncher --------------------------------------------------------------------------------------------
    async def launch_child(self, request: Any) -> Any:
        """Create a child execution through the CreateExecution path; an existing one is returned as is."""
        try:
            response = await self.executions.create(
                request, request.spec.metadata.principal, keep_principal=True
            )
        except SandboxError as exc:
            if exc.code.name != "ALREADY_EXISTS" or not request.name:
                raise
            return identifier_pb2.WorkflowExecutionIdentifier(
                project=request.project, domain=request.domain, name=request.name.lower(), org=request.org
            )
        return response.id

    async def wait_child(self, execution_id: Any) -> tuple[Any, Any]:
        """Wait (event-driven) until the execution is terminal; return it and its outputs (None unless SUCCEEDED)."""
        from flyteidl.core import execution_pb2 as core_execution_pb2

        while True:
            row = self.executions.row(execution_id)
            execution = execution_of(row)
            if execution.closure.phase in TERMINAL_PHASES:
                outputs = None
                if execution.closure.phase == core_execution_pb2.WorkflowExecution.SUCCEEDED:
                    outputs = self.executions.outputs_of(execution.closure)
                return execution, outputs
            await self.ctx.waiters.terminal(exec_key(execution_id))

    async def terminate_child(self, execution_id: Any, cause: str) -> None:
        """Abort a child execution; nothing happens if it is already terminal or unknown."""
        try:
            await self.executions.abort(execution_id, cause, "")
        except SandboxError as exc:
            if exc.code.name not in ("FAILED_PRECONDITION", "NOT_FOUND"):
                raise

    # -- DataProxy and console links -----------------------------------------------------------------------------
    async def get_data(self, flyte_url: str) -> Any:
        """DataProxy ``GetData`` for ``flyte://`` URLs of node and task executions."""
        return self.nodes.get_data(flyte_url)

    def execution_url(self, execution_id: Any) -> str:
        e = execution_id
        return f"{self.config.console_url()}/projects/{e.project}/domains/{e.domain}/executions/{e.name}"
