"""One node execution: inputs, events, timeout, and dispatch to the handler of the node's kind."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from flyteidl.core import literals_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine import ids
from airflow_provider_flyte.sandbox.engine.bindings import BindingError, resolve_bindings
from airflow_provider_flyte.sandbox.engine.catalog import CacheKey
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import (
    ExecutionState,
    NodeFailed,
    NodeSuccess,
    ParentInfo,
    id_key,
)
from airflow_provider_flyte.sandbox.engine.tasks import (
    CacheStatus,
    cache_lookup,
    run_task_node,
    task_node_metadata,
    task_template,
)


def node_info(
    state: ExecutionState, node: workflow_pb2.Node, parent: ParentInfo | None, input_uri: str = ""
) -> NodeInfo:
    """The event fields of ``node`` run under ``parent``."""
    unique_id = ids.node_unique_id(
        parent.unique_id if parent else None, parent.attempt if parent else 0, node.id
    )
    kind = node.WhichOneof("target")
    target = None
    is_parent = False
    if kind == "task_node":
        target = node.task_node.reference_id
    elif kind == "workflow_node":
        wn = node.workflow_node
        if wn.WhichOneof("reference") == "sub_workflow_ref":
            target, is_parent = wn.sub_workflow_ref, True
        else:
            target = wn.launchplan_ref
    return NodeInfo(
        is_array=kind == "array_node",
        execution_id=state.job.execution_id,
        unique_id=unique_id,
        spec_node_id=node.id,
        node_name=node.metadata.name or node.id,
        input_uri=input_uri,
        parent_unique_id=parent.unique_id if parent else None,
        parent_attempt=parent.attempt if parent else 0,
        is_parent=is_parent,
        target_entity=target,
    )


async def skip_node(state: ExecutionState, node: workflow_pb2.Node, parent: ParentInfo | None) -> None:
    """Report ``node`` SKIPPED (an upstream node was skipped, or an untaken branch)."""
    await state.emitter.node(node_info(state, node, parent), NodePhase.SKIPPED)


async def run_node(
    state: ExecutionState,
    node: workflow_pb2.Node,
    scope_outputs: Mapping[str, literals_pb2.LiteralMap],
    parent: ParentInfo | None,
) -> literals_pb2.LiteralMap:
    """Run ``node`` to completion; returns its outputs or raises :class:`NodeFailed`. Cancelling it reports
    the node ABORTED (and aborts what it runs)."""
    info = node_info(state, node, parent)
    emitter = state.emitter
    data_dir = state.uri(info.unique_id)
    if state.job.recovered_nodes:  # a recovered execution: reuse what the original execution's node produced
        from airflow_provider_flyte.sandbox.engine.recovery import recover_node

        recovered = await recover_node(state, info, data_dir)
        if recovered is not None:
            return recovered
    try:
        inputs = resolve_bindings(node.inputs, scope_outputs)
    except BindingError as exc:
        error = execution_error(SYSTEM, "BindingResolutionFailure", f"[{node.id}] {exc}")
        await emitter.node(info, NodePhase.FAILED, error=error)
        raise NodeFailed(error) from exc
    info.input_uri = state.write(f"{data_dir}/inputs.pb", inputs)
    key = None
    if node.WhichOneof("target") == "task_node":
        template = state.tasks.get(id_key(node.task_node.reference_id))
        if template is not None:
            key, hit = cache_lookup(state, template, inputs)
            if hit is not None:  # as propeller: straight to SUCCEEDED, the task does not run
                uri = state.write(f"{data_dir}/0/outputs.pb", hit.outputs)
                hit_metadata = task_node_metadata(CacheStatus.CACHE_HIT, hit.metadata)
                await emitter.node(info, NodePhase.SUCCEEDED, output_uri=uri, task_node=hit_metadata)
                return hit.outputs
    await emitter.node(info, NodePhase.QUEUED)
    timeout = node.metadata.timeout.ToTimedelta().total_seconds() if node.metadata.HasField("timeout") else 0
    try:
        if timeout > 0:
            async with asyncio.timeout(timeout):
                result = await _dispatch(state, node, info, inputs, scope_outputs, key)
        else:
            result = await _dispatch(state, node, info, inputs, scope_outputs, key)
    except TimeoutError:
        error = execution_error(
            USER, "Timeout", f"node [{node.id}] timed out after {timeout:g}s (metadata.timeout)"
        )
        await emitter.node(info, NodePhase.TIMED_OUT, error=error)
        raise NodeFailed(error, phase=NodePhase.TIMED_OUT) from None
    except NodeFailed as failed:
        await emitter.node(
            info,
            failed.phase,
            error=failed.error,
            child_execution=failed.child_execution,
            deck_uri=failed.deck_uri,
        )
        raise
    except asyncio.CancelledError:
        await _report_aborted(state, info)
        raise
    output_uri = result.output_uri or state.write(f"{data_dir}/0/outputs.pb", result.outputs)
    await emitter.node(
        info,
        NodePhase.SUCCEEDED,
        output_uri=output_uri,
        child_execution=result.child_execution,
        task_node=result.task_node_metadata,
        deck_uri=result.deck_uri,
    )
    return result.outputs


async def _report_aborted(state: ExecutionState, info: NodeInfo) -> None:
    if state.silent:
        return
    error = execution_error(SYSTEM, "NodeAborted", state.abort_cause or "the node was aborted")
    # shielded: this task is being cancelled, the report must still go out
    await asyncio.shield(state.emitter.node(info, NodePhase.ABORTED, error=error))


async def _dispatch(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    inputs: literals_pb2.LiteralMap,
    scope_outputs: Mapping[str, literals_pb2.LiteralMap],
    key: CacheKey | None,
) -> NodeSuccess:
    kind = node.WhichOneof("target")
    if kind == "task_node":
        return await run_task_node(state, node, info, task_template(state, node), inputs, key)
    if kind == "gate_node":
        from airflow_provider_flyte.sandbox.engine.gates import run_gate_node

        return await run_gate_node(state, node, info, inputs)
    if kind == "workflow_node":
        from airflow_provider_flyte.sandbox.engine.children import run_launch_plan_node, run_sub_workflow_node

        if node.workflow_node.WhichOneof("reference") == "launchplan_ref":
            return await run_launch_plan_node(state, node, info, inputs)
        return await run_sub_workflow_node(state, node, info, inputs)
    if kind == "branch_node":
        from airflow_provider_flyte.sandbox.engine.branches import run_branch_node

        return await run_branch_node(state, node, info, inputs, scope_outputs)
    if kind == "array_node":
        from airflow_provider_flyte.sandbox.engine.arrays import run_array_node

        return await run_array_node(state, node, info, inputs)
    raise NodeFailed(
        execution_error(
            SYSTEM,
            "UnsupportedNodeKind",
            f"node [{node.id}] is a {kind or 'empty'} node, which the sandbox does not run "
            "(supported: task, gate, workflow (launch plan / sub-workflow), branch and array nodes)",
        )
    )
