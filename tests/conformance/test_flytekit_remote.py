"""flytekit's own FlyteRemote, an independent client, against the sandbox: register, execute, wait, read
outputs and node executions, approve a gate, and get flyteadmin's errors."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.conformance import workflows as wfs

pytestmark = pytest.mark.flytekit


def _settings(version: str) -> Any:
    from flytekit.configuration import ImageConfig, SerializationSettings

    return SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        project="flytesnacks",
        domain="development",
        version=version,
    )


@pytest.fixture(scope="module")
def version() -> str:
    return "v" + uuid.uuid4().hex[:10]


def _wait(fk_remote: Any, execution: Any) -> Any:
    from datetime import timedelta

    return fk_remote.wait(execution, timeout=timedelta(seconds=180), poll_interval=timedelta(seconds=0.3))


def _run(fk_remote: Any, entity: Any, inputs: dict[str, Any]) -> Any:
    return _wait(fk_remote, fk_remote.execute(entity, inputs=inputs))


def _phase_name(phase: int) -> str:
    from flytekit.models.core.execution import WorkflowExecutionPhase

    return str(WorkflowExecutionPhase.enum_to_string(phase))


def test_register_execute_wait_outputs_and_nodes(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.simple_wf, serialization_settings=_settings(version), version=version)
    execution = _run(fk_remote, wf, {"x": 4, "name": "airflow"})
    assert _phase_name(execution.closure.phase) == "SUCCEEDED"
    assert execution.outputs["o0"] == 8
    assert execution.outputs["o1"] == "hello airflow"
    execution = fk_remote.sync(execution, sync_nodes=True)
    node_ids = set(execution.node_executions)
    assert {"n0", "n1"} <= node_ids
    n0 = execution.node_executions["n0"]
    assert n0.is_done and n0.outputs["o0"] == 8
    assert n0.task_executions and n0.task_executions[0].id.retry_attempt == 0


def test_defaults_are_filled_by_the_server(fk_remote: Any, version: str) -> None:
    wf = fk_remote.fetch_workflow(name="tests.conformance.workflows.simple_wf", version=version)
    execution = _run(fk_remote, wf, {})
    assert execution.outputs["o0"] == 6 and execution.outputs["o1"] == "hello flyte"


def test_launch_plan_with_fixed_inputs(fk_remote: Any, version: str) -> None:
    lp = fk_remote.register_launch_plan(wfs.simple_lp, version=version, serialization_settings=_settings(version))
    execution = _run(fk_remote, lp, {"x": 5})
    assert execution.outputs["o0"] == 10 and execution.outputs["o1"] == "hello lp"


def test_subworkflow_and_branch(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.parent_wf, serialization_settings=_settings(version), version=version)
    execution = _run(fk_remote, wf, {"x": 3})
    assert execution.outputs["o0"] == 12
    br = fk_remote.register_workflow(wfs.branch_wf, serialization_settings=_settings(version), version=version)
    assert _run(fk_remote, br, {"x": -2}).outputs["o0"] == -6


def test_launch_plan_node_runs_a_child_execution(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.lp_parent_wf, serialization_settings=_settings(version), version=version)
    execution = _run(fk_remote, wf, {"x": 2})
    assert execution.outputs["o0"] == 4 and execution.outputs["o1"] == "hello lp"


def _wait_for_signal(fk_remote: Any, execution_name: str, signal_id: str) -> Any:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for signal in fk_remote.list_signals(execution_name):
            if signal.id.signal_id == signal_id:
                return signal
        time.sleep(0.2)
    raise AssertionError(f"signal {signal_id} never appeared")


def test_approve_gate_node(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.gated_wf, serialization_settings=_settings(version), version=version)
    execution = fk_remote.execute(wf, inputs={"x": 5})
    _wait_for_signal(fk_remote, execution.id.name, "approve-double")
    fk_remote.approve("approve-double", execution.id.name)
    execution = _wait(fk_remote, execution)
    assert execution.outputs["o0"] == 20


def test_reject_gate_node_fails_execution(fk_remote: Any, version: str) -> None:
    wf = fk_remote.fetch_workflow(name="tests.conformance.workflows.gated_wf", version=version)
    execution = fk_remote.execute(wf, inputs={"x": 1})
    _wait_for_signal(fk_remote, execution.id.name, "approve-double")
    fk_remote.reject("approve-double", execution.id.name)
    execution = _wait(fk_remote, execution)
    assert _phase_name(execution.closure.phase) == "FAILED"
    assert "reject" in execution.error.message


def test_set_typed_signal(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.signal_wf, serialization_settings=_settings(version), version=version)
    execution = fk_remote.execute(wf, inputs={"x": 1})
    _wait_for_signal(fk_remote, execution.id.name, "title")
    fk_remote.set_input("title", execution.id.name, "signals")
    execution = _wait(fk_remote, execution)
    assert execution.outputs["o0"] == "hello signals"


def test_user_error_is_reported(fk_remote: Any, version: str) -> None:
    wf = fk_remote.register_workflow(wfs.failing_wf, serialization_settings=_settings(version), version=version)
    execution = _run(fk_remote, wf, {"x": 7})
    assert _phase_name(execution.closure.phase) == "FAILED"
    assert "explode was given 7" in execution.error.message
    from flytekit.exceptions.user import FlyteAssertion

    with pytest.raises(FlyteAssertion):
        _ = execution.outputs


def test_errors_match_flyteadmin(fk_remote: Any, version: str) -> None:
    from flytekit.exceptions.user import (
        FlyteEntityAlreadyExistsException,
        FlyteEntityNotExistException,
        FlyteInvalidInputException,
    )
    from flytekit.models import literals as lit_models
    from flytekit.models.core.identifier import Identifier, ResourceType

    # unknown entity
    with pytest.raises(FlyteEntityNotExistException):
        fk_remote.fetch_workflow(name="does.not.exist", version=version)

    wf = fk_remote.fetch_workflow(name="tests.conformance.workflows.simple_wf", version=version)
    lp_id = Identifier(ResourceType.LAUNCH_PLAN, "flytesnacks", "development", wf.id.name, version)
    client = fk_remote.client

    # bad input type: a string for an int input
    bad = lit_models.LiteralMap({"x": lit_models.Literal(scalar=lit_models.Scalar(primitive=lit_models.Primitive(string_value="nope")))})
    with pytest.raises(FlyteInvalidInputException) as bad_type:
        client.create_execution("flytesnacks", "development", "badtype" + uuid.uuid4().hex[:8],
                                _exec_spec(lp_id), bad)
    assert "invalid x input wrong type" in str(bad_type.value)

    # duplicate execution name
    name = "dup" + uuid.uuid4().hex[:8]
    good = lit_models.LiteralMap({"x": lit_models.Literal(scalar=lit_models.Scalar(primitive=lit_models.Primitive(integer=1)))})
    client.create_execution("flytesnacks", "development", name, _exec_spec(lp_id), good)
    with pytest.raises(FlyteEntityAlreadyExistsException):
        client.create_execution("flytesnacks", "development", name, _exec_spec(lp_id), good)

    # re-registration with different content: same task id, different image
    task = client.get_task(Identifier(ResourceType.TASK, "flytesnacks", "development",
                                      "tests.conformance.workflows.double", version))
    template = task.closure.compiled_task.template
    changed = template.to_flyte_idl()
    changed.container.image = "other-image:latest"
    from flytekit.models.task import TaskSpec, TaskTemplate

    with pytest.raises(FlyteInvalidInputException) as different:
        client.create_task(task.id, TaskSpec(TaskTemplate.from_flyte_idl(changed)))
    assert "different structure" in str(different.value)
    # identical re-registration is ALREADY_EXISTS (flytekit's register ignores it)
    with pytest.raises(FlyteEntityAlreadyExistsException):
        client.create_task(task.id, TaskSpec(template))


def _exec_spec(lp_id: Any) -> Any:
    from flytekit.models.execution import ExecutionMetadata, ExecutionSpec

    return ExecutionSpec(lp_id, ExecutionMetadata(ExecutionMetadata.ExecutionMode.MANUAL, "test", 0))
