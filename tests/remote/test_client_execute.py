"""Registering, fetching and executing entities against the sandbox over real gRPC."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flyteidl.admin import common_pb2, workflow_pb2
from flyteidl.core import execution_pb2, identifier_pb2, literals_pb2, security_pb2

from airflow_provider_flyte.remote import Config, FlyteRemote, Options, specs
from airflow_provider_flyte.remote.errors import (
    FlyteEntityNotFoundError,
    FlyteInvalidInputError,
    FlyteRegistrationError,
    FlyteTypeError,
)
from airflow_provider_flyte.remote.models import FlyteLaunchPlan, FlyteTask, FlyteWorkflow
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"


class Entities:
    def __init__(self, remote: FlyteRemote) -> None:
        self.version = "v" + uuid.uuid4().hex[:8]
        self.task = remote.register_task(
            inprocess_task(
                "c2.add",
                f"{BUILTINS}:add",
                inputs={"a": int, "b": int},
                outputs={"o0": int},
                version=self.version,
            )
        )
        inputs = {"a": specs.simple_type("INTEGER"), "b": specs.simple_type("INTEGER")}
        template = specs.workflow_template(
            specs.identifier("WORKFLOW", P, D, "c2.wf", self.version),
            specs.interface(inputs, {"o0": specs.simple_type("INTEGER")}),
            [
                specs.task_node(
                    "n0",
                    self.task.id,
                    {
                        "a": specs.binding_from_promise("start-node", "a"),
                        "b": specs.binding_from_promise("start-node", "b"),
                    },
                )
            ],
            outputs={"o0": specs.binding_from_promise("n0", "o0")},
        )
        self.workflow = remote.register_workflow(workflow_pb2.WorkflowSpec(template=template))
        self.lp = remote.fetch_launch_plan(name="c2.wf", version=self.version)
        one = literals_pb2.Literal()
        one.scalar.primitive.integer = 1
        fixed_spec = specs.launch_plan_spec(self.workflow.id, fixed_inputs={"b": one})
        self.fixed_lp = remote.register_launch_plan(fixed_spec, name="c2.wf.plus_one")


@pytest.fixture(scope="module")
def entities(remote: FlyteRemote) -> Entities:
    return Entities(remote)


def _count(remote: FlyteRemote, fn: Any) -> tuple[Any, int]:
    before = remote.rpc_count
    result = fn()
    return result, remote.rpc_count - before


# ------------------------------------------------------------------------------------------ registration


def test_fetch_latest_and_versioned(remote: FlyteRemote, entities: Entities) -> None:
    assert isinstance(entities.task, FlyteTask) and isinstance(entities.workflow, FlyteWorkflow)
    assert set(entities.task.input_variables) == {"a", "b"}
    latest = remote.fetch_task(name="c2.add")
    assert latest.version == entities.version  # registered last
    wf = remote.fetch_workflow(P, D, "c2.wf", entities.version)
    assert wf.template.nodes and set(wf.output_variables) == {"o0"}
    assert isinstance(entities.lp, FlyteLaunchPlan) and entities.lp.required_inputs == {"a", "b"}
    assert entities.fixed_lp.fixed_inputs == {"b"} and set(entities.fixed_lp.input_variables) == {"a"}
    with pytest.raises(FlyteEntityNotFoundError):
        remote.fetch_launch_plan(name="c2.does-not-exist")
    with pytest.raises(FlyteEntityNotFoundError):
        remote.fetch_task(name="c2.add", version="nope")


def test_reregistration(remote: FlyteRemote, entities: Entities) -> None:
    same = inprocess_task(
        "c2.add",
        f"{BUILTINS}:add",
        inputs={"a": int, "b": int},
        outputs={"o0": int},
        version=entities.version,
    )
    assert remote.register_task(same).id == entities.task.id  # identical: a no-op
    different = inprocess_task(
        "c2.add", f"{BUILTINS}:square", inputs={"x": int}, outputs={"o0": int}, version=entities.version
    )
    with pytest.raises(FlyteRegistrationError, match="new version"):
        remote.register_task(different)


def test_activate_launch_plan(remote: FlyteRemote, entities: Entities) -> None:
    remote.activate_launch_plan(entities.fixed_lp)
    assert remote.fetch_launch_plan(name="c2.wf.plus_one", version=entities.version).is_active
    remote.activate_launch_plan(entities.fixed_lp.id, active=False)
    assert not remote.fetch_launch_plan(name="c2.wf.plus_one", version=entities.version).is_active


def test_active_launch_plan_and_flytekit_names(remote: FlyteRemote, entities: Entities) -> None:
    """flytekit's fetch_active_launchplan (None when no version is active), activate/deactivate_launchplan, and
    register_launch_plan without a name (the workflow's: its default launch plan)."""
    assert remote.fetch_active_launchplan(name="c2.wf.plus_one") is None
    remote.activate_launchplan(entities.fixed_lp.id)
    active = remote.fetch_active_launchplan(name="c2.wf.plus_one")
    assert active is not None and active.id == entities.fixed_lp.id
    remote.deactivate_launchplan(entities.fixed_lp.id)
    assert remote.fetch_active_launchplan(name="c2.wf.plus_one") is None
    assert remote.fetch_active_launchplan(name="never.registered") is None
    default = remote.register_launch_plan(specs.launch_plan_spec(entities.workflow.id))
    assert (default.id.name, default.id.version) == (entities.workflow.id.name, entities.workflow.id.version)


# ---------------------------------------------------------------------------------------------- execute


def test_execute_launch_plan_by_name_within_rpc_budget(remote: FlyteRemote, entities: Entities) -> None:
    remote._cache.clear()
    execution, rpcs = _count(remote, lambda: remote.execute("c2.wf", inputs={"a": 2, "b": 3}))
    assert rpcs <= 3
    assert execution.spec.launch_plan.resource_type == identifier_pb2.LAUNCH_PLAN
    assert execution.wait(timeout=30).outputs["o0"] == 5


def test_repeated_execute_costs_one_rpc(remote: FlyteRemote, entities: Entities) -> None:
    remote.execute("c2.wf", inputs={"a": 1, "b": 1}, version=entities.version)
    for _ in range(3):
        _, rpcs = _count(
            remote, lambda: remote.execute("c2.wf", inputs={"a": 1, "b": 1}, version=entities.version)
        )
        assert rpcs == 1
        _, rpcs = _count(remote, lambda: remote.execute(entities.task, inputs={"a": 1, "b": 1}))
        assert rpcs == 1


def test_execute_task_workflow_and_fixed_inputs(remote: FlyteRemote, entities: Entities) -> None:
    task_exec = remote.execute(entities.task, inputs={"a": 20, "b": 22}, wait=True)
    assert task_exec.spec.launch_plan.resource_type == identifier_pb2.TASK
    assert task_exec.outputs["o0"] == 42 and task_exec.is_successful
    wf_exec = remote.execute(entities.workflow, inputs={"a": 1, "b": 2}, wait=True)
    assert wf_exec.spec.launch_plan.name == "c2.wf" and wf_exec.outputs.to_dict() == {"o0": 3}
    fixed = remote.execute(entities.fixed_lp, inputs={"a": 41}, wait=True)
    assert fixed.outputs.get("o0") == 42
    ident = remote.execute(entities.task.id, inputs={"a": 0, "b": 0}, wait=True)
    assert ident.outputs["o0"] == 0


def test_execute_with_every_option_is_stored(remote: FlyteRemote, entities: Entities) -> None:
    notification = common_pb2.Notification(
        phases=[execution_pb2.WorkflowExecution.FAILED],
        email=common_pb2.EmailNotification(recipients_email=["a@b.c"]),
    )
    options = Options(
        labels={"team": "data"},
        annotations={"note": "x"},
        raw_output_data_config="file:///tmp/c2-raw",
        security_context=security_pb2.SecurityContext(run_as=security_pb2.Identity(k8s_service_account="sa")),
        max_parallelism=7,
        notifications=[notification],
    )
    execution = remote.execute(
        entities.lp,
        inputs={"a": 1, "b": 2},
        options=options,
        overwrite_cache=True,
        interruptible=True,
        envs={"FOO": "bar"},
        tags=["t1"],
        execution_cluster_label="blue",
        cluster_pool="pool-a",
    )
    stored = remote.fetch_execution(name=execution.id.name).spec
    assert dict(stored.labels.values) == {"team": "data"}
    assert dict(stored.annotations.values) == {"note": "x"}
    assert stored.raw_output_data_config.output_location_prefix == "file:///tmp/c2-raw"
    assert stored.security_context.run_as.k8s_service_account == "sa"
    assert stored.max_parallelism == 7
    assert stored.notifications.notifications[0].email.recipients_email == ["a@b.c"]
    assert stored.overwrite_cache and stored.interruptible is True  # a bool, as flytekit's
    assert [(kv.key, kv.value) for kv in stored.envs.values] == [("FOO", "bar")]
    assert list(stored.tags) == ["t1"]
    assert stored.execution_cluster_label.value == "blue"
    assert stored.cluster_assignment.cluster_pool_name == "pool-a"
    assert stored.metadata.mode == 0  # MANUAL
    silent = remote.execute(entities.lp, inputs={"a": 1, "b": 2}, options=Options(disable_notifications=True))
    assert remote.fetch_execution(name=silent.id.name).spec.disable_all


def test_execution_names(remote: FlyteRemote, entities: Entities) -> None:
    name = "c2-" + uuid.uuid4().hex[:10]
    first = remote.execute(entities.lp, inputs={"a": 1, "b": 2}, execution_name=name)
    assert first.id.name == name
    again, rpcs = _count(
        remote, lambda: remote.execute(entities.lp, inputs={"a": 5, "b": 5}, execution_name=name)
    )
    assert again.id.name == name and rpcs == 2  # ALREADY_EXISTS -> GetExecution of the existing one
    assert again.wait(timeout=30).outputs["o0"] == 3  # the first execution, not a second run
    assert len(remote.list_executions(names=[name])) == 1
    prefixed = remote.execute(entities.lp, inputs={"a": 1, "b": 2}, execution_name_prefix="c2-nightly")
    assert prefixed.id.name.startswith("c2-nightly-") and len(prefixed.id.name) == len("c2-nightly-") + 19
    before = remote.rpc_count
    for bad in ["Bad_Name", "9lives", "x" * 64]:
        with pytest.raises(FlyteInvalidInputError, match="execution name"):
            remote.execute(entities.lp, {"a": 1, "b": 2}, execution_name=bad)
    assert remote.rpc_count == before  # rejected before any RPC
    with pytest.raises(FlyteInvalidInputError, match="mutually exclusive"):
        remote.execute(entities.lp, {"a": 1, "b": 2}, execution_name="a", execution_name_prefix="b")


def test_input_errors_fail_before_any_rpc(remote: FlyteRemote, entities: Entities) -> None:
    before = remote.rpc_count
    with pytest.raises(FlyteTypeError, match="a") as info:
        remote.execute(entities.lp, inputs={"a": "not a number", "b": 2})
    assert "not a number" in str(info.value) or "str" in str(info.value)
    with pytest.raises(FlyteInvalidInputError, match="has no input"):
        remote.execute(entities.lp, inputs={"a": 1, "b": 2, "c": 3})
    with pytest.raises(FlyteInvalidInputError, match="needs input"):
        remote.execute(entities.lp, inputs={"a": 1})
    with pytest.raises(FlyteInvalidInputError, match="fixes input"):
        remote.execute(entities.fixed_lp, inputs={"a": 1, "b": 2})
    with pytest.raises(FlyteInvalidInputError, match="cannot execute"):
        remote.execute(object())
    assert remote.rpc_count == before


def test_literal_inputs_pass_through(remote: FlyteRemote, entities: Entities) -> None:
    lit = literals_pb2.Literal()
    lit.scalar.primitive.integer = 40
    assert remote.execute(entities.lp, inputs={"a": lit, "b": 2}, wait=True).outputs["o0"] == 42


def test_list_executions_by_names_in_one_rpc(remote: FlyteRemote, entities: Entities) -> None:
    names = [remote.execute(entities.lp, inputs={"a": i, "b": 0}).id.name for i in range(3)]
    found, rpcs = _count(remote, lambda: remote.list_executions(names=names))
    assert rpcs == 1 and sorted(e.id.name for e in found) == sorted(names)
    assert all(
        e.spec.launch_plan.name == "c2.wf.plus_one" or e.spec.launch_plan.name == "c2.wf" for e in found
    )
    assert all(e.closure.created_at.timestamp() > 0 for e in found)  # server closures, not client placeholders
    recent = remote.recent_executions(limit=2)
    assert {e.id.name for e in recent} == set(names[1:])  # the newest ones, and only as many as asked
    assert remote.list_executions(names=[]) == []


def test_list_execution_rows_are_the_serialized_executions(remote: FlyteRemote, entities: Entities) -> None:
    from flyteidl.admin.execution_pb2 import Execution

    names = [remote.execute(entities.lp, inputs={"a": i, "b": 0}).id.name for i in range(3)]
    rows, rpcs = _count(remote, lambda: remote.list_execution_rows(names=[*names, "no-such-execution"]))
    assert rpcs == 1 and all(isinstance(row, bytes) for row in rows)
    parsed = sorted((Execution.FromString(row) for row in rows), key=lambda e: e.id.name)
    protos = sorted(remote.list_execution_protos(names=names), key=lambda e: e.id.name)
    assert [e.id.name for e in parsed] == sorted(names) and parsed == protos
    assert remote.list_execution_rows(names=[]) == []


def test_console_urls(remote: FlyteRemote, entities: Entities) -> None:
    execution = remote.execute(entities.lp, inputs={"a": 1, "b": 1})
    assert execution.execution_url.endswith(
        f"/console/projects/{P}/domains/{D}/executions/{execution.id.name}"
    )
    assert remote.generate_console_url(entities.lp).endswith(f"/launch_plan/c2.wf/version/{entities.version}")
    assert remote.generate_console_url(entities.task).endswith(f"/task/c2.add/version/{entities.version}")


async def test_async_client_has_flytekits_methods(sandbox: SandboxThread, entities: Entities) -> None:
    from airflow_provider_flyte.remote import AsyncFlyteRemote

    async with AsyncFlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D) as remote:
        assert P in [p.id for p in await remote.list_projects()]
        assert D in [d.id for d in await remote.get_domains()]
        assert await remote.fetch_active_launchplan(name="never.registered") is None
        tasks = await remote.list_tasks_by_version(entities.version)
        assert entities.task.id.name in [t.id.name for t in tasks]
        assert all(t.id.version == entities.version for t in tasks)
