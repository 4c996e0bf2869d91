"""Resolves node input bindings (promises with attribute paths, static literals, collections, maps, unions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgpack
from flyteidl.core import literals_pb2
from google.protobuf import json_format, struct_pb2

START_NODE = "start-node"
END_NODE = "end-node"


class BindingError(Exception):
    """A binding cannot be resolved (missing upstream output, bad attribute path)."""


def resolve_bindings(
    bindings: Iterable[literals_pb2.Binding], outputs: Mapping[str, literals_pb2.LiteralMap]
) -> literals_pb2.LiteralMap:
    """The node's inputs: each binding resolved against the outputs of the nodes of its workflow scope
    (``outputs["start-node"]`` are the workflow inputs)."""
    result = literals_pb2.LiteralMap()
    for b in bindings:
        result.literals[b.var].CopyFrom(resolve(b.binding, outputs, b.var))
    return result


def resolve(
    bd: literals_pb2.BindingData, outputs: Mapping[str, literals_pb2.LiteralMap], var: str = ""
) -> literals_pb2.Literal:
    """One BindingData to a Literal."""
    which = bd.WhichOneof("value")
    lit = literals_pb2.Literal()
    if which == "scalar":
        lit.scalar.CopyFrom(bd.scalar)
    elif which == "promise":
        lit = _promise(bd.promise, outputs)
    elif which == "collection":
        items = lit.collection.literals
        for item in bd.collection.bindings:
            items.append(resolve(item, outputs, var))
    elif which == "map":
        for key, item in bd.map.bindings.items():
            lit.map.literals[key].CopyFrom(resolve(item, outputs, var))
    elif which == "offloaded_metadata":
        lit.offloaded_metadata.CopyFrom(bd.offloaded_metadata)
    else:
        raise BindingError(f"binding for input {var!r} is empty (no scalar, promise, collection or map)")
    if bd.HasField("union"):
        wrapped = literals_pb2.Literal()
        wrapped.scalar.union.value.CopyFrom(lit)
        wrapped.scalar.union.type.CopyFrom(bd.union.targetType)
        return wrapped
    return lit


def _promise(
    ref: literals_pb2.OutputReference, outputs: Mapping[str, literals_pb2.LiteralMap]
) -> literals_pb2.Literal:
    node_outputs = outputs.get(ref.node_id)
    if node_outputs is None:
        raise BindingError(
            f"upstream node [{ref.node_id}] has no outputs (it did not succeed or does not exist)"
        )
    if ref.var not in node_outputs.literals:
        raise BindingError(
            f"upstream node [{ref.node_id}] has no output [{ref.var}]; "
            f"its outputs are {sorted(node_outputs.literals)}"
        )
    lit = node_outputs.literals[ref.var]
    if ref.attr_path:
        lit = resolve_attr_path(lit, ref.attr_path, f"{ref.node_id}.{ref.var}")
    return lit


def resolve_attr_path(
    lit: literals_pb2.Literal, path: Iterable[literals_pb2.PromiseAttribute], what: str
) -> literals_pb2.Literal:
    """Follow ``path`` (keys / indexes) into maps, collections, generic structs and msgpack binaries."""
    attrs = [a.string_value if a.WhichOneof("value") == "string_value" else a.int_value for a in path]
    current = lit
    for i, attr in enumerate(attrs):
        which = current.WhichOneof("value")
        if which == "map" and isinstance(attr, str):
            if attr not in current.map.literals:
                raise BindingError(f"key {attr!r} not found in {what}")
            current = current.map.literals[attr]
        elif which == "collection" and isinstance(attr, int):
            if not 0 <= attr < len(current.collection.literals):
                raise BindingError(f"index {attr} out of range in {what}")
            current = current.collection.literals[attr]
        elif which == "scalar" and current.scalar.WhichOneof("value") == "generic":
            data = json_format.MessageToDict(current.scalar.generic)
            return _python_to_literal(_walk(data, attrs[i:], what), generic=True)
        elif which == "scalar" and current.scalar.WhichOneof("value") == "binary":
            data = msgpack.unpackb(current.scalar.binary.value, strict_map_key=False)
            return _python_to_literal(_walk(data, attrs[i:], what), generic=False)
        elif which == "scalar" and current.scalar.WhichOneof("value") == "union":
            current = current.scalar.union.value
            return resolve_attr_path(current, _attrs(attrs[i:]), what)
        else:
            raise BindingError(
                f"cannot follow attribute {attr!r} into {what}: the value is not a map, list or struct"
            )
    return current


def _attrs(values: list[str | int]) -> list[literals_pb2.PromiseAttribute]:
    return [
        literals_pb2.PromiseAttribute(int_value=v)
        if isinstance(v, int)
        else literals_pb2.PromiseAttribute(string_value=v)
        for v in values
    ]


def _walk(data: object, attrs: list[str | int], what: str) -> object:
    for attr in attrs:
        try:
            data = data[attr]  # type: ignore[index]
        except (KeyError, IndexError, TypeError) as exc:
            raise BindingError(f"attribute {attr!r} not found in {what}") from exc
    return data


def _python_to_literal(value: object, generic: bool) -> literals_pb2.Literal:
    """A value found inside a struct: primitives become primitive literals, the rest stays a struct."""
    lit = literals_pb2.Literal()
    p = lit.scalar.primitive
    if isinstance(value, bool):
        p.boolean = value
    elif isinstance(value, int):
        p.integer = value
    elif isinstance(value, float):
        p.float_value = value
    elif isinstance(value, str):
        p.string_value = value
    elif value is None:
        lit.scalar.none_type.SetInParent()
    elif generic:
        s = struct_pb2.Struct()
        s.update(value if isinstance(value, dict) else {"value": value})  # type: ignore[dict-item]
        lit.scalar.generic.CopyFrom(s)
    else:
        lit.scalar.binary.value = msgpack.packb(value)
        lit.scalar.binary.tag = "msgpack"
    return lit
