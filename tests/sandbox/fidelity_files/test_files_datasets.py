"""Files, directories and datasets on the sandbox as on a cluster (issue 8, item 2).

Real flytekit tasks, run by the sandbox as task processes, pass ``FlyteFile``/``FlyteDirectory``/
``StructuredDataset`` values along (directly, as dataclass attributes, inside a dataclass, as a column subset);
flytekit's ``FlyteRemote`` and this package's client upload them as inputs and download them from the outputs;
a ``FlyteFile`` default works; and every blob the sandbox hands out is a ``flytesandbox://`` URI below its data dir.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import msgpack
import pytest
from flyteidl.admin import common_pb2, execution_pb2, node_execution_pb2
from flyteidl.core import types_pb2
from flyteidl.service import admin_pb2_grpc
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from airflow_provider_flyte.remote import Config as OurConfig
from airflow_provider_flyte.remote import FlyteRemote as OurRemote
from airflow_provider_flyte.remote import codec
from airflow_provider_flyte.sandbox import blobfs
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.inprocess import inprocess_task
from airflow_provider_flyte.sandbox.testing import SandboxThread, run_sandbox

flytekit = pytest.importorskip("flytekit")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from flytekit import workflow  # noqa: E402
from flytekit.types.directory import FlyteDirectory  # noqa: E402
from flytekit.types.file import FlyteFile  # noqa: E402
from flytekit.types.structured import StructuredDataset  # noqa: E402

from tests.sandbox.fidelity_files import workflows as wf  # noqa: E402

pytestmark = pytest.mark.flytekit

P, D = "flytesnacks", "development"
REPO_ROOT = Path(__file__).resolve().parents[3]
WAIT = {"timeout": timedelta(seconds=180), "poll_interval": timedelta(seconds=0.2)}
FRAME = {"a": [1, 2, 3], "b": ["x", "y", "z"]}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("files-sandbox") / "data"


@pytest.fixture(scope="module")
def sandbox(data_dir: Path) -> Iterator[SandboxThread]:
    config = SandboxConfig(data_dir=data_dir, port=0, task_pythonpath=(str(REPO_ROOT),))
    with run_sandbox(config) as running:
        yield running


@pytest.fixture(scope="module")
def default_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("default") / "default.txt"
    path.write_text("from the default")
    return path


@pytest.fixture(scope="module")
def fk(sandbox: SandboxThread, default_file: Path) -> Any:
    """flytekit's FlyteRemote with the workflows registered (a FlyteFile default is uploaded at registration)."""
    from flytekit.configuration import Config, ImageConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    remote = FlyteRemote(
        Config.for_endpoint(sandbox.endpoint, insecure=True), default_project=P, default_domain=D
    )
    version = "f" + uuid.uuid4().hex[:10]
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=P, domain=D, version=version
    )

    @workflow
    def default_file_wf(f: FlyteFile = FlyteFile(str(default_file)), suffix: str = ".") -> FlyteFile:
        return wf.rewrite(f=f, suffix=suffix)

    for entity in (wf.pass_along_wf, wf.inputs_wf, default_file_wf):
        remote.register_workflow(entity, serialization_settings=settings, version=version)
    remote.version = version
    remote.default_wf_name = default_file_wf.name
    return remote


@pytest.fixture(scope="module")
def ours(sandbox: SandboxThread) -> Iterator[OurRemote]:
    with OurRemote(OurConfig.for_sandbox(sandbox.endpoint), default_project=P, default_domain=D) as remote:
        yield remote


def run(fk: Any, name: str, **inputs: Any) -> Any:
    execution = fk.execute(fk.fetch_workflow(name=name, version=fk.version), inputs=inputs)
    execution = fk.wait(execution, **WAIT)
    assert execution.closure.phase == 4, execution.error  # SUCCEEDED
    return execution


@pytest.fixture(scope="module")
def passed_along(fk: Any) -> Any:
    """One run of ``pass_along_wf``: files made by one task, read by the next ones."""
    return run(fk, wf.pass_along_wf.name, text="hello")


def _summary(outputs: Any, name: str) -> wf.Summary:
    value = outputs.get(name, as_type=wf.Summary)
    assert isinstance(value, wf.Summary)
    return value


# --------------------------------------------------------------------------------------- between tasks


def test_tasks_pass_files_directories_and_datasets(passed_along: Any, data_dir: Path) -> None:
    outputs = passed_along.outputs
    names = ["one.txt", "sub/two.txt"]
    # direct outputs; FlyteFile.open() in the task; the dataset opened as the column subset the input declares
    assert _summary(outputs, "o0") == wf.Summary(text="hello", names=names, columns=["a"], total=6)
    # attribute access on a dataclass output: b.f, b.d, b.sd
    assert _summary(outputs, "o1") == wf.Summary(text="hello", names=names, columns=["a"], total=60)
    # the dataclass as a whole
    assert _summary(outputs, "o2") == wf.Summary(text="hello", names=names, columns=["a", "b"], total=64)
    for name in ("o3", "o4", "o5"):
        lit = outputs.literals[name].to_flyte_idl()
        uri = lit.scalar.blob.uri or lit.scalar.structured_dataset.uri
        assert uri.startswith(f"{blobfs.PREFIX}{data_dir.resolve()}/"), uri


# ---------------------------------------------------------------------------------------------- downloads


def test_flytekit_reads_outputs(fk: Any, passed_along: Any, tmp_path: Path) -> None:
    outputs = passed_along.outputs
    rewritten = outputs.get("o3", as_type=FlyteFile)
    with rewritten.open("r") as fh:  # streamed through fsspec from the sandbox's store
        assert fh.read() == "hello!"
    folder = outputs.get("o4", as_type=FlyteDirectory)
    local = Path(folder.download())
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()) == [
        "one.txt",
        "sub/two.txt",
    ]
    frame = outputs.get("o5", as_type=StructuredDataset).open(pd.DataFrame).all()
    assert frame.to_dict("list") == FRAME

    (tmp_path / "dl").mkdir()
    fk.download(outputs, str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "o3" / "rewritten.txt").read_text() == "hello!"  # flytekit: <var>/<file name>
    assert (tmp_path / "dl" / "o4" / "sub" / "two.txt").read_text() == "2"
    assert pd.read_parquet(tmp_path / "dl" / "o5").to_dict("list") == FRAME


def test_our_client_downloads_outputs(ours: OurRemote, passed_along: Any, tmp_path: Path) -> None:
    execution = ours.fetch_execution(name=passed_along.id.name)
    written = ours.download(execution.outputs, tmp_path)  # flytekit's layout (see test_flytekit_reads_outputs)
    assert {p.relative_to(tmp_path).parts[0] for p in written} >= {"o3", "o4", "o5"}
    assert (tmp_path / "o3" / "rewritten.txt").read_text() == "hello!"
    assert (tmp_path / "o4" / "one.txt").read_text() == "1"
    assert pd.read_parquet(tmp_path / "o5").to_dict("list") == FRAME
    uri = execution.outputs.literals["o3"].scalar.blob.uri
    with codec.FlyteFile(uri).open("r") as fh:  # our light FlyteFile, through fsspec
        assert fh.read() == "hello!"


def test_our_client_downloads_without_flytekit(
    sandbox: SandboxThread, passed_along: Any, tmp_path: Path
) -> None:
    """Our client needs only the core (fsspec and this package's filesystem), not flytekit."""
    script = f"""
import sys
sys.modules["flytekit"] = None  # importing flytekit now fails
from airflow_provider_flyte.remote import Config, FlyteRemote
with FlyteRemote(Config.for_sandbox({sandbox.endpoint!r}), default_project={P!r}, default_domain={D!r}) as r:
    r.download(r.fetch_execution(name={passed_along.id.name!r}).outputs, {str(tmp_path)!r})
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o3" / "rewritten.txt").read_text() == "hello!"
    assert (tmp_path / "o4" / "sub" / "two.txt").read_text() == "2"


# ------------------------------------------------------------------------------------------------ uploads


def _local_inputs(tmp_path: Path, nested: bool = True) -> tuple[Path, Path]:
    """A file and a directory to upload. flytekit's FlyteRemote uploads a directory through the DataProxy file
    by file under its base name (``FlyteRemote.upload_file``), so it flattens subdirectories, on a cluster too:
    it gets a flat one."""
    note = tmp_path / "in.txt"
    note.write_text("uploaded")
    folder = tmp_path / "in-folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text("1")
    (folder / ("sub/two.txt" if nested else "two.txt")).write_text("2")
    return note, folder


def test_flytekit_remote_uploads_inputs(fk: Any, tmp_path: Path, data_dir: Path) -> None:
    note, folder = _local_inputs(tmp_path, nested=False)
    execution = run(
        fk,
        wf.inputs_wf.name,
        f=FlyteFile(str(note)),
        d=FlyteDirectory(str(folder)),
        sd=StructuredDataset(dataframe=pd.DataFrame(FRAME)),
    )
    summary = _summary(execution.outputs, "o0")
    assert summary == wf.Summary(text="uploaded", names=["one.txt", "two.txt"], columns=["a"], total=6)
    with execution.outputs.get("o1", as_type=FlyteFile).open("r") as fh:
        assert fh.read() == "uploaded?"
    for name in ("f", "d", "sd"):  # uploaded through the DataProxy into the sandbox's store
        lit = execution.inputs.literals[name].to_flyte_idl()
        uri = lit.scalar.blob.uri or lit.scalar.structured_dataset.uri
        assert uri.startswith(f"{blobfs.PREFIX}{data_dir.resolve()}/blobs/{P}/{D}/"), uri


def test_our_client_uploads_inputs(ours: OurRemote, fk: Any, tmp_path: Path) -> None:
    note, folder = _local_inputs(tmp_path)
    table = tmp_path / "table"
    table.mkdir()
    pd.DataFrame(FRAME).to_parquet(table / "00000")
    entity = ours.fetch_workflow(name=wf.inputs_wf.name, version=fk.version)
    execution = ours.execute(
        entity,
        inputs={
            "f": codec.FlyteFile(note),
            "d": codec.FlyteDirectory(folder),
            "sd": codec.StructuredDataset(uri=str(table)),
        },
        wait=True,
    )
    assert execution.closure.phase == 4, execution.closure.error
    assert _summary(execution.outputs, "o0") == wf.Summary(
        text="uploaded", names=["one.txt", "sub/two.txt"], columns=["a"], total=6
    )
    ours.download(execution.outputs, tmp_path / "dl")
    [downloaded] = (tmp_path / "dl" / "o1").iterdir()  # flytekit's layout: <name>/<file name>
    assert downloaded.read_text() == "uploaded?"


def test_flytefile_default(fk: Any, tmp_path: Path) -> None:
    execution = run(fk, fk.default_wf_name)
    with execution.outputs.get("o0", as_type=FlyteFile).open("r") as fh:
        assert fh.read() == "from the default."
    execution = run(fk, fk.default_wf_name, suffix="?")  # the default still applies with another input given
    fk.download(execution.outputs, str(tmp_path))
    assert (tmp_path / "o0" / "rewritten.txt").read_text() == "from the default?"


PYFLYTE_PROJECT = """
import pandas as pd
from flytekit import task, workflow
from flytekit.types.file import FlyteFile


@task
def frame(f: FlyteFile) -> pd.DataFrame:
    with open(f) as fh:
        return pd.DataFrame({"word": fh.read().split()})


@task
def shout(df: pd.DataFrame) -> FlyteFile:
    with open("shout.txt", "w") as fh:
        fh.write(" ".join(df["word"].str.upper()))
    return FlyteFile("shout.txt")


@workflow
def wf(f: FlyteFile) -> FlyteFile:
    return shout(df=frame(f=f))
"""


def test_pyflyte_run_remote_with_a_local_file(sandbox: SandboxThread, fk: Any, tmp_path: Path) -> None:
    """``pyflyte run --remote`` through a config file: the code is fast-registered, the local file uploaded."""
    (tmp_path / "words.py").write_text(PYFLYTE_PROJECT)
    (tmp_path / "in.txt").write_text("files look remote")
    config = tmp_path / "config.yaml"
    config.write_text(f"admin:\n  endpoint: dns:///{sandbox.endpoint}\n  insecure: true\n")
    pyflyte = Path(sys.executable).parent / "pyflyte"
    argv = [str(pyflyte), "-c", str(config), "run", "--remote", "words.py", "wf", "--f", "in.txt"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    name = re.search(r"/executions/(\w+)", done.stdout)
    assert name, done.stdout
    execution = fk.wait(fk.fetch_execution(name=name.group(1)), **WAIT)
    assert execution.closure.phase == 4, execution.error
    with execution.outputs.get("o0", as_type=FlyteFile).open("r") as fh:
        assert fh.read() == "FILES LOOK REMOTE"


def test_inprocess_task_outputs_go_to_the_blob_store(ours: OurRemote, data_dir: Path, tmp_path: Path) -> None:
    """A local file an in-process task returns is copied below its raw output prefix, as a pod uploads it."""
    single = types_pb2.LiteralType(blob=types_pb2.BlobType(dimensionality=types_pb2.BlobType.SINGLE))
    task = ours.register_task(
        inprocess_task(
            "files.write_note",
            f"{wf.__name__}:write_note",
            inputs={"text": str},
            outputs={"o0": single},
            version="v" + uuid.uuid4().hex[:8],
        )
    )
    execution = ours.execute(task, inputs={"text": "in process"}, wait=True)
    assert execution.closure.phase == 4, execution.closure.error
    uri = execution.outputs.literals["o0"].scalar.blob.uri
    assert uri.startswith(f"{blobfs.PREFIX}{data_dir.resolve()}/blobs/raw/") and uri.endswith(
        "/inprocess.txt"
    )
    ours.download(execution.outputs, tmp_path)
    assert (tmp_path / "o0" / "inprocess.txt").read_text() == "in process"


# ------------------------------------------------------------------------------------------ where blobs go


def _strings(value: Any) -> Iterator[str]:
    """Every string in a protobuf message, a msgpack-encoded value (dataclasses) or plain data, recursively."""
    if isinstance(value, Message):
        for field, item in value.ListFields():
            if (
                field.type == FieldDescriptor.TYPE_BYTES
                and field.name == "value"
                and getattr(value, "tag", "") == "msgpack"
            ):
                yield from _strings(msgpack.unpackb(item))
            elif field.message_type is not None and field.message_type.GetOptions().map_entry:
                yield from _strings(list(item.values()))
            else:
                yield from _strings(list(item) if field.is_repeated else item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _uris(message: Message) -> list[str]:
    """The URIs in a message: literals (blobs, datasets, dataclasses as msgpack), metadata URIs, log links."""
    return [s for s in _strings(message) if "://" in s]


def test_blobs_stay_in_the_data_dir(
    sandbox: SandboxThread, data_dir: Path, fk: Any, passed_along: Any, tmp_path: Path
) -> None:
    """After the file tests (this module runs it last): every URI in every execution's and node's data and
    closure names a file in the sandbox's blob store, under ``--data-dir``; and no ``file://`` URI is left."""
    note, folder = _local_inputs(tmp_path, nested=False)
    sd = StructuredDataset(dataframe=pd.DataFrame(FRAME))
    run(fk, wf.inputs_wf.name, f=FlyteFile(str(note)), d=FlyteDirectory(str(folder)), sd=sd)
    root = f"{blobfs.PREFIX}{data_dir.resolve()}/"
    channel = grpc.insecure_channel(sandbox.endpoint)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    seen: list[str] = []
    try:
        executions = admin.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project=P, domain=D), limit=100
            )
        ).executions
        assert len(executions) >= 2  # all the module ran, when run whole
        for execution in executions:
            seen += _uris(execution.closure)
            seen += _uris(
                admin.GetExecutionData(execution_pb2.WorkflowExecutionGetDataRequest(id=execution.id))
            )
            nodes = admin.ListNodeExecutions(
                node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=execution.id, limit=100)
            ).node_executions
            for node in nodes:
                seen += _uris(node.closure)
                seen += _uris(
                    admin.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=node.id))
                )
    finally:
        channel.close()
    blobs = [
        u for u in seen if not u.startswith("flyte://")
    ]  # flyte:// are Flyte URLs of the data, not blobs
    assert blobs and any(u.endswith(".txt") for u in blobs)
    outside = sorted({u for u in blobs if not u.startswith(root) and not _is_task_log(u, data_dir)})
    assert outside == []
    missing = sorted({u for u in blobs if u.startswith(root) and not blobfs.local_path(u).exists()})
    assert missing == []


def _is_task_log(uri: str, data_dir: Path) -> bool:
    """Task log links (``file://`` of the log the sandbox writes in the blob store, shown as a link)."""
    return uri.startswith(f"file://{data_dir.resolve()}/") and uri.endswith("/task.log")
