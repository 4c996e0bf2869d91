"""Propeller/admin fidelity over real gRPC, with flytekit's own FlyteRemote as the client: map tasks (array nodes),
dynamic workflows in node data, branch node records, the task cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import node_execution_pb2
from flyteidl.core import catalog_pb2, identifier_pb2
from flyteidl.service import admin_pb2_grpc

from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox

flytekit = pytest.importorskip("flytekit")

pytestmark = pytest.mark.flytekit

P, D = "flytesnacks", "development"
REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT = {"timeout": timedelta(seconds=120), "poll_interval": timedelta(seconds=0.1)}
MAPPING = "tests.sandbox.flyte_code.mapping"
CACHE = catalog_pb2.CatalogCacheStatus


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxThread]:
    config = SandboxConfig(
        data_dir=tmp_path_factory.mktemp("fidelity"), port=0, task_pythonpath=(str(REPO_ROOT),)
    )
    with run_sandbox(config) as running:
        yield running


@pytest.fixture(scope="module")
def admin(sandbox: SandboxThread) -> Iterator[Any]:
    channel = grpc.insecure_channel(sandbox.endpoint)
    yield admin_pb2_grpc.AdminServiceStub(channel)
    channel.close()


@pytest.fixture(scope="module")
def remote(sandbox: SandboxThread) -> Any:
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    from tests.conformance import workflows as conformance
    from tests.sandbox.flyte_code import mapping, tasks

    fk = FlyteRemote(
        Config.for_endpoint(sandbox.endpoint, insecure=True), default_project=P, default_domain=D
    )
    version = "f" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version
    )
    from flytekit import workflow

    @workflow
    def fan_out_wf(n: int) -> list[int]:
        return tasks.fan_out(n=n)

    for wf in (mapping.map_wf, mapping.tolerant_map_wf, mapping.cached_wf, conformance.branch_wf, fan_out_wf):
        fk.register_workflow(wf, serialization_settings=settings, version=version)
    fk.version = version
    fk.fan_out_name = fan_out_wf.name
    return fk


def run(remote: Any, name: str, **inputs: Any) -> Any:
    execution = remote.execute(remote.fetch_workflow(name=name, version=remote.version), inputs=inputs)
    execution = remote.wait(execution, **WAIT)
    return remote.sync(execution, sync_nodes=True)


def node_id(execution: Any, node: str) -> identifier_pb2.NodeExecutionIdentifier:
    e = execution.id
    out = identifier_pb2.NodeExecutionIdentifier(node_id=node)
    out.execution_id.project, out.execution_id.domain, out.execution_id.name = e.project, e.domain, e.name
    return out


# ----------------------------------------------------------------------------------------------- array nodes


def test_map_task_runs_each_index_as_a_subtask(remote: Any) -> None:
    execution = run(remote, f"{MAPPING}.map_wf", xs=[1, 2, 3], y=10)
    assert execution.closure.phase == 4, execution.error
    assert execution.outputs["o0"] == [11, 14, 19]
    node = execution.node_executions["n0"]
    assert node.metadata.is_array and not node.metadata.is_parent_node
    assert node.inputs["x"] == [1, 2, 3] and node.outputs["o0"] == [11, 14, 19]
    (task_execution,) = node.task_executions
    assert task_execution.closure.phase == 3
    resources = task_execution.closure.metadata.external_resources
    assert [(r.index, r.retry_attempt, r.phase) for r in resources] == [(0, 0, 3), (1, 0, 3), (2, 0, 3)]
    assert task_execution.outputs["o0"] == [11, 14, 19]
    # subtasks are not node executions of their own
    assert set(execution.node_executions) == {"start-node", "n0", "end-node"}


def test_map_task_min_success_ratio_tolerates_failures(remote: Any) -> None:
    execution = run(remote, f"{MAPPING}.tolerant_map_wf", xs=[1, -2, 3])
    assert execution.closure.phase == 4, execution.error
    assert execution.outputs["o0"] == [2, None, 12]
    resources = execution.node_executions["n0"].task_executions[0].closure.metadata.external_resources
    assert [r.phase for r in resources] == [3, 5, 3]  # SUCCEEDED, FAILED, SUCCEEDED

    failing = run(remote, f"{MAPPING}.tolerant_map_wf", xs=[-1, -2, 3])
    assert failing.closure.phase == 6
    assert "square_plus refuses" in failing.error.message


# ----------------------------------------------------------------------------------------------- dynamic nodes


def test_dynamic_node_data_carries_the_compiled_workflow(remote: Any, admin: Any) -> None:
    execution = run(remote, remote.fan_out_name, n=2)
    assert execution.closure.phase == 4 and execution.outputs["o0"] == [1, 2]
    data = admin.GetNodeExecutionData(
        node_execution_pb2.NodeExecutionGetDataRequest(id=node_id(execution, "n0"))
    )
    dynamic = data.dynamic_workflow
    assert dynamic.id.name == "dynamic_n0" and dynamic.id.resource_type == identifier_pb2.WORKFLOW
    assert dynamic.id.project == P and len(dynamic.id.version) == 10
    assert dynamic.dynamic_job_spec_uri.endswith("/n0/0/futures.pb")
    primary = dynamic.compiled_workflow.primary
    assert primary.template.id == dynamic.id
    assert primary.template.nodes[0].id == "start-node"
    assert primary.connections.upstream["end-node"].ids
    assert {t.template.id.name for t in dynamic.compiled_workflow.tasks} == {
        "tests.sandbox.flyte_code.tasks.add_numbers"
    }
    got = admin.GetDynamicNodeWorkflow(
        node_execution_pb2.GetDynamicNodeWorkflowRequest(id=node_id(execution, "n0"))
    )
    assert got.compiled_workflow == dynamic.compiled_workflow
    node = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id(execution, "n0")))
    assert node.closure.dynamic_job_spec_uri == dynamic.dynamic_job_spec_uri
    assert node.metadata.is_dynamic and node.metadata.is_parent_node
    with pytest.raises(grpc.RpcError) as info:
        admin.GetDynamicNodeWorkflow(
            node_execution_pb2.GetDynamicNodeWorkflowRequest(id=node_id(execution, "start-node"))
        )
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == "node does not contain dynamic workflow"


# ----------------------------------------------------------------------------------------------- branch nodes


def test_branch_node_records_only_the_taken_case(remote: Any, admin: Any) -> None:
    execution = run(remote, "tests.conformance.workflows.branch_wf", x=-2)
    assert execution.outputs["o0"] == -6
    branch = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id(execution, "n0")))
    assert not branch.metadata.is_parent_node
    children = admin.ListNodeExecutions(
        node_execution_pb2.NodeExecutionListRequest(
            workflow_execution_id=branch.id.execution_id, limit=10, unique_parent_id="n0"
        )
    ).node_executions
    assert [(c.id.node_id, c.metadata.spec_node_id, c.closure.phase) for c in children] == [
        # the else case, named <branch>-<node> by the compiler; the untaken if case has no record (propeller
        # sends it no event)
        ("n0-0-n0-n1", "n0-n1", 3)
    ]
    flytekit_children = execution.node_executions["n0"].subworkflow_node_executions
    assert list(flytekit_children) == ["n0-0-n0-n1"]


# ----------------------------------------------------------------------------------------------- cache


def test_cached_task_hits_on_the_second_run(remote: Any, admin: Any) -> None:
    x = int(uuid.uuid4().int % 10_000)
    first = run(remote, f"{MAPPING}.cached_wf", x=x)
    second = run(remote, f"{MAPPING}.cached_wf", x=x)
    assert first.outputs["o0"] == second.outputs["o0"] == x * x
    n1 = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id(first, "n0")))
    n2 = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id(second, "n0")))
    assert n1.closure.task_node_metadata.cache_status == CACHE.CACHE_POPULATED
    assert n2.closure.task_node_metadata.cache_status == CACHE.CACHE_HIT
    assert n2.closure.task_node_metadata.catalog_key.source_task_execution.node_execution_id == n1.id
    assert len(first.node_executions["n0"].task_executions) == 1
    assert second.node_executions["n0"].task_executions == []  # the task did not run
    assert second.node_executions["n0"].outputs["o0"] == x * x

    relaunched = remote.execute(
        remote.fetch_workflow(name=f"{MAPPING}.cached_wf", version=remote.version),
        inputs={"x": x},
        overwrite_cache=True,
    )
    relaunched = remote.sync(remote.wait(relaunched, **WAIT), sync_nodes=True)
    n3 = admin.GetNodeExecution(node_execution_pb2.NodeExecutionGetRequest(id=node_id(relaunched, "n0")))
    assert n3.closure.task_node_metadata.cache_status == CACHE.CACHE_POPULATED
    assert len(relaunched.node_executions["n0"].task_executions) == 1
