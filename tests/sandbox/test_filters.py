"""flyteadmin's filter grammar, sort keys and pagination tokens (sandbox/filters.py), run against real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, execution_pb2

from airflow_provider_flyte.sandbox.errors import SandboxError
from airflow_provider_flyte.sandbox.filters import (
    EXECUTION,
    NODE_EXECUTION,
    PROJECT,
    TASK,
    ListQuery,
    next_token,
    parse_duration,
    parse_filters,
    parse_timestamp,
    parse_token,
)
from airflow_provider_flyte.sandbox.store import Store
from airflow_provider_flyte.sandbox.testing import SandboxThread

from .test_admin_support import create_execution, exec_id, lit_int, register_add, stubs, wait_phase


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "t.db")
    s.open()
    with s.transaction():
        for i, (name, phase, mode) in enumerate(
            [
                ("alpha", "RUNNING", 0),
                ("beta", "SUCCEEDED", 1),
                ("gamma", "FAILED", 0),
                ("delta", "RUNNING", 4),
            ]
        ):
            s.insert(
                "executions",
                {
                    "execution_project": "p",
                    "execution_domain": "d",
                    "execution_name": name,
                    "phase": phase,
                    "mode": mode,
                    "duration": float(i * 10),
                    "created_at": 1_700_000_000.0 + i,
                    "updated_at": 1_700_000_000.0 + i,
                },
            )
    yield s
    s.close()


def names(store: Store, filters: str, **kw: object) -> list[str]:
    query = ListQuery(EXECUTION, "ListExecutions", filters=filters, limit=kw.pop("limit", 100), **kw)  # type: ignore[arg-type]
    sql, params, _ = query.build()
    return [r["execution_name"] for r in store.all(sql, params)]


def error(fn: object, *args: object) -> SandboxError:
    with pytest.raises(SandboxError) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    return info.value


def test_every_function(store: Store) -> None:
    assert names(store, "eq(phase,RUNNING)") == ["alpha", "delta"]
    assert names(store, "ne(phase,RUNNING)") == ["beta", "gamma"]
    assert names(store, "value_in(execution.name,alpha;gamma;nope)") == ["alpha", "gamma"]
    assert names(store, "value_not_in(name,alpha;gamma)") == ["beta", "delta"]
    assert names(store, "contains(name,lt)") == ["delta"]
    assert names(store, "not_like(name,alpha)") == ["beta", "gamma", "delta"]
    assert names(store, "gt(duration,10)") == ["gamma", "delta"]
    assert names(store, "gte(duration,10s)") == ["beta", "gamma", "delta"]
    assert names(store, "lt(duration,0.5m)") == ["alpha", "beta", "gamma"]
    assert names(store, "lte(mode,1)") == ["alpha", "beta", "gamma"]
    assert names(store, "eq(mode,CHILD_WORKFLOW)") == ["delta"]
    assert names(store, "eq(phase,2)") == ["alpha", "delta"]  # numbers are mapped to phase names


def test_combined_filters_and_timestamps(store: Store) -> None:
    assert names(store, "eq(phase,RUNNING)+gte(created_at,2023-11-14T22:13:21Z)") == ["delta"]
    assert names(store, "lt(execution.created_at,2023-11-14T22:13:21.500000001Z)") == ["alpha", "beta"]


def test_sort_and_pagination(store: Store) -> None:
    desc = common_pb2.Sort(key="created_at", direction=common_pb2.Sort.DESCENDING)
    assert names(store, "", sort_by=desc) == ["delta", "gamma", "beta", "alpha"]
    asc = common_pb2.Sort(key="name", direction=common_pb2.Sort.ASCENDING)
    assert names(store, "", sort_by=asc, limit=2) == ["alpha", "beta"]
    assert names(store, "", sort_by=asc, limit=2, token="2") == ["delta", "gamma"]
    assert next_token(0, 2, 2) == "2"
    assert next_token(2, 1, 2) == ""
    with pytest.raises(SandboxError, match="invalid sort key 'closure'"):
        names(store, "", sort_by=common_pb2.Sort(key="closure"))


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("phase=RUNNING", "invalid value for filters"),
        ("eq(phase)", "invalid value for filters"),
        ("foo(phase,RUNNING)", "unrecognized filter function: foo"),
        ("eq(nope,1)", "'execution.nope' is invalid filter"),
        ("eq(node_execution.phase,RUNNING)", "'node_execution' entity is not allowed in filters"),
        ("eq(phase,A;B)", "invalid single value filter expression: equal"),
        ("gt(created_at,yesterday)", "Timestamp yesterday must conform to RFC3339 Nano spec"),
        ("gt(duration,forever)", "Failed to parse duration [forever]"),
        ("eq(mode,SOMETIMES)", "invalid value SOMETIMES for execution.mode"),
        ("eq(admin_tag.name,x)", "'admin_tag' entity is not allowed"),
    ],
)
def test_filter_errors(filters: str, message: str) -> None:
    assert message in error(parse_filters, filters, EXECUTION).message


def test_joins_and_entities() -> None:
    (cond,) = parse_filters("eq(execution.phase,RUNNING)", NODE_EXECUTION)
    assert cond.sql == 'executions."phase" = ?'
    (cond,) = parse_filters("eq(launch_plan.version,v1)", EXECUTION)
    assert cond.sql == 'launch_plans."version" = ?'
    (cond,) = parse_filters("eq(project,p)", NODE_EXECUTION)
    assert cond.column == "execution_project"
    (cond,) = parse_filters("eq(state,ARCHIVED)", PROJECT)
    assert cond.params == (1,)
    assert "task" in error(parse_filters, "eq(workflow.name,x)", TASK).message


def test_tokens_and_values() -> None:
    assert parse_token("", "ListX") == 0
    assert parse_token("40", "ListX") == 40
    assert error(parse_token, "abc", "ListTasks").message == "invalid pagination token abc for ListTasks"
    assert "invalid pagination token -1" in error(parse_token, "-1", "ListTasks").message
    assert parse_duration("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_duration("2.5") == 2.5
    assert parse_timestamp("1970-01-01T00:01:00Z") == 60.0
    assert "RFC3339" in error(parse_timestamp, "1970-01-01 00:01:00").message


def test_list_executions_value_in_over_grpc(sandbox: SandboxThread) -> None:
    """The Airflow triggers poll many executions with one ListExecutions(value_in(execution.name,a;b;c))."""
    s = stubs(sandbox.endpoint)
    try:
        _, _, lp = register_add(s, "flt")
        ids = [create_execution(s, lp, {"a": lit_int(i), "b": lit_int(1)}) for i in range(3)]
        for i in ids:
            wait_phase(s, i)
        request = execution_pb2.ExecutionList()
        request = s.admin.ListExecutions(
            common_pb2.ResourceListRequest(
                id=common_pb2.NamedEntityIdentifier(project="flytesnacks", domain="development"),
                limit=10,
                filters=f"value_in(execution.name,{ids[0].name};{ids[2].name};missing)+eq(phase,SUCCEEDED)",
            ),
            timeout=10,
        )
        assert sorted(e.id.name for e in request.executions) == sorted([ids[0].name, ids[2].name])
        assert request.token == ""
        assert (
            exec_id(ids[0].name) == request.executions[0].id
            or exec_id(ids[2].name) == request.executions[0].id
        )
    finally:
        s.close()
