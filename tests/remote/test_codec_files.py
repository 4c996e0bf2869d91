"""Files, directories, datasets, pickles and offloaded literals: uploads, pass-through URIs, reads."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import literals_pb2, types_pb2

from airflow_provider_flyte.remote.codec import (
    CodecContext,
    FlyteDirectory,
    FlyteFile,
    StructuredDataset,
    literal_type_for_python_type,
    to_literal,
    to_literal_map,
    to_python,
)
from airflow_provider_flyte.remote.errors import FlyteInvalidInputError


class Store:
    """A real file:// store: upload copies into it and returns the file:// URI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploaded: list[str] = []

    def upload(self, path: str) -> str:
        self.uploaded.append(path)
        target = self.root / f"u{len(self.uploaded)}-{os.path.basename(path.rstrip('/'))}"
        if os.path.isdir(path):
            shutil.copytree(path, target)
        else:
            shutil.copyfile(path, target)
        return f"file://{target}"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    root = tmp_path / "store"
    root.mkdir()
    return Store(root)


def test_local_file_is_uploaded(tmp_path: Path, store: Store) -> None:
    src = tmp_path / "in.csv"
    src.write_text("a,b\n1,2\n")
    ctx = CodecContext(upload=store.upload)
    lt = literal_type_for_python_type(FlyteFile["csv"])
    for value in (FlyteFile(src), str(src), src):
        lit = to_literal(value, lt, ctx=ctx)
        uri = lit.scalar.blob.uri
        assert uri.startswith("file://") and lit.scalar.blob.metadata.type.format == "csv"
        assert Path(uri[len("file://") :]).read_text() == "a,b\n1,2\n"
    assert store.uploaded == [str(src)] * 3
    back = to_python(lit, lt, FlyteFile["csv"])
    assert isinstance(back, FlyteFile) and back.path == uri and back.format == "csv"
    with back.open("rb") as f:
        assert f.read() == b"a,b\n1,2\n"


def test_local_directory_is_uploaded_as_multipart(tmp_path: Path, store: Store) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    (d / "x.txt").write_text("x")
    lt = literal_type_for_python_type(FlyteDirectory)
    lit = to_literal(FlyteDirectory(d), lt, ctx=CodecContext(upload=store.upload))
    assert lit.scalar.blob.metadata.type.dimensionality == types_pb2.BlobType.MULTIPART
    assert store.uploaded == [str(d)]
    assert to_python(lit) == FlyteDirectory(lit.scalar.blob.uri)
    # a file value is not a directory
    with pytest.raises(TypeError):
        to_literal(FlyteFile("s3://b/k"), lt)


def test_remote_uris_pass_through_without_upload(store: Store) -> None:
    ctx = CodecContext(upload=store.upload)
    for uri in ("s3://b/k", "gs://b/k", "abfs://c/k", "file:///tmp/k", "flyte://v1/p/d/e/n/o/x"):
        lit = to_literal(uri, literal_type_for_python_type(FlyteFile), ctx=ctx)
        assert lit.scalar.blob.uri == uri
    assert store.uploaded == []


def test_upload_inside_dataclass_and_list(tmp_path: Path, store: Store) -> None:
    import dataclasses

    @dataclasses.dataclass
    class WithFile:
        f: FlyteFile
        n: int = 0

    src = tmp_path / "f.bin"
    src.write_bytes(b"\x00")
    ctx = CodecContext(upload=store.upload)
    lm = to_literal_map(
        {"files": [FlyteFile(src), FlyteFile("s3://b/k")], "dc": WithFile(FlyteFile(src))},
        {
            "files": literal_type_for_python_type(list[FlyteFile]),
            "dc": literal_type_for_python_type(WithFile),
        },
        ctx=ctx,
    )
    assert len(store.uploaded) == 2
    dc = to_python(lm.literals["dc"], None, WithFile)
    assert dc.f.path.startswith("file://")
    assert to_python(lm.literals["dc"]) == {"f": {"path": dc.f.path}, "n": 0}


def test_structured_dataset_local_path_uploaded(tmp_path: Path, store: Store) -> None:
    d = tmp_path / "sd"
    d.mkdir()
    (d / "part-0.parquet").write_bytes(b"PAR1")
    lt = literal_type_for_python_type(StructuredDataset)
    lit = to_literal(StructuredDataset(str(d)), lt, ctx=CodecContext(upload=store.upload))
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "parquet"
    assert to_python(lit) == StructuredDataset(lit.scalar.structured_dataset.uri, "parquet")
    with pytest.raises(TypeError, match="dataframes are not sent"):
        to_literal(object(), lt)


class Custom:
    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.v == self.v


def test_pickles_round_trip_only_when_allowed(store: Store) -> None:
    lt = literal_type_for_python_type(Custom)
    assert lt.blob.format == "PythonPickle"
    lit = to_literal(Custom(3), lt, ctx=CodecContext(upload=store.upload))
    assert lit.scalar.blob.metadata.type.format == "PythonPickle"
    assert lit.scalar.blob.uri.startswith("file://")
    with pytest.raises(FlyteInvalidInputError, match=r"CodecContext\(allow_pickle=True\)"):
        to_python(lit)
    assert to_python(lit, ctx=CodecContext(allow_pickle=True)) == Custom(3)
    reads: list[str] = []

    def read_bytes(uri: str) -> bytes:
        reads.append(uri)
        return Path(uri[len("file://") :]).read_bytes()

    assert to_python(lit, ctx=CodecContext(allow_pickle=True, read_bytes=read_bytes)) == Custom(3)
    assert reads == [lit.scalar.blob.uri]


def test_pickle_needs_upload() -> None:
    with pytest.raises(TypeError, match="no upload function"):
        to_literal(Custom(1), literal_type_for_python_type(Custom))


def test_offloaded_literal_is_read_through_context(tmp_path: Path) -> None:
    inner = to_literal([1, 2, 3], literal_type_for_python_type(list[int]))
    path = tmp_path / "offloaded.pb"
    path.write_bytes(inner.SerializeToString())
    lit = literals_pb2.Literal()
    lit.offloaded_metadata.uri = f"file://{path}"
    lit.offloaded_metadata.size_bytes = path.stat().st_size
    lit.offloaded_metadata.inferred_type.CopyFrom(literal_type_for_python_type(list[int]))
    assert to_python(lit) == [1, 2, 3]  # default reader: fsspec
    seen: list[str] = []

    def reader(uri: str) -> bytes:
        seen.append(uri)
        return path.read_bytes()

    assert to_python(lit, None, list[int], ctx=CodecContext(read_bytes=reader)) == [1, 2, 3]
    assert seen == [f"file://{path}"]
    lit.offloaded_metadata.uri = f"file://{tmp_path}/missing.pb"
    with pytest.raises(TypeError, match="cannot read the offloaded literal"):
        to_python(lit)


def test_flytekit_instances_are_accepted(tmp_path: Path, store: Store) -> None:
    fk_file = pytest.importorskip("flytekit.types.file")
    src = tmp_path / "local.txt"
    src.write_text("hi")
    lit = to_literal(
        fk_file.FlyteFile(str(src)),
        literal_type_for_python_type(FlyteFile),
        ctx=CodecContext(upload=store.upload),
    )
    assert store.uploaded == [str(src)]
    back: Any = to_python(lit, None, fk_file.FlyteFile)
    assert isinstance(back, fk_file.FlyteFile)
