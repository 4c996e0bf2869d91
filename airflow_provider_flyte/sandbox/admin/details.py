"""``google.rpc.Status`` details (sent as ``grpc-status-details-bin``) that flyteadmin attaches to some errors."""

from __future__ import annotations

from typing import Any

from flyteidl.admin import event_pb2
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2  # type: ignore[import-untyped]


def status_details(code: int, message: str, detail: Any) -> bytes:
    """A serialized ``google.rpc.Status`` carrying one packed detail message."""
    packed = any_pb2.Any()
    packed.Pack(detail)
    data: bytes = status_pb2.Status(code=code, message=message, details=[packed]).SerializeToString()
    return data


def terminal_state_details(message: str, current_phase: str) -> bytes:
    """FAILED_PRECONDITION details: EventFailureReason{already_in_terminal_state{current_phase}}."""
    reason = event_pb2.EventFailureReason()
    reason.already_in_terminal_state.current_phase = current_phase
    return status_details(code_pb2.FAILED_PRECONDITION, message, reason)


ALREADY_EXISTS = code_pb2.ALREADY_EXISTS
INVALID_ARGUMENT = code_pb2.INVALID_ARGUMENT
