"""flyteadmin's list filters, sort keys and pagination tokens, translated to SQL with bound parameters.

Grammar (flyteadmin ``pkg/manager/impl/util/filters.go``): expressions ``func(field,value)`` joined by ``+``;
functions ``eq ne gt gte lt lte contains not_like value_in value_not_in``; the repeated-value functions take
values separated by ``;``. A field may carry an entity prefix (``execution.name``, ``launch_plan.version`` ...)
naming a joined entity; each primary entity allows only some joins. Fields must be columns of the entity.
``project``/``domain``/``name``/``org`` of execution-like entities mean the ``execution_*`` columns.

Values: phases are enum names (``RUNNING``; a number is accepted and mapped to its name); ``*_at`` columns take
RFC3339 timestamps; ``duration`` takes float seconds or a Go duration (``1m30s``); state-like columns take
integers or enum names.

Pagination: the token is a decimal offset; a response carries a token only when it returned a full page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, project_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2

from airflow_provider_flyte.sandbox.errors import SandboxError, invalid
from airflow_provider_flyte.sandbox.store import filterable_columns


@dataclass(frozen=True)
class Entity:
    """A filterable entity: its filter prefix, the SQL table (or alias) and its columns."""

    prefix: str
    table: str
    columns: frozenset[str]
    #: enum used for the ``phase`` column, if any
    phase_enum: Any = None
    #: execution-like entities store their identifier in ``execution_*`` columns
    execution_like: bool = False
    #: per-column enum name -> number mappings for integer columns
    enums: dict[str, Any] = field(default_factory=dict)


def _entity(prefix: str, table: str, **kw: Any) -> Entity:
    return Entity(prefix, table, filterable_columns(table), **kw)


TASK = _entity("task", "tasks")
WORKFLOW = _entity("workflow", "workflows")
LAUNCH_PLAN = _entity("launch_plan", "launch_plans", enums={"state": launch_plan_pb2.LaunchPlanState})
EXECUTION = _entity(
    "execution",
    "executions",
    phase_enum=core_execution_pb2.WorkflowExecution.Phase,
    execution_like=True,
    enums={"state": execution_pb2.ExecutionState, "mode": execution_pb2.ExecutionMetadata.ExecutionMode},
)
NODE_EXECUTION = _entity(
    "node_execution",
    "node_executions",
    phase_enum=core_execution_pb2.NodeExecution.Phase,
    execution_like=True,
)
TASK_EXECUTION = _entity(
    "task_execution",
    "task_executions",
    phase_enum=core_execution_pb2.TaskExecution.Phase,
    execution_like=True,
)
NAMED_ENTITY_METADATA = _entity(
    "named_entity_metadata",
    "named_entity_metadata",
    enums={"state": common_pb2.NamedEntityState, "resource_type": identifier_pb2.ResourceType},
)
#: named entities are listed from a derived table aliased ``entities`` (see admin/entities.py)
NAMED_ENTITY = Entity(
    "entities",
    "entities",
    frozenset({"project", "domain", "name", "created_at", "updated_at"}),
)
PROJECT = _entity("project", "projects", enums={"state": project_pb2.Project.ProjectState})
SIGNAL = _entity("signal", "signals", execution_like=True)

ENTITIES: dict[str, Entity] = {
    e.prefix: e
    for e in (
        TASK,
        WORKFLOW,
        LAUNCH_PLAN,
        EXECUTION,
        NODE_EXECUTION,
        TASK_EXECUTION,
        NAMED_ENTITY,
        NAMED_ENTITY_METADATA,
        PROJECT,
        SIGNAL,
    )
}

#: which entities a filter on the primary entity may reference, and the join that brings each one in
_JOINS: dict[str, dict[str, str]] = {
    "execution": {
        "launch_plan": "LEFT JOIN launch_plans ON launch_plans.id = executions.launch_plan_id",
        "workflow": "LEFT JOIN workflows ON workflows.id = executions.workflow_id",
        "task": "LEFT JOIN tasks ON tasks.id = executions.task_id",
    },
    "launch_plan": {"workflow": "LEFT JOIN workflows ON workflows.id = launch_plans.workflow_id"},
    "node_execution": {
        "execution": "JOIN executions ON executions.execution_project = node_executions.execution_project"
        " AND executions.execution_domain = node_executions.execution_domain"
        " AND executions.execution_name = node_executions.execution_name",
    },
    "task_execution": {
        "task": "LEFT JOIN tasks ON tasks.project = task_executions.project AND tasks.domain = task_executions.domain"
        " AND tasks.name = task_executions.name AND tasks.version = task_executions.version",
        "execution": "JOIN executions ON executions.execution_project = task_executions.execution_project"
        " AND executions.execution_domain = task_executions.execution_domain"
        " AND executions.execution_name = task_executions.execution_name",
        "node_execution": "JOIN node_executions ON node_executions.execution_project = task_executions.execution_project"
        " AND node_executions.execution_domain = task_executions.execution_domain"
        " AND node_executions.execution_name = task_executions.execution_name"
        " AND node_executions.node_id = task_executions.node_id",
    },
    "entities": {
        "named_entity_metadata": "",  # the derived table already carries the metadata columns
    },
    "task": {},
    "workflow": {},
    "project": {},
    "signal": {},
    "named_entity_metadata": {},
}

_FILTER_RE = re.compile(r"(.+)\((.+),\s?(.+)\)")
_SINGLE = {
    "eq": "=",
    "ne": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "contains": "LIKE",
    "not_like": "NOT LIKE",
}
_REPEATED = {"value_in": "IN", "value_not_in": "NOT IN"}
_FUNC_NAMES = {
    "eq": "equal",
    "ne": "not equal",
    "gt": "greater than",
    "gte": "greater than or equal",
    "lt": "less than",
    "lte": "less than or equal",
    "contains": "contains",
    "not_like": "not like",
}
_EXECUTION_ID_FIELDS = {"org", "project", "domain", "name"}
_NAMED_ENTITY_METADATA_FIELDS = {"description", "state"}


@dataclass(frozen=True)
class Condition:
    """One parsed filter: a SQL condition over a qualified column, with its bound parameters."""

    entity: Entity
    column: str
    sql: str
    params: tuple[Any, ...]


# ---------------------------------------------------------------------------------------------------------------
# value conversion


_GO_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float:
    """Float seconds or a Go duration string (``1h2m3.5s``) -> seconds."""
    try:
        return float(value)
    except ValueError:
        pass
    text = value.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    pos, total = 0, 0.0
    for m in _GO_DURATION_RE.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if not text or pos != len(text):
        raise invalid(f"Failed to parse duration [{value}]")
    return sign * total


_FRACTION_RE = re.compile(r"(\.\d{6})\d+")


def parse_timestamp(value: str) -> float:
    """An RFC3339 (nano) timestamp -> float seconds since the epoch."""
    text = value.strip()
    try:
        if "T" not in text.upper():
            raise ValueError(text)
        dt = datetime.fromisoformat(_FRACTION_RE.sub(r"\1", text).replace("z", "Z"))
        if dt.tzinfo is None:
            raise ValueError(text)
    except ValueError:
        raise invalid(f"Timestamp {value} must conform to RFC3339 Nano spec") from None
    return dt.timestamp()


def _convert(entity: Entity, column: str, value: str) -> Any:
    if column.endswith("_at"):
        return parse_timestamp(value)
    if column == "duration":
        return parse_duration(value)
    if column == "phase" and entity.phase_enum is not None:
        if value.isdigit():
            try:
                return entity.phase_enum.Name(int(value))
            except ValueError:
                raise invalid(f"invalid phase value {value} for {entity.prefix} filters") from None
        return value
    enum = entity.enums.get(column)
    if enum is not None:
        if value.lstrip("-").isdigit():
            return int(value)
        try:
            return int(enum.Value(value))
        except ValueError:
            names = ", ".join(enum.keys())
            raise invalid(
                f"invalid value {value} for {entity.prefix}.{column}: expected a number or one of {names}"
            ) from None
    if column in ("retry_attempt", "phase_version", "mode", "state", "resource_type", "id"):
        try:
            return int(value)
        except ValueError:
            raise invalid(
                f"invalid value {value} for {entity.prefix}.{column}: expected an integer"
            ) from None
    return value


# ---------------------------------------------------------------------------------------------------------------
# filters


def _customize(entity: Entity, field_name: str) -> tuple[Entity, str]:
    if entity.execution_like and field_name in _EXECUTION_ID_FIELDS:
        return entity, f"execution_{field_name}"
    if entity is NAMED_ENTITY and field_name in _NAMED_ENTITY_METADATA_FIELDS:
        return NAMED_ENTITY_METADATA, field_name
    return entity, field_name


def _split_field(raw: str, primary: Entity) -> tuple[Entity, str]:
    for prefix, entity in ENTITIES.items():
        if raw.startswith(prefix + "."):
            return entity, raw[len(prefix) + 1 :]
    for prefix in ("admin_tag", "execution_admin_tag", "execution_tag"):
        if raw.startswith(prefix + "."):
            raise invalid(f"'{prefix}' entity is not allowed in filters: the sandbox keeps no execution tags")
    return primary, raw


def parse_filters(filters: str, primary: Entity) -> list[Condition]:
    """Parse a flyteadmin filter string for a list on ``primary``; raises INVALID_ARGUMENT on any error."""
    if not filters:
        return []
    out: list[Condition] = []
    allowed = _JOINS[primary.prefix]
    for expression in filters.split("+"):
        m = _FILTER_RE.search(expression)
        if m is None:
            raise invalid(
                f"invalid value for filters: {expression!r} is not of the form func(field,value), "
                "e.g. eq(phase,RUNNING); join several with '+'"
            )
        func, raw_field, raw_value = m.group(1).strip(), m.group(2).strip(), m.group(3)
        entity, name = _split_field(raw_field, primary)
        if entity is not primary and entity.prefix not in allowed:
            raise invalid(
                f"'{entity.prefix}' entity is not allowed in filters on {primary.prefix}; allowed: "
                + ", ".join([primary.prefix, *allowed])
            )
        entity, column = _customize(entity, name)
        if column not in entity.columns:
            raise invalid(
                f"'{entity.prefix}.{name}' is invalid filter; valid fields: "
                + ", ".join(sorted(entity.columns))
            )
        values = raw_value.split(";")
        qualified = f'{entity.table}."{column}"'
        if entity is NAMED_ENTITY_METADATA and primary is NAMED_ENTITY and column == "state":
            qualified = f"COALESCE({qualified}, 0)"
        if func in _SINGLE:
            if len(values) != 1:
                raise invalid(
                    f"invalid single value filter expression: {_FUNC_NAMES[func]} ({expression!r} has "
                    f"{len(values)} values; use value_in for several)"
                )
            value = _convert(entity, column, values[0])
            if func == "contains":
                value = f"%{value}%"
            out.append(Condition(entity, column, f"{qualified} {_SINGLE[func]} ?", (value,)))
        elif func in _REPEATED:
            converted = tuple(_convert(entity, column, v) for v in values)
            marks = ", ".join("?" for _ in converted)
            out.append(Condition(entity, column, f"{qualified} {_REPEATED[func]} ({marks})", converted))
        else:
            raise invalid(
                f"unrecognized filter function: {func} (use one of " + ", ".join([*_SINGLE, *_REPEATED]) + ")"
            )
    return out


def joins_for(primary: Entity, conditions: Sequence[Condition]) -> list[str]:
    """The JOIN clauses the conditions need (each once, in a stable order)."""
    needed: list[str] = []
    for c in conditions:
        if c.entity is primary:
            continue
        clause = _JOINS[primary.prefix].get(c.entity.prefix, "")
        if clause and clause not in needed:
            needed.append(clause)
    return needed


# ---------------------------------------------------------------------------------------------------------------
# sorting and pagination


def sort_clause(sort_by: Any, primary: Entity, default: str | None = None) -> str:
    """ORDER BY clause for an ``admin.Sort`` (or ``None``); unknown keys -> INVALID_ARGUMENT."""
    key = sort_by.key if sort_by is not None else ""
    if not key:
        if default is None:
            return f"ORDER BY {primary.table}.id ASC"
        return f"ORDER BY {default}"
    _, column = _customize(primary, key)
    if column not in primary.columns:
        raise invalid(f"invalid sort key '{key}'")
    direction = "ASC" if sort_by.direction == common_pb2.Sort.ASCENDING else "DESC"
    return f'ORDER BY {primary.table}."{column}" {direction}, {primary.table}.id {direction}'


_MAX_OFFSET = 2**63 - 1  # flyteadmin parses tokens as int64 (strconv.Atoi); SQLite's OFFSET is int64 too


def parse_token(token: str, list_name: str) -> int:
    """A pagination token (decimal offset; empty = 0)."""
    if not token:
        return 0
    try:
        offset = int(token)
    except ValueError:
        offset = -1
    if not 0 <= offset <= _MAX_OFFSET:
        raise invalid(f"invalid pagination token {token} for {list_name}")
    return offset


def check_limit(limit: int) -> None:
    if limit <= 0:
        raise invalid("invalid value for limit: set a page size > 0 (e.g. limit=100)")


def next_token(offset: int, returned: int, limit: int) -> str:
    return str(offset + returned) if limit > 0 and returned == limit else ""


@dataclass
class ListQuery:
    """A complete paginated SELECT over one entity: base conditions + request filters + sort + page."""

    primary: Entity
    list_name: str
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    filters: str = ""
    sort_by: Any = None
    default_sort: str | None = None
    limit: int = 0
    token: str = ""
    require_limit: bool = True
    #: FROM clause override (derived tables); default: the primary table
    source: str | None = None
    select: str | None = None
    #: a hook to add conditions depending on the parsed filters (e.g. ListExecutions' default state filter)
    adjust: Callable[[list[Condition]], list[tuple[str, Sequence[Any]]]] | None = None

    @classmethod
    def of(cls, primary: Entity, list_name: str, request: Any, **options: Any) -> ListQuery:
        """The query of a List request: its ``filters`` (when it has any), ``sort_by``, ``limit`` and ``token``."""
        return cls(
            primary,
            list_name,
            filters=getattr(request, "filters", ""),
            sort_by=request.sort_by if request.HasField("sort_by") else None,
            limit=request.limit,
            token=request.token,
            **options,
        )

    def build(self) -> tuple[str, list[Any], int]:
        """SQL text, parameters and the offset of the page."""
        if self.require_limit:
            check_limit(self.limit)
        offset = parse_token(self.token, self.list_name)
        conditions = parse_filters(self.filters, self.primary)
        where = list(self.where)
        params = list(self.params)
        for c in conditions:
            where.append(c.sql)
            params.extend(c.params)
        if self.adjust is not None:
            for sql, extra in self.adjust(conditions):
                where.append(sql)
                params.extend(extra)
        source = self.source or self.primary.table
        select = self.select or f"{self.primary.table}.*"
        sql = f"SELECT {select} FROM {source} " + " ".join(joins_for(self.primary, conditions))
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        sql += " " + sort_clause(self.sort_by, self.primary, self.default_sort)
        if self.limit > 0:
            sql += " LIMIT ? OFFSET ?"
            params.extend([self.limit, offset])
        elif offset:
            sql += " LIMIT -1 OFFSET ?"
            params.append(offset)
        return sql, params, offset


__all__ = [
    "ENTITIES",
    "EXECUTION",
    "LAUNCH_PLAN",
    "NAMED_ENTITY",
    "NAMED_ENTITY_METADATA",
    "NODE_EXECUTION",
    "PROJECT",
    "SIGNAL",
    "TASK",
    "TASK_EXECUTION",
    "WORKFLOW",
    "Condition",
    "Entity",
    "ListQuery",
    "SandboxError",
    "check_limit",
    "next_token",
    "parse_duration",
    "parse_filters",
    "parse_timestamp",
    "parse_token",
    "sort_clause",
]
