"""Small flytekit tasks; the engine tests serialize them with flytekit and run them as subprocesses."""

from __future__ import annotations

import os

from flytekit import dynamic, task
from flytekit.exceptions.user import FlyteRecoverableException


@task
def add_numbers(a: int, b: int) -> int:
    return a + b


@task
def greet(name: str) -> str:
    return f"hello {name} from attempt {os.environ.get('FLYTE_ATTEMPT_NUMBER')} of {os.environ.get('FLYTE_INTERNAL_EXECUTION_ID')}"


@task
def boom(x: int) -> int:
    if x > 0:
        raise ValueError(f"boom {x}")
    return x


@task(retries=2)
def flaky() -> int:
    attempt = int(os.environ.get("FLYTE_ATTEMPT_NUMBER", "0"))
    if attempt < 1:
        raise FlyteRecoverableException(f"transient failure on attempt {attempt}")
    return attempt


@task
def sleepy(seconds: float) -> float:
    import time

    time.sleep(seconds)
    return seconds


@dynamic
def fan_out(n: int) -> list[int]:
    return [add_numbers(a=i, b=1) for i in range(n)]
