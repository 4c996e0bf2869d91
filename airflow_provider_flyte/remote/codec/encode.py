"""Python values -> flyteidl ``Literal`` s, guided by the declared ``LiteralType`` (and optionally a type hint).

For each (LiteralType, hint) pair a *writer* is compiled once: a function filling a ``Literal`` in place with the
fast protobuf idioms (``lits.add().scalar.primitive.integer = i``), with specialised loops for homogeneous
collections and maps of primitives. Shapes are flytekit 1.16's, byte for byte.
"""

from __future__ import annotations

import datetime
import enum
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

import msgpack
from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from airflow_provider_flyte.remote.codec.context import DEFAULT_CONTEXT, CodecContext
from airflow_provider_flyte.remote.codec.dataclasses import encode_any, plain_encoder
from airflow_provider_flyte.remote.codec.describe import PICKLE_FORMAT, describe_type
from airflow_provider_flyte.remote.codec.failures import Mismatch, to_type_error
from airflow_provider_flyte.remote.codec.files import as_dataset_value, as_file_value, is_remote_uri
from airflow_provider_flyte.remote.codec.inference import MSGPACK_TAG
from airflow_provider_flyte.remote.codec.pytypes import (
    dict_args,
    is_dataclass_type,
    is_dataclass_value,
    list_arg,
    union_args,
    unwrap,
)
from airflow_provider_flyte.remote.codec.types import literal_type_for_python_type
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

__all__ = ["as_literal_type", "to_literal", "to_literal_map"]

Literal = literals_pb2.Literal
LiteralMap = literals_pb2.LiteralMap


class _Env:
    """Per-call state handed to writers: the codec context."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: CodecContext) -> None:
        self.ctx = ctx

    def resolve(self, path: str, is_dir: bool, lt: Any, value: Any) -> str:
        """Remote URIs pass through; local paths are checked and uploaded via ``ctx.upload``."""
        if is_remote_uri(path):
            return path
        kind = "directory" if is_dir else "file"
        exists = os.path.isdir(path) if is_dir else os.path.isfile(path)
        if not exists:
            raise Mismatch(lt, value, f"local {kind} {path!r} does not exist", fatal=True)
        if self.ctx.upload is None:
            raise Mismatch(
                lt,
                value,
                f"local {kind} {path!r} cannot be sent without an upload function: pass a remote URI "
                "(s3://, gs://, abfs://, flyte://, ...) or use a client whose CodecContext.upload is set",
                fatal=True,
            )
        return self.ctx.upload(path)

    def upload_callback(self, lt: Any, value: Any) -> Callable[[str, bool], str]:
        return lambda path, is_dir: self.resolve(path, is_dir, lt, value)


Writer = Callable[[Any, Any, _Env], None]

_WRITERS: dict[tuple[bytes, Any, bool], Writer] = {}
_MAX_CACHED = 4096


def _writer(lt: Any, hint: Any, strict: bool) -> Writer:
    try:
        key = (lt.SerializeToString(deterministic=True), hint, strict)
        hash(key)
    except TypeError:
        return _compile(lt, hint, strict)
    w = _WRITERS.get(key)
    if w is None:
        w = _compile(lt, hint, strict)
        if len(_WRITERS) >= _MAX_CACHED:
            _WRITERS.clear()
        _WRITERS[key] = w
    return w


def _passthrough(w: Writer) -> Writer:
    """Wrap a writer so that ``Literal`` instances (flyteidl or flytekit model) are copied as they are."""

    def write(v: Any, out: Any, env: _Env) -> None:
        if isinstance(v, Literal):
            out.CopyFrom(v)
            return
        if hasattr(v, "to_flyte_idl") and type(v).__name__ == "Literal":
            out.CopyFrom(v.to_flyte_idl())
            return
        w(v, out, env)

    return write


def _compile(lt: Any, hint: Any, strict: bool) -> Writer:
    hint = unwrap(hint) if hint is not None else None
    kind = lt.WhichOneof("type")
    if kind == "simple":
        return _passthrough(_simple_writer(lt, hint, strict))
    if kind == "collection_type":
        return _passthrough(_list_writer(lt, hint, strict))
    if kind == "map_value_type":
        return _passthrough(_map_writer(lt, hint, strict))
    if kind == "union_type":
        return _passthrough(_union_writer(lt, hint))
    if kind == "enum_type":
        return _passthrough(_enum_writer(lt))
    if kind == "blob":
        return _passthrough(_blob_writer(lt, strict))
    if kind == "structured_dataset_type":
        return _passthrough(_dataset_writer(lt))
    if kind == "schema":
        return _passthrough(_schema_writer(lt))

    def unknown(v: Any, out: Any, env: _Env) -> None:
        raise Mismatch(lt, v, "the declared Flyte type is empty or unknown; pass a flyteidl Literal instead")

    return _passthrough(unknown)


# ------------------------------------------------------------------------------------------------ scalars


def _is_int(v: Any) -> bool:
    return type(v) is int or (isinstance(v, int) and not isinstance(v, bool) and not isinstance(v, enum.Enum))


def _set_int(lt: Any) -> Callable[[Any, Any], None]:
    def set_int(v: Any, prim: Any) -> None:
        if not _is_int(v):
            raise Mismatch(lt, v)
        try:
            prim.integer = v
        except ValueError:
            raise Mismatch(lt, v, "out of the int64 range") from None

    return set_int


def _set_float(lt: Any, strict: bool) -> Callable[[Any, Any], None]:
    def set_float(v: Any, prim: Any) -> None:
        if type(v) is float:
            prim.float_value = v
        elif isinstance(v, float) or (not strict and _is_int(v)):
            prim.float_value = float(v)
        else:
            raise Mismatch(lt, v)

    return set_float


def _set_str(lt: Any, strict: bool) -> Callable[[Any, Any], None]:
    def set_str(v: Any, prim: Any) -> None:
        if type(v) is str:
            prim.string_value = v
        elif isinstance(v, enum.Enum) and isinstance(v.value, str) and not strict:
            prim.string_value = v.value
        elif isinstance(v, str) and not isinstance(v, enum.Enum):
            prim.string_value = str(v)
        else:
            raise Mismatch(lt, v)

    return set_str


def _set_bool(lt: Any) -> Callable[[Any, Any], None]:
    def set_bool(v: Any, prim: Any) -> None:
        if type(v) is not bool:
            raise Mismatch(lt, v)
        prim.boolean = v

    return set_bool


def _set_datetime(lt: Any) -> Callable[[Any, Any], None]:
    def set_datetime(v: Any, prim: Any) -> None:
        if isinstance(v, datetime.datetime):
            if v.tzinfo is not None:
                v = v.astimezone(datetime.UTC).replace(tzinfo=None)
            prim.datetime.FromDatetime(v)
        elif isinstance(v, datetime.date):
            prim.datetime.FromDatetime(datetime.datetime.combine(v, datetime.time.min))
        else:
            raise Mismatch(lt, v)

    return set_datetime


def _set_duration(lt: Any) -> Callable[[Any, Any], None]:
    def set_duration(v: Any, prim: Any) -> None:
        if not isinstance(v, datetime.timedelta):
            raise Mismatch(lt, v)
        prim.duration.FromTimedelta(v)

    return set_duration


def _primitive_setter(lt: Any, strict: bool) -> Callable[[Any, Any], None] | None:
    simple = lt.simple
    if simple == types_pb2.INTEGER:
        return _set_int(lt)
    if simple == types_pb2.FLOAT:
        return _set_float(lt, strict)
    if simple == types_pb2.STRING:
        return _set_str(lt, strict)
    if simple == types_pb2.BOOLEAN:
        return _set_bool(lt)
    if simple == types_pb2.DATETIME:
        return _set_datetime(lt)
    if simple == types_pb2.DURATION:
        return _set_duration(lt)
    return None


def _simple_writer(lt: Any, hint: Any, strict: bool) -> Writer:
    setter = _primitive_setter(lt, strict)
    if setter is not None:
        set_value = setter

        def write_primitive(v: Any, out: Any, env: _Env) -> None:
            set_value(v, out.scalar.primitive)

        return write_primitive
    simple = lt.simple
    if simple == types_pb2.NONE:

        def write_none(v: Any, out: Any, env: _Env) -> None:
            if v is not None:
                raise Mismatch(lt, v)
            out.scalar.none_type.SetInParent()

        return write_none
    if simple == types_pb2.STRUCT:
        return _struct_writer(lt, hint, strict)
    if simple == types_pb2.BINARY:

        def write_binary(v: Any, out: Any, env: _Env) -> None:
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise Mismatch(lt, v)
            out.scalar.binary.value = bytes(v)

        return write_binary

    def write_error(v: Any, out: Any, env: _Env) -> None:
        raise Mismatch(lt, v, "values of this Flyte type cannot be created from Python")

    return write_error


def _struct_title(lt: Any) -> str | None:
    if lt.HasField("metadata") and "title" in lt.metadata.fields:
        title = lt.metadata.fields["title"]
        if title.WhichOneof("kind") == "string_value":
            return str(title.string_value)
    return None


def _struct_writer(lt: Any, hint: Any, strict: bool) -> Writer:
    """STRUCT: dicts and dataclasses as msgpack binaries (flytekit 1.16's Binary IDL)."""
    hint_is_dc = is_dataclass_type(hint)
    title = _struct_title(lt)
    encoder = plain_encoder(hint) if hint is not None else None

    def accepts(v: Any) -> bool:
        if isinstance(v, dict):
            return True
        if not is_dataclass_value(v):
            return hasattr(v, "model_dump") and not strict
        if hint_is_dc:
            return isinstance(v, hint) or (not strict and type(v).__name__ == hint.__name__)
        if title is not None:
            return type(v).__name__ == title
        return not strict

    def write_struct(v: Any, out: Any, env: _Env) -> None:
        if not accepts(v):
            raise Mismatch(lt, v)
        up = env.upload_callback(lt, v)
        if hasattr(v, "model_dump") and not is_dataclass_value(v):
            plain = v.model_dump(mode="json")
        elif encoder is not None and (not hint_is_dc or isinstance(v, hint)):
            plain = encoder(v, up)
        else:
            plain = encode_any(v, up)
        try:
            data = msgpack.packb(plain)
        except (TypeError, ValueError, OverflowError) as e:
            raise Mismatch(lt, v, f"cannot be serialized with msgpack: {e}") from None
        binary = out.scalar.binary
        binary.value = data
        binary.tag = MSGPACK_TAG

    return write_struct


def _enum_writer(lt: Any) -> Writer:
    values = frozenset(lt.enum_type.values)

    def write_enum(v: Any, out: Any, env: _Env) -> None:
        raw = v.value if isinstance(v, enum.Enum) else v
        if not isinstance(raw, str):
            raise Mismatch(lt, v)
        if raw not in values:
            raise Mismatch(lt, v, f"not one of the enum values {sorted(values)}")
        out.scalar.primitive.string_value = raw

    return write_enum


# ------------------------------------------------------------------------------------------------ containers

_FAST_ELEMENT_TYPES: dict[int, tuple[type, str]] = {
    types_pb2.INTEGER: (int, "integer"),
    types_pb2.FLOAT: (float, "float_value"),
    types_pb2.STRING: (str, "string_value"),
    types_pb2.BOOLEAN: (bool, "boolean"),
}


def _all_of_type(values: Any, py_type: type) -> bool:
    """Every value is exactly of ``py_type`` (one C-speed pass)."""
    return set(map(type, values)) <= {py_type}


def _fast_kind(elem_lt: Any) -> tuple[type, str] | None:
    if elem_lt.WhichOneof("type") != "simple":
        return None
    return _FAST_ELEMENT_TYPES.get(elem_lt.simple)


def _list_writer(lt: Any, hint: Any, strict: bool) -> Writer:
    elem_lt = lt.collection_type
    is_list, elem_hint = list_arg(hint) if hint is not None else (False, None)
    elem_write = _writer(elem_lt, elem_hint if is_list else None, strict)
    fast = _fast_kind(elem_lt)

    def write_generic(v: Any, lits: Any, env: _Env, start: int = 0) -> None:
        for i, x in enumerate(v, start):
            try:
                elem_write(x, lits.add(), env)
            except Mismatch as m:
                raise m.at(f"[{i}]") from None

    if fast is None and is_list and _is_struct(elem_lt) and is_dataclass_type(unwrap(elem_hint)):
        return _dataclass_list_writer(lt, unwrap(elem_hint), write_generic)

    if fast is None:

        def write_list(v: Any, out: Any, env: _Env) -> None:
            if not isinstance(v, (list, tuple)):
                raise Mismatch(lt, v)
            coll = out.collection
            coll.SetInParent()
            write_generic(v, coll.literals, env)

        return write_list

    py_type, field = fast

    if field == "integer":

        def fill(v: Any, lits: Any) -> None:
            for x in v:
                lits.add().scalar.primitive.integer = x

    elif field == "float_value":

        def fill(v: Any, lits: Any) -> None:
            for x in v:
                lits.add().scalar.primitive.float_value = x

    elif field == "string_value":

        def fill(v: Any, lits: Any) -> None:
            for x in v:
                lits.add().scalar.primitive.string_value = x

    else:

        def fill(v: Any, lits: Any) -> None:
            for x in v:
                lits.add().scalar.primitive.boolean = x

    def write_fast_list(v: Any, out: Any, env: _Env) -> None:
        if not isinstance(v, (list, tuple)):
            raise Mismatch(lt, v)
        coll = out.collection
        coll.SetInParent()
        lits = coll.literals
        if _all_of_type(v, py_type):
            try:
                fill(v, lits)
                return
            except ValueError:
                del lits[:]
        write_generic(v, lits, env)

    return write_fast_list


def _is_struct(lt: Any) -> bool:
    return bool(lt.WhichOneof("type") == "simple" and lt.simple == types_pb2.STRUCT)


def _dataclass_list_writer(lt: Any, cls: type, write_generic: Callable[[Any, Any, _Env, int], None]) -> Writer:
    """``list[SomeDataclass]``: the element type is dispatched once for the list; each element of exactly that
    class goes straight to its compiled field encoder and msgpack. Anything else (a subclass, a dict, a
    ``Literal`` ...) and any element that does not encode takes the element writer, which also names the failure.
    """
    encoder = plain_encoder(cls)
    assert encoder is not None  # a dataclass always has one
    packb = msgpack.packb

    def write_dataclass_list(v: Any, out: Any, env: _Env) -> None:
        if not isinstance(v, (list, tuple)):
            raise Mismatch(lt, v)
        coll = out.collection
        coll.SetInParent()
        lits = coll.literals
        up = env.upload_callback(lt, v)
        for i, x in enumerate(v):
            if type(x) is cls:
                try:
                    data = packb(encoder(x, up))
                except (Mismatch, TypeError, ValueError, OverflowError):
                    pass
                else:
                    binary = lits.add().scalar.binary
                    binary.value = data
                    binary.tag = MSGPACK_TAG
                    continue
            write_generic(v[i : i + 1], lits, env, i)

    return write_dataclass_list


def _map_writer(lt: Any, hint: Any, strict: bool) -> Writer:
    value_lt = lt.map_value_type
    is_dict, _, value_hint = dict_args(hint) if hint is not None else (False, None, None)
    value_write = _writer(value_lt, value_hint if is_dict else None, strict)
    fast = _fast_kind(value_lt)
    py_type, field = fast if fast is not None else (None, "")

    def write_generic(v: Mapping[Any, Any], lits: Any, env: _Env) -> None:
        for k, x in v.items():
            if not isinstance(k, str):
                raise Mismatch(lt, v, f"map keys must be strings, got key {k!r} ({type(k).__name__})")
            try:
                value_write(x, lits[k], env)
            except Mismatch as m:
                raise m.at(f"[{k!r}]") from None

    def write_map(v: Any, out: Any, env: _Env) -> None:
        if not isinstance(v, Mapping):
            raise Mismatch(lt, v)
        m = out.map
        m.SetInParent()
        lits = m.literals
        if py_type is not None and _all_of_type(v.values(), py_type):
            try:
                if field == "float_value":
                    for k, x in v.items():
                        lits[k].scalar.primitive.float_value = x
                elif field == "integer":
                    for k, x in v.items():
                        lits[k].scalar.primitive.integer = x
                elif field == "string_value":
                    for k, x in v.items():
                        lits[k].scalar.primitive.string_value = x
                else:
                    for k, x in v.items():
                        lits[k].scalar.primitive.boolean = x
                return
            except (TypeError, ValueError):
                m.Clear()
                m.SetInParent()
                lits = m.literals
        write_generic(v, lits, env)

    return write_map


def _union_writer(lt: Any, hint: Any) -> Writer:
    variants = list(lt.union_type.variants)
    members = union_args(hint) if hint is not None else None
    hints: list[Any] = (
        list(members) if members is not None and len(members) == len(variants) else [None] * len(variants)
    )
    writers = [_writer(variant, h, True) for variant, h in zip(variants, hints, strict=True)]
    none_index = [
        i
        for i, variant in enumerate(variants)
        if variant.WhichOneof("type") == "simple" and variant.simple == 0
    ]
    string_index = [
        i
        for i, variant in enumerate(variants)
        if variant.WhichOneof("type") == "simple" and variant.simple == types_pb2.STRING
    ]

    def write_union(v: Any, out: Any, env: _Env) -> None:
        if v is None and len(none_index) == 1:
            chosen, scratch = none_index[0], Literal()
            scratch.scalar.none_type.SetInParent()
        else:
            matches: list[tuple[int, Any]] = []
            for i, w in enumerate(writers):
                scratch = Literal()
                try:
                    w(v, scratch, env)
                except Mismatch as m:
                    if m.fatal:
                        raise
                    continue
                matches.append((i, scratch))
            if not matches:
                raise Mismatch(lt, v, "no variant of the union accepts this value")
            if len(matches) > 1:
                exact = [m for m in matches if m[0] in string_index] if type(v) is str else []
                if len(exact) != 1:
                    names = ", ".join(describe_type(variants[i]) for i, _ in matches)
                    raise Mismatch(lt, v, f"ambiguous: the value fits several variants ({names})", fatal=True)
                matches = exact
            chosen, scratch = matches[0]
        union = out.scalar.union
        union.value.CopyFrom(scratch)
        union.type.CopyFrom(variants[chosen])

    return write_union


# ------------------------------------------------------------------------------------------------ blobs


def _blob_writer(lt: Any, strict: bool) -> Writer:
    blob_type = lt.blob
    if blob_type.format == PICKLE_FORMAT:
        return _pickle_writer(lt)
    want_dir = blob_type.dimensionality == types_pb2.BlobType.MULTIPART

    def write_blob(v: Any, out: Any, env: _Env) -> None:
        file_value = as_file_value(v)
        if file_value is not None:
            path, _, is_dir = file_value
            if is_dir != want_dir:
                raise Mismatch(lt, v)
        elif isinstance(v, (str, os.PathLike)):
            path = os.fspath(v)
        else:
            raise Mismatch(lt, v)
        uri = env.resolve(path, want_dir, lt, v)
        blob = out.scalar.blob
        blob.metadata.type.CopyFrom(blob_type)
        blob.uri = uri

    return write_blob


def _pickle_writer(lt: Any) -> Writer:
    blob_type = lt.blob

    def write_pickle(v: Any, out: Any, env: _Env) -> None:
        if env.ctx.upload is None:
            raise Mismatch(
                lt,
                v,
                "a pickled value must be uploaded but no upload function is configured (CodecContext.upload)",
                fatal=True,
            )
        import cloudpickle

        data = cloudpickle.dumps(v)
        fd, path = tempfile.mkstemp(prefix="flyte-pickle-", suffix=".pkl")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            uri = env.ctx.upload(path)
        finally:
            os.unlink(path)
        blob = out.scalar.blob
        blob.metadata.type.CopyFrom(blob_type)
        blob.uri = uri

    return write_pickle


def _dataset_writer(lt: Any) -> Writer:
    sd_type = lt.structured_dataset_type

    def write_dataset(v: Any, out: Any, env: _Env) -> None:
        dataset = as_dataset_value(v)
        if dataset is not None:
            uri, fmt = dataset
        elif isinstance(v, (str, os.PathLike)):
            uri, fmt = os.fspath(v), None
        else:
            raise Mismatch(
                lt,
                v,
                "pass a StructuredDataset(uri=...) (or a URI) of data already stored; dataframes are not sent",
            )
        if not is_remote_uri(uri):
            uri = env.resolve(uri, os.path.isdir(uri), lt, v)
        sd = out.scalar.structured_dataset
        sd.uri = uri
        meta = sd.metadata.structured_dataset_type
        meta.CopyFrom(sd_type)
        if fmt and not sd_type.format:
            meta.format = fmt

    return write_dataset


def _schema_writer(lt: Any) -> Writer:
    def write_schema(v: Any, out: Any, env: _Env) -> None:
        if not isinstance(v, str):
            raise Mismatch(lt, v, "schemas are sent by URI")
        out.scalar.schema.uri = v
        out.scalar.schema.type.CopyFrom(lt.schema)

    return write_schema


# ------------------------------------------------------------------------------------------------ public API


def as_literal_type(t: Any) -> Any:
    """Accept a ``LiteralType``, a ``Variable``, a ``Parameter`` or flytekit's models of them."""
    if hasattr(t, "to_flyte_idl") and not hasattr(t, "DESCRIPTOR"):
        t = t.to_flyte_idl()
    if isinstance(t, interface_pb2.Variable):
        return t.type
    if isinstance(t, interface_pb2.Parameter):
        return t.var.type
    if isinstance(t, types_pb2.LiteralType):
        return t
    raise FlyteInvalidInputError(
        f"expected a flyteidl LiteralType, Variable or Parameter, got {type(t).__name__}"
    )


def _encode(value: Any, lt: Any, hint: Any, ctx: CodecContext | None, name: str | None, out: Any) -> None:
    try:
        _writer(lt, hint, False)(value, out, _Env(ctx or DEFAULT_CONTEXT))
    except Mismatch as m:
        raise to_type_error(m, name) from None


def to_literal(
    value: Any,
    literal_type: Any = None,
    python_type: Any = None,
    *,
    ctx: CodecContext | None = None,
    name: str | None = None,
) -> Any:
    """Convert ``value`` to a ``flyteidl.core.Literal`` of ``literal_type`` (flytekit's exact shapes).

    ``python_type`` refines the conversion (union variant choice, dataclass field types); when
    ``literal_type`` is None it is derived from ``python_type`` (or from ``type(value)`` for scalars).
    ``Literal`` instances pass through unchanged. Raises :class:`FlyteTypeError` when the value does not fit,
    naming it as input ``name`` when given.
    """
    if isinstance(value, Literal):
        return value
    if literal_type is None:
        tp = python_type if python_type is not None else type(value)
        literal_type = literal_type_for_python_type(tp)
    out = Literal()
    _encode(value, as_literal_type(literal_type), python_type, ctx, name, out)
    return out


def to_literal_map(
    values: Mapping[str, Any],
    variables: Mapping[str, Any],
    type_hints: Mapping[str, Any] | None = None,
    *,
    ctx: CodecContext | None = None,
) -> Any:
    """Convert named inputs to a ``LiteralMap`` against an interface's variables (``Variable``/``LiteralType``).

    Unknown names raise :class:`FlyteInvalidInputError` listing the valid ones; values that do not fit raise
    :class:`FlyteTypeError` naming the input. Missing inputs are left out (the server applies defaults).
    """
    unknown = [k for k in values if k not in variables]
    if unknown:
        valid = ", ".join(sorted(variables)) or "(none)"
        raise FlyteInvalidInputError(
            f"unknown input name(s) {', '.join(repr(k) for k in unknown)}; valid inputs are: {valid}"
        )
    hints = type_hints or {}
    lm = LiteralMap()
    for name, value in values.items():
        target = lm.literals[name]
        if isinstance(value, Literal):
            target.CopyFrom(value)
            continue
        _encode(value, as_literal_type(variables[name]), hints.get(name), ctx, name, target)
    return lm
