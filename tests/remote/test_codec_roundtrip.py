"""Round trips through to_literal / to_python for every supported type, with and without type hints."""

from __future__ import annotations

import dataclasses
import datetime
import enum
from typing import Annotated, Any

import pytest
from flyteidl.core import interface_pb2, literals_pb2, types_pb2

from airflow_provider_flyte.remote.codec import (
    FlyteDirectory,
    FlyteFile,
    StructuredDataset,
    literal_map_to_python,
    literal_type_for_python_type,
    to_literal,
    to_literal_map,
    to_python,
)
from airflow_provider_flyte.remote.errors import FlyteTypeError

UTC = datetime.UTC


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass
class Point:
    x: int
    y: float = 0.0


@dataclasses.dataclass
class Shape:
    name: str
    points: list[Point]
    mode: Mode
    created: datetime.datetime
    meta: dict[str, Point | None] = dataclasses.field(default_factory=dict)
    file: FlyteFile | None = None


ROUND_TRIPS: list[tuple[Any, Any]] = [
    (int, 7),
    (float, 0.1),
    (str, ""),
    (str, "ünïcode"),
    (bool, True),
    (datetime.datetime, datetime.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (datetime.timedelta, datetime.timedelta(hours=-3, microseconds=1)),
    (datetime.date, datetime.date(2000, 2, 29)),
    (type(None), None),
    (Mode, Mode.SLOW),
    (list[int], list(range(10))),
    (list[list[str]], [["a"], [], ["b", "c"]]),
    (dict[str, int], {"a": 1}),
    (dict[str, dict[str, float]], {"a": {"b": 1.0}, "c": {}}),
    (dict, {"nested": {"list": [1, 2.5, "x", None, True]}}),
    (Point, Point(1, 2.0)),
    (
        Shape,
        Shape(
            "tri",
            [Point(0), Point(1, 1.5)],
            Mode.FAST,
            datetime.datetime(2024, 1, 1),
            {"p": Point(3), "none": None},
            FlyteFile("s3://b/f"),
        ),
    ),
    (list[Point], [Point(i, i / 2) for i in range(3)]),
    (dict[str, Point], {"a": Point(1)}),
    (int | None, None),
    (int | None, 1),
    (str | int, "x"),
    (list[int] | None, [1]),
    (Point | int, Point(1)),
    (Point | int, 4),
    (Mode | None, Mode.FAST),
    (list[Mode], [Mode.FAST, Mode.SLOW]),
    (FlyteFile, FlyteFile("s3://bucket/key")),
    (FlyteDirectory, FlyteDirectory("abfs://c/d")),
    (StructuredDataset, StructuredDataset("gs://b/sd", "parquet")),
    (list[FlyteFile], [FlyteFile("s3://b/1"), FlyteFile("s3://b/2")]),
    (Annotated[int, "meta"], 5),
]


@pytest.mark.parametrize(("tp", "value"), ROUND_TRIPS, ids=[str(t) for t, _ in ROUND_TRIPS])
def test_round_trip(tp: Any, value: Any) -> None:
    lt = literal_type_for_python_type(tp)
    lit = to_literal(value, lt, tp)
    # survives the wire
    wire = literals_pb2.Literal.FromString(lit.SerializeToString())
    assert to_python(wire, lt, tp) == value


def test_decoding_without_hints_gives_plain_values() -> None:
    shape_lt = literal_type_for_python_type(Point)
    assert to_python(to_literal(Point(1, 2.5), shape_lt)) == {"x": 1, "y": 2.5}
    assert to_python(to_literal(Mode.FAST, literal_type_for_python_type(Mode))) == "fast"
    opt = literal_type_for_python_type(int | None)
    assert to_python(to_literal(3, opt)) == 3
    assert to_python(to_literal(None, opt)) is None
    naive = to_python(
        to_literal(datetime.datetime(2024, 1, 1), literal_type_for_python_type(datetime.datetime))
    )
    assert naive == datetime.datetime(2024, 1, 1, tzinfo=UTC)


def test_dataclass_encoding_without_hint_uses_the_schema_type() -> None:
    lt = literal_type_for_python_type(Point)
    with_hint = to_literal(Point(1, 2.0), lt, Point)
    without_hint = to_literal(Point(1, 2.0), lt)
    assert with_hint == without_hint
    assert to_python(without_hint, lt, Point) == Point(1, 2.0)
    # a dict is accepted for a dataclass-typed input (flytekit does the same)
    assert to_python(to_literal({"x": 1, "y": 2.0}, lt), lt, Point) == Point(1, 2.0)


def test_int_accepted_for_float_and_coerced_back() -> None:
    lt = literal_type_for_python_type(float)
    lit = to_literal(3, lt)
    assert lit.scalar.primitive.WhichOneof("value") == "float_value"
    assert to_python(lit, lt, float) == 3.0
    lits = to_literal([1, 2.5], literal_type_for_python_type(list[float]))
    assert [x.scalar.primitive.float_value for x in lits.collection.literals] == [1.0, 2.5]
    mixed_map = to_literal({"a": 1, "b": 2.5}, literal_type_for_python_type(dict[str, float]))
    assert to_python(mixed_map) == {"a": 1.0, "b": 2.5}


def test_dataclass_int_field_from_generic_float() -> None:
    lit = literals_pb2.Literal()
    lit.scalar.generic.update({"x": 3, "y": 1.5})  # Struct turns 3 into 3.0
    assert to_python(lit, None, Point) == Point(3, 1.5)
    assert isinstance(to_python(lit, None, Point).x, int)


def test_literal_passthrough_everywhere() -> None:
    inner = to_literal(5, literal_type_for_python_type(int))
    assert to_literal(inner, literal_type_for_python_type(str)) is inner
    lt = literal_type_for_python_type(list[int])
    lit = to_literal([1, inner, 3], lt)
    assert to_python(lit) == [1, 5, 3]
    lm = to_literal_map({"a": inner}, {"a": literal_type_for_python_type(str)})
    assert lm.literals["a"] == inner


def test_literal_type_optional_derivation() -> None:
    assert to_literal(3) == to_literal(3, literal_type_for_python_type(int))
    assert to_literal([1], python_type=list[int]) == to_literal([1], literal_type_for_python_type(list[int]))


def test_variables_parameters_and_literal_types_accepted() -> None:
    int_t = literal_type_for_python_type(int)
    variables = {
        "a": interface_pb2.Variable(type=int_t),
        "b": interface_pb2.Parameter(var=interface_pb2.Variable(type=literal_type_for_python_type(str))),
        "c": literal_type_for_python_type(list[float]),
    }
    lm = to_literal_map({"a": 1, "b": "x", "c": [0.5]}, variables)
    assert set(lm.literals) == {"a", "b", "c"}
    back = literal_map_to_python(lm, variables)
    assert back == {"a": 1, "b": "x", "c": [0.5]}


def test_missing_inputs_are_not_an_error() -> None:
    variables = {"a": literal_type_for_python_type(int), "b": literal_type_for_python_type(int)}
    lm = to_literal_map({"a": 1}, variables)
    assert list(lm.literals) == ["a"]


def test_literal_map_to_python_with_hints() -> None:
    lt = literal_type_for_python_type(Point)
    lm = to_literal_map({"p": Point(1), "m": Mode.SLOW}, {"p": lt, "m": literal_type_for_python_type(Mode)})
    assert literal_map_to_python(lm, type_hints={"p": Point, "m": Mode}) == {"p": Point(1), "m": Mode.SLOW}
    assert literal_map_to_python(lm) == {"p": {"x": 1, "y": 0.0}, "m": "slow"}


def test_union_decoding_uses_stored_tag() -> None:
    tp = int | str
    lt = literal_type_for_python_type(tp)
    lit = to_literal("5", lt, tp)
    assert lit.scalar.union.type.structure.tag == "str"
    assert to_python(lit, lt, tp) == "5"
    # two list variants: the stored type decides
    tp2 = list[int] | list[str]
    lt2 = literal_type_for_python_type(tp2)
    lit2 = to_literal(["a"], lt2, tp2)
    assert to_python(lit2, lt2, tp2) == ["a"]


def test_str_preferred_over_enum_in_union() -> None:
    tp = Mode | str
    lt = literal_type_for_python_type(tp)
    lit = to_literal("fast", lt, tp)
    assert lit.scalar.union.type.structure.tag == "str"
    lit_enum = to_literal(Mode.FAST, lt, tp)
    assert lit_enum.scalar.union.type.structure.tag == "DefaultEnumTransformer"
    assert to_python(lit_enum, lt, tp) is Mode.FAST


def test_heterogeneous_collection_from_literals_decodes() -> None:
    lit = literals_pb2.Literal()
    lits = lit.collection.literals
    lits.add().scalar.primitive.integer = 1
    lits.add().scalar.primitive.string_value = "a"
    lits.add().scalar.none_type.SetInParent()
    assert to_python(lit) == [1, "a", None]


def test_decode_hint_mismatch_is_reported() -> None:
    lit = to_literal("abc", literal_type_for_python_type(str))
    with pytest.raises(FlyteTypeError, match="cannot convert a string_value literal"):
        to_python(lit, None, int)
    with pytest.raises(FlyteTypeError, match="'nope' is not a value of Mode"):
        to_python(to_literal("nope", literal_type_for_python_type(str)), None, Mode)
    lm = to_literal_map({"xs": [1, 2]}, {"xs": literal_type_for_python_type(list[int])})
    with pytest.raises(
        FlyteTypeError, match=r"'xs': cannot convert a collection literal to dict\[str, int\]"
    ):
        literal_map_to_python(lm, type_hints={"xs": dict[str, int]})


def test_none_for_non_optional_hint_is_an_error() -> None:
    lit = to_literal(None, literal_type_for_python_type(type(None)))
    with pytest.raises(FlyteTypeError, match="None"):
        to_python(lit, None, int)


def test_empty_collections_and_maps_are_present() -> None:
    lit = to_literal([], literal_type_for_python_type(list[int]))
    assert lit.WhichOneof("value") == "collection"
    lit = to_literal({}, literal_type_for_python_type(dict[str, int]))
    assert lit.WhichOneof("value") == "map"
    assert to_python(lit) == {}


def test_binary_and_schema_types() -> None:
    lt = types_pb2.LiteralType(simple=types_pb2.BINARY)
    lit = to_literal(b"\x00\x01", lt)
    assert to_python(lit) == b"\x00\x01"
    schema_lt = types_pb2.LiteralType(schema=types_pb2.SchemaType())
    assert to_python(to_literal("s3://b/schema", schema_lt)) == "s3://b/schema"


def test_large_list_of_dataclasses_round_trip() -> None:
    value = [Point(i, i * 0.5) for i in range(1000)]
    lt = literal_type_for_python_type(list[Point])
    lit = to_literal(value, lt, list[Point])
    assert to_python(lit, lt, list[Point]) == value


def test_literal_type_guides_decoding_of_primitives() -> None:
    int_lit = to_literal(3, literal_type_for_python_type(int))
    assert to_python(int_lit, literal_type_for_python_type(float)) == 3.0
    assert isinstance(to_python(int_lit, literal_type_for_python_type(float)), float)
    ints = to_literal([1, 2], literal_type_for_python_type(list[int]))
    assert to_python(ints, literal_type_for_python_type(list[float])) == [1.0, 2.0]
    with pytest.raises(FlyteTypeError, match="cannot convert a string_value literal"):
        to_python(to_literal("x", literal_type_for_python_type(str)), literal_type_for_python_type(int))
    lm = to_literal_map({"n": 2}, {"n": literal_type_for_python_type(int)})
    assert literal_map_to_python(lm, {"n": literal_type_for_python_type(float)}) == {"n": 2.0}


def test_big_payloads_round_trip() -> None:
    """The benchmark's payloads convert correctly (their speed is measured in benchmarks/bench_codec.py)."""
    lt = literal_type_for_python_type(list[int])
    value = list(range(100_000))
    lit = to_literal(value, lt)
    assert (
        len(lit.collection.literals) == 100_000
        and lit.collection.literals[-1].scalar.primitive.integer == 99_999
    )
    assert to_python(lit, lt) == value
    floats = {f"k{i}": i * 0.5 for i in range(10_000)}
    map_lt = literal_type_for_python_type(dict[str, float])
    assert to_python(to_literal(floats, map_lt), map_lt) == floats


# ------------------------------------------------------------------------------------------------ fast paths
# Homogeneous lists and maps are read and written in bulk loops; a literal or value that does not fit the bulk
# loop must give the same result as converting element by element.


def _collection(*setters: Any) -> Any:
    lit = literals_pb2.Literal()
    lits = lit.collection.literals
    for setter in setters:
        setter(lits.add())
    return lit


def _int(v: int) -> Any:
    return lambda x: setattr(x.scalar.primitive, "integer", v)


def _float(v: float) -> Any:
    return lambda x: setattr(x.scalar.primitive, "float_value", v)


def _str(v: str) -> Any:
    return lambda x: setattr(x.scalar.primitive, "string_value", v)


def _bool(v: bool) -> Any:
    return lambda x: setattr(x.scalar.primitive, "boolean", v)


def _none() -> Any:
    return lambda x: x.scalar.none_type.SetInParent()


@pytest.mark.parametrize(
    ("setters", "expected"),
    [
        # another kind of literal reads as the field's default (0, 0.0, "", False) in the bulk loop
        ((_int(0), _float(2.5)), [0, 2.5]),
        ((_int(7), _str("x"), _int(0)), [7, "x", 0]),
        ((_float(1.5), _int(3)), [1.5, 3]),
        ((_float(0.0), _float(-0.0), _none()), [0.0, -0.0, None]),
        ((_str("a"), _none()), ["a", None]),
        ((_str(""), _int(0)), ["", 0]),
        ((_bool(True), _int(0)), [True, 0]),
        # real defaults stay what they are
        ((_int(0), _int(0), _int(5)), [0, 0, 5]),
        ((_str(""), _str("b")), ["", "b"]),
        ((_bool(False), _bool(True)), [False, True]),
    ],
)
def test_bulk_list_reading_notices_other_literal_kinds(setters: tuple[Any, ...], expected: list[Any]) -> None:
    lit = _collection(*setters)
    assert to_python(lit) == expected
    assert [type(v) for v in to_python(lit)] == [type(v) for v in expected]


def test_bulk_map_reading_notices_other_literal_kinds() -> None:
    lit = literals_pb2.Literal()
    lits = lit.map.literals
    lits["a"].scalar.primitive.float_value = 1.5
    lits["b"].scalar.primitive.string_value = "x"
    lits["c"].scalar.primitive.float_value = 0.0
    assert to_python(lit) == {"a": 1.5, "b": "x", "c": 0.0}
    with pytest.raises(FlyteTypeError, match=r"\['b'\]"):
        to_python(lit, None, dict[str, float])
    del lits["b"]
    assert to_python(lit, None, dict[str, float]) == {"a": 1.5, "c": 0.0}


def test_int_list_with_a_string_is_reported_at_its_index() -> None:
    lit = _collection(_int(1), _int(0), _str("x"))
    with pytest.raises(FlyteTypeError, match=r"at \[2\]: cannot convert a string_value literal"):
        to_python(lit, None, list[int])


@dataclasses.dataclass
class PointWithNote(Point):
    note: str = ""


def test_dataclass_list_writer_matches_the_element_writer() -> None:
    """Exact-class elements take the bulk path; subclasses, dicts and Literals the element writer: the bytes are
    those of converting each element alone."""
    lt = literal_type_for_python_type(list[Point])
    ready = to_literal(Point(9, 9.5), lt.collection_type, Point)
    value = [Point(1, 2.0), PointWithNote(3, 4.0, "n"), {"x": 5, "y": 6.0}, ready, Point(7)]
    lit = to_literal(value, lt, list[Point])
    one_by_one = [to_literal(v, lt.collection_type, Point) for v in value]
    assert [x.SerializeToString() for x in lit.collection.literals] == [x.SerializeToString() for x in one_by_one]
    assert to_python(lit, lt, list[Point])[0] == Point(1, 2.0)


def test_dataclass_list_writer_names_the_failing_element() -> None:
    lt = literal_type_for_python_type(list[Point])
    with pytest.raises(FlyteTypeError, match=r"at \[1\].*msgpack"):
        to_literal([Point(1, 2.0), Point(object(), 1.0)], lt, list[Point])  # type: ignore[arg-type]


def test_dataclass_list_reading_checks_every_tag_and_coerces_fields() -> None:
    import msgpack

    lt = literal_type_for_python_type(list[Point])
    lit = to_literal([Point(1, 2.0)], lt, list[Point])
    lits = lit.collection.literals
    coerced = lits.add().scalar.binary
    coerced.value, coerced.tag = msgpack.packb({"x": 2, "y": 3, "extra": True}), "msgpack"
    decoded = to_python(lit, lt, list[Point])
    assert decoded == [Point(1, 2.0), Point(2, 3.0)]
    assert type(decoded[1].y) is float
    # a binary that is not tagged msgpack is not unpacked, even though its bytes would be valid msgpack
    other = lits.add().scalar.binary
    other.value = msgpack.packb({"x": 3, "y": 4.0})
    assert to_python(lit, lt, list[Point])[2] == msgpack.packb({"x": 3, "y": 4.0})
