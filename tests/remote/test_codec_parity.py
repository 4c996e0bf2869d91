"""Parity with flytekit's TypeEngine (an independent reference): same LiteralTypes, same literals, and each side
decodes the other's literals to the same values."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import typing
from typing import Any

import pytest

from airflow_provider_flyte.remote.codec import (
    FlyteDirectory,
    FlyteFile,
    StructuredDataset,
    literal_type_for_python_type,
    to_literal,
    to_python,
)

tk = pytest.importorskip("flytekit.core.type_engine")
pytestmark = pytest.mark.flytekit

from flytekit.core.context_manager import FlyteContextManager  # noqa: E402
from flytekit.types.directory import FlyteDirectory as FkDirectory  # noqa: E402
from flytekit.types.file import FlyteFile as FkFile  # noqa: E402
from flytekit.types.structured import StructuredDataset as FkDataset  # noqa: E402

TypeEngine = tk.TypeEngine
CTX = FlyteContextManager.current_context()


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Small:
    a: int
    b: str
    c: float


@dataclasses.dataclass
class Inner:
    q: int = 0
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Rich:
    i: int
    f: float
    s: str
    b: bool
    o: int | None
    li: list[int]
    m: dict[str, float]
    inner: Inner
    when: datetime.datetime
    took: datetime.timedelta
    color: Color
    many: list[Inner] = dataclasses.field(default_factory=list)
    maybe: Inner | None = None
    u: int | str = 3
    day: datetime.date = datetime.date(2020, 1, 2)
    loose: dict = dataclasses.field(default_factory=dict)  # type: ignore[type-arg]


RICH = Rich(
    i=1,
    f=2.5,
    s="x",
    b=True,
    o=None,
    li=[1, 2],
    m={"a": 1.5},
    inner=Inner(2, ["t"]),
    when=datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
    took=datetime.timedelta(seconds=1.5),
    color=Color.GREEN,
    many=[Inner(1), Inner(2, ["a", "b"])],
    maybe=Inner(7),
    u="str-variant",
    loose={"k": [1, {"z": None}], "n": 2.0},
)

UTC = datetime.UTC

# (type, value, value as decoded back — None means same as value)
CASES: list[tuple[Any, Any, Any]] = [
    (int, 42, None),
    (int, -(2**63), None),
    (float, 1.25, None),
    (str, "hello", None),
    (bool, False, None),
    (datetime.datetime, datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), None),
    (datetime.timedelta, datetime.timedelta(days=1, microseconds=5), None),
    (datetime.date, datetime.date(2024, 5, 6), None),
    (type(None), None, None),
    (Color, Color.RED, None),
    (list[int], [1, 2, 3], None),
    (list[int], [], None),
    (list[str], ["a", "b"], None),
    (list[float], [1.5, 2.5], None),
    (list[bool], [True, False], None),
    (list[list[int]], [[1], [2, 3], []], None),
    (list[dict[str, int]], [{"a": 1}, {}], None),
    (dict[str, float], {"a": 1.0, "b": -2.5}, None),
    (dict[str, list[int]], {"a": [1], "b": []}, None),
    (dict[str, int | None], {"a": 1, "b": None}, None),
    (dict, {"a": 1, "b": [1, 2], "c": {"d": "e"}, "f": None, "g": 1.5}, None),
    (dict[int, str], {1: "a", 2: "b"}, None),
    (Small, Small(1, "x", 2.5), None),
    (Rich, RICH, None),
    (list[Small], [Small(i, str(i), i * 0.5) for i in range(5)], None),
    (int | None, 3, None),
    (int | None, None, None),
    (int | str, "s", None),
    (int | str, 5, None),
    (list[int] | str, [1, 2], None),
    (Small | None, Small(1, "a", 1.0), None),
    (Small | None, None, None),
    (list[int | None], [1, None, 3], None),
    (Color | None, Color.GREEN, None),
]


def _ids(case: tuple[Any, Any, Any]) -> str:
    return f"{case[0]}={case[1]!r}"[:60]


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_literal_type_parity(case: tuple[Any, Any, Any]) -> None:
    tp = case[0]
    assert literal_type_for_python_type(tp) == TypeEngine.to_literal_type(tp).to_flyte_idl()


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_literal_parity_and_cross_decoding(case: tuple[Any, Any, Any]) -> None:
    tp, value, expected = case
    expected = value if expected is None else expected
    lt = literal_type_for_python_type(tp)
    fk_lt = TypeEngine.to_literal_type(tp)
    ours = to_literal(value, lt, tp)
    theirs = TypeEngine.to_literal(CTX, value, tp, fk_lt)
    assert ours.SerializeToString(deterministic=True) == theirs.to_flyte_idl().SerializeToString(
        deterministic=True
    )
    # each side decodes the other's literal
    assert to_python(theirs.to_flyte_idl(), lt, tp) == expected
    from flytekit.models.literals import Literal as FkLiteral

    assert TypeEngine.to_python_value(CTX, FkLiteral.from_flyte_idl(ours), tp) == expected


def test_naive_datetime_is_utc_like_flytekit() -> None:
    naive = datetime.datetime(2024, 1, 1, 12, 0)
    ours = to_literal(naive, literal_type_for_python_type(datetime.datetime))
    theirs = TypeEngine.to_literal(
        CTX, naive, datetime.datetime, TypeEngine.to_literal_type(datetime.datetime)
    )
    assert ours == theirs.to_flyte_idl()
    assert to_python(ours) == naive.replace(tzinfo=UTC)


def test_aware_and_pendulum_datetimes_convert_to_utc() -> None:
    import pendulum

    berlin = pendulum.datetime(2024, 6, 1, 14, 0, tz="Europe/Berlin")
    lit = to_literal(berlin, literal_type_for_python_type(datetime.datetime))
    assert to_python(lit) == datetime.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    # flytekit refuses pendulum's subclass; compare with the equivalent stdlib aware datetime
    plain = datetime.datetime(2024, 6, 1, 14, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    theirs = TypeEngine.to_literal(
        CTX, plain, datetime.datetime, TypeEngine.to_literal_type(datetime.datetime)
    )
    assert lit == theirs.to_flyte_idl()


def test_file_directory_dataset_parity() -> None:
    pairs: list[tuple[Any, Any, Any, Any]] = [
        (FlyteFile, FlyteFile("s3://bucket/a.txt"), FkFile, FkFile("s3://bucket/a.txt")),
        (FlyteFile["csv"], FlyteFile["csv"]("s3://bucket/a.csv"), FkFile["csv"], FkFile("s3://bucket/a.csv")),
        (FlyteDirectory, FlyteDirectory("gs://bucket/dir"), FkDirectory, FkDirectory("gs://bucket/dir")),
        (
            StructuredDataset,
            StructuredDataset("s3://bucket/sd", "parquet"),
            FkDataset,
            FkDataset(uri="s3://bucket/sd", file_format="parquet"),
        ),
    ]
    for our_tp, our_value, fk_tp, fk_value in pairs:
        lt = literal_type_for_python_type(our_tp)
        fk_lt = TypeEngine.to_literal_type(fk_tp)
        assert lt == fk_lt.to_flyte_idl()
        # our type hints and flytekit's type hints give the same declared type
        assert literal_type_for_python_type(fk_tp) == lt
        ours = to_literal(our_value, lt, our_tp)
        theirs = TypeEngine.to_literal(CTX, fk_value, fk_tp, fk_lt).to_flyte_idl()
        assert ours == theirs
        # flytekit instances are accepted by duck typing
        assert to_literal(fk_value, lt) == theirs
        assert to_python(theirs, lt, our_tp) == our_value


def test_union_with_file_variant_parity() -> None:
    tp = int | FlyteFile
    fk_tp = int | FkFile
    lt = literal_type_for_python_type(tp)
    assert lt == TypeEngine.to_literal_type(fk_tp).to_flyte_idl()
    ours = to_literal(FlyteFile("s3://x/y"), lt, tp)
    theirs = TypeEngine.to_literal(CTX, FkFile("s3://x/y"), fk_tp, TypeEngine.to_literal_type(fk_tp))
    assert ours == theirs.to_flyte_idl()
    assert to_python(ours, lt, tp) == FlyteFile("s3://x/y")


def test_flytekit_ambiguous_union_is_ambiguous_for_us_too() -> None:
    from airflow_provider_flyte.remote.errors import FlyteTypeError

    tp = typing.Union[list[int], list[float]]  # noqa: UP007
    lt = literal_type_for_python_type(tp)
    with pytest.raises(TypeError):
        TypeEngine.to_literal(CTX, [], tp, TypeEngine.to_literal_type(tp))
    with pytest.raises(FlyteTypeError, match="ambiguous"):
        to_literal([], lt, tp)


def test_generic_struct_literals_decode() -> None:
    """Older flytekit sent dataclasses/dicts as scalar.generic Structs; they still decode."""
    import os

    os.environ["FLYTE_USE_OLD_DC_FORMAT"] = "true"
    try:
        lit = TypeEngine.to_literal(
            CTX, Small(3, "z", 1.0), Small, TypeEngine.to_literal_type(Small)
        ).to_flyte_idl()
        dlit = TypeEngine.to_literal(CTX, {"a": 1}, dict, TypeEngine.to_literal_type(dict)).to_flyte_idl()
    finally:
        del os.environ["FLYTE_USE_OLD_DC_FORMAT"]
    assert lit.scalar.WhichOneof("value") == "generic"
    assert to_python(lit, None, Small) == Small(3, "z", 1.0)
    assert to_python(dlit) == {"a": 1.0}
