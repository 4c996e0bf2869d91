"""Dynamic tasks: the DynamicJobSpec (``futures.pb``) a task wrote is run as a sub-workflow of its node."""

from __future__ import annotations

from flyteidl.core import compiler_pb2, dynamic_job_pb2, literals_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeSuccess, ParentInfo, id_key


def _as_compiled(template: workflow_pb2.WorkflowTemplate) -> compiler_pb2.CompiledWorkflow:
    """An uncompiled template as the engine runs it (dependencies come from upstream ids and promises)."""
    return compiler_pb2.CompiledWorkflow(template=template)


async def run_dynamic(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    attempt: int,
    futures_uri: str,
    inputs: literals_pb2.LiteralMap,
) -> NodeSuccess:
    """Run the nodes of the dynamic job spec under ``node`` (DYNAMIC_RUNNING, is_dynamic/is_parent set) and
    resolve its outputs. Failures propagate as :class:`NodeFailed` from the child nodes."""
    from airflow_provider_flyte.sandbox.engine.workflow import run_workflow

    spec = state.blobs.read_proto(futures_uri, dynamic_job_pb2.DynamicJobSpec)
    for t in spec.tasks:
        state.tasks.setdefault(id_key(t.id), t)
    for sub in spec.subworkflows:
        state.sub_workflows.setdefault(id_key(sub.id), _as_compiled(sub))
    info.is_dynamic = True
    info.is_parent = True
    await state.emitter.node(info, NodePhase.DYNAMIC_RUNNING)
    template = workflow_pb2.WorkflowTemplate(nodes=spec.nodes, outputs=spec.outputs)
    template.id.CopyFrom(node.task_node.reference_id)
    outputs, uri = await run_workflow(
        state, _as_compiled(template), inputs, ParentInfo(info.unique_id, attempt)
    )
    return NodeSuccess(outputs=outputs, output_uri=uri)
