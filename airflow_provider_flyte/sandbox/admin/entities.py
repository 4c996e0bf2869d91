"""Tasks, workflows, launch plans and named entities (flyteadmin's task/workflow/launch plan/named entity managers).

Registration is idempotent the way flyteadmin's is: the same identifier with identical content -> ALREADY_EXISTS
"<kind> with identical structure already exists"; with different content -> INVALID_ARGUMENT "... with different
structure already exists. (Please register a new version ...)" followed by the differing fields.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from google.protobuf import json_format

from airflow_provider_flyte.remote.codec.inference import describe_type, is_castable
from airflow_provider_flyte.sandbox.admin.compiler import Resolver, compile_workflow
from airflow_provider_flyte.sandbox.admin.context import AdminContext
from airflow_provider_flyte.sandbox.admin.details import ALREADY_EXISTS, INVALID_ARGUMENT, status_details
from airflow_provider_flyte.sandbox.admin.names import (
    FLYTEGEN_PREFIX,
    START_NODE,
    flytegen_node_id,
    fmt,
    now,
    ts,
)
from airflow_provider_flyte.sandbox.admin.projects import Projects
from airflow_provider_flyte.sandbox.admin.validation import (
    literal_type_of,
    missing,
    require,
    require_message,
    validate_identifier,
    validate_labels,
    validate_named_entity_id,
    validate_quantity,
)
from airflow_provider_flyte.sandbox.errors import SandboxError, already_exists, invalid, not_found
from airflow_provider_flyte.sandbox.filters import (
    LAUNCH_PLAN,
    NAMED_ENTITY,
    TASK,
    WORKFLOW,
    Entity,
    ListQuery,
)
from airflow_provider_flyte.sandbox.store import Row

ACTIVE = launch_plan_pb2.ACTIVE
INACTIVE = launch_plan_pb2.INACTIVE


@dataclass(frozen=True)
class Kind:
    """One versioned entity kind."""

    label: str  # as in messages: "task", "workflow", "launch plan"
    resource_type: int
    table: str
    entity: Entity
    message: Any  # admin proto class
    list_message: Any
    list_field: str
    list_name: str


TASKS = Kind(
    "task", identifier_pb2.TASK, "tasks", TASK, task_pb2.Task, task_pb2.TaskList, "tasks", "ListTasks"
)
WORKFLOWS = Kind(
    "workflow",
    identifier_pb2.WORKFLOW,
    "workflows",
    WORKFLOW,
    workflow_pb2.Workflow,
    workflow_pb2.WorkflowList,
    "workflows",
    "ListWorkflows",
)
LAUNCH_PLANS = Kind(
    "launch plan",
    identifier_pb2.LAUNCH_PLAN,
    "launch_plans",
    LAUNCH_PLAN,
    launch_plan_pb2.LaunchPlan,
    launch_plan_pb2.LaunchPlanList,
    "launch_plans",
    "ListLaunchPlans",
)
KINDS = {k.resource_type: k for k in (TASKS, WORKFLOWS, LAUNCH_PLANS)}


def digest(message: Any) -> str:
    return hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else k, out)
    else:
        out[path] = value


def structure_diff(old: Any, new: Any, limit: int = 10) -> str:
    """The fields that differ between two messages, one per line (``path: old -> new``)."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flatten(json_format.MessageToDict(old), "", a)
    _flatten(json_format.MessageToDict(new), "", b)
    lines = [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


class Entities:
    """Registration and retrieval of tasks, workflows and launch plans."""

    def __init__(self, ctx: AdminContext, projects: Projects) -> None:
        self.ctx = ctx
        self.projects = projects
        #: parsed Workflow protos by row id (they are immutable once registered)
        self._workflow_cache: dict[int, Any] = {}

    # -- lookups ---------------------------------------------------------------------------------------------------
    def row(self, kind: Kind, identifier: Any) -> Row:
        row = self.ctx.store.one(
            f"SELECT * FROM {kind.table} WHERE project = ? AND domain = ? AND name = ? AND version = ?",
            (identifier.project, identifier.domain, identifier.name, identifier.version),
        )
        if row is None:
            raise not_found(
                f"missing entity of type {identifier_pb2.ResourceType.Name(kind.resource_type)} with identifier "
                f"{fmt(identifier)}"
            )
        return row

    def load(self, kind: Kind, identifier: Any) -> Any:
        row = self.row(kind, identifier)
        if kind is WORKFLOWS:
            return self.workflow_by_row_id(row["id"], row["proto"])
        return kind.message.FromString(row["proto"])

    def workflow_by_row_id(self, row_id: int, blob: bytes | None = None) -> Any:
        wf = self._workflow_cache.get(row_id)
        if wf is None:
            if blob is None:
                found = self.ctx.store.one("SELECT proto FROM workflows WHERE id = ?", (row_id,))
                if found is None:
                    raise not_found(f"missing entity of type WORKFLOW with row id {row_id}")
                blob = found["proto"]
            wf = workflow_pb2.Workflow.FromString(blob)
            self._workflow_cache[row_id] = wf
        return wf

    def _existing(
        self, kind: Kind, identifier: Any, new_digest: str, new_content: Any, old_content: Any
    ) -> None:
        """Raise the right error if this identifier is already registered."""
        row = self.ctx.store.one(
            f"SELECT digest, proto FROM {kind.table} WHERE project = ? AND domain = ? AND name = ? AND version = ?",
            (identifier.project, identifier.domain, identifier.name, identifier.version),
        )
        if row is None:
            return
        if row["digest"] == new_digest:
            message = f"{kind.label} with identical structure already exists"
            details = None
            if kind is WORKFLOWS:
                reason = workflow_pb2.CreateWorkflowFailureReason()
                reason.exists_identical_structure.id.CopyFrom(identifier)
                details = status_details(ALREADY_EXISTS, message, reason)
            raise already_exists(message, details)
        old = old_content(kind.message.FromString(row["proto"]))
        message = (
            f"{identifier.name} {kind.label} with different structure already exists. (Please register a new "
            f"version of the {kind.label}):\n{structure_diff(old, new_content)}"
        )
        error = invalid(message)
        if kind is WORKFLOWS:
            reason = workflow_pb2.CreateWorkflowFailureReason()
            reason.exists_different_structure.id.CopyFrom(identifier)
            error.details = status_details(INVALID_ARGUMENT, message, reason)
        raise error

    # -- tasks -----------------------------------------------------------------------------------------------------
    def create_task(self, request: Any) -> Any:
        identifier = validate_identifier(request, "id", identifier_pb2.TASK)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        require_message(request, "spec", "spec")
        require_message(request.spec, "template", "template")
        template = request.spec.template
        self._validate_task_template(template)
        template.id.CopyFrom(identifier)
        d = digest(template)
        self._existing(TASKS, identifier, d, template, lambda t: t.closure.compiled_task.template)
        task = task_pb2.Task(id=identifier, short_description=request.spec.description.short_description)
        t = now()
        task.closure.compiled_task.template.CopyFrom(template)
        task.closure.created_at.CopyFrom(ts(t))
        with self.ctx.store.transaction():
            self.ctx.store.insert(
                "tasks",
                {
                    "project": identifier.project,
                    "domain": identifier.domain,
                    "name": identifier.name,
                    "version": identifier.version,
                    "org": identifier.org,
                    "type": template.type,
                    "digest": d,
                    "short_description": task.short_description,
                    "proto": task.SerializeToString(),
                    "created_at": t,
                    "updated_at": t,
                },
            )
        return task_pb2.TaskCreateResponse()

    @staticmethod
    def _validate_task_template(template: Any) -> None:
        require(template.type, "type")
        require_message(template, "metadata", "metadata")
        require_message(template, "interface", "typed interface")
        if template.WhichOneof("target") == "container":
            container = template.container
            require(container.image, "image")
            for group, entries in (
                ("requests", container.resources.requests),
                ("limits", container.resources.limits),
            ):
                for entry in entries:
                    validate_quantity(entry.value, f"template.container.resources.{group} ({entry.name})")

    # -- workflows -------------------------------------------------------------------------------------------------
    def resolver(self) -> Resolver:
        def task(identifier: Any) -> Any:
            return self.load(TASKS, identifier).closure.compiled_task.template

        def lp_interface(identifier: Any) -> tuple[set[str], set[str]]:
            lp = self.load(LAUNCH_PLANS, identifier)
            return set(lp.closure.expected_inputs.parameters), set(lp.closure.expected_outputs.variables)

        return Resolver(task=task, launch_plan_interface=lp_interface)

    def create_workflow(self, request: Any, *, system_generated: bool = False) -> Any:
        identifier = validate_identifier(request, "id", identifier_pb2.WORKFLOW)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        if not request.HasField("spec") or not request.spec.HasField("template"):
            raise missing("spec")
        template = request.spec.template
        template.id.CopyFrom(identifier)
        spec_digest = digest(request.spec)
        self._existing(
            WORKFLOWS, identifier, spec_digest, template, lambda w: _primary_without_system_nodes(w)
        )
        closure = compile_workflow(template, list(request.spec.sub_workflows), self.resolver())
        t = now()
        wf = workflow_pb2.Workflow(
            id=identifier, short_description=request.spec.description.short_description
        )
        wf.closure.compiled_workflow.CopyFrom(closure)
        wf.closure.created_at.CopyFrom(ts(t))
        with self.ctx.store.transaction():
            self.ctx.store.insert(
                "workflows",
                {
                    "project": identifier.project,
                    "domain": identifier.domain,
                    "name": identifier.name,
                    "version": identifier.version,
                    "org": identifier.org,
                    "digest": spec_digest,
                    "short_description": wf.short_description,
                    "proto": wf.SerializeToString(),
                    "created_at": t,
                    "updated_at": t,
                },
            )
            if system_generated:
                self._mark_system_generated(identifier_pb2.WORKFLOW, identifier)
        return workflow_pb2.WorkflowCreateResponse()

    # -- launch plans ----------------------------------------------------------------------------------------------
    def create_launch_plan(self, request: Any, *, system_generated: bool = False) -> Any:
        identifier = validate_identifier(request, "id", identifier_pb2.LAUNCH_PLAN)
        self.projects.check_project_domain(identifier.project, identifier.domain)
        require_message(request, "spec", "spec")
        spec = request.spec
        validate_identifier(spec, "workflow_id", identifier_pb2.WORKFLOW)
        validate_labels(spec.labels)
        validate_labels(spec.annotations, "annotations")
        wf_row = self.row(WORKFLOWS, spec.workflow_id)
        wf = self.workflow_by_row_id(wf_row["id"], wf_row["proto"])
        interface = wf.closure.compiled_workflow.primary.template.interface
        expected = expected_inputs_for_launch_plan(interface.inputs, spec.fixed_inputs, spec.default_inputs)
        _validate_schedule(spec, expected)
        spec.default_inputs.CopyFrom(expected)
        d = digest(spec)
        self._existing(LAUNCH_PLANS, identifier, d, spec, lambda lp: lp.spec)
        t = now()
        lp = launch_plan_pb2.LaunchPlan(id=identifier, spec=spec)
        lp.closure.state = INACTIVE
        lp.closure.expected_inputs.CopyFrom(expected)
        lp.closure.expected_outputs.CopyFrom(interface.outputs)
        lp.closure.created_at.CopyFrom(ts(t))
        lp.closure.updated_at.CopyFrom(ts(t))
        schedule = spec.entity_metadata.schedule
        schedule_type = "NONE"
        if spec.entity_metadata.HasField("schedule"):
            schedule_type = "RATE" if schedule.WhichOneof("ScheduleExpression") == "rate" else "CRON"
        with self.ctx.store.transaction():
            self.ctx.store.insert(
                "launch_plans",
                {
                    "project": identifier.project,
                    "domain": identifier.domain,
                    "name": identifier.name,
                    "version": identifier.version,
                    "org": identifier.org,
                    "workflow_id": wf_row["id"],
                    "state": INACTIVE,
                    "digest": d,
                    "schedule_type": schedule_type,
                    "proto": lp.SerializeToString(),
                    "created_at": t,
                    "updated_at": t,
                },
            )
            if system_generated:
                self._mark_system_generated(identifier_pb2.LAUNCH_PLAN, identifier)
        return launch_plan_pb2.LaunchPlanCreateResponse()

    def update_launch_plan(self, request: Any) -> Any:
        identifier = validate_identifier(request, "id", identifier_pb2.LAUNCH_PLAN)
        row = self.row(LAUNCH_PLANS, identifier)
        if request.state not in (ACTIVE, INACTIVE):
            raise invalid(
                f"Unrecognized launch plan state {request.state} for update for launch plan [{fmt(identifier)}]; "
                "use ACTIVE or INACTIVE"
            )
        t = now()
        with self.ctx.store.transaction():
            if request.state == ACTIVE:
                for other in self.ctx.store.all(
                    "SELECT id, proto FROM launch_plans WHERE project = ? AND domain = ? AND name = ? AND state = ?"
                    " AND id <> ?",
                    (identifier.project, identifier.domain, identifier.name, ACTIVE, row["id"]),
                ):
                    self._set_lp_state(other["id"], other["proto"], INACTIVE, t)
            self._set_lp_state(row["id"], row["proto"], request.state, t)
        return launch_plan_pb2.LaunchPlanUpdateResponse()

    def _set_lp_state(self, row_id: int, blob: bytes, state: int, t: float) -> None:
        lp = launch_plan_pb2.LaunchPlan.FromString(blob)
        lp.closure.state = state
        lp.closure.updated_at.CopyFrom(ts(t))
        self.ctx.store.update(
            "launch_plans", row_id, {"state": state, "proto": lp.SerializeToString(), "updated_at": t}
        )

    def get_active_launch_plan(self, request: Any) -> Any:
        if not request.HasField("id"):
            raise missing("id")
        validate_named_entity_id(request.id)
        i = request.id
        row = self.ctx.store.one(
            "SELECT proto FROM launch_plans WHERE project = ? AND domain = ? AND name = ? AND state = ?",
            (i.project, i.domain, i.name, ACTIVE),
        )
        if row is None:
            raise not_found(f"No active launch plan could be found: {i.project}:{i.domain}:{i.name}")
        return launch_plan_pb2.LaunchPlan.FromString(row["proto"])

    def list_active_launch_plans(self, request: Any) -> Any:
        require(request.project, "project")
        require(request.domain, "domain")
        query = ListQuery.of(
            LAUNCH_PLAN,
            "ListActiveLaunchPlans",
            request,
            where=["launch_plans.project = ?", "launch_plans.domain = ?", "launch_plans.state = ?"],
            params=[request.project, request.domain, ACTIVE],
        )
        return self._run_list(LAUNCH_PLANS, query)

    # -- generic get / list ----------------------------------------------------------------------------------------
    def get(self, kind: Kind, request: Any) -> Any:
        identifier = validate_identifier(request, "id", kind.resource_type)
        return self.load(kind, identifier)

    def list(self, kind: Kind, request: Any) -> Any:
        if not request.HasField("id"):
            raise missing("id")
        validate_named_entity_id(request.id, name_required=False)
        where = [f"{kind.table}.project = ?", f"{kind.table}.domain = ?"]
        params: list[Any] = [request.id.project, request.id.domain]
        if request.id.name:
            where.append(f"{kind.table}.name = ?")
            params.append(request.id.name)
        query = ListQuery.of(
            kind.entity,
            kind.list_name,
            request,
            where=where,
            params=params,
        )
        return self._run_list(kind, query)

    def _run_list(self, kind: Kind, query: ListQuery) -> Any:
        rows, token = self.ctx.page(query)
        out = kind.list_message(token=token)
        items = getattr(out, kind.list_field)
        for r in rows:
            item = kind.message.FromString(r["proto"])
            if kind is WORKFLOWS:
                item.closure.ClearField("compiled_workflow")
            items.append(item)
        return out

    def list_ids(self, kind: Kind, request: Any) -> Any:
        require(request.project, "project")
        require(request.domain, "domain")
        source = (
            f"(SELECT project, domain, name, MIN(created_at) AS created_at, MAX(updated_at) AS updated_at, "
            f"MAX(id) AS id FROM {kind.table} WHERE project = ? AND domain = ? GROUP BY project, domain, name) AS entities"
        )
        query = ListQuery.of(
            NAMED_ENTITY,
            f"{kind.list_name[:-1]}Ids",
            request,
            params=[request.project, request.domain],
            source=source,
            select="entities.project, entities.domain, entities.name",
        )
        rows, token = self.ctx.page(query)
        out = common_pb2.NamedEntityIdentifierList(token=token)
        for r in rows:
            out.entities.add(project=r["project"], domain=r["domain"], name=r["name"])
        return out

    # -- named entities --------------------------------------------------------------------------------------------
    def _named_kind(self, resource_type: int) -> Kind:
        kind = KINDS.get(resource_type)
        if kind is None:
            label = (
                identifier_pb2.ResourceType.Name(resource_type) if resource_type in (0, 4) else resource_type
            )
            raise invalid(
                f"Resource type {label} is not supported for named entities (resource_type): use TASK, WORKFLOW or "
                "LAUNCH_PLAN"
            )
        return kind

    def _named_entity(self, kind: Kind, project: str, domain: str, name: str) -> Any:
        entity = common_pb2.NamedEntity(resource_type=kind.resource_type)
        entity.id.project, entity.id.domain, entity.id.name = project, domain, name
        meta = self.ctx.store.one(
            "SELECT description, state FROM named_entity_metadata WHERE resource_type = ? AND project = ? "
            "AND domain = ? AND name = ?",
            (kind.resource_type, project, domain, name),
        )
        if meta is not None:
            entity.metadata.description = meta["description"]
            entity.metadata.state = meta["state"]
        return entity

    def _check_named_exists(self, kind: Kind, identifier: Any) -> None:
        row = self.ctx.store.one(
            f"SELECT 1 FROM {kind.table} WHERE project = ? AND domain = ? AND name = ? LIMIT 1",
            (identifier.project, identifier.domain, identifier.name),
        )
        if row is None:
            raise not_found(
                f"missing entity of type {identifier_pb2.ResourceType.Name(kind.resource_type)} with identifier "
                f"{identifier.project}:{identifier.domain}:{identifier.name}"
            )

    def get_named_entity(self, request: Any) -> Any:
        kind = self._named_kind(request.resource_type)
        if not request.HasField("id"):
            raise missing("id")
        validate_named_entity_id(request.id)
        self._check_named_exists(kind, request.id)
        return self._named_entity(kind, request.id.project, request.id.domain, request.id.name)

    def update_named_entity(self, request: Any) -> Any:
        kind = self._named_kind(request.resource_type)
        if not request.HasField("id"):
            raise missing("id")
        validate_named_entity_id(request.id)
        require_message(request, "metadata", "metadata")
        self._check_named_exists(kind, request.id)
        with self.ctx.store.transaction():
            self._upsert_metadata(
                kind.resource_type, request.id, request.metadata.description, request.metadata.state
            )
        return common_pb2.NamedEntityUpdateResponse()

    def _upsert_metadata(self, resource_type: int, identifier: Any, description: str, state: int) -> None:
        t = now()
        self.ctx.store.execute(
            "INSERT INTO named_entity_metadata (resource_type, project, domain, name, description, state, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (resource_type, project, domain, name) DO UPDATE"
            " SET description = excluded.description, state = excluded.state, updated_at = excluded.updated_at",
            (resource_type, identifier.project, identifier.domain, identifier.name, description, state, t, t),
        )

    def _mark_system_generated(self, resource_type: int, identifier: Any) -> None:
        self._upsert_metadata(resource_type, identifier, "", common_pb2.SYSTEM_GENERATED)

    def list_named_entities(self, request: Any) -> Any:
        kind = self._named_kind(request.resource_type)
        require(request.project, "project")
        require(request.domain, "domain")
        source = (
            f"(SELECT project, domain, name, MIN(created_at) AS created_at, MAX(updated_at) AS updated_at, "
            f"MAX(id) AS id FROM {kind.table} WHERE project = ? AND domain = ? GROUP BY project, domain, name) "
            "AS entities LEFT JOIN named_entity_metadata ON named_entity_metadata.project = entities.project AND "
            "named_entity_metadata.domain = entities.domain AND named_entity_metadata.name = entities.name AND "
            "named_entity_metadata.resource_type = ?"
        )

        def default_state(conditions: list[Any]) -> list[tuple[str, Any]]:
            if any(c.column == "state" for c in conditions):
                return []
            return [("COALESCE(named_entity_metadata.state, 0) = ?", (common_pb2.NAMED_ENTITY_ACTIVE,))]

        query = ListQuery.of(
            NAMED_ENTITY,
            "ListNamedEntities",
            request,
            params=[request.project, request.domain, kind.resource_type],
            source=source,
            select="entities.project, entities.domain, entities.name, named_entity_metadata.description AS "
            "description, COALESCE(named_entity_metadata.state, 0) AS state",
            adjust=default_state,
        )
        rows, token = self.ctx.page(query)
        out = common_pb2.NamedEntityList(token=token)
        for r in rows:
            entity = out.entities.add(resource_type=kind.resource_type)
            entity.id.project, entity.id.domain, entity.id.name = r["project"], r["domain"], r["name"]
            entity.metadata.description = r["description"] or ""
            entity.metadata.state = r["state"]
        return out

    # -- single-task executions ------------------------------------------------------------------------------------
    def ensure_flytegen(self, task: Any) -> tuple[Any, Row]:
        """The ``.flytegen.<task>`` workflow and launch plan flyteadmin creates to run a task alone.

        Returns (launch plan, workflow row).
        """
        template = task.closure.compiled_task.template
        wf_id = identifier_pb2.Identifier(
            resource_type=identifier_pb2.WORKFLOW,
            project=task.id.project,
            domain=task.id.domain,
            name=FLYTEGEN_PREFIX + task.id.name,
            version=task.id.version,
            org=task.id.org,
        )
        lp_id = identifier_pb2.Identifier()
        lp_id.CopyFrom(wf_id)
        lp_id.resource_type = identifier_pb2.LAUNCH_PLAN
        try:
            wf_row = self.row(WORKFLOWS, wf_id)
        except SandboxError:
            node_id = flytegen_node_id(task.id.name)
            wf = core_workflow_pb2.WorkflowTemplate(id=wf_id, interface=template.interface)
            node = wf.nodes.add(id=node_id)
            node.metadata.name = node_id
            retries = template.metadata.retries.retries if template.metadata.HasField("retries") else 0
            node.metadata.retries.retries = retries
            node.task_node.reference_id.CopyFrom(task.id)
            for name in template.interface.inputs.variables:
                b = node.inputs.add(var=name)
                b.binding.promise.node_id = START_NODE
                b.binding.promise.var = name
            for name in template.interface.outputs.variables:
                b = wf.outputs.add(var=name)
                b.binding.promise.node_id = node_id
                b.binding.promise.var = name
            request = workflow_pb2.WorkflowCreateRequest(id=wf_id)
            request.spec.template.CopyFrom(wf)
            self.create_workflow(request, system_generated=True)
            wf_row = self.row(WORKFLOWS, wf_id)
        try:
            lp = self.load(LAUNCH_PLANS, lp_id)
        except SandboxError:
            request_lp = launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id)
            request_lp.spec.workflow_id.CopyFrom(wf_id)
            request_lp.spec.entity_metadata.SetInParent()
            self.create_launch_plan(request_lp, system_generated=True)
            lp = self.load(LAUNCH_PLANS, lp_id)
        return lp, wf_row


def _primary_without_system_nodes(wf: Any) -> Any:
    """The registered template as the user sent it (for structure diffs)."""
    template = core_workflow_pb2.WorkflowTemplate()
    template.CopyFrom(wf.closure.compiled_workflow.primary.template)
    keep = [n for n in template.nodes if n.id not in ("start-node", "end-node")]
    copies = []
    for n in keep:
        c = core_workflow_pb2.Node()
        c.CopyFrom(n)
        copies.append(c)
    del template.nodes[:]
    template.nodes.extend(copies)
    return template


def expected_inputs_for_launch_plan(workflow_inputs: Any, fixed_inputs: Any, default_inputs: Any) -> Any:
    """flyteadmin's ``checkAndFetchExpectedInputForLaunchPlan``: defaults + unbound workflow inputs (required)."""
    variables = dict(workflow_inputs.variables)
    defaults = dict(default_inputs.parameters)
    fixed = dict(fixed_inputs.literals)
    if not variables:
        if defaults:
            raise invalid(f"invalid launch plan default inputs, expected none but found {len(defaults)}")
        if fixed:
            raise invalid(f"invalid launch plan fixed inputs, expected none but found {len(fixed)}")
        return interface_pb2.ParameterMap()
    for name, parameter in defaults.items():
        if name not in variables:
            raise invalid(f"unexpected default_inputs {name}: the workflow has no such input")
        if not is_castable(parameter.var.type, variables[name].type):
            raise invalid(
                f"invalid default_inputs wrong type {name}, expected {describe_type(variables[name].type)}, "
                f"got {describe_type(parameter.var.type)} instead"
            )
        if parameter.HasField("default"):
            got = literal_type_of(parameter.default, f"default_inputs {name}")
            if not is_castable(got, variables[name].type):
                raise invalid(
                    f"invalid default_inputs wrong type {name}, expected {describe_type(variables[name].type)}, "
                    f"got {describe_type(got)} instead"
                )
    for name, literal in fixed.items():
        if name not in variables:
            raise invalid(f"unexpected fixed_inputs {name}: the workflow has no such input")
        got = literal_type_of(literal, f"fixed_inputs {name}")
        if not is_castable(got, variables[name].type):
            raise invalid(
                f"invalid fixed_inputs wrong type {name}, expected {describe_type(variables[name].type)}, "
                f"got {describe_type(got)} instead"
            )
    expected = interface_pb2.ParameterMap()
    for name, variable in variables.items():
        if name in fixed:
            continue
        if name in defaults:
            expected.parameters[name].CopyFrom(defaults[name])
        else:
            expected.parameters[name].var.CopyFrom(variable)
            expected.parameters[name].required = True
    return expected


def _validate_schedule(spec: Any, expected: Any) -> None:
    if not spec.entity_metadata.HasField("schedule"):
        return
    schedule = spec.entity_metadata.schedule
    kickoff = schedule.kickoff_time_input_arg
    for name, parameter in expected.parameters.items():
        if parameter.required and name != kickoff:
            raise invalid(
                f"Cannot create a launch plan with a schedule if it has required inputs other than the kickoff "
                f"time input arg: {name} (give it a default or a fixed value)"
            )
    if kickoff:
        parameter = expected.parameters.get(kickoff)
        if parameter is None:
            raise invalid(
                f"Cannot create a schedule with a KickoffTimeInputArg that does not point to a free input. [{kickoff}] is not free or does not exist."
            )
        if parameter.var.type.simple != types_pb2.DATETIME:
            raise invalid(
                f"KickoffTimeInputArg must reference a datetime input. [{kickoff}] is a {describe_type(parameter.var.type)}"
            )
    kind = schedule.WhichOneof("ScheduleExpression")
    if kind == "rate":
        if schedule.rate.value <= 0:
            raise invalid(f"Schedule rate value must be positive, got {schedule.rate.value}")
        if schedule.rate.unit not in schedule_pb2.FixedRateUnit.values():
            raise invalid(f"unknown schedule rate unit {schedule.rate.unit}")
    elif kind in ("cron_schedule", "cron_expression"):
        expression = schedule.cron_schedule.schedule if kind == "cron_schedule" else schedule.cron_expression
        if not croniter.is_valid(expression):
            raise invalid(f"invalid cron schedule {expression!r}: use a standard 5-field cron expression")
    else:
        raise invalid("missing schedule expression: set rate or cron_schedule")
