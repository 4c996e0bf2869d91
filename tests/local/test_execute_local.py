"""Local flytekit entities executed on the sandbox from Python: registered under a content version, code shipped
as a fast-registration bundle, run for real by the flytekit entrypoint, outputs read back as the declared types."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from airflow_provider_flyte.remote.local import prepare_local_entity
from tests.local.conftest import DOMAIN, PROJECT, CodeRoot
from tests.local.flyte_sources import CHAIN, GREETER, SHOWCASE

pytestmark = pytest.mark.flytekit

CREATES = ("CreateTask", "CreateWorkflow", "CreateLaunchPlan")


def creates(remote: Any) -> dict[str, int]:
    """Create RPCs made by the client (registration and uploads), by method."""
    counts = remote.rpc_stats.by_method
    return {m: counts[m] for m in (*CREATES, "CreateUploadLocation") if counts[m]}


def run(remote: Any, entity: Any, inputs: dict[str, Any], **kwargs: Any) -> tuple[Any, Any]:
    target = prepare_local_entity(remote, entity, **kwargs)
    tid = target.entity.id
    execution = remote.execute(
        target.entity, inputs, project=tid.project, domain=tid.domain, type_hints=target.type_hints, wait=True
    )
    assert execution.phase_name == "SUCCEEDED", execution.proto.closure.error.message
    return target, execution


def wait_for_signal(remote: Any, execution: Any, signal_id: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(s.id.signal_id == signal_id for s in remote.list_signals(execution)):
            return
        time.sleep(0.1)
    raise AssertionError(f"the gate {signal_id!r} was never reached")


@pytest.fixture
def showcase(code_root: CodeRoot) -> Any:
    return code_root.write("showcase", SHOWCASE)


def test_local_task_runs_from_the_uploaded_bundle(remote: Any, showcase: Any, code_root: CodeRoot) -> None:
    target, execution = run(remote, showcase.add, {"a": 2, "b": 3})
    assert execution.outputs["o0"] == 6
    assert target.code_mode == "fast" and target.entity.id.name == f"{code_root.package}.showcase.add"
    assert creates(remote) == {"CreateTask": 1, "CreateUploadLocation": 1}
    template = target.entity.proto.closure.compiled_task.template
    args = list(template.container.args)
    assert args[:2] == ["pyflyte-fast-execute", "--additional-distribution"]
    bundle = args[2]
    assert bundle.startswith("flytesandbox:///") and Path(bundle).name.startswith("fast")
    assert Path(unquote(urlparse(bundle).path)).is_file()  # in the sandbox's blob store

    _target, execution = run(remote, showcase.where, {})
    ran_from = Path(execution.outputs["o0"])
    local_file = Path(showcase.__file__)
    assert ran_from != local_file and ran_from.parts[-2:] == local_file.parts[-2:]


def test_local_workflow_with_subworkflow_and_gate(remote: Any, showcase: Any) -> None:
    target = prepare_local_entity(remote, showcase.gated)
    assert target.code_mode == "fast" and target.entity.id.resource_type == 3  # the default launch plan
    registered = [(i.resource_type, i.name.rsplit(".", 1)[-1]) for i in target.registered]
    assert registered == [(1, "add"), (2, "inner"), (2, "gated"), (3, "gated")]
    assert {i.version for i in target.registered} == {target.version}
    execution = remote.execute(target.entity, {"a": 1}, type_hints=target.type_hints)  # b defaults to 10
    wait_for_signal(remote, execution, "check")
    remote.approve("check", execution)
    execution = remote.wait(execution, timeout=120)
    assert execution.phase_name == "SUCCEEDED"
    assert execution.outputs["o0"] == 13  # inner: 1 + 10 + OFFSET = 12; add(12, 0) = 13


def test_local_launch_plan_with_fixed_inputs(remote: Any, showcase: Any) -> None:
    target, execution = run(remote, showcase.fixed, {"a": 5})
    assert execution.outputs["o0"] == 106
    lp = target.entity
    assert lp.id.name.endswith(".fixed") and lp.fixed_inputs == frozenset({"b"})
    with pytest.raises(Exception, match="fixes input"):
        remote.execute(lp, {"a": 1, "b": 2})
    # a workflow calling the launch plan registers it too and runs it as a child execution
    target, execution = run(remote, showcase.calls_fixed, {"a": 1})
    assert execution.outputs["o0"] == 102
    assert next(i.name for i in target.registered if i.resource_type == 3).endswith(".fixed")


def test_outputs_come_back_as_declared_python_types(remote: Any, showcase: Any) -> None:
    _target, execution = run(remote, showcase.grow, {"box": showcase.Box(2, showcase.Shape.SQUARE), "by": 3})
    assert execution.outputs["o0"] == showcase.Box(side=5, shape=showcase.Shape.CIRCLE)
    _target, execution = run(remote, showcase.write_note, {"text": "from the sandbox"})
    note = execution.outputs["o0"]
    assert type(note).__module__.startswith("flytekit") and type(note).__name__ == "FlyteFile"
    assert Path(unquote(urlparse(str(note.path)).path)).read_text() == "from the sandbox"


def test_version_follows_the_code_and_unchanged_code_is_not_registered_again(
    new_remote: Any, code_root: CodeRoot
) -> None:
    module = code_root.write("greeter", GREETER.format(greeting="hello"))
    first = new_remote()
    v1, execution = run(first, module.greet, {"name": "ada"})
    assert execution.outputs["o0"] == "hello ada"
    assert creates(first) == {"CreateTask": 1, "CreateWorkflow": 1, "CreateLaunchPlan": 1, "CreateUploadLocation": 1}

    again = new_remote()  # a new client (e.g. the next Airflow task run): one Get, nothing created or uploaded
    same = prepare_local_entity(again, module.greet)
    assert same.version == v1.version and same.registered == []
    assert dict(again.rpc_stats.by_method) == {"GetLaunchPlan": 1}
    again.rpc_stats.reset()
    assert prepare_local_entity(again, module.greet).version == v1.version
    assert again.rpc_stats.calls == 0  # the same client: served from its entity cache

    module = code_root.write("greeter", GREETER.format(greeting="bye"))
    changed = new_remote()
    v2, execution = run(changed, module.greet, {"name": "ada"})
    assert v2.version != v1.version
    assert execution.outputs["o0"] == "bye ada"
    assert creates(changed)["CreateTask"] == 1

    module = code_root.write("greeter", GREETER.format(greeting="hello"))  # back to the first code
    back = new_remote()
    assert prepare_local_entity(back, module.greet).version == v1.version
    assert creates(back) == {}


def test_explicit_version_is_used_and_found_afterwards(new_remote: Any, code_root: CodeRoot) -> None:
    module = code_root.write("greeter", GREETER.format(greeting="hi"))
    first = new_remote()
    target = prepare_local_entity(first, module.greet, version="pinned-1")
    assert target.version == "pinned-1" and target.entity.id.version == "pinned-1"
    second = new_remote()
    assert prepare_local_entity(second, module.greet, version="pinned-1").registered == []
    assert creates(second) == {}


def test_serialization_settings_are_honoured(remote: Any, showcase: Any, tmp_path: Path) -> None:
    from flytekit.configuration import FastSerializationSettings, Image, ImageConfig, SerializationSettings

    image = Image(name="default", fqn="example.com/team/flyte-image", tag="v7")
    shipped = tmp_path / "shipped"  # where the worker unpacks the code (a directory of the image on a cluster)
    shipped.mkdir()
    settings = SerializationSettings(
        image_config=ImageConfig(default_image=image, images=[image]),
        project=PROJECT,
        domain="staging",
        fast_serialization_settings=FastSerializationSettings(enabled=True, destination_dir=str(shipped)),
    )
    target, execution = run(remote, showcase.add, {"a": 1, "b": 1}, serialization_settings=settings)
    assert execution.outputs["o0"] == 3
    assert (target.entity.id.project, target.entity.id.domain) == (PROJECT, "staging")
    assert execution.id.domain == "staging"
    container = target.entity.proto.closure.compiled_task.template.container
    assert container.image == "example.com/team/flyte-image:v7"
    assert list(container.args[3:5]) == ["--dest-dir", str(shipped)]
    # the sandbox unpacks into the attempt's own directory under its data dir, as it rewrites --dest-dir (a pod
    # would unpack into the image's directory): nothing lands in the destination on this machine
    assert list(shipped.iterdir()) == []


def test_installed_code_ships_only_its_own_package(remote: Any, tmp_path: Path) -> None:
    """A workflow of a package installed in site-packages: the bundle holds that package, not the environment."""
    installed = CodeRoot(tmp_path / "venv" / "lib" / "site-packages")
    try:
        (installed.root / "unrelated_dist").mkdir()
        (installed.root / "unrelated_dist" / "__init__.py").write_text("WEIGHT = 1\n")
        (installed.root / "single_module.py").write_text("")
        module = installed.write("chain", CHAIN)
        target, execution = run(remote, module.chain, {"x": 2})  # the sandbox can only run it from the bundle
        assert target.code_mode == "fast" and execution.outputs["o0"] == 36
        task = remote.fetch_task(name=module.inc.name, version=target.version)
        bundle = task.proto.closure.compiled_task.template.container.args[2]
        with tarfile.open(unquote(urlparse(bundle).path)) as tar:
            names = tar.getnames()
        assert f"{installed.package}/chain.py" in names
        assert all(n.startswith(installed.package + "/") for n in names), names
    finally:
        installed.close()


def test_code_already_shipped_by_the_caller(remote: Any, showcase: Any) -> None:
    from flytekit.configuration import FastSerializationSettings, ImageConfig, SerializationSettings

    from airflow_provider_flyte.remote import files

    bundle = files.build_fast_package(Path(showcase.__file__).parents[1], Path(showcase.__file__).parents[2])
    _md5, url = remote.upload_file(bundle)
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(),
        fast_serialization_settings=FastSerializationSettings(
            enabled=True, destination_dir=".", distribution_location=url
        ),
    )
    remote.rpc_stats.reset()
    target, execution = run(remote, showcase.add, {"a": 4, "b": 4}, serialization_settings=settings)
    assert target.code_mode == "given" and execution.outputs["o0"] == 9
    assert "CreateUploadLocation" not in creates(remote)


def test_reference_entities_are_looked_up_not_registered(remote: Any, showcase: Any) -> None:
    from flytekit import reference_launch_plan, reference_task

    registered = prepare_local_entity(remote, showcase.add).entity.id

    @reference_task(PROJECT, DOMAIN, registered.name, registered.version)
    def add_ref(a: int, b: int) -> int: ...

    remote.rpc_stats.reset()
    target, execution = run(remote, add_ref, {"a": 10, "b": 20})
    assert execution.outputs["o0"] == 31 and target.entity.id == registered
    assert creates(remote) == {}

    lp_id = prepare_local_entity(remote, showcase.fixed).entity.id

    @reference_launch_plan(PROJECT, DOMAIN, lp_id.name, lp_id.version)
    def fixed_ref(a: int) -> int: ...

    _target, execution = run(remote, fixed_ref, {"a": 0})
    assert execution.outputs["o0"] == 101


def test_name_selects_a_registered_entity(remote: Any, showcase: Any) -> None:
    """flytekit's meaning of ``execute(local_entity, name=...)``: the registered entity of that name is launched
    with the local entity's types; a name nothing is registered under raises NOT_FOUND."""
    from airflow_provider_flyte.remote.errors import FlyteEntityNotFoundError

    with pytest.raises(FlyteEntityNotFoundError):
        prepare_local_entity(remote, showcase.add, name="other.name")
    registered = prepare_local_entity(remote, showcase.where).entity
    remote.rpc_stats.reset()
    named = prepare_local_entity(remote, showcase.add, name=registered.id.name)  # latest version of that name
    assert named.entity.id == registered.id and named.input_types == {"a": int, "b": int}
    assert creates(remote) == {}


async def test_async_client_prepares_the_same_way(local_sandbox: Any, code_root: CodeRoot) -> None:
    from airflow_provider_flyte.remote import AsyncFlyteRemote, Config
    from airflow_provider_flyte.remote.local import aprepare_local_entity

    module = code_root.write("chain", CHAIN)
    async with AsyncFlyteRemote(Config.for_sandbox(local_sandbox.endpoint), PROJECT, DOMAIN) as remote:
        target = await aprepare_local_entity(remote, module.chain)
        assert target.code_mode == "fast"
        assert [i.resource_type for i in target.registered] == [1, 1, 1, 2, 3]  # tasks created concurrently
        execution = await remote.execute(target.entity, {"x": 2}, type_hints=target.type_hints, wait=True)
        assert execution.outputs["o0"] == 36
        assert (await aprepare_local_entity(remote, module.chain)).registered == []


def execute_local(remote: Any, entity: Any, inputs: dict[str, Any], **kwargs: Any) -> Any:
    """``remote.execute`` with a local entity."""
    return remote.execute(entity, inputs, **kwargs)


def test_flyte_remote_execute_takes_local_entities(new_remote: Any, showcase: Any) -> None:
    remote = new_remote()
    execution = execute_local(remote, showcase.grow, {"box": showcase.Box(1, showcase.Shape.SQUARE), "by": 1}, wait=True)
    assert execution.outputs["o0"] == showcase.Box(2, showcase.Shape.CIRCLE)  # typed by the local interface
    assert creates(remote) == {"CreateTask": 1, "CreateUploadLocation": 1}
    again = new_remote()
    execution = execute_local(again, showcase.fixed, {"a": 1}, wait=True)
    assert execution.outputs["o0"] == 102
    assert execute_local(again, showcase.fixed, {"a": 2}, wait=True).outputs["o0"] == 103
    assert again.rpc_stats.by_method["GetLaunchPlan"] == 2  # registration check + fetch; none for the repeat


async def test_async_flyte_remote_execute_takes_local_entities(local_sandbox: Any, showcase: Any) -> None:
    from airflow_provider_flyte.remote import AsyncFlyteRemote, Config

    async with AsyncFlyteRemote(Config.for_sandbox(local_sandbox.endpoint), PROJECT, DOMAIN) as remote:
        execution = await remote.execute(showcase.add, {"a": 20, "b": 1}, wait=True)
        assert execution.outputs["o0"] == 22
