"""A user script written as flytekit's "Executing Flyte Entities" guide teaches, parameterised only by where the
names come from (``api.FlyteRemote``, ``api.Config``, ``api.Options``).

``tests/conformance/test_differential.py`` runs it once with flytekit's modules and once with
``airflow_provider_flyte.remote`` against the same sandbox (entities of ``tests/conformance/workflows.py``, registered
by flytekit) and compares what it returns: the same script, unchanged, must see the same things.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

MODULE = "tests.conformance.workflows"
TIMEOUT = timedelta(seconds=180)
POLL = timedelta(seconds=0.2)  # flytekit's default poll interval is 30 s


def _signal(remote: Any, execution_name: str, signal_id: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for signal in remote.list_signals(execution_name):
            if signal.id.signal_id == signal_id:
                return signal
        time.sleep(0.1)
    raise AssertionError(f"signal {signal_id} never appeared")


def _family(exc: BaseException) -> str:
    """The name of the exception class, for the caller to map onto its client's family."""
    return type(exc).__name__


def run_guide(api: SimpleNamespace, endpoint: str, upload: Path) -> dict[str, Any]:
    """Everything the guide shows, on ``endpoint``; returns what a user would look at."""
    remote = api.FlyteRemote(
        config=api.Config.for_endpoint(endpoint=endpoint, insecure=True),
        default_project="flytesnacks",
        default_domain="development",
    )
    seen: dict[str, Any] = {}

    # a launch plan with inputs and options, then remote.wait and remote.sync(sync_nodes=True)
    lp = remote.fetch_launch_plan(name=f"{MODULE}.simple_wf")
    execution = remote.execute(lp, inputs={"x": 4, "name": "guide"}, options=api.Options(max_parallelism=7))
    assert execution.id.name
    execution = remote.wait(execution, timeout=TIMEOUT, poll_interval=POLL)
    seen["lp.phase"] = execution.closure.phase
    seen["lp.max_parallelism"] = execution.spec.max_parallelism
    seen["lp.o0.get"] = execution.outputs.get("o0")
    seen["lp.o1.item"] = execution.outputs["o1"]
    seen["lp.outputs"] = {name: execution.outputs[name] for name in execution.outputs}
    seen["lp.inputs"] = {name: execution.inputs[name] for name in execution.inputs}
    execution = execution.sync()  # the execution object's own sync, as well as remote.sync below
    seen["lp.state"] = (execution.is_done, execution.is_successful, execution.closure.phase)
    seen["lp.keys"] = sorted(execution.outputs.keys())
    seen["lp.url"] = execution.execution_url.split("://", 1)[-1].replace(execution.id.name, "<name>")
    execution = remote.sync(execution, sync_nodes=True)
    seen["lp.nodes"] = {node_id: n.closure.phase for node_id, n in execution.node_executions.items()}
    n0 = execution.node_executions["n0"]
    seen["lp.n0.o0"] = n0.outputs["o0"]
    seen["lp.n0.attempt"] = n0.task_executions[0].id.retry_attempt
    seen["lp.n0.attempt.phase"] = n0.task_executions[0].closure.phase

    # a workflow (its default launch plan) with a subworkflow, waited on through the execution object
    wf = remote.fetch_workflow(name=f"{MODULE}.parent_wf")
    wf_execution = remote.execute(wf, inputs={"x": 3})
    wf_execution = wf_execution.wait(timeout=TIMEOUT, poll_interval=POLL)
    seen["wf.o0"] = wf_execution.outputs["o0"]
    seen["wf.nodes"] = sorted(wf_execution.node_executions)

    # a single task
    task = remote.fetch_task(name=f"{MODULE}.double")
    task_execution = remote.wait(remote.execute(task, inputs={"x": 21}), timeout=TIMEOUT, poll_interval=POLL)
    seen["task.o0"] = task_execution.outputs["o0"]

    # an approval gate
    gated = remote.fetch_workflow(name=f"{MODULE}.gated_wf")
    gated_execution = remote.execute(gated, inputs={"x": 5})
    signal = _signal(remote, gated_execution.id.name, "approve-double")
    seen["gate.signal"] = (signal.id.signal_id, signal.type.simple)
    remote.approve("approve-double", gated_execution.id.name)
    seen["gate.o0"] = remote.wait(gated_execution, timeout=TIMEOUT, poll_interval=POLL).outputs["o0"]

    # a typed input signal
    asking = remote.execute(remote.fetch_workflow(name=f"{MODULE}.signal_wf"), inputs={"x": 2})
    signal = _signal(remote, asking.id.name, "title")
    seen["input.signal"] = (signal.id.signal_id, signal.type.simple)
    remote.set_input("title", asking.id.name, "guide")
    seen["input.o0"] = remote.wait(asking, timeout=TIMEOUT, poll_interval=POLL).outputs["o0"]

    # a failure
    failing = remote.execute(remote.fetch_workflow(name=f"{MODULE}.failing_wf"), inputs={"x": 7})
    failing = remote.wait(failing, timeout=TIMEOUT, poll_interval=POLL)
    seen["fail.phase"] = failing.closure.phase
    seen["fail.error"] = (
        failing.error.kind,
        failing.error.code,
        "explode was given 7" in failing.error.message,
    )
    try:
        _ = failing.outputs
    except Exception as exc:
        seen["fail.outputs"] = _family(exc)

    # terminate a running execution
    stopped = remote.execute(gated, inputs={"x": 1})
    _signal(remote, stopped.id.name, "approve-double")
    remote.terminate(stopped, cause="stopped by the guide")
    stopped = remote.wait(stopped, timeout=TIMEOUT, poll_interval=POLL)
    seen["stop.phase"] = stopped.closure.phase

    # upload a file through the data proxy
    md5_bytes, native_url = remote.upload_file(upload)
    seen["upload"] = (md5_bytes, native_url.rsplit("/", 1)[-1])

    # errors
    try:
        remote.fetch_launch_plan(name="no.such.launch_plan", version="v0")
    except Exception as exc:
        seen["error.unknown"] = _family(exc)
    return seen


__all__ = ["run_guide"]
