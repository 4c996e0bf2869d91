"""Engine: flytekit ``python-task`` tasks run as local subprocesses by the flytekit entrypoint."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import tasks_pb2, types_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from tests.sandbox.test_engine_support import FLOAT, INT, NODE, STR, Harness, lit, lmap, wf_id

pytestmark = pytest.mark.flytekit
flytekit = pytest.importorskip("flytekit")

REPO = Path(__file__).resolve().parents[2]


def serialize(entity: Any) -> tasks_pb2.TaskTemplate:
    """The TaskTemplate flytekit registers for ``entity`` (flytekit's own serializer)."""
    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project="flytesnacks",
        domain="development",
        version="v1",
    )
    spec = get_serializable(OrderedDict(), settings, entity)
    return spec.template.to_flyte_idl()  # type: ignore[no-any-return]


def harness(tmp_path: Path, **kw: Any) -> Harness:
    return Harness(tmp_path, task_pythonpath=(str(REPO),), **kw)


async def test_flytekit_task_runs_in_a_subprocess(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks as code

    add, greet = serialize(code.add_numbers), serialize(code.greet)
    assert add.type == "python-task" and add.container.args[0] == "pyflyte-execute"
    h = harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("fk"),
        specs.interface({"a": INT}, {"sum": INT, "msg": STR}),
        [
            specs.task_node("n0", add.id, {"a": binding_from_promise("", "a"), "b": lit(2)}),
            specs.task_node("n1", greet.id, {"name": lit("ada")}),
        ],
        {"sum": binding_from_promise("n0", "o0"), "msg": binding_from_promise("n1", "o0")},
    )
    final, _job = await h.execute(wf, [add, greet], lmap(a=40), name="fkexec")
    assert h.outputs(final) == {"sum": 42, "msg": "hello ada from attempt 0 of fkexec"}
    t = h.tasks("fkexec", "n0")
    assert [e.phase for e in t] == [1, 2, 3]  # QUEUED, RUNNING, SUCCEEDED
    assert t[1].logs and t[1].logs[0].uri.startswith("file://")
    assert t[-1].output_uri.endswith("/n0/0/outputs.pb") and h.blobs.exists(t[-1].output_uri)
    assert h.blobs.path(t[1].logs[0].uri).exists()


async def test_flytekit_user_error_and_recoverable_retry(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks as code

    boom, flaky = serialize(code.boom), serialize(code.flaky)
    h = harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("fkerr"),
        specs.interface({}, {"o": INT}),
        [specs.task_node("n0", flaky.id)],
        {"o": binding_from_promise("n0", "o0")},
    )
    final, job = await h.execute(wf, [flaky])
    assert h.outputs(final) == {"o": 1}
    assert [(a, p) for a, p in h.task_phases(job.execution_id.name, "n0")] == [
        (0, "QUEUED"),
        (0, "RUNNING"),
        (0, "RETRYABLE_FAILED"),
        (1, "QUEUED"),
        (1, "RUNNING"),
        (1, "SUCCEEDED"),
    ]
    wf2 = specs.workflow_template(
        wf_id("fkboom"), specs.interface({}, {}), [specs.task_node("n0", boom.id, {"x": lit(3)})]
    )
    final2, _job2 = await h.execute(wf2, [boom])
    assert final2.phase == 6 and final2.error.kind == 1
    assert "boom 3" in final2.error.message and final2.error.error_uri.endswith("error.pb")


async def test_abort_kills_the_task_process(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks as code

    sleepy = serialize(code.sleepy)
    h = harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("fkab"), specs.interface({}, {}), [specs.task_node("n0", sleepy.id, {"seconds": lit(60.0)})]
    )
    job = h.job(h.compile(wf, [sleepy]))
    await h.engine.start(job)
    for _ in range(200):
        if h.tasks(job.execution_id.name, "n0"):
            break
        await asyncio.sleep(0.02)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await h.engine.abort(job.execution_id, "bye")
    assert loop.time() - t0 < 5
    assert h.task_phases(job.execution_id.name, "n0")[-1] == (0, "ABORTED")
    assert h.wf_phases(job.execution_id.name)[-1] == "ABORTED"


async def test_dynamic_task_runs_its_job_spec_as_child_nodes(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks as code

    fan = serialize(code.fan_out)
    h = harness(tmp_path, max_task_processes=2)
    wf = specs.workflow_template(
        wf_id("fkdyn"),
        specs.interface({}, {"o": types_pb2.LiteralType(collection_type=INT)}),
        [specs.task_node("n0", fan.id, {"n": lit(3)})],
        {"o": binding_from_promise("n0", "o0")},
    )
    final, job = await h.execute(wf, [fan, serialize(code.add_numbers)], max_parallelism=1)
    assert h.outputs(final) == {"o": [1, 2, 3]}
    name = job.execution_id.name
    node = h.nodes(name, "n0")
    assert [NODE.Phase.Name(e.phase) for e in node] == ["QUEUED", "RUNNING", "DYNAMIC_RUNNING", "SUCCEEDED"]
    assert node[-1].is_dynamic and node[-1].is_parent
    assert h.task_phases(name, "n0") == [(0, "QUEUED"), (0, "RUNNING"), (0, "SUCCEEDED")]
    children = [e for e in h.nodes(name) if e.parent_node_metadata.node_id == "n0" and e.phase == 3]
    assert {e.spec_node_id for e in children} >= {"dn0", "dn1", "dn2"}
    assert all(e.retry_group == "0" for e in children)


async def test_missing_flytekit_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_flyte.sandbox.engine import flytekit_runner
    from tests.sandbox.flyte_code import tasks as code

    add = serialize(code.add_numbers)
    monkeypatch.setattr(flytekit_runner, "flytekit_available", lambda: False)
    h = harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("nofk"), specs.interface({}, {}), [specs.task_node("n0", add.id, {"a": lit(1), "b": lit(1)})]
    )
    final, _ = await h.execute(wf, [add])
    assert (
        final.error.code == "FlytekitNotInstalled"
        and "airflow-provider-flyte[flytekit]" in final.error.message
    )


async def test_unknown_command_fails_the_node_clearly(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks as code

    add = serialize(code.add_numbers)
    add.container.ClearField("command")
    add.container.args[:] = ["no-such-task-entrypoint", "--inputs", "{{.input}}"]
    h = harness(tmp_path)
    wf = specs.workflow_template(
        wf_id("nocmd"), specs.interface({}, {}), [specs.task_node("n0", add.id, {"a": lit(1), "b": lit(1)})]
    )
    final, _ = await h.execute(wf, [add])
    assert final.error.code == "CommandNotFound"
    assert "'no-such-task-entrypoint'" in final.error.message


def test_command_and_environment(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.engine.flytekit_runner import FlytekitRunner
    from airflow_provider_flyte.sandbox.engine.runners import TaskRequest
    from tests.sandbox.flyte_code import tasks as code

    add = serialize(code.add_numbers)
    h = harness(tmp_path)
    job = h.job(
        h.compile(
            specs.workflow_template(
                wf_id("c"),
                specs.interface({}, {}),
                [specs.task_node("n0", add.id, {"a": lit(1), "b": lit(1)})],
            ),
            [add],
        ),
        name="cmd",
    )
    job.spec.envs.values.add(key="MY_ENV", value="x")
    req = TaskRequest(
        job=job,
        template=add,
        node_unique_id="n0",
        attempt=1,
        inputs=lmap(),
        input_uri="file:///in/inputs.pb",
        output_prefix="file:///out/1",
        raw_output_prefix="file:///raw",
        checkpoint_prefix="file:///out/1/ck",
        prev_checkpoint_prefix="",
        envs={"MY_ENV": "x"},
    )
    runner = FlytekitRunner(h.config, h.blobs)
    argv = runner.command(req)
    assert argv[0].endswith("/pyflyte-execute") and Path(argv[0]).exists()
    assert "file:///in/inputs.pb" in argv and "file:///out/1" in argv and '""' in argv
    assert not any("{{" in a for a in argv)
    env = runner.environment(req)
    assert env["FLYTE_INTERNAL_EXECUTION_ID"] == "cmd" and env["FLYTE_ATTEMPT_NUMBER"] == "1"
    assert env["FLYTE_INTERNAL_TASK_NAME"] == add.id.name and env["MY_ENV"] == "x"
    assert env["PYTHONPATH"].split(":")[0] == str(REPO)
    _ = FLOAT
