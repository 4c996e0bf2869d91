"""Item 6: what a flytekit integration suite exercises behaves as on a cluster: dynamic workflows and map tasks
(failures, ``min_success_ratio``), eager workflows, reference tasks and launch plans, launch plan nodes,
``fetch_active_launchplan``, resource overrides and ``interruptible``, failure nodes, gate nodes (signals),
registering a package twice, and flyteadmin's not-found errors."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from flyteidl.admin import common_pb2, task_execution_pb2
from flyteidl.core import identifier_pb2

from tests.sandbox.fidelity.conftest import Pyflyte, register_args
from tests.sandbox.fidelity.helpers import (
    FAILED,
    NODE_FAILED,
    NODE_SUCCEEDED,
    PACKAGE,
    SUCCEEDED,
    VERSION,
    WAIT,
    entity,
    node_records,
    run,
)

pytestmark = pytest.mark.flytekit


def test_dynamic_workflow(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "dynamic.dynamic_wf", n=3)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == [0, 1, 4]
    node = execution.node_executions["n0"]
    assert node.metadata.is_dynamic and node.metadata.is_parent_node


def test_dynamic_workflow_with_a_branch_reusing_node_ids(remote: Any, registered: str) -> None:
    big = run(remote, registered, "dynamic.branching_dynamic_wf", n=3)  # 9 > 4: square(9)
    small = run(remote, registered, "dynamic.branching_dynamic_wf", n=1)  # 1: refuse_negative(1)
    assert (big.closure.phase, small.closure.phase) == (SUCCEEDED, SUCCEEDED), (big.error, small.error)
    assert (big.outputs["o0"], small.outputs["o0"]) == (81, 101)


def test_failing_dynamic_workflow_reports_the_task_error(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "dynamic.failing_dynamic_wf", xs=[1, -1])
    assert execution.closure.phase == FAILED
    assert "refusing negative value -1" in execution.error.message


def test_map_task_failure_and_min_success_ratio(remote: Any, registered: str) -> None:
    failed = run(remote, registered, "dynamic.map_wf", xs=[1, -1])
    assert failed.closure.phase == FAILED
    assert "refusing negative value -1" in failed.error.message
    tolerant = run(remote, registered, "dynamic.tolerant_map_wf", xs=[1, -1, 2])
    assert tolerant.closure.phase == SUCCEEDED, tolerant.error
    assert tolerant.outputs["o0"] == [101, None, 102]


def test_eager_workflow_launches_its_tasks_through_the_sandbox(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "eager_flows.eager_wf", x=5)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 12  # plus_one(5) = 6 > 5: twice(6)


def test_launch_plan_node_and_active_launch_plans(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "launchplans.calls_lp_wf", name="x")
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == "hello, x!"
    active = remote.fetch_active_launchplan(name=entity("launchplans.hello_lp"))
    assert active is not None and active.id.version == VERSION
    assert remote.fetch_active_launchplan(name=entity("launchplans.nope")) is None


def test_reference_task_and_launch_plan(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "fidelity_refs.references.uses_references_wf", x=2)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 4
    assert execution.outputs["o1"] == "hello, refs!"


def test_resource_overrides_and_interruptible(remote: Any, admin: Any, registered: str) -> None:
    execution = run(remote, registered, "overrides.overrides_wf", x=1)
    assert execution.closure.phase == SUCCEEDED, execution.error
    # the task sees whether it is interruptible (the node override wins over the task's interruptible=False)
    assert (execution.outputs["o0"], execution.outputs["o1"]) == ("1:false", "1:true")
    # task executions report the instance class as propeller's (DEFAULT 0, INTERRUPTIBLE 1)
    instance_classes = []
    for node in ("n0", "n1"):
        request = task_execution_pb2.TaskExecutionListRequest(limit=10)
        request.node_execution_id.node_id = node
        request.node_execution_id.execution_id.CopyFrom(execution.id.to_flyte_idl())
        (attempt,) = admin.ListTaskExecutions(request).task_executions
        instance_classes.append(attempt.closure.metadata.instance_class)
    assert instance_classes == [0, 1]
    wf = remote.fetch_workflow(name=entity("overrides.overrides_wf"), version=registered)
    compiled = admin.GetWorkflow(common_pb2.ObjectGetRequest(id=wf.id.to_flyte_idl())).closure.compiled_workflow
    node = {n.id: n for n in compiled.primary.template.nodes}["n1"]
    assert node.metadata.interruptible and node.metadata.name == "big-one"
    assert node.metadata.retries.retries == 2
    requests = {r.name: r.value for r in node.task_node.overrides.resources.requests}
    assert requests == {1: "2", 3: "300Mi"}  # CPU, MEMORY


def test_failure_node_runs_and_the_workflow_fails_with_the_task_error(remote: Any, registered: str) -> None:
    execution = run(remote, registered, "failures.failing_wf", name="a")
    assert execution.closure.phase == FAILED
    assert "a exploded" in execution.error.message
    records = node_records(remote, execution)
    assert ("n0", "n0", NODE_FAILED) in records
    (failure_node,) = [r for r in records if r[0] not in ("n0", "start-node")]
    assert failure_node[2] == NODE_SUCCEEDED
    # the failure node got the workflow's error in its err input, and the workflow's inputs
    node_inputs = execution.node_executions[failure_node[0]].inputs
    assert node_inputs["name"] == "a"
    assert "a exploded" in node_inputs["err"].message


def test_gate_nodes_wait_for_signals(remote: Any, registered: str) -> None:
    wf = remote.fetch_workflow(name=entity("signals.gate_wf"), version=registered)
    execution = remote.execute(wf, inputs={"x": 1})
    name = execution.id.name
    deadline = time.monotonic() + 60
    while {s.id.signal_id for s in remote.list_signals(name)} != {"extra"}:
        assert time.monotonic() < deadline, "the wait_for_input gate never asked for its signal"
        time.sleep(0.2)
    remote.set_signal("extra", name, 5)
    while "review" not in {s.id.signal_id for s in remote.list_signals(name)}:
        assert time.monotonic() < deadline, "the approve gate never asked for its signal"
        time.sleep(0.2)
    remote.set_signal("review", name, True)
    execution = remote.wait(execution, **WAIT)
    assert execution.closure.phase == SUCCEEDED, execution.error
    assert execution.outputs["o0"] == 7  # 1 + 5, approved, + 1


def test_registering_the_same_package_twice_succeeds(pyflyte: Pyflyte, registered: str) -> None:
    again = pyflyte(*register_args(PACKAGE, registered))
    assert again.returncode == 0


def test_not_found_errors_carry_flyteadmin_codes_and_messages(remote: Any, admin: Any, registered: str) -> None:
    from flytekit.exceptions.user import FlyteEntityNotExistException

    with pytest.raises(FlyteEntityNotExistException):
        remote.fetch_task(name=entity("nope"), version=registered)
    missing = identifier_pb2.Identifier(
        resource_type=identifier_pb2.TASK,
        project="flytesnacks",
        domain="development",
        name=entity("nope"),
        version=registered,
    )
    with pytest.raises(grpc.RpcError) as info:
        admin.GetTask(common_pb2.ObjectGetRequest(id=missing))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details().startswith("missing entity of type TASK with identifier ")


def test_missing_executions_and_launch_plans_are_not_found(remote: Any, admin: Any, registered: str) -> None:
    from flyteidl.admin import execution_pb2
    from flytekit.exceptions.user import FlyteEntityNotExistException

    with pytest.raises(FlyteEntityNotExistException):
        remote.fetch_execution(name="nosuchexecution")
    with pytest.raises(FlyteEntityNotExistException):
        remote.fetch_launch_plan(name=entity("nope"), version=registered)
    request = execution_pb2.WorkflowExecutionGetRequest()
    request.id.project, request.id.domain, request.id.name = "flytesnacks", "development", "nosuchexecution"
    with pytest.raises(grpc.RpcError) as info:
        admin.GetExecution(request)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details().startswith("missing entity of type execution with identifier ")
