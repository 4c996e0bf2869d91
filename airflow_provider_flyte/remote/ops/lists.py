"""Paging over flyteadmin list RPCs (offset tokens; an empty token ends the listing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_flyte.remote.ops.call import Call, Op

PAGE_SIZE = 100


def sort_by(key: str = "created_at", ascending: bool = False) -> Any:
    """``admin.Sort`` on ``key``."""
    from flyteidl.admin import common_pb2

    direction = common_pb2.Sort.ASCENDING if ascending else common_pb2.Sort.DESCENDING
    return common_pb2.Sort(key=key, direction=direction)


def list_all(make_call: Callable[[str], Call], field: str, limit: int | None = None) -> Op[list[Any]]:
    """Every item of a paged listing (``make_call(token)`` builds each page's call), at most ``limit`` items."""
    items: list[Any] = []
    token = ""
    while True:
        response = yield make_call(token)
        items.extend(getattr(response, field))
        token = response.token
        if not token or (limit is not None and len(items) >= limit):
            return items[:limit] if limit is not None else items


def join_filters(*filters: str | None) -> str:
    """flyteadmin filter expressions joined with ``+`` (empty parts dropped)."""
    return "+".join(f for f in filters if f)


def value_in(field: str, values: list[str]) -> str:
    """``value_in(field,a;b;c)``."""
    return f"value_in({field},{';'.join(values)})"
