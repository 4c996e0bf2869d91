"""Executions: create (idempotently, by client-chosen name), fetch, sync with nodes, list, terminate, relaunch."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from airflow_provider_flyte.remote.errors import (
    FlyteEntityAlreadyExistsError,
    FlyteEntityNotFoundError,
    FlyteError,
)
from airflow_provider_flyte.remote.models import (
    FlyteLaunchPlan,
    FlyteNodeExecution,
    FlyteTask,
    FlyteTaskExecution,
    FlyteWorkflow,
    FlyteWorkflowExecution,
    Launchable,
    Options,
    local_execution,
)
from airflow_provider_flyte.remote.ops.call import ADMIN, Call, Local, Op
from airflow_provider_flyte.remote.ops.entities import LAUNCH_PLAN, EntityCache, fetch_entity
from airflow_provider_flyte.remote.ops.lists import PAGE_SIZE, join_filters, list_all, sort_by, value_in

START_NODE, END_NODE = "start-node", "end-node"
T = TypeVar("T")


def execution_id(project: str, domain: str, name: str) -> Any:
    """``core.WorkflowExecutionIdentifier``."""
    from flyteidl.core import identifier_pb2

    return identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)


def tag_execution_errors(op: Op[T], exec_id: Any) -> Op[T]:
    """Run ``op``; a :class:`FlyteError` it raises gets ``execution_id`` (and the id in its message) unless it
    has one already. Used for everything from the creation of an execution on: whoever catches the error knows
    which execution may exist, and attaches to it instead of creating a duplicate."""
    try:
        result = yield from op
    except FlyteError as exc:
        if exc.execution_id is None:
            exc.execution_id = exec_id
            exc.message = f"{exc.message} [execution {exec_id.project}:{exec_id.domain}:{exec_id.name}]"
            exc.args = (exc.message, *exc.args[1:])
        raise
    return result


# ------------------------------------------------------------------------------------------------- create


def launch_target(entity: Launchable, cache: EntityCache | None) -> Op[FlyteTask | FlyteLaunchPlan]:
    """What an execution launches: tasks and launch plans as they are, a workflow via its default launch plan
    (same name and version)."""
    if isinstance(entity, FlyteWorkflow):
        i = entity.id
        lp = yield from fetch_entity(LAUNCH_PLAN, i.project, i.domain, i.name, i.version, cache)
        assert isinstance(lp, FlyteLaunchPlan)
        return lp
    return entity


def build_execution_request(
    target: FlyteTask | FlyteLaunchPlan,
    inputs: Any,
    *,
    project: str,
    domain: str,
    name: str,
    options: Options | None = None,
    overwrite_cache: bool | None = None,
    interruptible: bool | None = None,
    envs: Mapping[str, str] | None = None,
    tags: Sequence[str] | None = None,
    cluster_pool: str | None = None,
    execution_cluster_label: str | None = None,
) -> Any:
    """The ``ExecutionCreateRequest`` flytekit would send (inputs in ``request.inputs``; the launched entity's
    id in ``spec.launch_plan``, a TASK id for single-task executions)."""
    from flyteidl.admin import cluster_assignment_pb2, common_pb2, execution_pb2, matchable_resource_pb2
    from flyteidl.core import literals_pb2
    from google.protobuf import wrappers_pb2

    opts = options or Options()
    spec = execution_pb2.ExecutionSpec(
        launch_plan=target.id,
        metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL, nesting=0),
    )
    if opts.disable_notifications:
        spec.disable_all = True
    elif opts.notifications:
        spec.notifications.CopyFrom(execution_pb2.NotificationList(notifications=list(opts.notifications)))
    if opts.labels:
        spec.labels.CopyFrom(common_pb2.Labels(values=dict(opts.labels)))
    if opts.annotations:
        spec.annotations.CopyFrom(common_pb2.Annotations(values=dict(opts.annotations)))
    raw = opts.raw_output_data_config
    if isinstance(raw, str):
        raw = common_pb2.RawOutputDataConfig(output_location_prefix=raw)
    if raw is not None:
        spec.raw_output_data_config.CopyFrom(raw)
    if opts.security_context is not None:
        spec.security_context.CopyFrom(opts.security_context)
    if opts.max_parallelism is not None:
        spec.max_parallelism = opts.max_parallelism
    cache_flag = overwrite_cache if overwrite_cache is not None else opts.overwrite_cache
    if cache_flag:
        spec.overwrite_cache = True
    if interruptible is not None:
        spec.interruptible.CopyFrom(wrappers_pb2.BoolValue(value=interruptible))
    if envs:
        spec.envs.CopyFrom(
            common_pb2.Envs(values=[literals_pb2.KeyValuePair(key=k, value=v) for k, v in envs.items()])
        )
    if tags:
        spec.tags.extend(tags)
    if cluster_pool:
        spec.cluster_assignment.CopyFrom(
            cluster_assignment_pb2.ClusterAssignment(cluster_pool_name=cluster_pool)
        )
    if execution_cluster_label:
        spec.execution_cluster_label.CopyFrom(
            matchable_resource_pb2.ExecutionClusterLabel(value=execution_cluster_label)
        )
    return execution_pb2.ExecutionCreateRequest(
        project=project, domain=domain, name=name, spec=spec, inputs=inputs or literals_pb2.LiteralMap()
    )


def create_execution(request: Any, method: str = "CreateExecution") -> Op[tuple[Any, bool]]:
    """Create (or relaunch) under the request's client-chosen name; returns ``(execution id, already_existed)``.

    The name makes the call idempotent: a retry that meets ALREADY_EXISTS found the execution the first attempt
    (or an earlier call with that name) created, and that execution is the answer. Nothing runs twice.
    """
    where = request.id if method == "RelaunchExecution" else request
    exec_id = execution_id(where.project, where.domain, request.name)
    try:
        response = yield Call(ADMIN, method, request, True)
        return response.id, False
    except FlyteEntityAlreadyExistsError:
        return exec_id, True


def execute(
    entity: Launchable | Op[Launchable],
    make_request: Callable[[FlyteTask | FlyteLaunchPlan], Any],
    cache: EntityCache | None = None,
) -> Op[tuple[Any, FlyteTask | FlyteLaunchPlan]]:
    """Resolve the entity, convert inputs (``make_request``, a local step: may upload files), create the execution.

    Returns ``(admin.Execution, launched entity)``. A new execution is returned without a GetExecution (closure
    UNDEFINED until the next sync); an existing one with the same name is fetched and returned instead.
    """
    resolved = (
        entity if isinstance(entity, FlyteTask | FlyteWorkflow | FlyteLaunchPlan) else (yield from entity)
    )
    target = yield from launch_target(resolved, cache)
    request = yield Local(lambda: make_request(target))
    exec_id, existed = yield from tag_execution_errors(
        create_execution(request), execution_id(request.project, request.domain, request.name)
    )
    if existed:
        proto = yield from tag_execution_errors(get_execution(exec_id), exec_id)
        return proto, target
    return local_execution(request, exec_id), target


def relaunch(old_id: Any, name: str, overwrite_cache: bool | None) -> Op[Any]:
    """RelaunchExecution under a client-chosen name; returns the new ``admin.Execution``."""
    from flyteidl.admin import execution_pb2

    request = execution_pb2.ExecutionRelaunchRequest(
        id=old_id, name=name, overwrite_cache=bool(overwrite_cache)
    )
    new_id = execution_id(old_id.project, old_id.domain, name)
    exec_id, _ = yield from tag_execution_errors(create_execution(request, "RelaunchExecution"), new_id)
    proto = yield from tag_execution_errors(get_execution(exec_id), exec_id)
    return proto


# -------------------------------------------------------------------------------------------------- read


def get_execution(exec_id: Any) -> Op[Any]:
    """``admin.Execution`` by id."""
    from flyteidl.admin import execution_pb2

    proto = yield Call(ADMIN, "GetExecution", execution_pb2.WorkflowExecutionGetRequest(id=exec_id), True)
    return proto


#: names selected per ListExecutions page: flyteadmin accepts any ``limit`` > 0 and turns ``value_in`` into one SQL
#: bind parameter per name (PostgreSQL allows 65,535); 2,000 executions are a few MB, well under the client's
#: 32 MiB message limit
MAX_NAMES_PER_PAGE = 2000


def list_executions(
    project: str,
    domain: str,
    *,
    names: Sequence[str] | None = None,
    filters: str | None = None,
    limit: int | None = None,
    sort_key: str = "created_at",
    ascending: bool = False,
    decode: Callable[[bytes], Any] | None = None,
) -> Op[list[Any]]:
    """Executions of a project/domain; ``names`` restricts to those names in one filter
    (``value_in(execution.name,a;b;c)``) so many executions are polled with one RPC per page. ``decode``: the
    responses' deserializer, instead of ``admin.ExecutionList`` (it must give ``executions`` and ``token``)."""
    from flyteidl.admin import common_pb2

    if names is not None and not names:
        return []
    expression = join_filters(value_in("execution.name", list(names)) if names else None, filters)
    page = PAGE_SIZE if limit is None else min(limit, PAGE_SIZE)
    if names:
        # each name matches at most one execution: a page one longer than the names holds them all, and since it
        # is never full flyteadmin returns no continuation token (a full page would cost one more, empty, call)
        page = max(page, min(len(names), MAX_NAMES_PER_PAGE) + 1)

    def make_call(token: str) -> Call:
        request = common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project=project, domain=domain),
            limit=page,
            token=token,
            filters=expression,
            sort_by=sort_by(sort_key, ascending),
        )
        return Call(ADMIN, "ListExecutions", request, True, decode=decode)

    items = yield from list_all(make_call, "executions", limit)
    return items


@functools.cache
def execution_rows_message() -> Any:
    """A message class that reads an ``admin.ExecutionList`` response with each execution left serialized:
    ``executions`` (field 1) as ``repeated bytes``, ``token`` (field 2). Splitting a response this way costs next to
    nothing; a poller parses only the rows that changed since its last round (a byte-identical row is an
    unchanged execution)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    rows = descriptor_pb2.DescriptorProto(name="ExecutionRows")
    label, as_bytes, as_string = (
        descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED,
        descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    )
    rows.field.add(name="executions", number=1, label=label, type=as_bytes)
    rows.field.add(name="token", number=2, type=as_string)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto(name="airflow_provider_flyte/execution_rows.proto",
                                                package="airflow_provider_flyte", message_type=[rows]))
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("airflow_provider_flyte.ExecutionRows"))


def list_execution_rows(project: str, domain: str, names: Sequence[str]) -> Op[list[bytes]]:
    """The executions ``names`` of a project/domain (those that exist), each a serialized ``admin.Execution``
    (``admin.Execution.FromString`` reads one)."""
    rows: list[bytes] = yield from list_executions(
        project, domain, names=names, decode=execution_rows_message().FromString
    )
    return rows


def terminate(exec_id: Any, cause: str) -> Op[None]:
    """TerminateExecution (not retried: a second attempt would fail on the already aborting execution)."""
    from flyteidl.admin import execution_pb2

    yield Call(
        ADMIN, "TerminateExecution", execution_pb2.ExecutionTerminateRequest(id=exec_id, cause=cause), False
    )
    return None


# -------------------------------------------------------------------------------------------------- sync


def sync_execution(execution: FlyteWorkflowExecution, sync_nodes: bool = False) -> Op[FlyteWorkflowExecution]:
    """Refresh ``execution`` in place: closure (GetExecution); inputs on the first sync and outputs once done
    (GetExecutionData, once); with ``sync_nodes`` the node executions too (see :func:`sync_node_tree`)."""
    from flyteidl.admin import execution_pb2

    proto = yield from get_execution(execution.proto.id)
    execution._update(proto)
    if execution._inputs is None or (execution.is_done and not execution._data_complete):
        data = yield Call(
            ADMIN, "GetExecutionData", execution_pb2.WorkflowExecutionGetDataRequest(id=proto.id), True
        )
        done_ok = execution.is_successful
        execution._set_data(data.full_inputs, data.full_outputs if done_ok else None)
        execution._data_complete = execution.is_done
    if sync_nodes:
        yield from sync_node_tree(execution)
    return execution


def sync_node_tree(execution: FlyteWorkflowExecution) -> Op[FlyteWorkflowExecution]:
    """Refresh the node executions of ``execution``, recursively, as flytekit's ``sync_node_execution`` does:
    node inputs/outputs once a node is done; task attempts (with their inputs/outputs once the node is done);
    the child nodes of subworkflow, branch and dynamic nodes (a dynamic node has its task attempts too); the child
    execution of a launch plan node. Keys are ``id.node_id`` (start/end nodes included, as flytekit's). Nodes that were already
    complete are not fetched again."""
    execution._node_executions = yield from _sync_nodes(
        execution, execution.proto.id, "", execution._node_executions or {}
    )
    execution._node_sync_error = None
    return execution


def list_node_executions(exec_id: Any, unique_parent_id: str = "") -> Op[list[Any]]:
    """``NodeExecution`` protos of an execution, oldest first: the top-level nodes, or the children of the node
    execution ``unique_parent_id`` (all pages)."""
    from flyteidl.admin import node_execution_pb2

    def make_call(token: str) -> Call:
        request = node_execution_pb2.NodeExecutionListRequest(
            workflow_execution_id=exec_id,
            limit=PAGE_SIZE,
            token=token,
            unique_parent_id=unique_parent_id,
            sort_by=sort_by("created_at", ascending=True),
        )
        return Call(ADMIN, "ListNodeExecutions", request, True)

    protos: list[Any] = yield from list_all(make_call, "node_executions")
    return protos


def _sync_nodes(
    parent: FlyteWorkflowExecution, exec_id: Any, unique_parent_id: str, known: dict[str, FlyteNodeExecution]
) -> Op[dict[str, FlyteNodeExecution]]:
    protos = yield from list_node_executions(exec_id, unique_parent_id)
    nodes: dict[str, FlyteNodeExecution] = {}
    for proto in protos:
        key = proto.id.node_id
        node = known.get(key)
        if node is not None and node._complete:
            nodes[key] = node
            continue
        node = node or FlyteNodeExecution(proto)
        node._decoder = parent._data_decoder()
        node._update(proto)
        if node.node_id in (START_NODE, END_NODE):
            node._complete = node.is_done  # no data, tasks or children (flytekit skips them too)
        else:
            yield from _sync_node(parent, exec_id, node)
        nodes[key] = node
    return nodes


def _sync_node(parent: FlyteWorkflowExecution, exec_id: Any, node: FlyteNodeExecution) -> Op[None]:
    from flyteidl.admin import node_execution_pb2

    proto = node.proto
    done = node.is_done
    if done:
        try:
            data = yield Call(
                ADMIN,
                "GetNodeExecutionData",
                node_execution_pb2.NodeExecutionGetDataRequest(id=proto.id),
                True,
            )
            node._set_data(data.full_inputs, data.full_outputs if node.is_successful else None)
        except FlyteEntityNotFoundError:
            pass
    child_id = node.child_execution_id
    if child_id is not None and not node.is_parent_node:
        child = (
            node.workflow_executions[0]
            if node.workflow_executions
            else FlyteWorkflowExecution(_bare_execution(child_id), remote=parent._remote)
        )
        yield from sync_execution(child, sync_nodes=True)
        node.workflow_executions = [child]
        node._complete = done and child.is_done
        return None
    complete = done
    if node.is_parent_node:
        node.subworkflow_node_executions = yield from _sync_nodes(
            parent, exec_id, proto.id.node_id, node.subworkflow_node_executions
        )
        complete = done and all(n._complete for n in node.subworkflow_node_executions.values())
        if not node.is_dynamic:
            node._complete = complete
            return None
    node.task_executions = yield from _sync_task_executions(proto.id, with_data=done)
    for attempt in node.task_executions:
        attempt._decoder = node._decoder
    if not node.task_executions and not node.is_parent_node:
        # no attempts, no child execution: a branch (its chosen node runs as a child) or a gate node
        node.subworkflow_node_executions = yield from _sync_nodes(
            parent, exec_id, proto.id.node_id, node.subworkflow_node_executions
        )
        complete = done and all(n._complete for n in node.subworkflow_node_executions.values())
    node._complete = complete
    return None


def _sync_task_executions(node_execution_id: Any, with_data: bool) -> Op[list[FlyteTaskExecution]]:
    """The attempts of a task node, oldest first; with ``with_data`` (the node is done) each attempt's inputs and
    outputs too (GetTaskExecutionData), as flytekit's ``sync_task_execution``."""
    from flyteidl.admin import task_execution_pb2

    def make_call(token: str) -> Call:
        request = task_execution_pb2.TaskExecutionListRequest(
            node_execution_id=node_execution_id,
            limit=PAGE_SIZE,
            token=token,
            sort_by=sort_by("created_at", ascending=True),
        )
        return Call(ADMIN, "ListTaskExecutions", request, True)

    attempts = [FlyteTaskExecution(t) for t in (yield from list_all(make_call, "task_executions"))]
    if with_data:
        for attempt in attempts:
            try:
                data = yield Call(
                    ADMIN,
                    "GetTaskExecutionData",
                    task_execution_pb2.TaskExecutionGetDataRequest(id=attempt.proto.id),
                    True,
                )
            except FlyteEntityNotFoundError:
                continue
            attempt._set_data(data.full_inputs, data.full_outputs if attempt.is_successful else None)
    return attempts


def _bare_execution(exec_id: Any) -> Any:
    from flyteidl.admin import execution_pb2

    return execution_pb2.Execution(id=exec_id)
