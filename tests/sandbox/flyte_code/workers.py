"""flytekit tasks that report what their process looks like; run warm and cold, their reports must be equal."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from datetime import timedelta

from flytekit import current_context, task


def _process_report() -> dict[str, object]:
    work = os.getcwd()

    def rel(value: object) -> object:
        if isinstance(value, str):
            return value.replace(work, "<work>")
        if isinstance(value, list):
            return [rel(v) for v in value]
        if isinstance(value, dict):
            return {k: rel(v) for k, v in value.items()}
        return value

    flytekit_logger = logging.getLogger("flytekit")
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("FLYTE", "_F_", "PYTHON", "BATCH_JOB")) or k in ("HOME", "TMPDIR", "PATH", "MY_ENV")
    }
    return rel(
        {
            "env": env,
            "env_names": sorted(os.environ),
            "cwd": work,
            "gettempdir": tempfile.gettempdir(),
            "working_directory": str(current_context().working_directory),
            "argv0": os.path.basename(sys.argv[0]),
            "argv": sys.argv[1:],
            "path": sys.path,
            "session_leader": os.getsid(0) == os.getpid(),
            "stdin": os.readlink("/proc/self/fd/0"),
            "stdout_is_stderr": os.readlink("/proc/self/fd/1") == os.readlink("/proc/self/fd/2"),
            "stdout_is_log": os.readlink("/proc/self/fd/1").endswith("task.log"),
            "sigint": getattr(signal.getsignal(signal.SIGINT), "__qualname__", str(signal.getsignal(signal.SIGINT))),
            "sigterm": str(signal.getsignal(signal.SIGTERM)),
            "sigchld": str(signal.getsignal(signal.SIGCHLD)),
            "threads": sorted(t.name.split("-")[0] for t in threading.enumerate()),
            "flytekit_log_level": flytekit_logger.level,
            "flytekit_handlers": [type(h).__name__ for h in flytekit_logger.handlers],
            "excepthook": getattr(sys.excepthook, "__module__", ""),
            "sandbox_modules": sorted(m for m in sys.modules if m.startswith("airflow_provider_flyte")),
            "user_modules": sorted(m for m in sys.modules if m.startswith("tests")),
            "stdout_buffered": not sys.stdout.line_buffering,
            "dont_write_bytecode": sys.dont_write_bytecode,
        }
    )  # type: ignore[return-value]


@task
def process_report() -> str:
    """The task's view of its own process, with the attempt's working directory written ``<work>``."""
    return json.dumps(_process_report(), sort_keys=True)


@task
def chatty(n: int) -> int:
    """Writes to stdout, stderr and the loggers."""
    print(f"stdout line {n}")
    print(f"stderr line {n}", file=sys.stderr)
    logging.getLogger("user").warning("user warning %d", n)
    current_context().logging.warning(f"flytekit user-space warning {n}")
    return n


@task
def exits(code: int) -> int:
    print(f"leaving with {code}")
    sys.exit(code)
    return code


@task(timeout=timedelta(seconds=8))
def overruns(pid_file: str) -> int:
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)
    return 0


@task
def waits(pid_file: str) -> int:
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(600)
    return 0
