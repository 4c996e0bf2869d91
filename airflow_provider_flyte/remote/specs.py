"""Small typed builders for flyteidl objects (tasks, workflows, launch plans) without flytekit.

Used by the tests, the examples, the demo and the client's backfill. Every function is pure: it only builds
flyteidl messages. Durations are given in seconds (``float``) or as :class:`datetime.timedelta`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from flyteidl.admin import common_pb2, launch_plan_pb2, schedule_pb2
from flyteidl.core import (
    condition_pb2,
    identifier_pb2,
    interface_pb2,
    literals_pb2,
    types_pb2,
    workflow_pb2,
)
from google.protobuf import duration_pb2

Duration = float | timedelta

__all__ = [
    "binding_from_collection",
    "binding_from_literal",
    "binding_from_map",
    "binding_from_promise",
    "bindings",
    "branch_node",
    "comparison",
    "conjunction",
    "duration",
    "gate_approve_node",
    "gate_signal_node",
    "gate_sleep_node",
    "identifier",
    "if_block",
    "interface",
    "launch_plan_node",
    "launch_plan_spec",
    "node_metadata",
    "operand_literal",
    "operand_var",
    "parameter_map",
    "simple_type",
    "sub_workflow_node",
    "task_node",
    "workflow_template",
]


def duration(value: Duration) -> duration_pb2.Duration:
    """A protobuf Duration from seconds or a timedelta."""
    d = duration_pb2.Duration()
    d.FromTimedelta(value if isinstance(value, timedelta) else timedelta(seconds=value))
    return d


def identifier(
    resource_type: int | str,
    project: str,
    domain: str,
    name: str,
    version: str,
    org: str = "",
) -> identifier_pb2.Identifier:
    """An Identifier; ``resource_type`` is a ResourceType value or name ("TASK", "WORKFLOW", "LAUNCH_PLAN")."""
    rt = identifier_pb2.ResourceType.Value(resource_type) if isinstance(resource_type, str) else resource_type
    return identifier_pb2.Identifier(
        resource_type=rt, project=project, domain=domain, name=name, version=version, org=org
    )


def simple_type(name: str) -> types_pb2.LiteralType:
    """A simple LiteralType by SimpleType name, e.g. ``simple_type("INTEGER")``."""
    return types_pb2.LiteralType(simple=types_pb2.SimpleType.Value(name))


def _variables(variables: Mapping[str, types_pb2.LiteralType] | None) -> interface_pb2.VariableMap:
    vm = interface_pb2.VariableMap()
    for name, lt in (variables or {}).items():
        vm.variables[name].type.CopyFrom(lt)
    return vm


def interface(
    inputs: Mapping[str, types_pb2.LiteralType] | None = None,
    outputs: Mapping[str, types_pb2.LiteralType] | None = None,
) -> interface_pb2.TypedInterface:
    """A TypedInterface from ``{name: LiteralType}`` maps (insertion order is kept)."""
    return interface_pb2.TypedInterface(inputs=_variables(inputs), outputs=_variables(outputs))


def parameter_map(
    variables: Mapping[str, types_pb2.LiteralType],
    defaults: Mapping[str, literals_pb2.Literal] | None = None,
) -> interface_pb2.ParameterMap:
    """A ParameterMap: variables with a default are optional, the others required."""
    pm = interface_pb2.ParameterMap()
    defaults = defaults or {}
    for name, lt in variables.items():
        p = pm.parameters[name]
        p.var.type.CopyFrom(lt)
        if name in defaults:
            p.default.CopyFrom(defaults[name])
        else:
            p.required = True
    return pm


# ---------------------------------------------------------------------------------------------- bindings


def binding_from_promise(
    node_id: str, var: str, attr_path: Sequence[str | int] = ()
) -> literals_pb2.BindingData:
    """BindingData referring to output ``var`` of node ``node_id`` (``"start-node"`` for workflow inputs)."""
    ref = literals_pb2.BindingData()
    ref.promise.node_id = node_id
    ref.promise.var = var
    for part in attr_path:
        attr = ref.promise.attr_path.add()
        if isinstance(part, int):
            attr.int_value = part
        else:
            attr.string_value = part
    return ref


def binding_from_literal(literal: literals_pb2.Literal) -> literals_pb2.BindingData:
    """BindingData holding a static literal (scalars, collections and maps are converted recursively)."""
    which = literal.WhichOneof("value")
    bd = literals_pb2.BindingData()
    if which == "scalar":
        bd.scalar.CopyFrom(literal.scalar)
    elif which == "collection":
        bd.collection.bindings.extend(binding_from_literal(x) for x in literal.collection.literals)
    elif which == "map":
        for k, v in literal.map.literals.items():
            bd.map.bindings[k].CopyFrom(binding_from_literal(v))
    elif which == "offloaded_metadata":
        bd.offloaded_metadata.CopyFrom(literal.offloaded_metadata)
    else:
        raise ValueError("cannot bind an empty Literal: set scalar, collection, map or offloaded_metadata")
    return bd


def binding_from_collection(items: Iterable[literals_pb2.BindingData]) -> literals_pb2.BindingData:
    """BindingData for a list whose elements are bindings (promises or literals)."""
    bd = literals_pb2.BindingData()
    bd.collection.bindings.extend(items)
    return bd


def binding_from_map(items: Mapping[str, literals_pb2.BindingData]) -> literals_pb2.BindingData:
    """BindingData for a ``dict[str, T]`` whose values are bindings."""
    bd = literals_pb2.BindingData()
    for k, v in items.items():
        bd.map.bindings[k].CopyFrom(v)
    return bd


def bindings(
    values: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal],
) -> list[literals_pb2.Binding]:
    """Bindings from ``{var: BindingData | Literal}``."""
    out = []
    for var, value in values.items():
        bd = binding_from_literal(value) if isinstance(value, literals_pb2.Literal) else value
        out.append(literals_pb2.Binding(var=var, binding=bd))
    return out


# ---------------------------------------------------------------------------------------------- nodes


def node_metadata(
    name: str = "",
    retries: int = 0,
    timeout: Duration | None = None,
    interruptible: bool | None = None,
) -> workflow_pb2.NodeMetadata:
    """NodeMetadata with optional retries, timeout and interruptible flag."""
    md = workflow_pb2.NodeMetadata(name=name)
    if retries:
        md.retries.retries = retries
    if timeout is not None:
        md.timeout.CopyFrom(duration(timeout))
    if interruptible is not None:
        md.interruptible = interruptible
    return md


def _node(
    node_id: str,
    inputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None,
    upstream: Sequence[str],
    name: str,
    retries: int,
    timeout: Duration | None,
    interruptible: bool | None = None,
) -> workflow_pb2.Node:
    return workflow_pb2.Node(
        id=node_id,
        metadata=node_metadata(name or node_id, retries, timeout, interruptible),
        inputs=bindings(inputs or {}),
        upstream_node_ids=list(upstream),
    )


def _upstream_from_bindings(inputs: Mapping[str, Any] | None, upstream: Sequence[str]) -> list[str]:
    """Explicit upstream ids plus every node referenced by a promise in the bindings (as flytekit does)."""
    found: list[str] = list(upstream)

    def walk(bd: literals_pb2.BindingData) -> None:
        which = bd.WhichOneof("value")
        if which == "promise":
            if bd.promise.node_id not in ("", "start-node") and bd.promise.node_id not in found:
                found.append(bd.promise.node_id)
        elif which == "collection":
            for b in bd.collection.bindings:
                walk(b)
        elif which == "map":
            for b in bd.map.bindings.values():
                walk(b)

    for value in (inputs or {}).values():
        if isinstance(value, literals_pb2.BindingData):
            walk(value)
    return found


def task_node(
    node_id: str,
    task_id: identifier_pb2.Identifier,
    inputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None = None,
    upstream: Sequence[str] = (),
    retries: int = 0,
    timeout: Duration | None = None,
    name: str = "",
    interruptible: bool | None = None,
) -> workflow_pb2.Node:
    """A task node; upstream ids referenced by promises are added automatically."""
    n = _node(
        node_id, inputs, _upstream_from_bindings(inputs, upstream), name, retries, timeout, interruptible
    )
    n.task_node.reference_id.CopyFrom(task_id)
    return n


def launch_plan_node(
    node_id: str,
    launch_plan_id: identifier_pb2.Identifier,
    inputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None = None,
    upstream: Sequence[str] = (),
    retries: int = 0,
    timeout: Duration | None = None,
    name: str = "",
) -> workflow_pb2.Node:
    """A workflow node launching a child execution of a launch plan."""
    n = _node(node_id, inputs, _upstream_from_bindings(inputs, upstream), name, retries, timeout)
    n.workflow_node.launchplan_ref.CopyFrom(launch_plan_id)
    return n


def sub_workflow_node(
    node_id: str,
    workflow_id: identifier_pb2.Identifier,
    inputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None = None,
    upstream: Sequence[str] = (),
    retries: int = 0,
    timeout: Duration | None = None,
    name: str = "",
) -> workflow_pb2.Node:
    """A workflow node running a sub-workflow inline (its template travels in the workflow's sub_workflows)."""
    n = _node(node_id, inputs, _upstream_from_bindings(inputs, upstream), name, retries, timeout)
    n.workflow_node.sub_workflow_ref.CopyFrom(workflow_id)
    return n


def gate_approve_node(
    node_id: str,
    signal_id: str,
    upstream_node_id: str,
    upstream_var: str = "o0",
    timeout: Duration | None = 3600,
    name: str = "",
) -> workflow_pb2.Node:
    """An approve gate (flytekit ``approve``): passes ``upstream_var`` of the upstream node through when approved."""
    inputs = {upstream_var: binding_from_promise(upstream_node_id, upstream_var)}
    n = _node(node_id, inputs, [upstream_node_id], name or signal_id, 0, timeout)
    n.gate_node.approve.signal_id = signal_id
    return n


def gate_signal_node(
    node_id: str,
    signal_id: str,
    signal_type: types_pb2.LiteralType,
    output_variable_name: str = "o0",
    upstream: Sequence[str] = (),
    timeout: Duration | None = 3600,
    name: str = "",
) -> workflow_pb2.Node:
    """A signal gate (flytekit ``wait_for_input``): its output is the value given with SetSignal."""
    n = _node(node_id, None, upstream, name or signal_id, 0, timeout)
    n.gate_node.signal.signal_id = signal_id
    n.gate_node.signal.type.CopyFrom(signal_type)
    n.gate_node.signal.output_variable_name = output_variable_name
    return n


def gate_sleep_node(
    node_id: str, sleep: Duration, upstream: Sequence[str] = (), name: str = "sleep-gate"
) -> workflow_pb2.Node:
    """A sleep gate (flytekit ``sleep``)."""
    n = _node(node_id, None, upstream, name, 0, None)
    n.gate_node.sleep.duration.CopyFrom(duration(sleep))
    return n


# ---------------------------------------------------------------------------------------------- branches


def operand_var(var: str) -> condition_pb2.Operand:
    """An operand reading input ``var`` of the branch node."""
    return condition_pb2.Operand(var=var)


def operand_literal(value: literals_pb2.Literal | literals_pb2.Primitive) -> condition_pb2.Operand:
    """An operand holding a constant primitive (or a scalar literal)."""
    if isinstance(value, literals_pb2.Primitive):
        return condition_pb2.Operand(primitive=value)
    return condition_pb2.Operand(scalar=value.scalar)


def comparison(
    op: str, left: condition_pb2.Operand, right: condition_pb2.Operand
) -> condition_pb2.BooleanExpression:
    """A comparison expression; ``op`` is one of EQ, NEQ, GT, GTE, LT, LTE."""
    return condition_pb2.BooleanExpression(
        comparison=condition_pb2.ComparisonExpression(
            operator=condition_pb2.ComparisonExpression.Operator.Value(op), left_value=left, right_value=right
        )
    )


def conjunction(
    op: str, left: condition_pb2.BooleanExpression, right: condition_pb2.BooleanExpression
) -> condition_pb2.BooleanExpression:
    """``left AND right`` or ``left OR right``."""
    return condition_pb2.BooleanExpression(
        conjunction=condition_pb2.ConjunctionExpression(
            operator=condition_pb2.ConjunctionExpression.LogicalOperator.Value(op),
            left_expression=left,
            right_expression=right,
        )
    )


def if_block(
    condition: condition_pb2.BooleanExpression, then_node: workflow_pb2.Node
) -> workflow_pb2.IfBlock:
    """One case of a branch."""
    return workflow_pb2.IfBlock(condition=condition, then_node=then_node)


def branch_node(
    node_id: str,
    cases: Sequence[workflow_pb2.IfBlock],
    inputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None = None,
    else_node: workflow_pb2.Node | None = None,
    else_error: str | None = None,
    upstream: Sequence[str] = (),
    name: str = "",
) -> workflow_pb2.Node:
    """A branch node: the first case whose condition holds runs; else ``else_node``, else fail with ``else_error``."""
    if not cases:
        raise ValueError("a branch node needs at least one case")
    n = _node(node_id, inputs, _upstream_from_bindings(inputs, upstream), name, 0, None)
    ie = n.branch_node.if_else
    ie.case.CopyFrom(cases[0])
    ie.other.extend(cases[1:])
    if else_node is not None:
        ie.else_node.CopyFrom(else_node)
    elif else_error is not None:
        ie.error.failed_node_id = node_id
        ie.error.message = else_error
    return n


# ---------------------------------------------------------------------------------------------- templates


def workflow_template(
    id: identifier_pb2.Identifier,
    interface: interface_pb2.TypedInterface,
    nodes: Sequence[workflow_pb2.Node],
    outputs: Mapping[str, literals_pb2.BindingData | literals_pb2.Literal] | None = None,
    failure_policy: str | int = "FAIL_IMMEDIATELY",
    interruptible: bool = False,
) -> workflow_pb2.WorkflowTemplate:
    """A WorkflowTemplate; ``failure_policy`` is FAIL_IMMEDIATELY or FAIL_AFTER_EXECUTABLE_NODES_COMPLETE."""
    policy = (
        workflow_pb2.WorkflowMetadata.OnFailurePolicy.Value(failure_policy)
        if isinstance(failure_policy, str)
        else failure_policy
    )
    return workflow_pb2.WorkflowTemplate(
        id=id,
        interface=interface,
        nodes=list(nodes),
        outputs=bindings(outputs or {}),
        metadata=workflow_pb2.WorkflowMetadata(on_failure=policy),
        metadata_defaults=workflow_pb2.WorkflowMetadataDefaults(interruptible=interruptible),
    )


def launch_plan_spec(
    workflow_id: identifier_pb2.Identifier,
    default_inputs: interface_pb2.ParameterMap | None = None,
    fixed_inputs: Mapping[str, literals_pb2.Literal] | None = None,
    schedule: schedule_pb2.Schedule | None = None,
    cron: str | None = None,
    kickoff_time_input_arg: str = "",
    max_parallelism: int = 0,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> launch_plan_pb2.LaunchPlanSpec:
    """A LaunchPlanSpec; ``cron`` is a shortcut for a CronSchedule schedule (with ``kickoff_time_input_arg``)."""
    spec = launch_plan_pb2.LaunchPlanSpec(workflow_id=workflow_id, max_parallelism=max_parallelism)
    if default_inputs is not None:
        spec.default_inputs.CopyFrom(default_inputs)
    for name, lit in (fixed_inputs or {}).items():
        spec.fixed_inputs.literals[name].CopyFrom(lit)
    if cron is not None:
        if schedule is not None:
            raise ValueError("give either schedule or cron, not both")
        schedule = schedule_pb2.Schedule(
            cron_schedule=schedule_pb2.CronSchedule(schedule=cron),
            kickoff_time_input_arg=kickoff_time_input_arg,
        )
    if schedule is not None:
        spec.entity_metadata.schedule.CopyFrom(schedule)
    if labels:
        spec.labels.CopyFrom(common_pb2.Labels(values=dict(labels)))
    if annotations:
        spec.annotations.CopyFrom(common_pb2.Annotations(values=dict(annotations)))
    return spec
