"""Python values <-> literals for in-process tasks, through the codec (``remote.codec``).

The sandbox reads and writes its own blob store: offloaded literals are read from it, files and directories a
task returns as local paths are copied into it below the raw output prefix (as a pod uploads them), and pickled
values (the tasks' own data) may be unpickled.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from airflow_provider_flyte.remote.codec import (
    CodecContext,
    literal_type_for_python_type,
    to_literal,
    to_python,
)
from airflow_provider_flyte.sandbox import blobfs
from airflow_provider_flyte.sandbox.blobstore import BlobStore


def _uploader(blobs: BlobStore, raw_output_prefix: str | None) -> Callable[[str], str]:
    """Local file/directory -> ``<raw output prefix>/<random>/<name>`` in the blob store (a file written
    atomically); without a blob-store prefix the path stays where it is (``file://``)."""

    def upload(path: str) -> str:
        src = Path(path).resolve()
        if raw_output_prefix is None or not blobfs.is_blob_uri(raw_output_prefix):
            return src.as_uri()
        target = f"{raw_output_prefix.rstrip('/')}/{uuid.uuid4().hex}/{src.name}"
        if src.is_dir():
            shutil.copytree(src, BlobStore.path(target))
        else:
            blobs.write_bytes(target, src.read_bytes())
        return target

    return upload


def codec_context(blobs: BlobStore, raw_output_prefix: str | None = None) -> CodecContext:
    """The codec context of in-process tasks: reads from the blob store, local files copied into it."""
    return CodecContext(
        upload=_uploader(blobs, raw_output_prefix),
        read_bytes=blobs.read_bytes,
        allow_pickle=True,
        raw_output_prefix=raw_output_prefix,
    )


def literal_to_python(
    lit: literals_pb2.Literal, literal_type: types_pb2.LiteralType | None, ctx: CodecContext | None = None
) -> Any:
    """A literal as a Python value (guided by the variable's type)."""
    return to_python(lit, literal_type, ctx=ctx)


def python_to_literal(
    value: Any, literal_type: types_pb2.LiteralType, ctx: CodecContext | None = None
) -> literals_pb2.Literal:
    """A Python value as a literal of ``literal_type``."""
    return to_literal(value, literal_type, ctx=ctx)


def literal_type_for(tp: Any) -> types_pb2.LiteralType:
    """The LiteralType of a Python type hint (as flytekit declares it)."""
    return literal_type_for_python_type(tp)
