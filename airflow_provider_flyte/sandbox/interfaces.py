"""Contracts between the sandbox's admin (flyteadmin's role) and its engine (flytepropeller's role).

They talk exactly as the real components do: the engine reports progress as flyteidl events
(``flyteidl.event.event_pb2``), asks for signals with ``SignalGetOrCreateRequest`` and launches child executions
with ``ExecutionCreateRequest``. Everything runs on the sandbox's single asyncio event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from flyteidl.admin import execution_pb2, signal_pb2
    from flyteidl.core import compiler_pb2, identifier_pb2, literals_pb2
    from flyteidl.event import event_pb2


@dataclass
class ExecutionJob:
    """Everything the engine needs to run one workflow execution."""

    execution_id: identifier_pb2.WorkflowExecutionIdentifier
    #: compiled workflow: primary (with start-node/end-node), sub_workflows and every referenced task
    closure: compiler_pb2.CompiledWorkflowClosure
    #: resolved inputs (defaults and fixed inputs applied)
    inputs: literals_pb2.LiteralMap
    #: resolved spec: max_parallelism, raw_output_data_config, interruptible, overwrite_cache, envs,
    #: security_context, labels, annotations, metadata (nesting, principal) ...
    spec: execution_pb2.ExecutionSpec
    #: URI prefix under which the engine writes node/task inputs, outputs and errors for this execution
    metadata_prefix: str
    #: URI prefix for raw task output data (offloaded files, dataframes)
    raw_output_prefix: str
    #: RecoverExecution: what the nodes of the original execution that ended SUCCEEDED or RECOVERED produced, by
    #: fully qualified node id (propeller's RecoveryExecution); these nodes are not run again
    recovered_nodes: Mapping[str, RecoveredNode] = field(default_factory=dict)


@dataclass(frozen=True)
class RecoveredNode:
    """A node execution of the original execution that a recovered execution reuses instead of running it."""

    inputs: literals_pb2.LiteralMap
    outputs: literals_pb2.LiteralMap
    #: a task node's metadata (cache status, catalog key, compiled dynamic workflow), else None
    task_node: event_pb2.TaskNodeMetadata | None = None
    #: a launch-plan node's child execution, else None
    child_execution: identifier_pb2.WorkflowExecutionIdentifier | None = None


class EventSink(Protocol):
    """Admin's event endpoints (CreateWorkflowEvent / CreateNodeEvent / CreateTaskEvent) as seen by the engine."""

    async def workflow_event(self, event: event_pb2.WorkflowExecutionEvent) -> None: ...

    async def node_event(self, event: event_pb2.NodeExecutionEvent) -> None: ...

    async def task_event(self, event: event_pb2.TaskExecutionEvent) -> None: ...


class SignalSource(Protocol):
    async def wait_signal(self, request: signal_pb2.SignalGetOrCreateRequest) -> literals_pb2.Literal:
        """GetOrCreateSignal, then wait (cancellably) until SetSignal gives it a value; return the value."""
        ...


class ChildLauncher(Protocol):
    async def launch_child(
        self, request: execution_pb2.ExecutionCreateRequest
    ) -> identifier_pb2.WorkflowExecutionIdentifier:
        """Create a child execution (mode CHILD_WORKFLOW). An existing one with the same name is returned as is."""
        ...

    async def wait_child(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier
    ) -> tuple[execution_pb2.Execution, literals_pb2.LiteralMap | None]:
        """Wait until the child is terminal; return it and its outputs (None unless it succeeded)."""
        ...

    async def terminate_child(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, cause: str
    ) -> None: ...


class EngineProtocol(Protocol):
    async def start(self, job: ExecutionJob) -> None:
        """Start running the job in the background and return at once."""
        ...

    async def abort(self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, cause: str) -> None:
        """Abort a running execution: running nodes and child executions are aborted, then the workflow
        reports ABORTED. No-op if the execution is not running in this engine."""
        ...

    async def shutdown(self) -> None:
        """Cancel everything (sandbox stop); emits nothing."""
        ...
