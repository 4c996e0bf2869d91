"""Python values <-> literals for the client, through the codec, guided by the entity's interface.

Checks done here, before any RPC: unknown input names, fixed launch plan inputs, missing required inputs; the
codec raises :class:`~airflow_provider_flyte.remote.errors.FlyteTypeError` for values that do not fit their type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow

_EMPTY: Mapping[str, Any] = {}


def check_input_names(entity: FlyteTask | FlyteWorkflow | FlyteLaunchPlan, names: set[str]) -> None:
    """Reject names the entity does not take and (launch plans) fixed inputs; require the required ones."""
    variables = entity.input_variables
    kind = type(entity).__name__
    fixed = entity.fixed_inputs if isinstance(entity, FlyteLaunchPlan) else frozenset()
    overridden = sorted(names & fixed)
    if overridden:
        raise FlyteInvalidInputError(
            f"{kind} {entity.name!r} fixes input(s) {overridden}: they cannot be given at execution time"
        )
    unknown = sorted(names - set(variables))
    if unknown:
        raise FlyteInvalidInputError(
            f"{kind} {entity.name!r} has no input(s) {unknown}; its inputs are {sorted(variables) or 'none'}"
        )
    missing = sorted(entity.required_inputs - names)
    if missing:
        raise FlyteInvalidInputError(f"{kind} {entity.name!r} needs input(s) {missing}, which were not given")


def convert_inputs(
    entity: FlyteTask | FlyteWorkflow | FlyteLaunchPlan,
    values: Mapping[str, Any] | None,
    type_hints: Mapping[str, Any] | None,
    ctx: Any,
) -> Any:
    """The ``core.LiteralMap`` of ``values`` for ``entity`` (``core.Literal`` values pass through)."""
    from flyteidl.core import literals_pb2

    from airflow_provider_flyte.remote.codec import to_literal_map

    values = values or _EMPTY
    check_input_names(entity, set(values))
    result = literals_pb2.LiteralMap()
    if not values:
        return result
    variables = entity.input_variables
    plain = {k: v for k, v in values.items() if not isinstance(v, literals_pb2.Literal)}
    for k, v in values.items():
        if isinstance(v, literals_pb2.Literal):
            result.literals[k].CopyFrom(v)
    if plain:
        converted = to_literal_map(plain, {k: variables[k] for k in plain}, dict(type_hints or {}), ctx=ctx)
        for k, lit in _literals_of(converted).items():
            result.literals[k].CopyFrom(lit)
    return result


def _literals_of(converted: Any) -> Mapping[str, Any]:
    return converted.literals if hasattr(converted, "literals") else converted  # type: ignore[no-any-return]


def convert_value(value: Any, literal_type: Any, python_type: Any, ctx: Any, name: str | None = None) -> Any:
    """One value -> ``core.Literal`` of ``literal_type`` (a ``core.Literal`` passes through); a type error names
    the value ``name`` (e.g. the signal id)."""
    from airflow_provider_flyte.remote.codec import to_literal

    return to_literal(value, literal_type, python_type, ctx=ctx, name=name)


def decode_literal(literal: Any, literal_type: Any = None, python_type: Any = None, ctx: Any = None) -> Any:
    """``core.Literal`` -> Python value (as ``python_type`` if given, else as its Flyte type says)."""
    from airflow_provider_flyte.remote.codec import to_python

    return to_python(literal, literal_type, python_type, ctx=ctx)
