"""Recovered executions (flyteadmin's RecoverExecution, propeller's ``attemptRecovery``).

Before a node of a recovered execution runs, propeller asks admin for the node execution with the same fully
qualified id in the original execution. If it ended SUCCEEDED or RECOVERED, its inputs and outputs are copied
and the node goes straight to phase RECOVERED: no task attempt runs and no task execution exists. Any other
phase (failed, aborted, skipped, never reached) runs the node normally; nodes inside a failed sub-workflow or
branch are recovered one by one, since their ids are prefixed with their parent's.
"""

from __future__ import annotations

from flyteidl.core import literals_pb2

from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.state import ExecutionState


async def recover_node(state: ExecutionState, info: NodeInfo, data_dir: str) -> literals_pb2.LiteralMap | None:
    """The outputs of the original execution's node ``info`` (reported RECOVERED), or None to run the node."""
    recovered = state.job.recovered_nodes.get(info.unique_id)
    if recovered is None:
        return None
    info.input_uri = state.write(f"{data_dir}/inputs.pb", recovered.inputs)
    output_uri = state.write(f"{data_dir}/0/outputs.pb", recovered.outputs)
    await state.emitter.node(
        info,
        NodePhase.RECOVERED,
        output_uri=output_uri,
        child_execution=recovered.child_execution,
        task_node=recovered.task_node,
    )
    return recovered.outputs
