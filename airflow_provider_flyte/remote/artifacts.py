"""Copying the files, directories and structured datasets that execution outputs refer to, to any fsspec
destination (a local path, ``s3://``, ``gs://``, ``abfs://`` ...), for pipelines that hand Flyte's artifacts on."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from airflow_provider_flyte.remote.errors import FlyteInvalidInputError


def _protocol(uri: str) -> str:
    return uri.split("://", 1)[0] if "://" in uri else "file"


def _fs(uri: str, storage_options: Mapping[str, Any]) -> tuple[Any, str]:
    import fsspec

    protocol = _protocol(uri)
    if protocol == "file" and "://" in uri:
        uri = unquote(urlparse(uri).path)  # file:// URIs are percent-encoded
    return fsspec.core.url_to_fs(uri, **dict(storage_options.get(protocol, {})))  # type: ignore[no-any-return]


def _copy_file(src_fs: Any, src: str, dst_fs: Any, dst: str) -> None:
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(dst_fs, LocalFileSystem):
        dst_fs.makedirs(dst.rsplit("/", 1)[0], exist_ok=True)
    with src_fs.open(src, "rb") as reader, dst_fs.open(dst, "wb") as writer:
        shutil.copyfileobj(reader, writer)


def copy_uri(uri: str, destination: str, is_dir: bool | None, storage_options: Mapping[str, Any]) -> str:
    """Copy the file or directory at ``uri`` into the folder ``destination``: a file keeps its name
    (``<destination>/<name>``), a directory's content goes below ``destination``. Returns the copy's URI."""
    src_fs, src = _fs(uri, storage_options)
    dst_fs, dst = _fs(destination, storage_options)
    if is_dir is None:
        is_dir = bool(src_fs.isdir(src))
    if is_dir:
        root = src.rstrip("/")
        for path in src_fs.find(root):
            _copy_file(src_fs, path, dst_fs, f"{dst.rstrip('/')}/{path[len(root):].lstrip('/')}")
        return destination
    name = src.rstrip("/").rsplit("/", 1)[-1]
    _copy_file(src_fs, src, dst_fs, f"{dst.rstrip('/')}/{name}")
    return f"{destination.rstrip('/')}/{name}"


def copy_literal(literal: Any, destination: str, storage_options: Mapping[str, Any]) -> Any:
    """Copy what ``literal`` refers to below ``destination`` (collections by index, maps by key); returns the
    destination URIs in the literal's shape, or None when it holds no file, directory or dataset."""
    value = literal.WhichOneof("value")
    if value == "collection":
        items = [
            copy_literal(item, f"{destination}/{i}", storage_options)
            for i, item in enumerate(literal.collection.literals)
        ]
        return items if any(i is not None for i in items) else None
    if value == "map":
        entries = {k: copy_literal(v, f"{destination}/{k}", storage_options) for k, v in literal.map.literals.items()}
        return entries if any(v is not None for v in entries.values()) else None
    if value != "scalar":
        return None
    scalar = literal.scalar
    kind = scalar.WhichOneof("value")
    if kind == "union":
        return copy_literal(scalar.union.value, destination, storage_options)
    if kind == "blob":
        return copy_uri(scalar.blob.uri, destination, scalar.blob.metadata.type.dimensionality == 1, storage_options)
    if kind == "structured_dataset" and scalar.structured_dataset.uri:
        return copy_uri(scalar.structured_dataset.uri, destination, None, storage_options)
    return None


def copy_outputs(
    literals: Mapping[str, Any],
    destination: str,
    storage_options: Mapping[str, Any],
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Copy the artifacts of the outputs ``names`` (default: all) to ``<destination>/<output name>/``; returns
    output name -> destination URI(s), for the outputs that hold files, directories or datasets."""
    if not isinstance(destination, str) or not destination.strip():
        raise FlyteInvalidInputError(f"destination must be a path or fsspec URL, got {destination!r}")
    wanted = list(literals) if names is None else list(names)
    unknown = sorted(set(wanted) - set(literals))
    if unknown:
        raise FlyteInvalidInputError(f"no output(s) {unknown}; the execution has outputs {sorted(literals)}")
    result = {}
    for name in wanted:
        copied = copy_literal(literals[name], f"{destination.rstrip('/')}/{name}", storage_options)
        if copied is not None:
            result[name] = copied
    return result
