"""Task nodes: the task cache, attempts, retries (user and system budgets), per-attempt timeouts and task events.

Every attempt reports QUEUED, then RUNNING once the runner starts the task, then SUCCEEDED, RETRYABLE_FAILED or
FAILED (ABORTED when cancelled), as propeller's task handler does. Attempts are reported through a
:class:`AttemptReporter`: a task node sends TaskExecutionEvents, an array node folds its subtasks' attempts into
one event (``engine/arrays.py``).

Caching follows propeller's node executor: a discoverable task whose entry is in the catalog is not run at all (a
single SUCCEEDED node event with ``cache_status`` CACHE_HIT and the ``catalog_key``); otherwise it runs and its
outputs are written to the catalog (SUCCEEDED reports CACHE_POPULATED). ``overwrite_cache`` skips the lookup and
replaces the entry. Tasks that are not cacheable report CACHE_DISABLED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from flyteidl.core import catalog_pb2, execution_pb2, identifier_pb2, literals_pb2, tasks_pb2, workflow_pb2
from flyteidl.event import event_pb2

from airflow_provider_flyte.sandbox.engine.catalog import CacheEntry, CacheKey, cache_key
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase, TaskPhase
from airflow_provider_flyte.sandbox.engine.runners import (
    SYSTEM,
    USER,
    TaskRequest,
    TaskResult,
    execution_error,
)
from airflow_provider_flyte.sandbox.engine.state import (
    SYSTEM_RETRIES,
    ExecutionState,
    NodeFailed,
    NodeSuccess,
    id_key,
)

CacheStatus = catalog_pb2.CatalogCacheStatus
QUEUED_REASON = "task submitted to the sandbox"
#: the file a task writes its Flyte Deck to, in its attempt's output prefix
DECK_FILE = "deck.html"


@dataclass
class AttemptUpdate:
    """A phase of one attempt of a task."""

    attempt: int
    phase: int
    logs: list[execution_pb2.TaskLog] = field(default_factory=list)
    output_uri: str | None = None
    error: execution_pb2.ExecutionError | None = None
    reason: str = ""


#: where attempt updates go: a task node's TaskExecutionEvents, or an array node's external resources
AttemptReporter = Callable[[AttemptUpdate], Awaitable[None]]


def _user_retries(node: workflow_pb2.Node, template: tasks_pb2.TaskTemplate) -> int:
    if node.metadata.HasField("retries"):
        return int(node.metadata.retries.retries)
    return int(template.metadata.retries.retries)


def _interruptible(state: ExecutionState, node: workflow_pb2.Node, template: tasks_pb2.TaskTemplate) -> bool:
    if node.metadata.WhichOneof("interruptible_value"):
        return bool(node.metadata.interruptible)
    if state.job.spec.HasField("interruptible"):
        return bool(state.job.spec.interruptible.value)
    if template.metadata.WhichOneof("interruptible_value"):
        return bool(template.metadata.interruptible)
    return bool(state.job.closure.primary.template.metadata_defaults.interruptible)


def task_template(state: ExecutionState, node: workflow_pb2.Node) -> tasks_pb2.TaskTemplate:
    """The template of a task node's task; NodeFailed (SYSTEM, TaskNotFound) when the closure lacks it."""
    template = state.tasks.get(id_key(node.task_node.reference_id))
    if template is None:
        raise NodeFailed(
            execution_error(
                SYSTEM,
                "TaskNotFound",
                f"task {node.task_node.reference_id.name} of node [{node.id}] is not in the compiled closure",
            )
        )
    return template


def task_node_metadata(
    status: int = CacheStatus.CACHE_DISABLED, catalog_key: catalog_pb2.CatalogMetadata | None = None
) -> event_pb2.TaskNodeMetadata:
    """The ``task_node_metadata`` of a task node event."""
    out = event_pb2.TaskNodeMetadata(cache_status=status)
    if catalog_key is not None:
        out.catalog_key.CopyFrom(catalog_key)
    return out


# ----------------------------------------------------------------------------------------------- cache


def cache_lookup(
    state: ExecutionState, template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap
) -> tuple[CacheKey | None, CacheEntry | None]:
    """The task's cache key (None: not cacheable) and its cached entry (None: a miss, or ``overwrite_cache``)."""
    key = cache_key(template, inputs)
    if key is None or state.job.spec.overwrite_cache:
        return key, None
    return key, state.catalog.get(key)


def cache_populate(
    state: ExecutionState,
    key: CacheKey | None,
    template: tasks_pb2.TaskTemplate,
    outputs: literals_pb2.LiteralMap,
    source: identifier_pb2.TaskExecutionIdentifier,
) -> event_pb2.TaskNodeMetadata:
    """Write a successful run's outputs to the catalog (propeller's WriteCatalogCache); the metadata to report."""
    if key is None or not template.interface.outputs.variables:
        return task_node_metadata()
    metadata = state.catalog.put(key, outputs, source, overwrite=state.job.spec.overwrite_cache)
    return task_node_metadata(CacheStatus.CACHE_POPULATED, metadata)


def task_execution_id(
    state: ExecutionState, node_unique_id: str, template: tasks_pb2.TaskTemplate, attempt: int
) -> identifier_pb2.TaskExecutionIdentifier:
    """The identifier of an attempt (the ``source_task_execution`` of what it puts in the cache)."""
    out = identifier_pb2.TaskExecutionIdentifier(task_id=template.id, retry_attempt=attempt)
    out.node_execution_id.node_id = node_unique_id
    out.node_execution_id.execution_id.CopyFrom(state.job.execution_id)
    return out


# ----------------------------------------------------------------------------------------------- attempts


@dataclass
class Attempts:
    """Where and how the attempts of one task run: a task node, or one subtask of an array node."""

    node_unique_id: str
    #: attempt ``n`` writes below ``{data_dir}/{n}``
    data_dir: str
    input_uri: str
    report: AttemptReporter
    envs: dict[str, str] = field(default_factory=dict)


@dataclass
class Dynamic:
    """An attempt that produced a dynamic job spec instead of outputs."""

    futures_uri: str
    attempt: int


@dataclass
class Succeeded:
    """The outputs of the attempt that succeeded."""

    outputs: literals_pb2.LiteralMap
    output_uri: str
    attempt: int


def task_events(
    state: ExecutionState, info: NodeInfo, template: tasks_pb2.TaskTemplate, interruptible: bool = False
) -> AttemptReporter:
    """The reporter of a task node: one TaskExecutionEvent per attempt phase (``instance_class`` INTERRUPTIBLE
    for an interruptible node)."""

    async def report(update: AttemptUpdate) -> None:
        await state.emitter.task(
            info,
            template.id,
            template.type,
            update.attempt,
            update.phase,
            logs=update.logs,
            output_uri=update.output_uri,
            error=update.error,
            reason=update.reason,
            interruptible=interruptible,
        )

    return report


async def run_task_node(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
    key: CacheKey | None = None,
) -> NodeSuccess:
    """Run the task of ``node`` until an attempt succeeds or no retry is left; a dynamic task's job spec then
    runs as the node's sub-workflow (outside the parallelism slot the task held). ``key``: the cache key (the
    lookup missed); the outputs populate the cache."""
    reporter = task_events(state, info, template, _interruptible(state, node, template))
    where = Attempts(info.unique_id, state.uri(info.unique_id), info.input_uri, reporter)
    generates_deck = _generates_deck(template)
    async with state.slot():
        # a task declaring its deck has the deck URI on its events while it runs (real-time decks)
        running_deck = _deck_uri(where, 0) if generates_deck else None
        await state.emitter.node(
            info, NodePhase.RUNNING, task_node=task_node_metadata(), deck_uri=running_deck
        )
        try:
            outcome = await run_attempts(state, node, template, inputs, where)
        except NodeFailed as failed:
            if generates_deck and failed.attempt is not None:
                failed.deck_uri = _existing_deck(state, where, failed.attempt)
            raise
    deck_uri = _existing_deck(state, where, outcome.attempt) if generates_deck is not False else None
    if isinstance(outcome, Dynamic):
        from airflow_provider_flyte.sandbox.engine.dynamic import run_dynamic

        success = await run_dynamic(state, node, info, template, outcome.attempt, outcome.futures_uri, inputs)
        attempt = outcome.attempt
    else:
        success = NodeSuccess(outputs=outcome.outputs, output_uri=outcome.output_uri)
        attempt = outcome.attempt
    success.task_node_metadata = cache_populate(
        state, key, template, success.outputs, task_execution_id(state, info.unique_id, template, attempt)
    )
    success.deck_uri = deck_uri
    return success


def _generates_deck(template: tasks_pb2.TaskTemplate) -> bool | None:
    """The task's ``metadata.generates_deck`` (flytekit's ``enable_deck``); None when it does not say."""
    if template.metadata.HasField("generates_deck"):
        return bool(template.metadata.generates_deck.value)
    return None


def _deck_uri(where: Attempts, attempt: int) -> str:
    return f"{where.data_dir}/{attempt}/{DECK_FILE}"


def _existing_deck(state: ExecutionState, where: Attempts, attempt: int) -> str | None:
    """The deck of ``attempt`` if the task wrote it (propeller checks for the file when the task ends)."""
    uri = _deck_uri(where, attempt)
    return uri if state.blobs.exists(uri) else None


async def run_attempts(
    state: ExecutionState,
    node: workflow_pb2.Node,
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
    where: Attempts,
) -> Succeeded | Dynamic:
    """Run attempts until one succeeds (or produces a dynamic job spec); raises :class:`NodeFailed` when the
    last one fails."""
    runner = state.runners.for_template(template)
    user_budget = _user_retries(node, template)
    system_budget = SYSTEM_RETRIES
    task_timeout = (
        template.metadata.timeout.ToTimedelta().total_seconds()
        if template.metadata.HasField("timeout")
        else 0
    )
    interruptible = _interruptible(state, node, template)
    report = where.report
    envs = {**state.envs, **where.envs} if where.envs else state.envs
    attempt = 0
    while True:
        output_prefix = f"{where.data_dir}/{attempt}"
        request = TaskRequest(
            job=state.job,
            template=template,
            node_unique_id=where.node_unique_id,
            attempt=attempt,
            inputs=inputs,
            input_uri=where.input_uri,
            output_prefix=output_prefix,
            raw_output_prefix=f"{state.job.raw_output_prefix.rstrip('/')}/{where.node_unique_id}/{attempt}",
            checkpoint_prefix=f"{output_prefix}/_flytecheckpoints",
            prev_checkpoint_prefix=f"{where.data_dir}/{attempt - 1}/_flytecheckpoints" if attempt else "",
            envs=envs,
            interruptible=interruptible,
        )
        running_logs: list[execution_pb2.TaskLog] = []

        async def on_running(
            logs: list[execution_pb2.TaskLog],
            attempt: int = attempt,
            running_logs: list[execution_pb2.TaskLog] = running_logs,
        ) -> None:
            running_logs[:] = logs
            await report(AttemptUpdate(attempt, TaskPhase.RUNNING, logs))

        await report(AttemptUpdate(attempt, TaskPhase.QUEUED, reason=QUEUED_REASON))
        try:
            if task_timeout > 0:
                try:
                    async with asyncio.timeout(task_timeout):
                        result = await runner.run(request, on_running)
                except TimeoutError:
                    result = TaskResult.failure(
                        USER,
                        "Timeout",
                        f"task execution timeout [{task_timeout:g}s] expired",
                        recoverable=True,
                    )
            else:
                result = await runner.run(request, on_running)
        except asyncio.CancelledError:
            if not state.silent:
                await asyncio.shield(
                    report(
                        AttemptUpdate(attempt, TaskPhase.ABORTED, running_logs, reason="the task was aborted")
                    )
                )
            raise
        except Exception as exc:  # a runner bug: report it as a system failure, never hang
            result = TaskResult.failure(
                SYSTEM, "RunnerFailure", f"{type(exc).__name__}: {exc}", recoverable=False
            )

        logs = result.logs or running_logs
        if result.futures_uri is not None:
            await report(AttemptUpdate(attempt, TaskPhase.SUCCEEDED, logs))
            return Dynamic(result.futures_uri, attempt)
        if result.error is None:
            outputs = result.outputs or literals_pb2.LiteralMap()
            output_uri = result.output_uri or state.write(f"{output_prefix}/outputs.pb", outputs)
            await report(AttemptUpdate(attempt, TaskPhase.SUCCEEDED, logs, output_uri=output_uri))
            return Succeeded(outputs, output_uri, attempt)

        error = result.error
        retry = False
        if result.recoverable:
            if error.kind == SYSTEM and system_budget > 0:
                system_budget -= 1
                retry = True
            elif error.kind != SYSTEM and user_budget > 0:
                user_budget -= 1
                retry = True
        phase = TaskPhase.RETRYABLE_FAILED if retry else TaskPhase.FAILED
        await report(AttemptUpdate(attempt, phase, logs, error=error))
        if not retry:
            failed = NodeFailed(error)
            failed.attempt = attempt
            raise failed
        attempt += 1
