"""Local side of file transfer: hashing, HTTP PUT to signed URLs, deterministic code bundles, downloads.

Uploads go through the DataProxy (see :func:`~.ops.files.upload_file`); downloads read the blob store directly
with fsspec (``s3``, ``gs``, ``abfs``, the embedded sandbox's ``flytesandbox``, ``file`` ... by URI scheme), like
flytekit's ``FlyteRemote.download``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from airflow_provider_flyte.remote.config import PlatformConfig
from airflow_provider_flyte.remote.errors import (
    FlyteInvalidInputError,
    FlyteMissingDependencyError,
    FlyteSystemError,
)

#: Names never packaged by :func:`build_fast_package` (flytekit's standard ignores).
IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".cache", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv"}
)
IGNORED_SUFFIXES = (".pyc", ".pyo")
_CHUNK = 1 << 20


def hash_file(path: Path) -> tuple[bytes, int]:
    """``(md5 digest, size in bytes)`` of a file."""
    md5 = hashlib.md5()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            md5.update(chunk)
            size += len(chunk)
    return md5.digest(), size


def check_upload_source(path: str | os.PathLike[str]) -> Path:
    """The path as a ``Path``, or :class:`FlyteInvalidInputError` if it is not a regular file."""
    p = Path(path)
    if not p.is_file():
        raise FlyteInvalidInputError(f"{str(p)!r} is not a file: upload_file uploads one regular file")
    return p


def http_put_file(
    platform: PlatformConfig, signed_url: str, path: Path, md5: bytes, headers: Mapping[str, str]
) -> None:
    """PUT the file to a signed URL with ``Content-MD5`` and the headers CreateUploadLocation requires."""
    from airflow_provider_flyte.remote.transport import http_request

    data = path.read_bytes()
    all_headers = {"Content-Length": str(len(data)), "Content-MD5": base64.b64encode(md5).decode(), **headers}
    if signed_url.startswith("abfs"):
        all_headers["x-ms-blob-type"] = "BlockBlob"
    resp = http_request(
        platform, "PUT", signed_url, data=data, headers=all_headers, timeout=platform.rpc_timeout
    )
    if resp.status not in (200, 201, 204):
        raise FlyteSystemError(
            f"upload of {path.name} failed with HTTP {resp.status}: {resp.body[:300].decode(errors='replace')}"
        )


def directory_files(root: Path) -> list[Path]:
    """Regular files below ``root``, sorted by relative path."""
    return sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())


def directory_root_name(md5s: list[bytes]) -> str:
    """flytekit's ``filename_root`` for a set of files: base32 of the md5 of their concatenated (sorted) md5s."""
    return base64.b32encode(hashlib.md5(b"".join(sorted(md5s))).digest()).decode().rstrip("=").lower()


# ------------------------------------------------------------------------------------------ fast packages


def _included(rel: Path) -> bool:
    return not any(part in IGNORED_NAMES for part in rel.parts) and not rel.name.endswith(IGNORED_SUFFIXES)


def _package_files(
    root: Path,
    deref_symlinks: bool,
    extra_ignores: Sequence[Callable[[str], bool]] = (),
    default_ignores: bool = True,
) -> list[tuple[str, Path]]:
    """The files to pack: everything under ``root`` that flytekit's ignores (``.gitignore`` via git,
    ``.dockerignore``, ``.flyteignore``, standard patterns; unless ``default_ignores`` is false), the
    ``extra_ignores`` predicates (root-relative paths) and ours leave in."""
    from airflow_provider_flyte.remote.ignore import IgnoreRules

    rules = IgnoreRules(root, extra_ignores, default_ignores)
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=deref_symlinks):
        here = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in IGNORED_NAMES and not rules.is_ignored((here / d).as_posix(), is_dir=True)
        )
        for fname in filenames:
            full = Path(dirpath) / fname
            rel = full.relative_to(root)
            if (
                _included(rel)
                and (full.is_file() or (full.is_symlink() and not deref_symlinks))
                and not rules.is_ignored(rel.as_posix())
            ):
                files.append((rel.as_posix(), full))
    files.sort()
    return files


def build_fast_package(
    root: str | os.PathLike[str],
    output: str | os.PathLike[str] | None = None,
    deref_symlinks: bool = True,
    *,
    extra_ignores: Sequence[Callable[[str], bool]] = (),
    default_ignores: bool = True,
) -> Path:
    """A deterministic ``fast<md5>.tar.gz`` of ``root`` (sorted entries, mtime 0, no owners, gzip mtime 0):
    the same tree always gives the same bytes and name. Written to ``output`` (a directory; default: a temp dir)."""
    import tempfile

    src = Path(root)
    if not src.is_dir():
        raise FlyteInvalidInputError(f"fast_package needs a directory, {str(src)!r} is not one")
    entries = _package_files(src, deref_symlinks, extra_ignores, default_ignores)
    digest = hashlib.md5()
    for rel, full in entries:
        digest.update(rel.encode())
        if full.is_file():
            digest.update(hash_file(full)[0])
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT, dereference=deref_symlinks) as tar:
        for rel, full in entries:
            info = tar.gettarinfo(str(full), arcname=rel)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if info.isfile():
                with open(full, "rb") as src_fh:
                    tar.addfile(info, src_fh)
            else:
                tar.addfile(info)
    out_dir = Path(output) if output is not None else Path(tempfile.mkdtemp(prefix="flyte-fast-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"fast{digest.hexdigest()}.tar.gz"
    with open(target, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(raw.getvalue())
    return target


# ---------------------------------------------------------------------------------------------- downloads


def download_literal(
    literal: Any, var: str, download_to: Path, storage_options: Mapping[str, Any]
) -> list[Path]:
    """Write what the literal named ``var`` refers to under ``download_to``, laid out as flytekit's
    ``download``: a file into ``<download_to>/<var>/`` (keeping its name), a directory or structured dataset's
    contents into ``<download_to>/<var>/``, a struct (generic / msgpack binary) as ``<download_to>/<var>.json``;
    collections and maps recurse into ``<download_to>/<var>/<index or key>``. Returns the written paths."""
    value = literal.WhichOneof("value")
    if value in ("collection", "map"):
        items = (
            enumerate(literal.collection.literals) if value == "collection" else literal.map.literals.items()
        )
        written: list[Path] = []
        for key, item in items:
            written += download_literal(item, str(key), download_to / var, storage_options)
        return written
    if value != "scalar":
        return []
    scalar = literal.scalar
    kind = scalar.WhichOneof("value")
    if kind == "union":
        return download_literal(scalar.union.value, var, download_to, storage_options)
    if kind in ("blob", "structured_dataset"):
        blob = kind == "blob"
        uri = scalar.blob.uri if blob else scalar.structured_dataset.uri
        multipart = not blob or scalar.blob.metadata.type.dimensionality == 1
        return [copy_uri(uri, download_to / var, multipart, storage_options, into=True)]
    if kind in ("generic", "binary"):
        if kind == "binary" and scalar.binary.tag != "msgpack":
            return []
        target = download_to / f"{var}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_struct_json(scalar, kind))
        return [target]
    return []


def _struct_json(scalar: Any, kind: str) -> str:
    if kind == "generic":
        from google.protobuf.json_format import MessageToJson

        return str(MessageToJson(scalar.generic))
    import json

    import msgpack

    return json.dumps(msgpack.unpackb(scalar.binary.value))


def copy_uri(
    uri: str, local_path: Path, recursive: bool, storage_options: Mapping[str, Any], *, into: bool = False
) -> Path:
    """Copy ``uri`` (file or, if ``recursive``, directory) to ``local_path`` with fsspec; with ``into``,
    ``local_path`` is a directory that receives the file (under its own name) or the directory's contents."""
    import fsspec

    protocol = uri.split("://", 1)[0] if "://" in uri else "file"
    if protocol == "file" and "://" in uri:
        uri = unquote(urlparse(uri).path)  # file:// URIs are percent-encoded (Path.as_uri), paths are not
    try:
        fs, path = fsspec.core.url_to_fs(uri, **dict(storage_options.get(protocol, {})))
    except (ImportError, ValueError) as exc:
        raise FlyteMissingDependencyError(
            f"cannot read {uri}: no fsspec filesystem for {protocol!r} ({exc}). Install the package that provides "
            "it (s3fs for s3://, gcsfs for gs://, adlfs for abfs://; flytesandbox:// comes with "
            "airflow-provider-flyte: reinstall it if its entry point is missing)"
        ) from exc
    local_path.parent.mkdir(parents=True, exist_ok=True)
    if recursive and fs.isdir(path):
        local_path.mkdir(parents=True, exist_ok=True)
        fs.get(path.rstrip("/") + "/", str(local_path), recursive=True)
    elif into:
        local_path.mkdir(parents=True, exist_ok=True)
        target = local_path / path.rstrip("/").rsplit("/", 1)[-1]
        fs.get(path, str(target))
        return Path(target)
    else:
        fs.get(path, str(local_path))
    return local_path
