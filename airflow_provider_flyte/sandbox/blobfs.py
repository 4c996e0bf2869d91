"""The ``flytesandbox://`` fsspec filesystem: the sandbox's blob store as a *remote* store for flytekit.

flytekit treats every ``file://`` URI as a local path: a ``FlyteFile``/``FlyteDirectory``/``StructuredDataset``
held in the blob store under ``file://`` is re-uploaded, or handed to the next task as a bare path it cannot open.
On a real cluster blobs live in an object store (minio's ``s3://`` in the demo cluster), which flytekit reads and
writes with fsspec. The sandbox's URIs use their own scheme instead, ``flytesandbox://<absolute path>``, so
flytekit takes them for remote data and goes through fsspec, which resolves the scheme to
:class:`SandboxBlobFileSystem` through the ``fsspec.specs`` entry point of this package. Task processes, users'
scripts (flytekit's ``FlyteRemote``, ``FlyteFile.open()``, pandas) and this package's own client all find it
without any configuration. The data are plain files under the sandbox's ``--data-dir``, on this machine.

Only fsspec is imported here: flytekit loads this module in every task process.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fsspec.implementations.local import LocalFileSystem

#: URI scheme of the sandbox's blob store (``flytesandbox:///<absolute path>``)
SCHEME = "flytesandbox"
PREFIX = f"{SCHEME}://"
#: ``<group>:<name> = <object>`` of the entry point declared in pyproject.toml
ENTRY_POINT_GROUP = "fsspec.specs"
ENTRY_POINT_VALUE = "airflow_provider_flyte.sandbox.blobfs:SandboxBlobFileSystem"
#: dist-info directory made for task processes when this package's metadata lacks the entry point
_SHIM_DIST = "airflow_provider_flyte_blobfs-0.dist-info"


class SandboxBlobFileSystem(LocalFileSystem):  # type: ignore[misc]
    """fsspec filesystem of ``flytesandbox:///<absolute path>`` URIs: local files, seen as an object store.

    Like an object store, writing a key creates its "directories" (``auto_mkdir`` defaults to True). Paths
    must be absolute: ``flytesandbox://relative`` is refused rather than resolved against the working directory.
    """

    protocol = (SCHEME,)

    def __init__(self, auto_mkdir: bool = True, **kwargs: Any) -> None:
        super().__init__(auto_mkdir=auto_mkdir, **kwargs)

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = os.fspath(path) if isinstance(path, os.PathLike) else path
        if isinstance(text, str) and text.startswith(PREFIX) and not text[len(PREFIX) :].startswith("/"):
            raise ValueError(
                f"{text!r} is not a sandbox blob URI: they name an absolute path, {PREFIX}/<path> "
                f"(three slashes), as the sandbox hands them out"
            )
        stripped: str = super()._strip_protocol(path)
        return stripped

    @property
    def fsid(self) -> str:
        return SCHEME


def uri_for(path: str | os.PathLike[str]) -> str:
    """The ``flytesandbox://`` URI of an absolute local path (not percent-encoded: fsspec does not decode)."""
    return PREFIX + Path(path).as_posix()


def is_blob_uri(uri: str) -> bool:
    return uri.startswith(PREFIX)


def local_path(uri: str) -> Path:
    """The local path of a ``flytesandbox://`` URI."""
    return Path(SandboxBlobFileSystem._strip_protocol(uri))


@functools.lru_cache(maxsize=1)
def entry_point_installed() -> bool:
    """Whether fsspec finds the scheme through installed package metadata (not so in a bare source checkout)."""
    return any(
        ep.name == SCHEME and ep.value == ENTRY_POINT_VALUE
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    )


def register() -> None:
    """Register the filesystem with fsspec in this process (idempotent), for when the entry point is missing."""
    import fsspec

    fsspec.register_implementation(SCHEME, SandboxBlobFileSystem, clobber=True)


def entry_point_shim(directory: str | os.PathLike[str]) -> Path:
    """Write a ``.dist-info`` declaring only this scheme's entry point into ``directory`` and return the
    directory: on ``sys.path`` / ``PYTHONPATH`` it lets fsspec find the scheme without installed metadata."""
    dist = Path(directory) / _SHIM_DIST
    entry_points = f"[{ENTRY_POINT_GROUP}]\n{SCHEME} = {ENTRY_POINT_VALUE}\n"
    target = dist / "entry_points.txt"
    if not target.exists() or target.read_text() != entry_points:
        dist.mkdir(parents=True, exist_ok=True)
        _write_atomically(
            dist / "METADATA", "Metadata-Version: 2.1\nName: airflow-provider-flyte-blobfs\nVersion: 0\n"
        )
        _write_atomically(target, entry_points)
    return Path(directory)


def _write_atomically(path: Path, text: str) -> None:
    """Temp file + rename: a task process started meanwhile (another sandbox on the dir) never reads half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def task_environment(data_dir: str | os.PathLike[str], env: Mapping[str, str]) -> dict[str, str]:
    """Environment entries a task process needs to resolve ``flytesandbox://`` (merged into its environment).

    Nothing when this package is installed (its metadata declares the entry point). When it runs from a
    source checkout without that metadata, :func:`entry_point_shim` writes one under ``<data dir>/python``,
    which is appended to the task's ``PYTHONPATH``.
    """
    if entry_point_installed():
        return {}
    shim = entry_point_shim(Path(data_dir) / "python")
    pythonpath = [*filter(None, env.get("PYTHONPATH", "").split(os.pathsep)), str(shim)]
    return {"PYTHONPATH": os.pathsep.join(pythonpath)}


__all__ = [
    "PREFIX",
    "SCHEME",
    "SandboxBlobFileSystem",
    "entry_point_installed",
    "entry_point_shim",
    "is_blob_uri",
    "local_path",
    "register",
    "task_environment",
    "uri_for",
]
