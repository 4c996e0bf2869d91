"""Warm task workers (``task_workers="warm"``) behave exactly as cold ``pyflyte-execute`` processes: the same flytekit
tasks run both ways, and what they report about their process, their outputs, errors, logs, retries, timeouts and
aborts are compared."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import tasks_pb2

from airflow_provider_flyte.remote import specs
from airflow_provider_flyte.remote.specs import binding_from_promise
from airflow_provider_flyte.sandbox.cli import build_parser, config_from_args, config_to_argv
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.engine.flytekit_runner import FlytekitRunner
from tests.sandbox.test_engine_support import INT, STR, Harness, alive, lit, wf_id

pytestmark = pytest.mark.flytekit
flytekit = pytest.importorskip("flytekit")

REPO = Path(__file__).resolve().parents[2]
MODES = ("warm", "cold")


def serialize(entity: Any) -> tasks_pb2.TaskTemplate:
    from tests.sandbox.test_engine_flytekit import serialize as flytekit_serialize

    return flytekit_serialize(entity)


def _normalize(text: str, data_dir: Path) -> str:
    """The data dir, timestamps and random names taken out of a log, an error message or a report."""
    text = text.replace(str(data_dir), "<data>")
    text = re.sub(r"\d{4}-\d\d-\d\d[ T][\d:,.]+", "<time>", text)
    text = re.sub(r"/flyte-?\w{8}(?=[/\"'\s]|$)", "/flyte<tmp>", text)
    text = re.sub(r"[0-9a-f]{32}", "<hex>", text)
    text = re.sub(r"\[Time: [\d.]+s\]", "[Time: <t>]", text)
    return re.sub(r"<data>/work/[^/\s\"']+", "<data>/work/<attempt>", text)


async def _run_one(
    h: Harness, name: str, task: tasks_pb2.TaskTemplate, inputs: dict[str, Any], outputs: bool, **kw: Any
) -> dict[str, Any]:
    out_type = {"o": STR if task.interface.outputs.variables["o0"].type == STR else INT} if outputs else {}
    wf = specs.workflow_template(
        wf_id(name),
        specs.interface({}, out_type),
        [specs.task_node("n0", task.id, {k: lit(v) for k, v in inputs.items()})],
        {"o": binding_from_promise("n0", "o0")} if outputs else {},
    )
    final, job = await h.execute(wf, [task], name=name, **kw)
    phases = h.task_phases(job.execution_id.name, "n0")
    events = h.tasks(job.execution_id.name, "n0")
    log = ""
    if events and events[-1].logs:
        log_path = h.blobs.path(events[-1].logs[0].uri)
        log = log_path.read_text() if log_path.exists() else ""
    outputs = h.outputs(final) if final.phase == 4 else None
    if outputs and isinstance(outputs.get("o"), str):
        outputs["o"] = json.loads(_normalize(outputs["o"], h.config.data_dir))
    return {
        "phase": final.phase,
        "outputs": outputs,
        "error": (final.error.kind, final.error.code, _normalize(final.error.message, h.config.data_dir))
        if final.phase != 4
        else None,
        "task_phases": phases,
        "log": _normalize(log, h.config.data_dir),
    }


async def _scenarios(tmp_path: Path, mode: str) -> dict[str, Any]:
    from tests.sandbox.flyte_code import tasks, workers

    h = Harness(tmp_path / mode, task_pythonpath=(str(REPO),), task_workers=mode, max_task_processes=4)
    report = serialize(workers.process_report)
    debug_report = serialize(workers.process_report)
    debug_report.id.name += "_debug"
    debug_report.container.env.add(key="FLYTE_SDK_LOGGING_LEVEL", value="10")  # read at import: runs cold
    custom_env = serialize(workers.process_report)
    custom_env.id.name += "_env"
    custom_env.container.env.add(key="MY_ENV", value="from the container")
    unloadable = serialize(tasks.add_numbers)
    unloadable.id.name += "_unloadable"
    args = list(unloadable.container.args)
    args[args.index("add_numbers")] = "no_such_task"
    unloadable.container.args[:] = args
    runs = {
        "report": _run_one(h, "report", report, {}, True),
        "debug_report": _run_one(h, "debugreport", debug_report, {}, True),
        "custom_env": _run_one(h, "customenv", custom_env, {}, True),
        "chatty": _run_one(h, "chatty", serialize(workers.chatty), {"n": 7}, True),
        "user_error": _run_one(h, "usererror", serialize(tasks.boom), {"x": 3}, False),
        "retry": _run_one(h, "retry", serialize(tasks.flaky), {}, True),
        "exit_code": _run_one(h, "exitcode", serialize(workers.exits), {"code": 3}, False),
        "unloadable": _run_one(h, "unloadable", unloadable, {"a": 1, "b": 2}, False),
        "timeout": _run_one(
            h, "timeout", serialize(workers.overruns), {"pid_file": str(tmp_path / f"{mode}.pid")}, False
        ),
    }
    results = dict(zip(runs, await asyncio.gather(*runs.values()), strict=True))
    pid_file = tmp_path / f"{mode}.pid"
    results["timed_out_process_alive"] = pid_file.exists() and alive(int(pid_file.read_text()))
    await h.engine.shutdown()
    results["work_dirs_left"] = sorted(p.name for p in (tmp_path / mode / "work").iterdir())
    return results


async def test_warm_and_cold_task_processes_behave_the_same(tmp_path: Path) -> None:
    cold = await _scenarios(tmp_path, "cold")
    warm = await _scenarios(tmp_path, "warm")
    # a timeout counts from queueing: whether the attempt got to RUNNING and wrote its log depends on load
    for mode in (cold, warm):
        mode["timeout"] = (mode["timeout"]["phase"], mode["timeout"]["error"][1])
    for key in cold:
        if key.endswith(("report", "env")):
            for item in cold[key]["outputs"]["o"]:
                assert warm[key]["outputs"]["o"][item] == cold[key]["outputs"]["o"][item], (key, item)
        if warm[key] != cold[key] and isinstance(cold[key], dict):
            import difflib

            print("\n".join(difflib.unified_diff(cold[key]["log"].splitlines(), warm[key]["log"].splitlines())))
        assert warm[key] == cold[key], key
    # and both are what a Flyte pod does
    report = cold["report"]["outputs"]["o"]
    assert report["cwd"] == "<work>" and report["env"]["HOME"].startswith("<work>/")
    assert report["gettempdir"].startswith("<work>/") and report["working_directory"].startswith("<work>/")
    assert report["env"]["FLYTE_INTERNAL_EXECUTION_ID"] == "report" and report["argv0"] == "pyflyte-execute"
    assert report["session_leader"] and report["stdin"] == "/dev/null" and report["stdout_is_log"]
    # only the blob store's fsspec filesystem (loaded by fsspec for flytesandbox:// URIs), nothing of the sandbox
    blob_filesystem = ["airflow_provider_flyte", "airflow_provider_flyte.sandbox", "airflow_provider_flyte.sandbox.blobfs"]
    assert report["sandbox_modules"] == blob_filesystem
    assert "tests.sandbox.flyte_code.workers" in report["user_modules"]
    assert report["path"][1] == str(REPO)
    assert cold["debug_report"]["outputs"]["o"]["flytekit_log_level"] == 10
    assert cold["custom_env"]["outputs"]["o"]["env"]["MY_ENV"] == "from the container"
    chatty = cold["chatty"]["log"]
    assert "stdout line 7" in chatty and "stderr line 7" in chatty and "user warning 7" in chatty
    assert cold["user_error"]["error"][0] == 1 and "boom 3" in cold["user_error"]["error"][2]
    assert cold["retry"]["outputs"] == {"o": 1} and len(cold["retry"]["task_phases"]) == 6
    assert cold["exit_code"]["error"][1] == "NonZeroExitCode" and "code 3" in cold["exit_code"]["error"][2]
    assert cold["unloadable"]["phase"] == 6 and "no_such_task" in cold["unloadable"]["error"][2]
    assert cold["timeout"][0] == 6
    assert not cold["timed_out_process_alive"]
    assert cold["work_dirs_left"] == []


@pytest.mark.parametrize("mode", MODES)
async def test_abort_kills_the_task_process(tmp_path: Path, mode: str) -> None:
    from tests.sandbox.flyte_code import workers

    waits = serialize(workers.waits)
    pid_file = tmp_path / "pid"
    h = Harness(tmp_path / "data", task_pythonpath=(str(REPO),), task_workers=mode)
    wf = specs.workflow_template(
        wf_id("ab"), specs.interface({}, {}), [specs.task_node("n0", waits.id, {"pid_file": lit(str(pid_file))})]
    )
    job = h.job(h.compile(wf, [waits]))
    await h.engine.start(job)
    for _ in range(1500):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.02)
    pid = int(pid_file.read_text())
    assert alive(pid)
    await h.engine.abort(job.execution_id, "bye")
    assert h.task_phases(job.execution_id.name, "n0")[-1] == (0, "ABORTED")
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not alive(pid)
    await h.engine.shutdown()


async def test_engine_shutdown_stops_the_warm_worker(tmp_path: Path) -> None:
    from tests.sandbox.flyte_code import tasks

    add = serialize(tasks.add_numbers)
    h = Harness(tmp_path, task_pythonpath=(str(REPO),))
    wf = specs.workflow_template(
        wf_id("w"),
        specs.interface({}, {"o": INT}),
        [specs.task_node("n0", add.id, {"a": lit(1), "b": lit(2)})],
        {"o": binding_from_promise("n0", "o0")},
    )
    final, _ = await h.execute(wf, [add])
    assert h.outputs(final) == {"o": 3}
    runner = h.engine.runners.flytekit
    warm = runner._warm
    assert warm is not None and warm._proc is not None and warm._proc.returncode is None
    worker = warm._proc
    await h.engine.shutdown()
    assert worker.returncode is not None
    assert not (tmp_path / "work" / ".warm-worker").exists()


def test_fast_execute_dest_dir_is_rewritten_to_the_attempt_dir(tmp_path: Path) -> None:
    from airflow_provider_flyte.sandbox.engine.runners import TaskRequest
    from tests.sandbox.flyte_code import tasks
    from tests.sandbox.test_engine_support import lmap

    add = serialize(tasks.add_numbers)
    add.container.args[:] = [
        "pyflyte-fast-execute",
        "--additional-distribution",
        "s3://bucket/fast.tar.gz",
        "--dest-dir",
        "/root",
        "--",
        *add.container.args,
    ]
    h = Harness(tmp_path)
    job = h.job(
        h.compile(
            specs.workflow_template(wf_id("f"), specs.interface({}, {}), [specs.task_node("n0", add.id)]), [add]
        )
    )
    request = TaskRequest(
        job=job,
        template=add,
        node_unique_id="n0",
        attempt=0,
        inputs=lmap(),
        input_uri="file:///in/inputs.pb",
        output_prefix="file:///out/0",
        raw_output_prefix="file:///raw",
        checkpoint_prefix="file:///out/0/ck",
        prev_checkpoint_prefix="",
    )
    runner = FlytekitRunner(h.config, h.blobs)
    workdir = tmp_path / "work" / "attempt"
    argv = runner.command(request, workdir)
    assert argv[argv.index("--dest-dir") + 1] == str(workdir)
    assert "/root" not in argv
    env = runner.environment(request, workdir)
    assert env["HOME"].startswith(str(workdir)) and env["TMPDIR"].startswith(str(workdir))


def test_task_workers_option(tmp_path: Path) -> None:
    def parse(argv: list[str]) -> SandboxConfig:
        return config_from_args(build_parser().parse_args(argv), {})

    assert parse([]).task_workers == "warm"
    cold = parse(["--task-workers", "cold", "--data-dir", str(tmp_path)])
    assert cold.task_workers == "cold"
    assert parse(config_to_argv(cold)) == cold
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--task-workers", "lukewarm"])
    with pytest.raises(ValueError, match="task_workers must be one of warm, cold"):
        SandboxConfig(data_dir=tmp_path, task_workers="hot")


def test_kill_9_of_the_sandbox_also_ends_warm_task_processes(tmp_path: Path) -> None:
    import grpc
    from flyteidl.service import admin_pb2_grpc

    from airflow_provider_flyte.sandbox.testing import SandboxProcess
    from tests.sandbox.flyte_code import workers
    from tests.sandbox.test_engine_support import lmap, start_task_execution

    template = serialize(workers.waits)
    pid_file = tmp_path / "pid"
    config = SandboxConfig(data_dir=tmp_path / "data", port=0, task_pythonpath=(str(REPO),), task_workers="warm")
    process = SandboxProcess(config).start()
    try:
        with grpc.insecure_channel(process.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            start_task_execution(stub, template, "waiting", lmap(pid_file=str(pid_file)))
            deadline = time.monotonic() + 60
            while not (pid_file.exists() and pid_file.read_text()):
                assert time.monotonic() < deadline, "the task never started"
                time.sleep(0.05)
        pid = int(pid_file.read_text())
        worker = int(Path(f"/proc/{pid}/status").read_text().split("PPid:")[1].split()[0])
        assert worker != process.pid and alive(worker)  # forked by the warm worker
    finally:
        process.kill()
    deadline = time.monotonic() + 10
    while alive(pid) or alive(worker):
        assert time.monotonic() < deadline, "the warm worker or its task outlived the killed sandbox"
        time.sleep(0.05)
