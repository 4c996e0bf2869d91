"""Type inference and castability exactly as flyteadmin/flytepropeller 1.16.8 apply them.

* :func:`infer_literal_type` is propeller's ``LiteralTypeForLiteral`` (``pkg/compiler/validators/utils.go``).
* :func:`is_castable` is propeller's ``AreTypesCastable`` (``pkg/compiler/validators/typing.go``).

flyteadmin checks execution inputs, launch plan fixed/default inputs and signal values with these two; the sandbox
reuses them so that it accepts and rejects exactly what a real Flyte Admin does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flyteidl.core import types_pb2
from google.protobuf import json_format, text_format

from airflow_provider_flyte.remote.codec.describe import describe_type
from airflow_provider_flyte.remote.codec.jsonschema import schema_accepts
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

__all__ = ["describe_type", "infer_literal_type", "is_castable", "type_key"]

LiteralType = types_pb2.LiteralType
MSGPACK_TAG = "msgpack"

_PRIMITIVE_SIMPLE = {
    "integer": types_pb2.INTEGER,
    "float_value": types_pb2.FLOAT,
    "string_value": types_pb2.STRING,
    "boolean": types_pb2.BOOLEAN,
    "datetime": types_pb2.DATETIME,
    "duration": types_pb2.DURATION,
    None: types_pb2.NONE,
}


def _simple(simple: int) -> Any:
    return LiteralType(simple=simple)


def type_key(t: Any) -> str:
    """A canonical one-line text form of a LiteralType (the role Go's ``String()`` plays in propeller)."""
    return str(text_format.MessageToString(t, as_one_line=True))


class _UnknownLiteral(Exception):
    pass


def infer_literal_type(literal: Any) -> Any:
    """Infer the ``LiteralType`` of a ``flyteidl.core.Literal`` the way propeller's ``LiteralTypeForLiteral`` does.

    Primitives give simple types, ``none_type`` gives NONE, blobs their blob type, collections a
    ``collection_type`` of the element type (a union of the distinct element types, sorted, when heterogeneous; an
    empty collection gives ``collection_type: NONE``), maps a ``map_value_type``, msgpack-tagged binaries and
    ``generic`` Structs STRUCT, other binaries BINARY, unions ``union_type{[stored variant type]}``, structured
    datasets their dataset type and offloaded literals their ``inferred_type``.

    Raises :class:`FlyteInvalidInputError` when the literal (or a nested one) has no value or a blob lacks its
    metadata (flyteadmin: "got unknown literal type").
    """
    try:
        return _infer(literal)
    except _UnknownLiteral:
        raise FlyteInvalidInputError(
            "got unknown literal type: the literal (or a value nested in it) has no value set, or a blob has no "
            "metadata. Build the literal with a value (scalar, collection, map or offloaded_metadata)."
        ) from None


def _infer(lit: Any) -> Any:
    kind = lit.WhichOneof("value")
    if kind == "scalar":
        return _infer_scalar(lit.scalar)
    if kind == "collection":
        return LiteralType(collection_type=_infer_many(lit.collection.literals))
    if kind == "map":
        return LiteralType(map_value_type=_infer_many(lit.map.literals.values()))
    if kind == "offloaded_metadata":
        if not lit.offloaded_metadata.HasField("inferred_type"):
            raise _UnknownLiteral
        out = LiteralType()
        out.CopyFrom(lit.offloaded_metadata.inferred_type)
        return out
    raise _UnknownLiteral


def _infer_scalar(scalar: Any) -> Any:
    kind = scalar.WhichOneof("value")
    if kind == "primitive":
        return _simple(_PRIMITIVE_SIMPLE[scalar.primitive.WhichOneof("value")])
    if kind == "none_type":
        return _simple(types_pb2.NONE)
    if kind == "binary":
        return _simple(types_pb2.STRUCT if scalar.binary.tag == MSGPACK_TAG else types_pb2.BINARY)
    if kind == "generic":
        return _simple(types_pb2.STRUCT)
    if kind == "blob":
        if not scalar.blob.HasField("metadata"):
            raise _UnknownLiteral
        out = LiteralType()
        out.blob.CopyFrom(scalar.blob.metadata.type)
        return out
    if kind == "union":
        out = LiteralType()
        out.union_type.variants.add().CopyFrom(scalar.union.type)
        return out
    if kind == "structured_dataset":
        out = LiteralType()
        out.structured_dataset_type.SetInParent()
        sd = scalar.structured_dataset
        if sd.HasField("metadata"):
            out.structured_dataset_type.CopyFrom(sd.metadata.structured_dataset_type)
        return out
    if kind == "schema":
        out = LiteralType()
        out.schema.CopyFrom(scalar.schema.type)
        return out
    if kind == "error":
        return _simple(types_pb2.ERROR)
    raise _UnknownLiteral


def _element_key(lit: Any) -> Any:
    """Cheap identity for the common element kinds (primitive/none scalars); None when the full type is needed."""
    if lit.WhichOneof("value") == "scalar":
        scalar = lit.scalar
        kind = scalar.WhichOneof("value")
        if kind == "primitive":
            return scalar.primitive.WhichOneof("value")
        if kind == "none_type":
            return "none_type"
    return None


def _infer_many(literals: Iterable[Any]) -> Any:
    """propeller's ``literalTypeForLiterals``: the element type of a collection or map."""
    distinct: dict[str, Any] = {}
    fast_seen: set[Any] = set()
    none_type: Any = None
    for lit in literals:
        fast = _element_key(lit)
        if fast is not None:
            if fast in fast_seen:
                continue
            fast_seen.add(fast)
        if lit.WhichOneof("value") == "collection" and len(lit.collection.literals) == 0:
            none_type = _infer(lit)
            continue
        t = _infer(lit)
        distinct.setdefault(type_key(t), t)
    if not distinct and none_type is not None:
        return none_type
    if not distinct:
        return _simple(types_pb2.NONE)
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    ordered = [distinct[k] for k in sorted(distinct)]
    return _multiple_type_union(ordered)


def _multiple_type_union(types: list[Any]) -> Any:
    union = LiteralType()
    nested = False
    for t in types:
        if t.WhichOneof("type") == "collection_type" and t.collection_type.WhichOneof("type") == "union_type":
            nested = True
            union.union_type.variants.extend(t.collection_type.union_type.variants)
        else:
            union.union_type.variants.add().CopyFrom(t)
    if nested:
        return LiteralType(collection_type=union)
    return union


# ---------------------------------------------------------------------------------------------------------------
# castability (AreTypesCastable)


def is_castable(upstream: Any, downstream: Any) -> bool:
    """propeller's ``AreTypesCastable``: can a value of type ``upstream`` be bound where ``downstream`` is expected?

    Rules: identical types (metadata, annotation and structure ignored; tags must match when upstream has one);
    enum <-> str; NONE only into NONE or a union that has exactly one NONE-accepting variant; a union upstream into
    a union downstream when every upstream variant fits some downstream variant; a non-union into a union when
    exactly one variant accepts it; single-variant unions into what accepts their variant; collections and maps
    by element type (empty ones, typed NONE, fit any); blobs by format (an empty format matches any); structured
    datasets and schemas by format and columns (the downstream columns a subset of the upstream ones); STRUCT
    into STRUCT when either has no JSON schema or the upstream schema provides what the downstream one requires.
    """
    if upstream is None or downstream is None:
        return False
    if (
        upstream.WhichOneof("type") == "union_type"
        and len(upstream.union_type.variants) == 1
        and _casts_from(downstream, upstream.union_type.variants[0])
    ):
        return True
    return _casts_from(downstream, upstream)


def _is_none(t: Any) -> bool:
    return bool(t.WhichOneof("type") == "simple" and t.simple == types_pb2.NONE)


def _casts_from(down: Any, up: Any) -> bool:
    kind = down.WhichOneof("type")
    up_kind = up.WhichOneof("type")
    if kind == "collection_type":
        if up_kind != "collection_type":
            return False
        return _is_none(up.collection_type) or _casts_from(down.collection_type, up.collection_type)
    if kind == "map_value_type":
        if up_kind != "map_value_type":
            return False
        return _is_none(up.map_value_type) or _casts_from(down.map_value_type, up.map_value_type)
    if kind == "blob":
        if up_kind != "blob":
            return False
        return not up.blob.format or not down.blob.format or up.blob.format == down.blob.format
    if kind == "schema":
        return _schema_casts_from(down.schema, up, up_kind)
    if kind == "union_type":
        return _union_casts_from(down.union_type, up, up_kind)
    if kind == "structured_dataset_type":
        return _sd_casts_from(down.structured_dataset_type, up, up_kind)
    if _is_none(down):
        return _is_none(up)
    return _trivial_casts_from(down, up, kind, up_kind)


def _tag(t: Any) -> str:
    return str(t.structure.tag) if t.HasField("structure") else ""


def _trivial_casts_from(down: Any, up: Any, kind: str | None, up_kind: str | None) -> bool:
    if up_kind == "enum_type" and down.simple == types_pb2.STRING and kind == "simple":
        return True
    if kind == "enum_type" and up_kind == "simple" and up.simple == types_pb2.STRING:
        return True
    up_tag = _tag(up)
    if up_tag and _tag(down) != up_tag:
        return False
    if (
        up_kind == "simple"
        and kind == "simple"
        and up.simple == types_pb2.STRUCT
        and down.simple == types_pb2.STRUCT
    ):
        if not up.HasField("metadata") or not down.HasField("metadata"):
            return True
        up_schema = json_format.MessageToDict(up.metadata)
        down_schema = json_format.MessageToDict(down.metadata)
        return bool(up_schema == down_schema or schema_accepts(up_schema, down_schema))
    return _stripped(up) == _stripped(down)


def _stripped(t: Any) -> bytes:
    copy = LiteralType()
    copy.CopyFrom(t)
    copy.ClearField("metadata")
    copy.ClearField("structure")
    copy.ClearField("annotation")
    return bytes(copy.SerializeToString(deterministic=True))


def _union_casts_from(union: Any, up: Any, up_kind: str | None) -> bool:
    if up_kind == "union_type":
        return all(any(is_castable(u, d) for d in union.variants) for u in up.union_type.variants)
    found = False
    for variant in union.variants:
        if is_castable(up, variant):
            if found:
                return False
            found = True
    return found


_SCHEMA_COLUMN_SIMPLE = {
    types_pb2.SchemaType.SchemaColumn.INTEGER: types_pb2.INTEGER,
    types_pb2.SchemaType.SchemaColumn.FLOAT: types_pb2.FLOAT,
    types_pb2.SchemaType.SchemaColumn.STRING: types_pb2.STRING,
    types_pb2.SchemaType.SchemaColumn.BOOLEAN: types_pb2.BOOLEAN,
    types_pb2.SchemaType.SchemaColumn.DATETIME: types_pb2.DATETIME,
    types_pb2.SchemaType.SchemaColumn.DURATION: types_pb2.DURATION,
}


def _column_matches(schema_column_type: int, simple: int) -> bool:
    return _SCHEMA_COLUMN_SIMPLE.get(schema_column_type) == simple


def _schema_casts_from(down: Any, up: Any, up_kind: str | None) -> bool:
    if up_kind == "schema":
        if not up.schema.columns or not down.columns:
            return True
        upstream = {c.name: c.type for c in up.schema.columns}
        return all(c.name in upstream and upstream[c.name] == c.type for c in down.columns)
    if up_kind != "structured_dataset_type":
        return False
    sd = up.structured_dataset_type
    if sd.format and sd.format.lower() != "parquet":
        return False
    if not sd.columns or not down.columns:
        return True
    upstream_simple = {c.name: c.literal_type.simple for c in sd.columns}
    return all(
        c.name in upstream_simple and _column_matches(c.type, upstream_simple[c.name]) for c in down.columns
    )


def _sd_casts_from(down: Any, up: Any, up_kind: str | None) -> bool:
    if _is_none(up):
        return True
    if up_kind == "schema":
        if down.format and down.format.lower() != "parquet":
            return False
        if not up.schema.columns or not down.columns:
            return True
        upstream_types = {c.name: c.type for c in up.schema.columns}
        return all(
            c.name in upstream_types and _column_matches(upstream_types[c.name], c.literal_type.simple)
            for c in down.columns
        )
    if up_kind != "structured_dataset_type":
        return False
    sd = up.structured_dataset_type
    if sd.format and down.format and sd.format.lower() != down.format.lower():
        return False
    if not sd.columns or not down.columns:
        return True
    upstream_cols = {c.name: c.literal_type for c in sd.columns}
    return all(
        c.name in upstream_cols and _casts_from(c.literal_type, upstream_cols[c.name]) for c in down.columns
    )
