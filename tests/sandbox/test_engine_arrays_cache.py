"""Engine: array nodes (subtasks, parallelism, success criteria, events), the task cache, task QUEUED events."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.core import catalog_pb2, literals_pb2, types_pb2, workflow_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from airflow_provider_flyte.sandbox import inprocess
from airflow_provider_flyte.sandbox.engine import arrays
from airflow_provider_flyte.sandbox.engine.catalog import Catalog, cache_key, input_hash
from tests.sandbox.test_engine_support import INT, Harness, lit, lmap, lp_id, py, task, wf_id

MOD = "tests.sandbox.test_engine_arrays_cache"
INTS = types_pb2.LiteralType(collection_type=INT)
CACHE = catalog_pb2.CatalogCacheStatus

RUNS: Counter[int] = Counter()
RUNNING = {"now": 0, "peak": 0}


async def cube(x: int) -> int:
    """Counts its runs and its concurrency; refuses negative numbers."""
    RUNS[x] += 1
    RUNNING["now"] += 1
    RUNNING["peak"] = max(RUNNING["peak"], RUNNING["now"])
    try:
        await asyncio.sleep(0.02)
    finally:
        RUNNING["now"] -= 1
    if x < 0:
        raise inprocess.RetryableError(f"cube refuses {x}")
    return x**3


CUBE = task("cube", f"{MOD}:cube", {"x": INT}, {"o0": INT}, retries=1)
CACHED = task("cached_cube", f"{MOD}:cube", {"x": INT}, {"o0": INT}, cache_version="1")


def array_wf(sub_task: Any = CUBE, **array: Any) -> workflow_pb2.WorkflowTemplate:
    """``o = map(sub_task)(x=xs)`` as flytekit builds an array node."""
    sub = specs.task_node("sub", sub_task.id, {"x": binding_from_promise("", "xs")})
    node = workflow_pb2.Node(id="n0")
    node.inputs.extend(sub.inputs)
    node.array_node.node.CopyFrom(sub)
    for key, value in array.items():
        setattr(node.array_node, key, value)
    return specs.workflow_template(
        wf_id("arr"),
        specs.interface({"xs": INTS}, {"o": INTS}),
        [node],
        {"o": binding_from_promise("n0", "o0")},
    )


def setup_function() -> None:
    RUNS.clear()
    RUNNING.update(now=0, peak=0)


# ----------------------------------------------------------------------------------------------- arrays


async def test_array_node_maps_every_index_and_gathers_outputs(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    final, job = await h.execute(array_wf(parallelism=2), [CUBE], lmap(xs=[1, 2, 3, 4, 5]))
    name = job.execution_id.name
    assert h.outputs(final) == {"o": [1, 8, 27, 64, 125]}
    assert RUNNING["peak"] == 2  # parallelism
    assert h.node_phases(name, "n0") == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert all(e.is_array and not e.is_parent for e in h.nodes(name, "n0"))
    # subtasks are not node executions: one task execution, its external resources one per index
    assert {e.id.node_id for e in h.nodes(name)} == {"start-node", "n0", "end-node"}
    events = h.tasks(name, "n0")
    assert {e.retry_attempt for e in events} == {0} and {e.task_type for e in events} == {"container_array"}
    assert events[0].phase == 1 and [r.index for r in events[0].metadata.external_resources] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert events[0].input_uri == h.nodes(name, "n0")[0].input_uri
    assert {e.phase for e in events[1:-1]} == {2}  # RUNNING, a new phase version per subtask change
    versions = [e.phase_version for e in events[1:-1]]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    last = events[-1]
    assert last.phase == 3 and last.output_uri.endswith("/n0/0/outputs.pb")
    assert [(r.index, r.retry_attempt, r.phase) for r in last.metadata.external_resources] == [
        (i, 0, 3) for i in range(5)
    ]
    assert last.metadata.plugin_identifier == "k8s-array"
    assert all(r.external_id.endswith(f"-n{r.index}-0") for r in last.metadata.external_resources)


async def test_array_node_fails_below_min_successes_and_tolerates_above(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    ok, job = await h.execute(array_wf(min_success_ratio=0.5), [CUBE], lmap(xs=[1, -2, 3]))
    assert h.outputs(ok) == {"o": [1, None, 27]}  # a failed index gathers a none literal
    assert RUNS[-2] == 2  # the sub-node's retries apply per index
    resources = h.tasks(job.execution_id.name, "n0")[-1].metadata.external_resources
    assert [(r.index, r.retry_attempt, r.phase) for r in resources][:2] == [(0, 0, 3), (1, 1, 5)]

    failed, job = await h.execute(array_wf(min_successes=3), [CUBE], lmap(xs=[1, -2, 3]))
    assert failed.phase == 6
    assert failed.error.message.startswith("[1]: ") and "cube refuses -2" in failed.error.message
    last = h.tasks(job.execution_id.name, "n0")[-1]
    assert last.phase == 5 and "cube refuses -2" in last.error.message
    assert h.node_phases(job.execution_id.name, "n0")[-1] == "FAILED"


async def test_array_node_rejects_inputs_of_different_lengths(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    add = task("addl", "add", {"a": INT, "b": INT}, {"o0": INT})
    sub = specs.task_node(
        "sub", add.id, {"a": binding_from_promise("", "xs"), "b": binding_from_promise("", "ys")}
    )
    node = workflow_pb2.Node(id="n0")
    node.inputs.extend(sub.inputs)
    node.array_node.node.CopyFrom(sub)
    wf = specs.workflow_template(wf_id("len"), specs.interface({"xs": INTS, "ys": INTS}, {}), [node])
    final, _ = await h.execute(wf, [add], lmap(xs=[1, 2], ys=[1]))
    assert final.phase == 6 and final.error.code == "InvalidArrayLength"
    # propeller walks the inputs in map order, so either length may come first
    assert final.error.message in {
        f"input arrays have different lengths: expecting '{a}' found '{b}'" for a, b in ((1, 2), (2, 1))
    }


def test_error_summary_groups_indexes_into_ranges() -> None:
    assert arrays.error_summary({0: "a", 1: "a", 2: "a", 4: "a", 3: "b"}) == "[0-2][4]: a\n[3]: b\n"


async def test_aborting_an_array_node_aborts_its_subtasks(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    sleeper = task("sleeper", "sleep_seconds", {"seconds": types_pb2.LiteralType(simple=types_pb2.FLOAT)}, {})
    sub = specs.task_node("sub", sleeper.id, {"seconds": binding_from_promise("", "xs")})
    node = workflow_pb2.Node(id="n0")
    node.inputs.extend(sub.inputs)
    node.array_node.node.CopyFrom(sub)
    floats = types_pb2.LiteralType(collection_type=types_pb2.LiteralType(simple=types_pb2.FLOAT))
    wf = specs.workflow_template(wf_id("ab"), specs.interface({"xs": floats}, {}), [node])
    job = h.job(h.compile(wf, [sleeper]), lmap(xs=[30.0, 30.0]))
    await h.engine.start(job)
    name = job.execution_id.name
    for _ in range(200):
        if len(h.tasks(name, "n0")) >= 3:
            break
        await asyncio.sleep(0.01)
    await h.engine.abort(job.execution_id, "stop")
    assert h.wf_phases(name)[-1] == "ABORTED"
    last = h.tasks(name, "n0")[-1]
    assert last.phase == 4  # ABORTED
    assert {r.phase for r in last.metadata.external_resources} == {4}


# ----------------------------------------------------------------------------------------------- cache


def cached_wf() -> workflow_pb2.WorkflowTemplate:
    return specs.workflow_template(
        wf_id("cached"),
        specs.interface({"x": INT}, {"o": INT}),
        [specs.task_node("n0", CACHED.id, {"x": binding_from_promise("", "x")})],
        {"o": binding_from_promise("n0", "o0")},
    )


async def test_cache_miss_populates_and_hit_skips_the_task(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    closure = h.compile(cached_wf(), [CACHED])
    first = await h.run(h.job(closure, lmap(x=3)))
    name = first.execution_id.name
    assert h.outputs(first) == {"o": 27} and RUNS[3] == 1
    assert h.node_phases(name, "n0") == ["QUEUED", "RUNNING", "SUCCEEDED"]
    done = h.nodes(name, "n0")[-1]
    assert done.task_node_metadata.cache_status == CACHE.CACHE_POPULATED
    key = done.task_node_metadata.catalog_key
    assert key.dataset_id.name == "flyte_task-cached_cube" and key.dataset_id.version.startswith("1-")
    assert key.artifact_tag.name.startswith("flyte_cached-")
    assert key.source_task_execution.node_execution_id.execution_id.name == name

    second = await h.run(h.job(closure, lmap(x=3)))
    name2 = second.execution_id.name
    assert h.outputs(second) == {"o": 27} and RUNS[3] == 1  # not run again
    assert h.node_phases(name2, "n0") == ["SUCCEEDED"] and h.tasks(name2, "n0") == []
    hit = h.nodes(name2, "n0")[0]
    assert hit.task_node_metadata.cache_status == CACHE.CACHE_HIT
    assert hit.task_node_metadata.catalog_key.source_task_execution == key.source_task_execution
    assert hit.output_uri.endswith(f"{name2}/n0/0/outputs.pb") and h.blobs.exists(hit.output_uri)

    other = await h.run(h.job(closure, lmap(x=4)))  # other inputs: a miss
    assert h.outputs(other) == {"o": 64} and RUNS[4] == 1


async def test_overwrite_cache_reruns_and_repopulates(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    closure = h.compile(cached_wf(), [CACHED])
    await h.run(h.job(closure, lmap(x=2)))
    spec = admin_execution_pb2.ExecutionSpec(launch_plan=lp_id("lp"), overwrite_cache=True)
    again = await h.run(h.job(closure, lmap(x=2), spec=spec))
    assert RUNS[2] == 2 and h.outputs(again) == {"o": 8}
    done = h.nodes(again.execution_id.name, "n0")[-1]
    assert done.task_node_metadata.cache_status == CACHE.CACHE_POPULATED
    third = await h.run(h.job(closure, lmap(x=2)))
    hit = h.nodes(third.execution_id.name, "n0")[0]
    assert hit.task_node_metadata.cache_status == CACHE.CACHE_HIT
    # the hit points at the overwriting run
    assert hit.task_node_metadata.catalog_key.source_task_execution.node_execution_id.execution_id.name == (
        again.execution_id.name
    )


async def test_cache_survives_a_restart_and_keys_on_cache_version(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.run(h.job(h.compile(cached_wf(), [CACHED]), lmap(x=5)))
    await h.engine.shutdown()
    h2 = Harness(tmp_path)
    hit = await h2.run(h2.job(h2.compile(cached_wf(), [CACHED]), lmap(x=5), name="after"))
    assert h2.outputs(hit) == {"o": 125} and RUNS[5] == 1
    assert h2.nodes("after", "n0")[0].task_node_metadata.cache_status == CACHE.CACHE_HIT
    bumped = task("cached_cube", f"{MOD}:cube", {"x": INT}, {"o0": INT}, cache_version="2", version="v2")
    wf = cached_wf()
    wf.nodes[0].task_node.reference_id.version = "v2"
    miss = await h2.run(h2.job(h2.compile(wf, [bumped]), lmap(x=5), name="bumped"))
    assert h2.outputs(miss) == {"o": 125} and RUNS[5] == 2
    # a new task version with the same cache version hits
    same = task("cached_cube", f"{MOD}:cube", {"x": INT}, {"o0": INT}, cache_version="2", version="v3")
    wf.nodes[0].task_node.reference_id.version = "v3"
    await h2.run(h2.job(h2.compile(wf, [same]), lmap(x=5), name="v3"))
    assert RUNS[5] == 2 and h2.nodes("v3", "n0")[0].task_node_metadata.cache_status == CACHE.CACHE_HIT


async def test_cached_array_subtasks_hit_per_index(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    closure = h.compile(array_wf(CACHED), [CACHED])
    await h.run(h.job(closure, lmap(xs=[1, 2])))
    again = await h.run(h.job(closure, lmap(xs=[2, 3])))
    assert h.outputs(again) == {"o": [8, 27]} and RUNS[2] == 1 and RUNS[3] == 1
    resources = h.tasks(again.execution_id.name, "n0")[-1].metadata.external_resources
    assert [r.cache_status for r in resources] == [CACHE.CACHE_HIT, CACHE.CACHE_POPULATED]


def test_cache_key_ignores_listed_inputs_and_uses_literal_hashes(tmp_path: Path) -> None:
    t = task("k", "add", {"a": INT, "b": INT}, {"o0": INT}, cache_version="1")
    t.metadata.cache_ignore_input_vars.append("b")
    k1 = cache_key(t, lmap(a=1, b=2))
    assert k1 is not None and k1 == cache_key(t, lmap(a=1, b=3)) and k1 != cache_key(t, lmap(a=2, b=2))
    hashed = literals_pb2.Literal(hash="abc")
    hashed.scalar.primitive.integer = 1
    other = literals_pb2.Literal(hash="abc")
    other.scalar.primitive.integer = 2
    assert input_hash(lmap(a=hashed)) == input_hash(lmap(a=other))
    assert cache_key(task("n", "add", {"a": INT}, {"o0": INT}), lmap(a=1)) is None
    catalog = Catalog(tmp_path / "c.db")
    assert catalog.get(k1) is None
    catalog.close()


def test_lit_helpers_roundtrip() -> None:
    assert py(lit([1, 2])) == [1, 2]
