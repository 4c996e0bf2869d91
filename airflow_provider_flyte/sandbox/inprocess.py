"""In-process tasks: a sandbox-only task type whose body is a Python callable run inside the sandbox process.

A task of type ``"sandbox-python"`` (:data:`INPROCESS_TASK_TYPE`) names its callable in
``TaskTemplate.custom = {"callable": "package.module:function"}``. The engine checks its module against the
:class:`CallableAllowList`, imports it (from the sandbox process's ``sys.path``), converts the inputs to Python guided by the task interface, calls it (``async def``
callables are awaited; plain functions are called inline, or in a worker thread when ``custom["blocking"]`` is
true) and maps the return value to the outputs: a single output takes the value, several outputs take a tuple
(in the natural order of the output names: ``o0, o1, ..., o10``, as protobuf maps keep no declaration order)
or a dict (by name). An exception fails the attempt with a USER error; raise
:class:`RetryableError` to make it recoverable (retried while the task has retries left).

:func:`inprocess_task` builds such a TaskTemplate; the small builtin callables below are used by the tests, the
demo and the benchmarks (e.g. ``"airflow_provider_flyte.sandbox.inprocess:add"``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flyteidl.core import identifier_pb2, interface_pb2, tasks_pb2, types_pb2

INPROCESS_TASK_TYPE = "sandbox-python"
#: prefix of the builtin callables' paths
BUILTINS = "airflow_provider_flyte.sandbox.inprocess"

__all__ = [
    "BUILTINS",
    "INPROCESS_TASK_TYPE",
    "CallableAllowList",
    "RetryableError",
    "TaskContext",
    "add",
    "current_context",
    "echo",
    "fail",
    "fail_first_run",
    "fail_until_attempt",
    "inprocess_task",
    "say_hello",
    "sleep_seconds",
    "square",
    "tally",
    "write_report",
]


class RetryableError(Exception):
    """Raise from an in-process task to fail the attempt with a recoverable error (the task is retried)."""


@dataclass(frozen=True)
class TaskContext:
    """What an in-process task may know about the attempt running it."""

    project: str
    domain: str
    execution_name: str
    node_id: str
    attempt: int


_CONTEXT: contextvars.ContextVar[TaskContext] = contextvars.ContextVar("sandbox_task_context")


def current_context() -> TaskContext:
    """The context of the running in-process task (only valid inside one)."""
    try:
        return _CONTEXT.get()
    except LookupError:
        raise RuntimeError("current_context() is only available inside an in-process sandbox task") from None


def set_context(ctx: TaskContext) -> contextvars.Token[TaskContext]:
    """Used by the engine before calling a task."""
    return _CONTEXT.set(ctx)


def reset_context(token: contextvars.Token[TaskContext]) -> None:
    """Used by the engine after calling a task."""
    _CONTEXT.reset(token)


def _literal_type(tp: types_pb2.LiteralType | type | Any) -> types_pb2.LiteralType:
    if isinstance(tp, types_pb2.LiteralType):
        return tp
    from airflow_provider_flyte.sandbox.engine.values import literal_type_for

    return literal_type_for(tp)


def _variables(variables: Mapping[str, Any] | None) -> interface_pb2.VariableMap:
    vm = interface_pb2.VariableMap()
    for name, tp in (variables or {}).items():
        vm.variables[name].type.CopyFrom(_literal_type(tp))
    return vm


def inprocess_task(
    name: str,
    callable_path: str,
    inputs: Mapping[str, types_pb2.LiteralType | type | Any] | None = None,
    outputs: Mapping[str, types_pb2.LiteralType | type | Any] | None = None,
    retries: int = 0,
    timeout: float | timedelta | None = None,
    version: str = "v1",
    project: str = "flytesnacks",
    domain: str = "development",
    blocking: bool = False,
    interruptible: bool | None = None,
    cache_version: str | None = None,
) -> tasks_pb2.TaskTemplate:
    """A TaskTemplate of type ``"sandbox-python"`` running ``callable_path`` (``"package.module:function"``).

    ``inputs``/``outputs`` map variable names to LiteralTypes or Python types (``int``, ``list[str]`` ...).
    ``blocking``: run a plain (non-async) callable in a worker thread instead of inline on the event loop.
    ``cache_version``: make the task cacheable (``discoverable``) under that cache version.
    """
    if ":" not in callable_path:
        raise ValueError(f"callable_path must look like 'package.module:function', got {callable_path!r}")
    t = tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project=project, domain=domain, name=name, version=version
        ),
        type=INPROCESS_TASK_TYPE,
        interface=interface_pb2.TypedInterface(inputs=_variables(inputs), outputs=_variables(outputs)),
    )
    t.metadata.runtime.type = tasks_pb2.RuntimeMetadata.OTHER
    t.metadata.runtime.flavor = "sandbox"
    t.metadata.runtime.version = "1"
    if retries:
        t.metadata.retries.retries = retries
    if timeout is not None:
        t.metadata.timeout.FromTimedelta(
            timeout if isinstance(timeout, timedelta) else timedelta(seconds=timeout)
        )
    if interruptible is not None:
        t.metadata.interruptible = interruptible
    if cache_version is not None:
        t.metadata.discoverable = True
        t.metadata.discovery_version = cache_version
    t.custom.update({"callable": callable_path, "blocking": blocking})
    return t


class CallableAllowList:
    """Which modules' callables in-process tasks may run: the builtins of this module, the top-level modules and
    packages found in the task PYTHONPATH directories (``--pythonpath``), and configured module prefixes
    (``--inprocess-module``; ``"pkg"`` admits ``pkg`` and ``pkg.*``). Anything else (``os:system`` ...) is refused
    before it is imported."""

    def __init__(self, prefixes: Sequence[str] = (), pythonpath: Sequence[str] = ()) -> None:
        self.prefixes = (BUILTINS, *(p.strip().rstrip(".") for p in prefixes if p.strip()))
        self.pythonpath = tuple(Path(p) for p in pythonpath)

    def allows(self, module: str) -> bool:
        if any(module == p or module.startswith(p + ".") for p in self.prefixes):
            return True
        top = module.split(".", 1)[0]
        return bool(top) and any((d / top).is_dir() or (d / f"{top}.py").is_file() for d in self.pythonpath)

    def check(self, callable_path: str) -> None:
        """Raise ``PermissionError`` naming the fix when ``callable_path``'s module is not allowed."""
        module = callable_path.partition(":")[0]
        if not self.allows(module):
            raise PermissionError(
                f"in-process callable {callable_path!r} is not allowed: module {module!r} is neither a sandbox "
                "builtin nor on the sandbox's --pythonpath; allow it with --inprocess-module "
                f"{module.split('.', 1)[0]} (SandboxConfig.inprocess_modules)"
            )


# ------------------------------------------------------------------------------------------ builtins


def add(a: int, b: int) -> int:
    """``a + b``."""
    return a + b


def square(x: int) -> int:
    """``x * x``."""
    return x * x


def echo(x: Any) -> Any:
    """Returns its input."""
    return x


def say_hello(name: str) -> str:
    """``"hello <name>"``."""
    return f"hello {name}"


def fail(message: str = "task failed on purpose") -> None:
    """Always raises ``RuntimeError(message)`` (a non-recoverable USER error)."""
    raise RuntimeError(message)


def fail_until_attempt(attempt: int) -> int:
    """Raises :class:`RetryableError` while the current attempt number is below ``attempt``; then returns it."""
    current = current_context().attempt
    if current < attempt:
        raise RetryableError(f"attempt {current} fails on purpose (succeeds from attempt {attempt})")
    return current


def tally(directory: str, name: str) -> int:
    """Counts its runs: appends a line to ``<directory>/<name>.runs`` and returns how many lines it holds."""
    from pathlib import Path

    path = Path(directory) / f"{name}.runs"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(f"{current_context().execution_name}\n")
    return len(path.read_text().splitlines())


def fail_first_run(directory: str, name: str) -> int:
    """:func:`tally`, but the first run ever (per ``directory`` and ``name``) fails: a transient outage that a
    rerun, or a recovery, gets past. Returns the run count."""
    runs = tally(directory, name)
    if runs == 1:
        raise RuntimeError(f"{name}: the first run fails on purpose")
    return runs


def write_report(title: str) -> tuple[Any, Any]:
    """Writes a file ``report.csv`` and a directory ``parts/`` (two files) into a new temporary directory and returns
    their paths (for outputs of types file and directory)."""
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="flyte-report-"))
    report = root / "report.csv"
    report.write_text(f"title\n{title}\n")
    parts = root / "parts"
    parts.mkdir()
    (parts / "part-0.txt").write_text(f"{title} 0\n")
    (parts / "part-1.txt").write_text(f"{title} 1\n")
    return report, parts


async def sleep_seconds(seconds: float) -> float:
    """Sleeps (without blocking the sandbox) and returns ``seconds``."""
    await asyncio.sleep(seconds)
    return seconds
