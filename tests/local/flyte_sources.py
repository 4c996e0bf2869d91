"""Source text of the flytekit modules the local-entity tests write to temp source roots and import.

They live as text (not as modules of the test package) so that the sandbox's task processes cannot import them:
the only way the code reaches a task is the bundle (or pickle) the client uploads.
"""

from __future__ import annotations

SHOWCASE = '''
import datetime as dt
import enum
import os
from dataclasses import dataclass

import flytekit
from flytekit import LaunchPlan, approve, task, workflow
from flytekit.types.file import FlyteFile

OFFSET = 1


class Shape(enum.Enum):
    SQUARE = "square"
    CIRCLE = "circle"


@dataclass
class Box:
    side: int
    shape: Shape


@dataclass
class Span:
    start: int
    end: int


@task
def widen(span: Span, by: int) -> Span:
    return Span(start=span.start - by, end=span.end + by * OFFSET)


@task
def add(a: int, b: int) -> int:
    return a + b + OFFSET


@task
def where() -> str:
    return __file__


@task
def grow(box: Box, by: int) -> Box:
    return Box(side=box.side + by, shape=Shape.CIRCLE)


@task
def write_note(text: str) -> FlyteFile:
    path = os.path.join(flytekit.current_context().working_directory, "note.txt")
    with open(path, "w") as fh:
        fh.write(text)
    return FlyteFile(path)


@workflow
def inner(a: int, b: int) -> int:
    return add(a=a, b=b)


@workflow
def gated(a: int, b: int = 10) -> int:
    total = inner(a=a, b=b)
    checked = approve(total, "check", timeout=dt.timedelta(hours=1))
    return add(a=checked, b=0)


fixed = LaunchPlan.get_or_create(inner, name=__name__ + ".fixed", fixed_inputs={"b": 100})


@workflow
def calls_fixed(a: int) -> int:
    return fixed(a=a)
'''

GREETER = '''
from flytekit import task, workflow


@task
def hello(name: str) -> str:
    return "{greeting} " + name


@workflow
def greet(name: str) -> str:
    return hello(name=name)
'''

CHAIN = '''
from flytekit import task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@task
def double(x: int) -> int:
    return x * 2


@task
def square(x: int) -> int:
    return x * x


@workflow
def chain(x: int) -> int:
    return square(x=double(x=inc(x=x)))
'''

NOTEBOOK = '''
"""Runs as __main__ (like a notebook cell): defines a task and a workflow here and executes them."""
import json
import sys
from dataclasses import dataclass

from flytekit import task, workflow

from airflow_provider_flyte.remote import Config, FlyteRemote
from airflow_provider_flyte.remote.local import prepare_local_entity

SCALE = 3


@dataclass
class Pair:
    left: int
    right: int


@task
def swap_and_scale(p: Pair) -> Pair:
    return Pair(left=p.right * SCALE, right=p.left * SCALE)


@workflow
def swap_wf(p: Pair) -> Pair:
    return swap_and_scale(p=p)


endpoint, interactive = sys.argv[1], sys.argv[2]
mode = {"auto": None, "on": True, "off": False}[interactive]
with FlyteRemote(Config.for_sandbox(endpoint), "flytesnacks", "development") as remote:
    target = prepare_local_entity(remote, swap_wf, interactive_mode_enabled=mode)
    creates = sum(remote.rpc_stats.by_method[m] for m in ("CreateTask", "CreateWorkflow", "CreateLaunchPlan"))
    execution = remote.execute(target.entity, {"p": Pair(1, 2)}, type_hints=target.type_hints, wait=True)
    out = execution.outputs["o0"]
    print(json.dumps({
        "mode": target.code_mode, "version": target.version, "creates": creates,
        "phase": execution.phase_name, "type": type(out).__name__, "left": out.left, "right": out.right,
    }))
'''
