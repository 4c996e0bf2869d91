"""The task cache (datacatalog's role): outputs of discoverable tasks, kept in SQLite (``<data_dir>/catalog.db``).

A task is cacheable when ``TaskMetadata.discoverable`` is set. Its entries are keyed as datacatalog keys them: the
dataset ``flyte_task-<task name>`` of the task's project and domain, version ``<discovery_version>-<interface
hash>``, and the artifact tag ``flyte_cached-<input hash>`` (``cache_ignore_input_vars`` left out of the hash; a
literal's own ``hash`` stands for its value when set). The task version is not part of the key: bumping the task
version keeps the cache, bumping ``discovery_version`` (flytekit's ``cache_version``) invalidates it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from flyteidl.core import catalog_pb2, identifier_pb2, interface_pb2, literals_pb2, tasks_pb2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    project TEXT NOT NULL,
    domain TEXT NOT NULL,
    dataset TEXT NOT NULL,
    version TEXT NOT NULL,
    tag TEXT NOT NULL,
    artifact_id TEXT NOT NULL,
    outputs BLOB NOT NULL,
    source BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (project, domain, dataset, version, tag)
)
"""


@dataclass(frozen=True)
class CacheKey:
    """Where one task's outputs for one set of inputs are cached."""

    project: str
    domain: str
    dataset: str
    version: str
    tag: str

    def dataset_id(self) -> identifier_pb2.Identifier:
        return identifier_pb2.Identifier(
            resource_type=identifier_pb2.DATASET,
            project=self.project,
            domain=self.domain,
            name=self.dataset,
            version=self.version,
        )


def _literal_bytes(lit: literals_pb2.Literal) -> bytes:
    if lit.hash:
        return b"h" + str(lit.hash).encode()
    return b"v" + bytes(lit.SerializeToString(deterministic=True))


def input_hash(inputs: literals_pb2.LiteralMap, ignore: frozenset[str] = frozenset()) -> str:
    """A stable hash of the inputs (sorted names; ``ignore``: names left out)."""
    digest = hashlib.sha256()
    for name in sorted(inputs.literals):
        if name in ignore:
            continue
        digest.update(name.encode() + b"\0" + _literal_bytes(inputs.literals[name]))
    return digest.hexdigest()[:32]


def _interface_hash(iface: interface_pb2.TypedInterface) -> str:
    return hashlib.sha256(iface.SerializeToString(deterministic=True)).hexdigest()[:16]


def cache_key(template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap) -> CacheKey | None:
    """The cache key of running ``template`` on ``inputs``, None when the task is not discoverable."""
    md = template.metadata
    if not md.discoverable:
        return None
    tid = template.id
    return CacheKey(
        project=tid.project,
        domain=tid.domain,
        dataset=f"flyte_task-{tid.name}",
        version=f"{md.discovery_version}-{_interface_hash(template.interface)}",
        tag=f"flyte_cached-{input_hash(inputs, frozenset(md.cache_ignore_input_vars))}",
    )


@dataclass
class CacheEntry:
    """A cached result: the outputs and the catalog metadata events report (``catalog_key``)."""

    outputs: literals_pb2.LiteralMap
    metadata: catalog_pb2.CatalogMetadata


class Catalog:
    """Cached task outputs in SQLite. Synchronous, on the sandbox's event loop; opened on first use."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    @staticmethod
    def _metadata(
        key: CacheKey, artifact_id: str, source: identifier_pb2.TaskExecutionIdentifier
    ) -> catalog_pb2.CatalogMetadata:
        md = catalog_pb2.CatalogMetadata(dataset_id=key.dataset_id())
        md.artifact_tag.artifact_id = artifact_id
        md.artifact_tag.name = key.tag
        md.source_task_execution.CopyFrom(source)
        return md

    def get(self, key: CacheKey) -> CacheEntry | None:
        """The cached outputs for ``key``, or None (a cache miss)."""
        row = (
            self._db()
            .execute(
                "SELECT artifact_id, outputs, source FROM artifacts "
                "WHERE project = ? AND domain = ? AND dataset = ? AND version = ? AND tag = ?",
                (key.project, key.domain, key.dataset, key.version, key.tag),
            )
            .fetchone()
        )
        if row is None:
            return None
        source = identifier_pb2.TaskExecutionIdentifier.FromString(row[2])
        return CacheEntry(
            outputs=literals_pb2.LiteralMap.FromString(row[1]), metadata=self._metadata(key, row[0], source)
        )

    def put(
        self,
        key: CacheKey,
        outputs: literals_pb2.LiteralMap,
        source: identifier_pb2.TaskExecutionIdentifier,
        overwrite: bool = False,
    ) -> catalog_pb2.CatalogMetadata:
        """Cache ``outputs`` under ``key`` (an existing entry is kept unless ``overwrite``); returns its metadata."""
        artifact_id = str(uuid.uuid4())
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        self._db().execute(
            f"{verb} INTO artifacts (project, domain, dataset, version, tag, artifact_id, outputs, source, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key.project,
                key.domain,
                key.dataset,
                key.version,
                key.tag,
                artifact_id,
                outputs.SerializeToString(deterministic=True),
                source.SerializeToString(),
                time.time(),
            ),
        )
        entry = self.get(key)
        return entry.metadata if entry is not None else self._metadata(key, artifact_id, source)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
