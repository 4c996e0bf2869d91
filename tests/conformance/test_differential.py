"""Differential tests: the same workflows run with flytekit's ``FlyteRemote`` and with ours on one sandbox must show
the same outputs, phases, node executions (ids, phases, outputs, children), task attempts and errors; and the
guide-style user script (``guide_script.py``) must see the same things whichever module its names come from.

The entities are real flytekit code (``workflows.py``, ``tests/sandbox/flyte_code/tasks.py``) registered by
flytekit; the sandbox runs their tasks as flytekit subprocesses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flytekit import workflow

from airflow_provider_flyte.remote import Config, FlyteRemote, Options
from airflow_provider_flyte.remote import errors as our_errors
from tests.conformance import workflows as wfs
from tests.conformance.guide_script import run_guide
from tests.sandbox.flyte_code import tasks as code

pytestmark = pytest.mark.flytekit

P, D = "flytesnacks", "development"
WAIT = {"timeout": timedelta(seconds=180), "poll_interval": timedelta(seconds=0.2)}


@workflow
def dynamic_wf(n: int) -> list[int]:
    return code.fan_out(n=n)


@workflow
def retry_wf() -> int:
    return code.flaky()


WORKFLOWS = (
    wfs.simple_wf,
    wfs.parent_wf,
    wfs.branch_wf,
    wfs.failing_wf,
    wfs.gated_wf,
    wfs.signal_wf,
    wfs.lp_parent_wf,
    dynamic_wf,
    retry_wf,
)


@pytest.fixture(scope="module")
def registered(fk_remote: Any) -> str:
    """Everything registered by flytekit under one version."""
    from flytekit.configuration import ImageConfig, SerializationSettings

    version = "d" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version
    )
    for wf in WORKFLOWS:
        fk_remote.register_workflow(wf, serialization_settings=settings, version=version)
    fk_remote.register_launch_plan(wfs.simple_lp, version=version, serialization_settings=settings)
    return version


@pytest.fixture(scope="module")
def ours(flytekit_sandbox: Any) -> Iterator[FlyteRemote]:
    with FlyteRemote(Config.for_sandbox(flytekit_sandbox.endpoint), P, D) as remote:
        yield remote


# --------------------------------------------------------------------------------------------------- views
# One view function for both clients: it uses only the attributes flytekit's guide shows, so it is itself a
# drop-in check (an attribute missing on our objects fails here).


def _values(resolver: Any) -> dict[str, Any] | None:
    """Decoded values, or None where the client has none (flytekit: start/end/gate nodes)."""
    if resolver is None:
        return None
    values = {name: resolver[name] for name in resolver}
    return values or None


def _outputs(execution: Any) -> dict[str, Any] | None:
    if not execution.is_done:
        return None
    try:
        return _values(execution.outputs)
    except Exception:
        return None


def _error(execution: Any, names: tuple[str, ...]) -> tuple[int, str, str] | None:
    err = execution.error if execution.is_done else None
    if err is None:
        return None
    message = err.message
    for name in names:
        message = message.replace(name, "<execution>")
    return (int(err.kind), err.code, message)


def _node_view(node: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "phase": node.closure.phase,
        "outputs": _outputs(node),
        "tasks": [(t.id.retry_attempt, t.closure.phase) for t in node.task_executions],
        "children": {k: _node_view(c, names) for k, c in node.subworkflow_node_executions.items()},
        "launched": [view(w, names) for w in node.workflow_executions],
    }


def view(execution: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """What a user sees of a finished execution (execution names normalised away)."""
    return {
        "phase": execution.closure.phase,
        "outputs": _outputs(execution),
        "error": _error(execution, names),
        "nodes": {k: _node_view(n, names) for k, n in execution.node_executions.items()},
    }


def _strip_unknown(theirs: Any, ours: Any) -> Any:
    """``ours`` with the output values flytekit does not load (None on its side) left out, recursively."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return {
            k: (None if k == "outputs" and theirs.get(k) is None else _strip_unknown(theirs.get(k), v))
            for k, v in ours.items()
        }
    if isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        return [_strip_unknown(t, o) for t, o in zip(theirs, ours, strict=True)]
    return ours


def run_both(
    fk_remote: Any,
    ours: FlyteRemote,
    name: str,
    inputs: dict[str, Any],
    act: Callable[[Any, str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Execute workflow ``name`` with each client (``act(remote, execution_name)`` in between), wait, sync nodes."""
    results = []
    for remote in (fk_remote, ours):
        wf = remote.fetch_workflow(name=name)
        execution = remote.execute(wf, inputs=inputs)
        if act is not None:
            act(remote, execution.id.name)
        execution = remote.wait(execution, **WAIT)
        execution = remote.sync(execution, sync_nodes=True)
        results.append(execution)
    names = tuple(e.id.name for e in results)
    theirs, mine = (view(e, names) for e in results)
    return theirs, mine


def assert_same(theirs: dict[str, Any], mine: dict[str, Any]) -> None:
    assert _strip_unknown(theirs, mine) == theirs


def _named(name: str) -> str:
    return f"tests.conformance.workflows.{name}"


# --------------------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        (_named("simple_wf"), {"x": 4, "name": "diff"}),
        (_named("parent_wf"), {"x": 3}),
        (_named("branch_wf"), {"x": -2}),
        (_named("lp_parent_wf"), {"x": 2}),
        (_named("failing_wf"), {"x": 7}),
        (f"{__name__}.retry_wf", {}),
    ],
    ids=["simple", "subworkflow", "branch", "launch-plan-node", "failure", "retries"],
)
def test_same_execution_as_flytekit(
    fk_remote: Any, ours: FlyteRemote, registered: str, name: str, inputs: dict[str, Any]
) -> None:
    theirs, mine = run_both(fk_remote, ours, name, inputs)
    assert theirs["phase"] in (4, 6) and theirs["nodes"]  # SUCCEEDED / FAILED, with nodes
    assert_same(theirs, mine)
    assert set(mine["nodes"]) == set(theirs["nodes"])


def test_failure_details_are_the_same(fk_remote: Any, ours: FlyteRemote, registered: str) -> None:
    theirs, mine = run_both(fk_remote, ours, _named("failing_wf"), {"x": 7})
    assert theirs["phase"] == mine["phase"] == 6  # FAILED
    assert theirs["error"] is not None and mine["error"] == theirs["error"]
    assert "explode was given 7" in mine["error"][2]
    (node,) = [n for k, n in mine["nodes"].items() if k not in ("start-node", "end-node")]
    assert node["tasks"] == [(0, 5)]  # one attempt, FAILED


def test_retry_attempts_are_the_same(fk_remote: Any, ours: FlyteRemote, registered: str) -> None:
    theirs, mine = run_both(fk_remote, ours, f"{__name__}.retry_wf", {})
    assert mine["outputs"] == theirs["outputs"] == {"o0": 1}
    assert [a for a, _ in mine["nodes"]["n0"]["tasks"]] == [0, 1]
    assert mine["nodes"]["n0"]["tasks"] == theirs["nodes"]["n0"]["tasks"]


def _dynamic_children(node: Any) -> dict[str, tuple[int, Any, Any, list[int]]]:
    """The generated nodes of a dynamic node: phase, inputs, outputs and task attempt phases, by node id."""
    out = {}
    for key, child in node.subworkflow_node_executions.items():
        if child.metadata.spec_node_id in ("start-node", "end-node"):
            continue
        tasks = [t.closure.phase for t in child.task_executions]
        out[key] = (child.closure.phase, _values(child.inputs), _values(child.outputs), tasks)
    return out


def test_dynamic_node_children(fk_remote: Any, ours: FlyteRemote, registered: str) -> None:
    """A flytekit ``@dynamic``: its node carries the compiled dynamic workflow (GetNodeExecutionData's
    ``dynamic_workflow``), so flytekit's own node sync walks it; both clients see the same node tree."""
    name = f"{__name__}.dynamic_wf"
    fk_execution = fk_remote.execute(fk_remote.fetch_workflow(name=name), inputs={"n": 3})
    fk_execution = fk_remote.wait(fk_execution, sync_nodes=False, **WAIT)
    fk_execution = fk_remote.sync(fk_execution, sync_nodes=True)
    execution = ours.execute(ours.fetch_workflow(name=name), inputs={"n": 3})
    execution = ours.wait(execution, **WAIT)
    assert execution.closure.phase == fk_execution.closure.phase == 4
    assert execution.outputs["o0"] == fk_execution.outputs["o0"] == [1, 2, 3]

    dyn, fk_dyn = execution.node_executions["n0"], fk_execution.node_executions["n0"]
    for node in (dyn, fk_dyn):
        assert node.metadata.is_dynamic and node.metadata.is_parent_node and node.closure.phase == 3
    assert dyn.inputs["n"] == fk_dyn.inputs["n"] == 3
    assert dyn.outputs["o0"] == fk_dyn.outputs["o0"] == [1, 2, 3]
    assert [(t.id.retry_attempt, t.closure.phase) for t in dyn.task_executions] == [(0, 3)]
    assert dyn.task_executions[0].inputs["n"] == 3  # the attempt's data, fetched once the node is done
    # flytekit's dynamic node lists its children's task executions (a list per child node, start and end
    # nodes included) instead of its own
    assert sorted(len(ts) for ts in fk_dyn.task_executions) == [0, 0, 1, 1, 1]

    mine, theirs = _dynamic_children(dyn), _dynamic_children(fk_dyn)
    assert mine == theirs
    assert len(mine) == 3 and all(k.startswith("n0-0-") for k in mine)
    assert sorted(v[2]["o0"] for v in mine.values()) == [1, 2, 3]
    assert sorted(v[1]["a"] for v in mine.values()) == [0, 1, 2]
    assert all(v[0] == 3 and v[3] == [3] for v in mine.values())


def _approve(remote: Any, execution_name: str) -> None:
    from tests.conformance.guide_script import _signal

    _signal(remote, execution_name, "approve-double")
    remote.approve("approve-double", execution_name)


def test_gate_node_is_the_same(fk_remote: Any, ours: FlyteRemote, registered: str) -> None:
    theirs, mine = run_both(fk_remote, ours, _named("gated_wf"), {"x": 5}, _approve)
    assert mine["outputs"] == theirs["outputs"] == {"o0": 20}
    assert_same(theirs, mine)


def test_error_families_are_the_same(fk_remote: Any, ours: FlyteRemote, registered: str) -> None:
    from flytekit.exceptions import user as fk_user

    lp_name = _named("simple_wf")
    # unknown entity
    with pytest.raises(fk_user.FlyteEntityNotExistException):
        fk_remote.fetch_workflow(name="does.not.exist", version=registered)
    with pytest.raises(our_errors.FlyteEntityNotFoundError):
        ours.fetch_workflow(name="does.not.exist", version=registered)
    # bad input type: flytekit's TypeEngine and our codec both refuse before any RPC
    fk_lp = fk_remote.fetch_launch_plan(name=lp_name, version=registered)
    with pytest.raises((TypeError, ValueError, fk_user.FlyteTypeException)):
        fk_remote.execute(fk_lp, inputs={"x": "not a number"})
    our_lp = ours.fetch_launch_plan(name=lp_name, version=registered)
    with pytest.raises(our_errors.FlyteTypeError, match="x"):
        ours.execute(our_lp, inputs={"x": "not a number"})
    # duplicate name: both clients return the execution that already holds the name (nothing runs twice) ...
    name = "dup" + uuid.uuid4().hex[:8]
    first = fk_remote.execute(fk_lp, inputs={"x": 1}, execution_name=name)
    assert fk_remote.execute(fk_lp, inputs={"x": 1}, execution_name=name).id.name == name
    assert ours.execute(our_lp, inputs={"x": 1}, execution_name=name).id.name == first.id.name
    # ... and the server's answer underneath is ALREADY_EXISTS for both
    from flytekit.models import literals as fk_literals
    from flytekit.models.execution import ExecutionMetadata, ExecutionSpec

    spec = ExecutionSpec(fk_lp.id, ExecutionMetadata(ExecutionMetadata.ExecutionMode.MANUAL, "test", 0))
    with pytest.raises(fk_user.FlyteEntityAlreadyExistsException):
        fk_remote.client.create_execution(P, D, name, spec, fk_literals.LiteralMap({}))
    from airflow_provider_flyte.remote.ops.call import ADMIN, Call
    from airflow_provider_flyte.remote.ops.executions import build_execution_request

    def create_raw() -> Any:
        response = yield Call(
            ADMIN,
            "CreateExecution",
            build_execution_request(our_lp, None, project=P, domain=D, name=name),
            False,
        )
        return response

    with pytest.raises(our_errors.FlyteEntityAlreadyExistsError):
        ours._run(create_raw())


def test_guide_script_sees_the_same_with_both_clients(
    flytekit_sandbox: Any, registered: str, tmp_path: Path
) -> None:
    import flytekit.configuration
    import flytekit.remote

    upload = tmp_path / "guide-data.csv"
    upload.write_text("a,b\n1,2\n")
    fk_api = SimpleNamespace(
        FlyteRemote=flytekit.remote.FlyteRemote,
        Config=flytekit.configuration.Config,
        Options=flytekit.remote.Options if hasattr(flytekit.remote, "Options") else _fk_options(),
    )
    our_api = SimpleNamespace(FlyteRemote=FlyteRemote, Config=Config, Options=Options)
    theirs = run_guide(fk_api, flytekit_sandbox.endpoint, upload)
    mine = run_guide(our_api, flytekit_sandbox.endpoint, upload)
    families = {
        "FlyteEntityNotExistException": "FlyteEntityNotFoundError",
        "FlyteAssertion": "FlyteAssertionError",
    }
    theirs = {k: families.get(v, v) if isinstance(v, str) else v for k, v in theirs.items()}
    assert mine == theirs
    assert mine["lp.outputs"] == {"o0": 8, "o1": "hello guide"} and mine["lp.max_parallelism"] == 7
    assert mine["lp.state"] == (True, True, 4) and mine["lp.keys"] == ["o0", "o1"]
    assert mine["lp.url"].endswith("/console/projects/flytesnacks/domains/development/executions/<name>")
    assert mine["gate.o0"] == 20 and mine["input.o0"] == "hello guide" and mine["stop.phase"] == 7  # ABORTED


def _fk_options() -> Any:
    from flytekit.tools.translator import Options as FkOptions

    return FkOptions
