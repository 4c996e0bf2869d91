"""What an execution's state means to Airflow: snapshots, trigger event payloads and failure messages.

Shared by the operators (status check before deferring, synchronous waits), the sensor and the triggers, so a
phase is interpreted in exactly one place. ``ABORTED`` and ``TIMED_OUT`` are failures; only ``SUCCEEDED`` succeeds.
Payloads are plain JSON values (they cross the triggerer/worker boundary through Airflow's serde).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_flyte.remote.phases import WORKFLOW_TERMINAL, workflow_phase_name

_ERROR_KINDS = ("UNKNOWN", "USER", "SYSTEM")

#: event ``status`` values
SUCCESS, FAILED, TIMEOUT, ERROR = "success", "failed", "timeout", "error"


@dataclass(frozen=True)
class ExecutionStatus:
    """A point-in-time view of one execution, independent of the client's classes."""

    name: str
    phase: str
    error_kind: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    abort_cause: str | None = None
    #: closure.updated_at as epoch seconds (changes whenever something in the execution changed)
    updated_at: float = 0.0

    @property
    def terminal(self) -> bool:
        return self.phase in WORKFLOW_TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.phase == "SUCCEEDED"


def status_from_closure(name: str, closure: Any) -> ExecutionStatus:
    """Build a snapshot from an ``admin.ExecutionClosure`` protobuf."""
    error_kind = error_code = error_message = abort_cause = None
    if closure.HasField("error"):
        err = closure.error
        error_kind = _ERROR_KINDS[err.kind] if 0 <= err.kind < len(_ERROR_KINDS) else str(err.kind)
        error_code = err.code or None
        error_message = err.message or None
    if closure.HasField("abort_metadata"):
        abort_cause = closure.abort_metadata.cause or None
    elif closure.abort_cause:
        abort_cause = closure.abort_cause
    updated = closure.updated_at.seconds + closure.updated_at.nanos / 1e9
    return ExecutionStatus(
        name=name,
        phase=workflow_phase_name(int(closure.phase)),
        error_kind=error_kind,
        error_code=error_code,
        error_message=error_message,
        abort_cause=abort_cause,
        updated_at=updated,
    )


def unchanged(status: ExecutionStatus, closure: Any) -> bool:
    """Whether an ``admin.ExecutionClosure`` still shows ``status`` (same phase, same ``updated_at``): two field
    reads, so a poller can skip the thousands of executions that did not change since the last round."""
    updated = closure.updated_at
    return (
        status.updated_at == updated.seconds + updated.nanos / 1e9
        and status.phase == workflow_phase_name(int(closure.phase))
    )


def status_of(execution: Any) -> ExecutionStatus:
    """Snapshot of a client execution object (anything with ``.id.name`` and a ``.closure`` protobuf)."""
    closure = execution.proto.closure if hasattr(execution, "proto") else execution.closure
    return status_from_closure(execution.id.name, closure)


def event_payload(
    status: ExecutionStatus, *, project: str, domain: str, url: str | None = None
) -> dict[str, Any]:
    """The trigger event for a terminal execution."""
    return {
        "status": SUCCESS if status.succeeded else FAILED,
        "execution_name": status.name,
        "project": project,
        "domain": domain,
        "phase": status.phase,
        "url": url,
        "error": {
            "kind": status.error_kind,
            "code": status.error_code,
            "message": status.error_message,
            "abort_cause": status.abort_cause,
        },
    }


def failure_message(payload: dict[str, Any], failing_node: str | None = None) -> str:
    """One line naming the execution, its phase, the Flyte error kind/code/message and the failing node."""
    name = payload.get("execution_name")
    where = f"{payload.get('project')}/{payload.get('domain')}/{name}"
    phase = payload.get("phase")
    err = payload.get("error") or {}
    parts = [f"Flyte execution {where} ended {phase}"]
    if phase == "ABORTED":
        parts.append(f"abort cause: {err.get('abort_cause') or 'not given'}")
    if err.get("kind") or err.get("code") or err.get("message"):
        parts.append(f"error kind={err.get('kind')} code={err.get('code')}: {err.get('message')}")
    if failing_node:
        parts.append(f"failing node: {failing_node}")
    if payload.get("url"):
        parts.append(f"see {payload['url']}")
    return "; ".join(parts)


def validate_payload(event: Any) -> dict[str, Any]:
    """Check that a resumed task got one of our events; the message says what arrived instead."""
    if not isinstance(event, dict) or event.get("status") not in (SUCCESS, FAILED, TIMEOUT, ERROR):
        raise ValueError(f"unexpected trigger event {event!r}: expected a Flyte trigger payload with a 'status'")
    if not event.get("execution_name"):
        raise ValueError(f"trigger event without execution_name: {event!r}")
    return event
