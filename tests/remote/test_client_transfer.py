"""Uploads through the DataProxy, local files as inputs, downloads of outputs, and backfills, end to end."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import workflow_pb2
from flyteidl.core import types_pb2

from airflow_provider_flyte.remote import Config, FlyteRemote, specs
from airflow_provider_flyte.remote.codec import FlyteDirectory, FlyteFile
from airflow_provider_flyte.remote.errors import FlyteConfigError, FlyteInvalidInputError
from airflow_provider_flyte.remote.models import FlyteWorkflow, FlyteWorkflowExecution
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.inprocess import BUILTINS, inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread

P, D = "flytesnacks", "development"
SINGLE = types_pb2.LiteralType(blob=types_pb2.BlobType(format="", dimensionality=types_pb2.BlobType.SINGLE))
MULTI = types_pb2.LiteralType(blob=types_pb2.BlobType(format="", dimensionality=types_pb2.BlobType.MULTIPART))


def test_upload_file(remote: FlyteRemote, tmp_path: Path) -> None:
    f = tmp_path / "data.csv"
    f.write_bytes(b"a,b\n1,2\n")
    md5, native = remote.upload_file(f)
    assert md5 == hashlib.md5(b"a,b\n1,2\n").digest()
    assert native.endswith("/data.csv")
    assert BlobStore.path(native).read_bytes() == b"a,b\n1,2\n"
    assert remote.rpc_stats.by_method["CreateUploadLocation"] >= 1
    with pytest.raises(FlyteInvalidInputError, match="not a file"):
        remote.upload_file(tmp_path)


def test_fast_package_upload(remote: FlyteRemote, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "wf.py").write_text("print('hi')\n")
    md5, native = remote.fast_package(tmp_path / "src", output=str(tmp_path / "out"))
    (bundle,) = (tmp_path / "out").iterdir()
    assert Path(native).name == bundle.name and bundle.name.startswith("fast")
    assert BlobStore.path(native).read_bytes() == bundle.read_bytes()
    assert md5 == hashlib.md5(bundle.read_bytes()).digest()


def test_local_files_as_inputs_and_download(remote: FlyteRemote, tmp_path: Path) -> None:
    v = "t" + uuid.uuid4().hex[:8]
    echo_file = remote.register_task(
        inprocess_task(
            "c2t.echo_file", f"{BUILTINS}:echo", inputs={"x": SINGLE}, outputs={"o0": SINGLE}, version=v
        )
    )
    echo_dir = remote.register_task(
        inprocess_task(
            "c2t.echo_dir", f"{BUILTINS}:echo", inputs={"x": MULTI}, outputs={"o0": MULTI}, version=v
        )
    )
    local = tmp_path / "in.txt"
    local.write_text("payload")
    execution = remote.execute(echo_file, inputs={"x": FlyteFile(str(local))}, wait=True)
    uri = execution.outputs.literals["o0"].scalar.blob.uri
    assert uri.startswith("flytesandbox:///") and BlobStore.path(uri).read_text() == "payload"
    written = remote.download(execution.outputs, tmp_path / "dl")
    # flytekit's layout: a file lands in <download_to>/<output name>/ under its own name
    assert written == [tmp_path / "dl" / "o0" / uri.rsplit("/", 1)[-1]] and written[0].read_text() == "payload"

    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    dir_exec = remote.execute(echo_dir, inputs={"x": FlyteDirectory(str(folder))}, wait=True)
    remote.download(dir_exec.outputs, tmp_path / "dl2")
    assert (tmp_path / "dl2" / "o0" / "a.txt").read_text() == "A"
    assert (tmp_path / "dl2" / "o0" / "sub" / "b.txt").read_text() == "B"


def _echo_tasks(remote: FlyteRemote, prefix: str) -> tuple[Any, Any]:
    v = "u" + uuid.uuid4().hex[:8]
    return tuple(  # type: ignore[return-value]
        remote.register_task(
            inprocess_task(
                f"{prefix}.{kind}", f"{BUILTINS}:echo", inputs={"x": t}, outputs={"o0": t}, version=v
            )
        )
        for kind, t in (("file", SINGLE), ("dir", MULTI))
    )


def test_default_upload_location_goes_through_the_data_proxy(remote: FlyteRemote, tmp_path: Path) -> None:
    assert remote.data_upload_location == "flyte://my-s3-bucket/"
    echo_file, _ = _echo_tasks(remote, "r1dp")
    local = tmp_path / "via-proxy.txt"
    local.write_text("proxied")
    before = remote.rpc_stats.by_method["CreateUploadLocation"]
    execution = remote.execute(echo_file, inputs={"x": FlyteFile(str(local))}, wait=True)
    assert remote.rpc_stats.by_method["CreateUploadLocation"] == before + 1
    assert BlobStore.path(execution.outputs.literals["o0"].scalar.blob.uri).read_text() == "proxied"


@pytest.mark.parametrize("as_url", [True, False], ids=["file-url", "plain-path"])
def test_fsspec_upload_location_is_written_directly(
    sandbox: SandboxThread, tmp_path: Path, as_url: bool
) -> None:
    bucket = tmp_path / "my bucket"  # file:// URLs hold the plain path (fsspec's and flytekit's spelling)
    prefix = f"file://{bucket}/inputs"
    location = prefix if as_url else str(bucket / "inputs")
    with FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D, data_upload_location=location) as direct:
        echo_file, echo_dir = _echo_tasks(direct, "r1fs")
        local = tmp_path / "in.txt"
        local.write_text("direct")
        folder = tmp_path / "folder"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "b.txt").write_text("B")
        file_exec = direct.execute(echo_file, inputs={"x": FlyteFile(str(local))}, wait=True)
        dir_exec = direct.execute(echo_dir, inputs={"x": FlyteDirectory(str(folder))}, wait=True)
        assert direct.rpc_stats.by_method["CreateUploadLocation"] == 0  # no DataProxy involved
    file_uri = file_exec.outputs.literals["o0"].scalar.blob.uri
    dir_uri = dir_exec.outputs.literals["o0"].scalar.blob.uri
    assert file_uri.startswith(prefix + "/") and file_uri.endswith("/in.txt")
    assert BlobStore.path(file_uri).read_text() == "direct"
    assert BlobStore.path(file_uri).is_relative_to(bucket / "inputs")
    assert dir_uri.startswith(prefix + "/")
    assert (BlobStore.path(dir_uri) / "sub" / "b.txt").read_text() == "B"


def test_unknown_upload_protocol_is_refused_at_construction(sandbox: SandboxThread) -> None:
    with pytest.raises(FlyteConfigError, match=r"'nosuchfs'.*fsspec does not know"):
        FlyteRemote(Config.for_sandbox(sandbox.endpoint), P, D, data_upload_location="nosuchfs://b/p")


def test_backfill(remote: FlyteRemote) -> None:
    v = "b" + uuid.uuid4().hex[:8]
    echo = remote.register_task(
        inprocess_task(
            "c2b.echo",
            f"{BUILTINS}:echo",
            inputs={"x": types_pb2.LiteralType(simple=types_pb2.DATETIME)},
            outputs={"o0": types_pb2.LiteralType(simple=types_pb2.DATETIME)},
            version=v,
        )
    )
    dt = specs.simple_type("DATETIME")
    template = specs.workflow_template(
        specs.identifier("WORKFLOW", P, D, "c2b.daily", v),
        specs.interface({"t": dt}, {"o0": dt}),
        [specs.task_node("n0", echo.id, {"x": specs.binding_from_promise("start-node", "t")})],
        outputs={"o0": specs.binding_from_promise("n0", "o0")},
    )
    wf = remote.register_workflow(workflow_pb2.WorkflowSpec(template=template), default_launch_plan=False)
    lp_name = f"c2b.daily-{v}"
    remote.register_launch_plan(
        specs.launch_plan_spec(wf.id, cron="0 0 * * *", kickoff_time_input_arg="t"), name=lp_name
    )
    start, end = datetime(2024, 1, 1), datetime(2024, 1, 4)

    before = remote.rpc_stats.by_method.copy()
    spec = remote.launch_backfill(P, D, start, end, lp_name, dry_run=True)
    assert isinstance(spec, workflow_pb2.WorkflowSpec) and len(spec.template.nodes) == 2
    creates = [m for m in remote.rpc_stats.by_method if m.startswith("Create")]
    assert all(remote.rpc_stats.by_method[m] == before[m] for m in creates)  # a dry run creates nothing

    registered = remote.launch_backfill(P, D, start, end, lp_name, execute=False)
    assert isinstance(registered, FlyteWorkflow) and registered.name == f"backfill-{lp_name}"

    execution = remote.launch_backfill(P, D, start, end, lp_name, execution_name="c2-backfill-" + v)
    assert isinstance(execution, FlyteWorkflowExecution) and execution.id.name == "c2-backfill-" + v
    remote.wait(execution, timeout=60)
    assert execution.is_successful, str(execution.failure())
    nodes = {k: n for k, n in execution.node_executions.items() if k not in ("start-node", "end-node")}
    assert set(nodes) == {"n0", "n1"}
    ticks = sorted(n.workflow_executions[0].inputs["t"].replace(tzinfo=None) for n in nodes.values())
    assert ticks == [datetime(2024, 1, 2), datetime(2024, 1, 3)]
