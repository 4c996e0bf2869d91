"""Uploads through the DataProxy: hash locally, CreateUploadLocation, HTTP PUT to the signed URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_flyte.remote.ops.call import DATA_PROXY, Call, Local, Op


def upload_file(
    path: Path,
    project: str,
    domain: str,
    filename_root: str | None,
    hash_file: Callable[[Path], tuple[bytes, int]],
    put: Callable[[str, Path, bytes, dict[str, str]], None],
) -> Op[tuple[bytes, str]]:
    """Upload one file; returns ``(md5 digest, native_url)``. ``hash_file`` and ``put`` are local blocking steps."""
    from flyteidl.service import dataproxy_pb2

    md5, _size = yield Local(lambda: hash_file(path))
    request = dataproxy_pb2.CreateUploadLocationRequest(
        project=project,
        domain=domain,
        filename=path.name,
        content_md5=md5,
        filename_root=filename_root or "",
        add_content_md5_metadata=True,
    )
    location: Any = yield Call(DATA_PROXY, "CreateUploadLocation", request, True)
    headers = dict(location.headers)
    yield Local(lambda: put(location.signed_url, path, md5, headers))
    return md5, str(location.native_url)


def get_data(flyte_uri: str) -> Op[Any]:
    """What a ``flyte://`` data URI resolves to (GetData): the ``DataProxy`` response."""
    from flyteidl.service import dataproxy_pb2

    response = yield Call(DATA_PROXY, "GetData", dataproxy_pb2.GetDataRequest(flyte_url=flyte_uri), True)
    return response
