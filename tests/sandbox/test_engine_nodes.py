"""Engine: gate, branch, sub-workflow and launch-plan nodes; propeller's identifiers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flyteidl.core import literals_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from airflow_provider_flyte.sandbox.engine import ids
from tests.sandbox.test_engine_support import (
    BOOL,
    FLOAT,
    INT,
    STR,
    Harness,
    lit,
    lmap,
    lp_id,
    task,
    wf_id,
)

ADD = task("add", "add", {"a": INT, "b": INT}, {"o0": INT})
SQUARE = task("square", "square", {"x": INT}, {"o0": INT})
HELLO = task("hello", "say_hello", {"name": STR}, {"o0": STR})
SLEEP = task("sleep", "sleep_seconds", {"seconds": FLOAT}, {"o0": FLOAT})
FAIL = task("fail", "fail", {}, {})


# ----------------------------------------------------------------------------------------------- ids


def test_fnv_and_base32_match_go() -> None:
    assert ids._fnv1a(b"a", ids._FNV32_OFFSET, ids._FNV32_PRIME, 32) == bytes.fromhex("e40c292c")
    assert ids._fnv1a(b"a", ids._FNV64_OFFSET, ids._FNV64_PRIME, 64) == bytes.fromhex("af63dc4c8601ec8c")
    # 11100 10000 00110 00010 10010 01011 00(000) over Go's alphabet "a..z123456", no padding
    assert ids._encode(bytes.fromhex("e40c292c")) == "3qgcsla"
    assert len(ids._encode(bytes(8))) == 13


def test_unique_ids_and_child_names() -> None:
    assert ids.node_unique_id(None, 0, "n0") == "n0"
    assert ids.node_unique_id("n1", 0, "n0") == "n1-0-n0"
    long_id = ids.node_unique_id("some-long-parent-node", 2, "n10")
    assert long_id.startswith("f") and len(long_id) == 8
    assert ids.fixed_length_unique_id(["", "", "n3"]) == "n3"
    assert ids.child_execution_name("abc", "n0", 0) == "abc-n0-0"  # short enough: kept as is
    name = ids.child_execution_name("a" * 20, "n0", 0)
    assert name.startswith("f") and len(name) == 14 and name == ids.child_execution_name("a" * 20, "n0", 0)
    assert name != ids.child_execution_name("a" * 20, "n0", 1)


# ----------------------------------------------------------------------------------------------- gates


def approve_wf() -> object:
    return specs.workflow_template(
        wf_id("approve"),
        specs.interface({"x": INT}, {"o": INT}),
        [
            specs.task_node("n0", SQUARE.id, {"x": binding_from_promise("", "x")}),
            specs.gate_approve_node("n1", "ok", "n0", "o0"),
        ],
        {"o": binding_from_promise("n1", "o0")},
    )


async def test_approve_gate_passes_inputs_through(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    job = h.job(h.compile(approve_wf(), [SQUARE]), lmap(x=4))  # type: ignore[arg-type]
    await h.engine.start(job)
    for _ in range(100):
        if h.signal_requests:
            break
        await asyncio.sleep(0.01)
    req = h.signal_requests[0]
    assert req.id.signal_id == "ok" and req.id.execution_id == job.execution_id and req.type == BOOL
    assert h.node_phases(job.execution_id.name, "n1") == ["QUEUED", "RUNNING"]
    h.set_signal("ok", lit(True))
    final = await h.run(job)
    assert h.outputs(final) == {"o": 16}
    assert h.tasks(job.execution_id.name, "n1") == []


async def test_rejected_approval_fails_with_propeller_error(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h._signal_value = None
    job = h.job(h.compile(approve_wf(), [SQUARE]), lmap(x=4))  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, h.set_signal, "ok", lit(False))
    final = await h.run(job)
    assert final.phase == 6
    assert final.error.kind == 1 and final.error.code == "ReceivedRejectSignal"
    assert final.error.message == "received a reject signal to disapprove the node input values"
    assert h.node_phases(job.execution_id.name, "n1")[-1] == "FAILED"


async def test_signal_and_sleep_gates(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("sig"),
        specs.interface({}, {"o": STR}),
        [
            specs.gate_sleep_node("nap", 0.05),
            specs.gate_signal_node("ask", "name", STR, upstream=["nap"]),
            specs.task_node("hi", HELLO.id, {"name": binding_from_promise("ask", "o0")}),
        ],
        {"o": binding_from_promise("hi", "o0")},
    )
    asyncio.get_running_loop().call_later(0.01, h.set_signal, "name", lit("ada"))
    final, job = await h.execute(wf, [HELLO])
    assert h.outputs(final) == {"o": "hello ada"}
    assert h.signal_requests[0].type == STR
    assert h.node_phases(job.execution_id.name, "nap") == ["QUEUED", "RUNNING", "SUCCEEDED"]


async def test_gate_timeout(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("gto"), specs.interface({}, {}), [specs.gate_signal_node("ask", "never", INT, timeout=0.1)]
    )
    final, job = await h.execute(wf, [])
    assert h.node_phases(job.execution_id.name, "ask")[-1] == "TIMED_OUT"
    assert final.phase == 6 and final.error.code == "Timeout"


# ----------------------------------------------------------------------------------------------- branches


def branch_wf(with_else: bool = True) -> object:
    x = specs.operand_var("x")
    big = specs.comparison("GT", x, specs.operand_literal(literals_pb2.Primitive(integer=5)))
    small_pos = specs.conjunction(
        "AND",
        specs.comparison("GTE", x, specs.operand_literal(literals_pb2.Primitive(integer=0))),
        specs.comparison("LTE", x, specs.operand_literal(literals_pb2.Primitive(integer=5))),
    )
    then_big = specs.task_node("n1-big", SQUARE.id, {"x": binding_from_promise("", "x")})
    then_small = specs.task_node("n1-small", ADD.id, {"a": binding_from_promise("", "x"), "b": lit(100)})
    else_node = specs.task_node("n1-neg", ADD.id, {"a": binding_from_promise("n0", "o0"), "b": lit(-1)})
    node = specs.branch_node(
        "n1",
        [specs.if_block(big, then_big), specs.if_block(small_pos, then_small)],
        inputs={"x": binding_from_promise("", "x")},
        else_node=else_node if with_else else None,
        else_error=None if with_else else "x must not be negative",
        upstream=["n0"],
    )
    for case_node in (then_big, then_small, else_node):
        case_node.ClearField("upstream_node_ids")
    return specs.workflow_template(
        wf_id("branch"),
        specs.interface({"x": INT}, {"o": INT}),
        [specs.task_node("n0", SQUARE.id, {"x": binding_from_promise("", "x")}), node],
        {"o": binding_from_promise("n1", "o0")},
    )


async def test_branch_runs_the_first_matching_case_only(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    closure = h.compile(branch_wf(), [SQUARE, ADD])  # type: ignore[arg-type]
    # the compiler names a branch's nodes <branch id>-<node id>, as propeller's does
    for x, expected, taken in ((7, 49, "n1-n1-big"), (3, 103, "n1-n1-small"), (-2, 3, "n1-n1-neg")):
        job = h.job(closure, lmap(x=x))
        final = await h.run(job)
        assert h.outputs(final) == {"o": expected}
        name = job.execution_id.name
        child = ids.node_unique_id("n1", 0, taken)
        assert h.node_phases(name, child) == ["QUEUED", "RUNNING", "SUCCEEDED"]
        assert h.nodes(name, child)[0].parent_node_metadata.node_id == "n1"
        assert h.nodes(name, child)[0].spec_node_id == taken
        # as propeller: untaken cases get no events (admin has no record of them), nothing is SKIPPED, and the
        # branch node is not a parent node
        assert {e.spec_node_id for e in h.nodes(name)} == {"start-node", "n0", "n1", taken, "end-node"}
        assert not any(e.phase == 7 for e in h.nodes(name))
        assert not any(e.is_parent for e in h.nodes(name, "n1"))


async def test_branch_without_match_fails_with_its_error(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    final, job = await h.execute(branch_wf(with_else=False), [SQUARE, ADD], lmap(x=-1))  # type: ignore[arg-type]
    assert final.phase == 6 and final.error.message == "[UserProvidedError] x must not be negative"
    assert final.error.code == "UserProvidedError" and final.error.kind == 1  # USER
    assert h.node_phases(job.execution_id.name, "n1")[-1] == "FAILED"


async def test_branch_comparison_of_mixed_types_fails_clearly(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.engine.branches import BranchError, evaluate

    expr = specs.comparison(
        "EQ", specs.operand_var("s"), specs.operand_literal(literals_pb2.Primitive(integer=1))
    )
    try:
        evaluate(expr, lmap(s="1"))
    except BranchError as exc:
        assert "different primitives types" in str(exc)
    else:
        raise AssertionError("expected BranchError")
    none_eq = specs.comparison("EQ", specs.operand_var("n"), specs.operand_var("n"))
    assert evaluate(none_eq, lmap(n=None))
    assert evaluate(specs.comparison("LT", specs.operand_var("f"), specs.operand_var("i")), lmap(f=1.5, i=2))


# ----------------------------------------------------------------------------------------------- sub-workflows


async def test_sub_workflow_runs_inline_with_child_node_ids(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    sub = specs.workflow_template(
        wf_id("sub"),
        specs.interface({"x": INT}, {"y": INT}),
        [
            specs.task_node("s0", SQUARE.id, {"x": binding_from_promise("", "x")}),
            specs.task_node("s1", ADD.id, {"a": binding_from_promise("s0", "o0"), "b": lit(1)}),
        ],
        {"y": binding_from_promise("s1", "o0")},
    )
    wf = specs.workflow_template(
        wf_id("parent"),
        specs.interface({"x": INT}, {"o": INT}),
        [
            specs.sub_workflow_node("n0", sub.id, {"x": binding_from_promise("", "x")}),
            specs.task_node("n1", SQUARE.id, {"x": binding_from_promise("n0", "y")}),
        ],
        {"o": binding_from_promise("n1", "o0")},
    )
    final, job = await h.execute(wf, [SQUARE, ADD], lmap(x=3), sub_workflows=[sub])
    assert h.outputs(final) == {"o": 100}
    name = job.execution_id.name
    parent = h.nodes(name, "n0")
    assert [e.phase for e in parent] == [1, 2, 3] and all(e.is_parent for e in parent)
    assert parent[0].target_entity.name == "sub"
    s0 = h.nodes(name, "n0-0-s0")
    assert [e.phase for e in s0] == [1, 2, 3]
    assert (
        s0[0].parent_node_metadata.node_id == "n0" and s0[0].retry_group == "0" and s0[0].spec_node_id == "s0"
    )
    assert h.task_phases(name, "n0-0-s1")[-1] == (0, "SUCCEEDED")
    # the sub-workflow's own start/end nodes are children too
    assert h.node_phases(name, "n0-0-start-node") == ["QUEUED", "SUCCEEDED"]
    assert h.node_phases(name, "n0-0-end-node") == ["QUEUED", "SUCCEEDED"]
    assert ids.node_unique_id("node-with-long-id", 0, "start-node").startswith("f")


async def test_failing_sub_workflow_fails_parent_node(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    sub = specs.workflow_template(wf_id("subf"), specs.interface({}, {}), [specs.task_node("s0", FAIL.id)])
    wf = specs.workflow_template(
        wf_id("pf"), specs.interface({}, {}), [specs.sub_workflow_node("n0", sub.id)]
    )
    final, job = await h.execute(wf, [FAIL], sub_workflows=[sub])
    assert final.phase == 6 and final.error.code == "USER:RuntimeError"
    assert h.node_phases(job.execution_id.name, "n0")[-1] == "FAILED"
    assert h.node_phases(job.execution_id.name, "n0-0-s0")[-1] == "FAILED"


# ----------------------------------------------------------------------------------------------- launch plans


def child_closure(h: Harness) -> object:
    child = specs.workflow_template(
        wf_id("child"),
        specs.interface({"a": INT}, {"r": INT}),
        [specs.task_node("c0", ADD.id, {"a": binding_from_promise("", "a"), "b": lit(10)})],
        {"r": binding_from_promise("c0", "o0")},
    )
    return h.compile(child, [ADD])


async def test_launch_plan_node_launches_child_execution(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    lps = {"childlp": child_closure(h)}
    wf = specs.workflow_template(
        wf_id("lpparent"),
        specs.interface({"a": INT}, {"o": INT}),
        [specs.launch_plan_node("n0", lp_id("childlp"), {"a": binding_from_promise("", "a")})],
        {"o": binding_from_promise("n0", "r")},
    )
    closure = h.compile(wf, [], launch_plans=lps)  # type: ignore[arg-type]
    spec = h.job(closure).spec
    spec.metadata.nesting = 1
    spec.metadata.principal = "alice"
    spec.labels.values["team"] = "data"
    spec.max_parallelism = 7
    job = h.job(closure, lmap(a=5), name="parent-execution-name1", spec=spec)
    final = await h.run(job)
    assert h.outputs(final) == {"o": 15}
    req = h.child_requests[0]
    assert req.name == ids.child_execution_name("parent-execution-name1", "n0", 0)
    assert req.project == "flytesnacks" and req.domain == "development"
    md = req.spec.metadata
    assert md.mode == 4 and md.nesting == 2 and md.principal == "alice"
    assert (
        md.parent_node_execution.node_id == "n0" and md.parent_node_execution.execution_id == job.execution_id
    )
    assert req.spec.labels.values["team"] == "data" and req.spec.max_parallelism == 7
    assert req.spec.launch_plan.name == "childlp"
    assert req.inputs.literals["a"].scalar.primitive.integer == 5
    node = h.nodes(job.execution_id.name, "n0")
    assert [e.phase for e in node] == [1, 2, 3]
    assert node[1].workflow_node_metadata.execution_id.name == req.name
    assert node[-1].workflow_node_metadata.execution_id.name == req.name
    assert h.wf_phases(req.name) == ["RUNNING", "SUCCEEDING", "SUCCEEDED"]


async def test_failed_child_fails_launch_plan_node(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    failing = h.compile(
        specs.workflow_template(wf_id("bad"), specs.interface({}, {}), [specs.task_node("c0", FAIL.id)]),
        [FAIL],
    )
    wf = specs.workflow_template(
        wf_id("lpf"), specs.interface({}, {}), [specs.launch_plan_node("n0", lp_id("badlp"))]
    )
    final, job = await h.execute(wf, [], launch_plans={"badlp": failing})
    assert final.phase == 6 and final.error.code == "USER:RuntimeError"
    node = h.nodes(job.execution_id.name, "n0")[-1]
    assert node.phase == 5 and node.workflow_node_metadata.execution_id.name == h.child_requests[0].name


async def test_abort_terminates_child_executions(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    slow = h.compile(
        specs.workflow_template(
            wf_id("slow"), specs.interface({}, {}), [specs.task_node("c0", SLEEP.id, {"seconds": lit(30.0)})]
        ),
        [SLEEP],
    )
    wf = specs.workflow_template(
        wf_id("lpa"), specs.interface({}, {}), [specs.launch_plan_node("n0", lp_id("slowlp"))]
    )
    job = h.job(h.compile(wf, [], launch_plans={"slowlp": slow}))
    await h.engine.start(job)
    for _ in range(100):
        if h.child_requests and h.tasks(h.child_requests[0].name):
            break
        await asyncio.sleep(0.01)
    await h.engine.abort(job.execution_id, "stop it")
    child = h.child_requests[0].name
    assert h.terminated == [(child, "stop it")]
    assert h.wf_phases(child)[-1] == "ABORTED"
    assert h.wf_phases(job.execution_id.name)[-1] == "ABORTED"
    assert h.node_phases(job.execution_id.name, "n0")[-1] == "ABORTED"


async def test_array_node_without_an_input_array_fails_as_propeller(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    node = specs.task_node("n0", SQUARE.id, {"x": lit(1)})
    arr = node.__class__(id="arr")
    arr.inputs.extend(node.inputs)
    arr.array_node.node.CopyFrom(node)
    wf = specs.workflow_template(wf_id("arr"), specs.interface({}, {}), [arr])
    closure = h.compile(wf, [SQUARE])
    final = await h.run(h.job(closure))
    assert final.phase == 6 and final.error.code == "InvalidArrayLength" and final.error.kind == 1  # USER
    assert final.error.message == "no input array provided"
    assert h.nodes(final.execution_id.name, "arr")[-1].is_array
