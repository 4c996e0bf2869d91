"""Dataclasses <-> plain msgpack-able objects, the way flytekit 1.16 (mashumaro, msgpack dialect) does it.

* :func:`plain_encoder` compiles, per type hint, a function turning a value into plain data: nested dataclasses
  become dicts (field order kept), ``datetime``/``date`` ISO strings, ``timedelta`` float seconds, enums their
  value, files/directories ``{"path": uri}`` (local paths uploaded), structured datasets
  ``{"uri", "file_format"}``, tuples lists.
* :func:`plain_decoder` compiles the way back (dataclass reconstruction from dicts).
* :func:`json_schema` builds the JSON schema (draft 2020-12, mashumaro's shape) flytekit stores in the STRUCT
  literal type's metadata.

Compiled functions are cached per type hint, so encoding 1,000 dataclasses costs one compilation.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import keyword
import typing
from collections.abc import Callable
from typing import Any

from airflow_provider_flyte.remote.codec.files import (
    FlyteDirectory,
    FlyteFile,
    StructuredDataset,
    as_dataset_value,
    as_file_value,
    is_dataset_class,
    python_class_format,
)
from airflow_provider_flyte.remote.codec.pytypes import (
    NoneType,
    dict_args,
    is_dataclass_type,
    is_dataclass_value,
    list_arg,
    union_args,
    unwrap,
)

#: value -> plain data; gets the upload function for local files
Encoder = Callable[[Any, Callable[[str, bool], str]], Any]
Decoder = Callable[[Any], Any]

_IDENTITY_TYPES: frozenset[Any] = frozenset({int, float, str, bool, bytes, NoneType, Any, object})


class SchemaUnsupported(Exception):
    """The type has no JSON schema (flytekit then stores no metadata)."""


# ------------------------------------------------------------------------------------------------- encoding


def field_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception:
        return {f.name: f.type for f in dataclasses.fields(cls)}


@functools.lru_cache(maxsize=1024)
def _cached_encoder(tp: Any) -> Encoder | None:
    return _build_encoder(tp)


def plain_encoder(tp: Any) -> Encoder | None:
    """Compile an encoder for hint ``tp``; None means the value is already plain (identity)."""
    try:
        return _cached_encoder(tp)
    except TypeError:  # unhashable hint
        return _build_encoder(tp)


def _build_encoder(tp: Any) -> Encoder | None:
    tp = unwrap(tp)
    if tp in _IDENTITY_TYPES:
        return None
    if is_dataclass_type(tp):
        return _dataclass_encoder(tp)
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return lambda v, up: v.value if isinstance(v, enum.Enum) else v
        if issubclass(tp, datetime.datetime) or issubclass(tp, datetime.date):
            return lambda v, up: v.isoformat() if isinstance(v, datetime.date) else v
        if issubclass(tp, datetime.timedelta):
            return lambda v, up: v.total_seconds() if isinstance(v, datetime.timedelta) else v
    if python_class_format(tp) is not None or is_dataset_class(tp):
        return encode_any
    is_list, elem = list_arg(tp)
    if is_list or typing.get_origin(tp) in (tuple, set, frozenset):
        inner_enc = plain_encoder(elem) if is_list else encode_any
        if inner_enc is None:
            return lambda v, up: list(v) if isinstance(v, (tuple, set, frozenset)) else v
        enc: Encoder = inner_enc
        return lambda v, up: [enc(x, up) for x in v] if isinstance(v, (list, tuple, set, frozenset)) else v
    is_dict, _, value_tp = dict_args(tp)
    if is_dict:
        inner = plain_encoder(value_tp) if value_tp is not None else encode_any
        if inner is None:
            return None
        return lambda v, up: {k: inner(x, up) for k, x in v.items()} if isinstance(v, dict) else v
    if union_args(tp) is not None:
        return encode_any
    return encode_any


def _dataclass_encoder(cls: type) -> Encoder:
    hints = field_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    encoders = [(n, plain_encoder(hints.get(n, Any))) for n in names]
    if all(e is None for _, e in encoders):
        as_dict = _field_dict(names)

        def encode_simple(v: Any, up: Callable[[str, bool], str]) -> Any:
            if type(v) is not cls and not is_dataclass_value(v):
                return encode_any(v, up)
            return as_dict(v)

        return encode_simple

    def encode(v: Any, up: Callable[[str, bool], str]) -> Any:
        if type(v) is not cls and not is_dataclass_value(v):
            return encode_any(v, up)
        out: dict[str, Any] = {}
        for n, e in encoders:
            x = getattr(v, n)
            out[n] = x if e is None or x is None else e(x, up)
        return out

    return encode


def _field_dict(names: list[str]) -> Callable[[Any], dict[str, Any]]:
    """``lambda v: {"a": v.a, "b": v.b}`` for these field names, compiled once per class (the way ``dataclasses``
    builds ``__init__``): a dict display is about three times faster than a comprehension over ``getattr``."""
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in names):
        return lambda v: {n: getattr(v, n) for n in names}
    display = ", ".join(f"{n!r}: v.{n}" for n in names)
    built: Callable[[Any], dict[str, Any]] = eval(f"lambda v: {{{display}}}")
    return built


def encode_any(v: Any, up: Callable[[str, bool], str]) -> Any:
    """Plain data for a value of unknown declared type (dispatch on the runtime type)."""
    if v is None or isinstance(v, (str, int, float, bytes)):
        return v.value if isinstance(v, enum.Enum) else v
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, (list, tuple, set, frozenset)):
        return [encode_any(x, up) for x in v]
    if isinstance(v, dict):
        return {k: encode_any(x, up) for k, x in v.items()}
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    file_value = as_file_value(v)
    if file_value is not None:
        path, _, is_dir = file_value
        return {"path": up(path, is_dir)}
    dataset = as_dataset_value(v)
    if dataset is not None:
        return {"uri": dataset[0], "file_format": dataset[1] or ""}
    if is_dataclass_value(v):
        enc = plain_encoder(type(v))
        return enc(v, up) if enc is not None else v
    return v


# ------------------------------------------------------------------------------------------------- decoding


@functools.lru_cache(maxsize=1024)
def _cached_decoder(tp: Any) -> Decoder | None:
    return _build_decoder(tp)


def plain_decoder(tp: Any) -> Decoder | None:
    """Compile a decoder from plain data to hint ``tp``; None means identity."""
    try:
        return _cached_decoder(tp)
    except TypeError:
        return _build_decoder(tp)


def _to_int(x: Any) -> Any:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _to_float(x: Any) -> Any:
    return float(x) if isinstance(x, int) and not isinstance(x, bool) else x


def _build_decoder(tp: Any) -> Decoder | None:
    tp = unwrap(tp)
    if tp in (str, bool, bytes, NoneType, Any, object):
        return None
    if tp is int:
        return _to_int
    if tp is float:
        return _to_float
    if is_dataclass_type(tp):
        return _dataclass_decoder(tp)
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return lambda x: tp(x) if not isinstance(x, tp) else x
        if issubclass(tp, datetime.datetime):
            return lambda x: datetime.datetime.fromisoformat(x) if isinstance(x, str) else x
        if issubclass(tp, datetime.date):
            return lambda x: datetime.date.fromisoformat(x) if isinstance(x, str) else x
        if issubclass(tp, datetime.timedelta):
            return lambda x: datetime.timedelta(seconds=x) if isinstance(x, (int, float)) else x
    file_format = python_class_format(tp)
    if file_format is not None:
        return _path_decoder(tp, file_format[1])
    if is_dataset_class(tp):
        return _dataset_decoder(tp)
    is_list, elem = list_arg(tp)
    if is_list:
        elem_dec = plain_decoder(elem)
        if elem_dec is None:
            return None
        dec: Decoder = elem_dec
        return lambda x: [dec(e) for e in x] if isinstance(x, list) else x
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        decs = [plain_decoder(a) for a in args]
        if len(args) == 2 and args[1] is Ellipsis:
            one = decs[0]
            return lambda x: tuple(one(e) if one else e for e in x)
        return lambda x: tuple((d(e) if d else e) for d, e in zip(decs, x, strict=False))
    is_dict, _, value_tp = dict_args(tp)
    if is_dict:
        inner = plain_decoder(value_tp) if value_tp is not None else None
        if inner is None:
            return None
        return lambda x: {k: inner(v) for k, v in x.items()} if isinstance(x, dict) else x
    members = union_args(tp)
    if members is not None:
        return _union_decoder(members)
    return None


def _union_decoder(members: tuple[Any, ...]) -> Decoder:
    candidates = [(m, plain_decoder(m)) for m in members if m is not NoneType]

    def decode(x: Any) -> Any:
        if x is None:
            return None
        for member, dec in candidates:
            base = unwrap(member)
            if isinstance(base, type) and not is_dataclass_type(base) and isinstance(x, base):
                return dec(x) if dec else x
        for _member, dec in candidates:
            if dec is None:
                continue
            try:
                return dec(x)
            except Exception:
                continue
        return x

    return decode


def _path_decoder(tp: Any, is_dir: bool) -> Decoder:
    ours = isinstance(tp, type) and issubclass(tp, (FlyteFile, FlyteDirectory))

    def decode(x: Any) -> Any:
        path = x.get("path") if isinstance(x, dict) else x
        if not isinstance(path, str):
            return x
        if ours:
            return tp(path)
        try:
            return tp(path=path)
        except Exception:
            return FlyteDirectory(path) if is_dir else FlyteFile(path)

    return decode


def _dataset_decoder(tp: Any) -> Decoder:
    def decode(x: Any) -> Any:
        if not isinstance(x, dict):
            return x
        uri, fmt = str(x.get("uri") or ""), str(x.get("file_format") or "parquet")
        if tp is StructuredDataset or not isinstance(tp, type):
            return StructuredDataset(uri=uri, file_format=fmt)
        try:
            return tp(uri=uri, file_format=fmt)
        except Exception:
            return StructuredDataset(uri=uri, file_format=fmt)

    return decode


def _dataclass_decoder(cls: type) -> Decoder:
    hints = field_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = frozenset(f.name for f in fields)
    decoders = [(f.name, plain_decoder(hints.get(f.name, Any))) for f in fields]
    active = [(n, d) for n, d in decoders if d is not None]
    # fields whose decoder only coerces int <-> float: a value already of the field's type needs nothing
    exact_types = {_to_int: int, _to_float: float}
    typed = [(n, exact_types[d]) for n, d in active if d in exact_types]
    fast = len(typed) == len(active)

    def decode(x: Any) -> Any:
        if type(x) is dict and fast:
            for n, t in typed:
                if type(x.get(n)) is not t:
                    break
            else:
                try:
                    return cls(**x)
                except TypeError:  # unknown or missing keys: convert() keeps the known ones or reports
                    pass
        return convert(x)

    def convert(x: Any) -> Any:
        if not isinstance(x, dict):
            return x
        kwargs = x if x.keys() <= names else {k: v for k, v in x.items() if k in names}
        if active:
            kwargs = dict(kwargs)
            for n, d in active:
                if n in kwargs and kwargs[n] is not None:
                    kwargs[n] = d(kwargs[n])
        return cls(**kwargs)

    return decode


# ------------------------------------------------------------------------------------------------- JSON schema

_FILE_PATH_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "string", "format": "path"}],
    "default": None,
}


def _file_schema(is_dir: bool) -> dict[str, Any]:
    if is_dir:
        return {
            "type": "object",
            "title": "FlyteDirectory",
            "properties": {"path": dict(_FILE_PATH_SCHEMA)},
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "title": "FlyteFile",
        "properties": {
            "path": dict(_FILE_PATH_SCHEMA),
            "metadata": {
                "anyOf": [
                    {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "propertyNames": {"type": "string"},
                    },
                    {"type": "null"},
                ],
                "default": None,
            },
        },
        "additionalProperties": False,
    }


_DATASET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "StructuredDataset",
    "properties": {
        "uri": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "file_format": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": ""},
    },
    "additionalProperties": False,
}

_SIMPLE_SCHEMAS: dict[Any, dict[str, Any]] = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    NoneType: {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.timedelta: {"type": "number", "format": "time-delta"},
}


def json_schema(cls: type) -> dict[str, Any] | None:
    """The JSON schema flytekit (mashumaro) derives for dataclass ``cls``, or None when it has none."""
    try:
        return _dataclass_schema(cls)
    except SchemaUnsupported:
        return None


def _json_value(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    if isinstance(v, tuple):
        return [_json_value(x) for x in v]
    return v


def _dataclass_schema(cls: type) -> dict[str, Any]:
    hints = field_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        schema = dict(_schema(hints.get(f.name, Any)))
        if f.default is not dataclasses.MISSING:
            schema["default"] = _json_value(f.default)
        elif f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        properties[f.name] = schema
    out: dict[str, Any] = {
        "type": "object",
        "title": cls.__name__,
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        out["required"] = required
    return out


def _schema(tp: Any) -> dict[str, Any]:
    tp = unwrap(tp)
    if tp in _SIMPLE_SCHEMAS:
        return dict(_SIMPLE_SCHEMAS[tp])
    if tp is Any or tp is object:
        return {}
    if is_dataclass_type(tp):
        return _dataclass_schema(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    file_format = python_class_format(tp)
    if file_format is not None:
        return _file_schema(file_format[1])
    if is_dataset_class(tp):
        return dict(_DATASET_SCHEMA)
    is_list, elem = list_arg(tp)
    if is_list:
        return {"type": "array", "items": _schema(elem)} if typing.get_args(tp) else {"type": "array"}
    is_dict, key_tp, value_tp = dict_args(tp)
    if is_dict:
        if key_tp is None:
            return {"type": "object"}
        return {
            "type": "object",
            "additionalProperties": _schema(value_tp),
            "propertyNames": _schema(key_tp),
        }
    members = union_args(tp)
    if members is not None:
        return {"anyOf": [_schema(m) for m in members]}
    raise SchemaUnsupported(tp)
