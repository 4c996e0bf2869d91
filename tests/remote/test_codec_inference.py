"""infer_literal_type / is_castable / describe_type against real literals and propeller's own test cases."""

from __future__ import annotations

from typing import Any

import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format, struct_pb2

from airflow_provider_flyte.remote.codec import describe_type, infer_literal_type, is_castable
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError

L = literals_pb2
T = types_pb2


def simple(s: int, tag: str | None = None) -> Any:
    t = T.LiteralType(simple=s)
    if tag:
        t.structure.tag = tag
    return t


def coll(t: Any) -> Any:
    return T.LiteralType(collection_type=t)


def mapt(t: Any) -> Any:
    return T.LiteralType(map_value_type=t)


def union(*variants: Any) -> Any:
    return T.LiteralType(union_type=T.UnionType(variants=list(variants)))


def blob_t(fmt: str = "", multipart: bool = False) -> Any:
    dim = T.BlobType.MULTIPART if multipart else T.BlobType.SINGLE
    return T.LiteralType(blob=T.BlobType(format=fmt, dimensionality=dim))


def sd_t(fmt: str = "", **cols: Any) -> Any:
    cols_pb = [T.StructuredDatasetType.DatasetColumn(name=k, literal_type=v) for k, v in cols.items()]
    return T.LiteralType(structured_dataset_type=T.StructuredDatasetType(format=fmt, columns=cols_pb))


def schema_t(**cols: int) -> Any:
    return T.LiteralType(
        schema=T.SchemaType(columns=[T.SchemaType.SchemaColumn(name=k, type=v) for k, v in cols.items()])
    )


def enum_t(*values: str) -> Any:
    return T.LiteralType(enum_type=T.EnumType(values=list(values)))


def int_lit(i: int) -> Any:
    lit = L.Literal()
    lit.scalar.primitive.integer = i
    return lit


def str_lit(s: str) -> Any:
    lit = L.Literal()
    lit.scalar.primitive.string_value = s
    return lit


def float_lit(f: float) -> Any:
    lit = L.Literal()
    lit.scalar.primitive.float_value = f
    return lit


def none_lit() -> Any:
    lit = L.Literal()
    lit.scalar.none_type.SetInParent()
    return lit


def coll_lit(*items: Any) -> Any:
    lit = L.Literal()
    lit.collection.SetInParent()
    lit.collection.literals.extend(items)
    return lit


def map_lit(**items: Any) -> Any:
    lit = L.Literal()
    lit.map.SetInParent()
    for k, v in items.items():
        lit.map.literals[k].CopyFrom(v)
    return lit


SCHEMA = SchemaColumn = T.SchemaType.SchemaColumn


# ------------------------------------------------------------------------------------------------ inference


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("integer", 3, T.INTEGER),
        ("float_value", 1.5, T.FLOAT),
        ("string_value", "x", T.STRING),
        ("boolean", True, T.BOOLEAN),
    ],
)
def test_primitive_inference(field: str, value: Any, expected: int) -> None:
    lit = L.Literal()
    setattr(lit.scalar.primitive, field, value)
    assert infer_literal_type(lit) == simple(expected)


def test_datetime_duration_none_inference() -> None:
    lit = L.Literal()
    lit.scalar.primitive.datetime.seconds = 10
    assert infer_literal_type(lit) == simple(T.DATETIME)
    lit = L.Literal()
    lit.scalar.primitive.duration.seconds = 10
    assert infer_literal_type(lit) == simple(T.DURATION)
    assert infer_literal_type(none_lit()) == simple(T.NONE)


def test_binary_generic_inference() -> None:
    lit = L.Literal()
    lit.scalar.binary.value = b"\x80"
    lit.scalar.binary.tag = "msgpack"
    assert infer_literal_type(lit) == simple(T.STRUCT)
    lit.scalar.binary.tag = "other"
    assert infer_literal_type(lit) == simple(T.BINARY)
    lit = L.Literal()
    lit.scalar.generic.update({"a": 1})
    assert infer_literal_type(lit) == simple(T.STRUCT)


def test_blob_inference_and_missing_metadata() -> None:
    lit = L.Literal()
    lit.scalar.blob.uri = "s3://b/k"
    lit.scalar.blob.metadata.type.format = "csv"
    assert infer_literal_type(lit) == blob_t("csv")
    lit.scalar.blob.metadata.type.dimensionality = T.BlobType.MULTIPART
    assert infer_literal_type(lit) == blob_t("csv", multipart=True)
    bare = L.Literal()
    bare.scalar.blob.uri = "s3://b/k"
    with pytest.raises(FlyteInvalidInputError, match="unknown literal type"):
        infer_literal_type(bare)


def test_empty_literal_is_unknown() -> None:
    with pytest.raises(FlyteInvalidInputError, match="unknown literal type"):
        infer_literal_type(L.Literal())
    with pytest.raises(FlyteInvalidInputError):
        infer_literal_type(coll_lit(L.Literal()))


def test_collection_inference_homogeneous_and_empty() -> None:
    assert infer_literal_type(coll_lit(int_lit(1), int_lit(2))) == coll(simple(T.INTEGER))
    assert infer_literal_type(coll_lit()) == coll(simple(T.NONE))
    # empty sub-collections are ignored when other element types exist
    nested = coll_lit(coll_lit(), coll_lit(int_lit(1)))
    assert infer_literal_type(nested) == coll(coll(simple(T.INTEGER)))
    assert infer_literal_type(coll_lit(coll_lit())) == coll(coll(simple(T.NONE)))


def test_collection_inference_heterogeneous_gives_sorted_union() -> None:
    got = infer_literal_type(coll_lit(str_lit("a"), int_lit(1), int_lit(2), str_lit("b")))
    assert got == coll(union(simple(T.INTEGER), simple(T.STRING)))
    got2 = infer_literal_type(coll_lit(int_lit(1), str_lit("b")))
    assert got == got2


def test_nested_heterogeneous_collections_flatten_union() -> None:
    # [[1, "a"], [1.5]] -> element types: list[Union[int,str]] and list[float] -> nested union flattening
    lit = coll_lit(coll_lit(int_lit(1), str_lit("a")), coll_lit(float_lit(1.5)))
    # propeller sorts [list[float], list[Union[int, str]]] and flattens only the nested union's variants
    expected = coll(coll(union(coll(simple(T.FLOAT)), simple(T.INTEGER), simple(T.STRING))))
    assert infer_literal_type(lit) == expected


def test_map_inference() -> None:
    assert infer_literal_type(map_lit(a=float_lit(1.0), b=float_lit(2.0))) == mapt(simple(T.FLOAT))
    assert infer_literal_type(map_lit()) == mapt(simple(T.NONE))
    assert infer_literal_type(map_lit(a=int_lit(1), b=str_lit("x"))) == mapt(
        union(simple(T.INTEGER), simple(T.STRING))
    )


def test_union_and_offloaded_and_sd_inference() -> None:
    lit = L.Literal()
    lit.scalar.union.value.CopyFrom(int_lit(3))
    lit.scalar.union.type.CopyFrom(simple(T.INTEGER, "int"))
    assert infer_literal_type(lit) == union(simple(T.INTEGER, "int"))

    off = L.Literal()
    off.offloaded_metadata.uri = "s3://x"
    off.offloaded_metadata.inferred_type.CopyFrom(coll(simple(T.STRING)))
    assert infer_literal_type(off) == coll(simple(T.STRING))

    sd = L.Literal()
    sd.scalar.structured_dataset.uri = "s3://sd"
    got = infer_literal_type(sd)
    assert got.WhichOneof("type") == "structured_dataset_type"
    sd.scalar.structured_dataset.metadata.structured_dataset_type.format = "parquet"
    assert infer_literal_type(sd) == sd_t("parquet")


def test_inference_on_flytekit_literals() -> None:
    """Literals produced by flytekit itself infer to types their declared type accepts."""
    tk = pytest.importorskip("flytekit.core.type_engine")
    from flytekit.core.context_manager import FlyteContextManager

    ctx = FlyteContextManager.current_context()
    cases: list[tuple[Any, Any]] = [
        (int, 1),
        (list[int], [1, 2, 3]),
        (dict[str, float], {"a": 1.0}),
        (dict, {"a": [1, 2]}),
        (int | None, None),
        (int | str, "x"),
        (list[int | None], [1, None]),
    ]
    for tp, value in cases:
        lt = tk.TypeEngine.to_literal_type(tp)
        lit = tk.TypeEngine.to_literal(ctx, value, tp, lt).to_flyte_idl()
        inferred = infer_literal_type(lit)
        assert is_castable(inferred, lt.to_flyte_idl()), (tp, inferred)


def test_large_collection_inference() -> None:
    """Correctness on a big homogeneous collection, and one odd element at the end still counts (speed is
    measured in benchmarks/, not asserted here)."""
    lit = L.Literal()
    lits = lit.collection.literals
    for i in range(100_000):
        lits.add().scalar.primitive.integer = i
    assert infer_literal_type(lit) == coll(simple(T.INTEGER))
    lits.add().scalar.primitive.string_value = "last"
    inferred = infer_literal_type(lit)
    assert inferred.collection_type.WhichOneof("type") == "union_type"


# ------------------------------------------------------------------------------------------------ castability


def test_simple_castability() -> None:
    assert is_castable(simple(T.INTEGER), simple(T.INTEGER))
    assert not is_castable(simple(T.INTEGER), simple(T.FLOAT))
    assert not is_castable(simple(T.FLOAT), simple(T.INTEGER))
    assert not is_castable(simple(T.NONE), simple(T.INTEGER))
    assert is_castable(simple(T.NONE), simple(T.NONE))


def test_metadata_is_ignored() -> None:
    up = simple(T.INTEGER)
    up.metadata.update({"x": 1})
    down = simple(T.INTEGER)
    down.annotation.annotations.update({"y": 2})
    assert is_castable(up, down)


def test_enum_string() -> None:
    assert is_castable(enum_t("a", "b"), simple(T.STRING))
    assert is_castable(simple(T.STRING), enum_t("a", "b"))
    assert is_castable(enum_t("a", "b"), enum_t("a", "b"))
    assert not is_castable(enum_t("a", "b"), enum_t("a", "c"))


def test_union_rules() -> None:
    str_or_int = union(simple(T.STRING, "str"), simple(T.INTEGER, "int"))
    assert is_castable(simple(T.STRING), str_or_int)
    assert not is_castable(simple(T.STRING), union(simple(T.STRING, "str"), simple(T.STRING, "str1")))
    # union -> superset union
    assert is_castable(
        union(simple(T.STRING, "str"), simple(T.INTEGER, "int")),
        union(simple(T.INTEGER, "int"), simple(T.STRING, "str"), simple(T.FLOAT, "float")),
    )
    # tag mismatch
    assert not is_castable(
        union(simple(T.STRING, "str"), simple(T.INTEGER, "int")),
        union(simple(T.INTEGER, "int"), simple(T.STRING, "str2")),
    )
    assert not is_castable(
        union(simple(T.STRING, "str"), simple(T.FLOAT, "float")), union(simple(T.STRING, "str"))
    )
    # singular union -> its underlying type
    assert is_castable(union(simple(T.STRING, "string")), simple(T.STRING, "string"))
    assert is_castable(union(simple(T.STRING)), simple(T.STRING))
    # a tagged upstream needs the same tag downstream
    assert not is_castable(union(simple(T.INTEGER, "int")), simple(T.INTEGER))
    # None into Optional
    optional_int = union(simple(T.INTEGER, "int"), simple(T.NONE, "none"))
    assert is_castable(simple(T.NONE), optional_int)
    assert is_castable(simple(T.INTEGER), optional_int)
    assert not is_castable(simple(T.STRING), optional_int)
    # literal-inferred union (single stored variant) into the declared Optional
    assert is_castable(union(simple(T.NONE, "none")), optional_int)
    assert is_castable(union(simple(T.NONE, "nope")), optional_int)  # NONE ignores tags
    assert not is_castable(union(simple(T.INTEGER, "nope")), optional_int)


def test_collection_rules() -> None:
    assert is_castable(coll(simple(T.INTEGER)), coll(simple(T.INTEGER)))
    assert is_castable(coll(simple(T.NONE)), coll(simple(T.INTEGER)))
    assert not is_castable(coll(simple(T.INTEGER)), coll(simple(T.FLOAT)))
    assert not is_castable(coll(simple(T.INTEGER)), simple(T.INTEGER))
    assert not is_castable(coll(simple(T.INTEGER)), coll(coll(simple(T.INTEGER))))
    assert not is_castable(simple(T.NONE), coll(simple(T.INTEGER)))
    # heterogeneous literal list into list[Union[int, str]]
    declared = coll(union(simple(T.INTEGER, "int"), simple(T.STRING, "str")))
    inferred = infer_literal_type(coll_lit(int_lit(1), str_lit("a")))
    assert is_castable(inferred, declared)


def test_map_rules() -> None:
    assert is_castable(mapt(simple(T.INTEGER)), mapt(simple(T.INTEGER)))
    assert not is_castable(mapt(simple(T.INTEGER)), mapt(simple(T.FLOAT)))
    assert is_castable(mapt(simple(T.NONE)), mapt(simple(T.FLOAT)))
    assert not is_castable(mapt(simple(T.INTEGER)), simple(T.INTEGER))
    assert not is_castable(mapt(simple(T.INTEGER)), mapt(mapt(simple(T.INTEGER))))


def test_blob_rules() -> None:
    assert is_castable(blob_t(), blob_t())
    assert is_castable(blob_t("csv"), blob_t())
    assert is_castable(blob_t(), blob_t("csv"))
    assert not is_castable(blob_t("csv"), blob_t("pdf"))
    assert not is_castable(simple(T.NONE), blob_t())
    # dimensionality is not checked by propeller
    assert is_castable(blob_t("", multipart=True), blob_t())


def test_schema_and_structured_dataset_rules() -> None:
    i, f = SchemaColumn.INTEGER, SchemaColumn.FLOAT
    assert is_castable(schema_t(), schema_t())
    assert is_castable(schema_t(), schema_t(a=i))
    assert is_castable(schema_t(a=i), schema_t())
    assert is_castable(schema_t(a=i, b=f), schema_t(a=i))
    assert not is_castable(schema_t(a=i), schema_t(a=i, b=f))
    assert not is_castable(schema_t(a=i), schema_t(a=f))
    assert not is_castable(simple(T.NONE), schema_t())
    assert is_castable(sd_t(), schema_t(a=i))
    assert is_castable(sd_t(a=simple(T.INTEGER), b=simple(T.FLOAT)), schema_t(a=i))
    assert not is_castable(sd_t("csv"), schema_t())

    col, m = coll(simple(T.INTEGER)), mapt(simple(T.INTEGER))
    assert is_castable(sd_t(), sd_t())
    assert is_castable(sd_t(), sd_t(a=simple(T.INTEGER), b=col))
    assert is_castable(sd_t(a=simple(T.INTEGER), b=col, c=m), sd_t(a=simple(T.INTEGER), b=col))
    assert not is_castable(sd_t(a=simple(T.INTEGER), b=col), sd_t(a=simple(T.INTEGER), b=col, c=m))
    assert is_castable(schema_t(a=i), sd_t(a=simple(T.INTEGER)))
    assert not is_castable(schema_t(a=i), sd_t(a=simple(T.FLOAT)))
    assert is_castable(sd_t("parquet"), sd_t())
    assert is_castable(sd_t(), sd_t("Parquet"))
    assert not is_castable(sd_t("csv"), sd_t("parquet"))
    assert is_castable(simple(T.NONE), sd_t())


def _struct(schema: dict[str, Any]) -> Any:
    t = simple(T.STRUCT)
    json_format.ParseDict(schema, t.metadata)
    return t


PARENT = {
    "type": "object",
    "title": "A",
    "required": ["a"],
    "properties": {"a": {"type": "integer"}},
    "AdditionalProperties": False,
}
CHILD = {
    "type": "object",
    "title": "B",
    "required": ["a", "b"],
    "properties": {
        "a": {"type": "integer"},
        "b": {"default": None, "anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "AdditionalProperties": False,
}


def test_struct_rules() -> None:
    assert is_castable(simple(T.STRUCT), simple(T.STRUCT))
    assert is_castable(_struct(PARENT), simple(T.STRUCT))
    assert is_castable(_struct(PARENT), _struct(PARENT))
    assert is_castable(_struct(CHILD), _struct(PARENT))
    assert not is_castable(_struct(PARENT), _struct(CHILD))
    other = {**PARENT, "properties": {"a": {"type": "string"}}}
    assert not is_castable(_struct(PARENT), _struct(other))
    assert not is_castable(simple(T.STRUCT), simple(T.BINARY))
    # nested dataclass via $ref/$defs
    inner_a = {"type": "object", "required": ["x"], "properties": {"x": {"type": "integer"}}}
    inner_b = {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}
    outer = {"type": "object", "required": ["i"], "properties": {"i": {"$ref": "#/$defs/I"}}}
    assert is_castable(
        _struct({**outer, "$defs": {"I": inner_a}}), _struct({**outer, "$defs": {"I": inner_a}})
    )
    assert not is_castable(
        _struct({**outer, "$defs": {"I": inner_a}}), _struct({**outer, "$defs": {"I": inner_b}})
    )


def test_struct_schema_from_struct_pb() -> None:
    s = struct_pb2.Struct()
    s.update(PARENT)
    t = T.LiteralType(simple=T.STRUCT, metadata=s)
    assert is_castable(t, _struct(PARENT))


# ------------------------------------------------------------------------------------------------ describe


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (simple(T.INTEGER), "int"),
        (simple(T.FLOAT), "float"),
        (simple(T.STRING), "str"),
        (simple(T.BOOLEAN), "bool"),
        (simple(T.DATETIME), "datetime"),
        (simple(T.DURATION), "timedelta"),
        (simple(T.NONE), "none"),
        (simple(T.STRUCT), "struct"),
        (coll(simple(T.STRING)), "list[str]"),
        (mapt(simple(T.FLOAT)), "dict[str, float]"),
        (union(simple(T.INTEGER, "int"), simple(T.NONE, "none")), "Optional[int]"),
        (union(simple(T.INTEGER), simple(T.STRING)), "Union[int, str]"),
        (enum_t("a", "b"), "enum{a,b}"),
        (blob_t(), "file"),
        (blob_t("csv"), "file[csv]"),
        (blob_t(multipart=True), "directory"),
        (blob_t("PythonPickle"), "pickle"),
        (sd_t("parquet"), "structured_dataset[parquet]"),
        (coll(mapt(coll(simple(T.INTEGER)))), "list[dict[str, list[int]]]"),
        (T.LiteralType(), "unknown"),
    ],
)
def test_describe_type(t: Any, text: str) -> None:
    assert describe_type(t) == text
