"""flytekit code the console tests run in the sandbox: a task that prints and returns a file, a dynamic fan-out."""

from __future__ import annotations

import os
import tempfile

from flytekit import task, workflow
from flytekit.types.file import FlyteFile

from tests.sandbox.flyte_code.tasks import fan_out

LOG_LINE = "hello from the console test task"


@task
def write_report(n: int) -> FlyteFile:
    print(LOG_LINE, n, flush=True)
    path = os.path.join(tempfile.mkdtemp(), "report.txt")
    with open(path, "w") as fh:
        fh.write(f"report {n}\n")
    return FlyteFile(path)


@workflow
def console_wf(n: int) -> tuple[FlyteFile, list[int]]:
    return write_report(n=n), fan_out(n=n)
