"""The sandbox admin's persistence: one SQLite database (WAL) holding what flyteadmin keeps in Postgres.

Every row stores the protobuf message it represents (serialized bytes) next to the columns flyteadmin filters and
sorts on, under flyteadmin's (gorm, snake_case) column names, so that list filters such as
``eq(phase,RUNNING)`` or ``value_in(execution.name,a;b)`` translate to plain SQL over bound parameters.

Timestamps are stored as float seconds since the epoch, durations as float seconds, phases as enum names (as
flyteadmin does), states and modes as integers.

All calls are synchronous and meant to run on the sandbox's single asyncio event loop: one connection,
``synchronous=NORMAL`` (a committed transaction survives a process kill), statements cached by ``sqlite3``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Row = sqlite3.Row
Params = Sequence[Any]

#: Tables and their columns: ``(name, SQL type)``. ``id`` / ``created_at`` / ``updated_at`` are added to every
#: table (gorm's BaseModel). Columns of type BLOB hold protobuf bytes and are never filterable.
TABLES: dict[str, list[tuple[str, str]]] = {
    "projects": [
        ("identifier", "TEXT NOT NULL UNIQUE"),
        ("name", "TEXT"),
        ("description", "TEXT"),
        ("state", "INTEGER NOT NULL DEFAULT 0"),
        ("org", "TEXT NOT NULL DEFAULT ''"),
        ("proto", "BLOB"),
    ],
    "named_entity_metadata": [
        ("resource_type", "INTEGER NOT NULL"),
        ("project", "TEXT NOT NULL"),
        ("domain", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("description", "TEXT NOT NULL DEFAULT ''"),
        ("state", "INTEGER NOT NULL DEFAULT 0"),
    ],
    "tasks": [
        ("project", "TEXT NOT NULL"),
        ("domain", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("version", "TEXT NOT NULL"),
        ("org", "TEXT NOT NULL DEFAULT ''"),
        ("type", "TEXT"),
        ("digest", "TEXT"),
        ("short_description", "TEXT"),
        ("proto", "BLOB"),
    ],
    "workflows": [
        ("project", "TEXT NOT NULL"),
        ("domain", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("version", "TEXT NOT NULL"),
        ("org", "TEXT NOT NULL DEFAULT ''"),
        ("digest", "TEXT"),
        ("short_description", "TEXT"),
        ("proto", "BLOB"),
    ],
    "launch_plans": [
        ("project", "TEXT NOT NULL"),
        ("domain", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("version", "TEXT NOT NULL"),
        ("org", "TEXT NOT NULL DEFAULT ''"),
        ("workflow_id", "INTEGER"),
        ("state", "INTEGER NOT NULL DEFAULT 0"),
        ("digest", "TEXT"),
        ("schedule_type", "TEXT NOT NULL DEFAULT 'NONE'"),
        ("proto", "BLOB"),
    ],
    "executions": [
        ("execution_project", "TEXT NOT NULL"),
        ("execution_domain", "TEXT NOT NULL"),
        ("execution_name", "TEXT NOT NULL"),
        ("execution_org", "TEXT NOT NULL DEFAULT ''"),
        ("launch_plan_id", "INTEGER"),
        ("workflow_id", "INTEGER"),
        ("task_id", "INTEGER"),
        ("phase", "TEXT NOT NULL"),
        ("started_at", "REAL"),
        ("execution_created_at", "REAL"),
        ("execution_updated_at", "REAL"),
        ("duration", "REAL NOT NULL DEFAULT 0"),
        ("abort_cause", "TEXT NOT NULL DEFAULT ''"),
        ("mode", "INTEGER NOT NULL DEFAULT 0"),
        ("source_execution_id", "INTEGER NOT NULL DEFAULT 0"),
        ("parent_node_execution_id", "INTEGER NOT NULL DEFAULT 0"),
        ("cluster", "TEXT NOT NULL DEFAULT ''"),
        ("inputs_uri", "TEXT NOT NULL DEFAULT ''"),
        ("user_inputs_uri", "TEXT NOT NULL DEFAULT ''"),
        ("error_kind", "TEXT"),
        ("error_code", "TEXT"),
        ("user", "TEXT NOT NULL DEFAULT ''"),
        ("state", "INTEGER NOT NULL DEFAULT 0"),
        ("launch_entity", "TEXT NOT NULL DEFAULT ''"),
        ("spec", "BLOB"),
        ("closure", "BLOB"),
    ],
    "node_executions": [
        ("execution_project", "TEXT NOT NULL"),
        ("execution_domain", "TEXT NOT NULL"),
        ("execution_name", "TEXT NOT NULL"),
        ("execution_org", "TEXT NOT NULL DEFAULT ''"),
        ("node_id", "TEXT NOT NULL"),
        ("phase", "TEXT NOT NULL"),
        ("input_uri", "TEXT NOT NULL DEFAULT ''"),
        ("started_at", "REAL"),
        ("node_execution_created_at", "REAL"),
        ("node_execution_updated_at", "REAL"),
        ("duration", "REAL NOT NULL DEFAULT 0"),
        ("parent_id", "INTEGER"),
        ("parent_task_execution_id", "INTEGER"),
        ("error_kind", "TEXT"),
        ("error_code", "TEXT"),
        ("cache_status", "TEXT"),
        ("dynamic_workflow_remote_closure_reference", "TEXT NOT NULL DEFAULT ''"),
        ("closure", "BLOB"),
        ("node_execution_metadata", "BLOB"),
        ("internal_data", "BLOB"),
    ],
    "task_executions": [
        ("project", "TEXT NOT NULL"),
        ("domain", "TEXT NOT NULL"),
        ("name", "TEXT NOT NULL"),
        ("version", "TEXT NOT NULL"),
        ("execution_project", "TEXT NOT NULL"),
        ("execution_domain", "TEXT NOT NULL"),
        ("execution_name", "TEXT NOT NULL"),
        ("node_id", "TEXT NOT NULL"),
        ("retry_attempt", "INTEGER NOT NULL"),
        ("phase", "TEXT NOT NULL"),
        ("phase_version", "INTEGER NOT NULL DEFAULT 0"),
        ("input_uri", "TEXT NOT NULL DEFAULT ''"),
        ("started_at", "REAL"),
        ("task_execution_created_at", "REAL"),
        ("task_execution_updated_at", "REAL"),
        ("duration", "REAL NOT NULL DEFAULT 0"),
        ("closure", "BLOB"),
    ],
    "signals": [
        ("execution_project", "TEXT NOT NULL"),
        ("execution_domain", "TEXT NOT NULL"),
        ("execution_name", "TEXT NOT NULL"),
        ("signal_id", "TEXT NOT NULL"),
        ("type", "BLOB"),
        ("value", "BLOB"),
    ],
}

_INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_named_entity ON named_entity_metadata(resource_type, project, domain, name)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_tasks ON tasks(project, domain, name, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_workflows ON workflows(project, domain, name, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_launch_plans ON launch_plans(project, domain, name, version)",
    "CREATE INDEX IF NOT EXISTS ix_launch_plans_state ON launch_plans(project, domain, name, state)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_executions ON executions(execution_project, execution_domain, execution_name)",
    "CREATE INDEX IF NOT EXISTS ix_executions_created ON executions(execution_project, execution_domain, created_at)",
    "CREATE INDEX IF NOT EXISTS ix_executions_phase ON executions(phase)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_node_executions ON node_executions("
    "execution_project, execution_domain, execution_name, node_id)",
    "CREATE INDEX IF NOT EXISTS ix_node_executions_parent ON node_executions(parent_id)",
    "CREATE INDEX IF NOT EXISTS ix_node_executions_parent_task ON node_executions(parent_task_execution_id)",
    "CREATE INDEX IF NOT EXISTS ix_node_executions_phase ON node_executions(phase)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_task_executions ON task_executions("
    "execution_project, execution_domain, execution_name, node_id, retry_attempt)",
    "CREATE INDEX IF NOT EXISTS ix_task_executions_phase ON task_executions(phase)",
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_signals ON signals(execution_project, execution_domain, execution_name, signal_id)",
]

_BASE_COLUMNS = [
    ("id", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    ("created_at", "REAL NOT NULL"),
    ("updated_at", "REAL NOT NULL"),
]


def table_columns(table: str) -> list[str]:
    """All column names of a table (base columns included)."""
    return [c for c, _ in _BASE_COLUMNS] + [c for c, _ in TABLES[table]]


def filterable_columns(table: str) -> frozenset[str]:
    """Columns a list filter or sort key may name: every column except protobuf blobs."""
    return frozenset(c for c, t in _BASE_COLUMNS + TABLES[table] if not t.startswith("BLOB"))


class Store:
    """One SQLite connection in WAL mode with small helpers; explicit transactions via :meth:`transaction`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._depth = 0

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Open (creating if needed) the database and its schema."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # private like the blobs (0600): created here, before sqlite opens it (its -wal/-shm files take the mode)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, cached_statements=512
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA temp_store=MEMORY")
        self._conn = conn
        with self.transaction():
            for table, cols in TABLES.items():
                ddl = ", ".join(f'"{c}" {t}' for c, t in _BASE_COLUMNS + cols)
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({ddl})")
            for stmt in _INDEXES:
                conn.execute(stmt)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("the sandbox store is not open: call AdminCore.start() first")
        return self._conn

    # ---- transactions ----------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (nested uses join the outer one); committed on exit, rolled back on error."""
        conn = self.conn
        if self._depth:
            self._depth += 1
            try:
                yield conn
            finally:
                self._depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield conn
        except BaseException:
            self._depth = 0
            conn.execute("ROLLBACK")
            raise
        self._depth = 0
        conn.execute("COMMIT")

    # ---- queries ---------------------------------------------------------------------------------------------
    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of changed rows."""
        return self.conn.execute(sql, params).rowcount

    def insert(self, table: str, values: dict[str, Any]) -> int:
        """Insert a row (``created_at``/``updated_at`` default to now); returns its id."""
        now = time.time()
        values = {"created_at": now, "updated_at": now, **values}
        cols = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" for _ in values)
        cur = self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))
        rowid = cur.lastrowid
        assert rowid is not None
        return rowid

    def update(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        """Update columns of one row by id (``updated_at`` defaults to now)."""
        values = {"updated_at": time.time(), **values}
        sets = ", ".join(f'"{c}" = ?' for c in values)
        self.conn.execute(f"UPDATE {table} SET {sets} WHERE id = ?", [*values.values(), row_id])
