"""Short human-readable names for Flyte ``LiteralType`` s, used in error messages."""

from __future__ import annotations

from typing import Any

from flyteidl.core import types_pb2

PICKLE_FORMAT = "PythonPickle"

_SIMPLE_NAMES = {
    types_pb2.NONE: "none",
    types_pb2.INTEGER: "int",
    types_pb2.FLOAT: "float",
    types_pb2.STRING: "str",
    types_pb2.BOOLEAN: "bool",
    types_pb2.DATETIME: "datetime",
    types_pb2.DURATION: "timedelta",
    types_pb2.BINARY: "binary",
    types_pb2.ERROR: "error",
    types_pb2.STRUCT: "struct",
}


def describe_type(t: Any) -> str:
    """Describe a ``flyteidl.core.LiteralType`` in a few words of Python-ish notation.

    Examples: ``"int"``, ``"list[str]"``, ``"dict[str, float]"``, ``"Optional[int]"``, ``"Union[int, str]"``,
    ``"struct"``, ``"file"``, ``"file[csv]"``, ``"directory"``, ``"pickle"``, ``"enum{a,b}"``,
    ``"structured_dataset[parquet]"``. ``None`` or a type with nothing set gives ``"unknown"``.
    """
    if t is None:
        return "unknown"
    kind = t.WhichOneof("type")
    if kind == "simple":
        return _SIMPLE_NAMES.get(t.simple, f"simple({t.simple})")
    if kind == "collection_type":
        return f"list[{describe_type(t.collection_type)}]"
    if kind == "map_value_type":
        return f"dict[str, {describe_type(t.map_value_type)}]"
    if kind == "union_type":
        variants = list(t.union_type.variants)
        non_none = [v for v in variants if not _is_none(v)]
        if len(variants) == 2 and len(non_none) == 1:
            return f"Optional[{describe_type(non_none[0])}]"
        return "Union[" + ", ".join(describe_type(v) for v in variants) + "]"
    if kind == "enum_type":
        return "enum{" + ",".join(t.enum_type.values) + "}"
    if kind == "blob":
        fmt = t.blob.format
        if fmt == PICKLE_FORMAT:
            return "pickle"
        base = "directory" if t.blob.dimensionality == types_pb2.BlobType.MULTIPART else "file"
        return f"{base}[{fmt}]" if fmt else base
    if kind == "structured_dataset_type":
        fmt = t.structured_dataset_type.format
        return f"structured_dataset[{fmt}]" if fmt else "structured_dataset"
    if kind == "schema":
        return "schema"
    return "unknown"


def _is_none(t: Any) -> bool:
    return bool(t.WhichOneof("type") == "simple" and t.simple == types_pb2.NONE)
