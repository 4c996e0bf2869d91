"""Request validation with flyteadmin's checks and messages (``pkg/manager/impl/validation``)."""

from __future__ import annotations

import re
from typing import Any

from flyteidl.core import identifier_pb2, literals_pb2

from airflow_provider_flyte.remote.codec.inference import describe_type, infer_literal_type, is_castable
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.sandbox.admin.names import fmt
from airflow_provider_flyte.sandbox.errors import SandboxError, invalid

_RESOURCE_TYPE_LABELS = {
    identifier_pb2.UNSPECIFIED: "unspecified",
    identifier_pb2.TASK: "task",
    identifier_pb2.WORKFLOW: "workflow",
    identifier_pb2.LAUNCH_PLAN: "launch_plan",
    identifier_pb2.DATASET: "dataset",
}
_LABEL_KEY_RE = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$")
MAX_LABELS = 16


def missing(field: str) -> SandboxError:
    return invalid(f"missing {field}")


def require(value: Any, field: str) -> None:
    if not value:
        raise missing(field)


def require_message(message: Any, name: str, field: str) -> None:
    """A sub-message field must be set (``missing <field>`` otherwise)."""
    if not message.HasField(name):
        raise missing(field)


def resource_type_label(resource_type: int) -> str:
    return _RESOURCE_TYPE_LABELS.get(resource_type, str(resource_type))


def validate_identifier_fields(identifier: Any, prefix: str = "") -> None:
    """project, domain, name and version are all required (``missing project`` ...)."""
    for field in ("project", "domain", "name", "version"):
        if not getattr(identifier, field):
            raise missing(prefix + field)


def validate_identifier(holder: Any, field: str, *expected: int) -> Any:
    """``holder.<field>`` must be an Identifier of one of the expected resource types with all fields set."""
    if not holder.HasField(field):
        raise missing(field)
    identifier = getattr(holder, field)
    if identifier.resource_type not in expected:
        wanted = " or ".join(resource_type_label(e) for e in expected)
        raise invalid(
            f"unexpected resource type {resource_type_label(identifier.resource_type)} for identifier "
            f"[{fmt(identifier)}], expected {wanted} instead"
        )
    validate_identifier_fields(identifier)
    return identifier


def validate_named_entity_id(identifier: Any, *, name_required: bool = True) -> None:
    require(identifier.project, "project")
    require(identifier.domain, "domain")
    if name_required:
        require(identifier.name, "name")


def validate_execution_id(holder: Any, field: str = "id") -> Any:
    """A WorkflowExecutionIdentifier with project, domain and name set."""
    if not holder.HasField(field):
        raise missing(field)
    execution_id = getattr(holder, field)
    require(execution_id.project, "project")
    require(execution_id.domain, "domain")
    require(execution_id.name, "name")
    return execution_id


def validate_node_execution_id(holder: Any, field: str = "id") -> Any:
    if not holder.HasField(field):
        raise missing(field)
    node_id = getattr(holder, field)
    validate_execution_id(node_id, "execution_id")
    require(node_id.node_id, "node_id")
    return node_id


def validate_task_execution_id(holder: Any, field: str = "id") -> Any:
    if not holder.HasField(field):
        raise missing(field)
    task_execution_id = getattr(holder, field)
    validate_identifier(task_execution_id, "task_id", identifier_pb2.TASK)
    validate_node_execution_id(task_execution_id, "node_execution_id")
    return task_execution_id


def validate_labels(labels: Any, field: str = "labels") -> None:
    """Kubernetes label rules: qualified names as keys, at most 63-character values, at most 16 entries."""
    values = dict(labels.values)
    if len(values) > MAX_LABELS:
        raise invalid(f"invalid {field}: at most {MAX_LABELS} entries are allowed, got {len(values)}")
    for key, value in values.items():
        name = key.rsplit("/", 1)[-1]
        if len(name) > 63 or not _LABEL_KEY_RE.match(key):
            raise invalid(f"invalid {field} key {key!r}: must be a Kubernetes qualified name")
        if len(value) > 63 or not _LABEL_VALUE_RE.match(value):
            raise invalid(
                f"invalid {field} value {value!r} for key {key!r}: must be a Kubernetes label value"
            )


def validate_dns_label(value: str, field: str) -> None:
    if len(value) > 63 or not _DNS_LABEL_RE.match(value):
        raise invalid(
            f"invalid {field} {value!r}: a DNS-1123 label must consist of lower case alphanumeric characters or "
            "'-', start and end with an alphanumeric character and be at most 63 characters"
        )


def validate_quantity(value: str, where: str) -> None:
    if not _QUANTITY_RE.match(value):
        raise invalid(
            f"invalid resource quantity {value!r} for {where}: use a Kubernetes quantity like 500m or 1Gi"
        )


# ---------------------------------------------------------------------------------------------------------------
# literal types


def literal_type_of(literal: Any, what: str) -> Any:
    """Infer a literal's type (propeller's LiteralTypeForLiteral); a literal without value -> INVALID_ARGUMENT."""
    try:
        return infer_literal_type(literal)
    except FlyteInvalidInputError as exc:
        raise invalid(f"{what}: {exc}") from None


def check_execution_inputs(user_inputs: Any, fixed_inputs: Any, expected_inputs: Any) -> Any:
    """flyteadmin's ``CheckAndFetchInputsForExecution``: the resolved LiteralMap of an execution."""
    expected = dict(expected_inputs.parameters)
    fixed = dict(fixed_inputs.literals)
    result = literals_pb2.LiteralMap()
    for name, value in user_inputs.literals.items():
        if name in fixed:
            raise invalid(f"fixed_inputs {name} cannot be overridden")
        if name not in expected:
            known = ", ".join(sorted(expected)) or "none"
            raise invalid(f"invalid input {name} (the launch plan's inputs are: {known})")
        result.literals[name].CopyFrom(value)
    for name, parameter in expected.items():
        if name not in result.literals:
            if parameter.required:
                raise invalid(f"expected_inputs {name} missing")
            if parameter.HasField("default"):
                result.literals[name].CopyFrom(parameter.default)
            continue
        got = literal_type_of(result.literals[name], f"input {name}")
        want = parameter.var.type
        if not is_castable(got, want):
            raise invalid(
                f"invalid {name} input wrong type. Expected {describe_type(want)}, but got {describe_type(got)}"
            )
    for name, value in fixed.items():
        result.literals[name].CopyFrom(value)
    return result
