"""Runs the DAG of one compiled workflow (the primary one, or a sub-workflow under a parent node)."""

from __future__ import annotations

import asyncio
import logging

from flyteidl.core import compiler_pb2, execution_pb2, literals_pb2, types_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine import ids
from airflow_provider_flyte.sandbox.engine.bindings import (
    END_NODE,
    START_NODE,
    BindingError,
    resolve_bindings,
)
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.nodes import run_node, skip_node
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, execution_error
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeFailed, ParentInfo

log = logging.getLogger(__name__)

FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = workflow_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE


def _promise_nodes(bd: literals_pb2.BindingData, found: set[str]) -> None:
    which = bd.WhichOneof("value")
    if which == "promise":
        found.add(bd.promise.node_id)
    elif which == "collection":
        for b in bd.collection.bindings:
            _promise_nodes(b, found)
    elif which == "map":
        for b in bd.map.bindings.values():
            _promise_nodes(b, found)


def upstream_of(compiled: compiler_pb2.CompiledWorkflow) -> dict[str, set[str]]:
    """Upstream node ids of every executable node: the compiled connections when present, else the nodes'
    upstream_node_ids plus the nodes their bindings read (start-node and end-node excluded)."""
    nodes = [n for n in compiled.template.nodes if n.id not in (START_NODE, END_NODE)]
    connections = compiled.connections.upstream
    result: dict[str, set[str]] = {}
    for n in nodes:
        ups: set[str] = set()
        if n.id in connections:
            ups.update(connections[n.id].ids)
        ups.update(n.upstream_node_ids)
        for b in n.inputs:
            _promise_nodes(b.binding, ups)
        if n.WhichOneof("target") == "branch_node":
            ie = n.branch_node.if_else
            for child in [ie.case.then_node, *(c.then_node for c in ie.other), ie.else_node]:
                for b in child.inputs:
                    _promise_nodes(b.binding, ups)
        ups.difference_update((START_NODE, END_NODE, ""))
        ups.discard(n.id)
        result[n.id] = ups
    return result


def _boundary_info(state: ExecutionState, node_id: str, parent: ParentInfo | None) -> NodeInfo:
    unique_id = ids.node_unique_id(
        parent.unique_id if parent else None, parent.attempt if parent else 0, node_id
    )
    return NodeInfo(
        execution_id=state.job.execution_id,
        unique_id=unique_id,
        spec_node_id=node_id,
        node_name=node_id,
        input_uri="",
        parent_unique_id=parent.unique_id if parent else None,
        parent_attempt=parent.attempt if parent else 0,
    )


async def _start_node(
    state: ExecutionState, inputs: literals_pb2.LiteralMap, parent: ParentInfo | None
) -> None:
    info = _boundary_info(state, START_NODE, parent)
    uri = state.write(state.uri(info.unique_id, "0", "outputs.pb"), inputs)
    await state.emitter.node(info, NodePhase.QUEUED)
    await state.emitter.node(info, NodePhase.SUCCEEDED, output_uri=uri)


async def run_workflow(
    state: ExecutionState,
    compiled: compiler_pb2.CompiledWorkflow,
    inputs: literals_pb2.LiteralMap,
    parent: ParentInfo | None = None,
) -> tuple[literals_pb2.LiteralMap, str]:
    """Run every node of ``compiled`` respecting dependencies and the failure policy; returns the workflow's
    outputs and their URI, or raises :class:`NodeFailed` with the (first) failing node's error."""
    template = compiled.template
    nodes = {n.id: n for n in template.nodes if n.id not in (START_NODE, END_NODE)}
    upstream = upstream_of(compiled)
    unknown = {u for ups in upstream.values() for u in ups if u not in nodes}
    if unknown:
        raise NodeFailed(
            execution_error(SYSTEM, "InvalidWorkflow", f"nodes depend on unknown nodes {sorted(unknown)}")
        )
    fail_late = template.metadata.on_failure == FAIL_AFTER_EXECUTABLE_NODES_COMPLETE

    await _start_node(state, inputs, parent)
    # "" is how uncompiled templates refer to the workflow inputs
    outputs: dict[str, literals_pb2.LiteralMap] = {START_NODE: inputs, "": inputs}
    pending = dict(nodes)
    skipped: set[str] = set()
    running: dict[asyncio.Task[literals_pb2.LiteralMap], str] = {}
    failures: list[NodeFailed] = []
    try:
        while True:
            progressed = True
            while progressed and not (failures and not fail_late):
                progressed = False
                for node_id in list(pending):
                    ups = upstream[node_id]
                    if any(u in pending or u in running.values() for u in ups):
                        continue
                    if any(u not in outputs and u not in skipped for u in ups):
                        continue  # an upstream node failed: this one never becomes executable
                    node = pending.pop(node_id)
                    if any(u in skipped for u in ups):
                        skipped.add(node_id)
                        await skip_node(state, node, parent)
                        progressed = True
                        continue
                    task = asyncio.create_task(run_node(state, node, outputs, parent), name=f"node-{node_id}")
                    running[task] = node_id
            if failures and not fail_late:
                break
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                node_id = running.pop(task)
                try:
                    outputs[node_id] = task.result()
                except NodeFailed as failed:
                    failures.append(failed)
    finally:
        if running:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    if failures:
        raise failures[0]

    end = _boundary_info(state, END_NODE, parent)
    try:
        result = resolve_bindings(template.outputs, outputs)
    except BindingError as exc:
        error = execution_error(SYSTEM, "OutputsNotFound", f"cannot resolve the workflow outputs: {exc}")
        await state.emitter.node(end, NodePhase.FAILED, error=error)
        raise NodeFailed(error) from exc
    uri = state.write(state.uri(end.unique_id, "0", "outputs.pb"), result)
    end.input_uri = uri
    await state.emitter.node(end, NodePhase.QUEUED)
    await state.emitter.node(end, NodePhase.SUCCEEDED, output_uri=uri)
    return result, uri


def _error_binding(node_id: str, error: execution_pb2.ExecutionError) -> literals_pb2.BindingData:
    """The ``err`` input propeller gives a failure node: a union holding the workflow's error (FlyteError)."""
    out = literals_pb2.BindingData()
    union = out.scalar.union
    union.value.scalar.error.message = error.message
    union.value.scalar.error.failed_node_id = node_id
    union.type.simple = types_pb2.ERROR
    union.type.structure.tag = "FlyteError"
    return out


async def run_failure_node(
    state: ExecutionState,
    compiled: compiler_pb2.CompiledWorkflow,
    inputs: literals_pb2.LiteralMap,
    error: execution_pb2.ExecutionError,
) -> execution_pb2.ExecutionError:
    """Run the workflow's failure node (``on_failure``) after a failure, as propeller's handleFailureNode: its
    ``err`` input holds the error; returns the error the workflow ends with (the failure node's own when it fails,
    else the original one). A workflow without a failure node returns ``error`` at once."""
    template = compiled.template
    if not template.HasField("failure_node"):
        return error
    node = workflow_pb2.Node()
    node.CopyFrom(template.failure_node)
    for binding in node.inputs:
        if binding.var == "err":
            binding.binding.CopyFrom(_error_binding(node.id, error))
    try:
        await run_node(state, node, {START_NODE: inputs, "": inputs}, None)
    except NodeFailed as failed:
        return failed.error
    return error
