"""Names, identifiers and timestamps as flyteadmin spells them."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from flyteidl.core import identifier_pb2
from google.protobuf import text_format, timestamp_pb2

from airflow_provider_flyte.sandbox.errors import invalid

#: k8s ``rand.String`` alphabet, which flyteadmin uses for generated execution names
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
EXECUTION_NAME_RE = re.compile(r"^[a-z][a-z\-0-9]*$")
MAX_EXECUTION_NAME_LENGTH = 63

START_NODE = "start-node"
END_NODE = "end-node"
FLYTEGEN_PREFIX = ".flytegen."

RESOURCE_TYPE_NAMES = {
    identifier_pb2.TASK: "task",
    identifier_pb2.WORKFLOW: "workflow",
    identifier_pb2.LAUNCH_PLAN: "launch_plan",
}


def generate_execution_name() -> str:
    """``"a"`` + 19 random characters, as flyteadmin's ``GetExecutionName``."""
    return "a" + "".join(secrets.choice(NAME_ALPHABET) for _ in range(19))


def checked_execution_name(name: str) -> str:
    """flyteadmin's ``CheckValidExecutionID`` on the lowercased name; returns the lowercased name."""
    lowered = name.lower()
    if len(lowered) > MAX_EXECUTION_NAME_LENGTH:
        raise invalid(
            f"size of name exceeded length {MAX_EXECUTION_NAME_LENGTH}: {name!r} has {len(name)} characters"
        )
    if not EXECUTION_NAME_RE.match(lowered):
        raise invalid(f"invalid name format: {lowered}, does not match regex '^[a-z][a-z\\-0-9]*$'")
    return lowered


def flytegen_node_id(task_name: str) -> str:
    """Node id of a single-task execution's generated workflow: the task name with only letters, digits, '-'."""
    return "".join(c for c in task_name if c.isalnum() or c == "-").lower() or "n0"


def fmt(message: Any) -> str:
    """A protobuf message as one line of text, for error messages."""
    return str(text_format.MessageToString(message, as_one_line=True))


def fmt_execution(execution_id: Any) -> str:
    return f"{execution_id.project}:{execution_id.domain}:{execution_id.name}"


def exec_key(execution_id: Any) -> tuple[str, str, str]:
    return (execution_id.project, execution_id.domain, execution_id.name)


def now() -> float:
    return time.time()


def ts(seconds: float | None) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    if seconds is not None:
        out.FromNanoseconds(round(seconds * 1e9))
    return out


def seconds(timestamp: timestamp_pb2.Timestamp) -> float:
    return float(timestamp.seconds) + timestamp.nanos / 1e9


def event_time(timestamp: timestamp_pb2.Timestamp) -> float:
    """The event's ``occurred_at`` in seconds (now when unset)."""
    if timestamp.seconds == 0 and timestamp.nanos == 0:
        return time.time()
    return seconds(timestamp)
