"""flytekit code for the drop-in suite (``test_dropin.py``): registered by flytekit's own FlyteRemote, run by
the sandbox as flytekit subprocesses (this module is importable from the repository root)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import flytekit
from flytekit import CronSchedule, LaunchPlan, dynamic, task, workflow
from flytekit.types.file import FlyteFile

from tests.conformance.workflows import double


@dataclass
class Point:
    x: int
    y: int


@task
def make_point(x: int) -> Point:
    return Point(x=x, y=x * 2)


@workflow
def point_wf(x: int) -> Point:
    return make_point(x=x)


@task
def count_up(n: int) -> list[int]:
    return list(range(n))


@dynamic
def fan_wf_dynamic(n: int) -> list[int]:
    return [double(x=i) for i in range(n)]


@workflow
def dynamic_wf(n: int) -> list[int]:
    return fan_wf_dynamic(n=n)


@task
def stamp(t: datetime) -> str:
    return t.isoformat()


@workflow
def daily_wf(t: datetime) -> str:
    return stamp(t=t)


daily_lp = LaunchPlan.get_or_create(
    daily_wf, name="dropin_daily", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)


@task
def write_note(text: str) -> FlyteFile:
    path = Path(flytekit.current_context().working_directory) / "note.txt"
    path.write_text(text)
    return FlyteFile(str(path))


@workflow
def note_wf(text: str) -> FlyteFile:
    return write_note(text=text)


@task
def add_one(x: int) -> int:
    return x + 1


@workflow
def add_one_wf(x: int) -> int:
    return add_one(x=add_one(x=x))
