"""The ``flytesandbox://`` fsspec filesystem: what the entry point declares, how processes find it, what it refuses."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import fsspec
import pytest

from airflow_provider_flyte.remote.errors import FlyteMissingDependencyError
from airflow_provider_flyte.remote.files import copy_uri
from airflow_provider_flyte.sandbox import blobfs
from airflow_provider_flyte.sandbox.blobstore import BlobStore

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_pyproject_declares_the_entry_point() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"][blobfs.ENTRY_POINT_GROUP] == {blobfs.SCHEME: blobfs.ENTRY_POINT_VALUE}
    module, _, name = blobfs.ENTRY_POINT_VALUE.partition(":")
    assert getattr(__import__(module, fromlist=[name]), name) is blobfs.SandboxBlobFileSystem


def test_a_fresh_process_resolves_the_scheme_through_the_shim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a task process gets when the package metadata lacks the entry point (a bare source checkout)."""
    monkeypatch.setattr(blobfs, "entry_point_installed", lambda: False)
    env = blobfs.task_environment(tmp_path / "data", {"PYTHONPATH": str(REPO_ROOT)})
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(REPO_ROOT)
    assert (tmp_path / "data" / "python").is_dir()  # under the data dir
    blob = tmp_path / "data" / "blobs" / "x.txt"
    store = BlobStore(tmp_path / "data" / "blobs")
    store.write_bytes(store.uri("x.txt"), b"payload")
    script = (
        "import fsspec, sys\n"
        "with fsspec.open(sys.argv[1], 'rb') as fh:\n"
        "    sys.stdout.write(fh.read().decode() + ' ' + type(fh.fs).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, store.uri("x.txt")],
        env={**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "payload SandboxBlobFileSystem"
    assert store.uri("x.txt") == f"flytesandbox://{blob}"


def test_installed_package_needs_no_shim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(blobfs, "entry_point_installed", lambda: True)
    assert blobfs.task_environment(tmp_path, {"PYTHONPATH": "x"}) == {}
    assert not (tmp_path / "python").exists()


def test_object_store_semantics_and_uris(tmp_path: Path) -> None:
    blobfs.register()
    uri = blobfs.uri_for(tmp_path) + "/a/b=/c.txt"  # "=" kept as is (base32 padding in upload paths)
    with fsspec.open(uri, "w") as fh:  # parents made on write, as keys in an object store
        fh.write("x")
    fs, path = fsspec.core.url_to_fs(uri)
    assert isinstance(fs, blobfs.SandboxBlobFileSystem)
    assert path == f"{tmp_path}/a/b=/c.txt" and (tmp_path / "a" / "b=" / "c.txt").read_text() == "x"
    assert fs.unstrip_protocol(path) == uri
    assert blobfs.local_path(uri) == tmp_path / "a" / "b=" / "c.txt" == BlobStore.path(uri)


def test_relative_uris_are_refused() -> None:
    blobfs.register()
    with pytest.raises(ValueError, match=r"absolute path, flytesandbox:///<path>"):
        fsspec.open("flytesandbox://bucket/key", "wb").open()


def test_download_of_an_unknown_scheme_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FlyteMissingDependencyError, match="no fsspec filesystem for 'nosuchfs'"):
        copy_uri("nosuchfs://bucket/key", tmp_path / "out", False, {})
