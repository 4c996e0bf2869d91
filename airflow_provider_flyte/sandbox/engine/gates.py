"""Gate nodes: approve (boolean signal), signal (typed input) and sleep, as propeller's gate handler."""

from __future__ import annotations

import asyncio

from flyteidl.admin import signal_pb2
from flyteidl.core import literals_pb2, types_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.runners import USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeFailed, NodeSuccess

REJECT_CODE = "ReceivedRejectSignal"
REJECT_MESSAGE = "received a reject signal to disapprove the node input values"


async def _wait_signal(
    state: ExecutionState, signal_id: str, literal_type: types_pb2.LiteralType
) -> literals_pb2.Literal:
    request = signal_pb2.SignalGetOrCreateRequest(type=literal_type)
    request.id.signal_id = signal_id
    request.id.execution_id.CopyFrom(state.job.execution_id)
    return await state.signals.wait_signal(request)


def _is_true(lit: literals_pb2.Literal) -> bool:
    if lit.WhichOneof("value") == "scalar" and lit.scalar.WhichOneof("value") == "union":
        return _is_true(lit.scalar.union.value)
    return lit.WhichOneof("value") == "scalar" and bool(lit.scalar.primitive.boolean)


async def run_gate_node(
    state: ExecutionState, node: workflow_pb2.Node, info: NodeInfo, inputs: literals_pb2.LiteralMap
) -> NodeSuccess:
    """Wait for the gate's condition; the node timeout (metadata.timeout) bounds the wait."""
    gate = node.gate_node
    await state.emitter.node(info, NodePhase.RUNNING)
    kind = gate.WhichOneof("condition")
    if kind == "approve":
        value = await _wait_signal(
            state, gate.approve.signal_id, types_pb2.LiteralType(simple=types_pb2.BOOLEAN)
        )
        if not _is_true(value):
            raise NodeFailed(execution_error(USER, REJECT_CODE, REJECT_MESSAGE))
        return NodeSuccess(outputs=inputs)
    if kind == "signal":
        value = await _wait_signal(state, gate.signal.signal_id, gate.signal.type)
        outputs = literals_pb2.LiteralMap()
        outputs.literals[gate.signal.output_variable_name or "o0"].CopyFrom(value)
        return NodeSuccess(outputs=outputs)
    if kind == "sleep":
        await asyncio.sleep(max(0.0, gate.sleep.duration.ToTimedelta().total_seconds()))
        return NodeSuccess(outputs=literals_pb2.LiteralMap())
    raise NodeFailed(execution_error(USER, "InvalidGateNode", f"gate node [{node.id}] has no condition"))
