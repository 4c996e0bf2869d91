"""Resolves node input bindings (promises with attribute paths, static literals, collections, maps, unions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgpack
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import struct_pb2

START_NODE = "start-node"
END_NODE = "end-node"
MSGPACK = "msgpack"


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
        lit = resolve_attr_path(lit, ref.attr_path, ref.node_id)
    return lit


# ----------------------------------------------------------------------------------------------- attribute paths
#: propeller's error code for an attribute path that cannot be followed
ATTR_PATH_ERROR = "PromiseAttributeResolveError"
_INT64_MAX = 2**63 - 1


def _attr_error(node_id: str, message: str) -> BindingError:
    return BindingError(f"failed at Node[{node_id}]. {ATTR_PATH_ERROR}: {message}")


def resolve_attr_path(
    lit: literals_pb2.Literal, path: Sequence[types_pb2.PromiseAttribute], node_id: str
) -> literals_pb2.Literal:
    """Follow ``path`` (the attributes of ``promise.a["b"][0]``) from ``lit``, an output of node ``node_id``, as
    propeller's attr_path_resolver: keys into maps and indexes into collections, then the rest of the path into a
    msgpack binary (dataclass, Pydantic model) or a generic struct. A union is not looked into."""
    current = lit
    consumed = 0
    for attr in path:
        which = current.WhichOneof("value")
        if which == "map":
            key = attr.string_value
            if key not in current.map.literals:
                raise _attr_error(node_id, f"key [{key}] does not exist in literal {sorted(current.map.literals)}")
            current = current.map.literals[key]
        elif which == "collection":
            index = attr.int_value
            if not 0 <= index < len(current.collection.literals):
                raise _attr_error(
                    node_id, f"index [{index}] is out of range of {len(current.collection.literals)} literals"
                )
            current = current.collection.literals[index]
        else:
            break
        consumed += 1
    if current.WhichOneof("value") == "scalar":
        kind = current.scalar.WhichOneof("value")
        if kind == "binary":
            return _resolve_in_binary(node_id, current.scalar.binary, path[consumed:])
        if kind == "generic":
            return _resolve_in_struct(node_id, current.scalar.generic, path[consumed:])
    return current


def _resolve_in_binary(
    node_id: str, binary: literals_pb2.Binary, path: Sequence[types_pb2.PromiseAttribute]
) -> literals_pb2.Literal:
    """Into a msgpack value: a list found becomes a collection of msgpack values (what an array node maps over),
    a primitive a primitive literal, anything else stays msgpack."""
    if binary.tag != MSGPACK:
        raise _attr_error(
            node_id,
            f"Unsupported format '{binary.tag}' found for literal value.\n"
            "Please ensure the serialization format is supported.",
        )
    try:
        value = msgpack.unpackb(binary.value, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise _attr_error(node_id, f"cannot decode the msgpack value: {exc}") from exc
    for attr in path:
        kind = attr.WhichOneof("value")
        if isinstance(value, dict):
            if kind != "string_value":
                raise _attr_error(node_id, f"unexpected attribute type [{kind}] for value {attr.int_value}")
            if attr.string_value not in value:
                raise _attr_error(node_id, f"key [{attr.string_value}] does not exist in literal {value}")
            value = value[attr.string_value]
        elif isinstance(value, list):
            if kind != "int_value":
                raise _attr_error(node_id, f"unexpected attribute type [{kind}] for value {attr.string_value}")
            if not 0 <= attr.int_value < len(value):
                raise _attr_error(node_id, f"index [{attr.int_value}] is out of range of {value}")
            value = value[attr.int_value]
        else:
            raise _attr_error(node_id, f"unexpected type [{type(value).__name__}] for value {value}")
    if isinstance(value, list):
        out = literals_pb2.Literal()
        for item in value:
            out.collection.literals.append(_msgpack_literal(item, binary.tag))
        return out
    if isinstance(value, (bool, int, float, str)):
        return _primitive_literal(node_id, value)
    return _msgpack_literal(value, binary.tag)


def _resolve_in_struct(
    node_id: str, struct: struct_pb2.Struct, path: Sequence[types_pb2.PromiseAttribute]
) -> literals_pb2.Literal:
    """Into a generic struct: the value found is converted (structs stay structs, lists become collections,
    numbers are floats, as in a protobuf Struct)."""
    value: object = _from_struct_value(struct_pb2.Value(struct_value=struct))
    for attr in path:
        if isinstance(value, dict):
            if attr.string_value not in value:
                raise _attr_error(node_id, f"key [{attr.string_value}] does not exist in literal {value}")
            value = value[attr.string_value]
        elif isinstance(value, list):
            if not 0 <= attr.int_value < len(value):
                raise _attr_error(node_id, f"index [{attr.int_value}] is out of range of {value}")
            value = value[attr.int_value]
    return _struct_value_literal(node_id, value)


def _from_struct_value(value: struct_pb2.Value) -> object:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _from_struct_value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_from_struct_value(v) for v in value.list_value.values]
    if kind in ("number_value", "string_value", "bool_value"):
        return getattr(value, kind)
    return None


def _struct_value_literal(node_id: str, value: object) -> literals_pb2.Literal:
    out = literals_pb2.Literal()
    if isinstance(value, dict):
        out.scalar.generic.update(value)
    elif isinstance(value, list):
        for item in value:
            out.collection.literals.append(_struct_value_literal(node_id, item))
    elif value is not None:  # a null stays an empty literal, as in propeller
        out.CopyFrom(_primitive_literal(node_id, value))
    return out


def _primitive_literal(node_id: str, value: object) -> literals_pb2.Literal:
    out = literals_pb2.Literal()
    p = out.scalar.primitive
    if isinstance(value, bool):
        p.boolean = value
    elif isinstance(value, int):
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise _attr_error(node_id, f"integer {value} does not fit in int64")
        p.integer = value
    elif isinstance(value, float):
        p.float_value = value
    elif isinstance(value, str):
        p.string_value = value
    else:
        raise _attr_error(node_id, "Failed to resolve interface to literal scalar")
    return out


def _msgpack_literal(value: object, tag: str) -> literals_pb2.Literal:
    out = literals_pb2.Literal()
    out.scalar.binary.value = msgpack.packb(value)
    out.scalar.binary.tag = tag
    return out
