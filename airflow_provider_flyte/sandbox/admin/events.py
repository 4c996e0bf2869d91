"""Event ingestion: workflow, node and task execution events become closures as flyteadmin's transformers build them.

Transition rules (flyteadmin 1.16.8):

* workflow: the same phase twice -> ALREADY_EXISTS; any event after a terminal phase -> FAILED_PRECONDITION
  (details ``EventFailureReason.already_in_terminal_state``); RUNNING -> QUEUED -> FAILED_PRECONDITION; from
  ABORTING only to a terminal phase.
* node: events for an execution in a terminal phase -> FAILED_PRECONDITION; the same phase twice -> ALREADY_EXISTS;
  after a terminal phase -> FAILED_PRECONDITION.
* task: the same phase and a phase_version not newer -> ALREADY_EXISTS; after a terminal phase -> FAILED_PRECONDITION.

Restart: executions (and their node and task executions) found non-terminal when the sandbox starts were running
when it stopped; :func:`fail_interrupted` marks them FAILED with ExecutionError{kind SYSTEM, code
"SandboxRestarted"}.
"""

from __future__ import annotations

from typing import Any

from flyteidl.admin import execution_pb2, node_execution_pb2, task_execution_pb2
from flyteidl.core import catalog_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2

from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.details import terminal_state_details
from airflow_provider_flyte.sandbox.admin.executions import TERMINAL_PHASES, Executions
from airflow_provider_flyte.sandbox.admin.names import (
    event_time,
    exec_key,
    fmt,
    fmt_execution,
    now,
    seconds,
    ts,
)
from airflow_provider_flyte.sandbox.admin.validation import missing, require
from airflow_provider_flyte.sandbox.errors import already_exists, failed_precondition, not_found
from airflow_provider_flyte.sandbox.store import Row, Store

WF = core_execution_pb2.WorkflowExecution
NODE = core_execution_pb2.NodeExecution
TASK = core_execution_pb2.TaskExecution
NODE_TERMINAL = frozenset(
    {NODE.SUCCEEDED, NODE.FAILED, NODE.ABORTED, NODE.SKIPPED, NODE.TIMED_OUT, NODE.RECOVERED}
)
TASK_TERMINAL = frozenset({TASK.SUCCEEDED, TASK.FAILED, TASK.ABORTED})

RESTART_CODE = "SandboxRestarted"
RESTART_MESSAGE = "the sandbox stopped while this execution was running; relaunch it"


def _set_duration(closure: Any, end: float) -> None:
    if closure.HasField("started_at"):
        closure.duration.FromNanoseconds(max(0, round((end - seconds(closure.started_at)) * 1e9)))


def _error_columns(closure: Any) -> dict[str, Any]:
    if closure.WhichOneof("output_result") != "error":
        return {}
    return {
        "error_kind": core_execution_pb2.ExecutionError.ErrorKind.Name(closure.error.kind),
        "error_code": closure.error.code,
    }


def _started(closure: Any) -> float | None:
    return seconds(closure.started_at) if closure.HasField("started_at") else None


def _merge_logs(existing: Any, latest: Any) -> list[Any]:
    by_uri: dict[str, Any] = {}
    for log in [*existing, *latest]:
        by_uri[log.uri or log.name] = log
    return list(by_uri.values())


class Events:
    """The admin's EventSink: CreateWorkflowEvent / CreateNodeEvent / CreateTaskEvent."""

    def __init__(self, ctx: AdminContext, executions: Executions) -> None:
        self.ctx = ctx
        self.executions = executions

    def _offload(self, uri: str, literal_map: Any) -> str:
        self.ctx.blobs.write_proto(uri, literal_map)
        return uri

    def _inputs(self, event: Any, prefix: str, input_uri: str) -> str:
        """The input URI a node or task event reports (inline inputs are offloaded below ``prefix``)."""
        which = event.WhichOneof("input_value")
        if which == "input_uri" and event.input_uri:
            return str(event.input_uri)
        if which == "input_data":
            return self._offload(f"{prefix}/offloaded_inputs", event.input_data)
        return input_uri

    def _outputs(self, event: Any, closure: Any, prefix: str) -> None:
        """A node or task event's output URI (inline outputs offloaded below ``prefix``) or error, into its closure."""
        kind = event.WhichOneof("output_result")
        if kind == "output_uri":
            closure.output_uri = event.output_uri
        elif kind == "output_data":
            closure.output_uri = self._offload(f"{prefix}/offloaded_outputs", event.output_data)
        elif kind == "error":
            closure.error.CopyFrom(event.error)

    def _prefix(self, execution_id: Any) -> str:
        return self.ctx.metadata_prefix(*exec_key(execution_id))

    # -- workflow --------------------------------------------------------------------------------------------------
    def workflow_event(self, event: Any) -> None:
        if not event.HasField("execution_id"):
            raise missing("execution_id")
        execution_id = event.execution_id
        row = self.executions.row(execution_id)
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        current, new = closure.phase, event.phase
        where = f"workflow execution {fmt_execution(execution_id)}"
        if current == new:
            raise already_exists(f"This phase {WF.Phase.Name(new)} was already recorded for {where}")
        if current in TERMINAL_PHASES:
            message = (
                f"This workflow execution {fmt_execution(execution_id)} is already in a terminal phase "
                f"{WF.Phase.Name(current)}; it cannot move to {WF.Phase.Name(new)}"
            )
            raise failed_precondition(message, terminal_state_details(message, WF.Phase.Name(current)))
        if current == WF.RUNNING and new == WF.QUEUED:
            raise failed_precondition(
                f"Cannot go from {WF.Phase.Name(current)} to {WF.Phase.Name(new)} for {where}"
            )
        if current == WF.ABORTING and new not in TERMINAL_PHASES:
            raise failed_precondition(
                f"Invalid phase change from ABORTING to {WF.Phase.Name(new)} for {where}"
            )
        t = event_time(event.occurred_at)
        closure.phase = new
        closure.updated_at.CopyFrom(ts(t))
        if new == WF.RUNNING and not closure.HasField("started_at"):
            closure.started_at.CopyFrom(ts(t))
        kind = event.WhichOneof("output_result")
        if kind == "output_uri":
            closure.outputs.uri = event.output_uri
        elif kind == "output_data":
            closure.outputs.uri = self._offload(
                f"{self._prefix(execution_id)}/offloaded_outputs", event.output_data
            )
        elif kind == "error":
            closure.error.CopyFrom(event.error)
        terminal = new in TERMINAL_PHASES
        if terminal:
            _set_duration(closure, t)
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "executions",
                row["id"],
                {
                    "phase": WF.Phase.Name(new),
                    "started_at": _started(closure),
                    "duration": closure.duration.ToNanoseconds() / 1e9,
                    "execution_updated_at": t,
                    "closure": closure.SerializeToString(),
                    **_error_columns(closure),
                },
            )
        if terminal:
            self.ctx.waiters.resolve_terminal(exec_key(execution_id))

    # -- node ------------------------------------------------------------------------------------------------------
    def _node_row(self, execution_id: Any, node_id: str) -> Row | None:
        return self.ctx.store.one(
            "SELECT * FROM node_executions WHERE execution_project = ? AND execution_domain = ? AND "
            "execution_name = ? AND node_id = ?",
            (*exec_key(execution_id), node_id),
        )

    def _task_row(self, task_execution_id: Any) -> Row | None:
        node = task_execution_id.node_execution_id
        return self.ctx.store.one(
            "SELECT * FROM task_executions WHERE execution_project = ? AND execution_domain = ? AND "
            "execution_name = ? AND node_id = ? AND retry_attempt = ?",
            (*exec_key(node.execution_id), node.node_id, task_execution_id.retry_attempt),
        )

    def node_event(self, event: Any) -> None:
        if not event.HasField("id"):
            raise missing("id")
        if not event.id.HasField("execution_id"):
            raise missing("execution_id")
        require(event.id.node_id, "node_id")
        node_id = event.id
        execution_id = node_id.execution_id
        exec_row = self.executions.row(execution_id)
        exec_phase = WF.Phase.Value(exec_row["phase"])
        if exec_phase in TERMINAL_PHASES:
            message = (
                f"Cannot record node event for execution {fmt_execution(execution_id)} in terminal state "
                f"{exec_row['phase']}"
            )
            raise failed_precondition(message, terminal_state_details(message, exec_row["phase"]))
        row = self._node_row(execution_id, node_id.node_id)
        t = event_time(event.occurred_at)
        where = f"node execution {node_id.node_id} of {fmt_execution(execution_id)}"
        if row is None:
            closure = node_execution_pb2.NodeExecutionClosure()
            closure.created_at.CopyFrom(ts(t))
            metadata = node_execution_pb2.NodeExecutionMetaData(
                retry_group=event.retry_group, spec_node_id=event.spec_node_id
            )
            parent_id, parent_task_id = self._node_parents(event)
            input_uri = ""
        else:
            closure = node_execution_pb2.NodeExecutionClosure.FromString(row["closure"])
            metadata = node_execution_pb2.NodeExecutionMetaData.FromString(
                row["node_execution_metadata"] or b""
            )
            current = closure.phase
            if current == event.phase:
                raise already_exists(
                    f"This phase {NODE.Phase.Name(event.phase)} was already recorded for {where}"
                )
            if current in NODE_TERMINAL:
                message = (
                    f"invalid phase change from {NODE.Phase.Name(current)} to {NODE.Phase.Name(event.phase)} for "
                    f"{where}"
                )
                raise failed_precondition(message, terminal_state_details(message, NODE.Phase.Name(current)))
            parent_id, parent_task_id = row["parent_id"], row["parent_task_execution_id"]
            input_uri = row["input_uri"]
        prefix = f"{self._prefix(execution_id)}/{node_id.node_id}"
        input_uri = self._inputs(event, prefix, input_uri)
        closure.phase = event.phase
        closure.updated_at.CopyFrom(ts(t))
        if event.phase in (NODE.RUNNING, NODE.DYNAMIC_RUNNING) and not closure.HasField("started_at"):
            closure.started_at.CopyFrom(ts(t))
        self._outputs(event, closure, prefix)
        if event.phase in NODE_TERMINAL:
            _set_duration(closure, t)
        if event.deck_uri:
            closure.deck_uri = event.deck_uri
        internal = row["internal_data"] if row is not None else None
        target = event.WhichOneof("target_metadata")
        if target == "workflow_node_metadata":
            closure.workflow_node_metadata.executionId.CopyFrom(event.workflow_node_metadata.execution_id)
        elif target == "task_node_metadata":
            tnm = event.task_node_metadata
            out = closure.task_node_metadata
            out.cache_status = tnm.cache_status
            if tnm.HasField("catalog_key"):
                out.catalog_key.CopyFrom(tnm.catalog_key)
            if tnm.checkpoint_uri:
                out.checkpoint_uri = tnm.checkpoint_uri
            if tnm.HasField("dynamic_workflow"):
                closure.dynamic_job_spec_uri = tnm.dynamic_workflow.dynamic_job_spec_uri
                internal = tnm.dynamic_workflow.SerializeToString()
        metadata.is_parent_node = metadata.is_parent_node or event.is_parent
        metadata.is_dynamic = metadata.is_dynamic or event.is_dynamic
        metadata.is_array = metadata.is_array or event.is_array
        metadata.is_eager = metadata.is_eager or event.is_eager
        if event.spec_node_id and not metadata.spec_node_id:
            metadata.spec_node_id = event.spec_node_id
        if event.retry_group and not metadata.retry_group:
            metadata.retry_group = event.retry_group
        values: dict[str, Any] = {
            "phase": NODE.Phase.Name(event.phase),
            "input_uri": input_uri,
            "started_at": _started(closure),
            "node_execution_updated_at": t,
            "duration": closure.duration.ToNanoseconds() / 1e9,
            "cache_status": core_cache_status(closure),
            "dynamic_workflow_remote_closure_reference": closure.dynamic_job_spec_uri,
            "closure": closure.SerializeToString(),
            "node_execution_metadata": metadata.SerializeToString(),
            "internal_data": internal,
            **_error_columns(closure),
        }
        with self.ctx.store.transaction():
            if row is None:
                self.ctx.store.insert(
                    "node_executions",
                    {
                        "execution_project": execution_id.project,
                        "execution_domain": execution_id.domain,
                        "execution_name": execution_id.name,
                        "execution_org": execution_id.org,
                        "node_id": node_id.node_id,
                        "node_execution_created_at": t,
                        "parent_id": parent_id,
                        "parent_task_execution_id": parent_task_id,
                        **values,
                    },
                )
            else:
                self.ctx.store.update("node_executions", row["id"], values)

    def _node_parents(self, event: Any) -> tuple[int | None, int | None]:
        execution_id = event.id.execution_id
        parent_id = parent_task_id = None
        if event.HasField("parent_node_metadata") and event.parent_node_metadata.node_id:
            parent = self._node_row(execution_id, event.parent_node_metadata.node_id)
            if parent is None:
                raise not_found(
                    f"parent node execution {event.parent_node_metadata.node_id} of node {event.id.node_id} does "
                    f"not exist in {fmt_execution(execution_id)}: send the parent's events first"
                )
            parent_id = int(parent["id"])
        if event.HasField("parent_task_metadata"):
            task_row = self._task_row(event.parent_task_metadata.id)
            if task_row is None:
                raise not_found(
                    f"parent task execution {fmt(event.parent_task_metadata.id)} of node {event.id.node_id} does "
                    "not exist"
                )
            parent_task_id = int(task_row["id"])
        return parent_id, parent_task_id

    # -- task ------------------------------------------------------------------------------------------------------
    def task_event(self, event: Any) -> None:
        if not event.HasField("task_id"):
            raise missing("task_id")
        if not event.HasField("parent_node_execution_id"):
            raise missing("parent_node_execution_id")
        node = event.parent_node_execution_id
        node_row = self._node_row(node.execution_id, node.node_id)
        if node_row is None:
            raise not_found(
                f"failed to get existing node execution id: [{node.node_id} of {fmt_execution(node.execution_id)}]: "
                "send the node's events before its task's"
            )
        task_execution_id = _task_execution_id(event)
        row = self._task_row(task_execution_id)
        t = event_time(event.occurred_at)
        where = f"task execution {fmt(task_execution_id)}"
        if row is None:
            closure = task_execution_pb2.TaskExecutionClosure()
            closure.created_at.CopyFrom(ts(t))
            input_uri = ""
        else:
            closure = task_execution_pb2.TaskExecutionClosure.FromString(row["closure"])
            current = closure.phase
            if current == event.phase and event.phase_version <= row["phase_version"]:
                raise already_exists(
                    f"Duplicate event already exists: phase {TASK.Phase.Name(current)} of {where}"
                )
            if current in TASK_TERMINAL:
                message = (
                    f"invalid phase change from {TASK.Phase.Name(current)} to {TASK.Phase.Name(event.phase)} for "
                    f"{where}"
                )
                raise failed_precondition(message, terminal_state_details(message, TASK.Phase.Name(current)))
            input_uri = row["input_uri"]
        prefix = f"{self._prefix(node.execution_id)}/{node.node_id}/{event.retry_attempt}"
        input_uri = self._inputs(event, prefix, input_uri)
        closure.phase = event.phase
        closure.updated_at.CopyFrom(ts(t))
        if event.phase == TASK.RUNNING and not closure.HasField("started_at"):
            closure.started_at.CopyFrom(ts(t))
        merged = _merge_logs(closure.logs, event.logs)
        del closure.logs[:]
        closure.logs.extend(merged)
        if event.reason:
            closure.reason = event.reason
            closure.reasons.add(occurred_at=ts(t), message=event.reason)
        for reason in event.reasons:
            closure.reasons.add(occurred_at=reason.occurred_at, message=reason.reason)
        if event.HasField("custom_info"):
            for key, value in event.custom_info.fields.items():
                closure.custom_info.fields[key].CopyFrom(value)
        if event.task_type:
            closure.task_type = event.task_type
        if event.HasField("metadata"):
            _merge_task_metadata(closure.metadata, event.metadata)
        closure.event_version = event.event_version
        if event.HasField("log_context"):
            closure.log_context.CopyFrom(event.log_context)
        self._outputs(event, closure, prefix)
        if event.phase in TASK_TERMINAL:
            _set_duration(closure, t)
        values: dict[str, Any] = {
            "phase": TASK.Phase.Name(event.phase),
            "phase_version": event.phase_version,
            "input_uri": input_uri,
            "started_at": _started(closure),
            "task_execution_updated_at": t,
            "duration": closure.duration.ToNanoseconds() / 1e9,
            "closure": closure.SerializeToString(),
        }
        with self.ctx.store.transaction():
            if row is None:
                task_id = event.task_id
                self.ctx.store.insert(
                    "task_executions",
                    {
                        "project": task_id.project,
                        "domain": task_id.domain,
                        "name": task_id.name,
                        "version": task_id.version,
                        "execution_project": node.execution_id.project,
                        "execution_domain": node.execution_id.domain,
                        "execution_name": node.execution_id.name,
                        "node_id": node.node_id,
                        "retry_attempt": event.retry_attempt,
                        "task_execution_created_at": t,
                        **values,
                    },
                )
            else:
                self.ctx.store.update("task_executions", row["id"], values)


def _task_execution_id(event: Any) -> Any:
    from flyteidl.core import identifier_pb2

    out = identifier_pb2.TaskExecutionIdentifier(retry_attempt=event.retry_attempt)
    out.task_id.CopyFrom(event.task_id)
    out.node_execution_id.CopyFrom(event.parent_node_execution_id)
    return out


def _merge_external_resource(existing: Any, latest: Any) -> None:
    if latest.external_id:
        existing.external_id = latest.external_id
    existing.phase = latest.phase
    if latest.cache_status != catalog_pb2.CACHE_DISABLED:
        existing.cache_status = latest.cache_status
    merged = _merge_logs(existing.logs, latest.logs)
    del existing.logs[:]
    existing.logs.extend(merged)
    if latest.HasField("custom_info"):
        existing.custom_info.CopyFrom(latest.custom_info)


def _merge_task_metadata(existing: Any, latest: Any) -> None:
    """flyteadmin's mergeMetadata: external resources are keyed by (index, retry_attempt), kept in that order;
    a reported one updates the existing entry (phase, id, logs, cache status unless CACHE_DISABLED)."""
    if latest.generated_name:
        existing.generated_name = latest.generated_name
    if latest.plugin_identifier:
        existing.plugin_identifier = latest.plugin_identifier
    if latest.instance_class:
        existing.instance_class = latest.instance_class
    del existing.resource_pool_info[:]
    existing.resource_pool_info.extend(latest.resource_pool_info)
    by_key = {(r.index, r.retry_attempt): r for r in existing.external_resources}
    for r in latest.external_resources:
        current = by_key.get((r.index, r.retry_attempt))
        if current is None:
            added = existing.external_resources.add()
            added.CopyFrom(r)
            by_key[(r.index, r.retry_attempt)] = added
        else:
            _merge_external_resource(current, r)
    ordered = sorted(existing.external_resources, key=lambda r: (r.index, r.retry_attempt))
    copies = [type(r)() for r in ordered]
    for target, source in zip(copies, ordered, strict=True):
        target.CopyFrom(source)
    del existing.external_resources[:]
    existing.external_resources.extend(copies)


def core_cache_status(closure: Any) -> str | None:
    if closure.WhichOneof("target_metadata") != "task_node_metadata":
        return None
    return str(catalog_pb2.CatalogCacheStatus.Name(closure.task_node_metadata.cache_status))


def fail_interrupted(store: Store) -> int:
    """Mark executions, node and task executions left non-terminal by a previous run FAILED (SandboxRestarted).

    Returns the number of workflow executions marked.
    """
    t = now()
    error = core_execution_pb2.ExecutionError(
        code=RESTART_CODE, message=RESTART_MESSAGE, kind=core_execution_pb2.ExecutionError.SYSTEM
    )
    error.timestamp.CopyFrom(ts(t))
    count = 0
    wf_terminal = [WF.Phase.Name(p) for p in TERMINAL_PHASES]
    node_terminal = [NODE.Phase.Name(p) for p in NODE_TERMINAL]
    task_terminal = [TASK.Phase.Name(p) for p in TASK_TERMINAL]
    specs: list[tuple[str, list[str], Any, Any, str]] = [
        ("executions", wf_terminal, execution_pb2.ExecutionClosure, WF.FAILED, "execution_updated_at"),
        (
            "node_executions",
            node_terminal,
            node_execution_pb2.NodeExecutionClosure,
            NODE.FAILED,
            "node_execution_updated_at",
        ),
        (
            "task_executions",
            task_terminal,
            task_execution_pb2.TaskExecutionClosure,
            TASK.FAILED,
            "task_execution_updated_at",
        ),
    ]
    with store.transaction():
        for table, terminal, closure_cls, failed, updated_col in specs:
            marks = ", ".join("?" for _ in terminal)
            rows = store.all(f"SELECT id, closure FROM {table} WHERE phase NOT IN ({marks})", terminal)
            for r in rows:
                closure = closure_cls.FromString(r["closure"])
                closure.phase = failed
                closure.error.CopyFrom(error)
                closure.updated_at.CopyFrom(ts(t))
                _set_duration(closure, t)
                values: dict[str, Any] = {
                    "phase": type(closure)
                    .DESCRIPTOR.fields_by_name["phase"]
                    .enum_type.values_by_number[failed]
                    .name,
                    updated_col: t,
                    "duration": closure.duration.ToNanoseconds() / 1e9,
                    "closure": closure.SerializeToString(),
                }
                if table != "task_executions":
                    values.update(error_kind="SYSTEM", error_code=RESTART_CODE)
                store.update(table, r["id"], values)
            if table == "executions":
                count = len(rows)
    return count
