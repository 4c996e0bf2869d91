"""Signals of gate nodes: list, and set (approve / reject / typed input)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteEntityNotFoundError
from airflow_provider_flyte.remote.models import Signal
from airflow_provider_flyte.remote.ops.call import SIGNAL, Call, Local, Op
from airflow_provider_flyte.remote.ops.lists import PAGE_SIZE, list_all


def list_signals(exec_id: Any, limit: int | None = 100, filters: str | None = None) -> Op[list[Signal]]:
    """Signals of an execution (created when its gate nodes are reached)."""
    from flyteidl.admin import signal_pb2

    def make_call(token: str) -> Call:
        request = signal_pb2.SignalListRequest(
            workflow_execution_id=exec_id,
            limit=min(limit or PAGE_SIZE, PAGE_SIZE),
            token=token,
            filters=filters or "",
        )
        return Call(SIGNAL, "ListSignals", request, True)

    protos = yield from list_all(make_call, "signals", limit)
    return [Signal(p) for p in protos]


def set_signal(exec_id: Any, signal_id: str, value: Any) -> Op[None]:
    """SetSignal with a ``core.Literal`` (idempotent: setting the same value again changes nothing)."""
    from flyteidl.admin import signal_pb2
    from flyteidl.core import identifier_pb2

    request = signal_pb2.SignalSetRequest(
        id=identifier_pb2.SignalIdentifier(signal_id=signal_id, execution_id=exec_id), value=value
    )
    yield Call(SIGNAL, "SetSignal", request, True)
    return None


def set_typed_signal(
    exec_id: Any, signal_id: str, literal_type: Any, convert: Callable[[Any], Any]
) -> Op[None]:
    """Set a signal from a Python value; ``convert(literal_type)`` builds the literal (a local step). Without a
    ``literal_type`` the signal's stored type is looked up first."""
    if literal_type is None:
        signals = yield from list_signals(exec_id, limit=None)
        match = next((s for s in signals if s.signal_id == signal_id), None)
        if match is None:
            known = ", ".join(sorted(s.signal_id for s in signals)) or "none yet"
            raise FlyteEntityNotFoundError(
                f"execution {exec_id.name} has no signal {signal_id!r} (signals: {known}); a signal exists once its "
                "gate node is reached"
            )
        literal_type = match.proto.type
    literal = yield Local(lambda: convert(literal_type))
    yield from set_signal(exec_id, signal_id, literal)
    return None
