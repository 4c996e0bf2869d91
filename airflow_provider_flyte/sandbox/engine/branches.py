"""Branch node evaluation: if/elif/else cases with comparison and conjunction expressions over primitives."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from flyteidl.core import condition_pb2, execution_pb2, literals_pb2, workflow_pb2

from airflow_provider_flyte.sandbox.engine.events import NodeInfo, NodePhase
from airflow_provider_flyte.sandbox.engine.runners import USER, execution_error
from airflow_provider_flyte.sandbox.engine.state import ExecutionState, NodeFailed, NodeSuccess, ParentInfo

_Cmp = condition_pb2.ComparisonExpression
_OPS: dict[int, Callable[[Any, Any], bool]] = {
    _Cmp.EQ: operator.eq,
    _Cmp.NEQ: operator.ne,
    _Cmp.GT: operator.gt,
    _Cmp.GTE: operator.ge,
    _Cmp.LT: operator.lt,
    _Cmp.LTE: operator.le,
}

_NONE = object()

#: propeller's branch error codes
MALFORMED_BRANCH = "MalformedBranchUserError"
USER_PROVIDED_ERROR = "UserProvidedError"
NO_BRANCH = "No branch satisfied"


class BranchError(Exception):
    """A condition cannot be evaluated (unknown variable, non-primitive operand, mixed types)."""


def _primitive_value(p: literals_pb2.Primitive) -> Any:
    which = p.WhichOneof("value")
    if which == "datetime":
        return p.datetime.ToNanoseconds()
    if which == "duration":
        return p.duration.ToNanoseconds()
    if which is None:
        raise BranchError("empty primitive operand")
    return getattr(p, which)


def _scalar_value(s: literals_pb2.Scalar) -> Any:
    which = s.WhichOneof("value")
    if which == "primitive":
        return _primitive_value(s.primitive)
    if which == "none_type":
        return _NONE
    if which == "union":
        return _literal_value(s.union.value)
    raise BranchError(f"only primitives and None can be compared in a condition, got a {which}")


def _literal_value(lit: literals_pb2.Literal) -> Any:
    if lit.WhichOneof("value") != "scalar":
        raise BranchError("only primitives and None can be compared in a condition, got a collection or map")
    return _scalar_value(lit.scalar)


def _operand(op: condition_pb2.Operand, inputs: literals_pb2.LiteralMap) -> Any:
    which = op.WhichOneof("val")
    if which == "primitive":
        return _primitive_value(op.primitive)
    if which == "scalar":
        return _scalar_value(op.scalar)
    if which == "var":
        if op.var not in inputs.literals:
            raise BranchError(f"variable [{op.var}] used in the condition is not an input of the branch node")
        return _literal_value(inputs.literals[op.var])
    raise BranchError("empty operand in a branch condition")


def _compare(expr: condition_pb2.ComparisonExpression, inputs: literals_pb2.LiteralMap) -> bool:
    left = _operand(expr.left_value, inputs)
    right = _operand(expr.right_value, inputs)
    if left is _NONE or right is _NONE:
        if expr.operator == _Cmp.EQ:
            return left is right
        if expr.operator == _Cmp.NEQ:
            return left is not right
        raise BranchError("None can only be compared with == or !=")
    numeric = (int, float)
    same = type(left) is type(right) or (
        isinstance(left, numeric)
        and isinstance(right, numeric)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    )
    if not same:
        raise BranchError(f"Comparison between different primitives types. lVal[{left!r}]:rVal[{right!r}]")
    return _OPS[expr.operator](left, right)


def evaluate(expr: condition_pb2.BooleanExpression, inputs: literals_pb2.LiteralMap) -> bool:
    """The truth of a BooleanExpression given the branch node's resolved inputs."""
    which = expr.WhichOneof("expr")
    if which == "comparison":
        return _compare(expr.comparison, inputs)
    if which == "conjunction":
        c = expr.conjunction
        if c.operator == condition_pb2.ConjunctionExpression.AND:
            return evaluate(c.left_expression, inputs) and evaluate(c.right_expression, inputs)
        return evaluate(c.left_expression, inputs) or evaluate(c.right_expression, inputs)
    raise BranchError("empty boolean expression in a branch condition")


def choose(
    branch: workflow_pb2.BranchNode, inputs: literals_pb2.LiteralMap
) -> tuple[workflow_pb2.Node | None, list[workflow_pb2.Node], str | None]:
    """Pick the node to run: ``(taken, untaken, error_message)``; ``taken`` is None when no case matched and
    there is no else node (``error_message`` then holds the branch's error, or a default one)."""
    ie = branch.if_else
    cases = [ie.case, *ie.other]
    taken: workflow_pb2.Node | None = None
    untaken: list[workflow_pb2.Node] = []
    for case in cases:
        if taken is None and evaluate(case.condition, inputs):
            taken = case.then_node
        else:
            untaken.append(case.then_node)
    default = ie.WhichOneof("default")
    if default == "else_node":
        if taken is None:
            taken = ie.else_node
        else:
            untaken.append(ie.else_node)
    if taken is not None:
        return taken, untaken, None
    message = ie.error.message if default == "error" else NO_BRANCH
    return None, untaken, message


async def run_branch_node(
    state: ExecutionState,
    node: workflow_pb2.Node,
    info: NodeInfo,
    inputs: literals_pb2.LiteralMap,
    scope_outputs: Mapping[str, literals_pb2.LiteralMap],
) -> NodeSuccess:
    """Evaluate the cases and run the taken node as a child of the branch node, as propeller's branch handler:
    untaken nodes only change phase in propeller's own state (no events, so admin has no record of them), the
    branch node is not a parent node (``is_parent`` unset), and evaluation errors fail the node with a USER
    error ``[MalformedBranchUserError] ...`` (or the branch's own error, ``[UserProvidedError] ...``)."""
    from airflow_provider_flyte.sandbox.engine.nodes import run_node

    await state.emitter.node(info, NodePhase.RUNNING)
    try:
        taken, _untaken, message = choose(node.branch_node, inputs)
    except BranchError as exc:
        raise NodeFailed(_branch_error(MALFORMED_BRANCH, str(exc))) from exc
    if taken is None:
        code = (
            USER_PROVIDED_ERROR
            if node.branch_node.if_else.WhichOneof("default") == "error"
            else MALFORMED_BRANCH
        )
        raise NodeFailed(_branch_error(code, message or NO_BRANCH))
    outputs = await run_node(state, taken, scope_outputs, ParentInfo(info.unique_id, 0))
    return NodeSuccess(outputs=outputs)


def _branch_error(code: str, message: str) -> execution_pb2.ExecutionError:
    return execution_error(USER, code, f"[{code}] {message}")
