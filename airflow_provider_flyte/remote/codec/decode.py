"""flyteidl ``Literal`` s -> Python values, guided by an optional type hint (and the literal's own shape).

Without a hint: primitives become int/float/str/bool/aware-UTC datetime/timedelta, collections lists, maps dicts,
msgpack binaries and generic Structs dicts, blobs :class:`FlyteFile` / :class:`FlyteDirectory`, structured
datasets :class:`StructuredDataset`, unions their value. A hint adds dataclass reconstruction, enums, int/float
coercion and the choice of union variant by its tag. Homogeneous collections/maps of primitives and lists of
msgpack binaries are read in tight loops.
"""

from __future__ import annotations

import datetime
import enum
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import msgpack
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format

from airflow_provider_flyte.remote.codec.context import DEFAULT_CONTEXT, CodecContext
from airflow_provider_flyte.remote.codec.dataclasses import plain_decoder
from airflow_provider_flyte.remote.codec.describe import PICKLE_FORMAT
from airflow_provider_flyte.remote.codec.encode import as_literal_type
from airflow_provider_flyte.remote.codec.failures import short_repr
from airflow_provider_flyte.remote.codec.files import (
    FlyteDirectory,
    FlyteFile,
    StructuredDataset,
    is_dataset_class,
    python_class_format,
)
from airflow_provider_flyte.remote.codec.inference import MSGPACK_TAG, is_castable
from airflow_provider_flyte.remote.codec.pytypes import (
    NoneType,
    dict_args,
    list_arg,
    optional_arg,
    type_name,
    union_args,
    unwrap,
)
from airflow_provider_flyte.remote.codec.types import (
    hint_for_literal_type,
    literal_type_for_python_type,
    union_tag,
)
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError, FlyteTypeError

__all__ = ["literal_map_to_python", "to_python"]

Literal = literals_pb2.Literal


class _Failure(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []


def _fail(lit: Any, hint: Any, reason: str = "") -> _Failure:
    text = f"cannot convert {_describe_literal(lit)} to {type_name(hint)}"
    return _Failure(f"{text}: {reason}" if reason else text)


def _describe_literal(lit: Any) -> str:
    kind = lit.WhichOneof("value")
    if kind == "scalar":
        sk = lit.scalar.WhichOneof("value")
        if sk == "primitive":
            pk = lit.scalar.primitive.WhichOneof("value")
            return f"a {pk} literal ({short_repr(getattr(lit.scalar.primitive, pk or 'integer'), 60)})"
        return f"a {sk} literal"
    return f"a {kind} literal"


def _utc_datetime(ts: Any) -> datetime.datetime:
    return ts.ToDatetime(tzinfo=datetime.UTC)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ scalars


def _read_primitive(lit: Any, prim: Any, hint: Any) -> Any:
    kind = prim.WhichOneof("value")
    if kind == "integer":
        v: Any = prim.integer
        if hint is float:
            return float(v)
    elif kind == "float_value":
        v = prim.float_value
        if hint is int:
            return int(v)
    elif kind == "string_value":
        v = prim.string_value
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint(v)
            except ValueError:
                raise _fail(lit, hint, f"{v!r} is not a value of {hint.__name__}") from None
    elif kind == "boolean":
        v = prim.boolean
    elif kind == "datetime":
        v = _utc_datetime(prim.datetime)
        if hint is datetime.date:
            return v.date()
    elif kind == "duration":
        v = prim.duration.ToTimedelta()
    else:
        raise _fail(lit, hint, "the primitive has no value")
    _check_hint(lit, v, hint)
    return v


_CHECKABLE = (int, float, str, bool, datetime.datetime, datetime.timedelta)


def _check_hint(lit: Any, v: Any, hint: Any) -> None:
    if hint in _CHECKABLE and not (
        type(v) is hint or (hint is not bool and hint is not int and isinstance(v, hint))
    ):
        raise _fail(lit, hint)


def _read_file(lit: Any, hint: Any, env: CodecContext) -> Any:
    blob = lit.scalar.blob
    blob_type = blob.metadata.type
    if blob_type.format == PICKLE_FORMAT:
        return _unpickle(blob.uri, env)
    is_dir = blob_type.dimensionality == types_pb2.BlobType.MULTIPART
    fmt = blob_type.format or None
    file_format = python_class_format(hint)
    if file_format is not None and file_format[1] == is_dir:
        if issubclass(hint, (FlyteFile, FlyteDirectory)):
            return hint(blob.uri, format=fmt) if fmt and not hint.format else hint(blob.uri)
        try:
            return hint(path=blob.uri)
        except Exception:
            pass
    return FlyteDirectory(blob.uri, format=fmt) if is_dir else FlyteFile(blob.uri, format=fmt)


def _unpickle(uri: str, env: CodecContext) -> Any:
    if not env.allow_pickle:
        raise FlyteInvalidInputError(
            f"the value at {uri} is a Python pickle; unpickling data from a remote store can run arbitrary code, "
            "so it is refused. If you trust the producer, opt in with CodecContext(allow_pickle=True)."
        )
    import cloudpickle

    return cloudpickle.loads(env.read(uri))


def _read_dataset(lit: Any, hint: Any) -> Any:
    sd = lit.scalar.structured_dataset
    fmt = sd.metadata.structured_dataset_type.format or "parquet"
    if is_dataset_class(hint) and hint is not StructuredDataset:
        try:
            return hint(uri=sd.uri, file_format=fmt)
        except Exception:
            pass
    return StructuredDataset(uri=sd.uri, file_format=fmt)


def _plain(obj: Any, lit: Any, hint: Any) -> Any:
    if hint is None:
        return obj
    dec = plain_decoder(hint)
    if dec is None:
        return obj
    try:
        return dec(obj)
    except Exception as e:
        raise _fail(lit, hint, f"{type(e).__name__}: {e}") from None


def _read_scalar(lit: Any, hint: Any, env: CodecContext) -> Any:
    scalar = lit.scalar
    kind = scalar.WhichOneof("value")
    if kind == "primitive":
        return _read_primitive(lit, scalar.primitive, hint)
    if kind == "none_type":
        return None
    if kind == "binary":
        if scalar.binary.tag != MSGPACK_TAG:
            return bytes(scalar.binary.value)
        obj = msgpack.unpackb(scalar.binary.value, strict_map_key=False)
        return _plain(obj, lit, hint)
    if kind == "generic":
        if lit.metadata.get("format") == "pickle":
            uri = json_format.MessageToDict(scalar.generic).get("pickle_file")
            return _unpickle(str(uri), env)
        return _plain(json_format.MessageToDict(scalar.generic), lit, hint)
    if kind == "union":
        return _read_union(lit, hint, env)
    if kind == "blob":
        return _read_file(lit, hint, env)
    if kind == "structured_dataset":
        return _read_dataset(lit, hint)
    if kind == "schema":
        return scalar.schema.uri
    if kind == "error":
        return scalar.error
    raise _fail(lit, hint, "the scalar has no value")


def _read_union(lit: Any, hint: Any, env: CodecContext) -> Any:
    union = lit.scalar.union
    members = union_args(hint) if hint is not None else None
    if members is None:
        return _read(union.value, hint, env)
    stored = union.type
    tag = stored.structure.tag if stored.HasField("structure") else ""
    candidates = [m for m in members if not tag or union_tag(m) == tag]
    if len(candidates) > 1:
        narrowed = []
        for m in candidates:
            try:
                if is_castable(stored, literal_type_for_python_type(m)):
                    narrowed.append(m)
            except Exception:
                continue
        candidates = narrowed or candidates
    if not candidates:
        raise _fail(lit, hint, f"the stored variant (tag {tag!r}) is not a member of the union")
    return _read(union.value, candidates[0], env)


# ------------------------------------------------------------------------------------------------ containers

_FAST_FIELDS: dict[str, tuple[Any, ...]] = {
    "integer": (int,),
    "float_value": (float,),
    "string_value": (str,),
    "boolean": (bool,),
}


#: what reading a primitive field returns when the literal holds something else (protobuf's default)
_FIELD_DEFAULTS: dict[str, Any] = {"integer": 0, "float_value": 0.0, "string_value": "", "boolean": False}


def _defaults_are(field: str, values: list[Any], literal_at: Callable[[int], Any]) -> bool:
    """Whether every value that reads as ``field``'s default really holds ``field`` (a literal of another kind
    reads as the default too). Only those elements are looked at; ``list.index`` finds them at C speed."""
    default = _FIELD_DEFAULTS[field]
    i = -1
    while True:
        try:
            i = values.index(default, i + 1)
        except ValueError:
            return True
        if literal_at(i).scalar.primitive.WhichOneof("value") != field:
            return False


def _fast_primitive_reader(field: str) -> Callable[[Any], list[Any] | None]:
    """A tight loop reading one primitive field from every literal; None when one literal differs.

    One pass at protobuf speed, not a ``WhichOneof`` per element: only the values equal to the field's default
    are checked for their kind.
    """
    get = operator.attrgetter(f"scalar.primitive.{field}")

    def read(lits: Any) -> list[Any] | None:
        values = list(map(get, lits))
        return values if _defaults_are(field, values, lits.__getitem__) else None

    return read


def _fast_primitive_map_reader(field: str) -> Callable[[Any], dict[str, Any] | None]:
    """The same for the values of a map."""
    get = operator.attrgetter(f"scalar.primitive.{field}")
    default = _FIELD_DEFAULTS[field]

    def read(lits: Any) -> dict[str, Any] | None:
        out = {k: get(x) for k, x in lits.items()}
        if default in out.values():
            keys = list(out)
            if not _defaults_are(field, list(out.values()), lambda i: lits[keys[i]]):
                return None
        return out

    return read


_FAST_READERS = {field: _fast_primitive_reader(field) for field in _FAST_FIELDS}
_FAST_MAP_READERS = {field: _fast_primitive_map_reader(field) for field in _FAST_FIELDS}


def _fast_field(first: Any, hint: Any) -> str | None:
    if first.WhichOneof("value") != "scalar" or first.scalar.WhichOneof("value") != "primitive":
        return None
    field: str | None = first.scalar.primitive.WhichOneof("value")
    if field is None or field not in _FAST_FIELDS:
        return None
    if hint is None or hint in _FAST_FIELDS[field]:
        return field
    return None


def _is_msgpack(lit: Any) -> bool:
    return bool(
        lit.WhichOneof("value") == "scalar"
        and lit.scalar.WhichOneof("value") == "binary"
        and lit.scalar.binary.tag == MSGPACK_TAG
    )


_binary_of = operator.attrgetter("scalar.binary")
_tag_of = operator.attrgetter("tag")
_value_of = operator.attrgetter("value")
_unpack = functools.partial(msgpack.unpackb, strict_map_key=False)


def _read_msgpack_list(lits: Any, dec: Callable[[Any], Any] | None) -> list[Any] | None:
    """A list of msgpack binaries decoded with the element type's decoder (chosen once for the list); None when
    an element is something else or does not decode (the element-by-element path then names it)."""
    binaries = list(map(_binary_of, lits))
    if set(map(_tag_of, binaries)) != {MSGPACK_TAG}:  # a literal of another kind has the empty tag
        return None
    try:
        plain = map(_unpack, map(_value_of, binaries))
        return list(plain) if dec is None else list(map(dec, plain))
    except Exception:
        return None


def _read_list(lit: Any, hint: Any, env: CodecContext) -> list[Any]:
    lits = lit.collection.literals
    is_list, elem_hint = list_arg(hint) if hint is not None else (False, None)
    if hint is not None and not is_list and hint is not Any:
        raise _fail(lit, hint)
    elem_hint = unwrap(elem_hint) if is_list and elem_hint is not Any else None
    if not lits:
        return []
    field = _fast_field(lits[0], elem_hint)
    if field is not None:
        values = _FAST_READERS[field](lits)
        if values is not None:
            return values
    if elem_hint is not None and _is_msgpack(lits[0]):
        values = _read_msgpack_list(lits, plain_decoder(elem_hint))
        if values is not None:
            return values
    out = []
    for i, item in enumerate(lits):
        try:
            out.append(_read(item, elem_hint, env))
        except _Failure as f:
            f.path.append(f"[{i}]")
            raise
    return out


def _read_map(lit: Any, hint: Any, env: CodecContext) -> dict[str, Any]:
    lits = lit.map.literals
    is_dict, key_hint, value_hint = dict_args(hint) if hint is not None else (False, None, None)
    if hint is not None and not is_dict and hint is not Any:
        raise _fail(lit, hint)
    if is_dict and key_hint not in (None, str):
        raise _fail(lit, hint, "Flyte maps have string keys")
    value_hint = unwrap(value_hint) if value_hint is not None and value_hint is not Any else None
    if not lits:
        return {}
    first = next(iter(lits.values()))
    field = _fast_field(first, value_hint)
    if field is not None:
        values = _FAST_MAP_READERS[field](lits)
        if values is not None:
            return values
    out: dict[str, Any] = {}
    for k, item in lits.items():
        try:
            out[k] = _read(item, value_hint, env)
        except _Failure as f:
            f.path.append(f"[{k!r}]")
            raise
    return out


def _read(lit: Any, hint: Any, env: CodecContext) -> Any:
    if hint is not None:
        hint = unwrap(hint)
        if hint is Any or hint is object:
            hint = None
    kind = lit.WhichOneof("value")
    if hint is not None and kind != "scalar":
        inner = optional_arg(hint)
        if inner is not None:
            hint = unwrap(inner)
    if kind == "scalar":
        scalar_kind = lit.scalar.WhichOneof("value")
        if hint is not None:
            if scalar_kind == "none_type":
                if hint is not NoneType and union_args(hint) is None:
                    raise _fail(lit, hint, "the value is None")
            elif scalar_kind != "union":
                inner = optional_arg(hint)
                if inner is not None:
                    hint = unwrap(inner)
        return _read_scalar(lit, hint, env)
    if kind == "collection":
        return _read_list(lit, hint, env)
    if kind == "map":
        return _read_map(lit, hint, env)
    if kind == "offloaded_metadata":
        uri = lit.offloaded_metadata.uri
        try:
            data = env.read(uri)
        except Exception as e:
            raise _Failure(f"cannot read the offloaded literal at {uri}: {type(e).__name__}: {e}") from e
        return _read(Literal.FromString(data), hint, env)
    raise _Failure("the literal has no value (scalar, collection, map or offloaded_metadata)")


# ------------------------------------------------------------------------------------------------ public API


def _decode(lit: Any, hint: Any, ctx: CodecContext | None, name: str | None) -> Any:
    if hasattr(lit, "to_flyte_idl") and not isinstance(lit, Literal):
        lit = lit.to_flyte_idl()
    try:
        return _read(lit, hint, ctx or DEFAULT_CONTEXT)
    except _Failure as f:
        where = "".join(reversed(f.path))
        subject = f"'{name}'" if name is not None else "literal"
        if where:
            subject += f" at {where}"
        raise FlyteTypeError(f"{subject}: {f.message}") from None


def to_python(
    literal: Any, literal_type: Any = None, python_type: Any = None, *, ctx: CodecContext | None = None
) -> Any:
    """Convert a ``flyteidl.core.Literal`` to a Python value.

    ``python_type`` (optional) drives dataclass reconstruction, enums and union variant choice; without it the
    primitive parts of ``literal_type`` act as the hint (ints read as floats for FLOAT, mismatching literal kinds
    rejected), and everything else follows the literal's own shape. Offloaded literals are
    read through ``ctx.read_bytes``; pickles need ``ctx.allow_pickle``.
    """
    if python_type is None and literal_type is not None:
        python_type = hint_for_literal_type(as_literal_type(literal_type))
    return _decode(literal, python_type, ctx, None)


def literal_map_to_python(
    lm: Any,
    variables: Mapping[str, Any] | None = None,
    type_hints: Mapping[str, Any] | None = None,
    *,
    ctx: CodecContext | None = None,
) -> dict[str, Any]:
    """Convert every literal of a ``LiteralMap`` (inputs or outputs) to Python, by name."""
    if hasattr(lm, "to_flyte_idl") and not isinstance(lm, literals_pb2.LiteralMap):
        lm = lm.to_flyte_idl()
    hints = type_hints or {}
    out: dict[str, Any] = {}
    for name, lit in lm.literals.items():
        hint = hints.get(name)
        if hint is None and variables is not None and name in variables:
            hint = hint_for_literal_type(as_literal_type(variables[name]))
        out[name] = _decode(lit, hint, ctx, name)
    return out
