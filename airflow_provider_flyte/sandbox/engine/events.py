"""Builds and sends the flyteidl events propeller reports to admin (workflow, node and task executions)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flyteidl.core import execution_pb2, identifier_pb2
from flyteidl.event import event_pb2
from google.protobuf import timestamp_pb2

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.interfaces import EventSink

log = logging.getLogger(__name__)

PRODUCER_ID = "flyte-sandbox"
#: node event version 1: is_parent / is_dynamic bits are populated, ids are unique ids (propeller's default)
NODE_EVENT_VERSION = 1

WorkflowPhase = execution_pb2.WorkflowExecution
NodePhase = execution_pb2.NodeExecution
TaskPhase = execution_pb2.TaskExecution


def now() -> timestamp_pb2.Timestamp:
    """The current time as a protobuf Timestamp."""
    ts = timestamp_pb2.Timestamp()
    ns = time.time_ns()
    ts.seconds, ts.nanos = divmod(ns, 1_000_000_000)
    return ts


@dataclass
class NodeInfo:
    """What every event of one node execution repeats."""

    execution_id: identifier_pb2.WorkflowExecutionIdentifier
    unique_id: str
    spec_node_id: str
    node_name: str
    input_uri: str
    parent_unique_id: str | None = None
    parent_attempt: int = 0
    is_parent: bool = False
    is_dynamic: bool = False
    is_array: bool = False
    target_entity: identifier_pb2.Identifier | None = None


class Emitter:
    """Sends events for one execution. ``silent`` (engine shutdown) drops everything; an event admin rejects is
    logged, never raised: the engine's own state stays authoritative, as propeller treats idempotency errors."""

    def __init__(self, sink: EventSink, execution_id: identifier_pb2.WorkflowExecutionIdentifier) -> None:
        self._sink = sink
        self.execution_id = execution_id
        self.silent = False
        self._last_node_phase: dict[str, int] = {}

    async def _send(self, kind: str, event: Any) -> None:
        if self.silent:
            return
        try:
            if kind == "workflow":
                await self._sink.workflow_event(event)
            elif kind == "node":
                await self._sink.node_event(event)
            else:
                await self._sink.task_event(event)
        except Exception as exc:  # admin rejected the event (e.g. already terminal): keep running
            log.warning("%s event rejected for %s: %s", kind, self.execution_id.name, exc)

    async def workflow(
        self,
        phase: int,
        *,
        output_uri: str | None = None,
        error: execution_pb2.ExecutionError | None = None,
    ) -> None:
        """A WorkflowExecutionEvent."""
        ev = event_pb2.WorkflowExecutionEvent(
            execution_id=self.execution_id, producer_id=PRODUCER_ID, phase=phase, occurred_at=now()
        )
        if output_uri is not None:
            ev.output_uri = output_uri
        elif error is not None:
            ev.error.CopyFrom(error)
        await self._send("workflow", ev)

    async def node(
        self,
        info: NodeInfo,
        phase: int,
        *,
        output_uri: str | None = None,
        error: execution_pb2.ExecutionError | None = None,
        child_execution: identifier_pb2.WorkflowExecutionIdentifier | None = None,
        task_node: event_pb2.TaskNodeMetadata | None = None,
        deck_uri: str | None = None,
    ) -> None:
        """A NodeExecutionEvent; repeated phases are not sent twice (admin rejects them). ``task_node`` is the
        task node's metadata (cache status, catalog key, the compiled dynamic workflow); ``deck_uri`` the task's
        deck."""
        if self._last_node_phase.get(info.unique_id) == phase:
            return
        self._last_node_phase[info.unique_id] = phase
        ts = now()
        ev = event_pb2.NodeExecutionEvent(
            producer_id=PRODUCER_ID,
            phase=phase,
            occurred_at=ts,
            reported_at=ts,
            event_version=NODE_EVENT_VERSION,
            spec_node_id=info.spec_node_id,
            node_name=info.node_name,
            is_parent=info.is_parent,
            is_dynamic=info.is_dynamic,
            is_array=info.is_array,
        )
        ev.id.node_id = info.unique_id
        ev.id.execution_id.CopyFrom(info.execution_id)
        if info.input_uri:
            ev.input_uri = info.input_uri
        if info.parent_unique_id is not None:
            ev.parent_node_metadata.node_id = info.parent_unique_id
            ev.retry_group = str(info.parent_attempt)
        if info.target_entity is not None:
            ev.target_entity.CopyFrom(info.target_entity)
        if deck_uri:
            ev.deck_uri = deck_uri
        if output_uri is not None:
            ev.output_uri = output_uri
        elif error is not None:
            ev.error.CopyFrom(error)
        if child_execution is not None:
            ev.workflow_node_metadata.execution_id.CopyFrom(child_execution)
        elif task_node is not None:
            ev.task_node_metadata.CopyFrom(task_node)
        await self._send("node", ev)

    async def task(
        self,
        info: NodeInfo,
        task_id: identifier_pb2.Identifier,
        task_type: str,
        attempt: int,
        phase: int,
        phase_version: int = 0,
        *,
        output_uri: str | None = None,
        error: execution_pb2.ExecutionError | None = None,
        logs: list[execution_pb2.TaskLog] | None = None,
        reason: str = "",
        custom_info: dict[str, Any] | None = None,
        external_resources: list[event_pb2.ExternalResourceInfo] | None = None,
        plugin_identifier: str = "",
        interruptible: bool = False,
    ) -> None:
        """A TaskExecutionEvent for attempt ``attempt`` of the node's task (``external_resources``: the subtasks of
        an array node, as propeller's k8s-array event recorder reports them)."""
        ts = now()
        ev = event_pb2.TaskExecutionEvent(
            task_id=task_id,
            retry_attempt=attempt,
            phase=phase,
            phase_version=phase_version,
            producer_id=PRODUCER_ID,
            occurred_at=ts,
            reported_at=ts,
            task_type=task_type,
            event_version=1,
            input_uri=info.input_uri,
        )
        ev.parent_node_execution_id.node_id = info.unique_id
        ev.parent_node_execution_id.execution_id.CopyFrom(info.execution_id)
        ev.metadata.generated_name = f"{self.execution_id.name}-{info.unique_id}-{attempt}"
        ev.metadata.plugin_identifier = plugin_identifier or task_type
        if external_resources:
            ev.metadata.external_resources.extend(external_resources)
        if interruptible:  # as propeller's task event transformer
            ev.metadata.instance_class = event_pb2.TaskExecutionMetadata.INTERRUPTIBLE
        if reason:
            ev.reason = reason
            r = ev.reasons.add()
            r.reason = reason
            r.occurred_at.CopyFrom(ts)
        if logs:
            ev.logs.extend(logs)
        if custom_info:
            ev.custom_info.update(custom_info)
        if output_uri is not None:
            ev.output_uri = output_uri
        elif error is not None:
            ev.error.CopyFrom(error)
        await self._send("task", ev)
