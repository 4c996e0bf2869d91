"""Wrong values fail before anything is sent, with messages naming input, expected type and value."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import pytest
from flyteidl.core import interface_pb2, types_pb2

from airflow_provider_flyte.remote.codec import (
    CodecContext,
    FlyteFile,
    literal_type_for_python_type,
    to_literal,
    to_literal_map,
)
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError, FlyteTypeError


class Mode(enum.Enum):
    A = "a"
    B = "b"


@dataclasses.dataclass
class P:
    x: int


def lt(tp: Any) -> Any:
    return literal_type_for_python_type(tp)


def _message(values: dict[str, Any], variables: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(FlyteTypeError) as info:
        to_literal_map(values, variables, **kw)
    return str(info.value)


def test_message_names_input_type_and_value() -> None:
    text = _message({"count": "abc"}, {"count": interface_pb2.Variable(type=lt(int))})
    assert text == "Input 'count': expected int, got 'abc' (str)"


def test_nested_path_in_message() -> None:
    assert (
        _message({"xs": [1, "a"]}, {"xs": lt(list[int])}) == "Input 'xs' at [1]: expected int, got 'a' (str)"
    )
    text = _message({"m": {"k": [1.5, None]}}, {"m": lt(dict[str, list[float]])})
    assert text == "Input 'm' at ['k'][1]: expected float, got None (NoneType)"


def test_flyte_type_error_is_a_type_error_and_invalid_input() -> None:
    with pytest.raises(TypeError):
        to_literal("x", lt(int))
    with pytest.raises(FlyteInvalidInputError):
        to_literal("x", lt(int))


@pytest.mark.parametrize(
    ("tp", "value", "fragment"),
    [
        (int, True, "expected int, got True (bool)"),
        (int, 1.0, "expected int, got 1.0 (float)"),
        (int, 2**64, "out of the int64 range"),
        (float, True, "expected float, got True (bool)"),
        (float, "1.0", "expected float"),
        (str, 1, "expected str, got 1 (int)"),
        (bool, 1, "expected bool, got 1 (int)"),
        (list[int], (x for x in ()), "expected list[int]"),
        (list[int], "abc", "expected list[int], got 'abc' (str)"),
        (dict[str, int], [("a", 1)], "expected dict[str, int]"),
        (dict[str, int], {1: 1}, "map keys must be strings, got key 1 (int)"),
        (Mode, "c", "not one of the enum values ['a', 'b']"),
        (Mode, 1, "expected enum{a,b}, got 1 (int)"),
        (
            int | None,
            "x",
            "expected Optional[int], got 'x' (str): no variant of the union accepts this value",
        ),
        (P, 3, "expected struct, got 3 (int)"),
        (type(None), 0, "expected none, got 0 (int)"),
        (FlyteFile, 3, "expected file, got 3 (int)"),
        (dict, {"a": object()}, "cannot be serialized with msgpack"),
    ],
)
def test_rejections(tp: Any, value: Any, fragment: str) -> None:
    with pytest.raises(FlyteTypeError) as info:
        to_literal(value, lt(tp), tp)
    assert fragment in str(info.value)


def test_int_float_union_needs_exact_types() -> None:
    tp = int | float
    lit = to_literal(1, lt(tp), tp)
    assert lit.scalar.union.type.structure.tag == "int"
    lit = to_literal(1.0, lt(tp), tp)
    assert lit.scalar.union.type.structure.tag == "float"


def test_ambiguous_union() -> None:
    tp = dict[str, int] | dict[str, float]
    with pytest.raises(FlyteTypeError, match="ambiguous: the value fits several variants"):
        to_literal({}, lt(tp), tp)


def test_long_values_are_truncated() -> None:
    with pytest.raises(FlyteTypeError) as info:
        to_literal("x" * 1000, lt(int))
    text = str(info.value)
    assert len(text) < 200 and text.endswith("... (str)")


def test_unknown_input_names_list_valid_ones() -> None:
    with pytest.raises(FlyteInvalidInputError) as info:
        to_literal_map({"a": 1, "zz": 2}, {"a": lt(int), "b": lt(int)})
    assert not isinstance(info.value, FlyteTypeError)
    assert str(info.value) == "unknown input name(s) 'zz'; valid inputs are: a, b"


def test_empty_declared_type() -> None:
    with pytest.raises(FlyteTypeError, match="empty or unknown"):
        to_literal(1, types_pb2.LiteralType())


def test_bad_literal_type_argument() -> None:
    with pytest.raises(
        FlyteInvalidInputError, match="expected a flyteidl LiteralType, Variable or Parameter"
    ):
        to_literal(1, "int")


def test_local_paths_need_upload(tmp_path: Any) -> None:
    f = tmp_path / "data.txt"
    f.write_text("x")
    with pytest.raises(FlyteTypeError, match="cannot be sent without an upload function"):
        to_literal_map({"f": FlyteFile(f)}, {"f": lt(FlyteFile)})
    with pytest.raises(FlyteTypeError, match="does not exist"):
        to_literal(str(tmp_path / "missing.txt"), lt(FlyteFile), ctx=CodecContext(upload=lambda p: "s3://x"))
    # inside a union the error is not swallowed as "no variant"
    with pytest.raises(FlyteTypeError, match="cannot be sent without an upload function"):
        to_literal(FlyteFile(f), lt(FlyteFile | None), FlyteFile | None)
