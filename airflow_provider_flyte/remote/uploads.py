"""Where local files given as execution inputs go: flytekit's ``data_upload_location``.

``flyte://...`` (flytekit's default ``flyte://my-s3-bucket/``) means "through the DataProxy" (CreateUploadLocation +
HTTP PUT, see :func:`~.ops.files.upload_file`). Any other fsspec URL (``s3://bucket/prefix``, ``gs://...``,
``file:///tmp/x``) or a plain local path is a prefix written to directly with fsspec, as flytekit's
``FileAccessProvider`` does: a file goes to ``<prefix>/<random>/<file name>``, a directory to ``<prefix>/<random>/``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_flyte.remote.errors import (
    FlyteConfigError,
    FlyteInvalidInputError,
    FlyteMissingDependencyError,
    FlyteSystemError,
)

DATA_PROXY_SCHEME = "flyte"


@dataclass(frozen=True)
class UploadLocation:
    """A parsed ``data_upload_location``: ``url`` (a local path is turned into a ``file://`` URL) and its
    ``protocol``. ``file://`` URLs hold the plain path, as fsspec and flytekit write them."""

    url: str
    protocol: str

    @classmethod
    def parse(cls, location: str) -> UploadLocation:
        """Check the location; :class:`FlyteConfigError` for an unknown fsspec protocol."""
        if not isinstance(location, str) or not location.strip():
            raise FlyteConfigError(
                f"data_upload_location must be a URL or path, got {location!r}: use 'flyte://...' (through the "
                "DataProxy), an fsspec URL such as 's3://bucket/prefix', or a local directory"
            )
        location = location.strip()
        if "://" not in location:
            # "file://" + the plain path, as fsspec, flytekit and the blob stores spell it (not percent-encoded)
            return cls("file://" + Path(location).expanduser().resolve().as_posix(), "file")
        protocol = location.split("://", 1)[0].lower()
        if protocol != DATA_PROXY_SCHEME:
            from fsspec.registry import known_implementations, registry

            if protocol not in known_implementations and protocol not in registry:
                raise FlyteConfigError(
                    f"data_upload_location {location!r} uses protocol {protocol!r}, which fsspec does not know: use "
                    "'flyte://...' (upload through the DataProxy) or an fsspec URL such as 's3://bucket/prefix', "
                    "'gs://bucket/prefix' or 'file:///path'"
                )
        return cls(location, protocol)

    @property
    def via_data_proxy(self) -> bool:
        """Whether uploads go through the DataProxy (``flyte://``) rather than straight to the blob store."""
        return self.protocol == DATA_PROXY_SCHEME

    def put(self, local: str, storage_options: Mapping[str, Mapping[str, Any]]) -> str:
        """Copy a local file or directory under this prefix (fsspec, blocking); the URI it now has."""
        import fsspec

        src = Path(local)
        if not src.exists():
            raise FlyteInvalidInputError(f"{local!r} does not exist: cannot upload it to {self.url}")
        leaf = uuid.uuid4().hex + (f"/{src.name}" if src.is_file() else "")
        target = f"{self.url.rstrip('/')}/{leaf}"
        try:
            fs, path = fsspec.core.url_to_fs(target, **dict(storage_options.get(self.protocol, {})))
        except ImportError as exc:
            raise FlyteMissingDependencyError(
                f"writing to {self.url} needs the fsspec implementation of {self.protocol!r}: {exc}"
            ) from exc
        try:
            if src.is_dir():
                fs.makedirs(path, exist_ok=True)
                fs.put(f"{src}/", path, recursive=True)
            else:
                fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
                fs.put_file(str(src), path)
        except OSError as exc:
            raise FlyteSystemError(f"could not write {local!r} to {target}: {exc}") from exc
        return target


__all__ = ["DATA_PROXY_SCHEME", "UploadLocation"]
