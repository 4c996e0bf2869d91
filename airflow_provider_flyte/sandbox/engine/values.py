"""Python values <-> literals for in-process tasks, through the codec (``remote.codec``).

The sandbox reads and writes its own blob store: offloaded literals are read from it, files a task returns as
local paths stay where they are (``file://``), and pickled values (the tasks' own data) may be unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from airflow_provider_flyte.remote.codec import (
    CodecContext,
    literal_type_for_python_type,
    to_literal,
    to_python,
)
from airflow_provider_flyte.sandbox.blobstore import BlobStore


def _local_upload(path: str) -> str:
    return Path(path).resolve().as_uri()


def codec_context(blobs: BlobStore, raw_output_prefix: str | None = None) -> CodecContext:
    """The codec context of in-process tasks: reads from the blob store, local files kept in place."""
    return CodecContext(
        upload=_local_upload,
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
