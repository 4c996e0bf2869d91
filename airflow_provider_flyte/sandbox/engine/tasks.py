"""Task nodes: attempts, retries (user and system budgets), per-attempt timeouts and task events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from flyteidl.core import execution_pb2, literals_pb2, tasks_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase, TaskPhase
from airflow_provider_flyte.sandbox.engine.runners import (
    SYSTEM,
    USER,
    TaskRequest,
    TaskResult,
)
from airflow_provider_flyte.sandbox.engine.state import (
    SYSTEM_RETRIES,
    ExecutionState,
    NodeFailed,
    NodeSuccess,
)


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


@dataclass
class _Dynamic:
    futures_uri: str
    attempt: int


async def run_task_node(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
) -> NodeSuccess:
    """Run the task of ``node`` until an attempt succeeds or no retry is left; a dynamic task's job spec then
    runs as the node's sub-workflow (outside the parallelism slot the task held)."""
    async with state.slot():
        await state.emitter.node(info, NodePhase.RUNNING)
        outcome = await _attempts(state, node, info, template, inputs)
    if isinstance(outcome, _Dynamic):
        from airflow_provider_flyte.sandbox.engine.dynamic import run_dynamic

        return await run_dynamic(state, node, info, outcome.attempt, outcome.futures_uri, inputs)
    return outcome


async def _attempts(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    template: tasks_pb2.TaskTemplate,
    inputs: literals_pb2.LiteralMap,
) -> NodeSuccess | _Dynamic:
    runner = state.runners.for_template(template)
    user_budget = _user_retries(node, template)
    system_budget = SYSTEM_RETRIES
    task_timeout = (
        template.metadata.timeout.ToTimedelta().total_seconds()
        if template.metadata.HasField("timeout")
        else 0
    )
    interruptible = _interruptible(state, node, template)
    data_dir = state.uri(info.unique_id)
    emitter = state.emitter
    attempt = 0
    while True:
        output_prefix = f"{data_dir}/{attempt}"
        request = TaskRequest(
            job=state.job,
            template=template,
            node_unique_id=info.unique_id,
            attempt=attempt,
            inputs=inputs,
            input_uri=info.input_uri,
            output_prefix=output_prefix,
            raw_output_prefix=f"{state.job.raw_output_prefix.rstrip('/')}/{info.unique_id}/{attempt}",
            checkpoint_prefix=f"{output_prefix}/_flytecheckpoints",
            prev_checkpoint_prefix=f"{data_dir}/{attempt - 1}/_flytecheckpoints" if attempt else "",
            envs=state.envs,
            interruptible=interruptible,
        )
        running_logs: list[execution_pb2.TaskLog] = []

        async def on_running(
            logs: list[execution_pb2.TaskLog],
            attempt: int = attempt,
            running_logs: list[execution_pb2.TaskLog] = running_logs,
        ) -> None:
            running_logs[:] = logs
            await emitter.task(info, template.id, template.type, attempt, TaskPhase.RUNNING, logs=logs)

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
                    emitter.task(
                        info,
                        template.id,
                        template.type,
                        attempt,
                        TaskPhase.ABORTED,
                        logs=running_logs,
                        reason="the task was aborted",
                    )
                )
            raise
        except Exception as exc:  # a runner bug: report it as a system failure, never hang
            result = TaskResult.failure(
                SYSTEM, "RunnerFailure", f"{type(exc).__name__}: {exc}", recoverable=False
            )

        logs = result.logs or running_logs
        if result.futures_uri is not None:
            await emitter.task(info, template.id, template.type, attempt, TaskPhase.SUCCEEDED, logs=logs)
            return _Dynamic(result.futures_uri, attempt)
        if result.error is None:
            output_uri = result.output_uri or state.write(
                f"{output_prefix}/outputs.pb", result.outputs or literals_pb2.LiteralMap()
            )
            await emitter.task(
                info,
                template.id,
                template.type,
                attempt,
                TaskPhase.SUCCEEDED,
                logs=logs,
                output_uri=output_uri,
            )
            return NodeSuccess(outputs=result.outputs or literals_pb2.LiteralMap(), output_uri=output_uri)

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
        await emitter.task(info, template.id, template.type, attempt, phase, logs=logs, error=error)
        if not retry:
            raise NodeFailed(error)
        attempt += 1
