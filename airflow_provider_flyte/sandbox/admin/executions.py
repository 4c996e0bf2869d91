"""Workflow executions (flyteadmin's execution manager): create, relaunch, recover, get, list, update, terminate.

CreateExecution accepts a launch plan or a task (run alone through a generated ``.flytegen.<task>`` workflow and
launch plan), checks the inputs against the launch plan exactly as flyteadmin does, merges the execution spec
(request > launch plan > defaults), offloads the inputs to the blob store, records the execution (phase
UNDEFINED) and hands an :class:`~airflow_provider_flyte.sandbox.interfaces.ExecutionJob` to the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flyteidl.admin import execution_pb2, launch_plan_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2, metrics_pb2

from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.details import terminal_state_details
from airflow_provider_flyte.sandbox.admin.entities import LAUNCH_PLANS, TASKS, Entities
from airflow_provider_flyte.sandbox.admin.names import (
    checked_execution_name,
    exec_key,
    fmt_execution,
    generate_execution_name,
    now,
    ts,
)
from airflow_provider_flyte.sandbox.admin.projects import Projects
from airflow_provider_flyte.sandbox.admin.validation import (
    check_execution_inputs,
    require,
    require_message,
    validate_execution_id,
    validate_identifier,
    validate_labels,
)
from airflow_provider_flyte.sandbox.errors import (
    SandboxError,
    already_exists,
    failed_precondition,
    invalid,
    not_found,
)
from airflow_provider_flyte.sandbox.filters import EXECUTION, ListQuery
from airflow_provider_flyte.sandbox.interfaces import ExecutionJob, RecoveredNode
from airflow_provider_flyte.sandbox.store import Row

log = logging.getLogger(__name__)

WorkflowPhase = core_execution_pb2.WorkflowExecution
TERMINAL_PHASES = frozenset(
    {WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.TIMED_OUT, WorkflowPhase.ABORTED}
)
TERMINAL_PHASE_NAMES = tuple(WorkflowPhase.Phase.Name(p) for p in sorted(TERMINAL_PHASES))
#: flyteadmin's default ``maxParallelism``
DEFAULT_MAX_PARALLELISM = 25
Mode = execution_pb2.ExecutionMetadata


def execution_id_of(row: Row) -> Any:
    return identifier_pb2.WorkflowExecutionIdentifier(
        project=row["execution_project"],
        domain=row["execution_domain"],
        name=row["execution_name"],
        org=row["execution_org"],
    )


def execution_of(row: Row) -> Any:
    """The admin ``Execution`` message of a row."""
    out = execution_pb2.Execution(id=execution_id_of(row))
    out.spec.ParseFromString(row["spec"])
    out.closure.ParseFromString(row["closure"])
    return out


def not_found_execution(execution_id: Any) -> SandboxError:
    return not_found(f"missing entity of type execution with identifier {fmt_execution(execution_id)}")


class Executions:
    def __init__(self, ctx: AdminContext, projects: Projects, entities: Entities) -> None:
        self.ctx = ctx
        self.projects = projects
        self.entities = entities

    # -- lookups ---------------------------------------------------------------------------------------------------
    def find_row(self, execution_id: Any) -> Row | None:
        return self.ctx.store.one(
            "SELECT * FROM executions WHERE execution_project = ? AND execution_domain = ? AND execution_name = ?",
            exec_key(execution_id),
        )

    def row(self, execution_id: Any) -> Row:
        row = self.find_row(execution_id)
        if row is None:
            raise not_found_execution(execution_id)
        return row

    def read_literal_map(self, uri: str) -> Any:
        """A LiteralMap from the blob store; a read failure gives an empty map (as flyteadmin)."""
        if not uri:
            return literals_pb2.LiteralMap()
        try:
            return self.ctx.blobs.read_proto(uri, literals_pb2.LiteralMap)
        except (OSError, ValueError) as exc:
            log.warning("could not read literal map %s: %s", uri, exc)
            return literals_pb2.LiteralMap()

    def outputs_of(self, closure: Any) -> Any:
        """Outputs recorded in an execution closure (offloaded or inline)."""
        if closure.HasField("outputs") and closure.outputs.uri:
            return self.read_literal_map(closure.outputs.uri)
        if closure.HasField("output_data"):
            return closure.output_data
        return literals_pb2.LiteralMap()

    # -- create ----------------------------------------------------------------------------------------------------
    async def create(
        self,
        request: Any,
        principal: str,
        *,
        keep_principal: bool = False,
        recovered_nodes: Mapping[str, RecoveredNode] | None = None,
    ) -> Any:
        """CreateExecution; ``keep_principal`` keeps ``spec.metadata.principal`` (executions the engine launches);
        ``recovered_nodes``: the original execution's reusable nodes (RecoverExecution)."""
        require(request.project, "project")
        require(request.domain, "domain")
        name = checked_execution_name(request.name) if request.name else generate_execution_name()
        require_message(request, "spec", "spec")
        spec = request.spec
        target = validate_identifier(spec, "launch_plan", identifier_pb2.LAUNCH_PLAN, identifier_pb2.TASK)
        validate_labels(spec.labels)
        validate_labels(spec.annotations, "annotations")
        self.projects.check_project_domain(request.project, request.domain)
        execution_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=name, org=request.org
        )
        if self.find_row(execution_id) is not None:
            raise already_exists(
                f"value with matching already exists (execution {fmt_execution(execution_id)} already exists; "
                "choose another name or omit it to have one generated)"
            )
        task_row_id = None
        if target.resource_type == identifier_pb2.TASK:
            task_row = self.entities.row(TASKS, target)
            task = self.entities.load(TASKS, target)
            lp, wf_row = self.entities.ensure_flytegen(task)
            lp_row = self.entities.row(LAUNCH_PLANS, lp.id)
            task_row_id = task_row["id"]
            wf_row_id = int(wf_row["id"])
        else:
            lp_row = self.entities.row(LAUNCH_PLANS, target)
            lp = launch_plan_pb2.LaunchPlan.FromString(lp_row["proto"])
            wf_row_id = int(lp_row["workflow_id"])
        workflow = self.entities.workflow_by_row_id(wf_row_id)
        user_inputs = request.inputs if request.inputs.literals else spec.inputs
        inputs = check_execution_inputs(user_inputs, lp.spec.fixed_inputs, lp.closure.expected_inputs)
        resolved = self._resolve_spec(spec, lp, principal, keep_principal)
        prefix = self.ctx.metadata_prefix(execution_id.project, execution_id.domain, name)
        inputs_uri, user_inputs_uri = f"{prefix}/inputs", f"{prefix}/user_inputs"
        self.ctx.blobs.write_proto(inputs_uri, inputs)
        self.ctx.blobs.write_proto(user_inputs_uri, user_inputs)
        t = now()
        closure = execution_pb2.ExecutionClosure(phase=WorkflowPhase.UNDEFINED)
        closure.created_at.CopyFrom(ts(t))
        closure.updated_at.CopyFrom(ts(t))
        closure.workflow_id.CopyFrom(workflow.id)
        closure.state_change_details.state = execution_pb2.EXECUTION_ACTIVE
        closure.state_change_details.occurred_at.CopyFrom(ts(t))
        closure.state_change_details.principal = resolved.metadata.principal
        closure.notifications.extend(resolved.notifications.notifications)
        with self.ctx.store.transaction():
            self.ctx.store.insert(
                "executions",
                {
                    "execution_project": execution_id.project,
                    "execution_domain": execution_id.domain,
                    "execution_name": name,
                    "execution_org": execution_id.org,
                    "launch_plan_id": lp_row["id"],
                    "workflow_id": wf_row_id,
                    "task_id": task_row_id,
                    "phase": "UNDEFINED",
                    "execution_created_at": t,
                    "execution_updated_at": t,
                    "created_at": t,
                    "updated_at": t,
                    "mode": resolved.metadata.mode,
                    "source_execution_id": self._row_id_of(resolved.metadata, "reference_execution"),
                    "parent_node_execution_id": self._parent_node_row_id(resolved.metadata),
                    "cluster": "sandbox",
                    "inputs_uri": inputs_uri,
                    "user_inputs_uri": user_inputs_uri,
                    "user": resolved.metadata.principal,
                    "state": execution_pb2.EXECUTION_ACTIVE,
                    "launch_entity": "task" if task_row_id is not None else "launch_plan",
                    "spec": resolved.SerializeToString(),
                    "closure": closure.SerializeToString(),
                },
            )
        job = ExecutionJob(
            execution_id=execution_id,
            closure=workflow.closure.compiled_workflow,
            inputs=inputs,
            spec=resolved,
            metadata_prefix=prefix,
            raw_output_prefix=self._raw_output_prefix(resolved, execution_id),
            recovered_nodes=recovered_nodes or {},
        )
        try:
            await self.ctx.require_engine().start(job)
        except Exception as exc:  # the execution exists; record why it could not start
            log.exception("engine failed to start %s", fmt_execution(execution_id))
            self._fail_to_launch(execution_id, exc)
        return execution_pb2.ExecutionCreateResponse(id=execution_id)

    def _row_id_of(self, metadata: Any, field: str) -> int:
        if not metadata.HasField(field):
            return 0
        row = self.find_row(getattr(metadata, field))
        return int(row["id"]) if row is not None else 0

    def _parent_node_row_id(self, metadata: Any) -> int:
        if not metadata.HasField("parent_node_execution"):
            return 0
        parent = metadata.parent_node_execution
        row = self.ctx.store.one(
            "SELECT id FROM node_executions WHERE execution_project = ? AND execution_domain = ? AND "
            "execution_name = ? AND node_id = ?",
            (*exec_key(parent.execution_id), parent.node_id),
        )
        return int(row["id"]) if row is not None else 0

    def _raw_output_prefix(self, spec: Any, execution_id: Any) -> str:
        base = spec.raw_output_data_config.output_location_prefix.rstrip("/")
        return f"{base}/{execution_id.project}/{execution_id.domain}/{execution_id.name}"

    def _resolve_spec(self, request_spec: Any, lp: Any, principal: str, keep_principal: bool) -> Any:
        """The execution spec flyteadmin stores: request > launch plan > defaults."""
        out = execution_pb2.ExecutionSpec()
        out.CopyFrom(request_spec)
        out.ClearField("inputs")
        if not keep_principal:
            out.metadata.principal = principal
        lps = lp.spec
        if not out.labels.values and lps.labels.values:
            out.labels.CopyFrom(lps.labels)
        if not out.annotations.values and lps.annotations.values:
            out.annotations.CopyFrom(lps.annotations)
        if not out.HasField("security_context") or out.security_context.ByteSize() == 0:
            if lps.HasField("security_context") and lps.security_context.ByteSize() > 0:
                out.security_context.CopyFrom(lps.security_context)
            else:
                out.security_context.run_as.SetInParent()
        if out.max_parallelism <= 0:
            out.max_parallelism = lps.max_parallelism if lps.max_parallelism > 0 else DEFAULT_MAX_PARALLELISM
        if not out.raw_output_data_config.output_location_prefix:
            if lps.raw_output_data_config.output_location_prefix:
                out.raw_output_data_config.CopyFrom(lps.raw_output_data_config)
            else:
                out.raw_output_data_config.output_location_prefix = self.ctx.blobs.uri("raw")
        if not out.HasField("interruptible") and lps.HasField("interruptible"):
            out.interruptible.CopyFrom(lps.interruptible)
        if not out.overwrite_cache and lps.overwrite_cache:
            out.overwrite_cache = True
        if not out.envs.values and lps.envs.values:
            out.envs.CopyFrom(lps.envs)
        if not out.HasField("quality_of_service") and lps.HasField("quality_of_service"):
            out.quality_of_service.CopyFrom(lps.quality_of_service)
        if not out.HasField("cluster_assignment") and lps.HasField("cluster_assignment"):
            out.cluster_assignment.CopyFrom(lps.cluster_assignment)
        has_own = out.WhichOneof("notification_overrides") == "notifications" and len(
            out.notifications.notifications
        )
        if not has_own and not out.disable_all:
            out.notifications.notifications.extend(lps.entity_metadata.notifications)
        return out

    def _fail_to_launch(self, execution_id: Any, exc: Exception) -> None:
        row = self.row(execution_id)
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        closure.phase = WorkflowPhase.FAILED
        closure.error.code = "LaunchFailed"
        closure.error.message = (
            f"the sandbox engine could not start the execution: {type(exc).__name__}: {exc}"
        )
        closure.error.kind = core_execution_pb2.ExecutionError.SYSTEM
        t = now()
        closure.updated_at.CopyFrom(ts(t))
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "executions",
                row["id"],
                {
                    "phase": "FAILED",
                    "error_kind": "SYSTEM",
                    "error_code": "LaunchFailed",
                    "execution_updated_at": t,
                    "closure": closure.SerializeToString(),
                },
            )
        self.ctx.waiters.resolve_terminal(exec_key(execution_id))

    # -- relaunch / recover ----------------------------------------------------------------------------------------
    def _recreate_request(self, source: Row, name: str) -> Any:
        request = execution_pb2.ExecutionCreateRequest(
            project=source["execution_project"],
            domain=source["execution_domain"],
            name=name,
            org=source["execution_org"],
        )
        request.spec.ParseFromString(source["spec"])
        request.inputs.CopyFrom(self.read_literal_map(source["user_inputs_uri"]))
        return request

    async def relaunch(self, request: Any, principal: str) -> Any:
        execution_id = validate_execution_id(request)
        source = self.row(execution_id)
        create = self._recreate_request(source, request.name)
        create.spec.metadata.Clear()
        create.spec.metadata.mode = Mode.RELAUNCH
        create.spec.metadata.reference_execution.CopyFrom(execution_id)
        create.spec.overwrite_cache = request.overwrite_cache
        return await self.create(create, principal)

    async def recover(self, request: Any, principal: str) -> Any:
        execution_id = validate_execution_id(request)
        source = self.row(execution_id)
        create = self._recreate_request(source, request.name)
        create.spec.metadata.Clear()
        create.spec.metadata.mode = Mode.RECOVERED
        create.spec.metadata.reference_execution.CopyFrom(execution_id)
        if request.metadata.HasField("parent_node_execution"):
            create.spec.metadata.parent_node_execution.CopyFrom(request.metadata.parent_node_execution)
        return await self.create(create, principal, recovered_nodes=self._recoverable_nodes(execution_id))

    def _recoverable_nodes(self, execution_id: Any) -> dict[str, RecoveredNode]:
        """The node executions of ``execution_id`` a recovery reuses (SUCCEEDED or RECOVERED, start and end nodes
        aside), with their inputs and outputs: what propeller's RecoverNodeExecution[Data] calls return."""
        from flyteidl.admin import node_execution_pb2
        from flyteidl.event import event_pb2

        rows = self.ctx.store.all(
            "SELECT node_id, input_uri, closure, internal_data FROM node_executions WHERE execution_project = ? "
            "AND execution_domain = ? AND execution_name = ? AND phase IN ('SUCCEEDED', 'RECOVERED') "
            "AND node_id NOT IN ('start-node', 'end-node')",
            exec_key(execution_id),
        )
        result = {}
        for row in rows:
            closure = node_execution_pb2.NodeExecutionClosure.FromString(row["closure"])
            if closure.HasField("output_data"):
                outputs = closure.output_data
            else:
                outputs = self.read_literal_map(closure.output_uri)
            task_node = child = None
            if closure.HasField("task_node_metadata"):
                task_node = event_pb2.TaskNodeMetadata(
                    cache_status=closure.task_node_metadata.cache_status,
                    catalog_key=closure.task_node_metadata.catalog_key,
                )
                if row["internal_data"]:
                    task_node.dynamic_workflow.ParseFromString(row["internal_data"])
            elif closure.HasField("workflow_node_metadata"):
                child = closure.workflow_node_metadata.executionId
            result[row["node_id"]] = RecoveredNode(
                inputs=self.read_literal_map(row["input_uri"]),
                outputs=outputs,
                task_node=task_node,
                child_execution=child,
            )
        return result

    # -- read ------------------------------------------------------------------------------------------------------
    def get(self, request: Any) -> Any:
        return execution_of(self.row(validate_execution_id(request)))

    def list(self, request: Any) -> Any:
        if not request.HasField("id"):
            raise invalid("missing id")
        require(request.id.project, "project")
        require(request.id.domain, "domain")
        where = ["executions.execution_project = ?", "executions.execution_domain = ?"]
        params: list[Any] = [request.id.project, request.id.domain]
        if request.id.name:
            where.append("executions.execution_name = ?")
            params.append(request.id.name)

        def active_only(conditions: list[Any]) -> list[tuple[str, Any]]:
            if any(c.entity is EXECUTION and c.column == "state" for c in conditions):
                return []
            return [("executions.state = ?", (execution_pb2.EXECUTION_ACTIVE,))]

        query = ListQuery.of(
            EXECUTION,
            "ListExecutions",
            request,
            where=where,
            params=params,
            adjust=active_only,
        )
        rows, token = self.ctx.page(query)
        out = execution_pb2.ExecutionList(token=token)
        out.executions.extend(execution_of(r) for r in rows)
        return out

    def get_data(self, request: Any) -> Any:
        row = self.row(validate_execution_id(request))
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        out = execution_pb2.WorkflowExecutionGetDataResponse()
        out.full_inputs.CopyFrom(self.read_literal_map(row["inputs_uri"]))
        out.full_outputs.CopyFrom(self.outputs_of(closure))
        return out

    def metrics(self, request: Any) -> Any:
        row = self.row(validate_execution_id(request))
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        span = metrics_pb2.Span()
        span.workflow_id.CopyFrom(execution_id_of(row))
        span.start_time.CopyFrom(closure.started_at if closure.HasField("started_at") else closure.created_at)
        span.end_time.CopyFrom(closure.updated_at)
        return execution_pb2.WorkflowExecutionGetMetricsResponse(span=span)

    # -- update / terminate ----------------------------------------------------------------------------------------
    def update(self, request: Any, principal: str) -> Any:
        execution_id = validate_execution_id(request)
        if request.state not in execution_pb2.ExecutionState.values():
            raise invalid(f"invalid state {request.state}: use EXECUTION_ACTIVE or EXECUTION_ARCHIVED")
        row = self.row(execution_id)
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        t = now()
        closure.state_change_details.state = request.state
        closure.state_change_details.occurred_at.CopyFrom(ts(t))
        closure.state_change_details.principal = principal
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "executions", row["id"], {"state": request.state, "closure": closure.SerializeToString()}
            )
        return execution_pb2.ExecutionUpdateResponse()

    async def terminate(self, request: Any, principal: str) -> Any:
        execution_id = validate_execution_id(request)
        await self.abort(execution_id, request.cause, principal)
        return execution_pb2.ExecutionTerminateResponse()

    async def abort(self, execution_id: Any, cause: str, principal: str) -> None:
        """Move the execution to ABORTING (with abort_metadata) and ask the engine to abort it."""
        row = self.row(execution_id)
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        if closure.phase in TERMINAL_PHASES:
            raise failed_precondition(
                "Cannot abort an already terminated workflow execution",
                terminal_state_details(
                    "Cannot abort an already terminated workflow execution",
                    WorkflowPhase.Phase.Name(closure.phase),
                ),
            )
        t = now()
        closure.phase = WorkflowPhase.ABORTING
        closure.abort_metadata.cause = cause
        closure.abort_metadata.principal = principal
        closure.updated_at.CopyFrom(ts(t))
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "executions",
                row["id"],
                {
                    "phase": "ABORTING",
                    "abort_cause": cause,
                    "execution_updated_at": t,
                    "closure": closure.SerializeToString(),
                },
            )
        engine = self.ctx.require_engine()
        await engine.abort(execution_id, cause)
        is_running = getattr(engine, "is_running", None)
        if is_running is not None and not is_running(execution_id):
            self._finish_abort(execution_id)

    def _finish_abort(self, execution_id: Any) -> None:
        """The engine does not run this execution (any more): record ABORTED ourselves if it is still ABORTING."""
        row = self.row(execution_id)
        closure = execution_pb2.ExecutionClosure.FromString(row["closure"])
        if closure.phase != WorkflowPhase.ABORTING:
            return
        t = now()
        closure.phase = WorkflowPhase.ABORTED
        closure.updated_at.CopyFrom(ts(t))
        with self.ctx.store.transaction():
            self.ctx.store.update(
                "executions",
                row["id"],
                {"phase": "ABORTED", "execution_updated_at": t, "closure": closure.SerializeToString()},
            )
        self.ctx.waiters.resolve_terminal(exec_key(execution_id))
