"""Lightweight file, directory and dataset values the client sends and returns (no flytekit needed).

flytekit's own ``FlyteFile`` / ``FlyteDirectory`` / ``StructuredDataset`` instances are accepted too, by duck
typing (:func:`as_file_value`), without importing flytekit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

__all__ = [
    "FlyteDirectory",
    "FlyteFile",
    "StructuredDataset",
    "as_dataset_value",
    "as_file_value",
    "is_remote_uri",
]


def is_remote_uri(path: str) -> bool:
    """True for URIs with a scheme (``s3://``, ``gs://``, ``abfs://``, ``file://``, ``flyte://`` ...)."""
    head, sep, _ = path.partition("://")
    return bool(sep) and head.replace("+", "").replace("-", "").replace(".", "").isalnum()


class _PathValue:
    """Common base of :class:`FlyteFile` and :class:`FlyteDirectory`."""

    #: blob format the class stands for (``FlyteFile["csv"]`` sets it to ``"csv"``)
    format: ClassVar[str] = ""

    def __init__(self, path: str | os.PathLike[str], *, format: str | None = None) -> None:
        self.path = os.fspath(path)
        if format is not None:
            self.format = format  # type: ignore[misc]

    def __class_getitem__(cls, fmt: str) -> type[Any]:
        """``FlyteFile["csv"]``: a subclass whose blob format is ``"csv"`` (usable as a type hint)."""
        fmt = str(fmt).lstrip(".")
        return type(f"{cls.__name__}[{fmt}]", (cls,), {"format": fmt, "__module__": cls.__module__})

    @property
    def uri(self) -> str:
        """The path or URI (alias of :attr:`path`)."""
        return self.path

    @property
    def is_remote(self) -> bool:
        """True when :attr:`path` is a URI (anything with a scheme), False for a local path."""
        return is_remote_uri(self.path)

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        fmt = f", format={self.format!r}" if self.format else ""
        return f"{type(self).__name__}({self.path!r}{fmt})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _PathValue):
            return NotImplemented
        multipart = isinstance(self, FlyteDirectory)
        return (
            multipart == isinstance(other, FlyteDirectory)
            and self.path == other.path
            and self.format == other.format
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.path, self.format))

    def open(self, mode: str = "rb", **kwargs: Any) -> Any:
        """Open the file through fsspec (remote URIs need the matching fsspec filesystem installed)."""
        import fsspec

        return fsspec.open(self.path, mode, **kwargs).open()

    def download(self) -> str:
        """A local copy (flytekit's ``download()``): the path itself when local, else the file or directory
        copied through fsspec into a new temporary directory; returns the local path."""
        if not self.is_remote:
            return self.path
        import tempfile

        from airflow_provider_flyte.remote.files import copy_uri

        target = Path(tempfile.mkdtemp(prefix="flyte-download-")) / (self.path.rstrip("/").rsplit("/", 1)[-1] or "data")
        return str(copy_uri(self.path, target, isinstance(self, FlyteDirectory), {}))


class FlyteFile(_PathValue):
    """A single file: a local path (uploaded when sent) or a remote URI (sent as is)."""


class FlyteDirectory(_PathValue):
    """A directory (multipart blob): a local path (uploaded when sent) or a remote URI (sent as is)."""


@dataclass(frozen=True)
class StructuredDataset:
    """A structured dataset (dataframe) stored at ``uri`` in ``file_format`` (e.g. parquet)."""

    uri: str
    file_format: str = "parquet"


def as_file_value(value: Any) -> tuple[str, str | None, bool] | None:
    """Return ``(path_or_uri, format_or_None, is_directory)`` for a file/directory value, else None.

    Recognises this module's classes, ``os.PathLike`` objects are NOT included (they could be either), and
    flytekit's ``FlyteFile`` / ``FlyteDirectory`` instances by their class names.
    """
    if isinstance(value, _PathValue):
        return value.path, value.format or None, isinstance(value, FlyteDirectory)
    names = {k.__name__ for k in type(value).__mro__}
    if "FlyteFile" in names or "FlyteDirectory" in names:
        remote = getattr(value, "remote_source", None) or getattr(value, "remote_directory", None)
        path = remote if isinstance(remote, str) and remote else os.fspath(value.path)
        fmt: str | None = None
        ext = getattr(type(value), "extension", None)
        if callable(ext):
            try:
                fmt = str(ext()) or None
            except Exception:
                fmt = None
        return path, fmt, "FlyteDirectory" in names
    return None


def as_dataset_value(value: Any) -> tuple[str, str | None] | None:
    """Return ``(uri, file_format_or_None)`` for a structured dataset value (ours or flytekit's), else None."""
    if isinstance(value, StructuredDataset):
        return value.uri, value.file_format
    if "StructuredDataset" in {k.__name__ for k in type(value).__mro__}:
        uri = getattr(value, "uri", None)
        if isinstance(uri, str) and uri:
            return uri, getattr(value, "file_format", None) or None
    return None


def python_class_format(tp: Any) -> tuple[str, bool] | None:
    """For a file/directory *type* hint (ours or flytekit's), return ``(format, is_directory)``, else None."""
    if not isinstance(tp, type):
        return None
    if issubclass(tp, _PathValue):
        return tp.format, issubclass(tp, FlyteDirectory)
    names = {k.__name__ for k in tp.__mro__}
    if "FlyteFile" in names or "FlyteDirectory" in names:
        fmt = ""
        ext = getattr(tp, "extension", None)
        if callable(ext):
            try:
                fmt = str(ext())
            except Exception:
                fmt = ""
        return fmt, "FlyteDirectory" in names
    return None


def is_dataset_class(tp: Any) -> bool:
    """True for :class:`StructuredDataset` or flytekit's ``StructuredDataset`` (by name)."""
    return isinstance(tp, type) and "StructuredDataset" in {k.__name__ for k in tp.__mro__}
