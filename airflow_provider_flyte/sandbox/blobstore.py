"""The sandbox's blob store: ``flytesandbox://`` URIs of files under ``<data dir>/blobs`` (see :mod:`.blobfs`).

flytekit and fsspec read and write them through :class:`~.blobfs.SandboxBlobFileSystem`, the sandbox itself
directly on disk.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from google.protobuf.message import Message

from airflow_provider_flyte.sandbox import blobfs

M = TypeVar("M", bound=Message)


class BlobStore:
    """Content lives in plain files; a URI is ``flytesandbox://<absolute path>``.

    Writes are atomic (temp file + rename) so a kill -9 never leaves a half-written blob behind.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def uri(self, *parts: str) -> str:
        """URI of a path below the root (parts are joined with ``/``; empty parts are dropped)."""
        rel = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
        # not Path.as_uri(): it percent-encodes characters such as "=" (base32 padding in data proxy paths),
        # which fsspec and flytekit do not decode
        return blobfs.uri_for(self.root / rel)

    @staticmethod
    def path(uri: str) -> Path:
        """Local path of a ``flytesandbox://`` URI, of a ``file://`` URI (data dirs written before the scheme
        existed, task logs) or of a plain absolute path."""
        if blobfs.is_blob_uri(uri):
            return blobfs.local_path(uri)
        if uri.startswith("file://"):
            return Path(urlparse(uri).path)
        if uri.startswith("/"):
            return Path(uri)
        raise ValueError(f"the sandbox blob store only holds {blobfs.PREFIX} (and file://) URIs, got {uri!r}")

    def write_bytes(self, uri: str, data: bytes) -> None:
        target = self.path(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_bytes(self, uri: str) -> bytes:
        return self.path(uri).read_bytes()

    def exists(self, uri: str) -> bool:
        try:
            return self.path(uri).exists()
        except ValueError:
            return False

    def write_proto(self, uri: str, message: Message) -> None:
        self.write_bytes(uri, message.SerializeToString())

    def read_proto(self, uri: str, cls: type[M]) -> M:
        msg = cls()
        msg.ParseFromString(self.read_bytes(uri))
        return msg
