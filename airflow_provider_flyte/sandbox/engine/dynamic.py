"""Dynamic tasks: the DynamicJobSpec (``futures.pb``) a task wrote is compiled and run as a sub-workflow of its node.

As propeller's dynamic handler: the job spec becomes a workflow template ``dynamic_<node unique id>`` (a random
version, the task's interface), compiled with the spec's tasks and sub-workflows; the node reports DYNAMIC_RUNNING
with ``task_node_metadata.dynamic_workflow`` {id, compiled_workflow, dynamic_job_spec_uri} (admin keeps it for
``GetNodeExecutionData`` and ``GetDynamicNodeWorkflow``), and the generated nodes run as children of the node
(unique ids ``{node}-{attempt}-{id}``).
"""

from __future__ import annotations

import secrets
import string

from flyteidl.core import compiler_pb2, dynamic_job_pb2, identifier_pb2, literals_pb2, tasks_pb2, workflow_pb2
from flyteidl.event import event_pb2

from airflow_provider_flyte.sandbox.admin.compiler import Resolver, compile_workflow
from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.runners import USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import (
    ExecutionState,
    NodeFailed,
    NodeSuccess,
    ParentInfo,
    id_key,
    id_text,
)
from airflow_provider_flyte.sandbox.errors import SandboxError, not_found

BUILD_FAILED = "DynamicWorkflowBuildFailed"
_VERSION_ALPHABET = string.ascii_lowercase + string.digits


def dynamic_workflow_id(state: ExecutionState, info: NodeInfo) -> identifier_pb2.Identifier:
    """The identifier propeller gives a dynamic workflow: ``dynamic_<node unique id>``, a random version."""
    e = state.job.execution_id
    return identifier_pb2.Identifier(
        resource_type=identifier_pb2.WORKFLOW,
        project=e.project,
        domain=e.domain,
        name=f"dynamic_{info.unique_id}",
        version="".join(secrets.choice(_VERSION_ALPHABET) for _ in range(10)),
    )


def compile_dynamic(
    state: ExecutionState,
    info: NodeInfo,
    template: tasks_pb2.TaskTemplate,
    spec: dynamic_job_pb2.DynamicJobSpec,
) -> compiler_pb2.CompiledWorkflowClosure:
    """The job spec compiled as propeller compiles it (its tasks, its sub-workflows; launch plans unchecked).

    Raises :class:`NodeFailed` (USER, DynamicWorkflowBuildFailed) when it does not compile."""
    spec_tasks = {id_key(t.id): t for t in spec.tasks}

    def task(identifier: identifier_pb2.Identifier) -> tasks_pb2.TaskTemplate:
        found = spec_tasks.get(id_key(identifier)) or state.tasks.get(id_key(identifier))
        if found is None:
            raise not_found(
                f"task {id_text(identifier)} is neither in the dynamic job spec nor in the workflow"
            )
        return found

    wf = workflow_pb2.WorkflowTemplate(
        id=dynamic_workflow_id(state, info),
        interface=template.interface,
        nodes=spec.nodes,
        outputs=spec.outputs,
    )
    resolver = Resolver(task=task, launch_plan_interface=lambda _identifier: (None, None))
    try:
        closure: compiler_pb2.CompiledWorkflowClosure = compile_workflow(
            wf, list(spec.subworkflows), resolver
        )
    except SandboxError as exc:
        raise NodeFailed(
            execution_error(USER, BUILD_FAILED, f"[{BUILD_FAILED}] malformed dynamic workflow: {exc.message}")
        ) from exc
    return closure


async def run_dynamic(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    template: tasks_pb2.TaskTemplate,
    attempt: int,
    futures_uri: str,
    inputs: literals_pb2.LiteralMap,
) -> NodeSuccess:
    """Compile and run the dynamic job spec under ``node`` and resolve its outputs. Failures propagate as
    :class:`NodeFailed` from the child nodes."""
    from airflow_provider_flyte.sandbox.engine.workflow import run_workflow

    spec = state.blobs.read_proto(futures_uri, dynamic_job_pb2.DynamicJobSpec)
    closure = compile_dynamic(state, info, template, spec)
    for compiled_task in closure.tasks:
        state.tasks.setdefault(id_key(compiled_task.template.id), compiled_task.template)
    for sub in closure.sub_workflows:
        state.sub_workflows.setdefault(id_key(sub.template.id), sub)
    metadata = event_pb2.TaskNodeMetadata()
    dynamic = metadata.dynamic_workflow
    dynamic.id.CopyFrom(closure.primary.template.id)
    dynamic.compiled_workflow.CopyFrom(closure)
    dynamic.dynamic_job_spec_uri = futures_uri
    info.is_dynamic = True
    info.is_parent = True
    await state.emitter.node(info, NodePhase.DYNAMIC_RUNNING, task_node=metadata)
    outputs, uri = await run_workflow(state, closure.primary, inputs, ParentInfo(info.unique_id, attempt))
    return NodeSuccess(outputs=outputs, output_uri=uri)
