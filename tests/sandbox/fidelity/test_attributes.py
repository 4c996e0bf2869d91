"""Item 3: attribute paths on promises (``batch.items``, ``settings.nested.items``, ``batch.tags["n"]``), resolved
by the engine as propeller's attr_path_resolver does: a list inside a msgpack (dataclass / Pydantic) value becomes
a LiteralCollection of msgpack values, which an array node maps over; a primitive becomes a primitive literal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.fidelity.helpers import SUCCEEDED, run

pytestmark = pytest.mark.flytekit


def test_map_task_over_a_dataclass_attribute(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "attributes.map_over_dataclass_wf", n=3)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == [10, 20, 30]
    array = execution.node_executions["n1"]
    assert array.metadata.is_array
    resources = array.task_executions[0].closure.metadata.external_resources
    assert [(r.index, r.phase) for r in resources] == [(0, 3), (1, 3), (2, 3)]


def test_map_task_over_pydantic_attributes(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "attributes.map_over_pydantic_wf", n=4)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == [40, 50]
    assert execution.outputs["o1"] == [70, 80, 90]


def test_scalar_attributes_of_a_dataclass(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "attributes.scalar_attributes_wf", n=2)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == "batch-2:10:2:1"
    inputs = execution.node_executions["n1"].inputs
    assert (inputs["name"], inputs["scale"], inputs["tag"], inputs["first"]) == ("batch-2", 10, 2, 1)


# ----------------------------------------------------------------------------------------------- the resolver alone


def _path(*attrs: str | int) -> list[Any]:
    from flyteidl.core import types_pb2

    return [
        types_pb2.PromiseAttribute(int_value=a)
        if isinstance(a, int)
        else types_pb2.PromiseAttribute(string_value=a)
        for a in attrs
    ]


def test_resolver_follows_propeller_for_structs_maps_and_errors() -> None:
    import msgpack
    from flyteidl.core import literals_pb2

    from airflow_provider_flyte.sandbox.engine.bindings import BindingError, resolve_attr_path

    generic = literals_pb2.Literal()
    generic.scalar.generic.update({"a": {"b": [1, 2]}, "s": "x"})
    got = resolve_attr_path(generic, _path("a", "b"), "n0")
    # a protobuf Struct holds numbers as doubles: the collection holds floats
    assert [item.scalar.primitive.float_value for item in got.collection.literals] == [1.0, 2.0]
    assert resolve_attr_path(generic, _path("a"), "n0").scalar.generic["b"] == [1, 2]

    packed = literals_pb2.Literal()
    packed.scalar.binary.value = msgpack.packb({"m": {"k": [True]}, "n": None})
    packed.scalar.binary.tag = "msgpack"
    mapping = literals_pb2.Literal()
    mapping.map.literals["d"].CopyFrom(packed)
    inner = resolve_attr_path(mapping, _path("d", "m"), "n0")
    assert msgpack.unpackb(inner.scalar.binary.value) == {"k": [True]}  # a map stays msgpack
    (flag,) = resolve_attr_path(mapping, _path("d", "m", "k"), "n0").collection.literals
    assert msgpack.unpackb(flag.scalar.binary.value) is True
    assert resolve_attr_path(mapping, _path("d", "m", "k", 0), "n0").scalar.primitive.boolean is True
    assert msgpack.unpackb(resolve_attr_path(mapping, _path("d", "n"), "n0").scalar.binary.value) is None

    with pytest.raises(BindingError, match=r"failed at Node\[n0\]\. PromiseAttributeResolveError: key \[z\]"):
        resolve_attr_path(mapping, _path("d", "z"), "n0")
    with pytest.raises(BindingError, match=r"index \[3\] is out of range"):
        resolve_attr_path(mapping, _path("d", "m", "k", 3), "n0")
    with pytest.raises(BindingError, match=r"unexpected attribute type"):
        resolve_attr_path(mapping, _path("d", 0), "n0")
