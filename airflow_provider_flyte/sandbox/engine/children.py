"""Workflow nodes: launch-plan nodes (child executions through admin) and sub-workflows (run inline)."""

from __future__ import annotations

import asyncio

from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.core import execution_pb2, literals_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine import ids
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import (
    ExecutionState,
    NodeFailed,
    NodeSuccess,
    ParentInfo,
    id_key,
    id_text,
)

CHILD_WORKFLOW = admin_execution_pb2.ExecutionMetadata.CHILD_WORKFLOW
_WF = execution_pb2.WorkflowExecution


def child_request(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    inputs: literals_pb2.LiteralMap,
    attempt: int = 0,
) -> admin_execution_pb2.ExecutionCreateRequest:
    """The ExecutionCreateRequest propeller sends for a launch-plan node: a deterministic name, mode
    CHILD_WORKFLOW, nesting + 1, the parent node execution, and the parent's execution settings inherited."""
    parent_id = state.job.execution_id
    parent_spec = state.job.spec
    spec = admin_execution_pb2.ExecutionSpec(launch_plan=node.workflow_node.launchplan_ref)
    md = spec.metadata
    md.mode = CHILD_WORKFLOW
    md.principal = parent_spec.metadata.principal
    md.nesting = parent_spec.metadata.nesting + 1
    md.parent_node_execution.node_id = info.unique_id
    md.parent_node_execution.execution_id.CopyFrom(parent_id)
    for name in (
        "labels",
        "annotations",
        "security_context",
        "raw_output_data_config",
        "interruptible",
        "envs",
        "quality_of_service",
    ):
        if parent_spec.HasField(name):
            getattr(spec, name).CopyFrom(getattr(parent_spec, name))
    spec.max_parallelism = parent_spec.max_parallelism
    spec.overwrite_cache = parent_spec.overwrite_cache
    return admin_execution_pb2.ExecutionCreateRequest(
        project=parent_id.project,
        domain=parent_id.domain,
        name=ids.child_execution_name(parent_id.name, info.unique_id, attempt),
        spec=spec,
        inputs=inputs,
        org=parent_id.org,
    )


async def run_launch_plan_node(
    state: ExecutionState, node: workflow_pb2.Node, info: NodeInfo, inputs: literals_pb2.LiteralMap
) -> NodeSuccess:
    """Launch the child execution, wait for it, and take its outputs (or its error)."""
    lp_id = node.workflow_node.launchplan_ref
    async with state.slot():
        try:
            child_id = await state.launcher.launch_child(child_request(state, node, info, inputs))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise NodeFailed(
                execution_error(SYSTEM, "LaunchPlanLaunchFailed", f"cannot launch {id_text(lp_id)}: {exc}")
            ) from exc
        await state.emitter.node(info, NodePhase.RUNNING, child_execution=child_id)
        try:
            execution, outputs = await state.launcher.wait_child(child_id)
        except asyncio.CancelledError:
            if not state.silent:
                cause = state.abort_cause or f"parent node [{info.unique_id}] was aborted"
                await asyncio.shield(state.launcher.terminate_child(child_id, cause))
            raise
    phase = execution.closure.phase
    if phase == _WF.SUCCEEDED:
        return NodeSuccess(outputs=outputs or literals_pb2.LiteralMap(), child_execution=child_id)
    if execution.closure.HasField("error"):
        child_error = execution.closure.error
        error = execution_error(
            child_error.kind or SYSTEM, child_error.code, child_error.message, child_error.error_uri
        )
    elif phase == _WF.ABORTED:
        error = execution_error(
            USER, "RemoteChildWorkflowExecutionFailed", f"launchplan execution {child_id.name} was aborted"
        )
    else:
        error = execution_error(
            SYSTEM,
            "LaunchPlanExecutionFailed",
            f"launchplan execution {child_id.name} ended {_WF.Phase.Name(phase)} without explicit error",
        )
    raise NodeFailed(error, child_execution=child_id)


async def run_sub_workflow_node(
    state: ExecutionState, node: workflow_pb2.Node, info: NodeInfo, inputs: literals_pb2.LiteralMap
) -> NodeSuccess:
    """Run the sub-workflow inline; its nodes are children of this node (unique ids derived from it)."""
    from airflow_provider_flyte.sandbox.engine.workflow import run_workflow

    ref = node.workflow_node.sub_workflow_ref
    sub = state.sub_workflows.get(id_key(ref))
    if sub is None:
        raise NodeFailed(
            execution_error(
                SYSTEM, "SubWorkflowNotFound", f"sub-workflow {id_text(ref)} is not in the compiled closure"
            )
        )
    await state.emitter.node(info, NodePhase.RUNNING)
    outputs, _ = await run_workflow(state, sub, inputs, ParentInfo(info.unique_id, 0))
    return NodeSuccess(outputs=outputs)
