"""Engine: task nodes with the in-process runner, bindings, events and stored data."""

from __future__ import annotations

from pathlib import Path

import msgpack
from flyteidl.core import literals_pb2, types_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import (
    binding_from_collection,
    binding_from_map,
    binding_from_promise,
)
from tests.sandbox.test_engine_support import INT, STR, Harness, lit, lmap, py, task, wf_id

ADD = task("add", "add", {"a": INT, "b": INT}, {"o0": INT})
SQUARE = task("square", "square", {"x": INT}, {"o0": INT})
ECHO_LIST = task(
    "echo_list",
    "echo",
    {"x": types_pb2.LiteralType(collection_type=INT)},
    {"o0": types_pb2.LiteralType(collection_type=INT)},
)


def two_outputs(x: int) -> tuple[int, str]:
    return x + 1, f"v{x}"


def as_dict(x: int) -> dict[str, object]:
    return {"n": x, "s": str(x)}


def nested(x: int) -> dict[str, list[int]]:
    return {"k": [x, x * 10]}


async def test_single_task_succeeds_with_events_and_files(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("wf"),
        specs.interface({"a": INT, "b": INT}, {"out": INT}),
        [
            specs.task_node(
                "n0", ADD.id, {"a": binding_from_promise("", "a"), "b": binding_from_promise("", "b")}
            )
        ],
        {"out": binding_from_promise("n0", "o0")},
    )
    final, job = await h.execute(wf, [ADD], lmap(a=2, b=40))
    name = job.execution_id.name
    assert h.wf_phases(name) == ["RUNNING", "SUCCEEDING", "SUCCEEDED"]
    assert h.outputs(final) == {"out": 42}
    assert final.output_uri.startswith(job.metadata_prefix)
    assert h.node_phases(name, "start-node") == ["QUEUED", "SUCCEEDED"]
    assert h.node_phases(name, "n0") == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert h.node_phases(name, "end-node") == ["QUEUED", "SUCCEEDED"]
    assert h.task_phases(name, "n0") == [(0, "QUEUED"), (0, "RUNNING"), (0, "SUCCEEDED")]
    start_out = h.nodes(name, "start-node")[-1].output_uri
    assert {k: py(v) for k, v in h.blobs.read_proto(start_out, literals_pb2.LiteralMap).literals.items()} == {
        "a": 2,
        "b": 40,
    }
    n0 = h.nodes(name, "n0")
    assert all(e.input_uri == n0[0].input_uri for e in n0)
    assert n0[0].input_uri == f"{job.metadata_prefix}/n0/inputs.pb"
    assert n0[-1].output_uri == f"{job.metadata_prefix}/n0/0/outputs.pb"
    assert n0[-1].spec_node_id == "n0" and n0[-1].event_version == 1
    assert n0[-1].target_entity.name == "add"
    assert n0[-1].HasField("task_node_metadata")
    assert not n0[-1].HasField("parent_node_metadata")
    inputs = h.blobs.read_proto(n0[0].input_uri, literals_pb2.LiteralMap)
    assert py(inputs.literals["a"]) == 2
    t = h.tasks(name, "n0")[-1]
    assert t.task_id.name == "add" and t.task_type == "sandbox-python"
    assert t.input_uri == n0[0].input_uri and t.output_uri == n0[-1].output_uri
    assert t.metadata.generated_name
    assert t.occurred_at.seconds > 0


async def test_chained_promises_collections_maps_and_static_literals(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("chain"),
        specs.interface(
            {"x": INT}, {"sq": INT, "lst": types_pb2.LiteralType(collection_type=INT), "sum": INT}
        ),
        [
            specs.task_node("n0", SQUARE.id, {"x": binding_from_promise("", "x")}),
            specs.task_node("n1", ADD.id, {"a": binding_from_promise("n0", "o0"), "b": lit(1)}),
            specs.task_node(
                "n2",
                ECHO_LIST.id,
                {
                    "x": binding_from_collection(
                        [
                            binding_from_promise("n0", "o0"),
                            binding_from_promise("n1", "o0"),
                            specs.binding_from_literal(lit(7)),
                        ]
                    )
                },
            ),
        ],
        {
            "sq": binding_from_promise("n0", "o0"),
            "lst": binding_from_promise("n2", "o0"),
            "sum": binding_from_promise("n1", "o0"),
        },
    )
    final, _ = await h.execute(wf, [SQUARE, ADD, ECHO_LIST], lmap(x=3))
    assert h.outputs(final) == {"sq": 9, "lst": [9, 10, 7], "sum": 10}


async def test_multiple_outputs_tuple_dict_and_attribute_paths(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    mod = "tests.sandbox.test_engine_basic"
    two = task("two", f"{mod}:two_outputs", {"x": INT}, {"o0": INT, "o1": STR})
    dct = task("dct", f"{mod}:as_dict", {"x": INT}, {"n": INT, "s": STR})
    nst = task(
        "nst",
        f"{mod}:nested",
        {"x": INT},
        {"o0": types_pb2.LiteralType(map_value_type=types_pb2.LiteralType(collection_type=INT))},
    )
    wf = specs.workflow_template(
        wf_id("multi"),
        specs.interface(
            {"x": INT},
            {"a": INT, "b": STR, "n": INT, "deep": INT, "m": types_pb2.LiteralType(map_value_type=INT)},
        ),
        [
            specs.task_node("n0", two.id, {"x": binding_from_promise("", "x")}),
            specs.task_node("n1", dct.id, {"x": binding_from_promise("n0", "o0")}),
            specs.task_node("n2", nst.id, {"x": binding_from_promise("n1", "n")}),
        ],
        {
            "a": binding_from_promise("n0", "o0"),
            "b": binding_from_promise("n0", "o1"),
            "n": binding_from_promise("n1", "n"),
            "deep": binding_from_promise("n2", "o0", ["k", 1]),
            "m": binding_from_map(
                {"p": binding_from_promise("n0", "o0"), "q": specs.binding_from_literal(lit(0))}
            ),
        },
    )
    final, _ = await h.execute(wf, [two, dct, nst], lmap(x=1))
    assert h.outputs(final) == {"a": 2, "b": "v1", "n": 2, "deep": 20, "m": {"p": 2, "q": 0}}


async def test_attribute_path_into_msgpack_struct_and_union_binding(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.engine.bindings import resolve

    struct = literals_pb2.Literal()
    struct.scalar.binary.value = msgpack.packb({"a": {"b": [1, 2, 3]}, "name": "x"})
    struct.scalar.binary.tag = "msgpack"
    outputs = {"n0": lmap(o0=struct)}
    got = resolve(binding_from_promise("n0", "o0", ["a", "b", 2]), outputs)
    assert got.scalar.primitive.integer == 3
    sub = resolve(binding_from_promise("n0", "o0", ["a"]), outputs)
    assert msgpack.unpackb(sub.scalar.binary.value) == {"b": [1, 2, 3]}
    bd = binding_from_promise("n0", "o0", ["name"])
    bd.union.targetType.CopyFrom(STR)
    wrapped = resolve(bd, outputs)
    assert wrapped.scalar.union.value.scalar.primitive.string_value == "x"
    assert wrapped.scalar.union.type == STR


async def test_unknown_output_reference_fails_binding(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.engine.bindings import BindingError, resolve

    try:
        resolve(binding_from_promise("n0", "nope"), {"n0": lmap(o0=1)})
    except BindingError as exc:
        assert "no output [nope]" in str(exc) and "o0" in str(exc)
    else:
        raise AssertionError("expected BindingError")


async def test_workflow_without_nodes_passes_inputs_to_outputs(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("passthrough"),
        specs.interface({"x": INT}, {"y": INT}),
        [],
        {"y": binding_from_promise("", "x")},
    )
    final, job = await h.execute(wf, [], lmap(x=5))
    assert h.outputs(final) == {"y": 5}
    assert h.node_phases(job.execution_id.name, "end-node") == ["QUEUED", "SUCCEEDED"]


async def test_unsupported_task_type_fails_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    weird = task("weird", "add", {"a": INT, "b": INT}, {"o0": INT}, retries=3)
    weird.type = "spark"
    wf = specs.workflow_template(
        wf_id("weird"), specs.interface({}, {}), [specs.task_node("n0", weird.id, {"a": lit(1), "b": lit(2)})]
    )
    final, job = await h.execute(wf, [weird])
    assert h.wf_phases(job.execution_id.name) == ["RUNNING", "FAILING", "FAILED"]
    assert final.error.code == "UnsupportedTaskType"
    assert "'spark'" in final.error.message and "sandbox-python" in final.error.message
    assert h.task_phases(job.execution_id.name, "n0") == [(0, "QUEUED"), (0, "FAILED")]
    assert h.node_phases(job.execution_id.name, "n0") == ["QUEUED", "RUNNING", "FAILED"]


async def test_missing_callable_and_bad_outputs_are_user_errors(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    missing = task("missing", "tests.no_such_module:fn", {}, {"o0": INT})
    wf = specs.workflow_template(wf_id("m"), specs.interface({}, {}), [specs.task_node("n0", missing.id)])
    final, _ = await h.execute(wf, [missing])
    assert final.error.code == "CallableNotFound" and "tests.no_such_module" in final.error.message
    bad = task(
        "bad", "tests.sandbox.test_engine_basic:two_outputs", {"x": INT}, {"a": INT, "b": INT, "c": INT}
    )
    wf2 = specs.workflow_template(
        wf_id("b"), specs.interface({}, {}), [specs.task_node("n0", bad.id, {"x": lit(1)})]
    )
    final2, _ = await h.execute(wf2, [bad])
    assert final2.error.code == "OutputsMismatch"
    assert final2.error.kind == 1  # USER


def blocking_attempt(x: int) -> str:
    import threading

    from airflow_provider_flyte.sandbox.inprocess import current_context

    ctx = current_context()
    return f"{x}:{ctx.execution_name}:{ctx.node_id}:{ctx.attempt}:{threading.current_thread() is threading.main_thread()}"


async def test_builder_with_python_types_and_blocking_callables(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.inprocess import inprocess_task

    t = inprocess_task(
        "blk",
        "tests.sandbox.test_engine_basic:blocking_attempt",
        {"x": int},
        {"o0": str},
        blocking=True,
        retries=2,
        timeout=5,
    )
    assert t.type == "sandbox-python" and t.interface.inputs.variables["x"].type == INT
    assert t.interface.outputs.variables["o0"].type == STR
    assert t.metadata.retries.retries == 2 and t.metadata.timeout.seconds == 5
    assert t.custom["callable"] == "tests.sandbox.test_engine_basic:blocking_attempt" and t.custom["blocking"]
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("blk"),
        specs.interface({}, {"o": STR}),
        [specs.task_node("n0", t.id, {"x": lit(7)})],
        {"o": binding_from_promise("n0", "o0")},
    )
    final, _job = await h.execute(wf, [t], name="blkexec")
    assert h.outputs(final) == {"o": "7:blkexec:n0:0:False"}
