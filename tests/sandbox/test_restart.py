"""Persistence across restarts: a clean stop, and a kill -9 in the middle of an execution."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
import requests
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.service import admin_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc
from google.protobuf import duration_pb2

from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxProcess, SandboxThread

P, D, V = "flytesnacks", "development", "v1"
WF = core_execution_pb2.WorkflowExecution


def _id(kind: int, name: str) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(resource_type=kind, project=P, domain=D, name=name, version=V)


def _task() -> task_pb2.TaskCreateRequest:
    template = tasks_pb2.TaskTemplate(
        id=_id(identifier_pb2.TASK, "restart.echo"),
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(
            runtime=tasks_pb2.RuntimeMetadata(type=tasks_pb2.RuntimeMetadata.FLYTE_SDK)
        ),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(
                variables={"x": interface_pb2.Variable(type=types_pb2.LiteralType(simple=types_pb2.INTEGER))}
            ),
            outputs=interface_pb2.VariableMap(),
        ),
        container=tasks_pb2.Container(image="python:3.11", args=["pyflyte-execute"]),
    )
    return task_pb2.TaskCreateRequest(id=template.id, spec=task_pb2.TaskSpec(template=template))


def _sleep_workflow(
    name: str, seconds: int
) -> tuple[workflow_pb2.WorkflowCreateRequest, launch_plan_pb2.LaunchPlanCreateRequest]:
    """A workflow whose only node is a sleep gate: it runs for ``seconds`` without any task code."""
    wf_id = _id(identifier_pb2.WORKFLOW, name)
    template = core_workflow_pb2.WorkflowTemplate(
        id=wf_id,
        metadata=core_workflow_pb2.WorkflowMetadata(),
        interface=interface_pb2.TypedInterface(
            inputs=interface_pb2.VariableMap(), outputs=interface_pb2.VariableMap()
        ),
        nodes=[
            core_workflow_pb2.Node(
                id="n0",
                metadata=core_workflow_pb2.NodeMetadata(name="sleep-gate"),
                gate_node=core_workflow_pb2.GateNode(
                    sleep=core_workflow_pb2.SleepCondition(duration=duration_pb2.Duration(seconds=seconds))
                ),
            )
        ],
    )
    workflow = workflow_pb2.WorkflowCreateRequest(id=wf_id, spec=workflow_pb2.WorkflowSpec(template=template))
    lp_id = _id(identifier_pb2.LAUNCH_PLAN, name)
    launch_plan = launch_plan_pb2.LaunchPlanCreateRequest(
        id=lp_id,
        spec=launch_plan_pb2.LaunchPlanSpec(
            workflow_id=wf_id,
            default_inputs=interface_pb2.ParameterMap(),
            fixed_inputs=literals_pb2.LiteralMap(),
        ),
    )
    return workflow, launch_plan


Metadata = tuple[tuple[str, str], ...]


def _register_and_run(
    stub: admin_pb2_grpc.AdminServiceStub, name: str, seconds: int, execution: str, metadata: Metadata = ()
) -> None:
    """Register a sleep workflow and its launch plan, and launch one execution of it."""
    workflow, launch_plan = _sleep_workflow(name, seconds)
    stub.CreateWorkflow(workflow, metadata=metadata, timeout=30)
    stub.CreateLaunchPlan(launch_plan, metadata=metadata, timeout=30)
    stub.CreateExecution(
        execution_pb2.ExecutionCreateRequest(
            project=P,
            domain=D,
            name=execution,
            spec=execution_pb2.ExecutionSpec(
                launch_plan=launch_plan.id,
                metadata=execution_pb2.ExecutionMetadata(mode=execution_pb2.ExecutionMetadata.MANUAL),
            ),
            inputs=literals_pb2.LiteralMap(),
        ),
        metadata=metadata,
        timeout=30,
    )


def _execution_id(name: str) -> identifier_pb2.WorkflowExecutionIdentifier:
    return identifier_pb2.WorkflowExecutionIdentifier(project=P, domain=D, name=name)


def _wait_phase(
    stub: admin_pb2_grpc.AdminServiceStub,
    name: str,
    phases: set[int],
    timeout: float = 60,
    metadata: Metadata = (),
) -> execution_pb2.Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = stub.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(id=_execution_id(name)), metadata=metadata, timeout=10
        )
        if execution.closure.phase in phases:
            return execution
        assert time.monotonic() < deadline, f"{name} stayed {WF.Phase.Name(execution.closure.phase)}"
        time.sleep(0.05)


def _upload(endpoint: str, data: bytes) -> str:
    with grpc.insecure_channel(endpoint) as channel:
        location = dataproxy_pb2_grpc.DataProxyServiceStub(channel).CreateUploadLocation(
            dataproxy_pb2.CreateUploadLocationRequest(
                project=P, domain=D, content_md5=hashlib.md5(data).digest(), filename="kept.bin"
            ),
            timeout=10,
        )
    response = requests.put(location.signed_url, data=data, headers=dict(location.headers), timeout=10)
    assert response.status_code == 200, response.text
    return str(location.native_url)


def test_clean_restart_keeps_everything(fresh_sandbox: Callable[..., SandboxThread], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = fresh_sandbox(data_dir=data_dir)
    with grpc.insecure_channel(first.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        stub.CreateTask(_task(), timeout=30)
        _register_and_run(stub, "restart.quick", 0, "quick-one")
        _wait_phase(stub, "quick-one", {WF.SUCCEEDED})
    native_url = _upload(first.endpoint, b"blob kept across restarts")
    first.stop()

    second = fresh_sandbox(data_dir=data_dir)
    with grpc.insecure_channel(second.endpoint) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        task = stub.GetTask(common_pb2.ObjectGetRequest(id=_task().id), timeout=10)
        assert task.closure.compiled_task.template.container.image == "python:3.11"
        execution = stub.GetExecution(
            execution_pb2.WorkflowExecutionGetRequest(id=_execution_id("quick-one")), timeout=10
        )
        assert execution.closure.phase == WF.SUCCEEDED
        # registering the same task again is ALREADY_EXISTS: the stored one really is there
        try:
            stub.CreateTask(_task(), timeout=10)
            raise AssertionError("re-registration after restart should be ALREADY_EXISTS")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert BlobStore.path(native_url).read_bytes() == b"blob kept across restarts"


def test_kill_9_mid_execution_then_restart(tmp_path: Path) -> None:
    config = SandboxConfig(data_dir=tmp_path / "data", port=0)
    process = SandboxProcess(config).start()
    try:
        with grpc.insecure_channel(process.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            stub.CreateTask(_task(), timeout=30)
            _register_and_run(stub, "restart.done", 0, "finished-before")
            _wait_phase(stub, "finished-before", {WF.SUCCEEDED})
            _register_and_run(stub, "restart.long", 3600, "running-at-kill")
            _wait_phase(stub, "running-at-kill", {WF.RUNNING})
        native_url = _upload(process.endpoint, b"uploaded before the crash")
    finally:
        process.kill()
    assert process.process is not None and process.process.returncode == -9

    restarted = SandboxProcess(config).start()
    try:
        with grpc.insecure_channel(restarted.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            assert (
                stub.GetTask(common_pb2.ObjectGetRequest(id=_task().id), timeout=10).id.name == "restart.echo"
            )
            workflow = stub.GetWorkflow(
                common_pb2.ObjectGetRequest(id=_id(identifier_pb2.WORKFLOW, "restart.long")), timeout=10
            )
            assert workflow.closure.compiled_workflow.primary.template.nodes
            done = stub.GetExecution(
                execution_pb2.WorkflowExecutionGetRequest(id=_execution_id("finished-before")), timeout=10
            )
            assert done.closure.phase == WF.SUCCEEDED
            crashed = _wait_phase(
                stub, "running-at-kill", {WF.FAILED, WF.SUCCEEDED, WF.ABORTED, WF.TIMED_OUT}
            )
            assert crashed.closure.phase == WF.FAILED
            assert crashed.closure.error.code == "SandboxRestarted"
            assert crashed.closure.error.message
        assert BlobStore.path(native_url).read_bytes() == b"uploaded before the crash"
    finally:
        assert restarted.stop() == 0


def _task_processes(parent: int) -> list[int]:
    """Pids of the ``pyflyte-execute`` processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))
        if ppid == parent and b"pyflyte-execute" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.flytekit
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_kill_9_also_ends_running_task_processes(tmp_path: Path) -> None:
    """A task process of an execution running at the kill does not outlive the sandbox (its execution is failed)."""
    pytest.importorskip("flytekit")
    from tests.sandbox.flyte_code import tasks as code
    from tests.sandbox.test_engine_flytekit import REPO, serialize
    from tests.sandbox.test_engine_support import alive, lmap, start_task_execution

    template = serialize(code.sleepy)
    # cold task processes are children of the sandbox (warm ones: tests/sandbox/test_task_workers.py)
    config = SandboxConfig(data_dir=tmp_path / "data", port=0, task_pythonpath=(str(REPO),), task_workers="cold")
    process = SandboxProcess(config).start()
    try:
        with grpc.insecure_channel(process.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            start_task_execution(stub, template, "sleeping-at-kill", lmap(seconds=300.0))
            deadline = time.monotonic() + 60
            while not (tasks := _task_processes(process.pid)):
                assert time.monotonic() < deadline, "the task process never started"
                time.sleep(0.05)
    finally:
        process.kill()
    try:
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in tasks):
            assert time.monotonic() < deadline, f"task processes {tasks} outlived the killed sandbox"
            time.sleep(0.05)
    finally:
        for pid in tasks:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    restarted = SandboxProcess(config).start()
    try:
        with grpc.insecure_channel(restarted.endpoint) as channel:
            stub = admin_pb2_grpc.AdminServiceStub(channel)
            crashed = _wait_phase(stub, "sleeping-at-kill", {WF.FAILED, WF.SUCCEEDED, WF.ABORTED, WF.TIMED_OUT})
            assert crashed.closure.phase == WF.FAILED
            assert crashed.closure.error.code == "SandboxRestarted"
    finally:
        assert restarted.stop() == 0
