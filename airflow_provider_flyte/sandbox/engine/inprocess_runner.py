"""Runs ``"sandbox-python"`` tasks: imports the callable and calls it inside the sandbox process."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flyteidl.core import literals_pb2
from google.protobuf import json_format

from airflow_provider_flyte.remote.codec import CodecContext
from airflow_provider_flyte.sandbox import inprocess
from airflow_provider_flyte.sandbox.engine.runners import SYSTEM, USER, OnRunning, TaskRequest, TaskResult
from airflow_provider_flyte.sandbox.engine.values import codec_context, literal_to_python, python_to_literal

if TYPE_CHECKING:
    from airflow_provider_flyte.sandbox.blobstore import BlobStore


class CallableNotFound(Exception):
    """The ``custom["callable"]`` of an in-process task cannot be imported."""


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (dots after the colon walk attributes)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise CallableNotFound(f"callable {path!r} must look like 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CallableNotFound(
            f"cannot import module {module_name!r} of callable {path!r}: {exc}; put it on the sandbox's "
            "PYTHONPATH"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CallableNotFound(
                f"module {module_name!r} has no attribute {attr!r} (callable {path!r})"
            ) from None
    if not callable(obj):
        raise CallableNotFound(f"{path!r} is not callable")
    return obj  # type: ignore[no-any-return]


class InProcessRunner:
    """The runner of :data:`~airflow_provider_flyte.sandbox.inprocess.INPROCESS_TASK_TYPE` tasks."""

    def __init__(self, blobs: BlobStore, allowed: inprocess.CallableAllowList | None = None) -> None:
        self._blobs = blobs
        self._allowed = allowed or inprocess.CallableAllowList()
        self._cache: dict[str, Callable[..., Any]] = {}

    def _callable(self, path: str) -> Callable[..., Any]:
        fn = self._cache.get(path)
        if fn is None:
            self._allowed.check(path)  # before the module is imported
            fn = self._cache[path] = load_callable(path)
        return fn

    async def run(self, request: TaskRequest, on_running: OnRunning) -> TaskResult:
        template = request.template
        custom = json_format.MessageToDict(template.custom) if template.HasField("custom") else {}
        path = custom.get("callable")
        if not isinstance(path, str):
            return TaskResult.failure(
                USER,
                "MissingCallable",
                'an in-process task needs custom = {"callable": "package.module:function"}',
            )
        try:
            fn = self._callable(path)
        except CallableNotFound as exc:
            return TaskResult.failure(USER, "CallableNotFound", str(exc))
        except PermissionError as exc:
            return TaskResult.failure(USER, "CallableNotAllowed", str(exc))

        in_vars = template.interface.inputs.variables
        ctx = codec_context(self._blobs, request.raw_output_prefix)
        try:
            kwargs = {
                name: literal_to_python(lit, in_vars[name].type if name in in_vars else None, ctx)
                for name, lit in request.inputs.literals.items()
            }
        except Exception as exc:
            return TaskResult.failure(
                SYSTEM, "InputConversionFailed", f"cannot convert the inputs of {path}: {exc}"
            )

        await on_running([])
        eid = request.execution_id
        token = inprocess.set_context(
            inprocess.TaskContext(eid.project, eid.domain, eid.name, request.node_unique_id, request.attempt)
        )
        try:
            if inspect.iscoroutinefunction(fn):
                value = await fn(**kwargs)
            elif custom.get("blocking"):
                value = await asyncio.to_thread(fn, **kwargs)  # copies the context (current_context works)
            else:
                value = fn(**kwargs)
        except asyncio.CancelledError:
            raise
        except inprocess.RetryableError as exc:
            return _user_error(exc, recoverable=True)
        except Exception as exc:
            return _user_error(exc, recoverable=False)
        finally:
            inprocess.reset_context(token)
        return self._outputs(request, path, value, ctx)

    @staticmethod
    def _outputs(request: TaskRequest, path: str, value: Any, ctx: CodecContext) -> TaskResult:
        out_vars = request.template.interface.outputs.variables
        names = sorted(out_vars, key=_natural)
        if not names:
            values: dict[str, Any] = {}
        elif len(names) == 1:
            values = {names[0]: value}
        elif isinstance(value, dict) and set(value) == set(names):
            values = value
        elif isinstance(value, tuple) and len(value) == len(names):
            values = dict(zip(names, value, strict=True))
        else:
            return TaskResult.failure(
                USER,
                "OutputsMismatch",
                f"{path} returned {type(value).__name__} but the task declares outputs {names}: return a tuple "
                "in that order or a dict with those keys",
            )
        outputs = literals_pb2.LiteralMap()
        try:
            for name, v in values.items():
                outputs.literals[name].CopyFrom(python_to_literal(v, out_vars[name].type, ctx))
        except Exception as exc:
            return TaskResult.failure(USER, "OutputConversionFailed", f"output {name!r} of {path}: {exc}")
        return TaskResult(outputs=outputs)


def _natural(name: str) -> list[tuple[int, int | str]]:
    """Natural order (``o2`` before ``o10``): protobuf maps do not keep the interface's declaration order."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


def _user_error(exc: BaseException, recoverable: bool) -> TaskResult:
    tb = "".join(traceback.format_exception(exc))
    message = f"{type(exc).__name__}: {exc}\n\n{tb}"
    return TaskResult.failure(USER, f"USER:{type(exc).__name__}", message, recoverable=recoverable)
