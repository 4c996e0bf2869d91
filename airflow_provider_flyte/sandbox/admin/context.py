"""State shared by the admin's managers: configuration, blob store, database, waiters and the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flyte.sandbox.admin.waiters import Waiters
from airflow_provider_flyte.sandbox.blobstore import BlobStore
from airflow_provider_flyte.sandbox.config import SandboxConfig
from airflow_provider_flyte.sandbox.filters import ListQuery, next_token
from airflow_provider_flyte.sandbox.interfaces import EngineProtocol
from airflow_provider_flyte.sandbox.store import Row, Store

PRINCIPAL_METADATA_KEY = "x-sandbox-principal"


@dataclass
class AdminContext:
    config: SandboxConfig
    blobs: BlobStore
    store: Store
    waiters: Waiters = field(default_factory=Waiters)
    engine: EngineProtocol | None = None

    def require_engine(self) -> EngineProtocol:
        if self.engine is None:
            raise RuntimeError("the sandbox engine is not running: call AdminCore.start() first")
        return self.engine

    def page(self, query: ListQuery) -> tuple[list[Row], str]:
        """Run a List query: the rows of the page and the token of the next one."""
        sql, params, offset = query.build()
        rows = self.store.all(sql, params)
        return rows, next_token(offset, len(rows), query.limit)

    def metadata_prefix(self, project: str, domain: str, name: str) -> str:
        """URI prefix of an execution's metadata (inputs, outputs, node and task data)."""
        return self.blobs.uri("metadata", project, domain, name)


def principal_of(context: Any) -> str:
    """The authenticated user set by the server's auth layer (``x-sandbox-principal`` metadata), else ""."""
    if context is None:
        return ""
    try:
        metadata = context.invocation_metadata()
    except Exception:
        return ""
    for key, value in metadata or ():
        if key == PRINCIPAL_METADATA_KEY:
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""
