"""Array nodes (flytekit ``map_task``), as propeller's array node handler runs them.

Each index of the input collections runs the sub-node's task as sub-node ``n<i>`` with the element inputs (bound
inputs and scalars are passed whole); the subtask's command reads the array node's ``inputs.pb`` and finds its index
in ``FLYTE_K8S_ARRAY_INDEX`` (``BATCH_JOB_ARRAY_INDEX_VAR_NAME``), as a Flyte pod does. Subtask ``i`` writes below
``<node>/0/<i>/<attempt>``. ``parallelism`` bounds the subtasks running at once (unset: the workflow's
max_parallelism; 0: unlimited); ``min_successes`` / ``min_success_ratio`` decide success (failed indexes gather
a none literal), and the node fails as soon as the minimum can no longer be reached (``run_all_sub_nodes`` lets
the others finish first). Outputs are gathered into collections in index order.

Events (propeller's default array event version 0): the array node's own node events carry ``is_array``; subtasks
are not node executions: they are the ``external_resources`` (index, retry attempt, phase, cache status, logs) of
the node's one task execution (``task_type`` "container_array", plugin "k8s-array"), which reports QUEUED, then
RUNNING with a new ``phase_version`` on every subtask change, then SUCCEEDED or FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from flyteidl.core import catalog_pb2, execution_pb2, interface_pb2, literals_pb2, tasks_pb2, workflow_pb2
from flyteidl.event import event_pb2

from airflow_provider_flyte.sandbox.engine import ids
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase, TaskPhase
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeFailed, NodeSuccess
from airflow_provider_flyte.sandbox.engine.tasks import (
    AttemptReporter,
    Attempts,
    AttemptUpdate,
    Dynamic,
    cache_lookup,
    cache_populate,
    run_attempts,
    task_execution_id,
    task_template,
)

TASK_TYPE = "container_array"
PLUGIN = "k8s-array"
INDEX_VAR = "FLYTE_K8S_ARRAY_INDEX"
#: propeller's task.IDMaxLength
_ID_MAX_LENGTH = 50
_NONE = literals_pb2.Literal(scalar=literals_pb2.Scalar(none_type=literals_pb2.Void()))
CacheStatus = catalog_pb2.CatalogCacheStatus


def _element_type(var: interface_pb2.Variable) -> None:
    """Replace a collection type by its element type, in place (propeller's arrayTaskReader)."""
    t = var.type
    if t.WhichOneof("type") == "collection_type":
        element = type(t)()
        element.CopyFrom(t.collection_type)
        t.CopyFrom(element)


def subtask_template(
    template: tasks_pb2.TaskTemplate, array: workflow_pb2.ArrayNode
) -> tasks_pb2.TaskTemplate:
    """The template one subtask runs: outputs (and unbound inputs) typed per element, unless the sub-node keeps
    its original interface."""
    out = tasks_pb2.TaskTemplate()
    out.CopyFrom(template)
    if array.HasField("is_original_sub_node_interface") and array.is_original_sub_node_interface.value:
        return out
    for var in out.interface.outputs.variables.values():
        _element_type(var)
    bound = set(array.bound_inputs)
    for name, var in out.interface.inputs.variables.items():
        if name not in bound:
            _element_type(var)
    return out


def _read_offloaded(state: ExecutionState, lit: literals_pb2.Literal) -> literals_pb2.Literal:
    if lit.WhichOneof("value") == "offloaded_metadata":
        return state.blobs.read_proto(lit.offloaded_metadata.uri, literals_pb2.Literal)
    return lit


def element_inputs(
    state: ExecutionState, inputs: literals_pb2.LiteralMap, array: workflow_pb2.ArrayNode
) -> list[literals_pb2.LiteralMap]:
    """The inputs of every index (propeller's constructLiteralMap); NodeFailed (USER) on bad lengths."""
    bound = set(array.bound_inputs)
    literals = {name: _read_offloaded(state, lit) for name, lit in inputs.literals.items()}
    size = -1
    for name, lit in literals.items():
        if name in bound or lit.WhichOneof("value") != "collection":
            continue
        length = len(lit.collection.literals)
        if size == -1:
            size = length
        elif size != length:
            raise NodeFailed(
                execution_error(
                    USER,
                    "InvalidArrayLength",
                    f"input arrays have different lengths: expecting '{size}' found '{length}'",
                )
            )
    if size == -1:
        if literals and bound.issuperset(literals):
            size = 1
        else:
            raise NodeFailed(execution_error(USER, "InvalidArrayLength", "no input array provided"))
    out = []
    for i in range(size):
        m = literals_pb2.LiteralMap()
        for name, lit in literals.items():
            if lit.WhichOneof("value") == "collection" and name not in bound:
                m.literals[name].CopyFrom(lit.collection.literals[i])
            else:
                m.literals[name].CopyFrom(lit)
        out.append(m)
    return out


def min_successes(array: workflow_pb2.ArrayNode, size: int) -> int:
    """How many indexes must succeed."""
    criteria = array.WhichOneof("success_criteria")
    if criteria == "min_successes":
        return int(array.min_successes)
    if criteria == "min_success_ratio":
        return math.ceil(float(array.min_success_ratio) * size)
    return size


def error_summary(errors: dict[int, str]) -> str:
    """Subtask errors deduplicated into index ranges (propeller's ErrorMessageCollector.Summary)."""
    by_message: dict[str, list[int]] = {}
    for index, message in sorted(errors.items()):
        by_message.setdefault(message, []).append(index)
    lines = []
    for message in sorted(by_message):
        indexes = by_message[message]
        ranges = []
        start = prev = indexes[0]
        for i in [*indexes[1:], None]:
            if i is not None and i == prev + 1:
                prev = i
                continue
            ranges.append(f"[{start}]" if start == prev else f"[{start}-{prev}]")
            if i is not None:
                start = prev = i
        lines.append(f"{''.join(ranges)}: {message}\n")
    return "".join(lines)


class _ArrayEvents:
    """The array node's task execution: subtask attempts folded into its external resources."""

    def __init__(
        self, state: ExecutionState, info: NodeInfo, template: tasks_pb2.TaskTemplate, size: int
    ) -> None:
        self.state = state
        self.info = info
        self.template = template
        self.version = 0
        prefix = ids.fixed_length_unique_id(
            [state.job.execution_id.name, info.unique_id, "0"], max_length=_ID_MAX_LENGTH
        )
        self._prefix = prefix
        #: the latest resource of every index
        self.resources = [self.resource(i, 0, TaskPhase.UNDEFINED) for i in range(size)]

    def resource(
        self,
        index: int,
        attempt: int,
        phase: int,
        cache_status: int = CacheStatus.CACHE_DISABLED,
        logs: list[execution_pb2.TaskLog] | None = None,
    ) -> event_pb2.ExternalResourceInfo:
        out = event_pb2.ExternalResourceInfo(
            external_id=f"{self._prefix}-n{index}-{attempt}",
            index=index,
            retry_attempt=attempt,
            phase=phase,
            cache_status=cache_status,
        )
        for log in logs or ():
            copy = out.logs.add()
            copy.CopyFrom(log)
            copy.name = f"{log.name}-{index}"
        return out

    async def send(
        self,
        phase: int,
        resources: list[event_pb2.ExternalResourceInfo],
        *,
        output_uri: str | None = None,
        error: execution_pb2.ExecutionError | None = None,
    ) -> None:
        await self.state.emitter.task(
            self.info,
            self.template.id,
            TASK_TYPE,
            0,
            phase,
            self.version,
            output_uri=output_uri,
            error=error,
            external_resources=resources,
            plugin_identifier=PLUGIN,
        )

    async def update(self, resource: event_pb2.ExternalResourceInfo) -> None:
        """A subtask changed: RUNNING with the next phase version."""
        self.resources[resource.index] = resource
        self.version += 1
        await self.send(TaskPhase.RUNNING, [resource])

    def reporter(self, index: int) -> AttemptReporter:
        """The reporter of subtask ``index``: each attempt update becomes its external resource."""

        async def report(update: AttemptUpdate) -> None:
            await self.update(self.resource(index, update.attempt, update.phase, logs=update.logs))

        return report


@contextlib.asynccontextmanager
async def _no_limit() -> AsyncIterator[None]:
    yield


def _limiter(
    state: ExecutionState, array: workflow_pb2.ArrayNode
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """What bounds running subtasks: ``parallelism`` when set (0: nothing), else the workflow's parallelism."""
    if array.WhichOneof("parallelism_option") != "parallelism":
        return state.slot
    if array.parallelism == 0:
        return _no_limit
    semaphore = asyncio.Semaphore(array.parallelism)

    @contextlib.asynccontextmanager
    async def bounded() -> AsyncIterator[None]:
        async with semaphore:
            yield

    return bounded


async def run_array_node(
    state: ExecutionState, node: workflow_pb2.Node, info: NodeInfo, inputs: literals_pb2.LiteralMap
) -> NodeSuccess:
    """Run every index of the array node; gather the outputs or fail as propeller does."""
    array = node.array_node
    sub = array.node
    if sub.WhichOneof("target") != "task_node":
        raise NodeFailed(
            execution_error(
                SYSTEM,
                "UnsupportedArrayNode",
                f"array node [{node.id}] maps a {sub.WhichOneof('target') or 'empty'} node; the sandbox maps tasks only",
            )
        )
    template = task_template(state, sub)
    elements = element_inputs(state, inputs, array)
    size = len(elements)
    sub_template = subtask_template(template, array)
    events = _ArrayEvents(state, info, template, size)
    await state.emitter.node(info, NodePhase.RUNNING)
    await events.send(TaskPhase.QUEUED, list(events.resources))

    limit = _limiter(state, array)
    output_dir = state.uri(info.unique_id, "0")
    results: dict[int, literals_pb2.LiteralMap] = {}
    errors: dict[int, str] = {}
    attempts = [0] * size

    async def run_index(i: int) -> None:
        key, hit = cache_lookup(state, sub_template, elements[i])
        if hit is not None:
            results[i] = hit.outputs
            await events.update(events.resource(i, 0, TaskPhase.SUCCEEDED, CacheStatus.CACHE_HIT))
            return
        unique_id = ids.node_unique_id(info.unique_id, 0, f"n{i}")
        where = Attempts(
            node_unique_id=unique_id,
            data_dir=f"{output_dir}/{i}",
            input_uri=info.input_uri,
            report=events.reporter(i),
            envs={"BATCH_JOB_ARRAY_INDEX_VAR_NAME": INDEX_VAR, INDEX_VAR: str(i)},
        )
        async with limit():
            try:
                outcome = await run_attempts(state, sub, sub_template, elements[i], where)
            except NodeFailed as failed:
                errors[i] = failed.error.message
                return
        if isinstance(outcome, Dynamic):
            errors[i] = "dynamic tasks cannot be mapped over in the sandbox"
            return
        attempts[i] = outcome.attempt
        results[i] = outcome.outputs
        source = events.resource(i, outcome.attempt, TaskPhase.SUCCEEDED)
        source_id = task_execution_id(state, unique_id, template, outcome.attempt)
        metadata = cache_populate(state, key, sub_template, outcome.outputs, source_id)
        if metadata.cache_status != CacheStatus.CACHE_DISABLED:
            source.cache_status = metadata.cache_status
            await events.update(source)

    needed = min_successes(array, size)
    tasks = {asyncio.create_task(run_index(i), name=f"{info.unique_id}-n{i}"): i for i in range(size)}
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
            if size - len(errors) < needed and not array.run_all_sub_nodes:
                break
    except asyncio.CancelledError:
        if not state.silent:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.shield(events.send(TaskPhase.ABORTED, list(events.resources)))
        raise
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    if size - len(errors) < needed:
        error = execution_pb2.ExecutionError(message=error_summary(errors))
        await events.send(TaskPhase.FAILED, list(events.resources), error=error)
        raise NodeFailed(error)
    outputs = literals_pb2.LiteralMap()
    for name in template.interface.outputs.variables:
        items = outputs.literals[name].collection.literals
        for i in range(size):
            items.append(results[i].literals[name] if i in results and name in results[i].literals else _NONE)
    uri = state.write(f"{output_dir}/outputs.pb", outputs)
    await events.send(TaskPhase.SUCCEEDED, list(events.resources), output_uri=uri)
    return NodeSuccess(outputs=outputs, output_uri=uri)
