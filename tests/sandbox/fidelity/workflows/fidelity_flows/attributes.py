"""Attribute access on promises (dataclass and Pydantic outputs): propeller resolves the attribute path, and a list
taken out of an attribute feeds a map task."""

from __future__ import annotations

from dataclasses import dataclass, field

from flytekit import map_task, task, workflow
from pydantic import BaseModel


@dataclass
class Batch:
    name: str
    items: list[int]
    scale: int = 1
    tags: dict[str, int] = field(default_factory=dict)


class Settings(BaseModel):
    label: str
    values: list[int]
    nested: Batch


@task
def make_batch(n: int) -> Batch:
    return Batch(name=f"batch-{n}", items=list(range(1, n + 1)), scale=10, tags={"n": n})


@task
def make_settings(n: int) -> Settings:
    return Settings(label="s", values=[n, n + 1], nested=Batch(name="inner", items=[7, 8, 9]))


@task
def times_ten(x: int) -> int:
    return 10 * x


@task
def describe(name: str, scale: int, tag: int, first: int) -> str:
    return f"{name}:{scale}:{tag}:{first}"


@workflow
def map_over_dataclass_wf(n: int) -> list[int]:
    batch = make_batch(n=n)
    return map_task(times_ten)(x=batch.items)


@workflow
def map_over_pydantic_wf(n: int) -> tuple[list[int], list[int]]:
    settings = make_settings(n=n)
    return map_task(times_ten)(x=settings.values), map_task(times_ten)(x=settings.nested.items)


@workflow
def scalar_attributes_wf(n: int) -> str:
    batch = make_batch(n=n)
    return describe(name=batch.name, scale=batch.scale, tag=batch.tags["n"], first=batch.items[0])
