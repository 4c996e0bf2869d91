"""Python type hints -> Flyte ``LiteralType`` s, exactly as flytekit 1.16's TypeEngine declares them."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
from typing import Any

from flyteidl.core import types_pb2
from google.protobuf import json_format

from airflow_provider_flyte.remote.codec.dataclasses import field_hints, json_schema
from airflow_provider_flyte.remote.codec.describe import PICKLE_FORMAT
from airflow_provider_flyte.remote.codec.files import is_dataset_class, python_class_format
from airflow_provider_flyte.remote.codec.pytypes import (
    NoneType,
    dict_args,
    is_dataclass_type,
    list_arg,
    type_name,
    union_args,
    unwrap,
)
from airflow_provider_flyte.remote.errors import FlyteTypeError

__all__ = ["literal_type_for_python_type", "union_tag"]

LiteralType = types_pb2.LiteralType

_SIMPLE: dict[Any, int] = {
    int: types_pb2.INTEGER,
    float: types_pb2.FLOAT,
    str: types_pb2.STRING,
    bool: types_pb2.BOOLEAN,
    datetime.datetime: types_pb2.DATETIME,
    datetime.date: types_pb2.DATETIME,
    datetime.timedelta: types_pb2.DURATION,
    NoneType: types_pb2.NONE,
    None: types_pb2.NONE,
}

#: flytekit transformer names, used as ``structure.tag`` of union variants
_SIMPLE_TAGS: dict[Any, str] = {
    int: "int",
    float: "float",
    str: "str",
    bool: "bool",
    datetime.datetime: "datetime",
    datetime.date: "date",
    datetime.timedelta: "timedelta",
    NoneType: "none",
    None: "none",
}
TAG_LIST = "Typed List"
TAG_DICT = "Typed Dict"
TAG_DATACLASS = "Object-Dataclass-Transformer"
TAG_ENUM = "DefaultEnumTransformer"
TAG_FILE = "FlyteFilePath"
TAG_DIRECTORY = "FlyteDirectory"
TAG_DATASET = "StructuredDataset Transformer"
TAG_PICKLE = "FlytePickle"

_MSGPACK_ANNOTATION = {"cache-key-metadata": {"serialization-format": "msgpack"}}


def union_tag(tp: Any) -> str:
    """The ``structure.tag`` flytekit gives a union variant of Python type ``tp`` (its transformer name)."""
    tp = unwrap(tp)
    try:
        if tp in _SIMPLE_TAGS:
            return _SIMPLE_TAGS[tp]
    except TypeError:
        pass
    if list_arg(tp)[0]:
        return TAG_LIST
    if dict_args(tp)[0]:
        return TAG_DICT
    if is_dataclass_type(tp):
        return TAG_DATACLASS
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return TAG_ENUM
    file_format = python_class_format(tp)
    if file_format is not None:
        return TAG_DIRECTORY if file_format[1] else TAG_FILE
    if is_dataset_class(tp):
        return TAG_DATASET
    return TAG_PICKLE


def literal_type_for_python_type(tp: Any) -> Any:
    """The ``flyteidl.core.LiteralType`` flytekit declares for Python type ``tp``.

    int/float/str/bool/datetime/date/timedelta/None -> simple; ``Enum`` (string values) -> ``enum_type``;
    ``list[T]`` -> ``collection_type``; ``dict[str, T]`` -> ``map_value_type``; untyped ``dict`` or non-str keys
    -> STRUCT (msgpack annotation); dataclasses -> STRUCT with JSON schema metadata and ``dataclass_type``;
    ``Optional``/``Union`` -> ``union_type`` with tagged variants; FlyteFile/FlyteDirectory (ours or flytekit's)
    -> blob SINGLE/MULTIPART with the class's format; StructuredDataset -> ``structured_dataset_type``; anything
    else -> a ``PythonPickle`` blob.
    """
    out = LiteralType()
    # keyed with the repr too: ``int | str == str | int``, but flytekit's variants keep the written order
    out.CopyFrom(_cached(tp, repr(tp)) if _hashable(tp) else _build(tp))
    return out


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
    except TypeError:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _cached(tp: Any, _order: str) -> Any:
    return _build(tp)


def _build(tp: Any) -> Any:
    tp = unwrap(tp)
    try:
        simple = _SIMPLE.get(tp)
    except TypeError:
        simple = None
    if simple is not None:
        return LiteralType(simple=simple)
    members = union_args(tp)
    if members is not None:
        out = LiteralType()
        for m in members:
            variant = out.union_type.variants.add()
            variant.CopyFrom(_build(m))
            variant.ClearField("structure")
            variant.structure.tag = union_tag(m)
        return out
    is_list, elem = list_arg(tp)
    if is_list:
        if tp is list:
            raise FlyteTypeError("list needs an element type for Flyte: write list[int], list[str] ...")
        return LiteralType(collection_type=_build(elem))
    is_dict, key_tp, value_tp = dict_args(tp)
    if is_dict:
        if key_tp is str:
            return LiteralType(map_value_type=_build(value_tp))
        out = LiteralType(simple=types_pb2.STRUCT)
        out.annotation.annotations.update(_MSGPACK_ANNOTATION)
        return out
    if is_dataclass_type(tp):
        return _dataclass_type(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [m.value for m in tp]
        if not values or not all(isinstance(v, str) for v in values):
            raise FlyteTypeError(
                f"Enum {type_name(tp)}: only enums with string values are supported by Flyte"
            )
        return LiteralType(enum_type=types_pb2.EnumType(values=values))
    file_format = python_class_format(tp)
    if file_format is not None:
        fmt, is_dir = file_format
        dim = types_pb2.BlobType.MULTIPART if is_dir else types_pb2.BlobType.SINGLE
        return LiteralType(blob=types_pb2.BlobType(format=fmt, dimensionality=dim))
    if is_dataset_class(tp):
        out = LiteralType()
        out.structured_dataset_type.SetInParent()
        return out
    out = LiteralType(blob=types_pb2.BlobType(format=PICKLE_FORMAT))
    out.metadata.update({"python_class_name": str(tp)})
    return out


def _dataclass_type(cls: type) -> Any:
    out = LiteralType(simple=types_pb2.STRUCT)
    schema = json_schema(cls)
    if schema is not None:
        json_format.ParseDict(schema, out.metadata)
    hints = field_hints(cls)
    for f in dataclasses.fields(cls):
        try:
            field_type = _build(hints.get(f.name, Any))
        except FlyteTypeError:
            continue
        out.structure.dataclass_type[f.name].CopyFrom(field_type)
    out.structure.SetInParent()
    out.annotation.annotations.update(_MSGPACK_ANNOTATION)
    return out


_SIMPLE_HINTS: dict[int, Any] = {
    types_pb2.INTEGER: int,
    types_pb2.FLOAT: float,
    types_pb2.STRING: str,
    types_pb2.BOOLEAN: bool,
    types_pb2.DATETIME: datetime.datetime,
    types_pb2.DURATION: datetime.timedelta,
}


def hint_for_literal_type(t: Any) -> Any:
    """A Python hint for the primitive parts of a LiteralType (``list[float]`` for ``collection_type: FLOAT``),
    or None when the type has non-primitive parts (structs, blobs, unions ... decode by the literal's shape)."""
    kind = t.WhichOneof("type")
    if kind == "simple":
        return _SIMPLE_HINTS.get(t.simple)
    if kind == "collection_type":
        inner = hint_for_literal_type(t.collection_type)
        return None if inner is None else list[inner]  # type: ignore[valid-type]
    if kind == "map_value_type":
        inner = hint_for_literal_type(t.map_value_type)
        return None if inner is None else dict[str, inner]  # type: ignore[valid-type]
    return None
